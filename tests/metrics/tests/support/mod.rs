//! A real Prometheus server for the tests (Debian's `prometheus`, installed by
//! `scripts/install-deps.sh`), started on a free loopback port with a generated configuration,
//! and `promtool check metrics`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, Command};

/// One series of a query's answer: its labels (without `__name__`) and its value.
pub type Series = (BTreeMap<String, String>, f64);

/// A Prometheus server scraping the given targets every second; killed when dropped.
pub struct Prometheus {
    child: Child,
    address: SocketAddr,
    _dir: tempfile::TempDir,
}

/// A free loopback port (bound, then released for the child to take).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

impl Prometheus {
    /// Starts Prometheus scraping `/metrics` of each `(job, address)`, and waits until it is
    /// ready (within 60 s, otherwise fails).
    pub async fn start(targets: &[(&str, SocketAddr)]) -> Prometheus {
        let dir = tempfile::tempdir().unwrap();
        let mut config = String::from(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\nscrape_configs:\n",
        );
        for (job, address) in targets {
            config.push_str(&format!(
                "  - job_name: {job}\n    static_configs:\n      - targets: ['{address}']\n"
            ));
        }
        let config_path = dir.path().join("prometheus.yml");
        std::fs::write(&config_path, config).unwrap();
        let address: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={address}"))
            .arg("--log.level=warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("run prometheus (Debian package `prometheus`, see scripts/install-deps.sh)");
        let prometheus = Prometheus {
            child,
            address,
            _dir: dir,
        };
        let ready = async {
            loop {
                if let Ok((200, _)) = get(address, "/-/ready").await {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(60), ready)
            .await
            .expect("prometheus ready within 60 s");
        prometheus
    }

    /// Runs an instant query through the HTTP API (`/api/v1/query`) and returns its vector.
    pub async fn query(&self, promql: &str) -> Vec<Series> {
        let path = format!("/api/v1/query?query={}", percent_encode(promql));
        let (status, body) = get(self.address, &path).await.unwrap();
        let answer: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(status, 200, "{promql}: {answer}");
        assert_eq!(answer["status"], "success", "{promql}: {answer}");
        assert_eq!(answer["data"]["resultType"], "vector", "{promql}: {answer}");
        answer["data"]["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|series| {
                let labels = series["metric"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .filter(|(k, _)| *k != "__name__")
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                    .collect();
                let value = series["value"][1].as_str().unwrap().parse().unwrap();
                (labels, value)
            })
            .collect()
    }

    /// Queries `promql` until `done` holds for its answer (within 60 s, otherwise fails with
    /// the last answer), and returns that answer.
    pub async fn query_until(&self, promql: &str, done: impl Fn(&[Series]) -> bool) -> Vec<Series> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let answer = self.query(promql).await;
            if done(&answer) {
                return answer;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{promql}: still {answer:?} after 60 s"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// Percent-encodes everything but unreserved characters, for a query parameter.
fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `GET http://address/path`: status and body.
pub async fn get(address: SocketAddr, path: &str) -> Result<(u16, Bytes), String> {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let request = http::Request::get(format!("http://{address}{path}"))
        .body(Full::new(Bytes::new()))
        .map_err(|e| e.to_string())?;
    let response = client.request(request).await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, body))
}

/// Runs `promtool check metrics` on `exposition` and returns its exit status and output.
pub async fn promtool_check(exposition: &str) -> (bool, String) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("run promtool (Debian package `prometheus`, see scripts/install-deps.sh)");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(exposition.as_bytes()).await.unwrap();
    drop(stdin);
    let output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("promtool answered within 60 s")
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}
