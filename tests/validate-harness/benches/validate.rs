//! Generated validation vs reflection-based validation (prost-reflect-validate 0.2, the
//! protoc-gen-validate rules read from descriptors at run time), on the same messages in the
//! same run. Each message is decoded once, outside the measurement; only `validate()` is timed.
//!
//! `cargo bench -p validate-harness --bench validate`
#![allow(missing_docs)]

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use kratos::validate::Validate;
use prost_reflect::{DescriptorPool, DynamicMessage};
use validate_harness::tests::harness::cases;

fn pool() -> DescriptorPool {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut compiler = match protox::Compiler::new([root.join("testdata/pgv"), root.join("proto")])
    {
        Ok(c) => c,
        Err(e) => panic!("protox: {e}"),
    };
    compiler.include_imports(true);
    for file in [
        "tests/harness/cases/kitchen_sink.proto",
        "tests/harness/cases/strings.proto",
        "tests/harness/cases/repeated.proto",
        "tests/harness/cases/maps.proto",
    ] {
        if let Err(e) = compiler.open_file(file) {
            panic!("{file}: {e}");
        }
    }
    match DescriptorPool::decode(compiler.encode_file_descriptor_set().as_slice()) {
        Ok(p) => p,
        Err(e) => panic!("pool: {e}"),
    }
}

fn bench_case<T: Validate + prost::Message + Default>(
    c: &mut Criterion,
    pool: &DescriptorPool,
    name: &str,
    full_name: &str,
    message: &T,
) {
    let bytes = message.encode_to_vec();
    let Some(desc) = pool.get_message_by_name(full_name) else {
        panic!("{full_name} is not in the pool");
    };
    let dynamic = match DynamicMessage::decode(desc, bytes.as_slice()) {
        Ok(d) => d,
        Err(e) => panic!("{full_name}: {e}"),
    };
    // Warm up the reflection validator's registry and check both agree on the verdict.
    let ours = message.validate().is_ok();
    let theirs = prost_reflect_validate::validate(&dynamic).is_ok();
    assert_eq!(ours, theirs, "{name}: the validators disagree");
    let mut group = c.benchmark_group(name);
    group.bench_function("generated", |b| {
        b.iter(|| black_box(message).validate().is_ok())
    });
    group.bench_function("prost-reflect-validate", |b| {
        b.iter(|| prost_reflect_validate::validate(black_box(&dynamic)).is_ok())
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    let pool = pool();
    bench_case(
        c,
        &pool,
        "string_email_valid",
        "tests.harness.cases.StringEmail",
        &cases::StringEmail {
            val: "gopher@example.com".into(),
        },
    );
    bench_case(
        c,
        &pool,
        "string_pattern_valid",
        "tests.harness.cases.StringPattern",
        &cases::StringPattern {
            val: "Foo123".into(),
        },
    );
    bench_case(
        c,
        &pool,
        "repeated_unique_valid",
        "tests.harness.cases.RepeatedUnique",
        &cases::RepeatedUnique {
            val: ["foo", "bar", "baz", "qux", "quux"]
                .map(String::from)
                .to_vec(),
        },
    );
    bench_case(
        c,
        &pool,
        "map_values_valid",
        "tests.harness.cases.MapValues",
        &cases::MapValues {
            val: [("a", "Alpha"), ("b", "Beta"), ("c", "Gamma")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        },
    );
    let mut complex = cases::ComplexTestMsg {
        r#const: "abcd".into(),
        int_const: 5,
        bool_const: false,
        float_val: Some(Default::default()),
        dur_val: Some(Default::default()),
        ts_val: Some(Default::default()),
        float_const: 7.0,
        double_in: 123.0,
        enum_const: cases::ComplexTestEnum::ComplexTwo as i32,
        any_val: Some(Default::default()),
        rep_ts_val: vec![Default::default()],
        map_val: [(-1, "a".to_string())].into_iter().collect(),
        bytes_val: vec![0x00, 0x99],
        o: Some(cases::complex_test_msg::O::X("x".into())),
        ..Default::default()
    };
    if let Some(v) = &mut complex.float_val {
        v.value = 1.0;
    }
    if let Some(v) = &mut complex.dur_val {
        v.seconds = 3;
    }
    if let Some(v) = &mut complex.ts_val {
        v.seconds = 17;
    }
    if let Some(v) = &mut complex.any_val {
        v.type_url = "type.googleapis.com/google.protobuf.Duration".into();
    }
    complex.rep_ts_val[0].seconds = 1;
    let kitchen = cases::KitchenSinkMessage { val: Some(complex) };
    bench_case(
        c,
        &pool,
        "kitchen_sink_valid",
        "tests.harness.cases.KitchenSinkMessage",
        &kitchen,
    );
    let invalid = cases::KitchenSinkMessage {
        val: Some(cases::ComplexTestMsg::default()),
    };
    bench_case(
        c,
        &pool,
        "kitchen_sink_invalid",
        "tests.harness.cases.KitchenSinkMessage",
        &invalid,
    );
}

criterion_group!(validate, benches);
criterion_main!(validate);
