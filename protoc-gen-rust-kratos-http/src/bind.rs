//! Generated binding code: request body, query and path variables into the request message,
//! in Kratos' order (body, then query, then path variables; later ones win).

use kratos_codegen::names::{field_ident, ident, real_oneof};
use kratos_codegen::{CodegenError, Result, RustPaths};
use kratos_path_template::Template;
use proc_macro2::TokenStream;
use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};
use quote::quote;

use crate::form::FormFns;
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
    forms: &mut FormFns<'_>,
    paths: &RustPaths,
    site: &Site<'_>,
) -> Result<TokenStream> {
    let input_ty = rust_type(paths, input.full_name(), package);
    let form = forms.of(input);
    let mut stmts = TokenStream::new();
    // A whole `google.api.HttpBody` request is the raw body: no codec and no query.
    let mut bind_query = true;
    match route.body.as_str() {
        "" => stmts.extend(quote! {
            let mut msg: #input_ty = ::core::default::Default::default();
        }),
        "*" if is_http_body(input) => {
            bind_query = false;
            let raw = raw_http_body(&input_ty);
            stmts.extend(if template.variables().is_empty() {
                quote! { let msg: #input_ty = #raw; }
            } else {
                quote! { let mut msg: #input_ty = #raw; }
            });
        }
        "*" => stmts.extend(quote! {
            let mut msg: #input_ty = binder.body(#form)?;
        }),
        name => {
            let field = find_field(input, name).ok_or_else(|| {
                site.error(format!(
                    "body '{name}' names a field that message {} does not have",
                    input.full_name()
                ))
            })?;
            let inner = match field.kind() {
                Kind::Message(m)
                    if !field.is_list() && !field.is_map() && real_oneof(&field).is_none() =>
                {
                    m
                }
                _ => {
                    return Err(site.error(format!(
                        "body '{name}': binding the body to a field that is not a singular message \
                         (here {}) is not supported yet",
                        describe(&field)
                    )));
                }
            };
            let ident = ident(&field_ident(&field));
            if is_http_body(&inner) {
                let raw = raw_http_body(&rust_type(paths, inner.full_name(), package));
                stmts.extend(quote! {
                    let mut msg: #input_ty = ::core::default::Default::default();
                    if binder.has_body() {
                        msg.#ident = ::core::option::Option::Some(#raw);
                    }
                });
            } else {
                let inner_form = forms.of(&inner);
                stmts.extend(quote! {
                    let mut msg: #input_ty = ::core::default::Default::default();
                    msg.#ident = binder.body_field(#inner_form)?;
                });
            }
        }
    }
    for var in template.variables() {
        check_variable(&var.field_path, input, site, route)?;
    }
    if bind_query {
        stmts.extend(quote! { binder.query(&mut msg, #form)?; });
    }
    if !template.variables().is_empty() {
        stmts.extend(quote! { binder.vars(&mut msg, #form)?; });
    }
    stmts.extend(quote! { ::core::result::Result::Ok(msg) });
    Ok(stmts)
}

/// `google.api.HttpBody`, which Kratos v3 binds and replies raw: the body as sent, with its
/// media type.
pub(crate) fn is_http_body(message: &MessageDescriptor) -> bool {
    message.full_name() == "google.api.HttpBody"
}

/// An `HttpBody` of type `ty` holding the request body as sent. (`data` is `Vec<u8>`, or
/// `Bytes` where prost is configured so; both convert from the binder's `Bytes`.)
fn raw_http_body(ty: &TokenStream) -> TokenStream {
    quote! {
        #ty {
            content_type: binder.content_type(),
            data: ::core::convert::Into::into(binder.raw_body()),
            ..::core::default::Default::default()
        }
    }
}

/// A path variable must name an existing field, through singular messages, and end on a field
/// a single string can set (a scalar, an enum, a well-known type, or a repeated one of those).
fn check_variable(
    field_path: &str,
    input: &MessageDescriptor,
    site: &Site<'_>,
    route: &Route,
) -> Result<()> {
    let segments: Vec<&str> = field_path.split('.').collect();
    let mut message = input.clone();
    for (i, name) in segments.iter().enumerate() {
        let field = find_field(&message, name).ok_or_else(|| {
            site.error(format!(
                "path template '{}' names field '{field_path}': message {} has no field '{name}'",
                route.path,
                message.full_name()
            ))
        })?;
        let last = i + 1 == segments.len();
        match field.kind() {
            Kind::Message(inner) if !last => {
                if field.is_list() || field.is_map() {
                    return Err(site.error(format!(
                        "path template '{}' names '{field_path}': '{name}' is {}, not a singular message",
                        route.path,
                        describe(&field)
                    )));
                }
                message = inner;
            }
            _ if !last => {
                return Err(site.error(format!(
                    "path template '{}' names '{field_path}', but '{name}' is not a message field",
                    route.path
                )));
            }
            _ if field.is_map() => {
                return Err(site.error(format!(
                    "path template '{}' names '{field_path}', a map field, which a path variable cannot bind",
                    route.path
                )));
            }
            Kind::Message(inner) if inner.package_name() != "google.protobuf" => {
                return Err(site.error(format!(
                    "path template '{}' names '{field_path}' of message type {}, which a path variable cannot bind",
                    route.path,
                    inner.full_name()
                )));
            }
            _ => {}
        }
    }
    Ok(())
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
