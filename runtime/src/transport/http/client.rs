//! The HTTP client that generated `<Service>HttpClient`s call through (Kratos'
//! `transport/http` client): sends a request with the chosen codec and decodes the reply, or
//! the Kratos error body into [`Error`].

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec::Codec;
use crate::context::{Context, Kind};
use crate::errors::Error;
use crate::middleware::{Handler, Message, Middleware, chain};
use crate::registry::Discovery;
use crate::selector::{Balancer, NodeFilter, Resolved, Selector, discovery_target};
use crate::stream::BoxStream;
use crate::transport::ClientError;
use crate::transport::connect::Connector;

mod options;
mod reply;
mod send;

pub use options::{CallOptions, ReplyHeaders};
pub use reply::{Reply, RequestBody};
use reply::{read_body, reply_codec};

/// Kratos' default client timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// Builds a [`Client`].
#[derive(Clone)]
pub struct ClientBuilder {
    endpoint: String,
    timeout: Duration,
    codec: Codec,
    user_agent: Option<String>,
    discovery: Option<Arc<dyn Discovery>>,
    filters: Vec<NodeFilter>,
    balancer: Balancer,
    middleware: Vec<Middleware>,
    #[cfg(feature = "tls")]
    tls: Option<crate::tls::ClientTls>,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("http::ClientBuilder")
            .field("endpoint", &self.endpoint)
            .field("timeout", &self.timeout)
            .field("codec", &self.codec)
            .field("discovery", &self.discovery.is_some())
            .field("filters", &self.filters.len())
            .field("balancer", &self.balancer)
            .field("middleware", &self.middleware.len())
            .finish()
    }
}

pub use crate::selector::DISCOVERY_SCHEME;

impl ClientBuilder {
    /// The timeout of each call (default 2 s, as Kratos); the call fails with 504 `TIMEOUT`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The codec of request bodies and the `Accept` header (default JSON).
    pub fn codec(mut self, codec: Codec) -> Self {
        self.codec = codec;
        self
    }

    /// The `User-Agent` header.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }

    /// Resolves a `discovery:///<name>` endpoint through `discovery` (Kratos' `WithDiscovery`):
    /// the client watches the service and sends each request to one of its instances' `http`
    /// endpoints (`https` with [`tls`](ClientBuilder::tls)), chosen by the
    /// [`balancer`](ClientBuilder::balancer) (default smooth weighted round-robin on the
    /// instances' `weight` metadata, default 100). An endpoint that is a plain address is
    /// still called directly.
    pub fn discovery(mut self, discovery: Arc<dyn Discovery>) -> Self {
        self.discovery = Some(discovery);
        self
    }

    /// How a discovery endpoint's instances are picked (default [`Balancer::Wrr`]; see
    /// [`crate::selector`]).
    pub fn balancer(mut self, balancer: Balancer) -> Self {
        self.balancer = balancer;
        self
    }

    /// Speaks TLS (feature `tls`) on every connection, trusting the CAs of `tls` and
    /// presenting its certificate when it has one (mTLS), offering HTTP/2 and HTTP/1.1 by
    /// ALPN. The endpoint is then `https://host:port` (or `host:port`), and a discovery
    /// endpoint picks the instances' `https` endpoints (Kratos' `WithTLSConfig`).
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: crate::tls::ClientTls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Keeps only the instances `filter` keeps, such as [`crate::selector::version`] (Kratos'
    /// `WithNodeFilter`); filters apply in order.
    pub fn node_filter(mut self, filter: NodeFilter) -> Self {
        self.filters.push(filter);
        self
    }

    /// Adds a client middleware (Kratos' `WithMiddleware`), run once per call, the first added
    /// outermost. Its [`Context`] is a client one ([`crate::Side::Client`]) with the
    /// operation `/package.Service/Method` (empty for calls made with [`Client::send`] and the
    /// other untyped methods), the call's client metadata, and the request headers in
    /// [`Context::outgoing_headers`], which it may change. The request it sees is a
    /// [`ClientRequest`] (method and path; the body is already encoded); its reply is opaque,
    /// and a non-2xx answer comes back through it as the decoded [`Error`]. For a
    /// server-streaming call the chain runs once, until the reply starts.
    pub fn middleware(mut self, middleware: Middleware) -> Self {
        self.middleware.push(middleware);
        self
    }

    /// [`build`](ClientBuilder::build), then, for a discovery endpoint, waits until the service
    /// has an instance (Kratos' `WithBlock`), for at most the client's timeout.
    pub async fn connect(self) -> Result<Client, ClientError> {
        let endpoint = self.endpoint.clone();
        let timeout = self.timeout;
        let client = self.build()?;
        if let Target::Discovery(resolved, _) = &client.transport.target {
            tokio::time::timeout(timeout, resolved.wait_ready())
                .await
                .map_err(|_| ClientError {
                    endpoint,
                    reason: format!("no instance with an http endpoint within {timeout:?}"),
                })?;
        }
        Ok(client)
    }

    fn secure(&self) -> bool {
        #[cfg(feature = "tls")]
        if self.tls.is_some() {
            return true;
        }
        false
    }

    /// Builds the client. The endpoint is `host:port` or `http://host:port` (no path;
    /// `https://host:port` with [`tls`](ClientBuilder::tls)), or `discovery:///<name>` with
    /// [`discovery`](ClientBuilder::discovery), which must then be called within a tokio
    /// runtime.
    pub fn build(self) -> Result<Client, ClientError> {
        let target = discovery_target(&self.endpoint, self.discovery.as_ref(), "ClientBuilder")
            .map_err(|reason| ClientError {
                endpoint: self.endpoint.clone(),
                reason,
            })?;
        let scheme = if self.secure() { "https" } else { "http" };
        if let Some((name, discovery)) = target {
            let selector = Selector::with_balancer(self.balancer);
            let resolved =
                Resolved::start(discovery, name.to_string(), "http", self.secure(), selector);
            let filters = self.filters.clone();
            return self.finish(Target::Discovery(Arc::new(resolved), filters), scheme);
        }
        let with_scheme = if self.endpoint.contains("://") {
            self.endpoint.clone()
        } else {
            format!("{scheme}://{}", self.endpoint)
        };
        let fail = |reason: String| ClientError {
            endpoint: self.endpoint.clone(),
            reason,
        };
        let uri: http::Uri = with_scheme.parse().map_err(|e| fail(format!("{e}")))?;
        match uri.scheme_str() {
            Some(s) if s == scheme => {}
            Some("https") => {
                return Err(fail(
                    "an https endpoint needs TLS (ClientBuilder::tls, feature `tls`)".into(),
                ));
            }
            Some("http") => {
                return Err(fail(
                    "an http endpoint with TLS configured: use https://".into(),
                ));
            }
            Some(other) => {
                return Err(fail(format!(
                    "scheme {other} is not supported (http or https)"
                )));
            }
            None => return Err(fail("no scheme".into())),
        }
        let authority = uri
            .authority()
            .ok_or_else(|| fail("no host".into()))?
            .to_string();
        if uri.path() != "/" && !uri.path().is_empty() {
            return Err(fail("an endpoint has no path".into()));
        }
        self.finish(Target::Direct(format!("{scheme}://{authority}")), scheme)
    }

    fn finish(self, target: Target, scheme: &'static str) -> Result<Client, ClientError> {
        let fail = |reason: String| ClientError {
            endpoint: self.endpoint.clone(),
            reason,
        };
        let user_agent = match self.user_agent {
            Some(ua) => {
                Some(HeaderValue::from_str(&ua).map_err(|e| fail(format!("user agent: {e}")))?)
            }
            None => None,
        };
        #[cfg(feature = "tls")]
        let connector = match &self.tls {
            Some(tls) => Connector::tls(
                tls.connector(&[crate::tls::ALPN_H2, crate::tls::ALPN_HTTP11])
                    .map_err(|e| fail(e.to_string()))?,
            ),
            None => Connector::plain(),
        };
        #[cfg(not(feature = "tls"))]
        let connector = Connector::plain();
        let transport = Transport {
            target,
            scheme,
            inner: HyperClient::builder(TokioExecutor::new()).build(connector),
            user_agent,
        };
        // No middleware, no chain: calls go straight to the transport.
        let chain = (!self.middleware.is_empty())
            .then(|| chain(&self.middleware, transport.clone().into_handler()));
        Ok(Client {
            transport,
            chain,
            timeout: self.timeout,
            codec: self.codec,
            call: None,
        })
    }
}

/// Where a client sends its requests.
#[derive(Clone)]
enum Target {
    /// One server, `http://host:port`.
    Direct(String),
    /// The instances of a service, resolved through a registry, and the node filters.
    Discovery(Arc<Resolved>, Vec<NodeFilter>),
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Direct(base) => f.debug_tuple("Direct").field(base).finish(),
            Target::Discovery(resolved, filters) => f
                .debug_tuple("Discovery")
                .field(resolved)
                .field(&filters.len())
                .finish(),
        }
    }
}

/// An HTTP client of a Kratos (or kratos-rs) server. Cheap to clone: clones share connections
/// and, for a discovery endpoint, the resolver, which stops when the last clone is dropped.
///
/// Generated `<Service>HttpClient` types wrap one and give it typed methods
/// (`GreeterHttpClient::new(client).say_hello(&request)`); it can also send any request.
///
/// # Example
///
/// A reply, and an error: a non-2xx answer with a Kratos error body comes back as the same
/// [`Error`] the server returned (a server on a free loopback port here):
///
/// ```
/// use kratos::errors::Error;
/// use kratos::transport::Server as _;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let mut server = kratos::http::Server::builder().address("127.0.0.1:0").build();
/// # server.handle("GET", "/users/{id}", |_, vars| async move {
/// #     if vars[0] == "1" {
/// #         return ::http::Response::new(r#"{"name":"ferris"}"#.into());
/// #     }
/// #     let body = r#"{"code":404,"reason":"USER_NOT_FOUND","message":"no such user","metadata":{}}"#;
/// #     ::http::Response::builder()
/// #         .status(404)
/// #         .header("content-type", "application/json")
/// #         .body(body.into())
/// #         .unwrap()
/// # })?;
/// # let addr = server.start().await?;
/// let client = kratos::http::Client::builder(format!("http://{addr}"))
///     .timeout(std::time::Duration::from_secs(2))
///     .middleware(kratos::middleware::metadata::client())
///     .build()?;
///
/// let (_codec, body) = client.send(::http::Method::GET, "/users/1", None).await?;
/// assert_eq!(body, r#"{"name":"ferris"}"#);
///
/// let err: Error = client
///     .send(::http::Method::GET, "/users/2", None)
///     .await
///     .unwrap_err();
/// assert_eq!((err.code(), err.reason()), (404, "USER_NOT_FOUND"));
/// assert!(kratos::errors::is_not_found(&err));
/// # server.stop().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Client {
    transport: Transport,
    chain: Option<Handler>,
    timeout: Duration,
    codec: Codec,
    /// The options of the calls made through this handle ([`Client::with_options`]).
    call: Option<Arc<CallOptions>>,
}

/// Where and how requests are sent: what the innermost handler of a client chain calls.
#[derive(Debug, Clone)]
struct Transport {
    target: Target,
    /// `http` or `https`.
    scheme: &'static str,
    inner: HyperClient<Connector, Full<Bytes>>,
    user_agent: Option<HeaderValue>,
}

/// The request of an HTTP client call as client middleware see it.
pub struct ClientRequest {
    /// The HTTP method.
    pub method: Method,
    /// The path and query, as sent.
    pub path_and_query: String,
    body: Option<(HeaderValue, Vec<u8>)>,
    accept: HeaderValue,
    /// When the client's timeout runs out: the innermost handler fails the call with 504
    /// `TIMEOUT` then, so that the middleware see the timeout the caller gets.
    deadline: tokio::time::Instant,
    timeout: Duration,
}

impl std::fmt::Debug for ClientRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.path_and_query)
    }
}

/// The successful reply head of a chained call, passed back out through the chain.
struct ChainedReply(std::sync::Mutex<Option<http::Response<Incoming>>>);

impl std::fmt::Debug for ChainedReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("http reply")
    }
}

/// The error of a call that got no reply within the client's `timeout`.
fn timeout_error(timeout: Duration) -> Error {
    Error::new(504, "TIMEOUT", format!("no reply within {timeout:?}"))
}

fn chain_error(what: &str, other: &Message) -> Error {
    Error::new(
        500,
        "MIDDLEWARE",
        format!("a client middleware replaced the {what} with {other:?}"),
    )
}

impl Client {
    /// A builder for `endpoint` (`host:port` or `http://host:port`).
    pub fn builder(endpoint: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            endpoint: endpoint.into(),
            timeout: DEFAULT_TIMEOUT,
            codec: Codec::Json,
            user_agent: None,
            discovery: None,
            filters: Vec::new(),
            balancer: Balancer::default(),
            middleware: Vec::new(),
            #[cfg(feature = "tls")]
            tls: None,
        }
    }

    /// A handle on the same client (same connections, middleware and resolver) whose calls
    /// use `options` (instead of any options this handle had): extra headers, their own
    /// timeout, a slot for the reply's headers. Cheap: what generated clients' `with_options`
    /// calls, for one call or for many.
    ///
    /// ```no_run
    /// # async fn demo(client: kratos::http::Client) -> Result<(), kratos::errors::Error> {
    /// use std::time::Duration;
    /// use kratos::http::CallOptions;
    ///
    /// let traced = client.with_options(
    ///     CallOptions::new()
    ///         .header("x-request-id", "42")
    ///         .timeout(Duration::from_millis(250)),
    /// );
    /// let (_codec, _body) = traced.send(http::Method::GET, "/helloworld/kratos", None).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_options(&self, options: CallOptions) -> Client {
        Client {
            call: Some(Arc::new(options)),
            ..self.clone()
        }
    }

    /// The timeout of this handle's calls: its [`CallOptions::timeout`], else the client's.
    fn call_timeout(&self) -> Duration {
        self.call
            .as_ref()
            .and_then(|c| c.timeout)
            .unwrap_or(self.timeout)
    }

    /// Copies a successful reply's headers where the call options ask for them.
    fn keep_reply_headers(&self, headers: &http::HeaderMap) {
        if let Some(slot) = self.call.as_ref().and_then(|c| c.reply_headers.as_ref()) {
            slot.set(headers);
        }
    }

    /// This handle's extra request headers, or the error of a header that did not parse.
    fn call_headers(&self) -> Result<http::HeaderMap, Error> {
        match &self.call {
            None => Ok(http::HeaderMap::new()),
            Some(call) => match &call.invalid {
                Some(reason) => Err(Error::new(400, "CLIENT", reason.clone())),
                None => Ok(call.headers.clone()),
            },
        }
    }

    /// The codec of request bodies and of `Accept`.
    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// Sends `method path_and_query` with `body` (already encoded with [`Client::codec`],
    /// `None` for no body) and returns the reply body on success. A non-2xx answer is decoded
    /// as a Kratos error body (in the codec of its Content-Type); an answer that is not one
    /// becomes an error with the status as its code and the body as its message. Client
    /// middleware see an empty operation; [`Client::invoke`] names it.
    pub async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(Codec, Bytes), Error> {
        self.invoke("", method, path_and_query, body).await
    }

    /// [`Client::send`] for the call of `operation` (`/package.Service/Method`, what client
    /// middleware see): what generated clients call.
    pub async fn invoke(
        &self,
        operation: &'static str,
        method: Method,
        path_and_query: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(Codec, Bytes), Error> {
        let reply = self
            .invoke_body(
                operation,
                method,
                path_and_query,
                body.map(RequestBody::Encoded),
            )
            .await?;
        Ok((reply.codec, reply.body))
    }

    /// [`Client::send`] for any [`RequestBody`], returning the reply's media type as well.
    pub async fn send_body(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<RequestBody>,
    ) -> Result<Reply, Error> {
        self.invoke_body("", method, path_and_query, body).await
    }

    /// [`Client::send_body`] for the call of `operation`: what the generated client calls for
    /// methods taking or returning a `google.api.HttpBody`.
    pub async fn invoke_body(
        &self,
        operation: &'static str,
        method: Method,
        path_and_query: &str,
        body: Option<RequestBody>,
    ) -> Result<Reply, Error> {
        let deadline = tokio::time::Instant::now() + self.call_timeout();
        let call = async {
            let accept = self.codec.content_type();
            let body = match body {
                None => None,
                Some(RequestBody::Encoded(data)) => Some((self.codec.content_type(), data)),
                Some(RequestBody::Raw { content_type, data }) => {
                    let media = if content_type.is_empty() {
                        HeaderValue::from_static(crate::types::DEFAULT_CONTENT_TYPE)
                    } else {
                        HeaderValue::from_str(&content_type).map_err(|_| {
                            Error::new(
                                400,
                                "CLIENT",
                                format!(
                                    "content type {content_type:?} is not a valid header value"
                                ),
                            )
                        })?
                    };
                    Some((media, data))
                }
            };
            let response = self
                .exchange(operation, method, path_and_query, body, accept, deadline)
                .await?;
            self.keep_reply_headers(response.headers());
            let codec = reply_codec(response.headers());
            let content_type = response.headers().get(header::CONTENT_TYPE).cloned();
            let bytes = read_body(response.into_body()).await?;
            Ok(Reply {
                codec,
                content_type,
                body: bytes,
            })
        };
        self.within_timeout(deadline, call).await
    }

    /// Calls a server-streaming method, whose reply is Server-Sent Events (`Accept:
    /// text/event-stream`), and returns its messages as they arrive. The client's timeout
    /// bounds the wait for the reply to start, not the stream. The stream yields an error and
    /// ends when the server sends an `error` event, the connection fails or an event does not
    /// decode. A non-2xx answer is an error, as for [`Client::send`].
    pub async fn send_events<T>(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<Vec<u8>>,
    ) -> Result<BoxStream<T>, Error>
    where
        T: DeserializeOwned + prost::Message + Default + Send + 'static,
    {
        self.invoke_events("", method, path_and_query, body).await
    }

    /// [`Client::send_events`] for the call of `operation`; client middleware run once for the
    /// call, until the reply starts.
    pub async fn invoke_events<T>(
        &self,
        operation: &'static str,
        method: Method,
        path_and_query: &str,
        body: Option<Vec<u8>>,
    ) -> Result<BoxStream<T>, Error>
    where
        T: DeserializeOwned + prost::Message + Default + Send + 'static,
    {
        let deadline = tokio::time::Instant::now() + self.call_timeout();
        let call = async {
            let accept = HeaderValue::from_static(super::events::CONTENT_TYPE);
            let body = body.map(|data| (self.codec.content_type(), data));
            let response = self
                .exchange(operation, method, path_and_query, body, accept, deadline)
                .await?;
            self.keep_reply_headers(response.headers());
            Ok(super::events::decode::<T>(response.into_body()))
        };
        self.within_timeout(deadline, call).await
    }

    /// Sends the request, through the middleware chain when there is one, and returns the
    /// head of a 2xx reply (a non-2xx reply is its error). `deadline` is the call's (the
    /// chain's [`Context::deadline`]).
    async fn exchange(
        &self,
        operation: &'static str,
        method: Method,
        path_and_query: &str,
        body: Option<(HeaderValue, Vec<u8>)>,
        accept: HeaderValue,
        deadline: tokio::time::Instant,
    ) -> Result<http::Response<Incoming>, Error> {
        let headers = self.call_headers()?;
        let Some(chain) = &self.chain else {
            return self
                .transport
                .round_trip(method, path_and_query, body, accept, headers)
                .await;
        };
        let ctx = Context::client(
            Kind::Http,
            operation,
            headers,
            crate::metadata::current_client_metadata(),
        );
        ctx.limit_deadline(deadline);
        let request = ClientRequest {
            method,
            path_and_query: path_and_query.to_owned(),
            body,
            accept,
            deadline,
            timeout: self.call_timeout(),
        };
        let reply = chain.call(ctx, Message::new(request)).await?;
        let reply = reply
            .downcast::<ChainedReply>()
            .map_err(|other| chain_error("reply", &other))?;
        let response = reply
            .0
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        response.ok_or_else(|| Error::new(500, "MIDDLEWARE", "the reply was already taken"))
    }

    /// Runs `call` until `deadline`, the client's timeout after the call started (504
    /// `TIMEOUT` when it runs out). With middleware, the innermost handler fails at the same
    /// deadline, and is polled first, so the chain sees the timeout and the caller gets the
    /// chain's answer.
    async fn within_timeout<R>(
        &self,
        deadline: tokio::time::Instant,
        call: impl Future<Output = Result<R, Error>>,
    ) -> Result<R, Error> {
        match tokio::time::timeout_at(deadline, call).await {
            Ok(result) => result,
            Err(_) => Err(timeout_error(self.call_timeout())),
        }
    }

    /// Encodes a request body with the client's codec.
    pub fn encode<T: Serialize + prost::Message>(&self, message: &T) -> Result<Vec<u8>, Error> {
        self.codec
            .encode(message)
            .map_err(|e| Error::new(400, e.reason(), e.message()))
    }

    /// Decodes a reply body (the default message when it is empty).
    pub fn decode<T: DeserializeOwned + prost::Message + Default>(
        codec: Codec,
        bytes: &[u8],
    ) -> Result<T, Error> {
        if bytes.is_empty() {
            return Ok(T::default());
        }
        codec
            .decode(bytes)
            .map_err(|e| Error::new(500, e.reason(), format!("reply: {}", e.message())))
    }

    /// Decodes a reply body that is the value of one field of the reply (a `response_body`
    /// naming a field that is not a singular message) into the reply: the reply's own
    /// deserializer reads the value as its field `json_name`, so every kind reads back as the
    /// server wrote it (int64 from strings, enums by name, bytes from base64, non-finite floats
    /// from `"NaN"`, `"Infinity"`, `"-Infinity"`). An empty body or `null` is the default reply.
    /// JSON and YAML carry such values; other codecs cannot.
    pub fn decode_field<T: DeserializeOwned + Default>(
        codec: Codec,
        bytes: &[u8],
        json_name: &str,
    ) -> Result<T, Error> {
        if bytes.trim_ascii().is_empty() || bytes.trim_ascii() == b"null" {
            return Ok(T::default());
        }
        let reply_error = |e: &dyn std::fmt::Display| {
            Error::new(500, crate::codec::CODEC_REASON, format!("reply: {e}"))
        };
        match codec {
            Codec::Json => {
                crate::json::field_from_slice(bytes, json_name).map_err(|e| reply_error(&e))
            }
            Codec::Yaml => T::deserialize(crate::json::OneField {
                name: json_name,
                value: yaml_serde::Deserializer::from_slice(bytes),
            })
            .map_err(|e| reply_error(&e)),
            other => Err(reply_error(&format_args!(
                "the {} codec cannot carry the field {json_name} alone",
                other.name()
            ))),
        }
    }
}
