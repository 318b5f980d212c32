//! The API shared by the topic programs (`src/bin/<topic>.rs`), generated at build time from
//! `proto/topics/v1/topics.proto`. Each program starts its servers on 127.0.0.1 (port 0),
//! calls them as a client would, prints what happened and stops:
//!
//! | program | shows |
//! |---|---|
//! | `middleware` | a custom server and client middleware, the built-in ones, per-operation selection, typed context values |
//! | `errors` | generated error reasons, `?` on ordinary errors, the same error over HTTP and gRPC |
//! | `validation` | protoc-gen-validate rules checked by the validation middleware on both transports |
//! | `streaming` | server streaming (Server-Sent Events and gRPC), client and bidirectional streaming |
//! | `discovery` | `App` registering two instances, clients balancing over them through the registry |
//!
//! Run one with `cargo run -p topics --bin <program>`.

/// The generated code of package `topics.v1`.
pub mod pb {
    #![allow(missing_docs, clippy::all)]
    kratos::include_proto!("topics.v1");
}
