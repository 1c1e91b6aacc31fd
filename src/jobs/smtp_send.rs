//! smtp-send's job: each message over one connection kept between messages (RSET between
//! transactions, connecting again when it broke), with what the server offers deciding the
//! MAIL parameters (8BITMIME, SIZE, SMTPUTF8, DSN), every recipient's reply reported, and
//! another try, with backoff, only while nothing can have been delivered.
//!
//! The command line ([`crate::cli`]) reads the message's header and makes the envelope; the
//! body streams from its source here, watched by [`BodyCheck`], in constant memory.

use crate::error::{Error, Kind, Result};
use crate::events::Events;
use crate::jobs::login::{Login, connect_with};
use crate::jobs::retry::RetryPolicy;
use crate::mime::Eol;
use crate::mime::qp::QpEncoder;
use crate::net::stream::NetStream;
use crate::net::url::Target;
use crate::smtp::client::{
    BodySink, Delivered, Envelope, Extensions, RcptReply, SmtpClient, SmtpOptions, refusal,
};
use crate::smtp::message::{BodyCheck, Header, Refusal, refusal_error};
use crate::wire::dot::LoneCr;
use std::cell::RefCell;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;

/// The server and how to reach it, checked before anything is read or sent.
pub struct Server {
    pub target: Target,
    /// Who logs in, asked again at each connection (a token may have expired meanwhile).
    pub auth: Option<RefCell<Box<dyn Login>>>,
    pub opts: SmtpOptions,
    pub retry: RetryPolicy,
}

/// How each message is sent (the flags, as types).
#[derive(Debug, Clone, Default)]
pub struct SendOptions {
    /// `--partial`: deliver to the recipients accepted when others are refused.
    pub partial: bool,
    /// `--allow-bare-cr`: a lone CR is sent as it is, not refused.
    pub allow_bare_cr: bool,
    /// Send with BDAT when the server offers CHUNKING (not `--no-chunking`).
    pub chunking: bool,
    /// `-B`: the body type the user declared (`7BIT`, `8BITMIME`).
    pub body_type: Option<String>,
    /// `--notify` (RFC 3461 4.1), already checked and upper-cased.
    pub notify: Option<String>,
    /// `--ret` (RFC 3461 4.3).
    pub ret: Option<String>,
    /// `--envid` (RFC 3461 4.4), printable ASCII.
    pub envid: Option<String>,
    /// Each recipient accepted and each message sent is noted (at a terminal, or `-v`).
    pub chatty: bool,
}

/// A message ready to go: its header read, its body still to stream.
pub struct ReadyMessage {
    /// How the message is named in messages (a file's path, `standard input`).
    pub what: String,
    pub header: Header,
    /// Body bytes read with the header.
    pub rest: Vec<u8>,
    pub reader: Box<dyn Read>,
    /// For a file: its path and where the body starts, to read it again on a retry.
    pub file_body_at: Option<(PathBuf, u64)>,
    /// For a file: the body's size with CRLF line ends and the line of its first 8-bit
    /// byte, from a scan before sending.
    pub scanned: Option<(u64, Option<u64>)>,
    /// `--quoted-printable`: the body is the text of a message made here, sent through
    /// mime-pack's quoted-printable encoder.
    pub qp: bool,
}

impl ReadyMessage {
    /// Back to the start of the body of a file, for another try.
    fn reopen_body(&mut self) -> Result<()> {
        let Some((path, at)) = &self.file_body_at else {
            return Err(Error::new(
                Kind::Software,
                "standard input cannot be read again",
            ));
        };
        let mut f = File::open(path).map_err(|e| Error::no_input(&self.what, &e))?;
        f.seek(SeekFrom::Start(*at))
            .map_err(|e| Error::local_io(&self.what, &e))?;
        self.reader = Box::new(f);
        self.rest.clear();
        Ok(())
    }
}

/// One message with its envelope and the header as it is sent.
pub struct Outgoing<'m> {
    pub msg: &'m mut ReadyMessage,
    /// The header section, rewritten (Date, Message-ID, From added; Bcc gone).
    pub header: Vec<u8>,
    /// The envelope sender, empty for the null sender.
    pub from: String,
    pub rcpts: Vec<String>,
}

/// What one message's log line says.
#[derive(Debug, Default)]
pub struct Record {
    pub from: String,
    pub rcpts: Vec<String>,
    pub size: u64,
    pub tls: bool,
    /// The final reply, or the error that ended the message.
    pub reply: Option<String>,
    /// The exit status of the first refused recipient (--partial or not).
    pub refused: Option<u8>,
    /// The refusals that stopped the message, to report once no try is left.
    pub refusals: Vec<Error>,
}

/// The connection, kept between messages.
#[derive(Default)]
pub struct Relay {
    client: Option<SmtpClient<NetStream>>,
    /// A transaction has run on it: RSET before the next.
    used: bool,
    /// The server's lack of DSN was said once.
    dsn_warned: bool,
}

impl Relay {
    /// QUIT, when connected.
    pub fn quit(mut self) {
        if let Some(c) = self.client.take() {
            c.quit();
        }
    }
}

/// How far a try went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// No byte of the body was taken from its source.
    Before,
    /// The body was being sent.
    Body,
    /// The final `.` was sent: the message may have been delivered.
    Sent,
}

/// Sends `out` over `session` (connecting when needed), trying again with backoff while
/// nothing can have been delivered and the message can be read again; `rec` says what
/// happened. Recipients refused for good with no try left are each reported, and the
/// message is then no failure of its own (their status is `rec.refused`).
pub fn send(
    server: &Server,
    opts: &SendOptions,
    out: &mut Outgoing<'_>,
    session: &mut Relay,
    events: &mut dyn Events,
    rec: &mut Record,
) -> Result<()> {
    let sent = send_tries(server, opts, out, session, events, rec);
    events.at_stake(None);
    sent
}

/// [`send`]'s tries.
fn send_tries(
    server: &Server,
    opts: &SendOptions,
    out: &mut Outgoing<'_>,
    session: &mut Relay,
    events: &mut dyn Events,
    rec: &mut Record,
) -> Result<()> {
    let mut backoff = server.retry.start();
    loop {
        events.at_stake(Some(&format!("{}: not sent", out.msg.what)));
        let mut attempt = Attempt {
            server,
            opts,
            out: &mut *out,
            session: &mut *session,
            events: &mut *events,
            rec: &mut *rec,
            stage: Stage::Before,
        };
        let e = match attempt.run() {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        let stage = attempt.stage;
        // Another try only when nothing can have been delivered, and the message can be
        // read again: standard input only before its body was taken.
        let again = match stage {
            Stage::Before => true,
            Stage::Body => out.msg.file_body_at.is_some(),
            Stage::Sent => false,
        };
        if again {
            if let Some(pause) = backoff.next(&e) {
                events.note(&backoff.message(&e, pause));
                std::thread::sleep(pause);
                if stage == Stage::Body {
                    out.msg.reopen_body()?;
                }
                rec.refused = None;
                rec.reply = None;
                rec.refusals.clear();
                continue;
            }
        }
        if !rec.refusals.is_empty() {
            // Each refused recipient is reported, with its own status; the first counts.
            for r in std::mem::take(&mut rec.refusals) {
                events.fail(&r);
            }
            events.note(&format!(
                "{}: not sent to anyone (--partial sends to the recipients accepted)",
                out.msg.what
            ));
            return Ok(());
        }
        return Err(e);
    }
}

/// One try at one message.
struct Attempt<'a, 'm> {
    server: &'a Server,
    opts: &'a SendOptions,
    out: &'a mut Outgoing<'m>,
    session: &'a mut Relay,
    events: &'a mut dyn Events,
    rec: &'a mut Record,
    stage: Stage,
}

impl Attempt<'_, '_> {
    /// A connection, the envelope's parameters for this server, then the transaction.
    fn run(&mut self) -> Result<()> {
        self.connection()?;
        let Some(client) = self.session.client.as_ref() else {
            return Err(Error::new(Kind::Software, "no connection"));
        };
        let ext = client.extensions().clone();
        let peer = client.peer().to_string();
        self.rec.tls = client.is_tls();
        let mut mail_params = self.body_params(&ext, &peer)?;
        let mut rcpt_params = Vec::new();
        self.address_params(&ext, &peer, &mut mail_params)?;
        self.dsn_params(&ext, &peer, &mut mail_params, &mut rcpt_params);
        let env = Envelope {
            from: self.out.from.clone(),
            rcpts: self.out.rcpts.clone(),
            mail_params,
            rcpt_params,
            partial: self.opts.partial,
            lone_cr: if self.opts.allow_bare_cr {
                LoneCr::Keep
            } else {
                LoneCr::Refuse
            },
            chunking: self.opts.chunking,
        };
        self.transaction(&env, &peer, !ext.eight_bit_mime)
    }

    /// The session's connection when it is still good (RSET after a transaction), else a
    /// new one, logged in.
    fn connection(&mut self) -> Result<()> {
        let session = &mut *self.session;
        if session.client.as_ref().is_some_and(|c| !c.is_usable()) {
            session.client = None;
        }
        if session.client.is_some() && session.used {
            if let Err(e) = session.client.as_mut().map_or(Ok(()), |c| c.rset()) {
                self.events.note(&format!("{e}; connecting again"));
                session.client = None;
            }
        }
        if session.client.is_none() {
            let server = self.server;
            let (target, opts) = (&server.target, &server.opts);
            let client = match &server.auth {
                Some(login) => connect_with(&mut **login.borrow_mut(), |auth| {
                    let mut client = SmtpClient::connect(target, opts, Some(auth))?;
                    if let Err(e) = client.authenticate(auth) {
                        client.quit();
                        return Err(e);
                    }
                    Ok(client)
                })?,
                None => SmtpClient::connect(target, opts, None)?,
            };
            session.client = Some(client);
            session.used = false;
        }
        Ok(())
    }

    /// What the body needs of the server, and what to declare: BODY=8BITMIME, SIZE. A body
    /// known to hold 8-bit bytes is refused before anything is sent to a server without
    /// 8BITMIME.
    fn body_params(&self, ext: &Extensions, peer: &str) -> Result<Vec<String>> {
        let msg = &*self.out.msg;
        let what = &msg.what;
        let mut mail_params = Vec::new();
        let known_eight_bit = msg.scanned.map(|(_, first)| first);
        let header_eight_bit = msg.header.eight_bit;
        if !ext.eight_bit_mime {
            if header_eight_bit {
                return Err(Error::new(
                    Kind::Data,
                    format!(
                        "{what}: the header section has 8-bit bytes, and {peer} does not offer 8BITMIME; nothing was sent"
                    ),
                ));
            }
            if let Some(Some(line)) = known_eight_bit {
                return Err(refusal_error(what, Refusal::EightBit, line));
            }
        } else {
            // RFC 6152 allows BODY=8BITMIME for a 7-bit body too: it is declared unless the
            // body is known to be 7-bit.
            let seven_bit = known_eight_bit == Some(None)
                && !header_eight_bit
                && self
                    .opts
                    .body_type
                    .as_deref()
                    .is_none_or(|b| b.eq_ignore_ascii_case("7BIT"));
            if !seven_bit {
                mail_params.push("BODY=8BITMIME".to_string());
            }
        }
        if let (Some(_), Some((canonical, _))) = (ext.size, msg.scanned) {
            mail_params.push(format!(
                "SIZE={}",
                canonical + canonical_len(&self.out.header)
            ));
        }
        Ok(mail_params)
    }

    /// SMTPUTF8 for an address that is not ASCII (RFC 6531), which a server without it
    /// cannot take.
    fn address_params(
        &self,
        ext: &Extensions,
        peer: &str,
        mail_params: &mut Vec<String>,
    ) -> Result<()> {
        let non_ascii = std::iter::once(&self.out.from)
            .chain(&self.out.rcpts)
            .find(|a| !a.is_ascii());
        if let Some(addr) = non_ascii {
            if !ext.smtputf8 {
                return Err(Error::new(
                    Kind::Unavailable,
                    format!(
                        "{peer}: the address {addr} is not ASCII, and the server does not offer SMTPUTF8"
                    ),
                ));
            }
            mail_params.push("SMTPUTF8".to_string());
        }
        Ok(())
    }

    /// `--notify`, `--ret`, `--envid` (RFC 3461), when the server offers DSN; said once
    /// when it does not.
    fn dsn_params(
        &mut self,
        ext: &Extensions,
        peer: &str,
        mail_params: &mut Vec<String>,
        rcpt_params: &mut Vec<String>,
    ) {
        let opts = self.opts;
        let dsn_asked = opts.notify.is_some() || opts.ret.is_some() || opts.envid.is_some();
        if dsn_asked && ext.dsn {
            if let Some(r) = &opts.ret {
                mail_params.push(format!("RET={}", r.to_ascii_uppercase()));
            }
            if let Some(id) = &opts.envid {
                mail_params.push(format!("ENVID={}", xtext(id)));
            }
            if let Some(n) = &opts.notify {
                rcpt_params.push(format!("NOTIFY={n}"));
            }
        } else if dsn_asked && !self.session.dsn_warned {
            self.session.dsn_warned = true;
            self.events.note(&format!(
                "warning: {peer} does not offer DSN: --notify, --ret and --envid are not sent"
            ));
        }
    }

    /// MAIL, RCPT for each recipient (each reply noted or kept as a refusal), then the
    /// data streamed; what the server said is recorded and reported.
    fn transaction(&mut self, env: &Envelope, peer: &str, refuse_eight_bit: bool) -> Result<()> {
        let Some(client) = self.session.client.as_mut() else {
            return Err(Error::new(Kind::Software, "no connection"));
        };
        // Told of each recipient's answer, then of the body's end (what a signal would leave).
        let events = std::cell::RefCell::new(&mut *self.events);
        let chatty = self.opts.chatty;
        let mut refusals: Vec<(Error, String)> = Vec::new();
        let mut on_rcpt = |r: &RcptReply| {
            if r.accepted() {
                if chatty {
                    events.borrow_mut().note(&format!(
                        "{}: accepted ({} {})",
                        r.addr,
                        r.reply.code,
                        r.reply.text()
                    ));
                }
            } else {
                refusals.push((
                    bare_name_hint(refusal(peer, r), &r.addr),
                    format!("{} {}", r.reply.code, r.reply.text()),
                ));
            }
        };
        self.session.used = true;
        let (out, stage) = (&mut *self.out, &mut self.stage);
        let first_line = out.msg.header.lines + 1;
        let allow_bare_cr = self.opts.allow_bare_cr;
        let mut size = 0;
        let result = client.send(env, &mut on_rcpt, |w| {
            *stage = Stage::Body;
            size = stream_body(
                w,
                &out.header,
                out.msg,
                first_line,
                allow_bare_cr,
                refuse_eight_bit,
            )?;
            *stage = Stage::Sent;
            events.borrow_mut().at_stake(Some(&format!(
                "{}: its end went to {peer}, which had not answered yet: it may have been delivered",
                out.msg.what
            )));
            Ok(())
        });
        self.rec.size = size;
        // A recipient refused for good is what the message's status says (67), before any
        // refused for now (75): trying again cannot help it. Reported in that order.
        refusals.sort_by_key(|(e, _)| e.is_transient());
        if let Some((e, reply)) = refusals.first() {
            self.rec.refused = Some(e.exit_code());
            self.rec.reply = Some(reply.clone());
        }
        let refusals: Vec<Error> = refusals.into_iter().map(|(e, _)| e).collect();
        self.outcome(result, refusals)
    }

    /// What the transaction's end means for the message.
    fn outcome(&mut self, result: Result<Delivered>, refusals: Vec<Error>) -> Result<()> {
        let what = self.out.msg.what.clone();
        match result {
            Ok(d) => {
                self.delivered(&d, &refusals);
                Ok(())
            }
            // Refused recipients: the caller reports each (or tries again, when all were
            // refused for now: greylisting). Each refusal is the client's error, perhaps
            // with a hint after it.
            Err(e)
                if refusals
                    .iter()
                    .any(|r| r.message().starts_with(e.message())) =>
            {
                let transient = refusals.iter().all(Error::is_transient);
                self.rec.refusals = refusals;
                Err(e.transient(transient))
            }
            // Once its end was sent, what went wrong is this message's fate (79: it may have
            // been delivered): named, as one of several --file must be.
            Err(e) if self.stage == Stage::Sent => Err(e.context(&what)),
            // The sender refused (MAIL FROM) for being a bare name.
            Err(e)
                if e.message()
                    .contains(&format!("MAIL FROM:<{}>", self.out.from)) =>
            {
                Err(bare_name_hint(e, &self.out.from))
            }
            Err(e) => Err(e),
        }
    }

    /// The server took the message: --partial's refusals reported, the reply recorded.
    fn delivered(&mut self, d: &Delivered, refusals: &[Error]) {
        let what = &self.out.msg.what;
        // --partial, some refused: the message's status (67 when one was refused for
        // good, else 79: not 75, since sending it again would reach the others twice)
        // and who got it, then each refusal as a failure of its own.
        if let Some(first) = refusals.first() {
            let refused: Vec<&str> = d.refused.iter().map(|r| r.addr.as_str()).collect();
            let summary = Error::new(
                if first.is_transient() {
                    Kind::Partial
                } else {
                    first.kind()
                },
                format!(
                    "{what}: --partial: delivered to {}; not to {}: sending it again to every recipient would deliver it twice",
                    d.accepted.join(", "),
                    refused.join(", ")
                ),
            );
            self.rec.refused = Some(summary.exit_code());
            self.events.fail(&summary);
        }
        for e in refusals {
            self.events.fail(e);
        }
        self.rec.reply = Some(format!("{} {}", d.reply.code, d.reply.text()));
        if self.opts.chatty {
            self.events.note(&format!(
                "{what}: sent to {} of {} recipients: {} {}",
                d.accepted.len(),
                self.out.rcpts.len(),
                d.reply.code,
                d.reply.text()
            ));
        }
    }
}

/// A permanent refusal (5xx) of an address without `@` (cron's `root`), with what makes it
/// one a relay takes: most refuse a name with no domain (RFC 5321 4.1.2 wants a Domain).
/// Not a login wanted (530): the name is not what is wrong then.
fn bare_name_hint(e: Error, addr: &str) -> Error {
    let permanent = e.reply_code().is_some_and(|c| c >= 500) && e.kind() != Kind::Auth;
    if addr.is_empty() || addr.contains('@') || !permanent {
        return e;
    }
    let msg = format!(
        "{}; {addr} has no domain: --aliases FILE maps it to addresses, --maildomain DOMAIN makes it {addr}@DOMAIN",
        e.message()
    );
    e.with_message(msg)
}

/// Writes the rewritten header, then the body as it streams from its source, watched by
/// [`BodyCheck`]: a refusal stops it (the caller drops the connection without the final
/// dot, so nothing is delivered).
/// Returns the size sent, with CRLF line ends (dot-stuffing not counted, as SIZE counts).
fn stream_body(
    w: &mut dyn BodySink,
    header: &[u8],
    msg: &mut ReadyMessage,
    first_line: u64,
    allow_bare_cr: bool,
    refuse_eight_bit: bool,
) -> Result<u64> {
    let what = msg.what.clone();
    let mut check = BodyCheck::new(first_line, allow_bare_cr, refuse_eight_bit);
    let fail = |(r, line)| refusal_error(&what, r, line);
    w.write(header)?;
    check.check(&msg.rest).map_err(fail)?;
    w.write(&msg.rest)?;
    let mut buf = vec![0u8; 64 * 1024];
    // --quoted-printable: what is checked and sent is the encoder's output (lines of at
    // most 76 characters, 7-bit, no lone CR), not the text as read.
    let mut qp = msg.qp.then(|| QpEncoder::new(Eol::CrLf));
    let mut encoded = Vec::new();
    loop {
        let n = read_some(&mut msg.reader, &mut buf, &what)?;
        let mut out = &buf[..n];
        if let Some(enc) = &mut qp {
            encoded.clear();
            if n == 0 {
                enc.finish(&mut encoded);
                // A text that does not end with a line break ends with a soft one, as
                // mime-pack ends it: the data's own final CRLF adds nothing to the text.
                let open = match encoded.last() {
                    Some(&b) => b != b'\n',
                    None => check.col() > 0,
                };
                if open {
                    encoded.extend_from_slice(b"=\r\n");
                }
            } else {
                enc.encode(out, &mut encoded);
            }
            out = &encoded;
        }
        check.check(out).map_err(fail)?;
        w.write(out)?;
        if n == 0 {
            break;
        }
    }
    check.finish().map_err(fail)?;
    Ok(canonical_len(header) + check.canonical)
}

/// The length of `data` with every bare LF made CRLF.
fn canonical_len(data: &[u8]) -> u64 {
    let lfs = data
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\n' && (i == 0 || data[i - 1] != b'\r'))
        .count();
    (data.len() + lfs) as u64
}

/// RFC 3461 4: xtext, `+XX` for `+`, `=`, and anything outside `!`..`~`.
fn xtext(v: &str) -> String {
    let mut out = String::new();
    for b in v.bytes() {
        if (33..=126).contains(&b) && b != b'+' && b != b'=' {
            out.push(b as char);
        } else {
            out.push_str(&format!("+{b:02X}"));
        }
    }
    out
}

/// Reads into `buf`, again when interrupted; an error names `what`.
pub fn read_some(r: &mut dyn Read, buf: &mut [u8], what: &str) -> Result<usize> {
    loop {
        match r.read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::local_io(what, &e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::message::{Additions, MAX_HEADER, read_header};
    use crate::wire::tests::smtp;

    #[test]
    fn only_a_bare_name_refused_for_good_gets_the_hint() {
        let hinted = |code, addr| {
            let e = Error::reply("h:25: RCPT TO:<x>", code, "no");
            bare_name_hint(e, addr).message().contains("--maildomain")
        };
        assert!(hinted(550, "root"));
        assert!(hinted(553, "root"));
        // For now only, a login wanted, or an address with a domain: the name is not it.
        assert!(!hinted(450, "root"));
        assert!(!hinted(530, "root"));
        assert!(!hinted(550, "root@example.com"));
        assert!(!hinted(550, ""));
    }

    /// Hands out its input in two reads, cut at `cut`.
    struct Split(Vec<u8>, usize);
    impl Read for Split {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = if self.1 > 0 { self.1 } else { self.0.len() };
            let n = n.min(buf.len()).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0.drain(..n);
            self.1 = 0;
            Ok(n)
        }
    }

    /// The whole path of the data, header read and rewritten, body streamed through the
    /// check and the dot-stuffer: no cut of the input makes anything but the last line
    /// the end of the data, and every cut sends the same bytes.
    #[test]
    fn no_split_of_the_input_ends_the_data_early() {
        let input: &[u8] =
            b"Subject: x\nDate: d\nMessage-ID: <m>\n\n.\nA\n.\r\n..\r.\r\n\n.\n\r\n.\r\nQUIT\r\n.";
        let want: &[u8] = b"Subject: x\nDate: d\nMessage-ID: <m>\n\r\n..\r\nA\r\n..\r\n...\r..\r\n\r\n..\r\n\r\n..\r\nQUIT\r\n..\r\n.\r\n";
        for cut in 1..=input.len() {
            let mut reader = Split(input.to_vec(), cut);
            let (header, rest) = read_header(&mut reader, MAX_HEADER, "in").unwrap();
            let mut msg = ReadyMessage {
                what: "in".into(),
                header,
                rest,
                reader: Box::new(reader),
                file_body_at: None,
                scanned: None,
                qp: false,
            };
            let head = msg.header.rewrite(&Additions::default());
            let mut c = smtp(b"", 64);
            let mut w = c.dot_writer(LoneCr::Keep).unwrap();
            let first = msg.header.lines + 1;
            stream_body(&mut w, &head, &mut msg, first, true, false).unwrap();
            w.finish().unwrap();
            let wire = &c.stream().written;
            // The canonical form: what the DotWriter makes of `want`'s header LFs.
            let mut canonical = Vec::new();
            let mut prev = 0u8;
            for &b in want {
                if b == b'\n' && prev != b'\r' {
                    canonical.push(b'\r');
                }
                canonical.push(b);
                prev = b;
            }
            assert_eq!(
                String::from_utf8_lossy(wire),
                String::from_utf8_lossy(&canonical),
                "cut at {cut}"
            );
            let ends = wire.windows(5).filter(|w| *w == b"\r\n.\r\n").count();
            assert_eq!(ends, 1, "cut at {cut}");
            assert!(wire.ends_with(b"\r\n.\r\n"));
        }
    }
}
