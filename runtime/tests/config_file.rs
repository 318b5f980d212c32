//! kratos::config with real files: every editor save pattern, temporaries, several files, rapid
//! saves, broken saves (the last good configuration stays), start errors, and no task left
//! after `close`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod registry_support;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kratos::config::sources::env::EnvSource;
use kratos::config::sources::file::FileSource;
use kratos::config::{Config, ConfigError};
use registry_support::eventually;
use serde::Deserialize;

/// How long a change may take to be seen (generous: debounce 50 ms in these tests).
const WAIT: Duration = Duration::from_secs(10);

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

async fn load(path: &Path) -> Config {
    Config::builder()
        .source(FileSource::new(path).debounce(Duration::from_millis(50)))
        .load()
        .await
        .unwrap()
}

/// Waits until `key` reads `want`; fails the test otherwise.
async fn wait_for(config: &Config, key: &str, want: &str) {
    let seen = eventually(WAIT, || async {
        config.value(key).string().ok().as_deref() == Some(want)
    })
    .await;
    assert!(
        seen,
        "{key} never became {want:?}; it is {:?}",
        config.value(key).raw()
    );
}

/// Records every observed change of `key`.
fn observe(config: &Config, key: &str) -> Arc<Mutex<Vec<String>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    config.watch(key, move |_, value| {
        sink.lock()
            .unwrap()
            .push(value.string().unwrap_or_else(|e| format!("<{e}>")));
    });
    seen
}

#[tokio::test]
async fn a_directory_of_several_formats_merges_in_name_order_and_skips_temporaries() {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("a.yaml"),
        "server:\n  http:\n    addr: ':8000'\n    timeout: 1s\nname: a\n",
    );
    write(
        &dir.path().join("b.yml"),
        "server:\n  grpc:\n    addr: ':9000'\nname: b\n",
    );
    write(
        &dir.path().join("c.json"),
        r#"{"name": "c", "list": [1, 2]}"#,
    );
    write(
        &dir.path().join("d.toml"),
        "[server.http]\naddr = \":8001\"\n",
    );
    for temp in [
        ".hidden.yaml",
        "e.yaml~",
        "#e.yaml#",
        "e.yaml.swp",
        "e.yaml.tmp",
        "README.md",
    ] {
        write(&dir.path().join(temp), "name: temporary\n");
    }
    let config = load(dir.path()).await;
    assert_eq!(config.value("name").string().unwrap(), "c");
    assert_eq!(config.value("server.http.addr").string().unwrap(), ":8001");
    assert_eq!(
        config.value("server.http.timeout").duration().unwrap(),
        Duration::from_secs(1)
    );
    assert_eq!(config.value("server.grpc.addr").string().unwrap(), ":9000");
    assert_eq!(config.get::<Vec<u32>>("list").unwrap(), vec![1, 2]);
    config.close().await;
}

#[tokio::test]
async fn every_editor_save_pattern_is_picked_up_and_observed() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.yaml");
    write(&file, "greeting: one\nother: x\n");
    let config = load(&file).await;
    let seen = observe(&config, "greeting");
    let untouched = observe(&config, "other");

    // Write a temporary and rename it over the file (vim's default, most IDEs).
    let temp = dir.path().join("config.yaml.tmp");
    write(&temp, "greeting: two\nother: x\n");
    std::fs::rename(&temp, &file).unwrap();
    wait_for(&config, "greeting", "two").await;

    // Truncate and write in two steps (an empty document in between is never served).
    {
        use std::io::Write as _;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&file)
            .unwrap();
        f.flush().unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        f.write_all(b"greeting: three\nother: x\n").unwrap();
    }
    wait_for(&config, "greeting", "three").await;

    // Delete and recreate.
    std::fs::remove_file(&file).unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    write(&file, "greeting: four\nother: x\n");
    wait_for(&config, "greeting", "four").await;

    // Emacs-style backup and lock files next to it change nothing.
    write(&dir.path().join("config.yaml~"), "greeting: backup\n");
    write(&dir.path().join(".#config.yaml"), "greeting: lock\n");

    // Rename over again, then a change of another key only.
    write(&temp, "greeting: five\nother: y\n");
    std::fs::rename(&temp, &file).unwrap();
    wait_for(&config, "greeting", "five").await;

    let seen = seen.lock().unwrap().clone();
    // Every value the file held was observed in order; values that were never served (the
    // empty file, the temporaries) never were.
    let served: Vec<&str> = seen
        .iter()
        .map(String::as_str)
        .filter(|s| !s.starts_with('<'))
        .collect();
    assert_eq!(served.last(), Some(&"five"));
    for value in ["two", "three", "four", "five"] {
        assert!(served.contains(&value), "{value} not observed: {seen:?}");
    }
    assert!(
        !served.iter().any(|v| *v == "backup" || *v == "lock"),
        "{seen:?}"
    );
    assert_eq!(untouched.lock().unwrap().as_slice(), ["y"]);
    config.close().await;
}

#[tokio::test]
async fn rapid_successive_saves_end_on_the_last_one() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.json");
    write(&file, r#"{"n": 0}"#);
    let config = load(&file).await;
    for n in 1..=30 {
        write(&file, &format!(r#"{{"n": {n}}}"#));
    }
    wait_for(&config, "n", "30").await;
    // Nothing older arrives afterwards.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(config.value("n").int().unwrap(), 30);
    config.close().await;
}

#[tokio::test]
async fn broken_saves_are_rejected_and_the_last_good_configuration_stays() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.yaml");
    write(&file, "greeting: good\nport: 8000\n");
    let config = Config::builder()
        .source(FileSource::new(&file).debounce(Duration::from_millis(50)))
        .check(|snapshot| snapshot.value("port").int().map(drop))
        .load()
        .await
        .unwrap();
    let seen = observe(&config, "greeting");
    let broken = [
        ("greeting: bad\nport: [1, 2\n", "config.yaml:3:1"),
        ("greeting: bad\nport: not a number\n", "port"),
        (
            "greeting: ${greeting}\nport: 1\n",
            "cycle greeting -> greeting",
        ),
    ];
    for (i, (text, reason)) in broken.iter().enumerate() {
        write(&file, text);
        let rejected = eventually(WAIT, || async { config.status().rejected > i as u64 }).await;
        assert!(rejected, "{text:?} was not rejected: {:?}", config.status());
        let error = config.status().last_error.unwrap().to_string();
        assert!(error.contains(reason), "{error} should name {reason}");
        assert_eq!(config.value("greeting").string().unwrap(), "good");
    }
    write(&file, "greeting: better\nport: 8001\n");
    wait_for(&config, "greeting", "better").await;
    assert_eq!(seen.lock().unwrap().as_slice(), ["better"]);
    config.close().await;
}

#[tokio::test]
async fn a_key_removed_from_the_file_disappears() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.toml");
    write(&file, "a = 1\nb = 2\n");
    let config = load(&file).await;
    let seen = observe(&config, "b");
    write(&file, "a = 3\n");
    wait_for(&config, "a", "3").await;
    assert!(!config.value("b").exists());
    assert_eq!(
        seen.lock().unwrap().as_slice(),
        ["<config key \"b\": not found>"]
    );
    config.close().await;
}

#[tokio::test]
async fn placeholders_read_the_environment_source_and_env_overrides_nest() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.yaml");
    write(
        &file,
        "server:\n  http:\n    addr: '0.0.0.0:${PORT:8000}'\n  grpc:\n    addr: ':9000'\ngreeting: ${GREETING:Hello}\n",
    );
    let config = Config::builder()
        .source(FileSource::new(&file).debounce(Duration::from_millis(50)))
        .source(EnvSource::new().vars([("PORT", "8080"), ("SERVER__GRPC__ADDR", ":9999")]))
        .load()
        .await
        .unwrap();
    assert_eq!(
        config.value("server.http.addr").string().unwrap(),
        "0.0.0.0:8080"
    );
    assert_eq!(config.value("server.grpc.addr").string().unwrap(), ":9999");
    assert_eq!(config.value("greeting").string().unwrap(), "Hello");
    // A change of the file is resolved again against the environment.
    write(
        &file,
        "server:\n  http:\n    addr: '127.0.0.1:${PORT}'\ngreeting: ${GREETING:Hi}\n",
    );
    wait_for(&config, "greeting", "Hi").await;
    assert_eq!(
        config.value("server.http.addr").string().unwrap(),
        "127.0.0.1:8080"
    );
    config.close().await;
}

#[derive(Debug, Deserialize, PartialEq)]
struct Http {
    addr: String,
    #[serde(default)]
    port: u16,
}

#[tokio::test]
async fn start_errors_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.yaml");
    let err = Config::builder()
        .source(FileSource::new(&missing))
        .load()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConfigError::Io { path, .. } if path.ends_with("missing.yaml")),
        "{err}"
    );

    let cases: &[(&str, &str, &str)] = &[
        ("bad.yaml", "a: [1\n", "bad.yaml:2:1:"),
        ("bad.json", "{\n\"a\": 1,,\n}", "bad.json:2:8:"),
        ("bad.toml", "a = \n", "bad.toml:1:5:"),
        (
            "cycle.yaml",
            "a: ${b}\nb: ${a}\n",
            "placeholder cycle a -> b -> a",
        ),
        (
            "type.yaml",
            "http: {addr: x, port: high}\n",
            "config http.port: invalid type",
        ),
        ("bad.ini", "a=1\n", "unsupported format \"ini\""),
    ];
    for (name, text, want) in cases {
        let file = dir.path().join(name);
        write(&file, text);
        let err = Config::builder()
            .source(FileSource::new(&file))
            .schema::<std::collections::HashMap<String, serde_json::Value>>()
            .check(|s| match s.value("http").exists() {
                true => s.get::<Http>("http").map(drop),
                false => Ok(()),
            })
            .load()
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(want),
            "{name}: {err:?} should contain {want:?}"
        );
    }
}

#[tokio::test]
async fn close_stops_every_watcher_and_leaves_no_task() {
    let metrics = tokio::runtime::Handle::current().metrics();
    let before = metrics.num_alive_tasks();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.yaml");
    write(&file, "v: 1\n");
    let config = Config::builder()
        .source(FileSource::new(&file).debounce(Duration::from_millis(50)))
        .source(FileSource::new(dir.path()).debounce(Duration::from_millis(50)))
        .load()
        .await
        .unwrap();
    assert_eq!(metrics.num_alive_tasks(), before + 2);
    let seen = observe(&config, "v");
    config.close().await;
    assert_eq!(metrics.num_alive_tasks(), before);
    write(&file, "v: 2\n");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(config.value("v").int().unwrap(), 1);
    assert!(seen.lock().unwrap().is_empty());

    // Dropping every clone stops the watchers too.
    let config = load(&file).await;
    assert_eq!(metrics.num_alive_tasks(), before + 1);
    drop(config);
    let stopped = eventually(WAIT, || async { metrics.num_alive_tasks() == before }).await;
    assert!(stopped, "{} tasks alive", metrics.num_alive_tasks());
}

#[tokio::test]
async fn a_panicking_observer_does_not_stop_the_watcher() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.yaml");
    write(&file, "v: 1\n");
    let config = load(&file).await;
    config.watch("v", |_, _| panic!("observer failure"));
    let seen = observe(&config, "v");
    for n in 2..=3 {
        write(&file, &format!("v: {n}\n"));
        wait_for(&config, "v", &n.to_string()).await;
    }
    let ok = eventually(WAIT, || async { seen.lock().unwrap().len() == 2 }).await;
    assert!(ok, "{:?}", seen.lock().unwrap());
    config.close().await;
}

#[tokio::test]
async fn a_directory_that_never_rests_is_still_read() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("config.yaml"), "v: 1\n");
    let config = load(dir.path()).await;
    // A log file written every 10 ms next to the configuration (shorter than the debounce).
    let noisy = dir.path().join("service.log");
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                write(&noisy, "line\n");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    write(&dir.path().join("config.yaml"), "v: 2\n");
    wait_for(&config, "v", "2").await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.await.unwrap();
    config.close().await;
}

/// A Kubernetes ConfigMap volume: `config.yaml -> ..data/config.yaml`, `..data -> ..<timestamp>`;
/// the kubelet updates it by writing a new timestamped directory and renaming a new `..data`
/// link over the old one.
#[cfg(unix)]
#[tokio::test]
async fn a_mounted_configmap_directory_follows_the_kubelets_atomic_swap() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir(root.join("..2026_01_01_00_00_00.1")).unwrap();
    write(
        &root.join("..2026_01_01_00_00_00.1/config.yaml"),
        "greeting: v1\n",
    );
    symlink("..2026_01_01_00_00_00.1", root.join("..data")).unwrap();
    symlink("..data/config.yaml", root.join("config.yaml")).unwrap();
    let config = load(root).await;
    assert_eq!(config.value("greeting").string().unwrap(), "v1");

    std::fs::create_dir(root.join("..2026_01_01_00_01_00.2")).unwrap();
    write(
        &root.join("..2026_01_01_00_01_00.2/config.yaml"),
        "greeting: v2\n",
    );
    symlink("..2026_01_01_00_01_00.2", root.join("..data_tmp")).unwrap();
    std::fs::rename(root.join("..data_tmp"), root.join("..data")).unwrap();
    std::fs::remove_dir_all(root.join("..2026_01_01_00_00_00.1")).unwrap();
    wait_for(&config, "greeting", "v2").await;
    config.close().await;
}
