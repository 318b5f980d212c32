//! Building blocks of the structure-aware generators: text made of the pieces parsers care
//! about, and byte-level mutations of valid inputs.

use arbitrary::{Result, Unstructured};

/// Pieces that matter to URL, template, form and codec parsers: delimiters, escapes (valid,
/// truncated, non-hex, signed, encoded slashes, UTF-8 and invalid UTF-8), and non-ASCII text.
const PIECES: &[&str] = &[
    "/",
    ":",
    "%",
    "%2F",
    "%2f",
    "%20",
    "%25",
    "%3A",
    "%2",
    "%G1",
    "%+F",
    "%-1",
    "%+7",
    "% 7",
    "%7",
    "%-",
    "%0x",
    "%+",
    "%C3%A9",
    "%E4%BD%A0",
    "%FF",
    "%C3",
    "%00",
    "+",
    "&",
    "=",
    "?",
    "#",
    ".",
    "..",
    "[",
    "]",
    "{",
    "}",
    "*",
    "**",
    ",",
    ";",
    " ",
    "\t",
    "\n",
    "\r",
    "\0",
    "\\",
    "\"",
    "'",
    "<",
    ">",
    "é",
    "你",
    "😀",
    "\u{FEFF}",
    "\u{7f}",
    "-",
    "_",
    "~",
    "0",
    "1",
    "-1",
    "9223372036854775808",
    "1e400",
    "NaN",
    "true",
    "null",
    "a",
    "b",
    "name",
    "x",
];

/// One of `choices`.
pub fn pick<'a, T>(u: &mut Unstructured<'_>, choices: &'a [T]) -> Result<&'a T> {
    u.choose(choices)
}

/// A short string of letters and digits (up to `max` characters).
pub fn word(u: &mut Unstructured<'_>, max: usize) -> Result<String> {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_";
    let len = u.int_in_range(0..=max)?;
    let mut s = String::with_capacity(len);
    for _ in 0..len {
        s.push(char::from(*u.choose(ALPHABET)?));
    }
    Ok(s)
}

/// Text of up to `max_pieces` pieces: words, [`PIECES`], arbitrary characters, and now and
/// then a short run of one piece repeated.
pub fn text(u: &mut Unstructured<'_>, max_pieces: usize) -> Result<String> {
    let n = u.int_in_range(0..=max_pieces)?;
    let mut s = String::new();
    for _ in 0..n {
        match u.int_in_range(0..=9)? {
            0..=3 => s.push_str(&word(u, 8)?),
            4..=7 => s.push_str(pick(u, PIECES)?),
            8 => s.push(u.arbitrary::<char>()?),
            _ => {
                let piece = pick(u, PIECES)?;
                let times = u.int_in_range(2..=40)?;
                s.push_str(&piece.repeat(times));
            }
        }
    }
    Ok(s)
}

/// Percent-encodes `s` for a URL path or query, as a well-behaved client would, leaving
/// unreserved characters as they are.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Text for a URL: escaped (valid), raw pieces (possibly invalid), or a mix.
pub fn url_text(u: &mut Unstructured<'_>, max_pieces: usize) -> Result<String> {
    let t = text(u, max_pieces)?;
    Ok(match u.int_in_range(0..=2)? {
        0 => escape(&t),
        1 => t,
        _ => t.replace(' ', "+"),
    })
}

/// A few byte-level edits of `input`: flips, deletions, insertions of pieces or random bytes,
/// duplicated slices and truncation. The result stays within `input.len() * 2 + 256` bytes.
pub fn mutate(u: &mut Unstructured<'_>, input: &[u8]) -> Result<Vec<u8>> {
    let mut out = input.to_vec();
    let limit = input.len() * 2 + 256;
    for _ in 0..u.int_in_range(1..=6)? {
        let at = if out.is_empty() {
            0
        } else {
            u.int_in_range(0..=out.len() - 1)?
        };
        match u.int_in_range(0..=6)? {
            0 if !out.is_empty() => out[at] ^= 1 << u.int_in_range(0..=7)?,
            1 if !out.is_empty() => {
                let end = (at + u.int_in_range(1..=16)?).min(out.len());
                out.drain(at..end);
            }
            2 => {
                let piece = pick(u, PIECES)?.as_bytes().to_vec();
                out.splice(at..at, piece);
            }
            3 => {
                let n = u.int_in_range(1..=8)?;
                let bytes = take(u, n)?;
                out.splice(at..at, bytes);
            }
            4 if !out.is_empty() => {
                let end = (at + u.int_in_range(1..=32)?).min(out.len());
                let slice = out[at..end].to_vec();
                out.splice(at..at, slice);
            }
            5 => out.truncate(at),
            _ => {
                if !out.is_empty() {
                    out[at] = u.arbitrary()?;
                }
            }
        }
        out.truncate(limit);
    }
    Ok(out)
}

/// `input` as it is, or mutated, or replaced by raw bytes: one of three shapes of a byte input.
pub fn variant(u: &mut Unstructured<'_>, input: &[u8]) -> Result<Vec<u8>> {
    Ok(match u.int_in_range(0..=5)? {
        0..=2 => input.to_vec(),
        3 | 4 => mutate(u, input)?,
        _ => {
            let n = u.int_in_range(0..=256)?;
            take(u, n)?
        }
    })
}

/// Up to `n` of the remaining random bytes (fewer when the input runs out).
pub fn take(u: &mut Unstructured<'_>, n: usize) -> Result<Vec<u8>> {
    let n = n.min(u.len());
    Ok(u.bytes(n)?.to_vec())
}

/// Bytes that sit next to digits in number parsers without being digits: points, signs,
/// separators, exponent and radix letters, a NUL, and digits that are not ASCII.
const NEAR_DIGITS: &[&str] = &[
    ".", "+", "-", "/", ":", " ", "e", "E", "x", "_", ",", "\0", "\u{0663}", "\u{ff10}", "\u{b2}",
    "s", "Z",
];

/// A run of 0 to `max` ASCII digits.
fn digits(u: &mut Unstructured<'_>, max: usize) -> Result<String> {
    let n = u.int_in_range(0..=max)?;
    let mut s = String::with_capacity(n);
    for _ in 0..n {
        s.push(char::from(b'0' + u.int_in_range(0..=9)?));
    }
    Ok(s)
}

/// `text` with, now and then, one byte replaced by or preceded with a [`NEAR_DIGITS`] piece
/// (most often inside the last fraction, where parsers read digit by digit).
fn near_miss(u: &mut Unstructured<'_>, text: String) -> Result<String> {
    if u.ratio(1, 2)? || text.is_empty() {
        return Ok(text);
    }
    let piece = pick(u, NEAR_DIGITS)?;
    let at = match text.rfind('.') {
        Some(point) if u.ratio(2, 3)? => u.int_in_range(point..=text.len())?,
        _ => u.int_in_range(0..=text.len())?,
    };
    let at = (at..=text.len())
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(text.len());
    let mut out = text;
    if u.ratio(1, 2)? && at < out.len() {
        let end = (at + 1..=out.len())
            .find(|i| out.is_char_boundary(*i))
            .unwrap_or(out.len());
        out.replace_range(at..end, piece);
    } else {
        out.insert_str(at, piece);
    }
    Ok(out)
}

/// A duration text, in proto3 JSON form (`-12.5s`) or Go's (`1h2m3.5s`), near the edges of
/// the ranges, sometimes with a byte that is not a digit among its digits or in its fraction.
pub fn duration_text(u: &mut Unstructured<'_>) -> Result<String> {
    let sign = *pick(u, &["", "", "-", "+", "--"])?;
    let text = if u.ratio(1, 2)? {
        let seconds = match u.int_in_range(0..=3)? {
            0 => pick(
                u,
                &["315576000000", "315576000001", "9223372036854775807", "0"],
            )?
            .to_string(),
            _ => digits(u, 12)?,
        };
        let fraction = match u.int_in_range(0..=2)? {
            0 => String::new(),
            _ => format!(".{}", digits(u, 11)?),
        };
        format!("{sign}{seconds}{fraction}s")
    } else {
        let mut out = sign.to_string();
        for _ in 0..u.int_in_range(1..=3)? {
            out.push_str(&digits(u, 20)?);
            if u.ratio(1, 2)? {
                out.push('.');
                out.push_str(&digits(u, 21)?);
            }
            out.push_str(pick(u, &["ns", "us", "\u{b5}s", "ms", "s", "m", "h", ""])?);
        }
        out
    };
    near_miss(u, text)
}

/// An RFC 3339 timestamp text around the edges of the proto range (years 0000 to 10000, leap
/// seconds, offsets), with a fraction of 0 to 12 digits, sometimes with a byte that is not a
/// digit among its digits or in its fraction.
pub fn timestamp_text(u: &mut Unstructured<'_>) -> Result<String> {
    let year = *pick(u, &["0000", "0001", "1970", "2023", "9999", "10000"])?;
    let month = u.int_in_range(0..=13)?;
    let day = u.int_in_range(0..=32)?;
    let (hour, minute, second) = (
        u.int_in_range(0..=24)?,
        u.int_in_range(0..=60)?,
        u.int_in_range(0..=61)?,
    );
    let fraction = match u.int_in_range(0..=2)? {
        0 => String::new(),
        _ => format!(".{}", digits(u, 12)?),
    };
    let zone = *pick(u, &["Z", "z", "+00:00", "-01:00", "+23:59", "+24:00", ""])?;
    let text =
        format!("{year}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}{fraction}{zone}");
    near_miss(u, text)
}
