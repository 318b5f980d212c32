//! The predefined errors of Kratos' `errors/types.go`: a constructor and a code test per
//! common status code.

use std::error::Error as StdError;

use super::{Error, code};

macro_rules! predefined {
    ($($code:literal $status:literal $ctor:ident $test:ident;)*) => {
        impl Error {
            $(
                #[doc = concat!("A ", stringify!($code), " ", $status, " error with `reason` and `message`.")]
                pub fn $ctor(reason: impl Into<String>, message: impl Into<String>) -> Error {
                    Error::new($code, reason, message)
                }
            )*
        }

        $(
            #[doc = concat!(
                "Whether `err` is a ", $status, " error: its [`code`] is ", stringify!($code),
                ". The reason is not compared, as in Kratos."
            )]
            pub fn $test(err: &(dyn StdError + 'static)) -> bool {
                code(err) == $code
            }
        )*
    };
}

predefined! {
    400 "Bad Request" bad_request is_bad_request;
    401 "Unauthorized" unauthorized is_unauthorized;
    403 "Forbidden" forbidden is_forbidden;
    404 "Not Found" not_found is_not_found;
    409 "Conflict" conflict is_conflict;
    429 "Too Many Requests" too_many_requests is_too_many_requests;
    499 "Client Closed Request" client_closed is_client_closed;
    500 "Internal Server Error" internal_server is_internal_server;
    503 "Service Unavailable" service_unavailable is_service_unavailable;
    504 "Gateway Timeout" gateway_timeout is_gateway_timeout;
}
