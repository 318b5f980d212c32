//! The BBR limiter (aegis' `ratelimit/bbr`, Kratos' default rate limiter).

use std::fmt;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use super::cpu::{CpuUsage, SystemCpu};
use super::rate_limited;
use crate::errors::Error;
use crate::middleware::{Handler, Middleware};

/// How long the limit keeps applying after a rejection once the CPU is back under the
/// threshold.
const COOL_DOWN: Duration = Duration::from_secs(1);

/// The options of a [`Bbr`] limiter; the defaults are Kratos'.
#[derive(Clone)]
pub struct BbrOptions {
    /// The window over which passed calls and response times are kept (default 10 s).
    pub window: Duration,
    /// How many buckets the window is cut into (default 100, so 100 ms buckets).
    pub buckets: u32,
    /// CPU usage, in permille, above which calls may be rejected (default 800, 80 %).
    pub cpu_threshold: u64,
    /// Where the CPU usage comes from (default the process's, [`SystemCpu`]).
    pub cpu: Arc<dyn CpuUsage>,
}

impl Default for BbrOptions {
    fn default() -> Self {
        BbrOptions {
            window: Duration::from_secs(10),
            buckets: 100,
            cpu_threshold: 800,
            cpu: SystemCpu::shared(),
        }
    }
}

impl fmt::Debug for BbrOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BbrOptions")
            .field("window", &self.window)
            .field("buckets", &self.buckets)
            .field("cpu_threshold", &self.cpu_threshold)
            .finish_non_exhaustive()
    }
}

/// A snapshot of a [`Bbr`] limiter's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BbrStat {
    /// CPU usage in permille.
    pub cpu: u64,
    /// Calls admitted and not finished.
    pub in_flight: i64,
    /// The most calls finished in one bucket of the window (at least 1).
    pub max_pass: u64,
    /// The least mean response time of a bucket of the window, in ms (at least 1).
    pub min_rt: u64,
    /// The in-flight calls the service is estimated to sustain:
    /// `ceil(max_pass × min_rt × buckets per second / 1000)`.
    pub max_in_flight: u64,
}

/// BBR rate limiting, adaptive to the CPU: while the CPU usage is at or over the threshold, or
/// within one second after a rejection, a call is rejected when more than one call and more
/// than [`BbrStat::max_in_flight`] calls are in flight. `max_in_flight` is the service's
/// measured capacity: the most calls it completed in one bucket of the window times the least
/// mean response time of a bucket (buckets that are complete and within the window; the one
/// being filled does not count).
///
/// Cheap to clone; clones share the limiter.
#[derive(Clone)]
pub struct Bbr {
    inner: Arc<Inner>,
}

struct Inner {
    cpu: Arc<dyn CpuUsage>,
    threshold: u64,
    bucket: Duration,
    buckets_per_second: u64,
    epoch: Instant,
    in_flight: AtomicI64,
    /// Time of the first rejection of the current overload, in ns since `epoch`, plus one; 0
    /// when none.
    dropped_at: AtomicU64,
    window: Mutex<Window>,
}

/// The ring of buckets; bucket `i` (absolute, counted from `epoch`) lives in slot `i % len`.
struct Window {
    buckets: Vec<Bucket>,
    /// `(bucket index, max_pass, min_rt)` computed last, reused within the same bucket.
    cache: Option<(u64, u64, u64)>,
}

#[derive(Clone, Copy, Default)]
struct Bucket {
    index: u64,
    passed: u64,
    rt_sum: u64,
    rt_count: u64,
}

impl Bbr {
    /// A limiter with `options`.
    pub fn new(options: BbrOptions) -> Self {
        let buckets = options.buckets.max(1);
        let bucket = (options.window / buckets).max(Duration::from_millis(1));
        let buckets_per_second = (Duration::from_secs(1).as_nanos() / bucket.as_nanos()).max(1);
        Bbr {
            inner: Arc::new(Inner {
                cpu: options.cpu,
                threshold: options.cpu_threshold,
                bucket,
                buckets_per_second: buckets_per_second as u64,
                epoch: Instant::now(),
                in_flight: AtomicI64::new(0),
                dropped_at: AtomicU64::new(0),
                window: Mutex::new(Window {
                    buckets: vec![Bucket::default(); buckets as usize],
                    cache: None,
                }),
            }),
        }
    }

    /// Admits a call, or rejects it with [`rate_limited`]. The call counts as in flight until
    /// the [`Permit`] is dropped, which records its response time.
    pub fn allow(&self) -> Result<Permit, Error> {
        if self.should_drop() {
            return Err(rate_limited());
        }
        self.inner.in_flight.fetch_add(1, Ordering::AcqRel);
        Ok(Permit {
            limiter: self.inner.clone(),
            start: Instant::now(),
        })
    }

    /// The limiter's state now.
    pub fn stat(&self) -> BbrStat {
        let (max_pass, min_rt) = self.inner.estimates();
        BbrStat {
            cpu: self.inner.cpu.usage(),
            in_flight: self.inner.in_flight.load(Ordering::Acquire),
            max_pass,
            min_rt,
            max_in_flight: self.inner.max_in_flight(),
        }
    }

    /// The limiter as a server middleware: a rejected call fails with 429 `RATELIMIT` before
    /// reaching the handlers and middleware installed after it.
    pub fn middleware(&self) -> Middleware {
        let limiter = self.clone();
        Middleware::new(move |next: Handler| {
            let limiter = limiter.clone();
            Handler::from_fn(move |ctx, req| match limiter.allow() {
                Err(err) => Box::pin(std::future::ready(Err(err))),
                Ok(permit) => {
                    let call = next.call(ctx, req);
                    Box::pin(async move {
                        let reply = call.await;
                        drop(permit);
                        reply
                    })
                }
            })
        })
    }

    fn should_drop(&self) -> bool {
        let inner = &*self.inner;
        let now = inner.now_nanos();
        let over_capacity = || {
            let in_flight = inner.in_flight.load(Ordering::Acquire);
            in_flight > 1 && in_flight as u64 > inner.max_in_flight()
        };
        if inner.cpu.usage() < inner.threshold {
            let dropped_at = inner.dropped_at.load(Ordering::Acquire);
            if dropped_at == 0 {
                return false;
            }
            if now.saturating_sub(dropped_at - 1) <= COOL_DOWN.as_nanos() as u64 {
                return over_capacity();
            }
            inner.dropped_at.store(0, Ordering::Release);
            return false;
        }
        let drop = over_capacity();
        if drop {
            // Only the first rejection of an overload starts the cool-down clock.
            let _ =
                inner
                    .dropped_at
                    .compare_exchange(0, now + 1, Ordering::AcqRel, Ordering::Acquire);
        }
        drop
    }
}

impl fmt::Debug for Bbr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bbr").field("stat", &self.stat()).finish()
    }
}

impl Inner {
    fn now_nanos(&self) -> u64 {
        Instant::now().duration_since(self.epoch).as_nanos() as u64
    }

    fn bucket_index(&self, at: Instant) -> u64 {
        (at.duration_since(self.epoch).as_nanos() / self.bucket.as_nanos()) as u64
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Window> {
        self.window.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `(max_pass, min_rt)` over the complete buckets of the window, each at least 1.
    fn estimates(&self) -> (u64, u64) {
        let current = self.bucket_index(Instant::now());
        let mut window = self.lock();
        if let Some((index, max_pass, min_rt)) = window.cache
            && index == current
        {
            return (max_pass, min_rt);
        }
        let len = window.buckets.len() as u64;
        let oldest = current.saturating_sub(len - 1);
        let mut max_pass = 1;
        let mut min_rt = u64::MAX;
        for b in &window.buckets {
            if b.index >= oldest && b.index < current {
                max_pass = max_pass.max(b.passed);
                if b.rt_count > 0 {
                    min_rt = min_rt.min(b.rt_sum.div_ceil(b.rt_count));
                }
            }
        }
        let min_rt = if min_rt == u64::MAX { 1 } else { min_rt.max(1) };
        window.cache = Some((current, max_pass, min_rt));
        (max_pass, min_rt)
    }

    fn max_in_flight(&self) -> u64 {
        let (max_pass, min_rt) = self.estimates();
        (max_pass * min_rt * self.buckets_per_second).div_ceil(1000)
    }

    fn record(&self, start: Instant) {
        let now = Instant::now();
        let rt_ms = now.duration_since(start).as_nanos().div_ceil(1_000_000) as u64;
        let index = self.bucket_index(now);
        let mut window = self.lock();
        let len = window.buckets.len() as u64;
        let bucket = &mut window.buckets[(index % len) as usize];
        if bucket.index != index {
            *bucket = Bucket {
                index,
                ..Bucket::default()
            };
        }
        bucket.passed += 1;
        if rt_ms > 0 {
            bucket.rt_sum += rt_ms;
            bucket.rt_count += 1;
        }
    }
}

/// An admitted call: it is in flight until this is dropped, which records its response time
/// and counts it as passed.
pub struct Permit {
    limiter: Arc<Inner>,
    start: Instant,
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.limiter.record(self.start);
        self.limiter.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

impl fmt::Debug for Permit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit")
            .field("start", &self.start)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn limiter(cpu: &Arc<AtomicU64>) -> Bbr {
        Bbr::new(BbrOptions {
            window: Duration::from_secs(10),
            buckets: 100,
            cpu_threshold: 800,
            cpu: cpu.clone(),
        })
    }

    /// `n` calls of `rt` each, one after another.
    async fn serve(bbr: &Bbr, n: usize, rt: Duration) {
        for _ in 0..n {
            let permit = bbr.allow().unwrap();
            tokio::time::sleep(rt).await;
            drop(permit);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn estimates_come_from_complete_buckets_only() {
        let cpu = Arc::new(AtomicU64::new(0));
        let bbr = limiter(&cpu);
        // Nothing measured yet: both estimates are 1, so one call in flight is the capacity.
        let stat = bbr.stat();
        assert_eq!((stat.max_pass, stat.min_rt, stat.max_in_flight), (1, 1, 1));
        // 4 calls of 20 ms fill the first 100 ms bucket (the 5th ends in the next one).
        serve(&bbr, 5, Duration::from_millis(20)).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        let stat = bbr.stat();
        assert_eq!((stat.max_pass, stat.min_rt), (4, 20));
        // 4 × 20 ms × 10 buckets/s / 1000 = 0.8, rounded up.
        assert_eq!(stat.max_in_flight, 1);
        // Buckets older than the window are forgotten.
        tokio::time::sleep(Duration::from_secs(11)).await;
        assert_eq!(bbr.stat().max_pass, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn over_the_threshold_calls_beyond_capacity_are_rejected_and_recover() {
        let cpu = Arc::new(AtomicU64::new(0));
        let bbr = limiter(&cpu);
        // Several buckets with 2 calls of 50 ms each.
        serve(&bbr, 40, Duration::from_millis(50)).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        let capacity = bbr.stat().max_in_flight;
        assert_eq!(capacity, 1, "{:?}", bbr.stat()); // 2 × 50 × 10 / 1000
        // Under the threshold nothing is rejected, however many calls are in flight.
        let held: Vec<_> = (0..10).map(|_| bbr.allow().unwrap()).collect();
        // Overload: the CPU crosses the threshold; with 10 in flight, new calls are rejected.
        cpu.store(900, Ordering::Relaxed);
        let err = bbr.allow().unwrap_err();
        assert_eq!((err.code(), err.reason()), (429, "RATELIMIT"));
        assert_eq!(
            err.message(),
            "service unavailable due to rate limit exceeded"
        );
        // The CPU drops, but within the cool-down the limit still applies.
        cpu.store(100, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(bbr.allow().is_err());
        // The in-flight calls finish: calls are admitted again even within the cool-down.
        drop(held);
        assert!(bbr.allow().is_ok());
        // Within the cool-down, a third call in flight is still over capacity.
        let two = [bbr.allow().unwrap(), bbr.allow().unwrap()];
        assert!(bbr.allow().is_err());
        // Past the cool-down, under the threshold, everything passes again.
        tokio::time::sleep(COOL_DOWN).await;
        let held: Vec<_> = (0..10).map(|_| bbr.allow().unwrap()).collect();
        drop((two, held));
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_with_at_most_one_other_in_flight_is_admitted() {
        let cpu = Arc::new(AtomicU64::new(1000));
        let bbr = limiter(&cpu);
        for _ in 0..5 {
            let permit = bbr.allow().unwrap();
            let second = bbr.allow().unwrap(); // one in flight: admitted
            assert!(bbr.allow().is_err()); // two in flight over a capacity of 1
            drop((permit, second));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_call_leaves_the_in_flight_count() {
        let cpu = Arc::new(AtomicU64::new(0));
        let bbr = limiter(&cpu);
        let endpoint =
            crate::middleware::Endpoint::new(&[bbr.middleware()], |_ctx, ms: u64| async move {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Ok(ms)
            });
        let ctx = crate::Context::new(crate::Kind::Grpc, "/a.B/C", Default::default());
        let call = endpoint.call(ctx.clone(), 1000);
        assert!(
            tokio::time::timeout(Duration::from_millis(10), call)
                .await
                .is_err()
        );
        assert_eq!(bbr.stat().in_flight, 0);
        assert_eq!(endpoint.call(ctx, 5).await.unwrap(), 5);
        assert_eq!(bbr.stat().in_flight, 0);
    }
}
