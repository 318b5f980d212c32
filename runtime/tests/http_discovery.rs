//! The HTTP client with a `discovery:///` endpoint (Kratos' `WithDiscovery`), against real
//! servers registered in the in-memory registry.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::{Method, Response};
use kratos::http::Client;
use kratos::registry::memory::MemoryRegistry;
use kratos::registry::{Registrar as _, ServiceInstance};
use kratos::transport::Server as _;

/// The registry of the tests, where `set` replaces the instances of service `whoami`.
#[derive(Clone, Default)]
struct Registry(MemoryRegistry);

impl Registry {
    async fn set(&self, instances: Vec<ServiceInstance>) {
        for old in kratos::registry::Discovery::get_service(&self.0, "whoami")
            .await
            .unwrap()
        {
            if !instances.iter().any(|i| i.id == old.id) {
                self.0.deregister(&old).await.unwrap();
            }
        }
        for instance in &instances {
            self.0.register(instance).await.unwrap();
        }
    }

    fn discovery(&self) -> Arc<MemoryRegistry> {
        Arc::new(self.0.clone())
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
    for _ in 0..500 {
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
    let registry = Registry::default();
    registry
        .set(vec![
            instance("a", a_addr, "v1", None),
            instance("b", b_addr, "v1", None),
        ])
        .await;
    let client = Client::builder("discovery:///whoami")
        .discovery(registry.discovery())
        .connect()
        .await
        .unwrap();
    assert_eq!(picks(&client, 4).await, ["a", "b", "a", "b"]);

    // Weights from the instances' metadata, 1 to 3, with a new instance: once the client
    // sees it, any 8 picks (two rounds of the balancer) are 2 and 6.
    let (mut c, c_addr) = server("c").await;
    registry
        .set(vec![
            instance("a", a_addr, "v1", Some("1")),
            instance("c", c_addr, "v1", Some("3")),
        ])
        .await;
    eventually(&client, |r| r.as_deref() == Ok("c")).await;
    let got = picks(&client, 8).await;
    assert_eq!(got.iter().filter(|n| *n == "a").count(), 2, "{got:?}");
    assert_eq!(got.iter().filter(|n| *n == "c").count(), 6, "{got:?}");
    c.stop().await.unwrap();

    // An instance leaves: no request goes to it any more.
    registry.set(vec![instance("a", a_addr, "v1", None)]).await;
    eventually(&client, |r| r.as_deref() == Ok("a")).await;
    assert_eq!(picks(&client, 3).await, ["a", "a", "a"]);

    // An empty list is ignored, as Kratos does: the last nodes are kept.
    registry.set(Vec::new()).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(picks(&client, 2).await, ["a", "a"]);

    a.stop().await.unwrap();
    b.stop().await.unwrap();
}

#[tokio::test]
async fn node_filters_choose_among_the_instances() {
    let (mut a, a_addr) = server("a").await;
    let (mut b, b_addr) = server("b").await;
    let registry = Registry::default();
    registry
        .set(vec![
            instance("a", a_addr, "v1", None),
            instance("b", b_addr, "v2", None),
        ])
        .await;
    let client = Client::builder("discovery:///whoami")
        .discovery(registry.discovery())
        .node_filter(kratos::selector::version("v2"))
        .connect()
        .await
        .unwrap();
    assert_eq!(picks(&client, 3).await, ["b", "b", "b"]);

    // No instance passes the filter: 503 NODE_NOT_FOUND, as Kratos' client answers.
    let none = Client::builder("discovery:///whoami")
        .discovery(registry.discovery())
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
    let registry = Registry::default();
    let client = Client::builder("discovery:///whoami")
        .discovery(registry.discovery())
        .build()
        .unwrap();
    let err = whoami(&client).await.unwrap_err();
    assert_eq!((err.code(), err.reason()), (503, "NODE_NOT_FOUND"));

    let err = Client::builder("discovery:///whoami")
        .discovery(registry.discovery())
        .timeout(Duration::from_millis(100))
        .connect()
        .await
        .unwrap_err();
    assert!(err.reason.contains("no instance"), "{err}");

    // Instances without an http endpoint are no nodes either.
    registry
        .set(vec![
            ServiceInstance::new("g", "whoami").with_endpoint("grpc://127.0.0.1:9"),
        ])
        .await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(whoami(&client).await.unwrap_err().code(), 503);
}

#[tokio::test]
async fn the_resolver_stops_with_the_last_clone_of_the_client() {
    let (mut a, a_addr) = server("a").await;
    let registry = Registry::default();
    registry.set(vec![instance("a", a_addr, "v1", None)]).await;
    let client = Client::builder("discovery:///whoami")
        .discovery(registry.discovery())
        .connect()
        .await
        .unwrap();
    let clone = client.clone();
    assert_eq!(registry.0.open_watchers(), 1);
    drop(client);
    assert_eq!(whoami(&clone).await.unwrap(), "a");
    assert_eq!(registry.0.open_watchers(), 1);
    drop(clone);
    for _ in 0..500 {
        if registry.0.open_watchers() == 0 {
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
        .discovery(Arc::new(MemoryRegistry::new()))
        .build()
        .unwrap_err();
    assert!(err.reason.contains("tokio runtime"), "{err}");
    let err = Client::builder("discovery:///")
        .discovery(Arc::new(MemoryRegistry::new()))
        .build()
        .unwrap_err();
    assert!(err.reason.contains("empty"), "{err}");
    // A plain address with a registry is called directly, as Kratos does.
    assert!(
        Client::builder("127.0.0.1:8888")
            .discovery(Arc::new(MemoryRegistry::new()))
            .build()
            .is_ok()
    );
}
