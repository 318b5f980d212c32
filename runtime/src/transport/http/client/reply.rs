//! What a client call sends and receives: the request body, the reply, and the error a non-2xx
//! reply becomes.

use bytes::Bytes;
use http::{HeaderValue, header};
use http_body_util::BodyExt;
use hyper::body::Incoming;

use crate::codec::Codec;
use crate::errors::Error;

/// A request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestBody {
    /// A message encoded with the client's codec ([`Client::encode`](super::Client::encode)).
    Encoded(Vec<u8>),
    /// Bytes with their own media type (a `google.api.HttpBody`), sent as they are;
    /// `application/octet-stream` when `content_type` is empty.
    Raw {
        /// The `Content-Type` to send.
        content_type: String,
        /// The body.
        data: Vec<u8>,
    },
}

/// A successful reply of [`Client::send_body`](super::Client::send_body).
#[derive(Debug, Clone)]
pub struct Reply {
    /// The codec of the reply's `Content-Type` (JSON when it names none).
    pub codec: Codec,
    /// The reply's `Content-Type`, as sent.
    pub content_type: Option<HeaderValue>,
    /// The reply body.
    pub body: Bytes,
}

impl Reply {
    /// The reply's `Content-Type` as text (empty when there is none): the `content_type` of a
    /// `google.api.HttpBody` reply.
    pub fn media_type(&self) -> String {
        self.content_type
            .as_ref()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default()
    }
}

/// The codec of a reply, from its Content-Type (JSON when there is none or it is unknown).
pub(super) fn reply_codec(headers: &http::HeaderMap) -> Codec {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| Codec::from_subtype(crate::codec::content_subtype(v)))
        .unwrap_or(Codec::Json)
}

pub(super) async fn read_body(body: Incoming) -> Result<Bytes, Error> {
    Ok(body
        .collect()
        .await
        .map_err(|e| Error::new(503, "UNAVAILABLE", format!("reading the reply: {e}")))?
        .to_bytes())
}

/// The error of a non-2xx reply, as Kratos' error decoder makes it: the code is the HTTP
/// status; reason, message and metadata come from the body when it is an error body.
pub(super) fn error_reply(status: http::StatusCode, codec: Codec, bytes: &[u8]) -> Error {
    let code = i32::from(status.as_u16());
    match codec.decode_error(bytes) {
        Some(e) => Error::new(code, e.reason(), e.message()).with_metadata(e.metadata().clone()),
        None => Error::new(code, "", String::from_utf8_lossy(bytes).into_owned()),
    }
}
