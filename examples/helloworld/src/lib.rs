//! The Kratos greeter on kratos-rs.
//!
//! `SayHello` is served on HTTP (`GET /helloworld/{name}`, `POST /say_hello`) and on gRPC
//! (`helloworld.v1.Greeter/SayHello`) by one implementation, [`GreeterService`]. The HTTP server
//! also serves the API's OpenAPI document at `/q/openapi.json` ([`OPENAPI_DOCUMENT`]) and
//! Swagger UI at `/q/swagger-ui/` (see [`kratos::openapi`]), and Kratos' request metrics of
//! both servers at `/metrics` (see [`kratos::metrics`]).
//!
//! Configuration ([`load_config`]): kratos-layout's `configs/config.yaml` scanned into the
//! [`conf::Bootstrap`] message of `conf/conf.proto`, with the environment, hot-reloaded;
//! the greeting ([`GREETING_KEY`]) is watched, so an edit changes the next reply.

use std::path::Path;
use std::sync::Arc;

use kratos::config::sources::{env::EnvSource, file::FileSource};
use kratos::config::{Config, ConfigError, Watched};
use kratos::errors::Error;
use kratos::{Context, grpc, http};

/// The generated API of package `helloworld.v1`.
pub mod api {
    /// `helloworld.v1`.
    pub mod helloworld {
        /// `helloworld.v1`.
        pub mod v1 {
            #![allow(missing_docs, clippy::all)]
            kratos::include_proto!("helloworld.v1");
        }
    }
}

/// The configuration schema, kratos-layout's `Bootstrap` (package `kratos.api`).
pub mod conf {
    #![allow(missing_docs, clippy::all)]
    kratos::include_proto!("kratos.api");
}

use api::helloworld::v1::{self as pb, HelloReply, HelloRequest};

/// The encoded descriptors of the API's protos (and their imports), written by the build
/// script; the gRPC server's reflection describes the greeter with them.
pub const FILE_DESCRIPTOR_SET: &[u8] = kratos::include_file_descriptor_set!("helloworld");

/// The configuration key of the greeting.
pub const GREETING_KEY: &str = "helloworld.greeting";
/// The greeting when the configuration has none.
pub const DEFAULT_GREETING: &str = "Hello";

/// Loads the configuration: the file or directory `conf` (skipped when it does not exist and
/// `required` is false, so the service runs on its built-in defaults), then the environment
/// (later, so it wins; `${NAME:default}` in a file reads the variable `NAME`, and
/// `SERVER__HTTP__ADDR` overrides `server.http.addr`). Every load and every change must scan
/// into [`conf::Bootstrap`] and pass its validation rules.
pub async fn load_config(conf: &Path, required: bool) -> Result<Config, ConfigError> {
    let mut builder = Config::builder();
    if required || conf.exists() {
        builder = builder.source(FileSource::new(conf));
    }
    builder
        .source(EnvSource::new())
        .validated::<conf::Bootstrap>()
        .load()
        .await
}

/// The OpenAPI document of the HTTP API, generated from the protos at build time.
pub const OPENAPI_DOCUMENT: &str = include_str!(concat!(env!("OUT_DIR"), "/openapi.json"));

/// The greeter: greets anyone but `error`, who does not exist, with the current greeting.
#[derive(Debug)]
pub struct GreeterService {
    greeting: Watched<String>,
}

impl Default for GreeterService {
    fn default() -> Self {
        GreeterService::new(Watched::constant(DEFAULT_GREETING.to_string()))
    }
}

impl GreeterService {
    /// A greeter saying `greeting`'s current value.
    pub fn new(greeting: Watched<String>) -> Self {
        GreeterService { greeting }
    }
}

/// An empty greeting is an absent one (proto3).
fn greeting(configured: &str) -> &str {
    if configured.is_empty() {
        DEFAULT_GREETING
    } else {
        configured
    }
}

impl pb::Greeter for GreeterService {
    async fn say_hello(&self, _ctx: Context, request: HelloRequest) -> Result<HelloReply, Error> {
        if request.name == "error" {
            return Err(pb::error_user_not_found(format!(
                "user not found: {}",
                request.name
            )));
        }
        Ok(HelloReply {
            message: format!("{} {}", greeting(&self.greeting.get()), request.name),
        })
    }
}

/// The HTTP and gRPC servers with the greeter (saying "Hello") registered on both; the HTTP
/// server also serves [`OPENAPI_DOCUMENT`], Swagger UI, and both servers' Kratos request
/// metrics at `/metrics` (Prometheus text format).
pub fn servers(
    http: http::ServerBuilder,
    grpc: grpc::ServerBuilder,
) -> Result<(http::Server, grpc::Server), http::RouteError> {
    servers_with(http, grpc, GreeterService::default())
}

/// [`servers`] with a given greeter.
pub fn servers_with(
    http: http::ServerBuilder,
    grpc: grpc::ServerBuilder,
    greeter: GreeterService,
) -> Result<(http::Server, grpc::Server), http::RouteError> {
    let service = Arc::new(greeter);
    // Kratos' request metrics on both servers, served at /metrics.
    let metrics = kratos::metrics::Metrics::new();
    let mut http = http.middleware(metrics.server()).build();
    metrics.register_http(&mut http)?;
    pb::register_greeter_http_server(&mut http, service.clone())?;
    kratos::openapi::register(&mut http, OPENAPI_DOCUMENT)?;
    let mut grpc = grpc.middleware(metrics.server()).build();
    pb::register_greeter_grpc_server(&mut grpc, service)?;
    // Reflection (on by default) describes the greeter: `grpcurl -plaintext :9000 list`.
    grpc.register_file_descriptor_set(FILE_DESCRIPTOR_SET);
    Ok((http, grpc))
}
