//! `kratos new <name>`: a project in `./<name>`, laid out like kratos-layout.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use crate::CliError;
use crate::template::render;

/// `kratos new` arguments.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// The project's name: its directory, its package and its binary. A Rust crate name
    /// (lowercase ASCII letters, digits, `-` and `_`, starting with a letter, not a keyword).
    name: String,
    /// Use the kratos-rs crates of this checkout of the kratos-rs repository (path
    /// dependencies) instead of the published `kratos-rs`.
    #[arg(long, value_name = "DIR")]
    kratos_path: Option<PathBuf>,
}

/// Every file of a new project: its path in the project (`{{api_dir}}` is replaced) and its
/// template.
const FILES: &[(&str, &str)] = &[
    (
        "Cargo.toml",
        include_str!("../templates/new/Cargo.toml.tmpl"),
    ),
    ("build.rs", include_str!("../templates/new/build.rs.tmpl")),
    ("README.md", include_str!("../templates/new/README.md.tmpl")),
    (
        "Dockerfile",
        include_str!("../templates/new/Dockerfile.tmpl"),
    ),
    (
        ".gitignore",
        include_str!("../templates/new/gitignore.tmpl"),
    ),
    (
        "api/{{api_dir}}/v1/greeter.proto",
        include_str!("../templates/new/api/greeter.proto.tmpl"),
    ),
    (
        "api/{{api_dir}}/v1/error_reason.proto",
        include_str!("../templates/new/api/error_reason.proto.tmpl"),
    ),
    (
        "configs/config.yaml",
        include_str!("../templates/new/configs/config.yaml.tmpl"),
    ),
    (
        "src/main.rs",
        include_str!("../templates/new/src/main.rs.tmpl"),
    ),
    (
        "src/lib.rs",
        include_str!("../templates/new/src/lib.rs.tmpl"),
    ),
    (
        "src/api.rs",
        include_str!("../templates/new/src/api.rs.tmpl"),
    ),
    (
        "src/conf/conf.proto",
        include_str!("../templates/new/src/conf/conf.proto.tmpl"),
    ),
    (
        "src/conf/mod.rs",
        include_str!("../templates/new/src/conf/mod.rs.tmpl"),
    ),
    (
        "src/server/mod.rs",
        include_str!("../templates/new/src/server/mod.rs.tmpl"),
    ),
    (
        "src/server/http.rs",
        include_str!("../templates/new/src/server/http.rs.tmpl"),
    ),
    (
        "src/server/grpc.rs",
        include_str!("../templates/new/src/server/grpc.rs.tmpl"),
    ),
    (
        "src/service/mod.rs",
        include_str!("../templates/new/src/service/mod.rs.tmpl"),
    ),
    (
        "src/service/greeter.rs",
        include_str!("../templates/new/src/service/greeter.rs.tmpl"),
    ),
    (
        "src/biz/mod.rs",
        include_str!("../templates/new/src/biz/mod.rs.tmpl"),
    ),
    (
        "src/biz/greeter.rs",
        include_str!("../templates/new/src/biz/greeter.rs.tmpl"),
    ),
    (
        "src/data/mod.rs",
        include_str!("../templates/new/src/data/mod.rs.tmpl"),
    ),
    (
        "src/data/greeter.rs",
        include_str!("../templates/new/src/data/greeter.rs.tmpl"),
    ),
    (
        "tests/greeter.rs",
        include_str!("../templates/new/tests/greeter.rs.tmpl"),
    ),
];

/// The runtime features a new project uses: configuration, metrics and tracing (the runtime,
/// its logging and the servers are default features).
const FEATURES: &str = r#"features = ["config", "metrics", "otel"]"#;

/// Runs `kratos new`.
pub fn run(args: &NewArgs) -> Result<ExitCode, CliError> {
    validate_name(&args.name).map_err(|reason| {
        CliError::Invalid(format!("invalid project name {:?}: {reason}", args.name))
    })?;
    let source = match &args.kratos_path {
        Some(dir) => Source::Path(kratos_checkout(dir)?),
        None => Source::Registry,
    };
    let root = PathBuf::from(&args.name);
    create(&root, &args.name, &source)?;
    println!("Created {} ({})", args.name, source.describe());
    println!();
    println!("    cd {}", args.name);
    println!("    kratos run");
    println!("    curl localhost:8000/helloworld/kratos");
    Ok(ExitCode::SUCCESS)
}

/// Where the project's `kratos-rs` comes from.
#[derive(Debug)]
enum Source {
    /// crates.io, this command's version.
    Registry,
    /// The `runtime/` crate of a kratos-rs checkout (an absolute path).
    Path(PathBuf),
}

impl Source {
    fn describe(&self) -> String {
        match self {
            Source::Registry => format!("kratos-rs {}", env!("CARGO_PKG_VERSION")),
            Source::Path(p) => format!("kratos-rs at {}", p.display()),
        }
    }

    /// The `kratos-rs = { ... }` lines of the project's manifest.
    fn dependencies(&self) -> (String, String) {
        let location = match self {
            Source::Registry => format!("version = \"{}\"", env!("CARGO_PKG_VERSION")),
            Source::Path(p) => format!("path = {}", toml_string(&p.to_string_lossy())),
        };
        (
            format!("kratos-rs = {{ {location}, {FEATURES} }}"),
            format!(
                "kratos-rs = {{ {location}, default-features = false, features = [\"build\"] }}"
            ),
        )
    }
}

/// The runtime crate of the kratos-rs checkout `dir`, as an absolute path.
fn kratos_checkout(dir: &Path) -> Result<PathBuf, CliError> {
    let runtime = dir.join("runtime");
    let manifest = runtime.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).map_err(|e| {
        CliError::Invalid(format!(
            "--kratos-path {}: not a kratos-rs checkout ({}: {e})",
            dir.display(),
            manifest.display()
        ))
    })?;
    if !text.lines().any(|l| l.trim() == r#"name = "kratos-rs""#) {
        return Err(CliError::Invalid(format!(
            "--kratos-path {}: {} is not the kratos-rs crate",
            dir.display(),
            manifest.display()
        )));
    }
    std::path::absolute(&runtime).map_err(|e| CliError::io("cannot resolve", runtime, e))
}

/// A TOML basic string holding `text`.
fn toml_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Why `name` cannot name a project, if it cannot. The rules are those of a crate name that is
/// also a Rust identifier once `-` becomes `_` (the library's name, the proto package's first
/// segment): ASCII lowercase letters, digits, `-` and `_`, starting with a letter, at most 64
/// characters (crates.io's limit), not a Rust keyword, not a name Cargo or the compiler
/// reserves, and not a crate the project depends on.
pub fn validate_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the name is empty".into());
    }
    if name.contains(['/', '\\']) {
        return Err(
            "a name, not a path, is expected: run `kratos new` in the directory to create the \
             project in"
                .into(),
        );
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '_'))
    {
        let what = if c.is_ascii_uppercase() {
            "uppercase letter".to_string()
        } else if c.is_whitespace() {
            "space".to_string()
        } else {
            "character".to_string()
        };
        return Err(format!(
            "{what} {c:?} is not allowed: a crate name uses lowercase ASCII letters, digits, `-` \
             and `_`"
        ));
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err("a crate name must start with a letter".into());
    }
    if name.len() > 64 {
        return Err(format!("{} characters; at most 64 are allowed", name.len()));
    }
    let ident = name.replace('-', "_");
    if KEYWORDS.contains(&ident.as_str()) {
        return Err(format!("`{ident}` is a Rust keyword"));
    }
    if RESERVED.contains(&ident.as_str()) {
        return Err(format!(
            "`{name}` is reserved (a standard library crate, a Cargo target name or a Windows \
             device name)"
        ));
    }
    if DEPENDENCIES.contains(&name) || DEPENDENCIES.contains(&ident.as_str()) {
        return Err(format!(
            "`{name}` is a crate the project depends on; a package cannot depend on itself"
        ));
    }
    Ok(())
}

/// Rust's keywords, strict and reserved, of every edition.
const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut",
    "pub", "ref", "return", "self", "static", "struct", "super", "trait", "true", "type", "unsafe",
    "use", "where", "while", "abstract", "become", "box", "do", "final", "macro", "override",
    "priv", "try", "typeof", "unsized", "virtual", "yield",
];

/// Names Cargo refuses or warns about for a package.
const RESERVED: &[&str] = &[
    "std",
    "core",
    "alloc",
    "proc_macro",
    "test",
    "build",
    "deps",
    "examples",
    "incremental",
    "con",
    "prn",
    "aux",
    "nul",
    "com1",
    "com2",
    "com3",
    "com4",
    "com5",
    "com6",
    "com7",
    "com8",
    "com9",
    "lpt1",
    "lpt2",
    "lpt3",
    "lpt4",
    "lpt5",
    "lpt6",
    "lpt7",
    "lpt8",
    "lpt9",
];

/// The project's own dependencies (and the library name of `kratos-rs`).
const DEPENDENCIES: &[&str] = &["kratos", "kratos-rs", "kratos_rs", "tokio"];

/// Writes the project into the new directory `root`. The directory is created first, and
/// must not exist: an existing one is never touched. If writing fails, the directory this call
/// created is removed again.
fn create(root: &Path, name: &str, source: &Source) -> Result<(), CliError> {
    match std::fs::create_dir(root) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(CliError::Exists(root.to_path_buf()));
        }
        Err(e) => return Err(CliError::io("cannot create", root, e)),
    }
    let written = write_files(root, name, source);
    if written.is_err() {
        // Only what this call created: the directory did not exist before.
        let _ = std::fs::remove_dir_all(root);
    }
    written
}

fn write_files(root: &Path, name: &str, source: &Source) -> Result<(), CliError> {
    let crate_ident = name.replace('-', "_");
    let (kratos_dependency, kratos_build_dependency) = source.dependencies();
    let package = format!("{crate_ident}.v1");
    let values: [(&str, &str); 8] = [
        ("name", name),
        ("crate", &crate_ident),
        ("api_dir", &crate_ident),
        ("api_module", &crate_ident),
        ("package", &package),
        ("kratos_dependency", &kratos_dependency),
        ("kratos_build_dependency", &kratos_build_dependency),
        ("version", env!("CARGO_PKG_VERSION")),
    ];
    for (path, template) in FILES {
        let path = root.join(render("file path", path, &values)?);
        let content = render(&path.to_string_lossy(), template, &values)?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| CliError::io("cannot create", dir, e))?;
        }
        std::fs::write(&path, content).map_err(|e| CliError::io("cannot write", &path, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crate_names_follow_the_rules() {
        for good in ["demo", "my-app", "my_app2", "a", "helloworld"] {
            assert_eq!(validate_name(good), Ok(()), "{good}");
        }
        let reason = |name: &str| validate_name(name).err().unwrap_or_default();
        assert!(reason("").contains("empty"));
        assert!(reason("1 bad/name").contains("not a path"));
        assert!(reason("1bad").contains("start with a letter"));
        assert!(reason("-x").contains("start with a letter"));
        assert!(reason("_x").contains("start with a letter"));
        assert!(reason("bad name").contains("space"));
        assert!(reason("Demo").contains("uppercase"));
        assert!(reason("café").contains("character"));
        assert!(reason("a.b").contains("character '.'"));
        assert!(reason("fn").contains("keyword"));
        assert!(reason("type").contains("keyword"));
        assert!(reason("std").contains("reserved"));
        assert!(reason("con").contains("reserved"));
        assert!(reason("kratos-rs").contains("depends on"));
        assert!(reason("tokio").contains("depends on"));
        assert!(reason(&"a".repeat(65)).contains("at most 64"));
    }

    #[test]
    fn the_dependency_is_the_published_version_or_the_checkout() {
        let version = env!("CARGO_PKG_VERSION");
        let (runtime, build) = Source::Registry.dependencies();
        assert_eq!(
            runtime,
            format!(r#"kratos-rs = {{ version = "{version}", {FEATURES} }}"#)
        );
        assert_eq!(
            build,
            format!(
                r#"kratos-rs = {{ version = "{version}", default-features = false, features = ["build"] }}"#
            )
        );
        let (runtime, _) = Source::Path(PathBuf::from("/src/kratos-rs/runtime")).dependencies();
        assert_eq!(
            runtime,
            format!(r#"kratos-rs = {{ path = "/src/kratos-rs/runtime", {FEATURES} }}"#)
        );
    }

    #[test]
    fn manifest_strings_are_escaped() {
        assert_eq!(toml_string(r#"C:\x "y""#), r#""C:\\x \"y\"""#);
        assert_eq!(toml_string("/a/b"), "\"/a/b\"");
    }

    #[test]
    fn every_template_renders_completely() {
        let dir = tempfile::tempdir().ok();
        let root = dir.as_ref().map(|d| d.path().join("demo-app"));
        let root = root.as_deref().unwrap_or(Path::new("unused"));
        assert!(create(root, "demo-app", &Source::Registry).is_ok());
        for (path, _) in FILES {
            let path = root.join(path.replace("{{api_dir}}", "demo_app"));
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(!text.is_empty(), "{}", path.display());
            assert!(!text.contains("{{"), "{}", path.display());
        }
        // An existing directory is refused and left as it is.
        assert!(matches!(
            create(root, "demo-app", &Source::Registry),
            Err(CliError::Exists(_))
        ));
        assert!(root.join("Cargo.toml").exists());
    }
}
