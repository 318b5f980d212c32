//! Loading file descriptors into a [`DescriptorPool`] without ever panicking.
//!
//! The rule: whatever bytes arrive (a truncated request, a syntax prost-reflect does not know,
//! bad source-code-info spans, dangling type names, duplicate names), loading ends with the
//! pool or with a [`CodegenError::DecodeFile`] naming the file and the reason.
//!
//! prost-reflect 0.16 panics instead of returning its error for one class of invalid files: a
//! `syntax` other than `proto2`/`proto3` (such as `editions`, `proto4` or an explicit empty
//! string). Its name visitor builds the error's source label with the index of the file being
//! added *before* that file is pushed to the pool's file list, so `Label::new` indexes one past
//! the end ("index out of bounds: the len is N but the index is N", in `descriptor/error.rs`).
//! We therefore check the syntax ourselves first, which gives a precise message, and still run
//! prost-reflect under `catch_unwind`: any other panic it may have on invalid input becomes an
//! error naming the file too (the half-built pool is then dropped, never used).

use std::panic::{AssertUnwindSafe, catch_unwind};

use prost::Message;
use prost::bytes::Buf;
use prost::encoding::{WireType, decode_key, decode_varint};
use prost_reflect::DescriptorPool;

use crate::error::{CodegenError, Result};

/// The syntaxes prost-reflect (and so every generator of the suite) reads.
const SUPPORTED_SYNTAXES: [&str; 2] = ["proto2", "proto3"];

/// The fields of a `FileDescriptorProto` read before loading it: its name, for messages, and
/// its syntax, which prost-reflect cannot report without panicking when it is unknown.
#[derive(Clone, PartialEq, Message)]
struct FileHeader {
    #[prost(string, optional, tag = "1")]
    name: Option<String>,
    #[prost(string, optional, tag = "12")]
    syntax: Option<String>,
    #[prost(message, optional, tag = "9")]
    source_code_info: Option<prost_types::SourceCodeInfo>,
}

/// Adds one encoded `FileDescriptorProto` to `pool`, options intact.
///
/// On error the pool may hold part of the file and must be dropped.
pub(crate) fn add_file(pool: &mut DescriptorPool, bytes: &[u8]) -> Result<()> {
    let header = FileHeader::decode(bytes).ok();
    let file = header
        .as_ref()
        .and_then(|h| h.name.clone())
        .unwrap_or_else(|| file_name_of(bytes));
    let fail = |reason: String| CodegenError::DecodeFile {
        file: file.clone(),
        reason,
    };
    if let Some(syntax) = header.as_ref().and_then(|h| h.syntax.as_deref())
        && !SUPPORTED_SYNTAXES.contains(&syntax)
    {
        return Err(fail(format!(
            "unsupported syntax \"{syntax}\" (the kratos generators read proto2 and proto3 files)"
        )));
    }
    if let Some(info) = header.as_ref().and_then(|h| h.source_code_info.as_ref()) {
        check_spans(info).map_err(fail)?;
    }
    match catch_unwind(AssertUnwindSafe(|| {
        pool.decode_file_descriptor_proto(bytes)
            .map_err(|e| e.to_string())
    })) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(reason)) => Err(fail(reason)),
        Err(panic) => Err(fail(format!(
            "invalid file descriptor (the descriptor library failed while describing the \
             problem: {})",
            panic_message(panic.as_ref())
        ))),
    }
}

/// Checks every location's span: `[start line, start column, end line, end column]`, or three
/// elements when the span ends on its start line, all non-negative, ending no earlier than it
/// starts (descriptor.proto's definition, which protoc, buf and protox always follow).
fn check_spans(info: &prost_types::SourceCodeInfo) -> Result<(), String> {
    for location in &info.location {
        let valid = match *location.span.as_slice() {
            [line, start, end] => line >= 0 && start >= 0 && end >= start,
            [start_line, start, end_line, end] => {
                start_line >= 0
                    && start >= 0
                    && end >= 0
                    && (end_line > start_line || end_line == start_line && end >= start)
            }
            _ => false,
        };
        if !valid {
            return Err(format!(
                "invalid source_code_info: the location of path {:?} has span {:?} (a span is \
                 [start line, start column, end line, end column], the end line left out when \
                 it is the start line, non-negative and not ending before it starts)",
                location.path, location.span
            ));
        }
    }
    Ok(())
}

/// Builds a pool from an encoded `FileDescriptorSet` (dependencies first, as protoc and protox
/// write it), with the same guarantees as a plugin request: an error names the file, and
/// nothing panics.
pub fn pool_from_file_descriptor_set(bytes: &[u8]) -> Result<DescriptorPool> {
    #[derive(Clone, PartialEq, Message)]
    struct RawSet {
        #[prost(bytes = "vec", repeated, tag = "1")]
        file: Vec<Vec<u8>>,
    }
    let set = RawSet::decode(bytes).map_err(|e| CodegenError::DecodeFile {
        file: "<file descriptor set>".into(),
        reason: e.to_string(),
    })?;
    let mut pool = DescriptorPool::new();
    for file in &set.file {
        add_file(&mut pool, file)?;
    }
    Ok(pool)
}

/// The text of a panic payload.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Best-effort name of a file descriptor that may be truncated or invalid: the first `name`
/// field (tag 1) found by walking the fields that are complete.
pub(crate) fn file_name_of(bytes: &[u8]) -> String {
    let mut buf = bytes;
    while buf.has_remaining() {
        let Ok((tag, wire_type)) = decode_key(&mut buf) else {
            break;
        };
        let skipped = match wire_type {
            WireType::Varint => decode_varint(&mut buf).is_ok(),
            WireType::SixtyFourBit => skip(&mut buf, 8),
            WireType::ThirtyTwoBit => skip(&mut buf, 4),
            WireType::LengthDelimited => {
                let Some(len) = decode_varint(&mut buf)
                    .ok()
                    .and_then(|l| usize::try_from(l).ok())
                else {
                    break;
                };
                if tag == 1 {
                    let end = len.min(buf.len());
                    let name = String::from_utf8_lossy(&buf[..end]).into_owned();
                    if !name.is_empty() {
                        return name;
                    }
                }
                skip(&mut buf, len)
            }
            WireType::StartGroup | WireType::EndGroup => false,
        };
        if !skipped {
            break;
        }
    }
    "<unnamed file>".into()
}

fn skip(buf: &mut &[u8], n: usize) -> bool {
    if buf.len() < n {
        return false;
    }
    buf.advance(n);
    true
}

/// Where a request that does not decode went wrong, for the error message: the name of the
/// `proto_file` entry (tag 15) the failure is inside, when it is inside one.
pub(crate) fn failing_file(request: &[u8]) -> Option<String> {
    let mut buf = request;
    while buf.has_remaining() {
        let (tag, wire_type) = decode_key(&mut buf).ok()?;
        match wire_type {
            WireType::Varint => {
                decode_varint(&mut buf).ok()?;
            }
            WireType::SixtyFourBit if skip(&mut buf, 8) => {}
            WireType::ThirtyTwoBit if skip(&mut buf, 4) => {}
            WireType::LengthDelimited => {
                let len = usize::try_from(decode_varint(&mut buf).ok()?).ok()?;
                let end = len.min(buf.len());
                if tag == 15 {
                    let entry = &buf[..end];
                    let complete = end == len;
                    if !complete || !valid_message(entry) {
                        return Some(file_name_of(entry));
                    }
                }
                if !skip(&mut buf, len) {
                    return None;
                }
            }
            _ => return None,
        }
    }
    None
}

/// Whether `bytes` decode as a `FileDescriptorProto` (checked with prost-types, which drops
/// options but validates the whole encoding).
fn valid_message(bytes: &[u8]) -> bool {
    prost_types::FileDescriptorProto::decode(bytes).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, syntax: Option<&str>) -> Vec<u8> {
        prost_types::FileDescriptorProto {
            name: Some(name.into()),
            package: Some("p".into()),
            syntax: syntax.map(Into::into),
            ..Default::default()
        }
        .encode_to_vec()
    }

    #[test]
    fn unknown_syntaxes_are_errors_naming_the_file() {
        for syntax in ["editions", "proto4", ""] {
            let mut pool = DescriptorPool::new();
            let err = add_file(&mut pool, &file("a/b.proto", Some(syntax)))
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("a/b.proto: "), "{err}");
            assert!(err.contains(&format!("\"{syntax}\"")), "{err}");
        }
        for syntax in [None, Some("proto2"), Some("proto3")] {
            let mut pool = DescriptorPool::new();
            assert!(add_file(&mut pool, &file("ok.proto", syntax)).is_ok());
        }
    }

    #[test]
    fn bad_spans_are_errors_naming_the_file() {
        for span in [
            vec![],
            vec![1],
            vec![1, 2],
            vec![1, 2, 3, 4, 5],
            vec![-1, 0, 3],
            vec![2, 5, 1],
            vec![3, 0, 2, 9],
            vec![3, 4, 3, 2],
            vec![0, 0, 0, -7],
        ] {
            let mut fd = prost_types::FileDescriptorProto::decode(
                file("spans.proto", Some("proto3")).as_slice(),
            )
            .unwrap();
            fd.source_code_info = Some(prost_types::SourceCodeInfo {
                location: vec![prost_types::source_code_info::Location {
                    path: vec![4, 0],
                    span: span.clone(),
                    ..Default::default()
                }],
            });
            let mut pool = DescriptorPool::new();
            let err = add_file(&mut pool, &fd.encode_to_vec())
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("spans.proto: "), "{span:?}: {err}");
            assert!(err.contains("span"), "{span:?}: {err}");
        }
        for span in [vec![0, 0, 0], vec![1, 2, 1, 2], vec![1, 9, 2, 0]] {
            let mut fd = prost_types::FileDescriptorProto::decode(
                file("spans.proto", Some("proto3")).as_slice(),
            )
            .unwrap();
            fd.source_code_info = Some(prost_types::SourceCodeInfo {
                location: vec![prost_types::source_code_info::Location {
                    span,
                    ..Default::default()
                }],
            });
            let mut pool = DescriptorPool::new();
            assert!(add_file(&mut pool, &fd.encode_to_vec()).is_ok());
        }
    }

    #[test]
    fn names_of_truncated_files_are_recovered() {
        let bytes = file("dir/x.proto", Some("proto3"));
        assert_eq!(file_name_of(&bytes), "dir/x.proto");
        assert_eq!(file_name_of(&bytes[..5]), "dir");
        assert_eq!(file_name_of(&[0xff, 0xff]), "<unnamed file>");
        assert_eq!(file_name_of(&[]), "<unnamed file>");
    }
}
