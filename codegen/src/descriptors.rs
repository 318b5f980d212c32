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
//!
//! The pool keeps a file's source-code info only for the elements that have comments: the
//! generators read comments (as documentation and descriptions), never spans, and protoc sends a
//! location for every element and every part of it (name, type, number, options...), most of
//! them without comments. prost-reflect holds each file twice (its own form and prost-types'),
//! so those locations were most of a request's memory and decoding time. Every span is still
//! checked before it is dropped.

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
    let commented;
    let bytes = match header.and_then(|h| h.source_code_info) {
        Some(info) => {
            check_spans(&info).map_err(fail)?;
            commented = with_commented_locations_only(bytes, info);
            commented.as_deref().unwrap_or(bytes)
        }
        None => bytes,
    };
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

/// `bytes` (an encoded `FileDescriptorProto` whose source-code info is `info`) with only the
/// locations that carry a comment (leading, trailing or detached), or `None` when every location
/// does (nothing to drop) or the fields cannot be walked (then prost-reflect reports the error).
///
/// The other fields are copied as they are; the source-code info, which may be split over
/// several occurrences of its field (they merge, as for any embedded message), is written once
/// at the end.
fn with_commented_locations_only(
    bytes: &[u8],
    mut info: prost_types::SourceCodeInfo,
) -> Option<Vec<u8>> {
    const SOURCE_CODE_INFO: u32 = 9;
    let all = info.location.len();
    info.location.retain(|l| {
        l.leading_comments.is_some()
            || l.trailing_comments.is_some()
            || !l.leading_detached_comments.is_empty()
    });
    if info.location.len() == all {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut buf = bytes;
    while buf.has_remaining() {
        let field = buf;
        let (tag, wire_type) = decode_key(&mut buf).ok()?;
        let complete = match wire_type {
            WireType::Varint => decode_varint(&mut buf).is_ok(),
            WireType::SixtyFourBit => skip(&mut buf, 8),
            WireType::ThirtyTwoBit => skip(&mut buf, 4),
            WireType::LengthDelimited => {
                let len = usize::try_from(decode_varint(&mut buf).ok()?).ok()?;
                skip(&mut buf, len)
            }
            // Groups are not fields of a FileDescriptorProto.
            WireType::StartGroup | WireType::EndGroup => false,
        };
        if !complete {
            return None;
        }
        if tag != SOURCE_CODE_INFO {
            out.extend_from_slice(&field[..field.len() - buf.len()]);
        }
    }
    prost::encoding::message::encode(SOURCE_CODE_INFO, &info, &mut out);
    Some(out)
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

    /// A file with comments on its message and one field, and locations without any.
    fn commented_file() -> prost_types::FileDescriptorProto {
        use prost_types::source_code_info::Location;
        let location = |path: Vec<i32>, leading: Option<&str>, detached: Vec<&str>| Location {
            path,
            span: vec![1, 0, 5],
            leading_comments: leading.map(Into::into),
            trailing_comments: None,
            leading_detached_comments: detached.into_iter().map(Into::into).collect(),
        };
        prost_types::FileDescriptorProto {
            name: Some("c.proto".into()),
            package: Some("c".into()),
            syntax: Some("proto3".into()),
            message_type: vec![prost_types::DescriptorProto {
                name: Some("M".into()),
                field: vec![prost_types::FieldDescriptorProto {
                    name: Some("f".into()),
                    number: Some(1),
                    r#type: Some(prost_types::field_descriptor_proto::Type::String as i32),
                    label: Some(prost_types::field_descriptor_proto::Label::Optional as i32),
                    json_name: Some("f".into()),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            source_code_info: Some(prost_types::SourceCodeInfo {
                location: vec![
                    location(vec![], None, vec![]),
                    location(vec![4, 0], Some(" M.\n"), vec![]),
                    location(vec![4, 0, 1], None, vec![]),
                    location(vec![4, 0, 2, 0], None, vec![" detached\n"]),
                    location(vec![4, 0, 2, 0, 1], None, vec![]),
                ],
            }),
            ..Default::default()
        }
    }

    #[test]
    fn only_commented_locations_are_kept_and_the_rest_is_intact() {
        let fd = commented_file();
        let mut pool = DescriptorPool::new();
        add_file(&mut pool, &fd.encode_to_vec()).unwrap();
        let loaded = pool.get_file_by_name("c.proto").unwrap();
        let mut expected = fd.clone();
        expected
            .source_code_info
            .as_mut()
            .unwrap()
            .location
            .retain(|l| matches!(l.path.as_slice(), [4, 0] | [4, 0, 2, 0]));
        assert_eq!(loaded.file_descriptor_proto(), &expected);
    }

    #[test]
    fn source_info_split_over_several_fields_is_merged() {
        // An embedded message may come in several pieces; they merge (here: the locations of
        // the file's second piece follow those of the first).
        let fd = commented_file();
        let info = fd.source_code_info.clone().unwrap();
        let (first, second) = info.location.split_at(2);
        let mut bytes = prost_types::FileDescriptorProto {
            source_code_info: Some(prost_types::SourceCodeInfo {
                location: first.to_vec(),
            }),
            ..fd.clone()
        }
        .encode_to_vec();
        prost::encoding::message::encode(
            9,
            &prost_types::SourceCodeInfo {
                location: second.to_vec(),
            },
            &mut bytes,
        );
        let mut pool = DescriptorPool::new();
        add_file(&mut pool, &bytes).unwrap();
        let kept: Vec<Vec<i32>> = pool
            .get_file_by_name("c.proto")
            .unwrap()
            .file_descriptor_proto()
            .source_code_info
            .as_ref()
            .unwrap()
            .location
            .iter()
            .map(|l| l.path.clone())
            .collect();
        assert_eq!(kept, vec![vec![4, 0], vec![4, 0, 2, 0]]);
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
