//! A small client of etcd's v3 gRPC API (feature `etcd`): what the etcd registry
//! ([`crate::registry::etcd`]) and the etcd configuration source (`config::sources::etcd`)
//! need, and nothing more.
//!
//! - Keys: [`Client::get`], [`Client::put`], [`Client::delete`] on one key or on every key
//!   under a prefix.
//! - Leases: [`Client::lease_grant`], [`Client::lease_revoke`], [`Client::leases`], and
//!   [`Client::lease_keep_alive`], a keep-alive stream renewed one round trip at a time.
//! - Watches: [`Client::watch`] on a key or a prefix, from a revision.
//!
//! The messages and gRPC stubs in [`pb`] are generated from a subset of etcd's protos
//! (`src/etcd/proto/`, wire-compatible with etcd) and committed, so building the runtime
//! needs no build script and no protoc; the test `etcd_codegen` keeps them in step with the
//! protos.
//!
//! Connections: one gRPC channel balanced over every endpoint (`http://host:port`, or
//! `host:port`), opened lazily: etcd need not be up when the client is made, and a call made
//! while no endpoint answers waits for one (bound each call with a timeout). TLS and etcd
//! authentication are not supported.

#[rustfmt::skip]
pub mod pb;

use std::time::Duration;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::{Channel, Endpoint};

use pb::etcdserverpb::kv_client::KvClient;
use pb::etcdserverpb::lease_client::LeaseClient;
use pb::etcdserverpb::watch_client::WatchClient;
use pb::etcdserverpb::{
    DeleteRangeRequest, DeleteRangeResponse, LeaseGrantRequest, LeaseGrantResponse,
    LeaseKeepAliveRequest, LeaseKeepAliveResponse, LeaseLeasesRequest, LeaseLeasesResponse,
    LeaseRevokeRequest, LeaseRevokeResponse, PutRequest, PutResponse, RangeRequest, RangeResponse,
    WatchCreateRequest, WatchRequest, WatchResponse, watch_request,
};

/// What an etcd call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum EtcdError {
    /// No endpoint was given.
    #[error("no etcd endpoint given")]
    NoEndpoints,
    /// An endpoint is not a usable `http://host:port` address.
    #[error("etcd endpoint {endpoint:?}: {reason}")]
    Endpoint {
        /// The endpoint as given.
        endpoint: String,
        /// What is wrong with it.
        reason: String,
    },
    /// etcd (or the connection to it) answered the call with a gRPC error.
    #[error("{op}: gRPC {code:?}: {message}", code = .status.code(), message = .status.message())]
    Status {
        /// The call (`range`, `put`, `lease keepalive`, ...).
        op: &'static str,
        /// The gRPC status.
        status: tonic::Status,
    },
    /// A keep-alive found the lease gone (expired or revoked).
    #[error("lease {lease:x} not found (expired or revoked)")]
    LeaseNotFound {
        /// The lease.
        lease: i64,
    },
    /// etcd ended a stream (watch, keep-alive) the client still reads.
    #[error("etcd closed the {stream} stream")]
    StreamClosed {
        /// `watch` or `lease keepalive`.
        stream: &'static str,
    },
    /// etcd refused to create a watch, or answered the creation unexpectedly.
    #[error("watch not created: {reason}")]
    WatchNotCreated {
        /// etcd's reason.
        reason: String,
    },
}

impl EtcdError {
    fn status(op: &'static str) -> impl FnOnce(tonic::Status) -> EtcdError {
        move |status| EtcdError::Status { op, status }
    }

    /// Whether the lease a call named no longer exists: etcd's "requested lease not found"
    /// (gRPC `NOT_FOUND`) or a keep-alive answered with no time to live.
    pub fn is_lease_not_found(&self) -> bool {
        match self {
            EtcdError::Status { status, .. } => {
                status.code() == tonic::Code::NotFound
                    || status.message().contains("lease not found")
            }
            EtcdError::LeaseNotFound { .. } => true,
            _ => false,
        }
    }

    /// The gRPC status, when etcd (or the connection) answered with one.
    pub fn grpc_status(&self) -> Option<&tonic::Status> {
        match self {
            EtcdError::Status { status, .. } => Some(status),
            _ => None,
        }
    }
}

/// How the client connects.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConnectOptions {
    connect_timeout: Option<Duration>,
    keep_alive: Option<(Duration, Duration)>,
}

impl ConnectOptions {
    /// No connect timeout and no HTTP/2 keep-alive (the defaults).
    pub fn new() -> Self {
        Self::default()
    }

    /// Bounds each TCP connection attempt.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Sends an HTTP/2 ping every `interval` (also while no call is in flight) and drops the
    /// connection when one is not answered within `timeout`, so a dead etcd is noticed.
    pub fn with_keep_alive(mut self, interval: Duration, timeout: Duration) -> Self {
        self.keep_alive = Some((interval, timeout));
        self
    }
}

/// Options of [`Client::get`].
#[derive(Debug, Clone, Copy, Default)]
pub struct GetOptions {
    prefix: bool,
    keys_only: bool,
}

impl GetOptions {
    /// The key alone, with its value.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every key starting with the key (see [`prefix_range_end`]).
    pub fn with_prefix(mut self) -> Self {
        self.prefix = true;
        self
    }

    /// Keys (and their revisions and lease) without values.
    pub fn with_keys_only(mut self) -> Self {
        self.keys_only = true;
        self
    }
}

/// Options of [`Client::put`].
#[derive(Debug, Clone, Copy, Default)]
pub struct PutOptions {
    lease: i64,
}

impl PutOptions {
    /// No lease: the key lives until deleted.
    pub fn new() -> Self {
        Self::default()
    }

    /// Attaches the key to `lease`: etcd deletes it when the lease expires or is revoked, and
    /// refuses the put when the lease does not exist.
    pub fn with_lease(mut self, lease: i64) -> Self {
        self.lease = lease;
        self
    }
}

/// Options of [`Client::delete`].
#[derive(Debug, Clone, Copy, Default)]
pub struct DeleteOptions {
    prefix: bool,
}

impl DeleteOptions {
    /// The key alone.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every key starting with the key (see [`prefix_range_end`]).
    pub fn with_prefix(mut self) -> Self {
        self.prefix = true;
        self
    }
}

/// Options of [`Client::watch`].
#[derive(Debug, Clone, Copy, Default)]
pub struct WatchOptions {
    prefix: bool,
    start_revision: i64,
}

impl WatchOptions {
    /// The key alone, changes after the watch is created.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every key starting with the key (see [`prefix_range_end`]).
    pub fn with_prefix(mut self) -> Self {
        self.prefix = true;
        self
    }

    /// Reports every change from `revision` on, including past ones still in etcd's history
    /// (when compacted away, etcd cancels the watch with `compact_revision` set).
    pub fn with_start_revision(mut self, revision: i64) -> Self {
        self.start_revision = revision;
        self
    }
}

/// The end of etcd's key range that holds exactly the keys starting with `prefix`.
///
/// etcd reads `[key, range_end)`. The smallest key greater than every key starting with
/// `prefix` is `prefix` with its last byte below `0xff` incremented and every byte after it
/// dropped (`/a/` → `/a0`, `a\xff` → `b`). When no byte can be incremented (an empty
/// prefix, or only `0xff` bytes) no such key exists, and the answer is `"\0"`, etcd's
/// "every key from `key` on".
pub fn prefix_range_end(prefix: &[u8]) -> Vec<u8> {
    match prefix.iter().rposition(|b| *b < 0xff) {
        Some(i) => {
            let mut end = prefix[..=i].to_vec();
            end[i] += 1;
            end
        }
        None => vec![0],
    }
}

/// The range end for `key`: none (the key alone), or the end of its prefix range.
fn range_end(key: &[u8], prefix: bool) -> Vec<u8> {
    if prefix {
        prefix_range_end(key)
    } else {
        Vec::new()
    }
}

/// Turns an endpoint as users write it (`http://host:port`, or `host:port`) into tonic's.
fn endpoint(raw: &str, options: &ConnectOptions) -> Result<Endpoint, EtcdError> {
    let bad = |reason: &str| EtcdError::Endpoint {
        endpoint: raw.to_string(),
        reason: reason.to_string(),
    };
    let url = if raw.starts_with("http://") {
        raw.to_string()
    } else if raw.starts_with("https://") {
        return Err(bad("https (TLS) is not supported; use http://host:port"));
    } else if raw.contains("://") {
        return Err(bad("expected http://host:port or host:port"));
    } else {
        format!("http://{raw}")
    };
    let mut endpoint = Endpoint::from_shared(url).map_err(|e| bad(&e.to_string()))?;
    let uri = endpoint.uri();
    if uri.host().is_none_or(str::is_empty) {
        return Err(bad("no host"));
    }
    // `http::Uri` keeps a port it cannot read (`host:abc`); refuse it here rather than fail
    // every call. The port follows the last ':' after the host (after ']' for IPv6).
    let authority = uri.authority().map_or("", |a| a.as_str());
    let after_host = authority
        .rsplit_once(']')
        .map_or(authority, |(_, rest)| rest);
    if let Some((_, port)) = after_host.rsplit_once(':')
        && port.parse::<u16>().is_err()
    {
        return Err(bad("the port is not a number from 0 to 65535"));
    }
    if let Some(timeout) = options.connect_timeout {
        endpoint = endpoint.connect_timeout(timeout);
    }
    if let Some((interval, timeout)) = options.keep_alive {
        endpoint = endpoint
            .keep_alive_while_idle(true)
            .http2_keep_alive_interval(interval)
            .keep_alive_timeout(timeout);
    }
    Ok(endpoint)
}

/// A client of one etcd cluster. Cheap to clone (clones share the connections); every call
/// takes `&self`.
#[derive(Clone)]
pub struct Client {
    kv: KvClient<Channel>,
    lease: LeaseClient<Channel>,
    watch: WatchClient<Channel>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").finish_non_exhaustive()
    }
}

impl Client {
    /// A client balanced over `endpoints` (`http://host:port` or `host:port`). Connects
    /// lazily: etcd need not be up yet. Fails only on an empty list or a malformed endpoint.
    /// Must run inside a Tokio runtime (the balancer runs as a task).
    pub async fn connect<S: AsRef<str>>(
        endpoints: impl IntoIterator<Item = S>,
        options: ConnectOptions,
    ) -> Result<Client, EtcdError> {
        let endpoints = endpoints
            .into_iter()
            .map(|e| endpoint(e.as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()?;
        if endpoints.is_empty() {
            return Err(EtcdError::NoEndpoints);
        }
        let channel = Channel::balance_list(endpoints.into_iter());
        Ok(Client {
            kv: KvClient::new(channel.clone()),
            lease: LeaseClient::new(channel.clone()),
            watch: WatchClient::new(channel),
        })
    }

    /// Reads `key`, or every key under it with [`GetOptions::with_prefix`] (in key order).
    pub async fn get(
        &self,
        key: impl Into<Vec<u8>>,
        options: GetOptions,
    ) -> Result<RangeResponse, EtcdError> {
        let key = key.into();
        let request = RangeRequest {
            range_end: range_end(&key, options.prefix),
            key,
            keys_only: options.keys_only,
            ..RangeRequest::default()
        };
        let mut kv = self.kv.clone();
        kv.range(request)
            .await
            .map(tonic::Response::into_inner)
            .map_err(EtcdError::status("range"))
    }

    /// Writes `value` at `key`.
    pub async fn put(
        &self,
        key: impl Into<Vec<u8>>,
        value: impl Into<Vec<u8>>,
        options: PutOptions,
    ) -> Result<PutResponse, EtcdError> {
        let request = PutRequest {
            key: key.into(),
            value: value.into(),
            lease: options.lease,
            prev_kv: false,
        };
        let mut kv = self.kv.clone();
        kv.put(request)
            .await
            .map(tonic::Response::into_inner)
            .map_err(EtcdError::status("put"))
    }

    /// Deletes `key`, or every key under it with [`DeleteOptions::with_prefix`].
    pub async fn delete(
        &self,
        key: impl Into<Vec<u8>>,
        options: DeleteOptions,
    ) -> Result<DeleteRangeResponse, EtcdError> {
        let key = key.into();
        let request = DeleteRangeRequest {
            range_end: range_end(&key, options.prefix),
            key,
            prev_kv: false,
        };
        let mut kv = self.kv.clone();
        kv.delete_range(request)
            .await
            .map(tonic::Response::into_inner)
            .map_err(EtcdError::status("delete"))
    }

    /// Creates a lease of `ttl` seconds (etcd raises it to its minimum TTL).
    pub async fn lease_grant(&self, ttl: i64) -> Result<LeaseGrantResponse, EtcdError> {
        let mut lease = self.lease.clone();
        let response = lease
            .lease_grant(LeaseGrantRequest { ttl, id: 0 })
            .await
            .map(tonic::Response::into_inner)
            .map_err(EtcdError::status("lease grant"))?;
        if !response.error.is_empty() {
            return Err(EtcdError::Status {
                op: "lease grant",
                status: tonic::Status::unknown(response.error),
            });
        }
        Ok(response)
    }

    /// Revokes `lease`, deleting the keys attached to it. A lease already gone fails with an
    /// error for which [`EtcdError::is_lease_not_found`] holds.
    pub async fn lease_revoke(&self, lease: i64) -> Result<LeaseRevokeResponse, EtcdError> {
        let mut client = self.lease.clone();
        client
            .lease_revoke(LeaseRevokeRequest { id: lease })
            .await
            .map(tonic::Response::into_inner)
            .map_err(EtcdError::status("lease revoke"))
    }

    /// Every lease etcd holds.
    pub async fn leases(&self) -> Result<LeaseLeasesResponse, EtcdError> {
        let mut client = self.lease.clone();
        client
            .lease_leases(LeaseLeasesRequest {})
            .await
            .map(tonic::Response::into_inner)
            .map_err(EtcdError::status("lease leases"))
    }

    /// Opens a keep-alive stream for `lease` and renews it once (the lease must exist: a
    /// missing one fails with [`EtcdError::LeaseNotFound`]). Renew it again with
    /// [`LeaseKeepAlive::keep_alive`], more often than its TTL.
    pub async fn lease_keep_alive(&self, lease: i64) -> Result<LeaseKeepAlive, EtcdError> {
        let (requests, receiver) = mpsc::channel(1);
        // The first request is queued before the call, so etcd answers it at once.
        requests
            .send(LeaseKeepAliveRequest { id: lease })
            .await
            .map_err(|_| EtcdError::StreamClosed {
                stream: "lease keepalive",
            })?;
        let mut client = self.lease.clone();
        let responses = client
            .lease_keep_alive(ReceiverStream::new(receiver))
            .await
            .map_err(EtcdError::status("lease keepalive"))?
            .into_inner();
        let mut keeper = LeaseKeepAlive {
            lease,
            requests,
            responses,
        };
        keeper.answer().await?;
        Ok(keeper)
    }

    /// Watches `key`, or every key under it with [`WatchOptions::with_prefix`]. Returns once
    /// etcd confirmed the watch: every change after that (or from the start revision) is
    /// reported on the stream.
    pub async fn watch(
        &self,
        key: impl Into<Vec<u8>>,
        options: WatchOptions,
    ) -> Result<WatchStream, EtcdError> {
        let key = key.into();
        let create = WatchCreateRequest {
            range_end: range_end(&key, options.prefix),
            key,
            start_revision: options.start_revision,
            ..WatchCreateRequest::default()
        };
        let (requests, receiver) = mpsc::channel(1);
        requests
            .send(WatchRequest {
                request_union: Some(watch_request::RequestUnion::CreateRequest(create)),
            })
            .await
            .map_err(|_| EtcdError::StreamClosed { stream: "watch" })?;
        let mut client = self.watch.clone();
        let mut responses = client
            .watch(ReceiverStream::new(receiver))
            .await
            .map_err(EtcdError::status("watch"))?
            .into_inner();
        let first = responses
            .message()
            .await
            .map_err(EtcdError::status("watch"))?
            .ok_or(EtcdError::StreamClosed { stream: "watch" })?;
        if first.canceled {
            return Err(EtcdError::WatchNotCreated {
                reason: first.cancel_reason,
            });
        }
        if !first.created {
            return Err(EtcdError::WatchNotCreated {
                reason: "etcd's first answer did not confirm the watch".to_string(),
            });
        }
        Ok(WatchStream {
            watch_id: first.watch_id,
            _requests: requests,
            responses,
        })
    }
}

/// A lease's keep-alive stream (from [`Client::lease_keep_alive`]). Dropping it ends the
/// stream; the lease then lives until its TTL runs out.
#[derive(Debug)]
pub struct LeaseKeepAlive {
    lease: i64,
    requests: mpsc::Sender<LeaseKeepAliveRequest>,
    responses: tonic::Streaming<LeaseKeepAliveResponse>,
}

impl LeaseKeepAlive {
    /// The lease.
    pub fn lease(&self) -> i64 {
        self.lease
    }

    /// Renews the lease: one request and etcd's answer, the lease's new TTL in seconds. A
    /// lease gone (expired or revoked) fails with [`EtcdError::LeaseNotFound`].
    pub async fn keep_alive(&mut self) -> Result<i64, EtcdError> {
        self.requests
            .send(LeaseKeepAliveRequest { id: self.lease })
            .await
            .map_err(|_| EtcdError::StreamClosed {
                stream: "lease keepalive",
            })?;
        self.answer().await
    }

    async fn answer(&mut self) -> Result<i64, EtcdError> {
        let response = self
            .responses
            .message()
            .await
            .map_err(EtcdError::status("lease keepalive"))?
            .ok_or(EtcdError::StreamClosed {
                stream: "lease keepalive",
            })?;
        if response.ttl <= 0 {
            return Err(EtcdError::LeaseNotFound { lease: self.lease });
        }
        Ok(response.ttl)
    }
}

/// The answers of one watch (from [`Client::watch`]). Dropping it ends the watch.
#[derive(Debug)]
pub struct WatchStream {
    watch_id: i64,
    /// Kept open for the watch's lifetime (closing the request side is not needed to end it;
    /// dropping the stream resets it).
    _requests: mpsc::Sender<WatchRequest>,
    responses: tonic::Streaming<WatchResponse>,
}

impl WatchStream {
    /// The id etcd gave the watch.
    pub fn watch_id(&self) -> i64 {
        self.watch_id
    }

    /// The next answer: events (in revision order), or a cancellation (`canceled`, with
    /// `compact_revision` set when the start revision was compacted away). `None` when etcd
    /// ended the stream.
    pub async fn message(&mut self) -> Result<Option<WatchResponse>, EtcdError> {
        self.responses
            .message()
            .await
            .map_err(EtcdError::status("watch"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_range_ends_after_its_last_incrementable_byte() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"/microservices/greeter/", b"/microservices/greeter0"),
            (b"a", b"b"),
            (b"a\xff", b"b"),
            (b"a\xfe\xff\xff", b"a\xff"),
            (b"\x00", b"\x01"),
            (b"\xff\xff", b"\x00"),
            (b"", b"\x00"),
        ];
        for (prefix, end) in cases {
            assert_eq!(prefix_range_end(prefix), *end, "prefix {prefix:?}");
        }
    }

    #[test]
    fn endpoints_accept_http_urls_and_host_port_only() {
        let options = ConnectOptions::new();
        for ok in [
            "http://127.0.0.1:2379",
            "127.0.0.1:2379",
            "etcd.local:2379",
            "[::1]:2379",
            "http://[::1]:2379",
        ] {
            let e = endpoint(ok, &options).map_err(|e| e.to_string());
            assert!(e.is_ok(), "{ok}: {e:?}");
        }
        assert_eq!(
            endpoint("127.0.0.1:2379", &options)
                .map(|e| e.uri().to_string())
                .map_err(|e| e.to_string()),
            Ok("http://127.0.0.1:2379/".to_string())
        );
        for bad in [
            "https://127.0.0.1:2379",
            "unix:///run/etcd.sock",
            "http://",
            "a b:1",
            "127.0.0.1:port",
            "http://127.0.0.1:99999",
        ] {
            match endpoint(bad, &options) {
                Err(EtcdError::Endpoint { endpoint, .. }) => assert_eq!(endpoint, bad),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn connecting_needs_an_endpoint_but_no_server() {
        let none: [&str; 0] = [];
        assert!(matches!(
            Client::connect(none, ConnectOptions::new()).await,
            Err(EtcdError::NoEndpoints)
        ));
        // Nothing listens on port 1: the client is made all the same (lazily).
        assert!(
            Client::connect(["127.0.0.1:1"], ConnectOptions::new())
                .await
                .is_ok()
        );
    }

    #[test]
    fn lease_not_found_is_recognised_by_code_or_message() {
        let status = |code, message: &str| EtcdError::Status {
            op: "lease revoke",
            status: tonic::Status::new(code, message),
        };
        assert!(
            status(
                tonic::Code::NotFound,
                "etcdserver: requested lease not found"
            )
            .is_lease_not_found()
        );
        assert!(
            status(
                tonic::Code::Unknown,
                "etcdserver: requested lease not found"
            )
            .is_lease_not_found()
        );
        assert!(EtcdError::LeaseNotFound { lease: 7 }.is_lease_not_found());
        assert!(!status(tonic::Code::Unavailable, "connection refused").is_lease_not_found());
        assert!(
            !EtcdError::StreamClosed {
                stream: "lease keepalive"
            }
            .is_lease_not_found()
        );
    }
}
