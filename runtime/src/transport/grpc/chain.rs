//! The client middleware chain of a gRPC channel: a tower service in front of tonic's
//! [`Channel`] that runs the chain once per call, whatever the call's kind (unary or any
//! kind of stream: tonic calls the service once per call, with the request stream as its
//! body).

use std::collections::HashSet;
use std::error::Error as StdError;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, OnceLock, PoisonError, RwLock};
use std::task::{Context as TaskContext, Poll};

use tonic::body::Body;
use tonic::transport::Channel;
use tower::ServiceExt as _;

use crate::context::{Context, Kind};
use crate::errors::Error;
use crate::middleware::{BoxFuture, Handler, Message, Middleware, chain};

type BoxError = Box<dyn StdError + Send + Sync>;

/// A gRPC channel with Kratos client middleware: what [`super::ChannelBuilder`] builds, and
/// what tonic's generated clients take (`GreeterClient::new(channel)`). Cheap to clone.
///
/// Without middleware, calls go straight to the channel. With middleware, each call runs the
/// chain once with a client [`Context`] ([`crate::Side::Client`], [`Kind::Grpc`]) whose
/// operation is the request path `/package.Service/Method` and whose
/// [`outgoing_headers`](Context::outgoing_headers) are the request's metadata, which
/// middleware may change. The request middleware see is an opaque [`GrpcClientRequest`] (the
/// message is not decoded: it is already encoded in the request stream) and the reply is
/// opaque; the chain ends when the response head arrives, so an error the middleware see is
/// one of the middleware or of the connection, not the call's gRPC status (sent in trailers).
/// A middleware's error reaches the caller as its gRPC status.
#[derive(Clone, Debug)]
pub struct ClientChannel {
    channel: Channel,
    chain: Option<Handler>,
    /// The channel's per-call timeout, the deadline of a chained call's [`Context`].
    timeout: Option<std::time::Duration>,
}

/// A gRPC client call's request, as client middleware see it: opaque.
pub struct GrpcClientRequest(Mutex<Option<http::Request<Body>>>);

impl std::fmt::Debug for GrpcClientRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("grpc request")
    }
}

struct GrpcReply(Mutex<Option<http::Response<Body>>>);

/// The gRPC status code a chained call's reply carries in its head, if any: a server that
/// fails a call before sending any message answers with its status in the head (a
/// "trailers-only" response), which is how client middleware such as the circuit breaker
/// see the outcome of a failed unary call. `None` for any other reply (the status then comes
/// in the trailers, after the chain has ended).
pub(crate) fn reply_status(reply: &Message) -> Option<tonic::Code> {
    let reply = reply.downcast_ref::<GrpcReply>()?;
    let guard = reply.0.lock().unwrap_or_else(PoisonError::into_inner);
    let status = guard.as_ref()?.headers().get("grpc-status")?;
    std::str::from_utf8(status.as_bytes())
        .ok()?
        .parse::<i32>()
        .ok()
        .map(tonic::Code::from)
}

impl std::fmt::Debug for GrpcReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("grpc reply")
    }
}

fn take<T>(slot: Mutex<Option<T>>) -> Option<T> {
    slot.into_inner().unwrap_or_else(PoisonError::into_inner)
}

fn replaced(what: &str, other: &Message) -> Error {
    Error::new(
        500,
        "MIDDLEWARE",
        format!("a client middleware replaced the {what} with {other:?}"),
    )
}

/// The operation of a request path as a `&'static str`, as [`Context`] holds it. Each distinct
/// path is stored once for the life of the process; the paths a program calls are those of
/// the gRPC methods compiled into it, so the set is bounded.
fn operation(path: &str) -> &'static str {
    static SEEN: OnceLock<RwLock<HashSet<&'static str>>> = OnceLock::new();
    let seen = SEEN.get_or_init(Default::default);
    if let Some(op) = seen
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(path)
    {
        return op;
    }
    let mut seen = seen.write().unwrap_or_else(PoisonError::into_inner);
    if let Some(op) = seen.get(path) {
        return op;
    }
    let op: &'static str = Box::leak(path.to_owned().into_boxed_str());
    seen.insert(op);
    op
}

impl ClientChannel {
    /// `channel` behind `middleware` (first outermost).
    pub fn new(channel: Channel, middleware: &[Middleware]) -> Self {
        let chain = (!middleware.is_empty()).then(|| chain(middleware, innermost(channel.clone())));
        ClientChannel {
            channel,
            chain,
            timeout: None,
        }
    }

    /// Records the channel's per-call timeout (which the channel itself enforces), so that
    /// the [`Context::deadline`] of a call seen by middleware reflects it.
    pub(crate) fn with_call_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The channel itself, without the middleware.
    pub fn channel(&self) -> &Channel {
        &self.channel
    }
}

/// The innermost handler: sends the request with the headers the middleware left.
fn innermost(channel: Channel) -> Handler {
    Handler::new(move |ctx: Context, request: Message| {
        let channel = channel.clone();
        async move {
            let request = request
                .downcast::<GrpcClientRequest>()
                .map_err(|other| replaced("request", &other))?;
            let mut request = take(request.0)
                .ok_or_else(|| Error::new(500, "MIDDLEWARE", "the request was already taken"))?;
            *request.headers_mut() = std::mem::take(&mut *ctx.outgoing_headers());
            let response = channel.oneshot(request).await.map_err(|e| {
                Error::new(503, "UNAVAILABLE", format!("grpc call failed: {e}")).with_cause(e)
            })?;
            Ok(Message::new(GrpcReply(Mutex::new(Some(response)))))
        }
    })
}

impl tower_service::Service<http::Request<Body>> for ClientChannel {
    type Response = http::Response<Body>;
    type Error = BoxError;
    type Future = CallFuture;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        match self.chain {
            None => self.channel.poll_ready(cx).map_err(Into::into),
            // The chain's innermost handler waits for a clone of the channel.
            Some(_) => Poll::Ready(Ok(())),
        }
    }

    fn call(&mut self, mut request: http::Request<Body>) -> Self::Future {
        let Some(chain) = &self.chain else {
            return CallFuture {
                inner: Inner::Direct {
                    inner: self.channel.call(request),
                },
            };
        };
        // The deadline: the channel's timeout, or the call's own `grpc-timeout` when shorter.
        let call_timeout = super::serve::grpc_timeout(request.headers());
        let ctx = Context::client(
            Kind::Grpc,
            operation(request.uri().path()),
            std::mem::take(request.headers_mut()),
            crate::metadata::current_client_metadata(),
        )
        .with_timeout(self.timeout)
        .with_timeout(call_timeout);
        let call = chain.call(
            ctx,
            Message::new(GrpcClientRequest(Mutex::new(Some(request)))),
        );
        let inner = Box::pin(async move {
            let outcome = call.await.and_then(|reply| {
                let reply = reply
                    .downcast::<GrpcReply>()
                    .map_err(|other| replaced("reply", &other))?;
                take(reply.0)
                    .ok_or_else(|| Error::new(500, "MIDDLEWARE", "the reply was already taken"))
            });
            // tonic's clients find a `Status` in the error and return it as it is.
            outcome.map_err(|err| BoxError::from(tonic::Status::from(err)))
        });
        CallFuture {
            inner: Inner::Chained { inner },
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of a [`ClientChannel`] call.
    pub struct CallFuture {
        #[pin]
        inner: Inner,
    }
}

pin_project_lite::pin_project! {
    #[project = InnerProj]
    enum Inner {
        // No middleware: the channel's own future.
        Direct { #[pin] inner: tonic::transport::channel::ResponseFuture },
        // Through the chain.
        Chained { inner: BoxFuture<Result<http::Response<Body>, BoxError>> },
    }
}

impl std::fmt::Debug for CallFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CallFuture")
    }
}

impl Future for CallFuture {
    type Output = Result<http::Response<Body>, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        match self.project().inner.project() {
            InnerProj::Direct { inner } => inner.poll(cx).map_err(Into::into),
            InnerProj::Chained { inner } => inner.as_mut().poll(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_stored_once() {
        let a = operation("/a.B/C");
        let b = operation(&String::from("/a.B/C"));
        assert!(std::ptr::eq(a, b));
        assert_eq!(operation("/a.B/D"), "/a.B/D");
    }
}
