//! The kratos-rs runtime: what code generated from `.proto` files runs on.
//!
//! - [`errors`]: one error type with code, reason, message and metadata, identical over HTTP
//!   (the Kratos error body) and gRPC (a status with `google.rpc.ErrorInfo`).
//! - [`transport::http`] and [`transport::grpc`]: the servers; generated
//!   `register_<service>_http_server` / `register_<service>_grpc_server` functions put one
//!   service implementation on both.
//! - [`middleware`]: Kratos-style middleware with operation selectors, run on both transports
//!   and on the HTTP and gRPC clients; [`metadata`]: Kratos' call metadata, propagated by
//!   the metadata middleware.
//! - [`codec`]: content negotiation and the JSON and proto codecs; [`json`]: proto3 JSON
//!   details serde lacks (non-finite floats, one field of a message).
//! - [`registry`] and [`selector`]: service registration and discovery, and the node a client
//!   calls.
//! - `config` (feature `config`): Kratos' configuration model: files, environment, etcd and
//!   Consul KV merged, typed, watched and swapped atomically.
//! - `metrics` (feature `metrics`): Kratos' request metrics on servers and clients, served at
//!   `/metrics` in the Prometheus text format.
//! - [`App`]: starts the servers, waits for SIGINT/SIGTERM, stops them gracefully.
//! - `build` (feature `build`): the build.rs integration, no protoc needed.
//!
//! Generated code is brought into a module with [`include_proto!`].

pub mod app;
pub mod codec;
#[cfg(feature = "config")]
pub mod config;
pub mod context;
pub mod errors;
pub mod health;
pub mod json;
pub mod metadata;
#[cfg(feature = "metrics")]
pub mod metrics;
pub mod middleware;
mod open_enum;
pub mod openapi;
mod panic;
pub mod registry;
pub mod selector;
pub mod stream;
pub mod transport;
pub mod types;
pub mod validate;

#[cfg(feature = "build")]
pub mod build;

#[doc(hidden)]
#[path = "codegen.rs"]
pub mod __codegen;

pub use app::App;
pub use context::{Context, Kind, Side};
pub use transport::{grpc, http};

/// Includes everything the build integration generated for a proto package: prost's messages,
/// tonic's gRPC server and client, the serde (JSON) impls and the kratos generators' output.
///
/// ```text
/// pub mod helloworld {
///     pub mod v1 {
///         kratos::include_proto!("helloworld.v1");
///     }
/// }
/// ```
#[macro_export]
macro_rules! include_proto {
    ($package:literal) => {
        include!(concat!(env!("OUT_DIR"), "/", $package, ".kratos.rs"));
    };
}

/// The validator of a request type, resolved at compile time: `Some` when the type implements
/// [`validate::Validate`], `None` otherwise. Used by generated registration code.
#[doc(hidden)]
#[macro_export]
macro_rules! __validator {
    ($ty:ty) => {{
        #[allow(unused_imports)]
        use $crate::__codegen::validate::{ProbeNone as _, ProbeValidate as _};
        (&&$crate::__codegen::validate::Probe::<$ty>::new()).validator()
    }};
}
