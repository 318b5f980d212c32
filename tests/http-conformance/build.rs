//! Generates the conformance fixture (messages, HTTP routes and client, error helpers).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto = concat!(env!("CARGO_MANIFEST_DIR"), "/proto");
    kratos::build::configure().compile_protos(
        &[
            format!("{proto}/helloworld/v1/greeter.proto"),
            format!("{proto}/helloworld/v1/error_reason.proto"),
        ],
        &[proto],
    )?;
    Ok(())
}
