//! Test support shared by the plugins: compile fixture protos without protoc, build requests,
//! and compare outputs with golden files.
//!
//! Golden files are rewritten when the environment variable `UPDATE_GOLDEN=1` is set; otherwise
//! any difference fails the test with a line diff.

use std::path::{Path, PathBuf};

use prost_reflect::DescriptorPool;

use crate::request::PluginRequest;

/// The workspace's `proto/` directory (the option protos users import).
pub fn option_protos_dir() -> PathBuf {
    workspace_dir().join("proto")
}

/// The workspace root.
pub fn workspace_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Compiles `files` (names relative to one of `includes`) with protox, keeping source info and
/// extension options, into a descriptor pool. `proto/` is always on the include path.
///
/// # Panics
/// When the protos do not compile (this is test support: a broken fixture is a test failure).
pub fn compile(includes: &[PathBuf], files: &[&str]) -> DescriptorPool {
    let mut all = includes.to_vec();
    all.push(option_protos_dir());
    let mut compiler = match protox::Compiler::new(&all) {
        Ok(c) => c,
        Err(e) => panic!("include paths {all:?}: {e}"),
    };
    compiler.include_source_info(true).include_imports(true);
    for file in files {
        if let Err(e) = compiler.open_file(file) {
            panic!("fixture {file} does not compile: {e:?}");
        }
    }
    match DescriptorPool::decode(compiler.encode_file_descriptor_set().as_slice()) {
        Ok(pool) => pool,
        Err(e) => panic!("descriptor pool: {e}"),
    }
}

/// A plugin request for `files`, as protoc would send it.
pub fn request(includes: &[PathBuf], files: &[&str], parameter: &str) -> PluginRequest {
    let pool = compile(includes, files);
    match PluginRequest::from_pool(
        pool,
        files.iter().map(|f| f.to_string()).collect(),
        parameter,
    ) {
        Ok(r) => r,
        Err(e) => panic!("request: {e}"),
    }
}

/// Compares `actual` with the golden file at `path`, or rewrites it when `UPDATE_GOLDEN=1`.
///
/// # Panics
/// On a difference (with a diff of the first differing lines) or a missing golden file.
pub fn assert_golden(path: &Path, actual: &str) {
    if std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1") {
        if let Some(dir) = path.parent()
            && let Err(e) = std::fs::create_dir_all(dir)
        {
            panic!("create {}: {e}", dir.display());
        }
        if let Err(e) = std::fs::write(path, actual) {
            panic!("write {}: {e}", path.display());
        }
        return;
    }
    let expected = match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) => panic!(
            "golden file {} cannot be read ({e}); run the test with UPDATE_GOLDEN=1 to create it",
            path.display()
        ),
    };
    if expected != actual {
        let mut diff = String::new();
        for (i, (e, a)) in expected.lines().zip(actual.lines()).enumerate() {
            if e != a {
                diff.push_str(&format!("line {}:\n  golden: {e}\n  actual: {a}\n", i + 1));
                if diff.len() > 2000 {
                    break;
                }
            }
        }
        if diff.is_empty() {
            diff = format!(
                "golden has {} lines, actual has {}",
                expected.lines().count(),
                actual.lines().count()
            );
        }
        panic!(
            "{} differs from the generated output (UPDATE_GOLDEN=1 rewrites it):\n{diff}",
            path.display()
        );
    }
}
