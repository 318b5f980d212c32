//! Transports: the HTTP and gRPC servers, and the [`Server`] trait the application drives.

use std::net::SocketAddr;
use std::time::Duration;

mod accept;
mod conn;
mod connect;
pub mod grpc;
pub mod http;
mod limits;

pub use limits::{
    ConnectionLimits, DEFAULT_BODY_READ_TIMEOUT, DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_IDLE_TIMEOUT,
    DEFAULT_KEEPALIVE_INTERVAL, DEFAULT_KEEPALIVE_TIMEOUT, DEFAULT_MAX_CONCURRENT_STREAMS,
    DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_HEADER_BYTES, DEFAULT_MAX_HEADERS,
};

/// A connection a server closed while stopping because it was still open at the stop's
/// deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CutConnection {
    /// `http` or `grpc`.
    pub server: &'static str,
    /// The client's address.
    pub peer: SocketAddr,
    /// The requests (or calls) it still had in flight; 0 for a connection that was only slow
    /// to close.
    pub in_flight: usize,
}

impl std::fmt::Display for CutConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} connection from {} ({} in flight)",
            self.server, self.peer, self.in_flight
        )
    }
}

/// Why a client could not be built.
#[derive(Debug, thiserror::Error)]
#[error("invalid endpoint '{endpoint}': {reason}")]
pub struct ClientError {
    /// The endpoint as given.
    pub endpoint: String,
    /// What is wrong with it.
    pub reason: String,
}

/// A boxed future borrowing its server: [`BoxFuture`](crate::BoxFuture) under the name the
/// [`Server`] trait has always used.
pub type ServerFuture<'a, T> = crate::BoxFuture<'a, T>;

/// Why a server could not start or stop.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The listening address could not be bound.
    #[error("{kind} server: cannot listen on {addr}: {source}")]
    Bind {
        /// `http` or `grpc`.
        kind: &'static str,
        /// The address.
        addr: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The address is not a socket address.
    #[error("{kind} server: invalid address '{addr}': {reason}")]
    Address {
        /// `http` or `grpc`.
        kind: &'static str,
        /// The address as given.
        addr: String,
        /// Why it is invalid.
        reason: String,
    },
    /// The server failed while serving.
    #[error("{kind} server: {reason}")]
    Serve {
        /// `http` or `grpc`.
        kind: &'static str,
        /// What failed.
        reason: String,
    },
    /// The server did not stop within the time it was given, and cannot tell what it cut.
    #[error("{kind} server: did not stop within {grace:?}")]
    StopTimeout {
        /// The server's kind.
        kind: &'static str,
        /// The time it was given.
        grace: Duration,
    },
}

/// A server the application starts and stops (Kratos' `transport.Server`).
pub trait Server: Send + 'static {
    /// `http` or `grpc`.
    fn kind(&self) -> &'static str;

    /// The scheme of the server's registry endpoint: its [`kind`](Server::kind), with an
    /// `s` appended when it serves TLS (`https`, `grpcs`), as Kratos' `endpoint.Scheme`.
    fn scheme(&self) -> &'static str {
        self.kind()
    }

    /// The application's health, given by [`App`](crate::App) to each server before it
    /// starts: a server that reports health and was given none of its own reports this one
    /// (the gRPC server's health service). The default ignores it.
    fn adopt_health(&mut self, health: &crate::health::Health) {
        let _ = health;
    }

    /// Binds the listener and starts serving in the background. Returns the bound address
    /// (with the real port when the configured one was 0).
    fn start(&mut self) -> ServerFuture<'_, Result<SocketAddr, TransportError>>;

    /// Stops accepting connections and waits for the calls in flight to finish (the kratos
    /// servers close idle connections and unfinished request heads at once).
    fn stop(&mut self) -> ServerFuture<'_, Result<(), TransportError>>;

    /// Stops like [`stop`](Server::stop), but waits at most `grace`: the connections still
    /// open then are closed, and returned. [`App`](crate::App) stops its servers this way.
    /// The default waits for `stop` and fails with [`TransportError::StopTimeout`] when it
    /// takes longer.
    fn stop_within(
        &mut self,
        grace: Duration,
    ) -> ServerFuture<'_, Result<Vec<CutConnection>, TransportError>> {
        let kind = self.kind();
        Box::pin(async move {
            match tokio::time::timeout(grace, self.stop()).await {
                Ok(stopped) => stopped.map(|()| Vec::new()),
                Err(_) => Err(TransportError::StopTimeout { kind, grace }),
            }
        })
    }

    /// Resolves, with the reason, when the server fails while serving (after a successful
    /// [`start`](Server::start)). [`App`](crate::App) stops (deregistering first) when one of
    /// its servers fails. The default never resolves (the server never reports a failure).
    fn failure(&mut self) -> ServerFuture<'_, TransportError> {
        Box::pin(std::future::pending())
    }
}

/// Parses a listening address such as `0.0.0.0:8000` or `:8000` (Kratos' form: all interfaces).
pub(crate) fn parse_addr(kind: &'static str, addr: &str) -> Result<SocketAddr, TransportError> {
    let full = if addr.starts_with(':') {
        format!("0.0.0.0{addr}")
    } else {
        addr.to_string()
    };
    full.parse()
        .map_err(|e: std::net::AddrParseError| TransportError::Address {
            kind,
            addr: addr.to_string(),
            reason: e.to_string(),
        })
}

/// The listener of a server: the one it was given, else a new one bound to `address`.
pub(crate) async fn listen(
    kind: &'static str,
    address: &str,
    given: Option<std::net::TcpListener>,
) -> Result<tokio::net::TcpListener, TransportError> {
    let bind_error = |addr: String, source| TransportError::Bind { kind, addr, source };
    if let Some(std_listener) = given {
        let addr = std_listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        std_listener
            .set_nonblocking(true)
            .map_err(|e| bind_error(addr.clone(), e))?;
        return tokio::net::TcpListener::from_std(std_listener).map_err(|e| bind_error(addr, e));
    }
    let addr = parse_addr(kind, address)?;
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| bind_error(address.to_string(), e))
}
