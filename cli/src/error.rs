//! The command's errors: each says what was asked, what is wrong and, where it helps, what to
//! do instead.

use std::path::PathBuf;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Input the command refuses (a name, a path, a proto without services, ...).
    #[error("{0}")]
    Invalid(String),
    /// A file or directory that would be overwritten.
    #[error("{} already exists; kratos never overwrites an existing file or directory", .0.display())]
    Exists(PathBuf),
    /// An I/O operation failed.
    #[error("{what} {}: {source}", path.display())]
    Io {
        /// What was being done (`cannot write`, `cannot read`, ...).
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A proto does not compile (file:line:column: message).
    #[error("{0}")]
    Proto(#[from] kratos::build::BuildError),
    /// A program the command runs could not be started or failed.
    #[error("{0}")]
    Tool(String),
}

impl CliError {
    /// An I/O error on `path`.
    pub fn io(what: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        CliError::Io {
            what,
            path: path.into(),
            source,
        }
    }
}
