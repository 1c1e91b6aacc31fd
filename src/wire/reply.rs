//! Server replies and the dialects that frame them, as pure line-by-line parsers: the one
//! thing each protocol supplies to the shared engine ([`crate::wire`]), as curl's
//! `ftp_endofresp`, `smtp_endofresp` and `pop3_endofresp` do. What is protocol-neutral lives
//! here: the [`Dialect`] and [`Response`] traits, and the three-digit coded [`Reply`] that FTP
//! and SMTP share (RFC 959 section 4.2 and RFC 5321 section 4.2 give it the same grammar).
//! Each protocol's own grammar lives in its folder:
//!
//! - [`crate::ftp::reply::Ftp`]: a multi-line reply starts `123-` and ends at a line starting
//!   `123 ` (or `123` alone); the lines between may be anything.
//! - [`crate::smtp::reply::Smtp`]: every line carries the same code, with `-` on all lines
//!   but the last; a line with another code, or none, is a protocol error.
//! - [`crate::pop3::reply::Pop3`]: one status line, `+OK`, `-ERR` or a SASL challenge;
//!   multi-line data after `+OK` is dot-terminated ([`crate::wire::Conn::dot_body`]).
//! - [`crate::imap::reply::Imap`]: one response line, untagged, a continuation request or
//!   tagged; a literal's octets follow it ([`crate::wire::Conn::literal`]).
//!
//! Reply text is kept as the bytes the server sent; it is decoded only to be shown
//! ([`Reply::text`], with control characters made visible).

use crate::error::{Error, Kind, visible};
use crate::wire::limits::MAX_LINE;
use crate::wire::transcript::redact_in;
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

/// How one protocol frames its replies, and which of its commands carry secrets.
pub trait Dialect {
    /// A complete reply.
    type Reply: Response;

    /// Takes the next line of a reply, without its line end. `reply` is `None` before the
    /// first line; the dialect builds the reply in it. Pure: no I/O, no limits (the engine
    /// bounds line length and count).
    fn line(&self, reply: &mut Option<Self::Reply>, line: &[u8]) -> Result<Step, Malformed>;

    /// The longest line this dialect accepts; the engine refuses a longer one (76).
    /// [`MAX_LINE`] unless the protocol needs longer lines (IMAP:
    /// [`crate::imap::reply::MAX_IMAP_LINE`]).
    fn max_line(&self) -> usize {
        MAX_LINE
    }

    /// `command` as the transcript and error messages show it when it carries a secret (a
    /// password, an AUTH initial response): the secret replaced by `****`; `None` for a line
    /// that carries none, shown as it is. Pure. Answers to SASL challenges are hidden whole
    /// by the engine, which knows when one is due.
    fn hide_secrets(&self, command: &str) -> Option<String> {
        let _ = command;
        None
    }

    /// Whether `data`, which the server sent when no reply was owed (before a command is
    /// sent, with every earlier one answered), answers a command never sent: an error (76),
    /// never taken as the reply to the next command, which would leave every later reply
    /// answering the command before it. Yes unless the protocol says otherwise: IMAP's
    /// untagged data may come at any time; FTP's and SMTP's `421` closing a connection too
    /// (RFC 959 section 5.4, RFC 5321 section 3.8), read as the next command's reply (75).
    fn unsolicited(&self, data: &[u8]) -> bool {
        let _ = data;
        true
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

/// `text` decoded (lossily) and trimmed, control characters made visible: a status line's
/// text as messages show it.
pub fn visible_text(text: &[u8]) -> String {
    visible(String::from_utf8_lossy(text).trim())
}

/// The response code in brackets at the start of a status line's text, without its brackets:
/// POP3's `[IN-USE]` (RFC 2449 section 8), IMAP's `[AUTHENTICATIONFAILED]` (RFC 3501 section
/// 7.1). Pure.
pub fn bracketed_code(text: &[u8]) -> Option<&[u8]> {
    let rest = text.strip_prefix(b"[")?;
    let end = rest.iter().position(|&b| b == b']')?;
    Some(&rest[..end])
}

/// The error a refusal (or an unexpected status) is: `CONTEXT: server said: WORD TEXT`, of
/// `kind`.
pub fn server_said(kind: Kind, context: &dyn fmt::Display, word: &str, text: &str) -> Error {
    Error::new(kind, format!("{context}: server said: {word} {text}"))
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
    /// The reply a first line with `code` and `text` starts.
    pub fn first_line(code: u16, text: &[u8]) -> Self {
        Reply {
            code,
            lines: vec![text.to_vec()],
        }
    }

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
            redact_in(l, secret);
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

/// The code, separator and text of a line that must be a coded one (FTP's and SMTP's first
/// lines, all of SMTP's): a line without a code is malformed. Pure.
pub fn coded_line(line: &[u8]) -> Result<(u16, Option<u8>, &[u8]), Malformed> {
    parse_reply_line(line).ok_or_else(|| Malformed("not a reply line: no three-digit code".into()))
}

/// The one step of a dialect whose every reply is one line (POP3, IMAP): the line, parsed,
/// is the whole reply.
pub fn single_line<R>(
    reply: &mut Option<R>,
    parsed: Result<R, Malformed>,
) -> Result<Step, Malformed> {
    *reply = Some(parsed?);
    Ok(Step::Done)
}

/// What a coded line's separator says: `-` is followed by more lines; a space, or the code
/// alone, ends the reply.
pub fn step_after(sep: Option<u8>) -> Step {
    if sep == Some(b'-') {
        Step::More
    } else {
        Step::Done
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Feeds `lines` to `d` as the engine would: the reply, or why not, or `None` when the
    /// lines ran out before the reply ended.
    pub(crate) fn parse<D: Dialect>(
        d: &D,
        lines: &[&[u8]],
    ) -> Option<Result<(D::Reply, usize), String>> {
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
        // A line, and its code, the separator after it and the text.
        type Case = (&'static [u8], u16, Option<u8>, &'static [u8]);
        let good: [Case; 5] = [
            (b"220 hi", 220, Some(b' '), b"hi"),
            (b"220-hi", 220, Some(b'-'), b"hi"),
            (b"220", 220, None, b""),
            (b"999 x", 999, Some(b' '), b"x"),
            (b"100 x", 100, Some(b' '), b"x"),
        ];
        for (line, code, sep, text) in good {
            assert_eq!(parse_reply_line(line), Some((code, sep, text)), "{line:?}");
        }
        let bad_cases: [&[u8]; 8] = [
            b"22", b"220x", b"022 x", b"2a0 x", b"22a x", b"a20 x", b"", b" 220 x",
        ];
        for bad in bad_cases {
            assert_eq!(parse_reply_line(bad), None, "{bad:?}");
        }
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
}
