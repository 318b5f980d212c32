//! The tracing middleware (Kratos' `tracing.Server()` and `tracing.Client()`).

use opentelemetry::KeyValue;
use opentelemetry::trace::{Status, TraceContextExt as _};
use tracing::Instrument as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use super::{SERVICE_HEADER, TRACE_TARGET};
use crate::context::{Context, Kind, Side};
use crate::errors::Error;
use crate::middleware::{Handler, Message, Middleware};

/// The server middleware: each served call runs in a span named after its operation, of kind
/// server, child of the caller's span when the request carries a W3C `traceparent` (with its
/// `tracestate` and `baggage`). The caller's `x-md-service-name` goes into the call's metadata
/// and the span's `peer.service`. Attributes, as Kratos sets them: `rpc.system` (`http` or
/// `grpc`), `rpc.service`, `rpc.method`, `http.method`, `http.route` (the path template),
/// `http.target` (the path), `net.peer.ip`/`net.peer.port` (when the server knows the peer:
/// not for a request given to `ServerService` without a `PeerAddr`); on failure the error is recorded
/// as an `exception` event, `rpc.status_code` is the Kratos code and the status is error,
/// else the status is ok. Only server calls are traced; a client chain is passed through.
pub fn server() -> Middleware {
    middleware(Side::Server)
}

/// The client middleware: each call made through a client with it runs in a span named
/// after its operation, of kind client, child of the current span (the served call's, when a
/// handler makes the call), whose context is sent in `traceparent`/`tracestate`/`baggage`
/// with Kratos' `x-md-service-name` (see [`super::set_service_name`]). Attributes:
/// `rpc.system`, `rpc.service`, `rpc.method`, and for HTTP `http.method` and `http.target`;
/// outcomes as on the server. Only client calls are traced.
pub fn client() -> Middleware {
    middleware(Side::Client)
}

fn middleware(side: Side) -> Middleware {
    Middleware::new(move |next: Handler| {
        Handler::from_fn(move |ctx, req| {
            if ctx.side() != side {
                return next.call(ctx, req);
            }
            let span = match side {
                // A served call continues the caller's trace, else it starts one: the span
                // has no parent in the process (whatever span the server task runs in).
                Side::Server => tracing::info_span!(
                    target: TRACE_TARGET, parent: None, "call",
                    otel.name = ctx.operation(), otel.kind = "server"
                ),
                Side::Client => tracing::info_span!(
                    target: TRACE_TARGET, "call",
                    otel.name = ctx.operation(), otel.kind = "client"
                ),
            };
            if span.is_disabled() {
                return next.call(ctx, req);
            }
            // The parent is set first (the span starts when its context is first asked for);
            // then the attributes go onto the started span at once, and the outcome later,
            // without looking the span up again for each.
            let cx = match side {
                Side::Server => start_server(&span, &ctx),
                Side::Client => start_client(&span, &ctx, &req),
            };
            let fut = next.call(ctx, req);
            // The outcome is recorded within the span's future: the span ends when it is
            // dropped, and an ended span takes no more status.
            Box::pin(
                async move {
                    let reply = fut.await;
                    finish(&cx, &reply);
                    reply
                }
                .instrument(span),
            )
        })
    })
}

/// `rpc.system`, `rpc.service` and `rpc.method` of a call.
fn rpc_attributes(attributes: &mut Vec<KeyValue>, ctx: &Context) {
    attributes.push(KeyValue::new("rpc.system", ctx.kind().as_str()));
    // `/package.Service/Method`: both parts borrow the `'static` operation, no allocation.
    let operation: &'static str = ctx.operation();
    if let Some((service, method)) = operation
        .strip_prefix('/')
        .and_then(|op| op.split_once('/'))
    {
        attributes.push(KeyValue::new("rpc.service", service));
        attributes.push(KeyValue::new("rpc.method", method));
    }
}

/// The method's name as an attribute value: the standard methods without allocating.
fn http_method(method: &http::Method) -> opentelemetry::Value {
    let name: &'static str = match *method {
        http::Method::GET => "GET",
        http::Method::POST => "POST",
        http::Method::PUT => "PUT",
        http::Method::DELETE => "DELETE",
        http::Method::PATCH => "PATCH",
        http::Method::HEAD => "HEAD",
        http::Method::OPTIONS => "OPTIONS",
        _ => return method.as_str().to_string().into(),
    };
    name.into()
}

/// Starts a served call's span: its parent from the request, its attributes; returns its
/// context.
fn start_server(span: &tracing::Span, ctx: &Context) -> opentelemetry::Context {
    let headers = ctx.request_headers();
    // The caller's context, when the request carries one (a root span has no parent to set).
    if super::carries_context(headers) {
        // A span not traced by the OpenTelemetry layer has no parent to set: nothing to do.
        let _ = span.set_parent(super::extract(headers));
    }
    let mut attributes = Vec::with_capacity(9);
    rpc_attributes(&mut attributes, ctx);
    let info = ctx.request_info();
    if ctx.kind() == Kind::Http {
        if let Some(method) = &info.method {
            attributes.push(KeyValue::new("http.method", http_method(method)));
        }
        if let Some(route) = ctx.path_template() {
            attributes.push(KeyValue::new("http.route", route));
        }
        if let Some(target) = &info.target {
            attributes.push(KeyValue::new("http.target", target.path().to_string()));
        }
    }
    if let Some(peer) = info.peer {
        attributes.push(KeyValue::new("net.peer.ip", peer.ip().to_string()));
        attributes.push(KeyValue::new("net.peer.port", i64::from(peer.port())));
    }
    if let Some(name) = headers.get(SERVICE_HEADER).and_then(|v| v.to_str().ok()) {
        attributes.push(KeyValue::new("peer.service", name.to_string()));
        ctx.metadata().set(SERVICE_HEADER, name);
    }
    let cx = span.context();
    cx.span().set_attributes(attributes);
    cx
}

/// Starts a call's client span: its attributes, and its context sent with the call; returns
/// that context.
fn start_client(span: &tracing::Span, ctx: &Context, req: &Message) -> opentelemetry::Context {
    let mut attributes = Vec::with_capacity(5);
    rpc_attributes(&mut attributes, ctx);
    if let Some(request) = req.downcast_ref::<crate::http::ClientRequest>() {
        attributes.push(KeyValue::new("http.method", http_method(&request.method)));
        let path = request
            .path_and_query
            .split_once('?')
            .map_or(request.path_and_query.as_str(), |(path, _)| path);
        attributes.push(KeyValue::new("http.target", path.to_string()));
    }
    let cx = span.context();
    cx.span().set_attributes(attributes);
    let mut headers = ctx.outgoing_headers();
    super::inject(&cx, &mut headers);
    let service = super::service_name();
    if !service.is_empty()
        && let Ok(value) = http::HeaderValue::from_str(&service)
    {
        headers.insert(SERVICE_HEADER, value);
    }
    cx
}

/// The call's outcome on its span: status ok, or the error recorded (an `exception` event,
/// `rpc.status_code`, status error).
fn finish(cx: &opentelemetry::Context, reply: &Result<Message, Error>) {
    let span = cx.span();
    match reply {
        Ok(_) => span.set_status(Status::Ok),
        Err(e) => {
            span.add_event(
                "exception",
                vec![
                    KeyValue::new("exception.type", e.reason().to_string()),
                    KeyValue::new("exception.message", e.to_string()),
                ],
            );
            span.set_attribute(KeyValue::new("rpc.status_code", i64::from(e.code())));
            span.set_status(Status::error(e.to_string()));
        }
    }
}
