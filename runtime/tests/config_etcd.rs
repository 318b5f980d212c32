//! kratos::config's etcd source against a real etcd: a prefix of documents and plain values,
//! put, update, delete, a broken document rejected, etcd killed and restarted, and close.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod registry_support;

use std::time::Duration;

use kratos::config::Config;
use kratos::config::sources::etcd::EtcdSource;
use registry_support::etcd::Etcd;
use registry_support::eventually;

/// Generous bound for anything event-driven on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(20);

async fn put(etcd: &Etcd, key: &str, value: &str) {
    etcd.client()
        .await
        .put(key, value, kratos::etcd::PutOptions::new())
        .await
        .unwrap();
}

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watched_prefix_follows_puts_updates_deletes_and_restarts() {
    let mut etcd = Etcd::start().await;
    put(
        &etcd,
        "/app/config.yaml",
        "greeting: Hi\nserver:\n  http:\n    addr: ':8000'\n",
    )
    .await;
    put(&etcd, "/app/server/grpc/addr", ":9000").await;
    put(&etcd, "/other/config.yaml", "greeting: not mine\n").await;
    let source = EtcdSource::connect(&[etcd.url()], "/app/")
        .await
        .unwrap()
        .prefix(true);
    let config = Config::builder().source(source).load().await.unwrap();
    assert_eq!(config.value("greeting").string().unwrap(), "Hi");
    assert_eq!(config.value("server.http.addr").string().unwrap(), ":8000");
    assert_eq!(config.value("server.grpc.addr").string().unwrap(), ":9000");

    // Update a document, add and delete plain values.
    put(
        &etcd,
        "/app/config.yaml",
        "greeting: Howdy\nserver:\n  http:\n    addr: ':8000'\n",
    )
    .await;
    wait_for(&config, "greeting", Some("Howdy")).await;
    put(&etcd, "/app/server/http/addr", ":8080").await;
    wait_for(&config, "server.http.addr", Some(":8080")).await;
    etcd.client()
        .await
        .delete("/app/server/grpc/addr", kratos::etcd::DeleteOptions::new())
        .await
        .unwrap();
    wait_for(&config, "server.grpc.addr", None).await;

    // A broken document is rejected; the last good configuration stays.
    let rejected = config.status().rejected;
    put(&etcd, "/app/config.yaml", "greeting: [broken\n").await;
    assert!(
        eventually(PATIENCE, || async { config.status().rejected > rejected }).await,
        "the broken document is rejected"
    );
    assert!(
        config
            .status()
            .last_error
            .unwrap()
            .to_string()
            .contains("/app/config.yaml:")
    );
    assert_eq!(config.value("greeting").string().unwrap(), "Howdy");

    // etcd killed: the broken watch is reported, the configuration keeps serving.
    let rejected = config.status().rejected;
    etcd.kill();
    assert!(
        eventually(PATIENCE, || async { config.status().rejected > rejected }).await,
        "the outage is noticed"
    );
    assert_eq!(config.value("greeting").string().unwrap(), "Howdy");
    // Restarted with its data: the watch is opened again and follows new changes.
    etcd.restart(false).await;
    put(&etcd, "/app/config.yaml", "greeting: Back\n").await;
    wait_for(&config, "greeting", Some("Back")).await;
    put(&etcd, "/app/config.yaml", "greeting: Again\n").await;
    wait_for(&config, "greeting", Some("Again")).await;

    config.close().await;
    put(&etcd, "/app/config.yaml", "greeting: Closed\n").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(config.value("greeting").string().unwrap(), "Again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_key_with_the_file_source_merged_under_it() {
    let etcd = Etcd::start().await;
    put(&etcd, "/svc/greeting", "Hello").await;
    let source = EtcdSource::connect(&[etcd.url()], "/svc/greeting")
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.yaml");
    std::fs::write(&file, "greeting: from file\nname: ${greeting}-svc\n").unwrap();
    // The file first, etcd later: etcd wins, and placeholders see the merged result.
    let config = Config::builder()
        .source(kratos::config::sources::file::FileSource::new(&file))
        .source(source)
        .load()
        .await
        .unwrap();
    assert_eq!(config.value("greeting").string().unwrap(), "Hello");
    assert_eq!(config.value("name").string().unwrap(), "Hello-svc");
    put(&etcd, "/svc/greeting", "Bonjour").await;
    wait_for(&config, "name", Some("Bonjour-svc")).await;
    // A key next to it is not watched.
    put(&etcd, "/svc/greeting2", "other").await;
    put(&etcd, "/svc/greeting", "Hola").await;
    wait_for(&config, "greeting", Some("Hola")).await;
    assert!(!config.value("greeting2").exists());
    config.close().await;
}
