//! Tower layers around the gRPC server: the same ordering rule as the HTTP server's (the last
//! added runs first), every service wrapped (health included), errors as gRPC statuses.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{Request, Response};
use kratos::transport::Server as _;
use tonic::body::Body;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

type Log = Arc<Mutex<Vec<&'static str>>>;

/// A layer recording `name` on the request, and appending it to `x-order` on the response.
fn recording(
    log: Log,
    name: &'static str,
) -> impl tower::Layer<
    kratos::grpc::layers::GrpcService,
    Service = impl tower::Service<
        Request<Body>,
        Response = Response<Body>,
        Error = kratos::grpc::layers::BoxError,
        Future = impl Send,
    > + Clone
              + Send
              + Sync,
> + Send
+ Sync
+ 'static {
    tower::ServiceBuilder::new()
        .map_request(move |r: Request<Body>| {
            log.lock().unwrap().push(name);
            r
        })
        .map_response(move |mut r: Response<Body>| {
            let seen = r
                .headers()
                .get("x-order")
                .map(|v| format!("{},{name}", v.to_str().unwrap()))
                .unwrap_or_else(|| name.to_string());
            r.headers_mut().insert("x-order", seen.parse().unwrap());
            r
        })
}

async fn start(builder: kratos::grpc::ServerBuilder) -> (kratos::grpc::Server, SocketAddr) {
    let mut server = builder.address("127.0.0.1:0").build();
    let addr = server.start().await.unwrap();
    (server, addr)
}

async fn health(addr: SocketAddr) -> HealthClient<tonic::transport::Channel> {
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    HealthClient::new(channel)
}

#[tokio::test]
async fn the_last_layer_added_runs_first() {
    let log = Log::default();
    let (mut server, addr) = start(
        kratos::grpc::Server::builder()
            .layer(recording(log.clone(), "first"))
            .layer(recording(log.clone(), "second"))
            .layer(recording(log.clone(), "third")),
    )
    .await;
    let reply = health(addr)
        .await
        .check(HealthCheckRequest::default())
        .await
        .unwrap();
    assert_eq!(*log.lock().unwrap(), ["third", "second", "first"]);
    assert_eq!(
        reply.metadata().get("x-order").unwrap(),
        "first,second,third"
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn layer_errors_end_the_call_with_a_kratos_status() {
    // tower's timeout around a layer that holds every call back longer than the limit.
    let slow = tower::ServiceBuilder::new()
        .timeout(Duration::from_millis(50))
        .layer(tower::layer::layer_fn(
            |inner: kratos::grpc::layers::GrpcService| {
                tower::service_fn(move |r: Request<Body>| {
                    let inner = inner.clone();
                    async move {
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        tower::ServiceExt::oneshot(inner, r).await
                    }
                })
            },
        ));
    let (mut server, addr) = start(kratos::grpc::Server::builder().layer(slow)).await;
    let status = health(addr)
        .await
        .check(HealthCheckRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::DeadlineExceeded, "{status:?}");
    assert_eq!(kratos::errors::Error::from(status).reason(), "TIMEOUT");
    server.stop().await.unwrap();

    let failing = tower::layer::layer_fn(|_inner| {
        tower::service_fn(|_r: Request<Body>| async {
            Err::<Response<Body>, kratos::grpc::layers::BoxError>("refused by the layer".into())
        })
    });
    let (mut server, addr) = start(kratos::grpc::Server::builder().layer(failing)).await;
    let status = health(addr)
        .await
        .check(HealthCheckRequest::default())
        .await
        .unwrap_err();
    // Kratos' 500 is gRPC's INTERNAL; the reason comes back as UNKNOWN.
    assert_eq!(status.code(), tonic::Code::Internal, "{status:?}");
    assert!(
        status.message().contains("refused by the layer"),
        "{status:?}"
    );
    assert_eq!(kratos::errors::Error::from(status).reason(), "UNKNOWN");
    // The connection carries on: the next call gets the same answer, not a transport error.
    let again = health(addr)
        .await
        .check(HealthCheckRequest::default())
        .await
        .unwrap_err();
    assert_eq!(again.code(), tonic::Code::Internal);
    server.stop().await.unwrap();
}

/// A gRPC service named `test.v1.Named` that answers every call `UNIMPLEMENTED`.
#[derive(Clone)]
struct Named;

impl tonic::server::NamedService for Named {
    const NAME: &'static str = "test.v1.Named";
}

impl tower::Service<Request<Body>> for Named {
    type Response = Response<Body>;
    type Error = std::convert::Infallible;
    type Future = std::future::Ready<Result<Response<Body>, std::convert::Infallible>>;

    fn poll_ready(
        &mut self,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, _request: Request<Body>) -> Self::Future {
        std::future::ready(Ok(tonic::Status::unimplemented("named").into_http()))
    }
}

#[tokio::test]
async fn a_service_added_twice_is_refused() {
    let mut server = kratos::grpc::Server::builder().build();
    server.add_service(Named).unwrap();
    let err = server.add_service(Named).unwrap_err();
    assert!(
        matches!(&err, kratos::grpc::RouteError::Service { name } if name == "test.v1.Named"),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "gRPC service test.v1.Named is registered twice"
    );
    // The server still serves the first one.
    let addr = server.start().await.unwrap();
    let reply = health(addr)
        .await
        .check(HealthCheckRequest {
            service: "test.v1.Named".into(),
        })
        .await
        .unwrap();
    assert_eq!(reply.into_inner().status, 1, "SERVING");
    server.stop().await.unwrap();
}
