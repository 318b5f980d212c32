//! Runs every topic program (`src/bin/*.rs`) as a user would, against the real servers it
//! starts on 127.0.0.1, and checks what it prints: each line below must appear in its standard
//! output, and the program must exit successfully within the time limit.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

/// How long one program may take (it runs in well under a second on an idle machine).
const LIMIT: Duration = Duration::from_secs(60);

/// Runs `program` with `args` and returns its standard output; fails the test when it fails
/// or outlives [`LIMIT`].
async fn run(program: &str, args: &[&str]) -> String {
    let child = Command::new(program)
        .args(args)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    let output = tokio::time::timeout(LIMIT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("{program} did not finish within {LIMIT:?}"))
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{program} failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    stdout
}

/// Asserts that every line of `expected` is a line of `output`.
fn assert_lines(output: &str, expected: &[&str]) {
    let lines: Vec<&str> = output.lines().collect();
    for line in expected {
        assert!(lines.contains(line), "missing line {line:?} in:\n{output}");
    }
}

#[tokio::test]
async fn middleware() {
    let out = run(env!("CARGO_BIN_EXE_middleware"), &[]).await;
    assert_lines(
        &out,
        &[
            r#"HTTP echo "hello" for alice of tenant acme"#,
            r#"gRPC echo "hello" for alice of tenant acme"#,
            "HTTP without a key: 401 MISSING_API_KEY: an x-api-key header naming a known caller is required",
            "gRPC without a key: 401 MISSING_API_KEY: an x-api-key header naming a known caller is required",
        ],
    );
    // The logging middleware's line for each of the four calls, with its outcome.
    let logged = |code: &str| {
        out.lines()
            .filter(|l| l.contains("operation=/topics.v1.Echo/Echo") && l.contains(code))
            .count()
    };
    assert_eq!((logged("code=200"), logged("code=401")), (2, 2), "{out}");
}

#[tokio::test]
async fn errors() {
    let out = run(env!("CARGO_BIN_EXE_errors"), &[]).await;
    assert_lines(
        &out,
        &[
            r#"HTTP book 1: "The Rust Programming Language""#,
            r#"gRPC book 1: "The Rust Programming Language""#,
            "HTTP book 3: 404 BOOK_NOT_FOUND: no book 3 {id=3} (not found: true)",
            "gRPC book 3: 404 BOOK_NOT_FOUND: no book 3 {id=3} (status NotFound, not found: true)",
            "HTTP book 0: 400 INVALID_ID: book ids start at 1 (not found: false)",
            "gRPC book 0: 400 INVALID_ID: book ids start at 1 (status InvalidArgument, not found: false)",
            "HTTP book one: 500: invalid digit found in string (not found: false)",
            "gRPC book one: 500: invalid digit found in string (status Internal, not found: false)",
        ],
    );
}

#[tokio::test]
async fn validation() {
    let out = run(env!("CARGO_BIN_EXE_validation"), &[]).await;
    let name = "400 VALIDATOR: invalid CreateAccountRequest.Name: value length must be between 3 and 16 runes, inclusive";
    let age =
        "400 VALIDATOR: invalid CreateAccountRequest.Age: value must be inside range [18, 150]";
    let email =
        "400 VALIDATOR: invalid CreateAccountRequest.Email: value must be a valid email address";
    assert_lines(
        &out,
        &[
            "HTTP valid: created acct-ferris",
            "gRPC valid: created acct-ferris",
            &format!("HTTP short name: {name}"),
            &format!("gRPC short name: {name} (status InvalidArgument)"),
            &format!("HTTP too young: {age}"),
            &format!("gRPC too young: {age} (status InvalidArgument)"),
        ],
    );
    for transport in ["HTTP", "gRPC"] {
        let prefix = format!("{transport} bad email: {email}");
        assert!(
            out.lines().any(|l| l.starts_with(&prefix)),
            "{prefix}:\n{out}"
        );
    }
}

#[tokio::test]
async fn streaming() {
    let out = run(env!("CARGO_BIN_EXE_streaming"), &[]).await;
    assert_lines(
        &out,
        &[
            "HTTP count to 3: [1, 2, 3]",
            "gRPC count to 3: [1, 2, 3]",
            "HTTP count to 1000: 400 VALIDATOR: invalid CountRequest.To: value must be inside range [1, 100]",
            "gRPC sum of [1, 2, 3, 4]: 10",
            "gRPC squares of [3, 4, i64::MAX]: [9, 16], then 400 OVERFLOW: 9223372036854775807 squared overflows",
        ],
    );
}

/// The discovery program's story, whichever registry it runs on.
fn assert_discovery(out: &str) {
    assert_lines(
        out,
        &[
            r#"4 calls answered by: HTTP {"a": 2, "b": 2}, gRPC {"a": 2, "b": 2}"#,
            "instance a stopped",
            r#"4 calls answered by: HTTP {"b": 4}, gRPC {"b": 4}"#,
            "instance b stopped",
        ],
    );
    for name in ["a", "b"] {
        let registered = out
            .lines()
            .find_map(|l| l.strip_prefix(&format!("instance {name} registered as echo: ")))
            .unwrap_or_else(|| panic!("instance {name} did not register:\n{out}"));
        let endpoints: Vec<&str> = registered.split(' ').collect();
        assert!(
            matches!(endpoints.as_slice(), [h, g] if h.starts_with("http://127.0.0.1:") && g.starts_with("grpc://127.0.0.1:")),
            "{registered}"
        );
    }
}

#[tokio::test]
async fn discovery_in_process() {
    assert_discovery(&run(env!("CARGO_BIN_EXE_discovery"), &[]).await);
}

/// Two distinct free ports on 127.0.0.1 (free when asked; etcd binds them right after).
fn free_ports() -> (u16, u16) {
    let port = |l: &TcpListener| l.local_addr().unwrap().port();
    let (a, b) = (
        TcpListener::bind("127.0.0.1:0").unwrap(),
        TcpListener::bind("127.0.0.1:0").unwrap(),
    );
    (port(&a), port(&b))
}

/// etcd on free loopback ports in a temporary directory, killed when dropped.
struct Etcd {
    client_port: u16,
    _child: tokio::process::Child,
    _dir: tempfile::TempDir,
}

impl Etcd {
    /// Starts etcd (Debian's `etcd-server`; `etcd` on PATH) and waits until it answers.
    async fn start() -> Etcd {
        let dir = tempfile::tempdir().unwrap();
        let (client_port, peer_port) = free_ports();
        let client = format!("http://127.0.0.1:{client_port}");
        let peer = format!("http://127.0.0.1:{peer_port}");
        let mut child = Command::new("etcd")
            .args(["--name", "topics", "--data-dir"])
            .arg(dir.path().join("data"))
            .args([
                "--listen-client-urls",
                &client,
                "--advertise-client-urls",
                &client,
            ])
            .args([
                "--listen-peer-urls",
                &peer,
                "--initial-advertise-peer-urls",
                &peer,
            ])
            .args(["--initial-cluster", &format!("topics={peer}")])
            .args(["--log-level", "error"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("etcd not found: scripts/install-deps.sh installs Debian's etcd-server");
        let ready = async {
            loop {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!("etcd exited with {status} (a port taken meanwhile?)");
                }
                let options = kratos::etcd::ConnectOptions::new();
                if let Ok(c) = kratos::etcd::Client::connect([client.as_str()], options).await
                    && c.get("ready", kratos::etcd::GetOptions::new())
                        .await
                        .is_ok()
                {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        };
        tokio::time::timeout(LIMIT, ready)
            .await
            .expect("etcd did not answer");
        Etcd {
            client_port,
            _child: child,
            _dir: dir,
        }
    }
}

#[tokio::test]
async fn discovery_on_etcd() {
    let etcd = Etcd::start().await;
    let hosts = format!("127.0.0.1:{}", etcd.client_port);
    assert_discovery(&run(env!("CARGO_BIN_EXE_discovery"), &["--etcd", &hosts]).await);
}
