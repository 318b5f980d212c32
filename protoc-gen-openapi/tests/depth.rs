//! The `depth` parameter and deep or recursive messages: the parameter is bounded with an error
//! naming it, its value and the range; flattening query parameters and collecting schemas use
//! no call stack proportional to the input (a chain of thousands of message types is fine on a
//! small stack); a recursive message at the largest depth gives a bounded document.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use kratos_codegen::testing;
use prost::Message as _;
use serde_json::Value;

/// Writes `source` as `deep.proto` in `dir`.
fn write_proto(dir: &Path, source: &str) {
    std::fs::write(dir.join("deep.proto"), source).unwrap();
}

/// A recursive tree: three singular self-references (flattened), a repeated and a map one
/// (never flattened), scalars and a wrapper.
const TREE: &str = r#"
syntax = "proto3";
package deep.v1;
import "google/api/annotations.proto";
import "google/protobuf/wrappers.proto";

service Trees {
  rpc Find(FindRequest) returns (Node) {
    option (google.api.http) = {get: "/v1/trees"};
  }
}

message FindRequest {
  Node root = 1;
  string query = 2;
}

message Node {
  string name = 1;
  Node left = 2;
  Node right = 3;
  repeated Node children = 4;
  map<string, Node> index = 5;
  int64 weight = 6;
  Node parent = 7;
  google.protobuf.StringValue label = 8;
}
"#;

fn query_names(doc: &Value, path: &str) -> Vec<String> {
    doc["paths"][path]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn depth_outside_its_range_is_an_error_naming_it_value_and_range() {
    let dir = tempfile::tempdir().unwrap();
    write_proto(dir.path(), TREE);
    for bad in [
        "-1",
        "101",
        "3000",
        "10000",
        "99999999999999999999",
        "2.5",
        "",
    ] {
        let parameter = format!("depth={bad}");
        let request = testing::request(&[dir.path().to_path_buf()], &["deep.proto"], &parameter);
        let err = protoc_gen_openapi::generate(&request)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("'depth'")
                && err.contains(&format!("'{bad}'"))
                && err.contains("0 to 100"),
            "{parameter}: {err}"
        );
    }
    for good in ["0", "1", "2", "100"] {
        let parameter = format!("depth={good}");
        let request = testing::request(&[dir.path().to_path_buf()], &["deep.proto"], &parameter);
        assert!(
            protoc_gen_openapi::generate(&request).is_ok(),
            "{parameter}"
        );
    }
    assert_eq!(protoc_gen_openapi::MAX_DEPTH, 100);
}

/// The `CodeGeneratorResponse` fields the test reads.
#[derive(Clone, PartialEq, prost::Message)]
struct Response {
    #[prost(string, optional, tag = "1")]
    error: Option<String>,
    #[prost(message, repeated, tag = "15")]
    file: Vec<ResponseFile>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct ResponseFile {
    #[prost(string, optional, tag = "1")]
    name: Option<String>,
}

/// The binary's reply to a request (it must exit normally, whatever the request).
fn run_binary(request: &kratos_codegen::PluginRequest) -> Response {
    let mut child = Command::new(env!("CARGO_BIN_EXE_protoc-gen-openapi"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&request.encode())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "the plugin exited with {}",
        output.status
    );
    Response::decode(output.stdout.as_slice()).unwrap()
}

#[test]
fn the_binary_answers_a_bad_depth_with_an_error_reply() {
    let dir = tempfile::tempdir().unwrap();
    write_proto(dir.path(), TREE);
    let request = testing::request(&[dir.path().to_path_buf()], &["deep.proto"], "depth=10000");
    let response = run_binary(&request);
    let error = response.error.expect("an error reply");
    assert!(
        error.contains("'depth'") && error.contains("'10000'") && error.contains("0 to 100"),
        "{error}"
    );
    assert!(response.file.is_empty());
}

#[test]
fn depth_counts_each_field_across_the_whole_flattening_as_gnostic() {
    let dir = tempfile::tempdir().unwrap();
    write_proto(dir.path(), TREE);
    let doc = common::run_json(dir.path(), &["deep.proto"], "depth=1");
    // Each field of Node is taken once in all: the first path that reaches it keeps it
    // (`children` and `index` are counted too, though never parameters).
    assert_eq!(
        query_names(&doc, "/v1/trees"),
        [
            "root.name",
            "root.left.right.weight",
            "root.left.right.parent.label",
            "query"
        ]
    );
    let doc = common::run_json(dir.path(), &["deep.proto"], "depth=0");
    assert_eq!(query_names(&doc, "/v1/trees"), ["query"]);
    let doc = common::run_json(dir.path(), &["deep.proto"], "");
    let names = query_names(&doc, "/v1/trees");
    assert_eq!(names[..2], ["root.name", "root.left.name"]);
    // Every field of Node at most twice (the default depth).
    for field in ["name", "weight", "label"] {
        let n = names
            .iter()
            .filter(|n| n.ends_with(&format!(".{field}")))
            .count();
        assert!(n <= 2, "{field}: {n} in {names:?}");
    }
}

#[test]
fn a_recursive_message_at_the_largest_depth_gives_a_bounded_document() {
    let dir = tempfile::tempdir().unwrap();
    write_proto(dir.path(), TREE);
    let parameter = format!("depth={}", protoc_gen_openapi::MAX_DEPTH);
    let out = common::run(dir.path(), &["deep.proto"], &parameter);
    let text = &out[0].1;
    let doc: Value = serde_json::from_str(text).unwrap();
    let names = query_names(&doc, "/v1/trees");
    let depth = usize::try_from(protoc_gen_openapi::MAX_DEPTH).unwrap();
    // Three scalar-like fields of Node, each taken at most `depth` times, and `query`.
    assert!(names.len() <= 3 * depth + 1, "{} parameters", names.len());
    assert!(names.len() > depth, "{} parameters", names.len());
    // A name follows each of the three flattened self-references at most `depth` times.
    let longest = names.iter().map(|n| n.split('.').count()).max().unwrap();
    assert!(longest <= 3 * depth + 2, "{longest} segments");
    assert!(text.len() < 4 << 20, "{} bytes", text.len());
    eprintln!(
        "depth {depth}: {} parameters, longest {longest} segments, {} bytes",
        names.len(),
        text.len()
    );
}

/// `count` message types, each holding the next; every 1000th also a scalar, the last a
/// string. Used as a query (flattened) and as a body (schemas).
fn chain(count: usize) -> String {
    let mut source = String::from(
        r#"syntax = "proto3";
package chain.v1;
import "google/api/annotations.proto";

service Chains {
  rpc Get(Req) returns (M0) {
    option (google.api.http) = {get: "/v1/chain"};
  }
  rpc Put(M0) returns (M0) {
    option (google.api.http) = {put: "/v1/chain" body: "*"};
  }
}

message Req {
  M0 head = 1;
}
"#,
    );
    for i in 0..count {
        if i + 1 == count {
            source.push_str(&format!("message M{i} {{ string leaf = 1; }}\n"));
        } else if i % 1000 == 0 {
            source.push_str(&format!(
                "message M{i} {{ M{} next = 1; int32 n = 2; }}\n",
                i + 1
            ));
        } else {
            source.push_str(&format!("message M{i} {{ M{} next = 1; }}\n", i + 1));
        }
    }
    source
}

#[test]
fn a_chain_of_5000_message_types_needs_no_deep_stack() {
    const COUNT: usize = 5000;
    let dir = tempfile::tempdir().unwrap();
    write_proto(dir.path(), &chain(COUNT));
    let request = testing::request(&[dir.path().to_path_buf()], &["deep.proto"], "");
    // Generation on a 256 KiB stack: a call per message of the chain would overflow it.
    let doc = std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(move || {
            let output = protoc_gen_openapi::generate(&request).unwrap();
            serde_json::from_str::<Value>(&output.files[0].content).unwrap()
        })
        .unwrap()
        .join()
        .unwrap();
    // Depth first, in field order: the leaf at the end of the chain, then each `n` from the
    // deepest up. (Compared by segment counts: the names are long.)
    let names = query_names(&doc, "/v1/chain");
    let shape: Vec<(usize, &str)> = names
        .iter()
        .map(|n| (n.split('.').count(), n.rsplit('.').next().unwrap()))
        .collect();
    let mut expected = vec![(COUNT + 1, "leaf")];
    expected.extend((0..COUNT).step_by(1000).rev().map(|i| (i + 2, "n")));
    assert_eq!(shape, expected);
    for n in &names {
        let segments: Vec<&str> = n.split('.').collect();
        assert_eq!(segments[0], "head");
        assert!(segments[1..segments.len() - 1].iter().all(|s| *s == "next"));
    }
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    // The chain, and `Status` and `GoogleProtobufAny` for the default responses.
    assert_eq!(schemas.len(), COUNT + 2);
    assert_eq!(
        schemas["M4998"]["properties"]["next"]["allOf"][0]["$ref"],
        "#/components/schemas/M4999"
    );
    // The binary (protoc's way in) answers too.
    let request = testing::request(&[dir.path().to_path_buf()], &["deep.proto"], "depth=100");
    let response = run_binary(&request);
    assert_eq!(response.error, None);
    assert_eq!(response.file[0].name.as_deref(), Some("openapi.json"));
}
