//! The protoc-gen-validate conformance harness for `protoc-gen-rust-kratos-validate`.
//!
//! The harness protos of PGV v1.3.3 (`testdata/pgv`) are compiled by `kratos::build` with the
//! validation generator on; [`execute`] speaks PGV's harness protocol: it takes an encoded
//! `tests.harness.TestCase` (an `Any` holding the message) and returns the encoded
//! `tests.harness.TestResult`, as the `validate-harness` binary does over stdin/stdout.

use std::marker::PhantomData;

use kratos::validate::Validate;
use prost::Message as _;

/// The harness protos, in their package modules.
pub mod tests {
    /// `tests.harness`.
    pub mod harness {
        #![allow(missing_docs, clippy::all, clippy::uninlined_format_args)]
        kratos::include_proto!("tests.harness");

        /// `tests.harness.cases`.
        pub mod cases {
            #![allow(missing_docs, clippy::all, clippy::uninlined_format_args)]
            kratos::include_proto!("tests.harness.cases");

            /// `tests.harness.cases.other_package`.
            pub mod other_package {
                #![allow(missing_docs, clippy::all, clippy::uninlined_format_args)]
                kratos::include_proto!("tests.harness.cases.other_package");
            }
            /// `tests.harness.cases.yet_another_package`.
            pub mod yet_another_package {
                #![allow(missing_docs, clippy::all, clippy::uninlined_format_args)]
                kratos::include_proto!("tests.harness.cases.yet_another_package");
            }
            /// `tests.harness.cases.sort`.
            pub mod sort {
                #![allow(missing_docs, clippy::all, clippy::uninlined_format_args)]
                kratos::include_proto!("tests.harness.cases.sort");
            }
        }
    }
}

/// The service of the middleware test (`validated.v1`).
pub mod validated {
    /// `validated.v1`.
    pub mod v1 {
        #![allow(missing_docs, clippy::all, clippy::uninlined_format_args)]
        kratos::include_proto!("validated.v1");
    }
}

/// The golden fixture of the plugin (`testdata/validate/basic/example.proto`).
pub mod example {
    /// `example.v1`.
    pub mod v1 {
        #![allow(missing_docs, clippy::all, clippy::uninlined_format_args)]
        kratos::include_proto!("example.v1");
    }
}

use tests::harness::{TestCase, TestResult};

/// The result of validating one message: `validate()` and `validate_all()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The first violation's message, if any.
    pub first: Option<String>,
    /// Every violation's message.
    pub all: Vec<String>,
    /// The message type has no validator (`(validate.ignored)`).
    pub ignored: bool,
}

/// Decodes `T` and runs its validation (selected when `T: Validate`).
#[derive(Debug)]
pub struct Runner<T>(PhantomData<fn() -> T>);

impl<T> Runner<T> {
    /// A runner for `T`.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Runner(PhantomData)
    }
}

/// Selected when the type has a validator.
pub trait RunValidate {
    /// Decodes and validates.
    fn run(&self, bytes: &[u8]) -> Result<Outcome, String>;
}

impl<T: Validate + prost::Message + Default> RunValidate for &Runner<T> {
    fn run(&self, bytes: &[u8]) -> Result<Outcome, String> {
        let msg = T::decode(bytes).map_err(|e| format!("cannot decode the message: {e}"))?;
        let first = msg.validate().err().map(|e| e.message);
        let all = match msg.validate_all() {
            Ok(()) => Vec::new(),
            Err(v) => v.into_iter().map(|e| e.message).collect(),
        };
        Ok(Outcome {
            first,
            all,
            ignored: false,
        })
    }
}

/// Selected for types without a validator (`(validate.ignored)` messages).
pub trait RunNothing {
    /// Decodes only.
    fn run(&self, bytes: &[u8]) -> Result<Outcome, String>;
}

impl<T: prost::Message + Default> RunNothing for Runner<T> {
    fn run(&self, bytes: &[u8]) -> Result<Outcome, String> {
        T::decode(bytes).map_err(|e| format!("cannot decode the message: {e}"))?;
        Ok(Outcome {
            first: None,
            all: Vec::new(),
            ignored: true,
        })
    }
}

include!(concat!(env!("OUT_DIR"), "/dispatch.rs"));

fn error_result(reason: String) -> TestResult {
    TestResult {
        valid: false,
        error: true,
        reasons: vec![reason],
        allow_failure: false,
        check_multiple_errors: false,
    }
}

/// Runs one harness case: `input` is an encoded `tests.harness.TestCase`, the result an
/// encoded `tests.harness.TestResult` (`valid`, every violation in `reasons`,
/// `check_multiple_errors` set). Inputs that cannot be handled give `error: true` with the
/// reason, never a panic.
pub fn execute(input: &[u8]) -> Vec<u8> {
    run_case(input).encode_to_vec()
}

/// [`execute`], with the result as a message.
pub fn run_case(input: &[u8]) -> TestResult {
    let case = match TestCase::decode(input) {
        Ok(c) => c,
        Err(e) => return error_result(format!("cannot decode the TestCase: {e}")),
    };
    let Some(any) = case.message else {
        return error_result("the TestCase has no message".into());
    };
    let full_name = any
        .type_url
        .rsplit_once('/')
        .map_or(any.type_url.as_str(), |(_, n)| n);
    let outcome = match dispatch(full_name, any.value.as_ref()) {
        None => return error_result(format!("unknown message type {:?}", any.type_url)),
        Some(Err(e)) => return error_result(e),
        Some(Ok(o)) => o,
    };
    // Like Go's harness: Validate() and ValidateAll() must agree, on the verdict and on the
    // first violation.
    if outcome.first.is_some() == outcome.all.is_empty() {
        return error_result(format!(
            "different verdict of validate() [{:?}] vs. validate_all() [{:?}]",
            outcome.first, outcome.all
        ));
    }
    if let Some(first) = &outcome.first
        && outcome.all.first() != Some(first)
    {
        return error_result(format!(
            "different first message, validate()=={first:?}, validate_all()=={:?}",
            outcome.all.first()
        ));
    }
    TestResult {
        valid: outcome.all.is_empty(),
        error: false,
        reasons: outcome.all,
        allow_failure: false,
        check_multiple_errors: true,
    }
}
