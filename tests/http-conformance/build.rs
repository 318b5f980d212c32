//! Generates the conformance fixtures (messages, HTTP routes and client, error helpers): the
//! reference's greeter, the wire rules' service, and the `response_body` golden fixture.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto = concat!(env!("CARGO_MANIFEST_DIR"), "/proto");
    let replies = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/http/response_body"
    );
    kratos::build::configure().compile_protos(
        &[
            format!("{proto}/helloworld/v1/greeter.proto"),
            format!("{proto}/helloworld/v1/error_reason.proto"),
            format!("{proto}/wire/v1/wire.proto"),
        ],
        &[proto],
    )?;
    // The golden was written by protoc with the plugin's defaults, which name the well-known
    // types `::pbjson_types`; the same extern path makes build.rs write the same file.
    kratos::build::configure()
        .extern_path(".google.protobuf", "::pbjson_types")
        .compile_protos(&[format!("{replies}/replies/v1/replies.proto")], &[replies])?;
    Ok(())
}
