//! Finding the `{...}` variables of a template as written, without validating the rest.
//!
//! [`Template::parse`](crate::Template::parse) accepts only the google.api.http grammar, which
//! the runtime serves. Tools that document templates instead of serving them (the OpenAPI
//! generator follows gnostic, which documents any text) need the variables of templates outside
//! that grammar too, such as `/v1/items/{name}:touch/{version}`. The rule here is lexical: a
//! variable is a `{`, the text up to the next `}`, and that `}`; a `{` with no `}` after it
//! ends the scan. Its field path is the text before the first `=`, its pattern the text after.

use std::ops::Range;

/// One `{...}` of a template, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawVariable<'a> {
    /// The byte range of the variable in the template, braces included.
    pub range: Range<usize>,
    /// The text between the braces.
    pub inner: &'a str,
    /// The text before the first `=` (all of `inner` without one).
    pub field_path: &'a str,
    /// The text after the first `=`, if any (`shelves/*` in `{name=shelves/*}`).
    pub pattern: Option<&'a str>,
}

/// The `{...}` variables of `template`, in order.
pub fn variables(template: &str) -> Vec<RawVariable<'_>> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(open) = template[from..].find('{').map(|i| from + i) {
        let Some(close) = template[open + 1..].find('}').map(|i| open + 1 + i) else {
            break;
        };
        let inner = &template[open + 1..close];
        let (field_path, pattern) = match inner.split_once('=') {
            Some((field, pattern)) => (field, Some(pattern)),
            None => (inner, None),
        };
        out.push(RawVariable {
            range: open..close + 1,
            inner,
            field_path,
            pattern,
        });
        from = close + 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(template: &str) -> Vec<(&str, Option<&str>)> {
        variables(template)
            .into_iter()
            .map(|v| (v.field_path, v.pattern))
            .collect()
    }

    #[test]
    fn variables_are_found_as_written() {
        assert_eq!(
            fields("/v1/{name=shelves/*/books/*}:move"),
            [("name", Some("shelves/*/books/*"))]
        );
        assert_eq!(
            fields("/v1/items/{name}:touch/{version}"),
            [("name", None), ("version", None)]
        );
        assert_eq!(
            fields("/v1/{a.b=*}/{c=x=y}"),
            [("a.b", Some("*")), ("c", Some("x=y"))]
        );
        let v = &variables("/x/{id}")[0];
        assert_eq!((v.range.clone(), v.inner), (3..7, "id"));
    }

    #[test]
    fn an_unclosed_brace_ends_the_scan_and_braces_do_not_nest() {
        assert_eq!(fields("/v1/{a}/{b"), [("a", None)]);
        assert_eq!(fields("/v1/{a{b}/c}"), [("a{b", None)]);
        assert!(fields("/v1/plain").is_empty());
        assert!(fields("").is_empty());
    }
}
