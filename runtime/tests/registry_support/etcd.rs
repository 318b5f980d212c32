//! A real etcd for tests: Debian's `etcd-server` binary, started on free loopback ports in a
//! temporary data directory, killed and restarted on demand, killed on drop.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kratos::etcd::{Client, ConnectOptions, GetOptions};

/// The etcd binary: `etcd` on PATH, else `/usr/bin/etcd`. Panics (the test fails) when missing.
pub fn etcd_binary() -> PathBuf {
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            let candidate = dir.join("etcd");
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    let fallback = PathBuf::from("/usr/bin/etcd");
    assert!(
        fallback.is_file(),
        "etcd not found on PATH nor at /usr/bin/etcd: run scripts/install-deps.sh \
         (it installs Debian's etcd-server)"
    );
    fallback
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One etcd server on 127.0.0.1.
pub struct Etcd {
    child: Option<Child>,
    client_port: u16,
    peer_port: u16,
    dir: tempfile::TempDir,
    generation: u32,
}

impl Etcd {
    /// Starts etcd on free ports and waits until it answers (panics after 3 attempts).
    pub async fn start() -> Etcd {
        let mut last = String::new();
        for _ in 0..3 {
            let mut etcd = Etcd {
                child: None,
                client_port: free_port(),
                peer_port: free_port(),
                dir: tempfile::tempdir().unwrap(),
                generation: 0,
            };
            match etcd.spawn_and_wait().await {
                Ok(()) => return etcd,
                Err(e) => last = e,
            }
        }
        panic!("etcd did not start: {last}");
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.client_port)
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join(format!("data-{}", self.generation))
    }

    async fn spawn_and_wait(&mut self) -> Result<(), String> {
        let peer = format!("http://127.0.0.1:{}", self.peer_port);
        let log = std::fs::File::create(
            self.dir
                .path()
                .join(format!("etcd-{}.log", self.generation)),
        )
        .map_err(|e| e.to_string())?;
        let child = Command::new(etcd_binary())
            .arg("--name")
            .arg("test")
            .arg("--data-dir")
            .arg(self.data_dir())
            .arg("--listen-client-urls")
            .arg(self.url())
            .arg("--advertise-client-urls")
            .arg(self.url())
            .arg("--listen-peer-urls")
            .arg(&peer)
            .arg("--initial-advertise-peer-urls")
            .arg(&peer)
            .arg("--initial-cluster")
            .arg(format!("test={peer}"))
            .arg("--initial-cluster-state")
            .arg("new")
            .arg("--logger")
            .arg("zap")
            .arg("--log-level")
            .arg("warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot run etcd: {e}"))?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.child = None;
                let log = std::fs::read_to_string(
                    self.dir
                        .path()
                        .join(format!("etcd-{}.log", self.generation)),
                )
                .unwrap_or_default();
                return Err(format!("etcd exited with {status}: {log}"));
            }
            if self.ping().await {
                return Ok(());
            }
            if Instant::now() > deadline {
                self.kill_now();
                return Err("etcd did not answer within 30 s".to_string());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn ping(&self) -> bool {
        let attempt = async {
            let client = Client::connect([self.url()], ConnectOptions::new())
                .await
                .ok()?;
            client.get("ping", GetOptions::new()).await.ok()
        };
        matches!(
            tokio::time::timeout(Duration::from_secs(2), attempt).await,
            Ok(Some(_))
        )
    }

    fn kill_now(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills etcd (SIGKILL) and waits for the process to end.
    pub fn kill(&mut self) {
        self.kill_now();
    }

    /// Starts etcd again on the same ports; `wipe` starts from an empty data directory (the
    /// cluster lost its data: every key and lease is gone).
    pub async fn restart(&mut self, wipe: bool) {
        self.kill_now();
        if wipe {
            self.generation += 1;
        }
        let mut last = String::new();
        for _ in 0..5 {
            match self.spawn_and_wait().await {
                Ok(()) => return,
                // The old process' port may linger a moment.
                Err(e) => last = e,
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        panic!("etcd did not restart: {last}");
    }

    /// A fresh client.
    pub async fn client(&self) -> Client {
        Client::connect([self.url()], ConnectOptions::new())
            .await
            .unwrap()
    }

    /// The value of `key`, if any.
    pub async fn value(&self, key: &str) -> Option<Vec<u8>> {
        let client = self.client().await;
        let resp = client.get(key, GetOptions::new()).await.unwrap();
        resp.kvs.into_iter().next().map(|kv| kv.value)
    }

    /// The keys under `prefix`.
    pub async fn keys(&self, prefix: &str) -> Vec<String> {
        let client = self.client().await;
        let resp = client
            .get(prefix, GetOptions::new().with_prefix().with_keys_only())
            .await
            .unwrap();
        resp.kvs
            .iter()
            .map(|kv| String::from_utf8_lossy(&kv.key).into_owned())
            .collect()
    }

    /// The lease `key` hangs on (0: none or no key).
    pub async fn lease_of(&self, key: &str) -> i64 {
        let client = self.client().await;
        let resp = client.get(key, GetOptions::new()).await.unwrap();
        resp.kvs.first().map_or(0, |kv| kv.lease)
    }

    /// The current revision.
    pub async fn revision(&self) -> i64 {
        let client = self.client().await;
        let resp = client.get("\0", GetOptions::new()).await.unwrap();
        resp.header.unwrap().revision
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        self.kill_now();
    }
}
