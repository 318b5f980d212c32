//! The gRPC server's services by name.
//!
//! Rule: a call to `/<name>/<method>` (a non-empty method) goes to the service added under
//! `<name>` (its [`NamedService::NAME`], such as `helloworld.v1.Greeter`), which answers every
//! method of its own, unknown ones included; a call to any other path is answered
//! `UNIMPLEMENTED` in a trailers-only response, as tonic's own router answers it. One hash
//! lookup per call, and no web framework: tonic's `Routes` would bring axum's router into every
//! service's build for this one lookup.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tonic::body::Body;
use tonic::server::NamedService;
use tower::ServiceExt as _;
use tower::util::BoxCloneSyncService;

use crate::middleware::BoxFuture;

/// One added service, boxed.
type Named = BoxCloneSyncService<Request<Body>, Response<Body>, Infallible>;

/// Collects the services as they are added; [`RoutesBuilder::routes`] freezes them.
#[derive(Default)]
pub(crate) struct RoutesBuilder {
    services: HashMap<&'static str, Named>,
}

impl RoutesBuilder {
    /// Adds `service` under its name, replacing one added under the same name (the server
    /// refuses a second one before it gets here).
    pub(crate) fn add_service<S>(&mut self, service: S)
    where
        S: tower_service::Service<Request<Body>, Response = Response<Body>, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        self.services
            .insert(S::NAME, BoxCloneSyncService::new(service));
    }

    /// The services added so far, shared by every connection.
    pub(crate) fn routes(self) -> Routes {
        Routes {
            services: Arc::new(self.services),
        }
    }
}

/// The services by name, as one tower service (always ready: each call is sent to a clone of
/// the service it names, once that one is ready).
#[derive(Clone)]
pub(crate) struct Routes {
    services: Arc<HashMap<&'static str, Named>>,
}

impl Routes {
    /// The service a call to `path` goes to, if any.
    fn service(&self, path: &str) -> Option<&Named> {
        let (name, method) = path.strip_prefix('/')?.split_once('/')?;
        if method.is_empty() {
            return None;
        }
        self.services.get(name)
    }

    /// Answers `request` with the service its path names, or `UNIMPLEMENTED`.
    pub(crate) async fn answer(&self, request: Request<Body>) -> Response<Body> {
        match self.service(request.uri().path()) {
            Some(service) => match service.clone().oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            },
            None => unimplemented(),
        }
    }
}

/// A trailers-only `UNIMPLEMENTED` answer with no message.
fn unimplemented() -> Response<Body> {
    let (parts, ()) = tonic::Status::unimplemented("")
        .into_http::<()>()
        .into_parts();
    Response::from_parts(parts, Body::empty())
}

impl tower_service::Service<Request<Body>> for Routes {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let routes = self.clone();
        Box::pin(async move { Ok(routes.answer(request).await) })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    /// A service named `demo.v1.Echo` answering every call with its path in a header.
    #[derive(Clone)]
    struct Echo;

    impl NamedService for Echo {
        const NAME: &'static str = "demo.v1.Echo";
    }

    impl tower_service::Service<Request<Body>> for Echo {
        type Response = Response<Body>;
        type Error = Infallible;
        type Future = std::future::Ready<Result<Response<Body>, Infallible>>;

        fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, request: Request<Body>) -> Self::Future {
            let mut response = Response::new(Body::empty());
            response.headers_mut().insert(
                "x-path",
                request
                    .uri()
                    .path()
                    .parse()
                    .expect("a path is a header value"),
            );
            std::future::ready(Ok(response))
        }
    }

    async fn call(routes: &Routes, path: &str) -> Response<Body> {
        let request = Request::post(path).body(Body::empty()).unwrap();
        routes.answer(request).await
    }

    fn grpc_status(response: &Response<Body>) -> Option<&str> {
        response
            .headers()
            .get("grpc-status")
            .map(|v| v.to_str().unwrap())
    }

    #[tokio::test]
    async fn calls_go_to_the_service_their_path_names() {
        let mut builder = RoutesBuilder::default();
        builder.add_service(Echo);
        let routes = builder.routes();
        for path in [
            "/demo.v1.Echo/Say",
            "/demo.v1.Echo/Unknown",
            "/demo.v1.Echo/a/b",
        ] {
            let response = call(&routes, path).await;
            assert_eq!(response.headers()["x-path"], path);
            assert_eq!(grpc_status(&response), None, "{path}");
        }
    }

    #[tokio::test]
    async fn other_paths_are_unimplemented() {
        let mut builder = RoutesBuilder::default();
        builder.add_service(Echo);
        let routes = builder.routes();
        for path in [
            "/demo.v1.Other/Say",
            "/demo.v1.Echo/",
            "/demo.v1.Echo",
            "/",
            "/demo.v1/Echo/Say",
            "/Demo.v1.Echo/Say",
        ] {
            let response = call(&routes, path).await;
            assert_eq!(response.status(), 200, "{path}");
            assert_eq!(grpc_status(&response), Some("12"), "{path}");
            assert!(response.headers().get("x-path").is_none(), "{path}");
        }
        let empty = RoutesBuilder::default().routes();
        assert_eq!(
            grpc_status(&call(&empty, "/demo.v1.Echo/Say").await),
            Some("12")
        );
    }
}
