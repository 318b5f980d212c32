//! Component schemas of messages and the schemas of their fields, with field behaviors and
//! `validate.rules` constraints.

use kratos_codegen::{CodegenError, Result, extension_value};
use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor, Value};
use serde_json::{Map, Value as Json, json};

use super::Builder;
use crate::annotations::{merge, option};
use crate::schema::order_schema;
use crate::validate;

/// `google.api.FieldBehavior` values gnostic reads.
const REQUIRED: i32 = 2;
const OUTPUT_ONLY: i32 = 3;
const INPUT_ONLY: i32 = 4;

impl Builder<'_> {
    pub(super) fn field_description(&mut self, field: &FieldDescriptor) -> String {
        self.comments
            .description(&field.parent_file(), field.path())
    }

    /// The schema of a field with its `validate.rules` constraints.
    pub(super) fn field_schema(&mut self, field: &FieldDescriptor) -> Option<Json> {
        let mut schema = self.reflector.field(field)?;
        if let (Some(rules), Json::Object(map)) = (validate::field_rules(field), &mut schema) {
            validate::apply(&rules, field, map, self.reflector.options.enum_as_string);
        }
        Some(schema)
    }

    /// The component schema of a message.
    pub(super) fn message_schema(&mut self, message: &MessageDescriptor) -> Result<Json> {
        let file = message.parent_file();
        let mut properties = Map::new();
        let mut required = Vec::new();
        for field in message.fields() {
            let Some(mut schema) = self.field_schema(&field) else {
                continue;
            };
            let name = self.reflector.field_name(&field);
            let behaviors = field_behaviors(&field);
            let rules_require =
                validate::field_rules(&field).is_some_and(|r| validate::is_required(&r));
            if behaviors.contains(&REQUIRED) || rules_require {
                required.push(Json::String(name.clone()));
            }
            let read_only = behaviors.contains(&OUTPUT_ONLY);
            let write_only = behaviors.contains(&INPUT_ONLY);
            let description = self.field_description(&field);
            let nullable = written_as_null(&field);
            if schema.get("$ref").is_some()
                && (read_only || write_only || nullable || !description.is_empty())
            {
                schema = json!({ "allOf": [schema] });
            }
            if let Json::Object(map) = &mut schema
                && !map.contains_key("$ref")
            {
                if nullable {
                    map.insert("nullable".into(), Json::Bool(true));
                }
                if read_only {
                    map.insert("readOnly".into(), Json::Bool(true));
                }
                if write_only {
                    map.insert("writeOnly".into(), Json::Bool(true));
                }
                if description.is_empty() {
                    map.shift_remove("description");
                } else {
                    map.insert("description".into(), Json::String(description));
                }
                if let Some(extra) = option(&field.options(), "property").map_err(|e| {
                    CodegenError::proto(file.name(), format!("field {}", field.full_name()), e)
                })? {
                    merge(&mut schema, extra);
                }
            }
            order_schema(&mut schema);
            properties.insert(name, schema);
        }
        let mut schema = Map::new();
        if !required.is_empty() {
            schema.insert("required".into(), Json::Array(required));
        }
        schema.insert("type".into(), Json::String("object".into()));
        if !properties.is_empty() {
            schema.insert("properties".into(), Json::Object(properties));
        }
        let description = self.comments.description(&file, message.path());
        if !description.is_empty() {
            schema.insert("description".into(), Json::String(description));
        }
        let mut schema = Json::Object(schema);
        if let Some(extra) = option(&message.options(), "schema").map_err(|e| {
            CodegenError::proto(file.name(), format!("message {}", message.full_name()), e)
        })? {
            merge(&mut schema, extra);
        }
        order_schema(&mut schema);
        Ok(schema)
    }
}

/// Whether the JSON the server writes can hold `null` for this field of a message: a singular
/// message field (well-known types included) outside any oneof, which protojson's
/// `EmitUnpopulated` (Kratos' JSON codec) and the runtime's serialisers write as `null` when it
/// is unset. Scalars are written as their zero value, lists as `[]`, maps as `{}`; oneof members
/// and proto3 `optional` fields are left out when unset, never `null`.
pub(crate) fn written_as_null(field: &FieldDescriptor) -> bool {
    matches!(field.kind(), Kind::Message(_))
        && !field.is_list()
        && !field.is_map()
        && field.containing_oneof().is_none()
}

/// The `google.api.field_behavior` values of a field.
fn field_behaviors(field: &FieldDescriptor) -> Vec<i32> {
    let Some(value) = extension_value(
        field.parent_pool(),
        &field.options(),
        "google.api.field_behavior",
    ) else {
        return Vec::new();
    };
    match value {
        Value::List(values) => values
            .iter()
            .filter_map(|v| v.as_enum_number().or_else(|| v.as_i32()))
            .collect(),
        other => other.as_enum_number().into_iter().collect(),
    }
}
