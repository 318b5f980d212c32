//! `protoc-gen-rust-kratos-validate`: protoc-gen-validate (PGV) rules as generated Rust code,
//! with Go PGV's semantics and messages, for the kratos runtime.
//!
//! For every message of the files to generate (one output file per package,
//! `<package>.kratos_validate.rs`, included in the same module as prost's output), the plugin
//! implements `kratos::validate::Validate` (`validate()`: the first violation,
//! `validate_all()`: every violation) and the runtime's `Check` (reached through `kratos::__codegen::validate`, the surface all generated code uses), unless
//! the message is `(validate.ignored)`. Messages are in Go's form,
//! `invalid Msg.Field: value must be ...`. Rule sets that Go PGV refuses (contradictory or
//! ill-typed rules) are plugin errors naming the file, field and rule.
//!
//! Parameters: `wkt=pbjson|prost` (how well-known types are mapped, default `pbjson`) and
//! `extern_path=.proto.pkg=::rust::path` (repeatable), as for the other kratos plugins.
//! See the README for every rule.

mod codegen;
mod gofmt;
mod re2;
mod rules;

use kratos_codegen::{
    GeneratorOutput, ParamSpec, Params, Plugin, PluginRequest, RUST_PATH_PARAMS, Result, RustPaths,
    files_by_package, package_rust_file,
};
use prost_reflect::MessageDescriptor;

/// The plugin: name, version and generation function.
pub const PLUGIN: Plugin = kratos_codegen::plugin!(generate);

/// The parameters this plugin accepts.
pub const PARAMS: &[ParamSpec] = &RUST_PATH_PARAMS;

/// Generates the validation code for every file of the request, one output file per package.
pub fn generate(request: &PluginRequest) -> Result<GeneratorOutput> {
    let paths = RustPaths::from_params(&Params::parse(request.parameter(), PARAMS)?)?;
    request.check_rust_names()?;
    let ext = rules::Extensions::new(request.pool());
    let generator = codegen::Gen {
        paths: &paths,
        wkt: paths.wkt(),
        ext: &ext,
    };
    let mut output = GeneratorOutput::default();
    for (package, files) in files_by_package(request.files_to_generate()) {
        // Each message's code is formatted as soon as it is generated.
        let file = package_rust_file(&PLUGIN, &package, "kratos_validate", &files, |sink| {
            for file in &files {
                let mut stack: Vec<MessageDescriptor> = file.messages().collect();
                stack.reverse();
                while let Some(msg) = stack.pop() {
                    let mut children: Vec<MessageDescriptor> =
                        msg.child_messages().filter(|m| !m.is_map_entry()).collect();
                    children.reverse();
                    sink.push(generator.message(&msg, file.name())?);
                    stack.extend(children);
                }
            }
            Ok(())
        })?;
        output.files.extend(file);
    }
    Ok(output)
}
