//! Tower layers around the HTTP server: they see every request, may change the response body
//! type, and their errors are answered with Kratos error bodies.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use kratos::http::layers::{BoxError, LayerBody};
use kratos::transport::Server as _;

async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, http::HeaderMap, String) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let response = client
        .request(
            Request::get(format!("http://{addr}{path}"))
                .body(Full::default())
                .unwrap(),
        )
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    (
        parts.status.as_u16(),
        parts.headers,
        String::from_utf8(body.to_vec()).unwrap(),
    )
}

fn routes(builder: kratos::http::ServerBuilder) -> kratos::http::Server {
    let mut server = builder.address("127.0.0.1:0").build();
    server
        .handle("GET", "/fast", |_, _| async {
            Response::new(Bytes::from("fast"))
        })
        .unwrap();
    server
        .handle("GET", "/slow", |_, _| async {
            tokio::time::sleep(Duration::from_millis(500)).await;
            Response::new(Bytes::from("late"))
        })
        .unwrap();
    server
}

#[tokio::test]
async fn layers_wrap_every_request_and_may_change_the_body() {
    let mut server = routes(
        kratos::http::Server::builder()
            .layer(tower::util::MapResponseLayer::new(
                |mut r: Response<LayerBody>| {
                    r.headers_mut().insert("x-layer", "inner".parse().unwrap());
                    r
                },
            ))
            .layer(tower::util::MapResponseLayer::new(
                |r: Response<LayerBody>| {
                    let (parts, _) = r.into_parts();
                    Response::from_parts(parts, Full::new(Bytes::from("replaced")))
                },
            )),
    );
    let addr = server.start().await.unwrap();
    let (status, headers, body) = get(addr, "/fast").await;
    assert_eq!((status, body.as_str()), (200, "replaced"));
    assert_eq!(headers["x-layer"], "inner");
    // Unknown routes go through the layers too.
    let (status, headers, _) = get(addr, "/nope").await;
    assert_eq!(
        (status, headers["x-layer"].to_str().unwrap()),
        (404, "inner")
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn layer_errors_are_kratos_errors() {
    let mut server = routes(kratos::http::Server::builder().layer(
        tower::timeout::TimeoutLayer::new(Duration::from_millis(100)),
    ));
    let addr = server.start().await.unwrap();
    assert_eq!(get(addr, "/fast").await.0, 200);
    let (status, _, body) = get(addr, "/slow").await;
    assert_eq!(status, 504);
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["reason"], "TIMEOUT");
    server.stop().await.unwrap();

    let failing = tower::layer::layer_fn(|_inner| {
        tower::service_fn(|_req: Request<kratos::http::layers::Body>| async {
            Err::<Response<Full<Bytes>>, BoxError>("refused by the layer".into())
        })
    });
    let mut server = routes(kratos::http::Server::builder().layer(failing));
    let addr = server.start().await.unwrap();
    let (status, _, body) = get(addr, "/fast").await;
    assert_eq!(status, 500);
    assert!(body.contains("refused by the layer"), "{body}");
    server.stop().await.unwrap();
}

/// A layer that records `name` when a request passes it, and tags the response on its way
/// back out with `name` appended to `x-order`.
fn recording(
    log: std::sync::Arc<std::sync::Mutex<Vec<&'static str>>>,
    name: &'static str,
) -> impl tower::Layer<
    kratos::http::layers::HttpService,
    Service = impl tower::Service<
        Request<kratos::http::layers::Body>,
        Response = Response<LayerBody>,
        Error = BoxError,
        Future = impl Send,
    > + Clone
              + Send
              + Sync,
> + Send
+ Sync
+ 'static {
    tower::ServiceBuilder::new()
        .map_request(move |r: Request<kratos::http::layers::Body>| {
            log.lock().unwrap().push(name);
            r
        })
        .map_response(move |mut r: Response<LayerBody>| {
            let seen = r
                .headers()
                .get("x-order")
                .map(|v| format!("{},{name}", v.to_str().unwrap()))
                .unwrap_or_else(|| name.to_string());
            r.headers_mut().insert("x-order", seen.parse().unwrap());
            r
        })
}

#[tokio::test]
async fn the_last_layer_added_runs_first() {
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut server = routes(
        kratos::http::Server::builder()
            .layer(recording(log.clone(), "first"))
            .layer(recording(log.clone(), "second"))
            .layer(recording(log.clone(), "third")),
    );
    let addr = server.start().await.unwrap();
    let (status, headers, _) = get(addr, "/fast").await;
    assert_eq!(status, 200);
    // Requests: last added first. Responses: first added first (innermost).
    assert_eq!(*log.lock().unwrap(), ["third", "second", "first"]);
    assert_eq!(headers["x-order"], "first,second,third");
    server.stop().await.unwrap();
}

/// Sends `request` in process and over a socket to two servers built alike, and returns both
/// answers as (status, content type, body).
async fn both_ways(
    build: impl Fn() -> kratos::http::Server,
    method: &str,
    path: &str,
    body: &'static str,
) -> [(u16, Option<String>, String); 2] {
    use tower::ServiceExt as _;
    let request = || {
        Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from_static(body.as_bytes())))
            .unwrap()
    };
    let read = |response: Response<LayerBody>| async move {
        let (parts, body) = response.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        (
            parts.status.as_u16(),
            parts
                .headers
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_string()),
            String::from_utf8(body.to_vec()).unwrap(),
        )
    };
    let in_process = build().into_service().oneshot(request()).await.unwrap();
    let in_process = read(in_process).await;

    let mut server = build();
    let addr = server.start().await.unwrap();
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut over_socket = request();
    *over_socket.uri_mut() = format!("http://{addr}{path}").parse().unwrap();
    let response = client.request(over_socket).await.unwrap();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    server.stop().await.unwrap();
    let over_socket = (
        parts.status.as_u16(),
        parts
            .headers
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string()),
        String::from_utf8(body.to_vec()).unwrap(),
    );
    [in_process, over_socket]
}

#[tokio::test]
async fn in_process_requests_are_answered_as_over_the_socket() {
    let build = || {
        routes(
            kratos::http::Server::builder()
                .layer(tower::timeout::TimeoutLayer::new(Duration::from_millis(
                    100,
                )))
                .layer(tower::util::MapResponseLayer::new(
                    |mut r: Response<LayerBody>| {
                        r.headers_mut()
                            .insert("content-type", "text/plain".parse().unwrap());
                        r
                    },
                )),
        )
    };
    // A route, an unknown path (Kratos' 404), a method not allowed, an unclean path's
    // redirect, a bad escape (400), and a layer's timeout (504 Kratos error body).
    for (method, path, want) in [
        ("GET", "/fast", 200),
        ("GET", "/nope", 404),
        ("POST", "/fast", 405),
        ("GET", "//fast", 301),
        ("GET", "/f%zzast", 400),
        ("GET", "/slow", 504),
    ] {
        let [in_process, over_socket] = both_ways(build, method, path, "").await;
        assert_eq!(in_process.0, want, "{method} {path}: {in_process:?}");
        assert_eq!(in_process, over_socket, "{method} {path}");
    }
    // Without layers too.
    let build = || routes(kratos::http::Server::builder());
    for (method, path, want) in [("GET", "/fast", 200), ("GET", "/nope", 404)] {
        let [in_process, over_socket] = both_ways(build, method, path, "").await;
        assert_eq!(in_process.0, want, "{method} {path}");
        assert_eq!(in_process, over_socket, "{method} {path}");
    }
}

#[tokio::test]
async fn an_in_process_body_is_read_with_the_servers_limits() {
    use tower::ServiceExt as _;
    let mut server = kratos::http::Server::builder().max_body_bytes(8).build();
    server
        .handle("POST", "/echo", |request: Request<Bytes>, _| async move {
            Response::new(request.into_body())
        })
        .unwrap();
    let service = server.into_service();
    let post = |body: &'static str| {
        Request::post("/echo")
            .body(Full::new(Bytes::from_static(body.as_bytes())))
            .unwrap()
    };
    let response = service.clone().oneshot(post("12345678")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.into_body().collect().await.unwrap().to_bytes(),
        "12345678"
    );
    let response = service.oneshot(post("123456789")).await.unwrap();
    assert_eq!(response.status(), 413);
}

/// Every request a handler sees carries the client's address, with tower layers (which see it
/// too, as each connection's requests carry it through the shared stack) and without; a
/// request given to the server in process has one only if the caller puts it there.
#[tokio::test]
async fn handlers_and_layers_see_the_peer_address() {
    use kratos::http::PeerAddr;
    fn peer_route(builder: kratos::http::ServerBuilder) -> kratos::http::Server {
        let mut server = builder.address("127.0.0.1:0").build();
        server
            .handle("GET", "/peer", |req, _| async move {
                let peer = req.extensions().get::<PeerAddr>().map(|p| p.0.to_string());
                let mut body = peer.unwrap_or_else(|| "none".into());
                // What the layer saw, when there is one.
                if let Some(seen) = req.headers().get("x-peer") {
                    body = format!("{body} {}", seen.to_str().unwrap());
                }
                Response::new(Bytes::from(body))
            })
            .unwrap();
        server
    }
    // A layer that copies the peer it sees into a response header.
    let seen_by_layer = tower::util::MapRequestLayer::new(|mut r: Request<_>| {
        let peer = http::Extensions::get::<PeerAddr>(r.extensions()).map(|p| p.0.to_string());
        let value = peer.unwrap_or_else(|| "none".into());
        r.headers_mut().insert("x-peer", value.parse().unwrap());
        r
    });
    let mut plain = peer_route(kratos::http::Server::builder());
    let mut layered = peer_route(kratos::http::Server::builder().layer(seen_by_layer));
    for (server, has_layer) in [(&mut plain, false), (&mut layered, true)] {
        let addr = server.start().await.unwrap();
        let (status, _, body) = get(addr, "/peer").await;
        assert_eq!(status, 200);
        let (handler, layer) = match body.split_once(' ') {
            Some((handler, layer)) => (handler, Some(layer)),
            None => (body.as_str(), None),
        };
        assert_eq!(layer.is_some(), has_layer, "{body}");
        if let Some(layer) = layer {
            assert_eq!(
                layer, handler,
                "the layer and the handler see the same peer"
            );
        }
        let peer: std::net::SocketAddr = handler.parse().unwrap_or_else(|_| panic!("{body}"));
        assert!(peer.ip().is_loopback() && peer.port() != 0, "{peer}");
        assert_ne!(peer, addr);
        server.stop().await.unwrap();
    }
    // In process: none, unless the caller sets it.
    let service = peer_route(kratos::http::Server::builder()).into_service();
    let mut request = Request::get("/peer")
        .body(Full::<Bytes>::default())
        .unwrap();
    let body = |r: Response<LayerBody>| async move {
        String::from_utf8(r.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
    };
    let none = tower::ServiceExt::oneshot(service.clone(), request.clone())
        .await
        .unwrap();
    assert_eq!(body(none).await, "none");
    let given: std::net::SocketAddr = "10.1.2.3:4567".parse().unwrap();
    request.extensions_mut().insert(PeerAddr(given));
    let some = tower::ServiceExt::oneshot(service, request).await.unwrap();
    assert_eq!(body(some).await, "10.1.2.3:4567");
}
