//! Client channels balanced over the nodes of a discovered service: [`Balanced`] picks a node
//! per call through the selector and sends the call on that node's channel, opened by a
//! [`Dialer`]; with health checking, each node's health service is watched and nodes not
//! serving are skipped.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tonic::body::Body;
use tonic::transport::{Channel, Endpoint};
use tower::ServiceExt as _;

use crate::middleware::BoxFuture;
use crate::selector::{NodeFilter, Resolved};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How the channel dials one address.
#[derive(Clone)]
pub(super) struct Dialer {
    pub(super) timeout: Duration,
    #[cfg(feature = "tls")]
    pub(super) tls: Option<crate::tls::TlsConnect>,
}

impl Dialer {
    /// A lazily connecting channel to `address`. With TLS the connection is dialed with our
    /// connector (always TLS) and the calls carry the `https` scheme.
    pub(super) fn channel(&self, address: &str) -> Result<Channel, String> {
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
    /// Calls over the nodes `resolved` follows, picked among those `filters` keep (and, with
    /// `health_check`, that the health service of their server last reported serving),
    /// waiting up to `wait` for the first instance, dialed with `dialer`.
    pub(super) fn new(
        resolved: Resolved,
        mut filters: Vec<NodeFilter>,
        wait: Duration,
        dialer: Dialer,
        health_check: bool,
    ) -> Self {
        let unhealthy = health_check.then(|| {
            let unhealthy = Arc::new(Unhealthy::default());
            let skip = unhealthy.clone();
            filters.push(Arc::new(move |node: &crate::selector::Node| {
                !skip.contains(&node.address)
            }));
            unhealthy
        });
        Balanced(Arc::new(BalancedInner {
            resolved,
            filters,
            wait,
            dialer,
            unhealthy,
            channels: Mutex::new(Channels::default()),
        }))
    }

    /// Waits until the service's nodes are first resolved.
    pub(super) async fn wait_ready(&self) {
        self.0.resolved.wait_ready().await;
    }

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
