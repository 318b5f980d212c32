//! A service for the metrics tests: `metered.v1.Orders` on HTTP and gRPC, whose calls fail on
//! demand (see [`OrdersService`]), behind the middleware a Kratos service runs: recovery,
//! metrics, a timeout and validation.

use std::sync::Arc;
use std::time::Duration;

use kratos::errors::Error;
use kratos::metrics::Metrics;
use kratos::middleware::{recovery, timeout};
use kratos::{Context, grpc, http};

/// `metered.v1`.
pub mod pb {
    #![allow(missing_docs, clippy::all)]
    kratos::include_proto!("metered.v1");
}

/// The id whose lookup fails with 404 [`NOT_FOUND_REASON`].
pub const NOT_FOUND_ID: u64 = 404;
/// The id whose lookup panics.
pub const PANIC_ID: u64 = 500;
/// The id whose lookup takes longer than [`SERVER_TIMEOUT`].
pub const SLOW_ID: u64 = 504;
/// The reason of a failed lookup.
pub const NOT_FOUND_REASON: &str = "ORDER_NOT_FOUND";
/// The servers' timeout middleware's limit.
pub const SERVER_TIMEOUT: Duration = Duration::from_millis(300);

/// The orders service: `GetOrder` does what its id says ([`NOT_FOUND_ID`], [`PANIC_ID`],
/// [`SLOW_ID`], else finds the order); `CreateOrder` places any valid order.
#[derive(Debug, Default)]
pub struct OrdersService;

impl pb::Orders for OrdersService {
    async fn get_order(
        &self,
        _ctx: Context,
        request: pb::GetOrderRequest,
    ) -> Result<pb::Order, Error> {
        match request.id {
            NOT_FOUND_ID => Err(Error::new(
                404,
                NOT_FOUND_REASON,
                format!("order {} not found", request.id),
            )),
            PANIC_ID => panic!("order {PANIC_ID} makes the handler panic"),
            SLOW_ID => {
                tokio::time::sleep(SERVER_TIMEOUT * 100).await;
                Err(Error::new(500, "TOO_LATE", "the timeout should have fired"))
            }
            id => Ok(pb::Order {
                id,
                item: "book".into(),
                quantity: 1,
            }),
        }
    }

    async fn create_order(
        &self,
        _ctx: Context,
        request: pb::CreateOrderRequest,
    ) -> Result<pb::Order, Error> {
        Ok(pb::Order {
            id: 1,
            item: request.item,
            quantity: request.quantity,
        })
    }
}

/// The HTTP and gRPC servers of the orders service, listening on 127.0.0.1 (any port), with
/// recovery, `metrics`' server middleware, the [`SERVER_TIMEOUT`] and validation on both, and
/// `metrics` served at `/metrics` on HTTP.
pub fn servers(metrics: &Metrics) -> Result<(http::Server, grpc::Server), http::RouteError> {
    let chain = || {
        [
            recovery(),
            metrics.server(),
            timeout(SERVER_TIMEOUT),
            kratos::validate::middleware(),
        ]
    };
    let mut http = chain()
        .into_iter()
        .fold(http::Server::builder().address("127.0.0.1:0"), |b, m| {
            b.middleware(m)
        })
        .build();
    let mut grpc = chain()
        .into_iter()
        .fold(grpc::Server::builder().address("127.0.0.1:0"), |b, m| {
            b.middleware(m)
        })
        .build();
    let service = Arc::new(OrdersService);
    pb::register_orders_http_server(&mut http, service.clone())?;
    pb::register_orders_grpc_server(&mut grpc, service)?;
    metrics.register_http(&mut http)?;
    Ok((http, grpc))
}

/// An HTTP server that serves only `metrics` at `/metrics`: how a process that only calls
/// other services exposes its client metrics.
pub fn metrics_server(metrics: &Metrics) -> Result<http::Server, http::RouteError> {
    let mut http = http::Server::builder().address("127.0.0.1:0").build();
    metrics.register_http(&mut http)?;
    Ok(http)
}
