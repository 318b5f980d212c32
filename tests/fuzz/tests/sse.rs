//! Fuzzes the Server-Sent Events reader of the HTTP client (the typed stream of a
//! server-streaming method).
//!
//! A raw HTTP server sends generated event streams (data, event, id, retry, comment and
//! unknown fields; LF, CRLF and CR line ends; multi-line data; valid and broken JSON; error
//! events; non-UTF-8 bytes; a leading byte-order mark; an unfinished last event), cut into chunks at arbitrary places and
//! flushed one by one. The client reads them with `kratos::http::Client::send_events`.
//!
//! Properties: no panic or hang; the stream ends once the body does; and what the client
//! yields is what a whole-stream reading of the HTML standard's event-stream rules gives (the
//! messages, in order, up to and including the first error), wherever the chunks were cut.

mod common;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use common::serve_events;
use fuzz::input::{self, pick};
use fuzz::{GenResult, Target, Unstructured};
use oracle_server::api::Book;

/// An event stream, as the chunks it is sent in.
#[derive(Debug, Clone)]
struct Stream {
    chunks: Vec<Vec<u8>>,
}

const LINE_ENDS: &[&str] = &["\n", "\r\n", "\r"];

/// One line of an event stream, without its end.
fn line(u: &mut Unstructured<'_>) -> GenResult<Vec<u8>> {
    let text = match u.int_in_range(0..=14)? {
        0..=4 => format!("data:{}{}", pick(u, &[" ", "", "  "])?, json(u)?),
        5 => format!(
            "event:{}{}",
            pick(u, &[" ", ""])?,
            pick(u, &["error", "message", "", "ping", "Error", " error"])?
        ),
        6 => "data".to_string(),
        7 => format!(": {}", input::text(u, 3)?),
        8 => format!("id: {}", input::word(u, 4)?),
        9 => format!("retry: {}", pick(u, &["10", "x", ""])?),
        10 => format!("{}: {}", input::word(u, 5)?, input::text(u, 2)?),
        11 => String::new(),
        12 => format!(
            "data: {{\"code\":{},\"reason\":\"R\",\"message\":\"m\"}}",
            pick(u, &["500", "404", "\"x\""])?
        ),
        13 => return input::take(u, 8),
        _ => input::text(u, 3)?,
    };
    Ok(text.into_bytes())
}

/// JSON for a data line: a book, a broken or empty one, or any text.
fn json(u: &mut Unstructured<'_>) -> GenResult<String> {
    Ok(match u.int_in_range(0..=5)? {
        0..=2 => format!(
            "{{\"name\":{:?},\"pages\":\"{}\"}}",
            input::word(u, 6)?,
            u.int_in_range(0..=999)?
        ),
        3 => pick(
            u,
            &[
                "{}",
                "",
                "{",
                "null",
                "[]",
                "{\"pages\":\"x\"}",
                "{\"name\":1}",
            ],
        )?
        .to_string(),
        4 => "{\"name\":".to_string(),
        _ => input::text(u, 3)?,
    })
}

fn generate(u: &mut Unstructured<'_>) -> GenResult<Stream> {
    let mut whole = Vec::new();
    for _ in 0..u.int_in_range(0..=24)? {
        whole.extend(line(u)?);
        // Mostly ended lines, and now and then two lines run together.
        if !u.ratio(1, 30)? {
            whole.extend(pick(u, LINE_ENDS)?.as_bytes());
        }
        if u.ratio(1, 3)? {
            whole.extend(pick(u, LINE_ENDS)?.as_bytes());
        }
    }
    // Now and then a byte-order mark first, which the reader must skip (once).
    if u.ratio(1, 10)? {
        whole.splice(0..0, "\u{FEFF}".bytes());
    }
    let mut cuts: Vec<usize> = Vec::new();
    for _ in 0..u.int_in_range(0..=8)? {
        cuts.push(u.int_in_range(0..=whole.len())?);
    }
    cuts.sort_unstable();
    let mut chunks = Vec::new();
    let mut start = 0;
    for cut in cuts {
        chunks.push(whole[start..cut].to_vec());
        start = cut;
    }
    chunks.push(whole[start..].to_vec());
    Ok(Stream { chunks })
}

/// The HTML standard's event-stream interpretation of a whole stream (one leading byte-order
/// mark skipped): the `(type, data)` of each dispatched event.
fn reference_events(whole: &[u8]) -> Vec<(String, String)> {
    let whole = whole.strip_prefix("\u{FEFF}".as_bytes()).unwrap_or(whole);
    let text = String::from_utf8_lossy(whole);
    let mut events = Vec::new();
    let (mut kind, mut data) = (String::new(), String::new());
    let mut rest: &str = &text;
    // Only lines with an end are processed; an unfinished last line is dropped.
    while let Some(end) = rest.find(['\r', '\n']) {
        let line = &rest[..end];
        let after = &rest[end..];
        rest = after
            .strip_prefix("\r\n")
            .unwrap_or_else(|| after.get(1..).unwrap_or_default());
        if line.is_empty() {
            if data.is_empty() {
                kind.clear();
                continue;
            }
            if data.ends_with('\n') {
                data.pop();
            }
            events.push((std::mem::take(&mut kind), std::mem::take(&mut data)));
            continue;
        }
        if line.starts_with(':') {
            continue;
        }
        let (name, value) = match line.split_once(':') {
            Some((n, v)) => (n, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match name {
            "data" => {
                data.push_str(value);
                data.push('\n');
            }
            "event" => kind = value.to_string(),
            _ => {}
        }
    }
    events
}

/// What the typed client must yield for the events: messages (the default one for empty
/// data), up to and including the first error; other event types are skipped.
fn expected(events: &[(String, String)]) -> Vec<Result<Book, ()>> {
    let mut out = Vec::new();
    for (kind, data) in events {
        let item = match kind.as_str() {
            "" | "message" if data.is_empty() => Ok(Book::default()),
            "" | "message" => serde_json::from_str::<Book>(data).map_err(drop),
            "error" => Err(()),
            _ => continue,
        };
        let end = item.is_err();
        out.push(item);
        if end {
            break;
        }
    }
    out
}

fn check(
    runtime: &tokio::runtime::Runtime,
    client: &kratos::http::Client,
    current: &Mutex<Vec<Vec<u8>>>,
    stream: &Stream,
) -> fuzz::Outcome {
    *current.lock().unwrap_or_else(PoisonError::into_inner) = stream.chunks.clone();
    let whole = stream.chunks.concat();
    let want = expected(&reference_events(&whole));
    let got: Vec<Result<Book, ()>> = runtime.block_on(async {
        use tokio_stream::StreamExt as _;
        let read = async {
            let events = client
                .send_events::<Book>(http::Method::GET, "/events", None)
                .await
                .map_err(|e| format!("the call failed: {e}"))?;
            Ok::<_, String>(events.map(|item| item.map_err(drop)).collect().await)
        };
        match tokio::time::timeout(Duration::from_secs(20), read).await {
            Ok(result) => result,
            Err(_) => Err("the stream did not end within 20 s".to_string()),
        }
    })?;
    if got != want {
        return Err(format!(
            "the client read {got:?}, the whole stream says {want:?}\nstream: {:?}",
            String::from_utf8_lossy(&whole)
        ));
    }
    let messages = got.iter().filter(|i| i.is_ok()).count();
    Ok(match (messages, got.last()) {
        (0, None) => "no events",
        (_, Some(Err(()))) => "messages then an error",
        _ => "messages",
    }
    .to_string())
}

#[test]
fn event_streams_read_the_same_wherever_they_are_cut() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    let current = Arc::new(Mutex::new(Vec::new()));
    let addr = runtime.block_on(serve_events(current.clone()));
    let client = {
        let _guard = runtime.enter();
        kratos::http::Client::builder(addr.to_string())
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap_or_else(|e| panic!("client: {e}"))
    };
    let corpus: Vec<Stream> = fuzz::corpus_files("sse")
        .into_iter()
        .map(|(_, bytes)| {
            // Each corpus stream also goes in one byte at a time.
            Stream {
                chunks: bytes.iter().map(|b| vec![*b]).collect(),
            }
        })
        .collect();
    let report = Target {
        name: "sse",
        ci_iters: 15_000,
        max_bytes: 2048,
        corpus,
    }
    .run(
        |u, _| generate(u),
        |s| check(&runtime, &client, &current, s),
    );
    assert!(report.count("messages") > 1_500, "{report:?}");
    assert!(report.count("messages then an error") > 1_500, "{report:?}");
}
