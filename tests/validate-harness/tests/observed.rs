//! A request the validation middleware rejects is still observed: one `error` access line
//! with code 400 and reason `VALIDATOR`, and an error span with `rpc.status_code` 400,
//! received by a real OTLP receiver (the one of `tests/http-bindings`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

// Not every item of the shared receiver is used here.
#[allow(dead_code)]
#[path = "../../http-bindings/tests/support/otlp.rs"]
mod otlp;

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use kratos::errors::Error;
use kratos::stream::{RequestStream, ServerStream};
use kratos::transport::Server as _;
use validate_harness::validated::v1::{
    self as pb, CreateAccountReply, CreateAccountRequest, ImportSummary,
};

struct Accounts;

impl pb::Accounts for Accounts {
    async fn create_account(
        &self,
        _ctx: kratos::Context,
        request: CreateAccountRequest,
    ) -> Result<CreateAccountReply, Error> {
        Ok(CreateAccountReply { id: request.name })
    }

    async fn import_accounts(
        &self,
        _ctx: kratos::Context,
        _request: RequestStream<CreateAccountRequest>,
    ) -> Result<ImportSummary, Error> {
        Ok(ImportSummary::default())
    }

    async fn sync_accounts(
        &self,
        _ctx: kratos::Context,
        _request: RequestStream<CreateAccountRequest>,
    ) -> Result<ServerStream<CreateAccountReply>, Error> {
        Err(Error::new(501, "UNIMPLEMENTED", "not here"))
    }
}

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

async fn post(addr: SocketAddr, body: &str) -> u16 {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let request = http::Request::builder()
        .method("POST")
        .uri(format!("http://{addr}/v1/accounts"))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    let response = client.request(request).await.unwrap();
    let status = response.status().as_u16();
    response.into_body().collect().await.unwrap();
    status
}

#[tokio::test(flavor = "current_thread")]
async fn a_validation_failure_is_an_error_line_and_an_error_span() {
    let (endpoint, received) = otlp::grpc().await;
    let provider = kratos::trace::Settings::new(endpoint, kratos::trace::Protocol::Grpc)
        .sampler(kratos::trace::SamplerSetting::AlwaysOn)
        .schedule_delay(Duration::from_millis(20))
        .provider()
        .unwrap();
    let capture = Capture::default();
    let writer = capture.clone();
    let (_handle, _guard) = kratos::log::Logger::new()
        .format(kratos::log::Format::Json)
        .writer(move || writer.clone())
        .level("info")
        .tracer_provider(provider)
        .set_default()
        .unwrap();
    let mut http = kratos::http::Server::builder()
        .address("127.0.0.1:0")
        .middleware(kratos::trace::server())
        .middleware(kratos::middleware::logging())
        .middleware(kratos::validate::middleware())
        .build();
    pb::register_accounts_http_server(&mut http, Arc::new(Accounts)).unwrap();
    let addr = http.start().await.unwrap();

    let status = post(
        addr,
        r#"{"name":"go","email":"gopher@example.com","age":30}"#,
    )
    .await;
    assert_eq!(status, 400);

    let text = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|l| l["target"] == kratos::log::ACCESS_TARGET)
        .collect();
    assert_eq!(lines.len(), 1, "{text}");
    let line = &lines[0];
    assert_eq!(line["level"], "ERROR");
    assert_eq!(line["code"], 400);
    assert_eq!(line["reason"], "VALIDATOR");
    assert!(
        line["stack"]
            .as_str()
            .unwrap()
            .contains("CreateAccountRequest.Name"),
        "{line}"
    );

    let spans = received.wait_until(|s| !s.is_empty()).await;
    let span = &spans[0];
    assert_eq!(
        span.name, "/validated.v1.Accounts/CreateAccount",
        "{span:#?}"
    );
    assert_eq!(span.status, otlp::STATUS_ERROR);
    assert_eq!(span.attributes["rpc.status_code"], "400");
    assert_eq!(line["trace.id"], span.trace_id.as_str());
    http.stop().await.unwrap();
}
