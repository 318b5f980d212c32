//! Kratos' Getting Started, end to end: `kratos new demo --kratos-path <this repository>`,
//! `kratos proto add`, `kratos proto server` on protos with several services, every kind of
//! streaming, nested messages, well-known and cross-package types and HTTP rules, `kratos proto
//! client`, then `kratos run`: `GET /helloworld/kratos` answers `{"message":"Hello kratos"}`,
//! the gRPC call answers, and SIGTERM stops the server gracefully; finally the project's own
//! `cargo test`.
//!
//! Build cost: the project is built once (by `kratos run`; its tests then reuse that build),
//! in this workspace's target directory with this workspace's `Cargo.lock`, so the dependencies
//! already compiled for the workspace are reused where their features agree.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::{BufRead as _, BufReader};

use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use support::{assert_fails_with, assert_ok, kratos, repo_root, scratch, target_dir};

/// How long the first build of the project may take (a cold cache on a slow machine).
const BUILD_WITHIN: Duration = Duration::from_secs(45 * 60);

const COMMON_PROTO: &str = r#"syntax = "proto3";

package common.v1;

// A page of a listing.
message Page {
  int32 size = 1;
  string token = 2;
}
"#;

const SHOP_PROTO: &str = r#"syntax = "proto3";

package demo.v1;

import "google/api/annotations.proto";
import "google/protobuf/empty.proto";
import "google/protobuf/timestamp.proto";
import "common/v1/page.proto";

// Shelves, with a server stream.
service Shelves {
  rpc GetShelf (GetShelfRequest) returns (Shelf) {
    option (google.api.http) = { get: "/v1/shelves/{id}" };
  }
  rpc ListShelves (common.v1.Page) returns (ListShelvesReply) {
    option (google.api.http) = { get: "/v1/shelves" };
  }
  rpc WatchShelf (GetShelfRequest) returns (stream Shelf.Event) {
    option (google.api.http) = { get: "/v1/shelves/{id}:watch" };
  }
  rpc Clear (google.protobuf.Empty) returns (google.protobuf.Empty) {
    option (google.api.http) = { delete: "/v1/shelves" };
  }
}

// Books: client and bidirectional streams, and a method named with a Rust keyword.
service BookService {
  rpc Upload (stream Book) returns (UploadReply);
  rpc Exchange (stream Book) returns (stream Book);
  rpc Type (Book) returns (Book) {
    option (google.api.http) = { post: "/v1/books:type" body: "*" };
  }
}

message GetShelfRequest {
  string id = 1;
}

message Shelf {
  message Event {
    enum Kind {
      KIND_UNSPECIFIED = 0;
      ADDED = 1;
    }
    google.protobuf.Timestamp at = 1;
    Kind kind = 2;
  }
  string id = 1;
  repeated Book books = 2;
}

message ListShelvesReply {
  repeated Shelf shelves = 1;
  common.v1.Page next = 2;
}

message Book {
  string title = 1;
}

message UploadReply {
  int32 count = 1;
}
"#;

#[test]
fn getting_started_from_new_to_a_running_service() {
    let dir = scratch();
    let started = Instant::now();
    let repo = repo_root();
    assert_ok(&kratos(
        dir.path(),
        &["new", "demo", "--kratos-path", repo.to_str().unwrap()],
    ));
    let project = dir.path().join("demo");
    // The workspace's lock file: the same dependency versions as the workspace's build.
    std::fs::copy(repo.join("Cargo.lock"), project.join("Cargo.lock")).unwrap();
    let manifest = std::fs::read_to_string(project.join("Cargo.toml")).unwrap();
    assert!(manifest.contains(&format!(
        "kratos-rs = {{ path = \"{}\"",
        repo.join("runtime").display()
    )));
    for file in [
        "api/demo/v1/greeter.proto",
        "api/demo/v1/error_reason.proto",
        "configs/config.yaml",
        "src/conf/conf.proto",
        "build.rs",
        "Dockerfile",
        ".gitignore",
        "README.md",
        "tests/greeter.rs",
    ] {
        assert!(project.join(file).is_file(), "{file}");
    }

    // proto add: package and service from the path.
    assert_ok(&kratos(
        &project,
        &["proto", "add", "api/demo/v1/bookstore.proto"],
    ));
    let bookstore = std::fs::read_to_string(project.join("api/demo/v1/bookstore.proto")).unwrap();
    assert!(bookstore.contains("package demo.v1;"));
    assert!(bookstore.contains("service Bookstore {"));
    assert!(bookstore.contains(r#"get: "/demo/v1/bookstore/{id}""#));

    // proto server: one file per service, `mod` lines added, existing files left alone.
    std::fs::create_dir_all(project.join("api/common/v1")).unwrap();
    std::fs::write(project.join("api/common/v1/page.proto"), COMMON_PROTO).unwrap();
    std::fs::write(project.join("api/demo/v1/shop.proto"), SHOP_PROTO).unwrap();
    let out = assert_ok(&kratos(
        &project,
        &[
            "proto",
            "server",
            "api/demo/v1/shop.proto",
            "-t",
            "src/service",
        ],
    ));
    assert!(out.contains("src/service/shelves.rs"), "{out}");
    assert!(out.contains("src/service/book.rs"), "{out}");
    assert_ok(&kratos(
        &project,
        &[
            "proto",
            "server",
            "api/demo/v1/bookstore.proto",
            "-t",
            "src/service",
        ],
    ));
    let shelves = std::fs::read_to_string(project.join("src/service/shelves.rs")).unwrap();
    assert!(shelves.contains("impl crate::api::demo::v1::Shelves for ShelvesService"));
    assert!(shelves.contains(
        "_request: crate::api::demo::v1::GetShelfRequest,\n    ) -> Result<::kratos::stream::ServerStream<crate::api::demo::v1::shelf::Event>, Error>"
    ), "{shelves}");
    assert!(shelves.contains("_request: crate::api::common::v1::Page,"));
    assert!(shelves.contains("::kratos::types::well_known::Empty"));
    let book = std::fs::read_to_string(project.join("src/service/book.rs")).unwrap();
    assert!(book.contains("pub struct BookService {}"));
    assert!(book.contains("async fn r#type("));
    assert!(book.contains(
        "_request: ::kratos::stream::RequestStream<crate::api::demo::v1::Book>,\n    ) -> Result<::kratos::stream::ServerStream<crate::api::demo::v1::Book>, Error>"
    ), "{book}");
    let mod_rs = std::fs::read_to_string(project.join("src/service/mod.rs")).unwrap();
    for module in ["greeter", "shelves", "book", "bookstore"] {
        assert_eq!(
            mod_rs.matches(&format!("pub mod {module};")).count(),
            1,
            "{mod_rs}"
        );
    }
    std::fs::write(
        project.join("src/service/book.rs"),
        format!("{book}// mine\n"),
    )
    .unwrap();
    let again = kratos(
        &project,
        &[
            "proto",
            "server",
            "api/demo/v1/shop.proto",
            "-t",
            "src/service",
        ],
    );
    assert_fails_with(
        &again,
        &["demo.v1.BookService already exists", "left as it is"],
    );
    assert!(
        std::fs::read_to_string(project.join("src/service/book.rs"))
            .unwrap()
            .ends_with("// mine\n")
    );
    assert_eq!(
        std::fs::read_to_string(project.join("src/service/mod.rs")).unwrap(),
        mod_rs
    );

    // proto client: the whole API compiles as build.rs compiles it.
    let out = assert_ok(&kratos(&project, &["proto", "client", "api"]));
    assert!(out.contains("5 proto file(s) compile"), "{out}");

    // kratos run, from a directory below the project root, on ports the system picks.
    let mut server = Command::new(env!("CARGO_BIN_EXE_kratos"))
        .current_dir(project.join("src/service"))
        .arg("run")
        .env("CARGO_TARGET_DIR", target_dir())
        .env("SERVER__HTTP__ADDR", "127.0.0.1:0")
        .env("SERVER__GRPC__ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "info")
        .env_remove("KRATOS_LOG_FORMAT")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = read_lines(&mut server);
    let (http_addr, grpc_addr) = match listening(&lines, &mut server) {
        Ok(addrs) => addrs,
        Err(log) => {
            let _ = server.kill();
            panic!("the server did not start: {log}");
        }
    };
    eprintln!(
        "kratos new → first answer: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (status, body) = runtime.block_on(http_get(&http_addr, "/helloworld/kratos"));
    assert_eq!(
        (status, body.as_str()),
        (200, r#"{"message":"Hello kratos"}"#)
    );
    let (status, body) = runtime.block_on(http_get(&http_addr, "/helloworld/error"));
    assert_eq!(status, 404, "{body}");
    assert!(body.contains(r#""reason":"USER_NOT_FOUND""#), "{body}");
    let reply = runtime.block_on(grpc_say_hello(&grpc_addr, "kratos"));
    assert_eq!(reply, "Hello kratos");

    // SIGTERM to `kratos run`: passed on, the server stops gracefully, both exit 0.
    terminate(&server);
    let status = wait_within(&mut server, Duration::from_secs(60));
    assert!(status.success(), "kratos run ended with {status}");
    let mut log = String::new();
    while let Ok(line) = lines.recv_timeout(Duration::from_secs(5)) {
        log.push_str(&line);
        log.push('\n');
    }
    assert!(log.contains("app stopping"), "{log}");
    assert!(log.contains("server stopped"), "{log}");

    // The project's own tests, on the build `kratos run` made.
    let output = Command::new(std::env::var_os("CARGO").unwrap_or("cargo".into()))
        .current_dir(&project)
        .args(["test", "--quiet"])
        .env("CARGO_TARGET_DIR", target_dir())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "the project's cargo test failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("1 passed"));
}

/// The child's stdout and stderr, line by line.
fn read_lines(child: &mut Child) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    if let Some(stdout) = child.stdout.take() {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
    }
    if let Some(stderr) = child.stderr.take() {
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
    }
    rx
}

/// The addresses from the servers' `listening on` lines, once both are up; the log so far
/// if the server exits or does not start within [`BUILD_WITHIN`].
fn listening(
    lines: &mpsc::Receiver<String>,
    child: &mut Child,
) -> Result<(String, String), String> {
    let deadline = Instant::now() + BUILD_WITHIN;
    let (mut http, mut grpc) = (None, None);
    let mut log = String::new();
    while Instant::now() < deadline {
        match lines.recv_timeout(Duration::from_secs(1)) {
            Ok(line) => {
                let address = line
                    .split("server listening on: ")
                    .nth(1)
                    .and_then(|rest| rest.split('"').next())
                    .map(str::to_string);
                if line.contains("[HTTP] server listening") {
                    http = address;
                } else if line.contains("[gRPC] server listening") {
                    grpc = address;
                }
                log.push_str(&line);
                log.push('\n');
                if let (Some(h), Some(g)) = (&http, &grpc) {
                    return Ok((h.clone(), g.clone()));
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(format!("exited with {status}\n{log}"));
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => return Err(log),
        }
    }
    Err(format!("not listening after {BUILD_WITHIN:?}\n{log}"))
}

fn terminate(child: &Child) {
    let pid = rustix::process::Pid::from_raw(i32::try_from(child.id()).unwrap()).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
}

fn wait_within(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("kratos run did not stop within {limit:?} of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

async fn http_get(addr: &str, path: &str) -> (u16, String) {
    use http_body_util::{BodyExt as _, Empty};
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Empty<bytes::Bytes>>();
    let uri: http::Uri = format!("http://{addr}{path}").parse().unwrap();
    let response = tokio::time::timeout(Duration::from_secs(10), client.get(uri))
        .await
        .expect("answered within 10 s")
        .unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// `demo.v1.HelloRequest`, declared here: the test calls the server as any gRPC client would.
#[derive(Clone, PartialEq, prost::Message)]
struct HelloRequest {
    #[prost(string, tag = "1")]
    name: String,
}

/// `demo.v1.HelloReply`.
#[derive(Clone, PartialEq, prost::Message)]
struct HelloReply {
    #[prost(string, tag = "1")]
    message: String,
}

async fn grpc_say_hello(addr: &str, name: &str) -> String {
    let channel = kratos::grpc::ChannelBuilder::new(addr.to_string())
        .build()
        .unwrap();
    let mut grpc = tonic::client::Grpc::new(channel);
    tokio::time::timeout(Duration::from_secs(10), grpc.ready())
        .await
        .expect("ready within 10 s")
        .unwrap();
    let reply: tonic::Response<HelloReply> = tokio::time::timeout(
        Duration::from_secs(10),
        grpc.unary(
            tonic::Request::new(HelloRequest { name: name.into() }),
            http::uri::PathAndQuery::from_static("/demo.v1.Greeter/SayHello"),
            tonic_prost::ProstCodec::default(),
        ),
    )
    .await
    .expect("answered within 10 s")
    .unwrap();
    reply.into_inner().message
}
