//! Code tables between HTTP status codes and gRPC codes (Kratos' `transport/http/status`).

use tonic::Code;

/// The gRPC code for an HTTP-style error code. Codes without an entry map to `Unknown`.
pub fn http_to_grpc_code(code: i32) -> Code {
    match code {
        200 => Code::Ok,
        400 => Code::InvalidArgument,
        401 => Code::Unauthenticated,
        403 => Code::PermissionDenied,
        404 => Code::NotFound,
        409 => Code::Aborted,
        429 => Code::ResourceExhausted,
        499 => Code::Cancelled,
        500 => Code::Internal,
        501 => Code::Unimplemented,
        503 => Code::Unavailable,
        504 => Code::DeadlineExceeded,
        _ => Code::Unknown,
    }
}

/// The HTTP-style error code for a gRPC code.
pub fn grpc_code_to_http(code: Code) -> i32 {
    match code {
        Code::Ok => 200,
        Code::Cancelled => 499,
        Code::Unknown => 500,
        Code::InvalidArgument => 400,
        Code::DeadlineExceeded => 504,
        Code::NotFound => 404,
        Code::AlreadyExists => 409,
        Code::PermissionDenied => 403,
        Code::Unauthenticated => 401,
        Code::ResourceExhausted => 429,
        Code::FailedPrecondition => 400,
        Code::Aborted => 409,
        Code::OutOfRange => 400,
        Code::Unimplemented => 501,
        Code::Internal => 500,
        Code::Unavailable => 503,
        Code::DataLoss => 500,
    }
}

/// The HTTP status an error with `code` is answered with.
///
/// Kratos writes the code as the status unchecked, so a code outside 100–999 makes Go's
/// `WriteHeader` panic and the connection drop, and a 1xx or 2xx/3xx code sends an error body
/// with a non-error status (Kratos #3553). We answer every error with an error status: the code
/// itself when it is 400–599, otherwise 500. The body still carries the original code.
pub fn http_status_for(code: i32) -> http::StatusCode {
    u16::try_from(code)
        .ok()
        .filter(|c| (400..=599).contains(c))
        .and_then(|c| http::StatusCode::from_u16(c).ok())
        .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR)
}
