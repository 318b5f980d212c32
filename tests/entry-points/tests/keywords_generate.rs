//! The keyword fixture (`testdata/keywords/keywords/v1/keywords.proto`: every Rust keyword as a
//! service, method, message, field, enum and enum value name) through the three entry points:
//! protoc and buf run the four plugin binaries, build.rs (this crate's) runs them in process.
//! All three write the same files, and this crate compiling at all shows that the generated
//! code refers to exactly the items prost and tonic generate.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Command;

use common::{PLUGINS, files_in, path_with, plugin_dir, tool, workspace};

const PROTO: &str = "keywords/v1/keywords.proto";

/// The parameters build.rs gives each generator (kratos::build's defaults), as plugin options.
fn options(plugin: &str) -> &'static str {
    match plugin {
        "protoc-gen-openapi" => "fq_schema_naming=true,default_response=true,enum_type=string",
        _ => "",
    }
}

fn protoc(bin: &Path, out: &Path) {
    let mut protoc = Command::new("protoc");
    protoc
        .current_dir(workspace().join("testdata/keywords"))
        .arg("-I.")
        .arg(format!("-I{}", workspace().join("proto").display()));
    for plugin in PLUGINS {
        let short = plugin.trim_start_matches("protoc-gen-");
        protoc
            .arg(format!("--plugin={plugin}={}", bin.join(plugin).display()))
            .arg(format!("--{short}_out={}", out.display()));
        if !options(plugin).is_empty() {
            protoc.arg(format!("--{short}_opt={}", options(plugin)));
        }
    }
    let output = protoc.arg(PROTO).output().expect("run protoc");
    assert!(
        output.status.success(),
        "protoc failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn buf(bin: &Path, out: &Path) {
    let work = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(
        workspace().join("testdata/keywords"),
        work.path().join("keywords"),
    )
    .unwrap();
    std::os::unix::fs::symlink(workspace().join("proto"), work.path().join("kratos")).unwrap();
    std::fs::write(
        work.path().join("buf.yaml"),
        "version: v2\nmodules:\n  - path: keywords\n  - path: kratos\n",
    )
    .unwrap();
    let mut template = String::from("version: v2\nplugins:\n");
    for plugin in PLUGINS {
        template.push_str(&format!("  - local: {plugin}\n    out: gen\n"));
        if !options(plugin).is_empty() {
            template.push_str(&format!("    opt: {}\n", options(plugin)));
        }
    }
    std::fs::write(work.path().join("buf.gen.yaml"), template).unwrap();
    let output = Command::new(tool("buf"))
        .current_dir(work.path())
        .env("PATH", path_with(bin))
        .args([
            "generate",
            "keywords",
            "--path",
            &format!("keywords/{PROTO}"),
        ])
        .arg("--output")
        .arg(out)
        .output()
        .expect("run buf (scripts/install-deps.sh installs it into .tools)");
    assert!(
        output.status.success(),
        "buf generate failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn protoc_buf_and_build_rs_write_the_same_files() {
    let bin = plugin_dir(&PLUGINS);
    let protoc_out = tempfile::tempdir().unwrap();
    protoc(&bin, protoc_out.path());
    let protoc_files = files_in(protoc_out.path());
    let names: Vec<&str> = protoc_files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "keywords.v1.kratos_errors.rs",
            "keywords.v1.kratos_http.rs",
            "keywords.v1.kratos_validate.rs",
            "openapi.json",
        ]
    );

    let buf_out = tempfile::tempdir().unwrap();
    buf(&bin, buf_out.path());
    let buf_files = files_in(&buf_out.path().join("gen"));
    assert!(buf_files == protoc_files, "buf and protoc outputs differ");

    let out_dir = Path::new(env!("OUT_DIR"));
    for (name, content) in &protoc_files {
        let built = std::fs::read_to_string(out_dir.join(name)).unwrap();
        assert!(
            &built == content,
            "{name}: build.rs and protoc outputs differ"
        );
    }
}

#[test]
fn keywords_are_raw_only_as_whole_identifiers() {
    let http =
        std::fs::read_to_string(Path::new(env!("OUT_DIR")).join("keywords.v1.kratos_http.rs"))
            .unwrap();
    for expected in [
        "pub trait Type:",
        "fn r#type(",
        "pub fn register_type_http_server<S: Type>",
        "pub fn register_type_grpc_server<S: Type>",
        "pub struct TypeHttpClient",
        "pub trait Self_:",
        "fn self_(",
        "pub fn register_self_http_server<S: Self_>",
        "self__server::Self_Server::new",
        "fn r#gen(",
        "fn crate_(",
        "fn super_(",
        "fn extern_(",
        "fn macro_rules(",
    ] {
        assert!(http.contains(expected), "missing `{expected}`");
    }
    // A raw prefix only ever starts an identifier.
    for (i, _) in http.match_indices("r#") {
        let before = http[..i].chars().next_back().unwrap_or(' ');
        assert!(
            !(before.is_alphanumeric() || before == '_'),
            "r# inside an identifier at byte {i}: {}",
            &http[i.saturating_sub(30)..i + 10]
        );
    }
}

/// Names made only of underscores have no Rust name: through protoc and buf, the Rust
/// generators answer with an error naming the file and the first such element (exit status 0,
/// protoc and buf report it and fail), and the OpenAPI generator documents the API.
#[test]
fn names_made_only_of_underscores_are_refused_by_the_rust_generators() {
    const UNDERSCORES: &str = "underscores/v1/underscores.proto";
    let expected = format!(
        "{UNDERSCORES}: message underscores.v1._: a name made only of underscores has no Rust name"
    );
    let bin = plugin_dir(&PLUGINS);
    for plugin in PLUGINS {
        let out = tempfile::tempdir().unwrap();
        let short = plugin.trim_start_matches("protoc-gen-");
        let output = Command::new("protoc")
            .current_dir(workspace().join("testdata/keywords"))
            .arg("-I.")
            .arg(format!("-I{}", workspace().join("proto").display()))
            .arg(format!("--plugin={plugin}={}", bin.join(plugin).display()))
            .arg(format!("--{short}_out={}", out.path().display()))
            .arg(UNDERSCORES)
            .output()
            .expect("run protoc");
        let stderr = String::from_utf8_lossy(&output.stderr);
        if plugin == "protoc-gen-openapi" {
            assert!(output.status.success(), "{plugin}: {stderr}");
            let document = std::fs::read_to_string(out.path().join("openapi.json")).unwrap();
            assert!(document.contains("\"/v1/underscores/"), "{document}");
        } else {
            assert!(!output.status.success(), "{plugin}");
            assert!(stderr.contains(&expected), "{plugin}: {stderr}");
            assert!(!stderr.contains("panicked"), "{plugin}: {stderr}");
        }
    }

    let work = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(
        workspace().join("testdata/keywords"),
        work.path().join("keywords"),
    )
    .unwrap();
    std::os::unix::fs::symlink(workspace().join("proto"), work.path().join("kratos")).unwrap();
    std::fs::write(
        work.path().join("buf.yaml"),
        "version: v2\nmodules:\n  - path: keywords\n  - path: kratos\n",
    )
    .unwrap();
    std::fs::write(
        work.path().join("buf.gen.yaml"),
        "version: v2\nplugins:\n  - local: protoc-gen-rust-kratos-http\n    out: gen\n",
    )
    .unwrap();
    let output = Command::new(tool("buf"))
        .current_dir(work.path())
        .env("PATH", path_with(&bin))
        .args([
            "generate",
            "keywords",
            "--path",
            &format!("keywords/{UNDERSCORES}"),
        ])
        .output()
        .expect("run buf");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains(&expected), "{stderr}");
}
