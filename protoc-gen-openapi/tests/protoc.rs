//! The plugin binary driven by real `protoc` (installed by scripts/install-deps.sh): its
//! document must equal gnostic's golden as data, once the documented divergences are undone.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

#[test]
fn protoc_runs_the_plugin_and_writes_the_golden_document() {
    let gnostic = common::workspace().join("testdata/gnostic");
    let out = tempfile::tempdir().unwrap();
    let output = Command::new("protoc")
        .arg(format!(
            "--plugin=protoc-gen-openapi={}",
            env!("CARGO_BIN_EXE_protoc-gen-openapi")
        ))
        .arg(format!(
            "--openapi_out=naming=proto:{}",
            out.path().display()
        ))
        .arg("-I")
        .arg(&gnostic)
        .arg("-I")
        .arg(kratos_codegen::testing::option_protos_dir())
        .arg("tests/pathparams/message.proto")
        .output()
        .unwrap_or_else(|e| panic!("cannot run protoc ({e}); run scripts/install-deps.sh"));
    assert!(
        output.status.success(),
        "protoc failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut ours: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("openapi.json")).unwrap())
            .unwrap();
    // The fixture's `uint64` fields are the documented divergence undone here.
    assert_eq!(common::to_gnostic(&mut ours).int64, 3);
    let golden = common::read_yaml(&gnostic.join("tests/pathparams/openapi.yaml"));
    let differences = common::diff(&golden, &ours, 20);
    assert!(differences.is_empty(), "{differences:#?}");
}
