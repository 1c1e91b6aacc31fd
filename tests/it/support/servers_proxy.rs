#![allow(dead_code)]
//! The loopback proxies that `scripts/servers/proxy start` runs (through
//! `scripts/test-servers start`): microsocks for SOCKS5 and tinyproxy for HTTP CONNECT, each
//! open and with a login. Their settings are the `PH_SOCKS_*`, `PH_HTTP_PROXY_*` and
//! `PH_PROXY_*` lines of the same env file the other servers' settings are in.

use super::interop::{Settings, answers, available};

#[derive(Debug, Clone)]
pub struct ProxyServers {
    /// microsocks without a login.
    pub socks_port: u16,
    /// microsocks with `user` and `password` (RFC 1929).
    pub socks_auth_port: u16,
    /// tinyproxy without a login: CONNECT to any port.
    pub http_port: u16,
    /// tinyproxy with Basic authentication as `user` and `password`.
    pub http_auth_port: u16,
    pub user: String,
    pub password: String,
}

/// The running proxies; `None` (the test returns early) when they are missing and the tests
/// may skip them (see `support::interop`).
#[track_caller]
pub fn proxy_servers() -> Option<ProxyServers> {
    available(load)
}

fn load(env: &Settings) -> Result<ProxyServers, String> {
    const WHAT: &str = "scripts/servers/proxy (scripts/test-servers start, as root)";
    let port = |k: &str| env.number::<u16>(k, WHAT);
    let p = ProxyServers {
        socks_port: port("PH_SOCKS_PORT")?,
        socks_auth_port: port("PH_SOCKS_AUTH_PORT")?,
        http_port: port("PH_HTTP_PROXY_PORT")?,
        http_auth_port: port("PH_HTTP_PROXY_AUTH_PORT")?,
        user: env.get("PH_PROXY_USER", WHAT)?,
        password: env.get("PH_PROXY_PASSWORD", WHAT)?,
    };
    for (name, port) in [
        ("SOCKS5 proxy", p.socks_port),
        ("SOCKS5 proxy (login)", p.socks_auth_port),
        ("HTTP proxy", p.http_port),
        ("HTTP proxy (login)", p.http_auth_port),
    ] {
        answers("127.0.0.1", port, name)?;
    }
    Ok(p)
}

impl ProxyServers {
    /// `scheme://127.0.0.1:PORT` of the open proxy of that kind (`socks5`, `socks5h`,
    /// `http`).
    pub fn open(&self, scheme: &str) -> String {
        let port = if scheme == "http" {
            self.http_port
        } else {
            self.socks_port
        };
        format!("{scheme}://127.0.0.1:{port}")
    }

    /// `scheme://USER:PASSWORD@127.0.0.1:PORT` of the proxy of that kind with a login,
    /// `password` as given.
    pub fn with_login(&self, scheme: &str, password: &str) -> String {
        let port = if scheme == "http" {
            self.http_auth_port
        } else {
            self.socks_auth_port
        };
        format!("{scheme}://{}:{password}@127.0.0.1:{port}", self.user)
    }
}
