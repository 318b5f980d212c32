//! URL building for the generated HTTP client: path variables percent-encoded per segment
//! (Kratos v2 inserted them unescaped: issues #2857 and #2193), and the other fields as a query
//! string, in the forms the server's form binding reads.

use base64::Engine as _;

use crate::codec::form::HEX;
pub use crate::codec::form::encode_values;

/// Appends `value` percent-encoded as one path segment: everything but unreserved characters
/// (`A-Z a-z 0-9 - . _ ~`) is escaped, `/` included.
pub fn push_segment(path: &mut String, value: &str) {
    push_escaped(path, value, false);
}

/// Appends `value` for a multi-segment variable (`{name=shelves/*}`): escaped like a segment,
/// but its `/` separators are kept.
pub fn push_segments(path: &mut String, value: &str) {
    push_escaped(path, value, true);
}

fn push_escaped(path: &mut String, value: &str, keep_slash: bool) {
    for b in value.bytes() {
        let unreserved = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
        if unreserved || (keep_slash && b == b'/') {
            path.push(char::from(b));
        } else {
            path.push('%');
            path.push(char::from(HEX[usize::from(b >> 4)]));
            path.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
}

/// `path?query` with the pairs encoded as Go's `url.Values.Encode` does (see
/// [`encode_values`]); `path` alone when there are none.
pub fn with_query(mut path: String, mut pairs: Vec<(String, String)>) -> String {
    if pairs.is_empty() {
        return path;
    }
    path.push('?');
    path.push_str(&encode_values(&mut pairs));
    path
}

/// Removes the pairs of `keys` (path variables and the body field) and their sub-keys.
pub fn remove_keys(pairs: &mut Vec<(String, String)>, keys: &[&str]) {
    pairs.retain(|(k, _)| {
        !keys.iter().any(|key| {
            k == key
                || k.strip_prefix(key)
                    .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
        })
    });
}

/// Keeps only the pair of the first of `keys` that is present: `body: "*"` routes send only
/// the first populated field mask in the query, as Kratos.
pub fn keep_first(pairs: &mut Vec<(String, String)>, keys: &[&str]) {
    let first = keys
        .iter()
        .find(|key| pairs.iter().any(|(k, _)| k == *key))
        .copied();
    pairs.retain(|(k, _)| Some(k.as_str()) == first);
}

/// The text of a value in a URL: strings as they are.
pub fn text_str(v: &str) -> String {
    v.to_string()
}

/// The text of bytes: standard base64 (what the server's binding reads).
pub fn text_bytes(v: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(v)
}

/// The text of an enum value: its name when the number is defined, else the number.
pub fn text_enum<E: AsRef<str>>(n: i32, name: impl Fn(i32) -> Option<E>) -> String {
    match name(n) {
        Some(e) => e.as_ref().to_string(),
        None => n.to_string(),
    }
}

/// The text of a float or double: its shortest round-trip form, a non-finite value in its
/// proto3 JSON spelling (`NaN`, `Infinity`, `-Infinity`, which Go's `strconv.ParseFloat` and
/// the server's binding read).
pub fn text_float<F: Into<f64> + ToString + Copy>(v: &F) -> String {
    match crate::json::non_finite_name((*v).into()) {
        Some(name) => name.to_string(),
        None => v.to_string(),
    }
}

/// The text of a well-known type: its proto3 JSON form, unquoted for strings (RFC 3339
/// timestamps, durations, field masks, wrapper values, non-finite floats; JSON text for
/// structs). A value with no JSON form (a `Duration` or `Timestamp` outside the proto range)
/// is a 400 `CODEC` error, as the client's body encoding reports it, never a wrong text.
pub fn text_json<T: serde::Serialize>(v: &T) -> Result<String, crate::errors::Error> {
    match crate::json::to_value(v) {
        Ok(serde_json::Value::String(s)) => Ok(s),
        Ok(other) => Ok(other.to_string()),
        Err(e) => Err(crate::errors::Error::new(
            400,
            crate::codec::CODEC_REASON,
            format!("encoding a query parameter: {e}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_path_segments() {
        let mut p = String::from("/v1/");
        push_segment(&mut p, "a b/c%d");
        assert_eq!(p, "/v1/a%20b%2Fc%25d");
        let mut p = String::from("/v1/");
        push_segments(&mut p, "shelves/s 1/books/b");
        assert_eq!(p, "/v1/shelves/s%201/books/b");
        let mut p = String::new();
        push_segment(&mut p, "中");
        assert_eq!(p, "%E4%B8%AD");
    }

    #[test]
    fn builds_sorted_queries_without_path_and_body_keys() {
        let mut pairs = vec![
            ("z".to_string(), "1".to_string()),
            ("book.title".to_string(), "T".to_string()),
            ("bookmark".to_string(), "x y".to_string()),
            ("labels[k]".to_string(), "v".to_string()),
            ("a".to_string(), "&".to_string()),
        ];
        remove_keys(&mut pairs, &["book", "labels"]);
        assert_eq!(with_query("/p".into(), pairs), "/p?a=%26&bookmark=x+y&z=1");
        assert_eq!(with_query("/p".into(), vec![]), "/p");
    }

    #[test]
    fn floats_and_wrappers_have_proto3_texts() {
        assert_eq!(text_float(&f64::NAN), "NaN");
        assert_eq!(text_float(&f32::INFINITY), "Infinity");
        assert_eq!(text_float(&f64::NEG_INFINITY), "-Infinity");
        assert_eq!(text_float(&0.1f32), "0.1");
        assert_eq!(text_float(&-2.5f64), "-2.5");
        assert_eq!(
            text_json(&pbjson_types::DoubleValue {
                value: f64::NEG_INFINITY
            })
            .unwrap(),
            "-Infinity"
        );
        assert_eq!(
            text_json(&pbjson_types::FloatValue { value: 1.5 }).unwrap(),
            "1.5"
        );
    }

    #[test]
    fn durations_and_timestamps_out_of_range_have_no_text() {
        use crate::types::{Duration, Timestamp};
        assert_eq!(
            text_json(&Duration {
                seconds: -1,
                nanos: -500_000_000
            })
            .unwrap(),
            "-1.500s"
        );
        for d in [
            Duration {
                seconds: i64::MIN,
                nanos: 0,
            },
            Duration {
                seconds: 315_576_000_001,
                nanos: 0,
            },
            Duration {
                seconds: 1,
                nanos: -1,
            },
        ] {
            let err = text_json(&d).unwrap_err();
            assert_eq!((err.code(), err.reason()), (400, "CODEC"), "{d:?}");
        }
        for t in [
            Timestamp {
                seconds: i64::MAX,
                nanos: 0,
            },
            Timestamp {
                seconds: 0,
                nanos: -1,
            },
        ] {
            let err = text_json(&t).unwrap_err();
            assert_eq!((err.code(), err.reason()), (400, "CODEC"), "{t:?}");
        }
    }

    #[test]
    fn values_encode_as_go() {
        let mut pairs = vec![
            ("b".to_string(), "2".to_string()),
            ("a.z".to_string(), "x".to_string()),
            ("b".to_string(), "1".to_string()),
            ("a".to_string(), "~*+ /:中".to_string()),
            ("A".to_string(), String::new()),
            ("m[k]".to_string(), "v".to_string()),
        ];
        assert_eq!(
            encode_values(&mut pairs),
            "A=&a=~%2A%2B+%2F%3A%E4%B8%AD&a.z=x&b=2&b=1&m%5Bk%5D=v"
        );
    }
}
