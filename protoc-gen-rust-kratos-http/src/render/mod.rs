//! The renderers: each turns a [`ServicePlan`] into one part of the output and reads the plan
//! only. They do not call each other; this module puts their parts in the output's order.

mod client;
mod grpc;
mod http_server;
mod service_trait;

use kratos_codegen::ItemSink;

use crate::context::Gen;
use crate::plan::ServicePlan;

/// Everything generated for one planned service, pushed to `sink` part by part (so a part is
/// formatted while the next is generated): operation constants and the service trait, then
/// (when a method has a route) the HTTP client and the HTTP registration, then (unless turned
/// off) the gRPC adapter.
pub(crate) fn service(ctx: &mut Gen<'_, '_>, plan: &ServicePlan, sink: &mut ItemSink) {
    service_trait::render(ctx, plan, sink);
    if plan.http {
        client::render(ctx, plan, sink);
        http_server::render(ctx, plan, sink);
    }
    if plan.grpc {
        grpc::render(ctx, plan, sink);
    }
}
