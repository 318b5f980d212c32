//! The document says what a kratos-rs server does: which fields it writes as `null`, 64-bit
//! integers as strings, the `response_body` field as the whole reply, and one path item for
//! paths that differ only in variable names (or an error when that cannot be described).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use kratos_codegen::testing;
use serde_json::{Value, json};

const SHOP: &str = r#"
syntax = "proto3";
package shop.v1;
import "google/api/annotations.proto";
import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/empty.proto";
import "google/protobuf/duration.proto";

service Shop {
  rpc GetItem(GetItemRequest) returns (Item) {
    option (google.api.http) = {get: "/v1/items/{id}"};
  }
  rpc DeleteItem(DeleteItemRequest) returns (google.protobuf.Empty) {
    option (google.api.http) = {delete: "/v1/items/{item_id}"};
  }
  rpc UpdateItem(Item) returns (Item) {
    option (google.api.http) = {patch: "/v1/items/{name}:touch/{version}" body: "*"
      additional_bindings {put: "/v1/items/{key}:touch/{rev}" body: "*"}};
  }
  rpc ListItems(ListItemsRequest) returns (ListItemsReply) {
    option (google.api.http) = {get: "/v1/items" response_body: "items"};
  }
  rpc FirstItem(ListItemsRequest) returns (ListItemsReply) {
    option (google.api.http) = {get: "/v1/items:first" response_body: "first"};
  }
  rpc CountItems(ListItemsRequest) returns (ListItemsReply) {
    option (google.api.http) = {get: "/v1/items:count" response_body: "total"};
  }
  rpc ItemLabels(ListItemsRequest) returns (ListItemsReply) {
    option (google.api.http) = {get: "/v1/items:labels" response_body: "labels"};
  }
  rpc NextToken(ListItemsRequest) returns (ListItemsReply) {
    option (google.api.http) = {get: "/v1/items:next" response_body: "next_token"};
  }
  rpc Winner(ListItemsRequest) returns (ListItemsReply) {
    option (google.api.http) = {get: "/v1/items:winner" response_body: "winner"};
  }
  rpc Whole(ListItemsRequest) returns (ListItemsReply) {
    option (google.api.http) = {get: "/v1/items:whole" response_body: "*"};
  }
}

message GetItemRequest { string id = 1; }
message DeleteItemRequest { int64 item_id = 1; }

message Item {
  string name = 1;
  int64 version = 2;
  uint64 views = 3;
  sint64 delta = 4;
  fixed64 hash = 5;
  sfixed64 offset = 6;
  repeated int64 history = 7;
  map<string, uint64> counters = 8;
  google.protobuf.Int64Value limit = 9;
  google.protobuf.UInt64Value quota = 10;
  google.protobuf.Timestamp created = 11;
  Item parent = 12;
  repeated Item children = 13;
  map<string, Item> by_name = 14;
  google.protobuf.Struct extra = 15;
  google.protobuf.StringValue note = 16;
  optional string nickname = 17;
  oneof choice {
    Item other = 18;
    string label = 19;
  }
  google.protobuf.Value value = 20;
  int32 small = 21;
  string key = 22;
  int64 rev = 23;
  bytes blob = 24;
  float score = 25;
}

message ListItemsRequest {
  int32 page_size = 1; int64 after = 2; repeated string tags = 3; float min_score = 4;
  google.protobuf.Duration within = 5; google.protobuf.Timestamp since = 6;
}

message ListItemsReply {
  repeated Item items = 1;
  Item first = 2;
  int64 total = 3;
  map<string, string> labels = 4;
  optional string next_token = 5;
  oneof result {
    Item winner = 6;
    string reason = 7;
  }
}
"#;

fn shop() -> (tempfile::TempDir, Value) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("shop.proto"), SHOP).unwrap();
    let doc = common::run_json(
        dir.path(),
        &["shop.proto"],
        "fq_schema_naming=true,default_response=false",
    );
    (dir, doc)
}

fn ok_schema<'a>(doc: &'a Value, path: &str, verb: &str) -> &'a Value {
    &doc["paths"][path][verb]["responses"]["200"]["content"]["application/json"]["schema"]
}

#[test]
fn fields_written_as_null_are_nullable_and_no_others() {
    let (dir, doc) = shop();
    let item = &doc["components"]["schemas"]["shop.v1.Item"]["properties"];
    let nullable: Vec<&str> = item
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, s)| s.get("nullable") == Some(&json!(true)))
        .map(|(k, _)| k.as_str())
        .collect();
    // Singular messages outside a oneof, well-known types included; not scalars, lists,
    // maps, `optional` scalars or oneof members (left out when unset, never null).
    assert_eq!(
        nullable,
        [
            "limit", "quota", "created", "parent", "extra", "note", "value"
        ]
    );
    assert_eq!(
        item["parent"],
        json!({"nullable": true, "allOf": [{"$ref": "#/components/schemas/shop.v1.Item"}]})
    );
    assert_eq!(
        item["created"],
        json!({"nullable": true, "type": "string", "format": "date-time"})
    );
    assert_eq!(
        item["other"],
        json!({"$ref": "#/components/schemas/shop.v1.Item"})
    );
    common::validate_all(&[write(dir.path(), &doc)]);
}

fn write(dir: &Path, doc: &Value) -> std::path::PathBuf {
    let path = dir.join("openapi.json");
    std::fs::write(&path, serde_json::to_string_pretty(doc).unwrap()).unwrap();
    path
}

#[test]
fn sixty_four_bit_integers_are_strings_with_their_format() {
    let (_dir, doc) = shop();
    let item = &doc["components"]["schemas"]["shop.v1.Item"]["properties"];
    for (field, format) in [
        ("version", "int64"),
        ("views", "uint64"),
        ("delta", "int64"),
        ("hash", "uint64"),
        ("offset", "int64"),
        ("limit", "int64"),
        ("quota", "uint64"),
    ] {
        assert_eq!(item[field]["type"], json!("string"), "{field}");
        assert_eq!(item[field]["format"], json!(format), "{field}");
        assert!(item[field]["pattern"].is_string(), "{field}");
    }
    assert_eq!(item["history"]["items"]["format"], json!("int64"));
    assert_eq!(
        item["counters"]["additionalProperties"]["format"],
        json!("uint64")
    );
    assert_eq!(item["small"], json!({"type": "integer", "format": "int32"}));
    // Parameters too: path and query.
    let delete = &doc["paths"]["/v1/items/{id}"]["delete"]["parameters"][0];
    assert_eq!(delete["schema"]["format"], json!("int64"));
    let list = &doc["paths"]["/v1/items"]["get"]["parameters"][1];
    assert_eq!(
        (&list["name"], &list["schema"]["format"]),
        (&json!("after"), &json!("int64"))
    );
}

#[test]
fn response_body_selects_the_field_the_server_writes() {
    let (dir, doc) = shop();
    let item = json!({"$ref": "#/components/schemas/shop.v1.Item"});
    // A repeated field: the array.
    assert_eq!(
        ok_schema(&doc, "/v1/items", "get"),
        &json!({"type": "array", "items": item})
    );
    // A singular message: the message (the default one when unset, never null).
    assert_eq!(ok_schema(&doc, "/v1/items:first", "get"), &item);
    // A scalar and a map: their JSON values.
    assert_eq!(
        ok_schema(&doc, "/v1/items:count", "get")["format"],
        json!("int64")
    );
    assert_eq!(
        ok_schema(&doc, "/v1/items:labels", "get"),
        &json!({"type": "object", "additionalProperties": {"type": "string"}})
    );
    // Fields the reply can leave out are `null` then.
    assert_eq!(
        ok_schema(&doc, "/v1/items:next", "get"),
        &json!({"nullable": true, "type": "string"})
    );
    assert_eq!(
        ok_schema(&doc, "/v1/items:winner", "get"),
        &json!({"nullable": true, "allOf": [item]})
    );
    // `*` and no response_body: the whole reply.
    assert_eq!(
        ok_schema(&doc, "/v1/items:whole", "get"),
        &json!({"$ref": "#/components/schemas/shop.v1.ListItemsReply"})
    );
    common::validate_all(&[write(dir.path(), &doc)]);
}

#[test]
fn a_response_body_naming_no_field_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let source = SHOP.replace("response_body: \"total\"", "response_body: \"missing\"");
    std::fs::write(dir.path().join("shop.proto"), source).unwrap();
    let request = testing::request(&[dir.path().to_path_buf()], &["shop.proto"], "");
    let err = protoc_gen_openapi::generate(&request)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("shop.proto")
            && err.contains("shop.v1.Shop.CountItems")
            && err.contains("'missing'"),
        "{err}"
    );
}

#[test]
fn paths_differing_only_in_variable_names_share_one_path_item() {
    let (dir, doc) = shop();
    let paths: Vec<&String> = doc["paths"].as_object().unwrap().keys().collect();
    assert!(!paths.iter().any(|p| p.contains("{itemId}")), "{paths:?}");
    assert!(!paths.iter().any(|p| p.contains("{key}")), "{paths:?}");
    // The first path of the shape keeps its names; the later operation's path parameters are
    // renamed by position.
    let item = &doc["paths"]["/v1/items/{id}"];
    assert_eq!(item["get"]["operationId"], json!("Shop_GetItem"));
    assert_eq!(item["delete"]["operationId"], json!("Shop_DeleteItem"));
    let delete = &item["delete"]["parameters"][0];
    assert_eq!(
        (&delete["name"], &delete["in"]),
        (&json!("id"), &json!("path"))
    );
    // Two variables, the later binding renamed in order; its query parameters untouched.
    let touch = &doc["paths"]["/v1/items/{name}:touch/{version}"];
    assert_eq!(touch["patch"]["operationId"], json!("Shop_UpdateItem"));
    let put: Vec<(&str, &str)> = touch["put"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["in"].as_str().unwrap()))
        .collect();
    assert_eq!(put, [("name", "path"), ("version", "path")]);
    common::validate_all(&[write(dir.path(), &doc)]);
}

#[test]
fn the_same_method_on_paths_differing_only_in_names_is_an_error_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    let source = SHOP.replace(
        "delete: \"/v1/items/{item_id}\"",
        "get: \"/v1/items/{item_id}\"",
    );
    std::fs::write(dir.path().join("shop.proto"), source).unwrap();
    let request = testing::request(&[dir.path().to_path_buf()], &["shop.proto"], "");
    let err = protoc_gen_openapi::generate(&request)
        .unwrap_err()
        .to_string();
    for needle in [
        "shop.proto",
        "shop.v1.Shop.DeleteItem",
        "shop.v1.Shop.GetItem",
        "GET /v1/items/{itemId}",
        "GET /v1/items/{id}",
    ] {
        assert!(err.contains(needle), "{needle}: {err}");
    }
    // The same path text with the same method stays gnostic's case: the later replaces the
    // earlier, with a warning.
    let source = SHOP.replace("delete: \"/v1/items/{item_id}\"", "get: \"/v1/items/{id}\"");
    std::fs::write(dir.path().join("shop.proto"), source).unwrap();
    let request = testing::request(&[dir.path().to_path_buf()], &["shop.proto"], "");
    let output = protoc_gen_openapi::generate(&request).unwrap();
    assert!(
        output
            .warnings
            .iter()
            .any(|w| w.contains("GET /v1/items/{id} is already bound")),
        "{:?}",
        output.warnings
    );
}

#[test]
fn query_parameters_of_singular_fields_allow_an_empty_value_and_bytes_are_base64() {
    let (_dir, doc) = shop();
    // The server reads `?after=` as `after` unset; a repeated field's empty value is a value.
    let list: Vec<(&str, Option<&Value>)> = doc["paths"]["/v1/items"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p.get("allowEmptyValue")))
        .collect();
    assert_eq!(
        list,
        [
            ("pageSize", Some(&json!(true))),
            ("after", Some(&json!(true))),
            ("tags", None),
            ("minScore", Some(&json!(true))),
            ("within", Some(&json!(true))),
            ("since", Some(&json!(true)))
        ]
    );
    // Timestamp and Duration parameters read `null` as unset; a Duration in the query is read
    // in Go's syntax, whose range is narrower than the JSON form's, and takes a bare `0`.
    let params = &doc["paths"]["/v1/items"]["get"]["parameters"];
    assert_eq!(params[5]["schema"]["nullable"], json!(true));
    assert_eq!(params[5]["schema"]["format"], json!("date-time"));
    let within = &params[4]["schema"];
    assert_eq!(within["nullable"], json!(true));
    let re = regex::Regex::new(within["pattern"].as_str().unwrap()).unwrap();
    for (text, ok) in [
        ("0", true),
        ("0s", true),
        ("-1.5s", true),
        ("999999999.999999999s", true),
        ("9999999999s", false),
        ("5", false),
        ("1h", false),
    ] {
        assert_eq!(re.is_match(text), ok, "{text}");
    }
    // Floats: the JSON bound is f32::MAX as the server writes it; the query reader takes up to
    // f32::MAX exactly.
    let score = &doc["paths"]["/v1/items"]["get"]["parameters"][3]["schema"];
    let max = f64::from(f32::MAX);
    assert!(common::close(score["maximum"].as_f64().unwrap(), max));
    assert!(common::close(score["minimum"].as_f64().unwrap(), -max));
    let item = &doc["components"]["schemas"]["shop.v1.Item"]["properties"];
    let json_max = item["score"]["maximum"].as_f64().unwrap();
    assert!(common::close(json_max, 3.402_823_5e38) && json_max > max);
    // Path parameters never: an empty segment does not match a variable.
    let get = &doc["paths"]["/v1/items/{id}"]["get"]["parameters"][0];
    assert_eq!(get.get("allowEmptyValue"), None);
    let blob = &doc["components"]["schemas"]["shop.v1.Item"]["properties"]["blob"];
    assert_eq!(blob["format"], json!("bytes"));
    assert!(blob["pattern"].as_str().unwrap().contains("[AQgw]=="));
}
