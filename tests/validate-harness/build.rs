//! Generates prost code and our validation code for the PGV harness protos (and the service
//! proto of the middleware test) with kratos' build integration, plus a dispatch table from
//! full message names to validation runs for the harness executor.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let pgv = manifest.join("../../testdata/pgv");
    let options = manifest.join("../../proto");
    let mut protos = Vec::new();
    collect(&pgv.join("tests/harness"), &mut protos)?;
    protos.sort();
    kratos::build::configure()
        .generator(kratos::build::Generator::Http, false)
        .generator(kratos::build::Generator::Errors, false)
        .build_grpc_client(false)
        .build_grpc_server(false)
        .compile_protos(&protos, &[&pgv])?;

    // The middleware test's service: HTTP routes and gRPC, validation on.
    let local = manifest.join("proto");
    kratos::build::configure()
        .build_grpc_client(true)
        .compile_protos(&[local.join("validated/v1/validated.proto")], &[&local])?;

    // The plugin's golden fixture, so that the golden output is known to compile and run.
    let golden = manifest.join("../../testdata/validate/basic");
    kratos::build::configure()
        .generator(kratos::build::Generator::Http, false)
        .generator(kratos::build::Generator::Errors, false)
        .build_grpc_client(false)
        .build_grpc_server(false)
        .compile_protos(&[golden.join("example.proto")], &[&golden])?;

    // Dispatch: full name -> run::<Type>, for every message of the harness files.
    let mut compiler = protox::Compiler::new([pgv.as_path(), options.as_path()])?;
    compiler.include_imports(true);
    for p in &protos {
        compiler.open_file(p)?;
    }
    let pool =
        prost_reflect::DescriptorPool::decode(compiler.encode_file_descriptor_set().as_slice())?;
    let paths = kratos_codegen::RustPaths::default();
    let mut arms = String::new();
    for msg in pool.all_messages() {
        if msg.is_map_entry() || !msg.full_name().starts_with("tests.harness.cases") {
            continue;
        }
        let path = paths.resolve(msg.full_name(), "");
        writeln!(
            arms,
            "        {:?} => Some((&&Runner::<crate::{path}>::new()).run(bytes)),",
            msg.full_name()
        )?;
    }
    let code = format!(
        "/// Runs the validation of the message named `full_name`, decoded from `bytes`.\n\
         #[allow(clippy::needless_borrow)]\npub fn dispatch(full_name: &str, bytes: &[u8]) -> Option<Result<Outcome, String>> {{\n    \
         #[allow(unused_imports)]\n    use crate::{{RunNothing as _, RunValidate as _}};\n    \
         match full_name {{\n{arms}        _ => None,\n    }}\n}}\n"
    );
    let out = PathBuf::from(std::env::var("OUT_DIR")?).join("dispatch.rs");
    std::fs::write(out, code)?;
    Ok(())
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "proto") {
            out.push(path);
        }
    }
    Ok(())
}
