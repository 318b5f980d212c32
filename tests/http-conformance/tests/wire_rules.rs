//! The second pass of wire conformance with Kratos v2.9.2 (issue 10, rules 2 to 6; rule 1 is
//! in `response_body.rs`). Each test states the rule and checks it with several requests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use kratos::codec::Codec;
use kratos::transport::Server as _;
use serde_json::json;

use common::{call, call_bytes, get, get_as};
use http_conformance::wire::v1 as wp;

const JSON: (&str, &str) = ("content-type", "application/json");
const FORM: &str = "application/x-www-form-urlencoded";

async fn server() -> (kratos::http::Server, SocketAddr) {
    let mut server = kratos::http::Server::builder()
        .address("127.0.0.1:0")
        .build();
    wp::register_wire_http_server(&mut server, Arc::new(http_conformance::Wire)).unwrap();
    let addr = server.start().await.unwrap();
    (server, addr)
}

fn client(addr: SocketAddr, codec: Codec) -> wp::WireHttpClient {
    wp::WireHttpClient::new(
        kratos::http::Client::builder(addr.to_string())
            .codec(codec)
            .build()
            .unwrap(),
    )
}

// ---------------------------------------------------------------------------------------------
// Rule 2: non-finite floats are the proto3 JSON strings "NaN", "Infinity" and "-Infinity" in
// every reply (fields, lists, map values, wrappers, optional fields), whatever bound them, and
// are read back from those strings in request bodies and by the typed client.

#[tokio::test]
async fn non_finite_floats_bound_from_the_query_are_proto3_strings() {
    let (mut s, addr) = server().await;
    let r = get(
        addr,
        "/wire/numbers?score=NaN&ratio=Infinity&samples=-Infinity&samples=1.5&ratios=NaN\
         &weights%5Ba%5D=Infinity&factors.b=-Infinity&dval=NaN&fval=-Infinity&limit=Infinity",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let body = r.json();
    assert_eq!(body["score"], "NaN");
    assert_eq!(body["ratio"], "Infinity");
    assert_eq!(body["samples"], json!(["-Infinity", 1.5]));
    assert_eq!(body["ratios"], json!(["NaN"]));
    assert_eq!(body["weights"], json!({"a": "Infinity"}));
    assert_eq!(body["factors"], json!({"b": "-Infinity"}));
    assert_eq!(body["dval"], "NaN");
    assert_eq!(body["fval"], "-Infinity");
    assert_eq!(body["limit"], "Infinity");
    // The spellings Go's strconv.ParseFloat reads bind too (Kratos binds the query with it).
    for (query, want) in [
        ("score=inf", json!("Infinity")),
        ("score=-Inf", json!("-Infinity")),
        ("score=%2BInfinity", json!("Infinity")),
        ("score=nan", json!("NaN")),
        ("score=1e308", json!(1e308)),
    ] {
        let r = get(addr, &format!("/wire/numbers?{query}")).await;
        assert_eq!(r.json()["score"], want, "{query}");
    }
    // Out of range is still an error, not an infinity.
    let r = get(addr, "/wire/numbers?ratio=1e40").await;
    assert_eq!(r.status, 400, "{}", r.text());
    s.stop().await.unwrap();
}

#[tokio::test]
async fn non_finite_floats_are_read_from_request_bodies() {
    let (mut s, addr) = server().await;
    let body = r#"{"score":"-Infinity","ratio":"NaN","samples":["Infinity",2,"NaN"],
        "weights":{"w":"NaN"},"dval":"-Infinity","fval":"Infinity","limit":"NaN"}"#;
    let r = call(addr, "POST", "/wire/numbers", &[JSON], body).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let got = r.json();
    assert_eq!(got["score"], "-Infinity");
    assert_eq!(got["ratio"], "NaN");
    assert_eq!(got["samples"], json!(["Infinity", 2.0, "NaN"]));
    assert_eq!(got["weights"], json!({"w": "NaN"}));
    assert_eq!(got["dval"], "-Infinity");
    assert_eq!(got["fval"], "Infinity");
    assert_eq!(got["limit"], "NaN");
    // Another text in a float is a 400, as before.
    let r = call(
        addr,
        "POST",
        "/wire/numbers",
        &[JSON],
        r#"{"score":"many"}"#,
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
    s.stop().await.unwrap();
}

#[tokio::test]
async fn non_finite_floats_in_form_and_yaml_replies() {
    let (mut s, addr) = server().await;
    let r = get_as(
        addr,
        "/wire/numbers?score=NaN&samples=Infinity&samples=-Infinity&page=1&ratio=0.5",
        FORM,
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.text(),
        "page=1&ratio=0.5&samples=Infinity&samples=-Infinity&score=NaN"
    );
    let r = get_as(
        addr,
        "/wire/numbers?score=-Infinity&page=1",
        "application/yaml",
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains("score: -Infinity\n"), "{}", r.text());
    s.stop().await.unwrap();
}

/// The typed client sends non-finite floats as `NaN`/`Infinity`/`-Infinity` (in the query and
/// in bodies) and reads them back, in JSON and YAML.
#[tokio::test]
async fn the_client_round_trips_non_finite_floats() {
    let (mut s, addr) = server().await;
    let sent = wp::Numbers {
        score: f64::NAN,
        ratio: f32::NEG_INFINITY,
        samples: vec![f64::INFINITY, 0.5, f64::NAN],
        ratios: vec![f32::NAN],
        weights: [("w".to_string(), f64::NEG_INFINITY)].into(),
        factors: [("f".to_string(), f32::INFINITY)].into(),
        dval: Some(pbjson_types::DoubleValue { value: f64::NAN }),
        fval: Some(pbjson_types::FloatValue {
            value: f32::INFINITY,
        }),
        limit: Some(f64::NEG_INFINITY),
        query: "q".into(),
        page: 3,
        tags: vec![],
    };
    for codec in [Codec::Json, Codec::Yaml] {
        let c = client(addr, codec);
        let by_query = c.query_numbers(&sent).await.unwrap();
        assert_eq!(format!("{by_query:?}"), format!("{sent:?}"), "{codec:?}");
        let by_body = c.post_numbers(&sent).await.unwrap();
        assert_eq!(format!("{by_body:?}"), format!("{sent:?}"), "{codec:?}");
    }
    s.stop().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Rule 3: the query is read as Go's url.ParseQuery reads it: a pair whose key or value has an
// invalid percent-escape is dropped (so is a pair holding a `;`), and the other pairs still
// bind. Form bodies follow the same rule (Kratos' form codec parses them the same way).

#[tokio::test]
async fn a_pair_with_a_bad_escape_is_dropped_and_the_others_bind() {
    let (mut s, addr) = server().await;
    for (query, want_query, want_page, want_tags) in [
        ("query=%zz&page=2", "", 2, json!([])),
        ("query=ok&page=%2", "ok", 0, json!([])),
        (
            "query=a%20b&tags=%zz&tags=b&tags=c%",
            "a b",
            0,
            json!(["b"]),
        ),
        ("%zz=1&page=3&qu%ery=x", "", 3, json!([])),
        ("query=100%25&page=4", "100%", 4, json!([])),
        ("query=a;b&page=5", "", 5, json!([])),
    ] {
        let r = get(addr, &format!("/wire/numbers?{query}")).await;
        assert_eq!(r.status, 200, "{query}: {}", r.text());
        let body = r.json();
        assert_eq!(body["query"], want_query, "{query}");
        assert_eq!(body["page"], want_page, "{query}");
        assert_eq!(body["tags"], want_tags, "{query}");
    }
    let r = call(
        addr,
        "POST",
        "/wire/numbers",
        &[("content-type", FORM)],
        "query=%G0&page=6&tags=x",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        (
            r.json()["query"].clone(),
            r.json()["page"].clone(),
            r.json()["tags"].clone()
        ),
        (json!(""), json!(6), json!(["x"]))
    );
    s.stop().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Rule 4: form-encoded replies (`Accept: application/x-www-form-urlencoded`), messages and error
// bodies alike, list their keys sorted as Go's url.Values.Encode does (the values of a repeated
// key keep their order), escaped as url.QueryEscape.

#[tokio::test]
async fn form_replies_list_keys_sorted() {
    let (mut s, addr) = server().await;
    let r = get_as(
        addr,
        "/wire/numbers?tags=z&tags=a&score=1.5&ratio=0.5&query=q+r%2Fs%7E&page=2\
         &samples=2.5&samples=1.5",
        FORM,
    )
    .await;
    assert_eq!((r.status, r.header("content-type")), (200, Some(FORM)));
    assert_eq!(
        r.text(),
        "page=2&query=q+r%2Fs~&ratio=0.5&samples=2.5&samples=1.5&score=1.5&tags=z&tags=a"
    );
    let refusal = r#"{"code":409,"reason":"SHELF_TAKEN","message":"taken: yes",
        "metadata":{"zone":"b","app":"a"}}"#;
    let r = call(
        addr,
        "POST",
        "/wire/refuse",
        &[JSON, ("accept", FORM)],
        refusal,
    )
    .await;
    assert_eq!((r.status, r.header("content-type")), (409, Some(FORM)));
    assert_eq!(
        r.text(),
        "code=409&message=taken%3A+yes&metadata.app=a&metadata.zone=b&reason=SHELF_TAKEN"
    );
    // A binding error too.
    let r = get_as(addr, "/wire/numbers?page=x", FORM).await;
    assert_eq!(r.status, 400);
    let text = r.text();
    assert!(
        text.starts_with("code=400&message=") && text.ends_with("&reason=CODEC"),
        "{text}"
    );
    // Our client reads the sorted error body back.
    let err = Codec::Form
        .decode_error(b"code=409&message=taken&metadata.app=a&reason=SHELF_TAKEN")
        .unwrap();
    assert_eq!(
        (err.code(), err.reason(), err.message()),
        (409, "SHELF_TAKEN", "taken")
    );
    assert_eq!(err.metadata().get("app").map(String::as_str), Some("a"));
    s.stop().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Rule 5: the path is matched decoded, as Kratos' router matches it: an encoded colon before a
// custom verb (`%3A`) takes the custom-verb route, and so do encoded letters in literals and in
// the verb; an encoded slash still never splits a segment.

#[tokio::test]
async fn an_encoded_colon_before_a_custom_verb_takes_the_verb_route() {
    let (mut s, addr) = server().await;
    for path in [
        "/v1/shelves/s1:archive",
        "/v1/shelves/s1%3Aarchive",
        "/v1/shelves/s1%3aarchive",
        "/v1/shelves/s1%3A%61rchive",
        "/v1/%73helves/s1%3Aarchive",
    ] {
        let r = call(addr, "POST", path, &[JSON], "{}").await;
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert_eq!(
            r.json(),
            json!({"name": "shelves/s1", "action": "archived"}),
            "{path}"
        );
    }
    // Without a verb route for the method, the colon is part of the variable, as in Kratos.
    let r = get(addr, "/v1/shelves/s1%3Aarchive").await;
    assert_eq!(
        (r.status, r.json()),
        (200, json!({"name": "shelves/s1:archive", "action": "read"}))
    );
    // Another verb is not this route: the GET route takes the path, so POST is 405.
    let r = call(addr, "POST", "/v1/shelves/s1%3Aarchived", &[JSON], "{}").await;
    assert_eq!(r.status, 405);
    // An encoded slash never splits a segment: it cannot stand for the `/` after a literal.
    for path in ["/v1/shelves%2Fs1%3Aarchive", "/v1%2Fshelves/s1%3Aarchive"] {
        let r = call(addr, "POST", path, &[JSON], "{}").await;
        assert_eq!(r.status, 404, "{path}");
    }
    s.stop().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Rule 6: a path ending in `/` never takes a route, also one whose last variable is `**` (which
// could capture an empty segment): it is redirected (301) to the path without the slash, the
// query kept, as every other trailing slash.

#[tokio::test]
async fn a_trailing_slash_on_a_double_star_route_redirects() {
    let (mut s, addr) = server().await;
    for (path, location) in [
        ("/v1/files/", "/v1/files"),
        ("/v1/files/a/b/", "/v1/files/a/b"),
        ("/v1/files/a%20b/?x=1", "/v1/files/a%20b?x=1"),
    ] {
        let r = get(addr, path).await;
        assert_eq!(r.status, 301, "{path}: {}", r.text());
        assert_eq!(r.header("location"), Some(location), "{path}");
    }
    for (path, want) in [
        ("/v1/files", ""),
        ("/v1/files/a/b", "a/b"),
        ("/v1/files/a%2Fb/%20c", "a/b/ c"),
    ] {
        let r = get(addr, path).await;
        assert_eq!((r.status, r.json()), (200, json!({"path": want})), "{path}");
    }
    s.stop().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Open enums: proto3 enums are open, so a protobuf body can carry an enum number the enum does
// not declare. Like protojson, JSON and YAML replies write such a number as a number and a
// declared one as its name, in every field shape (singular, repeated, map value, optional,
// oneof), and the typed client reads the numbers back.

fn palette_with_unknown_numbers() -> wp::Palette {
    wp::Palette {
        main: 7,
        colours: vec![1, 42, 0, -5],
        by_name: [("red".to_string(), 1), ("odd".to_string(), 99)].into(),
        maybe: Some(1000),
        pick: Some(wp::palette::Pick::Picked(13)),
    }
}

#[tokio::test]
async fn unknown_enum_numbers_are_echoed_as_numbers_in_json_and_yaml() {
    use prost::Message as _;
    let (mut s, addr) = server().await;
    let expected = json!({
        "main": 7,
        "colours": ["RED", 42, "COLOUR_UNSPECIFIED", -5],
        "byName": {"red": "RED", "odd": 99},
        "maybe": 1000,
        "picked": 13,
    });
    let sent = palette_with_unknown_numbers();
    for accept in ["application/json", "application/yaml"] {
        let r = call_bytes(
            addr,
            "POST",
            "/wire/palette",
            &[("content-type", "application/proto"), ("accept", accept)],
            sent.encode_to_vec().into(),
        )
        .await;
        assert_eq!(r.status, 200, "{accept}: {}", r.text());
        let got: serde_json::Value = if accept.ends_with("json") {
            r.json()
        } else {
            yaml_serde::from_slice(&r.body).unwrap()
        };
        assert_eq!(got, expected, "{accept}: {}", r.text());
    }
    // Declared values in the same shapes stay names.
    let known = wp::Palette {
        main: 2,
        colours: vec![2],
        by_name: [("g".to_string(), 2)].into(),
        maybe: Some(2),
        pick: Some(wp::palette::Pick::Picked(1)),
    };
    let r = call_bytes(
        addr,
        "POST",
        "/wire/palette",
        &[
            ("content-type", "application/proto"),
            ("accept", "application/json"),
        ],
        known.encode_to_vec().into(),
    )
    .await;
    assert_eq!(
        r.json(),
        json!({"main": "GREEN", "colours": ["GREEN"], "byName": {"g": "GREEN"}, "maybe": "GREEN", "picked": "RED"})
    );
    s.stop().await.unwrap();
}

/// Reading: an enum field accepts a JSON number (declared or not) as well as a name.
#[tokio::test]
async fn json_bodies_may_give_enum_numbers() {
    let (mut s, addr) = server().await;
    let r = call(
        addr,
        "POST",
        "/wire/palette",
        &[JSON],
        r#"{"main": 7, "colours": ["GREEN", 42], "byName": {"x": 99}, "maybe": "RED", "picked": 13}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json(),
        json!({"main": 7, "colours": ["GREEN", 42], "byName": {"x": 99}, "maybe": "RED", "picked": 13})
    );
    // An unknown name is ignored (`ignore_unknown_enum_variants`): the field keeps its default.
    let r = call(
        addr,
        "POST",
        "/wire/palette",
        &[JSON],
        r#"{"main": "BLUE", "maybe": "GREEN"}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json(),
        json!({"main": "COLOUR_UNSPECIFIED", "colours": [], "byName": {}, "maybe": "GREEN"})
    );
    s.stop().await.unwrap();
}

#[tokio::test]
async fn the_client_round_trips_unknown_enum_numbers() {
    let (mut s, addr) = server().await;
    let sent = palette_with_unknown_numbers();
    for codec in [Codec::Json, Codec::Yaml, Codec::Proto] {
        let got = client(addr, codec).post_palette(&sent).await.unwrap();
        assert_eq!(got, sent, "{codec:?}");
    }
    s.stop().await.unwrap();
}
