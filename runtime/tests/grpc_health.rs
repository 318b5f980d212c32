//! The gRPC health protocol every gRPC server serves by default, following the application's
//! health: `SERVING` for `""` and every service added, `NOT_SERVING` from the moment a stop
//! begins (before deregistration) and while the servers drain, observed from outside with
//! `Check`, `Watch` and `/readyz`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::task::{Context, Poll};
use std::time::Duration;

use kratos::health::Health;
use kratos::registry::Discovery as _;
use kratos::registry::memory::MemoryRegistry;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};

const SOON: Duration = Duration::from_secs(5);

/// A gRPC service named `test.v1.Echo` that answers every call `UNIMPLEMENTED`.
#[derive(Clone)]
struct Echo;

impl tonic::server::NamedService for Echo {
    const NAME: &'static str = "test.v1.Echo";
}

impl tower_service::Service<http::Request<tonic::body::Body>> for Echo {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _request: http::Request<tonic::body::Body>) -> Self::Future {
        std::future::ready(Ok(tonic::Status::unimplemented("echo").into_http()))
    }
}

async fn client(addr: SocketAddr) -> HealthClient<tonic::transport::Channel> {
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    HealthClient::new(channel)
}

async fn check(addr: SocketAddr, service: &str) -> Result<ServingStatus, tonic::Code> {
    client(addr)
        .await
        .check(HealthCheckRequest {
            service: service.into(),
        })
        .await
        .map(|r| ServingStatus::try_from(r.into_inner().status).unwrap())
        .map_err(|s| s.code())
}

async fn next(watch: &mut tonic::Streaming<HealthCheckResponse>) -> ServingStatus {
    let reply = tokio::time::timeout(SOON, watch.message())
        .await
        .expect("a Watch update")
        .unwrap()
        .expect("the stream is open");
    ServingStatus::try_from(reply.status).unwrap()
}

async fn readyz(addr: SocketAddr) -> u16 {
    use http_body_util::{BodyExt as _, Full};
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<bytes::Bytes>>();
    let response = client
        .request(
            http::Request::get(format!("http://{addr}/readyz"))
                .body(Full::new(bytes::Bytes::new()))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status().as_u16();
    let _ = response.into_body().collect().await;
    status
}

/// Runs `app` until `stop` fires, for at most 20 s.
fn run(
    app: kratos::App,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<Result<(), kratos::app::AppError>>,
) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(async move {
        tokio::time::timeout(
            Duration::from_secs(20),
            app.run_until(async move {
                let _ = stopped.await;
                Ok(())
            }),
        )
        .await
        .expect("the app stops")
    });
    (stop, running)
}

async fn registered(registry: &MemoryRegistry, name: &str, present: bool) {
    tokio::time::timeout(SOON, async {
        while registry.get_service(name).await.unwrap().is_empty() == present {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the registry follows the app");
}

/// No health configured anywhere: the gRPC server still serves the protocol, knows its
/// services, and turns `NOT_SERVING` when the App stops, before deregistering.
#[tokio::test]
async fn grpc_health_is_served_by_default_and_follows_the_app_stop() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut server = kratos::grpc::Server::builder().listener(listener).build();
    server.add_service(Echo).unwrap();
    let registry = MemoryRegistry::new();
    let app = kratos::App::new()
        .name("default-health")
        .server(server)
        .registrar(registry.clone())
        .drain_delay(Duration::from_secs(2));
    let (stop, running) = run(app);
    registered(&registry, "default-health", true).await;

    assert_eq!(check(addr, "").await, Ok(ServingStatus::Serving));
    assert_eq!(
        check(addr, "test.v1.Echo").await,
        Ok(ServingStatus::Serving)
    );
    assert_eq!(check(addr, "no.Such").await, Err(tonic::Code::NotFound));
    let mut watch = client(addr)
        .await
        .watch(HealthCheckRequest {
            service: "test.v1.Echo".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(next(&mut watch).await, ServingStatus::Serving);

    stop.send(()).unwrap();
    // The watcher hears it at once; deregistration follows; during the drain delay the
    // server still answers, NOT_SERVING.
    assert_eq!(next(&mut watch).await, ServingStatus::NotServing);
    registered(&registry, "default-health", false).await;
    assert_eq!(check(addr, "").await, Ok(ServingStatus::NotServing));
    assert_eq!(
        check(addr, "test.v1.Echo").await,
        Ok(ServingStatus::NotServing)
    );
    drop(watch);
    running.await.unwrap().unwrap();
}

/// The App's health, given to the App and served on HTTP only, is the one the gRPC server
/// reports: `/readyz`, `Check` and `Watch` all say not ready while the servers drain.
#[tokio::test]
async fn readyz_and_grpc_health_report_the_app_health_while_draining() {
    let health = Health::new();
    let http_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let grpc_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let (http_addr, grpc_addr) = (
        http_listener.local_addr().unwrap(),
        grpc_listener.local_addr().unwrap(),
    );
    let mut http = kratos::http::Server::builder()
        .listener(http_listener)
        .build();
    health.register_http(&mut http).unwrap();
    let grpc = kratos::grpc::Server::builder()
        .listener(grpc_listener)
        .build();
    let registry = MemoryRegistry::new();
    let app = kratos::App::new()
        .name("shared-health")
        .server(http)
        .server(grpc)
        .health(health.clone())
        .registrar(registry.clone())
        .drain_delay(Duration::from_secs(2));
    let (stop, running) = run(app);
    registered(&registry, "shared-health", true).await;
    assert_eq!(readyz(http_addr).await, 200);
    let mut watch = client(grpc_addr)
        .await
        .watch(HealthCheckRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(next(&mut watch).await, ServingStatus::Serving);

    stop.send(()).unwrap();
    assert_eq!(next(&mut watch).await, ServingStatus::NotServing);
    registered(&registry, "shared-health", false).await;
    assert_eq!(readyz(http_addr).await, 503);
    assert_eq!(check(grpc_addr, "").await, Ok(ServingStatus::NotServing));
    assert!(health.is_stopping());
    drop(watch);
    running.await.unwrap().unwrap();
}
