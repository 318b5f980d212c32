//! The protobuf codec's error body: Kratos' `errors.Status` message. Messages themselves are
//! encoded and decoded by prost (see `Codec::encode`).

use prost::Message as _;

use crate::errors::Error;

/// Kratos' `errors.Status` message, the proto form of an error body.
#[derive(Clone, PartialEq, prost::Message)]
struct Status {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    reason: String,
    #[prost(string, tag = "3")]
    message: String,
    #[prost(btree_map = "string, string", tag = "4")]
    metadata: std::collections::BTreeMap<String, String>,
}

/// An error as an `errors.Status` message.
pub(super) fn encode_error(error: &Error) -> Vec<u8> {
    Status {
        code: error.code(),
        reason: error.reason().to_string(),
        message: error.message().to_string(),
        metadata: error
            .metadata()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    }
    .encode_to_vec()
}

/// An `errors.Status` message read back, or `None` when the bytes are not one.
pub(super) fn decode_error(bytes: &[u8]) -> Option<Error> {
    Status::decode(bytes)
        .ok()
        .map(|s| Error::new(s.code, s.reason, s.message).with_metadata(s.metadata))
}
