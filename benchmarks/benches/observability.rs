//! The request-path cost of observability (issue 14, item 8): `GET /v1/shelves/1` of the
//! oracle service's generated routes over one kept-alive loopback connection (as `routing.rs`),
//! served bare and with the observability middleware on, in the same run, timed in CPU time of
//! the thread that runs client and servers (wall-clock time on a busy machine mostly measures
//! the wait for a CPU):
//!
//! - `bare`: no middleware;
//! - `metrics`: the metrics server middleware alone;
//! - `observed`: OpenTelemetry tracing (the tracing middleware, a span per call, sampler
//!   `always_on`, batched to an exporter that drops the spans: everything but the network),
//!   Kratos' metrics (server middleware, counting into a registry like the one `/metrics`
//!   serves), logging (one JSON line per call through `kratos::log`, with the trace and span
//!   ids, written to a sink so that formatting and writing are paid as in production) and
//!   metadata (the server middleware reading `x-md-` headers; every request, to both, carries
//!   two).
//!
//! The target is `bare / observed` ≥ 0.8 (time per request; the same as the throughput
//! ratio). The same setups, and each middleware alone, are also measured on an endpoint
//! alone (no network), where the middleware's own cost is not lost in the round trip.
//!
//! Run with `cargo bench -p benchmarks --bench observability`.
// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

mod observability_setup;

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use kratos::metrics::Metrics;
use kratos::middleware::{logging, metadata};
use kratos::transport::Server as _;
use observability_setup::{
    BoxError, METADATA, ThreadClock, connect, get, install_log_subscriber, observability, runtime,
    server,
};

fn observability_cost(c: &mut Criterion) {
    if let Err(e) = install_log_subscriber() {
        panic!("{e}");
    }
    let runtime = runtime();
    let metrics = Metrics::new();
    // `metrics` alone on a registry of its own, so that the check below stays exact.
    let metrics_only = Metrics::new();
    let setups = [
        ("bare", Vec::new()),
        ("metrics", vec![metrics_only.server()]),
        ("observed", observability(&metrics)),
    ];
    let started = runtime.block_on(async {
        let mut out = Vec::new();
        for (name, m) in setups {
            let mut server = server(&m)?;
            let addr = server.start().await?;
            out.push((name, addr, server));
        }
        Ok::<_, BoxError>(out)
    });
    let servers = match started {
        Ok(t) => t,
        Err(e) => panic!("start the servers: {e}"),
    };
    // One request to each first: only the observed server counts it.
    for (name, addr, _) in &servers {
        let mut client = connect(&runtime, *addr);
        runtime.block_on(get(&mut client));
        let counted = metrics.render().contains("server_requests_code_total{");
        if counted != (*name == "observed") {
            panic!("{name}: the metrics middleware counted the first request: {counted}");
        }
    }
    // Time is the benchmark thread's CPU time (see `ThreadClock`): client and servers share
    // that thread, so it is the whole cost of a request, and unlike wall-clock time it does not
    // count the time the thread waits for a CPU on a busy machine.
    let clock = ThreadClock::open();
    let mut group = c.benchmark_group("observability_get_shelf");
    for (name, addr, _server) in &servers {
        // Connected just before use: an idle connection would be closed by the server.
        let mut client = connect(&runtime, *addr);
        group.bench_function(*name, |b| {
            b.iter_custom(|iters| {
                runtime.block_on(async {
                    let start = clock.now();
                    for _ in 0..iters {
                        get(&mut client).await;
                    }
                    clock.now().saturating_sub(start)
                })
            })
        });
    }
    group.finish();
}

/// The middleware alone, without the network: one call of an endpoint whose method answers at
/// once, bare (called directly), behind each observability middleware alone, and observed.
fn endpoint_call(c: &mut Criterion) {
    use kratos::middleware::Endpoint;
    let runtime = runtime();
    let metrics = Metrics::new();
    let mut headers = http::HeaderMap::new();
    for (name, value) in METADATA {
        headers.insert(*name, http::HeaderValue::from_static(value));
    }
    // Each middleware alone too, to see where the cost is.
    let setups = [
        ("direct", Vec::new()),
        ("metrics", vec![metrics.server()]),
        ("logging", vec![logging()]),
        ("metadata", vec![metadata::server()]),
        ("tracing", vec![kratos::trace::server()]),
        ("observed", observability(&metrics)),
    ];
    let clock = ThreadClock::open();
    let mut group = c.benchmark_group("observability_endpoint_call");
    for (name, middleware) in setups {
        let endpoint = Endpoint::new(&middleware, |_ctx, x: u64| async move { Ok(x + 1) });
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let start = clock.now();
                for _ in 0..iters {
                    let ctx = kratos::Context::new(kratos::Kind::Http, "/a.B/C", headers.clone());
                    let _ = black_box(runtime.block_on(endpoint.call(ctx, black_box(1))));
                }
                clock.now().saturating_sub(start)
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(4)).warm_up_time(Duration::from_secs(1));
    targets = observability_cost, endpoint_call
}
criterion_main!(benches);
