//! Where a violation is reported (message, field, index or map key) and how it is recorded:
//! the heads of Go PGV's messages.

use kratos_codegen::CodegenError;
use proc_macro2::TokenStream;
use quote::quote;

/// Where a violation is reported: the message and field (Go names), the field path and the
/// index or map key of an element.
#[derive(Clone)]
pub(super) struct Site {
    pub(super) msg_go: String,
    pub(super) field_go: String,
    pub(super) path: String,
    pub(super) index: Index,
    /// `pkg.Msg.field` for generation errors.
    pub(super) element: String,
    pub(super) file: String,
}

#[derive(Clone)]
pub(super) enum Index {
    None,
    Idx(TokenStream),
    Key(TokenStream, bool),
}

pub(super) fn esc(s: &str) -> String {
    s.replace('{', "{{").replace('}', "}}")
}

impl Site {
    pub(super) fn err(&self, rule: &str, reason: impl Into<String>) -> CodegenError {
        CodegenError::proto(
            self.file.clone(),
            format!("field {}", self.element),
            format!("rule `{rule}`: {}", reason.into()),
        )
    }

    pub(super) fn with_index(&self, index: Index) -> Site {
        let mut s = self.clone();
        s.index = index;
        s
    }

    /// The field path expression (`&str`).
    pub(super) fn field_expr(&self) -> TokenStream {
        match &self.index {
            Index::None => {
                let p = &self.path;
                quote!(#p)
            }
            Index::Idx(i) | Index::Key(i, _) => {
                let f = format!("{}[{{}}]", esc(&self.path));
                quote!(::std::format!(#f, #i))
            }
        }
    }

    /// The head of the message (`invalid Msg.Field[{}]: `) as a format string, with its
    /// arguments.
    pub(super) fn head(&self) -> (String, Vec<TokenStream>) {
        match &self.index {
            Index::None => (
                format!("invalid {}.{}: ", self.msg_go, self.field_go),
                vec![],
            ),
            Index::Idx(i) => (
                format!("invalid {}.{}[{{}}]: ", self.msg_go, self.field_go),
                vec![i.clone()],
            ),
            Index::Key(k, on_key) => (
                format!(
                    "invalid {}{}.{}[{{}}]: ",
                    if *on_key { "key for " } else { "" },
                    self.msg_go,
                    self.field_go
                ),
                vec![k.clone()],
            ),
        }
    }

    /// Records a violation with a constant reason.
    pub(super) fn push(&self, reason: &str) -> TokenStream {
        let field = self.field_expr();
        let (head, args) = self.head();
        let message = if args.is_empty() {
            let m = format!("{head}{reason}");
            quote!(#m)
        } else {
            let f = format!("{head}{}", esc(reason));
            quote!(::std::format!(#f, #(#args),*))
        };
        quote! {
            __v.push(#field, #message);
            if __v.done() { return; }
        }
    }

    /// Records a violation with a cause (`reason | caused by: cause`).
    pub(super) fn push_cause(&self, reason: &str, cause: TokenStream) -> TokenStream {
        let field = self.field_expr();
        let (head, args) = self.head();
        let f = format!("{head}{} | caused by: {{}}", esc(reason));
        quote! {
            __v.push(#field, ::std::format!(#f, #(#args,)* #cause));
            if __v.done() { return; }
        }
    }

    /// Records the violations of an embedded message held in `__sub`.
    pub(super) fn embed(&self) -> TokenStream {
        let field = self.field_expr();
        let (head, args) = self.head();
        let reason = "embedded message failed validation | caused by: ";
        let prefix = if args.is_empty() {
            let m = format!("{head}{reason}");
            quote!(#m)
        } else {
            let f = format!("{head}{}", esc(reason));
            quote!(&::std::format!(#f, #(#args),*))
        };
        let field = match self.index {
            Index::None => field,
            _ => quote!(&#field),
        };
        quote! {
            if !__sub.is_empty() {
                __v.embed(#field, #prefix, __sub);
                if __v.done() { return; }
            }
        }
    }
}
