//! What a handler and its middleware know about the call being served.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use http::HeaderMap;

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
    operation: &'static str,
    path_template: Option<&'static str>,
    request_headers: HeaderMap,
    reply_headers: Mutex<HeaderMap>,
}

impl Context {
    /// A context for a call of `operation` over `kind`, with the request's headers.
    pub fn new(kind: Kind, operation: &'static str, request_headers: HeaderMap) -> Self {
        Context {
            inner: Arc::new(Inner {
                kind,
                operation,
                path_template: None,
                request_headers,
                reply_headers: Mutex::new(HeaderMap::new()),
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
                operation,
                path_template: Some(path_template),
                request_headers,
                reply_headers: Mutex::new(HeaderMap::new()),
            }),
        }
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
        // A panic while the lock was held leaves a map that is still valid to use.
        self.inner
            .reply_headers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes the reply headers out (done by the transport once the handler has finished).
    pub(crate) fn take_reply_headers(&self) -> HeaderMap {
        std::mem::take(&mut *self.reply_headers())
    }
}
