//! Serving tonic's routes on our own connections ([`crate::transport::conn`]), so the gRPC
//! server has the HTTP server's connection limits and stop. What tonic's own server adds per
//! call is done here too: the connection's addresses as [`TcpConnectInfo`] (so
//! `request.remote_addr()` works) and the client's `grpc-timeout`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use tokio::time::Instant;
use tonic::service::Routes;
use tonic::transport::server::TcpConnectInfo;
use tower_service::Service as _;

use crate::middleware::BoxFuture;

/// The gRPC routes, as one connection's hyper service.
#[derive(Clone)]
pub(super) struct GrpcService {
    routes: Routes,
    info: TcpConnectInfo,
    timeout: Option<Duration>,
}

impl GrpcService {
    pub(super) fn new(
        routes: Routes,
        peer: SocketAddr,
        local: Option<SocketAddr>,
        timeout: Option<Duration>,
    ) -> Self {
        GrpcService {
            routes,
            info: TcpConnectInfo {
                local_addr: local,
                remote_addr: Some(peer),
            },
            timeout,
        }
    }
}

/// What bounds a call, measured from its arrival: put in the request's extensions for the
/// adapters ([`super::unary`] and the streaming ones), which build the call's [`Context`]
/// deadline from it and apply the server's timeout to unary calls.
///
/// [`Context`]: crate::Context
#[derive(Debug, Clone, Copy)]
pub(super) struct CallBounds {
    /// When the call arrived.
    pub(super) arrived: Instant,
    /// The client's `grpc-timeout` (enforced here for every kind of call).
    pub(super) grpc_timeout: Option<Duration>,
    /// The server's per-call timeout (applied to unary calls by the adapter).
    pub(super) server_timeout: Option<Duration>,
}

impl hyper::service::Service<Request<Incoming>> for GrpcService {
    type Response = Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Response<tonic::body::Body>, Infallible>>;

    fn call(&self, mut request: Request<Incoming>) -> Self::Future {
        request.extensions_mut().insert(self.info.clone());
        let timeout = grpc_timeout(request.headers());
        request.extensions_mut().insert(CallBounds {
            arrived: Instant::now(),
            grpc_timeout: timeout,
            server_timeout: self.timeout,
        });
        // Routes are always ready (an axum router).
        let call = self.routes.clone().call(request);
        Box::pin(async move {
            match timeout {
                None => call.await,
                Some(timeout) => match tokio::time::timeout(timeout, call).await {
                    Ok(answered) => answered,
                    Err(_) => Ok(tonic::Status::deadline_exceeded(format!(
                        "the call's grpc-timeout of {timeout:?} expired"
                    ))
                    .into_http()),
                },
            }
        })
    }
}

/// The call's `grpc-timeout` (gRPC over HTTP/2: at most 8 digits and a unit, `H` hours, `M`
/// minutes, `S` seconds, `m` milliseconds, `u` microseconds, `n` nanoseconds). A malformed
/// value is ignored, as by tonic's server.
pub(super) fn grpc_timeout(headers: &http::HeaderMap) -> Option<Duration> {
    let value = headers.get("grpc-timeout")?.as_bytes();
    let (&unit, digits) = value.split_last()?;
    if digits.is_empty() || digits.len() > 8 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = digits
        .iter()
        .fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
    Some(match unit {
        b'H' => Duration::from_secs(n * 3600),
        b'M' => Duration::from_secs(n * 60),
        b'S' => Duration::from_secs(n),
        b'm' => Duration::from_millis(n),
        b'u' => Duration::from_micros(n),
        b'n' => Duration::from_nanos(n),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn parse(value: &str) -> Option<Duration> {
        let mut headers = http::HeaderMap::new();
        headers.insert("grpc-timeout", value.parse().unwrap());
        grpc_timeout(&headers)
    }

    #[test]
    fn grpc_timeout_units_and_malformed_values() {
        assert_eq!(parse("2H"), Some(Duration::from_secs(7200)));
        assert_eq!(parse("3M"), Some(Duration::from_secs(180)));
        assert_eq!(parse("1S"), Some(Duration::from_secs(1)));
        assert_eq!(parse("250m"), Some(Duration::from_millis(250)));
        assert_eq!(parse("99999999u"), Some(Duration::from_micros(99_999_999)));
        assert_eq!(parse("7n"), Some(Duration::from_nanos(7)));
        // Nine digits, no digits, no unit, an unknown unit, a sign.
        for bad in ["123456789m", "m", "100", "10x", "-1S", "1.5S", ""] {
            assert_eq!(parse(bad), None, "{bad}");
        }
        assert_eq!(grpc_timeout(&http::HeaderMap::new()), None);
    }
}
