//! The committed etcd client code (`src/etcd/pb/`) is exactly what prost and tonic generate
//! from `src/etcd/proto/` (compiled with protox, no protoc): the runtime builds without a
//! build script, and this test keeps the two from drifting. With `KRATOS_REGENERATE_ETCD=1`
//! it rewrites the committed files instead of comparing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use prost::Message as _;

/// The generated files, one per proto package.
const PACKAGES: [&str; 2] = ["etcdserverpb", "mvccpb"];

fn etcd_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/etcd")
}

/// Runs protox, then prost and tonic (client only, no transport helpers) into `out`.
fn generate(out: &Path) {
    let proto = etcd_dir().join("proto");
    let mut compiler = protox::Compiler::new([&proto]).unwrap();
    compiler.include_imports(true).include_source_info(true);
    compiler
        .open_files(["etcdserverpb/rpc.proto", "mvccpb/kv.proto"])
        .unwrap();
    let fds =
        prost_types::FileDescriptorSet::decode(compiler.encode_file_descriptor_set().as_slice())
            .unwrap();
    tonic_prost_build::configure()
        .build_server(false)
        .build_client(true)
        .build_transport(false)
        .emit_rerun_if_changed(false)
        .out_dir(out)
        .compile_fds(fds)
        .unwrap();
}

#[test]
fn committed_etcd_client_code_matches_the_protos() {
    let out = tempfile::tempdir().unwrap();
    generate(out.path());
    let regenerate = std::env::var_os("KRATOS_REGENERATE_ETCD").is_some();
    let mut drifted = Vec::new();
    for package in PACKAGES {
        let fresh = std::fs::read_to_string(out.path().join(format!("{package}.rs"))).unwrap();
        let committed_path = etcd_dir().join("pb").join(format!("{package}.rs"));
        if regenerate {
            std::fs::write(&committed_path, &fresh).unwrap();
            continue;
        }
        let committed = std::fs::read_to_string(&committed_path).unwrap_or_default();
        if committed != fresh {
            drifted.push(package);
        }
    }
    // Nothing else is generated: one file per package.
    let mut names: Vec<String> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["etcdserverpb.rs", "mvccpb.rs"]);
    assert!(
        drifted.is_empty(),
        "src/etcd/pb/ differs from what src/etcd/proto/ generates for {drifted:?}; regenerate with \
         KRATOS_REGENERATE_ETCD=1 cargo test -p kratos-rs --features build,etcd --test etcd_codegen"
    );
}
