//! Server replies and the dialects that frame them, as pure line-by-line parsers: the one
//! thing each protocol supplies to the shared engine ([`crate::wire`]), as curl's
//! `ftp_endofresp`, `smtp_endofresp` and `pop3_endofresp` do.
//!
//! - [`Ftp`]: numeric replies (RFC 959 section 4.2). A multi-line reply starts `123-` and
//!   ends at a line starting `123 ` (or `123` alone); the lines between may be anything.
//! - [`Smtp`]: numeric replies (RFC 5321 section 4.2). Every line carries the same code, with
//!   `-` on all lines but the last; a line with another code, or none, is a protocol error.
//! - [`Pop3`]: one status line (RFC 1939 section 3): `+OK`, `-ERR`, or the `+ ` of a SASL
//!   challenge (RFC 5034 section 4). Multi-line data after `+OK` is dot-terminated and read
//!   with [`crate::wire::Conn::dot_body`].
//!
//! - [`Imap`]: one response line (RFC 3501 section 7, RFC 9051 section 7): untagged `* `
//!   data (which does not answer a command), a `+ ` continuation request, or the tagged
//!   `OK`, `NO` or `BAD` that ends a command. A line ending in a literal's length (`{n}`) is
//!   followed by `n` raw octets, read with [`crate::wire::Conn::literal`], and then by the rest
//!   of the response line ([`crate::wire::Conn::read_line_raw`]).
//!
//! Reply text is kept as the bytes the server sent; it is decoded only to be shown
//! ([`Reply::text`], with control characters made visible).

use crate::error::{Error, Kind, visible};
use std::fmt;

/// What a line did to the reply under way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The reply goes on: read another line.
    More,
    /// That was the reply's last line.
    Done,
}

/// Why a line cannot be (part of) a reply; becomes a protocol error (76).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed(pub String);

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How one protocol frames its replies.
pub trait Dialect {
    /// A complete reply.
    type Reply: Response;

    /// Takes the next line of a reply, without its line end. `reply` is `None` before the
    /// first line; the dialect builds the reply in it. Pure: no I/O, no limits (the engine
    /// bounds line length and count).
    fn line(&self, reply: &mut Option<Self::Reply>, line: &[u8]) -> Result<Step, Malformed>;

    /// The longest line this dialect accepts; the engine refuses a longer one (76).
    /// [`crate::wire::MAX_LINE`] unless the protocol needs longer lines (IMAP: [`MAX_IMAP_LINE`]).
    fn max_line(&self) -> usize {
        crate::wire::MAX_LINE
    }
}

/// What the engine and generic helpers (keep-alive, transcript redaction) need to know about
/// any reply.
pub trait Response: fmt::Debug {
    /// The command did what was asked: a 2xx reply, `+OK`.
    fn is_ok(&self) -> bool;
    /// A SASL challenge (SMTP `334`, POP3 `+ `): the client's next line answers it, and that
    /// answer is a secret.
    fn is_continuation(&self) -> bool;
    /// Another reply to the same command follows (FTP's 1xx).
    fn is_preliminary(&self) -> bool;
    /// This reply as the error that ends `context`, classified by what it says.
    fn error(&self, context: &dyn fmt::Display) -> Error;
    /// Replaces every occurrence of `secret` in the reply's text by `****`: a server that
    /// repeats a password or an AUTH line it refused must not have it shown.
    fn redact(&mut self, secret: &[u8]);
}

/// `text` with every occurrence of `secret` (not empty) replaced by `****`. Pure.
pub fn redact_bytes(text: &[u8], secret: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if !secret.is_empty() && text[i..].starts_with(secret) {
            out.extend_from_slice(b"****");
            i += secret.len();
        } else {
            out.push(text[i]);
            i += 1;
        }
    }
    out
}

/// A numeric reply (FTP, SMTP): a three-digit code and the text of each line, as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    /// The text of each line after its code and separator. FTP lines between the first and
    /// the last that do not start with the code are kept whole.
    pub lines: Vec<Vec<u8>>,
}

impl Reply {
    /// The first digit: 1 preliminary, 2 done, 3 more needed, 4 transient, 5 permanent.
    pub fn class(&self) -> u16 {
        self.code / 100
    }

    /// The text of all lines, trimmed and joined by spaces, decoded as UTF-8 (lossily), for
    /// parsers that read a reply's text (EPSV, SIZE, MDTM). Not for showing: see [`text`].
    ///
    /// [`text`]: Reply::text
    pub fn text_lossy(&self) -> String {
        let mut out = String::new();
        for l in &self.lines {
            let l = String::from_utf8_lossy(l);
            let l = l.trim();
            if l.is_empty() {
                continue;
            }
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(l);
        }
        out
    }

    /// The text of all lines joined by spaces, for messages: control characters made
    /// visible, so a hostile reply cannot act on the terminal.
    pub fn text(&self) -> String {
        visible(&self.text_lossy())
    }

    /// Each line's text decoded (lossily), for parsers of multi-line replies (FEAT).
    pub fn line_texts(&self) -> Vec<String> {
        self.lines
            .iter()
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect()
    }

    /// This reply as an error for `context`, classified by its code.
    pub fn error(&self, context: impl fmt::Display) -> Error {
        Error::reply(context, self.code, &self.text())
    }
}

impl Response for Reply {
    fn is_ok(&self) -> bool {
        self.class() == 2
    }

    fn is_continuation(&self) -> bool {
        // SMTP AUTH (RFC 4954 section 4); FTP's security exchange (RFC 2228) uses it too.
        self.code == 334
    }

    fn is_preliminary(&self) -> bool {
        self.class() == 1
    }

    fn error(&self, context: &dyn fmt::Display) -> Error {
        Reply::error(self, context)
    }

    fn redact(&mut self, secret: &[u8]) {
        for l in &mut self.lines {
            *l = redact_bytes(l, secret);
        }
    }
}

/// Splits one reply line into code, separator (`b' '`, `b'-'`, or none when the line is the
/// code alone) and text. Pure; `None` unless the line starts with three digits, the first
/// not 0, followed by a space, a hyphen or the end of the line.
pub fn parse_reply_line(line: &[u8]) -> Option<(u16, Option<u8>, &[u8])> {
    let digits = line.get(..3)?;
    if !digits.iter().all(u8::is_ascii_digit) || digits[0] == b'0' {
        return None;
    }
    let code = digits
        .iter()
        .fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
    match line.get(3) {
        None => Some((code, None, &[])),
        Some(&sep @ (b' ' | b'-')) => Some((code, Some(sep), &line[4..])),
        Some(_) => None,
    }
}

fn not_a_reply() -> Malformed {
    Malformed("not a reply line: no three-digit code".into())
}

/// FTP's numeric replies (RFC 959 section 4.2).
#[derive(Debug, Clone, Copy, Default)]
pub struct Ftp;

impl Dialect for Ftp {
    type Reply = Reply;

    fn line(&self, reply: &mut Option<Reply>, line: &[u8]) -> Result<Step, Malformed> {
        let Some(r) = reply else {
            let (code, sep, text) = parse_reply_line(line).ok_or_else(not_a_reply)?;
            *reply = Some(Reply {
                code,
                lines: vec![text.to_vec()],
            });
            return Ok(if sep == Some(b'-') {
                Step::More
            } else {
                Step::Done
            });
        };
        match parse_reply_line(line) {
            Some((c, Some(b' ') | None, text)) if c == r.code => {
                r.lines.push(text.to_vec());
                Ok(Step::Done)
            }
            // Continuation lines may carry the code too (`211-SIZE`); RFC 959 allows any text.
            Some((c, Some(b'-'), text)) if c == r.code => {
                r.lines.push(text.to_vec());
                Ok(Step::More)
            }
            _ => {
                r.lines.push(line.to_vec());
                Ok(Step::More)
            }
        }
    }
}

/// SMTP's numeric replies (RFC 5321 section 4.2): checked on every line.
#[derive(Debug, Clone, Copy, Default)]
pub struct Smtp;

impl Dialect for Smtp {
    type Reply = Reply;

    fn line(&self, reply: &mut Option<Reply>, line: &[u8]) -> Result<Step, Malformed> {
        let (code, sep, text) = parse_reply_line(line).ok_or_else(not_a_reply)?;
        // Reply-code = %x32-35 %x30-35 %x30-39: SMTP has no 1yz replies.
        if !(200..600).contains(&code) {
            return Err(Malformed(format!("reply code {code} is not an SMTP code")));
        }
        match reply {
            None => {
                *reply = Some(Reply {
                    code,
                    lines: vec![text.to_vec()],
                })
            }
            Some(r) if r.code == code => r.lines.push(text.to_vec()),
            Some(r) => {
                return Err(Malformed(format!(
                    "a line with code {code} inside a multi-line {} reply",
                    r.code
                )));
            }
        }
        Ok(if sep == Some(b'-') {
            Step::More
        } else {
            Step::Done
        })
    }
}

/// A POP3 status indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pop3Status {
    /// `+OK`
    Ok,
    /// `-ERR`
    Err,
    /// `+ `: a SASL challenge (RFC 5034 section 4), its base64 text follows.
    Continue,
}

/// A POP3 status line: the indicator and the text after it, as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pop3Reply {
    pub status: Pop3Status,
    pub text: Vec<u8>,
}

impl Pop3Reply {
    /// The text, control characters made visible, for messages.
    pub fn text(&self) -> String {
        visible(String::from_utf8_lossy(&self.text).trim())
    }

    /// The extended response code at the start of the text (RFC 2449 section 8), without
    /// its brackets: `-ERR [IN-USE] locked` has `IN-USE`.
    pub fn resp_code(&self) -> Option<&[u8]> {
        let rest = self.text.strip_prefix(b"[")?;
        let end = rest.iter().position(|&b| b == b']')?;
        Some(&rest[..end])
    }
}

/// Parses a POP3 status line (RFC 1939 section 3, RFC 2449 section 3, RFC 5034 section 4).
/// Pure. `+OK` and `-ERR` are either the whole line or followed by a space; `+OKAY` is not
/// a status. A challenge is `+ ` and its (possibly empty) text.
pub fn parse_pop3_line(line: &[u8]) -> Result<Pop3Reply, Malformed> {
    let split = |indicator: &[u8]| -> Option<Vec<u8>> {
        let rest = line.strip_prefix(indicator)?;
        match rest.split_first() {
            None => Some(Vec::new()),
            Some((b' ', text)) => Some(text.to_vec()),
            Some(_) => None,
        }
    };
    let (status, text) = if let Some(t) = split(b"+OK") {
        (Pop3Status::Ok, t)
    } else if let Some(t) = split(b"-ERR") {
        (Pop3Status::Err, t)
    } else if let Some(t) = line.strip_prefix(b"+ ") {
        (Pop3Status::Continue, t.to_vec())
    } else {
        return Err(Malformed(
            "not a POP3 status line: not +OK, -ERR or a \"+ \" challenge".into(),
        ));
    };
    Ok(Pop3Reply { status, text })
}

impl Response for Pop3Reply {
    fn is_ok(&self) -> bool {
        self.status == Pop3Status::Ok
    }

    fn is_continuation(&self) -> bool {
        self.status == Pop3Status::Continue
    }

    fn is_preliminary(&self) -> bool {
        false
    }

    /// `-ERR` is permanent (69) unless its response code says otherwise (RFC 2449 section 8,
    /// RFC 3206): `[AUTH]` is a failed login (77); `[SYS/TEMP]`, `[IN-USE]` and
    /// `[LOGIN-DELAY]` are worth a retry (75). Anything but `-ERR` is unexpected here (76).
    fn error(&self, context: &dyn fmt::Display) -> Error {
        let (indicator, kind) = match self.status {
            Pop3Status::Err => (
                "-ERR",
                match self.resp_code() {
                    Some(b"AUTH") => Kind::Auth,
                    Some(b"SYS/TEMP" | b"IN-USE" | b"LOGIN-DELAY") => Kind::TempFail,
                    _ => Kind::Unavailable,
                },
            ),
            Pop3Status::Ok => ("+OK", Kind::Protocol),
            Pop3Status::Continue => ("+", Kind::Protocol),
        };
        Error::new(
            kind,
            format!("{context}: server said: {indicator} {}", self.text()),
        )
    }

    fn redact(&mut self, secret: &[u8]) {
        self.text = redact_bytes(&self.text, secret);
    }
}

/// POP3's status lines: every reply is one line.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pop3;

impl Dialect for Pop3 {
    type Reply = Pop3Reply;

    fn line(&self, reply: &mut Option<Pop3Reply>, line: &[u8]) -> Result<Step, Malformed> {
        *reply = Some(parse_pop3_line(line)?);
        Ok(Step::Done)
    }
}

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
        visible(String::from_utf8_lossy(&self.text).trim())
    }

    /// The response code at the start of a status response's text, without its brackets
    /// (RFC 3501 section 7.1): `a1 NO [AUTHENTICATIONFAILED] bad` has `AUTHENTICATIONFAILED`;
    /// `* OK [UIDVALIDITY 3] x` has `UIDVALIDITY 3`.
    pub fn resp_code(&self) -> Option<&[u8]> {
        self.status?;
        let rest = self.text.strip_prefix(b"[")?;
        let end = rest.iter().position(|&b| b == b']')?;
        Some(&rest[..end])
    }

    /// The tag of a tagged line.
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
        let code = self.resp_code().map(|c| {
            let w = c.iter().position(|&b| b == b' ').unwrap_or(c.len());
            c[..w].to_ascii_uppercase()
        });
        let (word, kind) = match self.status {
            Some(ImapStatus::No) => (
                "NO",
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
                },
            ),
            Some(ImapStatus::Bad) => ("BAD", Kind::Protocol),
            Some(ImapStatus::Bye) => ("BYE", Kind::TempFail),
            Some(ImapStatus::Ok) => ("OK", Kind::Protocol),
            Some(ImapStatus::PreAuth) => ("PREAUTH", Kind::Protocol),
            None if self.kind == ImapKind::Continuation => ("+", Kind::Protocol),
            None => ("*", Kind::Protocol),
        };
        Error::new(
            kind,
            format!("{context}: server said: {word} {}", self.text()),
        )
    }

    fn redact(&mut self, secret: &[u8]) {
        self.text = redact_bytes(&self.text, secret);
    }
}

/// IMAP's response lines: every reply is one line; the client collects untagged data until
/// the tagged line that ends its command.
#[derive(Debug, Clone, Copy, Default)]
pub struct Imap;

impl Dialect for Imap {
    type Reply = ImapReply;

    fn line(&self, reply: &mut Option<ImapReply>, line: &[u8]) -> Result<Step, Malformed> {
        *reply = Some(parse_imap_line(line)?);
        Ok(Step::Done)
    }

    fn max_line(&self) -> usize {
        MAX_IMAP_LINE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `lines` to `d` as the engine would: the reply, or why not, or `None` when the
    /// lines ran out before the reply ended.
    pub fn parse<D: Dialect>(d: &D, lines: &[&[u8]]) -> Option<Result<(D::Reply, usize), String>> {
        let mut reply = None;
        for (i, l) in lines.iter().enumerate() {
            match d.line(&mut reply, l) {
                Ok(Step::More) => {}
                Ok(Step::Done) => return Some(Ok((reply.unwrap(), i + 1))),
                Err(e) => return Some(Err(e.0)),
            }
        }
        None
    }

    #[test]
    fn parse_reply_line_cases() {
        assert_eq!(
            parse_reply_line(b"220 hi"),
            Some((220, Some(b' '), &b"hi"[..]))
        );
        assert_eq!(
            parse_reply_line(b"220-hi"),
            Some((220, Some(b'-'), &b"hi"[..]))
        );
        assert_eq!(parse_reply_line(b"220"), Some((220, None, &b""[..])));
        assert_eq!(
            parse_reply_line(b"999 x"),
            Some((999, Some(b' '), &b"x"[..]))
        );
        assert_eq!(
            parse_reply_line(b"100 x"),
            Some((100, Some(b' '), &b"x"[..]))
        );
        for bad in [
            &b"22"[..],
            b"220x",
            b"022 x",
            b"2a0 x",
            b"22a x",
            b"a20 x",
            b"",
            b" 220 x",
        ] {
            assert_eq!(parse_reply_line(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn ftp_multi_line_lines_in_between_may_be_anything() {
        let (r, n) = parse(
            &Ftp,
            &[
                b"211-Features:",
                b" EPSV",
                b"211-SIZE",
                b"212 not the end",
                b"212-nor this",
                b"211 End",
                b"x",
            ],
        )
        .unwrap()
        .unwrap();
        assert_eq!(n, 6);
        assert_eq!(r.code, 211);
        assert_eq!(
            r.lines,
            [
                &b"Features:"[..],
                b" EPSV",
                b"SIZE",
                b"212 not the end",
                b"212-nor this",
                b"End"
            ]
        );
        // The last line may be the code alone.
        let (r, n) = parse(&Ftp, &[b"230-a", b"230"]).unwrap().unwrap();
        assert_eq!((r.code, n), (230, 2));
        // A single line ends at once, with or without text.
        assert_eq!(parse(&Ftp, &[b"200"]).unwrap().unwrap().1, 1);
        assert_eq!(parse(&Ftp, &[b"200 ok"]).unwrap().unwrap().1, 1);
        // Unfinished.
        assert!(parse(&Ftp, &[b"211-a", b"211-b"]).is_none());
        assert!(parse(&Ftp, &[b"hello"]).unwrap().is_err());
    }

    #[test]
    fn smtp_checks_the_code_on_every_line() {
        let (r, n) = parse(
            &Smtp,
            &[
                b"250-mail.example.com",
                b"250-PIPELINING",
                b"250-234 text",
                b"250 SIZE 10",
            ],
        )
        .unwrap()
        .unwrap();
        assert_eq!((r.code, n), (250, 4));
        assert_eq!(
            r.lines,
            [
                &b"mail.example.com"[..],
                b"PIPELINING",
                b"234 text",
                b"SIZE 10"
            ]
        );
        assert_eq!(parse(&Smtp, &[b"250-a", b"250"]).unwrap().unwrap().1, 2);
        assert_eq!(parse(&Smtp, &[b"250-", b"250 "]).unwrap().unwrap().1, 2);
        let e = parse(&Smtp, &[b"250-a", b"251 b"]).unwrap().unwrap_err();
        assert!(e.contains("code 251 inside a multi-line 250"), "{e}");
        let e = parse(&Smtp, &[b"250-a", b"251-b", b"250 c"])
            .unwrap()
            .unwrap_err();
        assert!(e.contains("251"), "{e}");
        for bad_continuation in [&b" EPSV"[..], b"PIPELINING", b"", b"25 x", b"250x"] {
            assert!(
                parse(&Smtp, &[b"250-a", bad_continuation])
                    .unwrap()
                    .is_err(),
                "{bad_continuation:?}"
            );
        }
        for bad_code in [&b"120 wait"[..], b"600 x", b"199 x", b"999 x"] {
            assert!(parse(&Smtp, &[bad_code]).unwrap().is_err(), "{bad_code:?}");
        }
        for good_code in [&b"200 x"[..], b"599 x", b"421 bye"] {
            assert!(parse(&Smtp, &[good_code]).unwrap().is_ok(), "{good_code:?}");
        }
    }

    #[test]
    fn pop3_status_lines() {
        let ok = |l: &[u8]| parse_pop3_line(l).unwrap();
        assert_eq!(
            ok(b"+OK"),
            Pop3Reply {
                status: Pop3Status::Ok,
                text: vec![]
            }
        );
        assert_eq!(ok(b"+OK 2 320").text, b"2 320");
        assert_eq!(ok(b"+OK ").text, b"");
        assert_eq!(ok(b"-ERR").status, Pop3Status::Err);
        assert_eq!(ok(b"-ERR no such message").text, b"no such message");
        assert_eq!(ok(b"+ ").status, Pop3Status::Continue);
        assert_eq!(ok(b"+ VXNlcm5hbWU6").text, b"VXNlcm5hbWU6");
        for bad in [
            &b"+OKAY"[..],
            b"+OK\tx",
            b"-ERROR",
            b"+ok fine",
            b"OK",
            b"+",
            b"",
            b" +OK",
            b"-ERR\x00",
            b"250 ok",
        ] {
            assert!(parse_pop3_line(bad).is_err(), "{bad:?}");
        }
        // One line is a whole reply: what follows a -ERR is the next reply, never its data.
        let (r, n) = parse(&Pop3, &[b"-ERR no", b"1 200", b"."])
            .unwrap()
            .unwrap();
        assert_eq!((r.status, n), (Pop3Status::Err, 1));
    }

    #[test]
    fn pop3_errors_follow_their_response_codes() {
        let err = |t: &[u8]| {
            Pop3Reply {
                status: Pop3Status::Err,
                text: t.to_vec(),
            }
            .error(&"pop3.example:110: PASS")
        };
        assert_eq!(err(b"[AUTH] bad password").exit_code(), 77);
        assert_eq!(err(b"[IN-USE] locked").exit_code(), 75);
        assert!(err(b"[IN-USE] locked").is_transient());
        assert_eq!(err(b"[SYS/TEMP] later").exit_code(), 75);
        assert_eq!(err(b"[LOGIN-DELAY] wait").exit_code(), 75);
        assert_eq!(err(b"[SYS/PERM] gone").exit_code(), 69);
        assert_eq!(err(b"no such message").exit_code(), 69);
        assert_eq!(err(b"[IN-USE locked").exit_code(), 69);
        assert_eq!(
            err(b"[AUTH] \x1b[2Jbad").to_string(),
            "pop3.example:110: PASS: server said: -ERR [AUTH] \\x1b[2Jbad"
        );
        let odd = Pop3Reply {
            status: Pop3Status::Continue,
            text: b"x".to_vec(),
        };
        assert_eq!(odd.error(&"h").exit_code(), 76);
        let ok = Pop3Reply {
            status: Pop3Status::Ok,
            text: vec![],
        };
        assert_eq!(ok.error(&"h").exit_code(), 76);
        assert!(ok.is_ok() && !ok.is_continuation() && !ok.is_preliminary());
        assert!(odd.is_continuation() && !odd.is_ok());
    }

    #[test]
    fn numeric_reply_helpers() {
        let r = Reply {
            code: 211,
            lines: vec![b"a ".to_vec(), b"".to_vec(), b" \x1b[2Jb\xff".to_vec()],
        };
        assert_eq!(r.text_lossy(), "a \x1b[2Jb\u{fffd}");
        assert_eq!(r.text(), "a \\x1b[2Jb\u{fffd}");
        assert_eq!(r.line_texts(), ["a ", "", " \x1b[2Jb\u{fffd}"]);
        let first_empty = Reply {
            code: 220,
            lines: vec![b"".to_vec(), b"x".to_vec()],
        };
        assert_eq!(first_empty.text_lossy(), "x");
        assert_eq!(r.class(), 2);
        assert!(r.is_ok() && !r.is_preliminary() && !r.is_continuation());
        let prelim = Reply {
            code: 150,
            lines: vec![],
        };
        assert!(prelim.is_preliminary() && !prelim.is_ok());
        let challenge = Reply {
            code: 334,
            lines: vec![],
        };
        assert!(challenge.is_continuation() && !challenge.is_ok());
        let e = Reply {
            code: 550,
            lines: vec![b"no".to_vec()],
        };
        assert_eq!(
            Response::error(&e, &"ctx").to_string(),
            "ctx: server said: 550 no"
        );
        assert_eq!(Response::error(&e, &"ctx").exit_code(), 69);
    }

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
        for bad in [
            &b""[..],
            b"*",
            b"* ",
            b"a1 FETCH x",
            b"a1",
            b"a1 PREAUTH x",
            b" a1 OK",
            b"\"a\" OK",
            b"a\x1b OK",
            b"a+ OK",
        ] {
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
        for no in [
            &b"x {}"[..],
            b"x {+}",
            b"x {5",
            b"x 5}",
            b"x {a}",
            b"x {5} ",
            b"x {1234567890123456789}",
            b"x {-1}",
        ] {
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
        assert_eq!(Pop3.max_line(), crate::wire::MAX_LINE);
    }
}
