//! Shared test support: running the plugin on fixtures, comparing documents, validating them
//! with openapi-spec-validator.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use kratos_codegen::testing;
use serde_json::Value;

/// The workspace root.
pub fn workspace() -> PathBuf {
    testing::workspace_dir()
}

/// Runs the plugin on `files` (relative to `include`) with `parameter`; returns the output files
/// as (name, content).
pub fn run(include: &Path, files: &[&str], parameter: &str) -> Vec<(String, String)> {
    let request = testing::request(&[include.to_path_buf()], files, parameter);
    let output = protoc_gen_openapi::generate(&request)
        .unwrap_or_else(|e| panic!("{files:?} with '{parameter}': {e}"));
    output
        .files
        .into_iter()
        .map(|f| (f.name, f.content))
        .collect()
}

/// Runs the plugin and parses its single JSON output.
pub fn run_json(include: &Path, files: &[&str], parameter: &str) -> Value {
    let out = run(include, files, parameter);
    assert_eq!(
        out.len(),
        1,
        "one output file expected, got {:?}",
        names(&out)
    );
    assert_eq!(out[0].0, "openapi.json");
    serde_json::from_str(&out[0].1).unwrap()
}

fn names(files: &[(String, String)]) -> Vec<&str> {
    files.iter().map(|(n, _)| n.as_str()).collect()
}

/// A YAML file as a JSON value.
pub fn read_yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    yaml_serde::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The differences between two JSON values, as JSON pointers with both sides (at most
/// `limit`). Object key order is ignored; array order is not.
pub fn diff(expected: &Value, actual: &Value, limit: usize) -> Vec<String> {
    let mut out = Vec::new();
    walk(expected, actual, String::new(), &mut out, limit);
    out
}

fn walk(e: &Value, a: &Value, at: String, out: &mut Vec<String>, limit: usize) {
    if out.len() >= limit {
        return;
    }
    match (e, a) {
        (Value::Object(eo), Value::Object(ao)) => {
            for (k, ev) in eo {
                let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                match ao.get(k) {
                    Some(av) => walk(ev, av, p, out, limit),
                    None => out.push(format!("{p}: missing (expected {ev})")),
                }
            }
            for (k, av) in ao {
                if !eo.contains_key(k) && out.len() < limit {
                    let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                    out.push(format!("{p}: unexpected {av}"));
                }
            }
        }
        (Value::Array(ea), Value::Array(aa)) if ea.len() == aa.len() => {
            for (i, (ev, av)) in ea.iter().zip(aa).enumerate() {
                walk(ev, av, format!("{at}/{i}"), out, limit);
            }
        }
        _ => {
            if e != a {
                out.push(format!("{at}: expected {e}, got {a}"));
            }
        }
    }
}

/// The Python of the test environment, with openapi-spec-validator importable; fails the test
/// (never skips it) when missing.
pub fn validator_python() -> PathBuf {
    let python = workspace().join(".tools/venv/bin/python");
    let ok = Command::new(&python)
        .args(["-c", "import openapi_spec_validator"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "openapi-spec-validator is not installed in {}: run scripts/install-deps.sh",
        python.display()
    );
    python
}

const VALIDATE_SCRIPT: &str = r#"
import sys
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename
failed = 0
for path in sys.argv[1:]:
    try:
        validate(read_from_filename(path)[0])
    except Exception as e:
        failed += 1
        print(f"INVALID {path}: {str(e).splitlines()[0] if str(e) else type(e).__name__}")
print(f"checked {len(sys.argv) - 1}, invalid {failed}")
sys.exit(1 if failed else 0)
"#;

/// Validates every document (files) in one Python run; panics with the validator's report on
/// any invalid one.
pub fn validate_all(paths: &[PathBuf]) {
    assert!(!paths.is_empty(), "no documents to validate");
    let python = validator_python();
    let output = Command::new(python)
        .arg("-c")
        .arg(VALIDATE_SCRIPT)
        .args(paths)
        .output()
        .expect("run openapi-spec-validator");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "openapi-spec-validator rejected documents:\n{report}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        report.contains(&format!("checked {}, invalid 0", paths.len())),
        "unexpected validator report: {report}"
    );
}

/// What [`to_gnostic`] undid.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Undone {
    /// `nullable: true` removed (and the `allOf` it alone needed unwrapped).
    pub nullable: usize,
    /// `format` and `pattern` removed from 64-bit integer strings.
    pub int64: usize,
    /// `pattern` removed from `bytes` strings.
    pub bytes: usize,
    /// `allowEmptyValue: true` removed from query parameters.
    pub allow_empty: usize,
    /// The 32-bit range removed from `float` numbers.
    pub float: usize,
    /// Duration query parameters given gnostic's pattern back.
    pub duration: usize,
}

/// gnostic's Duration pattern.
const JSON_DURATION: &str = r"^-?(?:0|[1-9][0-9]{0,11})(?:\.[0-9]{1,9})?s$";
/// Ours for Duration query parameters.
const QUERY_DURATION: &str = r"^(?:0|-?(?:0|[1-9][0-9]{0,8})(?:\.[0-9]{1,9})?s)$";

/// Turns our document into gnostic's by undoing the divergences that appear on gnostic's
/// fixtures (README "Differences from gnostic"): `nullable: true` on fields the server writes
/// as `null` (with the `allOf` wrapper a `$ref` needed only for it), the `format` and `pattern`
/// of 64-bit integers (gnostic: `type: string` alone), the base64 `pattern` of bytes, the
/// 32-bit range of floats, `allowEmptyValue` on singular query parameters and the pattern of
/// Duration query parameters (the form reader's range and Go's bare `0`). gnostic never writes `nullable`,
/// `allowEmptyValue`, a `pattern` on these types or these formats, so removing them hides
/// nothing else; everything else must still match. (A path item merged from paths differing
/// only in variable names is undone by the one test that meets it.)
pub fn to_gnostic(doc: &mut Value) -> Undone {
    let mut undone = Undone::default();
    undo(doc, &mut undone);
    undone
}

fn undo(v: &mut Value, undone: &mut Undone) {
    match v {
        Value::Object(map) => {
            if map.get("nullable") == Some(&Value::Bool(true)) {
                map.shift_remove("nullable");
                undone.nullable += 1;
                if map.len() == 1
                    && let Some(Value::Array(all)) = map.get("allOf")
                    && all.len() == 1
                {
                    let inner = all[0].clone();
                    *v = inner;
                    return undo(v, undone);
                }
            }
            let int64 = map.get("type") == Some(&Value::String("string".into()))
                && matches!(
                    map.get("format").and_then(Value::as_str),
                    Some("int64" | "uint64")
                );
            if int64 {
                assert!(
                    map.contains_key("pattern"),
                    "64-bit integer without pattern: {map:?}"
                );
                map.shift_remove("format");
                map.shift_remove("pattern");
                undone.int64 += 1;
            }
            if map.get("format").and_then(Value::as_str) == Some("bytes") {
                assert!(
                    map.shift_remove("pattern").is_some(),
                    "bytes without pattern: {map:?}"
                );
                undone.bytes += 1;
            }
            if map.get("format").and_then(Value::as_str) == Some("float") {
                // The JSON bound (`f32::MAX` as written), or the query reader's (`f32::MAX`).
                let maxima = [3.402_823_5e38_f64, f64::from(f32::MAX)];
                let max = map.shift_remove("maximum").and_then(|v| v.as_f64());
                let min = map.shift_remove("minimum").and_then(|v| v.as_f64());
                // (serde_json's parser may be one unit in the last place off.)
                assert!(
                    max.is_some_and(|m| maxima.iter().any(|x| close(m, *x))),
                    "{max:?}"
                );
                assert_eq!(min, max.map(|m| -m));
                undone.float += 1;
            }
            if map.get("in").and_then(Value::as_str) == Some("query") {
                if map.shift_remove("allowEmptyValue") == Some(Value::Bool(true)) {
                    undone.allow_empty += 1;
                }
                // A Duration parameter: the form reader's pattern for gnostic's JSON one.
                if let Some(pattern) = map.get_mut("schema").and_then(|s| s.get_mut("pattern"))
                    && pattern == QUERY_DURATION
                {
                    *pattern = Value::String(JSON_DURATION.into());
                    undone.duration += 1;
                }
            }
            map.values_mut().for_each(|v| undo(v, undone));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| undo(v, undone)),
        _ => {}
    }
}

/// Whether two doubles are equal up to the last digits (serde_json reads floats fast, not
/// always to the nearest double).
pub fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= b.abs() * 1e-15
}
