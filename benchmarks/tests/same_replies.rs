//! The two servers compared by the benchmarks answer the benchmarked requests with the same
//! status and body (the same JSON, of the same length: only the order of map entries, which
//! are hash maps, may differ), so the comparison is like for like.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use benchmarks::{CREATE_SHELF_BODY, Client, GET_PATH, KratosSetup, POST_PATH};
use bytes::Bytes;
use kratos::transport::Server as _;

#[tokio::test]
async fn kratos_and_axum_answer_the_same() {
    for setup in [KratosSetup::Bare, KratosSetup::Oracle] {
        let mut kratos =
            benchmarks::kratos_server(benchmarks::bind_loopback(0).unwrap(), setup).unwrap();
        let kratos_addr = kratos.start().await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let axum_addr = listener.local_addr().unwrap();
        let axum = tokio::spawn(benchmarks::serve_axum(listener));

        let mut k = Client::connect(kratos_addr).await.unwrap();
        let mut a = Client::connect(axum_addr).await.unwrap();
        let (ks, kb) = k.get(GET_PATH).await.unwrap();
        let (as_, ab) = a.get(GET_PATH).await.unwrap();
        assert_eq!(ks, 200, "{kb:?}");
        same(ks, &kb, as_, &ab);
        let shelf: serde_json::Value = serde_json::from_slice(&kb).unwrap();
        assert_eq!(shelf["request"]["shelf"], "1");

        let body = Bytes::from_static(CREATE_SHELF_BODY.as_bytes());
        let (ks, kb) = k.post_json(POST_PATH, body.clone()).await.unwrap();
        let (as_, ab) = a.post_json(POST_PATH, body).await.unwrap();
        assert_eq!(ks, 200, "{kb:?}");
        same(ks, &kb, as_, &ab);
        let reply: serde_json::Value = serde_json::from_slice(&kb).unwrap();
        assert_eq!(reply["id"], "new-shelf");
        assert_eq!(
            reply["request"]["shelf"]["books"][2]["title"],
            "The Guns of August"
        );
        assert!(
            (1000..1300).contains(&CREATE_SHELF_BODY.len()),
            "the POST body is about 1.1 KB"
        );

        axum.abort();
        kratos.stop().await.unwrap();
    }
}

fn same(
    kratos_status: http::StatusCode,
    kratos: &[u8],
    axum_status: http::StatusCode,
    axum: &[u8],
) {
    assert_eq!(kratos_status, axum_status);
    assert_eq!(kratos.len(), axum.len(), "same body length");
    let k: serde_json::Value = serde_json::from_slice(kratos).unwrap();
    let a: serde_json::Value = serde_json::from_slice(axum).unwrap();
    assert_eq!(k, a);
}
