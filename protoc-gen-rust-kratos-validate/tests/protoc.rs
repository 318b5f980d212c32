//! The plugin binary driven by real `protoc` (installed by scripts/install-deps.sh): its output
//! must equal the golden file, byte for byte.

use std::process::Command;

use kratos_codegen::testing::{option_protos_dir, workspace_dir};

#[test]
fn protoc_runs_the_plugin_and_writes_the_golden_file() {
    let dir = workspace_dir().join("testdata/validate/basic");
    let out = tempfile::tempdir().unwrap();
    let output = Command::new("protoc")
        .arg(format!(
            "--plugin=protoc-gen-rust-kratos-validate={}",
            env!("CARGO_BIN_EXE_protoc-gen-rust-kratos-validate")
        ))
        .arg(format!(
            "--rust-kratos-validate_out={}",
            out.path().display()
        ))
        .arg("-I")
        .arg(&dir)
        .arg("-I")
        .arg(option_protos_dir())
        .arg("example.proto")
        .output()
        .unwrap_or_else(|e| panic!("cannot run protoc ({e}); run scripts/install-deps.sh"));
    assert!(
        output.status.success(),
        "protoc failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let name = "example.v1.kratos_validate.rs";
    let got = std::fs::read_to_string(out.path().join(name)).unwrap();
    let want = std::fs::read_to_string(dir.join(name)).unwrap();
    assert!(got == want, "{name} from protoc differs from the golden");
}

#[test]
fn protoc_reports_an_ill_typed_rule_naming_file_field_and_rule() {
    let dir = workspace_dir().join("testdata/validate/invalid");
    let file = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".proto"))
        .min()
        .unwrap();
    let out = tempfile::tempdir().unwrap();
    let output = Command::new("protoc")
        .arg(format!(
            "--plugin=protoc-gen-rust-kratos-validate={}",
            env!("CARGO_BIN_EXE_protoc-gen-rust-kratos-validate")
        ))
        .arg(format!(
            "--rust-kratos-validate_out={}",
            out.path().display()
        ))
        .arg("-I")
        .arg(&dir)
        .arg("-I")
        .arg(option_protos_dir())
        .arg(&file)
        .output()
        .expect("run protoc (scripts/install-deps.sh installs it)");
    assert!(!output.status.success(), "{file} should be refused");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&file) && stderr.contains("rule"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_dir(out.path()).unwrap().count(),
        0,
        "no partial output"
    );
}
