//! A subscriber the program set is left in place by `App`, and receives the servers'
//! listening addresses as Kratos prints them. (Its own test binary: it sets the global
//! subscriber.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn the_programs_subscriber_stays_and_gets_the_listening_addresses() {
    let capture = Capture::default();
    let writer = capture.clone();
    kratos::log::Logger::new()
        .level("info")
        .service("mine", "kept", "v1")
        .writer(move || writer.clone())
        .init()
        .unwrap();
    kratos::App::new()
        .name("other-name")
        .server(
            kratos::http::Server::builder()
                .address("127.0.0.1:0")
                .build(),
        )
        .server(
            kratos::grpc::Server::builder()
                .address("127.0.0.1:0")
                .build(),
        )
        .run_until(async { Ok(()) })
        .await
        .unwrap();
    let text = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    for expected in [
        "msg=\"[HTTP] server listening on: 127.0.0.1:",
        "msg=\"[gRPC] server listening on: 127.0.0.1:",
    ] {
        let line = text
            .lines()
            .find(|l| l.contains(expected))
            .unwrap_or_else(|| panic!("{expected} in {text}"));
        // Our logger's identity, not the app's: the app installed nothing.
        assert!(line.contains(" service.name=kept "), "{line}");
    }
}
