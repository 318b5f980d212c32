//! Generates the oracle API with kratos' build integration.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    kratos::build::configure().compile_protos(
        &[
            "proto/oracle/v1/oracle.proto",
            "proto/oracle/v1/oracle_errors.proto",
        ],
        &["proto"],
    )?;
    Ok(())
}
