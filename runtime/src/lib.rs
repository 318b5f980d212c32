//! The kratos-rs runtime: what code generated from `.proto` files runs on.
//!
//! - [`errors`]: one error type with code, reason, message and metadata, identical over HTTP
//!   (the Kratos error body) and gRPC (a status with `google.rpc.ErrorInfo`).
//! - [`transport::http`] and [`transport::grpc`]: the servers; generated
//!   `register_<service>_http_server` / `register_<service>_grpc_server` functions put one
//!   service implementation on both.
//! - [`middleware`]: Kratos-style middleware with operation matchers, run on both transports
//!   and on the HTTP and gRPC clients; [`metadata`]: Kratos' call metadata, propagated by
//!   the metadata middleware.
//! - [`codec`]: content negotiation and every codec (JSON, proto, form, XML, YAML), one file
//!   each; [`json`] (also `codec::json`): proto3 JSON details serde lacks (non-finite floats,
//!   one field of a message).
//! - [`registry`] and [`selector`]: service registration and discovery, and the node a client
//!   calls; `etcd` (feature `etcd`): the etcd v3 client the etcd registry and configuration
//!   source use (generated in-tree: no protoc).
//! - `config` (feature `config`): Kratos' configuration model: files, environment, etcd and
//!   Consul KV merged, typed, watched and swapped atomically.
//! - `tls` (feature `tls`): rustls on both servers and both clients, certificates reloaded
//!   when their files change, mTLS.
//! - `log` (feature `log`, default): the tracing subscriber `App` installs (text or JSON
//!   lines, runtime-changeable level, key redaction); `trace` (feature `otel`):
//!   OpenTelemetry spans per call and OTLP export.
//! - gRPC server reflection (feature `reflection`, default): served by every gRPC server, as
//!   Kratos does; descriptors from `kratos::build` ([`include_file_descriptor_set!`]).
//! - `metrics` (feature `metrics`): Kratos' request metrics on servers and clients, served at
//!   `/metrics` in the Prometheus text format.
//! - [`App`]: starts the servers, waits for SIGINT/SIGTERM, stops them gracefully.
//! - `build` (feature `build`): the build.rs integration, no protoc needed.
//!
//! Generated code is brought into a module with [`include_proto!`].

#[cfg(feature = "runtime")]
pub mod app;
#[cfg(feature = "runtime")]
pub mod codec;
#[cfg(feature = "config")]
pub mod config;
#[cfg(feature = "runtime")]
pub mod context;
#[cfg(feature = "runtime")]
pub mod errors;
#[cfg(feature = "etcd")]
pub mod etcd;
#[cfg(feature = "runtime")]
mod go_duration;
#[cfg(feature = "runtime")]
pub mod health;
#[cfg(feature = "runtime")]
pub use codec::json;
#[cfg(feature = "log")]
pub mod log;
#[cfg(feature = "runtime")]
pub mod metadata;
#[cfg(feature = "metrics")]
pub mod metrics;
#[cfg(feature = "runtime")]
pub mod middleware;
#[cfg(feature = "runtime")]
mod open_enum;
#[cfg(feature = "runtime")]
pub mod openapi;
#[cfg(feature = "runtime")]
mod panic;
#[cfg(feature = "runtime")]
pub mod registry;
#[cfg(feature = "runtime")]
mod rfc3339;
#[cfg(feature = "runtime")]
pub mod selector;
#[cfg(feature = "runtime")]
pub mod stream;
#[cfg(feature = "tls")]
pub mod tls;
#[cfg(feature = "otel")]
pub mod trace;
#[cfg(feature = "runtime")]
pub mod transport;
#[cfg(feature = "runtime")]
pub mod types;
#[cfg(feature = "runtime")]
pub mod validate;

#[cfg(feature = "build")]
pub mod build;

#[cfg(feature = "runtime")]
#[doc(hidden)]
#[path = "codegen.rs"]
pub mod __codegen;

/// A boxed, sendable future living as long as `'a`: what the object-safe traits of the runtime
/// return (middleware handlers and services with `'static`, registries, configuration sources
/// and servers borrowing their receiver). The one such alias; the modules re-export it.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

#[cfg(feature = "runtime")]
pub use app::App;
#[cfg(feature = "runtime")]
pub use context::{Context, Kind, Side};
#[cfg(feature = "runtime")]
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

/// The bytes of an encoded `google.protobuf.FileDescriptorSet` the build integration wrote
/// to `OUT_DIR` (`kratos::build::Builder::file_descriptor_set_path`), as a `&'static [u8]`
/// for [`grpc::Server::register_file_descriptor_set`] (gRPC reflection).
///
/// ```text
/// server.register_file_descriptor_set(kratos::include_file_descriptor_set!("helloworld"));
/// ```
///
/// `kratos::include_file_descriptor_set!("helloworld")` includes
/// `$OUT_DIR/helloworld.bin`.
#[macro_export]
macro_rules! include_file_descriptor_set {
    ($name:literal) => {
        include_bytes!(concat!(env!("OUT_DIR"), "/", $name, ".bin"))
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
