//! Golden output, and the rule sets Go PGV refuses at generation time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use kratos_codegen::testing::{assert_golden, request, workspace_dir};

fn testdata() -> PathBuf {
    workspace_dir().join("testdata/validate")
}

#[test]
fn generates_the_golden_file() {
    let dir = testdata().join("basic");
    let req = request(std::slice::from_ref(&dir), &["example.proto"], "");
    let out = protoc_gen_rust_kratos_validate::generate(&req).unwrap();
    assert_eq!(out.files.len(), 1);
    let file = &out.files[0];
    assert_eq!(file.name, "example.v1.kratos_validate.rs");
    assert!(
        file.content
            .contains("impl ::kratos::validate::Validate for CreateUserRequest")
    );
    assert!(
        file.content
            .contains("impl ::kratos::validate::Validate for Disabled")
    );
    assert!(
        !file.content.contains("for Ignored"),
        "ignored messages get no validator"
    );
    assert!(
        file.content
            .contains("\"invalid CreateUserRequest.Age: value must be inside range [18, 150)\"")
    );
    assert_golden(&dir.join(&file.name), &file.content);
}

#[test]
fn prost_wkt_mapping_reads_wrappers_as_primitives() {
    let dir = testdata().join("basic");
    let req = request(&[dir], &["example.proto"], "wkt=prost");
    let out = protoc_gen_rust_kratos_validate::generate(&req).unwrap();
    let content = &out.files[0].content;
    assert!(
        content.contains("::prost::alloc::string::String"),
        "{content}"
    );
    assert!(content.contains("::prost_types::Duration"));
}

#[test]
fn unknown_parameters_are_refused() {
    let dir = testdata().join("basic");
    let req = request(&[dir], &["example.proto"], "nope=1");
    assert!(protoc_gen_rust_kratos_validate::generate(&req).is_err());
}

#[test]
fn contradictory_or_ill_typed_rules_are_plugin_errors() {
    let dir = testdata().join("invalid");
    let cases = [
        (
            "const_and_range.proto",
            "int32",
            "`const` can be the only rule on a field",
        ),
        (
            "in_and_not_in.proto",
            "string",
            "cannot have both `in` and `not_in`",
        ),
        (
            "equal_bounds.proto",
            "uint64",
            "use `const` instead of equal `lte` and `gte` rules",
        ),
        (
            "wrong_type.proto",
            "string",
            "expected rules for int64 but got string",
        ),
        (
            "len_and_min.proto",
            "string.len",
            "cannot have both `len` and `min_len`",
        ),
        (
            "bad_pattern.proto",
            "string.pattern",
            "unable to parse regex `pattern`",
        ),
        (
            "unique_messages.proto",
            "repeated.unique",
            "only applicable for scalar types",
        ),
        (
            "timestamp_now_and_lt.proto",
            "timestamp.lt_now",
            "cannot be mixed with absolute",
        ),
        (
            "min_over_max.proto",
            "repeated.min_items",
            "`min` value is greater than `max` value",
        ),
        (
            "prefix_too_long.proto",
            "string.prefix",
            "`prefix` length exceeds the `max_len`",
        ),
        (
            "defined_only_in.proto",
            "enum.in",
            "undefined `in` value (7)",
        ),
        (
            "message_rules_on_duration.proto",
            "message",
            "Duration rules should be used",
        ),
        (
            "scalar_rules_on_repeated.proto",
            "int32",
            "repeated rule should be used",
        ),
        (
            "within_zero.proto",
            "timestamp.within",
            "must be positive and non-zero",
        ),
        (
            "pattern_and_well_known.proto",
            "string.well_known_regex",
            "are incompatible",
        ),
    ];
    for (file, rule, reason) in cases {
        let req = request(std::slice::from_ref(&dir), &[file], "");
        let err = match protoc_gen_rust_kratos_validate::generate(&req) {
            Ok(_) => panic!("{file}: expected a generation error"),
            Err(e) => e.to_string(),
        };
        assert!(
            err.starts_with(&format!("{file}: field bad.v1.M.val: ")),
            "{file}: {err}"
        );
        assert!(err.contains(&format!("rule `{rule}`")), "{file}: {err}");
        assert!(err.contains(reason), "{file}: {err}");
    }
}
