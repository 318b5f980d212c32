#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use super::*;

/// Collects the lines a logger writes.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Capture {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
    fn json(&self) -> Vec<serde_json::Value> {
        self.text()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }
    fn logger(&self) -> Logger {
        let me = self.clone();
        Logger::new().writer(move || me.clone())
    }
}

#[test]
fn json_lines_carry_the_service_the_fields_and_redacted_keys() {
    let capture = Capture::default();
    let (_handle, _guard) = capture
        .logger()
        .format(Format::Json)
        .level("info")
        .filter_keys(["password", "token"])
        .service("host-1", "greeter", "v1.2.0")
        .set_default()
        .unwrap();
    tracing::info!(
        user = "bob", password = "hunter2", token = 42u64, attempts = 3u64, ok = true,
        ratio = 0.5, weird = f64::NAN, debug = ?vec![1, 2],
        "login \"quoted\"\n\tand \u{1} control"
    );
    tracing::warn!(target: "other::target", "second");
    let lines = capture.json();
    assert_eq!(lines.len(), 2, "{}", capture.text());
    let l = &lines[0];
    assert_eq!(l["level"], "INFO");
    assert_eq!(l["target"], module_path!());
    assert_eq!(l["msg"], "login \"quoted\"\n\tand \u{1} control");
    assert_eq!(l["service.id"], "host-1");
    assert_eq!(l["service.name"], "greeter");
    assert_eq!(l["service.version"], "v1.2.0");
    assert_eq!(l["user"], "bob");
    assert_eq!(l["password"], "***");
    assert_eq!(l["token"], "***");
    assert_eq!(l["attempts"], 3);
    assert_eq!(l["ok"], true);
    assert_eq!(l["ratio"], 0.5);
    assert_eq!(l["weird"], "NaN");
    assert_eq!(l["debug"], "[1, 2]");
    assert!(l.get("trace.id").is_none(), "no span, no trace id: {l}");
    let ts = l["ts"].as_str().unwrap();
    assert!(chrono::DateTime::parse_from_rfc3339(ts).is_ok(), "{ts}");
    assert_eq!(lines[1]["level"], "WARN");
    assert_eq!(lines[1]["target"], "other::target");
}

#[test]
fn text_lines_are_one_record_each_whatever_the_values() {
    let capture = Capture::default();
    let (_handle, _guard) = capture
        .logger()
        .level("info")
        .filter_keys(["secret"])
        .service("id", "svc", "")
        .set_default()
        .unwrap();
    tracing::info!(
        plain = "word",
        spaced = "two words",
        eq = "a=b",
        secret = "s3",
        n = -4i64,
        "hello world"
    );
    let text = capture.text();
    assert_eq!(text.lines().count(), 1, "{text}");
    let line = text.lines().next().unwrap();
    assert!(line.starts_with("INFO ts="), "{line}");
    for part in [
        " service.id=id ",
        " service.name=svc ",
        " service.version=\"\" ",
        " msg=\"hello world\" ",
        " plain=word ",
        " spaced=\"two words\" ",
        " eq=\"a=b\" ",
        " secret=*** ",
        " n=-4",
    ] {
        assert!(line.contains(part), "{part:?} in {line}");
    }
}

#[test]
fn the_level_changes_while_running_and_bad_directives_change_nothing() {
    let capture = Capture::default();
    let (handle, _guard) = capture
        .logger()
        .format(Format::Json)
        .level("warn")
        .set_default()
        .unwrap();
    let emit = |n: u64| {
        tracing::info!(n, "info");
        tracing::debug!(n, "debug");
        tracing::warn!(n, "warn");
    };
    emit(1);
    handle.set_level("debug").unwrap();
    emit(2);
    assert!(matches!(
        handle.set_level("info,[{"),
        Err(LogError::Level { .. })
    ));
    assert_eq!(handle.level(), "debug");
    handle.set_level("error,kratos::log::tests=info").unwrap();
    emit(3);
    let seen: Vec<(u64, String)> = capture
        .json()
        .iter()
        .map(|l| {
            (
                l["n"].as_u64().unwrap(),
                l["msg"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected: Vec<(u64, String)> = [
        (1, "warn"),
        (2, "info"),
        (2, "debug"),
        (2, "warn"),
        (3, "info"),
        (3, "warn"),
    ]
    .iter()
    .map(|(n, m)| (*n, m.to_string()))
    .collect();
    assert_eq!(seen, expected);
}

#[test]
fn formats_and_levels_parse_with_clear_errors() {
    assert_eq!("JSON".parse::<Format>().unwrap(), Format::Json);
    assert_eq!("text".parse::<Format>().unwrap(), Format::Text);
    assert!(matches!("yaml".parse::<Format>(), Err(LogError::Format(f)) if f == "yaml"));
    let err = Logger::new().level("=[").into_dispatch().unwrap_err();
    assert!(err.to_string().contains("invalid log level '=['"), "{err}");
}

/// With the OpenTelemetry layer each layer has its own filter: the level still changes at
/// run time, and events inside a span carry its trace and span ids.
#[cfg(feature = "otel")]
#[test]
fn with_tracing_the_level_changes_and_lines_carry_trace_ids() {
    let capture = Capture::default();
    let (handle, _guard) = capture
        .logger()
        .format(Format::Json)
        .level("warn")
        .tracer_provider(crate::trace::local_provider())
        .set_default()
        .unwrap();
    let span = tracing::info_span!("call");
    span.in_scope(|| tracing::info!("hidden"));
    handle.set_level("info").unwrap();
    span.in_scope(|| tracing::info!("shown"));
    tracing::info!("outside");
    let lines = capture.json();
    assert_eq!(lines.len(), 2, "{}", capture.text());
    assert_eq!(lines[0]["msg"], "shown");
    let trace = lines[0]["trace.id"].as_str().unwrap();
    assert_eq!(trace.len(), 32);
    assert_eq!(lines[0]["span.id"].as_str().unwrap().len(), 16);
    assert!(lines[1].get("trace.id").is_none(), "{}", lines[1]);
}

/// An event carries the ids of its explicit parent, else of the span it happens in; inside a
/// span the OpenTelemetry layer does not trace (below its `info` level), of the nearest
/// traced span around it.
#[cfg(feature = "otel")]
#[test]
fn lines_carry_the_ids_of_the_parent_or_the_nearest_traced_span() {
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    let capture = Capture::default();
    let (_handle, _guard) = capture
        .logger()
        .format(Format::Json)
        .level("debug")
        .tracer_provider(crate::trace::local_provider())
        .set_default()
        .unwrap();
    let ids = |span: &tracing::Span| {
        use opentelemetry::trace::TraceContextExt as _;
        let cx = span.context();
        let sc = cx.span().span_context().clone();
        (sc.trace_id().to_string(), sc.span_id().to_string())
    };
    let outer = tracing::info_span!("outer");
    let other = tracing::info_span!("other");
    let (outer_trace, outer_span) = ids(&outer);
    let (other_trace, other_span) = ids(&other);
    outer.in_scope(|| {
        tracing::info!("in outer");
        tracing::info!(parent: &other, "explicitly in other");
        tracing::debug_span!("untraced").in_scope(|| tracing::info!("in untraced"));
    });
    let lines = capture.json();
    assert_eq!(lines.len(), 3, "{}", capture.text());
    for (line, trace, span) in [
        (&lines[0], &outer_trace, &outer_span),
        (&lines[1], &other_trace, &other_span),
        (&lines[2], &outer_trace, &outer_span),
    ] {
        assert_eq!(line["trace.id"].as_str(), Some(trace.as_str()), "{line}");
        assert_eq!(line["span.id"].as_str(), Some(span.as_str()), "{line}");
    }
    assert_ne!(outer_trace, other_trace);
}
