//! `examples/buf` as a user runs it (`buf generate proto` with its buf.gen.yaml), compared
//! file by file with what real protoc writes with the same plugins.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

use common::{files_in, path_with, plugin_dir, tool, workspace};

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

#[test]
fn buf_generate_writes_the_same_files_as_protoc() {
    let plugins = example_plugins();
    assert_eq!(plugins.len(), 4, "{plugins:?}");
    let names: Vec<&str> = plugins.iter().map(|(name, _)| name.as_str()).collect();
    let bin = plugin_dir(&names);
    let example = workspace().join("examples/buf");

    let buf_out = tempfile::tempdir().unwrap();
    let path = path_with(&bin);
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
