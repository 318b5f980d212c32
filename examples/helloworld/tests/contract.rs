//! Contract testing: schemathesis (`.tools/venv`, installed by `scripts/install-deps.sh`) reads
//! the OpenAPI document the helloworld HTTP server serves at `/q/openapi.json`, generates
//! valid and invalid requests for every operation, sends them to the same server and checks
//! every response against the document: status codes, content types, headers, bodies against
//! the schemas, invalid input rejected with a 4xx, valid input accepted, no 5xx.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use support::{Running, run_bounded, workspace_root};

/// Test cases per operation and phase (schemathesis' `--max-examples`).
const MAX_EXAMPLES: &str = "30";

/// How long schemathesis may run before it is killed (a normal run takes a few seconds).
/// Schemathesis' own `--max-time` is not used: it makes fuzzing repeat until the budget is spent.
const SCHEMATHESIS_LIMIT: Duration = Duration::from_secs(180);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_honours_its_openapi_document() {
    let schemathesis = workspace_root().join(".tools/venv/bin/schemathesis");
    let server = Running::start().await;
    let base = format!("http://{}", server.http_addr);
    // schemathesis writes reports and caches to its working directory.
    let work = tempfile::tempdir().unwrap();

    let mut command = tokio::process::Command::new(&schemathesis);
    command
        .current_dir(work.path())
        .env("NO_COLOR", "1")
        .arg("run")
        .arg(format!("{base}/q/openapi.json"))
        .args(["--url", &base])
        .args(["--checks", "all"])
        .args(["--max-examples", MAX_EXAMPLES])
        .args(["--request-timeout", "5"])
        .args(["--generation-database", "none"])
        .arg("--no-color");
    let (output, took) = run_bounded(
        command,
        SCHEMATHESIS_LIMIT,
        "schemathesis is not installed in .tools/venv: run scripts/install-deps.sh",
    )
    .await;
    server.stop().await;

    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "schemathesis failed ({}) after {took:?}; the seed to replay is in its summary:\n{stdout}\n{stderr}",
        output.status
    );
    // A run that tested nothing also exits 0: both operations must have been exercised.
    assert!(
        stdout.contains("Selected: 2/2") && stdout.contains("Tested: 2"),
        "schemathesis did not test both operations:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("No issues found"),
        "unexpected schemathesis summary:\n{stdout}"
    );
    eprintln!("schemathesis passed in {took:?}");
}
