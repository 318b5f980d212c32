//! What the server does with every request, on a connection or in process: refuse a malformed
//! path, redirect an unclean one, route, and answer what no route takes (405, a strict-slash
//! 301, Kratos' 404).

use std::net::SocketAddr;

use http::{Request, Response};

use super::body::Body;
use super::request_body::Body as RequestBody;
use super::response;
use super::router::{Lookup, Router, clean_path};
use crate::codec::Codec;
use crate::errors::Error;

/// Routes `request` and answers it: what the server does with every request, on a connection
/// or in process.
pub(crate) async fn dispatch(
    router: &Router,
    request: Request<RequestBody>,
    peer: Option<SocketAddr>,
) -> Response<Body> {
    let path = request.uri().path();
    let html = matches!(*request.method(), http::Method::GET | http::Method::HEAD);
    // As Go's server, which refuses such a request line before any routing: a path with a `%`
    // that is not followed by two hexadecimal digits (`%zz`, `%+7`, `%7`) is answered 400.
    if path.contains('%')
        && let Some(bad) = kratos_path_template::percent::first_bad_escape(path)
    {
        let err = Error::new(
            400,
            crate::codec::CODEC_REASON,
            format!("invalid URL escape {bad:?}"),
        );
        return response::error(
            Codec::for_reply(request.headers()),
            &err,
            Default::default(),
        );
    }
    // Kratos' router redirects unclean paths (`//`, `.`, `..`) to their clean form.
    if let Some(clean) = clean_path(path) {
        return response::moved_permanently(&with_query(&clean, request.uri()), html);
    }
    let found = match router.lookup(request.method(), path) {
        Lookup::Found(route, captures) => Ok((route, captures.decode_values(&route.template))),
        other => Err(other),
    };
    match found {
        Ok((route, Ok(values))) => route.handler.clone().handle(request, values, peer).await,
        Ok((_, Err(e))) => {
            let err = Error::new(400, crate::codec::CODEC_REASON, e.to_string());
            response::error(
                Codec::for_reply(request.headers()),
                &err,
                Default::default(),
            )
        }
        Err(lookup) => not_routed(router, &request, lookup),
    }
}

/// The answer for a request no route takes: 405, a strict-slash 301, or Kratos' 404.
fn not_routed(
    router: &Router,
    request: &Request<RequestBody>,
    lookup: Lookup<'_, '_>,
) -> Response<Body> {
    let path = request.uri().path();
    let html = matches!(*request.method(), http::Method::GET | http::Method::HEAD);
    match lookup {
        Lookup::Found(..) => response::not_found(),
        Lookup::MethodNotAllowed(allowed) => response::method_not_allowed(
            Codec::for_reply(request.headers()),
            request.method().as_str(),
            &allowed,
        ),
        Lookup::NotFound => {
            // Strict slash: `/x/` redirects to `/x` when that is a route.
            if let Some(trimmed) = path.strip_suffix('/').filter(|p| !p.is_empty())
                && !matches!(router.lookup(request.method(), trimmed), Lookup::NotFound)
            {
                return response::moved_permanently(&with_query(trimmed, request.uri()), html);
            }
            response::not_found()
        }
    }
}

fn with_query(path: &str, uri: &http::Uri) -> String {
    match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    }
}
