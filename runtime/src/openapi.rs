//! Serving an OpenAPI document and a Swagger UI page for it on the HTTP server.
//!
//! | path | what |
//! |---|---|
//! | `GET /q/openapi.json` ([`DOCUMENT_PATH`]) | the document, `application/json` |
//! | `GET /q/swagger-ui/` ([`SWAGGER_UI_PATH`]; also without the final `/`) | Swagger UI, showing the document |
//! | `GET /q/swagger-ui/<asset>` | its script, style sheets and icons (`swagger-ui-bundle.js`, `swagger-ui-standalone-preset.js`, `swagger-ui.css`, `index.css`, `favicon-16x16.png`, `favicon-32x32.png`) |
//!
//! The Swagger UI files are the ones the `swagger-ui-redist` crate embeds (Swagger UI 5.20;
//! the page is ours): nothing is fetched at build or run time, and no web framework is compiled
//! for them. The document is usually the one the build integration writes
//! (`kratos::build::Generator::Openapi`, feature `build`):
//!
//! ```text
//! let mut server = kratos::http::Server::builder().address(":8000").build();
//! kratos::openapi::register(&mut server, include_str!(concat!(env!("OUT_DIR"), "/openapi.json")))?;
//! ```
//!
//! These are plain routes: no middleware runs on them. Swagger UI ([`register`],
//! [`register_swagger_ui`]) needs the `swagger-ui` feature, which embeds its files;
//! [`register_document`] needs only `runtime`.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};

#[cfg(feature = "swagger-ui")]
use crate::codec::Codec;
#[cfg(feature = "swagger-ui")]
use crate::errors::Error;
use crate::http::{RouteError, Server};

/// Where [`register_document`] serves the document.
pub const DOCUMENT_PATH: &str = "/q/openapi.json";

#[cfg(feature = "swagger-ui")]
/// Where [`register_swagger_ui`] serves the Swagger UI page.
pub const SWAGGER_UI_PATH: &str = "/q/swagger-ui/";

#[cfg(feature = "swagger-ui")]
/// The Swagger UI page and its assets, as one route.
const SWAGGER_UI_ROUTE: &str = "/q/swagger-ui/{path=**}";

#[cfg(feature = "swagger-ui")]
/// The title of the page when the document has none.
const DEFAULT_TITLE: &str = "Swagger UI";

#[cfg(feature = "swagger-ui")]
/// Serves `document` (an OpenAPI document in JSON) at [`DOCUMENT_PATH`] and Swagger UI for it at
/// [`SWAGGER_UI_PATH`], titled with the document's `info.title`.
pub fn register(server: &mut Server, document: impl Into<Bytes>) -> Result<(), RouteError> {
    let document = document.into();
    let title = document_title(&document);
    register_document(server, document)?;
    register_swagger_ui(server, &title)
}

/// Serves `document` (an OpenAPI document in JSON) at [`DOCUMENT_PATH`] as `application/json`.
pub fn register_document(
    server: &mut Server,
    document: impl Into<Bytes>,
) -> Result<(), RouteError> {
    let document = document.into();
    server.handle("GET", DOCUMENT_PATH, move |_request, _vars| {
        let body = document.clone();
        async move { response(StatusCode::OK, "application/json", body) }
    })
}

#[cfg(feature = "swagger-ui")]
/// Serves Swagger UI at [`SWAGGER_UI_PATH`] (and its assets under it), showing the document at
/// [`DOCUMENT_PATH`]; `title` is the page's title.
///
/// The page is written once, here; each asset is answered from the bytes embedded in the
/// binary, with the media type its file extension names. Any other path under
/// [`SWAGGER_UI_PATH`] is a 404 with a Kratos error body.
pub fn register_swagger_ui(server: &mut Server, title: &str) -> Result<(), RouteError> {
    let page = Bytes::from(swagger_ui_page(title));
    server.handle("GET", SWAGGER_UI_ROUTE, move |request, vars| {
        let asset = vars.first().map(String::as_str).unwrap_or_default();
        let reply = match asset {
            "" | "index.html" => Some(("text/html", page.clone())),
            name => swagger_ui_asset(name)
                .map(|(media_type, bytes)| (media_type, Bytes::from_static(bytes))),
        };
        async move {
            match reply {
                Some((media_type, body)) => response(StatusCode::OK, media_type, body),
                None => {
                    let err = Error::new(
                        404,
                        "NOT_FOUND",
                        format!("no route matches {}", request.uri().path()),
                    );
                    let codec = Codec::for_reply(request.headers());
                    response(
                        StatusCode::NOT_FOUND,
                        codec.content_type(),
                        Bytes::from(codec.encode_error(&err)),
                    )
                }
            }
        }
    })
}

#[cfg(feature = "swagger-ui")]
/// The embedded Swagger UI file named `name` (its script, style sheets and icons), with its
/// media type.
fn swagger_ui_asset(name: &str) -> Option<(&'static str, &'static [u8])> {
    use swagger_ui_redist::SwaggerUi;
    let (file, bytes) = SwaggerUi::static_files()
        .iter()
        .find(|(file, _)| file.file_name() == name)?;
    let media_type = match file.file_name().rsplit_once('.').map(|(_, ext)| ext) {
        Some("js") => "text/javascript",
        Some("css") => "text/css",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    };
    Some((media_type, bytes))
}

#[cfg(feature = "swagger-ui")]
/// The Swagger UI page: the embedded style sheets and script, loading the document at
/// [`DOCUMENT_PATH`] into `#swagger-ui`. Asset links are absolute, so the page works with or
/// without the final `/` and with a query.
fn swagger_ui_page(title: &str) -> String {
    let title = escape_html(title);
    let base = SWAGGER_UI_PATH;
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8" />
<meta name="viewport" content="width=device-width, initial-scale=1" />
<title>{title}</title>
<link rel="stylesheet" href="{base}swagger-ui.css" />
<link rel="stylesheet" href="{base}index.css" />
<link rel="icon" type="image/png" href="{base}favicon-32x32.png" sizes="32x32" />
<link rel="icon" type="image/png" href="{base}favicon-16x16.png" sizes="16x16" />
</head>
<body>
<div id="swagger-ui"></div>
<script src="{base}swagger-ui-bundle.js" charset="utf-8"></script>
<script>
window.onload = () => {{
  window.ui = SwaggerUIBundle({{
    url: '{DOCUMENT_PATH}',
    dom_id: '#swagger-ui',
  }});
}};
</script>
</body>
</html>
"#
    )
}

fn response(
    status: StatusCode,
    content_type: impl TryInto<HeaderValue>,
    body: Bytes,
) -> Response<Bytes> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    if let Ok(value) = content_type.try_into() {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}

#[cfg(feature = "swagger-ui")]
/// `info.title` of a JSON document, or [`DEFAULT_TITLE`].
fn document_title(document: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(document)
        .ok()
        .as_ref()
        .and_then(|d| d.pointer("/info/title"))
        .and_then(serde_json::Value::as_str)
        .filter(|t| !t.is_empty())
        .unwrap_or(DEFAULT_TITLE)
        .to_string()
}

#[cfg(feature = "swagger-ui")]
/// Escapes text for an HTML element's content (the page's `<title>`).
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::net::SocketAddr;

    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::*;
    use crate::transport::Server as _;

    const DOCUMENT: &str =
        r#"{"openapi":"3.0.3","info":{"title":"Greeter <API>","version":"0.0.1"},"paths":{}}"#;

    /// One HTTP/1.1 GET over a fresh connection (closed by the server after the response):
    /// status, content type, body.
    async fn get(addr: SocketAddr, path: &str) -> (u16, String, Bytes) {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.unwrap();
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let head = String::from_utf8(raw[..split].to_vec()).unwrap();
        let body = Bytes::copy_from_slice(&raw[split + 4..]);
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let content_type = lines
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default();
        let length: Option<usize> = head
            .split("\r\n")
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .map(|(_, v)| v.trim().parse().unwrap());
        assert_eq!(length, Some(body.len()), "{path}: body not fully read");
        (status, content_type, body)
    }

    #[tokio::test]
    async fn serves_the_document_alone() {
        let mut server = Server::builder().address("127.0.0.1:0").build();
        register_document(&mut server, DOCUMENT).unwrap();
        let addr = server.start().await.unwrap();
        let (status, content_type, body) = get(addr, DOCUMENT_PATH).await;
        assert_eq!((status, content_type.as_str()), (200, "application/json"));
        assert_eq!(body, DOCUMENT.as_bytes());
        let (status, _, _) = get(addr, "/q/swagger-ui/").await;
        assert_eq!(status, 404, "no page without register_swagger_ui");
        server.stop().await.unwrap();
    }

    #[cfg(feature = "swagger-ui")]
    #[tokio::test]
    async fn serves_the_document_the_page_and_its_assets() {
        let mut server = Server::builder().address("127.0.0.1:0").build();
        register(&mut server, DOCUMENT).unwrap();
        let addr = server.start().await.unwrap();

        let (status, content_type, body) = get(addr, DOCUMENT_PATH).await;
        assert_eq!((status, content_type.as_str()), (200, "application/json"));
        assert_eq!(body, DOCUMENT.as_bytes());

        for page in [SWAGGER_UI_PATH, "/q/swagger-ui", "/q/swagger-ui/?x=1"] {
            let (status, content_type, body) = get(addr, page).await;
            assert_eq!(
                (status, content_type.as_str()),
                (200, "text/html"),
                "{page}"
            );
            let html = String::from_utf8(body.to_vec()).unwrap();
            assert!(
                html.contains(r#"<link rel="stylesheet" href="/q/swagger-ui/swagger-ui.css" />"#),
                "{html}"
            );
            assert!(
                html.contains(r#"<script src="/q/swagger-ui/swagger-ui-bundle.js""#),
                "{html}"
            );
            assert!(html.contains("url: '/q/openapi.json'"), "{html}");
            assert!(
                html.contains("<title>Greeter &lt;API&gt;</title>"),
                "{html}"
            );
        }

        let (status, content_type, body) = get(addr, "/q/swagger-ui/swagger-ui-bundle.js").await;
        assert_eq!((status, content_type.as_str()), (200, "text/javascript"));
        assert!(body.len() > 100_000, "{}", body.len());
        assert!(
            String::from_utf8_lossy(&body).contains("SwaggerUIBundle"),
            "not the bundle"
        );

        let (status, content_type, body) = get(addr, "/q/swagger-ui/swagger-ui.css").await;
        assert_eq!((status, content_type.as_str()), (200, "text/css"));
        assert!(String::from_utf8_lossy(&body).contains(".swagger-ui"));

        let (status, content_type, body) = get(addr, "/q/swagger-ui/favicon-32x32.png").await;
        assert_eq!((status, content_type.as_str()), (200, "image/png"));
        assert!(body.starts_with(b"\x89PNG"), "not a PNG");

        let (status, content_type, _) = get(addr, "/q/swagger-ui/index.html").await;
        assert_eq!((status, content_type.as_str()), (200, "text/html"));

        let (status, content_type, body) = get(addr, "/q/swagger-ui/nope.js").await;
        assert_eq!((status, content_type.as_str()), (404, "application/json"));
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["reason"], "NOT_FOUND");
        assert_eq!(body["message"], "no route matches /q/swagger-ui/nope.js");

        server.stop().await.unwrap();
    }

    /// The build integration's `Generator::Openapi`: off by default, `openapi.json` with
    /// [`crate::build::OPENAPI_DEFAULTS`], a parameter the build gives wins, extern paths and
    /// the document stay out of the generated Rust.
    #[cfg(feature = "build")]
    #[test]
    fn the_build_integration_writes_the_document() {
        use crate::build::Generator;

        const PROTO: &str = r#"syntax = "proto3";
package demo.v1;
import "google/api/annotations.proto";
service Lights {
  rpc Set(SetRequest) returns (SetReply) {
    option (google.api.http) = {post: "/v1/lights/{id}" body: "*"};
  }
}
enum Color { COLOR_UNSPECIFIED = 0; RED = 1; }
message SetRequest { string id = 1; Color color = 2; }
message SetReply { Color color = 1; }
"#;
        let protos = tempfile::tempdir().unwrap();
        std::fs::write(protos.path().join("lights.proto"), PROTO).unwrap();
        let build = |configure: fn(crate::build::Builder) -> crate::build::Builder| {
            let out = tempfile::tempdir().unwrap();
            configure(
                crate::build::configure()
                    .out_dir(out.path())
                    .emit_rerun_if_changed(false)
                    .extern_path(".demo.v1.Unused", "::demo::Unused"),
            )
            .compile_protos(&[protos.path().join("lights.proto")], &[protos.path()])
            .unwrap();
            out
        };

        let out = build(|b| b);
        assert!(
            !out.path().join("openapi.json").exists(),
            "the generator is off by default"
        );

        let out = build(|b| b.generator(Generator::Openapi, true));
        let document: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.path().join("openapi.json")).unwrap())
                .unwrap();
        let operation = &document["paths"]["/v1/lights/{id}"]["post"];
        assert_eq!(operation["operationId"], "Lights_Set");
        assert_eq!(
            operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/demo.v1.SetReply"
        );
        assert_eq!(
            operation["responses"]["default"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/google.rpc.Status"
        );
        assert_eq!(
            document["components"]["schemas"]["demo.v1.SetReply"]["properties"]["color"],
            serde_json::json!({"enum": ["COLOR_UNSPECIFIED", "RED"], "type": "string", "format": "enum"})
        );
        let includes = std::fs::read_to_string(out.path().join("demo.v1.kratos.rs")).unwrap();
        assert!(!includes.contains("openapi"), "{includes}");

        let out = build(|b| {
            b.generator(Generator::Openapi, true)
                .parameter(Generator::Openapi, "default_response=false")
                .parameter(Generator::Openapi, "format=yaml")
        });
        let yaml = std::fs::read_to_string(out.path().join("openapi.yaml")).unwrap();
        assert!(!yaml.contains("default:"), "{yaml}");
        assert!(yaml.contains("demo.v1.SetReply"), "{yaml}");
        assert!(!out.path().join("openapi.json").exists());
    }

    #[cfg(feature = "swagger-ui")]
    #[test]
    fn the_title_comes_from_the_document() {
        assert_eq!(document_title(DOCUMENT.as_bytes()), "Greeter <API>");
        assert_eq!(document_title(b"openapi: 3.0.3"), DEFAULT_TITLE);
        assert_eq!(document_title(br#"{"info":{"title":""}}"#), DEFAULT_TITLE);
        assert_eq!(escape_html("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#39;");
    }
}
