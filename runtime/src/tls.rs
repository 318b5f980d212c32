//! TLS with rustls (feature `tls`) for both servers and both clients.
//!
//! - [`ServerTls`]: a server's certificate chain and key, read from PEM files and **reloaded
//!   when the files change**, and optionally a CA whose certificates clients must present
//!   (mTLS). Given to `http::ServerBuilder::tls` (ALPN `h2` and `http/1.1`) or
//!   `grpc::ServerBuilder::tls` (ALPN `h2`). The handshake runs in the connection's own task
//!   and must finish within [`ServerTls::handshake_timeout`] (default 10 s): a client that
//!   stalls it holds nothing but its own connection, and is closed then (or at once when the
//!   server stops).
//! - [`ClientTls`]: the CAs a client trusts (PEM files), and optionally its own certificate
//!   and key (mTLS, reloaded the same way). Given to `http::ClientBuilder::tls` (then
//!   `https://` endpoints, and `discovery:///` picks the instances' `https` endpoints) or
//!   `grpc::ChannelBuilder::tls` (`discovery:///` picks the `grpcs` endpoints).
//!
//! **Reloading.** A key pair is checked for changes on the handshakes, at most once per
//! reload interval (default 1 s): both files are read and compared with the bytes last
//! loaded (modification times are too coarse to tell two quick writes apart), and when one
//! differs the pair is parsed again. The new pair is
//! used from the next handshake on; connections already open keep theirs. A pair that does not
//! load (a file half written, a key that does not match the certificate) is skipped with a
//! warning, the previous pair stays in use, and the files are tried again at the next check.
//! Checking on handshakes rather than with a file watcher needs no background task, and works
//! however the files are replaced (rename, rewrite, or a Kubernetes secret's symlink swap).
//! The CA files are read once, when the server or client is built.
//!
//! rustls is used with the ring provider, passed explicitly, so the program may link another
//! provider for other crates.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use rustls::crypto::CryptoProvider;
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};

/// The default time a client has to finish the TLS handshake.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// The default shortest time between two checks of a key pair's files.
pub const DEFAULT_RELOAD_INTERVAL: Duration = Duration::from_secs(1);

/// ALPN protocol ids.
pub(crate) const ALPN_H2: &[u8] = b"h2";
pub(crate) const ALPN_HTTP11: &[u8] = b"http/1.1";

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read or holds no usable PEM item.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// rustls refused the configuration (such as a key that does not match the certificate).
    #[error("tls: {0}")]
    Config(String),
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn file_error(path: &Path, reason: impl std::fmt::Display) -> TlsError {
    TlsError::File {
        path: path.to_owned(),
        reason: reason.to_string(),
    }
}

/// Every certificate of a PEM file (at least one).
fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    parse_certs(path, &read(path)?)
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| file_error(path, e))
}

/// Every certificate of the PEM text `pem` read from `path` (at least one).
fn parse_certs(path: &Path, pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(path, e))?;
    if certs.is_empty() {
        return Err(file_error(path, "no CERTIFICATE in the file"));
    }
    Ok(certs)
}

/// The trust roots of the PEM files `paths`.
fn read_roots(paths: &[PathBuf]) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for path in paths {
        for cert in read_certs(path)? {
            roots.add(cert).map_err(|e| file_error(path, e))?;
        }
    }
    Ok(roots)
}

/// When the files were last checked, and their bytes last loaded.
struct Checked {
    at: Instant,
    loaded: (Vec<u8>, Vec<u8>),
}

/// A certificate chain and its key from two PEM files, reloaded when they change (see the
/// module documentation); serves as the certificate of a server or of a client (mTLS).
pub(crate) struct KeyPairFiles {
    cert: PathBuf,
    key: PathBuf,
    interval: Duration,
    provider: Arc<CryptoProvider>,
    current: ArcSwap<CertifiedKey>,
    checked: Mutex<Checked>,
}

impl std::fmt::Debug for KeyPairFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPairFiles")
            .field("cert", &self.cert)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl KeyPairFiles {
    fn load(
        cert: &Path,
        key: &Path,
        interval: Duration,
        provider: Arc<CryptoProvider>,
    ) -> Result<Self, TlsError> {
        let loaded = (read(cert)?, read(key)?);
        let pair = Self::parse(cert, key, &loaded, &provider)?;
        Ok(KeyPairFiles {
            cert: cert.to_owned(),
            key: key.to_owned(),
            interval,
            provider,
            current: ArcSwap::from_pointee(pair),
            checked: Mutex::new(Checked {
                at: Instant::now(),
                loaded,
            }),
        })
    }

    fn parse(
        cert: &Path,
        key: &Path,
        (cert_pem, key_pem): &(Vec<u8>, Vec<u8>),
        provider: &CryptoProvider,
    ) -> Result<CertifiedKey, TlsError> {
        let chain = parse_certs(cert, cert_pem)?;
        let private = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| file_error(key, e))?;
        CertifiedKey::from_der(chain, private, provider)
            .map_err(|e| TlsError::Config(format!("{} and {}: {e}", cert.display(), key.display())))
    }

    /// The pair to use now, reloaded first if the files changed since the last check (at
    /// most one check per interval; a handshake that finds another one checking does not wait).
    fn current(&self) -> Arc<CertifiedKey> {
        if let Ok(mut checked) = self.checked.try_lock() {
            let now = Instant::now();
            if now.duration_since(checked.at) >= self.interval {
                checked.at = now;
                let files = read(&self.cert).and_then(|c| Ok((c, read(&self.key)?)));
                match files {
                    Ok(files) if files != checked.loaded => {
                        match Self::parse(&self.cert, &self.key, &files, &self.provider) {
                            Ok(pair) => {
                                self.current.store(Arc::new(pair));
                                checked.loaded = files;
                                tracing::info!(cert = %self.cert.display(), "tls: certificate reloaded");
                            }
                            Err(e) => tracing::warn!(
                                error = %e,
                                "tls: the changed certificate does not load; keeping the current one"
                            ),
                        }
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(
                        error = %e,
                        "tls: the certificate files cannot be read; keeping the current pair"
                    ),
                }
            }
        }
        self.current.load_full()
    }
}

impl rustls::server::ResolvesServerCert for KeyPairFiles {
    fn resolve(&self, _hello: rustls::server::ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

impl rustls::client::ResolvesClientCert for KeyPairFiles {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[rustls::SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// A server's TLS: certificate and key files, and the CA of client certificates for mTLS.
#[derive(Debug, Clone)]
pub struct ServerTls {
    cert: PathBuf,
    key: PathBuf,
    client_cas: Vec<PathBuf>,
    handshake_timeout: Duration,
    reload_interval: Duration,
}

impl ServerTls {
    /// TLS with the certificate chain of the PEM file `cert` (leaf first) and the private key
    /// of the PEM file `key` (PKCS#8, PKCS#1 or SEC1), reloaded when they change.
    pub fn from_pem_files(cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        ServerTls {
            cert: cert.into(),
            key: key.into(),
            client_cas: Vec::new(),
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            reload_interval: DEFAULT_RELOAD_INTERVAL,
        }
    }

    /// mTLS: clients must present a certificate issued by a CA of the PEM file `ca` (may be
    /// called again for more CAs); a client without one, or with another, fails the handshake.
    pub fn client_ca(mut self, ca: impl Into<PathBuf>) -> Self {
        self.client_cas.push(ca.into());
        self
    }

    /// How long a client has to finish the handshake (default 10 s).
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// The shortest time between two checks of the key pair's files (default 1 s; zero checks
    /// on every handshake).
    pub fn reload_interval(mut self, interval: Duration) -> Self {
        self.reload_interval = interval;
        self
    }

    /// The acceptor for a server offering the ALPN protocols `alpn`.
    pub(crate) fn acceptor(&self, alpn: &[&[u8]]) -> Result<TlsAccept, TlsError> {
        let provider = provider();
        let pair = KeyPairFiles::load(
            &self.cert,
            &self.key,
            self.reload_interval,
            provider.clone(),
        )?;
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?;
        let builder = if self.client_cas.is_empty() {
            builder.with_no_client_auth()
        } else {
            let roots = Arc::new(read_roots(&self.client_cas)?);
            let verifier =
                rustls::server::WebPkiClientVerifier::builder_with_provider(roots, provider)
                    .build()
                    .map_err(|e| TlsError::Config(e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        };
        let mut config = builder.with_cert_resolver(Arc::new(pair));
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(TlsAccept {
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
            handshake_timeout: self.handshake_timeout,
        })
    }
}

/// What a server's connections need for TLS.
#[derive(Clone)]
pub(crate) struct TlsAccept {
    pub(crate) acceptor: tokio_rustls::TlsAcceptor,
    pub(crate) handshake_timeout: Duration,
}

/// A client's TLS: the CAs it trusts, its own certificate for mTLS, the server name it checks.
#[derive(Debug, Clone, Default)]
pub struct ClientTls {
    cas: Vec<PathBuf>,
    identity: Option<(PathBuf, PathBuf)>,
    server_name: Option<String>,
    reload_interval: Option<Duration>,
}

impl ClientTls {
    /// No CA yet: add at least one with [`ClientTls::ca`] (the system's roots are not
    /// loaded).
    pub fn new() -> Self {
        Self::default()
    }

    /// Trusts the CA certificates of the PEM file `ca` (may be called again for more).
    pub fn ca(mut self, ca: impl Into<PathBuf>) -> Self {
        self.cas.push(ca.into());
        self
    }

    /// mTLS: presents the certificate chain of the PEM file `cert` with the key of `key`,
    /// reloaded when they change.
    pub fn identity(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.identity = Some((cert.into(), key.into()));
        self
    }

    /// The name the server's certificate must be valid for (default: the host the client
    /// connects to, a DNS name or an IP address).
    pub fn server_name(mut self, name: impl Into<String>) -> Self {
        self.server_name = Some(name.into());
        self
    }

    /// The shortest time between two checks of the identity files (default 1 s).
    pub fn reload_interval(mut self, interval: Duration) -> Self {
        self.reload_interval = Some(interval);
        self
    }

    /// The rustls connector for a client offering the ALPN protocols `alpn`.
    pub(crate) fn connector(&self, alpn: &[&[u8]]) -> Result<TlsConnect, TlsError> {
        if self.cas.is_empty() {
            return Err(TlsError::Config(
                "no trusted CA: add one with ClientTls::ca".into(),
            ));
        }
        let provider = provider();
        let roots = read_roots(&self.cas)?;
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?
            .with_root_certificates(roots);
        let mut config = match &self.identity {
            Some((cert, key)) => {
                let pair = KeyPairFiles::load(
                    cert,
                    key,
                    self.reload_interval.unwrap_or(DEFAULT_RELOAD_INTERVAL),
                    provider,
                )?;
                builder.with_client_cert_resolver(Arc::new(pair))
            }
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        let server_name = match &self.server_name {
            Some(name) => Some(
                ServerName::try_from(name.clone())
                    .map_err(|e| TlsError::Config(format!("server name {name:?}: {e}")))?,
            ),
            None => None,
        };
        Ok(TlsConnect {
            connector: tokio_rustls::TlsConnector::from(Arc::new(config)),
            server_name,
        })
    }
}

/// What a client's connections need for TLS.
#[derive(Clone)]
pub(crate) struct TlsConnect {
    pub(crate) connector: tokio_rustls::TlsConnector,
    pub(crate) server_name: Option<ServerName<'static>>,
}

impl TlsConnect {
    /// The name to check the server's certificate against when connecting to `host` (a DNS
    /// name or an IP address, possibly in brackets).
    pub(crate) fn name_for(&self, host: &str) -> Result<ServerName<'static>, TlsError> {
        if let Some(name) = &self.server_name {
            return Ok(name.clone());
        }
        let host = host.trim_start_matches('[').trim_end_matches(']');
        ServerName::try_from(host.to_owned())
            .map_err(|e| TlsError::Config(format!("server name {host:?}: {e}")))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Writes a new self-signed certificate and key for `name`; returns the certificate DER.
    fn write_pair(cert: &Path, key: &Path, name: &str) -> Vec<u8> {
        let pair = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec![name.to_owned()]).unwrap();
        let issued = params.self_signed(&pair).unwrap();
        std::fs::write(key, pair.serialize_pem()).unwrap();
        std::fs::write(cert, issued.pem()).unwrap();
        issued.der().to_vec()
    }

    fn served(files: &KeyPairFiles) -> Vec<u8> {
        files.current().cert[0].to_vec()
    }

    /// The rule: changed files are read again at the first handshake once the interval has
    /// passed since the last check, not before; a pair that does not load is skipped and the
    /// last good pair kept, and tried again at the next check.
    #[test]
    fn key_pairs_reload_after_the_interval_and_keep_the_last_good_pair() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
        let first = write_pair(&cert, &key, "one");

        let eager = KeyPairFiles::load(&cert, &key, Duration::ZERO, provider()).unwrap();
        let lazy = KeyPairFiles::load(&cert, &key, Duration::from_secs(3600), provider()).unwrap();
        assert_eq!(served(&eager), first);

        let second = write_pair(&cert, &key, "two");
        assert_eq!(served(&eager), second);
        // Within its interval the lazy one does not even look.
        assert_eq!(served(&lazy), first);

        // A key that does not match the certificate: skipped, the last good pair stays.
        let other = dir.path().join("other-key.pem");
        write_pair(&dir.path().join("other.pem"), &other, "three");
        std::fs::copy(&other, &key).unwrap();
        assert_eq!(served(&eager), second);
        // Garbage: skipped too.
        std::fs::write(&cert, "garbage").unwrap();
        assert_eq!(served(&eager), second);
        // A good pair again is picked up.
        let fourth = write_pair(&cert, &key, "four");
        assert_eq!(served(&eager), fourth);
    }

    #[test]
    fn missing_or_empty_files_are_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let err = ServerTls::from_pem_files(&missing, &missing)
            .acceptor(&[ALPN_H2])
            .err()
            .unwrap();
        assert!(err.to_string().contains("missing.pem"), "{err}");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        let err = ClientTls::new()
            .ca(&empty)
            .connector(&[ALPN_H2])
            .err()
            .unwrap();
        assert!(err.to_string().contains("no CERTIFICATE"), "{err}");
        assert!(ClientTls::new().connector(&[ALPN_H2]).is_err());
    }
}
