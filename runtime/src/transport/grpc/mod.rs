//! The gRPC transport, on tonic.
//!
//! tonic generates the gRPC server for each service; generated kratos code implements tonic's
//! server trait with an adapter that calls the same service implementation as the HTTP routes,
//! through the same kind of middleware chain ([`Server::endpoint`]) and with the same
//! [`Context`] (operation `/package.Service/Method`, metadata as headers).
//!
//! The services' routes are served over HTTP/2 on the runtime's own connections, as the HTTP
//! server's: the same [`ConnectionLimits`], accept backoff and stop. Tower layers
//! ([`ServerBuilder::layer`]) wrap every service, with the HTTP server's ordering rule (the
//! last added runs first); gRPC reflection is served by default
//! ([`ServerBuilder::reflection`], [`Server::register_file_descriptor_set`]).
//!
//! The generated `<service>_grpc_service(service, &matcher)` returns the adapter as tonic's
//! server, for a plain `tonic::transport::Server` instead of this one: the same middleware
//! (chosen by a [`Matcher`]), [`Context`] and errors; the client's `grpc-timeout` is still
//! the context's deadline.

mod balanced;
mod chain;
mod client;
pub mod layers;
#[cfg(feature = "reflection")]
mod reflection;
mod routes;
mod serve;

pub use crate::transport::ClientError;
pub use crate::transport::http::RouteError;
pub use chain::{CallFuture, ClientChannel, GrpcClientRequest, reply_error};
pub use client::{ChannelBuilder, DEFAULT_CALL_TIMEOUT};
#[cfg(feature = "reflection")]
pub use reflection::{REFLECTION_V1, REFLECTION_V1ALPHA};

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use routes::RoutesBuilder;
use tokio::net::TcpListener;
use tonic::server::NamedService;

use crate::context::{Context, Kind};
use crate::errors::Error;
use crate::middleware::{Endpoint, Matcher, Middleware};
use crate::stream::RequestStream;
use crate::transport::conn::{Running, ServeOptions};
use crate::transport::{ConnectionLimits, CutConnection, ServerFuture, TransportError};

/// Builds a gRPC [`Server`].
pub struct ServerBuilder {
    address: String,
    listener: Option<std::net::TcpListener>,
    matcher: Matcher,
    limits: ConnectionLimits,
    layers: Vec<layers::LayerFn>,
    #[cfg(feature = "tls")]
    tls: Option<crate::tls::ServerTls>,
    health: Option<crate::health::Health>,
    timeout: Option<Duration>,
    reflection: bool,
}

impl std::fmt::Debug for ServerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("grpc::ServerBuilder")
            .field("address", &self.address)
            .field("limits", &self.limits)
            .field("layers", &self.layers.len())
            .field("timeout", &self.timeout)
            .field("reflection", &self.reflection)
            .finish()
    }
}

impl ServerBuilder {
    /// The address to listen on, such as `0.0.0.0:9000` or `:9000` (default `:0`).
    pub fn address(mut self, address: impl Into<String>) -> Self {
        self.address = address.into();
        self
    }

    /// Serve on an already bound listener instead of binding the address.
    pub fn listener(mut self, listener: std::net::TcpListener) -> Self {
        self.listener = Some(listener);
        self
    }

    /// Adds middleware applied to every operation (first added is outermost).
    pub fn middleware(mut self, middleware: Middleware) -> Self {
        self.matcher.with(middleware);
        self
    }

    /// Adds middleware for the operations `pattern` matches.
    pub fn middleware_for(mut self, pattern: &str, middleware: Vec<Middleware>) -> Self {
        self.matcher.add(pattern, middleware);
        self
    }

    /// The connection limits (default [`ConnectionLimits::default`]): the header read
    /// timeout bounds the HTTP/2 preface, the idle timeout closes connections without calls
    /// (with a GOAWAY), and the HTTP/2 limits (streams, header list, keep-alive pings) apply.
    /// The body read timeout does not apply to gRPC. The message size limit (4 MiB) is the
    /// generated tonic server's `max_decoding_message_size`.
    pub fn limits(mut self, limits: ConnectionLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Serves TLS (feature `tls`) with the certificate, key and client CAs of `tls`, offering
    /// HTTP/2 by ALPN; the registered endpoint becomes `grpcs://…`. A certificate that does
    /// not load makes [`start`](crate::transport::Server::start) fail.
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: crate::tls::ServerTls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// The [`Health`](crate::health::Health) the server's gRPC health service reports (by
    /// default the application's, see [`Server`]).
    pub fn health(mut self, health: crate::health::Health) -> Self {
        self.health = Some(health);
        self
    }

    /// The per-call timeout of unary calls (Kratos' `grpc.Timeout`; default
    /// [`DEFAULT_SERVER_TIMEOUT`](crate::middleware::DEFAULT_SERVER_TIMEOUT), 1 s, as Kratos):
    /// a unary call whose middleware and handler have not answered this long after it arrived
    /// is dropped and fails with `DeadlineExceeded` (504 `TIMEOUT`); the handler sees the limit
    /// as [`Context::deadline`]. `Duration::ZERO` means no limit. Streaming calls (client,
    /// server and bidirectional) are not bounded, as Kratos' stream interceptor sets no
    /// timeout; the client's `grpc-timeout` bounds every kind of call whatever this is.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = (!timeout.is_zero()).then_some(timeout);
        self
    }

    /// Wraps every service of the server (those added, health and reflection) in a tower
    /// layer, such as tower's `TimeoutLayer`, tower-http's `TraceLayer` or a
    /// `tonic::service::interceptor`. The ordering rule is the HTTP server's
    /// ([`http::ServerBuilder::layer`](crate::http::ServerBuilder::layer)): each layer wraps
    /// the layers added before it, so **the last added runs first** on the request and last on
    /// the response (axum's `Router::layer` order, the reverse of tower's `ServiceBuilder`).
    /// Layers run outside the Kratos middleware, which run per method inside the services.
    ///
    /// A layer gets the call as `http::Request<tonic::body::Body>` once its head passed the
    /// connection's checks, with the peer's
    /// [`TcpConnectInfo`](tonic::transport::server::TcpConnectInfo) in its extensions, and may
    /// return any body; a layer's error ends the call with a Kratos error as its status (504
    /// `TIMEOUT`, gRPC `DEADLINE_EXCEEDED`, for tower's timeout, else 500 `UNKNOWN`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use tonic::body::Body;
    ///
    /// let server = kratos::grpc::Server::builder()
    ///     // Added first: runs second, inside the layer below.
    ///     .layer(tower::timeout::TimeoutLayer::new(Duration::from_secs(5)))
    ///     // Added last: runs first on every call.
    ///     .layer(tower::util::MapRequestLayer::new(|mut call: http::Request<Body>| {
    ///         call.headers_mut().insert("x-edge", http::HeaderValue::from_static("1"));
    ///         call
    ///     }))
    ///     .build();
    /// # let _ = server;
    /// ```
    pub fn layer<L, B>(mut self, layer: L) -> Self
    where
        L: tower_layer::Layer<layers::GrpcService> + Send + Sync + 'static,
        L::Service: tower_service::Service<http::Request<tonic::body::Body>, Response = http::Response<B>>
            + Clone
            + Send
            + Sync
            + 'static,
        <L::Service as tower_service::Service<http::Request<tonic::body::Body>>>::Future:
            Send + 'static,
        <L::Service as tower_service::Service<http::Request<tonic::body::Body>>>::Error:
            Into<layers::BoxError>,
        B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
        B::Error: Into<layers::BoxError>,
    {
        self.layers
            .push(Box::new(move |inner| layers::boxed(layer.layer(inner))));
        self
    }

    /// Whether the server serves gRPC server reflection (feature `reflection`, default; on by
    /// default, as Kratos' server):
    /// `grpc.reflection.v1.ServerReflection` and `grpc.reflection.v1alpha.ServerReflection`,
    /// listing the services added and describing those whose descriptors were registered with
    /// [`Server::register_file_descriptor_set`] (so `grpcurl list` and `grpcurl describe`
    /// work). `false` serves neither.
    pub fn reflection(mut self, enabled: bool) -> Self {
        self.reflection = enabled;
        self
    }

    /// Builds the server.
    pub fn build(self) -> Server {
        Server {
            address: self.address,
            listener: self.listener,
            matcher: self.matcher,
            limits: self.limits,
            layers: self.layers,
            #[cfg(feature = "tls")]
            tls: self.tls,
            health: self.health,
            services: Vec::new(),
            timeout: self.timeout,
            reflection: self.reflection.then(Vec::new),
            routes: RoutesBuilder::default(),
            running: None,
        }
    }
}

/// The gRPC server.
///
/// It serves the gRPC health protocol (`grpc.health.v1.Health`, as Kratos' server does) unless
/// a service of that name was added: `""` and every service added are known names, each
/// `SERVING` while the server's [`Health`](crate::health::Health) is ready. That health is the
/// one given to [`ServerBuilder::health`] or
/// [`Health::register_grpc`](crate::health::Health::register_grpc), else the application's
/// when an [`App`](crate::App)
/// runs the server (so a stop turns it `NOT_SERVING` before the instance is deregistered),
/// else one of its own without checks.
///
/// # Example
///
/// Generated `register_<service>_grpc_server` functions add a service (any tonic service can
/// be added with [`Server::add_service`]). Started on a free loopback port, called through a
/// [`ChannelBuilder`] channel (here the health service every server has) and stopped (an
/// [`App`](crate::App) usually starts and stops it):
///
/// ```
/// use kratos::transport::Server as _;
/// use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut server = kratos::grpc::Server::builder()
///     .address("127.0.0.1:0")
///     .build();
/// // pb::register_greeter_grpc_server(&mut server, std::sync::Arc::new(GreeterService));
/// let addr = server.start().await?;
///
/// let channel = kratos::grpc::ChannelBuilder::new(addr.to_string())
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
pub struct Server {
    address: String,
    listener: Option<std::net::TcpListener>,
    matcher: Matcher,
    limits: ConnectionLimits,
    #[cfg(feature = "tls")]
    tls: Option<crate::tls::ServerTls>,
    health: Option<crate::health::Health>,
    /// The names of the services added.
    services: Vec<&'static str>,
    timeout: Option<Duration>,
    layers: Vec<layers::LayerFn>,
    /// With reflection on, the encoded file descriptor sets it describes.
    reflection: Option<Vec<bytes::Bytes>>,
    routes: RoutesBuilder,
    running: Option<Running>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("grpc::Server")
            .field("address", &self.address)
            .field("running", &self.running.is_some())
            .finish()
    }
}

impl Server {
    /// A builder with the defaults: address `:0`, no middleware, no layers, the default
    /// [`ConnectionLimits`], a 1 s per-call timeout for unary calls, reflection on.
    ///
    /// ```
    /// use std::time::Duration;
    /// use kratos::middleware;
    ///
    /// let server = kratos::grpc::Server::builder()
    ///     .address("0.0.0.0:9000")
    ///     .timeout(Duration::from_secs(5))
    ///     // Every operation, the first added outermost: the same middleware as on HTTP.
    ///     .middleware(middleware::recovery())
    ///     .middleware(middleware::logging())
    ///     .middleware(kratos::validate::middleware())
    ///     // One operation only, after the ones above.
    ///     .middleware_for(
    ///         "/helloworld.v1.Greeter/SayHello",
    ///         vec![middleware::timeout(Duration::from_millis(200))],
    ///     )
    ///     .build();
    /// assert_eq!(server.timeout(), Some(Duration::from_secs(5)));
    /// ```
    pub fn builder() -> ServerBuilder {
        ServerBuilder {
            address: ":0".into(),
            listener: None,
            matcher: Matcher::new(),
            limits: ConnectionLimits::default(),
            #[cfg(feature = "tls")]
            tls: None,
            health: None,
            timeout: Some(crate::middleware::DEFAULT_SERVER_TIMEOUT),
            layers: Vec::new(),
            reflection: true,
        }
    }

    /// The per-call timeout of unary calls (see [`ServerBuilder::timeout`]).
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// The service method `f` behind the middleware this server applies to `operation`, with
    /// the request type's validator (called by generated code when a service is registered).
    pub fn endpoint<Req, Rep, F, Fut>(
        &self,
        operation: &'static str,
        validator: Option<crate::validate::Validator>,
        f: F,
    ) -> Endpoint<Req, Rep>
    where
        Req: Send + Sync + std::fmt::Debug + 'static,
        Rep: Send + Sync + std::fmt::Debug + 'static,
        F: Fn(Context, Req) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Rep, Error>> + Send + 'static,
    {
        self.matcher.endpoint(operation, validator, f)
    }

    /// The middleware this server applies, by operation: what generated registration code
    /// passes to `<service>_grpc_service`.
    pub fn middleware(&self) -> &Matcher {
        &self.matcher
    }

    /// Adds a tonic service (such as `greeter_server::GreeterServer::new(adapter)`, or what a
    /// generated `<service>_grpc_service` returns). A service whose name was already added is
    /// refused with [`RouteError::Service`] (as an HTTP route registered twice), the server
    /// unchanged.
    pub fn add_service<S>(&mut self, service: S) -> Result<&mut Self, RouteError>
    where
        S: tower_service::Service<
                http::Request<tonic::body::Body>,
                Response = http::Response<tonic::body::Body>,
                Error = Infallible,
            > + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        if self.services.contains(&S::NAME) {
            return Err(RouteError::Service {
                name: S::NAME.to_string(),
            });
        }
        self.services.push(S::NAME);
        self.routes.add_service(service);
        Ok(self)
    }

    /// Registers an encoded `google.protobuf.FileDescriptorSet` for gRPC reflection: what
    /// `kratos::build`'s
    /// `file_descriptor_set_path` writes, included with
    /// [`include_file_descriptor_set!`](crate::include_file_descriptor_set). Reflection then
    /// describes its services and messages (`grpcurl describe`); every file a service's file
    /// imports must be in one of the sets registered. Nothing happens with reflection off or
    /// without the feature `reflection`. A
    /// set that does not decode makes [`start`](crate::transport::Server::start) fail.
    pub fn register_file_descriptor_set(&mut self, encoded: impl Into<bytes::Bytes>) -> &mut Self {
        if let Some(sets) = &mut self.reflection {
            sets.push(encoded.into());
        }
        self
    }

    /// Serves `health` in the gRPC health service (instead of the application's), knowing
    /// `services` besides `""` and the services added.
    pub(crate) fn use_health(&mut self, health: crate::health::Health) {
        self.health = Some(health);
    }

    async fn bind_listener(&mut self) -> Result<TcpListener, TransportError> {
        crate::transport::listen("grpc", &self.address, self.listener.take()).await
    }

    async fn shut(
        &mut self,
        grace: Option<Duration>,
    ) -> Result<Vec<CutConnection>, TransportError> {
        match self.running.take() {
            Some(running) => {
                // As Kratos' server: health NOT_SERVING first, which also ends the health
                // `Watch` streams that would keep connections busy.
                if let Some(health) = &self.health {
                    health.set_stopping();
                }
                running.stop("grpc", grace).await
            }
            None => Ok(Vec::new()),
        }
    }
}

impl crate::transport::Server for Server {
    fn kind(&self) -> &'static str {
        "grpc"
    }

    fn scheme(&self) -> &'static str {
        #[cfg(feature = "tls")]
        if self.tls.is_some() {
            return "grpcs";
        }
        "grpc"
    }

    fn adopt_health(&mut self, health: &crate::health::Health) {
        if self.health.is_none() {
            self.health = Some(health.clone());
        }
    }

    fn start(&mut self) -> ServerFuture<'_, Result<SocketAddr, TransportError>> {
        Box::pin(async move {
            if self.running.is_some() {
                return Err(TransportError::Serve {
                    kind: "grpc",
                    reason: "already started".into(),
                });
            }
            #[cfg(feature = "tls")]
            let tls = self
                .tls
                .as_ref()
                .map(|tls| tls.acceptor(&[crate::tls::ALPN_H2]))
                .transpose()
                .map_err(|e| TransportError::Serve {
                    kind: "grpc",
                    reason: e.to_string(),
                })?;
            let listener = self.bind_listener().await?;
            let local = listener.local_addr().map_err(|e| TransportError::Bind {
                kind: "grpc",
                addr: self.address.clone(),
                source: e,
            })?;
            let health_name = <tonic_health::pb::health_server::HealthServer<
                crate::health::GrpcHealth,
            > as NamedService>::NAME;
            if !self.services.contains(&health_name) {
                let health = self.health.get_or_insert_with(Default::default).clone();
                health.know_services(self.services.iter().copied());
                self.add_service(health.grpc_service())
                    .map_err(|e| serve_error(e.to_string()))?;
            }
            #[cfg(feature = "reflection")]
            if let Some(sets) = self.reflection.take() {
                reflection::add(self, &sets).map_err(serve_error)?;
            }
            let routes = std::mem::take(&mut self.routes).routes();
            let routes = if self.layers.is_empty() {
                serve::Services::Routes(routes)
            } else {
                let mut stack = layers::boxed(routes);
                for layer in &self.layers {
                    stack = layer(stack);
                }
                serve::Services::Layered(stack)
            };
            let options = ServeOptions {
                kind: "grpc",
                limits: self.limits.clone(),
                http2_only: true,
                #[cfg(feature = "tls")]
                tls,
            };
            let timeout = self.timeout;
            self.running = Some(Running::spawn(listener, options, move |peer, local| {
                serve::CallService::new(routes.clone(), peer, local, timeout)
            }));
            tracing::info!(address = %local, "[gRPC] server listening on: {local}");
            Ok(local)
        })
    }

    fn stop(&mut self) -> ServerFuture<'_, Result<(), TransportError>> {
        Box::pin(async move { self.shut(None).await.map(drop) })
    }

    fn stop_within(
        &mut self,
        grace: Duration,
    ) -> ServerFuture<'_, Result<Vec<CutConnection>, TransportError>> {
        Box::pin(self.shut(Some(grace)))
    }
}

fn serve_error(reason: String) -> TransportError {
    TransportError::Serve {
        kind: "grpc",
        reason,
    }
}

/// Serves one unary gRPC call through `endpoint` (called by generated adapters): builds the
/// [`Context`] from the call's metadata, runs the chain, and turns the reply headers into
/// response metadata and an error into a status with its reason and metadata.
pub async fn unary<Req, Rep>(
    endpoint: &Endpoint<Req, Rep>,
    operation: &'static str,
    request: tonic::Request<Req>,
) -> Result<tonic::Response<Rep>, tonic::Status>
where
    Req: Send + Sync + std::fmt::Debug + 'static,
    Rep: Send + Sync + std::fmt::Debug + 'static,
{
    answer(endpoint, operation, request, true).await
}

/// The [`Context`] of a call, its deadline set from the [`serve::CallBounds`] the connection
/// put in the request: the client's `grpc-timeout`, and the server's timeout when
/// `server_bounded`. Returns the server's limit and deadline when they apply.
fn call_context(
    operation: &'static str,
    metadata: tonic::metadata::MetadataMap,
    extensions: &tonic::Extensions,
    server_bounded: bool,
) -> (Context, Option<(Duration, tokio::time::Instant)>) {
    let bounds = extensions.get::<serve::CallBounds>();
    // Served by another server (an adapter on a plain tonic server): the client's
    // `grpc-timeout`, from when the call reached the adapter, is still the call's deadline.
    let other_server_deadline = match bounds {
        Some(_) => None,
        None => serve::grpc_timeout(metadata.as_ref())
            .ok()
            .flatten()
            .and_then(|t| tokio::time::Instant::now().checked_add(t)),
    };
    let ctx = Context::new(Kind::Grpc, operation, metadata.into_headers())
        .with_request_info(peer_info(extensions));
    let Some(bounds) = bounds else {
        if let Some(deadline) = other_server_deadline {
            ctx.limit_deadline(deadline);
        }
        return (ctx, None);
    };
    if let Some(deadline) = bounds
        .grpc_timeout
        .and_then(|t| bounds.arrived.checked_add(t))
    {
        ctx.limit_deadline(deadline);
    }
    let server = bounds
        .server_timeout
        .filter(|_| server_bounded)
        .and_then(|t| Some((t, bounds.arrived.checked_add(t)?)));
    if let Some((_, deadline)) = server {
        ctx.limit_deadline(deadline);
    }
    (ctx, server)
}

/// Serves a call with one reply through `endpoint`, bounded by the server's timeout when
/// `server_bounded` (unary calls, not client streams).
async fn answer<Req, Rep>(
    endpoint: &Endpoint<Req, Rep>,
    operation: &'static str,
    request: tonic::Request<Req>,
    server_bounded: bool,
) -> Result<tonic::Response<Rep>, tonic::Status>
where
    Req: Send + Sync + std::fmt::Debug + 'static,
    Rep: Send + Sync + std::fmt::Debug + 'static,
{
    let (metadata, extensions, message) = request.into_parts();
    let (ctx, server_limit) = call_context(operation, metadata, &extensions, server_bounded);
    let call = endpoint.call(ctx.clone(), message);
    let result = match server_limit {
        Some((limit, deadline)) => crate::middleware::bounded(limit, deadline, call).await,
        None => call.await,
    };
    let reply_headers = ctx.take_reply_headers();
    match result {
        Ok(reply) => {
            let mut response = tonic::Response::new(reply);
            *response.metadata_mut() = tonic::metadata::MetadataMap::from_headers(reply_headers);
            Ok(response)
        }
        Err(err) => {
            let mut status = tonic::Status::from(err);
            for (name, value) in reply_headers.iter() {
                if let Ok(key) =
                    tonic::metadata::AsciiMetadataKey::from_bytes(name.as_str().as_bytes())
                    && let Ok(v) = tonic::metadata::AsciiMetadataValue::try_from(value.as_bytes())
                {
                    status.metadata_mut().insert(key, v);
                }
            }
            Err(status)
        }
    }
}

/// The peer's address, as the connection put it in the request's extensions.
fn peer_info(extensions: &tonic::Extensions) -> crate::context::RequestInfo {
    crate::context::RequestInfo {
        peer: extensions
            .get::<tonic::transport::server::TcpConnectInfo>()
            .and_then(|info| info.remote_addr),
        ..Default::default()
    }
}

/// A server stream as tonic's generated server trait returns it.
pub type StatusStream<T> =
    std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<T, tonic::Status>> + Send + 'static>>;

/// Serves one server-streaming gRPC call through `endpoint` (called by generated adapters): the
/// method's messages are sent in order; an error ends the call with its status.
pub async fn server_stream<Req, Item>(
    endpoint: &Endpoint<Req, crate::stream::ServerStream<Item>>,
    operation: &'static str,
    request: tonic::Request<Req>,
) -> Result<tonic::Response<StatusStream<Item>>, tonic::Status>
where
    Req: Send + Sync + std::fmt::Debug + 'static,
    Item: Send + 'static,
{
    use tokio_stream::StreamExt as _;
    let (metadata, extensions, message) = request.into_parts();
    let (ctx, _) = call_context(operation, metadata, &extensions, false);
    let reply = endpoint.call(ctx.clone(), message).await;
    let headers = ctx.take_reply_headers();
    match reply.and_then(|r| {
        r.take()
            .ok_or_else(|| Error::new(500, "STREAM", "the reply stream was already taken"))
    }) {
        Ok(stream) => {
            let stream: StatusStream<Item> =
                Box::pin(stream.map(|item| item.map_err(tonic::Status::from)));
            let mut response = tonic::Response::new(stream);
            *response.metadata_mut() = tonic::metadata::MetadataMap::from_headers(headers);
            Ok(response)
        }
        Err(err) => Err(tonic::Status::from(err)),
    }
}

/// Serves one client-streaming gRPC call through `endpoint` (called by generated adapters): the
/// chain runs once for the call, with the incoming messages as a [`RequestStream`] that checks
/// each message with `validator` when the validation middleware is installed.
pub async fn client_stream<Req, Rep>(
    endpoint: &Endpoint<RequestStream<Req>, Rep>,
    operation: &'static str,
    validator: Option<crate::validate::Validator>,
    request: tonic::Request<tonic::Streaming<Req>>,
) -> Result<tonic::Response<Rep>, tonic::Status>
where
    Req: Send + 'static,
    Rep: Send + Sync + std::fmt::Debug + 'static,
{
    answer(
        endpoint,
        operation,
        request_stream(request, validator),
        false,
    )
    .await
}

/// Serves one bidirectional-streaming gRPC call through `endpoint` (called by generated
/// adapters): [`client_stream`]'s request, [`server_stream`]'s reply.
pub async fn bidi_stream<Req, Item>(
    endpoint: &Endpoint<RequestStream<Req>, crate::stream::ServerStream<Item>>,
    operation: &'static str,
    validator: Option<crate::validate::Validator>,
    request: tonic::Request<tonic::Streaming<Req>>,
) -> Result<tonic::Response<StatusStream<Item>>, tonic::Status>
where
    Req: Send + 'static,
    Item: Send + 'static,
{
    server_stream(endpoint, operation, request_stream(request, validator)).await
}

/// The validator generated adapters attach to a [`RequestStream`] endpoint: the validation
/// middleware calling it turns on the validation of each message.
pub fn request_stream_validator<Req: 'static>() -> crate::validate::Validator {
    RequestStream::<Req>::validate_messages
}

fn request_stream<Req: Send + 'static>(
    request: tonic::Request<tonic::Streaming<Req>>,
    validator: Option<crate::validate::Validator>,
) -> tonic::Request<RequestStream<Req>> {
    use tokio_stream::StreamExt as _;
    request.map(|incoming| {
        RequestStream::new(incoming.map(|item| item.map_err(Error::from)), validator)
    })
}
