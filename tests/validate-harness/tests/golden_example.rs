//! The plugin's golden fixture (`testdata/validate/basic`) compiled and run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use kratos::validate::Validate as _;
use validate_harness::example::v1::{self as pb, CreateUserRequest, create_user_request};

fn valid() -> CreateUserRequest {
    let mut r = CreateUserRequest {
        name: "gopher_1".into(),
        email: "Gopher <gopher@example.com>".into(),
        age: 30,
        tags: vec!["a".into(), "b".into()],
        quotas: [("cpu".to_string(), 2)].into_iter().collect(),
        address: Some(create_user_request::Address {
            city: "Zürich".into(),
        }),
        ttl: Some(Default::default()),
        birthday: Some(Default::default()),
        nickname: Some(pbjson_types::StringValue { value: "go".into() }),
        role: pb::Role::Admin as i32,
        avatar: vec![],
        score: Some(0.5),
        contact: Some(create_user_request::Contact::Phone("+41000".into())),
    };
    if let Some(ttl) = &mut r.ttl {
        ttl.seconds = 60;
    }
    r
}

#[test]
fn a_valid_request_passes() {
    assert_eq!(valid().validate(), Ok(()));
    assert_eq!(valid().validate_all(), Ok(()));
}

#[test]
fn every_violation_is_reported_in_go_order() {
    let mut r = valid();
    r.name = "née".into(); // \w is ASCII, as in Go
    r.age = 150;
    r.tags = vec!["a".into(), "a".into()];
    r.quotas.insert("mem".into(), -1);
    r.address = Some(create_user_request::Address::default());
    if let Some(ttl) = &mut r.ttl {
        ttl.seconds = 0;
    }
    if let Some(birthday) = &mut r.birthday {
        birthday.seconds = 4_102_444_800;
    }
    r.role = 7;
    r.score = Some(1.5);
    r.contact = None;
    let all: Vec<String> = r
        .validate_all()
        .unwrap_err()
        .into_iter()
        .map(|e| e.message)
        .collect();
    assert_eq!(
        all,
        [
            "invalid CreateUserRequest.Name: value does not match regex pattern \"^\\\\w+$\"",
            "invalid CreateUserRequest.Age: value must be inside range [18, 150)",
            "invalid CreateUserRequest.Tags[1]: repeated value must contain unique items",
            "invalid CreateUserRequest.Quotas[mem]: value must be greater than or equal to 0",
            "invalid CreateUserRequest.Address: embedded message failed validation | caused by: invalid CreateUserRequest_Address.City: value length must be at least 1 runes",
            "invalid CreateUserRequest.Ttl: value must be inside range (0s, 1h0m0s]",
            "invalid CreateUserRequest.Birthday: value must be less than now",
            "invalid CreateUserRequest.Role: value must be one of the defined enum values",
            "invalid CreateUserRequest.Contact: value is required",
            "invalid CreateUserRequest.Score: value must be inside range [0, 1]",
        ]
    );
    assert_eq!(r.validate().unwrap_err().message, all[0]);
    let fields: Vec<String> = r
        .validate_all()
        .unwrap_err()
        .into_iter()
        .map(|e| e.field)
        .collect();
    assert_eq!(fields[2], "tags[1]");
    assert_eq!(fields[4], "address.city");
}

#[test]
fn disabled_messages_always_pass() {
    assert_eq!(pb::Disabled::default().validate(), Ok(()));
}
