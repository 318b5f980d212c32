//! Google SRE adaptive throttling (aegis' `circuitbreaker/sre`, Kratos' default breaker).

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::clock::{Clock, Random, SystemClock, ThreadRandom};

/// The options of an [`SreBreaker`]; the defaults are Kratos' (aegis').
#[derive(Clone)]
pub struct SreOptions {
    /// The success ratio the backend is expected to keep, `K = 1 / success` (default 0.6, so
    /// K ≈ 1.67). Lower makes the breaker less aggressive, higher more.
    pub success: f64,
    /// The fewest calls in the window before anything is dropped (default 100).
    pub request: u64,
    /// The window over which calls are counted (default 3 s).
    pub window: Duration,
    /// How many buckets the window is cut into (default 10, so 300 ms buckets); a bucket
    /// leaves the window whole.
    pub buckets: u32,
    /// Where time comes from (default the monotonic clock, [`SystemClock`]).
    pub clock: Arc<dyn Clock>,
    /// Where the drop decisions' randomness comes from (default [`ThreadRandom`]).
    pub random: Arc<dyn Random>,
}

impl Default for SreOptions {
    fn default() -> Self {
        SreOptions {
            success: 0.6,
            request: 100,
            window: Duration::from_secs(3),
            buckets: 10,
            clock: Arc::new(SystemClock::new()),
            random: Arc::new(ThreadRandom),
        }
    }
}

impl fmt::Debug for SreOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SreOptions")
            .field("success", &self.success)
            .field("request", &self.request)
            .field("window", &self.window)
            .field("buckets", &self.buckets)
            .finish_non_exhaustive()
    }
}

/// A snapshot of an [`SreBreaker`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BreakerStat {
    /// Calls the backend accepted (succeeded) in the window.
    pub accepts: u64,
    /// Calls counted in the window: accepted, failed, and (unless turned off) rejected locally.
    pub total: u64,
    /// The probability that the next call is rejected: 0 while `total` is under the
    /// minimum or under `K × accepts`, else `(total − K × accepts) / (total + 1)`.
    pub drop_probability: f64,
    /// Whether the breaker is open: the last decision found the drop probability over zero.
    pub open: bool,
}

/// The Google SRE client-side adaptive throttle ("Handling Overload", SRE book chapter 21):
/// the client counts the calls it made (`total`) and those the backend accepted (`accepts`)
/// over a rolling window, and once there are at least `request` calls and `total` exceeds
/// `K × accepts`, rejects each new call with probability
/// `max(0, (total − K × accepts) / (total + 1))`. A healthy backend keeps the probability at
/// zero; a failing one drives it towards one, and as the backend heals the calls that get
/// through succeed and bring it down again (and the whole count expires with the window).
///
/// Cheap to share: clones of the `Arc` it is kept in share the counts.
pub struct SreBreaker {
    k: f64,
    request: u64,
    bucket: Duration,
    clock: Arc<dyn Clock>,
    random: Arc<dyn Random>,
    ring: Mutex<Ring>,
    open: AtomicBool,
}

/// The window's buckets; bucket `i` (counted from the clock's origin) lives in slot
/// `i % len`, and holds counts only while `index == i`.
struct Ring {
    buckets: Vec<Bucket>,
}

#[derive(Clone, Copy, Default)]
struct Bucket {
    index: u64,
    accepts: u64,
    total: u64,
}

impl SreBreaker {
    /// A breaker with `options` (a zero `buckets` or `window` counts as the smallest).
    pub fn new(options: SreOptions) -> Self {
        let buckets = options.buckets.max(1);
        let bucket = (options.window / buckets).max(Duration::from_nanos(1));
        SreBreaker {
            k: 1.0 / options.success,
            request: options.request,
            bucket,
            clock: options.clock,
            random: options.random,
            ring: Mutex::new(Ring {
                buckets: vec![Bucket::default(); buckets as usize],
            }),
            open: AtomicBool::new(false),
        }
    }

    fn current(&self) -> u64 {
        (self.clock.now().as_nanos() / self.bucket.as_nanos()) as u64
    }

    /// `(accepts, total)` over the buckets of the window, the current one included.
    fn summary(&self) -> (u64, u64) {
        let current = self.current();
        let ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        let len = ring.buckets.len() as u64;
        ring.buckets
            .iter()
            .filter(|b| b.index <= current && current - b.index < len)
            .fold((0, 0), |(a, t), b| (a + b.accepts, t + b.total))
    }

    fn add(&self, accepted: bool) {
        let current = self.current();
        let mut ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        let len = ring.buckets.len() as u64;
        let slot = &mut ring.buckets[(current % len) as usize];
        if slot.index != current {
            *slot = Bucket {
                index: current,
                ..Bucket::default()
            };
        }
        slot.total += 1;
        slot.accepts += u64::from(accepted);
    }

    fn drop_probability(&self, accepts: u64, total: u64) -> f64 {
        let requests = self.k * accepts as f64;
        if total < self.request || (total as f64) < requests {
            return 0.0;
        }
        ((total as f64 - requests) / (total as f64 + 1.0)).max(0.0)
    }

    /// Whether a call may go: `false` means reject it locally.
    pub fn allow(&self) -> bool {
        let (accepts, total) = self.summary();
        let p = self.drop_probability(accepts, total);
        self.open.store(p > 0.0, Ordering::Relaxed);
        p == 0.0 || self.random.next_f64() >= p
    }

    /// Counts a call the backend accepted.
    pub fn mark_success(&self) {
        self.add(true);
    }

    /// Counts a call that failed (or, when rejections count, was rejected locally).
    pub fn mark_failed(&self) {
        self.add(false);
    }

    /// The breaker's counts and drop probability now.
    pub fn stat(&self) -> BreakerStat {
        let (accepts, total) = self.summary();
        BreakerStat {
            accepts,
            total,
            drop_probability: self.drop_probability(accepts, total),
            open: self.open.load(Ordering::Relaxed),
        }
    }
}

impl fmt::Debug for SreBreaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SreBreaker")
            .field("k", &self.k)
            .field("request", &self.request)
            .field("stat", &self.stat())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::middleware::circuitbreaker::ManualClock;

    fn breaker(random: f64) -> (SreBreaker, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::new());
        let options = SreOptions {
            clock: clock.clone(),
            random: Arc::new(move || random),
            ..SreOptions::default()
        };
        (SreBreaker::new(options), clock)
    }

    #[test]
    fn drop_probability_is_the_sre_formula() {
        let (b, _) = breaker(0.0);
        // Under the minimum of 100 calls nothing is dropped, whatever failed.
        for _ in 0..99 {
            b.mark_failed();
        }
        assert_eq!(b.stat().drop_probability, 0.0);
        b.mark_failed();
        // 100 calls, none accepted: (100 − 0) / 101.
        let stat = b.stat();
        assert_eq!((stat.accepts, stat.total), (0, 100));
        assert!((stat.drop_probability - 100.0 / 101.0).abs() < 1e-12);
        // 60 accepted of 160: K·accepts = 100, (160 − 100) / 161.
        for _ in 0..60 {
            b.mark_success();
        }
        let k_accepts = 60.0 / 0.6;
        let expected = (160.0 - k_accepts) / 161.0;
        assert!((b.stat().drop_probability - expected).abs() < 1e-9);
        // Once total ≤ K·accepts nothing is dropped: 160 accepted of 260 (K·accepts ≈ 266.7).
        for _ in 0..100 {
            b.mark_success();
        }
        assert_eq!(b.stat().drop_probability, 0.0);
    }

    #[test]
    fn the_random_draw_decides_against_the_probability() {
        // p = 100/101 ≈ 0.99: a draw of 0.5 is under it (rejected), 0.995 over it (allowed).
        for (draw, allowed) in [(0.5, false), (0.995, true)] {
            let (b, _) = breaker(draw);
            for _ in 0..100 {
                b.mark_failed();
            }
            assert_eq!(b.allow(), allowed, "draw {draw}");
            assert!(b.stat().open);
        }
    }

    #[test]
    fn counts_leave_the_window_bucket_by_bucket() {
        let (b, clock) = breaker(0.0);
        for _ in 0..60 {
            b.mark_failed();
        }
        clock.advance(Duration::from_millis(1500));
        for _ in 0..60 {
            b.mark_failed();
        }
        assert_eq!(b.stat().total, 120);
        assert!(!b.allow());
        // 3 s after the first 60 their bucket has left the window: 60 left, under the minimum.
        clock.advance(Duration::from_millis(1500));
        assert_eq!(b.stat().total, 60);
        assert!(b.allow());
        assert!(!b.stat().open);
        clock.advance(Duration::from_secs(10));
        assert_eq!(b.stat().total, 0);
    }
}
