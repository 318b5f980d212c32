//! Well-known types whose proto3 JSON form pbjson-types does not provide, and
//! `google.api.HttpBody`.
//!
//! The build integration maps `google.protobuf.FieldMask`, `Timestamp` and `Duration` here (with
//! `extern_path`), so generated messages read and write them as protojson does: a
//! comma-separated lowerCamel string, an RFC 3339 string in UTC with `Z`, and seconds with an
//! `s` suffix, each with 0, 3, 6 or 9 fractional digits. It maps `google.api.HttpBody` to
//! [`HttpBody`], so a proto using it needs no `google.api` module of its own.

mod duration;
pub(crate) mod field_mask;
mod http_body;
mod timestamp;

pub use duration::Duration;
pub use field_mask::FieldMask;
pub use http_body::{DEFAULT_CONTENT_TYPE, HttpBody};
pub use timestamp::Timestamp;
