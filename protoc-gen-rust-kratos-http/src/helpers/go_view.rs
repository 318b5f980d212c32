//! Generated Go views: a message as the struct protoc-gen-go generates for it (Go field names,
//! enums as numbers, nil pointers, oneofs as wrapper structs), which the runtime writes as Go's
//! XML encoder does for Kratos-compatible XML replies.

use kratos_codegen::ItemSink;
use kratos_codegen::RustPaths;
use kratos_codegen::names::{
    field_ident, go_camel_case, ident, is_option_field, real_oneof, to_snake, to_upper_camel,
};
use proc_macro2::{Ident, TokenStream};
use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};
use quote::quote;

use super::on_demand::OnDemand;

/// The Go type name of a message: nested names joined with `_` (`Outer_Inner`).
pub(crate) fn go_type_name(message: &MessageDescriptor) -> String {
    let package = message.package_name();
    let relative = message
        .full_name()
        .strip_prefix(package)
        .map(|r| r.trim_start_matches('.'))
        .unwrap_or(message.full_name());
    relative
        .split('.')
        .map(go_camel_case)
        .collect::<Vec<_>>()
        .join("_")
}

/// The Go-view functions of one output file, generated on demand.
pub(crate) struct GoViews<'a> {
    paths: &'a RustPaths,
    package: &'a str,
    fns: OnDemand,
}

impl<'a> GoViews<'a> {
    pub(crate) fn new(paths: &'a RustPaths, package: &'a str) -> Self {
        GoViews {
            paths,
            package,
            fns: OnDemand::new("__gov_", ""),
        }
    }

    /// The Go-view function of `message`, generated if needed.
    pub(crate) fn of(&mut self, message: &MessageDescriptor) -> Ident {
        self.fns.of(message)
    }

    /// Every generated function.
    pub(crate) fn finish(mut self, sink: &mut ItemSink) {
        while let Some(message) = self.fns.next() {
            sink.push(self.function(&message));
        }
    }

    fn function(&mut self, message: &MessageDescriptor) -> TokenStream {
        let ident = self.of(message);
        let ty = self.paths.type_tokens(message.full_name(), self.package);
        let mut entries = Vec::new();
        let mut oneofs_done = Vec::new();
        for field in message.fields() {
            if let Some(oneof) = real_oneof(&field) {
                // The oneof's interface field sits where its first member is declared.
                if oneofs_done.contains(&oneof.name().to_string()) {
                    continue;
                }
                oneofs_done.push(oneof.name().to_string());
                entries.push(self.oneof(&oneof));
                continue;
            }
            let name = go_camel_case(field.name());
            let value = self.field(&field);
            entries.push(quote! { (#name, #value) });
        }
        let doc = format!(
            " `{}` as the Go struct protoc-gen-go generates.",
            message.full_name()
        );
        quote! {
            #[doc = #doc]
            #[allow(unused_variables, clippy::vec_init_then_push)]
            fn #ident(msg: &#ty) -> ::kratos::__codegen::goxml::GoValue {
                use ::kratos::__codegen::goxml::GoValue as G;
                G::Struct(::std::vec![#(#entries),*])
            }
        }
    }

    /// The Go value of `v` (a reference to a singular value of `field`'s kind).
    fn scalar(&mut self, field: &FieldDescriptor, v: TokenStream) -> TokenStream {
        match field.kind() {
            Kind::String => quote! { G::Str(::std::string::ToString::to_string(#v)) },
            Kind::Bytes => quote! { G::Bytes(::std::convert::AsRef::<[u8]>::as_ref(#v).to_vec()) },
            Kind::Bool => quote! { G::Bool(*#v) },
            Kind::Int32
            | Kind::Sint32
            | Kind::Sfixed32
            | Kind::Int64
            | Kind::Sint64
            | Kind::Sfixed64
            | Kind::Enum(_) => quote! { G::Int(i64::from(*#v)) },
            Kind::Uint32 | Kind::Fixed32 | Kind::Uint64 | Kind::Fixed64 => {
                quote! { G::Uint(u64::from(*#v)) }
            }
            Kind::Float => quote! { G::F32(*#v) },
            Kind::Double => quote! { G::F64(*#v) },
            Kind::Message(m) => {
                let f = self.of(&m);
                quote! { #f(#v) }
            }
        }
    }

    fn field(&mut self, field: &FieldDescriptor) -> TokenStream {
        let ident = ident(&field_ident(field));
        if field.is_map() {
            return quote! { G::Map };
        }
        if field.is_list() {
            let item = self.scalar(field, quote! { v });
            return quote! { G::Slice(msg.#ident.iter().map(|v| #item).collect()) };
        }
        if is_option_field(field) {
            let inner = self.scalar(field, quote! { v });
            return quote! {
                match &msg.#ident {
                    ::core::option::Option::Some(v) => #inner,
                    ::core::option::Option::None => G::Nil,
                }
            };
        }
        self.scalar(field, quote! { &msg.#ident })
    }

    fn oneof(&mut self, oneof: &prost_reflect::OneofDescriptor) -> TokenStream {
        let go_name = go_camel_case(oneof.name());
        let oneof_field = ident(&to_snake(oneof.name()));
        let enum_path = self.paths.oneof_enum_tokens(oneof, self.package);
        let arms: Vec<TokenStream> = oneof
            .fields()
            .map(|f| {
                let variant = ident(&to_upper_camel(f.name()));
                let member = go_camel_case(f.name());
                let value = self.scalar(&f, quote! { v });
                quote! {
                    ::core::option::Option::Some(#enum_path::#variant(v)) => {
                        G::Struct(::std::vec![(#member, #value)])
                    }
                }
            })
            .collect();
        quote! {
            (#go_name, match &msg.#oneof_field {
                #(#arms)*
                ::core::option::Option::None => G::Nil,
            })
        }
    }
}
