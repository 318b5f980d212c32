//! Well-known types whose proto3 JSON form pbjson-types does not provide.
//!
//! The build integration maps `google.protobuf.FieldMask`, `Timestamp` and `Duration` here (with
//! `extern_path`), so generated messages read and write them as protojson does: a
//! comma-separated lowerCamel string, an RFC 3339 string in UTC with `Z`, and seconds with an
//! `s` suffix, each with 0, 3, 6 or 9 fractional digits.

mod duration;
pub(crate) mod field_mask;
mod timestamp;

pub use duration::Duration;
pub use field_mask::FieldMask;
pub use timestamp::Timestamp;
