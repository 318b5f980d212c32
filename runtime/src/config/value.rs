//! [`Value`]: one key's value with typed getters.
//!
//! Conversion rules (Kratos' `Value`, with `duration` extended):
//! - `bool`: a bool; a string or number whose text is Go's `ParseBool` (`1 t T TRUE true True`,
//!   `0 f F FALSE false False`).
//! - `int`: an integer; a float truncated toward zero; a string parsed as a base-10 integer.
//! - `float`: a number; a string parsed as a float.
//! - `string`: a string; numbers and bools formatted. Maps, lists and null are type errors.
//! - `duration`: an integer is nanoseconds (Kratos' `time.Duration(Int())`), a string is Go's
//!   duration syntax (`"1s"`, `"200ms"`, `"1h30m"`) or an integer text of nanoseconds.
//!   *Difference*: Kratos rejects `"1s"` here.
//! - `slice` and `map`: a list or a map, as values named `key.0`, `key.name`.
//!
//! A missing key gives [`ConfigError::NotFound`] from every getter; a type mismatch gives
//! [`ConfigError::Type`] naming the key, the type asked for and the value found.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::Value as Json;

use super::decode::kind;
use super::duration::parse_go_duration;
use super::{ConfigError, scan};

/// The value of one configuration key at one moment (values are snapshots: a later change of
/// the configuration does not change a `Value` already read).
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    key: String,
    value: Option<Json>,
}

impl Value {
    /// The value `value` of `key` (`None` when the key is absent).
    pub fn new(key: impl Into<String>, value: Option<Json>) -> Self {
        Value {
            key: key.into(),
            value,
        }
    }

    /// The dotted key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Whether the key exists.
    pub fn exists(&self) -> bool {
        self.value.is_some()
    }

    /// The raw tree, if the key exists.
    pub fn raw(&self) -> Option<&Json> {
        self.value.as_ref()
    }

    fn get(&self) -> Result<&Json, ConfigError> {
        self.value.as_ref().ok_or_else(|| ConfigError::NotFound {
            key: self.key.clone(),
        })
    }

    fn type_error(&self, expected: &'static str, found: &Json) -> ConfigError {
        let found = match found {
            Json::String(s) => format!("string {s:?}"),
            Json::Number(n) => format!("number {n}"),
            Json::Bool(b) => format!("bool {b}"),
            other => kind(other).to_string(),
        };
        ConfigError::Type {
            key: self.key.clone(),
            expected,
            found,
        }
    }

    /// The value as a bool.
    pub fn bool(&self) -> Result<bool, ConfigError> {
        let v = self.get()?;
        let text = match v {
            Json::Bool(b) => return Ok(*b),
            Json::String(s) => s.as_str(),
            Json::Number(n) if n.as_i64() == Some(1) => "1",
            Json::Number(n) if n.as_i64() == Some(0) => "0",
            _ => return Err(self.type_error("bool", v)),
        };
        match text {
            "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
            "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
            _ => Err(self.type_error("bool", v)),
        }
    }

    /// The value as a signed integer.
    pub fn int(&self) -> Result<i64, ConfigError> {
        let v = self.get()?;
        match v {
            Json::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Ok(i)
                } else if let Some(f) = n.as_f64().filter(|f| f.trunc().abs() < 9.2e18) {
                    // Truncation toward zero, as Go's int64(f); the range was checked.
                    #[allow(clippy::cast_possible_truncation)]
                    Ok(f.trunc() as i64)
                } else {
                    Err(self.type_error("int", v))
                }
            }
            Json::String(s) => s.parse().map_err(|_| self.type_error("int", v)),
            _ => Err(self.type_error("int", v)),
        }
    }

    /// The value as a float.
    pub fn float(&self) -> Result<f64, ConfigError> {
        let v = self.get()?;
        match v {
            Json::Number(n) => n.as_f64().ok_or_else(|| self.type_error("float", v)),
            Json::String(s) => s.parse().map_err(|_| self.type_error("float", v)),
            _ => Err(self.type_error("float", v)),
        }
    }

    /// The value as a string.
    pub fn string(&self) -> Result<String, ConfigError> {
        let v = self.get()?;
        match v {
            Json::String(s) => Ok(s.clone()),
            Json::Number(n) => Ok(n.to_string()),
            Json::Bool(b) => Ok(b.to_string()),
            _ => Err(self.type_error("string", v)),
        }
    }

    /// The value as a duration.
    pub fn duration(&self) -> Result<Duration, ConfigError> {
        let v = self.get()?;
        match v {
            Json::Number(n) => n
                .as_u64()
                .map(Duration::from_nanos)
                .ok_or_else(|| self.type_error("duration", v)),
            Json::String(s) => match s.parse::<u64>() {
                Ok(nanos) => Ok(Duration::from_nanos(nanos)),
                Err(_) => parse_go_duration(s).map_err(|_| self.type_error("duration", v)),
            },
            _ => Err(self.type_error("duration", v)),
        }
    }

    /// The value as a list of values (`key.0`, `key.1`, ...).
    pub fn slice(&self) -> Result<Vec<Value>, ConfigError> {
        let v = self.get()?;
        match v {
            Json::Array(items) => Ok(items
                .iter()
                .enumerate()
                .map(|(i, item)| Value::new(format!("{}.{i}", self.key), Some(item.clone())))
                .collect()),
            _ => Err(self.type_error("slice", v)),
        }
    }

    /// The value as a map of values (`key.name`).
    pub fn map(&self) -> Result<BTreeMap<String, Value>, ConfigError> {
        let v = self.get()?;
        match v {
            Json::Object(map) => Ok(map
                .iter()
                .map(|(k, item)| {
                    let key = if self.key.is_empty() {
                        k.clone()
                    } else {
                        format!("{}.{k}", self.key)
                    };
                    (k.clone(), Value::new(key, Some(item.clone())))
                })
                .collect()),
            _ => Err(self.type_error("map", v)),
        }
    }

    /// The value decoded into `T` (serde; prost messages through their proto3 JSON, see
    /// [`Config::scan`](super::Config::scan)).
    pub fn scan<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        scan::scan_at(&self.key, self.get()?)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;

    use super::*;

    fn v(value: Json) -> Value {
        Value::new("k", Some(value))
    }

    #[test]
    fn getters_table() {
        // bool
        for (input, want) in [
            (json!(true), Some(true)),
            (json!("true"), Some(true)),
            (json!("T"), Some(true)),
            (json!("0"), Some(false)),
            (json!(1), Some(true)),
            (json!(0), Some(false)),
            (json!(2), None),
            (json!("yes"), None),
            (json!([]), None),
        ] {
            assert_eq!(v(input.clone()).bool().ok(), want, "bool {input}");
        }
        // int
        for (input, want) in [
            (json!(42), Some(42)),
            (json!(-7), Some(-7)),
            (json!(3.9), Some(3)),
            (json!(-3.9), Some(-3)),
            (json!("12"), Some(12)),
            (json!("1.5"), None),
            (json!(true), None),
            (json!(1e30), None),
        ] {
            assert_eq!(v(input.clone()).int().ok(), want, "int {input}");
        }
        // float
        for (input, want) in [
            (json!(1.5), Some(1.5)),
            (json!(2), Some(2.0)),
            (json!("0.25"), Some(0.25)),
            (json!("x"), None),
        ] {
            assert_eq!(v(input.clone()).float().ok(), want, "float {input}");
        }
        // string
        for (input, want) in [
            (json!("s"), Some("s")),
            (json!(8080), Some("8080")),
            (json!(1.5), Some("1.5")),
            (json!(false), Some("false")),
            (json!({}), None),
            (json!(null), None),
        ] {
            assert_eq!(
                v(input.clone()).string().ok().as_deref(),
                want,
                "string {input}"
            );
        }
        // duration: Kratos' nanosecond integers and Go's syntax
        for (input, want) in [
            (json!(1_000_000_000), Some(Duration::from_secs(1))),
            (json!("1s"), Some(Duration::from_secs(1))),
            (json!("0.2s"), Some(Duration::from_millis(200))),
            (json!("1m30s"), Some(Duration::from_secs(90))),
            (json!("500"), Some(Duration::from_nanos(500))),
            (json!(-1), None),
            (json!("soon"), None),
            (json!(true), None),
        ] {
            assert_eq!(v(input.clone()).duration().ok(), want, "duration {input}");
        }
    }

    #[test]
    fn slices_and_maps_name_their_elements() {
        let list = Value::new("a.list", Some(json!([1, "x"])));
        let items = list.slice().unwrap();
        assert_eq!(items[1].key(), "a.list.1");
        assert_eq!(items[0].int().unwrap(), 1);
        let map = Value::new("a", Some(json!({"b": {"c": true}})));
        let entries = map.map().unwrap();
        assert_eq!(entries["b"].key(), "a.b");
        assert!(entries["b"].map().unwrap()["c"].bool().unwrap());
        assert!(list.map().is_err());
        assert!(map.slice().is_err());
    }

    #[test]
    fn errors_name_the_key_and_the_types() {
        let missing = Value::new("server.http.addr", None);
        assert_eq!(
            missing.string().unwrap_err(),
            ConfigError::NotFound {
                key: "server.http.addr".into()
            }
        );
        assert!(!missing.exists());
        let err = Value::new("server.http.timeout", Some(json!("soon")))
            .duration()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "config key \"server.http.timeout\": string \"soon\" cannot be read as duration"
        );
        let err = Value::new("a", Some(json!([1]))).int().unwrap_err();
        assert_eq!(
            err.to_string(),
            "config key \"a\": list cannot be read as int"
        );
    }
}
