//! Metrics (feature `metrics`): Kratos' request metrics on servers and clients, served in the
//! Prometheus text format.
//!
//! A [`Metrics`] owns a Prometheus registry holding Kratos' four instruments, under Kratos'
//! names and labels so that dashboards built for Go Kratos services work unchanged:
//!
//! | metric | type | labels |
//! | --- | --- | --- |
//! | `server_requests_code_total` | counter | `kind`, `operation`, `code`, `reason` |
//! | `server_requests_seconds` | histogram ([`BUCKETS`]) | `kind`, `operation` |
//! | `client_requests_code_total` | counter | `kind`, `operation`, `code`, `reason` |
//! | `client_requests_seconds` | histogram ([`BUCKETS`]) | `kind`, `operation` |
//!
//! `kind` is the transport (`http` or `grpc`), `operation` the call's `/package.Service/Method`,
//! `code` the Kratos code of the outcome (200 on success, else the error's code, such as 400
//! for a request that could not be bound or failed validation) and `reason` the error's reason
//! (empty on success). The histograms count seconds from the moment the middleware is entered
//! until the call's outcome is known.
//!
//! [`Metrics::server`] and [`Metrics::client`] are the middleware that record calls;
//! [`Metrics::register_http`] serves `GET /metrics` on an HTTP server, outside any middleware.
//! Each `Metrics` is independent: two applications in one process (or two tests) each create
//! their own and never see each other's counts. There is no global registry.
//!
//! ```no_run
//! # fn demo() -> Result<(), kratos::http::RouteError> {
//! let metrics = kratos::metrics::Metrics::new();
//! let mut http = kratos::http::Server::builder()
//!     .middleware(metrics.server())
//!     .build();
//! let grpc = kratos::grpc::Server::builder().middleware(metrics.server()).build();
//! metrics.register_http(&mut http)?; // GET /metrics
//! # let _ = grpc;
//! # Ok(())
//! # }
//! ```

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, PoisonError, RwLock};
use std::task::{Context as TaskContext, Poll};
use tokio::time::Instant;

use bytes::Bytes;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::context::{Context, Kind, Side};
use crate::errors::Error;
use crate::middleware::{BoxFuture, Handler, Message, Middleware, recovered_error};

/// The `prometheus-client` crate this module is built on, for registering an application's
/// own metrics through [`Metrics::with_registry`].
pub use prometheus_client;

/// The upper bounds (seconds) of the request duration histograms' buckets: Kratos' list
/// (the `+Inf` bucket is implicit).
pub const BUCKETS: [f64; 8] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

/// The `Content-Type` of `/metrics`: the Prometheus text format, version 0.0.4.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// The code a call is counted with when it is dropped before it finishes: the client went
/// away, the connection was cut, or the caller stopped waiting. It is Kratos' code for gRPC's
/// `Cancelled`.
pub const CANCELLED_CODE: i32 = 499;
/// The reason a call dropped before it finishes is counted with.
pub const CANCELLED_REASON: &str = "CANCELLED";

/// Kratos' request metrics and the registry that holds them. Cheap to clone; clones share the
/// same registry and counts.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: RwLock<Registry>,
    server: Instruments,
    client: Instruments,
    reasons: Reasons,
}

/// The counter and histogram of one side (server or client).
struct Instruments {
    requests: Family<CodeLabels, Counter>,
    seconds: Family<OperationLabels, Histogram, fn() -> Histogram>,
}

impl Instruments {
    fn new(registry: &mut Registry, side: &str) -> Self {
        let requests = Family::<CodeLabels, Counter>::default();
        let seconds =
            Family::<OperationLabels, Histogram, fn() -> Histogram>::new_with_constructor(|| {
                Histogram::new(BUCKETS)
            });
        // prometheus-client adds `_total` to a counter's name.
        registry.register(
            format!("{side}_requests_code"),
            format!("The total number of processed {side} requests, by outcome"),
            requests.clone(),
        );
        registry.register(
            format!("{side}_requests_seconds"),
            format!("The duration of {side} requests in seconds"),
            seconds.clone(),
        );
        Instruments { requests, seconds }
    }
}

/// The labels of the request counters. Only the reason is not `'static`; it is interned (see
/// [`Reasons`]) so that counting a call allocates nothing once its reason has been seen.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabels {
    kind: &'static str,
    operation: &'static str,
    code: i32,
    reason: Reason,
}

/// The labels of the duration histograms.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    kind: &'static str,
    operation: &'static str,
}

/// An error reason as a label value: shared, so cloning it never allocates.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
struct Reason(Arc<str>);

impl EncodeLabelValue for Reason {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        EncodeLabelValue::encode(&&*self.0, encoder)
    }
}

/// The reasons seen so far, each stored once. The set grows with the distinct reasons a
/// service answers with, as the counter family itself does (one series per reason).
struct Reasons {
    empty: Reason,
    seen: RwLock<HashSet<Arc<str>>>,
}

impl Reasons {
    fn new() -> Self {
        Reasons {
            empty: Reason(Arc::from("")),
            seen: RwLock::default(),
        }
    }

    fn get(&self, reason: &str) -> Reason {
        if reason.is_empty() {
            return self.empty.clone();
        }
        if let Some(r) = self
            .seen
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(reason)
        {
            return Reason(r.clone());
        }
        let mut seen = self.seen.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(r) = seen.get(reason) {
            return Reason(r.clone());
        }
        let r: Arc<str> = Arc::from(reason);
        seen.insert(r.clone());
        Reason(r)
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A new registry with Kratos' four instruments, all empty.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let server = Instruments::new(&mut registry, "server");
        let client = Instruments::new(&mut registry, "client");
        Metrics {
            inner: Arc::new(Inner {
                registry: RwLock::new(registry),
                server,
                client,
                reasons: Reasons::new(),
            }),
        }
    }

    /// The server middleware (Kratos' `metrics.Server()`): counts each server call in
    /// `server_requests_code_total` and observes its duration in `server_requests_seconds`.
    /// Client calls pass through unrecorded. Install it outermost (first) to observe what the
    /// middleware after it do, such as a timeout's 504 or a rate limiter's 429.
    pub fn server(&self) -> Middleware {
        self.middleware(Side::Server)
    }

    /// The client middleware (Kratos' `metrics.Client()`), for
    /// [`crate::http::ClientBuilder::middleware`] and
    /// [`crate::grpc::ChannelBuilder::middleware`]: counts each client call in
    /// `client_requests_code_total` and observes its duration in `client_requests_seconds`.
    /// Server calls pass through unrecorded. On a gRPC channel a call's outcome is known when
    /// the reply's head arrives: a status in that head (how a server answers a call that fails
    /// before sending a message) is the call's code and reason, see
    /// [`crate::grpc::reply_error`].
    pub fn client(&self) -> Middleware {
        self.middleware(Side::Client)
    }

    fn middleware(&self, side: Side) -> Middleware {
        let metrics = self.clone();
        Middleware::new(move |next: Handler| {
            let metrics = metrics.clone();
            Handler::from_fn(move |ctx: Context, req| {
                if ctx.side() != side {
                    return next.call(ctx, req);
                }
                let mut call = Some(Call {
                    metrics: metrics.clone(),
                    side,
                    kind: ctx.kind(),
                    operation: ctx.operation(),
                    start: Instant::now(),
                });
                // Middleware may do work (and panic) when called, before their future runs.
                let inner = {
                    let _probe = PanicProbe(&mut call);
                    next.call(ctx, req)
                };
                Box::pin(Observed { inner, call })
            })
        })
    }

    /// Serves `GET /metrics` on `server`, outside the middleware chain.
    pub fn register_http(
        &self,
        server: &mut crate::http::Server,
    ) -> Result<(), crate::http::RouteError> {
        self.register_http_at(server, "/metrics")
    }

    /// Serves the metrics at `GET <path>` on `server`, outside the middleware chain.
    pub fn register_http_at(
        &self,
        server: &mut crate::http::Server,
        path: &'static str,
    ) -> Result<(), crate::http::RouteError> {
        let metrics = self.clone();
        server.handle("GET", path, move |_, _| {
            let body = metrics.render();
            async move {
                let mut response = http::Response::new(Bytes::from(body));
                response.headers_mut().insert(
                    http::header::CONTENT_TYPE,
                    http::HeaderValue::from_static(CONTENT_TYPE),
                );
                response
            }
        })
    }

    /// Every metric of the registry in the Prometheus text format (version 0.0.4), as
    /// `/metrics` serves it.
    pub fn render(&self) -> String {
        let registry = self
            .inner
            .registry
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let mut out = String::new();
        // Writing into a `String` cannot fail; an encoding error would only come from a metric
        // of the application's own, and then what was written so far is served.
        if let Err(e) = prometheus_client::encoding::prometheus_text::encode(&mut out, &registry) {
            tracing::warn!(error = %e, "metrics: encoding the registry failed");
        }
        out
    }

    /// Runs `f` with the registry, to register the application's own metrics beside Kratos'
    /// (they are then served on `/metrics` too).
    pub fn with_registry<R>(&self, f: impl FnOnce(&mut Registry) -> R) -> R {
        f(&mut self
            .inner
            .registry
            .write()
            .unwrap_or_else(PoisonError::into_inner))
    }

    fn record(&self, side: Side, kind: Kind, operation: &'static str, outcome: Outcome<'_>) {
        let (code, reason, seconds) = outcome;
        let instruments = match side {
            Side::Server => &self.inner.server,
            Side::Client => &self.inner.client,
        };
        let kind = kind.as_str();
        let labels = CodeLabels {
            kind,
            operation,
            code,
            reason: self.inner.reasons.get(reason),
        };
        instruments.requests.get_or_create(&labels).inc();
        instruments
            .seconds
            .get_or_create(&OperationLabels { kind, operation })
            .observe(seconds);
    }
}

/// A call's code, reason and duration in seconds.
type Outcome<'a> = (i32, &'a str, f64);

/// What is known about a call being observed.
struct Call {
    metrics: Metrics,
    side: Side,
    kind: Kind,
    operation: &'static str,
    start: Instant,
}

impl Call {
    fn finish(self, code: i32, reason: &str) {
        let seconds = self.start.elapsed().as_secs_f64();
        self.metrics.record(
            self.side,
            self.kind,
            self.operation,
            (code, reason, seconds),
        );
    }

    /// Records the outcome of a call that returned.
    fn finish_with(self, result: &Result<Message, Error>) {
        match result {
            Err(e) => self.finish(e.code(), e.reason()),
            Ok(reply) => match (self.side, self.kind) {
                (Side::Client, Kind::Grpc) => match crate::grpc::reply_error(reply) {
                    Some(e) => self.finish(e.code(), e.reason()),
                    None => self.finish(200, ""),
                },
                _ => self.finish(200, ""),
            },
        }
    }
}

/// The future of an observed call. Every call is recorded exactly once: with its outcome when
/// it returns; as 500 `UNKNOWN` (what the servers answer a panic with) when it panics; as
/// [`CANCELLED_CODE`] [`CANCELLED_REASON`] when it is dropped unfinished.
struct Observed {
    inner: BoxFuture<'static, Result<Message, Error>>,
    call: Option<Call>,
}

impl Future for Observed {
    type Output = Result<Message, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let polled = {
            let _probe = PanicProbe(&mut this.call);
            this.inner.as_mut().poll(cx)
        };
        if let Poll::Ready(result) = &polled
            && let Some(c) = this.call.take()
        {
            c.finish_with(result);
        }
        polled
    }
}

impl Drop for Observed {
    fn drop(&mut self) {
        if let Some(call) = self.call.take() {
            call.finish(CANCELLED_CODE, CANCELLED_REASON);
        }
    }
}

/// Lives on the stack while the inner future is polled: dropped by a panic unwinding through
/// the poll, it records the call as the 500 the panic will be answered with.
struct PanicProbe<'a>(&'a mut Option<Call>);

impl Drop for PanicProbe<'_> {
    fn drop(&mut self) {
        if std::thread::panicking()
            && let Some(call) = self.0.take()
        {
            let error = recovered_error();
            call.finish(error.code(), error.reason());
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::middleware::{Endpoint, recovery, timeout};
    use std::time::Duration;

    /// An endpoint whose request says what it does: `ok`, `fail` (404 `NOT_THERE`), `panic`,
    /// `slow` (sleeps a minute).
    fn endpoint(middleware: &[Middleware]) -> Endpoint<&'static str, ()> {
        Endpoint::new(middleware, |_ctx, what: &'static str| async move {
            match what {
                "fail" => Err(Error::new(404, "NOT_THERE", "no such thing")),
                "panic" => panic!("the handler panicked"),
                "slow" => {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    Ok(())
                }
                _ => Ok(()),
            }
        })
    }

    fn ctx(kind: Kind) -> Context {
        Context::new(kind, "/shop.v1.Orders/Get", Default::default())
    }

    fn sample(metrics: &Metrics, line_start: &str) -> Option<String> {
        metrics
            .render()
            .lines()
            .find_map(|l| l.strip_prefix(line_start).map(|v| v.trim().to_string()))
    }

    const OP: &str = r#"operation="/shop.v1.Orders/Get""#;

    #[tokio::test(start_paused = true)]
    async fn every_outcome_is_counted_with_its_code_and_reason() {
        let metrics = Metrics::new();
        let e = endpoint(&[
            recovery(),
            metrics.server(),
            timeout(Duration::from_secs(2)),
        ]);
        for what in ["ok", "ok", "fail", "panic", "slow"] {
            let _ = e.call(ctx(Kind::Http), what).await;
        }
        let _ = e.call(ctx(Kind::Grpc), "ok").await;
        let _ = e
            .call_bound(
                ctx(Kind::Grpc),
                Err(Error::new(400, "CODEC", "cannot bind")),
            )
            .await;
        for (labels, value) in [
            (r#"kind="http",OP,code="200",reason="""#, "2"),
            (r#"kind="http",OP,code="404",reason="NOT_THERE""#, "1"),
            (r#"kind="http",OP,code="500",reason="UNKNOWN""#, "1"),
            (r#"kind="http",OP,code="504",reason="TIMEOUT""#, "1"),
            (r#"kind="grpc",OP,code="200",reason="""#, "1"),
            (r#"kind="grpc",OP,code="400",reason="CODEC""#, "1"),
        ] {
            let labels = labels.replace("OP", OP);
            let line = format!("server_requests_code_total{{{labels}}}");
            assert_eq!(sample(&metrics, &line).as_deref(), Some(value), "{line}");
        }
        let count = format!(r#"server_requests_seconds_count{{kind="http",{OP}}}"#);
        assert_eq!(sample(&metrics, &count).as_deref(), Some("5"));
        // The timed-out call took the timeout's two seconds: above every bucket but +Inf.
        let le1 = format!(r#"server_requests_seconds_bucket{{kind="http",{OP},le="1"}}"#);
        let inf = format!(r#"server_requests_seconds_bucket{{kind="http",{OP},le="+Inf"}}"#);
        assert_eq!(sample(&metrics, &le1).as_deref(), Some("4"));
        assert_eq!(sample(&metrics, &inf).as_deref(), Some("5"));
        assert!(!metrics.render().contains("client_requests_code_total{"));
    }

    #[tokio::test]
    async fn a_panic_is_counted_even_without_a_recovery_middleware() {
        let metrics = Metrics::new();
        let e = endpoint(&[metrics.server()]);
        let call = e.call(ctx(Kind::Http), "panic");
        let caught = crate::panic::CatchUnwind(call).await;
        assert!(caught.is_err());
        let line = format!(
            r#"server_requests_code_total{{kind="http",{OP},code="500",reason="UNKNOWN"}}"#
        );
        assert_eq!(sample(&metrics, &line).as_deref(), Some("1"));
        // A middleware panicking when called, before its future exists, is counted too.
        let panics_when_called = Middleware::new(|_next: Handler| {
            Handler::from_fn(|_ctx, _req| panic!("the middleware panicked"))
        });
        let e = endpoint(&[metrics.server(), panics_when_called]);
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            drop(e.call(ctx(Kind::Http), "ok"))
        }));
        assert!(caught.is_err());
        assert_eq!(sample(&metrics, &line).as_deref(), Some("2"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_dropped_unfinished_is_counted_as_cancelled() {
        let metrics = Metrics::new();
        let e = endpoint(&[metrics.server()]);
        let outcome =
            tokio::time::timeout(Duration::from_millis(10), e.call(ctx(Kind::Grpc), "slow")).await;
        assert!(outcome.is_err());
        let line = format!(
            r#"server_requests_code_total{{kind="grpc",{OP},code="499",reason="CANCELLED"}}"#
        );
        assert_eq!(sample(&metrics, &line).as_deref(), Some("1"));
    }

    #[tokio::test]
    async fn each_side_records_only_its_own_calls() {
        let metrics = Metrics::new();
        let both = endpoint(&[metrics.server(), metrics.client()]);
        let client_ctx = Context::client(
            Kind::Http,
            "/shop.v1.Orders/Get",
            Default::default(),
            Default::default(),
        );
        both.call(client_ctx, "ok").await.unwrap();
        both.call(ctx(Kind::Http), "ok").await.unwrap();
        both.call(ctx(Kind::Http), "ok").await.unwrap();
        let server =
            format!(r#"server_requests_code_total{{kind="http",{OP},code="200",reason=""}}"#);
        let client =
            format!(r#"client_requests_code_total{{kind="http",{OP},code="200",reason=""}}"#);
        assert_eq!(sample(&metrics, &server).as_deref(), Some("2"));
        assert_eq!(sample(&metrics, &client).as_deref(), Some("1"));
    }

    #[tokio::test]
    async fn two_instances_never_share_counts() {
        let (a, b) = (Metrics::new(), Metrics::new());
        endpoint(&[a.server()])
            .call(ctx(Kind::Http), "ok")
            .await
            .unwrap();
        let line =
            format!(r#"server_requests_code_total{{kind="http",{OP},code="200",reason=""}}"#);
        assert_eq!(sample(&a, &line).as_deref(), Some("1"));
        assert_eq!(sample(&b, &line), None);
        // A clone shares its original's counts.
        endpoint(&[a.clone().server()])
            .call(ctx(Kind::Http), "ok")
            .await
            .unwrap();
        assert_eq!(sample(&a, &line).as_deref(), Some("2"));
    }

    #[test]
    fn the_exposition_names_kratos_metrics_and_buckets() {
        let metrics = Metrics::new();
        // A family is written once it has a series.
        assert_eq!(metrics.render(), "");
        for side in [Side::Server, Side::Client] {
            metrics.record(side, Kind::Http, "/a.B/C", (200, "", 0.3));
        }
        let text = metrics.render();
        for side in ["server", "client"] {
            assert!(
                text.contains(&format!("# TYPE {side}_requests_code_total counter\n")),
                "{text}"
            );
            assert!(
                text.contains(&format!("# TYPE {side}_requests_seconds histogram\n")),
                "{text}"
            );
        }
        let les: Vec<String> = metrics
            .render()
            .lines()
            .filter(|l| l.starts_with("server_requests_seconds_bucket"))
            .filter_map(|l| {
                l.split("le=\"")
                    .nth(1)?
                    .split('"')
                    .next()
                    .map(str::to_string)
            })
            .collect();
        assert_eq!(
            les,
            [
                "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "+Inf"
            ]
        );
    }

    #[test]
    fn reasons_are_stored_once() {
        let reasons = Reasons::new();
        let a = reasons.get("NOT_THERE");
        let b = reasons.get(&String::from("NOT_THERE"));
        assert!(Arc::ptr_eq(&a.0, &b.0));
        assert!(Arc::ptr_eq(&reasons.get("").0, &reasons.empty.0));
        assert_eq!(&*reasons.get("OTHER").0, "OTHER");
    }
}
