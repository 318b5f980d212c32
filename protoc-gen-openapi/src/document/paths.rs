//! The HTTP bindings of a method and their paths as OpenAPI writes them: gnostic's reading of
//! path templates, on the variables `kratos_path_template::scan` finds.
//!
//! gnostic documents any template text (Kratos' router serves more than the google.api.http
//! grammar, such as `/v1/items/{name}:touch/{version}`), so the variables are found lexically
//! rather than by parsing the whole template.

use kratos_codegen::{HttpPattern, HttpRule};
use kratos_path_template::scan;
use prost_reflect::MethodDescriptor;

/// One HTTP binding of a method.
pub(super) struct Binding {
    pub(super) verb: &'static str,
    pub(super) path: String,
    pub(super) body: String,
    pub(super) response_body: String,
}

/// The rule and its additional bindings (one level), in that order; `custom` patterns and
/// rules without a pattern are left out, as gnostic does.
pub(super) fn bindings(method: &MethodDescriptor) -> Vec<Binding> {
    let Some(rule) = HttpRule::of(method) else {
        return Vec::new();
    };
    std::iter::once(&rule)
        .chain(&rule.additional_bindings)
        .filter_map(|rule| match &rule.pattern {
            Some(HttpPattern::Standard { verb, path }) => Some(Binding {
                verb,
                path: path.clone(),
                body: rule.body.clone(),
                response_body: rule.response_body.clone(),
            }),
            _ => None,
        })
        .collect()
}

/// The `{name}` variables of a path template (those without `=` and not empty), in order.
pub(super) fn simple_variables(path: &str) -> Vec<String> {
    scan::variables(path)
        .into_iter()
        .filter(|v| v.pattern.is_none() && !v.inner.is_empty() && !v.inner.contains('{'))
        .map(|v| v.inner.to_string())
        .collect()
}

/// Rewrites each `{field=lit/*/lit2/*}` variable to `lit/{singular(lit)}/lit2/{singular(lit2)}`
/// (gnostic's rewrite: each `*` or `**` that follows a literal, pairwise from the start);
/// returns the new path and, per variable, the field path and the parameter names. As in
/// gnostic, `{field=*}` has no literal, so it becomes `*` and no parameter.
pub(super) fn rewrite_named_variables(path: &str) -> (String, Vec<(String, Vec<String>)>) {
    let mut out = String::with_capacity(path.len());
    let mut named = Vec::new();
    let mut copied = 0;
    for var in scan::variables(path) {
        let Some(pattern) = var.pattern else {
            continue;
        };
        out.push_str(&path[copied..var.range.start]);
        copied = var.range.end;
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
        named.push((var.field_path.to_string(), names));
    }
    out.push_str(&path[copied..]);
    (out, named)
}

/// A path with its variables unnamed (`/v1/{name}:get` → `/v1/{}:get`): two paths of the same
/// shape are the same path to OpenAPI 3.
pub(super) fn path_shape(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut copied = 0;
    for var in scan::variables(path) {
        out.push_str(&path[copied..var.range.start]);
        out.push_str("{}");
        copied = var.range.end;
    }
    out.push_str(&path[copied..]);
    out
}

/// The variable names of an OpenAPI path, in order.
pub(super) fn path_variables(path: &str) -> Vec<String> {
    scan::variables(path)
        .into_iter()
        .map(|v| v.inner.to_string())
        .collect()
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
    fn shapes_and_variables_of_openapi_paths() {
        assert_eq!(path_shape("/v1/{name}:get"), "/v1/{}:get");
        assert_eq!(
            path_shape("/v1/items/{a}:touch/{b}"),
            "/v1/items/{}:touch/{}"
        );
        assert_eq!(path_variables("/v1/items/{a}:touch/{b}"), ["a", "b"]);
        assert_eq!(path_shape("/v1/{open"), "/v1/{open");
        assert_eq!(rewrite_named_variables("/v1/{x=*}/{y}").0, "/v1/*/{y}");
    }
}
