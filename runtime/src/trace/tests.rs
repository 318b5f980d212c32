#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use super::*;

fn settings(vars: &[(&'static str, &str)], fallback: &str) -> Result<Option<Settings>, TraceError> {
    let vars: HashMap<&'static str, String> =
        vars.iter().map(|(k, v)| (*k, v.to_string())).collect();
    Settings::from_lookup(|k| vars.get(k).cloned(), fallback)
}

#[test]
fn no_endpoint_means_no_export() {
    assert!(settings(&[], "svc").unwrap().is_none());
    assert!(
        settings(&[(SAMPLER, "always_on")], "svc")
            .unwrap()
            .is_none()
    );
}

#[test]
fn endpoints_follow_the_protocol() {
    let s = settings(&[(ENDPOINT, "http://collector:4318/")], "")
        .unwrap()
        .unwrap();
    assert_eq!(s.protocol(), Protocol::HttpProtobuf);
    assert_eq!(s.endpoint(), "http://collector:4318/v1/traces");
    let s = settings(
        &[(ENDPOINT, "http://collector:4317"), (PROTOCOL, "grpc")],
        "",
    )
    .unwrap()
    .unwrap();
    assert_eq!(s.protocol(), Protocol::Grpc);
    assert_eq!(s.endpoint(), "http://collector:4317");
    // The per-signal variables win and are used as they are.
    let s = settings(
        &[
            (ENDPOINT, "http://a:1"),
            (TRACES_ENDPOINT, "http://b:2/custom"),
            (PROTOCOL, "grpc"),
            (TRACES_PROTOCOL, "http/protobuf"),
        ],
        "",
    )
    .unwrap()
    .unwrap();
    assert_eq!(s.protocol(), Protocol::HttpProtobuf);
    assert_eq!(s.endpoint(), "http://b:2/custom");
    let err = settings(&[(ENDPOINT, "http://a:1"), (PROTOCOL, "http/json")], "").unwrap_err();
    assert!(
        err.to_string().contains("OTEL_EXPORTER_OTLP_PROTOCOL"),
        "{err}"
    );
}

#[test]
fn service_name_sampler_and_delay() {
    let base = (ENDPOINT, "http://a:1");
    let s = settings(&[base], "fallback").unwrap().unwrap();
    assert_eq!(s.service_name.as_deref(), Some("fallback"));
    assert_eq!(s.sampler, SamplerSetting::ParentBasedAlwaysOn);
    assert_eq!(s.schedule_delay, None);
    let s = settings(&[base, (SERVICE_NAME, "env-name")], "fallback")
        .unwrap()
        .unwrap();
    assert_eq!(s.service_name.as_deref(), Some("env-name"));
    assert_eq!(settings(&[base], "").unwrap().unwrap().service_name, None);
    for (name, arg, expected) in [
        ("always_on", None, SamplerSetting::AlwaysOn),
        ("always_off", None, SamplerSetting::AlwaysOff),
        ("traceidratio", Some("0.25"), SamplerSetting::Ratio(0.25)),
        ("traceidratio", None, SamplerSetting::Ratio(1.0)),
        (
            "parentbased_always_on",
            None,
            SamplerSetting::ParentBasedAlwaysOn,
        ),
        (
            "parentbased_always_off",
            None,
            SamplerSetting::ParentBasedAlwaysOff,
        ),
        (
            "parentbased_traceidratio",
            Some("0"),
            SamplerSetting::ParentBasedRatio(0.0),
        ),
    ] {
        let mut vars = vec![base, (SAMPLER, name)];
        if let Some(arg) = arg {
            vars.push((SAMPLER_ARG, arg));
        }
        assert_eq!(
            settings(&vars, "").unwrap().unwrap().sampler,
            expected,
            "{name}"
        );
    }
    for (var, value) in [
        (SAMPLER, "sometimes"),
        (SAMPLER_ARG, "1.5"),
        (SAMPLER_ARG, "half"),
        (SCHEDULE_DELAY, "5s"),
    ] {
        let err = settings(&[base, (var, value)], "").unwrap_err();
        assert!(err.to_string().starts_with(var), "{err}");
    }
    let s = settings(&[base, (SCHEDULE_DELAY, "250")], "")
        .unwrap()
        .unwrap();
    assert_eq!(s.schedule_delay, Some(Duration::from_millis(250)));
}
