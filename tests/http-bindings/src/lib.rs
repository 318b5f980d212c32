//! The binding fixture of the HTTP plugin, compiled, with a service that echoes what it was
//! given so tests can see exactly what each route bound.

use kratos::Context;
use kratos::errors::Error;

/// Generated code for the fixture's packages.
pub mod kratos_pb {
    /// `kratos.test.v1`.
    pub mod test {
        /// `kratos.test.v1`.
        pub mod v1 {
            #![allow(missing_docs, clippy::all)]
            kratos::include_proto!("kratos.test.v1");
        }
    }
    /// `kratos.common`.
    pub mod common {
        #![allow(missing_docs, clippy::all)]
        kratos::include_proto!("kratos.common");
    }
}

use kratos_pb::common::Page;
use kratos_pb::test::v1 as pb;

/// Echoes requests back.
#[derive(Debug, Default)]
pub struct Echo;

impl pb::Bindings for Echo {
    async fn get_book(
        &self,
        _ctx: Context,
        request: pb::GetBookRequest,
    ) -> Result<pb::Book, Error> {
        let book = request.book.unwrap_or_default();
        if book.shelf == "slow" {
            // For the timeout tests: well over their limit.
            tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        }
        Ok(book)
    }

    async fn scalars(
        &self,
        _ctx: Context,
        request: pb::ScalarsRequest,
    ) -> Result<pb::ScalarsRequest, Error> {
        Ok(request)
    }

    async fn update_book(
        &self,
        _ctx: Context,
        request: pb::UpdateBookRequest,
    ) -> Result<pb::Book, Error> {
        let mut book = request.book.unwrap_or_default();
        book.title = format!("{} ({})", book.title, request.r#type);
        Ok(book)
    }

    async fn search(
        &self,
        ctx: Context,
        request: pb::SearchRequest,
    ) -> Result<pb::SearchRequest, Error> {
        let _ = ctx.operation();
        Ok(request)
    }

    async fn ping(&self, _ctx: Context, request: Page) -> Result<Page, Error> {
        Ok(request)
    }

    async fn watch_books(
        &self,
        _ctx: Context,
        request: pb::GetBookRequest,
    ) -> Result<kratos::stream::ServerStream<pb::Book>, Error> {
        let shelf = request.book.unwrap_or_default().shelf;
        if shelf == "missing" {
            return Err(Error::not_found("SHELF_NOT_FOUND", "no such shelf"));
        }
        if shelf == "slow" {
            // One book every 400 ms, for clients that must read events as they come.
            let (tx, rx) = tokio::sync::mpsc::channel(1);
            tokio::spawn(async move {
                for i in 1..=3 {
                    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
                    let book = pb::Book {
                        name: format!("shelves/slow/books/{i}"),
                        ..Default::default()
                    };
                    if tx.send(Ok(book)).await.is_err() {
                        return;
                    }
                }
            });
            return Ok(kratos::stream::ServerStream::new(
                tokio_stream::wrappers::ReceiverStream::new(rx),
            ));
        }
        let books: Vec<Result<pb::Book, Error>> = (1..=3)
            .map(|i| {
                Ok(pb::Book {
                    name: format!("shelves/{shelf}/books/{i}"),
                    ..Default::default()
                })
            })
            .chain((shelf == "broken").then(|| Err(Error::new(500, "BROKEN", "shelf collapsed"))))
            .collect();
        Ok(kratos::stream::ServerStream::new(tokio_stream::iter(books)))
    }

    async fn shelve_books(
        &self,
        _ctx: Context,
        mut request: kratos::stream::RequestStream<pb::Book>,
    ) -> Result<Page, Error> {
        use kratos::stream::StreamExt as _;
        let mut count = 0;
        while let Some(book) = request.next().await {
            book?;
            count += 1;
        }
        Ok(Page {
            size: count,
            ..Default::default()
        })
    }

    async fn echo_books(
        &self,
        _ctx: Context,
        request: kratos::stream::RequestStream<pb::Book>,
    ) -> Result<kratos::stream::ServerStream<pb::Book>, Error> {
        Ok(kratos::stream::ServerStream::new(request))
    }

    async fn tags(
        &self,
        _ctx: Context,
        request: pb::TagsRequest,
    ) -> Result<pb::TagsRequest, Error> {
        Ok(request)
    }
}

/// The path of the generated HTTP code in the build output, for comparison with the golden.
pub const GENERATED_HTTP: &str = concat!(env!("OUT_DIR"), "/kratos.test.v1.kratos_http.rs");

/// Files kept in memory, served as raw bodies (`google.api.HttpBody`).
#[derive(Debug, Default)]
pub struct FileStore {
    files: std::sync::Mutex<std::collections::BTreeMap<String, kratos::types::HttpBody>>,
}

impl pb::Files for FileStore {
    async fn upload(
        &self,
        _ctx: Context,
        request: pb::UploadRequest,
    ) -> Result<pb::UploadReply, Error> {
        let file = request
            .file
            .ok_or_else(|| Error::bad_request("NO_FILE", "the request has no body"))?;
        let mut files = self
            .files
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if files.contains_key(&request.name) && !request.overwrite {
            return Err(Error::conflict("FILE_EXISTS", request.name));
        }
        let reply = pb::UploadReply {
            name: request.name.clone(),
            content_type: file.content_type.clone(),
            size: file.data.len() as i64,
        };
        files.insert(request.name, file);
        Ok(reply)
    }

    async fn download(
        &self,
        _ctx: Context,
        request: pb::DownloadRequest,
    ) -> Result<kratos::types::HttpBody, Error> {
        self.files
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&request.name)
            .cloned()
            .ok_or_else(|| Error::not_found("FILE_NOT_FOUND", request.name))
    }

    async fn reverse(
        &self,
        _ctx: Context,
        mut request: kratos::types::HttpBody,
    ) -> Result<kratos::types::HttpBody, Error> {
        request.data.reverse();
        Ok(request)
    }
}
