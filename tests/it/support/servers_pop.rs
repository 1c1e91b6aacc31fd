#![allow(dead_code)]
//! The loopback Dovecot that `scripts/servers/dovecot` runs (POP3 with STLS, POP3S, IMAP):
//! its ports, its users (one mailbox per test, so tests in parallel never share one), and
//! their Maildirs, where tests put messages in place as a delivery agent would (`tmp/`,
//! then a rename into `new/`).

use std::collections::HashMap;
use std::os::unix::fs::{PermissionsExt, chown};
use std::path::PathBuf;

/// What the running Dovecot offers; `None` when `POSTHASTE_SKIP_INTEROP=1`.
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

pub fn dovecot() -> Option<Dovecot> {
    if std::env::var("POSTHASTE_SKIP_INTEROP").is_ok_and(|v| v == "1") {
        return None;
    }
    let path = match std::env::var_os("POSTHASTE_TEST_SERVERS") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".test-servers/env"),
    };
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the POP3 interop tests need the loopback Dovecot: run scripts/test-servers start ({}: {e})",
            path.display()
        )
    });
    let map: HashMap<&str, &str> = text
        .lines()
        .filter_map(|l| l.trim().split_once('='))
        .collect();
    let get = |k: &str| -> String {
        map.get(k)
            .unwrap_or_else(|| {
                panic!(
                    "{k} missing from {}: scripts/servers/dovecot did not run (scripts/test-servers start)",
                    path.display()
                )
            })
            .trim_matches('"')
            .to_string()
    };
    let port = |k: &str| get(k).parse::<u16>().expect(k);
    Some(Dovecot {
        host: get("PH_POP_HOST"),
        pop_port: port("PH_POP_PORT"),
        pop3s_port: port("PH_POP3S_PORT"),
        imap_port: port("PH_IMAP_PORT"),
        imaps_port: port("PH_IMAPS_PORT"),
        user_prefix: get("PH_POP_USER_PREFIX"),
        password: get("PH_POP_PASSWORD"),
        mail_root: PathBuf::from(get("PH_POP_MAIL_ROOT")),
        uid: get("PH_POP_MAIL_UID").parse().unwrap(),
        gid: get("PH_POP_MAIL_GID").parse().unwrap(),
        ca_cert: PathBuf::from(get("PH_CA_CERT")),
    })
}

impl Dovecot {
    /// Test user `n` (0 to 9): each test takes its own.
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
        let md = self.maildir(n);
        let tmp = md.join("tmp").join(name);
        std::fs::write(&tmp, data).unwrap();
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600)).unwrap();
        chown(&tmp, Some(self.uid), Some(self.gid)).unwrap();
        std::fs::rename(&tmp, md.join("new").join(name)).unwrap();
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
