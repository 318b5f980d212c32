//! The Consul registry against an in-process fake agent that records every call: Kratos'
//! registration shape, heartbeats, 404-tolerant deregistration, health-filtered blocking
//! discovery, and the races of Kratos #3147 (a heartbeat scheduled, in flight, or in its
//! re-registration backoff while deregister runs), made deterministic by holding or failing
//! calls in the fake.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "registry_support/mod.rs"]
mod support;

use std::time::Duration;

use kratos::registry::consul::ConsulRegistry;
use kratos::registry::{Discovery, Registrar, RegistryError, ServiceInstance};
use support::fake_consul::{Call, FakeConsul, Kind};

const INTERVAL: Duration = Duration::from_millis(200);
const PATIENCE: Duration = Duration::from_secs(20);

fn registry(fake: &FakeConsul) -> ConsulRegistry {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    ConsulRegistry::builder(fake.url())
        .heartbeat_interval(INTERVAL)
        .op_timeout(Duration::from_secs(2))
        .backoff(Duration::from_millis(100), Duration::from_millis(400))
        .wait_time(Duration::from_secs(2))
        .build()
        .unwrap()
}

fn instance(id: &str) -> ServiceInstance {
    ServiceInstance::new(id, "greeter")
        .with_version("v1.2.3")
        .with_metadata("weight", "10")
        .with_endpoint("http://127.0.0.1:8000")
        .with_endpoint("grpc://127.0.0.1:9000")
}

/// The position of the (single) deregister call for `id`.
fn deregister_seq(fake: &FakeConsul, id: &str) -> usize {
    let calls = fake.calls_of(Kind::Deregister, id);
    assert!(!calls.is_empty(), "no deregister call for {id}");
    calls[0].seq
}

/// Calls for `id` (other than health queries) that arrived after position `seq`.
fn calls_after(fake: &FakeConsul, id: &str, seq: usize) -> Vec<Call> {
    fake.calls()
        .into_iter()
        .filter(|c| c.seq > seq && c.id == id && c.kind != Kind::Health)
        .collect()
}

/// After deregister: nothing but the deregistration itself arrives for `id`, during three
/// heartbeat intervals (and three TTLs of the check, 2 × interval each).
async fn assert_silent_after_deregister(fake: &FakeConsul, reg: &ConsulRegistry, id: &str) {
    assert_eq!(reg.stats().live_heartbeats, 0, "{:?}", reg.stats());
    let seq = deregister_seq(fake, id);
    tokio::time::sleep(INTERVAL * 6).await;
    let late: Vec<Call> = calls_after(fake, id, seq)
        .into_iter()
        .filter(|c| c.kind != Kind::Deregister)
        .collect();
    assert!(
        late.is_empty(),
        "calls for {id} after deregister: {late:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_heartbeat_and_deregistration_follow_kratos() {
    let fake = FakeConsul::start().await;
    let reg = registry(&fake);
    let a = instance("a1");
    reg.register(&a).await.unwrap();

    let registration = &fake.calls_of(Kind::Register, "a1")[0];
    let body: serde_json::Value = serde_json::from_str(&registration.body).unwrap();
    assert_eq!(body["ID"], "a1");
    assert_eq!(body["Name"], "greeter");
    assert_eq!(body["Tags"], serde_json::json!(["version=v1.2.3"]));
    assert_eq!(body["Meta"], serde_json::json!({"weight": "10"}));
    assert_eq!(body["Address"], "127.0.0.1");
    assert_eq!(body["Port"], 8000);
    assert_eq!(
        body["TaggedAddresses"],
        serde_json::json!({
            "http": {"Address": "http://127.0.0.1:8000", "Port": 8000},
            "grpc": {"Address": "grpc://127.0.0.1:9000", "Port": 9000},
        })
    );
    let checks = body["Checks"].as_array().unwrap();
    assert_eq!(
        checks.len(),
        3,
        "two TCP checks and the TTL check: {checks:?}"
    );
    assert_eq!(checks[0]["TCP"], "127.0.0.1:8000");
    let ttl = &checks[2];
    assert_eq!(ttl["CheckID"], "service:a1");
    assert_eq!(ttl["TTL"], "400ms");
    assert_eq!(ttl["Status"], "critical");
    assert_eq!(ttl["DeregisterCriticalServiceAfter"], "600s");

    // Heartbeats pass the TTL check, immediately and then every interval.
    fake.wait_for("three heartbeats", PATIENCE, |calls| {
        calls
            .iter()
            .filter(|c| c.kind == Kind::Update && c.status == Some(200))
            .count()
            >= 3
    })
    .await;
    let update = &fake.calls_of(Kind::Update, "a1")[0];
    assert!(
        update.uri.ends_with("/v1/agent/check/update/service:a1"),
        "{}",
        update.uri
    );
    assert_eq!(update.body, r#"{"Status":"passing","Output":"pass"}"#);
    assert_eq!(fake.services()["a1"].ttl_status, "passing");

    // Health-filtered discovery gives back the instance as registered.
    let found = reg.get_service("greeter").await.unwrap();
    assert_eq!(found.len(), 1);
    assert!(found[0].same_as(&a), "{found:?}");
    assert_eq!(found[0].endpoint("grpc"), Some("127.0.0.1:9000"));

    reg.deregister(&a).await.unwrap();
    assert!(fake.services().is_empty());
    // Deregistering again: the agent answers 404, which counts as success.
    reg.deregister(&a).await.unwrap();
    assert_eq!(
        fake.calls_of(Kind::Deregister, "a1")[1].status,
        Some(404),
        "second deregister reached the agent"
    );
    assert_silent_after_deregister(&fake, &reg, "a1").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn race_3147_heartbeat_in_flight_during_deregister_does_not_reregister() {
    let fake = FakeConsul::start().await;
    let reg = registry(&fake);
    let a = instance("a");
    fake.hold(Kind::Update);
    reg.register(&a).await.unwrap();
    // The heartbeat's update is now in flight (held by the agent).
    fake.wait_for("an update in flight", PATIENCE, |calls| {
        calls
            .iter()
            .any(|c| c.kind == Kind::Update && c.status.is_none())
    })
    .await;

    tokio::time::timeout(Duration::from_secs(10), reg.deregister(&a))
        .await
        .expect("deregister does not wait for the held update")
        .unwrap();
    assert_eq!(reg.stats().live_heartbeats, 0);
    let dereg = deregister_seq(&fake, "a");
    assert!(
        fake.calls_of(Kind::Update, "a")
            .iter()
            .all(|c| c.seq < dereg)
    );

    // The agent now answers the held update: 404, the service is gone. In Kratos before
    // #3147 this made the heartbeat re-register; here nobody is listening any more.
    fake.release(Kind::Update);
    fake.wait_for("the held update answered", PATIENCE, |calls| {
        calls
            .iter()
            .any(|c| c.kind == Kind::Update && c.status == Some(404))
    })
    .await;
    assert_silent_after_deregister(&fake, &reg, "a").await;
    assert_eq!(fake.calls_of(Kind::Register, "a").len(), 1);
    assert!(fake.services().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn race_3147_heartbeat_scheduled_during_deregister_never_fires() {
    let fake = FakeConsul::start().await;
    let reg = registry(&fake);
    let a = instance("a");
    reg.register(&a).await.unwrap();
    // One update answered: the heartbeat is now waiting for its next tick.
    fake.wait_for("one update", PATIENCE, |calls| {
        calls
            .iter()
            .any(|c| c.kind == Kind::Update && c.status == Some(200))
    })
    .await;
    reg.deregister(&a).await.unwrap();
    assert_silent_after_deregister(&fake, &reg, "a").await;
    assert!(fake.services().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deregister_during_reregistration_backoff_stops_it() {
    let fake = FakeConsul::start().await;
    // A long backoff, so the heartbeat surely sits in it when deregister comes.
    let reg = ConsulRegistry::builder(fake.url())
        .heartbeat_interval(INTERVAL)
        .backoff(Duration::from_secs(4), Duration::from_secs(8))
        .build()
        .unwrap();
    let a = instance("a");
    fake.fail(Kind::Update, 500);
    reg.register(&a).await.unwrap();
    // The failure is counted: the heartbeat is now in its backoff before re-registering.
    assert!(
        support::eventually(PATIENCE, || async { reg.stats().heartbeat_failures >= 1 }).await,
        "{:?}",
        reg.stats()
    );
    reg.deregister(&a).await.unwrap();
    assert_silent_after_deregister(&fake, &reg, "a").await;
    assert!(fake.services().is_empty());
    assert_eq!(
        fake.calls_of(Kind::Register, "a").len(),
        1,
        "never re-registered"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deregister_during_an_in_flight_reregistration_leaves_nothing_discoverable() {
    let fake = FakeConsul::start().await;
    let reg = registry(&fake);
    let a = instance("a");
    reg.register(&a).await.unwrap();
    // The agent loses the service's check (404 on update) and holds the re-registration.
    fake.hold(Kind::Register);
    fake.fail(Kind::Update, 404);
    fake.wait_for("a re-registration in flight", PATIENCE, |calls| {
        calls
            .iter()
            .any(|c| c.kind == Kind::Register && c.status.is_none())
    })
    .await;
    tokio::time::timeout(Duration::from_secs(10), reg.deregister(&a))
        .await
        .expect("deregister does not wait for the held registration")
        .unwrap();
    assert_eq!(reg.stats().live_heartbeats, 0);
    let dereg = deregister_seq(&fake, "a");
    assert!(
        fake.calls_of(Kind::Register, "a")
            .iter()
            .all(|c| c.seq < dereg)
    );

    // Worst case: the agent applies the abandoned registration after the deregistration.
    // Its TTL check starts critical and nothing passes it any more, so health-filtered
    // discovery never returns it (and Consul reaps it after DeregisterCriticalServiceAfter).
    fake.heal(Kind::Update);
    fake.release(Kind::Register);
    fake.wait_for("the held registration applied", PATIENCE, |calls| {
        calls
            .iter()
            .filter(|c| c.kind == Kind::Register)
            .all(|c| c.status.is_some())
    })
    .await;
    assert_silent_after_deregister(&fake, &reg, "a").await;
    assert_eq!(fake.services()["a"].ttl_status, "critical");
    assert!(reg.get_service("greeter").await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_that_lost_the_service_gets_it_back() {
    let fake = FakeConsul::start().await;
    let reg = registry(&fake);
    let a = instance("a");
    reg.register(&a).await.unwrap();
    fake.wait_for("one update", PATIENCE, |calls| {
        calls
            .iter()
            .any(|c| c.kind == Kind::Update && c.status == Some(200))
    })
    .await;
    fake.forget("a");
    fake.wait_for("a re-registration", PATIENCE, |calls| {
        calls.iter().filter(|c| c.kind == Kind::Register).count() >= 2
    })
    .await;
    assert!(
        support::eventually(PATIENCE, || async {
            fake.services()
                .get("a")
                .is_some_and(|s| s.ttl_status == "passing")
        })
        .await
    );
    let stats = reg.stats();
    assert!(
        stats.reregistrations >= 1 && stats.heartbeat_failures >= 1,
        "{stats:?}"
    );
    reg.deregister(&a).await.unwrap();
    assert_silent_after_deregister(&fake, &reg, "a").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_are_independent_and_reregistering_replaces_the_heartbeat() {
    let fake = FakeConsul::start().await;
    let reg = registry(&fake);
    let (a, b) = (instance("a"), instance("b"));
    reg.register(&a).await.unwrap();
    reg.register(&a).await.unwrap();
    reg.register(&b).await.unwrap();
    assert_eq!(reg.stats().live_heartbeats, 2, "one heartbeat per instance");
    reg.deregister(&a).await.unwrap();
    assert_eq!(reg.stats().live_heartbeats, 1);
    let dereg = deregister_seq(&fake, "a");
    // b's heartbeat goes on.
    fake.wait_for(
        "b's heartbeats after a's deregistration",
        PATIENCE,
        |calls| {
            calls
                .iter()
                .filter(|c| {
                    c.kind == Kind::Update && c.id == "b" && c.seq > dereg && c.status == Some(200)
                })
                .count()
                >= 2
        },
    )
    .await;
    assert!(calls_after(&fake, "a", dereg).is_empty());

    // Closing deregisters b, ends its heartbeat, and refuses new registrations.
    reg.close().await.unwrap();
    assert_eq!(reg.stats().live_heartbeats, 0);
    assert!(fake.services().is_empty());
    assert!(matches!(reg.register(&a).await, Err(RegistryError::Closed)));
    assert_silent_after_deregister(&fake, &reg, "b").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_follows_passing_instances_with_blocking_queries() {
    let fake = FakeConsul::start().await;
    let reg = registry(&fake);
    let mut watcher = reg.watch("greeter").await.unwrap();
    assert!(watcher.next().await.unwrap().is_empty(), "nothing yet");

    let a = instance("a");
    reg.register(&a).await.unwrap();
    // Reported once its check passes.
    let list = tokio::time::timeout(PATIENCE, watcher.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(list.len(), 1);
    assert!(list[0].same_as(&a));
    let blocking = fake
        .calls()
        .into_iter()
        .filter(|c| c.kind == Kind::Health && c.uri.contains("index="))
        .count();
    assert!(blocking >= 1, "blocking queries are used");

    reg.deregister(&a).await.unwrap();
    let list = tokio::time::timeout(PATIENCE, watcher.next())
        .await
        .unwrap()
        .unwrap();
    assert!(list.is_empty(), "an empty list is reported too: {list:?}");
    watcher.stop().await.unwrap();
    assert!(matches!(
        watcher.next().await,
        Err(RegistryError::WatcherStopped)
    ));
}
