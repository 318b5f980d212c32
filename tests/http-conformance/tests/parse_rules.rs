//! The request path's parsers (issues 19 and 20), through a real server and the typed client.
//! Each test states its rule and checks it with several requests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use kratos::codec::Codec;
use kratos::transport::Server as _;
use kratos::types::{Duration, Timestamp};
use serde_json::json;

use common::{Reply, call, get};
use http_conformance::helloworld::v1 as pb;

const JSON: (&str, &str) = ("content-type", "application/json");
const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");

/// The echo's generated routes, plus a plain handler answering its decoded path variable.
async fn server() -> (kratos::http::Server, SocketAddr) {
    let mut server = kratos::http::Server::builder()
        .address("127.0.0.1:0")
        .build();
    pb::register_greeter_http_server(&mut server, Arc::new(http_conformance::Echo)).unwrap();
    server
        .handle("GET", "/files/{path=**}", |_, vars| async move {
            http::Response::new(Bytes::from(vars.join("|")))
        })
        .unwrap();
    let addr = server.start().await.unwrap();
    (server, addr)
}

fn typed_client(addr: SocketAddr, codec: Codec) -> pb::GreeterHttpClient {
    pb::GreeterHttpClient::new(
        kratos::http::Client::builder(addr.to_string())
            .codec(codec)
            .build()
            .unwrap(),
    )
}

/// A 400 `CODEC` Kratos error whose message contains every one of `parts`.
fn assert_codec_400(r: &Reply, parts: &[&str], context: &str) {
    assert_eq!(r.status, 400, "{context}: {}", r.text());
    let body = r.json();
    assert_eq!(body["reason"], "CODEC", "{context}: {body}");
    let message = body["message"].as_str().unwrap_or_default();
    for part in parts {
        assert!(
            message.contains(part),
            "{context}: {message:?} lacks {part:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Rule: in a path, an escape is `%` and exactly two hexadecimal digits. A path holding any
// other `%` (a sign, a space, one digit, a non-hex letter, nothing) is refused with 400 before
// routing, as Go's server refuses the request line: on routes and unknown paths alike, in
// literals and in captures.

#[tokio::test]
async fn a_path_with_a_bad_escape_is_refused_with_400() {
    let (mut s, addr) = server().await;
    for (path, quoted) in [
        ("/helloworld/%+7", "%+7"),
        ("/helloworld/a%-1", "%-1"),
        ("/helloworld/%7", "%7"),
        ("/helloworld/%zz", "%zz"),
        ("/helloworld/100%", "%"),
        ("/helloworld/a%2", "%2"),
        ("/hello%+7orld/x", "%+7"),
        ("/v1/messages/%g1/books", "%g1"),
        ("/files/a/%+F/b", "%+F"),
        ("/no/such/route/%-5", "%-5"),
        ("/helloworld/x?name=%41&q=%zz%+7", ""),
    ] {
        let r = get(addr, path).await;
        if quoted.is_empty() {
            // Bad escapes in the query are not the path's: the request is answered.
            assert_eq!(r.status, 200, "{path}: {}", r.text());
            continue;
        }
        assert_codec_400(&r, &[&format!("invalid URL escape \"{quoted}\"")], path);
    }
    // Good escapes still decode, in literals and captures, upper or lower case.
    let r = get(addr, "/helloworld/%4b%52%41%54%4F%53").await;
    assert_eq!(
        (r.status, r.json()["message"].clone()),
        (200, json!("Hello KRATOS"))
    );
    let r = get(addr, "/hello%77orld/a%2Bb").await;
    assert_eq!(
        (r.status, r.json()["message"].clone()),
        (200, json!("Hello a+b"))
    );
    let r = get(addr, "/files/a%20b/%E4%B8%AD").await;
    assert_eq!((r.status, r.text()), (200, "a b/中".to_string()));
    s.stop().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Rule: queries and form bodies are read as Go's url.ParseQuery reads them: a pair holding an
// escape that is not `%` and two hexadecimal digits is dropped (whatever follows the `%`:
// a sign, a space, one digit, a letter), and the other pairs bind.

#[tokio::test]
async fn a_query_or_form_pair_with_a_bad_escape_is_dropped() {
    let (mut s, addr) = server().await;
    for (query, name, age) in [
        ("name=%+7&age=3", "", 3),
        ("name=%-1&age=4", "", 4),
        ("name=%7&age=5", "", 5),
        ("name=a%2&age=6", "", 6),
        ("name=ok&age=%+7", "ok", 0),
        ("name=%2B7&age=%37", "+7", 7),
        ("na%+6De=x&age=8", "", 8),
    ] {
        let r = get(addr, &format!("/bind?{query}")).await;
        assert_eq!(r.status, 200, "{query}: {}", r.text());
        let body = r.json();
        assert_eq!(
            (body["name"].clone(), body["age"].clone()),
            (json!(name), json!(age)),
            "{query}"
        );
        let r = call(addr, "POST", "/bind", &[FORM], query).await;
        assert_eq!(r.status, 200, "form {query}: {}", r.text());
        let body = r.json();
        assert_eq!(
            (body["name"].clone(), body["age"].clone()),
            (json!(name), json!(age)),
            "form {query}"
        );
    }
    s.stop().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Rule: a duration in a query or form body is Go's time.ParseDuration syntax, every byte
// checked; a timestamp is RFC 3339 within 0001-01-01T00:00:00Z..9999-12-31T23:59:59.999999999Z
// without leap seconds. Anything else is 400 CODEC naming the field.

#[tokio::test]
async fn bad_durations_and_timestamps_in_queries_and_forms_are_400_naming_the_field() {
    let (mut s, addr) = server().await;
    let bad = [
        ("duration", "1.5.5s"),
        ("duration", "1..5s"),
        ("duration", "1.%2B5s"),
        ("duration", "1.-5s"),
        ("duration", "1.5%2Fs"),
        ("duration", "1%3A5s"),
        ("duration", "--1s"),
        ("duration", "9223372036854775808ns"),
        ("duration", "1x"),
        ("timestamp", "2023-01-02T03:04:05.x5Z"),
        ("timestamp", "2023-01-02T03:04:05.%2B5Z"),
        ("timestamp", "0000-12-31T00:00:00Z"),
        ("timestamp", "2016-12-31T23:59:60Z"),
        ("timestamp", "10000-01-01T00:00:00Z"),
        ("timestamp", "2023-13-01T00:00:00Z"),
    ];
    for (field, value) in bad {
        let query = format!("{field}={value}");
        let want = format!("parsing field \"{field}\"");
        let r = get(addr, &format!("/bind?{query}")).await;
        assert_codec_400(&r, &[&want], &query);
        let r = call(addr, "POST", "/bind", &[FORM], &query).await;
        assert_codec_400(&r, &[&want], &format!("form {query}"));
    }
    // The ends of the ranges bind and are written back in proto3 JSON.
    let r = get(
        addr,
        "/bind?duration=-9223372036854775808ns&timestamp=0001-01-01T00:00:00Z",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["duration"], "-9223372036.854775808s");
    assert_eq!(r.json()["timestamp"], "0001-01-01T00:00:00Z");
    let r = call(
        addr,
        "POST",
        "/bind",
        &[FORM],
        "duration=2562047h47m16.854775807s&timestamp=9999-12-31T23%3A59%3A59.999999999Z",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["duration"], "9223372036.854775807s");
    assert_eq!(r.json()["timestamp"], "9999-12-31T23:59:59.999999999Z");
    s.stop().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Rule: a JSON body's Duration is the proto3 form within ±315,576,000,000 s (nanos of the
// seconds' sign, below 10^9), its Timestamp RFC 3339 within the proto range; anything else is
// 400 CODEC naming the value.

#[tokio::test]
async fn json_bodies_refuse_durations_and_timestamps_out_of_range() {
    let (mut s, addr) = server().await;
    for (field, value) in [
        ("duration", "315576000001s"),
        ("duration", "-315576000001s"),
        ("duration", "--9223372036854775808s"),
        ("duration", "-9223372036854775808s"),
        ("duration", "1.5.5s"),
        ("duration", "1.+5s"),
        ("duration", "1.0000000001s"),
        ("duration", "+1s"),
        ("duration", "1.s"),
        ("timestamp", "0000-12-31T23:59:59Z"),
        ("timestamp", "9999-12-31T23:59:59-01:00"),
        ("timestamp", "2016-12-31T23:59:60Z"),
        ("timestamp", "2023-01-02T03:04:05.+5Z"),
    ] {
        let body = json!({ field: value }).to_string();
        let r = call(addr, "POST", "/bind", &[JSON], &body).await;
        assert_codec_400(&r, &[value], &body);
    }
    let body = json!({
        "duration": "-315576000000.999999999s",
        "timestamp": "9999-12-31T23:59:59.999999999Z",
    })
    .to_string();
    let r = call(addr, "POST", "/bind", &[JSON], &body).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["duration"], "-315576000000.999999999s");
    assert_eq!(r.json()["timestamp"], "9999-12-31T23:59:59.999999999Z");
    s.stop().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Rule: the typed client never writes a Duration or Timestamp outside the proto range (in the
// query, as `GET /bind` sends them, or in a body): the call fails with 400 CODEC before
// anything is sent, as Go's protojson refuses to marshal such a value. Values at the ends of
// the range go and come back unchanged.

#[tokio::test]
async fn the_typed_client_refuses_to_write_values_out_of_range() {
    let (mut s, addr) = server().await;
    let out_of_range = [
        (
            Some(Duration {
                seconds: i64::MIN,
                nanos: 0,
            }),
            None,
        ),
        (
            Some(Duration {
                seconds: 315_576_000_001,
                nanos: 0,
            }),
            None,
        ),
        (
            Some(Duration {
                seconds: 1,
                nanos: -1,
            }),
            None,
        ),
        (
            Some(Duration {
                seconds: 0,
                nanos: 1_000_000_000,
            }),
            None,
        ),
        (
            None,
            Some(Timestamp {
                seconds: i64::MAX,
                nanos: 0,
            }),
        ),
        (
            None,
            Some(Timestamp {
                seconds: -62_135_596_801,
                nanos: 0,
            }),
        ),
        (
            None,
            Some(Timestamp {
                seconds: 0,
                nanos: -1,
            }),
        ),
    ];
    for codec in [Codec::Json, Codec::Yaml, Codec::Form] {
        let client = typed_client(addr, codec);
        for (duration, timestamp) in out_of_range {
            let request = pb::Complex {
                duration,
                timestamp,
                ..Default::default()
            };
            let err = client.bind(&request).await.unwrap_err();
            assert_eq!(
                (err.code(), err.reason()),
                (400, "CODEC"),
                "{codec:?} {request:?}: {err:?}"
            );
        }
        // `GET /bind` carries them in the query, which the server reads as Go durations: the
        // longest duration Go reads and the last instant of the Timestamp range go and come
        // back unchanged.
        let ends = pb::Complex {
            duration: Some(Duration {
                seconds: -9_223_372_036,
                nanos: -854_775_808,
            }),
            timestamp: Some(Timestamp {
                seconds: 253_402_300_799,
                nanos: 999_999_999,
            }),
            ..Default::default()
        };
        if codec != Codec::Form {
            // (The client reads form replies only through generated binders it lacks.)
            assert_eq!(client.bind(&ends).await.unwrap(), ends, "{codec:?}");
        }
    }
    s.stop().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Rule: in an XML body, a character reference is `&#` and decimal digits or `&#x` and
// hexadecimal digits, nothing else (no sign, no space); another is a 400 CODEC naming it.

#[tokio::test]
async fn xml_character_references_are_digits_only() {
    let (mut s, addr) = server().await;
    const XML: (&str, &str) = ("content-type", "application/xml");
    for (reference, want) in [("&#x4B;", "K"), ("&#75;", "K"), ("&#x4f60;", "你")] {
        let body = format!("<Complex><Name>{reference}ratos</Name></Complex>");
        let r = call(addr, "POST", "/bind", &[XML], &body).await;
        assert_eq!(r.status, 200, "{body}: {}", r.text());
        assert_eq!(r.json()["name"], format!("{want}ratos"), "{body}");
    }
    for reference in ["&#x+4B;", "&#+75;", "&#-75;", "&#x;", "&#x4G;", "&#xD800;"] {
        let body = format!("<Complex><Name>{reference}ratos</Name></Complex>");
        let r = call(addr, "POST", "/bind", &[XML], &body).await;
        assert_codec_400(&r, &["entity"], &body);
    }
    s.stop().await.unwrap();
}
