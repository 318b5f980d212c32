//! Helpers shared by the entry-point tests: the workspace, the plugin binaries, the tools.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The four plugins, in the order the tests run them.
pub const PLUGINS: [&str; 4] = [
    "protoc-gen-rust-kratos-http",
    "protoc-gen-rust-kratos-errors",
    "protoc-gen-rust-kratos-validate",
    "protoc-gen-openapi",
];

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Builds the plugin binaries (a no-op when `cargo test --workspace` already built them) and
/// returns the directory holding them.
pub fn plugin_dir(plugins: &[&str]) -> PathBuf {
    let mut cmd = Command::new(env!("CARGO"));
    cmd.arg("build").arg("--quiet").current_dir(workspace());
    for p in plugins {
        cmd.arg("-p").arg(p);
    }
    let status = cmd.status().unwrap();
    assert!(status.success(), "cargo build of the plugins failed");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"));
    target.join("debug")
}

/// A tool installed into `.tools` by scripts/install-deps.sh, else from the `PATH`.
pub fn tool(name: &str) -> PathBuf {
    let local = workspace().join(".tools/node_modules/.bin").join(name);
    if local.exists() {
        local
    } else {
        PathBuf::from(name)
    }
}

/// The files of `dir` (not recursive), by name, with their contents.
pub fn files_in(dir: &Path) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().into_string().unwrap(),
                std::fs::read_to_string(e.path()).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

/// `PATH` with the plugin directory first, so that buf finds the `local:` plugins.
pub fn path_with(bin: &Path) -> String {
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}
