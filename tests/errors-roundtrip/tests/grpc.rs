#![allow(clippy::unwrap_used, clippy::expect_used)]
//! A real gRPC round trip: a tonic server on 127.0.0.1:0 whose handler answers with Kratos
//! errors, called by a tonic client that gets code, reason and metadata back.

use std::net::SocketAddr;

use errors_roundtrip::roundtrip::v1::users_client::UsersClient;
use errors_roundtrip::roundtrip::v1::users_server::{Users, UsersServer};
use errors_roundtrip::roundtrip::v1::{self as users, GetUserReply, GetUserRequest, UserError};
use kratos::errors::Error;
use tokio::sync::oneshot;
use tonic::transport::{Channel, Server};
use tonic::{Request, Response, Status};

/// The application logic: Kratos errors only, no gRPC types.
fn lookup(id: &str) -> Result<String, Error> {
    match id {
        "kratos" => Ok("Kratos".into()),
        "hidden" => Err(users::error_user_hidden(format!("user {id} is hidden"))
            .with_metadata([("id", id), ("policy", "private")])),
        "down" => Err(users::error_user_store_down("store unavailable")
            .with_cause(std::io::Error::other("connection refused"))),
        "unprocessable" => Err(Error::new(422, "UNPROCESSABLE", "cannot process")),
        "throttled" => Err(Error::too_many_requests("RATE_LIMIT", "slow down")),
        "unicode" => Err(users::error_user_not_found(
            "user «ü» not found: 100% sure\nreally",
        )),
        _ => {
            Err(users::error_user_not_found(format!("user {id} not found"))
                .with_metadata([("id", id)]))
        }
    }
}

struct UsersService;

#[tonic::async_trait]
impl Users for UsersService {
    async fn get_user(
        &self,
        request: Request<GetUserRequest>,
    ) -> Result<Response<GetUserReply>, Status> {
        let id = request.into_inner().id;
        if id == "plain" {
            // A handler may still answer with a plain status (no ErrorInfo).
            return Err(Status::invalid_argument("bad id"));
        }
        let name = lookup(&id)?;
        Ok(Response::new(GetUserReply { name }))
    }
}

/// A running server; it stops when dropped.
struct TestServer {
    addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

async fn serve() -> TestServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let incoming = tonic::transport::server::TcpIncoming::from(listener);
    tokio::spawn(async move {
        Server::builder()
            .add_service(UsersServer::new(UsersService))
            .serve_with_incoming_shutdown(incoming, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    TestServer { addr, _stop: stop }
}

async fn client(server: &TestServer) -> UsersClient<Channel> {
    UsersClient::connect(format!("http://{}", server.addr))
        .await
        .unwrap()
}

async fn call(client: &mut UsersClient<Channel>, id: &str) -> Result<String, Status> {
    client
        .get_user(GetUserRequest { id: id.into() })
        .await
        .map(|r| r.into_inner().name)
}

#[tokio::test]
async fn handler_errors_reach_the_client_intact() {
    let server = serve().await;
    let mut client = client(&server).await;

    assert_eq!(call(&mut client, "kratos").await.unwrap(), "Kratos");

    let status = call(&mut client, "nobody").await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::NotFound);
    assert!(users::is_user_not_found(&status));
    assert!(UserError::UserNotFound.is(&status));
    assert!(!users::is_user_hidden(&status));
    let e = Error::from_status(&status);
    assert_eq!(e.code(), 404);
    assert_eq!(e.reason(), "USER_NOT_FOUND");
    assert_eq!(e.message(), "user nobody not found");
    assert_eq!(e.metadata().get("id").map(String::as_str), Some("nobody"));
    assert_eq!(e, lookup("nobody").unwrap_err());

    let status = call(&mut client, "hidden").await.unwrap_err();
    let e = Error::from_error(&status);
    assert_eq!(e, lookup("hidden").unwrap_err());
    assert_eq!(e.code(), 403);
    assert_eq!(
        e.metadata()
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect::<Vec<_>>(),
        [("id", "hidden"), ("policy", "private")]
    );
    assert!(users::is_user_hidden(&status));
    assert!(kratos::errors::is_forbidden(&status));
}

#[tokio::test]
async fn the_cause_stays_on_the_server() {
    let server = serve().await;
    let mut client = client(&server).await;
    let status = call(&mut client, "down").await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Internal);
    assert!(users::is_user_store_down(&status));
    let e = Error::from(status);
    assert_eq!((e.code(), e.reason()), (500, "USER_STORE_DOWN"));
    assert!(e.cause().is_none());
    assert_eq!(
        e.go_display().to_string(),
        "error: code = 500 reason = USER_STORE_DOWN message = store unavailable \
         metadata = map[] cause = <nil>"
    );
}

#[tokio::test]
async fn codes_follow_the_kratos_tables_over_the_wire() {
    let server = serve().await;
    let mut client = client(&server).await;

    // 429 ↔ ResourceExhausted.
    let status = call(&mut client, "throttled").await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::ResourceExhausted);
    assert!(kratos::errors::is_too_many_requests(&status));
    assert_eq!(kratos::errors::reason(&status), "RATE_LIMIT");

    // 422 has no gRPC code: Unknown → 500, reason kept.
    let status = call(&mut client, "unprocessable").await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unknown);
    let e = Error::from_status(&status);
    assert_eq!(
        (e.code(), e.reason(), e.message()),
        (500, "UNPROCESSABLE", "cannot process")
    );

    // A plain status: code mapped, no reason, no metadata (§13 case 49).
    let status = call(&mut client, "plain").await.unwrap_err();
    let e = Error::from_error(&status);
    assert_eq!((e.code(), e.reason(), e.message()), (400, "", "bad id"));
    assert!(e.metadata().is_empty());
    assert!(kratos::errors::is_bad_request(&status));
}

#[tokio::test]
async fn messages_survive_the_grpc_message_encoding() {
    let server = serve().await;
    let mut client = client(&server).await;
    let status = call(&mut client, "unicode").await.unwrap_err();
    let e = Error::from_status(&status);
    assert_eq!(e.message(), "user «ü» not found: 100% sure\nreally");
    assert!(users::is_user_not_found(&e));
}
