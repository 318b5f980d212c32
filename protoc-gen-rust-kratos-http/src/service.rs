//! Per-service output: operation constants, the service trait, HTTP registration and the gRPC
//! adapter.

use kratos_codegen::comments::{FileComments, doc_attrs};
use kratos_codegen::names::real_oneof;
use kratos_codegen::names::{
    ident, snake_word, to_shouty_snake, to_snake, to_upper_camel, tonic_snake, upper_camel_word,
};
use kratos_codegen::{CodegenError, Result};
use kratos_path_template::Template;
use proc_macro2::TokenStream;
use prost_reflect::{FieldDescriptor, FileDescriptor, Kind, MethodDescriptor, ServiceDescriptor};
use quote::{format_ident, quote};

use crate::Options;
use crate::bind::{Site, bind_body, is_http_body, rust_type};
use crate::client;
use crate::form::FormFns;
use crate::rule::{self, Route};

/// One unary method with its routes.
struct MethodPlan {
    method: MethodDescriptor,
    /// Server streaming: the reply is a `ServerStream` (SSE over HTTP).
    stream: bool,
    /// Client (or bidirectional) streaming: the request is a `RequestStream`, served over gRPC
    /// only.
    client_stream: bool,
    routes: Vec<Route>,
    operation_const: proc_macro2::Ident,
    fn_ident: proc_macro2::Ident,
}

/// Everything generated for the services of `file` (empty when nothing is to be generated).
pub(crate) fn generate_file(
    file: &FileDescriptor,
    options: &Options,
    forms: &mut FormFns<'_>,
    warnings: &mut Vec<String>,
) -> Result<TokenStream> {
    let comments = FileComments::new(file);
    let mut out = TokenStream::new();
    for service in file.services() {
        out.extend(generate_service(
            file, &service, options, forms, &comments, warnings,
        )?);
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn generate_service(
    file: &FileDescriptor,
    service: &ServiceDescriptor,
    options: &Options,
    forms: &mut FormFns<'_>,
    comments: &FileComments,
    warnings: &mut Vec<String>,
) -> Result<TokenStream> {
    let package = file.package_name();
    let file_name = file.name();
    let mut plans = Vec::new();
    for method in service.methods() {
        let element = format!("method {}", method.full_name());
        let routes = rule::routes(&method, &element, &options.omitempty_prefix)?;
        let stream = method.is_server_streaming();
        let operation_const = ident(&format!(
            "OPERATION_{}_{}",
            to_shouty_snake(service.name()),
            to_shouty_snake(method.name())
        ));
        let fn_ident = ident(&to_snake(method.name()));
        if method.is_client_streaming() {
            if routes.is_some() {
                warnings.push(format!(
                    "{file_name}: {element}: client and bidirectional streaming methods get no \
                     HTTP route (they are served over gRPC); the rule is ignored"
                ));
            }
            plans.push(MethodPlan {
                method,
                stream,
                client_stream: true,
                routes: Vec::new(),
                operation_const,
                fn_ident,
            });
            continue;
        }
        if stream
            && let Some(route) = routes
                .iter()
                .flatten()
                .find(|r| !matches!(r.response_body.as_str(), "" | "*"))
        {
            return Err(CodegenError::proto(
                file_name,
                &element,
                format!(
                    "response_body '{}' on a server-streaming method: each message is sent whole",
                    route.response_body
                ),
            ));
        }
        let routes = match routes {
            Some(r) => r,
            // Un-annotated streaming methods get no default route (Kratos v3).
            None if options.omitempty || stream => Vec::new(),
            None => vec![Route {
                method: "POST".into(),
                path: rule::default_path(&method, &options.omitempty_prefix),
                body: String::new(),
                response_body: String::new(),
            }],
        };
        plans.push(MethodPlan {
            method,
            stream,
            client_stream: false,
            routes,
            operation_const,
            fn_ident,
        });
    }
    let has_routes = plans.iter().any(|p| !p.routes.is_empty());
    let adapter = options.grpc && !plans.is_empty();
    if !has_routes && !adapter {
        return Ok(TokenStream::new());
    }

    let trait_ident = ident(&to_upper_camel(service.name()));
    let mut out = TokenStream::new();
    for plan in &plans {
        let konst = &plan.operation_const;
        let op = format!("/{}/{}", service.full_name(), plan.method.name());
        let doc = format!(
            " Operation of `{}`, as middleware selectors see it.",
            plan.method.full_name()
        );
        out.extend(quote! {
            #[doc = #doc]
            pub const #konst: &str = #op;
        });
    }
    out.extend(service_trait(
        service,
        &plans,
        package,
        options,
        comments,
        &trait_ident,
    ));
    if has_routes {
        let client_methods: Vec<client::ClientMethod<'_>> = plans
            .iter()
            .filter_map(|plan| {
                // The primary rule is the last route (additional bindings come first).
                let route = plan.routes.last()?;
                Some(client::ClientMethod {
                    method: &plan.method,
                    route,
                    fn_ident: &plan.fn_ident,
                    operation: &plan.operation_const,
                    stream: plan.stream,
                    docs: comments.doc_attrs(plan.method.path()),
                })
            })
            .collect();
        out.extend(client::generate(
            file_name,
            service,
            &client_methods,
            package,
            options,
            forms,
            warnings,
        ));
        out.extend(http_registration(
            file_name,
            service,
            &plans,
            package,
            options,
            forms,
            &trait_ident,
            warnings,
        )?);
    }
    if adapter {
        out.extend(grpc_adapter(
            service,
            &plans,
            package,
            options,
            &trait_ident,
        ));
    }
    Ok(out)
}

/// The Rust type of a method's reply: the message, or a `ServerStream` of it.
/// What the service method receives: the message, or a stream of them.
fn request_type(plan: &MethodPlan, package: &str, options: &Options) -> TokenStream {
    let input = rust_type(&options.paths, plan.method.input().full_name(), package);
    if plan.client_stream {
        quote! { ::kratos::stream::RequestStream<#input> }
    } else {
        input
    }
}

fn reply_type(plan: &MethodPlan, package: &str, options: &Options) -> TokenStream {
    let output = rust_type(&options.paths, plan.method.output().full_name(), package);
    if plan.stream {
        quote! { ::kratos::stream::ServerStream<#output> }
    } else {
        output
    }
}

fn service_trait(
    service: &ServiceDescriptor,
    plans: &[MethodPlan],
    package: &str,
    options: &Options,
    comments: &FileComments,
    trait_ident: &proc_macro2::Ident,
) -> TokenStream {
    let mut doc_lines = comments.lines(service.path());
    if !doc_lines.is_empty() {
        doc_lines.push(String::new());
    }
    doc_lines.push(format!(
        " The `{}` service: implement it once, serve it over HTTP and gRPC.",
        service.full_name()
    ));
    let docs = doc_attrs(&doc_lines);
    let methods = plans.iter().map(|plan| {
        let name = &plan.fn_ident;
        let input = request_type(plan, package, options);
        let output = reply_type(plan, package, options);
        let mut lines = comments.lines(plan.method.path());
        if plan
            .method
            .method_descriptor_proto()
            .options
            .as_ref()
            .and_then(|o| o.deprecated)
            == Some(true)
        {
            if !lines.is_empty() {
                lines.push(String::new());
            }
            lines.push(" Deprecated: Do not use.".to_string());
        }
        let docs = doc_attrs(&lines);
        quote! {
            #docs
            fn #name(
                &self,
                ctx: ::kratos::Context,
                request: #input,
            ) -> impl ::core::future::Future<
                Output = ::core::result::Result<#output, ::kratos::errors::Error>,
            > + ::core::marker::Send;
        }
    });
    quote! {
        #docs
        pub trait #trait_ident: ::core::marker::Send + ::core::marker::Sync + 'static {
            #(#methods)*
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn http_registration(
    file_name: &str,
    service: &ServiceDescriptor,
    plans: &[MethodPlan],
    package: &str,
    options: &Options,
    forms: &mut FormFns<'_>,
    trait_ident: &proc_macro2::Ident,
    warnings: &mut Vec<String>,
) -> Result<TokenStream> {
    let service_snake = snake_word(service.name());
    let register = ident(&format!("register_{service_snake}_http_server"));
    let mut routes = TokenStream::new();
    let mut binders = TokenStream::new();
    for plan in plans {
        let element = format!("method {}", plan.method.full_name());
        let site = Site {
            file: file_name,
            element: &element,
        };
        for (i, route) in plan.routes.iter().enumerate() {
            let template = Template::parse(&route.path)
                .map_err(|e| CodegenError::proto(file_name, &element, e.to_string()))?;
            check_route(file_name, &element, route, &plan.method, warnings)?;
            let bind_fn = ident(&format!(
                "__bind_{service_snake}_{}_{i}",
                snake_word(plan.method.name()),
            ));
            let input = rust_type(&options.paths, plan.method.input().full_name(), package);
            let reply_fn_ident = ident(&format!(
                "__reply_{service_snake}_{}_{i}",
                snake_word(plan.method.name()),
            ));
            // How the reply is sent: events, raw (a whole `google.api.HttpBody`), or encoded.
            let (register_fn, reply_arg) = if plan.stream {
                (format_ident!("route_stream"), TokenStream::new())
            } else if raw_reply(route, &plan.method) {
                let output = rust_type(&options.paths, plan.method.output().full_name(), package);
                binders.extend(quote! {
                    #[doc = " Takes the `google.api.HttpBody` reply apart: media type and data."]
                    fn #reply_fn_ident(
                        reply: #output,
                    ) -> (::std::string::String, ::std::vec::Vec<u8>) {
                        (reply.content_type, ::core::convert::Into::into(reply.data))
                    }
                });
                (format_ident!("route_raw"), quote! { #reply_fn_ident, })
            } else {
                let (reply_fn, reply_def) = reply_encoder(
                    route,
                    &plan.method,
                    &reply_fn_ident,
                    package,
                    options,
                    forms,
                );
                binders.extend(reply_def);
                (format_ident!("route"), quote! { #reply_fn, })
            };
            let body = bind_body(
                route,
                &template,
                &plan.method.input(),
                package,
                forms,
                &options.paths,
                &site,
            )?;
            binders.extend(quote! {
                fn #bind_fn(
                    binder: &mut ::kratos::__codegen::http::Binder<'_>,
                ) -> ::core::result::Result<#input, ::kratos::errors::Error> {
                    #body
                }
            });
            let (method, path, konst, name) = (
                &route.method,
                &route.path,
                &plan.operation_const,
                &plan.fn_ident,
            );
            routes.extend(quote! {
                {
                    let service = ::std::sync::Arc::clone(&service);
                    server.#register_fn(
                        ::kratos::__codegen::http::RouteSpec {
                            method: #method,
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
            });
        }
    }
    let doc = format!(
        " Registers the HTTP routes of `{}` on `server`, served by `service`.",
        service.full_name()
    );
    Ok(quote! {
        #[doc = #doc]
        pub fn #register<S: #trait_ident>(
            server: &mut ::kratos::__codegen::http::Server,
            service: ::std::sync::Arc<S>,
        ) -> ::core::result::Result<(), ::kratos::__codegen::http::RouteError> {
            #routes
            ::core::result::Result::Ok(())
        }
        #binders
    })
}

/// Whether a route replies with a whole `google.api.HttpBody`, sent raw (Kratos v3).
pub(crate) fn raw_reply(route: &Route, method: &MethodDescriptor) -> bool {
    matches!(route.response_body.as_str(), "" | "*") && is_http_body(&method.output())
}

/// Generation-time checks of a route, with Kratos' warnings.
fn check_route(
    file_name: &str,
    element: &str,
    route: &Route,
    method: &MethodDescriptor,
    warnings: &mut Vec<String>,
) -> Result<()> {
    let upper = route.method.to_ascii_uppercase();
    if (upper == "GET" || upper == "DELETE") && !route.body.is_empty() {
        warnings.push(format!(
            "{file_name}: {element}: {} {} body should not be declared",
            route.method, route.path
        ));
    }
    if matches!(upper.as_str(), "POST" | "PUT" | "PATCH") && route.body.is_empty() {
        warnings.push(format!(
            "{file_name}: {element}: {} {} does not declare a body",
            route.method, route.path
        ));
    }
    // Any field may be the response body (as in Kratos); this only checks that it exists.
    response_field(file_name, element, route, method)?;
    Ok(())
}

/// The reply field `response_body` names, if it names one (not `""` or `"*"`).
fn response_field(
    file_name: &str,
    element: &str,
    route: &Route,
    method: &MethodDescriptor,
) -> Result<Option<FieldDescriptor>> {
    match route.response_body.as_str() {
        "" | "*" => Ok(None),
        field => {
            let output = method.output();
            output.get_field_by_name(field).map(Some).ok_or_else(|| {
                CodegenError::proto(
                    file_name,
                    element,
                    format!(
                        "response_body '{field}' names a field that message {} does not have",
                        output.full_name()
                    ),
                )
            })
        }
    }
}

/// The reply encoder of a route: a generated function encoding the whole reply or its
/// `response_body` field, with Kratos' XML form (Go's encoder on the Go struct) when the
/// well-known types are pbjson's.
fn reply_encoder(
    route: &Route,
    method: &MethodDescriptor,
    fn_ident: &proc_macro2::Ident,
    package: &str,
    options: &Options,
    forms: &mut FormFns<'_>,
) -> (TokenStream, TokenStream) {
    let output_desc = method.output();
    let output = rust_type(&options.paths, output_desc.full_name(), package);
    let xml_ok = options.wkt == kratos_codegen::WktMapping::Pbjson;
    let (body, xml, doc) = match output_desc.get_field_by_name(&route.response_body) {
        None => {
            let xml = xml_ok.then(|| {
                let gov = forms.govs.of(&output_desc);
                let go_name = crate::gov::go_type_name(&output_desc);
                quote! { ::kratos::__codegen::goxml::encode(#go_name, &#gov(reply)) }
            });
            (
                quote! { codec.encode(reply) },
                xml,
                " Encodes the reply.".to_string(),
            )
        }
        Some(field) => {
            let ident = ident(&kratos_codegen::names::field_ident(&field));
            let (json, proto) = (field.json_name(), field.name());
            // Any other field: its proto3 JSON value, written by the reply's own serializer.
            let value = quote! { codec.encode_field(reply, #json, #proto) };
            let (body, xml) = match field.kind() {
                Kind::Message(m) if field.is_list() => {
                    let xml = xml_ok.then(|| {
                        let gov = forms.govs.of(&m);
                        let go_name = crate::gov::go_type_name(&m);
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
                Kind::Message(m) if !field.is_map() && real_oneof(&field).is_none() => {
                    let ty = rust_type(&options.paths, m.full_name(), package);
                    let xml = xml_ok.then(|| {
                        let gov = forms.govs.of(&m);
                        let go_name = crate::gov::go_type_name(&m);
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
    let function = quote! {
        #[doc = #doc]
        fn #fn_ident(
            reply: &#output,
            codec: ::kratos::__codegen::http::Codec,
        ) -> ::core::result::Result<::std::vec::Vec<u8>, ::kratos::errors::Error> {
            #body
        }
    };
    (quote! { #fn_ident }, function)
}

fn grpc_adapter(
    service: &ServiceDescriptor,
    plans: &[MethodPlan],
    package: &str,
    options: &Options,
    trait_ident: &proc_macro2::Ident,
) -> TokenStream {
    // tonic-build names its module and server after prost's name of the service (`Self_`
    // for `Self`: `self__server::Self_Server`); ours embed the plain word.
    let upper = to_upper_camel(service.name());
    let tonic_mod = ident(&format!("{}_server", tonic_snake(&upper)));
    let tonic_server = ident(&format!("{upper}Server"));
    let adapter = ident(&format!("{}GrpcAdapter", upper_camel_word(service.name())));
    let register = ident(&format!(
        "register_{}_grpc_server",
        snake_word(service.name())
    ));
    let tonic_service = ident(&format!("{}_grpc_service", snake_word(service.name())));
    let fields = plans.iter().map(|p| {
        let name = &p.fn_ident;
        let input = request_type(p, package, options);
        let output = reply_type(p, package, options);
        quote! { #name: ::kratos::__codegen::Endpoint<#input, #output>, }
    });
    let inits = plans.iter().map(|p| {
        let (name, konst) = (&p.fn_ident, &p.operation_const);
        let message = rust_type(&options.paths, p.method.input().full_name(), package);
        // A request stream's validator turns on the validation of each message it carries.
        let validator = if p.client_stream {
            quote! {
                ::kratos::__validator!(#message)
                    .map(|_| ::kratos::__codegen::grpc::request_stream_validator::<#message>())
            }
        } else {
            quote! { ::kratos::__validator!(#message) }
        };
        quote! {
            #name: {
                let service = ::std::sync::Arc::clone(&service);
                middleware.endpoint(#konst, #validator, move |ctx, request| {
                    let service = ::std::sync::Arc::clone(&service);
                    async move { service.#name(ctx, request).await }
                })
            },
        }
    });
    let impls = plans.iter().map(|p| {
        let (name, konst) = (&p.fn_ident, &p.operation_const);
        let input = rust_type(&options.paths, p.method.input().full_name(), package);
        let output = rust_type(&options.paths, p.method.output().full_name(), package);
        // tonic's request: the message, or the incoming stream of them.
        let (request_ty, validator) = if p.client_stream {
            (
                quote! { ::kratos::__codegen::tonic::Streaming<#input> },
                quote! { ::kratos::__validator!(#input), },
            )
        } else {
            (input.clone(), TokenStream::new())
        };
        let serve = match (p.client_stream, p.stream) {
            (false, false) => quote! { unary },
            (false, true) => quote! { server_stream },
            (true, false) => quote! { client_stream },
            (true, true) => quote! { bidi_stream },
        };
        // tonic names a reply stream's type after the method: `<Method>Stream`.
        let (stream_decl, reply_ty) = if p.stream {
            let stream_ty = ident(&format!("{}Stream", p.method.name()));
            (
                quote! { type #stream_ty = ::kratos::__codegen::grpc::StatusStream<#output>; },
                quote! { Self::#stream_ty },
            )
        } else {
            (TokenStream::new(), output)
        };
        quote! {
            #stream_decl
            async fn #name(
                &self,
                request: ::kratos::__codegen::tonic::Request<#request_ty>,
            ) -> ::core::result::Result<
                ::kratos::__codegen::tonic::Response<#reply_ty>,
                ::kratos::__codegen::tonic::Status,
            > {
                ::kratos::__codegen::grpc::#serve(&self.#name, #konst, #validator request).await
            }
        }
    });
    let doc = format!(
        " Registers `{}` on the gRPC `server`, served by `service` through the server's middleware; an error if a service of that name is already registered.",
        service.full_name()
    );
    let service_doc = format!(
        " tonic's server of `{}`, served by `service` through the middleware `middleware` selects for each method: add it to any tonic server (`tonic::transport::Server::builder().add_service(...)`).",
        service.full_name()
    );
    let adapter_doc = format!(
        " Implements tonic's `{}` server trait with a kratos `{}` service.",
        service.full_name(),
        upper
    );
    quote! {
        #[doc = #doc]
        pub fn #register<S: #trait_ident>(
            server: &mut ::kratos::__codegen::grpc::Server,
            service: ::std::sync::Arc<S>,
        ) -> ::core::result::Result<(), ::kratos::__codegen::grpc::RouteError> {
            let tonic_service = #tonic_service(service, server.middleware());
            server.add_service(tonic_service)?;
            ::core::result::Result::Ok(())
        }

        #[doc = #service_doc]
        pub fn #tonic_service<S: #trait_ident>(
            service: ::std::sync::Arc<S>,
            middleware: &::kratos::__codegen::grpc::Selector,
        ) -> #tonic_mod::#tonic_server<#adapter> {
            #tonic_mod::#tonic_server::new(#adapter { #(#inits)* })
        }

        #[doc = #adapter_doc]
        #[doc(hidden)]
        pub struct #adapter {
            #(#fields)*
        }

        #[::kratos::__codegen::async_trait]
        impl #tonic_mod::#trait_ident for #adapter {
            #(#impls)*
        }
    }
}
