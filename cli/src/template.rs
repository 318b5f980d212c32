//! Templates: text files under `templates/`, embedded in the binary, with `{{key}}`
//! placeholders.
//!
//! The rule: every `{{key}}` is replaced by the value given for `key`; a placeholder without a
//! value is an error naming it (so a template and the code filling it cannot drift apart
//! silently), and text without braces is copied as is.

use crate::CliError;

/// Fills `template` (named `name` in errors) with `values`.
pub fn render(name: &str, template: &str, values: &[(&str, &str)]) -> Result<String, CliError> {
    let mut out = String::with_capacity(template.len() + 256);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| CliError::Invalid(format!("template {name}: unclosed placeholder")))?;
        let key = &after[..end];
        let value = values
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v)
            .ok_or_else(|| {
                CliError::Invalid(format!("template {name}: no value for {{{{{key}}}}}"))
            })?;
        out.push_str(value);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn placeholders_are_replaced_and_unknown_ones_refused() {
        let values = [("name", "demo"), ("package", "demo.v1")];
        assert_eq!(
            render("t", "{{name}}: {{package}} {{name}}", &values).ok(),
            Some("demo: demo.v1 demo".to_string())
        );
        assert_eq!(
            render("t", "no braces { }", &values).ok(),
            Some("no braces { }".into())
        );
        let err = render("t", "{{missing}}", &values)
            .err()
            .map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some("template t: no value for {{missing}}"));
        assert!(render("t", "{{name", &values).is_err());
    }
}
