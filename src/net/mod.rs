//! Connecting: resolve, try every address in turn (restricted by `-4`/`-6`), with a connect
//! timeout and idle read/write timeouts. Plus the stream type that may be upgraded to TLS.

pub mod stream;
pub mod tls;
pub mod url;

pub use stream::NetStream;

use crate::error::{Error, Kind, Result, io_reason};
use std::io;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
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

/// Timeouts and address family for every connection a tool makes.
#[derive(Debug, Clone, Copy)]
pub struct ConnectOptions {
    pub connect_timeout: Duration,
    /// Bounds every single wait for the server (each read and each write).
    pub idle_timeout: Duration,
    pub family: Family,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            connect_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(120),
            family: Family::Any,
        }
    }
}

/// Resolves `host` (a name or an IP literal without brackets) and returns the addresses the
/// family allows. A name that does not resolve is NOHOST (68).
pub fn resolve(host: &str, port: u16, family: Family) -> Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| {
            Error::new(
                Kind::NoHost,
                format!("{host}: cannot resolve host name: {}", io_reason(&e)),
            )
        })?
        .filter(|a| family.allows(a))
        .collect();
    if addrs.is_empty() {
        let which = match family {
            Family::V4 => " IPv4",
            Family::V6 => " IPv6",
            Family::Any => "",
        };
        return Err(Error::new(
            Kind::NoHost,
            format!("{host}: has no{which} address"),
        ));
    }
    Ok(addrs)
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
            ..*opts
        };
        match connect_addr(addr, &attempt) {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
    }
    let e = last.unwrap_or_else(|| io::Error::other("no address to try"));
    let shown = display_host_port(host, port);
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
    let s = TcpStream::connect_timeout(addr, opts.connect_timeout)?;
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
