//! Errors: one `kratos::errors::Error` type, the same over HTTP and gRPC.
//!
//! Run it with `cargo run -p topics --bin errors`: it starts the `Library` service on HTTP
//! and gRPC (127.0.0.1, free ports), asks both for a book that exists, one that does not and
//! one with an id that is not a number, prints what each client sees and stops.
//!
//! - An error has a code (an HTTP status by convention), a reason, a message and metadata.
//!   Over HTTP it is the body `{"code":404,"reason":"BOOK_NOT_FOUND","message":…,
//!   "metadata":{…}}` with the code as status; over gRPC a status (404 is `NOT_FOUND`) with a
//!   `google.rpc.ErrorInfo` detail carrying reason and metadata. Each client turns the answer
//!   back into the same `Error`.
//! - The `ErrorReason` enum of the proto generates `error_book_not_found(message)` and
//!   `is_book_not_found(&err)`, which also recognises the error inside a gRPC status or
//!   wrapped in another error.
//! - `?` works on ordinary Rust errors: they become a 500 with the empty reason (Kratos'
//!   `errors.FromError`), their text as message, the original kept as the `cause` (logged on
//!   this side, never sent). Map an error yourself when the client deserves better.

use std::sync::Arc;

use kratos::errors::Error;
use kratos::transport::Server as _;
use kratos::{Context, grpc, http};
use topics::pb;

/// Two books, ids "1" and "2".
struct LibraryService;

impl pb::Library for LibraryService {
    async fn get_book(
        &self,
        _ctx: Context,
        request: pb::GetBookRequest,
    ) -> Result<pb::Book, Error> {
        // An id that is not a number: `?` makes the parse error a 500 (reason empty).
        let number: u64 = request.id.parse()?;
        // The same kind of failure mapped to an error the client can act on.
        if number == 0 {
            return Err(Error::bad_request("INVALID_ID", "book ids start at 1"));
        }
        let title = match number {
            1 => "The Rust Programming Language",
            2 => "Programming Rust",
            _ => {
                return Err(pb::error_book_not_found(format!("no book {number}"))
                    .with_metadata([("id", request.id)]));
            }
        };
        Ok(pb::Book {
            id: request.id,
            title: title.to_string(),
        })
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut http = http::Server::builder().address("127.0.0.1:0").build();
    let mut grpc = grpc::Server::builder().address("127.0.0.1:0").build();
    let service = Arc::new(LibraryService);
    pb::register_library_http_server(&mut http, service.clone())?;
    pb::register_library_grpc_server(&mut grpc, service)?;
    let http_addr = http.start().await?;
    let grpc_addr = grpc.start().await?;

    let http_client =
        pb::LibraryHttpClient::new(http::Client::builder(http_addr.to_string()).build()?);
    let channel = grpc::ChannelBuilder::new(grpc_addr.to_string())
        .connect()
        .await?;
    let mut grpc_client = pb::library_client::LibraryClient::new(channel);

    for id in ["1", "3", "0", "one"] {
        let request = pb::GetBookRequest { id: id.to_string() };
        // Over HTTP the typed client returns the decoded Kratos error.
        match http_client.get_book(&request).await {
            Ok(book) => println!("HTTP book {id}: {:?}", book.title),
            Err(e) => println!(
                "HTTP book {id}: {e} (not found: {})",
                pb::is_book_not_found(&e)
            ),
        }
        // Over gRPC tonic returns a status; `Error::from_error` reads the Kratos error in it.
        match grpc_client.get_book(request).await {
            Ok(book) => println!("gRPC book {id}: {:?}", book.into_inner().title),
            Err(status) => {
                let e = Error::from_error(&status);
                println!(
                    "gRPC book {id}: {e} (status {:?}, not found: {})",
                    status.code(),
                    pb::is_book_not_found(&status)
                );
            }
        }
    }

    http.stop().await?;
    grpc.stop().await?;
    Ok(())
}
