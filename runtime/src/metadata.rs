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

use std::future::Future;

tokio::task_local! {
    static CLIENT_METADATA: Metadata;
}

/// A multimap of metadata: keys are lower-cased when stored and compared case-insensitively
/// when looked up, each key has one or more values in the order they were added.
///
/// A call carries a handful of keys, so they are kept in a list in the order first added
/// and looked up by comparison: cheaper than hashing for a few keys, and no allocation for a
/// lookup. Equality does not depend on that order.
#[derive(Debug, Clone, Default, Eq)]
pub struct Metadata {
    entries: Vec<(String, Vec<String>)>,
}

impl PartialEq for Metadata {
    fn eq(&self, other: &Self) -> bool {
        self.entries.len() == other.entries.len()
            && self
                .entries
                .iter()
                .all(|(key, values)| other.values(key) == values.as_slice())
    }
}

impl Metadata {
    /// Empty metadata (no allocation until a key is added).
    pub fn new() -> Self {
        Metadata::default()
    }

    fn position(&self, key: &str) -> Option<usize> {
        self.entries
            .iter()
            .position(|(k, _)| k.eq_ignore_ascii_case(key))
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values(key).first().map(String::as_str)
    }

    /// Every value of `key`, in the order added (empty when it has none).
    pub fn values(&self, key: &str) -> &[String] {
        match self.position(key) {
            Some(i) => &self.entries[i].1,
            None => &[],
        }
    }

    /// Replaces the values of `key` with `value`.
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>) {
        let key = key.into();
        match self.position(&key) {
            Some(i) => self.entries[i].1 = vec![value.into()],
            None => self.entries.push((lower(key), vec![value.into()])),
        }
    }

    /// Adds `value` to the values of `key`.
    pub fn add(&mut self, key: impl Into<String>, value: impl Into<String>) {
        let key = key.into();
        match self.position(&key) {
            Some(i) => self.entries[i].1.push(value.into()),
            None => self.entries.push((lower(key), vec![value.into()])),
        }
    }

    /// Removes `key` and its values.
    pub fn remove(&mut self, key: &str) {
        if let Some(i) = self.position(key) {
            self.entries.remove(i);
        }
    }

    /// Every key with its values, in the order the keys were first added.
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

    #[test]
    fn keys_keep_the_order_first_added_and_equality_ignores_it() {
        let mut a = Metadata::new();
        for (k, v) in [("B", "1"), ("a", "2"), ("c", "3"), ("b", "4")] {
            a.add(k, v);
        }
        assert_eq!(
            a.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            ["b", "a", "c"]
        );
        assert_eq!(a.values("b"), ["1", "4"]);
        let mut b = Metadata::new();
        for (k, v) in [("c", "3"), ("A", "2"), ("b", "1"), ("B", "4")] {
            b.add(k, v);
        }
        assert_eq!(a, b);
        b.add("b", "5");
        assert_ne!(a, b);
        let mut c = a.clone();
        c.remove("a");
        c.add("d", "2");
        assert_ne!(a, c);
        a.set("A", "x");
        assert_eq!(a.values("a"), ["x"]);
        assert_eq!(a.len(), 3);
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
