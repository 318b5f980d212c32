//! Binding a request into its message: what generated binding code calls.

use std::borrow::Cow;

use bytes::Bytes;
use http::request::Parts;
use serde::de::DeserializeOwned;

use crate::codec::{CODEC_REASON, Codec, DecodeLimits};
use crate::errors::Error;

use crate::codec::form::{self, FormFn};

fn decode_form_body<T>(msg: &mut T, body: &[u8], bind: FormFn<T>) -> Result<(), Error> {
    let text = std::str::from_utf8(body).map_err(|e| codec_error(format!("body unmarshal {e}")))?;
    form::decode(msg, text, bind).map_err(|e| codec_error(format!("body unmarshal {e}")))
}

/// The parts of an HTTP request that generated code binds into the request message: the
/// body (decoded with the codec of `Content-Type`) and the path variables (already
/// percent-decoded).
#[derive(Debug)]
pub struct Binder<'a> {
    pub(crate) parts: &'a Parts,
    pub(crate) body: Bytes,
    pub(crate) vars: &'a [(&'a str, String)],
    /// What the body may become once decoded (from the server's body limit).
    pub(crate) limits: DecodeLimits,
}

fn codec_error(message: impl Into<String>) -> Error {
    Error::new(400, CODEC_REASON, message)
}

impl<'a> Binder<'a> {
    /// The codec of the request's `Content-Type`, or a 400 `CODEC` error naming the header
    /// (Kratos' `unregister Content-Type: …`).
    fn request_codec(&self) -> Result<Codec, Error> {
        Codec::from_headers(&self.parts.headers, http::header::CONTENT_TYPE).ok_or_else(|| {
            let raw = self
                .parts
                .headers
                .get(http::header::CONTENT_TYPE)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .unwrap_or_default();
            codec_error(format!("unregister Content-Type: {raw}"))
        })
    }

    /// The whole body decoded as the request message (`body: "*"`); the default message when
    /// the body is empty. A form body is decoded with `form`, the message's generated form
    /// binding.
    pub fn body<T>(&mut self, form: FormFn<T>) -> Result<T, Error>
    where
        T: DeserializeOwned + prost::Message + Default,
    {
        let codec = self.request_codec()?;
        let mut msg = T::default();
        if self.body.is_empty() {
            return Ok(msg);
        }
        match codec {
            Codec::Form => {
                decode_form_body(&mut msg, &self.body, form)?;
                Ok(msg)
            }
            Codec::Xml => {
                use crate::codec::xml::XmlError;
                let pairs =
                    crate::codec::xml::to_pairs(&self.body, &self.limits).map_err(|e| match e {
                        XmlError::Syntax(e) => codec_error(format!("body unmarshal {e}")),
                        XmlError::TooDeep => self.limits.too_deep("XML elements"),
                        XmlError::KeysTooLarge => self.limits.too_large("XML element paths"),
                    })?;
                form::decode_pairs(&mut msg, pairs, form)
                    .map_err(|e| codec_error(format!("body unmarshal {e}")))?;
                Ok(msg)
            }
            other => other.decode_within(&self.body, &self.limits),
        }
    }

    /// The body decoded as one message field (`body: "field"`); `None` when the body is empty.
    pub fn body_field<T>(&mut self, form: FormFn<T>) -> Result<Option<T>, Error>
    where
        T: DeserializeOwned + prost::Message + Default,
    {
        if self.body.is_empty() {
            self.request_codec()?;
            return Ok(None);
        }
        self.body(form).map(Some)
    }

    /// The request's `Content-Type`, as sent (empty when there is none): the `content_type` of
    /// a `google.api.HttpBody` request.
    pub fn content_type(&self) -> String {
        self.parts
            .headers
            .get(http::header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default()
    }

    /// The request body as sent, not decoded: the `data` of a `google.api.HttpBody` request.
    pub fn raw_body(&self) -> Bytes {
        self.body.clone()
    }

    /// Whether the request has a body (bytes, or at least a `Content-Type`): a named
    /// `google.api.HttpBody` body field is left unset when it has not.
    pub fn has_body(&self) -> bool {
        !self.body.is_empty() || self.parts.headers.contains_key(http::header::CONTENT_TYPE)
    }

    /// Binds the query string into `msg` (Kratos' form rules; unknown keys are ignored).
    pub fn query<T>(&self, msg: &mut T, form: FormFn<T>) -> Result<(), Error> {
        match self.parts.uri.query() {
            Some(query) => form::decode(msg, query, form).map_err(|e| codec_error(e.0)),
            None => Ok(()),
        }
    }

    /// Binds the path variables into `msg`.
    pub fn vars<T>(&self, msg: &mut T, form: FormFn<T>) -> Result<(), Error> {
        for (field_path, value) in self.vars {
            let path = form::parse_key(field_path);
            form(msg, &path, &[Cow::Borrowed(value.as_str())]).map_err(|e| codec_error(e.0))?;
        }
        Ok(())
    }

    /// The request's method, URI and headers.
    pub fn parts(&self) -> &Parts {
        self.parts
    }
}
