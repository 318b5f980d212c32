//! Fuzzes the path-template parser and matcher (`kratos-path-template`).
//!
//! Properties: parsing and matching never panic; a path built from a parsed template (every
//! variable filled with percent-encoded text) matches it and its captures decode to exactly
//! the values put in; and captured text decodes as a strict percent-decoder says (`%` and two
//! hexadecimal digits, UTF-8 result).

use fuzz::input::{self, pick};
use fuzz::{GenResult, Target, Unstructured};
use kratos_path_template::{Template, decode_single_segment};

/// A template, a path, and the decoded captures the path must give when it was built from the
/// template.
#[derive(Debug)]
struct Case {
    template: String,
    path: String,
    expect: Option<Vec<String>>,
}

/// A template made of literal, `*`, `**` and variable segments (with nested segments), a
/// path that matches it and the values its variables must capture.
fn built(u: &mut Unstructured<'_>) -> GenResult<Case> {
    let mut template = String::new();
    let mut path: Vec<String> = Vec::new();
    let mut values = Vec::new();
    let n = u.int_in_range(0..=5)?;
    for i in 0..n {
        let last = i + 1 == n;
        template.push('/');
        match u.int_in_range(0..=5)? {
            0 | 1 => {
                let lit = literal(u)?;
                template.push_str(&lit);
                path.push(lit);
            }
            2 => {
                template.push('*');
                path.push(segment_value(u, true)?);
            }
            3 if last => {
                template.push_str("**");
                path.extend(multi_value(u)?.0);
            }
            _ => {
                let field = format!("f{i}{}", if u.arbitrary()? { ".sub" } else { "" });
                if u.ratio(1, 2)? {
                    // `{f}`: one segment, whose value may not hold a slash.
                    template.push_str(&format!("{{{field}}}"));
                    let raw = plain_value(u)?;
                    path.push(input::escape(&raw));
                    values.push(raw);
                } else {
                    // `{f=lit/*/**}`: the captured value is the covered segments, decoded.
                    template.push_str(&format!("{{{field}="));
                    let mut decoded = Vec::new();
                    let inner = u.int_in_range(1..=3)?;
                    for j in 0..inner {
                        if j > 0 {
                            template.push('/');
                        }
                        match u.int_in_range(0..=2)? {
                            0 => {
                                let lit = literal(u)?;
                                template.push_str(&lit);
                                decoded.push(lit.clone());
                                path.push(lit);
                            }
                            1 if last && j + 1 == inner => {
                                template.push_str("**");
                                let (segments, raw) = multi_value(u)?;
                                path.extend(segments);
                                decoded.extend(raw);
                            }
                            _ => {
                                template.push('*');
                                let raw = plain_value(u)?;
                                path.push(input::escape(&raw));
                                decoded.push(raw);
                            }
                        }
                    }
                    template.push('}');
                    values.push(decoded.join("/"));
                }
            }
        }
    }
    if template.is_empty() {
        template.push('/');
    }
    let mut path = format!("/{}", path.join("/"));
    if n > 0 && u.ratio(1, 4)? {
        let verb = literal(u)?;
        template.push(':');
        template.push_str(&verb);
        path.push(':');
        path.push_str(&verb);
    }
    Ok(Case {
        template,
        path,
        expect: Some(values),
    })
}

/// A literal segment: letters, digits and the other unreserved characters.
fn literal(u: &mut Unstructured<'_>) -> GenResult<String> {
    let mut lit = input::word(u, 6)?;
    if u.ratio(1, 5)? {
        lit.push_str(pick(u, &["-", ".", "_", "~", ".v2"])?);
    }
    if lit.is_empty() {
        lit.push('x');
    }
    Ok(lit)
}

/// Text without a slash, never empty.
fn plain_value(u: &mut Unstructured<'_>) -> GenResult<String> {
    let v = input::text(u, 4)?.replace('/', "");
    Ok(if v.is_empty() { "v".to_string() } else { v })
}

/// One non-empty segment: escaped text, where an anonymous `*` may also hold an escaped slash.
fn segment_value(u: &mut Unstructured<'_>, slash_ok: bool) -> GenResult<String> {
    let v = input::text(u, 4)?;
    let v = if slash_ok { v } else { v.replace('/', "") };
    Ok(if v.is_empty() {
        "s".to_string()
    } else {
        input::escape(&v)
    })
}

/// One to four segments for a `**`: their path text and their decoded values.
fn multi_value(u: &mut Unstructured<'_>) -> GenResult<(Vec<String>, Vec<String>)> {
    let n = u.int_in_range(1..=4)?;
    let mut raw = Vec::new();
    let mut segments = Vec::new();
    for _ in 0..n {
        let v = input::text(u, 3)?;
        let v = if v.is_empty() { "m".to_string() } else { v };
        segments.push(input::escape(&v));
        raw.push(v);
    }
    Ok((segments, raw))
}

fn generate(u: &mut Unstructured<'_>, templates: &[String], paths: &[String]) -> GenResult<Case> {
    let shape = u.int_in_range(0..=9)?;
    if shape < 5 {
        return built(u);
    }
    let template = match shape {
        5..=7 => {
            let seed = pick(u, templates)?;
            String::from_utf8_lossy(&input::mutate(u, seed.as_bytes())?).into_owned()
        }
        8 => built(u)?.template,
        _ => format!("/{}", input::text(u, 8)?),
    };
    let path = match u.int_in_range(0..=3)? {
        0 => pick(u, paths)?.clone(),
        1 => {
            let seed = pick(u, paths)?;
            String::from_utf8_lossy(&input::mutate(u, seed.as_bytes())?).into_owned()
        }
        2 => built(u)?.path,
        _ => format!("/{}", input::url_text(u, 8)?),
    };
    Ok(Case {
        template,
        path,
        expect: None,
    })
}

/// Percent-decoding as RFC 3986 defines it: `%` then exactly two hexadecimal digits; the
/// result must be UTF-8.
fn strict_decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hi = char::from(*bytes.get(i + 1)?).to_digit(16)?;
            let lo = char::from(*bytes.get(i + 2)?).to_digit(16)?;
            out.push(u8::try_from(hi * 16 + lo).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn check(case: &Case) -> fuzz::Outcome {
    let template = match Template::parse(&case.template) {
        Ok(t) => t,
        Err(_) if case.expect.is_none() => return Ok("invalid template".into()),
        Err(e) => return Err(format!("a generated template does not parse: {e}")),
    };
    let Some(captures) = template.matches(&case.path) else {
        if case.expect.is_some() {
            return Err("the path built from the template does not match it".into());
        }
        return Ok("no match".into());
    };
    for i in 0..template.variables().len() {
        let Some(raw) = captures.raw(i) else {
            return Err(format!("variable {i} has no capture"));
        };
        if !case.path.contains(raw) {
            return Err(format!("capture {raw:?} is not part of the path"));
        }
        let got = decode_single_segment(raw).ok();
        let want = strict_decode(raw);
        if got != want {
            return Err(format!(
                "capture {raw:?} decodes to {got:?}, a strict decoder says {want:?}"
            ));
        }
    }
    match (&case.expect, captures.decode_values(&template)) {
        (Some(want), Ok(got)) if *want != got => Err(format!(
            "captured {got:?}, the path was built with {want:?}"
        )),
        (Some(_), Err(e)) => Err(format!("the built path does not decode: {e}")),
        (Some(_), Ok(_)) => Ok("built path matched".into()),
        (None, Ok(_)) => Ok("match".into()),
        (None, Err(_)) => Ok("match, bad escape".into()),
    }
}

#[test]
fn path_templates_parse_match_and_decode() {
    let templates = fuzz::corpus_lines("path_template", "templates.txt");
    let paths = fuzz::corpus_lines("path_template", "paths.txt");
    let corpus: Vec<Case> = templates
        .iter()
        .flat_map(|t| {
            paths.iter().map(|p| Case {
                template: t.clone(),
                path: p.clone(),
                expect: None,
            })
        })
        .collect();
    let report = Target {
        name: "path_template",
        ci_iters: 200_000,
        max_bytes: 512,
        corpus,
    }
    .run(|u, _| generate(u, &templates, &paths), check);
    // The generators reach every branch that matters.
    assert!(report.count("built path matched") > 30_000, "{report:?}");
    assert!(report.count("match") > 100, "{report:?}");
    assert!(report.count("invalid template") > 1_000, "{report:?}");
}
