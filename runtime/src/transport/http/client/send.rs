//! Sending a request: the innermost handler of a client chain, which writes the request the
//! middleware left and reads the reply head.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Method, header};
use http_body_util::Full;
use hyper::body::Incoming;

use super::reply::{error_reply, read_body, reply_codec};
use super::{ChainedReply, ClientRequest, Target, Transport, chain_error, timeout_error};
use crate::context::Context;
use crate::errors::Error;
use crate::middleware::{Handler, Message};

impl Transport {
    /// The innermost handler of a client chain: sends the [`ClientRequest`] with the headers
    /// the middleware left in [`Context::outgoing_headers`].
    pub(super) fn into_handler(self) -> Handler {
        let transport = Arc::new(self);
        Handler::new(move |ctx: Context, request: Message| {
            let transport = transport.clone();
            async move {
                let request = request
                    .downcast::<ClientRequest>()
                    .map_err(|other| chain_error("request", &other))?;
                let headers = std::mem::take(&mut *ctx.outgoing_headers());
                let round_trip = transport.round_trip(
                    request.method,
                    &request.path_and_query,
                    request.body,
                    request.accept,
                    headers,
                );
                let response = tokio::time::timeout_at(request.deadline, round_trip)
                    .await
                    .unwrap_or_else(|_| Err(timeout_error(request.timeout)))?;
                Ok(Message::new(ChainedReply(std::sync::Mutex::new(Some(
                    response,
                )))))
            }
        })
    }

    /// Sends the request and waits for the reply's head; a non-2xx reply is read and becomes
    /// its [`Error`].
    pub(super) async fn round_trip(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<(HeaderValue, Vec<u8>)>,
        accept: HeaderValue,
        extra_headers: http::HeaderMap,
    ) -> Result<http::Response<Incoming>, Error> {
        let response = self
            .exchange(method, path_and_query, body, accept, extra_headers)
            .await?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let codec = reply_codec(response.headers());
        let bytes = read_body(response.into_body()).await?;
        Err(error_reply(status, codec, &bytes))
    }
    /// Sends the request and waits for the reply's head.
    async fn exchange(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<(HeaderValue, Vec<u8>)>,
        accept: HeaderValue,
        extra_headers: http::HeaderMap,
    ) -> Result<http::Response<Incoming>, Error> {
        let (uri, picked) = match &self.target {
            Target::Direct(base) => (format!("{base}{path_and_query}"), None),
            Target::Discovery(resolved, filters) => {
                // As Kratos' client: a failed selection is 503 NODE_NOT_FOUND.
                let node = resolved
                    .selector()
                    .select(filters)
                    .map_err(|e| Error::new(503, "NODE_NOT_FOUND", e.to_string()))?;
                let uri = format!("{}://{}{path_and_query}", self.scheme, node.address);
                (uri, Some(node))
            }
        };
        let mut request = http::Request::builder()
            .method(method)
            .uri(uri)
            .header(header::ACCEPT, accept);
        if let Some(ua) = &self.user_agent {
            request = request.header(header::USER_AGENT, ua.clone());
        }
        // The extra headers (call options, middleware) replace the client's own of the same
        // name, except the body's Content-Type, which must say how the body is encoded.
        if let Some(headers) = request.headers_mut() {
            headers.extend(extra_headers);
        }
        let data = match body {
            Some((content_type, data)) => {
                if let Some(headers) = request.headers_mut() {
                    headers.insert(header::CONTENT_TYPE, content_type);
                }
                data
            }
            None => Vec::new(),
        };
        let request = request
            .body(Full::new(Bytes::from(data)))
            .map_err(|e| Error::new(400, "CLIENT", format!("invalid request: {e}")))?;
        let result = self.inner.request(request).await.map_err(|e| {
            Error::new(
                503,
                "UNAVAILABLE",
                format!("request failed: {}", error_chain(&e)),
            )
            .with_cause(e)
        });
        // The selector learns the outcome when the reply head arrives: a transport error,
        // 503 or 504 is a failure (as Kratos' p2c); a call dropped before (a timeout) too.
        if let Some(picked) = picked {
            let failed = match &result {
                Ok(response) => matches!(response.status().as_u16(), 503 | 504),
                Err(_) => true,
            };
            picked.done(!failed);
        }
        result
    }
}

/// An error and its sources, `outer: inner: …` (hyper's client errors say what failed only in
/// their sources, such as a refused certificate).
pub(super) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
