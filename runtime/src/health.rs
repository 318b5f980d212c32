//! Health: liveness and readiness for load balancers and orchestrators, on both servers.
//!
//! A [`Health`] holds the user's checks (a database ping: an async function returning
//! `Result`) and whether the application is stopping. It is served as
//!
//! * HTTP `GET /healthz` (liveness): 200 while the process serves, whatever the checks say;
//! * HTTP `GET /readyz` (readiness): 200 when every check passes and the application is not
//!   stopping, else 503; the JSON body lists each check, such as
//!   `{"status":"not ready","checks":{"db":"error: connection refused"}}`;
//! * the gRPC health protocol (`grpc.health.v1.Health`, `Check` and `Watch`): a registered
//!   service name, or `""` for the whole server, is `SERVING` exactly when `/readyz` would be
//!   200; an unregistered name is `NOT_FOUND` (`SERVICE_UNKNOWN` on `Watch`).
//!
//! Hand it to the application ([`App::health`](crate::App::health)): on a stop signal the App
//! first turns it not ready (`/readyz` 503, gRPC `NOT_SERVING`, `Watch` streams told at once),
//! then deregisters, waits its drain delay, then stops the servers.

use std::collections::HashSet;
use std::future::Future;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use bytes::Bytes;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_server::{Health as HealthService, HealthServer};
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};

use crate::middleware::BoxFuture;

/// A user-defined check: `Ok` when the dependency it checks is usable.
type CheckFn = Arc<dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

/// The application's health: user checks and the stopping flag, served on HTTP and gRPC.
/// Cheap to clone; clones share the state.
#[derive(Clone)]
pub struct Health {
    inner: Arc<Inner>,
}

struct Inner {
    checks: RwLock<Vec<(String, CheckFn)>>,
    services: RwLock<HashSet<String>>,
    stopping: tokio::sync::watch::Sender<bool>,
    check_timeout: Duration,
    watch_interval: Duration,
}

/// The outcome of evaluating readiness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    /// Whether the application is stopping (then it is not ready, whatever the checks say).
    pub stopping: bool,
    /// Each check's name and error, `None` when it passed; in the order they were added.
    pub checks: Vec<(String, Option<String>)>,
}

impl Readiness {
    /// Ready: not stopping and every check passed.
    pub fn is_ready(&self) -> bool {
        !self.stopping && self.checks.iter().all(|(_, e)| e.is_none())
    }

    /// The JSON body `/readyz` answers with.
    pub fn to_json(&self) -> serde_json::Value {
        let status = if self.stopping {
            "stopping"
        } else if self.is_ready() {
            "ready"
        } else {
            "not ready"
        };
        let checks: serde_json::Map<String, serde_json::Value> = self
            .checks
            .iter()
            .map(|(name, err)| {
                let v = match err {
                    None => "ok".to_owned(),
                    Some(e) => format!("error: {e}"),
                };
                (name.clone(), serde_json::Value::String(v))
            })
            .collect();
        serde_json::json!({ "status": status, "checks": checks })
    }
}

impl Default for Health {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Health")
            .field("stopping", &self.is_stopping())
            .finish_non_exhaustive()
    }
}

impl Health {
    /// No checks, not stopping; each check may take 5 s before it counts as failed, and gRPC
    /// `Watch` streams re-run the checks every 5 s (a stop is sent at once).
    pub fn new() -> Self {
        Self::with_timing(Duration::from_secs(5), Duration::from_secs(5))
    }

    /// Like [`Health::new`] with another check timeout and `Watch` re-check interval.
    pub fn with_timing(check_timeout: Duration, watch_interval: Duration) -> Self {
        let mut services = HashSet::new();
        services.insert(String::new());
        Health {
            inner: Arc::new(Inner {
                checks: RwLock::new(Vec::new()),
                services: RwLock::new(services),
                stopping: tokio::sync::watch::Sender::new(false),
                check_timeout,
                watch_interval,
            }),
        }
    }

    /// Adds a check named `name` (such as `"db"`): readiness needs it to return `Ok`.
    pub fn check<F, Fut, E>(self, name: impl Into<String>, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: std::fmt::Display,
    {
        let f: CheckFn = Arc::new(move || {
            let fut = check();
            Box::pin(async move { fut.await.map_err(|e| e.to_string()) })
        });
        self.inner
            .checks
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push((name.into(), f));
        self
    }

    /// Marks the application as stopping: not ready from now on. Called by the App on a stop.
    pub fn set_stopping(&self) {
        self.inner.stopping.send_replace(true);
    }

    /// Whether [`Health::set_stopping`] was called.
    pub fn is_stopping(&self) -> bool {
        *self.inner.stopping.borrow()
    }

    /// Runs every check (each bounded by the check timeout), unless stopping.
    pub async fn readiness(&self) -> Readiness {
        let stopping = self.is_stopping();
        let checks = self
            .inner
            .checks
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let mut results = Vec::with_capacity(checks.len());
        for (name, check) in checks {
            let outcome = match tokio::time::timeout(self.inner.check_timeout, check()).await {
                Ok(r) => r.err(),
                Err(_) => Some(format!("no answer within {:?}", self.inner.check_timeout)),
            };
            results.push((name, outcome));
        }
        Readiness {
            stopping,
            checks: results,
        }
    }

    /// Serves `/healthz` and `/readyz` on `server`.
    pub fn register_http(
        &self,
        server: &mut crate::http::Server,
    ) -> Result<(), crate::http::RouteError> {
        server.handle("GET", "/healthz", |_, _| async {
            json_response(200, &serde_json::json!({ "status": "alive" }))
        })?;
        let health = self.clone();
        server.handle("GET", "/readyz", move |_, _| {
            let health = health.clone();
            async move {
                let readiness = health.readiness().await;
                let status = if readiness.is_ready() { 200 } else { 503 };
                json_response(status, &readiness.to_json())
            }
        })
    }

    /// Makes `server`'s gRPC health service (which every gRPC server has) report this health,
    /// with `services` (full names such as `helloworld.v1.Greeter`) known besides `""` and
    /// the services added to the server.
    pub fn register_grpc<'a>(
        &self,
        server: &mut crate::grpc::Server,
        services: impl IntoIterator<Item = &'a str>,
    ) {
        self.know_services(services);
        server.use_health(self.clone());
    }

    /// Adds `services` to the names the gRPC health service knows.
    pub(crate) fn know_services<'a>(&self, services: impl IntoIterator<Item = &'a str>) {
        self.inner
            .services
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(services.into_iter().map(str::to_owned));
    }

    /// The gRPC health service over this health.
    pub(crate) fn grpc_service(&self) -> HealthServer<GrpcHealth> {
        HealthServer::new(GrpcHealth(self.clone()))
    }

    /// The gRPC status of `service`: `None` when it is not registered.
    async fn serving_status(&self, service: &str) -> Option<ServingStatus> {
        let known = self
            .inner
            .services
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(service);
        if !known {
            return None;
        }
        Some(if self.readiness().await.is_ready() {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        })
    }
}

fn json_response(status: u16, body: &serde_json::Value) -> http::Response<Bytes> {
    let mut response = http::Response::new(Bytes::from(body.to_string()));
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

/// The gRPC health service over a [`Health`].
pub(crate) struct GrpcHealth(Health);

type WatchStream = std::pin::Pin<
    Box<dyn tokio_stream::Stream<Item = Result<HealthCheckResponse, tonic::Status>> + Send>,
>;

#[tonic::async_trait]
impl HealthService for GrpcHealth {
    async fn check(
        &self,
        request: tonic::Request<HealthCheckRequest>,
    ) -> Result<tonic::Response<HealthCheckResponse>, tonic::Status> {
        let service = request.into_inner().service;
        match self.0.serving_status(&service).await {
            Some(status) => Ok(tonic::Response::new(HealthCheckResponse {
                status: status as i32,
            })),
            None => Err(tonic::Status::not_found(format!(
                "unknown service {service:?}"
            ))),
        }
    }

    type WatchStream = WatchStream;

    /// Sends the status at once, then each change: a stop at once (and then the stream ends,
    /// so it does not hold its connection open while the server drains), a check's change at
    /// the next re-check.
    async fn watch(
        &self,
        request: tonic::Request<HealthCheckRequest>,
    ) -> Result<tonic::Response<WatchStream>, tonic::Status> {
        let service = request.into_inner().service;
        let health = self.0.clone();
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let mut stopping = health.inner.stopping.subscribe();
        tokio::spawn(async move {
            let mut last = None;
            loop {
                let status = health
                    .serving_status(&service)
                    .await
                    .unwrap_or(ServingStatus::ServiceUnknown);
                if last != Some(status) {
                    let reply = HealthCheckResponse {
                        status: status as i32,
                    };
                    if tx.send(Ok(reply)).await.is_err() {
                        return;
                    }
                    last = Some(status);
                }
                // Stopping is final: the stream ends after saying so, so that it does not
                // keep its connection busy while the server drains.
                if health.is_stopping() {
                    return;
                }
                tokio::select! {
                    changed = stopping.changed() => {
                        if changed.is_err() {
                            return;
                        }
                    }
                    () = tokio::time::sleep(health.inner.watch_interval) => {}
                    () = tx.closed() => return,
                }
            }
        });
        let stream: WatchStream = Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx));
        Ok(tonic::Response::new(stream))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_check_that_does_not_answer_in_time_fails_and_stopping_overrides_all() {
        let health = Health::with_timing(Duration::from_secs(1), Duration::from_secs(1))
            .check("fast", || async { Ok::<_, String>(()) })
            .check("hung", || async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                Ok::<_, String>(())
            });
        let readiness = health.readiness().await;
        assert!(!readiness.is_ready());
        assert_eq!(
            readiness.checks,
            [
                ("fast".to_owned(), None),
                ("hung".to_owned(), Some("no answer within 1s".to_owned()))
            ]
        );
        let passing = Health::new().check("ok", || async { Ok::<_, String>(()) });
        assert!(passing.readiness().await.is_ready());
        passing.set_stopping();
        let readiness = passing.readiness().await;
        assert!(!readiness.is_ready());
        assert_eq!(readiness.to_json()["status"], "stopping");
        assert_eq!(readiness.to_json()["checks"]["ok"], "ok");
    }

    #[tokio::test]
    async fn grpc_status_is_per_registered_name() {
        let health = Health::new();
        health
            .inner
            .services
            .write()
            .unwrap()
            .insert("a.B".to_owned());
        assert_eq!(
            health.serving_status("").await,
            Some(ServingStatus::Serving)
        );
        assert_eq!(
            health.serving_status("a.B").await,
            Some(ServingStatus::Serving)
        );
        assert_eq!(health.serving_status("c.D").await, None);
        health.set_stopping();
        assert_eq!(
            health.serving_status("a.B").await,
            Some(ServingStatus::NotServing)
        );
    }
}
