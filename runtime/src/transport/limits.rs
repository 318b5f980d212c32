//! Connection limits shared by the HTTP and gRPC servers.
//!
//! Every limit has a stated default ([`ConnectionLimits::default`]); a server builder takes the
//! whole group (`ServerBuilder::limits`), so a configuration file can fill one
//! [`ConnectionLimits`] and hand it over.

use std::time::Duration;

/// The limits a server puts on each connection, and on how many it keeps.
///
/// Build one from [`ConnectionLimits::default`] and change what differs:
///
/// ```
/// use std::time::Duration;
/// let limits = kratos::transport::ConnectionLimits {
///     header_read_timeout: Some(Duration::from_secs(5)),
///     ..Default::default()
/// };
/// let server = kratos::http::Server::builder().limits(limits).build();
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// How long a client has to send a complete request head: from the moment the connection
    /// is accepted for its first request, and from its first byte for a later HTTP/1 request.
    /// For HTTP/2 the head is the connection preface. A client that has not finished in time
    /// is disconnected. Default 10 s; `None` waits forever.
    pub header_read_timeout: Option<Duration>,
    /// How long an HTTP request body may take to arrive, from the moment its head was read.
    /// A body still incomplete then is answered 408 with a Kratos error body. HTTP server
    /// only (gRPC streams are long-lived by design). Default 30 s; `None` waits forever.
    pub body_read_timeout: Option<Duration>,
    /// How long a connection may stay idle (no request in flight, no new request started)
    /// before it is closed (HTTP/2 with a GOAWAY). Default 60 s; `None` keeps it open.
    pub idle_timeout: Option<Duration>,
    /// The largest request head (HTTP/1: request line and headers, at least 8 KiB; HTTP/2:
    /// the decoded header list). Larger is answered 431 (HTTP/1) or refused (HTTP/2).
    /// Default 64 KiB.
    pub max_header_bytes: usize,
    /// The most headers an HTTP/1 request may have; more is answered 431. (HTTP/2 header lists
    /// are bounded by `max_header_bytes`, each header counting 32 bytes more than its text.)
    /// Default 100.
    pub max_headers: usize,
    /// The most connections served at once. Further clients wait in the listen backlog until
    /// a connection closes. Default 10,000; `None` for no limit (the file-descriptor limit
    /// then applies, see the accept backoff).
    pub max_connections: Option<usize>,
    /// The most concurrent HTTP/2 streams (calls) per connection, announced to the client
    /// (`SETTINGS_MAX_CONCURRENT_STREAMS`); a client opening more gets them refused.
    /// Default 200.
    pub max_concurrent_streams: u32,
    /// Interval of the HTTP/2 keep-alive pings the server sends to find dead peers.
    /// Default 60 s; `None` sends none.
    pub keepalive_interval: Option<Duration>,
    /// How long the server waits for a keep-alive ping's answer before closing the
    /// connection. Default 20 s.
    pub keepalive_timeout: Duration,
}

/// [`ConnectionLimits::header_read_timeout`]'s default.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// [`ConnectionLimits::body_read_timeout`]'s default.
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// [`ConnectionLimits::idle_timeout`]'s default.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// [`ConnectionLimits::max_header_bytes`]'s default.
pub const DEFAULT_MAX_HEADER_BYTES: usize = 64 * 1024;
/// [`ConnectionLimits::max_headers`]'s default (hyper's own, which keeps headers on the stack).
pub const DEFAULT_MAX_HEADERS: usize = 100;
/// [`ConnectionLimits::max_connections`]'s default.
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
/// [`ConnectionLimits::max_concurrent_streams`]'s default.
pub const DEFAULT_MAX_CONCURRENT_STREAMS: u32 = 200;
/// [`ConnectionLimits::keepalive_interval`]'s default.
pub const DEFAULT_KEEPALIVE_INTERVAL: Duration = Duration::from_secs(60);
/// [`ConnectionLimits::keepalive_timeout`]'s default.
pub const DEFAULT_KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(20);

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_read_timeout: Some(DEFAULT_HEADER_READ_TIMEOUT),
            body_read_timeout: Some(DEFAULT_BODY_READ_TIMEOUT),
            idle_timeout: Some(DEFAULT_IDLE_TIMEOUT),
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            max_headers: DEFAULT_MAX_HEADERS,
            max_connections: Some(DEFAULT_MAX_CONNECTIONS),
            max_concurrent_streams: DEFAULT_MAX_CONCURRENT_STREAMS,
            keepalive_interval: Some(DEFAULT_KEEPALIVE_INTERVAL),
            keepalive_timeout: DEFAULT_KEEPALIVE_TIMEOUT,
        }
    }
}

/// hyper's smallest allowed HTTP/1 read buffer.
const MIN_H1_BUFFER: usize = 8 * 1024;

impl ConnectionLimits {
    /// A hyper connection builder applying these limits (HTTP/1 and HTTP/2, or HTTP/2 only).
    /// The header read, body and idle timeouts are not hyper's: the connection watchdog
    /// ([`super::conn`]) applies them, to both protocols alike.
    pub(crate) fn builder(
        &self,
        http2_only: bool,
    ) -> hyper_util::server::conn::auto::Builder<hyper_util::rt::TokioExecutor> {
        use hyper_util::rt::{TokioExecutor, TokioTimer};
        let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
        if http2_only {
            builder = builder.http2_only();
        }
        {
            let mut h1 = builder.http1();
            // hyper's own header timer would restart whenever a keep-alive connection goes
            // idle, merging the idle and header timeouts: ours keeps them apart.
            h1.header_read_timeout(None);
            // hyper-util's HTTP/1 builder has no separate head limit: the read buffer is one,
            // since hyper answers 431 to a head that does not fit in it.
            h1.max_buf_size(self.max_header_bytes.max(MIN_H1_BUFFER));
            // hyper keeps up to 100 headers on the stack; any other count moves them to the
            // heap for every request, so only a different limit is passed on.
            if self.max_headers != DEFAULT_MAX_HEADERS {
                h1.max_headers(self.max_headers);
            }
        }
        {
            let mut h2 = builder.http2();
            h2.timer(TokioTimer::new());
            h2.max_concurrent_streams(self.max_concurrent_streams);
            h2.max_header_list_size(u32::try_from(self.max_header_bytes).unwrap_or(u32::MAX));
            h2.keep_alive_interval(self.keepalive_interval);
            h2.keep_alive_timeout(self.keepalive_timeout);
        }
        builder
    }
}
