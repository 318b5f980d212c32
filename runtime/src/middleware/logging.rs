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
                            None => format!("{req:?}"),
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
