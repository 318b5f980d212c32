//! The renderers: each turns a [`ServicePlan`] into one part of the output and reads the plan
//! only. They do not call each other; this module puts their parts in the output's order.

mod client;
mod grpc;
mod http_server;
mod service_trait;

use proc_macro2::TokenStream;

use crate::context::Gen;
use crate::plan::ServicePlan;

/// Everything generated for one planned service: operation constants and the service trait,
/// then (when a method has a route) the HTTP client and the HTTP registration, then (unless
/// turned off) the gRPC adapter.
pub(crate) fn service(ctx: &mut Gen<'_, '_>, plan: &ServicePlan) -> TokenStream {
    let mut out = service_trait::render(ctx, plan);
    if plan.http {
        out.extend(client::render(ctx, plan));
        out.extend(http_server::render(ctx, plan));
    }
    if plan.grpc {
        out.extend(grpc::render(ctx, plan));
    }
    out
}
