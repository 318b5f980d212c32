//! Propagation across calls, as Kratos' default propagator: W3C trace context
//! (`traceparent`, `tracestate`), W3C baggage (`baggage`), and Kratos' metadata propagator
//! (`x-md-service-name`, the calling service's name).

use std::sync::OnceLock;

use opentelemetry::propagation::{TextMapCompositePropagator, TextMapPropagator as _};
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};

/// The header carrying the calling service's name (Kratos' metadata propagator); the server
/// middleware copies it into the call's [`Metadata`](crate::metadata::Metadata).
pub const SERVICE_HEADER: &str = "x-md-service-name";

fn propagator() -> &'static TextMapCompositePropagator {
    static PROPAGATOR: OnceLock<TextMapCompositePropagator> = OnceLock::new();
    PROPAGATOR.get_or_init(|| {
        TextMapCompositePropagator::new(vec![
            Box::new(BaggagePropagator::new()),
            Box::new(TraceContextPropagator::new()),
        ])
    })
}

/// The trace context and baggage `headers` carry (an empty context when they carry none or
/// malformed ones, as the W3C rules say: a malformed `traceparent` starts a new trace).
///
/// The context is built from the headers alone, not on top of the current context: a served
/// call's parent is what its caller sent, whatever span the server itself runs in.
pub fn extract(headers: &http::HeaderMap) -> opentelemetry::Context {
    propagator().extract_with_context(&opentelemetry::Context::new(), &HeaderExtractor(headers))
}

/// Whether `headers` carry any context [`extract`] reads (W3C `traceparent` or `baggage`;
/// `tracestate` means nothing without `traceparent`).
pub(crate) fn carries_context(headers: &http::HeaderMap) -> bool {
    headers.contains_key(TRACEPARENT) || headers.contains_key(BAGGAGE)
}

const TRACEPARENT: http::HeaderName = http::HeaderName::from_static("traceparent");
const BAGGAGE: http::HeaderName = http::HeaderName::from_static("baggage");

/// Writes `cx`'s trace context and baggage into `headers`.
pub fn inject(cx: &opentelemetry::Context, headers: &mut http::HeaderMap) {
    propagator().inject_context(cx, &mut HeaderInjector(headers));
}
