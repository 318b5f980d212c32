//! Middleware: the built-in ones, a custom server middleware on one operation, and a custom
//! client middleware shared by the HTTP client and the gRPC channel.
//!
//! Run it with `cargo run -p topics --bin middleware`: it starts the `Echo` service on HTTP
//! and gRPC (127.0.0.1, free ports), calls it over both with and without an API key, prints
//! the replies (and the logging middleware's line per call) and stops.
//!
//! - Server middleware run in the order they are added, the first outermost, on both
//!   transports: `recovery` (a panic becomes a 500), `logging` (one line per call) and
//!   `metadata::server` (reads Kratos' `x-md-*` headers into the call's metadata).
//! - `middleware_for` adds middleware to the operations a selector names (a full operation,
//!   a `/package.Service/*` prefix or `*`): here `require_api_key` guards `Echo` only. It
//!   rejects a call with a 401 before the handler runs, or hands the caller to the handler as
//!   a typed value in the call's `Context`.
//! - Client middleware wrap each call a client makes: `api_key` sets a header, and
//!   `metadata::client` sends the call's Kratos metadata (here a tenant) as `x-md-global-*`
//!   headers. The same `Middleware` values serve the HTTP client and the gRPC channel.

use std::sync::Arc;

use kratos::errors::Error;
use kratos::metadata::{Metadata, with_client_metadata};
use kratos::middleware::{self, Handler, Message, Middleware};
use kratos::transport::Server as _;
use kratos::{Context, grpc, http};
use topics::pb;

/// The authenticated caller: attached to the call by `require_api_key`, read by the handler.
#[derive(Clone, Debug)]
struct Caller(String);

/// A server middleware: the `x-api-key` request header (an HTTP header, or gRPC metadata)
/// must name a known caller, who is then attached to the call's context.
fn require_api_key() -> Middleware {
    Middleware::new(|next: Handler| {
        Handler::new(move |ctx: Context, request: Message| {
            let next = next.clone();
            async move {
                let key = ctx.request_headers().get("x-api-key");
                let caller = match key.and_then(|k| k.to_str().ok()) {
                    Some("alice-key") => "alice",
                    Some("bob-key") => "bob",
                    _ => {
                        return Err(Error::unauthorized(
                            "MISSING_API_KEY",
                            "an x-api-key header naming a known caller is required",
                        ));
                    }
                };
                ctx.insert(Caller(caller.to_string()));
                next.call(ctx, request).await
            }
        })
    })
}

/// A client middleware: sends `key` as the `x-api-key` header of every call.
fn api_key(key: &'static str) -> Middleware {
    Middleware::new(move |next: Handler| {
        Handler::new(move |ctx: Context, request: Message| {
            let next = next.clone();
            async move {
                let value = key
                    .parse()
                    .map_err(|_| Error::bad_request("API_KEY", "not a header value"))?;
                ctx.outgoing_headers().insert("x-api-key", value);
                next.call(ctx, request).await
            }
        })
    })
}

/// Echoes the text with what the middleware found out: the caller and the tenant.
struct EchoService;

impl pb::Echo for EchoService {
    async fn echo(&self, ctx: Context, request: pb::EchoRequest) -> Result<pb::EchoReply, Error> {
        let caller = ctx.get::<Caller>().map(|c| c.0).unwrap_or_default();
        let tenant = ctx.metadata().get("x-md-global-tenant").map(str::to_string);
        Ok(pb::EchoReply {
            text: request.text,
            caller,
            tenant: tenant.unwrap_or_default(),
            instance: String::new(),
        })
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Prints the logging middleware's lines (level from RUST_LOG, default info).
    kratos::log::Logger::from_env().init()?;

    // The same middleware on both servers; `require_api_key` on the Echo operation only.
    let mut http = http::Server::builder().address("127.0.0.1:0");
    let mut grpc = grpc::Server::builder().address("127.0.0.1:0");
    for m in [
        middleware::recovery(),
        middleware::logging(),
        middleware::metadata::server(),
    ] {
        http = http.middleware(m.clone());
        grpc = grpc.middleware(m);
    }
    let guarded = || vec![require_api_key()];
    let mut http = http
        .middleware_for(pb::OPERATION_ECHO_ECHO, guarded())
        .build();
    let mut grpc = grpc
        .middleware_for(pb::OPERATION_ECHO_ECHO, guarded())
        .build();
    let service = Arc::new(EchoService);
    pb::register_echo_http_server(&mut http, service.clone())?;
    pb::register_echo_grpc_server(&mut grpc, service)?;
    let http_addr = http.start().await?;
    let grpc_addr = grpc.start().await?;

    // Clients calling as alice, with Kratos metadata.
    let http_client = pb::EchoHttpClient::new(
        http::Client::builder(http_addr.to_string())
            .middleware(api_key("alice-key"))
            .middleware(middleware::metadata::client())
            .build()?,
    );
    let channel = grpc::ChannelBuilder::new(grpc_addr.to_string())
        .middleware(api_key("alice-key"))
        .middleware(middleware::metadata::client())
        .connect()
        .await?;
    let mut grpc_client = pb::echo_client::EchoClient::new(channel);
    let mut metadata = Metadata::new();
    metadata.set("x-md-global-tenant", "acme");
    let request = pb::EchoRequest {
        text: "hello".to_string(),
    };

    let reply = with_client_metadata(metadata.clone(), http_client.echo(&request)).await?;
    println!(
        "HTTP echo {:?} for {} of tenant {}",
        reply.text, reply.caller, reply.tenant
    );
    let reply = with_client_metadata(metadata, grpc_client.echo(request.clone()))
        .await?
        .into_inner();
    println!(
        "gRPC echo {:?} for {} of tenant {}",
        reply.text, reply.caller, reply.tenant
    );

    // Without a key the custom middleware answers before the handler runs.
    let anonymous = pb::EchoHttpClient::new(http::Client::builder(http_addr.to_string()).build()?);
    match anonymous.echo(&request).await {
        Err(e) => println!("HTTP without a key: {e}"),
        Ok(reply) => return Err(format!("answered without a key: {reply:?}").into()),
    }
    let channel = grpc::ChannelBuilder::new(grpc_addr.to_string())
        .connect()
        .await?;
    match pb::echo_client::EchoClient::new(channel)
        .echo(request)
        .await
    {
        Err(status) => println!("gRPC without a key: {}", Error::from_error(&status)),
        Ok(reply) => return Err(format!("answered without a key: {reply:?}").into()),
    }

    http.stop().await?;
    grpc.stop().await?;
    Ok(())
}
