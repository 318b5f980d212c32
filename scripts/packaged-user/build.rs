//! Generates the shop API with the packaged build integration: HTTP routes, errors,
//! validation and the OpenAPI document, without protoc.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    kratos::build::configure()
        .generator(kratos::build::Generator::Openapi, true)
        .compile_protos(&["proto/shop/v1/shop.proto"], &["proto"])?;
    Ok(())
}
