//! The operation constants and the transport-independent service trait.

use kratos_codegen::ItemSink;
use kratos_codegen::comments::doc_attrs;
use proc_macro2::TokenStream;
use quote::quote;

use crate::context::Gen;
use crate::plan::ServicePlan;

/// `OPERATION_<SERVICE>_<METHOD>` constants, then the trait the user implements once (a part
/// per method).
pub(super) fn render(ctx: &Gen<'_, '_>, plan: &ServicePlan, sink: &mut ItemSink) {
    let service = &plan.service;
    let mut out = TokenStream::new();
    for method in &plan.methods {
        let konst = &method.operation_const;
        let op = format!("/{}/{}", service.full_name(), method.method.name());
        let doc = format!(
            " Operation of `{}`, as middleware selectors see it.",
            method.method.full_name()
        );
        out.extend(quote! {
            #[doc = #doc]
            pub const #konst: &str = #op;
        });
    }
    let mut doc_lines = ctx.comments.lines(service.path());
    if !doc_lines.is_empty() {
        doc_lines.push(String::new());
    }
    doc_lines.push(format!(
        " The `{}` service: implement it once, serve it over HTTP and gRPC.",
        service.full_name()
    ));
    let docs = doc_attrs(&doc_lines);
    let methods = plan.methods.iter().map(|method| {
        let name = &method.fn_ident;
        let input = ctx.request_type(method);
        let output = ctx.reply_type(method);
        let mut lines = ctx.comments.lines(method.method.path());
        if method
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
    let trait_ident = &plan.trait_ident;
    sink.push(out);
    sink.push_block(
        quote! {
            #docs
            pub trait #trait_ident: ::core::marker::Send + ::core::marker::Sync + 'static {}
        },
        methods,
    );
}
