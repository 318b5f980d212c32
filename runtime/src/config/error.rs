//! The errors of the configuration: each names what it is about (a key, a source, a file with
//! line and column) and why.

/// A configuration error.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// The key is not in the configuration (Kratos' `ErrNotFound`).
    #[error("config key {key:?}: not found")]
    NotFound {
        /// The dotted key.
        key: String,
    },
    /// The value of the key cannot be read as the type asked for.
    #[error("config key {key:?}: {found} cannot be read as {expected}")]
    Type {
        /// The dotted key.
        key: String,
        /// The type asked for (`bool`, `int`, `duration`, ...).
        expected: &'static str,
        /// What the value is, e.g. `string "abc"`.
        found: String,
    },
    /// A source's content does not parse.
    #[error("{}", parse_message(.source_name, .position, .reason))]
    Parse {
        /// The key of the key/value that failed (a file's name, an etcd key, ...).
        source_name: String,
        /// Line and column (1-based) when the parser reports them.
        position: Option<(usize, usize)>,
        /// The parser's message.
        reason: String,
    },
    /// A key/value has a format no decoder reads.
    #[error("{source_name}: unsupported format {format:?} (expected json, yaml, yml or toml)")]
    Format {
        /// The key of the key/value.
        source_name: String,
        /// Its format.
        format: String,
    },
    /// A file or directory could not be read.
    #[error("{path}: {reason}")]
    Io {
        /// The path.
        path: String,
        /// The operating system's reason.
        reason: String,
    },
    /// A placeholder could not be resolved (a cycle).
    #[error("config key {key:?}: placeholder {reason}")]
    Placeholder {
        /// The key whose value holds the placeholder.
        key: String,
        /// Why, e.g. `cycle a -> b -> a`.
        reason: String,
    },
    /// The configuration does not fit the typed schema (scan), naming the field's path.
    #[error("config {path}: {reason}")]
    Scan {
        /// The dotted path of the field (`.` for the whole configuration).
        path: String,
        /// The decoder's reason.
        reason: String,
    },
    /// The configuration breaks a validation rule of its schema.
    #[error("config invalid: {0}")]
    Invalid(String),
    /// A remote source (etcd, Consul) failed.
    #[error("config source {source_name}: {reason}")]
    Source {
        /// The source.
        source_name: String,
        /// Why.
        reason: String,
    },
}

fn parse_message(name: &str, position: &Option<(usize, usize)>, reason: &str) -> String {
    match position {
        Some((line, column)) => format!("{name}:{line}:{column}: {reason}"),
        None => format!("{name}: {reason}"),
    }
}
