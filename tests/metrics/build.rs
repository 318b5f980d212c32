//! Generates the metrics tests' service (HTTP routes, gRPC server and client, validation) with
//! kratos' build integration.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    kratos::build::configure()
        .build_grpc_client(true)
        .compile_protos(&["proto/metered/v1/metered.proto"], &["proto"])?;
    Ok(())
}
