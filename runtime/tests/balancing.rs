//! Calls balanced through `kratos::selector` on real servers found in the in-memory registry:
//! the gRPC channel picks a node per call (wrr by weight, version filter, weight 0 skipped,
//! p2c preferring the faster node), and the HTTP client does the same with p2c.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use kratos::grpc::ChannelBuilder;
use kratos::registry::memory::MemoryRegistry;
use kratos::registry::{Registrar as _, ServiceInstance};
use kratos::selector::{Balancer, version};
use kratos::transport::Server as _;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::health_server::{Health, HealthServer};
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};

/// A gRPC service (the health protocol's `Check`) that counts its calls and answers after
/// `delay`.
struct Counting {
    calls: Arc<AtomicUsize>,
    delay: Duration,
}

#[tonic::async_trait]
impl Health for Counting {
    async fn check(
        &self,
        _request: tonic::Request<HealthCheckRequest>,
    ) -> Result<tonic::Response<HealthCheckResponse>, tonic::Status> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        Ok(tonic::Response::new(HealthCheckResponse { status: 1 }))
    }

    type WatchStream = tokio_stream::Empty<Result<HealthCheckResponse, tonic::Status>>;

    async fn watch(
        &self,
        _request: tonic::Request<HealthCheckRequest>,
    ) -> Result<tonic::Response<Self::WatchStream>, tonic::Status> {
        Err(tonic::Status::unimplemented("watch"))
    }
}

/// A started gRPC server and its call counter.
struct Node {
    _server: kratos::grpc::Server,
    addr: SocketAddr,
    calls: Arc<AtomicUsize>,
}

async fn grpc_node(delay: Duration) -> Node {
    let calls = Arc::new(AtomicUsize::new(0));
    let mut server = kratos::grpc::Server::builder()
        .address("127.0.0.1:0")
        .build();
    server
        .add_service(HealthServer::new(Counting {
            calls: calls.clone(),
            delay,
        }))
        .unwrap();
    let addr = server.start().await.unwrap();
    Node {
        _server: server,
        addr,
        calls,
    }
}

fn instance(id: &str, endpoint: String, version: &str, weight: Option<&str>) -> ServiceInstance {
    let mut i = ServiceInstance::new(id, "counted")
        .with_version(version)
        .with_endpoint(endpoint);
    if let Some(w) = weight {
        i = i.with_metadata("weight", w);
    }
    i
}

async fn registry(instances: &[ServiceInstance]) -> Arc<MemoryRegistry> {
    let registry = MemoryRegistry::new();
    for i in instances {
        registry.register(i).await.unwrap();
    }
    Arc::new(registry)
}

async fn channel(builder: ChannelBuilder) -> HealthClient<kratos::grpc::ClientChannel> {
    HealthClient::new(
        builder
            .timeout(Duration::from_secs(5))
            .connect()
            .await
            .unwrap(),
    )
}

async fn calls(client: &mut HealthClient<kratos::grpc::ClientChannel>, n: usize) {
    for _ in 0..n {
        client
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .unwrap();
    }
}

fn counts(nodes: &[&Node]) -> Vec<usize> {
    nodes
        .iter()
        .map(|n| n.calls.load(Ordering::SeqCst))
        .collect()
}

#[tokio::test]
async fn grpc_wrr_spreads_calls_by_weight_10_20_over_90_calls_as_30_60() {
    let (a, b) = (
        grpc_node(Duration::ZERO).await,
        grpc_node(Duration::ZERO).await,
    );
    let registry = registry(&[
        instance("a", format!("grpc://{}", a.addr), "v1", Some("10")),
        instance("b", format!("grpc://{}", b.addr), "v1", Some("20")),
    ])
    .await;
    let mut client = channel(ChannelBuilder::new("discovery:///counted").discovery(registry)).await;
    calls(&mut client, 90).await;
    assert_eq!(counts(&[&a, &b]), [30, 60]);
    // Equal weights (both default 100) alternate, with middleware on the channel too.
    let (c, d) = (
        grpc_node(Duration::ZERO).await,
        grpc_node(Duration::ZERO).await,
    );
    let registry = registry_of(&[&c, &d]).await;
    let mut client = channel(
        ChannelBuilder::new("discovery:///counted")
            .discovery(registry)
            .middleware(kratos::middleware::recovery()),
    )
    .await;
    calls(&mut client, 10).await;
    assert_eq!(counts(&[&c, &d]), [5, 5]);
}

async fn registry_of(nodes: &[&Node]) -> Arc<MemoryRegistry> {
    let instances: Vec<ServiceInstance> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| instance(&i.to_string(), format!("grpc://{}", n.addr), "v1", None))
        .collect();
    registry(&instances).await
}

#[tokio::test]
async fn grpc_version_filter_and_weight_zero_decide_the_candidates() {
    let (v1, v2a, v2b, drained) = (
        grpc_node(Duration::ZERO).await,
        grpc_node(Duration::ZERO).await,
        grpc_node(Duration::ZERO).await,
        grpc_node(Duration::ZERO).await,
    );
    let registry = registry(&[
        instance("v1", format!("grpc://{}", v1.addr), "v1", None),
        instance("v2a", format!("grpc://{}", v2a.addr), "v2", Some("10")),
        instance("v2b", format!("grpc://{}", v2b.addr), "v2", Some("30")),
        instance(
            "drained",
            format!("grpc://{}", drained.addr),
            "v2",
            Some("0"),
        ),
    ])
    .await;
    for balancer in [Balancer::Wrr, Balancer::P2c, Balancer::Random] {
        let before = counts(&[&v1, &v2a, &v2b, &drained]);
        let mut client = channel(
            ChannelBuilder::new("discovery:///counted")
                .discovery(registry.clone())
                .balancer(balancer)
                .node_filter(version("v2")),
        )
        .await;
        calls(&mut client, 40).await;
        let after = counts(&[&v1, &v2a, &v2b, &drained]);
        let delta: Vec<usize> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
        assert_eq!(delta[0], 0, "{balancer:?}: the v1 node was called");
        assert_eq!(delta[3], 0, "{balancer:?}: the weight-0 node was called");
        assert_eq!(delta[1] + delta[2], 40, "{balancer:?}");
        if balancer == Balancer::Wrr {
            assert_eq!((delta[1], delta[2]), (10, 30));
        }
    }
    // No candidate at all: the call fails UNAVAILABLE with Kratos' reason.
    let mut client = channel(
        ChannelBuilder::new("discovery:///counted")
            .discovery(registry)
            .node_filter(version("v9")),
    )
    .await;
    let status = client
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
}

/// p2c measures each node's latency and sends most calls to the faster one: here one node
/// answers after 30 ms, the other at once. Each node is measured first (a node never picked is
/// picked once), and the slow one is tried again only after 3 s without a pick.
#[tokio::test]
async fn grpc_p2c_prefers_the_faster_node() {
    let (slow, fast) = (
        grpc_node(Duration::from_millis(30)).await,
        grpc_node(Duration::ZERO).await,
    );
    let registry = registry_of(&[&slow, &fast]).await;
    let mut client = channel(
        ChannelBuilder::new("discovery:///counted")
            .discovery(registry)
            .balancer(Balancer::P2c),
    )
    .await;
    calls(&mut client, 100).await;
    let [s, f] = counts(&[&slow, &fast])[..] else {
        unreachable!()
    };
    eprintln!("grpc p2c: slow {s}, fast {f}");
    assert_eq!(s + f, 100);
    assert!(s >= 1, "the slow node was never measured");
    assert!(
        f >= 90,
        "the fast node got {f} of 100 calls, the slow one {s}"
    );
}

/// Nodes that leave the registry stop getting calls, and the calls go on to those that stay.
#[tokio::test]
async fn grpc_nodes_follow_the_registry() {
    let (a, b) = (
        grpc_node(Duration::ZERO).await,
        grpc_node(Duration::ZERO).await,
    );
    let ia = instance("a", format!("grpc://{}", a.addr), "v1", None);
    let ib = instance("b", format!("grpc://{}", b.addr), "v1", None);
    let registry = registry(&[ia.clone(), ib]).await;
    let mut client =
        channel(ChannelBuilder::new("discovery:///counted").discovery(registry.clone())).await;
    calls(&mut client, 4).await;
    assert_eq!(counts(&[&a, &b]), [2, 2]);
    registry.deregister(&ia).await.unwrap();
    // The resolver applies the change in the background.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let before = counts(&[&a, &b]);
        calls(&mut client, 4).await;
        let after = counts(&[&a, &b]);
        if after[0] == before[0] {
            assert_eq!(after[1] - before[1], 4);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "node a still called"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The HTTP client balances with p2c too: the slow server (30 ms) gets few calls.
#[tokio::test]
async fn http_client_p2c_prefers_the_faster_node() {
    async fn http_node(
        delay: Duration,
        calls: Arc<AtomicUsize>,
    ) -> (kratos::http::Server, SocketAddr) {
        let mut server = kratos::http::Server::builder()
            .address("127.0.0.1:0")
            .build();
        server
            .handle("GET", "/work", move |_, _| {
                let calls = calls.clone();
                async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(delay).await;
                    http::Response::new(bytes::Bytes::from_static(b"done"))
                }
            })
            .unwrap();
        let addr = server.start().await.unwrap();
        (server, addr)
    }
    let (slow_calls, fast_calls) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (_slow, slow_addr) = http_node(Duration::from_millis(30), slow_calls.clone()).await;
    let (_fast, fast_addr) = http_node(Duration::ZERO, fast_calls.clone()).await;
    let registry = registry(&[
        instance("slow", format!("http://{slow_addr}"), "v1", None),
        instance("fast", format!("http://{fast_addr}"), "v1", None),
    ])
    .await;
    let client = kratos::http::Client::builder("discovery:///counted")
        .discovery(registry)
        .balancer(Balancer::P2c)
        .timeout(Duration::from_secs(5))
        .connect()
        .await
        .unwrap();
    for _ in 0..100 {
        client.send(http::Method::GET, "/work", None).await.unwrap();
    }
    let (s, f) = (
        slow_calls.load(Ordering::SeqCst),
        fast_calls.load(Ordering::SeqCst),
    );
    eprintln!("http p2c: slow {s}, fast {f}");
    assert_eq!(s + f, 100);
    assert!(
        f >= 90,
        "the fast node got {f} of 100 calls, the slow one {s}"
    );
}

/// Client-side health checking (on by default): a node whose gRPC health turns NOT_SERVING is
/// no longer picked while it still runs; without health checking it still is. Each server
/// knows one extra health name (`node.a`, `node.b`), so `Check("node.b")` tells which server
/// answered (`NOT_FOUND` from the other).
#[tokio::test]
async fn grpc_health_checking_skips_nodes_not_serving() {
    use kratos::health::Health;
    async fn node(name: &'static str) -> (kratos::grpc::Server, SocketAddr, Health) {
        let health = Health::new();
        let mut server = kratos::grpc::Server::builder()
            .address("127.0.0.1:0")
            .build();
        health.register_grpc(&mut server, [name]);
        let addr = server.start().await.unwrap();
        (server, addr, health)
    }
    async fn answers(client: &mut HealthClient<kratos::grpc::ClientChannel>) -> (usize, usize) {
        let (mut b, mut other) = (0, 0);
        for _ in 0..10 {
            match client
                .check(HealthCheckRequest {
                    service: "node.b".into(),
                })
                .await
            {
                Ok(_) => b += 1,
                Err(status) if status.code() == tonic::Code::NotFound => other += 1,
                Err(status) => panic!("{status:?}"),
            }
        }
        (b, other)
    }
    let (_a, a_addr, a_health) = node("node.a").await;
    let (_b, b_addr, _b_health) = node("node.b").await;
    let registry = registry(&[
        instance("a", format!("grpc://{a_addr}"), "v1", None),
        instance("b", format!("grpc://{b_addr}"), "v1", None),
    ])
    .await;
    let mut checked =
        channel(ChannelBuilder::new("discovery:///counted").discovery(registry.clone())).await;
    let mut unchecked = channel(
        ChannelBuilder::new("discovery:///counted")
            .discovery(registry)
            .health_check(false),
    )
    .await;
    let (b, a) = answers(&mut checked).await;
    assert!(a > 0 && b > 0, "both nodes serve: a {a}, b {b}");

    a_health.set_stopping();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let (b, a) = answers(&mut checked).await;
        if a == 0 {
            assert_eq!(b, 10);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the node not serving is still picked"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (b, a) = answers(&mut unchecked).await;
    assert!(
        a > 0 && b > 0,
        "without health checking both are picked: a {a}, b {b}"
    );
}
