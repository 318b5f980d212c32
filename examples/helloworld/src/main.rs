//! `helloworld`: the Kratos greeter, on HTTP (default `0.0.0.0:8000`) and gRPC
//! (default `0.0.0.0:9000`). Configuration comes from `--conf` (a file or a directory,
//! default `configs/`, whose absence means built-in defaults) and the environment, and is
//! hot-reloaded: an edited greeting changes the next reply. Explicit `--http-addr` and
//! `--grpc-addr` flags win over the configuration. With `--registry etcd://host:port` (several etcd endpoints
//! separated by commas) or `--registry consul://host:port` it registers itself while it runs.
//! Stops gracefully on SIGINT, SIGTERM or SIGQUIT, deregistering first.

use std::path::PathBuf;

use clap::Parser;
use kratos::config::ServerSettings;

/// The configuration read when `--conf` is not given (skipped when it does not exist).
const DEFAULT_CONF: &str = "configs";

/// Command-line flags.
#[derive(Debug, Parser)]
#[command(version, about = "The Kratos greeter on kratos-rs")]
struct Flags {
    /// Configuration file or directory (JSON, YAML, TOML), watched for changes; default
    /// `configs/` when it exists, otherwise built-in defaults.
    #[arg(long)]
    conf: Option<PathBuf>,
    /// HTTP listen address (wins over `server.http.addr`; default `0.0.0.0:8000`).
    #[arg(long)]
    http_addr: Option<String>,
    /// gRPC listen address (wins over `server.grpc.addr`; default `0.0.0.0:9000`).
    #[arg(long)]
    grpc_addr: Option<String>,
    /// Service registry to register in: `etcd://host:port[,host:port…]` or
    /// `consul://host:port` (none by default).
    #[arg(long)]
    registry: Option<String>,
}

/// Loads the configuration named by `--conf` (required when given).
async fn configure(flags: &Flags) -> Result<kratos::config::Config, String> {
    let (path, required) = match &flags.conf {
        Some(path) => (path.clone(), true),
        None => (PathBuf::from(DEFAULT_CONF), false),
    };
    if !required && !path.exists() {
        tracing::info!("no {DEFAULT_CONF}/ here: built-in defaults");
    }
    helloworld::load_config(&path, required)
        .await
        .map_err(|e| format!("configuration {}: {e}", path.display()))
}

/// The servers: defaults, then the configuration's `server.http` / `server.grpc`, then the
/// flags given explicitly; the greeting is the configuration's, watched.
fn servers(
    flags: &Flags,
    config: &kratos::config::Config,
) -> Result<(kratos::http::Server, kratos::grpc::Server), String> {
    let snapshot = config.snapshot();
    let section =
        |prefix| ServerSettings::from_config(&snapshot, prefix).map_err(|e| e.to_string());
    let mut http =
        section("server.http")?.http(kratos::http::Server::builder().address("0.0.0.0:8000"));
    if let Some(addr) = &flags.http_addr {
        http = http.address(addr.clone());
    }
    let mut grpc =
        section("server.grpc")?.grpc(kratos::grpc::Server::builder().address("0.0.0.0:9000"));
    if let Some(addr) = &flags.grpc_addr {
        grpc = grpc.address(addr.clone());
    }
    let greeting = config
        .watched(
            helloworld::GREETING_KEY,
            helloworld::DEFAULT_GREETING.to_string(),
        )
        .map_err(|e| e.to_string())?;
    for m in observed() {
        http = http.middleware(m.clone());
        grpc = grpc.middleware(m);
    }
    helloworld::servers_with(http, grpc, helloworld::GreeterService::new(greeting))
        .map_err(|e| e.to_string())
}

/// The middleware every call goes through: a span per call continuing the caller's trace,
/// one log line per call (with the trace id), and Kratos' metadata (`x-md-` headers).
fn observed() -> [kratos::middleware::Middleware; 3] {
    [
        kratos::trace::server(),
        kratos::middleware::logging(),
        kratos::middleware::metadata::server(),
    ]
}

/// An etcd registrar on `host:port[,host:port…]` (etcd's client needs no protoc, so it is
/// always built in).
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
    // Logs (text, or JSON lines with KRATOS_LOG_FORMAT=json; level from RUST_LOG) with the
    // service's identity, and span export when OTEL_EXPORTER_OTLP_ENDPOINT is set.
    let id = std::env::var("HOSTNAME").unwrap_or_default();
    if let Err(e) = kratos::log::Logger::from_env()
        .service(id.clone(), "helloworld", env!("CARGO_PKG_VERSION"))
        .init()
    {
        eprintln!("helloworld: {e}");
    }
    let flags = Flags::parse();
    let config = match configure(&flags).await {
        Ok(config) => config,
        Err(e) => {
            eprintln!("helloworld: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let (http, grpc) = match servers(&flags, &config) {
        Ok(servers) => servers,
        Err(e) => {
            eprintln!("helloworld: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let mut app = kratos::App::new();
    if !id.is_empty() {
        app = app.id(id);
    }
    let mut app = app
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
    let result = app.run().await;
    config.close().await;
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("helloworld: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
