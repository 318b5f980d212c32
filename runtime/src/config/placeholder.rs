//! Placeholders: `${name}` and `${name:default}` in string values, resolved against the merged
//! configuration itself after every load and every change.
//!
//! Rules (Kratos' resolver, with two deliberate differences noted):
//! - A placeholder starts at `${` and ends at the next `}` (non-greedy, so `${a${b}}` is the
//!   placeholder `a${b` followed by `}`). Inside, spaces are trimmed and the text is split at
//!   the first `:` into a name and a default.
//! - The name is a dotted path into the configuration (list elements by index, `a.0.b`).
//!   Environment variables take part through the environment source (`${PORT}` reads the
//!   variable `PORT`). Found: its text (numbers and booleans formatted, null as `""`, maps and
//!   lists as JSON). Not found: the default, else `""`.
//! - Default mode: every placeholder is replaced by its text and the value stays a string.
//! - Typed mode (`resolve_actual_types`): a string that is exactly one placeholder takes the
//!   referenced value, or the default; a number or bool keeps its type, a text is converted
//!   (`"…"` quoted → the string inside, `true`/`false` → bool, an integer → int, a number with
//!   `.` → float, else string), so the environment's `PORT=8080` gives the number 8080.
//!   *Difference*: Kratos replaces the whole string by the first placeholder's value even when
//!   other text surrounds it; we substitute textually then, since `abc${PORT}` meaning `8080`
//!   loses text.
//! - A value whose placeholder refers to another value with placeholders gets that value
//!   resolved first; a cycle (`a: ${b}`, `b: ${a}`) is an error naming the chain.
//!   *Difference*: Kratos resolves in map order, so such chains depend on iteration order.

use std::collections::HashMap;

use serde_json::Value;

use super::ConfigError;

/// Resolves every placeholder of `tree` in place.
pub(crate) fn resolve(tree: &mut Value, typed: bool) -> Result<(), ConfigError> {
    let mut paths = Vec::new();
    collect(tree, &mut Vec::new(), &mut paths);
    if paths.is_empty() {
        return Ok(());
    }
    let mut resolver = Resolver {
        root: tree,
        typed,
        done: HashMap::new(),
        stack: Vec::new(),
    };
    for segments in &paths {
        resolver.resolved(&segments.join("."))?;
    }
    let done = resolver.done;
    for segments in paths {
        if let (Some(slot), Some(value)) =
            (lookup_mut(tree, &segments), done.get(&segments.join(".")))
        {
            *slot = value.clone();
        }
    }
    Ok(())
}

/// The paths (as segments) of every string leaf holding `${`.
fn collect(value: &Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match value {
        Value::String(s) if s.contains("${") => out.push(path.clone()),
        Value::Object(map) => {
            for (k, v) in map {
                path.push(k.clone());
                collect(v, path, out);
                path.pop();
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                path.push(i.to_string());
                collect(v, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

fn push(path: &mut String, segment: &str) {
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(segment);
}

/// The value at a dotted path: map keys, and list indexes for lists. A key holding a `.`
/// itself (`{"a.b": 1}`) is found too, the longest matching key first.
pub(crate) fn lookup<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    if path.is_empty() {
        return Some(value);
    }
    match value {
        Value::Object(map) => {
            if let Some(v) = map.get(path) {
                return Some(v);
            }
            let mut end = path.len();
            while let Some(dot) = path[..end].rfind('.') {
                if let Some(v) = map.get(&path[..dot])
                    && let Some(found) = lookup(v, &path[dot + 1..])
                {
                    return Some(found);
                }
                end = dot;
            }
            None
        }
        Value::Array(items) => {
            let (head, tail) = path.split_once('.').unwrap_or((path, ""));
            let item = items.get(head.parse::<usize>().ok()?)?;
            lookup(item, tail)
        }
        _ => None,
    }
}

fn lookup_mut<'a>(value: &'a mut Value, segments: &[String]) -> Option<&'a mut Value> {
    let mut current = value;
    for segment in segments {
        current = match current {
            Value::Object(map) => map.get_mut(segment.as_str())?,
            Value::Array(items) => items.get_mut(segment.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(current)
}

struct Resolver<'a> {
    root: &'a Value,
    typed: bool,
    /// Resolved values by path.
    done: HashMap<String, Value>,
    /// The paths being resolved, outermost first (for cycles).
    stack: Vec<String>,
}

impl Resolver<'_> {
    /// The resolved value of the string leaf at `path`.
    fn resolved(&mut self, path: &str) -> Result<Value, ConfigError> {
        if let Some(v) = self.done.get(path) {
            return Ok(v.clone());
        }
        if let Some(start) = self.stack.iter().position(|p| p == path) {
            let mut chain = self.stack[start..].to_vec();
            chain.push(path.to_string());
            return Err(ConfigError::Placeholder {
                key: self.stack[start].clone(),
                reason: format!("cycle {}", chain.join(" -> ")),
            });
        }
        let Some(Value::String(raw)) = lookup(self.root, path) else {
            return Ok(lookup(self.root, path).cloned().unwrap_or(Value::Null));
        };
        self.stack.push(path.to_string());
        let result = self.substitute(raw);
        self.stack.pop();
        let value = result?;
        self.done.insert(path.to_string(), value.clone());
        Ok(value)
    }

    /// The value a placeholder's name refers to, resolved; `None` when absent.
    fn reference(&mut self, name: &str) -> Result<Option<Value>, ConfigError> {
        match lookup(self.root, name) {
            None => Ok(None),
            Some(Value::String(s)) if s.contains("${") => {
                let canonical = canonical_path(self.root, name);
                self.resolved(&canonical).map(Some)
            }
            Some(v) => Ok(Some(v.clone())),
        }
    }

    fn substitute(&mut self, raw: &str) -> Result<Value, ConfigError> {
        if self.typed
            && let Some(inner) = raw.strip_prefix("${").and_then(|r| r.strip_suffix('}'))
            && !inner.contains('}')
        {
            let (name, default) = split(inner);
            return Ok(match self.reference(name)? {
                Some(Value::String(text)) => typed_default(&text),
                Some(v) => v,
                None => default.map_or(Value::String(String::new()), typed_default),
            });
        }
        let mut out = String::with_capacity(raw.len());
        let mut rest = raw;
        while let Some(start) = rest.find("${") {
            let Some(len) = rest[start + 2..].find('}') else {
                break;
            };
            out.push_str(&rest[..start]);
            let (name, default) = split(&rest[start + 2..start + 2 + len]);
            match self.reference(name)? {
                Some(v) => out.push_str(&text(&v)),
                None => out.push_str(default.unwrap_or("")),
            }
            rest = &rest[start + 2 + len + 1..];
        }
        out.push_str(rest);
        Ok(Value::String(out))
    }
}

/// `name[:default]`, trimmed.
fn split(inner: &str) -> (&str, Option<&str>) {
    let inner = inner.trim();
    match inner.split_once(':') {
        Some((name, default)) => (name.trim(), Some(default)),
        None => (inner, None),
    }
}

/// The path of a value as [`collect`] writes it (a key holding a `.` is one segment there too,
/// and both spellings denote the same leaf).
fn canonical_path(root: &Value, name: &str) -> String {
    let mut out = String::new();
    let mut current = root;
    let mut rest = name;
    while !rest.is_empty() {
        match current {
            Value::Object(map) => {
                // The longest key that is a prefix of `rest` at a segment boundary.
                let mut end = rest.len();
                loop {
                    let key = &rest[..end];
                    if let Some(v) = map.get(key)
                        && lookup(v, rest.get(end + 1..).unwrap_or("")).is_some()
                    {
                        push(&mut out, key);
                        current = v;
                        rest = rest.get(end + 1..).unwrap_or("");
                        break;
                    }
                    match rest[..end].rfind('.') {
                        Some(dot) => end = dot,
                        None => return name.to_string(),
                    }
                }
            }
            Value::Array(items) => {
                let (head, tail) = rest.split_once('.').unwrap_or((rest, ""));
                let Some(item) = head.parse::<usize>().ok().and_then(|i| items.get(i)) else {
                    return name.to_string();
                };
                push(&mut out, head);
                current = item;
                rest = tail;
            }
            _ => return name.to_string(),
        }
    }
    out
}

/// A value's text in a string: strings as they are, null as empty, the rest as JSON.
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A default's typed value in typed mode.
fn typed_default(text: &str) -> Value {
    if text.len() >= 2 && text.starts_with('"') && text.ends_with('"') {
        return Value::String(text[1..text.len() - 1].to_string());
    }
    match text {
        "true" => return Value::Bool(true),
        "false" => return Value::Bool(false),
        _ => {}
    }
    if text.contains('.')
        && let Some(n) = text
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
    {
        return Value::Number(n);
    }
    if let Ok(i) = text.parse::<i64>() {
        return Value::from(i);
    }
    Value::String(text.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;

    use super::*;

    fn resolved(tree: Value, typed: bool) -> Result<Value, ConfigError> {
        let mut tree = tree;
        resolve(&mut tree, typed).map(|()| tree)
    }

    /// Kratos' resolver cases (default mode), plus references through nested maps and lists.
    #[test]
    fn default_mode_table() {
        let base = json!({
            "PORT": "8080", "COUNT": 10, "EMPTY": "", "ON": true, "RATE": 0.5,
            "list": ["x", {"y": "deep"}],
            "nested": {"host": "db", "port": 5432}, "test": {"value": "foobar"},
        });
        let cases = [
            // kratos-reference §13 case 73.
            ("${NOTEXIST:100}", json!("100")),
            ("${PORT:8081}", json!("8080")),
            ("${test.value}", json!("foobar")),
            // Ours, and the rest of Kratos' resolver tests.
            ("${PORT}", json!("8080")),
            ("abc${PORT}foo${COUNT}bar", json!("abc8080foo10bar")),
            ("$PORT", json!("$PORT")),
            ("${foo${bar}}", json!("}")),
            ("${EMPTY:foobar}", json!("")),
            ("${NOTEXIST:100}", json!("100")),
            ("${NOTEXIST}", json!("")),
            ("${ PORT : 1 }", json!("8080")),
            ("${ON}/${RATE}", json!("true/0.5")),
            ("${nested.host}:${nested.port}", json!("db:5432")),
            ("${list.1.y}", json!("deep")),
            ("${a:b:c}", json!("b:c")),
            ("unclosed ${PORT", json!("unclosed ${PORT")),
            ("${nested}", json!(r#"{"host":"db","port":5432}"#)),
        ];
        for (input, want) in cases {
            let mut tree = base.clone();
            tree["v"] = json!(input);
            let got = resolved(tree, false).unwrap();
            assert_eq!(got["v"], want, "{input}");
        }
    }

    /// Kratos' typed cases, and ours for strings with surrounding text.
    #[test]
    fn typed_mode_table() {
        let base = json!({
            "PORT": "8080", "COUNT": 10, "ON": true, "nested": {"port": 5432},
            "ENABLE": "true", "RATE": "0.9", "QUOTED": "\"42\"", "NAME": "db",
        });
        let cases = [
            // kratos-reference §13 case 74.
            ("${PORT}", json!(8080)),
            ("${ENABLE:false}", json!(true)),
            ("${RATE}", json!(0.9)),
            ("${PORT:\"8081\"}", json!(8080)),
            ("${MISSING_PORT:\"8081\"}", json!("8081")),
            // Ours.
            ("${QUOTED}", json!("42")),
            ("${NAME}", json!("db")),
            ("${COUNT}", json!(10)),
            ("${nested.port}", json!(5432)),
            ("${ON}", json!(true)),
            ("${NOTEXIST:100}", json!(100)),
            ("${NOTEXIST:\"8081\"}", json!("8081")),
            ("${NOTEXIST:true}", json!(true)),
            ("${NOTEXIST:1.5}", json!(1.5)),
            ("${NOTEXIST:1.2.3}", json!("1.2.3")),
            ("${NOTEXIST:abc}", json!("abc")),
            ("${NOTEXIST}", json!("")),
            ("port ${COUNT}", json!("port 10")),
        ];
        for (input, want) in cases {
            let mut tree = base.clone();
            tree["v"] = json!(input);
            assert_eq!(resolved(tree, true).unwrap()["v"], want, "{input}");
        }
    }

    #[test]
    fn chains_resolve_in_any_order_and_lists_are_walked() {
        let tree = json!({
            "a": "${b}-a", "b": "${c.d}-b", "c": {"d": "${e:E}"},
            "list": ["${a}", {"x": "${b}"}],
        });
        assert_eq!(
            resolved(tree, false).unwrap(),
            json!({"a": "E-b-a", "b": "E-b", "c": {"d": "E"}, "list": ["E-b-a", {"x": "E-b"}]})
        );
    }

    #[test]
    fn cycles_are_errors_naming_the_chain() {
        let err = resolved(
            json!({"a": "${b}", "b": "x${c.d}", "c": {"d": "${a}"}}),
            false,
        )
        .unwrap_err();
        assert_eq!(
            err,
            ConfigError::Placeholder {
                key: "a".into(),
                reason: "cycle a -> b -> c.d -> a".into()
            }
        );
        let err = resolved(json!({"self": "${self:x}"}), true).unwrap_err();
        assert_eq!(
            err.to_string(),
            "config key \"self\": placeholder cycle self -> self"
        );
    }

    #[test]
    fn dotted_keys_are_found() {
        let tree = json!({"a.b": "${x.y}", "x": {"y": "1"}, "v": "${a.b}"});
        assert_eq!(resolved(tree, false).unwrap()["v"], json!("1"));
    }
}
