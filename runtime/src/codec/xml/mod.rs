//! The XML codec, as Kratos' Go XML encoding behaves on protoc-gen-go structs: request bodies
//! read into form pairs by Go field name (`decode.rs`), replies written from the Go view
//! generated code builds (`encode.rs`).

mod decode;
mod encode;

pub(crate) use decode::{XmlError, to_pairs};
pub use encode::*;
