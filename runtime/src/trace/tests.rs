#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use super::*;

fn settings(vars: &[(&'static str, &str)], fallback: &str) -> Result<Option<Settings>, TraceError> {
    let vars: HashMap<&'static str, String> =
        vars.iter().map(|(k, v)| (*k, v.to_string())).collect();
    Settings::from_lookup(|k| vars.get(k).cloned(), fallback)
}

#[test]
fn no_endpoint_means_no_export() {
    assert!(settings(&[], "svc").unwrap().is_none());
    assert!(
        settings(&[(SAMPLER, "always_on")], "svc")
            .unwrap()
            .is_none()
    );
}

#[test]
fn endpoints_follow_the_protocol() {
    let s = settings(&[(ENDPOINT, "http://collector:4318/")], "")
        .unwrap()
        .unwrap();
    assert_eq!(s.protocol(), Protocol::HttpProtobuf);
    assert_eq!(s.endpoint(), "http://collector:4318/v1/traces");
    let s = settings(
        &[(ENDPOINT, "http://collector:4317"), (PROTOCOL, "grpc")],
        "",
    )
    .unwrap()
    .unwrap();
    assert_eq!(s.protocol(), Protocol::Grpc);
    assert_eq!(s.endpoint(), "http://collector:4317");
    // The per-signal variables win and are used as they are.
    let s = settings(
        &[
            (ENDPOINT, "http://a:1"),
            (TRACES_ENDPOINT, "http://b:2/custom"),
            (PROTOCOL, "grpc"),
            (TRACES_PROTOCOL, "http/protobuf"),
        ],
        "",
    )
    .unwrap()
    .unwrap();
    assert_eq!(s.protocol(), Protocol::HttpProtobuf);
    assert_eq!(s.endpoint(), "http://b:2/custom");
    let err = settings(&[(ENDPOINT, "http://a:1"), (PROTOCOL, "http/json")], "").unwrap_err();
    assert!(
        err.to_string().contains("OTEL_EXPORTER_OTLP_PROTOCOL"),
        "{err}"
    );
}

#[test]
fn service_name_sampler_and_delay() {
    let base = (ENDPOINT, "http://a:1");
    let s = settings(&[base], "fallback").unwrap().unwrap();
    assert_eq!(s.service_name.as_deref(), Some("fallback"));
    assert_eq!(s.sampler, SamplerSetting::ParentBasedAlwaysOn);
    assert_eq!(s.schedule_delay, None);
    let s = settings(&[base, (SERVICE_NAME, "env-name")], "fallback")
        .unwrap()
        .unwrap();
    assert_eq!(s.service_name.as_deref(), Some("env-name"));
    assert_eq!(settings(&[base], "").unwrap().unwrap().service_name, None);
    for (name, arg, expected) in [
        ("always_on", None, SamplerSetting::AlwaysOn),
        ("always_off", None, SamplerSetting::AlwaysOff),
        ("traceidratio", Some("0.25"), SamplerSetting::Ratio(0.25)),
        ("traceidratio", None, SamplerSetting::Ratio(1.0)),
        (
            "parentbased_always_on",
            None,
            SamplerSetting::ParentBasedAlwaysOn,
        ),
        (
            "parentbased_always_off",
            None,
            SamplerSetting::ParentBasedAlwaysOff,
        ),
        (
            "parentbased_traceidratio",
            Some("0"),
            SamplerSetting::ParentBasedRatio(0.0),
        ),
    ] {
        let mut vars = vec![base, (SAMPLER, name)];
        if let Some(arg) = arg {
            vars.push((SAMPLER_ARG, arg));
        }
        assert_eq!(
            settings(&vars, "").unwrap().unwrap().sampler,
            expected,
            "{name}"
        );
    }
    for (var, value) in [
        (SAMPLER, "sometimes"),
        (SAMPLER_ARG, "1.5"),
        (SAMPLER_ARG, "half"),
        (SCHEDULE_DELAY, "5s"),
    ] {
        let err = settings(&[base, (var, value)], "").unwrap_err();
        assert!(err.to_string().starts_with(var), "{err}");
    }
    let s = settings(&[base, (SCHEDULE_DELAY, "250")], "")
        .unwrap()
        .unwrap();
    assert_eq!(s.schedule_delay, Some(Duration::from_millis(250)));
}

/// An exporter keeping what it is given, for the tests to read.
#[derive(Debug, Clone, Default)]
struct Kept(std::sync::Arc<Mutex<Vec<opentelemetry_sdk::trace::SpanData>>>);

impl opentelemetry_sdk::trace::SpanExporter for Kept {
    fn export(
        &self,
        batch: Vec<opentelemetry_sdk::trace::SpanData>,
    ) -> impl std::future::Future<Output = opentelemetry_sdk::error::OTelSdkResult> + Send {
        self.0.lock().unwrap().extend(batch);
        std::future::ready(Ok(()))
    }
}

/// Serves one call through the server middleware with `headers`, inside an entered span of
/// the process (as a server task instrumented by its caller would be), and returns the
/// exported server span and the process span's trace id.
fn served(
    headers: &[(&str, &str)],
) -> (
    opentelemetry_sdk::trace::SpanData,
    opentelemetry::trace::TraceId,
) {
    use opentelemetry::trace::TraceContextExt as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    use tracing_subscriber::layer::SubscriberExt as _;

    let kept = Kept::default();
    let provider = SdkTracerProvider::builder()
        .with_sampler(Sampler::AlwaysOn)
        .with_simple_exporter(kept.clone())
        .build();
    let subscriber = tracing_subscriber::Registry::default().with(layer(&provider));
    let mut map = http::HeaderMap::new();
    for (k, v) in headers {
        map.insert(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            http::HeaderValue::from_str(v).unwrap(),
        );
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let outer_trace = tracing::subscriber::with_default(subscriber, || {
        let outer = tracing::info_span!("process");
        let _entered = outer.enter();
        let endpoint =
            crate::middleware::Endpoint::new(&[server()], |_ctx, x: u32| async move { Ok(x + 1) });
        let ctx = Context::new(Kind::Http, "/a.B/C", map);
        assert_eq!(runtime.block_on(endpoint.call(ctx, 1)).unwrap(), 2);
        outer.context().span().span_context().trace_id()
    });
    let spans = kept.0.lock().unwrap().clone();
    let call = spans
        .into_iter()
        .find(|s| s.name == "/a.B/C")
        .expect("the server span is exported");
    (call, outer_trace)
}

use crate::context::{Context, Kind};
use opentelemetry::trace::{SpanId, TraceId};

/// A request without a trace context starts a trace of its own, whatever span the server
/// runs in; one with `traceparent` continues the caller's; `baggage` alone starts a trace.
#[test]
fn served_calls_continue_the_callers_trace_or_start_one() {
    let (root, outer) = served(&[("x-md-global-tenant", "t1")]);
    assert_eq!(root.parent_span_id, SpanId::INVALID);
    assert_ne!(root.span_context.trace_id(), outer);

    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let (child, outer) = served(&[("traceparent", &format!("00-{trace}-00f067aa0ba902b7-01"))]);
    assert_eq!(
        child.span_context.trace_id(),
        TraceId::from_hex(trace).unwrap()
    );
    assert_eq!(
        child.parent_span_id,
        SpanId::from_hex("00f067aa0ba902b7").unwrap()
    );
    assert_ne!(child.span_context.trace_id(), outer);

    let (baggage_only, outer) = served(&[("baggage", "tenant=t1")]);
    assert_eq!(baggage_only.parent_span_id, SpanId::INVALID);
    assert_ne!(baggage_only.span_context.trace_id(), outer);

    // A malformed traceparent is no context: a new trace (W3C).
    let (malformed, _) = served(&[("traceparent", "00-not-a-trace-01")]);
    assert_eq!(malformed.parent_span_id, SpanId::INVALID);
}
