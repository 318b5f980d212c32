//! Runs all 1,053 cases of the protoc-gen-validate harness (`testdata/pgv/cases.jsonl`)
//! through the `validate-harness` binary, speaking PGV's protocol over stdin/stdout.
//!
//! A case passes when the verdict matches (`failures == 0` ⇔ valid) and, where the case
//! expects several violations, when `validate_all` reports exactly that many. Time-relative
//! rows are rebuilt against the current time, as `testdata/pgv/README.md` says.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use prost::Message as _;
use validate_harness::tests::harness::{TestCase, TestResult};

struct Case {
    name: String,
    type_name: String,
    failures: usize,
    bytes: Vec<u8>,
}

fn base64_decode(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut buf = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => panic!("bad base64 {s}"),
        };
        buf = (buf << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
        }
    }
    out
}

/// The message of the time-relative cases: `val` (field 1) is a Timestamp.
#[derive(Clone, PartialEq, prost::Message)]
struct TimestampHolder {
    #[prost(message, optional, tag = "1")]
    val: Option<pbjson_types::Timestamp>,
}

fn load_cases() -> Vec<Case> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/pgv/cases.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let row: serde_json::Value = serde_json::from_str(line).unwrap();
            let mut bytes = base64_decode(row["binary_b64"].as_str().unwrap());
            if let Some(offset) = row.get("now_offset_seconds").and_then(|v| v.as_i64()) {
                let mut holder = TimestampHolder::decode(bytes.as_slice()).unwrap();
                holder.val.get_or_insert_with(Default::default).seconds = now + offset;
                bytes = holder.encode_to_vec();
            }
            Case {
                name: row["name"].as_str().unwrap().to_string(),
                type_name: row["type"].as_str().unwrap().to_string(),
                failures: row["failures"].as_u64().unwrap() as usize,
                bytes,
            }
        })
        .collect()
}

fn run_binary(input: &[u8]) -> TestResult {
    let mut child = Command::new(env!("CARGO_BIN_EXE_validate-harness"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    TestResult::decode(output.stdout.as_slice()).unwrap()
}

fn test_case(case: &Case) -> Vec<u8> {
    any_case(
        &format!("type.googleapis.com/{}", case.type_name),
        &case.bytes,
    )
}

/// A `TestCase` holding `bytes` as an `Any` of `type_url`.
fn any_case(type_url: &str, bytes: &[u8]) -> Vec<u8> {
    let mut case = TestCase {
        message: Some(Default::default()),
    };
    if let Some(any) = &mut case.message {
        any.type_url = type_url.to_string();
        any.value = bytes.to_vec().into();
    }
    case.encode_to_vec()
}

#[test]
fn all_pgv_harness_cases_pass() {
    let cases = load_cases();
    assert_eq!(
        cases.len(),
        1053,
        "testdata/pgv/cases.jsonl holds the 1,053 upstream cases"
    );
    let mut failed = Vec::new();
    let mut multi_checked = 0;
    for case in &cases {
        let result = run_binary(&test_case(case));
        let problem = if result.error {
            Some(format!("harness error: {:?}", result.reasons))
        } else if result.valid != (case.failures == 0) {
            Some(format!(
                "expected {}, got {} {:?}",
                if case.failures == 0 {
                    "valid"
                } else {
                    "invalid"
                },
                if result.valid { "valid" } else { "invalid" },
                result.reasons
            ))
        } else if case.failures > 1 {
            multi_checked += 1;
            (result.reasons.len() != case.failures).then(|| {
                format!(
                    "expected {} violations, got {}: {:#?}",
                    case.failures,
                    result.reasons.len(),
                    result.reasons
                )
            })
        } else {
            None
        };
        if !result.error {
            assert!(
                result.check_multiple_errors,
                "{}: check_multiple_errors",
                case.name
            );
        }
        if let Some(p) = problem {
            failed.push(format!(
                "[{}] {} ({}): {p}",
                case.name, case.type_name, case.failures
            ));
        }
    }
    let passed = cases.len() - failed.len();
    println!(
        "PGV harness: {passed}/{} cases pass ({multi_checked} multi-violation counts checked)",
        cases.len()
    );
    for f in &failed {
        println!("FAILED {f}");
    }
    assert!(
        failed.is_empty(),
        "{} of {} PGV harness cases fail:\n{}",
        failed.len(),
        cases.len(),
        failed.join("\n")
    );
}

#[test]
fn bad_input_is_an_error_result_not_a_crash() {
    for input in [&b"\xff\xff\xff"[..], b"", b"\x0a\x03\x0a\x01x"] {
        let result = run_binary(input);
        assert!(result.error, "{input:?}: {result:?}");
        assert!(!result.valid);
        assert_eq!(result.reasons.len(), 1);
    }
    // A known type whose bytes do not decode.
    let bad = any_case(
        "type.googleapis.com/tests.harness.cases.StringConst",
        &[0x0a, 0x05, b'a'],
    );
    let result = run_binary(&bad);
    assert!(
        result.error && result.reasons[0].contains("cannot decode"),
        "{result:?}"
    );
}

#[test]
fn messages_are_go_pgv_text() {
    let cases = load_cases();
    let run = |name: &str| {
        let case = cases.iter().find(|c| c.name == name).unwrap();
        validate_harness::run_case(&test_case(case)).reasons
    };
    assert_eq!(
        run("string - const - invalid"),
        ["invalid StringConst.Val: value must equal foo"]
    );
    assert_eq!(
        run("float - gt & lt - invalid (below)"),
        ["invalid FloatGTLT.Val: value must be inside range (0, 10)"]
    );
    assert_eq!(
        run("string - min len - invalid"),
        ["invalid StringMinLen.Val: value length must be at least 3 runes"]
    );
    assert_eq!(
        run("string - email - invalid"),
        [
            "invalid StringEmail.Val: value must be a valid email address | caused by: mail: missing '@' or angle-addr"
        ]
    );
    assert_eq!(
        run("message - required - invalid"),
        ["invalid MessageRequired.Val: value is required"]
    );
    assert_eq!(
        run("oneof - require - invalid"),
        ["invalid OneOfRequired.O: value is required"]
    );
    assert_eq!(
        run("map - keys - invalid"),
        ["invalid key for MapKeys.Val[1]: value must be less than 0"]
    );
    assert_eq!(
        run("duration - gte - invalid"),
        ["invalid DurationGTE.Val: value must be greater than or equal to 1ms"]
    );
}
