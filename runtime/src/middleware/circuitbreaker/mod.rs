//! Circuit breaking (Kratos' `middleware/circuitbreaker`): a client middleware that stops
//! calling an operation whose backend keeps failing, answering 503 `CIRCUITBREAKER` locally
//! instead, and lets calls through again as the backend recovers.
//!
//! [`CircuitBreaker`] keeps one [`SreBreaker`] (Google SRE adaptive throttling, Kratos' and
//! aegis' default) per operation, made on the operation's first call. A call is a failure
//! when it ends with a 500, 503 or 504 Kratos code ([`is_failure`]): an error body with that
//! code from an HTTP server, a gRPC status `Internal`, `Unknown`, `DataLoss`, `Unavailable` or
//! `DeadlineExceeded`, a transport error (503 `UNAVAILABLE`) or the client's timeout (504);
//! anything else, errors included, is a success (the backend answered).
//!
//! **Rejected calls count as failures** (the default, as Kratos v2): a call rejected
//! locally is counted in the window's total with no accept, as the SRE book counts every
//! request the application attempted. This keeps the drop probability high while the backend
//! is down; it does not stop recovery, because the window moves on (3 s by default): once the
//! counts of the failing period leave it, calls get through again, and each one that succeeds
//! lowers the probability. Kratos #2777 asks for the other choice (count only the calls sent):
//! set [`BreakerOptions::count_rejections`] to `false` for it; the breaker then reopens only
//! on the failures of calls it let through.
//!
//! On gRPC the breaker sees the status of a call that fails before any reply message, which
//! servers send in the response head (as every failed unary call is); a status sent after
//! messages of a stream arrives after the chain has ended and is not counted.

mod clock;
mod sre;

pub use clock::{Clock, ManualClock, Random, SystemClock, ThreadRandom};
pub use sre::{BreakerStat, SreBreaker, SreOptions};

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use super::{Handler, Middleware};
use crate::errors::Error;

/// The reason of the error a call rejected by the breaker fails with.
pub const CIRCUITBREAKER_REASON: &str = "CIRCUITBREAKER";

/// The message of the error a call rejected by the breaker fails with (Kratos' own).
pub const CIRCUITBREAKER_MESSAGE: &str = "request failed due to circuit breaker triggered";

/// The error a call rejected by the breaker fails with: 503 `CIRCUITBREAKER` (Kratos'
/// `circuitbreaker.ErrNotAllowed`; `Unavailable` on gRPC).
pub fn not_allowed() -> Error {
    Error::new(503, CIRCUITBREAKER_REASON, CIRCUITBREAKER_MESSAGE)
}

/// Kratos' rule for a failed call: its code is 500 (internal), 503 (unavailable) or 504
/// (gateway timeout).
pub fn is_failure(code: i32) -> bool {
    matches!(code, 500 | 503 | 504)
}

/// The options of a [`CircuitBreaker`]; the defaults are Kratos'.
#[derive(Clone)]
pub struct BreakerOptions {
    /// The options of each operation's breaker.
    pub sre: SreOptions,
    /// Whether a call rejected locally counts as a failure (default `true`, as Kratos v2; see
    /// the [module](self) documentation).
    pub count_rejections: bool,
    /// Which Kratos codes are failures (default [`is_failure`]: 500, 503, 504).
    pub failure: fn(i32) -> bool,
}

impl Default for BreakerOptions {
    fn default() -> Self {
        BreakerOptions {
            sre: SreOptions::default(),
            count_rejections: true,
            failure: is_failure,
        }
    }
}

impl fmt::Debug for BreakerOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BreakerOptions")
            .field("sre", &self.sre)
            .field("count_rejections", &self.count_rejections)
            .finish_non_exhaustive()
    }
}

/// One [`SreBreaker`] per client operation (Kratos' breaker group), as a client middleware
/// ([`CircuitBreaker::middleware`]) for [`crate::http::ClientBuilder::middleware`] and
/// [`crate::grpc::ChannelBuilder::middleware`]. Calls made without an operation (the HTTP
/// client's untyped `send`) share the breaker of the empty operation.
///
/// Cheap to clone; clones share the breakers, so one value can both be installed and be
/// asked for [`stats`](CircuitBreaker::stats).
///
/// ```
/// use kratos::middleware::circuitbreaker::CircuitBreaker;
/// let breaker = CircuitBreaker::default();
/// let client = kratos::http::Client::builder("127.0.0.1:8000")
///     .middleware(breaker.middleware())
///     .build();
/// # let _ = client;
/// ```
#[derive(Clone, Default)]
pub struct CircuitBreaker {
    inner: Arc<Group>,
}

#[derive(Default)]
struct Group {
    options: BreakerOptions,
    breakers: RwLock<HashMap<&'static str, Arc<SreBreaker>>>,
}

/// Kratos' `circuitbreaker.Client()`: a [`CircuitBreaker`] with the default options, as a
/// client middleware.
pub fn client() -> Middleware {
    CircuitBreaker::default().middleware()
}

impl CircuitBreaker {
    /// A breaker group with `options`.
    pub fn new(options: BreakerOptions) -> Self {
        CircuitBreaker {
            inner: Arc::new(Group {
                options,
                breakers: RwLock::default(),
            }),
        }
    }

    /// The breaker of `operation`, made on first use.
    pub fn breaker(&self, operation: &'static str) -> Arc<SreBreaker> {
        if let Some(b) = self
            .inner
            .breakers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(operation)
        {
            return b.clone();
        }
        self.inner
            .breakers
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(operation)
            .or_insert_with(|| Arc::new(SreBreaker::new(self.inner.options.sre.clone())))
            .clone()
    }

    /// The state of `operation`'s breaker, if it has been called.
    pub fn stat(&self, operation: &str) -> Option<BreakerStat> {
        self.inner
            .breakers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(operation)
            .map(|b| b.stat())
    }

    /// The state of every operation's breaker, sorted by operation.
    pub fn stats(&self) -> Vec<(&'static str, BreakerStat)> {
        let mut stats: Vec<_> = self
            .inner
            .breakers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(op, b)| (*op, b.stat()))
            .collect();
        stats.sort_by_key(|(op, _)| *op);
        stats
    }

    /// The client middleware: before each call, asks the operation's breaker; a rejected call
    /// fails at once with [`not_allowed`] (and counts as a failure unless
    /// [`BreakerOptions::count_rejections`] is off); a call that went counts as a failure or a
    /// success by its outcome.
    pub fn middleware(&self) -> Middleware {
        let group = self.clone();
        Middleware::new(move |next: Handler| {
            let group = group.clone();
            Handler::new(move |ctx: crate::Context, req| {
                let breaker = group.breaker(ctx.operation());
                let options = &group.inner.options;
                let (count_rejections, failure) = (options.count_rejections, options.failure);
                let deadline = ctx.deadline();
                let call = breaker.allow().then(|| next.call(ctx, req));
                async move {
                    let Some(call) = call else {
                        if count_rejections {
                            breaker.mark_failed();
                        }
                        return Err(not_allowed());
                    };
                    let outcome = Outcome {
                        breaker,
                        deadline,
                        failure,
                        counted: false,
                    };
                    let result = call.await;
                    let code = match &result {
                        Err(err) => Some(err.code()),
                        Ok(reply) => crate::transport::grpc::reply_error(reply).map(|e| e.code()),
                    };
                    outcome.count(code);
                    result
                }
            })
        })
    }
}

/// Counts a call that went: by its outcome's code, or, when the call is dropped before it
/// ends (a timeout outside the chain, such as the HTTP client's, or a caller that gave up), as
/// a 504 if its deadline had passed and not at all otherwise.
struct Outcome {
    breaker: Arc<SreBreaker>,
    deadline: Option<tokio::time::Instant>,
    failure: fn(i32) -> bool,
    counted: bool,
}

impl Outcome {
    /// Counts the call's outcome: `code` is its Kratos code (`None`: success).
    fn count(mut self, code: Option<i32>) {
        self.counted = true;
        if code.is_some_and(self.failure) {
            self.breaker.mark_failed();
        } else {
            self.breaker.mark_success();
        }
    }
}

impl Drop for Outcome {
    fn drop(&mut self) {
        let timed_out = self
            .deadline
            .is_some_and(|d| tokio::time::Instant::now() >= d);
        if !self.counted && timed_out && (self.failure)(504) {
            self.breaker.mark_failed();
        }
    }
}

impl fmt::Debug for CircuitBreaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("options", &self.inner.options)
            .field("stats", &self.stats())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;

    use super::*;
    use crate::context::{Context, Kind};
    use crate::middleware::Endpoint;

    fn group(clock: Arc<ManualClock>, count_rejections: bool) -> CircuitBreaker {
        CircuitBreaker::new(BreakerOptions {
            sre: SreOptions {
                clock,
                random: Arc::new(|| 0.0),
                ..SreOptions::default()
            },
            count_rejections,
            ..BreakerOptions::default()
        })
    }

    fn client_ctx(op: &'static str) -> Context {
        Context::client(Kind::Http, op, Default::default(), Default::default())
    }

    /// A backend answering with `code` (0: success), counting its calls.
    fn backend(
        breaker: &CircuitBreaker,
        code: Arc<AtomicU32>,
        calls: Arc<AtomicU32>,
    ) -> Endpoint<u8, u8> {
        Endpoint::new(&[breaker.middleware()], move |_ctx, req: u8| {
            calls.fetch_add(1, Ordering::Relaxed);
            let code = code.load(Ordering::Relaxed) as i32;
            async move {
                if code == 0 {
                    Ok(req)
                } else {
                    Err(Error::new(code, "BACKEND", "failed"))
                }
            }
        })
    }

    #[tokio::test]
    async fn only_500_503_504_are_failures() {
        for code in [500, 503, 504, 400, 401, 404, 429, 502] {
            let failure = is_failure(code as i32);
            let breaker = group(Arc::new(ManualClock::new()), true);
            let calls = Arc::new(AtomicU32::new(0));
            let endpoint = backend(&breaker, Arc::new(AtomicU32::new(code)), calls.clone());
            let mut rejected = 0;
            for _ in 0..150 {
                let err = endpoint.call(client_ctx("/a.B/C"), 1).await.unwrap_err();
                if err.reason() == CIRCUITBREAKER_REASON {
                    assert_eq!(err.code(), 503);
                    assert_eq!(err.message(), CIRCUITBREAKER_MESSAGE);
                    rejected += 1;
                } else {
                    assert_eq!(err.code(), code as i32);
                }
            }
            // A failing backend is called until the minimum of 100 calls, then no more (the
            // random draw is 0); any other answer keeps the breaker closed.
            let expected_calls = if failure { 100 } else { 150 };
            assert_eq!(calls.load(Ordering::Relaxed), expected_calls, "code {code}");
            assert_eq!(rejected, 150 - expected_calls, "code {code}");
            assert_eq!(breaker.stat("/a.B/C").unwrap().open, failure, "code {code}");
        }
    }

    #[tokio::test]
    async fn breakers_are_per_operation_and_rejections_count_as_chosen() {
        for count_rejections in [true, false] {
            let clock = Arc::new(ManualClock::new());
            let breaker = group(clock, count_rejections);
            let failing = Arc::new(AtomicU32::new(503));
            let calls = Arc::new(AtomicU32::new(0));
            let endpoint = backend(&breaker, failing, calls.clone());
            for _ in 0..120 {
                let _ = endpoint.call(client_ctx("/a.B/Fail"), 1).await;
            }
            // The random draw is 0: once open, every call is rejected.
            assert_eq!(calls.load(Ordering::Relaxed), 100);
            let stat = breaker.stat("/a.B/Fail").unwrap();
            assert_eq!(stat.total, if count_rejections { 120 } else { 100 });
            assert_eq!(stat.accepts, 0);
            assert!(stat.open);
            // Another operation has its own breaker, closed.
            assert!(breaker.stat("/a.B/Other").is_none());
            let ok = backend(&breaker, Arc::new(AtomicU32::new(0)), calls.clone());
            assert_eq!(ok.call(client_ctx("/a.B/Other"), 7).await.unwrap(), 7);
            let stats = breaker.stats();
            assert_eq!(stats.len(), 2);
            assert_eq!(stats[1].0, "/a.B/Other");
            assert_eq!((stats[1].1.accepts, stats[1].1.total), (1, 1));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_dropped_at_its_deadline_is_a_timeout_and_one_dropped_before_is_nothing() {
        let breaker = group(Arc::new(ManualClock::new()), true);
        let endpoint = Endpoint::new(&[breaker.middleware()], |_ctx, _req: u8| async move {
            std::future::pending::<Result<u8, Error>>().await
        });
        let limit = Duration::from_millis(50);
        // A timeout outside the chain (as the HTTP client's) drops the call at its deadline.
        for _ in 0..3 {
            let deadline = tokio::time::Instant::now() + limit;
            let ctx = client_ctx("/a.B/Slow");
            ctx.limit_deadline(deadline);
            let dropped = tokio::time::timeout_at(deadline, endpoint.call(ctx, 1)).await;
            assert!(dropped.is_err());
        }
        let stat = breaker.stat("/a.B/Slow").unwrap();
        assert_eq!((stat.accepts, stat.total), (0, 3));
        // A caller giving up before the deadline: not counted.
        let ctx = client_ctx("/a.B/Slow").with_timeout(Some(Duration::from_secs(5)));
        let gave_up = tokio::time::timeout(limit, endpoint.call(ctx, 1)).await;
        assert!(gave_up.is_err());
        assert_eq!(breaker.stat("/a.B/Slow").unwrap().total, 3);
    }

    #[tokio::test]
    async fn recovers_as_the_window_moves_on_and_calls_succeed() {
        let clock = Arc::new(ManualClock::new());
        let breaker = group(clock.clone(), true);
        let code = Arc::new(AtomicU32::new(500));
        let calls = Arc::new(AtomicU32::new(0));
        let endpoint = backend(&breaker, code.clone(), calls.clone());
        for _ in 0..200 {
            let _ = endpoint.call(client_ctx("/a.B/C"), 1).await;
        }
        assert!(breaker.stat("/a.B/C").unwrap().open);
        // The backend heals; the failing period leaves the window.
        code.store(0, Ordering::Relaxed);
        clock.advance(Duration::from_secs(3));
        for _ in 0..200 {
            assert_eq!(endpoint.call(client_ctx("/a.B/C"), 1).await.unwrap(), 1);
        }
        let stat = breaker.stat("/a.B/C").unwrap();
        assert_eq!(
            (stat.accepts, stat.total, stat.drop_probability),
            (200, 200, 0.0)
        );
        assert!(!stat.open);
    }
}
