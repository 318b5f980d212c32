//! An in-process fake Consul agent (the parts of the HTTP API the registry uses) that records
//! every call and can hold or fail calls, to make heartbeat/deregister races deterministic.
//!
//! - `PUT /v1/agent/service/register`: stores the service; its TTL check starts with the
//!   `Status` of the registration (critical by default, as Consul).
//! - `PUT /v1/agent/check/update/service:<id>`: 200 and the check passes, or 404
//!   `Unknown check ID` when the service is unknown (what Kratos' #3147 heartbeat mistook for a
//!   transient failure).
//! - `PUT /v1/agent/service/deregister/<id>`: 200, or 404 when unknown.
//! - `GET /v1/health/service/<name>?passing=1[&index=N&wait=D]`: passing instances, blocking
//!   while the index is not past `N`.
//! - `GET /v1/kv/<key>[?recurse][&index=N&wait=D]`: the key (or every key under it) as
//!   Consul's entries with base64 values, 404 when there is none, blocking like health;
//!   `PUT /v1/kv/<key>` (the body is the value) and `DELETE /v1/kv/<key>[?recurse]`. Every
//!   change bumps the index (the agent's one index, as the fake keeps a single raft log).
//!
//! A held call is recorded when it arrives and applied when it is released, even if the
//! client gave up meanwhile: the worst case of a request that reached the agent late.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::Value;
use tokio::sync::{Notify, watch};

/// What a call was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `PUT /v1/agent/service/register`.
    Register,
    /// `PUT /v1/agent/check/update/...`.
    Update,
    /// `PUT /v1/agent/service/deregister/...`.
    Deregister,
    /// `GET /v1/health/service/...`.
    Health,
    /// `GET`, `PUT` or `DELETE /v1/kv/...`.
    Kv,
    /// Anything else.
    Other,
}

/// One recorded call.
#[derive(Debug, Clone)]
pub struct Call {
    /// Position in the log (0-based).
    pub seq: usize,
    /// What it was.
    pub kind: Kind,
    /// The service id (register: from the body; update: from the check id; deregister: from
    /// the path; health: the service name).
    pub id: String,
    /// Path and query.
    pub uri: String,
    /// The body.
    pub body: String,
    /// The status answered (`None` while held or when never answered).
    pub status: Option<u16>,
    /// When it arrived.
    pub at: Instant,
}

/// A registered service as the fake agent keeps it.
#[derive(Debug, Clone)]
pub struct Service {
    /// The registration body.
    pub registration: Value,
    /// The TTL check status: `critical` or `passing`.
    pub ttl_status: String,
}

#[derive(Default)]
struct State {
    calls: Vec<Call>,
    services: BTreeMap<String, Service>,
    /// The KV store: value and modify index by key.
    kv: BTreeMap<String, (Vec<u8>, u64)>,
    /// Kinds of calls held until released.
    hold: Vec<Kind>,
    /// Kinds of calls answered with an error status.
    fail: Vec<(Kind, u16)>,
}

struct Shared {
    state: Mutex<State>,
    /// Wakes waiters on every call and every release.
    changed: Notify,
    /// The Consul index, bumped on every change of the catalog or of a check.
    index: watch::Sender<u64>,
    /// Bumped to release held calls.
    release: watch::Sender<u64>,
}

/// The fake agent; stops serving when dropped.
pub struct FakeConsul {
    shared: Arc<Shared>,
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeConsul {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, State> {
    shared.state.lock().unwrap()
}

impl FakeConsul {
    /// Starts the agent on `127.0.0.1:0`.
    pub async fn start() -> FakeConsul {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            changed: Notify::new(),
            index: watch::channel(1).0,
            release: watch::channel(0).0,
        });
        let serve = shared.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let shared = serve.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| {
                        let shared = shared.clone();
                        async move { Ok::<_, Infallible>(handle(shared, req).await) }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        FakeConsul { shared, addr, task }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<Call> {
        lock(&self.shared).calls.clone()
    }

    /// The calls of `kind` for service `id`.
    pub fn calls_of(&self, kind: Kind, id: &str) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.kind == kind && c.id == id)
            .collect()
    }

    /// The services the agent knows.
    pub fn services(&self) -> BTreeMap<String, Service> {
        lock(&self.shared).services.clone()
    }

    /// Holds calls of `kind` (recorded on arrival, applied and answered on release).
    pub fn hold(&self, kind: Kind) {
        lock(&self.shared).hold.push(kind);
    }

    /// Stops holding calls of `kind` and releases those held.
    pub fn release(&self, kind: Kind) {
        lock(&self.shared).hold.retain(|k| *k != kind);
        self.shared.release.send_modify(|n| *n += 1);
        self.shared.changed.notify_waiters();
    }

    /// Answers calls of `kind` with `status` (no effect) until [`FakeConsul::heal`].
    pub fn fail(&self, kind: Kind, status: u16) {
        lock(&self.shared).fail.push((kind, status));
    }

    /// Answers calls of `kind` normally again.
    pub fn heal(&self, kind: Kind) {
        lock(&self.shared).fail.retain(|(k, _)| *k != kind);
    }

    /// Forgets service `id`, as an agent that lost its state (restart, anti-entropy).
    pub fn forget(&self, id: &str) {
        let removed = lock(&self.shared).services.remove(id).is_some();
        if removed {
            self.shared.index.send_modify(|i| *i += 1);
        }
    }

    /// Sets a KV key (like `PUT /v1/kv/<key>`).
    pub fn put_kv(&self, key: &str, value: &str) {
        kv_put(&self.shared, key, value.as_bytes().to_vec());
    }

    /// Deletes a KV key (like `DELETE /v1/kv/<key>`).
    pub fn delete_kv(&self, key: &str) {
        kv_delete(&self.shared, key, false);
    }

    /// Sets the agent's index back to `index` (what a restarted agent with a new raft log
    /// does), without changing the data.
    pub fn reset_index(&self, index: u64) {
        self.shared.index.send_replace(index);
    }

    /// Waits until the log satisfies `check` (panics with `what` after `timeout`).
    pub async fn wait_for(&self, what: &str, timeout: Duration, check: impl Fn(&[Call]) -> bool) {
        let deadline = Instant::now() + timeout;
        loop {
            let notified = self.shared.changed.notified();
            if check(&lock(&self.shared).calls) {
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "fake consul: timed out waiting for {what}: {:#?}",
                self.calls()
            );
            let _ = tokio::time::timeout(left.min(Duration::from_millis(200)), notified).await;
        }
    }
}

fn response(
    status: StatusCode,
    body: impl Into<Bytes>,
    index: Option<u64>,
) -> Response<Full<Bytes>> {
    let mut builder = Response::builder().status(status);
    if let Some(index) = index {
        builder = builder.header("X-Consul-Index", index.to_string());
    }
    builder.body(Full::new(body.into())).unwrap()
}

fn parse_wait(s: &str) -> Duration {
    if let Some(ms) = s.strip_suffix("ms") {
        Duration::from_millis(ms.parse().unwrap_or(0))
    } else if let Some(secs) = s.strip_suffix('s') {
        Duration::from_secs(secs.parse().unwrap_or(0))
    } else {
        Duration::from_secs(300)
    }
}

fn query_param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let uri = req.uri().to_string();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let body = String::from_utf8_lossy(&body).into_owned();

    let (kind, id) = if method == Method::PUT && path == "/v1/agent/service/register" {
        let id = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v["ID"].as_str().map(str::to_string))
            .unwrap_or_default();
        (Kind::Register, id)
    } else if let (&Method::PUT, Some(check)) =
        (&method, path.strip_prefix("/v1/agent/check/update/"))
    {
        let check = decode(check);
        (
            Kind::Update,
            check.strip_prefix("service:").unwrap_or(&check).to_string(),
        )
    } else if let (&Method::PUT, Some(id)) =
        (&method, path.strip_prefix("/v1/agent/service/deregister/"))
    {
        (Kind::Deregister, decode(id))
    } else if let (&Method::GET, Some(name)) = (&method, path.strip_prefix("/v1/health/service/")) {
        (Kind::Health, decode(name))
    } else if let Some(key) = path.strip_prefix("/v1/kv/") {
        (Kind::Kv, decode(key))
    } else {
        (Kind::Other, String::new())
    };

    let (seq, held, failure) = {
        let mut state = lock(&shared);
        let seq = state.calls.len();
        state.calls.push(Call {
            seq,
            kind,
            id: id.clone(),
            uri,
            body: body.clone(),
            status: None,
            at: Instant::now(),
        });
        let held = state.hold.contains(&kind);
        let failure = state.fail.iter().find(|(k, _)| *k == kind).map(|(_, s)| *s);
        (seq, held, failure)
    };
    shared.changed.notify_waiters();

    // The effect runs in its own task: a held call is applied on release even when the client
    // has gone away (hyper may drop this future then).
    let (tx, rx) = tokio::sync::oneshot::channel();
    let effect_shared = shared.clone();
    tokio::spawn(async move {
        if held {
            let mut release = effect_shared.release.subscribe();
            loop {
                if !lock(&effect_shared).hold.contains(&kind) {
                    break;
                }
                if release.changed().await.is_err() {
                    return;
                }
            }
        }
        let reply = match failure {
            Some(status) => response(
                StatusCode::from_u16(status).unwrap(),
                "injected failure",
                None,
            ),
            None => apply(&effect_shared, kind, &method, &id, &body, &query).await,
        };
        lock(&effect_shared).calls[seq].status = Some(reply.status().as_u16());
        effect_shared.changed.notify_waiters();
        let _ = tx.send(reply);
    });
    rx.await
        .unwrap_or_else(|_| response(StatusCode::INTERNAL_SERVER_ERROR, "fake agent", None))
}

async fn apply(
    shared: &Shared,
    kind: Kind,
    method: &Method,
    id: &str,
    body: &str,
    query: &str,
) -> Response<Full<Bytes>> {
    match kind {
        Kind::Register => {
            let Ok(registration) = serde_json::from_str::<Value>(body) else {
                return response(StatusCode::BAD_REQUEST, "bad json", None);
            };
            let ttl_status = registration["Checks"]
                .as_array()
                .and_then(|checks| {
                    checks
                        .iter()
                        .find(|c| c["CheckID"].as_str() == Some(&format!("service:{id}")))
                })
                .and_then(|c| c["Status"].as_str())
                .unwrap_or("critical")
                .to_string();
            lock(shared).services.insert(
                id.to_string(),
                Service {
                    registration,
                    ttl_status,
                },
            );
            shared.index.send_modify(|i| *i += 1);
            response(StatusCode::OK, "", None)
        }
        Kind::Update => {
            let status = serde_json::from_str::<Value>(body)
                .ok()
                .and_then(|v| v["Status"].as_str().map(str::to_string))
                .unwrap_or_else(|| "passing".to_string());
            let changed = {
                let mut state = lock(shared);
                match state.services.get_mut(id) {
                    Some(service) => {
                        let changed = service.ttl_status != status;
                        service.ttl_status = status;
                        Some(changed)
                    }
                    None => None,
                }
            };
            match changed {
                Some(changed) => {
                    if changed {
                        shared.index.send_modify(|i| *i += 1);
                    }
                    response(StatusCode::OK, "", None)
                }
                None => response(
                    StatusCode::NOT_FOUND,
                    format!(
                        "Unknown check ID \"service:{id}\". Ensure that the check ID is passed, not the check name."
                    ),
                    None,
                ),
            }
        }
        Kind::Deregister => {
            let removed = lock(shared).services.remove(id).is_some();
            if removed {
                shared.index.send_modify(|i| *i += 1);
                response(StatusCode::OK, "", None)
            } else {
                response(
                    StatusCode::NOT_FOUND,
                    format!("Unknown service ID {id:?}"),
                    None,
                )
            }
        }
        Kind::Health => {
            let wanted: u64 = query_param(query, "index")
                .and_then(|i| i.parse().ok())
                .unwrap_or(0);
            let wait = query_param(query, "wait").map_or(Duration::from_secs(300), parse_wait);
            let mut index = shared.index.subscribe();
            if wanted > 0 {
                let _ = tokio::time::timeout(wait, index.wait_for(|i| *i > wanted)).await;
            }
            let current = *index.borrow();
            let entries: Vec<Value> = lock(shared)
                .services
                .values()
                .filter(|s| {
                    s.registration["Name"].as_str() == Some(id) && s.ttl_status == "passing"
                })
                .map(|s| {
                    let r = &s.registration;
                    serde_json::json!({
                        "Node": {"Node": "fake", "Address": "127.0.0.1"},
                        "Service": {
                            "ID": r["ID"], "Service": r["Name"], "Tags": r["Tags"],
                            "Meta": r["Meta"], "Address": r["Address"], "Port": r["Port"],
                            "TaggedAddresses": r["TaggedAddresses"],
                        },
                        "Checks": [],
                    })
                })
                .collect();
            response(
                StatusCode::OK,
                serde_json::to_vec(&entries).unwrap(),
                Some(current),
            )
        }
        Kind::Kv => {
            let recurse = query.split('&').any(|p| p == "recurse");
            if method == Method::PUT {
                kv_put(shared, id, body.as_bytes().to_vec());
                return response(StatusCode::OK, "true", None);
            }
            if method == Method::DELETE {
                kv_delete(shared, id, recurse);
                return response(StatusCode::OK, "true", None);
            }
            let wanted: u64 = query_param(query, "index")
                .and_then(|i| i.parse().ok())
                .unwrap_or(0);
            let wait = query_param(query, "wait").map_or(Duration::from_secs(300), parse_wait);
            let mut index = shared.index.subscribe();
            if wanted > 0 {
                let _ = tokio::time::timeout(wait, index.wait_for(|i| *i != wanted)).await;
            }
            let current = *index.borrow();
            let entries: Vec<Value> = lock(shared)
                .kv
                .iter()
                .filter(|(k, _)| {
                    if recurse {
                        k.starts_with(id)
                    } else {
                        k.as_str() == id
                    }
                })
                .map(|(k, (v, modified))| {
                    use base64::Engine as _;
                    serde_json::json!({
                        "Key": k, "Flags": 0, "LockIndex": 0,
                        "CreateIndex": modified, "ModifyIndex": modified,
                        "Value": base64::engine::general_purpose::STANDARD.encode(v),
                    })
                })
                .collect();
            if entries.is_empty() {
                return response(StatusCode::NOT_FOUND, "", Some(current));
            }
            response(
                StatusCode::OK,
                serde_json::to_vec(&entries).unwrap(),
                Some(current),
            )
        }
        Kind::Other => response(StatusCode::NOT_FOUND, "not faked", None),
    }
}

fn kv_put(shared: &Shared, key: &str, value: Vec<u8>) {
    let mut state = lock(shared);
    let index = *shared.index.borrow() + 1;
    state.kv.insert(key.to_string(), (value, index));
    shared.index.send_replace(index);
}

fn kv_delete(shared: &Shared, key: &str, recurse: bool) {
    let mut state = lock(shared);
    let before = state.kv.len();
    state.kv.retain(|k, _| {
        if recurse {
            !k.starts_with(key)
        } else {
            k != key
        }
    });
    if state.kv.len() != before {
        shared.index.send_modify(|i| *i += 1);
    }
}
