//! The form codec (`application/x-www-form-urlencoded`, Kratos' `encoding/form`): decoding
//! into messages through the binding functions the HTTP plugin generates (`decode.rs`, also
//! used for query strings and path variables), and encoding from a message's JSON form
//! (`encode.rs`, also used for the generated client's query strings).

mod decode;
mod encode;

pub use decode::*;
pub use encode::encode_values;
pub(crate) use encode::{HEX, decode_error, encode_value};
