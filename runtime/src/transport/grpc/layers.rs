//! Tower layers around the gRPC server's services.
//!
//! Layers wrap every service added (the generated ones, health, reflection) as one tower
//! service of `http::Request<tonic::body::Body>`, after the connection's checks (content type,
//! `grpc-timeout`): a layer sees only well-formed gRPC calls, with the peer's
//! [`TcpConnectInfo`](tonic::transport::server::TcpConnectInfo) in the request's extensions,
//! and the call's `grpc-timeout` bounds the layers too. A layer may return any body. A
//! layer's error ends the call with the Kratos error as its status (504 `TIMEOUT`, gRPC
//! `DEADLINE_EXCEEDED`, for tower's timeout; else 500 `UNKNOWN`), never the connection.
//! Without layers the server skips all of this.

use std::convert::Infallible;

use http::{Request, Response};
use tonic::body::Body;
use tower::ServiceExt as _;
use tower::util::BoxCloneSyncService;

use crate::errors::Error;
pub use crate::transport::http::layers::BoxError;

/// The gRPC server's services as one tower service, which each layer wraps.
pub type GrpcService = BoxCloneSyncService<Request<Body>, Response<Body>, BoxError>;

/// A stored layer: wraps the service built so far.
pub(crate) type LayerFn = Box<dyn Fn(GrpcService) -> GrpcService + Send + Sync>;

/// Boxes `service` (any response body, any error) as a [`GrpcService`].
pub(crate) fn boxed<S, B>(service: S) -> GrpcService
where
    S: tower_service::Service<Request<Body>, Response = Response<B>>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    BoxCloneSyncService::new(
        service
            .map_response(|r: Response<B>| r.map(Body::new))
            .map_err(Into::into),
    )
}

/// Calls the layered stack with `request`, answering a layer's error with its status.
pub(crate) async fn call(
    stack: GrpcService,
    request: Request<Body>,
) -> Result<Response<Body>, Infallible> {
    Ok(match stack.oneshot(request).await {
        Ok(response) => response,
        Err(e) => {
            let err = if e.is::<tower::timeout::error::Elapsed>() {
                Error::new(504, "TIMEOUT", "the call timed out")
            } else {
                Error::new(500, "UNKNOWN", format!("layer failed: {e}"))
            };
            tonic::Status::from(err).into_http()
        }
    })
}
