//! `protoc-gen-openapi`: OpenAPI 3.0.3 documents from `google.api.http` annotations, with the
//! parameters and mapping rules of gnostic's plugin of the same name (v0.7.1), which Kratos
//! projects run with `fq_schema_naming=true,default_response=false`.
//!
//! The output is `openapi.json` by default (`format=yaml`: `openapi.yaml`), or one
//! `<file>.openapi.json` per input file with `output_mode=source_relative`. Beyond gnostic,
//! `validate.rules` constraints appear in the schemas, and operationIds stay unique across
//! additional bindings (see README.md).

mod annotations;
mod comments;
mod document;
mod options;
mod schema;
mod validate;

use kratos_codegen::{CodegenError, GeneratedFile, GeneratorOutput, Plugin, PluginRequest, Result};
use prost_reflect::FileDescriptor;
use serde_json::Value as Json;

pub use options::{Format, MAX_DEPTH, Naming, Options, PARAMS};

/// The plugin: name, version and generation function.
pub const PLUGIN: Plugin = kratos_codegen::plugin!(generate);

/// Generates the OpenAPI document(s) for a request.
pub fn generate(request: &PluginRequest) -> Result<GeneratorOutput> {
    let options = Options::parse(request.parameter())?;
    let files: Vec<FileDescriptor> = request.files_to_generate().collect();
    let mut output = GeneratorOutput::default();
    let extension = match options.format {
        Format::Json => "json",
        Format::Yaml => "yaml",
    };
    if options.source_relative {
        for file in &files {
            let document = document::Builder::build(
                &options,
                std::slice::from_ref(file),
                &mut output.warnings,
            )?;
            let stem = file.name().strip_suffix(".proto").unwrap_or(file.name());
            let name = format!("{stem}.openapi.{extension}");
            output.files.push(render(&name, &document, options.format)?);
        }
    } else {
        let document = document::Builder::build(&options, &files, &mut output.warnings)?;
        output.files.push(render(
            &format!("openapi.{extension}"),
            &document,
            options.format,
        )?);
    }
    Ok(output)
}

/// The document of `files` as a JSON value (what `generate` writes, before serialisation).
pub fn document(options: &Options, files: &[FileDescriptor]) -> Result<(Json, Vec<String>)> {
    let mut warnings = Vec::new();
    let document = document::Builder::build(options, files, &mut warnings)?;
    Ok((document, warnings))
}

fn render(name: &str, document: &Json, format: Format) -> Result<GeneratedFile> {
    let text = match format {
        Format::Json => serde_json::to_string_pretty(document).map(|mut s| {
            s.push('\n');
            s
        }),
        Format::Yaml => yaml_serde::to_string(document)
            .map(|s| format!("# Generated with protoc-gen-openapi (kratos-rs)\n\n{s}"))
            .map_err(|e| serde_json::Error::io(std::io::Error::other(e.to_string()))),
    }
    .map_err(|e| CodegenError::Format {
        file: name.to_string(),
        reason: e.to_string(),
    })?;
    Ok(GeneratedFile::text(name, text))
}
