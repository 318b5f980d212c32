//! Fixtures shared by the golden and protoc tests.
#![allow(dead_code, missing_docs)]

use std::path::PathBuf;

use kratos_codegen::testing::workspace_dir;

/// A golden case: include dir, files to generate, parameters, and where the goldens live.
pub struct Case {
    pub name: &'static str,
    pub files: &'static [&'static str],
    pub parameter: &'static str,
}

pub const CASES: &[Case] = &[
    Case {
        name: "greeter",
        files: &["helloworld/v1/greeter.proto"],
        parameter: "",
    },
    Case {
        name: "bindings",
        files: &[
            "kratos/test/v1/bindings.proto",
            "kratos/test/v1/files.proto",
        ],
        // The build integration maps google.api.HttpBody to the runtime's type; so does this.
        parameter: "omitempty=false,omitempty_prefix=/api,\
                    extern_path=.google.api.HttpBody=::kratos::types::HttpBody",
    },
    Case {
        name: "response_body",
        files: &["replies/v1/replies.proto"],
        // The well-known types the build integration maps to the runtime's; so does this.
        parameter: "extern_path=.google.protobuf.FieldMask=::kratos::types::FieldMask,\
                    extern_path=.google.protobuf.Timestamp=::kratos::types::Timestamp,\
                    extern_path=.google.protobuf.Duration=::kratos::types::Duration",
    },
];

impl Case {
    pub fn include_dir(&self) -> PathBuf {
        workspace_dir().join("testdata/http").join(self.name)
    }

    pub fn expected_dir(&self) -> PathBuf {
        self.include_dir().join("expected")
    }
}
