//! Binding a request into its message: what generated binding code calls.

use std::str::FromStr;

use bytes::Bytes;
use http::request::Parts;
use serde::de::DeserializeOwned;

use crate::codec::{CODEC_REASON, Codec};
use crate::errors::Error;

/// The parts of an HTTP request that generated code binds into the request message: the
/// body (decoded with the codec of `Content-Type`) and the path variables (already
/// percent-decoded).
#[derive(Debug)]
pub struct Binder<'a> {
    pub(crate) parts: &'a Parts,
    pub(crate) body: Bytes,
    pub(crate) vars: &'a [(&'a str, String)],
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
    /// the body is empty.
    pub fn body<T: DeserializeOwned + prost::Message + Default>(&mut self) -> Result<T, Error> {
        let codec = self.request_codec()?;
        if self.body.is_empty() {
            return Ok(T::default());
        }
        codec.decode(&self.body)
    }

    /// The body decoded as one message field (`body: "field"`); `None` when the body is empty.
    pub fn body_field<T: DeserializeOwned + prost::Message + Default>(
        &mut self,
    ) -> Result<Option<T>, Error> {
        let codec = self.request_codec()?;
        if self.body.is_empty() {
            return Ok(None);
        }
        codec.decode(&self.body).map(Some)
    }

    /// The decoded value of the path variable `field_path`.
    pub fn var(&self, field_path: &str) -> Result<&str, Error> {
        self.vars
            .iter()
            .find(|(name, _)| *name == field_path)
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| codec_error(format!("path variable '{field_path}' is missing")))
    }

    /// A string path variable.
    pub fn var_string(&self, field_path: &str) -> Result<String, Error> {
        self.var(field_path).map(str::to_string)
    }

    /// A numeric path variable (integers and floats as protojson reads them from strings).
    pub fn var_parse<T: FromStr>(&self, field_path: &str) -> Result<T, Error>
    where
        T::Err: std::fmt::Display,
    {
        let raw = self.var(field_path)?;
        raw.parse::<T>().map_err(|e| {
            codec_error(format!(
                "path variable '{field_path}': invalid value '{raw}': {e}"
            ))
        })
    }

    /// A bool path variable: `true`/`false` (and Go's `1`, `t`, `T`, `TRUE`, `True`, and the
    /// false counterparts, as Kratos' form decoder accepts).
    pub fn var_bool(&self, field_path: &str) -> Result<bool, Error> {
        let raw = self.var(field_path)?;
        match raw {
            "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
            "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
            _ => Err(codec_error(format!(
                "path variable '{field_path}': invalid bool '{raw}'"
            ))),
        }
    }

    /// An enum path variable, by value name or number; returns the number prost stores.
    pub fn var_enum<E: Into<i32>>(
        &self,
        field_path: &str,
        from_name: fn(&str) -> Option<E>,
    ) -> Result<i32, Error> {
        let raw = self.var(field_path)?;
        if let Some(value) = from_name(raw) {
            return Ok(value.into());
        }
        raw.parse::<i32>().map_err(|_| {
            codec_error(format!(
                "path variable '{field_path}': '{raw}' is not a value of the enum"
            ))
        })
    }

    /// The request's method, URI and headers.
    pub fn parts(&self) -> &Parts {
        self.parts
    }
}
