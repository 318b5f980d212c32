//! Makes pbjson's serialisers match protojson.
//!
//! Unknown enum numbers: proto3 enums are open, so a message can hold a number its enum does
//! not declare. protojson writes such a number as a JSON number (and a known one as its name);
//! pbjson's serialisers fail with `Invalid variant N` instead. Rule: every place the generated
//! serialiser converts an enum field's `i32` with `E::try_from(x).map_err(.."Invalid variant"..)`
//! (singular, `optional`, oneof, repeated element, map value) becomes an infallible
//! `Ok(kratos::__codegen::OpenEnum::<E>::new(x))`, which serialises the name if `E` declares
//! the number and the number otherwise. Any `Invalid variant` left afterwards fails the build.
//! Reading, pbjson deserialises an enum field as `E` and casts it (`x as i32`), which turns an
//! undeclared number into the default; the rule there: every `map_.next_value::<T>()` whose
//! value is cast `as i32` reads `OpenEnum<E>` in place of `E` inside `T` and takes its
//! `.number()`, so a JSON/YAML number is kept as sent (names still go through `E`). A cast with
//! no such read before it fails the build.
//!
//! Unset message fields: protojson's `EmitUnpopulated` writes an unset singular message field
//! as `null` (pbjson's `emit_fields` leaves it out). pbjson writes such a field as
//! `if let Some(v) = self.<field>.as_ref() { struct_ser.serialize_field("<json>", v)?; }`
//! inside the `Serialize` impl whose `serialize_struct` names the message. This adds the
//! `else` branch. If pbjson's output ever stops having that shape, the build fails naming the
//! field, rather than silently producing different JSON.

use std::path::Path;

use prost_reflect::{DescriptorPool, Kind};

use super::BuildError;

pub(super) fn emit_null_message_fields(
    path: &Path,
    pool: &DescriptorPool,
    package: &str,
) -> Result<(), BuildError> {
    let mut source = std::fs::read_to_string(path).map_err(|e| BuildError::Write {
        path: path.to_path_buf(),
        source: e,
    })?;
    for message in pool.all_messages() {
        if message.package_name() != package || message.is_map_entry() {
            continue;
        }
        let anchor = format!(
            "serializer.serialize_struct(\"{}\", len)?;",
            message.full_name()
        );
        let Some(start) = source.find(&anchor) else {
            continue;
        };
        let end = source[start..]
            .find("struct_ser.end()")
            .map(|e| start + e)
            .ok_or_else(|| unexpected(message.full_name(), "its serialiser has no end"))?;
        let mut block = source[start..end].to_string();
        for field in message.fields() {
            let is_message = matches!(field.kind(), Kind::Message(_));
            let in_oneof = field.containing_oneof().is_some();
            if !is_message || field.is_list() || field.is_map() || in_oneof {
                continue;
            }
            let ident = kratos_codegen::names::field_ident(&field);
            let json = field.json_name();
            let pattern = format!(
                "if let Some(v) = self.{ident}.as_ref() {{\n            struct_ser.serialize_field(\"{json}\", v)?;\n        }}\n"
            );
            let replacement = format!(
                "if let Some(v) = self.{ident}.as_ref() {{\n            struct_ser.serialize_field(\"{json}\", v)?;\n        }} else {{\n            struct_ser.serialize_field(\"{json}\", &::core::option::Option::<()>::None)?;\n        }}\n"
            );
            if block.matches(&pattern).count() != 1 {
                return Err(unexpected(
                    field.full_name(),
                    "the pbjson serialiser of this message field has an unexpected shape",
                ));
            }
            block = block.replace(&pattern, &replacement);
        }
        source.replace_range(start..end, &block);
    }
    std::fs::write(path, source).map_err(|e| BuildError::Write {
        path: path.to_path_buf(),
        source: e,
    })
}

/// The marker of pbjson's failing enum conversion, on the line after `E::try_from(x)`.
const INVALID_VARIANT: &str =
    ".map_err(|_| serde::ser::Error::custom(format!(\"Invalid variant {}\", ";

/// Rewrites every failing enum conversion of the serialisers in `source` (see the module docs).
/// Reserved `gen`: pbjson-build 0.9 escapes identifiers with prost-build's keyword list minus
/// `gen`, which Rust 2024 reserves, so a field, oneof or message named `gen` gives `self.gen`,
/// `gen: ...` and `gen::Type` where prost wrote `r#gen`. Rule: every identifier token `gen`
/// outside string literals and comments becomes `r#gen` (pbjson's own locals are `gen__`, and
/// the JSON names are string literals, so nothing else matches). Likewise pbjson names an enum
/// value `Self` (`self`, `SELF`, or `KIND_SELF` in enum `Kind`) `Kind::Self`, which is not a
/// path Rust accepts; prost names the variant `Self_`, so every `::Self` becomes `::Self_`.
pub(super) fn escape_reserved_gen(path: &Path) -> Result<(), BuildError> {
    let source = std::fs::read_to_string(path).map_err(|e| BuildError::Write {
        path: path.to_path_buf(),
        source: e,
    })?;
    if let Some(patched) = raw_gen_identifiers(&source) {
        std::fs::write(path, patched).map_err(|e| BuildError::Write {
            path: path.to_path_buf(),
            source: e,
        })?;
    }
    Ok(())
}

/// `source` with each bare identifier `gen` written `r#gen` and each `::Self` written
/// `::Self_`, or `None` when it has neither.
fn raw_gen_identifiers(source: &str) -> Option<String> {
    let bytes = source.as_bytes();
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut out = String::with_capacity(source.len());
    let mut changed = false;
    let mut i = 0;
    let mut copied = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                // A string literal (pbjson writes no raw strings in code, only in doc attributes
                // it does not emit): skip to the closing quote, honouring escapes.
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b if is_ident(b) => {
                let start = i;
                while i < bytes.len() && is_ident(bytes[i]) {
                    i += 1;
                }
                let raw_prefix = start >= 2 && &bytes[start - 2..start] == b"r#";
                let after_path = start >= 2 && &bytes[start - 2..start] == b"::";
                let replacement = match &bytes[start..i] {
                    b"gen" if !raw_prefix => Some("r#gen"),
                    b"Self" if after_path => Some("Self_"),
                    _ => None,
                };
                if let Some(replacement) = replacement {
                    out.push_str(&source[copied..start]);
                    out.push_str(replacement);
                    copied = i;
                    changed = true;
                }
            }
            _ => i += 1,
        }
    }
    if !changed {
        return None;
    }
    out.push_str(&source[copied.min(source.len())..]);
    Some(out)
}

pub(super) fn open_enums(path: &Path) -> Result<(), BuildError> {
    let source = std::fs::read_to_string(path).map_err(|e| BuildError::Write {
        path: path.to_path_buf(),
        source: e,
    })?;
    let patched = rewrite_open_enums(&source)?;
    std::fs::write(path, patched).map_err(|e| BuildError::Write {
        path: path.to_path_buf(),
        source: e,
    })
}

fn rewrite_open_enums(source: &str) -> Result<String, BuildError> {
    let lines: Vec<&str> = source.lines().collect();
    let mut out = String::with_capacity(source.len() + 256);
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let next = lines.get(i + 1).map(|l| l.trim_start());
        if let Some(rest) = next.and_then(|n| n.strip_prefix(INVALID_VARIANT)) {
            let conversion = open_conversion(line).ok_or_else(|| {
                unexpected(
                    line.trim(),
                    "pbjson's enum conversion has an unexpected shape",
                )
            })?;
            // `rest` is `<expr>)))` followed by what came after the conversion (`?;` or nothing).
            let after = rest.find(")))").map(|p| &rest[p + 3..]).ok_or_else(|| {
                unexpected(line.trim(), "pbjson's enum error has an unexpected shape")
            })?;
            out.push_str(&conversion);
            out.push_str(after);
            out.push('\n');
            i += 2;
            continue;
        }
        if line.contains(" as i32") {
            open_enum_read(&mut out, line)?;
            i += 1;
            continue;
        }
        if line.contains("Invalid variant") {
            return Err(unexpected(
                line.trim(),
                "pbjson refuses an unknown enum number in a shape this build does not rewrite",
            ));
        }
        out.push_str(line);
        out.push('\n');
        i += 1;
    }
    Ok(out)
}

/// Appends `line` (which casts an enum value `as i32`) to `out` as a read of `OpenEnum`: the
/// `next_value::<T>()` on this line or one of the two before reads `OpenEnum<E>` in place of the
/// enum `E` (`T`'s innermost last type: `E`, `Vec<E>`, `Option<E>`, `HashMap<_, E>`), and the
/// cast becomes `.number()`.
fn open_enum_read(out: &mut String, line: &str) -> Result<(), BuildError> {
    const READ: &str = "next_value::<";
    let cast = line.replace(" as i32", ".number()");
    let body_start = out.len();
    out.push_str(&cast);
    out.push('\n');
    // Start of the earliest of the last three lines (this one included).
    let window_start = out[..body_start]
        .trim_end_matches('\n')
        .rmatch_indices('\n')
        .nth(1)
        .map_or(0, |(p, _)| p + 1);
    let read = out[window_start..]
        .rfind(READ)
        .map(|p| window_start + p + READ.len())
        .ok_or_else(|| {
            unexpected(
                line.trim(),
                "pbjson casts an enum read in an unexpected shape",
            )
        })?;
    let ty_len = out[read..]
        .find(">()?")
        .ok_or_else(|| unexpected(line.trim(), "pbjson's enum read has an unexpected type"))?;
    let ty = &out[read..read + ty_len];
    let open = ty.trim_end_matches('>');
    let inner = open
        .rfind('<')
        .map(|p| p + 1)
        .max(open.rfind(", ").map(|p| p + 2))
        .unwrap_or(0);
    let wrapped = format!(
        "{}::kratos::__codegen::OpenEnum<{}>{}",
        &ty[..inner],
        &open[inner..],
        &ty[open.len()..]
    );
    out.replace_range(read..read + ty_len, &wrapped);
    Ok(())
}

/// `<indent>[let v = ]<Enum path>::try_from(<expr>)` as the infallible `OpenEnum` conversion.
fn open_conversion(line: &str) -> Option<String> {
    let call = line.find("::try_from(")?;
    let arg = line[call + "::try_from(".len()..].strip_suffix(')')?;
    let path_start = line[..call]
        .rfind(|c: char| c.is_whitespace() || c == '=' || c == '(')
        .map_or(0, |p| p + 1);
    let path = &line[path_start..call];
    if path.is_empty() || arg.is_empty() {
        return None;
    }
    Some(format!(
        "{}::core::result::Result::<_, S::Error>::Ok(::kratos::__codegen::OpenEnum::<{path}>::new({arg}))",
        &line[..path_start]
    ))
}

fn unexpected(element: &str, reason: &str) -> BuildError {
    BuildError::Pbjson(format!("{element}: {reason}"))
}

#[cfg(test)]
mod tests {
    use super::{raw_gen_identifiers, rewrite_open_enums};

    #[test]
    fn bare_gen_identifiers_become_raw() {
        let generated = concat!(
            "struct_ser.serialize_field(\"gen\", &self.gen)?;\n",
            "gen: gen__.unwrap_or_default(), // gen stays in comments\n",
            "let v: gen::Kind = r#gen::Kind::A; \"a \\\" gen\"; regen; gen_x; general\n",
            "\"SELF\" => Ok(kind::Kind::Self), Self::Kind, Self_\n",
        );
        assert_eq!(
            raw_gen_identifiers(generated).as_deref(),
            Some(concat!(
                "struct_ser.serialize_field(\"gen\", &self.r#gen)?;\n",
                "r#gen: gen__.unwrap_or_default(), // gen stays in comments\n",
                "let v: r#gen::Kind = r#gen::Kind::A; \"a \\\" gen\"; regen; gen_x; general\n",
                "\"SELF\" => Ok(kind::Kind::Self_), Self::Kind, Self_\n",
            ))
        );
        assert_eq!(raw_gen_identifiers("self.r#gen; \"gen\"; gen__"), None);
    }

    #[test]
    fn every_failing_enum_conversion_becomes_open() -> Result<(), super::BuildError> {
        let generated = concat!(
            "            let v = Sex::try_from(self.sex)\n",
            "                .map_err(|_| serde::ser::Error::custom(format!(\"Invalid variant {}\", self.sex)))?;\n",
            "                super::common::Kind::try_from(v)\n",
            "                    .map_err(|_| serde::ser::Error::custom(format!(\"Invalid variant {}\", v)))\n",
        );
        let patched = rewrite_open_enums(generated)?;
        assert_eq!(
            patched,
            concat!(
                "            let v = ::core::result::Result::<_, S::Error>::Ok(::kratos::__codegen::OpenEnum::<Sex>::new(self.sex))?;\n",
                "                ::core::result::Result::<_, S::Error>::Ok(::kratos::__codegen::OpenEnum::<super::common::Kind>::new(v))\n",
            )
        );
        Ok(())
    }

    #[test]
    fn every_enum_read_keeps_the_number() -> Result<(), super::BuildError> {
        let generated = concat!(
            "a__ = Some(map_.next_value::<Sex>()? as i32);\n",
            "b__ = map_.next_value::<::std::option::Option<x::Kind>>()?.map(|x| x as i32);\n",
            "c__ = Some(map_.next_value::<Vec<Sex>>()?.into_iter().map(|x| x as i32).collect());\n",
            "d__ = Some(\n",
            "    map_.next_value::<std::collections::HashMap<_, Sex>>()?\n",
            "        .into_iter().map(|(k,v)| (k, v as i32)).collect()\n",
            ");\n",
        );
        let o = "::kratos::__codegen::OpenEnum";
        assert_eq!(
            rewrite_open_enums(generated)?,
            format!(
                concat!(
                    "a__ = Some(map_.next_value::<{o}<Sex>>()?.number());\n",
                    "b__ = map_.next_value::<::std::option::Option<{o}<x::Kind>>>()?.map(|x| x.number());\n",
                    "c__ = Some(map_.next_value::<Vec<{o}<Sex>>>()?.into_iter().map(|x| x.number()).collect());\n",
                    "d__ = Some(\n",
                    "    map_.next_value::<std::collections::HashMap<_, {o}<Sex>>>()?\n",
                    "        .into_iter().map(|(k,v)| (k, v.number())).collect()\n",
                    ");\n",
                ),
                o = o
            )
        );
        assert!(rewrite_open_enums("let n = x as i32;\n").is_err());
        Ok(())
    }

    #[test]
    fn an_unrecognised_refusal_fails_the_build() {
        let generated = "x.ok_or(\"Invalid variant\")?;\n";
        assert!(rewrite_open_enums(generated).is_err());
    }
}
