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

/// Generated code for `wire.v1`: the routes of the second wire-conformance pass.
pub mod wire {
    /// `wire.v1`.
    pub mod v1 {
        #![allow(missing_docs, clippy::all)]
        kratos::include_proto!("wire.v1");
    }
}

/// Generated code for `replies.v1`: a `response_body` route per kind of field (the plugin's
/// `response_body` golden fixture, compiled and served).
pub mod replies {
    /// `replies.v1`.
    pub mod v1 {
        #![allow(missing_docs, clippy::all)]
        kratos::include_proto!("replies.v1");
    }
}

/// The generated HTTP code of `replies.v1` in the build output.
pub const GENERATED_REPLIES_HTTP: &str = concat!(env!("OUT_DIR"), "/replies.v1.kratos_http.rs");

use replies::v1 as rp;
use wire::v1 as wp;

/// Serves the wire rules' routes: echoes what was bound, and says what it did to a shelf.
#[derive(Debug, Default)]
pub struct Wire;

impl wp::Wire for Wire {
    async fn query_numbers(
        &self,
        _ctx: Context,
        request: wp::Numbers,
    ) -> Result<wp::Numbers, Error> {
        Ok(request)
    }

    async fn post_numbers(
        &self,
        _ctx: Context,
        request: wp::Numbers,
    ) -> Result<wp::Numbers, Error> {
        Ok(request)
    }

    async fn post_palette(
        &self,
        _ctx: Context,
        request: wp::Palette,
    ) -> Result<wp::Palette, Error> {
        Ok(request)
    }

    async fn get_shelf(&self, _ctx: Context, request: wp::Shelf) -> Result<wp::Shelf, Error> {
        Ok(wp::Shelf {
            action: "read".into(),
            ..request
        })
    }

    async fn archive_shelf(&self, _ctx: Context, request: wp::Shelf) -> Result<wp::Shelf, Error> {
        Ok(wp::Shelf {
            action: "archived".into(),
            ..request
        })
    }

    async fn refuse(&self, _ctx: Context, request: wp::Refusal) -> Result<wp::Shelf, Error> {
        Err(Error::new(request.code, request.reason, request.message)
            .with_metadata(request.metadata))
    }

    async fn get_file(&self, _ctx: Context, request: wp::File) -> Result<wp::File, Error> {
        Ok(request)
    }
}

/// The populated reply of the `replies.v1` routes: a value in every field, non-finite floats
/// and 64-bit integers beyond 2^53 included.
pub fn kinds() -> rp::Kinds {
    let at = |seconds, nanos| kratos::types::Timestamp { seconds, nanos };
    let item = |id: &str, count| rp::Item {
        id: id.into(),
        count,
    };
    rp::Kinds {
        title: "Dune".into(),
        flag: true,
        small: -7,
        big: 9_007_199_254_740_993,
        unsigned: u64::MAX,
        ratio: 0.25,
        score: f64::NAN,
        data: vec![0x00, 0xff, b'h', b'i'],
        genre: rp::Genre::History.into(),
        item: Some(item("i1", 42)),
        at: Some(at(1_700_000_000, 123_000_000)),
        took: Some(kratos::types::Duration {
            seconds: 90,
            nanos: 500_000_000,
        }),
        mask: Some(kratos::types::FieldMask {
            paths: vec!["user_id".into(), "sub.name".into()],
        }),
        extra: Some(pbjson_types::Struct {
            fields: [("a".to_string(), pbjson_types::Value::from(1.0))].into(),
        }),
        big_value: Some(pbjson_types::Int64Value { value: 5 }),
        dval: Some(pbjson_types::DoubleValue {
            value: f64::INFINITY,
        }),
        titles: vec!["a".into(), "b".into()],
        bigs: vec![1, -9_007_199_254_740_993],
        scores: vec![1.5, f64::NAN, f64::INFINITY, f64::NEG_INFINITY],
        blobs: vec![b"hi".to_vec(), Vec::new()],
        genres: vec![rp::Genre::Fiction.into(), rp::Genre::History.into()],
        items: vec![item("i1", 1), item("i2", 2)],
        times: vec![at(0, 0), at(1_700_000_000, 5)],
        dvals: vec![
            pbjson_types::DoubleValue { value: 1.5 },
            pbjson_types::DoubleValue { value: f64::NAN },
        ],
        labels: [("k".to_string(), "v".to_string())].into(),
        genre_by_id: [
            (1, rp::Genre::Fiction.into()),
            (-2, rp::Genre::History.into()),
        ]
        .into(),
        item_by_name: [("x".to_string(), item("x", 3))].into(),
        blob_by_name: [("b".to_string(), vec![1u8])].into(),
        weight_by_name: [("w".to_string(), f64::NEG_INFINITY)].into(),
        maybe: Some(-3),
        choice: Some(rp::kinds::Choice::ChoiceText("picked".into())),
        display_name: "shown".into(),
    }
}

/// Serves every `replies.v1` route with [`kinds`], or the default reply when asked.
#[derive(Debug, Default)]
pub struct Replies;

macro_rules! replies {
    ($($method:ident),* $(,)?) => {
        impl rp::Replies for Replies {
            $(
                async fn $method(
                    &self,
                    _ctx: Context,
                    request: rp::KindsRequest,
                ) -> Result<rp::Kinds, Error> {
                    Ok(if request.empty { rp::Kinds::default() } else { kinds() })
                }
            )*
        }
    };
}

replies!(
    title,
    flag,
    small,
    big,
    unsigned,
    ratio,
    score,
    data,
    genre,
    item,
    at,
    took,
    mask,
    extra,
    big_value,
    dval,
    titles,
    bigs,
    scores,
    blobs,
    genres,
    items,
    times,
    dvals,
    labels,
    genre_by_id,
    item_by_name,
    blob_by_name,
    weight_by_name,
    maybe,
    choice,
    display,
);
