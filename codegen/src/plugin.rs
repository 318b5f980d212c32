//! Running a generator as a protoc plugin.

use std::io::{Read, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};

use prost::Message;
use prost_types::compiler::{CodeGeneratorResponse, code_generator_response};

use crate::descriptors::panic_message;
use crate::error::{CodegenError, Result};
use crate::output::GeneratorOutput;
use crate::request::PluginRequest;

/// A generator of the suite: its binary name, version and generation function.
#[derive(Debug, Clone, Copy)]
pub struct Plugin {
    /// The binary name, such as `protoc-gen-rust-kratos-http`.
    pub name: &'static str,
    /// The version printed by `--version`.
    pub version: &'static str,
    /// Generates the output for a request.
    pub generate: fn(&PluginRequest) -> Result<GeneratorOutput>,
}

/// `FEATURE_PROTO3_OPTIONAL`: files with proto3 `optional` fields are accepted.
const FEATURE_PROTO3_OPTIONAL: u64 = 1;

/// Decodes a request, runs the generator and builds the response. Every failure (a request that
/// does not decode, a bad parameter, an unsupported construct, even a bug that panics) becomes
/// the response's `error`, with no files: a plugin never writes partial output.
pub fn execute(plugin: &Plugin, raw: &[u8]) -> (CodeGeneratorResponse, Vec<String>) {
    match PluginRequest::decode(raw) {
        Ok(request) => execute_request(plugin, &request),
        Err(e) => (error_response(e.to_string()), Vec::new()),
    }
}

/// Runs the generator on a decoded request; returns the response and the warnings.
pub fn execute_request(
    plugin: &Plugin,
    request: &PluginRequest,
) -> (CodeGeneratorResponse, Vec<String>) {
    match generate(plugin, request) {
        Ok(output) => {
            let file = output
                .files
                .into_iter()
                .map(|f| code_generator_response::File {
                    name: Some(f.name),
                    insertion_point: None,
                    content: Some(f.content),
                    generated_code_info: None,
                })
                .collect();
            let response = CodeGeneratorResponse {
                error: None,
                supported_features: Some(FEATURE_PROTO3_OPTIONAL),
                file,
            };
            (response, output.warnings)
        }
        Err(e) => (error_response(e.to_string()), Vec::new()),
    }
}

/// Runs the generator with the panic guard every entry point uses (the protoc plugin binaries
/// through [`execute`], and the build integration directly): a panic is a bug of the plugin,
/// reported as [`CodegenError::Internal`] instead of unwinding into protoc's plugin process or a
/// user's build script.
pub fn generate(plugin: &Plugin, request: &PluginRequest) -> Result<GeneratorOutput> {
    match catch_unwind(AssertUnwindSafe(|| (plugin.generate)(request))) {
        Ok(result) => result,
        Err(panic) => Err(CodegenError::Internal {
            plugin: plugin.name,
            version: plugin.version,
            message: panic_message(panic.as_ref()),
        }),
    }
}

fn error_response(message: String) -> CodeGeneratorResponse {
    CodeGeneratorResponse {
        error: Some(message),
        supported_features: Some(FEATURE_PROTO3_OPTIONAL),
        file: Vec::new(),
    }
}

/// The whole `main` of a plugin binary: `--version` and `--help`, otherwise a request on stdin
/// and the response on stdout. Warnings go to stderr as `WARN: ...` (protoc shows them).
/// Returns the process exit code.
pub fn plugin_main(plugin: &Plugin) -> i32 {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--version" || a == "-V") {
        println!("{} {}", plugin.name, plugin.version);
        return 0;
    }
    if let Some(arg) = args.first() {
        let usage = format!(
            "{name} {version}: a protoc plugin. Run it through protoc or buf, for example\n  \
             protoc --plugin={name}=path/to/{name} --{out}_out=OUT_DIR -I INCLUDE file.proto\n",
            name = plugin.name,
            version = plugin.version,
            out = plugin.name.trim_start_matches("protoc-gen-"),
        );
        if arg == "--help" || arg == "-h" {
            print!("{usage}");
            return 0;
        }
        eprint!("unexpected argument '{arg}'\n{usage}");
        return 2;
    }
    let mut input = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut input) {
        eprintln!("{}: cannot read the request from stdin: {e}", plugin.name);
        return 1;
    }
    // The request's bytes are dropped once decoded: the pool holds what the generator reads.
    let (response, warnings) = match PluginRequest::decode(&input) {
        Ok(request) => {
            drop(input);
            execute_request(plugin, &request)
        }
        Err(e) => (error_response(e.to_string()), Vec::new()),
    };
    for warning in &warnings {
        eprintln!("WARN: {warning}");
    }
    let mut out = std::io::stdout().lock();
    if let Err(e) = out
        .write_all(&response.encode_to_vec())
        .and_then(|()| out.flush())
    {
        eprintln!("{}: cannot write the response to stdout: {e}", plugin.name);
        return 1;
    }
    0
}

/// The [`Plugin`] of the calling crate: its package name (which is the plugin binary's name),
/// its version, and the given generation function.
///
/// ```text
/// pub const PLUGIN: Plugin = kratos_codegen::plugin!(generate);
/// ```
#[macro_export]
macro_rules! plugin {
    ($generate:expr) => {
        $crate::Plugin {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
            generate: $generate,
        }
    };
}
