//! Swagger UI in a real browser: headless Chromium (Debian's `chromium`, installed by
//! `scripts/install-deps.sh`) opens the page the helloworld HTTP server serves at
//! `/q/swagger-ui/`, which loads its assets and `/q/openapi.json` from the same server, and the
//! rendered DOM must show the greeter's operations.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use support::{Running, run_bounded};

/// How long Chromium may take to load and render the page before it is killed.
const CHROMIUM_LIMIT: Duration = Duration::from_secs(90);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swagger_ui_renders_the_greeter_operations() {
    let server = Running::start().await;
    let profile = tempfile::tempdir().unwrap();
    let url = format!("http://{}/q/swagger-ui/", server.http_addr);

    let mut chromium = tokio::process::Command::new("chromium");
    chromium
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        // Virtual time runs the page's timers fast; the DOM is dumped once the page is idle or
        // the 10 s budget is spent.
        .args(["--virtual-time-budget=10000", "--dump-dom"])
        .arg(&url);
    let (output, took) = run_bounded(
        chromium,
        CHROMIUM_LIMIT,
        "chromium is not installed: run scripts/install-deps.sh",
    )
    .await;
    server.stop().await;

    let dom = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "chromium failed ({}) after {took:?}:\n{stderr}",
        output.status
    );
    eprintln!(
        "chromium rendered {url} in {took:?} ({} bytes of DOM)",
        dom.len()
    );
    // Rendered by Swagger UI's scripts (the page itself only has an empty #swagger-ui div): the
    // document's title, the tag, one block per operation (id `operations-<tag>-<operationId>`)
    // with its method and path. (The title's heading level differs between Swagger UI releases.)
    for expected in [
        r#"class="title">Greeter API"#,
        r#"id="operations-tag-Greeter""#,
        r#"id="operations-Greeter-Greeter_SayHello""#,
        r#"id="operations-Greeter-Greeter_SayHello_1""#,
        r#"data-path="/helloworld/{name}""#,
        r#"data-path="/say_hello""#,
        r#"<span class="opblock-summary-method">GET</span>"#,
        r#"<span class="opblock-summary-method">POST</span>"#,
    ] {
        assert!(
            dom.contains(expected),
            "the rendered page lacks {expected}; DOM:\n{dom}\nchromium stderr:\n{stderr}"
        );
    }
}
