//! Discovery: instances register themselves while they run, clients find them by name.
//!
//! Run it with `cargo run -p topics --bin discovery` (an in-process registry), or against etcd
//! with `cargo run -p topics --bin discovery -- --etcd 127.0.0.1:2379`. It runs two
//! instances of the `Echo` service, each an `App` with its own HTTP and gRPC server
//! (127.0.0.1, free ports) registered as `echo`; calls them through `discovery:///echo` over
//! HTTP and gRPC; stops one; calls again; and stops.
//!
//! - `App` registers the instance with the endpoints its servers bound (`http://…`,
//!   `grpc://…`) once they have started, and on a stop deregisters it first, then keeps
//!   serving for the drain delay (so clients see it gone), then stops the servers.
//! - A client built on `discovery:///<name>` with a `Discovery` watches the registry and
//!   balances over the instances (smooth weighted round-robin by default), on both transports.
//! - The registry is any `Registrar` + `Discovery`: `MemoryRegistry` in one process, etcd or
//!   Consul across processes (Go Kratos services read and write the same entries).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use kratos::errors::Error;
use kratos::registry::etcd::EtcdRegistry;
use kratos::registry::memory::MemoryRegistry;
use kratos::registry::{Discovery, Registrar};
use kratos::{App, Context, grpc, http};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use topics::pb;

/// Answers with the name of its instance.
struct EchoService {
    instance: &'static str,
}

impl pb::Echo for EchoService {
    async fn echo(&self, _ctx: Context, request: pb::EchoRequest) -> Result<pb::EchoReply, Error> {
        Ok(pb::EchoReply {
            text: request.text,
            instance: self.instance.to_string(),
            ..Default::default()
        })
    }
}

/// A running instance: its App, and how to stop it.
struct Instance {
    stop: oneshot::Sender<()>,
    app: JoinHandle<Result<(), kratos::app::AppError>>,
}

/// Runs an instance `name` of service `echo`, registered in `registrar`, until stopped.
async fn start(
    name: &'static str,
    registrar: Arc<dyn Registrar>,
) -> Result<Instance, Box<dyn std::error::Error>> {
    let mut http = http::Server::builder().address("127.0.0.1:0").build();
    let mut grpc = grpc::Server::builder().address("127.0.0.1:0").build();
    let service = Arc::new(EchoService { instance: name });
    pb::register_echo_http_server(&mut http, service.clone())?;
    pb::register_echo_grpc_server(&mut grpc, service)?;

    let (registered, endpoints) = oneshot::channel();
    let (stop, stopped) = oneshot::channel::<()>();
    let app = App::new()
        .id(name)
        .name("echo")
        .version("v1")
        .server(http)
        .server(grpc)
        .registrar_arc(registrar)
        // Clients watching the registry see the instance gone well within this (and the gRPC
        // channel stops picking it at once: its health turns NOT_SERVING first).
        .drain_delay(Duration::from_secs(1))
        .after_start(move |instance| async move {
            let _ = registered.send(instance.endpoints);
            Ok::<(), std::convert::Infallible>(())
        });
    let app = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
        Ok(())
    }));
    match endpoints.await {
        Ok(endpoints) => {
            println!(
                "instance {name} registered as echo: {}",
                endpoints.join(" ")
            );
            Ok(Instance { stop, app })
        }
        // The App stopped before registering: its error says why.
        Err(_) => Err(format!("instance {name} did not start: {:?}", app.await?).into()),
    }
}

impl Instance {
    /// Stops the App: deregistered first, then drained and stopped.
    async fn stop(self) -> Result<(), Box<dyn std::error::Error>> {
        let _ = self.stop.send(());
        self.app.await??;
        Ok(())
    }
}

/// Which instances answered `calls` calls over HTTP and over gRPC, counted.
async fn answers(
    http: &pb::EchoHttpClient,
    grpc: &mut pb::echo_client::EchoClient<grpc::ClientChannel>,
    calls: usize,
) -> Result<(BTreeMap<String, usize>, BTreeMap<String, usize>), Box<dyn std::error::Error>> {
    let request = pb::EchoRequest {
        text: "hi".to_string(),
    };
    let (mut over_http, mut over_grpc) = (BTreeMap::new(), BTreeMap::new());
    for _ in 0..calls {
        let reply = http.echo(&request).await?;
        *over_http.entry(reply.instance).or_insert(0) += 1;
        let reply = grpc.echo(request.clone()).await?.into_inner();
        *over_grpc.entry(reply.instance).or_insert(0) += 1;
    }
    Ok((over_http, over_grpc))
}

async fn run<R: Registrar + Discovery>(registry: R) -> Result<(), Box<dyn std::error::Error>> {
    let registry = Arc::new(registry);
    let a = start("a", registry.clone()).await?;
    let b = start("b", registry.clone()).await?;

    // Clients of the service named `echo`, wherever its instances are.
    let http_client = pb::EchoHttpClient::new(
        http::Client::builder("discovery:///echo")
            .discovery(registry.clone())
            .connect()
            .await?,
    );
    let channel = grpc::ChannelBuilder::new("discovery:///echo")
        .discovery(registry)
        .connect()
        .await?;
    let mut grpc_client = pb::echo_client::EchoClient::new(channel);

    let (over_http, over_grpc) = answers(&http_client, &mut grpc_client, 4).await?;
    println!("4 calls answered by: HTTP {over_http:?}, gRPC {over_grpc:?}");

    a.stop().await?;
    println!("instance a stopped");
    let (over_http, over_grpc) = answers(&http_client, &mut grpc_client, 4).await?;
    println!("4 calls answered by: HTTP {over_http:?}, gRPC {over_grpc:?}");

    b.stop().await?;
    println!("instance b stopped");
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // One log subscriber for the process (each App would otherwise install one labelled with
    // its own identity, and the first would label the lines of both).
    kratos::log::Logger::from_env().init()?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => run(MemoryRegistry::new()).await,
        [flag, hosts] if flag == "--etcd" => {
            let endpoints = hosts.split(',').map(|h| format!("http://{h}"));
            run(EtcdRegistry::connect(endpoints).await?).await
        }
        _ => Err("usage: discovery [--etcd host:port[,host:port…]]".into()),
    }
}
