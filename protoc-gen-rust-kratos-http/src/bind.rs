//! Generated binding code: request body, query and path variables into the request message,
//! in Kratos' order (body, then query, then path variables; later ones win).

use kratos_codegen::names::{field_ident, ident};
use proc_macro2::TokenStream;
use quote::quote;

use crate::context::Gen;
use crate::plan::{RequestBody, RoutePlan};

/// The body of the binding function of `route` for the request message `input_ty`.
pub(crate) fn bind_body(
    ctx: &mut Gen<'_, '_>,
    route: &RoutePlan,
    input: &prost_reflect::MessageDescriptor,
) -> TokenStream {
    let input_ty = ctx.ty(input.full_name());
    let form = ctx.helpers.decoders.of(input);
    let mut stmts = TokenStream::new();
    let has_vars = !route.template.variables().is_empty();
    // A whole `google.api.HttpBody` request is the raw body: no codec and no query.
    let mut bind_query = true;
    match &route.body {
        RequestBody::None => stmts.extend(quote! {
            let mut msg: #input_ty = ::core::default::Default::default();
        }),
        RequestBody::WholeRaw => {
            bind_query = false;
            let raw = raw_http_body(&input_ty);
            stmts.extend(if has_vars {
                quote! { let mut msg: #input_ty = #raw; }
            } else {
                quote! { let msg: #input_ty = #raw; }
            });
        }
        RequestBody::Whole => stmts.extend(quote! {
            let mut msg: #input_ty = binder.body(#form)?;
        }),
        RequestBody::Field {
            field,
            message,
            raw,
        } => {
            let ident = ident(&field_ident(field));
            if *raw {
                let raw = raw_http_body(&ctx.ty(message.full_name()));
                stmts.extend(quote! {
                    let mut msg: #input_ty = ::core::default::Default::default();
                    if binder.has_body() {
                        msg.#ident = ::core::option::Option::Some(#raw);
                    }
                });
            } else {
                let inner_form = ctx.helpers.decoders.of(message);
                stmts.extend(quote! {
                    let mut msg: #input_ty = ::core::default::Default::default();
                    msg.#ident = binder.body_field(#inner_form)?;
                });
            }
        }
    }
    if bind_query {
        stmts.extend(quote! { binder.query(&mut msg, #form)?; });
    }
    if has_vars {
        stmts.extend(quote! { binder.vars(&mut msg, #form)?; });
    }
    stmts.extend(quote! { ::core::result::Result::Ok(msg) });
    stmts
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
