//! `helloworld`: the Kratos greeter, on HTTP (default `0.0.0.0:8000`) and gRPC
//! (default `0.0.0.0:9000`). With `--registry etcd://host:port` (several etcd endpoints
//! separated by commas) or `--registry consul://host:port` it registers itself while it runs.
//! Stops gracefully on SIGINT, SIGTERM or SIGQUIT, deregistering first.

use clap::Parser;

/// Command-line flags.
#[derive(Debug, Parser)]
#[command(version, about = "The Kratos greeter on kratos-rs")]
struct Flags {
    /// HTTP listen address.
    #[arg(long, default_value = "0.0.0.0:8000")]
    http_addr: String,
    /// gRPC listen address.
    #[arg(long, default_value = "0.0.0.0:9000")]
    grpc_addr: String,
    /// Service registry to register in: `etcd://host:port[,host:port…]` or
    /// `consul://host:port` (none by default).
    #[arg(long)]
    registry: Option<String>,
}

/// An etcd registrar (feature `etcd`: etcd's client is generated with protoc at build time, so
/// the default build, which needs no protoc, leaves it out).
#[cfg(feature = "etcd")]
async fn etcd(hosts: &str) -> Result<std::sync::Arc<dyn kratos::registry::Registrar>, String> {
    let endpoints: Vec<String> = hosts
        .split(',')
        .filter(|h| !h.is_empty())
        .map(|h| format!("http://{h}"))
        .collect();
    let registry = kratos::registry::etcd::EtcdRegistry::connect(endpoints)
        .await
        .map_err(|e| e.to_string())?;
    Ok(std::sync::Arc::new(registry))
}

/// Without feature `etcd`: says how to get it.
#[cfg(not(feature = "etcd"))]
async fn etcd(_hosts: &str) -> Result<std::sync::Arc<dyn kratos::registry::Registrar>, String> {
    Err(
        "this helloworld was built without etcd support: build it with `--features etcd` \
         (etcd's client needs protoc at build time)"
            .into(),
    )
}

/// Connects to the registry named by `--registry`.
async fn registrar(spec: &str) -> Result<std::sync::Arc<dyn kratos::registry::Registrar>, String> {
    if let Some(hosts) = spec.strip_prefix("etcd://") {
        etcd(hosts).await
    } else if let Some(host) = spec.strip_prefix("consul://") {
        let registry = kratos::registry::consul::ConsulRegistry::new(format!("http://{host}"))
            .map_err(|e| e.to_string())?;
        Ok(std::sync::Arc::new(registry))
    } else {
        Err(format!(
            "--registry {spec:?}: expected etcd://host:port or consul://host:port"
        ))
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let flags = Flags::parse();
    let (http, grpc) = match helloworld::servers(
        kratos::http::Server::builder().address(flags.http_addr),
        kratos::grpc::Server::builder().address(flags.grpc_addr),
    ) {
        Ok(servers) => servers,
        Err(e) => {
            eprintln!("helloworld: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let mut app = kratos::App::new()
        .name("helloworld")
        .version(env!("CARGO_PKG_VERSION"))
        .server(http)
        .server(grpc);
    if let Some(spec) = &flags.registry {
        match registrar(spec).await {
            Ok(registrar) => app = app.registrar_arc(registrar),
            Err(e) => {
                eprintln!("helloworld: {e}");
                return std::process::ExitCode::FAILURE;
            }
        }
    }
    match app.run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("helloworld: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
