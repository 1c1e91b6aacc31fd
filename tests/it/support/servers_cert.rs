#![allow(dead_code)]
//! The loopback servers that want a client certificate (`scripts/servers/certauth`): a
//! vsftpd with `require_cert=YES` and a Dovecot that takes SASL EXTERNAL only; the client
//! certificates made for them; the Maildir of their user.

use std::path::PathBuf;
use std::sync::OnceLock;

use super::interop::{Settings, answers, available};

/// What the running certificate servers offer.
#[derive(Debug, Clone)]
pub struct CertServers {
    pub host: String,
    /// Explicit FTPS, a certificate required on every connection; USER/PASS as the
    /// harness's FTP user (`PH_FTP_USER`, `PH_FTP_PASSWORD`).
    pub ftps_port: u16,
    pub ftp_user: String,
    pub ftp_password: String,
    pub pop3s_port: u16,
    pub imaps_port: u16,
    /// IMAP with STARTTLS.
    pub imap_port: u16,
    /// The user the client certificate names (its commonName).
    pub user: String,
    mail_root: PathBuf,
    uid: u32,
    gid: u32,
    /// The client certificate and key, signed by the test CA.
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    /// A certificate for the same user that no one signed, and its key.
    pub unsigned_cert: PathBuf,
    pub unsigned_key: PathBuf,
    /// The CA that signed the servers' certificates (for `localhost` and 127.0.0.1).
    pub ca_cert: PathBuf,
}

/// The running servers; `None` (the test returns early) when they are missing and the tests
/// may skip them (see `support::interop`).
#[track_caller]
pub fn cert_servers() -> Option<CertServers> {
    static CACHE: OnceLock<CertServers> = OnceLock::new();
    if let Some(s) = CACHE.get() {
        return Some(s.clone());
    }
    let s = available(load)?;
    Some(CACHE.get_or_init(|| s).clone())
}

fn load(env: &Settings) -> Result<CertServers, String> {
    const WHAT: &str = "scripts/servers/certauth (scripts/test-servers start, as root)";
    let get = |k: &str| env.get(k, WHAT);
    let port = |k: &str| env.number::<u16>(k, WHAT);
    let path = |k: &str| get(k).map(PathBuf::from);
    let s = CertServers {
        host: get("PH_FTP_HOST")?,
        ftps_port: port("PH_CERT_FTPS_PORT")?,
        ftp_user: get("PH_FTP_USER")?,
        ftp_password: get("PH_FTP_PASSWORD")?,
        pop3s_port: port("PH_CERT_POP3S_PORT")?,
        imaps_port: port("PH_CERT_IMAPS_PORT")?,
        imap_port: port("PH_CERT_IMAP_PORT")?,
        user: get("PH_CERT_USER")?,
        mail_root: path("PH_CERT_MAIL_ROOT")?,
        uid: env.number("PH_CERT_MAIL_UID", WHAT)?,
        gid: env.number("PH_CERT_MAIL_GID", WHAT)?,
        client_cert: path("PH_CERT_CLIENT_CERT")?,
        client_key: path("PH_CERT_CLIENT_KEY")?,
        unsigned_cert: path("PH_CERT_UNSIGNED_CERT")?,
        unsigned_key: path("PH_CERT_UNSIGNED_KEY")?,
        ca_cert: path("PH_CA_CERT")?,
    };
    for (name, port) in [
        ("FTPS (require_cert)", s.ftps_port),
        ("POP3S (EXTERNAL)", s.pop3s_port),
        ("IMAPS (EXTERNAL)", s.imaps_port),
        ("IMAP (EXTERNAL)", s.imap_port),
    ] {
        answers(&s.host, port, name)?;
    }
    Ok(s)
}

impl CertServers {
    fn maildir(&self) -> PathBuf {
        self.mail_root.join(&self.user).join("Maildir")
    }

    /// Puts a message into the user's mailbox as a delivery agent does (`tmp/`, owned by
    /// the mail user, renamed into `new/`).
    pub fn put(&self, name: &str, data: &[u8]) {
        super::servers_pop::deliver(&self.maildir(), (self.uid, self.gid), name, data);
    }

    /// `--cert FILE --key FILE` of the signed client certificate.
    pub fn cert_args(&self) -> Vec<String> {
        let show = |p: &PathBuf| p.to_str().unwrap().to_string();
        vec![
            "--cert".into(),
            show(&self.client_cert),
            "--key".into(),
            show(&self.client_key),
        ]
    }
}
