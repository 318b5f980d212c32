//! Form decoding into messages: query strings, path variables and
//! `application/x-www-form-urlencoded` bodies, with Kratos' rules (`encoding/form`).
//!
//! The HTTP plugin generates, for each message a request can bind, a function of type
//! [`FormFn`] that sets one field from a key path and its values; this module splits keys,
//! groups values and parses them. Rules, as Kratos:
//!
//! - a key is a field path split at `.`; each segment is a proto or JSON field name;
//!   `name[]` is an array-style key and `name[k]` / `name.k` address a map entry;
//! - unknown fields are ignored; a singular field given twice is an error; an empty value
//!   leaves a singular field unset; repeated fields take every value, in order (no comma
//!   splitting); for maps the last value wins; a second member of a oneof is an error;
//! - scalars parse as Go's `strconv` does (bools `1 t T TRUE true True 0 f F FALSE false
//!   False`, integers in base 10 with range checks, floats with range checks), bytes as
//!   standard base64, enums by value name or defined number; well-known types from their
//!   string forms (RFC 3339 timestamps, Go-style durations, comma-separated field masks,
//!   JSON structs, wrappers from their value).

use std::borrow::Cow;
use std::str::FromStr;

use base64::Engine as _;

/// One segment of a key: `name`, `name[]` (`index == Some("")`) or `name[key]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seg<'a> {
    /// The field name.
    pub name: &'a str,
    /// The bracketed part, if any.
    pub index: Option<&'a str>,
}

impl std::fmt::Display for Seg<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.index {
            Some(i) => write!(f, "{}[{i}]", self.name),
            None => f.write_str(self.name),
        }
    }
}

/// A form-binding failure (answered 400 with reason `CODEC`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FormError(pub String);

/// Sets the field a key path names, from the key's values. Generated per message.
pub type FormFn<T> = fn(&mut T, &[Seg<'_>], &[Cow<'_, str>]) -> Result<(), FormError>;

/// Splits a key into segments: `a.b[k].c` → `a`, `b[k]`, `c`.
pub fn parse_key(key: &str) -> Vec<Seg<'_>> {
    let mut out = Vec::new();
    let mut rest = key;
    while !rest.is_empty() {
        // A bracket may contain dots (`m[a.b]`), so find the segment end outside brackets.
        let mut end = rest.len();
        let mut depth = 0usize;
        for (i, c) in rest.char_indices() {
            match c {
                '[' => depth += 1,
                ']' => depth = depth.saturating_sub(1),
                '.' if depth == 0 => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        let seg = &rest[..end];
        out.push(match seg.find('[') {
            Some(open) if seg.ends_with(']') => Seg {
                name: &seg[..open],
                index: Some(&seg[open + 1..seg.len() - 1]),
            },
            _ => Seg {
                name: seg,
                index: None,
            },
        });
        rest = rest.get(end + 1..).unwrap_or("");
    }
    out
}

/// Decodes `k=v&k2=v2` into `msg` with `bind`, the pairs read as Go's `url.ParseQuery` reads
/// them (see [`query_pairs`]). Keys are processed in order of first appearance, each with all
/// its values.
pub fn decode<T>(msg: &mut T, input: &str, bind: FormFn<T>) -> Result<(), FormError> {
    if input.is_empty() {
        return Ok(());
    }
    let groups = group(query_pairs(input));
    for (key, values) in &groups {
        bind(msg, &key_path(key)?, values)?;
    }
    Ok(())
}

/// The values of each key, keys in order of first appearance. One hash lookup per pair: many
/// distinct keys cost linear work.
fn group<K: std::hash::Hash + Eq, V>(
    pairs: impl IntoIterator<Item = (K, V)>,
) -> indexmap::IndexMap<K, Vec<V>> {
    let mut groups = indexmap::IndexMap::<K, Vec<V>>::new();
    for (k, v) in pairs {
        groups.entry(k).or_default().push(v);
    }
    groups
}

/// The segments of a key, at most [`crate::codec::MAX_DEPTH`] of them (each one a level of
/// the message that binding descends into).
fn key_path(key: &str) -> Result<Vec<Seg<'_>>, FormError> {
    let path = parse_key(key);
    if path.len() > crate::codec::MAX_DEPTH {
        return Err(FormError(format!(
            "key nested deeper than {} levels",
            crate::codec::MAX_DEPTH
        )));
    }
    Ok(path)
}

/// The pairs of a query string or form body, as Go's `url.ParseQuery` (what Kratos binds
/// from) reads them: pairs are separated by `&`; a pair holding a `;` is dropped, as is an
/// empty one; key and value are split at the first `=` and unescaped (`%XX`, `+` as a space);
/// a pair whose key or value has an invalid escape (a `%` not followed by two hexadecimal
/// digits) is dropped, and the other pairs are kept. Decoded bytes that are not UTF-8 are
/// replaced by U+FFFD.
pub fn query_pairs(input: &str) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
    input.split('&').filter_map(|pair| {
        if pair.is_empty() || pair.contains(';') {
            return None;
        }
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        Some((query_unescape(key)?, query_unescape(value)?))
    })
}

/// Go's `url.QueryUnescape`: `%XX` escapes and `+` as a space; `None` for an invalid escape
/// (anything but `%` and two hexadecimal digits: `%zz`, `%+7`, `%-1`, `% 7`, `%7`, a trailing
/// `%`; see [`kratos_path_template::percent`]).
fn query_unescape(s: &str) -> Option<Cow<'_, str>> {
    if !s.bytes().any(|b| b == b'%' || b == b'+') {
        return Some(Cow::Borrowed(s));
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                out.push(kratos_path_template::percent::escape_at(bytes, i)?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Some(match String::from_utf8(out) {
        Ok(text) => Cow::Owned(text),
        Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    })
}

/// Decodes `(key, value)` pairs (keys in the form syntax) into `msg`, grouping the values of
/// each key in order of first appearance.
pub fn decode_pairs<T>(
    msg: &mut T,
    pairs: Vec<(String, String)>,
    bind: FormFn<T>,
) -> Result<(), FormError> {
    let groups = group(pairs.into_iter().map(|(k, v)| (k, Cow::Owned(v))));
    for (key, values) in &groups {
        bind(msg, &key_path(key)?, values)?;
    }
    Ok(())
}

/// The segment must be the last of the key (a scalar field cannot be descended into).
pub fn leaf(seg: &Seg<'_>, rest: &[Seg<'_>]) -> Result<(), FormError> {
    match rest.first() {
        None => Ok(()),
        Some(_) => Err(FormError(format!(
            "invalid path: \"{seg}\" is not a message"
        ))),
    }
}

/// A bracketed key (`x[k]`) on a field that is not a map.
pub fn not_a_map(seg: &Seg<'_>) -> FormError {
    FormError(format!("invalid path: \"{seg}\" is not a map"))
}

/// The one value of a singular field: `None` for an empty value, an error for several.
pub fn single<'v>(field: &str, values: &'v [Cow<'v, str>]) -> Result<Option<&'v str>, FormError> {
    match values {
        [] => Ok(None),
        [v] if v.is_empty() => Ok(None),
        [v] => Ok(Some(v)),
        many => Err(FormError(format!(
            "too many values for field \"{field}\": {}",
            many.iter()
                .map(|v| v.as_ref())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// The last value (maps: the last one wins).
pub fn last<'v>(values: &'v [Cow<'v, str>]) -> Option<&'v str> {
    values.last().map(|v| v.as_ref())
}

/// The key of a map entry: `m[k]` or `m.k` (exactly one more segment).
pub fn map_key<'a>(seg: &Seg<'a>, rest: &[Seg<'a>]) -> Result<&'a str, FormError> {
    match (seg.index, rest) {
        (Some(k), []) if !k.is_empty() => Ok(k),
        (None, [key]) if key.index.is_none() => Ok(key.name),
        _ => Err(FormError(format!(
            "invalid map key path: \"{}\"",
            std::iter::once(seg)
                .chain(rest)
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(".")
        ))),
    }
}

fn field_error(list: bool, field: &str, detail: impl std::fmt::Display) -> FormError {
    let what = if list { "list" } else { "field" };
    FormError(format!("parsing {what} \"{field}\": {detail}"))
}

/// A value of a field or of a list (`list` selects the error wording).
#[derive(Debug, Clone, Copy)]
pub struct Target<'f> {
    /// The field's proto name.
    pub field: &'f str,
    /// Whether the field is repeated.
    pub list: bool,
}

impl Target<'_> {
    fn error(&self, detail: impl std::fmt::Display) -> FormError {
        field_error(self.list, self.field, detail)
    }

    /// A bool, as Go's `strconv.ParseBool`.
    pub fn bool(&self, v: &str) -> Result<bool, FormError> {
        match v {
            "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
            "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
            _ => Err(self.error(format!("invalid bool \"{v}\""))),
        }
    }

    /// An integer in base 10, range-checked by its type.
    pub fn int<T: FromStr>(&self, v: &str) -> Result<T, FormError>
    where
        T::Err: std::fmt::Display,
    {
        v.parse::<T>()
            .map_err(|e| self.error(format!("invalid integer \"{v}\": {e}")))
    }

    /// A double; out-of-range values are errors, as in Go (Rust would give infinity).
    pub fn f64(&self, v: &str) -> Result<f64, FormError> {
        let x: f64 = v
            .parse()
            .map_err(|e| self.error(format!("invalid number \"{v}\": {e}")))?;
        if x.is_infinite() && !is_infinity_literal(v) {
            return Err(self.error(format!("value out of range \"{v}\"")));
        }
        Ok(x)
    }

    /// A float, as Go's `ParseFloat(v, 32)`: the decimal rounded once, to the nearest `f32`
    /// (not through `f64`, which could round twice); an error when that rounding overflows,
    /// so `3.4028235e38` (which rounds to `f32::MAX`) is accepted and `3.5e38` is not.
    pub fn f32(&self, v: &str) -> Result<f32, FormError> {
        let x: f32 = v
            .parse()
            .map_err(|e| self.error(format!("invalid number \"{v}\": {e}")))?;
        if x.is_infinite() && !is_infinity_literal(v) {
            return Err(self.error(format!("value out of range \"{v}\"")));
        }
        Ok(x)
    }

    /// Bytes, as standard base64 (Kratos' `StdEncoding`).
    pub fn bytes(&self, v: &str) -> Result<Vec<u8>, FormError> {
        base64::engine::general_purpose::STANDARD
            .decode(v)
            .map_err(|e| self.error(format!("invalid base64 \"{v}\": {e}")))
    }

    /// Bytes of a `google.protobuf.BytesValue`: standard base64, else URL-safe base64 (with
    /// or without padding), as Kratos reads wrappers.
    pub fn bytes_lenient(&self, v: &str) -> Result<Vec<u8>, FormError> {
        use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
        STANDARD
            .decode(v)
            .or_else(|_| URL_SAFE.decode(v))
            .or_else(|_| URL_SAFE_NO_PAD.decode(v))
            .map_err(|e| self.error(format!("invalid base64 \"{v}\": {e}")))
    }

    /// An enum value by name, or by number when the number is defined.
    pub fn enumeration<E: Into<i32>>(
        &self,
        v: &str,
        from_name: fn(&str) -> Option<E>,
        is_defined: fn(i32) -> bool,
    ) -> Result<i32, FormError> {
        if let Some(e) = from_name(v) {
            return Ok(e.into());
        }
        match v.parse::<i32>() {
            Ok(n) if is_defined(n) => Ok(n),
            _ => Err(self.error(format!("\"{v}\" is not a valid value"))),
        }
    }

    /// A timestamp in RFC 3339 (`null` is none): seconds and nanos since the epoch, UTC,
    /// within the range a `google.protobuf.Timestamp` allows (see
    /// [`crate::types::Timestamp::parse_rfc3339`]).
    pub fn timestamp(&self, v: &str) -> Result<Option<(i64, i32)>, FormError> {
        if v == "null" {
            return Ok(None);
        }
        crate::types::Timestamp::read_rfc3339(v)
            .map(|t| Some((t.seconds, t.nanos)))
            .map_err(|e| self.error(format!("invalid timestamp \"{v}\": {e}")))
    }

    /// A duration in Go's syntax (`1h2m3.5s`, `90s`, `-1.5ms`; `null` is none), read by the
    /// runtime's one Go duration parser: every byte is checked, and any value it reads is
    /// within the range of a `google.protobuf.Duration`. Seconds and nanos have one sign.
    pub fn duration(&self, v: &str) -> Result<Option<(i64, i32)>, FormError> {
        if v == "null" {
            return Ok(None);
        }
        let nanos = crate::go_duration::parse(v).map_err(|e| self.error(e))?;
        crate::types::Duration::from_nanos(i128::from(nanos))
            .map(|d| Some((d.seconds, d.nanos)))
            .ok_or_else(|| self.error(format!("duration \"{v}\" is out of range")))
    }

    /// A field mask: comma-separated paths, each turned from lowerCamel to snake_case.
    pub fn field_mask(&self, v: &str) -> Vec<String> {
        v.split(',')
            .filter(|p| !p.is_empty())
            .map(crate::types::field_mask::path_to_snake)
            .collect()
    }

    /// A `google.protobuf.Struct` from its JSON text.
    pub fn json<T: serde::de::DeserializeOwned>(&self, v: &str) -> Result<T, FormError> {
        serde_json::from_str(v).map_err(|e| self.error(format!("invalid JSON: {e}")))
    }
}

fn is_infinity_literal(v: &str) -> bool {
    let v = v.trim_start_matches(['+', '-']).to_ascii_lowercase();
    v == "inf" || v == "infinity"
}

/// Parses one value of a field for generated code: returns `None` to leave the field unset.
pub type Parse<'v, T> = fn(&Target<'_>, &'v str) -> Result<Option<T>, FormError>;

/// The value of a singular field (scalar, enum or well-known type) from its key and values:
/// checks the key ends here and is not a map key, takes the single value (none when empty)
/// and parses it.
pub fn one<'v, T>(
    seg: &Seg<'_>,
    rest: &[Seg<'_>],
    values: &'v [Cow<'v, str>],
    field: &str,
    parse: Parse<'v, T>,
) -> Result<Option<T>, FormError> {
    scalar_key(seg, rest)?;
    match single(field, values)? {
        Some(v) => parse(&Target { field, list: false }, v),
        None => Ok(None),
    }
}

/// The values of a repeated field: every value, parsed, in order.
pub fn each<'v, T>(
    seg: &Seg<'_>,
    rest: &[Seg<'_>],
    values: &'v [Cow<'v, str>],
    field: &str,
    parse: Parse<'v, T>,
) -> Result<Vec<T>, FormError> {
    scalar_key(seg, rest)?;
    let target = Target { field, list: true };
    let mut out = Vec::with_capacity(values.len());
    for v in values {
        if let Some(x) = parse(&target, v)? {
            out.push(x);
        }
    }
    Ok(out)
}

/// A map entry: the key from `m[k]` or `m.k`, the last value; both parsed.
pub fn entry<'k, 'v, K, V>(
    seg: &Seg<'k>,
    rest: &[Seg<'k>],
    values: &'v [Cow<'v, str>],
    field: &str,
    key: Parse<'k, K>,
    value: Parse<'v, V>,
) -> Result<Option<(K, V)>, FormError> {
    let k = map_key(seg, rest)?;
    let target = Target { field, list: false };
    let Some(v) = last(values) else {
        return Ok(None);
    };
    match (key(&target, k)?, value(&target, v)?) {
        (Some(k), Some(v)) => Ok(Some((k, v))),
        _ => Ok(None),
    }
}

/// Whether a singular message field descends (`a.b=1`); a value for the message itself is
/// refused, as only well-known types have string forms.
pub fn descend(
    seg: &Seg<'_>,
    rest: &[Seg<'_>],
    values: &[Cow<'_, str>],
    field: &str,
    full_name: &str,
) -> Result<bool, FormError> {
    if seg.index.is_some_and(|i| !i.is_empty()) {
        return Err(not_a_map(seg));
    }
    if !rest.is_empty() {
        return Ok(true);
    }
    match single(field, values)? {
        Some(_) => Err(unsupported_message(full_name)),
        None => Ok(false),
    }
}

/// A key path into a repeated message field, which form keys cannot address.
pub fn repeated_message(seg: &Seg<'_>, rest: &[Seg<'_>], full_name: &str) -> FormError {
    if rest.is_empty() {
        unsupported_message(full_name)
    } else {
        FormError(format!("invalid path: \"{seg}\" is not a message"))
    }
}

fn scalar_key(seg: &Seg<'_>, rest: &[Seg<'_>]) -> Result<(), FormError> {
    if seg.index.is_some_and(|i| !i.is_empty()) {
        return Err(not_a_map(seg));
    }
    leaf(seg, rest)
}

/// Parser of string fields (for [`one`], [`each`], [`entry`]).
pub fn string(_: &Target<'_>, v: &str) -> Result<Option<String>, FormError> {
    Ok(Some(v.to_string()))
}

/// Parser of bool fields.
pub fn boolean(t: &Target<'_>, v: &str) -> Result<Option<bool>, FormError> {
    t.bool(v).map(Some)
}

/// Parser of integer fields of any width and signedness.
pub fn int<T: FromStr>(t: &Target<'_>, v: &str) -> Result<Option<T>, FormError>
where
    T::Err: std::fmt::Display,
{
    t.int(v).map(Some)
}

/// Parser of float fields.
pub fn float(t: &Target<'_>, v: &str) -> Result<Option<f32>, FormError> {
    t.f32(v).map(Some)
}

/// Parser of double fields.
pub fn double(t: &Target<'_>, v: &str) -> Result<Option<f64>, FormError> {
    t.f64(v).map(Some)
}

/// Parser of bytes fields (`Vec<u8>` or `bytes::Bytes`).
pub fn bytes<B: From<Vec<u8>>>(t: &Target<'_>, v: &str) -> Result<Option<B>, FormError> {
    t.bytes(v).map(|b| Some(B::from(b)))
}

/// A second member of a oneof was given.
pub fn oneof_conflict(oneof: &str) -> FormError {
    FormError(format!("field already set for oneof \"{oneof}\""))
}

/// A message field given a value (only well-known types have string forms).
pub fn unsupported_message(full_name: &str) -> FormError {
    FormError(format!("unsupported message type: \"{full_name}\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_split_into_segments() {
        assert_eq!(
            parse_key("a.b[k.x].c[]"),
            [
                Seg {
                    name: "a",
                    index: None
                },
                Seg {
                    name: "b",
                    index: Some("k.x")
                },
                Seg {
                    name: "c",
                    index: Some("")
                },
            ]
        );
        assert_eq!(
            parse_key("labels.k"),
            [
                Seg {
                    name: "labels",
                    index: None
                },
                Seg {
                    name: "k",
                    index: None
                }
            ]
        );
    }

    #[test]
    fn scalars_parse_like_go() {
        let t = Target {
            field: "x",
            list: false,
        };
        assert!(t.bool("T").unwrap() && !t.bool("False").unwrap());
        assert!(t.bool("yes").is_err());
        assert_eq!(t.int::<i32>("-5").unwrap(), -5);
        assert!(t.int::<i32>("2147483648").is_err());
        assert!(t.int::<u64>("-1").is_err());
        assert!(t.f32("1e40").is_err());
        // Rounded once to the nearest f32: the largest decimals that round to f32::MAX are
        // accepted, the first beyond the rounding boundary is not.
        assert_eq!(t.f32("3.4028235e38").unwrap(), f32::MAX);
        assert_eq!(t.f32("-3.40282356e38").unwrap(), f32::MIN);
        assert!(t.f32("3.4028236e38").is_err());
        assert!(t.f32("3.5e38").is_err());
        assert_eq!(t.f32("-Inf").unwrap(), f32::NEG_INFINITY);
        assert_eq!(t.f32("1e-50").unwrap(), 0.0);
        // A decimal halfway between two f32 that f64 would round towards one first.
        assert_eq!(t.f32("1.00000005960464477539062501").unwrap(), 1.000_000_1);
        assert!(t.f64("1e400").is_err());
        assert_eq!(t.f64("-inf").unwrap(), f64::NEG_INFINITY);
        assert_eq!(t.bytes("aGVsbG8=").unwrap(), b"hello");
        assert!(t.bytes("aGVsbG8-_w").is_err());
        assert_eq!(t.bytes_lenient("aGk_Pg").unwrap(), b"hi?>");
        assert_eq!(t.bytes_lenient("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(
            t.int::<i32>("abc").unwrap_err().to_string(),
            "parsing field \"x\": invalid integer \"abc\": invalid digit found in string"
        );
    }

    #[test]
    fn durations_follow_go_and_refuse_every_bad_byte() {
        let t = Target {
            field: "timeout",
            list: false,
        };
        for (text, want) in [
            ("90s", (90, 0)),
            ("1m30s", (90, 0)),
            ("1.5s", (1, 500_000_000)),
            ("-1.5ms", (0, -1_500_000)),
            ("1h2m3.5s", (3723, 500_000_000)),
            ("0", (0, 0)),
            ("-9223372036854775808ns", (-9_223_372_036, -854_775_808)),
        ] {
            assert_eq!(t.duration(text).unwrap(), Some(want), "{text}");
        }
        assert_eq!(t.duration("null").unwrap(), None);
        // A non-digit in the fraction (the fuzzing find), in the integer part, around the
        // units, and values past Go's range.
        for bad in [
            "1.5.5s",
            "1..5s",
            "1.+5s",
            "1.-5s",
            "1.5/s",
            "1.5:s",
            "1.\u{0}s",
            "1\u{ff10}s",
            "",
            "abc",
            "1",
            "1x",
            "s",
            "1.s.",
            "-",
            "--1s",
            "1 s",
            "9223372036854775808ns",
        ] {
            let err = t.duration(bad).unwrap_err().to_string();
            assert!(
                err.starts_with("parsing field \"timeout\": time: "),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn timestamps_and_masks() {
        let t = Target {
            field: "since",
            list: false,
        };
        assert_eq!(
            t.timestamp("2023-01-02T03:04:05.5+02:00").unwrap(),
            Some((1672621445, 500_000_000))
        );
        assert_eq!(t.timestamp("null").unwrap(), None);
        for bad in [
            "yesterday",
            "0000-01-01T00:00:00Z",
            "2016-12-31T23:59:60Z",
            "2023-01-02T03:04:05.5x+02:00",
            "2023-01-02T03:04:05.+5Z",
            "10000-01-01T00:00:00Z",
        ] {
            let err = t.timestamp(bad).unwrap_err().to_string();
            assert!(
                err.starts_with(&format!(
                    "parsing field \"since\": invalid timestamp \"{bad}\": "
                )),
                "{err}"
            );
        }
        assert_eq!(t.field_mask("userId,sub.naming"), ["user_id", "sub.naming"]);
    }

    #[test]
    fn values_group_by_key() {
        fn bind(
            out: &mut Vec<String>,
            path: &[Seg<'_>],
            values: &[Cow<'_, str>],
        ) -> Result<(), FormError> {
            out.push(format!(
                "{:?}={}",
                path.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                values.join("|")
            ));
            Ok(())
        }
        let mut out = Vec::new();
        decode(&mut out, "a=1&b.c=x+y&a=2&m%5Bk%5D=v", bind).unwrap();
        assert_eq!(out, ["[\"a\"]=1|2", "[\"b\", \"c\"]=x y", "[\"m[k]\"]=v"]);
        let values = [Cow::from("a"), Cow::from("b")];
        assert_eq!(
            single("q", &values).unwrap_err().to_string(),
            "too many values for field \"q\": a, b"
        );
        assert_eq!(single("q", &[Cow::from("")]).unwrap(), None);
    }

    #[test]
    fn many_keys_group_in_order_of_first_appearance() {
        let input: Vec<String> = (0..40)
            .flat_map(|i| [format!("k{i}=a"), format!("k{}=b", i / 2)])
            .collect();
        let input = input.join("&");
        let groups = group(form_urlencoded::parse(input.as_bytes()));
        assert_eq!(groups.len(), 40);
        for (i, (key, values)) in groups.iter().enumerate() {
            assert_eq!(key, &format!("k{i}"));
            // k{i} gets "a" from pair 2i, and "b" from pairs 4i+1 and 4i+3 when they exist.
            let bs = (0..40).filter(|j| j / 2 == i).count();
            assert_eq!(values.len(), 1 + bs, "{key}");
            assert_eq!(values[0], "a");
        }
    }

    #[test]
    fn many_distinct_keys_decode_in_linear_time() {
        // 200k distinct keys: searching the groups for each would take about 2*10^10 key
        // comparisons; grouping by hash takes 200k lookups. The generous bound only catches the
        // quadratic grouping.
        fn count(n: &mut usize, _: &[Seg<'_>], _: &[Cow<'_, str>]) -> Result<(), FormError> {
            *n += 1;
            Ok(())
        }
        let worker = std::thread::spawn(|| {
            let input: Vec<String> = (0..200_000).map(|i| format!("labels[k{i}]=v")).collect();
            let mut n = 0usize;
            decode(&mut n, &input.join("&"), count).map(|()| n)
        });
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !worker.is_finished() {
            assert!(
                std::time::Instant::now() < deadline,
                "decoding 200k distinct keys did not finish within 60 s"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert_eq!(worker.join().unwrap(), Ok(200_000));
    }

    fn parsed(input: &str) -> Vec<(String, String)> {
        query_pairs(input)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn query_pairs_follow_go_parse_query() {
        assert_eq!(
            parsed("a=1&b=x+y%21&c&=v&d=&e=%E4%B8%AD"),
            owned(&[
                ("a", "1"),
                ("b", "x y!"),
                ("c", ""),
                ("", "v"),
                ("d", ""),
                ("e", "中")
            ])
        );
        // An invalid escape in a key or a value drops that pair only.
        assert_eq!(
            parsed("query=%zz&page=2&%g1=x&ok=%41&tail=%4&pct=100%"),
            owned(&[("page", "2"), ("ok", "A")])
        );
        // A semicolon is no separator (Go 1.17+): its pair is dropped.
        assert_eq!(parsed("a=1;b=2&c=3"), owned(&[("c", "3")]));
        // Empty pairs are skipped; only the first `=` splits.
        assert_eq!(parsed("&&a=b=c&"), owned(&[("a", "b=c")]));
        // A sign, a space or a single digit after `%` is no escape either (`%+7` is not 0x07).
        assert_eq!(
            parsed("a=%+7&b=%-1&c=%+F&d=%7&e=x%&f=%0x&g=%41%42&h=% 7&%+7=k"),
            owned(&[("g", "AB")])
        );
        assert_eq!(parsed("q=%2B7&r=+%2b"), owned(&[("q", "+7"), ("r", " +")]));
        // Bytes that are not UTF-8 become U+FFFD.
        assert_eq!(parsed("x=%FF"), owned(&[("x", "\u{FFFD}")]));
    }
}
