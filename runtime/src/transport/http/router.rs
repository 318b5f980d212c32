//! Routing: what generated code says about a route ([`RouteSpec`]), what serves a matched
//! request ([`RouteHandler`]), and the route table: precompiled templates, matched per request
//! without regexes.

use std::sync::Arc;

use http::{Method, Request, Response};
use kratos_path_template::{Captures, Template, TemplateError};

use super::body::Body;
use crate::middleware::BoxFuture;

/// What generated code says about one route.
#[derive(Debug, Clone, Copy)]
pub struct RouteSpec {
    /// The HTTP method (`GET`, `POST`, any custom method, or `*` for every method).
    pub method: &'static str,
    /// The path template, such as `/helloworld/{name}`.
    pub path: &'static str,
    /// The operation, `/package.Service/Method`.
    pub operation: &'static str,
    /// The request type's validator, when it has validation rules.
    pub validator: Option<crate::validate::Validator>,
}

/// What the router calls for a matched request.
pub(crate) trait RouteHandler: Send + Sync + 'static {
    /// `peer`: the client's address, when the server knows it.
    fn handle(
        self: Arc<Self>,
        request: Request<super::request_body::Body>,
        vars: Vec<String>,
        peer: Option<std::net::SocketAddr>,
    ) -> BoxFuture<'static, Response<Body>>;
}

/// A route or service that cannot be registered: what registering a service on either server
/// returns (`register_<service>_http_server` and `register_<service>_grpc_server`).
#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    /// A gRPC service of the same name is already added to the server.
    #[error("gRPC service {name} is registered twice")]
    Service {
        /// The service's full name, `package.Service`.
        name: String,
    },
    /// The path template is invalid.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// The method is not a valid HTTP method.
    #[error("route {path}: invalid HTTP method '{method}'")]
    Method {
        /// The route's template.
        path: String,
        /// The method as given.
        method: String,
    },
    /// The same method and template are registered twice.
    #[error("route {method} {path} is registered twice (operations {first} and {second})")]
    Duplicate {
        /// The method.
        method: String,
        /// The template.
        path: String,
        /// The operation registered first.
        first: String,
        /// The operation registered again.
        second: String,
    },
}

/// Which methods a route answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MethodMatch {
    Any,
    Exact(Method),
}

pub(crate) struct Route {
    pub(crate) method: MethodMatch,
    pub(crate) template: Arc<Template>,
    pub(crate) operation: &'static str,
    pub(crate) handler: Arc<dyn RouteHandler>,
    /// Kratos' strict slash: a path ending in `/` (other than `/`) never takes this route,
    /// even where a trailing `**` could capture an empty last segment; the server redirects it
    /// to the path without the slash. True for the routes of `google.api.http` rules; plain
    /// handlers (`Server::handle`, such as the Swagger UI page at `/q/swagger-ui/`) take the
    /// path as it is.
    pub(crate) strict_slash: bool,
}

impl Route {
    /// The route's captures for `path`, if it takes it.
    fn matches<'p>(&self, path: &'p str) -> Option<Captures<'p>> {
        if self.strict_slash && path.len() > 1 && path.ends_with('/') {
            return None;
        }
        self.template.matches(path)
    }
}

/// The result of looking a request up.
pub(crate) enum Lookup<'r, 'p> {
    Found(&'r Route, Captures<'p>),
    MethodNotAllowed(Vec<String>),
    NotFound,
}

#[derive(Default)]
pub(crate) struct Router {
    routes: Vec<Route>,
}

impl Router {
    pub(crate) fn add(&mut self, route: Route) -> Result<(), RouteError> {
        if let Some(existing) = self
            .routes
            .iter()
            .find(|r| r.method == route.method && r.template.as_str() == route.template.as_str())
        {
            return Err(RouteError::Duplicate {
                method: method_name(&route.method),
                path: route.template.as_str().to_string(),
                first: existing.operation.to_string(),
                second: route.operation.to_string(),
            });
        }
        self.routes.push(route);
        Ok(())
    }

    pub(crate) fn parse_method(path: &str, method: &str) -> Result<MethodMatch, RouteError> {
        if method == "*" {
            return Ok(MethodMatch::Any);
        }
        Method::from_bytes(method.as_bytes())
            .map(MethodMatch::Exact)
            .map_err(|_| RouteError::Method {
                path: path.to_string(),
                method: method.to_string(),
            })
    }

    /// Finds the most specific route for `method` and `path`; among equally specific ones the
    /// first registered wins.
    pub(crate) fn lookup<'r, 'p>(&'r self, method: &Method, path: &'p str) -> Lookup<'r, 'p> {
        let mut best: Option<(&Route, Captures<'p>)> = None;
        let accepts = |route: &Route| match &route.method {
            MethodMatch::Any => true,
            MethodMatch::Exact(m) => m == method,
        };
        for route in self.routes.iter().filter(|r| accepts(r)) {
            let Some(captures) = route.matches(path) else {
                continue;
            };
            let better = best
                .as_ref()
                .is_none_or(|(b, _)| route.template.specificity() > b.template.specificity());
            if better {
                best = Some((route, captures));
            }
        }
        if let Some((route, captures)) = best {
            return Lookup::Found(route, captures);
        }
        // Only for a 405: the methods of the routes that take this path.
        let mut allowed: Vec<String> = self
            .routes
            .iter()
            .filter(|r| !accepts(r) && r.matches(path).is_some())
            .map(|r| method_name(&r.method))
            .collect();
        match allowed.is_empty() {
            false => {
                allowed.sort();
                allowed.dedup();
                Lookup::MethodNotAllowed(allowed)
            }
            true => Lookup::NotFound,
        }
    }
}

fn method_name(m: &MethodMatch) -> String {
    match m {
        MethodMatch::Any => "*".into(),
        MethodMatch::Exact(m) => m.as_str().to_string(),
    }
}

/// The path Kratos' router (gorilla/mux) redirects to: `//` collapsed, `.` and `..` resolved
/// (Go's `path.Clean`), a trailing slash kept. `None` when the path is already clean.
pub(crate) fn clean_path(path: &str) -> Option<String> {
    let unclean = path.contains("//")
        || path.contains("/./")
        || path.contains("/../")
        || path.ends_with("/.")
        || path.ends_with("/..")
        || !path.starts_with('/');
    if !unclean {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    let mut cleaned = String::with_capacity(path.len());
    for part in &parts {
        cleaned.push('/');
        cleaned.push_str(part);
    }
    if cleaned.is_empty() || path.ends_with('/') {
        cleaned.push('/');
    }
    (cleaned != path).then_some(cleaned)
}

#[cfg(test)]
mod tests {
    use super::clean_path;

    #[test]
    fn cleans_like_gorilla_mux() {
        assert_eq!(clean_path("/v1/shelves/1"), None);
        assert_eq!(
            clean_path("/v1//shelves/1").as_deref(),
            Some("/v1/shelves/1")
        );
        assert_eq!(
            clean_path("/v1/shelves/x/../2").as_deref(),
            Some("/v1/shelves/2")
        );
        assert_eq!(clean_path("/v1/./a/").as_deref(), Some("/v1/a/"));
        assert_eq!(clean_path("/v1/shelves/1/"), None);
        assert_eq!(clean_path("/../.."), Some("/".to_string()));
        assert_eq!(clean_path("/"), None);
    }
}
