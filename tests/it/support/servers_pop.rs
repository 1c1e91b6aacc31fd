#![allow(dead_code)]
//! The loopback Dovecot that `scripts/servers/dovecot` runs (POP3 with STLS, POP3S, IMAP):
//! its ports, its users (one mailbox per test, so tests in parallel never share one), and
//! their Maildirs, where tests put messages in place as a delivery agent would (`tmp/`,
//! then a rename into `new/`).

use std::os::unix::fs::{PermissionsExt, chown};
use std::path::PathBuf;
use std::sync::OnceLock;

use super::interop::{Settings, answers, available};

/// What the running Dovecot offers.
#[derive(Debug, Clone)]
pub struct Dovecot {
    pub host: String,
    /// POP3 with STLS.
    pub pop_port: u16,
    /// POP3S (implicit TLS).
    pub pop3s_port: u16,
    pub imap_port: u16,
    pub imaps_port: u16,
    user_prefix: String,
    pub password: String,
    mail_root: PathBuf,
    uid: u32,
    gid: u32,
    /// The CA that signed the servers' certificate.
    pub ca_cert: PathBuf,
}

/// The running Dovecot; `None` (the test returns early) when it is missing and the tests may
/// skip it (see `support::interop`).
#[track_caller]
pub fn dovecot() -> Option<Dovecot> {
    static CACHE: OnceLock<Dovecot> = OnceLock::new();
    if let Some(d) = CACHE.get() {
        return Some(d.clone());
    }
    let d = available(load)?;
    Some(CACHE.get_or_init(|| d).clone())
}

fn load(env: &Settings) -> Result<Dovecot, String> {
    const WHAT: &str = "scripts/servers/dovecot (scripts/test-servers start, as root)";
    let get = |k: &str| env.get(k, WHAT);
    let port = |k: &str| env.number::<u16>(k, WHAT);
    let d = Dovecot {
        host: get("PH_POP_HOST")?,
        pop_port: port("PH_POP_PORT")?,
        pop3s_port: port("PH_POP3S_PORT")?,
        imap_port: port("PH_IMAP_PORT")?,
        imaps_port: port("PH_IMAPS_PORT")?,
        user_prefix: get("PH_POP_USER_PREFIX")?,
        password: get("PH_POP_PASSWORD")?,
        mail_root: PathBuf::from(get("PH_POP_MAIL_ROOT")?),
        uid: env.number("PH_POP_MAIL_UID", WHAT)?,
        gid: env.number("PH_POP_MAIL_GID", WHAT)?,
        ca_cert: PathBuf::from(get("PH_CA_CERT")?),
    };
    for (name, port) in [
        ("POP3", d.pop_port),
        ("POP3S", d.pop3s_port),
        ("IMAP", d.imap_port),
        ("IMAPS", d.imaps_port),
    ] {
        answers(&d.host, port, name)?;
    }
    Ok(d)
}

/// Puts a message into the Maildir `md` the way a delivery agent does: written to `tmp/`,
/// owned by `owner` (the mail user's uid and gid), renamed into `new/`.
pub fn deliver(md: &std::path::Path, owner: (u32, u32), name: &str, data: &[u8]) {
    let tmp = md.join("tmp").join(name);
    std::fs::write(&tmp, data).unwrap();
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600)).unwrap();
    chown(&tmp, Some(owner.0), Some(owner.1)).unwrap();
    std::fs::rename(&tmp, md.join("new").join(name)).unwrap();
}

impl Dovecot {
    /// Test user `n` (0 to 19): each test takes its own (pop-fetch's 1-6, scripts/bench-pop
    /// 8-9, imap-fetch 10-19).
    pub fn user(&self, n: usize) -> String {
        format!("{}{n}", self.user_prefix)
    }

    pub fn maildir(&self, n: usize) -> PathBuf {
        self.mail_root.join(self.user(n)).join("Maildir")
    }

    /// Empties user `n`'s mailbox (messages only; Dovecot's indexes notice).
    pub fn clear(&self, n: usize) {
        for sub in ["new", "cur", "tmp"] {
            let dir = self.maildir(n).join(sub);
            if let Ok(entries) = std::fs::read_dir(&dir) {
                for e in entries.flatten() {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }

    /// Puts a message into user `n`'s mailbox the way a delivery agent does: written to
    /// `tmp/`, owned by the mail user, renamed into `new/`. `data` in LF line ends, as
    /// Dovecot keeps messages.
    pub fn put(&self, n: usize, name: &str, data: &[u8]) {
        deliver(&self.maildir(n), (self.uid, self.gid), name, data);
    }

    /// How many messages user `n`'s mailbox holds (new/ and cur/).
    pub fn count(&self, n: usize) -> usize {
        ["new", "cur"]
            .iter()
            .map(|s| {
                std::fs::read_dir(self.maildir(n).join(s))
                    .map(|d| d.count())
                    .unwrap_or(0)
            })
            .sum()
    }

    /// `scheme://user@host:port`.
    pub fn url(&self, scheme: &str, user: usize) -> String {
        let port = match scheme {
            "pop3" => self.pop_port,
            "pop3s" => self.pop3s_port,
            "imap" => self.imap_port,
            "imaps" => self.imaps_port,
            _ => panic!("no Dovecot port for {scheme}"),
        };
        format!("{scheme}://{}@{}:{port}", self.user(user), self.host)
    }
}
