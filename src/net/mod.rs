//! Connecting: resolve, try every address in turn (restricted by `-4`/`-6`), with a connect
//! timeout and idle read/write timeouts, directly or through a proxy ([`proxy`]). Plus the
//! stream type that may be upgraded to TLS.

pub mod proxy;
pub mod stream;
pub mod tls;
pub mod url;

pub use stream::{MaxTime, MinRate, NetStream, Sock};

use crate::error::{Error, Kind, Result, io_reason};
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Which address families `connect` may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Family {
    #[default]
    Any,
    V4,
    V6,
}

impl Family {
    pub fn allows(self, addr: &SocketAddr) -> bool {
        match self {
            Family::Any => true,
            Family::V4 => addr.is_ipv4(),
            Family::V6 => addr.is_ipv6(),
        }
    }
}

/// Timeouts, address family and proxies for every connection a tool makes.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub connect_timeout: Duration,
    /// Bounds every single wait for the server (each read and each write).
    pub idle_timeout: Duration,
    pub family: Family,
    /// `--max-time`: every wait on the network ends by then.
    pub max_time: Option<MaxTime>,
    /// `--speed-limit`/`--speed-time`: the slowest that bulk data (a download, a listing, a
    /// message) may flow.
    pub min_rate: Option<MinRate>,
    /// `--proxy`, `--noproxy` and the environment's: which targets go through a proxy.
    pub proxies: Arc<proxy::Proxies>,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            connect_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(120),
            family: Family::Any,
            max_time: None,
            min_rate: None,
            proxies: Arc::default(),
        }
    }
}

impl ConnectOptions {
    /// A connected socket with this run's limits (see [`Sock`]).
    pub fn sock(&self, tcp: TcpStream) -> Sock {
        Sock::new(tcp, self.max_time, self.min_rate)
    }

    /// The proxy a connection to `target` goes through, if any (a malformed proxy variable
    /// it would use is 64).
    pub fn proxy_for(&self, target: &url::Target) -> Result<Option<&proxy::Proxy>> {
        self.proxies.route(target.scheme, &target.host)
    }

    /// `deadline`, or the end of `--max-time` if that comes first.
    pub fn within_max_time(&self, deadline: Instant) -> Instant {
        self.max_time.map_or(deadline, |m| m.end.min(deadline))
    }
}

/// Resolves `host` (a name or an IP literal without brackets) and returns the addresses the
/// family allows. A name that does not exist is NOHOST (68); a resolver that cannot answer
/// now (EAI_AGAIN: no network, a DNS server down) is TEMPFAIL (75), which `--retries` retries.
pub fn resolve(host: &str, port: u16, family: Family) -> Result<Vec<SocketAddr>> {
    let which = match family {
        Family::V4 => " IPv4",
        Family::V6 => " IPv6",
        Family::Any => "",
    };
    let addrs: Vec<SocketAddr> = getaddrinfo(host, port, family)
        .map_err(|(code, why)| match code {
            // -4/-6 asked for a family the name (or literal) has no address in.
            EAI_ADDRFAMILY | libc::EAI_NODATA if family != Family::Any => {
                Error::new(Kind::NoHost, format!("{host}: has no{which} address"))
            }
            _ => resolve_error(host, code, &why),
        })?
        .into_iter()
        .filter(|a| family.allows(a))
        .collect();
    if addrs.is_empty() {
        return Err(Error::new(
            Kind::NoHost,
            format!("{host}: has no{which} address"),
        ));
    }
    Ok(addrs)
}

/// glibc's EAI_ADDRFAMILY (the name has no address of the family asked for), which the libc
/// crate does not name.
const EAI_ADDRFAMILY: i32 = -9;

/// The error for a failed look-up, by its EAI_* code: only "no such name" is lasting.
fn resolve_error(host: &str, code: i32, why: &str) -> Error {
    match code {
        libc::EAI_NONAME | libc::EAI_NODATA | EAI_ADDRFAMILY => {
            Error::new(Kind::NoHost, format!("{host}: no such host ({why})"))
        }
        _ => Error::new(
            Kind::TempFail,
            format!("{host}: cannot resolve the host name now ({why}); try again later"),
        ),
    }
}

/// getaddrinfo(3) for TCP, with its EAI_* code on failure (the standard library's look-up
/// folds them all into one error, and a temporary failure must not read as "no such host").
fn getaddrinfo(
    host: &str,
    port: u16,
    family: Family,
) -> std::result::Result<Vec<SocketAddr>, (i32, String)> {
    use std::ffi::{CStr, CString};
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
    let c_host = CString::new(host).map_err(|_| (libc::EAI_NONAME, "a NUL in the name".into()))?;
    let c_port = CString::new(port.to_string()).unwrap_or_default();
    // SAFETY: a zeroed addrinfo is a valid "no hints" value; getaddrinfo fills `list`, which
    // is walked read-only and freed once.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_socktype = libc::SOCK_STREAM;
    hints.ai_family = match family {
        Family::Any => libc::AF_UNSPEC,
        Family::V4 => libc::AF_INET,
        Family::V6 => libc::AF_INET6,
    };
    let mut list: *mut libc::addrinfo = std::ptr::null_mut();
    let rc = unsafe { libc::getaddrinfo(c_host.as_ptr(), c_port.as_ptr(), &hints, &mut list) };
    if rc != 0 {
        let why = if rc == libc::EAI_SYSTEM {
            io_reason(&io::Error::last_os_error())
        } else {
            unsafe { CStr::from_ptr(libc::gai_strerror(rc)) }
                .to_string_lossy()
                .into_owned()
        };
        return Err((rc, why));
    }
    let mut out = Vec::new();
    let mut p = list;
    while !p.is_null() {
        let ai = unsafe { &*p };
        match ai.ai_family {
            libc::AF_INET if !ai.ai_addr.is_null() => {
                let sa = unsafe { &*(ai.ai_addr as *const libc::sockaddr_in) };
                let ip = Ipv4Addr::from(u32::from_be(sa.sin_addr.s_addr));
                out.push(SocketAddr::V4(SocketAddrV4::new(ip, port)));
            }
            libc::AF_INET6 if !ai.ai_addr.is_null() => {
                let sa = unsafe { &*(ai.ai_addr as *const libc::sockaddr_in6) };
                let ip = Ipv6Addr::from(sa.sin6_addr.s6_addr);
                out.push(SocketAddr::V6(SocketAddrV6::new(
                    ip,
                    port,
                    sa.sin6_flowinfo,
                    sa.sin6_scope_id,
                )));
            }
            _ => {}
        }
        p = ai.ai_next;
    }
    unsafe { libc::freeaddrinfo(list) };
    // The resolver may list one address several times (once per protocol): keep the first.
    let mut seen = Vec::new();
    out.retain(|a| {
        let fresh = !seen.contains(a);
        seen.push(*a);
        fresh
    });
    Ok(out)
}

/// Connects to `target` by `deadline`, through its proxy if it has one, and, for a scheme
/// with TLS from the first byte (ftps://, smtps://, pop3s://, imaps://), makes the TLS
/// handshake too (with the target, through the tunnel). `tls` is `None` under `--tls none`,
/// which such a scheme refuses (64).
pub fn open(
    target: &url::Target,
    opts: &ConnectOptions,
    tls: Option<&tls::TlsContext>,
    deadline: Instant,
) -> Result<NetStream> {
    use stream::Transport;
    let deadline = opts.within_max_time(deadline);
    let tcp = match opts.proxy_for(target)? {
        Some(p) => proxy::connect(p, &target.host, target.port, opts, deadline)?,
        None => connect_by(&target.host, target.port, opts, deadline)?,
    };
    let stream = NetStream::Plain(opts.sock(tcp));
    if !target.scheme.implicit_tls() {
        return Ok(stream);
    }
    let tls = tls.ok_or_else(|| {
        Error::new(
            Kind::Usage,
            format!(
                "{target}: {}:// needs TLS, but --tls none is set",
                target.scheme.name()
            ),
        )
    })?;
    stream
        .start_tls(tls, &target.host, Some(deadline))
        .map_err(|e| tls::naming_peer(e, &target.host, &target.authority()))
        .map_err(|e| match target.scheme.plaintext_hint() {
            Some(hint) if tls::answered_without_tls(&e) => {
                let message = format!("{} ({hint})", e.message());
                e.with_message(message)
            }
            _ => e,
        })
}

/// Connects to the first address of `host` that answers, trying each in turn.
/// Refused and timed-out connections are TEMPFAIL (75).
pub fn connect(host: &str, port: u16, opts: &ConnectOptions) -> Result<TcpStream> {
    connect_by(host, port, opts, Instant::now() + opts.connect_timeout)
}

/// [`connect`], with every address tried before `deadline` (each gets what is left of it,
/// at most the connect timeout): many addresses that each time out cannot add up to more.
pub fn connect_by(
    host: &str,
    port: u16,
    opts: &ConnectOptions,
    deadline: Instant,
) -> Result<TcpStream> {
    let deadline = opts.within_max_time(deadline);
    let addrs = resolve(host, port, opts.family)?;
    let mut last: Option<io::Error> = None;
    for addr in &addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            last = Some(io::Error::from(io::ErrorKind::TimedOut));
            break;
        }
        let attempt = ConnectOptions {
            connect_timeout: opts.connect_timeout.min(left),
            ..opts.clone()
        };
        match connect_addr(addr, &attempt) {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
    }
    let e = last.unwrap_or_else(|| io::Error::other("no address to try"));
    let shown = display_host_port(host, port);
    if let Some(max) = opts.max_time.filter(|m| m.left().is_zero()) {
        return Err(Error::network(
            shown,
            stream::LimitReached::MaxTime(max.total).into_io(),
        ));
    }
    Err(match e.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
            Error::new(Kind::Timeout, format!("{shown}: connection timed out"))
        }
        _ => Error::new(
            Kind::TempFail,
            format!("{shown}: cannot connect: {}", io_reason(&e)),
        ),
    })
}

/// Connects to one address and applies the idle timeouts.
pub fn connect_addr(addr: &SocketAddr, opts: &ConnectOptions) -> io::Result<TcpStream> {
    let mut timeout = opts.connect_timeout;
    if let Some(max) = opts.max_time {
        timeout = timeout.min(max.left());
        if timeout.is_zero() {
            return Err(stream::LimitReached::MaxTime(max.total).into_io());
        }
    }
    let s = TcpStream::connect_timeout(addr, timeout)?;
    configure(&s, opts)?;
    Ok(s)
}

/// Applies the idle timeout to both directions and turns off Nagle (commands are small and
/// each waits for its reply: delaying them only adds latency).
pub fn configure(s: &TcpStream, opts: &ConnectOptions) -> io::Result<()> {
    s.set_read_timeout(Some(opts.idle_timeout))?;
    s.set_write_timeout(Some(opts.idle_timeout))?;
    s.set_nodelay(true)
}

/// `host:port`, with brackets around IPv6 literals.
pub fn display_host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_missing_name_is_lasting() {
        assert_eq!(resolve_error("h", libc::EAI_NONAME, "x").exit_code(), 68);
        let again = resolve_error("h", libc::EAI_AGAIN, "x");
        assert_eq!(again.exit_code(), 75);
        assert!(again.is_transient());
        assert_eq!(resolve_error("h", libc::EAI_FAIL, "x").exit_code(), 75);
    }

    #[test]
    fn literals_and_loopback_resolve() {
        let v4 = resolve("127.0.0.1", 21, Family::Any).unwrap();
        assert_eq!(v4, ["127.0.0.1:21".parse().unwrap()]);
        let e = resolve("127.0.0.1", 21, Family::V6).unwrap_err();
        assert_eq!(e.exit_code(), 68);
        assert!(
            resolve("localhost", 2121, Family::V4)
                .unwrap()
                .iter()
                .all(|a| a.is_ipv4() && a.port() == 2121)
        );
        assert_eq!(e.to_string(), "127.0.0.1: has no IPv6 address");
        let v6 = resolve("::1", 21, Family::Any).unwrap();
        assert_eq!(v6, ["[::1]:21".parse().unwrap()]);
    }

    /// A look-up's failure is said in the resolver's words for its code.
    #[test]
    fn a_failed_look_up_says_why() {
        let (code, why) = getaddrinfo("127.0.0.1", 21, Family::V6).unwrap_err();
        assert_ne!(code, libc::EAI_SYSTEM);
        // SAFETY: gai_strerror returns a static string for any code.
        let words = unsafe { std::ffi::CStr::from_ptr(libc::gai_strerror(code)) };
        assert_eq!(why, words.to_string_lossy());
    }

    #[test]
    fn families_allow_their_own_addresses() {
        let v4: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let v6: SocketAddr = "[::1]:1".parse().unwrap();
        assert!(Family::Any.allows(&v4) && Family::Any.allows(&v6));
        assert!(Family::V4.allows(&v4) && !Family::V4.allows(&v6));
        assert!(Family::V6.allows(&v6) && !Family::V6.allows(&v4));
    }

    fn target(url: &str) -> url::Target {
        url::Target::parse(url, &url::Scheme::ALL).unwrap()
    }

    /// A plain scheme is connected and left plain; one with TLS from the first byte, to a
    /// server that answers in plain text, is told so; without TLS at all it is refused.
    #[test]
    fn open_asks_tls_only_of_a_tls_scheme() {
        use std::io::Write;
        use stream::Transport;
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for s in l.incoming().take(3) {
                let _ = s.unwrap().write_all(b"220 plain SMTP here\r\n");
            }
        });
        let opts = ConnectOptions::default();
        let deadline = Instant::now() + Duration::from_secs(20);
        let plain = open(
            &target(&format!("smtp://127.0.0.1:{port}")),
            &opts,
            None,
            deadline,
        );
        assert!(!plain.unwrap().is_tls());
        let tls = tls::TlsContext::new(&Default::default()).unwrap();
        let smtps = target(&format!("smtps://127.0.0.1:{port}"));
        let Err(e) = open(&smtps, &opts, Some(&tls), deadline) else {
            panic!("TLS with a plain server");
        };
        assert!(e.to_string().contains("(is this a plain SMTP port"), "{e}");
        let Err(e) = open(&smtps, &opts, None, deadline) else {
            panic!("smtps:// without TLS");
        };
        assert_eq!(e.exit_code(), 64, "{e}");
        // A server that closes at once is no plain port: no hint.
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || drop(l.accept()));
        let closed = target(&format!("smtps://127.0.0.1:{port}"));
        let Err(e) = open(&closed, &opts, Some(&tls), deadline) else {
            panic!("TLS with a server that closed");
        };
        assert!(!e.to_string().contains("plain SMTP port"), "{e}");
    }

    /// A connection has the idle timeouts both ways and no Nagle delay.
    #[test]
    fn a_connection_is_configured() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let opts = ConnectOptions {
            idle_timeout: Duration::from_secs(7),
            ..ConnectOptions::default()
        };
        let s = connect("127.0.0.1", port, &opts).unwrap();
        assert!(s.nodelay().unwrap());
        assert_eq!(s.read_timeout().unwrap(), Some(Duration::from_secs(7)));
        assert_eq!(s.write_timeout().unwrap(), Some(Duration::from_secs(7)));
    }

    #[test]
    fn a_proxy_given_is_the_route() {
        let proxies = proxy::Proxies::new(Some("socks5://127.0.0.1:1080"), None, |_| None);
        let opts = ConnectOptions {
            proxies: Arc::new(proxies.unwrap()),
            ..ConnectOptions::default()
        };
        let via = opts.proxy_for(&target("ftp://ftp.example/")).unwrap();
        assert!(via.is_some());
    }

    /// The deadline bounds the connect, whatever the connect timeout: a listener whose
    /// queue is full lets a connect wait (its SYN is dropped) until the deadline, then it
    /// is a timeout.
    #[test]
    fn a_connect_ends_at_the_deadline() {
        use std::os::fd::AsRawFd;
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        // SAFETY: listen(2) on a socket we own; a backlog of 0 queues one connection.
        assert_eq!(unsafe { libc::listen(l.as_raw_fd(), 0) }, 0);
        let addr = l.local_addr().unwrap();
        let mut queued = Vec::new();
        while let Ok(s) = TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
            queued.push(s);
            assert!(queued.len() < 64, "the listener's queue never filled");
        }
        let opts = ConnectOptions {
            connect_timeout: Duration::from_secs(60),
            ..ConnectOptions::default()
        };
        let start = Instant::now();
        let deadline = start + Duration::from_millis(300);
        let e = connect_by("127.0.0.1", addr.port(), &opts, deadline).unwrap_err();
        assert!(start.elapsed() < Duration::from_secs(20));
        let want = format!("127.0.0.1:{}: connection timed out", addr.port());
        assert_eq!(e.to_string(), want);
    }
}
