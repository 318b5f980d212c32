//! Errors of the build integration.

use std::path::{Path, PathBuf};

use miette::Diagnostic;

/// Why code could not be generated. A proto error names the file, line and column.
///
/// `Debug` prints the same text as `Display`, so a build script whose `main` returns the error
/// with `?` shows `file.proto:line:column: message` rather than a struct dump.
#[derive(thiserror::Error)]
pub enum BuildError {
    /// `OUT_DIR` is not set (not running in a build script) and no out dir was configured.
    #[error("OUT_DIR is not set: call compile_protos from build.rs, or set an out_dir")]
    NoOutDir,
    /// A proto file does not compile.
    #[error("{location}: {message}")]
    Proto {
        /// `file.proto:line:column`, or the file name when the position is unknown.
        location: String,
        /// What is wrong.
        message: String,
    },
    /// The compiled descriptors could not be read back.
    #[error("descriptor set: {0}")]
    Descriptor(String),
    /// prost-build or tonic-prost-build failed.
    #[error("prost/tonic code generation: {0}")]
    Prost(String),
    /// pbjson-build failed.
    #[error("pbjson code generation: {0}")]
    Pbjson(String),
    /// A code generation step of another crate (prost-build, tonic-build, pbjson-build)
    /// panicked on the protos; its message says what it could not handle.
    #[error("{step} failed on these protos (it panicked): {message}")]
    Panicked {
        /// The step, such as `prost-build/tonic-build`.
        step: &'static str,
        /// The panic's message.
        message: String,
    },
    /// A kratos generator reported an error.
    #[error("{plugin}: {reason}")]
    Generator {
        /// The generator's name.
        plugin: &'static str,
        /// Its error, naming the file and element.
        reason: String,
    },
    /// An output file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl std::fmt::Debug for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl BuildError {
    /// Converts protox's diagnostic into `file:line:column: message`.
    pub(crate) fn from_protox(err: &protox::Error, includes: &[impl AsRef<Path>]) -> Self {
        let message = err.to_string();
        let file = err.file().unwrap_or("<unknown file>").to_string();
        let position = err
            .labels()
            .and_then(|mut labels| labels.next())
            .and_then(|label| {
                let offset = label.offset();
                match err.source_code() {
                    Some(source) => source
                        .read_span(label.inner(), 0, 0)
                        .ok()
                        .map(|s| (s.line() + 1, s.column() + 1)),
                    None => read_position(&file, includes, offset),
                }
            });
        let location = match position {
            Some((line, column)) => format!("{file}:{line}:{column}"),
            None => file,
        };
        BuildError::Proto { location, message }
    }
}

/// Line and column of a byte offset in `file`, found under one of the include directories.
fn read_position(
    file: &str,
    includes: &[impl AsRef<Path>],
    offset: usize,
) -> Option<(usize, usize)> {
    let text = includes
        .iter()
        .find_map(|dir| std::fs::read_to_string(dir.as_ref().join(file)).ok())?;
    let before = text.get(..offset)?;
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Some((line, column))
}
