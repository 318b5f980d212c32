//! `bench-server`: the load-test target of `scripts/bench-load.sh`. Serves, on 127.0.0.1 only,
//! the oracle service's generated routes on `--kratos-port` and the hand-written axum app doing
//! the same serde work on `--axum-port`, until Ctrl-C or SIGTERM.

use std::process::ExitCode;

use benchmarks::KratosSetup;
use clap::Parser;
use kratos::transport::Server as _;

/// Command-line flags.
#[derive(Debug, Parser)]
#[command(about = "kratos-rs generated routes and a hand-written axum app, on 127.0.0.1")]
struct Flags {
    /// Port of the kratos server (the oracle service's generated routes).
    #[arg(long, default_value_t = 18080)]
    kratos_port: u16,
    /// Port of the hand-written axum app.
    #[arg(long, default_value_t = 18081)]
    axum_port: u16,
    /// Serve the kratos side exactly as `oracle-server` does (`oracle_server::servers`:
    /// recovery middleware and the OpenAPI routes) instead of the bare generated routes.
    #[arg(long)]
    oracle: bool,
    /// Also serve the generated routes with Kratos' observability middleware (tracing every
    /// call, metrics, JSON logging to a sink, metadata) on this port: issue 14's observed
    /// setup, to compare with the bare routes (`COMPARE=observed scripts/bench-load.sh`).
    #[arg(long)]
    observed_port: Option<u16>,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

async fn run(flags: Flags) -> Result<(), BoxError> {
    let setup = if flags.oracle {
        KratosSetup::Oracle
    } else {
        KratosSetup::Bare
    };
    let mut kratos =
        benchmarks::kratos_server(benchmarks::bind_loopback(flags.kratos_port)?, setup)?;
    let kratos_addr = kratos.start().await?;

    let axum_listener = benchmarks::bind_loopback(flags.axum_port)?;
    axum_listener.set_nonblocking(true)?;
    let axum_listener = tokio::net::TcpListener::from_std(axum_listener)?;
    let axum_addr = axum_listener.local_addr()?;
    let axum = tokio::spawn(benchmarks::serve_axum(axum_listener));

    let mut observed = match flags.observed_port {
        Some(port) => {
            benchmarks::observed::install_log_subscriber()?;
            let mut server =
                benchmarks::kratos_server(benchmarks::bind_loopback(port)?, KratosSetup::Observed)?;
            println!(
                "bench-server: kratos (Observed) on http://{}",
                server.start().await?
            );
            Some(server)
        }
        None => None,
    };

    println!(
        "bench-server: kratos ({setup:?}) on http://{kratos_addr}, axum on http://{axum_addr}"
    );
    shutdown_signal().await?;
    axum.abort();
    kratos.stop().await?;
    if let Some(server) = observed.as_mut() {
        server.stop().await?;
    }
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Flags::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-server: {e}");
            ExitCode::FAILURE
        }
    }
}
