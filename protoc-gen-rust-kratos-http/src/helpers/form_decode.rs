//! Generated form decoders (the server side of form binding): one function per message that sets
//! a field from a key path and its values (query strings, `x-www-form-urlencoded` bodies and
//! path variables all use it).

use kratos_codegen::ItemSink;
use kratos_codegen::names::{
    field_ident, ident, is_option_field, real_oneof, to_snake, to_upper_camel,
};
use kratos_codegen::{RustPaths, WktMapping};
use proc_macro2::{Ident, TokenStream};
use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};
use quote::{format_ident, quote};

use super::on_demand::OnDemand;

/// The form decoders of one output file, generated on demand.
pub(crate) struct FormDecoders<'a> {
    paths: &'a RustPaths,
    wkt: WktMapping,
    package: &'a str,
    fns: OnDemand,
}

/// The well-known types that have a string form.
fn is_wkt(message: &MessageDescriptor) -> bool {
    message.package_name() == "google.protobuf"
}

impl<'a> FormDecoders<'a> {
    pub(crate) fn new(paths: &'a RustPaths, wkt: WktMapping, package: &'a str) -> Self {
        FormDecoders {
            paths,
            wkt,
            package,
            fns: OnDemand::new("__form_", ""),
        }
    }

    /// The form decoder of `message`, generated if needed.
    pub(crate) fn of(&mut self, message: &MessageDescriptor) -> Ident {
        self.fns.of(message)
    }

    /// Every generated decoder.
    pub(crate) fn finish(mut self, sink: &mut ItemSink) {
        while let Some(message) = self.fns.next() {
            sink.push(self.function(&message));
        }
    }

    fn ty(&self, full_name: &str) -> TokenStream {
        self.paths.type_tokens(full_name, self.package)
    }

    fn function(&mut self, message: &MessageDescriptor) -> TokenStream {
        let ident = self.fns.of(message);
        let ty = self.ty(message.full_name());
        let arms: Vec<TokenStream> = message.fields().map(|f| self.arm(&f)).collect();
        let doc = format!(
            " Sets a field of `{}` from a form key path.",
            message.full_name()
        );
        quote! {
            #[doc = #doc]
            // A message without fields uses neither the import nor the segment.
            #[allow(unused_variables, unused_imports, unreachable_code, clippy::collapsible_if, clippy::collapsible_else_if)]
            fn #ident(
                msg: &mut #ty,
                path: &[::kratos::__codegen::form::Seg<'_>],
                values: &[::std::borrow::Cow<'_, str>],
            ) -> ::core::result::Result<(), ::kratos::__codegen::form::FormError> {
                use ::kratos::__codegen::form as f;
                let [seg, rest @ ..] = path else {
                    return ::core::result::Result::Ok(());
                };
                match seg.name {
                    #(#arms)*
                    _ => {}
                }
                ::core::result::Result::Ok(())
            }
        }
    }

    fn arm(&mut self, field: &FieldDescriptor) -> TokenStream {
        let proto = field.name().to_string();
        let json = field.json_name().to_string();
        let pattern = if json != proto {
            quote! { #proto | #json }
        } else {
            quote! { #proto }
        };
        let body = self.field_body(field);
        quote! { #pattern => { #body } }
    }

    fn field_body(&mut self, field: &FieldDescriptor) -> TokenStream {
        let name = field.name();
        let ident = ident(&field_ident(field));
        if field.is_map() {
            return self.map_body(field, &ident);
        }
        // A message that is not a well-known type: descend into it, or refuse a value.
        if let Kind::Message(inner) = field.kind()
            && !is_wkt(&inner)
        {
            let full = inner.full_name().to_string();
            if field.is_list() {
                return quote! {
                    return ::core::result::Result::Err(f::repeated_message(seg, rest, #full));
                };
            }
            let inner_fn = self.of(&inner);
            let descend = match real_oneof(field) {
                None => quote! {
                    #inner_fn(msg.#ident.get_or_insert_with(::core::default::Default::default), rest, values)?;
                },
                Some(oneof) => {
                    let (oneof_field, variant_path) = self.oneof_paths(&oneof, field);
                    let oneof_name = oneof.name();
                    quote! {
                        if !::core::matches!(msg.#oneof_field, ::core::option::Option::Some(#variant_path(_))) {
                            if msg.#oneof_field.is_some() {
                                return ::core::result::Result::Err(f::oneof_conflict(#oneof_name));
                            }
                            msg.#oneof_field = ::core::option::Option::Some(#variant_path(::core::default::Default::default()));
                        }
                        if let ::core::option::Option::Some(#variant_path(inner)) = &mut msg.#oneof_field {
                            #inner_fn(inner, rest, values)?;
                        }
                    }
                }
            };
            return quote! {
                if f::descend(seg, rest, values, #name, #full)? {
                    #descend
                }
            };
        }
        // A leaf: a scalar, an enum or a well-known type with a string form.
        let parse = self.parse_closure(field);
        if field.is_list() {
            return quote! {
                msg.#ident.extend(f::each(seg, rest, values, #name, #parse)?);
            };
        }
        let assign = match real_oneof(field) {
            Some(oneof) => {
                let (oneof_field, variant_path) = self.oneof_paths(&oneof, field);
                let oneof_name = oneof.name();
                quote! {
                    if let ::core::option::Option::Some(current) = &msg.#oneof_field {
                        if !::core::matches!(current, #variant_path(_)) {
                            return ::core::result::Result::Err(f::oneof_conflict(#oneof_name));
                        }
                    }
                    msg.#oneof_field = ::core::option::Option::Some(#variant_path(x));
                }
            }
            None if is_option_field(field) => {
                quote! { msg.#ident = ::core::option::Option::Some(x); }
            }
            None => quote! { msg.#ident = x; },
        };
        quote! {
            if let ::core::option::Option::Some(x) = f::one(seg, rest, values, #name, #parse)? {
                #assign
            }
        }
    }

    /// A parser `fn(&Target, &str) -> Result<Option<T>, FormError>` of one value of `field`:
    /// a runtime function for scalars, a closure for enums and well-known types.
    fn parse_closure(&self, field: &FieldDescriptor) -> TokenStream {
        match field.kind() {
            Kind::String => quote! { f::string },
            Kind::Bool => quote! { f::boolean },
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => quote! { f::int::<i32> },
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => quote! { f::int::<i64> },
            Kind::Uint32 | Kind::Fixed32 => quote! { f::int::<u32> },
            Kind::Uint64 | Kind::Fixed64 => quote! { f::int::<u64> },
            Kind::Float => quote! { f::float },
            Kind::Double => quote! { f::double },
            Kind::Bytes => quote! { f::bytes },
            Kind::Enum(_) | Kind::Message(_) => {
                let v = format_ident!("v");
                let body = self.leaf_value(field, &v);
                quote! { |t, v| #body }
            }
        }
    }

    /// The oneof's field in the message and the path of the member's variant.
    fn oneof_paths(
        &self,
        oneof: &prost_reflect::OneofDescriptor,
        field: &FieldDescriptor,
    ) -> (Ident, TokenStream) {
        let oneof_field = ident(&to_snake(oneof.name()));
        let enum_path = self.paths.oneof_enum_tokens(oneof, self.package);
        let variant = ident(&to_upper_camel(field.name()));
        (oneof_field, quote! { #enum_path::#variant })
    }

    /// An expression of type `Result<Option<T>, FormError>` for the value `var: &str`, given
    /// the target `t` (`None`: leave the field unset).
    fn leaf_value(&self, field: &FieldDescriptor, var: &Ident) -> TokenStream {
        let some = |e: TokenStream| quote! { ::core::result::Result::Ok(::core::option::Option::Some(#e)) };
        match field.kind() {
            Kind::String => some(quote! { ::std::string::ToString::to_string(#var) }),
            Kind::Bool => some(quote! { t.bool(#var)? }),
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => some(quote! { t.int::<i32>(#var)? }),
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => some(quote! { t.int::<i64>(#var)? }),
            Kind::Uint32 | Kind::Fixed32 => some(quote! { t.int::<u32>(#var)? }),
            Kind::Uint64 | Kind::Fixed64 => some(quote! { t.int::<u64>(#var)? }),
            Kind::Float => some(quote! { t.f32(#var)? }),
            Kind::Double => some(quote! { t.f64(#var)? }),
            Kind::Bytes => some(quote! { ::core::convert::Into::into(t.bytes(#var)?) }),
            Kind::Enum(e) => {
                let ty = self.ty(e.full_name());
                some(quote! {
                    t.enumeration(#var, #ty::from_str_name, |n| <#ty as ::core::convert::TryFrom<i32>>::try_from(n).is_ok())?
                })
            }
            Kind::Message(m) => self.wkt_value(&m, var),
        }
    }

    fn wkt_value(&self, message: &MessageDescriptor, var: &Ident) -> TokenStream {
        let ty = self.ty(message.full_name());
        let pbjson = self.wkt == WktMapping::Pbjson;
        let ok = |e: TokenStream| quote! { ::core::result::Result::Ok(#e) };
        let wrapper = |inner: TokenStream| {
            if pbjson {
                ok(quote! { ::core::option::Option::Some(#ty { value: #inner }) })
            } else {
                ok(quote! { ::core::option::Option::Some(#inner) })
            }
        };
        match message.name() {
            "Timestamp" => {
                ok(quote! { t.timestamp(#var)?.map(|(seconds, nanos)| #ty { seconds, nanos }) })
            }
            "Duration" => {
                ok(quote! { t.duration(#var)?.map(|(seconds, nanos)| #ty { seconds, nanos }) })
            }
            "FieldMask" => {
                ok(quote! { ::core::option::Option::Some(#ty { paths: t.field_mask(#var) }) })
            }
            "DoubleValue" => wrapper(quote! { t.f64(#var)? }),
            "FloatValue" => wrapper(quote! { t.f32(#var)? }),
            "Int64Value" => wrapper(quote! { t.int::<i64>(#var)? }),
            "UInt64Value" => wrapper(quote! { t.int::<u64>(#var)? }),
            "Int32Value" => wrapper(quote! { t.int::<i32>(#var)? }),
            "UInt32Value" => wrapper(quote! { t.int::<u32>(#var)? }),
            "BoolValue" => wrapper(quote! { t.bool(#var)? }),
            "StringValue" => wrapper(quote! { ::std::string::ToString::to_string(#var) }),
            "BytesValue" => wrapper(quote! { ::core::convert::Into::into(t.bytes_lenient(#var)?) }),
            "Struct" if pbjson => ok(quote! { ::core::option::Option::Some(t.json::<#ty>(#var)?) }),
            "Value" => {
                let module = self
                    .paths
                    .nested_module_tokens(message.full_name(), self.package);
                ok(quote! {
                    ::core::option::Option::Some(#ty {
                        kind: ::core::option::Option::Some(#module::Kind::StringValue(::std::string::ToString::to_string(#var))),
                    })
                })
            }
            _ => {
                let full = message.full_name();
                quote! { ::core::result::Result::Err(f::unsupported_message(#full)) }
            }
        }
    }

    fn map_body(&mut self, field: &FieldDescriptor, ident: &Ident) -> TokenStream {
        let Kind::Message(entry) = field.kind() else {
            return quote! {};
        };
        let (Some(key_field), Some(value_field)) = (
            entry.get_field_by_name("key"),
            entry.get_field_by_name("value"),
        ) else {
            return quote! {};
        };
        let name = field.name();
        if let Kind::Message(m) = value_field.kind()
            && !is_wkt(&m)
        {
            let full = m.full_name().to_string();
            return quote! { return ::core::result::Result::Err(f::unsupported_message(#full)); };
        }
        let key = self.parse_closure(&key_field);
        let value = self.parse_closure(&value_field);
        quote! {
            if let ::core::option::Option::Some((k, x)) =
                f::entry(seg, rest, values, #name, #key, #value)?
            {
                msg.#ident.insert(k, x);
            }
        }
    }
}
