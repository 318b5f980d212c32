//! Generates the oracle API with kratos' build integration, and its OpenAPI document (served
//! at `/q/openapi.json`, with Swagger UI at `/q/swagger-ui/`).

use kratos::build::Generator;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    kratos::build::configure()
        .generator(Generator::Openapi, true)
        .compile_protos(
            &[
                "proto/oracle/v1/oracle.proto",
                "proto/oracle/v1/oracle_errors.proto",
            ],
            &["proto"],
        )?;
    Ok(())
}
