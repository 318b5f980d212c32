//! The servers' per-call timeout on real servers: 1 s by default as Kratos, set from the
//! configuration's `server.*.timeout`, off with zero; a call over it is answered 504 `TIMEOUT`
//! (`DeadlineExceeded`), and the handler sees the limit as its context's deadline, together
//! with the client's `grpc-timeout`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use helloworld::api::helloworld::v1::{self as pb, HelloReply, HelloRequest};
use kratos::config::ServerSettings;
use kratos::errors::Error;
use kratos::transport::Server as _;
use kratos::{Context, grpc, http as khttp};

/// Bounds the wait for any answer in these tests (liveness only; generous).
const LIVENESS: Duration = Duration::from_secs(10);

/// `name` "forever" never answers; "slow" answers after 1.2 s; anything else answers at once
/// with the time left until the call's deadline, in ms ("none" without one).
struct Clocked;

impl pb::Greeter for Clocked {
    async fn say_hello(&self, ctx: Context, request: HelloRequest) -> Result<HelloReply, Error> {
        match request.name.as_str() {
            "forever" => std::future::pending().await,
            "slow" => tokio::time::sleep(Duration::from_millis(1200)).await,
            _ => {}
        }
        let left = ctx
            .remaining()
            .map_or("none".to_string(), |d| d.as_millis().to_string());
        Ok(HelloReply { message: left })
    }
}

struct Servers {
    http: khttp::Server,
    grpc: grpc::Server,
    http_addr: SocketAddr,
    grpc_addr: SocketAddr,
}

async fn start(settings: ServerSettings) -> Servers {
    let mut http = settings
        .http(khttp::Server::builder().address("127.0.0.1:0"))
        .build();
    let mut grpc = settings
        .grpc(grpc::Server::builder().address("127.0.0.1:0"))
        .build();
    pb::register_greeter_http_server(&mut http, Arc::new(Clocked)).unwrap();
    pb::register_greeter_grpc_server(&mut grpc, Arc::new(Clocked)).unwrap();
    let http_addr = http.start().await.unwrap();
    let grpc_addr = grpc.start().await.unwrap();
    Servers {
        http,
        grpc,
        http_addr,
        grpc_addr,
    }
}

impl Servers {
    async fn http_call(&self, name: &str) -> Result<String, Error> {
        let client = khttp::Client::builder(self.http_addr.to_string())
            .timeout(LIVENESS)
            .build()
            .unwrap();
        let request = HelloRequest { name: name.into() };
        pb::GreeterHttpClient::new(client)
            .say_hello(&request)
            .await
            .map(|r| r.message)
    }

    async fn grpc_call(
        &self,
        name: &str,
        timeout: Option<Duration>,
    ) -> Result<String, tonic::Status> {
        let channel = grpc::ChannelBuilder::new(self.grpc_addr.to_string())
            .timeout(LIVENESS)
            .build()
            .unwrap();
        let mut request = tonic::Request::new(HelloRequest { name: name.into() });
        if let Some(timeout) = timeout {
            request.set_timeout(timeout);
        }
        pb::greeter_client::GreeterClient::new(channel)
            .say_hello(request)
            .await
            .map(|r| r.into_inner().message)
    }

    async fn stop(mut self) {
        self.http.stop().await.unwrap();
        self.grpc.stop().await.unwrap();
    }
}

fn millis(left: &str) -> u128 {
    left.parse().unwrap()
}

#[tokio::test]
async fn the_default_is_one_second_on_both_servers() {
    assert_eq!(
        khttp::Server::builder().build().timeout(),
        Some(Duration::from_secs(1))
    );
    assert_eq!(
        grpc::Server::builder().build().timeout(),
        Some(Duration::from_secs(1))
    );
    let servers = start(ServerSettings::default()).await;
    // The handler sees the deadline: at most 1 s away.
    for left in [
        servers.http_call("now").await.unwrap(),
        servers.grpc_call("now", None).await.unwrap(),
    ] {
        assert!((1..=1000).contains(&millis(&left)), "{left}");
    }
    // A call that never answers is cut at the deadline.
    let err = servers.http_call("forever").await.unwrap_err();
    assert_eq!((err.code(), err.reason()), (504, "TIMEOUT"));
    let status = servers.grpc_call("forever", None).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::DeadlineExceeded);
    assert_eq!(Error::from(status).reason(), "TIMEOUT");
    servers.stop().await;
}

#[tokio::test]
async fn the_configured_timeout_applies_and_zero_turns_it_off() {
    // `server.*.timeout: 0.2s` as the configuration section gives it.
    let short = ServerSettings {
        addr: None,
        timeout: Some(Duration::from_millis(200)),
    };
    let servers = start(short).await;
    let left = servers.http_call("now").await.unwrap();
    assert!((1..=200).contains(&millis(&left)), "{left}");
    let err = servers.http_call("slow").await.unwrap_err();
    assert_eq!((err.code(), err.reason()), (504, "TIMEOUT"));
    let status = servers.grpc_call("slow", None).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::DeadlineExceeded);
    servers.stop().await;

    // `0s`: no server limit; a call longer than the 1 s default completes.
    let off = ServerSettings {
        addr: None,
        timeout: Some(Duration::ZERO),
    };
    let servers = start(off).await;
    assert_eq!(servers.http_call("now").await.unwrap(), "none");
    assert_eq!(servers.grpc_call("now", None).await.unwrap(), "none");
    assert_eq!(servers.http_call("slow").await.unwrap(), "none");
    assert_eq!(servers.grpc_call("slow", None).await.unwrap(), "none");
    // The client's grpc-timeout is the deadline then, and is enforced.
    let left = servers
        .grpc_call("now", Some(Duration::from_millis(300)))
        .await
        .unwrap();
    assert!((1..=300).contains(&millis(&left)), "{left}");
    // Both ends enforce it: whichever timer fires first ends the call (tonic's client reports
    // its own as `Cancelled`, the server answers `DeadlineExceeded`).
    let status = servers
        .grpc_call("forever", Some(Duration::from_millis(300)))
        .await
        .unwrap_err();
    assert!(
        matches!(
            status.code(),
            tonic::Code::DeadlineExceeded | tonic::Code::Cancelled
        ),
        "{status:?}"
    );
    servers.stop().await;
}
