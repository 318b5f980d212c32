//! Parity with gnostic's protoc-gen-openapi v0.7.1: every golden of its examples
//! (testdata/gnostic, 12 fixtures, 52 goldens) equals our document as data once the documented
//! divergences are undone (`common::to_gnostic`: `nullable` on fields written as `null`, the
//! `format` and `pattern` of 64-bit integers; and the numbered operationId of an additional
//! binding), and every document we produce, as produced, is valid OpenAPI
//! (openapi-spec-validator).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

/// Golden file → plugin parameters (gnostic's plugin_test.go).
const FLAG_SETS: &[(&str, &str)] = &[
    ("openapi.yaml", "naming=proto"),
    ("openapi_json.yaml", "version=1.2.3"),
    ("openapi_string_enum.yaml", "enum_type=string"),
    ("openapi_default_response.yaml", ""),
    ("openapi_fq_schema_naming.yaml", "fq_schema_naming=1"),
];

/// The fixtures: proto file, relative to testdata/gnostic.
const FIXTURES: &[&str] = &[
    "google/example/library/v1/library.proto",
    "tests/additional_bindings/message.proto",
    "tests/allofwrap/message.proto",
    "tests/bodymapping/message.proto",
    "tests/enumoptions/message.proto",
    "tests/jsonoptions/message.proto",
    "tests/mapfields/message.proto",
    "tests/noannotations/message.proto",
    "tests/openapiv3annotations/message.proto",
    "tests/pathparams/message.proto",
    "tests/protobuftypes/message.proto",
    "tests/rpctypes/message.proto",
];

fn gnostic_dir() -> PathBuf {
    common::workspace().join("testdata/gnostic")
}

/// Every golden with its fixture and flags.
fn goldens() -> Vec<(&'static str, PathBuf, &'static str)> {
    let root = gnostic_dir();
    let mut out = Vec::new();
    for proto in FIXTURES {
        let dir = root.join(proto).parent().unwrap().to_path_buf();
        for (golden, flags) in FLAG_SETS {
            let path = dir.join(golden);
            if path.exists() {
                out.push((*proto, path, *flags));
            }
        }
    }
    out
}

/// gnostic repeats `Messaging_UpdateMessage` on the additional binding; we number it. Asserts
/// exactly that difference and undoes it.
fn normalise_additional_binding(doc: &mut Value) {
    let main = &doc["paths"]["/v1/messages/{message_id}"]["patch"]["operationId"];
    assert_eq!(main, &json!("Messaging_UpdateMessage"));
    let extra = &mut doc["paths"]["/v1/messages"]["patch"]["operationId"];
    assert_eq!(extra, &json!("Messaging_UpdateMessage_1"));
    *extra = json!("Messaging_UpdateMessage");
}

/// gnostic writes `POST /v1/messages/{messageId}` and `PATCH /v1/messages/{message_id}` (the
/// second message's field has another JSON name) as two paths, which OpenAPI 3 forbids; we
/// write one path item, the later operation's parameter renamed. Asserts exactly that
/// difference (when the golden has it) and undoes it.
fn normalise_merged_path(doc: &mut Value, golden: &Value) {
    const KEPT: &str = "/v1/messages/{messageId}";
    const SPLIT: &str = "/v1/messages/{message_id}";
    if golden["paths"].get(KEPT).is_none() || golden["paths"].get(SPLIT).is_none() {
        return;
    }
    let paths = doc["paths"].as_object_mut().unwrap();
    assert!(paths.get(SPLIT).is_none());
    let item = paths[KEPT].as_object_mut().unwrap();
    assert_eq!(item.keys().collect::<Vec<_>>(), ["post", "patch"]);
    let mut patch = item.shift_remove("patch").unwrap();
    assert_eq!(patch["parameters"][0]["name"], json!("messageId"));
    patch["parameters"][0]["name"] = json!("message_id");
    paths.insert(SPLIT.to_string(), json!({ "patch": patch }));
}

#[test]
fn all_52_goldens_match_and_every_document_is_valid() {
    let goldens = goldens();
    assert_eq!(goldens.len(), 52, "testdata/gnostic should hold 52 goldens");
    let out_dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    let mut written = Vec::new();
    let mut undone = common::Undone::default();
    for (i, (proto, golden, flags)) in goldens.iter().enumerate() {
        let mut ours = common::run_json(&gnostic_dir(), &[proto], flags);
        let file = out_dir.path().join(format!("{i:02}.json"));
        std::fs::write(&file, serde_json::to_string_pretty(&ours).unwrap()).unwrap();
        written.push(file);
        let u = common::to_gnostic(&mut ours);
        undone.nullable += u.nullable;
        undone.int64 += u.int64;
        undone.bytes += u.bytes;
        undone.allow_empty += u.allow_empty;
        if proto.contains("additional_bindings") {
            normalise_additional_binding(&mut ours);
        }
        let expected = common::read_yaml(golden);
        normalise_merged_path(&mut ours, &expected);
        let diff = common::diff(&expected, &ours, 8);
        if !diff.is_empty() {
            failures.push(format!(
                "{} ('{flags}'):\n  {}",
                golden
                    .strip_prefix(gnostic_dir())
                    .unwrap_or(golden)
                    .display(),
                diff.join("\n  ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of 52 goldens differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // The divergences are there to undo (counted over the 52 documents).
    assert!(undone.nullable > 50, "{undone:?}");
    assert!(undone.int64 > 20, "{undone:?}");
    assert!(undone.bytes > 5, "{undone:?}");
    assert!(undone.allow_empty > 50, "{undone:?}");
    common::validate_all(&written);
}

#[test]
fn golden_documents_other_than_additional_bindings_are_valid_themselves() {
    // The oracle's own output is valid except for the duplicate operationId: this pins that
    // the validator we run is the one that rejects it.
    let dir = tempfile::tempdir().unwrap();
    let mut valid = Vec::new();
    for (proto, golden, _) in goldens() {
        if !proto.contains("additional_bindings") {
            valid.push(golden);
        }
    }
    assert_eq!(valid.len(), 51);
    common::validate_all(&valid);
    let bad = gnostic_dir().join("tests/additional_bindings/openapi.yaml");
    let copy = dir.path().join("dup.yaml");
    std::fs::copy(&bad, &copy).unwrap();
    let result = std::panic::catch_unwind(|| common::validate_all(std::slice::from_ref(&copy)));
    let message = match result {
        Ok(()) => panic!("gnostic's additional_bindings golden should be rejected"),
        Err(e) => e.downcast_ref::<String>().cloned().unwrap_or_default(),
    };
    assert!(message.contains("INVALID"), "{message}");
}

/// Kratos runs `fq_schema_naming=true,default_response=false`: the fq golden without default
/// responses and without the schemas only they referred to.
#[test]
fn kratos_flags_compose_fq_naming_and_no_default_response() {
    let mut checked = 0;
    let out_dir = tempfile::tempdir().unwrap();
    let mut written = Vec::new();
    for (proto, golden, flags) in goldens() {
        if flags != "fq_schema_naming=1" {
            continue;
        }
        let mut ours = common::run_json(
            &gnostic_dir(),
            &[proto],
            "fq_schema_naming=true,default_response=false",
        );
        let file = out_dir.path().join(format!("{checked}.json"));
        std::fs::write(&file, serde_json::to_string(&ours).unwrap()).unwrap();
        written.push(file);
        common::to_gnostic(&mut ours);
        let mut expected = common::read_yaml(&golden);
        for item in expected["paths"].as_object_mut().unwrap().values_mut() {
            for op in item.as_object_mut().unwrap().values_mut() {
                if let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) {
                    assert!(responses.shift_remove("default").is_some());
                }
            }
        }
        prune_unreferenced_schemas(&mut expected);
        normalise_merged_path(&mut ours, &expected);
        let diff = common::diff(&expected, &ours, 8);
        assert!(diff.is_empty(), "{proto}:\n  {}", diff.join("\n  "));
        assert!(
            !serde_json::to_string(&ours)
                .unwrap()
                .contains("\"default\"")
        );
        checked += 1;
    }
    assert_eq!(checked, 10);
    common::validate_all(&written);
}

fn prune_unreferenced_schemas(doc: &mut Value) {
    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r.trim_start_matches("#/components/schemas/").to_string());
                }
                m.values().for_each(|v| refs(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut reachable = std::collections::BTreeSet::new();
    let mut queue = Vec::new();
    refs(&doc["paths"], &mut queue);
    while let Some(name) = queue.pop() {
        if reachable.insert(name.clone()) {
            refs(&doc["components"]["schemas"][&name], &mut queue);
        }
    }
    let schemas = doc["components"]["schemas"].as_object_mut().unwrap();
    schemas.retain(|k, _| reachable.contains(k));
    if schemas.is_empty() {
        doc.as_object_mut().unwrap().shift_remove("components");
    }
}

#[test]
fn yaml_format_is_the_same_document() {
    let dir = gnostic_dir();
    let proto = "google/example/library/v1/library.proto";
    let json_doc = common::run_json(&dir, &[proto], "");
    let out = common::run(&dir, &[proto], "format=yaml");
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, "openapi.yaml");
    let mut yaml_doc: Value = yaml_serde::from_str(&out[0].1).unwrap();
    assert_eq!(yaml_doc, json_doc);
    common::to_gnostic(&mut yaml_doc);
    // And the YAML output matches gnostic's golden directly.
    let golden =
        common::read_yaml(&dir.join("google/example/library/v1/openapi_default_response.yaml"));
    assert_eq!(common::diff(&golden, &yaml_doc, 5), Vec::<String>::new());
}

#[test]
fn source_relative_writes_one_document_per_file() {
    let dir = gnostic_dir();
    let files = [
        "tests/pathparams/message.proto",
        "tests/rpctypes/message.proto",
    ];
    let out = common::run(
        &dir,
        &files,
        "fq_schema_naming=1,output_mode=source_relative",
    );
    let names: Vec<&str> = out.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "tests/pathparams/message.openapi.json",
            "tests/rpctypes/message.openapi.json"
        ]
    );
    for ((_, content), proto) in out.iter().zip(files) {
        let mut doc: Value = serde_json::from_str(content).unwrap();
        common::to_gnostic(&mut doc);
        let golden = Path::new(proto)
            .parent()
            .unwrap()
            .join("openapi_fq_schema_naming.yaml");
        let expected = common::read_yaml(&dir.join(golden));
        assert_eq!(
            common::diff(&expected, &doc, 5),
            Vec::<String>::new(),
            "{proto}"
        );
    }
    // Merged, the two files give one document with both services.
    let merged = common::run_json(&dir, &files, "fq_schema_naming=1");
    let tags: Vec<&str> = merged["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(tags, ["Messaging", "Status"]);
    assert_eq!(merged["info"]["title"], json!(""));
}

#[test]
fn json_output_is_deterministic_and_ordered_like_gnostic() {
    let dir = gnostic_dir();
    let proto = "google/example/library/v1/library.proto";
    let a = common::run(&dir, &[proto], "");
    let b = common::run(&dir, &[proto], "");
    assert_eq!(a, b);
    let doc: Value = serde_json::from_str(&a[0].1).unwrap();
    let keys: Vec<&String> = doc.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["openapi", "info", "servers", "paths", "components", "tags"]
    );
    let paths: Vec<&String> = doc["paths"].as_object().unwrap().keys().collect();
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted);
    let book: Vec<&String> = doc["components"]["schemas"]["Book"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(book, ["required", "type", "properties", "description"]);
}

#[test]
fn bad_parameters_are_reported_by_name() {
    let dir = gnostic_dir();
    let request = kratos_codegen::testing::request(
        std::slice::from_ref(&dir),
        &["tests/pathparams/message.proto"],
        "naming=camel",
    );
    let err = protoc_gen_openapi::generate(&request)
        .unwrap_err()
        .to_string();
    assert!(err.contains("'naming'") && err.contains("camel"), "{err}");
    for (param, needle) in [
        ("depth=two", "'depth'"),
        ("bogus=1", "'bogus'"),
        ("format=xml", "'format'"),
    ] {
        let request = kratos_codegen::testing::request(
            std::slice::from_ref(&dir),
            &["tests/pathparams/message.proto"],
            param,
        );
        let err = protoc_gen_openapi::generate(&request)
            .unwrap_err()
            .to_string();
        assert!(err.contains(needle), "{param}: {err}");
    }
}

#[test]
fn the_comparison_sees_differences() {
    // Guards the comparison itself: the proto-naming golden is not the json-naming document.
    let dir = gnostic_dir();
    let proto = "google/example/library/v1/library.proto";
    let mut json_naming = common::run_json(&dir, &[proto], "");
    common::to_gnostic(&mut json_naming);
    let golden = common::read_yaml(&dir.join("google/example/library/v1/openapi.yaml"));
    let diff = common::diff(&golden, &json_naming, 100);
    assert!(diff.iter().any(|d| d.contains("page_size")), "{diff:?}");
    assert!(
        diff.iter()
            .any(|d| d.starts_with("/components/schemas/Book/properties/borrow_time")),
        "{diff:?}"
    );
}
