//! Percent escapes, the one reader shared by path matching, path captures and (in the runtime)
//! query strings and form bodies.
//!
//! An escape is `%` followed by exactly two ASCII hexadecimal digits (`%2F`, `%e4`); it
//! stands for the byte they spell. Anything else after a `%` (`%+7`, `%-1`, `% 7`, `%7`, `%g0`,
//! a `%` at the end) is no escape, as Go's `url` package reads it: a path holding one is
//! refused, a query pair holding one is dropped.

/// The byte the escape starting at `bytes[i]` stands for, or `None` when `bytes[i]` is not a
/// `%` followed by two ASCII hexadecimal digits.
pub fn escape_at(bytes: &[u8], i: usize) -> Option<u8> {
    match bytes.get(i..i + 3)? {
        &[b'%', hi, lo] => Some(hex_digit(hi)? << 4 | hex_digit(lo)?),
        _ => None,
    }
}

/// The first `%` in `text` that does not start an escape, with what follows it (at most two
/// bytes, as Go's error message quotes it), or `None` when every `%` starts one.
pub fn first_bad_escape(text: &str) -> Option<&str> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(offset) = bytes.get(i..)?.iter().position(|b| *b == b'%') {
        let at = i + offset;
        if escape_at(bytes, at).is_none() {
            // Up to three bytes from the `%`, cut back to a character boundary.
            let mut end = (at + 3).min(text.len());
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            return Some(&text[at..end]);
        }
        i = at + 3;
    }
    None
}

/// The value of one ASCII hexadecimal digit; `None` for any other byte (a sign included).
fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_escape_is_a_percent_and_two_hex_digits() {
        for (text, byte) in [
            ("%2F", 0x2F),
            ("%2f", 0x2F),
            ("%00", 0),
            ("%ff", 0xFF),
            ("%Aa", 0xAA),
        ] {
            assert_eq!(escape_at(text.as_bytes(), 0), Some(byte), "{text}");
        }
        for text in [
            "%+7", "%-1", "% 7", "%7", "%", "%g0", "%0g", "%+F", "%-F", "%\u{0}7", "%x7", "%7 ",
            "%٣٣", "%0x", "a%41",
        ] {
            assert_eq!(escape_at(text.as_bytes(), 0), None, "{text:?}");
        }
        assert_eq!(escape_at(b"a%41", 1), Some(b'A'));
        assert_eq!(escape_at(b"%41", 5), None);
    }

    #[test]
    fn the_first_bad_escape_is_found_and_quoted() {
        assert_eq!(first_bad_escape("/v1/a%20b/%E4%B8%AD"), None);
        assert_eq!(first_bad_escape("no escapes"), None);
        assert_eq!(first_bad_escape("/a%+7"), Some("%+7"));
        assert_eq!(first_bad_escape("/a%41%-1/%zz"), Some("%-1"));
        assert_eq!(first_bad_escape("/a%7"), Some("%7"));
        assert_eq!(first_bad_escape("100%"), Some("%"));
        assert_eq!(first_bad_escape("%% 7"), Some("%% "));
        // A multi-byte character after the `%` is quoted whole or not at all.
        assert_eq!(first_bad_escape("%中"), Some("%"));
        assert_eq!(first_bad_escape("%a中"), Some("%a"));
        // `%25` is an escaped `%`: what follows it is ordinary text.
        assert_eq!(first_bad_escape("%25zz"), None);
    }
}
