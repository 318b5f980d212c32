//! Assembling one OpenAPI document from a set of proto files.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use kratos_codegen::{CodegenError, Result};
use prost_reflect::{
    DynamicMessage, FieldDescriptor, FileDescriptor, Kind, MessageDescriptor, MethodDescriptor,
    ServiceDescriptor, Value,
};
use serde_json::{Map, Value as Json, json};

use crate::annotations::{merge, option};
use crate::comments::Comments;
use crate::options::Options;
use crate::schema::{Component, Reflector, order_schema};
use crate::validate;

/// `google.api.FieldBehavior` values gnostic reads.
const REQUIRED: i32 = 2;
const OUTPUT_ONLY: i32 = 3;
const INPUT_ONLY: i32 = 4;

/// The operations of a path item, in gnostic-models' key order.
const PATH_ITEM_KEYS: &[&str] = &[
    "$ref",
    "summary",
    "description",
    "get",
    "put",
    "post",
    "delete",
    "options",
    "head",
    "patch",
    "trace",
    "servers",
    "parameters",
];

/// What a field contributes to the query parameters.
enum QueryLeaf {
    /// One parameter.
    Parameter(Json),
    /// Nothing.
    Skip,
    /// The fields of this message, flattened under the field's name.
    Flatten(MessageDescriptor),
}

/// One HTTP binding of a method.
struct Binding {
    verb: &'static str,
    path: String,
    body: String,
    response_body: String,
}

/// Builds documents.
pub(crate) struct Builder<'a> {
    reflector: Reflector<'a>,
    comments: Comments,
    paths: BTreeMap<String, Map<String, Json>>,
    tags: Vec<(String, String)>,
    operation_ids: BTreeSet<String>,
    /// The path each path shape (the path with its variables unnamed) is written as: the
    /// first path of that shape.
    shapes: HashMap<String, String>,
    /// Which method holds each operation (path, verb): file and full name.
    holders: HashMap<(String, &'static str), (String, String)>,
    warnings: &'a mut Vec<String>,
}

impl<'a> Builder<'a> {
    /// The document for the services of `files`.
    pub(crate) fn build(
        options: &'a Options,
        files: &[FileDescriptor],
        warnings: &'a mut Vec<String>,
    ) -> Result<Json> {
        let mut b = Builder {
            reflector: Reflector::new(options),
            comments: Comments::default(),
            paths: BTreeMap::new(),
            tags: Vec::new(),
            operation_ids: BTreeSet::new(),
            shapes: HashMap::new(),
            holders: HashMap::new(),
            warnings,
        };
        for file in files {
            for service in file.services() {
                b.service(&service)?;
            }
        }
        b.document(files)
    }

    fn service(&mut self, service: &ServiceDescriptor) -> Result<()> {
        let service_name = go_camel_case(service.name());
        let host = default_host(service);
        let mut documented = false;
        for method in service.methods() {
            for binding in bindings(&method) {
                documented = true;
                let (path, mut operation) = self.operation(&service_name, &method, &binding)?;
                if let Some(host) = &host {
                    operation.insert(
                        "servers".into(),
                        json!([{ "url": format!("https://{host}") }]),
                    );
                }
                let path = self.place(path, &mut operation, &method, binding.verb)?;
                let item = self.paths.entry(path.clone()).or_default();
                if item.contains_key(binding.verb) {
                    self.warnings.push(format!(
                        "{}: method {}: {} {path} is already bound by another method; the later binding replaces it",
                        method.parent_file().name(),
                        method.full_name(),
                        binding.verb.to_uppercase(),
                    ));
                }
                item.insert(binding.verb.to_string(), Json::Object(operation));
                self.holders.insert(
                    (path, binding.verb),
                    (
                        method.parent_file().name().to_string(),
                        method.full_name().to_string(),
                    ),
                );
            }
        }
        if documented {
            let description = self
                .comments
                .description(&service.parent_file(), service.path());
            self.tags.push((service_name, description));
        }
        Ok(())
    }

    /// The path an operation is documented under. OpenAPI 3 forbids two paths that differ only
    /// in the names of their variables (`/v1/{name}` and `/v1/{id}`): they are one path item.
    /// Rule: the first path of each shape (the path with its variables unnamed) is kept; an
    /// operation on a later path of the same shape joins that path item, its path parameters
    /// renamed position by position to the kept path's names (the server matches by
    /// position, so the URLs are the same). When the path item already has an operation for
    /// the same HTTP method, the two cannot both be described: a generation error names both
    /// methods and their files. (The same path text with the same method is gnostic's case,
    /// kept: the later operation replaces the earlier, with a warning.)
    fn place(
        &mut self,
        path: String,
        operation: &mut Map<String, Json>,
        method: &MethodDescriptor,
        verb: &'static str,
    ) -> Result<String> {
        let kept = self
            .shapes
            .entry(path_shape(&path))
            .or_insert_with(|| path.clone())
            .clone();
        if kept == path {
            return Ok(path);
        }
        if let Some((file, other)) = self.holders.get(&(kept.clone(), verb)) {
            let verb = verb.to_uppercase();
            return Err(CodegenError::proto(
                method.parent_file().name(),
                format!("method {}", method.full_name()),
                format!(
                    "{verb} {path} differs from {verb} {kept} of method {other} ({file}) only in \
                     the names of its variables: OpenAPI 3 cannot describe both (give the \
                     paths different literal segments or different HTTP methods)"
                ),
            ));
        }
        let renames: HashMap<String, String> = path_variables(&path)
            .into_iter()
            .zip(path_variables(&kept))
            .collect();
        if let Some(Json::Array(parameters)) = operation.get_mut("parameters") {
            for p in parameters.iter_mut().filter_map(Json::as_object_mut) {
                if p.get("in").and_then(Json::as_str) != Some("path") {
                    continue;
                }
                if let Some(Json::String(name)) = p.get_mut("name")
                    && let Some(new) = renames.get(name.as_str())
                {
                    name.clone_from(new);
                }
            }
        }
        Ok(kept)
    }

    /// A unique operationId: `Service_Method`, then `Service_Method_1`, `_2`, ... for further
    /// operations that would repeat it (additional bindings).
    fn operation_id(&mut self, base: String) -> String {
        let mut id = base.clone();
        let mut n = 0;
        while self.operation_ids.contains(&id) {
            n += 1;
            id = format!("{base}_{n}");
        }
        self.operation_ids.insert(id.clone());
        id
    }

    fn operation(
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

    fn field_description(&mut self, field: &FieldDescriptor) -> String {
        self.comments
            .description(&field.parent_file(), field.path())
    }

    /// The schema of a field with its `validate.rules` constraints.
    fn field_schema(&mut self, field: &FieldDescriptor) -> Option<Json> {
        let mut schema = self.reflector.field(field)?;
        if let (Some(rules), Json::Object(map)) = (validate::field_rules(field), &mut schema) {
            validate::apply(&rules, field, map, self.reflector.options.enum_as_string);
        }
        Some(schema)
    }

    /// The component schema of a message.
    fn message_schema(&mut self, message: &MessageDescriptor) -> Result<Json> {
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

    fn document(mut self, files: &[FileDescriptor]) -> Result<Json> {
        let options = self.reflector.options;
        // Info.
        let mut title = options.title.clone();
        let mut description = options.description.clone();
        if self.tags.len() == 1 {
            if title.is_empty() {
                title = format!("{} API", self.tags[0].0);
            }
            if description.is_empty() {
                description = std::mem::take(&mut self.tags[0].1);
            }
        }
        let mut info = Map::new();
        info.insert("title".into(), Json::String(title));
        if !description.is_empty() {
            info.insert("description".into(), Json::String(description));
        }
        info.insert("version".into(), Json::String(options.version.clone()));

        // Servers: to the path when all its operations share one, to the document when there
        // is only one.
        let mut all_servers = BTreeSet::new();
        for item in self.paths.values_mut() {
            let mut urls = BTreeSet::new();
            let mut without = false;
            for verb in PATH_ITEM_KEYS {
                if let Some(Json::Object(op)) = item.get(*verb) {
                    match op.get("servers") {
                        Some(s) => {
                            urls.insert(s.to_string());
                        }
                        None => without = true,
                    }
                }
            }
            if urls.len() == 1 && !without {
                let mut servers = None;
                for verb in PATH_ITEM_KEYS {
                    if let Some(Json::Object(op)) = item.get_mut(*verb) {
                        servers = op.shift_remove("servers");
                    }
                }
                if let Some(servers) = servers {
                    all_servers.insert(servers.to_string());
                    item.insert("servers".into(), servers);
                }
            } else {
                all_servers.extend(urls);
                if without {
                    all_servers.insert(String::new());
                }
            }
        }
        let mut document_servers = None;
        if all_servers.len() == 1 && !all_servers.contains("") {
            for item in self.paths.values_mut() {
                document_servers = item.shift_remove("servers");
            }
        }

        let mut paths = Map::new();
        for (path, mut item) in std::mem::take(&mut self.paths) {
            let mut ordered = Map::new();
            for key in PATH_ITEM_KEYS {
                if let Some(v) = item.shift_remove(*key) {
                    ordered.insert((*key).to_string(), v);
                }
            }
            ordered.extend(item);
            paths.insert(path, Json::Object(ordered));
        }

        // Components: every schema referred to, to a fixpoint, in rounds: each round builds
        // the components first referred to in the previous one, in name order.
        let mut schemas: BTreeMap<String, Json> = BTreeMap::new();
        loop {
            let pending = self.reflector.take_fresh();
            if pending.is_empty() {
                break;
            }
            for (name, component) in pending {
                let schema = match &component {
                    Component::Message(m) => self.message_schema(m)?,
                    other => self
                        .reflector
                        .fixed_component(other)
                        .unwrap_or_else(|| json!({})),
                };
                schemas.insert(name, schema);
            }
        }

        let mut document = Map::new();
        document.insert("openapi".into(), Json::String("3.0.3".into()));
        document.insert("info".into(), Json::Object(info));
        if let Some(servers) = document_servers {
            document.insert("servers".into(), servers);
        }
        document.insert("paths".into(), Json::Object(paths));
        let mut components = Map::new();
        if !schemas.is_empty() {
            components.insert(
                "schemas".into(),
                Json::Object(schemas.into_iter().collect()),
            );
        }
        document.insert("components".into(), Json::Object(components));
        let mut tags = std::mem::take(&mut self.tags);
        tags.sort();
        if !tags.is_empty() {
            let tags: Vec<Json> = tags
                .into_iter()
                .map(|(name, description)| {
                    let mut tag = Map::new();
                    tag.insert("name".into(), Json::String(name));
                    if !description.is_empty() {
                        tag.insert("description".into(), Json::String(description));
                    }
                    Json::Object(tag)
                })
                .collect();
            document.insert("tags".into(), Json::Array(tags));
        }
        let mut document = Json::Object(document);
        for file in files {
            if let Some(extra) = option(&file.options(), "document")
                .map_err(|e| CodegenError::proto(file.name(), "(openapi.v3.document)", e))?
            {
                merge(&mut document, extra);
            }
        }
        finish(&mut document);
        Ok(document)
    }
}

/// Final ordering after the document-level merge: sorted paths and schemas, document keys in
/// gnostic-models' order, empty `components` dropped.
fn finish(document: &mut Json) {
    let Json::Object(doc) = document else { return };
    for key in ["paths"] {
        if let Some(Json::Object(map)) = doc.get_mut(key) {
            map.sort_keys();
        }
    }
    if let Some(Json::Object(components)) = doc.get_mut("components") {
        if let Some(Json::Object(schemas)) = components.get_mut("schemas") {
            schemas.sort_keys();
        }
        let mut old = std::mem::take(components);
        for key in [
            "schemas",
            "responses",
            "parameters",
            "examples",
            "requestBodies",
            "headers",
            "securitySchemes",
            "links",
            "callbacks",
        ] {
            if let Some(v) = old.shift_remove(key) {
                components.insert(key.to_string(), v);
            }
        }
        components.extend(old);
        if components.is_empty() {
            doc.shift_remove("components");
        }
    }
    let mut old = std::mem::take(doc);
    for key in [
        "openapi",
        "info",
        "servers",
        "paths",
        "components",
        "security",
        "tags",
        "externalDocs",
    ] {
        if let Some(v) = old.shift_remove(key) {
            doc.insert(key.to_string(), v);
        }
    }
    doc.extend(old);
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

/// A path with its variables unnamed (`/v1/{name}:get` → `/v1/{}:get`): two paths of the same
/// shape are the same path to OpenAPI 3.
fn path_shape(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let Some(end) = rest[start..].find('}') else {
            break;
        };
        out.push_str(&rest[..=start]);
        out.push('}');
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    out
}

/// The variable names of an OpenAPI path, in order.
fn path_variables(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let Some(end) = rest[start..].find('}') else {
            break;
        };
        out.push(rest[start + 1..start + end].to_string());
        rest = &rest[start + end + 1..];
    }
    out
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
    let Some(ext) = field
        .parent_pool()
        .get_extension_by_name("google.api.field_behavior")
    else {
        return Vec::new();
    };
    let options = field.options();
    if !options.has_extension(&ext) {
        return Vec::new();
    }
    match options.get_extension(&ext).as_ref() {
        Value::List(values) => values
            .iter()
            .filter_map(|v| v.as_enum_number().or_else(|| v.as_i32()))
            .collect(),
        other => other.as_enum_number().into_iter().collect(),
    }
}

/// The `google.api.default_host` of a service, when set.
fn default_host(service: &ServiceDescriptor) -> Option<String> {
    let ext = service
        .parent_pool()
        .get_extension_by_name("google.api.default_host")?;
    let options = service.options();
    if !options.has_extension(&ext) {
        return None;
    }
    options
        .get_extension(&ext)
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// The rule and its additional bindings (one level), in that order; `custom` patterns and
/// rules without a pattern are left out, as gnostic does.
fn bindings(method: &MethodDescriptor) -> Vec<Binding> {
    let Some(ext) = method
        .parent_pool()
        .get_extension_by_name("google.api.http")
    else {
        return Vec::new();
    };
    let options = method.options();
    if !options.has_extension(&ext) {
        return Vec::new();
    }
    let value = options.get_extension(&ext);
    let Some(rule) = value.as_message() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    out.extend(binding(rule));
    if let Some(Value::List(more)) = rule.get_field_by_name("additional_bindings").as_deref() {
        out.extend(
            more.iter()
                .filter_map(Value::as_message)
                .filter_map(binding),
        );
    }
    out
}

fn binding(rule: &DynamicMessage) -> Option<Binding> {
    let text = |name: &str| {
        rule.get_field_by_name(name)
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    };
    for verb in ["get", "put", "post", "delete", "patch"] {
        if rule.has_field_by_name(verb) {
            return Some(Binding {
                verb,
                path: text(verb),
                body: text("body"),
                response_body: text("response_body"),
            });
        }
    }
    None
}

/// The `{name}` variables of a path template (those without `=`), in order.
fn simple_variables(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('}') else { break };
        let inner = &after[..end];
        if !inner.is_empty() && !inner.contains('=') && !inner.contains('{') {
            out.push(inner.to_string());
        }
        rest = &after[end + 1..];
    }
    out
}

/// Rewrites each `{field=lit/*/lit2/*}` variable to `lit/{singular(lit)}/lit2/{singular(lit2)}`;
/// returns the new path and, per variable, the field path and the parameter names.
/// `{field=*}` is the same as `{field}` and is left for the simple-variable pass.
fn rewrite_named_variables(path: &str) -> (String, Vec<(String, Vec<String>)>) {
    let mut out = String::new();
    let mut named = Vec::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('}') else { break };
        let inner = &after[..end];
        out.push_str(&rest[..start]);
        match inner.split_once('=') {
            Some((field, pattern)) => {
                let mut parts: Vec<String> = pattern.split('/').map(str::to_string).collect();
                let mut names = Vec::new();
                let mut i = 0;
                while i + 1 < parts.len() {
                    if parts[i + 1] == "*" || parts[i + 1] == "**" {
                        let name = singular(&parts[i]);
                        parts[i + 1] = format!("{{{name}}}");
                        names.push(name);
                    }
                    i += 2;
                }
                out.push_str(&parts.join("/"));
                named.push((field.to_string(), names));
            }
            None => {
                out.push('{');
                out.push_str(inner);
                out.push('}');
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    (out, named)
}

/// gnostic's singular form of a collection name: `shelves` → `shelf`, `books` → `book`,
/// `policies` → `policy`.
fn singular(plural: &str) -> String {
    if let Some(stem) = plural.strip_suffix("ves") {
        format!("{stem}f")
    } else if let Some(stem) = plural.strip_suffix("ies") {
        format!("{stem}y")
    } else if let Some(stem) = plural.strip_suffix('s') {
        stem.to_string()
    } else {
        plural.to_string()
    }
}

/// protoc-gen-go's `GoCamelCase`, which gnostic uses for service and method names.
fn go_camel_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let lower_at = |i: usize| chars.get(i).is_some_and(char::is_ascii_lowercase);
    let mut out = String::with_capacity(name.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '.' && lower_at(i + 1) {
            // Skipped: the next letter starts a word.
        } else if c == '.' {
            out.push('_');
        } else if c == '_' && (i == 0 || chars[i - 1] == '.') {
            out.push('X');
        } else if c == '_' && lower_at(i + 1) {
            // Skipped: the next letter starts a word.
        } else if c.is_ascii_digit() {
            out.push(c);
        } else {
            out.push(c.to_ascii_uppercase());
            while lower_at(i + 1) {
                i += 1;
                out.push(chars[i]);
            }
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_variables_become_collection_parameters() {
        let (path, named) = rewrite_named_variables("/v1/{name=shelves/*/books/*}:move");
        assert_eq!(path, "/v1/shelves/{shelf}/books/{book}:move");
        assert_eq!(
            named,
            vec![(
                "name".to_string(),
                vec!["shelf".to_string(), "book".to_string()]
            )]
        );
        assert_eq!(simple_variables("/v1/{a}/x/{b=c/*}/{d}"), ["a", "d"]);
        assert_eq!(singular("policies"), "policy");
    }

    #[test]
    fn go_camel_case_matches_protoc_gen_go() {
        assert_eq!(go_camel_case("SayHello"), "SayHello");
        assert_eq!(go_camel_case("say_hello"), "SayHello");
        assert_eq!(go_camel_case("_x"), "XX");
        assert_eq!(go_camel_case("a2b"), "A2B");
    }
}
