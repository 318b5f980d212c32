//! Bodies: the server's response body type (whole, or a stream of Server-Sent Events), and
//! reading a request body within its limits.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};

use crate::errors::Error;

/// A streaming response body (Server-Sent Events).
pub(crate) type StreamingBody = http_body_util::StreamBody<
    std::pin::Pin<
        Box<
            dyn tokio_stream::Stream<
                    Item = Result<http_body::Frame<Bytes>, std::convert::Infallible>,
                > + Send,
        >,
    >,
>;

/// The response body type of the HTTP server: a whole body, or a stream.
pub(crate) type Body = http_body_util::Either<Full<Bytes>, StreamingBody>;

/// A whole body.
pub(crate) fn full(bytes: impl Into<Bytes>) -> Body {
    http_body_util::Either::Left(Full::new(bytes.into()))
}

/// The limits on reading a request body.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyLimits {
    /// The most bytes accepted (more is a 413).
    pub(crate) max_bytes: usize,
    /// How long the whole body may take to arrive once the handler starts reading it, which
    /// is as soon as the request head is routed (longer is a 408).
    pub(crate) timeout: Option<std::time::Duration>,
}

/// Reads the whole body, refusing more than `limits.max_bytes` bytes (413) and a body that
/// has not arrived whole within `limits.timeout` (408: a client trickling its body cannot hold
/// the connection).
pub(crate) async fn read_body(
    body: super::request_body::Body,
    limits: BodyLimits,
) -> Result<Bytes, Error> {
    let limit = limits.max_bytes;
    let collect = Limited::new(body, limit).collect();
    let collected = match limits.timeout {
        None => collect.await,
        Some(timeout) => match tokio::time::timeout(timeout, collect).await {
            Ok(collected) => collected,
            Err(_) => {
                return Err(Error::new(
                    408,
                    BODY_TIMEOUT_REASON,
                    format!("request body not received within {timeout:?}"),
                ));
            }
        },
    };
    match collected {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) => {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                Err(Error::new(
                    413,
                    "BODY_TOO_LARGE",
                    format!("request body is larger than {limit} bytes"),
                ))
            } else {
                Err(Error::new(
                    400,
                    crate::codec::CODEC_REASON,
                    format!("read body: {e}"),
                ))
            }
        }
    }
}

/// The reason of the 408 answered to a body that did not arrive within the body read timeout.
pub const BODY_TIMEOUT_REASON: &str = "BODY_TIMEOUT";
