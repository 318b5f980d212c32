//! [`EtcdSource`]: a key or a prefix of etcd (feature `etcd`), watched.
//!
//! Each etcd key is a document (`/app/config.yaml`) or a plain value (`/app/server/http/addr`
//! → `server.http.addr` below the prefix `/app/`), by the rules of [`sources`](super). With a prefix, the keys are merged in key order.
//!
//! Watching: one etcd watch on the key or prefix; after any event the source reads the whole key
//! or prefix again (so deletions are seen). When the watch breaks (etcd restarted), the error is
//! reported, and the next call opens a new watch and reads again, so changes made while etcd
//! was away are picked up.

use std::time::Duration;

use crate::etcd::{Client, ConnectOptions, GetOptions, WatchOptions, WatchStream};

use crate::config::{BoxFuture, ConfigError, KeyValue, Source, Watcher};

/// A key, or every key under a prefix, of etcd.
#[derive(Clone)]
pub struct EtcdSource {
    client: Client,
    key: String,
    prefix: bool,
    timeout: Duration,
}

impl std::fmt::Debug for EtcdSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdSource")
            .field("key", &self.key)
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl EtcdSource {
    /// The key `key` read with `client` (a [`crate::etcd::Client`]).
    pub fn new(client: Client, key: impl Into<String>) -> Self {
        EtcdSource {
            client,
            key: key.into(),
            prefix: false,
            timeout: Duration::from_secs(5),
        }
    }

    /// Connects to `endpoints` (`http://host:port`; lazily, etcd need not be up yet).
    pub async fn connect(
        endpoints: &[String],
        key: impl Into<String>,
    ) -> Result<Self, ConfigError> {
        let options = ConnectOptions::new()
            .with_connect_timeout(Duration::from_secs(5))
            .with_keep_alive(Duration::from_secs(5), Duration::from_secs(5));
        let client =
            Client::connect(endpoints, options)
                .await
                .map_err(|e| ConfigError::Source {
                    source_name: format!("etcd {endpoints:?}"),
                    reason: e.to_string(),
                })?;
        Ok(EtcdSource::new(client, key))
    }

    /// Reads every key starting with the key instead of the key alone.
    pub fn prefix(mut self, prefix: bool) -> Self {
        self.prefix = prefix;
        self
    }

    /// The bound of each etcd call (5 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn error(&self, op: &str, reason: impl std::fmt::Display) -> ConfigError {
        ConfigError::Source {
            source_name: format!("etcd {}", self.key),
            reason: format!("{op}: {reason}"),
        }
    }

    async fn read(&self) -> Result<Vec<KeyValue>, ConfigError> {
        let options = if self.prefix {
            GetOptions::new().with_prefix()
        } else {
            GetOptions::new()
        };
        let get = self.client.get(self.key.clone(), options);
        let response = tokio::time::timeout(self.timeout, get)
            .await
            .map_err(|_| self.error("get", format!("no answer within {:?}", self.timeout)))?
            .map_err(|e| self.error("get", e))?;
        let mut kvs = Vec::with_capacity(response.kvs.len());
        // etcd answers in key order.
        for kv in response.kvs {
            let key = String::from_utf8_lossy(&kv.key).into_owned();
            kvs.push(super::store_kv(&self.key, key, kv.value));
        }
        Ok(kvs)
    }

    async fn open_watch(&self) -> Result<WatchStream, ConfigError> {
        let options = if self.prefix {
            WatchOptions::new().with_prefix()
        } else {
            WatchOptions::new()
        };
        let watch = self.client.watch(self.key.clone(), options);
        tokio::time::timeout(self.timeout, watch)
            .await
            .map_err(|_| self.error("watch", format!("no answer within {:?}", self.timeout)))?
            .map_err(|e| self.error("watch", e))
    }
}

impl Source for EtcdSource {
    fn name(&self) -> String {
        format!("etcd {}{}", self.key, if self.prefix { "*" } else { "" })
    }

    fn load(&self) -> BoxFuture<'_, Result<Vec<KeyValue>, ConfigError>> {
        Box::pin(self.read())
    }

    fn watch(&self) -> BoxFuture<'_, Result<Option<Box<dyn Watcher>>, ConfigError>> {
        Box::pin(async move {
            let stream = self.open_watch().await?;
            let watcher: Box<dyn Watcher> = Box::new(EtcdWatcher {
                source: self.clone(),
                stream: Some(stream),
            });
            Ok(Some(watcher))
        })
    }
}

struct EtcdWatcher {
    source: EtcdSource,
    /// `None` after the watch broke: the next call opens a new one and reads again.
    stream: Option<WatchStream>,
}

impl Watcher for EtcdWatcher {
    fn next(&mut self) -> BoxFuture<'_, Result<Vec<KeyValue>, ConfigError>> {
        Box::pin(async move {
            loop {
                let Some(stream) = self.stream.as_mut() else {
                    self.stream = Some(self.source.open_watch().await?);
                    return self.source.read().await;
                };
                match stream.message().await {
                    Ok(Some(response)) if response.canceled => {
                        self.stream = None;
                    }
                    Ok(Some(response)) if !response.events.is_empty() => {
                        return self.source.read().await;
                    }
                    Ok(Some(_)) => {}
                    Ok(None) => {
                        self.stream = None;
                        return Err(self.source.error("watch", "stream closed"));
                    }
                    Err(e) => {
                        self.stream = None;
                        return Err(self.source.error("watch", e));
                    }
                }
            }
        })
    }
}
