//! Timeout: a call that takes longer than its limit fails with 504 `TIMEOUT`.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use super::{Handler, Middleware};
use crate::errors::Error;

/// The reason of the error a call that ran out of time fails with.
pub const TIMEOUT_REASON: &str = "TIMEOUT";

/// The servers' default per-call timeout, as Kratos' (`timeout: 1s` in both servers'
/// defaults): see `ServerBuilder::timeout` on [`crate::http`] and [`crate::grpc`].
pub const DEFAULT_SERVER_TIMEOUT: Duration = Duration::from_secs(1);

/// The error of a call that took longer than `limit`: 504 `TIMEOUT` (`DeadlineExceeded` over
/// gRPC).
pub fn timed_out(limit: Duration) -> Error {
    Error::new(
        504,
        TIMEOUT_REASON,
        format!("the call took longer than {limit:?}"),
    )
}

/// Runs `call` until `deadline` (the moment `limit` after the call started): past it, the
/// call is dropped and fails with [`timed_out`]. Shared by the servers' per-call timeout and
/// the timeout middleware.
pub(crate) async fn bounded<T>(
    limit: Duration,
    deadline: Instant,
    call: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    tokio::time::timeout_at(deadline, call)
        .await
        .unwrap_or_else(|_| Err(timed_out(limit)))
}

/// Bounds each call of the handlers and middleware it wraps to `limit`: when the limit passes,
/// the call is dropped (cancelled at its next await) and fails with 504 `TIMEOUT`, which is
/// `DeadlineExceeded` over gRPC. The call's [`Context::deadline`](crate::Context::deadline)
/// comes closer when `limit` ends earlier. The servers already bound each unary call by their
/// own timeout (1 s by default); this middleware sets a tighter limit on some operations (with
/// a selector) or on client calls, and bounds everything installed after it, so install it
/// first to bound the whole chain. For a server-streaming method it bounds the wait for the
/// stream, not the stream itself.
///
/// ```
/// use std::time::Duration;
/// use kratos::middleware::{Handler, Message, TIMEOUT_REASON, chain, timeout};
/// use kratos::{Context, Kind};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let slow = Handler::new(|ctx: Context, request: Message| async move {
///     // The handler sees the limit as its deadline.
///     assert!(ctx.remaining().is_some_and(|left| left <= Duration::from_millis(20)));
///     tokio::time::sleep(Duration::from_secs(60)).await;
///     Ok(request)
/// });
/// let handler = chain(&[timeout(Duration::from_millis(20))], slow);
/// let ctx = Context::new(Kind::Grpc, "/report.v1.Reports/Build", Default::default());
/// let err = handler.call(ctx, Message::new(())).await.unwrap_err();
/// assert_eq!((err.code(), err.reason()), (504, TIMEOUT_REASON));
/// # }
/// ```
pub fn timeout(limit: Duration) -> Middleware {
    Middleware::new(move |next: Handler| {
        Handler::new(move |ctx: crate::Context, req| {
            let deadline = Instant::now() + limit;
            ctx.limit_deadline(deadline);
            bounded(limit, deadline, next.call(ctx, req))
        })
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::context::Context;
    use crate::middleware::Endpoint;

    fn slow_endpoint(limit: Duration) -> Endpoint<u64, u64> {
        Endpoint::new(&[timeout(limit)], |_ctx, millis: u64| async move {
            tokio::time::sleep(Duration::from_millis(millis)).await;
            Ok(millis)
        })
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_within_the_limit_returns_its_reply() {
        let endpoint = slow_endpoint(Duration::from_millis(100));
        let ctx = Context::new(crate::Kind::Http, "/a.B/C", Default::default());
        assert_eq!(endpoint.call(ctx, 99).await.unwrap(), 99);
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_over_the_limit_is_a_504_timeout() {
        let endpoint = slow_endpoint(Duration::from_millis(100));
        let ctx = Context::new(crate::Kind::Http, "/a.B/C", Default::default());
        let err = endpoint.call(ctx, 101).await.unwrap_err();
        assert_eq!((err.code(), err.reason()), (504, TIMEOUT_REASON));
        assert_eq!(
            tonic::Status::from(err).code(),
            tonic::Code::DeadlineExceeded
        );
    }
}
