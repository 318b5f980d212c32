//! Form encoding (Kratos' `encoding/form` marshalling): a message's JSON form flattened into
//! `key=value` pairs, written as Go's `url.Values.Encode` writes them, and error bodies read
//! back from that form.

use crate::errors::Error;

/// Upper-case hexadecimal digits, as Go's escapers write them.
pub(crate) const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Flattens a JSON value into form pairs: nested objects as dotted keys, arrays as repeated
/// keys; nulls, empty strings and empty arrays are left out (as Kratos' form encoder leaves
/// out unpopulated fields). The pairs are written as Go's `url.Values.Encode` writes them:
/// sorted by key.
pub(crate) fn encode_value(value: &serde_json::Value) -> String {
    fn walk(prefix: &str, value: &serde_json::Value, out: &mut Vec<(String, String)>) {
        match value {
            serde_json::Value::Null => {}
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&key, v, out);
                }
            }
            serde_json::Value::Array(items) => {
                for item in items {
                    walk(prefix, item, out);
                }
            }
            serde_json::Value::String(s) if s.is_empty() => {}
            serde_json::Value::String(s) => out.push((prefix.to_string(), s.clone())),
            other => out.push((prefix.to_string(), other.to_string())),
        }
    }
    let mut pairs = Vec::new();
    walk("", value, &mut pairs);
    encode_values(&mut pairs)
}

/// Go's `url.Values.Encode`: the pairs sorted by key (byte order; the values of one key keep
/// their order), each `key=value` escaped as `url.QueryEscape` does (everything but
/// `A-Z a-z 0-9 - _ . ~` as `%XX`, a space as `+`), joined with `&`.
pub fn encode_values(pairs: &mut [(String, String)]) -> String {
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = String::new();
    for (k, v) in pairs.iter() {
        if !out.is_empty() {
            out.push('&');
        }
        push_query_escaped(&mut out, k);
        out.push('=');
        push_query_escaped(&mut out, v);
    }
    out
}

/// Appends `value` escaped as Go's `url.QueryEscape`.
fn push_query_escaped(out: &mut String, value: &str) {
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else if b == b' ' {
            out.push('+');
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
}

/// Reads an error body written by the form codec (`code`, `reason`, `message` and
/// `metadata.<key>` pairs); `None` when `code` is not a number.
pub(crate) fn decode_error(bytes: &[u8]) -> Option<Error> {
    let mut err = Error::default();
    let mut metadata = std::collections::BTreeMap::new();
    for (k, v) in form_urlencoded::parse(bytes) {
        match k.as_ref() {
            "code" => err = Error::new(v.parse().ok()?, err.reason(), err.message()),
            "reason" => err = Error::new(err.code(), v, err.message()),
            "message" => err = Error::new(err.code(), err.reason(), v),
            other => {
                if let Some(key) = other.strip_prefix("metadata.") {
                    metadata.insert(key.to_string(), v.into_owned());
                }
            }
        }
    }
    Some(err.with_metadata(metadata))
}
