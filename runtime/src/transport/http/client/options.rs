//! Per-call options of the HTTP client: extra headers, a timeout, and where the reply's headers
//! go (Kratos' `http.Header` call option and a context timeout).

use std::sync::Arc;
use std::time::Duration;

use http::HeaderValue;

#[cfg(doc)]
use super::Client;
#[cfg(doc)]
use crate::context::Context;

/// Options of the calls made through one client handle ([`Client::with_options`], and
/// `with_options` on every generated `<Service>HttpClient`): extra request headers, a timeout
/// and where to leave the reply's headers, as Kratos' `http.Header` call option and a context
/// timeout give a Go call.
///
/// ```
/// use std::time::Duration;
/// use kratos::http::CallOptions;
///
/// let options = CallOptions::new()
///     .header("x-tenant", "acme")
///     .header("authorization", "Bearer t0k3n")
///     .timeout(Duration::from_millis(300));
/// # let _ = options;
/// ```
#[derive(Debug, Clone, Default)]
pub struct CallOptions {
    pub(super) headers: http::HeaderMap,
    pub(super) timeout: Option<Duration>,
    pub(super) reply_headers: Option<ReplyHeaders>,
    /// The first header that did not parse: every call made with these options fails with
    /// it, as a request builder reports its errors when it sends.
    pub(super) invalid: Option<String>,
}

/// The headers of the last successful reply of calls made with
/// [`CallOptions::reply_headers`]. Cheap to clone; clones share the headers.
///
/// ```no_run
/// # async fn demo(client: kratos::http::Client) -> Result<(), kratos::errors::Error> {
/// use kratos::http::{CallOptions, ReplyHeaders};
///
/// let reply_headers = ReplyHeaders::new();
/// let call = client.with_options(CallOptions::new().reply_headers(&reply_headers));
/// call.send(http::Method::GET, "/helloworld/kratos", None).await?;
/// let served_by = reply_headers.get().get("x-served-by").cloned();
/// # let _ = served_by;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct ReplyHeaders(Arc<std::sync::Mutex<http::HeaderMap>>);

impl ReplyHeaders {
    /// Empty until a call succeeds.
    pub fn new() -> Self {
        ReplyHeaders::default()
    }

    /// The headers of the last successful reply (a copy).
    pub fn get(&self) -> http::HeaderMap {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub(super) fn set(&self, headers: &http::HeaderMap) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = headers.clone();
    }
}

impl CallOptions {
    /// No extra headers, the client's timeout.
    pub fn new() -> Self {
        CallOptions::default()
    }

    /// Adds a request header (another value for a name already added is sent too). It
    /// replaces a header of the same name the client sets itself (`User-Agent`, `Accept`),
    /// except the body's `Content-Type`; client middleware see it in
    /// [`Context::outgoing_headers`] and may change it. A name or value that is not a valid
    /// header makes every call with these options fail with 400 `CLIENT`, before anything is
    /// sent.
    pub fn header<K, V>(mut self, name: K, value: V) -> Self
    where
        K: TryInto<http::HeaderName>,
        K::Error: std::fmt::Display,
        V: TryInto<HeaderValue>,
        V::Error: std::fmt::Display,
    {
        if self.invalid.is_some() {
            return self;
        }
        match (name.try_into(), value.try_into()) {
            (Ok(name), Ok(value)) => {
                self.headers.append(name, value);
            }
            (Err(e), _) => self.invalid = Some(format!("invalid header name: {e}")),
            (_, Err(e)) => self.invalid = Some(format!("invalid header value: {e}")),
        }
        self
    }

    /// Adds every header of `headers` (see [`CallOptions::header`]).
    pub fn headers(mut self, headers: http::HeaderMap) -> Self {
        let mut last = None;
        for (name, value) in headers {
            if let Some(name) = name {
                last = Some(name);
            }
            if let Some(name) = &last {
                self.headers.append(name.clone(), value);
            }
        }
        self
    }

    /// Where each successful call leaves its reply's headers (Kratos' `http.Header(&h)`, which
    /// gives a Go call the reply's headers the same way). A failed call leaves them as they
    /// were.
    pub fn reply_headers(mut self, slot: &ReplyHeaders) -> Self {
        self.reply_headers = Some(slot.clone());
        self
    }

    /// The timeout of each call, instead of the client's (shorter or longer): a call with no
    /// reply by then fails with 504 `TIMEOUT`, and its [`Context::deadline`] is this far
    /// away for client middleware.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}
