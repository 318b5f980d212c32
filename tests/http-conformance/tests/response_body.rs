//! `response_body` naming any field (issue 10, rule 1). As Kratos (`ctx.Result(200,
//! reply.Field)`), the reply is the named field alone; here every kind is written as its proto3
//! JSON value: a string, a bool or a 32-bit number as such, a 64-bit integer as a JSON string,
//! a non-finite float as "NaN"/"Infinity"/"-Infinity", bytes in base64, an enum by name, a
//! well-known type in its JSON form, a list as an array of those, a map as an object (keys as
//! strings), an unset `optional` or oneof member as `null`. A singular message is the message,
//! the default one when unset, in every codec. YAML carries the same values; the proto and
//! form codecs carry only messages (500 `CODEC`), XML only messages and lists of them (a bare
//! 500, as Kratos answers XML errors).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use kratos::codec::Codec;
use kratos::transport::Server as _;
use serde_json::{Value, json};

use http_conformance::replies::v1 as rp;

async fn server() -> (kratos::http::Server, SocketAddr) {
    let mut server = kratos::http::Server::builder()
        .address("127.0.0.1:0")
        .build();
    rp::register_replies_http_server(&mut server, Arc::new(http_conformance::Replies)).unwrap();
    let addr = server.start().await.unwrap();
    (server, addr)
}

fn client(addr: SocketAddr, codec: Codec) -> rp::RepliesHttpClient {
    rp::RepliesHttpClient::new(
        kratos::http::Client::builder(addr.to_string())
            .codec(codec)
            .build()
            .unwrap(),
    )
}

/// (route under `/kinds/`, the populated reply's field, the default reply's field).
fn table() -> Vec<(&'static str, Value, Value)> {
    vec![
        ("title", json!("Dune"), json!("")),
        ("flag", json!(true), json!(false)),
        ("small", json!(-7), json!(0)),
        ("big", json!("9007199254740993"), json!("0")),
        ("unsigned", json!("18446744073709551615"), json!("0")),
        ("ratio", json!(0.25), json!(0.0)),
        ("score", json!("NaN"), json!(0.0)),
        ("data", json!("AP9oaQ=="), json!("")),
        ("genre", json!("HISTORY"), json!("GENRE_UNSPECIFIED")),
        (
            "item",
            json!({"id": "i1", "count": "42"}),
            json!({"id": "", "count": "0"}),
        ),
        (
            "at",
            json!("2023-11-14T22:13:20.123Z"),
            json!("1970-01-01T00:00:00Z"),
        ),
        ("took", json!("90.500s"), json!("0s")),
        ("mask", json!("userId,sub.name"), json!("")),
        ("extra", json!({"a": 1.0}), json!({})),
        ("big_value", json!("5"), json!("0")),
        ("dval", json!("Infinity"), json!(0.0)),
        ("titles", json!(["a", "b"]), json!([])),
        ("bigs", json!(["1", "-9007199254740993"]), json!([])),
        (
            "scores",
            json!([1.5, "NaN", "Infinity", "-Infinity"]),
            json!([]),
        ),
        ("blobs", json!(["aGk=", ""]), json!([])),
        ("genres", json!(["FICTION", "HISTORY"]), json!([])),
        (
            "items",
            json!([{"id": "i1", "count": "1"}, {"id": "i2", "count": "2"}]),
            json!([]),
        ),
        (
            "times",
            json!(["1970-01-01T00:00:00Z", "2023-11-14T22:13:20.000000005Z"]),
            json!([]),
        ),
        ("dvals", json!([1.5, "NaN"]), json!([])),
        ("labels", json!({"k": "v"}), json!({})),
        (
            "genre_by_id",
            json!({"1": "FICTION", "-2": "HISTORY"}),
            json!({}),
        ),
        (
            "item_by_name",
            json!({"x": {"id": "x", "count": "3"}}),
            json!({}),
        ),
        ("blob_by_name", json!({"b": "AQ=="}), json!({})),
        ("weight_by_name", json!({"w": "-Infinity"}), json!({})),
        ("maybe", json!("-3"), json!(null)),
        ("choice_text", json!("picked"), json!(null)),
        ("display_name", json!("shown"), json!("")),
    ]
}

#[tokio::test]
async fn every_kind_of_field_is_its_proto3_json_value() {
    let (mut server, addr) = server().await;
    for (field, full, empty) in table() {
        for (query, want) in [("", &full), ("?empty=true", &empty)] {
            let r = common::get(addr, &format!("/kinds/{field}{query}")).await;
            assert_eq!(r.status, 200, "{field}{query}: {}", r.text());
            assert_eq!(r.header("content-type"), Some("application/json"));
            assert_eq!(&r.json(), want, "{field}{query}");
        }
    }
    server.stop().await.unwrap();
}

/// The typed client reads every shape back into the field it came from; the reply's other
/// fields keep their defaults.
#[tokio::test]
async fn the_client_reads_every_kind_back() {
    let (mut server, addr) = server().await;
    let want = http_conformance::kinds();
    let full = rp::KindsRequest { empty: false };
    let empty = rp::KindsRequest { empty: true };
    for codec in [Codec::Json, Codec::Yaml] {
        let c = client(addr, codec);
        // Debug text compares NaN with NaN; maps with several entries compare as maps.
        macro_rules! check {
            ($method:ident, $field:ident) => {{
                let got = c.$method(&full).await.unwrap();
                assert_eq!(
                    format!("{:?}", got.$field),
                    format!("{:?}", want.$field),
                    "{codec:?} {}",
                    stringify!($method)
                );
                let only = rp::Kinds {
                    $field: got.$field.clone(),
                    ..Default::default()
                };
                assert_eq!(
                    format!("{got:?}"),
                    format!("{only:?}"),
                    "{codec:?} {}: other fields stay unset",
                    stringify!($method)
                );
                let got = c.$method(&empty).await.unwrap();
                assert_eq!(
                    format!("{got:?}"),
                    format!("{:?}", default_for(stringify!($field))),
                    "{codec:?} {} (empty)",
                    stringify!($method)
                );
            }};
        }
        check!(title, title);
        check!(flag, flag);
        check!(small, small);
        check!(big, big);
        check!(unsigned, unsigned);
        check!(ratio, ratio);
        check!(score, score);
        check!(data, data);
        check!(genre, genre);
        check!(item, item);
        check!(at, at);
        check!(took, took);
        check!(mask, mask);
        check!(extra, extra);
        check!(big_value, big_value);
        check!(dval, dval);
        check!(titles, titles);
        check!(bigs, bigs);
        check!(scores, scores);
        check!(blobs, blobs);
        check!(genres, genres);
        check!(items, items);
        check!(times, times);
        check!(dvals, dvals);
        check!(labels, labels);
        check!(item_by_name, item_by_name);
        check!(blob_by_name, blob_by_name);
        check!(weight_by_name, weight_by_name);
        check!(maybe, maybe);
        check!(choice, choice);
        check!(display, display_name);
        // Two entries: HashMap's Debug order varies, so compare the maps.
        let got = c.genre_by_id(&full).await.unwrap();
        assert_eq!(got.genre_by_id, want.genre_by_id, "{codec:?}");
        assert!(c.genre_by_id(&empty).await.unwrap().genre_by_id.is_empty());
    }
    server.stop().await.unwrap();
}

/// What the client reads from the default reply's field: the default reply, except that an
/// unset singular message comes back as the default message (the server writes one, as
/// Kratos does).
fn default_for(field: &str) -> rp::Kinds {
    let mut k = rp::Kinds::default();
    match field {
        "item" => k.item = Some(Default::default()),
        "at" => k.at = Some(Default::default()),
        "took" => k.took = Some(Default::default()),
        "mask" => k.mask = Some(Default::default()),
        "extra" => k.extra = Some(Default::default()),
        "big_value" => k.big_value = Some(Default::default()),
        "dval" => k.dval = Some(Default::default()),
        _ => {}
    }
    k
}

#[tokio::test]
async fn yaml_carries_the_same_values() {
    let (mut server, addr) = server().await;
    let r = common::get_as(addr, "/kinds/titles", "application/yaml").await;
    assert_eq!(
        (r.status, r.header("content-type")),
        (200, Some("application/yaml"))
    );
    assert_eq!(r.text(), "- a\n- b\n");
    let r = common::get_as(addr, "/kinds/bigs", "application/yaml").await;
    assert_eq!(r.text(), "- '1'\n- '-9007199254740993'\n");
    let r = common::get_as(addr, "/kinds/weight_by_name", "application/yaml").await;
    assert_eq!(r.text(), "w: -Infinity\n");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn proto_form_and_xml_carry_only_messages() {
    let (mut server, addr) = server().await;
    // A singular message: the message itself.
    let r = common::get_as(addr, "/kinds/item", "application/proto").await;
    assert_eq!(
        (r.status, r.header("content-type")),
        (200, Some("application/proto"))
    );
    let item = <rp::Item as prost::Message>::decode(r.body.clone()).unwrap();
    assert_eq!(
        item,
        rp::Item {
            id: "i1".into(),
            count: 42
        }
    );
    // XML: a list of messages in Go's XML, as Kratos writes the Go slice.
    let r = common::get_as(addr, "/kinds/items", "application/xml").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.text(),
        "<Item><Id>i1</Id><Count>1</Count></Item><Item><Id>i2</Id><Count>2</Count></Item>"
    );
    // Anything else: a 500 CODEC error, in JSON (as every reply that cannot be encoded).
    for (accept, fields) in [
        (
            "application/proto",
            &["titles", "items", "big", "labels", "maybe"][..],
        ),
        (
            "application/x-www-form-urlencoded",
            &["titles", "items", "big", "labels", "maybe"][..],
        ),
        ("application/xml", &["titles", "big", "labels", "maybe"][..]),
    ] {
        for field in fields {
            let r = common::get_as(addr, &format!("/kinds/{field}"), accept).await;
            assert_eq!(r.status, 500, "{field} as {accept}");
            assert_eq!(r.header("content-type"), Some("application/json"));
            let body = r.json();
            assert_eq!(body["reason"], "CODEC", "{field} as {accept}");
            assert!(
                body["message"].as_str().unwrap().contains("cannot encode"),
                "{body}"
            );
        }
    }
    server.stop().await.unwrap();
}

#[test]
fn the_build_integration_writes_the_golden_file() {
    let built = std::fs::read_to_string(http_conformance::GENERATED_REPLIES_HTTP).unwrap();
    let golden = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/http/response_body/expected/replies.v1.kratos_http.rs"
    ))
    .unwrap();
    assert!(
        built == golden,
        "kratos::build output differs from the protoc golden"
    );
}
