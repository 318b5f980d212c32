//! [`EnvSource`]: environment variables.
//!
//! Rules:
//! - Without prefixes every variable is read; with prefixes only those whose name starts with
//!   one of them (the first that matches), and the prefix and then one `_` are stripped
//!   (`KRATOS_SERVICE_NAME` with prefix `KRATOS_` or `KRATOS` → `SERVICE_NAME`); a name that
//!   is empty after stripping is skipped (Kratos' rules).
//! - A name holding `__` is a nested key: split on `__`, each part lowercased, joined with `.`
//!   (`APP_SERVER__HTTP__ADDR` with prefix `APP_` → `server.http.addr`), so a variable
//!   overrides a key of a file. A name with an empty part (`A____B`, `__X`) is kept as it is.
//! - Other names are kept as they are (`PORT` → `PORT`), which is what `${PORT}` placeholders
//!   read.
//! - Values are strings (format `""`); variables whose name or value is not Unicode are
//!   skipped. The environment is read once: the source does not watch.

use crate::config::{BoxFuture, ConfigError, KeyValue, Source, Watcher};

/// Environment variables, optionally only those with given prefixes.
#[derive(Debug, Clone, Default)]
pub struct EnvSource {
    prefixes: Vec<String>,
    /// Variables read instead of the process environment.
    vars: Option<Vec<(String, String)>>,
}

impl EnvSource {
    /// Every variable.
    pub fn new() -> Self {
        EnvSource::default()
    }

    /// Only variables starting with one of `prefixes`, which are stripped.
    pub fn with_prefixes(prefixes: impl IntoIterator<Item = impl Into<String>>) -> Self {
        EnvSource {
            prefixes: prefixes.into_iter().map(Into::into).collect(),
            vars: None,
        }
    }

    /// Reads these variables instead of the process environment (an environment file, or
    /// tests: changing the process environment is unsafe once threads run).
    pub fn vars(
        mut self,
        vars: impl IntoIterator<Item = (impl Into<String>, impl Into<String>)>,
    ) -> Self {
        self.vars = Some(
            vars.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        );
        self
    }

    /// The configuration key of variable `name`, `None` when it is skipped.
    pub fn key_of(&self, name: &str) -> Option<String> {
        let stripped = if self.prefixes.is_empty() {
            name
        } else {
            let prefix = self
                .prefixes
                .iter()
                .find(|p| name.starts_with(p.as_str()))?;
            let rest = &name[prefix.len()..];
            rest.strip_prefix('_').unwrap_or(rest)
        };
        if stripped.is_empty() {
            return None;
        }
        if stripped.contains("__") {
            let parts: Vec<&str> = stripped.split("__").collect();
            if parts.iter().all(|p| !p.is_empty()) {
                return Some(
                    parts
                        .iter()
                        .map(|p| p.to_lowercase())
                        .collect::<Vec<_>>()
                        .join("."),
                );
            }
        }
        Some(stripped.to_string())
    }

    /// The key/values of `vars`.
    pub fn read(&self, vars: impl IntoIterator<Item = (String, String)>) -> Vec<KeyValue> {
        let mut kvs: Vec<KeyValue> = vars
            .into_iter()
            .filter_map(|(name, value)| {
                self.key_of(&name).map(|key| KeyValue {
                    key,
                    value: value.into_bytes(),
                    format: String::new(),
                })
            })
            .collect();
        // A stable order: nested keys after flat ones of the same text do not depend on the
        // process's environment order.
        kvs.sort_by(|a, b| a.key.cmp(&b.key));
        kvs
    }
}

impl Source for EnvSource {
    fn name(&self) -> String {
        if self.prefixes.is_empty() {
            "env".into()
        } else {
            format!("env {}", self.prefixes.join(","))
        }
    }

    fn load(&self) -> BoxFuture<'_, Result<Vec<KeyValue>, ConfigError>> {
        let kvs = match &self.vars {
            Some(vars) => self.read(vars.iter().cloned()),
            None => self.read(
                std::env::vars_os()
                    .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
            ),
        };
        Box::pin(async move { Ok(kvs) })
    }

    fn watch(&self) -> BoxFuture<'_, Result<Option<Box<dyn Watcher>>, ConfigError>> {
        Box::pin(async { Ok(None) })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn prefixes_and_nesting_table() {
        let kratos = EnvSource::with_prefixes(["KRATOS_", "APP"]);
        let cases = [
            ("KRATOS_SERVICE_NAME", Some("SERVICE_NAME")),
            ("KRATOS_", None),
            ("APP", None),
            ("APP_", None),
            ("APPX", Some("X")),
            ("APP_SERVER__HTTP__ADDR", Some("server.http.addr")),
            (
                "APP_SERVER__HTTP__READ_TIMEOUT",
                Some("server.http.read_timeout"),
            ),
            ("APP_A____B", Some("A____B")),
            ("OTHER", None),
        ];
        for (name, want) in cases {
            assert_eq!(kratos.key_of(name).as_deref(), want, "{name}");
        }
        let all = EnvSource::new();
        assert_eq!(all.key_of("PORT").as_deref(), Some("PORT"));
        assert_eq!(
            all.key_of("SERVER__GRPC__ADDR").as_deref(),
            Some("server.grpc.addr")
        );
        assert_eq!(all.key_of("__CF_X").as_deref(), Some("__CF_X"));
    }

    #[test]
    fn read_makes_string_leaves() {
        let kvs = EnvSource::with_prefixes(["APP_"]).read([
            ("APP_SERVER__HTTP__ADDR".to_string(), ":1".to_string()),
            ("APP_PORT".to_string(), "80".to_string()),
            ("HOME".to_string(), "/".to_string()),
        ]);
        assert_eq!(
            kvs,
            vec![
                KeyValue {
                    key: "PORT".into(),
                    value: b"80".to_vec(),
                    format: String::new()
                },
                KeyValue {
                    key: "server.http.addr".into(),
                    value: b":1".to_vec(),
                    format: String::new()
                },
            ]
        );
    }
}
