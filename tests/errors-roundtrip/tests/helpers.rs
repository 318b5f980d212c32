#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The generated helpers compile and behave like Kratos' `ErrorXxx` / `IsXxx`.

use std::error::Error as StdError;
use std::fmt;

use errors_roundtrip::helloworld::v1::{self as hello, ErrorReason};
use errors_roundtrip::shop::v1::{self as shop, Legacy, OrderError, PaymentReason, RefundError};
use kratos::errors::Error;

/// An application error wrapping another one, like Go's `fmt.Errorf("...: %w", err)`.
#[derive(Debug)]
struct Wrapped {
    context: &'static str,
    source: Box<dyn StdError + Send + Sync>,
}

fn wrap(context: &'static str, source: impl StdError + Send + Sync + 'static) -> Wrapped {
    Wrapped {
        context,
        source: Box::new(source),
    }
}

impl fmt::Display for Wrapped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.context, self.source)
    }
}

impl StdError for Wrapped {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.source)
    }
}

#[test]
fn error_functions_build_kratos_errors() {
    // §13 case 19: ErrorUserNotFound("id %d", 1) → {404, USER_NOT_FOUND, "id 1"}.
    let e = hello::error_user_not_found(format!("id {}", 1));
    assert_eq!(e.code(), 404);
    assert_eq!(e.reason(), "USER_NOT_FOUND");
    assert_eq!(e.message(), "id 1");
    assert!(e.metadata().is_empty());
    assert!(e.cause().is_none());
    let e = hello::error_content_missing("no body");
    assert_eq!((e.code(), e.reason()), (400, "CONTENT_MISSING"));
}

#[test]
fn is_functions_need_both_code_and_reason() {
    let e = hello::error_user_not_found("x");
    assert!(hello::is_user_not_found(&e));
    assert!(!hello::is_content_missing(&e));
    // Same reason, another code: not matched (Kratos compares both).
    assert!(!hello::is_user_not_found(&Error::new(
        500,
        "USER_NOT_FOUND",
        "x"
    )));
    // Same code, another reason.
    assert!(!hello::is_user_not_found(&Error::not_found("OTHER", "x")));
    // An error of unknown cause.
    assert!(!hello::is_user_not_found(&std::io::Error::other("boom")));
    // Message, metadata and cause do not matter.
    let decorated = hello::error_user_not_found("other")
        .with_metadata([("id", "7")])
        .with_cause(std::io::Error::other("db"));
    assert!(hello::is_user_not_found(&decorated));
}

#[test]
fn enum_methods_mirror_the_functions() {
    let reason = ErrorReason::UserNotFound;
    assert_eq!(reason.code(), 404);
    assert_eq!(reason.reason(), "USER_NOT_FOUND");
    // The reason is prost's name for the value, so it converts back.
    assert_eq!(reason.reason(), reason.as_str_name());
    assert_eq!(ErrorReason::from_str_name(reason.reason()), Some(reason));
    let e = reason.error("gone");
    assert_eq!(e, hello::error_user_not_found("gone"));
    assert!(reason.is(&e));
    assert!(!ErrorReason::ContentMissing.is(&e));
    // The methods are const where they can be.
    const CODE: i32 = ErrorReason::ContentMissing.code();
    const REASON: &str = ErrorReason::ContentMissing.reason();
    assert_eq!((CODE, REASON), (400, "CONTENT_MISSING"));
}

#[test]
fn several_enums_default_codes_and_code_zero() {
    // A value without its own code uses the enum's default.
    let e = shop::error_order_error_unspecified("?");
    assert_eq!((e.code(), e.reason()), (400, "ORDER_ERROR_UNSPECIFIED"));
    let e = shop::error_out_of_stock("none left");
    assert_eq!((e.code(), e.reason()), (400, "outOfStock"));
    assert_eq!(OrderError::OutOfStock.code(), 400);
    // Own codes, Kratos' names (System_Error → SystemError → system_error).
    let e = shop::error_system_error("down");
    assert_eq!((e.code(), e.reason()), (503, "System_Error"));
    assert!(shop::is_system_error(&e));
    assert!(!shop::is_order_error_not_found(&e));
    assert_eq!(OrderError::NotFound.code(), 404);
    // Another enum of the same package, and one from the package's second file.
    assert_eq!(shop::error_payment_declined("card").code(), 402);
    assert_eq!(shop::error_unknown("?").code(), 500);
    assert_eq!(shop::error_refund_too_large("too much").code(), 413);
    assert_eq!(RefundError::RefundWindowClosed.code(), 422);
    // Effective code 0: the method says 0, and no function is generated (checked on the text).
    assert_eq!(PaymentReason::Unspecified.code(), 0);
    assert_eq!(
        PaymentReason::Unspecified.reason(),
        "PAYMENT_REASON_UNSPECIFIED"
    );
    let generated = include_str!(concat!(env!("OUT_DIR"), "/shop.v1.kratos_errors.rs"));
    assert!(!generated.contains("payment_reason_unspecified"));
    assert!(generated.contains("pub fn is_payment_declined("));
}

#[test]
fn deprecated_values_have_deprecated_helpers() {
    #[allow(deprecated)]
    let e = shop::error_order_error_already_paid("paid");
    assert_eq!((e.code(), e.reason()), (409, "ORDER_ERROR_ALREADY_PAID"));
    #[allow(deprecated)]
    let matched = shop::is_order_error_already_paid(&e);
    assert!(matched);
    #[allow(deprecated)]
    let variant = OrderError::AlreadyPaid;
    assert!(variant.is(&e));
}

#[test]
fn aliases_share_the_first_name_as_reason() {
    // Go's String() of an alias is the first value's name; each keeps its own code.
    let gone = shop::error_legacy_gone("x");
    let removed = shop::error_legacy_removed("x");
    assert_eq!((gone.code(), gone.reason()), (410, "LEGACY_GONE"));
    assert_eq!((removed.code(), removed.reason()), (404, "LEGACY_GONE"));
    assert!(shop::is_legacy_gone(&gone) && !shop::is_legacy_gone(&removed));
    assert!(shop::is_legacy_removed(&removed) && !shop::is_legacy_removed(&gone));
    assert_eq!(Legacy::Gone.code(), 410);
}

#[test]
fn is_works_through_wrapped_errors() {
    let inner = hello::error_user_not_found("no such user");
    let once = wrap("loading profile", inner.clone());
    let twice = wrap("handling request", wrap("loading profile", inner.clone()));
    assert!(hello::is_user_not_found(&once));
    assert!(hello::is_user_not_found(&twice));
    assert!(ErrorReason::UserNotFound.is(&twice));
    assert!(!hello::is_content_missing(&twice));
    assert_eq!(Error::from_error(&twice), inner);
    assert!(kratos::errors::is_not_found(&twice));
    // As trait objects, boxed.
    let boxed: Box<dyn StdError + Send + Sync> = Box::new(twice);
    assert!(hello::is_user_not_found(&*boxed));
    // A plain error wrapped the same way is not ours.
    assert!(!hello::is_user_not_found(&wrap(
        "x",
        std::io::Error::other("y")
    )));
}

#[test]
fn is_works_after_conversion_to_a_grpc_status_and_back() {
    let e = hello::error_user_not_found("no such user").with_metadata([("id", "42")]);
    let status: tonic::Status = e.clone().into();
    assert_eq!(status.code(), tonic::Code::NotFound);
    assert!(hello::is_user_not_found(&status));
    assert!(hello::is_user_not_found(&wrap("rpc", status.clone())));
    let back = Error::from(status);
    assert_eq!(back, e);
    assert!(hello::is_user_not_found(&back));
    // The enum default 500 → Internal → 500.
    let status = shop::error_unknown("?").to_status();
    assert_eq!(status.code(), tonic::Code::Internal);
    assert!(shop::is_unknown(&status));
}

#[test]
fn codes_without_a_grpc_code_change_over_grpc() {
    // 422 has no gRPC code: Unknown, then 500 (as in Kratos), so the helper no longer matches
    // after a gRPC crossing, though the reason survives.
    let status = shop::error_refund_window_closed("too late").to_status();
    assert_eq!(status.code(), tonic::Code::Unknown);
    assert!(!shop::is_refund_window_closed(&status));
    let back = Error::from_status(&status);
    assert_eq!((back.code(), back.reason()), (500, "REFUND_WINDOW_CLOSED"));
}

#[test]
fn generated_files_match_the_goldens() {
    // Every golden of the plugin's tests is exactly what this crate compiles.
    for (name, generated) in [
        (
            "basic/helloworld.v1.kratos_errors.rs",
            include_str!(concat!(env!("OUT_DIR"), "/helloworld.v1.kratos_errors.rs")),
        ),
        (
            "multi/shop.v1.kratos_errors.rs",
            include_str!(concat!(env!("OUT_DIR"), "/shop.v1.kratos_errors.rs")),
        ),
    ] {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/errors/");
        let golden = std::fs::read_to_string(format!("{path}{name}")).unwrap();
        assert_eq!(golden, generated, "{name}");
    }
}
