//! The gRPC server's answers to malformed call heads, against a real server on loopback, with
//! a raw HTTP/2 client (hyper) and tonic's client: a content-type that is not gRPC's is HTTP
//! 415 with `grpc-status` 3, a malformed `grpc-timeout` HTTP 400 with `grpc-status` 13, and
//! metadata over the head limit fails that call only; in every case the connection carries on.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use kratos::transport::{ConnectionLimits, Server as _};
use tokio::net::TcpStream;

/// Generous bound for anything that should happen "soon" (liveness, not speed).
const SOON: Duration = Duration::from_secs(10);

/// A gRPC service whose every method answers OK with an empty message.
#[derive(Clone)]
struct Empty;

impl tonic::server::NamedService for Empty {
    const NAME: &'static str = "test.Empty";
}

impl tower_service::Service<http::Request<tonic::body::Body>> for Empty {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: http::Request<tonic::body::Body>) -> Self::Future {
        // An empty message (5-byte frame header), then grpc-status 0 in the trailers.
        let body = http_body_util::StreamBody::new(tokio_stream::iter([
            Ok::<_, tonic::Status>(http_body::Frame::data(Bytes::from_static(&[0, 0, 0, 0, 0]))),
            Ok(http_body::Frame::trailers({
                let mut t = http::HeaderMap::new();
                t.insert("grpc-status", http::HeaderValue::from_static("0"));
                t
            })),
        ]));
        std::future::ready(Ok(http::Response::builder()
            .header("content-type", "application/grpc")
            .body(tonic::body::Body::new(body))
            .unwrap()))
    }
}

async fn start(limits: ConnectionLimits) -> (kratos::grpc::Server, SocketAddr) {
    let mut server = kratos::grpc::Server::builder()
        .address("127.0.0.1:0")
        .limits(limits)
        .build();
    server.add_service(Empty).unwrap();
    let addr = server.start().await.unwrap();
    (server, addr)
}

type H2Send = hyper::client::conn::http2::SendRequest<Full<Bytes>>;

/// One HTTP/2 connection; its driver runs in the background and reports when it ends.
async fn connect(addr: SocketAddr) -> (H2Send, tokio::task::JoinHandle<()>) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (send, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    (send, tokio::spawn(async move { drop(conn.await) }))
}

/// What a call got back: the HTTP status, and `grpc-status` and `grpc-message` from the
/// headers (trailers-only) or the trailers.
#[derive(Debug)]
struct Answer {
    http: u16,
    grpc_status: Option<String>,
    grpc_message: Option<String>,
}

async fn call(send: &mut H2Send, headers: &[(&str, &[u8])]) -> Answer {
    let mut request = http::Request::post("http://test/test.Empty/Call").header("te", "trailers");
    for (name, value) in headers {
        request = request.header(*name, http::HeaderValue::from_bytes(value).unwrap());
    }
    let request = request
        .body(Full::new(Bytes::from_static(&[0, 0, 0, 0, 0])))
        .unwrap();
    let response = tokio::time::timeout(SOON, send.send_request(request))
        .await
        .expect("no answer in time")
        .expect("the call failed at the HTTP/2 level");
    let http = response.status().as_u16();
    let head = response.headers().clone();
    let collected = response.into_body().collect().await.unwrap();
    let trailers = collected.trailers().cloned().unwrap_or_default();
    let get = |name: &str| {
        head.get(name)
            .or_else(|| trailers.get(name))
            .map(|v| v.to_str().unwrap().to_string())
    };
    Answer {
        http,
        grpc_status: get("grpc-status"),
        grpc_message: get("grpc-message").map(|m| {
            percent_encoding::percent_decode_str(&m)
                .decode_utf8_lossy()
                .into_owned()
        }),
    }
}

const GRPC: (&str, &[u8]) = ("content-type", b"application/grpc");

/// A good call on the connection still answers OK.
async fn assert_still_serves(send: &mut H2Send, after: &str) {
    let ok = call(send, &[GRPC]).await;
    assert_eq!(
        (ok.http, ok.grpc_status.as_deref()),
        (200, Some("0")),
        "after {after}: {ok:?}"
    );
}

/// Rule: only `application/grpc`, alone or with `+subtype` or `;params`, is a gRPC call;
/// any other content-type (or none) is HTTP 415, `grpc-status` 3, naming the content-type.
#[tokio::test]
async fn a_content_type_that_is_not_grpc_is_415_and_the_connection_carries_on() {
    let (mut server, addr) = start(ConnectionLimits::default()).await;
    let (mut send, _conn) = connect(addr).await;
    for ok in [
        &b"application/grpc"[..],
        b"application/grpc+proto",
        b"application/grpc;charset=utf-8",
    ] {
        let answer = call(&mut send, &[("content-type", ok)]).await;
        assert_eq!(
            (answer.http, answer.grpc_status.as_deref()),
            (200, Some("0")),
            "{answer:?}"
        );
    }
    for bad in [
        Some(&b"application/json"[..]),
        Some(b"application/grpc-web"),
        Some(b"application/grpcx"),
        Some(b"text/plain"),
        Some(b""),
        None,
    ] {
        let headers: Vec<(&str, &[u8])> = bad.map(|b| ("content-type", b)).into_iter().collect();
        let answer = call(&mut send, &headers).await;
        let shown = String::from_utf8_lossy(bad.unwrap_or_default()).into_owned();
        assert_eq!(
            (
                answer.http,
                answer.grpc_status.as_deref(),
                answer.grpc_message.as_deref()
            ),
            (
                415,
                Some("3"),
                Some(format!("invalid gRPC request content-type {shown:?}").as_str())
            ),
            "{bad:?}"
        );
        assert_still_serves(&mut send, &shown).await;
    }
    server.stop().await.unwrap();
}

/// Rule: a `grpc-timeout` that is not 1 to 8 ASCII digits and one of the units `H M S m u n`
/// fails the call with HTTP 400, `grpc-status` 13 (`malformed grpc-timeout: ...`), as
/// grpc-go's server answers; it is never ignored.
#[tokio::test]
async fn a_malformed_grpc_timeout_fails_the_call() {
    let (mut server, addr) = start(ConnectionLimits::default()).await;
    let (mut send, _conn) = connect(addr).await;
    for good in ["1S", "99999999m", "5H", "00000010M"] {
        let answer = call(&mut send, &[GRPC, ("grpc-timeout", good.as_bytes())]).await;
        assert_eq!(
            (answer.http, answer.grpc_status.as_deref()),
            (200, Some("0")),
            "{good}: {answer:?}"
        );
    }
    for bad in [
        "18f6n",
        "123456789m",
        "1.5S",
        "-1S",
        "+1S",
        "10x",
        "100",
        "S",
        "",
        "1 S",
        "1s",
    ] {
        let answer = call(&mut send, &[GRPC, ("grpc-timeout", bad.as_bytes())]).await;
        assert_eq!(
            (answer.http, answer.grpc_status.as_deref()),
            (400, Some("13")),
            "{bad:?}: {answer:?}"
        );
        let message = answer.grpc_message.unwrap_or_default();
        assert!(
            message.starts_with("malformed grpc-timeout: ") && message.contains(bad),
            "{bad:?}: {message}"
        );
        assert_still_serves(&mut send, bad).await;
    }
    server.stop().await.unwrap();
}

/// Rule: metadata whose decoded size is over `max_header_bytes` fails that call (h2 answers
/// the stream 431 and resets it); the connection and its other calls carry on. Checked with
/// a raw HTTP/2 client on one connection, and with tonic's client.
#[tokio::test]
async fn oversized_metadata_fails_the_call_not_the_connection() {
    let limit = 16 * 1024;
    let (mut server, addr) = start(ConnectionLimits {
        max_header_bytes: limit,
        ..ConnectionLimits::default()
    })
    .await;

    // Several entries, together over the limit (each under it), and one list just over it.
    let entry = "v".repeat(6 * 1024);
    let cases: Vec<Vec<(String, String)>> = vec![
        (0..4)
            .map(|i| (format!("x-big-{i}"), entry.clone()))
            .collect(),
        (0..3)
            .map(|i| (format!("x-big-{i}"), "w".repeat(limit / 3)))
            .collect(),
        (0..400)
            .map(|i| (format!("x-many-{i}"), "0123456789".to_string()))
            .collect(),
    ];

    let (mut send, conn) = connect(addr).await;
    for metadata in &cases {
        let mut headers: Vec<(&str, &[u8])> = vec![GRPC];
        headers.extend(metadata.iter().map(|(k, v)| (k.as_str(), v.as_bytes())));
        let answer = call(&mut send, &headers).await;
        assert_eq!(answer.http, 431, "{} entries: {answer:?}", metadata.len());
        assert_still_serves(&mut send, "oversized metadata").await;
    }
    // Metadata under the limit is served.
    let small = "s".repeat(limit / 4);
    let answer = call(&mut send, &[GRPC, ("x-small", small.as_bytes())]).await;
    assert_eq!(answer.grpc_status.as_deref(), Some("0"), "{answer:?}");
    assert!(!conn.is_finished(), "the connection ended");

    // tonic's client: the oversized call fails, the channel's next call succeeds.
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut grpc = tonic::client::Grpc::new(channel);
    let path = http::uri::PathAndQuery::from_static("/test.Empty/Call");
    for metadata in &cases {
        let mut request = tonic::Request::new(());
        for (k, v) in metadata {
            request.metadata_mut().insert(
                tonic::metadata::MetadataKey::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        grpc.ready().await.unwrap();
        let codec = tonic_prost::ProstCodec::<(), ()>::default();
        let failed = tokio::time::timeout(SOON, grpc.unary(request, path.clone(), codec))
            .await
            .expect("no answer in time");
        assert!(failed.is_err(), "{} entries were served", metadata.len());
        grpc.ready().await.unwrap();
        let codec = tonic_prost::ProstCodec::<(), ()>::default();
        tokio::time::timeout(
            SOON,
            grpc.unary(tonic::Request::new(()), path.clone(), codec),
        )
        .await
        .expect("no answer in time")
        .unwrap();
    }
    server.stop().await.unwrap();
}
