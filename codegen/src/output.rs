//! Generated files: formatting, the `// @generated` marker, file naming.

use crate::error::{CodegenError, Result};

/// One output file of a plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    /// Path relative to the output directory, such as `helloworld.v1.kratos_http.rs`.
    pub name: String,
    /// The whole content.
    pub content: String,
}

impl GeneratedFile {
    /// A Rust file: `tokens` formatted with prettyplease, preceded by `// @generated` and the
    /// given header comment lines.
    pub fn rust(
        name: impl Into<String>,
        header: &[String],
        tokens: proc_macro2::TokenStream,
    ) -> Result<Self> {
        let name = name.into();
        let file = syn::parse2::<syn::File>(tokens).map_err(|e| CodegenError::Format {
            file: name.clone(),
            reason: e.to_string(),
        })?;
        let mut content = String::from("// @generated\n");
        for line in header {
            content.push_str("// ");
            content.push_str(line);
            content.push('\n');
        }
        content.push_str(&prettyplease::unparse(&file));
        Ok(GeneratedFile { name, content })
    }

    /// A file with verbatim content (JSON, YAML, ...).
    pub fn text(name: impl Into<String>, content: impl Into<String>) -> Self {
        GeneratedFile {
            name: name.into(),
            content: content.into(),
        }
    }
}

/// What a generator produced: files, and warnings to show the user (protoc plugins print them
/// on stderr; the build integration turns them into `cargo:warning` lines).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GeneratorOutput {
    /// The files to write.
    pub files: Vec<GeneratedFile>,
    /// Warnings, each naming the file and element concerned.
    pub warnings: Vec<String>,
}

/// The output file name for a proto package: `<package>.<suffix>.rs`, or `_.<suffix>.rs` for
/// files without a package (prost-build's convention for the package file is `<package>.rs`).
pub fn package_file_name(package: &str, suffix: &str) -> String {
    if package.is_empty() {
        format!("_.{suffix}.rs")
    } else {
        format!("{package}.{suffix}.rs")
    }
}
