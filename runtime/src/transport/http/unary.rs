//! A unary route: bind, run the endpoint, encode.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use http::{Request, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::binder::Binder;
use super::body::{Body, BodyLimits, StreamingBody, read_body};
use super::response;
use super::router::RouteHandler;
use crate::codec::Codec;
use crate::context::Context;
use crate::errors::Error;
use crate::middleware::{BoxFuture, Endpoint};
use crate::panic::CatchUnwind;

/// Binding function generated for a route.
pub(crate) type BindFn<Req> = fn(&mut Binder<'_>) -> Result<Req, Error>;

/// Encodes a route's reply: the whole message, or the field its `response_body` names.
pub type ReplyFn<Rep> = fn(&Rep, Codec) -> Result<Vec<u8>, Error>;

/// How a route's reply is sent.
pub(crate) enum ReplyMode<Rep> {
    /// One body, encoded in the accepted codec.
    Whole(ReplyFn<Rep>),
    /// Server-Sent Events (server-streaming methods).
    Events(fn(&Rep) -> Result<StreamingBody, Error>),
    /// A raw body with its own media type (a `google.api.HttpBody` reply).
    Raw(RawReplyFn<Rep>),
}

/// Takes a `google.api.HttpBody` reply apart: its `content_type` and its `data`.
pub type RawReplyFn<Rep> = fn(Rep) -> (String, Vec<u8>);

/// The [`ReplyFn`] of routes that reply with the whole message.
pub fn whole_reply<Rep: Serialize + prost::Message>(
    reply: &Rep,
    codec: Codec,
) -> Result<Vec<u8>, Error> {
    codec.encode(reply)
}

pub(crate) struct UnaryRoute<Req, Rep> {
    pub(crate) operation: &'static str,
    pub(crate) path_template: &'static str,
    pub(crate) template: Arc<kratos_path_template::Template>,
    pub(crate) bind: BindFn<Req>,
    pub(crate) reply: ReplyMode<Rep>,
    pub(crate) endpoint: Endpoint<Req, Rep>,
    pub(crate) body_limits: BodyLimits,
    /// The server's per-call timeout, when it applies to this route.
    pub(crate) call_timeout: Option<std::time::Duration>,
}

impl<Req, Rep> UnaryRoute<Req, Rep>
where
    Req: Send + Sync + fmt::Debug + 'static,
    Rep: std::fmt::Debug + Send + Sync + 'static,
{
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new<F, Fut>(
        operation: &'static str,
        path_template: &'static str,
        template: Arc<kratos_path_template::Template>,
        bind: BindFn<Req>,
        reply: ReplyMode<Rep>,
        middleware: &[crate::middleware::Middleware],
        validator: Option<crate::validate::Validator>,
        body_limits: BodyLimits,
        call_timeout: Option<std::time::Duration>,
        f: F,
    ) -> Self
    where
        F: Fn(Context, Req) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Rep, Error>> + Send + 'static,
        Req: DeserializeOwned,
    {
        UnaryRoute {
            operation,
            path_template,
            template,
            bind,
            reply,
            endpoint: Endpoint::with_validator(middleware, validator, f),
            body_limits,
            call_timeout,
        }
    }
}

impl<Req, Rep> RouteHandler for UnaryRoute<Req, Rep>
where
    Req: Send + Sync + fmt::Debug + 'static,
    Rep: std::fmt::Debug + Send + Sync + 'static,
{
    fn handle(
        self: Arc<Self>,
        request: Request<super::request_body::Body>,
        vars: Vec<String>,
        peer: Option<std::net::SocketAddr>,
    ) -> BoxFuture<'static, Response<Body>> {
        let operation = self.operation;
        // The per-call timeout runs from when the request was routed, as Kratos' does.
        let arrived = tokio::time::Instant::now();
        let guarded = Box::pin(async move {
            let (parts, body) = request.into_parts();
            let reply_codec = Codec::for_reply(&parts.headers);
            let bound = match read_body(body, self.body_limits).await {
                Ok(body) => {
                    let named: Vec<(&str, String)> = self
                        .template
                        .variables()
                        .iter()
                        .map(|v| v.field_path.as_str())
                        .zip(vars)
                        .collect();
                    let mut binder = Binder {
                        parts: &parts,
                        body,
                        vars: &named,
                        limits: crate::codec::DecodeLimits::for_body_limit(
                            self.body_limits.max_bytes,
                        ),
                    };
                    (self.bind)(&mut binder)
                }
                Err(e) => Err(e),
            };
            // Binding runs before the chain but its outcome goes through it, so middleware
            // see binding failures too (Kratos skips middleware on them: issue #3815).
            let info = crate::context::RequestInfo {
                method: Some(parts.method),
                target: Some(parts.uri),
                peer,
            };
            let ctx = Context::http(self.operation, self.path_template, parts.headers)
                .with_request_info(info);
            let result = match self.call_timeout {
                Some(limit) => {
                    let deadline = arrived + limit;
                    ctx.limit_deadline(deadline);
                    let call = self.endpoint.call_bound(ctx.clone(), bound);
                    crate::middleware::bounded(limit, deadline, call).await
                }
                None => self.endpoint.call_bound(ctx.clone(), bound).await,
            };
            let headers = ctx.take_reply_headers();
            match (result, &self.reply) {
                (Ok(reply), ReplyMode::Whole(encode)) => match encode(&reply, reply_codec) {
                    Ok(bytes) => response::reply(reply_codec, bytes, headers),
                    // The accepted codec cannot carry this reply: the error goes in JSON.
                    Err(e) => response::error(Codec::Json, &e, headers),
                },
                (Ok(reply), ReplyMode::Events(events)) => match events(&reply) {
                    Ok(body) => super::events::response(body, headers),
                    Err(e) => response::error(reply_codec, &e, headers),
                },
                (Ok(reply), ReplyMode::Raw(parts)) => {
                    let (content_type, data) = parts(reply);
                    response::raw(&content_type, data, headers)
                        .unwrap_or_else(|e| response::error(reply_codec, &e, Default::default()))
                }
                (Err(e), _) => response::error(reply_codec, &e, headers),
            }
        });
        Box::pin(async move {
            // Nothing a request triggers may take the connection down: a panic outside any
            // recovery middleware (in binding, a middleware, encoding) is a 500 too.
            CatchUnwind(guarded).await.unwrap_or_else(|panic| {
                tracing::error!(operation, panic, "panic while serving a request");
                response::error(
                    Codec::Json,
                    &crate::middleware::recovered_error(),
                    Default::default(),
                )
            })
        })
    }
}
