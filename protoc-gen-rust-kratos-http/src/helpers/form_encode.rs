//! Generated form encoders (the client side of form binding): a message's populated fields as
//! `(key, value)` pairs for query strings.

use kratos_codegen::ItemSink;
use kratos_codegen::RustPaths;
use kratos_codegen::names::{
    field_ident, ident, is_option_field, real_oneof, to_snake, to_upper_camel,
};
use proc_macro2::{Ident, TokenStream};
use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};
use quote::quote;

use super::on_demand::OnDemand;

/// The well-known types that have a string form.
fn is_wkt(message: &MessageDescriptor) -> bool {
    message.package_name() == "google.protobuf"
}

/// Generated form encoders: a message's populated fields as `(key, value)` pairs, keys in JSON
/// names with dotted nesting and `m[k]` map entries (Kratos' `EncodeValues`), for the client's
/// query strings.
pub(crate) struct FormEncoders<'a> {
    paths: &'a RustPaths,
    package: &'a str,
    fns: OnDemand,
}

impl<'a> FormEncoders<'a> {
    pub(crate) fn new(paths: &'a RustPaths, package: &'a str) -> Self {
        FormEncoders {
            paths,
            package,
            fns: OnDemand::new("__form_", "_encode"),
        }
    }

    /// The encoder of `message`, generated if needed.
    pub(crate) fn of(&mut self, message: &MessageDescriptor) -> Ident {
        self.fns.of(message)
    }

    /// Every generated encoder.
    pub(crate) fn finish(mut self, sink: &mut ItemSink) {
        while let Some(message) = self.fns.next() {
            sink.push(self.function(&message));
        }
    }

    fn function(&mut self, message: &MessageDescriptor) -> TokenStream {
        let ident = self.of(message);
        let ty = self.paths.type_tokens(message.full_name(), self.package);
        let stmts = self.statements(message, None);
        let doc = format!(
            " The populated fields of `{}` as form pairs.",
            message.full_name()
        );
        quote! {
            #[doc = #doc]
            #[allow(unused_variables, unused_imports, clippy::ptr_arg)]
            fn #ident(
                msg: &#ty,
                prefix: &str,
                out: &mut ::std::vec::Vec<(::std::string::String, ::std::string::String)>,
            ) -> ::core::result::Result<(), ::kratos::errors::Error> {
                use ::kratos::__codegen::http::url as u;
                let key = |name: &str| -> ::std::string::String {
                    if prefix.is_empty() {
                        ::std::string::ToString::to_string(name)
                    } else {
                        ::std::format!("{prefix}.{name}")
                    }
                };
                #stmts
                ::core::result::Result::Ok(())
            }
        }
    }

    /// The statements pushing the populated fields of `msg` (a `&message`) onto `out`, keys
    /// made with `key`, leaving out the field named `skip` (a named body, which the client
    /// sends as the body: encoding it into the query only to drop it would waste the work).
    pub(crate) fn statements(
        &mut self,
        message: &MessageDescriptor,
        skip: Option<&str>,
    ) -> TokenStream {
        let mut stmts = TokenStream::new();
        for field in message.fields() {
            if real_oneof(&field).is_some() || Some(field.name()) == skip {
                continue;
            }
            stmts.extend(self.field(&field));
        }
        for oneof in message.oneofs().filter(|o| !o.is_synthetic()) {
            if oneof.fields().any(|f| Some(f.name()) == skip) {
                continue;
            }
            stmts.extend(self.oneof(&oneof));
        }
        stmts
    }

    /// Text of the value `v` (a reference) of a scalar, enum or well-known type field; `None`
    /// for kinds with no text (messages, handled by recursion).
    pub(crate) fn text(&self, field: &FieldDescriptor, v: TokenStream) -> Option<TokenStream> {
        Some(match field.kind() {
            Kind::String => quote! { u::text_str(#v) },
            Kind::Bytes => quote! { u::text_bytes(#v) },
            Kind::Enum(e) => {
                let ty = self.paths.type_tokens(e.full_name(), self.package);
                quote! {
                    u::text_enum(*#v, |n| <#ty as ::core::convert::TryFrom<i32>>::try_from(n).ok().map(|e| e.as_str_name()))
                }
            }
            // A well-known type whose value has no text (a Duration or Timestamp out of the
            // proto range) fails the call instead of sending a wrong text.
            Kind::Message(m) if is_wkt(&m) => quote! { u::text_json(#v)? },
            Kind::Message(_) => return None,
            Kind::Float | Kind::Double => quote! { u::text_float(#v) },
            _ => quote! { ::std::string::ToString::to_string(#v) },
        })
    }

    fn field(&mut self, field: &FieldDescriptor) -> TokenStream {
        let ident = ident(&field_ident(field));
        let json = field.json_name().to_string();
        if field.is_map() {
            let Kind::Message(entry) = field.kind() else {
                return TokenStream::new();
            };
            let Some(value_field) = entry.get_field_by_name("value") else {
                return TokenStream::new();
            };
            let Some(text) = self.text(&value_field, quote! { v }) else {
                return TokenStream::new();
            };
            return quote! {
                for (k, v) in &msg.#ident {
                    out.push((::std::format!("{}[{}]", key(#json), k), #text));
                }
            };
        }
        if field.is_list() {
            let Some(text) = self.text(field, quote! { v }) else {
                // Kratos cannot encode repeated messages into a form either.
                return TokenStream::new();
            };
            return quote! {
                for v in &msg.#ident {
                    out.push((key(#json), #text));
                }
            };
        }
        if let Kind::Message(inner) = field.kind()
            && !is_wkt(&inner)
        {
            let encoder = self.of(&inner);
            return quote! {
                if let ::core::option::Option::Some(v) = &msg.#ident {
                    #encoder(v, &key(#json), out)?;
                }
            };
        }
        let Some(text) = self.text(field, quote! { v }) else {
            return TokenStream::new();
        };
        if is_option_field(field) {
            return quote! {
                if let ::core::option::Option::Some(v) = &msg.#ident {
                    out.push((key(#json), #text));
                }
            };
        }
        let populated = match field.kind() {
            Kind::String | Kind::Bytes => quote! { !msg.#ident.is_empty() },
            Kind::Bool => quote! { msg.#ident },
            Kind::Float | Kind::Double => quote! { msg.#ident != 0.0 },
            _ => quote! { msg.#ident != 0 },
        };
        quote! {
            if #populated {
                let v = &msg.#ident;
                out.push((key(#json), #text));
            }
        }
    }

    fn oneof(&mut self, oneof: &prost_reflect::OneofDescriptor) -> TokenStream {
        let oneof_field = ident(&to_snake(oneof.name()));
        let enum_path = self.paths.oneof_enum_tokens(oneof, self.package);
        let mut arms = TokenStream::new();
        for field in oneof.fields() {
            let variant = ident(&to_upper_camel(field.name()));
            let json = field.json_name().to_string();
            let body = match field.kind() {
                Kind::Message(inner) if !is_wkt(&inner) => {
                    let encoder = self.of(&inner);
                    quote! { #encoder(v, &key(#json), out)? }
                }
                _ => match self.text(&field, quote! { v }) {
                    Some(text) => quote! { out.push((key(#json), #text)) },
                    None => continue,
                },
            };
            arms.extend(quote! {
                ::core::option::Option::Some(#enum_path::#variant(v)) => { #body; }
            });
        }
        quote! {
            match &msg.#oneof_field {
                #arms
                _ => {}
            }
        }
    }
}
