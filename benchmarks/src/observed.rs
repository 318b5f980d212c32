//! The observed stack of issue 14's cost measurements, shared by `benches/observability*.rs`
//! and the load-test server (`bench-server --observed-port`): Kratos' observability middleware
//! and the subscriber a service runs them with.

use std::hint::black_box;
use std::time::Duration;

use kratos::metrics::Metrics;
use kratos::middleware::{Middleware, logging, metadata};

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
pub fn install_log_subscriber() -> Result<(), String> {
    let builder = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_sampler(opentelemetry_sdk::trace::Sampler::AlwaysOn);
    let builder = match std::env::var("KRATOS_BENCH_SPANS").as_deref() {
        Ok("batch") | Err(_) => builder.with_batch_exporter(DropExporter),
        Ok("simple") => builder.with_simple_exporter(DropExporter),
        Ok("discard") => builder.with_span_processor(DiscardProcessor),
        Ok(other) => {
            return Err(format!(
                "KRATOS_BENCH_SPANS={other:?}: expected batch, simple or discard"
            ));
        }
    };
    let provider = builder.build();
    let logger = kratos::log::Logger::new()
        .format(kratos::log::Format::Json)
        .level("info")
        .writer(std::io::sink)
        .tracer_provider(provider);
    logger
        .init()
        .map(drop)
        .map_err(|e| format!("the log subscriber: {e}"))
}

/// A span processor dropping each ended span on the thread that ends it.
#[derive(Debug)]
pub struct DiscardProcessor;

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
