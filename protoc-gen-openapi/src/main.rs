//! `protoc-gen-openapi`: run by protoc or buf; see the crate documentation.

fn main() {
    std::process::exit(kratos_codegen::plugin_main(&protoc_gen_openapi::PLUGIN));
}
