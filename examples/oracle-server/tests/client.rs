//! The generated HTTP client against the oracle server: what the client encodes (path, query,
//! body) the server binds back into the same message, and Kratos errors come back typed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use kratos::transport::Server as _;
use oracle_server::api as pb;

async fn start() -> (kratos::http::Server, pb::LibraryHttpClient) {
    let (mut http, _grpc) = oracle_server::servers(
        kratos::http::Server::builder().address("127.0.0.1:0"),
        kratos::grpc::Server::builder().address("127.0.0.1:0"),
    )
    .unwrap();
    let addr = http.start().await.unwrap();
    let client = kratos::http::Client::builder(addr.to_string())
        .build()
        .unwrap();
    (http, pb::LibraryHttpClient::new(client))
}

#[tokio::test]
async fn every_field_kind_round_trips_through_the_query_string() {
    let (mut http, client) = start().await;
    let request = pb::SearchRequest {
        query: "hello world & more/ü".into(),
        page_size: -7,
        offset: -9_000_000_000,
        uid: u64::MAX,
        exact: true,
        score: 1.25,
        ratio: 0.5,
        genre: pb::Genre::History.into(),
        tags: vec!["a".into(), "b,c".into()],
        ids: vec![1, -2],
        genres: vec![pb::Genre::Fiction.into(), pb::Genre::Science.into()],
        filter: Some(pb::Filter {
            author: "x".into(),
            year: 1999,
            range: Some(pb::Range { min: -1, max: 2 }),
            keywords: vec!["k".into()],
            genre: pb::Genre::Fiction.into(),
        }),
        since: Some(kratos::types::Timestamp {
            seconds: 1_700_000_000,
            nanos: 5_000,
        }),
        timeout: Some(kratos::types::Duration {
            seconds: 90,
            nanos: 500_000_000,
        }),
        mask: Some(kratos::types::FieldMask {
            paths: vec!["page_size".into(), "filter.author".into()],
        }),
        limit: Some(pbjson_types::Int64Value { value: 42 }),
        note: Some(pbjson_types::StringValue { value: "n".into() }),
        flag: Some(pbjson_types::BoolValue { value: false }),
        labels: [("k".to_string(), "v w".to_string())].into_iter().collect(),
        codes: [(7, "seven".to_string())].into_iter().collect(),
        data: vec![0, 255, 10],
        opt: Some(String::new()),
        choice: Some(pb::search_request::Choice::ChoiceB(3)),
        camel_case_field: "c".into(),
        small: 7,
        signed: -3,
        fixed: 11,
        dval: Some(pbjson_types::DoubleValue { value: -0.5 }),
        big_ids: vec![9_007_199_254_740_993],
        ..Default::default()
    };
    let reply = client.search(&request).await.unwrap();
    let echoed = reply.request.unwrap();
    // An explicitly set optional empty string is "populated" but empty values leave a field
    // unset on the way in (Kratos' rule), so it comes back unset.
    let mut expected = request.clone();
    expected.opt = None;
    assert_eq!(echoed, expected);
    http.stop().await.unwrap();
}

#[tokio::test]
async fn path_variables_are_escaped_and_bodies_sent() {
    let (mut http, client) = start().await;
    // A single-segment variable with characters that need escaping.
    let shelf = client
        .get_shelf(&pb::GetShelfRequest {
            shelf: "a b?c#d".into(),
            verbose: true,
        })
        .await
        .unwrap();
    assert_eq!(shelf.name, "shelves/a b?c#d");
    assert!(shelf.request.unwrap().verbose);
    // A multi-segment variable, a named body and a query parameter beside it.
    let book = pb::Book {
        name: "shelves/s 1/books/b".into(),
        title: "T".into(),
        ..Default::default()
    };
    let reply = client
        .update_book(&pb::UpdateBookRequest {
            book: Some(book.clone()),
            update_mask: Some(kratos::types::FieldMask {
                paths: vec!["title".into()],
            }),
            allow_missing: true,
        })
        .await
        .unwrap();
    let echoed = reply.request.unwrap();
    assert_eq!(echoed.book.unwrap(), book);
    assert!(echoed.allow_missing);
    // body "*" with a custom verb.
    let reply = client
        .archive_shelf(&pb::ArchiveShelfRequest {
            shelf: "s1".into(),
            reason: "old".into(),
        })
        .await
        .unwrap();
    assert_eq!(reply.request.unwrap().reason, "old");
    // A zero int64 still builds a valid URL.
    let reply = client
        .delete_shelf(&pb::DeleteShelfRequest {
            shelf: 0,
            force: true,
        })
        .await
        .unwrap();
    assert!(reply.request.unwrap().force);
    http.stop().await.unwrap();
}

#[tokio::test]
async fn response_body_fields_come_back_in_their_place() {
    let (mut http, client) = start().await;
    let reply = client
        .list_items(&pb::ListItemsRequest {
            page_size: 2,
            page_token: String::new(),
        })
        .await
        .unwrap();
    assert_eq!(
        reply
            .items
            .iter()
            .map(|i| i.id.as_str())
            .collect::<Vec<_>>(),
        ["a", "b"]
    );
    let reply = client
        .get_item(&pb::GetItemRequest { id: "x".into() })
        .await
        .unwrap();
    assert_eq!(reply.item.unwrap().display_name, "Item x");
    http.stop().await.unwrap();
}

#[tokio::test]
async fn errors_come_back_as_kratos_errors() {
    let (mut http, client) = start().await;
    let err = client
        .kratos_error(&pb::ErrorRequest {
            kind: "not_found".into(),
            message: "m".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), err.reason(), err.message()),
        (404, "SHELF_NOT_FOUND", "shelf \"m\" not found")
    );
    assert!(pb::is_shelf_not_found(&err));
    let err = client
        .kratos_error(&pb::ErrorRequest {
            kind: "metadata".into(),
            message: "m".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.metadata().get("msg").map(String::as_str), Some("m"));
    let err = client
        .panic(&pb::ErrorRequest::default())
        .await
        .unwrap_err();
    assert_eq!((err.code(), err.reason()), (500, "UNKNOWN"));
    // Bad input from the client side reaches the server and is refused with a CODEC error.
    http.stop().await.unwrap();
    // A server that is gone: an error, not a panic.
    let err = client
        .get_shelf(&pb::GetShelfRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), 503);
}

#[tokio::test]
async fn the_openapi_document_describes_the_library() {
    let document: serde_json::Value =
        serde_json::from_str(oracle_server::OPENAPI_DOCUMENT).unwrap();
    let paths = document["paths"].as_object().unwrap();
    for path in [
        "/v1/shelves/{shelf}",
        "/v1/search",
        "/v1/items/{id}",
        "/v1/shelves/{shelf}:archive",
    ] {
        assert!(
            paths.contains_key(path),
            "{path} missing from {:?}",
            paths.keys()
        );
    }
}
