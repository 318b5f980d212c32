//! The per-instance registration lifecycle both backends share (kratos-reference.md §6.6).
//!
//! One [`Slot`] per registry key, behind its own async lock, holds the instance's heartbeat
//! (a cancellation token and the task's join handle) and the backend's per-instance state
//! (etcd: the leases granted for it). `register` and `deregister` of one key are serialised by
//! that lock; different keys never wait for each other.
//!
//! Why nothing comes back after `deregister`: after the initial registration, the heartbeat
//! task is the only code that writes for the instance. Every await in it goes through
//! [`Ctx::call`] / [`Ctx::sleep`], which check the token first (`biased`) and race it, so a
//! cancelled task issues no further request. `deregister` cancels the token and joins the task
//! before it removes the instance remotely; when it returns, the task and all its futures
//! (requests, timers) have been dropped, so no write for the instance can be issued any more.
//! A write already on the wire when the task was cancelled is the backend's concern: etcd
//! writes carry a lease that `deregister` revokes afterwards (a late put either fails or is
//! deleted with the lease); see each backend's documentation.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::OwnedMutexGuard;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{RegistryError, RegistryStats, ServiceInstance};

/// Timing of heartbeats' retries and calls.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Policy {
    /// Time allowed for one backend call.
    pub op_timeout: Duration,
    /// First retry delay after a heartbeat failure.
    pub backoff_min: Duration,
    /// Largest retry delay.
    pub backoff_max: Duration,
}

impl Policy {
    /// The delay before retry `attempt` (0-based): doubling from `backoff_min`, capped at
    /// `backoff_max`, with jitter in [50 %, 100 %].
    pub fn backoff(&self, attempt: u32) -> Duration {
        let base = self
            .backoff_min
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.backoff_max);
        let jitter = 0.5 + (random_u64() % 1000) as f64 / 2000.0;
        base.mul_f64(jitter)
    }
}

/// A pseudo-random number from the standard library's randomly keyed hasher.
pub(crate) fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.finish()
}

/// The counters behind [`RegistryStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub registrations: AtomicU64,
    pub deregistrations: AtomicU64,
    pub heartbeats: AtomicU64,
    pub heartbeat_failures: AtomicU64,
    pub reregistrations: AtomicU64,
    pub live_heartbeats: AtomicU64,
}

impl Counters {
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn snapshot(&self) -> RegistryStats {
        RegistryStats {
            registrations: self.registrations.load(Ordering::Relaxed),
            deregistrations: self.deregistrations.load(Ordering::Relaxed),
            heartbeats: self.heartbeats.load(Ordering::Relaxed),
            heartbeat_failures: self.heartbeat_failures.load(Ordering::Relaxed),
            reregistrations: self.reregistrations.load(Ordering::Relaxed),
            live_heartbeats: self.live_heartbeats.load(Ordering::SeqCst),
        }
    }
}

/// Counts one live heartbeat task for as long as it exists (dropped with the task's future).
struct LiveGuard(Arc<Counters>);

impl LiveGuard {
    fn new(counters: Arc<Counters>) -> Self {
        counters.live_heartbeats.fetch_add(1, Ordering::SeqCst);
        LiveGuard(counters)
    }
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.live_heartbeats.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What a heartbeat or registration runs under: its cancellation token, the policy and the
/// counters.
#[derive(Clone)]
pub(crate) struct Ctx {
    pub token: CancellationToken,
    pub policy: Policy,
    pub counters: Arc<Counters>,
    pub backend: &'static str,
}

impl Ctx {
    /// Runs one backend call, raced against cancellation (checked first: a cancelled context
    /// never starts the call) and bounded by the call timeout.
    pub async fn call<F: Future>(
        &self,
        op: &'static str,
        target: &str,
        fut: F,
    ) -> Result<F::Output, RegistryError> {
        tokio::select! {
            biased;
            _ = self.token.cancelled() => Err(RegistryError::Cancelled {
                op,
                instance: target.to_string(),
            }),
            r = tokio::time::timeout(self.policy.op_timeout, fut) => r.map_err(|_| {
                RegistryError::Timeout {
                    backend: self.backend,
                    op,
                    target: target.to_string(),
                    timeout: self.policy.op_timeout,
                }
            }),
        }
    }

    /// Sleeps `duration` unless cancelled first; `false` when cancelled.
    pub async fn sleep(&self, duration: Duration) -> bool {
        tokio::select! {
            biased;
            _ = self.token.cancelled() => false,
            _ = tokio::time::sleep(duration) => true,
        }
    }

    /// Whether the instance was deregistered, re-registered or the registry closed.
    pub fn is_cancelled(&self) -> bool {
        self.token.is_cancelled()
    }
}

/// A registry backend, driven by the [`Keeper`].
pub(crate) trait Backend: Send + Sync + 'static {
    /// Per-instance state shared by registration, heartbeat and removal.
    type State: Default + Send + Sync + 'static;

    /// The registry key of an instance (one slot per key).
    fn key(&self, instance: &ServiceInstance) -> String;

    /// Registers the instance remotely once. Every call goes through `ctx`.
    fn register_once<'a>(
        &'a self,
        instance: &'a ServiceInstance,
        state: &'a Self::State,
        ctx: &'a Ctx,
    ) -> impl Future<Output = Result<(), RegistryError>> + Send + 'a;

    /// Keeps the registration alive until a failure (returned) or cancellation. Counts each
    /// successful heartbeat in `ctx.counters.heartbeats`. Every call and wait goes through
    /// `ctx`.
    fn keep_alive<'a>(
        &'a self,
        instance: &'a ServiceInstance,
        state: &'a Self::State,
        ctx: &'a Ctx,
    ) -> impl Future<Output = RegistryError> + Send + 'a;

    /// Removes the instance remotely, "not found" counting as success. Runs after the
    /// heartbeat has been joined; bounded by `policy.op_timeout` per call.
    fn remove<'a>(
        &'a self,
        instance: &'a ServiceInstance,
        state: &'a Self::State,
        policy: Policy,
    ) -> impl Future<Output = Result<(), RegistryError>> + Send + 'a;
}

/// The running heartbeat of a registered instance.
struct Live {
    token: CancellationToken,
    task: JoinHandle<()>,
}

/// The registration state of one key.
struct Slot<S> {
    /// Removed from the map: whoever locks it afterwards must look the key up again.
    retired: bool,
    /// The instance last registered under this key.
    instance: Option<Arc<ServiceInstance>>,
    /// The backend's state for this key (kept until the remote removal succeeded).
    state: Arc<S>,
    live: Option<Live>,
}

type SlotRef<S> = Arc<tokio::sync::Mutex<Slot<S>>>;

struct Slots<S> {
    closed: bool,
    map: HashMap<String, SlotRef<S>>,
}

/// Per-instance registrations with heartbeats, for one backend.
pub(crate) struct Keeper<B: Backend> {
    backend: Arc<B>,
    root: CancellationToken,
    slots: Mutex<Slots<B::State>>,
    counters: Arc<Counters>,
    policy: Policy,
    name: &'static str,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl<B: Backend> Keeper<B> {
    pub fn new(backend: B, policy: Policy, name: &'static str) -> Self {
        Keeper {
            backend: Arc::new(backend),
            root: CancellationToken::new(),
            slots: Mutex::new(Slots {
                closed: false,
                map: HashMap::new(),
            }),
            counters: Arc::new(Counters::default()),
            policy,
            name,
        }
    }

    pub fn backend(&self) -> &B {
        &self.backend
    }

    pub fn stats(&self) -> RegistryStats {
        self.counters.snapshot()
    }

    /// Locks the slot of `key`, creating it if needed (`None` when creating is refused
    /// because the registry is closed and `for_register`).
    async fn lock_slot(
        &self,
        key: &str,
        for_register: bool,
    ) -> Option<OwnedMutexGuard<Slot<B::State>>> {
        loop {
            let slot = {
                let mut slots = lock(&self.slots);
                if for_register && slots.closed {
                    return None;
                }
                slots
                    .map
                    .entry(key.to_string())
                    .or_insert_with(|| {
                        Arc::new(tokio::sync::Mutex::new(Slot {
                            retired: false,
                            instance: None,
                            state: Arc::new(B::State::default()),
                            live: None,
                        }))
                    })
                    .clone()
            };
            let guard = slot.lock_owned().await;
            if !guard.retired {
                return Some(guard);
            }
        }
    }

    /// Removes a slot from the map (under its lock), so later callers start afresh. Entries
    /// leave the map only here, so the entry of `key` is this (locked, not yet retired) slot.
    fn retire(&self, key: &str, slot: &mut OwnedMutexGuard<Slot<B::State>>) {
        slot.retired = true;
        lock(&self.slots).map.remove(key);
    }

    /// Cancels the slot's heartbeat and waits until its task has ended.
    async fn stop_heartbeat(&self, slot: &mut Slot<B::State>) {
        if let Some(live) = slot.live.as_mut() {
            live.token.cancel();
            if let Err(e) = (&mut live.task).await {
                tracing::error!(registry = self.name, error = %e, "heartbeat task failed");
            }
        }
        slot.live = None;
    }

    pub async fn register(&self, instance: &ServiceInstance) -> Result<(), RegistryError> {
        let key = self.backend.key(instance);
        let Some(mut slot) = self.lock_slot(&key, true).await else {
            return Err(RegistryError::Closed);
        };
        self.stop_heartbeat(&mut slot).await;
        let token = self.root.child_token();
        let ctx = Ctx {
            token: token.clone(),
            policy: self.policy,
            counters: self.counters.clone(),
            backend: self.name,
        };
        let instance = Arc::new(instance.clone());
        slot.instance = Some(instance.clone());
        let state = slot.state.clone();
        if let Err(e) = self.backend.register_once(&instance, &state, &ctx).await {
            return Err(if self.root.is_cancelled() {
                RegistryError::Closed
            } else {
                e
            });
        }
        Counters::inc(&self.counters.registrations);
        let guard = LiveGuard::new(self.counters.clone());
        let backend = self.backend.clone();
        let name = self.name;
        let task = tokio::spawn(async move {
            let _live = guard;
            heartbeat(&*backend, &instance, &state, &ctx, name).await;
        });
        slot.live = Some(Live { token, task });
        tracing::info!(registry = self.name, %key, "registered");
        Ok(())
    }

    pub async fn deregister(&self, instance: &ServiceInstance) -> Result<(), RegistryError> {
        let key = self.backend.key(instance);
        let Some(mut slot) = self.lock_slot(&key, false).await else {
            return Err(RegistryError::Closed);
        };
        self.stop_heartbeat(&mut slot).await;
        let state = slot.state.clone();
        self.backend.remove(instance, &state, self.policy).await?;
        Counters::inc(&self.counters.deregistrations);
        self.retire(&key, &mut slot);
        tracing::info!(registry = self.name, %key, "deregistered");
        Ok(())
    }

    /// Stops every heartbeat and removes every instance remotely; later registrations fail
    /// with [`RegistryError::Closed`]. Returns the first removal error (all are logged).
    pub async fn close(&self) -> Result<(), RegistryError> {
        let slots: Vec<(String, SlotRef<B::State>)> = {
            let mut slots = lock(&self.slots);
            slots.closed = true;
            slots
                .map
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        self.root.cancel();
        let mut first = None;
        for (key, slot) in slots {
            let mut slot = slot.lock_owned().await;
            if slot.retired {
                continue;
            }
            self.stop_heartbeat(&mut slot).await;
            if let Some(instance) = slot.instance.clone() {
                let state = slot.state.clone();
                match self.backend.remove(&instance, &state, self.policy).await {
                    Ok(()) => Counters::inc(&self.counters.deregistrations),
                    Err(e) => {
                        tracing::error!(registry = self.name, %key, error = %e, "close: removal failed");
                        first.get_or_insert(e);
                    }
                }
            }
            self.retire(&key, &mut slot);
        }
        first.map_or(Ok(()), Err)
    }
}

impl<B: Backend> Drop for Keeper<B> {
    fn drop(&mut self) {
        // Heartbeats end on their own at their next await; `close` awaits them.
        self.root.cancel();
    }
}

/// The heartbeat task of one instance: keep alive; on failure re-register with capped backoff,
/// for as long as the token is not cancelled. Never gives up: every failure is logged and
/// counted.
async fn heartbeat<B: Backend>(
    backend: &B,
    instance: &ServiceInstance,
    state: &B::State,
    ctx: &Ctx,
    name: &'static str,
) {
    loop {
        let error = backend.keep_alive(instance, state, ctx).await;
        if ctx.is_cancelled() {
            return;
        }
        Counters::inc(&ctx.counters.heartbeat_failures);
        tracing::warn!(registry = name, %instance, %error, "heartbeat failed; re-registering");
        let mut attempt = 0u32;
        loop {
            if !ctx.sleep(ctx.policy.backoff(attempt)).await {
                return;
            }
            match backend.register_once(instance, state, ctx).await {
                Ok(()) => {
                    Counters::inc(&ctx.counters.reregistrations);
                    tracing::info!(registry = name, %instance, attempt, "re-registered");
                    break;
                }
                Err(_) if ctx.is_cancelled() => return,
                Err(error) => {
                    Counters::inc(&ctx.counters.heartbeat_failures);
                    tracing::error!(
                        registry = name,
                        %instance,
                        attempt,
                        %error,
                        "re-registration failed; retrying"
                    );
                    attempt = attempt.saturating_add(1);
                }
            }
        }
    }
}
