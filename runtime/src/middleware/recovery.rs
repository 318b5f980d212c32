//! Recovery: a panic in the chain becomes a 500 `UNKNOWN` error, as Kratos' recovery
//! middleware answers.

use std::panic::{AssertUnwindSafe, catch_unwind};

use super::{Handler, Middleware};
use crate::errors::Error;
use crate::panic::{CatchUnwind, panic_message};

/// The error a recovered panic is answered with.
pub fn recovered_error() -> Error {
    Error::new(500, "UNKNOWN", "unknown request error")
}

/// Recovers panics in the handlers and middleware it wraps: the panic is logged (with the
/// operation; the request is not formatted, to keep calls that do not panic free of that
/// cost) and the call fails with 500 `UNKNOWN` "unknown request error".
///
/// ```
/// use kratos::middleware::{Handler, Message, chain, recovered_error, recovery};
/// use kratos::{Context, Kind};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let buggy = Handler::new(|_ctx, _request: Message| async move {
///     if true {
///         panic!("a bug in the handler");
///     }
///     Ok(Message::new(()))
/// });
/// let handler = chain(&[recovery()], buggy);
/// let ctx = Context::new(Kind::Http, "/shop.v1.Cart/Add", Default::default());
/// let err = handler.call(ctx, Message::new(())).await.unwrap_err();
/// assert_eq!(err, recovered_error()); // 500 UNKNOWN, and the server keeps serving
/// # }
/// ```
pub fn recovery() -> Middleware {
    Middleware::new(|next: Handler| {
        Handler::new(move |ctx, req| {
            let operation = ctx.operation();
            let started = catch_unwind(AssertUnwindSafe(|| next.call(ctx, req)));
            async move {
                let outcome = match started {
                    Ok(fut) => CatchUnwind(fut).await,
                    Err(panic) => Err(panic_message(panic.as_ref())),
                };
                outcome.unwrap_or_else(|panic| {
                    tracing::error!(operation, panic, "recovered from a panic");
                    Err(recovered_error())
                })
            }
        })
    })
}
