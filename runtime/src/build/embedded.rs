//! The option protos of this repository, always importable by the build integration.

use protox::file::{File, FileResolver};

/// `(import name, source)` of each option proto.
pub(crate) const FILES: &[(&str, &str)] = &[
    (
        "google/api/annotations.proto",
        include_str!("../../proto/google/api/annotations.proto"),
    ),
    (
        "google/api/http.proto",
        include_str!("../../proto/google/api/http.proto"),
    ),
    (
        "google/api/httpbody.proto",
        include_str!("../../proto/google/api/httpbody.proto"),
    ),
    (
        "google/api/field_behavior.proto",
        include_str!("../../proto/google/api/field_behavior.proto"),
    ),
    (
        "errors/errors.proto",
        include_str!("../../proto/errors/errors.proto"),
    ),
    (
        "validate/validate.proto",
        include_str!("../../proto/validate/validate.proto"),
    ),
    (
        "openapiv3/annotations.proto",
        include_str!("../../proto/openapiv3/annotations.proto"),
    ),
    (
        "openapiv3/OpenAPIv3.proto",
        include_str!("../../proto/openapiv3/OpenAPIv3.proto"),
    ),
];

/// Resolves the option protos by import name.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OptionProtos;

impl FileResolver for OptionProtos {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        match FILES.iter().find(|(n, _)| *n == name) {
            Some((n, source)) => File::from_source(n, source),
            None => Err(protox::Error::file_not_found(name)),
        }
    }
}
