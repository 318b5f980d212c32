//! gnostic's `openapi.v3` options (`document`, `operation`, `schema`, `property`), read as
//! OpenAPI JSON, and the merge that applies them.
//!
//! The options are messages of `openapiv3/OpenAPIv3.proto`, a protobuf model of the OpenAPI
//! object tree. The conversion follows that model's conventions: `Named*` lists are JSON
//! objects (`additional_properties`, `path`, `response_or_reference` and
//! `specification_extension` entries become keys of the enclosing object), `*OrReference` and
//! other single-`oneof` messages are their set member, `_ref` is `$ref`, `Any` holds YAML text.

use kratos_codegen::extension_value;
use prost_reflect::{DynamicMessage, Kind, ReflectMessage, Value};
use serde_json::{Map, Value as Json};

/// The `(openapi.v3.<name>)` option of `options` as OpenAPI JSON, when set.
pub(crate) fn option(options: &DynamicMessage, name: &str) -> Result<Option<Json>, String> {
    let pool = options.descriptor().parent_pool().clone();
    match extension_value(&pool, options, &format!("openapi.v3.{name}")) {
        Some(Value::Message(msg)) => message_to_json(&msg).map(Some),
        _ => Ok(None),
    }
}

/// Fields whose `Named*` entries are keys of the enclosing object.
const INLINED_LISTS: &[&str] = &[
    "additional_properties",
    "path",
    "response_or_reference",
    "specification_extension",
];

fn message_to_json(msg: &DynamicMessage) -> Result<Json, String> {
    let desc = msg.descriptor();
    match desc.name() {
        "Any" => {
            let yaml = msg
                .get_field_by_name("yaml")
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            if yaml.trim().is_empty() {
                return Ok(Json::Null);
            }
            return yaml_serde::from_str::<Json>(&yaml)
                .map_err(|e| format!("openapi.v3.Any holds invalid YAML ({e}): {yaml}"));
        }
        "StringArray" => {
            return Ok(Json::Array(
                list(msg, "value")
                    .iter()
                    .filter_map(|v| v.as_str().map(|s| Json::String(s.to_string())))
                    .collect(),
            ));
        }
        "ItemsItem" => {
            let mut items = list(msg, "schema_or_reference")
                .iter()
                .filter_map(Value::as_message)
                .map(message_to_json)
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(if items.len() == 1 {
                items.remove(0)
            } else {
                Json::Array(items)
            });
        }
        _ => {}
    }
    // A message that is one `oneof`: its set member.
    if desc.oneofs().any(|o| o.name() == "oneof")
        && desc.fields().all(|f| f.containing_oneof().is_some())
    {
        return match msg.fields().next() {
            Some((_, value)) => value_to_json(value),
            None => Ok(Json::Null),
        };
    }
    let mut out = Map::new();
    for (field, value) in msg.fields() {
        let inlined = INLINED_LISTS.contains(&field.name())
            && field.is_list()
            && matches!(field.kind(), Kind::Message(m) if m.name().starts_with("Named"));
        if inlined {
            if let Value::List(entries) = value {
                for entry in entries.iter().filter_map(Value::as_message) {
                    let name = entry
                        .get_field_by_name("name")
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default();
                    let value = match entry.descriptor().get_field_by_name("value") {
                        Some(f) if entry.has_field(&f) => value_to_json(&entry.get_field(&f))?,
                        _ => Json::Null,
                    };
                    out.insert(name, value);
                }
            }
            continue;
        }
        let key = if field.name() == "_ref" {
            "$ref".to_string()
        } else {
            field.json_name().to_string()
        };
        out.insert(key, value_to_json(value)?);
    }
    Ok(Json::Object(out))
}

fn list(msg: &DynamicMessage, name: &str) -> Vec<Value> {
    match msg.get_field_by_name(name).as_deref() {
        Some(Value::List(v)) => v.clone(),
        _ => Vec::new(),
    }
}

fn value_to_json(value: &Value) -> Result<Json, String> {
    Ok(match value {
        Value::List(items) => {
            Json::Array(items.iter().map(value_to_json).collect::<Result<_, _>>()?)
        }
        Value::Message(m) => message_to_json(m)?,
        Value::Bool(b) => Json::Bool(*b),
        Value::I32(n) => Json::from(*n),
        Value::I64(n) => Json::from(*n),
        Value::U32(n) => Json::from(*n),
        Value::U64(n) => Json::from(*n),
        Value::F32(n) => number(f64::from(*n)),
        Value::F64(n) => number(*n),
        Value::String(s) => Json::String(s.clone()),
        Value::Bytes(b) => Json::String(String::from_utf8_lossy(b).into_owned()),
        Value::EnumNumber(n) => Json::from(*n),
        Value::Map(_) => Json::Null,
    })
}

/// A JSON number for a double: integral values as integers (as YAML writes them).
pub(crate) fn number(n: f64) -> Json {
    if n.is_finite() && n.fract() == 0.0 && n.abs() < 9.0e15 {
        // Exact: |n| < 2^53.
        #[allow(clippy::cast_possible_truncation)]
        let i = n as i64;
        Json::from(i)
    } else {
        serde_json::Number::from_f64(n).map_or(Json::Null, Json::Number)
    }
}

/// Merges `src` into `dst` as `proto.Merge` does on the OpenAPI model: objects merge key by
/// key, lists are appended, scalars are replaced.
pub(crate) fn merge(dst: &mut Json, src: Json) {
    match (dst, src) {
        (Json::Object(d), Json::Object(s)) => {
            for (k, v) in s {
                match d.get_mut(&k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        d.insert(k, v);
                    }
                }
            }
        }
        (Json::Array(d), Json::Array(s)) => d.extend(s),
        (d, s) => {
            if !s.is_null() {
                *d = s;
            }
        }
    }
}
