//! Every binding of the fixture, over a real HTTP server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use kratos::transport::Server as _;
use serde_json::{Value, json};

async fn server() -> (kratos::http::Server, SocketAddr) {
    let mut server = kratos::http::Server::builder()
        .address("127.0.0.1:0")
        .build();
    http_bindings::kratos_pb::test::v1::register_bindings_http_server(
        &mut server,
        Arc::new(http_bindings::Echo),
    )
    .unwrap();
    let addr = server.start().await.unwrap();
    (server, addr)
}

/// A started gRPC server of the echo service, with `middleware` on every method.
async fn grpc_server(
    middleware: Vec<kratos::middleware::Middleware>,
) -> (kratos::grpc::Server, SocketAddr) {
    let mut builder = kratos::grpc::Server::builder().address("127.0.0.1:0");
    for m in middleware {
        builder = builder.middleware(m);
    }
    let mut grpc = builder.build();
    http_bindings::kratos_pb::test::v1::register_bindings_grpc_server(
        &mut grpc,
        Arc::new(http_bindings::Echo),
    )
    .unwrap();
    let addr = grpc.start().await.unwrap();
    (grpc, addr)
}

/// A middleware that shows `see` each call's context before passing the call on.
fn observe(
    see: impl Fn(&kratos::Context) + Send + Sync + 'static,
) -> kratos::middleware::Middleware {
    let see = Arc::new(see);
    kratos::middleware::Middleware::new(move |next: kratos::middleware::Handler| {
        let see = see.clone();
        kratos::middleware::Handler::new(move |ctx: kratos::Context, request| {
            see(&ctx);
            let next = next.clone();
            async move { next.call(ctx, request).await }
        })
    })
}

async fn call(addr: SocketAddr, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut request = http::Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"));
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    let response = client
        .request(
            request
                .body(Full::new(Bytes::from(body.unwrap_or("").to_string())))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    // Kratos answers unknown routes in plain text; everything else here is JSON.
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[test]
fn the_build_integration_writes_the_golden_file() {
    let built = std::fs::read_to_string(http_bindings::GENERATED_HTTP).unwrap();
    let golden = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/http/bindings/expected/kratos.test.v1.kratos_http.rs"
    ))
    .unwrap();
    assert!(
        built == golden,
        "kratos::build output differs from the protoc golden"
    );
}

#[tokio::test]
async fn nested_and_multi_segment_variables() {
    let (mut s, addr) = server().await;
    let (status, body) = call(addr, "GET", "/v1/shelves/s1/books/b%2F2", None).await;
    assert_eq!(status, 200);
    // The multi-segment variable is decoded fully, %2F included, as Kratos does.
    assert_eq!(body["name"], "shelves/s1/books/b/2");
    assert_eq!(call(addr, "GET", "/v1/shelves/s1/books", None).await.0, 404);
    // The additional binding binds shelf and id separately.
    let (status, body) = call(addr, "GET", "/v2/shelves/s1/books/42", None).await;
    assert_eq!(status, 200);
    assert_eq!(
        (body["shelf"].clone(), body["id"].clone()),
        (json!("s1"), json!("42"))
    );
    s.stop().await.unwrap();
}

#[tokio::test]
async fn scalar_variables_custom_verb_and_body() {
    let (mut s, addr) = server().await;
    let (status, body) = call(
        addr,
        "POST",
        "/v1/scalars/-7/-9000000000/7/18000000000000000000/1.5/-2.25/true/KIND_POETRY/x%20y:check",
        Some(r#"{"note":"from body","i32":99}"#),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({
            "i32": -7, "i64": "-9000000000", "u32": 7, "u64": "18000000000000000000",
            "f": 1.5, "d": -2.25, "b": true, "kind": "KIND_POETRY", "opt": "x y",
            "note": "from body"
        })
    );
    // Enums also by number; bools in Go's spellings.
    let (_, body) = call(
        addr,
        "POST",
        "/v1/scalars/1/2/3/4/5/6/T/1/o:check",
        Some("{}"),
    )
    .await;
    assert_eq!(
        (body["kind"].clone(), body["b"].clone()),
        (json!("KIND_FICTION"), json!(true))
    );
    // Without the verb the route does not match.
    let (status, _) = call(addr, "POST", "/v1/scalars/1/2/3/4/5/6/true/1/o", Some("{}")).await;
    assert_eq!(status, 404);
    s.stop().await.unwrap();
}

#[tokio::test]
async fn bad_variables_are_400_codec_naming_the_field() {
    let (mut s, addr) = server().await;
    for (path, field) in [
        ("/v1/scalars/x/2/3/4/5/6/true/1/o:check", "i32"),
        ("/v1/scalars/1/2/-3/4/5/6/true/1/o:check", "u32"),
        ("/v1/scalars/1/2/3/4/5/6/yes/1/o:check", "b"),
        ("/v1/scalars/1/2/3/4/5/6/true/KIND_NOPE/o:check", "kind"),
        ("/v1/scalars/99999999999/2/3/4/5/6/true/1/o:check", "i32"),
    ] {
        let (status, body) = call(addr, "POST", path, Some("{}")).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(body["reason"], "CODEC", "{path}");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains(&format!("\"{field}\"")),
            "{path}: {body}"
        );
    }
    s.stop().await.unwrap();
}

#[tokio::test]
async fn named_body_keyword_field_custom_method_oneof_and_repeated() {
    let (mut s, addr) = server().await;
    let (status, body) = call(
        addr,
        "PATCH",
        "/v1/books/draft",
        Some(r#"{"title":"Dune"}"#),
    )
    .await;
    assert_eq!(
        (status, body["title"].clone()),
        (200, json!("Dune (draft)"))
    );
    let (status, body) = call(addr, "SEARCH", "/v1/search/rust%20books", None).await;
    assert_eq!((status, body["query"].clone()), (200, json!("rust books")));
    let (status, body) = call(addr, "GET", "/v1/tags/a", None).await;
    assert_eq!((status, body["tags"].clone()), (200, json!(["a"])));
    // omitempty=false: a method without a rule has a POST route under the prefix.
    let (status, body) = call(addr, "POST", "/api/kratos.test.v1.Bindings/Ping", None).await;
    assert_eq!((status, body), (200, json!({"size": 0, "token": ""})));
    s.stop().await.unwrap();
}

#[tokio::test]
async fn query_parameters_bind_with_kratos_rules() {
    let (mut s, addr) = server().await;
    // Proto and JSON names, every scalar kind, enums by name, optional fields.
    let (status, body) = call(
        addr,
        "POST",
        "/v1/scalars/1/2/3/4/5/6/true/1/o:check?note=hello+world&kind=KIND_POETRY",
        Some("{}"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // Path variables are bound after the query, so they win.
    assert_eq!(
        (body["note"].clone(), body["kind"].clone()),
        (json!("hello world"), json!("KIND_FICTION"))
    );
    // Query values override the body; repeated keys append.
    let (status, body) = call(addr, "GET", "/v1/tags/a?tags=b&tags=c", None).await;
    assert_eq!(
        (status, body["tags"].clone()),
        (200, json!(["b", "c", "a"]))
    );
    // Nested fields through dotted keys.
    let (status, body) = call(
        addr,
        "PATCH",
        "/v1/books/t?book.title=Q&page.size=3",
        Some(""),
    )
    .await;
    assert_eq!((status, body["title"].clone()), (200, json!("Q (t)")));
    // Unknown keys are ignored.
    let (status, _) = call(addr, "GET", "/v1/tags/a?zzz=1&book.zzz=2", None).await;
    assert_eq!(status, 200);
    s.stop().await.unwrap();
}

#[tokio::test]
async fn query_errors_are_400_codec() {
    let (mut s, addr) = server().await;
    for (path, needle) in [
        ("/v2/shelves/s/books/1?book.id=x", "parsing field \"id\""),
        (
            "/v1/search/q?id=3",
            "field already set for oneof \"target\"",
        ),
        ("/v1/shelves/s1/books/b1?book=x", "unsupported message type"),
    ] {
        let method = if path.starts_with("/v1/search") {
            "SEARCH"
        } else {
            "GET"
        };
        let (status, body) = call(addr, method, path, None).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(body["reason"], "CODEC", "{path}");
        assert!(
            body["message"].as_str().unwrap().contains(needle),
            "{path}: {body}"
        );
    }
    s.stop().await.unwrap();
}

#[tokio::test]
async fn form_bodies_bind_like_query_strings() {
    let (mut s, addr) = server().await;
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let response = client
        .request(
            http::Request::post(format!(
                "http://{addr}/v1/scalars/1/2/3/4/5/6/true/1/o:check"
            ))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Full::new(Bytes::from("note=from+form&opt=ignored")))
            .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value =
        serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(
        (body["note"].clone(), body["opt"].clone()),
        (json!("from form"), json!("o"))
    );
    s.stop().await.unwrap();
}

/// A request for book 1 of `shelf`.
fn book_request(shelf: &str) -> http_bindings::kratos_pb::test::v1::GetBookRequest {
    use http_bindings::kratos_pb::test::v1::{Book, GetBookRequest};
    GetBookRequest {
        book: Some(Book {
            shelf: shelf.into(),
            id: 1,
            ..Default::default()
        }),
    }
}

async fn raw(addr: SocketAddr, path: &str) -> (u16, String, String) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let response = client
        .request(
            http::Request::get(format!("http://{addr}{path}"))
                .body(Full::new(Bytes::new()))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        content_type,
        String::from_utf8(body.to_vec()).unwrap(),
    )
}

#[tokio::test]
async fn server_streams_are_server_sent_events() {
    let (mut s, addr) = server().await;
    let (status, content_type, body) = raw(addr, "/v1/watch/s1").await;
    assert_eq!((status, content_type.as_str()), (200, "text/event-stream"));
    let events: Vec<&str> = body.split("\n\n").filter(|e| !e.is_empty()).collect();
    assert_eq!(events.len(), 3, "{body}");
    for (i, event) in events.iter().enumerate() {
        let json = event.strip_prefix("data: ").unwrap();
        let book: Value = serde_json::from_str(json).unwrap();
        assert_eq!(book["name"], format!("shelves/s1/books/{}", i + 1));
    }
    // An error mid-stream is the last event, in Kratos' error body.
    let (_, _, body) = raw(addr, "/v1/watch/broken").await;
    let last = body.split("\n\n").filter(|e| !e.is_empty()).last().unwrap();
    let error = last.strip_prefix("event: error\ndata: ").unwrap();
    let error: Value = serde_json::from_str(error).unwrap();
    assert_eq!(
        (error["code"].clone(), error["reason"].clone()),
        (json!(500), json!("BROKEN"))
    );
    // An error before streaming is an ordinary error reply.
    let (status, content_type, body) = raw(addr, "/v1/watch/missing").await;
    assert_eq!((status, content_type.as_str()), (404, "application/json"));
    assert!(body.contains("SHELF_NOT_FOUND"), "{body}");
    s.stop().await.unwrap();
}

#[tokio::test]
async fn the_typed_client_reads_a_server_stream() {
    use http_bindings::kratos_pb::test::v1::{BindingsHttpClient, Book};
    use tokio_stream::StreamExt as _;

    let (mut s, addr) = server().await;
    // The timeout bounds the wait for the reply to start, not the whole stream: the slow
    // shelf takes 1.2 s to send its three books.
    let client = BindingsHttpClient::new(
        kratos::http::Client::builder(addr.to_string())
            .timeout(std::time::Duration::from_secs(1))
            .build()
            .unwrap(),
    );
    let names = |shelf: &str| {
        (1..=3)
            .map(|i| format!("shelves/{shelf}/books/{i}"))
            .collect::<Vec<_>>()
    };
    for shelf in ["s1", "slow"] {
        let stream = client.watch_books(&book_request(shelf)).await.unwrap();
        let got: Vec<String> = stream.map(|book| book.unwrap().name).collect().await;
        assert_eq!(got, names(shelf));
    }

    // A mid-stream error event is the stream's last item, with its code and reason.
    let outcome: Vec<Result<Book, kratos::errors::Error>> = client
        .watch_books(&book_request("broken"))
        .await
        .unwrap()
        .collect()
        .await;
    assert_eq!(outcome.len(), 4);
    let err = outcome.last().unwrap().as_ref().unwrap_err();
    assert_eq!((err.code(), err.reason()), (500, "BROKEN"));
    assert_eq!(err.message(), "shelf collapsed");

    // An error before the stream starts is the call's error.
    let err = client
        .watch_books(&book_request("missing"))
        .await
        .err()
        .unwrap();
    assert_eq!((err.code(), err.reason()), (404, "SHELF_NOT_FOUND"));
    s.stop().await.unwrap();
}

#[tokio::test]
async fn the_same_server_stream_over_grpc() {
    use http_bindings::kratos_pb::test::v1::bindings_client::BindingsClient;
    use kratos::transport::Server as _;
    use tokio_stream::StreamExt as _;

    let (mut grpc, addr) = grpc_server(Vec::new()).await;
    let mut client = BindingsClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    let mut stream = client
        .watch_books(book_request("g"))
        .await
        .unwrap()
        .into_inner();
    let mut names = Vec::new();
    while let Some(book) = stream.next().await {
        names.push(book.unwrap().name);
    }
    assert_eq!(
        names,
        [
            "shelves/g/books/1",
            "shelves/g/books/2",
            "shelves/g/books/3"
        ]
    );
    // The mid-stream error ends the call with its status.
    let mut stream = client
        .watch_books(book_request("broken"))
        .await
        .unwrap()
        .into_inner();
    let mut outcome = Vec::new();
    while let Some(item) = stream.next().await {
        outcome.push(
            item.map(|b| b.name)
                .map_err(|s| kratos::errors::Error::from(s).reason().to_string()),
        );
    }
    assert_eq!(outcome.last().unwrap().clone().unwrap_err(), "BROKEN");
    grpc.stop().await.unwrap();
}

#[tokio::test]
async fn client_and_bidirectional_streams_over_grpc_through_the_middleware_chain() {
    use http_bindings::kratos_pb::test::v1::Book;
    use http_bindings::kratos_pb::test::v1::bindings_client::BindingsClient;
    use std::sync::Mutex;
    use tokio_stream::StreamExt as _;

    // A middleware that records the operations it sees: it runs once per streaming call.
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let record = {
        let seen = seen.clone();
        observe(move |ctx| seen.lock().unwrap().push(ctx.operation().to_string()))
    };
    let (mut grpc, addr) = grpc_server(vec![record]).await;
    let mut client = BindingsClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    let books = |n: usize| {
        (1..=n)
            .map(|i| Book {
                name: format!("b{i}"),
                ..Default::default()
            })
            .collect::<Vec<_>>()
    };

    let page = client
        .shelve_books(tokio_stream::iter(books(5)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.size, 5);

    let echoed: Vec<String> = client
        .echo_books(tokio_stream::iter(books(3)))
        .await
        .unwrap()
        .into_inner()
        .map(|b| b.unwrap().name)
        .collect()
        .await;
    assert_eq!(echoed, ["b1", "b2", "b3"]);
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "/kratos.test.v1.Bindings/ShelveBooks",
            "/kratos.test.v1.Bindings/EchoBooks"
        ]
    );
    grpc.stop().await.unwrap();
}

async fn file_server() -> (kratos::http::Server, SocketAddr) {
    let mut server = kratos::http::Server::builder()
        .address("127.0.0.1:0")
        .build();
    http_bindings::kratos_pb::test::v1::register_files_http_server(
        &mut server,
        Arc::new(http_bindings::FileStore::default()),
    )
    .unwrap();
    let addr = server.start().await.unwrap();
    (server, addr)
}

/// Sends one request with raw headers and body; returns status, Content-Type and body.
async fn exchange(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String, Bytes) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut request = http::Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = client
        .request(
            request
                .body(Full::new(Bytes::copy_from_slice(body)))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (
        status,
        content_type,
        response.into_body().collect().await.unwrap().to_bytes(),
    )
}

#[tokio::test]
async fn http_body_requests_and_replies_are_raw() {
    let (mut s, addr) = file_server().await;
    // Bytes that are no codec's: a PNG header and invalid UTF-8. The media type is not one of
    // the codecs' either, and that is no error.
    let png: &[u8] = b"\x89PNG\r\n\x1a\n\xff\x00\xfe";
    let (status, content_type, body) = exchange(
        addr,
        "PUT",
        "/v1/files/logo.png",
        &[("content-type", "image/png")],
        png,
    )
    .await;
    assert_eq!((status, content_type.as_str()), (200, "application/json"));
    let reply: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        reply,
        json!({"name": "logo.png", "contentType": "image/png", "size": "11"})
    );

    // The query binds the other fields of a request whose named body is an HttpBody.
    let (status, _, body) = exchange(
        addr,
        "PUT",
        "/v1/files/logo.png",
        &[("content-type", "image/png")],
        b"second",
    )
    .await;
    assert_eq!(status, 409, "{}", String::from_utf8_lossy(&body));
    let (status, _, _) = exchange(
        addr,
        "PUT",
        "/v1/files/logo.png?overwrite=true",
        &[("content-type", "image/png")],
        png,
    )
    .await;
    assert_eq!(status, 200);

    // The reply is the data with its own media type, whatever the client accepts.
    for accept in ["application/json", "application/xml", "*/*"] {
        let (status, content_type, body) = exchange(
            addr,
            "GET",
            "/v1/files/logo.png",
            &[("accept", accept)],
            b"",
        )
        .await;
        assert_eq!((status, content_type.as_str()), (200, "image/png"));
        assert_eq!(&body[..], png);
    }
    // Errors are still Kratos error bodies in the accepted codec.
    let (status, content_type, body) = exchange(addr, "GET", "/v1/files/none", &[], b"").await;
    assert_eq!((status, content_type.as_str()), (404, "application/json"));
    let error: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(error["reason"], "FILE_NOT_FOUND");
    // No body and no Content-Type: the named HttpBody field stays unset.
    let (status, _, body) = exchange(addr, "PUT", "/v1/files/empty", &[], b"").await;
    assert_eq!(status, 400);
    assert!(String::from_utf8_lossy(&body).contains("NO_FILE"));

    // A whole HttpBody request; an empty media type is answered as application/octet-stream.
    let (status, content_type, body) = exchange(
        addr,
        "POST",
        "/v1/reverse",
        &[("content-type", "text/plain; charset=utf-8")],
        b"stressed",
    )
    .await;
    assert_eq!(
        (status, content_type.as_str(), &body[..]),
        (200, "text/plain; charset=utf-8", &b"desserts"[..])
    );
    let (status, content_type, body) =
        exchange(addr, "POST", "/v1/reverse", &[], b"\x01\x02\x03").await;
    assert_eq!(
        (status, content_type.as_str(), &body[..]),
        (200, "application/octet-stream", &b"\x03\x02\x01"[..])
    );
    s.stop().await.unwrap();
}

#[tokio::test]
async fn the_typed_client_sends_and_receives_http_bodies() {
    use http_bindings::kratos_pb::test::v1::{
        DownloadRequest, FilesHttpClient, UploadReply, UploadRequest,
    };
    use kratos::types::HttpBody;

    let (mut s, addr) = file_server().await;
    let client = FilesHttpClient::new(
        kratos::http::Client::builder(addr.to_string())
            .build()
            .unwrap(),
    );
    let file = HttpBody {
        content_type: "application/pdf".into(),
        data: b"%PDF-1.7\n\xe2\xe3\xcf\xd3".to_vec(),
        extensions: Vec::new(),
    };
    let reply = client
        .upload(&UploadRequest {
            name: "doc".into(),
            file: Some(file.clone()),
            overwrite: false,
        })
        .await
        .unwrap();
    assert_eq!(
        reply,
        UploadReply {
            name: "doc".into(),
            content_type: "application/pdf".into(),
            size: 13,
        }
    );
    let again = client
        .upload(&UploadRequest {
            name: "doc".into(),
            file: Some(file.clone()),
            overwrite: false,
        })
        .await
        .unwrap_err();
    assert_eq!((again.code(), again.reason()), (409, "FILE_EXISTS"));
    let got = client
        .download(&DownloadRequest { name: "doc".into() })
        .await
        .unwrap();
    assert_eq!(got, file);
    let missing = client
        .download(&DownloadRequest {
            name: "nope".into(),
        })
        .await
        .unwrap_err();
    assert_eq!((missing.code(), missing.reason()), (404, "FILE_NOT_FOUND"));

    let reversed = client
        .reverse(&HttpBody {
            content_type: String::new(),
            data: vec![1, 2, 3],
            extensions: Vec::new(),
        })
        .await
        .unwrap();
    assert_eq!(reversed.content_type, "application/octet-stream");
    assert_eq!(reversed.data, [3, 2, 1]);
    s.stop().await.unwrap();
}

#[tokio::test]
async fn the_timeout_middleware_bounds_calls_on_both_transports() {
    use http_bindings::kratos_pb::test::v1::bindings_client::BindingsClient;

    let limit = std::time::Duration::from_millis(300);
    let mut http = kratos::http::Server::builder()
        .address("127.0.0.1:0")
        .middleware(kratos::middleware::timeout(limit))
        .build();
    http_bindings::kratos_pb::test::v1::register_bindings_http_server(
        &mut http,
        Arc::new(http_bindings::Echo),
    )
    .unwrap();
    let (mut grpc, grpc_addr) = grpc_server(vec![kratos::middleware::timeout(limit)]).await;
    let http_addr = http.start().await.unwrap();

    let (status, body) = call(http_addr, "GET", "/v2/shelves/fast/books/1", None).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = call(http_addr, "GET", "/v2/shelves/slow/books/1", None).await;
    assert_eq!(status, 504, "{body}");
    assert_eq!(
        (body["code"].clone(), body["reason"].clone()),
        (json!(504), json!("TIMEOUT"))
    );

    let mut client = BindingsClient::connect(format!("http://{grpc_addr}"))
        .await
        .unwrap();
    assert!(client.get_book(book_request("fast")).await.is_ok());
    let status = client.get_book(book_request("slow")).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::DeadlineExceeded);
    let err = kratos::errors::Error::from(status);
    assert_eq!((err.code(), err.reason()), (504, "TIMEOUT"));

    http.stop().await.unwrap();
    grpc.stop().await.unwrap();
}

#[tokio::test]
async fn a_grpc_channel_balances_over_the_instances_in_the_registry() {
    use http_bindings::kratos_pb::test::v1::bindings_client::BindingsClient;
    use kratos::registry::memory::MemoryRegistry;
    use kratos::registry::{Registrar as _, ServiceInstance};
    use std::sync::atomic::{AtomicUsize, Ordering};

    // Two gRPC servers, each counting the calls it serves, registered as one service.
    let registry = MemoryRegistry::new();
    let mut servers = Vec::new();
    let mut counters = Vec::new();
    let mut instances = Vec::new();
    for id in ["one", "two"] {
        let calls = Arc::new(AtomicUsize::new(0));
        let count = {
            let calls = calls.clone();
            observe(move |_| {
                calls.fetch_add(1, Ordering::SeqCst);
            })
        };
        let (grpc, addr) = grpc_server(vec![count]).await;
        let instance = ServiceInstance::new(id, "bindings").with_endpoint(format!("grpc://{addr}"));
        registry.register(&instance).await.unwrap();
        servers.push(grpc);
        counters.push(calls);
        instances.push(instance);
    }
    let channel = kratos::grpc::ChannelBuilder::new("discovery:///bindings")
        .discovery(Arc::new(registry.clone()))
        .connect()
        .await
        .unwrap();
    let mut client = BindingsClient::new(channel);

    // The calls reach both instances (the balancer picks by load, so the split varies).
    for _ in 0..40 {
        client.get_book(book_request("s")).await.unwrap();
        if counters.iter().all(|c| c.load(Ordering::SeqCst) > 0) {
            break;
        }
    }
    assert!(
        counters.iter().all(|c| c.load(Ordering::SeqCst) > 0),
        "both instances serve calls"
    );

    // Deregistered, an instance gets no more calls.
    registry.deregister(&instances[1]).await.unwrap();
    let mut settled = false;
    for _ in 0..500 {
        let before = counters[1].load(Ordering::SeqCst);
        for _ in 0..5 {
            client.get_book(book_request("s")).await.unwrap();
        }
        if counters[1].load(Ordering::SeqCst) == before {
            settled = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(settled, "the deregistered instance still gets calls");
    let before = counters[1].load(Ordering::SeqCst);
    for _ in 0..20 {
        client.get_book(book_request("s")).await.unwrap();
    }
    assert_eq!(counters[1].load(Ordering::SeqCst), before);

    drop(client);
    for mut grpc in servers {
        grpc.stop().await.unwrap();
    }
    // The resolver stops with the channel.
    for _ in 0..500 {
        if registry.open_watchers() == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the channel's resolver still watches the registry");
}
