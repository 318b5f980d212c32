//! Generated binding code: request body and path variables into the request message.

use kratos_codegen::names::{
    field_ident, is_option_field, oneof_type_name, real_oneof, to_snake, to_upper_camel,
};
use kratos_codegen::{CodegenError, Result, RustPaths};
use kratos_path_template::Template;
use proc_macro2::TokenStream;
use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};
use quote::{format_ident, quote};

use crate::rule::Route;

/// Where a binding error is reported.
pub(crate) struct Site<'a> {
    pub(crate) file: &'a str,
    pub(crate) element: &'a str,
}

impl Site<'_> {
    fn error(&self, reason: impl Into<String>) -> CodegenError {
        CodegenError::proto(self.file, self.element, reason)
    }
}

/// Looks a field up by proto name, then by JSON name (so `{user_id}` and `{userId}` both work).
fn find_field(message: &MessageDescriptor, name: &str) -> Option<FieldDescriptor> {
    message
        .get_field_by_name(name)
        .or_else(|| message.fields().find(|f| f.json_name() == name))
}

/// The body of the binding function of `route` for `input`.
pub(crate) fn bind_body(
    route: &Route,
    template: &Template,
    input: &MessageDescriptor,
    package: &str,
    paths: &RustPaths,
    site: &Site<'_>,
) -> Result<TokenStream> {
    let input_ty = rust_type(paths, input.full_name(), package);
    let mut stmts = TokenStream::new();
    // `mut` only when something is assigned after the message is created.
    let mutable = if template.variables().is_empty() {
        quote! {}
    } else {
        quote! { mut }
    };
    match route.body.as_str() {
        "" => stmts.extend(quote! {
            let #mutable msg: #input_ty = ::core::default::Default::default();
        }),
        "*" => stmts.extend(quote! {
            let #mutable msg: #input_ty = binder.body()?;
        }),
        name => {
            let field = find_field(input, name).ok_or_else(|| {
                site.error(format!(
                    "body '{name}' names a field that message {} does not have",
                    input.full_name()
                ))
            })?;
            let is_singular_message =
                matches!(field.kind(), Kind::Message(_)) && !field.is_list() && !field.is_map();
            if !is_singular_message || real_oneof(&field).is_some() {
                return Err(site.error(format!(
                    "body '{name}': binding the body to a field that is not a singular message \
                     (here {}) is not supported yet",
                    describe(&field)
                )));
            }
            let ident = format_ident_raw(&field_ident(&field));
            stmts.extend(quote! {
                let mut msg: #input_ty = ::core::default::Default::default();
                msg.#ident = binder.body_field()?;
            });
        }
    }
    for var in template.variables() {
        stmts.extend(bind_variable(
            &var.field_path,
            input,
            package,
            paths,
            site,
            route,
        )?);
    }
    stmts.extend(quote! { Ok(msg) });
    Ok(stmts)
}

/// `msg.a.get_or_insert_with(Default::default).b = <value>;` for path variable `a.b`.
fn bind_variable(
    field_path: &str,
    input: &MessageDescriptor,
    package: &str,
    paths: &RustPaths,
    site: &Site<'_>,
    route: &Route,
) -> Result<TokenStream> {
    let missing = |name: &str, message: &MessageDescriptor| {
        site.error(format!(
            "path template '{}' names field '{field_path}': message {} has no field '{name}'",
            route.path,
            message.full_name()
        ))
    };
    let segments: Vec<&str> = field_path.split('.').collect();
    let mut message = input.clone();
    let mut target = quote! { msg };
    for (i, name) in segments.iter().enumerate() {
        let field = find_field(&message, name).ok_or_else(|| missing(name, &message))?;
        let last = i + 1 == segments.len();
        let ident = format_ident_raw(&field_ident(&field));
        if !last {
            let Kind::Message(inner) = field.kind() else {
                return Err(site.error(format!(
                    "path template '{}' names '{field_path}', but '{name}' is not a message field",
                    route.path
                )));
            };
            if field.is_list() || field.is_map() || real_oneof(&field).is_some() {
                return Err(site.error(format!(
                    "path template '{}' names '{field_path}': descending into {} is not supported",
                    route.path,
                    describe(&field)
                )));
            }
            target =
                quote! { #target.#ident.get_or_insert_with(::core::default::Default::default) };
            message = inner;
            continue;
        }
        if field.is_map() {
            return Err(site.error(format!(
                "path template '{}' names '{field_path}', a map field, which a path variable cannot bind",
                route.path
            )));
        }
        let value = scalar_value(&field, field_path, package, paths).ok_or_else(|| {
            site.error(format!(
                "path template '{}' names '{field_path}' of type {}, which path variables do not bind yet",
                route.path,
                describe(&field)
            ))
        })?;
        if field.is_list() {
            return Ok(quote! { #target.#ident.push(#value); });
        }
        if let Some(oneof) = real_oneof(&field) {
            let parent = field.parent_message();
            let module = module_of(paths, parent.full_name(), parent.name(), package);
            let oneof_ty = format_ident_raw(&oneof_type_name(&oneof));
            let oneof_field = format_ident_raw(&to_snake(oneof.name()));
            let variant = format_ident_raw(&to_upper_camel(field.name()));
            return Ok(
                quote! { #target.#oneof_field = ::core::option::Option::Some(#module::#oneof_ty::#variant(#value)); },
            );
        }
        if is_option_field(&field) {
            return Ok(quote! { #target.#ident = ::core::option::Option::Some(#value); });
        }
        return Ok(quote! { #target.#ident = #value; });
    }
    Err(missing(field_path, input))
}

/// The expression that reads a scalar or enum path variable.
fn scalar_value(
    field: &FieldDescriptor,
    field_path: &str,
    package: &str,
    paths: &RustPaths,
) -> Option<TokenStream> {
    let parse = |ty: TokenStream| Some(quote! { binder.var_parse::<#ty>(#field_path)? });
    match field.kind() {
        Kind::String => Some(quote! { binder.var_string(#field_path)? }),
        Kind::Bool => Some(quote! { binder.var_bool(#field_path)? }),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => parse(quote!(i32)),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => parse(quote!(i64)),
        Kind::Uint32 | Kind::Fixed32 => parse(quote!(u32)),
        Kind::Uint64 | Kind::Fixed64 => parse(quote!(u64)),
        Kind::Float => parse(quote!(f32)),
        Kind::Double => parse(quote!(f64)),
        Kind::Enum(e) => {
            let ty = rust_type(paths, e.full_name(), package);
            Some(quote! { binder.var_enum(#field_path, #ty::from_str_name)? })
        }
        Kind::Bytes | Kind::Message(_) => None,
    }
}

/// A human description of a field's type, for errors.
fn describe(field: &FieldDescriptor) -> String {
    let kind = match field.kind() {
        Kind::Message(m) => m.full_name().to_string(),
        Kind::Enum(e) => e.full_name().to_string(),
        other => format!("{other:?}").to_lowercase(),
    };
    if field.is_map() {
        format!("map field {}", field.full_name())
    } else if field.is_list() {
        format!("repeated {kind} field {}", field.full_name())
    } else if real_oneof(field).is_some() {
        format!("oneof member {} of type {kind}", field.full_name())
    } else {
        format!("{kind} field {}", field.full_name())
    }
}

/// The Rust type path of a proto type, as tokens.
pub(crate) fn rust_type(paths: &RustPaths, full_name: &str, package: &str) -> TokenStream {
    let path = paths.resolve(full_name, package);
    path.parse()
        .unwrap_or_else(|_| quote! { compile_error!("unrepresentable type path") })
}

/// The module prost generates for a message's nested items (`hello_request` for
/// `HelloRequest`), as a path.
fn module_of(paths: &RustPaths, full_name: &str, name: &str, package: &str) -> TokenStream {
    let type_path = paths.resolve(full_name, package);
    let module = match type_path.rsplit_once("::") {
        Some((parent, _)) => format!("{parent}::{}", to_snake(name)),
        None => to_snake(name),
    };
    module
        .parse()
        .unwrap_or_else(|_| quote! { compile_error!("unrepresentable module path") })
}

/// An identifier that may be raw (`r#type`).
pub(crate) fn format_ident_raw(name: &str) -> proc_macro2::Ident {
    match name.strip_prefix("r#") {
        Some(raw) => proc_macro2::Ident::new_raw(raw, proc_macro2::Span::call_site()),
        None => format_ident!("{}", name),
    }
}
