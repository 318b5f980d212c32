//! The helloworld binary with `--registry etcd://…` against a real etcd (started on free
//! loopback ports by the runtime's test support): it registers itself under Kratos' key
//! layout with the endpoints it bound, keeps the registration while it runs, and on SIGTERM
//! deregisters before it exits. A registry spec it cannot use stops the start.
#![allow(clippy::unwrap_used, clippy::expect_used)]

// The runtime's etcd test server (one copy of the start/stop logic); helloworld uses part of it.
#[allow(dead_code)]
#[path = "../../../runtime/tests/registry_support/etcd.rs"]
mod etcd;

use std::net::TcpListener;
use std::process::Stdio;
use std::time::{Duration, Instant};

use etcd::Etcd;
use tokio::process::Command;

/// Generous bound for a start, a registration or a stop on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(20);

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The instances registered under `/microservices/helloworld/`, as JSON.
async fn registered(etcd: &Etcd) -> Vec<serde_json::Value> {
    let mut values = Vec::new();
    for key in etcd.keys("/microservices/helloworld/").await {
        if let Some(value) = etcd.value(&key).await {
            values.push(serde_json::from_slice(&value).unwrap());
        }
    }
    values
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registers_in_etcd_while_running_and_deregisters_on_sigterm() {
    let etcd = Etcd::start().await;
    let (http, grpc) = (free_port(), free_port());
    let dir = tempfile::tempdir().unwrap();
    let etcd_host = etcd.url().trim_start_matches("http://").to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_helloworld"))
        // No configs/ in the working directory: built-in defaults.
        .current_dir(dir.path())
        .args([
            "--http-addr",
            &format!("127.0.0.1:{http}"),
            "--grpc-addr",
            &format!("127.0.0.1:{grpc}"),
            "--registry",
            &format!("etcd://{etcd_host}"),
        ])
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();

    // Registered with the endpoints it bound, under <namespace>/<name>/<id>.
    let deadline = Instant::now() + PATIENCE;
    let instance = loop {
        if let Some(instance) = registered(&etcd).await.pop() {
            break instance;
        }
        if let Ok(Some(status)) = child.try_wait() {
            let mut stderr = String::new();
            tokio::io::AsyncReadExt::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr)
                .await
                .unwrap();
            panic!("helloworld exited with {status}: {stderr}");
        }
        assert!(
            Instant::now() < deadline,
            "helloworld did not register within {PATIENCE:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(instance["name"], "helloworld");
    let mut endpoints: Vec<String> = instance["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap().to_string())
        .collect();
    endpoints.sort();
    assert_eq!(
        endpoints,
        [
            format!("grpc://127.0.0.1:{grpc}"),
            format!("http://127.0.0.1:{http}")
        ]
    );
    let id = instance["id"].as_str().unwrap().to_string();
    let key = format!("/microservices/helloworld/{id}");
    assert_ne!(etcd.lease_of(&key).await, 0, "the key hangs on a lease");

    // SIGTERM: deregistered, then a clean exit.
    let pid = child.id().unwrap().to_string();
    let kill = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(kill.success());
    let status = tokio::time::timeout(PATIENCE, child.wait())
        .await
        .expect("helloworld stops after SIGTERM")
        .unwrap();
    assert!(status.success(), "{status}");
    assert_eq!(etcd.value(&key).await, None, "deregistered before exiting");
    assert!(registered(&etcd).await.is_empty());
}

#[tokio::test]
async fn an_unusable_registry_spec_stops_the_start() {
    let cases = [
        ("etcd://", "no etcd endpoint"),
        ("etcd://127.0.0.1:notaport", "etcd endpoint"),
        ("zookeeper://127.0.0.1:2181", "expected etcd://host:port"),
    ];
    for (spec, want) in cases {
        let output = tokio::time::timeout(
            PATIENCE,
            Command::new(env!("CARGO_BIN_EXE_helloworld"))
                .args([
                    "--http-addr",
                    "127.0.0.1:0",
                    "--grpc-addr",
                    "127.0.0.1:0",
                    "--registry",
                    spec,
                ])
                .env("NO_COLOR", "1")
                .stdin(Stdio::null())
                .kill_on_drop(true)
                .output(),
        )
        .await
        .expect("helloworld refuses at once")
        .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{spec} started");
        assert!(stderr.contains(want), "{spec}: {stderr:?} lacks {want:?}");
    }
}
