//! IMAP's responses, the [`Imap`] dialect of the shared engine: one response line (RFC 3501
//! section 7, RFC 9051 section 7), untagged `* ` data (which does not answer a command), a
//! `+ ` continuation request, or the tagged `OK`, `NO` or `BAD` that ends a command, with the
//! response codes of RFC 5530 deciding what a `NO` is. A line ending in a literal's length
//! (`{n}`) is followed by `n` raw octets, read with [`crate::wire::Conn::literal`], and then
//! by the rest of the response line ([`crate::wire::Conn::read_line_raw`]).

use crate::error::{Error, Kind};
use crate::wire::reply::{
    Dialect, Malformed, Response, Step, bracketed_code, server_said, single_line, visible_text,
};
use crate::wire::transcript::{hide_after, redact_in};
use std::fmt;

/// IMAP lines may be far longer than other protocols' replies: a `* SEARCH` answer lists
/// every matching UID (about 7 bytes each), a `* CAPABILITY` line can pass 1 KiB. One MiB
/// holds the UIDs of some 150,000 messages and is still a bound.
pub const MAX_IMAP_LINE: usize = 1024 * 1024;

/// What kind of IMAP response line this is (RFC 3501 section 2.2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImapKind {
    /// `* ...`: data, or a status the server sends on its own (a greeting, `BYE`).
    Untagged,
    /// `+ ...`: the server waits for the rest of a command (a literal, a SASL response).
    Continuation,
    /// `TAG OK|NO|BAD ...`: the command with that tag is done.
    Tagged(Vec<u8>),
}

/// An IMAP status (RFC 3501 section 7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImapStatus {
    Ok,
    No,
    Bad,
    PreAuth,
    Bye,
}

/// One IMAP response line, as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImapReply {
    pub kind: ImapKind,
    /// The status of a tagged line, or of an untagged status response (`* OK`, `* BYE`).
    pub status: Option<ImapStatus>,
    /// What follows the tag (or `*`, `+`) and the status, if any: for untagged data such as
    /// `* 3 EXISTS` all of `3 EXISTS`; for `a1 OK [READ-ONLY] done` `[READ-ONLY] done`.
    pub text: Vec<u8>,
    /// The line ends with a literal's length (`{n}` or the non-synchronizing `{n+}`): `n`
    /// octets follow, then the rest of the response.
    pub literal: Option<u64>,
}

impl ImapReply {
    /// The text, control characters made visible, for messages.
    pub fn text(&self) -> String {
        visible_text(&self.text)
    }

    /// The response code at the start of a status response's text, without its brackets
    /// (RFC 3501 section 7.1): `a1 NO [AUTHENTICATIONFAILED] bad` has `AUTHENTICATIONFAILED`;
    /// `* OK [UIDVALIDITY 3] x` has `UIDVALIDITY 3`.
    pub fn resp_code(&self) -> Option<&[u8]> {
        self.status?;
        bracketed_code(&self.text)
    }

    /// The tag of a tagged line.
    #[cfg(test)]
    pub fn tag(&self) -> Option<&[u8]> {
        match &self.kind {
            ImapKind::Tagged(t) => Some(t),
            _ => None,
        }
    }
}

/// The length of the literal that ends `line` (`{n}` or `{n+}`), if it ends with one.
/// Pure. A length that does not fit in 63 bits is not a literal.
pub fn imap_literal(line: &[u8]) -> Option<u64> {
    let body = line.strip_suffix(b"}")?;
    let open = body.iter().rposition(|&b| b == b'{')?;
    let digits = &body[open + 1..];
    let digits = digits.strip_suffix(b"+").unwrap_or(digits);
    if digits.is_empty() || digits.len() > 18 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        digits
            .iter()
            .fold(0u64, |n, d| n * 10 + u64::from(d - b'0')),
    )
}

fn imap_status(word: &[u8]) -> Option<ImapStatus> {
    Some(match word.to_ascii_uppercase().as_slice() {
        b"OK" => ImapStatus::Ok,
        b"NO" => ImapStatus::No,
        b"BAD" => ImapStatus::Bad,
        b"PREAUTH" => ImapStatus::PreAuth,
        b"BYE" => ImapStatus::Bye,
        _ => return None,
    })
}

/// Parses one IMAP response line (RFC 3501 section 7, the `response` rule of section 9).
/// Pure. A tag is one or more ASTRING-CHARs other than `+`; a tagged line needs `OK`, `NO`
/// or `BAD` after its tag.
pub fn parse_imap_line(line: &[u8]) -> Result<ImapReply, Malformed> {
    let literal = imap_literal(line);
    let word_end = |s: &[u8]| s.iter().position(|&b| b == b' ').unwrap_or(s.len());
    if let Some(rest) = line.strip_prefix(b"+") {
        let text = rest.strip_prefix(b" ").unwrap_or(rest);
        return Ok(ImapReply {
            kind: ImapKind::Continuation,
            status: None,
            text: text.to_vec(),
            literal: None,
        });
    }
    if let Some(rest) = line.strip_prefix(b"* ") {
        let w = word_end(rest);
        let (status, text) = match imap_status(&rest[..w]) {
            Some(s) => (Some(s), rest.get(w + 1..).unwrap_or_default()),
            None => (None, rest),
        };
        if text.is_empty() && status.is_none() {
            return Err(Malformed("an untagged response with nothing in it".into()));
        }
        return Ok(ImapReply {
            kind: ImapKind::Untagged,
            status,
            text: text.to_vec(),
            literal,
        });
    }
    let w = word_end(line);
    let tag = &line[..w];
    let tag_ok = !tag.is_empty()
        && tag.iter().all(|&b| {
            b > b' '
                && b < 0x7f
                && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b'+')
        });
    if !tag_ok {
        return Err(Malformed(
            "not an IMAP response: no tag, \"*\" or \"+\"".into(),
        ));
    }
    let rest = line.get(w + 1..).unwrap_or_default();
    let sw = word_end(rest);
    let status = match imap_status(&rest[..sw]) {
        Some(s @ (ImapStatus::Ok | ImapStatus::No | ImapStatus::Bad)) => s,
        _ => {
            return Err(Malformed(
                "a tagged response that is not OK, NO or BAD".into(),
            ));
        }
    };
    Ok(ImapReply {
        kind: ImapKind::Tagged(tag.to_vec()),
        status: Some(status),
        text: rest.get(sw + 1..).unwrap_or_default().to_vec(),
        literal,
    })
}

impl ImapReply {
    /// What a `NO` is, by its response code (RFC 5530).
    fn no_kind(&self) -> Kind {
        let code = self.resp_code().map(|c| {
            let w = c.iter().position(|&b| b == b' ').unwrap_or(c.len());
            c[..w].to_ascii_uppercase()
        });
        match code.as_deref() {
            Some(
                b"AUTHENTICATIONFAILED"
                | b"AUTHORIZATIONFAILED"
                | b"EXPIRED"
                | b"PRIVACYREQUIRED"
                | b"NOPERM",
            ) => Kind::Auth,
            Some(b"UNAVAILABLE" | b"INUSE" | b"LIMIT" | b"SERVERBUG") => Kind::TempFail,
            Some(b"NONEXISTENT") => Kind::NoInput,
            _ => Kind::Unavailable,
        }
    }
}

impl Response for ImapReply {
    /// A tagged or untagged `OK` (and `PREAUTH`, a greeting that is already logged in).
    fn is_ok(&self) -> bool {
        matches!(self.status, Some(ImapStatus::Ok | ImapStatus::PreAuth))
    }

    fn is_continuation(&self) -> bool {
        self.kind == ImapKind::Continuation
    }

    /// Untagged data answers no command: the tagged line that ends it is still owed.
    fn is_preliminary(&self) -> bool {
        self.kind == ImapKind::Untagged
    }

    /// `NO` is permanent (69) unless its response code says otherwise (RFC 5530):
    /// `[AUTHENTICATIONFAILED]`, `[AUTHORIZATIONFAILED]`, `[EXPIRED]`, `[PRIVACYREQUIRED]`
    /// are a refused login (77); `[UNAVAILABLE]`, `[INUSE]`, `[LIMIT]`, `[SERVERBUG]` are
    /// worth a retry (75); `[NONEXISTENT]` is a missing folder (66). `BAD` says our command
    /// was wrong: a protocol error (76). `BYE` means the server is closing (75).
    fn error(&self, context: &dyn fmt::Display) -> Error {
        let (word, kind) = match self.status {
            Some(ImapStatus::No) => ("NO", self.no_kind()),
            Some(ImapStatus::Bad) => ("BAD", Kind::Protocol),
            Some(ImapStatus::Bye) => ("BYE", Kind::TempFail),
            Some(ImapStatus::Ok) => ("OK", Kind::Protocol),
            Some(ImapStatus::PreAuth) => ("PREAUTH", Kind::Protocol),
            None if self.kind == ImapKind::Continuation => ("+", Kind::Protocol),
            None => ("*", Kind::Protocol),
        };
        server_said(kind, context, word, &self.text())
    }

    fn redact(&mut self, secret: &[u8]) {
        redact_in(&mut self.text, secret);
    }
}

/// IMAP's response lines: every reply is one line; the client collects untagged data until
/// the tagged line that ends its command.
#[derive(Debug, Clone, Copy, Default)]
pub struct Imap;

impl Dialect for Imap {
    type Reply = ImapReply;

    fn line(&self, reply: &mut Option<ImapReply>, line: &[u8]) -> Result<Step, Malformed> {
        single_line(reply, parse_imap_line(line))
    }

    fn max_line(&self) -> usize {
        MAX_IMAP_LINE
    }

    /// Untagged data may come at any time (RFC 3501 section 7); a tagged line for a tag
    /// never sent is refused where it is read.
    fn unsolicited(&self, data: &[u8]) -> bool {
        let _ = data;
        false
    }

    /// A tag, then `LOGIN user password` (RFC 3501 section 6.2.3; the user name stays shown)
    /// or `AUTHENTICATE mechanism initial-response` (RFC 4959).
    fn hide_secrets(&self, command: &str) -> Option<String> {
        let (tag, rest) = command.split_once(' ')?;
        let (verb, args) = rest.split_once(' ')?;
        if verb.eq_ignore_ascii_case("AUTHENTICATE") {
            return hide_after(command, 3);
        }
        if !verb.eq_ignore_ascii_case("LOGIN") {
            return None;
        }
        Some(match astring(args) {
            Some(user) if user.len() < args.len() => format!("{tag} {verb} {user} ****"),
            _ => format!("{tag} {verb} ****"),
        })
    }
}

/// The IMAP astring at the start of `s` (RFC 3501 section 9): a quoted string with its
/// quotes, or an atom up to the next space; `None` for an unclosed quote. (A literal's
/// `{n}` ends the line: the user name follows as the answer to a continuation.)
fn astring(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    match b.first()? {
        b'"' => {
            let mut i = 1;
            while i < b.len() {
                match b[i] {
                    b'\\' => i += 2,
                    b'"' => return Some(&s[..=i]),
                    _ => i += 1,
                }
            }
            None
        }
        _ => Some(s.split(' ').next().unwrap_or(s)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::limits::MAX_LINE;

    #[test]
    fn imap_response_lines() {
        let p = |l: &[u8]| parse_imap_line(l).unwrap();
        let r = p(b"* OK [CAPABILITY IMAP4rev1 STARTTLS] Dovecot ready.");
        assert_eq!(
            (r.kind.clone(), r.status),
            (ImapKind::Untagged, Some(ImapStatus::Ok))
        );
        assert_eq!(r.resp_code().unwrap(), b"CAPABILITY IMAP4rev1 STARTTLS");
        assert!(r.is_ok() && r.is_preliminary() && !r.is_continuation());
        let r = p(b"* 3 EXISTS");
        assert_eq!((r.status, r.text.as_slice()), (None, &b"3 EXISTS"[..]));
        assert_eq!(r.resp_code(), None);
        let r = p(b"* 12 FETCH (UID 40 BODY[] {310}");
        assert_eq!(r.literal, Some(310));
        assert_eq!(p(b"* 1 FETCH (BODY[] {0+}").literal, Some(0));
        let r = p(b"a12 NO [AUTHENTICATIONFAILED] Authentication failed.");
        assert_eq!(r.tag().unwrap(), b"a12");
        assert_eq!(r.status, Some(ImapStatus::No));
        assert!(!r.is_ok() && !r.is_preliminary());
        assert_eq!(r.error(&"h").exit_code(), 77);
        assert_eq!(p(b"a1 ok done").status, Some(ImapStatus::Ok));
        assert_eq!(p(b"a1 OK").text, b"");
        let r = p(b"+ ");
        assert!(r.is_continuation() && r.text.is_empty());
        assert_eq!(p(b"+").kind, ImapKind::Continuation);
        assert_eq!(p(b"+ dj1ydWU=").text, b"dj1ydWU=");
        assert_eq!(p(b"* BYE shutting down").status, Some(ImapStatus::Bye));
        assert_eq!(p(b"* PREAUTH hi").status, Some(ImapStatus::PreAuth));
        let bad_cases: [&[u8]; 10] = [
            b"",
            b"*",
            b"* ",
            b"a1 FETCH x",
            b"a1",
            b"a1 PREAUTH x",
            b" a1 OK",
            b"\"a\" OK",
            b"a\x1b OK",
            b"a+ OK",
        ];
        for bad in bad_cases {
            assert!(parse_imap_line(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn imap_literal_lengths() {
        assert_eq!(imap_literal(b"x {5}"), Some(5));
        assert_eq!(imap_literal(b"{5+}"), Some(5));
        assert_eq!(
            imap_literal(b"x {123456789012345678}"),
            Some(123456789012345678)
        );
        let no_cases: [&[u8]; 8] = [
            b"x {}",
            b"x {+}",
            b"x {5",
            b"x 5}",
            b"x {a}",
            b"x {5} ",
            b"x {1234567890123456789}",
            b"x {-1}",
        ];
        for no in no_cases {
            assert_eq!(imap_literal(no), None, "{no:?}");
        }
    }

    #[test]
    fn imap_errors_follow_their_response_codes() {
        let err = |l: &[u8]| parse_imap_line(l).unwrap().error(&"h");
        assert_eq!(err(b"a NO [UNAVAILABLE] later").exit_code(), 75);
        assert!(err(b"a NO [INUSE] x").is_transient());
        assert_eq!(err(b"a NO [NONEXISTENT] x").exit_code(), 66);
        assert_eq!(err(b"a NO [AUTHORIZATIONFAILED] x").exit_code(), 77);
        assert_eq!(err(b"a NO [CANNOT] x").exit_code(), 69);
        assert_eq!(err(b"a NO plain").exit_code(), 69);
        assert_eq!(err(b"a BAD what").exit_code(), 76);
        assert_eq!(err(b"* BYE bye").exit_code(), 75);
        assert_eq!(err(b"+ go").exit_code(), 76);
        assert_eq!(err(b"* 3 EXISTS").exit_code(), 76);
        assert_eq!(err(b"a OK x").exit_code(), 76);
        assert_eq!(
            err(b"a NO \x1b[2Jno").to_string(),
            "h: server said: NO \\x1b[2Jno"
        );
        assert_eq!(Imap.max_line(), MAX_IMAP_LINE);
        assert_eq!(crate::pop3::reply::Pop3.max_line(), MAX_LINE);
    }
}
