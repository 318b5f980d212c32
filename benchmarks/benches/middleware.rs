//! The request-path cost of the resilience middleware: `GET /v1/shelves/1` of the oracle
//! service's generated routes over one kept-alive loopback connection (as `routing.rs`), served
//! bare, behind a no-op middleware (the cost of having a chain at all: the request and reply
//! are type-erased through it), behind the BBR rate limiter (real CPU sampler, under its
//! threshold: the path every admitted call takes) and behind a per-key quota keyed by a header
//! (a fresh key's bucket is large enough never to reject), all in the same run.
//!
//! The same four are also measured on an endpoint alone (no network), where their own cost is
//! not lost in the round trip's noise, with JWT verification (HS256), the circuit breaker, and
//! the three together.
//!
//! `middleware_full_path` measures the whole protection stack a Kratos service pairs: the
//! kratos HTTP client with the circuit breaker and JWT signing (HS256, a token signed per call)
//! calling a server with BBR rate limiting and JWT verification, against the same client and
//! server with no middleware, in the same run.
//!
//! Run with `cargo bench -p benchmarks --bench middleware`.
// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use benchmarks::{Client, GET_PATH};
use criterion::{Criterion, criterion_group, criterion_main};
use kratos::middleware::circuitbreaker::CircuitBreaker;
use kratos::middleware::jwt::{self, Algorithm, DecodingKey, EncodingKey, SigningKey};
use kratos::middleware::ratelimit::{Bbr, BbrOptions, Quota, header_key};
use kratos::middleware::{Handler, Middleware};
use kratos::transport::Server as _;
use oracle_server::api as pb;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const SECRET: &[u8] = b"benchmark-secret";

/// The claims the JWT benchmarks sign and verify.
#[derive(serde::Serialize, serde::Deserialize)]
struct Claims {
    sub: String,
    exp: u64,
}

fn claims() -> Claims {
    Claims {
        sub: "bench".into(),
        exp: jwt::jsonwebtoken::get_current_timestamp() + 3600,
    }
}

fn jwt_server() -> Middleware {
    jwt::server::<Claims>(Algorithm::HS256, DecodingKey::from_secret(SECRET)).build()
}

fn jwt_client() -> Middleware {
    let key = SigningKey::new(EncodingKey::from_secret(SECRET));
    jwt::client(Algorithm::HS256, key, |_ctx| claims())
}

fn server(middleware: Option<Middleware>) -> Result<kratos::http::Server, BoxError> {
    server_with(middleware.into_iter().collect())
}

fn server_with(middleware: Vec<Middleware>) -> Result<kratos::http::Server, BoxError> {
    let mut builder = kratos::http::Server::builder().listener(benchmarks::bind_loopback(0)?);
    for m in middleware {
        builder = builder.middleware(m);
    }
    let mut server = builder.build();
    pb::register_library_http_server(&mut server, Arc::new(oracle_server::Library))?;
    Ok(server)
}

fn middleware_cost(c: &mut Criterion) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("runtime: {e}"),
    };
    let noop = Middleware::new(|next: Handler| next);
    // A per-key quota no benchmark client exhausts: 1e9 calls per second.
    let quota = match NonZeroU32::new(1_000_000_000) {
        Some(n) => Quota::new(n, Duration::from_secs(1), header_key(http::header::HOST)),
        None => panic!("nonzero"),
    };
    let setups = [
        ("bare", None),
        ("noop_middleware", Some(noop)),
        ("bbr", Some(Bbr::new(BbrOptions::default()).middleware())),
        ("quota", Some(quota.middleware())),
    ];
    let started = runtime.block_on(async {
        let mut out = Vec::new();
        for (name, m) in setups {
            let mut server = server(m)?;
            let addr = server.start().await?;
            out.push((name, addr, server));
        }
        Ok::<_, BoxError>(out)
    });
    let mut targets = match started {
        Ok(t) => t,
        Err(e) => panic!("start the servers: {e}"),
    };
    let mut group = c.benchmark_group("middleware_get_shelf");
    for (name, addr, _server) in &mut targets {
        // Connected just before use: an idle connection would be closed by the server.
        let mut client = match runtime.block_on(Client::connect(*addr)) {
            Ok(c) => c,
            Err(e) => panic!("connect: {e}"),
        };
        group.bench_function(*name, |b| {
            b.iter(|| {
                runtime.block_on(async {
                    match client.get(GET_PATH).await {
                        Ok((status, body)) if status == 200 => black_box(body),
                        other => panic!("GET {GET_PATH}: {other:?}"),
                    }
                })
            })
        });
    }
    group.finish();
}

/// The middleware alone, without the network: one call of an endpoint whose method answers at
/// once, with no middleware (called directly), a no-op one, BBR, and the quota.
fn endpoint_call(c: &mut Criterion) {
    use kratos::middleware::Endpoint;
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("runtime: {e}"),
    };
    let quota = match NonZeroU32::new(1_000_000_000) {
        Some(n) => Quota::new(n, Duration::from_secs(1), header_key(http::header::HOST)),
        None => panic!("nonzero"),
    };
    let mut headers = http::HeaderMap::new();
    headers.insert(http::header::HOST, http::HeaderValue::from_static("client"));
    let token = jwt::jsonwebtoken::encode(
        &jwt::jsonwebtoken::Header::new(Algorithm::HS256),
        &claims(),
        &EncodingKey::from_secret(SECRET),
    );
    let bearer = match token.map(|t| http::HeaderValue::try_from(format!("Bearer {t}"))) {
        Ok(Ok(v)) => v,
        _ => panic!("sign the benchmark token"),
    };
    headers.insert(http::header::AUTHORIZATION, bearer);
    let setups: [(&str, Vec<Middleware>); 7] = [
        ("direct", vec![]),
        (
            "noop_middleware",
            vec![Middleware::new(|next: Handler| next)],
        ),
        ("bbr", vec![Bbr::new(BbrOptions::default()).middleware()]),
        ("quota", vec![quota.middleware()]),
        ("jwt_verify", vec![jwt_server()]),
        ("breaker", vec![CircuitBreaker::default().middleware()]),
        (
            "bbr_breaker_jwt",
            vec![
                Bbr::new(BbrOptions::default()).middleware(),
                CircuitBreaker::default().middleware(),
                jwt_server(),
            ],
        ),
    ];
    let mut group = c.benchmark_group("middleware_endpoint_call");
    for (name, middleware) in setups {
        let endpoint = Endpoint::new(&middleware, |_ctx, x: u64| async move { Ok(x + 1) });
        group.bench_function(name, |b| {
            b.iter(|| {
                let ctx = kratos::Context::new(kratos::Kind::Http, "/a.B/C", headers.clone());
                runtime.block_on(endpoint.call(ctx, black_box(1)))
            })
        });
    }
    group.finish();
}

/// A call through the kratos HTTP client to the server, bare and with the full stack
/// (client: breaker + JWT signing; server: BBR + JWT verification).
fn full_path(c: &mut Criterion) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("runtime: {e}"),
    };
    let setups: [(&str, Vec<Middleware>, Vec<Middleware>); 2] = [
        ("bare", vec![], vec![]),
        (
            "ratelimit_breaker_jwt",
            vec![Bbr::new(BbrOptions::default()).middleware(), jwt_server()],
            vec![CircuitBreaker::default().middleware(), jwt_client()],
        ),
    ];
    let mut group = c.benchmark_group("middleware_full_path");
    for (name, server_middleware, client_middleware) in setups {
        let started = runtime.block_on(async {
            let mut server = server_with(server_middleware)?;
            let addr = server.start().await?;
            Ok::<_, BoxError>((server, addr))
        });
        let (_server, addr) = match started {
            Ok(s) => s,
            Err(e) => panic!("start the server: {e}"),
        };
        let mut builder = kratos::http::Client::builder(addr.to_string());
        for m in client_middleware {
            builder = builder.middleware(m);
        }
        let client = match builder.build() {
            Ok(c) => c,
            Err(e) => panic!("client: {e}"),
        };
        group.bench_function(name, |b| {
            b.iter(|| {
                runtime.block_on(async {
                    let reply = client
                        .invoke(
                            pb::OPERATION_LIBRARY_GET_SHELF,
                            http::Method::GET,
                            GET_PATH,
                            None,
                        )
                        .await;
                    match reply {
                        Ok((_, body)) => black_box(body),
                        Err(e) => panic!("GET {GET_PATH}: {e}"),
                    }
                })
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(4)).warm_up_time(Duration::from_secs(1));
    targets = middleware_cost, endpoint_call, full_path
}
criterion_main!(benches);
