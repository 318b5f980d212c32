//! `kratos proto server <file.proto> -t <dir>`: for each service of the proto, a Rust file
//! implementing its generated service trait, every method answering 501 `NOT_IMPLEMENTED`.
//!
//! The rules: the proto is compiled as the project's build.rs compiles it; a service `Foo` (or
//! `FooService`) gets `<dir>/foo.rs` with `pub struct FooService` (Kratos' names); the method
//! signatures are the trait's own, from the HTTP generator's [`signature`] module, with message
//! paths resolved under `--api-module` (default `crate::api`, the module including the build's
//! module tree); an existing file is never overwritten (it is reported and skipped); a new file
//! gets a `pub mod` line in `<dir>/mod.rs` when that file exists.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use kratos_codegen::RustPaths;
use kratos_codegen::names::{ident, snake_word, to_snake, upper_camel_word};
use kratos_codegen::prost_reflect::{DescriptorPool, FileDescriptor, ServiceDescriptor};
use protoc_gen_rust_kratos_http::signature;

use crate::CliError;
use crate::project::{absolute, import_root};
use crate::template::render;

const TEMPLATE: &str = include_str!("../templates/proto/server.rs.tmpl");

/// `kratos proto server` arguments.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// The proto file whose services to implement.
    proto: PathBuf,
    /// The directory to write the files to (it must exist).
    #[arg(
        short = 't',
        long = "target-dir",
        default_value = "src/service",
        value_name = "DIR"
    )]
    target_dir: PathBuf,
    /// Import directory (repeatable). Default: the project's `api/` directory for a file in
    /// it, otherwise the current directory.
    #[arg(short = 'I', long = "proto-path", value_name = "DIR")]
    proto_path: Vec<PathBuf>,
    /// The Rust module holding one module per proto package (a project made by `kratos new`
    /// includes the build's module tree in `crate::api`).
    #[arg(long, default_value = "crate::api", value_name = "PATH")]
    api_module: String,
}

/// Runs `kratos proto server`.
pub fn run(args: &ServerArgs) -> Result<ExitCode, CliError> {
    let abs = absolute(&args.proto)?;
    if abs.extension().is_none_or(|e| e != "proto") || !abs.is_file() {
        return Err(CliError::Invalid(format!(
            "{}: not a .proto file",
            args.proto.display()
        )));
    }
    let includes: Vec<PathBuf> = if args.proto_path.is_empty() {
        vec![import_root(&abs)?]
    } else {
        args.proto_path
            .iter()
            .map(|p| absolute(p))
            .collect::<Result<_, _>>()?
    };
    let bytes = kratos::build::descriptor_set(&[&abs], &includes)?;
    let pool = kratos_codegen::pool_from_file_descriptor_set(&bytes)
        .map_err(|e| CliError::Invalid(e.to_string()))?;
    let name = includes
        .iter()
        .find_map(|include| abs.strip_prefix(include).ok())
        .map(|rel| {
            rel.iter()
                .filter_map(|s| s.to_str())
                .collect::<Vec<_>>()
                .join("/")
        })
        .unwrap_or_default();
    let file = pool.get_file_by_name(&name).ok_or_else(|| {
        CliError::Invalid(format!(
            "{}: not under an import directory",
            args.proto.display()
        ))
    })?;
    let services: Vec<ServiceDescriptor> = file.services().collect();
    if services.is_empty() {
        return Err(CliError::Invalid(format!(
            "{}: the proto has no service; nothing to implement",
            args.proto.display()
        )));
    }
    if !args.target_dir.is_dir() {
        return Err(CliError::Invalid(format!(
            "target directory {} does not exist",
            args.target_dir.display()
        )));
    }
    let paths = rust_paths(&pool, &args.api_module)?;
    let mut skipped = 0;
    for service in &services {
        let unit = ServiceFile::new(service, &file, &paths, &args.api_module)?;
        let path = args.target_dir.join(format!("{}.rs", unit.file_stem));
        match write_new(&path, &unit.source) {
            Ok(()) => {
                println!("{}", path.display());
                add_mod_line(&args.target_dir, &unit.module)?;
            }
            Err(CliError::Exists(_)) => {
                eprintln!(
                    "{} already exists: {} (left as it is)",
                    service.full_name(),
                    path.display()
                );
                skipped += 1;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(if skipped == services.len() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Type paths as the build generates them, rooted at `api_module`: every package's first
/// segment maps to its module there, and the types of files without a package to theirs.
fn rust_paths(pool: &DescriptorPool, api_module: &str) -> Result<RustPaths, CliError> {
    let mut paths = RustPaths::default();
    let mut add = |proto: &str, rust: &str| {
        paths
            .add_extern(proto, rust)
            .map_err(|e| CliError::Invalid(e.to_string()))
    };
    for file in pool.files() {
        let package = file.package_name();
        match package.split('.').next() {
            Some(first) if !first.is_empty() => {
                add(
                    &format!(".{first}"),
                    &format!("{api_module}::{}", to_snake(first)),
                )?;
            }
            _ => {
                for message in file.messages() {
                    let rust = RustPaths::default().resolve(message.full_name(), "");
                    add(
                        &format!(".{}", message.full_name()),
                        &format!("{api_module}::{rust}"),
                    )?;
                }
                for e in file.enums() {
                    let rust = RustPaths::default().resolve(e.full_name(), "");
                    add(
                        &format!(".{}", e.full_name()),
                        &format!("{api_module}::{rust}"),
                    )?;
                }
            }
        }
    }
    // The build's own mappings (well-known types, HttpBody) win over the packages'.
    for (proto, rust) in kratos::build::default_extern_paths() {
        add(proto, rust)?;
    }
    Ok(paths)
}

/// The file written for one service.
struct ServiceFile {
    /// `foo` for `Foo` or `FooService`.
    file_stem: String,
    /// The module's identifier (`foo`, or `r#type`).
    module: String,
    source: String,
}

impl ServiceFile {
    fn new(
        service: &ServiceDescriptor,
        file: &FileDescriptor,
        paths: &RustPaths,
        api_module: &str,
    ) -> Result<Self, CliError> {
        // Kratos' names: `FooService` and `Foo` both give `FooService` in `foo`.
        let base = service
            .name()
            .strip_suffix("Service")
            .filter(|b| !b.is_empty())
            .unwrap_or(service.name());
        let file_stem = snake_word(base);
        let module = ident(&file_stem).to_string();
        let struct_name = format!("{}Service", upper_camel_word(base));
        let package = service.package_name();
        let module_path: String = std::iter::once(api_module.to_string())
            .chain(
                package
                    .split('.')
                    .filter(|s| !s.is_empty())
                    .map(|s| ident(&to_snake(s)).to_string()),
            )
            .collect::<Vec<_>>()
            .join("::");
        let trait_path = format!("{module_path}::{}", signature::trait_ident(service));
        let mut methods = String::new();
        for method in service.methods() {
            let name = signature::method_ident(&method);
            let request = tokens(signature::request_type(&method, paths, ""));
            let reply = tokens(signature::reply_type(&method, paths, ""));
            methods.push_str(&format!(
                "    async fn {name}(\n        &self,\n        _ctx: Context,\n        \
                 _request: {request},\n    ) -> Result<{reply}, Error> {{\n        \
                 Err(not_implemented(\"{}\"))\n    }}\n\n",
                method.name()
            ));
        }
        // One blank line between methods, none before the closing brace.
        let methods = methods.trim_end_matches('\n').to_string() + "\n";
        let source = render(
            "server.rs",
            TEMPLATE,
            &[
                ("full_name", service.full_name()),
                ("file", file.name()),
                ("api", &module_path),
                ("service_snake", &snake_word(service.name())),
                ("struct", &struct_name),
                ("trait", &trait_path),
                ("methods", &methods),
            ],
        )?;
        Ok(ServiceFile {
            file_stem,
            module,
            source,
        })
    }
}

/// A type's tokens as Rust source (`a::b<c>`, without the spaces the token printer adds).
fn tokens(stream: proc_macro2::TokenStream) -> String {
    stream
        .to_string()
        .replace(" :: ", "::")
        .replace(":: ", "::")
        .replace(" < ", "<")
        .replace(" >", ">")
}

/// Creates `path` with `content`; an existing file is [`CliError::Exists`].
fn write_new(path: &Path, content: &str) -> Result<(), CliError> {
    let mut file = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(CliError::Exists(path.to_path_buf()));
        }
        Err(e) => return Err(CliError::io("cannot create", path, e)),
    };
    file.write_all(content.as_bytes())
        .map_err(|e| CliError::io("cannot write", path, e))
}

/// Declares `module` in `<dir>/mod.rs` when that file exists and does not declare it yet.
fn add_mod_line(dir: &Path, module: &str) -> Result<(), CliError> {
    let mod_rs = dir.join("mod.rs");
    let text = match std::fs::read_to_string(&mod_rs) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(CliError::io("cannot read", mod_rs, e)),
    };
    let declared = text.lines().any(|line| {
        let line = line.trim();
        let line = line.strip_prefix("pub ").unwrap_or(line);
        line == format!("mod {module};")
    });
    if declared {
        return Ok(());
    }
    let mut updated = text;
    if !updated.is_empty() && !updated.ends_with('\n') {
        updated.push('\n');
    }
    updated.push_str(&format!("pub mod {module};\n"));
    std::fs::write(&mod_rs, updated).map_err(|e| CliError::io("cannot write", mod_rs, e))?;
    println!("{} (pub mod {module};)", dir.join("mod.rs").display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::tokens;
    use quote::quote;

    #[test]
    fn type_tokens_read_as_source() {
        assert_eq!(
            tokens(quote! { ::kratos::stream::RequestStream<crate::api::a::v1::Book> }),
            "::kratos::stream::RequestStream<crate::api::a::v1::Book>"
        );
        assert_eq!(
            tokens(quote! { crate::api::r#type::X }),
            "crate::api::r#type::X"
        );
    }
}
