//! `kratos proto client <path or dir>`: checks that protos compile exactly as a project's
//! build.rs compiles them (the same build integration, every generator), reporting
//! `file.proto:line:column: message`; with `--plugin-out <dir>`, also runs the kratos-rs protoc
//! plugins through protoc, for projects that commit generated code.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use crate::CliError;
use crate::project::{absolute, import_root};

/// `kratos proto client` arguments.
#[derive(Debug, Args)]
pub struct ClientArgs {
    /// Proto files, or directories whose `.proto` files (at any depth) are taken.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Import directory (repeatable). Default: the project's `api/` directory for files in it,
    /// otherwise the current directory. The option protos (`google/api/annotations.proto`,
    /// `errors/errors.proto`, `validate/validate.proto`, ...) and the well-known types are
    /// always importable.
    #[arg(short = 'I', long = "proto-path", value_name = "DIR")]
    proto_path: Vec<PathBuf>,
    /// Also generate code into this directory with protoc and the plugins
    /// protoc-gen-rust-kratos-http, -errors, -validate and protoc-gen-openapi (found on PATH).
    #[arg(long, value_name = "DIR")]
    plugin_out: Option<PathBuf>,
}

/// The plugins `--plugin-out` runs, with the protoc flag each gets.
const PLUGINS: &[(&str, &str)] = &[
    ("protoc-gen-rust-kratos-http", "--rust-kratos-http_out"),
    ("protoc-gen-rust-kratos-errors", "--rust-kratos-errors_out"),
    (
        "protoc-gen-rust-kratos-validate",
        "--rust-kratos-validate_out",
    ),
    ("protoc-gen-openapi", "--openapi_out"),
];

/// Runs `kratos proto client`.
pub fn run(args: &ClientArgs) -> Result<ExitCode, CliError> {
    let files = collect(&args.paths)?;
    let includes = if args.proto_path.is_empty() {
        let mut roots = Vec::new();
        for file in &files {
            let root = import_root(file)?;
            if !roots.contains(&root) {
                roots.push(root);
            }
        }
        roots
    } else {
        args.proto_path
            .iter()
            .map(|p| absolute(p))
            .collect::<Result<_, _>>()?
    };
    check(&files, &includes)?;
    println!("{} proto file(s) compile", files.len());
    if let Some(out) = &args.plugin_out {
        protoc(&files, &includes, out)?;
        println!("generated into {}", out.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// The proto files named by `paths`: files as given, directories walked (sorted, so the order
/// is the same on every machine). Absolute.
pub fn collect(paths: &[PathBuf]) -> Result<Vec<PathBuf>, CliError> {
    let mut files = Vec::new();
    for path in paths {
        let abs = absolute(path)?;
        if abs.is_dir() {
            let before = files.len();
            walk(&abs, &mut files)?;
            if files.len() == before {
                return Err(CliError::Invalid(format!(
                    "{}: no .proto file in this directory",
                    path.display()
                )));
            }
        } else if abs.extension().is_some_and(|e| e == "proto") {
            if !abs.is_file() {
                return Err(CliError::Invalid(format!(
                    "{}: no such file",
                    path.display()
                )));
            }
            files.push(abs);
        } else {
            return Err(CliError::Invalid(format!(
                "{}: not a .proto file or a directory",
                path.display()
            )));
        }
    }
    Ok(files)
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), CliError> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| CliError::io("cannot read", dir, e))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(&path, found)?;
        } else if path.extension().is_some_and(|e| e == "proto") {
            found.push(path);
        }
    }
    Ok(())
}

/// Compiles `files` with every generator into a scratch directory, as build.rs would.
pub fn check(files: &[PathBuf], includes: &[PathBuf]) -> Result<(), CliError> {
    let scratch = tempfile::tempdir()
        .map_err(|e| CliError::io("cannot create", "a temporary directory", e))?;
    kratos::build::configure()
        .out_dir(scratch.path())
        .emit_rerun_if_changed(false)
        .compile_protos(files, includes)?;
    Ok(())
}

/// Runs protoc with the kratos-rs plugins.
fn protoc(files: &[PathBuf], includes: &[PathBuf], out: &Path) -> Result<(), CliError> {
    for (plugin, _) in PLUGINS {
        if find_on_path(plugin).is_none() {
            return Err(CliError::Tool(format!(
                "{plugin} is not on PATH: install it with `cargo install {plugin}` (or put the \
                 kratos-rs build's target directory on PATH)"
            )));
        }
    }
    if find_on_path("protoc").is_none() {
        return Err(CliError::Tool(
            "protoc is not on PATH: install it (Debian: apt-get install protobuf-compiler), or \
             use the build integration, which needs no protoc"
                .into(),
        ));
    }
    std::fs::create_dir_all(out).map_err(|e| CliError::io("cannot create", out, e))?;
    // The option protos the build integration embeds, importable by protoc.
    let options = tempfile::tempdir()
        .map_err(|e| CliError::io("cannot create", "a temporary directory", e))?;
    for (name, source) in kratos::build::option_protos() {
        let path = options.path().join(name);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| CliError::io("cannot create", dir, e))?;
        }
        std::fs::write(&path, source).map_err(|e| CliError::io("cannot write", &path, e))?;
    }
    let mut command = std::process::Command::new("protoc");
    for include in includes {
        command.arg(format!("--proto_path={}", include.display()));
    }
    command.arg(format!("--proto_path={}", options.path().display()));
    for (_, flag) in PLUGINS {
        command.arg(format!("{flag}={}", out.display()));
    }
    command.args(files);
    let status = command
        .status()
        .map_err(|e| CliError::Tool(format!("cannot run protoc: {e}")))?;
    if !status.success() {
        return Err(CliError::Tool(format!("protoc failed ({status})")));
    }
    Ok(())
}

/// The executable `name` on PATH.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}
