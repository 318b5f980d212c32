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

/// Serves one call (`/a.B/C`) with `headers` through the server middleware, its handler
/// running `handler`, inside an entered span of the process (as a server task instrumented by
/// its caller would be), with a subscriber carrying [`layer`]; returns every exported span and
/// the process span's trace id.
fn serve_traced(
    headers: http::HeaderMap,
    handler: impl Fn() -> Result<u32, crate::errors::Error> + Send + Sync + 'static,
) -> (
    Vec<opentelemetry_sdk::trace::SpanData>,
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
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let handler = std::sync::Arc::new(handler);
    let outer_trace = tracing::subscriber::with_default(subscriber, || {
        let outer = tracing::info_span!("process");
        let _entered = outer.enter();
        let endpoint = crate::middleware::Endpoint::new(&[server()], move |_ctx, _x: u32| {
            let handler = std::sync::Arc::clone(&handler);
            async move { handler() }
        });
        let ctx = Context::new(Kind::Http, "/a.B/C", headers);
        let _ = runtime.block_on(endpoint.call(ctx, 1));
        outer.context().span().span_context().trace_id()
    });
    let spans = kept.0.lock().unwrap().clone();
    (spans, outer_trace)
}

/// The server span of one call served with `headers` (see [`serve_traced`]), and the process
/// span's trace id.
fn served(
    headers: &[(&str, &str)],
) -> (
    opentelemetry_sdk::trace::SpanData,
    opentelemetry::trace::TraceId,
) {
    let mut map = http::HeaderMap::new();
    for (k, v) in headers {
        map.insert(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            http::HeaderValue::from_str(v).unwrap(),
        );
    }
    let (spans, outer_trace) = serve_traced(map, || Ok(2));
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

/// Every span exported for one call served without a trace context, its handler running
/// `handler` (see [`serve_traced`]).
fn spans_of_call(
    handler: impl Fn() -> Result<u32, crate::errors::Error> + Send + Sync + 'static,
) -> Vec<opentelemetry_sdk::trace::SpanData> {
    serve_traced(http::HeaderMap::new(), handler).0
}

fn named<'a>(
    spans: &'a [opentelemetry_sdk::trace::SpanData],
    name: &str,
) -> &'a opentelemetry_sdk::trace::SpanData {
    spans
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no span {name} in {spans:#?}"))
}

fn attribute<'a>(
    attributes: &'a [opentelemetry::KeyValue],
    key: &str,
) -> Option<&'a opentelemetry::Value> {
    attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

/// The rule for events: an event goes to the innermost span it happens in: the call's span
/// (not a span the server itself runs in), a span of the handler's own code entered inside
/// the call (itself a child of the call's span), or its explicit parent. Its message is its
/// name; `level`, `target` and its fields are attributes.
#[test]
fn events_go_to_the_innermost_span_they_happen_in() {
    let spans = spans_of_call(|| {
        tracing::info!(
            shelf = 7_i64,
            big = u64::MAX,
            ok = true,
            who = "me",
            "in the call"
        );
        let own = tracing::info_span!("own work");
        own.in_scope(|| tracing::warn!(ratio = 0.5, "in the handler's span"));
        let detached = tracing::info_span!(parent: None, "detached");
        tracing::info!(parent: &detached, "given a parent");
        drop(detached);
        tracing::debug!("below info: not exported");
        Ok(1)
    });
    let call = named(&spans, "/a.B/C");
    let own = named(&spans, "own work");
    let detached = named(&spans, "detached");
    let process = named(&spans, "process");

    assert_eq!(call.parent_span_id, SpanId::INVALID);
    let names: Vec<&str> = call.events.iter().map(|e| e.name.as_ref()).collect();
    assert_eq!(names, ["in the call"], "{call:#?}");
    let event = &call.events[0];
    assert_eq!(
        attribute(&event.attributes, "level").map(|v| v.as_str()),
        Some("INFO".into())
    );
    assert_eq!(
        attribute(&event.attributes, "target").map(|v| v.as_str().into_owned()),
        Some(module_path!().to_string())
    );
    assert_eq!(
        attribute(&event.attributes, "shelf"),
        Some(&opentelemetry::Value::I64(7))
    );
    assert_eq!(
        attribute(&event.attributes, "big").map(|v| v.as_str().into_owned()),
        Some(u64::MAX.to_string())
    );
    assert_eq!(
        attribute(&event.attributes, "ok"),
        Some(&opentelemetry::Value::Bool(true))
    );
    assert_eq!(
        attribute(&event.attributes, "who").map(|v| v.as_str().into_owned()),
        Some("me".to_string())
    );

    // The handler's own span is the call's child and has its own event.
    assert_eq!(own.parent_span_id, call.span_context.span_id());
    assert_eq!(own.span_context.trace_id(), call.span_context.trace_id());
    let own_names: Vec<&str> = own.events.iter().map(|e| e.name.as_ref()).collect();
    assert_eq!(own_names, ["in the handler's span"]);
    assert_eq!(
        attribute(&own.events[0].attributes, "ratio"),
        Some(&opentelemetry::Value::F64(0.5))
    );

    // The explicit parent gets its event; the span the server runs in gets none.
    assert!(
        detached.events.iter().any(|e| e.name == "given a parent"),
        "{detached:#?}"
    );
    assert!(process.events.is_empty(), "{process:#?}");
}

/// An `ERROR` event marks the span as failed, as tracing-opentelemetry does; a call that
/// then succeeds still ends ok (an ok status is final), a failed one is recorded as such.
#[test]
fn error_events_mark_the_span_failed() {
    use opentelemetry::trace::Status;

    let failed = spans_of_call(|| {
        tracing::error!("the store is down");
        Err(crate::errors::Error::new(
            503,
            "STORE_DOWN",
            "the store is down",
        ))
    });
    let call = named(&failed, "/a.B/C");
    assert!(matches!(call.status, Status::Error { .. }), "{call:#?}");
    let names: Vec<&str> = call.events.iter().map(|e| e.name.as_ref()).collect();
    assert_eq!(names, ["the store is down", "exception"]);

    let recovered = spans_of_call(|| {
        tracing::error!("retrying");
        tracing::info_span!("lookup").in_scope(|| tracing::error!("not found"));
        Ok(1)
    });
    assert_eq!(named(&recovered, "/a.B/C").status, Status::Ok);
    // The handler's own span, which no one sets ok, stays failed.
    let lookup = named(&recovered, "lookup");
    assert!(matches!(lookup.status, Status::Error { .. }), "{lookup:#?}");
}

/// Without the layer in the subscriber, the middleware only forwards the call.
#[test]
fn without_the_layer_calls_are_not_traced() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let subscriber = tracing_subscriber::Registry::default();
    let traced = tracing::subscriber::with_default(subscriber, || {
        let endpoint = crate::middleware::Endpoint::new(&[server()], |_ctx, x: u32| async move {
            use opentelemetry::trace::TraceContextExt as _;
            let valid =
                opentelemetry::Context::map_current(|cx| cx.span().span_context().is_valid());
            Ok(if valid { x } else { 0 })
        });
        let ctx = Context::new(Kind::Http, "/a.B/C", http::HeaderMap::new());
        runtime.block_on(endpoint.call(ctx, 1)).unwrap()
    });
    assert_eq!(traced, 0);
}
