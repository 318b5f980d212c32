//! The Consul registry (Kratos' `contrib/registry/consul`), on the agent HTTP API.
//!
//! Registration (`PUT /v1/agent/service/register`) is Kratos': `ID`, `Name`, `Tags`
//! (`version=<v>` first), `Meta` (the instance metadata), `Address`/`Port` of the first
//! endpoint, `TaggedAddresses[<scheme>] = {Address: <endpoint URL>, Port}`, one TCP check per
//! endpoint when health checks are on, and the TTL check `service:<id>` (TTL = 2 × heartbeat
//! interval) that the heartbeat keeps passing (`PUT /v1/agent/check/update/service:<id>`).
//! Deregistration is `PUT /v1/agent/service/deregister/<id>`; 404 counts as success.
//! Discovery reads `GET /v1/health/service/<name>?passing=1` with blocking queries.
//!
//! The heartbeat updates the TTL check immediately and then every interval; when an update
//! fails (404: the agent lost the service, or the agent is unreachable) it re-registers with
//! capped backoff for as long as the instance is registered, logging and counting each
//! failure.
//!
//! Kratos' #3147 race (a heartbeat scheduled or in flight while deregister runs, whose 404 then
//! triggered a re-registration) cannot happen here: deregister cancels the heartbeat and
//! joins its task *before* it deregisters at the agent, so the agent's 404s after a
//! deregistration are never seen by a heartbeat, and no request for the instance is issued
//! after `deregister` returns. A re-registration request that was already on the wire when the
//! heartbeat was cancelled could still be applied by the agent late (the agent API has no
//! conditional write); its TTL check is registered `critical`, and nothing updates it any
//! more, so such an entry is never returned by health-filtered discovery and the agent reaps
//! it after `deregister_critical_after`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::keeper::{Backend, Counters, Ctx, Keeper, Policy};
use super::{
    BoxFuture, Discovery, Registrar, RegistryError, RegistryStats, ServiceInstance, Watcher,
};

const BACKEND: &str = "consul";

/// Characters escaped in one path segment.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'?')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// Tagged-address keys Consul itself uses; they are not endpoints.
const RESERVED_TAGGED: [&str; 6] = ["lan", "lan_ipv4", "lan_ipv6", "wan", "wan_ipv4", "wan_ipv6"];

fn duration_string(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// Splits an endpoint URL `scheme://host:port[/…]` into scheme, host (no brackets) and port.
fn parse_endpoint(endpoint: &str) -> Option<(&str, &str, u16)> {
    let (scheme, rest) = endpoint.split_once("://")?;
    let authority = rest.split(['/', '?']).next()?;
    let (host, port) = authority.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Some((scheme, host, port.parse().ok()?))
}

/// A response of the agent.
struct Reply {
    status: StatusCode,
    index: Option<u64>,
    body: Bytes,
}

/// The agent HTTP API.
#[derive(Clone)]
struct Api {
    client: Client<HttpConnector, Full<Bytes>>,
    base: String,
    token: Option<String>,
    datacenter: Option<String>,
}

impl Api {
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Reply, String> {
        let mut builder = Request::builder()
            .method(method)
            .uri(format!("{}{}", self.base, path));
        if let Some(token) = &self.token {
            builder = builder.header("X-Consul-Token", token);
        }
        if body.is_some() {
            builder = builder.header(http::header::CONTENT_TYPE, "application/json");
        }
        let request = builder
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| e.to_string())?;
        let response = self.client.request(request).await.map_err(|e| {
            let mut s = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(inner) = source {
                s.push_str(": ");
                s.push_str(&inner.to_string());
                source = inner.source();
            }
            s
        })?;
        let status = response.status();
        let index = response
            .headers()
            .get("X-Consul-Index")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok(Reply {
            status,
            index,
            body,
        })
    }

    fn dc_query(&self) -> String {
        match &self.datacenter {
            Some(dc) => format!("&dc={}", utf8_percent_encode(dc, SEGMENT)),
            None => String::new(),
        }
    }
}

fn http_error(op: &'static str, target: &str, reply: &Reply) -> RegistryError {
    RegistryError::Backend {
        backend: BACKEND,
        op,
        target: target.to_string(),
        reason: format!(
            "{}: {}",
            reply.status,
            String::from_utf8_lossy(&reply.body).trim()
        ),
    }
}

fn call_error(op: &'static str, target: &str, reason: String) -> RegistryError {
    RegistryError::Backend {
        backend: BACKEND,
        op,
        target: target.to_string(),
        reason,
    }
}

/// Configures a [`ConsulRegistry`].
#[derive(Debug, Clone)]
pub struct ConsulRegistryBuilder {
    address: String,
    token: Option<String>,
    datacenter: Option<String>,
    heartbeat_interval: Duration,
    deregister_critical_after: Duration,
    health_check: bool,
    tags: Vec<String>,
    op_timeout: Duration,
    backoff_min: Duration,
    backoff_max: Duration,
    wait_time: Duration,
}

impl ConsulRegistryBuilder {
    /// The ACL token sent as `X-Consul-Token`.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// The datacenter to query (default: the agent's).
    pub fn datacenter(mut self, dc: impl Into<String>) -> Self {
        self.datacenter = Some(dc.into());
        self
    }

    /// How often the heartbeat passes the TTL check (default 10 s); the check's TTL is twice
    /// that.
    pub fn heartbeat_interval(mut self, interval: Duration) -> Self {
        self.heartbeat_interval = interval;
        self
    }

    /// After how long a critical instance is removed by the agent (default 600 s).
    pub fn deregister_critical_after(mut self, after: Duration) -> Self {
        self.deregister_critical_after = after;
        self
    }

    /// Whether to add one TCP check per endpoint (default true, as Kratos).
    pub fn health_check(mut self, enabled: bool) -> Self {
        self.health_check = enabled;
        self
    }

    /// Tags added after `version=<v>`.
    pub fn tags(mut self, tags: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.tags = tags.into_iter().map(Into::into).collect();
        self
    }

    /// Time allowed for one agent call (default 5 s; blocking queries get the wait time on
    /// top).
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

    /// The `wait` of blocking queries (default 55 s, as Kratos).
    pub fn wait_time(mut self, wait: Duration) -> Self {
        self.wait_time = wait;
        self
    }

    /// Builds the registry (no request is made yet).
    pub fn build(self) -> Result<ConsulRegistry, RegistryError> {
        let base = self.address.trim_end_matches('/').to_string();
        let base = if base.contains("://") {
            base
        } else {
            format!("http://{base}")
        };
        if !base.starts_with("http://") {
            return Err(RegistryError::Config(format!(
                "consul address {base}: only http:// is supported"
            )));
        }
        base.parse::<http::Uri>()
            .map_err(|e| RegistryError::Config(format!("consul address {base}: {e}")))?;
        if self.heartbeat_interval.is_zero() {
            return Err(RegistryError::Config(
                "consul heartbeat interval must not be zero".to_string(),
            ));
        }
        let api = Api {
            client: Client::builder(TokioExecutor::new()).build_http(),
            base,
            token: self.token.clone(),
            datacenter: self.datacenter.clone(),
        };
        let policy = Policy {
            op_timeout: self.op_timeout,
            backoff_min: self.backoff_min,
            backoff_max: self.backoff_max,
        };
        let backend = ConsulBackend {
            api: api.clone(),
            heartbeat_interval: self.heartbeat_interval,
            deregister_critical_after: self.deregister_critical_after,
            health_check: self.health_check,
            tags: self.tags.clone(),
        };
        Ok(ConsulRegistry {
            inner: Arc::new(Inner {
                keeper: Keeper::new(backend, policy, BACKEND),
                api,
                op_timeout: self.op_timeout,
                wait_time: self.wait_time,
            }),
        })
    }
}

/// A [`Registrar`] and [`Discovery`] on a Consul agent. Cheap to clone (clones share
/// registrations); dropping the last clone cancels every heartbeat, [`close`](Self::close)
/// also waits for them and deregisters the instances.
#[derive(Clone)]
pub struct ConsulRegistry {
    inner: Arc<Inner>,
}

struct Inner {
    keeper: Keeper<ConsulBackend>,
    api: Api,
    op_timeout: Duration,
    wait_time: Duration,
}

impl std::fmt::Debug for ConsulRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsulRegistry")
            .field("address", &self.inner.api.base)
            .field("stats", &self.inner.keeper.stats())
            .finish()
    }
}

impl ConsulRegistry {
    /// A builder for the agent at `address` (such as `http://127.0.0.1:8500` or
    /// `127.0.0.1:8500`).
    pub fn builder(address: impl Into<String>) -> ConsulRegistryBuilder {
        ConsulRegistryBuilder {
            address: address.into(),
            token: None,
            datacenter: None,
            heartbeat_interval: Duration::from_secs(10),
            deregister_critical_after: Duration::from_secs(600),
            health_check: true,
            tags: Vec::new(),
            op_timeout: Duration::from_secs(5),
            backoff_min: Duration::from_millis(200),
            backoff_max: Duration::from_secs(5),
            wait_time: Duration::from_secs(55),
        }
    }

    /// A registry with the defaults for the agent at `address`.
    pub fn new(address: impl Into<String>) -> Result<Self, RegistryError> {
        Self::builder(address).build()
    }

    /// Counters of registrations and heartbeats.
    pub fn stats(&self) -> RegistryStats {
        self.inner.keeper.stats()
    }

    /// Stops every heartbeat (waiting for the tasks to end) and deregisters every registered
    /// instance; later registrations fail with [`RegistryError::Closed`].
    pub async fn close(&self) -> Result<(), RegistryError> {
        self.inner.keeper.close().await
    }

    /// One health query; `index` > 0 makes it a blocking query.
    async fn query(
        &self,
        name: &str,
        index: u64,
    ) -> Result<(Vec<ServiceInstance>, u64), RegistryError> {
        let mut path = format!(
            "/v1/health/service/{}?passing=1{}",
            utf8_percent_encode(name, SEGMENT),
            self.inner.api.dc_query()
        );
        let mut timeout = self.inner.op_timeout;
        if index > 0 {
            path.push_str(&format!(
                "&index={index}&wait={}",
                duration_string(self.inner.wait_time)
            ));
            // The agent adds up to wait/16 of jitter.
            timeout += self.inner.wait_time + self.inner.wait_time / 16;
        }
        let reply = tokio::time::timeout(timeout, self.inner.api.call(Method::GET, &path, None))
            .await
            .map_err(|_| RegistryError::Timeout {
                backend: BACKEND,
                op: "health",
                target: name.to_string(),
                timeout,
            })?
            .map_err(|e| call_error("health", name, e))?;
        if !reply.status.is_success() {
            return Err(http_error("health", name, &reply));
        }
        let entries: Vec<HealthEntry> =
            serde_json::from_slice(&reply.body).map_err(|e| RegistryError::Decode {
                what: String::from_utf8_lossy(&reply.body)
                    .chars()
                    .take(200)
                    .collect(),
                reason: e.to_string(),
            })?;
        let instances = entries
            .into_iter()
            .filter(|e| e.service.service == name)
            .map(|e| e.service.into_instance())
            .collect();
        Ok((instances, reply.index.unwrap_or(0)))
    }
}

#[derive(Deserialize)]
struct HealthEntry {
    #[serde(rename = "Service")]
    service: AgentService,
}

#[derive(Deserialize)]
struct AgentService {
    #[serde(rename = "ID", default)]
    id: String,
    #[serde(rename = "Service", default)]
    service: String,
    #[serde(rename = "Tags", default)]
    tags: Option<Vec<String>>,
    #[serde(rename = "Meta", default)]
    meta: Option<BTreeMap<String, String>>,
    #[serde(rename = "Address", default)]
    address: String,
    #[serde(rename = "Port", default)]
    port: u16,
    #[serde(rename = "TaggedAddresses", default)]
    tagged_addresses: Option<BTreeMap<String, TaggedAddress>>,
}

#[derive(Deserialize)]
struct TaggedAddress {
    #[serde(rename = "Address", default)]
    address: String,
}

impl AgentService {
    fn into_instance(self) -> ServiceInstance {
        let mut endpoints: Vec<String> = self
            .tagged_addresses
            .unwrap_or_default()
            .into_iter()
            .filter(|(k, _)| !RESERVED_TAGGED.contains(&k.as_str()))
            .map(|(_, v)| v.address)
            .filter(|a| !a.is_empty())
            .collect();
        if endpoints.is_empty() && !self.address.is_empty() {
            endpoints.push(format!("http://{}:{}", self.address, self.port));
        }
        let version = self
            .tags
            .unwrap_or_default()
            .iter()
            .find_map(|t| t.strip_prefix("version=").map(str::to_string))
            .unwrap_or_default();
        ServiceInstance {
            id: self.id,
            name: self.service,
            version,
            metadata: self.meta.unwrap_or_default(),
            endpoints,
        }
    }
}

impl Registrar for ConsulRegistry {
    fn register<'a>(
        &'a self,
        instance: &'a ServiceInstance,
    ) -> BoxFuture<'a, Result<(), RegistryError>> {
        Box::pin(async move {
            self.inner.keeper.backend().registration(instance)?;
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

impl Discovery for ConsulRegistry {
    fn get_service<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Vec<ServiceInstance>, RegistryError>> {
        Box::pin(async move { Ok(self.query(name, 0).await?.0) })
    }

    fn watch<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Box<dyn Watcher>, RegistryError>> {
        Box::pin(async move {
            Ok(Box::new(ConsulWatcher {
                registry: self.clone(),
                name: name.to_string(),
                index: 0,
                last: None,
                stopped: false,
                failures: 0,
            }) as Box<dyn Watcher>)
        })
    }
}

/// Follows one service with blocking health queries.
struct ConsulWatcher {
    registry: ConsulRegistry,
    name: String,
    index: u64,
    /// The list last returned (`None` before the first call).
    last: Option<Vec<ServiceInstance>>,
    stopped: bool,
    failures: u32,
}

impl Watcher for ConsulWatcher {
    fn next(&mut self) -> BoxFuture<'_, Result<Vec<ServiceInstance>, RegistryError>> {
        Box::pin(async move {
            if self.stopped {
                return Err(RegistryError::WatcherStopped);
            }
            if self.last.is_none() {
                let (list, index) = self.registry.query(&self.name, 0).await?;
                self.index = index.max(1);
                self.last = Some(list.clone());
                return Ok(list);
            }
            loop {
                match self.registry.query(&self.name, self.index).await {
                    Ok((list, index)) => {
                        self.failures = 0;
                        // Consul: an index going backwards means "start over".
                        self.index = if index < self.index { 1 } else { index.max(1) };
                        if self.last.as_ref() != Some(&list) {
                            self.last = Some(list.clone());
                            return Ok(list);
                        }
                    }
                    Err(error) => {
                        tracing::warn!(service = %self.name, %error, "consul: watch failed; retrying");
                        let delay = Duration::from_millis(100u64 << self.failures.min(5));
                        self.failures = self.failures.saturating_add(1);
                        tokio::time::sleep(delay).await;
                    }
                }
            }
        })
    }

    fn stop(&mut self) -> BoxFuture<'_, Result<(), RegistryError>> {
        Box::pin(async move {
            self.stopped = true;
            Ok(())
        })
    }
}

struct ConsulBackend {
    api: Api,
    heartbeat_interval: Duration,
    deregister_critical_after: Duration,
    health_check: bool,
    tags: Vec<String>,
}

impl ConsulBackend {
    /// The registration body Kratos sends.
    fn registration(&self, instance: &ServiceInstance) -> Result<Vec<u8>, RegistryError> {
        let invalid = |reason: String| RegistryError::Invalid {
            instance: instance.to_string(),
            reason,
        };
        if instance.id.is_empty() || instance.name.is_empty() {
            return Err(invalid("empty id or name".to_string()));
        }
        let mut tagged = serde_json::Map::new();
        let mut checks = Vec::new();
        let mut first: Option<(String, u16)> = None;
        for endpoint in &instance.endpoints {
            let (scheme, host, port) = parse_endpoint(endpoint).ok_or_else(|| {
                invalid(format!("endpoint {endpoint:?} is not scheme://host:port"))
            })?;
            tagged.insert(
                scheme.to_string(),
                json!({"Address": endpoint, "Port": port}),
            );
            if first.is_none() {
                first = Some((host.to_string(), port));
            }
            if self.health_check {
                let addr = if host.contains(':') {
                    format!("[{host}]:{port}")
                } else {
                    format!("{host}:{port}")
                };
                checks.push(json!({
                    "TCP": addr,
                    "Interval": "10s",
                    "Timeout": "5s",
                    "DeregisterCriticalServiceAfter": duration_string(self.deregister_critical_after),
                }));
            }
        }
        checks.push(json!({
            "CheckID": format!("service:{}", instance.id),
            "TTL": duration_string(self.heartbeat_interval * 2),
            "Status": "critical",
            "DeregisterCriticalServiceAfter": duration_string(self.deregister_critical_after),
        }));
        let mut tags = vec![format!("version={}", instance.version)];
        tags.extend(self.tags.iter().cloned());
        let (address, port) = first.unwrap_or_default();
        let body = json!({
            "ID": instance.id,
            "Name": instance.name,
            "Tags": tags,
            "Meta": instance.metadata,
            "Address": address,
            "Port": port,
            "TaggedAddresses": Value::Object(tagged),
            "Checks": checks,
        });
        serde_json::to_vec(&body).map_err(|e| RegistryError::Encode {
            instance: instance.to_string(),
            source: e,
        })
    }
}

impl Backend for ConsulBackend {
    type State = ();

    fn key(&self, instance: &ServiceInstance) -> String {
        // The agent knows services by id alone.
        instance.id.clone()
    }

    async fn register_once(
        &self,
        instance: &ServiceInstance,
        _state: &(),
        ctx: &Ctx,
    ) -> Result<(), RegistryError> {
        let target = instance.to_string();
        let body = self.registration(instance)?;
        let reply = ctx
            .call(
                "register",
                &target,
                self.api
                    .call(Method::PUT, "/v1/agent/service/register", Some(body)),
            )
            .await?
            .map_err(|e| call_error("register", &target, e))?;
        if !reply.status.is_success() {
            return Err(http_error("register", &target, &reply));
        }
        Ok(())
    }

    async fn keep_alive(
        &self,
        instance: &ServiceInstance,
        _state: &(),
        ctx: &Ctx,
    ) -> RegistryError {
        let target = instance.to_string();
        let path = format!(
            "/v1/agent/check/update/{}",
            utf8_percent_encode(&format!("service:{}", instance.id), SEGMENT)
        );
        let body = br#"{"Status":"passing","Output":"pass"}"#;
        loop {
            let reply = match ctx
                .call(
                    "update ttl",
                    &target,
                    self.api.call(Method::PUT, &path, Some(body.to_vec())),
                )
                .await
            {
                Ok(Ok(reply)) => reply,
                Ok(Err(e)) => return call_error("update ttl", &target, e),
                Err(e) => return e,
            };
            if !reply.status.is_success() {
                return http_error("update ttl", &target, &reply);
            }
            Counters::inc(&ctx.counters.heartbeats);
            if !ctx.sleep(self.heartbeat_interval).await {
                return RegistryError::Cancelled {
                    op: "update ttl",
                    instance: target,
                };
            }
        }
    }

    async fn remove(
        &self,
        instance: &ServiceInstance,
        _state: &(),
        policy: Policy,
    ) -> Result<(), RegistryError> {
        let target = instance.to_string();
        let path = format!(
            "/v1/agent/service/deregister/{}",
            utf8_percent_encode(&instance.id, SEGMENT)
        );
        let reply =
            tokio::time::timeout(policy.op_timeout, self.api.call(Method::PUT, &path, None))
                .await
                .map_err(|_| RegistryError::Timeout {
                    backend: BACKEND,
                    op: "deregister",
                    target: target.clone(),
                    timeout: policy.op_timeout,
                })?
                .map_err(|e| call_error("deregister", &target, e))?;
        if reply.status.is_success() || reply.status == StatusCode::NOT_FOUND {
            Ok(())
        } else {
            Err(http_error("deregister", &target, &reply))
        }
    }
}
