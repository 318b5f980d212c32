//! helloworld's configuration end to end: the real binary started with `--conf`, its greeting
//! edited while it runs, broken and invalid saves rejected while the last good greeting is
//! served, environment placeholders and overrides, flags winning, start refusals, and the
//! built-in defaults when there is no configuration.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::AsyncBufReadExt as _;
use tokio::process::{Child, Command};

/// How long a change or a start may take (generous).
const WAIT: Duration = Duration::from_secs(10);

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The running binary, its HTTP port and everything it logged.
struct Service {
    child: Child,
    http: u16,
    log: Arc<Mutex<String>>,
}

impl Service {
    /// Starts helloworld in `cwd` with `args` and `env`, and waits until it answers.
    async fn start(cwd: &Path, args: &[&str], env: &[(&str, &str)], http: u16) -> Service {
        let mut command = Command::new(env!("CARGO_BIN_EXE_helloworld"));
        command
            .current_dir(cwd)
            .args(args)
            .env_remove("GREETING")
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        for out in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn tokio::io::AsyncRead + Unpin + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let log = log.clone();
            tokio::spawn(async move {
                let mut lines = tokio::io::BufReader::new(out).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let mut log = log.lock().unwrap();
                    log.push_str(&line);
                    log.push('\n');
                }
            });
        }
        let mut service = Service { child, http, log };
        let deadline = Instant::now() + WAIT;
        while service.greet().await.is_none() {
            assert!(
                Instant::now() < deadline,
                "helloworld did not answer within {WAIT:?}; log:\n{}",
                service.log()
            );
            if let Ok(Some(status)) = service.child.try_wait() {
                panic!("helloworld exited with {status}; log:\n{}", service.log());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        service
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// The reply's message to `GET /helloworld/kratos`, `None` when there is no answer.
    async fn greet(&self) -> Option<String> {
        let url = format!("http://127.0.0.1:{}/helloworld/kratos", self.http);
        let client = reqwest_like::get(&url).await?;
        let body: serde_json::Value = serde_json::from_str(&client).ok()?;
        Some(body["message"].as_str()?.to_string())
    }

    /// Waits until the greeting is `want`.
    async fn wait_for(&self, want: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let got = self.greet().await;
            if got.as_deref() == Some(want) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "greeting never became {want:?} (last {got:?}); log:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the log has `n` lines containing `text`, checking meanwhile that the
    /// greeting stays `serving`.
    async fn wait_for_log(&self, text: &str, n: usize, serving: &str) {
        let deadline = Instant::now() + WAIT;
        while self.log().matches(text).count() < n {
            assert_eq!(self.greet().await.as_deref(), Some(serving));
            assert!(
                Instant::now() < deadline,
                "no {text:?} logged; log:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A plain HTTP/1 GET with hyper, returning the body.
mod reqwest_like {
    use bytes::Bytes;
    use http_body_util::{BodyExt, Empty};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;

    pub async fn get(url: &str) -> Option<String> {
        let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
        let response = client.get(url.parse().ok()?).await.ok()?;
        let body = response.into_body().collect().await.ok()?.to_bytes();
        String::from_utf8(body.to_vec()).ok()
    }
}

fn config(http: u16, grpc: u16, greeting: &str) -> String {
    format!(
        "server:\n  http:\n    addr: 127.0.0.1:{http}\n    timeout: 1s\n  grpc:\n    addr: 127.0.0.1:{grpc}\n    timeout: 1s\nhelloworld:\n  greeting: {greeting}\n"
    )
}

/// Saves like an editor: write a temporary, rename it over.
fn save(path: &Path, text: &str) {
    let temp = path.with_extension("yaml.tmp");
    std::fs::write(&temp, text).unwrap();
    std::fs::rename(&temp, path).unwrap();
}

#[tokio::test]
async fn the_greeting_is_hot_reloaded_and_broken_saves_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let (http, grpc) = (free_port(), free_port());
    let file = dir.path().join("config.yaml");
    std::fs::write(&file, config(http, grpc, "Hi")).unwrap();
    let conf = dir.path().to_str().unwrap();
    let mut service = Service::start(dir.path(), &["--conf", conf], &[], http).await;
    service.wait_for("Hi kratos").await;

    save(&file, &config(http, grpc, "Howdy"));
    service.wait_for("Howdy kratos").await;

    // Broken YAML: rejected with file, line and reason; the last good greeting stays.
    save(&file, "helloworld:\n  greeting: [Bad\n");
    service
        .wait_for_log("configuration change rejected", 1, "Howdy kratos")
        .await;
    assert!(
        service.log().contains("config.yaml:3:1"),
        "{}",
        service.log()
    );
    // A validation failure (the greeting is at most 64 characters): rejected too.
    save(&file, &config(http, grpc, &"x".repeat(65)));
    service
        .wait_for_log("configuration change rejected", 2, "Howdy kratos")
        .await;
    assert!(
        service
            .log()
            .contains("Helloworld.Greeting: value length must be at most 64"),
        "{}",
        service.log()
    );
    // A type error (timeout is a duration).
    save(
        &file,
        "server:\n  http:\n    timeout: soon\nhelloworld:\n  greeting: Bad\n",
    );
    service
        .wait_for_log("configuration change rejected", 3, "Howdy kratos")
        .await;

    // A good save after the broken ones, written in place (truncate and write).
    std::fs::write(&file, config(http, grpc, "Servus")).unwrap();
    service.wait_for("Servus kratos").await;
    service.child.kill().await.unwrap();
}

#[tokio::test]
async fn environment_placeholders_overrides_and_flags() {
    let dir = tempfile::tempdir().unwrap();
    let (file_http, http, grpc) = (free_port(), free_port(), free_port());
    std::fs::create_dir(dir.path().join("configs")).unwrap();
    // The default --conf is configs/ in the working directory.
    std::fs::write(
        dir.path().join("configs/config.yml"),
        config(file_http, grpc, "${GREETING:Hello}"),
    )
    .unwrap();
    // GREETING fills the placeholder; the explicit --http-addr flag wins over the file.
    let http_flag = format!("127.0.0.1:{http}");
    let mut service = Service::start(
        dir.path(),
        &["--http-addr", &http_flag],
        &[("GREETING", "Bonjour")],
        http,
    )
    .await;
    service.wait_for("Bonjour kratos").await;
    service.child.kill().await.unwrap();

    // SERVER__HTTP__ADDR overrides server.http.addr; without GREETING the default applies.
    let addr = format!("127.0.0.1:{http}");
    let mut service = Service::start(dir.path(), &[], &[("SERVER__HTTP__ADDR", &addr)], http).await;
    service.wait_for("Hello kratos").await;
    service.child.kill().await.unwrap();
}

#[tokio::test]
async fn without_configuration_the_built_in_defaults_serve() {
    let dir = tempfile::tempdir().unwrap();
    let (http, grpc) = (free_port(), free_port());
    let (h, g) = (format!("127.0.0.1:{http}"), format!("127.0.0.1:{grpc}"));
    let mut service = Service::start(
        dir.path(),
        &["--http-addr", &h, "--grpc-addr", &g],
        &[],
        http,
    )
    .await;
    service.wait_for("Hello kratos").await;
    assert!(
        service.log().contains("built-in defaults"),
        "{}",
        service.log()
    );
    service.child.kill().await.unwrap();
}

/// Each bad configuration stops the start with a clear message.
#[tokio::test]
async fn bad_configurations_refuse_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str, &str)] = &[
        ("missing.yaml", "", "missing.yaml"),
        ("bad.yaml", "server:\n  http: [\n", "bad.yaml:3:1"),
        ("bad.json", "{\"server\": }", "bad.json:1:12"),
        ("bad.toml", "[server\n", "bad.toml:1:8"),
        (
            "cycle.yaml",
            "helloworld:\n  greeting: ${helloworld.greeting}\n",
            "cycle",
        ),
        (
            "type.yaml",
            "server:\n  http:\n    timeout: soon\n",
            "server.http.timeout",
        ),
        (
            "invalid.yaml",
            "server:\n  grpc:\n    timeout: 7200s\n",
            "Server_GRPC.Timeout: value must be inside range",
        ),
    ];
    for (name, text, want) in cases {
        let file = dir.path().join(name);
        if !text.is_empty() {
            std::fs::write(&file, text).unwrap();
        }
        let output = tokio::time::timeout(
            WAIT,
            Command::new(env!("CARGO_BIN_EXE_helloworld"))
                .args([
                    "--conf",
                    file.to_str().unwrap(),
                    "--http-addr",
                    "127.0.0.1:0",
                    "--grpc-addr",
                    "127.0.0.1:0",
                ])
                .env("NO_COLOR", "1")
                .stdin(Stdio::null())
                .kill_on_drop(true)
                .output(),
        )
        .await
        .expect("helloworld should refuse to start at once")
        .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{name} started");
        assert!(
            stderr.contains(want),
            "{name}: {stderr:?} should contain {want:?}"
        );
    }
}
