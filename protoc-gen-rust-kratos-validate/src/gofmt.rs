//! Go's renderings of rule values, reproduced at generation time: PGV builds its messages with
//! `fmt.Sprint` when it generates code, so the numbers, lists, durations and timestamps of a
//! message are constants.

use std::fmt::Write as _;

/// Go's `%v` of a float (`strconv.FormatFloat(v, 'g', -1, bits)`): shortest digits,
/// exponent form below 1e-4 and from 1e+06 (`1e+06`, `1.5e-07`, `123456`).
pub fn float(v: f64, bits32: bool) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    // Rust's `{:e}` gives the shortest round-trip digits for the type.
    let sci = if bits32 {
        format!("{:e}", v as f32)
    } else {
        format!("{v:e}")
    };
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (neg, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let digits = if digits.chars().all(|c| c == '0') {
        "0".to_string()
    } else {
        digits
    };
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if digits == "0" {
        out.push('0');
        return out;
    }
    if !(-4..6).contains(&exp) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(
            out,
            "e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.unsigned_abs()
        );
    } else if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let int_len = usize::try_from(exp).unwrap_or(0) + 1;
        if digits.len() <= int_len {
            out.push_str(&digits);
            for _ in digits.len()..int_len {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    }
    out
}

/// Go's `time.Duration(nanos).String()`: `1h2m3.5s`, `1.5ms`, `1µs`, `0s`.
pub fn duration(nanos: i64) -> String {
    let neg = nanos < 0;
    let mut u = nanos.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        if u == 0 {
            return "0s".into();
        }
        let (prec, unit) = if u < 1_000 {
            (0, "ns")
        } else if u < 1_000_000 {
            (3, "µs")
        } else {
            (6, "ms")
        };
        let frac = frac_str(&mut u, prec);
        let _ = write!(out, "{u}{frac}{unit}");
    } else {
        let frac = frac_str(&mut u, 9);
        let secs = u % 60;
        u /= 60;
        if u > 0 {
            let mins = u % 60;
            u /= 60;
            if u > 0 {
                let _ = write!(out, "{u}h");
            }
            let _ = write!(out, "{mins}m");
        }
        let _ = write!(out, "{secs}{frac}s");
    }
    if neg {
        out.insert(0, '-');
    }
    out
}

/// The fraction of `v / 10^prec` without trailing zeros (and `v` becomes the integer part).
fn frac_str(v: &mut u64, prec: u32) -> String {
    let mut digits = Vec::new();
    let mut printed = false;
    for _ in 0..prec {
        let d = *v % 10;
        printed = printed || d != 0;
        if printed {
            digits.push(char::from(b'0' + d as u8));
        }
        *v /= 10;
    }
    if digits.is_empty() {
        return String::new();
    }
    digits.push('.');
    digits.iter().rev().collect()
}

/// Go's `time.Unix(seconds, nanos).UTC().String()`: `1970-01-01 00:00:03.000001 +0000 UTC`.
pub fn timestamp(seconds: i64, nanos: i32) -> String {
    let days = seconds.div_euclid(86_400);
    let rem = seconds.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let mut out = format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
    if nanos > 0 {
        let frac = format!("{nanos:09}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    out.push_str(" +0000 UTC");
    out
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// PGV's `byteStr`: `"\x99\x62"`, each byte as `\x` and upper-case hex without padding.
pub fn byte_str(b: &[u8]) -> String {
    let mut out = String::from("\"");
    for x in b {
        let _ = write!(out, "\\x{x:X}");
    }
    out.push('"');
    out
}

/// Go's `%v` of a `[]byte`: `[102 111 111]`.
pub fn byte_slice(b: &[u8]) -> String {
    let parts: Vec<String> = b.iter().map(u8::to_string).collect();
    format!("[{}]", parts.join(" "))
}

/// Go's `%v` of a slice whose elements are already rendered: `[a b c]`.
pub fn list(items: &[String]) -> String {
    format!("[{}]", items.join(" "))
}

/// Go's `strconv.Quote` (the `%q` of a string), for literals in messages.
pub use kratos_go_format::quote;

/// protoc-gen-go's `GoCamelCase` (the shared implementation in kratos-codegen).
pub fn camel_case(s: &str) -> String {
    kratos_codegen::names::go_camel_case(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_like_go() {
        assert_eq!(float(f64::from(1.23f32), true), "1.23");
        assert_eq!(float(0.0, false), "0");
        assert_eq!(float(-1.5, false), "-1.5");
        assert_eq!(float(1e10, false), "1e+10");
        assert_eq!(float(123456.0, false), "123456");
        assert_eq!(float(1234567.0, false), "1.234567e+06");
        assert_eq!(float(0.0001, false), "0.0001");
        assert_eq!(float(0.00001, false), "1e-05");
        assert_eq!(float(456.789, false), "456.789");
        assert_eq!(float(f64::from(4.56f32), true), "4.56");
        assert_eq!(float(256.0, false), "256");
    }

    #[test]
    fn durations_like_go() {
        assert_eq!(duration(0), "0s");
        assert_eq!(duration(1_000_000_000), "1s");
        assert_eq!(duration(1_000), "1µs");
        assert_eq!(duration(1_000_000), "1ms");
        assert_eq!(duration(1_500_000), "1.5ms");
        assert_eq!(duration(3_600_000_000_000), "1h0m0s");
        assert_eq!(duration(60_000_000_000), "1m0s");
        assert_eq!(duration(-1_500_000_000), "-1.5s");
        assert_eq!(duration(17_000_000_000), "17s");
    }

    #[test]
    fn timestamps_like_go() {
        assert_eq!(timestamp(3, 0), "1970-01-01 00:00:03 +0000 UTC");
        assert_eq!(timestamp(0, 1000), "1970-01-01 00:00:00.000001 +0000 UTC");
        assert_eq!(timestamp(951_782_400, 0), "2000-02-29 00:00:00 +0000 UTC");
        assert_eq!(timestamp(-1, 0), "1969-12-31 23:59:59 +0000 UTC");
    }

    #[test]
    fn names_like_protoc_gen_go() {
        assert_eq!(camel_case("val"), "Val");
        assert_eq!(camel_case("name_with_underscores"), "NameWithUnderscores");
        assert_eq!(camel_case("under_and_1_number"), "UnderAnd_1Number");
        assert_eq!(camel_case("MessageNone.NoneMsg"), "MessageNone_NoneMsg");
        assert_eq!(camel_case("_foo"), "XFoo");
        assert_eq!(camel_case("sort_direction"), "SortDirection");
    }

    #[test]
    fn bytes_like_pgv() {
        assert_eq!(byte_str(&[0x99, 0x9]), "\"\\x99\\x9\"");
        assert_eq!(byte_slice(b"foo"), "[102 111 111]");
        assert_eq!(quote("a\u{0}"), "\"a\\x00\"");
    }
}
