//! The HTTP server: listener, connections (HTTP/1 and HTTP/2), graceful stop.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::net::TcpListener;

use super::binder::Binder;
use super::body::{Body, BodyLimits};
use super::dispatch::dispatch;
use super::layers::{
    self, Body as RequestBody, BoxError, HttpService, LayerFn, ServerService, Stack,
};
use super::router::{Route, RouteError, RouteSpec, Router};
use super::unary::{ReplyMode, UnaryRoute};
use crate::context::Context;
use crate::errors::Error;
use crate::middleware::{BoxFuture, Matcher, Middleware};
use crate::transport::conn::{Running, ServeOptions};
use crate::transport::{ConnectionLimits, CutConnection, ServerFuture, TransportError};

/// Default limit on a request body: 4 MiB, as gRPC's default message size.
pub const DEFAULT_MAX_BODY: usize = 4 * 1024 * 1024;

/// Builds an HTTP [`Server`].
pub struct ServerBuilder {
    address: String,
    listener: Option<std::net::TcpListener>,
    matcher: Matcher,
    max_body: usize,
    limits: ConnectionLimits,
    layers: Vec<LayerFn>,
    #[cfg(feature = "tls")]
    tls: Option<crate::tls::ServerTls>,
    timeout: Option<Duration>,
}

impl std::fmt::Debug for ServerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("http::ServerBuilder")
            .field("address", &self.address)
            .field("max_body", &self.max_body)
            .field("limits", &self.limits)
            .field("layers", &self.layers.len())
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl ServerBuilder {
    /// The address to listen on, such as `0.0.0.0:8000` or `:8000` (default `:0`).
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

    /// Adds middleware for the operations `pattern` matches (`/pkg.Service/*`, an exact
    /// operation, or `*`), after the middleware applied to every operation.
    pub fn middleware_for(mut self, pattern: &str, middleware: Vec<Middleware>) -> Self {
        self.matcher.add(pattern, middleware);
        self
    }

    /// The per-call timeout (Kratos' `http.Timeout`; default
    /// [`DEFAULT_SERVER_TIMEOUT`](crate::middleware::DEFAULT_SERVER_TIMEOUT), 1 s, as Kratos):
    /// a call of a generated route whose middleware and handler have not answered this long
    /// after the request was routed is dropped and answered 504 `TIMEOUT`, and the handler sees
    /// the limit as [`Context::deadline`]. `Duration::ZERO` means no limit. Server-streaming
    /// routes (Server-Sent Events) are not bounded, as Kratos bounds no stream, nor are plain
    /// [`Server::handle`] handlers. Reading the body is bounded by
    /// [`ConnectionLimits::body_read_timeout`] instead.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = (!timeout.is_zero()).then_some(timeout);
        self
    }

    /// The largest request body accepted (default [`DEFAULT_MAX_BODY`]); larger is a 413.
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.max_body = limit;
        self
    }

    /// The connection limits: header, body and idle timeouts, header size and count,
    /// connections, HTTP/2 streams and keep-alive (default [`ConnectionLimits::default`]).
    pub fn limits(mut self, limits: ConnectionLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Wraps the whole server (routing included) in a tower layer, such as tower-http's
    /// `TraceLayer`, `CorsLayer`, `CompressionLayer` or tower's `TimeoutLayer`. Each layer
    /// wraps the layers added before it, so **the last added runs first** on the request and
    /// last on the response (the first added is the innermost: axum's `Router::layer` order,
    /// the reverse of tower's `ServiceBuilder`); the gRPC server's
    /// [`layer`](crate::grpc::ServerBuilder::layer) follows the same rule. Layers run outside
    /// the Kratos middleware, which run per route after routing and binding. Layers get the
    /// request as `http::Request<`[`Body`](super::layers::Body)`>` and may return any body; a
    /// layer's error is answered with a Kratos error body (504 for tower's timeout, else 500).
    pub fn layer<L, B>(mut self, layer: L) -> Self
    where
        L: tower_layer::Layer<HttpService> + Send + Sync + 'static,
        L::Service: tower_service::Service<Request<RequestBody>, Response = Response<B>>
            + Clone
            + Send
            + Sync
            + 'static,
        <L::Service as tower_service::Service<Request<RequestBody>>>::Future: Send + 'static,
        <L::Service as tower_service::Service<Request<RequestBody>>>::Error: Into<BoxError>,
        B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        self.layers
            .push(Box::new(move |inner| layers::boxed(layer.layer(inner))));
        self
    }

    /// Serves TLS (feature `tls`) with the certificate, key and client CAs of `tls`, offering
    /// HTTP/2 and HTTP/1.1 by ALPN; the registered endpoint becomes `https://…`. A certificate
    /// that does not load makes [`start`](crate::transport::Server::start) fail.
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: crate::tls::ServerTls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Builds the server. Register services on it, then start it (usually through
    /// [`crate::App`]).
    pub fn build(self) -> Server {
        Server {
            address: self.address,
            listener: self.listener,
            matcher: self.matcher,
            max_body: self.max_body,
            limits: self.limits,
            layers: self.layers,
            #[cfg(feature = "tls")]
            tls: self.tls,
            timeout: self.timeout,
            router: Router::default(),
            running: None,
        }
    }
}

/// The HTTP server.
///
/// # Example
///
/// Generated `register_<service>_http_server` functions put a service's routes on a server;
/// [`Server::handle`] adds a plain route. Started on a free loopback port and stopped (an
/// [`App`](crate::App) usually does both):
///
/// ```
/// use kratos::transport::Server as _;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut server = kratos::http::Server::builder()
///     .address("127.0.0.1:0")
///     .build();
/// // pb::register_greeter_http_server(&mut server, std::sync::Arc::new(GreeterService))?;
/// server.handle("GET", "/hello/{name}", |_request, vars| async move {
///     ::http::Response::new(format!("Hello {}", vars[0]).into())
/// })?;
///
/// let addr = server.start().await?;
/// let client = kratos::http::Client::builder(addr.to_string()).build()?;
/// let (_, body) = client.send(::http::Method::GET, "/hello/kratos", None).await?;
/// assert_eq!(body, "Hello kratos");
/// server.stop().await?;
/// # Ok(())
/// # }
/// ```
pub struct Server {
    address: String,
    listener: Option<std::net::TcpListener>,
    matcher: Matcher,
    max_body: usize,
    limits: ConnectionLimits,
    layers: Vec<LayerFn>,
    #[cfg(feature = "tls")]
    tls: Option<crate::tls::ServerTls>,
    timeout: Option<Duration>,
    router: Router,
    running: Option<Running>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("http::Server")
            .field("address", &self.address)
            .field("running", &self.running.is_some())
            .finish()
    }
}

impl Server {
    /// A builder with the defaults: address `:0`, no middleware, 4 MiB body limit, the
    /// default [`ConnectionLimits`], a 1 s per-call timeout.
    ///
    /// ```
    /// use std::time::Duration;
    /// use kratos::middleware::{self, ratelimit};
    ///
    /// let server = kratos::http::Server::builder()
    ///     .address("0.0.0.0:8000")
    ///     .timeout(Duration::from_secs(5))
    ///     .max_body_bytes(1 << 20)
    ///     // Every operation: the first added runs first (outermost).
    ///     .middleware(middleware::recovery())
    ///     .middleware(middleware::logging())
    ///     .middleware(middleware::metadata::server())
    ///     // The operations of one service only, after the ones above.
    ///     .middleware_for("/helloworld.v1.Greeter/*", vec![ratelimit::server()])
    ///     .build();
    /// assert_eq!(server.timeout(), Some(Duration::from_secs(5)));
    /// ```
    pub fn builder() -> ServerBuilder {
        ServerBuilder {
            address: ":0".into(),
            listener: None,
            matcher: Matcher::new(),
            max_body: DEFAULT_MAX_BODY,
            limits: ConnectionLimits::default(),
            layers: Vec::new(),
            #[cfg(feature = "tls")]
            tls: None,
            timeout: Some(crate::middleware::DEFAULT_SERVER_TIMEOUT),
        }
    }

    /// The per-call timeout of generated unary routes (see [`ServerBuilder::timeout`]).
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// Registers a unary route (called by generated code). `bind` fills the request message
    /// from the body, query and path; `handler` is the service method; `reply` encodes its
    /// reply ([`super::whole_reply`], or generated code for a `response_body` field).
    pub fn route<Req, Rep, F, Fut>(
        &mut self,
        spec: RouteSpec,
        bind: fn(&mut Binder<'_>) -> Result<Req, Error>,
        reply: super::ReplyFn<Rep>,
        handler: F,
    ) -> Result<(), RouteError>
    where
        Req: DeserializeOwned + Send + Sync + std::fmt::Debug + 'static,
        Rep: Serialize + prost::Message + std::fmt::Debug + Send + Sync + 'static,
        F: Fn(Context, Req) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Rep, Error>> + Send + 'static,
    {
        self.add_route(spec, bind, ReplyMode::Whole(reply), handler)
    }

    /// Registers a route whose reply is a `google.api.HttpBody` (called by generated code):
    /// `parts` takes the reply apart into its media type and its data, sent as they are,
    /// whatever the client accepts (Kratos v3).
    pub fn route_raw<Req, Rep, F, Fut>(
        &mut self,
        spec: RouteSpec,
        bind: fn(&mut Binder<'_>) -> Result<Req, Error>,
        parts: super::RawReplyFn<Rep>,
        handler: F,
    ) -> Result<(), RouteError>
    where
        Req: DeserializeOwned + Send + Sync + std::fmt::Debug + 'static,
        Rep: std::fmt::Debug + Send + Sync + 'static,
        F: Fn(Context, Req) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Rep, Error>> + Send + 'static,
    {
        self.add_route(spec, bind, ReplyMode::Raw(parts), handler)
    }

    /// Registers a server-streaming route (called by generated code): the reply is sent as
    /// Server-Sent Events, one `data:` event per message in JSON, an `error` event on failure.
    pub fn route_stream<Req, Item, F, Fut>(
        &mut self,
        spec: RouteSpec,
        bind: fn(&mut Binder<'_>) -> Result<Req, Error>,
        handler: F,
    ) -> Result<(), RouteError>
    where
        Req: DeserializeOwned + Send + Sync + std::fmt::Debug + 'static,
        Item: Serialize + Send + 'static,
        F: Fn(Context, Req) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<crate::stream::ServerStream<Item>, Error>> + Send + 'static,
    {
        self.add_route(
            spec,
            bind,
            ReplyMode::Events(super::events::encode::<Item>),
            handler,
        )
    }

    /// Registers a route whose reply is sent as `reply` says (one body, or events).
    fn add_route<Req, Rep, F, Fut>(
        &mut self,
        spec: RouteSpec,
        bind: fn(&mut Binder<'_>) -> Result<Req, Error>,
        reply: ReplyMode<Rep>,
        handler: F,
    ) -> Result<(), RouteError>
    where
        Req: DeserializeOwned + Send + Sync + std::fmt::Debug + 'static,
        Rep: std::fmt::Debug + Send + Sync + 'static,
        F: Fn(Context, Req) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Rep, Error>> + Send + 'static,
    {
        let template = Arc::new(kratos_path_template::Template::parse(spec.path)?);
        let method = Router::parse_method(spec.path, spec.method)?;
        let middleware = self.matcher.matching(spec.operation);
        // As Kratos bounds no stream, the per-call timeout bounds unary replies only.
        let call_timeout = match reply {
            ReplyMode::Events(_) => None,
            _ => self.timeout,
        };
        let handler = UnaryRoute::new(
            spec.operation,
            spec.path,
            template.clone(),
            bind,
            reply,
            &middleware,
            spec.validator,
            self.body_limits(),
            call_timeout,
            handler,
        );
        self.router.add(Route {
            method,
            template,
            operation: spec.operation,
            handler: Arc::new(handler),
            strict_slash: true,
        })
    }

    /// Registers a plain handler for `method` and the path template `path` (such as
    /// `/q/openapi.json` or `/files/{path=**}`): it gets the whole request with its body and the
    /// decoded path variables in template order, and returns the whole response. No binding,
    /// codec or middleware is involved, and unlike generated routes it also takes a path ending
    /// in `/` (such as `/files/{path=**}` for `/files/`). The request carries the client's
    /// address as a [`PeerAddr`](super::PeerAddr) extension when the server knows it.
    pub fn handle<F, Fut>(
        &mut self,
        method: &'static str,
        path: &'static str,
        handler: F,
    ) -> Result<(), RouteError>
    where
        F: Fn(Request<bytes::Bytes>, Vec<String>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Response<bytes::Bytes>> + Send + 'static,
    {
        let template = Arc::new(kratos_path_template::Template::parse(path)?);
        let method_match = Router::parse_method(path, method)?;
        self.router.add(Route {
            method: method_match,
            template,
            operation: path,
            handler: Arc::new(super::plain::PlainRoute {
                handler,
                body_limits: self.body_limits(),
                _future: std::marker::PhantomData,
            }),
            strict_slash: false,
        })
    }

    /// The server as a tower service, without a socket: every route and layer registered,
    /// answering each request as the started server would (see [`ServerService`]). Made for
    /// in-process tests with `tower::ServiceExt::oneshot`, and for serving the routes from
    /// another hyper or tower server.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    /// use http_body_util::BodyExt as _;
    /// use tower::ServiceExt as _;
    ///
    /// let mut server = kratos::http::Server::builder().build();
    /// server.handle("GET", "/ping", |_request, _vars| async {
    ///     http::Response::new(bytes::Bytes::from_static(b"pong"))
    /// })?;
    /// let service = server.into_service();
    ///
    /// let request = http::Request::get("/ping").body(String::new())?;
    /// let response = service.clone().oneshot(request).await?;
    /// assert_eq!(response.status(), 200);
    /// assert_eq!(response.into_body().collect().await?.to_bytes(), "pong");
    ///
    /// // No route: Kratos' 404 body, as over the socket.
    /// let request = http::Request::get("/nowhere").body(String::new())?;
    /// assert_eq!(service.oneshot(request).await?.status(), 404);
    /// # Ok(())
    /// # }
    /// ```
    pub fn into_service(mut self) -> ServerService {
        ServerService(self.stack())
    }

    /// The routes registered so far, wrapped in the layers: what answers every request.
    fn stack(&mut self) -> Stack {
        let router = Arc::new(std::mem::take(&mut self.router));
        if self.layers.is_empty() {
            return Stack::Routes(router);
        }
        let mut stack = layers::boxed(Service { router, peer: None });
        for layer in &self.layers {
            stack = layer(stack);
        }
        Stack::Layered(stack)
    }

    fn body_limits(&self) -> BodyLimits {
        BodyLimits {
            max_bytes: self.max_body,
            timeout: self.limits.body_read_timeout,
        }
    }

    async fn bind_listener(&mut self) -> Result<TcpListener, TransportError> {
        crate::transport::listen("http", &self.address, self.listener.take()).await
    }

    async fn shut(
        &mut self,
        grace: Option<Duration>,
    ) -> Result<Vec<CutConnection>, TransportError> {
        match self.running.take() {
            Some(running) => running.stop("http", grace).await,
            None => Ok(Vec::new()),
        }
    }
}

/// The hyper service: routes a request and answers it.
#[derive(Clone)]
pub(super) struct Service {
    router: Arc<Router>,
    /// The connection's peer. Behind tower layers (one stack shared by every connection)
    /// it is `None` and each request carries it as a [`layers::PeerAddr`] extension instead.
    peer: Option<SocketAddr>,
}

impl hyper::service::Service<Request<Incoming>> for Service {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response<Body>, Infallible>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let router = self.router.clone();
        let peer = self.peer;
        Box::pin(async move { Ok(dispatch(&router, request.map(RequestBody::from), peer).await) })
    }
}

impl tower_service::Service<Request<RequestBody>> for Service {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response<Body>, Infallible>>;

    fn poll_ready(
        &mut self,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<RequestBody>) -> Self::Future {
        let router = self.router.clone();
        let peer = self
            .peer
            .or_else(|| request.extensions().get::<layers::PeerAddr>().map(|p| p.0));
        Box::pin(async move { Ok(dispatch(&router, request, peer).await) })
    }
}

impl crate::transport::Server for Server {
    fn kind(&self) -> &'static str {
        "http"
    }

    fn scheme(&self) -> &'static str {
        #[cfg(feature = "tls")]
        if self.tls.is_some() {
            return "https";
        }
        "http"
    }

    fn start(&mut self) -> ServerFuture<'_, Result<SocketAddr, TransportError>> {
        Box::pin(async move {
            if self.running.is_some() {
                return Err(TransportError::Serve {
                    kind: "http",
                    reason: "already started".into(),
                });
            }
            #[cfg(feature = "tls")]
            let tls = self
                .tls
                .as_ref()
                .map(|tls| tls.acceptor(&[crate::tls::ALPN_H2, crate::tls::ALPN_HTTP11]))
                .transpose()
                .map_err(|e| TransportError::Serve {
                    kind: "http",
                    reason: e.to_string(),
                })?;
            let listener = self.bind_listener().await?;
            let local = listener.local_addr().map_err(|e| TransportError::Bind {
                kind: "http",
                addr: self.address.clone(),
                source: e,
            })?;
            let stack = self.stack();
            let options = ServeOptions {
                kind: "http",
                limits: self.limits.clone(),
                http2_only: false,
                #[cfg(feature = "tls")]
                tls,
            };
            let running = match stack {
                Stack::Routes(router) => {
                    Running::spawn(listener, options, move |peer, _| Service {
                        router: router.clone(),
                        peer: Some(peer),
                    })
                }
                Stack::Layered(stack) => {
                    Running::spawn(listener, options, move |peer, _| layers::Guarded {
                        stack: stack.clone(),
                        peer,
                    })
                }
            };
            self.running = Some(running);
            tracing::info!(address = %local, "[HTTP] server listening on: {local}");
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
