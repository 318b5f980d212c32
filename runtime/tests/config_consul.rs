//! kratos::config's Consul KV source against the fake agent: a prefix of documents and plain
//! values followed with blocking queries (put, update, delete), a broken document rejected, an
//! index reset, a single key, and close.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod registry_support;

use std::time::Duration;

use kratos::config::Config;
use kratos::config::sources::consul::ConsulSource;
use registry_support::eventually;
use registry_support::fake_consul::{FakeConsul, Kind};

const PATIENCE: Duration = Duration::from_secs(10);

async fn wait_for(config: &Config, key: &str, want: Option<&str>) {
    let seen = eventually(PATIENCE, || async {
        config.value(key).string().ok().as_deref() == want
    })
    .await;
    assert!(
        seen,
        "{key} never became {want:?}: {:?}",
        config.value(key).raw()
    );
}

#[tokio::test]
async fn a_prefix_is_followed_with_blocking_queries() {
    let consul = FakeConsul::start().await;
    consul.put_kv(
        "app/config.yaml",
        "greeting: Hi\nserver:\n  http:\n    addr: ':8000'\n",
    );
    consul.put_kv("app/server/grpc/addr", ":9000");
    consul.put_kv("other/config.yaml", "greeting: not mine\n");
    let source = ConsulSource::new(consul.url(), "app/")
        .prefix(true)
        .wait(Duration::from_secs(30));
    let config = Config::builder().source(source).load().await.unwrap();
    assert_eq!(config.value("greeting").string().unwrap(), "Hi");
    assert_eq!(config.value("server.grpc.addr").string().unwrap(), ":9000");

    // The watcher waits in a blocking query (index and wait given).
    consul
        .wait_for("a blocking KV query", PATIENCE, |calls| {
            calls.iter().any(|c| {
                c.kind == Kind::Kv && c.uri.contains("index=") && c.uri.contains("wait=30000ms")
            })
        })
        .await;
    consul.put_kv("app/config.yaml", "greeting: Howdy\n");
    wait_for(&config, "greeting", Some("Howdy")).await;
    // The document no longer sets server.http.addr: it is gone.
    assert!(!config.value("server.http.addr").exists());
    consul.delete_kv("app/server/grpc/addr");
    wait_for(&config, "server.grpc.addr", None).await;
    // Keys outside the prefix change nothing.
    consul.put_kv("other/config.yaml", "greeting: still not mine\n");
    consul.put_kv("app/server/http/addr", ":8080");
    wait_for(&config, "server.http.addr", Some(":8080")).await;
    assert_eq!(config.value("greeting").string().unwrap(), "Howdy");

    // A broken document is rejected; the last good configuration stays.
    let rejected = config.status().rejected;
    consul.put_kv("app/config.yaml", "{\"greeting\": ");
    assert!(eventually(PATIENCE, || async { config.status().rejected > rejected }).await);
    assert_eq!(config.value("greeting").string().unwrap(), "Howdy");
    consul.put_kv("app/config.yaml", "greeting: Fixed\n");
    wait_for(&config, "greeting", Some("Fixed")).await;

    // The agent's index goes backwards (a new raft log): the watcher starts over from it.
    consul.reset_index(1);
    consul.put_kv("app/config.yaml", "greeting: After reset\n");
    wait_for(&config, "greeting", Some("After reset")).await;

    config.close().await;
    consul.put_kv("app/config.yaml", "greeting: Closed\n");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(config.value("greeting").string().unwrap(), "After reset");
}

#[tokio::test]
async fn a_single_key_and_a_missing_one() {
    let consul = FakeConsul::start().await;
    // A missing key is an empty source, not an error.
    let source = ConsulSource::new(consul.url(), "svc/greeting").wait(Duration::from_secs(30));
    let config = Config::builder().source(source).load().await.unwrap();
    assert!(!config.value("greeting").exists());
    consul.put_kv("svc/greeting", "Hello");
    wait_for(&config, "greeting", Some("Hello")).await;
    // A key next to it is not this source's.
    consul.put_kv("svc/greeting2", "other");
    consul.put_kv("svc/greeting", "Hola");
    wait_for(&config, "greeting", Some("Hola")).await;
    assert!(!config.value("greeting2").exists());
    config.close().await;
}

/// An answer over the cap (here one value whose base64 in JSON exceeds it) is a load error
/// naming the source, not a read without end.
#[tokio::test]
async fn an_answer_over_the_cap_is_an_error() {
    use kratos::config::sources::consul::MAX_ANSWER_BYTES;
    let consul = FakeConsul::start().await;
    // Base64 makes 3 bytes 4: this value's answer is over the cap by about 5 %.
    let value = "x".repeat(MAX_ANSWER_BYTES / 4 * 3 + MAX_ANSWER_BYTES / 20);
    consul.put_kv("big/config.yaml", &value);
    let source = ConsulSource::new(consul.url(), "big/")
        .prefix(true)
        .wait(Duration::from_secs(30));
    let err = Config::builder().source(source).load().await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("larger than") && text.contains("big/"),
        "{text}"
    );
}
