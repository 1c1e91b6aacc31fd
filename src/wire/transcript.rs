//! What `--verbose` shows of a connection, and what it never shows: the [`Transcript`] hook
//! (`C:` and `S:` lines, control characters made visible, long lines cut), and the redaction
//! of secrets, in the commands sent (each [`Dialect`](crate::wire::reply::Dialect) names
//! which of its commands carry one, with [`hide_by_verb`] and [`hide_after`]) and in the
//! replies that repeat one ([`redact_bytes`]).

use crate::error::visible;
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// Where `--verbose` transcript lines go (`C: ...` and `S: ...`, control characters made
/// visible, long lines cut). Cloned into every connection of a run, whatever the protocol;
/// the library never prints: the caller decides where the lines go.
#[derive(Clone)]
pub struct Transcript(Arc<dyn Fn(&str) + Send + Sync>);

impl Transcript {
    pub fn new(sink: impl Fn(&str) + Send + Sync + 'static) -> Self {
        Transcript(Arc::new(sink))
    }

    /// A line the client sent, as it is shown (secrets already replaced by `****`).
    pub fn client(&self, shown: &str) {
        (self.0)(&format!("C: {}", printable(shown)));
    }

    /// A line the server sent.
    pub fn server(&self, line: &[u8]) {
        (self.0)(&format!("S: {}", printable(&String::from_utf8_lossy(line))));
    }
}

impl fmt::Debug for Transcript {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Transcript")
    }
}

/// Shows at most 200 characters of a line from the server, with control characters made
/// visible ([`visible`]), for error messages and the transcript.
pub fn printable(line: &str) -> String {
    match line.char_indices().nth(200) {
        Some((i, _)) => format!("{}...", visible(&line[..i])),
        None => visible(line),
    }
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

/// Replaces every occurrence of `secret` in `text` by `****`, in place: a reply's text.
pub fn redact_in(text: &mut Vec<u8>, secret: &[u8]) {
    if text.windows(secret.len().max(1)).any(|w| w == secret) {
        *text = redact_bytes(text, secret);
    }
}

/// `line` with every secret in `echoes` replaced by `****`, for the transcript.
pub(crate) fn redact_echoes<'a>(line: &'a [u8], echoes: &[Vec<u8>]) -> Cow<'a, [u8]> {
    let mut out = Cow::Borrowed(line);
    for secret in echoes {
        if out.windows(secret.len()).any(|w| w == &secret[..]) {
            out = Cow::Owned(redact_bytes(&out, secret));
        }
    }
    out
}

/// `command` with everything after its first `keep` words replaced by `****`; `None` when
/// nothing follows them (`AUTH LOGIN` carries no initial response). Pure. Words are split at
/// single spaces, as commands are sent.
pub fn hide_after(command: &str, keep: usize) -> Option<String> {
    let mut end = 0;
    for _ in 0..keep {
        end += command[end..].find(' ')? + 1;
    }
    Some(format!("{}****", &command[..end]))
}

/// `command` with its secret hidden when its verb (its first word, in any case) is one of
/// `verbs`, each with how many words it keeps shown ([`hide_after`]): FTP's `("PASS", 1)`
/// shows `PASS ****`, SMTP's `("AUTH", 2)` shows `AUTH PLAIN ****`. Pure.
pub fn hide_by_verb(command: &str, verbs: &[(&str, usize)]) -> Option<String> {
    let verb = command.split(' ').next().unwrap_or(command);
    let &(_, keep) = verbs.iter().find(|(v, _)| v.eq_ignore_ascii_case(verb))?;
    hide_after(command, keep)
}

#[cfg(test)]
mod tests {
    use crate::ftp::reply::Ftp;
    use crate::imap::reply::Imap;
    use crate::pop3::reply::{Pop3, Pop3Status};
    use crate::smtp::reply::Smtp;
    use crate::wire::reply::{Dialect, Response};
    use crate::wire::tests::{collecting, conn, imap, recording, scripted, smtp};

    #[test]
    fn transcript_redacts_secrets() {
        let (mut c, seen) = recording(conn(b"331 need pass\r\n", 100));
        c.send_command("USER", Some("bob")).unwrap();
        c.read_reply().unwrap();
        c.send_command("PASS", Some("hunter2")).unwrap();
        c.send_command("AUTH", Some("TLS")).unwrap();
        c.send_secret_line("aHVudGVyMg==").unwrap();
        assert_eq!(
            format!("{:?}", c.transcript.as_ref().unwrap()),
            "Transcript"
        );
        let seen = seen.lock().unwrap().join("\n");
        assert_eq!(
            seen,
            "C: USER bob\nS: 331 need pass\nC: PASS ****\nC: AUTH TLS\nC: ****"
        );
        // The secrets did go to the server.
        let wire = c.stream().written_str();
        assert!(wire.contains("PASS hunter2\r\n") && wire.contains("aHVudGVyMg==\r\n"));
        // Each dialect says which of its commands carry a secret.
        let (t, seen) = collecting();
        let mut c = smtp(b"", 1);
        c.set_transcript(Some(t.clone()));
        c.send_command("AUTH", Some("PLAIN AGJvYgBodW50ZXIy"))
            .unwrap();
        c.send_command("AUTH", Some("LOGIN")).unwrap();
        assert!(
            c.stream()
                .written_str()
                .starts_with("AUTH PLAIN AGJvYgBodW50ZXIy\r\n")
        );
        let mut c = imap(b"", 1);
        c.set_transcript(Some(t.clone()));
        c.send_command("a1", Some("LOGIN \"bob\" \"hunter2\""))
            .unwrap();
        c.send_command("a2", Some("SELECT LOGIN")).unwrap();
        let mut c = conn(b"", 1);
        c.set_transcript(Some(t));
        c.send_command("RETR", Some("LOGIN hunter2")).unwrap();
        assert_eq!(
            seen.lock().unwrap().join("\n"),
            "C: AUTH PLAIN ****\nC: AUTH LOGIN\nC: a1 LOGIN \"bob\" ****\nC: a2 SELECT LOGIN\n\
             C: RETR LOGIN hunter2"
        );
    }

    #[test]
    fn replies_that_repeat_a_secret_are_redacted() {
        // FTP: a 530 that repeats the password, then a later reply that happens to hold
        // the same text, once a command without a secret has gone.
        let (t, seen) = collecting();
        // Each reply released after its command: one there before its command was sent
        // would answer no command (refused).
        let mut c = scripted(
            &[
                b"",
                b"530 PASS hunter2 is wrong\r\n",
                b"230 ok hunter2\r\n",
                b"257 \"/hunter2\"\r\n",
            ],
            100,
            Ftp,
        );
        c.set_transcript(Some(t));
        c.send_command("PASS", Some("hunter2")).unwrap();
        let r = c.read_reply().unwrap();
        assert_eq!(r.text(), "PASS **** is wrong");
        assert_eq!(
            r.error("login").to_string(),
            "login: server said: 530 PASS **** is wrong"
        );
        // An OK is data: shown redacted, kept as sent.
        c.send_command("PASS", Some("hunter2")).unwrap();
        assert_eq!(c.read_reply().unwrap().text(), "ok hunter2");
        c.send_command("PWD", None).unwrap();
        assert_eq!(c.read_reply().unwrap().text(), "\"/hunter2\"");
        let seen = seen.lock().unwrap().join("\n");
        assert_eq!(
            seen,
            "C: PASS ****\nS: 530 PASS **** is wrong\nC: PASS ****\nS: 230 ok ****\nC: PWD\nS: 257 \"/hunter2\""
        );
        // SMTP: the answers to challenges and what hide() adds, in every line of the
        // refusal; a SASL cancel (*) is no secret, but keeps them hidden.
        let (t, seen) = collecting();
        let mut c = scripted(
            &[
                b"",
                b"334 VXNlcm5hbWU6\r\n",
                b"334 UGFzc3dvcmQ6\r\n",
                b"535-no Ym9i aHVudGVyMg==\r\n535 (hunter2)\r\n",
                b"501 * x hunter2\r\n",
            ],
            7,
            Smtp,
        );
        c.set_transcript(Some(t));
        c.send_command("AUTH", Some("LOGIN")).unwrap();
        c.hide("hunter2");
        c.read_reply().unwrap();
        c.send_secret_line("Ym9i").unwrap();
        c.read_reply().unwrap();
        c.send_secret_line("aHVudGVyMg==").unwrap();
        let r = c.read_reply().unwrap();
        assert_eq!(r.text(), "no **** **** (****)");
        c.cancel_sasl().unwrap();
        // Shown as it is, and what the exchange hid stays hidden in the answer to it.
        assert_eq!(c.read_reply().unwrap().text(), "* x ****");
        let seen = seen.lock().unwrap().join("\n");
        assert!(
            seen.ends_with("S: 535-no **** ****\nS: 535 (****)\nC: *\nS: 501 * x ****"),
            "{seen}"
        );
        assert!(
            !seen.contains("hunter2") && !seen.contains("aHVudGVyMg"),
            "{seen}"
        );
    }

    #[test]
    fn a_malformed_reply_that_repeats_a_secret_is_quoted_redacted() {
        // No reply code, or a code that changes inside a multi-line reply: the line is
        // quoted in the error, with what was just sent as a secret hidden.
        let input_cases: [&[u8]; 2] = [
            b"rejected: AUTH PLAIN AGJvYgBodW50ZXIy\r\n",
            b"535-no\r\n501 AGJvYgBodW50ZXIy (hunter2)\r\n",
        ];
        for input in input_cases {
            let (mut c, seen) = recording(smtp(input, 5));
            c.send_command("AUTH", Some("PLAIN AGJvYgBodW50ZXIy"))
                .unwrap();
            c.hide("hunter2");
            let e = c.read_reply().unwrap_err();
            assert_eq!(e.exit_code(), 76, "{e}");
            let shown = format!("{e}\n{}", seen.lock().unwrap().join("\n"));
            assert!(shown.contains("malformed reply"), "{shown}");
            assert!(
                !shown.contains("AGJvYgBodW50ZXIy") && !shown.contains("hunter2"),
                "{shown}"
            );
        }
    }

    #[test]
    fn answers_to_sasl_challenges_are_hidden() {
        // SMTP AUTH LOGIN (RFC 4954): user and password go as answers to 334s.
        let (t, seen) = collecting();
        let mut c = scripted(
            &[
                b"",
                b"334 VXNlcm5hbWU6\r\n",
                b"334 UGFzc3dvcmQ6\r\n",
                b"235 2.7.0 ok\r\n",
                b"250 ok\r\n",
            ],
            1,
            Smtp,
        );
        c.set_transcript(Some(t));
        c.send_command("AUTH", Some("LOGIN")).unwrap();
        assert!(c.read_reply().unwrap().is_continuation());
        c.send_command("Ym9i", None).unwrap();
        c.read_reply().unwrap();
        c.send_command("aHVudGVyMg==", None).unwrap();
        assert_eq!(c.read_reply().unwrap().code, 235);
        c.send_command("MAIL", Some("FROM:<bob@example.com>"))
            .unwrap();
        c.read_reply().unwrap();
        assert_eq!(
            seen.lock().unwrap().join("\n"),
            "C: AUTH LOGIN\nS: 334 VXNlcm5hbWU6\nC: ****\nS: 334 UGFzc3dvcmQ6\nC: ****\n\
             S: 235 2.7.0 ok\nC: MAIL FROM:<bob@example.com>\nS: 250 ok"
        );
        // POP3 AUTH (RFC 5034): the same with "+ ", and an error message hides it too.
        let (mut c, seen) = recording(scripted(&[b"", b"+ \r\n", b"-ERR [AUTH] no\r\n"], 1, Pop3));
        c.send_command("AUTH", Some("PLAIN")).unwrap();
        assert!(c.read_reply().unwrap().is_continuation());
        let e = c.send_command("AGJvYgBo\r", None).unwrap_err();
        assert!(e.to_string().ends_with(": ****"), "{e}");
        c.send_command("AGJvYgBodW50ZXIy", None).unwrap();
        assert_eq!(c.read_reply().unwrap().status, Pop3Status::Err);
        c.send_command("QUIT", None).unwrap();
        assert_eq!(
            seen.lock().unwrap().join("\n"),
            "C: AUTH PLAIN\nS: + \nC: ****\nS: -ERR [AUTH] no\nC: QUIT"
        );
    }

    /// `line` as dialect `d` shows it.
    fn shown<D: Dialect>(d: &D, line: &str) -> String {
        d.hide_secrets(line).unwrap_or_else(|| line.to_string())
    }

    #[test]
    fn each_dialect_hides_the_secrets_of_its_own_commands() {
        // A command line, then how FTP, SMTP, POP3 and IMAP show it ("" for as it is): FTP
        // PASS and ACCT, POP3 PASS and APOP, SMTP and POP3 AUTH with an initial response,
        // IMAP's tagged LOGIN and AUTHENTICATE (its second word, after the tag). Another
        // protocol's secret-carrying word is just a word (a file named LOGIN).
        let apop = "APOP bob c4c9334bac560ecc979e58001b3e22fb";
        for (line, want) in [
            ("PASS hunter2", ["PASS ****", "", "PASS ****", ""]),
            ("pass hunter2 x", ["pass ****", "", "pass ****", ""]),
            ("PASS ", ["PASS ****", "", "PASS ****", ""]),
            ("PASS", ["", "", "", ""]),
            ("ACCT secret", ["ACCT ****", "", "", ""]),
            (apop, ["", "", "APOP bob ****", ""]),
            (
                "AUTH PLAIN AGJvYgBodW50ZXIy",
                ["", "AUTH PLAIN ****", "AUTH PLAIN ****", ""],
            ),
            (
                "AUTH LOGIN Ym9i",
                ["", "AUTH LOGIN ****", "AUTH LOGIN ****", "AUTH LOGIN ****"],
            ),
            (
                "auth login Ym9i",
                ["", "auth login ****", "auth login ****", "auth login ****"],
            ),
            ("AUTH LOGIN", ["", "", "", ""]),
            ("AUTH TLS", ["", "", "", ""]),
            ("AUTH", ["", "", "", ""]),
            ("USER bob", ["", "", "", ""]),
            ("RETR pass word", ["", "", "", ""]),
            ("RETR LOGIN hunter2", ["", "", "", "RETR LOGIN ****"]),
            ("MAIL FROM:<a@b>", ["", "", "", ""]),
            (
                "a001 LOGIN bob hunter2",
                ["", "", "", "a001 LOGIN bob ****"],
            ),
            (
                "a001 login \"bob smith\" \"hun ter\"",
                ["", "", "", "a001 login \"bob smith\" ****"],
            ),
            (
                "a001 LOGIN \"b\\\"ob\" x",
                ["", "", "", "a001 LOGIN \"b\\\"ob\" ****"],
            ),
            (
                "a1 LOGIN \"bob\\\"\" x",
                ["", "", "", "a1 LOGIN \"bob\\\"\" ****"],
            ),
            (
                "a1 LOGIN \"b\\\\\" x",
                ["", "", "", "a1 LOGIN \"b\\\\\" ****"],
            ),
            ("a001 LOGIN \"bob x", ["", "", "", "a001 LOGIN ****"]),
            ("a001 LOGIN {3}", ["", "", "", "a001 LOGIN ****"]),
            ("a001 LOGIN bob", ["", "", "", "a001 LOGIN ****"]),
            ("a001 LOGIN", ["", "", "", ""]),
            (
                "a1 AUTHENTICATE PLAIN AGJvYgBo",
                ["", "", "", "a1 AUTHENTICATE PLAIN ****"],
            ),
            ("a1 AUTHENTICATE PLAIN", ["", "", "", ""]),
            ("a1 SELECT INBOX", ["", "", "", ""]),
            ("a1 SELECT LOGIN", ["", "", "", ""]),
            ("NOOP", ["", "", "", ""]),
        ] {
            let want = want.map(|w| if w.is_empty() { line } else { w });
            let got = [
                shown(&Ftp, line),
                shown(&Smtp, line),
                shown(&Pop3, line),
                shown(&Imap, line),
            ];
            assert_eq!(got, want, "{line}");
        }
    }
}
