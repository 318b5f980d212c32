//! A client's own timeout is what its middleware see: the HTTP client and a gRPC channel whose
//! timeout runs out before the server answers fail the call with 504 `TIMEOUT`, and their
//! client metrics count that call with that code and reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use kratos::errors::Error;
use kratos::metrics::Metrics;
use kratos::transport::Server as _;
use metrics_tests::pb::orders_client::OrdersClient;
use metrics_tests::pb::{self, GetOrderRequest};
use metrics_tests::{SERVER_TIMEOUT, SLOW_ID};

/// Well under the server's timeout, so the client's runs out first.
const CLIENT_TIMEOUT: Duration = Duration::from_millis(100);

fn count(metrics: &Metrics, kind: &str, code: &str, reason: &str) -> Option<String> {
    let line = format!(
        r#"client_requests_code_total{{kind="{kind}",operation="{}",code="{code}",reason="{reason}"}} "#,
        pb::OPERATION_ORDERS_GET_ORDER
    );
    metrics
        .render()
        .lines()
        .find_map(|l| l.strip_prefix(line.as_str()).map(str::to_string))
}

#[tokio::test]
async fn client_timeouts_are_counted_as_the_caller_sees_them() {
    assert!(CLIENT_TIMEOUT * 2 < SERVER_TIMEOUT);
    let (mut http, mut grpc) = metrics_tests::servers(&Metrics::new()).unwrap();
    let http_addr = http.start().await.unwrap();
    let grpc_addr = grpc.start().await.unwrap();
    let caller = Metrics::new();

    let orders = pb::OrdersHttpClient::new(
        kratos::http::Client::builder(http_addr.to_string())
            .timeout(CLIENT_TIMEOUT)
            .middleware(caller.client())
            .build()
            .unwrap(),
    );
    let err = orders
        .get_order(&GetOrderRequest { id: SLOW_ID })
        .await
        .unwrap_err();
    assert_eq!((err.code(), err.reason()), (504, "TIMEOUT"), "{err}");
    assert!(err.message().contains("100ms"), "{err}");
    assert_eq!(
        count(&caller, "http", "504", "TIMEOUT").as_deref(),
        Some("1")
    );
    // A call within the timeout still succeeds through the same client.
    orders.get_order(&GetOrderRequest { id: 1 }).await.unwrap();
    assert_eq!(count(&caller, "http", "200", "").as_deref(), Some("1"));

    let channel = kratos::grpc::ChannelBuilder::new(grpc_addr.to_string())
        .timeout(CLIENT_TIMEOUT)
        .middleware(caller.client())
        .build()
        .unwrap();
    let mut client = OrdersClient::new(channel);
    let status = client
        .get_order(GetOrderRequest { id: SLOW_ID })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::DeadlineExceeded, "{status:?}");
    let err = Error::from(status);
    assert_eq!(err.reason(), "TIMEOUT");
    assert_eq!(
        count(&caller, "grpc", "504", "TIMEOUT").as_deref(),
        Some("1")
    );
    client.get_order(GetOrderRequest { id: 1 }).await.unwrap();
    assert_eq!(count(&caller, "grpc", "200", "").as_deref(), Some("1"));

    http.stop().await.unwrap();
    grpc.stop().await.unwrap();
}
