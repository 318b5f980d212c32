//! The build integration's errors: a proto that does not compile is reported with its file,
//! line and column; a generator's error names the file, method and field.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

fn compile(dir: &Path, file: &str) -> Result<(), kratos::build::BuildError> {
    let out = tempfile::tempdir().unwrap();
    kratos::build::configure()
        .out_dir(out.path())
        .emit_rerun_if_changed(false)
        .compile_protos(&[dir.join(file)], &[dir])
}

#[test]
fn a_syntax_error_names_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("broken.proto"),
        "syntax = \"proto3\";\npackage demo.v1;\nmessage Broken {\n  string name = ;\n}\n",
    )
    .unwrap();
    let err = compile(dir.path(), "broken.proto").unwrap_err().to_string();
    assert!(err.starts_with("broken.proto:4:17: "), "{err}");
}

/// A build script's `main` returning the error with `?` prints its `Debug` form through the
/// box: it must be the same `file:line:column: message` line.
#[test]
fn a_boxed_error_debug_prints_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("broken.proto"),
        "syntax = \"proto3\";\npackage demo.v1;\nmessage Broken {\n  int32 id = ;\n}\n",
    )
    .unwrap();
    let main = || -> Result<(), Box<dyn std::error::Error>> {
        compile(dir.path(), "broken.proto")?;
        Ok(())
    };
    let debug = format!("{:?}", main().unwrap_err());
    assert!(debug.starts_with("broken.proto:4:14: "), "{debug}");
}

#[test]
fn an_unknown_import_names_the_importing_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("imports.proto"),
        "syntax = \"proto3\";\npackage demo.v1;\nimport \"missing/thing.proto\";\n",
    )
    .unwrap();
    let err = compile(dir.path(), "imports.proto")
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("imports.proto:3:"), "{err}");
    assert!(err.contains("missing/thing.proto"), "{err}");
}

#[test]
fn a_generator_error_names_file_method_template_and_field() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("svc.proto"),
        r#"syntax = "proto3";
package demo.v1;
import "google/api/annotations.proto";
service Users {
  rpc Get(GetRequest) returns (GetRequest) {
    option (google.api.http) = { get: "/v1/users/{id}" };
  }
}
message GetRequest { string name = 1; }
"#,
    )
    .unwrap();
    let err = compile(dir.path(), "svc.proto").unwrap_err().to_string();
    assert_eq!(
        err,
        "protoc-gen-rust-kratos-http: svc.proto: method demo.v1.Users.Get: path template \
         '/v1/users/{id}' names field 'id': message demo.v1.GetRequest has no field 'id'"
    );
}

/// Issue 20: a name made only of underscores has no Rust name (prost-build panics on it); the
/// build reports the file and element instead, for every kind of element.
#[test]
fn names_made_only_of_underscores_are_errors_not_panics() {
    for (body, element) in [
        ("message _ { string name = 1; }", "message demo.v1._"),
        ("message M { string __ = 1; }", "field demo.v1.M.__"),
        (
            "message M { oneof _ { string a = 1; string b = 2; } }",
            "oneof demo.v1.M._",
        ),
        ("enum _ { A = 0; }", "enum demo.v1._"),
        ("enum E { E_A = 0; _ = 1; }", "enum demo.v1.E value _"),
        ("message M { enum __ { M_A = 0; } }", "enum demo.v1.M.__"),
        (
            "message M { message _ { int32 x = 1; } }",
            "message demo.v1.M._",
        ),
        (
            "message M {} service _ { rpc Get(M) returns (M); }",
            "service demo.v1._",
        ),
        (
            "message M {} service S { rpc __(M) returns (M); }",
            "method demo.v1.S.__",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("u.proto"),
            format!("syntax = \"proto3\";\npackage demo.v1;\n{body}\n"),
        )
        .unwrap();
        let err = compile(dir.path(), "u.proto").unwrap_err().to_string();
        assert!(
            err.starts_with(&format!(
                "u.proto: {element}: a name made only of underscores"
            )),
            "{body}: {err}"
        );
    }
}

/// Issue 19: syntaxes prost-reflect does not read are errors naming the file, never a panic.
#[test]
fn unsupported_syntaxes_are_errors_not_panics() {
    for header in [
        "syntax = \"proto4\";",
        "edition = \"2023\";",
        "syntax = \"\";",
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("s.proto"),
            format!("{header}\npackage demo.v1;\nmessage M {{ string name = 1; }}\n"),
        )
        .unwrap();
        let err = compile(dir.path(), "s.proto").unwrap_err().to_string();
        assert!(err.starts_with("s.proto"), "{header}: {err}");
    }
}
