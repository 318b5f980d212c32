//! A method's routes, from its `google.api.http` rule (read by `kratos_codegen::HttpRule`) with
//! Kratos' policy: additional bindings first, then the rule itself; a rule without a pattern is
//! `POST`; an empty path is the default route.

use kratos_codegen::{CodegenError, HttpPattern, HttpRule, Result};
use prost_reflect::MethodDescriptor;

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
    let Some(rule) = HttpRule::of(method) else {
        return Ok(None);
    };
    let file = method.parent_file().name().to_string();
    let mut out = Vec::with_capacity(rule.additional_bindings.len() + 1);
    for binding in &rule.additional_bindings {
        out.push(route(binding, &file, element, method, prefix)?);
    }
    out.push(route(&rule, &file, element, method, prefix)?);
    Ok(Some(out))
}

fn route(
    rule: &HttpRule,
    file: &str,
    element: &str,
    method: &MethodDescriptor,
    prefix: &str,
) -> Result<Route> {
    // No pattern: POST, as Kratos. An empty path: the default route.
    let (method_name, path) = match &rule.pattern {
        Some(HttpPattern::Standard { verb, path }) => (verb.to_ascii_uppercase(), path.clone()),
        Some(HttpPattern::Custom { kind, .. }) if kind.is_empty() => {
            return Err(CodegenError::proto(
                file,
                element,
                "google.api.http custom rule has an empty kind",
            ));
        }
        Some(HttpPattern::Custom { kind, path }) => (kind.clone(), path.clone()),
        None => ("POST".to_string(), String::new()),
    };
    let path = if path.is_empty() {
        default_path(method, prefix)
    } else {
        path
    };
    Ok(Route {
        method: method_name,
        path,
        body: rule.body.clone(),
        response_body: rule.response_body.clone(),
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
