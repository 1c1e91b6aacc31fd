//! The command/response engine shared by FTP, SMTP and POP3 (curl's pingpong.c idea):
//! one place appends CRLF to commands and refuses CR, LF and NUL in them; one place reads
//! reply lines, bounded in length and count; one transcript hook for `--verbose`, with
//! passwords and AUTH payloads redacted.

use crate::error::{Error, Kind, Result, visible};
use crate::net::stream::Timed;
use crate::net::stream::Transport;
use crate::net::tls::TlsContext;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

/// A reply line longer than this is a protocol error, never unbounded memory.
pub const MAX_LINE: usize = 8 * 1024;
/// A multi-line reply of more lines than this is a protocol error.
pub const MAX_REPLY_LINES: usize = 1000;
const READ_BUF: usize = 16 * 1024;

/// Receives transcript lines (`C: ...`, `S: ...`) for `--verbose`.
pub type Transcript = Box<dyn FnMut(&str) + Send>;

/// A numeric reply (RFC 959 section 4.2, RFC 5321 section 4.2): a three-digit code and the
/// text of each line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub lines: Vec<String>,
}

impl Reply {
    /// The first digit: 1 preliminary, 2 done, 3 more needed, 4 transient, 5 permanent.
    pub fn class(&self) -> u16 {
        self.code / 100
    }

    /// The text of all lines, joined by spaces, for messages.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for (i, l) in self.lines.iter().enumerate() {
            let l = l.trim();
            if l.is_empty() {
                continue;
            }
            if i > 0 && !out.is_empty() {
                out.push(' ');
            }
            out.push_str(l);
        }
        out
    }

    /// This reply as an error for `context`, classified by its code.
    pub fn error(&self, context: impl std::fmt::Display) -> Error {
        Error::reply(context, self.code, &self.text())
    }
}

/// Splits one reply line into code, separator and text. Pure; `None` when the line does not
/// start with three digits followed by a space, a hyphen or the end of the line.
pub fn parse_reply_line(line: &str) -> Option<(u16, Option<char>, &str)> {
    let b = line.as_bytes();
    if b.len() < 3 || !b[..3].iter().all(u8::is_ascii_digit) || b[0] == b'0' {
        return None;
    }
    let code = line[..3].parse().ok()?;
    match b.get(3) {
        None => Some((code, None, "")),
        Some(b' ') => Some((code, Some(' '), &line[4..])),
        Some(b'-') => Some((code, Some('-'), &line[4..])),
        Some(_) => None,
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

/// A command/response connection over any [`Transport`].
pub struct Conn<S> {
    stream: S,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    transcript: Option<Transcript>,
    /// Names the server in messages: `host:port`.
    peer: String,
    /// How long one whole reply may take to arrive, however it trickles in.
    reply_timeout: Option<Duration>,
    /// When set, the end of the current phase (connect, greeting, handshake): no reply
    /// may end later than this, whatever `reply_timeout` allows.
    phase_deadline: Option<Instant>,
}

impl<S: Read + Write> Conn<S> {
    pub fn new(stream: S, peer: impl Into<String>) -> Self {
        Conn {
            stream,
            buf: vec![0u8; READ_BUF].into_boxed_slice(),
            start: 0,
            end: 0,
            transcript: None,
            peer: peer.into(),
            reply_timeout: None,
            phase_deadline: None,
        }
    }

    /// Bounds every reply as a whole: a server that sends one byte just before each read
    /// would time out, is still cut off when the whole reply is not there in `timeout`.
    pub fn set_reply_timeout(&mut self, timeout: Duration) {
        self.reply_timeout = Some(timeout);
    }

    pub fn reply_timeout(&self) -> Option<Duration> {
        self.reply_timeout
    }

    /// Bounds every reply until `deadline` (or no longer, with `None`): the connect phase
    /// (greeting, `120` "ready in N minutes" lines, login) has one deadline as a whole.
    pub fn set_phase_deadline(&mut self, deadline: Option<Instant>) {
        self.phase_deadline = deadline;
    }

    pub fn set_transcript(&mut self, t: Option<Transcript>) {
        self.transcript = t;
    }

    pub fn take_transcript(&mut self) -> Option<Transcript> {
        self.transcript.take()
    }

    pub fn peer(&self) -> &str {
        &self.peer
    }

    pub fn stream(&self) -> &S {
        &self.stream
    }

    pub fn stream_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    fn log(&mut self, dir: &str, line: &str) {
        if let Some(t) = &mut self.transcript {
            t(&format!("{dir} {}", printable(line)));
        }
    }

    /// Sends `VERB` or `VERB arg` with CRLF. Refuses CR, LF and NUL anywhere in it, so a file
    /// name can never inject a command. PASS, APOP and AUTH payloads are redacted in the
    /// transcript.
    pub fn send_command(&mut self, verb: &str, arg: Option<&str>) -> Result<()> {
        let line = match arg {
            Some(a) => format!("{verb} {a}"),
            None => verb.to_string(),
        };
        let shown = redact_command(verb, arg);
        if line.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
            // The message shows the command as the transcript would: a password with a
            // stray CR is refused, never printed.
            return Err(Error::new(
                Kind::Usage,
                format!(
                    "{}: refusing to send a command containing CR, LF or NUL: {}",
                    self.peer,
                    printable(&shown)
                ),
            ));
        }
        self.log("C:", &shown);
        self.write_line(&line)
    }

    /// Sends a line that is a secret as a whole (an SMTP AUTH response), shown as `****`.
    pub fn send_secret_line(&mut self, line: &str) -> Result<()> {
        if line.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
            return Err(Error::new(
                Kind::Usage,
                format!(
                    "{}: refusing to send a line containing CR, LF or NUL",
                    self.peer
                ),
            ));
        }
        self.log("C:", "****");
        self.write_line(line)
    }

    fn write_line(&mut self, line: &str) -> Result<()> {
        let mut bytes = Vec::with_capacity(line.len() + 2);
        bytes.extend_from_slice(line.as_bytes());
        bytes.extend_from_slice(b"\r\n");
        let peer = &self.peer;
        self.stream
            .write_all(&bytes)
            .and_then(|_| self.stream.flush())
            .map_err(|e| Error::network(peer, e))
    }

    /// Whether bytes the server sent are waiting, unread, in our buffer.
    pub fn has_buffered(&self) -> bool {
        self.start < self.end
    }
}

impl<S: Read + Write + Timed> Conn<S> {
    /// Reads one line, without its CRLF (a bare LF also ends a line). Longer than
    /// [`MAX_LINE`] is a protocol error; EOF is a broken connection.
    pub fn read_line(&mut self) -> Result<String> {
        let deadline = self.deadline();
        self.read_line_by(deadline)
    }

    /// When the reply now starting must be complete.
    fn deadline(&self) -> Option<Instant> {
        let by_reply = self.reply_timeout.map(|t| Instant::now() + t);
        match (by_reply, self.phase_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn read_line_by(&mut self, deadline: Option<Instant>) -> Result<String> {
        let mut line: Vec<u8> = Vec::new();
        loop {
            if self.start < self.end {
                let avail = &self.buf[self.start..self.end];
                if let Some(i) = avail.iter().position(|&b| b == b'\n') {
                    line.extend_from_slice(&avail[..i]);
                    self.start += i + 1;
                    if line.last() == Some(&b'\r') {
                        line.pop();
                    }
                    if line.len() > MAX_LINE {
                        return Err(self.overlong());
                    }
                    return Ok(String::from_utf8_lossy(&line).into_owned());
                }
                line.extend_from_slice(avail);
                self.start = self.end;
                if line.len() > MAX_LINE + 1 {
                    return Err(self.overlong());
                }
            }
            if let Some(d) = deadline {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(self.too_slow());
                }
                self.stream
                    .set_read_timeout(Some(left))
                    .map_err(|e| Error::network(&self.peer, e))?;
            }
            let n = match self.stream.read(&mut self.buf) {
                Ok(0) => {
                    return Err(Error::network(
                        &self.peer,
                        std::io::Error::from(std::io::ErrorKind::UnexpectedEof),
                    ));
                }
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e)
                    if deadline.is_some_and(|d| Instant::now() >= d)
                        && matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) =>
                {
                    return Err(self.too_slow());
                }
                Err(e) => return Err(Error::network(&self.peer, e)),
            };
            self.start = 0;
            self.end = n;
        }
    }

    fn too_slow(&self) -> Error {
        Error::new(
            Kind::Timeout,
            format!(
                "{}: timed out waiting for a complete reply from the server",
                self.peer
            ),
        )
    }

    fn overlong(&self) -> Error {
        Error::new(
            Kind::Protocol,
            format!(
                "{}: the server sent a line longer than {} KiB",
                self.peer,
                MAX_LINE / 1024
            ),
        )
    }

    /// Reads a numeric reply (FTP and SMTP). A multi-line reply starts `123-` and ends with a
    /// line that starts with the same code and a space (RFC 959 4.2).
    pub fn read_reply(&mut self) -> Result<Reply> {
        let deadline = self.deadline();
        let first = self.read_line_by(deadline)?;
        self.log("S:", &first);
        let (code, sep, text) = parse_reply_line(&first).ok_or_else(|| {
            Error::new(
                Kind::Protocol,
                format!(
                    "{}: malformed reply from the server: \"{}\"",
                    self.peer,
                    printable(&first)
                ),
            )
        })?;
        let mut lines = vec![text.to_string()];
        if sep == Some('-') {
            loop {
                if lines.len() >= MAX_REPLY_LINES {
                    return Err(Error::new(
                        Kind::Protocol,
                        format!(
                            "{}: a reply of more than {MAX_REPLY_LINES} lines",
                            self.peer
                        ),
                    ));
                }
                let line = self.read_line_by(deadline)?;
                self.log("S:", &line);
                match parse_reply_line(&line) {
                    Some((c, Some(' ') | None, text)) if c == code => {
                        lines.push(text.to_string());
                        break;
                    }
                    // SMTP-style continuation lines carry the code too; FTP's may not.
                    Some((c, Some('-'), text)) if c == code => lines.push(text.to_string()),
                    _ => lines.push(line),
                }
            }
        }
        Ok(Reply { code, lines })
    }
}

impl<S: Transport> Conn<S> {
    /// Upgrades the connection to TLS after the server agreed (AUTH TLS, STARTTLS, STLS).
    /// Bytes the server sent before the handshake are refused: they would be read later as
    /// if they came over TLS (the response-injection attack, CVE-2011-0411 class).
    pub fn start_tls(self, tls: &TlsContext, server_name: &str) -> Result<Self> {
        if self.has_buffered() {
            return Err(Error::new(
                Kind::Protocol,
                format!(
                    "{}: the server sent data before the TLS handshake (refused: possible injection attack)",
                    self.peer
                ),
            ));
        }
        let deadline = self.deadline();
        let Conn {
            stream,
            buf,
            transcript,
            peer,
            reply_timeout,
            phase_deadline,
            ..
        } = self;
        let stream = stream.start_tls(tls, server_name, deadline)?;
        Ok(Conn {
            stream,
            buf,
            start: 0,
            end: 0,
            transcript,
            peer,
            reply_timeout,
            phase_deadline,
        })
    }
}

/// The command as the transcript shows it: secrets replaced by `****`.
fn redact_command(verb: &str, arg: Option<&str>) -> String {
    match (verb.to_ascii_uppercase().as_str(), arg) {
        ("PASS" | "ACCT", Some(_)) => format!("{verb} ****"),
        ("APOP", Some(a)) => {
            let user = a.split(' ').next().unwrap_or("");
            format!("{verb} {user} ****")
        }
        ("AUTH", Some(a)) => match a.split_once(' ') {
            Some((mech, _)) => format!("{verb} {mech} ****"),
            None => format!("{verb} {a}"),
        },
        (_, Some(a)) => format!("{verb} {a}"),
        (_, None) => verb.to_string(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io;
    use std::sync::{Arc, Mutex};

    /// An in-memory stream: serves `input` in chunks of `chunk` bytes, records what is written.
    pub struct MockStream {
        pub input: Vec<u8>,
        pub pos: usize,
        pub chunk: usize,
        pub written: Vec<u8>,
    }

    impl MockStream {
        pub fn new(input: &[u8], chunk: usize) -> Self {
            MockStream {
                input: input.to_vec(),
                pos: 0,
                chunk,
                written: Vec::new(),
            }
        }
    }

    impl Read for MockStream {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.chunk.min(buf.len()).min(self.input.len() - self.pos);
            buf[..n].copy_from_slice(&self.input[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
    }

    impl Timed for MockStream {
        fn set_read_timeout(&self, _: Option<std::time::Duration>) -> io::Result<()> {
            Ok(())
        }
    }

    impl Write for MockStream {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.written.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn conn(input: &[u8], chunk: usize) -> Conn<MockStream> {
        Conn::new(MockStream::new(input, chunk), "mock:21")
    }

    #[test]
    fn multi_line_replies_in_every_chunking() {
        let input = b"211-Features:\r\n EPSV\r\n211-SIZE\r\n MDTM\r\n211 End\r\n200 next\r\n";
        for chunk in 1..=input.len() {
            let mut c = conn(input, chunk);
            let r = c.read_reply().unwrap();
            assert_eq!(r.code, 211);
            assert_eq!(r.lines, vec!["Features:", " EPSV", "SIZE", " MDTM", "End"]);
            assert_eq!(c.read_reply().unwrap().code, 200);
        }
    }

    #[test]
    fn bare_lf_and_code_only_lines() {
        let mut c = conn(b"220\n230 ok\n", 3);
        assert_eq!(c.read_reply().unwrap().code, 220);
        assert_eq!(c.read_reply().unwrap().text(), "ok");
    }

    #[test]
    fn malformed_replies_are_protocol_errors() {
        for bad in [
            &b"hello\r\n"[..],
            b"22 short\r\n",
            b"2200 x\r\n",
            b"abc x\r\n",
            b"022 x\r\n",
        ] {
            let e = conn(bad, 64).read_reply().unwrap_err();
            assert_eq!(e.exit_code(), 76, "{e}");
        }
    }

    #[test]
    fn eof_mid_reply_is_a_broken_connection() {
        let e = conn(b"211-start\r\n more", 4).read_reply().unwrap_err();
        assert_eq!(e.exit_code(), 74, "{e}");
    }

    #[test]
    fn overlong_lines_and_replies_are_bounded() {
        let mut long = b"200 ".to_vec();
        long.extend(std::iter::repeat_n(b'x', MAX_LINE + 10));
        long.extend_from_slice(b"\r\n");
        let e = conn(&long, 4096).read_reply().unwrap_err();
        assert!(e.to_string().contains("longer than 8 KiB"), "{e}");
        // Without any newline at all: still bounded.
        let e = conn(&vec![b'2'; 100_000], 4096).read_reply().unwrap_err();
        assert_eq!(e.exit_code(), 76);
        let mut many = b"211-x\r\n".to_vec();
        for _ in 0..MAX_REPLY_LINES + 5 {
            many.extend_from_slice(b" line\r\n");
        }
        let e = conn(&many, 4096).read_reply().unwrap_err();
        assert!(e.to_string().contains("more than 1000 lines"), "{e}");
    }

    #[test]
    fn commands_get_crlf_and_injection_is_refused() {
        let mut c = conn(b"", 1);
        c.send_command("RETR", Some("a b.txt")).unwrap();
        assert_eq!(c.stream().written, b"RETR a b.txt\r\n");
        for evil in ["x\r\nDELE y", "x\ny", "x\0"] {
            let e = c.send_command("RETR", Some(evil)).unwrap_err();
            assert_eq!(e.exit_code(), 64);
        }
        assert_eq!(c.stream().written, b"RETR a b.txt\r\n");
    }

    #[test]
    fn transcript_redacts_secrets() {
        let seen = Arc::new(Mutex::new(Vec::<String>::new()));
        let s2 = seen.clone();
        let mut c = conn(b"331 need pass\r\n", 100);
        c.set_transcript(Some(Box::new(move |l| {
            s2.lock().unwrap().push(l.to_string())
        })));
        c.send_command("USER", Some("bob")).unwrap();
        c.read_reply().unwrap();
        c.send_command("PASS", Some("hunter2")).unwrap();
        c.send_command("AUTH", Some("PLAIN AGJvYgBodW50ZXIy"))
            .unwrap();
        c.send_command("AUTH", Some("TLS")).unwrap();
        c.send_secret_line("aHVudGVyMg==").unwrap();
        let seen = seen.lock().unwrap().join("\n");
        assert_eq!(
            seen,
            "C: USER bob\nS: 331 need pass\nC: PASS ****\nC: AUTH PLAIN ****\nC: AUTH TLS\nC: ****"
        );
        // The secrets did go to the server.
        let wire = String::from_utf8(c.stream().written.clone()).unwrap();
        assert!(wire.contains("PASS hunter2\r\n") && wire.contains("aHVudGVyMg==\r\n"));
    }

    #[test]
    fn parse_reply_line_cases() {
        assert_eq!(parse_reply_line("220 hi"), Some((220, Some(' '), "hi")));
        assert_eq!(parse_reply_line("220-hi"), Some((220, Some('-'), "hi")));
        assert_eq!(parse_reply_line("220"), Some((220, None, "")));
        assert_eq!(parse_reply_line("22"), None);
        assert_eq!(parse_reply_line("220x"), None);
    }
}
