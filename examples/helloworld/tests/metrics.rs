//! helloworld serves Kratos' request metrics of both servers at `/metrics`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use helloworld::api::helloworld::v1::HelloRequest;
use helloworld::api::helloworld::v1::greeter_client::GreeterClient;
use kratos::transport::Server as _;

#[tokio::test]
async fn metrics_count_http_and_grpc_calls_under_kratos_names() {
    let (mut http, mut grpc) = helloworld::servers(
        kratos::http::Server::builder().address("127.0.0.1:0"),
        kratos::grpc::Server::builder().address("127.0.0.1:0"),
    )
    .unwrap();
    let http_addr = http.start().await.unwrap();
    let grpc_addr = grpc.start().await.unwrap();

    let client = kratos::http::Client::builder(http_addr.to_string())
        .build()
        .unwrap();
    for path in ["/helloworld/a", "/helloworld/b", "/helloworld/error"] {
        let _ = client.send(http::Method::GET, path, None).await;
    }
    let mut greeter = GreeterClient::connect(format!("http://{grpc_addr}"))
        .await
        .unwrap();
    greeter
        .say_hello(HelloRequest { name: "g".into() })
        .await
        .unwrap();

    let reply = client
        .send_body(http::Method::GET, "/metrics", None)
        .await
        .unwrap();
    assert_eq!(reply.media_type(), kratos::metrics::CONTENT_TYPE);
    let text = String::from_utf8(reply.body.to_vec()).unwrap();
    let op = r#"operation="/helloworld.v1.Greeter/SayHello""#;
    for (line, value) in [
        (
            format!(r#"server_requests_code_total{{kind="http",{op},code="200",reason=""}}"#),
            "2",
        ),
        (
            format!(
                r#"server_requests_code_total{{kind="http",{op},code="404",reason="USER_NOT_FOUND"}}"#
            ),
            "1",
        ),
        (
            format!(r#"server_requests_code_total{{kind="grpc",{op},code="200",reason=""}}"#),
            "1",
        ),
        (
            format!(r#"server_requests_seconds_count{{kind="http",{op}}}"#),
            "3",
        ),
    ] {
        let found = text
            .lines()
            .find_map(|l| l.strip_prefix(line.as_str()).map(str::trim));
        assert_eq!(found, Some(value), "{line}\n{text}");
    }
    http.stop().await.unwrap();
    grpc.stop().await.unwrap();
}
