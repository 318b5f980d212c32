//! What a handler and its middleware know about the call being served.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use http::HeaderMap;

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
/// send back. Cheap to clone (one shared allocation per call).
///
/// The operation is `/package.Service/Method` on both transports, so one middleware selector
/// covers a method whichever way it is called.
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

impl Context {
    /// A context for a call of `operation` over `kind`, with the request's headers.
    pub fn new(kind: Kind, operation: &'static str, request_headers: HeaderMap) -> Self {
        Context {
            inner: Arc::new(Inner {
                kind,
                side: Side::Server,
                metadata: Mutex::default(),
                outgoing_headers: Mutex::default(),
                operation,
                path_template: None,
                request_headers,
                reply_headers: Mutex::new(HeaderMap::new()),
                request: RequestInfo::default(),
            }),
        }
    }

    /// A context for an HTTP call that matched the route `path_template`.
    pub fn http(
        operation: &'static str,
        path_template: &'static str,
        request_headers: HeaderMap,
    ) -> Self {
        Context {
            inner: Arc::new(Inner {
                kind: Kind::Http,
                side: Side::Server,
                metadata: Mutex::default(),
                outgoing_headers: Mutex::default(),
                operation,
                path_template: Some(path_template),
                request_headers,
                reply_headers: Mutex::new(HeaderMap::new()),
                request: RequestInfo::default(),
            }),
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
            inner: Arc::new(Inner {
                kind,
                side: Side::Client,
                metadata: Mutex::new(metadata),
                outgoing_headers: Mutex::new(headers),
                operation,
                path_template: None,
                request_headers: HeaderMap::new(),
                reply_headers: Mutex::new(HeaderMap::new()),
                request: RequestInfo::default(),
            }),
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
}

/// Locks `m`; a panic while the lock was held leaves a map that is still valid to use.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
