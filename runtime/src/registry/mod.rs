//! Service registry: how instances of a service find each other (Kratos' `registry` package).
//!
//! - [`ServiceInstance`]: what is registered, serialised exactly as Kratos does
//!   (`{"id","name","version","metadata","endpoints"}`), so Go Kratos services and ours can share
//!   one registry.
//! - [`Registrar`] (register, deregister), [`Discovery`] (get, watch) and [`Watcher`] (next,
//!   stop): the interfaces [`App`](crate::App) and clients program against.
//! - `etcd` (feature `etcd`) and `consul` (feature `consul`): the two backends, and
//!   [`memory::MemoryRegistry`] for tests and single-process setups.
//!
//! # Lifecycle guarantees (both backends)
//!
//! Each registered instance owns its own state: a cancellation token, its heartbeat task and
//! the backend's lease or check id, kept in a map keyed by the registry key and guarded by a
//! per-key lock. The heartbeat task is the only code that talks to the backend on the
//! instance's behalf after [`Registrar::register`] returns, and every sleep, backoff and
//! network call in it is raced against the token. [`Registrar::deregister`] cancels the token,
//! **joins the task**, and only then removes the instance remotely; so once `deregister`
//! returns no heartbeat, TTL update or re-registration for that instance can be issued by this
//! process, and no task or timer for it remains. Re-registering a key stops and joins the
//! previous heartbeat first. Closing the registry does the same for every instance, and
//! deregistering twice is harmless. Heartbeat failures are retried with capped backoff for as
//! long as the instance is registered, logged with `tracing` and counted in
//! [`RegistryStats`].

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

#[cfg(any(feature = "etcd", feature = "consul"))]
mod keeper;

#[cfg(feature = "consul")]
pub mod consul;
#[cfg(feature = "etcd")]
pub mod etcd;
pub mod memory;

pub use crate::BoxFuture;

/// One instance of a service, as stored in the registry (Kratos' `registry.ServiceInstance`).
///
/// The JSON form is Kratos': `{"id":…,"name":…,"version":…,"metadata":{…},"endpoints":[…]}`;
/// `null` metadata or endpoints (what Go writes for nil) read as empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceInstance {
    /// Unique id of the instance (Kratos defaults to a UUID).
    #[serde(default, deserialize_with = "null_as_default")]
    pub id: String,
    /// The service name, such as `helloworld`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// The service version.
    #[serde(default, deserialize_with = "null_as_default")]
    pub version: String,
    /// Free-form metadata (Kratos' selector reads `weight` from it).
    #[serde(default, deserialize_with = "null_as_default")]
    pub metadata: BTreeMap<String, String>,
    /// Endpoint URLs such as `http://10.0.0.5:8000` and `grpc://10.0.0.5:9000`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub endpoints: Vec<String>,
}

fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

impl ServiceInstance {
    /// An instance with an id and a name, no version, metadata or endpoints.
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        ServiceInstance {
            id: id.into(),
            name: name.into(),
            ..ServiceInstance::default()
        }
    }

    /// Sets the version.
    pub fn with_version(mut self, version: impl Into<String>) -> Self {
        self.version = version.into();
        self
    }

    /// Adds a metadata entry.
    pub fn with_metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }

    /// Adds an endpoint URL.
    pub fn with_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoints.push(endpoint.into());
        self
    }

    /// The first endpoint whose scheme is `scheme` (`http`, `grpc`, `https`, …), as clients pick
    /// it: the URL without the scheme, such as `10.0.0.5:8000`.
    pub fn endpoint(&self, scheme: &str) -> Option<&str> {
        self.endpoints.iter().find_map(|e| {
            let (s, rest) = e.split_once("://")?;
            (s == scheme).then(|| rest.split(['?', '/']).next().unwrap_or(rest))
        })
    }

    /// The first endpoint a client of `scheme` (`http`, `grpc`) picks, as Kratos: with
    /// `secure` (a client with TLS) an endpoint of the secure scheme (`https`, `grpcs`, the
    /// scheme with an `s` appended) or of `scheme` marked `?isSecure=true` (Kratos' older
    /// form); without, an endpoint of `scheme` not so marked. The address without the scheme.
    pub fn endpoint_for(&self, scheme: &str, secure: bool) -> Option<&str> {
        self.endpoints.iter().find_map(|e| {
            let (s, rest) = e.split_once("://")?;
            let (address, query) = match rest.split_once('?') {
                Some((address, query)) => (address, query),
                None => (rest, ""),
            };
            let address = address.split('/').next().unwrap_or(address);
            let marked = query
                .split('&')
                .any(|pair| pair.eq_ignore_ascii_case("isSecure=true"));
            let secure_scheme =
                s.len() == scheme.len() + 1 && s.starts_with(scheme) && s.ends_with('s');
            let keep = if secure {
                secure_scheme || (s == scheme && marked)
            } else {
                s == scheme && !marked
            };
            keep.then_some(address)
        })
    }

    /// Kratos' `Equal`: same id, name, version and metadata, and the same set of endpoints
    /// (order ignored).
    pub fn same_as(&self, other: &ServiceInstance) -> bool {
        let mut a = self.endpoints.clone();
        let mut b = other.endpoints.clone();
        a.sort();
        b.sort();
        self.id == other.id
            && self.name == other.name
            && self.version == other.version
            && self.metadata == other.metadata
            && a == b
    }

    /// The JSON form Kratos stores (for etcd: the value of the instance's key).
    pub fn to_json(&self) -> Result<String, RegistryError> {
        serde_json::to_string(self).map_err(|e| RegistryError::Encode {
            instance: self.to_string(),
            source: e,
        })
    }

    /// Parses the JSON form Kratos stores.
    pub fn from_json(json: &[u8]) -> Result<Self, RegistryError> {
        serde_json::from_slice(json).map_err(|e| RegistryError::Decode {
            what: String::from_utf8_lossy(json).chars().take(200).collect(),
            reason: e.to_string(),
        })
    }
}

/// `<name>-<id>`, as Kratos prints an instance.
impl std::fmt::Display for ServiceInstance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.name, self.id)
    }
}

/// Why a registry operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// The registry was closed; it registers nothing any more.
    #[error("registry closed")]
    Closed,
    /// The watcher was stopped.
    #[error("watcher stopped")]
    WatcherStopped,
    /// The operation was cancelled (the instance was deregistered or re-registered meanwhile).
    #[error("{op} for {instance} cancelled")]
    Cancelled {
        /// What was cancelled.
        op: &'static str,
        /// The instance (`name-id`) or service name.
        instance: String,
    },
    /// The instance is not valid for this registry (empty id or name, bad endpoint, …).
    #[error("invalid instance {instance}: {reason}")]
    Invalid {
        /// The instance (`name-id`).
        instance: String,
        /// What is wrong.
        reason: String,
    },
    /// The registry configuration is not valid.
    #[error("invalid registry configuration: {0}")]
    Config(String),
    /// A call to the backend failed.
    #[error("{backend}: {op} {target}: {reason}")]
    Backend {
        /// `etcd` or `consul`.
        backend: &'static str,
        /// The operation, such as `put` or `register`.
        op: &'static str,
        /// The key, instance or service the call was about.
        target: String,
        /// The backend's error.
        reason: String,
    },
    /// A call to the backend did not answer in time.
    #[error("{backend}: {op} {target}: timed out after {timeout:?}")]
    Timeout {
        /// `etcd` or `consul`.
        backend: &'static str,
        /// The operation.
        op: &'static str,
        /// The key, instance or service the call was about.
        target: String,
        /// The time allowed.
        timeout: std::time::Duration,
    },
    /// An instance could not be serialised.
    #[error("cannot encode {instance}: {source}")]
    Encode {
        /// The instance (`name-id`).
        instance: String,
        /// The JSON error.
        source: serde_json::Error,
    },
    /// A value read from the registry is not a service instance.
    #[error("cannot decode service instance from {what:?}: {reason}")]
    Decode {
        /// The start of the value.
        what: String,
        /// The JSON error.
        reason: String,
    },
}

/// Registers and deregisters instances (Kratos' `registry.Registrar`).
pub trait Registrar: Send + Sync + 'static {
    /// Registers `instance` and keeps it registered (heartbeat) until it is deregistered.
    /// Registering an instance that is already registered replaces the registration.
    fn register<'a>(
        &'a self,
        instance: &'a ServiceInstance,
    ) -> BoxFuture<'a, Result<(), RegistryError>>;

    /// Deregisters `instance`. Once this returns, nothing this registrar does will make the
    /// instance reappear, even when the remote removal failed (the error is returned, and
    /// the backend's TTL removes the entry). Deregistering an unknown instance succeeds.
    fn deregister<'a>(
        &'a self,
        instance: &'a ServiceInstance,
    ) -> BoxFuture<'a, Result<(), RegistryError>>;
}

/// Looks services up (Kratos' `registry.Discovery`).
pub trait Discovery: Send + Sync + 'static {
    /// The instances of service `name` currently registered (healthy ones, for Consul).
    fn get_service<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Vec<ServiceInstance>, RegistryError>>;

    /// Watches service `name`.
    fn watch<'a>(&'a self, name: &'a str)
    -> BoxFuture<'a, Result<Box<dyn Watcher>, RegistryError>>;
}

/// Follows the instance list of one service (Kratos' `registry.Watcher`).
///
/// Dropping the watcher stops it too; to give up a blocked [`next`](Watcher::next) from
/// elsewhere, race it (`tokio::select!`) and drop the future.
pub trait Watcher: Send {
    /// The first call returns the current list at once; later calls wait for a change and
    /// return the new full list (possibly empty: unlike Kratos' Consul watcher, an empty list
    /// is reported). After [`stop`](Watcher::stop), returns [`RegistryError::WatcherStopped`].
    fn next(&mut self) -> BoxFuture<'_, Result<Vec<ServiceInstance>, RegistryError>>;

    /// Stops watching. Idempotent.
    fn stop(&mut self) -> BoxFuture<'_, Result<(), RegistryError>>;
}

/// Counters of a registry's heartbeats (a snapshot; see `stats()` on each backend).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RegistryStats {
    /// Successful registrations by [`Registrar::register`].
    pub registrations: u64,
    /// Successful deregistrations by [`Registrar::deregister`] (remote removal done).
    pub deregistrations: u64,
    /// Successful keep-alives / TTL updates.
    pub heartbeats: u64,
    /// Failed keep-alives / TTL updates / re-registration attempts (each one is logged).
    pub heartbeat_failures: u64,
    /// Re-registrations done by heartbeats after a failure (lost lease, lost check, outage).
    pub reregistrations: u64,
    /// Heartbeat tasks alive right now (0 once every instance is deregistered or the registry
    /// is closed).
    pub live_heartbeats: u64,
}

#[cfg(test)]
mod endpoint_tests {
    use super::ServiceInstance;

    /// The rule: a TLS client takes `<scheme>s://` or `<scheme>://…?isSecure=true`, a plain
    /// client `<scheme>://` without the mark; the first match wins; the address drops the
    /// query and any path.
    #[test]
    fn secure_and_plain_endpoints_are_told_apart() {
        let i = ServiceInstance::new("1", "svc")
            .with_endpoint("http://10.0.0.1:8000")
            .with_endpoint("grpc://10.0.0.1:9000?isSecure=true")
            .with_endpoint("https://10.0.0.1:8443/")
            .with_endpoint("grpcs://10.0.0.1:9443")
            .with_endpoint("grpc://10.0.0.1:9001?isSecure=false");
        assert_eq!(i.endpoint_for("http", false), Some("10.0.0.1:8000"));
        assert_eq!(i.endpoint_for("http", true), Some("10.0.0.1:8443"));
        assert_eq!(i.endpoint_for("grpc", true), Some("10.0.0.1:9000"));
        assert_eq!(i.endpoint_for("grpc", false), Some("10.0.0.1:9001"));
        let only_secure = ServiceInstance::new("2", "svc").with_endpoint("grpcs://h:1");
        assert_eq!(only_secure.endpoint_for("grpc", false), None);
        assert_eq!(only_secure.endpoint_for("http", true), None);
        // `grpcs` is not `https`'s secure form of `grpc` for an http client, nor `httpss`.
        let odd = ServiceInstance::new("3", "svc").with_endpoint("httpss://h:1");
        assert_eq!(odd.endpoint_for("http", true), None);
    }
}
