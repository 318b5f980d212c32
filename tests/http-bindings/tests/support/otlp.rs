//! A real OTLP trace receiver for the tests: gRPC (tonic, on the `opentelemetry-proto`
//! service) or HTTP/protobuf (hyper, `POST /v1/traces`), keeping every span it receives.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use prost::Message as _;

/// A received span, ids as lower-case hex.
#[derive(Debug, Clone)]
pub struct Span {
    pub trace_id: String,
    pub span_id: String,
    pub parent_span_id: String,
    pub name: String,
    /// `SPAN_KIND_SERVER` = 2, `SPAN_KIND_CLIENT` = 3.
    pub kind: i32,
    pub attributes: HashMap<String, String>,
    /// `STATUS_CODE_OK` = 1, `STATUS_CODE_ERROR` = 2.
    pub status: i32,
    pub events: Vec<String>,
    /// The resource's `service.name`.
    pub service: String,
}

pub const SERVER: i32 = 2;
pub const CLIENT: i32 = 3;
pub const STATUS_OK: i32 = 1;
pub const STATUS_ERROR: i32 = 2;

/// The spans received so far.
#[derive(Clone, Default)]
pub struct Spans(Arc<Mutex<Vec<Span>>>);

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn text(value: &Option<AnyValue>) -> String {
    match value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        other => format!("{other:?}"),
    }
}

fn attributes(kvs: &[KeyValue]) -> HashMap<String, String> {
    kvs.iter()
        .map(|kv| (kv.key.clone(), text(&kv.value)))
        .collect()
}

impl Spans {
    fn add(&self, request: ExportTraceServiceRequest) {
        let mut spans = self.0.lock().unwrap();
        for resource_spans in request.resource_spans {
            let resource = resource_spans
                .resource
                .map(|r| attributes(&r.attributes))
                .unwrap_or_default();
            let service = resource.get("service.name").cloned().unwrap_or_default();
            for scope in resource_spans.scope_spans {
                for span in scope.spans {
                    spans.push(Span {
                        trace_id: hex(&span.trace_id),
                        span_id: hex(&span.span_id),
                        parent_span_id: hex(&span.parent_span_id),
                        name: span.name,
                        kind: span.kind,
                        attributes: attributes(&span.attributes),
                        status: span.status.map(|s| s.code).unwrap_or_default(),
                        events: span.events.into_iter().map(|e| e.name).collect(),
                        service: service.clone(),
                    });
                }
            }
        }
    }

    /// Waits (at most 10 s, else fails) until `done` holds for the spans received.
    pub async fn wait_until(&self, done: impl Fn(&[Span]) -> bool) -> Vec<Span> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            kratos::trace::flush().await;
            let spans = self.0.lock().unwrap().clone();
            if done(&spans) {
                return spans;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "spans not received within 10 s; got {spans:#?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

struct Grpc(Spans);

#[tonic::async_trait]
impl TraceService for Grpc {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.0.add(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

/// A gRPC receiver: its endpoint (`http://127.0.0.1:port`) and what it receives.
pub async fn grpc() -> (String, Spans) {
    let spans = Spans::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = TraceServiceServer::new(Grpc(spans.clone()));
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    (format!("http://{addr}"), spans)
}

/// An HTTP/protobuf receiver: the URL spans are posted to and what it receives.
pub async fn http() -> (String, Spans) {
    let spans = Spans::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let received = spans.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let received = received.clone();
            let service = hyper::service::service_fn(move |request: http::Request<_>| {
                let received = received.clone();
                async move {
                    let ok = request.method() == http::Method::POST
                        && request.uri().path() == "/v1/traces"
                        && request.headers().get("content-type").map(|v| v.as_bytes())
                            == Some(b"application/x-protobuf");
                    let body = BodyExt::collect(request.into_body()).await?.to_bytes();
                    let status = match ExportTraceServiceRequest::decode(body) {
                        Ok(export) if ok => {
                            received.add(export);
                            200
                        }
                        _ => 400,
                    };
                    let reply = ExportTraceServiceResponse {
                        partial_success: None,
                    }
                    .encode_to_vec();
                    Ok::<_, hyper::Error>(
                        http::Response::builder()
                            .status(status)
                            .header("content-type", "application/x-protobuf")
                            .body(Full::new(Bytes::from(reply)))
                            .unwrap(),
                    )
                }
            });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service),
            );
        }
    });
    (format!("http://{addr}/v1/traces"), spans)
}
