//! Rate limiting on real servers: under a simulated CPU overload (an injected CPU reading) some
//! concurrent calls are rejected with 429 `RATELIMIT` / `ResourceExhausted`, and all pass again
//! once the load is gone; a per-key quota answers 429 with `Retry-After`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use helloworld::api::helloworld::v1::HelloRequest;
use helloworld::api::helloworld::v1::greeter_client::GreeterClient;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use kratos::middleware::ratelimit::{Bbr, BbrOptions, Quota, header_key};
use kratos::middleware::{Handler, Middleware};
use kratos::transport::Server as _;

/// Makes every call take 200 ms, so that concurrent calls are in flight together.
fn slow() -> Middleware {
    Middleware::new(|next: Handler| {
        Handler::new(move |ctx, req| {
            let call = next.call(ctx, req);
            async move {
                tokio::time::sleep(Duration::from_millis(200)).await;
                call.await
            }
        })
    })
}

async fn start(
    middleware: Vec<Middleware>,
) -> (
    kratos::http::Server,
    kratos::grpc::Server,
    SocketAddr,
    SocketAddr,
) {
    let mut http_builder = kratos::http::Server::builder().address("127.0.0.1:0");
    let mut grpc_builder = kratos::grpc::Server::builder().address("127.0.0.1:0");
    for m in middleware {
        http_builder = http_builder.middleware(m.clone());
        grpc_builder = grpc_builder.middleware(m);
    }
    let (mut http, mut grpc) = helloworld::servers(http_builder, grpc_builder).unwrap();
    let http_addr = http.start().await.unwrap();
    let grpc_addr = grpc.start().await.unwrap();
    (http, grpc, http_addr, grpc_addr)
}

/// `GET /helloworld/{name}`: status, `Retry-After` and body.
async fn get(addr: SocketAddr, name: &str, user: Option<&str>) -> (u16, Option<String>, String) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut request = http::Request::get(format!("http://{addr}/helloworld/{name}"));
    if let Some(user) = user {
        request = request.header("x-user", user);
    }
    let response = client
        .request(request.body(Full::new(Bytes::new())).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        retry_after,
        String::from_utf8(body.to_vec()).unwrap(),
    )
}

/// `n` concurrent HTTP calls; their statuses and bodies.
async fn burst_http(addr: SocketAddr, n: usize) -> Vec<(u16, String)> {
    let calls: Vec<_> = (0..n)
        .map(|i| tokio::spawn(async move { get(addr, &format!("n{i}"), None).await }))
        .collect();
    let mut out = Vec::new();
    for c in calls {
        let (status, _, body) = c.await.unwrap();
        out.push((status, body));
    }
    out
}

/// `n` concurrent gRPC calls on one connection; their outcomes.
async fn burst_grpc(
    client: &GreeterClient<tonic::transport::Channel>,
    n: usize,
) -> Vec<Result<(), tonic::Status>> {
    let calls: Vec<_> = (0..n)
        .map(|i| {
            let mut client = client.clone();
            tokio::spawn(async move {
                client
                    .say_hello(HelloRequest {
                        name: format!("n{i}"),
                    })
                    .await
                    .map(|_| ())
            })
        })
        .collect();
    let mut out = Vec::new();
    for c in calls {
        out.push(c.await.unwrap());
    }
    out
}

#[tokio::test]
async fn an_overload_rejects_some_calls_with_ratelimit_and_the_limiter_recovers() {
    let cpu = Arc::new(AtomicU64::new(0));
    let bbr = Bbr::new(BbrOptions {
        cpu: cpu.clone(),
        ..BbrOptions::default()
    });
    let (mut http, mut grpc, http_addr, grpc_addr) = start(vec![bbr.middleware(), slow()]).await;
    let grpc_client = GreeterClient::connect(format!("http://{grpc_addr}"))
        .await
        .unwrap();

    // No load: every call passes.
    assert!(
        burst_http(http_addr, 8)
            .await
            .iter()
            .all(|(s, _)| *s == 200)
    );
    assert!(burst_grpc(&grpc_client, 8).await.iter().all(Result::is_ok));

    // Overload: the CPU is over 80 %; calls beyond the measured capacity are rejected. The
    // bursts above measured at most 8 calls of 200 ms per 100 ms bucket: a capacity of at most
    // 8 × 200 × 10 / 1000 = 16 calls in flight, which 40 concurrent calls exceed.
    cpu.store(950, Ordering::Relaxed);
    let replies = burst_http(http_addr, 40).await;
    let rejected: Vec<_> = replies.iter().filter(|(s, _)| *s == 429).collect();
    assert!(!rejected.is_empty(), "{replies:?}");
    assert!(replies.iter().any(|(s, _)| *s == 200), "{replies:?}");
    for (_, body) in rejected {
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["code"], 429);
        assert_eq!(body["reason"], "RATELIMIT");
        assert_eq!(
            body["message"],
            "service unavailable due to rate limit exceeded"
        );
    }
    let outcomes = burst_grpc(&grpc_client, 40).await;
    let rejected: Vec<_> = outcomes.iter().filter_map(|o| o.as_ref().err()).collect();
    assert!(!rejected.is_empty(), "{outcomes:?}");
    for status in rejected {
        assert_eq!(status.code(), tonic::Code::ResourceExhausted);
        assert_eq!(
            status.message(),
            "service unavailable due to rate limit exceeded"
        );
    }

    // The load ends; past the one-second cool-down every call passes again.
    cpu.store(100, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(
        burst_http(http_addr, 40)
            .await
            .iter()
            .all(|(s, _)| *s == 200)
    );
    assert!(burst_grpc(&grpc_client, 40).await.iter().all(Result::is_ok));

    http.stop().await.unwrap();
    grpc.stop().await.unwrap();
}

#[tokio::test]
async fn a_per_key_quota_answers_429_with_retry_after() {
    let quota = Quota::new(
        NonZeroU32::new(1).unwrap(),
        Duration::from_secs(60),
        header_key(http::HeaderName::from_static("x-user")),
    )
    .burst(NonZeroU32::new(2).unwrap());
    let (mut http, mut grpc, http_addr, grpc_addr) = start(vec![quota.middleware()]).await;

    // Alice's burst of two, then 429 with the seconds to wait (one call per 60 s).
    assert_eq!(get(http_addr, "a", Some("alice")).await.0, 200);
    assert_eq!(get(http_addr, "a", Some("alice")).await.0, 200);
    let (status, retry_after, body) = get(http_addr, "a", Some("alice")).await;
    assert_eq!(status, 429, "{body}");
    let seconds: u64 = retry_after.unwrap().parse().unwrap();
    assert!((58..=60).contains(&seconds), "{seconds}");
    assert!(body.contains("\"RATELIMIT\""), "{body}");
    // Bob has his own quota; calls without the header are not subject to it.
    assert_eq!(get(http_addr, "b", Some("bob")).await.0, 200);
    for _ in 0..3 {
        assert_eq!(get(http_addr, "c", None).await.0, 200);
    }

    // gRPC: the same quota (the middleware is shared), the wait in the status' metadata.
    let mut client = GreeterClient::connect(format!("http://{grpc_addr}"))
        .await
        .unwrap();
    let mut request = tonic::Request::new(HelloRequest { name: "g".into() });
    request
        .metadata_mut()
        .insert("x-user", "alice".parse().unwrap());
    let status = client.say_hello(request).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::ResourceExhausted);
    let seconds: u64 = status
        .metadata()
        .get("retry-after")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((58..=60).contains(&seconds), "{seconds}");

    http.stop().await.unwrap();
    grpc.stop().await.unwrap();
}
