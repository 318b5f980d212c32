//! What the observability benchmarks share: the servers, bare and observed, the subscriber
//! a service runs with, the client request, and the thread CPU clock they are timed with.
//! (A module of the bench targets, not a bench of its own.)
#![allow(dead_code)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use benchmarks::{Client, GET_PATH};
use kratos::metrics::Metrics;
use kratos::middleware::{Middleware, logging, metadata};
use oracle_server::api as pb;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Kratos metadata headers sent with every request (to both setups): one global key, one
/// local.
pub const METADATA: &[(&str, &str)] =
    &[("x-md-global-tenant", "t1"), ("x-md-local-caller", "bench")];

/// The observability middleware of a Kratos service, outermost first, recording into
/// `metrics`: the tracing span first, so that the others run inside it.
pub fn observability(metrics: &Metrics) -> Vec<Middleware> {
    vec![
        kratos::trace::server(),
        metrics.server(),
        logging(),
        metadata::server(),
    ]
}

/// An exporter that drops what it is given: the spans are built, sampled, batched and handed
/// over as with a real exporter, without the network.
#[derive(Debug)]
pub struct DropExporter;

impl opentelemetry_sdk::trace::SpanExporter for DropExporter {
    fn export(
        &self,
        batch: Vec<opentelemetry_sdk::trace::SpanData>,
    ) -> impl std::future::Future<Output = opentelemetry_sdk::error::OTelSdkResult> + Send {
        drop(batch);
        std::future::ready(Ok(()))
    }
}

/// The subscriber a service runs with: `kratos::log`'s JSON lines (every event formatted and
/// written, to a sink: the cost of logging in production without a terminal or a file) and
/// the OpenTelemetry layer, sampling every call.
///
/// Ended spans go to the SDK's batch processor, as in a service (`KRATOS_BENCH_SPANS=batch`,
/// the default); to see what handing them to its thread costs, `KRATOS_BENCH_SPANS=simple`
/// exports each on the thread that ends it and `KRATOS_BENCH_SPANS=discard` drops each there.
pub fn install_log_subscriber() {
    let builder = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_sampler(opentelemetry_sdk::trace::Sampler::AlwaysOn);
    let builder = match std::env::var("KRATOS_BENCH_SPANS").as_deref() {
        Ok("batch") | Err(_) => builder.with_batch_exporter(DropExporter),
        Ok("simple") => builder.with_simple_exporter(DropExporter),
        Ok("discard") => builder.with_span_processor(DiscardProcessor),
        Ok(other) => panic!("KRATOS_BENCH_SPANS={other:?}: expected batch, simple or discard"),
    };
    let provider = builder.build();
    let logger = kratos::log::Logger::new()
        .format(kratos::log::Format::Json)
        .level("info")
        .writer(std::io::sink)
        .tracer_provider(provider);
    if let Err(e) = logger.init() {
        panic!("the log subscriber: {e}");
    }
}

pub fn server(middleware: &[Middleware]) -> Result<kratos::http::Server, BoxError> {
    let builder = kratos::http::Server::builder().listener(benchmarks::bind_loopback(0)?);
    let mut server = middleware
        .iter()
        .cloned()
        .fold(builder, |b, m| b.middleware(m))
        .build();
    pb::register_library_http_server(&mut server, Arc::new(oracle_server::Library))?;
    Ok(server)
}

pub fn runtime() -> tokio::runtime::Runtime {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("runtime: {e}"),
    }
}

/// The CPU time of the current thread (`CLOCK_THREAD_CPUTIME_ID`); the wall clock where
/// there is no such clock.
pub struct ThreadClock {
    #[cfg(not(unix))]
    epoch: std::time::Instant,
}

impl ThreadClock {
    pub fn open() -> Self {
        ThreadClock {
            #[cfg(not(unix))]
            epoch: std::time::Instant::now(),
        }
    }

    #[cfg(unix)]
    pub fn now(&self) -> Duration {
        let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
        Duration::new(
            u64::try_from(t.tv_sec).unwrap_or(0),
            u32::try_from(t.tv_nsec).unwrap_or(0),
        )
    }

    #[cfg(not(unix))]
    pub fn now(&self) -> Duration {
        self.epoch.elapsed()
    }
}

pub fn connect(runtime: &tokio::runtime::Runtime, addr: std::net::SocketAddr) -> Client {
    match runtime.block_on(Client::connect(addr)) {
        Ok(c) => c,
        Err(e) => panic!("connect: {e}"),
    }
}

/// One `GET` with the metadata headers, which must be answered 200.
pub async fn get(client: &mut Client) {
    match client.get_with_headers(GET_PATH, METADATA).await {
        Ok((status, body)) if status == 200 => {
            black_box(body);
        }
        other => panic!("GET {GET_PATH}: {other:?}"),
    }
}

/// A span processor dropping each ended span on the thread that ends it.
#[derive(Debug)]
struct DiscardProcessor;

impl opentelemetry_sdk::trace::SpanProcessor for DiscardProcessor {
    fn on_start(&self, _: &mut opentelemetry_sdk::trace::Span, _: &opentelemetry::Context) {}
    fn on_end(&self, span: opentelemetry_sdk::trace::SpanData) {
        black_box(span);
    }
    fn force_flush(&self) -> opentelemetry_sdk::error::OTelSdkResult {
        Ok(())
    }
    fn shutdown_with_timeout(&self, _: Duration) -> opentelemetry_sdk::error::OTelSdkResult {
        Ok(())
    }
}
