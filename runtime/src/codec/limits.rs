//! What decoding a body may cost: the general rule every codec follows.
//!
//! A request body is limited in bytes before it is decoded (the HTTP server's body limit); the
//! same limit bounds what the body may *become*:
//!
//! - **size**: the decoded value is at most proportional to the body. YAML aliases count the
//!   size of what they repeat against the limit (a YAML body is refused when its aliases would
//!   expand past it); XML element paths, which become form keys, may not add up to more key
//!   bytes than the limit; form keys and values are slices of the body itself.
//! - **depth**: nesting is capped at [`MAX_DEPTH`] levels where we parse (XML elements, YAML
//!   flow collections, form key segments) and by the parsers' own limits elsewhere (JSON: 128,
//!   serde_json's; YAML: 128, yaml_serde's; protobuf: 100, prost's).
//! - **work**: decoding work is linear in the body: every pre-scan here is a single pass, and
//!   grouping form keys is a hash lookup per pair.
//!
//! Over a limit, decoding fails with a 400 `CODEC` error naming the limit, before anything
//! beyond it is allocated.

use crate::codec::CODEC_REASON;
use crate::errors::Error;

/// The deepest nesting a request body may have where kratos-rs parses it: XML elements, YAML
/// flow collections (`[`, `{`) and the segments of a form key (`a.b.c`). Prost's limit for
/// protobuf messages is the same.
pub const MAX_DEPTH: usize = 100;

/// What decoding one body may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// The most a body may become once decoded, in the units of each codec's rule (bytes of
    /// form keys; bytes of scalars plus one per node for YAML): the body limit.
    pub max_bytes: usize,
    /// The deepest nesting ([`MAX_DEPTH`] by default).
    pub max_depth: usize,
}

impl DecodeLimits {
    /// The limits for bodies of at most `max_body` bytes: they may become at most `max_body`
    /// (decoded units), nested at most [`MAX_DEPTH`] deep.
    pub fn for_body_limit(max_body: usize) -> Self {
        DecodeLimits {
            max_bytes: max_body,
            max_depth: MAX_DEPTH,
        }
    }

    /// The limits for decoding a body that was not limited on the way in (such as a reply a
    /// client reads): the default body limit, or the body's own size when that is larger.
    pub fn for_unlimited(body_len: usize) -> Self {
        Self::for_body_limit(body_len.max(crate::transport::http::DEFAULT_MAX_BODY))
    }

    /// The error (400 `CODEC`) for a body nested deeper than [`DecodeLimits::max_depth`].
    pub(crate) fn too_deep(&self, what: &str) -> Error {
        Error::new(
            400,
            CODEC_REASON,
            format!(
                "body unmarshal: {what} nested deeper than {} levels",
                self.max_depth
            ),
        )
    }

    /// The error (400 `CODEC`) for a body that would decode to more than [`DecodeLimits::max_bytes`].
    pub(crate) fn too_large(&self, what: &str) -> Error {
        Error::new(
            400,
            CODEC_REASON,
            format!(
                "body unmarshal: {what} exceed the decoded size limit of {} bytes",
                self.max_bytes
            ),
        )
    }
}

impl Default for DecodeLimits {
    fn default() -> Self {
        Self::for_body_limit(crate::transport::http::DEFAULT_MAX_BODY)
    }
}
