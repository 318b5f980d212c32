//! The surface generated code uses. Not for hand-written code: it may change with the
//! generators, which are released together with this crate.

// The crates prost, tonic and pbjson generate code for: `kratos::build` points the generated
// paths here, so a user's crate needs no dependency on them.
#[doc(hidden)]
pub use pbjson;
#[doc(hidden)]
pub use prost;
#[doc(hidden)]
pub use serde;
#[doc(hidden)]
pub use tonic;
#[doc(hidden)]
pub use tonic::async_trait;
#[doc(hidden)]
pub use tonic_prost;

/// Used by generated HTTP code.
#[doc(hidden)]
pub mod http {
    pub use crate::codec::Codec;
    pub use crate::transport::http::{CallOptions, Client, RequestBody, url};
    pub use http::Method;

    /// A custom HTTP method of a client call.
    pub fn method(name: &'static str) -> Result<Method, crate::errors::Error> {
        Method::from_bytes(name.as_bytes()).map_err(|e| {
            crate::errors::Error::new(400, "CLIENT", format!("invalid HTTP method {name}: {e}"))
        })
    }
    pub use crate::transport::http::{Binder, RouteError, RouteSpec, Server, whole_reply};
}

/// Used by generated form binding (query strings, form bodies, path variables).
#[doc(hidden)]
pub use crate::codec::form;

/// Used by generated XML reply encoders.
#[doc(hidden)]
pub use crate::codec::xml as goxml;

/// Used by generated gRPC adapters.
#[doc(hidden)]
pub mod grpc {
    pub use crate::middleware::Matcher;
    pub use crate::transport::grpc::{
        RouteError, Server, StatusStream, bidi_stream, client_stream, request_stream_validator,
        server_stream, unary,
    };
}

#[doc(hidden)]
pub use crate::middleware::Endpoint;

/// Used by generated serde impls to write enum numbers the enum does not declare.
#[doc(hidden)]
pub use crate::open_enum::OpenEnum;

/// Used by generated code to find a request type's validator at compile time, and by the code
/// `protoc-gen-rust-kratos-validate` generates (the violation collector, nested validation,
/// format checkers, Go's renderings).
#[doc(hidden)]
pub mod validate {
    pub use crate::validate::rt::*;
    pub use crate::validate::{Probe, ProbeNone, ProbeValidate, Validator};
}
