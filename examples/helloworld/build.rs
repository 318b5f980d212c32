//! Generates the helloworld API with kratos' build integration: no protoc needed. Besides the
//! Rust code, the OpenAPI generator writes the HTTP API's document to `$OUT_DIR/openapi.json`
//! (with the build integration's defaults: the Kratos layout's flags, enums as strings), which
//! the HTTP server serves at `/q/openapi.json` with Swagger UI at `/q/swagger-ui/`. The
//! configuration schema `conf/conf.proto` (kept out of `proto/`, the API that the buf example
//! shares) is compiled the same way. The API's encoded descriptors go to
//! `$OUT_DIR/helloworld.bin` for gRPC reflection.

use kratos::build::Generator;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    kratos::build::configure()
        .generator(Generator::Openapi, true)
        // The API's descriptors, for the gRPC server's reflection (`grpcurl list`).
        .file_descriptor_set_path("helloworld.bin")
        .compile_protos(
            &[
                "proto/helloworld/v1/greeter.proto",
                "proto/helloworld/v1/error_reason.proto",
            ],
            &["proto"],
        )?;
    // The configuration schema (kratos-layout's conf.proto): messages, their proto3 JSON and
    // validation only; no services, so no HTTP, errors, gRPC or OpenAPI output.
    kratos::build::configure()
        .generator(Generator::Http, false)
        .generator(Generator::Errors, false)
        .build_grpc_server(false)
        .build_grpc_client(false)
        .compile_protos(&["conf/conf.proto"], &["conf"])?;
    Ok(())
}
