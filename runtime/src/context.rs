//! What a handler and its middleware know about the call being served.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use http::{Extensions, HeaderMap};
use tokio::time::Instant;

use crate::metadata::Metadata;

/// The transport a call arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// HTTP (JSON, proto and the other codecs).
    Http,
    /// gRPC.
    Grpc,
}

impl Kind {
    /// `"http"` or `"grpc"`, as Kratos names them.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Http => "http",
            Kind::Grpc => "grpc",
        }
    }
}

/// Which end of a call a [`Context`] belongs to (Kratos' `FromServerContext` /
/// `FromClientContext`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// A call this process serves.
    Server,
    /// A call this process makes (through [`crate::http::Client`] or a
    /// [`crate::grpc::ChannelBuilder`] channel).
    Client,
}

tokio::task_local! {
    /// The server call whose handler is running on this task (set by [`Context::scope`]).
    static CURRENT_SERVER: Context;
}

/// The context of one call: transport kind, operation, request headers and the headers to
/// send back, the call's deadline, and typed values middleware attach for later middleware and
/// the handler ([`insert`](Context::insert) / [`get`](Context::get)). Cheap to clone (one
/// shared allocation per call).
///
/// The operation is `/package.Service/Method` on both transports, so one middleware selector
/// covers a method whichever way it is called.
///
/// # Example
///
/// What a handler or a middleware reads and writes; the servers build the context of each
/// call (here one is built by hand):
///
/// ```
/// use std::time::Duration;
/// use kratos::{Context, Kind};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut headers = ::http::HeaderMap::new();
/// headers.insert("x-request-id", "r-1".parse()?);
/// let ctx = Context::new(Kind::Grpc, "/helloworld.v1.Greeter/SayHello", headers);
/// ctx.limit_deadline(tokio::time::Instant::now() + Duration::from_secs(1));
///
/// assert_eq!(ctx.kind(), Kind::Grpc);
/// assert_eq!(ctx.operation(), "/helloworld.v1.Greeter/SayHello");
/// assert_eq!(ctx.request_headers()["x-request-id"], "r-1");
/// // The time left to answer: the client's grpc-timeout or the server's timeout.
/// assert!(ctx.remaining().is_some_and(|left| left <= Duration::from_secs(1)));
/// // Headers (gRPC metadata) sent back with the reply.
/// ctx.reply_headers().insert("x-served-by", "greeter-1".parse()?);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Context {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    kind: Kind,
    side: Side,
    metadata: Mutex<Metadata>,
    outgoing_headers: Mutex<HeaderMap>,
    operation: &'static str,
    path_template: Option<&'static str>,
    request_headers: HeaderMap,
    reply_headers: Mutex<HeaderMap>,
    request: RequestInfo,
    /// Typed values (`http::Extensions` allocates its map on the first insert only).
    extensions: Mutex<Extensions>,
    /// When the call must be over; `None` when nothing bounds it.
    deadline: Mutex<Option<Instant>>,
}

/// What a server knows about a served request beyond its headers: the HTTP method and target
/// (HTTP calls) and the peer's address. Read by the tracing middleware for its attributes.
#[derive(Debug, Clone, Default)]
pub struct RequestInfo {
    /// The request method (HTTP calls).
    pub method: Option<http::Method>,
    /// The request target, path and query (HTTP calls).
    pub target: Option<http::Uri>,
    /// The address of the peer that sent the request, when the transport knows it.
    pub peer: Option<std::net::SocketAddr>,
}

impl Inner {
    fn new(
        kind: Kind,
        side: Side,
        operation: &'static str,
        path_template: Option<&'static str>,
        request_headers: HeaderMap,
        outgoing: (HeaderMap, Metadata),
    ) -> Self {
        Inner {
            kind,
            side,
            metadata: Mutex::new(outgoing.1),
            outgoing_headers: Mutex::new(outgoing.0),
            operation,
            path_template,
            request_headers,
            reply_headers: Mutex::new(HeaderMap::new()),
            request: RequestInfo::default(),
            extensions: Mutex::new(Extensions::new()),
            deadline: Mutex::new(None),
        }
    }
}

impl Context {
    /// A context for a call of `operation` over `kind`, with the request's headers.
    pub fn new(kind: Kind, operation: &'static str, request_headers: HeaderMap) -> Self {
        Context {
            inner: Arc::new(Inner::new(
                kind,
                Side::Server,
                operation,
                None,
                request_headers,
                Default::default(),
            )),
        }
    }

    /// A context for an HTTP call that matched the route `path_template`.
    pub fn http(
        operation: &'static str,
        path_template: &'static str,
        request_headers: HeaderMap,
    ) -> Self {
        Context {
            inner: Arc::new(Inner::new(
                Kind::Http,
                Side::Server,
                operation,
                Some(path_template),
                request_headers,
                Default::default(),
            )),
        }
    }

    /// A client-side context for a call of `operation` over `kind`: `headers` are the request
    /// headers already set (they become [`outgoing_headers`](Context::outgoing_headers)) and
    /// `metadata` the call's client metadata.
    pub fn client(
        kind: Kind,
        operation: &'static str,
        headers: HeaderMap,
        metadata: Metadata,
    ) -> Self {
        Context {
            inner: Arc::new(Inner::new(
                kind,
                Side::Client,
                operation,
                None,
                HeaderMap::new(),
                (headers, metadata),
            )),
        }
    }

    /// This context with `info` about the served request (set by the transports on a fresh
    /// context, before anything else holds it; ignored once the context is shared).
    pub(crate) fn with_request_info(mut self, info: RequestInfo) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.request = info;
        }
        self
    }

    /// The served request's method, target and peer, as far as the transport knows them
    /// (empty on client calls).
    pub fn request_info(&self) -> &RequestInfo {
        &self.inner.request
    }

    /// Whether this is a server or a client call.
    pub fn side(&self) -> Side {
        self.inner.side
    }

    /// The call's metadata: on the server, what the metadata server middleware read from the
    /// request; on a client call, what will be sent (the metadata client middleware turns it
    /// into headers). Keys are lower-case.
    pub fn metadata(&self) -> MutexGuard<'_, Metadata> {
        lock(&self.inner.metadata)
    }

    /// On a client call, the headers (gRPC metadata) the request will carry; middleware may
    /// change them. Empty and unused on a server call (see
    /// [`reply_headers`](Context::reply_headers)).
    pub fn outgoing_headers(&self) -> MutexGuard<'_, HeaderMap> {
        lock(&self.inner.outgoing_headers)
    }

    /// The server call whose handler (or server middleware) is running on the current task,
    /// if any: how a client call made while serving a call finds it. The servers set it
    /// around the chain of each call; work spawned on other tasks or done while a reply stream
    /// is being produced after the handler returned can carry it with [`Context::scope`].
    pub fn current_server() -> Option<Context> {
        CURRENT_SERVER.try_with(Context::clone).ok()
    }

    /// Runs `future` with this (server) context as [`Context::current_server`].
    pub fn scope<F: std::future::Future>(
        self,
        future: F,
    ) -> tokio::task::futures::TaskLocalFuture<Context, F> {
        CURRENT_SERVER.scope(self, future)
    }

    /// The transport kind.
    pub fn kind(&self) -> Kind {
        self.inner.kind
    }

    /// The operation, `/package.Service/Method`.
    pub fn operation(&self) -> &'static str {
        self.inner.operation
    }

    /// The route's path template, for HTTP calls.
    pub fn path_template(&self) -> Option<&'static str> {
        self.inner.path_template
    }

    /// The request headers (gRPC metadata on gRPC).
    pub fn request_headers(&self) -> &HeaderMap {
        &self.inner.request_headers
    }

    /// The headers to send with the reply (gRPC response metadata on gRPC). Middleware and
    /// handlers may add to them.
    pub fn reply_headers(&self) -> MutexGuard<'_, HeaderMap> {
        lock(&self.inner.reply_headers)
    }

    /// Takes the reply headers out (done by the transport once the handler has finished).
    pub(crate) fn take_reply_headers(&self) -> HeaderMap {
        std::mem::take(&mut *self.reply_headers())
    }

    /// Attaches `value` to the call, replacing (and returning) the value of the same type
    /// attached before: how a middleware hands what it learnt (JWT claims, a tenant) to the
    /// middleware after it and to the handler, which read it with [`get`](Context::get). One
    /// value per type, so give each piece its own type (a newtype). Nothing is allocated
    /// for a call until its first insert.
    ///
    /// ```
    /// use kratos::{Context, Kind};
    /// #[derive(Clone, Debug, PartialEq)]
    /// struct Tenant(String);
    /// let ctx = Context::new(Kind::Http, "/shop.v1.Cart/Add", Default::default());
    /// ctx.insert(Tenant("acme".into()));
    /// assert_eq!(ctx.get::<Tenant>(), Some(Tenant("acme".into())));
    /// ```
    pub fn insert<T: Clone + Send + Sync + 'static>(&self, value: T) -> Option<T> {
        lock(&self.inner.extensions).insert(value)
    }

    /// A clone of the value of type `T` attached to the call, if any (see
    /// [`insert`](Context::insert)). Attach an `Arc` for values that are costly to clone.
    pub fn get<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        lock(&self.inner.extensions).get::<T>().cloned()
    }

    /// Detaches and returns the value of type `T` attached to the call, if any.
    pub fn remove<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        lock(&self.inner.extensions).remove::<T>()
    }

    /// All the values attached to the call, to read several or to read one without cloning.
    pub fn extensions(&self) -> MutexGuard<'_, Extensions> {
        lock(&self.inner.extensions)
    }

    /// When the call must be over, if anything bounds it. On a server call: the earliest of
    /// the client's gRPC `grpc-timeout` and the server's per-call timeout (unary calls; see
    /// the servers' `timeout`), from when the call arrived; on a client call: the client's
    /// per-call timeout from when the call started. Middleware such as
    /// [`crate::middleware::timeout`] may bring it closer, never push it back.
    pub fn deadline(&self) -> Option<Instant> {
        *lock(&self.inner.deadline)
    }

    /// The time left until the [`deadline`](Context::deadline) (zero once it has passed), if
    /// the call has one.
    pub fn remaining(&self) -> Option<std::time::Duration> {
        self.deadline()
            .map(|deadline| deadline.saturating_duration_since(Instant::now()))
    }

    /// Bounds the call by `deadline`: the context's deadline becomes the earlier of the two.
    /// The context only records it; whoever set the bound enforces it (the servers, the
    /// clients and the timeout middleware do).
    pub fn limit_deadline(&self, deadline: Instant) {
        let mut current = lock(&self.inner.deadline);
        if current.is_none_or(|c| deadline < c) {
            *current = Some(deadline);
        }
    }

    /// [`limit_deadline`](Context::limit_deadline) to `timeout` from now, returning the
    /// context (for transports building it).
    pub(crate) fn with_timeout(self, timeout: Option<std::time::Duration>) -> Self {
        if let Some(deadline) = timeout.and_then(|t| Instant::now().checked_add(t)) {
            self.limit_deadline(deadline);
        }
        self
    }
}

/// Locks `m`; a panic while the lock was held leaves a map that is still valid to use.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    #[derive(Clone, Debug, PartialEq)]
    struct Tenant(&'static str);

    #[derive(Clone, Debug, PartialEq)]
    struct Subject(String);

    #[test]
    fn values_by_type_shared_by_clones() {
        let ctx = Context::new(Kind::Grpc, "/a.B/C", HeaderMap::new());
        assert_eq!(ctx.get::<Tenant>(), None);
        assert_eq!(ctx.insert(Tenant("one")), None);
        // A clone sees the same call: what a middleware inserts, the handler reads.
        let seen_by_handler = ctx.clone();
        assert_eq!(seen_by_handler.insert(Tenant("two")), Some(Tenant("one")));
        seen_by_handler.insert(Subject("alice".into()));
        seen_by_handler.insert(Arc::new(7u64));
        assert_eq!(ctx.get::<Tenant>(), Some(Tenant("two")));
        assert_eq!(ctx.get::<Subject>(), Some(Subject("alice".into())));
        assert_eq!(ctx.get::<Arc<u64>>().as_deref(), Some(&7));
        assert_eq!(ctx.remove::<Tenant>(), Some(Tenant("two")));
        assert_eq!(seen_by_handler.get::<Tenant>(), None);
        assert_eq!(ctx.extensions().len(), 2);
        // Another call has its own values.
        let other = Context::client(Kind::Http, "/a.B/C", HeaderMap::new(), Metadata::default());
        assert!(other.extensions().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn the_deadline_only_comes_closer() {
        let ctx = Context::new(Kind::Http, "/a.B/C", HeaderMap::new());
        assert_eq!((ctx.deadline(), ctx.remaining()), (None, None));
        let ctx = ctx.with_timeout(Some(Duration::from_secs(2)));
        assert_eq!(ctx.remaining(), Some(Duration::from_secs(2)));
        // A later, looser bound does not push it back; a tighter one wins.
        ctx.limit_deadline(Instant::now() + Duration::from_secs(5));
        assert_eq!(ctx.remaining(), Some(Duration::from_secs(2)));
        let ctx = ctx.with_timeout(Some(Duration::from_millis(300)));
        assert_eq!(ctx.remaining(), Some(Duration::from_millis(300)));
        let ctx = ctx.with_timeout(None);
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(ctx.remaining(), Some(Duration::ZERO));
    }
}
