//! Reading a method's `google.api.http` rule, the one reader the HTTP and OpenAPI plugins share.
//!
//! The rule is read as written, without policy: which pattern is set (a standard verb, a
//! `custom` kind, or none), its path, `body`, `response_body` and the additional bindings. What
//! a plugin does with a rule (Kratos' route order and default routes, gnostic's choice to skip
//! custom patterns) stays in the plugin.

use prost_reflect::{DynamicMessage, MethodDescriptor, Value};

use crate::extension::extension_value;

/// The standard verbs of `google.api.HttpRule`, as its field names.
const VERBS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

/// The pattern of a rule: which member of the `pattern` oneof is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpPattern {
    /// `get`, `put`, `post`, `delete` or `patch` (the field name, lower case) and its path
    /// template (empty when written empty).
    Standard {
        /// The field name: `get`, `put`, `post`, `delete` or `patch`.
        verb: &'static str,
        /// The path template as written.
        path: String,
    },
    /// `custom { kind, path }`.
    Custom {
        /// The HTTP method as written (may be empty or `*`).
        kind: String,
        /// The path template as written.
        path: String,
    },
}

/// One `google.api.HttpRule`: the method's rule or one of its additional bindings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRule {
    /// The pattern, `None` when no member of the `pattern` oneof is set.
    pub pattern: Option<HttpPattern>,
    /// `body`: empty, `*` or a request field name.
    pub body: String,
    /// `response_body`: empty, `*` or a reply field name.
    pub response_body: String,
    /// The `additional_bindings` of the method's rule, in order (empty for an additional
    /// binding: google.api.http forbids nesting them, and nested ones are not read).
    pub additional_bindings: Vec<HttpRule>,
}

impl HttpRule {
    /// The `google.api.http` option of `method`, or `None` when it has none (or the request does
    /// not define the extension).
    pub fn of(method: &MethodDescriptor) -> Option<HttpRule> {
        let value = extension_value(method.parent_pool(), &method.options(), "google.api.http")?;
        let rule = value.as_message()?;
        let mut out = HttpRule::read(rule);
        if let Some(Value::List(bindings)) =
            rule.get_field_by_name("additional_bindings").as_deref()
        {
            out.additional_bindings = bindings
                .iter()
                .filter_map(Value::as_message)
                .map(HttpRule::read)
                .collect();
        }
        Some(out)
    }

    /// One rule's own fields (not its additional bindings).
    fn read(rule: &DynamicMessage) -> HttpRule {
        let mut pattern = VERBS
            .iter()
            .find(|verb| rule.has_field_by_name(verb))
            .map(|verb| HttpPattern::Standard {
                verb,
                path: string_field(rule, verb),
            });
        if rule.has_field_by_name("custom")
            && let Some(custom) = rule.get_field_by_name("custom")
            && let Some(custom) = custom.as_message()
        {
            pattern = Some(HttpPattern::Custom {
                kind: string_field(custom, "kind"),
                path: string_field(custom, "path"),
            });
        }
        HttpRule {
            pattern,
            body: string_field(rule, "body"),
            response_body: string_field(rule, "response_body"),
            additional_bindings: Vec::new(),
        }
    }
}

/// A string field of a message, empty when unset.
fn string_field(msg: &DynamicMessage, name: &str) -> String {
    msg.get_field_by_name(name)
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}
