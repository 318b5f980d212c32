//! `kratos proto add <path>.proto`: a proto template whose package and service come from the
//! path.
//!
//! The rule: the package is the file's directories below the import root (the project's
//! `api/` directory, or the current directory outside it) joined with `.`
//! (`api/bookstore/v1/bookstore.proto` → `bookstore.v1`); the service is the file name in
//! UpperCamelCase (`book_store.proto` → `BookStore`), with Kratos' five CRUD methods, each with
//! an HTTP rule under `/<package path>/<file name>` (`POST /bookstore/v1/bookstore`,
//! `PUT|DELETE|GET /bookstore/v1/bookstore/{id}`, `GET /bookstore/v1/bookstore`).

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use crate::CliError;
use crate::project::{absolute, import_root, is_proto_ident};
use crate::template::render;

const TEMPLATE: &str = include_str!("../templates/proto/add.proto.tmpl");

/// Runs `kratos proto add`.
pub fn run(path: &Path) -> Result<ExitCode, CliError> {
    let abs = absolute(path)?;
    let root = import_root(&abs)?;
    let content = proto_for(path, &abs, &root)?;
    if let Some(dir) = abs.parent() {
        std::fs::create_dir_all(dir).map_err(|e| CliError::io("cannot create", dir, e))?;
    }
    let mut file = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&abs)
    {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(CliError::Exists(path.to_path_buf()));
        }
        Err(e) => return Err(CliError::io("cannot create", path, e)),
    };
    file.write_all(content.as_bytes())
        .map_err(|e| CliError::io("cannot write", path, e))?;
    println!("{}", path.display());
    Ok(ExitCode::SUCCESS)
}

/// The template for the file `abs` (given as `shown`) under the import root `root`.
fn proto_for(shown: &Path, abs: &Path, root: &Path) -> Result<String, CliError> {
    let invalid = |reason: String| CliError::Invalid(format!("{}: {reason}", shown.display()));
    if abs.extension().is_none_or(|e| e != "proto") {
        return Err(invalid("the file name must end with .proto".into()));
    }
    let stem = abs.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
    if !is_proto_ident(stem) || !stem.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err(invalid(format!(
            "the file name {stem:?} names the service: it must start with a letter and hold \
             only ASCII letters, digits and `_`"
        )));
    }
    let relative = abs.parent().and_then(|dir| dir.strip_prefix(root).ok());
    let segments: Vec<&str> = relative
        .map(|r| r.iter().filter_map(|s| s.to_str()).collect())
        .unwrap_or_default();
    if segments.is_empty() {
        return Err(invalid(format!(
            "the directories below {} name the package (api/bookstore/v1/bookstore.proto is \
             package bookstore.v1), and there are none",
            root.display()
        )));
    }
    if let Some(bad) = segments.iter().find(|s| !is_proto_ident(s)) {
        return Err(invalid(format!(
            "directory {bad:?} cannot be part of a proto package: it must start with a letter \
             or `_` and hold only ASCII letters, digits and `_`"
        )));
    }
    let package = segments.join(".");
    let service = kratos_codegen::names::upper_camel_word(stem);
    let route = format!(
        "/{}/{}",
        segments.join("/"),
        kratos_codegen::names::snake_word(stem)
    );
    render(
        "add.proto",
        TEMPLATE,
        &[
            ("package", &package),
            ("service", &service),
            ("route", &route),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(path: &str) -> Result<String, String> {
        let root = Path::new("/p/api");
        proto_for(Path::new(path), &root.join(path), root).map_err(|e| e.to_string())
    }

    #[test]
    fn package_service_and_routes_come_from_the_path() {
        let text = add("bookstore/v1/bookstore.proto").unwrap_or_default();
        assert!(text.contains("package bookstore.v1;"), "{text}");
        assert!(text.contains("service Bookstore {"));
        assert!(text.contains("rpc ListBookstore (ListBookstoreRequest)"));
        assert!(text.contains(r#"get: "/bookstore/v1/bookstore/{id}""#));
        let text = add("shop/admin/v2/book_store.proto").unwrap_or_default();
        assert!(text.contains("package shop.admin.v2;"));
        assert!(text.contains("service BookStore {"));
        assert!(text.contains(r#"post: "/shop/admin/v2/book_store""#));
        for method in ["Create", "Update", "Delete", "Get", "List"] {
            assert!(
                text.contains(&format!("rpc {method}BookStore (")),
                "{method}"
            );
        }
    }

    #[test]
    fn paths_that_name_no_package_or_service_are_refused() {
        assert!(
            add("bookstore.proto")
                .unwrap_err()
                .contains("there are none")
        );
        assert!(add("v1/book.txt").unwrap_err().contains(".proto"));
        assert!(
            add("v1/1book.proto")
                .unwrap_err()
                .contains("names the service")
        );
        assert!(
            add("my-shop/v1/book.proto")
                .unwrap_err()
                .contains("\"my-shop\"")
        );
    }
}
