//! HTTP registration: `register_<service>_http_server`, one route per planned rule, with its
//! generated binding function and reply encoder.

use kratos_codegen::names::{field_ident, ident, real_oneof, snake_word};
use kratos_codegen::{ItemSink, WktMapping};
use proc_macro2::{Ident, TokenStream};
use prost_reflect::{FieldDescriptor, Kind};
use quote::{format_ident, quote};

use crate::bind::bind_body;
use crate::context::Gen;
use crate::helpers::go_type_name;
use crate::plan::{MethodPlan, Reply, ServicePlan};

/// The registration function (a part per route), then the binding functions and reply encoders
/// it names, pushed to `sink` one route at a time: the registration is built first (it only
/// names them), so the routes' functions are never all held at once.
pub(super) fn render(ctx: &mut Gen<'_, '_>, plan: &ServicePlan, sink: &mut ItemSink) {
    let service = &plan.service;
    let service_snake = snake_word(service.name());
    let register = ident(&format!("register_{service_snake}_http_server"));
    let routes = plan.methods.iter().flat_map(|method| {
        let service_snake = &service_snake;
        let ctx = &*ctx;
        method.routes.iter().enumerate().map(move |(i, route)| {
            let names = RouteFns::new(service_snake, method, i);
            let input = ctx.ty(method.method.input().full_name());
            // How the reply is sent: events, raw (a whole `google.api.HttpBody`), or encoded.
            let reply_fn_ident = &names.reply;
            let (register_fn, reply_arg) = match &route.reply {
                Reply::Events => (format_ident!("route_stream"), TokenStream::new()),
                Reply::Raw => (format_ident!("route_raw"), quote! { #reply_fn_ident, }),
                Reply::Whole | Reply::Field(_) => {
                    (format_ident!("route"), quote! { #reply_fn_ident, })
                }
            };
            let (verb, path, konst, name, bind_fn) = (
                &route.rule.method,
                &route.rule.path,
                &method.operation_const,
                &method.fn_ident,
                &names.bind,
            );
            quote! {
                {
                    let service = ::std::sync::Arc::clone(&service);
                    server.#register_fn(
                        ::kratos::__codegen::http::RouteSpec {
                            method: #verb,
                            path: #path,
                            operation: #konst,
                            validator: ::kratos::__validator!(#input),
                        },
                        #bind_fn,
                        #reply_arg
                        move |ctx, request| {
                            let service = ::std::sync::Arc::clone(&service);
                            async move { service.#name(ctx, request).await }
                        },
                    )?;
                }
            }
        })
    });
    let doc = format!(
        " Registers the HTTP routes of `{}` on `server`, served by `service`.",
        service.full_name()
    );
    let trait_ident = &plan.trait_ident;
    sink.push_block(
        quote! {
            #[doc = #doc]
            pub fn #register<S: #trait_ident>(
                server: &mut ::kratos::__codegen::http::Server,
                service: ::std::sync::Arc<S>,
            ) -> ::core::result::Result<(), ::kratos::__codegen::http::RouteError> {}
        },
        routes.chain([quote! { ::core::result::Result::Ok(()) }]),
    );
    for method in &plan.methods {
        for (i, route) in method.routes.iter().enumerate() {
            let names = RouteFns::new(&service_snake, method, i);
            let input = ctx.ty(method.method.input().full_name());
            let reply_fn_ident = &names.reply;
            let mut binders = match &route.reply {
                Reply::Events => TokenStream::new(),
                Reply::Raw => {
                    let output = ctx.ty(method.method.output().full_name());
                    quote! {
                        #[doc = " Takes the `google.api.HttpBody` reply apart: media type and data."]
                        fn #reply_fn_ident(
                            reply: #output,
                        ) -> (::std::string::String, ::std::vec::Vec<u8>) {
                            (reply.content_type, ::core::convert::Into::into(reply.data))
                        }
                    }
                }
                Reply::Whole => reply_encoder(ctx, method, None, reply_fn_ident),
                Reply::Field(field) => reply_encoder(ctx, method, Some(field), reply_fn_ident),
            };
            let body = bind_body(ctx, route, &method.method.input());
            let bind_fn = &names.bind;
            binders.extend(quote! {
                fn #bind_fn(
                    binder: &mut ::kratos::__codegen::http::Binder<'_>,
                ) -> ::core::result::Result<#input, ::kratos::errors::Error> {
                    #body
                }
            });
            sink.push(binders);
        }
    }
}

/// The names of a route's generated functions: its binding function and its reply encoder
/// (`__bind_<service>_<method>_<i>`, `__reply_<service>_<method>_<i>`, `i` the route's index
/// among the method's).
struct RouteFns {
    bind: Ident,
    reply: Ident,
}

impl RouteFns {
    fn new(service_snake: &str, method: &MethodPlan, i: usize) -> Self {
        let method = snake_word(method.method.name());
        RouteFns {
            bind: ident(&format!("__bind_{service_snake}_{method}_{i}")),
            reply: ident(&format!("__reply_{service_snake}_{method}_{i}")),
        }
    }
}

/// The reply encoder of a route: a generated function encoding the whole reply or its
/// `response_body` field, with Kratos' XML form (Go's encoder on the Go struct) when the
/// well-known types are pbjson's.
fn reply_encoder(
    ctx: &mut Gen<'_, '_>,
    method: &MethodPlan,
    response_field: Option<&FieldDescriptor>,
    fn_ident: &Ident,
) -> TokenStream {
    let output_desc = method.method.output();
    let output = ctx.ty(output_desc.full_name());
    let xml_ok = ctx.options.wkt == WktMapping::Pbjson;
    let (body, xml, doc) = match response_field {
        None => {
            let xml = xml_ok.then(|| {
                let gov = ctx.helpers.go_views.of(&output_desc);
                let go_name = go_type_name(&output_desc);
                quote! { ::kratos::__codegen::goxml::encode(#go_name, &#gov(reply)) }
            });
            (
                quote! { codec.encode(reply) },
                xml,
                " Encodes the reply.".to_string(),
            )
        }
        Some(field) => {
            let ident = ident(&field_ident(field));
            let (json, proto) = (field.json_name(), field.name());
            // Any other field: its proto3 JSON value, written by the reply's own serializer.
            let value = quote! { codec.encode_field(reply, #json, #proto) };
            let (body, xml) = match field.kind() {
                Kind::Message(m) if field.is_list() => {
                    let xml = xml_ok.then(|| {
                        let gov = ctx.helpers.go_views.of(&m);
                        let go_name = go_type_name(&m);
                        quote! {
                            ::kratos::__codegen::goxml::encode_slice(
                                #go_name,
                                &reply.#ident.iter().map(#gov).collect::<::std::vec::Vec<_>>(),
                            )
                        }
                    });
                    (value, xml)
                }
                // A singular message is a message in every codec (the default one when unset,
                // as Kratos writes a nil message).
                Kind::Message(m) if !field.is_map() && real_oneof(field).is_none() => {
                    let ty = ctx.ty(m.full_name());
                    let xml = xml_ok.then(|| {
                        let gov = ctx.helpers.go_views.of(&m);
                        let go_name = go_type_name(&m);
                        // Go's XML encoder writes nothing for a nil message.
                        quote! {
                            match &reply.#ident {
                                ::core::option::Option::Some(m) => ::kratos::__codegen::goxml::encode(#go_name, &#gov(m)),
                                ::core::option::Option::None => ::core::result::Result::Ok(::std::vec::Vec::new()),
                            }
                        }
                    });
                    (
                        quote! {
                            match &reply.#ident {
                                ::core::option::Option::Some(m) => codec.encode(m),
                                ::core::option::Option::None => codec.encode(&<#ty as ::core::default::Default>::default()),
                            }
                        },
                        xml,
                    )
                }
                _ => (value, None),
            };
            let doc = format!(
                " Encodes the `{}` field of the reply (`response_body`).",
                field.name()
            );
            (body, xml, doc)
        }
    };
    let body = match xml {
        Some(xml) => quote! {
            match codec {
                ::kratos::__codegen::http::Codec::Xml => #xml,
                _ => #body,
            }
        },
        None => body,
    };
    quote! {
        #[doc = #doc]
        fn #fn_ident(
            reply: &#output,
            codec: ::kratos::__codegen::http::Codec,
        ) -> ::core::result::Result<::std::vec::Vec<u8>, ::kratos::errors::Error> {
            #body
        }
    }
}
