//! Node selection for clients (Kratos' `selector` package): the instances a client may call,
//! kept up to date from a registry [`Discovery`](crate::registry::Discovery), and a pick per
//! request by smooth weighted round-robin (Kratos' default balancer, `wrr`).

use std::sync::{Arc, Mutex, PoisonError};

use crate::errors::Error;
use crate::registry::ServiceInstance;

/// The weight of a node whose instance has no `weight` metadata (Kratos' default).
pub const DEFAULT_WEIGHT: i64 = 100;

/// The reason of the error when no node is available (Kratos' `ErrNoAvailable`).
pub const NO_AVAILABLE_REASON: &str = "no_available_node";

/// Kratos' `ErrNoAvailable`: 503 `no_available_node`.
pub fn no_available() -> Error {
    Error::new(503, NO_AVAILABLE_REASON, "")
}

/// One instance a client may call, at one address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// `host:port`.
    pub address: String,
    /// The weight from the instance's `weight` metadata, else [`DEFAULT_WEIGHT`].
    pub weight: i64,
    /// The instance it came from.
    pub instance: Arc<ServiceInstance>,
}

impl Node {
    /// The node of `instance` for `scheme` (`http`, `grpc`): its first endpoint with that
    /// scheme, or `None` when it has none.
    pub fn from_instance(instance: &ServiceInstance, scheme: &str) -> Option<Node> {
        let address = instance.endpoint(scheme)?;
        if address.is_empty() {
            return None;
        }
        let weight = instance
            .metadata
            .get("weight")
            .and_then(|w| w.parse::<i64>().ok())
            .filter(|w| *w > 0)
            .unwrap_or(DEFAULT_WEIGHT);
        Some(Node {
            address: address.to_string(),
            weight,
            instance: Arc::new(instance.clone()),
        })
    }

    /// The version of the node's instance.
    pub fn version(&self) -> &str {
        &self.instance.version
    }
}

/// Keeps some nodes and drops the others (Kratos' `NodeFilter`), such as [`version`].
pub type NodeFilter = Arc<dyn Fn(&Node) -> bool + Send + Sync>;

/// Keeps the nodes whose instance has version `v` (Kratos' `filter.Version`).
pub fn version(v: impl Into<String>) -> NodeFilter {
    let v = v.into();
    Arc::new(move |node: &Node| node.version() == v)
}

/// The nodes of one service and the balancer's state.
#[derive(Debug, Default)]
pub struct Selector {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// `None` before the first [`Selector::apply`].
    nodes: Option<Arc<Vec<Arc<Node>>>>,
    /// Smooth weighted round-robin: the current weight of each node, by index.
    current: Vec<i64>,
}

impl Selector {
    /// A selector with no nodes yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Replaces the nodes. When the addresses or weights change, the balancer starts over.
    /// (Kratos keeps the current weights of the addresses still present; after a change of
    /// weights that lets a node that had just been picked wait for as many picks as its old
    /// weight, instead of getting its new share at once.)
    pub fn apply(&self, nodes: Vec<Node>) {
        let mut state = self.state();
        let same = state.nodes.as_ref().is_some_and(|old| {
            old.len() == nodes.len()
                && old
                    .iter()
                    .zip(&nodes)
                    .all(|(a, b)| a.address == b.address && a.weight == b.weight)
        });
        if !same {
            state.current = vec![0; nodes.len()];
        }
        state.nodes = Some(Arc::new(nodes.into_iter().map(Arc::new).collect()));
    }

    /// The current nodes (`None` before the first [`apply`](Selector::apply)).
    pub fn nodes(&self) -> Option<Arc<Vec<Arc<Node>>>> {
        self.state().nodes.clone()
    }

    /// Picks a node among those `filters` all keep, by smooth weighted round-robin: every
    /// candidate's current weight grows by its weight, the largest wins (the first on ties) and
    /// loses the total. Over a cycle each node is picked in proportion to its weight, spread
    /// out rather than in bursts. No candidate: 503 `no_available_node`. Nothing is allocated.
    pub fn select(&self, filters: &[NodeFilter]) -> Result<Arc<Node>, Error> {
        let mut state = self.state();
        let State { nodes, current } = &mut *state;
        let nodes = nodes.as_ref().ok_or_else(no_available)?;
        let mut total = 0i64;
        let mut best: Option<usize> = None;
        for (i, node) in nodes.iter().enumerate() {
            if !filters.iter().all(|keep| keep(node)) {
                continue;
            }
            total = total.saturating_add(node.weight);
            current[i] = current[i].saturating_add(node.weight);
            if best.is_none_or(|b| current[i] > current[b]) {
                best = Some(i);
            }
        }
        let i = best.ok_or_else(no_available)?;
        current[i] = current[i].saturating_sub(total);
        Ok(nodes[i].clone())
    }
}

/// A registry shared by the clients that resolve through it.
pub type SharedDiscovery = Arc<dyn crate::registry::Discovery>;

/// The prefix of endpoints resolved through a registry: `discovery:///<service name>`.
pub const DISCOVERY_SCHEME: &str = "discovery:///";

/// What a client builder's endpoint asks for: `Ok(None)` for a plain address, else the service
/// name of a `discovery:///<name>` endpoint and the registry to resolve it with. A discovery
/// endpoint needs a registry (set with `<builder>::discovery`), a name without `/`, and a
/// tokio runtime to run the resolver in.
pub(crate) fn discovery_target<'e>(
    endpoint: &'e str,
    discovery: Option<&SharedDiscovery>,
    builder: &str,
) -> Result<Option<(&'e str, SharedDiscovery)>, String> {
    let Some(name) = endpoint.strip_prefix(DISCOVERY_SCHEME) else {
        return Ok(None);
    };
    let discovery = discovery
        .ok_or_else(|| format!("a discovery endpoint needs a registry ({builder}::discovery)"))?;
    if name.is_empty() || name.contains('/') {
        return Err("the service name after discovery:/// is empty or has a '/'".into());
    }
    if tokio::runtime::Handle::try_current().is_err() {
        return Err("a discovery endpoint must be built within a tokio runtime".into());
    }
    Ok(Some((name, discovery.clone())))
}

/// A [`Selector`] kept up to date from a registry by a background task (Kratos' resolver):
/// the task watches the service and applies each non-empty instance list; an empty one is
/// ignored (the last nodes are kept, as Kratos does) and watch errors are retried every second.
/// The task stops, and stops its watcher, when the `Resolved` is dropped.
pub struct Resolved {
    selector: Arc<Selector>,
    ready: tokio::sync::watch::Receiver<bool>,
    _stop: tokio_util::sync::DropGuard,
}

impl std::fmt::Debug for Resolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolved")
            .field("nodes", &self.selector.nodes().map_or(0, |n| n.len()))
            .finish()
    }
}

/// How long a failed watch waits before it is retried (Kratos' resolver: 1 s).
const RETRY_PAUSE: std::time::Duration = std::time::Duration::from_secs(1);

impl Resolved {
    /// Starts resolving service `name` through `discovery`, keeping the instances' endpoints
    /// of `scheme`. Must be called within a tokio runtime.
    pub fn start(
        discovery: Arc<dyn crate::registry::Discovery>,
        name: String,
        scheme: &'static str,
    ) -> Self {
        let selector = Arc::new(Selector::new());
        let (ready_tx, ready) = tokio::sync::watch::channel(false);
        let token = tokio_util::sync::CancellationToken::new();
        let task_selector = selector.clone();
        let task_token = token.clone();
        tokio::spawn(async move {
            let apply = |nodes: Vec<Node>| {
                task_selector.apply(nodes);
                ready_tx.send_replace(true);
                std::future::ready(())
            };
            tokio::select! {
                _ = task_token.cancelled() => {}
                _ = watch_nodes(discovery, &name, scheme, apply) => {}
            }
        });
        Resolved {
            selector,
            ready,
            _stop: token.drop_guard(),
        }
    }

    /// The selector the task keeps up to date.
    pub fn selector(&self) -> &Selector {
        &self.selector
    }

    /// Waits until the service has at least one node (Kratos' `WithBlock`).
    pub async fn wait_ready(&self) {
        let mut ready = self.ready.clone();
        let _ = ready.wait_for(|r| *r).await;
    }
}

/// The resolver loop (Kratos' resolver): watches service `name` through `discovery`, retrying a
/// failed watch every second, and hands each update with at least one node of `scheme` to
/// `apply`; an update with none is ignored, keeping the last nodes, as Kratos does. It runs
/// until its future is dropped.
pub async fn watch_nodes<F, Fut>(
    discovery: Arc<dyn crate::registry::Discovery>,
    name: &str,
    scheme: &'static str,
    mut apply: F,
) where
    F: FnMut(Vec<Node>) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    loop {
        let mut watcher = match discovery.watch(name).await {
            Ok(w) => w,
            Err(err) => {
                tracing::warn!(service = name, error = %err, "resolver: watch failed; retrying");
                tokio::time::sleep(RETRY_PAUSE).await;
                continue;
            }
        };
        loop {
            match watcher.next().await {
                Ok(instances) => {
                    let nodes: Vec<Node> = instances
                        .iter()
                        .filter_map(|i| Node::from_instance(i, scheme))
                        .collect();
                    if nodes.is_empty() {
                        tracing::warn!(
                            service = name,
                            "resolver: no instance with a {scheme} endpoint; keeping the last nodes"
                        );
                        continue;
                    }
                    apply(nodes).await;
                }
                Err(crate::registry::RegistryError::WatcherStopped) => break,
                Err(err) => {
                    tracing::warn!(service = name, error = %err, "resolver: watch failed; retrying");
                    tokio::time::sleep(RETRY_PAUSE).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::collections::HashMap;

    fn node(address: &str, weight: Option<&str>, version: &str) -> Node {
        let mut instance = ServiceInstance::new(address, "svc")
            .with_version(version)
            .with_endpoint(format!("http://{address}"));
        if let Some(w) = weight {
            instance = instance.with_metadata("weight", w);
        }
        Node::from_instance(&instance, "http").unwrap()
    }

    fn counts(selector: &Selector, picks: usize, filters: &[NodeFilter]) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for _ in 0..picks {
            *counts
                .entry(selector.select(filters).unwrap().address.clone())
                .or_default() += 1;
        }
        counts
    }

    #[test]
    fn weights_10_and_20_over_90_picks_give_30_and_60() {
        let selector = Selector::new();
        selector.apply(vec![
            node("a:1", Some("10"), "v1"),
            node("b:1", Some("20"), "v1"),
        ]);
        let c = counts(&selector, 90, &[]);
        assert_eq!((c["a:1"], c["b:1"]), (30, 60));
    }

    #[test]
    fn picks_are_spread_not_bursts() {
        let selector = Selector::new();
        selector.apply(vec![
            node("a:1", Some("1"), "v1"),
            node("b:1", Some("2"), "v1"),
        ]);
        let order: Vec<String> = (0..6)
            .map(|_| selector.select(&[]).unwrap().address.clone())
            .collect();
        assert_eq!(order, ["b:1", "a:1", "b:1", "b:1", "a:1", "b:1"]);
    }

    #[test]
    fn no_weight_means_100_and_equal_weights_alternate() {
        let n = node("a:1", None, "v1");
        assert_eq!(n.weight, DEFAULT_WEIGHT);
        let selector = Selector::new();
        selector.apply(vec![n, node("b:1", Some("100"), "v1")]);
        let order: Vec<String> = (0..4)
            .map(|_| selector.select(&[]).unwrap().address.clone())
            .collect();
        assert_eq!(order, ["a:1", "b:1", "a:1", "b:1"]);
    }

    #[test]
    fn the_version_filter_keeps_only_that_version() {
        let selector = Selector::new();
        selector.apply(vec![node("a:1", None, "v1"), node("b:1", None, "v2")]);
        let c = counts(&selector, 10, &[version("v2")]);
        assert_eq!(c.get("b:1"), Some(&10));
        assert_eq!(c.get("a:1"), None);
    }

    #[test]
    fn no_candidate_is_503_no_available_node() {
        let selector = Selector::new();
        let err = selector.select(&[]).unwrap_err();
        assert_eq!((err.code(), err.reason()), (503, NO_AVAILABLE_REASON));
        selector.apply(vec![node("a:1", None, "v1")]);
        let err = selector.select(&[version("v9")]).unwrap_err();
        assert_eq!((err.code(), err.reason()), (503, NO_AVAILABLE_REASON));
        selector.apply(Vec::new());
        assert!(selector.select(&[]).is_err());
    }

    #[test]
    fn instances_without_an_endpoint_of_the_scheme_are_no_nodes() {
        let instance = ServiceInstance::new("1", "svc").with_endpoint("grpc://a:9000");
        assert!(Node::from_instance(&instance, "http").is_none());
        assert_eq!(
            Node::from_instance(&instance, "grpc").unwrap().address,
            "a:9000"
        );
        let bad_weight = ServiceInstance::new("2", "svc")
            .with_endpoint("http://b:1")
            .with_metadata("weight", "heavy");
        assert_eq!(
            Node::from_instance(&bad_weight, "http").unwrap().weight,
            DEFAULT_WEIGHT
        );
    }
}
