//! Dialing gRPC servers (Kratos' `grpc.DialInsecure` / `grpc.Dial`): a tonic [`Channel`] to
//! one address, or calls balanced over the instances of a service found through a registry,
//! each call sent to the node the [`Selector`] picks for it.

use std::sync::Arc;
use std::time::Duration;

use tonic::transport::Channel;

use super::balanced::{Balanced, Dialer};
use super::chain::ClientChannel;
use crate::middleware::Middleware;
use crate::registry::Discovery;
use crate::selector::{Balancer, NodeFilter, Resolved, Selector, discovery_target};
use crate::transport::ClientError;

/// Kratos' default gRPC client timeout, applied to each call.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(2);

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
                tokio::time::timeout(timeout, balanced.wait_ready())
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
                Ok(Built::Balanced(Balanced::new(
                    resolved,
                    self.filters,
                    self.timeout,
                    dialer,
                    self.health_check,
                )))
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
