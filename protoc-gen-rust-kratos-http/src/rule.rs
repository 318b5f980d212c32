//! Reading `google.api.http` rules into routes.

use kratos_codegen::{CodegenError, Result};
use prost_reflect::{DynamicMessage, MethodDescriptor, Value};

/// One HTTP route of a method: a rule or one of its additional bindings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Route {
    /// `GET`, `POST`, ..., a custom method, or `*`.
    pub(crate) method: String,
    /// The path template.
    pub(crate) path: String,
    /// `""` (no body), `"*"` or a field name.
    pub(crate) body: String,
    /// `""`/`"*"` (whole reply) or a field name.
    pub(crate) response_body: String,
}

/// The routes of a method, in Kratos' order (additional bindings, then the rule itself), or
/// `None` when the method has no `google.api.http` option.
pub(crate) fn routes(
    method: &MethodDescriptor,
    element: &str,
    prefix: &str,
) -> Result<Option<Vec<Route>>> {
    let Some(ext) = method
        .parent_pool()
        .get_extension_by_name("google.api.http")
    else {
        return Ok(None);
    };
    let options = method.options();
    if !options.has_extension(&ext) {
        return Ok(None);
    }
    let value = options.get_extension(&ext);
    let Some(rule) = value.as_message() else {
        return Ok(None);
    };
    let file = method.parent_file().name().to_string();
    let mut out = Vec::new();
    if let Some(Value::List(bindings)) = rule.get_field_by_name("additional_bindings").as_deref() {
        for b in bindings {
            if let Some(b) = b.as_message() {
                out.push(route(b, &file, element, method, prefix)?);
            }
        }
    }
    out.push(route(rule, &file, element, method, prefix)?);
    Ok(Some(out))
}

fn string_field(msg: &DynamicMessage, name: &str) -> String {
    msg.get_field_by_name(name)
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn route(
    rule: &DynamicMessage,
    file: &str,
    element: &str,
    method: &MethodDescriptor,
    prefix: &str,
) -> Result<Route> {
    let mut verb_path = None;
    for verb in ["get", "put", "post", "delete", "patch"] {
        if rule.has_field_by_name(verb) {
            verb_path = Some((verb.to_ascii_uppercase(), string_field(rule, verb)));
        }
    }
    if rule.has_field_by_name("custom")
        && let Some(custom) = rule.get_field_by_name("custom")
        && let Some(custom) = custom.as_message()
    {
        let kind = string_field(custom, "kind");
        if kind.is_empty() {
            return Err(CodegenError::proto(
                file,
                element,
                "google.api.http custom rule has an empty kind",
            ));
        }
        verb_path = Some((kind, string_field(custom, "path")));
    }
    // No pattern: POST, as Kratos. An empty path: the default route.
    let (method_name, mut path) = verb_path.unwrap_or_else(|| ("POST".to_string(), String::new()));
    if path.is_empty() {
        path = default_path(method, prefix);
    }
    Ok(Route {
        method: method_name,
        path,
        body: string_field(rule, "body"),
        response_body: string_field(rule, "response_body"),
    })
}

/// `<prefix>/<package.Service>/<Method>`, Kratos' route for a method without a path.
pub(crate) fn default_path(method: &MethodDescriptor, prefix: &str) -> String {
    format!(
        "{prefix}/{}/{}",
        method.parent_service().full_name(),
        method.name()
    )
}
