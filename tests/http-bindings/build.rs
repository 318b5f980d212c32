//! Generates the binding fixture with the same parameters as its golden file.

use kratos::build::Generator;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/http/bindings");
    kratos::build::configure()
        .parameter(Generator::Http, "omitempty=false")
        .parameter(Generator::Http, "omitempty_prefix=/api")
        .compile_protos(
            &[
                format!("{fixtures}/kratos/test/v1/bindings.proto"),
                format!("{fixtures}/kratos/test/v1/files.proto"),
                format!("{fixtures}/kratos/common/common.proto"),
            ],
            &[fixtures],
        )?;
    Ok(())
}
