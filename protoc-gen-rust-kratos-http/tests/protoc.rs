//! The plugin binary driven by real `protoc` (installed by scripts/install-deps.sh): its output
//! must equal the goldens, byte for byte.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

use kratos_codegen::testing::option_protos_dir;

#[test]
fn protoc_runs_the_plugin_and_writes_the_golden_files() {
    for case in common::CASES {
        let out = tempfile::tempdir().unwrap();
        let mut cmd = Command::new("protoc");
        cmd.arg(format!(
            "--plugin=protoc-gen-rust-kratos-http={}",
            env!("CARGO_BIN_EXE_protoc-gen-rust-kratos-http")
        ))
        // Parameters through `_opt`: an extern path's `::` would end them in `_out=PARAMS:DIR`.
        .arg(format!("--rust-kratos-http_opt={}", case.parameter))
        .arg(format!("--rust-kratos-http_out={}", out.path().display()))
        .arg("-I")
        .arg(case.include_dir())
        .arg("-I")
        .arg(option_protos_dir())
        .args(case.files);
        let output = cmd.output().unwrap_or_else(|e| {
            panic!("cannot run protoc ({e}); run scripts/install-deps.sh to install it")
        });
        assert!(
            output.status.success(),
            "protoc failed for {}: {}",
            case.name,
            String::from_utf8_lossy(&output.stderr)
        );
        let mut produced: Vec<_> = std::fs::read_dir(out.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        produced.sort();
        let mut expected: Vec<_> = std::fs::read_dir(case.expected_dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        expected.sort();
        assert_eq!(produced, expected, "{}: files written by protoc", case.name);
        for name in produced {
            let got = std::fs::read_to_string(out.path().join(&name)).unwrap();
            let want = std::fs::read_to_string(case.expected_dir().join(&name)).unwrap();
            assert!(
                got == want,
                "{}: {name} from protoc differs from the golden",
                case.name
            );
        }
    }
}

#[test]
fn protoc_reports_plugin_errors_with_the_file_and_field() {
    let out = tempfile::tempdir().unwrap();
    let dir = kratos_codegen::testing::workspace_dir().join("testdata/http/errors");
    let output = Command::new("protoc")
        .arg(format!(
            "--plugin=protoc-gen-rust-kratos-http={}",
            env!("CARGO_BIN_EXE_protoc-gen-rust-kratos-http")
        ))
        .arg(format!("--rust-kratos-http_out={}", out.path().display()))
        .arg("-I")
        .arg(&dir)
        .arg("-I")
        .arg(option_protos_dir())
        .arg("missing_field.proto")
        .output()
        .expect("run protoc (scripts/install-deps.sh installs it)");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr
            .contains("path template '/v1/users/{user_id}/{missing.id}' names field 'missing.id'"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_dir(out.path()).unwrap().count(),
        0,
        "no partial output"
    );
}

#[test]
fn the_binary_prints_its_version() {
    let output = Command::new(env!("CARGO_BIN_EXE_protoc-gen-rust-kratos-http"))
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!(
            "protoc-gen-rust-kratos-http {}\n",
            env!("CARGO_PKG_VERSION")
        )
    );
}
