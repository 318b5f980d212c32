//! Rate limiting: reject calls early, with 429 `RATELIMIT`, instead of queueing them.
//!
//! Two limiters, each a server [`Middleware`](super::Middleware):
//!
//! * [`Bbr`], Kratos' default (aegis' BBR): adaptive, driven by the process's CPU usage. While
//!   the CPU is over a threshold (80 % by default), a call is rejected when the calls in flight
//!   exceed what the service has shown it can complete: the most calls passed in a bucket of the
//!   last window times the least mean response time, per second. After a rejection the limit
//!   keeps applying for one second even if the CPU went down (cool-down).
//! * [`Quota`]: a fixed rate per key (GCRA, the token bucket's exact form), the key a function
//!   of the call's [`Context`](crate::Context) (a header, gRPC metadata, an authenticated
//!   subject). A rejected call is told when to retry with `Retry-After` (whole seconds).
//!
//! Both answer [`rate_limited`]: 429 `RATELIMIT` "service unavailable due to rate limit
//! exceeded", Kratos' `ratelimit.ErrLimitExceed` mapping, which is `ResourceExhausted` on gRPC.

mod bbr;
mod cpu;
mod quota;

pub use bbr::{Bbr, BbrOptions, BbrStat, Permit};
pub use cpu::{CpuUsage, SystemCpu};
pub use quota::{KeyFn, Quota, header_key};

use crate::errors::Error;

/// The reason of the error a rate-limited call fails with.
pub const RATELIMIT_REASON: &str = "RATELIMIT";

/// The message of the error a rate-limited call fails with (Kratos' own).
pub const RATELIMIT_MESSAGE: &str = "service unavailable due to rate limit exceeded";

/// The error a rate-limited call fails with: 429 `RATELIMIT` (`ResourceExhausted` on gRPC).
pub fn rate_limited() -> Error {
    Error::new(429, RATELIMIT_REASON, RATELIMIT_MESSAGE)
}

/// Kratos' `ratelimit.Server()`: a [`Bbr`] limiter with the default options (the process's
/// CPU usage, 10 s window of 100 buckets, threshold 80 %), as a server middleware. Each call of
/// this function makes a limiter of its own; install the one middleware on both servers to
/// share it.
pub fn server() -> super::Middleware {
    Bbr::new(BbrOptions::default()).middleware()
}
