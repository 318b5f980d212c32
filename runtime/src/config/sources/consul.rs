//! [`ConsulSource`]: a key or a prefix of Consul's KV store (feature `consul`), watched with
//! blocking queries.
//!
//! Each Consul key is a document (`app/config.yaml`) or a plain value (`app/server/http/addr`
//! → `server.http.addr` below the prefix `app/`), by the rules of [`sources`](super).
//!
//! Watching: `GET /v1/kv/<key>[?recurse]&index=<last X-Consul-Index>&wait=<wait>` blocks until
//! something under the key changed or the wait passed; an answer with the same index is a
//! timeout and is asked again, a new index gives the whole new content, an index that went
//! backwards (the agent's state was reset) starts over from it (Consul's documented rules for
//! blocking queries). A missing key is an empty source (404), not an error.

use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde::Deserialize;

/// The largest answer read from the agent (the values of every key under the prefix, base64
/// in JSON): Consul holds at most 512 KB a value, so this is room for many keys, not a
/// bound a working configuration meets.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024 * 1024;

use crate::config::{BoxFuture, ConfigError, KeyValue, Source, Watcher};

/// Characters escaped in a key's URL path (`/` separates the key's segments and is kept).
const KEY: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'?')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'&')
    .add(b'+');

/// A key, or every key under a prefix, of Consul KV.
#[derive(Clone)]
pub struct ConsulSource {
    client: Client<HttpConnector, Full<Bytes>>,
    base: String,
    key: String,
    prefix: bool,
    token: Option<String>,
    wait: Duration,
}

impl std::fmt::Debug for ConsulSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsulSource")
            .field("address", &self.base)
            .field("key", &self.key)
            .field("prefix", &self.prefix)
            .finish()
    }
}

/// One entry of a KV answer.
#[derive(Deserialize)]
struct Entry {
    #[serde(rename = "Key")]
    key: String,
    /// Base64; null for a key without a value.
    #[serde(rename = "Value")]
    value: Option<String>,
}

impl ConsulSource {
    /// The key `key` (no leading `/`) of the agent at `address` (`http://host:port` or
    /// `host:port`).
    pub fn new(address: impl Into<String>, key: impl Into<String>) -> Self {
        let address = address.into();
        let base = if address.contains("://") {
            address
        } else {
            format!("http://{address}")
        };
        ConsulSource {
            client: Client::builder(TokioExecutor::new()).build_http(),
            base: base.trim_end_matches('/').to_string(),
            key: key.into().trim_start_matches('/').to_string(),
            prefix: false,
            token: None,
            wait: Duration::from_secs(55),
        }
    }

    /// Reads every key starting with the key instead of the key alone.
    pub fn prefix(mut self, prefix: bool) -> Self {
        self.prefix = prefix;
        self
    }

    /// The ACL token sent as `X-Consul-Token`.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// How long one blocking query waits for a change (55 s; Consul caps it at 10 min).
    pub fn wait(mut self, wait: Duration) -> Self {
        self.wait = wait;
        self
    }

    fn error(&self, reason: impl std::fmt::Display) -> ConfigError {
        ConfigError::Source {
            source_name: self.name(),
            reason: reason.to_string(),
        }
    }

    /// One query: the content and the index; `index` makes it a blocking query.
    async fn query(&self, index: Option<u64>) -> Result<(Vec<KeyValue>, u64), ConfigError> {
        let mut uri = format!(
            "{}/v1/kv/{}",
            self.base,
            utf8_percent_encode(&self.key, KEY)
        );
        let mut params = Vec::new();
        if self.prefix {
            params.push("recurse".to_string());
        }
        if let Some(index) = index {
            params.push(format!("index={index}"));
            params.push(format!("wait={}ms", self.wait.as_millis()));
        }
        if !params.is_empty() {
            uri.push('?');
            uri.push_str(&params.join("&"));
        }
        let mut request = Request::get(uri);
        if let Some(token) = &self.token {
            request = request.header("X-Consul-Token", token);
        }
        let request = request
            .body(Full::new(Bytes::new()))
            .map_err(|e| self.error(e))?;
        // The agent answers a blocking query within `wait` plus up to 1/16 of jitter.
        let limit = self.wait + self.wait / 8 + Duration::from_secs(5);
        let response = tokio::time::timeout(limit, self.client.request(request))
            .await
            .map_err(|_| self.error(format!("no answer within {limit:?}")))?
            .map_err(|e| self.error(e))?;
        let status = response.status();
        let index = response
            .headers()
            .get("X-Consul-Index")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        // A recursive read of a large prefix is bounded too: the answer is read whole.
        let body = http_body_util::Limited::new(response.into_body(), MAX_ANSWER_BYTES);
        let body = tokio::time::timeout(limit, body.collect())
            .await
            .map_err(|_| self.error(format!("no body within {limit:?}")))?
            .map_err(|e| {
                if e.is::<http_body_util::LengthLimitError>() {
                    self.error(format!(
                        "the answer is larger than the {MAX_ANSWER_BYTES} bytes read from Consul"
                    ))
                } else {
                    self.error(e)
                }
            })?
            .to_bytes();
        if status == StatusCode::NOT_FOUND {
            return Ok((Vec::new(), index));
        }
        if status != StatusCode::OK {
            return Err(self.error(format!(
                "{status}: {}",
                String::from_utf8_lossy(&body).trim()
            )));
        }
        let entries: Vec<Entry> =
            serde_json::from_slice(&body).map_err(|e| self.error(format!("bad answer: {e}")))?;
        let mut kvs = Vec::with_capacity(entries.len());
        for entry in entries {
            // A folder (`app/`) has no value.
            let Some(value) = entry.value else { continue };
            let value = base64::engine::general_purpose::STANDARD
                .decode(value)
                .map_err(|e| self.error(format!("value of {}: {e}", entry.key)))?;
            kvs.push(super::store_kv(&self.key, entry.key, value));
        }
        Ok((kvs, index))
    }
}

impl Source for ConsulSource {
    fn name(&self) -> String {
        format!("consul {}{}", self.key, if self.prefix { "*" } else { "" })
    }

    fn load(&self) -> BoxFuture<'_, Result<Vec<KeyValue>, ConfigError>> {
        Box::pin(async move { self.query(None).await.map(|(kvs, _)| kvs) })
    }

    fn watch(&self) -> BoxFuture<'_, Result<Option<Box<dyn Watcher>>, ConfigError>> {
        Box::pin(async move {
            // The index now: a change between this and the load returns at once.
            let (_, index) = self.query(None).await?;
            let watcher: Box<dyn Watcher> = Box::new(ConsulWatcher {
                source: self.clone(),
                index,
            });
            Ok(Some(watcher))
        })
    }
}

struct ConsulWatcher {
    source: ConsulSource,
    index: u64,
}

impl Watcher for ConsulWatcher {
    fn next(&mut self) -> BoxFuture<'_, Result<Vec<KeyValue>, ConfigError>> {
        Box::pin(async move {
            loop {
                let (kvs, index) = self.source.query(Some(self.index.max(1))).await?;
                if index == self.index {
                    // The wait passed without a change.
                    continue;
                }
                // A new index, or one that went backwards (reset): either way the content.
                self.index = index;
                return Ok(kvs);
            }
        })
    }
}
