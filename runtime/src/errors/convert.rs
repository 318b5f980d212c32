//! Ordinary Rust errors into Kratos errors, so a handler returning
//! `Result<_, kratos::errors::Error>` can use `?` on them.
//!
//! The rule is Kratos' `errors.FromError`: a Kratos [`Error`] or a [`tonic::Status`] found in
//! the error's [`source`](StdError::source) chain is that error; anything else is code 500
//! with the empty reason ([`UNKNOWN_CODE`](super::UNKNOWN_CODE),
//! [`UNKNOWN_REASON`](super::UNKNOWN_REASON)) and the error's text as message. The original
//! error is kept as the [`cause`](Error::cause): it stays on this side of the wire (logs see
//! it through [`source`](StdError::source)), the client sees only code, reason and message.
//!
//! `Error` implements [`std::error::Error`] itself, so Rust's coherence rules forbid one
//! blanket `From<E: Error>`; the common standard-library and dependency errors have their own
//! `From`, and every other error reaches `?` through a box:
//! `.map_err(Box::<dyn std::error::Error + Send + Sync>::from)?`, or
//! [`Error::from_std`](Error::from_std) by value.

use std::error::Error as StdError;
use std::sync::Arc;

use super::{Cause, Error};

impl Error {
    /// `err` as a Kratos error, by the rule of this module, with `err` kept as the cause when
    /// it is not itself a Kratos error or a gRPC status.
    ///
    /// ```
    /// let e = kratos::errors::Error::from_std("x".parse::<u32>().unwrap_err());
    /// assert_eq!((e.code(), e.reason(), e.message()), (500, "", "invalid digit found in string"));
    /// assert!(e.cause().is_some());
    /// ```
    pub fn from_std(err: impl StdError + Send + Sync + 'static) -> Error {
        Error::from_cause(Arc::new(err))
    }

    /// The shared form of [`Error::from_std`].
    pub(crate) fn from_cause(cause: Cause) -> Error {
        let found = Error::from_error(&*cause);
        if super::chain::is_unknown(&*cause) {
            found.with_shared_cause(cause)
        } else {
            found
        }
    }
}

impl From<Box<dyn StdError + Send + Sync + 'static>> for Error {
    /// See [`Error::from_std`]: boxes are how any error, `anyhow::Error` included
    /// (`anyhow::Error: Into<Box<dyn Error + Send + Sync>>`), reaches `?`.
    fn from(err: Box<dyn StdError + Send + Sync + 'static>) -> Error {
        Error::from_cause(Arc::from(err))
    }
}

/// `From` for errors a handler meets every day, each by the rule of [the module](self).
macro_rules! from_std_errors {
    ($($ty:ty),* $(,)?) => {
        $(
            impl From<$ty> for Error {
                fn from(err: $ty) -> Error {
                    Error::from_std(err)
                }
            }
        )*
    };
}

from_std_errors!(
    std::io::Error,
    std::fmt::Error,
    std::num::ParseIntError,
    std::num::ParseFloatError,
    std::num::TryFromIntError,
    std::str::ParseBoolError,
    std::char::ParseCharError,
    std::str::Utf8Error,
    std::string::FromUtf8Error,
    std::net::AddrParseError,
    std::time::SystemTimeError,
    serde_json::Error,
    prost::DecodeError,
    prost::EncodeError,
    http::Error,
    tokio::task::JoinError,
    tonic::transport::Error,
);

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<u32, Error> {
        Ok(s.parse::<u32>()?)
    }

    fn read(path: &str) -> Result<Vec<u8>, Error> {
        Ok(std::fs::read(path)?)
    }

    fn boxed(err: Box<dyn StdError + Send + Sync>) -> Result<(), Error> {
        Err(err)?
    }

    #[derive(Debug)]
    struct Wrapper(Error);
    impl std::fmt::Display for Wrapper {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("wrapped")
        }
    }
    impl StdError for Wrapper {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn question_mark_on_std_errors_is_500_unknown_with_the_cause() {
        let e = parse("seven").unwrap_err();
        assert_eq!((e.code(), e.reason()), (500, ""));
        assert_eq!(e.message(), "invalid digit found in string");
        let cause = e.cause().map(|c| c.to_string());
        assert_eq!(cause.as_deref(), Some("invalid digit found in string"));
        assert_eq!(parse("7").unwrap(), 7);

        let e = read("/this/path/does/not/exist").unwrap_err();
        assert_eq!((e.code(), e.reason()), (500, ""));
        assert!(e.cause().is_some_and(|c| c.is::<std::io::Error>()));
    }

    #[test]
    fn boxes_are_searched_for_kratos_errors_and_statuses() {
        // A plain boxed error: unknown, cause kept.
        let e = boxed("disk on fire".into()).unwrap_err();
        assert_eq!(
            (e.code(), e.reason(), e.message()),
            (500, "", "disk on fire")
        );
        assert!(e.cause().is_some());

        // A Kratos error inside a wrapper keeps its code and reason.
        let inner = Error::not_found("USER_NOT_FOUND", "no such user");
        let e = boxed(Box::new(Wrapper(inner.clone()))).unwrap_err();
        assert_eq!(e, inner);

        // A gRPC status becomes the Kratos error it stands for.
        let e = boxed(Box::new(tonic::Status::unavailable("down"))).unwrap_err();
        assert_eq!((e.code(), e.message()), (503, "down"));
    }
}
