//! Memory and time linear in the input: for each family of inputs (long bodies of every codec,
//! long query strings and paths, long templates, long event streams and lines), the work done
//! for an input four times as large must grow about four times, not sixteen.
//!
//! Work is measured as the bytes and the number of allocations made while the input is
//! handled (client, server and service together, in this process), counted by the global
//! allocator, so the check does not depend on the machine's speed. An input whose handling
//! allocates more than [`MAX_RATIO`] times as much at four times the size fails. The wall
//! time ratio is printed alongside, for developers, and not asserted.
//!
//! This file holds a single test: the allocator's counters are process-wide.
//!
//! Left out here, as they belong to the decoders' limits (another change): deeply nested
//! JSON, YAML, XML and protobuf, and YAML aliases.

mod common;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use common::{Oracle, Request};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

/// Work at four times the size may be at most this many times the work at the size: linear
/// is 4, quadratic 16; the slack covers constant costs and growth strategies.
const MAX_RATIO: f64 = 8.0;

/// The work of one run: bytes allocated, allocations, and the wall time.
#[derive(Debug, Clone, Copy)]
struct Work {
    bytes: f64,
    allocations: f64,
    time: Duration,
}

fn measure(run: &mut dyn FnMut()) -> Work {
    // Warm up (lazy statics, pooled connections), then take the smallest of three runs.
    run();
    let mut best: Option<Work> = None;
    for _ in 0..3 {
        let region = Region::new(GLOBAL);
        let started = Instant::now();
        run();
        let time = started.elapsed();
        let change = region.change();
        let work = Work {
            bytes: (change.bytes_allocated as f64) + (change.bytes_reallocated.max(0) as f64),
            allocations: (change.allocations + change.reallocations) as f64,
            time,
        };
        best = Some(match best {
            Some(b) if b.bytes <= work.bytes => Work {
                time: b.time.min(work.time),
                ..b
            },
            Some(b) => Work {
                time: b.time.min(work.time),
                ..work
            },
            None => work,
        });
    }
    best.unwrap_or_else(|| unreachable!("three runs were measured"))
}

/// Measures `family` at size `n` and `4n`; returns a failure line when it grows faster than
/// linearly.
fn check_family(name: &str, n: usize, family: &mut dyn FnMut(usize)) -> Option<String> {
    let small = measure(&mut || family(n));
    let large = measure(&mut || family(4 * n));
    let bytes = large.bytes / small.bytes.max(1.0);
    let allocations = large.allocations / small.allocations.max(1.0);
    let time = large.time.as_secs_f64() / small.time.as_secs_f64().max(1e-9);
    eprintln!(
        "scaling {name}: n={n}: {:.0} B in {:.0} allocations; 4n: x{bytes:.2} bytes, \
         x{allocations:.2} allocations, x{time:.2} time",
        small.bytes, small.allocations
    );
    (bytes > MAX_RATIO || allocations > MAX_RATIO).then(|| {
        format!("{name}: at 4x the size, x{bytes:.2} bytes and x{allocations:.2} allocations")
    })
}

fn post(codec: &str, body: String) -> Request {
    Request {
        method: "POST".into(),
        target: "/v1/shelves".into(),
        content_type: Some(format!("application/{codec}")),
        accept: None,
        body: body.into_bytes(),
    }
}

fn get(target: String) -> Request {
    Request {
        method: "GET".into(),
        target,
        content_type: None,
        accept: None,
        body: Vec::new(),
    }
}

/// A family of inputs: its name, its base size `n`, and how to build the input of a size.
type Family<T> = (&'static str, usize, fn(usize) -> T);

/// Request families: each builds a request of size `n`.
fn requests() -> Vec<Family<Request>> {
    vec![
        ("json: books", 200, |n| {
            let books: Vec<String> = (0..n)
                .map(|i| {
                    format!(
                        r#"{{"name":"b{i}","tags":["x","y"],"attrs":{{"k{i}":"v"}},"published":"2023-11-14T22:13:20Z"}}"#
                    )
                })
                .collect();
            post(
                "json",
                format!(r#"{{"shelf":{{"books":[{}]}}}}"#, books.join(",")),
            )
        }),
        ("json: long escaped string", 2000, |n| {
            post(
                "json",
                format!(r#"{{"parent":"{}"}}"#, "a\\u00e9\\n\\\"".repeat(n)),
            )
        }),
        ("json: many map keys", 500, |n| {
            let labels: Vec<String> = (0..n).map(|i| format!(r#""k{i}":"v""#)).collect();
            post("json", format!(r#"{{"labels":{{{}}}}}"#, labels.join(",")))
        }),
        ("yaml: list and map", 200, |n| {
            let mut body = String::from("tags:\n");
            for i in 0..n {
                body.push_str(&format!("  - t{i}\n"));
            }
            body.push_str("labels:\n");
            for i in 0..n {
                body.push_str(&format!("  k{i}: v\n"));
            }
            post("yaml", body)
        }),
        ("xml: flat elements", 300, |n| {
            let mut body = String::from("<CreateShelfRequest>");
            for i in 0..n {
                body.push_str(&format!(
                    "<Tags>t{i} &amp; u</Tags><Shelf><Name>s</Name></Shelf>"
                ));
            }
            body.push_str("</CreateShelfRequest>");
            post("xml", body)
        }),
        ("form: pairs", 300, |n| {
            let pairs: Vec<String> = (0..n)
                .map(|i| format!("tags=t{i}&labels%5Bk{i}%5D=v&shelf.books.name=b"))
                .collect();
            post("x-www-form-urlencoded", pairs.join("&"))
        }),
        ("query: every kind of key", 150, |n| {
            let pairs: Vec<String> = (0..n)
                .map(|i| {
                    format!(
                        "ids={i}&tags=t%20{i}&labels[k{i}]=v&codes[{i}]=c&filter.keywords=k&big_ids={i}"
                    )
                })
                .collect();
            get(format!("/v1/search?{}", pairs.join("&")))
        }),
        ("path: many segments", 300, |n| {
            get(format!("/v1/files/{}", vec!["seg%20x"; n].join("/")))
        }),
        ("proto: repeated fields", 300, |n| {
            // CreateShelfRequest: tags (3) and labels (7, map entries), each repeated n times.
            let mut body = Vec::new();
            for i in 0..n {
                let tag = format!("t{i}");
                body.push(0x1a);
                body.push(tag.len() as u8);
                body.extend(tag.as_bytes());
                let key = format!("k{i}");
                let entry_len = 2 + key.len() + 3;
                body.extend([0x3a, entry_len as u8, 0x0a, key.len() as u8]);
                body.extend(key.as_bytes());
                body.extend([0x12, 1, b'v']);
            }
            Request {
                body,
                ..post("proto", String::new())
            }
        }),
    ]
}

#[test]
fn work_grows_linearly_with_the_input() {
    let oracle = Oracle::start();
    let mut failures = Vec::new();

    for (name, n, build) in requests() {
        let mut family = |size: usize| {
            let request = build(size);
            match oracle.send(&request) {
                Ok(reply) if reply.status < 500 => {}
                Ok(reply) => panic!("{name}: {} at size {size}", reply.status),
                Err(e) => panic!("{name}: {e}"),
            }
        };
        failures.extend(check_family(name, n, &mut family));
    }

    // Path templates: parse and match a template of n segments.
    failures.extend(check_family("path template: segments", 200, &mut |n| {
        let template: String = (0..n).map(|i| format!("/l{i}/{{v{i}}}")).collect();
        let path: String = (0..n).map(|i| format!("/l{i}/x%20{i}")).collect();
        let parsed =
            kratos_path_template::Template::parse(&template).unwrap_or_else(|e| panic!("{e}"));
        let captures = parsed.matches(&path).unwrap_or_else(|| panic!("no match"));
        assert_eq!(
            captures.decode_values(&parsed).map(|v| v.len()).ok(),
            Some(n)
        );
    }));

    // Server-Sent Events read by the typed client: many events, one event of many data
    // lines, and one long line in small chunks.
    let current = Arc::new(Mutex::new(Vec::new()));
    let addr = oracle
        .runtime
        .block_on(common::serve_events(current.clone()));
    let client = {
        let _guard = oracle.runtime.enter();
        kratos::http::Client::builder(addr.to_string())
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap_or_else(|e| panic!("client: {e}"))
    };
    let events: [Family<Vec<Vec<u8>>>; 3] = [
        ("sse: many events", 200, |n| {
            vec!["data: {\"name\":\"b\"}\n\n".repeat(n).into_bytes()]
        }),
        ("sse: many data lines", 500, |n| {
            let mut event = "data: {\"name\":\n".to_string();
            event.push_str(&"data: \n".repeat(n));
            event.push_str("data: \"b\"}\n\n");
            vec![event.into_bytes()]
        }),
        ("sse: a long line in small chunks", 256, |n| {
            let mut line = b"data: {\"name\":\"".to_vec();
            line.extend(vec![b'x'; n * 64]);
            line.extend(b"\"}\n\n");
            line.chunks(64).map(<[u8]>::to_vec).collect()
        }),
    ];
    for (name, n, build) in events {
        let mut family = |size: usize| {
            *current.lock().unwrap_or_else(PoisonError::into_inner) = build(size);
            let count = oracle.runtime.block_on(async {
                use tokio_stream::StreamExt as _;
                let stream = client
                    .send_events::<oracle_server::api::Book>(http::Method::GET, "/", None)
                    .await
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                stream
                    .map(|item| item.unwrap_or_else(|e| panic!("{name}: {e}")))
                    .collect::<Vec<_>>()
                    .await
                    .len()
            });
            assert!(count >= 1, "{name}: no events");
        };
        failures.extend(check_family(name, n, &mut family));
    }
    oracle.stop();
    assert!(failures.is_empty(), "superlinear work: {failures:#?}");
}
