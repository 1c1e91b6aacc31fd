#![allow(dead_code)]
//! A TLS front for the plaintext fake servers: it takes TLS connections on a loopback port
//! (implicit TLS: smtps://, pop3s://, imaps://), with the certificate of `mail.test` from
//! `tests/certs/` (made by `tests/certs/make.sh`), and relays what comes through to a fake
//! server's port, so that every fake server's script and transcript serve the TLS tests.
//! It records what each handshake showed: the TLS version, the name sent (SNI), whether a
//! client certificate came, and the subject of the one it did.
//!
//! ```ignore
//! let server = pop(&[]).start();
//! let front = TlsFront::new(server.port()).require_client_cert().start();
//! // ... pop-fetch pop3s://bob@127.0.0.1:{front.port()} --tls-server-name mail.test ...
//! assert_eq!(front.handshakes()[0].client_cert, Some(...));
//! ```

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{ProtocolVersion, RootCertStore, ServerConfig, ServerConnection, StreamOwned};

use super::fake_server::lock;
use super::files::TempDir;

/// `tests/certs/NAME`.
pub fn cert_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/certs")
        .join(name)
}

/// A copy of `tests/certs/NAME` in `dir`, with `mode` (a checkout does not keep 0600).
pub fn cert_copy(dir: &TempDir, name: &str, mode: u32) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let to = dir.join(name);
    std::fs::copy(cert_file(name), &to).unwrap();
    std::fs::set_permissions(&to, std::fs::Permissions::from_mode(mode)).unwrap();
    to
}

/// What one handshake showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake {
    pub version: Option<ProtocolVersion>,
    pub sni: Option<String>,
    /// The number of certificates the client presented (`None`: none).
    pub client_certs: Option<usize>,
}

/// How the front is set up, before [`FrontBuilder::start`].
pub struct FrontBuilder {
    backend: u16,
    client_cert: bool,
    cert: &'static str,
    key: &'static str,
    versions: Vec<&'static rustls::SupportedProtocolVersion>,
    abrupt: bool,
}

impl FrontBuilder {
    /// Refuse a client without a certificate signed by the test CA.
    pub fn require_client_cert(mut self) -> Self {
        self.client_cert = true;
        self
    }

    /// Present `tests/certs/NAME` (with server.key) instead of server.pem.
    pub fn cert(mut self, name: &'static str) -> Self {
        self.cert = name;
        self
    }

    /// Present `tests/certs/CERT` with `tests/certs/KEY` (`ca.pem`, `ca.key`: a
    /// self-signed certificate).
    pub fn cert_and_key(mut self, cert: &'static str, key: &'static str) -> Self {
        self.cert = cert;
        self.key = key;
        self
    }

    /// When the fake server closes, drop the TCP connection without a TLS close_notify (a
    /// truncation attack, or a server that crashed).
    pub fn abrupt_close(mut self) -> Self {
        self.abrupt = true;
        self
    }

    /// Speak TLS 1.2 only.
    pub fn tls12_only(mut self) -> Self {
        self.versions = vec![&rustls::version::TLS12];
        self
    }

    /// Speak TLS 1.3 only.
    pub fn tls13_only(mut self) -> Self {
        self.versions = vec![&rustls::version::TLS13];
        self
    }

    pub fn start(self) -> TlsFront {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(cert_file(self.cert))
                .unwrap()
                .map(Result::unwrap)
                .collect();
        let key = PrivateKeyDer::from_pem_file(cert_file(self.key)).unwrap();
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&self.versions)
            .unwrap();
        let builder = if self.client_cert {
            let mut roots = RootCertStore::empty();
            for c in CertificateDer::pem_file_iter(cert_file("ca.pem")).unwrap() {
                roots.add(c.unwrap()).unwrap();
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .unwrap();
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let config = Arc::new(builder.with_single_cert(chain, key).unwrap());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        let backend = self.backend;
        let abrupt = self.abrupt;
        std::thread::spawn(move || {
            for tcp in listener.incoming() {
                let Ok(tcp) = tcp else { return };
                let (config, record) = (config.clone(), record.clone());
                std::thread::spawn(move || {
                    let _ = serve(tcp, config, backend, abrupt, &record);
                });
            }
        });
        TlsFront { port, seen }
    }
}

/// A running front.
pub struct TlsFront {
    port: u16,
    seen: Arc<Mutex<Vec<Handshake>>>,
}

impl TlsFront {
    /// A front for the fake server on `backend`.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(backend: u16) -> FrontBuilder {
        FrontBuilder {
            backend,
            client_cert: false,
            cert: "server.pem",
            key: "server.key",
            abrupt: false,
            versions: vec![&rustls::version::TLS13, &rustls::version::TLS12],
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The handshakes that completed, in order.
    pub fn handshakes(&self) -> Vec<Handshake> {
        lock(&self.seen).clone()
    }
}

/// One connection: the handshake, then bytes both ways until either side ends.
fn serve(
    tcp: TcpStream,
    config: Arc<ServerConfig>,
    backend: u16,
    abrupt: bool,
    record: &Mutex<Vec<Handshake>>,
) -> io::Result<()> {
    tcp.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut conn = ServerConnection::new(config).map_err(io::Error::other)?;
    let mut tcp = tcp;
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp)?;
    }
    lock(record).push(Handshake {
        version: conn.protocol_version(),
        sni: conn.server_name().map(str::to_string),
        client_certs: conn.peer_certificates().map(<[_]>::len),
    });
    let tick = Some(Duration::from_millis(10));
    tcp.set_read_timeout(tick)?;
    let mut plain = TcpStream::connect(("127.0.0.1", backend))?;
    plain.set_read_timeout(tick)?;
    let mut tls = StreamOwned::new(conn, tcp);
    let mut buf = [0u8; 16 * 1024];
    loop {
        match tls.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => plain.write_all(&buf[..n])?,
            Err(e) if idle(&e) => {}
            Err(e) => return Err(e),
        }
        match plain.read(&mut buf) {
            Ok(0) if abrupt => {
                let _ = tls.sock.shutdown(std::net::Shutdown::Both);
                return Ok(());
            }
            Ok(0) => {
                tls.conn.send_close_notify();
                return tls.flush();
            }
            Ok(n) => {
                tls.write_all(&buf[..n])?;
                tls.flush()?;
            }
            Err(e) if idle(&e) => {}
            Err(e) => return Err(e),
        }
    }
}

/// A read that found nothing within the tick.
fn idle(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}
