//! `kratos run`: builds the project's server with cargo and runs it with its configuration,
//! passing Ctrl-C, SIGTERM and SIGQUIT on to it so that it stops gracefully.
//!
//! The rules: the project is the nearest directory from the current one upward holding a
//! `Cargo.toml`; the server is the binary cargo builds for it (`--bin` chooses one when there
//! are several); it runs in the project root with `--conf <dir>` (default `configs`, resolved
//! against the current directory when given, against the project root otherwise) and any
//! arguments after `--`. The server runs in a process group of its own, so a terminal's Ctrl-C
//! reaches it once, through this command, like a SIGTERM sent to this command. The exit status
//! is the server's.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use crate::CliError;
use crate::project::{absolute, current_dir, find_root};

/// `kratos run` arguments.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The configuration file or directory given to the server (default: the project's
    /// `configs`).
    #[arg(long, value_name = "PATH")]
    conf: Option<PathBuf>,
    /// The binary to run, when the project has several.
    #[arg(long, value_name = "NAME")]
    bin: Option<String>,
    /// Build with the release profile.
    #[arg(long)]
    release: bool,
    /// Arguments for the server, after `--`.
    #[arg(last = true)]
    server_args: Vec<String>,
}

/// Runs `kratos run`.
pub fn run(args: &RunArgs) -> Result<ExitCode, CliError> {
    let cwd = current_dir()?;
    let root = find_root(&cwd).ok_or_else(|| {
        CliError::Invalid(format!(
            "no project here: neither {} nor a directory above it has a Cargo.toml (create one \
             with `kratos new <name>`)",
            cwd.display()
        ))
    })?;
    let conf = match &args.conf {
        Some(conf) => absolute(conf)?,
        None => root.join("configs"),
    };
    let server = build(&root, args)?;
    let mut command = tokio::process::Command::new(&server);
    command
        .current_dir(&root)
        .arg("--conf")
        .arg(&conf)
        .args(&args.server_args)
        .kill_on_drop(true);
    #[cfg(unix)]
    command.process_group(0);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Tool(format!("cannot start the runtime: {e}")))?;
    let status = runtime.block_on(supervise(command, &server))?;
    Ok(match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        // Ended by a signal.
        None => ExitCode::FAILURE,
    })
}

/// Builds the project and returns the path of its server binary.
fn build(root: &Path, args: &RunArgs) -> Result<PathBuf, CliError> {
    let mut cargo = std::process::Command::new(std::env::var_os("CARGO").unwrap_or("cargo".into()));
    cargo
        .current_dir(root)
        .args(["build", "--message-format=json-render-diagnostics"])
        .stderr(std::process::Stdio::inherit());
    if args.release {
        cargo.arg("--release");
    }
    match &args.bin {
        Some(bin) => cargo.args(["--bin", bin]),
        None => cargo.arg("--bins"),
    };
    let output = cargo
        .output()
        .map_err(|e| CliError::Tool(format!("cannot run cargo: {e}")))?;
    if !output.status.success() {
        return Err(CliError::Tool(format!(
            "cargo build failed in {} ({})",
            root.display(),
            output.status
        )));
    }
    let executables = executables(&String::from_utf8_lossy(&output.stdout), root);
    match executables.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(CliError::Invalid(format!(
            "{} builds no binary to run",
            root.display()
        ))),
        many => Err(CliError::Invalid(format!(
            "{} has several binaries ({}); choose one with --bin",
            root.display(),
            many.iter()
                .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// The executables of the package at `root` in cargo's JSON messages (`compiler-artifact`
/// lines of binary targets whose manifest is `root/Cargo.toml`).
fn executables(messages: &str, root: &Path) -> Vec<PathBuf> {
    let manifest = root.join("Cargo.toml");
    messages
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact")
        .filter(|m| {
            m["manifest_path"]
                .as_str()
                .is_some_and(|p| Path::new(p) == manifest)
        })
        .filter_map(|m| m["executable"].as_str().map(PathBuf::from))
        .collect()
}

/// Runs the server until it exits, passing on SIGINT, SIGTERM and SIGQUIT.
async fn supervise(
    mut command: tokio::process::Command,
    server: &Path,
) -> Result<std::process::ExitStatus, CliError> {
    let mut child = command
        .spawn()
        .map_err(|e| CliError::Tool(format!("cannot start {}: {e}", server.display())))?;
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let listen = |kind| {
            signal(kind).map_err(|e| CliError::Tool(format!("cannot listen for signals: {e}")))
        };
        let mut interrupt = listen(SignalKind::interrupt())?;
        let mut terminate = listen(SignalKind::terminate())?;
        let mut quit = listen(SignalKind::quit())?;
        loop {
            let forwarded = tokio::select! {
                status = child.wait() => {
                    return status.map_err(|e| CliError::Tool(format!("waiting for the server: {e}")));
                }
                _ = interrupt.recv() => rustix::process::Signal::INT,
                _ = terminate.recv() => rustix::process::Signal::TERM,
                _ = quit.recv() => rustix::process::Signal::QUIT,
            };
            if let Some(pid) = child
                .id()
                .and_then(|id| i32::try_from(id).ok())
                .and_then(rustix::process::Pid::from_raw)
            {
                // The server may have exited meanwhile; its status is read next time round.
                let _ = rustix::process::kill_process(pid, forwarded);
            }
        }
    }
    #[cfg(not(unix))]
    {
        child
            .wait()
            .await
            .map_err(|e| CliError::Tool(format!("waiting for the server: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_is_the_projects_binary() {
        let root = Path::new("/p/demo");
        let messages = [
            r#"{"reason":"compiler-artifact","manifest_path":"/p/kratos/runtime/Cargo.toml","executable":null}"#,
            r#"{"reason":"build-script-executed","manifest_path":"/p/demo/Cargo.toml"}"#,
            r#"{"reason":"compiler-artifact","manifest_path":"/p/demo/Cargo.toml","executable":null}"#,
            r#"{"reason":"compiler-artifact","manifest_path":"/p/demo/Cargo.toml","executable":"/t/debug/demo"}"#,
            r#"{"reason":"compiler-artifact","manifest_path":"/p/other/Cargo.toml","executable":"/t/debug/other"}"#,
            "not json",
            r#"{"reason":"build-finished","success":true}"#,
        ]
        .join("\n");
        assert_eq!(
            executables(&messages, root),
            vec![PathBuf::from("/t/debug/demo")]
        );
    }
}
