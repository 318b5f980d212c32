//! `kratos proto client <path or dir>`: checks that protos compile exactly as a project's
//! build.rs compiles them (the same build integration, every generator), reporting
//! `file.proto:line:column: message`; with `--plugin-out <dir>`, also runs the kratos-rs protoc
//! plugins through protoc or buf, for projects that commit generated code.

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
    /// Also generate code into this directory with the plugins protoc-gen-rust-kratos-http,
    /// -errors, -validate and protoc-gen-openapi (found on PATH), run by protoc or buf.
    #[arg(long, value_name = "DIR")]
    plugin_out: Option<PathBuf>,
    /// The compiler `--plugin-out` uses: protoc or buf (default: protoc when it is on PATH,
    /// otherwise buf).
    #[arg(long, value_name = "TOOL", requires = "plugin_out")]
    with: Option<Tool>,
}

/// What runs the plugins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Tool {
    /// `protoc`, with the option protos as an extra import directory.
    Protoc,
    /// `buf generate`, in a scratch workspace of one module per import directory plus the
    /// option protos.
    Buf,
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
        let out = absolute(out)?;
        let plugins = plugins()?;
        std::fs::create_dir_all(&out).map_err(|e| CliError::io("cannot create", &out, e))?;
        let tool = match args.with {
            Some(tool) => tool,
            None if find_on_path("protoc").is_some() => Tool::Protoc,
            None if find_on_path("buf").is_some() => Tool::Buf,
            None => {
                return Err(CliError::Tool(
                    "neither protoc nor buf is on PATH: install one (Debian: apt-get install \
                     protobuf-compiler), or use the build integration, which needs neither"
                        .into(),
                ));
            }
        };
        match tool {
            Tool::Protoc => protoc(&files, &includes, &plugins, &out)?,
            Tool::Buf => buf(&files, &includes, &plugins, &out)?,
        }
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

/// Each plugin's executable, found on PATH, with its protoc flag.
fn plugins() -> Result<Vec<(PathBuf, &'static str)>, CliError> {
    PLUGINS
        .iter()
        .map(|(plugin, flag)| {
            find_on_path(plugin)
                .map(|path| (path, *flag))
                .ok_or_else(|| {
                    CliError::Tool(format!(
                        "{plugin} is not on PATH: install it with `cargo install {plugin}` (or put \
                     the kratos-rs build's target directory on PATH)"
                    ))
                })
        })
        .collect()
}

/// Writes the option protos the build integration embeds under `dir`.
fn write_option_protos(dir: &Path) -> Result<(), CliError> {
    for (name, source) in kratos::build::option_protos() {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| CliError::io("cannot create", parent, e))?;
        }
        std::fs::write(&path, source).map_err(|e| CliError::io("cannot write", &path, e))?;
    }
    Ok(())
}

fn scratch_dir() -> Result<tempfile::TempDir, CliError> {
    tempfile::tempdir().map_err(|e| CliError::io("cannot create", "a temporary directory", e))
}

/// Runs `command`; a failure names `tool`.
fn run_tool(mut command: std::process::Command, tool: &str) -> Result<(), CliError> {
    let status = command
        .status()
        .map_err(|e| CliError::Tool(format!("cannot run {tool}: {e}")))?;
    if !status.success() {
        return Err(CliError::Tool(format!("{tool} failed ({status})")));
    }
    Ok(())
}

/// Runs protoc with the kratos-rs plugins.
fn protoc(
    files: &[PathBuf],
    includes: &[PathBuf],
    plugins: &[(PathBuf, &str)],
    out: &Path,
) -> Result<(), CliError> {
    let options = scratch_dir()?;
    write_option_protos(options.path())?;
    let mut command = std::process::Command::new("protoc");
    for include in includes {
        command.arg(format!("--proto_path={}", include.display()));
    }
    command.arg(format!("--proto_path={}", options.path().display()));
    for (path, flag) in plugins {
        let name = flag.trim_start_matches("--").trim_end_matches("_out");
        command.arg(format!("--plugin=protoc-gen-{name}={}", path.display()));
        command.arg(format!("{flag}={}", out.display()));
    }
    command.args(files);
    run_tool(command, "protoc")
}

/// Runs `buf generate` with the kratos-rs plugins, in a scratch workspace: module `m<i>` is a
/// link to the i-th import directory, module `kratos` holds the option protos.
fn buf(
    files: &[PathBuf],
    includes: &[PathBuf],
    plugins: &[(PathBuf, &str)],
    out: &Path,
) -> Result<(), CliError> {
    let workspace = scratch_dir()?;
    let root = workspace.path();
    let mut modules = Vec::new();
    for (i, include) in includes.iter().enumerate() {
        let name = format!("m{i}");
        link_dir(include, &root.join(&name))?;
        modules.push(serde_json::json!({ "path": name }));
    }
    write_option_protos(&root.join("kratos"))?;
    modules.push(serde_json::json!({ "path": "kratos" }));
    // JSON is YAML: no quoting rules to get wrong for paths.
    let config = serde_json::json!({ "version": "v2", "modules": modules });
    let template = serde_json::json!({
        "version": "v2",
        "plugins": plugins
            .iter()
            .map(|(path, _)| serde_json::json!({ "local": path, "out": "." }))
            .collect::<Vec<_>>(),
    });
    for (name, value) in [("buf.yaml", &config), ("buf.gen.yaml", &template)] {
        let path = root.join(name);
        std::fs::write(&path, value.to_string())
            .map_err(|e| CliError::io("cannot write", &path, e))?;
    }
    let mut command = std::process::Command::new("buf");
    command
        .current_dir(root)
        .args(["generate", "--template", "buf.gen.yaml", "-o"])
        .arg(out);
    for file in files {
        let (i, relative) = includes
            .iter()
            .enumerate()
            .find_map(|(i, include)| file.strip_prefix(include).ok().map(|r| (i, r)))
            .ok_or_else(|| {
                CliError::Invalid(format!("{}: not under an import directory", file.display()))
            })?;
        command
            .arg("--path")
            .arg(Path::new(&format!("m{i}")).join(relative));
    }
    run_tool(command, "buf")
}

/// `link` pointing at the directory `target`.
fn link_dir(target: &Path, link: &Path) -> Result<(), CliError> {
    #[cfg(unix)]
    let linked = std::os::unix::fs::symlink(target, link);
    #[cfg(windows)]
    let linked = std::os::windows::fs::symlink_dir(target, link);
    linked.map_err(|e| CliError::io("cannot link", link, e))
}

/// The executable `name` on PATH.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}
