//! Decoding a `CodeGeneratorRequest` with extension options intact.

use prost::Message;
use prost_reflect::{DescriptorPool, FileDescriptor};

use crate::descriptors::{add_file, failing_file};
use crate::error::{CodegenError, Result};

/// The request as protoc (or buf, or the build integration) sends it.
///
/// `proto_file` is kept as raw bytes: decoding it with prost-types would drop the extension
/// options (`google.api.http` and the like) that every plugin of the suite reads.
#[derive(Clone, PartialEq, Message)]
struct RawRequest {
    #[prost(string, repeated, tag = "1")]
    file_to_generate: Vec<String>,
    #[prost(string, optional, tag = "2")]
    parameter: Option<String>,
    #[prost(bytes = "vec", repeated, tag = "15")]
    proto_file: Vec<Vec<u8>>,
    #[prost(message, optional, tag = "3")]
    compiler_version: Option<prost_types::compiler::Version>,
}

/// A decoded plugin request: the files to generate, the parameter string and a descriptor pool
/// holding every file of the request (options included).
#[derive(Debug, Clone)]
pub struct PluginRequest {
    files_to_generate: Vec<String>,
    parameter: String,
    pool: DescriptorPool,
    compiler_version: Option<String>,
}

impl PluginRequest {
    /// Decodes the bytes of a `CodeGeneratorRequest`.
    ///
    /// Files are added to the pool in the order protoc sends them (dependencies first).
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let raw = RawRequest::decode(bytes).map_err(|e| match failing_file(bytes) {
            Some(file) => CodegenError::DecodeFile {
                file,
                reason: format!("the request does not decode inside this file's descriptor: {e}"),
            },
            None => CodegenError::DecodeRequest(e.to_string()),
        })?;
        let mut pool = DescriptorPool::new();
        // Each file's bytes are dropped once the pool holds it.
        for file in raw.proto_file {
            add_file(&mut pool, &file)?;
        }
        for name in &raw.file_to_generate {
            if pool.get_file_by_name(name).is_none() {
                return Err(CodegenError::DecodeFile {
                    file: name.clone(),
                    reason: "listed in file_to_generate but not present in proto_file".into(),
                });
            }
        }
        let compiler_version = raw.compiler_version.map(|v| {
            let mut s = format!(
                "{}.{}.{}",
                v.major.unwrap_or(0),
                v.minor.unwrap_or(0),
                v.patch.unwrap_or(0)
            );
            if let Some(suffix) = v.suffix.filter(|s| !s.is_empty()) {
                s.push('-');
                s.push_str(&suffix);
            }
            s
        });
        Ok(PluginRequest {
            files_to_generate: raw.file_to_generate,
            parameter: raw.parameter.unwrap_or_default(),
            pool,
            compiler_version,
        })
    }

    /// Builds a request in process, from a pool that already holds the files (the build.rs
    /// integration uses this: no protoc and no serialisation round trip).
    pub fn from_pool(
        pool: DescriptorPool,
        files_to_generate: Vec<String>,
        parameter: impl Into<String>,
    ) -> Result<Self> {
        for name in &files_to_generate {
            if pool.get_file_by_name(name).is_none() {
                return Err(CodegenError::DecodeFile {
                    file: name.clone(),
                    reason: "not present in the descriptor pool".into(),
                });
            }
        }
        Ok(PluginRequest {
            files_to_generate,
            parameter: parameter.into(),
            pool,
            compiler_version: None,
        })
    }

    /// Encodes the request as protoc would send it (used by tests and the build integration to
    /// drive a plugin binary).
    pub fn encode(&self) -> Vec<u8> {
        let proto_file = self
            .pool
            .files()
            .map(|f| f.encode_to_vec())
            .collect::<Vec<_>>();
        RawRequest {
            file_to_generate: self.files_to_generate.clone(),
            parameter: (!self.parameter.is_empty()).then(|| self.parameter.clone()),
            proto_file,
            compiler_version: None,
        }
        .encode_to_vec()
    }

    /// Refuses the request when an element of one of its files has no Rust name (a name made
    /// only of underscores; see [`crate::names::check_rust_names`]). The generators of Rust
    /// code call this first: their output names prost's and tonic's items.
    pub fn check_rust_names(&self) -> Result<()> {
        self.pool
            .files()
            .try_for_each(|file| crate::names::check_rust_names(&file))
    }

    /// The descriptor pool with every file of the request.
    pub fn pool(&self) -> &DescriptorPool {
        &self.pool
    }

    /// The raw parameter string (`k=v,k2=v2`), empty when none was given.
    pub fn parameter(&self) -> &str {
        &self.parameter
    }

    /// The version of the compiler that sent the request, such as `6.31.1`, when it said.
    pub fn compiler_version(&self) -> Option<&str> {
        self.compiler_version.as_deref()
    }

    /// The files to generate, in request order.
    pub fn files_to_generate(&self) -> impl Iterator<Item = FileDescriptor> + '_ {
        self.files_to_generate
            .iter()
            .filter_map(|name| self.pool.get_file_by_name(name))
    }
}
