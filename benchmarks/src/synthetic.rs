//! Synthetic APIs for the generator benchmark (`benches/generators.rs`) and for timing the
//! plugins through real protoc (`synthetic-proto N > api.proto`): one file with `n` methods,
//! each with an HTTP rule, a request and a reply of about six fields (a nested message, an
//! enum, a repeated and a map field) with protoc-gen-validate rules, and one error enum.
//! The cost of every generator should grow linearly in `n`.

use std::fmt::Write as _;

/// The file name [`proto`] is meant to be compiled as.
pub const FILE_NAME: &str = "synthetic/v1/api.proto";

/// The source of a file with `n` methods (see the module documentation).
pub fn proto(n: usize) -> String {
    let mut s = String::with_capacity(1_200 * n + 1_000);
    s.push_str(
        "syntax = \"proto3\";\n\npackage synthetic.v1;\n\n\
         import \"google/api/annotations.proto\";\n\
         import \"errors/errors.proto\";\n\
         import \"validate/validate.proto\";\n\n\
         // A service with many methods.\nservice Synthetic {\n",
    );
    for i in 0..n {
        let _ = write!(
            s,
            "  // Method {i}: reads item {i}.\n  rpc Method{i}(Request{i}) returns (Reply{i}) {{\n    \
             option (google.api.http) = {{\n      post: \"/v1/items{i}/{{parent=shelves/*}}/things\"\n      \
             body: \"*\"\n      additional_bindings {{ get: \"/v1/items{i}/{{parent=shelves/*}}/things/{{page}}\" }}\n    }};\n  }}\n"
        );
    }
    s.push_str("}\n\n");
    s.push_str(
        "// The error reasons.\nenum ErrorReason {\n  option (errors.default_code) = 500;\n  \
         UNKNOWN = 0;\n  NOT_FOUND = 1 [(errors.code) = 404];\n  INVALID = 2 [(errors.code) = 400];\n}\n\n\
         // A kind of item.\nenum Kind {\n  KIND_UNSPECIFIED = 0;\n  KIND_BOOK = 1;\n  KIND_MAP = 2;\n}\n\n",
    );
    for i in 0..n {
        let _ = write!(
            s,
            "// The request of method {i}.\nmessage Request{i} {{\n  \
             string parent = 1 [(validate.rules).string = {{min_len: 1, max_len: 128}}];\n  \
             int32 page = 2 [(validate.rules).int32 = {{gte: 0, lte: 1000}}];\n  \
             Kind kind = 3 [(validate.rules).enum.defined_only = true];\n  \
             repeated string tags = 4 [(validate.rules).repeated = {{max_items: 10, items: {{string: {{min_len: 1}}}}}}];\n  \
             map<string, int64> counts = 5 [(validate.rules).map.max_pairs = 8];\n  \
             // A nested filter.\n  message Filter {{\n    string query = 1 [(validate.rules).string.max_len = 64];\n    bool exact = 2;\n  }}\n  \
             Filter filter = 6;\n}}\n\n\
             // The reply of method {i}.\nmessage Reply{i} {{\n  string name = 1;\n  int64 id = 2;\n  \
             Kind kind = 3;\n  repeated Request{i}.Filter filters = 4;\n  map<string, string> labels = 5;\n  \
             double score = 6 [(validate.rules).double = {{gte: 0, lte: 1}}];\n}}\n\n"
        );
    }
    s
}
