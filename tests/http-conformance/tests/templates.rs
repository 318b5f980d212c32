//! The template tables of the HTTP transcoding reference (validate-openapi-reference.md §G):
//! the google.api.http grammar, the valid templates of grpc-httpjson-transcoding's
//! `http_template_test.cc` and grpc-gateway's `parse_test.go`, their invalid templates
//! (`ErrorTests`, `ParseNonVerbTest`, `TestParseSegmentsWithErrors`), and a matching table
//! (path → captured bindings) in the spirit of `path_matcher_test.cc` / `pattern_test.go`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use kratos_path_template::{Segment, Template};

/// A segment as the C++ tests print it: the literal, `*` or `**`.
fn seg_text(s: &Segment) -> String {
    match s {
        Segment::Literal(l) => l.clone(),
        Segment::Single => "*".into(),
        Segment::Multi => "**".into(),
    }
}

fn parse(t: &str) -> Template {
    Template::parse(t).unwrap_or_else(|e| panic!("{t:?} should parse: {e}"))
}

/// (template, segments, verb, variables as (field path, start segment, end segment)).
/// Our `end` is one past the last segment the variable covers, also for `**` (the C++ parser
/// counts a `**` variable's end from the back with negative numbers).
type Valid = (
    &'static str,
    &'static [&'static str],
    Option<&'static str>,
    &'static [(&'static str, usize, usize)],
);

const VALID: &[Valid] = &[
    // http_template_test.cc ParseTest1..13.
    (
        "/shelves/{shelf}/books/{book}",
        &["shelves", "*", "books", "*"],
        None,
        &[("shelf", 1, 2), ("book", 3, 4)],
    ),
    ("/shelves/**", &["shelves", "**"], None, &[]),
    ("/**", &["**"], None, &[]),
    ("/a:foo", &["a"], Some("foo"), &[]),
    ("/a/b/c:foo", &["a", "b", "c"], Some("foo"), &[]),
    ("/*/**", &["*", "**"], None, &[]),
    ("/*/a/**", &["*", "a", "**"], None, &[]),
    ("/a/{a.b.c}", &["a", "*"], None, &[("a.b.c", 1, 2)]),
    ("/a/{a.b.c=*}", &["a", "*"], None, &[("a.b.c", 1, 2)]),
    ("/a/{b=*}", &["a", "*"], None, &[("b", 1, 2)]),
    ("/a/{b=**}", &["a", "**"], None, &[("b", 1, 2)]),
    ("/a/{b=c/*}", &["a", "c", "*"], None, &[("b", 1, 3)]),
    ("/a/{b=c/*/d}", &["a", "c", "*", "d"], None, &[("b", 1, 4)]),
    ("/a/{b=c/**}", &["a", "c", "**"], None, &[("b", 1, 3)]),
    // CustomVerbTests.
    ("/*:verb", &["*"], Some("verb"), &[]),
    ("/**:verb", &["**"], Some("verb"), &[]),
    ("/{a}:verb", &["*"], Some("verb"), &[("a", 0, 1)]),
    ("/a/b/*:verb", &["a", "b", "*"], Some("verb"), &[]),
    ("/a/b/**:verb", &["a", "b", "**"], Some("verb"), &[]),
    (
        "/a/b/{a}:verb",
        &["a", "b", "*"],
        Some("verb"),
        &[("a", 2, 3)],
    ),
    // MoreVariableTests.
    ("/{x}", &["*"], None, &[("x", 0, 1)]),
    ("/{x.y.z}", &["*"], None, &[("x.y.z", 0, 1)]),
    ("/{x=*}", &["*"], None, &[("x", 0, 1)]),
    ("/{x=a/*}", &["a", "*"], None, &[("x", 0, 2)]),
    (
        "/{x.y.z=*/a/b}/c",
        &["*", "a", "b", "c"],
        None,
        &[("x.y.z", 0, 3)],
    ),
    ("/{x=**}", &["**"], None, &[("x", 0, 1)]),
    ("/{x.y.z=**}", &["**"], None, &[("x.y.z", 0, 1)]),
    // VariableAndCustomVerbTests.
    ("/{x}:verb", &["*"], Some("verb"), &[("x", 0, 1)]),
    ("/{x.y.z}:verb", &["*"], Some("verb"), &[("x.y.z", 0, 1)]),
    (
        "/{x.y.z=*/*}:verb",
        &["*", "*"],
        Some("verb"),
        &[("x.y.z", 0, 2)],
    ),
    ("/{x=**}:myverb", &["**"], Some("myverb"), &[("x", 0, 1)]),
    (
        "/{x.y.z=**}:myverb",
        &["**"],
        Some("myverb"),
        &[("x.y.z", 0, 1)],
    ),
    // ParseVerbTest2..4.
    ("/a/*:verb", &["a", "*"], Some("verb"), &[]),
    ("/a/**:verb", &["a", "**"], Some("verb"), &[]),
    (
        "/a/{b=*}/**:verb",
        &["a", "*", "**"],
        Some("verb"),
        &[("b", 1, 2)],
    ),
    // grpc-gateway parse_test.go (TestTokenize / TestParseSegments), with the leading '/'.
    ("/v1", &["v1"], None, &[]),
    ("/v1/b", &["v1", "b"], None, &[]),
    ("/v1/endpoint/*", &["v1", "endpoint", "*"], None, &[]),
    ("/v1/endpoint/**", &["v1", "endpoint", "**"], None, &[]),
    (
        "/v1/b/{bucket_name=*}",
        &["v1", "b", "*"],
        None,
        &[("bucket_name", 2, 3)],
    ),
    (
        "/v1/b/{bucket_name=buckets/*}/o/{name}",
        &["v1", "b", "buckets", "*", "o", "*"],
        None,
        &[("bucket_name", 2, 4), ("name", 5, 6)],
    ),
    (
        "/v1/a/{endpoint}:a",
        &["v1", "a", "*"],
        Some("a"),
        &[("endpoint", 2, 3)],
    ),
    (
        "/v1/{name.nested.nested2=a/b/*}/o/{another_name=a/b/*/c}/**",
        &["v1", "a", "b", "*", "o", "a", "b", "*", "c", "**"],
        None,
        &[("name.nested.nested2", 1, 4), ("another_name", 5, 9)],
    ),
    ("/v1/endpoint.rdf", &["v1", "endpoint.rdf"], None, &[]),
    // Kratos' own templates (kratos-reference.md §1.5, §13 cases 1-7).
    (
        "/helloworld/{name}",
        &["helloworld", "*"],
        None,
        &[("name", 1, 2)],
    ),
    (
        "/test/{message.id=test}",
        &["test", "test"],
        None,
        &[("message.id", 1, 2)],
    ),
    (
        "/test/{message.id=test/*}",
        &["test", "test", "*"],
        None,
        &[("message.id", 1, 3)],
    ),
    (
        "/v1/{name=messages/*}/books",
        &["v1", "messages", "*", "books"],
        None,
        &[("name", 1, 3)],
    ),
    (
        "/test/{message.namespace=*}/name/{message.name=*}",
        &["test", "*", "name", "*"],
        None,
        &[("message.namespace", 1, 2), ("message.name", 3, 4)],
    ),
    (
        "/v1/{name=v1.0/*}",
        &["v1", "v1.0", "*"],
        None,
        &[("name", 1, 3)],
    ),
    (
        "/v1/{name=messages/**}",
        &["v1", "messages", "**"],
        None,
        &[("name", 1, 3)],
    ),
];

#[test]
fn every_valid_template_parses_into_its_segments_verb_and_variables() {
    for (source, segments, verb, variables) in VALID {
        let t = parse(source);
        assert_eq!(t.as_str(), *source);
        let got: Vec<String> = t.segments().iter().map(seg_text).collect();
        assert_eq!(got, *segments, "segments of {source}");
        assert_eq!(t.verb(), *verb, "verb of {source}");
        let got: Vec<(&str, usize, usize)> = t
            .variables()
            .iter()
            .map(|v| (v.field_path.as_str(), v.start, v.end))
            .collect();
        assert_eq!(got, *variables, "variables of {source}");
    }
}

#[test]
fn field_paths_split_at_dots() {
    let t = parse("/a/{x.y.z=*/a/b}/c");
    assert_eq!(
        t.variables()[0].fields().collect::<Vec<_>>(),
        ["x", "y", "z"]
    );
}

/// http_template_test.cc `ErrorTests` (all but `"/"`, see below), `ParseNonVerbTest`, and the
/// template forms of grpc-gateway's `TestParseSegmentsWithErrors`.
const INVALID: &[&str] = &[
    // ErrorTests.
    "",
    "//",
    "/{}",
    "/a/",
    "/a//b",
    ":verb",
    "/:verb",
    "/a/:verb",
    ":",
    "/:",
    "/*:",
    "/**:",
    "/{var}:",
    "/a/b/:",
    "/a/b/*:",
    "/a/b/**:",
    "/a/b/{var}:",
    "/a/{",
    "/a/{var",
    "/a/{var.",
    "/a/{x=var:verb}",
    "a",
    "{x}",
    "{x=/a}",
    "{x=/a/b}",
    "a/b",
    "a/b/{x}",
    "a/{x}/b",
    "a/{x}/b:verb",
    "/a/{var=/b}",
    "/{var=a/{nested=b}}",
    "/a{x}",
    "/{x}a",
    "/a{x}b",
    "/{x}a{y}",
    "/a/b{x}",
    "/a/{x}b",
    "/a/b{x}c",
    "/a/{x}b{y}",
    "/a/b{x}/s",
    "/a/{x}b/s",
    "/a/b{x}c/s",
    "/a/{x}b{y}/s",
    // ParseNonVerbTest.
    "/a/:",
    "/a/*:",
    "/a/**:",
    "/a/{b=*}/**:",
    // grpc-gateway TestParseSegmentsWithErrors.
    "/a?b",
    "/{name",
    "/{name=",
    "/{name=*",
    "/{name.}",
    "/{name..nested}",
    "/{field-name}",
    // The grammar's own rules (§G): `**` only last (before the verb), no nested variables,
    // field paths are identifiers, a variable bound once.
    "/v1/**/x",
    "/v1/{a=**}/x",
    "/v1/{a}/{a}",
    "/v1/{1a}",
    "/v1/{a=b/{c}}",
    "/v1/x*",
    "/v1/*x",
    "/v1/{a}b",
];

#[test]
fn every_invalid_template_is_rejected_with_an_error() {
    let accepted: Vec<&&str> = INVALID
        .iter()
        .filter(|bad| Template::parse(bad).is_ok())
        .collect();
    assert!(accepted.is_empty(), "accepted: {accepted:?}");
    for bad in INVALID {
        let err = Template::parse(bad).expect_err(bad);
        // The error names the template as written.
        assert!(
            err.to_string()
                .starts_with(&format!("invalid path template '{bad}': ")),
            "{bad:?}: {err}"
        );
        assert!(!err.reason.is_empty(), "{bad:?}");
    }
}

#[test]
fn double_wildcard_in_the_middle_is_rejected_as_the_grammar_says() {
    // §G: "`**` matches zero or more segments and must be last, except for the Verb". The C++
    // parser of grpc-httpjson-transcoding accepts `**` inside a variable followed by more
    // segments (its ParseTest14-16 and MoreVariableTests); the google.api.http text, and we,
    // do not.
    for t in [
        "/a/{b=c/**}/d/e",
        "/a/{b=c/**/d}/e",
        "/a/{b=c/**/d}/e:verb",
        "/{x.y.z=a/**/b}",
        "/{x.y.z=a/**/b}/c/d",
        "/{x=**}/c:custom",
    ] {
        let err = Template::parse(t).expect_err(t);
        assert_eq!(err.reason, "'**' must be the last segment", "{t}");
    }
}

#[test]
fn the_root_template_is_accepted_as_kratos_routes_it() {
    // ErrorTests rejects "/" (the grammar needs one segment); Kratos (gorilla/mux) routes
    // `get: "/"`, and so do we: it matches only "/".
    let t = parse("/");
    assert!(t.segments().is_empty());
    assert!(t.matches("/").is_some());
    assert!(t.matches("/x").is_none());
}

type Binding = &'static [(&'static str, &'static str)];

/// (template, path, bindings or `None` for no match).
const MATCHING: &[(&str, &str, Option<Binding>)] = &[
    // Literals and single-segment variables.
    (
        "/shelves/{shelf}/books/{book}",
        "/shelves/s1/books/b1",
        Some(&[("shelf", "s1"), ("book", "b1")]),
    ),
    ("/shelves/{shelf}/books/{book}", "/shelves/s1/books", None),
    (
        "/shelves/{shelf}/books/{book}",
        "/shelves/s1/books/b1/x",
        None,
    ),
    ("/shelves/{shelf}/books/{book}", "/shelves//books/b1", None),
    (
        "/shelves/{shelf}/books/{book}",
        "/shelvez/s1/books/b1",
        None,
    ),
    (
        "/helloworld/{name}",
        "/helloworld/kratos",
        Some(&[("name", "kratos")]),
    ),
    ("/helloworld/{name}", "/helloworld/", None),
    ("/helloworld/{name}", "/helloworld", None),
    ("/a/{a.b.c}", "/a/x", Some(&[("a.b.c", "x")])),
    // Wildcards without variables.
    ("/shelves/**", "/shelves/a/b/c", Some(&[])),
    ("/shelves/**", "/shelves", Some(&[])),
    ("/shelves/**", "/books/a", None),
    ("/**", "/", Some(&[])),
    ("/**", "/a/b", Some(&[])),
    ("/*/**", "/a", Some(&[])),
    ("/*/**", "/a/b/c", Some(&[])),
    ("/*/a/**", "/x/a/y/z", Some(&[])),
    ("/*/a/**", "/x/b/y", None),
    // Multi-segment variables capture their whole extent.
    ("/a/{b=c/*}", "/a/c/x", Some(&[("b", "c/x")])),
    ("/a/{b=c/*}", "/a/d/x", None),
    ("/a/{b=c/*}", "/a/c/x/y", None),
    ("/a/{b=c/*/d}", "/a/c/x/d", Some(&[("b", "c/x/d")])),
    ("/a/{b=c/**}", "/a/c/x/y", Some(&[("b", "c/x/y")])),
    ("/a/{b=**}", "/a/x/y/z", Some(&[("b", "x/y/z")])),
    ("/a/{b=**}", "/a", Some(&[("b", "")])),
    (
        "/v1/{name=messages/*}/books",
        "/v1/messages/42/books",
        Some(&[("name", "messages/42")]),
    ),
    (
        "/v1/b/{bucket_name=buckets/*}/o/{name}",
        "/v1/b/buckets/bk/o/obj",
        Some(&[("bucket_name", "buckets/bk"), ("name", "obj")]),
    ),
    ("/{x.y.z=*/a/b}/c", "/q/a/b/c", Some(&[("x.y.z", "q/a/b")])),
    // Custom verbs.
    ("/a:foo", "/a:foo", Some(&[])),
    ("/a:foo", "/a", None),
    ("/a:foo", "/a:bar", None),
    ("/{x}:verb", "/y:verb", Some(&[("x", "y")])),
    ("/{x=**}:myverb", "/a/b:myverb", Some(&[("x", "a/b")])),
    ("/a/b/{a}:verb", "/a/b/c:verb", Some(&[("a", "c")])),
    (
        "/v1/a/{endpoint}:a",
        "/v1/a/e:a",
        Some(&[("endpoint", "e")]),
    ),
    // As Kratos (its router matches the decoded path), the `:` before the verb, the verb and
    // literals compare decoded; an encoded slash is never a separator.
    (
        "/v1/{name=shelves/*}:archive",
        "/v1/shelves/s1%3Aarchive",
        Some(&[("name", "shelves/s1")]),
    ),
    ("/{x}:verb", "/y%3averb", Some(&[("x", "y")])),
    ("/{x}:verb", "/y%3A%76erb", Some(&[("x", "y")])),
    ("/{x}:verb", "/a:b%3Averb", Some(&[("x", "a:b")])),
    ("/{x}:verb", "/y%3Averbs", None),
    ("/a:foo", "/a%3Afoo", Some(&[])),
    (
        "/shelves/{shelf}",
        "/%73helves/s1",
        Some(&[("shelf", "s1")]),
    ),
    ("/shelves/{shelf}", "/shelves%2Fs1", None),
    ("/{x=**}:myverb", "/a%2Fb%3Amyverb", Some(&[("x", "a/b")])),
    // Without a verb in the template, a colon belongs to the segment.
    (
        "/v1/{name}",
        "/v1/op:cancel",
        Some(&[("name", "op:cancel")]),
    ),
    // Percent-decoding: single-segment captures are fully decoded.
    ("/v1/{name}", "/v1/a%20b", Some(&[("name", "a b")])),
    ("/v1/{name}", "/v1/%E4%BD%A0", Some(&[("name", "你")])),
    // As Kratos: an encoded slash cannot sit in a single-segment variable (decoded, it would be
    // two segments), and multi-segment captures decode `%2F` too (the google.api.http text keeps
    // it encoded; path-template's documentation gives the reason).
    ("/v1/{name}", "/v1/a%2Fb", None),
    ("/v1/{name}", "/v1/a%2fb", None),
    ("/v1/{name=**}", "/v1/a%2Fb/c", Some(&[("name", "a/b/c")])),
    (
        "/v1/{name=shelves/*/books/*}",
        "/v1/shelves/s%201/books/b%2F2",
        Some(&[("name", "shelves/s 1/books/b/2")]),
    ),
];

#[test]
fn the_matching_table_holds() {
    for (source, path, want) in MATCHING {
        let t = parse(source);
        let got = t.matches(path).map(|c| {
            c.decode(&t)
                .unwrap_or_else(|e| panic!("{source} {path}: {e}"))
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect::<Vec<_>>()
        });
        let want = want.map(|w| {
            w.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<_>>()
        });
        assert_eq!(got, want, "{source} against {path}");
        // decode_values agrees with decode, in template order.
        if let Some(c) = t.matches(path) {
            let values = c.decode_values(&t).unwrap();
            assert_eq!(values.len(), t.variables().len(), "{source} {path}");
        }
    }
}

#[test]
fn a_bad_escape_in_a_capture_is_a_decode_error() {
    let t = parse("/v1/{name}");
    let c = t.matches("/v1/a%zz").expect("the raw path matches");
    assert_eq!(c.raw(0), Some("a%zz"));
    assert!(c.decode_values(&t).is_err());
}
