//! The typed HTTP client generated per service: `<Service>HttpClient`, one method per RPC with
//! an HTTP rule, calling its primary rule (Kratos' client uses the primary rule too).

use kratos_codegen::ItemSink;
use kratos_codegen::names::{field_ident, ident, is_option_field, real_oneof, upper_camel_word};
use kratos_path_template::Segment;
use proc_macro2::TokenStream;
use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};
use quote::{format_ident, quote};

use crate::context::Gen;
use crate::plan::{MethodPlan, Reply, RequestBody, RoutePlan, ServicePlan};

/// The client struct and its methods, one per method with a route (a part each); methods that
/// cannot be generated are reported as warnings and left out.
pub(super) fn render(ctx: &mut Gen<'_, '_>, plan: &ServicePlan, sink: &mut ItemSink) {
    let service = &plan.service;
    let client = ident(&format!("{}HttpClient", upper_camel_word(service.name())));
    let doc = format!(
        " A typed HTTP client of `{}`: builds each call's URL from its rule (path variables \
         percent-encoded, other fields in the query where the rule has no `body: \"*\"`), sends \
         the body in the client's codec and decodes the reply or the Kratos error.",
        service.full_name()
    );
    sink.push(quote! {
        #[doc = #doc]
        #[derive(Debug, Clone)]
        pub struct #client {
            client: ::kratos::__codegen::http::Client,
        }
    });
    let constructors = quote! {
        /// A client calling through `client`.
        pub fn new(client: ::kratos::__codegen::http::Client) -> Self {
            Self { client }
        }

        /// A handle on the same client whose calls use `options` (extra request headers,
        /// their own timeout): `client.with_options(options).method(&request)`.
        pub fn with_options(&self, options: ::kratos::__codegen::http::CallOptions) -> Self {
            Self { client: self.client.with_options(options) }
        }
    };
    let methods = plan.methods.iter().filter_map(|m| {
        let route = m.primary_route()?;
        match method(ctx, m, route) {
            Ok(tokens) => Some(tokens),
            Err(reason) => {
                ctx.warnings.push(format!(
                    "{}: method {}: no HTTP client method: {reason}",
                    ctx.file.name(),
                    m.method.full_name()
                ));
                None
            }
        }
    });
    sink.push_block(
        quote! { impl #client {} },
        std::iter::once(constructors).chain(methods),
    );
}

/// One client method calling `plan`'s primary `route`, or why it cannot be generated.
fn method(
    ctx: &mut Gen<'_, '_>,
    plan: &MethodPlan,
    route_plan: &RoutePlan,
) -> Result<TokenStream, String> {
    let route = &route_plan.rule;
    if route.method == "*" {
        return Err("its rule accepts any method, so the client cannot choose one".into());
    }
    let template = &route_plan.template;
    let input = plan.method.input();
    let input_ty = ctx.ty(input.full_name());
    let output = plan.method.output();
    let output_ty = ctx.ty(output.full_name());

    // The path, segment by segment.
    let mut path = TokenStream::new();
    let mut var_keys: Vec<String> = Vec::new();
    let segments = template.segments();
    let mut i = 0;
    while i < segments.len() {
        if let Some(var) = template.variables().iter().find(|v| v.start == i) {
            let (text, json_path) = var_text(ctx, &input, &var.field_path).ok_or_else(|| {
                format!(
                    "path variable '{}' has a type the client cannot write",
                    var.field_path
                )
            })?;
            var_keys.push(json_path);
            let single = var.end - var.start == 1 && segments[var.start] == Segment::Single;
            path.extend(if single {
                quote! { path.push('/'); u::push_segment(&mut path, &#text); }
            } else {
                quote! { path.push('/'); u::push_segments(&mut path, &#text); }
            });
            i = var.end;
            continue;
        }
        match &segments[i] {
            Segment::Literal(lit) => {
                let piece = format!("/{lit}");
                path.extend(quote! { path.push_str(#piece); });
            }
            _ => {
                return Err(format!(
                    "path template '{}' has a wildcard outside any variable",
                    route.path
                ));
            }
        }
        i += 1;
    }
    if segments.is_empty() {
        path.extend(quote! { path.push('/'); });
    }
    if let Some(verb) = template.verb() {
        let piece = format!(":{verb}");
        path.extend(quote! { path.push_str(#piece); });
    }

    // The query and the body. A `google.api.HttpBody` body is sent raw, with its media type.
    let raw_body = |value: TokenStream| {
        quote! {
            ::kratos::__codegen::http::RequestBody::Raw {
                content_type: #value.content_type.clone(),
                data: ::core::convert::AsRef::<[u8]>::as_ref(&#value.data).to_vec(),
            }
        }
    };
    // The client names a body field by its proto name only.
    let raw_request = match &route_plan.body {
        RequestBody::None | RequestBody::Whole => false,
        RequestBody::WholeRaw => true,
        RequestBody::Field { field, raw, .. } => field.name() == route.body && *raw,
    };
    let raw_response = matches!(route_plan.reply, Reply::Raw);
    let (query, body) = match route.body.as_str() {
        "*" if raw_request => {
            let body = raw_body(quote! { request });
            (
                quote! { let query: ::std::vec::Vec<(::std::string::String, ::std::string::String)> = ::std::vec::Vec::new(); },
                quote! { ::core::option::Option::Some(#body) },
            )
        }
        "" => {
            let keys = var_keys.iter().map(String::as_str);
            let encoder = ctx.helpers.encoders.of(&input);
            (
                quote! {
                    let mut query = ::std::vec::Vec::new();
                    #encoder(request, "", &mut query)?;
                    u::remove_keys(&mut query, &[#(#keys),*]);
                },
                quote! { ::core::option::Option::None },
            )
        }
        "*" => {
            // Only field masks go in the query (the first one set, as Kratos); the rest is the
            // body.
            let masks: Vec<FieldDescriptor> = input
                .fields()
                .filter(|f| matches!(f.kind(), Kind::Message(m) if m.full_name() == "google.protobuf.FieldMask"))
                .collect();
            let query = if masks.is_empty() {
                quote! { let query: ::std::vec::Vec<(::std::string::String, ::std::string::String)> = ::std::vec::Vec::new(); }
            } else if masks
                .iter()
                .all(|f| !f.is_list() && real_oneof(f).is_none())
            {
                let pushes = masks.iter().map(|f| {
                    let ident = ident(&field_ident(f));
                    let json = f.json_name();
                    quote! {
                        if query.is_empty() {
                            if let ::core::option::Option::Some(v) = &request.#ident {
                                query.push((::std::string::ToString::to_string(#json), u::text_json(v)?));
                            }
                        }
                    }
                });
                quote! {
                    let mut query = ::std::vec::Vec::new();
                    #(#pushes)*
                }
            } else {
                let keys = masks.iter().map(|f| f.json_name());
                let encoder = ctx.helpers.encoders.of(&input);
                quote! {
                    let mut query = ::std::vec::Vec::new();
                    #encoder(request, "", &mut query)?;
                    u::keep_first(&mut query, &[#(#keys),*]);
                }
            };
            (
                query,
                quote! { ::core::option::Option::Some(self.client.encode(request)?) },
            )
        }
        name => {
            let field = input
                .get_field_by_name(name)
                .ok_or_else(|| format!("body '{name}' is not a field"))?;
            let ident = ident(&field_ident(&field));
            let Kind::Message(body_msg) = field.kind() else {
                return Err(format!("body '{name}' is not a message"));
            };
            let body_ty = ctx.ty(body_msg.full_name());
            let mut keys: Vec<String> = var_keys.clone();
            keys.push(field.json_name().to_string());
            let keys = keys.iter().map(String::as_str);
            let body = if raw_request {
                let body = raw_body(quote! { body });
                quote! { request.#ident.as_ref().map(|body| #body) }
            } else {
                quote! {
                    ::core::option::Option::Some(match &request.#ident {
                        ::core::option::Option::Some(body) => self.client.encode(body)?,
                        ::core::option::Option::None => self.client.encode(&<#body_ty as ::core::default::Default>::default())?,
                    })
                }
            };
            // The other fields go in the query, encoded here without the body field.
            let stmts = ctx.helpers.encoders.statements(&input, Some(field.name()));
            let encode = if stmts.is_empty() {
                TokenStream::new()
            } else {
                quote! {
                    {
                        let (msg, out) = (request, &mut query);
                        let key = |name: &str| -> ::std::string::String { ::std::string::ToString::to_string(name) };
                        #stmts
                    }
                }
            };
            (
                quote! {
                    let mut query = ::std::vec::Vec::new();
                    #encode
                    u::remove_keys(&mut query, &[#(#keys),*]);
                },
                body,
            )
        }
    };

    let method = match route.method.as_str() {
        "GET" | "PUT" | "POST" | "DELETE" | "PATCH" | "HEAD" | "OPTIONS" => {
            let ident = format_ident!("{}", route.method);
            quote! { ::kratos::__codegen::http::Method::#ident }
        }
        other => quote! { ::kratos::__codegen::http::method(#other)? },
    };
    let docs = ctx.comments.doc_attrs(plan.method.path());
    let (fn_ident, op) = (&plan.fn_ident, &plan.operation_const);
    let (reply_ty, call) = if plan.streaming.server() {
        (
            quote! { ::kratos::stream::BoxStream<#output_ty> },
            quote! { self.client.invoke_events::<#output_ty>(#op, #method, &url, body).await },
        )
    } else if raw_request || raw_response {
        // `send_body` takes either kind of body and reports the reply's media type.
        let body = if raw_request {
            quote! { body }
        } else {
            quote! { body.map(::kratos::__codegen::http::RequestBody::Encoded) }
        };
        let decode = if raw_response {
            quote! {
                ::core::result::Result::Ok(#output_ty {
                    content_type: reply.media_type(),
                    data: ::core::convert::Into::into(reply.body),
                    ..::core::default::Default::default()
                })
            }
        } else {
            let decode = reply_decode(ctx, route_plan, &output_ty);
            quote! {
                let (codec, bytes) = (reply.codec, reply.body);
                #decode
            }
        };
        (
            output_ty.clone(),
            quote! {
                let reply = self.client.invoke_body(#op, #method, &url, #body).await?;
                #decode
            },
        )
    } else {
        let decode = reply_decode(ctx, route_plan, &output_ty);
        (
            output_ty.clone(),
            quote! {
                let (codec, bytes) = self.client.invoke(#op, #method, &url, body).await?;
                #decode
            },
        )
    };
    Ok(quote! {
        #docs
        pub async fn #fn_ident(
            &self,
            request: &#input_ty,
        ) -> ::core::result::Result<#reply_ty, ::kratos::errors::Error> {
            use ::kratos::__codegen::http::url as u;
            let mut path = ::std::string::String::new();
            #path
            #query
            let url = u::with_query(path, query);
            let body = #body;
            #call
        }
    })
}

/// How the reply is decoded: the whole message, or the `response_body` field.
fn reply_decode(ctx: &Gen<'_, '_>, route: &RoutePlan, output_ty: &TokenStream) -> TokenStream {
    let Reply::Field(field) = &route.reply else {
        return quote! { ::kratos::__codegen::http::Client::decode::<#output_ty>(codec, &bytes) };
    };
    // A singular message is a message in every codec; any other field is its proto3 JSON
    // value, read back by the reply's own deserializer.
    if let Kind::Message(m) = field.kind()
        && !field.is_list()
        && !field.is_map()
        && real_oneof(field).is_none()
    {
        let ident = ident(&field_ident(field));
        let ty = ctx.ty(m.full_name());
        return quote! {
            ::core::result::Result::Ok(#output_ty {
                #ident: ::core::option::Option::Some(::kratos::__codegen::http::Client::decode::<#ty>(codec, &bytes)?),
                ..::core::default::Default::default()
            })
        };
    }
    let json = field.json_name();
    quote! {
        ::kratos::__codegen::http::Client::decode_field::<#output_ty>(codec, &bytes, #json)
    }
}

/// The text of a path variable (the field's value, default included) and the variable's key
/// in JSON names (to leave it out of the query).
fn var_text(
    ctx: &Gen<'_, '_>,
    input: &MessageDescriptor,
    field_path: &str,
) -> Option<(TokenStream, String)> {
    let names: Vec<&str> = field_path.split('.').collect();
    let mut fields: Vec<FieldDescriptor> = Vec::new();
    let mut message = input.clone();
    for (i, name) in names.iter().enumerate() {
        let field = message
            .get_field_by_name(name)
            .or_else(|| message.fields().find(|f| f.json_name() == *name))?;
        if real_oneof(&field).is_some() || field.is_list() || field.is_map() {
            return None;
        }
        if i + 1 < names.len() {
            let Kind::Message(inner) = field.kind() else {
                return None;
            };
            message = inner;
        }
        fields.push(field);
    }
    let json_path = fields
        .iter()
        .map(|f| f.json_name().to_string())
        .collect::<Vec<_>>()
        .join(".");
    let leaf = fields.last()?;
    let leaf_ident = ident(&field_ident(leaf));
    let closure_var = format_ident!("m{}", fields.len() - 1);
    let owner = if fields.len() == 1 {
        quote! { request }
    } else {
        quote! { #closure_var }
    };
    let text = if is_option_field(leaf) {
        let t = ctx.helpers.encoders.text(leaf, quote! { v })?;
        quote! { #owner.#leaf_ident.as_ref().map(|v| #t).unwrap_or_default() }
    } else {
        let t = ctx
            .helpers
            .encoders
            .text(leaf, quote! { &#owner.#leaf_ident })?;
        quote! { #t }
    };
    // Wrap in the intermediate messages, innermost first.
    let mut expr = text;
    for depth in (0..fields.len() - 1).rev() {
        let field_ident = ident(&field_ident(&fields[depth]));
        let owner = if depth == 0 {
            quote! { request }
        } else {
            let v = format_ident!("m{}", depth);
            quote! { #v }
        };
        let bind = format_ident!("m{}", depth + 1);
        expr = quote! { #owner.#field_ident.as_ref().map(|#bind| #expr).unwrap_or_default() };
    }
    Some((expr, json_path))
}
