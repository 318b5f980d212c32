//! The project a command works on: the nearest directory, from a starting point upward, that
//! holds a `Cargo.toml`.

use std::path::{Path, PathBuf};

use crate::CliError;

/// The project root containing `start` (a directory): `start` or its nearest ancestor with a
/// `Cargo.toml`.
pub fn find_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| dir.join("Cargo.toml").is_file())
        .map(Path::to_path_buf)
}

/// The current directory, absolute.
pub fn current_dir() -> Result<PathBuf, CliError> {
    std::env::current_dir().map_err(|e| CliError::io("cannot read", ".", e))
}

/// `path` made absolute against the current directory, with `.` and `..` resolved lexically.
pub fn absolute(path: &Path) -> Result<PathBuf, CliError> {
    let joined = current_dir()?.join(path);
    let mut out = PathBuf::new();
    for component in joined.components() {
        match component {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    Ok(out)
}

/// Whether `name` is a proto identifier: an ASCII letter or `_`, then letters, digits or `_`.
pub fn is_proto_ident(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The proto import root for a file at `abs` (absolute): the `api/` directory of its project
/// when the file is inside it, otherwise the current directory. This is what the project's
/// build.rs compiles from, so import names and packages agree with it.
pub fn import_root(abs: &Path) -> Result<PathBuf, CliError> {
    if let Some(root) = abs.parent().and_then(find_root) {
        let api = root.join("api");
        if abs.starts_with(&api) {
            return Ok(api);
        }
    }
    current_dir()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proto_identifiers() {
        for good in ["v1", "bookstore", "_x", "Book_2"] {
            assert!(is_proto_ident(good), "{good}");
        }
        for bad in ["", "1v", "a-b", "a.b", "é"] {
            assert!(!is_proto_ident(bad), "{bad}");
        }
    }
}
