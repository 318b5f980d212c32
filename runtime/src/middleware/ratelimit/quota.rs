//! A per-key quota: GCRA (generic cell rate algorithm), the exact form of a token bucket.

use std::collections::HashMap;
use std::fmt;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use http::{HeaderName, HeaderValue};
use tokio::time::Instant;

use super::rate_limited;
use crate::context::Context;
use crate::middleware::{Handler, Middleware};

/// A function of the call that names whose quota it uses; `None` exempts the call.
pub type KeyFn = Arc<dyn Fn(&Context) -> Option<String> + Send + Sync>;

/// A key function reading the request header (gRPC metadata) `name`; calls without it (or with
/// a value that is not text) are exempt.
pub fn header_key(name: HeaderName) -> KeyFn {
    Arc::new(move |ctx: &Context| {
        ctx.request_headers()
            .get(&name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    })
}

/// A quota of `calls` per `period` for each key, with bursts of up to `burst` calls.
///
/// The rule (GCRA): each key has a theoretical arrival time `tat`, initially now. A call at
/// `now` is admitted when `max(tat, now) + interval − burst × interval ≤ now`, where
/// `interval = period / calls`, and then moves `tat` to `max(tat, now) + interval`. So a key
/// that was idle may make `burst` calls at once, then one call per `interval`. A rejected
/// call fails with 429 `RATELIMIT` and a `Retry-After` reply header: the whole seconds (at
/// least 1) until it would be admitted.
///
/// Keys idle long enough to have their full burst back are forgotten when the table grows.
#[derive(Clone)]
pub struct Quota {
    inner: Arc<Inner>,
}

struct Inner {
    interval: Duration,
    tolerance: Duration,
    key: KeyFn,
    table: Mutex<Table>,
}

struct Table {
    tat: HashMap<String, Instant>,
    /// Table size at which forgotten keys are next swept out.
    sweep_at: usize,
}

const MIN_SWEEP: usize = 1024;

impl Quota {
    /// `calls` per `period` per key (burst 1 until [`Quota::burst`]), keyed by `key`.
    pub fn new(calls: NonZeroU32, period: Duration, key: KeyFn) -> Self {
        let interval = (period / calls.get()).max(Duration::from_nanos(1));
        Quota {
            inner: Arc::new(Inner {
                interval,
                tolerance: interval,
                key,
                table: Mutex::new(Table {
                    tat: HashMap::new(),
                    sweep_at: MIN_SWEEP,
                }),
            }),
        }
    }

    /// Allows bursts of `burst` calls (a key's bucket size).
    pub fn burst(self, burst: NonZeroU32) -> Self {
        let inner = &*self.inner;
        Quota {
            inner: Arc::new(Inner {
                interval: inner.interval,
                tolerance: inner.interval * burst.get(),
                key: inner.key.clone(),
                table: Mutex::new(Table {
                    tat: HashMap::new(),
                    sweep_at: MIN_SWEEP,
                }),
            }),
        }
    }

    /// Takes one call from `key`'s quota: `Ok` when admitted, else how long until it would be.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        let inner = &*self.inner;
        let now = Instant::now();
        let mut table = inner.table.lock().unwrap_or_else(PoisonError::into_inner);
        let tat = table.tat.get(key).copied().unwrap_or(now).max(now);
        let next = tat + inner.interval;
        let earliest = next.checked_sub(inner.tolerance).unwrap_or(now);
        if earliest > now {
            return Err(earliest - now);
        }
        match table.tat.get_mut(key) {
            Some(slot) => *slot = next,
            None => {
                if table.tat.len() >= table.sweep_at {
                    // A key whose `tat` is past has its whole burst back: same as unknown.
                    table.tat.retain(|_, tat| *tat > now);
                    table.sweep_at = (table.tat.len() * 2).max(MIN_SWEEP);
                }
                table.tat.insert(key.to_owned(), next);
            }
        }
        Ok(())
    }

    /// The quota as a server middleware.
    pub fn middleware(&self) -> Middleware {
        let quota = self.clone();
        Middleware::new(move |next: Handler| {
            let quota = quota.clone();
            Handler::from_fn(move |ctx, req| {
                let verdict = match (quota.inner.key)(&ctx) {
                    Some(key) => quota.check(&key),
                    None => Ok(()),
                };
                match verdict {
                    Ok(()) => next.call(ctx, req),
                    Err(wait) => {
                        let seconds = wait.as_nanos().div_ceil(1_000_000_000).max(1);
                        ctx.reply_headers()
                            .insert(http::header::RETRY_AFTER, HeaderValue::from(seconds as u64));
                        Box::pin(std::future::ready(Err(rate_limited())))
                    }
                }
            })
        })
    }
}

impl fmt::Debug for Quota {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Quota")
            .field("interval", &self.inner.interval)
            .field("tolerance", &self.inner.tolerance)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::middleware::Endpoint;

    fn n(v: u32) -> NonZeroU32 {
        NonZeroU32::new(v).unwrap()
    }

    fn quota(calls: u32, period: Duration, burst: u32) -> Quota {
        Quota::new(
            n(calls),
            period,
            header_key(HeaderName::from_static("x-user")),
        )
        .burst(n(burst))
    }

    #[tokio::test(start_paused = true)]
    async fn a_key_gets_its_burst_then_one_call_per_interval() {
        let q = quota(2, Duration::from_secs(1), 3);
        for _ in 0..3 {
            q.check("a").unwrap();
        }
        // The 4th call must wait one interval (500 ms).
        assert_eq!(q.check("a"), Err(Duration::from_millis(500)));
        // Another key has its own quota.
        q.check("b").unwrap();
        tokio::time::sleep(Duration::from_millis(499)).await;
        assert_eq!(q.check("a"), Err(Duration::from_millis(1)));
        tokio::time::sleep(Duration::from_millis(1)).await;
        q.check("a").unwrap();
        assert!(q.check("a").is_err());
        // Idle for the whole burst: the burst is back.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        for _ in 0..3 {
            q.check("a").unwrap();
        }
        assert!(q.check("a").is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn forgotten_keys_are_swept_when_the_table_grows() {
        let q = quota(1, Duration::from_secs(1), 1);
        for i in 0..MIN_SWEEP {
            q.check(&i.to_string()).unwrap();
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        q.check("new").unwrap();
        let table = q.inner.table.lock().unwrap();
        assert_eq!(table.tat.len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn the_middleware_answers_429_with_retry_after_and_exempts_keyless_calls() {
        let q = quota(1, Duration::from_secs(10), 1);
        let endpoint = Endpoint::new(&[q.middleware()], |_ctx, x: u8| async move { Ok(x) });
        let mut headers = http::HeaderMap::new();
        headers.insert("x-user", HeaderValue::from_static("alice"));
        let ctx = || Context::new(crate::Kind::Http, "/a.B/C", headers.clone());
        assert_eq!(endpoint.call(ctx(), 1).await.unwrap(), 1);
        let limited = ctx();
        let err = endpoint.call(limited.clone(), 2).await.unwrap_err();
        assert_eq!((err.code(), err.reason()), (429, "RATELIMIT"));
        assert_eq!(limited.reply_headers()["retry-after"], "10");
        // 9.5 s later, the wait is rounded up to a whole second.
        tokio::time::sleep(Duration::from_millis(9500)).await;
        let limited = ctx();
        endpoint.call(limited.clone(), 3).await.unwrap_err();
        assert_eq!(limited.reply_headers()["retry-after"], "1");
        // No key: not subject to the quota.
        let anonymous = || Context::new(crate::Kind::Http, "/a.B/C", Default::default());
        for i in 0..5 {
            assert_eq!(endpoint.call(anonymous(), i).await.unwrap(), i);
        }
    }
}
