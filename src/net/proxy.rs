//! Connecting through a proxy (docs/CONVENTIONS.md, "Proxies"): SOCKS5 (RFC 1928), with the
//! target's name resolved here (`socks5://`) or by the proxy (`socks5h://`), and the user
//! name and password of RFC 1929; and an HTTP proxy's CONNECT tunnel (RFC 9110 section
//! 9.3.6), with Basic authentication (RFC 7617). Which proxy a target goes through, if any,
//! is [`Proxies`]: `--proxy`, else the environment as curl reads it, less `--noproxy` or
//! `NO_PROXY`.
//!
//! The proxy connect sits under everything else: what it returns is a TCP stream to the
//! target, on which TLS, STARTTLS and the run's limits work as on a direct connection. Every
//! reply of the proxy is bounded (SOCKS5's are of fixed size; an HTTP proxy's header section
//! is at most [`MAX_HEADER_LINES`] lines of [`MAX_HEADER_LINE`] bytes) and read by the
//! connect phase's deadline.

use super::url::{Scheme, redact};
use super::{ConnectOptions, MaxTime, connect_by, display_host_port, resolve};
use crate::error::{Error, Kind, Result};
use crate::wire::printable;
use base64::Engine as _;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{IpAddr, TcpStream};
use std::time::{Duration, Instant};

/// The longest line of an HTTP proxy's reply header that is read.
pub const MAX_HEADER_LINE: usize = 8192;
/// The most lines of an HTTP proxy's reply header (the status line included) that are read.
pub const MAX_HEADER_LINES: usize = 100;

/// How a proxy is spoken to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyKind {
    /// An HTTP proxy's CONNECT tunnel (`http://`).
    Http,
    /// SOCKS5, the target's name resolved here (`socks5://`).
    Socks5,
    /// SOCKS5, the target's name resolved by the proxy (`socks5h://`).
    Socks5h,
}

impl ProxyKind {
    fn scheme(self) -> &'static str {
        match self {
            ProxyKind::Http => "http",
            ProxyKind::Socks5 => "socks5",
            ProxyKind::Socks5h => "socks5h",
        }
    }
}

/// A proxy, as its URL gave it. `Display` names it without its user name and password:
/// `SOCKS5 proxy 127.0.0.1:1080`, the way every message about it starts.
#[derive(Clone, PartialEq, Eq)]
pub struct Proxy {
    pub kind: ProxyKind,
    /// A name or an IP address, without brackets.
    pub host: String,
    pub port: u16,
    /// From the URL's user information, percent-decoded.
    pub user: Option<String>,
    pub password: Option<String>,
}

impl fmt::Display for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            ProxyKind::Http => "HTTP",
            ProxyKind::Socks5 | ProxyKind::Socks5h => "SOCKS5",
        };
        write!(
            f,
            "{kind} proxy {}",
            display_host_port(&self.host, self.port)
        )
    }
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never let a proxy's password reach a log through {:?}.
        write!(
            f,
            "Proxy({}://{})",
            self.kind.scheme(),
            display_host_port(&self.host, self.port)
        )
    }
}

/// curl's port for a proxy URL that names none, whatever its scheme.
pub const DEFAULT_PROXY_PORT: u16 = 1080;

impl Proxy {
    /// Parses a proxy URL as curl takes it: `[SCHEME://][USER[:PASSWORD]@]HOST[:PORT]`, the
    /// scheme `http` (the default), `socks5` or `socks5h`, the port 1080 by default. `from`
    /// names where it came from (`--proxy`, `ALL_PROXY`) in the message of a malformed one
    /// (64), which shows the URL without its password.
    pub fn parse(text: &str, from: &str) -> Result<Proxy> {
        // redact() finds a password after a scheme: give it one where curl's default is meant.
        let shown = match text.contains("://") {
            true => redact(text),
            false => redact(&format!("http://{text}"))["http://".len()..].to_string(),
        };
        let bad =
            |why: &str| Error::new(Kind::Usage, format!("{from}: {}: {why}", printable(&shown)));
        if text.chars().any(|c| c.is_control() || c == ' ') {
            return Err(bad(
                "control characters and spaces are not allowed in a URL",
            ));
        }
        let (scheme, rest) = match text.split_once("://") {
            Some((s, r)) => (s.to_ascii_lowercase(), r),
            None => ("http".to_string(), text),
        };
        let kind = match scheme.as_str() {
            "http" => ProxyKind::Http,
            "socks5" => ProxyKind::Socks5,
            "socks5h" => ProxyKind::Socks5h,
            "https" => {
                return Err(bad(
                    "https:// proxies are not supported (TLS to the proxy): use http://, which \
                     tunnels TLS to the server all the same, or socks5h://",
                ));
            }
            "socks4" | "socks4a" => {
                return Err(bad("SOCKS4 is not supported: use socks5:// or socks5h://"));
            }
            _ => {
                return Err(bad(
                    "unknown proxy scheme (use http://, socks5:// or socks5h://)",
                ));
            }
        };
        // The url crate parses the authority; under a special scheme it decodes the host
        // (IPv6 literals, IPv4 in any form) as a browser would.
        super::url::check_host(rest).map_err(|why| bad(&why))?;
        let parsed = url::Url::parse(&format!("http://{rest}")).map_err(|e| bad(&e.to_string()))?;
        if !matches!(parsed.path(), "" | "/") || parsed.query().is_some() {
            return Err(bad("a proxy URL has no path"));
        }
        if let Some(url::Host::Domain(d)) = parsed.host() {
            super::url::check_labels(d).map_err(|why| bad(&why))?;
        }
        let host = match parsed.host() {
            Some(url::Host::Domain(d)) if !d.is_empty() => d.to_string(),
            Some(url::Host::Ipv4(a)) => a.to_string(),
            Some(url::Host::Ipv6(a)) => a.to_string(),
            _ => return Err(bad("no host name")),
        };
        // The url crate drops port 80 under http://: ask the text whether one was given.
        let port = parsed
            .port()
            .or_else(|| authority_port(rest))
            .unwrap_or(DEFAULT_PROXY_PORT);
        let decode = |s: &str, what: &str| -> Result<String> {
            let raw: Vec<u8> = percent_encoding::percent_decode_str(s).collect();
            let s = String::from_utf8(raw)
                .map_err(|_| bad(&format!("the {what} is not UTF-8 once decoded")))?;
            if s.chars().any(|c| matches!(c, '\r' | '\n' | '\0')) {
                return Err(bad(&format!(
                    "CR, LF and NUL are not allowed in the {what}"
                )));
            }
            Ok(s)
        };
        let user = match parsed.username() {
            "" => None,
            u => Some(decode(u, "user name")?),
        };
        let password = parsed
            .password()
            .map(|p| decode(p, "password"))
            .transpose()?;
        if matches!(kind, ProxyKind::Socks5 | ProxyKind::Socks5h)
            && (user.as_ref().is_some_and(|u| u.len() > 255)
                || password.as_ref().is_some_and(|p| p.len() > 255))
        {
            // RFC 1929: each is sent after a one-byte length.
            return Err(bad(
                "a SOCKS5 proxy's user name and password are at most 255 bytes each",
            ));
        }
        Ok(Proxy {
            kind,
            host,
            port,
            user,
            password,
        })
    }

    /// The user name and password to send, if the URL gave a user.
    fn credentials(&self) -> Option<(&str, &str)> {
        self.user
            .as_deref()
            .map(|u| (u, self.password.as_deref().unwrap_or("")))
    }
}

/// The port written in `authority` (what follows `scheme://`), if any.
fn authority_port(rest: &str) -> Option<u16> {
    let authority = rest.split('/').next().unwrap_or(rest);
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let after_host = match host_port.rfind(']') {
        Some(i) => &host_port[i + 1..],
        None => host_port,
    };
    after_host.rsplit_once(':')?.1.parse().ok()
}

/// `--noproxy` or `NO_PROXY` (curl's rules): names and domains, separated by commas or
/// spaces, each matching itself and the names under it (`example.com` matches
/// `mail.example.com`, a leading dot is the same); IP addresses, with a `/BITS` prefix
/// length when wanted; `*` alone, every host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoProxy {
    all: bool,
    names: Vec<String>,
    nets: Vec<(IpAddr, u8)>,
}

impl NoProxy {
    pub fn parse(list: &str) -> NoProxy {
        let mut np = NoProxy::default();
        for entry in list
            .split(|c: char| c == ',' || c.is_ascii_whitespace())
            .filter(|e| !e.is_empty())
        {
            if entry == "*" {
                np.all = true;
                continue;
            }
            let (addr, bits) = match entry.split_once('/') {
                Some((a, b)) => (a, b.parse::<u8>().ok()),
                None => (entry, None),
            };
            let addr = addr.trim_start_matches('[').trim_end_matches(']');
            if let Ok(ip) = addr.parse::<IpAddr>() {
                let max = if ip.is_ipv4() { 32 } else { 128 };
                np.nets.push((ip, bits.unwrap_or(max).min(max)));
            } else {
                let name = entry.trim_start_matches('.').trim_end_matches('.');
                np.names.push(name.to_ascii_lowercase());
            }
        }
        np
    }

    /// Whether `host` (a name, or an IP address without brackets) goes without a proxy.
    pub fn matches(&self, host: &str) -> bool {
        if self.all {
            return true;
        }
        if let Ok(ip) = host.parse::<IpAddr>() {
            return self.nets.iter().any(|&(net, bits)| in_net(ip, net, bits));
        }
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.names.iter().any(|n| {
            !n.is_empty()
                && (host == *n
                    || host
                        .strip_suffix(n.as_str())
                        .is_some_and(|head| head.ends_with('.')))
        })
    }
}

fn in_net(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    let (a, b, width) = match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u32::from(a) as u128, u32::from(b) as u128, 32),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128),
        _ => return false,
    };
    let shift = width - u32::from(bits);
    shift >= width || (a >> shift) == (b >> shift)
}

/// The proxy settings of a run: which proxy, if any, each target goes through.
#[derive(Debug, Clone, Default)]
pub struct Proxies {
    /// The proxy per scheme (`None`: any scheme), the first that fits wins. A malformed one
    /// from the environment is kept as its error, said when a target would use it.
    rules: Vec<(Option<Scheme>, std::result::Result<Proxy, String>)>,
    /// `https_proxy`'s, for OAuth2's endpoints ([`route_https`](Proxies::route_https)).
    https: Option<std::result::Result<Proxy, String>>,
    bypass: NoProxy,
}

/// The schemes whose `SCHEME_proxy` variable is read: every one.
const SCHEMES: [Scheme; 8] = Scheme::ALL;

impl Proxies {
    /// The settings from `--proxy` (`given`; `""` is no proxy at all, whatever the
    /// environment says), `--noproxy` (`noproxy`) and the environment, read through `var`
    /// as curl reads it: `SCHEME_proxy` (lower case first, then upper case: `ftp_proxy`,
    /// `FTP_PROXY`, `smtps_proxy`...), then `all_proxy`, `ALL_PROXY`; `no_proxy`, then
    /// `NO_PROXY`, unless `--noproxy` is given. A malformed `--proxy` is 64 here; a
    /// malformed variable, once a target would use it.
    pub fn new(
        given: Option<&str>,
        noproxy: Option<&str>,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Proxies> {
        let var = |name: &str| var(name).filter(|v| !v.is_empty());
        let either = |lower: &str| {
            let upper = lower.to_ascii_uppercase();
            var(lower)
                .map(|v| (lower.to_string(), v))
                .or_else(|| var(&upper).map(|v| (upper, v)))
        };
        let mut rules = Vec::new();
        let mut https = None;
        match given {
            Some("") => {}
            Some(url) => rules.push((None, Ok(Proxy::parse(url, "--proxy")?))),
            None => {
                let parse = |(name, v): (String, String)| {
                    Proxy::parse(&v, &name).map_err(|e| e.message().to_string())
                };
                for scheme in SCHEMES {
                    if let Some(found) = either(&format!("{}_proxy", scheme.name())) {
                        rules.push((Some(scheme), parse(found)));
                    }
                }
                if let Some(found) = either("all_proxy") {
                    rules.push((None, parse(found)));
                }
                https = either("https_proxy").map(parse);
            }
        }
        let bypass = match noproxy {
            Some(list) => NoProxy::parse(list),
            None => either("no_proxy").map_or_else(NoProxy::default, |(_, v)| NoProxy::parse(&v)),
        };
        Ok(Proxies {
            rules,
            https,
            bypass,
        })
    }

    /// The proxy an https:// connection to `host` goes through (OAuth2's endpoints): as
    /// [`route`](Proxies::route), with `https_proxy` (`HTTPS_PROXY`) the scheme's variable.
    pub fn route_https(&self, host: &str) -> Result<Option<&Proxy>> {
        if self.bypass.matches(host) {
            return Ok(None);
        }
        let any = self.rules.iter().find(|(s, _)| s.is_none()).map(|(_, r)| r);
        match self.https.as_ref().or(any) {
            None => Ok(None),
            Some(Ok(p)) => Ok(Some(p)),
            Some(Err(why)) => Err(Error::new(Kind::Usage, why.clone())),
        }
    }

    /// The proxy a connection to `host` for `scheme` goes through; `None`: direct.
    pub fn route(&self, scheme: Scheme, host: &str) -> Result<Option<&Proxy>> {
        if self.bypass.matches(host) {
            return Ok(None);
        }
        let rule = self
            .rules
            .iter()
            .find(|(s, _)| *s == Some(scheme))
            .or_else(|| self.rules.iter().find(|(s, _)| s.is_none()));
        match rule {
            None => Ok(None),
            Some((_, Ok(p))) => Ok(Some(p)),
            Some((_, Err(why))) => Err(Error::new(Kind::Usage, why.clone())),
        }
    }
}

/// Connects to `host:port` through `proxy` by `deadline` (the connect phase's, cut to
/// `--max-time`): the proxy's addresses in turn, then its handshake. Every error names the
/// proxy: one that does not answer, that refuses the login (77) or the target, or that
/// stalls ("no reply from the proxy within N s").
pub fn connect(
    proxy: &Proxy,
    host: &str,
    port: u16,
    opts: &ConnectOptions,
    deadline: Instant,
) -> Result<TcpStream> {
    connect_after(proxy, (host, port), opts, deadline, None)
}

/// [`connect`], the first handshake on `first`, a connection to the proxy made already
/// (by the HTTP client of OAuth2's endpoints, `cli::oauth2::endpoint`).
pub fn connect_over(
    proxy: &Proxy,
    (host, port): (&str, u16),
    opts: &ConnectOptions,
    deadline: Instant,
    first: TcpStream,
) -> Result<TcpStream> {
    connect_after(proxy, (host, port), opts, deadline, Some(first))
}

fn connect_after(
    proxy: &Proxy,
    (host, port): (&str, u16),
    opts: &ConnectOptions,
    deadline: Instant,
    mut first: Option<TcpStream>,
) -> Result<TcpStream> {
    let deadline = opts.within_max_time(deadline);
    let targets: Vec<Dest> = match proxy.kind {
        ProxyKind::Socks5 => resolve(host, port, opts.family)?
            .into_iter()
            .map(|a| Dest::Ip(a.ip(), port))
            .collect(),
        ProxyKind::Socks5h | ProxyKind::Http => vec![Dest::Name(host, port)],
    };
    let mut last = None;
    for dest in &targets {
        // "127.0.0.1:1080: cannot connect: ..." is the proxy's: say so.
        let tcp = match first.take() {
            Some(tcp) => tcp,
            None => connect_by(&proxy.host, proxy.port, opts, deadline).map_err(|e| {
                let message = format!("{} {}", kind_name(proxy), e.message());
                e.with_message(message)
            })?,
        };
        let mut io = Bounded {
            tcp: &tcp,
            deadline,
            max_time: opts.max_time,
        };
        let done = match proxy.kind {
            ProxyKind::Http => http_connect(&mut io, proxy, *dest),
            ProxyKind::Socks5 | ProxyKind::Socks5h => socks5_connect(&mut io, proxy, *dest),
        };
        match done {
            Ok(()) => {
                super::configure(&tcp, opts).map_err(|e| Error::network(proxy, e))?;
                return Ok(tcp);
            }
            Err(Failed::Io(e)) => return Err(io_failure(proxy, e, opts)),
            // Another address of the target may be reachable (a name with IPv6 and IPv4
            // addresses, a server listening on one of them).
            Err(Failed::Said(e, Retry::OtherAddress)) => last = Some(e),
            Err(Failed::Said(e, Retry::No)) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| Error::new(Kind::NoHost, format!("{host}: no address"))))
}

/// `SOCKS5 proxy` or `HTTP proxy`, as messages name it.
pub fn kind_name(proxy: &Proxy) -> &'static str {
    match proxy.kind {
        ProxyKind::Http => "HTTP proxy",
        ProxyKind::Socks5 | ProxyKind::Socks5h => "SOCKS5 proxy",
    }
}

/// An I/O error during the handshake: a wait that ran out is the proxy's silence (or the
/// run's `--max-time`); anything else, a connection the proxy broke.
fn io_failure(proxy: &Proxy, e: io::Error, opts: &ConnectOptions) -> Error {
    let timed_out = matches!(
        e.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
    );
    if timed_out && super::stream::LimitReached::of(&e).is_none() {
        return Error::new(
            Kind::Timeout,
            format!(
                "{proxy}: no reply from the proxy within {} s",
                opts.connect_timeout.as_secs_f64()
            ),
        )
        .with_source(e);
    }
    if e.kind() == io::ErrorKind::UnexpectedEof {
        return Error::connection_lost(format!(
            "{proxy}: connection lost: the proxy closed the connection"
        ))
        .with_source(e);
    }
    Error::network(proxy, e)
}

/// Where the proxy is to connect.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Dest<'a> {
    /// A name, resolved by the proxy.
    Name(&'a str, u16),
    /// An address resolved here.
    Ip(IpAddr, u16),
}

impl fmt::Display for Dest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Dest::Name(h, p) => f.write_str(&display_host_port(h, p)),
            Dest::Ip(ip, p) => f.write_str(&display_host_port(&ip.to_string(), p)),
        }
    }
}

/// Why a handshake failed: the connection to the proxy broke or stalled (said by the
/// caller, who knows the timeout), or the proxy said no (or nonsense).
#[derive(Debug)]
pub(crate) enum Failed {
    Io(io::Error),
    Said(Error, Retry),
}

/// Whether another address of the target may fare better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    OtherAddress,
    No,
}

impl From<io::Error> for Failed {
    fn from(e: io::Error) -> Failed {
        Failed::Io(e)
    }
}

fn said(kind: Kind, message: String) -> Failed {
    Failed::Said(Error::new(kind, message), Retry::No)
}

/// A reply that is not what the protocol allows (76).
fn malformed(proxy: &Proxy, what: impl fmt::Display) -> Failed {
    said(
        Kind::Protocol,
        format!("{proxy}: malformed reply from the proxy: {what}"),
    )
}

/// The proxy's socket, each read and write bounded by the connect phase's deadline: a proxy
/// that drips its reply cannot stretch it past `--timeout`.
struct Bounded<'a> {
    tcp: &'a TcpStream,
    deadline: Instant,
    max_time: Option<MaxTime>,
}

impl Bounded<'_> {
    fn left(&self) -> io::Result<Duration> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if !left.is_zero() {
            return Ok(left);
        }
        Err(match self.max_time.filter(|m| m.left().is_zero()) {
            Some(m) => super::stream::LimitReached::MaxTime(m.total).into_io(),
            None => io::Error::from(io::ErrorKind::TimedOut),
        })
    }

    /// A wait that ran out at the end of `--max-time` says so.
    fn after<T>(&self, r: io::Result<T>) -> io::Result<T> {
        match r {
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
                ) =>
            {
                self.left()
                    .and(Err(io::Error::from(io::ErrorKind::TimedOut)))
            }
            r => r,
        }
    }
}

impl Read for Bounded<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.tcp.set_read_timeout(Some(self.left()?))?;
        let r = (&mut &*self.tcp).read(buf);
        self.after(r)
    }
}

impl Write for Bounded<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tcp.set_write_timeout(Some(self.left()?))?;
        let r = (&mut &*self.tcp).write(buf);
        self.after(r)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The SOCKS5 exchange (RFC 1928 sections 3 to 6, RFC 1929): the methods offered (none,
/// and user name and password when the URL gave a user), the login if chosen, the CONNECT
/// request and its reply, read whole so that nothing of it is left for the protocol above.
pub(crate) fn socks5_connect<S: Read + Write>(
    s: &mut S,
    proxy: &Proxy,
    dest: Dest<'_>,
) -> std::result::Result<(), Failed> {
    let creds = proxy.credentials();
    s.write_all(if creds.is_some() {
        &[5, 2, 0, 2]
    } else {
        &[5, 1, 0]
    })?;
    let mut chosen = [0u8; 2];
    s.read_exact(&mut chosen)?;
    if chosen[0] != 5 {
        return Err(not_socks5(proxy, &chosen));
    }
    match (chosen[1], creds) {
        (0, _) => {}
        (2, Some((user, password))) => socks5_login(s, proxy, user, password)?,
        (0xff, None) => {
            return Err(said(
                Kind::Auth,
                format!(
                    "{proxy}: the proxy requires a login: give a user name and password in \
                     the proxy URL (socks5h://USER:PASSWORD@HOST:PORT)"
                ),
            ));
        }
        (0xff, Some(_)) => {
            return Err(said(
                Kind::Unavailable,
                format!(
                    "{proxy}: the proxy accepts neither no login nor a user name and password \
                     (RFC 1929)"
                ),
            ));
        }
        (m, _) => {
            return Err(malformed(
                proxy,
                format_args!("it chose method {m}, not offered"),
            ));
        }
    }
    s.write_all(&socks5_request(proxy, dest)?)?;
    let mut head = [0u8; 2];
    s.read_exact(&mut head)?;
    if head[0] != 5 {
        return Err(not_socks5(proxy, &head));
    }
    if head[1] != 0 {
        return Err(socks5_refusal(proxy, dest, head[1]));
    }
    let mut rest = [0u8; 2];
    s.read_exact(&mut rest)?;
    if rest[0] != 0 {
        return Err(malformed(
            proxy,
            format_args!("reserved byte {:#04x}", rest[0]),
        ));
    }
    // The address the proxy bound, which nothing needs: read past it.
    let len = match rest[1] {
        1 => 4,
        4 => 16,
        3 => {
            let mut n = [0u8; 1];
            s.read_exact(&mut n)?;
            usize::from(n[0])
        }
        t => return Err(malformed(proxy, format_args!("unknown address type {t}"))),
    };
    let mut bound = [0u8; 255 + 2];
    s.read_exact(&mut bound[..len + 2])?;
    Ok(())
}

/// The SOCKS5 CONNECT request for `dest` (RFC 1928 section 4).
fn socks5_request(proxy: &Proxy, dest: Dest<'_>) -> std::result::Result<Vec<u8>, Failed> {
    let mut req = vec![5, 1, 0];
    let port = match dest {
        Dest::Ip(IpAddr::V4(a), port) => {
            req.push(1);
            req.extend_from_slice(&a.octets());
            port
        }
        Dest::Ip(IpAddr::V6(a), port) => {
            req.push(4);
            req.extend_from_slice(&a.octets());
            port
        }
        Dest::Name(host, port) => match host.parse::<IpAddr>() {
            Ok(ip) => return socks5_request(proxy, Dest::Ip(ip, port)),
            Err(_) => {
                let len = u8::try_from(host.len()).map_err(|_| {
                    said(
                        Kind::Usage,
                        format!("{proxy}: {host}: a host name of over 255 bytes cannot be sent"),
                    )
                })?;
                req.push(3);
                req.push(len);
                req.extend_from_slice(host.as_bytes());
                port
            }
        },
    };
    req.extend_from_slice(&port.to_be_bytes());
    Ok(req)
}

/// The user name and password sub-negotiation (RFC 1929 section 2).
fn socks5_login<S: Read + Write>(
    s: &mut S,
    proxy: &Proxy,
    user: &str,
    password: &str,
) -> std::result::Result<(), Failed> {
    // Proxy::parse has held both to 255 bytes.
    let mut req = vec![1, user.len() as u8];
    req.extend_from_slice(user.as_bytes());
    req.push(password.len() as u8);
    req.extend_from_slice(password.as_bytes());
    s.write_all(&req)?;
    let mut status = [0u8; 2];
    s.read_exact(&mut status)?;
    if status[0] != 1 {
        return Err(malformed(
            proxy,
            format_args!("login reply version {}, not 1", status[0]),
        ));
    }
    if status[1] != 0 {
        return Err(said(
            Kind::Auth,
            format!(
                "{proxy}: the proxy refused the user name and password (status {})",
                status[1]
            ),
        ));
    }
    Ok(())
}

fn not_socks5(proxy: &Proxy, got: &[u8]) -> Failed {
    let shown = String::from_utf8_lossy(got);
    malformed(
        proxy,
        format_args!(
            "not SOCKS5 (it began \"{}\"; is it an HTTP proxy? use http://)",
            printable(&shown)
        ),
    )
}

/// A CONNECT the SOCKS5 proxy refused, by its reply code (RFC 1928 section 6), in words.
fn socks5_refusal(proxy: &Proxy, dest: Dest<'_>, rep: u8) -> Failed {
    let (kind, words, retry) = match rep {
        1 => (Kind::TempFail, "general SOCKS server failure", Retry::No),
        2 => (
            Kind::Unavailable,
            "connection not allowed by ruleset",
            Retry::No,
        ),
        3 => (Kind::TempFail, "network unreachable", Retry::OtherAddress),
        4 => (Kind::TempFail, "host unreachable", Retry::OtherAddress),
        5 => (Kind::TempFail, "connection refused", Retry::OtherAddress),
        6 => (Kind::TempFail, "TTL expired", Retry::OtherAddress),
        7 => (Kind::Unavailable, "command not supported", Retry::No),
        8 => (
            Kind::Unavailable,
            "address type not supported (does it resolve names? socks5:// resolves them here)",
            Retry::No,
        ),
        _ => return malformed(proxy, format_args!("unknown reply code {rep}")),
    };
    Failed::Said(
        Error::new(
            kind,
            format!("{proxy}: cannot reach {dest}: {words} (SOCKS5 reply {rep})"),
        ),
        retry,
    )
}

/// The CONNECT request of an HTTP proxy tunnel (RFC 9110 section 9.3.6), with Basic
/// credentials (RFC 7617) when the URL gave a user.
fn http_request(proxy: &Proxy, dest: Dest<'_>) -> String {
    let mut req = format!("CONNECT {dest} HTTP/1.1\r\nHost: {dest}\r\n");
    if let Some((user, password)) = proxy.credentials() {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        req.push_str(&format!("Proxy-Authorization: Basic {token}\r\n"));
    }
    req.push_str("\r\n");
    req
}

/// The HTTP CONNECT exchange: the request, then the reply's header section read a byte at a
/// time (whatever follows it is the server's, and must stay in the socket), each line and
/// their number bounded. A 2xx opens the tunnel; interim 1xx replies are passed over.
pub(crate) fn http_connect<S: Read + Write>(
    s: &mut S,
    proxy: &Proxy,
    dest: Dest<'_>,
) -> std::result::Result<(), Failed> {
    s.write_all(http_request(proxy, dest).as_bytes())?;
    let mut lines = 0;
    loop {
        let status = read_line(s, proxy, &mut lines)?;
        let code = parse_status(&status)
            .ok_or_else(|| malformed(proxy, format_args!("\"{}\"", printable(&status))))?;
        // The rest of the header section: nothing in it matters to a tunnel.
        while !read_line(s, proxy, &mut lines)?.is_empty() {}
        match code {
            100..=199 => continue,
            200..=299 => return Ok(()),
            _ => return Err(http_refusal(proxy, dest, code, &status)),
        }
    }
}

/// A refused CONNECT, by its status: 407 is the login (77), another 4xx the proxy's refusal
/// (69), a 5xx a target it could not reach (75, as a refused direct connection is).
fn http_refusal(proxy: &Proxy, dest: Dest<'_>, code: u16, status: &str) -> Failed {
    let shown = printable(status);
    // 401 is what some proxies (tinyproxy) answer a wrong password with.
    if code == 401 || code == 407 {
        let why = if proxy.user.is_some() {
            "the proxy refused the user name and password"
        } else {
            "the proxy requires a login: give a user name and password in the proxy URL \
             (http://USER:PASSWORD@HOST:PORT)"
        };
        return said(Kind::Auth, format!("{proxy}: {why} (\"{shown}\")"));
    }
    let kind = match code {
        400..=499 => Kind::Unavailable,
        500..=599 => Kind::TempFail,
        _ => Kind::Protocol,
    };
    said(
        kind,
        format!("{proxy}: CONNECT {dest} refused: \"{shown}\""),
    )
}

/// `HTTP/1.x NNN reason`: the status code (RFC 9112 section 4).
fn parse_status(line: &str) -> Option<u16> {
    let rest = line
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| line.strip_prefix("HTTP/1.0 "))?;
    let (code, reason) = rest.split_at_checked(3)?;
    if !code.bytes().all(|b| b.is_ascii_digit()) || !(reason.is_empty() || reason.starts_with(' '))
    {
        return None;
    }
    code.parse().ok().filter(|c| (100..=599).contains(c))
}

/// One line of the reply's header section, without its CRLF (or bare LF), read a byte at a
/// time; over [`MAX_HEADER_LINE`] bytes, or past [`MAX_HEADER_LINES`] lines, is malformed.
fn read_line<S: Read>(
    s: &mut S,
    proxy: &Proxy,
    lines: &mut usize,
) -> std::result::Result<String, Failed> {
    *lines += 1;
    if *lines > MAX_HEADER_LINES {
        return Err(malformed(
            proxy,
            format_args!("a header of over {MAX_HEADER_LINES} lines"),
        ));
    }
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        s.read_exact(&mut byte)?;
        if byte[0] == b'\n' {
            break;
        }
        if line.len() == MAX_HEADER_LINE {
            return Err(malformed(
                proxy,
                format_args!("a header line of over {MAX_HEADER_LINE} bytes"),
            ));
        }
        line.push(byte[0]);
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(String::from_utf8_lossy(&line).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::tests::MockStream;

    fn proxy(url: &str) -> Proxy {
        Proxy::parse(url, "--proxy").unwrap()
    }

    /// What the protocol above got (a success), or the exit status and message of a failure
    /// (0 for an I/O error, with its kind).
    type Outcome = std::result::Result<Vec<u8>, (u8, String)>;

    /// The handshake against a proxy that sends `reply` a byte at a time: what was sent,
    /// and how it ended (an error as its exit status and message). What follows the reply
    /// must be left for the protocol above: it is read back after a success.
    fn exchange(url: &str, dest: Dest<'_>, reply: &[u8]) -> (Vec<u8>, Outcome) {
        let p = proxy(url);
        let mut s = MockStream::new(reply, 1);
        let done = match p.kind {
            ProxyKind::Http => http_connect(&mut s, &p, dest),
            _ => socks5_connect(&mut s, &p, dest),
        };
        let outcome = match done {
            Ok(()) => {
                let mut rest = Vec::new();
                s.read_to_end(&mut rest).unwrap();
                Ok(rest)
            }
            Err(Failed::Said(e, _)) => Err((e.exit_code(), e.message().to_string())),
            Err(Failed::Io(e)) => Err((0, format!("io: {:?}", e.kind()))),
        };
        (s.written.clone(), outcome)
    }

    const POP: Dest<'static> = Dest::Name("pop.example", 110);

    #[test]
    fn proxy_urls_parse_as_curl_takes_them() {
        let p = proxy("socks5h://u%40x:p%3Aw@proxy.example:1081");
        assert_eq!(p.kind, ProxyKind::Socks5h);
        assert_eq!((p.host.as_str(), p.port), ("proxy.example", 1081));
        assert_eq!(p.user.as_deref(), Some("u@x"));
        assert_eq!(p.password.as_deref(), Some("p:w"));
        // No scheme is http, no port 1080; an IPv6 literal in brackets; port 80 kept.
        let p = proxy("proxy.example");
        assert_eq!((p.kind, p.port), (ProxyKind::Http, 1080));
        let p = proxy("SOCKS5://[::1]");
        assert_eq!(
            (p.kind, p.host.as_str(), p.port),
            (ProxyKind::Socks5, "::1", 1080)
        );
        assert_eq!(proxy("http://h:80").port, 80);
        assert_eq!(proxy("http://h:80/").to_string(), "HTTP proxy h:80");
        // Named without the login, in messages and in Debug.
        let p = proxy("socks5h://user:hunter2@[::1]:9050");
        assert_eq!(p.to_string(), "SOCKS5 proxy [::1]:9050");
        assert!(!format!("{p:?}").contains("hunter2"));
    }

    #[test]
    fn malformed_proxy_urls_are_usage_errors_without_the_password() {
        for (url, says) in [
            (
                "https://u:hunter2@h:443",
                "https:// proxies are not supported",
            ),
            ("socks4://u:hunter2@h", "SOCKS4 is not supported"),
            ("ftp://u:hunter2@h", "unknown proxy scheme"),
            ("http://u:hunter2@h/path", "no path"),
            ("http://u:hunter2@", "hunter"),
            ("http://u:hunter2@h:99999", "invalid port"),
            ("http://u:hunter2%0d%0aX@h", "CR, LF and NUL"),
            ("http://u:hunter2@h\r\n", "control characters"),
            ("u:hunter2@h:99999", "invalid port"),
            // Found by fuzzing: the url crate's IDNA adapter asserted (debug builds).
            ("http://u:hunter2@PROXY.Bücher.example", "xn-- form"),
        ] {
            let e = Proxy::parse(url, "ALL_PROXY").unwrap_err();
            assert_eq!(e.exit_code(), 64, "{url}");
            let m = e.message();
            assert!(m.starts_with("ALL_PROXY: "), "{m}");
            if says != "hunter" {
                assert!(m.contains(says), "{url}: {m}");
            }
            assert!(!m.contains("hunter2"), "{m}");
        }
        let long = format!("socks5://{}:p@h", "u".repeat(256));
        let e = Proxy::parse(&long, "--proxy").unwrap_err();
        assert!(e.message().contains("at most 255 bytes"), "{e}");
        // HTTP has no such limit.
        assert!(Proxy::parse(&long.replace("socks5", "http"), "--proxy").is_ok());
    }

    #[test]
    fn no_proxy_matches_names_domains_and_networks() {
        let np = NoProxy::parse("example.com, .corp.test  10.0.0.0/8,::1,[fe80::1]");
        for host in [
            "example.com",
            "MAIL.example.com",
            "a.b.corp.test",
            "corp.test",
            "10.2.3.4",
            "::1",
            "fe80::1",
        ] {
            assert!(np.matches(host), "{host}");
        }
        for host in [
            "notexample.com",
            "example.com.evil",
            "11.0.0.1",
            "127.0.0.1",
            "::2",
            "test",
        ] {
            assert!(!np.matches(host), "{host}");
        }
        assert!(NoProxy::parse("*").matches("anything"));
        assert!(NoProxy::parse("a,*").matches("b"));
        assert!(!NoProxy::parse("").matches("a"));
        assert!(NoProxy::parse("127.0.0.1/0").matches("1.2.3.4"));
    }

    fn env(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    fn routed(p: &Proxies, scheme: Scheme, host: &str) -> Option<String> {
        p.route(scheme, host).unwrap().map(|p| format!("{p:?}"))
    }

    #[test]
    fn the_environment_is_read_as_curl_reads_it() {
        let vars = env(&[
            ("ftp_proxy", "socks5h://f:1"),
            ("FTP_PROXY", "socks5h://upper:1"),
            ("SMTP_PROXY", "http://s:2"),
            ("ALL_PROXY", "socks5://all:3"),
            ("NO_PROXY", "skip.example"),
            ("imap_proxy", ""),
        ]);
        let p = Proxies::new(None, None, &vars).unwrap();
        assert_eq!(
            routed(&p, Scheme::Ftp, "h").unwrap(),
            "Proxy(socks5h://f:1)"
        );
        assert_eq!(routed(&p, Scheme::Smtp, "h").unwrap(), "Proxy(http://s:2)");
        // ftps has a variable of its own; an empty one is not set.
        assert_eq!(
            routed(&p, Scheme::Ftps, "h").unwrap(),
            "Proxy(socks5://all:3)"
        );
        assert_eq!(
            routed(&p, Scheme::Imap, "h").unwrap(),
            "Proxy(socks5://all:3)"
        );
        assert_eq!(routed(&p, Scheme::Ftp, "a.skip.example"), None);
        // --proxy wins over the environment, "" turns it off; --noproxy over NO_PROXY.
        let p = Proxies::new(Some("http://given:4"), Some("h"), &vars).unwrap();
        assert_eq!(
            routed(&p, Scheme::Ftp, "skip.example").unwrap(),
            "Proxy(http://given:4)"
        );
        assert_eq!(routed(&p, Scheme::Ftp, "h"), None);
        let p = Proxies::new(Some(""), None, &vars).unwrap();
        assert_eq!(routed(&p, Scheme::Ftp, "h"), None);
        let p = Proxies::new(None, Some("*"), &vars).unwrap();
        assert_eq!(routed(&p, Scheme::Smtp, "h"), None);
        // A malformed variable is said when a target would use it, not before.
        let p = Proxies::new(
            None,
            None,
            env(&[("pop3_proxy", "socks4://x"), ("all_proxy", "x")]),
        )
        .unwrap();
        let e = p.route(Scheme::Pop3, "h").unwrap_err();
        assert_eq!(e.exit_code(), 64);
        assert!(
            e.message().starts_with("pop3_proxy: socks4://x: SOCKS4"),
            "{e}"
        );
        assert_eq!(
            routed(&p, Scheme::Imap, "h").unwrap(),
            "Proxy(http://x:1080)"
        );
        assert_eq!(
            Proxies::new(Some("socks4://x"), None, env(&[]))
                .unwrap_err()
                .exit_code(),
            64
        );
    }

    #[test]
    fn https_urls_take_https_proxy_then_all_proxy() {
        let https =
            |p: &Proxies, host: &str| p.route_https(host).unwrap().map(|p| format!("{p:?}"));
        let vars = env(&[
            ("HTTPS_PROXY", "socks5h://upper:1"),
            ("https_proxy", "http://lower:2"),
            ("ALL_PROXY", "socks5://all:3"),
            ("NO_PROXY", "direct.example"),
        ]);
        let p = Proxies::new(None, None, &vars).unwrap();
        assert_eq!(https(&p, "login.example").unwrap(), "Proxy(http://lower:2)");
        assert_eq!(https(&p, "a.direct.example"), None);
        // Not a mail scheme's: pop3:// takes ALL_PROXY.
        assert_eq!(
            routed(&p, Scheme::Pop3, "h").unwrap(),
            "Proxy(socks5://all:3)"
        );
        let p = Proxies::new(None, None, env(&[("all_proxy", "socks5h://all:3")])).unwrap();
        assert_eq!(https(&p, "h").unwrap(), "Proxy(socks5h://all:3)");
        // --proxy wins, "" is none; a malformed variable is 64 once used.
        let p = Proxies::new(Some("socks5h://given:4"), None, &vars).unwrap();
        assert_eq!(https(&p, "h").unwrap(), "Proxy(socks5h://given:4)");
        let p = Proxies::new(Some(""), None, &vars).unwrap();
        assert_eq!(https(&p, "h"), None);
        let p = Proxies::new(None, None, env(&[("https_proxy", "socks4://x")])).unwrap();
        let e = p.route_https("h").unwrap_err();
        assert!(e.message().starts_with("https_proxy: socks4://x: "), "{e}");
        assert_eq!(https(&Proxies::default(), "h"), None);
    }

    #[test]
    fn socks5_connects_by_name_and_leaves_the_servers_bytes() {
        let (sent, got) = exchange(
            "socks5h://p",
            POP,
            b"\x05\x00\x05\x00\x00\x01\x7f\x00\x00\x01\x04\x38+OK ready\r\n",
        );
        let mut want = b"\x05\x01\x00\x05\x01\x00\x03\x0bpop.example\x00\x6e".to_vec();
        assert_eq!(sent, want);
        assert_eq!(got.unwrap(), b"+OK ready\r\n");
        // An address resolved here; a bound address given as a name, or IPv6.
        let ip = Dest::Ip("192.0.2.1".parse().unwrap(), 25);
        let (sent, got) = exchange(
            "socks5://p",
            ip,
            b"\x05\x00\x05\x00\x00\x03\x03abc\x00\x19220",
        );
        assert_eq!(&sent[3..], b"\x05\x01\x00\x01\xc0\x00\x02\x01\x00\x19");
        assert_eq!(got.unwrap(), b"220");
        let v6 = Dest::Ip("::1".parse().unwrap(), 25);
        let mut reply = b"\x05\x00\x05\x00\x00\x04".to_vec();
        reply.extend_from_slice(&[0; 18]);
        let (sent, got) = exchange("socks5://p", v6, &reply);
        want = b"\x05\x01\x00\x04".to_vec();
        want.extend_from_slice(&[0; 15]);
        want.extend_from_slice(&[1, 0, 25]);
        assert_eq!(&sent[3..], want);
        assert_eq!(got.unwrap(), b"");
    }

    #[test]
    fn socks5_logs_in_with_the_urls_user_and_password() {
        let (sent, got) = exchange(
            "socks5h://al%20ice:s3cret@p",
            POP,
            b"\x05\x02\x01\x00\x05\x00\x00\x01\0\0\0\0\0\0",
        );
        assert!(
            sent.starts_with(b"\x05\x02\x00\x02\x01\x06al ice\x06s3cret\x05\x01"),
            "{sent:?}"
        );
        assert!(got.is_ok());
        // A refused login is 77, without the password.
        let (_, got) = exchange("socks5h://u:s3cret@p", POP, b"\x05\x02\x01\x01");
        let (code, m) = got.unwrap_err();
        assert_eq!(code, 77);
        assert_eq!(
            m,
            "SOCKS5 proxy p:1080: the proxy refused the user name and password (status 1)"
        );
        // A proxy that wants a login we do not have: 77, saying how to give one.
        let (_, got) = exchange("socks5h://p", POP, b"\x05\xff");
        let (code, m) = got.unwrap_err();
        assert_eq!(code, 77);
        assert!(m.contains("requires a login"), "{m}");
        // One that wants neither: 69.
        assert_eq!(
            exchange("socks5h://u:p@p", POP, b"\x05\xff")
                .1
                .unwrap_err()
                .0,
            69
        );
    }

    #[test]
    fn socks5_refusals_are_said_in_words() {
        for (rep, code, words) in [
            (1, 75, "general SOCKS server failure"),
            (2, 69, "connection not allowed by ruleset"),
            (4, 75, "host unreachable"),
            (5, 75, "connection refused"),
            (8, 69, "address type not supported"),
        ] {
            let (_, got) = exchange("socks5h://p:1", POP, &[5, 0, 5, rep]);
            let (c, m) = got.unwrap_err();
            assert_eq!(c, code, "{m}");
            assert_eq!(
                m,
                format!(
                    "SOCKS5 proxy p:1: cannot reach pop.example:110: {words}{} (SOCKS5 reply {rep})",
                    if rep == 8 {
                        " (does it resolve names? socks5:// resolves them here)"
                    } else {
                        ""
                    }
                )
            );
        }
    }

    #[test]
    fn hostile_socks5_replies_are_protocol_errors() {
        for (reply, says) in [
            // Not SOCKS5 at all: an HTTP proxy answering.
            (
                &b"HTTP/1.1 400 Bad Request\r\n"[..],
                "not SOCKS5 (it began \"HT\"",
            ),
            (b"\x04\x00", "not SOCKS5"),
            // A method never offered.
            (b"\x05\x02", "it chose method 2, not offered"),
            (b"\x05\x00\x04\x00", "not SOCKS5"),
            (b"\x05\x00\x05\x09", "unknown reply code 9"),
            (b"\x05\x00\x05\x00\x01\x01", "reserved byte 0x01"),
            // An address type that does not exist.
            (
                b"\x05\x00\x05\x00\x00\x02\0\0\0\0\0\0",
                "unknown address type 2",
            ),
        ] {
            let (_, got) = exchange("socks5h://p", POP, reply);
            let (code, m) = got.unwrap_err();
            assert_eq!(code, 76, "{m}");
            assert!(
                m.starts_with("SOCKS5 proxy p:1080: malformed reply from the proxy: "),
                "{m}"
            );
            assert!(m.contains(says), "{m}");
        }
        // A reply cut short is the connection's end, never a success.
        let (_, got) = exchange("socks5h://p", POP, b"\x05\x00\x05\x00\x00\x01\x7f\x00");
        assert_eq!(got.unwrap_err().1, "io: UnexpectedEof");
    }

    #[test]
    fn http_connect_tunnels_with_basic_auth() {
        let (sent, got) = exchange(
            "http://Aladdin:open%20sesame@p:3128",
            POP,
            b"HTTP/1.1 200 Connection established\r\nVia: x\r\n\r\n+OK ready\r\n",
        );
        assert_eq!(
            String::from_utf8(sent).unwrap(),
            "CONNECT pop.example:110 HTTP/1.1\r\nHost: pop.example:110\r\n\
             Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n\r\n"
        );
        assert_eq!(got.unwrap(), b"+OK ready\r\n");
        // An IPv6 target in brackets; interim replies and bare LFs are passed over.
        let v6 = Dest::Ip("::1".parse().unwrap(), 993);
        let (sent, got) = exchange(
            "http://p",
            v6,
            b"HTTP/1.1 100 Continue\n\nHTTP/1.0 200\n\n* OK",
        );
        assert!(sent.starts_with(b"CONNECT [::1]:993 HTTP/1.1\r\nHost: [::1]:993\r\n\r\n"));
        assert_eq!(got.unwrap(), b"* OK");
    }

    #[test]
    fn http_refusals_say_the_status_line() {
        for (url, status, code, says) in [
            (
                "http://p",
                "HTTP/1.1 407 Proxy Authentication Required",
                77,
                "requires a login",
            ),
            (
                "http://u:pw@p",
                "HTTP/1.0 401 Unauthorized",
                77,
                "refused the user name and password",
            ),
            (
                "http://u:pw@p",
                "HTTP/1.1 407 Proxy Authentication Required",
                77,
                "refused the user name and password",
            ),
            (
                "http://p",
                "HTTP/1.0 403 Access violation",
                69,
                "CONNECT pop.example:110 refused",
            ),
            (
                "http://p",
                "HTTP/1.0 500 Unable to connect",
                75,
                "CONNECT pop.example:110 refused",
            ),
            ("http://p", "HTTP/1.1 302 Found", 76, "refused"),
        ] {
            let reply = format!("{status}\r\nProxy-Authenticate: Basic\r\n\r\n<html>");
            let (_, got) = exchange(url, POP, reply.as_bytes());
            let (c, m) = got.unwrap_err();
            assert_eq!(c, code, "{m}");
            assert!(m.starts_with("HTTP proxy p:1080: "), "{m}");
            assert!(
                m.contains(says) && m.contains(&format!("\"{status}\"")),
                "{m}"
            );
        }
        // The status line is shown with its control characters made visible.
        let (_, got) = exchange("http://p", POP, b"HTTP/1.1 403 \x1b[2Jno\r\n\r\n");
        assert!(got.unwrap_err().1.contains("403 \\x1b[2Jno"));
    }

    #[test]
    fn hostile_http_replies_are_bounded_and_strict() {
        let long = format!(
            "HTTP/1.1 200 OK\r\nX: {}\r\n\r\n",
            "a".repeat(MAX_HEADER_LINE)
        );
        let many = format!(
            "HTTP/1.1 200 OK\r\n{}\r\n",
            "X: y\r\n".repeat(MAX_HEADER_LINES)
        );
        let interim = "HTTP/1.1 100 Continue\r\n\r\n".repeat(MAX_HEADER_LINES);
        for (reply, says) in [
            (long.as_str(), "a header line of over 8192 bytes"),
            (many.as_str(), "a header of over 100 lines"),
            (interim.as_str(), "a header of over 100 lines"),
            ("\x05\x00\n", "\"\\x05\\x00"),
            ("HTTP/2 200\r\n\r\n", "\"HTTP/2 200\""),
            ("HTTP/1.1 20 OK\r\n\r\n", "\"HTTP/1.1 20 OK\""),
            ("HTTP/1.1 2000\r\n\r\n", "\"HTTP/1.1 2000\""),
        ] {
            let (_, got) = exchange("http://p", POP, reply.as_bytes());
            let (code, m) = got.unwrap_err();
            assert_eq!(code, 76, "{m}");
            assert!(
                m.starts_with("HTTP proxy p:1080: malformed reply from the proxy: "),
                "{m}"
            );
            assert!(m.contains(says), "{m}");
        }
        // A header section that never ends is the connection's end, not a tunnel.
        let (_, got) = exchange("http://p", POP, b"HTTP/1.1 200 OK\r\nX: y\r\n");
        assert_eq!(got.unwrap_err().1, "io: UnexpectedEof");
    }
}
