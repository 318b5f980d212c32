#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::error::Error as StdError;
use std::fmt;

use tonic_types::StatusExt;

use super::*;

/// An error that wraps another one, like Go's `fmt.Errorf("wrap %w", err)`.
#[derive(Debug)]
struct Wrap(&'static str, Box<dyn StdError + Send + Sync>);

impl fmt::Display for Wrap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.0, self.1)
    }
}

impl StdError for Wrap {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.1)
    }
}

/// A cause with its own type, for downcasting.
#[derive(Debug, PartialEq)]
struct TestCause(u32);

impl fmt::Display for TestCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "test cause {}", self.0)
    }
}

impl StdError for TestCause {}

fn md(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn go_display_is_kratos_format() {
    // §13 case 57.
    assert_eq!(
        Error::new(400, "r", "m").go_display().to_string(),
        "error: code = 400 reason = r message = m metadata = map[] cause = <nil>"
    );
    let e = Error::not_found("USER_NOT_FOUND", "no such user")
        .with_metadata([("b", "2"), ("a", "1")])
        .with_cause(TestCause(7));
    assert_eq!(
        e.go_display().to_string(),
        "error: code = 404 reason = USER_NOT_FOUND message = no such user \
         metadata = map[a:1 b:2] cause = test cause 7"
    );
}

#[test]
fn display_reads_as_a_rust_error() {
    assert_eq!(Error::new(400, "r", "m").to_string(), "400 r: m");
    assert_eq!(Error::new(500, "", "boom").to_string(), "500: boom");
    let e = Error::not_found("USER_NOT_FOUND", "no such user")
        .with_metadata([("b", "2"), ("a", "1")])
        .with_cause(TestCause(7));
    assert_eq!(e.to_string(), "404 USER_NOT_FOUND: no such user {a=1, b=2}");
    assert_eq!(
        format!("{e:#}"),
        "404 USER_NOT_FOUND: no such user {a=1, b=2}: test cause 7"
    );
}

#[test]
fn json_body_is_kratos_shape() {
    // §13 cases 46, 47, 48.
    let e = Error::not_found("USER_NOT_FOUND", "user not found");
    assert_eq!(e.http_status(), http::StatusCode::NOT_FOUND);
    assert_eq!(
        serde_json::to_string(&e).unwrap(),
        r#"{"code":404,"reason":"USER_NOT_FOUND","message":"user not found","metadata":{}}"#
    );
    let e = Error::bad_request("xxx", "zzz").with_metadata([("foo", "bar")]);
    assert_eq!(
        serde_json::to_string(&e).unwrap(),
        r#"{"code":400,"reason":"xxx","message":"zzz","metadata":{"foo":"bar"}}"#
    );
    let plain = std::io::Error::other("boom");
    let e = Error::from_error(&plain);
    assert_eq!(
        serde_json::to_string(&e).unwrap(),
        r#"{"code":500,"reason":"","message":"boom","metadata":{}}"#
    );
    // And back, with unknown fields ignored and missing ones defaulted.
    let back: Error =
        serde_json::from_str(r#"{"code":409,"reason":"R","extra":1,"metadata":null}"#).unwrap();
    assert_eq!(back, Error::conflict("R", ""));
    // §13 case 50: a 5xx code without a name is still its own status.
    assert_eq!(Error::new(511, "", "").http_status().as_u16(), 511);
}

#[test]
fn code_and_reason_helpers() {
    // §13 case 52 (Rust has no nil error: Code(nil) = 200 is the caller's Ok).
    let plain = std::io::Error::other("test");
    assert_eq!(code(&plain), 500);
    assert_eq!(reason(&plain), "");
    assert_eq!(code(&Error::new(10001, "R", "m")), 10001);
    assert_eq!(reason(&Error::new(10001, "R", "m")), "R");
    let wrapped = Wrap("ctx", Box::new(Error::forbidden("NO", "no")));
    assert_eq!(code(&wrapped), 403);
    assert_eq!(reason(&wrapped), "NO");
    let status = Error::conflict("TAKEN", "taken").to_status();
    assert_eq!(code(&status), 409);
    assert_eq!(reason(&status), "TAKEN");
}

#[test]
fn is_compares_code_and_reason_only() {
    // §13 case 53.
    let e = Error::new(404, "test", "");
    assert!(e.is(&Error::new(404, "test", "other")));
    assert!(!e.is(&Error::new(400, "test", "")));
    assert!(!e.is(&Error::new(404, "other", "")));
    let target = Error::new(400, "reason", "message");
    let wrapped = Wrap("wrap", Box::new(Error::new(400, "reason", "other message")));
    assert!(target.matches(&wrapped));
    assert!(!Error::default().matches(&wrapped));
    assert!(!Error::new(401, "reason", "").matches(&wrapped));
    // An error of unknown cause is (500, ""), so only that kind matches it.
    let plain = std::io::Error::other("x");
    assert!(Error::new(500, "", "").matches(&plain));
    assert!(!Error::default().matches(&plain));
}

#[test]
fn with_cause_keeps_the_original_unchanged() {
    // §13 case 54.
    let original = Error::bad_request("foo", "bar");
    let err = original.clone().with_cause(TestCause(3));
    assert!(original.cause().is_none());
    assert!(original.source().is_none());
    let source = err.source().expect("a source");
    assert_eq!(source.downcast_ref::<TestCause>(), Some(&TestCause(3)));
    assert_eq!(
        err.cause().map(|c| c.to_string()).as_deref(),
        Some("test cause 3")
    );
    // Equality ignores the cause; from_error keeps it.
    assert_eq!(err, original);
    let again = Error::from_error(&Wrap("w", Box::new(err)));
    assert!(again.source().is_some());

    let shared: Cause = std::sync::Arc::new(TestCause(4));
    let e = Error::internal_server("X", "x").with_shared_cause(shared.clone());
    assert_eq!(
        e.source().map(|s| s.to_string()).as_deref(),
        Some("test cause 4")
    );
}

#[test]
fn metadata_is_replaced_not_merged() {
    let e = Error::new(400, "r", "m")
        .with_metadata([("a", "1")])
        .with_metadata([("b".to_string(), "2".to_string())]);
    assert_eq!(e.metadata(), &md(&[("b", "2")]));
}

#[test]
fn from_error_finds_kratos_errors_anywhere_in_the_chain() {
    let inner = Error::not_found("USER_NOT_FOUND", "no user").with_metadata([("id", "7")]);
    let wrapped = Wrap("outer", Box::new(Wrap("inner", Box::new(inner.clone()))));
    let found = Error::from_error(&wrapped);
    assert_eq!(found, inner);
    assert_eq!(Error::find_in(&wrapped), Some(&inner));
    assert_eq!(Error::find_in(&std::io::Error::other("x")), None);

    // Boxed and shared Kratos errors count too.
    let boxed: Box<Error> = Box::new(inner.clone());
    assert_eq!(Error::from_error(&boxed), inner);
    let shared = std::sync::Arc::new(inner.clone());
    assert_eq!(Error::from_error(&shared), inner);

    // As trait objects.
    let dyn_err: Box<dyn StdError + Send + Sync> = Box::new(inner.clone());
    assert_eq!(Error::from_error(&*dyn_err), inner);

    // A Kratos error in the chain wins over a status nearer the top (Kratos checks errors.As
    // for *Error before the gRPC status).
    let mut status = tonic::Status::internal("transport");
    status.set_source(std::sync::Arc::new(inner.clone()));
    let status_over_kratos = Wrap("outer", Box::new(status));
    assert_eq!(Error::from_error(&status_over_kratos), inner);
    assert!(is_not_found(&status_over_kratos));
}

#[test]
fn from_error_reads_a_wrapped_status() {
    let status = Error::unauthorized("TOKEN_EXPIRED", "log in again")
        .with_metadata([("realm", "x")])
        .to_status();
    let wrapped = Wrap("call failed", Box::new(status));
    let e = Error::from_error(&wrapped);
    assert_eq!(e.code(), 401);
    assert_eq!(e.reason(), "TOKEN_EXPIRED");
    assert_eq!(e.message(), "log in again");
    assert_eq!(e.metadata(), &md(&[("realm", "x")]));
    assert!(is_unauthorized(&wrapped));
    assert!(is_code_and_reason(&wrapped, 401, "TOKEN_EXPIRED"));
    assert!(!is_code_and_reason(&wrapped, 403, "TOKEN_EXPIRED"));
    assert!(!is_code_and_reason(&wrapped, 401, "OTHER"));
}

#[test]
fn from_error_of_anything_else_is_unknown() {
    let e = Error::from_error(&std::fmt::Error);
    assert_eq!(e.code(), UNKNOWN_CODE);
    assert_eq!(e.reason(), UNKNOWN_REASON);
    assert_eq!(e.message(), "an error occurred when formatting an argument");
    assert!(e.metadata().is_empty());
    assert!(is_internal_server(&std::fmt::Error));
}

#[test]
fn grpc_status_carries_reason_and_metadata() {
    // §13 case 55.
    let e = Error::bad_request("r", "bad").with_metadata([("k", "v")]);
    let status: tonic::Status = e.clone().into();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert_eq!(status.message(), "bad");
    let info = status
        .get_details_error_info()
        .expect("an ErrorInfo detail");
    assert_eq!(info.reason, "r");
    assert_eq!(info.domain, "");
    assert_eq!(info.metadata.get("k").map(String::as_str), Some("v"));
    let back = Error::from_error(&status);
    assert_eq!(back, e);
    let back: Error = status.into();
    assert_eq!(back, e);
    // The cause stays on this side.
    let with_cause = Error::bad_request("r", "bad").with_cause(TestCause(1));
    assert!(
        Error::from(tonic::Status::from(&with_cause))
            .cause()
            .is_none()
    );
}

#[test]
fn plain_grpc_status_has_no_reason() {
    // §13 case 49.
    let status = tonic::Status::invalid_argument("bad request");
    let e = Error::from(&status);
    assert_eq!(e.code(), 400);
    assert_eq!(e.reason(), "");
    assert_eq!(e.message(), "bad request");
    assert!(e.metadata().is_empty());
}

#[test]
fn codes_round_trip_through_grpc_like_kratos() {
    // §13 case 56, and the whole of §2.5.
    for (code, grpc, back) in [
        (200, tonic::Code::Ok, 200),
        (400, tonic::Code::InvalidArgument, 400),
        (401, tonic::Code::Unauthenticated, 401),
        (403, tonic::Code::PermissionDenied, 403),
        (404, tonic::Code::NotFound, 404),
        (409, tonic::Code::Aborted, 409),
        (429, tonic::Code::ResourceExhausted, 429),
        (499, tonic::Code::Cancelled, 499),
        (500, tonic::Code::Internal, 500),
        (501, tonic::Code::Unimplemented, 501),
        (503, tonic::Code::Unavailable, 503),
        (504, tonic::Code::DeadlineExceeded, 504),
        (422, tonic::Code::Unknown, 500),
        (418, tonic::Code::Unknown, 500),
        (502, tonic::Code::Unknown, 500),
        (0, tonic::Code::Unknown, 500),
        (-1, tonic::Code::Unknown, 500),
    ] {
        let status = Error::new(code, "R", "m").to_status();
        assert_eq!(status.code(), grpc, "code {code}");
        assert_eq!(Error::from_status(&status).code(), back, "code {code}");
    }
    for (grpc, http) in [
        (tonic::Code::AlreadyExists, 409),
        (tonic::Code::FailedPrecondition, 400),
        (tonic::Code::OutOfRange, 400),
        (tonic::Code::DataLoss, 500),
        (tonic::Code::Unknown, 500),
    ] {
        assert_eq!(
            Error::from(tonic::Status::new(grpc, "")).code(),
            http,
            "{grpc:?}"
        );
    }
}

#[test]
fn predefined_constructors_and_tests() {
    type Test = fn(&(dyn StdError + 'static)) -> bool;
    let cases: [(Error, i32, Test); 10] = [
        (Error::bad_request("R", "m"), 400, is_bad_request),
        (Error::unauthorized("R", "m"), 401, is_unauthorized),
        (Error::forbidden("R", "m"), 403, is_forbidden),
        (Error::not_found("R", "m"), 404, is_not_found),
        (Error::conflict("R", "m"), 409, is_conflict),
        (
            Error::too_many_requests("R", "m"),
            429,
            is_too_many_requests,
        ),
        (Error::client_closed("R", "m"), 499, is_client_closed),
        (Error::internal_server("R", "m"), 500, is_internal_server),
        (
            Error::service_unavailable("R", "m"),
            503,
            is_service_unavailable,
        ),
        (Error::gateway_timeout("R", "m"), 504, is_gateway_timeout),
    ];
    for (i, (err, code, test)) in cases.iter().enumerate() {
        assert_eq!(err.code(), *code);
        assert_eq!((err.reason(), err.message()), ("R", "m"));
        // The reason is ignored; wrapped errors and statuses are recognised.
        assert!(test(&Error::new(*code, "ANY", "")));
        assert!(test(&Wrap("w", Box::new(err.clone()))));
        assert!(test(&err.to_status()));
        for (j, (other, _, _)) in cases.iter().enumerate() {
            assert_eq!(test(other), i == j, "{code} vs {}", other.code());
        }
    }
}
