//! The HTTP transport: a server that routes `google.api.http` templates to generated handlers.
//!
//! Routes are registered by generated code (`register_<service>_http_server`); each binds the
//! request (body, path variables) into the request message, runs the middleware chain and the
//! service method, and encodes the reply with the codec the client accepts. Every failure is
//! answered with a Kratos error body.

mod binder;
mod client;
mod events;
pub mod layers;
mod raw;
mod response;
mod router;
mod server;
mod unary;
pub mod url;

pub use crate::transport::ClientError;
pub use binder::Binder;
pub use client::{
    Client, ClientBuilder, ClientRequest, DEFAULT_TIMEOUT, DISCOVERY_SCHEME, Reply, RequestBody,
};
pub use router::RouteError;
pub use server::{DEFAULT_MAX_BODY, Server, ServerBuilder};
pub use unary::{BODY_TIMEOUT_REASON, RawReplyFn, ReplyFn, whole_reply};

/// What generated code says about one route.
#[derive(Debug, Clone, Copy)]
pub struct RouteSpec {
    /// The HTTP method (`GET`, `POST`, any custom method, or `*` for every method).
    pub method: &'static str,
    /// The path template, such as `/helloworld/{name}`.
    pub path: &'static str,
    /// The operation, `/package.Service/Method`.
    pub operation: &'static str,
    /// The request type's validator, when it has validation rules.
    pub validator: Option<crate::validate::Validator>,
}
