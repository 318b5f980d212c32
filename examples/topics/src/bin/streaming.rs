//! Streaming: server, client and bidirectional streams.
//!
//! Run it with `cargo run -p topics --bin streaming`: it starts the `Counter` service on HTTP
//! and gRPC (127.0.0.1, free ports), calls each streaming method, prints what arrives and
//! stops.
//!
//! - A server-streaming method returns a `ServerStream`: over gRPC a server stream, over HTTP
//!   Server-Sent Events (one JSON `data:` event per message, as Kratos v3), which the typed
//!   HTTP client reads back as a stream of messages.
//! - Client- and bidirectional-streaming methods receive a `RequestStream` (gRPC only: HTTP
//!   has no client streaming) and read it with `StreamExt::next`.
//! - An error ends a stream: as an `error` event over HTTP, as the call's status over gRPC.
//! - Middleware see each streaming call once; the validation middleware checks the request of
//!   a server stream before the method runs, and each message of a client stream as it
//!   arrives.

use std::sync::Arc;

use kratos::errors::Error;
use kratos::stream::{RequestStream, ServerStream, StreamExt as _};
use kratos::transport::Server as _;
use kratos::{Context, grpc, http};
use topics::pb;

struct CounterService;

impl pb::Counter for CounterService {
    async fn count(
        &self,
        _ctx: Context,
        request: pb::CountRequest,
    ) -> Result<ServerStream<pb::Number>, Error> {
        let numbers = (1..=request.to).map(|n| pb::Number { value: n.into() });
        Ok(ServerStream::from_items(numbers))
    }

    async fn sum(
        &self,
        _ctx: Context,
        mut request: RequestStream<pb::Number>,
    ) -> Result<pb::Number, Error> {
        let mut total: i64 = 0;
        while let Some(number) = request.next().await {
            total = total.saturating_add(number?.value);
        }
        Ok(pb::Number { value: total })
    }

    async fn square(
        &self,
        _ctx: Context,
        request: RequestStream<pb::Number>,
    ) -> Result<ServerStream<pb::Number>, Error> {
        // Each square is sent as soon as its number arrives; one too large ends the stream.
        let squares = request.map(|number| {
            let n = number?.value;
            let value = n
                .checked_mul(n)
                .ok_or_else(|| Error::bad_request("OVERFLOW", format!("{n} squared overflows")))?;
            Ok(pb::Number { value })
        });
        Ok(ServerStream::new(squares))
    }
}

fn numbers(values: &[i64]) -> impl kratos::stream::Stream<Item = pb::Number> + Send + 'static {
    let numbers: Vec<_> = values.iter().map(|&value| pb::Number { value }).collect();
    tokio_stream::iter(numbers)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut http = http::Server::builder()
        .address("127.0.0.1:0")
        .middleware(kratos::validate::middleware())
        .build();
    let mut grpc = grpc::Server::builder()
        .address("127.0.0.1:0")
        .middleware(kratos::validate::middleware())
        .build();
    let service = Arc::new(CounterService);
    pb::register_counter_http_server(&mut http, service.clone())?;
    pb::register_counter_grpc_server(&mut grpc, service)?;
    let http_addr = http.start().await?;
    let grpc_addr = grpc.start().await?;

    let http_client =
        pb::CounterHttpClient::new(http::Client::builder(http_addr.to_string()).build()?);
    let channel = grpc::ChannelBuilder::new(grpc_addr.to_string())
        .connect()
        .await?;
    let mut grpc_client = pb::counter_client::CounterClient::new(channel);

    // Server streaming over HTTP: Server-Sent Events, read as messages.
    let mut events = http_client.count(&pb::CountRequest { to: 3 }).await?;
    let mut got = Vec::new();
    while let Some(number) = events.next().await {
        got.push(number?.value);
    }
    println!("HTTP count to 3: {got:?}");

    // Server streaming over gRPC.
    let mut stream = grpc_client
        .count(pb::CountRequest { to: 3 })
        .await?
        .into_inner();
    let mut got = Vec::new();
    while let Some(number) = stream.message().await? {
        got.push(number.value);
    }
    println!("gRPC count to 3: {got:?}");

    // An invalid request is refused before any message is sent.
    match http_client.count(&pb::CountRequest { to: 1000 }).await {
        Ok(_) => return Err("count to 1000 was not refused".into()),
        Err(e) => println!("HTTP count to 1000: {e}"),
    }

    // Client streaming: many numbers in, one reply.
    let total = grpc_client.sum(numbers(&[1, 2, 3, 4])).await?.into_inner();
    println!("gRPC sum of [1, 2, 3, 4]: {}", total.value);

    // Bidirectional streaming: the squares as the numbers go; the last one overflows and
    // ends the stream with an error status.
    let mut squares = grpc_client
        .square(numbers(&[3, 4, i64::MAX]))
        .await?
        .into_inner();
    let mut got = Vec::new();
    let ended = loop {
        match squares.message().await {
            Ok(Some(number)) => got.push(number.value),
            Ok(None) => break "the end".to_string(),
            Err(status) => break Error::from_error(&status).to_string(),
        }
    };
    println!("gRPC squares of [3, 4, i64::MAX]: {got:?}, then {ended}");

    http.stop().await?;
    grpc.stop().await?;
    Ok(())
}
