//! How the service trait names and types its methods: one definition, used by the trait this
//! plugin generates and by tools that write implementations of it (`kratos proto server`).
//!
//! The rule: the trait is the service's name in UpperCamelCase, each method its name in
//! snake_case (prost-build's naming, raw for keywords); a method receives its input message, or
//! a `kratos::stream::RequestStream` of them when the client streams, and answers its output
//! message, or a `kratos::stream::ServerStream` of them when the server streams. Message paths
//! are prost-build's, relative to the module of `package` (`super::` up to a common ancestor).

use kratos_codegen::RustPaths;
use kratos_codegen::names::{ident, to_snake, to_upper_camel};
use proc_macro2::{Ident, TokenStream};
use prost_reflect::{MethodDescriptor, ServiceDescriptor};
use quote::quote;

/// The trait generated for `service`.
pub fn trait_ident(service: &ServiceDescriptor) -> Ident {
    ident(&to_upper_camel(service.name()))
}

/// The trait method of `method`.
pub fn method_ident(method: &MethodDescriptor) -> Ident {
    ident(&to_snake(method.name()))
}

/// What the trait method of `method` receives, seen from the module of `package`.
pub fn request_type(method: &MethodDescriptor, paths: &RustPaths, package: &str) -> TokenStream {
    let input = paths.type_tokens(method.input().full_name(), package);
    if method.is_client_streaming() {
        quote! { ::kratos::stream::RequestStream<#input> }
    } else {
        input
    }
}

/// What the trait method of `method` answers (inside `Result<_, kratos::errors::Error>`), seen
/// from the module of `package`.
pub fn reply_type(method: &MethodDescriptor, paths: &RustPaths, package: &str) -> TokenStream {
    let output = paths.type_tokens(method.output().full_name(), package);
    if method.is_server_streaming() {
        quote! { ::kratos::stream::ServerStream<#output> }
    } else {
        output
    }
}
