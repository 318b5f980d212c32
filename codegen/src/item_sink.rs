//! Formatting a Rust file while its items are generated: [`ItemSink`].
//!
//! A generator pushes whole items (or runs of them) as it produces them, and each push is
//! parsed with syn and printed with prettyplease at once, then dropped. prettyplease prints a
//! file as its inner attributes and then its items one after the other, each ending with a line
//! break, so joining the pushes' texts gives the text of the whole file printed at once.
//!
//! Memory is bounded by the largest push instead of the whole file's token stream and syntax
//! tree.

use proc_macro2::TokenStream;

use crate::error::{CodegenError, Result};

/// Where a generator pushes the items of a Rust file, in file order; see the module
/// documentation. Obtained from [`crate::GeneratedFile::rust_items`] or
/// [`crate::package_rust_file`].
#[derive(Debug)]
pub struct ItemSink {
    /// The text so far.
    content: String,
    /// Whether anything was pushed (an inner attribute is allowed only before that).
    pushed: bool,
    /// The first push that was not whole items.
    error: Option<String>,
}

impl ItemSink {
    /// Appends `items`, which must be whole items (any number, including none): an inner
    /// attribute (`#![...]`) only in the file's first push. Errors (tokens that are not whole
    /// items) are reported when the file is finished, naming the file; later pushes are then
    /// ignored.
    pub fn push(&mut self, items: TokenStream) {
        if items.is_empty() || self.error.is_some() {
            return;
        }
        match parse_run(items, !self.pushed) {
            Ok(file) => self.content.push_str(&prettyplease::unparse(&file)),
            Err(e) => self.error = Some(e.to_string()),
        }
        self.pushed = true;
    }
}

/// Runs `generate` with a sink and returns `prefix` followed by the formatted items, or `None`
/// when nothing was pushed.
pub(crate) fn format_items<G>(file: &str, prefix: String, generate: G) -> Result<Option<String>>
where
    G: FnOnce(&mut ItemSink) -> Result<()>,
{
    let mut sink = ItemSink {
        content: prefix,
        pushed: false,
        error: None,
    };
    generate(&mut sink)?;
    if let Some(reason) = sink.error {
        return Err(CodegenError::Format {
            file: file.to_string(),
            reason,
        });
    }
    Ok(sink.pushed.then_some(sink.content))
}

/// Parses a run of items; inner attributes are accepted only in the file's first run, the only
/// place they may be.
pub(crate) fn parse_run(tokens: TokenStream, first: bool) -> syn::Result<syn::File> {
    let file = syn::parse2::<syn::File>(tokens)?;
    match file.attrs.first() {
        Some(attr) if !first => Err(syn::Error::new_spanned(
            attr,
            "an inner attribute is only allowed at the start of the file",
        )),
        _ => Ok(file),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    /// The text prettyplease gives for the whole file at once.
    fn whole(items: &[TokenStream]) -> String {
        let tokens: TokenStream = items.iter().cloned().collect();
        prettyplease::unparse(&syn::parse2::<syn::File>(tokens).unwrap())
    }

    fn sunk(items: &[TokenStream]) -> Result<Option<String>> {
        format_items("f.rs", String::new(), |sink| {
            for item in items {
                sink.push(item.clone());
            }
            Ok(())
        })
    }

    #[test]
    fn the_sink_gives_the_whole_file_text() {
        let many: Vec<TokenStream> = (0..50u32)
            .map(|i| {
                let name = quote::format_ident!("f{i}");
                quote! {
                    /// A function.
                    pub fn #name(x: u32) -> u32 { match x { 0 => #i, _ => { x + 1 } } }
                }
            })
            .collect();
        let files = [
            vec![
                quote! { #![allow(dead_code)] /// Doc.
                pub const A: &str = "a"; },
                quote! { pub struct S { pub a: u32 } pub const B: S = S { a: 1 }; },
                quote! { static C: fn() -> u32 = || { 3 }; },
                quote! { macro_rules! m { () => {} } m! {} m!(); },
                quote! {
                    impl S where S: Sized { fn f(&self) -> u32 { match self.a { 0 => 1, _ => { 2 } } } }
                    pub trait T: Send { fn g(&self) -> impl Iterator<Item = u8> { [1u8].into_iter() } }
                },
                quote! {},
                quote! { mod inner { pub fn h() -> f64 { -1.5e3 + r#"raw"#.len() as f64 } } },
                quote! { pub enum E { A, B { x: u8 } } type U = S; use std::fmt; },
                quote! { const D: [u8; 2] = { let x = [b'1', 2]; x }; pub fn r#type() -> &'static str { "q" } },
            ],
            many,
            vec![quote! {}, quote! { fn only() {} }],
        ];
        for items in files {
            assert_eq!(sunk(&items).unwrap(), Some(whole(&items)));
        }
    }

    #[test]
    fn the_prefix_comes_first_and_an_empty_file_is_none() {
        let text = format_items("f.rs", "// p\n".into(), |sink| {
            sink.push(quote! { fn a() {} });
            Ok(())
        });
        assert_eq!(text.unwrap().as_deref(), Some("// p\nfn a() {}\n"));
        let empty = format_items("f.rs", "// p\n".into(), |sink| {
            sink.push(TokenStream::new());
            Ok(())
        });
        assert_eq!(empty.unwrap(), None);
    }

    #[test]
    fn invalid_items_are_errors_naming_the_file() {
        // An item cut short, tokens that are no item, an inner attribute after an item.
        for items in [
            vec![quote! { pub fn f() {} }, quote! { pub const X: u8 = 1 }],
            vec![quote! { pub fn f() {} }, quote! { 1 + 2; }],
            vec![quote! { pub fn f() {} }, quote! { #![allow(dead_code)] }],
        ] {
            match sunk(&items) {
                Err(CodegenError::Format { file, .. }) => assert_eq!(file, "f.rs"),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn a_generation_error_is_returned_as_is() {
        let result = format_items("f.rs", String::new(), |sink| {
            sink.push(quote! { fn a() {} });
            Err(CodegenError::Format {
                file: "g".into(),
                reason: "r".into(),
            })
        });
        match result {
            Err(CodegenError::Format { file, reason }) => {
                assert_eq!((file.as_str(), reason.as_str()), ("g", "r"));
            }
            other => panic!("{other:?}"),
        }
    }
}
