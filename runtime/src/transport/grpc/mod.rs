//! The gRPC transport, on tonic.
//!
//! tonic generates the gRPC server for each service; generated kratos code implements tonic's
//! server trait with an adapter that calls the same service implementation as the HTTP routes,
//! through the same kind of middleware chain ([`Server::endpoint`]) and with the same
//! [`Context`] (operation `/package.Service/Method`, metadata as headers).

mod client;

pub use crate::transport::http::ClientError;
pub use client::{ChannelBuilder, DEFAULT_CALL_TIMEOUT};

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;

use crate::context::{Context, Kind};
use crate::errors::Error;
use crate::middleware::{Endpoint, Middleware, Selector};
use crate::stream::RequestStream;
use crate::transport::{ServerFuture, TransportError};

/// Builds a gRPC [`Server`].
#[derive(Debug)]
pub struct ServerBuilder {
    address: String,
    listener: Option<std::net::TcpListener>,
    selector: Selector,
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
        self.selector.with(middleware);
        self
    }

    /// Adds middleware for the operations `selector` selects.
    pub fn middleware_for(mut self, selector: &str, middleware: Vec<Middleware>) -> Self {
        self.selector.add(selector, middleware);
        self
    }

    /// Builds the server.
    pub fn build(self) -> Server {
        Server {
            address: self.address,
            listener: self.listener,
            selector: self.selector,
            routes: RoutesBuilder::default(),
            running: None,
        }
    }
}

struct Running {
    shutdown: watch::Sender<bool>,
    task: JoinHandle<Result<(), tonic::transport::Error>>,
}

/// The gRPC server.
pub struct Server {
    address: String,
    listener: Option<std::net::TcpListener>,
    selector: Selector,
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
    /// A builder with the defaults: address `:0`, no middleware.
    pub fn builder() -> ServerBuilder {
        ServerBuilder {
            address: ":0".into(),
            listener: None,
            selector: Selector::new(),
        }
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
        Endpoint::with_validator(&self.selector.matching(operation), validator, f)
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
        self.routes.add_service(service);
        self
    }

    async fn bind_listener(&mut self) -> Result<TcpListener, TransportError> {
        crate::transport::listen("grpc", &self.address, self.listener.take()).await
    }
}

impl crate::transport::Server for Server {
    fn kind(&self) -> &'static str {
        "grpc"
    }

    fn start(&mut self) -> ServerFuture<'_, Result<SocketAddr, TransportError>> {
        Box::pin(async move {
            if self.running.is_some() {
                return Err(TransportError::Serve {
                    kind: "grpc",
                    reason: "already started".into(),
                });
            }
            let listener = self.bind_listener().await?;
            let local = listener.local_addr().map_err(|e| TransportError::Bind {
                kind: "grpc",
                addr: self.address.clone(),
                source: e,
            })?;
            let routes = std::mem::take(&mut self.routes).routes();
            let (shutdown, mut stop) = watch::channel(false);
            let task = tokio::spawn(async move {
                tonic::transport::Server::builder()
                    .add_routes(routes)
                    .serve_with_incoming_shutdown(Incoming::new(listener), async move {
                        let _ = stop.changed().await;
                    })
                    .await
            });
            self.running = Some(Running { shutdown, task });
            tracing::info!(address = %local, "grpc server listening");
            Ok(local)
        })
    }

    fn stop(&mut self) -> ServerFuture<'_, Result<(), TransportError>> {
        Box::pin(async move {
            let Some(running) = self.running.take() else {
                return Ok(());
            };
            let _ = running.shutdown.send(true);
            let outcome = running.task.await.map_err(|e| TransportError::Serve {
                kind: "grpc",
                reason: format!("serving task failed: {e}"),
            })?;
            outcome.map_err(|e| TransportError::Serve {
                kind: "grpc",
                reason: e.to_string(),
            })?;
            tracing::info!("grpc server stopped");
            Ok(())
        })
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
    let (metadata, _extensions, message) = request.into_parts();
    let ctx = Context::new(Kind::Grpc, operation, metadata.into_headers());
    let result = endpoint.call(ctx.clone(), message).await;
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
    let (metadata, _extensions, message) = request.into_parts();
    let ctx = Context::new(Kind::Grpc, operation, metadata.into_headers());
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
    unary(endpoint, operation, request_stream(request, validator)).await
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

/// Accepted connections for tonic. An accept error (such as too many open files) is logged and
/// retried after a short pause, as the HTTP server does, instead of ending the server: tonic
/// stops serving at the first error its incoming stream yields.
struct Incoming {
    listener: TcpListener,
    pause: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
}

impl Incoming {
    fn new(listener: TcpListener) -> Self {
        Incoming {
            listener,
            pause: None,
        }
    }
}

impl tokio_stream::Stream for Incoming {
    type Item = std::io::Result<tokio::net::TcpStream>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use std::task::Poll;
        loop {
            if let Some(pause) = self.pause.as_mut() {
                if pause.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                self.pause = None;
            }
            match self.listener.poll_accept(cx) {
                Poll::Ready(Ok((stream, _peer))) => {
                    let _ = stream.set_nodelay(true);
                    return Poll::Ready(Some(Ok(stream)));
                }
                Poll::Ready(Err(e)) => {
                    tracing::warn!(error = %e, "grpc server: accept failed; retrying");
                    self.pause = Some(Box::pin(tokio::time::sleep(
                        std::time::Duration::from_millis(10),
                    )));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}
