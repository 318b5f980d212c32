//! Plugin parameters: `k=v,k2=v2`.

use std::collections::BTreeMap;

use crate::error::{CodegenError, Result};

/// What a plugin accepts: each key and whether it may repeat.
#[derive(Debug, Clone, Copy)]
pub struct ParamSpec {
    /// The parameter's name.
    pub name: &'static str,
    /// Whether it may be given more than once (such as `extern_path`).
    pub repeated: bool,
}

impl ParamSpec {
    /// A parameter that may be given once.
    pub const fn single(name: &'static str) -> Self {
        ParamSpec {
            name,
            repeated: false,
        }
    }

    /// A parameter that may be given several times.
    pub const fn repeated(name: &'static str) -> Self {
        ParamSpec {
            name,
            repeated: true,
        }
    }
}

/// Parsed parameters. Unknown keys are rejected at parse time, naming them.
#[derive(Debug, Clone, Default)]
pub struct Params {
    values: BTreeMap<&'static str, Vec<String>>,
}

impl Params {
    /// Parses `k=v,k2=v2`. A key without `=` means `k=true` (protoc-gen-go style flags).
    /// Empty items (such as a trailing comma) are ignored.
    pub fn parse(input: &str, spec: &[ParamSpec]) -> Result<Self> {
        let mut values: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
        for item in input.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (key, value) = match item.split_once('=') {
                Some((k, v)) => (k.trim(), v.trim()),
                None => (item, "true"),
            };
            let Some(known) = spec.iter().find(|s| s.name == key) else {
                let accepted = spec.iter().map(|s| s.name).collect::<Vec<_>>().join(", ");
                let accepted = if accepted.is_empty() {
                    "this plugin takes no parameters".to_string()
                } else {
                    format!("accepted parameters: {accepted}")
                };
                return Err(CodegenError::parameter(
                    key,
                    format!("unknown parameter ({accepted})"),
                ));
            };
            let entry = values.entry(known.name).or_default();
            if !known.repeated && !entry.is_empty() {
                return Err(CodegenError::parameter(key, "given more than once"));
            }
            entry.push(value.to_string());
        }
        Ok(Params { values })
    }

    /// The value of a single parameter, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .and_then(|v| v.last())
            .map(String::as_str)
    }

    /// Every value of a repeated parameter, in order.
    pub fn all(&self, name: &str) -> &[String] {
        self.values.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    /// A boolean parameter: `true`/`false` (also `1`/`0`), or `default` when absent.
    pub fn bool(&self, name: &str, default: bool) -> Result<bool> {
        match self.get(name) {
            None => Ok(default),
            Some("true" | "1") => Ok(true),
            Some("false" | "0") => Ok(false),
            Some(other) => Err(CodegenError::parameter(
                name,
                format!("expected true or false, got '{other}'"),
            )),
        }
    }

    /// A string parameter, or `default` when absent.
    pub fn string(&self, name: &str, default: &str) -> String {
        self.get(name).unwrap_or(default).to_string()
    }

    /// A parameter restricted to a set of values, or `default` when absent.
    pub fn choice<'a>(&self, name: &str, allowed: &[&'a str], default: &'a str) -> Result<&'a str> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => allowed.iter().copied().find(|a| *a == v).ok_or_else(|| {
                CodegenError::parameter(
                    name,
                    format!("expected one of {}, got '{v}'", allowed.join(", ")),
                )
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &[ParamSpec] = &[
        ParamSpec::single("omitempty"),
        ParamSpec::single("prefix"),
        ParamSpec::repeated("extern_path"),
    ];

    #[test]
    fn parses_pairs_flags_and_repeats() {
        let p = Params::parse(
            "omitempty=false, prefix=/api,extern_path=.a=::a,extern_path=.b=::b,",
            SPEC,
        )
        .unwrap();
        assert!(!p.bool("omitempty", true).unwrap());
        assert_eq!(p.get("prefix"), Some("/api"));
        assert_eq!(p.all("extern_path"), [".a=::a", ".b=::b"]);
        let flag = Params::parse("omitempty", SPEC).unwrap();
        assert!(flag.bool("omitempty", false).unwrap());
    }

    #[test]
    fn unknown_parameter_is_named() {
        let err = Params::parse("omitempty=true,bogus=1", SPEC).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("'bogus'"), "{text}");
        assert!(text.contains("omitempty, prefix, extern_path"), "{text}");
    }

    #[test]
    fn bad_values_and_duplicates_are_rejected() {
        let p = Params::parse("omitempty=maybe", SPEC).unwrap();
        let err = p.bool("omitempty", true).unwrap_err().to_string();
        assert!(
            err.contains("'omitempty'") && err.contains("maybe"),
            "{err}"
        );
        let err = Params::parse("prefix=a,prefix=b", SPEC)
            .unwrap_err()
            .to_string();
        assert!(err.contains("more than once"), "{err}");
    }
}
