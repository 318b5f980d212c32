//! Request validation: the trait generated validation code implements, and how requests
//! carry their validator to the validation middleware.
//!
//! `protoc-gen-rust-kratos-validate` implements [`Validate`] for messages with
//! protoc-gen-validate rules. Generated route and gRPC registration code attaches
//! `Validate::validate` to each request it decodes when the request type implements
//! [`Validate`] (resolved at compile time, no reflection), so a validation middleware can check
//! any request without knowing its type.

use std::any::Any;

use crate::errors::Error;

mod formats;
mod golang;
mod middleware;
pub(crate) mod rt;

pub use middleware::middleware;

/// The reason of a validation failure, as in Kratos' validate middleware.
pub const VALIDATOR_REASON: &str = "VALIDATOR";

/// A violated rule. `Display` is the message in Go protoc-gen-validate's form, such as
/// `invalid HelloRequest.Name: value length must be at least 1 runes`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ValidationError {
    /// The field path, such as `name` or `user.email`.
    pub field: String,
    /// The whole message.
    pub message: String,
}

/// Validation of a message against its rules.
pub trait Validate {
    /// The first violation, if any.
    fn validate(&self) -> Result<(), ValidationError>;
    /// Every violation, if any.
    fn validate_all(&self) -> Result<(), Vec<ValidationError>>;
}

/// A type-erased validator attached to a request.
pub type Validator = fn(&dyn Any) -> Result<(), Error>;

fn validate_erased<T: Validate + 'static>(message: &dyn Any) -> Result<(), Error> {
    match message.downcast_ref::<T>() {
        Some(m) => m
            .validate()
            .map_err(|e| Error::new(400, VALIDATOR_REASON, e.to_string())),
        None => Ok(()),
    }
}

/// Compile-time probe used by generated code: `(&&Probe::<T>::new()).validator()` is
/// `Some(..)` when `T: Validate` and `None` otherwise (autoref-based selection: the method of
/// the impl on `&Probe<T>` takes `&&Probe<T>` and is found before the one of the impl on
/// `Probe<T>`, which needs a dereference; both traits must be in scope).
#[doc(hidden)]
pub struct Probe<T>(std::marker::PhantomData<fn() -> T>);

impl<T> Probe<T> {
    /// A probe for `T`.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Probe(std::marker::PhantomData)
    }
}

/// Selected when `T: Validate`.
#[doc(hidden)]
pub trait ProbeValidate {
    /// The validator.
    fn validator(&self) -> Option<Validator>;
}

impl<T: Validate + 'static> ProbeValidate for &Probe<T> {
    fn validator(&self) -> Option<Validator> {
        Some(validate_erased::<T>)
    }
}

/// Selected otherwise.
#[doc(hidden)]
pub trait ProbeNone {
    /// No validator.
    fn validator(&self) -> Option<Validator>;
}

impl<T> ProbeNone for Probe<T> {
    fn validator(&self) -> Option<Validator> {
        None
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[derive(Debug)]
    struct Named(String);

    impl Validate for Named {
        fn validate(&self) -> Result<(), ValidationError> {
            if self.0.is_empty() {
                return Err(ValidationError {
                    field: "name".into(),
                    message: "invalid Named.Name: value length must be at least 1 runes".into(),
                });
            }
            Ok(())
        }
        fn validate_all(&self) -> Result<(), Vec<ValidationError>> {
            self.validate().map_err(|e| vec![e])
        }
    }

    #[test]
    #[allow(clippy::needless_borrow)]
    fn the_probe_finds_validators_at_compile_time() {
        #[allow(unused_imports)]
        use super::{ProbeNone as _, ProbeValidate as _};
        let with = (&&Probe::<Named>::new()).validator().unwrap();
        assert!((&&Probe::<String>::new()).validator().is_none());
        assert!(with(&Named("x".into())).is_ok());
        let err = with(&Named(String::new())).unwrap_err();
        assert_eq!((err.code(), err.reason()), (400, VALIDATOR_REASON));
        assert_eq!(
            err.message(),
            "invalid Named.Name: value length must be at least 1 runes"
        );
    }
}
