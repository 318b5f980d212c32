//! Running the `kratos` binary in a directory.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

/// The kratos-rs checkout these tests run in (the workspace root).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// The workspace's target directory: the parent of the integration tests' scratch directory
/// (`<target>/tmp`), so a generated project builds with the artifacts already there.
pub fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// A scratch directory in the target directory's `tmp`.
pub fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("kratos-cli-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap_or_else(|e| panic!("scratch directory: {e}"))
}

/// `kratos <args>` run in `dir`.
pub fn kratos(dir: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_kratos"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running kratos: {e}"))
}

/// Asserts that the command failed with a message containing every one of `needles`.
pub fn assert_fails_with(output: &Output, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "succeeded; stderr: {stderr}");
    for needle in needles {
        assert!(stderr.contains(needle), "{needle:?} not in: {stderr}");
    }
}

/// Asserts that the command succeeded; returns its stdout.
pub fn assert_ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "failed ({}): {}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}
