//! The command/response engine shared by FTP, SMTP, POP3 and IMAP, curl's pingpong.c idea:
//! one place appends CRLF to commands and refuses CR, LF and NUL in them; one place reads
//! replies, bounded in line length, line count and time ([`limits`]), framed by the
//! [`Dialect`] the client chose (each protocol's lives in its folder, [`crate::ftp::reply`]
//! and its siblings); one transcript for `--verbose`, with secrets redacted ([`transcript`]).
//!
//! Commands can be pipelined (SMTP PIPELINING, RFC 2920; POP3 PIPELINING, RFC 2449):
//! [`Conn::queue`] several, [`Conn::flush`] them in one write, then [`Conn::read_reply`] once
//! for each, in order. Dot-terminated data and IMAP literals are read from the same buffer as
//! replies, and dot-stuffed data is written through the same stream ([`body`]).
//!
//! The modules depend on each other one way: [`limits`] and [`transcript`] are leaves;
//! [`reply`] and [`dot`] read them; the connection here and its [`body`] read all four.

pub mod body;
pub mod dot;
pub mod limits;
pub mod reply;
pub mod transcript;

use crate::error::{Error, Kind, Result};
use crate::net::stream::{LimitReached, Timed, Transport};
use crate::net::tls::TlsContext;
use crate::wire::limits::{FAREWELL_WAIT, MAX_REPLY_LINES, PIPELINE_WINDOW, READ_BUF};
use crate::wire::reply::{Dialect, Response, Step};
use crate::wire::transcript::redact_echoes;
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

pub use crate::wire::body::{DataWriter, DotBody};
pub use crate::wire::transcript::{Transcript, printable};

/// What has been read from the server and not yet used.
struct Inbox {
    buf: Box<[u8]>,
    start: usize,
    end: usize,
}

/// A command/response connection over any stream, speaking dialect `D`.
pub struct Conn<S, D> {
    stream: S,
    dialect: D,
    inbox: Inbox,
    transcript: Option<Transcript>,
    /// Names the server in messages: `host:port`.
    peer: String,
    /// How long one whole reply may take to arrive, however it trickles in.
    reply_timeout: Option<Duration>,
    /// When set, the end of the current phase (connect, greeting, handshake): no reply
    /// may end later than this, whatever `reply_timeout` allows.
    phase_deadline: Option<Instant>,
    /// Commands queued for one write, each with its CRLF.
    queued: Vec<u8>,
    /// How each queued command is shown, and its size on the wire.
    queued_lines: Vec<(String, usize)>,
    /// The sizes of commands written whose final replies have not been read, oldest first.
    unanswered: VecDeque<usize>,
    /// The last reply was a SASL challenge: the next line sent answers it, and is a secret.
    answering: bool,
    /// The secrets sent since the last line that held none (a password, an AUTH payload):
    /// a reply that repeats one has it replaced by `****` ([`Conn::read_reply`]).
    echoes: Vec<Vec<u8>>,
    /// A failure left client and server out of step (a reply cut short, a write that
    /// failed, data not read or sent to its end): nothing more is sent or read.
    broken: bool,
    /// The longest command line the server takes, CRLF not counted, if the protocol has
    /// one: a longer one is refused unsent, as CR, LF and NUL are.
    max_command: Option<usize>,
}

impl<S, D> Conn<S, D> {
    pub fn new(stream: S, peer: impl Into<String>, dialect: D) -> Self {
        Conn {
            stream,
            dialect,
            inbox: Inbox {
                buf: vec![0u8; READ_BUF].into_boxed_slice(),
                start: 0,
                end: 0,
            },
            transcript: None,
            peer: peer.into(),
            reply_timeout: None,
            phase_deadline: None,
            queued: Vec::new(),
            queued_lines: Vec::new(),
            unanswered: VecDeque::new(),
            answering: false,
            echoes: Vec::new(),
            broken: false,
            max_command: None,
        }
    }

    /// Also redacts `secret` (a password behind an encoded AUTH payload, say) in the replies
    /// read until the next line sent that holds no secret.
    pub fn hide(&mut self, secret: &str) {
        if !secret.is_empty() && !self.echoes.iter().any(|e| e == secret.as_bytes()) {
            self.echoes.push(secret.as_bytes().to_vec());
        }
    }

    /// Remembers what `line` hides when it is shown as `shown` (the part `****` stands for),
    /// or, for a line that hides nothing, forgets the secrets sent before it. The SASL
    /// cancel `*` and the empty response `=` are no secrets; the cancel keeps those of its
    /// exchange, which the server's answer to it may repeat.
    fn note_secret(&mut self, line: &str, shown: &str) {
        if line == SASL_CANCEL {
            return;
        }
        if line == shown {
            self.echoes.clear();
            return;
        }
        let secret = match shown.strip_suffix("****") {
            Some(prefix) if line.starts_with(prefix) => &line[prefix.len()..],
            _ => line,
        };
        if matches!(secret, "*" | "=") {
            return;
        }
        // An IMAP quoted string may be repeated without its quotes.
        if let Some(inner) = secret.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
            self.hide(inner);
        }
        self.hide(secret);
    }

    /// Bounds every reply as a whole: a server that sends one byte just before each read
    /// would time out, is still cut off when the whole reply is not there in `timeout`.
    /// Dot-terminated data, which may be large, is bounded per read by it instead.
    pub fn set_reply_timeout(&mut self, timeout: Duration) {
        self.reply_timeout = Some(timeout);
    }

    /// The work is done and the next command is the last one (QUIT, LOGOUT), whose reply
    /// changes nothing: it is waited for at most [`FAREWELL_WAIT`] from now, however many
    /// replies it takes (IMAP answers LOGOUT with BYE, then the tagged OK, and a server may
    /// add untagged ones, each in time).
    pub fn say_farewell(&mut self) {
        self.reply_timeout = Some(
            self.reply_timeout
                .map_or(FAREWELL_WAIT, |t| t.min(FAREWELL_WAIT)),
        );
        let end = Instant::now() + FAREWELL_WAIT;
        self.phase_deadline = Some(self.phase_deadline.map_or(end, |d| d.min(end)));
    }

    /// Refuses, unsent, any command line longer than `max` bytes (CRLF not counted): a path
    /// of hundreds of KB, from a URL or a server, never reaches the wire. The refusal shows
    /// the line as the transcript would: a long password is never printed.
    pub fn set_max_command(&mut self, max: usize) {
        self.max_command = Some(max);
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

    pub fn peer(&self) -> &str {
        &self.peer
    }

    pub fn stream(&self) -> &S {
        &self.stream
    }

    pub fn stream_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    /// Whether a failure left this connection out of step with the server: it then refuses
    /// to send or read anything more, and should be closed.
    pub fn is_broken(&self) -> bool {
        self.broken
    }

    /// Whether bytes the server sent are waiting, unread, in our buffer.
    pub fn has_buffered(&self) -> bool {
        self.inbox.start < self.inbox.end
    }

    /// How many replies are still to be read for commands sent or queued.
    pub fn replies_owed(&self) -> usize {
        self.unanswered.len() + self.queued_lines.len()
    }

    /// Whether [`queue`](Conn::queue) would take this command now, or the replies in flight
    /// must be read first ([`PIPELINE_WINDOW`]).
    pub fn fits_window(&self, verb: &str, arg: Option<&str>) -> bool {
        let len = verb.len() + arg.map_or(0, |a| a.len() + 1) + 2;
        self.window_has_room(len)
    }

    fn window_has_room(&self, len: usize) -> bool {
        let in_flight = self.unanswered.iter().sum::<usize>() + self.queued.len();
        in_flight == 0 || in_flight + len <= PIPELINE_WINDOW
    }

    /// When the reply now starting must be complete.
    fn deadline(&self) -> Option<Instant> {
        let by_reply = self.reply_timeout.map(|t| Instant::now() + t);
        match (by_reply, self.phase_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn out_of_step(&self) -> Error {
        Error::connection_lost(format!(
            "{}: the connection is unusable after an earlier failure",
            self.peer
        ))
    }

    fn discard_queue(&mut self) {
        self.queued.clear();
        self.queued_lines.clear();
    }
}

impl<S, D: Dialect> Conn<S, D> {
    /// Queues a command for the next [`flush`](Conn::flush), refusing it (and every command
    /// queued since the last flush: nothing of the batch is ever sent) when it contains CR,
    /// LF or NUL, or when it would put more than [`PIPELINE_WINDOW`] bytes in flight: read
    /// the replies owed first ([`fits_window`](Conn::fits_window) tells). Only for commands
    /// the protocol allows to pipeline (RFC 2920 section 3.1; RFC 2449 section 6.6).
    pub fn queue(&mut self, verb: &str, arg: Option<&str>) -> Result<()> {
        if !self.fits_window(verb, arg) {
            let in_flight = self.replies_owed();
            self.discard_queue();
            return Err(Error::new(
                Kind::Software,
                format!(
                    "{}: {verb}: {in_flight} commands are in flight already; read their replies before queueing more than {PIPELINE_WINDOW} bytes (RFC 2920 section 3.1)",
                    self.peer
                ),
            ));
        }
        self.enqueue(command_line(verb, arg), None)
    }

    fn enqueue(&mut self, line: String, shown: Option<String>) -> Result<()> {
        if self.broken {
            self.discard_queue();
            return Err(self.out_of_step());
        }
        let shown = shown.unwrap_or_else(|| {
            if self.answering {
                "****".to_string()
            } else {
                self.dialect
                    .hide_secrets(&line)
                    .unwrap_or_else(|| line.clone())
            }
        });
        if line.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
            self.discard_queue();
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
        if let Some(max) = self.max_command.filter(|&m| line.len() > m) {
            self.discard_queue();
            return Err(Error::new(
                Kind::Usage,
                format!(
                    "{}: refusing to send a command line of {} bytes (at most {max}): {}",
                    self.peer,
                    line.len(),
                    printable(&shown)
                ),
            ));
        }
        self.answering = false;
        self.note_secret(&line, &shown);
        self.queued.extend_from_slice(line.as_bytes());
        self.queued.extend_from_slice(b"\r\n");
        self.queued_lines.push((shown, line.len() + 2));
        Ok(())
    }
}

/// The line that cancels a SASL exchange (RFC 4422 section 3.5; RFC 4954 section 4, RFC
/// 5034 section 4, RFC 3501 section 6.2.2).
const SASL_CANCEL: &str = "*";

/// `VERB` or `VERB arg`.
fn command_line(verb: &str, arg: Option<&str>) -> String {
    match arg {
        Some(a) => format!("{verb} {a}"),
        None => verb.to_string(),
    }
}

impl<S, D: Dialect> Conn<S, D> {
    /// Bytes the server sent though no reply was owed, which the dialect takes for the
    /// answer to a command never sent ([`Dialect::unsolicited`]): the error that says so.
    /// (Only what has arrived before a command goes out can be told apart; a reply that
    /// comes later is read as the next command's.)
    fn unsolicited(&self) -> Option<Error> {
        if !self.unanswered.is_empty() || !self.has_buffered() {
            return None;
        }
        let data = &self.inbox.buf[self.inbox.start..self.inbox.end];
        if !self.dialect.unsolicited(data) {
            return None;
        }
        let line = data.split(|&b| b == b'\n').next().unwrap_or_default();
        let line = String::from_utf8_lossy(&line[..line.len().min(200)]);
        Some(Error::new(
            Kind::Protocol,
            format!(
                "{}: the server sent a reply to no command: \"{}\"",
                self.peer,
                printable(line.trim_end_matches('\r'))
            ),
        ))
    }
}

impl<S: Write + Timed, D: Dialect> Conn<S, D> {
    /// Sends `VERB` or `VERB arg` with CRLF, after anything queued. Refuses CR, LF and NUL
    /// anywhere in it, so a file name can never inject a command. Secrets are redacted in
    /// the transcript (the dialect says which commands carry one:
    /// [`Dialect::hide_secrets`]); so is the whole line when it answers a SASL challenge.
    pub fn send_command(&mut self, verb: &str, arg: Option<&str>) -> Result<()> {
        self.enqueue(command_line(verb, arg), None)?;
        self.flush()
    }

    /// Sends a line that is a secret as a whole (a SASL response), shown as `****`, with
    /// the same refusal of CR, LF and NUL.
    pub fn send_secret_line(&mut self, line: &str) -> Result<()> {
        self.enqueue(line.to_string(), Some("****".to_string()))?;
        self.flush()
    }

    /// Cancels a SASL exchange (RFC 4422 section 3.5): `*`, shown as it is (a cancel is no
    /// secret), the exchange's secrets still hidden in the server's answer to it.
    pub fn cancel_sasl(&mut self) -> Result<()> {
        self.enqueue(SASL_CANCEL.to_string(), Some(SASL_CANCEL.to_string()))?;
        self.flush()
    }

    /// Sends `VERB arg` with CRLF and, in the same write, `data` as it is: SMTP BDAT (RFC
    /// 3030), whose data is counted, not a line. The command is checked and shown as
    /// [`send_command`](Conn::send_command) does; the data is not shown.
    pub fn send_command_with_data(
        &mut self,
        verb: &str,
        arg: Option<&str>,
        data: &[u8],
    ) -> Result<()> {
        self.enqueue(command_line(verb, arg), None)?;
        self.queued.extend_from_slice(data);
        self.flush()
    }

    /// Writes every queued command in one write, logging each.
    pub fn flush(&mut self) -> Result<()> {
        // A command is no bulk data, and the data before it has ended: the minimum rate
        // stops here, so a pause before the command (a slow sync after a POP3 message) is
        // never taken for a server that sent too little.
        self.stream.watch_rate(false);
        if self.queued.is_empty() {
            return Ok(());
        }
        if self.broken {
            self.discard_queue();
            return Err(self.out_of_step());
        }
        if let Some(e) = self.unsolicited() {
            self.discard_queue();
            self.broken = true;
            return Err(e);
        }
        if let Some(t) = &self.transcript {
            for (shown, _) in &self.queued_lines {
                t.client(shown);
            }
        }
        let written = self
            .stream
            .write_all(&self.queued)
            .and_then(|_| self.stream.flush());
        self.unanswered
            .extend(self.queued_lines.drain(..).map(|(_, len)| len));
        self.queued.clear();
        written.map_err(|e| {
            self.broken = true;
            Error::network(&self.peer, e)
        })
    }
}

impl<S: Read + Write + Timed, D: Dialect> Conn<S, D> {
    /// Reads one reply, framed by the dialect: anything queued is sent first. A line longer
    /// than the dialect's [`max_line`](Dialect::max_line) or a reply of more than
    /// [`MAX_REPLY_LINES`] lines is a protocol error (76), as is a line the dialect refuses; EOF is a broken connection (74); the
    /// whole reply must arrive within the reply timeout and the phase deadline (75). After
    /// any of these the connection is out of step ([`is_broken`](Conn::is_broken)).
    pub fn read_reply(&mut self) -> Result<D::Reply> {
        self.flush()?;
        if self.broken {
            return Err(self.out_of_step());
        }
        // A reply is no bulk data: it has its own deadline, not the minimum rate.
        self.stream.watch_rate(false);
        let deadline = self.deadline();
        let mut reply = None;
        let mut lines = 0;
        let outcome = loop {
            if lines == MAX_REPLY_LINES {
                break Err(Error::new(
                    Kind::Protocol,
                    format!(
                        "{}: a reply of more than {MAX_REPLY_LINES} lines",
                        self.peer
                    ),
                ));
            }
            let line = match self.read_line_by(deadline, self.dialect.max_line()) {
                Ok(l) => l,
                Err(e) => break Err(e),
            };
            lines += 1;
            if let Some(t) = &self.transcript {
                t.server(&redact_echoes(&line, &self.echoes));
            }
            match self.dialect.line(&mut reply, &line) {
                Ok(Step::More) => {}
                Ok(Step::Done) => break Ok(()),
                Err(why) => {
                    // Quoted in the error: a secret it repeats is hidden there too.
                    let line = redact_echoes(&line, &self.echoes);
                    break Err(Error::new(
                        Kind::Protocol,
                        format!(
                            "{}: malformed reply from the server ({why}): \"{}\"",
                            self.peer,
                            printable(&String::from_utf8_lossy(&line))
                        ),
                    ));
                }
            }
        };
        let reply = outcome.and_then(|()| {
            reply.ok_or_else(|| Error::new(Kind::Software, "a reply ended before it began"))
        });
        match reply {
            Ok(mut r) => {
                // A refusal that repeats a secret is shown, logged and made an error of:
                // redacted here, once. (Other replies are data, and only shown redacted.)
                if !r.is_ok() && !r.is_continuation() && !r.is_preliminary() {
                    for secret in &self.echoes {
                        r.redact(secret);
                    }
                }
                if !r.is_preliminary() {
                    self.unanswered.pop_front();
                }
                self.answering = r.is_continuation();
                Ok(r)
            }
            Err(e) => {
                self.broken = true;
                Err(e)
            }
        }
    }

    /// Reads one line, without its CRLF (a bare LF also ends a line), by `deadline`; a line
    /// longer than `max` is a protocol error.
    fn read_line_by(&mut self, deadline: Option<Instant>, max: usize) -> Result<Vec<u8>> {
        let mut line: Vec<u8> = Vec::new();
        loop {
            let inbox = &mut self.inbox;
            let avail = &inbox.buf[inbox.start..inbox.end];
            if let Some(i) = avail.iter().position(|&b| b == b'\n') {
                line.extend_from_slice(&avail[..i]);
                inbox.start += i + 1;
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                if line.len() > max {
                    return Err(self.overlong(max));
                }
                return Ok(line);
            }
            line.extend_from_slice(avail);
            inbox.start = inbox.end;
            if line.len() > max + 1 {
                return Err(self.overlong(max));
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
            let n = match self.stream.read(&mut self.inbox.buf) {
                Ok(0) => {
                    return Err(Error::network(
                        &self.peer,
                        io::Error::from(io::ErrorKind::UnexpectedEof),
                    ));
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if LimitReached::of(&e).is_some() => {
                    return Err(Error::network(&self.peer, e));
                }
                Err(e)
                    if deadline.is_some_and(|d| Instant::now() >= d)
                        && matches!(
                            e.kind(),
                            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                        ) =>
                {
                    return Err(self.too_slow());
                }
                Err(e) => return Err(Error::network(&self.peer, e)),
            };
            self.inbox.start = 0;
            self.inbox.end = n;
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

    fn overlong(&self, max: usize) -> Error {
        Error::new(
            Kind::Protocol,
            format!(
                "{}: the server sent a line longer than {} KiB",
                self.peer,
                max / 1024
            ),
        )
    }

    /// Waits up to `timeout` for the server to send something (IMAP IDLE waits this way in
    /// short steps, to notice a stop request between them): `true` when bytes are there to
    /// read, `false` when none came in time. Unlike a reply that times out, a wait that ends
    /// empty leaves the connection in step; EOF or a read error breaks it.
    pub fn wait_for_data(&mut self, timeout: Duration) -> Result<bool> {
        if self.broken {
            return Err(self.out_of_step());
        }
        if self.has_buffered() {
            return Ok(true);
        }
        self.stream
            .set_read_timeout(Some(timeout.max(Duration::from_millis(1))))
            .map_err(|e| Error::network(&self.peer, e))?;
        loop {
            match self.stream.read(&mut self.inbox.buf) {
                Ok(0) => {
                    self.broken = true;
                    return Err(Error::network(
                        &self.peer,
                        io::Error::from(io::ErrorKind::UnexpectedEof),
                    ));
                }
                Ok(n) => {
                    self.inbox.start = 0;
                    self.inbox.end = n;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e)
                    if LimitReached::of(&e).is_none()
                        && matches!(
                            e.kind(),
                            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                        ) =>
                {
                    return Ok(false);
                }
                Err(e) => {
                    self.broken = true;
                    return Err(Error::network(&self.peer, e));
                }
            }
        }
    }

    /// The continuation just read asked for no secret (IMAP IDLE's `+ idling`): the next
    /// line is shown in the transcript as it is.
    pub fn continuation_is_not_secret(&mut self) {
        self.answering = false;
    }

    /// Sends `command` (NOOP in FTP, SMTP, POP3) and reads its reply: an error unless the
    /// reply says OK.
    pub fn noop(&mut self, command: &str) -> Result<()> {
        self.send_command(command, None)?;
        let r = self.read_reply()?;
        if r.is_ok() {
            Ok(())
        } else {
            Err(r.error(&format!("{}: {command}", self.peer)))
        }
    }

    /// Runs slow local work (fsync of a large file) on another thread while sending
    /// `command` (a NOOP) every `interval`, so that neither the server nor a NAT on the way
    /// drops the connection as idle. A NOOP that fails leaves the connection broken
    /// ([`is_broken`](Conn::is_broken)) and ends the NOOPs; the work goes on either way.
    pub fn keepalive_during<T: Send>(
        &mut self,
        interval: Duration,
        command: &str,
        work: impl FnOnce() -> T + Send,
    ) -> T {
        std::thread::scope(|scope| {
            let handle = scope.spawn(work);
            let started = Instant::now();
            let mut next = interval;
            while !handle.is_finished() {
                std::thread::sleep(Duration::from_millis(5).min(interval));
                if started.elapsed() >= next {
                    next += interval;
                    if !self.broken && self.noop(command).is_err() {
                        self.broken = true;
                    }
                }
            }
            match handle.join() {
                Ok(v) => v,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    }
}

impl<S: Transport, D> Conn<S, D> {
    /// Upgrades the connection to TLS after the server agreed (AUTH TLS, STARTTLS, STLS).
    /// Bytes the server sent before the handshake are refused: they would be read later as
    /// if they came over TLS (the response-injection attack, CVE-2011-0411 class). So are
    /// commands still queued: they were meant for the plaintext connection.
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
        if self.broken {
            return Err(self.out_of_step());
        }
        if !self.queued.is_empty() {
            return Err(Error::new(
                Kind::Software,
                format!("{}: commands queued before the TLS handshake", self.peer),
            ));
        }
        let deadline = self.deadline();
        let Conn {
            stream,
            dialect,
            inbox,
            transcript,
            peer,
            reply_timeout,
            phase_deadline,
            max_command,
            ..
        } = self;
        let stream = stream
            .start_tls(tls, server_name, deadline)
            .map_err(|e| crate::net::tls::naming_peer(e, server_name, &peer))?;
        let mut conn = Conn::new(stream, peer, dialect);
        conn.inbox = inbox;
        conn.transcript = transcript;
        conn.reply_timeout = reply_timeout;
        conn.phase_deadline = phase_deadline;
        conn.max_command = max_command;
        Ok(conn)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::ftp::reply::Ftp;
    use crate::imap::reply::{Imap, MAX_IMAP_LINE};
    use crate::pop3::reply::Pop3;
    use crate::smtp::reply::Smtp;
    use crate::wire::limits::MAX_LINE;
    use crate::wire::reply::Reply;
    use std::net::SocketAddr;
    use std::sync::{Arc, Mutex};

    /// An in-memory transport standing in for a server: it serves its script in reads of at
    /// most `chunk` bytes, and records what is written. The first part of the script is
    /// there at once; each later part only once the client has written one more line, as a
    /// server's reply follows its command. A read with nothing released yet but more script
    /// to come times out; a read after the whole script is EOF.
    pub struct MockStream {
        pending: VecDeque<Vec<u8>>,
        avail: Vec<u8>,
        pos: usize,
        pub chunk: usize,
        pub written: Vec<u8>,
        /// How many `write` calls the client made.
        pub writes: usize,
        pub tls: bool,
        pub closed: bool,
        /// Writes fail with a reset connection.
        pub fail_writes: bool,
        /// How many reads fail with `Interrupted` first.
        pub interrupts: usize,
        /// A read that has to wait for the script blocks this long, then fails with
        /// `WouldBlock`, as a socket with a read timeout does; without, it fails at once.
        pub stall: Option<Duration>,
        /// Every read timeout the client set, in order.
        pub read_timeouts: Mutex<Vec<Option<Duration>>>,
        /// The next read fails with this (after `stall`, if set).
        pub read_error: Option<io::Error>,
    }

    impl MockStream {
        /// A stream whose whole input is there at once.
        pub fn new(input: &[u8], chunk: usize) -> Self {
            MockStream::scripted(&[input], chunk)
        }

        /// A stream that releases `parts[n]` after the client's n-th line.
        pub fn scripted(parts: &[&[u8]], chunk: usize) -> Self {
            let mut pending: VecDeque<Vec<u8>> = parts.iter().map(|p| p.to_vec()).collect();
            let avail = pending.pop_front().unwrap_or_default();
            MockStream {
                pending,
                avail,
                pos: 0,
                chunk,
                written: Vec::new(),
                writes: 0,
                tls: false,
                closed: false,
                fail_writes: false,
                interrupts: 0,
                stall: None,
                read_timeouts: Mutex::new(Vec::new()),
                read_error: None,
            }
        }

        pub fn written_str(&self) -> String {
            String::from_utf8_lossy(&self.written).into_owned()
        }
    }

    impl Read for MockStream {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.interrupts > 0 {
                self.interrupts -= 1;
                return Err(io::Error::from(io::ErrorKind::Interrupted));
            }
            if let Some(e) = self.read_error.take() {
                if let Some(d) = self.stall {
                    std::thread::sleep(d);
                }
                return Err(e);
            }
            if self.pos == self.avail.len() && !self.pending.is_empty() {
                if let Some(d) = self.stall {
                    std::thread::sleep(d);
                    return Err(io::Error::from(io::ErrorKind::WouldBlock));
                }
                return Err(io::Error::from(io::ErrorKind::TimedOut));
            }
            let n = self.chunk.min(buf.len()).min(self.avail.len() - self.pos);
            buf[..n].copy_from_slice(&self.avail[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
    }

    impl Timed for MockStream {
        fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
            self.read_timeouts
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(t);
            Ok(())
        }
    }

    impl Write for MockStream {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.fail_writes {
                return Err(io::Error::from(io::ErrorKind::ConnectionReset));
            }
            self.writes += 1;
            self.written.extend_from_slice(buf);
            for _ in buf.iter().filter(|&&b| b == b'\n') {
                if let Some(p) = self.pending.pop_front() {
                    self.avail.extend_from_slice(&p);
                }
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Transport for MockStream {
        fn peer_addr(&self) -> io::Result<SocketAddr> {
            Ok("192.0.2.1:21".parse().unwrap())
        }
        fn local_addr(&self) -> io::Result<SocketAddr> {
            Ok("192.0.2.2:40000".parse().unwrap())
        }
        fn start_tls(
            mut self,
            _: &TlsContext,
            server_name: &str,
            _: Option<Instant>,
        ) -> Result<Self> {
            if self.tls {
                return Err(Error::new(
                    Kind::Protocol,
                    format!("{server_name}: TLS is already active on this connection"),
                ));
            }
            self.tls = true;
            Ok(self)
        }
        fn is_tls(&self) -> bool {
            self.tls
        }
        fn close(&mut self) {
            self.closed = true;
        }
    }

    /// A transcript that collects its lines.
    pub fn collecting() -> (Transcript, Arc<Mutex<Vec<String>>>) {
        let seen = Arc::new(Mutex::new(Vec::<String>::new()));
        let s2 = seen.clone();
        (
            Transcript::new(move |l| s2.lock().unwrap().push(l.to_string())),
            seen,
        )
    }

    /// `c` with a transcript that collects its lines, and those lines.
    pub(crate) fn recording<D: Dialect>(
        mut c: Conn<MockStream, D>,
    ) -> (Conn<MockStream, D>, Arc<Mutex<Vec<String>>>) {
        let (t, seen) = collecting();
        c.set_transcript(Some(t));
        (c, seen)
    }

    /// Reads through `read` (a body's, a literal's) `buf` bytes at a time until it ends
    /// (`Ok(0)`): all it gave, or the error it stopped with.
    pub(crate) fn read_to_end(
        mut read: impl FnMut(&mut [u8]) -> Result<usize>,
        buf: usize,
    ) -> Result<Vec<u8>> {
        let mut got = Vec::new();
        let mut b = vec![0u8; buf];
        loop {
            match read(&mut b)? {
                0 => return Ok(got),
                n => got.extend_from_slice(&b[..n]),
            }
        }
    }

    /// The error `read` stops with, reading `buf` bytes at a time; an end fails the test.
    pub(crate) fn read_to_error(read: impl FnMut(&mut [u8]) -> Result<usize>, buf: usize) -> Error {
        match read_to_end(read, buf) {
            Ok(got) => panic!("an end, after {} bytes", got.len()),
            Err(e) => e,
        }
    }

    /// The address a mock connection in a dialect names: the protocol's port.
    pub(crate) trait MockAddress: Dialect {
        const ADDRESS: &'static str;
    }

    impl MockAddress for Ftp {
        const ADDRESS: &'static str = "mock:21";
    }

    impl MockAddress for Smtp {
        const ADDRESS: &'static str = "mock:25";
    }

    impl MockAddress for Pop3 {
        const ADDRESS: &'static str = "mock:110";
    }

    impl MockAddress for Imap {
        const ADDRESS: &'static str = "mock:143";
    }

    /// A connection in `dialect` to a server that sends `parts[n]` after the client's n-th
    /// line ([`MockStream::scripted`]), at most `chunk` bytes a read.
    pub(crate) fn scripted<D: MockAddress>(
        parts: &[&[u8]],
        chunk: usize,
        dialect: D,
    ) -> Conn<MockStream, D> {
        Conn::new(MockStream::scripted(parts, chunk), D::ADDRESS, dialect)
    }

    pub(crate) fn conn(input: &[u8], chunk: usize) -> Conn<MockStream, Ftp> {
        scripted(&[input], chunk, Ftp)
    }

    pub(crate) fn smtp(input: &[u8], chunk: usize) -> Conn<MockStream, Smtp> {
        scripted(&[input], chunk, Smtp)
    }

    pub(crate) fn pop3(input: &[u8], chunk: usize) -> Conn<MockStream, Pop3> {
        scripted(&[input], chunk, Pop3)
    }

    pub(crate) fn imap(input: &[u8], chunk: usize) -> Conn<MockStream, Imap> {
        scripted(&[input], chunk, Imap)
    }

    fn texts(r: &Reply) -> Vec<&str> {
        r.lines
            .iter()
            .map(|l| std::str::from_utf8(l).unwrap())
            .collect()
    }

    #[test]
    fn multi_line_replies_in_every_chunking() {
        let input = b"211-Features:\r\n EPSV\r\n211-SIZE\r\n MDTM\r\n211 End\r\n200 next\r\n";
        for chunk in 1..=input.len() {
            let mut c = conn(input, chunk);
            let r = c.read_reply().unwrap();
            assert_eq!(r.code, 211);
            assert_eq!(texts(&r), ["Features:", " EPSV", "SIZE", " MDTM", "End"]);
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
        let bad_cases: [&[u8]; 5] = [
            b"hello\r\n",
            b"22 short\r\n",
            b"2200 x\r\n",
            b"abc x\r\n",
            b"022 x\r\n",
        ];
        for bad in bad_cases {
            let mut c = conn(bad, 64);
            let e = c.read_reply().unwrap_err();
            assert_eq!(e.exit_code(), 76, "{e}");
            assert!(e.to_string().starts_with("mock:21: malformed reply"), "{e}");
            // Out of step: nothing more is sent or read.
            assert!(c.is_broken());
            assert_eq!(c.send_command("NOOP", None).unwrap_err().exit_code(), 74);
            assert_eq!(c.read_reply().unwrap_err().exit_code(), 74);
            assert!(c.stream().written.is_empty());
        }
    }

    #[test]
    fn eof_mid_reply_is_a_broken_connection() {
        for d in [&b"211-start\r\n more"[..], b"", b"211-start\r\n"] {
            let mut c = conn(d, 4);
            let e = c.read_reply().unwrap_err();
            assert_eq!(e.exit_code(), 74, "{e}");
            assert!(e.is_transient());
            assert!(c.is_broken());
        }
        let e = smtp(b"250-a\r\n250-b", 1).read_reply().unwrap_err();
        assert_eq!(e.exit_code(), 74, "{e}");
        let e = pop3(b"+OK", 1).read_reply().unwrap_err();
        assert_eq!(e.exit_code(), 74, "{e}");
    }

    #[test]
    fn overlong_lines_and_replies_are_bounded() {
        let mut long = b"200 ".to_vec();
        long.extend(std::iter::repeat_n(b'x', MAX_LINE + 10));
        long.extend_from_slice(b"\r\n");
        let e = conn(&long, 4096).read_reply().unwrap_err();
        assert!(e.to_string().contains("longer than 8 KiB"), "{e}");
        let e = pop3(&long, 4096).read_reply().unwrap_err();
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
    fn the_longest_line_and_reply_allowed_pass() {
        let mut exact = b"200 ".to_vec();
        exact.extend(std::iter::repeat_n(b'x', MAX_LINE - 4));
        exact.extend_from_slice(b"\r\n");
        for chunk in [1, 7, 4096, READ_BUF] {
            let r = conn(&exact, chunk).read_reply().unwrap();
            assert_eq!(r.lines[0].len(), MAX_LINE - 4);
        }
        // One more byte than allowed, its CR as the last byte of a read.
        let mut over = b"200 ".to_vec();
        over.extend(std::iter::repeat_n(b'x', MAX_LINE - 3));
        over.extend_from_slice(b"\r\n");
        for chunk in [1, MAX_LINE + 1, MAX_LINE + 2] {
            let e = conn(&over, chunk).read_reply().unwrap_err();
            assert_eq!(e.exit_code(), 76, "{chunk}");
        }
        let mut most = b"250-x\r\n".to_vec();
        for _ in 0..MAX_REPLY_LINES - 2 {
            most.extend_from_slice(b"250-line\r\n");
        }
        most.extend_from_slice(b"250 end\r\n");
        let r = smtp(&most, 4096).read_reply().unwrap();
        assert_eq!(r.lines.len(), MAX_REPLY_LINES);
        let mut too_many = b"250-x\r\n".to_vec();
        for _ in 0..MAX_REPLY_LINES - 1 {
            too_many.extend_from_slice(b"250-line\r\n");
        }
        too_many.extend_from_slice(b"250 end\r\n");
        let e = smtp(&too_many, 4096).read_reply().unwrap_err();
        assert_eq!(e.exit_code(), 76, "{e}");
    }

    #[test]
    fn a_reply_to_no_command_is_refused_before_the_next_command_goes_out() {
        // A second reply after the greeting would answer EHLO, and every later reply the
        // command before it.
        let mut c = smtp(b"220 hi\r\n250 extra\r\n", 4096);
        c.read_reply().unwrap();
        let e = c.send_command("EHLO", Some("me")).unwrap_err();
        assert_eq!(e.exit_code(), 76, "{e}");
        assert!(
            e.to_string()
                .ends_with("a reply to no command: \"250 extra\""),
            "{e}"
        );
        assert_eq!(c.stream().written, b"", "nothing sent after it");
        assert!(c.is_broken());
        let mut p = pop3(b"+OK hi\r\n+OK extra\r\n", 4096);
        p.read_reply().unwrap();
        assert_eq!(p.send_command("CAPA", None).unwrap_err().exit_code(), 76);
        // A 421 closing the connection is read as the next command's reply (75), as is
        // IMAP's untagged data at any time; and a reply owed is no reply to no command.
        let mut c = smtp(b"220 hi\r\n421 bye\r\n", 4096);
        c.read_reply().unwrap();
        c.send_command("EHLO", Some("me")).unwrap();
        assert_eq!(c.read_reply().unwrap().code, 421);
        let mut i = imap(b"* OK hi\r\n* 3 EXISTS\r\n", 4096);
        i.read_reply().unwrap();
        i.send_command("a1", Some("NOOP")).unwrap();
        // Pipelined commands: their replies are owed.
        let mut c = scripted(&[b"220 hi\r\n", b"", b"250 a\r\n250 b\r\n"], 4096, Smtp);
        c.read_reply().unwrap();
        c.queue("MAIL", Some("FROM:<a@x>")).unwrap();
        c.queue("RCPT", Some("TO:<b@x>")).unwrap();
        c.flush().unwrap();
        c.read_reply().unwrap();
        c.read_reply().unwrap();
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
        let e = c.send_command("PASS", Some("hun\rter2")).unwrap_err();
        assert!(e.to_string().ends_with("NUL: PASS ****"), "{e}");
        let e = c.send_secret_line("a\nb").unwrap_err();
        assert_eq!(e.exit_code(), 64);
        assert!(!e.to_string().contains("a\nb"));
        assert_eq!(c.stream().written, b"RETR a b.txt\r\n");
        assert!(!c.is_broken());
        c.send_command("NOOP", None).unwrap();
        assert_eq!(c.stream().written, b"RETR a b.txt\r\nNOOP\r\n");
    }

    #[test]
    fn a_command_line_over_the_limit_is_refused_unsent_and_unshown() {
        let mut c = conn(b"200 ok\r\n", 64);
        c.set_max_command(10);
        let e = c.send_command("PASS", Some("123456")).unwrap_err();
        assert_eq!(e.exit_code(), 64);
        assert_eq!(
            e.message(),
            "mock:21: refusing to send a command line of 11 bytes (at most 10): PASS ****"
        );
        assert_eq!(c.stream().written_str(), "");
        // Nothing was sent: the connection is in step, and a line at the limit goes.
        assert!(!c.is_broken());
        c.send_command("NOOP", Some("12345")).unwrap();
        assert_eq!(c.stream().written_str(), "NOOP 12345\r\n");
        assert_eq!(c.read_reply().unwrap().code, 200);
    }

    #[test]
    fn pipelined_commands_go_in_one_write_and_replies_come_in_order() {
        let (t, seen) = collecting();
        let replies = b"250 2.1.0 ok\r\n550 5.1.1 no such user\r\n250 2.1.5 ok\r\n354 go\r\n";
        for chunk in [1, 5, 1000] {
            let mut c = scripted(&[b"", b"", b"", b"", replies], chunk, Smtp);
            c.set_transcript(Some(t.clone()));
            c.queue("MAIL", Some("FROM:<a@example.com>")).unwrap();
            c.queue("RCPT", Some("TO:<x@example.com>")).unwrap();
            c.queue("RCPT", Some("TO:<y@example.com>")).unwrap();
            c.queue("DATA", None).unwrap();
            assert_eq!(c.replies_owed(), 4);
            assert!(c.stream().written.is_empty());
            c.flush().unwrap();
            assert_eq!(c.stream().writes, 1);
            assert_eq!(
                c.stream().written_str(),
                "MAIL FROM:<a@example.com>\r\nRCPT TO:<x@example.com>\r\n\
                 RCPT TO:<y@example.com>\r\nDATA\r\n"
            );
            let codes: Vec<u16> = (0..4).map(|_| c.read_reply().unwrap().code).collect();
            assert_eq!(codes, [250, 550, 250, 354]);
            assert_eq!(c.replies_owed(), 0);
        }
        let seen = seen.lock().unwrap();
        assert_eq!(
            seen[..5].join("\n"),
            "C: MAIL FROM:<a@example.com>\nC: RCPT TO:<x@example.com>\nC: RCPT TO:<y@example.com>\nC: DATA\nS: 250 2.1.0 ok"
        );
    }

    #[test]
    fn reading_sends_what_is_queued() {
        let mut c = scripted(&[b"", b"+OK 1 120\r\n", b"+OK 2 240\r\n"], 3, Pop3);
        c.queue("LIST", Some("1")).unwrap();
        c.queue("LIST", Some("2")).unwrap();
        assert_eq!(c.read_reply().unwrap().text, b"1 120");
        assert_eq!(c.stream().writes, 1);
        assert_eq!(c.replies_owed(), 1);
        assert_eq!(c.read_reply().unwrap().text, b"2 240");
        assert_eq!(c.replies_owed(), 0);
    }

    #[test]
    fn a_bad_command_refuses_the_whole_batch() {
        let mut c = smtp(b"", 1);
        c.queue("MAIL", Some("FROM:<a@example.com>")).unwrap();
        c.queue("RCPT", Some("TO:<x@example.com>")).unwrap();
        let e = c
            .queue("RCPT", Some("TO:<y@example.com>\r\nDATA"))
            .unwrap_err();
        assert_eq!(e.exit_code(), 64);
        assert_eq!(c.replies_owed(), 0);
        c.flush().unwrap();
        assert!(c.stream().written.is_empty());
        assert_eq!(c.stream().writes, 0);
        assert!(!c.is_broken());
    }

    #[test]
    fn the_pipeline_window_bounds_what_is_in_flight() {
        let mut c = smtp(b"", 1);
        let rcpt = format!("TO:<{}@example.com>", "x".repeat(100));
        let line = "RCPT ".len() + rcpt.len() + 2;
        let fit = PIPELINE_WINDOW / line;
        for _ in 0..fit {
            assert!(c.fits_window("RCPT", Some(&rcpt)));
            c.queue("RCPT", Some(&rcpt)).unwrap();
        }
        assert!(!c.fits_window("RCPT", Some(&rcpt)));
        assert!(c.fits_window("X", Some(&"y".repeat(PIPELINE_WINDOW - fit * line - 4))));
        assert!(!c.fits_window("X", Some(&"y".repeat(PIPELINE_WINDOW - fit * line - 3))));
        let e = c.queue("RCPT", Some(&rcpt)).unwrap_err();
        assert_eq!(e.exit_code(), 70);
        assert!(e.to_string().contains("RFC 2920"), "{e}");
        // The batch is gone.
        assert_eq!(c.replies_owed(), 0);
        // Commands sent but unanswered count too, until their replies are read.
        let replies = b"250 ok\r\n".repeat(fit);
        let mut parts: Vec<&[u8]> = vec![b""; fit];
        parts.push(&replies);
        let mut c = scripted(&parts, 64, Smtp);
        for _ in 0..fit {
            c.queue("RCPT", Some(&rcpt)).unwrap();
        }
        c.flush().unwrap();
        assert!(!c.fits_window("RCPT", Some(&rcpt)));
        c.read_reply().unwrap();
        assert!(c.fits_window("RCPT", Some(&rcpt)));
        // A command alone always fits, however long.
        let mut c = smtp(b"", 1);
        assert!(c.fits_window("X", Some(&"y".repeat(2 * PIPELINE_WINDOW))));
        c.queue("X", Some(&"y".repeat(2 * PIPELINE_WINDOW)))
            .unwrap();
        // send_command is not pipelining: it always goes.
        c.send_command("NOOP", None).unwrap();
        assert_eq!(c.replies_owed(), 2);
    }

    #[test]
    fn a_preliminary_reply_does_not_answer_its_command() {
        let mut c = scripted(&[b"", b"150 opening\r\n226 done\r\n"], 64, Ftp);
        c.send_command("RETR", Some("f")).unwrap();
        assert_eq!(c.replies_owed(), 1);
        assert_eq!(c.read_reply().unwrap().code, 150);
        assert_eq!(c.replies_owed(), 1);
        assert_eq!(c.read_reply().unwrap().code, 226);
        assert_eq!(c.replies_owed(), 0);
    }

    #[test]
    fn a_failed_write_breaks_the_connection() {
        let mut c = smtp(b"", 1);
        c.stream_mut().fail_writes = true;
        c.queue("NOOP", None).unwrap();
        let e = c.flush().unwrap_err();
        assert_eq!(e.exit_code(), 74);
        assert!(e.is_transient());
        assert!(c.is_broken());
        c.stream_mut().fail_writes = false;
        assert_eq!(c.queue("NOOP", None).unwrap_err().exit_code(), 74);
        assert_eq!(c.send_secret_line("x").unwrap_err().exit_code(), 74);
        assert!(c.stream().written.is_empty());
    }

    #[test]
    fn a_reply_that_never_comes_times_out() {
        // The socket's read timeout fires before the reply's deadline: the wait timed out.
        let mut c = scripted(&[b"220-a\r\n", b"never"], 64, Ftp);
        c.set_reply_timeout(Duration::from_secs(5));
        let e = c.read_reply().unwrap_err();
        assert_eq!(e.exit_code(), 75, "{e}");
        assert_eq!(e.to_string(), "mock:21: timed out waiting for the server");
        assert!(c.is_broken());
        // The reply's deadline passed while reads kept waiting: the reply as a whole was
        // too slow.
        let mut stream = MockStream::scripted(&[b"220-a\r\n", b"never"], 64);
        stream.stall = Some(Duration::from_millis(30));
        let mut c = Conn::new(stream, "mock:21", Ftp);
        c.set_reply_timeout(Duration::from_millis(20));
        let e = c.read_reply().unwrap_err();
        assert_eq!(
            e.to_string(),
            "mock:21: timed out waiting for a complete reply from the server"
        );
        // A deadline already past: no read at all.
        let mut c = conn(b"220 hi\r\n", 64);
        c.set_phase_deadline(Some(Instant::now()));
        let e = c.read_reply().unwrap_err();
        assert!(
            e.to_string()
                .contains("timed out waiting for a complete reply"),
            "{e}"
        );
        // The earlier of the two deadlines counts.
        let mut c = conn(b"220 hi\r\n", 64);
        c.set_reply_timeout(Duration::from_secs(60));
        c.set_phase_deadline(Some(Instant::now()));
        assert_eq!(c.read_reply().unwrap_err().exit_code(), 75);
        let mut c = conn(b"220 hi\r\n", 64);
        c.set_reply_timeout(Duration::ZERO);
        c.set_phase_deadline(Some(Instant::now() + Duration::from_secs(60)));
        assert_eq!(c.read_reply().unwrap_err().exit_code(), 75);
        let mut c = conn(b"220 hi\r\n", 64);
        c.set_reply_timeout(Duration::from_secs(60));
        c.set_phase_deadline(Some(Instant::now() + Duration::from_secs(60)));
        assert_eq!(c.read_reply().unwrap().code, 220);
    }

    /// The farewell's reply is waited for briefly: at most FAREWELL_WAIT, or the reply
    /// timeout when it is shorter, and a reply there in time is read.
    #[test]
    fn a_farewell_is_waited_for_briefly() {
        let mut c = conn(b"221 bye\r\n", 64);
        c.say_farewell();
        assert_eq!(c.reply_timeout(), Some(FAREWELL_WAIT));
        assert_eq!(c.read_reply().unwrap().code, 221);
        let mut c = conn(b"221 bye\r\n", 64);
        c.set_reply_timeout(Duration::from_millis(500));
        c.set_phase_deadline(Some(Instant::now() + Duration::from_secs(600)));
        c.say_farewell();
        assert_eq!(c.reply_timeout(), Some(Duration::from_millis(500)));
        assert!(c.phase_deadline.unwrap() <= Instant::now() + FAREWELL_WAIT);
        assert_eq!(c.read_reply().unwrap().code, 221);
    }

    #[test]
    fn interrupted_reads_are_retried() {
        let mut stream = MockStream::new(b"220 hi\r\n+OK\r\na\r\n.\r\n", 4);
        stream.interrupts = 3;
        let mut c = Conn::new(stream, "mock:21", Ftp);
        assert_eq!(c.read_reply().unwrap().code, 220);
        let mut stream = MockStream::new(b"+OK\r\na\r\n.\r\n", 64);
        stream.interrupts = 2;
        let mut c = Conn::new(stream, "mock:110", Pop3);
        c.read_reply().unwrap();
        c.stream_mut().interrupts = 2;
        let mut body = c.dot_body().unwrap();
        assert_eq!(body.next_line().unwrap().unwrap(), b"a");
        assert!(body.next_line().unwrap().is_none());
    }

    /// A limit (--max-time, --speed-limit) that ends a read is said as itself, even when
    /// the reply's deadline passed meanwhile.
    #[test]
    fn a_limit_reached_is_said_as_itself() {
        use crate::net::stream::LimitReached;
        let max_time = || LimitReached::MaxTime(Duration::from_secs(3)).into_io();
        let mut stream = MockStream::new(b"", 64);
        stream.read_error = Some(max_time());
        stream.stall = Some(Duration::from_millis(30));
        let mut c = Conn::new(stream, "mock:21", Ftp);
        c.set_phase_deadline(Some(Instant::now() + Duration::from_millis(5)));
        let e = c.read_reply().unwrap_err().to_string();
        assert!(e.contains("longer than --max-time (3 s)"), "{e}");
        // Waiting for data (IDLE, keepalive): a limit or a broken connection is an error
        // that breaks the connection; nothing in time is no error; an interrupted read is
        // read again.
        for error in [max_time(), io::Error::from(io::ErrorKind::ConnectionReset)] {
            let mut stream = MockStream::new(b"", 64);
            stream.read_error = Some(error);
            let mut c = Conn::new(stream, "mock:143", Imap);
            assert!(c.wait_for_data(Duration::from_millis(10)).is_err());
            assert!(c.is_broken());
        }
        let mut stream = MockStream::scripted(&[b"", b"late"], 64);
        stream.read_error = Some(io::Error::from(io::ErrorKind::TimedOut));
        let mut c = Conn::new(stream, "mock:143", Imap);
        assert!(!c.wait_for_data(Duration::from_millis(10)).unwrap());
        assert!(!c.is_broken());
        let mut stream = MockStream::new(b"* 3 EXISTS\r\n", 64);
        stream.interrupts = 2;
        let mut c = Conn::new(stream, "mock:143", Imap);
        assert!(c.wait_for_data(Duration::from_millis(10)).unwrap());
    }

    #[test]
    fn keepalive_sends_noops_while_work_runs() {
        let replies: Vec<&[u8]> = vec![
            b"",
            b"200 ok\r\n",
            b"200 ok\r\n",
            b"200 ok\r\n",
            b"200 ok\r\n",
        ];
        let mut c = scripted(&replies, 64, Ftp);
        let v = c.keepalive_during(Duration::from_millis(20), "NOOP", || {
            std::thread::sleep(Duration::from_millis(70));
            7
        });
        assert_eq!(v, 7);
        let noops = c.stream().written_str().matches("NOOP\r\n").count();
        assert!((2..=4).contains(&noops), "{noops}");
        assert!(!c.is_broken());
        assert_eq!(c.replies_owed(), 0);
        // A NOOP refused: the connection is broken and no more NOOPs go.
        let mut c = scripted(&[b"", b"-ERR go away\r\n", b"+OK\r\n"], 64, Pop3);
        let v = c.keepalive_during(Duration::from_millis(10), "NOOP", || {
            std::thread::sleep(Duration::from_millis(60));
            "done"
        });
        assert_eq!(v, "done");
        assert!(c.is_broken());
        assert_eq!(c.stream().written_str(), "NOOP\r\n");
        // No NOOP for work shorter than the interval.
        let mut c = conn(b"", 64);
        c.keepalive_during(Duration::from_secs(60), "NOOP", || ());
        assert!(c.stream().written.is_empty());
    }

    #[test]
    fn noop_needs_an_ok() {
        let mut c = scripted(&[b"", b"421 bye\r\n"], 64, Smtp);
        let e = c.noop("NOOP").unwrap_err();
        assert_eq!(e.exit_code(), 75);
        assert_eq!(e.to_string(), "mock:25: NOOP: server said: 421 bye");
        let mut c = scripted(&[b"", b"250 ok\r\n"], 64, Smtp);
        c.noop("NOOP").unwrap();
    }

    #[test]
    fn start_tls_refuses_bytes_sent_before_the_handshake() {
        let tls = TlsContext::new(&Default::default()).unwrap();
        fn check<D: Dialect>(d: D, reply: &[u8], injected: &[u8]) {
            let tls = TlsContext::new(&Default::default()).unwrap();
            let mut bytes = reply.to_vec();
            bytes.extend_from_slice(injected);
            let mut c = Conn::new(MockStream::new(&bytes, 1000), "mock", d);
            c.read_reply().unwrap();
            let e = c.start_tls(&tls, "mock").err().unwrap();
            assert_eq!(e.exit_code(), 76);
            assert!(e.to_string().contains("before the TLS handshake"), "{e}");
        }
        check(Ftp, b"234 go\r\n", b"230 logged in\r\n");
        check(Smtp, b"220 go\r\n", b"250 fake\r\n");
        check(Pop3, b"+OK go\r\n", b"+OK fake\r\n");
        // Without: the same connection, over TLS, settings kept.
        let (t, seen) = collecting();
        let mut c = Conn::new(
            MockStream::scripted(&[b"220 go\r\n", b"250 ok\r\n"], 1),
            "mock",
            Smtp,
        );
        c.set_transcript(Some(t));
        c.set_reply_timeout(Duration::from_secs(3));
        c.read_reply().unwrap();
        let mut c = c.start_tls(&tls, "mock").unwrap();
        assert!(c.stream().tls);
        assert!(c.transcript.is_some());
        assert_eq!(c.reply_timeout(), Some(Duration::from_secs(3)));
        c.send_command("EHLO", Some("me")).unwrap();
        assert_eq!(c.read_reply().unwrap().code, 250);
        assert_eq!(
            seen.lock().unwrap().join("\n"),
            "S: 220 go\nC: EHLO me\nS: 250 ok"
        );
        // Queued commands were meant for the plaintext connection.
        let mut c = smtp(b"", 1);
        c.queue("EHLO", Some("me")).unwrap();
        assert_eq!(c.start_tls(&tls, "mock").err().unwrap().exit_code(), 70);
        // A broken connection stays closed.
        let mut c = smtp(b"x\r\n", 1);
        c.read_reply().unwrap_err();
        assert_eq!(c.start_tls(&tls, "mock").err().unwrap().exit_code(), 74);
    }

    #[test]
    fn imap_lines_have_their_own_larger_bound() {
        // A SEARCH answer longer than MAX_LINE is fine for IMAP...
        let mut search = b"* SEARCH".to_vec();
        while search.len() <= MAX_LINE * 4 {
            search.extend_from_slice(b" 123456");
        }
        search.extend_from_slice(b"\r\n");
        let r = imap(&search, 4096).read_reply().unwrap();
        assert!(r.text.len() > MAX_LINE * 4 - 10);
        // ...up to MAX_IMAP_LINE, in replies and in the rest of a line after a literal.
        let mut long = b"* 1 FETCH (X ".to_vec();
        long.extend(std::iter::repeat_n(b'x', MAX_IMAP_LINE));
        long.extend_from_slice(b"\r\n");
        let e = imap(&long, 65536).read_reply().unwrap_err();
        assert!(e.to_string().contains("longer than 1024 KiB"), "{e}");
        let mut after = b"* 1 FETCH (BODY[] {1}\r\nx".to_vec();
        after.extend_from_slice(&long);
        let mut c = imap(&after, 65536);
        c.read_reply().unwrap();
        c.literal(1).unwrap().skip().unwrap();
        assert_eq!(c.read_line_raw().unwrap_err().exit_code(), 76);
        assert!(c.is_broken());
        // Without a line end at all: bounded too.
        let e = imap(&vec![b'*'; MAX_IMAP_LINE + 10], 65536)
            .read_reply()
            .unwrap_err();
        assert_eq!(e.exit_code(), 76);
    }

    #[test]
    fn imap_untagged_lines_do_not_answer_commands() {
        let wire = b"* 2 EXISTS\r\n+ go\r\n* 1 RECENT\r\na1 OK\r\na2 NO [NONEXISTENT] x\r\n";
        let mut c = scripted(&[b"", b"", wire], 1, Imap);
        c.queue("a1", Some("EXAMINE INBOX")).unwrap();
        c.queue("a2", Some("EXAMINE Nope")).unwrap();
        assert_eq!(c.replies_owed(), 2);
        assert!(c.read_reply().unwrap().is_preliminary());
        assert_eq!(c.replies_owed(), 2);
        assert!(c.read_reply().unwrap().is_continuation());
        assert_eq!(c.replies_owed(), 1);
        c.read_reply().unwrap();
        assert_eq!(c.replies_owed(), 1);
        assert!(c.read_reply().unwrap().is_ok());
        let r = c.read_reply().unwrap();
        assert_eq!(r.error(&"x").exit_code(), 66);
        let e = imap(b"a1 FETCH nonsense\r\n", 1).read_reply().unwrap_err();
        assert_eq!(e.exit_code(), 76);
    }

    #[test]
    fn waiting_for_data_leaves_the_connection_in_step() {
        // Nothing yet (the script waits for a line): false, not broken.
        let mut c = scripted(&[b"", b"* 3 EXISTS\r\n"], 64, Imap);
        assert!(!c.wait_for_data(Duration::from_millis(1)).unwrap());
        assert!(!c.is_broken());
        c.send_command("a1", Some("IDLE")).unwrap();
        assert!(c.wait_for_data(Duration::from_millis(1)).unwrap());
        assert!(
            c.wait_for_data(Duration::from_millis(1)).unwrap(),
            "still buffered"
        );
        assert_eq!(c.read_reply().unwrap().text, b"3 EXISTS");
        // EOF breaks it.
        let mut c = imap(b"", 64);
        assert_eq!(
            c.wait_for_data(Duration::from_millis(1))
                .unwrap_err()
                .exit_code(),
            74
        );
        assert!(c.is_broken());
        // A continuation that is not a SASL challenge: the next line is shown.
        let (mut c, seen) = recording(imap(b"+ idling\r\n", 64));
        assert!(c.read_reply().unwrap().is_continuation());
        c.continuation_is_not_secret();
        c.send_command("DONE", None).unwrap();
        assert_eq!(seen.lock().unwrap().join("\n"), "S: + idling\nC: DONE");
    }
}
