//! The source model (Kratos' `KeyValue`, `Source`, `Watcher`).

use super::ConfigError;

pub use crate::BoxFuture;

/// One piece of configuration as a source holds it: a file, an etcd key, an environment
/// variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    /// Its key: a file's name, an etcd or Consul key, a dotted configuration key.
    pub key: String,
    /// Its raw content.
    pub value: Vec<u8>,
    /// How [`value`](Self::value) is decoded: `json`, `yaml`, `yml` or `toml` for a document
    /// whose top level is a map; `""` for a single value placed at the dotted path
    /// [`key`](Self::key) as a string.
    pub format: String,
}

/// Where configuration comes from. Sources are merged in the order they were added, later
/// sources winning.
pub trait Source: Send + Sync + 'static {
    /// A short description for logs and errors (`file configs/`, `etcd /app/config`).
    fn name(&self) -> String;
    /// Reads the source's complete current content.
    fn load(&self) -> BoxFuture<'_, Result<Vec<KeyValue>, ConfigError>>;
    /// Starts watching; `None` when the source never changes (the environment).
    fn watch(&self) -> BoxFuture<'_, Result<Option<Box<dyn Watcher>>, ConfigError>>;
}

/// The changes of one source. Dropping the watcher stops it and releases what it holds
/// (file watches, streams, connections).
pub trait Watcher: Send + 'static {
    /// Waits for the next change and returns the source's complete content after it (not just
    /// the changed pieces, so that a removed key disappears). An error is logged by the
    /// configuration, which calls `next` again after a pause; the watcher recovers by itself
    /// (it reconnects, re-watches) on that call.
    fn next(&mut self) -> BoxFuture<'_, Result<Vec<KeyValue>, ConfigError>>;
}
