//! Node selection for clients (Kratos' `selector` package): the instances a client may call,
//! kept up to date from a registry [`Discovery`](crate::registry::Discovery), and a pick per
//! call by a [`Balancer`]: smooth weighted round-robin (`wrr`, the default, as Kratos),
//! power of two choices over EWMA latency (`p2c`) or uniform random (`random`). The HTTP
//! client and the gRPC channel share this selector.
//!
//! The rules every balancer follows:
//! - a node's weight is its instance's `weight` metadata, else [`DEFAULT_WEIGHT`]; a node of
//!   weight 0 is never picked (a way to drain an instance), a negative or unreadable weight is
//!   the default;
//! - only the nodes every [`NodeFilter`] keeps are candidates; none is 503
//!   `no_available_node`;
//! - the balancer's state of a node (current weight, latency and success averages) is kept
//!   across updates for an address still present with the same weight, and dropped for an
//!   address that left, so stale state never outlives its node (Kratos #3690, #2783);
//! - each pick returns a [`Picked`], whose [`done`](Picked::done) reports the call's outcome
//!   (p2c learns from it; a `Picked` dropped without it counts as a failed call, as a
//!   cancelled call in Kratos).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

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
    /// The weight from the instance's `weight` metadata, else [`DEFAULT_WEIGHT`]; 0: never
    /// picked.
    pub weight: i64,
    /// The instance it came from.
    pub instance: Arc<ServiceInstance>,
}

impl Node {
    /// The node of `instance` for `scheme` (`http`, `grpc`): its first endpoint with that
    /// scheme, or `None` when it has none.
    pub fn from_instance(instance: &ServiceInstance, scheme: &str) -> Option<Node> {
        Self::with_address(instance, instance.endpoint(scheme)?)
    }

    /// The node of `instance` for a client of `scheme` with or without TLS: its first
    /// endpoint as [`ServiceInstance::endpoint_for`] picks it, or `None`.
    pub fn from_instance_for(
        instance: &ServiceInstance,
        scheme: &str,
        secure: bool,
    ) -> Option<Node> {
        Self::with_address(instance, instance.endpoint_for(scheme, secure)?)
    }

    fn with_address(instance: &ServiceInstance, address: &str) -> Option<Node> {
        if address.is_empty() {
            return None;
        }
        let weight = instance
            .metadata
            .get("weight")
            .and_then(|w| w.parse::<i64>().ok())
            .filter(|w| *w >= 0)
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

/// How a [`Selector`] picks among its candidates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Balancer {
    /// Smooth weighted round-robin (nginx's, Kratos' `wrr`, the default): every candidate's
    /// current weight grows by its weight, the largest wins (the first on ties) and loses the
    /// total. Over a cycle each node is picked in proportion to its weight, spread out.
    #[default]
    Wrr,
    /// Power of two choices (Kratos' `p2c`): of two distinct random candidates, the one with
    /// the higher score `success × 10000 / load` wins, where `success` is an exponentially
    /// weighted average (decay 600 ms) of the outcomes (1000 for a success, 0 for a failure)
    /// and `load` is `√(lag + 5 ms) × in flight` with `lag` the weighted average latency
    /// (raised to the mean age of the calls in flight that are older than it, when more than
    /// half are) or `100 µs × in flight` before any latency is known. A candidate never
    /// picked, or not picked for 3 s, is picked once in place of the winner, so new nodes are
    /// measured and a node that recovered is tried again. Weights are not used.
    P2c,
    /// Uniform random among the candidates (Kratos' `random`). Weights are not used.
    Random,
}

/// The time after which p2c picks a candidate it has not picked (Kratos' `forcePick`).
const FORCE_PICK: Duration = Duration::from_secs(3);
/// p2c's decay time of its averages (Kratos' `tau`).
const TAU: Duration = Duration::from_millis(600);
/// p2c's load per call in flight before any latency is known (Kratos' `penalty`).
const PENALTY_NANOS: f64 = 100_000.0;

/// A node's p2c statistics (Kratos' EWMA node).
#[derive(Debug)]
struct Ewma {
    /// Weighted average latency, in nanoseconds (0: none yet).
    lag: f64,
    /// Weighted average success, 0 to 1000.
    success: f64,
    /// Calls in flight, plus one (as Kratos: the load is never 0).
    inflight: u64,
    /// Start times of the calls in flight.
    starts: Vec<Instant>,
    /// When the averages were last updated.
    stamp: Instant,
    /// When the node was last picked (`None`: never, so it is due for a forced pick).
    last_pick: Option<Instant>,
    /// The lag predicted from slow calls in flight, and when it was computed.
    predict: f64,
    predicted_at: Instant,
}

impl Ewma {
    fn new(now: Instant) -> Self {
        Ewma {
            lag: 0.0,
            success: 1000.0,
            inflight: 1,
            starts: Vec::new(),
            stamp: now,
            last_pick: None,
            predict: 0.0,
            predicted_at: now,
        }
    }

    fn load(&mut self, now: Instant) -> f64 {
        let avg = self.lag;
        let interval = Duration::from_nanos((avg / 5.0) as u64)
            .clamp(Duration::from_millis(5), Duration::from_millis(200));
        if now.duration_since(self.predicted_at) > interval {
            self.predicted_at = now;
            let (mut total, mut count) = (0.0, 0usize);
            for start in &self.starts {
                let lag = now.duration_since(*start).as_nanos() as f64;
                if lag > avg {
                    count += 1;
                    total += lag;
                }
            }
            self.predict = if count > self.starts.len() / 2 + 1 {
                total / count as f64
            } else {
                0.0
            };
        }
        if avg == 0.0 {
            return PENALTY_NANOS * self.inflight as f64;
        }
        let lag = avg.max(self.predict) + 5_000_000.0;
        lag.sqrt() * self.inflight as f64
    }

    fn score(&mut self, now: Instant) -> f64 {
        self.success * 10_000.0 / self.load(now)
    }

    fn pick(&mut self, now: Instant) {
        self.last_pick = Some(now);
        self.inflight += 1;
        self.starts.push(now);
    }

    fn done(&mut self, start: Instant, ok: bool) {
        let now = Instant::now();
        if let Some(i) = self.starts.iter().position(|s| *s == start) {
            self.starts.swap_remove(i);
        }
        self.inflight = self.inflight.saturating_sub(1).max(1);
        let td = now.duration_since(self.stamp).as_nanos() as f64;
        self.stamp = now;
        let mut w = (-td / TAU.as_nanos() as f64).exp();
        let lag = now.duration_since(start).as_nanos() as f64;
        if self.lag == 0.0 {
            w = 0.0;
        }
        self.lag = self.lag * w + lag * (1.0 - w);
        let success = if ok { 1000.0 } else { 0.0 };
        self.success = self.success * w + success * (1.0 - w);
    }
}

/// A node with the balancer's state of it.
#[derive(Debug)]
struct Entry {
    node: Arc<Node>,
    /// wrr: the current weight.
    current: i64,
    /// p2c: the statistics, shared with the calls in flight.
    ewma: Arc<Mutex<Ewma>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A picked node; report the call's outcome with [`Picked::done`]. Dereferences to the
/// [`Node`].
#[derive(Debug)]
pub struct Picked {
    node: Arc<Node>,
    pending: Option<(Arc<Mutex<Ewma>>, Instant)>,
}

impl Picked {
    /// The node.
    pub fn node(&self) -> &Arc<Node> {
        &self.node
    }

    /// Reports the call's outcome: `ok` is false for a failed call (a transport error, a
    /// timeout, 503 or 504), which p2c avoids; its latency is the time since the pick.
    pub fn done(mut self, ok: bool) {
        if let Some((ewma, start)) = self.pending.take() {
            lock(&ewma).done(start, ok);
        }
    }
}

impl Drop for Picked {
    fn drop(&mut self) {
        if let Some((ewma, start)) = self.pending.take() {
            lock(&ewma).done(start, false);
        }
    }
}

impl std::ops::Deref for Picked {
    type Target = Node;

    fn deref(&self) -> &Node {
        &self.node
    }
}

/// The nodes of one service and the balancer's state.
#[derive(Debug, Default)]
pub struct Selector {
    balancer: Balancer,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// `None` before the first [`Selector::apply`].
    entries: Option<Vec<Entry>>,
    /// The nodes as last applied.
    nodes: Option<Arc<Vec<Arc<Node>>>>,
    /// Counts the updates that changed the addresses.
    generation: u64,
}

impl Selector {
    /// A selector with no nodes yet, balancing by [`Balancer::Wrr`].
    pub fn new() -> Self {
        Self::default()
    }

    /// A selector with no nodes yet, balancing by `balancer`.
    pub fn with_balancer(balancer: Balancer) -> Self {
        Selector {
            balancer,
            state: Mutex::default(),
        }
    }

    /// The balancer.
    pub fn balancer(&self) -> Balancer {
        self.balancer
    }

    /// Replaces the nodes. The balancer's state of an address still present with the same
    /// weight is kept; that of an address that left (or whose weight changed) is dropped.
    pub fn apply(&self, nodes: Vec<Node>) {
        let mut state = lock(&self.state);
        let mut old: HashMap<String, Entry> = state
            .entries
            .take()
            .unwrap_or_default()
            .into_iter()
            .map(|e| (e.node.address.clone(), e))
            .collect();
        let now = Instant::now();
        let mut changed = old.len() != nodes.len();
        let entries: Vec<Entry> = nodes
            .into_iter()
            .map(|node| match old.remove(&node.address) {
                Some(e) if e.node.weight == node.weight => Entry {
                    node: Arc::new(node),
                    current: e.current,
                    ewma: e.ewma,
                },
                found => {
                    changed |= found.is_none();
                    Entry {
                        node: Arc::new(node),
                        current: 0,
                        ewma: Arc::new(Mutex::new(Ewma::new(now))),
                    }
                }
            })
            .collect();
        if changed {
            state.generation += 1;
        }
        state.nodes = Some(Arc::new(entries.iter().map(|e| e.node.clone()).collect()));
        state.entries = Some(entries);
    }

    /// The current nodes (`None` before the first [`apply`](Selector::apply)).
    pub fn nodes(&self) -> Option<Arc<Vec<Arc<Node>>>> {
        lock(&self.state).nodes.clone()
    }

    /// A number that changes whenever an update adds or removes an address (for clients that
    /// keep a connection per node, to know when to drop those of nodes that left).
    pub fn generation(&self) -> u64 {
        lock(&self.state).generation
    }

    /// Picks a node among those of non-zero weight that `filters` all keep, by the
    /// selector's [`Balancer`]. No candidate: 503 `no_available_node`.
    pub fn select(&self, filters: &[NodeFilter]) -> Result<Picked, Error> {
        let mut state = lock(&self.state);
        let entries = &mut state.entries;
        let entries = entries.as_mut().ok_or_else(no_available)?;
        let keep = |e: &Entry| e.node.weight > 0 && filters.iter().all(|keep| keep(&e.node));
        let i = match self.balancer {
            Balancer::Wrr => {
                let mut total = 0i64;
                let mut best: Option<(usize, i64)> = None;
                for (i, e) in entries.iter_mut().enumerate() {
                    if !keep(e) {
                        continue;
                    }
                    total = total.saturating_add(e.node.weight);
                    e.current = e.current.saturating_add(e.node.weight);
                    if best.is_none_or(|(_, current)| e.current > current) {
                        best = Some((i, e.current));
                    }
                }
                let (i, _) = best.ok_or_else(no_available)?;
                entries[i].current = entries[i].current.saturating_sub(total);
                return Ok(Picked {
                    node: entries[i].node.clone(),
                    pending: None,
                });
            }
            Balancer::Random => {
                let count = entries.iter().filter(|e| keep(e)).count();
                if count == 0 {
                    return Err(no_available());
                }
                nth_kept(entries, &keep, fastrand::usize(..count))
            }
            Balancer::P2c => {
                let count = entries.iter().filter(|e| keep(e)).count();
                match count {
                    0 => return Err(no_available()),
                    1 => nth_kept(entries, &keep, 0),
                    _ => {
                        let a = fastrand::usize(..count);
                        let mut b = fastrand::usize(..count - 1);
                        if b >= a {
                            b += 1;
                        }
                        let (a, b) = (nth_kept(entries, &keep, a), nth_kept(entries, &keep, b));
                        let now = Instant::now();
                        let (score_a, score_b) = (
                            lock(&entries[a].ewma).score(now),
                            lock(&entries[b].ewma).score(now),
                        );
                        let (pick, other) = if score_b > score_a { (b, a) } else { (a, b) };
                        // The pick below marks the forced node picked, so under the lock
                        // one forced pick happens at a time, as Kratos.
                        let last = lock(&entries[other].ewma).last_pick;
                        if last.is_none_or(|at| now.duration_since(at) > FORCE_PICK) {
                            other
                        } else {
                            pick
                        }
                    }
                }
            }
        };
        let entry = &entries[i];
        let pending = (self.balancer == Balancer::P2c).then(|| {
            let now = Instant::now();
            lock(&entry.ewma).pick(now);
            (entry.ewma.clone(), now)
        });
        Ok(Picked {
            node: entry.node.clone(),
            pending,
        })
    }
}

/// The index of the `n`th entry `keep` keeps.
fn nth_kept(entries: &[Entry], keep: &impl Fn(&Entry) -> bool, n: usize) -> usize {
    entries
        .iter()
        .enumerate()
        .filter(|(_, e)| keep(e))
        .nth(n)
        .map_or(0, |(i, _)| i)
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
    /// Starts resolving service `name` through `discovery` into `selector`, keeping the
    /// instances' endpoints of `scheme` (secure ones when `secure`, see
    /// [`Node::from_instance_for`]). Must be called within a tokio runtime.
    pub fn start(
        discovery: Arc<dyn crate::registry::Discovery>,
        name: String,
        scheme: &'static str,
        secure: bool,
        selector: Selector,
    ) -> Self {
        let selector = Arc::new(selector);
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
                _ = watch_nodes(discovery, &name, scheme, secure, apply) => {}
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
/// failed watch every second, and hands each update with at least one node of `scheme`
/// (secure or not, see [`Node::from_instance_for`]) to `apply`; an update with none is
/// ignored, keeping the last nodes, as Kratos does. It runs until its future is dropped.
pub async fn watch_nodes<F, Fut>(
    discovery: Arc<dyn crate::registry::Discovery>,
    name: &str,
    scheme: &'static str,
    secure: bool,
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
                        .filter_map(|i| Node::from_instance_for(i, scheme, secure))
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

    #[test]
    fn weight_zero_is_never_picked_and_negative_or_bad_is_the_default() {
        let zero = node("z:1", Some("0"), "v1");
        assert_eq!(zero.weight, 0);
        assert_eq!(node("n:1", Some("-5"), "v1").weight, DEFAULT_WEIGHT);
        for balancer in [Balancer::Wrr, Balancer::P2c, Balancer::Random] {
            let selector = Selector::with_balancer(balancer);
            selector.apply(vec![zero.clone(), node("a:1", Some("10"), "v1")]);
            for _ in 0..50 {
                let picked = selector.select(&[]).unwrap();
                assert_eq!(picked.address, "a:1", "{balancer:?}");
                picked.done(true);
            }
            selector.apply(vec![zero.clone()]);
            let err = selector.select(&[]).unwrap_err();
            assert_eq!(err.reason(), NO_AVAILABLE_REASON, "{balancer:?}");
        }
    }

    /// The rule: an update keeps the state of the addresses that stay with the same weight,
    /// and starts afresh for the others; the generation moves only when addresses change.
    #[test]
    fn state_is_kept_for_staying_nodes_and_dropped_for_those_that_leave() {
        let selector = Selector::new();
        let a = node("a:1", Some("1"), "v1");
        let b = node("b:1", Some("2"), "v1");
        selector.apply(vec![a.clone(), b.clone()]);
        let generation = selector.generation();
        // cw a=1 b=2 → b (b=-1).
        assert_eq!(selector.select(&[]).unwrap().address, "b:1");
        // The same nodes again: state kept (a=2 b=1 → a), generation unchanged.
        selector.apply(vec![a.clone(), b.clone()]);
        assert_eq!(selector.generation(), generation);
        assert_eq!(selector.select(&[]).unwrap().address, "a:1");
        // a leaves, then comes back: its state starts at 0, b's is kept (b=1 after the last
        // pick: a=2-3=-1, b=1).
        selector.apply(vec![b.clone()]);
        assert_ne!(selector.generation(), generation);
        selector.apply(vec![a.clone(), b.clone()]);
        // a=0+1=1, b=1+2=3 → b.
        assert_eq!(selector.select(&[]).unwrap().address, "b:1");
        // A changed weight restarts that node.
        selector.apply(vec![a, node("b:1", Some("5"), "v1")]);
        // a=(1)+1=2... b restarted: 0+5=5 → b.
        assert_eq!(selector.select(&[]).unwrap().address, "b:1");
    }

    #[test]
    fn random_picks_every_candidate_and_only_candidates() {
        let selector = Selector::with_balancer(Balancer::Random);
        selector.apply(vec![
            node("a:1", None, "v1"),
            node("b:1", None, "v2"),
            node("c:1", None, "v2"),
        ]);
        let c = counts(&selector, 600, &[version("v2")]);
        assert_eq!(c.get("a:1"), None);
        assert!(c["b:1"] > 100 && c["c:1"] > 100, "{c:?}");
    }

    /// p2c: a node whose calls fail scores 0 and is avoided, once each node was measured.
    #[test]
    fn p2c_avoids_a_failing_node() {
        let selector = Selector::with_balancer(Balancer::P2c);
        selector.apply(vec![node("bad:1", None, "v1"), node("good:1", None, "v1")]);
        let mut bad = 0;
        for _ in 0..100 {
            let picked = selector.select(&[]).unwrap();
            let ok = picked.address == "good:1";
            bad += usize::from(!ok);
            picked.done(ok);
        }
        // Each node is tried once (the first pick, or a never-picked node's forced pick);
        // then the failing one only after 3 s without a pick.
        assert!(bad <= 2, "the failing node got {bad} of 100 calls");
    }

    /// A pick dropped without a report counts as a failure (a cancelled call).
    #[test]
    fn a_dropped_pick_counts_as_a_failure() {
        let selector = Selector::with_balancer(Balancer::P2c);
        selector.apply(vec![node("a:1", None, "v1"), node("b:1", None, "v1")]);
        let first = selector.select(&[]).unwrap();
        let dropped = first.address.clone();
        drop(first);
        let mut to_dropped = 0;
        for _ in 0..50 {
            let picked = selector.select(&[]).unwrap();
            to_dropped += usize::from(picked.address == dropped);
            picked.done(true);
        }
        assert!(to_dropped <= 1, "{to_dropped}");
    }
}
