//! Fuzzes the HTTP server end to end: generated requests to the oracle service over a real
//! connection. Paths come from the service's route templates with generated variable values;
//! query strings and request bodies come from the request messages' descriptors (near-valid
//! values of every field kind, wrong types, unknown fields, edge numbers and escapes) encoded
//! with every request codec (JSON, protobuf wire format, form, XML in Go's shape, YAML), then
//! sometimes mutated at the byte level or replaced by raw bytes; headers name each codec, some
//! variants and some garbage.
//!
//! Properties: every request gets a complete reply on a live connection within a generous
//! bound; no 5xx except the deliberate ones (see `common::deliberate_5xx`).
//!
//! Inputs are kept small, and structures shallow, so that the decoders' known unbounded cases
//! (alias expansion, deep nesting) do not take the machine down here; bounding them is another
//! change's work.

mod common;

use base64::Engine as _;
use common::{Oracle, Request, deliberate_5xx};
use fuzz::input::{self, pick};
use fuzz::{GenResult, Target, Unstructured};
use prost_reflect::{DescriptorPool, FieldDescriptor, Kind, MessageDescriptor};
use serde_json::{Map, Value, json};

/// A route of the oracle service: method, template, request message and body field.
struct Route {
    method: &'static str,
    template: &'static str,
    message: &'static str,
    body: Option<&'static str>,
}

const fn route(
    method: &'static str,
    template: &'static str,
    message: &'static str,
    body: Option<&'static str>,
) -> Route {
    Route {
        method,
        template,
        message,
        body,
    }
}

const ROUTES: &[Route] = &[
    route("GET", "/v1/shelves/{shelf}", "GetShelfRequest", None),
    route("GET", "/v1/search", "SearchRequest", None),
    route("GET", "/v1/search", "SearchRequest", None),
    route("POST", "/v1/shelves", "CreateShelfRequest", Some("*")),
    route("POST", "/v1/shelves", "CreateShelfRequest", Some("*")),
    route("PUT", "/v1/shelves/{name}", "UpdateShelfRequest", Some("*")),
    route(
        "PATCH",
        "/v1/{book.name=shelves/*/books/*}",
        "UpdateBookRequest",
        Some("book"),
    ),
    route("DELETE", "/v1/shelves/{shelf}", "DeleteShelfRequest", None),
    route(
        "POST",
        "/v1/shelves/{shelf}:archive",
        "ArchiveShelfRequest",
        Some("*"),
    ),
    route("GET", "/v1/files/{path=**}", "GetFileRequest", None),
    route("GET", "/v1/items", "ListItemsRequest", None),
    route("GET", "/v1/items/{id}", "GetItemRequest", None),
    route("GET", "/v1/multi/{id}", "GetMultiRequest", None),
    route("POST", "/v1/multi", "GetMultiRequest", Some("*")),
    route(
        "GET",
        "/v2/multi/{id}/names/{name}",
        "GetMultiRequest",
        None,
    ),
    route("GET", "/v1/errors/kratos/{kind}", "ErrorRequest", None),
];

/// The request codecs, by `Content-Type`.
const CODECS: &[&str] = &["json", "proto", "form", "xml", "yaml"];

fn media_type(codec: &str) -> &'static str {
    match codec {
        "json" => "application/json",
        "proto" => "application/proto",
        "form" => "application/x-www-form-urlencoded",
        "xml" => "application/xml",
        _ => "application/yaml",
    }
}

const ACCEPTS: &[&str] = &[
    "application/json",
    "application/proto",
    "application/xml",
    "application/yaml",
    "application/x-www-form-urlencoded",
    "text/xml; charset=utf-8",
    "*/*",
    "application/json, application/xml",
    "text/event-stream",
    "garbage",
    "",
];

const METHODS: &[&str] = &[
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "SEARCH",
];

/// The oracle protos, compiled, for their descriptors.
fn pool() -> DescriptorPool {
    let dir = kratos_codegen::testing::workspace_dir().join("examples/oracle-server/proto");
    kratos_codegen::testing::compile(&[dir], &["oracle/v1/oracle.proto"])
}

/// The generator's state: descriptors and how deep values may nest.
struct Gen<'a> {
    pool: &'a DescriptorPool,
}

/// Numbers at the edges of the integer and float types, as JSON text.
const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "1",
    "-1",
    "2147483647",
    "2147483648",
    "-2147483649",
    "4294967296",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551616",
    "1.5",
    "1e3",
    "1E-400",
    "1e400",
    "0.0000001",
    "3.4028235e38",
    "3.5e38",
    "-1.7976931348623157e308",
];

impl Gen<'_> {
    fn message(&self, name: &str) -> MessageDescriptor {
        self.pool
            .get_message_by_name(&format!("oracle.v1.{name}"))
            .unwrap_or_else(|| panic!("no message {name}"))
    }

    /// Any JSON value, small.
    fn any(&self, u: &mut Unstructured<'_>, depth: usize) -> GenResult<Value> {
        Ok(match u.int_in_range(0..=7)? {
            0 => Value::Null,
            1 => Value::Bool(u.arbitrary()?),
            2 => json!(u.arbitrary::<i64>()?),
            3 => serde_json::from_str(pick(u, NUMBERS)?).unwrap_or(Value::Null),
            4 | 5 => Value::String(input::text(u, 4)?),
            6 if depth < 3 => {
                let n = u.int_in_range(0..=3)?;
                let mut items = Vec::new();
                for _ in 0..n {
                    items.push(self.any(u, depth + 1)?);
                }
                Value::Array(items)
            }
            _ if depth < 3 => {
                let mut map = Map::new();
                for _ in 0..u.int_in_range(0..=3)? {
                    map.insert(input::text(u, 2)?, self.any(u, depth + 1)?);
                }
                Value::Object(map)
            }
            _ => Value::String(String::new()),
        })
    }

    /// A number for a numeric field: valid, at the edges, or as a string.
    fn number(&self, u: &mut Unstructured<'_>, float: bool) -> GenResult<Value> {
        let text: String = match u.int_in_range(0..=4)? {
            0 => u.int_in_range(-1000i64..=1000)?.to_string(),
            1 => u.arbitrary::<i64>()?.to_string(),
            2 if float => pick(u, &["NaN", "Infinity", "-Infinity", "1.25", "-0.5"])?.to_string(),
            _ => pick(u, NUMBERS)?.to_string(),
        };
        Ok(if u.ratio(1, 3)? {
            Value::String(text)
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        })
    }

    /// A value for a field of `kind` (one element when the field is repeated).
    fn scalar(&self, u: &mut Unstructured<'_>, kind: &Kind, depth: usize) -> GenResult<Value> {
        if u.ratio(1, 12)? {
            return self.any(u, depth);
        }
        Ok(match kind {
            Kind::Double | Kind::Float => self.number(u, true)?,
            Kind::Bool => match u.int_in_range(0..=3)? {
                0 => json!(true),
                1 => json!(false),
                2 => json!("true"),
                _ => json!(pick(u, &["1", "t", "False", "yes", ""])?),
            },
            Kind::String => Value::String(input::text(u, 5)?),
            Kind::Bytes => {
                let raw = input::take(u, 12)?;
                Value::String(match u.int_in_range(0..=3)? {
                    0 => base64::engine::general_purpose::STANDARD.encode(&raw),
                    1 => base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&raw),
                    2 => base64::engine::general_purpose::STANDARD_NO_PAD.encode(&raw),
                    _ => input::text(u, 3)?,
                })
            }
            Kind::Enum(e) => match u.int_in_range(0..=3)? {
                0 | 1 => {
                    let values: Vec<String> = e.values().map(|v| v.name().to_string()).collect();
                    Value::String(pick(u, &values)?.clone())
                }
                2 => json!(u.int_in_range(-2i32..=5)?),
                _ => Value::String(input::word(u, 6)?),
            },
            Kind::Message(m) => self.well_known(u, m, depth)?,
            _ => self.number(u, false)?,
        })
    }

    /// A message value: the JSON forms of the well-known types, or an object of fields.
    fn well_known(
        &self,
        u: &mut Unstructured<'_>,
        m: &MessageDescriptor,
        depth: usize,
    ) -> GenResult<Value> {
        Ok(match m.full_name() {
            "google.protobuf.Timestamp" if u.ratio(1, 2)? => json!(input::timestamp_text(u)?),
            "google.protobuf.Duration" if u.ratio(1, 2)? => json!(input::duration_text(u)?),
            "google.protobuf.Timestamp" => json!(pick(
                u,
                &[
                    "2023-11-14T22:13:20.123Z",
                    "2023-11-14T22:13:20Z",
                    "2023-11-14T22:13:20+01:00",
                    "0001-01-01T00:00:00Z",
                    "9999-12-31T23:59:59.999999999Z",
                    "10000-01-01T00:00:00Z",
                    "2023-02-30T00:00:00Z",
                    "2023-11-14 22:13:20",
                    "1700000000",
                    "",
                ]
            )?),
            "google.protobuf.Duration" => json!(pick(
                u,
                &[
                    "1.5s",
                    "-1s",
                    "0s",
                    "1s",
                    "315576000000s",
                    "315576000001s",
                    "1.0000000001s",
                    "1m",
                    "1h2m3.5s",
                    "-",
                    "s",
                    "",
                ]
            )?),
            "google.protobuf.FieldMask" => {
                json!(format!("{},{}", input::word(u, 6)?, input::text(u, 2)?))
            }
            "google.protobuf.Struct" => {
                let mut map = Map::new();
                for _ in 0..u.int_in_range(0..=3)? {
                    map.insert(input::word(u, 4)?, self.any(u, depth + 1)?);
                }
                Value::Object(map)
            }
            "google.protobuf.Value" | "google.protobuf.ListValue" => self.any(u, depth + 1)?,
            name if name.starts_with("google.protobuf.") && name.ends_with("Value") => {
                match m.get_field_by_name("value") {
                    Some(f) => self.scalar(u, &f.kind(), depth)?,
                    None => Value::Null,
                }
            }
            _ if depth >= 3 => json!({}),
            _ => self.object(u, m, depth + 1)?,
        })
    }

    /// The value of one field: a list, a map or one value.
    fn field(
        &self,
        u: &mut Unstructured<'_>,
        f: &FieldDescriptor,
        depth: usize,
    ) -> GenResult<Value> {
        if f.is_map() {
            let Kind::Message(entry) = f.kind() else {
                return Ok(Value::Null);
            };
            let (Some(key), Some(value)) = (
                entry.get_field_by_name("key"),
                entry.get_field_by_name("value"),
            ) else {
                return Ok(Value::Null);
            };
            let mut map = Map::new();
            for _ in 0..u.int_in_range(0..=3)? {
                let k = match key.kind() {
                    Kind::String => input::text(u, 2)?,
                    _ => pick(u, NUMBERS)?.to_string(),
                };
                map.insert(k, self.scalar(u, &value.kind(), depth)?);
            }
            return Ok(Value::Object(map));
        }
        if f.is_list() && !u.ratio(1, 10)? {
            let mut items = Vec::new();
            for _ in 0..u.int_in_range(0..=3)? {
                items.push(self.scalar(u, &f.kind(), depth)?);
            }
            return Ok(Value::Array(items));
        }
        self.scalar(u, &f.kind(), depth)
    }

    /// An object with some of `m`'s fields (by JSON or proto name), and now and then an unknown
    /// one.
    fn object(
        &self,
        u: &mut Unstructured<'_>,
        m: &MessageDescriptor,
        depth: usize,
    ) -> GenResult<Value> {
        let fields: Vec<FieldDescriptor> = m.fields().collect();
        let mut map = Map::new();
        for _ in 0..u.int_in_range(0..=fields.len().min(6))? {
            let f = pick(u, &fields)?;
            let name = if u.ratio(1, 4)? {
                f.name().to_string()
            } else {
                f.json_name().to_string()
            };
            map.insert(name, self.field(u, f, depth)?);
        }
        if u.ratio(1, 8)? {
            map.insert(input::text(u, 2)?, self.any(u, depth)?);
        }
        Ok(Value::Object(map))
    }
}

/// Form pairs of a JSON value: nested fields as dotted keys, lists as repeated keys, maps as
/// `key[k]` or `key.k`.
fn pairs(
    u: &mut Unstructured<'_>,
    prefix: &str,
    value: &Value,
    out: &mut Vec<(String, String)>,
) -> GenResult<()> {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else if u.ratio(1, 3)? {
                    format!("{prefix}[{k}]")
                } else {
                    format!("{prefix}.{k}")
                };
                pairs(u, &key, v, out)?;
            }
        }
        Value::Array(items) => {
            for v in items {
                pairs(u, prefix, v, out)?;
            }
        }
        Value::String(s) => out.push((prefix.to_string(), s.clone())),
        Value::Null => out.push((prefix.to_string(), String::new())),
        other => out.push((prefix.to_string(), other.to_string())),
    }
    Ok(())
}

/// A query string or form body from pairs: escaped, raw, or mixed, with `+` for spaces.
fn form_text(u: &mut Unstructured<'_>, pairs: &[(String, String)]) -> GenResult<String> {
    let mut out = String::new();
    for (k, v) in pairs {
        if !out.is_empty() {
            out.push('&');
        }
        let raw = u.ratio(1, 8)?;
        let enc = |s: &str| {
            if raw {
                s.to_string()
            } else {
                input::escape(s).replace("%20", "+")
            }
        };
        out.push_str(&enc(k));
        if !u.ratio(1, 20)? {
            out.push('=');
            out.push_str(&enc(v));
        }
    }
    if u.ratio(1, 10)? {
        out.push_str(&input::url_text(u, 4)?);
    }
    Ok(out)
}

/// Go's XML shape: elements named as Go fields, lists as repeated elements.
fn xml(u: &mut Unstructured<'_>, name: &str, value: &Value, out: &mut String) -> GenResult<()> {
    let go = {
        let mut c = name.chars();
        match c.next() {
            Some(first) if !u.ratio(1, 10)? => first.to_ascii_uppercase().to_string() + c.as_str(),
            _ => name.to_string(),
        }
    };
    match value {
        Value::Array(items) => {
            for v in items {
                xml(u, name, v, out)?;
            }
            return Ok(());
        }
        Value::Object(map) => {
            out.push_str(&format!("<{go}>"));
            for (k, v) in map {
                xml(u, k, v, out)?;
            }
        }
        Value::String(s) => {
            out.push_str(&format!("<{go}>"));
            let text = if u.ratio(1, 6)? {
                format!("<![CDATA[{s}]]>")
            } else {
                s.replace('&', "&amp;").replace('<', "&lt;")
            };
            out.push_str(&text);
        }
        Value::Null => {
            out.push_str(&format!("<{go}/>"));
            return Ok(());
        }
        other => {
            out.push_str(&format!("<{go}>"));
            out.push_str(&other.to_string());
        }
    }
    out.push_str(&format!("</{go}>"));
    Ok(())
}

/// Protobuf wire data for `m`: fields of the right or wrong wire type, with lengths that are
/// sometimes wrong, nested messages included.
fn wire(
    u: &mut Unstructured<'_>,
    m: &MessageDescriptor,
    depth: usize,
    out: &mut Vec<u8>,
) -> GenResult<()> {
    let fields: Vec<FieldDescriptor> = m.fields().collect();
    for _ in 0..u.int_in_range(0..=8)? {
        let (number, kind) = if u.ratio(1, 10)? || fields.is_empty() {
            (u.int_in_range(1u32..=40)?, None)
        } else {
            let f = pick(u, &fields)?;
            (f.number(), Some(f.kind()))
        };
        let wire_type: u64 = match (&kind, u.ratio(1, 10)?) {
            (_, true) | (None, _) => u.int_in_range(0..=7)?,
            (Some(Kind::Double | Kind::Fixed64 | Kind::Sfixed64), _) => 1,
            (Some(Kind::Float | Kind::Fixed32 | Kind::Sfixed32), _) => 5,
            (Some(Kind::String | Kind::Bytes | Kind::Message(_)), _) => 2,
            _ => 0,
        };
        varint(u64::from(number) << 3 | wire_type, out);
        match wire_type {
            0 => varint(u.arbitrary()?, out),
            1 => out.extend(input::take(u, 8)?),
            5 => out.extend(input::take(u, 4)?),
            2 => {
                let mut inner = Vec::new();
                match &kind {
                    Some(Kind::Message(sub)) if depth < 3 => wire(u, sub, depth + 1, &mut inner)?,
                    Some(Kind::String) => inner.extend(input::text(u, 4)?.into_bytes()),
                    _ => inner.extend(input::take(u, 16)?),
                }
                let len = if u.ratio(1, 12)? {
                    u.int_in_range(0..=inner.len() as u64 + 16)?
                } else {
                    inner.len() as u64
                };
                varint(len, out);
                out.extend(inner);
            }
            _ => out.extend(input::take(u, 4)?),
        }
    }
    Ok(())
}

fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// The route's path with its variables filled in.
fn path(u: &mut Unstructured<'_>, template: &str) -> GenResult<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').map_or(rest.len(), |c| open + c);
        let var = &rest[open + 1..close];
        let value = match var.split_once('=') {
            Some((_, "**")) => {
                let n = u.int_in_range(0..=3)?;
                let mut segs = Vec::new();
                for _ in 0..n {
                    segs.push(input::url_text(u, 3)?);
                }
                segs.join("/")
            }
            Some((_, "shelves/*/books/*")) => format!(
                "shelves/{}/books/{}",
                input::url_text(u, 3)?,
                input::url_text(u, 3)?
            ),
            _ => match u.int_in_range(0..=3)? {
                0 => u.int_in_range(-5i64..=5)?.to_string(),
                1 => pick(u, &["not_found", "unknown", "plain", "missing", "1", ""])?.to_string(),
                _ => input::url_text(u, 4)?,
            },
        };
        out.push_str(&value);
        rest = rest.get(close + 1..).unwrap_or_default();
    }
    out.push_str(rest);
    Ok(out)
}

#[derive(Debug)]
struct Case {
    request: Request,
    codec: Option<&'static str>,
}

fn generate(u: &mut Unstructured<'_>, g: &Gen<'_>) -> GenResult<Case> {
    let route = pick(u, ROUTES)?;
    let method = if u.ratio(1, 12)? {
        pick(u, METHODS)?.to_string()
    } else {
        route.method.to_string()
    };
    let mut target = match u.int_in_range(0..=15)? {
        0 => format!("/{}", input::url_text(u, 6)?),
        1 => {
            let p = path(u, route.template)?;
            String::from_utf8_lossy(&input::mutate(u, p.as_bytes())?)
                .chars()
                .filter(|c| c.is_ascii_graphic())
                .collect()
        }
        _ => path(u, route.template)?,
    };
    if !target.starts_with('/') {
        target.insert(0, '/');
    }
    let message = g.message(route.message);
    let query_odds = if route.body.is_none() { 2 } else { 5 };
    if u.ratio(1, query_odds)? {
        let value = g.object(u, &message, 0)?;
        let mut p = Vec::new();
        pairs(u, "", &value, &mut p)?;
        target.push('?');
        target.push_str(&form_text(u, &p)?);
    }
    let mut codec = None;
    let mut content_type = None;
    let mut body = Vec::new();
    if route.body.is_some() || u.ratio(1, 10)? {
        let c = *pick(u, CODECS)?;
        codec = Some(c);
        let body_message = match route.body {
            Some(field) if field != "*" => match message.get_field_by_name(field).map(|f| f.kind())
            {
                Some(Kind::Message(m)) => m,
                _ => message.clone(),
            },
            _ => message.clone(),
        };
        let value = g.object(u, &body_message, 0)?;
        let encoded = match c {
            "json" => serde_json::to_vec(&value).unwrap_or_default(),
            "yaml" => yaml_serde::to_string(&value)
                .unwrap_or_default()
                .into_bytes(),
            "form" => {
                let mut p = Vec::new();
                pairs(u, "", &value, &mut p)?;
                form_text(u, &p)?.into_bytes()
            }
            "xml" => {
                let mut out = String::new();
                xml(u, body_message.name(), &value, &mut out)?;
                out.into_bytes()
            }
            _ => {
                let mut out = Vec::new();
                wire(u, &body_message, 0, &mut out)?;
                out
            }
        };
        body = input::variant(u, &encoded)?;
        content_type = Some(match u.int_in_range(0..=9)? {
            0 => format!("{}; charset=utf-8", media_type(c)),
            1 => pick(
                u,
                &[
                    "text/plain",
                    "multipart/form-data",
                    "application/JSON",
                    "json",
                    "",
                ],
            )?
            .to_string(),
            _ => media_type(c).to_string(),
        });
    }
    let accept = if u.ratio(1, 3)? {
        Some(pick(u, ACCEPTS)?.to_string())
    } else {
        None
    };
    Ok(Case {
        request: Request {
            method,
            target,
            content_type,
            accept,
            body,
        },
        codec,
    })
}

fn check(oracle: &Oracle, case: &Case) -> fuzz::Outcome {
    let reply = oracle.send(&case.request)?;
    if reply.status >= 500 && !deliberate_5xx(&case.request, &reply) {
        return Err(format!(
            "{} {:?}: {}",
            reply.status,
            reply.content_type,
            String::from_utf8_lossy(&reply.body)
        ));
    }
    Ok(format!(
        "{} {}",
        reply.status / 100 * 100,
        case.codec.unwrap_or("no body")
    ))
}

#[test]
fn requests_of_every_codec_get_a_reply_and_no_unexpected_5xx() {
    let pool = pool();
    let g = Gen { pool: &pool };
    let oracle = Oracle::start();
    let corpus: Vec<Case> = fuzz::corpus_files("server")
        .into_iter()
        .map(|(name, bytes)| request_from_corpus(&name, bytes))
        .collect();
    let report = Target {
        name: "server",
        ci_iters: 30_000,
        max_bytes: 4096,
        corpus,
    }
    .run(|u, _| generate(u, &g), |case| check(&oracle, case));
    oracle.stop();
    // Every request codec gets both through to the service and refused.
    for codec in CODECS {
        assert!(report.count(&format!("200 {codec}")) > 20, "{report:?}");
        assert!(report.count(&format!("400 {codec}")) > 20, "{report:?}");
    }
    assert!(report.count("200 no body") > 100, "{report:?}");
}

/// A corpus file is one request: its name says `<codec>.<anything>` for a body sent to
/// `POST /v1/shelves`, or `query.<anything>` for a query string of `GET /v1/search`.
fn request_from_corpus(name: &str, bytes: Vec<u8>) -> Case {
    let codec = name.split('.').next().unwrap_or_default();
    if codec == "query" {
        let query = String::from_utf8_lossy(&bytes).trim_end().to_string();
        return Case {
            request: Request {
                method: "GET".into(),
                target: format!("/v1/search?{query}"),
                content_type: None,
                accept: None,
                body: Vec::new(),
            },
            codec: None,
        };
    }
    let codec = CODECS
        .iter()
        .copied()
        .find(|c| *c == codec)
        .unwrap_or_else(|| panic!("corpus file {name}: unknown codec"));
    Case {
        request: Request {
            method: "POST".into(),
            target: "/v1/shelves".into(),
            content_type: Some(media_type(codec).to_string()),
            accept: None,
            body: bytes,
        },
        codec: Some(codec),
    }
}
