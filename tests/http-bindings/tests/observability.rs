//! Tracing and logging across three real services: the caller → A (HTTP) → B (HTTP, called
//! by A's typed HTTP client) → C (gRPC, called by B over a kratos gRPC channel). One trace
//! id across every span with the right parents, received by a real OTLP receiver (gRPC, and
//! HTTP/protobuf); one JSON log line per call on each side, with the trace id; failing calls
//! (binding error, handler error, panic, timeout) logged with their code and reason and
//! exported as error spans.
//!
//! Each test has its own subscriber as the default of its thread, and runs on a
//! current-thread runtime so that every server and client task runs on that thread.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_bindings::Echo;
use http_bindings::kratos_pb::common::Page;
use http_bindings::kratos_pb::test::v1::{
    self as pb, Bindings, BindingsHttpClient, bindings_client::BindingsClient,
};
use kratos::Context;
use kratos::errors::Error;
use kratos::grpc::ClientChannel;
use kratos::log::{Format, Logger};
use kratos::metadata::{Metadata, with_client_metadata};
use kratos::middleware::{Handler, Middleware, logging, metadata, recovery, timeout};
use kratos::stream::{RequestStream, ServerStream};
use kratos::trace::{Protocol, SamplerSetting, Settings};
use kratos::transport::Server as _;
use support::otlp::{self, CLIENT, SERVER, STATUS_ERROR, STATUS_OK, Span};

const GET_BOOK: &str = "/kratos.test.v1.Bindings/GetBook";
/// The caller's trace and span, sent in its `traceparent`.
const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

/// Collects the lines a logger writes.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Capture {
    /// The per-call lines (target `kratos::access`), parsed.
    fn access(&self) -> Vec<serde_json::Value> {
        String::from_utf8(self.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|l| l["target"] == kratos::log::ACCESS_TARGET)
            .collect()
    }
}

/// A JSON logger into `capture` exporting spans to `endpoint` (sampled always, sent every
/// 20 ms), installed for this thread.
fn install(
    capture: &Capture,
    endpoint: String,
    protocol: Protocol,
) -> (kratos::log::LogHandle, tracing::dispatcher::DefaultGuard) {
    let provider = Settings::new(endpoint, protocol)
        .service_name("observed")
        .sampler(SamplerSetting::AlwaysOn)
        .schedule_delay(Duration::from_millis(20))
        .provider()
        .unwrap();
    let writer = capture.clone();
    Logger::new()
        .format(Format::Json)
        .level("info")
        .service("instance-1", "observed", "v9")
        .writer(move || writer.clone())
        .tracer_provider(provider)
        .set_default()
        .unwrap()
}

/// Where a hop sends the calls it serves.
#[derive(Clone)]
enum Next {
    Http(Box<BindingsHttpClient>),
    Grpc(BindingsClient<ClientChannel>),
    End,
}

/// A service forwarding `GetBook` to the next hop (adding a local key of its own), the last
/// answering with the metadata it saw; book ids 13, 14 and 15 fail (panic, too slow, error).
#[derive(Clone)]
struct Hop {
    name: &'static str,
    next: Next,
}

fn describe(md: &Metadata) -> String {
    let mut pairs: Vec<String> = md
        .iter()
        .filter(|(k, _)| k.starts_with("x-md-global-") || k.starts_with("x-md-local-"))
        .flat_map(|(k, vs)| vs.iter().map(move |v| format!("{k}={v}")))
        .collect();
    pairs.sort();
    pairs.join(",")
}

impl Bindings for Hop {
    async fn get_book(&self, ctx: Context, request: pb::GetBookRequest) -> Result<pb::Book, Error> {
        match request.book.as_ref().map_or(0, |b| b.id) {
            13 => panic!("book 13 is cursed"),
            14 => tokio::time::sleep(Duration::from_secs(30)).await,
            15 => return Err(Error::new(404, "BOOK_MISSING", "no book 15")),
            _ => {}
        }
        // An event inside the handler belongs to the call's span.
        tracing::info!(hop = self.name, "serving");
        let mut local = Metadata::new();
        local.set(format!("x-md-local-from-{}", self.name), "1");
        match self.next.clone() {
            Next::Http(client) => with_client_metadata(local, client.get_book(&request)).await,
            Next::Grpc(mut client) => {
                let call = async move { client.get_book(request).await };
                Ok(with_client_metadata(local, call).await?.into_inner())
            }
            Next::End => Ok(pb::Book {
                title: describe(&ctx.metadata()),
                ..Default::default()
            }),
        }
    }

    async fn watch_books(
        &self,
        ctx: Context,
        request: pb::GetBookRequest,
    ) -> Result<ServerStream<pb::Book>, Error> {
        Echo.watch_books(ctx, request).await
    }

    async fn shelve_books(
        &self,
        ctx: Context,
        request: RequestStream<pb::Book>,
    ) -> Result<Page, Error> {
        Echo.shelve_books(ctx, request).await
    }

    async fn echo_books(
        &self,
        ctx: Context,
        request: RequestStream<pb::Book>,
    ) -> Result<ServerStream<pb::Book>, Error> {
        Echo.echo_books(ctx, request).await
    }

    async fn scalars(
        &self,
        ctx: Context,
        request: pb::ScalarsRequest,
    ) -> Result<pb::ScalarsRequest, Error> {
        Echo.scalars(ctx, request).await
    }

    async fn update_book(
        &self,
        ctx: Context,
        request: pb::UpdateBookRequest,
    ) -> Result<pb::Book, Error> {
        Echo.update_book(ctx, request).await
    }

    async fn search(
        &self,
        ctx: Context,
        request: pb::SearchRequest,
    ) -> Result<pb::SearchRequest, Error> {
        Echo.search(ctx, request).await
    }

    async fn ping(&self, ctx: Context, request: Page) -> Result<Page, Error> {
        Echo.ping(ctx, request).await
    }

    async fn tags(&self, ctx: Context, request: pb::TagsRequest) -> Result<pb::TagsRequest, Error> {
        Echo.tags(ctx, request).await
    }
}

/// The server middleware of every hop: tracing outermost, then logging, then metadata;
/// recovery and a 200 ms timeout inside, so that logging and tracing see their errors.
fn server_middleware() -> Vec<Middleware> {
    vec![
        kratos::trace::server(),
        logging(),
        metadata::server(),
        recovery(),
        timeout(Duration::from_millis(200)),
    ]
}

fn client_middleware() -> Vec<Middleware> {
    vec![kratos::trace::client(), logging(), metadata::client()]
}

async fn http_hop(hop: Hop) -> (kratos::http::Server, SocketAddr) {
    let mut builder = kratos::http::Server::builder().address("127.0.0.1:0");
    for m in server_middleware() {
        builder = builder.middleware(m);
    }
    let mut server = builder.build();
    pb::register_bindings_http_server(&mut server, Arc::new(hop)).unwrap();
    let addr = server.start().await.unwrap();
    (server, addr)
}

async fn grpc_hop(hop: Hop) -> (kratos::grpc::Server, SocketAddr) {
    let mut builder = kratos::grpc::Server::builder().address("127.0.0.1:0");
    for m in server_middleware() {
        builder = builder.middleware(m);
    }
    let mut server = builder.build();
    pb::register_bindings_grpc_server(&mut server, Arc::new(hop)).unwrap();
    let addr = server.start().await.unwrap();
    (server, addr)
}

fn http_client(addr: SocketAddr) -> BindingsHttpClient {
    let mut builder = kratos::http::Client::builder(addr.to_string());
    for m in client_middleware() {
        builder = builder.middleware(m);
    }
    BindingsHttpClient::new(builder.build().unwrap())
}

fn grpc_client(addr: SocketAddr) -> BindingsClient<ClientChannel> {
    let mut builder = kratos::grpc::ChannelBuilder::new(addr.to_string());
    for m in client_middleware() {
        builder = builder.middleware(m);
    }
    BindingsClient::new(builder.build().unwrap())
}

/// The caller: an untraced client sending a `traceparent` of its own, and metadata.
fn caller(addr: SocketAddr) -> BindingsHttpClient {
    let traceparent = Middleware::new(|next: Handler| {
        Handler::from_fn(move |ctx, req| {
            ctx.outgoing_headers().insert(
                "traceparent",
                format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01")
                    .parse()
                    .unwrap(),
            );
            next.call(ctx, req)
        })
    });
    BindingsHttpClient::new(
        kratos::http::Client::builder(addr.to_string())
            .middleware(traceparent)
            .middleware(metadata::client())
            .build()
            .unwrap(),
    )
}

fn request(id: i64) -> pb::GetBookRequest {
    pb::GetBookRequest {
        book: Some(pb::Book {
            name: format!("shelves/s/books/{id}"),
            shelf: "s".into(),
            id,
            ..Default::default()
        }),
    }
}

fn one<'a>(spans: &'a [Span], what: &str, keep: impl Fn(&Span) -> bool) -> &'a Span {
    let found: Vec<&Span> = spans.iter().filter(|s| keep(s)).collect();
    assert_eq!(found.len(), 1, "{what}: {found:#?}\nall: {spans:#?}");
    found[0]
}

async fn one_trace_across_three_services(protocol: Protocol) {
    let (endpoint, received) = match protocol {
        Protocol::Grpc => otlp::grpc().await,
        Protocol::HttpProtobuf => otlp::http().await,
    };
    let capture = Capture::default();
    let (_handle, _guard) = install(&capture, endpoint, protocol);

    let (mut c, c_addr) = grpc_hop(Hop {
        name: "c",
        next: Next::End,
    })
    .await;
    let (mut b, b_addr) = http_hop(Hop {
        name: "b",
        next: Next::Grpc(grpc_client(c_addr)),
    })
    .await;
    let (mut a, a_addr) = http_hop(Hop {
        name: "a",
        next: Next::Http(Box::new(http_client(b_addr))),
    })
    .await;

    let mut md = Metadata::new();
    md.set("x-md-global-tenant", "acme");
    md.set("x-md-local-caller", "1");
    let book = with_client_metadata(md, caller(a_addr).get_book(&request(7)))
        .await
        .unwrap();
    // Global metadata reached C; the caller's local key stopped at A, A's at B.
    assert_eq!(book.title, "x-md-global-tenant=acme,x-md-local-from-b=1");

    // Five spans: A server, A→B client, B server, B→C client, C server.
    let spans = received.wait_until(|s| s.len() >= 5).await;
    assert_eq!(spans.len(), 5, "{spans:#?}");
    for span in &spans {
        assert_eq!(span.trace_id, CALLER_TRACE, "{span:#?}");
        assert_eq!(span.name, GET_BOOK);
        assert_eq!(span.status, STATUS_OK, "{span:#?}");
        assert_eq!(span.service, "observed");
        assert_eq!(span.attributes["rpc.service"], "kratos.test.v1.Bindings");
        assert_eq!(span.attributes["rpc.method"], "GetBook");
    }
    let is = |kind: i32, system: &'static str| {
        move |s: &Span| s.kind == kind && s.attributes["rpc.system"] == system
    };
    let a_server = one(&spans, "A server", |s| {
        is(SERVER, "http")(s) && s.parent_span_id == CALLER_SPAN
    });
    let a_client = one(&spans, "A client", |s| {
        is(CLIENT, "http")(s) && s.parent_span_id == a_server.span_id
    });
    let b_server = one(&spans, "B server", |s| {
        is(SERVER, "http")(s) && s.parent_span_id == a_client.span_id
    });
    let b_client = one(&spans, "B client", |s| {
        is(CLIENT, "grpc")(s) && s.parent_span_id == b_server.span_id
    });
    let c_server = one(&spans, "C server", |s| {
        is(SERVER, "grpc")(s) && s.parent_span_id == b_client.span_id
    });
    // The handlers' events belong to their call's span.
    for span in [a_server, b_server, c_server] {
        assert!(span.events.iter().any(|e| e == "serving"), "{span:#?}");
    }
    // Kratos' HTTP attributes on the HTTP server spans.
    for span in [a_server, b_server] {
        assert_eq!(span.attributes["http.method"], "GET");
        assert_eq!(
            span.attributes["http.route"],
            "/v1/{book.name=shelves/*/books/*}"
        );
        assert_eq!(span.attributes["http.target"], "/v1/shelves/s/books/7");
    }
    assert_eq!(a_client.attributes["http.method"], "GET");
    assert_eq!(a_client.attributes["http.target"], "/v1/shelves/s/books/7");
    // Servers know their peer and the calling service's name.
    for span in [a_server, b_server, c_server] {
        assert_eq!(span.attributes["net.peer.ip"], "127.0.0.1", "{span:#?}");
        assert!(span.attributes["net.peer.port"].parse::<u16>().is_ok());
    }
    for span in [b_server, c_server] {
        assert_eq!(span.attributes["peer.service"], "observed", "{span:#?}");
    }

    // One access line per call on each side, each with the call's trace id and its span.
    let lines = capture.access();
    assert_eq!(lines.len(), 5, "{lines:#?}");
    let mut seen: Vec<(String, String, String)> = Vec::new();
    for line in &lines {
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["operation"], GET_BOOK);
        assert_eq!(line["code"], 200);
        assert_eq!(line["reason"], "");
        assert_eq!(line["stack"], "");
        assert!(line["latency"].as_f64().unwrap() >= 0.0);
        // Servers log the request; the HTTP client its method and path; a gRPC client
        // cannot see its (already encoded) message.
        let args = line["args"].as_str().unwrap();
        match (
            line["kind"].as_str().unwrap(),
            line["component"].as_str().unwrap(),
        ) {
            ("server", _) => assert!(args.contains("id: 7"), "{line}"),
            ("client", "http") => assert!(args.starts_with("GET /v1/shelves/s/books/7?"), "{line}"),
            _ => assert_eq!(args, "grpc request"),
        }
        assert_eq!(line["service.name"], "observed");
        assert_eq!(line["service.id"], "instance-1");
        assert_eq!(line["service.version"], "v9");
        assert_eq!(line["trace.id"], CALLER_TRACE, "{line}");
        let span_id = line["span.id"].as_str().unwrap();
        assert!(spans.iter().any(|s| s.span_id == span_id), "{line}");
        seen.push((
            line["kind"].as_str().unwrap().into(),
            line["component"].as_str().unwrap().into(),
            span_id.into(),
        ));
    }
    seen.sort();
    let mut expected: Vec<(String, String, String)> = [
        ("server", "http", a_server),
        ("client", "http", a_client),
        ("server", "http", b_server),
        ("client", "grpc", b_client),
        ("server", "grpc", c_server),
    ]
    .iter()
    .map(|(k, c, s)| (k.to_string(), c.to_string(), s.span_id.clone()))
    .collect();
    expected.sort();
    assert_eq!(seen, expected);

    a.stop().await.unwrap();
    b.stop().await.unwrap();
    c.stop().await.unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn one_trace_across_three_services_exported_over_grpc() {
    one_trace_across_three_services(Protocol::Grpc).await;
}

#[tokio::test(flavor = "current_thread")]
async fn one_trace_across_three_services_exported_over_http_protobuf() {
    one_trace_across_three_services(Protocol::HttpProtobuf).await;
}

async fn get(addr: SocketAddr, path: &str) -> u16 {
    use http_body_util::{BodyExt, Empty};
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Empty<bytes::Bytes>>();
    let response = client
        .get(format!("http://{addr}{path}").parse().unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    response.into_body().collect().await.unwrap();
    status
}

#[tokio::test(flavor = "current_thread")]
async fn failing_calls_are_logged_with_code_and_reason_and_exported_as_error_spans() {
    let (endpoint, received) = otlp::grpc().await;
    let capture = Capture::default();
    let (_handle, _guard) = install(&capture, endpoint, Protocol::Grpc);
    let (mut server, addr) = http_hop(Hop {
        name: "x",
        next: Next::End,
    })
    .await;

    // (path, status and Kratos code, reason)
    let cases = [
        // A book id that is not a number: a binding error.
        ("/v2/shelves/s/books/seven", 400, "CODEC"),
        ("/v2/shelves/s/books/13", 500, "UNKNOWN"),
        (
            "/v2/shelves/s/books/14",
            504,
            kratos::middleware::TIMEOUT_REASON,
        ),
        ("/v2/shelves/s/books/15", 404, "BOOK_MISSING"),
    ];
    for (path, code, _) in cases {
        assert_eq!(get(addr, path).await, code, "{path}");
    }

    let lines = capture.access();
    assert_eq!(lines.len(), cases.len(), "{lines:#?}");
    let spans = received.wait_until(|s| s.len() >= cases.len()).await;
    for ((path, code, reason), line) in cases.iter().zip(&lines) {
        assert_eq!(line["level"], "ERROR", "{line}");
        assert_eq!(line["kind"], "server");
        assert_eq!(line["component"], "http");
        assert_eq!(line["code"], *code, "{path}: {line}");
        assert_eq!(line["reason"], *reason, "{path}: {line}");
        assert!(!line["stack"].as_str().unwrap().is_empty(), "{line}");
        let span = one(&spans, path, |s| s.attributes["http.target"] == *path);
        assert_eq!(span.status, STATUS_ERROR, "{span:#?}");
        assert_eq!(span.attributes["rpc.status_code"], code.to_string());
        // The error is recorded (after any event the failure logged inside the span, such
        // as the recovery middleware's).
        assert_eq!(
            span.events.last().map(String::as_str),
            Some("exception"),
            "{span:#?}"
        );
        assert_eq!(line["trace.id"], span.trace_id.as_str());
    }
    server.stop().await.unwrap();
}
