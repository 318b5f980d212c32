//! Codecs and content negotiation (Kratos' `encoding` and `CodecForRequest`).
//!
//! This module holds the codec enum and negotiation; each codec lives in its own file:
//! [`json`] (proto3 JSON, also the base of YAML and form encoding), `proto.rs` (the protobuf
//! binary format and Kratos' `errors.Status`), [`form`] (decoding through generated binding,
//! encoding from the JSON form), [`xml`] (request bodies as form pairs, replies through
//! generated Go views), `yaml/` (messages in their JSON shape, Kratos' error shape, and the
//! limits of a YAML body), and `limits.rs` (what decoding a body may cost).
//!
//! A codec is chosen from the subtype of a media type: the text between the first `/` and the
//! first `;`, as Kratos reads it (`application/json; charset=utf-8` → `json`). Requests are
//! decoded with the codec of `Content-Type`; replies and errors are encoded with the codec of
//! `Accept`, JSON when none matches, and sent with `Content-Type: application/<codec>`.

use http::{HeaderMap, HeaderValue};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::errors::Error;

pub mod form;
pub mod json;
mod limits;
mod proto;
pub mod xml;
mod yaml;

pub use limits::{DecodeLimits, MAX_DEPTH};

/// A codec for request and reply bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// Proto3 canonical JSON, as Kratos configures protojson: fields in lowerCamel, unpopulated
    /// fields emitted, unknown fields ignored, 64-bit integers as strings.
    Json,
    /// The protobuf binary format.
    Proto,
    /// `application/x-www-form-urlencoded`: decoded with the generated form binding (Kratos'
    /// rules); encoded from the JSON form, nested fields as dotted keys.
    Form,
    /// XML. Errors cannot be encoded in it (Kratos' Go encoder refuses the metadata map), so
    /// they are answered with a bare 500, as Kratos does.
    Xml,
    /// YAML: messages in their proto3 JSON shape; errors in Kratos' shape (a `status:` map).
    Yaml,
}

/// The reason of every decoding and binding error, as in Kratos.
pub const CODEC_REASON: &str = "CODEC";

impl Codec {
    /// The codec's registered name (`json`, `proto`).
    pub fn name(self) -> &'static str {
        match self {
            Codec::Json => "json",
            Codec::Proto => "proto",
            Codec::Form => "x-www-form-urlencoded",
            Codec::Xml => "xml",
            Codec::Yaml => "yaml",
        }
    }

    /// `application/<name>`, the Content-Type of what this codec encodes.
    pub fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Codec::Json => "application/json",
            Codec::Proto => "application/proto",
            Codec::Form => "application/x-www-form-urlencoded",
            Codec::Xml => "application/xml",
            Codec::Yaml => "application/yaml",
        })
    }

    /// The codec registered under a media type's subtype (exact, lower-case names).
    pub fn from_subtype(subtype: &str) -> Option<Self> {
        match subtype {
            "json" => Some(Codec::Json),
            "proto" => Some(Codec::Proto),
            "x-www-form-urlencoded" => Some(Codec::Form),
            "xml" => Some(Codec::Xml),
            "yaml" => Some(Codec::Yaml),
            _ => None,
        }
    }

    /// The codec named by the first `header` line whose subtype is registered, or `None`.
    pub fn from_headers(headers: &HeaderMap, header: http::header::HeaderName) -> Option<Self> {
        headers
            .get_all(header)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| Codec::from_subtype(content_subtype(v)))
    }

    /// The codec for a reply: from `Accept`, JSON by default.
    pub fn for_reply(headers: &HeaderMap) -> Self {
        Codec::from_headers(headers, http::header::ACCEPT).unwrap_or(Codec::Json)
    }

    /// Encodes a message.
    pub fn encode<T: Serialize + prost::Message>(self, message: &T) -> Result<Vec<u8>, Error> {
        match self {
            Codec::Json => crate::json::to_vec(message)
                .map_err(|e| Error::new(500, CODEC_REASON, format!("json marshal: {e}"))),
            Codec::Proto => Ok(message.encode_to_vec()),
            Codec::Form => {
                let value = crate::json::to_value(message)
                    .map_err(|e| Error::new(500, CODEC_REASON, format!("form marshal: {e}")))?;
                Ok(form::encode_value(&value).into_bytes())
            }
            Codec::Yaml => yaml_serde::to_string(&crate::json::Proto3(message))
                .map(String::into_bytes)
                .map_err(|e| Error::new(500, CODEC_REASON, format!("yaml marshal: {e}"))),
            // XML replies need the message's generated Go-struct view (see `encode_go`).
            Codec::Xml => Err(Error::new(
                500,
                CODEC_REASON,
                "xml marshal: this reply has no XML form",
            )),
        }
    }

    /// Encodes one field of a message (a `response_body` naming a field that is not a singular
    /// message: a scalar, an enum, bytes, a list or a map) as its proto3 JSON value, the field
    /// named `json_name` (or `proto_name`) written as the message's serializer writes it, `null`
    /// when the message leaves it out. YAML carries the same value; the proto, form and XML
    /// codecs cannot encode a value that is not a message (a 500 `CODEC` error; Kratos crashes
    /// on a list in proto).
    pub fn encode_field<T: Serialize>(
        self,
        message: &T,
        json_name: &str,
        proto_name: &str,
    ) -> Result<Vec<u8>, Error> {
        let field = crate::json::Field::new(message, json_name, proto_name);
        match self {
            Codec::Json => crate::json::to_vec(&field)
                .map_err(|e| Error::new(500, CODEC_REASON, format!("json marshal: {e}"))),
            Codec::Yaml => yaml_serde::to_string(&crate::json::Proto3(&field))
                .map(String::into_bytes)
                .map_err(|e| Error::new(500, CODEC_REASON, format!("yaml marshal: {e}"))),
            other => Err(Error::new(
                500,
                CODEC_REASON,
                format!(
                    "the {} codec cannot encode the field {json_name} alone",
                    other.name()
                ),
            )),
        }
    }

    /// Decodes a message within the default limits ([`DecodeLimits::for_unlimited`]).
    pub fn decode<T: DeserializeOwned + prost::Message + Default>(
        self,
        bytes: &[u8],
    ) -> Result<T, Error> {
        self.decode_within(bytes, &DecodeLimits::for_unlimited(bytes.len()))
    }

    /// Decodes a message, refusing (400 `CODEC`) a body that would decode to more than the
    /// limits allow: JSON and protobuf nesting is bounded by their parsers (128 and 100
    /// levels); a YAML body is checked first for flow nesting and for the expanded size of its
    /// aliases.
    pub fn decode_within<T: DeserializeOwned + prost::Message + Default>(
        self,
        bytes: &[u8],
        limits: &DecodeLimits,
    ) -> Result<T, Error> {
        match self {
            Codec::Json => serde_json::from_slice(bytes)
                .map_err(|e| Error::new(400, CODEC_REASON, format!("body unmarshal {e}"))),
            Codec::Proto => T::decode(bytes)
                .map_err(|e| Error::new(400, CODEC_REASON, format!("body unmarshal {e}"))),
            Codec::Yaml => {
                yaml::limits::check(bytes, limits)?;
                yaml_serde::from_slice(bytes)
                    .map_err(|e| Error::new(400, CODEC_REASON, format!("body unmarshal {e}")))
            }
            // Form and XML bodies need the message's generated form binding (see
            // `http::Binder`).
            Codec::Form | Codec::Xml => Err(Error::new(
                400,
                CODEC_REASON,
                "body unmarshal: form bodies bind through generated code only",
            )),
        }
    }

    /// Encodes an error body (`{"code","reason","message","metadata"}`; the `errors.Status`
    /// message for the proto codec).
    pub fn encode_error(self, error: &Error) -> Vec<u8> {
        self.try_encode_error(error).unwrap_or_default()
    }

    /// Encodes an error body, or `None` when this codec cannot express an error (XML, as in
    /// Kratos, whose Go XML encoder refuses the metadata map).
    pub fn try_encode_error(self, error: &Error) -> Option<Vec<u8>> {
        Some(match self {
            Codec::Xml => return None,
            Codec::Yaml => yaml::error_to_yaml(error).into_bytes(),
            // Serialising a struct of numbers, strings and a string map cannot fail.
            Codec::Json => serde_json::to_vec(error).unwrap_or_default(),
            Codec::Form => match serde_json::to_value(error) {
                Ok(v) => form::encode_value(&v).into_bytes(),
                Err(_) => Vec::new(),
            },
            Codec::Proto => proto::encode_error(error),
        })
    }

    /// Decodes an error body written by [`Codec::encode_error`] (or by a Go Kratos server).
    pub fn decode_error(self, bytes: &[u8]) -> Option<Error> {
        match self {
            Codec::Xml => None,
            Codec::Yaml => {
                yaml::limits::check(bytes, &DecodeLimits::for_unlimited(bytes.len())).ok()?;
                yaml::error_from_yaml(bytes)
            }
            Codec::Json => serde_json::from_slice(bytes).ok(),
            Codec::Form => form::decode_error(bytes),
            Codec::Proto => proto::decode_error(bytes),
        }
    }
}

/// The subtype of a media type: between the first `/` and the first `;` (Kratos'
/// `ContentSubtype`; no lower-casing or trimming).
pub fn content_subtype(media_type: &str) -> &str {
    let Some(slash) = media_type.find('/') else {
        return "";
    };
    let rest = &media_type[slash + 1..];
    match (media_type.find(';'), rest.find(';')) {
        (Some(semi), _) if semi < slash => "",
        (_, Some(semi)) => &rest[..semi],
        _ => rest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subtypes_follow_kratos() {
        assert_eq!(content_subtype("text/html; charset=utf-8"), "html");
        assert_eq!(
            content_subtype("multipart/form-data; boundary=x"),
            "form-data"
        );
        assert_eq!(content_subtype("application/json; charset=utf-8"), "json");
        assert_eq!(content_subtype("text/xml"), "xml");
        assert_eq!(content_subtype(";text/xml"), "");
        assert_eq!(content_subtype("application"), "");
    }

    #[test]
    fn reply_codec_defaults_to_json() {
        let mut h = HeaderMap::new();
        assert_eq!(Codec::for_reply(&h), Codec::Json);
        h.insert(
            http::header::ACCEPT,
            HeaderValue::from_static("application/JSON"),
        );
        assert_eq!(Codec::for_reply(&h), Codec::Json);
        h.insert(
            http::header::ACCEPT,
            HeaderValue::from_static("application/proto"),
        );
        assert_eq!(Codec::for_reply(&h), Codec::Proto);
    }

    #[test]
    fn error_bodies_round_trip() {
        let err = Error::new(404, "USER_NOT_FOUND", "no such user").with_metadata([("id", "7")]);
        let json = Codec::Json.encode_error(&err);
        assert_eq!(
            String::from_utf8_lossy(&json),
            r#"{"code":404,"reason":"USER_NOT_FOUND","message":"no such user","metadata":{"id":"7"}}"#
        );
        for codec in [Codec::Json, Codec::Proto] {
            assert_eq!(
                codec.decode_error(&codec.encode_error(&err)),
                Some(err.clone())
            );
        }
    }
}
