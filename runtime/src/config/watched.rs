//! [`Watched`]: one key's typed value, kept current.

use std::sync::Arc;

use arc_swap::ArcSwap;
use serde::de::DeserializeOwned;

use super::{Config, ConfigError};

/// The value of one key decoded into `T`, replaced atomically after every change of the key
/// (the default while the key is absent). Reading is a lock-free load.
#[derive(Debug)]
pub struct Watched<T> {
    current: Arc<ArcSwap<T>>,
}

impl<T> Clone for Watched<T> {
    fn clone(&self) -> Self {
        Watched {
            current: self.current.clone(),
        }
    }
}

impl<T> Watched<T>
where
    T: DeserializeOwned + Clone + Send + Sync + 'static,
{
    pub(super) fn new(config: &Config, key: &str, default: T) -> Result<Self, ConfigError> {
        let initial = match config.get::<T>(key) {
            Ok(value) => value,
            Err(ConfigError::NotFound { .. }) => default.clone(),
            Err(e) => return Err(e),
        };
        let current = Arc::new(ArcSwap::from_pointee(initial));
        let weak = Arc::downgrade(&current);
        config.watch(key, move |key, value| {
            let Some(current) = weak.upgrade() else {
                return;
            };
            let next = match value.raw() {
                None => default.clone(),
                Some(_) => match value.scan::<T>() {
                    Ok(next) => next,
                    Err(error) => {
                        tracing::warn!(key, %error, "configuration value rejected; keeping the previous one");
                        return;
                    }
                },
            };
            current.store(Arc::new(next));
        });
        Ok(Watched { current })
    }
}

impl<T> Watched<T> {
    /// A value that never changes (no configuration behind it).
    pub fn constant(value: T) -> Self {
        Watched {
            current: Arc::new(ArcSwap::from_pointee(value)),
        }
    }

    /// The current value.
    pub fn get(&self) -> Arc<T> {
        self.current.load_full()
    }
}
