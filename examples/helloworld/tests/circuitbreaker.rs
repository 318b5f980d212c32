//! The circuit breaker on both clients against a real failing backend: once open, calls are
//! answered 503 `CIRCUITBREAKER` without reaching the backend (its call count stops); as the
//! backend heals and the window moves on, calls get through again; stats are per operation.
//! Time and the random draws are injected, so the test is deterministic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};
use std::time::Duration;

use helloworld::api::helloworld::v1::{self as pb, HelloReply, HelloRequest};
use kratos::errors::Error;
use kratos::middleware::circuitbreaker::{
    BreakerOptions, CIRCUITBREAKER_MESSAGE, CIRCUITBREAKER_REASON, CircuitBreaker, ManualClock,
    SreOptions,
};
use kratos::transport::Server as _;
use kratos::{Context, grpc, http as khttp};

/// A backend that answers with the error code in `fail` (0: success), counting its calls.
#[derive(Default)]
struct Backend {
    fail: AtomicI32,
    calls: AtomicU32,
}

/// The service registered on the servers: the shared backend.
struct Service(Arc<Backend>);

impl pb::Greeter for Service {
    async fn say_hello(&self, _ctx: Context, request: HelloRequest) -> Result<HelloReply, Error> {
        let backend = &self.0;
        backend.calls.fetch_add(1, Ordering::SeqCst);
        match backend.fail.load(Ordering::SeqCst) {
            0 => Ok(HelloReply {
                message: request.name,
            }),
            code => Err(Error::new(code, "BACKEND_DOWN", "the backend is failing")),
        }
    }
}

struct Started {
    http: khttp::Server,
    grpc: grpc::Server,
    http_addr: SocketAddr,
    grpc_addr: SocketAddr,
}

async fn start(backend: Arc<Backend>) -> Started {
    let mut http = khttp::Server::builder().address("127.0.0.1:0").build();
    let mut grpc = grpc::Server::builder().address("127.0.0.1:0").build();
    pb::register_greeter_http_server(&mut http, Arc::new(Service(backend.clone()))).unwrap();
    pb::register_greeter_grpc_server(&mut grpc, Arc::new(Service(backend))).unwrap();
    let http_addr = http.start().await.unwrap();
    let grpc_addr = grpc.start().await.unwrap();
    Started {
        http,
        grpc,
        http_addr,
        grpc_addr,
    }
}

impl Started {
    async fn stop(mut self) {
        self.http.stop().await.unwrap();
        self.grpc.stop().await.unwrap();
    }
}

/// A breaker on `clock` whose random draw is always 0: once the drop probability is above
/// zero, every call is rejected.
fn breaker(clock: Arc<ManualClock>) -> CircuitBreaker {
    CircuitBreaker::new(BreakerOptions {
        sre: SreOptions {
            clock,
            random: Arc::new(|| 0.0),
            ..SreOptions::default()
        },
        ..BreakerOptions::default()
    })
}

/// What both clients have in common here: one call, its outcome as `Ok(message)` or
/// `Err((code, reason))`.
#[allow(async_fn_in_trait)]
trait Caller {
    async fn call(&mut self) -> Result<String, (i32, String)>;
}

struct HttpCaller(pb::GreeterHttpClient);

impl Caller for HttpCaller {
    async fn call(&mut self) -> Result<String, (i32, String)> {
        let request = HelloRequest { name: "bob".into() };
        match self.0.say_hello(&request).await {
            Ok(reply) => Ok(reply.message),
            Err(e) => Err((e.code(), e.reason().to_string())),
        }
    }
}

struct GrpcCaller(pb::greeter_client::GreeterClient<grpc::ClientChannel>);

impl Caller for GrpcCaller {
    async fn call(&mut self) -> Result<String, (i32, String)> {
        let request = HelloRequest { name: "bob".into() };
        match self.0.say_hello(request).await {
            Ok(reply) => Ok(reply.into_inner().message),
            Err(status) => {
                let e = Error::from(status);
                Err((e.code(), e.reason().to_string()))
            }
        }
    }
}

/// The scenario, on one client: fail until open, stay open without calling the backend, heal.
async fn opens_and_recovers(
    caller: &mut impl Caller,
    backend: &Backend,
    breaker: &CircuitBreaker,
    clock: &ManualClock,
    failure: i32,
) {
    let operation = pb::OPERATION_GREETER_SAY_HELLO;
    backend.fail.store(failure, Ordering::SeqCst);
    // The first 100 calls (the minimum) reach the failing backend.
    for _ in 0..100 {
        assert_eq!(
            caller.call().await.unwrap_err(),
            (failure, "BACKEND_DOWN".into())
        );
    }
    assert_eq!(backend.calls.load(Ordering::SeqCst), 100);
    // Then the breaker answers by itself: the backend sees none of these.
    for _ in 0..50 {
        assert_eq!(
            caller.call().await.unwrap_err(),
            (503, CIRCUITBREAKER_REASON.into())
        );
    }
    assert_eq!(backend.calls.load(Ordering::SeqCst), 100);
    let stat = breaker.stat(operation).unwrap();
    assert!(stat.open);
    // Rejected calls count (the default): 150 calls, none accepted.
    assert_eq!((stat.accepts, stat.total), (0, 150));
    assert!(stat.drop_probability > 0.99);

    // The backend heals; within the window the breaker still rejects...
    backend.fail.store(0, Ordering::SeqCst);
    clock.advance(Duration::from_secs(1));
    assert_eq!(caller.call().await.unwrap_err().1, CIRCUITBREAKER_REASON);
    // ...and once the failing period has left the window, calls reach it and succeed.
    clock.advance(Duration::from_secs(3));
    for _ in 0..120 {
        assert_eq!(caller.call().await.unwrap(), "bob");
    }
    assert_eq!(backend.calls.load(Ordering::SeqCst), 220);
    let stat = breaker.stat(operation).unwrap();
    assert_eq!(
        (stat.accepts, stat.total, stat.drop_probability),
        (120, 120, 0.0)
    );
    assert!(!stat.open);
}

#[tokio::test]
async fn a_failing_backend_opens_the_breaker_of_the_http_client_and_it_recovers() {
    let backend = Arc::new(Backend::default());
    let servers = start(backend.clone()).await;
    let clock = Arc::new(ManualClock::new());
    let breaker = breaker(clock.clone());
    let client = khttp::Client::builder(servers.http_addr.to_string())
        .middleware(breaker.middleware())
        .build()
        .unwrap();
    let mut caller = HttpCaller(pb::GreeterHttpClient::new(client.clone()));
    opens_and_recovers(&mut caller, &backend, &breaker, &clock, 500).await;
    // The rejection error is Kratos' own.
    backend.fail.store(503, Ordering::SeqCst);
    for _ in 0..200 {
        let _ = caller.call().await;
    }
    let err = pb::GreeterHttpClient::new(client.clone())
        .say_hello(&HelloRequest::default())
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), err.reason(), err.message()),
        (503, CIRCUITBREAKER_REASON, CIRCUITBREAKER_MESSAGE)
    );
    // Stats are per operation: an untyped call (operation "") has its own breaker, closed.
    backend.fail.store(0, Ordering::SeqCst);
    let before = backend.calls.load(Ordering::SeqCst);
    client
        .send(::http::Method::GET, "/helloworld/x", None)
        .await
        .unwrap();
    assert_eq!(backend.calls.load(Ordering::SeqCst), before + 1);
    let stats = breaker.stats();
    assert_eq!(stats.len(), 2);
    assert_eq!(stats[0].0, "");
    assert_eq!((stats[0].1.accepts, stats[0].1.total), (1, 1));
    assert_eq!(stats[1].0, pb::OPERATION_GREETER_SAY_HELLO);
    assert!(stats[1].1.open);
    servers.stop().await;
}

#[tokio::test]
async fn a_failing_backend_opens_the_breaker_of_a_grpc_channel_and_it_recovers() {
    let backend = Arc::new(Backend::default());
    let servers = start(backend.clone()).await;
    let clock = Arc::new(ManualClock::new());
    let breaker = breaker(clock.clone());
    let channel = grpc::ChannelBuilder::new(servers.grpc_addr.to_string())
        .middleware(breaker.middleware())
        .build()
        .unwrap();
    let mut caller = GrpcCaller(pb::greeter_client::GreeterClient::new(channel));
    // 503 on gRPC is Unavailable, which maps back to 503.
    opens_and_recovers(&mut caller, &backend, &breaker, &clock, 503).await;
    // A status that is no failure (NotFound, 404) keeps it closed.
    backend.fail.store(404, Ordering::SeqCst);
    clock.advance(Duration::from_secs(4));
    for _ in 0..150 {
        assert_eq!(
            caller.call().await.unwrap_err(),
            (404, "BACKEND_DOWN".into())
        );
    }
    assert!(!breaker.stat(pb::OPERATION_GREETER_SAY_HELLO).unwrap().open);
    servers.stop().await;
}
