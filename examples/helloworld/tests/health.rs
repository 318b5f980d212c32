//! Health on real servers run by `App`: `/healthz`, `/readyz` and the gRPC health protocol
//! follow the user's checks, and on a stop they turn not ready before the instance is
//! deregistered, observed from outside (HTTP and gRPC calls made while the registrar
//! deregisters, and during the drain delay).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use helloworld::api::helloworld::v1::HelloRequest;
use helloworld::api::helloworld::v1::greeter_client::GreeterClient;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use kratos::health::Health;
use kratos::registry::memory::MemoryRegistry;
use kratos::registry::{BoxFuture, Discovery, Registrar, RegistryError, ServiceInstance};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};

const SOON: Duration = Duration::from_secs(5);

async fn get(addr: SocketAddr, path: &str) -> (u16, serde_json::Value) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let response = client
        .request(
            http::Request::get(format!("http://{addr}{path}"))
                .body(Full::new(Bytes::new()))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap())
}

async fn health_client(addr: SocketAddr) -> HealthClient<tonic::transport::Channel> {
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    HealthClient::new(channel)
}

async fn grpc_status(addr: SocketAddr, service: &str) -> Result<ServingStatus, tonic::Code> {
    let mut client = health_client(addr).await;
    client
        .check(HealthCheckRequest {
            service: service.into(),
        })
        .await
        .map(|r| ServingStatus::try_from(r.into_inner().status).unwrap())
        .map_err(|s| s.code())
}

/// The next status a `Watch` stream sends (within 5 s).
async fn next(watch: &mut tonic::Streaming<HealthCheckResponse>) -> ServingStatus {
    let reply = tokio::time::timeout(SOON, watch.message())
        .await
        .expect("a Watch update")
        .unwrap()
        .unwrap();
    ServingStatus::try_from(reply.status).unwrap()
}

/// What was seen from outside while the instance was being deregistered.
#[derive(Debug, Default, Clone)]
struct AtDeregistration {
    readyz: Option<(u16, serde_json::Value)>,
    grpc: Option<Result<ServingStatus, tonic::Code>>,
}

/// The in-memory registry, with HTTP and gRPC health probed from outside before each
/// deregistration is done.
struct Probing {
    registry: MemoryRegistry,
    http: SocketAddr,
    grpc: SocketAddr,
    seen: Arc<std::sync::Mutex<AtDeregistration>>,
}

impl Registrar for Probing {
    fn register<'a>(
        &'a self,
        instance: &'a ServiceInstance,
    ) -> BoxFuture<'a, Result<(), RegistryError>> {
        self.registry.register(instance)
    }

    fn deregister<'a>(
        &'a self,
        instance: &'a ServiceInstance,
    ) -> BoxFuture<'a, Result<(), RegistryError>> {
        Box::pin(async move {
            let readyz = get(self.http, "/readyz").await;
            let grpc = grpc_status(self.grpc, "").await;
            *self.seen.lock().unwrap() = AtDeregistration {
                readyz: Some(readyz),
                grpc: Some(grpc),
            };
            self.registry.deregister(instance).await
        })
    }
}

#[tokio::test]
async fn checks_feed_both_and_a_stop_is_not_ready_before_deregistration() {
    let db_up = Arc::new(AtomicBool::new(true));
    let db = db_up.clone();
    let health = Health::with_timing(SOON, Duration::from_millis(100)).check("db", move || {
        let up = db.load(Ordering::SeqCst);
        async move {
            if up {
                Ok(())
            } else {
                Err("connection refused")
            }
        }
    });

    let http_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let grpc_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let (http_addr, grpc_addr) = (
        http_listener.local_addr().unwrap(),
        grpc_listener.local_addr().unwrap(),
    );
    let (mut http, mut grpc) = helloworld::servers(
        kratos::http::Server::builder().listener(http_listener),
        kratos::grpc::Server::builder().listener(grpc_listener),
    )
    .unwrap();
    health.register_http(&mut http).unwrap();
    health.register_grpc(&mut grpc, ["helloworld.v1.Greeter"]);

    let registry = MemoryRegistry::new();
    let seen = Arc::new(std::sync::Mutex::new(AtDeregistration::default()));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let app = kratos::App::new()
        .name("health-test")
        .server(http)
        .server(grpc)
        .health(health.clone())
        .drain_delay(Duration::from_secs(2))
        .registrar(Probing {
            registry: registry.clone(),
            http: http_addr,
            grpc: grpc_addr,
            seen: seen.clone(),
        });
    let running = tokio::time::timeout(
        Duration::from_secs(20),
        app.run_until(async move {
            let _ = stopped.await;
            Ok(())
        }),
    );
    let probe = async move {
        // Registered and serving.
        tokio::time::timeout(SOON, async {
            while registry
                .get_service("health-test")
                .await
                .unwrap()
                .is_empty()
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("registered");
        assert_eq!(
            get(http_addr, "/healthz").await,
            (200, serde_json::json!({"status": "alive"}))
        );
        assert_eq!(
            get(http_addr, "/readyz").await,
            (
                200,
                serde_json::json!({"status": "ready", "checks": {"db": "ok"}})
            )
        );
        assert_eq!(grpc_status(grpc_addr, "").await, Ok(ServingStatus::Serving));
        assert_eq!(
            grpc_status(grpc_addr, "helloworld.v1.Greeter").await,
            Ok(ServingStatus::Serving)
        );
        assert_eq!(
            grpc_status(grpc_addr, "no.Such").await,
            Err(tonic::Code::NotFound)
        );

        let mut watch = health_client(grpc_addr)
            .await
            .watch(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(next(&mut watch).await, ServingStatus::Serving);

        // A failing check: not ready on both, but alive.
        db_up.store(false, Ordering::SeqCst);
        let (status, body) = get(http_addr, "/readyz").await;
        assert_eq!(status, 503);
        assert_eq!(
            body,
            serde_json::json!({"status": "not ready", "checks": {"db": "error: connection refused"}})
        );
        assert_eq!(get(http_addr, "/healthz").await.0, 200);
        assert_eq!(
            grpc_status(grpc_addr, "helloworld.v1.Greeter").await,
            Ok(ServingStatus::NotServing)
        );
        assert_eq!(next(&mut watch).await, ServingStatus::NotServing);
        db_up.store(true, Ordering::SeqCst);
        assert_eq!(next(&mut watch).await, ServingStatus::Serving);

        // Stop: the watcher hears NOT_SERVING; the deregistration saw it already.
        stop.send(()).unwrap();
        assert_eq!(next(&mut watch).await, ServingStatus::NotServing);
        tokio::time::timeout(SOON, async {
            while !registry
                .get_service("health-test")
                .await
                .unwrap()
                .is_empty()
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("deregistered");
        let at = seen.lock().unwrap().clone();
        let (status, body) = at.readyz.expect("probed at deregistration");
        assert_eq!(
            (status, &body["status"]),
            (503, &serde_json::json!("stopping"))
        );
        assert_eq!(at.grpc, Some(Ok(ServingStatus::NotServing)));

        // Draining (2 s): still alive and serving calls, not ready.
        assert_eq!(get(http_addr, "/readyz").await.0, 503);
        assert_eq!(get(http_addr, "/healthz").await.0, 200);
        let mut greeter = GreeterClient::connect(format!("http://{grpc_addr}"))
            .await
            .unwrap();
        greeter
            .say_hello(HelloRequest {
                name: "drain".into(),
            })
            .await
            .unwrap();
        drop((watch, greeter));
    };
    let (stopped, ()) = tokio::join!(running, probe);
    stopped
        .expect("the app stops after the drain delay")
        .unwrap();
}
