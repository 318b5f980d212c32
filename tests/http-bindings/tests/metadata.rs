//! Client middleware and metadata across three real services: the caller → A (HTTP) → B
//! (HTTP, called by A's typed HTTP client) → C (gRPC, called by B over a kratos gRPC
//! channel). Global metadata (`x-md-global-`) crosses every hop; other metadata stops after
//! one; every server and client chain runs once per call, streams included.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use http_bindings::Echo;
use http_bindings::kratos_pb::common::Page;
use http_bindings::kratos_pb::test::v1::{
    self as pb, Bindings, BindingsHttpClient, bindings_client::BindingsClient,
};
use kratos::Context;
use kratos::errors::Error;
use kratos::grpc::ClientChannel;
use kratos::metadata::{Metadata, with_client_metadata};
use kratos::middleware::{Handler, Middleware, metadata};
use kratos::stream::{RequestStream, ServerStream, StreamExt as _};
use kratos::transport::Server as _;

type Log = Arc<Mutex<Vec<String>>>;

/// A middleware that logs `"<name> <side> <operation>"` once per call it runs for.
fn count(log: &Log, name: &'static str) -> Middleware {
    let log = log.clone();
    Middleware::new(move |next: Handler| {
        let log = log.clone();
        Handler::from_fn(move |ctx, req| {
            log.lock()
                .unwrap()
                .push(format!("{name} {:?} {}", ctx.side(), ctx.operation()));
            next.call(ctx, req)
        })
    })
}

/// Where a hop sends the calls it serves.
#[derive(Clone)]
enum Next {
    Http(Box<BindingsHttpClient>),
    Grpc(BindingsClient<ClientChannel>),
    End,
}

/// A service that records the metadata each call brought, then forwards the call to the next
/// hop (adding its own local key) or, at the end, answers with the metadata it saw.
#[derive(Clone)]
struct Hop {
    name: &'static str,
    seen: Log,
    next: Next,
}

fn describe(md: &Metadata) -> String {
    let mut pairs: Vec<String> = md
        .iter()
        .flat_map(|(k, vs)| vs.iter().map(move |v| format!("{k}={v}")))
        .collect();
    pairs.sort();
    pairs.join(",")
}

impl Hop {
    fn record(&self, ctx: &Context) -> String {
        let seen = describe(&ctx.metadata());
        self.seen
            .lock()
            .unwrap()
            .push(format!("{}: {seen}", self.name));
        seen
    }

    /// Client metadata this hop adds to its own outgoing call: it must reach the next hop only.
    fn local(&self) -> Metadata {
        let mut md = Metadata::new();
        md.set(format!("x-md-local-from-{}", self.name), "1");
        md
    }
}

impl Bindings for Hop {
    async fn get_book(&self, ctx: Context, request: pb::GetBookRequest) -> Result<pb::Book, Error> {
        let seen = self.record(&ctx);
        match self.next.clone() {
            Next::Http(client) => {
                with_client_metadata(self.local(), client.get_book(&request)).await
            }
            Next::Grpc(mut client) => {
                let call = async move { client.get_book(request).await };
                let reply = with_client_metadata(self.local(), call).await?;
                Ok(reply.into_inner())
            }
            Next::End => Ok(pb::Book {
                title: seen,
                ..Default::default()
            }),
        }
    }

    async fn watch_books(
        &self,
        ctx: Context,
        request: pb::GetBookRequest,
    ) -> Result<ServerStream<pb::Book>, Error> {
        let seen = self.record(&ctx);
        match self.next.clone() {
            Next::Http(client) => {
                let stream =
                    with_client_metadata(self.local(), client.watch_books(&request)).await?;
                Ok(ServerStream::new(stream))
            }
            Next::Grpc(mut client) => {
                let call = async move { client.watch_books(request).await };
                let stream = with_client_metadata(self.local(), call).await?.into_inner();
                Ok(ServerStream::new(
                    stream.map(|item| item.map_err(Error::from)),
                ))
            }
            Next::End => Ok(ServerStream::new(tokio_stream::iter((1..=3).map(
                move |i| {
                    Ok(pb::Book {
                        name: format!("books/{i}"),
                        title: seen.clone(),
                        ..Default::default()
                    })
                },
            )))),
        }
    }

    async fn shelve_books(
        &self,
        ctx: Context,
        request: RequestStream<pb::Book>,
    ) -> Result<Page, Error> {
        self.record(&ctx);
        Echo.shelve_books(ctx, request).await
    }

    async fn echo_books(
        &self,
        ctx: Context,
        request: RequestStream<pb::Book>,
    ) -> Result<ServerStream<pb::Book>, Error> {
        self.record(&ctx);
        Echo.echo_books(ctx, request).await
    }

    async fn scalars(
        &self,
        ctx: Context,
        request: pb::ScalarsRequest,
    ) -> Result<pb::ScalarsRequest, Error> {
        Echo.scalars(ctx, request).await
    }

    async fn update_book(
        &self,
        ctx: Context,
        request: pb::UpdateBookRequest,
    ) -> Result<pb::Book, Error> {
        Echo.update_book(ctx, request).await
    }

    async fn search(
        &self,
        ctx: Context,
        request: pb::SearchRequest,
    ) -> Result<pb::SearchRequest, Error> {
        Echo.search(ctx, request).await
    }

    async fn ping(&self, ctx: Context, request: Page) -> Result<Page, Error> {
        Echo.ping(ctx, request).await
    }

    async fn tags(&self, ctx: Context, request: pb::TagsRequest) -> Result<pb::TagsRequest, Error> {
        Echo.tags(ctx, request).await
    }
}

async fn http_hop(hop: Hop, log: &Log) -> (kratos::http::Server, SocketAddr) {
    let mut server = kratos::http::Server::builder()
        .address("127.0.0.1:0")
        .middleware(count(log, hop.name))
        .middleware(metadata::server())
        .build();
    pb::register_bindings_http_server(&mut server, Arc::new(hop)).unwrap();
    let addr = server.start().await.unwrap();
    (server, addr)
}

async fn grpc_hop(hop: Hop, log: &Log) -> (kratos::grpc::Server, SocketAddr) {
    let mut server = kratos::grpc::Server::builder()
        .address("127.0.0.1:0")
        .middleware(count(log, hop.name))
        .middleware(metadata::server())
        .build();
    pb::register_bindings_grpc_server(&mut server, Arc::new(hop)).unwrap();
    let addr = server.start().await.unwrap();
    (server, addr)
}

fn http_client(addr: SocketAddr, log: &Log, name: &'static str) -> BindingsHttpClient {
    BindingsHttpClient::new(
        kratos::http::Client::builder(addr.to_string())
            .middleware(count(log, name))
            .middleware(metadata::client())
            .build()
            .unwrap(),
    )
}

fn grpc_client(addr: SocketAddr, log: &Log, name: &'static str) -> BindingsClient<ClientChannel> {
    BindingsClient::new(
        kratos::grpc::ChannelBuilder::new(addr.to_string())
            .middleware(count(log, name))
            .middleware(metadata::client())
            .build()
            .unwrap(),
    )
}

fn request() -> pb::GetBookRequest {
    pb::GetBookRequest {
        book: Some(pb::Book {
            name: "shelves/s/books/1".into(),
            shelf: "s".into(),
            id: 1,
            ..Default::default()
        }),
    }
}

fn take(log: &Log) -> Vec<String> {
    std::mem::take(&mut *log.lock().unwrap())
}

#[tokio::test]
async fn global_metadata_crosses_every_hop_and_local_metadata_one() {
    let log: Log = Arc::default();
    let seen: Log = Arc::default();
    let (mut c, c_addr) = grpc_hop(
        Hop {
            name: "C",
            seen: seen.clone(),
            next: Next::End,
        },
        &log,
    )
    .await;
    let (mut b, b_addr) = http_hop(
        Hop {
            name: "B",
            seen: seen.clone(),
            next: Next::Grpc(grpc_client(c_addr, &log, "B->C")),
        },
        &log,
    )
    .await;
    let (mut a, a_addr) = http_hop(
        Hop {
            name: "A",
            seen: seen.clone(),
            next: Next::Http(Box::new(http_client(b_addr, &log, "A->B"))),
        },
        &log,
    )
    .await;
    let caller = http_client(a_addr, &log, "caller->A");
    let mut md = Metadata::new();
    md.set("X-Md-Global-Tenant", "acme");
    md.set("x-md-local-x", "1");
    md.set("x-other", "not metadata");

    let expected_seen = [
        "A: x-md-global-tenant=acme,x-md-local-x=1",
        "B: x-md-global-tenant=acme,x-md-local-from-a=1",
        "C: x-md-global-tenant=acme,x-md-local-from-b=1",
    ];
    let expected_log = |op: &str| {
        [
            format!("caller->A Client {op}"),
            format!("A Server {op}"),
            format!("A->B Client {op}"),
            format!("B Server {op}"),
            format!("B->C Client {op}"),
            format!("C Server {op}"),
        ]
    };

    // Unary.
    let book = with_client_metadata(md.clone(), caller.get_book(&request()))
        .await
        .unwrap();
    assert_eq!(book.title, "x-md-global-tenant=acme,x-md-local-from-b=1");
    assert_eq!(take(&seen), expected_seen);
    assert_eq!(take(&log), expected_log("/kratos.test.v1.Bindings/GetBook"));

    // Server streaming: each chain runs once for the call, not once per message.
    let stream = with_client_metadata(md.clone(), caller.watch_books(&request()))
        .await
        .unwrap();
    let books: Vec<pb::Book> = stream.map(Result::unwrap).collect().await;
    assert_eq!(books.len(), 3);
    assert!(books.iter().all(|b| b.title == book.title), "{books:?}");
    assert_eq!(take(&seen), expected_seen);
    assert_eq!(
        take(&log),
        expected_log("/kratos.test.v1.Bindings/WatchBooks")
    );

    // Without metadata in the caller, nothing is invented downstream but each hop's local key.
    caller.get_book(&request()).await.unwrap();
    assert_eq!(
        take(&seen),
        ["A: ", "B: x-md-local-from-a=1", "C: x-md-local-from-b=1"]
    );
    take(&log);

    a.stop().await.unwrap();
    b.stop().await.unwrap();
    c.stop().await.unwrap();
}

#[tokio::test]
async fn a_grpc_channel_runs_its_chain_once_per_streaming_call() {
    let log: Log = Arc::default();
    let seen: Log = Arc::default();
    let (mut c, c_addr) = grpc_hop(
        Hop {
            name: "C",
            seen: seen.clone(),
            next: Next::End,
        },
        &log,
    )
    .await;
    let mut client = grpc_client(c_addr, &log, "client");
    let books = || {
        tokio_stream::iter((0..4).map(|i| pb::Book {
            name: format!("b{i}"),
            ..Default::default()
        }))
    };
    let mut md = Metadata::new();
    md.set("x-md-global-tenant", "acme");

    // Client streaming.
    let page = with_client_metadata(md.clone(), client.shelve_books(books()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.size, 4);
    let op = "/kratos.test.v1.Bindings/ShelveBooks";
    assert_eq!(
        take(&log),
        [format!("client Client {op}"), format!("C Server {op}")]
    );

    // Bidirectional streaming.
    let echoed: Vec<_> = with_client_metadata(md.clone(), client.echo_books(books()))
        .await
        .unwrap()
        .into_inner()
        .collect()
        .await;
    assert_eq!(echoed.len(), 4);
    let op = "/kratos.test.v1.Bindings/EchoBooks";
    assert_eq!(
        take(&log),
        [format!("client Client {op}"), format!("C Server {op}")]
    );
    assert_eq!(
        take(&seen),
        ["C: x-md-global-tenant=acme", "C: x-md-global-tenant=acme"]
    );
    c.stop().await.unwrap();
}

#[tokio::test]
async fn a_client_middleware_error_is_the_calls_error_on_both_transports() {
    let log: Log = Arc::default();
    let seen: Log = Arc::default();
    let hop = Hop {
        name: "C",
        seen: seen.clone(),
        next: Next::End,
    };
    let (mut grpc, grpc_addr) = grpc_hop(hop.clone(), &log).await;
    let (mut http, http_addr) = http_hop(hop, &log).await;
    let refuse = Middleware::new(|_next: Handler| {
        Handler::new(|_ctx, req: kratos::middleware::Message| {
            // What a client middleware sees of the request: the method and path over HTTP,
            // nothing over gRPC (the message is already encoded).
            let seen = match req.downcast_ref::<kratos::http::ClientRequest>() {
                Some(r) => format!("{} {}", r.method, r.path_and_query),
                None => format!("{req:?}"),
            };
            async move { Err(Error::forbidden("DENIED", seen)) }
        })
    });

    let http_client = BindingsHttpClient::new(
        kratos::http::Client::builder(http_addr.to_string())
            .middleware(refuse.clone())
            .build()
            .unwrap(),
    );
    let err = http_client.get_book(&request()).await.unwrap_err();
    assert_eq!((err.code(), err.reason()), (403, "DENIED"));
    assert_eq!(
        err.message(),
        "GET /v1/shelves/s/books/1?book.id=1&book.shelf=s"
    );

    let mut grpc_client = BindingsClient::new(
        kratos::grpc::ChannelBuilder::new(grpc_addr.to_string())
            .middleware(refuse)
            .build()
            .unwrap(),
    );
    let err = Error::from(grpc_client.get_book(request()).await.unwrap_err());
    assert_eq!((err.reason(), err.message()), ("DENIED", "grpc request"));
    // Neither server was called.
    assert!(take(&log).is_empty());
    assert!(take(&seen).is_empty());
    grpc.stop().await.unwrap();
    http.stop().await.unwrap();
}
