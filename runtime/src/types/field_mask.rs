//! `google.protobuf.FieldMask` with its canonical JSON form.

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `google.protobuf.FieldMask`: a set of field paths (`user.display_name`). In JSON it is one
/// string of comma-separated paths in lowerCamel case (`user.displayName,id`).
#[derive(Clone, PartialEq, Eq, Hash, ::prost::Message)]
pub struct FieldMask {
    /// The field paths, in snake_case.
    #[prost(string, repeated, tag = "1")]
    pub paths: Vec<String>,
}

fn to_lower_camel(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut upper = false;
    for c in path.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// A field-mask path from its JSON form (lowerCamel) to the proto form (snake_case).
pub(crate) fn path_to_snake(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 4);
    for c in path.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

impl Serialize for FieldMask {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let joined = self
            .paths
            .iter()
            .map(|p| to_lower_camel(p))
            .collect::<Vec<_>>()
            .join(",");
        serializer.serialize_str(&joined)
    }
}

impl<'de> Deserialize<'de> for FieldMask {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MaskVisitor;
        impl Visitor<'_> for MaskVisitor {
            type Value = FieldMask;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string of comma-separated field paths")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<FieldMask, E> {
                Ok(FieldMask {
                    paths: v
                        .split(',')
                        .filter(|p| !p.is_empty())
                        .map(path_to_snake)
                        .collect(),
                })
            }
        }
        deserializer.deserialize_str(MaskVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_a_comma_separated_camel_case_string() {
        let mask = FieldMask {
            paths: vec!["user.display_name".into(), "id".into()],
        };
        let json = serde_json::to_string(&mask).unwrap();
        assert_eq!(json, r#""user.displayName,id""#);
        assert_eq!(serde_json::from_str::<FieldMask>(&json).unwrap(), mask);
        assert_eq!(
            serde_json::from_str::<FieldMask>(r#""""#)
                .unwrap()
                .paths
                .len(),
            0
        );
        assert!(serde_json::from_str::<FieldMask>("3").is_err());
    }
}
