//! `google.api.HttpBody`: a raw HTTP body with its media type.

use base64::Engine as _;
use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeStruct as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `google.api.HttpBody`: an HTTP body that is not a message in a codec, such as a file or an
/// image. A route whose request (`body: "*"`) or named body field is an `HttpBody` receives the
/// request body as it was sent, with its `Content-Type`; a method replying with one answers
/// with `data` as the body and `content_type` as the `Content-Type` (`application/octet-stream`
/// when empty), whatever the client accepts. This is Kratos v3's behaviour.
///
/// Inside other messages it is an ordinary message; in JSON,
/// `{"contentType": "...", "data": "<base64>", "extensions": [...]}`.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct HttpBody {
    /// The media type of `data`, as in a `Content-Type` header.
    #[prost(string, tag = "1")]
    pub content_type: String,
    /// The body.
    #[prost(bytes = "vec", tag = "2")]
    pub data: Vec<u8>,
    /// Application-specific metadata (only for streaming APIs, where the first message may
    /// carry it).
    #[prost(message, repeated, tag = "3")]
    pub extensions: Vec<pbjson_types::Any>,
}

/// The media type of a reply whose `content_type` is empty.
pub const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";

impl Serialize for HttpBody {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("HttpBody", 3)?;
        s.serialize_field("contentType", &self.content_type)?;
        s.serialize_field(
            "data",
            &base64::engine::general_purpose::STANDARD.encode(&self.data),
        )?;
        s.serialize_field("extensions", &self.extensions)?;
        s.end()
    }
}

/// Decodes base64 as protojson does: standard or URL-safe alphabet, padded or not.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(text).ok())
}

impl<'de> Deserialize<'de> for HttpBody {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BodyVisitor;
        impl<'de> Visitor<'de> for BodyVisitor {
            type Value = HttpBody;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a google.api.HttpBody object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<HttpBody, A::Error> {
                let mut body = HttpBody::default();
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "contentType" | "content_type" => {
                            body.content_type =
                                map.next_value::<Option<String>>()?.unwrap_or_default();
                        }
                        "data" => {
                            let text = map.next_value::<Option<String>>()?.unwrap_or_default();
                            body.data = decode_base64(&text)
                                .ok_or_else(|| de::Error::custom("data: invalid base64"))?;
                        }
                        "extensions" => {
                            body.extensions = map
                                .next_value::<Option<Vec<pbjson_types::Any>>>()?
                                .unwrap_or_default();
                        }
                        // Unknown fields are ignored, as the codec does for every message.
                        _ => {
                            map.next_value::<de::IgnoredAny>()?;
                        }
                    }
                }
                Ok(body)
            }
        }
        deserializer.deserialize_map(BodyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_form_round_trips() {
        let body = HttpBody {
            content_type: "text/plain".into(),
            data: b"hello\xff".to_vec(),
            extensions: Vec::new(),
        };
        let json = serde_json::to_string(&body).unwrap();
        assert_eq!(
            json,
            r#"{"contentType":"text/plain","data":"aGVsbG//","extensions":[]}"#
        );
        assert_eq!(serde_json::from_str::<HttpBody>(&json).unwrap(), body);
        // URL-safe, unpadded, snake_case keys, nulls and unknown keys are all accepted.
        let other = r#"{"content_type":"text/plain","data":"aGVsbG__","extensions":null,"x":1}"#;
        assert_eq!(serde_json::from_str::<HttpBody>(other).unwrap(), body);
        assert!(serde_json::from_str::<HttpBody>(r#"{"data":"%%%"}"#).is_err());
    }

    #[test]
    fn binary_form_is_google_api_http_body() {
        use prost::Message as _;
        let body = HttpBody {
            content_type: "a".into(),
            data: vec![1, 2],
            extensions: Vec::new(),
        };
        // Field 1 (string "a"), field 2 (bytes [1, 2]).
        assert_eq!(body.encode_to_vec(), [0x0a, 1, b'a', 0x12, 2, 1, 2]);
    }
}
