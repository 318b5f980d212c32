//! Generates the helloworld API with kratos' build integration: no protoc needed.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    kratos::build::configure().compile_protos(
        &[
            "proto/helloworld/v1/greeter.proto",
            "proto/helloworld/v1/error_reason.proto",
        ],
        &["proto"],
    )?;
    Ok(())
}
