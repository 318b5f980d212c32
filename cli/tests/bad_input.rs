//! Bad input: each is refused with a reason and a non-zero exit, and nothing is overwritten.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{assert_fails_with, assert_ok, kratos, scratch};

#[test]
fn invalid_project_names_are_refused_with_the_rule_broken() {
    let dir = scratch();
    for (name, reason) in [
        ("1 bad/name", "not a path"),
        ("1bad", "must start with a letter"),
        ("bad name", "space ' ' is not allowed"),
        ("Demo", "uppercase letter 'D'"),
        ("fn", "`fn` is a Rust keyword"),
        ("std", "reserved"),
        ("tokio", "depends on"),
        ("", "empty"),
    ] {
        let output = kratos(dir.path(), &["new", name]);
        assert_fails_with(&output, &["invalid project name", reason]);
    }
    // Nothing was created.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn an_existing_directory_is_never_touched() {
    let dir = scratch();
    let existing = dir.path().join("demo");
    std::fs::create_dir(&existing).unwrap();
    std::fs::write(existing.join("keep.txt"), "mine").unwrap();
    let output = kratos(dir.path(), &["new", "demo"]);
    assert_fails_with(&output, &["demo already exists", "never overwrites"]);
    let entries: Vec<_> = std::fs::read_dir(&existing).unwrap().collect();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        std::fs::read_to_string(existing.join("keep.txt")).unwrap(),
        "mine"
    );
    // An empty directory too.
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    assert_fails_with(&kratos(dir.path(), &["new", "empty"]), &["already exists"]);
    assert_eq!(
        std::fs::read_dir(dir.path().join("empty")).unwrap().count(),
        0
    );
}

#[test]
fn kratos_path_must_be_a_kratos_rs_checkout() {
    let dir = scratch();
    let output = kratos(dir.path(), &["new", "demo", "--kratos-path", "."]);
    assert_fails_with(&output, &["--kratos-path", "not a kratos-rs checkout"]);
    assert!(!dir.path().join("demo").exists());
}

#[test]
fn proto_add_refuses_to_overwrite_and_paths_without_a_package() {
    let dir = scratch();
    let out = assert_ok(&kratos(
        dir.path(),
        &["proto", "add", "bookstore/v1/bookstore.proto"],
    ));
    assert!(out.contains("bookstore.proto"));
    let path = dir.path().join("bookstore/v1/bookstore.proto");
    let first = std::fs::read_to_string(&path).unwrap();
    assert!(first.contains("package bookstore.v1;"));
    std::fs::write(&path, "edited").unwrap();
    assert_fails_with(
        &kratos(
            dir.path(),
            &["proto", "add", "bookstore/v1/bookstore.proto"],
        ),
        &["already exists"],
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "edited");
    assert_fails_with(
        &kratos(dir.path(), &["proto", "add", "flat.proto"]),
        &["name the package", "there are none"],
    );
    assert_fails_with(
        &kratos(dir.path(), &["proto", "add", "v1/notes.txt"]),
        &["must end with .proto"],
    );
    assert_fails_with(
        &kratos(dir.path(), &["proto", "add", "my-shop/v1/shop.proto"]),
        &["\"my-shop\" cannot be part of a proto package"],
    );
}

#[test]
fn proto_server_needs_a_service_and_an_existing_target() {
    let dir = scratch();
    std::fs::create_dir_all(dir.path().join("v1")).unwrap();
    std::fs::write(
        dir.path().join("v1/messages.proto"),
        "syntax = \"proto3\";\npackage v1;\nmessage Only { string a = 1; }\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("out")).unwrap();
    assert_fails_with(
        &kratos(
            dir.path(),
            &["proto", "server", "v1/messages.proto", "-t", "out"],
        ),
        &["v1/messages.proto", "has no service"],
    );
    assert_eq!(
        std::fs::read_dir(dir.path().join("out")).unwrap().count(),
        0
    );
    std::fs::write(
        dir.path().join("v1/svc.proto"),
        "syntax = \"proto3\";\npackage v1;\nservice S { rpc A(M) returns (M); }\nmessage M {}\n",
    )
    .unwrap();
    assert_fails_with(
        &kratos(
            dir.path(),
            &["proto", "server", "v1/svc.proto", "-t", "missing"],
        ),
        &["target directory missing does not exist"],
    );
}

#[test]
fn a_proto_that_does_not_compile_is_reported_with_file_and_line() {
    let dir = scratch();
    std::fs::create_dir_all(dir.path().join("shop/v1")).unwrap();
    std::fs::write(
        dir.path().join("shop/v1/bad.proto"),
        "syntax = \"proto3\";\npackage shop.v1;\n\nmessage Book {\n  strin title = 1;\n}\n",
    )
    .unwrap();
    // Through `proto client` (a file or a directory) and `proto server` alike.
    for args in [
        &["proto", "client", "shop/v1/bad.proto"][..],
        &["proto", "client", "shop"][..],
        &["proto", "server", "shop/v1/bad.proto", "-t", "."][..],
    ] {
        assert_fails_with(&kratos(dir.path(), args), &["shop/v1/bad.proto:5:3"]);
    }
    // An unknown import names the file too.
    std::fs::write(
        dir.path().join("shop/v1/bad.proto"),
        "syntax = \"proto3\";\npackage shop.v1;\nimport \"nowhere/x.proto\";\n",
    )
    .unwrap();
    assert_fails_with(
        &kratos(dir.path(), &["proto", "client", "shop/v1/bad.proto"]),
        &["nowhere/x.proto"],
    );
    assert_fails_with(
        &kratos(dir.path(), &["proto", "client", "missing.proto"]),
        &["missing.proto: no such file"],
    );
}

#[test]
fn run_outside_a_project_says_so() {
    // The system's temporary directory, outside this repository (which has a Cargo.toml).
    let dir = tempfile::tempdir().unwrap();
    let output = kratos(dir.path(), &["run"]);
    assert_fails_with(&output, &["no project here", "Cargo.toml", "kratos new"]);
}

#[test]
fn every_command_has_help_and_the_binary_a_version() {
    let dir = scratch();
    let out = assert_ok(&kratos(dir.path(), &["--version"]));
    assert_eq!(out.trim(), format!("kratos {}", env!("CARGO_PKG_VERSION")));
    for args in [
        &["--help"][..],
        &["new", "--help"][..],
        &["run", "--help"][..],
        &["proto", "--help"][..],
        &["proto", "add", "--help"][..],
        &["proto", "client", "--help"][..],
        &["proto", "server", "--help"][..],
    ] {
        let out = assert_ok(&kratos(dir.path(), args));
        assert!(out.contains("Usage: kratos"), "{args:?}: {out}");
    }
    assert_fails_with(
        &kratos(dir.path(), &["nonsense"]),
        &["unrecognized subcommand"],
    );
    assert_fails_with(&kratos(dir.path(), &["new"]), &["<NAME>"]);
}
