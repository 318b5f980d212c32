#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The plugin binary driven by a real `protoc` (installed by scripts/install-deps.sh; the
//! `PROTOC` environment variable may name another one).

use std::path::PathBuf;
use std::process::{Command, Output};

use kratos_codegen::testing::{option_protos_dir, workspace_dir};

const PLUGIN: &str = env!("CARGO_BIN_EXE_protoc-gen-rust-kratos-errors");

fn testdata() -> PathBuf {
    workspace_dir().join("testdata").join("errors")
}

fn protoc(out: &std::path::Path, parameter: Option<&str>, files: &[&str]) -> Output {
    let protoc = std::env::var("PROTOC").unwrap_or_else(|_| "protoc".into());
    let out_arg = match parameter {
        Some(p) => format!("--rust-kratos-errors_out={p}:{}", out.display()),
        None => format!("--rust-kratos-errors_out={}", out.display()),
    };
    Command::new(&protoc)
        .arg(format!("--plugin=protoc-gen-rust-kratos-errors={PLUGIN}"))
        .arg(out_arg)
        .arg("-I")
        .arg(testdata())
        .arg("-I")
        .arg(option_protos_dir())
        .args(files)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {protoc} (run scripts/install-deps.sh): {e}"))
}

#[test]
fn protoc_output_matches_the_goldens() {
    for (case, files, output) in [
        (
            "basic",
            &["basic/error_reason.proto"][..],
            "helloworld.v1.kratos_errors.rs",
        ),
        (
            "multi",
            &[
                "multi/shop/v1/orders.proto",
                "multi/shop/v1/payments.proto",
                "multi/shop/v1/types.proto",
            ][..],
            "shop.v1.kratos_errors.rs",
        ),
    ] {
        let out = tempfile::tempdir().unwrap();
        let result = protoc(out.path(), None, files);
        assert!(
            result.status.success(),
            "protoc failed: {}",
            String::from_utf8_lossy(&result.stderr)
        );
        let names: Vec<String> = std::fs::read_dir(out.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, [output]);
        let generated = std::fs::read_to_string(out.path().join(output)).unwrap();
        let golden = std::fs::read_to_string(testdata().join(case).join(output)).unwrap();
        assert_eq!(generated, golden, "{case}");
    }
}

#[test]
fn protoc_reports_plugin_errors() {
    let out = tempfile::tempdir().unwrap();
    let result = protoc(out.path(), None, &["invalid/value_code.proto"]);
    assert!(!result.status.success());
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        stderr.contains(
            "invalid/value_code.proto: enum pkg.ErrorReason value USER_NOT_FOUND: \
             code 700 is outside 0..=600"
        ),
        "{stderr}"
    );
    let result = protoc(out.path(), Some("bogus=1"), &["basic/error_reason.proto"]);
    assert!(!result.status.success());
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        stderr.contains("invalid plugin parameter 'bogus'"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0);
}

#[test]
fn protoc_writes_nothing_for_files_without_error_enums() {
    let out = tempfile::tempdir().unwrap();
    let result = protoc(
        out.path(),
        None,
        &["empty/plain.proto", "empty/no_codes.proto"],
    );
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0);
}

#[test]
fn binary_prints_its_version() {
    let result = Command::new(PLUGIN).arg("--version").output().unwrap();
    assert!(result.status.success());
    assert_eq!(
        String::from_utf8_lossy(&result.stdout),
        format!(
            "protoc-gen-rust-kratos-errors {}\n",
            env!("CARGO_PKG_VERSION")
        )
    );
}
