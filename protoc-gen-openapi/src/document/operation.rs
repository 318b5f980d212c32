//! One operation of a path item: its parameters (path and query), request body and responses.

use std::collections::HashMap;

use kratos_codegen::names::go_camel_case;
use kratos_codegen::{CodegenError, Result};
use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor, MethodDescriptor};
use serde_json::{Map, Value as Json, json};

use super::Builder;
use super::paths::{Binding, rewrite_named_variables, simple_variables};
use crate::annotations::{merge, option};
use crate::schema::{Component, order_schema};

/// What a field contributes to the query parameters.
enum QueryLeaf {
    /// One parameter.
    Parameter(Json),
    /// Nothing.
    Skip,
    /// The fields of this message, flattened under the field's name.
    Flatten(MessageDescriptor),
}

impl Builder<'_> {
    pub(super) fn operation(
        &mut self,
        service_name: &str,
        method: &MethodDescriptor,
        binding: &Binding,
    ) -> Result<(String, Map<String, Json>)> {
        let file = method.parent_file();
        let element = format!("method {}", method.full_name());
        let input = method.input();
        let mut path = binding.path.clone();
        let mut parameters: Vec<Json> = Vec::new();
        let mut covered: Vec<String> = Vec::new();

        // Simple path variables `{field}`.
        for raw in simple_variables(&binding.path) {
            let field = input
                .fields()
                .find(|f| f.name() == raw || f.json_name() == raw);
            match field {
                Some(field) => {
                    let name = self.reflector.field_name(&field);
                    covered.push(field.name().to_string());
                    path = path.replacen(&raw, &name, 1);
                    let description = self.field_description(&field);
                    let schema = self
                        .field_schema(&field)
                        .unwrap_or_else(|| json!({"type": "string"}));
                    parameters.push(parameter(&name, "path", &description, true, schema));
                }
                None => {
                    covered.push(raw.clone());
                    parameters.push(parameter(&raw, "path", "", true, json!({"type": "string"})));
                }
            }
        }
        // Named path variables `{field=literal/*/...}`.
        let (rewritten, named) = rewrite_named_variables(&path);
        path = rewritten;
        for (field, names) in named {
            covered.push(field);
            for name in names {
                parameters.push(parameter(
                    &name,
                    "path",
                    &format!("The {name} id."),
                    true,
                    json!({"type": "string"}),
                ));
            }
        }
        // Query parameters.
        if binding.body != "*" && input.full_name() != "google.api.HttpBody" {
            for field in input.fields() {
                if covered.iter().any(|c| c == field.name()) || field.name() == binding.body {
                    continue;
                }
                parameters.extend(self.query_parameters(&field));
            }
        }

        let mut operation = Map::new();
        operation.insert("tags".into(), json!([service_name]));
        let description = self.comments.description(&file, method.path());
        if !description.is_empty() {
            operation.insert("description".into(), Json::String(description));
        }
        let id = self.operation_id(format!("{service_name}_{}", go_camel_case(method.name())));
        operation.insert("operationId".into(), Json::String(id));
        if !parameters.is_empty() {
            operation.insert("parameters".into(), Json::Array(parameters));
        }
        if !binding.body.is_empty() {
            let schema = self.request_body_schema(&input, &binding.body);
            let media = match schema {
                Some(schema) => json!({ "schema": schema }),
                None => json!({}),
            };
            operation.insert(
                "requestBody".into(),
                json!({"content": {"application/json": media}, "required": true}),
            );
        }
        let ok = self.ok_response(method, &binding.response_body)?;
        let mut responses = Map::new();
        responses.insert("200".into(), ok);
        if self.reflector.options.default_response {
            let status = self.reflector.reference(Component::Status);
            responses.insert(
                "default".into(),
                json!({
                    "description": "Default error response",
                    "content": {"application/json": {"schema": status}},
                }),
            );
        }
        operation.insert("responses".into(), Json::Object(responses));
        let mut operation = Json::Object(operation);
        if let Some(extra) = option(&method.options(), "operation")
            .map_err(|e| CodegenError::proto(file.name(), &element, e))?
        {
            merge(&mut operation, extra);
        }
        let Json::Object(operation) = operation else {
            return Err(CodegenError::proto(
                file.name(),
                element,
                "(openapi.v3.operation) is not an object",
            ));
        };
        Ok((path, operation))
    }

    /// The `200` response: the reply as the server writes it. With a `response_body` naming a
    /// field, that field's value alone: a singular message field (outside a real oneof) is
    /// written as its message (the default one when unset); any other field as its JSON value,
    /// `null` when the reply leaves it out (a oneof member or `optional` field not set).
    fn ok_response(&mut self, method: &MethodDescriptor, response_body: &str) -> Result<Json> {
        let output = method.output();
        let schema = match response_body {
            "" | "*" => match output.full_name() {
                "google.protobuf.Empty" => return Ok(json!({"description": "OK", "content": {}})),
                "google.api.HttpBody" => {
                    return Ok(json!({"description": "OK", "content": {"*/*": {}}}));
                }
                _ => self.reflector.message_type(&output),
            },
            name => {
                let field = output.get_field_by_name(name).ok_or_else(|| {
                    CodegenError::proto(
                        method.parent_file().name(),
                        format!("method {}", method.full_name()),
                        format!(
                            "response_body '{name}' names a field that message {} does not have",
                            output.full_name()
                        ),
                    )
                })?;
                let real_oneof = field.containing_oneof().is_some_and(|o| !o.is_synthetic());
                let whole_message = match field.kind() {
                    Kind::Message(m) if !field.is_list() && !field.is_map() && !real_oneof => {
                        Some(m)
                    }
                    _ => None,
                };
                match whole_message {
                    Some(message) => self.reflector.message_type(&message),
                    None => self.field_schema(&field).map(|schema| {
                        if field.containing_oneof().is_some() {
                            nullable(schema)
                        } else {
                            schema
                        }
                    }),
                }
            }
        };
        Ok(match schema {
            Some(mut schema) => {
                order_schema(&mut schema);
                json!({
                    "description": "OK",
                    "content": {"application/json": {"schema": schema}},
                })
            }
            None => json!({"description": "OK", "content": {}}),
        })
    }

    fn request_body_schema(&mut self, input: &MessageDescriptor, body: &str) -> Option<Json> {
        if body == "*" {
            if input.full_name() == "google.api.HttpBody" {
                return Some(json!({"type": "string"}));
            }
            return self.reflector.message_type(input);
        }
        let field = input.get_field_by_name(body)?;
        match field.kind() {
            Kind::String => Some(json!({"type": "string"})),
            Kind::Message(m) => self.reflector.message_type(&m),
            _ => None,
        }
    }

    /// The query parameters of one request field: scalars, enums and repeated scalars as one
    /// parameter each; non-repeated messages flattened (`parent.child`), each field of the
    /// flattened messages taken at most `depth` times in all (gnostic's count, shared by the
    /// whole flattening of the field, which is what bounds recursive messages).
    ///
    /// The walk is depth-first in field order, as gnostic's recursion, but with an explicit
    /// stack: a chain of thousands of nested message types needs no call stack of that depth.
    fn query_parameters(&mut self, field: &FieldDescriptor) -> Vec<Json> {
        /// A message being flattened: its fields, the next one to visit, and the length of the
        /// parameter name prefix (in `name`) its fields are written under.
        struct Frame {
            fields: Vec<FieldDescriptor>,
            next: usize,
            prefix: usize,
        }
        let mut out = Vec::new();
        let mut name = self.reflector.field_name(field);
        let mut stack = match self.query_leaf(field, &name) {
            QueryLeaf::Parameter(p) => return vec![p],
            QueryLeaf::Skip => return out,
            QueryLeaf::Flatten(message) => vec![Frame {
                fields: message.fields().collect(),
                next: 0,
                prefix: name.len(),
            }],
        };
        let mut depths: HashMap<String, i64> = HashMap::new();
        while let Some(frame) = stack.last_mut() {
            let Some(sub) = frame.fields.get(frame.next).cloned() else {
                stack.pop();
                continue;
            };
            frame.next += 1;
            let prefix = frame.prefix;
            let seen = depths.entry(sub.full_name().to_string()).or_insert(0);
            if *seen >= self.reflector.options.depth {
                continue;
            }
            *seen += 1;
            name.truncate(prefix);
            name.push('.');
            name.push_str(&self.reflector.field_name(&sub));
            match self.query_leaf(&sub, &name) {
                QueryLeaf::Parameter(p) => out.push(p),
                QueryLeaf::Skip => {}
                QueryLeaf::Flatten(message) => stack.push(Frame {
                    fields: message.fields().collect(),
                    next: 0,
                    prefix: name.len(),
                }),
            }
        }
        out
    }

    /// What one field contributes to the query parameters, under the parameter name `name`:
    /// one parameter (scalars, enums, repeated scalars, wrappers, `Timestamp`, `Duration`,
    /// `FieldMask`, `Value`), nothing (maps, groups, repeated messages, `Empty`), or its
    /// message's fields (any other singular message).
    fn query_leaf(&mut self, field: &FieldDescriptor, name: &str) -> QueryLeaf {
        if field.is_map() || field.is_group() {
            return QueryLeaf::Skip;
        }
        // The server reads an empty value of a singular field as the field left unset (Kratos'
        // form rule), so such a parameter allows an empty value whatever its schema.
        let one = |this: &mut Self| {
            let description = this.field_description(field);
            match this.field_schema(field) {
                Some(schema) => {
                    // `null` is read as unset for these two (their JSON spelling of "none").
                    let schema = match field.kind() {
                        Kind::Message(m)
                            if !field.is_list()
                                && matches!(
                                    m.full_name(),
                                    "google.protobuf.Timestamp" | "google.protobuf.Duration"
                                ) =>
                        {
                            nullable(schema)
                        }
                        _ => schema,
                    };
                    let mut schema = query_float_range(schema);
                    if let Kind::Message(m) = field.kind()
                        && m.full_name() == "google.protobuf.Duration"
                    {
                        // `allOf`-free: Duration is an inline schema (made nullable above).
                        schema["pattern"] = json!(crate::schema::QUERY_DURATION_PATTERN);
                    }
                    let mut p = parameter(name, "query", &description, false, schema);
                    if !field.is_list()
                        && let Json::Object(map) = &mut p
                    {
                        let schema = map.shift_remove("schema");
                        map.insert("allowEmptyValue".into(), Json::Bool(true));
                        if let Some(schema) = schema {
                            map.insert("schema".into(), schema);
                        }
                    }
                    QueryLeaf::Parameter(p)
                }
                None => QueryLeaf::Skip,
            }
        };
        let Kind::Message(message) = field.kind() else {
            return one(self);
        };
        match message.full_name() {
            "google.protobuf.Value"
            | "google.protobuf.BoolValue"
            | "google.protobuf.BytesValue"
            | "google.protobuf.Int32Value"
            | "google.protobuf.UInt32Value"
            | "google.protobuf.StringValue"
            | "google.protobuf.Int64Value"
            | "google.protobuf.UInt64Value"
            | "google.protobuf.FloatValue"
            | "google.protobuf.DoubleValue"
            | "google.protobuf.Timestamp"
            | "google.protobuf.Duration"
            | "google.protobuf.FieldMask" => one(self),
            _ if field.is_list() => QueryLeaf::Skip,
            _ => QueryLeaf::Flatten(message),
        }
    }
}

fn parameter(name: &str, location: &str, description: &str, required: bool, schema: Json) -> Json {
    let mut p = Map::new();
    p.insert("name".into(), Json::String(name.into()));
    p.insert("in".into(), Json::String(location.into()));
    if !description.is_empty() {
        p.insert("description".into(), Json::String(description.into()));
    }
    if required {
        p.insert("required".into(), Json::Bool(true));
    }
    let mut schema = schema;
    order_schema(&mut schema);
    p.insert("schema".into(), schema);
    Json::Object(p)
}

/// A query parameter's schema with the range the server's form reader takes for `float`:
/// values up to `f32::MAX` exactly (as a double), a little less than the JSON schema's bound
/// (`3.4028235e38`, `f32::MAX` as the server writes it, which that reader refuses).
fn query_float_range(mut schema: Json) -> Json {
    let target = match schema.get("type").and_then(Json::as_str) {
        Some("array") => schema.get_mut("items"),
        _ => Some(&mut schema),
    };
    if let Some(Json::Object(map)) = target
        && map.get("format").and_then(Json::as_str) == Some("float")
    {
        let max = f64::from(f32::MAX);
        for (key, bound) in [("minimum", -max), ("maximum", max)] {
            if let Some(v) = map.get_mut(key)
                && v.as_f64().is_some_and(|v| v.abs() > max)
            {
                *v = json!(bound);
            }
        }
    }
    schema
}

/// `schema` with `null` allowed too: `nullable: true`, beside the schema's own keys or, for a
/// `$ref` (whose siblings OpenAPI 3.0 ignores), around it in an `allOf`.
fn nullable(schema: Json) -> Json {
    let mut schema = if schema.get("$ref").is_some() {
        json!({ "allOf": [schema] })
    } else {
        schema
    };
    if let Json::Object(map) = &mut schema {
        map.insert("nullable".into(), Json::Bool(true));
    }
    schema
}
