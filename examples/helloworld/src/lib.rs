//! The Kratos greeter on kratos-rs.
//!
//! `SayHello` is served on HTTP (`GET /helloworld/{name}`, `POST /say_hello`) and on gRPC
//! (`helloworld.v1.Greeter/SayHello`) by one implementation, [`GreeterService`]. The HTTP server
//! also serves the API's OpenAPI document at `/q/openapi.json` ([`OPENAPI_DOCUMENT`]) and
//! Swagger UI at `/q/swagger-ui/` (see [`kratos::openapi`]).

use std::sync::Arc;

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

use api::helloworld::v1::{self as pb, HelloReply, HelloRequest};

/// The OpenAPI document of the HTTP API, generated from the protos at build time.
pub const OPENAPI_DOCUMENT: &str = include_str!(concat!(env!("OUT_DIR"), "/openapi.json"));

/// The greeter: says hello to anyone but `error`, who does not exist.
#[derive(Debug, Default)]
pub struct GreeterService;

impl pb::Greeter for GreeterService {
    async fn say_hello(&self, _ctx: Context, request: HelloRequest) -> Result<HelloReply, Error> {
        if request.name == "error" {
            return Err(pb::error_user_not_found(format!(
                "user not found: {}",
                request.name
            )));
        }
        Ok(HelloReply {
            message: format!("Hello {}", request.name),
        })
    }
}

/// The HTTP and gRPC servers with the greeter registered on both; the HTTP server also serves
/// [`OPENAPI_DOCUMENT`] and Swagger UI.
pub fn servers(
    http: http::ServerBuilder,
    grpc: grpc::ServerBuilder,
) -> Result<(http::Server, grpc::Server), http::RouteError> {
    let service = Arc::new(GreeterService);
    let mut http = http.build();
    pb::register_greeter_http_server(&mut http, service.clone())?;
    kratos::openapi::register(&mut http, OPENAPI_DOCUMENT)?;
    let mut grpc = grpc.build();
    pb::register_greeter_grpc_server(&mut grpc, service);
    Ok((http, grpc))
}
