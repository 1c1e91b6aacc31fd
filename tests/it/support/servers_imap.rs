#![allow(dead_code)]
//! The loopback Dovecot's IMAP side (scripts/servers/dovecot, shared with pop-fetch's
//! tests): its ports, users and Maildirs, from the same env file as `servers.rs` reads.
//! `None` (the tests skip, saying so) when that file has no Dovecot, or with
//! `POSTHASTE_SKIP_INTEROP=1`; a Dovecot listed but not answering is a failure.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Dovecot {
    pub host: String,
    /// IMAP with STARTTLS.
    pub imap_port: u16,
    /// IMAPS.
    pub imaps_port: u16,
    /// Users are PREFIX0..PREFIX9, all with `password`.
    pub user_prefix: String,
    pub password: String,
    /// USER/Maildir below it.
    pub mail_root: PathBuf,
    pub mail_uid: u32,
    pub mail_gid: u32,
    pub ca_cert: PathBuf,
}

impl Dovecot {
    pub fn user(&self, n: u32) -> String {
        format!("{}{n}", self.user_prefix)
    }

    pub fn maildir(&self, n: u32) -> PathBuf {
        self.mail_root.join(self.user(n)).join("Maildir")
    }

    /// Empties user `n`'s mailbox, Dovecot's index and UID list included: the next session
    /// sees a new folder (a new UIDVALIDITY).
    pub fn reset(&self, n: u32) {
        let md = self.maildir(n);
        let _ = std::fs::remove_dir_all(&md);
        for sub in ["", "cur", "new", "tmp"] {
            let d = md.join(sub);
            std::fs::create_dir_all(&d).unwrap();
            chown(&d, self.mail_uid, self.mail_gid);
        }
    }

    /// Puts a message into user `n`'s INBOX the Maildir way (tmp/, then new/), as the
    /// mail user; returns its file name.
    pub fn put(&self, n: u32, name: &str, text: &[u8]) -> PathBuf {
        let md = self.maildir(n);
        let tmp = md.join("tmp").join(name);
        std::fs::write(&tmp, text).unwrap();
        chown(&tmp, self.mail_uid, self.mail_gid);
        let new = md.join("new").join(name);
        std::fs::rename(&tmp, &new).unwrap();
        new
    }

    /// The messages the server still has for user `n` (new/ and cur/), sorted.
    pub fn messages(&self, n: u32) -> Vec<Vec<u8>> {
        let md = self.maildir(n);
        let mut out: Vec<Vec<u8>> = ["new", "cur"]
            .iter()
            .flat_map(|s| std::fs::read_dir(md.join(s)).into_iter().flatten())
            .map(|e| std::fs::read(e.unwrap().path()).unwrap())
            .collect();
        out.sort();
        out
    }
}

fn chown(p: &Path, uid: u32, gid: u32) {
    let _ = std::os::unix::fs::chown(p, Some(uid), Some(gid));
}

pub fn dovecot() -> Option<Dovecot> {
    if std::env::var("POSTHASTE_SKIP_INTEROP").is_ok_and(|v| v == "1") {
        return None;
    }
    let path = match std::env::var_os("POSTHASTE_TEST_SERVERS") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".test-servers/env"),
    };
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let map: HashMap<&str, &str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect();
    if !map.contains_key("PH_IMAP_PORT") {
        eprintln!(
            "skipped: no Dovecot in {} (run scripts/test-servers start)",
            path.display()
        );
        return None;
    }
    let get = |k: &str| -> String {
        map.get(k)
            .unwrap_or_else(|| panic!("{} has no {k}", path.display()))
            .to_string()
    };
    let num = |k: &str| -> u32 {
        get(k)
            .parse()
            .unwrap_or_else(|_| panic!("{}: {k} is not a number", path.display()))
    };
    let d = Dovecot {
        host: map.get("PH_POP_HOST").unwrap_or(&"127.0.0.1").to_string(),
        imap_port: num("PH_IMAP_PORT") as u16,
        imaps_port: num("PH_IMAPS_PORT") as u16,
        user_prefix: get("PH_IMAP_USER_PREFIX"),
        password: get("PH_IMAP_PASSWORD"),
        mail_root: PathBuf::from(get("PH_IMAP_MAIL_ROOT")),
        mail_uid: num("PH_POP_MAIL_UID"),
        mail_gid: num("PH_POP_MAIL_GID"),
        ca_cert: PathBuf::from(get("PH_CA_CERT")),
    };
    let addr: SocketAddr = format!("{}:{}", d.host, d.imap_port).parse().unwrap();
    if let Err(e) = TcpStream::connect_timeout(&addr, Duration::from_secs(5)) {
        panic!("Dovecot IMAP at {addr} does not answer: {e} (scripts/test-servers start)");
    }
    Some(d)
}
