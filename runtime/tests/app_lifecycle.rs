//! `kratos::App`'s lifecycle with a recording registrar and scripted servers: the order of
//! hooks, registration, deregistration and server stops, and the failure paths Kratos gets
//! wrong (kratos-reference.md §6.2 and §6.6 item 7).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kratos::app::AppError;
use kratos::registry::{BoxFuture, Registrar, RegistryError, ServiceInstance};
use kratos::transport::{Server, ServerFuture, TransportError};

type Log = Arc<Mutex<Vec<String>>>;

fn push(log: &Log, entry: impl Into<String>) {
    log.lock().unwrap().push(entry.into());
}

fn entries(log: &Log) -> Vec<String> {
    log.lock().unwrap().clone()
}

struct FakeServer {
    kind: &'static str,
    addr: SocketAddr,
    log: Log,
    fail_start: bool,
    failure: Option<tokio::sync::oneshot::Receiver<()>>,
}

impl FakeServer {
    fn new(kind: &'static str, addr: &str, log: &Log) -> Self {
        FakeServer {
            kind,
            addr: addr.parse().unwrap(),
            log: log.clone(),
            fail_start: false,
            failure: None,
        }
    }
}

impl Server for FakeServer {
    fn kind(&self) -> &'static str {
        self.kind
    }

    fn start(&mut self) -> ServerFuture<'_, Result<SocketAddr, TransportError>> {
        Box::pin(async move {
            if self.fail_start {
                push(&self.log, format!("start {} failed", self.kind));
                return Err(TransportError::Serve {
                    kind: self.kind,
                    reason: "cannot start".to_string(),
                });
            }
            push(&self.log, format!("start {}", self.kind));
            Ok(self.addr)
        })
    }

    fn stop(&mut self) -> ServerFuture<'_, Result<(), TransportError>> {
        Box::pin(async move {
            push(&self.log, format!("stop {}", self.kind));
            Ok(())
        })
    }

    fn failure(&mut self) -> ServerFuture<'_, TransportError> {
        Box::pin(async move {
            let failed = match self.failure.as_mut() {
                Some(rx) => rx.await.is_ok(),
                None => false,
            };
            if !failed {
                std::future::pending::<()>().await;
            }
            TransportError::Serve {
                kind: self.kind,
                reason: "listener broke".to_string(),
            }
        })
    }
}

#[derive(Clone)]
struct FakeRegistrar {
    log: Log,
    registered: Arc<Mutex<Vec<ServiceInstance>>>,
    fail_register: bool,
    fail_deregister: bool,
}

impl FakeRegistrar {
    fn new(log: &Log) -> Self {
        FakeRegistrar {
            log: log.clone(),
            registered: Arc::default(),
            fail_register: false,
            fail_deregister: false,
        }
    }
}

fn refused(op: &'static str) -> RegistryError {
    RegistryError::Backend {
        backend: "fake",
        op,
        target: "x".to_string(),
        reason: "refused".to_string(),
    }
}

impl Registrar for FakeRegistrar {
    fn register<'a>(
        &'a self,
        instance: &'a ServiceInstance,
    ) -> BoxFuture<'a, Result<(), RegistryError>> {
        Box::pin(async move {
            push(&self.log, "register");
            self.registered.lock().unwrap().push(instance.clone());
            if self.fail_register {
                Err(refused("register"))
            } else {
                Ok(())
            }
        })
    }

    fn deregister<'a>(
        &'a self,
        _instance: &'a ServiceInstance,
    ) -> BoxFuture<'a, Result<(), RegistryError>> {
        Box::pin(async move {
            push(&self.log, "deregister");
            if self.fail_deregister {
                Err(refused("deregister"))
            } else {
                Ok(())
            }
        })
    }
}

fn hook(
    log: &Log,
    name: &'static str,
) -> impl FnOnce(ServiceInstance) -> std::future::Ready<Result<(), std::io::Error>> + Send + 'static
{
    let log = log.clone();
    move |_| {
        push(&log, name);
        std::future::ready(Ok(()))
    }
}

fn app(log: &Log, registrar: &FakeRegistrar) -> kratos::App {
    kratos::App::new()
        .id("id-1")
        .name("svc")
        .version("v1")
        .registrar(registrar.clone())
        .before_start(hook(log, "before start"))
        .after_start(hook(log, "after start"))
        .before_stop(hook(log, "before stop"))
        .after_stop(hook(log, "after stop"))
}

async fn run_bounded(
    app: kratos::App,
    shutdown: impl std::future::Future<Output = Result<(), std::io::Error>> + Send + 'static,
) -> Result<(), AppError> {
    tokio::time::timeout(Duration::from_secs(20), app.run_until(shutdown))
        .await
        .expect("run ends")
}

#[tokio::test]
async fn runs_hooks_registers_then_deregisters_before_stopping() {
    let log: Log = Arc::default();
    let registrar = FakeRegistrar::new(&log);
    let app = app(&log, &registrar)
        .metadata("zone", "z1")
        .server(FakeServer::new("http", "127.0.0.1:8123", &log))
        .server(FakeServer::new("grpc", "0.0.0.0:9123", &log));
    run_bounded(app, async { Ok(()) }).await.unwrap();
    assert_eq!(
        entries(&log),
        [
            "before start",
            "start http",
            "start grpc",
            "register",
            "after start",
            "before stop",
            "deregister",
            "stop http",
            "stop grpc",
            "after stop"
        ]
    );
    let registered = registrar.registered.lock().unwrap()[0].clone();
    assert_eq!(registered.id, "id-1");
    assert_eq!(registered.name, "svc");
    assert_eq!(registered.version, "v1");
    assert_eq!(registered.metadata["zone"], "z1");
    assert_eq!(registered.endpoints[0], "http://127.0.0.1:8123");
    // Bound to all interfaces: registered with a concrete address of this host.
    let grpc = registered.endpoint("grpc").unwrap();
    assert!(
        grpc.ends_with(":9123") && !grpc.starts_with("0.0.0.0"),
        "{grpc}"
    );
}

#[tokio::test]
async fn explicit_endpoints_replace_the_bound_ones() {
    let log: Log = Arc::default();
    let registrar = FakeRegistrar::new(&log);
    let app = app(&log, &registrar)
        .endpoint("grpc://10.0.0.5:9000")
        .server(FakeServer::new("http", "127.0.0.1:8123", &log));
    run_bounded(app, async { Ok(()) }).await.unwrap();
    assert_eq!(
        registrar.registered.lock().unwrap()[0].endpoints,
        ["grpc://10.0.0.5:9000"]
    );
}

#[tokio::test]
async fn failed_registration_stops_the_servers() {
    let log: Log = Arc::default();
    let mut registrar = FakeRegistrar::new(&log);
    registrar.fail_register = true;
    let app = app(&log, &registrar).server(FakeServer::new("http", "127.0.0.1:1", &log));
    // The shutdown future never resolves: the failure alone must end the run.
    let err = run_bounded(app, std::future::pending()).await.unwrap_err();
    assert!(matches!(err, AppError::Register(_)), "{err}");
    let log = entries(&log);
    assert!(!log.contains(&"after start".to_string()), "{log:?}");
    assert!(log.contains(&"stop http".to_string()), "{log:?}");
    // Deregistering cleans whatever the failed registration left, before the stop.
    let dereg = log.iter().position(|e| e == "deregister").unwrap();
    let stop = log.iter().position(|e| e == "stop http").unwrap();
    assert!(dereg < stop, "{log:?}");
}

#[tokio::test]
async fn failed_server_deregisters_and_stops_the_others() {
    let log: Log = Arc::default();
    let registrar = FakeRegistrar::new(&log);
    let (fail, failure) = tokio::sync::oneshot::channel();
    let mut grpc = FakeServer::new("grpc", "127.0.0.1:2", &log);
    grpc.failure = Some(failure);
    let app = app(&log, &registrar)
        .server(FakeServer::new("http", "127.0.0.1:1", &log))
        .server(grpc);
    let run = tokio::spawn(run_bounded(app, std::future::pending()));
    tokio::time::timeout(Duration::from_secs(20), async {
        while !entries(&log).contains(&"after start".to_string()) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap();
    fail.send(()).unwrap();
    let err = run.await.unwrap().unwrap_err();
    assert!(matches!(err, AppError::Serve(_)), "{err}");
    let log = entries(&log);
    let tail: Vec<&str> = log[log.len() - 5..].iter().map(String::as_str).collect();
    assert_eq!(
        tail,
        [
            "before stop",
            "deregister",
            "stop http",
            "stop grpc",
            "after stop"
        ]
    );
}

#[tokio::test]
async fn failed_deregistration_still_stops_the_servers() {
    let log: Log = Arc::default();
    let mut registrar = FakeRegistrar::new(&log);
    registrar.fail_deregister = true;
    let app = app(&log, &registrar)
        .server(FakeServer::new("http", "127.0.0.1:1", &log))
        .server(FakeServer::new("grpc", "127.0.0.1:2", &log));
    let err = run_bounded(app, async { Ok(()) }).await.unwrap_err();
    assert!(matches!(err, AppError::Deregister(_)), "{err}");
    let log = entries(&log);
    assert!(log.ends_with(&[
        "deregister".to_string(),
        "stop http".to_string(),
        "stop grpc".to_string(),
        "after stop".to_string()
    ]));
}

#[tokio::test]
async fn failed_start_stops_started_servers_and_registers_nothing() {
    let log: Log = Arc::default();
    let registrar = FakeRegistrar::new(&log);
    let mut grpc = FakeServer::new("grpc", "127.0.0.1:2", &log);
    grpc.fail_start = true;
    let app = app(&log, &registrar)
        .server(FakeServer::new("http", "127.0.0.1:1", &log))
        .server(grpc);
    let err = run_bounded(app, std::future::pending()).await.unwrap_err();
    assert!(matches!(err, AppError::Start(_)), "{err}");
    assert_eq!(
        entries(&log),
        [
            "before start",
            "start http",
            "start grpc failed",
            "stop http"
        ]
    );
}

#[tokio::test]
async fn failed_after_start_hook_deregisters_and_stops() {
    let log: Log = Arc::default();
    let registrar = FakeRegistrar::new(&log);
    let app = kratos::App::new()
        .name("svc")
        .registrar(registrar.clone())
        .server(FakeServer::new("http", "127.0.0.1:1", &log))
        .after_start(|_| async { Err::<(), _>("warm-up failed") });
    let err = run_bounded(app, std::future::pending()).await.unwrap_err();
    assert!(
        matches!(
            err,
            AppError::Hook {
                stage: "after start",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        entries(&log),
        ["start http", "register", "deregister", "stop http"]
    );
}

#[tokio::test]
async fn signal_error_stops_cleanly_and_is_returned() {
    let log: Log = Arc::default();
    let registrar = FakeRegistrar::new(&log);
    let app = app(&log, &registrar).server(FakeServer::new("http", "127.0.0.1:1", &log));
    let err = run_bounded(app, async {
        Err(std::io::Error::other("no signal handlers"))
    })
    .await
    .unwrap_err();
    assert!(matches!(err, AppError::Signal(_)), "{err}");
    assert!(entries(&log).ends_with(&[
        "deregister".to_string(),
        "stop http".to_string(),
        "after stop".to_string()
    ]));
}
