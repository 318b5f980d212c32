//! Code generation: one `Check` and one `Validate` implementation per message, with the rule
//! checks in Go PGV's order and Go PGV's messages.
//!
//! This module walks a message (fields outside oneofs, oneofs, proto3 `optional` fields) and
//! dispatches each field to the file of its rule family, following PGV's own template families:
//! [`site`] (where a violation is reported) and [`bounds`] (rule constants, ranges, `in`,
//! lengths) are shared; [`numeric`], [`string`], [`bytes`], [`enumeration`], [`message`],
//! [`wkt`] (wrappers, `Duration`, `Timestamp`, `Any`), [`repeated`] and [`map`] each add their
//! part of [`Gen`].

use kratos_codegen::names::{ident, real_oneof, to_snake, to_upper_camel};
use kratos_codegen::{Result, RustPaths, WktMapping};
use proc_macro2::TokenStream;
use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor, Value};
use quote::quote;

use crate::gofmt;
use crate::rules::{Extensions, R, type_rules};

use bounds::num_ty;
use site::{Index, Site};

mod bounds;
mod bytes;
mod enumeration;
mod map;
mod message;
mod numeric;
mod repeated;
mod site;
mod string;
mod wkt;

/// What code generation needs to know about the request.
pub struct Gen<'a> {
    /// Rust paths of prost's types.
    pub paths: &'a RustPaths,
    /// How well-known types are mapped.
    pub wkt: WktMapping,
    /// The `validate.*` extensions.
    pub ext: &'a Extensions,
}

/// The rule type that fits a scalar kind.
fn scalar_rule(kind: &Kind) -> &'static str {
    match kind {
        Kind::Float => "float",
        Kind::Double => "double",
        Kind::Int32 => "int32",
        Kind::Int64 => "int64",
        Kind::Uint32 => "uint32",
        Kind::Uint64 => "uint64",
        Kind::Sint32 => "sint32",
        Kind::Sint64 => "sint64",
        Kind::Fixed32 => "fixed32",
        Kind::Fixed64 => "fixed64",
        Kind::Sfixed32 => "sfixed32",
        Kind::Sfixed64 => "sfixed64",
        Kind::Bool => "bool",
        Kind::String => "string",
        Kind::Bytes => "bytes",
        Kind::Enum(_) => "enum",
        Kind::Message(_) => "message",
    }
}

/// How an embedded message value is reached.
enum MsgVal {
    /// `&Option<T>` (or `&Option<Box<T>>`): a singular field, which may be unset.
    Opt(TokenStream),
    /// `&Option<T>` of a proto3 `optional` field: checked only when set (Go renders these
    /// fields inside `if m.Field != nil`), so `required` cannot fail.
    OptionalSet(TokenStream),
    /// `&T` (or `&Box<T>`): an element or an active oneof member.
    Present(TokenStream),
}

impl Gen<'_> {
    /// `impl Check` and `impl Validate` for `msg`, or nothing when it is `ignored`.
    pub fn message(&self, msg: &MessageDescriptor, file: &str) -> Result<TokenStream> {
        let options = msg.options();
        if Extensions::flag(&self.ext.ignored, &options) {
            return Ok(TokenStream::new());
        }
        let package = msg.package_name().to_string();
        let ty = self.paths.type_tokens(msg.full_name(), &package);
        let disabled = Extensions::flag(&self.ext.disabled, &options);
        let relative = msg
            .full_name()
            .strip_prefix(&format!("{package}."))
            .unwrap_or(msg.full_name());
        let msg_go = gofmt::camel_case(relative);
        let mut body = TokenStream::new();
        if !disabled {
            // Go order: fields outside oneofs (declaration order), real oneofs, then proto3
            // optional fields.
            let declared: Vec<FieldDescriptor> = msg
                .descriptor_proto()
                .field
                .iter()
                .filter_map(|f| msg.get_field_by_name(f.name()))
                .collect();
            let mut optional = Vec::new();
            for field in &declared {
                if real_oneof(field).is_some() {
                    continue;
                }
                if field.containing_oneof().is_some() {
                    optional.push(field.clone());
                    continue;
                }
                body.extend(self.field(&msg_go, field, file, &package)?);
            }
            for oneof in msg.oneofs().filter(|o| !o.is_synthetic()) {
                body.extend(self.oneof(&msg_go, &oneof, file, &package)?);
            }
            for field in &optional {
                body.extend(self.field(&msg_go, field, file, &package)?);
            }
        }
        let doc_check = format!(
            " Validation of `{}` against its protoc-gen-validate rules.",
            msg.full_name()
        );
        Ok(quote! {
            #[doc = #doc_check]
            impl ::kratos::__codegen::validate::Check for #ty {
                #[allow(unused_variables, unused_imports, clippy::all)]
                fn kratos_check(&self, __v: &mut ::kratos::__codegen::validate::Violations) {
                    use ::kratos::__codegen::validate::{ViaCheck as _, ViaNothing as _};
                    #body
                }
            }
            impl ::kratos::validate::Validate for #ty {
                fn validate(&self) -> ::core::result::Result<(), ::kratos::validate::ValidationError> {
                    let mut v = ::kratos::__codegen::validate::Violations::new(false);
                    ::kratos::__codegen::validate::Check::kratos_check(self, &mut v);
                    v.into_first()
                }
                fn validate_all(&self) -> ::core::result::Result<(), ::std::vec::Vec<::kratos::validate::ValidationError>> {
                    let mut v = ::kratos::__codegen::validate::Violations::new(true);
                    ::kratos::__codegen::validate::Check::kratos_check(self, &mut v);
                    v.into_all()
                }
            }
        })
    }
    fn site(&self, msg_go: &str, field: &FieldDescriptor, file: &str) -> Site {
        Site {
            msg_go: msg_go.to_string(),
            field_go: gofmt::camel_case(field.name()),
            path: field.name().to_string(),
            index: Index::None,
            element: field.full_name().to_string(),
            file: file.to_string(),
        }
    }
    fn oneof(
        &self,
        msg_go: &str,
        oneof: &prost_reflect::OneofDescriptor,
        file: &str,
        package: &str,
    ) -> Result<TokenStream> {
        let required = Extensions::flag(&self.ext.required, &oneof.options());
        let enum_path = self.paths.oneof_enum_tokens(oneof, package);
        let field_name = to_snake(oneof.name());
        let field_ident = ident(&field_name);
        let mut arms = TokenStream::new();
        let mut any = false;
        for field in oneof.fields() {
            let variant = ident(&to_upper_camel(field.name()));
            let site = self.site(msg_go, &field, file);
            let rules = self.rules_of(&field);
            let body = self.singular_value(&field, rules.as_ref(), &site, package, true)?;
            if !body.is_empty() {
                any = true;
                arms.extend(
                    quote!(::core::option::Option::Some(#enum_path::#variant(__x)) => { #body }),
                );
            }
        }
        if !any && !required {
            return Ok(TokenStream::new());
        }
        let none = if required {
            let site = Site {
                msg_go: msg_go.to_string(),
                field_go: gofmt::camel_case(oneof.name()),
                path: oneof.name().to_string(),
                index: Index::None,
                element: oneof.full_name().to_string(),
                file: file.to_string(),
            };
            site.push("value is required")
        } else {
            TokenStream::new()
        };
        Ok(quote! {
            match &self.#field_ident {
                #arms
                ::core::option::Option::None => { #none }
                #[allow(unreachable_patterns)]
                _ => {}
            }
        })
    }
    fn rules_of(&self, field: &FieldDescriptor) -> Option<R> {
        self.ext.field_rules(&field.options())
    }
    fn field(
        &self,
        msg_go: &str,
        field: &FieldDescriptor,
        file: &str,
        package: &str,
    ) -> Result<TokenStream> {
        let site = self.site(msg_go, field, file);
        let rules = self.rules_of(field);
        let ident = ident(&to_snake(field.name()));
        if field.is_map() {
            return self.map(field, rules.as_ref(), &site, package, quote!(&self.#ident));
        }
        if field.is_list() {
            return self.repeated(field, rules.as_ref(), &site, package, quote!(&self.#ident));
        }
        if let Some(r) = &rules
            && (r.has("repeated") || r.has("map"))
        {
            let t = if r.has("map") { "map" } else { "repeated" };
            return Err(site.err(
                t,
                format!(
                    "field is not a {}",
                    if t == "map" { "map" } else { "repeated field" }
                ),
            ));
        }
        let body = self.singular_value(field, rules.as_ref(), &site, package, false)?;
        if body.is_empty() {
            return Ok(body);
        }
        if matches!(field.kind(), Kind::Message(_)) {
            // singular_value reads `&self.field` itself for messages.
            return Ok(quote!({ #body }));
        }
        if field.supports_presence() {
            // Proto3 `optional` (and proto2 optional): checked only when set.
            Ok(quote! {
                if let ::core::option::Option::Some(__x) = &self.#ident { #body }
            })
        } else {
            Ok(quote!({ let __x = &self.#ident; #body }))
        }
    }
    /// The checks of a singular value. For scalars the value is `__x: &T`; for messages the
    /// field is read here (from `__x` when `in_oneof`, else `&self.field`).
    fn singular_value(
        &self,
        field: &FieldDescriptor,
        rules: Option<&R>,
        site: &Site,
        package: &str,
        in_oneof: bool,
    ) -> Result<TokenStream> {
        match field.kind() {
            Kind::Message(desc) => {
                let val = if in_oneof {
                    MsgVal::Present(quote!(__x))
                } else {
                    let ident = ident(&to_snake(field.name()));
                    if field.containing_oneof().is_some() {
                        MsgVal::OptionalSet(quote!(&self.#ident))
                    } else {
                        MsgVal::Opt(quote!(&self.#ident))
                    }
                };
                self.message_value(&desc, rules, val, site, package)
            }
            kind => {
                if let Some(r) = rules
                    && r.has("message")
                {
                    return Err(site.err("message", "field is not embedded but got message rules"));
                }
                self.scalar(&kind, rules, &quote!(__x), site)
            }
        }
    }
    /// Scalar rules on `x` (an expression of type `&T`).
    fn scalar(
        &self,
        kind: &Kind,
        rules: Option<&R>,
        x: &TokenStream,
        site: &Site,
    ) -> Result<TokenStream> {
        let Some(rules) = rules else {
            return Ok(TokenStream::new());
        };
        let Some((rule, r)) = type_rules(rules) else {
            return Ok(TokenStream::new());
        };
        let expected = scalar_rule(kind);
        if rule != expected {
            return Err(site.err(
                rule,
                format!("expected rules for {expected} but got {rule}"),
            ));
        }
        if let Some(ty) = num_ty(rule) {
            return self.numeric(ty, rule, &r, x, site);
        }
        match kind {
            Kind::Bool => Ok(match r.get("const") {
                Some(Value::Bool(b)) => {
                    let push = site.push(&format!("value must equal {b}"));
                    quote!(if *#x != #b { #push })
                }
                _ => TokenStream::new(),
            }),
            Kind::String => self.string(&r, x, site),
            Kind::Bytes => self.bytes(&r, x, site),
            Kind::Enum(e) => self.enumeration(e, &r, x, site),
            _ => Ok(TokenStream::new()),
        }
    }
}
