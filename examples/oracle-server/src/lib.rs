//! `oracle.v1.Library`: the service Kratos' behaviour was recorded with, implemented to answer
//! exactly as the reference server does (every reply echoes the bound request, fixed
//! timestamps, the same error kinds, a panic in `Panic`, recovery middleware on).

use std::sync::Arc;

use kratos::errors::Error;
use kratos::{Context, grpc, http};

/// The generated API of package `oracle.v1`.
pub mod api {
    #![allow(missing_docs, clippy::all)]
    kratos::include_proto!("oracle.v1");
}

use api as pb;

/// The reference server's fixed timestamp: 2023-11-14T22:13:20.123Z.
fn fixed_ts() -> kratos::types::Timestamp {
    kratos::types::Timestamp {
        seconds: 1_700_000_000,
        nanos: 123_000_000,
    }
}

/// The library service.
#[derive(Debug, Default)]
pub struct Library;

/// A plain error, as Go's `errors.New` (no code or reason of its own).
#[derive(Debug)]
struct Plain(String);

impl std::fmt::Display for Plain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Plain {}

/// `fmt.Errorf("outer: %w", err)`: wraps a Kratos error.
#[derive(Debug)]
struct Wrapped(Error);

impl std::fmt::Display for Wrapped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "outer: {}", self.0)
    }
}

impl std::error::Error for Wrapped {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

fn kratos_error(kind: &str, msg: &str) -> Option<Error> {
    let err = match kind {
        "not_found" => pb::error_shelf_not_found(format!("shelf {msg:?} not found")),
        "conflict" => pb::error_book_conflict(format!("book conflict: {msg}")),
        "invalid" => pb::error_invalid_argument(format!("invalid argument: {msg}")),
        "default_code" => pb::error_unspecified_code(format!("default code: {msg}")),
        "metadata" => {
            Error::new(418, "TEAPOT", "short and stout").with_metadata([("k", "v"), ("msg", msg)])
        }
        "wrapped" => Error::from_error(&Wrapped(pb::error_shelf_not_found(format!("inner {msg}")))),
        "cause" => pb::error_book_conflict("with cause")
            .with_cause(std::io::Error::from(std::io::ErrorKind::UnexpectedEof)),
        "bad_request" => Error::bad_request("BAD", format!("bad request: {msg}")),
        "unauthorized" => Error::unauthorized("UNAUTH", "who are you"),
        "forbidden" => Error::forbidden("FORBIDDEN", "nope"),
        "client_closed" => Error::client_closed("CLOSED", "client closed"),
        "unavailable" => Error::service_unavailable("UNAVAILABLE", "try later"),
        "gateway_timeout" => Error::gateway_timeout("TIMEOUT", "too slow"),
        "code_599" => Error::new(599, "ODD", "odd code"),
        "code_0" => Error::new(0, "ZERO", "zero code"),
        "grpc_status" => Error::from(tonic::Status::not_found("grpc not found")),
        "grpc_status_info" => {
            use tonic_types::{ErrorDetails, StatusExt};
            let details = ErrorDetails::with_error_info(
                "GRPC_REASON",
                "",
                std::collections::HashMap::from([("a".to_string(), "b".to_string())]),
            );
            Error::from(tonic::Status::with_error_details(
                tonic::Code::PermissionDenied,
                "grpc denied",
                details,
            ))
        }
        "deadline" => Error::from_error(&Plain("context deadline exceeded".into())),
        "canceled" => Error::from_error(&Plain("context canceled".into())),
        "unicode" => Error::new(400, "UNICODE", "ünïcödé <&> \"quoted\" \u{2028}"),
        _ => return None,
    };
    Some(err)
}

impl pb::Library for Library {
    async fn get_shelf(&self, _ctx: Context, req: pb::GetShelfRequest) -> Result<pb::Shelf, Error> {
        Ok(pb::Shelf {
            name: format!("shelves/{}", req.shelf),
            theme: "echo".into(),
            id: 1,
            books: vec![pb::Book {
                name: format!("shelves/{}/books/1", req.shelf),
                title: "T".into(),
                pages: 123,
                genre: pb::Genre::Fiction.into(),
                published: Some(fixed_ts()),
                tags: vec!["a".into(), "b".into()],
                attrs: [("k".to_string(), "v".to_string())].into_iter().collect(),
                rating: 4.5,
                ..Default::default()
            }],
            request: Some(req),
        })
    }

    async fn search(
        &self,
        _ctx: Context,
        req: pb::SearchRequest,
    ) -> Result<pb::SearchReply, Error> {
        Ok(pb::SearchReply {
            request: Some(req),
            total: 1,
        })
    }

    async fn create_shelf(
        &self,
        _ctx: Context,
        req: pb::CreateShelfRequest,
    ) -> Result<pb::CreateShelfReply, Error> {
        Ok(pb::CreateShelfReply {
            request: Some(req),
            id: "new-shelf".into(),
        })
    }

    async fn update_shelf(
        &self,
        _ctx: Context,
        req: pb::UpdateShelfRequest,
    ) -> Result<pb::UpdateShelfReply, Error> {
        Ok(pb::UpdateShelfReply { request: Some(req) })
    }

    async fn update_book(
        &self,
        _ctx: Context,
        req: pb::UpdateBookRequest,
    ) -> Result<pb::UpdateBookReply, Error> {
        Ok(pb::UpdateBookReply { request: Some(req) })
    }

    async fn delete_shelf(
        &self,
        _ctx: Context,
        req: pb::DeleteShelfRequest,
    ) -> Result<pb::DeleteShelfReply, Error> {
        Ok(pb::DeleteShelfReply { request: Some(req) })
    }

    async fn archive_shelf(
        &self,
        _ctx: Context,
        req: pb::ArchiveShelfRequest,
    ) -> Result<pb::ArchiveShelfReply, Error> {
        Ok(pb::ArchiveShelfReply { request: Some(req) })
    }

    async fn get_file(
        &self,
        _ctx: Context,
        req: pb::GetFileRequest,
    ) -> Result<pb::GetFileReply, Error> {
        Ok(pb::GetFileReply { request: Some(req) })
    }

    async fn list_items(
        &self,
        _ctx: Context,
        req: pb::ListItemsRequest,
    ) -> Result<pb::ListItemsReply, Error> {
        let all = [
            pb::Item {
                id: "a".into(),
                count: 10,
                genre: pb::Genre::Fiction.into(),
                at: Some(fixed_ts()),
                display_name: "Alpha".into(),
            },
            pb::Item {
                id: "b".into(),
                ..Default::default()
            },
            pb::Item {
                id: "c".into(),
                count: 9_007_199_254_740_993,
                genre: pb::Genre::Science.into(),
                at: None,
                display_name: "Gamma".into(),
            },
        ];
        let n = usize::try_from(req.page_size.max(0))
            .unwrap_or(0)
            .min(all.len());
        Ok(pb::ListItemsReply {
            items: all[..n].to_vec(),
            next_page_token: "next".into(),
            request: Some(req),
        })
    }

    async fn get_item(
        &self,
        _ctx: Context,
        req: pb::GetItemRequest,
    ) -> Result<pb::GetItemReply, Error> {
        if req.id == "missing" {
            return Ok(pb::GetItemReply {
                item: None,
                request: Some(req),
            });
        }
        Ok(pb::GetItemReply {
            item: Some(pb::Item {
                id: req.id.clone(),
                count: 42,
                genre: pb::Genre::History.into(),
                at: Some(fixed_ts()),
                display_name: format!("Item {}", req.id),
            }),
            request: Some(req),
        })
    }

    async fn get_multi(
        &self,
        _ctx: Context,
        req: pb::GetMultiRequest,
    ) -> Result<pb::GetMultiReply, Error> {
        Ok(pb::GetMultiReply { request: Some(req) })
    }

    async fn kratos_error(
        &self,
        _ctx: Context,
        req: pb::ErrorRequest,
    ) -> Result<pb::ErrorReply, Error> {
        match kratos_error(&req.kind, &req.message) {
            Some(err) => Err(err),
            None => Ok(pb::ErrorReply { request: Some(req) }),
        }
    }

    async fn plain_error(
        &self,
        _ctx: Context,
        req: pb::ErrorRequest,
    ) -> Result<pb::ErrorReply, Error> {
        Err(Error::from_error(&Plain(format!(
            "plain boom: {}",
            req.message
        ))))
    }

    async fn panic(&self, _ctx: Context, req: pb::ErrorRequest) -> Result<pb::ErrorReply, Error> {
        if req.kind == "error" {
            std::panic::panic_any(Plain(format!("oracle panic error: {}", req.message)));
        }
        panic!("oracle panic: {}", req.message);
    }
}

/// The OpenAPI document of the HTTP API, generated by the build.
pub const OPENAPI_DOCUMENT: &str = include_str!(concat!(env!("OUT_DIR"), "/openapi.json"));

/// The HTTP and gRPC servers with the library registered on both, recovery middleware on; the
/// HTTP server also serves [`OPENAPI_DOCUMENT`] at `/q/openapi.json` and Swagger UI at
/// `/q/swagger-ui/`.
pub fn servers(
    http: http::ServerBuilder,
    grpc: grpc::ServerBuilder,
) -> Result<(http::Server, grpc::Server), http::RouteError> {
    let service = Arc::new(Library);
    let mut http = http.middleware(kratos::middleware::recovery()).build();
    pb::register_library_http_server(&mut http, service.clone())?;
    kratos::openapi::register(&mut http, OPENAPI_DOCUMENT)?;
    let mut grpc = grpc.middleware(kratos::middleware::recovery()).build();
    pb::register_library_grpc_server(&mut grpc, service)?;
    Ok((http, grpc))
}
