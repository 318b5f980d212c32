//! The edges a Rust user reaches for, on the real helloworld service: the HTTP server as a
//! tower service (in process, answering as over the socket), the generated gRPC adapter on a
//! plain tonic server, per-call headers and timeout on the typed HTTP client, and gRPC
//! reflection as grpcurl uses it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use helloworld::api::helloworld::v1::{self as pb, HelloReply, HelloRequest};
use http_body_util::Full;
use kratos::errors::Error;
use kratos::middleware::{Handler, Matcher, Middleware};
use kratos::transport::Server as _;
use kratos::{Context, grpc, http as khttp};
use prost::Message as _;
use tokio_stream::StreamExt as _;
use tower::ServiceExt as _;

/// Bounds the wait for any answer in these tests (liveness only; generous).
const LIVENESS: Duration = Duration::from_secs(10);

/// A middleware tagging every reply with `x-tagged: <operation>`.
fn tagging() -> Middleware {
    Middleware::new(|next: Handler| {
        Handler::new(move |ctx: Context, req| {
            let next = next.clone();
            async move {
                let reply = next.call(ctx.clone(), req).await;
                let op = ctx.operation().parse().unwrap();
                ctx.reply_headers().insert("x-tagged", op);
                reply
            }
        })
    })
}

fn http_servers() -> khttp::Server {
    let (http, _) = helloworld::servers(
        khttp::Server::builder()
            .address("127.0.0.1:0")
            .middleware(tagging()),
        grpc::Server::builder(),
    )
    .unwrap();
    http
}

/// (status, content type, x-tagged, body) of a response.
type Answer = (u16, Option<String>, Option<String>, Vec<u8>);

async fn answer<B>(response: http::Response<B>) -> Answer
where
    B: http_body_util::BodyExt<Data = Bytes>,
    B::Error: std::fmt::Debug,
{
    let (parts, body) = response.into_parts();
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    };
    let (ct, tagged) = (header("content-type"), header("x-tagged"));
    let body = body.collect().await.unwrap().to_bytes();
    (parts.status.as_u16(), ct, tagged, body.to_vec())
}

#[tokio::test]
async fn the_http_server_in_process_answers_as_over_the_socket() {
    let service = http_servers().into_service();
    let mut server = http_servers();
    let addr = server.start().await.unwrap();
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let cases: [(&str, &str, &str, &str); 7] = [
        // A route with its middleware, the service's own error, a body that does not decode,
        // a validation-free POST, the protobuf codec, Kratos' 404, and a plain route.
        ("GET", "/helloworld/kratos", "application/json", ""),
        ("GET", "/helloworld/error", "application/json", ""),
        ("POST", "/say_hello", "application/json", "{not json"),
        (
            "POST",
            "/say_hello",
            "application/json",
            r#"{"name":"tower"}"#,
        ),
        ("GET", "/helloworld/proto", "application/proto", ""),
        ("GET", "/nowhere", "application/json", ""),
        ("GET", "/q/openapi.json", "application/json", ""),
    ];
    for (method, path, accept, body) in cases {
        let request = |uri: String| {
            http::Request::builder()
                .method(method)
                .uri(uri)
                .header("accept", accept)
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from_static(body.as_bytes())))
                .unwrap()
        };
        let in_process = service
            .clone()
            .oneshot(request(path.to_string()))
            .await
            .unwrap();
        let in_process = answer(in_process).await;
        let over_socket = client
            .request(request(format!("http://{addr}{path}")))
            .await
            .unwrap();
        let over_socket = answer(over_socket).await;
        assert_eq!(in_process, over_socket, "{method} {path}");
        let status = in_process.0;
        match path {
            "/helloworld/kratos" => {
                assert_eq!(status, 200);
                assert_eq!(in_process.3, br#"{"message":"Hello kratos"}"#);
                assert_eq!(
                    in_process.2.as_deref(),
                    Some("/helloworld.v1.Greeter/SayHello")
                );
            }
            "/helloworld/error" => {
                assert_eq!(status, 404);
                let body = String::from_utf8(in_process.3.clone()).unwrap();
                assert!(body.contains("USER_NOT_FOUND"), "{body}");
            }
            "/say_hello" if body.starts_with("{not") => assert_eq!(status, 400),
            "/say_hello" => assert_eq!(in_process.3, br#"{"message":"Hello tower"}"#),
            "/helloworld/proto" => {
                let reply = HelloReply::decode(in_process.3.as_slice()).unwrap();
                assert_eq!(reply.message, "Hello proto");
            }
            "/nowhere" => assert_eq!(status, 404),
            _ => assert_eq!(status, 200),
        }
    }
    server.stop().await.unwrap();
}

/// Answers with the time left until the call's deadline, in ms ("none" without one), and
/// `name`'s greeting otherwise; "error" fails as the helloworld greeter does.
struct Deadlines;

impl pb::Greeter for Deadlines {
    async fn say_hello(&self, ctx: Context, request: HelloRequest) -> Result<HelloReply, Error> {
        if request.name == "error" {
            return Err(pb::error_user_not_found("user not found: error"));
        }
        let left = ctx
            .remaining()
            .map_or("none".to_string(), |d| d.as_millis().to_string());
        Ok(HelloReply { message: left })
    }
}

#[tokio::test]
async fn the_grpc_adapter_serves_on_a_plain_tonic_server() {
    // Middleware for the greeter's methods only, as a kratos server would select them.
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut middleware = Matcher::new();
    middleware.with(tagging());
    middleware.add(
        "/helloworld.v1.Greeter/*",
        vec![{
            let seen = seen.clone();
            Middleware::new(move |next: Handler| {
                let seen = seen.clone();
                Handler::new(move |ctx: Context, req| {
                    seen.lock().unwrap().push(ctx.operation());
                    next.call(ctx, req)
                })
            })
        }],
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(pb::greeter_grpc_service(Arc::new(Deadlines), &middleware))
            .serve_with_incoming_shutdown(
                tonic::transport::server::TcpIncoming::from(listener),
                async {
                    stopped.await.ok();
                },
            ),
    );
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = pb::greeter_client::GreeterClient::new(channel);

    let reply = client
        .say_hello(HelloRequest {
            name: "tonic".into(),
        })
        .await
        .unwrap();
    assert_eq!(
        reply.metadata().get("x-tagged").unwrap(),
        "/helloworld.v1.Greeter/SayHello"
    );
    // No server timeout and no grpc-timeout: no deadline.
    assert_eq!(reply.into_inner().message, "none");

    // The client's grpc-timeout is the handler's deadline, as on a kratos server.
    let mut request = tonic::Request::new(HelloRequest {
        name: "tonic".into(),
    });
    request.set_timeout(Duration::from_secs(5));
    let left: u64 = client
        .say_hello(request)
        .await
        .unwrap()
        .into_inner()
        .message
        .parse()
        .unwrap();
    assert!(left > 0 && left <= 5000, "{left}");

    // The service's Kratos error, with its reason, as its gRPC status.
    let status = client
        .say_hello(HelloRequest {
            name: "error".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::NotFound);
    assert_eq!(Error::from(status).reason(), "USER_NOT_FOUND");
    assert_eq!(seen.lock().unwrap().len(), 3);

    stop.send(()).unwrap();
    tokio::time::timeout(LIVENESS, served)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

/// Greets with the `x-tenant` and `user-agent` headers it got; "slow" answers after 300 ms.
struct Headers {
    calls: AtomicUsize,
}

impl pb::Greeter for Headers {
    async fn say_hello(&self, ctx: Context, request: HelloRequest) -> Result<HelloReply, Error> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if request.name == "slow" {
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        let header = |name: &str| {
            ctx.request_headers()
                .get_all(name)
                .iter()
                .map(|v| v.to_str().unwrap().to_string())
                .collect::<Vec<_>>()
                .join("+")
        };
        ctx.reply_headers()
            .insert("x-served-for", request.name.parse().unwrap());
        Ok(HelloReply {
            message: format!("{}|{}", header("x-tenant"), header("user-agent")),
        })
    }
}

#[tokio::test]
async fn typed_http_client_calls_carry_their_own_headers_and_timeout() {
    let service = Arc::new(Headers {
        calls: AtomicUsize::new(0),
    });
    let mut server = khttp::Server::builder().address("127.0.0.1:0").build();
    pb::register_greeter_http_server(&mut server, service.clone()).unwrap();
    let addr = server.start().await.unwrap();
    // The client's own timeout is short: 100 ms.
    let client = pb::GreeterHttpClient::new(
        khttp::Client::builder(addr.to_string())
            .timeout(Duration::from_millis(100))
            .user_agent("kratos-test")
            .build()
            .unwrap(),
    );
    let hello = |name: &str| HelloRequest { name: name.into() };

    // Headers the server sees, several values of one name included; they replace the client's
    // own User-Agent.
    let tenant = client.with_options(
        khttp::CallOptions::new()
            .header("x-tenant", "acme")
            .header("x-tenant", "globex"),
    );
    let reply = tenant.say_hello(&hello("a")).await.unwrap();
    assert_eq!(reply.message, "acme+globex|kratos-test");
    let mut headers = http::HeaderMap::new();
    headers.insert("user-agent", "per-call".parse().unwrap());
    headers.insert("x-tenant", "initech".parse().unwrap());
    let reply = client
        .with_options(khttp::CallOptions::new().headers(headers))
        .say_hello(&hello("a"))
        .await
        .unwrap();
    assert_eq!(reply.message, "initech|per-call");
    // The reply's headers, as Kratos' `http.Header(&h)` gives them back; a failed call
    // leaves the last ones.
    let reply_headers = khttp::ReplyHeaders::new();
    let watched = tenant.with_options(khttp::CallOptions::new().reply_headers(&reply_headers));
    assert!(reply_headers.get().is_empty());
    watched.say_hello(&hello("first")).await.unwrap();
    assert_eq!(reply_headers.get()["x-served-for"], "first");
    assert_eq!(reply_headers.get()["content-type"], "application/json");
    watched.say_hello(&hello("error")).await.unwrap();
    assert_eq!(reply_headers.get()["x-served-for"], "error");
    let err = watched.say_hello(&hello("slow")).await.unwrap_err();
    assert_eq!(err.code(), 504);
    assert_eq!(reply_headers.get()["x-served-for"], "error");
    // The options belong to the handle: the client itself sends none.
    let reply = client.say_hello(&hello("a")).await.unwrap();
    assert_eq!(reply.message, "|kratos-test");

    // A per-call timeout longer than the client's lets a slow call finish...
    let patient = client.with_options(khttp::CallOptions::new().timeout(Duration::from_secs(5)));
    assert_eq!(
        patient.say_hello(&hello("slow")).await.unwrap().message,
        "|kratos-test"
    );
    // ...the client's own fails it, and so does a shorter per-call one, with Kratos' 504.
    for short in [
        client.clone(),
        tenant.with_options(khttp::CallOptions::new().timeout(Duration::from_millis(50))),
    ] {
        let err = short.say_hello(&hello("slow")).await.unwrap_err();
        assert_eq!((err.code(), err.reason()), (504, "TIMEOUT"), "{err}");
    }

    // A header that is not one fails the call before anything is sent.
    let before = service.calls.load(Ordering::SeqCst);
    let err = client
        .with_options(khttp::CallOptions::new().header("bad header", "x"))
        .say_hello(&hello("a"))
        .await
        .unwrap_err();
    assert_eq!((err.code(), err.reason()), (400, "CLIENT"), "{err}");
    let err = client
        .with_options(khttp::CallOptions::new().header("x-ok", "line\nbreak"))
        .say_hello(&hello("a"))
        .await
        .unwrap_err();
    assert_eq!((err.code(), err.reason()), (400, "CLIENT"), "{err}");
    assert_eq!(service.calls.load(Ordering::SeqCst), before);
    server.stop().await.unwrap();
}

mod reflection {
    use super::*;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    use tonic_reflection::pb::v1::{ServerReflectionRequest, ServerReflectionResponse};

    pub(super) async fn start(builder: grpc::ServerBuilder) -> (grpc::Server, SocketAddr) {
        let (_, mut grpc) =
            helloworld::servers(khttp::Server::builder(), builder.address("127.0.0.1:0")).unwrap();
        let addr = grpc.start().await.unwrap();
        (grpc, addr)
    }

    /// One ServerReflectionInfo stream carrying `requests`, as grpcurl opens it.
    pub(super) async fn ask(
        addr: SocketAddr,
        requests: Vec<MessageRequest>,
    ) -> Result<Vec<MessageResponse>, tonic::Status> {
        let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut client = ServerReflectionClient::new(channel);
        let requests = tokio_stream::iter(requests.into_iter().map(|r| ServerReflectionRequest {
            host: String::new(),
            message_request: Some(r),
        }));
        let mut replies = client.server_reflection_info(requests).await?.into_inner();
        let mut out = Vec::new();
        while let Some(reply) = tokio::time::timeout(LIVENESS, replies.next())
            .await
            .unwrap()
        {
            let ServerReflectionResponse {
                message_response, ..
            } = reply?;
            out.push(message_response.unwrap());
        }
        Ok(out)
    }

    pub(super) fn files(response: &MessageResponse) -> Vec<prost_types::FileDescriptorProto> {
        match response {
            MessageResponse::FileDescriptorResponse(files) => files
                .file_descriptor_proto
                .iter()
                .map(|raw| prost_types::FileDescriptorProto::decode(raw.as_slice()).unwrap())
                .collect(),
            other => panic!("not a file descriptor response: {other:?}"),
        }
    }
}

#[tokio::test]
async fn reflection_lists_the_services_and_describes_the_greeter() {
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest as Ask;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse as Answer;

    let (mut grpc, addr) = reflection::start(grpc::Server::builder()).await;
    let answers = reflection::ask(
        addr,
        vec![
            Ask::ListServices(String::new()),
            Ask::FileContainingSymbol("helloworld.v1.Greeter".into()),
            Ask::FileContainingSymbol("helloworld.v1.HelloRequest".into()),
            Ask::FileByFilename("google/api/annotations.proto".into()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(answers.len(), 4);

    // `grpcurl list`: the services the server serves, the health and reflection ones too.
    let Answer::ListServicesResponse(list) = &answers[0] else {
        panic!("{:?}", answers[0]);
    };
    let mut names: Vec<&str> = list.service.iter().map(|s| s.name.as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection",
            "helloworld.v1.Greeter",
        ]
    );

    // `grpcurl describe helloworld.v1.Greeter`: the file, with its service and methods.
    for answer in &answers[1..3] {
        let files = reflection::files(answer);
        let greeter = files
            .iter()
            .find(|f| f.name() == "helloworld/v1/greeter.proto")
            .unwrap();
        assert_eq!(greeter.service[0].name(), "Greeter");
        assert_eq!(greeter.service[0].method[0].name(), "SayHello");
        assert!(
            greeter
                .dependency
                .iter()
                .any(|d| d == "google/api/annotations.proto")
        );
    }
    // The file is served as compiled: its custom options (the HTTP rules) are kept.
    let Answer::FileDescriptorResponse(raw) = &answers[1] else {
        unreachable!()
    };
    assert!(
        raw.file_descriptor_proto
            .iter()
            .any(|f| f.windows(18).any(|w| w == b"/helloworld/{name}")),
        "the google.api.http option is in the descriptor"
    );
    // Imports are there for tools that resolve them.
    let imported = reflection::files(&answers[3]);
    assert_eq!(imported[0].name(), "google/api/annotations.proto");
    // Every service listed is described (the health and both reflection ones from the
    // runtime), through one stream, as `grpcurl describe` does for each.
    let described = reflection::ask(
        addr,
        names
            .iter()
            .map(|n| Ask::FileContainingSymbol(n.to_string()))
            .collect(),
    )
    .await
    .unwrap();
    for (name, answer) in names.iter().zip(&described) {
        let (package, service) = name.rsplit_once('.').unwrap();
        let files = reflection::files(answer);
        assert!(
            files
                .iter()
                .any(|f| f.package() == package && f.service.iter().any(|s| s.name() == service)),
            "{name}"
        );
    }
    // An unknown symbol ends the stream with NOT_FOUND (tonic-reflection's answer).
    let status = reflection::ask(
        addr,
        vec![Ask::FileContainingSymbol("helloworld.v1.Nope".into())],
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), tonic::Code::NotFound, "{status:?}");
    grpc.stop().await.unwrap();
}

#[tokio::test]
async fn reflection_v1alpha_answers_and_can_be_turned_off() {
    use tonic_reflection::pb::v1alpha::ServerReflectionRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse;

    async fn list_v1alpha(addr: SocketAddr) -> Result<Vec<String>, tonic::Status> {
        let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let request = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut replies = ServerReflectionClient::new(channel)
            .server_reflection_info(tokio_stream::iter([request]))
            .await?
            .into_inner();
        let reply = tokio::time::timeout(LIVENESS, replies.next())
            .await
            .unwrap()
            .unwrap()?;
        match reply.message_response.unwrap() {
            MessageResponse::ListServicesResponse(list) => {
                Ok(list.service.into_iter().map(|s| s.name).collect())
            }
            other => panic!("{other:?}"),
        }
    }

    let (mut grpc, addr) = reflection::start(grpc::Server::builder()).await;
    let names = list_v1alpha(addr).await.unwrap();
    assert!(
        names.iter().any(|n| n == "helloworld.v1.Greeter"),
        "{names:?}"
    );
    grpc.stop().await.unwrap();

    // Opted out: neither version is served.
    let (mut grpc, addr) = reflection::start(grpc::Server::builder().reflection(false)).await;
    let status = list_v1alpha(addr).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unimplemented, "{status:?}");
    let status = reflection::ask(
        addr,
        vec![
            tonic_reflection::pb::v1::server_reflection_request::MessageRequest::ListServices(
                String::new(),
            ),
        ],
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unimplemented, "{status:?}");
    grpc.stop().await.unwrap();
}
