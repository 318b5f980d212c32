//! What each plugin costs per protoc call, in process: decoding the `CodeGeneratorRequest`,
//! generating and encoding the response (`kratos_codegen::execute`), over the synthetic API of
//! `benchmarks::synthetic` with 100 and 1,000 methods (and 5,000 with
//! `KRATOS_BENCH_SIZES=100,1000,5000`). Protoc's own parsing is not included: the request is
//! built once, with protox, before measuring.
//!
//! `cargo bench -p benchmarks --bench generators`

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use kratos_codegen::Plugin;
use prost::Message as _;
use protox::file::{
    ChainFileResolver, File, FileResolver, GoogleFileResolver, IncludeFileResolver,
};

/// Serves the synthetic file from memory and the option protos from the repository.
struct Synthetic {
    source: String,
    options: ChainFileResolver,
}

impl FileResolver for Synthetic {
    fn open_file(&self, name: &str) -> Result<File, protox::Error> {
        if name == benchmarks::synthetic::FILE_NAME {
            return File::from_source(name, &self.source);
        }
        self.options.open_file(name)
    }
}

/// A `CodeGeneratorRequest` with its files as raw bytes: decoding them into prost-types'
/// `FileDescriptorProto` would drop the extension options (`google.api.http`, `validate.rules`,
/// `errors.code`) the plugins read, and the request would have almost nothing to generate.
#[derive(Clone, PartialEq, prost::Message)]
struct RawRequest {
    #[prost(string, repeated, tag = "1")]
    file_to_generate: Vec<String>,
    #[prost(string, optional, tag = "2")]
    parameter: Option<String>,
    #[prost(bytes = "vec", repeated, tag = "15")]
    proto_file: Vec<Vec<u8>>,
}

/// The files of an encoded `FileDescriptorSet`, each still encoded.
#[derive(Clone, PartialEq, prost::Message)]
struct RawSet {
    #[prost(bytes = "vec", repeated, tag = "1")]
    file: Vec<Vec<u8>>,
}

/// The encoded `CodeGeneratorRequest` protoc would send for the synthetic API of `n` methods.
fn request(n: usize, parameter: &str) -> Vec<u8> {
    let mut options = ChainFileResolver::new();
    options.add(IncludeFileResolver::new(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../proto"),
    ));
    options.add(GoogleFileResolver::new());
    let mut compiler = protox::Compiler::with_file_resolver(Synthetic {
        source: benchmarks::synthetic::proto(n),
        options,
    });
    compiler.include_imports(true).include_source_info(true);
    compiler
        .open_file(benchmarks::synthetic::FILE_NAME)
        .unwrap();
    let set = RawSet::decode(compiler.encode_file_descriptor_set().as_slice()).unwrap();
    RawRequest {
        file_to_generate: vec![benchmarks::synthetic::FILE_NAME.to_string()],
        parameter: (!parameter.is_empty()).then(|| parameter.to_string()),
        proto_file: set.file,
    }
    .encode_to_vec()
}

fn sizes() -> Vec<usize> {
    std::env::var("KRATOS_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![100, 1_000])
}

fn generators(c: &mut Criterion) {
    let plugins: [(&Plugin, &str); 4] = [
        (&protoc_gen_rust_kratos_http::PLUGIN, ""),
        (&protoc_gen_rust_kratos_errors::PLUGIN, ""),
        (&protoc_gen_rust_kratos_validate::PLUGIN, ""),
        (&protoc_gen_openapi::PLUGIN, ""),
    ];
    let mut group = c.benchmark_group("generators");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    for n in sizes() {
        let raw = request(n, "");
        group.throughput(Throughput::Elements(n as u64));
        for (plugin, _) in plugins {
            // A response with an error, or without files, would measure nothing: check once
            // before timing.
            let (response, _) = kratos_codegen::execute(plugin, &raw);
            assert!(
                response.error.is_none(),
                "{}: {:?}",
                plugin.name,
                response.error
            );
            assert!(!response.file.is_empty(), "{}: no output", plugin.name);
            group.bench_with_input(BenchmarkId::new(plugin.name, n), &raw, |b, raw| {
                b.iter(|| kratos_codegen::execute(plugin, raw))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, generators);
criterion_main!(benches);
