//! The token endpoint and the device authorization endpoint (RFC 6749 section 3.2, RFC 8628
//! section 3.1): a form POSTed over HTTPS, a JSON object back. Through ureq on the run's own
//! rustls configuration, so that `--cacert` and `--pin` (and `--insecure`) apply here as
//! they do to the mail server; never redirected (a redirect could carry the refresh token
//! elsewhere); every call within `--timeout`; an answer of at most [`MAX_BODY`] bytes.

use crate::error::{Error, Kind, Result};
use crate::net::tls::TlsContext;
use crate::wire::printable;
use serde_json::{Map, Value};
use std::io::Read;
use std::time::Duration;

/// The most an endpoint's answer may hold: a token answer is a few KiB (Microsoft's access
/// tokens run to 2-3 KiB).
pub const MAX_BODY: u64 = 64 * 1024;

/// How much of an endpoint's error text a message quotes.
const MAX_SAID: usize = 300;

/// An endpoint's URL, checked: `https://`, or `http://` to a loopback address literal
/// (127.0.0.1, `[::1]`), which never leaves the machine (what tests and a local helper use).
pub fn check_url(flag: &str, url: &str) -> Result<String> {
    let bad = |why: &str| Error::new(Kind::Usage, format!("{flag} {}: {why}", printable(url)));
    let parsed = url::Url::parse(url).map_err(|e| bad(&format!("not a URL ({e})")))?;
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

/// What an endpoint answered.
#[derive(Debug, Clone)]
pub enum Answer {
    /// 200 with a JSON object.
    Granted(Map<String, Value>),
    /// An OAuth2 error (RFC 6749 section 5.2): its `error` code and `error_description`, as
    /// sent (shown only through [`Refusal`]'s escaping).
    Refused(Refusal),
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
    agent: ureq::Agent,
}

impl Endpoint {
    /// A client with `tls`'s trust; `connect` bounds the connection (TCP and TLS), `reply`
    /// the whole exchange after it.
    pub fn new(tls: &TlsContext, connect: Duration, reply: Duration) -> Endpoint {
        let agent = ureq::AgentBuilder::new()
            .tls_config(tls.client_config())
            .timeout_connect(connect)
            .timeout(connect + reply)
            .redirects(0)
            .user_agent(concat!("posthaste/", env!("CARGO_PKG_VERSION")))
            .build();
        Endpoint { agent }
    }

    /// POSTs `form` to `url` (`what` names it in messages, `secrets` are hidden in whatever
    /// is quoted back). A network failure is 75 (a name that does not resolve 68), a TLS
    /// failure 76; a server error (5xx) 75; an answer that is neither a JSON object nor an
    /// OAuth2 error 76.
    pub fn post(
        &self,
        what: &str,
        url: &str,
        form: &[(&str, &str)],
        secrets: &[&str],
    ) -> Result<Answer> {
        let sent = self
            .agent
            .post(url)
            .set("Accept", "application/json")
            .send_form(form);
        let response = match sent {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(ureq::Error::Transport(t)) => return Err(transport_error(what, &t, secrets)),
        };
        let status = response.status();
        let mut body = Vec::new();
        response
            .into_reader()
            .take(MAX_BODY + 1)
            .read_to_end(&mut body)
            .map_err(|e| {
                Error::new(
                    Kind::TempFail,
                    format!(
                        "{what}: the answer broke off: {}",
                        crate::error::io_reason(&e)
                    ),
                )
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

/// An endpoint's answer, from its status and body.
fn decode(what: &str, status: u16, body: &[u8], secrets: &[&str]) -> Result<Answer> {
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
        (_, _) => {
            let text = String::from_utf8_lossy(&body[..body.len().min(MAX_SAID)]).into_owned();
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

fn transport_error(what: &str, t: &ureq::Transport, secrets: &[&str]) -> Error {
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
        let e = decode("t", 200, b"<html>secret</html>", &["secret"]).unwrap_err();
        assert_eq!(e.exit_code(), 76);
        assert_eq!(
            e.to_string(),
            "t: an answer that is no OAuth2 answer (HTTP 200): <html>****</html>"
        );
        let e = decode("t", 302, b"", &[]).unwrap_err();
        assert_eq!(e.exit_code(), 76);
    }
}
