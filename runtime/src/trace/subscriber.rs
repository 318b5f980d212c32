//! The `tracing` layer of a service's tracing ([`super::layer`]), in two parts.
//!
//! - tracing-opentelemetry's layer, for the `tracing` spans of the service's own code (an
//!   `#[instrument]`ed function inside a handler gets a child span of the call's) and the
//!   events given such a span as explicit parent. Its filter, a [`TraceFilter`], also holds
//!   the tracer the [call middleware](super::server) starts each call's span with: the
//!   middleware finds it in the current subscriber (`Dispatch::downcast_ref`, which
//!   tracing-subscriber's per-layer filters answer for their filter), so a call is traced
//!   exactly when the subscriber carries this layer, and the call's span is an OpenTelemetry
//!   span made directly, with no `tracing` span, registry entry or field recording behind it.
//! - [`CurrentSpanEvents`], for every other event inside a span: it goes to the innermost
//!   OpenTelemetry span of the thread's current context. That is the call's span while the
//!   call runs (the middleware attaches its context on every poll), or a `tracing` span of the
//!   service's code entered inside it (tracing-opentelemetry attaches the context of the
//!   spans it enters), whatever spans the server itself runs in. The event becomes a span
//!   event named after its message, with `level`, `target` and its fields as attributes; an
//!   `ERROR` event sets the span's status to error, as tracing-opentelemetry does.
//!
//! Both see spans and events at `INFO` and above, except the per-call log events of the
//! logging middleware (the call's span has their outcome already).

use std::cell::Cell;

use opentelemetry::trace::{Status, TraceContextExt as _};
use opentelemetry::{Key, KeyValue, Value};
use opentelemetry_sdk::trace::SdkTracer;
use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Filter};

use crate::middleware::logging::ACCESS_TARGET;

/// The filter of both parts of the layer. Each holds the tracer of the call spans (a shared
/// handle), so the middleware finds it whichever part `Dispatch::downcast_ref` reaches first.
#[derive(Debug, Clone)]
pub(crate) struct TraceFilter {
    /// The call spans' tracer.
    pub(crate) tracer: SdkTracer,
    /// Which events the filtered part takes.
    events: Events,
}

/// Which events a part of the layer takes (each event goes to one part).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Events {
    /// Events with an explicit parent span: tracing-opentelemetry's part.
    WithParent,
    /// Events inside the current span: [`CurrentSpanEvents`].
    InCurrentSpan,
}

impl TraceFilter {
    pub(crate) fn new(tracer: SdkTracer, events: Events) -> Self {
        TraceFilter { tracer, events }
    }
}

impl<S: Subscriber> Filter<S> for TraceFilter {
    fn enabled(&self, meta: &Metadata<'_>, _: &Context<'_, S>) -> bool {
        *meta.level() <= tracing::Level::INFO
            && !(meta.is_event() && meta.target() == ACCESS_TARGET)
    }

    /// Never above `INFO`; otherwise asked each time (as a `filter_fn` would): no decision is
    /// ever taken from a filter state left by an `enabled!` check (tracing-subscriber keeps
    /// the per-layer answers of `enabled!` until the next span or event, which would
    /// otherwise apply them to a callsite that skips the check).
    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> Interest {
        if *meta.level() <= tracing::Level::INFO {
            Interest::sometimes()
        } else {
            Interest::never()
        }
    }

    fn event_enabled(&self, event: &Event<'_>, _: &Context<'_, S>) -> bool {
        match self.events {
            Events::WithParent => event.parent().is_some(),
            Events::InCurrentSpan => event.parent().is_none() && event.is_contextual(),
        }
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::INFO)
    }
}

/// The part of the layer putting the events inside the current span on the current
/// OpenTelemetry span (see the [module documentation](self)).
#[derive(Debug, Clone, Copy)]
pub(crate) struct CurrentSpanEvents;

impl<S: Subscriber> tracing_subscriber::Layer<S> for CurrentSpanEvents {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        on_current_span(event);
    }
}

thread_local! {
    /// Set while an event is being added to a span: anything the SDK itself logs meanwhile is
    /// not added again.
    static ADDING: Cell<bool> = const { Cell::new(false) };
}

/// Adds `event` to the span of the thread's current OpenTelemetry context, when that span
/// records.
fn on_current_span(event: &Event<'_>) {
    if ADDING.with(|adding| adding.replace(true)) {
        return;
    }
    opentelemetry::Context::map_current(|cx| {
        let span = cx.span();
        if !span.is_recording() {
            return;
        }
        let meta = event.metadata();
        let mut fields = EventFields {
            name: None,
            attributes: Vec::with_capacity(2 + meta.fields().len()),
        };
        fields
            .attributes
            .push(KeyValue::new("level", meta.level().as_str()));
        fields
            .attributes
            .push(KeyValue::new("target", meta.target()));
        event.record(&mut fields);
        if *meta.level() == tracing::Level::ERROR {
            span.set_status(Status::error(""));
        }
        let name = fields.name.map_or(meta.name().into(), Into::into);
        span.add_event::<std::borrow::Cow<'static, str>>(name, fields.attributes);
    });
    ADDING.with(|adding| adding.set(false));
}

/// An event's fields as a span event: its `message` is the name, the rest attributes
/// (numbers and booleans as such, `u64` beyond `i64` and everything else as text).
struct EventFields {
    name: Option<String>,
    attributes: Vec<KeyValue>,
}

impl EventFields {
    fn add(&mut self, field: &Field, value: Value) {
        self.attributes
            .push(KeyValue::new(Key::new(field.name()), value));
    }
}

impl Visit for EventFields {
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.add(field, value.into());
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.add(field, value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        match i64::try_from(value) {
            Ok(v) => self.add(field, v.into()),
            Err(_) => self.add(field, value.to_string().into()),
        }
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.add(field, value.into());
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.name = Some(value.to_string());
        } else {
            self.add(field, value.to_string().into());
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.add(field, value.to_string().into());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.name = Some(format!("{value:?}"));
        } else {
            self.add(field, format!("{value:?}").into());
        }
    }
}
