//! Tracing with OpenTelemetry (feature `otel`), as Kratos' tracing middleware.
//!
//! - [`server`] and [`client`]: the middleware. Each call gets a span named after its
//!   operation (`/package.Service/Method`), of kind server or client, with Kratos'
//!   attributes; the server continues the caller's trace (W3C `traceparent`/`tracestate`,
//!   baggage, and Kratos' `x-md-service-name` metadata), the client sends its own. `tracing`
//!   events emitted while a handler runs belong to its span (and log lines carry its
//!   `trace.id`/`span.id`, see [`crate::log`]).
//! - [`Settings`]: where spans go, OTLP over gRPC or HTTP/protobuf;
//!   [`Settings::from_env`] reads the standard `OTEL_*` variables. [`crate::log::Logger`]
//!   puts the provider's layer in the subscriber, and [`crate::App`] does it on its own when
//!   `OTEL_EXPORTER_OTLP_ENDPOINT` is set and it installs the default subscriber.
//! - [`flush`]: exports what is buffered; [`crate::App`] calls it after a graceful stop.
//!
//! Calls are only traced when the current `tracing` subscriber carries [`layer`]: the
//! middleware takes its tracer from there and starts each call's span directly with it;
//! without it the middleware only forwards the call.

use std::sync::{Mutex, PoisonError, RwLock};
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, Sampler, SdkTracerProvider,
};

mod exporter_client;
mod middleware;
mod propagation;
mod subscriber;

pub use middleware::{client, server};
use propagation::carries_context;
pub use propagation::{SERVICE_HEADER, extract, inject};
use subscriber::{Events, TraceFilter};

/// The target of the events of tracing itself (such as a failed flush).
pub const TRACE_TARGET: &str = "kratos::trace";

/// How spans are sent to the collector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// OTLP over gRPC (`grpc`), usually port 4317.
    Grpc,
    /// OTLP over HTTP with protobuf bodies (`http/protobuf`), usually port 4318; spans are
    /// posted to `<endpoint>/v1/traces`.
    HttpProtobuf,
}

/// Why tracing could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// A variable with a value we cannot use.
    #[error("{var}={value:?}: {reason}")]
    Env {
        /// The variable.
        var: &'static str,
        /// Its value.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The exporter could not be built.
    #[error("the OTLP exporter could not be built: {0}")]
    Exporter(String),
}

/// Where and how spans are exported.
#[derive(Debug, Clone)]
pub struct Settings {
    endpoint: String,
    protocol: Protocol,
    service_name: Option<String>,
    sampler: SamplerSetting,
    schedule_delay: Option<Duration>,
}

/// A sampler, as `OTEL_TRACES_SAMPLER` names them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SamplerSetting {
    /// `always_on`: every span.
    AlwaysOn,
    /// `always_off`: none.
    AlwaysOff,
    /// `traceidratio`: this fraction of the traces.
    Ratio(f64),
    /// `parentbased_always_on` (the default): as the caller decided, else every span.
    ParentBasedAlwaysOn,
    /// `parentbased_always_off`: as the caller decided, else none.
    ParentBasedAlwaysOff,
    /// `parentbased_traceidratio`: as the caller decided, else this fraction.
    ParentBasedRatio(f64),
}

impl SamplerSetting {
    fn sampler(self) -> Sampler {
        match self {
            SamplerSetting::AlwaysOn => Sampler::AlwaysOn,
            SamplerSetting::AlwaysOff => Sampler::AlwaysOff,
            SamplerSetting::Ratio(r) => Sampler::TraceIdRatioBased(r),
            SamplerSetting::ParentBasedAlwaysOn => {
                Sampler::ParentBased(Box::new(Sampler::AlwaysOn))
            }
            SamplerSetting::ParentBasedAlwaysOff => {
                Sampler::ParentBased(Box::new(Sampler::AlwaysOff))
            }
            SamplerSetting::ParentBasedRatio(r) => {
                Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(r)))
            }
        }
    }
}

const ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
const TRACES_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
const PROTOCOL: &str = "OTEL_EXPORTER_OTLP_PROTOCOL";
const TRACES_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL";
const SERVICE_NAME: &str = "OTEL_SERVICE_NAME";
const SAMPLER: &str = "OTEL_TRACES_SAMPLER";
const SAMPLER_ARG: &str = "OTEL_TRACES_SAMPLER_ARG";
const SCHEDULE_DELAY: &str = "OTEL_BSP_SCHEDULE_DELAY";

impl Settings {
    /// Export to `endpoint` (`http://host:port`; for HTTP/protobuf the full URL spans are
    /// posted to) with `protocol`, every span sampled unless the caller's was not, service
    /// name from `OTEL_SERVICE_NAME`/`OTEL_RESOURCE_ATTRIBUTES` (else the SDK's default).
    pub fn new(endpoint: impl Into<String>, protocol: Protocol) -> Self {
        Settings {
            endpoint: endpoint.into(),
            protocol,
            service_name: None,
            sampler: SamplerSetting::ParentBasedAlwaysOn,
            schedule_delay: None,
        }
    }

    /// The `service.name` resource attribute.
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// The sampler.
    pub fn sampler(mut self, sampler: SamplerSetting) -> Self {
        self.sampler = sampler;
        self
    }

    /// How long spans wait in the batch before being sent (default 5 s).
    pub fn schedule_delay(mut self, delay: Duration) -> Self {
        self.schedule_delay = Some(delay);
        self
    }

    /// The settings the standard variables give, `None` when neither
    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` nor `OTEL_EXPORTER_OTLP_ENDPOINT` is set:
    ///
    /// - the endpoint: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` as it is, else
    ///   `OTEL_EXPORTER_OTLP_ENDPOINT` (plus `/v1/traces` for HTTP/protobuf);
    /// - `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`, else `OTEL_EXPORTER_OTLP_PROTOCOL`: `grpc` or
    ///   `http/protobuf` (the default, as the OpenTelemetry specification says);
    /// - `OTEL_SERVICE_NAME` (else `fallback_service_name` when not empty);
    /// - `OTEL_TRACES_SAMPLER` (`always_on`, `always_off`, `traceidratio`,
    ///   `parentbased_always_on` (default), `parentbased_always_off`,
    ///   `parentbased_traceidratio`) with `OTEL_TRACES_SAMPLER_ARG` (the ratio, 0 to 1,
    ///   default 1);
    /// - `OTEL_BSP_SCHEDULE_DELAY`: milliseconds between exports (default 5000).
    ///
    /// Empty values count as unset. A value outside these is an error naming the variable.
    pub fn from_env(fallback_service_name: &str) -> Result<Option<Settings>, TraceError> {
        Self::from_lookup(
            |var| std::env::var(var).ok().filter(|v| !v.trim().is_empty()),
            fallback_service_name,
        )
    }

    fn from_lookup(
        get: impl Fn(&'static str) -> Option<String>,
        fallback_service_name: &str,
    ) -> Result<Option<Settings>, TraceError> {
        let protocol = match get(TRACES_PROTOCOL)
            .map(|p| (TRACES_PROTOCOL, p))
            .or_else(|| get(PROTOCOL).map(|p| (PROTOCOL, p)))
        {
            None => Protocol::HttpProtobuf,
            Some((_, p)) if p.trim() == "grpc" => Protocol::Grpc,
            Some((_, p)) if p.trim() == "http/protobuf" => Protocol::HttpProtobuf,
            Some((var, value)) => {
                return Err(TraceError::Env {
                    var,
                    value,
                    reason: "expected grpc or http/protobuf",
                });
            }
        };
        let endpoint = match (get(TRACES_ENDPOINT), get(ENDPOINT)) {
            (Some(endpoint), _) => endpoint.trim().to_string(),
            (None, Some(base)) => {
                let base = base.trim().trim_end_matches('/');
                match protocol {
                    Protocol::Grpc => base.to_string(),
                    Protocol::HttpProtobuf => format!("{base}/v1/traces"),
                }
            }
            (None, None) => return Ok(None),
        };
        let mut settings = Settings::new(endpoint, protocol);
        settings.service_name = get(SERVICE_NAME)
            .or_else(|| (!fallback_service_name.is_empty()).then(|| fallback_service_name.into()));
        let ratio = match get(SAMPLER_ARG) {
            None => 1.0,
            Some(arg) => match arg.trim().parse::<f64>() {
                Ok(r) if (0.0..=1.0).contains(&r) => r,
                _ => {
                    return Err(TraceError::Env {
                        var: SAMPLER_ARG,
                        value: arg,
                        reason: "expected a ratio between 0 and 1",
                    });
                }
            },
        };
        if let Some(sampler) = get(SAMPLER) {
            settings.sampler = match sampler.trim() {
                "always_on" => SamplerSetting::AlwaysOn,
                "always_off" => SamplerSetting::AlwaysOff,
                "traceidratio" => SamplerSetting::Ratio(ratio),
                "parentbased_always_on" => SamplerSetting::ParentBasedAlwaysOn,
                "parentbased_always_off" => SamplerSetting::ParentBasedAlwaysOff,
                "parentbased_traceidratio" => SamplerSetting::ParentBasedRatio(ratio),
                _ => {
                    return Err(TraceError::Env {
                        var: SAMPLER,
                        value: sampler,
                        reason: "expected always_on, always_off, traceidratio, \
                                 parentbased_always_on, parentbased_always_off or \
                                 parentbased_traceidratio",
                    });
                }
            };
        }
        if let Some(delay) = get(SCHEDULE_DELAY) {
            let ms = delay.trim().parse::<u64>().map_err(|_| TraceError::Env {
                var: SCHEDULE_DELAY,
                value: delay.clone(),
                reason: "expected milliseconds",
            })?;
            settings.schedule_delay = Some(Duration::from_millis(ms));
        }
        Ok(Some(settings))
    }

    /// The endpoint spans are sent to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The protocol.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// Builds the tracer provider: a batch span processor sending to the OTLP exporter. Must
    /// be called within a tokio runtime (the exporters' connections live on it). The provider
    /// is remembered for [`flush`].
    pub fn provider(self) -> Result<SdkTracerProvider, TraceError> {
        let exporter = match self.protocol {
            Protocol::Grpc => opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(self.endpoint.clone())
                .build(),
            Protocol::HttpProtobuf => {
                let client =
                    exporter_client::HyperExporterClient::new().map_err(TraceError::Exporter)?;
                opentelemetry_otlp::SpanExporter::builder()
                    .with_http()
                    .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                    .with_endpoint(self.endpoint.clone())
                    .with_http_client(client)
                    .build()
            }
        }
        .map_err(|e| TraceError::Exporter(e.to_string()))?;
        let mut batch = BatchConfigBuilder::default();
        if let Some(delay) = self.schedule_delay {
            batch = batch.with_scheduled_delay(delay);
        }
        let processor = BatchSpanProcessor::builder(exporter)
            .with_batch_config(batch.build())
            .build();
        let mut resource = Resource::builder();
        if let Some(name) = &self.service_name {
            resource = resource.with_service_name(name.clone());
            set_service_name(name);
        }
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor)
            .with_sampler(self.sampler.sampler())
            .with_resource(resource.build())
            .build();
        PROVIDERS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(provider.clone());
        Ok(provider)
    }
}

/// The providers built by [`Settings::provider`], flushed by [`flush`].
static PROVIDERS: Mutex<Vec<SdkTracerProvider>> = Mutex::new(Vec::new());

/// The tracer provider the standard variables describe (see [`Settings::from_env`]), `None`
/// when no endpoint is set.
pub fn provider_from_env(
    fallback_service_name: &str,
) -> Result<Option<SdkTracerProvider>, TraceError> {
    Settings::from_env(fallback_service_name)?
        .map(Settings::provider)
        .transpose()
}

/// A provider exporting nothing: spans get ids (continuing the caller's trace, sampled as
/// the caller decided, else sampled) for log lines and propagation only.
pub fn local_provider() -> SdkTracerProvider {
    SdkTracerProvider::builder()
        .with_sampler(SamplerSetting::ParentBasedAlwaysOn.sampler())
        .build()
}

/// The `tracing` layer of tracing with `provider` (what [`crate::log::Logger::tracer_provider`]
/// adds; for a subscriber of one's own): the tracing middleware makes its call spans with
/// the provider's tracer, the service's own `tracing` spans become OpenTelemetry spans of it,
/// and each event goes to the span it happens in. Spans and events at `INFO` and above are
/// taken, except the logging middleware's per-call events, whatever other layers' levels are.
///
/// ```no_run
/// use tracing_subscriber::layer::SubscriberExt as _;
///
/// let provider = kratos::trace::local_provider();
/// let subscriber = tracing_subscriber::Registry::default().with(kratos::trace::layer(&provider));
/// tracing::subscriber::set_global_default(subscriber).expect("no subscriber yet");
/// ```
pub fn layer<S>(provider: &SdkTracerProvider) -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    use tracing_subscriber::Layer as _;
    let tracer = provider.tracer("kratos");
    // Only Kratos' attributes: no source location, thread, or `target` attribute, and no
    // busy/idle timings (two clock readings on every poll of a span's future).
    let spans = tracing_opentelemetry::OpenTelemetryLayer::new(tracer.clone())
        .with_location(false)
        .with_threads(false)
        .with_target(false)
        .with_tracked_inactivity(false)
        .with_filter(TraceFilter::new(tracer.clone(), Events::WithParent));
    spans.and_then(
        subscriber::CurrentSpanEvents.with_filter(TraceFilter::new(tracer, Events::InCurrentSpan)),
    )
}

/// Exports the spans every provider built by [`Settings::provider`] still buffers, waiting
/// for the exporters (on a blocking thread: the SDK's flush blocks).
pub async fn flush() {
    let providers = PROVIDERS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    if providers.is_empty() {
        return;
    }
    let flushed = tokio::task::spawn_blocking(move || {
        for provider in providers {
            if let Err(e) = provider.force_flush() {
                tracing::warn!(target: TRACE_TARGET, error = %e, "flushing spans failed");
            }
        }
    });
    let _ = flushed.await;
}

/// The service name sent as Kratos' `x-md-service-name` by the client middleware.
static SERVICE: RwLock<String> = RwLock::new(String::new());

/// Sets the service name the client middleware sends in `x-md-service-name` (Kratos sends
/// the application's name). [`Settings::provider`] sets it to its service name.
pub fn set_service_name(name: &str) {
    *SERVICE.write().unwrap_or_else(PoisonError::into_inner) = name.to_string();
}

fn service_name() -> String {
    SERVICE
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

#[cfg(test)]
mod tests;
