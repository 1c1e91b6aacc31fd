#![allow(dead_code)]
//! What the fake mail servers share for OAuth2 logins: the user and bearer token an
//! OAUTHBEARER (RFC 7628 section 3.1) or XOAUTH2 initial response carries, and the error
//! a server sends as a challenge when it refuses the token.

use super::fake_server::{Ctx, Protocol};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use std::io;

/// The JSON a server sends, base64-coded, when it refuses a token (RFC 7628 section 3.2.2).
pub const ERROR_JSON: &str = r#"{"status":"invalid_token","scope":"https://mail.example/"}"#;

/// The error challenge's text (base64).
pub fn error_challenge() -> String {
    B64.encode(ERROR_JSON)
}

/// The user and the token in `b64`, an initial response of `mech` (OAUTHBEARER, XOAUTH2);
/// `None` when it is not one.
pub fn parse(mech: &str, b64: &str) -> Option<(String, String)> {
    let raw = String::from_utf8(B64.decode(b64.trim()).ok()?).ok()?;
    let (user, kvpairs) = if mech.eq_ignore_ascii_case("OAUTHBEARER") {
        let rest = raw.strip_prefix("n,a=")?;
        let (user, kv) = rest.split_once(",\x01")?;
        (user.replace("=2C", ",").replace("=3D", "="), kv.to_string())
    } else if mech.eq_ignore_ascii_case("XOAUTH2") {
        let rest = raw.strip_prefix("user=")?;
        let (user, kv) = rest.split_once('\x01')?;
        (user.to_string(), kv.to_string())
    } else {
        return None;
    };
    let token = kvpairs
        .split('\x01')
        .find_map(|kv| kv.strip_prefix("auth=Bearer "))?;
    Some((user, token.to_string()))
}

/// The tokens of every `AUTH`/`AUTHENTICATE` line of `transcript` (`C: ...` lines of a
/// fake server), in order.
pub fn tokens_sent(transcript: &[String]) -> Vec<String> {
    transcript
        .iter()
        .filter_map(|l| {
            let words: Vec<&str> = l.split(' ').collect();
            let at = words.iter().position(|w| {
                w.eq_ignore_ascii_case("AUTH") || w.eq_ignore_ascii_case("AUTHENTICATE")
            })?;
            let mech = words.get(at + 1)?;
            parse(mech, words.get(at + 2)?).map(|(_, t)| t)
        })
        .collect()
}

/// An OAuth2 login on a fake server whose challenges start with `+ ` (POP3, IMAP): the
/// response is `ir`, or when that is empty the answer to an empty challenge. `Some(true)`:
/// `user` with one of `tokens`; `Some(false)`: refused, after the error challenge was sent
/// and answered; `None`: the client went away.
pub fn exchange<P: Protocol>(
    c: &mut Ctx<'_, P>,
    mech: &str,
    ir: &str,
    user: &str,
    tokens: &[String],
) -> io::Result<Option<bool>> {
    let response = if ir.is_empty() {
        c.send("+ \r\n")?;
        match c.read_line()? {
            Some(l) => l,
            None => return Ok(None),
        }
    } else {
        ir.to_string()
    };
    match parse(mech, &response) {
        Some((u, t)) if u == user && tokens.contains(&t) => Ok(Some(true)),
        _ => {
            c.send(&format!("+ {}\r\n", error_challenge()))?;
            Ok(c.read_line()?.map(|_| false))
        }
    }
}
