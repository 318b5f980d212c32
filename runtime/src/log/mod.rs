//! Logging (feature `log`, on by default): the `tracing` subscriber a service logs through,
//! with Kratos' log line contents.
//!
//! [`Logger`] builds it: human-readable lines ([`Format::Text`], Kratos' `LEVEL k=v ...`) or
//! JSON lines ([`Format::Json`], one object per line, for Fluentd, Loki or Vector), each with
//! `ts`, `level`, `service.id`, `service.name`, `service.version`, `trace.id` and `span.id`
//! when the event happens inside a traced call (feature `otel`), `msg` and the event's fields.
//! The level comes from `RUST_LOG` (`tracing` directives such as `info,kratos::access=warn`)
//! or [`Logger::level`], and can be changed while running through the [`LogHandle`]. Values of
//! the keys given to [`Logger::filter_keys`] are written `***` (Kratos' `FilterKey`).
//!
//! [`App`](crate::App) installs a [`Logger::from_env`] subscriber with its id, name and
//! version when none is set (opt out with [`App::default_subscriber`](crate::App)), so a
//! service prints its listening addresses and one line per call (with the
//! [logging middleware](fn@crate::middleware::logging)) without any setup.
//!
//! Nothing is formatted for an event no layer wants: the level filter is consulted through
//! `tracing`'s callsite interest before the event's fields are visited.

use std::io::{self, Write};
use std::sync::{Arc, Mutex, PoisonError};

use tracing::Dispatch;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::{EnvFilter, Registry, reload};

mod layer;

pub use layer::LogLayer;

pub use crate::middleware::logging::ACCESS_TARGET;

/// The level directives used when neither `RUST_LOG` nor [`Logger::level`] gives any.
pub const DEFAULT_LEVEL: &str = "info";

/// The environment variable choosing the format of [`Logger::from_env`]: `json` or `text`.
pub const FORMAT_ENV: &str = "KRATOS_LOG_FORMAT";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// `LEVEL ts=... service.name=... msg=... key=value ...`: values with spaces, quotes or
    /// `=` are quoted with Rust string escapes, so each line is one record.
    #[default]
    Text,
    /// One JSON object per line. Numbers and booleans stay JSON numbers and booleans, other
    /// values are strings.
    Json,
}

impl std::str::FromStr for Format {
    type Err = LogError;

    /// `text` or `json` (case-insensitive).
    fn from_str(s: &str) -> Result<Self, LogError> {
        if s.eq_ignore_ascii_case("json") {
            Ok(Format::Json)
        } else if s.eq_ignore_ascii_case("text") {
            Ok(Format::Text)
        } else {
            Err(LogError::Format(s.to_string()))
        }
    }
}

/// The service identity written on every line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Service {
    /// `service.id`.
    pub id: String,
    /// `service.name`.
    pub name: String,
    /// `service.version`.
    pub version: String,
}

/// Why a logger could not be built or changed.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// Level directives that do not parse.
    #[error("invalid log level '{directives}': {reason}")]
    Level {
        /// The directives as given.
        directives: String,
        /// What is wrong with them.
        reason: String,
    },
    /// A format other than `text` or `json`.
    #[error("invalid log format '{0}': expected text or json")]
    Format(String),
    /// A global subscriber was already set.
    #[error("a global tracing subscriber is already set")]
    AlreadySet,
    /// The subscriber the handle changes is gone.
    #[error("the logger is gone: {0}")]
    Gone(String),
}

/// Where lines go: a fresh writer per line.
pub(crate) type MakeWriter = Arc<dyn Fn() -> Box<dyn Write + Send> + Send + Sync>;

/// Builds the logging subscriber.
#[derive(Clone)]
pub struct Logger {
    format: Format,
    level: Option<String>,
    filter_keys: Vec<String>,
    service: Service,
    writer: MakeWriter,
    #[cfg(feature = "otel")]
    tracer: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
    #[cfg(feature = "otel")]
    trace_from_env: bool,
}

impl std::fmt::Debug for Logger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logger")
            .field("format", &self.format)
            .field("level", &self.level)
            .field("filter_keys", &self.filter_keys)
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

impl Default for Logger {
    fn default() -> Self {
        Logger::new()
    }
}

impl Logger {
    /// Text lines on standard output, level from `RUST_LOG` (else `info`), no redaction.
    pub fn new() -> Self {
        Logger {
            format: Format::Text,
            level: None,
            filter_keys: Vec::new(),
            service: Service::default(),
            writer: Arc::new(|| Box::new(io::stdout())),
            #[cfg(feature = "otel")]
            tracer: None,
            #[cfg(feature = "otel")]
            trace_from_env: false,
        }
    }

    /// [`Logger::new`] with the format from `KRATOS_LOG_FORMAT` (`json` or `text`; another
    /// value is ignored), and, with the feature `otel`, the OpenTelemetry layer: spans are
    /// exported as the `OTEL_*` variables say when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set (see [`crate::trace`]), and otherwise
    /// only given ids, so that log lines still carry the trace id of each call.
    pub fn from_env() -> Self {
        let mut logger = Logger::new();
        if let Some(format) = std::env::var(FORMAT_ENV)
            .ok()
            .and_then(|f| f.parse::<Format>().ok())
        {
            logger.format = format;
        }
        #[cfg(feature = "otel")]
        {
            logger.trace_from_env = true;
        }
        logger
    }

    /// The line format.
    pub fn format(mut self, format: Format) -> Self {
        self.format = format;
        self
    }

    /// The level directives (`tracing` syntax: `info`, `warn,kratos::access=info`, ...),
    /// taking precedence over `RUST_LOG` (as a configuration file's value would).
    pub fn level(mut self, directives: impl Into<String>) -> Self {
        self.level = Some(directives.into());
        self
    }

    /// Keys whose values are written `***` (Kratos' `FilterKey`), compared exactly.
    pub fn filter_keys<K: Into<String>>(mut self, keys: impl IntoIterator<Item = K>) -> Self {
        self.filter_keys.extend(keys.into_iter().map(Into::into));
        self
    }

    /// The service identity written on every line.
    pub fn service(
        mut self,
        id: impl Into<String>,
        name: impl Into<String>,
        version: impl Into<String>,
    ) -> Self {
        self.service = Service {
            id: id.into(),
            name: name.into(),
            version: version.into(),
        };
        self
    }

    /// The service identity, if none was given yet (how [`App`](crate::App) fills it in).
    pub(crate) fn service_if_unset(mut self, service: Service) -> Self {
        if self.service == Service::default() {
            self.service = service;
        }
        self
    }

    /// Writes lines to the writers `make` returns, one writer per line (default: standard
    /// output).
    pub fn writer<W, F>(mut self, make: F) -> Self
    where
        W: Write + Send + 'static,
        F: Fn() -> W + Send + Sync + 'static,
    {
        self.writer = Arc::new(move || Box::new(make()));
        self
    }

    /// Also exports spans through `provider` (feature `otel`): the subscriber then carries
    /// [`crate::trace::layer`], so the tracing middleware's spans, the service's own `tracing`
    /// spans and the events inside them reach the provider's exporter, and log lines carry
    /// `trace.id`/`span.id`.
    #[cfg(feature = "otel")]
    pub fn tracer_provider(
        mut self,
        provider: opentelemetry_sdk::trace::SdkTracerProvider,
    ) -> Self {
        self.tracer = Some(provider);
        self
    }

    fn filter(&self) -> Result<EnvFilter, LogError> {
        let directives = match &self.level {
            Some(level) => level.clone(),
            None => std::env::var(EnvFilter::DEFAULT_ENV)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| DEFAULT_LEVEL.to_string()),
        };
        parse_filter(&directives)
    }

    /// The subscriber as a [`Dispatch`], with the handle changing its level.
    pub fn into_dispatch(self) -> Result<(Dispatch, LogHandle), LogError> {
        let filter = self.filter()?;
        let directives = filter.to_string();
        let (filter, reload) = reload::Layer::new(filter);
        let handle = LogHandle {
            reload,
            current: Arc::new(Mutex::new(directives)),
        };
        let layer = LogLayer::new(
            self.format,
            self.filter_keys.into(),
            &self.service,
            self.writer.clone(),
        );
        #[cfg(feature = "otel")]
        {
            use tracing_subscriber::Layer as _;
            let mut tracer = self.tracer;
            if tracer.is_none() && self.trace_from_env {
                // The service name falls back to the logger's (the App's name).
                // Without an endpoint, spans still get ids (and continue the caller's
                // trace), so log lines carry trace ids; nothing is exported.
                match crate::trace::provider_from_env(&self.service.name) {
                    Ok(Some(provider)) => tracer = Some(provider),
                    Ok(None) => tracer = Some(crate::trace::local_provider()),
                    Err(e) => {
                        eprintln!("kratos: spans are not exported: {e}");
                        tracer = Some(crate::trace::local_provider());
                    }
                }
            }
            if let Some(provider) = tracer {
                // Each layer filters on its own: the log level does not decide which calls
                // are traced (the trace layer takes spans and events at info and above).
                let subscriber = Registry::default()
                    .with(layer.with_filter(filter))
                    .with(crate::trace::layer(&provider));
                return Ok((Dispatch::new(subscriber), handle));
            }
        }
        // One layer: its level filter applies to the whole subscriber.
        Ok((
            Dispatch::new(Registry::default().with(filter).with(layer)),
            handle,
        ))
    }

    /// Installs the subscriber as the global default.
    pub fn init(self) -> Result<LogHandle, LogError> {
        let (dispatch, handle) = self.into_dispatch()?;
        tracing::dispatcher::set_global_default(dispatch).map_err(|_| LogError::AlreadySet)?;
        Ok(handle)
    }

    /// Installs the subscriber as the default of the current thread until the guard is
    /// dropped (tests; a current-thread tokio runtime keeps every task on that thread).
    pub fn set_default(self) -> Result<(LogHandle, tracing::dispatcher::DefaultGuard), LogError> {
        let (dispatch, handle) = self.into_dispatch()?;
        let guard = tracing::dispatcher::set_default(&dispatch);
        Ok((handle, guard))
    }
}

fn parse_filter(directives: &str) -> Result<EnvFilter, LogError> {
    EnvFilter::builder()
        .parse(directives)
        .map_err(|e| LogError::Level {
            directives: directives.to_string(),
            reason: e.to_string(),
        })
}

/// Changes the level of an installed [`Logger`] while it runs. Cheap to clone.
#[derive(Clone)]
pub struct LogHandle {
    reload: reload::Handle<EnvFilter, Registry>,
    current: Arc<Mutex<String>>,
}

impl std::fmt::Debug for LogHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogHandle")
            .field("level", &self.level())
            .finish()
    }
}

impl LogHandle {
    /// Replaces the level directives; the next events are filtered by them (callsites
    /// re-evaluate their interest). Invalid directives leave the level as it was.
    pub fn set_level(&self, directives: &str) -> Result<(), LogError> {
        let filter = parse_filter(directives)?;
        let shown = filter.to_string();
        self.reload
            .reload(filter)
            .map_err(|e| LogError::Gone(e.to_string()))?;
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) = shown;
        Ok(())
    }

    /// The level directives in effect.
    pub fn level(&self) -> String {
        self.current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// Installs `logger` as the global subscriber unless a subscriber is already in effect for
/// this thread (a global one, or a thread default); what [`App`](crate::App) does before
/// starting its servers. Returns the handle when it installed one.
pub(crate) fn install_default(logger: Logger) -> Option<LogHandle> {
    let unset = tracing::dispatcher::get_default(|d| d.is::<tracing::subscriber::NoSubscriber>());
    if !unset || tracing::dispatcher::has_been_set() {
        return None;
    }
    match logger.init() {
        Ok(handle) => Some(handle),
        Err(e) => {
            eprintln!("kratos: default logger not installed: {e}");
            None
        }
    }
}

#[cfg(test)]
mod tests;
