//! Makes pbjson's serialisers match protojson's `EmitUnpopulated`: an unset singular message
//! field is written as `null` (pbjson's `emit_fields` leaves it out).
//!
//! pbjson writes such a field as
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

fn unexpected(element: &str, reason: &str) -> BuildError {
    BuildError::Pbjson(format!("{element}: {reason}"))
}
