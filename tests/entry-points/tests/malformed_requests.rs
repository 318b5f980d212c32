//! Malformed `CodeGeneratorRequest`s fed to each plugin binary as raw bytes: every plugin
//! exits with status 0 and writes a `CodeGeneratorResponse` whose `error` names the file and
//! the reason, never a panic (issue 19: prost-reflect panicked while describing some invalid
//! descriptors, outside the plugins' panic guard).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{PLUGINS, plugin_dir, workspace};
use prost::Message;
use prost_types::compiler::{CodeGeneratorRequest, CodeGeneratorResponse};
use prost_types::source_code_info::Location;
use prost_types::{FileDescriptorProto, FileDescriptorSet, SourceCodeInfo};

const TARGET: &str = "helloworld/v1/greeter.proto";

/// The greeter fixture as protoc sends it to a plugin: the file and its imports, with source
/// info.
fn greeter_request() -> CodeGeneratorRequest {
    let out = tempfile::tempdir().unwrap();
    let set = out.path().join("set.pb");
    let status = Command::new("protoc")
        .current_dir(workspace().join("testdata/http/greeter"))
        .arg("-I.")
        .arg(format!("-I{}", workspace().join("proto").display()))
        .arg("--include_imports")
        .arg("--include_source_info")
        .arg(format!("--descriptor_set_out={}", set.display()))
        .arg(TARGET)
        .status()
        .expect("run protoc");
    assert!(status.success());
    let set = FileDescriptorSet::decode(std::fs::read(set).unwrap().as_slice()).unwrap();
    CodeGeneratorRequest {
        file_to_generate: vec![TARGET.into()],
        parameter: None,
        proto_file: set.file,
        compiler_version: None,
    }
}

/// The request with the target file changed by `edit`.
fn with_target(edit: impl FnOnce(&mut FileDescriptorProto)) -> Vec<u8> {
    let mut request = greeter_request();
    let file = request
        .proto_file
        .iter_mut()
        .find(|f| f.name() == TARGET)
        .unwrap();
    edit(file);
    request.encode_to_vec()
}

fn bad_span(span: Vec<i32>) -> impl FnOnce(&mut FileDescriptorProto) {
    move |file| {
        file.source_code_info
            .get_or_insert_with(SourceCodeInfo::default)
            .location
            .push(Location {
                path: vec![4, 0],
                span,
                ..Default::default()
            });
    }
}

/// The malformed requests: a name, the bytes, and a word the error must contain besides the
/// file name.
fn cases() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let valid = greeter_request().encode_to_vec();
    // Cut inside the last file's descriptor: the target file comes last (dependencies first).
    let truncated = valid[..valid.len() - 40].to_vec();
    vec![
        ("truncated", truncated, "decode"),
        (
            "editions syntax",
            with_target(|f| f.syntax = Some("editions".into())),
            "editions",
        ),
        (
            "unknown syntax",
            with_target(|f| f.syntax = Some("proto4".into())),
            "proto4",
        ),
        ("empty span", with_target(bad_span(vec![])), "span"),
        (
            "two-element span",
            with_target(bad_span(vec![3, 1])),
            "span",
        ),
        (
            "negative span",
            with_target(bad_span(vec![-1, 0, 4])),
            "span",
        ),
        (
            "span ending before it starts",
            with_target(bad_span(vec![9, 0, 2, 4])),
            "span",
        ),
        (
            "dangling type name",
            with_target(|f| {
                f.service[0].method[0].input_type = Some(".helloworld.v1.Missing".into());
            }),
            "Missing",
        ),
        (
            "dangling type name with bad spans",
            with_target(|f| {
                f.message_type[0].field[0].type_name = Some(".nope.Nothing".into());
                f.message_type[0].field[0].r#type =
                    Some(prost_types::field_descriptor_proto::Type::Message as i32);
                for location in &mut f.source_code_info.as_mut().unwrap().location {
                    location.span = vec![i32::MAX, -5];
                }
            }),
            "span",
        ),
        (
            "duplicate message names",
            with_target(|f| {
                let m = f.message_type[0].clone();
                f.message_type.push(m);
            }),
            "twice",
        ),
        (
            "duplicate field names",
            with_target(|f| {
                let mut field = f.message_type[0].field[0].clone();
                field.number = Some(99);
                f.message_type[0].field.push(field);
            }),
            "conflicts",
        ),
        (
            "file to generate missing",
            {
                let mut request = greeter_request();
                request.proto_file.retain(|f| f.name() != TARGET);
                request.encode_to_vec()
            },
            "not present",
        ),
    ]
}

fn run(bin: &std::path::Path, input: &[u8]) -> (std::process::ExitStatus, Vec<u8>, String) {
    let mut child = Command::new(bin)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let output = child.wait_with_output().unwrap();
    (
        output.status,
        output.stdout,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn every_plugin_answers_malformed_requests_with_an_error_naming_the_file() {
    let dir = plugin_dir(&PLUGINS);
    let cases = cases();
    for plugin in PLUGINS {
        for (name, bytes, word) in &cases {
            let (status, stdout, stderr) = run(&dir.join(plugin), bytes);
            assert_eq!(
                status.code(),
                Some(0),
                "{plugin}, {name}: exit status {status}\n{stderr}"
            );
            assert!(
                !stderr.contains("panicked"),
                "{plugin}, {name}: panicked\n{stderr}"
            );
            let response = CodeGeneratorResponse::decode(stdout.as_slice())
                .unwrap_or_else(|e| panic!("{plugin}, {name}: no response ({e})\n{stderr}"));
            let error = response
                .error
                .unwrap_or_else(|| panic!("{plugin}, {name}: no error in the response"));
            assert!(
                response.file.is_empty(),
                "{plugin}, {name}: files with an error"
            );
            assert!(
                error.starts_with(&format!("{TARGET}: ")),
                "{plugin}, {name}: the error does not name the file: {error}"
            );
            assert!(
                error.contains(word),
                "{plugin}, {name}: the error does not say why ({word}): {error}"
            );
            assert!(
                !error.contains("internal error"),
                "{plugin}, {name}: {error}"
            );
        }
    }
}

#[test]
fn undecodable_bytes_are_an_error_reply_too() {
    let dir = plugin_dir(&PLUGINS);
    for plugin in PLUGINS {
        for bytes in [&b"\xff\xff\xff garbage"[..], b"\x7a\x05ab"] {
            let (status, stdout, stderr) = run(&dir.join(plugin), bytes);
            assert_eq!(status.code(), Some(0), "{plugin}: {status}\n{stderr}");
            let response = CodeGeneratorResponse::decode(stdout.as_slice()).unwrap();
            let error = response.error.unwrap();
            assert!(error.contains("decode"), "{plugin}: {error}");
        }
    }
}

#[test]
fn valid_spans_still_generate() {
    // The unmutated request: the checks above refuse only what is invalid.
    let dir = plugin_dir(&PLUGINS);
    let bytes = greeter_request().encode_to_vec();
    for plugin in PLUGINS {
        let (status, stdout, stderr) = run(&dir.join(plugin), &bytes);
        assert_eq!(status.code(), Some(0), "{plugin}: {status}\n{stderr}");
        let response = CodeGeneratorResponse::decode(stdout.as_slice()).unwrap();
        assert_eq!(response.error, None, "{plugin}");
    }
}
