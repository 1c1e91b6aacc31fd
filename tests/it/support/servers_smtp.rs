#![allow(dead_code)]
//! The loopback SMTP servers that `scripts/servers/smtp start` runs (through
//! `scripts/test-servers start`): Postfix smtp-sink, and a storing aiosmtpd server with
//! STARTTLS, implicit TLS and AUTH. Their settings are the `PH_SMTP_*` lines of the same env
//! file the FTP servers' settings are in.

use std::path::PathBuf;
use std::time::Duration;

use super::interop::{Settings, answers, available};

#[derive(Debug, Clone)]
pub struct SmtpServers {
    pub host: String,
    /// smtp-sink: discards, announces PIPELINING and 8BITMIME, answers AUTH with 235.
    pub sink_port: u16,
    /// aiosmtpd: STARTTLS required before AUTH and MAIL; AUTH PLAIN/LOGIN required.
    pub store_port: u16,
    /// The same over implicit TLS (smtps://).
    pub store_tls_port: u16,
    /// Each message as N.eml (dot-unstuffed, CRLF) and its envelope as N.json.
    pub store_dir: PathBuf,
    pub user: String,
    pub password: String,
    pub ca_cert: PathBuf,
}

/// The running SMTP servers; `None` (the test returns early) when they are missing and the
/// tests may skip them (see `support::interop`).
#[track_caller]
pub fn smtp_servers() -> Option<SmtpServers> {
    available(load)
}

fn load(env: &Settings) -> Result<SmtpServers, String> {
    const WHAT: &str = "scripts/servers/smtp (scripts/test-servers start, as root)";
    let get = |k: &str| env.get(k, WHAT);
    let port = |k: &str| env.number::<u16>(k, WHAT);
    let s = SmtpServers {
        host: "127.0.0.1".into(),
        sink_port: port("PH_SMTP_SINK_PORT")?,
        store_port: port("PH_SMTP_STORE_PORT")?,
        store_tls_port: port("PH_SMTP_STORE_TLS_PORT")?,
        store_dir: PathBuf::from(get("PH_SMTP_STORE_DIR")?),
        user: get("PH_SMTP_USER")?,
        password: get("PH_SMTP_PASSWORD")?,
        ca_cert: PathBuf::from(get("PH_CA_CERT")?),
    };
    for (name, port) in [
        ("smtp-sink", s.sink_port),
        ("SMTP store", s.store_port),
        ("SMTP store (TLS)", s.store_tls_port),
    ] {
        answers(&s.host, port, name)?;
    }
    Ok(s)
}

impl SmtpServers {
    /// The stored message (its data) and envelope (the JSON text) whose recipients include
    /// `rcpt`; waits up to 5 s for the files (they are renamed into place whole).
    pub fn stored_for(&self, rcpt: &str) -> Option<(Vec<u8>, String)> {
        let needle = format!("\"{rcpt}\"");
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            if let Ok(dir) = std::fs::read_dir(&self.store_dir) {
                for e in dir.flatten() {
                    let p = e.path();
                    if p.extension().is_some_and(|x| x == "json") {
                        let json = std::fs::read_to_string(&p).unwrap_or_default();
                        if json.contains(&needle) {
                            let eml = p.with_extension("eml");
                            if let Ok(data) = std::fs::read(&eml) {
                                return Some((data, json));
                            }
                        }
                    }
                }
            }
            if std::time::Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
