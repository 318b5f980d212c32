//! Generates the topic examples' API from `proto/topics/v1/topics.proto` with kratos' build
//! integration (no protoc needed): prost messages, tonic's gRPC server and client, the serde
//! (JSON) impls, and kratos' HTTP routes and client, error helpers and validation.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    kratos::build::configure().compile_protos(&["proto/topics/v1/topics.proto"], &["proto"])?;
    Ok(())
}
