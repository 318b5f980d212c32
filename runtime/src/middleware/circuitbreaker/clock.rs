//! Time and randomness for the breaker, injectable so tests decide both.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A monotonic clock: the time elapsed since an origin of the clock's choosing.
pub trait Clock: Send + Sync + 'static {
    /// The time since the clock's origin; never goes back.
    fn now(&self) -> Duration;
}

/// The process's monotonic clock, from when it was made.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    origin: Instant,
}

impl SystemClock {
    /// A clock whose origin is now.
    pub fn new() -> Self {
        SystemClock {
            origin: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
}

/// A clock that moves only when told to: for tests, and for driving a breaker from a
/// simulation.
#[derive(Debug, Default)]
pub struct ManualClock {
    nanos: AtomicU64,
}

impl ManualClock {
    /// A clock at its origin.
    pub fn new() -> Self {
        ManualClock::default()
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.nanos.fetch_add(by, Ordering::Relaxed);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::Relaxed))
    }
}

/// A source of uniform random numbers in `[0, 1)`. Any `Fn() -> f64` is one.
pub trait Random: Send + Sync + 'static {
    /// The next number, uniform in `[0, 1)`.
    fn next_f64(&self) -> f64;
}

impl<F: Fn() -> f64 + Send + Sync + 'static> Random for F {
    fn next_f64(&self) -> f64 {
        self()
    }
}

/// The thread-local generator of `fastrand` (fast, not cryptographic; seeded per thread).
#[derive(Debug, Clone, Copy, Default)]
pub struct ThreadRandom;

impl Random for ThreadRandom {
    fn next_f64(&self) -> f64 {
        fastrand::f64()
    }
}
