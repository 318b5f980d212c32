//! Percent-decoding of captured path segments.

use crate::percent::{escape_at, first_bad_escape};

/// A captured value is not valid percent-encoded UTF-8.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// A `%` not followed by two hexadecimal digits: the escape as written (Go's message).
    #[error("invalid URL escape {0:?}")]
    BadEscape(String),
    /// The decoded bytes are not UTF-8.
    #[error("'{0}' does not decode to UTF-8")]
    NotUtf8(String),
}

/// Percent-decodes a captured value fully (`%2F` becomes `/`).
pub fn decode_single_segment(raw: &str) -> Result<String, DecodeError> {
    decode(raw)
}

fn decode(raw: &str) -> Result<String, DecodeError> {
    if !raw.contains('%') {
        return Ok(raw.to_string());
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let Some(byte) = escape_at(bytes, i) else {
                let bad = first_bad_escape(&raw[i..]).unwrap_or("%");
                return Err(DecodeError::BadEscape(bad.to_string()));
            };
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| DecodeError::NotUtf8(raw.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_per_the_spec() {
        assert_eq!(decode_single_segment("a%2Fb%20c").unwrap(), "a/b c");
        assert_eq!(decode_single_segment("%E4%BD%A0").unwrap(), "你");
        assert!(decode_single_segment("%zz").is_err());
        assert!(decode_single_segment("%4").is_err());
        assert!(decode_single_segment("%FF").is_err());
        assert_eq!(decode_single_segment("%e4%BD%a0").unwrap(), "你");
        // A sign is not a hexadecimal digit.
        assert!(decode_single_segment("%+F").is_err());
        assert!(decode_single_segment("%-1").is_err());
        assert!(decode_single_segment("a%2").is_err());
        assert_eq!(
            decode_single_segment("a%20%+7b").unwrap_err().to_string(),
            "invalid URL escape \"%+7\""
        );
    }
}
