//! The POP3 client: greeting (with its APOP timestamp), CAPA, STLS or implicit TLS, the
//! login, then STAT, LIST, UIDL, RETR, TOP, DELE and QUIT over the shared engine
//! (`crate::wire`, POP3 dialect). RETR and DELE are pipelined when the server announces
//! PIPELINING (RFC 2449 section 6.6): a window of commands stays in flight while the
//! messages are read in order, so thousands of small messages cost bandwidth, not round
//! trips. Without it, one command at a time.
//!
//! A client that fails is dropped without QUIT: the server then leaves the mailbox as it
//! was (RFC 1939 section 6: DELE takes effect only in the UPDATE state, after QUIT).

use crate::error::{Error, Kind, Result};
use crate::net::stream::{NetStream, Transport};
use crate::net::tls::TlsContext;
use crate::net::url::Target;
use crate::pop3::reply::{Pop3, Pop3Reply, Pop3Status};
use crate::session::SessionOptions;
use crate::session::authenticate::{self, Sasl, Step};
use crate::session::open;
use crate::session::sasl;
use crate::session::starttls::{self, StartTls};
use crate::session::{Credentials, Method};
use crate::wire::reply::Response;
use crate::wire::{Conn, DotBody};
use std::time::Instant;

/// At most this many commands in flight (besides the 4 KiB window of the engine).
const MAX_IN_FLIGHT: usize = 256;

/// A POP3 command line is at most 255 octets, its CRLF included (RFC 2449 section 4): an
/// initial response that would make AUTH longer goes as the answer to an empty challenge
/// instead (RFC 5034 section 4).
const MAX_AUTH_LINE: usize = 255 - 2;

/// What CAPA said (RFC 2449 section 6).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capa {
    /// The server answered CAPA (otherwise nothing below is known).
    pub listed: bool,
    pub user: bool,
    pub stls: bool,
    pub pipelining: bool,
    pub uidl: bool,
    pub top: bool,
    /// SASL mechanisms, upper case.
    pub sasl: Vec<String>,
}

/// Parses CAPA's lines. Pure.
pub fn parse_capa<'a>(lines: impl IntoIterator<Item = &'a [u8]>) -> Capa {
    let mut c = Capa {
        listed: true,
        ..Capa::default()
    };
    for line in lines {
        let line = String::from_utf8_lossy(line);
        let mut words = line.split_ascii_whitespace();
        let Some(name) = words.next() else { continue };
        match name.to_ascii_uppercase().as_str() {
            "USER" => c.user = true,
            "STLS" => c.stls = true,
            "PIPELINING" => c.pipelining = true,
            "UIDL" => c.uidl = true,
            "TOP" => c.top = true,
            "SASL" => c.sasl = words.map(|w| w.to_ascii_uppercase()).collect(),
            _ => {}
        }
    }
    c
}

/// The APOP timestamp of a greeting (RFC 1939 section 7): `<...>` holding an `@`.
pub fn apop_timestamp(greeting: &[u8]) -> Option<String> {
    let start = greeting.iter().position(|&b| b == b'<')?;
    let len = greeting[start..].iter().position(|&b| b == b'>')?;
    let ts = &greeting[start..=start + len];
    (ts.contains(&b'@') && ts.iter().all(|b| (0x21..0x7f).contains(b)))
        .then(|| String::from_utf8_lossy(ts).into_owned())
}

/// A logged-in POP3 session (the TRANSACTION state).
pub struct Pop3Client<S: Transport = NetStream> {
    conn: Conn<S, Pop3>,
    caps: Capa,
    timestamp: Option<String>,
}

impl Pop3Client<NetStream> {
    /// Connects (TLS from the first byte for pop3s://), upgrades with STLS as the policy says,
    /// and logs in.
    pub fn connect(target: &Target, creds: &Credentials, opts: &SessionOptions) -> Result<Self> {
        let (stream, deadline) = open::connect(target, opts)?;
        Pop3Client::handshake(stream, target, creds, opts, deadline)
    }
}

impl<S: Transport> Pop3Client<S> {
    /// Everything after the TCP connect (and the TLS handshake of pop3s://): greeting, CAPA,
    /// STLS, login, CAPA again.
    pub fn handshake(
        stream: S,
        target: &Target,
        creds: &Credentials,
        opts: &SessionOptions,
        deadline: Instant,
    ) -> Result<Self> {
        let (conn, greeting) = open::start(stream, target, Pop3, opts, deadline, |_| false)?;
        if !greeting.is_ok() {
            return Err(greeting.error(&format!("{}: greeting", target.authority())));
        }
        let mut client = Pop3Client {
            conn,
            caps: Capa::default(),
            timestamp: apop_timestamp(&greeting.text),
        };
        client.capa()?;
        let mut client = starttls::starttls(client, target, opts, Some(creds))?;
        open::end_phase(&mut client.conn, opts);
        client.login(creds)?;
        // Capabilities may change with the login (RFC 2449 section 5).
        client.capa()?;
        Ok(client)
    }

    pub fn capabilities(&self) -> &Capa {
        &self.caps
    }

    pub fn is_tls(&self) -> bool {
        self.conn.stream().is_tls()
    }

    /// The APOP timestamp the greeting carried, if any.
    pub fn apop_timestamp(&self) -> Option<&str> {
        self.timestamp.as_deref()
    }

    pub fn peer(&self) -> &str {
        self.conn.peer()
    }

    fn command(&mut self, verb: &str, arg: Option<&str>) -> Result<Pop3Reply> {
        open::command(&mut self.conn, verb, arg)
    }

    fn reply_to(&mut self, verb: &str) -> Result<Pop3Reply> {
        open::reply_to(&mut self.conn, verb)
    }

    fn expect_ok(&mut self, verb: &str, arg: Option<&str>) -> Result<Pop3Reply> {
        open::expect_ok(&mut self.conn, verb, arg)
    }

    /// CAPA; a server without it (`-ERR`) has no known capabilities.
    fn capa(&mut self) -> Result<()> {
        let r = self.command("CAPA", None)?;
        if !r.is_ok() {
            self.caps = Capa::default();
            return Ok(());
        }
        let mut lines: Vec<Vec<u8>> = Vec::new();
        let mut body = self.conn.dot_body()?.limit(64 * 1024);
        while let Some(l) = body.next_line()? {
            lines.push(l.to_vec());
        }
        self.caps = parse_capa(lines.iter().map(Vec::as_slice));
        Ok(())
    }

    /// Logs in as `creds.method` says: `Auto` takes the best SASL mechanism CAPA lists,
    /// else USER and PASS (a token needs XOAUTH2).
    fn login(&mut self, creds: &Credentials) -> Result<()> {
        let peer = self.conn.peer().to_string();
        let offered: Vec<&str> = self.caps.sasl.iter().map(String::as_str).collect();
        let mech = match creds.login_method()? {
            Method::User => return self.user_pass(creds),
            Method::Apop => return self.apop(creds),
            // A server without CAPA may still take AUTH: try what was asked for.
            Method::Sasl(m) if !self.caps.listed => m,
            Method::Sasl(m) => {
                sasl::choose(&offered, Some(m), creds.is_token()).map_err(|e| e.context(&peer))?
            }
            Method::Auto => match sasl::choose(&offered, None, creds.is_token()) {
                Ok(m) => m,
                Err(_) if !creds.is_token() => return self.user_pass(creds),
                Err(e) => return Err(e.context(&peer)),
            },
        };
        authenticate::authenticate(self, mech, creds)?;
        Ok(())
    }

    /// APOP (RFC 1939 section 7): the MD5 of the greeting's timestamp and the password.
    fn apop(&mut self, creds: &Credentials) -> Result<()> {
        let Some(ts) = self.timestamp.clone() else {
            return Err(Error::new(
                Kind::Unavailable,
                format!(
                    "{}: --auth apop: the server's greeting has no APOP timestamp (<...@...>)",
                    self.conn.peer()
                ),
            ));
        };
        let digest = sasl::apop_digest(&ts, creds.secret());
        let r = self.command("APOP", Some(&format!("{} {digest}", creds.user)))?;
        if !r.is_ok() {
            return Err(self.login_failed(creds, &r));
        }
        Ok(())
    }

    fn login_failed(&self, creds: &Credentials, r: &Pop3Reply) -> Error {
        let context = format!("{}: login as {} failed", self.conn.peer(), creds.user);
        self.refused(r, &context)
    }

    fn user_pass(&mut self, creds: &Credentials) -> Result<()> {
        let r = self.command("USER", Some(&creds.user))?;
        if !r.is_ok() {
            return Err(self.login_failed(creds, &r));
        }
        let r = self.command("PASS", Some(creds.secret()))?;
        if !r.is_ok() {
            return Err(self.login_failed(creds, &r));
        }
        Ok(())
    }

    /// STAT: the number of messages and their total size.
    pub fn stat(&mut self) -> Result<(u32, u64)> {
        let r = self.expect_ok("STAT", None)?;
        parse_stat(&r.text).ok_or_else(|| self.malformed("STAT", &r))
    }

    fn malformed(&self, verb: &str, r: &Pop3Reply) -> Error {
        Error::new(
            Kind::Protocol,
            format!(
                "{}: malformed reply to {verb}: +OK {}",
                self.conn.peer(),
                r.text()
            ),
        )
    }

    /// LIST: each message's number and size.
    pub fn list(&mut self) -> Result<Vec<(u32, u64)>> {
        self.expect_ok("LIST", None)?;
        self.scan_listing("LIST", |size| size.parse().map_err(|_| None))
    }

    /// UIDL: each message's number and unique id; `None` when the server has no UIDL.
    pub fn uidl(&mut self) -> Result<Option<Vec<(u32, String)>>> {
        let r = self.command("UIDL", None)?;
        if !r.is_ok() {
            return Ok(None);
        }
        let ids = self.scan_listing("UIDL", |id| {
            if valid_unique_id(id.as_bytes()) {
                Ok(id.to_string())
            } else {
                Err(Some(format!(
                    "a unique-id is 1 to 70 printable characters, RFC 1939 section 7; this one has {}",
                    id.len()
                )))
            }
        })?;
        Ok(Some(ids))
    }

    /// The lines of a LIST or UIDL answer (`verb`), each a message number and a word that
    /// `value` reads; its `Err` makes the line malformed, saying why when it can.
    fn scan_listing<T>(
        &mut self,
        verb: &str,
        value: impl Fn(&str) -> std::result::Result<T, Option<String>>,
    ) -> Result<Vec<(u32, T)>> {
        let peer = self.conn.peer().to_string();
        let mut out = Vec::new();
        let mut body = self.conn.dot_body()?;
        while let Some(l) = body.next_line()? {
            let (n, word) = scan_pair(l).ok_or_else(|| bad_line(&peer, verb, l, None))?;
            let v = value(word).map_err(|why| bad_line(&peer, verb, l, why))?;
            out.push((n, v));
        }
        Ok(out)
    }

    /// Retrieves the messages numbered `msgs`, in order (RETR, or `TOP n 0` with
    /// `headers_only`), pipelined when the server allows it. `each(i, body)` gets the index
    /// into `msgs` and the message's dot-unstuffed data, which it must read to its end.
    /// `max_wire(i)` bounds what may arrive for message `i`.
    pub fn retrieve(
        &mut self,
        msgs: &[u32],
        headers_only: bool,
        max_wire: impl Fn(usize) -> u64,
        mut each: impl FnMut(usize, &mut DotBody<'_, S>) -> Result<()>,
    ) -> Result<()> {
        let verb = if headers_only { "TOP" } else { "RETR" };
        let arg = |n: u32| {
            if headers_only {
                format!("{n} 0")
            } else {
                n.to_string()
            }
        };
        let mut sent = 0;
        for i in 0..msgs.len() {
            self.fill_window(&mut sent, i, msgs.len(), verb, &|k| arg(msgs[k]))?;
            let r = self.reply_to(verb)?;
            if !r.is_ok() {
                return Err(r.error(&format!("{}: {verb} {}", self.conn.peer(), arg(msgs[i]))));
            }
            let mut body = self.conn.dot_body()?.limit(max_wire(i));
            each(i, &mut body)?;
        }
        Ok(())
    }

    /// Queues commands `sent..` while the window allows (only `i` itself without
    /// PIPELINING).
    fn fill_window(
        &mut self,
        sent: &mut usize,
        i: usize,
        total: usize,
        verb: &str,
        arg: &dyn Fn(usize) -> String,
    ) -> Result<()> {
        while *sent < total && (*sent == i || (self.caps.pipelining && *sent - i < MAX_IN_FLIGHT)) {
            let a = arg(*sent);
            if *sent != i && !self.conn.fits_window(verb, Some(&a)) {
                break;
            }
            self.conn.queue(verb, Some(&a))?;
            *sent += 1;
        }
        Ok(())
    }

    /// Marks the messages numbered `msgs` as deleted (DELE), pipelined when allowed. They
    /// go only at [`quit`](Pop3Client::quit).
    pub fn dele(&mut self, msgs: &[u32]) -> Result<()> {
        let mut sent = 0;
        for (i, n) in msgs.iter().enumerate() {
            self.fill_window(&mut sent, i, msgs.len(), "DELE", &|k| msgs[k].to_string())?;
            let r = self.reply_to("DELE")?;
            if !r.is_ok() {
                return Err(r.error(&format!("{}: DELE {n}", self.conn.peer())));
            }
        }
        Ok(())
    }

    /// QUIT: the server deletes what was marked (the UPDATE state) and closes. A `-ERR`
    /// here means some deletions failed.
    pub fn quit(mut self) -> Result<()> {
        let r = self.command("QUIT", None)?;
        self.conn.stream_mut().close();
        if r.is_ok() {
            Ok(())
        } else {
            Err(r.error(&format!("{}: QUIT (deleting messages)", self.conn.peer())))
        }
    }
}

/// STLS (RFC 2595 section 4), tried when CAPA lists it or is not there to say.
impl<S: Transport> StartTls for Pop3Client<S> {
    const COMMAND: &'static str = "STLS";

    fn not_offered(&self) -> Option<String> {
        (self.caps.listed && !self.caps.stls).then(|| "it does not announce STLS".to_string())
    }

    fn ask(&mut self) -> Result<std::result::Result<(), String>> {
        let r = self.command("STLS", None)?;
        Ok(if r.is_ok() {
            Ok(())
        } else {
            Err(format!("-ERR {}", r.text()))
        })
    }

    fn upgrade(self, tls: &TlsContext, host: &str) -> Result<Self> {
        let mut upgraded = Pop3Client {
            conn: self.conn.start_tls(tls, host)?,
            caps: Capa::default(),
            timestamp: self.timestamp,
        };
        upgraded.capa()?;
        Ok(upgraded)
    }
}

/// AUTH (RFC 5034): `+ ` challenges, `+OK` or `-ERR` at the end.
impl<S: Transport> Sasl for Pop3Client<S> {
    type Stream = S;
    type Dialect = Pop3;
    const COMMAND: &'static str = "AUTH";

    fn conn_mut(&mut self) -> &mut Conn<S, Pop3> {
        &mut self.conn
    }

    fn initial_response_limit(&self) -> Option<usize> {
        Some(MAX_AUTH_LINE)
    }

    fn step(&mut self, what: &str) -> Result<Step<Pop3Reply>> {
        let r = self.reply_to(what)?;
        Ok(match r.status {
            Pop3Status::Ok => Step::Success(r),
            Pop3Status::Err => Step::Failure(r),
            Pop3Status::Continue => Step::Challenge(r.text.clone()),
        })
    }

    /// 77, or 75 when the server says it is temporary (RFC 2449 section 8.1, RFC 3206:
    /// `[SYS/TEMP]`, `[IN-USE]`, `[LOGIN-DELAY]`).
    fn refused(&self, r: &Pop3Reply, context: &str) -> Error {
        let temp = matches!(
            r.resp_code(),
            Some(b"SYS/TEMP" | b"IN-USE" | b"LOGIN-DELAY")
        );
        r.error(&context)
            .with_kind(if temp { Kind::TempFail } else { Kind::Auth })
    }
}

fn bad_line(peer: &str, verb: &str, line: &[u8], why: Option<String>) -> Error {
    let line = crate::wire::printable(&String::from_utf8_lossy(line));
    let why = why.map(|w| format!(" ({w})")).unwrap_or_default();
    Error::new(
        Kind::Protocol,
        format!("{peer}: malformed {verb} line: \"{line}\"{why}"),
    )
}

/// Whether `id` is a unique-id as RFC 1939 section 7 defines it: 1 to 70 characters from
/// 0x21 to 0x7E. Pure.
pub fn valid_unique_id(id: &[u8]) -> bool {
    (1..=70).contains(&id.len()) && id.iter().all(|b| (0x21..=0x7e).contains(b))
}

/// `+OK 2 320` is (2, 320). Pure.
pub fn parse_stat(text: &[u8]) -> Option<(u32, u64)> {
    let text = std::str::from_utf8(text).ok()?;
    let mut w = text.split_ascii_whitespace();
    Some((w.next()?.parse().ok()?, w.next()?.parse().ok()?))
}

/// A listing line `n word` (anything after the second word ignored). Pure.
pub fn scan_pair(line: &[u8]) -> Option<(u32, &str)> {
    let text = std::str::from_utf8(line).ok()?;
    let mut w = text.split(' ').filter(|s| !s.is_empty());
    let n: u32 = w.next()?.parse().ok()?;
    let second = w.next()?;
    (n > 0).then_some((n, second))
}

#[cfg(test)]
mod tests {
    //! The client over an in-memory transport: each script part is the server's answer to
    //! one command line, the first its greeting.

    use super::*;
    use crate::net::tls::TlsMode;
    use crate::net::url::Scheme;
    use crate::session::sasl::Mechanism;
    use crate::wire::tests::MockStream;

    fn handshake(parts: &[&[u8]], mode: TlsMode) -> (Result<Pop3Client<MockStream>>, String) {
        let target = Target::parse("pop3://bob@h.example", &[Scheme::Pop3]).unwrap();
        let stream = MockStream::scripted(parts, 1000);
        let deadline = Instant::now() + std::time::Duration::from_secs(5);
        match Pop3Client::handshake(
            stream,
            &target,
            &Credentials::password("bob", "pw"),
            &SessionOptions::test(mode),
            deadline,
        ) {
            Ok(c) => {
                let w = c.conn.stream().written_str();
                (Ok(c), w)
            }
            Err(e) => (Err(e), String::new()),
        }
    }

    #[test]
    fn capabilities_and_timestamps_parse() {
        let c = parse_capa([
            &b"TOP"[..],
            b"uidl",
            b"SASL PLAIN scram-sha-256",
            b"PIPELINING",
            b"USER",
            b"RESP-CODES",
        ]);
        assert!(c.listed && c.top && c.uidl && c.pipelining && c.user && !c.stls);
        assert_eq!(c.sasl, ["PLAIN", "SCRAM-SHA-256"]);
        assert_eq!(
            apop_timestamp(b"POP3 ready <1896.697170952@dbc.mtview.ca.us>").as_deref(),
            Some("<1896.697170952@dbc.mtview.ca.us>")
        );
        assert_eq!(apop_timestamp(b"ready <no-at>"), None);
        assert_eq!(apop_timestamp(b"ready"), None);
        assert_eq!(parse_stat(b"2 320"), Some((2, 320)));
        assert_eq!(parse_stat(b"2"), None);
        assert_eq!(scan_pair(b"1 abc"), Some((1, "abc")));
        assert_eq!(scan_pair(b"0 abc"), None);
        assert_eq!(scan_pair(b"x abc"), None);
    }

    #[test]
    fn plaintext_login_only_with_tls_none() {
        let parts: &[&[u8]] = &[
            b"+OK hi\r\n",
            b"+OK\r\nUSER\r\nUIDL\r\n.\r\n",
            b"+OK\r\n",
            b"+OK\r\n",
            b"+OK\r\nUSER\r\nUIDL\r\n.\r\n",
        ];
        let (r, _) = handshake(parts, TlsMode::Auto);
        let e = r.err().unwrap();
        assert_eq!(e.exit_code(), 69);
        assert!(e.to_string().contains("--tls none"), "{e}");
        let (r, _) = handshake(parts, TlsMode::Required);
        assert_eq!(r.err().unwrap().exit_code(), 69);
        let (r, w) = handshake(parts, TlsMode::None);
        r.unwrap();
        assert_eq!(w, "CAPA\r\nUSER bob\r\nPASS pw\r\nCAPA\r\n");
    }

    #[test]
    fn bytes_after_the_stls_reply_are_refused() {
        let (r, _) = handshake(
            &[
                b"+OK hi\r\n",
                b"+OK\r\nSTLS\r\n.\r\n",
                b"+OK begin TLS\r\n+OK injected\r\n",
            ],
            TlsMode::Auto,
        );
        assert_eq!(r.err().unwrap().exit_code(), 76);
    }

    #[test]
    fn a_refused_password_is_77_and_a_locked_mailbox_75() {
        let (r, _) = handshake(
            &[b"+OK hi\r\n", b"-ERR no CAPA\r\n", b"-ERR no STLS\r\n"],
            TlsMode::Required,
        );
        assert_eq!(r.err().unwrap().exit_code(), 69);
        let base: Vec<&[u8]> = vec![b"+OK hi\r\n", b"+OK\r\n.\r\n", b"+OK\r\n"];
        let mut p = base.clone();
        p.push(b"-ERR [AUTH] bad password\r\n");
        let (r, _) = handshake(&p, TlsMode::None);
        let e = r.err().unwrap();
        assert_eq!(e.exit_code(), 77);
        assert!(!e.to_string().contains("pw"), "{e}");
        let mut p = base.clone();
        p.push(b"-ERR [IN-USE] locked\r\n");
        assert_eq!(
            handshake(&p, TlsMode::None).0.err().unwrap().exit_code(),
            75
        );
        let mut p = base;
        p.push(b"-ERR nope\r\n");
        assert_eq!(
            handshake(&p, TlsMode::None).0.err().unwrap().exit_code(),
            77
        );
    }

    fn logged_in(extra: &[&[u8]], caps: &[u8]) -> Pop3Client<MockStream> {
        let mut parts: Vec<&[u8]> = vec![b"+OK hi\r\n", caps, b"+OK\r\n", b"+OK\r\n", caps];
        parts.extend_from_slice(extra);
        let (r, _) = handshake(&parts, TlsMode::None);
        r.unwrap()
    }

    fn read_all(body: &mut DotBody<'_, MockStream>) -> Vec<u8> {
        let mut out = Vec::new();
        let mut buf = [0u8; 7];
        loop {
            let n = body.read(&mut buf).unwrap();
            if n == 0 {
                return out;
            }
            out.extend_from_slice(&buf[..n]);
        }
    }

    #[test]
    fn retr_is_pipelined_only_when_announced() {
        // With PIPELINING, the three RETRs go out in one write, before any reply is read:
        // the whole answer is released after the first of them.
        let answers: &[u8] = b"+OK\r\na\r\n.\r\n+OK\r\n..b\r\n.\r\n+OK\r\nc\r\n.\r\n";
        let mut c = logged_in(&[answers], b"+OK\r\nPIPELINING\r\n.\r\n");
        let mut got = Vec::new();
        c.retrieve(
            &[1, 2, 3],
            false,
            |_| 1000,
            |i, b| {
                got.push((i, read_all(b)));
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(
            got,
            [
                (0, b"a\r\n".to_vec()),
                (1, b".b\r\n".to_vec()),
                (2, b"c\r\n".to_vec())
            ]
        );
        let w = c.conn.stream().written_str();
        assert!(w.ends_with("CAPA\r\nRETR 1\r\nRETR 2\r\nRETR 3\r\n"), "{w}");
        assert_eq!(
            c.conn.stream().writes,
            4 + 1,
            "one write for the three RETRs"
        );
        // Without, one at a time: each answer released by its own command.
        let mut c = logged_in(
            &[b"+OK\r\na\r\n.\r\n", b"+OK\r\nb\r\n.\r\n", b"+OK\r\n.\r\n"],
            b"+OK\r\nUIDL\r\n.\r\n",
        );
        let mut n = 0;
        c.retrieve(
            &[1, 2],
            true,
            |_| 1000,
            |_, b| {
                n += read_all(b).len();
                Ok(())
            },
        )
        .unwrap();
        c.dele(&[1]).unwrap();
        assert_eq!(n, 6);
        let w = c.conn.stream().written_str();
        assert!(
            w.ends_with("CAPA\r\nTOP 1 0\r\nTOP 2 0\r\nDELE 1\r\n"),
            "{w}"
        );
    }

    #[test]
    fn listings_parse_and_bad_lines_are_76() {
        let mut c = logged_in(
            &[
                b"+OK 2 30\r\n",
                b"+OK\r\n1 10\r\n2 20\r\n.\r\n",
                b"+OK\r\n1 aaa\r\n2 bbb\r\n.\r\n",
                b"+OK\r\n1 a b\r\n.\r\n",
                b"+OK\r\nnonsense\r\n.\r\n",
            ],
            b"+OK\r\n.\r\n",
        );
        assert_eq!(c.stat().unwrap(), (2, 30));
        assert_eq!(c.list().unwrap(), [(1, 10), (2, 20)]);
        assert_eq!(
            c.uidl().unwrap().unwrap(),
            [(1, "aaa".to_string()), (2, "bbb".to_string())]
        );
        assert_eq!(c.uidl().unwrap().unwrap(), [(1, "a".to_string())]);
        assert_eq!(c.list().err().unwrap().exit_code(), 76);
        let mut c = logged_in(&[b"-ERR no UIDL here\r\n"], b"+OK\r\n.\r\n");
        assert_eq!(c.uidl().unwrap(), None);
    }

    #[test]
    fn unique_ids_follow_rfc_1939() {
        assert!(valid_unique_id(&[b'!'; 70]) && valid_unique_id(b"~"));
        assert!(!valid_unique_id(&[b'a'; 71]) && !valid_unique_id(b""));
        assert!(
            !valid_unique_id(b"a b")
                && !valid_unique_id(b"\x7f")
                && !valid_unique_id("é".as_bytes())
        );
    }

    fn login_with(parts: &[&[u8]], auth: Method, password: &str) -> (Result<()>, String) {
        let target = Target::parse("pop3://bob@h.example", &[Scheme::Pop3]).unwrap();
        let stream = MockStream::scripted(parts, 1000);
        let deadline = Instant::now() + std::time::Duration::from_secs(5);
        let mut opts = SessionOptions::test(TlsMode::None);
        let (t, seen) = crate::wire::tests::collecting();
        opts.transcript = Some(t);
        let r = Pop3Client::handshake(
            stream,
            &target,
            &Credentials::password("bob", password).with_method(auth),
            &opts,
            deadline,
        );
        let shown = seen.lock().unwrap().join("\n");
        (r.map(|_| ()), shown)
    }

    #[test]
    fn a_refusal_that_repeats_the_password_does_not_show_it() {
        let caps: &[u8] = b"+OK\r\nSASL PLAIN\r\nUSER\r\n.\r\n";
        let (r, shown) = login_with(
            &[
                b"+OK hi\r\n",
                caps,
                b"-ERR [AUTH] wrong password: hunter2\r\n",
            ],
            Method::Auto,
            "hunter2",
        );
        let e = r.unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
        assert!(e.to_string().contains("wrong password: ****"), "{e}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn auth_plain_goes_with_the_command_and_is_never_shown() {
        let caps: &[u8] = b"+OK\r\nSASL PLAIN LOGIN\r\nUSER\r\n.\r\n";
        let (r, shown) = login_with(
            &[b"+OK hi\r\n", caps, b"+OK welcome\r\n", caps],
            Method::Auto,
            "pw",
        );
        r.unwrap();
        assert!(shown.contains("C: AUTH PLAIN ****"), "{shown}");
        assert!(!shown.contains("AGJvYgBwdw"), "{shown}");
        // LOGIN: two challenges, two secret answers.
        let (r, shown) = login_with(
            &[
                b"+OK hi\r\n",
                caps,
                b"+ VXNlcm5hbWU6\r\n",
                b"+ UGFzc3dvcmQ6\r\n",
                b"+OK\r\n",
                caps,
            ],
            Method::Sasl(Mechanism::Login),
            "pw",
        );
        r.unwrap();
        assert!(
            shown.contains("C: AUTH LOGIN\nS: + VXNlcm5hbWU6\nC: ****\nS: + UGFzc3dvcmQ6\nC: ****"),
            "{shown}"
        );
        // A mechanism the server does not offer is 69; a refused one 77.
        let (r, _) = login_with(
            &[b"+OK hi\r\n", caps],
            Method::Sasl(Mechanism::CramMd5),
            "pw",
        );
        assert_eq!(r.unwrap_err().exit_code(), 69);
        let (r, _) = login_with(
            &[b"+OK hi\r\n", caps, b"-ERR [AUTH] no\r\n"],
            Method::Auto,
            "pw",
        );
        let e = r.unwrap_err();
        assert_eq!(e.exit_code(), 77);
        assert!(
            e.to_string().contains("login as bob with PLAIN failed"),
            "{e}"
        );
        // A challenge that is not base64: cancelled with "*", 76.
        let (r, shown) = login_with(
            &[b"+OK hi\r\n", caps, b"+ !!!\r\n", b"-ERR cancelled\r\n"],
            Method::Sasl(Mechanism::Login),
            "pw",
        );
        assert_eq!(r.unwrap_err().exit_code(), 76);
        assert!(
            shown.contains("C: AUTH LOGIN\nS: + !!!\nC: *\nS: -ERR cancelled"),
            "{shown}"
        );
    }

    #[test]
    fn an_initial_response_goes_with_auth_only_within_255_octets_crlf_included() {
        let caps: &[u8] = b"+OK\r\nSASL PLAIN\r\n.\r\n";
        // "AUTH PLAIN " and 240 characters of base64: 253 octets and CRLF.
        let (r, _) = login_with(
            &[b"+OK hi\r\n", caps, b"+OK\r\n", caps],
            Method::Sasl(Mechanism::Plain),
            &"x".repeat(175),
        );
        r.unwrap();
        // 244 characters would make 257 octets: they answer the empty challenge instead.
        let (r, shown) = login_with(
            &[b"+OK hi\r\n", caps, b"+ \r\n", b"+OK\r\n", caps],
            Method::Sasl(Mechanism::Plain),
            &"x".repeat(176),
        );
        r.unwrap();
        assert!(
            shown.contains("C: AUTH PLAIN\nS: + \nC: ****\nS: +OK"),
            "{shown}"
        );
    }

    #[test]
    fn an_endless_sasl_exchange_is_cancelled_after_ten_challenges() {
        // XOAUTH2 answers every challenge (with an empty line): a server that keeps sending
        // "+ " used to keep the exchange going for ever.
        let mut parts: Vec<&[u8]> = vec![b"+OK hi\r\n", b"+OK\r\nSASL XOAUTH2\r\n.\r\n"];
        parts.extend(std::iter::repeat_n(&b"+ \r\n"[..], 11));
        parts.push(b"-ERR cancelled\r\n");
        let target = Target::parse("pop3://bob@h.example", &[Scheme::Pop3]).unwrap();
        let stream = MockStream::scripted(&parts, 1000);
        let deadline = Instant::now() + std::time::Duration::from_secs(5);
        let creds = Credentials::token("bob", "ya29.tok");
        let (t, seen) = crate::wire::tests::collecting();
        let mut opts = SessionOptions::test(TlsMode::None);
        opts.transcript = Some(t);
        let e = Pop3Client::handshake(stream, &target, &creds, &opts, deadline)
            .err()
            .unwrap();
        assert_eq!(e.exit_code(), 76);
        assert!(e.to_string().contains("more than 10 challenges"), "{e}");
        let shown = seen.lock().unwrap().join("\n");
        assert!(
            shown.ends_with("S: + \nC: ****\nS: + \nC: *\nS: -ERR cancelled"),
            "{shown}"
        );
        // Ten answers, then the cancel.
        assert_eq!(shown.matches("C: ****").count(), 10, "{shown}");
    }

    #[test]
    fn apop_uses_the_greeting_timestamp() {
        // RFC 1939 section 7's example.
        let caps: &[u8] = b"+OK\r\n.\r\n";
        let target = Target::parse("pop3://mrose@h.example", &[Scheme::Pop3]).unwrap();
        let stream = MockStream::scripted(
            &[
                b"+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n",
                caps,
                b"+OK\r\n",
                caps,
            ],
            1000,
        );
        let opts = SessionOptions::test(TlsMode::None);
        let deadline = Instant::now() + std::time::Duration::from_secs(5);
        let c = Pop3Client::handshake(
            stream,
            &target,
            &Credentials::password("mrose", "tanstaaf").with_method(Method::Apop),
            &opts,
            deadline,
        )
        .unwrap();
        assert!(
            c.conn
                .stream()
                .written_str()
                .contains("APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n")
        );
        let (r, _) = login_with(&[b"+OK no stamp\r\n", caps], Method::Apop, "pw");
        assert_eq!(r.unwrap_err().exit_code(), 69);
    }
}
