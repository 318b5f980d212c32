//! The gRPC transport, on tonic.
//!
//! tonic generates the gRPC server for each service; generated kratos code implements tonic's
//! server trait with an adapter that calls the same service implementation as the HTTP routes,
//! through the same kind of middleware chain ([`Server::endpoint`]) and with the same
//! [`Context`] (operation `/package.Service/Method`, metadata as headers).
//!
//! The services' routes are served over HTTP/2 on the runtime's own connections, as the HTTP
//! server's: the same [`ConnectionLimits`], accept backoff and stop.

mod chain;
mod client;
mod serve;

pub use crate::transport::ClientError;
pub use chain::{CallFuture, ClientChannel, GrpcClientRequest, reply_error};
pub use client::{ChannelBuilder, DEFAULT_CALL_TIMEOUT};

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;

use crate::context::{Context, Kind};
use crate::errors::Error;
use crate::middleware::{Endpoint, Matcher, Middleware};
use crate::stream::RequestStream;
use crate::transport::conn::{Running, ServeOptions};
use crate::transport::{ConnectionLimits, CutConnection, ServerFuture, TransportError};

/// Builds a gRPC [`Server`].
#[derive(Debug)]
pub struct ServerBuilder {
    address: String,
    listener: Option<std::net::TcpListener>,
    matcher: Matcher,
    limits: ConnectionLimits,
    #[cfg(feature = "tls")]
    tls: Option<crate::tls::ServerTls>,
    health: Option<crate::health::Health>,
    timeout: Option<Duration>,
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

    /// Builds the server.
    pub fn build(self) -> Server {
        Server {
            address: self.address,
            listener: self.listener,
            matcher: self.matcher,
            limits: self.limits,
            #[cfg(feature = "tls")]
            tls: self.tls,
            health: self.health,
            services: Vec::new(),
            timeout: self.timeout,
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
    /// A builder with the defaults: address `:0`, no middleware, the default
    /// [`ConnectionLimits`], a 1 s per-call timeout for unary calls.
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
        Endpoint::with_validator(&self.matcher.matching(operation), validator, f)
    }

    /// Adds a tonic service (such as `greeter_server::GreeterServer::new(adapter)`).
    pub fn add_service<S>(&mut self, service: S) -> &mut Self
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
        self.services.push(S::NAME);
        self.routes.add_service(service);
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
                self.add_service(health.grpc_service());
            }
            let routes = std::mem::take(&mut self.routes).routes();
            let options = ServeOptions {
                kind: "grpc",
                limits: self.limits.clone(),
                http2_only: true,
                #[cfg(feature = "tls")]
                tls,
            };
            let timeout = self.timeout;
            self.running = Some(Running::spawn(listener, options, move |peer, local| {
                serve::GrpcService::new(routes.clone(), peer, local, timeout)
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
    let ctx = Context::new(Kind::Grpc, operation, metadata.into_headers())
        .with_request_info(peer_info(extensions));
    let Some(bounds) = extensions.get::<serve::CallBounds>() else {
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
