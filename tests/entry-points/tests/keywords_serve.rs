//! The keyword fixture, built through build.rs, serves its routes over HTTP and gRPC: services,
//! methods and fields named after Rust keywords bind, validate, answer errors and echo.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use entry_points::Echo;
use entry_points::keywords::{nogrpc, v1 as pb};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use kratos::transport::Server as _;
use serde_json::{Value, json};

async fn http_server() -> (kratos::http::Server, SocketAddr) {
    let mut server = kratos::http::Server::builder()
        .address("127.0.0.1:0")
        .middleware(kratos::validate::middleware())
        .build();
    let echo = Arc::new(Echo);
    pb::register_type_http_server(&mut server, echo.clone()).unwrap();
    pb::register_match_http_server(&mut server, echo.clone()).unwrap();
    pb::register_fn_http_server(&mut server, echo.clone()).unwrap();
    pb::register_self_http_server(&mut server, echo.clone()).unwrap();
    pb::register_keywords_http_server(&mut server, echo.clone()).unwrap();
    nogrpc::v1::register_box_http_server(&mut server, echo).unwrap();
    let addr = server.start().await.unwrap();
    (server, addr)
}

async fn call(addr: SocketAddr, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut request = http::Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"));
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let response = client
        .request(request.body(Full::new(Bytes::from(body))).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn keyword_routes_bind_path_query_and_body() {
    let (mut server, addr) = http_server().await;

    // Path variable `type`, query parameters `match`, `fn` and `self`.
    let (status, body) = call(
        addr,
        "GET",
        "/v1/service/Type/abc?match=m&fn=f&self=s&gen=g",
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (
            &body["type"],
            &body["match"],
            &body["fn"],
            &body["self"],
            &body["gen"]
        ),
        (
            &json!("abc"),
            &json!("m"),
            &json!("f"),
            &json!("s"),
            &json!("g")
        )
    );

    for service in ["Match", "Fn", "Self", "Box"] {
        let (status, body) = call(addr, "GET", &format!("/v1/service/{service}/x1"), None).await;
        assert_eq!(status, 200, "{service}: {body}");
        assert_eq!(body["type"], "x1", "{service}");
    }

    // A whole body of keyword fields, nested keyword messages, a keyword oneof and enum.
    let refs = json!({
        "type": {"type": "t"},
        "self": {"self": "s"},
        "fn": [{"fn": "a"}, {"fn": "b"}],
        "box": {"k": {"box": "v"}},
        "async": "as",
        "kind": "self",
        "crate": "MATCH_SELF",
    });
    for method in ["as", "type", "self", "gen", "macro_rules", "union", "super"] {
        let (status, body) = call(
            addr,
            "POST",
            &format!("/v1/methods/{method}"),
            Some(refs.clone()),
        )
        .await;
        assert_eq!(status, 200, "{method}: {body}");
        assert_eq!(body["type"]["type"], "t", "{method}: {body}");
        assert_eq!(body["fn"][1]["fn"], "b", "{method}: {body}");
        assert_eq!(body["box"]["k"]["box"], "v", "{method}: {body}");
        assert_eq!(body["async"], "as", "{method}: {body}");
        assert_eq!(body["kind"], "self", "{method}: {body}");
        assert_eq!(body["crate"], "MATCH_SELF", "{method}: {body}");
    }

    server.stop().await.unwrap();
}

#[tokio::test]
async fn keyword_validation_rules_and_errors_apply() {
    let (mut server, addr) = http_server().await;

    // `type` is a required message; `async` has min_len 2; `fn` at most 3 items.
    let (status, body) = call(addr, "POST", "/v1/methods/loop", Some(json!({}))).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["reason"], "VALIDATOR", "{body}");
    assert!(body["message"].as_str().unwrap().contains("Type"), "{body}");
    let (status, body) = call(
        addr,
        "POST",
        "/v1/methods/loop",
        Some(json!({"type": {}, "async": "a"})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("Async"),
        "{body}"
    );

    // A field rule on a keyword field of a path-bound request: `where` at most 8 characters.
    let (status, body) = call(addr, "GET", "/v1/service/Type/x?where=123456789", None).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("Where"),
        "{body}"
    );

    // The error enum's keyword reasons.
    let (status, body) = call(
        addr,
        "POST",
        "/v1/methods/return",
        Some(json!({"type": {}})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["reason"], "RETURN", "{body}");
    assert!(pb::is_return(&pb::error_return("x")));
    assert!(!pb::is_type(&pb::error_return("x")));

    server.stop().await.unwrap();
}

#[tokio::test]
async fn keyword_services_answer_grpc_calls() {
    let mut grpc = kratos::grpc::Server::builder()
        .address("127.0.0.1:0")
        .middleware(kratos::validate::middleware())
        .build();
    pb::register_type_grpc_server(&mut grpc, Arc::new(Echo)).unwrap();
    pb::register_self_grpc_server(&mut grpc, Arc::new(Echo)).unwrap();
    pb::register_keywords_grpc_server(&mut grpc, Arc::new(Echo)).unwrap();
    let addr = grpc.start().await.unwrap();
    let uri = format!("http://{addr}");

    let mut client = pb::type_client::TypeClient::connect(uri.clone())
        .await
        .unwrap();
    let request = pb::Fields {
        r#type: "t".into(),
        r#match: "m".into(),
        self_: "s".into(),
        r#gen: "g".into(),
        ..Default::default()
    };
    let reply = client.r#type(request.clone()).await.unwrap().into_inner();
    assert_eq!(reply, request);

    let mut client = pb::self__client::Self_Client::connect(uri.clone())
        .await
        .unwrap();
    let reply = client.self_(request.clone()).await.unwrap().into_inner();
    assert_eq!(reply, request);

    let mut client = pb::keywords_client::KeywordsClient::connect(uri)
        .await
        .unwrap();
    let refs = pb::Refs {
        r#type: Some(pb::names::Type { r#type: "t".into() }),
        r#loop: Some(pb::refs::Loop::Async("as".into())),
        kind: pb::kinds::Kind::Self_ as i32,
        ..Default::default()
    };
    let reply = client.r#await(refs.clone()).await.unwrap().into_inner();
    assert_eq!(reply, refs);
    // Validation runs on gRPC too: `async` is at least 2 characters.
    let invalid = pb::Refs {
        r#loop: Some(pb::refs::Loop::Async("a".into())),
        ..refs
    };
    let status = client.r#await(invalid).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");

    grpc.stop().await.unwrap();
}
