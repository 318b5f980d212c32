//! `kratos proto client --plugin-out`: the kratos-rs plugins run through protoc.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::PathBuf;
use std::process::Command;

use support::{assert_fails_with, assert_ok, scratch, target_dir};

const PLUGINS: [&str; 4] = [
    "protoc-gen-rust-kratos-http",
    "protoc-gen-rust-kratos-errors",
    "protoc-gen-rust-kratos-validate",
    "protoc-gen-openapi",
];

/// The directory holding the workspace's plugin binaries, built when a test run has not built
/// them yet (`cargo test --workspace` does).
fn plugin_dir() -> PathBuf {
    let dir = target_dir().join("debug");
    if PLUGINS.iter().any(|p| !dir.join(p).is_file()) {
        let mut cargo = Command::new(std::env::var_os("CARGO").unwrap_or("cargo".into()));
        cargo
            .current_dir(support::repo_root())
            .env("CARGO_TARGET_DIR", target_dir())
            .args(["build", "--bins"]);
        for plugin in PLUGINS {
            cargo.args(["-p", plugin]);
        }
        assert!(cargo.status().unwrap().success(), "building the plugins");
    }
    dir
}

const SHOP: &str = r#"syntax = "proto3";

package shop.v1;

import "google/api/annotations.proto";
import "errors/errors.proto";
import "validate/validate.proto";

service Shop {
  rpc GetBook (GetBookRequest) returns (Book) {
    option (google.api.http) = { get: "/v1/books/{id}" };
  }
}

message GetBookRequest {
  string id = 1 [(validate.rules).string.min_len = 1];
}

message Book {
  string id = 1;
}

enum ErrorReason {
  option (errors.default_code) = 500;
  BOOK_NOT_FOUND = 0 [(errors.code) = 404];
}
"#;

fn kratos_with_path(dir: &std::path::Path, path: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kratos"))
        .current_dir(dir)
        .env("PATH", path)
        .args(args)
        .output()
        .unwrap()
}

/// The generated files of `dir`, by name, with their contents.
fn files_in(dir: &std::path::Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read_to_string(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn plugin_out_runs_every_plugin_through_protoc_or_buf() {
    let dir = scratch();
    std::fs::create_dir_all(dir.path().join("shop/v1")).unwrap();
    std::fs::write(dir.path().join("shop/v1/shop.proto"), SHOP).unwrap();
    // The plugins, protoc, and buf (scripts/install-deps.sh puts it into .tools).
    let path = std::env::join_paths(
        [
            plugin_dir(),
            support::repo_root().join(".tools/node_modules/.bin"),
        ]
        .into_iter()
        .chain(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        )),
    )
    .unwrap();
    let path = path.to_str().unwrap();
    let out = assert_ok(&kratos_with_path(
        dir.path(),
        path,
        &[
            "proto",
            "client",
            "shop",
            "--plugin-out",
            "gen",
            "--with",
            "protoc",
        ],
    ));
    assert!(out.contains("1 proto file(s) compile"), "{out}");
    let http = std::fs::read_to_string(dir.path().join("gen/shop.v1.kratos_http.rs")).unwrap();
    assert!(http.contains("pub fn register_shop_http_server"));
    let errors = std::fs::read_to_string(dir.path().join("gen/shop.v1.kratos_errors.rs")).unwrap();
    assert!(errors.contains("pub fn error_book_not_found"));
    let generated: Vec<String> = std::fs::read_dir(dir.path().join("gen"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        generated.iter().any(|n| n.contains("validate")),
        "{generated:?}"
    );
    assert!(
        generated.iter().any(|n| n.starts_with("openapi")),
        "{generated:?}"
    );
    // buf writes the same files.
    assert_ok(&kratos_with_path(
        dir.path(),
        path,
        &[
            "proto",
            "client",
            "shop/v1/shop.proto",
            "--plugin-out",
            "gen-buf",
            "--with",
            "buf",
        ],
    ));
    assert_eq!(
        files_in(&dir.path().join("gen-buf")),
        files_in(&dir.path().join("gen"))
    );

    // Without the plugins on PATH: which one is missing and how to install it.
    let output = kratos_with_path(
        dir.path(),
        "/usr/bin:/bin",
        &["proto", "client", "shop", "--plugin-out", "gen2"],
    );
    assert_fails_with(
        &output,
        &[
            "protoc-gen-rust-kratos-http is not on PATH",
            "cargo install",
        ],
    );
}
