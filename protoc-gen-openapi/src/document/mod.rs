//! Assembling one OpenAPI document from a set of proto files: the builder walks the services,
//! places each operation in its path item ([`paths`] gives the bindings and their OpenAPI
//! paths, [`operation`] the operation) and then builds the component schemas referred to
//! ([`schemas`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use kratos_codegen::names::go_camel_case;
use kratos_codegen::{CodegenError, Result, extension_value};
use prost_reflect::{FileDescriptor, MethodDescriptor, ServiceDescriptor};
use serde_json::{Map, Value as Json, json};

use paths::{bindings, path_shape, path_variables};

use crate::annotations::{merge, option};
use crate::comments::Comments;
use crate::options::Options;
use crate::schema::{Component, Reflector};

mod operation;
mod paths;
mod schemas;

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

/// The `google.api.default_host` of a service, when set.
fn default_host(service: &ServiceDescriptor) -> Option<String> {
    extension_value(
        service.parent_pool(),
        &service.options(),
        "google.api.default_host",
    )?
    .as_str()
    .filter(|s| !s.is_empty())
    .map(str::to_string)
}
