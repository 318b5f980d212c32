//! Shared plumbing for the kratos-rs protoc plugins.
//!
//! Every plugin of the suite (`protoc-gen-rust-kratos-http`, `-errors`, `-validate` and
//! `protoc-gen-openapi`) goes through the same steps, and this crate is the one copy of them:
//!
//! 1. [`PluginRequest::decode`] reads a `CodeGeneratorRequest` **without losing extension
//!    options**: each raw `proto_file` entry is decoded into a [`prost_reflect::DescriptorPool`]
//!    (prost-types would silently drop `google.api.http`, `validate.rules`, `errors.code`, ...).
//!    Each file's syntax and source-code-info spans are checked first and prost-reflect runs
//!    under a panic guard, so an invalid descriptor is an error naming the file, never a panic
//!    ([`pool_from_file_descriptor_set`] does the same for the build integration). Only the
//!    source-code locations that carry comments are kept: nothing reads spans, and the others
//!    were most of a request's memory.
//! 2. [`Params`] parses the `k=v,k2=v2` parameter string and rejects unknown keys and bad values.
//! 3. [`names`] and [`RustPaths`] name Rust items exactly as prost-build does, so generated code
//!    refers to prost's messages, enums and fields; [`names::ident`] is the one constructor of
//!    identifiers (raw only for a whole keyword).
//! 4. [`comments`] turns source comments into `///` documentation.
//! 5. [`GeneratedFile`] formats the output with prettyplease (a few items at a time, so memory
//!    stays bounded by the largest item rather than the file; generators push items to an
//!    [`ItemSink`] as they produce them, each formatted at once) and marks it `// @generated`;
//!    [`execute`] assembles the `CodeGeneratorResponse`, with every error reported in it (file,
//!    element and reason) and never a partial output; [`generate`] is the panic guard shared with
//!    the build integration.
//! 6. [`HttpRule`] reads a method's `google.api.http` rule (HTTP and OpenAPI plugins);
//!    [`files_by_package`] and [`generated_header`] shape the one-file-per-package output.
//! 7. [`plugin_main`] is the whole body of a plugin binary (`--version`, stdin, stdout).

mod descriptors;
mod error;
mod extension;
mod http_rule;
mod item_sink;
mod output;
mod package;
mod params;
mod plugin;
mod request;
mod rust_paths;

pub mod comments;
pub mod names;
#[cfg(feature = "testing")]
pub mod testing;

pub use comments::FileComments;
pub use descriptors::pool_from_file_descriptor_set;
pub use error::{CodegenError, Result};
pub use extension::extension_value;
pub use http_rule::{HttpPattern, HttpRule};
pub use item_sink::ItemSink;
pub use output::{GeneratedFile, GeneratorOutput, package_file_name};
pub use package::{files_by_package, generated_header, package_rust_file};
pub use params::{ParamSpec, Params};
pub use plugin::{Plugin, execute, execute_request, generate, plugin_main};
pub use request::PluginRequest;
pub use rust_paths::{RUST_PATH_PARAMS, RustPaths, WktMapping};

/// The global allocator of the plugin binaries (feature `fast-alloc`): mimalloc. Formatting
/// generated code allocates and frees millions of small tokens and syntax nodes, where it is
/// markedly faster than the system allocator. Libraries and build scripts are unaffected: only a
/// binary that declares it as its `#[global_allocator]` uses it.
#[cfg(feature = "fast-alloc")]
pub use mimalloc::MiMalloc as FastAllocator;

/// Re-exported so plugins and tests use the same version of prost-reflect as this crate.
pub use prost_reflect;
