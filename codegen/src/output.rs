//! Generated files: formatting, the `// @generated` marker, file naming.

use proc_macro2::{Delimiter, TokenStream, TokenTree};

use crate::error::{CodegenError, Result};
use crate::item_sink::{ItemSink, format_items, parse_run};

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
    ///
    /// The text is the same as printing the whole file at once, but the file is parsed and
    /// printed a few top-level items at a time (see `print_items`), so the syntax tree of a
    /// file of thousands of methods is never built whole.
    pub fn rust(
        name: impl Into<String>,
        header: &[String],
        tokens: proc_macro2::TokenStream,
    ) -> Result<Self> {
        let name = name.into();
        let mut content = header_text(header);
        print_items(tokens, &mut content).map_err(|e| CodegenError::Format {
            file: name.clone(),
            reason: e.to_string(),
        })?;
        Ok(GeneratedFile { name, content })
    }

    /// A Rust file whose items `generate` pushes as it produces them, formatted as they come
    /// (see [`ItemSink`]), or `None` when it pushes nothing. The text is the same as
    /// [`GeneratedFile::rust`] on all the pushed tokens at once; memory is bounded by the largest
    /// push instead of the whole file. A push must be whole items; an error of `generate` is
    /// returned as is.
    pub fn rust_items(
        name: impl Into<String>,
        header: &[String],
        generate: impl FnOnce(&mut ItemSink) -> Result<()>,
    ) -> Result<Option<Self>> {
        let name = name.into();
        let content = format_items(&name, header_text(header), generate)?;
        Ok(content.map(|content| GeneratedFile { name, content }))
    }

    /// A file with verbatim content (JSON, YAML, ...).
    pub fn text(name: impl Into<String>, content: impl Into<String>) -> Self {
        GeneratedFile {
            name: name.into(),
            content: content.into(),
        }
    }
}

/// The first lines of a generated Rust file: `// @generated` and the header comment lines.
fn header_text(header: &[String]) -> String {
    let mut content = String::from("// @generated\n");
    for line in header {
        content.push_str("// ");
        content.push_str(line);
        content.push('\n');
    }
    content
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

/// Appends the prettyplease text of the items of `tokens` (a whole file's tokens) to `out`.
///
/// prettyplease prints a file as its inner attributes and then its items one after the other,
/// each ending with a forced line break, so printing consecutive runs of items and joining the
/// texts gives the text of the whole file. The runs are cut where an item can end: after a
/// top-level `;` or `{ ... }` group. A cut is kept only when the run before it parses as whole
/// items; otherwise (a `{ ... }` inside an item, as in `const A: T = T { .. };`) the run grows
/// to the next cut. A run that parses whole always ends on the same item boundary as the whole
/// file would: no Rust item that is complete can be continued by the tokens after it.
///
/// Parsing run by run keeps syn's token buffer and syntax tree to the size of one run instead
/// of the whole file, which bounds memory, and the tokens of each run are dropped once printed.
fn print_items(tokens: TokenStream, out: &mut String) -> syn::Result<()> {
    let mut run: Vec<TokenTree> = Vec::new();
    let mut first = true;
    for tree in tokens {
        let cut = match &tree {
            TokenTree::Punct(p) => p.as_char() == ';',
            TokenTree::Group(g) => g.delimiter() == Delimiter::Brace,
            _ => false,
        };
        run.push(tree);
        // Only the top-level trees are copied here: a group shares its contents.
        if cut && let Ok(file) = parse_run(run.iter().cloned().collect(), first) {
            out.push_str(&prettyplease::unparse(&file));
            run.clear();
            first = false;
        }
    }
    if first || !run.is_empty() {
        let file = parse_run(run.into_iter().collect(), first)?;
        out.push_str(&prettyplease::unparse(&file));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    /// The text prettyplease gives for the whole file at once.
    fn whole(tokens: TokenStream) -> String {
        prettyplease::unparse(&syn::parse2::<syn::File>(tokens).unwrap())
    }

    fn by_runs(tokens: TokenStream) -> syn::Result<String> {
        let mut out = String::new();
        print_items(tokens, &mut out)?;
        Ok(out)
    }

    #[test]
    fn printing_by_runs_gives_the_whole_file_text() {
        let files = [
            quote! {},
            quote! {
                #![allow(dead_code)]
                /// Doc.
                pub const A: &str = "a";
                pub struct S { pub a: u32 }
                pub const B: S = S { a: 1 };
                static C: fn() -> u32 = || { 3 };
                macro_rules! m { () => {} }
                m! {}
                m!();
                impl S where S: Sized { fn f(&self) -> u32 { match self.a { 0 => 1, _ => { 2 } } } }
                pub trait T: Send { fn g(&self) {} }
                mod inner { pub fn h() {} }
                pub enum E { A, B { x: u8 } }
                type U = S;
                use std::fmt;
            },
            quote! {
                const D: [u8; 2] = { let x = [1, 2]; x };
                pub fn last() -> impl Fn() -> u32 { || 1 }
            },
        ];
        for tokens in files {
            assert_eq!(by_runs(tokens.clone()).unwrap(), whole(tokens));
        }
    }

    #[test]
    fn invalid_files_are_errors() {
        // An item cut short, tokens that are no item, an inner attribute after an item.
        for tokens in [
            quote! { pub fn f() {} pub const X: u8 = 1 },
            quote! { pub fn f() {} 1 + 2; },
            quote! { pub fn f() {} #![allow(dead_code)] },
        ] {
            assert!(syn::parse2::<syn::File>(tokens.clone()).is_err());
            assert!(by_runs(tokens).is_err());
        }
    }
}
