//! Servers from configuration: kratos-layout's `server.http` and `server.grpc` sections.
//!
//! A section has `addr` (the listen address) and `timeout` (the server's per-call limit, Go
//! syntax `"1s"` or nanoseconds, set with the builders' `timeout`; `0s` means none, an absent
//! key keeps the default of 1 s); absent keys leave the builder as it is. A `network` key is
//! accepted and must be `tcp` (or empty). Precedence is the caller's: apply the section to a
//! builder holding the defaults, then explicit command-line flags.
//!
//! ```no_run
//! # async fn run(config: kratos::config::Config) -> Result<(), kratos::config::ConfigError> {
//! use kratos::config::ServerSettings;
//!
//! let http = ServerSettings::from_config(&config.snapshot(), "server.http")?
//!     .http(kratos::http::Server::builder().address("0.0.0.0:8000"))
//!     .build();
//! # Ok(())
//! # }
//! ```

use std::time::Duration;

use super::{ConfigError, Snapshot};
use crate::transport::{grpc, http};

/// The settings of one server section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerSettings {
    /// `addr`: where to listen.
    pub addr: Option<String>,
    /// `timeout`: the per-call limit.
    pub timeout: Option<Duration>,
}

impl ServerSettings {
    /// Reads the section at `prefix` (`server.http`); an absent section gives no settings.
    pub fn from_config(snapshot: &Snapshot, prefix: &str) -> Result<Self, ConfigError> {
        let key = |k: &str| format!("{prefix}.{k}");
        let network = snapshot.value(&key("network"));
        if network.exists() {
            let network = network.string()?;
            if !(network.is_empty() || network == "tcp") {
                return Err(ConfigError::Invalid(format!(
                    "{}: network {network:?} is not supported (tcp only)",
                    key("network")
                )));
            }
        }
        let addr = snapshot.value(&key("addr"));
        let timeout = snapshot.value(&key("timeout"));
        Ok(ServerSettings {
            addr: addr.exists().then(|| addr.string()).transpose()?,
            timeout: timeout.exists().then(|| timeout.duration()).transpose()?,
        })
    }

    /// Applies the settings to an HTTP server builder.
    pub fn http(&self, mut builder: http::ServerBuilder) -> http::ServerBuilder {
        if let Some(addr) = &self.addr {
            builder = builder.address(addr.clone());
        }
        if let Some(timeout) = self.timeout {
            builder = builder.timeout(timeout);
        }
        builder
    }

    /// Applies the settings to a gRPC server builder.
    pub fn grpc(&self, mut builder: grpc::ServerBuilder) -> grpc::ServerBuilder {
        if let Some(addr) = &self.addr {
            builder = builder.address(addr.clone());
        }
        if let Some(timeout) = self.timeout {
            builder = builder.timeout(timeout);
        }
        builder
    }
}
