//! Finding 5: when the process runs out of file descriptors, both servers' accept loops back
//! off and log at most once a second with a count (before: a warning about a hundred times a
//! second), and serve again once descriptors are free.
//!
//! The test lowers this process's own descriptor limit (with util-linux's `prlimit`), so it
//! is alone in its test binary; a child shell opens the client connections, so that only the
//! servers run out.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Response;
use kratos::transport::{ConnectionLimits, Server as _};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The log lines written while the test runs.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn lines(&self) -> Vec<String> {
        String::from_utf8_lossy(&self.0.lock().unwrap())
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

/// The number after `key` in `line`.
fn number(line: &str, key: &str) -> u64 {
    let at = line.find(key).unwrap() + key.len();
    line[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap()
}

/// Sets this process's soft descriptor limit (retrying while the process has no descriptor
/// left to start `prlimit` with).
fn set_soft_fd_limit(limit: &str) {
    let started = Instant::now();
    loop {
        let status = std::process::Command::new("prlimit")
            .args([
                "--pid",
                &std::process::id().to_string(),
                &format!("--nofile={limit}:"),
            ])
            .status();
        match status {
            Ok(status) => {
                assert!(status.success(), "prlimit failed");
                return;
            }
            Err(e) if started.elapsed() < Duration::from_secs(5) => {
                eprintln!("prlimit did not start ({e}); retrying");
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("prlimit (util-linux) did not start: {e}"),
        }
    }
}

fn soft_fd_limit() -> String {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    line.split_whitespace().nth(3).unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_out_of_file_descriptors_backs_off_and_logs_once_a_second() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing::subscriber::set_global_default(
        tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish(),
    )
    .unwrap();

    // Connections that never send anything stay open for the whole test.
    let limits = ConnectionLimits {
        header_read_timeout: Some(Duration::from_secs(60)),
        ..Default::default()
    };
    let mut http = kratos::http::Server::builder()
        .address("127.0.0.1:0")
        .limits(limits.clone())
        .build();
    http.handle("GET", "/ping", |_, _| async {
        Response::new(Bytes::from("pong"))
    })
    .unwrap();
    let http_addr = http.start().await.unwrap();
    let mut grpc = kratos::grpc::Server::builder()
        .address("127.0.0.1:0")
        .limits(limits)
        .build();
    let grpc_addr = grpc.start().await.unwrap();

    // Room for 20 more descriptors, then 60 clients on each server.
    let original = soft_fd_limit();
    let open = std::fs::read_dir("/proc/self/fd").unwrap().count();
    set_soft_fd_limit(&(open + 20).to_string());
    let script = format!(
        "ulimit -n 1024; for i in $(seq 60); do exec {{a}}<>/dev/tcp/127.0.0.1/{} {{b}}<>/dev/tcp/127.0.0.1/{} || exit 1; done; sleep 60",
        http_addr.port(),
        grpc_addr.port()
    );
    let mut clients = std::process::Command::new("bash")
        .args(["-c", &script])
        .stdin(std::process::Stdio::null())
        .spawn()
        .unwrap();

    let failing = |lines: &[String], server: &str| -> Vec<String> {
        lines
            .iter()
            .filter(|l| l.contains("accept failed") && l.contains(&format!("server=\"{server}\"")))
            .cloned()
            .collect()
    };
    let waited = Instant::now();
    while failing(&captured.lines(), "http").is_empty()
        || failing(&captured.lines(), "grpc").is_empty()
    {
        assert!(
            waited.elapsed() < Duration::from_secs(10),
            "accepts never failed: {:#?}",
            captured.lines()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let failing_since = Instant::now();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let lines = captured.lines();
    let seconds = failing_since.elapsed().as_secs() + 1;
    for server in ["http", "grpc"] {
        let failed = failing(&lines, server);
        // At most a line a second (plus the first), each with its count of failures.
        assert!(
            failed.len() as u64 <= seconds + 1,
            "{server}: {} lines in {seconds} s: {failed:#?}",
            failed.len()
        );
        assert!(failed[0].contains("Too many open files"), "{failed:#?}");
        // Backing off from 5 ms to 1 s: about 10 attempts in 3 s, not hundreds.
        let failures: u64 = failed.iter().map(|l| number(l, "failures=")).sum();
        assert!(
            failures <= 25,
            "{server}: {failures} failures logged: {failed:#?}"
        );
    }
    println!("while out of descriptors: {lines:#?}");

    // Descriptors free again: both servers accept and serve.
    clients.kill().unwrap();
    clients.wait().unwrap();
    set_soft_fd_limit(&original);
    let served = Instant::now();
    let response = tokio::time::timeout(Duration::from_secs(5), async {
        let mut stream = tokio::net::TcpStream::connect(http_addr).await.unwrap();
        stream
            .write_all(b"GET /ping HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        response
    })
    .await
    .expect("not served after the descriptors were freed");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(served.elapsed() < Duration::from_secs(5));
    let again = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let lines = captured.lines();
            if ["http", "grpc"].iter().all(|server| {
                lines.iter().any(|l| {
                    l.contains("accepting connections again")
                        && l.contains(&format!("server=\"{server}\""))
                })
            }) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(again.is_ok(), "{:#?}", captured.lines());
    http.stop().await.unwrap();
    grpc.stop().await.unwrap();
}
