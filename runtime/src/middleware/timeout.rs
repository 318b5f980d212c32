//! Timeout: a call that takes longer than its limit fails with 504 `TIMEOUT`.

use std::time::Duration;

use super::{Handler, Middleware};
use crate::errors::Error;

/// The reason of the error a call that ran out of time fails with.
pub const TIMEOUT_REASON: &str = "TIMEOUT";

/// Bounds each call of the handlers and middleware it wraps to `limit`: when the limit passes,
/// the call is dropped (cancelled at its next await) and fails with 504 `TIMEOUT`, which is
/// `DeadlineExceeded` over gRPC. Kratos' servers apply such a limit to every call (1 s by
/// default); here it is opt-in, per server or per operation with a selector, and bounds
/// everything installed after it, so install it first to bound the whole chain. For a
/// server-streaming method it bounds the wait for the stream, not the stream itself.
pub fn timeout(limit: Duration) -> Middleware {
    Middleware::new(move |next: Handler| {
        Handler::new(move |ctx, req| {
            let call = next.call(ctx, req);
            async move {
                tokio::time::timeout(limit, call).await.unwrap_or_else(|_| {
                    Err(Error::new(
                        504,
                        TIMEOUT_REASON,
                        format!("the call took longer than {limit:?}"),
                    ))
                })
            }
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
