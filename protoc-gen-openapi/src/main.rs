//! `protoc-gen-openapi`: run by protoc or buf; see the crate documentation.

/// Formatting the generated code is allocation-bound: the binary uses mimalloc.
#[cfg(feature = "fast-alloc")]
#[global_allocator]
static ALLOCATOR: kratos_codegen::FastAllocator = kratos_codegen::FastAllocator;

fn main() {
    std::process::exit(kratos_codegen::plugin_main(&protoc_gen_openapi::PLUGIN));
}
