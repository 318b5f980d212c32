//! The etcd registry (Kratos' `contrib/registry/etcd`), on the etcd v3 API.
//!
//! Layout, as Kratos writes it: key `<namespace>/<name>/<id>` (namespace `/microservices` by
//! default), value the instance's JSON, attached to a lease of `ttl` (15 s by default) kept
//! alive by the instance's heartbeat. Discovery reads the prefix `<namespace>/<name>/` and
//! watches it.
//!
//! Each instance has its own leases (never shared with another instance). The heartbeat keeps
//! the current lease alive; when the lease is lost (revoked, expired, etcd restarted without
//! its data) or etcd cannot be reached, it re-registers with a new lease, with capped backoff,
//! for as long as the instance is registered; every failure is logged and counted in
//! [`RegistryStats`].
//!
//! Why no instance reappears after [`Registrar::deregister`]: deregister cancels the heartbeat
//! and joins its task (see the [module docs](super)), so no put can be *issued* afterwards.
//! A put issued before, still travelling when the task was cancelled, carries a lease that
//! was recorded before the put was sent; deregister then revokes every lease recorded for the
//! instance before deleting the key. etcd applies the late put either before the revocation
//! (the revocation deletes the key with its lease) or after it (the put fails: the lease does
//! not exist). Lease ids are never reused, so no path recreates the key.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::etcd::{
    Client, ConnectOptions, DeleteOptions, EtcdError, GetOptions, PutOptions, WatchOptions,
    WatchStream,
};

use super::keeper::{Backend, Counters, Ctx, Keeper, Policy};
use super::{
    BoxFuture, Discovery, Registrar, RegistryError, RegistryStats, ServiceInstance, Watcher,
};

const BACKEND: &str = "etcd";

fn backend_error(op: &'static str, target: &str, e: EtcdError) -> RegistryError {
    RegistryError::Backend {
        backend: BACKEND,
        op,
        target: target.to_string(),
        reason: e.to_string(),
    }
}

/// Configures and connects an [`EtcdRegistry`].
#[derive(Debug, Clone)]
pub struct EtcdRegistryBuilder {
    endpoints: Vec<String>,
    namespace: String,
    ttl: Duration,
    op_timeout: Duration,
    backoff_min: Duration,
    backoff_max: Duration,
    connect_timeout: Duration,
}

impl EtcdRegistryBuilder {
    /// The key prefix (default `/microservices`, as Kratos).
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// The lease time to live (default 15 s; etcd rounds it up to whole seconds and to its
    /// minimum TTL). Keep-alives are sent every third of it.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Time allowed for one etcd call (default 3 s).
    pub fn op_timeout(mut self, timeout: Duration) -> Self {
        self.op_timeout = timeout;
        self
    }

    /// Retry delays of the heartbeat after a failure: doubling from `min` up to `max`
    /// (defaults 200 ms and 5 s), with jitter.
    pub fn backoff(mut self, min: Duration, max: Duration) -> Self {
        self.backoff_min = min;
        self.backoff_max = max.max(min);
        self
    }

    /// Connects (lazily: etcd need not be up yet) and returns the registry.
    pub async fn connect(self) -> Result<EtcdRegistry, RegistryError> {
        let options = ConnectOptions::new()
            .with_connect_timeout(self.connect_timeout)
            .with_keep_alive(Duration::from_secs(5), self.op_timeout);
        let client = Client::connect(&self.endpoints, options)
            .await
            .map_err(|e| RegistryError::Config(format!("etcd {:?}: {e}", self.endpoints)))?;
        self.with_client(client)
    }

    /// Builds the registry on an existing [`Client`] (the endpoints given to the builder are
    /// ignored).
    pub fn with_client(self, client: Client) -> Result<EtcdRegistry, RegistryError> {
        let ttl = self.ttl.as_secs().max(1);
        let ttl = i64::try_from(ttl)
            .map_err(|_| RegistryError::Config(format!("ttl {:?} too large", self.ttl)))?;
        let namespace = self.namespace.trim_end_matches('/').to_string();
        let policy = Policy {
            op_timeout: self.op_timeout,
            backoff_min: self.backoff_min,
            backoff_max: self.backoff_max,
        };
        let backend = EtcdBackend {
            client: client.clone(),
            namespace: namespace.clone(),
            ttl,
        };
        Ok(EtcdRegistry {
            inner: Arc::new(Inner {
                keeper: Keeper::new(backend, policy, BACKEND),
                client,
                namespace,
                op_timeout: self.op_timeout,
            }),
        })
    }
}

/// A [`Registrar`] and [`Discovery`] on etcd. Cheap to clone (clones share registrations);
/// dropping the last clone cancels every heartbeat, [`close`](EtcdRegistry::close) also
/// waits for them and removes the instances.
#[derive(Clone)]
pub struct EtcdRegistry {
    inner: Arc<Inner>,
}

struct Inner {
    keeper: Keeper<EtcdBackend>,
    client: Client,
    namespace: String,
    op_timeout: Duration,
}

impl std::fmt::Debug for EtcdRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdRegistry")
            .field("namespace", &self.inner.namespace)
            .field("stats", &self.inner.keeper.stats())
            .finish()
    }
}

impl EtcdRegistry {
    /// A builder for the etcd cluster at `endpoints` (such as `http://127.0.0.1:2379`).
    pub fn builder<S: AsRef<str>>(endpoints: impl IntoIterator<Item = S>) -> EtcdRegistryBuilder {
        EtcdRegistryBuilder {
            endpoints: endpoints
                .into_iter()
                .map(|e| e.as_ref().to_string())
                .collect(),
            namespace: "/microservices".to_string(),
            ttl: Duration::from_secs(15),
            op_timeout: Duration::from_secs(3),
            backoff_min: Duration::from_millis(200),
            backoff_max: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(3),
        }
    }

    /// Connects with the defaults (namespace `/microservices`, TTL 15 s).
    pub async fn connect<S: AsRef<str>>(
        endpoints: impl IntoIterator<Item = S>,
    ) -> Result<Self, RegistryError> {
        Self::builder(endpoints).connect().await
    }

    /// The key of an instance: `<namespace>/<name>/<id>`.
    pub fn key(&self, instance: &ServiceInstance) -> String {
        self.inner.keeper.backend().key(instance)
    }

    /// The etcd client the registry uses.
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// Counters of registrations and heartbeats.
    pub fn stats(&self) -> RegistryStats {
        self.inner.keeper.stats()
    }

    /// Stops every heartbeat (waiting for the tasks to end) and removes every registered
    /// instance; later registrations fail with [`RegistryError::Closed`].
    pub async fn close(&self) -> Result<(), RegistryError> {
        self.inner.keeper.close().await
    }

    async fn list(&self, name: &str) -> Result<(Vec<ServiceInstance>, i64), RegistryError> {
        let prefix = format!("{}/{}/", self.inner.namespace, name);
        let client = &self.inner.client;
        let resp = tokio::time::timeout(
            self.inner.op_timeout,
            client.get(prefix.clone(), GetOptions::new().with_prefix()),
        )
        .await
        .map_err(|_| RegistryError::Timeout {
            backend: BACKEND,
            op: "get",
            target: prefix.clone(),
            timeout: self.inner.op_timeout,
        })?
        .map_err(|e| backend_error("get", &prefix, e))?;
        let revision = resp.header.as_ref().map_or(0, |h| h.revision);
        let mut instances = Vec::new();
        for kv in &resp.kvs {
            match ServiceInstance::from_json(&kv.value) {
                Ok(instance) if instance.name == name => instances.push(instance),
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(key = %String::from_utf8_lossy(&kv.key), error = %e, "etcd: skipping value")
                }
            }
        }
        Ok((instances, revision))
    }
}

impl Registrar for EtcdRegistry {
    fn register<'a>(
        &'a self,
        instance: &'a ServiceInstance,
    ) -> BoxFuture<'a, Result<(), RegistryError>> {
        Box::pin(async move {
            validate(instance)?;
            self.inner.keeper.register(instance).await
        })
    }

    fn deregister<'a>(
        &'a self,
        instance: &'a ServiceInstance,
    ) -> BoxFuture<'a, Result<(), RegistryError>> {
        Box::pin(async move { self.inner.keeper.deregister(instance).await })
    }
}

impl Discovery for EtcdRegistry {
    fn get_service<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Vec<ServiceInstance>, RegistryError>> {
        Box::pin(async move { Ok(self.list(name).await?.0) })
    }

    fn watch<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Box<dyn Watcher>, RegistryError>> {
        Box::pin(async move {
            Ok(Box::new(EtcdWatcher {
                registry: self.clone(),
                name: name.to_string(),
                first: true,
                stopped: false,
                revision: 0,
                stream: None,
                failures: 0,
            }) as Box<dyn Watcher>)
        })
    }
}

fn validate(instance: &ServiceInstance) -> Result<(), RegistryError> {
    let bad = |reason: &str| RegistryError::Invalid {
        instance: instance.to_string(),
        reason: reason.to_string(),
    };
    if instance.id.is_empty() {
        return Err(bad("empty id"));
    }
    if instance.name.is_empty() {
        return Err(bad("empty name"));
    }
    if instance.name.contains('/') || instance.id.contains('/') {
        return Err(bad("'/' in name or id"));
    }
    Ok(())
}

/// The leases granted for one instance.
#[derive(Default)]
struct Leases {
    /// The lease the key is attached to now.
    current: Option<i64>,
    /// Every lease granted and not known to be revoked.
    outstanding: BTreeSet<i64>,
}

#[derive(Default)]
struct EtcdState {
    leases: Mutex<Leases>,
}

impl EtcdState {
    fn leases(&self) -> std::sync::MutexGuard<'_, Leases> {
        self.leases.lock().unwrap_or_else(|p| p.into_inner())
    }
}

struct EtcdBackend {
    client: Client,
    namespace: String,
    ttl: i64,
}

impl EtcdBackend {
    async fn revoke(&self, id: i64, key: &str, policy: Policy) -> Result<(), RegistryError> {
        let client = &self.client;
        match tokio::time::timeout(policy.op_timeout, client.lease_revoke(id)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) if e.is_lease_not_found() => Ok(()),
            Ok(Err(e)) => Err(backend_error("lease revoke", key, e)),
            Err(_) => Err(RegistryError::Timeout {
                backend: BACKEND,
                op: "lease revoke",
                target: key.to_string(),
                timeout: policy.op_timeout,
            }),
        }
    }
}

impl Backend for EtcdBackend {
    type State = EtcdState;

    fn key(&self, instance: &ServiceInstance) -> String {
        format!("{}/{}/{}", self.namespace, instance.name, instance.id)
    }

    async fn register_once(
        &self,
        instance: &ServiceInstance,
        state: &EtcdState,
        ctx: &Ctx,
    ) -> Result<(), RegistryError> {
        let key = self.key(instance);
        let value = instance.to_json()?;
        let client = &self.client;
        let grant = ctx
            .call("lease grant", &key, client.lease_grant(self.ttl))
            .await?
            .map_err(|e| backend_error("lease grant", &key, e))?;
        let lease = grant.id;
        // Recorded before the put is sent, so deregister revokes it whatever happens next.
        state.leases().outstanding.insert(lease);
        ctx.call(
            "put",
            &key,
            client.put(key.clone(), value, PutOptions::new().with_lease(lease)),
        )
        .await?
        .map_err(|e| backend_error("put", &key, e))?;
        let previous = state.leases().current.replace(lease);
        // The key now hangs on the new lease; the old one (if any) only costs etcd memory.
        if let Some(old) = previous.filter(|old| *old != lease) {
            match ctx
                .call("lease revoke", &key, client.lease_revoke(old))
                .await
            {
                Ok(Ok(_)) => {
                    state.leases().outstanding.remove(&old);
                }
                Ok(Err(e)) if e.is_lease_not_found() => {
                    state.leases().outstanding.remove(&old);
                }
                Ok(Err(e)) => tracing::debug!(%key, error = %e, "etcd: revoking the old lease"),
                Err(_) => {}
            }
        }
        Ok(())
    }

    async fn keep_alive(
        &self,
        instance: &ServiceInstance,
        state: &EtcdState,
        ctx: &Ctx,
    ) -> RegistryError {
        let key = self.key(instance);
        let Some(lease) = state.leases().current else {
            return RegistryError::Backend {
                backend: BACKEND,
                op: "keepalive",
                target: key,
                reason: "no lease".to_string(),
            };
        };
        let client = &self.client;
        let mut keeper = match ctx
            .call("keepalive", &key, client.lease_keep_alive(lease))
            .await
        {
            Ok(Ok(keeper)) => keeper,
            Ok(Err(e)) => return backend_error("keepalive", &key, e),
            Err(e) => return e,
        };
        let interval = Duration::from_millis((self.ttl as u64 * 1000 / 3).max(300));
        // `lease_keep_alive` already made (and checked) one keep-alive round trip; each
        // iteration first checks the key, sleeps, then makes the next round trip.
        loop {
            // The key itself must still hang on our lease: someone may have deleted or
            // overwritten it while the lease lives on.
            let check = client.get(key.clone(), GetOptions::new().with_keys_only());
            match ctx.call("get", &key, check).await {
                Ok(Ok(resp)) if resp.kvs.first().map(|kv| kv.lease) == Some(lease) => {
                    Counters::inc(&ctx.counters.heartbeats);
                }
                Ok(Ok(_)) => {
                    return RegistryError::Backend {
                        backend: BACKEND,
                        op: "keepalive",
                        target: key,
                        reason: "key deleted or overwritten".to_string(),
                    };
                }
                Ok(Err(e)) => return backend_error("get", &key, e),
                Err(e) => return e,
            }
            if !ctx.sleep(interval).await {
                return RegistryError::Cancelled {
                    op: "keepalive",
                    instance: key,
                };
            }
            // One round trip; a lease gone (ttl 0) or a closed stream is an error.
            match ctx.call("keepalive", &key, keeper.keep_alive()).await {
                Ok(Ok(_ttl)) => {}
                Ok(Err(e)) => return backend_error("keepalive", &key, e),
                Err(e) => return e,
            }
        }
    }

    async fn remove(
        &self,
        instance: &ServiceInstance,
        state: &EtcdState,
        policy: Policy,
    ) -> Result<(), RegistryError> {
        let key = self.key(instance);
        let leases: Vec<i64> = state.leases().outstanding.iter().copied().collect();
        let mut first = None;
        for lease in leases {
            match self.revoke(lease, &key, policy).await {
                Ok(()) => {
                    let mut l = state.leases();
                    l.outstanding.remove(&lease);
                    if l.current == Some(lease) {
                        l.current = None;
                    }
                }
                Err(e) => {
                    first.get_or_insert(e);
                }
            }
        }
        let client = &self.client;
        let delete = client.delete(key.clone(), DeleteOptions::new());
        match tokio::time::timeout(policy.op_timeout, delete).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                first.get_or_insert(backend_error("delete", &key, e));
            }
            Err(_) => {
                first.get_or_insert(RegistryError::Timeout {
                    backend: BACKEND,
                    op: "delete",
                    target: key.clone(),
                    timeout: policy.op_timeout,
                });
            }
        }
        first.map_or(Ok(()), Err)
    }
}

/// Watches `<namespace>/<name>/` and reports the full list on each change.
struct EtcdWatcher {
    registry: EtcdRegistry,
    name: String,
    first: bool,
    stopped: bool,
    /// The revision of the last list returned.
    revision: i64,
    stream: Option<WatchStream>,
    failures: u32,
}

impl EtcdWatcher {
    async fn refresh(&mut self) -> Result<Vec<ServiceInstance>, RegistryError> {
        let (list, revision) = self.registry.list(&self.name).await?;
        self.revision = revision;
        Ok(list)
    }

    async fn next_change(&mut self) -> Result<Vec<ServiceInstance>, RegistryError> {
        loop {
            if self.stream.is_none() {
                let prefix = format!("{}/{}/", self.registry.inner.namespace, self.name);
                let options = WatchOptions::new()
                    .with_prefix()
                    .with_start_revision(self.revision + 1);
                let client = &self.registry.inner.client;
                match tokio::time::timeout(
                    self.registry.inner.op_timeout,
                    client.watch(prefix.clone(), options),
                )
                .await
                {
                    Ok(Ok(stream)) => self.stream = Some(stream),
                    Ok(Err(e)) => {
                        self.backoff(&backend_error("watch", &prefix, e)).await;
                        continue;
                    }
                    Err(_) => {
                        self.backoff(&RegistryError::Timeout {
                            backend: BACKEND,
                            op: "watch",
                            target: prefix,
                            timeout: self.registry.inner.op_timeout,
                        })
                        .await;
                        continue;
                    }
                }
            }
            let Some(stream) = self.stream.as_mut() else {
                continue;
            };
            match stream.message().await {
                Ok(Some(resp)) if resp.canceled => {
                    // Compacted past our revision (or cancelled by etcd): start afresh.
                    self.stream = None;
                    return self.refresh().await;
                }
                Ok(Some(resp))
                    if resp.events.iter().any(|e| {
                        e.kv.as_ref()
                            .is_some_and(|kv| kv.mod_revision > self.revision)
                    }) =>
                {
                    // Events already covered by the last list are skipped.
                    self.failures = 0;
                    return self.refresh().await;
                }
                Ok(Some(_)) => {}
                Ok(None) => {
                    self.stream = None;
                    let e = RegistryError::Backend {
                        backend: BACKEND,
                        op: "watch",
                        target: self.name.clone(),
                        reason: "watch stream closed".to_string(),
                    };
                    self.backoff(&e).await;
                }
                Err(e) => {
                    self.stream = None;
                    let e = backend_error("watch", &self.name, e);
                    self.backoff(&e).await;
                }
            }
        }
    }

    async fn backoff(&mut self, error: &RegistryError) {
        tracing::warn!(service = %self.name, %error, "etcd: watch failed; retrying");
        let delay = Duration::from_millis(100u64 << self.failures.min(5));
        self.failures = self.failures.saturating_add(1);
        tokio::time::sleep(delay).await;
    }
}

impl Watcher for EtcdWatcher {
    fn next(&mut self) -> BoxFuture<'_, Result<Vec<ServiceInstance>, RegistryError>> {
        Box::pin(async move {
            if self.stopped {
                return Err(RegistryError::WatcherStopped);
            }
            if self.first {
                let list = self.refresh().await?;
                self.first = false;
                return Ok(list);
            }
            self.next_change().await
        })
    }

    fn stop(&mut self) -> BoxFuture<'_, Result<(), RegistryError>> {
        Box::pin(async move {
            self.stopped = true;
            // Dropping the stream ends the gRPC watch.
            self.stream = None;
            Ok(())
        })
    }
}
