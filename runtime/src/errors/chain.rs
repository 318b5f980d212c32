//! Recognising a Kratos error in any error: wrapped, converted to a gRPC status, or unknown.

use std::error::Error as StdError;
use std::sync::Arc;

use super::{Error, UNKNOWN_CODE, UNKNOWN_REASON, grpc_code_to_http};

/// What an arbitrary error turns out to be, borrowed (nothing is cloned or decoded until asked).
enum Found<'a> {
    /// A Kratos error somewhere in the source chain.
    Kratos(&'a Error),
    /// A gRPC status somewhere in the source chain (and no Kratos error).
    Status(&'a tonic::Status),
    /// Anything else: an error of unknown cause.
    Other(&'a (dyn StdError + 'static)),
}

/// `err` followed by its sources.
fn chain<'a>(
    err: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(err), |&e| e.source())
}

/// The Kratos error `err` is, if it is one (also boxed or shared).
fn as_kratos<'a>(err: &'a (dyn StdError + 'static)) -> Option<&'a Error> {
    err.downcast_ref::<Error>()
        .or_else(|| err.downcast_ref::<Box<Error>>().map(|b| &**b))
        .or_else(|| err.downcast_ref::<Arc<Error>>().map(|a| &**a))
}

/// Like Kratos' `FromError`: a Kratos error anywhere in the chain wins over a gRPC status
/// anywhere in the chain, which wins over the error itself.
fn find<'a>(err: &'a (dyn StdError + 'static)) -> Found<'a> {
    if let Some(e) = chain(err).find_map(as_kratos) {
        return Found::Kratos(e);
    }
    if let Some(s) = chain(err).find_map(|e| e.downcast_ref::<tonic::Status>()) {
        return Found::Status(s);
    }
    Found::Other(err)
}

/// Whether `err` is of unknown cause: neither a Kratos error nor a gRPC status is in its chain.
pub(super) fn is_unknown(err: &(dyn StdError + 'static)) -> bool {
    matches!(find(err), Found::Other(_))
}

impl Found<'_> {
    fn code(&self) -> i32 {
        match self {
            Found::Kratos(e) => e.code(),
            Found::Status(s) => grpc_code_to_http(s.code()),
            Found::Other(_) => UNKNOWN_CODE,
        }
    }

    fn reason(&self) -> String {
        match self {
            Found::Kratos(e) => e.reason().to_string(),
            Found::Status(s) => super::grpc::error_info(s)
                .map(|info| info.reason)
                .unwrap_or_default(),
            Found::Other(_) => UNKNOWN_REASON.to_string(),
        }
    }

    fn into_error(self) -> Error {
        match self {
            Found::Kratos(e) => e.clone(),
            Found::Status(s) => Error::from_status(s),
            Found::Other(e) => Error::new(UNKNOWN_CODE, UNKNOWN_REASON, e.to_string()),
        }
    }
}

impl Error {
    /// The Kratos error that `err` stands for, as Kratos' `errors.FromError`:
    ///
    /// * a Kratos [`Error`] anywhere in the [`source`](StdError::source) chain of `err`
    ///   (`err` itself included) → a clone of it, cause included;
    /// * else a [`tonic::Status`] anywhere in the chain → [`Error::from_status`] (code from
    ///   the gRPC code table, message from the status, reason and metadata from its
    ///   `google.rpc.ErrorInfo` detail);
    /// * else → code 500, empty reason, `err.to_string()` as message.
    ///
    /// Any `&E` where `E: std::error::Error + 'static` coerces to the parameter, as do
    /// `&dyn Error` and `&dyn Error + Send + Sync`; pass `&*boxed` for a boxed error.
    pub fn from_error(err: &(dyn StdError + 'static)) -> Error {
        find(err).into_error()
    }

    /// The Kratos error in the source chain of `err` (`err` included), borrowed, if there is
    /// one. Unlike [`Error::from_error`], gRPC statuses and other errors give `None`.
    pub fn find_in<'a>(err: &'a (dyn StdError + 'static)) -> Option<&'a Error> {
        chain(err).find_map(as_kratos)
    }
}

/// The code of `err`, seen as [`Error::from_error`] sees it (500 for an error of unknown cause).
///
/// Kratos' `errors.Code(nil)` is 200; Rust has no nil error, so a caller with a `Result`
/// decides that itself.
pub fn code(err: &(dyn StdError + 'static)) -> i32 {
    find(err).code()
}

/// The reason of `err`, seen as [`Error::from_error`] sees it (empty for an error of unknown
/// cause).
pub fn reason(err: &(dyn StdError + 'static)) -> String {
    find(err).reason()
}

/// Whether `err`, seen as [`Error::from_error`] sees it, has exactly this `code` and this
/// `reason`. This is the test behind the generated `is_*` functions: an error re-created with
/// the same reason but another code does not match.
pub fn is_code_and_reason(err: &(dyn StdError + 'static), code: i32, reason: &str) -> bool {
    let found = find(err);
    if found.code() != code {
        return false;
    }
    match found {
        Found::Kratos(e) => e.reason() == reason,
        other => other.reason() == reason,
    }
}
