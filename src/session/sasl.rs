//! SASL (RFC 4422) client mechanisms shared by SMTP AUTH (RFC 4954), POP3 AUTH (RFC 5034) and
//! IMAP AUTHENTICATE (RFC 3501): SCRAM-SHA-256 (RFC 5802, 7677), PLAIN (RFC 4616), LOGIN,
//! CRAM-MD5 (RFC 2195), for OAuth2 access tokens OAUTHBEARER (RFC 7628) and XOAUTH2
//! (Google's and Microsoft's older form), and EXTERNAL (RFC 4422 appendix A: the TLS client
//! certificate says who the user is); and POP3's APOP digest (RFC 1939).
//!
//! The mechanisms only turn challenges into responses, as raw bytes: each protocol base64-codes
//! them on its own lines (`334 `, `+ `), sends responses as secrets (never shown in the
//! transcript), and decides what a final reply means. Which mechanism is used is
//! [`choose`]'s business: the best one the server offers, or the one the user forced.

use crate::error::{Error, Kind, Result};
use crate::session::credentials::Method;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ring::{digest, hmac, pbkdf2};
use std::fmt;
use std::num::NonZeroU32;

/// A SASL mechanism posthaste speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    ScramSha256,
    Plain,
    Login,
    CramMd5,
    XOAuth2,
    External,
    OAuthBearer,
}

/// Token mechanisms, best first: OAUTHBEARER is the standard (RFC 7628), XOAUTH2 what
/// Gmail and Microsoft 365 offered first (and all some servers offer).
const TOKEN_PREFERENCE: &[Mechanism] = &[Mechanism::OAuthBearer, Mechanism::XOAuth2];

/// Password mechanisms, best first: SCRAM never sends the password and proves the server
/// knows it; PLAIN and LOGIN send it (only ever over TLS, by the TLS policy); CRAM-MD5 keeps it
/// off the wire but makes the server store it in the clear, and MD5 is weak.
const PREFERENCE: &[Mechanism] = &[
    Mechanism::ScramSha256,
    Mechanism::Plain,
    Mechanism::Login,
    Mechanism::CramMd5,
];

impl Mechanism {
    /// The name on the wire (`AUTH PLAIN`).
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
            Mechanism::CramMd5 => "CRAM-MD5",
            Mechanism::XOAuth2 => "XOAUTH2",
            Mechanism::External => "EXTERNAL",
            Mechanism::OAuthBearer => "OAUTHBEARER",
        }
    }

    /// A mechanism by its name, in any case (`--auth scram-sha-256`).
    pub fn parse(name: &str) -> Option<Mechanism> {
        [
            Mechanism::ScramSha256,
            Mechanism::Plain,
            Mechanism::Login,
            Mechanism::CramMd5,
            Mechanism::XOAuth2,
            Mechanism::External,
            Mechanism::OAuthBearer,
        ]
        .into_iter()
        .find(|m| m.name().eq_ignore_ascii_case(name))
    }

    /// Every mechanism's name, for help texts and errors.
    pub fn all_names() -> &'static str {
        "SCRAM-SHA-256, PLAIN, LOGIN, CRAM-MD5, XOAUTH2, OAUTHBEARER, EXTERNAL"
    }

    /// Whether it logs in with an OAuth2 access token (and with nothing else).
    pub fn takes_token(self) -> bool {
        TOKEN_PREFERENCE.contains(&self)
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The mechanism to use with a server that offers `offered` (names as the server sent them,
/// any case): `forced` when given (and offered), OAUTHBEARER or else XOAUTH2 when a token is
/// what we have, else the best password mechanism offered. A server that offers nothing usable is an error of kind
/// `Unavailable` (exit 69) that lists what it offered.
pub fn choose(offered: &[&str], forced: Option<Mechanism>, have_token: bool) -> Result<Mechanism> {
    let offers = |m: Mechanism| offered.iter().any(|o| o.eq_ignore_ascii_case(m.name()));
    let listed = || {
        if offered.is_empty() {
            "none".to_string()
        } else {
            crate::wire::printable(&offered.join(" "))
        }
    };
    if let Some(m) = forced {
        crate::session::credentials::suits(Method::Sasl(m), have_token)?;
        if offers(m) {
            return Ok(m);
        }
        return Err(Error::new(
            Kind::Unavailable,
            format!("the server does not offer {m} (it offers: {})", listed()),
        ));
    }
    if have_token {
        if let Some(&m) = TOKEN_PREFERENCE.iter().find(|&&m| offers(m)) {
            return Ok(m);
        }
        return Err(Error::new(
            Kind::Unavailable,
            format!(
                "the server offers neither OAUTHBEARER nor XOAUTH2, which an OAuth2 token needs (it offers: {})",
                listed()
            ),
        ));
    }
    PREFERENCE.iter().copied().find(|&m| offers(m)).ok_or_else(|| {
        Error::new(
            Kind::Unavailable,
            format!(
                "the server offers no authentication mechanism posthaste speaks (it offers: {}; \
                 posthaste speaks {})",
                listed(),
                Mechanism::all_names()
            ),
        )
    })
}

/// Where a SCRAM exchange is.
enum Scram {
    /// The client-first message is next.
    Start,
    /// Sent `n,,` + this client-first-message-bare; waiting for server-first.
    SentFirst { bare: String, nonce: String },
    /// Sent the client-final message; the server must prove it knows the password.
    SentFinal { server_signature: Vec<u8> },
    /// The server's signature checked out.
    Verified,
}

enum State {
    Plain { sent: bool },
    Login { step: u8 },
    CramMd5 { done: bool },
    XOAuth2 { sent: bool },
    External { sent: bool },
    OAuthBearer { sent: bool },
    Scram(Scram),
}

/// One authentication exchange: the client side of one mechanism, for one user.
pub struct Exchange {
    mech: Mechanism,
    user: String,
    secret: String,
    state: State,
    /// What the server said about a failure, when it said it inside the exchange (XOAUTH2's
    /// and OAUTHBEARER's JSON error challenge), in words.
    detail: Option<String>,
    /// The server's host and port, which OAUTHBEARER names (RFC 7628 section 3.1).
    server: Option<(String, u16)>,
}

impl fmt::Debug for Exchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Exchange")
            .field("mech", &self.mech)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl Exchange {
    /// An exchange for `user` with `secret`: the password, or for XOAUTH2 the access token.
    /// For EXTERNAL, `user` is the authorization identity (empty for the certificate's) and
    /// `secret` is empty.
    pub fn new(mech: Mechanism, user: &str, secret: &str) -> Exchange {
        let state = match mech {
            Mechanism::Plain => State::Plain { sent: false },
            Mechanism::Login => State::Login { step: 0 },
            Mechanism::CramMd5 => State::CramMd5 { done: false },
            Mechanism::XOAuth2 => State::XOAuth2 { sent: false },
            Mechanism::External => State::External { sent: false },
            Mechanism::OAuthBearer => State::OAuthBearer { sent: false },
            Mechanism::ScramSha256 => State::Scram(Scram::Start),
        };
        Exchange {
            mech,
            user: user.to_string(),
            secret: secret.to_string(),
            state,
            detail: None,
            server: None,
        }
    }

    /// The same exchange, told the server's host and port (`host:port`, an IPv6 literal in
    /// brackets), which OAUTHBEARER sends with the token so that a token meant for one
    /// server cannot be replayed to another that checks.
    pub fn at(mut self, peer: &str) -> Exchange {
        self.server = peer.rsplit_once(':').and_then(|(host, port)| {
            let host = host.trim_start_matches('[').trim_end_matches(']');
            Some((host.to_string(), port.parse().ok()?))
        });
        self
    }

    pub fn mechanism(&self) -> Mechanism {
        self.mech
    }

    /// The response to send with the command itself (`AUTH PLAIN <b64>`, SASL-IR), for the
    /// mechanisms where the client speaks first; `None` for LOGIN and CRAM-MD5, which wait for
    /// the server's challenge. A protocol that cannot send one calls [`Exchange::respond`] with
    /// the server's empty challenge instead.
    pub fn initial_response(&mut self) -> Option<Vec<u8>> {
        match self.mech {
            Mechanism::Login | Mechanism::CramMd5 => None,
            _ => self.respond(b"").ok(),
        }
    }

    /// The response to the server's (base64-decoded) `challenge`.
    pub fn respond(&mut self, challenge: &[u8]) -> Result<Vec<u8>> {
        match &mut self.state {
            State::Plain { sent } => {
                if *sent {
                    return Err(unexpected(self.mech, challenge, &self.secret));
                }
                *sent = true;
                let mut out = Vec::with_capacity(self.user.len() + self.secret.len() + 2);
                out.push(0);
                out.extend_from_slice(self.user.as_bytes());
                out.push(0);
                out.extend_from_slice(self.secret.as_bytes());
                Ok(out)
            }
            State::Login { step } => {
                *step += 1;
                match *step {
                    1 => Ok(self.user.as_bytes().to_vec()),
                    2 => Ok(self.secret.as_bytes().to_vec()),
                    _ => Err(unexpected(self.mech, challenge, &self.secret)),
                }
            }
            State::CramMd5 { done } => {
                if *done || challenge.is_empty() {
                    return Err(unexpected(self.mech, challenge, &self.secret));
                }
                *done = true;
                let mac = hmac_md5(self.secret.as_bytes(), challenge);
                let mut out = self.user.as_bytes().to_vec();
                out.push(b' ');
                out.extend_from_slice(hex(&mac).as_bytes());
                Ok(out)
            }
            State::XOAuth2 { sent } => {
                if *sent {
                    // The server's error, as JSON; the client answers with an empty line
                    // and the server then fails the command.
                    self.detail = Some(token_error(challenge, &self.secret));
                    return Ok(Vec::new());
                }
                *sent = true;
                Ok(
                    format!("user={}\x01auth=Bearer {}\x01\x01", self.user, self.secret)
                        .into_bytes(),
                )
            }
            State::External { sent } => {
                // RFC 4422 appendix A.1: the one message is the authorization identity,
                // empty for the one the certificate names.
                if *sent {
                    return Err(unexpected(self.mech, challenge, &self.secret));
                }
                *sent = true;
                Ok(self.user.as_bytes().to_vec())
            }
            State::OAuthBearer { sent } => {
                if *sent {
                    // RFC 7628 section 3.2.2: the error as JSON, answered with a lone
                    // %x01, after which the server fails the command.
                    self.detail = Some(token_error(challenge, &self.secret));
                    return Ok(vec![0x01]);
                }
                *sent = true;
                // RFC 7628 section 3.1: gs2-header, then kvpairs, each ended by %x01. The
                // user goes in a saslname (RFC 5801: `=` and `,` escaped).
                let mut out = format!("n,a={},\x01", saslname(&self.user));
                if let Some((host, port)) = &self.server {
                    out.push_str(&format!("host={host}\x01port={port}\x01"));
                }
                out.push_str(&format!("auth=Bearer {}\x01\x01", self.secret));
                Ok(out.into_bytes())
            }
            State::Scram(_) => self.scram_step(challenge),
        }
    }

    /// The exchange ended with the server's success reply, carrying `server_final` when the
    /// protocol puts the last server message there (IMAP's `OK [...]` data, or SMTP's `235`
    /// with data). For SCRAM, succeeds only when the server proved it knows the password.
    pub fn finish(&mut self, server_final: Option<&[u8]>) -> Result<()> {
        if let State::Scram(Scram::SentFinal { .. }) = &self.state {
            if let Some(data) = server_final {
                self.scram_step(data)?;
            }
        }
        match &self.state {
            State::Scram(Scram::Verified)
            | State::Plain { sent: true }
            | State::XOAuth2 { sent: true }
            | State::External { sent: true }
            | State::OAuthBearer { sent: true } => Ok(()),
            State::Login { step } if *step >= 2 => Ok(()),
            State::CramMd5 { done: true } => Ok(()),
            State::Scram(_) => Err(Error::new(
                Kind::Protocol,
                "SCRAM-SHA-256: the server accepted the login without proving it knows the \
                 password (no server signature): refusing to trust it",
            )),
            _ => Err(Error::new(
                Kind::Protocol,
                format!(
                    "{}: the server accepted the login before it was sent",
                    self.mech
                ),
            )),
        }
    }

    /// What the server said about a failed login inside the exchange, if anything (XOAUTH2
    /// and OAUTHBEARER send their error as a JSON challenge), in words: worth adding to the
    /// error message.
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }

    fn scram_step(&mut self, challenge: &[u8]) -> Result<Vec<u8>> {
        let State::Scram(state) = &mut self.state else {
            unreachable!("scram_step on another mechanism")
        };
        match state {
            Scram::Start => {
                let nonce = new_nonce()?;
                let bare = format!("n={},r={}", saslname(&self.user), nonce);
                let out = format!("n,,{bare}").into_bytes();
                *state = Scram::SentFirst { bare, nonce };
                Ok(out)
            }
            Scram::SentFirst { bare, nonce } => {
                let server_first = std::str::from_utf8(challenge)
                    .map_err(|_| scram_error("its first message is not UTF-8"))?;
                let first = parse_server_first(server_first, nonce)?;
                let salted = salted_password(self.secret.as_bytes(), &first.salt, first.iterations);
                let without_proof = format!("c=biws,r={}", first.nonce);
                let auth_message = format!("{bare},{server_first},{without_proof}");
                let client_key = hmac_sha256(&salted, b"Client Key");
                let stored_key = digest::digest(&digest::SHA256, &client_key);
                let signature = hmac_sha256(stored_key.as_ref(), auth_message.as_bytes());
                let proof: Vec<u8> = client_key
                    .iter()
                    .zip(signature.iter())
                    .map(|(k, s)| k ^ s)
                    .collect();
                let server_key = hmac_sha256(&salted, b"Server Key");
                let server_signature = hmac_sha256(&server_key, auth_message.as_bytes());
                *state = Scram::SentFinal { server_signature };
                Ok(format!("{without_proof},p={}", B64.encode(proof)).into_bytes())
            }
            Scram::SentFinal { server_signature } => {
                let text = std::str::from_utf8(challenge)
                    .map_err(|_| scram_error("its final message is not UTF-8"))?;
                if let Some(err) = text.strip_prefix("e=") {
                    return Err(Error::new(
                        Kind::Auth,
                        format!(
                            "SCRAM-SHA-256: the server refused the login: {}",
                            quote(err.as_bytes(), &self.secret)
                        ),
                    ));
                }
                let v = text
                    .split(',')
                    .find_map(|a| a.strip_prefix("v="))
                    .ok_or_else(|| scram_error("its final message has no signature (v=)"))?;
                let got = B64
                    .decode(v)
                    .map_err(|_| scram_error("its signature is not base64"))?;
                // Not a secret of ours: a plain comparison leaks nothing worth having.
                if got != *server_signature {
                    return Err(Error::new(
                        Kind::Auth,
                        "SCRAM-SHA-256: the server's signature is wrong: it does not know the \
                         password (an impostor?)",
                    ));
                }
                *state = Scram::Verified;
                Ok(Vec::new())
            }
            Scram::Verified => Err(unexpected(self.mech, challenge, &self.secret)),
        }
    }
}

/// POP3's APOP digest (RFC 1939, 7): the lowercase hex MD5 of the greeting's timestamp
/// (`<...>`, brackets included) followed by the password.
pub fn apop_digest(timestamp: &str, password: &str) -> String {
    use md5::{Digest, Md5};
    let mut h = Md5::new();
    h.update(timestamp.as_bytes());
    h.update(password.as_bytes());
    hex(&h.finalize())
}

/// What the server said inside an exchange, as a message quotes it: decoded, the secret
/// hidden (a server may repeat it, and what a message quotes is no more redacted after),
/// control characters made visible, at most 200 characters of it (a challenge may be a
/// megabyte long).
fn quote(said: &[u8], secret: &str) -> String {
    let said = crate::wire::transcript::redact_bytes(said, secret.as_bytes());
    crate::wire::printable(&String::from_utf8_lossy(&said))
}

/// A token mechanism's error challenge (RFC 7628 section 3.2.2; XOAUTH2's is the same JSON)
/// in words: its `status` (RFC 6750's error code, or an HTTP status as Gmail sends it) said
/// as what it means, and the `scope` the server wants, when given. Not JSON (or no status):
/// quoted as it came. The secret hidden, control characters visible.
fn token_error(challenge: &[u8], secret: &str) -> String {
    let text = quote(challenge, secret);
    let Some(status) = json_string(&text, "status") else {
        return format!("the server says: {text}");
    };
    let meaning = match status.as_str() {
        "invalid_token" | "401" => "the access token is expired, revoked or not for this user",
        "insufficient_scope" | "403" => "the access token does not allow this service (its scope)",
        "invalid_request" | "400" => "the server found the login malformed",
        _ => "the server refused the token",
    };
    let mut said = format!("{meaning} (status {status}");
    if let Some(scope) = json_string(&text, "scope") {
        said.push_str(&format!(", scope needed: {scope}"));
    }
    said.push(')');
    said
}

/// The string value of `key` in the flat JSON object `json` (as RFC 7628's error is), its
/// escapes left as they are: enough to name a status; `None` when it is not there.
fn json_string(json: &str, key: &str) -> Option<String> {
    let at = json.find(&format!("\"{key}\""))? + key.len() + 2;
    let rest = json[at..].trim_start().strip_prefix(':')?.trim_start();
    let rest = rest.strip_prefix('"')?;
    let mut end = None;
    let mut escaped = false;
    for (i, c) in rest.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => {
                end = Some(i);
                break;
            }
            _ => escaped = false,
        }
    }
    Some(rest[..end?].to_string())
}

fn unexpected(mech: Mechanism, challenge: &[u8], secret: &str) -> Error {
    Error::new(
        Kind::Protocol,
        format!(
            "{mech}: unexpected challenge from the server: {}",
            quote(challenge, secret)
        ),
    )
}

fn scram_error(why: &str) -> Error {
    Error::new(
        Kind::Protocol,
        format!("SCRAM-SHA-256: the server's reply is malformed: {why}"),
    )
}

/// A SCRAM user name: `=` and `,` escaped (RFC 5802, 5.1).
fn saslname(user: &str) -> String {
    user.replace('=', "=3D").replace(',', "=2C")
}

fn new_nonce() -> Result<String> {
    let mut raw = [0u8; 18];
    getrandom::fill(&mut raw)
        .map_err(|e| Error::new(Kind::Software, format!("no random numbers for SCRAM: {e}")))?;
    Ok(B64.encode(raw))
}

struct ServerFirst {
    nonce: String,
    salt: Vec<u8>,
    iterations: NonZeroU32,
}

/// The most PBKDF2 iterations a server may ask for: far above any deployment (Dovecot and
/// Cyrus use 4096), low enough that a hostile server cannot stall us for minutes.
const MAX_ITERATIONS: u32 = 1_000_000;

fn parse_server_first(text: &str, client_nonce: &str) -> Result<ServerFirst> {
    if text.starts_with("m=") {
        return Err(scram_error(
            "it asks for an extension (m=) posthaste does not know",
        ));
    }
    let (mut nonce, mut salt, mut iterations) = (None, None, None);
    for attr in text.split(',') {
        if let Some(v) = attr.strip_prefix("r=") {
            nonce = Some(v);
        } else if let Some(v) = attr.strip_prefix("s=") {
            salt = Some(v);
        } else if let Some(v) = attr.strip_prefix("i=") {
            iterations = Some(v);
        }
    }
    let nonce = nonce.ok_or_else(|| scram_error("no nonce (r=)"))?;
    if !nonce.starts_with(client_nonce) || nonce.len() == client_nonce.len() {
        return Err(scram_error("its nonce does not extend ours"));
    }
    if nonce
        .bytes()
        .any(|b| !(0x21..=0x7e).contains(&b) || b == b',')
    {
        return Err(scram_error("its nonce has characters SCRAM does not allow"));
    }
    let salt = B64
        .decode(salt.ok_or_else(|| scram_error("no salt (s=)"))?)
        .map_err(|_| scram_error("its salt is not base64"))?;
    let iterations: u32 = iterations
        .ok_or_else(|| scram_error("no iteration count (i=)"))?
        .parse()
        .map_err(|_| scram_error("its iteration count is not a number"))?;
    if iterations > MAX_ITERATIONS {
        return Err(scram_error("it asks for more than 1,000,000 iterations"));
    }
    let iterations =
        NonZeroU32::new(iterations).ok_or_else(|| scram_error("its iteration count is 0"))?;
    Ok(ServerFirst {
        nonce: nonce.to_string(),
        salt,
        iterations,
    })
}

/// SaltedPassword := Hi(password, salt, i), PBKDF2 with HMAC-SHA-256. The password is used as
/// its UTF-8 bytes (SASLprep maps only non-ASCII spaces and a few rare characters).
fn salted_password(password: &[u8], salt: &[u8], iterations: NonZeroU32) -> [u8; 32] {
    let mut out = [0u8; 32];
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        iterations,
        salt,
        password,
        &mut out,
    );
    out
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    hmac::sign(&key, data).as_ref().to_vec()
}

/// HMAC-MD5 (RFC 2104), for CRAM-MD5.
fn hmac_md5(key: &[u8], data: &[u8]) -> [u8; 16] {
    use md5::{Digest, Md5};
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..16].copy_from_slice(&Md5::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Md5::new();
    inner.update(k.map(|b| b ^ 0x36));
    inner.update(data);
    let mut outer = Md5::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A SCRAM-SHA-256 exchange whose first message went out with `nonce` in place of a
    /// random one, so that a test can answer it (and reproduce RFC 7677's numbers).
    fn scram_sent_first(user: &str, password: &str, nonce: &str) -> Exchange {
        let mut ex = Exchange::new(Mechanism::ScramSha256, user, password);
        ex.initial_response().unwrap();
        let bare = format!("n={user},r={nonce}");
        ex.state = State::Scram(Scram::SentFirst {
            bare,
            nonce: nonce.into(),
        });
        ex
    }

    #[test]
    fn choose_prefers_scram_then_plain() {
        let m = choose(&["login", "PLAIN", "SCRAM-SHA-256"], None, false).unwrap();
        assert_eq!(m, Mechanism::ScramSha256);
        let m = choose(&["LOGIN", "plain", "CRAM-MD5"], None, false).unwrap();
        assert_eq!(m, Mechanism::Plain);
        let m = choose(&["CRAM-MD5", "LOGIN"], None, false).unwrap();
        assert_eq!(m, Mechanism::Login);
        let m = choose(&["CRAM-MD5", "GSSAPI"], None, false).unwrap();
        assert_eq!(m, Mechanism::CramMd5);
    }

    #[test]
    fn choose_never_picks_xoauth2_for_a_password() {
        let e = choose(&["XOAUTH2", "GSSAPI"], None, false).unwrap_err();
        assert_eq!(e.exit_code(), 69);
        assert!(
            e.message().contains("it offers: XOAUTH2 GSSAPI"),
            "{}",
            e.message()
        );
    }

    #[test]
    fn choose_with_a_token_needs_xoauth2() {
        assert_eq!(
            choose(&["PLAIN", "XOAUTH2"], None, true).unwrap(),
            Mechanism::XOAuth2
        );
        let e = choose(&["PLAIN"], None, true).unwrap_err();
        assert_eq!(e.exit_code(), 69);
        assert!(e.message().contains("XOAUTH2"), "{}", e.message());
    }

    #[test]
    fn choose_forced() {
        assert_eq!(
            choose(&["PLAIN", "LOGIN"], Some(Mechanism::Login), false).unwrap(),
            Mechanism::Login
        );
        let e = choose(&["PLAIN"], Some(Mechanism::CramMd5), false).unwrap_err();
        assert_eq!(e.exit_code(), 69);
        assert!(
            e.message().contains("does not offer CRAM-MD5"),
            "{}",
            e.message()
        );
        let e = choose(&["PLAIN"], Some(Mechanism::Plain), true).unwrap_err();
        assert_eq!(e.exit_code(), 64);
        let e = choose(&["XOAUTH2"], Some(Mechanism::XOAuth2), false).unwrap_err();
        assert_eq!(e.exit_code(), 64);
        let e = choose(&[], None, false).unwrap_err();
        assert!(e.message().contains("it offers: none"), "{}", e.message());
    }

    #[test]
    fn choose_shows_hostile_names_visibly() {
        let e = choose(&["X\x1b[31m"], None, false).unwrap_err();
        assert!(!e.message().contains('\x1b'), "{}", e.message());
    }

    #[test]
    fn mechanism_names_round_trip() {
        for m in [
            Mechanism::ScramSha256,
            Mechanism::Plain,
            Mechanism::Login,
            Mechanism::CramMd5,
            Mechanism::XOAuth2,
            Mechanism::OAuthBearer,
            Mechanism::External,
        ] {
            assert_eq!(Mechanism::parse(&m.name().to_lowercase()), Some(m));
        }
        assert_eq!(Mechanism::parse("DIGEST-MD5"), None);
    }

    #[test]
    fn plain() {
        let mut ex = Exchange::new(Mechanism::Plain, "tim", "tanstaaftanstaaf");
        assert_eq!(
            ex.initial_response().unwrap(),
            b"\0tim\0tanstaaftanstaaf".to_vec()
        );
        assert!(ex.respond(b"").is_err());
        ex.finish(None).unwrap();
        // Without an initial response: the first (empty) challenge gets it.
        let mut ex = Exchange::new(Mechanism::Plain, "a", "b");
        assert_eq!(ex.respond(b"").unwrap(), b"\0a\0b".to_vec());
    }

    #[test]
    fn login() {
        let mut ex = Exchange::new(Mechanism::Login, "alice", "s3cret");
        assert_eq!(ex.initial_response(), None);
        assert!(ex.finish(None).is_err());
        assert_eq!(ex.respond(b"Username:").unwrap(), b"alice".to_vec());
        assert_eq!(ex.respond(b"Password:").unwrap(), b"s3cret".to_vec());
        assert!(ex.respond(b"What?").is_err());
        ex.finish(None).unwrap();
    }

    /// RFC 2195's example.
    #[test]
    fn cram_md5_rfc2195() {
        let mut ex = Exchange::new(Mechanism::CramMd5, "tim", "tanstaaftanstaaf");
        assert_eq!(ex.initial_response(), None);
        let r = ex
            .respond(b"<1896.697170952@postoffice.reston.mci.net>")
            .unwrap();
        assert_eq!(
            String::from_utf8(r).unwrap(),
            "tim b913a602c7eda7a495b4e6e7334d3890"
        );
        ex.finish(None).unwrap();
        // One challenge only, and never an empty one (nothing to prove knowledge of).
        assert!(ex.respond(b"<again@host>").is_err());
        let mut ex = Exchange::new(Mechanism::CramMd5, "tim", "tanstaaftanstaaf");
        assert!(ex.respond(b"").is_err());
    }

    #[test]
    fn debug_names_the_mechanism_and_user_never_the_secret() {
        let ex = Exchange::new(Mechanism::CramMd5, "tim", "tanstaaftanstaaf");
        let shown = format!("{ex:?}");
        assert!(
            shown.contains("CramMd5") && shown.contains("tim"),
            "{shown}"
        );
        assert!(!shown.contains("tanstaaf"), "{shown}");
    }

    #[test]
    fn hmac_md5_long_key_rfc2202() {
        // RFC 2202 test case 6: an 80-byte key of 0xaa.
        let mac = hmac_md5(
            &[0xaa; 80],
            b"Test Using Larger Than Block-Size Key - Hash Key First",
        );
        assert_eq!(hex(&mac), "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd");
    }

    /// RFC 1939's example.
    #[test]
    fn apop_rfc1939() {
        assert_eq!(
            apop_digest("<1896.697170952@dbc.mtview.ca.us>", "tanstaaf"),
            "c4c9334bac560ecc979e58001b3e22fb"
        );
    }

    #[test]
    fn xoauth2() {
        let mut ex = Exchange::new(Mechanism::XOAuth2, "someuser@example.com", "ya29.vF9dft4q");
        assert_eq!(
            ex.initial_response().unwrap(),
            b"user=someuser@example.com\x01auth=Bearer ya29.vF9dft4q\x01\x01".to_vec()
        );
        let said = br#"{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}"#;
        assert_eq!(ex.respond(said).unwrap(), Vec::<u8>::new());
        assert_eq!(
            ex.detail(),
            Some(
                "the access token is expired, revoked or not for this user (status 401, scope needed: https://mail.google.com/)"
            )
        );
    }

    /// RFC 7628 section 4.1's example, and 4.2's error step: a lone %x01 answers it.
    #[test]
    fn oauthbearer() {
        let mut ex = Exchange::new(Mechanism::OAuthBearer, "user@example.com", "vF9dft4qmT")
            .at("server.example.com:143");
        assert_eq!(
            ex.initial_response().unwrap(),
            b"n,a=user@example.com,\x01host=server.example.com\x01port=143\x01auth=Bearer vF9dft4qmT\x01\x01"
                .to_vec()
        );
        let said = br#"{"status":"invalid_token","scope":"example_scope","openid-configuration":"https://example.com/.well-known/openid-configuration"}"#;
        assert_eq!(ex.respond(said).unwrap(), vec![0x01]);
        assert_eq!(
            ex.detail(),
            Some(
                "the access token is expired, revoked or not for this user (status invalid_token, scope needed: example_scope)"
            )
        );
        // An IPv6 literal goes without its brackets; a user name's `,` and `=` are escaped.
        let mut ex = Exchange::new(Mechanism::OAuthBearer, "a,b=c", "t").at("[::1]:993");
        assert_eq!(
            ex.initial_response().unwrap(),
            b"n,a=a=2Cb=3Dc,\x01host=::1\x01port=993\x01auth=Bearer t\x01\x01".to_vec()
        );
    }

    #[test]
    fn a_token_error_says_what_its_status_means() {
        for (said, meaning) in [
            (
                r#"{"status":"401"}"#,
                "the access token is expired, revoked or not for this user (status 401)",
            ),
            (
                r#"{"status":"insufficient_scope"}"#,
                "the access token does not allow this service (its scope) (status insufficient_scope)",
            ),
            (
                r#"{"status":"403"}"#,
                "the access token does not allow this service (its scope) (status 403)",
            ),
            (
                r#"{"status":"invalid_request"}"#,
                "the server found the login malformed (status invalid_request)",
            ),
            (
                r#"{"status":"400"}"#,
                "the server found the login malformed (status 400)",
            ),
            (
                r#"{"status":"500"}"#,
                "the server refused the token (status 500)",
            ),
            // Escapes stay as they came, and do not end the string.
            (
                r#"{"status" : "a\"b\\", "scope":"x\\"}"#,
                r#"the server refused the token (status a\"b\\, scope needed: x\\)"#,
            ),
            (
                r#"{"status":"unterminated}"#,
                r#"the server says: {"status":"unterminated}"#,
            ),
        ] {
            assert_eq!(token_error(said.as_bytes(), "tok"), meaning, "{said}");
        }
    }

    #[test]
    fn a_token_error_that_is_no_json_is_quoted_without_the_token() {
        let mut ex = Exchange::new(Mechanism::OAuthBearer, "u", "tok123");
        ex.initial_response().unwrap();
        ex.respond(b"bad tok123 \x1b[2J").unwrap();
        assert_eq!(ex.detail(), Some("the server says: bad **** \\x1b[2J"));
    }

    #[test]
    fn choose_prefers_oauthbearer_for_a_token() {
        let m = choose(&["XOAUTH2", "OAUTHBEARER", "PLAIN"], None, true).unwrap();
        assert_eq!(m, Mechanism::OAuthBearer);
        let m = choose(&["XOAUTH2", "OAUTHBEARER"], Some(Mechanism::XOAuth2), true).unwrap();
        assert_eq!(m, Mechanism::XOAuth2);
        let e = choose(&["OAUTHBEARER"], Some(Mechanism::OAuthBearer), false).unwrap_err();
        assert_eq!(e.exit_code(), 64);
    }

    /// RFC 7677's example, with its client nonce put in place.
    #[test]
    fn scram_sha256_rfc7677() {
        let mut ex = Exchange::new(Mechanism::ScramSha256, "user", "pencil");
        let first = String::from_utf8(ex.initial_response().unwrap()).unwrap();
        assert!(first.starts_with("n,,n=user,r="), "{first}");
        // Our random nonce replaced with the RFC's, to reproduce its numbers.
        let mut ex = scram_sent_first("user", "pencil", "rOprNGfwEbeRWgbNEkqO");
        let server_first =
            b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
        let fin = String::from_utf8(ex.respond(server_first).unwrap()).unwrap();
        assert_eq!(
            fin,
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
             p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        assert!(ex.finish(None).is_err(), "no server signature yet");
        let out = ex
            .respond(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
            .unwrap();
        assert!(out.is_empty());
        ex.finish(None).unwrap();
    }

    #[test]
    fn scram_final_data_with_the_success_reply() {
        let mut ex = scram_sent_first("user", "pencil", "rOprNGfwEbeRWgbNEkqO");
        ex.respond(
            b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
        )
        .unwrap();
        ex.finish(Some(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="))
            .unwrap();
    }

    #[test]
    fn scram_refuses_an_impostor() {
        let mut ex = scram_sent_first("user", "pencil", "abc");
        ex.respond(b"r=abcdef,s=QUJD,i=4096").unwrap();
        let e = ex
            .respond(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
            .unwrap_err();
        assert_eq!(e.exit_code(), 77);
        assert!(ex.finish(None).is_err());
    }

    #[test]
    fn scram_refuses_bad_server_first() {
        let cases: &[(&[u8], &str)] = &[
            (b"r=xyz,s=QUJD,i=4096", "does not extend"),
            (b"r=abc,s=QUJD,i=4096", "does not extend"),
            (b"r=abcd,s=QUJD,i=0", "is 0"),
            (b"r=abcd,s=QUJD,i=99999999", "1,000,000"),
            (b"r=abcd,s=QUJD,i=x", "not a number"),
            (b"r=abcd,s=!!,i=4096", "not base64"),
            (b"r=abcd,i=4096", "no salt"),
            (b"s=QUJD,i=4096", "no nonce"),
            (b"m=ext,r=abcd,s=QUJD,i=1", "extension"),
            (b"r=abcd,s=QUJD", "no iteration"),
            (b"\xff", "UTF-8"),
        ];
        for (server_first, want) in cases {
            let mut ex = scram_sent_first("u", "p", "abc");
            let e = ex.respond(server_first).unwrap_err();
            assert_eq!(e.exit_code(), 76, "{}", e.message());
            assert!(e.message().contains(want), "{want}: {}", e.message());
        }
    }

    #[test]
    fn scram_server_error() {
        let mut ex = Exchange::new(Mechanism::ScramSha256, "u", "pencil");
        ex.state = State::Scram(Scram::SentFinal {
            server_signature: vec![1; 32],
        });
        let e = ex.respond(b"e=invalid-proof for pencil").unwrap_err();
        assert_eq!(e.exit_code(), 77);
        assert!(e.message().ends_with(": invalid-proof for ****"), "{e}");
    }

    #[test]
    fn external_sends_the_authorization_identity_once() {
        // RFC 4422 appendix A.1: one message, the authzid, empty for the certificate's own.
        let mut ex = Exchange::new(Mechanism::External, "", "");
        assert_eq!(ex.initial_response(), Some(Vec::new()));
        assert!(ex.finish(None).is_ok());
        let mut ex = Exchange::new(Mechanism::External, "bob", "");
        assert_eq!(ex.respond(b"").unwrap(), b"bob");
        assert_eq!(ex.respond(b"more?").unwrap_err().exit_code(), 76);
        let mut ex = Exchange::new(Mechanism::External, "", "");
        assert_eq!(ex.finish(None).unwrap_err().exit_code(), 76, "nothing sent");
        assert_eq!(Mechanism::parse("external"), Some(Mechanism::External));
        let offered = ["PLAIN", "EXTERNAL"];
        assert_eq!(choose(&offered, None, false).unwrap(), Mechanism::Plain);
        let forced = choose(&offered, Some(Mechanism::External), false);
        assert_eq!(forced.unwrap(), Mechanism::External);
        let e = choose(&["PLAIN"], Some(Mechanism::External), false).unwrap_err();
        assert_eq!(e.exit_code(), 69);
    }

    #[test]
    fn scram_escapes_the_user_name() {
        let mut ex = Exchange::new(Mechanism::ScramSha256, "a=b,c", "p");
        let first = String::from_utf8(ex.initial_response().unwrap()).unwrap();
        assert!(first.starts_with("n,,n=a=3Db=2Cc,r="), "{first}");
    }

    #[test]
    fn no_mechanism_names_what_posthaste_speaks() {
        let e = choose(&["GSSAPI"], None, false).unwrap_err();
        assert!(
            e.message().contains(
                "posthaste speaks SCRAM-SHA-256, PLAIN, LOGIN, CRAM-MD5, XOAUTH2, OAUTHBEARER"
            ),
            "{}",
            e.message()
        );
    }

    #[test]
    fn scram_success_without_a_signature_says_so() {
        let mut ex = Exchange::new(Mechanism::ScramSha256, "u", "p");
        ex.state = State::Scram(Scram::SentFinal {
            server_signature: vec![1; 32],
        });
        let e = ex.finish(None).unwrap_err();
        assert!(e.message().contains("without proving"), "{}", e.message());
    }

    #[test]
    fn scram_nonces_are_fresh() {
        let first = |_| {
            let mut ex = Exchange::new(Mechanism::ScramSha256, "u", "p");
            String::from_utf8(ex.initial_response().unwrap()).unwrap()
        };
        let (a, b) = (first(0), first(1));
        assert_ne!(a, b);
        let nonce = a.strip_prefix("n,,n=u,r=").unwrap();
        assert_eq!(nonce.len(), 24, "{a}");
    }

    #[test]
    fn scram_nonce_characters_and_iteration_bound() {
        let e = parse_server_first("r=abcd\x01,s=QUJD,i=4096", "abc")
            .err()
            .unwrap();
        assert!(e.message().contains("characters"), "{}", e.message());
        let e = parse_server_first("r=abc d,s=QUJD,i=4096", "abc")
            .err()
            .unwrap();
        assert!(e.message().contains("characters"), "{}", e.message());
        // The bound itself is allowed; one more is not.
        assert!(parse_server_first("r=abcd,s=QUJD,i=1000000", "abc").is_ok());
        assert!(parse_server_first("r=abcd,s=QUJD,i=1000001", "abc").is_err());
    }

    #[test]
    fn hmac_md5_block_sized_key_is_used_as_it_is() {
        // A key of exactly one block (64 bytes) is not hashed first (RFC 2104).
        let mac = hmac_md5(&[0xaa; 64], b"Test With A 64-Byte Key");
        assert_eq!(hex(&mac), "917d8a4689a395dbca720cb4b8022132");
    }
}
