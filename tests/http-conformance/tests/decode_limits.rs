//! The body limit bounds what a body may become once decoded, in every codec: YAML aliases
//! count their expanded size, XML element paths (form keys) cannot outgrow the body, nesting is
//! capped, and decoding work is linear. Each test sends, through a real server, a body that
//! made the server allocate gigabytes or spin for minutes before these limits; if a limit
//! regresses, the bounded wait in [`send`] fails the test instead of taking the machine down
//! (the inputs are sized so that the old code needs well over the wait).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use kratos::transport::Server as _;
use prost::Message as _;
use serde_json::Value;

use http_conformance::helloworld::v1 as pb;

/// How long any one request may take. Every request here is answered in well under a second
/// once bounded; the unbounded decoding took from tens of seconds to forever.
const WAIT: Duration = Duration::from_secs(30);

async fn server(max_body: Option<usize>) -> (kratos::http::Server, SocketAddr) {
    let mut builder = kratos::http::Server::builder().address("127.0.0.1:0");
    if let Some(limit) = max_body {
        builder = builder.max_body_bytes(limit);
    }
    let mut server = builder.build();
    pb::register_greeter_http_server(&mut server, Arc::new(http_conformance::Echo)).unwrap();
    let addr = server.start().await.unwrap();
    (server, addr)
}

/// Sends a request and returns the status and the JSON reply, failing if it takes over
/// [`WAIT`].
async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    ctype: &str,
    body: Vec<u8>,
) -> (u16, Value) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let request = http::Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"))
        .header("content-type", ctype)
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let exchange = async {
        let response = client.request(request).await.unwrap();
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, body)
    };
    let (status, body) = tokio::time::timeout(WAIT, exchange)
        .await
        .unwrap_or_else(|_| panic!("no answer within {WAIT:?}: decoding is not bounded"));
    let json = serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&body)));
    (status, json)
}

async fn post(addr: SocketAddr, ctype: &str, body: impl Into<Vec<u8>>) -> (u16, Value) {
    send(addr, "POST", "/bind", ctype, body.into()).await
}

/// A 400 `CODEC` error whose message contains `part`.
fn assert_codec_error(reply: &(u16, Value), part: &str) {
    assert_eq!(reply.0, 400, "{}", reply.1);
    assert_eq!(reply.1["reason"], "CODEC", "{}", reply.1);
    let message = reply.1["message"].as_str().unwrap();
    assert!(message.contains(part), "{message:?} does not say {part:?}");
}

const YAML: &str = "application/yaml";
const XML: &str = "application/xml";
const FORM: &str = "application/x-www-form-urlencoded";

// Finding 1: a 100 KB anchor named by 12,000 aliases would expand to 1.2 GB.
#[tokio::test]
async fn yaml_aliases_count_their_expanded_size() {
    let (mut server, addr) = server(None).await;
    let anchor = "x".repeat(100_000);
    let bomb = format!(
        "name: &a {anchor}\nstrings: [{}]\n",
        vec!["*a"; 12_000].join(", ")
    );
    assert_codec_error(
        &post(addr, YAML, bomb).await,
        "YAML aliases expanded exceed the decoded size limit of 4194304 bytes",
    );
    // Anchors naming anchors: 2^40 copies.
    let mut laughs = String::from("data:\n  a0: &a0 [lol]\n");
    for i in 1..40 {
        laughs.push_str(&format!("  a{i}: &a{i} [*a{0}, *a{0}]\n", i - 1));
    }
    let reply = post(addr, YAML, laughs).await;
    assert_eq!(reply.0, 400, "{}", reply.1);
    assert_eq!(reply.1["reason"], "CODEC");

    // Within the limit, aliases are expanded, as yaml.v3 does.
    let (status, body) = post(addr, YAML, "name: &a hi\nstrings: [*a, *a, *a]\n").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["name"], "hi");
    assert_eq!(body["strings"], serde_json::json!(["hi", "hi", "hi"]));
    server.stop().await.unwrap();
}

// The limit is the server's body limit: a 10 KB body expanding to 100 KB is fine under the
// default 4 MiB and refused under a 64 KiB limit.
#[tokio::test]
async fn yaml_expansion_follows_the_configured_body_limit() {
    let body = format!(
        "name: &a {}\nstrings: [{}]\n",
        "y".repeat(10_000),
        ["*a"; 10].join(", ")
    );
    let (mut default, addr) = server(None).await;
    let (status, reply) = post(addr, YAML, body.clone()).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["strings"].as_array().unwrap().len(), 10);
    default.stop().await.unwrap();

    let (mut small, addr) = server(Some(64 * 1024)).await;
    assert_codec_error(
        &post(addr, YAML, body).await,
        "exceed the decoded size limit of 65536 bytes",
    );
    small.stop().await.unwrap();
}

// Finding 2: keys grow with depth × leaves. 60,000 nested elements over 60,000 leaves made
// 60,000 keys of 120 KB (7 GB before the process was killed).
#[tokio::test]
async fn xml_nesting_is_capped() {
    let (mut server, addr) = server(None).await;
    let body = format!(
        "<R>{}{}{}</R>",
        "<A>".repeat(60_000),
        "<B/>".repeat(60_000),
        "</A>".repeat(60_000)
    );
    assert_codec_error(
        &post(addr, XML, body).await,
        "XML elements nested deeper than 100 levels",
    );
    // 100 levels, the root included, are fine (the unknown fields are ignored).
    let body = format!(
        "<R>{}<Name>deep</Name>{}<Name>top</Name></R>",
        "<A>".repeat(98),
        "</A>".repeat(98)
    );
    let (status, reply) = post(addr, XML, body).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["name"], "top");
    server.stop().await.unwrap();
}

// Within the depth cap, long element names make long keys: 99 names of 1 KB over 15,000
// leaves would be 15,000 keys of 99 KB (1.5 GB). The keys together may not exceed the body
// limit.
#[tokio::test]
async fn xml_keys_cannot_outgrow_the_body_limit() {
    let (mut server, addr) = server(None).await;
    let name = format!("A{}", "a".repeat(1000));
    let body = format!(
        "<R>{}{}{}</R>",
        format!("<{name}>").repeat(98),
        "<B/>".repeat(15_000),
        format!("</{name}>").repeat(98)
    );
    assert_codec_error(
        &post(addr, XML, body).await,
        "XML element paths exceed the decoded size limit of 4194304 bytes",
    );
    server.stop().await.unwrap();
}

// Finding 3: `[` × 128,000 cost 46 s of CPU in libyaml before the 400.
#[tokio::test]
async fn yaml_flow_nesting_is_capped() {
    let (mut server, addr) = server(None).await;
    for n in [128_000, 1_000_000] {
        assert_codec_error(
            &post(addr, YAML, "[".repeat(n)).await,
            "YAML flow collections nested deeper than 100 levels",
        );
        assert_codec_error(
            &post(addr, YAML, format!("data: {{a: {}", "{a: ".repeat(n))).await,
            "YAML flow collections nested deeper than 100 levels",
        );
    }
    // 99 levels of flow collections in a Struct decode.
    let body = format!("data: {{a: {}1{}}}", "[".repeat(98), "]".repeat(98));
    let (status, reply) = post(addr, YAML, body).await;
    assert_eq!(status, 200, "{reply}");
    assert!(reply["data"]["a"].is_array());
    // Brackets in quoted, plain and block scalars are text.
    let body = format!(
        "name: \"{0}\"\nstrings:\n  - x{0}\n  - |\n    {0}\n",
        "[".repeat(1000)
    );
    let (status, reply) = post(addr, YAML, body).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["name"].as_str().unwrap().len(), 1000);
    server.stop().await.unwrap();
}

// JSON: serde_json's recursion limit (128) holds on the pbjson path and for
// `google.protobuf.Struct`/`Value`/`ListValue`; unknown fields are skipped without recursion
// (serde_json's skipping keeps one byte per level), so deep nesting there costs linear work.
#[tokio::test]
async fn json_nesting_is_capped() {
    let (mut server, addr) = server(None).await;
    for body in [
        format!("{{\"data\": {{\"a\": {}", "[".repeat(1_000_000)),
        format!("{{\"data\": {}", "{\"a\": ".repeat(500_000)),
        format!(
            "{{\"data\": {{\"a\": {}1{}}}}}",
            "[".repeat(200),
            "]".repeat(200)
        ),
    ] {
        assert_codec_error(
            &post(addr, "application/json", body).await,
            "recursion limit exceeded",
        );
    }
    for body in [
        format!("{{\"sub\": {}", "{\"x\": ".repeat(500_000)),
        format!("{{\"unknown\": {}", "[".repeat(1_000_000)),
    ] {
        assert_codec_error(
            &post(addr, "application/json", body).await,
            "EOF while parsing",
        );
    }
    let body = format!(
        "{{\"data\": {{\"a\": {}1{}}}}}",
        "[".repeat(100),
        "]".repeat(100)
    );
    let (status, reply) = post(addr, "application/json", body).await;
    assert_eq!(status, 200, "{reply}");
    server.stop().await.unwrap();
}

/// A `google.protobuf.Value` holding lists nested `depth` deep.
fn nested_value(depth: usize) -> pbjson_types::Value {
    let mut value = pbjson_types::Value {
        kind: Some(pbjson_types::value::Kind::StringValue("deep".into())),
    };
    for _ in 0..depth {
        value = pbjson_types::Value {
            kind: Some(pbjson_types::value::Kind::ListValue(
                pbjson_types::ListValue {
                    values: vec![value],
                },
            )),
        };
    }
    value
}

// Protobuf: prost's recursion limit (100) holds for `Struct` values.
#[tokio::test]
async fn proto_nesting_is_capped() {
    let (mut server, addr) = server(None).await;
    // Each level is a `Value` holding a `ListValue`: two messages.
    for (depth, status) in [(45, 200), (500, 400)] {
        let message = pb::Complex {
            data: Some(pbjson_types::Struct {
                fields: [("a".to_string(), nested_value(depth))].into(),
            }),
            ..Default::default()
        };
        let reply = post(addr, "application/proto", message.encode_to_vec()).await;
        assert_eq!(reply.0, status, "depth {depth}: {}", reply.1);
        if status == 400 {
            assert_codec_error(&reply, "recursion limit reached");
        }
    }
    // Unknown fields nested as groups (field 100, start group: 0xA3 0x06) are skipped with
    // the same limit.
    let groups = [0xA3u8, 0x06].repeat(1_000_000);
    assert_codec_error(
        &post(addr, "application/proto", groups).await,
        "recursion limit reached",
    );
    server.stop().await.unwrap();
}

// Form bodies: grouping values by key was a linear search per pair (40,000 distinct keys: 10 s
// of CPU; a 4 MiB body: half an hour). It is a hash lookup now.
#[tokio::test]
async fn many_form_keys_bind_in_linear_time() {
    let (mut server, addr) = server(None).await;
    let mut body = (0..400_000)
        .map(|i| format!("k{i}="))
        .collect::<Vec<_>>()
        .join("&");
    body.push_str("&name=last");
    let (status, reply) = post(addr, FORM, body).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["name"], "last");
    server.stop().await.unwrap();
}

// Form keys (body and query) may have at most 100 segments: each one is a level binding
// descends into.
#[tokio::test]
async fn form_keys_are_capped_in_depth() {
    let (mut server, addr) = server(None).await;
    let deep = format!("{}naming", "sub.".repeat(200));
    assert_codec_error(
        &post(addr, FORM, format!("{deep}=x")).await,
        "key nested deeper than 100 levels",
    );
    assert_codec_error(
        &send(addr, "GET", &format!("/bind?{deep}=x"), FORM, Vec::new()).await,
        "key nested deeper than 100 levels",
    );
    // A `google.protobuf.Struct` in the query is JSON, with serde_json's recursion limit.
    let query = format!("/bind?data=%7B%22a%22%3A{}", "%5B".repeat(20_000));
    assert_codec_error(
        &send(addr, "GET", &query, FORM, Vec::new()).await,
        "recursion limit exceeded",
    );
    // 100 segments are fine (an unknown field is ignored).
    let (status, reply) = post(addr, FORM, format!("{}x=1&name=n", "a.".repeat(99))).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["name"], "n");
    server.stop().await.unwrap();
}
