//! Serving the gRPC services ([`super::routes`]) on our own connections
//! ([`crate::transport::conn`]), so the gRPC server has the HTTP server's connection limits and
//! stop. What tonic's own server adds per call is done here too: the connection's addresses as
//! [`TcpConnectInfo`] (so `request.remote_addr()` works) and the client's `grpc-timeout`.
//!
//! Before a call reaches its service, its head is checked as the gRPC over HTTP/2
//! specification and grpc-go's server check it, each failure ending the call (never the
//! connection) with a trailers-only answer:
//!
//! - `content-type` must be `application/grpc`, alone or followed by `+subtype` or `;params`;
//!   anything else (none, `application/json`, `application/grpc-web`) is answered HTTP 415
//!   with `grpc-status` 3 (`INVALID_ARGUMENT`), `invalid gRPC request content-type "..."`;
//! - `grpc-timeout`, when present, must be 1 to 8 ASCII digits and a unit (`H M S m u n`);
//!   anything else is answered HTTP 400 with `grpc-status` 13 (`INTERNAL`),
//!   `malformed grpc-timeout: ...`. (tonic's own server ignores such a value.)
//!
//! Metadata over [`crate::transport::ConnectionLimits::max_header_bytes`] never reaches here:
//! the HTTP/2 layer (h2) answers that stream 431 and resets it, and the connection carries on,
//! as grpc-go resets only the stream. h2 ends the whole connection only for header blocks it
//! cannot skip: a single header field larger than the limit spread over several frames, more
//! frames than the limit needs, or a list many times the limit.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use tokio::time::Instant;
use tonic::body::Body;
use tonic::transport::server::TcpConnectInfo;

use super::routes::Routes;
use crate::middleware::BoxFuture;

/// The gRPC routes, as one connection's hyper service.
#[derive(Clone)]
pub(super) struct CallService {
    routes: Services,
    info: TcpConnectInfo,
    timeout: Option<Duration>,
}

/// What serves a call once it passed the checks: tonic's routes, or the layers around them.
#[derive(Clone)]
pub(super) enum Services {
    /// No layers: the routes themselves.
    Routes(Routes),
    /// The layered stack (see [`super::layers`]).
    Layered(super::layers::GrpcService),
}

impl CallService {
    pub(super) fn new(
        routes: Services,
        peer: SocketAddr,
        local: Option<SocketAddr>,
        timeout: Option<Duration>,
    ) -> Self {
        CallService {
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

impl hyper::service::Service<Request<Incoming>> for CallService {
    type Response = Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response<tonic::body::Body>, Infallible>>;

    fn call(&self, mut request: Request<Incoming>) -> Self::Future {
        if let Some(refused) = check_content_type(request.headers()) {
            return Box::pin(std::future::ready(Ok(refused)));
        }
        let timeout = match grpc_timeout(request.headers()) {
            Ok(timeout) => timeout,
            Err(reason) => {
                let status = tonic::Status::internal(format!("malformed grpc-timeout: {reason}"));
                let refused = trailers_only(status, http::StatusCode::BAD_REQUEST);
                return Box::pin(std::future::ready(Ok(refused)));
            }
        };
        request.extensions_mut().insert(self.info.clone());
        request.extensions_mut().insert(CallBounds {
            arrived: Instant::now(),
            grpc_timeout: timeout,
            server_timeout: self.timeout,
        });
        let routes = self.routes.clone();
        let call = async move {
            match routes {
                Services::Routes(routes) => Ok(routes.answer(request.map(Body::new)).await),
                Services::Layered(stack) => {
                    super::layers::call(stack, request.map(Body::new)).await
                }
            }
        };
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

/// The answer to a request whose `content-type` is not gRPC's (see the module documentation),
/// `None` for a gRPC one.
fn check_content_type(headers: &http::HeaderMap) -> Option<Response<tonic::body::Body>> {
    const GRPC: &[u8] = b"application/grpc";
    let value = headers
        .get(http::header::CONTENT_TYPE)
        .map_or(&b""[..], |v| v.as_bytes());
    let grpc = match value.strip_prefix(GRPC) {
        Some(rest) => matches!(rest.first(), None | Some(b'+' | b';')),
        None => false,
    };
    if grpc {
        return None;
    }
    let status = tonic::Status::invalid_argument(format!(
        "invalid gRPC request content-type {:?}",
        String::from_utf8_lossy(value)
    ));
    Some(trailers_only(
        status,
        http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
    ))
}

/// A trailers-only gRPC answer carrying `status`, with the HTTP status `http_status`.
fn trailers_only(
    status: tonic::Status,
    http_status: http::StatusCode,
) -> Response<tonic::body::Body> {
    let mut response = status.into_http::<tonic::body::Body>();
    *response.status_mut() = http_status;
    response
}

/// The call's `grpc-timeout` (gRPC over HTTP/2: 1 to 8 ASCII digits and a unit, `H` hours,
/// `M` minutes, `S` seconds, `m` milliseconds, `u` microseconds, `n` nanoseconds): `None`
/// without one, why it is malformed otherwise.
pub(super) fn grpc_timeout(headers: &http::HeaderMap) -> Result<Option<Duration>, String> {
    let Some(value) = headers.get("grpc-timeout") else {
        return Ok(None);
    };
    let bytes = value.as_bytes();
    let malformed = || {
        format!(
            "{:?} is not 1 to 8 ASCII digits followed by a unit (H, M, S, m, u, n)",
            String::from_utf8_lossy(bytes)
        )
    };
    let Some((&unit, digits)) = bytes.split_last() else {
        return Err(malformed());
    };
    if digits.is_empty() || digits.len() > 8 {
        return Err(malformed());
    }
    // At most 8 digits: below 10^8, no overflow in any unit.
    let mut n: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return Err(malformed());
        }
        n = n * 10 + u64::from(d - b'0');
    }
    Ok(Some(match unit {
        b'H' => Duration::from_secs(n * 3600),
        b'M' => Duration::from_secs(n * 60),
        b'S' => Duration::from_secs(n),
        b'm' => Duration::from_millis(n),
        b'u' => Duration::from_micros(n),
        b'n' => Duration::from_nanos(n),
        _ => return Err(malformed()),
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn parse(value: &str) -> Result<Option<Duration>, String> {
        let mut headers = http::HeaderMap::new();
        let value = http::HeaderValue::from_bytes(value.as_bytes()).unwrap();
        headers.insert("grpc-timeout", value);
        grpc_timeout(&headers)
    }

    #[test]
    fn grpc_timeout_units_and_malformed_values() {
        for (text, want) in [
            ("2H", Duration::from_secs(7200)),
            ("3M", Duration::from_secs(180)),
            ("1S", Duration::from_secs(1)),
            ("250m", Duration::from_millis(250)),
            ("99999999u", Duration::from_micros(99_999_999)),
            ("99999999H", Duration::from_secs(99_999_999 * 3600)),
            ("7n", Duration::from_nanos(7)),
            ("0m", Duration::ZERO),
            ("00000001S", Duration::from_secs(1)),
        ] {
            assert_eq!(parse(text), Ok(Some(want)), "{text}");
        }
        // Nine digits, no digits, no unit, an unknown unit, a sign, a point, spaces, a
        // lowercase hour, a digit that is not ASCII.
        for bad in [
            "123456789m",
            "m",
            "100",
            "10x",
            "-1S",
            "+1S",
            "1.5S",
            "",
            " 1S",
            "1 S",
            "1h",
            "1s",
            "1M ",
            "1\u{ff10}S",
            "1\u{b2}S",
        ] {
            let err = parse(bad).unwrap_err();
            assert!(err.contains("is not 1 to 8 ASCII digits"), "{bad:?}: {err}");
        }
        assert_eq!(grpc_timeout(&http::HeaderMap::new()), Ok(None));
    }

    #[test]
    fn only_grpc_content_types_pass() {
        let refused = |value: Option<&str>| {
            let mut headers = http::HeaderMap::new();
            if let Some(v) = value {
                headers.insert(http::header::CONTENT_TYPE, v.parse().unwrap());
            }
            check_content_type(&headers).map(|r| {
                let grpc_status = r.headers()["grpc-status"].to_str().unwrap().to_string();
                (r.status().as_u16(), grpc_status)
            })
        };
        for ok in [
            "application/grpc",
            "application/grpc+proto",
            "application/grpc+json",
            "application/grpc;charset=utf-8",
        ] {
            assert_eq!(refused(Some(ok)), None, "{ok}");
        }
        for bad in [
            None,
            Some(""),
            Some("application/json"),
            Some("application/grpc-web"),
            Some("application/grpcx"),
            Some("Application/gRPC"),
            Some("text/plain"),
        ] {
            assert_eq!(refused(bad), Some((415, "3".to_string())), "{bad:?}");
        }
    }
}
