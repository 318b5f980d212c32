//! JWT on real servers, HTTP and gRPC: a valid token's claims reach the handler; expired,
//! not-yet-valid, wrong-algorithm, `none`, wrong-key, missing and malformed tokens get 401
//! `UNAUTHORIZED` (`Unauthenticated`) with Kratos' messages; the client middleware signs the
//! calls of both clients; a selector leaves an operation open.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use helloworld::api::helloworld::v1::{self as pb, HelloReply, HelloRequest};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use kratos::errors::Error;
use kratos::middleware::jwt::jsonwebtoken::{self, Header};
use kratos::middleware::jwt::{self, Algorithm, DecodingKey, EncodingKey, SigningKey};
use kratos::middleware::{Middleware, select};
use kratos::transport::Server as _;
use kratos::{Context, grpc, http as khttp};
use serde::{Deserialize, Serialize};

const SECRET: &[u8] = b"helloworld-test-secret";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Claims {
    sub: String,
    exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nbf: Option<u64>,
}

/// Greets the token's subject: what the handler read from the call's context.
struct WhoAmI;

impl pb::Greeter for WhoAmI {
    async fn say_hello(&self, ctx: Context, request: HelloRequest) -> Result<HelloReply, Error> {
        let subject = jwt::claims::<Claims>(&ctx)
            .map(|c| c.sub.clone())
            .unwrap_or_else(|| "anonymous".into());
        Ok(HelloReply {
            message: format!("{} as {subject}", request.name),
        })
    }
}

struct Servers {
    http: khttp::Server,
    grpc: grpc::Server,
    http_addr: SocketAddr,
    grpc_addr: SocketAddr,
}

async fn start(middleware: Middleware) -> Servers {
    let mut http = khttp::Server::builder()
        .address("127.0.0.1:0")
        .middleware(middleware.clone())
        .build();
    let mut grpc = grpc::Server::builder()
        .address("127.0.0.1:0")
        .middleware(middleware)
        .build();
    pb::register_greeter_http_server(&mut http, Arc::new(WhoAmI)).unwrap();
    pb::register_greeter_grpc_server(&mut grpc, Arc::new(WhoAmI)).unwrap();
    let http_addr = http.start().await.unwrap();
    let grpc_addr = grpc.start().await.unwrap();
    Servers {
        http,
        grpc,
        http_addr,
        grpc_addr,
    }
}

impl Servers {
    async fn stop(mut self) {
        self.http.stop().await.unwrap();
        self.grpc.stop().await.unwrap();
    }
}

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

fn token(alg: Algorithm, key: &[u8], claims: &Claims) -> String {
    jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(key)).unwrap()
}

fn alice(exp: u64, nbf: Option<u64>) -> Claims {
    Claims {
        sub: "alice".into(),
        exp,
        nbf,
    }
}

/// `GET /helloworld/{name}` with `authorization`: the status and the reply's message or the
/// error's reason and message.
async fn http_call(addr: SocketAddr, authorization: Option<&str>) -> (u16, String) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut request = http::Request::get(format!("http://{addr}/helloworld/bob"));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response = client
        .request(request.body(Full::new(Bytes::new())).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: serde_json::Value =
        serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
    let text = match body.get("message") {
        Some(m) if status == 200 => m.as_str().unwrap().to_string(),
        _ => format!(
            "{} {}",
            body["reason"].as_str().unwrap(),
            body["message"].as_str().unwrap()
        ),
    };
    (status, text)
}

/// `SayHello` over gRPC with `authorization`: the reply's message, or the status's code and
/// message.
async fn grpc_call(
    addr: SocketAddr,
    authorization: Option<&str>,
) -> Result<String, (tonic::Code, String)> {
    let channel = grpc::ChannelBuilder::new(addr.to_string()).build().unwrap();
    let mut client = pb::greeter_client::GreeterClient::new(channel);
    let mut request = tonic::Request::new(HelloRequest { name: "bob".into() });
    if let Some(value) = authorization {
        request
            .metadata_mut()
            .insert("authorization", value.parse().unwrap());
    }
    client
        .say_hello(request)
        .await
        .map(|r| r.into_inner().message)
        .map_err(|s| (s.code(), s.message().to_string()))
}

fn server_auth() -> Middleware {
    jwt::server::<Claims>(Algorithm::HS256, DecodingKey::from_secret(SECRET)).build()
}

#[tokio::test]
async fn tokens_are_checked_on_http_and_grpc_with_kratos_messages() {
    let servers = start(server_auth()).await;
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let valid = token(Algorithm::HS256, SECRET, &alice(now() + 60, None));
    let cases: Vec<(String, Option<String>, Result<&str, &str>)> = vec![
        (
            "valid".into(),
            Some(format!("Bearer {valid}")),
            Ok("bob as alice"),
        ),
        (
            "lower-case scheme".into(),
            Some(format!("bearer {valid}")),
            Ok("bob as alice"),
        ),
        (
            "expired".into(),
            Some(format!(
                "Bearer {}",
                token(Algorithm::HS256, SECRET, &alice(now() - 5, None))
            )),
            Err(jwt::TOKEN_EXPIRED),
        ),
        (
            "not yet valid".into(),
            Some(format!(
                "Bearer {}",
                token(
                    Algorithm::HS256,
                    SECRET,
                    &alice(now() + 600, Some(now() + 300))
                )
            )),
            Err(jwt::TOKEN_EXPIRED),
        ),
        (
            "wrong algorithm".into(),
            Some(format!(
                "Bearer {}",
                token(Algorithm::HS512, SECRET, &alice(now() + 60, None))
            )),
            Err(jwt::WRONG_SIGNING_METHOD),
        ),
        (
            "alg none".into(),
            Some(format!(
                "Bearer {}.{}.",
                b64(r#"{"alg":"none","typ":"JWT"}"#),
                b64(&format!(r#"{{"sub":"mallory","exp":{}}}"#, now() + 60))
            )),
            Err(jwt::TOKEN_PARSE_FAIL),
        ),
        (
            "wrong key".into(),
            Some(format!(
                "Bearer {}",
                token(Algorithm::HS256, b"another", &alice(now() + 60, None))
            )),
            Err(jwt::TOKEN_PARSE_FAIL),
        ),
        ("missing".into(), None, Err(jwt::MISSING_TOKEN)),
        (
            "basic scheme".into(),
            Some("Basic YWxpY2U6cHc=".into()),
            Err(jwt::MISSING_TOKEN),
        ),
        (
            "no scheme".into(),
            Some(valid.clone()),
            Err(jwt::MISSING_TOKEN),
        ),
        (
            "malformed".into(),
            Some("Bearer not.a-token".into()),
            Err(jwt::TOKEN_INVALID),
        ),
        (
            "garbage header".into(),
            Some("Bearer e30.e30.e30".into()),
            Err(jwt::TOKEN_INVALID),
        ),
    ];
    for (name, authorization, expected) in &cases {
        let got_http = http_call(servers.http_addr, authorization.as_deref()).await;
        let got_grpc = grpc_call(servers.grpc_addr, authorization.as_deref()).await;
        match expected {
            Ok(message) => {
                assert_eq!(got_http, (200, message.to_string()), "http {name}");
                assert_eq!(got_grpc.as_deref(), Ok(*message), "grpc {name}");
            }
            Err(message) => {
                assert_eq!(
                    got_http,
                    (401, format!("UNAUTHORIZED {message}")),
                    "http {name}"
                );
                assert_eq!(
                    got_grpc,
                    Err((tonic::Code::Unauthenticated, message.to_string())),
                    "grpc {name}"
                );
            }
        }
    }
    servers.stop().await;
}

#[tokio::test]
async fn the_client_middleware_signs_calls_of_both_clients() {
    let servers = start(server_auth()).await;
    let key = SigningKey::new(EncodingKey::from_secret(SECRET));
    let sign = jwt::client(Algorithm::HS256, key.clone(), |ctx: &Context| Claims {
        // The subject names the operation, so the test sees the client context reached it.
        sub: format!("svc{}", ctx.operation()),
        exp: now() + 60,
        nbf: None,
    });
    let http_client = pb::GreeterHttpClient::new(
        khttp::Client::builder(servers.http_addr.to_string())
            .middleware(sign.clone())
            .build()
            .unwrap(),
    );
    let channel = grpc::ChannelBuilder::new(servers.grpc_addr.to_string())
        .middleware(sign)
        .build()
        .unwrap();
    let mut grpc_client = pb::greeter_client::GreeterClient::new(channel);
    let request = HelloRequest { name: "bob".into() };
    let expected = format!("bob as svc{}", pb::OPERATION_GREETER_SAY_HELLO);
    assert_eq!(
        http_client.say_hello(&request).await.unwrap().message,
        expected
    );
    assert_eq!(
        grpc_client
            .say_hello(request.clone())
            .await
            .unwrap()
            .into_inner()
            .message,
        expected
    );
    // After a rotation to a key the server does not know, both clients are refused.
    key.rotate(EncodingKey::from_secret(b"rotated"), None);
    let err = http_client.say_hello(&request).await.unwrap_err();
    assert_eq!(
        (err.code(), err.reason(), err.message()),
        (401, "UNAUTHORIZED", jwt::TOKEN_PARSE_FAIL)
    );
    let status = grpc_client.say_hello(request).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unauthenticated);
    servers.stop().await;
}

#[tokio::test]
async fn a_selector_leaves_whitelisted_operations_open() {
    // Authentication everywhere but SayHello.
    let open = pb::OPERATION_GREETER_SAY_HELLO;
    let servers = start(
        select(vec![server_auth()])
            .matching(move |op| op != open)
            .build(),
    )
    .await;
    assert_eq!(
        http_call(servers.http_addr, None).await,
        (200, "bob as anonymous".into())
    );
    assert_eq!(
        grpc_call(servers.grpc_addr, None).await.as_deref(),
        Ok("bob as anonymous")
    );
    servers.stop().await;
    // And on SayHello only.
    let servers = start(select(vec![server_auth()]).path(open).build()).await;
    assert_eq!(
        http_call(servers.http_addr, None).await,
        (401, format!("UNAUTHORIZED {}", jwt::MISSING_TOKEN))
    );
    servers.stop().await;
}
