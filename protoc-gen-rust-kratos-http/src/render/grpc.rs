//! The gRPC adapter: `register_<service>_grpc_server` and an implementation of tonic's server
//! trait that calls the service through the gRPC server's middleware.

use kratos_codegen::ItemSink;
use kratos_codegen::names::{ident, snake_word, to_upper_camel, tonic_snake, upper_camel_word};
use proc_macro2::TokenStream;
use quote::quote;

use crate::context::Gen;
use crate::plan::{ServicePlan, Streaming};

/// The registration function, the adapter struct and its tonic trait implementation (the last
/// two with a part per method).
pub(super) fn render(ctx: &Gen<'_, '_>, plan: &ServicePlan, sink: &mut ItemSink) {
    let service = &plan.service;
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
    let fields = plan.methods.iter().map(|p| {
        let name = &p.fn_ident;
        let input = ctx.request_type(p);
        let output = ctx.reply_type(p);
        quote! { #name: ::kratos::__codegen::Endpoint<#input, #output>, }
    });
    let inits = plan.methods.iter().map(|p| {
        let (name, konst) = (&p.fn_ident, &p.operation_const);
        let message = ctx.ty(p.method.input().full_name());
        // A request stream's validator turns on the validation of each message it carries.
        let validator = if p.streaming.client() {
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
    let impls = plan.methods.iter().map(|p| {
        let (name, konst) = (&p.fn_ident, &p.operation_const);
        let input = ctx.ty(p.method.input().full_name());
        let output = ctx.ty(p.method.output().full_name());
        // tonic's request: the message, or the incoming stream of them.
        let (request_ty, validator) = if p.streaming.client() {
            (
                quote! { ::kratos::__codegen::tonic::Streaming<#input> },
                quote! { ::kratos::__validator!(#input), },
            )
        } else {
            (input.clone(), TokenStream::new())
        };
        let serve = match p.streaming {
            Streaming::Unary => quote! { unary },
            Streaming::Server => quote! { server_stream },
            Streaming::Client => quote! { client_stream },
            Streaming::Bidi => quote! { bidi_stream },
        };
        // tonic names a reply stream's type after the method: `<Method>Stream`.
        let (stream_decl, reply_ty) = if p.streaming.server() {
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
    let trait_ident = &plan.trait_ident;
    sink.push(quote! {
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
            middleware: &::kratos::__codegen::grpc::Matcher,
        ) -> #tonic_mod::#tonic_server<#adapter> {
            #tonic_mod::#tonic_server::new(#adapter { #(#inits)* })
        }
    });
    sink.push_block(
        quote! {
            #[doc = #adapter_doc]
            #[doc(hidden)]
            pub struct #adapter {}
        },
        fields,
    );
    sink.push_block(
        quote! {
            #[::kratos::__codegen::async_trait]
            impl #tonic_mod::#trait_ident for #adapter {}
        },
        impls,
    );
}
