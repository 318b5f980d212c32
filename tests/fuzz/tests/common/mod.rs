//! The oracle service (`examples/oracle-server`) on a real HTTP server, and a keep-alive client
//! that sends it raw requests and classifies the replies.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::Frame;
use http_body_util::{BodyExt as _, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use kratos::transport::Server as _;

/// How long one reply may take before it counts as a hang. Generous: debug builds on a busy
/// two-core machine.
pub const REPLY_WITHIN: Duration = Duration::from_secs(20);

/// A raw HTTP request.
#[derive(Debug, Clone)]
pub struct Request {
    /// The method.
    pub method: String,
    /// The path and query, as sent.
    pub target: String,
    /// `Content-Type`, if any.
    pub content_type: Option<String>,
    /// `Accept`, if any.
    pub accept: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

/// A reply: status, `Content-Type` and body.
#[derive(Debug)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// `Content-Type`, if any.
    pub content_type: Option<String>,
    /// The body.
    pub body: Bytes,
}

/// The oracle service on 127.0.0.1, in its own runtime, with a keep-alive client.
pub struct Oracle {
    /// The runtime the server and the client run in.
    pub runtime: tokio::runtime::Runtime,
    /// The server's address.
    pub addr: SocketAddr,
    server: kratos::http::Server,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Oracle {
    /// Starts the server.
    pub fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("runtime: {e}"));
        let (mut server, _grpc) = oracle_server::servers(
            kratos::http::Server::builder().address("127.0.0.1:0"),
            kratos::grpc::Server::builder().address("127.0.0.1:0"),
        )
        .unwrap_or_else(|e| panic!("oracle routes: {e}"));
        let addr = runtime
            .block_on(server.start())
            .unwrap_or_else(|e| panic!("start: {e}"));
        let client = {
            let _guard = runtime.enter();
            Client::builder(TokioExecutor::new()).build_http()
        };
        Oracle {
            runtime,
            addr,
            server,
            client,
        }
    }

    /// Sends a request and reads the whole reply, within [`REPLY_WITHIN`]. `Err` when the
    /// request cannot be built (a test bug), the connection fails or the reply is late.
    pub fn send(&self, request: &Request) -> Result<Reply, String> {
        let mut builder = http::Request::builder()
            .method(request.method.as_str())
            .uri(self.uri(&request.target));
        if let Some(ct) = &request.content_type {
            builder = builder.header(http::header::CONTENT_TYPE, ct.as_str());
        }
        if let Some(accept) = &request.accept {
            builder = builder.header(http::header::ACCEPT, accept.as_str());
        }
        let built = builder
            .body(Full::new(Bytes::from(request.body.clone())))
            .map_err(|e| format!("the test built an invalid request: {e}"))?;
        self.runtime.block_on(async {
            let exchange = async {
                let response = self
                    .client
                    .request(built)
                    .await
                    .map_err(|e| format!("the connection failed: {e:?}"))?;
                let status = response.status().as_u16();
                let content_type = response
                    .headers()
                    .get(http::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                let body = response
                    .into_body()
                    .collect()
                    .await
                    .map_err(|e| format!("the reply body failed: {e:?}"))?
                    .to_bytes();
                Ok(Reply {
                    status,
                    content_type,
                    body,
                })
            };
            match tokio::time::timeout(REPLY_WITHIN, exchange).await {
                Ok(result) => result,
                Err(_) => Err(format!("no reply within {REPLY_WITHIN:?}")),
            }
        })
    }

    /// The request's URI. Characters an HTTP client cannot send (and an HTTP parser refuses
    /// before any of our code runs) are percent-encoded, brackets last.
    fn uri(&self, target: &str) -> http::Uri {
        let mut last = None;
        for keep in ["[]", ""] {
            let text = if last.is_none() {
                target.to_string()
            } else {
                sanitize(target, keep)
            };
            match format!("http://{}{text}", self.addr).parse::<http::Uri>() {
                Ok(uri) => return uri,
                Err(e) => last = Some(e),
            }
            if keep.is_empty() {
                break;
            }
        }
        let text = sanitize(target, "");
        format!("http://{}{text}", self.addr)
            .parse()
            .unwrap_or_else(|e| panic!("{text:?} is still not a URI: {e} (after {last:?})"))
    }

    /// Stops the server.
    pub fn stop(mut self) {
        if let Err(e) = self.runtime.block_on(self.server.stop()) {
            panic!("stop: {e}");
        }
    }
}

/// Whether a 5xx reply is one the server gives on purpose, as Kratos does: the oracle's error
/// and panic methods; an error asked for in XML, which Kratos answers with a bare 500; a reply
/// asked for in XML that Go's XML encoder refuses (a map field); a `response_body` list or
/// value that the negotiated codec cannot express; and a reply that cannot be marshalled
/// because the oracle echoed a protobuf request holding what only the wire format can carry (a
/// Timestamp or Duration outside the JSON range: Kratos' protojson fails the same way). The
/// text codecs validate such values when they decode, so from them it would be a bug.
pub fn deliberate_5xx(request: &Request, reply: &Reply) -> bool {
    let path = request.target.split('?').next().unwrap_or_default();
    if path.starts_with("/v1/errors/") || path.starts_with("/v1/panic") {
        return true;
    }
    if reply.status == 500 && reply.body.is_empty() && accepts_xml(request) {
        return true;
    }
    let text = String::from_utf8_lossy(&reply.body);
    let proto_body = request
        .content_type
        .as_deref()
        .is_some_and(|ct| ct.starts_with("application/proto"));
    if proto_body
        && reply.status == 500
        && text.contains("CODEC")
        && text.contains(" marshal: ")
        && (text.contains("outside the range") || text.contains("out of range"))
    {
        return true;
    }
    reply.status == 500
        && text.contains("CODEC")
        && [
            // A `response_body` naming a field that is not a message, asked for in a codec
            // that can only carry messages (proto, form, XML).
            "codec cannot encode the field",
            "has no XML form",
            "xml: unsupported type",
        ]
        .iter()
        .any(|m| text.contains(m))
}

fn accepts_xml(request: &Request) -> bool {
    request
        .accept
        .as_deref()
        .and_then(|a| a.split('/').nth(1))
        .is_some_and(|sub| sub.split(';').next() == Some("xml"))
}

/// `target` with every byte outside RFC 3986's unreserved, sub-delimiter and path characters
/// (and `keep`) percent-encoded.
fn sanitize(target: &str, keep: &str) -> String {
    let mut out = String::with_capacity(target.len());
    for b in target.bytes() {
        if b.is_ascii_alphanumeric()
            || b"-._~!$&'()*+,;=:@/?%".contains(&b)
            || keep.as_bytes().contains(&b)
        {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A body that sends its chunks one by one, returning `Pending` between them so that each is
/// flushed on its own.
pub struct Chunks {
    chunks: VecDeque<Bytes>,
    paused: bool,
}

impl http_body::Body for Chunks {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if !self.paused && !self.chunks.is_empty() {
            self.paused = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        self.paused = false;
        Poll::Ready(self.chunks.pop_front().map(|c| Ok(Frame::data(c))))
    }
}

/// A server that answers every request with the stream in `current`.
pub async fn serve_events(current: Arc<Mutex<Vec<Vec<u8>>>>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let addr = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("address: {e}"));
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            // Each chunk goes out at once, not held back for the previous one's ACK.
            let _ = tcp.set_nodelay(true);
            let current = current.clone();
            tokio::spawn(async move {
                let service = service_fn(move |_request| {
                    let chunks = current
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .iter()
                        .map(|c| Bytes::from(c.clone()))
                        .collect();
                    async move {
                        http::Response::builder()
                            .header(http::header::CONTENT_TYPE, "text/event-stream")
                            .body(Chunks {
                                chunks,
                                paused: false,
                            })
                    }
                });
                // A connection error only ends that connection; the client reports it.
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service)
                    .await;
            });
        }
    });
    addr
}
