//! Logging: one `tracing` event per call, as Kratos' logging middleware writes one log line.

use std::time::Instant;

use super::{Handler, Middleware};

/// Logs every call with its transport, operation, request, outcome (code and reason) and
/// latency, through `tracing` (target `kratos::access`): `info` for successes, `warn` for
/// 4xx errors and `error` for the rest.
pub fn logging() -> Middleware {
    Middleware::new(|next: Handler| {
        Handler::new(move |ctx, req| {
            let args = format!("{req:?}");
            let start = Instant::now();
            let fut = next.call(ctx.clone(), req);
            async move {
                let reply = fut.await;
                let latency = start.elapsed().as_secs_f64();
                let kind = ctx.kind().as_str();
                let operation = ctx.operation();
                match &reply {
                    Ok(_) => tracing::info!(
                        target: "kratos::access",
                        kind, operation, args, code = 0, reason = "", latency
                    ),
                    Err(e) if (400..500).contains(&e.code()) => tracing::warn!(
                        target: "kratos::access",
                        kind, operation, args, code = e.code(), reason = e.reason(),
                        message = e.message(), latency
                    ),
                    Err(e) => tracing::error!(
                        target: "kratos::access",
                        kind, operation, args, code = e.code(), reason = e.reason(),
                        message = e.message(), latency
                    ),
                }
                reply
            }
        })
    })
}
