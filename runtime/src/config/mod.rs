//! Configuration: Kratos' config model, typed and hot-reloaded (feature `config`).
//!
//! A [`Config`] reads one or more [`Source`]s — files and directories
//! ([`sources::file::FileSource`]), the environment ([`sources::env::EnvSource`]), etcd
//! (`sources::etcd`, feature `etcd`) and Consul KV (`sources::consul`, feature `consul`) — and
//! keeps the result as one immutable [`Snapshot`]:
//!
//! 1. each source's key/values are decoded (JSON, YAML, TOML, or a dotted key with a string
//!    value) and merged, sources in the order they were added, later ones winning, maps merged
//!    key by key (Kratos v3's rules, see `decode`);
//! 2. `${a.b:default}` placeholders are resolved against the merged tree (see `placeholder`);
//! 3. the checks run: a schema the configuration must scan into, validation rules
//!    ([`ConfigBuilder::validated`]).
//!
//! Servers are built from kratos-layout's `server.http` / `server.grpc` sections with
//! [`ServerSettings`].
//!
//! Reading is [`Config::value`] (a [`Value`] with typed getters), [`Config::get`] (any serde
//! type at a key, like Kratos v3's `Get[T]`) and [`Config::scan`] (the whole configuration,
//! e.g. the layout's `Bootstrap` message).
//!
//! Watching: every source's watcher reports the source's complete new content; the
//! configuration then builds a complete new snapshot from it and the other sources' last
//! accepted content and swaps it in atomically, so a reader sees the old snapshot or the new
//! one, never a mix. A change that fails to decode, resolve or pass the checks is logged (the
//! source, the file with line and column, the reason) and counted in [`Config::status`], and
//! the last good configuration stays in force. Observers ([`Config::watch`]) are called after
//! any change of their key's value, whether or not the key was read before (Kratos calls only
//! for keys read before). [`Config::close`] stops every watcher task and waits for it.
//!
//! ```no_run
//! # async fn run() -> Result<(), kratos::config::ConfigError> {
//! use kratos::config::{Config, sources::{env::EnvSource, file::FileSource}};
//!
//! let config = Config::builder()
//!     .source(FileSource::new("configs"))
//!     .source(EnvSource::new())
//!     .load()
//!     .await?;
//! let addr = config.value("server.http.addr").string()?;
//! let greeting = config.watched("helloworld.greeting", String::from("Hello"))?;
//! println!("{addr}: {}", greeting.get());
//! config.close().await;
//! # Ok(())
//! # }
//! ```

mod decode;
mod duration;
mod error;
mod placeholder;
mod scan;
mod server;
mod source;
mod value;
mod watched;

/// The sources: file, environment, etcd, Consul KV.
pub mod sources;

use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use arc_swap::ArcSwap;
use serde::de::DeserializeOwned;
use serde_json::Value as Json;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use error::ConfigError;
pub use server::ServerSettings;
pub use source::{BoxFuture, KeyValue, Source, Watcher};
pub use value::Value;
pub use watched::Watched;

use crate::validate::Validate;

/// A check every candidate configuration must pass before it is served.
type Check = Arc<dyn Fn(&Snapshot) -> Result<(), ConfigError> + Send + Sync>;
/// An observer of one key.
type Observer = Arc<dyn Fn(&str, &Value) + Send + Sync>;

/// One complete, resolved configuration. Immutable: a change builds a new one.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    tree: Json,
    version: u64,
}

impl Snapshot {
    /// The value at a dotted key (`server.http.addr`; list elements by index, `a.0`).
    pub fn value(&self, key: &str) -> Value {
        Value::new(key, placeholder::lookup(&self.tree, key).cloned())
    }

    /// The value at `key` decoded into `T`; [`ConfigError::NotFound`] when absent.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<T, ConfigError> {
        match placeholder::lookup(&self.tree, key) {
            Some(v) => scan::scan_at(key, v),
            None => Err(ConfigError::NotFound { key: key.into() }),
        }
    }

    /// The whole configuration decoded into `T` (see [`Config::scan`]).
    pub fn scan<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        scan::scan_at("", &self.tree)
    }

    /// The resolved tree.
    pub fn tree(&self) -> &Json {
        &self.tree
    }

    /// 0 for the configuration loaded at start, then one more for each applied change.
    pub fn version(&self) -> u64 {
        self.version
    }
}

/// Counters of the changes seen by the watchers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Status {
    /// Changes that built a new snapshot.
    pub applied: u64,
    /// Changes rejected (parse, placeholder, schema or validation error, or a source error);
    /// the last good configuration stayed in force.
    pub rejected: u64,
    /// The last rejection's error.
    pub last_error: Option<ConfigError>,
}

/// Builds a [`Config`].
#[derive(Default)]
pub struct ConfigBuilder {
    sources: Vec<Arc<dyn Source>>,
    typed: bool,
    checks: Vec<Check>,
}

impl std::fmt::Debug for ConfigBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigBuilder")
            .field(
                "sources",
                &self.sources.iter().map(|s| s.name()).collect::<Vec<_>>(),
            )
            .field("typed", &self.typed)
            .field("checks", &self.checks.len())
            .finish()
    }
}

impl ConfigBuilder {
    /// Adds a source; later sources override earlier ones.
    pub fn source(self, source: impl Source) -> Self {
        self.source_arc(Arc::new(source))
    }

    /// Adds a shared source.
    pub fn source_arc(mut self, source: Arc<dyn Source>) -> Self {
        self.sources.push(source);
        self
    }

    /// Typed placeholders (Kratos' `WithResolveActualTypes`): a string that is exactly one
    /// placeholder takes the referenced value's type (or its default's).
    pub fn resolve_actual_types(mut self, enabled: bool) -> Self {
        self.typed = enabled;
        self
    }

    /// A check each configuration must pass, at start and on every change.
    pub fn check(
        mut self,
        check: impl Fn(&Snapshot) -> Result<(), ConfigError> + Send + Sync + 'static,
    ) -> Self {
        self.checks.push(Arc::new(check));
        self
    }

    /// The configuration must scan into `T` (e.g. the layout's `Bootstrap`), at start and on
    /// every change.
    pub fn schema<T: DeserializeOwned + 'static>(self) -> Self {
        self.check(|snapshot| snapshot.scan::<T>().map(drop))
    }

    /// The configuration must scan into `T` and pass `T`'s validation rules (a message with
    /// protoc-gen-validate rules), at start and on every change.
    pub fn validated<T: DeserializeOwned + Validate + 'static>(self) -> Self {
        self.check(|snapshot| {
            let value = snapshot.scan::<T>()?;
            value.validate_all().map_err(|violations| {
                ConfigError::Invalid(
                    violations
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; "),
                )
            })
        })
    }

    /// Loads every source, builds the first snapshot and starts watching. Any error (a source
    /// that cannot be read, a parse error, a placeholder cycle, a failed check) is returned.
    pub async fn load(self) -> Result<Config, ConfigError> {
        // Watch first, then read: a change made in between is not missed.
        let mut watchers = Vec::with_capacity(self.sources.len());
        for source in &self.sources {
            watchers.push(source.watch().await?);
        }
        let mut trees = Vec::with_capacity(self.sources.len());
        for source in &self.sources {
            trees.push(decode_all(&source.load().await?)?);
        }
        let snapshot = build(&trees, self.typed, &self.checks, 0)?;
        let inner = Arc::new(Inner {
            current: ArcSwap::from_pointee(snapshot),
            trees: Mutex::new(trees),
            observers: Mutex::new(Vec::new()),
            status: Mutex::new(Status::default()),
            names: self.sources.iter().map(|s| s.name()).collect(),
            typed: self.typed,
            checks: self.checks,
            cancel: CancellationToken::new(),
            tasks: Mutex::new(Vec::new()),
        });
        let mut tasks = Vec::new();
        for (index, watcher) in watchers.into_iter().enumerate() {
            if let Some(watcher) = watcher {
                tasks.push(tokio::spawn(run_watcher(
                    Arc::downgrade(&inner),
                    inner.cancel.clone(),
                    index,
                    watcher,
                )));
            }
        }
        *lock(&inner.tasks) = tasks;
        Ok(Config { inner })
    }
}

/// A loaded configuration (cheap to clone; clones share it). Dropping the last clone stops its
/// watchers; [`close`](Self::close) also waits for them.
#[derive(Clone)]
pub struct Config {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("sources", &self.inner.names)
            .field("version", &self.inner.current.load().version)
            .finish()
    }
}

struct Inner {
    current: ArcSwap<Snapshot>,
    /// The last accepted decoded tree of each source; the lock also orders changes.
    trees: Mutex<Vec<Json>>,
    observers: Mutex<Vec<(String, Observer)>>,
    status: Mutex<Status>,
    names: Vec<String>,
    typed: bool,
    checks: Vec<Check>,
    cancel: CancellationToken,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// Locks, ignoring poisoning (every update leaves the state consistent before it can panic).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Config {
    /// A builder with no sources.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::default()
    }

    /// The current snapshot: several reads from it are consistent with each other.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.inner.current.load_full()
    }

    /// The current value at a dotted key.
    pub fn value(&self, key: &str) -> Value {
        self.inner.current.load().value(key)
    }

    /// The current value at `key` decoded into `T` (Kratos v3's `config.Get[T]`).
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<T, ConfigError> {
        self.inner.current.load().get(key)
    }

    /// The whole current configuration decoded into `T`: a serde type, or a prost message
    /// through its proto3 JSON (proto and JSON field names, `"1s"` durations, unknown fields
    /// ignored).
    pub fn scan<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        self.inner.current.load().scan()
    }

    /// Calls `observer` with the key and its new value after every change of the value at
    /// `key` (appearing, changing or disappearing; a disappeared key's [`Value`] does not
    /// exist). Several observers may watch one key. Observers run on the watcher's task, one
    /// change after the other: they should be quick. A panicking observer is logged; the
    /// others and the watcher go on.
    pub fn watch(&self, key: &str, observer: impl Fn(&str, &Value) + Send + Sync + 'static) {
        lock(&self.inner.observers).push((key.to_string(), Arc::new(observer)));
    }

    /// The value at `key` as a `T` kept current by an observer (`default` while the key is
    /// absent). A change that does not decode into `T` is logged and the previous value kept.
    pub fn watched<T>(&self, key: &str, default: T) -> Result<Watched<T>, ConfigError>
    where
        T: DeserializeOwned + Clone + Send + Sync + 'static,
    {
        Watched::new(self, key, default)
    }

    /// Counters of applied and rejected changes.
    pub fn status(&self) -> Status {
        lock(&self.inner.status).clone()
    }

    /// Stops every watcher and waits until their tasks have ended. Reading stays possible (the
    /// last snapshot).
    pub async fn close(&self) {
        self.inner.cancel.cancel();
        let tasks = std::mem::take(&mut *lock(&self.inner.tasks));
        for task in tasks {
            // A task that panicked has ended too.
            let _ = task.await;
        }
    }

    /// Applies the complete new content of source `index`.
    fn apply(&self, index: usize, kvs: Result<Vec<KeyValue>, ConfigError>) {
        let inner = &self.inner;
        let name = &inner.names[index];
        let mut trees = lock(&inner.trees);
        let result = kvs.and_then(|kvs| decode_all(&kvs)).and_then(|tree| {
            let mut candidate = trees.clone();
            candidate[index] = tree;
            let old = inner.current.load_full();
            let snapshot = build(&candidate, inner.typed, &inner.checks, old.version + 1)?;
            Ok((candidate, old, snapshot))
        });
        match result {
            Err(error) => {
                tracing::warn!(
                    source = %name,
                    %error,
                    "configuration change rejected; the last good configuration stays in force"
                );
                let mut status = lock(&inner.status);
                status.rejected += 1;
                status.last_error = Some(error);
            }
            Ok((candidate, old, snapshot)) => {
                *trees = candidate;
                lock(&inner.status).applied += 1;
                if snapshot.tree == old.tree {
                    return;
                }
                let new = Arc::new(snapshot);
                inner.current.store(new.clone());
                tracing::info!(source = %name, version = new.version, "configuration changed");
                let observers = lock(&inner.observers).clone();
                for (key, observer) in observers {
                    let before = placeholder::lookup(&old.tree, &key);
                    let after = placeholder::lookup(&new.tree, &key);
                    if before != after {
                        let value = Value::new(key.clone(), after.cloned());
                        // A panicking observer must not end the watcher: it is logged.
                        let call = std::panic::AssertUnwindSafe(|| observer(&key, &value));
                        if std::panic::catch_unwind(call).is_err() {
                            tracing::error!(key = %key, "configuration observer panicked");
                        }
                    }
                }
            }
        }
    }
}

/// Decodes and merges one source's key/values, in their order.
fn decode_all(kvs: &[KeyValue]) -> Result<Json, ConfigError> {
    let mut tree = Json::Object(serde_json::Map::new());
    for kv in kvs {
        decode::merge(&mut tree, decode::decode(kv)?);
    }
    Ok(tree)
}

/// Merges the sources' trees, resolves placeholders and runs the checks.
fn build(
    trees: &[Json],
    typed: bool,
    checks: &[Check],
    version: u64,
) -> Result<Snapshot, ConfigError> {
    let mut tree = Json::Object(serde_json::Map::new());
    for t in trees {
        decode::merge(&mut tree, t.clone());
    }
    placeholder::resolve(&mut tree, typed)?;
    let snapshot = Snapshot { tree, version };
    for check in checks {
        check(&snapshot)?;
    }
    Ok(snapshot)
}

/// How long a watcher that failed waits before it is asked again (Kratos: 1 s).
const RETRY_PAUSE: Duration = Duration::from_secs(1);

/// One source's watch loop: ends when the configuration is closed or dropped.
async fn run_watcher(
    inner: Weak<Inner>,
    cancel: CancellationToken,
    index: usize,
    mut watcher: Box<dyn Watcher>,
) {
    loop {
        let next = tokio::select! {
            () = cancel.cancelled() => return,
            next = watcher.next() => next,
        };
        let failed = next.is_err();
        match inner.upgrade() {
            Some(inner) => Config { inner }.apply(index, next),
            None => return,
        }
        if failed {
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(RETRY_PAUSE) => {}
            }
        }
    }
}
