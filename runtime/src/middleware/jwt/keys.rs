//! Keys that can be replaced while the service runs.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use arc_swap::ArcSwap;
use jsonwebtoken::{DecodingKey, EncodingKey};

/// The keys the server middleware verifies tokens with: a default key and keys by id
/// (`kid`). A token naming a `kid` that is here is verified with that key, any other token
/// with the default key. Cheap to clone; clones share the keys, so one clone can be installed
/// and another rotate them (from a configuration watch, a JWKS refresh...): readers take a
/// snapshot per call, without locking.
#[derive(Clone)]
pub struct VerifyingKeys {
    table: Arc<ArcSwap<KeyTable>>,
}

#[derive(Default, Clone)]
struct KeyTable {
    default: Option<Arc<DecodingKey>>,
    by_id: HashMap<String, Arc<DecodingKey>>,
}

impl VerifyingKeys {
    /// Keys with `key` as the default.
    pub fn new(key: DecodingKey) -> Self {
        VerifyingKeys {
            table: Arc::new(ArcSwap::from_pointee(KeyTable {
                default: Some(Arc::new(key)),
                by_id: HashMap::new(),
            })),
        }
    }

    /// No key yet: every token fails ("Token is invalid") until keys are added.
    pub fn empty() -> Self {
        VerifyingKeys {
            table: Arc::new(ArcSwap::from_pointee(KeyTable::default())),
        }
    }

    fn update(&self, change: impl Fn(&mut KeyTable)) {
        self.table.rcu(|table| {
            let mut table = KeyTable::clone(table);
            change(&mut table);
            table
        });
    }

    /// Replaces the default key.
    pub fn set_default(&self, key: DecodingKey) {
        let key = Arc::new(key);
        self.update(|t| t.default = Some(key.clone()));
    }

    /// Adds (or replaces) the key of id `kid`.
    pub fn insert(&self, kid: impl Into<String>, key: DecodingKey) {
        let (kid, key) = (kid.into(), Arc::new(key));
        self.update(|t| {
            t.by_id.insert(kid.clone(), key.clone());
        });
    }

    /// Removes the key of id `kid` (tokens naming it fall back to the default key).
    pub fn remove(&self, kid: &str) {
        self.update(|t| {
            t.by_id.remove(kid);
        });
    }

    /// The key a token with `kid` is verified with.
    pub(super) fn key_for(&self, kid: Option<&str>) -> Option<Arc<DecodingKey>> {
        let table = self.table.load();
        kid.and_then(|kid| table.by_id.get(kid))
            .or(table.default.as_ref())
            .cloned()
    }
}

impl From<DecodingKey> for VerifyingKeys {
    fn from(key: DecodingKey) -> Self {
        VerifyingKeys::new(key)
    }
}

impl fmt::Debug for VerifyingKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let table = self.table.load();
        let mut ids: Vec<&str> = table.by_id.keys().map(String::as_str).collect();
        ids.sort_unstable();
        f.debug_struct("VerifyingKeys")
            .field("default", &table.default.is_some())
            .field("ids", &ids)
            .finish()
    }
}

/// The key the client middleware signs tokens with, and the `kid` it names in their header.
/// Cheap to clone; clones share the key, so one clone can [`rotate`](SigningKey::rotate) it
/// while calls are made.
#[derive(Clone)]
pub struct SigningKey {
    current: Arc<ArcSwap<Signing>>,
}

pub(super) struct Signing {
    pub(super) kid: Option<String>,
    pub(super) key: EncodingKey,
}

impl SigningKey {
    /// Signs with `key`, naming no `kid`.
    pub fn new(key: EncodingKey) -> Self {
        SigningKey {
            current: Arc::new(ArcSwap::from_pointee(Signing { kid: None, key })),
        }
    }

    /// Signs with `key`, naming `kid` in each token's header.
    pub fn with_kid(key: EncodingKey, kid: impl Into<String>) -> Self {
        SigningKey {
            current: Arc::new(ArcSwap::from_pointee(Signing {
                kid: Some(kid.into()),
                key,
            })),
        }
    }

    /// From now on, signs with `key` and names `kid`.
    pub fn rotate(&self, key: EncodingKey, kid: Option<String>) {
        self.current.store(Arc::new(Signing { kid, key }));
    }

    pub(super) fn current(&self) -> arc_swap::Guard<Arc<Signing>> {
        self.current.load()
    }
}

impl From<EncodingKey> for SigningKey {
    fn from(key: EncodingKey) -> Self {
        SigningKey::new(key)
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.current.load().kid)
            .finish_non_exhaustive()
    }
}
