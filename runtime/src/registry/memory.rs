//! A registry in process memory: for tests, and for services and clients living in one
//! process. It implements both [`Registrar`] and [`Discovery`]; clones share the registry.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::watch;

use super::{BoxFuture, Discovery, Registrar, RegistryError, ServiceInstance, Watcher};

/// Instances by service name, then by id.
type Services = BTreeMap<String, BTreeMap<String, ServiceInstance>>;

#[derive(Debug, Default)]
struct Shared {
    services: Mutex<Services>,
    /// Bumped on every change, so watchers wake up and compare their service's list.
    version: watch::Sender<u64>,
    open_watchers: AtomicUsize,
}

/// A registry kept in memory. Registration needs no heartbeat: an instance stays until it is
/// deregistered. Watchers see every change of their service's list.
#[derive(Debug, Clone, Default)]
pub struct MemoryRegistry {
    shared: Arc<Shared>,
}

impl MemoryRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many watchers are open (not stopped or dropped): a client that resolves through
    /// this registry holds one while it lives.
    pub fn open_watchers(&self) -> usize {
        self.shared.open_watchers.load(Ordering::SeqCst)
    }

    fn list(&self, name: &str) -> Vec<ServiceInstance> {
        self.shared
            .services
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .map(|by_id| by_id.values().cloned().collect())
            .unwrap_or_default()
    }

    fn change(&self, f: impl FnOnce(&mut Services)) {
        f(&mut self
            .shared
            .services
            .lock()
            .unwrap_or_else(PoisonError::into_inner));
        self.shared.version.send_modify(|v| *v += 1);
    }
}

impl Registrar for MemoryRegistry {
    fn register<'a>(
        &'a self,
        instance: &'a ServiceInstance,
    ) -> BoxFuture<'a, Result<(), RegistryError>> {
        Box::pin(async move {
            if instance.id.is_empty() || instance.name.is_empty() {
                return Err(RegistryError::Invalid {
                    instance: format!("{}-{}", instance.name, instance.id),
                    reason: "an instance needs a name and an id".into(),
                });
            }
            self.change(|services| {
                services
                    .entry(instance.name.clone())
                    .or_default()
                    .insert(instance.id.clone(), instance.clone());
            });
            Ok(())
        })
    }

    fn deregister<'a>(
        &'a self,
        instance: &'a ServiceInstance,
    ) -> BoxFuture<'a, Result<(), RegistryError>> {
        Box::pin(async move {
            self.change(|services| {
                if let Some(by_id) = services.get_mut(&instance.name) {
                    by_id.remove(&instance.id);
                    if by_id.is_empty() {
                        services.remove(&instance.name);
                    }
                }
            });
            Ok(())
        })
    }
}

impl Discovery for MemoryRegistry {
    fn get_service<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Vec<ServiceInstance>, RegistryError>> {
        Box::pin(async move { Ok(self.list(name)) })
    }

    fn watch<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Box<dyn Watcher>, RegistryError>> {
        Box::pin(async move {
            self.shared.open_watchers.fetch_add(1, Ordering::SeqCst);
            Ok(Box::new(MemoryWatcher {
                registry: self.clone(),
                name: name.to_string(),
                changes: self.shared.version.subscribe(),
                last: None,
                stopped: false,
            }) as Box<dyn Watcher>)
        })
    }
}

struct MemoryWatcher {
    registry: MemoryRegistry,
    name: String,
    changes: watch::Receiver<u64>,
    /// The list last returned (`None` before the first call).
    last: Option<Vec<ServiceInstance>>,
    stopped: bool,
}

impl MemoryWatcher {
    fn close(&mut self) {
        if !std::mem::replace(&mut self.stopped, true) {
            self.registry
                .shared
                .open_watchers
                .fetch_sub(1, Ordering::SeqCst);
        }
    }
}

impl Drop for MemoryWatcher {
    fn drop(&mut self) {
        self.close();
    }
}

impl Watcher for MemoryWatcher {
    fn next(&mut self) -> BoxFuture<'_, Result<Vec<ServiceInstance>, RegistryError>> {
        Box::pin(async move {
            loop {
                if self.stopped {
                    return Err(RegistryError::WatcherStopped);
                }
                self.changes.borrow_and_update();
                let list = self.registry.list(&self.name);
                if self.last.as_ref() != Some(&list) {
                    self.last = Some(list.clone());
                    return Ok(list);
                }
                // The registry holds the sender, so this only fails if it is gone.
                if self.changes.changed().await.is_err() {
                    return Err(RegistryError::WatcherStopped);
                }
            }
        })
    }

    fn stop(&mut self) -> BoxFuture<'_, Result<(), RegistryError>> {
        Box::pin(async move {
            self.close();
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn watchers_see_registrations_of_their_service_only() {
        let registry = MemoryRegistry::new();
        let a = ServiceInstance::new("1", "a").with_endpoint("http://127.0.0.1:1");
        let other = ServiceInstance::new("1", "other");
        registry.register(&a).await.unwrap();
        let mut watcher = registry.watch("a").await.unwrap();
        assert_eq!(watcher.next().await.unwrap(), std::slice::from_ref(&a));

        // A change of another service does not wake the watcher with the same list.
        registry.register(&other).await.unwrap();
        let a2 = ServiceInstance::new("2", "a");
        let pending = tokio::time::timeout(std::time::Duration::from_millis(20), watcher.next());
        assert!(pending.await.is_err());
        registry.register(&a2).await.unwrap();
        assert_eq!(watcher.next().await.unwrap(), [a.clone(), a2.clone()]);
        registry.deregister(&a).await.unwrap();
        registry.deregister(&a2).await.unwrap();
        assert!(watcher.next().await.unwrap().is_empty());
        assert_eq!(registry.get_service("other").await.unwrap(), [other]);

        assert_eq!(registry.open_watchers(), 1);
        watcher.stop().await.unwrap();
        assert!(matches!(
            watcher.next().await,
            Err(RegistryError::WatcherStopped)
        ));
        assert_eq!(registry.open_watchers(), 0);
        drop(watcher);
        assert_eq!(registry.open_watchers(), 0);
    }

    #[tokio::test]
    async fn an_instance_needs_a_name_and_an_id() {
        let registry = MemoryRegistry::new();
        assert!(
            registry
                .register(&ServiceInstance::new("", "a"))
                .await
                .is_err()
        );
        // Deregistering what is not registered succeeds.
        registry
            .deregister(&ServiceInstance::new("9", "a"))
            .await
            .unwrap();
    }
}
