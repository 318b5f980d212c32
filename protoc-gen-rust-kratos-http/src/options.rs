//! The plugin's options, from its parameters.

use kratos_codegen::{CodegenError, Params, Result, RustPaths, WktMapping};

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

impl Options {
    /// The options given by the plugin's parameters.
    pub(crate) fn from_params(params: &Params) -> Result<Self> {
        let paths = RustPaths::from_params(params)?;
        let prefix = params.string("omitempty_prefix", "");
        if !prefix.is_empty() && (!prefix.starts_with('/') || prefix.ends_with('/')) {
            return Err(CodegenError::parameter(
                "omitempty_prefix",
                format!("'{prefix}' must start with '/' and not end with '/'"),
            ));
        }
        Ok(Options {
            wkt: paths.wkt(),
            omitempty: params.bool("omitempty", true)?,
            omitempty_prefix: prefix,
            grpc: params.bool("grpc", true)?,
            paths,
        })
    }
}
