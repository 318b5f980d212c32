//! The application: starts its servers, registers them, waits for a signal, deregisters and
//! stops them gracefully (Kratos' `kratos.New(...).Run()`).

use std::collections::BTreeMap;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use crate::registry::{BoxFuture, Registrar, RegistryError, ServiceInstance};
use crate::transport::{CutConnection, Server, TransportError};

/// The error a lifecycle hook returns.
pub type HookError = Box<dyn std::error::Error + Send + Sync>;

type Hook = Box<dyn FnOnce(ServiceInstance) -> BoxFuture<'static, Result<(), HookError>> + Send>;

/// Why the application stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A server could not start; the servers already started were stopped.
    #[error("start failed: {0}")]
    Start(#[source] TransportError),
    /// A server failed while serving; the application deregistered and stopped the others.
    #[error("server failed: {0}")]
    Serve(#[source] TransportError),
    /// One or more servers did not stop cleanly (every server was still asked to stop).
    #[error("stop failed: {}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
    Stop(Vec<TransportError>),
    /// Waiting for the termination signals failed.
    #[error("cannot listen for termination signals: {0}")]
    Signal(#[source] std::io::Error),
    /// The servers did not finish their calls within the stop timeout: the connections still
    /// open then were closed, and are listed (a server that cannot list them adds none).
    #[error("servers did not stop within {timeout:?}{}", cut_list(.cut))]
    StopTimeout {
        /// The stop timeout.
        timeout: Duration,
        /// The connections cut.
        cut: Vec<CutConnection>,
    },
    /// Registration failed; the servers were stopped.
    #[error("register failed: {0}")]
    Register(#[source] RegistryError),
    /// Deregistration failed; the servers were stopped all the same.
    #[error("deregister failed: {0}")]
    Deregister(#[source] RegistryError),
    /// The registrar did not answer within the registrar timeout.
    #[error("{op} did not finish within {timeout:?}")]
    RegistrarTimeout {
        /// `register` or `deregister`.
        op: &'static str,
        /// The registrar timeout.
        timeout: Duration,
    },
    /// A lifecycle hook failed.
    #[error("{stage} hook failed: {source}")]
    Hook {
        /// `before start`, `after start`, `before stop` or `after stop`.
        stage: &'static str,
        /// The hook's error.
        source: HookError,
    },
    /// Several of the above, in the order they happened.
    #[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
    Multiple(Vec<AppError>),
}

/// A Kratos application: its identity, servers, registrar and hooks (Kratos' `kratos.New`).
///
/// [`App::run`] (or [`App::run_until`]):
///
/// 1. runs the before-start hooks (an error aborts: nothing was started);
/// 2. starts every server (if one fails, those started are stopped);
/// 3. registers the instance with the registrar, with the endpoints the servers actually
///    bound (`http://<host ip>:<port>`, `grpc://…`; or those given with [`App::endpoint`]);
/// 4. runs the after-start hooks;
/// 5. waits for a termination signal (SIGTERM, SIGINT, SIGQUIT by default), the future given
///    to `run_until`, or the failure of a server;
/// 6. turns its [`Health`](crate::health::Health) (if given) not ready, runs the before-stop
///    hooks, **deregisters** (first, so clients stop picking the instance), waits the drain
///    delay (default 0), stops the servers gracefully within the stop timeout (all at once; connections still
///    busy at the timeout are cut and reported), and runs the after-stop hooks.
///
/// Unlike Kratos, every failure path still cleans up: a failed registration (or after-start
/// hook) deregisters and stops the servers; a failed server deregisters; a failed
/// deregistration still stops the servers. The errors are returned together.
///
/// # Example
///
/// An application serving on HTTP and gRPC (on free loopback ports here), stopped by a future
/// rather than by a signal:
///
/// ```
/// use kratos::{App, grpc, http};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let http = http::Server::builder().address("127.0.0.1:0").build();
/// let grpc = grpc::Server::builder().address("127.0.0.1:0").build();
/// // Generated code registers the services on the servers before the App takes them:
/// // pb::register_greeter_http_server(&mut http, service.clone())?;
/// // pb::register_greeter_grpc_server(&mut grpc, service);
///
/// let (started, endpoints) = tokio::sync::oneshot::channel();
/// let app = App::new()
///     .name("greeter")
///     .version("v1.0.0")
///     .server(http)
///     .server(grpc)
///     // A registrar would be given the same endpoints: `.registrar(registry)`.
///     .after_start(move |instance| async move {
///         let _ = started.send(instance.endpoints);
///         Ok::<(), std::convert::Infallible>(())
///     });
///
/// // `app.run().await` serves until SIGINT, SIGTERM or SIGQUIT. Here: until it has started.
/// app.run_until(async {
///     let endpoints = endpoints.await.map_err(std::io::Error::other)?;
///     assert!(endpoints[0].starts_with("http://127.0.0.1:"));
///     assert!(endpoints[1].starts_with("grpc://127.0.0.1:"));
///     Ok(())
/// })
/// .await?;
/// # Ok(())
/// # }
/// ```
pub struct App {
    id: String,
    name: String,
    version: String,
    metadata: BTreeMap<String, String>,
    endpoints: Vec<String>,
    servers: Vec<Box<dyn Server>>,
    registrar: Option<Arc<dyn Registrar>>,
    registrar_timeout: Duration,
    stop_timeout: Duration,
    health: Option<crate::health::Health>,
    drain_delay: Duration,
    #[cfg(unix)]
    signals: Vec<tokio::signal::unix::SignalKind>,
    before_start: Vec<Hook>,
    after_start: Vec<Hook>,
    before_stop: Vec<Hook>,
    after_stop: Vec<Hook>,
    default_subscriber: bool,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("version", &self.version)
            .field("metadata", &self.metadata)
            .field("endpoints", &self.endpoints)
            .field("servers", &self.servers.len())
            .field("registrar", &self.registrar.is_some())
            .field("registrar_timeout", &self.registrar_timeout)
            .field("stop_timeout", &self.stop_timeout)
            .finish_non_exhaustive()
    }
}

impl Default for App {
    fn default() -> Self {
        App::new()
    }
}

impl App {
    /// An application without servers: a random UUID as id, stop timeout 10 s, registrar
    /// timeout 10 s.
    pub fn new() -> Self {
        App {
            id: random_uuid(),
            name: String::new(),
            version: String::new(),
            metadata: BTreeMap::new(),
            endpoints: Vec::new(),
            servers: Vec::new(),
            registrar: None,
            registrar_timeout: Duration::from_secs(10),
            stop_timeout: Duration::from_secs(10),
            health: None,
            drain_delay: Duration::ZERO,
            #[cfg(unix)]
            signals: {
                use tokio::signal::unix::SignalKind;
                vec![
                    SignalKind::terminate(),
                    SignalKind::interrupt(),
                    SignalKind::quit(),
                ]
            },
            before_start: Vec::new(),
            after_start: Vec::new(),
            before_stop: Vec::new(),
            after_stop: Vec::new(),
            default_subscriber: true,
        }
    }

    /// The instance id (default: a random UUID).
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = id.into();
        self
    }

    /// The service name (used for logs and for registration).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The service version.
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = version.into();
        self
    }

    /// Adds a metadata entry to the registered instance.
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }

    /// Adds an endpoint URL to register instead of those computed from the servers (Kratos'
    /// `Endpoint` option: once one is given, only the given ones are registered).
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoints.push(endpoint.into());
        self
    }

    /// Adds a server.
    pub fn server(mut self, server: impl Server) -> Self {
        self.servers.push(Box::new(server));
        self
    }

    /// Whether [`App::run_until`] installs a default tracing subscriber when none is in
    /// effect (default `true`; feature `log`): [`crate::log::Logger::from_env`] with the
    /// app's id, name and version, so the servers' listening addresses and the logging
    /// middleware's lines are printed without setup (and, with the feature `otel`, spans are
    /// exported when `OTEL_EXPORTER_OTLP_ENDPOINT` is set). A subscriber the program set
    /// itself is always left alone; `false` never installs one.
    pub fn default_subscriber(mut self, install: bool) -> Self {
        self.default_subscriber = install;
        self
    }

    /// Registers the application with `registrar` while it runs.
    pub fn registrar(mut self, registrar: impl Registrar) -> Self {
        self.registrar = Some(Arc::new(registrar));
        self
    }

    /// Registers the application with a shared registrar while it runs.
    pub fn registrar_arc(mut self, registrar: Arc<dyn Registrar>) -> Self {
        self.registrar = Some(registrar);
        self
    }

    /// Time allowed for registering and for deregistering (default 10 s).
    pub fn registrar_timeout(mut self, timeout: Duration) -> Self {
        self.registrar_timeout = timeout;
        self
    }

    /// How long stopping the servers may take (default 10 s): idle connections close at
    /// once, busy ones may finish until then; those still open then are closed and reported
    /// in [`AppError::StopTimeout`].
    pub fn stop_timeout(mut self, timeout: Duration) -> Self {
        self.stop_timeout = timeout;
        self
    }

    /// The application's [`Health`](crate::health::Health): on a stop it is turned not ready
    /// (`/readyz` 503, gRPC health `NOT_SERVING`) before anything else happens. Without one
    /// the App has one without checks. The gRPC servers report it in their health service
    /// unless they were given their own.
    pub fn health(mut self, health: crate::health::Health) -> Self {
        self.health = Some(health);
        self
    }

    /// How long to keep serving after deregistering, before stopping the servers (default 0):
    /// time for load balancers and clients to see the instance not ready or gone and stop
    /// sending it calls; calls that still arrive are served.
    pub fn drain_delay(mut self, delay: Duration) -> Self {
        self.drain_delay = delay;
        self
    }

    /// The signals [`App::run`] stops on (default SIGTERM, SIGINT and SIGQUIT); replaces the
    /// list.
    #[cfg(unix)]
    pub fn signals(
        mut self,
        signals: impl IntoIterator<Item = tokio::signal::unix::SignalKind>,
    ) -> Self {
        self.signals = signals.into_iter().collect();
        self
    }

    /// Adds a hook run before the servers start; an error aborts the run.
    pub fn before_start<F, Fut, E>(mut self, hook: F) -> Self
    where
        F: FnOnce(ServiceInstance) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<HookError>,
    {
        self.before_start.push(box_hook(hook));
        self
    }

    /// Adds a hook run once the servers are started and registered; an error stops the
    /// application (deregistering and stopping the servers).
    pub fn after_start<F, Fut, E>(mut self, hook: F) -> Self
    where
        F: FnOnce(ServiceInstance) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<HookError>,
    {
        self.after_start.push(box_hook(hook));
        self
    }

    /// Adds a hook run when stopping begins, before deregistration; errors are reported but
    /// do not prevent stopping.
    pub fn before_stop<F, Fut, E>(mut self, hook: F) -> Self
    where
        F: FnOnce(ServiceInstance) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<HookError>,
    {
        self.before_stop.push(box_hook(hook));
        self
    }

    /// Adds a hook run after the servers stopped; errors are reported.
    pub fn after_stop<F, Fut, E>(mut self, hook: F) -> Self
    where
        F: FnOnce(ServiceInstance) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<HookError>,
    {
        self.after_stop.push(box_hook(hook));
        self
    }

    /// Runs until one of the configured signals (or a server failure).
    pub async fn run(self) -> Result<(), AppError> {
        #[cfg(unix)]
        let signals = self.signals.clone();
        #[cfg(unix)]
        let shutdown = wait_for_signals(signals);
        #[cfg(not(unix))]
        let shutdown = termination_signal();
        self.run_until(shutdown).await
    }

    /// Runs until `shutdown` completes (or a server fails). If `shutdown` resolves to an
    /// error (such as a failure to install signal handlers), the application stops and the
    /// error is returned.
    pub async fn run_until<F>(mut self, shutdown: F) -> Result<(), AppError>
    where
        F: Future<Output = Result<(), std::io::Error>>,
    {
        let mut instance = ServiceInstance {
            id: self.id.clone(),
            name: self.name.clone(),
            version: self.version.clone(),
            metadata: self.metadata.clone(),
            endpoints: self.endpoints.clone(),
        };
        #[cfg(feature = "log")]
        if self.default_subscriber {
            crate::log::install_default(crate::log::Logger::from_env().service_if_unset(
                crate::log::Service {
                    id: self.id.clone(),
                    name: self.name.clone(),
                    version: self.version.clone(),
                },
            ));
        }
        for hook in std::mem::take(&mut self.before_start) {
            hook(instance.clone())
                .await
                .map_err(|source| AppError::Hook {
                    stage: "before start",
                    source,
                })?;
        }
        let health = self.health.get_or_insert_with(Default::default).clone();
        for server in &mut self.servers {
            server.adopt_health(&health);
        }
        let started = self.start_all(|_| ()).await?;
        if self.endpoints.is_empty() {
            instance.endpoints = started
                .iter()
                .map(|(kind, addr)| endpoint_url(kind, *addr))
                .collect();
        }
        tracing::info!(id = %self.id, name = %self.name, version = %self.version, endpoints = ?instance.endpoints, "app started");

        let mut errors = Vec::new();
        let registrar = self.registrar.clone();
        if let Some(registrar) = &registrar {
            match tokio::time::timeout(self.registrar_timeout, registrar.register(&instance)).await
            {
                Ok(Ok(())) => {}
                Ok(Err(e)) => errors.push(AppError::Register(e)),
                Err(_) => errors.push(AppError::RegistrarTimeout {
                    op: "register",
                    timeout: self.registrar_timeout,
                }),
            }
        }
        if errors.is_empty() {
            for hook in std::mem::take(&mut self.after_start) {
                if let Err(source) = hook(instance.clone()).await {
                    errors.push(AppError::Hook {
                        stage: "after start",
                        source,
                    });
                    break;
                }
            }
        }
        if errors.is_empty() {
            let mut shutdown = std::pin::pin!(shutdown);
            let mut failures: Vec<Pin<Box<dyn Future<Output = TransportError> + Send + '_>>> =
                self.servers.iter_mut().map(|s| s.failure()).collect();
            let failed = std::future::poll_fn(|cx| {
                for f in failures.iter_mut() {
                    if let Poll::Ready(e) = f.as_mut().poll(cx) {
                        return Poll::Ready(e);
                    }
                }
                Poll::Pending
            });
            tokio::select! {
                r = &mut shutdown => {
                    if let Err(e) = r {
                        errors.push(AppError::Signal(e));
                    }
                }
                e = failed => {
                    tracing::error!(name = %self.name, error = %e, "server failed");
                    errors.push(AppError::Serve(e));
                }
            }
        }
        tracing::info!(name = %self.name, "app stopping");
        self.mark_stopping();

        for hook in std::mem::take(&mut self.before_stop) {
            if let Err(source) = hook(instance.clone()).await {
                errors.push(AppError::Hook {
                    stage: "before stop",
                    source,
                });
            }
        }
        // Deregister first (also after a failed or timed-out registration: deregistering is
        // idempotent and removes whatever a partial registration left behind).
        if let Some(registrar) = &registrar {
            match tokio::time::timeout(self.registrar_timeout, registrar.deregister(&instance))
                .await
            {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::error!(name = %self.name, error = %e, "deregister failed; stopping anyway");
                    errors.push(AppError::Deregister(e));
                }
                Err(_) => errors.push(AppError::RegistrarTimeout {
                    op: "deregister",
                    timeout: self.registrar_timeout,
                }),
            }
        }
        Self::drain(&self.name, self.drain_delay).await;
        if let Err(e) = self.stop_all().await {
            errors.push(e);
        }
        for hook in std::mem::take(&mut self.after_stop) {
            if let Err(source) = hook(instance.clone()).await {
                errors.push(AppError::Hook {
                    stage: "after stop",
                    source,
                });
            }
        }
        // Spans of the last calls are exported before the process goes.
        #[cfg(feature = "otel")]
        crate::trace::flush().await;
        match errors.len() {
            0 => Ok(()),
            1 => Err(errors.remove(0)),
            _ => Err(AppError::Multiple(errors)),
        }
    }

    /// First step of stopping: the health turns not ready, so that readiness probes and gRPC
    /// health watchers see it before the instance is deregistered.
    fn mark_stopping(&self) {
        if let Some(health) = &self.health {
            health.set_stopping();
        }
    }

    /// Between deregistering and stopping the servers: keeps serving for the drain delay.
    /// (Takes no `&self`: the App is not `Sync`, and `run_until`'s future must stay `Send`.)
    async fn drain(name: &str, delay: Duration) {
        if !delay.is_zero() {
            tracing::info!(name = %name, delay = ?delay, "draining before the stop");
            tokio::time::sleep(delay).await;
        }
    }

    /// Starts every server in order; if one fails, stops those already started.
    /// `on_started` sees each bound address. Returns each server's endpoint scheme
    /// ([`Server::scheme`]) and bound address.
    pub async fn start_all(
        &mut self,
        mut on_started: impl FnMut(SocketAddr),
    ) -> Result<Vec<(&'static str, SocketAddr)>, AppError> {
        let mut started = Vec::new();
        for i in 0..self.servers.len() {
            match self.servers[i].start().await {
                Ok(addr) => {
                    on_started(addr);
                    started.push((self.servers[i].scheme(), addr));
                }
                Err(e) => {
                    for server in self.servers[..i].iter_mut().rev() {
                        if let Err(stop_err) = server.stop().await {
                            tracing::error!(error = %stop_err, "stopping after a failed start");
                        }
                    }
                    return Err(AppError::Start(e));
                }
            }
        }
        Ok(started)
    }

    /// Stops every server (all of them, even when one fails), all at once, within the stop
    /// timeout: the servers close their idle connections at once and let the busy ones finish
    /// until the timeout, then close those still open. The connections so cut are logged and
    /// returned in [`AppError::StopTimeout`].
    pub async fn stop_all(&mut self) -> Result<(), AppError> {
        let timeout = self.stop_timeout;
        let mut stops: Vec<_> = self
            .servers
            .iter_mut()
            .map(|server| server.stop_within(timeout))
            .collect();
        let mut outcomes: Vec<Option<Result<Vec<CutConnection>, TransportError>>> =
            stops.iter().map(|_| None).collect();
        std::future::poll_fn(|cx| {
            let mut pending = false;
            for (stop, outcome) in stops.iter_mut().zip(outcomes.iter_mut()) {
                if outcome.is_none() {
                    match stop.as_mut().poll(cx) {
                        Poll::Ready(done) => *outcome = Some(done),
                        Poll::Pending => pending = true,
                    }
                }
            }
            if pending {
                Poll::Pending
            } else {
                Poll::Ready(())
            }
        })
        .await;
        drop(stops);
        let mut cut = Vec::new();
        let mut timed_out = false;
        let mut errors = Vec::new();
        for outcome in outcomes.into_iter().flatten() {
            match outcome {
                Ok(mut c) => cut.append(&mut c),
                Err(TransportError::StopTimeout { .. }) => timed_out = true,
                Err(e) => errors.push(e),
            }
        }
        for c in &cut {
            tracing::warn!(server = c.server, peer = %c.peer, in_flight = c.in_flight, "connection cut: still open at the stop timeout");
        }
        let mut failures = Vec::new();
        if !errors.is_empty() {
            failures.push(AppError::Stop(errors));
        }
        if timed_out || !cut.is_empty() {
            failures.push(AppError::StopTimeout { timeout, cut });
        }
        match failures.len() {
            0 => Ok(()),
            1 => Err(failures.remove(0)),
            _ => Err(AppError::Multiple(failures)),
        }
    }
}

/// `; cut <connections>`, naming at most ten.
fn cut_list(cut: &[CutConnection]) -> String {
    const SHOWN: usize = 10;
    if cut.is_empty() {
        return String::new();
    }
    let mut list = cut
        .iter()
        .take(SHOWN)
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    if cut.len() > SHOWN {
        list.push_str(&format!(" and {} more", cut.len() - SHOWN));
    }
    format!("; cut {} connection(s): {list}", cut.len())
}

fn box_hook<F, Fut, E>(hook: F) -> Hook
where
    F: FnOnce(ServiceInstance) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: Into<HookError>,
{
    Box::new(move |instance| Box::pin(async move { hook(instance).await.map_err(Into::into) }))
}

/// The registry endpoint of a server bound to `addr`: `<kind>://<ip>:<port>`, with the
/// host's IP when bound to all interfaces (Kratos' `host.Extract`).
pub fn endpoint_url(kind: &str, addr: SocketAddr) -> String {
    let ip = if addr.ip().is_unspecified() {
        host_ip()
    } else {
        addr.ip()
    };
    format!("{kind}://{}", SocketAddr::new(ip, addr.port()))
}

/// The address this host reaches other hosts from (the source address of the default route),
/// or 127.0.0.1 when there is none. No packet is sent.
fn host_ip() -> IpAddr {
    let probe = || -> std::io::Result<IpAddr> {
        let socket = std::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?;
        // TEST-NET-1: routed like any remote address, never answered.
        socket.connect((Ipv4Addr::new(192, 0, 2, 1), 9))?;
        Ok(socket.local_addr()?.ip())
    };
    match probe() {
        Ok(ip) if !ip.is_unspecified() => ip,
        _ => IpAddr::V4(Ipv4Addr::LOCALHOST),
    }
}

/// A random (version 4) UUID, from the standard library's randomly keyed hasher.
fn random_uuid() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut bytes = [0u8; 16];
    for (i, chunk) in bytes.chunks_mut(8).enumerate() {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_usize(i);
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        chunk.copy_from_slice(&h.finish().to_le_bytes());
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Completes on the first of `signals`.
#[cfg(unix)]
async fn wait_for_signals(
    signals: Vec<tokio::signal::unix::SignalKind>,
) -> Result<(), std::io::Error> {
    use tokio::signal::unix::signal;
    let mut streams = signals
        .into_iter()
        .map(signal)
        .collect::<Result<Vec<_>, _>>()?;
    if streams.is_empty() {
        return std::future::pending().await;
    }
    std::future::poll_fn(|cx| {
        for s in streams.iter_mut() {
            if s.poll_recv(cx).is_ready() {
                return Poll::Ready(Ok(()));
            }
        }
        Poll::Pending
    })
    .await
}

/// Completes on SIGINT (Ctrl-C) or, on Unix, SIGTERM.
pub async fn termination_signal() -> Result<(), std::io::Error> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}
