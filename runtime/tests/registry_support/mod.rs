//! What the registry and application tests share: a real etcd started on loopback ports, and
//! an in-process fake Consul agent.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

#[cfg(feature = "etcd")]
pub mod etcd;
#[cfg(feature = "consul")]
pub mod fake_consul;

use std::time::Duration;

/// Polls `check` every 50 ms until it holds or `timeout` passes; returns whether it held.
pub async fn eventually<F, Fut>(timeout: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if check().await {
            return true;
        }
        if std::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
