//! Tower layers around the HTTP server: they see every request, may change the response body
//! type, and their errors are answered with Kratos error bodies.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use kratos::http::layers::{BoxError, LayerBody};
use kratos::transport::Server as _;

async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, http::HeaderMap, String) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let response = client
        .request(
            Request::get(format!("http://{addr}{path}"))
                .body(Full::default())
                .unwrap(),
        )
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    (
        parts.status.as_u16(),
        parts.headers,
        String::from_utf8(body.to_vec()).unwrap(),
    )
}

fn routes(builder: kratos::http::ServerBuilder) -> kratos::http::Server {
    let mut server = builder.address("127.0.0.1:0").build();
    server
        .handle("GET", "/fast", |_, _| async {
            Response::new(Bytes::from("fast"))
        })
        .unwrap();
    server
        .handle("GET", "/slow", |_, _| async {
            tokio::time::sleep(Duration::from_millis(500)).await;
            Response::new(Bytes::from("late"))
        })
        .unwrap();
    server
}

#[tokio::test]
async fn layers_wrap_every_request_and_may_change_the_body() {
    let mut server = routes(
        kratos::http::Server::builder()
            .layer(tower::util::MapResponseLayer::new(
                |mut r: Response<LayerBody>| {
                    r.headers_mut().insert("x-layer", "inner".parse().unwrap());
                    r
                },
            ))
            .layer(tower::util::MapResponseLayer::new(
                |r: Response<LayerBody>| {
                    let (parts, _) = r.into_parts();
                    Response::from_parts(parts, Full::new(Bytes::from("replaced")))
                },
            )),
    );
    let addr = server.start().await.unwrap();
    let (status, headers, body) = get(addr, "/fast").await;
    assert_eq!((status, body.as_str()), (200, "replaced"));
    assert_eq!(headers["x-layer"], "inner");
    // Unknown routes go through the layers too.
    let (status, headers, _) = get(addr, "/nope").await;
    assert_eq!(
        (status, headers["x-layer"].to_str().unwrap()),
        (404, "inner")
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn layer_errors_are_kratos_errors() {
    let mut server = routes(kratos::http::Server::builder().layer(
        tower::timeout::TimeoutLayer::new(Duration::from_millis(100)),
    ));
    let addr = server.start().await.unwrap();
    assert_eq!(get(addr, "/fast").await.0, 200);
    let (status, _, body) = get(addr, "/slow").await;
    assert_eq!(status, 504);
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["reason"], "TIMEOUT");
    server.stop().await.unwrap();

    let failing = tower::layer::layer_fn(|_inner| {
        tower::service_fn(|_req: Request<kratos::http::layers::Body>| async {
            Err::<Response<Full<Bytes>>, BoxError>("refused by the layer".into())
        })
    });
    let mut server = routes(kratos::http::Server::builder().layer(failing));
    let addr = server.start().await.unwrap();
    let (status, _, body) = get(addr, "/fast").await;
    assert_eq!(status, 500);
    assert!(body.contains("refused by the layer"), "{body}");
    server.stop().await.unwrap();
}
