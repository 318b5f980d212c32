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
    transport: Transport,
    chain: Option<Handler>,
    /// The channel's per-call timeout, the deadline of a chained call's [`Context`].
    timeout: Option<std::time::Duration>,
}

/// Where a channel's calls go.
#[derive(Clone, Debug)]
enum Transport {
    /// One address.
    Single(Channel),
    /// A node per call, from a discovered service.
    Balanced(super::balanced::Balanced),
}

impl Transport {
    fn call(
        &self,
        request: http::Request<Body>,
    ) -> BoxFuture<'static, Result<http::Response<Body>, BoxError>> {
        match self {
            Transport::Single(channel) => {
                let channel = channel.clone();
                Box::pin(async move { channel.oneshot(request).await.map_err(Into::into) })
            }
            Transport::Balanced(balanced) => balanced.call(request),
        }
    }
}

/// A transport error of a call, as an error's cause.
#[derive(Debug)]
struct CallError(BoxError);

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl StdError for CallError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.0.source()
    }
}

/// A gRPC client call's request, as client middleware see it: opaque.
pub struct GrpcClientRequest(Mutex<Option<http::Request<Body>>>);

impl std::fmt::Debug for GrpcClientRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("grpc request")
    }
}

struct GrpcReply(Mutex<Option<http::Response<Body>>>);

impl std::fmt::Debug for GrpcReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("grpc reply")
    }
}

/// The error a gRPC client call's reply carries in its head, for client middleware that need
/// the call's outcome (metrics, logging, tracing): a server that fails a call before sending
/// any message answers with a trailers-only response, whose head holds the `grpc-status`
/// (and Kratos' `ErrorInfo` detail). `None` when the head has no status or an `OK` one (the
/// status then comes in trailers, after the chain has ended) and for a message that is not a
/// gRPC reply.
pub fn reply_error(reply: &Message) -> Option<Error> {
    let reply = reply.downcast_ref::<GrpcReply>()?;
    let slot = reply.0.lock().unwrap_or_else(PoisonError::into_inner);
    let headers = slot.as_ref()?.headers();
    headers.get("grpc-status")?;
    let status = tonic::Status::from_header_map(headers)?;
    (status.code() != tonic::Code::Ok).then(|| Error::from_status(&status))
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
        Self::with_transport(Transport::Single(channel), middleware)
    }

    /// Records the channel's per-call timeout (which the channel itself enforces), so that
    /// the [`Context::deadline`] of a call seen by middleware reflects it.
    pub(crate) fn with_call_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    pub(crate) fn balanced(balanced: super::balanced::Balanced, middleware: &[Middleware]) -> Self {
        Self::with_transport(Transport::Balanced(balanced), middleware)
    }

    fn with_transport(transport: Transport, middleware: &[Middleware]) -> Self {
        let chain =
            (!middleware.is_empty()).then(|| chain(middleware, innermost(transport.clone())));
        ClientChannel {
            transport,
            chain,
            timeout: None,
        }
    }

    /// The channel itself, without the middleware, for a channel to one address (`None` for a
    /// discovery endpoint, whose calls go to a node's channel each).
    pub fn channel(&self) -> Option<&Channel> {
        match &self.transport {
            Transport::Single(channel) => Some(channel),
            Transport::Balanced(_) => None,
        }
    }
}

/// The innermost handler: sends the request with the headers the middleware left.
fn innermost(transport: Transport) -> Handler {
    Handler::new(move |ctx: Context, request: Message| {
        let transport = transport.clone();
        async move {
            let request = request
                .downcast::<GrpcClientRequest>()
                .map_err(|other| replaced("request", &other))?;
            let mut request = take(request.0)
                .ok_or_else(|| Error::new(500, "MIDDLEWARE", "the request was already taken"))?;
            *request.headers_mut() = std::mem::take(&mut *ctx.outgoing_headers());
            let response = transport.call(request).await.map_err(|e| {
                // A status (such as no node available) is the call's error as it is.
                match e.downcast::<tonic::Status>() {
                    Ok(status) => Error::from(*status),
                    Err(e) => channel_error(e),
                }
            })?;
            Ok(Message::new(GrpcReply(Mutex::new(Some(response)))))
        }
    })
}

/// The error of a call the channel could not make: 504 `TIMEOUT` when the channel's timeout
/// ran out (tonic's `TimeoutExpired` in the error's chain; the same code and reason as the HTTP
/// client's timeout, `DeadlineExceeded` to the caller), else 503 `UNAVAILABLE`.
fn channel_error(e: BoxError) -> Error {
    let mut source: Option<&(dyn StdError + 'static)> = Some(&*e);
    let mut timed_out = false;
    while let Some(err) = source {
        timed_out |= err.is::<tonic::TimeoutExpired>();
        source = err.source();
    }
    if timed_out {
        Error::new(504, "TIMEOUT", format!("grpc call: {e}")).with_cause(CallError(e))
    } else {
        Error::new(503, "UNAVAILABLE", format!("grpc call failed: {e}")).with_cause(CallError(e))
    }
}

impl tower_service::Service<http::Request<Body>> for ClientChannel {
    type Response = http::Response<Body>;
    type Error = BoxError;
    type Future = CallFuture;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        match (&self.chain, &mut self.transport) {
            (None, Transport::Single(channel)) => channel.poll_ready(cx).map_err(Into::into),
            // The chain's innermost handler, and the balanced calls, wait for a clone of the
            // channel.
            _ => Poll::Ready(Ok(())),
        }
    }

    fn call(&mut self, mut request: http::Request<Body>) -> Self::Future {
        let Some(chain) = &self.chain else {
            return CallFuture {
                inner: match &mut self.transport {
                    Transport::Single(channel) => Inner::Direct {
                        inner: channel.call(request),
                    },
                    Transport::Balanced(balanced) => Inner::Chained {
                        inner: balanced.call(request),
                    },
                },
            };
        };
        // The deadline: the channel's timeout, or the call's own `grpc-timeout` when shorter.
        // A malformed value is the server's to refuse; here it sets no deadline.
        let call_timeout = super::serve::grpc_timeout(request.headers()).ok().flatten();
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
        Chained { inner: BoxFuture<'static, Result<http::Response<Body>, BoxError>> },
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
