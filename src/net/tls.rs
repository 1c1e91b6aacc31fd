//! TLS with rustls (docs/CONVENTIONS.md, "TLS policy"): the system trust store plus `--cacert`,
//! `--pin sha256:HEX` (a certificate) or `--pin sha256//BASE64` (a public key), `--insecure`; a client certificate (`--cert`, `--key`), the name the
//! server's certificate must carry (`--tls-server-name`) and the versions allowed
//! (`--tls-min`, `--tls-max`). One [`TlsContext`] per run keeps one session cache, so FTPS
//! data connections resume the control connection's session (vsftpd's
//! `require_ssl_reuse=YES`) and present the same certificate.

use super::stream::{LimitReached, Sock};
use crate::error::{Error, Kind, Result, io_reason};
use crate::util::digest::{hex, sha256};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore, StreamOwned};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

/// `--tls`: when to use TLS on a connection that starts in plaintext.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsMode {
    /// Upgrade whenever the server offers it; without it, go on only if no password is sent.
    #[default]
    Auto,
    /// Fail (69) when the server does not offer TLS.
    Required,
    /// Never use TLS.
    None,
}

/// A TLS version `--tls-min` and `--tls-max` may name (rustls speaks no older one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    V1_2,
    V1_3,
}

impl TlsVersion {
    /// As the flags take it: `1.2`, `1.3`.
    pub fn number(self) -> &'static str {
        match self {
            TlsVersion::V1_2 => "1.2",
            TlsVersion::V1_3 => "1.3",
        }
    }

    fn rustls(self) -> &'static rustls::SupportedProtocolVersion {
        match self {
            TlsVersion::V1_2 => &rustls::version::TLS12,
            TlsVersion::V1_3 => &rustls::version::TLS13,
        }
    }
}

/// Trust settings from the command line.
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    pub mode: TlsMode,
    pub cacert: Option<PathBuf>,
    pub pin: Option<String>,
    pub insecure: bool,
    /// `--cert`: the client certificate chain (PEM), leaf first; its private key too, unless
    /// `key` names another file.
    pub cert: Option<PathBuf>,
    /// `--key`: the client certificate's private key (PEM, unencrypted).
    pub key: Option<PathBuf>,
    /// `--tls-server-name`: the name the server's certificate is checked against and sent
    /// as SNI, instead of the host connected to.
    pub server_name: Option<String>,
    /// `--tls-min`, `--tls-max`: the versions allowed (both 1.2 and 1.3 when not given).
    pub min_version: Option<TlsVersion>,
    pub max_version: Option<TlsVersion>,
}

/// A client configuration shared by every connection of a run (one session cache).
#[derive(Clone)]
pub struct TlsContext {
    config: Arc<ClientConfig>,
    /// The `--pin`s of the last server certificate the verifier refused, for the message
    /// that says how to trust it.
    refused: Arc<Mutex<Option<String>>>,
    /// `--tls-server-name`, in place of the host connected to.
    server_name: Option<ServerName<'static>>,
    /// A client certificate is presented (`--cert`).
    client_cert: bool,
}

impl TlsContext {
    /// Builds the trust configuration. A missing `--cacert`, `--cert` or `--key` file is
    /// NOINPUT (66); a file with no certificate or key, an encrypted key, a malformed `--pin`
    /// or `--tls-server-name`, or `--tls-min` above `--tls-max` is USAGE (64); a key file
    /// others may read, or a key that is not the certificate's, is NOPERM (77).
    pub fn new(opts: &TlsOptions) -> Result<TlsContext> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let pin = opts.pin.as_deref().map(parse_pin).transpose()?;
        let server_name = opts
            .server_name
            .as_deref()
            .map(|name| {
                ServerName::try_from(name.to_string()).map_err(|_| {
                    Error::new(
                        Kind::Usage,
                        format!(
                            "--tls-server-name {}: not a valid TLS server name",
                            crate::wire::printable(name)
                        ),
                    )
                })
            })
            .transpose()?;
        let versions = versions(opts.min_version, opts.max_version)?;
        let identity = match &opts.cert {
            Some(cert) => Some(client_identity(cert, opts.key.as_deref())?),
            None if opts.key.is_some() => {
                return Err(Error::new(
                    Kind::Usage,
                    "--key needs --cert FILE: the certificate the key belongs to",
                ));
            }
            None => None,
        };
        let mut extra = Vec::new();
        let mut extra_verifier = None;
        if let Some(path) = &opts.cacert {
            let shown = path.display();
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                .map_err(|e| match e {
                    rustls::pki_types::pem::Error::Io(io) => {
                        Error::no_input(format!("--cacert {shown}"), &io)
                    }
                    other => Error::new(Kind::Usage, format!("--cacert {shown}: {other}")),
                })?
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| Error::new(Kind::Usage, format!("--cacert {shown}: {e}")))?;
            if certs.is_empty() {
                return Err(Error::new(
                    Kind::Usage,
                    format!("--cacert {shown}: no PEM certificate in the file"),
                ));
            }
            let mut roots = RootCertStore::empty();
            for cert in certs {
                roots
                    .add(cert.clone())
                    .map_err(|e| Error::new(Kind::Usage, format!("--cacert {shown}: {e}")))?;
                extra.push(cert);
            }
            extra_verifier = Some(webpki_verifier(roots, &provider)?);
        }
        let refused = Arc::new(Mutex::new(None));
        let verifier = Arc::new(Verifier {
            extra_verifier,
            native: OnceLock::new(),
            provider: provider.clone(),
            extra,
            pin,
            insecure: opts.insecure,
            refused: refused.clone(),
        });
        let builder = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&versions)
            .map_err(|e| Error::new(Kind::Software, format!("TLS configuration: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let client_cert = identity.is_some();
        let config = match identity {
            Some(Identity { chain, key, names }) => builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| names.refused(&e))?,
            None => builder.with_no_client_auth(),
        };
        Ok(TlsContext {
            config: Arc::new(config),
            refused,
            server_name,
            client_cert,
        })
    }

    /// Whether a client certificate is presented (`--cert`): then a session without TLS
    /// would go on without it.
    pub fn presents_certificate(&self) -> bool {
        self.client_cert
    }

    /// The rustls configuration: the same trust for a client that makes its own
    /// connections (the OAuth2 token endpoint's HTTPS, `cli::oauth2`).
    pub fn client_config(&self) -> Arc<ClientConfig> {
        self.config.clone()
    }

    /// The same trust with a session cache of its own: for one FTP control connection and
    /// its data connections. With several control connections to one server (`--parallel`)
    /// sharing a cache, a data connection could resume another connection's session, which
    /// vsftpd refuses (`522 SSL connection failed: session reuse required`).
    pub fn with_own_sessions(&self) -> TlsContext {
        let mut config = (*self.config).clone();
        config.resumption = rustls::client::Resumption::in_memory_sessions(8);
        TlsContext {
            config: Arc::new(config),
            ..self.clone()
        }
    }

    /// Runs the TLS handshake as a client on `tcp` for `host` (or the `--tls-server-name`),
    /// to completion, so that certificate problems surface here as TLS errors (76), not
    /// later as I/O errors.
    /// With a `deadline`, the handshake as a whole must be over by then, however slowly the
    /// server sends it; the socket's own read timeout is restored afterwards.
    pub fn handshake(
        &self,
        mut tcp: Sock,
        host: &str,
        deadline: Option<Instant>,
    ) -> Result<StreamOwned<ClientConnection, Sock>> {
        let name = match &self.server_name {
            Some(name) => name.clone(),
            None => ServerName::try_from(host.to_string()).map_err(|_| {
                Error::new(Kind::Usage, format!("{host}: not a valid TLS server name"))
            })?,
        };
        let mut conn = ClientConnection::new(self.config.clone(), name)
            .map_err(|e| Error::new(Kind::Tls, format!("{host}: {e}")))?;
        let idle = tcp.read_timeout();
        let too_slow = || {
            Error::new(
                Kind::Timeout,
                format!("{host}: timed out during the TLS handshake"),
            )
        };
        while conn.is_handshaking() {
            if let Some(d) = deadline {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(too_slow());
                }
                let left = idle.map_or(left, |i| i.min(left));
                tcp.set_read_timeout(Some(left))
                    .map_err(|e| handshake_error(host, e))?;
            }
            if let Err(e) = conn.complete_io(&mut tcp) {
                return Err(self.explain(host, e));
            }
        }
        if deadline.is_some() {
            tcp.set_read_timeout(idle)
                .map_err(|e| handshake_error(host, e))?;
        }
        Ok(StreamOwned::new(conn, tcp))
    }
}

impl TlsContext {
    /// A failed handshake in words: what was wrong, and for a certificate that is not
    /// trusted, its fingerprint and the `--pin` that would trust exactly it (as lftp shows).
    fn explain(&self, host: &str, e: io::Error) -> Error {
        let Some(tls) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) else {
            return handshake_error(host, e);
        };
        let mut why = in_words(tls);
        if let rustls::Error::AlertReceived(alert) = tls {
            why.push_str(alert_hint(*alert, self.client_cert));
        }
        if !matches!(tls, rustls::Error::InvalidCertificate(_)) {
            return Error::new(Kind::Tls, format!("{host}: TLS: {why}")).with_source(e);
        }
        if let Some(name) = &self.server_name {
            why = format!(
                "{why} (checked against --tls-server-name {})",
                name.to_str()
            );
        }
        let refused = self
            .refused
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let trust = match refused {
            Some(pins) => format!(
                "; to trust exactly this certificate: {pins} (or give its CA with --cacert FILE)"
            ),
            None => " (a private or self-signed server needs --cacert FILE or --pin sha256:HEX)"
                .to_string(),
        };
        Error::new(Kind::Tls, format!("{host}: TLS: {why}{trust}"))
    }
}

/// A fatal alert the server sent once the handshake was over for us: a TLS 1.3 server
/// checks a client certificate after the client's Finished (RFC 8446 section 4.4.2), so
/// its refusal comes with the first read. A TLS failure (76), not a broken connection to
/// try again, said in words; `None` for any other error.
pub fn alert_after_handshake(what: &dyn std::fmt::Display, err: &io::Error) -> Option<Error> {
    let tls = err.get_ref()?.downcast_ref::<rustls::Error>()?;
    let rustls::Error::AlertReceived(alert) = tls else {
        return None;
    };
    // Only a certificate alert can be about ours once the handshake is over.
    let hint = alert_hint(*alert, true);
    Some(Error::new(
        Kind::Tls,
        format!("{what}: TLS: {}{hint}", in_words(tls)),
    ))
}

/// What an alert the server ended the handshake with says: that it wants a client
/// certificate, or refused ours (`client_cert`: one was presented), or speaks none of the
/// versions allowed.
fn alert_hint(alert: rustls::AlertDescription, client_cert: bool) -> &'static str {
    use rustls::AlertDescription as A;
    match (alert, client_cert) {
        (A::CertificateRequired, _) | (A::HandshakeFailure, false) => {
            ": it may want a client certificate (--cert FILE)"
        }
        (
            A::BadCertificate
            | A::UnknownCA
            | A::CertificateUnknown
            | A::CertificateExpired
            | A::CertificateRevoked
            | A::UnsupportedCertificate
            | A::AccessDenied,
            true,
        ) => ": it refused our client certificate (--cert)",
        (A::ProtocolVersion, _) => {
            ": it speaks none of the TLS versions allowed (--tls-min, --tls-max)"
        }
        _ => "",
    }
}

/// The versions `--tls-min` and `--tls-max` allow, newest first.
fn versions(
    min: Option<TlsVersion>,
    max: Option<TlsVersion>,
) -> Result<Vec<&'static rustls::SupportedProtocolVersion>> {
    let (lo, hi) = (
        min.unwrap_or(TlsVersion::V1_2),
        max.unwrap_or(TlsVersion::V1_3),
    );
    if lo > hi {
        return Err(Error::new(
            Kind::Usage,
            format!(
                "--tls-min {} is above --tls-max {}: no version is left",
                lo.number(),
                hi.number()
            ),
        ));
    }
    Ok([TlsVersion::V1_3, TlsVersion::V1_2]
        .into_iter()
        .filter(|v| (lo..=hi).contains(v))
        .map(TlsVersion::rustls)
        .collect())
}

/// A client certificate chain and its private key, and where each came from.
struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    names: IdentityFiles,
}

/// `--cert FILE`, and `--key FILE` or `--cert FILE` (the key in the same file), as messages
/// name them.
struct IdentityFiles {
    cert_shown: String,
    key_shown: String,
}

impl IdentityFiles {
    /// rustls's refusal of the pair: a key that is not the certificate's is 77 (as a
    /// refused login: the identity is wrong), anything else about the key 64. Never the key.
    fn refused(&self, e: &rustls::Error) -> Error {
        match e {
            rustls::Error::InconsistentKeys(_) => Error::new(
                Kind::Auth,
                format!(
                    "{}: the private key does not belong to the certificate in {}",
                    self.key_shown, self.cert_shown
                ),
            ),
            _ => Error::new(
                Kind::Usage,
                format!(
                    "{}: a private key of a kind TLS cannot use (RSA, ECDSA and Ed25519 can)",
                    self.key_shown
                ),
            ),
        }
    }
}

/// Reads `--cert FILE` (the chain, leaf first) and the private key from `--key FILE`, or
/// from the certificate file when no `--key` is given (curl's rule). The file the key
/// comes from gets the rule of a password file (docs/CONVENTIONS.md, "Credentials"): one
/// readable by group or others is refused, as ssh refuses such a key. No message ever
/// holds a byte of the files, only their names.
fn client_identity(cert: &Path, key: Option<&Path>) -> Result<Identity> {
    let cert_shown = format!("--cert {}", cert.display());
    let cert_pem = read_pem(cert, &cert_shown)?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem.text)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|_| Error::new(Kind::Usage, format!("{cert_shown}: malformed PEM")))?;
    if chain.is_empty() {
        return Err(Error::new(
            Kind::Usage,
            format!("{cert_shown}: no PEM certificate in the file"),
        ));
    }
    let (key_pem, key_path, key_shown) = match key {
        Some(path) => {
            let shown = format!("--key {}", path.display());
            (read_pem(path, &shown)?, path, shown)
        }
        None => (cert_pem, cert, cert_shown.clone()),
    };
    if key_pem.text.windows(9).any(|w| w == b"ENCRYPTED") {
        // "BEGIN ENCRYPTED PRIVATE KEY" (PKCS#8) or "Proc-Type: 4,ENCRYPTED" (OpenSSL's).
        return Err(Error::new(
            Kind::Usage,
            format!(
                "{key_shown}: the private key is encrypted, and there is no way to give its passphrase: decrypt it into a file only you can read (openssl pkey -in KEY -out NEW)"
            ),
        ));
    }
    let key = match PrivateKeyDer::from_pem_slice(&key_pem.text) {
        Ok(k) => k,
        Err(rustls::pki_types::pem::Error::NoItemsFound) if key.is_none() => {
            return Err(Error::new(
                Kind::Usage,
                format!("{key_shown}: no private key in the file: give it with --key FILE"),
            ));
        }
        Err(rustls::pki_types::pem::Error::NoItemsFound) => {
            return Err(Error::new(
                Kind::Usage,
                format!("{key_shown}: no PEM private key in the file"),
            ));
        }
        Err(_) => {
            return Err(Error::new(
                Kind::Usage,
                format!("{key_shown}: malformed PEM"),
            ));
        }
    };
    key_pem.owner_only(key_path, &key_shown)?;
    Ok(Identity {
        chain,
        key,
        names: IdentityFiles {
            cert_shown,
            key_shown,
        },
    })
}

/// A PEM file as read, and its mode.
struct Pem {
    text: Vec<u8>,
    mode: u32,
}

/// The most a certificate or key file may hold: a long chain is a few tens of KiB.
const MAX_PEM: u64 = 1 << 20;

/// Reads a `--cert` or `--key` file (`shown`: the flag and its name): missing or
/// unreadable is 66, a file over [`MAX_PEM`] 64.
fn read_pem(path: &Path, shown: &str) -> Result<Pem> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| Error::no_input(shown, &e))?;
    let meta = file.metadata().map_err(|e| Error::no_input(shown, &e))?;
    let mut text = Vec::new();
    file.take(MAX_PEM + 1)
        .read_to_end(&mut text)
        .map_err(|e| Error::no_input(shown, &e))?;
    if text.len() as u64 > MAX_PEM {
        return Err(Error::new(
            Kind::Usage,
            format!("{shown}: over 1 MiB, not a certificate or key file"),
        ));
    }
    #[cfg(unix)]
    let mode = std::os::unix::fs::PermissionsExt::mode(&meta.permissions());
    #[cfg(not(unix))]
    let mode = 0o600;
    Ok(Pem { text, mode })
}

impl Pem {
    /// A file that holds a private key must be its owner's alone (77 otherwise), as a
    /// password file must (`cli::credentials::read_password_file`).
    fn owner_only(&self, path: &Path, shown: &str) -> Result<()> {
        if self.mode & 0o077 == 0 {
            return Ok(());
        }
        Err(Error::new(
            Kind::Auth,
            format!(
                "{shown}: holds a private key and is readable by group or others (mode {:o}); refusing it: chmod 600 {}",
                self.mode & 0o777,
                path.display()
            ),
        ))
    }
}

/// What went wrong in a handshake, in words rather than rustls's debug names.
fn in_words(e: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(c) => {
            let what = match c {
                C::UnknownIssuer => "is not signed by an authority we trust".to_string(),
                C::ExpiredContext { not_after, .. } => {
                    format!("has expired (on {})", utc_date(not_after.as_secs()))
                }
                C::Expired => "has expired".to_string(),
                C::NotValidYetContext { not_before, .. } => {
                    format!(
                        "is not valid yet (until {})",
                        utc_date(not_before.as_secs())
                    )
                }
                C::NotValidYet => "is not valid yet".to_string(),
                C::NotValidForNameContext {
                    expected,
                    presented,
                } if presented.iter().any(|n| name_presented(n).is_some()) => {
                    format!(
                        "is for {}, not {}",
                        names_presented(presented),
                        expected.to_str()
                    )
                }
                C::NotValidForName | C::NotValidForNameContext { .. } => {
                    "is not valid for this host name".to_string()
                }
                C::Revoked => "has been revoked".to_string(),
                C::BadSignature => "has a bad signature".to_string(),
                C::BadEncoding => "is malformed".to_string(),
                C::InvalidPurpose | C::InvalidPurposeContext { .. } => {
                    "is not meant for a TLS server".to_string()
                }
                C::Other(other) => match other.0.downcast_ref::<webpki::Error>() {
                    Some(webpki::Error::CaUsedAsEndEntity) => {
                        "is self-signed (a CA certificate used as the server's own)".to_string()
                    }
                    Some(webpki::Error::UnknownIssuer) => {
                        "is not signed by an authority we trust".to_string()
                    }
                    _ => format!("was refused ({other})"),
                },
                other => format!("was refused ({other:?})"),
            };
            format!("the server's certificate {what}")
        }
        rustls::Error::General(msg) => msg.clone(),
        rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => {
            "the server did not answer with TLS".to_string()
        }
        rustls::Error::PeerIncompatible(_) => {
            "the server offers no TLS version or cipher that is safe to use".to_string()
        }
        rustls::Error::NoCertificatesPresented => "the server sent no certificate".to_string(),
        rustls::Error::AlertReceived(alert) => {
            format!("the server ended the handshake ({alert:?})")
        }
        other => format!("the handshake failed ({other})"),
    }
}

/// A certificate's time, `2021-01-01` (UTC), for a message.
fn utc_date(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(i64::MAX / 2);
    let (y, m, d) = crate::util::calendar::civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The names a certificate is for, as a message shows them: the server's text, so made
/// printable and cut, the first three and how many more.
fn names_presented(presented: &[String]) -> String {
    let names: Vec<&str> = presented.iter().filter_map(|n| name_presented(n)).collect();
    let mut shown: Vec<String> = names
        .iter()
        .take(3)
        .map(|n| crate::wire::transcript::printable(&n.chars().take(80).collect::<String>()))
        .collect();
    if names.len() > 3 {
        shown.push(format!("{} more", names.len() - 3));
    }
    shown.join(", ")
}

/// A DNS name or IP address from webpki's list of the names a certificate presents, which
/// it writes as `DnsName("mail.test")` and `IpAddress(127.0.0.1)`; `None` for the other
/// kinds (a URI, a directory name) or a form this code does not know.
fn name_presented(n: &str) -> Option<&str> {
    n.strip_prefix("DnsName(\"")
        .and_then(|n| n.strip_suffix("\")"))
        .or_else(|| n.strip_prefix("IpAddress(")?.strip_suffix(')'))
}

/// Whether a failed handshake failed because the server's bytes were not TLS at all (a
/// plain port, or a server that agreed to STARTTLS and went on in plaintext), as opposed to
/// a certificate or an algorithm refused: the caller can then say which port to use.
pub fn answered_without_tls(e: &Error) -> bool {
    e.io_source()
        .and_then(|s| s.get_ref())
        .and_then(|i| i.downcast_ref::<rustls::Error>())
        .is_some_and(|t| {
            matches!(
                t,
                rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. }
            )
        })
}

/// A failed handshake's error, which names the `host` it checked, made to name `peer`
/// (`host:port`) instead, as every other message about the connection does: a user with
/// two servers on one host can tell which one failed.
pub fn naming_peer(e: Error, host: &str, peer: &str) -> Error {
    match e
        .message()
        .strip_prefix(host)
        .and_then(|r| r.strip_prefix(": "))
    {
        Some(rest) => {
            let message = format!("{peer}: {rest}");
            e.with_message(message)
        }
        None => e,
    }
}

fn handshake_error(host: &str, e: io::Error) -> Error {
    if LimitReached::of(&e).is_some() {
        return Error::network(host, e);
    }
    match e.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => Error::new(
            Kind::Timeout,
            format!("{host}: timed out during the TLS handshake"),
        ),
        io::ErrorKind::UnexpectedEof => Error::new(
            Kind::Tls,
            format!("{host}: the server closed the connection during the TLS handshake"),
        ),
        _ => Error::new(
            Kind::Tls,
            format!("{host}: TLS handshake failed: {}", io_reason(&e)),
        ),
    }
}

fn webpki_verifier(
    roots: RootCertStore,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<WebPkiServerVerifier>> {
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| Error::new(Kind::Software, format!("TLS trust store: {e}")))
}

/// The system's trust store, loaded on first use: a server that `--cacert` already
/// vouches for never costs the time and memory of parsing every system root.
fn native_verifier(provider: &Arc<CryptoProvider>) -> Option<Arc<WebPkiServerVerifier>> {
    let mut roots = RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    if roots.is_empty() {
        return None;
    }
    webpki_verifier(roots, provider).ok()
}

/// What `--pin` trusts, whoever signed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pin {
    /// The certificate with this SHA-256 fingerprint (msmtp's tls_fingerprint): a renewal
    /// needs a new pin.
    Cert([u8; 32]),
    /// Any certificate whose SubjectPublicKeyInfo hashes (SHA-256) to one of these (curl's
    /// `--pinnedpubkey sha256//BASE64;...`): a renewal that keeps the key keeps the pin.
    Keys(Vec<[u8; 32]>),
}

impl Pin {
    /// Whether the server's certificate `der` is the one pinned, or carries a pinned key.
    fn trusts(&self, der: &CertificateDer<'_>) -> bool {
        match self {
            Pin::Cert(fp) => sha256(der.as_ref()) == *fp,
            Pin::Keys(keys) => spki_hash(der).is_some_and(|h| keys.contains(&h)),
        }
    }
}

/// The SHA-256 of a certificate's SubjectPublicKeyInfo (RFC 5280 section 4.1, its DER
/// SEQUENCE whole, as curl hashes it); `None` for a certificate webpki cannot parse.
fn spki_hash(der: &CertificateDer<'_>) -> Option<[u8; 32]> {
    let cert = webpki::EndEntityCert::try_from(der).ok()?;
    Some(sha256(cert.subject_public_key_info().as_ref()))
}

/// The `--pin`s that trust certificate `der`: itself, or its key (which a renewal may keep).
fn pins(der: &CertificateDer<'_>) -> String {
    let cert = format!("--pin {}", fingerprint(der.as_ref()));
    match key_pin(der) {
        Some(key) => format!("{cert}, or its public key, kept across renewals: --pin {key}"),
        None => cert,
    }
}

/// The `--pin` that trusts the key of certificate `der` across renewals, curl's form.
pub fn key_pin(der: &CertificateDer<'_>) -> Option<String> {
    use base64::Engine as _;
    spki_hash(der).map(|h| {
        format!(
            "sha256//{}",
            base64::engine::general_purpose::STANDARD.encode(h)
        )
    })
}

/// Parses `sha256:HEX` (colons between bytes allowed, as msmtp prints them), a certificate's
/// fingerprint, or curl's `sha256//BASE64` of a public key, several separated by `;`.
pub fn parse_pin(pin: &str) -> Result<Pin> {
    if pin.starts_with("sha256//") {
        return parse_key_pins(pin).map(Pin::Keys);
    }
    parse_cert_pin(pin).map(Pin::Cert)
}

/// `sha256//BASE64[;sha256//BASE64...]`: each the base64 of 32 bytes.
fn parse_key_pins(pin: &str) -> Result<Vec<[u8; 32]>> {
    use base64::Engine as _;
    let bad = || {
        Error::new(
            Kind::Usage,
            format!(
                "--pin {pin}: expected sha256// followed by the base64 of a public key's SHA-256, several separated by ;"
            ),
        )
    };
    pin.split(';')
        .map(|one| {
            let b64 = one.trim().strip_prefix("sha256//").ok_or_else(bad)?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|_| bad())?;
            <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| bad())
        })
        .collect()
}

fn parse_cert_pin(pin: &str) -> Result<[u8; 32]> {
    let bad = || {
        Error::new(
            Kind::Usage,
            format!(
                "--pin {pin}: expected sha256: followed by 64 hex digits (the certificate's SHA-256 fingerprint), or sha256// and the base64 of its public key's"
            ),
        )
    };
    let hex = pin
        .strip_prefix("sha256:")
        .or_else(|| pin.strip_prefix("SHA256:"))
        .ok_or_else(bad)?;
    let digits: Vec<u8> = hex.bytes().filter(|&b| b != b':').collect();
    if digits.len() != 64 {
        return Err(bad());
    }
    let mut out = [0u8; 32];
    for (i, pair) in digits.chunks(2).enumerate() {
        let s = std::str::from_utf8(pair).map_err(|_| bad())?;
        out[i] = u8::from_str_radix(s, 16).map_err(|_| bad())?;
    }
    Ok(out)
}

/// The SHA-256 fingerprint of a certificate, as `--pin` takes it.
pub fn fingerprint(cert: &[u8]) -> String {
    format!("sha256:{}", hex(&sha256(cert)))
}

/// webpki verification against `--cacert` and then the system roots, plus two things webpki
/// alone does not do:
/// - `--pin`: exactly one certificate is trusted, whoever signed it (msmtp's tls_fingerprint),
///   or the certificates of pinned public keys (curl's `--pinnedpubkey`);
/// - a server certificate that is itself one of the `--cacert` certificates is trusted even
///   with basicConstraints CA:TRUE, which `openssl req -x509` sets by default and webpki
///   refuses as CaUsedAsEndEntity (curl and lftp accept it). Its host name is still checked.
#[derive(Debug)]
struct Verifier {
    /// The `--cacert` certificates as trust anchors.
    extra_verifier: Option<Arc<WebPkiServerVerifier>>,
    /// The system roots, loaded when first needed.
    native: OnceLock<Option<Arc<WebPkiServerVerifier>>>,
    provider: Arc<CryptoProvider>,
    /// The `--cacert` certificates themselves, for the exact-match rule.
    extra: Vec<CertificateDer<'static>>,
    pin: Option<Pin>,
    insecure: bool,
    /// Where a refused certificate's `--pin`s are left for the error message.
    refused: Arc<Mutex<Option<String>>>,
}

/// What the server presented in a handshake, as rustls hands it to a verifier.
struct Presented<'a> {
    end_entity: &'a CertificateDer<'a>,
    intermediates: &'a [CertificateDer<'a>],
    server_name: &'a ServerName<'a>,
    ocsp_response: &'a [u8],
    now: UnixTime,
}

impl Presented<'_> {
    /// webpki's verdict through `v`.
    fn verify_with(
        &self,
        v: &WebPkiServerVerifier,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        v.verify_server_cert(
            self.end_entity,
            self.intermediates,
            self.server_name,
            self.ocsp_response,
            self.now,
        )
    }
}

impl Verifier {
    /// The signature algorithms the provider verifies handshakes with.
    fn algorithms(&self) -> &rustls::crypto::WebPkiSupportedAlgorithms {
        &self.provider.signature_verification_algorithms
    }

    fn verify_chain(
        &self,
        p: &Presented<'_>,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let end_entity = p.end_entity;
        if self.insecure {
            return Ok(ServerCertVerified::assertion());
        }
        if let Some(pin) = &self.pin {
            return if pin.trusts(end_entity) {
                Ok(ServerCertVerified::assertion())
            } else if let Pin::Keys(_) = pin {
                Err(rustls::Error::General(format!(
                    "the server certificate's public key {} does not match --pin",
                    key_pin(end_entity).unwrap_or_else(|| "(unreadable)".to_string())
                )))
            } else {
                Err(rustls::Error::General(format!(
                    "the server certificate's fingerprint {} does not match --pin",
                    fingerprint(end_entity.as_ref())
                )))
            };
        }
        let mut first_error = None;
        if let Some(v) = &self.extra_verifier {
            match p.verify_with(v) {
                Ok(ok) => return Ok(ok),
                Err(e) => {
                    if self.extra.iter().any(|c| c.as_ref() == end_entity.as_ref()) {
                        // Exactly a certificate the user trusts: only the name is left to check.
                        let cert =
                            webpki::EndEntityCert::try_from(end_entity).map_err(|_| e.clone())?;
                        cert.verify_is_valid_for_subject_name(p.server_name)
                            .map_err(|_| {
                                rustls::Error::InvalidCertificate(
                                    rustls::CertificateError::NotValidForName,
                                )
                            })?;
                        return Ok(ServerCertVerified::assertion());
                    }
                    first_error = Some(e);
                }
            }
        }
        match self.native.get_or_init(|| native_verifier(&self.provider)) {
            Some(v) => p.verify_with(v).map_err(|e| first_error.unwrap_or(e)),
            None => Err(first_error.unwrap_or_else(|| {
                rustls::Error::General(
                    "no trusted certificates: install ca-certificates or give --cacert".into(),
                )
            })),
        }
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let verdict = self.verify_chain(&Presented {
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        });
        if verdict.is_err() {
            *self.refused.lock().unwrap_or_else(|p| p.into_inner()) = Some(pins(end_entity));
        }
        verdict
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, self.algorithms())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, self.algorithms())
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms().supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client identity from --cert and --key (copies of tests/certs/, the key made
    /// owner-only): the pair, a key missing or encrypted, one that is not the
    /// certificate's, a file too large to be one.
    #[test]
    fn client_identities_are_read_and_checked() {
        use std::os::unix::fs::PermissionsExt;
        let d = crate::util::test_folder("identity");
        let certs = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/certs");
        for f in [
            "client.pem",
            "client.key",
            "client-encrypted.key",
            "other.key",
        ] {
            std::fs::copy(certs.join(f), d.join(f)).unwrap();
            let owner_only = std::fs::Permissions::from_mode(0o600);
            std::fs::set_permissions(d.join(f), owner_only).unwrap();
        }
        let (cert, key) = (d.join("client.pem"), d.join("client.key"));
        let id = client_identity(&cert, Some(&key)).unwrap();
        assert!(!id.chain.is_empty());
        let opts = TlsOptions {
            cert: Some(cert.clone()),
            key: Some(key.clone()),
            ..TlsOptions::default()
        };
        assert!(TlsContext::new(&opts).unwrap().presents_certificate());
        let message = |key: Option<&Path>| match client_identity(&cert, key) {
            Ok(_) => panic!("{key:?}: taken"),
            Err(e) => e.to_string(),
        };
        let e = message(None);
        assert!(
            e.ends_with("client.pem: no private key in the file: give it with --key FILE"),
            "{e}"
        );
        let e = message(Some(&cert));
        assert!(
            e.ends_with("client.pem: no PEM private key in the file"),
            "{e}"
        );
        let e = message(Some(&d.join("client-encrypted.key")));
        assert!(
            e.contains("client-encrypted.key: the private key is encrypted"),
            "{e}"
        );
        let opts = TlsOptions {
            cert: Some(cert.clone()),
            key: Some(d.join("other.key")),
            ..TlsOptions::default()
        };
        let Err(e) = TlsContext::new(&opts) else {
            panic!("another certificate's key was taken");
        };
        assert_eq!(e.exit_code(), 77, "{e}");
        assert!(
            e.to_string()
                .contains("other.key: the private key does not belong"),
            "{e}"
        );
        let big = d.join("big.pem");
        std::fs::write(&big, vec![b'x'; (MAX_PEM + 1) as usize]).unwrap();
        let e = message(Some(&big));
        assert!(
            e.ends_with("big.pem: over 1 MiB, not a certificate or key file"),
            "{e}"
        );
        assert_eq!(MAX_PEM, 1024 * 1024);
        // Exactly 1 MiB is read (and found to hold no key).
        std::fs::write(&big, vec![b'x'; MAX_PEM as usize]).unwrap();
        let e = message(Some(&big));
        assert!(
            e.ends_with("big.pem: no PEM private key in the file"),
            "{e}"
        );
        // A key others may read is refused, as ssh refuses it.
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = message(Some(&key));
        assert!(e.contains("client.key"), "{e}");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn versions_by_number_and_sessions_of_their_own() {
        assert_eq!(
            (TlsVersion::V1_2.number(), TlsVersion::V1_3.number()),
            ("1.2", "1.3")
        );
        let shared = TlsContext::new(&Default::default()).unwrap();
        let own = shared.with_own_sessions();
        assert!(!Arc::ptr_eq(&shared.client_config(), &own.client_config()));
        assert!(!shared.presents_certificate());
    }

    /// A certificate not trusted is explained with what would trust it; another failure
    /// is said as itself, with no such advice.
    #[test]
    fn an_untrusted_certificate_says_what_would_trust_it() {
        let ctx = TlsContext::new(&Default::default()).unwrap();
        let bad = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let e = ctx.explain("h:990", io::Error::other(bad)).to_string();
        assert!(e.starts_with("h:990: TLS: "), "{e}");
        assert!(
            e.ends_with("needs --cacert FILE or --pin sha256:HEX)"),
            "{e}"
        );
        let other = rustls::Error::AlertReceived(rustls::AlertDescription::DecodeError);
        let e = ctx.explain("h:990", io::Error::other(other)).to_string();
        assert!(
            e.starts_with("h:990: TLS: ") && !e.contains("--cacert"),
            "{e}"
        );
    }

    /// What each alert that ends a handshake hints at, with and without a client
    /// certificate presented; and after the handshake, only a certificate's refusal.
    #[test]
    fn alerts_hint_at_their_cause() {
        use rustls::AlertDescription as A;
        let wants = ": it may want a client certificate (--cert FILE)";
        let refused = ": it refused our client certificate (--cert)";
        let versions = ": it speaks none of the TLS versions allowed (--tls-min, --tls-max)";
        assert_eq!(alert_hint(A::CertificateRequired, true), wants);
        assert_eq!(alert_hint(A::HandshakeFailure, false), wants);
        assert_eq!(alert_hint(A::HandshakeFailure, true), "");
        for a in [
            A::BadCertificate,
            A::UnknownCA,
            A::CertificateExpired,
            A::AccessDenied,
        ] {
            assert_eq!(alert_hint(a, true), refused, "{a:?}");
            assert_eq!(alert_hint(a, false), "", "{a:?}");
        }
        assert_eq!(alert_hint(A::ProtocolVersion, false), versions);
        assert_eq!(alert_hint(A::DecodeError, false), "");
        let alert = |a| io::Error::other(rustls::Error::AlertReceived(a));
        let e = alert_after_handshake(&"h:990", &alert(A::BadCertificate)).unwrap();
        assert_eq!(e.exit_code(), 76);
        assert!(e.to_string().starts_with("h:990: TLS: "), "{e}");
        assert!(e.to_string().ends_with(refused), "{e}");
        assert!(alert_after_handshake(&"h", &io::Error::other("x")).is_none());
    }

    #[test]
    fn a_refused_certificate_says_when_and_for_what() {
        use rustls::CertificateError as C;
        use rustls::pki_types::UnixTime;
        let at = |secs| UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs));
        let expired = rustls::Error::InvalidCertificate(C::ExpiredContext {
            time: at(1_796_212_800),
            not_after: at(1_609_459_200),
        });
        assert_eq!(
            in_words(&expired),
            "the server's certificate has expired (on 2021-01-01)"
        );
        let early = rustls::Error::InvalidCertificate(C::NotValidYetContext {
            time: at(0),
            not_before: at(951_782_400),
        });
        assert!(in_words(&early).ends_with("is not valid yet (until 2000-02-29)"));
        let names = |presented: Vec<&str>| {
            in_words(&rustls::Error::InvalidCertificate(
                C::NotValidForNameContext {
                    expected: ServerName::try_from("127.0.0.1").unwrap().to_owned(),
                    presented: presented.into_iter().map(String::from).collect(),
                },
            ))
        };
        assert_eq!(
            names(vec!["DnsName(\"mail.test\")"]),
            "the server's certificate is for mail.test, not 127.0.0.1"
        );
        // The server's text: made printable, cut, the first three.
        let long = "x".repeat(500);
        let long = format!("DnsName(\"{long}\")");
        let said = names(vec![
            "DnsName(\"a\u{1b}[2J\")",
            "UniformResourceIdentifier(\"https://x\")",
            &long,
            "IpAddress(::1)",
            "DnsName(\"d\")",
            "DnsName(\"e\")",
        ]);
        assert!(
            said.ends_with(&format!(
                "is for a\\x1b[2J, {}, ::1, 2 more, not 127.0.0.1",
                "x".repeat(80)
            )),
            "{said}"
        );
        for none in [vec![], vec!["DirectoryName", "Unsupported(0x01)"]] {
            assert_eq!(
                names(none),
                "the server's certificate is not valid for this host name"
            );
        }
    }

    #[test]
    fn a_handshake_error_names_the_host_and_port() {
        let e = handshake_error("::1", io::Error::from(io::ErrorKind::UnexpectedEof));
        let e = naming_peer(e, "::1", "[::1]:993");
        assert_eq!(
            e.to_string(),
            "[::1]:993: the server closed the connection during the TLS handshake"
        );
        assert_eq!(e.exit_code(), 76);
        // A message about something else is left as it is.
        let other = Error::new(Kind::Tls, "mail.test: TLS: x");
        assert_eq!(
            naming_peer(other, "::1", "[::1]:993").to_string(),
            "mail.test: TLS: x"
        );
    }

    #[test]
    fn pins_parse_with_or_without_colons() {
        let hex = "ab".repeat(32);
        assert_eq!(
            parse_pin(&format!("sha256:{hex}")).unwrap(),
            Pin::Cert([0xab; 32])
        );
        let colons = vec!["AB"; 32].join(":");
        assert_eq!(
            parse_pin(&format!("sha256:{colons}")).unwrap(),
            Pin::Cert([0xab; 32])
        );
        // curl's --pinnedpubkey form: base64 of 32 bytes, several separated by `;`.
        let a = "qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqo=";
        let b = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
        assert_eq!(
            parse_pin(&format!("sha256//{a};sha256//{b}")).unwrap(),
            Pin::Keys(vec![[0xaa; 32], [0x01; 32]])
        );
        for bad in [
            "ab",
            "sha256:abc",
            "md5:00",
            &format!("sha256:{}", "zz".repeat(32)),
            "sha256//",
            "sha256//qqqq",
            &format!("sha256//{a};"),
            &format!("sha256//{a};md5//{a}"),
            &format!("sha256//{a}!"),
            "/etc/key.pem",
        ] {
            assert_eq!(parse_pin(bad).unwrap_err().exit_code(), 64, "{bad}");
        }
    }

    /// curl's `--pinnedpubkey` value of the test server's key, as openssl computes it
    /// (tests/it/pin.rs), from the certificate.
    #[test]
    fn a_key_pin_hashes_the_subject_public_key_info() {
        let pem = include_bytes!("../../tests/certs/server.pem");
        let der = CertificateDer::from_pem_slice(pem).unwrap();
        assert_eq!(
            key_pin(&der).unwrap(),
            "sha256//6+/qftSCwKtz+tDD6mS/qBBtkR+r1A1ts4VtrF6Hj5E="
        );
        let pin = parse_pin(&key_pin(&der).unwrap()).unwrap();
        assert!(pin.trusts(&der));
        assert!(!Pin::Cert(sha256(b"other")).trusts(&der));
        assert!(key_pin(&CertificateDer::from(&b"not DER"[..])).is_none());
    }

    #[test]
    fn versions_are_a_range() {
        use TlsVersion::*;
        let names = |min, max| -> Vec<&str> {
            versions(min, max)
                .unwrap()
                .iter()
                .map(|v| v.version.as_str().unwrap_or("?"))
                .collect()
        };
        assert_eq!(names(None, None), ["TLSv1_3", "TLSv1_2"]);
        assert_eq!(names(Some(V1_3), None), ["TLSv1_3"]);
        assert_eq!(names(None, Some(V1_2)), ["TLSv1_2"]);
        assert_eq!(names(Some(V1_2), Some(V1_2)), ["TLSv1_2"]);
        let e = versions(Some(V1_3), Some(V1_2)).unwrap_err();
        assert_eq!(e.exit_code(), 64);
    }

    #[test]
    fn missing_cacert_is_noinput() {
        let e = TlsContext::new(&TlsOptions {
            cacert: Some("/nonexistent/ca.pem".into()),
            ..Default::default()
        })
        .err()
        .unwrap();
        assert_eq!(e.exit_code(), 66);
        assert!(e.to_string().contains("/nonexistent/ca.pem"), "{e}");
    }
}
