//! Tower layers around the HTTP server, and the server as a tower service.
//!
//! Layers see every request as `http::Request<`[`Body`]`>` (before routing) and may change
//! the response body type (compression, tracing bodies...). A layer error (such as a timeout)
//! is answered with a Kratos error body rather than a dropped connection. Without layers the
//! server skips all of this.
//!
//! The same stack (routes, then layers) answers requests arriving on the server's connections
//! and requests given to [`ServerService`] in process, so a test through
//! `tower::ServiceExt::oneshot` sees what a client over the socket sees.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;
use hyper::body::Incoming;
use tower::ServiceExt;
use tower::util::BoxCloneSyncService;

use super::response;
use super::router::Router;
use crate::BoxFuture;
use crate::codec::Codec;
use crate::errors::Error;

pub use super::request_body::{Body, BoxError};

/// The response body seen by layers after the first one, and by callers of
/// [`ServerService`]: any body, boxed.
pub type LayerBody = UnsyncBoxBody<Bytes, BoxError>;

/// The HTTP server as a tower service, which each layer wraps.
pub type HttpService = BoxCloneSyncService<Request<Body>, Response<LayerBody>, BoxError>;

/// A stored layer: wraps the service built so far.
pub(crate) type LayerFn = Box<dyn Fn(HttpService) -> HttpService + Send + Sync>;

/// Boxes `service` (any response body, any error) as an [`HttpService`].
pub(crate) fn boxed<S, B>(service: S) -> HttpService
where
    S: tower_service::Service<Request<Body>, Response = Response<B>>
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

/// Calls the layered stack, and answers a layer's error with a Kratos error body (504 for
/// tower's timeout, else 500) instead of dropping the connection.
pub(crate) async fn answer(stack: HttpService, request: Request<Body>) -> Response<LayerBody> {
    match stack.oneshot(request).await {
        Ok(response) => response,
        Err(e) => {
            let err = if e.is::<tower::timeout::error::Elapsed>() {
                Error::new(504, "TIMEOUT", "the request timed out")
            } else {
                Error::new(500, "UNKNOWN", format!("layer failed: {e}"))
            };
            response::error(Codec::Json, &err, Default::default()).map(BodyExt::boxed_unsync)
        }
    }
}

/// The address of the client a request came from, in the request's extensions when it
/// passes through tower layers: the server puts it there for each request of a connection,
/// layers may read it (as axum's `ConnectInfo`), and the routes give it to handlers and
/// middleware (`net.peer.*` of the tracing middleware). A request given to
/// [`ServerService`] has a peer only if the caller inserts one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub std::net::SocketAddr);

/// The outermost service of a connection when the server has layers: puts the connection's
/// peer in each request, then calls the layered stack.
#[derive(Clone)]
pub(crate) struct Guarded {
    pub(crate) stack: HttpService,
    pub(crate) peer: std::net::SocketAddr,
}

impl hyper::service::Service<Request<Incoming>> for Guarded {
    type Response = Response<LayerBody>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response<LayerBody>, Infallible>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let service = self.stack.clone();
        let mut request = request.map(Body::from);
        request.extensions_mut().insert(PeerAddr(self.peer));
        Box::pin(async move { Ok(answer(service, request).await) })
    }
}

/// What answers a request: the routes alone, or the layers around them.
#[derive(Clone)]
pub(crate) enum Stack {
    /// No layers.
    Routes(Arc<Router>),
    /// The layered stack.
    Layered(HttpService),
}

/// An HTTP [`Server`](super::Server) as a tower service, without a socket: what
/// [`Server::into_service`](super::Server::into_service) returns. It answers each request
/// exactly as the running server would (same layers, routing, binding, middleware, per-call
/// timeout, codecs and Kratos error bodies); only the connection limits (header size and read
/// timeout, connections, HTTP/2 settings) do not apply, and handlers see the peer address only
/// when the request carries a [`PeerAddr`] extension.
/// Cheap to clone; always ready.
///
/// It takes an `http::Request` with any body whose data is [`Bytes`] (`String`,
/// `http_body_util::Full<Bytes>`, `http_body_util::Empty<Bytes>`, a hyper `Incoming`...),
/// never fails (`Error = Infallible`), and returns the response with a boxed body
/// ([`LayerBody`]; read it with `http_body_util::BodyExt::collect`).
#[derive(Clone)]
pub struct ServerService(pub(crate) Stack);

impl std::fmt::Debug for ServerService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            Stack::Routes(_) => "ServerService",
            Stack::Layered(_) => "ServerService(layered)",
        })
    }
}

impl<B> tower_service::Service<Request<B>> for ServerService
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<LayerBody>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response<LayerBody>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let request = request.map(Body::new);
        let stack = self.0.clone();
        Box::pin(async move {
            Ok(match stack {
                Stack::Routes(router) => super::dispatch::dispatch(&router, request, None)
                    .await
                    .map(BodyExt::boxed_unsync),
                Stack::Layered(stack) => answer(stack, request).await,
            })
        })
    }
}
