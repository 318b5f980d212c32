//! Dialing gRPC servers (Kratos' `grpc.DialInsecure` / `grpc.Dial`): a tonic [`Channel`] to
//! one address, or calls balanced over the instances of a service found through a registry,
//! each call sent to the node the [`Selector`] picks for it.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tonic::body::Body;
use tonic::transport::{Channel, Endpoint};
use tower::ServiceExt as _;

use super::chain::ClientChannel;
use crate::middleware::{BoxFuture, Middleware};
use crate::registry::Discovery;
use crate::selector::{Balancer, NodeFilter, Resolved, Selector, discovery_target};
use crate::transport::ClientError;

/// Kratos' default gRPC client timeout, applied to each call.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(2);

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Builds a [`ClientChannel`] (a tonic [`Channel`] behind Kratos client middleware) for
/// tonic's generated clients (`GreeterClient::new(channel)`).
///
/// The endpoint is `host:port` (also written `http://host:port` or `grpc://host:port`), or
/// `discovery:///<name>` with [`discovery`](ChannelBuilder::discovery): the channel then
/// watches the service and sends each call to the instance the
/// [`balancer`](ChannelBuilder::balancer) picks among those the
/// [`node filters`](ChannelBuilder::node_filter) keep (the same [`Selector`] as the HTTP
/// client: smooth weighted round-robin on the `weight` metadata by default), over one HTTP/2
/// connection per instance. The selector learns each call's latency (until the response
/// head) and outcome (a transport error or the status `UNAVAILABLE`, `DEADLINE_EXCEEDED` or
/// `CANCELLED` is a failure). An update with no instance is ignored, keeping the last ones, as
/// Kratos does; the connections of instances that left are closed.
///
/// Client-side health checking (on by default, as Kratos' `healthCheckConfig`; see
/// [`health_check`](ChannelBuilder::health_check)): the channel watches each discovered
/// node's gRPC health (`Watch` of `""`) and picks no node whose last reported status is not
/// `SERVING`; a node whose server does not implement the health service counts as serving.
///
/// # Example
///
/// A channel to the instances of `greeter` found in a registry (here the in-process one,
/// with one instance on a free loopback port), with client middleware, used by a tonic
/// client (generated clients take the channel the same way:
/// `greeter_client::GreeterClient::new(channel)`):
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use kratos::registry::{Registrar as _, ServiceInstance, memory::MemoryRegistry};
/// use kratos::transport::Server as _;
/// use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut server = kratos::grpc::Server::builder().address("127.0.0.1:0").build();
/// let addr = server.start().await?;
/// let registry = MemoryRegistry::new();
/// let instance = ServiceInstance::new("greeter-1", "greeter")
///     .with_endpoint(format!("grpc://{addr}"));
/// registry.register(&instance).await?;
///
/// // A fixed address works too: `ChannelBuilder::new("127.0.0.1:9000")`.
/// let channel = kratos::grpc::ChannelBuilder::new("discovery:///greeter")
///     .discovery(Arc::new(registry))
///     .timeout(Duration::from_secs(2))
///     .middleware(kratos::middleware::metadata::client())
///     .connect()
///     .await?;
/// let reply = HealthClient::new(channel)
///     .check(HealthCheckRequest::default())
///     .await?;
/// assert_eq!(reply.into_inner().status, 1); // SERVING
/// server.stop().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct ChannelBuilder {
    endpoint: String,
    timeout: Duration,
    discovery: Option<Arc<dyn Discovery>>,
    middleware: Vec<Middleware>,
    filters: Vec<NodeFilter>,
    balancer: Balancer,
    health_check: bool,
    #[cfg(feature = "tls")]
    tls: Option<crate::tls::ClientTls>,
}

impl std::fmt::Debug for ChannelBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("grpc::ChannelBuilder")
            .field("endpoint", &self.endpoint)
            .field("timeout", &self.timeout)
            .field("discovery", &self.discovery.is_some())
            .field("middleware", &self.middleware.len())
            .field("filters", &self.filters.len())
            .field("balancer", &self.balancer)
            .finish()
    }
}

/// How the channel dials one address.
#[derive(Clone)]
struct Dialer {
    timeout: Duration,
    #[cfg(feature = "tls")]
    tls: Option<crate::tls::TlsConnect>,
}

impl Dialer {
    /// A lazily connecting channel to `address`. With TLS the connection is dialed with our
    /// connector (always TLS) and the calls carry the `https` scheme.
    fn channel(&self, address: &str) -> Result<Channel, String> {
        let endpoint: Endpoint = Channel::from_shared(format!("http://{address}"))
            .map_err(|e| e.to_string())?
            .timeout(self.timeout);
        #[cfg(feature = "tls")]
        if let Some(tls) = &self.tls {
            let origin: http::Uri = format!("https://{address}")
                .parse()
                .map_err(|e: http::uri::InvalidUri| e.to_string())?;
            return Ok(endpoint.origin(origin).connect_with_connector_lazy(
                crate::transport::connect::Connector::tls(tls.clone()),
            ));
        }
        Ok(endpoint.connect_lazy())
    }
}

impl ChannelBuilder {
    /// A builder for `endpoint`.
    pub fn new(endpoint: impl Into<String>) -> Self {
        ChannelBuilder {
            endpoint: endpoint.into(),
            timeout: DEFAULT_CALL_TIMEOUT,
            discovery: None,
            middleware: Vec::new(),
            filters: Vec::new(),
            balancer: Balancer::default(),
            health_check: true,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }

    /// Whether a discovery channel watches its nodes' gRPC health and skips those not
    /// `SERVING` (default true, as Kratos' `WithHealthCheck`).
    pub fn health_check(mut self, enabled: bool) -> Self {
        self.health_check = enabled;
        self
    }

    /// The timeout of each call (default 2 s, as Kratos). A call over it fails with
    /// `Cancelled`, as tonic reports its timeouts; on a channel with middleware it fails with
    /// 504 `TIMEOUT` (`DeadlineExceeded`), which the middleware see too.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Resolves a `discovery:///<name>` endpoint through `discovery` (Kratos'
    /// `WithDiscovery`).
    pub fn discovery(mut self, discovery: Arc<dyn Discovery>) -> Self {
        self.discovery = Some(discovery);
        self
    }

    /// How a discovery endpoint's instances are picked for each call (default
    /// [`Balancer::Wrr`]; see [`crate::selector`]).
    pub fn balancer(mut self, balancer: Balancer) -> Self {
        self.balancer = balancer;
        self
    }

    /// Keeps only the instances `filter` keeps, such as [`crate::selector::version`] (Kratos'
    /// `WithNodeFilter`); filters apply in order.
    pub fn node_filter(mut self, filter: NodeFilter) -> Self {
        self.filters.push(filter);
        self
    }

    /// Speaks TLS (feature `tls`) on every connection, trusting the CAs of `tls` and
    /// presenting its certificate when it has one (mTLS), with ALPN `h2` (Kratos' `grpc.Dial`
    /// with `WithTLSConfig`). The endpoint may also be written `https://host:port` or
    /// `grpcs://host:port`; a discovery endpoint picks the instances' `grpcs` endpoints (or
    /// `grpc://…?isSecure=true`).
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: crate::tls::ClientTls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Adds a client middleware, run once per call of any kind, the first added outermost;
    /// see [`ClientChannel`] for what it sees.
    pub fn middleware(mut self, middleware: Middleware) -> Self {
        self.middleware.push(middleware);
        self
    }

    fn fail(&self, reason: impl Into<String>) -> ClientError {
        ClientError {
            endpoint: self.endpoint.clone(),
            reason: reason.into(),
        }
    }

    fn secure(&self) -> bool {
        #[cfg(feature = "tls")]
        if self.tls.is_some() {
            return true;
        }
        false
    }

    fn dialer(&self) -> Result<Dialer, ClientError> {
        Ok(Dialer {
            timeout: self.timeout,
            #[cfg(feature = "tls")]
            tls: match &self.tls {
                Some(tls) => Some(
                    tls.connector(&[crate::tls::ALPN_H2])
                        .map_err(|e| self.fail(e.to_string()))?,
                ),
                None => None,
            },
        })
    }

    /// Builds the channel without waiting for a connection (tonic's `connect_lazy`). With a
    /// discovery endpoint, calls made before the first instance is found wait for it, for at
    /// most the call timeout; use [`connect`](ChannelBuilder::connect) to wait up front. Must
    /// be called within a tokio runtime.
    pub fn build(self) -> Result<ClientChannel, ClientError> {
        let middleware = self.middleware.clone();
        let timeout = self.timeout;
        Ok(match self.build_target()? {
            Built::Single(channel) => ClientChannel::new(channel, &middleware),
            Built::Balanced(balanced) => ClientChannel::balanced(balanced, &middleware),
        }
        .with_call_timeout(timeout))
    }

    /// [`build`](ChannelBuilder::build), then, for a discovery endpoint, waits until the
    /// service has an instance with a `grpc` endpoint (Kratos' `WithBlock`), for at most the
    /// call timeout.
    pub async fn connect(self) -> Result<ClientChannel, ClientError> {
        let middleware = self.middleware.clone();
        let err = self.fail(format!(
            "no instance with a grpc endpoint within {:?}",
            self.timeout
        ));
        let timeout = self.timeout;
        Ok(match self.build_target()? {
            Built::Single(channel) => ClientChannel::new(channel, &middleware),
            Built::Balanced(balanced) => {
                tokio::time::timeout(timeout, balanced.0.resolved.wait_ready())
                    .await
                    .map_err(|_| err)?;
                ClientChannel::balanced(balanced, &middleware)
            }
        }
        .with_call_timeout(timeout))
    }

    fn build_target(self) -> Result<Built, ClientError> {
        let target = discovery_target(&self.endpoint, self.discovery.as_ref(), "ChannelBuilder")
            .map_err(|reason| self.fail(reason))?;
        let dialer = self.dialer()?;
        match target {
            Some((name, discovery)) => {
                let selector = Selector::with_balancer(self.balancer);
                let resolved =
                    Resolved::start(discovery, name.to_string(), "grpc", self.secure(), selector);
                let mut filters = self.filters;
                let unhealthy = self.health_check.then(|| {
                    let unhealthy = Arc::new(Unhealthy::default());
                    let skip = unhealthy.clone();
                    filters.push(Arc::new(move |node: &crate::selector::Node| {
                        !skip.contains(&node.address)
                    }));
                    unhealthy
                });
                Ok(Built::Balanced(Balanced(Arc::new(BalancedInner {
                    resolved,
                    filters,
                    wait: self.timeout,
                    dialer,
                    unhealthy,
                    channels: Mutex::new(Channels::default()),
                }))))
            }
            None => {
                let mut schemes = vec!["http://", "grpc://"];
                if self.secure() {
                    schemes = vec!["https://", "grpcs://"];
                }
                let address = schemes
                    .iter()
                    .find_map(|s| self.endpoint.strip_prefix(s))
                    .unwrap_or(&self.endpoint);
                if address.is_empty() || address.contains('/') || address.contains("://") {
                    return Err(self.fail(format!(
                        "expected host:port, {}host:port or discovery:///<name>",
                        schemes[0]
                    )));
                }
                // tonic spawns the channel's worker.
                if tokio::runtime::Handle::try_current().is_err() {
                    return Err(self.fail("a channel must be built within a tokio runtime"));
                }
                dialer
                    .channel(address)
                    .map(Built::Single)
                    .map_err(|e| self.fail(e))
            }
        }
    }
}

enum Built {
    Single(Channel),
    Balanced(Balanced),
}

/// Calls balanced over the nodes of a discovered service: a tower service that picks a node
/// per call and sends the call on that node's channel. Cheap to clone; the resolver stops
/// when the last clone is dropped.
#[derive(Clone)]
pub(crate) struct Balanced(Arc<BalancedInner>);

struct BalancedInner {
    resolved: Resolved,
    filters: Vec<NodeFilter>,
    /// How long a call waits for the first instance.
    wait: Duration,
    dialer: Dialer,
    /// With health checking: the nodes last reported not serving.
    unhealthy: Option<Arc<Unhealthy>>,
    channels: Mutex<Channels>,
}

/// The channel of each node (with its health watcher, stopped when the entry is dropped),
/// and the selector's generation they were last synchronized with.
#[derive(Default)]
struct Channels {
    generation: u64,
    by_address: HashMap<String, (Channel, Option<tokio_util::sync::DropGuard>)>,
}

/// The addresses whose health watch last reported a status other than `SERVING`.
#[derive(Default)]
struct Unhealthy {
    set: std::sync::RwLock<HashSet<String>>,
    /// The set's size, read first so that the common case (all healthy) takes no lock.
    count: std::sync::atomic::AtomicUsize,
}

impl Unhealthy {
    fn contains(&self, address: &str) -> bool {
        self.count.load(std::sync::atomic::Ordering::Acquire) > 0
            && self
                .set
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .contains(address)
    }

    fn mark(&self, address: &str, unhealthy: bool) {
        let mut set = self.set.write().unwrap_or_else(PoisonError::into_inner);
        let changed = if unhealthy {
            set.insert(address.to_owned())
        } else {
            set.remove(address)
        };
        if changed {
            tracing::info!(%address, serving = !unhealthy, "grpc client: node health changed");
        }
        self.count
            .store(set.len(), std::sync::atomic::Ordering::Release);
    }

    /// Forgets a node that left the selector: no health change to report, it is simply no
    /// longer watched.
    fn forget(&self, address: &str) {
        let mut set = self.set.write().unwrap_or_else(PoisonError::into_inner);
        set.remove(address);
        self.count
            .store(set.len(), std::sync::atomic::Ordering::Release);
    }
}

/// How long a node's health watch waits before watching again after its stream ended.
const HEALTH_RETRY: Duration = Duration::from_secs(1);

/// Watches the health (`""`) of the node at `address` over `channel` until cancelled, marking
/// it unhealthy while its last status is not `SERVING`. A server without the health service
/// (`UNIMPLEMENTED`) counts as serving and is not watched further; an ended or failed stream
/// keeps the last status and is watched again after a pause.
async fn watch_health(
    channel: Channel,
    address: String,
    unhealthy: Arc<Unhealthy>,
    cancel: tokio_util::sync::CancellationToken,
) {
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;
    let watch = async {
        loop {
            let mut client = HealthClient::new(channel.clone());
            match client.watch(HealthCheckRequest::default()).await {
                Ok(stream) => {
                    let mut stream = stream.into_inner();
                    while let Ok(Some(reply)) = stream.message().await {
                        unhealthy.mark(&address, reply.status != ServingStatus::Serving as i32);
                    }
                }
                Err(status) if status.code() == tonic::Code::Unimplemented => {
                    unhealthy.mark(&address, false);
                    return;
                }
                Err(_) => {}
            }
            tokio::time::sleep(HEALTH_RETRY).await;
        }
    };
    tokio::select! {
        () = watch => {}
        () = cancel.cancelled() => unhealthy.forget(&address),
    }
}

impl std::fmt::Debug for Balanced {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Balanced")
            .field("resolved", &self.0.resolved)
            .field("balancer", &self.0.resolved.selector().balancer())
            .finish()
    }
}

/// The gRPC status code of a response head (a trailers-only reply, as failed calls are).
fn head_status(response: &http::Response<Body>) -> Option<i32> {
    response
        .headers()
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

impl BalancedInner {
    /// The channel of `address`: the one already open, else a new one. First drops the
    /// channels of addresses no longer resolved, when the nodes changed.
    fn channel(&self, address: &str) -> Result<Channel, tonic::Status> {
        let mut channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        self.sync(&mut channels);
        if let Some((channel, _)) = channels.by_address.get(address) {
            return Ok(channel.clone());
        }
        let entry = self.open(address)?;
        let channel = entry.0.clone();
        channels.by_address.insert(address.to_owned(), entry);
        Ok(channel)
    }

    /// When the nodes changed: drops the channels (and health watchers) of nodes that left,
    /// and, with health checking, opens those of new nodes so their health is known before
    /// they are picked.
    fn sync(&self, channels: &mut Channels) {
        let selector = self.resolved.selector();
        let generation = selector.generation();
        if channels.generation == generation {
            return;
        }
        channels.generation = generation;
        let nodes = selector.nodes().unwrap_or_default();
        let current: HashSet<&str> = nodes.iter().map(|n| n.address.as_str()).collect();
        channels
            .by_address
            .retain(|a, _| current.contains(a.as_str()));
        if self.unhealthy.is_some() {
            for address in current {
                if !channels.by_address.contains_key(address)
                    && let Ok(entry) = self.open(address)
                {
                    channels.by_address.insert(address.to_owned(), entry);
                }
            }
        }
    }

    /// [`sync`](Self::sync) under the lock.
    fn sync_now(&self) {
        let mut channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        self.sync(&mut channels);
    }

    /// A new channel to `address`, with its health watcher when health checking is on.
    fn open(
        &self,
        address: &str,
    ) -> Result<(Channel, Option<tokio_util::sync::DropGuard>), tonic::Status> {
        let channel = self
            .dialer
            .channel(address)
            .map_err(|e| tonic::Status::unavailable(format!("node {address}: {e}")))?;
        let guard = self.unhealthy.as_ref().map(|unhealthy| {
            let cancel = tokio_util::sync::CancellationToken::new();
            tokio::spawn(watch_health(
                channel.clone(),
                address.to_owned(),
                unhealthy.clone(),
                cancel.clone(),
            ));
            cancel.drop_guard()
        });
        Ok((channel, guard))
    }
}

impl Balanced {
    /// Sends one call to the node the selector picks, and reports its outcome.
    pub(crate) fn call(
        &self,
        request: http::Request<Body>,
    ) -> BoxFuture<'static, Result<http::Response<Body>, BoxError>> {
        let inner = self.0.clone();
        Box::pin(async move {
            let selector = inner.resolved.selector();
            if selector.nodes().is_none()
                && tokio::time::timeout(inner.wait, inner.resolved.wait_ready())
                    .await
                    .is_err()
            {
                return Err(tonic::Status::unavailable(format!(
                    "no instance with a grpc endpoint within {:?}",
                    inner.wait
                ))
                .into());
            }
            if inner.unhealthy.is_some() {
                inner.sync_now();
            }
            let picked = selector
                .select(&inner.filters)
                .map_err(|e| BoxError::from(tonic::Status::from(e)))?;
            let channel = inner.channel(&picked.address)?;
            let result = channel.oneshot(request).await;
            let ok = match &result {
                // CANCELLED, DEADLINE_EXCEEDED, UNAVAILABLE.
                Ok(response) => !matches!(head_status(response), Some(1 | 4 | 14)),
                Err(_) => false,
            };
            picked.done(ok);
            result.map_err(Into::into)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_endpoints_and_no_runtime_are_errors_not_panics() {
        for endpoint in ["127.0.0.1:9000", "grpc://127.0.0.1:9000"] {
            let err = ChannelBuilder::new(endpoint).build().unwrap_err();
            assert!(err.reason.contains("tokio runtime"), "{err}");
        }
        let err = ChannelBuilder::new("discovery:///svc").build().unwrap_err();
        assert!(err.reason.contains("ChannelBuilder::discovery"), "{err}");
    }

    #[tokio::test]
    async fn plain_addresses_build_lazily_and_malformed_ones_are_refused() {
        for endpoint in [
            "127.0.0.1:9000",
            "http://127.0.0.1:9000",
            "grpc://127.0.0.1:9000",
        ] {
            assert!(ChannelBuilder::new(endpoint).build().is_ok(), "{endpoint}");
        }
        for endpoint in ["", "http://h:1/path", "https://h:1"] {
            assert!(ChannelBuilder::new(endpoint).build().is_err(), "{endpoint}");
        }
    }

    /// Health marks are per address; a node that leaves is forgotten whatever its last
    /// status, and the lock-free count follows the set.
    #[test]
    fn unhealthy_nodes_are_marked_and_forgotten() {
        let unhealthy = Unhealthy::default();
        unhealthy.mark("a:1", true);
        unhealthy.mark("b:1", true);
        unhealthy.mark("b:1", true);
        assert!(unhealthy.contains("a:1") && unhealthy.contains("b:1"));
        unhealthy.mark("a:1", false);
        assert!(!unhealthy.contains("a:1"));
        unhealthy.forget("b:1");
        unhealthy.forget("c:1");
        assert!(!unhealthy.contains("b:1"));
        assert_eq!(
            unhealthy.count.load(std::sync::atomic::Ordering::Acquire),
            0
        );
    }
}
