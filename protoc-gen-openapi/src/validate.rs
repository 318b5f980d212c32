//! `validate.rules` (protoc-gen-validate) as JSON Schema constraints: an addition to gnostic.
//!
//! Only rules that JSON Schema states exactly are mapped (see the crate README); a rule that
//! cannot be stated is left out, so the schema may accept more than the server does but never
//! rejects a valid value.

use kratos_codegen::extension_value;
use prost_reflect::{DynamicMessage, FieldDescriptor, Kind, ReflectMessage, Value};
use serde_json::{Map, Value as Json, json};

use crate::annotations::number;

/// The `(validate.rules)` option of `field`, when set.
pub(crate) fn field_rules(field: &FieldDescriptor) -> Option<DynamicMessage> {
    match extension_value(field.parent_pool(), &field.options(), "validate.rules")? {
        Value::Message(rules) => Some(rules),
        _ => None,
    }
}

/// Whether the rules make the field required (`message.required`, or `required` of the
/// `any`, `duration` and `timestamp` rules).
pub(crate) fn is_required(rules: &DynamicMessage) -> bool {
    ["message", "any", "duration", "timestamp"]
        .iter()
        .any(|kind| sub(rules, kind).is_some_and(|r| flag(&r, "required")))
}

/// Adds the constraints of `rules` to the schema of `field` (an inline schema: `$ref`s are left
/// alone).
pub(crate) fn apply(
    rules: &DynamicMessage,
    field: &FieldDescriptor,
    schema: &mut Map<String, Json>,
    enum_as_string: bool,
) {
    if field.is_map() {
        if let Some(map) = sub(rules, "map") {
            if flag(&map, "ignore_empty") {
                return;
            }
            set_uint(schema, "minProperties", &map, "min_pairs");
            set_uint(schema, "maxProperties", &map, "max_pairs");
            if let (Some(values), Kind::Message(entry)) = (sub(&map, "values"), field.kind())
                && let Some(Json::Object(v)) = schema.get_mut("additionalProperties")
            {
                apply_single(
                    &values,
                    &entry.map_entry_value_field().kind(),
                    v,
                    enum_as_string,
                );
            }
        }
    } else if field.is_list() {
        if let Some(rep) = sub(rules, "repeated") {
            if flag(&rep, "ignore_empty") {
                return;
            }
            set_uint(schema, "minItems", &rep, "min_items");
            set_uint(schema, "maxItems", &rep, "max_items");
            if flag(&rep, "unique") {
                schema.insert("uniqueItems".into(), Json::Bool(true));
            }
            if let Some(items) = sub(&rep, "items")
                && let Some(Json::Object(i)) = schema.get_mut("items")
            {
                apply_single(&items, &field.kind(), i, enum_as_string);
            }
        }
    } else {
        apply_single(rules, &field.kind(), schema, enum_as_string);
    }
}

/// The rules of one value (a singular field, a list item or a map value).
fn apply_single(
    rules: &DynamicMessage,
    kind: &Kind,
    schema: &mut Map<String, Json>,
    enum_as_string: bool,
) {
    if schema.contains_key("$ref") {
        return;
    }
    let is_string_schema = schema.get("type").and_then(Json::as_str) == Some("string");
    for (name, _) in rules.fields() {
        let name = name.name().to_string();
        let Some(r) = sub(rules, &name) else { continue };
        match name.as_str() {
            "string" if is_string_schema => string_rules(&r, schema),
            "float" | "double" | "int32" | "uint32" | "sint32" | "fixed32" | "sfixed32"
                if !is_string_schema =>
            {
                number_rules(&r, schema, false);
            }
            // 64-bit integers are JSON strings: only the value lists can be stated.
            "int64" | "uint64" | "sint64" | "fixed64" | "sfixed64" => {
                number_rules(&r, schema, is_string_schema);
            }
            "bool" => {
                if let Some(v) = get(&r, "const").and_then(|v| v.as_bool()) {
                    schema.insert("enum".into(), json!([v]));
                }
            }
            "enum" => {
                if let Kind::Enum(e) = kind {
                    enum_rules(&r, e, schema, enum_as_string);
                }
            }
            _ => {}
        }
    }
}

fn string_rules(r: &DynamicMessage, schema: &mut Map<String, Json>) {
    if flag(r, "ignore_empty") {
        return;
    }
    if let Some(v) = get(r, "const").and_then(|v| v.as_str().map(str::to_string)) {
        schema.insert("enum".into(), json!([v]));
    }
    set_uint(schema, "minLength", r, "len");
    set_uint(schema, "maxLength", r, "len");
    set_uint(schema, "minLength", r, "min_len");
    set_uint(schema, "maxLength", r, "max_len");
    let pattern = get(r, "pattern").and_then(|v| v.as_str().map(str::to_string));
    let literal = |key: &str| get(r, key).and_then(|v| v.as_str().map(escape_regex));
    let derived = [
        literal("prefix").map(|p| format!("^{p}")),
        literal("suffix").map(|s| format!("{s}$")),
        literal("contains"),
    ];
    let derived: Vec<String> = derived.into_iter().flatten().collect();
    // JSON Schema has one `pattern`: state a literal rule only when it is the only one.
    match (pattern, derived.len()) {
        (Some(p), _) => {
            schema.insert("pattern".into(), Json::String(p));
        }
        (None, 1) => {
            schema.insert("pattern".into(), Json::String(derived[0].clone()));
        }
        _ => {}
    }
    let strings = |key: &str| -> Vec<Json> {
        list(r, key)
            .iter()
            .filter_map(|v| v.as_str().map(|s| Json::String(s.to_string())))
            .collect()
    };
    let allowed = strings("in");
    if !allowed.is_empty() {
        schema.insert("enum".into(), Json::Array(allowed));
    }
    let denied = strings("not_in");
    if !denied.is_empty() {
        schema.insert("not".into(), json!({ "enum": denied }));
    }
    for (rule, format) in [
        ("email", "email"),
        ("hostname", "hostname"),
        ("ipv4", "ipv4"),
        ("ipv6", "ipv6"),
        ("uri", "uri"),
        ("uri_ref", "uri-reference"),
        ("uuid", "uuid"),
    ] {
        if flag(r, rule) {
            schema.insert("format".into(), Json::String(format.into()));
        }
    }
}

fn number_rules(r: &DynamicMessage, schema: &mut Map<String, Json>, as_strings: bool) {
    if flag(r, "ignore_empty") {
        return;
    }
    let to_json = |v: &Value| -> Option<Json> {
        let n = match v {
            Value::I32(n) => Json::from(*n),
            Value::I64(n) => Json::from(*n),
            Value::U32(n) => Json::from(*n),
            Value::U64(n) => Json::from(*n),
            // Through the shortest decimal form, so that 0.1f32 stays 0.1.
            Value::F32(n) => number(n.to_string().parse::<f64>().ok()?),
            Value::F64(n) => number(*n),
            _ => return None,
        };
        Some(if as_strings {
            Json::String(n.to_string())
        } else {
            n
        })
    };
    if let Some(c) = get(r, "const").and_then(|v| to_json(&v)) {
        schema.insert("enum".into(), json!([c]));
    }
    let allowed: Vec<Json> = list(r, "in").iter().filter_map(to_json).collect();
    if !allowed.is_empty() {
        schema.insert("enum".into(), Json::Array(allowed));
    }
    let denied: Vec<Json> = list(r, "not_in").iter().filter_map(to_json).collect();
    if !denied.is_empty() {
        schema.insert("not".into(), json!({ "enum": denied }));
    }
    if as_strings {
        return;
    }
    let bound = |key: &str| get(r, key).and_then(|v| to_json(&v));
    let upper = bound("lt")
        .map(|v| (v, true))
        .or_else(|| bound("lte").map(|v| (v, false)));
    let lower = bound("gt")
        .map(|v| (v, true))
        .or_else(|| bound("gte").map(|v| (v, false)));
    // PGV reads `gt > lt` as "outside the range", which minimum/maximum cannot state.
    if let (Some((lo, _)), Some((hi, _))) = (&lower, &upper)
        && lo.as_f64().unwrap_or(f64::MIN) > hi.as_f64().unwrap_or(f64::MAX)
    {
        return;
    }
    if let Some((v, exclusive)) = upper {
        schema.insert("maximum".into(), v);
        if exclusive {
            schema.insert("exclusiveMaximum".into(), Json::Bool(true));
        }
    }
    if let Some((v, exclusive)) = lower {
        schema.insert("minimum".into(), v);
        if exclusive {
            schema.insert("exclusiveMinimum".into(), Json::Bool(true));
        }
    }
}

fn enum_rules(
    r: &DynamicMessage,
    e: &prost_reflect::EnumDescriptor,
    schema: &mut Map<String, Json>,
    as_string: bool,
) {
    let value = |n: i32| -> Option<Json> {
        if as_string {
            e.get_value(n).map(|v| Json::String(v.name().to_string()))
        } else {
            Some(Json::from(n))
        }
    };
    let numbers =
        |key: &str| -> Vec<i32> { list(r, key).iter().filter_map(Value::as_i32).collect() };
    let mut allowed: Option<Vec<Json>> = None;
    if flag(r, "defined_only") && !as_string {
        let mut defined: Vec<i32> = e.values().map(|v| v.number()).collect();
        defined.dedup();
        allowed = Some(defined.into_iter().filter_map(value).collect());
    }
    if let Some(c) = get(r, "const").and_then(|v| v.as_enum_number().or_else(|| v.as_i32())) {
        allowed = Some(value(c).into_iter().collect());
    }
    let listed = numbers("in");
    if !listed.is_empty() {
        allowed = Some(listed.into_iter().filter_map(value).collect());
    }
    if let Some(allowed) = allowed {
        schema.insert("enum".into(), Json::Array(allowed));
    }
    let denied: Vec<Json> = numbers("not_in").into_iter().filter_map(value).collect();
    if !denied.is_empty() {
        schema.insert("not".into(), json!({ "enum": denied }));
    }
}

fn escape_regex(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\^$.|?*+()[]{}/".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn get(msg: &DynamicMessage, name: &str) -> Option<Value> {
    let field = msg.descriptor().get_field_by_name(name)?;
    msg.has_field(&field)
        .then(|| msg.get_field(&field).into_owned())
}

fn sub(msg: &DynamicMessage, name: &str) -> Option<DynamicMessage> {
    get(msg, name).and_then(|v| v.as_message().cloned())
}

fn flag(msg: &DynamicMessage, name: &str) -> bool {
    get(msg, name).and_then(|v| v.as_bool()).unwrap_or(false)
}

fn list(msg: &DynamicMessage, name: &str) -> Vec<Value> {
    match get(msg, name) {
        Some(Value::List(v)) => v,
        _ => Vec::new(),
    }
}

fn set_uint(schema: &mut Map<String, Json>, key: &str, msg: &DynamicMessage, field: &str) {
    if let Some(v) = get(msg, field).and_then(|v| v.as_u64()) {
        schema.insert(key.into(), Json::from(v));
    }
}
