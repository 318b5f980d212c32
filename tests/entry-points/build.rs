//! Compiles the keyword fixture (`testdata/keywords`) with every generator, as a user's build.rs
//! does; the tests compare the output with protoc's and buf's and serve it.

use kratos::build::Generator;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/keywords");
    // First the package without gRPC code (see box.proto): prost-build writes the imported
    // keywords.v1 too, and the second run below rewrites it with its gRPC code.
    kratos::build::configure()
        .build_grpc_server(false)
        .build_grpc_client(false)
        .compile_protos(
            &[format!("{fixtures}/keywords/nogrpc/v1/box.proto")],
            &[fixtures],
        )?;
    kratos::build::configure()
        .generator(Generator::Openapi, true)
        .compile_protos(
            &[format!("{fixtures}/keywords/v1/keywords.proto")],
            &[fixtures],
        )?;
    Ok(())
}
