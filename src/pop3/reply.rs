//! POP3's replies, the [`Pop3`] dialect of the shared engine: one status line (RFC 1939
//! section 3), `+OK`, `-ERR`, or the `+ ` of a SASL challenge (RFC 5034 section 4), with the
//! extended response codes of RFC 2449 section 8 deciding what a `-ERR` is. Multi-line data
//! after `+OK` is dot-terminated and read with [`crate::wire::Conn::dot_body`].

use crate::error::{Error, Kind};
use crate::wire::reply::{
    Dialect, Malformed, Response, Step, bracketed_code, server_said, single_line, visible_text,
};
use crate::wire::transcript::{hide_by_verb, redact_in};
use std::fmt;

/// POP3's status lines: every reply is one line.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pop3;

impl Dialect for Pop3 {
    type Reply = Pop3Reply;

    fn line(&self, reply: &mut Option<Pop3Reply>, line: &[u8]) -> Result<Step, Malformed> {
        single_line(reply, parse_pop3_line(line))
    }

    /// `PASS`, `APOP user digest` (RFC 1939 section 7), `AUTH mechanism initial-response`
    /// (RFC 5034 section 4).
    fn hide_secrets(&self, command: &str) -> Option<String> {
        hide_by_verb(command, &[("PASS", 1), ("APOP", 2), ("AUTH", 2)])
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
        visible_text(&self.text)
    }

    /// The extended response code at the start of the text (RFC 2449 section 8), without
    /// its brackets: `-ERR [IN-USE] locked` has `IN-USE`.
    pub fn resp_code(&self) -> Option<&[u8]> {
        bracketed_code(&self.text)
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

impl Pop3Reply {
    /// What a `-ERR` is, by its response code.
    fn err_kind(&self) -> Kind {
        match self.resp_code() {
            Some(b"AUTH") => Kind::Auth,
            Some(b"SYS/TEMP" | b"IN-USE" | b"LOGIN-DELAY") => Kind::TempFail,
            _ => Kind::Unavailable,
        }
    }
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
            Pop3Status::Err => ("-ERR", self.err_kind()),
            Pop3Status::Ok => ("+OK", Kind::Protocol),
            Pop3Status::Continue => ("+", Kind::Protocol),
        };
        server_said(kind, context, indicator, &self.text())
    }

    fn redact(&mut self, secret: &[u8]) {
        redact_in(&mut self.text, secret);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::reply::tests::parse;
    use crate::wire::tests::pop3;

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
        let bad_cases: [&[u8]; 10] = [
            b"+OKAY",
            b"+OK\tx",
            b"-ERROR",
            b"+ok fine",
            b"OK",
            b"+",
            b"",
            b" +OK",
            b"-ERR\x00",
            b"250 ok",
        ];
        for bad in bad_cases {
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
    fn pop3_replies_in_every_chunking() {
        let input = b"+OK POP3 ready <1.2@h>\r\n-ERR [IN-USE] locked\r\n+ \r\n+OK\r\n";
        for chunk in 1..=input.len() {
            let mut c = pop3(input, chunk);
            let r = c.read_reply().unwrap();
            assert_eq!(r.status, Pop3Status::Ok);
            assert_eq!(r.text, b"POP3 ready <1.2@h>");
            let r = c.read_reply().unwrap();
            assert_eq!(r.status, Pop3Status::Err);
            assert_eq!(r.error(&"x").exit_code(), 75);
            assert_eq!(c.read_reply().unwrap().status, Pop3Status::Continue);
            assert_eq!(c.read_reply().unwrap().status, Pop3Status::Ok);
        }
        // A -ERR is one line and has no data: what a broken server sends after it is read
        // as the next reply, and refused.
        let mut c = pop3(b"-ERR no such message\r\n1 120\r\n.\r\n", 1);
        assert_eq!(c.read_reply().unwrap().status, Pop3Status::Err);
        assert_eq!(c.read_reply().unwrap_err().exit_code(), 76);
        for bad in [&b"+OKdone\r\n"[..], b"OK\r\n", b"+\r\n", b"250 ok\r\n"] {
            let e = pop3(bad, 1).read_reply().unwrap_err();
            assert_eq!(e.exit_code(), 76, "{e}");
        }
    }
}
