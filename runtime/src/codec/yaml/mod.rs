//! Kratos' YAML error body: Go's yaml.v3 encoding of `*errors.Error`, whose `Status` is an
//! embedded struct (so a `status:` key) and whose indentation is four spaces.

use crate::errors::Error;

pub(super) mod limits;

/// `status:\n    code: 404\n    reason: ...\n    message: ...\n    metadata: {}\n`.
pub(crate) fn error_to_yaml(error: &Error) -> String {
    let mut out = String::from("status:\n");
    out.push_str(&format!("    code: {}\n", error.code()));
    out.push_str(&format!("    reason: {}\n", scalar(error.reason())));
    out.push_str(&format!("    message: {}\n", scalar(error.message())));
    if error.metadata().is_empty() {
        out.push_str("    metadata: {}\n");
    } else {
        out.push_str("    metadata:\n");
        for (k, v) in error.metadata() {
            out.push_str(&format!("        {}: {}\n", scalar(k), scalar(v)));
        }
    }
    out
}

/// Reads the YAML error body back (`status:` wrapper, or the fields at the top level).
pub(crate) fn error_from_yaml(bytes: &[u8]) -> Option<Error> {
    let value: yaml_serde::Value = yaml_serde::from_slice(bytes).ok()?;
    let status = value.get("status").unwrap_or(&value);
    let text = |key: &str| {
        status
            .get(key)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string()
    };
    let code = status.get("code").and_then(yaml_serde::Value::as_i64)?;
    let metadata: Vec<(String, String)> = status
        .get("metadata")
        .and_then(|m| m.as_mapping())
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    Some(
        Error::new(i32::try_from(code).ok()?, text("reason"), text("message"))
            .with_metadata(metadata),
    )
}

/// A YAML scalar: plain when yaml.v3 would write it plain, else double-quoted.
fn scalar(s: &str) -> String {
    let reserved = matches!(
        s.to_ascii_lowercase().as_str(),
        "" | "~" | "null" | "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n"
    );
    let numeric = s.parse::<f64>().is_ok() || s.starts_with("0x") || s.starts_with("0o");
    let special_start =
        s.starts_with(|c: char| "-?:,[]{}#&*!|>'\"%@`".contains(c) || c.is_whitespace());
    let special_inside = s.contains(": ")
        || s.contains(" #")
        || s.ends_with(':')
        || s.ends_with(char::is_whitespace)
        || s.chars()
            .any(|c| c.is_control() || c == '\u{2028}' || c == '\u{2029}' || c == '\u{feff}');
    if !(reserved || numeric || special_start || special_inside) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_kratos_yaml_error_bodies() {
        let err = Error::new(404, "SHELF_NOT_FOUND", "shelf \"m\" not found");
        assert_eq!(
            error_to_yaml(&err),
            "status:\n    code: 404\n    reason: SHELF_NOT_FOUND\n    message: shelf \"m\" not found\n    metadata: {}\n"
        );
        let err = Error::new(500, "", "true").with_metadata([("k", "v: w")]);
        let yaml = error_to_yaml(&err);
        assert_eq!(
            yaml,
            "status:\n    code: 500\n    reason: \"\"\n    message: \"true\"\n    metadata:\n        k: \"v: w\"\n"
        );
        assert_eq!(error_from_yaml(yaml.as_bytes()), Some(err));
    }
}
