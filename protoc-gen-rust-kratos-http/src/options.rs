//! The plugin's options, from its parameters.

use kratos_codegen::{RustPaths, WktMapping};

/// Options of the HTTP generator.
#[derive(Debug, Clone)]
pub struct Options {
    /// When true (the default, as Kratos), methods without a `google.api.http` rule get no
    /// route; when false they get `POST <omitempty_prefix>/<package.Service>/<Method>`.
    pub omitempty: bool,
    /// Prefix of the default routes.
    pub omitempty_prefix: String,
    /// Whether to generate the adapter to tonic's server trait.
    pub grpc: bool,
    /// How the well-known types are represented.
    pub wkt: WktMapping,
    /// How proto types map to Rust paths.
    pub paths: RustPaths,
}
