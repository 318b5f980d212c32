//! What the observability benchmarks share: the servers, bare and observed, the subscriber
//! a service runs with, the client request, and the thread CPU clock they are timed with.
//! (A module of the bench targets, not a bench of its own.)
#![allow(dead_code)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

pub use benchmarks::observed::{METADATA, install_log_subscriber, observability};
use benchmarks::{Client, GET_PATH};
use kratos::middleware::Middleware;
use oracle_server::api as pb;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub fn server(middleware: &[Middleware]) -> Result<kratos::http::Server, BoxError> {
    let builder = kratos::http::Server::builder().listener(benchmarks::bind_loopback(0)?);
    let mut server = middleware
        .iter()
        .cloned()
        .fold(builder, |b, m| b.middleware(m))
        .build();
    pb::register_library_http_server(&mut server, Arc::new(oracle_server::Library))?;
    Ok(server)
}

pub fn runtime() -> tokio::runtime::Runtime {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("runtime: {e}"),
    }
}

/// The CPU time of the current thread (`CLOCK_THREAD_CPUTIME_ID`); the wall clock where
/// there is no such clock.
pub struct ThreadClock {
    #[cfg(not(unix))]
    epoch: std::time::Instant,
}

impl ThreadClock {
    pub fn open() -> Self {
        ThreadClock {
            #[cfg(not(unix))]
            epoch: std::time::Instant::now(),
        }
    }

    #[cfg(unix)]
    pub fn now(&self) -> Duration {
        let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
        Duration::new(
            u64::try_from(t.tv_sec).unwrap_or(0),
            u32::try_from(t.tv_nsec).unwrap_or(0),
        )
    }

    #[cfg(not(unix))]
    pub fn now(&self) -> Duration {
        self.epoch.elapsed()
    }
}

pub fn connect(runtime: &tokio::runtime::Runtime, addr: std::net::SocketAddr) -> Client {
    match runtime.block_on(Client::connect(addr)) {
        Ok(c) => c,
        Err(e) => panic!("connect: {e}"),
    }
}

/// One `GET` with the metadata headers, which must be answered 200.
pub async fn get(client: &mut Client) {
    match client.get_with_headers(GET_PATH, METADATA).await {
        Ok((status, body)) if status == 200 => {
            black_box(body);
        }
        other => panic!("GET {GET_PATH}: {other:?}"),
    }
}
