//! XML replies as Kratos writes them: Go's `encoding/xml` applied to the structs protoc-gen-go
//! generates. Generated code builds a [`GoValue`] (the struct's shape: Go field names, enums as
//! numbers, timestamps as `Seconds`/`Nanos`, nil pointers); this module writes it as Go would,
//! including Go's refusal of maps.

use crate::codec::CODEC_REASON;
use crate::errors::Error;

/// A Go value of a protoc-gen-go struct.
#[derive(Debug, Clone, PartialEq)]
pub enum GoValue {
    /// A struct: its fields in declaration order, by Go name.
    Struct(Vec<(&'static str, GoValue)>),
    /// A nil pointer or interface (an unset message, optional or oneof): written as nothing.
    Nil,
    /// A slice: one element per item, each named like the field.
    Slice(Vec<GoValue>),
    /// A map, which Go's XML encoder refuses.
    Map,
    /// A `[]byte`, written as text.
    Bytes(Vec<u8>),
    /// A string.
    Str(String),
    /// A bool.
    Bool(bool),
    /// A signed integer (and enums).
    Int(i64),
    /// An unsigned integer.
    Uint(u64),
    /// A float32.
    F32(f32),
    /// A float64.
    F64(f64),
}

/// Go's `xml.Marshal` of a `*T` whose Go type name is `type_name`.
pub fn encode(type_name: &str, value: &GoValue) -> Result<Vec<u8>, Error> {
    let mut out = String::new();
    write(&mut out, type_name, value)?;
    Ok(out.into_bytes())
}

/// Go's `xml.Marshal` of a `[]*T`: each element in turn, named by its type.
pub fn encode_slice(type_name: &str, items: &[GoValue]) -> Result<Vec<u8>, Error> {
    let mut out = String::new();
    for item in items {
        write(&mut out, type_name, item)?;
    }
    Ok(out.into_bytes())
}

fn write(out: &mut String, name: &str, value: &GoValue) -> Result<(), Error> {
    match value {
        GoValue::Nil => Ok(()),
        GoValue::Map => Err(Error::new(500, CODEC_REASON, "xml: unsupported type: map")),
        GoValue::Slice(items) => {
            for item in items {
                write(out, name, item)?;
            }
            Ok(())
        }
        GoValue::Struct(fields) => {
            out.push('<');
            out.push_str(name);
            out.push('>');
            for (field, v) in fields {
                write(out, field, v)?;
            }
            out.push_str("</");
            out.push_str(name);
            out.push('>');
            Ok(())
        }
        scalar => {
            out.push('<');
            out.push_str(name);
            out.push('>');
            match scalar {
                GoValue::Str(s) => escape_text(out, s),
                GoValue::Bytes(b) => escape_text(out, &String::from_utf8_lossy(b)),
                GoValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
                GoValue::Int(i) => out.push_str(&i.to_string()),
                GoValue::Uint(u) => out.push_str(&u.to_string()),
                GoValue::F32(f) => out.push_str(&format_go_float(f64::from(*f), true)),
                GoValue::F64(f) => out.push_str(&format_go_float(*f, false)),
                _ => {}
            }
            out.push_str("</");
            out.push_str(name);
            out.push('>');
            Ok(())
        }
    }
}

/// Go's `xml.EscapeText`.
fn escape_text(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            c if is_xml_char(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
}

fn is_xml_char(c: char) -> bool {
    matches!(c, '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// Go's `strconv.FormatFloat(f, 'g', -1, bits)`: the shortest representation that round-trips,
/// in exponent form when the decimal exponent is below -4 or at least 6 (Go uses a precision
/// of 6 for that decision in the shortest form: `1e+06`, `123456`).
pub(crate) fn format_go_float(f: f64, is_f32: bool) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // Shortest round-trip digits and the decimal exponent, from Rust's `{:e}`.
    let sci = if is_f32 {
        format!("{:e}", f as f32)
    } else {
        format!("{f:e}")
    };
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if negative { "-" } else { "" };
    if !(-4..6).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{frac}e{esign}{:02}", exp.abs());
    }
    if exp < 0 {
        let zeros = "0".repeat(usize::try_from(-exp - 1).unwrap_or(0));
        return format!("{sign}0.{zeros}{digits}");
    }
    let point = usize::try_from(exp + 1).unwrap_or(0);
    if digits.len() <= point {
        format!("{sign}{digits}{}", "0".repeat(point - digits.len()))
    } else {
        format!("{sign}{}.{}", &digits[..point], &digits[point..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_structs_as_go_does() {
        let item = GoValue::Struct(vec![
            ("Id", GoValue::Str("x".into())),
            ("Count", GoValue::Int(42)),
            ("Genre", GoValue::Int(2)),
            (
                "At",
                GoValue::Struct(vec![
                    ("Seconds", GoValue::Int(1_700_000_000)),
                    ("Nanos", GoValue::Int(123_000_000)),
                ]),
            ),
            ("Missing", GoValue::Nil),
            (
                "Tags",
                GoValue::Slice(vec![GoValue::Str("a<b".into()), GoValue::Str("c".into())]),
            ),
            ("DisplayName", GoValue::Str("Item x".into())),
        ]);
        assert_eq!(
            String::from_utf8(encode("Item", &item).unwrap()).unwrap(),
            "<Item><Id>x</Id><Count>42</Count><Genre>2</Genre><At><Seconds>1700000000</Seconds>\
             <Nanos>123000000</Nanos></At><Tags>a&lt;b</Tags><Tags>c</Tags><DisplayName>Item x\
             </DisplayName></Item>"
        );
        let with_map = GoValue::Struct(vec![("Attrs", GoValue::Map)]);
        assert!(encode("Book", &with_map).is_err());
    }

    #[test]
    fn floats_format_like_go() {
        for (f, want) in [
            (4.5, "4.5"),
            (0.1, "0.1"),
            (1e21, "1e+21"),
            (1e6, "1e+06"),
            (123456.0, "123456"),
            (123456789.0, "1.23456789e+08"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.5e-7, "-2.5e-07"),
        ] {
            assert_eq!(format_go_float(f, false), want, "{f}");
        }
        assert_eq!(format_go_float(f64::from(0.1f32), true), "0.1");
    }
}
