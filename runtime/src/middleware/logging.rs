//! Logging: one `tracing` event per call, server or client, as Kratos' logging middleware
//! writes one log line.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

use super::{Handler, Message, Middleware};
use crate::context::Side;
use crate::errors::Error;

/// The target of the per-call events (also [`crate::log::ACCESS_TARGET`]): filter them with
/// `RUST_LOG=...,kratos::access=off` or raise them alone with `kratos::access=info`.
pub const ACCESS_TARGET: &str = "kratos::access";

type Redact = Arc<dyn Fn(&Message) -> String + Send + Sync>;

/// The logging middleware with options (Kratos' `logging.Server`/`logging.Client`): one
/// event per call, on the server and on the client, through `tracing` (target
/// [`ACCESS_TARGET`]), with Kratos' keys:
///
/// - `kind`: `server` or `client` (which end of the call this process is);
/// - `component`: the transport, `http` or `grpc`;
/// - `operation`: `/package.Service/Method`;
/// - `args`: the request as [`redact_args`](Logging::redact_args) writes it (default: its
///   `Debug` form; for a request that could not be bound, the binding error);
/// - `code` (200 on success, else the error's code), `reason`, `stack` (the error and its
///   causes; empty on success);
/// - `latency`: seconds, as a float.
///
/// The event is at `error` level when the call fails (the handler's error, a binding or
/// validation error, a recovered panic, a timeout: anything inner middleware return), `info`
/// otherwise. The request is formatted only when such an event is enabled for the target:
/// with the target filtered out, the middleware costs one callsite check per call.
#[derive(Clone, Default)]
pub struct Logging {
    redact: Option<Redact>,
}

impl std::fmt::Debug for Logging {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logging")
            .field("redact_args", &self.redact.is_some())
            .finish()
    }
}

impl Logging {
    /// The default options.
    pub fn new() -> Self {
        Logging::default()
    }

    /// How `args` is written (Kratos' `Redacter`): `redact` gets the request and returns the
    /// text to log, for instance without its secret fields (downcast the [`Message`] to the
    /// request type to read them).
    pub fn redact_args(
        mut self,
        redact: impl Fn(&Message) -> String + Send + Sync + 'static,
    ) -> Self {
        self.redact = Some(Arc::new(redact));
        self
    }

    /// The middleware.
    pub fn build(self) -> Middleware {
        let redact = self.redact;
        Middleware::new(move |next: Handler| {
            let redact = redact.clone();
            Handler::new(move |ctx, req| {
                // Error is the most verbose level this middleware logs at: if it is off for
                // the target, no event of this call can be written, so nothing is formatted.
                let args =
                    tracing::enabled!(target: ACCESS_TARGET, tracing::Level::ERROR).then(|| {
                        match &redact {
                            Some(redact) => redact(&req),
                            None => debug_text(&req),
                        }
                    });
                let start = Instant::now();
                let fut = next.call(ctx.clone(), req);
                async move {
                    let reply = fut.await;
                    if let Some(args) = args {
                        let latency = start.elapsed().as_secs_f64();
                        let kind = match ctx.side() {
                            Side::Server => "server",
                            Side::Client => "client",
                        };
                        log_call(
                            kind,
                            ctx.kind().as_str(),
                            ctx.operation(),
                            &args,
                            &reply,
                            latency,
                        );
                    }
                    reply
                }
            })
        })
    }
}

/// The logging middleware with the default options (see [`Logging`]).
pub fn logging() -> Middleware {
    Logging::new().build()
}

fn log_call(
    kind: &str,
    component: &str,
    operation: &str,
    args: &str,
    reply: &Result<Message, Error>,
    latency: f64,
) {
    match reply {
        Ok(_) => tracing::info!(
            target: ACCESS_TARGET,
            kind, component, operation, args, code = 200, reason = "", stack = "", latency
        ),
        Err(e) => {
            let stack = stack(e);
            tracing::error!(
                target: ACCESS_TARGET,
                kind, component, operation, args, code = e.code(), reason = e.reason(),
                stack = stack.as_str(), latency
            )
        }
    }
}

/// `value`'s `Debug` text, written into a buffer sized for a typical request (a `format!`
/// with no literal text starts empty and grows several times).
fn debug_text(value: &dyn std::fmt::Debug) -> String {
    let mut text = String::with_capacity(128);
    let _ = write!(text, "{value:?}");
    text
}

/// The error followed by each of its causes (Kratos logs `%+v` of the error).
fn stack(err: &Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        let _ = write!(text, "; caused by: {cause}");
        source = cause.source();
    }
    text
}

#[cfg(all(test, feature = "log"))]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::context::{Context, Kind};
    use crate::log::{Format, Logger};
    use crate::middleware::chain;

    /// A request counting how often it is formatted.
    struct Counted(Arc<AtomicUsize>);

    impl std::fmt::Debug for Counted {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            self.0.fetch_add(1, Ordering::SeqCst);
            f.write_str("Counted")
        }
    }

    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Lines {
        fn json(&self) -> Vec<serde_json::Value> {
            String::from_utf8(self.0.lock().unwrap().clone())
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect()
        }
    }

    fn handler(fail: bool) -> Handler {
        Handler::new(move |_ctx, req| async move {
            if fail {
                Err(Error::new(403, "DENIED", "no").with_cause(std::io::Error::other("disk")))
            } else {
                Ok(req)
            }
        })
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_disabled_access_log_formats_nothing() {
        let formatted = Arc::new(AtomicUsize::new(0));
        let lines = Lines::default();
        let writer = lines.clone();
        let (handle, _guard) = Logger::new()
            .format(Format::Json)
            .level("info,kratos::access=off")
            .writer(move || writer.clone())
            .set_default()
            .unwrap();
        let h = chain(&[logging()], handler(false));
        let ctx = || Context::new(Kind::Http, "/a.B/C", Default::default());
        h.call(ctx(), Message::new(Counted(formatted.clone())))
            .await
            .unwrap();
        assert_eq!(formatted.load(Ordering::SeqCst), 0);
        assert!(lines.json().is_empty());
        // Turned on while running: the next call is formatted once and logged.
        handle.set_level("info").unwrap();
        h.call(ctx(), Message::new(Counted(formatted.clone())))
            .await
            .unwrap();
        assert_eq!(formatted.load(Ordering::SeqCst), 1);
        assert_eq!(lines.json().len(), 1);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn one_event_per_call_with_kratos_keys_on_both_sides() {
        let lines = Lines::default();
        let writer = lines.clone();
        let (_handle, _guard) = Logger::new()
            .format(Format::Json)
            .level("info")
            .writer(move || writer.clone())
            .set_default()
            .unwrap();
        let redacting = Logging::new()
            .redact_args(|req| match req.downcast_ref::<String>() {
                Some(s) => format!("{} chars", s.len()),
                None => "?".into(),
            })
            .build();
        let server = Context::new(Kind::Grpc, "/a.B/C", Default::default());
        chain(&[logging()], handler(false))
            .call(server, Message::new("hello".to_string()))
            .await
            .unwrap();
        let client = Context::client(Kind::Http, "/a.B/D", Default::default(), Default::default());
        chain(&[redacting], handler(true))
            .call(client, Message::new("secret".to_string()))
            .await
            .unwrap_err();
        let lines = lines.json();
        assert_eq!(lines.len(), 2);
        let (ok, failed) = (&lines[0], &lines[1]);
        assert_eq!(ok["level"], "INFO");
        assert_eq!(ok["target"], ACCESS_TARGET);
        assert_eq!(ok["kind"], "server");
        assert_eq!(ok["component"], "grpc");
        assert_eq!(ok["operation"], "/a.B/C");
        assert_eq!(ok["args"], "\"hello\"");
        assert_eq!(ok["code"], 200);
        assert_eq!(ok["reason"], "");
        assert_eq!(ok["stack"], "");
        assert!(ok["latency"].as_f64().unwrap() >= 0.0);
        assert_eq!(failed["level"], "ERROR");
        assert_eq!(failed["kind"], "client");
        assert_eq!(failed["component"], "http");
        assert_eq!(failed["args"], "6 chars");
        assert_eq!(failed["code"], 403);
        assert_eq!(failed["reason"], "DENIED");
        let stack = failed["stack"].as_str().unwrap();
        assert!(
            stack.contains("no") && stack.ends_with("caused by: disk"),
            "{stack}"
        );
    }
}
