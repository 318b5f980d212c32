//! `protoc-gen-rust-kratos-validate`: run by protoc or buf; see the crate documentation.

fn main() {
    std::process::exit(kratos_codegen::plugin_main(
        &protoc_gen_rust_kratos_validate::PLUGIN,
    ));
}
