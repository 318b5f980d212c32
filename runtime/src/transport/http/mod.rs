//! The HTTP transport: a server that routes `google.api.http` templates to generated handlers.
//!
//! Routes are registered by generated code (`register_<service>_http_server`); each binds the
//! request (body, path variables) into the request message, runs the middleware chain and the
//! service method, and encodes the reply with the codec the client accepts. Every failure is
//! answered with a Kratos error body.

mod binder;
mod body;
mod client;
mod dispatch;
mod events;
pub mod layers;
mod plain;
mod request_body;
mod response;
mod router;
mod server;
mod unary;
pub mod url;

pub use crate::transport::ClientError;
pub use binder::Binder;
pub use body::BODY_TIMEOUT_REASON;
pub use client::{
    CallOptions, Client, ClientBuilder, ClientRequest, DEFAULT_TIMEOUT, DISCOVERY_SCHEME, Reply,
    ReplyHeaders, RequestBody,
};
pub use layers::{PeerAddr, ServerService};
pub use router::{RouteError, RouteSpec};
pub use server::{DEFAULT_MAX_BODY, Server, ServerBuilder};
pub use unary::{RawReplyFn, ReplyFn, whole_reply};
