//! The option protos are kept twice: `proto/` at the repository root (what `protoc -I proto` and
//! buf users put on their include path) and `runtime/proto/` (what the published `kratos-rs`
//! crate embeds for `kratos::build`, which cannot reach files outside its package). The two
//! trees must hold the same files with the same bytes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Every file under `root`, by its path relative to `root`, with its bytes.
fn tree(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .path();
            if path.is_dir() {
                walk(root, &path, out);
            } else if path.extension().is_some_and(|e| e == "proto") {
                let bytes =
                    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                let rel = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
                out.insert(rel, bytes);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

#[test]
fn runtime_copy_of_the_option_protos_matches_the_repository() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let source = tree(&repo.join("proto"));
    let copy = tree(&repo.join("runtime/proto"));
    assert!(!source.is_empty(), "no protos found under proto/");
    let source_names: Vec<_> = source.keys().collect();
    let copy_names: Vec<_> = copy.keys().collect();
    assert_eq!(
        source_names, copy_names,
        "proto/ and runtime/proto/ list different files; copy proto/ into runtime/proto/"
    );
    for (name, bytes) in &source {
        assert!(
            copy.get(name) == Some(bytes),
            "runtime/proto/{} differs from proto/{}; copy proto/ into runtime/proto/",
            name.display(),
            name.display()
        );
    }
}
