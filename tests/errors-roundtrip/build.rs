//! Compiles the fixture protos with protox (no protoc), generates prost messages and tonic
//! services with tonic-prost-build, and runs the errors generator in process on the same files.

use std::error::Error;
use std::path::PathBuf;

use kratos_codegen::PluginRequest;
use kratos_codegen::prost_reflect::DescriptorPool;

/// The files compiled, relative to the include directories.
const FILES: &[&str] = &[
    "basic/error_reason.proto",
    "multi/shop/v1/orders.proto",
    "multi/shop/v1/payments.proto",
    "multi/shop/v1/types.proto",
    "roundtrip/v1/users.proto",
];

fn main() -> Result<(), Box<dyn Error>> {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let workspace = manifest.join("..").join("..");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let includes = [
        workspace.join("testdata").join("errors"),
        manifest.join("proto"),
        workspace.join("proto"),
    ];
    for dir in &includes {
        println!("cargo:rerun-if-changed={}", dir.display());
    }

    let mut compiler = protox::Compiler::new(&includes)?;
    compiler.include_imports(true).include_source_info(true);
    compiler.open_files(FILES)?;

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(compiler.file_descriptor_set())?;

    let pool = DescriptorPool::decode(compiler.encode_file_descriptor_set().as_slice())?;
    let files = FILES.iter().map(|f| f.to_string()).collect();
    let request = PluginRequest::from_pool(pool, files, "")?;
    let output = protoc_gen_rust_kratos_errors::generate(&request)?;
    for warning in &output.warnings {
        println!("cargo:warning={warning}");
    }
    for file in output.files {
        std::fs::write(out_dir.join(&file.name), file.content)?;
    }
    Ok(())
}
