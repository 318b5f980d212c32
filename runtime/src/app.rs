//! The application: starts its servers, waits for a signal, stops them gracefully.

use std::net::SocketAddr;
use std::time::Duration;

use crate::transport::{Server, TransportError};

/// Why the application stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A server could not start; the servers already started were stopped.
    #[error("start failed: {0}")]
    Start(#[source] TransportError),
    /// One or more servers did not stop cleanly (every server was still asked to stop).
    #[error("stop failed: {}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
    Stop(Vec<TransportError>),
    /// Waiting for the termination signals failed.
    #[error("cannot listen for termination signals: {0}")]
    Signal(#[source] std::io::Error),
    /// The servers did not finish their calls within the stop timeout.
    #[error("servers did not stop within {0:?}")]
    StopTimeout(Duration),
}

/// A Kratos application: a name, a version and its servers (Kratos' `kratos.New`).
///
/// [`App::run`] starts every server, waits for SIGINT or SIGTERM (or the future given to
/// [`App::run_until`]), then stops the servers gracefully: they stop accepting connections and
/// finish the calls in flight, within the stop timeout.
pub struct App {
    name: String,
    version: String,
    servers: Vec<Box<dyn Server>>,
    stop_timeout: Duration,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("servers", &self.servers.len())
            .field("stop_timeout", &self.stop_timeout)
            .finish()
    }
}

impl Default for App {
    fn default() -> Self {
        App::new()
    }
}

impl App {
    /// An application without servers; stop timeout 10 s.
    pub fn new() -> Self {
        App {
            name: String::new(),
            version: String::new(),
            servers: Vec::new(),
            stop_timeout: Duration::from_secs(10),
        }
    }

    /// The service name (used for logs and, with a registry, for registration).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The service version.
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = version.into();
        self
    }

    /// Adds a server.
    pub fn server(mut self, server: impl Server) -> Self {
        self.servers.push(Box::new(server));
        self
    }

    /// How long stopping may take before the application gives up waiting (default 10 s).
    pub fn stop_timeout(mut self, timeout: Duration) -> Self {
        self.stop_timeout = timeout;
        self
    }

    /// Runs until SIGINT or SIGTERM.
    pub async fn run(self) -> Result<(), AppError> {
        self.run_until(termination_signal()).await
    }

    /// Runs until `shutdown` completes. If it resolves to an error (such as a failure to
    /// install signal handlers), the servers are stopped and the error returned.
    pub async fn run_until<F>(mut self, shutdown: F) -> Result<(), AppError>
    where
        F: std::future::Future<Output = Result<(), std::io::Error>>,
    {
        let started = self.start_all(|_| ()).await?;
        tracing::info!(name = %self.name, version = %self.version, endpoints = ?started, "app started");
        let signal = shutdown.await;
        tracing::info!(name = %self.name, "app stopping");
        self.stop_all().await?;
        signal.map_err(AppError::Signal)
    }

    /// Starts every server in order; if one fails, stops those already started.
    /// `on_started` sees each bound address.
    pub async fn start_all(
        &mut self,
        mut on_started: impl FnMut(SocketAddr),
    ) -> Result<Vec<(&'static str, SocketAddr)>, AppError> {
        let mut started = Vec::new();
        for i in 0..self.servers.len() {
            match self.servers[i].start().await {
                Ok(addr) => {
                    on_started(addr);
                    started.push((self.servers[i].kind(), addr));
                }
                Err(e) => {
                    for server in self.servers[..i].iter_mut().rev() {
                        if let Err(stop_err) = server.stop().await {
                            tracing::error!(error = %stop_err, "stopping after a failed start");
                        }
                    }
                    return Err(AppError::Start(e));
                }
            }
        }
        Ok(started)
    }

    /// Stops every server (all of them, even when one fails), within the stop timeout.
    pub async fn stop_all(&mut self) -> Result<(), AppError> {
        let timeout = self.stop_timeout;
        let stop = async {
            let mut errors = Vec::new();
            for server in self.servers.iter_mut() {
                if let Err(e) = server.stop().await {
                    errors.push(e);
                }
            }
            errors
        };
        match tokio::time::timeout(timeout, stop).await {
            Ok(errors) if errors.is_empty() => Ok(()),
            Ok(errors) => Err(AppError::Stop(errors)),
            Err(_) => Err(AppError::StopTimeout(timeout)),
        }
    }
}

/// Completes on SIGINT (Ctrl-C) or, on Unix, SIGTERM.
pub async fn termination_signal() -> Result<(), std::io::Error> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
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
