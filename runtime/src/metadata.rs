//! Call metadata, as Kratos' `metadata` package: a multimap of lower-cased keys to values,
//! reachable from the [`Context`](crate::Context) of a call on both ends.
//!
//! - On a server call, [`Context::metadata`](crate::Context::metadata) is what came in: the
//!   [metadata server middleware](crate::middleware::metadata::server) copies the request
//!   headers whose name starts with one of its prefixes (default `x-md-`) into it.
//! - On a client call, it is what goes out: the metadata set with [`with_client_metadata`]
//!   around the call, which client middleware may change; the
//!   [metadata client middleware](crate::middleware::metadata::client) sends it as headers,
//!   together with every key of the current server call's metadata that starts with
//!   `x-md-global-`. So global keys cross any number of hops; other keys stop after one.

use std::collections::HashMap;
use std::future::Future;

tokio::task_local! {
    static CLIENT_METADATA: Metadata;
}

/// A multimap of metadata: keys are lower-cased when stored and looked up, each key has one or
/// more values in the order they were added.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    entries: HashMap<String, Vec<String>>,
}

impl Metadata {
    /// Empty metadata (no allocation until a key is added).
    pub fn new() -> Self {
        Metadata::default()
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values(key).first().map(String::as_str)
    }

    /// Every value of `key`, in the order added (empty when it has none).
    pub fn values(&self, key: &str) -> &[String] {
        let found = if key.bytes().any(|b| b.is_ascii_uppercase()) {
            self.entries.get(&key.to_ascii_lowercase())
        } else {
            self.entries.get(key)
        };
        found.map(Vec::as_slice).unwrap_or_default()
    }

    /// Replaces the values of `key` with `value`.
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.entries.insert(lower(key.into()), vec![value.into()]);
    }

    /// Adds `value` to the values of `key`.
    pub fn add(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.entries
            .entry(lower(key.into()))
            .or_default()
            .push(value.into());
    }

    /// Removes `key` and its values.
    pub fn remove(&mut self, key: &str) {
        self.entries.remove(&key.to_ascii_lowercase());
    }

    /// Every key with its values (in no particular order).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    /// The number of keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there is no key.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

fn lower(mut key: String) -> String {
    key.make_ascii_lowercase();
    key
}

/// Runs `future` with `metadata` as the client metadata of every client call made in it
/// (Kratos' `metadata.NewClientContext`): each call's [`Context`](crate::Context) starts with
/// a copy of it.
pub async fn with_client_metadata<F: Future>(metadata: Metadata, future: F) -> F::Output {
    CLIENT_METADATA.scope(metadata, future).await
}

/// The client metadata of the current task (empty when [`with_client_metadata`] is not in
/// effect; copied only when it is).
pub(crate) fn current_client_metadata() -> Metadata {
    CLIENT_METADATA
        .try_with(Metadata::clone)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_case_insensitive_and_values_keep_their_order() {
        let mut md = Metadata::new();
        md.add("X-MD-Global-Tenant", "a");
        md.add("x-md-global-tenant", "b");
        assert_eq!(md.values("x-md-GLOBAL-tenant"), ["a", "b"]);
        assert_eq!(md.get("X-Md-Global-Tenant"), Some("a"));
        md.set("x-md-global-TENANT", "c");
        assert_eq!(md.values("x-md-global-tenant"), ["c"]);
        assert_eq!(
            md.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            ["x-md-global-tenant"]
        );
        md.remove("X-MD-GLOBAL-TENANT");
        assert!(md.is_empty());
        assert_eq!(md.get("absent"), None);
    }

    #[tokio::test]
    async fn client_metadata_is_scoped_to_the_future() {
        assert!(current_client_metadata().is_empty());
        let mut md = Metadata::new();
        md.set("x-md-local-k", "v");
        let seen = with_client_metadata(md, async { current_client_metadata() }).await;
        assert_eq!(seen.get("x-md-local-k"), Some("v"));
        assert!(current_client_metadata().is_empty());
    }
}
