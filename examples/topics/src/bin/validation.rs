//! Validation: protoc-gen-validate rules in the proto, checked before the handler runs.
//!
//! Run it with `cargo run -p topics --bin validation`: it starts the `Accounts` service on
//! HTTP and gRPC (127.0.0.1, free ports), sends a valid request and invalid ones over both,
//! prints the answers and stops.
//!
//! - The rules are written on the fields (`(validate.rules).string = {min_len: 3}`, `.email`,
//!   `uint32 = {gte: 18}`); the build integration generates `Validate` for the message.
//! - `kratos::validate::middleware()` checks every request whose type has rules, on both
//!   transports; a violation is a 400 with reason `VALIDATOR` and protoc-gen-validate's message
//!   (gRPC `INVALID_ARGUMENT`). The handler only ever sees valid requests.
//! - Without the middleware nothing is checked (as in Kratos); a handler can still call
//!   `kratos::validate::Validate::validate(&request)` itself.

use std::sync::Arc;

use kratos::errors::Error;
use kratos::transport::Server as _;
use kratos::{Context, grpc, http};
use topics::pb;

/// Creates accounts; the validation middleware has checked the request already.
struct AccountsService;

impl pb::Accounts for AccountsService {
    async fn create_account(
        &self,
        _ctx: Context,
        request: pb::CreateAccountRequest,
    ) -> Result<pb::Account, Error> {
        Ok(pb::Account {
            id: format!("acct-{}", request.name),
            name: request.name,
        })
    }
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
    let service = Arc::new(AccountsService);
    pb::register_accounts_http_server(&mut http, service.clone())?;
    pb::register_accounts_grpc_server(&mut grpc, service)?;
    let http_addr = http.start().await?;
    let grpc_addr = grpc.start().await?;

    let http_client =
        pb::AccountsHttpClient::new(http::Client::builder(http_addr.to_string()).build()?);
    let channel = grpc::ChannelBuilder::new(grpc_addr.to_string())
        .connect()
        .await?;
    let mut grpc_client = pb::accounts_client::AccountsClient::new(channel);

    let account = |name: &str, email: &str, age| pb::CreateAccountRequest {
        name: name.to_string(),
        email: email.to_string(),
        age,
    };
    let requests = [
        ("valid", account("ferris", "ferris@example.com", 30)),
        ("short name", account("fe", "ferris@example.com", 30)),
        ("bad email", account("ferris", "ferris-at-example", 30)),
        ("too young", account("ferris", "ferris@example.com", 12)),
    ];
    for (what, request) in requests {
        match http_client.create_account(&request).await {
            Ok(account) => println!("HTTP {what}: created {}", account.id),
            Err(e) => println!("HTTP {what}: {e}"),
        }
        match grpc_client.create_account(request).await {
            Ok(account) => println!("gRPC {what}: created {}", account.into_inner().id),
            Err(status) => println!(
                "gRPC {what}: {} (status {:?})",
                Error::from_error(&status),
                status.code()
            ),
        }
    }

    http.stop().await?;
    grpc.stop().await?;
    Ok(())
}
