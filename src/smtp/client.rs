//! The SMTP client (RFC 5321), with STARTTLS (RFC 3207), PIPELINING (RFC 2920), SIZE
//! (RFC 1870), 8BITMIME (RFC 6152), SMTPUTF8 (RFC 6531) and DSN (RFC 3461) parameters
//! passed through. Synchronous, over the shared engine (`Conn` with the `Smtp`
//! dialect): one connection, one transaction at a time, the message streamed through
//! `Conn::dot_writer`.

use crate::error::{Error, Kind, Result};
use crate::net::ConnectOptions;
use crate::net::stream::{NetStream, Transport};
use crate::net::tls::{TlsContext, TlsMode};
use crate::net::url::Target;
use crate::session::Credentials;
use crate::session::authenticate::{self, Sasl, Step};
use crate::session::open::{self, Opening};
use crate::session::sasl::{self, Mechanism};
use crate::session::starttls::{self, StartTls};
use crate::smtp::reply::Smtp;
use crate::wire::dot::LoneCr;
use crate::wire::reply::Reply;
use crate::wire::{Conn, DataWriter, Transcript};
use std::collections::VecDeque;
use std::io::Write;
use std::time::{Duration, Instant};

/// How to connect.
#[derive(Clone)]
pub struct SmtpOptions {
    pub connect: ConnectOptions,
    pub tls_mode: TlsMode,
    /// Needed for smtps:// and for `--tls auto|required`.
    pub tls: Option<TlsContext>,
    /// The name given in EHLO/HELO.
    pub helo: String,
    pub transcript: Option<Transcript>,
    /// How long to wait for the reply to the end of a message's data (RFC 5321 4.5.3.2.6:
    /// 10 minutes, [`FINAL_REPLY_TIMEOUT`]): the server may be delivering it meanwhile.
    pub final_reply_timeout: Duration,
}

impl SmtpOptions {
    fn opening(&self) -> Opening<'_> {
        let (tls, transcript) = (self.tls.as_ref(), self.transcript.as_ref());
        Opening::new(&self.connect, self.tls_mode, tls, transcript)
    }
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

/// One transaction's envelope. Parameters are passed as given (`SIZE=123`,
/// `BODY=8BITMIME`, `SMTPUTF8`, `RET=HDRS`, `NOTIFY=NEVER`...): the caller decides them from
/// [`SmtpClient::extensions`].
#[derive(Debug, Clone, Default)]
pub struct Envelope {
    /// The reverse-path, without brackets (empty for `<>`).
    pub from: String,
    pub rcpts: Vec<String>,
    pub mail_params: Vec<String>,
    pub rcpt_params: Vec<String>,
    /// Send to the recipients accepted even when some were refused.
    pub partial: bool,
    /// What to do with a lone CR in the data.
    pub lone_cr: LoneCr,
    /// Use BDAT when the server offers CHUNKING.
    pub chunking: bool,
}

/// A recipient and the server's answer to its RCPT.
#[derive(Debug, Clone)]
pub struct RcptReply {
    pub addr: String,
    pub reply: Reply,
}

impl RcptReply {
    pub fn accepted(&self) -> bool {
        self.reply.class() == 2
    }
}

/// What a delivered message got.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub accepted: Vec<String>,
    /// Refused recipients (only with `partial`).
    pub refused: Vec<RcptReply>,
    /// The reply to the end of the data.
    pub reply: Reply,
}

/// The error a recipient's refusal is: 5xx is 67 (no such user), 4xx 75.
pub fn refusal(peer: &str, r: &RcptReply) -> Error {
    let e = r.reply.error(format!("{peer}: RCPT TO:<{}>", r.addr));
    if r.reply.class() == 5 && e.kind() != Kind::Auth {
        e.with_kind(Kind::NoUser)
    } else {
        e
    }
}

/// The refusal that speaks for all of them: the first permanent one (5xx) when there is
/// one, since trying again cannot help a recipient refused for good; else the first.
pub fn first_refusal(rcpts: &[RcptReply]) -> Option<&RcptReply> {
    let refused = || rcpts.iter().filter(|r| !r.accepted());
    refused()
        .find(|r| r.reply.class() == 5)
        .or_else(|| refused().next())
}

/// Where a message's data goes: DATA's dot-stuffed stream, or BDAT chunks.
pub trait BodySink {
    /// Sends `data` (line ends canonicalised to CRLF on the way).
    fn write(&mut self, data: &[u8]) -> Result<()>;
}

impl<S: Write> BodySink for DataWriter<'_, S> {
    fn write(&mut self, data: &[u8]) -> Result<()> {
        DataWriter::write(self, data)
    }
}

/// How much canonical data one BDAT chunk carries (at most; the last may be less).
pub const BDAT_CHUNK: usize = 256 * 1024;

/// The message as BDAT chunks (RFC 3030): line ends made CRLF (a lone CR kept: the caller
/// refuses it unless allowed), no dot-stuffing; each chunk's reply read before the next
/// is sent. Its last chunk goes with LAST.
pub struct BdatWriter<'c, S: Transport> {
    conn: &'c mut Conn<S, Smtp>,
    out: Vec<u8>,
    /// The last byte taken was a CR whose LF may come in the next write.
    pending_cr: bool,
    /// Bytes sent in chunks so far.
    sent: u64,
    /// The data so far does not end with a line break: one is added at the end, as DATA
    /// does (RFC 5322 2.1: lines end in CRLF).
    line_open: bool,
}

impl<S: Transport> BdatWriter<'_, S> {
    fn chunk(&mut self) -> Result<Reply> {
        let arg = self.out.len().to_string();
        self.conn
            .send_command_with_data("BDAT", Some(&arg), &self.out)?;
        self.sent += self.out.len() as u64;
        self.out.clear();
        self.conn.read_reply()
    }

    /// Sends the last chunk with LAST; its reply is the message's final reply, read by
    /// [`SmtpClient::final_reply`].
    fn send_last(mut self) -> Result<()> {
        if self.pending_cr {
            self.out.push(b'\r');
            self.pending_cr = false;
        }
        if self.line_open {
            self.out.extend_from_slice(b"\r\n");
        }
        let arg = format!("{} LAST", self.out.len());
        self.conn
            .send_command_with_data("BDAT", Some(&arg), &self.out)
    }
}

impl<S: Transport> BodySink for BdatWriter<'_, S> {
    fn write(&mut self, data: &[u8]) -> Result<()> {
        for &b in data {
            if self.pending_cr {
                self.pending_cr = false;
                self.out.push(b'\r');
                if b == b'\n' {
                    self.out.push(b'\n');
                    continue;
                }
            }
            match b {
                b'\r' => self.pending_cr = true,
                b'\n' => self.out.extend_from_slice(b"\r\n"),
                _ => self.out.push(b),
            }
        }
        if let Some(&b) = data.last() {
            self.line_open = b != b'\n';
        }
        if self.out.len() >= BDAT_CHUNK {
            let r = self.chunk()?;
            if r.class() != 2 {
                let e = r.error(format!("{}: BDAT", self.conn.peer()));
                return Err(if r.class() == 5 && e.kind() == Kind::Unavailable {
                    e.with_kind(Kind::Data)
                } else {
                    e
                });
            }
        }
        Ok(())
    }
}

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
        let (stream, deadline) = open::connect(target, opts.opening())?;
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
        let (mut conn, r) = open::start(stream, target, Smtp, opts.opening(), deadline, |_| false)?;
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
        let mut client = starttls::starttls(client, target, opts.opening(), login)?;
        open::end_phase(&mut client.conn, opts.opening());
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
            return Err(Error::new(
                Kind::Unavailable,
                format!(
                    "{peer}: the server offers no AUTH, and a login as {} was asked for (drop --user, or check the server URL)",
                    login.user
                ),
            ));
        }
        let offered: Vec<&str> = self.ext.auth.iter().map(String::as_str).collect();
        let mech = sasl::choose(&offered, login.forced_mechanism()?, login.is_token())
            .map_err(|e| e.context(&peer))?;
        authenticate::authenticate(self, mech, login)?;
        Ok(mech)
    }

    /// Reads the reply to the end of a message's data (the final `.`, or BDAT LAST), waiting
    /// [`SmtpOptions::final_reply_timeout`] for it. Once that end is sent the server may have
    /// taken the message (RFC 5321 4.1.1.4): a reply that never comes, or a connection that
    /// closes instead, is [`Kind::Partial`] (79) saying so, never "try again" (75), which
    /// would have a wrapper send it twice. A malformed reply keeps its status (76) and says
    /// the same.
    fn final_reply(&mut self) -> Result<Reply> {
        let normal = self.conn.reply_timeout();
        self.conn.set_reply_timeout(self.final_reply_timeout);
        let r = self.conn.read_reply();
        if let Some(t) = normal {
            self.conn.set_reply_timeout(t);
        }
        let peer = self.conn.peer().to_string();
        let maybe = "the message may have been delivered: sending it again may deliver it twice";
        r.map_err(|e| {
            self.broken = true;
            match e.kind() {
                Kind::Timeout => Error::new(
                    Kind::Partial,
                    format!(
                        "{peer}: no reply within {} s after the end of the message data: {maybe}",
                        self.final_reply_timeout.as_secs_f64()
                    ),
                ),
                Kind::Io => Error::new(
                    Kind::Partial,
                    format!(
                        "{peer}: connection lost after the end of the message data, before the server's reply: {maybe}"
                    ),
                ),
                // --max-time ended the wait: as unknown an outcome as a reply that never came.
                Kind::RunLimit => Error::new(Kind::Partial, format!("{}; {maybe}", e.message())),
                _ => {
                    let m = format!("{}; {maybe}", e.message());
                    e.with_message(m)
                }
            }
        })
    }

    /// Reads the reply to `what`; a timeout names it.
    fn reply_to(&mut self, what: &str) -> Result<Reply> {
        open::reply_to(&mut self.conn, what).inspect_err(|_| self.broken = true)
    }

    /// Sends one message: MAIL, every RCPT and DATA (in one write with PIPELINING, RFC
    /// 2920), each recipient's answer told to `on_rcpt` as it arrives, then the data that
    /// `body` writes, then the closing `.` and its reply.
    ///
    /// A refused recipient ends the transaction before any data is sent (its error: 67 for
    /// 5xx, 75 for 4xx; the first 5xx when some are 4xx and some 5xx, [`first_refusal`]),
    /// unless `env.partial`, which delivers to those accepted. No recipient accepted is the
    /// same error. When the server already said 354 to a pipelined DATA and the message
    /// must not go, or `body` fails, the connection is dropped without the final `.`, so
    /// nothing is delivered. MAIL refused is the reply's error (75, 69, 77); the final
    /// reply: 4xx 75, 5xx 65, none at all 79 (the message may have been delivered).
    pub fn send(
        &mut self,
        env: &Envelope,
        on_rcpt: &mut dyn FnMut(&RcptReply),
        body: impl FnOnce(&mut dyn BodySink) -> Result<()>,
    ) -> Result<Delivered> {
        // CHUNKING (RFC 3030): BDAT instead of DATA, unless told otherwise.
        let chunking = self.ext.chunking && env.chunking;
        let peer = self.conn.peer().to_string();
        let mail_arg = with_params(format!("FROM:<{}>", env.from), &env.mail_params);
        let rcpt_args: Vec<String> = env
            .rcpts
            .iter()
            .map(|r| with_params(format!("TO:<{r}>"), &env.rcpt_params))
            .collect();
        let mut mail: Option<Reply> = None;
        let mut rcpts: Vec<RcptReply> = Vec::new();
        let mut data: Option<Reply> = None;
        if self.ext.pipelining {
            let mut owed: VecDeque<Owed> = VecDeque::new();
            let mut commands: Vec<(&str, String, Owed)> = Vec::new();
            commands.push(("MAIL", mail_arg.clone(), Owed::Mail));
            for (i, a) in rcpt_args.iter().enumerate() {
                commands.push(("RCPT", a.clone(), Owed::Rcpt(i)));
            }
            for (verb, arg, what) in commands {
                // A full window: send the group, read all its replies, start the next
                // group (groups of about 4 KiB, not a trickle of single commands).
                if !self.conn.fits_window(verb, Some(&arg)) {
                    while let Some(next) = owed.pop_front() {
                        self.take_reply(next, env, &mut mail, &mut rcpts, on_rcpt)?;
                    }
                }
                self.conn
                    .queue(verb, Some(&arg))
                    .inspect_err(|_| self.broken = true)?;
                owed.push_back(what);
            }
            // DATA goes in the same group (RFC 2920 3.1): it is the last command, and a 354
            // we must not follow is answered by dropping the connection. BDAT waits.
            if !chunking {
                while !self.conn.fits_window("DATA", None) {
                    let Some(next) = owed.pop_front() else { break };
                    self.take_reply(next, env, &mut mail, &mut rcpts, on_rcpt)?;
                }
                self.conn.queue("DATA", None)?;
                owed.push_back(Owed::Data);
            }
            self.conn.flush().inspect_err(|_| self.broken = true)?;
            while let Some(next) = owed.pop_front() {
                if next == Owed::Data {
                    data = Some(self.reply_to("DATA")?);
                } else {
                    self.take_reply(next, env, &mut mail, &mut rcpts, on_rcpt)?;
                }
            }
        } else {
            self.conn.send_command("MAIL", Some(&mail_arg))?;
            let r = self.reply_to("MAIL FROM")?;
            let ok = r.class() == 2;
            mail = Some(r);
            if ok {
                for (i, a) in rcpt_args.iter().enumerate() {
                    self.conn.send_command("RCPT", Some(a))?;
                    self.take_reply(Owed::Rcpt(i), env, &mut mail, &mut rcpts, on_rcpt)?;
                }
            }
        }
        let mail = mail.ok_or_else(|| Error::new(Kind::Software, "no reply to MAIL"))?;
        let go_on = if mail.class() != 2 {
            Err(mail.error(format!("{peer}: MAIL FROM:<{}>", env.from)))
        } else if let Some(first) = first_refusal(&rcpts) {
            if env.partial && rcpts.iter().any(RcptReply::accepted) {
                Ok(())
            } else {
                Err(refusal(&peer, first))
            }
        } else if rcpts.is_empty() {
            Err(Error::new(Kind::Usage, "no recipients"))
        } else {
            Ok(())
        };
        if go_on.is_ok() && chunking {
            return self.send_chunks(&peer, rcpts, body);
        }
        // Not pipelined: DATA only now that we know it should go.
        if go_on.is_ok() && data.is_none() {
            self.conn.send_command("DATA", None)?;
            data = Some(self.reply_to("DATA")?);
        }
        let got_354 = data.as_ref().is_some_and(|r| r.code == 354);
        if let Err(e) = go_on {
            if got_354 {
                self.abandon();
            } else {
                let _ = self.rset();
            }
            return Err(e);
        }
        let data = data.ok_or_else(|| Error::new(Kind::Software, "no reply to DATA"))?;
        if data.code != 354 {
            let e = data.error(format!("{peer}: DATA"));
            let _ = self.rset();
            return Err(if data.class() == 5 && e.kind() == Kind::Unavailable {
                e.with_kind(Kind::Data)
            } else {
                e
            });
        }
        let mut w = self.conn.dot_writer(env.lone_cr)?;
        if let Err(e) = body(&mut w) {
            drop(w);
            self.abandon();
            return Err(e);
        }
        if let Err(e) = w.finish() {
            self.broken = true;
            return Err(e);
        }
        let r = self.final_reply()?;
        if r.class() != 2 {
            let e = r.error(format!("{peer}: the message was refused"));
            return Err(if r.class() == 5 && e.kind() == Kind::Unavailable {
                e.with_kind(Kind::Data)
            } else {
                e
            });
        }
        let (accepted, refused): (Vec<RcptReply>, Vec<RcptReply>) =
            rcpts.into_iter().partition(RcptReply::accepted);
        Ok(Delivered {
            accepted: accepted.into_iter().map(|r| r.addr).collect(),
            refused,
            reply: r,
        })
    }

    /// The data as BDAT chunks, once the envelope is accepted.
    fn send_chunks(
        &mut self,
        peer: &str,
        rcpts: Vec<RcptReply>,
        body: impl FnOnce(&mut dyn BodySink) -> Result<()>,
    ) -> Result<Delivered> {
        let mut w = BdatWriter {
            conn: &mut self.conn,
            out: Vec::with_capacity(BDAT_CHUNK + 2 * 64 * 1024),
            pending_cr: false,
            sent: 0,
            line_open: false,
        };
        if let Err(e) = body(&mut w) {
            drop(w);
            // Without BDAT LAST nothing is delivered (RFC 3030 2).
            self.abandon();
            return Err(e);
        }
        if let Err(e) = w.send_last() {
            // BDAT LAST did not go whole: nothing can have been delivered (RFC 3030 2).
            self.broken = true;
            return Err(e);
        }
        let r = self.final_reply()?;
        if r.class() != 2 {
            let e = r.error(format!("{peer}: the message was refused"));
            return Err(if r.class() == 5 && e.kind() == Kind::Unavailable {
                e.with_kind(Kind::Data)
            } else {
                e
            });
        }
        let (accepted, refused): (Vec<RcptReply>, Vec<RcptReply>) =
            rcpts.into_iter().partition(RcptReply::accepted);
        Ok(Delivered {
            accepted: accepted.into_iter().map(|r| r.addr).collect(),
            refused,
            reply: r,
        })
    }

    fn take_reply(
        &mut self,
        what: Owed,
        env: &Envelope,
        mail: &mut Option<Reply>,
        rcpts: &mut Vec<RcptReply>,
        on_rcpt: &mut dyn FnMut(&RcptReply),
    ) -> Result<()> {
        match what {
            Owed::Mail => *mail = Some(self.reply_to("MAIL FROM")?),
            Owed::Rcpt(i) => {
                let reply = self.reply_to("RCPT TO")?;
                let r = RcptReply {
                    addr: env.rcpts[i].clone(),
                    reply,
                };
                // After a refused MAIL the server refuses every RCPT too (503): those
                // are not the recipients' fault, and not told.
                if mail.as_ref().is_some_and(|m| m.class() == 2) {
                    on_rcpt(&r);
                }
                rcpts.push(r);
            }
            Owed::Data => {}
        }
        Ok(())
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

    fn peer(&self) -> &str {
        self.conn.peer()
    }

    fn not_offered(&self) -> Option<String> {
        (!self.ext.starttls).then(|| "no STARTTLS in its EHLO reply".to_string())
    }

    fn ask(&mut self) -> Result<std::result::Result<(), String>> {
        self.conn.send_command("STARTTLS", None)?;
        let r = self.reply_to("STARTTLS")?;
        Ok(if r.code == 220 {
            Ok(())
        } else {
            Err(format!("{} {}", r.code, r.text()))
        })
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

    fn conn(&self) -> &Conn<S, Smtp> {
        &self.conn
    }

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

/// Which reply a pipelined command is owed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owed {
    Mail,
    Rcpt(usize),
    Data,
}

fn with_params(mut arg: String, params: &[String]) -> String {
    for p in params {
        arg.push(' ');
        arg.push_str(p);
    }
    arg
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
    use crate::net::tls::TlsOptions;
    use crate::net::url::Scheme;
    use crate::wire::tests::{MockStream, collecting};
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD as B64;
    use std::time::Duration;

    fn options(mode: TlsMode) -> SmtpOptions {
        SmtpOptions {
            connect: ConnectOptions::default(),
            tls_mode: mode,
            tls: Some(TlsContext::new(&TlsOptions::default()).unwrap()),
            helo: "client.example".into(),
            transcript: None,
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
        opts.transcript = Some(t);
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
    const EHLO_PIPE: &[u8] = b"250-mx.example\r\n250-PIPELINING\r\n250 8BITMIME\r\n";

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
        let r = SmtpClient::handshake(
            MockStream::scripted(&[GREET, EHLO_PIPE], 3),
            &target,
            &options(TlsMode::Auto),
            deadline,
            Some(&secret),
        );
        let e = r.err().unwrap();
        assert_eq!(e.exit_code(), 69);
        assert_eq!(
            e.message(),
            "mx.example:25: the server does not offer TLS (no STARTTLS in its EHLO reply); refusing to send the password from netrc file /home/u/.netrc in cleartext (netrc holds it for the host, perhaps for another service)"
        );
        // --tls none is the user's own word: it goes.
        let r = SmtpClient::handshake(
            MockStream::scripted(&[GREET, EHLO_PIPE], 3),
            &target,
            &options(TlsMode::None),
            deadline,
            Some(&secret),
        );
        assert!(r.is_ok());
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

    fn client(after_ehlo: &[&[u8]], ehlo: &[u8]) -> SmtpClient<MockStream> {
        let mut script: Vec<&[u8]> = vec![GREET, ehlo];
        script.extend_from_slice(after_ehlo);
        let (r, _) = session(&script, TlsMode::None, false);
        r.unwrap()
    }

    fn envelope(rcpts: &[&str], partial: bool) -> Envelope {
        Envelope {
            from: "ada@example.com".into(),
            rcpts: rcpts.iter().map(|s| s.to_string()).collect(),
            mail_params: vec!["BODY=8BITMIME".into()],
            partial,
            ..Envelope::default()
        }
    }

    fn written(c: &SmtpClient<MockStream>) -> String {
        c.conn.stream().written_str()
    }

    #[test]
    fn pipelined_send_in_one_write() {
        // With PIPELINING the script's parts come in one go after the group's last line.
        let mut c = client(
            &[
                b"",
                b"",
                b"250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n",
                b"",
                b"250 queued as 1\r\n",
                b"221 bye\r\n",
            ],
            EHLO_PIPE,
        );
        let writes_before = c.conn.stream().writes;
        let mut told = Vec::new();
        let d = c
            .send(
                &envelope(&["b@x", "c@y"], false),
                &mut |r| told.push((r.addr.clone(), r.reply.code)),
                |w| w.write(b"Subject: x\n\n.\nhi\n"),
            )
            .unwrap();
        assert_eq!(d.accepted, ["b@x", "c@y"]);
        assert_eq!(d.reply.code, 250);
        assert_eq!(told, [("b@x".into(), 250), ("c@y".into(), 250)]);
        let w = written(&c);
        assert!(w.ends_with(
            "MAIL FROM:<ada@example.com> BODY=8BITMIME\r\nRCPT TO:<b@x>\r\nRCPT TO:<c@y>\r\nDATA\r\nSubject: x\r\n\r\n..\r\nhi\r\n.\r\n"
        ), "{w}");
        // One write for the group, then the data.
        assert_eq!(c.conn.stream().writes - writes_before, 2);
        c.quit();
    }

    #[test]
    fn a_refused_recipient_stops_the_message() {
        // Pipelined: the 354 came already; the connection is dropped without the dot.
        let mut c = client(
            &[
                b"",
                b"",
                b"250 ok\r\n550 no such user\r\n250 ok\r\n354 go\r\n",
            ],
            EHLO_PIPE,
        );
        let mut told = Vec::new();
        let mut body_called = false;
        let e = c
            .send(
                &envelope(&["b@x", "c@y"], false),
                &mut |r| told.push(r.reply.code),
                |_| {
                    body_called = true;
                    Ok(())
                },
            )
            .unwrap_err();
        assert_eq!(e.exit_code(), 67);
        assert!(
            e.message()
                .contains("RCPT TO:<b@x>: server said: 550 no such user"),
            "{e}"
        );
        assert_eq!(told, [550, 250]);
        assert!(!body_called);
        assert!(written(&c).ends_with("DATA\r\n"));
        assert!(c.conn.stream().closed && !c.is_usable());
        // 4xx: 75.
        let mut c = client(
            &[
                b"",
                b"",
                b"250 ok\r\n450 mailbox busy\r\n554 no valid recipients\r\n",
                b"250 reset\r\n",
            ],
            EHLO_PIPE,
        );
        let e = c
            .send(&envelope(&["b@x"], false), &mut |_| {}, |_| Ok(()))
            .unwrap_err();
        assert_eq!(e.exit_code(), 75);
        // No 354: the session is kept, RSET sent.
        assert!(c.is_usable());
        assert!(written(&c).ends_with("DATA\r\nRSET\r\n"));
    }

    #[test]
    fn a_permanent_refusal_speaks_for_the_message() {
        // 451 then 550: 67, naming the 550, whichever comes first.
        for (first, second, named) in [
            (&b"451 later"[..], &b"550 unknown"[..], "c@y"),
            (b"550 unknown", b"451 later", "b@x"),
        ] {
            let replies = [&b"250 ok\r\n"[..], first, b"\r\n", second, b"\r\n"].concat();
            let mut c = client(
                &[
                    b"",
                    b"",
                    &replies,
                    b"554 no valid recipients\r\n",
                    b"250 ok\r\n",
                ],
                EHLO_PIPE,
            );
            let e = c
                .send(&envelope(&["b@x", "c@y"], true), &mut |_| {}, |_| Ok(()))
                .unwrap_err();
            assert_eq!(e.exit_code(), 67, "{e}");
            assert!(e.message().contains(&format!("RCPT TO:<{named}>")), "{e}");
        }
    }

    #[test]
    fn partial_delivers_to_those_accepted() {
        let mut c = client(
            &[
                b"",
                b"",
                b"250 ok\r\n550 unknown\r\n250 ok\r\n354 go\r\n",
                b"",
                b"250 queued\r\n",
            ],
            EHLO_PIPE,
        );
        let d = c
            .send(&envelope(&["b@x", "c@y"], true), &mut |_| {}, |w| {
                w.write(b"hi\n")
            })
            .unwrap();
        assert_eq!(d.accepted, ["c@y"]);
        assert_eq!(d.refused.len(), 1);
        assert_eq!(d.refused[0].addr, "b@x");
        // Nobody accepted: the first refusal, even with partial.
        let mut c = client(
            &[
                b"",
                b"",
                b"250 ok\r\n550 unknown\r\n554 no recipients\r\n",
                b"250 ok\r\n",
            ],
            EHLO_PIPE,
        );
        let e = c
            .send(&envelope(&["b@x"], true), &mut |_| {}, |_| Ok(()))
            .unwrap_err();
        assert_eq!(e.exit_code(), 67);
    }

    #[test]
    fn lock_step_without_pipelining() {
        let mut c = client(
            &[
                b"250 ok\r\n",
                b"250 ok\r\n",
                b"354 go\r\n",
                b"",
                b"250 ok\r\n",
            ],
            b"250 mx.example\r\n",
        );
        c.send(&envelope(&["b@x"], false), &mut |_| {}, |w| w.write(b"x"))
            .unwrap();
        assert!(written(&c).ends_with(
            "MAIL FROM:<ada@example.com> BODY=8BITMIME\r\nRCPT TO:<b@x>\r\nDATA\r\nx\r\n.\r\n"
        ));
        // A refused recipient: RSET, never DATA.
        let mut c = client(
            &[b"250 ok\r\n", b"550 no\r\n", b"250 reset\r\n"],
            b"250 mx.example\r\n",
        );
        let e = c
            .send(&envelope(&["b@x"], false), &mut |_| {}, |_| Ok(()))
            .unwrap_err();
        assert_eq!(e.exit_code(), 67);
        assert!(!written(&c).contains("DATA"));
        assert!(written(&c).ends_with("RSET\r\n"));
        // MAIL refused: no RCPT at all.
        let mut c = client(&[b"553 bad sender\r\n", b"250 ok\r\n"], b"250 mx\r\n");
        let e = c
            .send(&envelope(&["b@x"], false), &mut |_| {}, |_| Ok(()))
            .unwrap_err();
        assert_eq!(e.exit_code(), 69);
        assert!(!written(&c).contains("RCPT"));
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
        let (r, _) = session(
            &[GREET, EHLO_AUTH, b"454 4.7.0 later\r\n"],
            TlsMode::None,
            true,
        );
        assert_eq!(
            r.unwrap()
                .authenticate(&login("bob", None))
                .unwrap_err()
                .exit_code(),
            75
        );
        // No AUTH offered, or not the one forced: 69.
        let (r, _) = session(&[GREET, EHLO_PIPE], TlsMode::None, true);
        assert_eq!(
            r.unwrap()
                .authenticate(&login("bob", None))
                .unwrap_err()
                .exit_code(),
            69
        );
        let (r, _) = session(&[GREET, EHLO_AUTH], TlsMode::None, true);
        let e = r
            .unwrap()
            .authenticate(&login("bob", Some(Mechanism::ScramSha256)))
            .unwrap_err();
        assert_eq!(e.exit_code(), 69);
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

    #[test]
    fn a_lost_final_reply_may_mean_delivered() {
        // No reply in time: waited for as long as RFC 5321 4.5.3.2.6 asks, then 79.
        let mut c = client(
            &[
                b"250 ok\r\n",
                b"250 ok\r\n",
                b"354 go\r\n",
                b"",
                b"",
                b"250 late\r\n",
            ],
            b"250 mx\r\n",
        );
        let e = c
            .send(&envelope(&["b@x"], false), &mut |_| {}, |w| w.write(b"x\n"))
            .unwrap_err();
        assert_eq!(e.exit_code(), 79, "{e}");
        assert_eq!(
            e.message(),
            "mx.example:25: no reply within 600 s after the end of the message data: the message may have been delivered: sending it again may deliver it twice"
        );
        assert!(!c.is_usable());
        // The last wait was the long one; the usual bound is back for what may follow.
        let waits = c.conn.stream().read_timeouts.lock().unwrap().clone();
        let last = waits.last().copied().flatten().unwrap();
        assert!(last > Duration::from_secs(590), "{waits:?}");
        assert!(
            waits[..waits.len() - 1]
                .iter()
                .all(|w| w.unwrap() <= Duration::from_secs(120))
        );
        assert_eq!(c.conn.reply_timeout(), Some(Duration::from_secs(120)));
        // The connection closed instead, after DATA's dot or BDAT LAST: 79 too.
        for chunking in [false, true] {
            let mut env = envelope(&["b@x"], false);
            env.chunking = chunking;
            let (ehlo, script): (&[u8], &[&[u8]]) = if chunking {
                (
                    b"250-mx\r\n250 CHUNKING\r\n",
                    &[b"250 ok\r\n", b"250 ok\r\n"],
                )
            } else {
                (
                    b"250 mx\r\n",
                    &[b"250 ok\r\n", b"250 ok\r\n", b"354 go\r\n"],
                )
            };
            let mut c = client(script, ehlo);
            let e = c.send(&env, &mut |_| {}, |w| w.write(b"x\n")).unwrap_err();
            assert_eq!(e.exit_code(), 79, "{e}");
            assert!(
                e.message()
                    .contains("connection lost after the end of the message data")
            );
            let sent = written(&c);
            assert!(
                sent.ends_with(if chunking {
                    "BDAT 3 LAST\r\nx\r\n"
                } else {
                    "x\r\n.\r\n"
                }),
                "{sent}"
            );
        }
    }

    #[test]
    fn final_replies_and_a_failing_body() {
        for (last, code) in [(&b"452 full\r\n"[..], 75), (b"554 spam\r\n", 65)] {
            let mut c = client(
                &[b"250 ok\r\n", b"250 ok\r\n", b"354 go\r\n", b"", last],
                b"250 mx\r\n",
            );
            let e = c
                .send(&envelope(&["b@x"], false), &mut |_| {}, |w| w.write(b"x"))
                .unwrap_err();
            assert_eq!(e.exit_code(), code, "{last:?}");
        }
        // The body fails midway: no dot, the connection is dropped.
        let mut c = client(
            &[b"250 ok\r\n", b"250 ok\r\n", b"354 go\r\n"],
            b"250 mx\r\n",
        );
        let e = c
            .send(&envelope(&["b@x"], false), &mut |_| {}, |w| {
                w.write(b"partial\n")?;
                Err(Error::new(Kind::Data, "line 2: bad"))
            })
            .unwrap_err();
        assert_eq!(e.exit_code(), 65);
        assert!(!written(&c).contains("\r\n.\r\n"), "{}", written(&c));
        assert!(c.conn.stream().closed);
    }
}
