//! Tower layers around the HTTP server.
//!
//! Layers see every request as `http::Request<hyper::body::Incoming>` (before routing) and may
//! change the response body type (compression, tracing bodies...). A layer error (such as a
//! timeout) is answered with a Kratos error body rather than a dropped connection. Without
//! layers the server skips all of this.

use std::convert::Infallible;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;
use hyper::body::Incoming;
use tower::ServiceExt;
use tower::util::BoxCloneSyncService;

use super::response;
use crate::codec::Codec;
use crate::errors::Error;

/// A boxed error of a layer or a body.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The response body seen by layers after the first one: any body, boxed.
pub type LayerBody = UnsyncBoxBody<Bytes, BoxError>;

/// The HTTP server as a tower service, which each layer wraps.
pub type HttpService = BoxCloneSyncService<Request<Incoming>, Response<LayerBody>, BoxError>;

/// A stored layer: wraps the service built so far.
pub(crate) type LayerFn = Box<dyn Fn(HttpService) -> HttpService + Send + Sync>;

/// Boxes `service` (any response body, any error) as an [`HttpService`].
pub(crate) fn boxed<S, B>(service: S) -> HttpService
where
    S: tower_service::Service<Request<Incoming>, Response = Response<B>>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    BoxCloneSyncService::new(
        service
            .map_response(|r: Response<B>| r.map(|b| b.map_err(Into::into).boxed_unsync()))
            .map_err(Into::into),
    )
}

/// The outermost service: calls the layered stack, and answers a layer's error with a Kratos
/// error body (504 for tower's timeout, else 500) instead of dropping the connection.
#[derive(Clone)]
pub(crate) struct Guarded(pub(crate) HttpService);

impl hyper::service::Service<Request<Incoming>> for Guarded {
    type Response = Response<LayerBody>;
    type Error = Infallible;
    type Future = crate::middleware::BoxFuture<'static, Result<Response<LayerBody>, Infallible>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let service = self.0.clone();
        Box::pin(async move {
            Ok(match service.oneshot(request).await {
                Ok(response) => response,
                Err(e) => {
                    let err = if e.is::<tower::timeout::error::Elapsed>() {
                        Error::new(504, "TIMEOUT", "the request timed out")
                    } else {
                        Error::new(500, "UNKNOWN", format!("layer failed: {e}"))
                    };
                    response::error(Codec::Json, &err, Default::default())
                        .map(BodyExt::boxed_unsync)
                }
            })
        })
    }
}
