//! `examples/buf` as a user runs it (`buf generate proto` with its buf.gen.yaml), compared
//! file by file with what real protoc writes with the same plugins.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The plugins the example's buf.gen.yaml runs, in order, with their options.
fn example_plugins() -> Vec<(String, Vec<String>)> {
    let template = std::fs::read_to_string(workspace().join("examples/buf/buf.gen.yaml")).unwrap();
    let mut plugins: Vec<(String, Vec<String>)> = Vec::new();
    for line in template.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix("- local: ") {
            plugins.push((name.to_string(), Vec::new()));
        } else if let (Some(opt), Some(last)) = (line.strip_prefix("- "), plugins.last_mut()) {
            last.1.push(opt.to_string());
        }
    }
    plugins
}

/// Builds the plugin binaries (a no-op when `cargo test --workspace` already built them) and
/// returns the directory holding them.
fn plugin_dir(plugins: &[String]) -> PathBuf {
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

fn tool(name: &str) -> PathBuf {
    let local = workspace().join(".tools/node_modules/.bin").join(name);
    if local.exists() {
        local
    } else {
        PathBuf::from(name)
    }
}

fn files_in(dir: &Path) -> Vec<(String, String)> {
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

#[test]
fn buf_generate_writes_the_same_files_as_protoc() {
    let plugins = example_plugins();
    assert_eq!(plugins.len(), 4, "{plugins:?}");
    let names: Vec<String> = plugins.iter().map(|(name, _)| name.clone()).collect();
    let bin = plugin_dir(&names);
    let example = workspace().join("examples/buf");

    let buf_out = tempfile::tempdir().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = Command::new(tool("buf"))
        .current_dir(&example)
        .env("PATH", &path)
        .args(["generate", "proto", "--output"])
        .arg(buf_out.path())
        .output()
        .expect("run buf (scripts/install-deps.sh installs it into .tools)");
    assert!(
        output.status.success(),
        "buf generate failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let buf_files = files_in(&buf_out.path().join("gen"));

    let protoc_out = tempfile::tempdir().unwrap();
    let mut protoc = Command::new("protoc");
    protoc
        .current_dir(example.join("proto"))
        .arg("-I.")
        .arg(format!("-I{}", workspace().join("proto").display()));
    for (p, opts) in &plugins {
        let short = p.trim_start_matches("protoc-gen-");
        protoc
            .arg(format!("--plugin={p}={}", bin.join(p).display()))
            .arg(format!("--{short}_out={}", protoc_out.path().display()));
        if !opts.is_empty() {
            protoc.arg(format!("--{short}_opt={}", opts.join(",")));
        }
    }
    protoc.args([
        "helloworld/v1/greeter.proto",
        "helloworld/v1/error_reason.proto",
    ]);
    let output = protoc
        .output()
        .expect("run protoc (scripts/install-deps.sh installs it)");
    assert!(
        output.status.success(),
        "protoc failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let protoc_files = files_in(protoc_out.path());

    let names: Vec<&str> = buf_files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "helloworld.v1.kratos_errors.rs",
            "helloworld.v1.kratos_http.rs",
            "helloworld.v1.kratos_validate.rs",
            "openapi.json",
        ]
    );
    assert!(buf_files == protoc_files, "buf and protoc outputs differ");
}
