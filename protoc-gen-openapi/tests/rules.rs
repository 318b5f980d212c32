//! Beyond gnostic: `validate.rules` and `google.api.field_behavior` as schema constraints
//! (testdata/openapi/rules), checked against a reviewed golden, by explicit assertions, and
//! with openapi-spec-validator. Also: the plugin binary end to end, and input errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use kratos_codegen::testing;
use prost::Message;
use serde_json::{Value, json};

fn dir(name: &str) -> PathBuf {
    common::workspace().join("testdata/openapi").join(name)
}

#[test]
fn rules_become_constraints() {
    let out = common::run(&dir("rules"), &["rules.proto"], "");
    testing::assert_golden(&dir("rules").join("openapi.json"), &out[0].1);
    let doc: Value = serde_json::from_str(&out[0].1).unwrap();
    let account = &doc["components"]["schemas"]["Account"];
    assert_eq!(account["required"], json!(["name", "address"]));
    let p = &account["properties"];
    assert_eq!(p["name"]["minLength"], json!(3));
    assert_eq!(p["name"]["maxLength"], json!(32));
    assert_eq!(p["name"]["pattern"], json!("^[a-z][a-z0-9_]*$"));
    for (field, format) in [
        ("id", "uuid"),
        ("email", "email"),
        ("host", "hostname"),
        ("ipv4", "ipv4"),
        ("ipv6", "ipv6"),
        ("homepage", "uri"),
        ("locale", "uri-reference"),
    ] {
        assert_eq!(p[field]["format"], json!(format), "{field}");
    }
    assert_eq!(p["code"]["minLength"], json!(6));
    assert_eq!(p["code"]["maxLength"], json!(6));
    assert_eq!(p["plan"]["enum"], json!(["free", "pro"]));
    assert_eq!(p["nick"]["not"], json!({"enum": ["root", "admin"]}));
    assert_eq!(p["kind"]["enum"], json!(["person"]));
    assert_eq!(p["ref"]["pattern"], json!("^acc-"));
    assert_eq!(
        (
            &p["age"]["minimum"],
            &p["age"]["maximum"],
            &p["age"]["exclusiveMaximum"]
        ),
        (&json!(0), &json!(150), &json!(true))
    );
    assert_eq!(p["age"].get("exclusiveMinimum"), None);
    assert_eq!(p["score"]["exclusiveMinimum"], json!(true));
    assert_eq!(p["score"]["maximum"], json!(100));
    assert_eq!(p["ratio"]["exclusiveMinimum"], json!(true));
    assert_eq!(p["ratio"]["exclusiveMaximum"], json!(true));
    assert_eq!(p["weight"]["minimum"], json!(0.5));
    assert_eq!(p["odd"]["enum"], json!([1, 3, 5]));
    // gt > lt means "outside the range": not expressible with minimum/maximum, left out.
    assert_eq!(p["outside"], json!({"type": "integer", "format": "int32"}));
    // 64-bit integers are JSON strings.
    assert_eq!(p["big"]["enum"], json!(["7", "8"]));
    assert_eq!(p["big"]["format"], json!("int64"));
    assert_eq!(p["big"].get("minimum"), None);
    assert_eq!(p["accepted"]["enum"], json!([true]));
    assert_eq!(p["role"]["enum"], json!([0, 1, 2]));
    assert_eq!(p["role"]["not"], json!({"enum": [0]}));
    assert_eq!(p["tags"]["minItems"], json!(1));
    assert_eq!(p["tags"]["maxItems"], json!(5));
    assert_eq!(p["tags"]["uniqueItems"], json!(true));
    assert_eq!(p["tags"]["items"]["minLength"], json!(2));
    assert_eq!(p["limits"]["maxProperties"], json!(3));
    assert_eq!(p["limits"]["additionalProperties"]["minimum"], json!(1));
    // A message field is written as `null` when unset: nullable, its `$ref` in an `allOf`.
    assert_eq!(
        p["address"],
        json!({"nullable": true, "allOf": [{"$ref": "#/components/schemas/Address"}]})
    );
    assert_eq!(p["motto"]["maxLength"], json!(80));
    assert_eq!(p["createdAt"]["readOnly"], json!(true));
    // ignore_empty: the empty string is valid too, so the format is not stated.
    assert_eq!(p["optionalEmail"], json!({"type": "string"}));
    let address = &doc["components"]["schemas"]["Address"]["properties"]["city"];
    assert_eq!(
        (&address["minLength"], &address["maxLength"]),
        (&json!(1), &json!(64))
    );

    // Query parameters carry the constraints too.
    let params = &doc["paths"]["/v1/accounts"]["get"]["parameters"];
    assert_eq!(params[0]["name"], json!("pageSize"));
    assert_eq!(params[0]["schema"]["minimum"], json!(1));
    assert_eq!(params[0]["schema"]["maximum"], json!(100));
    assert_eq!(params[1]["schema"]["maxLength"], json!(100));

    // The additional binding gets its own operationId.
    assert_eq!(
        doc["paths"]["/v1/accounts"]["post"]["operationId"],
        json!("Accounts_CreateAccount")
    );
    assert_eq!(
        doc["paths"]["/v1/accounts/{id}"]["put"]["operationId"],
        json!("Accounts_CreateAccount_1")
    );
}

#[test]
fn string_enums_keep_rules_as_names() {
    let doc = common::run_json(&dir("rules"), &["rules.proto"], "enum_type=string");
    let role = &doc["components"]["schemas"]["Account"]["properties"]["role"];
    assert_eq!(
        role["enum"],
        json!(["ROLE_UNSPECIFIED", "ROLE_USER", "ROLE_ADMIN"])
    );
    assert_eq!(role["not"], json!({"enum": ["ROLE_UNSPECIFIED"]}));
}

#[test]
fn every_variant_of_the_rules_fixture_is_valid() {
    let tmp = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (i, params) in [
        "",
        "enum_type=string",
        "naming=proto",
        "fq_schema_naming=true,default_response=false",
        "depth=0",
    ]
    .iter()
    .enumerate()
    {
        let doc = common::run_json(&dir("rules"), &["rules.proto"], params);
        let path = tmp.path().join(format!("rules{i}.json"));
        std::fs::write(&path, serde_json::to_string(&doc).unwrap()).unwrap();
        files.push(path);
    }
    common::validate_all(&files);
}

#[test]
fn invalid_annotation_yaml_is_an_error_naming_file_and_field() {
    let request = testing::request(&[dir("invalid")], &["bad_yaml.proto"], "");
    let err = protoc_gen_openapi::generate(&request)
        .unwrap_err()
        .to_string();
    assert!(err.contains("bad_yaml.proto"), "{err}");
    assert!(err.contains("invalid.v1.Thing.label"), "{err}");
    assert!(err.contains("YAML"), "{err}");
}

/// The `CodeGeneratorResponse` fields the test reads.
#[derive(Clone, PartialEq, Message)]
struct Response {
    #[prost(string, optional, tag = "1")]
    error: Option<String>,
    #[prost(message, repeated, tag = "15")]
    file: Vec<ResponseFile>,
}

#[derive(Clone, PartialEq, Message)]
struct ResponseFile {
    #[prost(string, optional, tag = "1")]
    name: Option<String>,
    #[prost(string, optional, tag = "15")]
    content: Option<String>,
}

#[test]
fn the_binary_answers_a_protoc_request() {
    let request = testing::request(&[dir("rules")], &["rules.proto"], "format=yaml");
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
    assert!(output.status.success());
    let response = Response::decode(output.stdout.as_slice()).unwrap();
    assert_eq!(response.error, None);
    assert_eq!(response.file.len(), 1);
    assert_eq!(response.file[0].name.as_deref(), Some("openapi.yaml"));
    let yaml: Value = yaml_serde::from_str(response.file[0].content.as_deref().unwrap()).unwrap();
    assert_eq!(yaml, common::run_json(&dir("rules"), &["rules.proto"], ""));
}
