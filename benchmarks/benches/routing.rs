//! Routing + binding + reply encoding, in process: complete HTTP/1.1 requests over one
//! kept-alive loopback connection to `kratos::http::Server` serving the oracle service's
//! generated routes, and to a hand-written axum app doing the same serde work, in the same
//! run. Client and servers share one current-thread tokio runtime, so a sample is the CPU cost
//! of one request end to end (client included, the same for both servers).
//!
//! Also measured: the serde work alone (no HTTP), the floor both servers stand on; and the
//! route-table scan `kratos::http::Server` does per request (its router is private, so this
//! replays it on the same templates through `kratos_path_template`: every template matched in
//! turn, as `Router::lookup` does).
//!
//! Run with `cargo bench -p benchmarks` (about a minute).
// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use benchmarks::{CREATE_SHELF_BODY, Client, GET_PATH, KratosSetup, POST_PATH};
use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use kratos::transport::Server as _;
use oracle_server::api as pb;

/// The servers under test, each with its client connection.
struct Targets {
    runtime: tokio::runtime::Runtime,
    clients: Vec<(&'static str, Client)>,
    // Kept alive for the whole run.
    _kratos: Vec<kratos::http::Server>,
}

fn start() -> Result<Targets, Box<dyn std::error::Error + Send + Sync>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (clients, servers) = runtime.block_on(async {
        let mut clients = Vec::new();
        let mut servers = Vec::new();
        for (name, setup) in [
            ("kratos", KratosSetup::Bare),
            ("kratos+recovery", KratosSetup::Oracle),
        ] {
            let mut server = benchmarks::kratos_server(benchmarks::bind_loopback(0)?, setup)?;
            let addr = server.start().await?;
            clients.push((name, Client::connect(addr).await?));
            servers.push(server);
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(benchmarks::serve_axum(listener));
        clients.push(("axum", Client::connect(addr).await?));
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>((clients, servers))
    })?;
    Ok(Targets {
        runtime,
        clients,
        _kratos: servers,
    })
}

fn http_round_trips(c: &mut Criterion) {
    let mut targets = match start() {
        Ok(t) => t,
        Err(e) => panic!("start the servers: {e}"),
    };
    let body = Bytes::from_static(CREATE_SHELF_BODY.as_bytes());

    let mut group = c.benchmark_group("get_shelf");
    for (name, client) in &mut targets.clients {
        let rt = &targets.runtime;
        group.bench_function(*name, |b| {
            b.iter(|| {
                rt.block_on(async {
                    match client.get(GET_PATH).await {
                        Ok((status, body)) if status == 200 => black_box(body),
                        other => panic!("GET {GET_PATH}: {other:?}"),
                    }
                })
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("create_shelf");
    for (name, client) in &mut targets.clients {
        let rt = &targets.runtime;
        group.bench_function(*name, |b| {
            b.iter(|| {
                rt.block_on(async {
                    match client.post_json(POST_PATH, body.clone()).await {
                        Ok((status, body)) if status == 200 => black_box(body),
                        other => panic!("POST {POST_PATH}: {other:?}"),
                    }
                })
            })
        });
    }
    group.finish();
}

fn serde_only(c: &mut Criterion) {
    let mut group = c.benchmark_group("serde_only");
    group.bench_function("get_shelf_reply", |b| {
        b.iter(|| {
            let reply = benchmarks::shelf_reply(pb::GetShelfRequest {
                shelf: black_box("1").to_string(),
                verbose: false,
            });
            serde_json::to_vec(&reply).map(black_box)
        })
    });
    group.bench_function("create_shelf_decode_encode", |b| {
        b.iter(|| {
            let req: pb::CreateShelfRequest =
                serde_json::from_slice(black_box(CREATE_SHELF_BODY.as_bytes()))?;
            serde_json::to_vec(&benchmarks::create_shelf_reply(req)).map(black_box)
        })
    });
    group.finish();
}

/// The oracle service's route templates in registration order (as generated), then the
/// OpenAPI routes `oracle_server::servers` adds.
const ORACLE_TEMPLATES: &[&str] = &[
    "/v1/shelves/{shelf}",
    "/v1/search",
    "/v1/shelves",
    "/v1/shelves/{name}",
    "/v1/{book.name=shelves/*/books/*}",
    "/v1/shelves/{shelf}",
    "/v1/shelves/{shelf}:archive",
    "/v1/files/{path=**}",
    "/v1/items",
    "/v1/items/{id}",
    "/v1/multi/{id}",
    "/v1/multi",
    "/v2/multi/{id}/names/{name}",
    "/v1/errors/kratos/{kind}",
    "/v1/errors/plain",
    "/v1/panic",
    "/q/openapi.json",
    "/q/swagger-ui/{path=**}",
];

fn route_lookup(c: &mut Criterion) {
    let templates: Vec<kratos_path_template::Template> = ORACLE_TEMPLATES
        .iter()
        .filter_map(|t| kratos_path_template::Template::parse(t).ok())
        .collect();
    assert_eq!(templates.len(), ORACLE_TEMPLATES.len());
    let mut group = c.benchmark_group("route_lookup");
    for path in [GET_PATH, POST_PATH] {
        let name = format!("scan_{}{}", templates.len(), path.replace('/', "_"));
        group.bench_function(name, |b| {
            b.iter(|| {
                let path = black_box(path);
                // As Router::lookup: every template is matched; the first match is kept (the
                // real router also compares methods and specificity), then its values decoded.
                let mut best = None;
                for t in &templates {
                    if let Some(captures) = t.matches(path) {
                        best.get_or_insert((t, captures));
                    }
                }
                best.map(|(t, captures)| captures.decode_values(t))
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = http_round_trips, serde_only, route_lookup
}
criterion_main!(benches);
