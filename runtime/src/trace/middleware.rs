//! The tracing middleware (Kratos' `tracing.Server()` and `tracing.Client()`).

use opentelemetry::KeyValue;
use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::{SpanKind, Status, TraceContextExt as _, Tracer as _};
use opentelemetry_sdk::trace::SdkTracer;

use super::SERVICE_HEADER;
use super::subscriber::TraceFilter;
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
///
/// Calls are traced when the current `tracing` subscriber carries [`super::layer`] (as
/// [`crate::log::Logger`]'s does with a tracer provider), with that layer's tracer; otherwise
/// the middleware only forwards the call.
pub fn server() -> Middleware {
    middleware(Side::Server)
}

/// The client middleware: each call made through a client with it runs in a span named
/// after its operation, of kind client, child of the current span (the served call's, when a
/// handler makes the call), whose context is sent in `traceparent`/`tracestate`/`baggage`
/// with Kratos' `x-md-service-name` (see [`super::set_service_name`]). Attributes:
/// `rpc.system`, `rpc.service`, `rpc.method`, and for HTTP `http.method` and `http.target`;
/// outcomes as on the server. Only client calls are traced, under the same condition as
/// [`server`].
pub fn client() -> Middleware {
    middleware(Side::Client)
}

fn middleware(side: Side) -> Middleware {
    Middleware::new(move |next: Handler| {
        Handler::from_fn(move |ctx, req| {
            if ctx.side() != side {
                return next.call(ctx, req);
            }
            // The span is started with its parent and all of Kratos' attributes at once, with
            // the tracer of the subscriber's layer; no layer, no span.
            let started = tracing::dispatcher::get_default(|dispatch| {
                let tracer = &dispatch.downcast_ref::<TraceFilter>()?.tracer;
                Some(match side {
                    Side::Server => start_server(tracer, &ctx),
                    Side::Client => start_client(tracer, &ctx, &req),
                })
            });
            let Some(cx) = started else {
                return next.call(ctx, req);
            };
            let fut = next.call(ctx, req);
            // The call runs with the span's context attached to the thread on every poll (so
            // events, log lines and client calls inside it see the span); the outcome is
            // recorded and the span ended when the reply is there.
            let attached = cx.clone();
            Box::pin(
                async move {
                    let reply = fut.await;
                    finish(&cx, &reply);
                    cx.span().end();
                    reply
                }
                .with_context(attached),
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

/// Starts a served call's span: its parent from the request (none when the request carries
/// no context, whatever span the server itself runs in), its attributes; returns its
/// context.
fn start_server(tracer: &SdkTracer, ctx: &Context) -> opentelemetry::Context {
    let headers = ctx.request_headers();
    let parent = if super::carries_context(headers) {
        super::extract(headers)
    } else {
        opentelemetry::Context::new()
    };
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
        attributes.push(KeyValue::new("net.peer.ip", ip_text(peer.ip())));
        attributes.push(KeyValue::new("net.peer.port", i64::from(peer.port())));
    }
    if let Some(name) = headers.get(SERVICE_HEADER).and_then(|v| v.to_str().ok()) {
        attributes.push(KeyValue::new("peer.service", name.to_string()));
        ctx.metadata().set(SERVICE_HEADER, name);
    }
    start(tracer, ctx, SpanKind::Server, attributes, parent)
}

/// Starts the span of `ctx`'s operation as a child of `parent`; returns its context.
fn start(
    tracer: &SdkTracer,
    ctx: &Context,
    kind: SpanKind,
    attributes: Vec<KeyValue>,
    parent: opentelemetry::Context,
) -> opentelemetry::Context {
    let builder = tracer
        .span_builder(ctx.operation())
        .with_kind(kind)
        .with_attributes(attributes);
    let span = tracer.build_with_context(builder, &parent);
    parent.with_span(span)
}

/// An address as text, as `Display` writes it; IPv4 (the common case) without the formatting
/// machinery.
fn ip_text(ip: std::net::IpAddr) -> String {
    let std::net::IpAddr::V4(v4) = ip else {
        return ip.to_string();
    };
    let mut text = String::with_capacity(15);
    for (i, octet) in v4.octets().into_iter().enumerate() {
        if i > 0 {
            text.push('.');
        }
        if octet >= 100 {
            text.push(char::from(b'0' + octet / 100));
        }
        if octet >= 10 {
            text.push(char::from(b'0' + octet / 10 % 10));
        }
        text.push(char::from(b'0' + octet % 10));
    }
    text
}

/// Starts a call's client span: its attributes, and its context sent with the call; returns
/// that context.
fn start_client(tracer: &SdkTracer, ctx: &Context, req: &Message) -> opentelemetry::Context {
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
    // The child of the current span: the served call's, or a span of the handler's own.
    let cx = start(
        tracer,
        ctx,
        SpanKind::Client,
        attributes,
        opentelemetry::Context::current(),
    );
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

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    /// Addresses read as `Display` writes them: every octet width, zeros, IPv6.
    #[test]
    fn addresses_are_written_as_display_writes_them() {
        let mut addresses: Vec<IpAddr> = [0u8, 1, 9, 10, 42, 99, 100, 127, 199, 200, 255]
            .into_iter()
            .flat_map(|a| {
                [0u8, 7, 10, 100, 255]
                    .into_iter()
                    .map(move |b| IpAddr::V4(Ipv4Addr::new(a, b, 255 - b, a / 2)))
            })
            .collect();
        addresses.push(IpAddr::V6(Ipv6Addr::LOCALHOST));
        addresses.push(IpAddr::V6(Ipv4Addr::new(10, 0, 0, 1).to_ipv6_mapped()));
        for ip in addresses {
            assert_eq!(super::ip_text(ip), ip.to_string());
        }
    }
}
