//! The conformance fixture of the HTTP tests, compiled through `kratos::build`, with a service
//! that echoes what each route bound so tests can see exactly what was bound.

use kratos::Context;
use kratos::errors::Error;

/// Generated code for `helloworld.v1`.
pub mod helloworld {
    /// `helloworld.v1`.
    pub mod v1 {
        #![allow(missing_docs, clippy::all)]
        kratos::include_proto!("helloworld.v1");
    }
}

use helloworld::v1 as pb;

/// The generated HTTP code in the build output.
pub const GENERATED_HTTP: &str = concat!(env!("OUT_DIR"), "/helloworld.v1.kratos_http.rs");

/// Echoes requests back.
#[derive(Debug, Default)]
pub struct Echo;

impl pb::Greeter for Echo {
    async fn say_hello(
        &self,
        _ctx: Context,
        request: pb::HelloRequest,
    ) -> Result<pb::HelloReply, Error> {
        if request.name.is_empty() {
            return Ok(pb::HelloReply::default());
        }
        Ok(pb::HelloReply {
            message: format!("Hello {}", request.name),
        })
    }

    async fn bind(&self, _ctx: Context, request: pb::Complex) -> Result<pb::Complex, Error> {
        Ok(request)
    }

    async fn update_user(
        &self,
        _ctx: Context,
        request: pb::UpdateUserRequest,
    ) -> Result<pb::UserReply, Error> {
        let mut data = request.user_info.unwrap_or_default();
        data.name = format!("{} ({}, {})", data.name, request.id, request.note);
        Ok(pb::UserReply {
            data: Some(data),
            other: "not in the response body".into(),
        })
    }

    async fn get_book(
        &self,
        _ctx: Context,
        request: pb::BookRequest,
    ) -> Result<pb::BookRequest, Error> {
        Ok(request)
    }

    async fn nested(
        &self,
        _ctx: Context,
        request: pb::NestedRequest,
    ) -> Result<pb::NestedRequest, Error> {
        Ok(request)
    }

    async fn sub_path(
        &self,
        ctx: Context,
        request: pb::HelloRequest,
    ) -> Result<pb::HelloReply, Error> {
        self.say_hello(ctx, request).await
    }

    async fn sub_query(
        &self,
        ctx: Context,
        request: pb::HelloRequest,
    ) -> Result<pb::HelloReply, Error> {
        self.say_hello(ctx, request).await
    }

    async fn sub_mask(
        &self,
        ctx: Context,
        request: pb::HelloRequest,
    ) -> Result<pb::HelloReply, Error> {
        self.say_hello(ctx, request).await
    }

    async fn form(&self, ctx: Context, request: pb::HelloRequest) -> Result<pb::HelloReply, Error> {
        self.say_hello(ctx, request).await
    }

    async fn form_list(
        &self,
        _ctx: Context,
        request: pb::ListRequest,
    ) -> Result<pb::HelloReply, Error> {
        Ok(pb::HelloReply {
            message: format!("{} subs", request.subs.len()),
        })
    }

    async fn fail(&self, _ctx: Context, request: pb::FailRequest) -> Result<pb::HelloReply, Error> {
        Err(Error::new(request.code, request.reason, request.message))
    }
}
