//! Golden files of the generated code, and the plugin's errors. `UPDATE_GOLDEN=1` rewrites the
//! goldens.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use kratos_codegen::testing::{assert_golden, request, workspace_dir};
use protoc_gen_rust_kratos_http::{PLUGIN, generate};

#[test]
fn generated_code_matches_the_goldens() {
    for case in common::CASES {
        let req = request(&[case.include_dir()], case.files, case.parameter);
        let output = generate(&req).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert!(!output.files.is_empty(), "{}: no output", case.name);
        for file in &output.files {
            assert!(file.content.starts_with("// @generated\n"), "{}", file.name);
            assert_golden(&case.expected_dir().join(&file.name), &file.content);
        }
    }
}

#[test]
fn bindings_warn_where_kratos_warns() {
    let case = &common::CASES[1];
    let req = request(&[case.include_dir()], case.files, case.parameter);
    let output = generate(&req).unwrap();
    // `Ping` has no rule; with omitempty=false it gets POST /api/<pkg.Service>/Ping without a
    // body, which Kratos warns about.
    assert!(
        output.warnings.iter().any(|w| w.contains(
            "method kratos.test.v1.Bindings.Ping: POST /api/kratos.test.v1.Bindings/Ping does not declare a body"
        )),
        "{:?}",
        output.warnings
    );
    // A client-streaming method is served over gRPC only: its rule is ignored, with a warning.
    assert!(
        output.warnings.iter().any(|w| w.contains(
            "method kratos.test.v1.Bindings.ShelveBooks: client and bidirectional streaming \
             methods get no HTTP route (they are served over gRPC); the rule is ignored"
        )),
        "{:?}",
        output.warnings
    );
}

fn error_of(file: &str, parameter: &str) -> String {
    let req = request(
        &[workspace_dir().join("testdata/http/errors")],
        &[file],
        parameter,
    );
    let (response, _) = kratos_codegen::execute_request(&PLUGIN, &req);
    assert!(response.file.is_empty(), "no partial output on error");
    response.error.expect("an error")
}

#[test]
fn a_template_naming_a_missing_field_is_an_error_naming_file_method_template_and_field() {
    assert_eq!(
        error_of("missing_field.proto", ""),
        "missing_field.proto: method errors.v1.Users.GetUser: path template \
         '/v1/users/{user_id}/{missing.id}' names field 'missing.id': message \
         errors.v1.GetUserRequest has no field 'missing'"
    );
}

#[test]
fn body_and_response_body_fields_must_exist() {
    assert_eq!(
        error_of("bad_body.proto", ""),
        "bad_body.proto: method errors.v1.Users.CreateUser: body 'usr' names a field that \
         message errors.v1.CreateUserRequest does not have"
    );
    assert_eq!(
        error_of("bad_response_body.proto", ""),
        "bad_response_body.proto: method errors.v1.Users.GetUser: response_body 'nme' names a \
         field that message errors.v1.User does not have"
    );
}

#[test]
fn an_invalid_template_is_an_error() {
    assert_eq!(
        error_of("bad_template.proto", ""),
        "bad_template.proto: method errors.v1.Users.ListUsers: invalid path template \
         '/v1/users/**/tail': '**' must be the last segment"
    );
}

#[test]
fn unknown_parameters_and_bad_values_are_errors() {
    let err = error_of("bad_template.proto", "omitempty=false,colour=blue");
    assert!(
        err.starts_with("invalid plugin parameter 'colour': unknown parameter"),
        "{err}"
    );
    let err = error_of("bad_template.proto", "omitempty=perhaps");
    assert_eq!(
        err,
        "invalid plugin parameter 'omitempty': expected true or false, got 'perhaps'"
    );
}

#[test]
fn a_request_that_does_not_decode_is_an_error_not_a_panic() {
    let (response, _) = kratos_codegen::execute(&PLUGIN, b"\xff\xff\xff garbage");
    assert!(
        response
            .error
            .unwrap()
            .starts_with("cannot decode the CodeGeneratorRequest")
    );
}
