//! Dialing gRPC servers (Kratos' `grpc.DialInsecure`): a tonic [`Channel`] to one address, or
//! balanced over the instances of a service found through a registry.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use tonic::transport::{Channel, Endpoint, channel::Change};

use super::chain::ClientChannel;
use crate::middleware::Middleware;
use crate::registry::Discovery;
use crate::selector::{Node, discovery_target, watch_nodes};
use crate::transport::http::ClientError;

/// Kratos' default gRPC client timeout, applied to each call.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(2);

/// Builds a [`ClientChannel`] (a tonic [`Channel`] behind Kratos client middleware) for
/// tonic's generated clients (`GreeterClient::new(channel)`).
///
/// The endpoint is `host:port` (also written `http://host:port` or `grpc://host:port`), or
/// `discovery:///<name>` with [`discovery`](ChannelBuilder::discovery): the channel then
/// watches the service and balances calls over its instances' `grpc` endpoints (tonic's
/// power-of-two-choices balancer), adding and removing them as the registry changes. An
/// update with no instance is ignored, keeping the last ones, as Kratos does.
#[derive(Clone)]
pub struct ChannelBuilder {
    endpoint: String,
    timeout: Duration,
    discovery: Option<Arc<dyn Discovery>>,
    middleware: Vec<Middleware>,
}

impl std::fmt::Debug for ChannelBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("grpc::ChannelBuilder")
            .field("endpoint", &self.endpoint)
            .field("timeout", &self.timeout)
            .field("discovery", &self.discovery.is_some())
            .field("middleware", &self.middleware.len())
            .finish()
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
        }
    }

    /// The timeout of each call (default 2 s, as Kratos); a call over it fails with
    /// `Cancelled`, as tonic reports its timeouts.
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

    fn endpoint_for(&self, address: &str) -> Result<Endpoint, ClientError> {
        Channel::from_shared(format!("http://{address}"))
            .map(|e| e.timeout(self.timeout))
            .map_err(|e| self.fail(e.to_string()))
    }

    /// Builds the channel without waiting for a connection (tonic's `connect_lazy`). With a
    /// discovery endpoint, calls made before the first instance is found wait for it; use
    /// [`connect`](ChannelBuilder::connect) to wait up front. Must be called within a tokio
    /// runtime.
    pub fn build(self) -> Result<ClientChannel, ClientError> {
        let middleware = self.middleware.clone();
        let timeout = self.timeout;
        Ok(ClientChannel::new(self.build_with(None)?, &middleware).with_call_timeout(timeout))
    }

    /// [`build`](ChannelBuilder::build), then, for a discovery endpoint, waits until the
    /// service has an instance with a `grpc` endpoint (Kratos' `WithBlock`), for at most the
    /// call timeout.
    pub async fn connect(self) -> Result<ClientChannel, ClientError> {
        let middleware = self.middleware.clone();
        let discovered = self.endpoint.starts_with(crate::selector::DISCOVERY_SCHEME);
        let err = self.fail(format!(
            "no instance with a grpc endpoint within {:?}",
            self.timeout
        ));
        let timeout = self.timeout;
        let (found_tx, mut found) = tokio::sync::watch::channel(false);
        let channel = self.build_with(Some(found_tx))?;
        if discovered {
            match tokio::time::timeout(timeout, found.wait_for(|f| *f)).await {
                Ok(Ok(_)) => {}
                _ => return Err(err),
            }
        }
        Ok(ClientChannel::new(channel, &middleware).with_call_timeout(timeout))
    }

    fn build_with(
        self,
        found: Option<tokio::sync::watch::Sender<bool>>,
    ) -> Result<Channel, ClientError> {
        let target = discovery_target(&self.endpoint, self.discovery.as_ref(), "ChannelBuilder")
            .map_err(|reason| self.fail(reason))?;
        match target {
            Some((name, discovery)) => {
                let name = name.to_string();
                Ok(self.balanced(discovery, name, found))
            }
            None => {
                let address = self
                    .endpoint
                    .strip_prefix("http://")
                    .or_else(|| self.endpoint.strip_prefix("grpc://"))
                    .unwrap_or(&self.endpoint);
                if address.is_empty() || address.contains('/') || address.contains("://") {
                    return Err(self.fail("expected host:port or discovery:///<name>"));
                }
                // tonic spawns the channel's worker.
                if tokio::runtime::Handle::try_current().is_err() {
                    return Err(self.fail("a channel must be built within a tokio runtime"));
                }
                Ok(self.endpoint_for(address)?.connect_lazy())
            }
        }
    }

    /// A channel whose endpoints follow the registry. The resolver task ends when the
    /// channel's last clone is dropped (tonic's balancer then closes the change sender).
    fn balanced(
        self,
        discovery: Arc<dyn Discovery>,
        name: String,
        found: Option<tokio::sync::watch::Sender<bool>>,
    ) -> Channel {
        let (channel, changes) = Channel::balance_channel::<String>(16);
        tokio::spawn(async move {
            let mut current: HashSet<String> = HashSet::new();
            let sender = changes.clone();
            let apply = |nodes: Vec<Node>| {
                let fresh: HashSet<String> = nodes.into_iter().map(|n| n.address).collect();
                let removed: Vec<String> = current.difference(&fresh).cloned().collect();
                let added: Vec<String> = fresh.difference(&current).cloned().collect();
                current = fresh;
                let endpoints: Vec<(String, Option<Endpoint>)> = added
                    .into_iter()
                    .map(|address| {
                        let endpoint = self.endpoint_for(&address).ok();
                        (address, endpoint)
                    })
                    .collect();
                let sender = sender.clone();
                let found = found.clone();
                async move {
                    for address in removed {
                        let _ = sender.send(Change::Remove(address)).await;
                    }
                    for (address, endpoint) in endpoints {
                        match endpoint {
                            Some(endpoint) => {
                                let _ = sender.send(Change::Insert(address, endpoint)).await;
                            }
                            None => tracing::warn!(%address, "resolver: not a valid address"),
                        }
                    }
                    if let Some(found) = found {
                        found.send_replace(true);
                    }
                }
            };
            tokio::select! {
                _ = changes.closed() => {}
                _ = watch_nodes(discovery, &name, "grpc", apply) => {}
            }
        });
        channel
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
}
