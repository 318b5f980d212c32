//! The `protoc-gen-rust-kratos-errors` binary: a protoc plugin (request on stdin, response on
//! stdout; `--version`).

fn main() {
    std::process::exit(kratos_codegen::plugin_main(
        &protoc_gen_rust_kratos_errors::PLUGIN,
    ));
}
