#![allow(dead_code)]
//! The loopback SMTP servers that `scripts/servers/smtp start` runs (through
//! `scripts/test-servers start`): Postfix smtp-sink, and a storing aiosmtpd server with
//! STARTTLS, implicit TLS and AUTH. Their settings are the `PH_SMTP_*` lines of the same env
//! file the FTP servers' settings are in.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::Duration;

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

fn env_path() -> PathBuf {
    match std::env::var_os("POSTHASTE_TEST_SERVERS") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".test-servers/env"),
    }
}

/// The running SMTP servers; `None` (the test returns early) only with
/// `POSTHASTE_SKIP_INTEROP=1`. Missing `PH_SMTP_*` settings, or a server listed there that
/// does not answer, is a panic saying how to start them, as for the FTP servers.
pub fn smtp_servers() -> Option<SmtpServers> {
    if std::env::var("POSTHASTE_SKIP_INTEROP").is_ok_and(|v| v == "1") {
        return None;
    }
    let path = env_path();
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let map: HashMap<&str, &str> = text
        .lines()
        .filter_map(|l| l.trim().split_once('='))
        .collect();
    let Some(sink) = map.get("PH_SMTP_SINK_PORT") else {
        panic!(
            "real-server tests need the loopback SMTP servers: no PH_SMTP_* in {} (run scripts/test, or scripts/test-servers start, as root)",
            path.display()
        );
    };
    let port = |k: &str| -> u16 {
        map.get(k)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{}: no port {k}", path.display()))
    };
    let get = |k: &str| -> String {
        map.get(k)
            .unwrap_or_else(|| panic!("{}: no {k}", path.display()))
            .to_string()
    };
    let s = SmtpServers {
        host: "127.0.0.1".into(),
        sink_port: sink.parse().expect("PH_SMTP_SINK_PORT"),
        store_port: port("PH_SMTP_STORE_PORT"),
        store_tls_port: port("PH_SMTP_STORE_TLS_PORT"),
        store_dir: PathBuf::from(get("PH_SMTP_STORE_DIR")),
        user: get("PH_SMTP_USER"),
        password: get("PH_SMTP_PASSWORD"),
        ca_cert: PathBuf::from(get("PH_CA_CERT")),
    };
    for p in [s.sink_port, s.store_port, s.store_tls_port] {
        let addr: SocketAddr = format!("{}:{p}", s.host).parse().unwrap();
        if let Err(e) = TcpStream::connect_timeout(&addr, Duration::from_secs(5)) {
            panic!(
                "the SMTP test server at {addr} does not answer ({e}): run scripts/test-servers start"
            );
        }
    }
    Some(s)
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
