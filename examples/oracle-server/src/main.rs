//! `oracle-server`: the Kratos conformance service on HTTP (and optionally gRPC).

use clap::Parser;

/// Command-line flags.
#[derive(Debug, Parser)]
#[command(
    version,
    about = "The Kratos conformance service (oracle.v1.Library) on kratos-rs"
)]
struct Flags {
    /// HTTP listen address.
    #[arg(long, default_value = "127.0.0.1:8000")]
    http_addr: String,
    /// gRPC listen address.
    #[arg(long, default_value = "127.0.0.1:9000")]
    grpc_addr: String,
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
    let (http, grpc) = match oracle_server::servers(
        kratos::http::Server::builder().address(flags.http_addr),
        kratos::grpc::Server::builder().address(flags.grpc_addr),
    ) {
        Ok(servers) => servers,
        Err(e) => {
            eprintln!("oracle-server: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let app = kratos::App::new().name("oracle").server(http).server(grpc);
    match app.run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("oracle-server: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
