//! The helloworld service end to end: real HTTP and gRPC servers on loopback, real clients.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;

use bytes::Bytes;
use helloworld::api::helloworld::v1::HelloRequest;
use helloworld::api::helloworld::v1::greeter_client::GreeterClient;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use kratos::transport::Server as _;

struct Running {
    http: kratos::http::Server,
    grpc: kratos::grpc::Server,
    http_addr: SocketAddr,
    grpc_addr: SocketAddr,
}

async fn start() -> Running {
    let (mut http, mut grpc) = helloworld::servers(
        kratos::http::Server::builder().address("127.0.0.1:0"),
        kratos::grpc::Server::builder().address("127.0.0.1:0"),
    )
    .unwrap();
    let http_addr = http.start().await.unwrap();
    let grpc_addr = grpc.start().await.unwrap();
    Running {
        http,
        grpc,
        http_addr,
        grpc_addr,
    }
}

/// One HTTP request; returns status, content type and body.
async fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut request = http::Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"));
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = client
        .request(
            request
                .body(Full::new(Bytes::from(body.to_string())))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        content_type,
        String::from_utf8(body.to_vec()).unwrap(),
    )
}

#[tokio::test]
async fn http_get_and_post_bindings_answer_like_kratos() {
    let mut s = start().await;
    assert_eq!(
        call(s.http_addr, "GET", "/helloworld/kratos", &[], "").await,
        (
            200,
            "application/json".into(),
            r#"{"message":"Hello kratos"}"#.into()
        )
    );
    assert_eq!(
        call(
            s.http_addr,
            "POST",
            "/say_hello",
            &[("content-type", "application/json")],
            r#"{"name":"post","unknownField":1}"#
        )
        .await,
        (
            200,
            "application/json".into(),
            r#"{"message":"Hello post"}"#.into()
        )
    );
    // Percent-encoded path variables are decoded; an encoded slash splits the segment (as
    // Kratos' router sees it), so it does not match a single-segment variable.
    let (_, _, body) = call(s.http_addr, "GET", "/helloworld/a%20b%C3%A9", &[], "").await;
    assert_eq!(body, r#"{"message":"Hello a bé"}"#);
    let (status, _, _) = call(s.http_addr, "GET", "/helloworld/a%2Fb", &[], "").await;
    assert_eq!(status, 404);
    s.http.stop().await.unwrap();
    s.grpc.stop().await.unwrap();
}

#[tokio::test]
async fn http_errors_are_kratos_error_bodies() {
    let mut s = start().await;
    // A typed error from the service: its code is the status, the body is Kratos'.
    assert_eq!(
        call(s.http_addr, "GET", "/helloworld/error", &[], "").await,
        (
            404,
            "application/json".into(),
            r#"{"code":404,"reason":"USER_NOT_FOUND","message":"user not found: error","metadata":{}}"#
                .into()
        )
    );
    // A malformed body: 400 CODEC, the handler never runs.
    let (status, _, body) = call(
        s.http_addr,
        "POST",
        "/say_hello",
        &[("content-type", "application/json")],
        r#"{"name":"#,
    )
    .await;
    assert_eq!(status, 400);
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["reason"], "CODEC");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("body unmarshal"),
        "{body}"
    );
    // A Content-Type no codec is registered for: 400 CODEC naming it.
    let (status, _, body) = call(
        s.http_addr,
        "POST",
        "/say_hello",
        &[("content-type", "multipart/form-data; boundary=x")],
        "x",
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body.contains("unregister Content-Type: multipart/form-data; boundary=x"),
        "{body}"
    );
    // Unknown path: Kratos' own answer; wrong method: 405 with a Kratos error body.
    let (status, content_type, body) = call(s.http_addr, "GET", "/nope", &[], "").await;
    assert_eq!(
        (status, content_type.as_str(), body.as_str()),
        (404, "text/plain; charset=utf-8", "404 page not found\n")
    );
    let (status, _, body) = call(s.http_addr, "DELETE", "/helloworld/x", &[], "").await;
    assert_eq!((status, body.contains(r#""code":405"#)), (405, true));
    // Bad percent-encoding in a path variable.
    let (status, _, body) = call(s.http_addr, "GET", "/helloworld/%zz", &[], "").await;
    assert_eq!((status, body.contains("CODEC")), (400, true));
    s.http.stop().await.unwrap();
    s.grpc.stop().await.unwrap();
}

#[tokio::test]
async fn http_reply_codec_follows_accept() {
    let mut s = start().await;
    let (status, content_type, body) = call(
        s.http_addr,
        "GET",
        "/helloworld/proto",
        &[("accept", "application/proto")],
        "",
    )
    .await;
    assert_eq!((status, content_type.as_str()), (200, "application/proto"));
    let reply: helloworld::api::helloworld::v1::HelloReply =
        prost::Message::decode(body.as_bytes()).unwrap();
    assert_eq!(reply.message, "Hello proto");
    // An Accept no codec is registered for falls back to JSON.
    let (_, content_type, _) = call(
        s.http_addr,
        "GET",
        "/helloworld/x",
        &[("accept", "text/html,application/xhtml+xml")],
        "",
    )
    .await;
    assert_eq!(content_type, "application/json");
    s.http.stop().await.unwrap();
    s.grpc.stop().await.unwrap();
}

#[tokio::test]
async fn grpc_serves_the_same_implementation() {
    let mut s = start().await;
    let mut client = GreeterClient::connect(format!("http://{}", s.grpc_addr))
        .await
        .unwrap();
    let reply = client
        .say_hello(HelloRequest {
            name: "kratos".into(),
        })
        .await
        .unwrap();
    assert_eq!(reply.into_inner().message, "Hello kratos");
    // The typed error crosses gRPC with its reason.
    let status = client
        .say_hello(HelloRequest {
            name: "error".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::NotFound);
    let err = kratos::errors::Error::from(status);
    assert_eq!((err.code(), err.reason()), (404, "USER_NOT_FOUND"));
    assert!(helloworld::api::helloworld::v1::is_user_not_found(&err));
    s.http.stop().await.unwrap();
    s.grpc.stop().await.unwrap();
}

#[tokio::test]
async fn stop_waits_for_calls_in_flight_and_refuses_new_connections() {
    let mut s = start().await;
    let addr = s.http_addr;
    let (status, _, _) = call(addr, "GET", "/helloworld/before", &[], "").await;
    assert_eq!(status, 200);
    s.http.stop().await.unwrap();
    s.grpc.stop().await.unwrap();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

/// A middleware that records each call's transport and operation and adds a reply header.
fn recording(log: std::sync::Arc<std::sync::Mutex<Vec<String>>>) -> kratos::middleware::Middleware {
    use kratos::middleware::{Handler, Middleware};
    Middleware::new(move |next: Handler| {
        let log = log.clone();
        Handler::new(move |ctx, req| {
            let (next, log) = (next.clone(), log.clone());
            async move {
                let request = req
                    .downcast_ref::<HelloRequest>()
                    .map(|r| r.name.clone())
                    .unwrap_or_default();
                let reply = next.call(ctx.clone(), req).await;
                log.lock().unwrap().push(format!(
                    "{} {} {request} {}",
                    ctx.kind().as_str(),
                    ctx.operation(),
                    if reply.is_ok() { "ok" } else { "err" }
                ));
                ctx.reply_headers()
                    .insert("x-middleware", http::HeaderValue::from_static("seen"));
                reply
            }
        })
    })
}

#[tokio::test]
async fn one_middleware_chain_runs_on_both_transports() {
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let (mut http, mut grpc) = helloworld::servers(
        kratos::http::Server::builder()
            .address("127.0.0.1:0")
            .middleware_for("/helloworld.v1.Greeter/*", vec![recording(log.clone())]),
        kratos::grpc::Server::builder()
            .address("127.0.0.1:0")
            .middleware(recording(log.clone())),
    )
    .unwrap();
    let http_addr = http.start().await.unwrap();
    let grpc_addr = grpc.start().await.unwrap();

    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let response = client
        .request(
            http::Request::get(format!("http://{http_addr}/helloworld/mw"))
                .body(Full::new(Bytes::new()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.headers()["x-middleware"], "seen");

    let mut grpc_client = GreeterClient::connect(format!("http://{grpc_addr}"))
        .await
        .unwrap();
    let reply = grpc_client
        .say_hello(HelloRequest {
            name: "grpc".into(),
        })
        .await
        .unwrap();
    assert_eq!(reply.metadata().get("x-middleware").unwrap(), "seen");
    let status = grpc_client
        .say_hello(HelloRequest {
            name: "error".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.metadata().get("x-middleware").unwrap(), "seen");

    assert_eq!(
        *log.lock().unwrap(),
        [
            "http /helloworld.v1.Greeter/SayHello mw ok",
            "grpc /helloworld.v1.Greeter/SayHello grpc ok",
            "grpc /helloworld.v1.Greeter/SayHello error err",
        ]
    );
    http.stop().await.unwrap();
    grpc.stop().await.unwrap();
}
