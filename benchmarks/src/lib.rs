//! What the benchmarks compare, shared by the criterion benchmark (`benches/routing.rs`) and
//! the load-test server (`src/bin/bench-server.rs`):
//!
//! - [`kratos_server`]: the `oracle.v1.Library` service on `kratos::http::Server`, through the
//!   generated routes, request binding and reply encoding;
//! - [`axum_app`]: a hand-written axum app serving `GET /v1/shelves/{shelf}` and
//!   `POST /v1/shelves` with the same serde work: the request decoded into the same prost/pbjson
//!   type, the same reply message built and encoded with serde_json.
//!
//! Both answer byte-identical bodies (`tests/same_replies.rs` checks it), so the comparison is
//! like for like.

pub mod observed;
pub mod synthetic;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use oracle_server::api as pb;

/// The ~1.1 KB JSON `CreateShelfRequest` the POST benchmarks send.
pub const CREATE_SHELF_BODY: &str = include_str!("../data/create_shelf.json");

/// The small GET's path.
pub const GET_PATH: &str = "/v1/shelves/1";

/// The POST's path.
pub const POST_PATH: &str = "/v1/shelves";

/// Which kratos server to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KratosSetup {
    /// The generated routes only (`register_library_http_server`), no middleware: like the
    /// axum app, which has none.
    #[default]
    Bare,
    /// Exactly what `oracle-server` serves (`oracle_server::servers`): the recovery middleware
    /// on every route, plus the OpenAPI and Swagger UI routes.
    Oracle,
    /// The generated routes with Kratos' observability middleware (tracing, metrics, logging,
    /// metadata: [`observed::observability`]); they log and trace through the subscriber of
    /// [`observed::install_log_subscriber`], which the process must install.
    Observed,
}

/// The oracle service's HTTP server on `listener`, not started yet (start it with
/// [`kratos::transport::Server::start`]).
pub fn kratos_server(
    listener: std::net::TcpListener,
    setup: KratosSetup,
) -> Result<kratos::http::Server, kratos::http::RouteError> {
    let builder = kratos::http::Server::builder().listener(listener);
    match setup {
        KratosSetup::Bare => {
            let mut server = builder.build();
            pb::register_library_http_server(&mut server, Arc::new(oracle_server::Library))?;
            Ok(server)
        }
        KratosSetup::Observed => {
            let metrics = kratos::metrics::Metrics::new();
            let builder = observed::observability(&metrics)
                .into_iter()
                .fold(builder, |b, m| b.middleware(m));
            let mut server = builder.build();
            pb::register_library_http_server(&mut server, Arc::new(oracle_server::Library))?;
            Ok(server)
        }
        KratosSetup::Oracle => {
            // The gRPC server is built but never started: it binds nothing.
            let (server, _grpc) = oracle_server::servers(
                builder,
                kratos::grpc::Server::builder().address("127.0.0.1:0"),
            )?;
            Ok(server)
        }
    }
}

/// The hand-written axum app: the same two routes, the same serde work, no middleware.
pub fn axum_app() -> Router {
    Router::new()
        .route("/v1/shelves/{shelf}", axum::routing::get(axum_get_shelf))
        .route("/v1/shelves", axum::routing::post(axum_create_shelf))
}

/// Serves [`axum_app`] on `listener` until the future is dropped (TCP_NODELAY on, as the
/// kratos server sets it).
pub async fn serve_axum(listener: tokio::net::TcpListener) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, axum_app()).await
}

/// Binds a listener on 127.0.0.1 (`port` 0 picks a free one).
pub fn bind_loopback(port: u16) -> std::io::Result<std::net::TcpListener> {
    std::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port)))
}

/// The reference server's fixed timestamp: 2023-11-14T22:13:20.123Z (as `oracle_server`).
fn fixed_ts() -> kratos::types::Timestamp {
    kratos::types::Timestamp {
        seconds: 1_700_000_000,
        nanos: 123_000_000,
    }
}

/// The reply of `GetShelf`, built as `oracle_server::Library::get_shelf` builds it.
pub fn shelf_reply(req: pb::GetShelfRequest) -> pb::Shelf {
    pb::Shelf {
        name: format!("shelves/{}", req.shelf),
        theme: "echo".into(),
        id: 1,
        books: vec![pb::Book {
            name: format!("shelves/{}/books/1", req.shelf),
            title: "T".into(),
            pages: 123,
            genre: pb::Genre::Fiction.into(),
            published: Some(fixed_ts()),
            tags: vec!["a".into(), "b".into()],
            attrs: [("k".to_string(), "v".to_string())].into_iter().collect(),
            rating: 4.5,
            ..Default::default()
        }],
        request: Some(req),
    }
}

/// The reply of `CreateShelf`, built as `oracle_server::Library::create_shelf` builds it.
pub fn create_shelf_reply(req: pb::CreateShelfRequest) -> pb::CreateShelfReply {
    pb::CreateShelfReply {
        request: Some(req),
        id: "new-shelf".into(),
    }
}

/// A JSON reply: `application/json`, as the kratos server answers.
fn json<T: serde::Serialize>(reply: &T) -> Response {
    match serde_json::to_vec(reply) {
        Ok(body) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn axum_get_shelf(Path(shelf): Path<String>) -> Response {
    json(&shelf_reply(pb::GetShelfRequest {
        shelf,
        verbose: false,
    }))
}

async fn axum_create_shelf(body: Bytes) -> Response {
    match serde_json::from_slice::<pb::CreateShelfRequest>(&body) {
        Ok(req) => json(&create_shelf_reply(req)),
        Err(e) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    }
}

/// A minimal HTTP/1.1 client on one kept-alive connection, for the in-process benchmarks and
/// tests.
pub struct Client {
    sender: hyper::client::conn::http1::SendRequest<http_body_util::Full<Bytes>>,
    host: HeaderValue,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("host", &self.host).finish()
    }
}

/// A failed client call.
pub type ClientError = Box<dyn std::error::Error + Send + Sync>;

impl Client {
    /// Connects to `addr`; the connection task runs on the current tokio runtime.
    pub async fn connect(addr: SocketAddr) -> Result<Self, ClientError> {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Client {
            sender,
            host: HeaderValue::from_str(&addr.to_string())?,
        })
    }

    /// `GET path`: the status and the whole body.
    pub async fn get(&mut self, path: &str) -> Result<(StatusCode, Bytes), ClientError> {
        let request = http::Request::get(path)
            .header(header::HOST, self.host.clone())
            .body(http_body_util::Full::new(Bytes::new()))?;
        self.send(request).await
    }

    /// `GET path` with extra `headers`: the status and the whole body.
    pub async fn get_with_headers(
        &mut self,
        path: &str,
        headers: &[(&'static str, &'static str)],
    ) -> Result<(StatusCode, Bytes), ClientError> {
        let mut request = http::Request::get(path).header(header::HOST, self.host.clone());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request.body(http_body_util::Full::new(Bytes::new()))?)
            .await
    }

    /// `POST path` with a JSON body: the status and the whole body.
    pub async fn post_json(
        &mut self,
        path: &str,
        body: Bytes,
    ) -> Result<(StatusCode, Bytes), ClientError> {
        let request = http::Request::post(path)
            .header(header::HOST, self.host.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .body(http_body_util::Full::new(body))?;
        self.send(request).await
    }

    async fn send(
        &mut self,
        request: http::Request<http_body_util::Full<Bytes>>,
    ) -> Result<(StatusCode, Bytes), ClientError> {
        use http_body_util::BodyExt;
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }
}
