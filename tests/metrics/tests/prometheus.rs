//! Kratos' request metrics end to end: the orders service on HTTP and gRPC, called through the
//! typed HTTP client and a gRPC channel that record client metrics, with every kind of failure
//! (binding, validation, a handler's error, a panic, a timeout). `/metrics` passes
//! `promtool check metrics`, and a real Prometheus server scraping both processes' `/metrics`
//! answers its HTTP API with exactly the calls made, under Kratos' names and labels.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;

use kratos::errors::Error;
use kratos::metrics::Metrics;
use kratos::transport::Server as _;
use metrics_tests::pb::orders_client::OrdersClient;
use metrics_tests::pb::{self, CreateOrderRequest, GetOrderRequest};
use metrics_tests::{NOT_FOUND_ID, NOT_FOUND_REASON, PANIC_ID, SLOW_ID};
use support::{Prometheus, Series, get, promtool_check};

const GET_ORDER: &str = pb::OPERATION_ORDERS_GET_ORDER;
const CREATE_ORDER: &str = pb::OPERATION_ORDERS_CREATE_ORDER;

/// `(kind, operation, code, reason)`.
type Key = (String, String, String, String);

fn key(kind: &str, operation: &str, code: i32, reason: &str) -> Key {
    (
        kind.into(),
        operation.into(),
        code.to_string(),
        reason.into(),
    )
}

/// A counter query's answer by `(kind, operation, code, reason)`; Prometheus drops empty
/// labels, so a missing reason is the empty one.
fn by_key(series: &[Series]) -> BTreeMap<Key, f64> {
    let label = |labels: &BTreeMap<String, String>, name: &str| {
        labels.get(name).cloned().unwrap_or_default()
    };
    series
        .iter()
        .map(|(labels, value)| {
            let k = (
                label(labels, "kind"),
                label(labels, "operation"),
                label(labels, "code"),
                label(labels, "reason"),
            );
            (k, *value)
        })
        .collect()
}

fn code_reason(err: &Error) -> (i32, &str) {
    (err.code(), err.reason())
}

/// Makes the calls of one round over both transports, checks what each caller got, and
/// returns the calls made by `(kind, operation, code, reason)`: what the servers and the
/// clients must both have counted.
async fn call_everything(
    orders: &pb::OrdersHttpClient,
    raw: &kratos::http::Client,
    grpc: &mut OrdersClient<kratos::grpc::ClientChannel>,
) -> BTreeMap<Key, f64> {
    let mut made: BTreeMap<Key, f64> = BTreeMap::new();
    let mut count = |k: Key| *made.entry(k).or_default() += 1.0;

    // HTTP.
    for _ in 0..3 {
        orders.get_order(&GetOrderRequest { id: 1 }).await.unwrap();
        count(key("http", GET_ORDER, 200, ""));
    }
    for _ in 0..2 {
        let err = orders
            .get_order(&GetOrderRequest { id: NOT_FOUND_ID })
            .await
            .unwrap_err();
        assert_eq!(code_reason(&err), (404, NOT_FOUND_REASON));
        count(key("http", GET_ORDER, 404, NOT_FOUND_REASON));
    }
    let err = orders
        .get_order(&GetOrderRequest { id: PANIC_ID })
        .await
        .unwrap_err();
    assert_eq!(code_reason(&err), (500, "UNKNOWN"));
    count(key("http", GET_ORDER, 500, "UNKNOWN"));
    let err = orders
        .get_order(&GetOrderRequest { id: SLOW_ID })
        .await
        .unwrap_err();
    assert_eq!(code_reason(&err), (504, "TIMEOUT"));
    count(key("http", GET_ORDER, 504, "TIMEOUT"));
    // A path variable that is not a uint64: a binding error.
    for _ in 0..2 {
        let err = raw
            .invoke(GET_ORDER, http::Method::GET, "/v1/orders/abc", None)
            .await
            .unwrap_err();
        assert_eq!(code_reason(&err), (400, kratos::codec::CODEC_REASON));
        count(key("http", GET_ORDER, 400, kratos::codec::CODEC_REASON));
    }
    for _ in 0..2 {
        let err = orders
            .create_order(&CreateOrderRequest {
                item: "pen".into(),
                quantity: 0,
            })
            .await
            .unwrap_err();
        assert_eq!(code_reason(&err), (400, "VALIDATOR"));
        count(key("http", CREATE_ORDER, 400, "VALIDATOR"));
    }
    orders
        .create_order(&CreateOrderRequest {
            item: "pen".into(),
            quantity: 2,
        })
        .await
        .unwrap();
    count(key("http", CREATE_ORDER, 200, ""));

    // gRPC.
    for _ in 0..2 {
        grpc.get_order(GetOrderRequest { id: 7 }).await.unwrap();
        count(key("grpc", GET_ORDER, 200, ""));
    }
    for (id, code, reason) in [
        (NOT_FOUND_ID, 404, NOT_FOUND_REASON),
        (PANIC_ID, 500, "UNKNOWN"),
        (SLOW_ID, 504, "TIMEOUT"),
    ] {
        let status = grpc.get_order(GetOrderRequest { id }).await.unwrap_err();
        assert_eq!(code_reason(&Error::from(status)), (code, reason));
        count(key("grpc", GET_ORDER, code, reason));
    }
    let status = grpc
        .create_order(CreateOrderRequest {
            item: "pen".into(),
            quantity: 101,
        })
        .await
        .unwrap_err();
    assert_eq!(code_reason(&Error::from(status)), (400, "VALIDATOR"));
    count(key("grpc", CREATE_ORDER, 400, "VALIDATOR"));
    made
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_kratos_metrics_from_servers_and_clients() {
    // The service's process and its caller's, each with its own metrics.
    let service = Metrics::new();
    let caller = Metrics::new();
    let (mut http, mut grpc) = metrics_tests::servers(&service).unwrap();
    let http_addr = http.start().await.unwrap();
    let grpc_addr = grpc.start().await.unwrap();
    let mut caller_http = metrics_tests::metrics_server(&caller).unwrap();
    let caller_addr = caller_http.start().await.unwrap();

    let raw = kratos::http::Client::builder(http_addr.to_string())
        .middleware(caller.client())
        .build()
        .unwrap();
    let orders = pb::OrdersHttpClient::new(raw.clone());
    let channel = kratos::grpc::ChannelBuilder::new(grpc_addr.to_string())
        .middleware(caller.client())
        .build()
        .unwrap();
    let mut grpc_orders = OrdersClient::new(channel);
    let mut expected = call_everything(&orders, &raw, &mut grpc_orders).await;

    // The exposition: Prometheus' text format, clean for promtool, Kratos' buckets.
    for (name, address) in [("service", http_addr), ("caller", caller_addr)] {
        let client = kratos::http::Client::builder(address.to_string())
            .build()
            .unwrap();
        let reply = client
            .send_body(http::Method::GET, "/metrics", None)
            .await
            .unwrap();
        let content_type = reply.content_type.as_ref().map(|v| v.to_str().unwrap());
        assert_eq!(content_type, Some(kratos::metrics::CONTENT_TYPE), "{name}");
        let text = String::from_utf8(reply.body.to_vec()).unwrap();
        let (clean, report) = promtool_check(&text).await;
        assert!(clean, "{name}: promtool check metrics: {report}\n{text}");
        assert!(report.trim().is_empty(), "{name}: {report}");
    }

    let prometheus = Prometheus::start(&[("service", http_addr), ("caller", caller_addr)]).await;
    let total: f64 = expected.values().sum();
    let sum_is = |want: f64| move |s: &[Series]| s.first().is_some_and(|(_, v)| *v == want);
    prometheus
        .query_until(
            r#"sum(server_requests_code_total{job="service"})"#,
            sum_is(total),
        )
        .await;
    prometheus
        .query_until(
            r#"sum(client_requests_code_total{job="caller"})"#,
            sum_is(total),
        )
        .await;
    let server = by_key(
        &prometheus
            .query(r#"server_requests_code_total{job="service"}"#)
            .await,
    );
    assert_eq!(server, expected, "server counters");
    let client = by_key(
        &prometheus
            .query(r#"client_requests_code_total{job="caller"}"#)
            .await,
    );
    assert_eq!(client, expected, "client counters");

    // Each process has only its side's metrics.
    assert!(
        prometheus
            .query(r#"{job="service",__name__=~"client_.*"}"#)
            .await
            .is_empty()
    );
    assert!(
        prometheus
            .query(r#"{job="caller",__name__=~"server_.*"}"#)
            .await
            .is_empty()
    );

    // The histograms: one observation per call, in Kratos' buckets; the calls that ran into
    // the 300 ms timeout are above 0.25 s.
    for (job, side) in [("service", "server"), ("caller", "client")] {
        let counts = prometheus
            .query(&format!(
                r#"sum by (kind, operation) ({side}_requests_seconds_count{{job="{job}"}})"#
            ))
            .await;
        assert_eq!(counts.len(), 4, "{counts:?}");
        for (labels, value) in &counts {
            let calls: f64 = expected
                .iter()
                .filter(|(k, _)| k.0 == labels["kind"] && k.1 == labels["operation"])
                .map(|(_, v)| v)
                .sum();
            assert_eq!(*value, calls, "{side} {labels:?}");
        }
        let les = prometheus
            .query(&format!(
                r#"count by (le) ({side}_requests_seconds_bucket{{job="{job}"}})"#
            ))
            .await;
        let mut les: Vec<f64> = les
            .iter()
            .map(|(l, _)| l["le"].replace("+Inf", "inf").parse().unwrap())
            .collect();
        les.sort_by(f64::total_cmp);
        let mut kratos_buckets = kratos::metrics::BUCKETS.to_vec();
        kratos_buckets.push(f64::INFINITY);
        assert_eq!(les, kratos_buckets, "{side}");
        for kind in ["http", "grpc"] {
            let slow = prometheus
                .query(&format!(
                    r#"{side}_requests_seconds_bucket{{job="{job}",kind="{kind}",operation="{GET_ORDER}",le="+Inf"}} - ignoring(le) {side}_requests_seconds_bucket{{job="{job}",kind="{kind}",operation="{GET_ORDER}",le="0.25"}}"#
                ))
                .await;
            assert!(
                slow.first().is_some_and(|(_, v)| *v >= 1.0),
                "{side} {kind}: {slow:?}"
            );
        }
    }

    // More calls: the next scrapes see them.
    for _ in 0..2 {
        orders.get_order(&GetOrderRequest { id: 2 }).await.unwrap();
    }
    *expected.get_mut(&key("http", GET_ORDER, 200, "")).unwrap() += 2.0;
    let want = expected[&key("http", GET_ORDER, 200, "")];
    prometheus
        .query_until(
            &format!(
                r#"server_requests_code_total{{job="service",kind="http",operation="{GET_ORDER}",code="200"}}"#
            ),
            sum_is(want),
        )
        .await;

    http.stop().await.unwrap();
    grpc.stop().await.unwrap();
    caller_http.stop().await.unwrap();
}

#[tokio::test]
async fn two_services_in_one_process_have_separate_metrics() {
    let (first, second) = (Metrics::new(), Metrics::new());
    let (mut http1, mut grpc1) = metrics_tests::servers(&first).unwrap();
    let (mut http2, mut grpc2) = metrics_tests::servers(&second).unwrap();
    let addr1 = http1.start().await.unwrap();
    let addr2 = http2.start().await.unwrap();
    grpc1.start().await.unwrap();
    grpc2.start().await.unwrap();

    for (addr, calls) in [(addr1, 3), (addr2, 1)] {
        let orders = pb::OrdersHttpClient::new(
            kratos::http::Client::builder(addr.to_string())
                .build()
                .unwrap(),
        );
        for _ in 0..calls {
            orders.get_order(&GetOrderRequest { id: 1 }).await.unwrap();
        }
    }
    let line = format!(
        r#"server_requests_code_total{{kind="http",operation="{GET_ORDER}",code="200",reason=""}} "#
    );
    for (addr, calls) in [(addr1, "3"), (addr2, "1")] {
        let (status, body) = get(addr, "/metrics").await.unwrap();
        assert_eq!(status, 200);
        let text = String::from_utf8(body.to_vec()).unwrap();
        let value = text.lines().find_map(|l| l.strip_prefix(&line));
        assert_eq!(value, Some(calls), "{addr}: {text}");
        // /metrics itself is outside the middleware: scraping is not counted.
        assert!(!text.contains("/metrics"), "{text}");
    }
    for server in [&mut http1, &mut http2] {
        server.stop().await.unwrap();
    }
    for server in [&mut grpc1, &mut grpc2] {
        server.stop().await.unwrap();
    }
}
