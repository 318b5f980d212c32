//! Replays every exchange recorded from the reference Kratos v2.9.2 server against this one,
//! with the recordings' own comparison script (testdata/kratos/check.py).
//!
//! Every case must match, except the ones listed in [`KNOWN`]: for each of those this test
//! asserts what we answer instead, and why, so a change in either direction is noticed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use kratos::transport::Server as _;

/// Cases answered differently from the recording, with the reason and what we answer.
const KNOWN: &[(&str, &str, u16)] = &[
    // Kratos v2 crashes decoding a proto body into a named body field (a nil-pointer
    // dereference); Kratos v3 decodes into the field, and so do we.
    (
        "patch_book_proto",
        "v3 behaviour: the proto body is decoded into the `book` field",
        200,
    ),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_recorded_kratos_exchange_matches() {
    let (mut http, _grpc) = oracle_server::servers(
        kratos::http::Server::builder().address("127.0.0.1:0"),
        kratos::grpc::Server::builder().address("127.0.0.1:0"),
    )
    .unwrap();
    let addr = http.start().await.unwrap();
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/kratos");
    let all = std::fs::read_to_string(data.join("cases.jsonl")).unwrap();
    let (known, checked): (Vec<&str>, Vec<&str>) = all.lines().partition(|line| {
        KNOWN
            .iter()
            .any(|(id, _, _)| line.contains(&format!("\"id\": \"{id}\"")))
    });
    assert_eq!(
        known.len(),
        KNOWN.len(),
        "every known case is in the recordings"
    );
    let dir = tempfile::tempdir().unwrap();
    let cases = dir.path().join("cases.jsonl");
    std::fs::write(&cases, checked.join("\n") + "\n").unwrap();

    let script = data.join("check.py");
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .arg(script)
            .arg(addr.to_string())
            .arg(cases)
            .output()
    })
    .await
    .unwrap()
    .expect("run python3 (scripts/install-deps.sh installs it)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}{}", String::from_utf8_lossy(&output.stderr));
    let summary = stdout.lines().last().unwrap_or_default();
    assert_eq!(
        summary,
        format!(
            "kratos oracle: {}/{} exchanges match",
            checked.len(),
            checked.len()
        ),
        "{stdout}"
    );
    assert!(output.status.success());

    for line in known {
        let case: serde_json::Value = serde_json::from_str(line).unwrap();
        let id = case["id"].as_str().unwrap();
        let (_, why, want) = KNOWN.iter().find(|(k, _, _)| *k == id).unwrap();
        let status = replay(addr, &case).await;
        assert_eq!(status, *want, "{id} ({why})");
    }
    http.stop().await.unwrap();
}

/// Sends a recorded request; returns the status.
async fn replay(addr: std::net::SocketAddr, case: &serde_json::Value) -> u16 {
    use base64::Engine as _;
    use http_body_util::BodyExt as _;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<bytes::Bytes>>();
    let mut request = http::Request::builder()
        .method(case["method"].as_str().unwrap())
        .uri(format!("http://{addr}{}", case["path"].as_str().unwrap()));
    for pair in case["request_headers"].as_array().unwrap() {
        let (k, v) = (pair[0].as_str().unwrap(), pair[1].as_str().unwrap());
        if !k.eq_ignore_ascii_case("host") && !k.eq_ignore_ascii_case("content-length") {
            request = request.header(k, v);
        }
    }
    let body = case["request_body_b64"]
        .as_str()
        .map(|b| base64::engine::general_purpose::STANDARD.decode(b).unwrap())
        .unwrap_or_default();
    let response = client
        .request(
            request
                .body(http_body_util::Full::new(bytes::Bytes::from(body)))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status().as_u16();
    let _ = response.into_body().collect().await;
    status
}
