#![allow(dead_code)]
//! A scriptable SOCKS5 proxy on loopback (RFC 1928, RFC 1929), for what the real ones
//! (scripts/servers/proxy) cannot show: which names reached the proxy (a name only the proxy
//! resolves), every connection of a run going through it (FTP's data connections too), and a
//! proxy that stalls.
//!
//! ```ignore
//! let proxy = FakeProxy::builder().name("files.proxy.test", "127.0.0.1").start();
//! // ftp-get --proxy {proxy.url()} ftp://files.proxy.test:PORT/f
//! assert_eq!(proxy.requests(), ["files.proxy.test:PORT", "files.proxy.test:DATAPORT"]);
//! ```

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

#[derive(Default, Clone)]
pub struct Builder {
    names: HashMap<String, IpAddr>,
    login: Option<(String, String)>,
    stall: bool,
}

impl Builder {
    /// The proxy resolves `name` to `ip` (nothing else resolves it).
    pub fn name(mut self, name: &str, ip: &str) -> Self {
        self.names.insert(name.into(), ip.parse().unwrap());
        self
    }

    /// The proxy asks for this user name and password (RFC 1929) and refuses any other.
    pub fn login(mut self, user: &str, password: &str) -> Self {
        self.login = Some((user.into(), password.into()));
        self
    }

    /// The proxy accepts connections and never says a word.
    pub fn stall(mut self) -> Self {
        self.stall = true;
        self
    }

    pub fn start(self) -> FakeProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let log = seen.clone();
        thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { return };
                log.lock().unwrap().connections += 1;
                let (how, log) = (self.clone(), log.clone());
                thread::spawn(move || {
                    let _ = serve(conn, &how, &log);
                });
            }
        });
        FakeProxy { port, seen }
    }
}

#[derive(Default)]
struct Seen {
    connections: usize,
    /// `host:port` of each CONNECT, as the client sent it.
    requests: Vec<String>,
    /// The user names the client logged in with.
    users: Vec<String>,
}

pub struct FakeProxy {
    port: u16,
    seen: Arc<Mutex<Seen>>,
}

impl FakeProxy {
    pub fn builder() -> Builder {
        Builder::default()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `socks5h://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("socks5h://127.0.0.1:{}", self.port)
    }

    /// How many connections the proxy accepted.
    pub fn connections(&self) -> usize {
        self.seen.lock().unwrap().connections
    }

    /// `host:port` of each CONNECT request, in order (an IPv6 address in brackets).
    pub fn requests(&self) -> Vec<String> {
        self.seen.lock().unwrap().requests.clone()
    }

    pub fn users(&self) -> Vec<String> {
        self.seen.lock().unwrap().users.clone()
    }
}

fn serve(mut c: TcpStream, how: &Builder, log: &Mutex<Seen>) -> std::io::Result<()> {
    if how.stall {
        // Hold the connection until the client gives up.
        let mut sink = Vec::new();
        return c.read_to_end(&mut sink).map(drop);
    }
    let mut head = [0u8; 2];
    c.read_exact(&mut head)?;
    let mut methods = vec![0u8; usize::from(head[1])];
    c.read_exact(&mut methods)?;
    match &how.login {
        Some((user, password)) if methods.contains(&2) => {
            c.write_all(&[5, 2])?;
            let got_user = read_string_after(&mut c, 1)?;
            let got_password = read_string_after(&mut c, 0)?;
            log.lock().unwrap().users.push(got_user.clone());
            let ok = got_user == *user && got_password == *password;
            c.write_all(&[1, if ok { 0 } else { 1 }])?;
            if !ok {
                return Ok(());
            }
        }
        Some(_) => return c.write_all(&[5, 0xff]),
        None => c.write_all(&[5, 0])?,
    }
    let mut req = [0u8; 4];
    c.read_exact(&mut req)?;
    let host = match req[3] {
        1 => {
            let mut a = [0u8; 4];
            c.read_exact(&mut a)?;
            Ipv4Addr::from(a).to_string()
        }
        4 => {
            let mut a = [0u8; 16];
            c.read_exact(&mut a)?;
            format!("[{}]", Ipv6Addr::from(a))
        }
        _ => read_string_after(&mut c, 0)?,
    };
    let mut port = [0u8; 2];
    c.read_exact(&mut port)?;
    let port = u16::from_be_bytes(port);
    log.lock().unwrap().requests.push(format!("{host}:{port}"));
    let ip = how.names.get(&host).copied().or_else(|| {
        host.trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .ok()
    });
    let Some(ip) = ip else {
        // Host unreachable: the proxy could not resolve it.
        return c.write_all(&[5, 4, 0, 1, 0, 0, 0, 0, 0, 0]);
    };
    let Ok(server) = TcpStream::connect(SocketAddr::new(ip, port)) else {
        return c.write_all(&[5, 5, 0, 1, 0, 0, 0, 0, 0, 0]);
    };
    c.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 0])?;
    relay(c, server)
}

/// Reads a string sent after `skip` bytes and a one-byte length.
fn read_string_after(c: &mut TcpStream, skip: usize) -> std::io::Result<String> {
    let mut b = vec![0u8; skip + 1];
    c.read_exact(&mut b)?;
    let mut s = vec![0u8; usize::from(b[skip])];
    c.read_exact(&mut s)?;
    Ok(String::from_utf8_lossy(&s).into_owned())
}

/// Copies both ways until each side is done.
fn relay(client: TcpStream, server: TcpStream) -> std::io::Result<()> {
    let (mut c2, mut s2) = (client.try_clone()?, server.try_clone()?);
    let up = thread::spawn(move || {
        let (mut c, mut s) = (client, server);
        let _ = std::io::copy(&mut c, &mut s);
        let _ = s.shutdown(Shutdown::Write);
    });
    let _ = std::io::copy(&mut s2, &mut c2);
    let _ = c2.shutdown(Shutdown::Write);
    let _ = up.join();
    Ok(())
}
