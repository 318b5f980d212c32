//! Protobuf types as OpenAPI schemas (gnostic's reflector and well-known types).

use std::collections::BTreeMap;

use prost_reflect::{EnumDescriptor, FieldDescriptor, Kind, MessageDescriptor};
use serde_json::{Map, Value as Json, json};

use crate::options::{Naming, Options};

/// The description gnostic gives the Duration well-known type.
const DURATION_DESCRIPTION: &str = "Represents a a duration between -315,576,000,000s and 315,576,000,000s (around 10000 years). Precision is in nanoseconds. 1 nanosecond is represented as 0.000000001s";
const DURATION_PATTERN: &str = r"^-?(?:0|[1-9][0-9]{0,11})(?:\.[0-9]{1,9})?s$";

/// A `Duration` query parameter: the server's form reader takes Go's duration syntax, whose
/// range ends near 9,223,372,036 s. The pattern is the JSON form (`1.5s`) within nine integer
/// digits of seconds, which both readers take, and Go's bare `0`.
pub(crate) const QUERY_DURATION_PATTERN: &str =
    r"^(?:0|-?(?:0|[1-9][0-9]{0,8})(?:\.[0-9]{1,9})?s)$";

/// A component the document needs, by kind.
#[derive(Debug, Clone)]
pub(crate) enum Component {
    /// A message reflected from its descriptor.
    Message(MessageDescriptor),
    /// `google.protobuf.Any`, with gnostic's fixed schema.
    Any,
    /// `google.protobuf.Value`, with gnostic's fixed schema.
    Value,
    /// `google.rpc.Status`, with gnostic's fixed schema.
    Status,
}

/// Maps types to schemas and records the components they refer to.
#[derive(Debug)]
pub(crate) struct Reflector<'a> {
    pub(crate) options: &'a Options,
    /// Components referred to so far, by name (the first type to claim a name keeps it).
    pub(crate) needed: BTreeMap<String, Component>,
    /// The names added to `needed` since [`Reflector::take_fresh`] was last called.
    fresh: Vec<String>,
}

impl<'a> Reflector<'a> {
    pub(crate) fn new(options: &'a Options) -> Self {
        Reflector {
            options,
            needed: BTreeMap::new(),
            fresh: Vec::new(),
        }
    }

    /// The components first referred to since the last call, sorted by name.
    pub(crate) fn take_fresh(&mut self) -> Vec<(String, Component)> {
        let mut names = std::mem::take(&mut self.fresh);
        names.sort();
        names
            .into_iter()
            .filter_map(|name| {
                let component = self.needed.get(&name)?.clone();
                Some((name, component))
            })
            .collect()
    }

    /// The name of a field as a property or parameter.
    pub(crate) fn field_name(&self, field: &FieldDescriptor) -> String {
        match self.options.naming {
            Naming::Json => field.json_name().to_string(),
            Naming::Proto => field.name().to_string(),
        }
    }

    /// The component name of a message: `Parent_Child` (immediate parent only), first letter
    /// upper-cased under json naming, prefixed with the package under fq naming.
    pub(crate) fn message_name(&self, message: &MessageDescriptor) -> String {
        let mut name = match message.parent_message() {
            Some(parent) => format!("{}_{}", parent.name(), message.name()),
            None => message.name().to_string(),
        };
        if self.options.naming == Naming::Json {
            let mut chars = name.chars();
            if let Some(first) = chars.next() {
                name = if name.chars().count() == 1 {
                    name.to_lowercase()
                } else {
                    first.to_uppercase().chain(chars).collect()
                };
            }
        }
        let package = message.package_name();
        if self.options.fq_schema_naming && !package.is_empty() {
            name = format!("{package}.{name}");
        }
        name
    }

    fn component_name(&self, component: &Component) -> String {
        let fq = self.options.fq_schema_naming;
        match component {
            Component::Message(m) => self.message_name(m),
            Component::Any if fq => "google.protobuf.Any".into(),
            Component::Any => "GoogleProtobufAny".into(),
            Component::Value if fq => "google.protobuf.Value".into(),
            Component::Value => "GoogleProtobufValue".into(),
            Component::Status if fq => "google.rpc.Status".into(),
            Component::Status => "Status".into(),
        }
    }

    /// A `$ref` to a component, recording that the document needs it.
    pub(crate) fn reference(&mut self, component: Component) -> Json {
        let name = self.component_name(&component);
        let reference = format!("#/components/schemas/{name}");
        if let std::collections::btree_map::Entry::Vacant(entry) = self.needed.entry(name) {
            self.fresh.push(entry.key().clone());
            entry.insert(component);
        }
        json!({ "$ref": reference })
    }

    /// The schema of a message used as a type: a well-known type's inline schema, a `$ref`,
    /// or `None` for `google.protobuf.Empty`.
    pub(crate) fn message_type(&mut self, message: &MessageDescriptor) -> Option<Json> {
        let schema = match message.full_name() {
            "google.protobuf.Timestamp" | "google.type.DateTime" => {
                json!({"type": "string", "format": "date-time"})
            }
            "google.protobuf.Duration" => json!({
                "pattern": DURATION_PATTERN,
                "type": "string",
                "description": DURATION_DESCRIPTION,
            }),
            "google.type.Date" => json!({"type": "string", "format": "date"}),
            "google.protobuf.FieldMask" => json!({"type": "string", "format": "field-mask"}),
            "google.protobuf.Struct" => json!({"type": "object"}),
            "google.protobuf.Empty" => return None,
            "google.protobuf.Value" => self.reference(Component::Value),
            "google.protobuf.Any" => self.reference(Component::Any),
            "google.rpc.Status" => self.reference(Component::Status),
            "google.protobuf.BoolValue" => json!({"type": "boolean"}),
            "google.protobuf.BytesValue" => bytes_schema(),
            "google.protobuf.Int32Value" => json!({"type": "integer", "format": "int32"}),
            "google.protobuf.UInt32Value" => json!({"type": "integer", "format": "uint32"}),
            "google.protobuf.Int64Value" => int64_schema(true),
            "google.protobuf.UInt64Value" => int64_schema(false),
            "google.protobuf.StringValue" | "google.api.HttpBody" => json!({"type": "string"}),
            "google.protobuf.FloatValue" => float_schema(),
            "google.protobuf.DoubleValue" => json!({"type": "number", "format": "double"}),
            _ => self.reference(Component::Message(message.clone())),
        };
        Some(schema)
    }

    /// The schema of one value of `kind`.
    pub(crate) fn kind(&mut self, kind: &Kind) -> Option<Json> {
        let (ty, format) = match kind {
            Kind::Message(m) => return self.message_type(m),
            Kind::Float => return Some(float_schema()),
            Kind::Enum(e) => return Some(self.enumeration(e)),
            Kind::Double => ("number", Some("double")),
            Kind::Int32 => ("integer", Some("int32")),
            Kind::Sint32 => ("integer", Some("sint32")),
            Kind::Sfixed32 => ("integer", Some("sfixed32")),
            Kind::Uint32 => ("integer", Some("uint32")),
            Kind::Fixed32 => ("integer", Some("fixed32")),
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => return Some(int64_schema(true)),
            Kind::Uint64 | Kind::Fixed64 => return Some(int64_schema(false)),
            Kind::Bool => ("boolean", None),
            Kind::String => ("string", None),
            Kind::Bytes => return Some(bytes_schema()),
        };
        let mut schema = Map::new();
        schema.insert("type".into(), Json::String(ty.into()));
        if let Some(format) = format {
            schema.insert("format".into(), Json::String(format.into()));
        }
        Some(Json::Object(schema))
    }

    fn enumeration(&self, e: &EnumDescriptor) -> Json {
        if self.options.enum_as_string {
            let names: Vec<Json> = e.values().map(|v| Json::String(v.name().into())).collect();
            json!({"enum": names, "type": "string", "format": "enum"})
        } else {
            json!({"type": "integer", "format": "enum"})
        }
    }

    /// The schema of a field: maps as objects, lists as arrays; `None` when the field has no
    /// JSON form (`google.protobuf.Empty`).
    pub(crate) fn field(&mut self, field: &FieldDescriptor) -> Option<Json> {
        if field.is_map() {
            let Kind::Message(entry) = field.kind() else {
                return None;
            };
            let value = self.kind(&entry.map_entry_value_field().kind())?;
            return Some(json!({"type": "object", "additionalProperties": value}));
        }
        let schema = self.kind(&field.kind())?;
        Some(if field.is_list() {
            json!({"type": "array", "items": schema})
        } else {
            schema
        })
    }

    /// The fixed schema of a well-known component.
    pub(crate) fn fixed_component(&mut self, component: &Component) -> Option<Json> {
        Some(match component {
            Component::Any => json!({
                "type": "object",
                "properties": {"@type": {"type": "string", "description": "The type of the serialized message."}},
                "additionalProperties": true,
                "description": "Contains an arbitrary serialized message along with a @type that describes the type of the serialized message.",
            }),
            Component::Value => json!({
                "description": "Represents a dynamically typed value which can be either null, a number, a string, a boolean, a recursive struct value, or a list of values.",
            }),
            Component::Status => {
                let any = self.reference(Component::Any);
                json!({
                    "type": "object",
                    "properties": {
                        "code": {"type": "integer", "description": "The status code, which should be an enum value of [google.rpc.Code][google.rpc.Code].", "format": "int32"},
                        "message": {"type": "string", "description": "A developer-facing error message, which should be in English. Any user-facing error message should be localized and sent in the [google.rpc.Status.details][google.rpc.Status.details] field, or localized by the client."},
                        "details": {"type": "array", "items": any, "description": "A list of messages that carry the error details.  There is a common set of message types for APIs to use."},
                    },
                    "description": "The `Status` type defines a logical error model that is suitable for different programming environments, including REST APIs and RPC APIs. It is used by [gRPC](https://github.com/grpc). Each `Status` message contains three pieces of data: error code, error message, and error details. You can find out more about this error model and how to work with it in the [API Design Guide](https://cloud.google.com/apis/design/errors).",
                })
            }
            Component::Message(_) => return None,
        })
    }
}

/// The largest `float` as the server writes it: `f32::MAX` in its shortest decimal form,
/// `3.4028235e38`, which is a little more than `f32::MAX` read as a double (and still reads
/// back as `f32::MAX`).
pub(crate) const FLOAT_MAX: f64 = 3.402_823_5e38;

/// The schema of a `float`: gnostic's `{type: number, format: float}` with the finite range of
/// a 32-bit float, outside which the server refuses a value (as Go's `ParseFloat(s, 32)`).
fn float_schema() -> Json {
    json!({"type": "number", "format": "float", "minimum": -FLOAT_MAX, "maximum": FLOAT_MAX})
}

/// Standard base64 with padding, as the server writes bytes (and as both its JSON and its form
/// readers take them): whole 4-character groups, the last possibly ending in `=` or `==` with the
/// unused bits of its last character zero.
const BASE64_PATTERN: &str =
    "^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/][AQgw]==|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=)?$";

/// The schema of `bytes`: gnostic's `{type: string, format: bytes}` with the base64 pattern.
fn bytes_schema() -> Json {
    json!({"type": "string", "format": "bytes", "pattern": BASE64_PATTERN})
}

/// The schema of a 64-bit integer as proto3 JSON writes it: a string of decimal digits
/// (`format: int64` or `uint64`), with a pattern matching exactly the canonical decimal form of
/// the type's values (no sign on zero's... any `-0` aside, no leading zeros, no `+`), so that a
/// client generating values from the document sends numbers the server can read. (gnostic writes
/// `type: string` alone.)
pub(crate) fn int64_schema(signed: bool) -> Json {
    let (format, pattern) = if signed {
        let magnitude = decimal_up_to(i64::MAX.unsigned_abs());
        (
            "int64",
            format!("^(?:-?(?:{magnitude})|-{})$", i64::MIN.unsigned_abs()),
        )
    } else {
        ("uint64", format!("^(?:{})$", decimal_up_to(u64::MAX)))
    };
    json!({"type": "string", "format": format, "pattern": pattern})
}

/// A regular expression (no anchors) matching the decimal numbers from 0 to `max`, written
/// without leading zeros: `0`, the numbers with fewer digits than `max`, and for each digit of
/// `max` the numbers that share the digits before it and have a smaller one there.
fn decimal_up_to(max: u64) -> String {
    let digits = max.to_string();
    let n = digits.len();
    let mut alternatives = vec!["0".to_string()];
    if n >= 2 {
        alternatives.push(format!("[1-9][0-9]{{0,{}}}", n - 2));
    }
    for (i, d) in digits.bytes().map(|b| b - b'0').enumerate() {
        let low = u8::from(i == 0);
        if d <= low {
            continue;
        }
        let class = if d - 1 == low {
            low.to_string()
        } else {
            format!("[{low}-{}]", d - 1)
        };
        let rest = match n - i - 1 {
            0 => String::new(),
            1 => "[0-9]".to_string(),
            r => format!("[0-9]{{{r}}}"),
        };
        alternatives.push(format!("{}{class}{rest}", &digits[..i]));
    }
    if max > 0 {
        alternatives.push(digits);
    }
    alternatives.join("|")
}

/// gnostic-models' key order for Schema objects.
const SCHEMA_KEYS: &[&str] = &[
    "nullable",
    "discriminator",
    "readOnly",
    "writeOnly",
    "xml",
    "externalDocs",
    "example",
    "deprecated",
    "title",
    "multipleOf",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "uniqueItems",
    "maxProperties",
    "minProperties",
    "required",
    "enum",
    "type",
    "allOf",
    "oneOf",
    "anyOf",
    "not",
    "items",
    "properties",
    "additionalProperties",
    "default",
    "description",
    "format",
];

/// Puts the keys of a schema (and of the schemas inside it) in gnostic's order, so that the
/// output reads like gnostic's whatever order the annotations were merged in.
pub(crate) fn order_schema(schema: &mut Json) {
    let Json::Object(map) = schema else { return };
    for key in ["items", "additionalProperties", "not"] {
        if let Some(inner) = map.get_mut(key) {
            order_schema(inner);
        }
    }
    for key in ["allOf", "oneOf", "anyOf"] {
        if let Some(Json::Array(list)) = map.get_mut(key) {
            list.iter_mut().for_each(order_schema);
        }
    }
    if let Some(Json::Object(props)) = map.get_mut("properties") {
        props.values_mut().for_each(order_schema);
    }
    let mut old = std::mem::take(map);
    for key in SCHEMA_KEYS {
        if let Some(v) = old.shift_remove(*key) {
            map.insert((*key).to_string(), v);
        }
    }
    map.extend(old);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn matcher(max: u64) -> regex::Regex {
        regex::Regex::new(&format!("^(?:{})$", decimal_up_to(max))).unwrap()
    }

    #[test]
    fn decimal_ranges_match_exactly_the_numbers_up_to_max() {
        for max in (0..=1200).chain([9999, 10_000, 10_001, 20_345, 99_999, 100_000]) {
            let re = matcher(max);
            for n in 0..=max + 150 {
                assert_eq!(re.is_match(&n.to_string()), n <= max, "{n} against {max}");
            }
            assert!(!re.is_match("00") && !re.is_match("01") && !re.is_match("+1"));
            assert!(!re.is_match("") && !re.is_match("-1") && !re.is_match("1.0"));
        }
    }

    #[test]
    fn the_float_bound_is_the_largest_float_as_written() {
        assert_eq!(f32::MAX.to_string().parse::<f64>().unwrap(), FLOAT_MAX);
        assert!(FLOAT_MAX >= f64::from(f32::MAX));
        #[allow(clippy::cast_possible_truncation)]
        let back = FLOAT_MAX as f32;
        assert_eq!(back, f32::MAX);
        assert_eq!("3.4028235e38".parse::<f32>().unwrap(), f32::MAX);
    }

    #[test]
    fn the_base64_pattern_takes_exactly_canonical_padded_standard_base64() {
        use base64::Engine as _;
        let re = regex::Regex::new(BASE64_PATTERN).unwrap();
        let engine = base64::engine::general_purpose::STANDARD;
        for len in 0..40u8 {
            let bytes: Vec<u8> = (0..len)
                .map(|i| i.wrapping_mul(37).wrapping_add(251))
                .collect();
            let text = engine.encode(&bytes);
            assert!(re.is_match(&text), "{text}");
            // Every one-character change is taken by the pattern exactly when it decodes.
            for i in 0..text.len() {
                for c in ['A', 'B', 'Q', 'w', 'z', '9', '+', '/', '=', '-', '_', ' '] {
                    let mut changed = text.clone().into_bytes();
                    changed[i] = c as u8;
                    let changed = String::from_utf8(changed).unwrap();
                    assert_eq!(
                        re.is_match(&changed),
                        engine.decode(&changed).is_ok(),
                        "{changed}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_64_bit_patterns_end_exactly_at_the_type_bounds() {
        let pattern = |signed: bool| {
            let schema = int64_schema(signed);
            regex::Regex::new(schema["pattern"].as_str().unwrap()).unwrap()
        };
        let signed = pattern(true);
        let unsigned = pattern(false);
        let max = i128::from(u64::MAX);
        for k in 0..=20u32 {
            // Around every power of ten and the bounds themselves.
            for base in [10i128.pow(k), i128::from(i64::MAX), max] {
                for n in [base - 1, base, base + 1] {
                    let text = n.to_string();
                    assert_eq!(
                        signed.is_match(&text),
                        i64::try_from(n).is_ok(),
                        "int64 {text}"
                    );
                    let negative = (-n).to_string();
                    assert_eq!(
                        signed.is_match(&negative),
                        i64::try_from(-n).is_ok(),
                        "int64 {negative}"
                    );
                    assert_eq!(
                        unsigned.is_match(&text),
                        u64::try_from(n).is_ok(),
                        "uint64 {text}"
                    );
                    assert!(!unsigned.is_match(&format!("-{}", n.max(1))), "uint64 -{n}");
                }
            }
        }
        assert!(signed.is_match("-9223372036854775808"));
        assert!(!signed.is_match("-9223372036854775809"));
        assert!(!signed.is_match("007") && !signed.is_match("1e3") && !signed.is_match(" 1"));
        assert_eq!(int64_schema(false)["format"], "uint64");
        assert_eq!(int64_schema(true)["format"], "int64");
    }
}
