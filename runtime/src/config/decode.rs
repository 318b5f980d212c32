//! Decoding key/values into trees, and merging trees.
//!
//! The tree of a configuration is a JSON value whose top level is a map. Rules:
//! - Format `""`: the key is split on `.` into nested maps and the content becomes a string
//!   leaf (`a.b.c` = `v` → `{a:{b:{c:"v"}}}`), as in Kratos.
//! - `json`, `yaml`, `yml`, `toml`: the document is parsed and must be a map at its top level;
//!   YAML map keys that are not strings become their text (`1: x` → `"1"`), TOML datetimes
//!   become their RFC 3339 text. An empty document is an error: it is what a reader sees in
//!   the middle of an editor's truncate-and-write save, and serving it would drop every key.
//! - Merge (Kratos v3): maps are merged key by key recursively; anything else (lists, scalars,
//!   a map over a scalar and the reverse, null) is replaced by the later source's value.

use serde_json::{Map, Value};

use super::{ConfigError, KeyValue};

/// Decodes one key/value into a tree.
pub(crate) fn decode(kv: &KeyValue) -> Result<Value, ConfigError> {
    let parse = |position, reason: String| ConfigError::Parse {
        source_name: kv.key.clone(),
        position,
        reason,
    };
    let format = kv.format.to_ascii_lowercase();
    if format.is_empty() {
        let text =
            std::str::from_utf8(&kv.value).map_err(|e| parse(None, format!("not UTF-8: {e}")))?;
        let mut tree = Value::String(text.to_string());
        for part in kv.key.rsplit('.') {
            let mut map = Map::new();
            map.insert(part.to_string(), tree);
            tree = Value::Object(map);
        }
        return Ok(tree);
    }
    if !matches!(format.as_str(), "json" | "yaml" | "yml" | "toml") {
        return Err(ConfigError::Format {
            source_name: kv.key.clone(),
            format: kv.format.clone(),
        });
    }
    if kv.value.iter().all(u8::is_ascii_whitespace) {
        return Err(parse(None, "empty document".into()));
    }
    let tree = match format.as_str() {
        "json" => serde_json::from_slice::<Value>(&kv.value)
            .map_err(|e| parse(Some((e.line(), e.column())), e.to_string()))?,
        "toml" => {
            let text = std::str::from_utf8(&kv.value)
                .map_err(|e| parse(None, format!("not UTF-8: {e}")))?;
            let table = toml::from_str::<toml::Table>(text).map_err(|e| {
                let position = e.span().map(|span| line_column(text, span.start));
                parse(position, e.message().to_string())
            })?;
            from_toml(toml::Value::Table(table))
        }
        _ => {
            let value = yaml_serde::from_slice::<yaml_serde::Value>(&kv.value).map_err(|e| {
                let position = e.location().map(|l| (l.line(), l.column()));
                parse(position, e.to_string())
            })?;
            from_yaml(value)
        }
    };
    if !tree.is_object() {
        return Err(parse(
            None,
            format!("the top level must be a map, found {}", kind(&tree)),
        ));
    }
    Ok(tree)
}

/// Merges `src` over `dst` (Kratos v3 rules, see the module documentation).
pub(crate) fn merge(dst: &mut Value, src: Value) {
    match (dst, src) {
        (Value::Object(dst), Value::Object(src)) => {
            for (key, value) in src {
                match dst.get_mut(&key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        dst.insert(key, value);
                    }
                }
            }
        }
        (dst, src) => *dst = src,
    }
}

/// The kind of a value for error messages.
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "map",
    }
}

/// 1-based line and column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

fn from_yaml(value: yaml_serde::Value) -> Value {
    use yaml_serde::Value as Y;
    match value {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map_or_else(|| Value::String(n.to_string()), Value::Number)
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(from_yaml).collect()),
        Y::Mapping(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (yaml_key(k), from_yaml(v)))
                .collect(),
        ),
        Y::Tagged(tagged) => from_yaml(tagged.value),
    }
}

fn yaml_key(key: yaml_serde::Value) -> String {
    match from_yaml(key) {
        Value::String(s) => s,
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn from_toml(value: toml::Value) -> Value {
    match value {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => serde_json::Number::from_f64(f)
            .map_or_else(|| Value::String(f.to_string()), Value::Number),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => Value::Array(items.into_iter().map(from_toml).collect()),
        toml::Value::Table(table) => {
            Value::Object(table.into_iter().map(|(k, v)| (k, from_toml(v))).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;

    use super::*;

    fn kv(key: &str, format: &str, value: &str) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: value.as_bytes().to_vec(),
            format: format.into(),
        }
    }

    #[test]
    fn formats_decode_to_the_same_tree() {
        let want =
            json!({"server": {"http": {"addr": "0.0.0.0:8000", "port": 8000, "tls": false}}});
        let cases = [
            kv(
                "c.json",
                "json",
                r#"{"server":{"http":{"addr":"0.0.0.0:8000","port":8000,"tls":false}}}"#,
            ),
            kv(
                "c.yaml",
                "yaml",
                "server:\n  http:\n    addr: 0.0.0.0:8000\n    port: 8000\n    tls: false\n",
            ),
            kv(
                "c.yml",
                "yml",
                "server: {http: {addr: '0.0.0.0:8000', port: 8000, tls: false}}",
            ),
            kv(
                "c.toml",
                "toml",
                "[server.http]\naddr = \"0.0.0.0:8000\"\nport = 8000\ntls = false\n",
            ),
            kv(
                "c.yaml",
                "YAML",
                "server:\n  http: {addr: 0.0.0.0:8000, port: 8000, tls: false}\n",
            ),
        ];
        for case in cases {
            assert_eq!(decode(&case).unwrap(), want, "{case:?}");
        }
    }

    /// The README's flow style: addresses with a port stay strings, durations stay text.
    #[test]
    fn yaml_flow_maps_keep_addresses_as_strings() {
        let kv = kv(
            "config.yaml",
            "yaml",
            "server:\n  http: {addr: 0.0.0.0:8000, timeout: 1s}\ngreeting: ${GREETING:Hello}\n",
        );
        assert_eq!(
            decode(&kv).unwrap(),
            json!({"server": {"http": {"addr": "0.0.0.0:8000", "timeout": "1s"}}, "greeting": "${GREETING:Hello}"})
        );
    }

    #[test]
    fn format_empty_nests_the_dotted_key_with_a_string_leaf() {
        assert_eq!(
            decode(&kv("a.b.c", "", "1")).unwrap(),
            json!({"a": {"b": {"c": "1"}}})
        );
        assert_eq!(
            decode(&kv("PORT", "", "8080")).unwrap(),
            json!({"PORT": "8080"})
        );
    }

    #[test]
    fn yaml_non_string_keys_and_toml_datetimes_become_text() {
        assert_eq!(
            decode(&kv("c.yaml", "yaml", "1: one\ntrue: yes\n")).unwrap(),
            json!({"1": "one", "true": "yes"})
        );
        assert_eq!(
            decode(&kv("c.toml", "toml", "at = 1979-05-27T07:32:00Z\n")).unwrap(),
            json!({"at": "1979-05-27T07:32:00Z"})
        );
    }

    #[test]
    fn errors_name_the_source_with_line_and_column() {
        let cases = [
            (
                kv("c.json", "json", "{\n  \"a\": 1,\n  oops\n}"),
                Some((3, 3)),
            ),
            (kv("c.yaml", "yaml", "a: 1\nb: [1, 2\n"), Some((3, 1))),
            (kv("c.toml", "toml", "a = 1\nb = = 2\n"), Some((2, 5))),
        ];
        for (case, position) in cases {
            match decode(&case) {
                Err(ConfigError::Parse {
                    source_name,
                    position: got,
                    ..
                }) => {
                    assert_eq!(source_name, case.key);
                    assert_eq!(got, position, "{case:?}");
                }
                other => panic!("{case:?}: {other:?}"),
            }
        }
        for (case, reason) in [
            (kv("c.yaml", "yaml", "  \n"), "empty document"),
            (
                kv("c.json", "json", "[1]"),
                "the top level must be a map, found list",
            ),
            (
                kv("c.yaml", "yaml", "just text"),
                "the top level must be a map, found string",
            ),
        ] {
            assert_eq!(
                decode(&case).unwrap_err().to_string(),
                format!("{}: {reason}", case.key)
            );
        }
        assert_eq!(
            decode(&kv("c.ini", "ini", "a=1")).unwrap_err(),
            ConfigError::Format {
                source_name: "c.ini".into(),
                format: "ini".into()
            }
        );
    }

    /// Kratos v3's merge: maps recursively, everything else replaced by the later source, even
    /// by an empty value.
    #[test]
    fn merge_table() {
        let cases = [
            (json!({"a": 1}), json!({"b": 2}), json!({"a": 1, "b": 2})),
            (
                json!({"a": {"x": 1, "y": 2}}),
                json!({"a": {"y": 3}}),
                json!({"a": {"x": 1, "y": 3}}),
            ),
            (
                json!({"a": [1, 2, 3]}),
                json!({"a": [4]}),
                json!({"a": [4]}),
            ),
            (json!({"a": "x"}), json!({"a": ""}), json!({"a": ""})),
            (
                json!({"a": {"x": 1}}),
                json!({"a": "flat"}),
                json!({"a": "flat"}),
            ),
            (
                json!({"a": "flat"}),
                json!({"a": {"x": 1}}),
                json!({"a": {"x": 1}}),
            ),
            (json!({"a": 1}), json!({"a": null}), json!({"a": null})),
            (
                json!({"s": {"h": {"addr": ":8000", "timeout": "1s"}}}),
                json!({"s": {"h": {"addr": ":9000"}, "g": {"addr": ":9001"}}}),
                json!({"s": {"h": {"addr": ":9000", "timeout": "1s"}, "g": {"addr": ":9001"}}}),
            ),
        ];
        for (dst, src, want) in cases {
            let mut got = dst.clone();
            merge(&mut got, src.clone());
            assert_eq!(got, want, "{dst} <- {src}");
        }
    }
}
