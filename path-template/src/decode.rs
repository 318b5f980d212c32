//! Percent-decoding of captured path segments.

/// A captured value is not valid percent-encoded UTF-8.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// A `%` not followed by two hexadecimal digits.
    #[error("invalid percent-encoding in '{0}'")]
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
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| DecodeError::BadEscape(raw.to_string()))?;
            out.push(hex);
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
    }
}
