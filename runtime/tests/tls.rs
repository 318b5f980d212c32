//! TLS (feature `tls`) on real servers with certificates generated here: server TLS and mTLS
//! on both transports and both clients, refused certificates, ALPN, discovery of secure
//! endpoints, certificate reload and the handshake timeout.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use http::Method;
use kratos::grpc::ChannelBuilder;
use kratos::registry::memory::MemoryRegistry;
use kratos::tls::{ClientTls, ServerTls};
use kratos::transport::Server as _;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

const SOON: Duration = Duration::from_secs(5);

/// A certificate authority, and the directory its files are written to.
struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
    dir: PathBuf,
    name: &'static str,
}

impl Ca {
    fn new(dir: &Path, name: &'static str) -> Ca {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert = params.self_signed(&key).unwrap();
        let ca = Ca {
            cert,
            key,
            dir: dir.to_owned(),
            name,
        };
        std::fs::write(ca.file(), ca.cert.pem()).unwrap();
        ca
    }

    /// The CA's certificate file.
    fn file(&self) -> PathBuf {
        self.dir.join(format!("{}-ca.pem", self.name))
    }

    /// Issues a certificate for `sans` (DNS names or IP addresses) valid for servers and
    /// clients, written to `<stem>.pem` and `<stem>-key.pem`; returns the paths and the
    /// certificate's DER.
    fn issue(&self, stem: &str, sans: &[&str]) -> (PathBuf, PathBuf, Vec<u8>) {
        let key = KeyPair::generate().unwrap();
        let sans: Vec<String> = sans.iter().map(|s| s.to_string()).collect();
        let mut params = CertificateParams::new(sans).unwrap();
        params.distinguished_name.push(DnType::CommonName, stem);
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        let (cert_file, key_file) = (
            self.dir.join(format!("{stem}.pem")),
            self.dir.join(format!("{stem}-key.pem")),
        );
        std::fs::write(&key_file, key.serialize_pem()).unwrap();
        std::fs::write(&cert_file, cert.pem()).unwrap();
        (cert_file, key_file, cert.der().to_vec())
    }
}

/// Two CAs (one trusted by everyone, one rogue) with a server and a client certificate each.
struct Pki {
    _dir: tempfile::TempDir,
    ca: Ca,
    rogue: Ca,
    server: (PathBuf, PathBuf),
    client: (PathBuf, PathBuf),
    rogue_server: (PathBuf, PathBuf),
    rogue_client: (PathBuf, PathBuf),
}

fn pki() -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "trusted");
    let rogue = Ca::new(dir.path(), "rogue");
    let sans = ["localhost", "127.0.0.1"];
    let pair = |(c, k, _): (PathBuf, PathBuf, Vec<u8>)| (c, k);
    Pki {
        server: pair(ca.issue("server", &sans)),
        client: pair(ca.issue("client", &["client"])),
        rogue_server: pair(rogue.issue("rogue-server", &sans)),
        rogue_client: pair(rogue.issue("rogue-client", &["client"])),
        _dir: dir,
        ca,
        rogue,
    }
}

fn server_tls(pair: &(PathBuf, PathBuf)) -> ServerTls {
    ServerTls::from_pem_files(&pair.0, &pair.1)
}

/// An HTTP server with `GET /who` answering `name` and the request's HTTP version.
async fn http_server(tls: ServerTls, name: &'static str) -> (kratos::http::Server, SocketAddr) {
    let mut server = kratos::http::Server::builder()
        .address("127.0.0.1:0")
        .tls(tls)
        .build();
    server
        .handle("GET", "/who", move |request, _| async move {
            http::Response::new(bytes::Bytes::from(format!(
                "{name} {:?}",
                request.version()
            )))
        })
        .unwrap();
    let addr = server.start().await.unwrap();
    (server, addr)
}

/// A gRPC server with only its default health service.
async fn grpc_server(tls: ServerTls) -> (kratos::grpc::Server, SocketAddr) {
    let mut server = kratos::grpc::Server::builder()
        .address("127.0.0.1:0")
        .tls(tls)
        .build();
    let addr = server.start().await.unwrap();
    (server, addr)
}

async fn who(endpoint: String, tls: ClientTls) -> Result<String, kratos::errors::Error> {
    let client = kratos::http::Client::builder(endpoint)
        .tls(tls)
        .timeout(SOON)
        .build()
        .unwrap();
    let (_, body) = client.send(Method::GET, "/who", None).await?;
    Ok(String::from_utf8(body.to_vec()).unwrap())
}

async fn grpc_check(endpoint: String, tls: ClientTls) -> Result<i32, tonic::Status> {
    let channel = ChannelBuilder::new(endpoint)
        .tls(tls)
        .timeout(SOON)
        .build()
        .unwrap();
    HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .map(|r| r.into_inner().status)
}

#[tokio::test]
async fn tls_on_both_transports_and_both_clients() {
    let pki = pki();
    let (_http, http_addr) = http_server(server_tls(&pki.server), "plain-tls").await;
    let (_grpc, grpc_addr) = grpc_server(server_tls(&pki.server)).await;
    let trusting = || ClientTls::new().ca(pki.ca.file());

    // The HTTP client speaks HTTP/2 when the server offers it by ALPN.
    assert_eq!(
        who(format!("https://{http_addr}"), trusting())
            .await
            .unwrap(),
        "plain-tls HTTP/2.0"
    );
    // Without a scheme, a TLS client means https; the server name may be set apart.
    assert_eq!(
        who(format!("{http_addr}"), trusting().server_name("localhost"))
            .await
            .unwrap(),
        "plain-tls HTTP/2.0"
    );
    // SERVING = 1.
    for endpoint in [
        format!("https://{grpc_addr}"),
        format!("grpcs://{grpc_addr}"),
        format!("{grpc_addr}"),
    ] {
        assert_eq!(grpc_check(endpoint, trusting()).await.unwrap(), 1);
    }

    // A client without TLS gets nothing from a TLS server.
    let plain = kratos::http::Client::builder(format!("http://{http_addr}"))
        .timeout(SOON)
        .build()
        .unwrap();
    assert!(plain.send(Method::GET, "/who", None).await.is_err());
    let plain = ChannelBuilder::new(format!("http://{grpc_addr}"))
        .timeout(SOON)
        .build()
        .unwrap();
    assert!(
        HealthClient::new(plain)
            .check(HealthCheckRequest::default())
            .await
            .is_err()
    );

    // Endpoints and TLS must agree.
    assert!(
        kratos::http::Client::builder(format!("http://{http_addr}"))
            .tls(trusting())
            .build()
            .is_err()
    );
    assert!(
        kratos::http::Client::builder(format!("https://{http_addr}"))
            .build()
            .is_err()
    );
    // A client without a trusted CA is refused at build time.
    assert!(
        kratos::http::Client::builder(format!("https://{http_addr}"))
            .tls(ClientTls::new())
            .build()
            .is_err()
    );
}

#[tokio::test]
async fn a_server_certificate_from_an_untrusted_ca_is_refused_by_both_clients() {
    let pki = pki();
    let (_http, http_addr) = http_server(server_tls(&pki.rogue_server), "rogue").await;
    let (_grpc, grpc_addr) = grpc_server(server_tls(&pki.rogue_server)).await;
    let err = who(
        format!("https://{http_addr}"),
        ClientTls::new().ca(pki.ca.file()),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), 503, "{err}");
    assert!(format!("{err:?}").contains("certificate"), "{err:?}");
    let status = grpc_check(
        format!("https://{grpc_addr}"),
        ClientTls::new().ca(pki.ca.file()),
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    // A certificate for another name is refused too.
    let (_ok, ok_addr) = http_server(server_tls(&pki.server), "named").await;
    assert!(
        who(
            format!("https://{ok_addr}"),
            ClientTls::new()
                .ca(pki.ca.file())
                .server_name("other.example")
        )
        .await
        .is_err()
    );
}

#[tokio::test]
async fn mtls_accepts_clients_of_the_ca_and_rejects_the_others() {
    let pki = pki();
    let mtls = || server_tls(&pki.server).client_ca(pki.ca.file());
    let (_http, http_addr) = http_server(mtls(), "mtls").await;
    let (_grpc, grpc_addr) = grpc_server(mtls()).await;
    let with = |pair: &(PathBuf, PathBuf)| {
        ClientTls::new()
            .ca(pki.ca.file())
            .identity(&pair.0, &pair.1)
    };

    assert_eq!(
        who(format!("https://{http_addr}"), with(&pki.client))
            .await
            .unwrap(),
        "mtls HTTP/2.0"
    );
    assert_eq!(
        grpc_check(format!("https://{grpc_addr}"), with(&pki.client))
            .await
            .unwrap(),
        1
    );
    // No client certificate, or one from the rogue CA: the handshake fails.
    for tls in [ClientTls::new().ca(pki.ca.file()), with(&pki.rogue_client)] {
        let err = who(format!("https://{http_addr}"), tls.clone())
            .await
            .unwrap_err();
        assert_eq!(err.code(), 503, "{err}");
        assert!(err.message().contains("fatal alert"), "{err}");
        // With TLS 1.3 the client learns of the refusal from the server's alert, after its
        // side of the handshake: tonic reports the failed call as `UNKNOWN` then.
        let status = grpc_check(format!("https://{grpc_addr}"), tls)
            .await
            .unwrap_err();
        // The server's alert: CertificateRequired without a certificate, UnknownCA for the
        // rogue one.
        let seen = format!("{status:?}");
        assert!(
            seen.contains("CertificateRequired") || seen.contains("UnknownCA"),
            "{seen}"
        );
    }
    let _ = &pki.rogue;
}

/// The ALPN protocol a raw TLS client offering `offer` ends up with.
async fn negotiated(addr: SocketAddr, ca: &Path, offer: &[&[u8]]) -> Option<Vec<u8>> {
    let (stream, _) = raw_tls(addr, ca, offer).await;
    stream.get_ref().1.alpn_protocol().map(<[u8]>::to_vec)
}

/// A TLS connection trusting `ca`, offering `offer` by ALPN; and the server's certificate.
async fn raw_tls(
    addr: SocketAddr,
    ca: &Path,
    offer: &[&[u8]],
) -> (
    tokio_rustls::client::TlsStream<tokio::net::TcpStream>,
    Vec<u8>,
) {
    use rustls_pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls_pki_types::CertificateDer::from_pem_file(ca).unwrap())
        .unwrap();
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = offer.iter().map(|p| p.to_vec()).collect();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let stream = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(
            rustls_pki_types::ServerName::try_from("localhost").unwrap(),
            tcp,
        )
        .await
        .unwrap();
    let cert = stream.get_ref().1.peer_certificates().unwrap()[0].to_vec();
    (stream, cert)
}

#[tokio::test]
async fn alpn_offers_h2_and_http11_on_http_and_h2_on_grpc() {
    let pki = pki();
    let (_http, http_addr) = http_server(server_tls(&pki.server), "alpn").await;
    let (_grpc, grpc_addr) = grpc_server(server_tls(&pki.server)).await;
    let ca = pki.ca.file();
    assert_eq!(
        negotiated(http_addr, &ca, &[b"h2", b"http/1.1"]).await,
        Some(b"h2".to_vec())
    );
    assert_eq!(
        negotiated(http_addr, &ca, &[b"http/1.1"]).await,
        Some(b"http/1.1".to_vec())
    );
    assert_eq!(
        negotiated(grpc_addr, &ca, &[b"http/1.1", b"h2"]).await,
        Some(b"h2".to_vec())
    );
    // An HTTP/1.1 request over TLS is served.
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let (mut stream, _) = raw_tls(http_addr, &ca, &[b"http/1.1"]).await;
    stream
        .write_all(b"GET /who HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut reply = String::new();
    tokio::time::timeout(SOON, stream.read_to_string(&mut reply))
        .await
        .unwrap()
        .ok();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.ends_with("alpn HTTP/1.1"), "{reply}");
}

/// A new certificate written over the files is served to the next connection; a broken one is
/// skipped (the last good one stays).
#[tokio::test]
async fn a_changed_certificate_is_picked_up_by_a_new_connection() {
    let pki = pki();
    let (_http, http_addr) = http_server(
        server_tls(&pki.server).reload_interval(Duration::ZERO),
        "reload",
    )
    .await;
    let ca = pki.ca.file();
    let (_, first) = raw_tls(http_addr, &ca, &[b"http/1.1"]).await;

    // Issue a new certificate (and key) to the same files.
    let (_, _, new_der) = pki.ca.issue("server", &["localhost", "127.0.0.1"]);
    assert_ne!(new_der, first);
    let (_, second) = raw_tls(http_addr, &ca, &[b"http/1.1"]).await;
    assert_eq!(
        second, new_der,
        "the new connection got the old certificate"
    );

    // A broken file: the last good certificate stays in use.
    std::fs::write(&pki.server.0, "not a certificate").unwrap();
    let (_, third) = raw_tls(http_addr, &ca, &[b"http/1.1"]).await;
    assert_eq!(third, new_der);
    // The kratos client still connects.
    assert_eq!(
        who(format!("https://{http_addr}"), ClientTls::new().ca(&ca))
            .await
            .unwrap(),
        "reload HTTP/2.0"
    );
}

/// A client that connects and never finishes the handshake is closed at the handshake
/// timeout; and a stop closes connections still in their handshake at once.
#[tokio::test]
async fn a_stalled_handshake_is_closed_and_does_not_hold_up_a_stop() {
    use tokio::io::AsyncReadExt as _;
    let pki = pki();
    let (_http, addr) = http_server(
        server_tls(&pki.server).handshake_timeout(Duration::from_millis(200)),
        "slow",
    )
    .await;
    let mut stalled = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(SOON, stalled.read(&mut buf))
        .await
        .expect("the server closes a stalled handshake");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");

    // Default timeout (10 s): a stop does not wait for it.
    let (mut server, addr) = grpc_server(server_tls(&pki.server)).await;
    let mut stalled = tokio::net::TcpStream::connect(addr).await.unwrap();
    // Give the server time to accept it.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let cut = tokio::time::timeout(SOON, server.stop_within(Duration::from_secs(30)))
        .await
        .expect("the stop does not wait for the handshake")
        .unwrap();
    assert!(cut.is_empty(), "{cut:?}");
    let read = tokio::time::timeout(SOON, stalled.read(&mut buf))
        .await
        .unwrap();
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
}

/// Servers run by an App register `https://` and `grpcs://` endpoints; TLS clients resolving
/// through the registry use those (and Kratos' older `?isSecure=true` form), never a plain one.
#[tokio::test]
async fn discovery_with_tls_uses_the_secure_endpoints() {
    let pki = pki();
    let registry = MemoryRegistry::new();
    let mut http = kratos::http::Server::builder()
        .address("127.0.0.1:0")
        .tls(server_tls(&pki.server))
        .build();
    http.handle("GET", "/who", |_, _| async {
        http::Response::new(bytes::Bytes::from_static(b"secure"))
    })
    .unwrap();
    let grpc = kratos::grpc::Server::builder()
        .address("127.0.0.1:0")
        .tls(server_tls(&pki.server))
        .build();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let app = kratos::App::new()
        .name("secure")
        .server(http)
        .server(grpc)
        .registrar(registry.clone());
    let running = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
        Ok(())
    }));
    let discovery: Arc<dyn kratos::registry::Discovery> = Arc::new(registry.clone());
    let instances = tokio::time::timeout(SOON, async {
        loop {
            let found = discovery.get_service("secure").await.unwrap();
            if !found.is_empty() {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap();
    let endpoints = &instances[0].endpoints;
    assert!(
        endpoints.iter().any(|e| e.starts_with("https://"))
            && endpoints.iter().any(|e| e.starts_with("grpcs://")),
        "{endpoints:?}"
    );

    // A plain instance of the same service, which TLS clients must not pick.
    let (mut plain, plain_addr) = {
        let mut s = kratos::http::Server::builder()
            .address("127.0.0.1:0")
            .build();
        s.handle("GET", "/who", |_, _| async {
            http::Response::new(bytes::Bytes::from_static(b"plain"))
        })
        .unwrap();
        let a = s.start().await.unwrap();
        (s, a)
    };
    use kratos::registry::Registrar as _;
    registry
        .register(
            &kratos::registry::ServiceInstance::new("plain", "secure")
                .with_endpoint(format!("http://{plain_addr}"))
                .with_endpoint(format!("grpc://{plain_addr}")),
        )
        .await
        .unwrap();

    let tls = ClientTls::new().ca(pki.ca.file());
    let client = kratos::http::Client::builder("discovery:///secure")
        .discovery(discovery.clone())
        .tls(tls.clone())
        .timeout(SOON)
        .connect()
        .await
        .unwrap();
    let channel = ChannelBuilder::new("discovery:///secure")
        .discovery(discovery.clone())
        .tls(tls)
        .timeout(SOON)
        .connect()
        .await
        .unwrap();
    let mut health = HealthClient::new(channel);
    for _ in 0..10 {
        let (_, body) = client.send(Method::GET, "/who", None).await.unwrap();
        assert_eq!(&body[..], b"secure");
        let status = health
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .unwrap();
        assert_eq!(status.into_inner().status, 1);
    }
    // A plain client of the same service picks the plain instance only.
    let plain_client = kratos::http::Client::builder("discovery:///secure")
        .discovery(discovery.clone())
        .timeout(SOON)
        .connect()
        .await
        .unwrap();
    let (_, body) = plain_client.send(Method::GET, "/who", None).await.unwrap();
    assert_eq!(&body[..], b"plain");

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(20), running)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    plain.stop().await.unwrap();
}

/// Kratos' older form of a secure endpoint, `grpc://host:port?isSecure=true`, is picked by TLS
/// clients.
#[tokio::test]
async fn is_secure_marked_endpoints_are_secure() {
    let pki = pki();
    let (_grpc, grpc_addr) = grpc_server(server_tls(&pki.server)).await;
    let registry = MemoryRegistry::new();
    use kratos::registry::Registrar as _;
    registry
        .register(
            &kratos::registry::ServiceInstance::new("marked", "legacy")
                .with_endpoint(format!("grpc://{grpc_addr}?isSecure=true")),
        )
        .await
        .unwrap();
    let channel = ChannelBuilder::new("discovery:///legacy")
        .discovery(Arc::new(registry.clone()))
        .tls(ClientTls::new().ca(pki.ca.file()))
        .timeout(SOON)
        .connect()
        .await
        .unwrap();
    let status = HealthClient::new(channel)
        .check(HealthCheckRequest::default())
        .await
        .unwrap();
    assert_eq!(status.into_inner().status, 1);
    // A plain client finds no plain endpoint there.
    assert!(
        ChannelBuilder::new("discovery:///legacy")
            .discovery(Arc::new(registry))
            .timeout(Duration::from_millis(300))
            .connect()
            .await
            .is_err()
    );
}
