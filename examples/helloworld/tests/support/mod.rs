//! What the browser and contract tests share: the helloworld servers on loopback and external
//! commands bounded in time.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use kratos::transport::Server as _;

/// The helloworld HTTP and gRPC servers, started on `127.0.0.1:0`.
pub struct Running {
    http: kratos::http::Server,
    grpc: kratos::grpc::Server,
    /// Where the HTTP server listens.
    pub http_addr: SocketAddr,
}

impl Running {
    /// Builds the servers with `helloworld::servers` and starts them.
    pub async fn start() -> Running {
        let (mut http, mut grpc) = helloworld::servers(
            kratos::http::Server::builder().address("127.0.0.1:0"),
            kratos::grpc::Server::builder().address("127.0.0.1:0"),
        )
        .unwrap();
        let http_addr = http.start().await.unwrap();
        grpc.start().await.unwrap();
        Running {
            http,
            grpc,
            http_addr,
        }
    }

    /// Stops both servers gracefully.
    pub async fn stop(mut self) {
        self.http.stop().await.unwrap();
        self.grpc.stop().await.unwrap();
    }
}

/// The workspace root (tools live in `<root>/.tools`).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `command` to completion, killing it after `limit`. Panics with `missing` when the
/// program cannot be started, and when it outlives `limit`. Returns its output and how long it
/// ran.
pub async fn run_bounded(
    mut command: tokio::process::Command,
    limit: Duration,
    missing: &str,
) -> (Output, Duration) {
    command
        .kill_on_drop(true)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let child = match command.spawn() {
        Ok(child) => child,
        Err(e) => panic!("{missing} ({:?}: {e})", command.as_std().get_program()),
    };
    match tokio::time::timeout(limit, child.wait_with_output()).await {
        Ok(output) => (output.unwrap(), started.elapsed()),
        Err(_) => panic!(
            "{:?} did not finish within {limit:?}; it was killed",
            command.as_std().get_program()
        ),
    }
}
