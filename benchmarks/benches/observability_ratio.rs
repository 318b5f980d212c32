//! The observability target of issue 14 as one number: `bare / observed` for
//! `GET /v1/shelves/1`, measured in interleaved rounds.
//!
//! `benches/observability.rs` measures each setup for seconds, one after the other; on a shared
//! machine the time per request drifts by more than the difference measured between setups
//! (other processes' caches, the kernel's loopback path), so two setups measured a minute apart
//! are not comparable. Here every round measures every setup once, in a rotated order, on a
//! fresh kept-alive connection (warmed up first), and the ratio is taken within the round;
//! the report is the median over rounds, with the quartiles. Time is the CPU time of the one
//! thread that runs the client and the servers, as in `observability.rs`.
//!
//! Setups: `bare` (no middleware), each observability middleware alone, and `observed`
//! (tracing with sampler `always_on` and a batch exporter, metrics, logging written as JSON
//! lines to a sink, metadata): see `observability_setup`.
//!
//! ```sh
//! cargo bench -p benchmarks --bench observability_ratio
//! KRATOS_BENCH_SETUPS=tracing,observed cargo bench -p benchmarks --bench observability_ratio
//! KRATOS_BENCH_ROUNDS=41 KRATOS_BENCH_REQUESTS=5000 cargo bench -p benchmarks --bench observability_ratio
//! ```
#![allow(missing_docs)]

mod observability_setup;

use std::time::Duration;

use kratos::metrics::Metrics;
use kratos::middleware::{Middleware, logging, metadata};
use kratos::transport::Server as _;
use observability_setup::{
    BoxError, ThreadClock, connect, get, install_log_subscriber, observability, runtime, server,
};

/// Requests sent on a fresh connection before a round's measurement starts.
const WARM_UP: u32 = 200;

fn env_number(name: &str, default: u32) -> u32 {
    match std::env::var(name) {
        Ok(v) => match v.parse() {
            Ok(n) if n > 0 => n,
            _ => panic!("{name}={v:?}: expected a positive number"),
        },
        Err(_) => default,
    }
}

fn main() {
    let rounds = env_number("KRATOS_BENCH_ROUNDS", 21);
    let requests = env_number("KRATOS_BENCH_REQUESTS", 2000);
    if let Err(e) = install_log_subscriber() {
        panic!("{e}");
    }
    let runtime = runtime();
    let metrics = Metrics::new();
    let alone = Metrics::new();
    let setups: Vec<(&str, Vec<Middleware>)> = vec![
        ("bare", Vec::new()),
        ("tracing", vec![kratos::trace::server()]),
        ("metrics", vec![alone.server()]),
        ("logging", vec![logging()]),
        ("metadata", vec![metadata::server()]),
        ("observed", observability(&metrics)),
    ];
    // KRATOS_BENCH_SETUPS=tracing,observed: only these (and `bare`, the reference).
    let setups: Vec<_> = match std::env::var("KRATOS_BENCH_SETUPS") {
        Ok(only) => setups
            .into_iter()
            .filter(|(name, _)| *name == "bare" || only.split(',').any(|o| o.trim() == *name))
            .collect(),
        Err(_) => setups,
    };
    let started = runtime.block_on(async {
        let mut out = Vec::new();
        for (name, m) in &setups {
            let mut server = server(m)?;
            let addr = server.start().await?;
            out.push((*name, addr, server));
        }
        Ok::<_, BoxError>(out)
    });
    let servers = match started {
        Ok(s) => s,
        Err(e) => panic!("start the servers: {e}"),
    };
    let clock = ThreadClock::open();
    // times[setup][round]: CPU time per request.
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); servers.len()];
    for round in 0..rounds as usize {
        for k in 0..servers.len() {
            let i = (round + k) % servers.len();
            let addr = servers[i].1;
            let mut client = connect(&runtime, addr);
            let per_request = runtime.block_on(async {
                for _ in 0..WARM_UP {
                    get(&mut client).await;
                }
                let start = clock.now();
                for _ in 0..requests {
                    get(&mut client).await;
                }
                clock.now().saturating_sub(start) / requests
            });
            times[i].push(per_request);
        }
    }
    // The observed server counted its calls (a check that the setup is what it claims).
    let observed = servers.iter().any(|(name, _, _)| *name == "observed");
    if observed && !metrics.render().contains("server_requests_code_total{") {
        panic!("the observed server's metrics counted nothing");
    }
    println!(
        "GET {} on 127.0.0.1: {rounds} interleaved rounds of {requests} requests per setup \
         (CPU time of the thread running client and servers)",
        benchmarks::GET_PATH
    );
    println!(
        "{:<10} {:>14} {:>26}",
        "setup", "median µs/req", "bare/setup median [p25, p75]"
    );
    let bare = &times[0];
    for (i, (name, _, _)) in servers.iter().enumerate() {
        let mut own: Vec<f64> = times[i].iter().map(|d| d.as_secs_f64() * 1e6).collect();
        let mut ratios: Vec<f64> = bare
            .iter()
            .zip(&times[i])
            .map(|(b, t)| b.as_secs_f64() / t.as_secs_f64())
            .collect();
        let (m, _, _) = quartiles(&mut own);
        let (r, lo, hi) = quartiles(&mut ratios);
        println!("{name:<10} {m:>14.2} {r:>12.3} [{lo:.3}, {hi:.3}]");
    }
}

/// Median, first and third quartile (nearest rank).
fn quartiles(values: &mut [f64]) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.25), at(0.75))
}
