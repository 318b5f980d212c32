//! The etcd registry against a real etcd (Debian's `etcd-server`, started by the test on free
//! loopback ports): Kratos' key layout, re-registration after a lost lease or an etcd restart,
//! and kratos-reference.md §6.6: after `deregister` returns nothing brings the instance back,
//! and no heartbeat task is left.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "registry_support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use kratos::etcd::pb::mvccpb::event::EventType;
use kratos::etcd::{DeleteOptions, GetOptions, PutOptions, WatchOptions};
use kratos::registry::etcd::EtcdRegistry;
use kratos::registry::{Discovery, Registrar, ServiceInstance};
use support::etcd::Etcd;
use support::eventually;

/// The smallest lease etcd grants with its default timing (1.5 s, rounded up).
const TTL: Duration = Duration::from_secs(2);
/// Generous bound for anything event-driven on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(20);

async fn registry(etcd: &Etcd, namespace: &str) -> EtcdRegistry {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    EtcdRegistry::builder([etcd.url()])
        .namespace(namespace)
        .ttl(TTL)
        .op_timeout(Duration::from_secs(2))
        .backoff(Duration::from_millis(100), Duration::from_millis(800))
        .connect()
        .await
        .unwrap()
}

fn instance(id: &str, name: &str) -> ServiceInstance {
    ServiceInstance::new(id, name)
        .with_version("v1.0.0")
        .with_endpoint("http://127.0.0.1:8000")
        .with_endpoint("grpc://127.0.0.1:9000")
}

/// Every PUT event under `prefix` in etcd's history: (key, mod revision, value). A sentinel
/// key written (and deleted) under the prefix marks the end of the history to read.
async fn put_history(etcd: &Etcd, prefix: &str) -> Vec<(String, i64, Vec<u8>)> {
    let sentinel = format!("{prefix}~history-sentinel");
    let client = etcd.client().await;
    let until = client
        .put(sentinel.as_str(), "", PutOptions::new())
        .await
        .unwrap()
        .header
        .unwrap()
        .revision;
    let mut stream = client
        .watch(
            prefix,
            WatchOptions::new().with_prefix().with_start_revision(1),
        )
        .await
        .unwrap();
    let mut puts = Vec::new();
    let mut seen = 0;
    while seen < until {
        let resp = tokio::time::timeout(PATIENCE, stream.message())
            .await
            .expect("history watch stalled")
            .unwrap()
            .expect("history watch closed");
        for event in resp.events {
            let kv = event.kv.unwrap();
            seen = seen.max(kv.mod_revision);
            let key = String::from_utf8_lossy(&kv.key).into_owned();
            if event.r#type == EventType::Put as i32 && key != sentinel {
                puts.push((key, kv.mod_revision, kv.value));
            }
        }
    }
    client
        .delete(sentinel.as_str(), DeleteOptions::new())
        .await
        .unwrap();
    puts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_writes_kratos_layout_and_discovery_sees_it() {
    let etcd = Etcd::start().await;
    let reg = registry(&etcd, "/microservices").await;
    let a = instance("a1", "greeter").with_metadata("weight", "10");
    reg.register(&a).await.unwrap();

    // Key layout and JSON value exactly as Go Kratos writes them.
    let value = etcd.value("/microservices/greeter/a1").await.unwrap();
    assert_eq!(
        String::from_utf8(value).unwrap(),
        r#"{"id":"a1","name":"greeter","version":"v1.0.0","metadata":{"weight":"10"},"endpoints":["http://127.0.0.1:8000","grpc://127.0.0.1:9000"]}"#
    );
    assert_ne!(
        etcd.lease_of("/microservices/greeter/a1").await,
        0,
        "key has a lease"
    );

    // A value written by Go Kratos (nil metadata) is read back; a longer name sharing the
    // prefix is not mistaken for this service.
    let client = etcd.client().await;
    client
        .put(
            "/microservices/greeter/go1",
            r#"{"id":"go1","name":"greeter","version":"","metadata":null,"endpoints":["grpc://10.0.0.5:9000"]}"#,
            PutOptions::new(),
        )
        .await
        .unwrap();
    client
        .put(
            "/microservices/greeterx/z",
            r#"{"id":"z","name":"greeterx","version":"","metadata":null,"endpoints":[]}"#,
            PutOptions::new(),
        )
        .await
        .unwrap();
    let mut found = reg.get_service("greeter").await.unwrap();
    found.sort_by(|x, y| x.id.cmp(&y.id));
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found[0].same_as(&a));
    assert_eq!(found[1].id, "go1");
    assert_eq!(found[1].endpoint("grpc"), Some("10.0.0.5:9000"));

    // Watch: the current list at once, then each change.
    let mut watcher = reg.watch("greeter").await.unwrap();
    assert_eq!(watcher.next().await.unwrap().len(), 2);
    let b = instance("b1", "greeter");
    reg.register(&b).await.unwrap();
    let list = tokio::time::timeout(PATIENCE, watcher.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(list.len(), 3, "{list:?}");
    reg.deregister(&a).await.unwrap();
    let list = tokio::time::timeout(PATIENCE, watcher.next())
        .await
        .unwrap()
        .unwrap();
    assert!(list.iter().all(|i| i.id != "a1"), "{list:?}");
    watcher.stop().await.unwrap();
    assert!(watcher.next().await.is_err());

    reg.close().await.unwrap();
    assert_eq!(etcd.value("/microservices/greeter/b1").await, None);
    assert_eq!(reg.stats().live_heartbeats, 0);
    assert!(
        reg.register(&a).await.is_err(),
        "closed registry registers nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lease_revoked_from_outside_is_reregistered() {
    let etcd = Etcd::start().await;
    let reg = registry(&etcd, "/revoke").await;
    let a = instance("a", "svc");
    reg.register(&a).await.unwrap();
    let key = reg.key(&a);
    let lease = etcd.lease_of(&key).await;
    assert_ne!(lease, 0);

    let client = etcd.client().await;
    client.lease_revoke(lease).await.unwrap();
    // The revocation deleted the key; the heartbeat notices and registers with a new lease.
    assert!(
        eventually(PATIENCE, || async {
            let l = etcd.lease_of(&key).await;
            l != 0 && l != lease
        })
        .await,
        "not re-registered; stats {:?}",
        reg.stats()
    );
    assert!(
        eventually(PATIENCE, || async { reg.stats().reregistrations >= 1 }).await,
        "{:?}",
        reg.stats()
    );
    let stats = reg.stats();
    assert!(stats.heartbeat_failures >= 1, "{stats:?}");

    // The new lease is kept alive: still there after two TTLs.
    let new_lease = etcd.lease_of(&key).await;
    tokio::time::sleep(TTL * 2).await;
    assert_eq!(etcd.lease_of(&key).await, new_lease);

    reg.deregister(&a).await.unwrap();
    assert_eq!(etcd.value(&key).await, None);
    assert_eq!(reg.stats().live_heartbeats, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_killed_and_restarted_is_reregistered() {
    let mut etcd = Etcd::start().await;
    let reg = registry(&etcd, "/restart").await;
    let a = instance("a", "svc");
    reg.register(&a).await.unwrap();
    let key = reg.key(&a);

    // Restart with its data: the heartbeat's stream breaks; the instance is registered again.
    etcd.kill();
    let failures_before = reg.stats().heartbeat_failures;
    assert!(
        eventually(PATIENCE, || async {
            reg.stats().heartbeat_failures > failures_before
        })
        .await,
        "the outage is noticed and counted"
    );
    etcd.restart(false).await;
    assert!(
        eventually(PATIENCE, || async { etcd.value(&key).await.is_some() }).await,
        "present after a restart with data"
    );

    // Restart without data (every key and lease lost): re-registered from scratch, on a
    // lease the new cluster granted.
    let rereg_before = reg.stats().reregistrations;
    let old_lease = etcd.lease_of(&key).await;
    etcd.kill();
    tokio::time::sleep(TTL).await;
    etcd.restart(true).await;
    assert!(
        eventually(PATIENCE, || async {
            let lease = etcd.lease_of(&key).await;
            lease != 0 && lease != old_lease
        })
        .await,
        "not re-registered after data loss; stats {:?}",
        reg.stats()
    );
    // The keeper counts a re-registration after its write succeeded, so the count may trail
    // the write the test just saw in etcd.
    assert!(
        eventually(PATIENCE, || async {
            reg.stats().reregistrations > rereg_before
        })
        .await,
        "re-registration not counted; stats {:?}",
        reg.stats()
    );
    let lease = etcd.lease_of(&key).await;
    tokio::time::sleep(TTL * 2).await;
    assert_eq!(
        etcd.lease_of(&key).await,
        lease,
        "kept alive after recovery"
    );

    reg.deregister(&a).await.unwrap();
    assert_eq!(etcd.value(&key).await, None);
    assert_eq!(reg.stats().live_heartbeats, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deregistered_instance_stays_gone_for_three_ttls_and_others_are_untouched() {
    let etcd = Etcd::start().await;
    let reg = registry(&etcd, "/gone").await;
    let a = instance("a", "svc");
    let b = instance("b", "svc");
    // Registering twice replaces the heartbeat: one task per instance.
    reg.register(&a).await.unwrap();
    reg.register(&a).await.unwrap();
    reg.register(&b).await.unwrap();
    assert_eq!(reg.stats().live_heartbeats, 2);
    let (key_a, key_b) = (reg.key(&a), reg.key(&b));

    reg.deregister(&a).await.unwrap();
    let after = etcd.revision().await;
    assert_eq!(
        etcd.value(&key_a).await,
        None,
        "gone when deregister returns"
    );
    assert_eq!(
        reg.stats().live_heartbeats,
        1,
        "a's heartbeat ended, b's runs"
    );
    // Deregister is idempotent.
    reg.deregister(&a).await.unwrap();

    tokio::time::sleep(TTL * 3).await;
    let resurrected: Vec<_> = put_history(&etcd, "/gone/")
        .await
        .into_iter()
        .filter(|(k, rev, _)| *k == key_a && *rev > after)
        .collect();
    assert!(
        resurrected.is_empty(),
        "a was written again: {resurrected:?}"
    );
    assert_eq!(etcd.value(&key_a).await, None);
    assert!(etcd.value(&key_b).await.is_some(), "b kept alive meanwhile");

    reg.deregister(&b).await.unwrap();
    assert_eq!(etcd.keys("/gone/").await, Vec::<String>::new());
    assert_eq!(reg.stats().live_heartbeats, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_register_deregister_cycles_leave_nothing_behind() {
    let etcd = Etcd::start().await;
    let reg = registry(&etcd, "/cycles").await;
    let mut tasks = Vec::new();
    // 12 instances cycled by their own task, and 4 contended keys cycled by two tasks each.
    for i in 0..12 {
        let reg = reg.clone();
        tasks.push(tokio::spawn(async move {
            let inst = instance(&format!("solo-{i}"), "svc");
            for _ in 0..6 {
                reg.register(&inst).await.unwrap();
                tokio::task::yield_now().await;
                reg.deregister(&inst).await.unwrap();
            }
        }));
    }
    for i in 0..8 {
        let reg = reg.clone();
        tasks.push(tokio::spawn(async move {
            let inst = instance(&format!("shared-{}", i % 4), "svc");
            for _ in 0..6 {
                reg.register(&inst).await.unwrap();
                reg.deregister(&inst).await.unwrap();
            }
        }));
    }
    for task in tasks {
        tokio::time::timeout(Duration::from_secs(120), task)
            .await
            .expect("cycles finish")
            .unwrap();
    }
    // The contended keys ended with a deregister from one task, but the other task's last
    // register may have come after it; deregister them once more, then nothing may remain.
    for i in 0..4 {
        reg.deregister(&instance(&format!("shared-{i}"), "svc"))
            .await
            .unwrap();
    }
    let after = etcd.revision().await;
    assert_eq!(etcd.keys("/cycles/").await, Vec::<String>::new());
    assert_eq!(reg.stats().live_heartbeats, 0);
    let stats = reg.stats();
    assert_eq!(stats.registrations, 12 * 6 + 8 * 6, "{stats:?}");

    tokio::time::sleep(TTL * 3).await;
    let late: Vec<_> = put_history(&etcd, "/cycles/")
        .await
        .into_iter()
        .filter(|(_, rev, _)| *rev > after)
        .collect();
    assert!(
        late.is_empty(),
        "written after the last deregister: {late:?}"
    );
    assert_eq!(etcd.keys("/cycles/").await, Vec::<String>::new());
}

/// xorshift64*: a small deterministic generator for the schedules.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Last {
    Never,
    Registered,
    RegisterFailed,
    Deregistered,
}

/// What one instance's schedule did: for each epoch deregistered, the revision etcd had
/// reached right after `deregister` returned.
#[derive(Debug)]
struct Outcome {
    key: String,
    deregistered: Vec<(u64, i64)>,
    last: Last,
    epoch: u64,
}

async fn current_revision(etcd_url: &str) -> i64 {
    // etcd may be down for a moment (a fault): retry until it answers.
    for _ in 0..200 {
        let attempt = async {
            let client =
                kratos::etcd::Client::connect([etcd_url], kratos::etcd::ConnectOptions::new())
                    .await
                    .ok()?;
            let resp = client.get("\0", GetOptions::new()).await.ok()?;
            resp.header.map(|h| h.revision)
        };
        if let Ok(Some(rev)) = tokio::time::timeout(Duration::from_secs(2), attempt).await {
            return rev;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("etcd did not answer");
}

async fn run_instance(reg: EtcdRegistry, url: String, id: String, seed: u64) -> Outcome {
    let mut rng = Rng(seed);
    let base = instance(&id, "svc");
    let mut outcome = Outcome {
        key: reg.key(&base),
        deregistered: Vec::new(),
        last: Last::Never,
        epoch: 0,
    };
    for _ in 0..8 {
        match rng.below(3) {
            0 | 1 if outcome.last != Last::Registered || rng.below(3) == 0 => {
                outcome.epoch += 1;
                let inst = base
                    .clone()
                    .with_metadata("epoch", outcome.epoch.to_string());
                outcome.last = match reg.register(&inst).await {
                    Ok(()) => Last::Registered,
                    Err(_) => Last::RegisterFailed,
                };
            }
            _ => {
                // Success or not (etcd may be down), nothing may write this epoch any more.
                let _ = reg.deregister(&base).await;
                let rev = current_revision(&url).await;
                outcome.deregistered.push((outcome.epoch, rev));
                outcome.last = Last::Deregistered;
            }
        }
        tokio::time::sleep(Duration::from_millis(rng.below(400))).await;
    }
    outcome
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn randomized_schedules_never_resurrect_an_instance_nor_leak_a_heartbeat() {
    let mut etcd = Etcd::start().await;
    let url = etcd.url();
    let mut closed_at = Vec::new();
    for seed in [0x5eed_0001u64, 0x5eed_0002, 0x5eed_0003, 0x5eed_0004] {
        let namespace = format!("/rnd{seed:x}");
        let reg = registry(&etcd, &namespace).await;
        let mut tasks = Vec::new();
        for i in 0..4u64 {
            tasks.push(tokio::spawn(run_instance(
                reg.clone(),
                url.clone(),
                format!("i{i}"),
                seed.wrapping_mul(31).wrapping_add(i + 1),
            )));
        }
        // Faults, meanwhile: leases revoked and keys deleted from outside, and (for two seeds)
        // etcd killed and restarted.
        let mut rng = Rng(seed ^ 0xfa17);
        for step in 0..6 {
            tokio::time::sleep(Duration::from_millis(100 + rng.below(400))).await;
            match rng.below(3) {
                0 => {
                    let client = etcd.client().await;
                    if let Ok(leases) = client.leases().await {
                        let ids: Vec<i64> = leases.leases.iter().map(|l| l.id).collect();
                        if !ids.is_empty() {
                            let id = ids[rng.below(ids.len() as u64) as usize];
                            let _ = client.lease_revoke(id).await;
                        }
                    }
                }
                1 => {
                    let keys = etcd.keys(&format!("{namespace}/")).await;
                    if !keys.is_empty() {
                        let key = &keys[rng.below(keys.len() as u64) as usize];
                        let client = etcd.client().await;
                        let _ = client.delete(key.as_str(), DeleteOptions::new()).await;
                    }
                }
                _ if step == 2 && seed % 2 == 0 => {
                    etcd.kill();
                    tokio::time::sleep(Duration::from_millis(300 + rng.below(700))).await;
                    etcd.restart(false).await;
                }
                _ => {}
            }
        }
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(
                tokio::time::timeout(Duration::from_secs(120), task)
                    .await
                    .expect("schedule finishes")
                    .unwrap(),
            );
        }
        // Still registered at the end: present again (re-registered after the faults) with
        // its latest epoch. Deregistered at the end: absent.
        for o in &outcomes {
            match o.last {
                Last::Registered => {
                    let want = o.epoch.to_string();
                    let ok = eventually(PATIENCE, || async {
                        etcd.value(&o.key).await.is_some_and(|v| {
                            ServiceInstance::from_json(&v)
                                .is_ok_and(|i| i.metadata.get("epoch") == Some(&want))
                        })
                    })
                    .await;
                    assert!(ok, "seed {seed:x}: {} not re-registered: {o:?}", o.key);
                }
                Last::Deregistered => {
                    assert_eq!(etcd.value(&o.key).await, None, "seed {seed:x}: {o:?}");
                }
                Last::Never | Last::RegisterFailed => {}
            }
        }
        reg.close().await.unwrap();
        assert_eq!(
            reg.stats().live_heartbeats,
            0,
            "seed {seed:x}: {:?}",
            reg.stats()
        );
        assert_eq!(
            etcd.keys(&format!("{namespace}/")).await,
            Vec::<String>::new(),
            "seed {seed:x}: close removed everything"
        );
        closed_at.push((namespace, etcd.revision().await, outcomes));
    }

    // Three TTLs later, the history holds no write of a deregistered epoch after its
    // deregistration, and nothing after close.
    tokio::time::sleep(TTL * 3).await;
    for (namespace, closed_rev, outcomes) in closed_at {
        let history = put_history(&etcd, &format!("{namespace}/")).await;
        for (key, rev, value) in &history {
            assert!(
                *rev <= closed_rev,
                "{key} written at {rev}, after close at {closed_rev}"
            );
            let epoch: u64 = ServiceInstance::from_json(value)
                .unwrap()
                .metadata
                .get("epoch")
                .unwrap()
                .parse()
                .unwrap();
            let o = outcomes.iter().find(|o| &o.key == key).unwrap();
            for (dereg_epoch, dereg_rev) in &o.deregistered {
                assert!(
                    !(epoch == *dereg_epoch && rev > dereg_rev),
                    "{key}: epoch {epoch} written at revision {rev}, after its deregistration \
                     at {dereg_rev}"
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_registers_bound_endpoints_and_deregisters_before_stopping() {
    let etcd = Etcd::start().await;
    let reg = registry(&etcd, "/microservices").await;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let (seen_tx, seen_rx) = tokio::sync::oneshot::channel::<ServiceInstance>();
    let app = kratos::App::new()
        .id("app-1")
        .name("helloapp")
        .version("v2")
        .metadata("zone", "z1")
        .server(
            kratos::http::Server::builder()
                .address("127.0.0.1:0")
                .build(),
        )
        .server(
            kratos::grpc::Server::builder()
                .address("127.0.0.1:0")
                .build(),
        )
        .registrar(reg.clone())
        .after_start(move |instance| async move {
            let _ = seen_tx.send(instance);
            Ok::<_, std::io::Error>(())
        });
    let run = tokio::spawn(app.run_until(async move {
        let _ = stop_rx.await;
        Ok(())
    }));
    let started = tokio::time::timeout(PATIENCE, seen_rx)
        .await
        .unwrap()
        .unwrap();
    let value = etcd.value("/microservices/helloapp/app-1").await.unwrap();
    let registered = ServiceInstance::from_json(&value).unwrap();
    assert_eq!(registered, started);
    assert_eq!(registered.version, "v2");
    assert_eq!(
        registered.metadata,
        BTreeMap::from([("zone".to_string(), "z1".to_string())])
    );
    // The endpoints are the addresses actually bound (port 0 resolved), and they answer.
    assert_eq!(registered.endpoints.len(), 2, "{registered:?}");
    for scheme in ["http", "grpc"] {
        let addr = registered.endpoint(scheme).unwrap();
        assert!(addr.starts_with("127.0.0.1:"), "{addr}");
        assert!(!addr.ends_with(":0"), "{addr}");
        tokio::net::TcpStream::connect(addr).await.unwrap();
    }

    stop_tx.send(()).unwrap();
    tokio::time::timeout(PATIENCE, run)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(etcd.value("/microservices/helloapp/app-1").await, None);
    assert_eq!(reg.stats().live_heartbeats, 0);
    let http = registered.endpoint("http").unwrap().to_string();
    assert!(
        tokio::net::TcpStream::connect(http).await.is_err(),
        "servers stopped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_discovery_client_follows_instances_registered_in_etcd() {
    use kratos::transport::Server as _;

    let etcd = Etcd::start().await;
    let reg = registry(&etcd, "/microservices").await;
    // Two servers answering with their names, registered as instances of one service.
    let mut servers = Vec::new();
    let mut instances = Vec::new();
    for name in ["one", "two"] {
        let mut server = kratos::http::Server::builder()
            .address("127.0.0.1:0")
            .build();
        server
            .handle("GET", "/whoami", move |_, _| async move {
                http::Response::new(bytes::Bytes::from(name))
            })
            .unwrap();
        let addr = server.start().await.unwrap();
        let instance = ServiceInstance::new(name, "whoami").with_endpoint(format!("http://{addr}"));
        reg.register(&instance).await.unwrap();
        servers.push(server);
        instances.push(instance);
    }
    let client = kratos::http::Client::builder("discovery:///whoami")
        .discovery(std::sync::Arc::new(reg.clone()))
        .connect()
        .await
        .unwrap();
    let whoami = |client: kratos::http::Client| async move {
        let (_, body) = client
            .send(http::Method::GET, "/whoami", None)
            .await
            .unwrap();
        String::from_utf8(body.to_vec()).unwrap()
    };
    // Both instances get requests (the first resolution may hold one of them only).
    let seen = std::sync::Arc::new(std::sync::Mutex::new(std::collections::BTreeSet::new()));
    assert!(
        eventually(PATIENCE, || {
            let (client, seen) = (client.clone(), seen.clone());
            async move {
                let name = whoami(client).await;
                let mut seen = seen.lock().unwrap();
                seen.insert(name);
                seen.len() == 2
            }
        })
        .await,
        "both instances answer: {seen:?}"
    );
    // Deregistered, an instance gets no more requests.
    reg.deregister(&instances[1]).await.unwrap();
    assert!(
        eventually(PATIENCE, || {
            let client = client.clone();
            async move {
                let mut names = Vec::new();
                for _ in 0..4 {
                    names.push(whoami(client.clone()).await);
                }
                names.iter().all(|n| n == "one")
            }
        })
        .await
    );
    for mut server in servers {
        server.stop().await.unwrap();
    }
    reg.deregister(&instances[0]).await.unwrap();
}
