//! Go's string formatting, as protoc-gen-validate's messages show it.
//!
//! Validation messages quote strings with Go's `%q`. The validate plugin quotes rule literals
//! at generation time and the runtime quotes request values when a check fails; both use this
//! crate so the two always agree.

use std::fmt::Write as _;

/// Go's `strconv.Quote`: a double-quoted literal with Go escapes (`\x00`, `\n`, `\u00a0`).
///
/// Printable characters are kept; Go's `unicode.IsPrint` is approximated by "not a control,
/// format or separator character other than the ASCII space" over the code points Rust's
/// standard library can classify.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if is_print(c) => out.push(c),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if (c as u32) < 0x10000 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push('"');
    out
}

/// An approximation of Go's `strconv.IsPrint`.
pub fn is_print(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    !matches!(c as u32,
        0xad | 0x600..=0x605 | 0x61c | 0x6dd | 0x70f | 0x180e | 0x200b..=0x200f
        | 0x202a..=0x202e | 0x2060..=0x2064 | 0x2066..=0x206f | 0xfeff | 0xfff9..=0xfffb
        | 0xe000..=0xf8ff | 0xd800..=0xdfff | 0xf0000..=0x10ffff | 0xe0001 | 0xe0020..=0xe007f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_like_go() {
        assert_eq!(quote("foo"), "\"foo\"");
        assert_eq!(quote("a\"b\\"), "\"a\\\"b\\\\\"");
        assert_eq!(quote("\u{0}\n\u{7f}"), "\"\\x00\\n\\x7f\"");
        assert_eq!(quote("你好"), "\"你好\"");
        assert_eq!(quote("\u{a0}"), "\"\\u00a0\"");
    }
}
