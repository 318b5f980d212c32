//! The validation middleware through a real HTTP route and a real gRPC call: an invalid
//! request is answered 400 / `VALIDATOR` with Go PGV's message, and the handler never runs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use kratos::errors::Error;
use kratos::stream::{RequestStream, ServerStream, StreamExt as _};
use kratos::transport::Server as _;
use validate_harness::validated::v1::accounts_client::AccountsClient;
use validate_harness::validated::v1::{
    self as pb, CreateAccountReply, CreateAccountRequest, ImportSummary,
};

#[derive(Default)]
struct Service {
    calls: AtomicUsize,
}

impl pb::Accounts for Service {
    async fn create_account(
        &self,
        _ctx: kratos::Context,
        request: CreateAccountRequest,
    ) -> Result<CreateAccountReply, Error> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Ok(CreateAccountReply {
            id: format!("id-{}", request.name),
        })
    }

    async fn import_accounts(
        &self,
        _ctx: kratos::Context,
        mut request: RequestStream<CreateAccountRequest>,
    ) -> Result<ImportSummary, Error> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let mut ids = Vec::new();
        while let Some(account) = request.next().await {
            ids.push(format!("id-{}", account?.name));
        }
        Ok(ImportSummary { ids })
    }

    async fn sync_accounts(
        &self,
        _ctx: kratos::Context,
        request: RequestStream<CreateAccountRequest>,
    ) -> Result<ServerStream<CreateAccountReply>, Error> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Ok(ServerStream::new(request.map(|account| {
            account.map(|a| CreateAccountReply {
                id: format!("id-{}", a.name),
            })
        })))
    }
}

async fn post(addr: SocketAddr, body: &str) -> (u16, serde_json::Value) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let request = http::Request::builder()
        .method("POST")
        .uri(format!("http://{addr}/v1/accounts"))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    let response = client.request(request).await.unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap())
}

#[tokio::test]
async fn invalid_requests_are_rejected_before_the_handler_on_http_and_grpc() {
    let service = Arc::new(Service::default());
    let mut http = kratos::http::Server::builder()
        .address("127.0.0.1:0")
        .middleware(kratos::validate::middleware())
        .build();
    pb::register_accounts_http_server(&mut http, service.clone()).unwrap();
    let mut grpc = kratos::grpc::Server::builder()
        .address("127.0.0.1:0")
        .middleware(kratos::validate::middleware())
        .build();
    pb::register_accounts_grpc_server(&mut grpc, service.clone()).unwrap();
    let http_addr = http.start().await.unwrap();
    let grpc_addr = grpc.start().await.unwrap();

    // HTTP: valid.
    let (status, body) = post(
        http_addr,
        r#"{"name":"gopher","email":"gopher@example.com","age":30}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"], "id-gopher");
    assert_eq!(service.calls.load(Ordering::SeqCst), 1);

    // HTTP: invalid, the first violation in Go's words.
    let (status, body) = post(
        http_addr,
        r#"{"name":"go","email":"gopher@example.com","age":30}"#,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], 400);
    assert_eq!(body["reason"], "VALIDATOR");
    assert_eq!(
        body["message"],
        "invalid CreateAccountRequest.Name: value length must be between 3 and 16 runes, inclusive"
    );
    let (status, body) = post(
        http_addr,
        r#"{"name":"gopher","email":"not an email","age":12}"#,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["message"],
        "invalid CreateAccountRequest.Email: value must be a valid email address | caused by: mail: no angle-addr"
    );
    assert_eq!(
        service.calls.load(Ordering::SeqCst),
        1,
        "the handler must not run"
    );

    // gRPC: the same middleware chain.
    let mut client = AccountsClient::connect(format!("http://{grpc_addr}"))
        .await
        .unwrap();
    let reply = client
        .create_account(CreateAccountRequest {
            name: "ferris".into(),
            email: "ferris@example.com".into(),
            age: 18,
        })
        .await
        .unwrap();
    assert_eq!(reply.into_inner().id, "id-ferris");
    let status = client
        .create_account(CreateAccountRequest {
            name: "ferris".into(),
            email: "ferris@example.com".into(),
            age: 151,
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    let err = Error::from(status);
    assert_eq!((err.code(), err.reason()), (400, "VALIDATOR"));
    assert_eq!(
        err.message(),
        "invalid CreateAccountRequest.Age: value must be inside range [18, 150]"
    );
    assert_eq!(service.calls.load(Ordering::SeqCst), 2);

    http.stop().await.unwrap();
    grpc.stop().await.unwrap();
}

fn account(name: &str, age: u32) -> CreateAccountRequest {
    CreateAccountRequest {
        name: name.into(),
        email: format!("{name}@example.com"),
        age,
    }
}

/// The calls of the streaming methods over gRPC, `validation` saying whether the server
/// installs the validation middleware.
async fn streaming_server(
    validation: bool,
) -> (
    kratos::grpc::Server,
    AccountsClient<tonic::transport::Channel>,
) {
    let mut builder = kratos::grpc::Server::builder().address("127.0.0.1:0");
    if validation {
        builder = builder.middleware(kratos::validate::middleware());
    }
    let mut grpc = builder.build();
    pb::register_accounts_grpc_server(&mut grpc, Arc::new(Service::default())).unwrap();
    let addr = grpc.start().await.unwrap();
    let client = AccountsClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    (grpc, client)
}

#[tokio::test]
async fn streamed_messages_are_validated_one_by_one_over_grpc() {
    let (mut grpc, mut client) = streaming_server(true).await;

    // Client streaming: every message valid.
    let accounts = vec![account("ferris", 20), account("gopher", 30)];
    let summary = client
        .import_accounts(tokio_stream::iter(accounts))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(summary.ids, ["id-ferris", "id-gopher"]);

    // The second message breaks a rule: the call fails with its violation.
    let accounts = vec![account("ferris", 20), account("go", 30), account("tux", 40)];
    let status = client
        .import_accounts(tokio_stream::iter(accounts))
        .await
        .unwrap_err();
    let err = Error::from(status);
    assert_eq!((err.code(), err.reason()), (400, "VALIDATOR"));
    assert_eq!(
        err.message(),
        "invalid CreateAccountRequest.Name: value length must be between 3 and 16 runes, inclusive"
    );

    // Bidirectional: replies for the valid messages, then the violation ends the stream.
    let accounts = vec![
        account("ferris", 20),
        account("gopher", 12),
        account("tux", 40),
    ];
    let mut replies = client
        .sync_accounts(tokio_stream::iter(accounts))
        .await
        .unwrap()
        .into_inner();
    let mut outcome = Vec::new();
    while let Some(item) = replies.next().await {
        outcome.push(
            item.map(|r| r.id)
                .map_err(|s| Error::from(s).message().to_string()),
        );
    }
    assert_eq!(
        outcome,
        [
            Ok("id-ferris".to_string()),
            Err("invalid CreateAccountRequest.Age: value must be inside range [18, 150]".into())
        ]
    );
    grpc.stop().await.unwrap();
}

#[tokio::test]
async fn without_the_middleware_streamed_messages_are_not_validated() {
    let (mut grpc, mut client) = streaming_server(false).await;
    let accounts = vec![account("go", 12), account("tux", 200)];
    let summary = client
        .import_accounts(tokio_stream::iter(accounts.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(summary.ids, ["id-go", "id-tux"]);
    let replies: Vec<String> = client
        .sync_accounts(tokio_stream::iter(accounts))
        .await
        .unwrap()
        .into_inner()
        .map(|r| r.unwrap().id)
        .collect()
        .await;
    assert_eq!(replies, ["id-go", "id-tux"]);
    grpc.stop().await.unwrap();
}

#[test]
fn validate_all_reports_every_violation() {
    use kratos::validate::Validate as _;
    let request = CreateAccountRequest {
        name: String::new(),
        email: "x".into(),
        age: 0,
    };
    let all = request.validate_all().unwrap_err();
    let fields: Vec<&str> = all.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["name", "email", "age"]);
    assert_eq!(request.validate().unwrap_err(), all[0]);
}
