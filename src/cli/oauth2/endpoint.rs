//! The token endpoint and the device authorization endpoint (RFC 6749 section 3.2, RFC 8628
//! section 3.1): a form POSTed over HTTPS, a JSON object back. Through ureq on the run's own
//! rustls configuration, so that `--cacert` and `--pin` (and `--insecure`) apply here as
//! they do to the mail server; never redirected (a redirect could carry the refresh token
//! elsewhere); every call within `--timeout` and what is left of `--max-time`; an answer of
//! at most [`MAX_BODY`] bytes. An https:// endpoint is reached through the proxy a mail
//! server of that host would be (`--proxy`, else `https_proxy` or `all_proxy`, less
//! `--noproxy` or `NO_PROXY`), by our own [`proxy`] code: ureq connects to the proxy (its
//! [`Resolver`](ureq::Resolver) gives the proxy's addresses), and its
//! [`TlsConnector`](ureq::TlsConnector) makes the tunnel on that connection before TLS.

use crate::error::{Error, Kind, Result, io_reason};
use crate::net::proxy::{self, Proxy};
use crate::net::stream::LimitReached;
use crate::net::tls::TlsContext;
use crate::net::{ConnectOptions, Family};
use crate::wire::printable;
use serde_json::{Map, Value};
use std::io::{self, Read};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The most an endpoint's answer may hold: a token answer is a few KiB (Microsoft's access
/// tokens run to 2-3 KiB).
pub const MAX_BODY: u64 = 64 * 1024;

/// How much of an endpoint's error text a message quotes.
const MAX_SAID: usize = 300;

/// An endpoint's URL, checked: `https://`, or `http://` to a loopback address literal
/// (127.0.0.1, `[::1]`), which never leaves the machine (what tests and a local helper use).
pub fn check_url(flag: &str, url: &str) -> Result<String> {
    let bad = |why: &str| Error::new(Kind::Usage, format!("{flag} {}: {why}", printable(url)));
    let after_scheme = url.split_once(':').map_or("", |(_, rest)| rest);
    crate::net::url::check_host(after_scheme).map_err(|why| bad(&why))?;
    let parsed = url::Url::parse(url).map_err(|e| bad(&format!("not a URL ({e})")))?;
    if let Some(url::Host::Domain(d)) = parsed.host() {
        crate::net::url::check_labels(d).map_err(|why| bad(&why))?;
    }
    let loopback = matches!(
        parsed.host(),
        Some(url::Host::Ipv4(a)) if a.is_loopback()
    ) || matches!(parsed.host(), Some(url::Host::Ipv6(a)) if a.is_loopback());
    match parsed.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => {
            return Err(bad(
                "must be an https:// URL (http:// only to 127.0.0.1 or [::1])",
            ));
        }
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad("a URL with a user or password is not taken"));
    }
    Ok(url.to_string())
}

/// What an endpoint answered. Its Debug shows a grant's keys, never their values (tokens).
#[derive(Clone)]
pub enum Answer {
    /// 200 with a JSON object.
    Granted(Map<String, Value>),
    /// An OAuth2 error (RFC 6749 section 5.2): its `error` code and `error_description`, as
    /// sent (shown only through [`Refusal`]'s escaping).
    Refused(Refusal),
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Answer::Granted(m) => f
                .debug_tuple("Granted")
                .field(&m.keys().collect::<Vec<_>>())
                .finish(),
            Answer::Refused(r) => f.debug_tuple("Refused").field(r).finish(),
        }
    }
}

/// An endpoint's error answer.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub status: u16,
    pub error: String,
    pub description: Option<String>,
}

impl Refusal {
    /// `invalid_grant: AADSTS70008: The refresh token has expired...`, control characters
    /// visible, at most a few hundred characters, none of `secrets`.
    pub fn said(&self, secrets: &[&str]) -> String {
        let mut said = self.error.clone();
        if let Some(d) = &self.description {
            said.push_str(": ");
            said.push_str(d);
        }
        shown(&said, secrets)
    }
}

/// The HTTPS client of a run.
pub struct Endpoint {
    tls: Arc<rustls::ClientConfig>,
    /// The run's timeouts, `--max-time`, `-4`/`-6` and proxies.
    net: ConnectOptions,
}

impl Endpoint {
    /// A client with `tls`'s trust and `net`'s limits and proxies: the connect timeout
    /// bounds the connection (TCP, the proxy's tunnel and TLS), the idle timeout the whole
    /// exchange after it, `--max-time` all of it.
    pub fn new(tls: &TlsContext, net: &ConnectOptions) -> Endpoint {
        Endpoint {
            tls: tls.client_config(),
            net: net.clone(),
        }
    }

    /// An agent for one call to `url` (`what`), and the proxy it goes through. One per
    /// call: the tunnel is made for the URL's host and port, within the call's deadlines.
    fn agent(&self, what: &str, url: &str) -> Result<(ureq::Agent, Option<Proxy>)> {
        let (connect, total) = self.limits(what)?;
        let builder = ureq::AgentBuilder::new()
            .timeout_connect(connect)
            .timeout(total)
            .redirects(0)
            .user_agent(concat!("posthaste/", env!("CARGO_PKG_VERSION")));
        let parsed = url::Url::parse(url)
            .map_err(|e| Error::new(Kind::Usage, format!("{}: {e}", printable(url))))?;
        let host = match parsed.host() {
            Some(url::Host::Domain(d)) => d.to_string(),
            Some(url::Host::Ipv4(a)) => a.to_string(),
            Some(url::Host::Ipv6(a)) => a.to_string(),
            None => String::new(),
        };
        // http:// is only ever a loopback literal: this machine, which a proxy's own
        // loopback is not.
        let proxy = match parsed.scheme() {
            "https" => self.net.proxies.route_https(&host)?.cloned(),
            _ => None,
        };
        let Some(proxy) = proxy else {
            return Ok((builder.tls_config(self.tls.clone()).build(), None));
        };
        let tunnel = Tunnel {
            proxy: proxy.clone(),
            target: (host, parsed.port_or_known_default().unwrap_or(443)),
            net: self.net.clone(),
            deadline: Instant::now() + connect,
            tls: self.tls.clone(),
        };
        let agent = builder
            .resolver(ToProxy {
                proxy: proxy.clone(),
                family: self.net.family,
            })
            .tls_connector(Arc::new(tunnel))
            .build();
        Ok((agent, Some(proxy)))
    }

    /// The connect timeout and the whole call's, both cut to what is left of `--max-time`
    /// (an error once nothing is).
    fn limits(&self, what: &str) -> Result<(Duration, Duration)> {
        if let Some(over) = self.over_time(what) {
            return Err(over);
        }
        let connect = self.net.connect_timeout;
        let total = connect + self.net.idle_timeout;
        Ok(match self.net.max_time {
            None => (connect, total),
            Some(m) => (connect.min(m.left()), total.min(m.left())),
        })
    }

    /// The error of a call that `--max-time` ended, if it has passed.
    fn over_time(&self, what: &str) -> Option<Error> {
        let max = self.net.max_time.filter(|m| m.left().is_zero())?;
        Some(Error::network(
            what,
            LimitReached::MaxTime(max.total).into_io(),
        ))
    }

    /// POSTs `form` to `url` (`what` names it in messages, `secrets` are hidden in whatever
    /// is quoted back). A network failure is 75 (a name that does not resolve 68), a TLS
    /// failure 76; a server error (5xx) 75; an answer that is neither a JSON object nor an
    /// OAuth2 error 76; a call `--max-time` ended 75, saying so.
    pub fn post(
        &self,
        what: &str,
        url: &str,
        form: &[(&str, &str)],
        secrets: &[&str],
    ) -> Result<Answer> {
        let (agent, proxy) = self.agent(what, url)?;
        let sent = agent
            .post(url)
            .set("Accept", "application/json")
            .send_form(form);
        let response = match sent {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            // Ours (the proxy's) first: it says which limit ended the wait, and where.
            Err(ureq::Error::Transport(t)) => {
                return Err(carried_error(what, &t)
                    .or_else(|| self.over_time(what))
                    .unwrap_or_else(|| transport_error(what, &t, proxy.as_ref(), secrets)));
            }
        };
        let status = response.status();
        let mut body = Vec::new();
        response
            .into_reader()
            .take(MAX_BODY + 1)
            .read_to_end(&mut body)
            .map_err(|e| match self.over_time(what) {
                Some(over) => over,
                None => Error::new(
                    Kind::TempFail,
                    format!("{what}: the answer broke off: {}", io_reason(&e)),
                ),
            })?;
        if body.len() as u64 > MAX_BODY {
            return Err(Error::new(
                Kind::Protocol,
                format!("{what}: the answer is longer than {MAX_BODY} bytes"),
            ));
        }
        decode(what, status, &body, secrets)
    }
}

/// ureq's resolver when a proxy is used: whatever the host, the proxy's addresses (`-4`
/// and `-6` apply), which ureq connects to in turn.
struct ToProxy {
    proxy: Proxy,
    family: Family,
}

impl ureq::Resolver for ToProxy {
    fn resolve(&self, _netloc: &str) -> io::Result<Vec<SocketAddr>> {
        crate::net::resolve(&self.proxy.host, self.proxy.port, self.family).map_err(|e| {
            let message = format!("{} {}", proxy::kind_name(&self.proxy), e.message());
            carried(e.with_message(message))
        })
    }
}

/// ureq's TLS connector when a proxy is used: the tunnel to the endpoint on ureq's
/// connection to the proxy (SOCKS5 or CONNECT, [`proxy::connect_over`]), then TLS with
/// the endpoint through it.
struct Tunnel {
    proxy: Proxy,
    target: (String, u16),
    net: ConnectOptions,
    /// The connect phase's end.
    deadline: Instant,
    tls: Arc<rustls::ClientConfig>,
}

impl ureq::TlsConnector for Tunnel {
    fn connect(
        &self,
        dns_name: &str,
        io: Box<dyn ureq::ReadWrite>,
    ) -> std::result::Result<Box<dyn ureq::ReadWrite>, ureq::Error> {
        let tcp = io
            .socket()
            .ok_or_else(|| io::Error::other("no socket to the proxy"))?
            .try_clone()?;
        drop(io);
        let (host, port) = (self.target.0.as_str(), self.target.1);
        let tcp = proxy::connect_over(&self.proxy, (host, port), &self.net, self.deadline, tcp)
            .map_err(carried)?;
        self.tls.connect(dns_name, Box::new(tcp))
    }
}

/// Our error through ureq's: an `io::Error` that holds it, which [`carried_error`] finds
/// again.
fn carried(e: Error) -> io::Error {
    io::Error::other(e)
}

/// An endpoint's answer, from its status and body.
pub(crate) fn decode(what: &str, status: u16, body: &[u8], secrets: &[&str]) -> Result<Answer> {
    let object = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Some(m),
        _ => None,
    };
    if let Some(m) = &object {
        if let Some(Value::String(error)) = m.get("error") {
            if status == 200 || (400..500).contains(&status) {
                let description = m
                    .get("error_description")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                return Ok(Answer::Refused(Refusal {
                    status,
                    error: error.clone(),
                    description,
                }));
            }
        }
    }
    match (status, object) {
        (200, Some(m)) => Ok(Answer::Granted(m)),
        (500..=599, _) => Err(Error::new(
            Kind::TempFail,
            format!("{what}: the server failed (HTTP {status}); try again later"),
        )),
        // A 200 that is no JSON object may still carry a fresh token (a body cut short):
        // it is never quoted.
        (200, None) => Err(Error::new(
            Kind::Protocol,
            format!(
                "{what}: an answer that is no OAuth2 answer (HTTP 200, {} bytes that are no JSON object)",
                body.len()
            ),
        )),
        (_, _) => {
            // The known secrets replaced in the whole text before it is cut ([`shown`]), so
            // that none is shown in part.
            let text = String::from_utf8_lossy(body).into_owned();
            Err(Error::new(
                Kind::Protocol,
                format!(
                    "{what}: an answer that is no OAuth2 answer (HTTP {status}): {}",
                    shown(&text, secrets)
                ),
            ))
        }
    }
}

/// `text` as a message quotes it: `secrets` replaced by `****`, control characters
/// visible, cut after a few hundred characters.
pub fn shown(text: &str, secrets: &[&str]) -> String {
    let mut text = text.to_string();
    for s in secrets.iter().filter(|s| !s.is_empty()) {
        text = text.replace(s, "****");
    }
    let mut out = printable(&text);
    if out.chars().count() > MAX_SAID {
        out = out.chars().take(MAX_SAID).collect::<String>() + "...";
    }
    out
}

/// The error behind `t` if it is ours, from our resolver or tunnel ([`carried`]).
fn carried_error(what: &str, t: &ureq::Transport) -> Option<Error> {
    let ours = io_source(t)?.get_ref()?.downcast_ref::<Error>()?;
    Some(
        Error::new(ours.kind(), format!("{what}: {}", ours.message()))
            .transient(ours.is_transient()),
    )
}

fn io_source(t: &ureq::Transport) -> Option<&io::Error> {
    std::error::Error::source(t)?.downcast_ref::<io::Error>()
}

/// The error of a call ureq could not make; a failed connect to the proxy names the proxy.
fn transport_error(
    what: &str,
    t: &ureq::Transport,
    proxy: Option<&Proxy>,
    secrets: &[&str],
) -> Error {
    let io = io_source(t);
    if let (Some(p), Some(e), ureq::ErrorKind::ConnectionFailed) = (proxy, io, t.kind()) {
        if t.message() == Some("Connect error") {
            let (kind, why) = match e.kind() {
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
                    (Kind::Timeout, "connection timed out".to_string())
                }
                _ => (Kind::TempFail, format!("cannot connect: {}", io_reason(e))),
            };
            return Error::new(kind, format!("{what}: {p}: {why}"));
        }
    }
    let kind = match t.kind() {
        ureq::ErrorKind::Dns => Kind::NoHost,
        ureq::ErrorKind::InvalidUrl | ureq::ErrorKind::UnknownScheme => Kind::Usage,
        _ => Kind::TempFail,
    };
    // ureq's text starts with the URL, which `what` names already.
    let text = t.to_string();
    let text = match t.url() {
        Some(u) => text.strip_prefix(&format!("{u}: ")).unwrap_or(&text),
        None => &text,
    };
    let said = shown(text, secrets);
    // rustls's refusals come as I/O errors: a certificate problem is no network trouble.
    if said.contains("certificate") {
        return Error::new(
            Kind::Tls,
            format!("{what}: {said} (--cacert FILE trusts the CA that signed it)"),
        );
    }
    Error::new(kind, format!("{what}: {said}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback_http() {
        assert!(check_url("--x", "https://login.example/token").is_ok());
        assert!(check_url("--x", "http://127.0.0.1:8080/token").is_ok());
        assert!(check_url("--x", "http://[::1]:8080/token").is_ok());
        for bad in [
            "http://login.example/token",
            "http://localhost/token",
            "ftp://127.0.0.1/",
            "https://u:p@login.example/",
            "token",
            // Found by fuzzing (a device endpoint's verification_uri): the url crate's
            // IDNA adapter asserted on upper-case letters beside a non-ASCII one.
            "https://Bücher.example/device",
            "https:LOGIN\u{e9}.example",
            "https://www.goE%E91%og/",
            "https:/\t/LOGIN\u{e9}.example",
        ] {
            let e = check_url("--oauth2-token-endpoint", bad).unwrap_err();
            assert_eq!(e.exit_code(), 64, "{bad}");
            assert!(!e.to_string().contains(":p@") || bad.contains(":p@"));
        }
    }

    #[test]
    fn answers_decoded() {
        let a = decode("t", 200, br#"{"access_token":"x","expires_in":3599}"#, &[]).unwrap();
        assert!(matches!(a, Answer::Granted(m) if m["expires_in"] == 3599));
        let a = decode(
            "t",
            400,
            br#"{"error":"invalid_grant","error_description":"AADSTS70008: expired\u001b[2J rt-1"}"#,
            &["rt-1"],
        )
        .unwrap();
        let Answer::Refused(r) = a else { panic!() };
        assert_eq!(
            r.said(&["rt-1"]),
            "invalid_grant: AADSTS70008: expired\\x1b[2J ****"
        );
        let e = decode("t", 503, b"<html>", &[]).unwrap_err();
        assert_eq!(e.exit_code(), 75);
        // A 200 cut short may carry a fresh token: never quoted.
        let e = decode("t", 200, br#"{"access_token":"fresh-1","refr"#, &[]).unwrap_err();
        assert_eq!(e.exit_code(), 76);
        assert_eq!(
            e.to_string(),
            "t: an answer that is no OAuth2 answer (HTTP 200, 31 bytes that are no JSON object)"
        );
        let e = decode("t", 403, b"<html>secret</html>", &["secret"]).unwrap_err();
        assert_eq!(e.exit_code(), 76);
        assert_eq!(
            e.to_string(),
            "t: an answer that is no OAuth2 answer (HTTP 403): <html>****</html>"
        );
        // A known secret across the place the quote is cut is hidden whole, not in part.
        let long = format!("{}rt-secret-value", "x".repeat(MAX_SAID - 4));
        let e = decode("t", 403, long.as_bytes(), &["rt-secret-value"]).unwrap_err();
        assert!(!e.to_string().contains("rt-s"), "{e}");
        let e = decode("t", 302, b"", &[]).unwrap_err();
        assert_eq!(e.exit_code(), 76);
        // Debug shows a grant's keys only.
        let a = decode("t", 200, br#"{"access_token":"tok-9"}"#, &[]).unwrap();
        assert_eq!(format!("{a:?}"), "Granted([\"access_token\"])");
    }
}
