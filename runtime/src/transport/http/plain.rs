//! Plain routes: a handler that gets the whole request and writes the whole response
//! (documents, health checks), without binding or middleware.

use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response};

use super::body::{self, Body, BodyLimits, read_body};
use super::response;
use super::router::RouteHandler;
use crate::codec::Codec;
use crate::middleware::BoxFuture;

pub(crate) struct PlainRoute<F, Fut> {
    pub(crate) handler: F,
    pub(crate) body_limits: BodyLimits,
    pub(crate) _future: PhantomData<fn() -> Fut>,
}

impl<F, Fut> RouteHandler for PlainRoute<F, Fut>
where
    F: Fn(Request<Bytes>, Vec<String>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response<Bytes>> + Send + 'static,
{
    fn handle(
        self: Arc<Self>,
        request: Request<super::request_body::Body>,
        vars: Vec<String>,
        peer: Option<std::net::SocketAddr>,
    ) -> BoxFuture<'static, Response<Body>> {
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            // The handler sees the client's address as layers do, when the server knows it.
            if let Some(peer) = peer {
                parts.extensions.insert(super::PeerAddr(peer));
            }
            let body = match read_body(body, self.body_limits).await {
                Ok(b) => b,
                Err(e) => {
                    return response::error(
                        Codec::for_reply(&parts.headers),
                        &e,
                        Default::default(),
                    );
                }
            };
            let response = (self.handler)(Request::from_parts(parts, body), vars).await;
            response.map(body::full)
        })
    }
}
