//! Building HTTP responses for replies and errors.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Response, StatusCode, header};

use super::body::{Body, full};
use crate::codec::Codec;
use crate::errors::Error;

/// A successful reply (status 200), with the codec's Content-Type and the reply headers.
pub(crate) fn reply(codec: Codec, body: Vec<u8>, headers: HeaderMap) -> Response<Body> {
    let mut response = Response::new(full(body));
    *response.headers_mut() = headers;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, codec.content_type());
    response
}

/// A raw reply (a `google.api.HttpBody`): `data` with `content_type` as its media type
/// (`application/octet-stream` when empty). A media type that is not a valid header value is
/// a 500 error, since the service produced it.
pub(crate) fn raw(
    content_type: &str,
    data: Vec<u8>,
    headers: HeaderMap,
) -> Result<Response<Body>, Error> {
    let value = if content_type.is_empty() {
        HeaderValue::from_static(crate::types::DEFAULT_CONTENT_TYPE)
    } else {
        HeaderValue::from_str(content_type).map_err(|_| {
            Error::new(
                500,
                "",
                format!("reply content type {content_type:?} is not a valid header value"),
            )
        })?
    };
    let mut response = Response::new(full(data));
    *response.headers_mut() = headers;
    response.headers_mut().insert(header::CONTENT_TYPE, value);
    Ok(response)
}

/// An error reply: the Kratos error body in the codec the client accepts, with the error's
/// status (see [`Error::http_status`]).
pub(crate) fn error(codec: Codec, err: &Error, headers: HeaderMap) -> Response<Body> {
    let Some(body) = codec.try_encode_error(err) else {
        // The codec cannot express an error (XML): a bare 500, as Kratos answers.
        let mut response = Response::new(full(Bytes::new()));
        *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        *response.headers_mut() = headers;
        return response;
    };
    let mut response = Response::new(full(body));
    *response.status_mut() = err.http_status();
    *response.headers_mut() = headers;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, codec.content_type());
    response
}

/// 404 for a path no route matches: Kratos' answer exactly (Go's `http.NotFound`).
pub(crate) fn not_found() -> Response<Body> {
    let mut response = Response::new(full(Bytes::from_static(b"404 page not found\n")));
    *response.status_mut() = StatusCode::NOT_FOUND;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response.headers_mut().insert(
        header::HeaderName::from_static("x-content-type-options"),
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// 301 to `location`, as Kratos' router answers unclean paths and trailing slashes.
pub(crate) fn moved_permanently(location: &str, html: bool) -> Response<Body> {
    let body = if html {
        Bytes::from(format!(
            "<a href=\"{}\">Moved Permanently</a>.\n\n",
            location
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('"', "&quot;")
        ))
    } else {
        Bytes::new()
    };
    let mut response = Response::new(full(body));
    *response.status_mut() = StatusCode::MOVED_PERMANENTLY;
    if let Ok(v) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    if html {
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
    }
    response
}

/// 405 with `Allow` for a path whose routes take other methods.
pub(crate) fn method_not_allowed(codec: Codec, method: &str, allowed: &[String]) -> Response<Body> {
    let err = Error::new(
        405,
        "METHOD_NOT_ALLOWED",
        format!(
            "method {method} is not allowed; allowed: {}",
            allowed.join(", ")
        ),
    );
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&allowed.join(", ")) {
        headers.insert(header::ALLOW, v);
    }
    let mut response = error(codec, &err, headers);
    *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    response
}
