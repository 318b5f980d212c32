//! The model of what is generated for a service, built once and only read by the renderers
//! (Kratos' `protoc-gen-go-http` splits the same way: `http.go` builds the service and method
//! descriptions, `template.go` renders them).
//!
//! Planning makes every generation-time decision and check: which methods get routes (Kratos'
//! rules for `omitempty`, streaming methods and additional bindings), how each route binds its
//! body and sends its reply, and the errors and warnings about the rules. The renderers then
//! turn the plan into tokens without deciding anything about routes again.

use kratos_codegen::names::{ident, real_oneof, to_shouty_snake};
use kratos_codegen::{CodegenError, Result};
use kratos_path_template::Template;
use proc_macro2::Ident;
use prost_reflect::{
    FieldDescriptor, Kind, MessageDescriptor, MethodDescriptor, ServiceDescriptor,
};

use crate::options::Options;
use crate::rule::{self, Route};

/// How a method streams, from its descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Streaming {
    /// One request, one reply.
    Unary,
    /// One request, a stream of replies (Server-Sent Events over HTTP).
    Server,
    /// A stream of requests, one reply (gRPC only).
    Client,
    /// Streams both ways (gRPC only).
    Bidi,
}

impl Streaming {
    fn of(method: &MethodDescriptor) -> Self {
        match (method.is_client_streaming(), method.is_server_streaming()) {
            (false, false) => Streaming::Unary,
            (false, true) => Streaming::Server,
            (true, false) => Streaming::Client,
            (true, true) => Streaming::Bidi,
        }
    }

    /// Whether the requests are a stream (`RequestStream`; the method has no HTTP route).
    pub(crate) fn client(self) -> bool {
        matches!(self, Streaming::Client | Streaming::Bidi)
    }

    /// Whether the replies are a stream (`ServerStream`).
    pub(crate) fn server(self) -> bool {
        matches!(self, Streaming::Server | Streaming::Bidi)
    }
}

/// What the request body of a route binds (its `body`).
#[derive(Debug, Clone)]
pub(crate) enum RequestBody {
    /// `body` is empty: no body, everything comes from the query and the path.
    None,
    /// `body: "*"`: the whole request message, decoded with the request's codec.
    Whole,
    /// `body: "*"` on a `google.api.HttpBody` request: the raw body and its media type, no
    /// query.
    WholeRaw,
    /// `body: "<field>"`: a singular message field of the request (found by proto name or
    /// JSON name), raw when it is a `google.api.HttpBody`.
    Field {
        field: FieldDescriptor,
        message: MessageDescriptor,
        raw: bool,
    },
}

/// How a route sends its reply.
#[derive(Debug, Clone)]
pub(crate) enum Reply {
    /// A server-streaming method: each message as a Server-Sent Event.
    Events,
    /// A whole `google.api.HttpBody` reply, sent raw with its media type (Kratos v3).
    Raw,
    /// The whole reply, encoded with the negotiated codec.
    Whole,
    /// The `response_body` field of the reply.
    Field(FieldDescriptor),
}

/// One HTTP route of a method, checked.
#[derive(Debug, Clone)]
pub(crate) struct RoutePlan {
    /// The rule as written (method, path, body, response body).
    pub(crate) rule: Route,
    /// The parsed path template.
    pub(crate) template: Template,
    /// What the body binds.
    pub(crate) body: RequestBody,
    /// How the reply is sent.
    pub(crate) reply: Reply,
}

/// One method of a service.
#[derive(Debug, Clone)]
pub(crate) struct MethodPlan {
    pub(crate) method: MethodDescriptor,
    pub(crate) streaming: Streaming,
    /// The HTTP routes, additional bindings first and the primary rule last (Kratos' order);
    /// empty for a method served over gRPC only.
    pub(crate) routes: Vec<RoutePlan>,
    /// `OPERATION_<SERVICE>_<METHOD>`.
    pub(crate) operation_const: Ident,
    /// The method's name in the service trait, the client and the gRPC adapter.
    pub(crate) fn_ident: Ident,
}

impl MethodPlan {
    /// The route a generated client calls: the primary rule (Kratos' client does the same).
    pub(crate) fn primary_route(&self) -> Option<&RoutePlan> {
        self.routes.last()
    }
}

/// Everything generated for one service.
#[derive(Debug, Clone)]
pub(crate) struct ServicePlan {
    pub(crate) service: ServiceDescriptor,
    /// The service trait's name.
    pub(crate) trait_ident: Ident,
    pub(crate) methods: Vec<MethodPlan>,
    /// Whether any method has a route: HTTP registration and the HTTP client are generated.
    pub(crate) http: bool,
    /// Whether the adapter to tonic's server trait is generated.
    pub(crate) grpc: bool,
}

impl ServicePlan {
    /// Whether nothing at all is generated for the service.
    pub(crate) fn is_empty(&self) -> bool {
        !self.http && !self.grpc
    }
}

/// `google.api.HttpBody`, which Kratos v3 binds and replies raw: the body as sent, with its
/// media type.
pub(crate) fn is_http_body(message: &MessageDescriptor) -> bool {
    message.full_name() == "google.api.HttpBody"
}

/// Plans `service`; warnings (rules Kratos accepts but warns about) go to `warnings`.
pub(crate) fn service(
    service: &ServiceDescriptor,
    options: &Options,
    warnings: &mut Vec<String>,
) -> Result<ServicePlan> {
    let file_name = service.parent_file().name().to_string();
    let mut methods = Vec::new();
    for method in service.methods() {
        let element = format!("method {}", method.full_name());
        let site = Site {
            file: &file_name,
            element: &element,
        };
        let rules = rule::routes(&method, &element, &options.omitempty_prefix)?;
        let streaming = Streaming::of(&method);
        let operation_const = ident(&format!(
            "OPERATION_{}_{}",
            to_shouty_snake(service.name()),
            to_shouty_snake(method.name())
        ));
        let fn_ident = crate::signature::method_ident(&method);
        if streaming.client() {
            if rules.is_some() {
                warnings.push(format!(
                    "{file_name}: {element}: client and bidirectional streaming methods get no \
                     HTTP route (they are served over gRPC); the rule is ignored"
                ));
            }
            methods.push(MethodPlan {
                method,
                streaming,
                routes: Vec::new(),
                operation_const,
                fn_ident,
            });
            continue;
        }
        if streaming.server()
            && let Some(route) = rules
                .iter()
                .flatten()
                .find(|r| !matches!(r.response_body.as_str(), "" | "*"))
        {
            return Err(site.error(format!(
                "response_body '{}' on a server-streaming method: each message is sent whole",
                route.response_body
            )));
        }
        let rules = match rules {
            Some(r) => r,
            // Un-annotated streaming methods get no default route (Kratos v3).
            None if options.omitempty || streaming.server() => Vec::new(),
            None => vec![Route {
                method: "POST".into(),
                path: rule::default_path(&method, &options.omitempty_prefix),
                body: String::new(),
                response_body: String::new(),
            }],
        };
        let mut routes = Vec::with_capacity(rules.len());
        for rule in rules {
            routes.push(route(rule, &method, streaming, &site, warnings)?);
        }
        methods.push(MethodPlan {
            method,
            streaming,
            routes,
            operation_const,
            fn_ident,
        });
    }
    let http = methods.iter().any(|m| !m.routes.is_empty());
    let grpc = options.grpc && !methods.is_empty();
    Ok(ServicePlan {
        service: service.clone(),
        trait_ident: crate::signature::trait_ident(service),
        methods,
        http,
        grpc,
    })
}

/// Where a planning error is reported.
struct Site<'a> {
    file: &'a str,
    element: &'a str,
}

impl Site<'_> {
    fn error(&self, reason: impl Into<String>) -> CodegenError {
        CodegenError::proto(self.file, self.element, reason)
    }
}

/// Checks one rule of a method and decides how it binds and replies.
fn route(
    rule: Route,
    method: &MethodDescriptor,
    streaming: Streaming,
    site: &Site<'_>,
    warnings: &mut Vec<String>,
) -> Result<RoutePlan> {
    let template = Template::parse(&rule.path).map_err(|e| site.error(e.to_string()))?;
    let upper = rule.method.to_ascii_uppercase();
    if (upper == "GET" || upper == "DELETE") && !rule.body.is_empty() {
        warnings.push(format!(
            "{}: {}: {} {} body should not be declared",
            site.file, site.element, rule.method, rule.path
        ));
    }
    if matches!(upper.as_str(), "POST" | "PUT" | "PATCH") && rule.body.is_empty() {
        warnings.push(format!(
            "{}: {}: {} {} does not declare a body",
            site.file, site.element, rule.method, rule.path
        ));
    }
    // Any field may be the response body (as in Kratos); it must exist.
    let output = method.output();
    let response_field = match rule.response_body.as_str() {
        "" | "*" => None,
        field => Some(output.get_field_by_name(field).ok_or_else(|| {
            site.error(format!(
                "response_body '{field}' names a field that message {} does not have",
                output.full_name()
            ))
        })?),
    };
    let reply = match response_field {
        _ if streaming.server() => Reply::Events,
        None if is_http_body(&output) => Reply::Raw,
        None => Reply::Whole,
        Some(field) => Reply::Field(field),
    };
    let input = method.input();
    let body = request_body(&rule, &input, site)?;
    for var in template.variables() {
        check_variable(&var.field_path, &input, site, &rule)?;
    }
    Ok(RoutePlan {
        rule,
        template,
        body,
        reply,
    })
}

/// Looks a field up by proto name, then by JSON name (so `{user_id}` and `{userId}` both work).
pub(crate) fn find_field(message: &MessageDescriptor, name: &str) -> Option<FieldDescriptor> {
    message
        .get_field_by_name(name)
        .or_else(|| message.fields().find(|f| f.json_name() == name))
}

/// What the `body` of `rule` binds: nothing, the whole request, or one singular message field.
fn request_body(rule: &Route, input: &MessageDescriptor, site: &Site<'_>) -> Result<RequestBody> {
    Ok(match rule.body.as_str() {
        "" => RequestBody::None,
        "*" if is_http_body(input) => RequestBody::WholeRaw,
        "*" => RequestBody::Whole,
        name => {
            let field = find_field(input, name).ok_or_else(|| {
                site.error(format!(
                    "body '{name}' names a field that message {} does not have",
                    input.full_name()
                ))
            })?;
            match field.kind() {
                Kind::Message(message)
                    if !field.is_list() && !field.is_map() && real_oneof(&field).is_none() =>
                {
                    RequestBody::Field {
                        raw: is_http_body(&message),
                        field,
                        message,
                    }
                }
                _ => {
                    return Err(site.error(format!(
                        "body '{name}': binding the body to a field that is not a singular message \
                         (here {}) is not supported yet",
                        describe(&field)
                    )));
                }
            }
        }
    })
}

/// A path variable must name an existing field, through singular messages, and end on a field
/// a single string can set (a scalar, an enum, a well-known type, or a repeated one of those).
fn check_variable(
    field_path: &str,
    input: &MessageDescriptor,
    site: &Site<'_>,
    rule: &Route,
) -> Result<()> {
    let segments: Vec<&str> = field_path.split('.').collect();
    let mut message = input.clone();
    for (i, name) in segments.iter().enumerate() {
        let field = find_field(&message, name).ok_or_else(|| {
            site.error(format!(
                "path template '{}' names field '{field_path}': message {} has no field '{name}'",
                rule.path,
                message.full_name()
            ))
        })?;
        let last = i + 1 == segments.len();
        match field.kind() {
            Kind::Message(inner) if !last => {
                if field.is_list() || field.is_map() {
                    return Err(site.error(format!(
                        "path template '{}' names '{field_path}': '{name}' is {}, not a singular message",
                        rule.path,
                        describe(&field)
                    )));
                }
                message = inner;
            }
            _ if !last => {
                return Err(site.error(format!(
                    "path template '{}' names '{field_path}', but '{name}' is not a message field",
                    rule.path
                )));
            }
            _ if field.is_map() => {
                return Err(site.error(format!(
                    "path template '{}' names '{field_path}', a map field, which a path variable cannot bind",
                    rule.path
                )));
            }
            Kind::Message(inner) if inner.package_name() != "google.protobuf" => {
                return Err(site.error(format!(
                    "path template '{}' names '{field_path}' of message type {}, which a path variable cannot bind",
                    rule.path,
                    inner.full_name()
                )));
            }
            _ => {}
        }
    }
    Ok(())
}

/// A human description of a field's type, for errors.
fn describe(field: &FieldDescriptor) -> String {
    let kind = match field.kind() {
        Kind::Message(m) => m.full_name().to_string(),
        Kind::Enum(e) => e.full_name().to_string(),
        other => format!("{other:?}").to_lowercase(),
    };
    if field.is_map() {
        format!("map field {}", field.full_name())
    } else if field.is_list() {
        format!("repeated {kind} field {}", field.full_name())
    } else if real_oneof(field).is_some() {
        format!("oneof member {} of type {kind}", field.full_name())
    } else {
        format!("{kind} field {}", field.full_name())
    }
}
