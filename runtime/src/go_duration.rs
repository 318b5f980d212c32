//! Go's duration syntax, as `time.ParseDuration` reads it: the one parser behind durations in
//! query strings and form bodies (Kratos binds `google.protobuf.Duration` from it) and in
//! configuration files.
//!
//! The grammar is `[-+]? ( digits? ( "." digits? )? unit )+` or a bare `0`, where each number
//! has at least one digit (before or after the point) and `unit` is one of `ns`, `us`, `µs`
//! (U+00B5), `μs` (U+03BC), `ms`, `s`, `m`, `h`. Every byte is checked against it; anything
//! else is an error, never a wrong value. As in Go, the value is an `int64` of nanoseconds:
//! the total may reach 2^63 ns only when negative, fraction digits past what 64 bits can hold
//! are read and ignored, and fractions are truncated to whole nanoseconds (computed exactly
//! here, where Go rounds through a `float64`).

/// Why a duration text is refused; the messages are Go's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum GoDurationError {
    /// Not of the duration grammar, or beyond the range of an `int64` of nanoseconds.
    #[error("time: invalid duration {0:?}")]
    Invalid(String),
    /// A number without a unit.
    #[error("time: missing unit in duration {0:?}")]
    MissingUnit(String),
    /// A unit that is not one of Go's.
    #[error("time: unknown unit {unit:?} in duration {text:?}")]
    UnknownUnit {
        /// The unit as written.
        unit: String,
        /// The whole text.
        text: String,
    },
}

/// 2^63: the magnitude of the most negative `int64`.
const LIMIT: u128 = 1 << 63;

/// Parses `text` as Go's `time.ParseDuration`: the signed number of nanoseconds.
pub(crate) fn parse(text: &str) -> Result<i64, GoDurationError> {
    let invalid = || GoDurationError::Invalid(text.to_string());
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        // The integer part: ASCII digits only.
        let int_len = digits_len(rest);
        let (int_digits, after_int) = rest.split_at(int_len);
        // The fraction: a point, then ASCII digits only.
        let (frac_digits, after_number) = match after_int.strip_prefix('.') {
            Some(frac) => {
                let (digits, tail) = frac.split_at(digits_len(frac));
                (Some(digits), tail)
            }
            None => (None, after_int),
        };
        if int_digits.is_empty() && frac_digits.is_none_or(str::is_empty) {
            return Err(invalid());
        }
        // The unit: everything up to the next digit or point.
        let unit_len = after_number
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after_number.len());
        let (unit, tail) = after_number.split_at(unit_len);
        let scale: u128 = match unit {
            "" => return Err(GoDurationError::MissingUnit(text.to_string())),
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            other => {
                return Err(GoDurationError::UnknownUnit {
                    unit: other.to_string(),
                    text: text.to_string(),
                });
            }
        };
        let whole = decimal(int_digits).ok_or_else(invalid)?;
        let mut part = whole
            .checked_mul(scale)
            .filter(|v| *v <= LIMIT)
            .ok_or_else(invalid)?;
        if let Some(frac) = frac_digits {
            let (numerator, denominator) = fraction(frac);
            part += numerator * scale / denominator;
        }
        total = total
            .checked_add(part)
            .filter(|v| *v <= LIMIT)
            .ok_or_else(invalid)?;
        rest = tail;
    }
    // `total` is at most 2^63: its negation is always an i64, itself only up to 2^63 - 1.
    let signed = i128::try_from(total).map_err(|_| invalid())?;
    i64::try_from(if negative { -signed } else { signed }).map_err(|_| invalid())
}

/// How many ASCII digits `s` starts with.
fn digits_len(s: &str) -> usize {
    s.bytes().take_while(u8::is_ascii_digit).count()
}

/// The value of a run of ASCII digits (empty is 0), `None` past 2^63.
fn decimal(digits: &str) -> Option<u128> {
    digits.bytes().try_fold(0u128, |n, d| {
        let n = n * 10 + u128::from(d - b'0');
        (n <= LIMIT).then_some(n)
    })
}

/// A run of fraction digits as `numerator / denominator`, keeping the digits that fit in 63
/// bits (Go's `leadingFraction`; later digits cannot change a nanosecond count).
fn fraction(digits: &str) -> (u128, u128) {
    let mut numerator: u128 = 0;
    let mut denominator: u128 = 1;
    for d in digits.bytes() {
        let next = numerator * 10 + u128::from(d - b'0');
        if next >= LIMIT {
            break;
        }
        numerator = next;
        denominator *= 10;
    }
    (numerator, denominator)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const S: i64 = 1_000_000_000;

    #[test]
    fn reads_go_durations() {
        for (text, nanos) in [
            ("0", 0),
            ("-0", 0),
            ("+0", 0),
            ("0s", 0),
            ("-0s", 0),
            ("90s", 90 * S),
            ("1m30s", 90 * S),
            ("1.5s", S + S / 2),
            ("-1.5ms", -1_500_000),
            ("1h2m3.5s", 3723 * S + S / 2),
            (".5s", S / 2),
            ("5.s", 5 * S),
            ("+2m", 120 * S),
            ("10us", 10_000),
            ("10\u{b5}s", 10_000),
            ("10\u{3bc}s", 10_000),
            ("7ns", 7),
            ("1.000000001s", S + 1),
            ("1.0000000019s", S + 1),
            ("0.1234567891234567891234s", 123_456_789),
            ("9223372036854775807ns", i64::MAX),
            ("-9223372036854775808ns", i64::MIN),
            ("2562047h47m16.854775807s", i64::MAX),
        ] {
            assert_eq!(parse(text), Ok(nanos), "{text}");
        }
    }

    #[test]
    fn refuses_every_other_byte() {
        for bad in [
            "",
            "-",
            "+",
            "s",
            ".s",
            "-.s",
            "1",
            "1.5",
            "1x",
            "1.2.3s",
            "1.5.5s",
            "1..5s",
            "1s.",
            "abc",
            "++1s",
            "--1s",
            "-+1s",
            "1s-1s",
            "1 s",
            " 1s",
            "1s ",
            "1,5s",
            "1e3s",
            "0x10s",
            "1_000s",
            "1.+5s",
            "1.-5s",
            "\u{ff11}s",
            "1S",
            "1sec",
            "1ss",
            "9223372036854775808ns",
            "-9223372036854775809ns",
            "2562048h",
            "1.5h1.5h1.5\u{0}",
            "99999999999999999999h",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} was read as {:?}", parse(bad));
        }
        assert_eq!(
            parse("1.5.5s").unwrap_err().to_string(),
            "time: missing unit in duration \"1.5.5s\""
        );
        assert_eq!(
            parse("1x").unwrap_err().to_string(),
            "time: unknown unit \"x\" in duration \"1x\""
        );
        assert_eq!(
            parse("-").unwrap_err().to_string(),
            "time: invalid duration \"-\""
        );
    }

    #[test]
    fn every_short_text_is_read_or_refused_by_the_grammar() {
        // Every text of three symbols from the grammar's bytes and their neighbours: none
        // panics, and the accepted ones are exactly those of the grammar (checked here by a
        // second, naive reading: a sign, then number-unit pairs).
        let alphabet = [
            "0", "9", ".", "-", "+", "s", "m", "h", "n", "u", "\u{b5}", "/", ":", " ",
        ];
        fn naive(text: &str) -> bool {
            let body = text.strip_prefix(['-', '+']).unwrap_or(text);
            if body == "0" {
                return true;
            }
            let mut rest = body;
            let mut pairs = 0;
            while !rest.is_empty() {
                let n = rest
                    .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                    .unwrap_or(rest.len());
                let number = &rest[..n];
                let points = number.matches('.').count();
                if points > 1 || number.len() == points {
                    return false;
                }
                rest = &rest[n..];
                let u = rest
                    .find(|c: char| c.is_ascii_digit() || c == '.')
                    .unwrap_or(rest.len());
                if !matches!(&rest[..u], "ns" | "us" | "\u{b5}s" | "ms" | "s" | "m" | "h") {
                    return false;
                }
                rest = &rest[u..];
                pairs += 1;
            }
            pairs > 0
        }
        let mut accepted = 0;
        for a in alphabet {
            for b in alphabet {
                for c in alphabet {
                    let text = format!("{a}{b}{c}");
                    assert_eq!(parse(&text).is_ok(), naive(&text), "{text:?}");
                    accepted += usize::from(parse(&text).is_ok());
                }
            }
        }
        assert!(accepted > 20, "only {accepted} texts accepted");
    }
}
