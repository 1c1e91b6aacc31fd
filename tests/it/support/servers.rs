#![allow(dead_code)]
//! The loopback real servers (vsftpd instances) that `scripts/test-servers start` runs.
//!
//! ```ignore
//! use crate::support::servers::servers;
//!
//! #[test]
//! fn fetches_over_ftps() {
//!     let Some(s) = servers() else { return }; // no servers: skipped (support::interop)
//!     let url = s.url("ftp", s.ftps_port, "hello.txt");
//!     // ... run ftp-get with --cacert s.ca_cert ...
//! }
//! ```
//!
//! Settings come from `$POSTHASTE_TEST_SERVERS` or `<repo>/.test-servers/env` (KEY=value lines),
//! ports included: the servers take free ones (scripts/test-servers). Whether a missing server
//! skips the test or fails it is `support::interop`'s rule.

use std::path::PathBuf;
use std::sync::OnceLock;

use super::interop::{Settings, answers, available};

/// What the running test servers offer. Ports are on `host` (127.0.0.1).
#[derive(Debug, Clone)]
pub struct Servers {
    /// 127.0.0.1
    pub host: String,
    /// Plain FTP, no TLS (local and anonymous logins).
    pub plain_port: u16,
    /// Explicit FTPS (AUTH TLS), CA-signed leaf, TLS 1.3 and 1.2, `require_ssl_reuse=YES`.
    pub ftps_port: u16,
    /// Explicit FTPS, CA-signed leaf, TLS 1.2 only.
    pub ftps12_port: u16,
    /// Implicit FTPS (`ftps://`), CA-signed leaf.
    pub ftps_implicit_port: u16,
    /// Explicit FTPS with the self-signed CA:TRUE certificate (`selfsigned_cert`).
    pub ftps_selfsigned_port: u16,
    /// Local user `phtest`.
    pub user: String,
    pub password: String,
    /// The user's home (the login folder): hello.txt, data/, sub dir/, empty.bin, big.bin, upload/.
    pub home: PathBuf,
    /// PEM of the test CA that signed the leaf of the ftps, ftps12 and implicit instances.
    pub ca_cert: PathBuf,
    /// PEM of the self-signed (CA:TRUE) certificate of the selfsigned instance.
    pub selfsigned_cert: PathBuf,
    /// Lowercase hex SHA-256 of that certificate's DER (for `--pin sha256:...`).
    pub selfsigned_sha256: String,
    /// Lowercase hex SHA-256 of `home/big.bin` (256 MiB).
    pub big_sha256: String,
    /// Root of the anonymous area (holds pub/readme.txt).
    pub anon_root: PathBuf,
}

impl Servers {
    /// `scheme://user:password@host:port/path` (path relative to the login folder, not
    /// escaped: pass it percent-encoded where needed).
    pub fn url(&self, scheme: &str, port: u16, path: &str) -> String {
        format!(
            "{scheme}://{}:{}@{}:{port}/{}",
            self.user,
            self.password,
            self.host,
            path.trim_start_matches('/')
        )
    }

    /// `scheme://user@host:port/path`: for tests that pass the password another way.
    pub fn url_no_password(&self, scheme: &str, port: u16, path: &str) -> String {
        format!(
            "{scheme}://{}@{}:{port}/{}",
            self.user,
            self.host,
            path.trim_start_matches('/')
        )
    }

    /// `scheme://host:port/path` (anonymous login).
    pub fn anon_url(&self, scheme: &str, port: u16, path: &str) -> String {
        format!(
            "{scheme}://{}:{port}/{}",
            self.host,
            path.trim_start_matches('/')
        )
    }

    /// A fresh, unique name for an upload into `upload/` (tests may run in parallel).
    pub fn upload_name(&self, stem: &str) -> String {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        format!(
            "upload/{stem}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        )
    }
}

/// The running loopback servers; `None` (the test returns early) when they are missing and
/// the tests may skip them (see `support::interop`). Cached: they are checked once.
#[track_caller]
pub fn servers() -> Option<Servers> {
    static CACHE: OnceLock<Servers> = OnceLock::new();
    if let Some(s) = CACHE.get() {
        return Some(s.clone());
    }
    let s = available(load)?;
    Some(CACHE.get_or_init(|| s).clone())
}

fn load(env: &Settings) -> Result<Servers, String> {
    const WHAT: &str = "scripts/test-servers";
    let get = |k: &str| env.get(k, WHAT);
    let port = |k: &str| env.number::<u16>(k, WHAT);
    let s = Servers {
        host: get("PH_FTP_HOST").unwrap_or_else(|_| "127.0.0.1".to_string()),
        plain_port: port("PH_FTP_PLAIN_PORT")?,
        ftps_port: port("PH_FTPS_PORT")?,
        ftps12_port: port("PH_FTPS12_PORT")?,
        ftps_implicit_port: port("PH_FTPS_IMPLICIT_PORT")?,
        ftps_selfsigned_port: port("PH_FTPS_SELFSIGNED_PORT")?,
        user: get("PH_FTP_USER")?,
        password: get("PH_FTP_PASSWORD")?,
        home: PathBuf::from(get("PH_FTP_HOME")?),
        ca_cert: PathBuf::from(get("PH_CA_CERT")?),
        selfsigned_cert: PathBuf::from(get("PH_SELFSIGNED_CERT")?),
        selfsigned_sha256: get("PH_SELFSIGNED_SHA256")?,
        big_sha256: get("PH_BIG_SHA256")?,
        anon_root: PathBuf::from(get("PH_ANON_ROOT")?),
    };
    for (name, port) in [
        ("plain", s.plain_port),
        ("ftps", s.ftps_port),
        ("ftps12", s.ftps12_port),
        ("implicit", s.ftps_implicit_port),
        ("selfsigned", s.ftps_selfsigned_port),
    ] {
        answers(&s.host, port, name)?;
    }
    Ok(s)
}
