//! The HTTP client with a `discovery:///` endpoint (Kratos' `WithDiscovery`), against real
//! servers and an in-memory registry whose instance list the tests change.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http::{Method, Response};
use kratos::http::Client;
use kratos::registry::{BoxFuture, Discovery, RegistryError, ServiceInstance, Watcher};
use kratos::transport::Server as _;
use tokio::sync::watch;

/// A registry in memory: one service's instance list, and how many watchers are open.
struct MemoryDiscovery {
    instances: watch::Sender<Vec<ServiceInstance>>,
    open_watchers: Arc<AtomicUsize>,
}

impl MemoryDiscovery {
    fn new() -> Arc<Self> {
        Arc::new(MemoryDiscovery {
            instances: watch::channel(Vec::new()).0,
            open_watchers: Arc::new(AtomicUsize::new(0)),
        })
    }

    fn set(&self, instances: Vec<ServiceInstance>) {
        self.instances.send_replace(instances);
    }
}

struct MemoryWatcher {
    rx: watch::Receiver<Vec<ServiceInstance>>,
    first: bool,
    open: Arc<AtomicUsize>,
}

impl Drop for MemoryWatcher {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Discovery for MemoryDiscovery {
    fn get_service<'a>(
        &'a self,
        _name: &'a str,
    ) -> BoxFuture<'a, Result<Vec<ServiceInstance>, RegistryError>> {
        Box::pin(async move { Ok(self.instances.borrow().clone()) })
    }

    fn watch<'a>(
        &'a self,
        _name: &'a str,
    ) -> BoxFuture<'a, Result<Box<dyn Watcher>, RegistryError>> {
        Box::pin(async move {
            self.open_watchers.fetch_add(1, Ordering::SeqCst);
            Ok(Box::new(MemoryWatcher {
                rx: self.instances.subscribe(),
                first: true,
                open: self.open_watchers.clone(),
            }) as Box<dyn Watcher>)
        })
    }
}

impl Watcher for MemoryWatcher {
    fn next(&mut self) -> BoxFuture<'_, Result<Vec<ServiceInstance>, RegistryError>> {
        Box::pin(async move {
            if !std::mem::take(&mut self.first) {
                self.rx
                    .changed()
                    .await
                    .map_err(|_| RegistryError::WatcherStopped)?;
            }
            Ok(self.rx.borrow_and_update().clone())
        })
    }

    fn stop(&mut self) -> BoxFuture<'_, Result<(), RegistryError>> {
        Box::pin(async { Ok(()) })
    }
}

/// A server answering `GET /whoami` with `name`.
async fn server(name: &'static str) -> (kratos::http::Server, SocketAddr) {
    let mut server = kratos::http::Server::builder()
        .address("127.0.0.1:0")
        .build();
    server
        .handle("GET", "/whoami", move |_, _| async move {
            Response::new(bytes::Bytes::from(name))
        })
        .unwrap();
    let addr = server.start().await.unwrap();
    (server, addr)
}

fn instance(id: &str, addr: SocketAddr, version: &str, weight: Option<&str>) -> ServiceInstance {
    let mut i = ServiceInstance::new(id, "whoami")
        .with_version(version)
        .with_endpoint(format!("grpc://{addr}"))
        .with_endpoint(format!("http://{addr}"));
    if let Some(w) = weight {
        i = i.with_metadata("weight", w);
    }
    i
}

async fn whoami(client: &Client) -> Result<String, kratos::errors::Error> {
    let (_, body) = client.send(Method::GET, "/whoami", None).await?;
    Ok(String::from_utf8(body.to_vec()).unwrap())
}

/// Calls until `done` holds for an answer (the resolver applies updates in the background).
async fn eventually(
    client: &Client,
    done: impl Fn(&Result<String, kratos::errors::Error>) -> bool,
) {
    for _ in 0..200 {
        if done(&whoami(client).await) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the client never saw the registry's change");
}

async fn picks(client: &Client, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(whoami(client).await.unwrap());
    }
    out
}

#[tokio::test]
async fn requests_are_balanced_over_the_registered_instances_and_follow_changes() {
    let (mut a, a_addr) = server("a").await;
    let (mut b, b_addr) = server("b").await;
    let registry = MemoryDiscovery::new();
    registry.set(vec![
        instance("a", a_addr, "v1", None),
        instance("b", b_addr, "v1", None),
    ]);
    let client = Client::builder("discovery:///whoami")
        .discovery(registry.clone())
        .connect()
        .await
        .unwrap();
    assert_eq!(picks(&client, 4).await, ["a", "b", "a", "b"]);

    // Weights from the instances' metadata, 1 to 3, with a new instance: once the client
    // sees it, any 8 picks (two rounds of the balancer) are 2 and 6.
    let (mut c, c_addr) = server("c").await;
    registry.set(vec![
        instance("a", a_addr, "v1", Some("1")),
        instance("c", c_addr, "v1", Some("3")),
    ]);
    eventually(&client, |r| r.as_deref() == Ok("c")).await;
    let got = picks(&client, 8).await;
    assert_eq!(got.iter().filter(|n| *n == "a").count(), 2, "{got:?}");
    assert_eq!(got.iter().filter(|n| *n == "c").count(), 6, "{got:?}");
    c.stop().await.unwrap();

    // An instance leaves: no request goes to it any more.
    registry.set(vec![instance("a", a_addr, "v1", None)]);
    eventually(&client, |r| r.as_deref() == Ok("a")).await;
    assert_eq!(picks(&client, 3).await, ["a", "a", "a"]);

    // An empty list is ignored, as Kratos does: the last nodes are kept.
    registry.set(Vec::new());
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(picks(&client, 2).await, ["a", "a"]);

    a.stop().await.unwrap();
    b.stop().await.unwrap();
}

#[tokio::test]
async fn node_filters_choose_among_the_instances() {
    let (mut a, a_addr) = server("a").await;
    let (mut b, b_addr) = server("b").await;
    let registry = MemoryDiscovery::new();
    registry.set(vec![
        instance("a", a_addr, "v1", None),
        instance("b", b_addr, "v2", None),
    ]);
    let client = Client::builder("discovery:///whoami")
        .discovery(registry.clone())
        .node_filter(kratos::selector::version("v2"))
        .connect()
        .await
        .unwrap();
    assert_eq!(picks(&client, 3).await, ["b", "b", "b"]);

    // No instance passes the filter: 503 NODE_NOT_FOUND, as Kratos' client answers.
    let none = Client::builder("discovery:///whoami")
        .discovery(registry.clone())
        .node_filter(kratos::selector::version("v3"))
        .connect()
        .await
        .unwrap();
    let err = whoami(&none).await.unwrap_err();
    assert_eq!((err.code(), err.reason()), (503, "NODE_NOT_FOUND"));
    assert!(err.message().contains("no_available_node"), "{err}");
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}

#[tokio::test]
async fn without_instances_calls_fail_and_connect_gives_up_after_the_timeout() {
    let registry = MemoryDiscovery::new();
    let client = Client::builder("discovery:///whoami")
        .discovery(registry.clone())
        .build()
        .unwrap();
    let err = whoami(&client).await.unwrap_err();
    assert_eq!((err.code(), err.reason()), (503, "NODE_NOT_FOUND"));

    let err = Client::builder("discovery:///whoami")
        .discovery(registry.clone())
        .timeout(Duration::from_millis(100))
        .connect()
        .await
        .unwrap_err();
    assert!(err.reason.contains("no instance"), "{err}");

    // Instances without an http endpoint are no nodes either.
    registry.set(vec![
        ServiceInstance::new("g", "whoami").with_endpoint("grpc://127.0.0.1:9"),
    ]);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(whoami(&client).await.unwrap_err().code(), 503);
}

#[tokio::test]
async fn the_resolver_stops_with_the_last_clone_of_the_client() {
    let (mut a, a_addr) = server("a").await;
    let registry = MemoryDiscovery::new();
    registry.set(vec![instance("a", a_addr, "v1", None)]);
    let client = Client::builder("discovery:///whoami")
        .discovery(registry.clone())
        .connect()
        .await
        .unwrap();
    let clone = client.clone();
    assert_eq!(registry.open_watchers.load(Ordering::SeqCst), 1);
    drop(client);
    assert_eq!(whoami(&clone).await.unwrap(), "a");
    assert_eq!(registry.open_watchers.load(Ordering::SeqCst), 1);
    drop(clone);
    for _ in 0..100 {
        if registry.open_watchers.load(Ordering::SeqCst) == 0 {
            a.stop().await.unwrap();
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the resolver's watcher is still open");
}

#[test]
fn discovery_endpoints_need_a_registry_and_a_runtime() {
    let err = Client::builder("discovery:///whoami").build().unwrap_err();
    assert!(err.reason.contains("needs a registry"), "{err}");
    let err = Client::builder("discovery:///whoami")
        .discovery(MemoryDiscovery::new())
        .build()
        .unwrap_err();
    assert!(err.reason.contains("tokio runtime"), "{err}");
    let err = Client::builder("discovery:///")
        .discovery(MemoryDiscovery::new())
        .build()
        .unwrap_err();
    assert!(err.reason.contains("empty"), "{err}");
    // A plain address with a registry is called directly, as Kratos does.
    assert!(
        Client::builder("127.0.0.1:8888")
            .discovery(MemoryDiscovery::new())
            .build()
            .is_ok()
    );
}
