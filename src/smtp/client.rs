//! The SMTP client (RFC 5321), with STARTTLS (RFC 3207), PIPELINING (RFC 2920), SIZE
//! (RFC 1870), 8BITMIME (RFC 6152), SMTPUTF8 (RFC 6531) and DSN (RFC 3461) parameters
//! passed through. Synchronous, over the shared engine (`Conn` with the `Smtp`
//! dialect): one connection, one transaction at a time, the message streamed through
//! `Conn::dot_writer` or as BDAT chunks (RFC 3030).
//!
//! Here the session (greeting, EHLO, STARTTLS, AUTH) and RSET and QUIT; a transaction's
//! phases are in `client/transaction.rs` ([`SmtpClient::send`]), where its data goes in
//! `client/body.rs`.

mod body;
mod transaction;

pub use body::{BDAT_CHUNK, BdatWriter, BodySink};
pub use transaction::{Delivered, Envelope, RcptReply, first_refusal, refusal};

use crate::error::{Error, Kind, Result};
use crate::net::stream::{NetStream, Transport};
use crate::net::tls::TlsContext;
use crate::net::url::Target;
use crate::session::Credentials;
use crate::session::SessionOptions;
use crate::session::authenticate::{self, Sasl, Step};
use crate::session::open;
use crate::session::sasl::{self, Mechanism};
use crate::session::starttls::{self, StartTls};
use crate::smtp::reply::Smtp;
use crate::wire::Conn;
use crate::wire::reply::Reply;
use std::time::{Duration, Instant};

/// How to connect.
#[derive(Clone)]
pub struct SmtpOptions {
    pub session: SessionOptions,
    /// The name given in EHLO/HELO.
    pub helo: String,
    /// How long to wait for the reply to the end of a message's data (RFC 5321 4.5.3.2.6:
    /// 10 minutes, [`FINAL_REPLY_TIMEOUT`]): the server may be delivering it meanwhile.
    pub final_reply_timeout: Duration,
}

/// RFC 5321 4.5.3.2.6, "DATA Termination: 10 minutes": the server delivers the message
/// before it answers, and a client that gives up sooner may make it send it twice.
pub const FINAL_REPLY_TIMEOUT: Duration = Duration::from_secs(600);

/// What the server said it can do in its EHLO reply (RFC 5321 4.1.1.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extensions {
    /// The server answered EHLO (not only HELO).
    pub esmtp: bool,
    pub pipelining: bool,
    pub eight_bit_mime: bool,
    pub smtputf8: bool,
    pub chunking: bool,
    pub dsn: bool,
    pub starttls: bool,
    /// SIZE, with the largest message the server takes (`None`: no SIZE; `Some(0)`: no
    /// fixed limit).
    pub size: Option<u64>,
    /// The SASL mechanisms of AUTH, upper case.
    pub auth: Vec<String>,
}

/// Reads the extensions from an EHLO reply: each line after the first is a keyword and its
/// parameters, case-insensitive. Pure. (`AUTH=...` is how some old servers spelled AUTH.)
pub fn parse_ehlo(reply: &Reply) -> Extensions {
    let mut e = Extensions {
        esmtp: true,
        ..Extensions::default()
    };
    for line in reply.line_texts().iter().skip(1) {
        let mut words = line.split([' ', '=']).filter(|w| !w.is_empty());
        let Some(keyword) = words.next() else {
            continue;
        };
        match keyword.to_ascii_uppercase().as_str() {
            "PIPELINING" => e.pipelining = true,
            "8BITMIME" => e.eight_bit_mime = true,
            "SMTPUTF8" => e.smtputf8 = true,
            "CHUNKING" => e.chunking = true,
            "DSN" => e.dsn = true,
            "STARTTLS" => e.starttls = true,
            "SIZE" => e.size = Some(words.next().and_then(|n| n.parse().ok()).unwrap_or(0)),
            "AUTH" => {
                for m in words {
                    let m = m.to_ascii_uppercase();
                    if !e.auth.contains(&m) {
                        e.auth.push(m);
                    }
                }
            }
            _ => {}
        }
    }
    e
}

/// RFC 4954 4: the AUTH command line, initial response included, should fit in 512 octets;
/// a longer initial response waits for the server's empty challenge instead.
const MAX_AUTH_LINE: usize = 500;

/// A connected SMTP session, greeted and EHLO'd (over TLS when the policy says so).
pub struct SmtpClient<S: Transport = NetStream> {
    conn: Conn<S, Smtp>,
    ext: Extensions,
    /// A failure left the session unusable (data cut short on purpose, a reply lost).
    broken: bool,
    /// [`SmtpOptions::final_reply_timeout`].
    final_reply_timeout: Duration,
    /// The name EHLO gives, again after STARTTLS.
    helo: String,
}

impl SmtpClient<NetStream> {
    /// Connects to `target`; smtps:// is TLS from the first byte, smtp:// upgrades with
    /// STARTTLS as `opts.tls_mode` says. `login`: the login that will follow (AUTH), if
    /// any, so that `--tls auto` does not go on in plaintext, and says where its secret
    /// came from.
    pub fn connect(
        target: &Target,
        opts: &SmtpOptions,
        login: Option<&Credentials>,
    ) -> Result<Self> {
        let (stream, deadline) = open::connect(target, &opts.session)?;
        SmtpClient::handshake(stream, target, opts, deadline, login)
    }
}

impl<S: Transport> SmtpClient<S> {
    /// Everything after the TCP connect (and, for smtps://, the TLS handshake), on any
    /// transport: the greeting, EHLO (HELO when EHLO is refused), STARTTLS as the policy
    /// says and EHLO again. `deadline` ends the connect phase.
    pub fn handshake(
        stream: S,
        target: &Target,
        opts: &SmtpOptions,
        deadline: Instant,
        login: Option<&Credentials>,
    ) -> Result<Self> {
        let (mut conn, r) = open::start(stream, target, Smtp, &opts.session, deadline, |_| false)?;
        if r.code != 220 {
            return Err(r.error(format!("{}: greeting", conn.peer())));
        }
        let ext = ehlo(&mut conn, &opts.helo)?;
        let client = SmtpClient {
            conn,
            ext,
            broken: false,
            final_reply_timeout: opts.final_reply_timeout,
            helo: opts.helo.clone(),
        };
        let mut client = starttls::starttls(client, target, &opts.session, login)?;
        open::end_phase(&mut client.conn, &opts.session);
        Ok(client)
    }

    pub fn extensions(&self) -> &Extensions {
        &self.ext
    }

    pub fn is_tls(&self) -> bool {
        self.conn.stream().is_tls()
    }

    pub fn peer(&self) -> &str {
        self.conn.peer()
    }

    /// Whether another transaction may follow on this connection.
    pub fn is_usable(&self) -> bool {
        !self.broken && !self.conn.is_broken()
    }

    /// Ends the connection at once, without QUIT: data under way is never completed, so
    /// nothing is delivered (RFC 5321 4.1.1.4: a message is only taken after its `.`).
    pub fn abandon(&mut self) {
        self.broken = true;
        self.conn.stream_mut().close();
    }

    /// Logs in with AUTH (RFC 4954): the best mechanism the server offers, or the one
    /// forced, each challenge answered as a secret line (never in the transcript). A refused
    /// login (535, 534, 530) is 77; a 4xx is 75; a server that offers no AUTH, or no
    /// mechanism we speak, is 69. SCRAM succeeds only when the server proves it knows the
    /// password.
    pub fn authenticate(&mut self, login: &Credentials) -> Result<Mechanism> {
        let peer = self.conn.peer().to_string();
        if self.ext.auth.is_empty() {
            let what = if login.user.is_empty() {
                "a login (--auth) was asked for (drop --auth, or check the server URL)".to_string()
            } else {
                format!(
                    "a login as {} was asked for (drop --user, or check the server URL)",
                    login.user
                )
            };
            return Err(Error::new(
                Kind::Unavailable,
                format!("{peer}: the server offers no AUTH, and {what}"),
            ));
        }
        let offered: Vec<&str> = self.ext.auth.iter().map(String::as_str).collect();
        let mech = sasl::choose(&offered, login.forced_mechanism()?, login.is_token())
            .map_err(|e| e.context(&peer))?;
        authenticate::authenticate(self, mech, login)?;
        Ok(mech)
    }

    /// Reads the reply to `what`; a timeout names it.
    fn reply_to(&mut self, what: &str) -> Result<Reply> {
        open::reply_to(&mut self.conn, what).inspect_err(|_| self.broken = true)
    }

    /// RSET (RFC 5321 4.1.1.5): a clean slate for the next transaction.
    pub fn rset(&mut self) -> Result<()> {
        if !self.is_usable() {
            return Err(Error::connection_lost(format!(
                "{}: the connection is unusable after an earlier failure",
                self.conn.peer()
            )));
        }
        self.conn.send_command("RSET", None)?;
        let r = self.reply_to("RSET")?;
        if r.class() == 2 {
            Ok(())
        } else {
            Err(r.error(format!("{}: RSET", self.conn.peer())))
        }
    }

    /// QUIT, then closes the connection. Its reply is read but does not matter: every
    /// message has had its own.
    pub fn quit(mut self) {
        self.conn.say_farewell();
        if self.is_usable() && self.conn.send_command("QUIT", None).is_ok() {
            let _ = self.conn.read_reply();
        }
        self.conn.stream_mut().close();
    }
}

/// STARTTLS (RFC 3207), when the EHLO reply lists it; EHLO again over TLS (section 4.2).
impl<S: Transport> StartTls for SmtpClient<S> {
    const COMMAND: &'static str = "STARTTLS";

    fn not_offered(&self) -> Option<String> {
        (!self.ext.starttls).then(|| "no STARTTLS in its EHLO reply".to_string())
    }

    fn ask(&mut self) -> Result<std::result::Result<(), String>> {
        self.conn.send_command("STARTTLS", None)?;
        Ok(starttls::agreed(&self.reply_to("STARTTLS")?, 220))
    }

    fn upgrade(self, tls: &TlsContext, host: &str) -> Result<Self> {
        let mut conn = self.conn.start_tls(tls, host)?;
        let ext = ehlo(&mut conn, &self.helo)?;
        Ok(SmtpClient { conn, ext, ..self })
    }
}

/// AUTH (RFC 4954): `334` challenges, `235` at the end.
impl<S: Transport> Sasl for SmtpClient<S> {
    type Stream = S;
    type Dialect = Smtp;
    const COMMAND: &'static str = "AUTH";

    fn conn_mut(&mut self) -> &mut Conn<S, Smtp> {
        &mut self.conn
    }

    fn initial_response_limit(&self) -> Option<usize> {
        Some(MAX_AUTH_LINE)
    }

    fn step(&mut self, what: &str) -> Result<Step<Reply>> {
        let r = self.reply_to(what)?;
        Ok(match r.code {
            235 => Step::Success(r),
            334 => Step::Challenge(r.text_lossy().into_bytes()),
            _ => Step::Failure(r),
        })
    }

    /// 530, 534, 535 and 538 are a refused login (77); anything else as its code says (a
    /// 4xx is 75).
    fn refused(&self, r: &Reply, context: &str) -> Error {
        let e = r.error(context);
        if r.class() == 5 && matches!(r.code, 530 | 534 | 535 | 538) {
            e.with_kind(Kind::Auth)
        } else {
            e
        }
    }
}

/// EHLO, or HELO when the server does not know EHLO (RFC 5321 4.1.1.1: 500, 502, 504, 550).
fn ehlo<S: Transport>(conn: &mut Conn<S, Smtp>, helo: &str) -> Result<Extensions> {
    let r = open::command(conn, "EHLO", Some(helo))?;
    if r.class() == 2 {
        return Ok(parse_ehlo(&r));
    }
    if !matches!(r.code, 500 | 502 | 504 | 550) {
        return Err(r.error(format!("{}: EHLO", conn.peer())));
    }
    let r = open::command(conn, "HELO", Some(helo))?;
    if r.class() == 2 {
        Ok(Extensions::default())
    } else {
        Err(r.error(format!("{}: HELO", conn.peer())))
    }
}

#[cfg(test)]
mod tests {
    //! The client over an in-memory transport ([`MockStream`]): each script part answers
    //! one line the client writes (the first is the greeting).

    use super::*;
    use crate::net::tls::TlsMode;
    use crate::net::url::Scheme;
    use crate::wire::tests::{MockStream, collecting};
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD as B64;
    use std::time::Duration;

    fn options(mode: TlsMode) -> SmtpOptions {
        SmtpOptions {
            session: SessionOptions::test(mode),
            helo: "client.example".into(),
            final_reply_timeout: FINAL_REPLY_TIMEOUT,
        }
    }

    fn session(
        script: &[&[u8]],
        mode: TlsMode,
        password: bool,
    ) -> (
        Result<SmtpClient<MockStream>>,
        std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    ) {
        let target = Target::parse("smtp://mx.example:25", &[Scheme::Smtp]).unwrap();
        let (t, seen) = collecting();
        let mut opts = options(mode);
        opts.session.transcript = Some(t);
        let deadline = Instant::now() + Duration::from_secs(30);
        let login = Credentials::password("bob", "hunter2");
        let r = SmtpClient::handshake(
            MockStream::scripted(script, 3),
            &target,
            &opts,
            deadline,
            password.then_some(&login),
        );
        (r, seen)
    }

    fn reply(text: &str) -> Reply {
        let mut r = None;
        for l in text.split("\r\n").filter(|l| !l.is_empty()) {
            crate::wire::reply::Dialect::line(&Smtp, &mut r, l.as_bytes()).unwrap();
        }
        r.unwrap()
    }

    #[test]
    fn ehlo_keywords() {
        let e = parse_ehlo(&reply(
            "250-mx.example hello\r\n250-pipelining\r\n250-SIZE 10240000\r\n250-8BITMIME\r\n250-AUTH PLAIN login\r\n250-AUTH=PLAIN CRAM-MD5\r\n250-SMTPUTF8\r\n250-CHUNKING\r\n250-DSN\r\n250 STARTTLS\r\n",
        ));
        assert_eq!(
            e,
            Extensions {
                esmtp: true,
                pipelining: true,
                eight_bit_mime: true,
                smtputf8: true,
                chunking: true,
                dsn: true,
                starttls: true,
                size: Some(10240000),
                auth: vec!["PLAIN".into(), "LOGIN".into(), "CRAM-MD5".into()],
            }
        );
        let e = parse_ehlo(&reply("250-x\r\n250 SIZE\r\n"));
        assert_eq!(e.size, Some(0));
        assert!(!e.pipelining);
        // The greeting line's words are not keywords.
        assert!(!parse_ehlo(&reply("250 PIPELINING\r\n")).pipelining);
    }

    const GREET: &[u8] = b"220 mx.example ESMTP\r\n";
    pub(super) const EHLO_PIPE: &[u8] = b"250-mx.example\r\n250-PIPELINING\r\n250 8BITMIME\r\n";

    #[test]
    fn helo_fallback_and_greeting_errors() {
        let (r, seen) = session(
            &[GREET, b"502 what\r\n", b"250 hi\r\n"],
            TlsMode::None,
            false,
        );
        let c = r.unwrap();
        assert!(!c.extensions().esmtp);
        assert!(
            seen.lock()
                .unwrap()
                .contains(&"C: HELO client.example".to_string())
        );
        for (greeting, code) in [
            (&b"554 go away\r\n"[..], 69),
            (b"421 busy\r\n", 75),
            (b"250 what\r\n", 76),
            (b"garbage\r\n", 76),
        ] {
            let (r, _) = session(&[greeting], TlsMode::None, false);
            assert_eq!(r.err().unwrap().exit_code(), code, "{greeting:?}");
        }
        let (r, _) = session(&[GREET, b"421 later\r\n"], TlsMode::None, false);
        assert_eq!(r.err().unwrap().exit_code(), 75);
    }

    #[test]
    fn a_silent_ehlo_is_named_as_every_command_is() {
        // The connect phase's 30 s end the wait (the default options).
        let (r, _) = session(&[GREET, b"", b""], TlsMode::None, false);
        let e = r.err().unwrap();
        assert_eq!(e.exit_code(), 75);
        assert_eq!(e.to_string(), "mx.example:25: no reply to EHLO within 30 s");
    }

    #[test]
    fn tls_policy_without_starttls() {
        // auto without a password: goes on in plaintext.
        let (r, _) = session(&[GREET, EHLO_PIPE], TlsMode::Auto, false);
        assert!(!r.unwrap().is_tls());
        // auto with a password, or required: 69, naming --tls none.
        let (r, _) = session(&[GREET, EHLO_PIPE], TlsMode::Auto, true);
        let e = r.err().unwrap();
        assert_eq!(e.exit_code(), 69);
        assert!(e.message().contains("use --tls none"), "{e}");
        let (r, _) = session(&[GREET, EHLO_PIPE], TlsMode::Required, false);
        assert_eq!(r.err().unwrap().exit_code(), 69);
        // STARTTLS offered but refused, "for now" or not: 69, never 75 (a man in the middle
        // sends 454 as easily as it strips the offer).
        for refusal in [&b"454 not now\r\n"[..], b"502 no\r\n"] {
            let (r, _) = session(
                &[GREET, b"250-x\r\n250 STARTTLS\r\n", refusal],
                TlsMode::Required,
                false,
            );
            let e = r.err().unwrap();
            assert_eq!(e.exit_code(), 69, "{refusal:?}");
            assert!(!e.is_transient());
        }
    }

    #[test]
    fn a_netrc_password_is_never_offered_cleartext() {
        let target = Target::parse("smtp://mx.example:25", &[Scheme::Smtp]).unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        let secret = Credentials::password("u", "pw").from_netrc(Some("/home/u/.netrc".into()));
        let open = |mode| {
            let stream = MockStream::scripted(&[GREET, EHLO_PIPE], 3);
            SmtpClient::handshake(stream, &target, &options(mode), deadline, Some(&secret))
        };
        let e = open(TlsMode::Auto).err().unwrap();
        assert_eq!(e.exit_code(), 69);
        assert_eq!(
            e.message(),
            "mx.example:25: the server does not offer TLS (no STARTTLS in its EHLO reply); refusing to send the password from netrc file /home/u/.netrc in cleartext (netrc holds it for the host, perhaps for another service)"
        );
        // --tls none is the user's own word: it goes.
        assert!(open(TlsMode::None).is_ok());
    }

    #[test]
    fn starttls_upgrades_and_asks_ehlo_again() {
        let (r, seen) = session(
            &[
                GREET,
                b"250-x\r\n250 STARTTLS\r\n",
                b"220 go ahead\r\n",
                b"250-x\r\n250 AUTH PLAIN\r\n",
            ],
            TlsMode::Auto,
            true,
        );
        let c = r.unwrap();
        assert!(c.is_tls());
        assert_eq!(c.extensions().auth, ["PLAIN"]);
        let sent: Vec<String> = seen
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.starts_with("C: "))
            .cloned()
            .collect();
        assert_eq!(
            sent,
            [
                "C: EHLO client.example",
                "C: STARTTLS",
                "C: EHLO client.example"
            ]
        );
        // Bytes after the 220, before the handshake: refused (76), nothing more sent.
        let (r, seen) = session(
            &[
                GREET,
                b"250-x\r\n250 STARTTLS\r\n",
                b"220 go ahead\r\n250-injected\r\n250 AUTH PLAIN\r\n",
            ],
            TlsMode::Auto,
            true,
        );
        let e = r.err().unwrap();
        assert_eq!(e.exit_code(), 76);
        assert!(e.message().contains("before the TLS handshake"), "{e}");
        assert_eq!(seen.lock().unwrap().last().unwrap(), "S: 220 go ahead");
    }

    pub(super) fn client(after_ehlo: &[&[u8]], ehlo: &[u8]) -> SmtpClient<MockStream> {
        let mut script: Vec<&[u8]> = vec![GREET, ehlo];
        script.extend_from_slice(after_ehlo);
        let (r, _) = session(&script, TlsMode::None, false);
        r.unwrap()
    }

    pub(super) fn envelope(rcpts: &[&str], partial: bool) -> Envelope {
        Envelope {
            from: "ada@example.com".into(),
            rcpts: rcpts.iter().map(|s| s.to_string()).collect(),
            mail_params: vec!["BODY=8BITMIME".into()],
            partial,
            ..Envelope::default()
        }
    }

    pub(super) fn written(c: &SmtpClient<MockStream>) -> String {
        c.conn.stream().written_str()
    }

    fn login(user: &str, forced: Option<Mechanism>) -> Credentials {
        let method = forced.map_or(crate::session::Method::Auto, crate::session::Method::Sasl);
        Credentials::password(user, "hunter2").with_method(method)
    }

    const EHLO_AUTH: &[u8] = b"250-mx\r\n250 AUTH LOGIN PLAIN CRAM-MD5\r\n";

    #[test]
    fn auth_plain_login_and_failures() {
        // PLAIN, preferred, with an initial response; the secret never in the transcript.
        let (r, seen) = session(&[GREET, EHLO_AUTH, b"235 ok\r\n"], TlsMode::None, true);
        let mut c = r.unwrap();
        assert_eq!(
            c.authenticate(&login("bob", None)).unwrap(),
            Mechanism::Plain
        );
        assert!(
            written(&c).ends_with("AUTH PLAIN AGJvYgBodW50ZXIy\r\n"),
            "{}",
            written(&c)
        );
        let shown = seen.lock().unwrap().join("\n");
        assert!(shown.contains("C: AUTH PLAIN ****") && !shown.contains("AGJvYgBodW50ZXIy"));
        // LOGIN, forced: user and password as answers to 334s, hidden.
        let (r, seen) = session(
            &[
                GREET,
                EHLO_AUTH,
                b"334 VXNlcm5hbWU6\r\n",
                b"334 UGFzc3dvcmQ6\r\n",
                b"235 ok\r\n",
            ],
            TlsMode::None,
            true,
        );
        let mut c = r.unwrap();
        c.authenticate(&login("bob", Some(Mechanism::Login)))
            .unwrap();
        assert!(written(&c).ends_with("AUTH LOGIN\r\nYm9i\r\naHVudGVyMg==\r\n"));
        let shown = seen.lock().unwrap().join("\n");
        assert!(!shown.contains("aHVudGVyMg=="), "{shown}");
        // Refused: 77, naming the user and the mechanism.
        let (r, _) = session(
            &[GREET, EHLO_AUTH, b"535 5.7.8 bad credentials\r\n"],
            TlsMode::None,
            true,
        );
        let e = r.unwrap().authenticate(&login("bob", None)).unwrap_err();
        assert_eq!(e.exit_code(), 77);
        assert!(
            e.message()
                .contains("login as bob with PLAIN failed: server said: 535"),
            "{e}"
        );
        // Refused for now: 75. No AUTH offered, or not the one forced: 69.
        for (script, forced, code) in [
            (&[GREET, EHLO_AUTH, b"454 4.7.0 later\r\n"][..], None, 75),
            (&[GREET, EHLO_PIPE], None, 69),
            (&[GREET, EHLO_AUTH], Some(Mechanism::ScramSha256), 69),
        ] {
            let (r, _) = session(script, TlsMode::None, true);
            let e = r.unwrap().authenticate(&login("bob", forced)).unwrap_err();
            assert_eq!(e.exit_code(), code, "{e}");
        }
        // A challenge that is not base64: cancelled with *, 76.
        let (r, _) = session(
            &[GREET, EHLO_AUTH, b"334 !!!\r\n", b"501 cancelled\r\n"],
            TlsMode::None,
            true,
        );
        let mut c = r.unwrap();
        let e = c
            .authenticate(&login("bob", Some(Mechanism::Login)))
            .unwrap_err();
        assert_eq!(e.exit_code(), 76);
        assert!(written(&c).ends_with("AUTH LOGIN\r\n*\r\n"));
    }

    #[test]
    fn auth_cram_md5_and_a_long_xoauth2_initial_response() {
        // RFC 2195's example.
        let (r, _) = session(
            &[
                GREET,
                b"250-mx\r\n250 AUTH CRAM-MD5\r\n",
                b"334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n",
                b"235 ok\r\n",
            ],
            TlsMode::None,
            true,
        );
        let mut c = r.unwrap();
        let auth = Credentials::password("tim", "tanstaaftanstaaf");
        assert_eq!(c.authenticate(&auth).unwrap(), Mechanism::CramMd5);
        assert!(
            written(&c)
                .ends_with("AUTH CRAM-MD5\r\ndGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw\r\n")
        );
        // A token too long for the AUTH line (RFC 4954 4): sent after the empty 334.
        let (r, seen) = session(
            &[
                GREET,
                b"250-mx\r\n250 AUTH PLAIN XOAUTH2\r\n",
                b"334 \r\n",
                b"235 ok\r\n",
            ],
            TlsMode::None,
            true,
        );
        let mut c = r.unwrap();
        let token = "t".repeat(600);
        let auth = Credentials::token("ci@example.com", token.clone());
        assert_eq!(c.authenticate(&auth).unwrap(), Mechanism::XOAuth2);
        let ir = B64.encode(format!(
            "user=ci@example.com\x01auth=Bearer {token}\x01\x01"
        ));
        assert!(written(&c).ends_with(&format!("AUTH XOAUTH2\r\n{ir}\r\n")));
        let shown = seen.lock().unwrap().join("\n");
        assert!(
            !shown.contains(&token[..20]) && shown.contains("C: ****"),
            "{shown}"
        );
    }
}
