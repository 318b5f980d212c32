//! Formatting a Rust file while its items are generated: [`ItemSink`].
//!
//! A generator pushes whole items (or runs of them) as it produces them, and each push is
//! parsed with syn and printed with prettyplease at once, then dropped. prettyplease prints a
//! file as its inner attributes and then its items one after the other, each ending with a line
//! break, so joining the pushes' texts gives the text of the whole file printed at once.
//!
//! Memory is bounded by the largest push instead of the whole file's token stream and syntax
//! tree. An item that grows with the input (a function with a statement per route, an impl
//! block or a trait with a method per RPC, a struct with a field per RPC) is pushed in parts
//! with [`ItemSink::push_block`]: prettyplease prints a body's statements, associated items or
//! fields one after the other at one level of indentation, whatever the item around them, so
//! each part printed inside an empty stand-in item of the same kind gives the lines it has in
//! the whole item.

use proc_macro2::TokenStream;
use quote::quote;

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

    /// Appends one item whose body is given in parts, each formatted on its own: `head` is the
    /// item with an empty body (`fn f(..) -> R {}`, `impl T for S {}`, `trait T {}` or
    /// `struct S {}`, with its attributes and docs), and each part is a run of what goes in that
    /// body: statements, associated items or named fields. The text is the same as pushing the
    /// whole item, but only one part is held as tokens and syntax at a time, so an item with a
    /// part per RPC costs the memory of one part. Errors are reported as [`ItemSink::push`]'s.
    pub fn push_block<I>(&mut self, head: TokenStream, parts: I)
    where
        I: IntoIterator<Item = TokenStream>,
    {
        if self.error.is_some() {
            return;
        }
        let (open, kind) = match parse_run(head, !self.pushed)
            .map_err(|e| e.to_string())
            .and_then(|file| head_text(&file))
        {
            Ok(head) => head,
            Err(e) => {
                self.error = Some(e);
                return;
            }
        };
        self.pushed = true;
        self.content.push_str(&open);
        let mut any = false;
        for part in parts.into_iter().filter(|part| !part.is_empty()) {
            match kind.format_into(part, &mut self.content) {
                Ok(wrote) => any |= wrote,
                Err(e) => {
                    self.error = Some(e);
                    return;
                }
            }
        }
        if !any {
            // An item with nothing in its body prints as `{}` on its head's last line.
            self.content.truncate(self.content.len() - "\n".len());
        }
        self.content.push_str("}\n");
    }
}

/// The kind of body [`ItemSink::push_block`] fills, and so the stand-in item its parts are
/// printed in.
#[derive(Debug, Clone, Copy)]
enum BodyKind {
    /// A function's statements.
    Fn,
    /// An impl block's associated items.
    Impl,
    /// A trait's items.
    Trait,
    /// A struct's named fields.
    Struct,
}

impl BodyKind {
    /// Appends to `out` the lines `part` has inside a body of this kind: printed inside the
    /// stand-in item, without the stand-in's first and last lines. Returns whether there were
    /// any.
    fn format_into(self, part: TokenStream, out: &mut String) -> std::result::Result<bool, String> {
        let (stand_in, first) = match self {
            BodyKind::Fn => (quote! { fn __part() { #part } }, "fn __part() {"),
            BodyKind::Impl => (quote! { impl __Part { #part } }, "impl __Part {"),
            BodyKind::Trait => (quote! { trait __Part { #part } }, "trait __Part {"),
            BodyKind::Struct => (quote! { struct __Part { #part } }, "struct __Part {"),
        };
        // A part is one token tree inside the stand-in's braces: it cannot reach outside them.
        let file = syn::parse2::<syn::File>(stand_in).map_err(|e| e.to_string())?;
        let text = prettyplease::unparse(&file);
        let after_open = text.strip_prefix(first);
        if after_open == Some("}\n") {
            return Ok(false);
        }
        let lines = after_open
            .and_then(|t| t.strip_prefix('\n'))
            .and_then(|t| t.strip_suffix("}\n"))
            .ok_or_else(|| format!("a part of an item's body printed unexpectedly: {text}"))?;
        out.push_str(lines);
        Ok(true)
    }
}

/// The head of [`ItemSink::push_block`]'s item printed up to its body's opening brace (and the
/// line break after it), and the kind of that body; an error unless `file` is one item of a
/// kind with a body in parts, with that body empty.
fn head_text(file: &syn::File) -> std::result::Result<(String, BodyKind), String> {
    let kind = match file.items.as_slice() {
        [syn::Item::Fn(f)] if f.block.stmts.is_empty() => BodyKind::Fn,
        [syn::Item::Impl(i)] if i.items.is_empty() => BodyKind::Impl,
        [syn::Item::Trait(t)] if t.items.is_empty() => BodyKind::Trait,
        [syn::Item::Struct(s)] if matches!(&s.fields, syn::Fields::Named(f) if f.named.is_empty()) => {
            BodyKind::Struct
        }
        _ => {
            return Err(
                "the head of an item in parts must be one function, impl block, trait or struct \
                 with named fields, with an empty body"
                    .into(),
            );
        }
    };
    let text = prettyplease::unparse(file);
    let open = text
        .strip_suffix("{}\n")
        .ok_or_else(|| format!("the head of an item in parts printed unexpectedly: {text}"))?;
    Ok((format!("{open}{{\n"), kind))
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

    /// Pushes `head` (with `{}` standing for the body) in parts and as the whole item, and
    /// returns both texts.
    fn in_parts_and_whole(head: TokenStream, parts: &[TokenStream]) -> (String, String) {
        let split = format_items("f.rs", String::new(), |sink| {
            sink.push(quote! { pub const BEFORE: u8 = 1; });
            sink.push_block(head.clone(), parts.iter().cloned());
            sink.push(quote! { pub const AFTER: u8 = 2; });
            Ok(())
        });
        let body: TokenStream = parts.iter().cloned().collect();
        let text = head.to_string();
        let at = text.rfind("{ }").expect("the head ends with an empty body");
        let whole: TokenStream = format!("{}{{ {body} }}", &text[..at])
            .parse()
            .expect("the whole item lexes");
        let whole = whole_text(&[
            quote! { pub const BEFORE: u8 = 1; },
            whole,
            quote! { pub const AFTER: u8 = 2; },
        ]);
        (split.unwrap().unwrap(), whole)
    }

    fn whole_text(items: &[TokenStream]) -> String {
        whole(items)
    }

    #[test]
    fn an_item_in_parts_prints_as_the_whole_item() {
        let long_args = quote! {
            server: &mut ::some::long::path::to::a::Server,
            service: ::std::sync::Arc<S>,
            middleware: &::some::long::path::to::a::Matcher,
        };
        let routes: Vec<TokenStream> = (0..6u32)
            .map(|i| {
                let name = quote::format_ident!("route_{i}");
                quote! {
                    {
                        let service = ::std::sync::Arc::clone(&service);
                        server.#name(::kratos::RouteSpec { method: "GET", path: "/v1/{name=shelves/*}", operation: OP }, bind, move |ctx, request| { let service = ::std::sync::Arc::clone(&service); async move { service.method(ctx, request).await } })?;
                    }
                }
            })
            .chain([quote! { let x = if a { 1 } else { match b { Some(v) => v, None => 2 } }; }])
            .chain([quote! { ::core::result::Result::Ok(()) }])
            .collect();
        let methods: Vec<TokenStream> = (0..4u32)
            .map(|i| {
                let name = quote::format_ident!("call_{i}");
                quote! {
                    /// A call.
                    ///
                    /// With a second paragraph.
                    pub async fn #name(&self, request: &Request) -> ::core::result::Result<Reply, ::kratos::errors::Error> {
                        let mut path = ::std::string::String::with_capacity(64); path.push_str("/v1/"); self.client.call(path, request).await
                    }
                    type Stream = ::kratos::Stream<Reply>;
                    const N: usize = #i as usize;
                }
            })
            .collect();
        let trait_items: Vec<TokenStream> = (0..4u32)
            .map(|i| {
                let name = quote::format_ident!("method_{i}");
                quote! {
                    #[doc = " A method."]
                    fn #name(&self, ctx: ::kratos::Context, request: Request) -> impl ::core::future::Future<Output = ::core::result::Result<Reply, ::kratos::errors::Error>> + ::core::marker::Send;
                    fn with_default(&self) -> u32 { 7 }
                }
            })
            .collect();
        let fields: Vec<TokenStream> = (0..4u32)
            .map(|i| {
                let name = quote::format_ident!("field_{i}");
                quote! { #[doc = " A field."] pub #name: ::kratos::Endpoint<::some::Request, ::some::Reply>, b: u8, }
            })
            .collect();
        let cases = [
            (
                quote! {
                    /// Registers.
                    pub fn register<S: Service>(#long_args) -> ::core::result::Result<(), ::kratos::RouteError> {}
                },
                routes.clone(),
            ),
            (
                quote! { fn generic<S>(s: S) -> u32 where S: ::core::clone::Clone + ::core::fmt::Debug + Send + Sync + 'static {} },
                routes,
            ),
            (quote! { impl Client {} }, methods.clone()),
            (
                quote! { #[::kratos::async_trait] impl<T: Send> server::Service for Adapter<T> where T: Sync {} },
                methods,
            ),
            (
                quote! { /// The service.
                pub trait Service: ::core::marker::Send + ::core::marker::Sync + 'static {} },
                trait_items,
            ),
            (quote! { #[doc(hidden)] pub struct Adapter {} }, fields),
            (quote! { fn empty() {} }, vec![]),
            (quote! { impl Empty {} }, vec![quote! {}, quote! {}]),
        ];
        for (head, parts) in cases {
            let (split, whole) = in_parts_and_whole(head, &parts);
            assert_eq!(split, whole);
        }
    }

    #[test]
    fn an_item_in_parts_refuses_what_it_cannot_split() {
        for (head, part) in [
            // Not an item with a body in parts, or a body already there.
            (quote! { pub const X: u8 = 1; }, quote! { let a = 1; }),
            (quote! { fn f() { g(); } }, quote! { h(); }),
            (quote! { fn f() {} fn g() {} }, quote! { h(); }),
            (quote! { struct S(u8); }, quote! { a: u8, }),
            // A part that is not what the body holds.
            (quote! { fn f() {} }, quote! { fn g() -> }),
            (quote! { impl S {} }, quote! { let a = 1; }),
            (quote! { struct S {} }, quote! { a: u8 b: u8 }),
        ] {
            let result = format_items("f.rs", String::new(), |sink| {
                sink.push_block(head, [part]);
                Ok(())
            });
            match result {
                Err(CodegenError::Format { file, .. }) => assert_eq!(file, "f.rs"),
                other => panic!("{other:?}"),
            }
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
