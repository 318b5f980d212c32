//! The servers' connection limits, against real sockets: slow and silent clients are
//! disconnected at the header read timeout without slowing anyone else, idle connections close,
//! a trickled body is answered 408, heads over the limits 431, connections over the limit wait,
//! and stopping (SIGTERM through `App`) is held neither by idle nor by half-written requests,
//! and cuts what is still busy at the stop timeout, saying which.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Response;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use kratos::app::AppError;
use kratos::transport::{ConnectionLimits, Server as _};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Generous bound for anything that should happen "soon" (liveness, not speed).
const SOON: Duration = Duration::from_secs(5);

fn limits(change: impl FnOnce(&mut ConnectionLimits)) -> ConnectionLimits {
    let mut limits = ConnectionLimits::default();
    change(&mut limits);
    limits
}

/// An HTTP server with `/ping`, `/sleep/{ms}` and `POST /upload` (answers the body's length).
fn http_server(limits: ConnectionLimits) -> kratos::http::Server {
    let mut server = kratos::http::Server::builder()
        .address("127.0.0.1:0")
        .limits(limits)
        .build();
    server
        .handle("GET", "/ping", |_, _| async {
            Response::new(Bytes::from("pong"))
        })
        .unwrap();
    server
        .handle("GET", "/sleep/{ms}", |_, vars| async move {
            let ms: u64 = vars[0].parse().unwrap();
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Response::new(Bytes::from("slept"))
        })
        .unwrap();
    server
        .handle("POST", "/upload", |request, _| async move {
            Response::new(Bytes::from(request.body().len().to_string()))
        })
        .unwrap();
    server
}

/// A gRPC service whose every method sleeps for the milliseconds the path ends with, then
/// answers OK (`/test.Sleeper/250`).
#[derive(Clone)]
struct Sleeper;

impl tonic::server::NamedService for Sleeper {
    const NAME: &'static str = "test.Sleeper";
}

impl tower_service::Service<http::Request<tonic::body::Body>> for Sleeper {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Self::Response, Infallible>> + Send>,
    >;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        let ms: u64 = request
            .uri()
            .path()
            .rsplit('/')
            .next()
            .and_then(|m| m.parse().ok())
            .unwrap_or(0);
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok(http::Response::builder()
                .header("content-type", "application/grpc")
                .header("grpc-status", "0")
                .body(tonic::body::Body::empty())
                .unwrap())
        })
    }
}

fn grpc_server(limits: ConnectionLimits) -> kratos::grpc::Server {
    let mut server = kratos::grpc::Server::builder()
        .address("127.0.0.1:0")
        .limits(limits)
        .build();
    server.add_service(Sleeper).unwrap();
    server
}

/// Waits until the server closes `stream` (EOF or reset); returns what it sent before and how
/// long it took, or `None` if it was still open after `within`.
async fn closed_within(
    stream: &mut (impl AsyncRead + Unpin),
    within: Duration,
) -> Option<(Vec<u8>, Duration)> {
    let start = Instant::now();
    let mut received = Vec::new();
    let read = async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(within, read).await.ok()?;
    Some((received, start.elapsed()))
}

/// Reads one HTTP/1 response with a `Content-Length` from `stream`; returns its text.
async fn read_response(stream: &mut (impl AsyncRead + Unpin)) -> String {
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(SOON, async {
        loop {
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed before a whole response: {received:?}");
            received.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&received).to_string();
            if let Some(head_end) = text.find("\r\n\r\n") {
                let length: usize = text[..head_end]
                    .lines()
                    .find_map(|l| {
                        let (name, value) = l.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse().ok())?
                    })
                    .unwrap_or(0);
                if received.len() >= head_end + 4 + length {
                    return text;
                }
            }
        }
    })
    .await
    .expect("no response in time")
}

/// One request on a new connection; the response and how long it took.
async fn timed_get(addr: SocketAddr, path: &str) -> (String, Duration) {
    let start = Instant::now();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let response = read_response(&mut stream).await;
    (response, start.elapsed())
}

/// Opens `n` connections that each send `prefix` and then nothing more.
async fn stalled_clients(addr: SocketAddr, n: usize, prefix: &[u8]) -> Vec<TcpStream> {
    let mut clients = Vec::with_capacity(n);
    for _ in 0..n {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        if !prefix.is_empty() {
            stream.write_all(prefix).await.unwrap();
        }
        clients.push(stream);
    }
    clients
}

/// Waits, concurrently, for every client to be closed by the server; returns when the first
/// and the last were closed, failing if one is still open after `within`.
async fn all_closed_within(clients: Vec<TcpStream>, within: Duration) -> (Instant, Instant) {
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|mut c| {
            tokio::spawn(async move { closed_within(&mut c, within).await.map(|_| Instant::now()) })
        })
        .collect();
    let mut closes = Vec::new();
    for (i, task) in tasks.into_iter().enumerate() {
        closes.push(
            task.await
                .unwrap()
                .unwrap_or_else(|| panic!("client {i} still open after {within:?}")),
        );
    }
    (
        closes.iter().copied().min().unwrap(),
        closes.iter().copied().max().unwrap(),
    )
}

const HALF_HEAD: &[u8] = b"GET /ping HTTP/1.1\r\nHost: test\r\nX-Half: ";
/// The first half of the HTTP/2 connection preface.
const HALF_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n";

/// Finding 4: 300 clients holding half-written headers, and 50 that never send a byte, are
/// disconnected at the header read timeout (1 s here), and a normal request meanwhile is
/// answered at once (the time is printed: run with `--nocapture` to see it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_do_not_finish_their_headers_are_closed_at_the_header_timeout() {
    let timeout = Duration::from_secs(1);
    let mut server = http_server(limits(|l| l.header_read_timeout = Some(timeout)));
    let addr = server.start().await.unwrap();

    let opened = Instant::now();
    let mut stalled = stalled_clients(addr, 300, HALF_HEAD).await;
    stalled.extend(stalled_clients(addr, 50, b"").await);

    let (response, took) = timed_get(addr, "/ping").await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("pong"), "{response}");
    println!("with 350 stalled clients, a normal request took {took:?}");

    let (first, last) = all_closed_within(stalled, timeout + SOON).await;
    println!(
        "the stalled clients were closed {:?} to {:?} after the first connected",
        first - opened,
        last - opened
    );
    // Each is closed at its own accept + the timeout, so none before the first's.
    assert!(
        first - opened >= timeout,
        "closed before the header timeout"
    );
    server.stop().await.unwrap();
}

/// The same on the gRPC server: clients that send half the HTTP/2 preface, or nothing, are
/// disconnected at the header read timeout; gRPC calls are still served meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_clients_that_do_not_finish_the_preface_are_closed_at_the_header_timeout() {
    let timeout = Duration::from_secs(1);
    let mut server = grpc_server(limits(|l| l.header_read_timeout = Some(timeout)));
    let addr = server.start().await.unwrap();
    let mut stalled = stalled_clients(addr, 100, HALF_PREFACE).await;
    stalled.extend(stalled_clients(addr, 20, b"").await);

    let (mut send, conn) = h2_client(addr).await;
    let conn = tokio::spawn(conn);
    let (status, _) = grpc_call(&mut send, "/test.Sleeper/0", None).await;
    assert_eq!(status.as_deref(), Some("0"));

    all_closed_within(stalled, timeout + SOON).await;
    drop(send);
    let _ = conn.await;
    server.stop().await.unwrap();
}

/// An idle HTTP/1 keep-alive connection is closed after the idle timeout, not before it and
/// not at the header timeout (they are separate limits); one that starts a new head and does
/// not finish it is closed at the header timeout.
#[tokio::test]
async fn idle_keep_alive_connections_close_after_the_idle_timeout() {
    let idle = Duration::from_millis(2500);
    let header = Duration::from_millis(300);
    let mut server = http_server(limits(|l| {
        l.idle_timeout = Some(idle);
        l.header_read_timeout = Some(header);
    }));
    let addr = server.start().await.unwrap();

    let mut stream = TcpStream::connect(addr).await.unwrap();
    for _ in 0..2 {
        stream
            .write_all(b"GET /ping HTTP/1.1\r\nHost: test\r\n\r\n")
            .await
            .unwrap();
        let response = read_response(&mut stream).await;
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    }
    let (received, took) = closed_within(&mut stream, idle + SOON)
        .await
        .expect("idle connection still open");
    assert!(received.is_empty(), "{received:?}");
    assert!(
        took >= idle,
        "closed after {took:?}, before the idle timeout"
    );

    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /ping HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    read_response(&mut stream).await;
    stream.write_all(HALF_HEAD).await.unwrap();
    let (_, took) = closed_within(&mut stream, SOON)
        .await
        .expect("half a second head still open");
    assert!(took >= header && took < idle, "closed after {took:?}");
    server.stop().await.unwrap();
}

/// An HTTP/2 connection without calls is closed (GOAWAY) after the idle timeout; keep-alive
/// pings do not count as calls.
#[tokio::test]
async fn idle_grpc_connections_close_after_the_idle_timeout() {
    let idle = Duration::from_millis(800);
    let mut server = grpc_server(limits(|l| l.idle_timeout = Some(idle)));
    let addr = server.start().await.unwrap();
    let (mut send, conn) = h2_client(addr).await;
    let conn = tokio::spawn(conn);
    let (status, _) = grpc_call(&mut send, "/test.Sleeper/0", None).await;
    assert_eq!(status.as_deref(), Some("0"));
    let started = Instant::now();
    tokio::time::timeout(idle + SOON, conn)
        .await
        .expect("idle HTTP/2 connection still open")
        .unwrap()
        .ok();
    assert!(started.elapsed() >= idle);
    server.stop().await.unwrap();
}

/// A client that sends its headers and then trickles the body gets a 408 with a Kratos error
/// body at the body read timeout; a body sent at once is read as usual.
#[tokio::test]
async fn a_body_that_does_not_arrive_in_time_is_answered_408() {
    let timeout = Duration::from_millis(500);
    let mut server = http_server(limits(|l| l.body_read_timeout = Some(timeout)));
    let addr = server.start().await.unwrap();

    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\n\r\nhello")
        .await
        .unwrap();
    let response = read_response(&mut stream).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("\r\n5"), "{response}");

    let start = Instant::now();
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    writer
        .write_all(b"POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: 100\r\n\r\n")
        .await
        .unwrap();
    // One byte every 100 ms: the whole body would take 10 s.
    let trickle = tokio::spawn(async move {
        for _ in 0..100 {
            if writer.write_all(b"x").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let response = read_response(&mut reader).await;
    trickle.abort();
    let took = start.elapsed();
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    let body: serde_json::Value =
        serde_json::from_str(response.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(body["code"], 408, "{body}");
    assert_eq!(body["reason"], kratos::http::BODY_TIMEOUT_REASON, "{body}");
    assert!(took >= timeout && took < SOON, "answered after {took:?}");
    server.stop().await.unwrap();
}

/// Heads over the size or count limit are answered 431.
#[tokio::test]
async fn heads_over_the_limits_are_answered_431() {
    let mut server = http_server(limits(|l| {
        l.max_headers = 8;
        l.max_header_bytes = 16 * 1024;
    }));
    let addr = server.start().await.unwrap();
    let send = |head: String| async move {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(head.as_bytes()).await.unwrap();
        let (received, _) = closed_within(&mut stream, SOON).await.expect("still open");
        String::from_utf8_lossy(&received).to_string()
    };
    let headers = |n: usize| -> String { (0..n).map(|i| format!("X-H{i}: v\r\n")).collect() };
    let ok = send(format!(
        "GET /ping HTTP/1.1\r\nHost: t\r\nConnection: close\r\n{}\r\n",
        headers(5)
    ))
    .await;
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    let many = send(format!(
        "GET /ping HTTP/1.1\r\nHost: t\r\n{}\r\n",
        headers(20)
    ))
    .await;
    assert!(many.starts_with("HTTP/1.1 431"), "{many}");
    let big = send(format!(
        "GET /ping HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n\r\n",
        "a".repeat(20 * 1024)
    ))
    .await;
    assert!(big.starts_with("HTTP/1.1 431"), "{big}");
    server.stop().await.unwrap();
}

/// Over the connection limit, a new client waits (in the listen backlog) until a connection
/// closes, and is then served.
#[tokio::test]
async fn clients_over_the_connection_limit_wait_for_a_free_place() {
    let mut server = http_server(limits(|l| l.max_connections = Some(2)));
    let addr = server.start().await.unwrap();
    let mut first = stalled_clients(addr, 2, b"").await;
    let mut third = TcpStream::connect(addr).await.unwrap();
    third
        .write_all(b"GET /ping HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 64];
    assert!(
        tokio::time::timeout(Duration::from_millis(300), third.read(&mut buf))
            .await
            .is_err(),
        "served over the limit"
    );
    first.pop();
    let response = read_response(&mut third).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    drop(first);
    server.stop().await.unwrap();
}

/// Finding 4's stop: SIGTERM stops an App whose servers hold idle keep-alive connections and
/// clients stuck in their headers (with a header timeout far longer than the stop timeout),
/// at once and cleanly: nothing is cut, nothing waits for the stop timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_app_at_once_despite_idle_and_half_written_connections() {
    use tokio::signal::unix::{SignalKind, signal};
    // Our own handler first: from now on SIGTERM cannot kill the test process.
    let mut ours = signal(SignalKind::terminate()).unwrap();

    let slow = limits(|l| l.header_read_timeout = Some(Duration::from_secs(60)));
    let http_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let grpc_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let http_addr = http_listener.local_addr().unwrap();
    let grpc_addr = grpc_listener.local_addr().unwrap();
    let mut http = kratos::http::Server::builder()
        .listener(http_listener)
        .limits(slow.clone())
        .build();
    http.handle("GET", "/ping", |_, _| async {
        Response::new(Bytes::from("pong"))
    })
    .unwrap();
    let mut grpc = kratos::grpc::Server::builder()
        .listener(grpc_listener)
        .limits(slow)
        .build();
    grpc.add_service(Sleeper).unwrap();
    let stop_timeout = Duration::from_secs(5);
    let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
    let app = kratos::App::new()
        .name("conn-limits")
        .server(http)
        .server(grpc)
        .stop_timeout(stop_timeout)
        .after_start(move |_| async move {
            let _ = started_tx.send(());
            Ok::<(), std::io::Error>(())
        });
    let run = tokio::spawn(app.run());
    tokio::time::timeout(SOON, started_rx)
        .await
        .unwrap()
        .unwrap();

    let mut clients = stalled_clients(http_addr, 100, HALF_HEAD).await;
    clients.extend(stalled_clients(grpc_addr, 100, HALF_PREFACE).await);
    let mut keep_alive = TcpStream::connect(http_addr).await.unwrap();
    keep_alive
        .write_all(b"GET /ping HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    read_response(&mut keep_alive).await;
    clients.push(keep_alive);
    let (mut h2, h2_conn) = h2_client(grpc_addr).await;
    let h2_conn = tokio::spawn(h2_conn);
    let (status, _) = grpc_call(&mut h2, "/test.Sleeper/0", None).await;
    assert_eq!(status.as_deref(), Some("0"));

    let signalled = Instant::now();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    ours.recv().await;
    let outcome = tokio::time::timeout(stop_timeout + SOON, run)
        .await
        .expect("the app did not stop")
        .unwrap();
    let took = signalled.elapsed();
    println!("SIGTERM to stopped: {took:?}");
    assert!(outcome.is_ok(), "{outcome:?}");
    assert!(took < stop_timeout, "stopping took {took:?}");
    all_closed_within(clients, SOON).await;
    tokio::time::timeout(SOON, h2_conn)
        .await
        .unwrap()
        .unwrap()
        .ok();
}

/// Connections still busy at the stop timeout are cut, and the App names them; idle ones
/// were closed at once and are not among them.
#[tokio::test]
async fn busy_connections_are_cut_at_the_stop_timeout_and_reported() {
    let http_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let grpc_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let http_addr = http_listener.local_addr().unwrap();
    let grpc_addr = grpc_listener.local_addr().unwrap();
    let mut http = kratos::http::Server::builder()
        .listener(http_listener)
        .build();
    http.handle("GET", "/sleep/{ms}", |_, vars| async move {
        let ms: u64 = vars[0].parse().unwrap();
        tokio::time::sleep(Duration::from_millis(ms)).await;
        Response::new(Bytes::from("slept"))
    })
    .unwrap();
    let mut grpc = kratos::grpc::Server::builder()
        .listener(grpc_listener)
        .build();
    grpc.add_service(Sleeper).unwrap();
    let stop_timeout = Duration::from_millis(500);
    let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let app = kratos::App::new()
        .server(http)
        .server(grpc)
        .stop_timeout(stop_timeout)
        .after_start(move |_| async move {
            let _ = started_tx.send(());
            Ok::<(), std::io::Error>(())
        });
    let run = tokio::spawn(app.run_until(async move {
        let _ = stop_rx.await;
        Ok(())
    }));
    started_rx.await.unwrap();

    let mut busy = TcpStream::connect(http_addr).await.unwrap();
    busy.write_all(b"GET /sleep/30000 HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    let busy_peer = busy.local_addr().unwrap();
    let mut idle = TcpStream::connect(http_addr).await.unwrap();
    idle.write_all(b"GET /sleep/0 HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    read_response(&mut idle).await;
    let grpc_busy_stream = TcpStream::connect(grpc_addr).await.unwrap();
    let grpc_peer = grpc_busy_stream.local_addr().unwrap();
    let (mut h2, h2_conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(grpc_busy_stream))
            .await
            .unwrap();
    let h2_conn = tokio::spawn(h2_conn);
    let call = tokio::spawn(async move { grpc_call(&mut h2, "/test.Sleeper/30000", None).await });
    // Let both requests reach their handlers.
    tokio::time::sleep(Duration::from_millis(200)).await;

    let stopping = Instant::now();
    stop_tx.send(()).unwrap();
    let (_, idle_closed) = closed_within(&mut idle, SOON)
        .await
        .expect("idle still open");
    let outcome = tokio::time::timeout(SOON, run).await.unwrap().unwrap();
    let took = stopping.elapsed();
    assert!(
        took >= stop_timeout && took < stop_timeout + SOON,
        "{took:?}"
    );
    assert!(
        idle_closed < took,
        "the idle connection waited for the busy ones"
    );
    let Err(AppError::StopTimeout { timeout, cut }) = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(timeout, stop_timeout);
    let mut cut: Vec<(&str, SocketAddr, usize)> = cut
        .iter()
        .map(|c| (c.server, c.peer, c.in_flight))
        .collect();
    cut.sort();
    assert_eq!(cut, [("grpc", grpc_peer, 1), ("http", busy_peer, 1)]);
    let message = AppError::StopTimeout {
        timeout,
        cut: vec![kratos::transport::CutConnection {
            server: "http",
            peer: busy_peer,
            in_flight: 1,
        }],
    }
    .to_string();
    assert!(message.contains(&busy_peer.to_string()), "{message}");
    closed_within(&mut busy, SOON)
        .await
        .expect("busy still open");
    let _ = tokio::time::timeout(SOON, call).await.unwrap();
    let _ = tokio::time::timeout(SOON, h2_conn).await.unwrap();
}

/// The HTTP/2 stream limit is announced to clients: with one stream per connection, a second
/// call waits for the first to end.
#[tokio::test]
async fn calls_over_the_stream_limit_wait_for_a_free_stream() {
    let mut server = grpc_server(limits(|l| l.max_concurrent_streams = 1));
    let addr = server.start().await.unwrap();
    let (send, conn) = h2_client(addr).await;
    let conn = tokio::spawn(conn);
    // Let the client learn the server's settings.
    let (status, _) = grpc_call(&mut send.clone(), "/test.Sleeper/0", None).await;
    assert_eq!(status.as_deref(), Some("0"));
    let started = Instant::now();
    let mut first = send.clone();
    let slow = tokio::spawn(async move { grpc_call(&mut first, "/test.Sleeper/800", None).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (status, _) = grpc_call(&mut send.clone(), "/test.Sleeper/0", None).await;
    assert_eq!(status.as_deref(), Some("0"));
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(800),
        "the second call ran alongside: {took:?}"
    );
    assert_eq!(slow.await.unwrap().0.as_deref(), Some("0"));
    drop(send);
    let _ = conn.await;
    server.stop().await.unwrap();
}

/// A gRPC call is bounded by the client's `grpc-timeout` on the server too (as tonic's own
/// server does): the server answers DEADLINE_EXCEEDED.
#[tokio::test]
async fn the_grpc_server_honours_grpc_timeout() {
    let mut server = grpc_server(ConnectionLimits::default());
    let addr = server.start().await.unwrap();
    let (mut send, conn) = h2_client(addr).await;
    let conn = tokio::spawn(conn);
    let started = Instant::now();
    let (status, _) = grpc_call(&mut send, "/test.Sleeper/30000", Some("200m")).await;
    assert_eq!(status.as_deref(), Some("4"), "DEADLINE_EXCEEDED");
    assert!(started.elapsed() < SOON);
    drop(send);
    let _ = conn.await;
    server.stop().await.unwrap();
}

type H2Send = hyper::client::conn::http2::SendRequest<Full<Bytes>>;

async fn h2_client(
    addr: SocketAddr,
) -> (
    H2Send,
    impl std::future::Future<Output = Result<(), hyper::Error>> + Send + 'static,
) {
    let stream = TcpStream::connect(addr).await.unwrap();
    hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
        .await
        .unwrap()
}

/// A gRPC call with an empty message; its `grpc-status` (trailer or header) and HTTP status.
async fn grpc_call(send: &mut H2Send, path: &str, timeout: Option<&str>) -> (Option<String>, u16) {
    let mut request = http::Request::post(format!("http://test{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    if let Some(t) = timeout {
        request = request.header("grpc-timeout", t);
    }
    let request = request
        .body(Full::new(Bytes::from_static(&[0, 0, 0, 0, 0])))
        .unwrap();
    let response = tokio::time::timeout(Duration::from_secs(60), send.send_request(request))
        .await
        .unwrap();
    let Ok(response) = response else {
        return (None, 0);
    };
    let status = response.status().as_u16();
    let in_headers = response
        .headers()
        .get("grpc-status")
        .map(|v| v.to_str().unwrap().to_string());
    let collected = response.into_body().collect().await;
    let in_trailers = collected.ok().and_then(|c| {
        c.trailers()
            .and_then(|t| t.get("grpc-status"))
            .map(|v| v.to_str().unwrap().to_string())
    });
    (in_headers.or(in_trailers), status)
}
