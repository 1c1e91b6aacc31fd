//! The command/response engine shared by FTP, SMTP and POP3 (and IMAP later), curl's
//! pingpong.c idea: one place appends CRLF to commands and refuses CR, LF and NUL in them;
//! one place reads replies, bounded in line length, line count and time, framed by the
//! [`Dialect`] the client chose; one transcript for `--verbose`, with secrets redacted.
//!
//! Commands can be pipelined (SMTP PIPELINING, RFC 2920; POP3 PIPELINING, RFC 2449):
//! [`Conn::queue`] several, [`Conn::flush`] them in one write, then [`Conn::read_reply`] once
//! for each, in order. Dot-terminated data is read from the same buffer as replies
//! ([`Conn::dot_body`]) and written through the same stream ([`Conn::dot_writer`]).

pub mod dot;
pub mod reply;

use crate::error::{Error, Kind, Result, visible};
use crate::net::stream::{LimitReached, Timed, Transport};
use crate::net::tls::TlsContext;
use crate::wire::dot::{DotReader, DotWriter, LoneCr};
use crate::wire::reply::{Dialect, Response, Step};
use std::collections::VecDeque;
use std::fmt;
use std::io::{self, BufRead, Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use crate::wire::reply::{Ftp, Pop3, Pop3Reply, Pop3Status, Reply, Smtp};
pub use crate::wire::reply::{Imap, ImapKind, ImapReply, ImapStatus, MAX_IMAP_LINE};

/// A reply line longer than this is a protocol error, never unbounded memory.
pub const MAX_LINE: usize = 8 * 1024;
/// A multi-line reply of more lines than this is a protocol error.
pub const MAX_REPLY_LINES: usize = 1000;
/// How many bytes of commands may be in flight (sent or queued, their replies not read yet)
/// before the client must stop and read. RFC 2920 section 3.1: a client that cannot write
/// and read at once must keep each group of commands within the TCP window, "usually, but
/// not always, 4K octets", or it may deadlock: the server, blocked writing replies nobody
/// reads, stops reading commands, and our write blocks too. Replies are rarely longer than
/// the commands they answer, so 4 KiB of commands cannot fill the windows either way.
pub const PIPELINE_WINDOW: usize = 4096;
const READ_BUF: usize = 16 * 1024;
/// How long a client waits for the reply to its last command (SMTP and FTP QUIT, IMAP
/// LOGOUT) once its work is done: that reply changes nothing, so a server that never sends
/// it must not hold the run for the whole reply timeout.
pub const FAREWELL_WAIT: Duration = Duration::from_secs(2);

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

/// A command line as the transcript and error messages show it: secrets replaced by `****`.
/// Pure. Covers FTP and POP3 `PASS`, FTP `ACCT`, POP3 `APOP user digest`, SMTP and POP3
/// `AUTH mechanism initial-response` (RFC 4954, RFC 5034), and IMAP's tagged
/// `LOGIN user password` and `AUTHENTICATE mechanism initial-response` (RFC 3501, RFC 4959).
/// Answers to SASL challenges are hidden whole by the engine, which knows when one is due.
pub fn redact_command(line: &str) -> String {
    let Some((first, rest)) = line.split_once(' ') else {
        return line.to_string();
    };
    match first.to_ascii_uppercase().as_str() {
        "PASS" | "ACCT" => return format!("{first} ****"),
        "APOP" => {
            let user = rest.split(' ').next().unwrap_or("");
            return format!("{first} {user} ****");
        }
        "AUTH" => {
            return match rest.split_once(' ') {
                Some((mechanism, _)) => format!("{first} {mechanism} ****"),
                None => line.to_string(),
            };
        }
        _ => {}
    }
    // IMAP: a tag, then the command (RFC 3501 section 2.2.1).
    let Some((command, args)) = rest.split_once(' ') else {
        return line.to_string();
    };
    match command.to_ascii_uppercase().as_str() {
        "LOGIN" => match imap_astring(args) {
            Some(user) if user.len() < args.len() => format!("{first} {command} {user} ****"),
            _ => format!("{first} {command} ****"),
        },
        "AUTHENTICATE" => match args.split_once(' ') {
            Some((mechanism, _)) => format!("{first} {command} {mechanism} ****"),
            None => line.to_string(),
        },
        _ => line.to_string(),
    }
}

/// `line` with every secret in `echoes` replaced by `****`, for the transcript.
fn redact_echoes<'a>(line: &'a [u8], echoes: &[Vec<u8>]) -> std::borrow::Cow<'a, [u8]> {
    let mut out = std::borrow::Cow::Borrowed(line);
    for secret in echoes {
        if out.windows(secret.len()).any(|w| w == &secret[..]) {
            out = std::borrow::Cow::Owned(crate::wire::reply::redact_bytes(&out, secret));
        }
    }
    out
}

/// The IMAP astring at the start of `s` (RFC 3501 section 9): a quoted string with its
/// quotes, or an atom up to the next space; `None` for an unclosed quote. (A literal's
/// `{n}` ends the line: the user name follows as the answer to a continuation.)
fn imap_astring(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    match b.first()? {
        b'"' => {
            let mut i = 1;
            while i < b.len() {
                match b[i] {
                    b'\\' => i += 2,
                    b'"' => return Some(&s[..=i]),
                    _ => i += 1,
                }
            }
            None
        }
        _ => Some(s.split(' ').next().unwrap_or(s)),
    }
}

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
    /// cancel `*` and the empty response `=` are no secrets.
    fn note_secret(&mut self, line: &str, shown: &str) {
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

    pub fn transcript(&self) -> Option<&Transcript> {
        self.transcript.as_ref()
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

    pub fn dialect(&self) -> &D {
        &self.dialect
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
                redact_command(&line)
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

/// `VERB` or `VERB arg`.
fn command_line(verb: &str, arg: Option<&str>) -> String {
    match arg {
        Some(a) => format!("{verb} {a}"),
        None => verb.to_string(),
    }
}

impl<S: Write + Timed, D> Conn<S, D> {
    /// Sends `VERB` or `VERB arg` with CRLF, after anything queued. Refuses CR, LF and NUL
    /// anywhere in it, so a file name can never inject a command. Secrets are redacted in
    /// the transcript ([`redact_command`]); so is the whole line when it answers a SASL
    /// challenge.
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

    /// Starts dot-stuffed data (SMTP DATA, after its 354): anything queued is sent first.
    /// Until [`DataWriter::finish`] has sent the closing `.` line, the connection counts as
    /// out of step, so data cut short (a local read error, say) can never be followed by a
    /// command the server would take as part of the message.
    pub fn dot_writer(&mut self, lone_cr: LoneCr) -> Result<DataWriter<'_, S>> {
        self.flush()?;
        if self.broken {
            return Err(self.out_of_step());
        }
        self.broken = true;
        let Conn {
            stream,
            peer,
            broken,
            transcript,
            ..
        } = self;
        Ok(DataWriter {
            dot: DotWriter::new(stream, peer.clone(), lone_cr),
            broken,
            transcript: transcript.clone(),
        })
    }
}

/// Dot-stuffed data going to the server ([`Conn::dot_writer`]).
pub struct DataWriter<'c, S: Write> {
    dot: DotWriter<&'c mut S>,
    broken: &'c mut bool,
    transcript: Option<Transcript>,
}

impl<S: Write> DataWriter<'_, S> {
    /// Sends `data`, dot-stuffed with CRLF line ends; a lone CR is 65 unless kept.
    pub fn write(&mut self, data: &[u8]) -> Result<()> {
        self.dot.write(data)
    }

    /// Sends the closing `.` line; the connection is in step again.
    pub fn finish(self) -> Result<()> {
        self.dot.finish()?;
        if let Some(t) = &self.transcript {
            t.client(".");
        }
        *self.broken = false;
        Ok(())
    }
}

impl<S: Read + Write + Timed, D: Dialect> Conn<S, D> {
    /// Reads one reply, framed by the dialect: anything queued is sent first. A line longer
    /// than [`MAX_LINE`] or a reply of more than [`MAX_REPLY_LINES`] lines is a protocol
    /// error (76), as is a line the dialect refuses; EOF is a broken connection (74); the
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

    /// The `n` octets of an IMAP literal (RFC 3501 section 4.3) that the reply (or line) just
    /// read announced, streamed from the same buffer as replies through a [`Literal`]; each
    /// read is bounded by the reply timeout, never the literal as a whole, which may be a
    /// 200 MiB message. Until it has been read to its end the connection counts as out of
    /// step. Not shown in the transcript (a message is not a protocol line); the rest of the
    /// response line follows ([`read_line_raw`](Conn::read_line_raw)).
    pub fn literal(&mut self, n: u64) -> Result<Literal<'_, S>> {
        if self.broken {
            return Err(self.out_of_step());
        }
        self.broken = n > 0;
        self.stream.watch_rate(true);
        let Conn {
            stream,
            inbox,
            peer,
            reply_timeout,
            broken,
            ..
        } = self;
        Ok(Literal {
            source: Source {
                stream,
                inbox,
                timeout: *reply_timeout,
            },
            left: n,
            len: n,
            broken,
            peer,
        })
    }

    /// The rest of a response line after a literal (`)` or ` UID 7)`, or more data ending
    /// in another literal), without its CRLF: bounded in length by the dialect's
    /// [`max_line`](Dialect::max_line) and in time by the reply timeout, and shown in the
    /// transcript. Any failure leaves the connection out of step.
    pub fn read_line_raw(&mut self) -> Result<Vec<u8>> {
        if self.broken {
            return Err(self.out_of_step());
        }
        self.stream.watch_rate(false);
        let deadline = self.deadline();
        match self.read_line_by(deadline, self.dialect.max_line()) {
            Ok(line) => {
                if let Some(t) = &self.transcript {
                    t.server(&line);
                }
                Ok(line)
            }
            Err(e) => {
                self.broken = true;
                Err(e)
            }
        }
    }

    /// The dot-terminated data that follows a reply (a POP3 `+OK` to RETR, TOP, LIST, UIDL,
    /// CAPA), read from the same buffer as replies: whatever follows its `.` line stays for
    /// the next reply. Until it has been read to its end the connection counts as out of
    /// step. See [`DotReader`] for the two ways to read it and their bounds.
    pub fn dot_body(&mut self) -> Result<DotBody<'_, S>> {
        if self.broken {
            return Err(self.out_of_step());
        }
        self.broken = true;
        // Bulk data: the minimum rate applies until the next reply.
        self.stream.watch_rate(true);
        let Conn {
            stream,
            inbox,
            transcript,
            peer,
            reply_timeout,
            broken,
            ..
        } = self;
        let source = Source {
            stream,
            inbox,
            timeout: *reply_timeout,
        };
        Ok(DotBody {
            dot: DotReader::new(source, peer.clone()),
            broken,
            transcript: transcript.clone(),
        })
    }

    /// Reads the server's greeting, its first reply: a wait that times out is named as
    /// such ([`no_greeting`]), `within` being the connect phase's length.
    pub fn read_greeting(&mut self, within: Duration) -> Result<D::Reply> {
        let peer = self.peer.clone();
        self.read_reply().map_err(|e| no_greeting(e, &peer, within))
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

/// A timeout while waiting for the greeting, said as such: "HOST:PORT: no greeting from the
/// server within N s" (any other error as it is).
pub fn no_greeting(e: Error, peer: &str, within: Duration) -> Error {
    if e.kind() == Kind::Timeout {
        e.with_message(format!(
            "{peer}: no greeting from the server within {} s",
            within.as_secs_f64()
        ))
    } else {
        e
    }
}

/// The connection's buffer and stream as a [`BufRead`], for [`DotReader`]: each read is
/// bounded by the reply timeout.
pub struct Source<'c, S> {
    stream: &'c mut S,
    inbox: &'c mut Inbox,
    timeout: Option<Duration>,
}

impl<S: Read + Timed> Read for Source<'_, S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(buf.len());
        buf[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<S: Read + Timed> BufRead for Source<'_, S> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.inbox.start == self.inbox.end {
            if let Some(t) = self.timeout {
                self.stream.set_read_timeout(Some(t))?;
            }
            let n = self.stream.read(&mut self.inbox.buf)?;
            self.inbox.start = 0;
            self.inbox.end = n;
        }
        Ok(&self.inbox.buf[self.inbox.start..self.inbox.end])
    }

    fn consume(&mut self, n: usize) {
        self.inbox.start = (self.inbox.start + n).min(self.inbox.end);
    }
}

/// Dot-terminated data coming from the server ([`Conn::dot_body`]).
pub struct DotBody<'c, S> {
    dot: DotReader<Source<'c, S>>,
    broken: &'c mut bool,
    transcript: Option<Transcript>,
}

impl<S: Read + Timed> DotBody<'_, S> {
    /// Refuses (76) data of more than `max` bytes on the wire.
    pub fn limit(mut self, max: u64) -> Self {
        self.dot = self.dot.limit(max);
        self
    }

    /// Streams the data, unstuffed, into `out`; `Ok(0)` at its end. Not shown in the
    /// transcript (a message is not a protocol line).
    pub fn read(&mut self, out: &mut [u8]) -> Result<usize> {
        let n = self.dot.read(out)?;
        if self.dot.is_done() {
            *self.broken = false;
        }
        Ok(n)
    }

    /// The next line of a listing, unstuffed, without its CRLF; `None` at the end. Shown in
    /// the transcript.
    pub fn next_line(&mut self) -> Result<Option<&[u8]>> {
        match self.dot.next_line()? {
            Some(line) => {
                if let Some(t) = &self.transcript {
                    t.server(line);
                }
                Ok(Some(line))
            }
            None => {
                if let Some(t) = &self.transcript {
                    t.server(b".");
                }
                *self.broken = false;
                Ok(None)
            }
        }
    }

    /// Bytes taken from the connection so far, the closing `.` line included.
    pub fn wire_bytes(&self) -> u64 {
        self.dot.wire_bytes()
    }
}

/// An IMAP literal coming from the server ([`Conn::literal`]): exactly its `n` octets.
pub struct Literal<'c, S> {
    source: Source<'c, S>,
    left: u64,
    len: u64,
    broken: &'c mut bool,
    peer: &'c str,
}

impl<S: Read + Timed> Literal<'_, S> {
    /// Streams the literal into `out`; `Ok(0)` once all its octets are read. A connection
    /// that ends first is a broken connection (74), never a short message.
    pub fn read(&mut self, out: &mut [u8]) -> Result<usize> {
        if self.left == 0 || out.is_empty() {
            return Ok(0);
        }
        let avail = loop {
            match self.source.fill_buf() {
                Ok(a) => break a,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::network(self.peer, e)),
            }
        };
        if avail.is_empty() {
            return Err(Error::cut_short(
                format!("{}: literal", self.peer),
                self.len - self.left,
                self.len,
            ));
        }
        let n = avail
            .len()
            .min(out.len())
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        out[..n].copy_from_slice(&avail[..n]);
        self.source.consume(n);
        self.left -= n as u64;
        if self.left == 0 {
            *self.broken = false;
        }
        Ok(n)
    }

    /// Octets still to come.
    pub fn remaining(&self) -> u64 {
        self.left
    }

    /// Reads and drops what is left (a literal nobody wants: an unsolicited header field).
    pub fn skip(&mut self) -> Result<()> {
        let mut buf = [0u8; 4096];
        while self.read(&mut buf)? > 0 {}
        Ok(())
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
        let stream = stream.start_tls(tls, server_name, deadline)?;
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
    use std::collections::VecDeque;
    use std::net::SocketAddr;
    use std::sync::Mutex;

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

    fn conn(input: &[u8], chunk: usize) -> Conn<MockStream, Ftp> {
        Conn::new(MockStream::new(input, chunk), "mock:21", Ftp)
    }

    fn smtp(input: &[u8], chunk: usize) -> Conn<MockStream, Smtp> {
        Conn::new(MockStream::new(input, chunk), "mock:25", Smtp)
    }

    fn pop3(input: &[u8], chunk: usize) -> Conn<MockStream, Pop3> {
        Conn::new(MockStream::new(input, chunk), "mock:110", Pop3)
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
        for bad in [
            &b"hello\r\n"[..],
            b"22 short\r\n",
            b"2200 x\r\n",
            b"abc x\r\n",
            b"022 x\r\n",
        ] {
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
    fn smtp_replies_in_every_chunking() {
        let input =
            b"220 mx ESMTP\r\n250-mx\r\n250-PIPELINING\r\n250 8BITMIME\r\n334 VXNlcm5hbWU6\r\n";
        for chunk in 1..=input.len() {
            let mut c = smtp(input, chunk);
            assert_eq!(c.read_reply().unwrap().code, 220);
            let r = c.read_reply().unwrap();
            assert_eq!(texts(&r), ["mx", "PIPELINING", "8BITMIME"]);
            assert!(c.read_reply().unwrap().is_continuation());
        }
        for bad in [
            &b"250-mx\r\n251 PIPELINING\r\n"[..],
            b"250-mx\r\nPIPELINING\r\n",
            b"250-mx\r\n 250 x\r\n",
            b"150 go\r\n",
        ] {
            for chunk in [1, 2, 64] {
                let mut c = smtp(bad, chunk);
                let e = c.read_reply().unwrap_err();
                assert_eq!(e.exit_code(), 76, "{e}");
                assert!(c.is_broken());
            }
        }
        let e = smtp(b"250-mx\r\n251 x\r\n", 64).read_reply().unwrap_err();
        assert!(
            e.to_string()
                .ends_with("(a line with code 251 inside a multi-line 250 reply): \"251 x\""),
            "{e}"
        );
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
    fn transcript_redacts_secrets() {
        let (t, seen) = collecting();
        let mut c = conn(b"331 need pass\r\n", 100);
        c.set_transcript(Some(t));
        c.send_command("USER", Some("bob")).unwrap();
        c.read_reply().unwrap();
        c.send_command("PASS", Some("hunter2")).unwrap();
        c.send_command("AUTH", Some("PLAIN AGJvYgBodW50ZXIy"))
            .unwrap();
        c.send_command("AUTH", Some("TLS")).unwrap();
        c.send_secret_line("aHVudGVyMg==").unwrap();
        assert_eq!(format!("{:?}", c.transcript().unwrap()), "Transcript");
        let seen = seen.lock().unwrap().join("\n");
        assert_eq!(
            seen,
            "C: USER bob\nS: 331 need pass\nC: PASS ****\nC: AUTH PLAIN ****\nC: AUTH TLS\nC: ****"
        );
        // The secrets did go to the server.
        let wire = c.stream().written_str();
        assert!(wire.contains("PASS hunter2\r\n") && wire.contains("aHVudGVyMg==\r\n"));
    }

    #[test]
    fn replies_that_repeat_a_secret_are_redacted() {
        // FTP: a 530 that repeats the password, then a later reply that happens to hold
        // the same text, once a command without a secret has gone.
        let (t, seen) = collecting();
        let mut c = conn(
            b"530 PASS hunter2 is wrong\r\n230 ok hunter2\r\n257 \"/hunter2\"\r\n",
            100,
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
        // refusal; a SASL cancel (*) is no secret.
        let (t, seen) = collecting();
        let mut c = smtp(
            b"334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n535-no Ym9i aHVudGVyMg==\r\n535 (hunter2)\r\n501 * x\r\n",
            7,
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
        c.send_secret_line("*").unwrap();
        assert_eq!(c.read_reply().unwrap().text(), "* x");
        let seen = seen.lock().unwrap().join("\n");
        assert!(
            seen.ends_with("S: 535-no **** ****\nS: 535 (****)\nC: ****\nS: 501 * x"),
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
        for input in [
            &b"rejected: AUTH PLAIN AGJvYgBodW50ZXIy\r\n"[..],
            b"535-no\r\n501 AGJvYgBodW50ZXIy (hunter2)\r\n",
        ] {
            let (t, seen) = collecting();
            let mut c = smtp(input, 5);
            c.set_transcript(Some(t));
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
        let mut c = Conn::new(
            MockStream::scripted(
                &[
                    b"",
                    b"334 VXNlcm5hbWU6\r\n",
                    b"334 UGFzc3dvcmQ6\r\n",
                    b"235 2.7.0 ok\r\n",
                    b"250 ok\r\n",
                ],
                1,
            ),
            "mock:25",
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
        let (t, seen) = collecting();
        let mut c = Conn::new(
            MockStream::scripted(&[b"", b"+ \r\n", b"-ERR [AUTH] no\r\n"], 1),
            "mock:110",
            Pop3,
        );
        c.set_transcript(Some(t));
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

    #[test]
    fn redaction_cases() {
        for (line, shown) in [
            ("PASS hunter2", "PASS ****"),
            ("pass hunter2 x", "pass ****"),
            ("PASS ", "PASS ****"),
            ("PASS", "PASS"),
            ("ACCT secret", "ACCT ****"),
            ("APOP bob c4c9334bac560ecc979e58001b3e22fb", "APOP bob ****"),
            ("AUTH PLAIN AGJvYgBodW50ZXIy", "AUTH PLAIN ****"),
            ("AUTH LOGIN Ym9i", "AUTH LOGIN ****"),
            ("auth login Ym9i", "auth login ****"),
            ("AUTH LOGIN", "AUTH LOGIN"),
            ("AUTH TLS", "AUTH TLS"),
            ("AUTH", "AUTH"),
            ("USER bob", "USER bob"),
            ("RETR pass word", "RETR pass word"),
            ("MAIL FROM:<a@b>", "MAIL FROM:<a@b>"),
            ("a001 LOGIN bob hunter2", "a001 LOGIN bob ****"),
            (
                "a001 login \"bob smith\" \"hun ter\"",
                "a001 login \"bob smith\" ****",
            ),
            ("a001 LOGIN \"b\\\"ob\" x", "a001 LOGIN \"b\\\"ob\" ****"),
            ("a1 LOGIN \"bob\\\"\" x", "a1 LOGIN \"bob\\\"\" ****"),
            ("a1 LOGIN \"b\\\\\" x", "a1 LOGIN \"b\\\\\" ****"),
            ("a001 LOGIN \"bob x", "a001 LOGIN ****"),
            ("a001 LOGIN {3}", "a001 LOGIN ****"),
            ("a001 LOGIN bob", "a001 LOGIN ****"),
            ("a001 LOGIN", "a001 LOGIN"),
            (
                "a1 AUTHENTICATE PLAIN AGJvYgBo",
                "a1 AUTHENTICATE PLAIN ****",
            ),
            ("a1 AUTHENTICATE PLAIN", "a1 AUTHENTICATE PLAIN"),
            ("a1 SELECT INBOX", "a1 SELECT INBOX"),
            ("NOOP", "NOOP"),
        ] {
            assert_eq!(redact_command(line), shown, "{line}");
        }
    }

    #[test]
    fn pipelined_commands_go_in_one_write_and_replies_come_in_order() {
        let (t, seen) = collecting();
        let replies = b"250 2.1.0 ok\r\n550 5.1.1 no such user\r\n250 2.1.5 ok\r\n354 go\r\n";
        for chunk in [1, 5, 1000] {
            let mut c = Conn::new(
                MockStream::scripted(&[b"", b"", b"", b"", replies], chunk),
                "mock:25",
                Smtp,
            );
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
        let mut c = Conn::new(
            MockStream::scripted(&[b"", b"+OK 1 120\r\n", b"+OK 2 240\r\n"], 3),
            "mock:110",
            Pop3,
        );
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
        let mut c = Conn::new(MockStream::scripted(&parts, 64), "mock:25", Smtp);
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
        let mut c = Conn::new(
            MockStream::scripted(&[b"", b"150 opening\r\n226 done\r\n"], 64),
            "mock:21",
            Ftp,
        );
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
        let mut c = Conn::new(
            MockStream::scripted(&[b"220-a\r\n", b"never"], 64),
            "mock:21",
            Ftp,
        );
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

    #[test]
    fn the_buffer_reads_as_a_stream_too() {
        let mut stream = MockStream::new(b"abcdef", 4);
        let mut inbox = Inbox {
            buf: vec![0u8; 8].into_boxed_slice(),
            start: 0,
            end: 0,
        };
        let mut src = Source {
            stream: &mut stream,
            inbox: &mut inbox,
            timeout: Some(Duration::from_secs(1)),
        };
        let mut buf = [0u8; 3];
        assert_eq!(src.read(&mut buf).unwrap(), 3);
        assert_eq!(&buf, b"abc");
        assert_eq!(src.read(&mut buf).unwrap(), 1);
        assert_eq!(&buf[..1], b"d");
        assert_eq!(src.fill_buf().unwrap(), b"ef");
        src.consume(5);
        assert_eq!(src.read(&mut buf).unwrap(), 0);
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

    /// A POP3 session: `+OK` to RETR, the message (dot-stuffed), then the next reply.
    const RETR: &[u8] = b"+OK 38 octets\r\nSubject: x\r\n\r\n..dot\r\nline\n.\r\n.\r\n+OK bye\r\n";

    #[test]
    fn dot_bodies_share_the_reply_buffer() {
        for chunk in 1..=RETR.len() {
            let (t, seen) = collecting();
            let mut c = pop3(RETR, chunk);
            c.set_transcript(Some(t));
            assert!(c.read_reply().unwrap().is_ok());
            let mut body = c.dot_body().unwrap();
            let mut got = Vec::new();
            let mut buf = [0u8; 5];
            loop {
                match body.read(&mut buf).unwrap() {
                    0 => break,
                    n => got.extend_from_slice(&buf[..n]),
                }
            }
            assert_eq!(body.wire_bytes(), 32);
            assert_eq!(got, b"Subject: x\r\n\r\n.dot\r\nline\n.\r\n");
            assert!(!c.is_broken());
            assert_eq!(c.read_reply().unwrap().text, b"bye");
            // The message is not in the transcript.
            assert_eq!(
                seen.lock().unwrap().join("\n"),
                "S: +OK 38 octets\nS: +OK bye"
            );
        }
    }

    #[test]
    fn listings_are_read_line_by_line() {
        let input = b"+OK\r\n1 abc\r\n..2 def\r\n.\r\n+OK next\r\n";
        for chunk in 1..=input.len() {
            let (t, seen) = collecting();
            let mut c = pop3(input, chunk);
            c.set_transcript(Some(t));
            c.read_reply().unwrap();
            let mut body = c.dot_body().unwrap();
            assert_eq!(body.next_line().unwrap().unwrap(), b"1 abc");
            assert_eq!(body.next_line().unwrap().unwrap(), b".2 def");
            assert!(body.next_line().unwrap().is_none());
            assert_eq!(c.read_reply().unwrap().text, b"next");
            assert_eq!(
                seen.lock().unwrap().join("\n"),
                "S: +OK\nS: 1 abc\nS: .2 def\nS: .\nS: +OK next"
            );
        }
    }

    #[test]
    fn pipelined_bodies_follow_each_other() {
        let wire = b"+OK\r\na\r\n.\r\n+OK\r\nb\r\n.\r\n";
        let mut c = Conn::new(MockStream::scripted(&[b"", b"", wire], 2), "mock:110", Pop3);
        c.queue("RETR", Some("1")).unwrap();
        c.queue("RETR", Some("2")).unwrap();
        for want in [b"a\r\n", b"b\r\n"] {
            assert!(c.read_reply().unwrap().is_ok());
            let mut body = c.dot_body().unwrap();
            let mut buf = [0u8; 64];
            let mut got = Vec::new();
            loop {
                match body.read(&mut buf).unwrap() {
                    0 => break,
                    n => got.extend_from_slice(&buf[..n]),
                }
            }
            assert_eq!(got, want);
        }
        assert_eq!(c.replies_owed(), 0);
    }

    #[test]
    fn a_body_not_read_to_its_end_breaks_the_connection() {
        let mut c = pop3(RETR, 1000);
        c.read_reply().unwrap();
        let mut body = c.dot_body().unwrap();
        let mut buf = [0u8; 4];
        body.read(&mut buf).unwrap();
        drop(body);
        assert!(c.is_broken());
        assert_eq!(c.read_reply().unwrap_err().exit_code(), 74);
        assert_eq!(c.dot_body().err().unwrap().exit_code(), 74);
        // Cut off before CRLF.CRLF: an error, never an end.
        let mut c = pop3(b"+OK\r\nabc\r\n", 3);
        c.read_reply().unwrap();
        let mut body = c.dot_body().unwrap();
        let e = loop {
            match body.read(&mut buf) {
                Ok(0) => panic!("an end"),
                Ok(_) => {}
                Err(e) => break e,
            }
        };
        assert_eq!(e.exit_code(), 74);
        assert!(e.is_transient());
        assert!(c.is_broken());
        // Over its limit.
        let mut c = pop3(RETR, 1000);
        c.read_reply().unwrap();
        let mut body = c.dot_body().unwrap().limit(10);
        let e = loop {
            match body.read(&mut buf) {
                Ok(0) => panic!("an end"),
                Ok(_) => {}
                Err(e) => break e,
            }
        };
        assert_eq!(e.exit_code(), 76);
    }

    #[test]
    fn dot_writer_sends_through_the_connection() {
        let (t, seen) = collecting();
        let mut c = Conn::new(
            MockStream::scripted(&[b"", b"354 go\r\n", b"250 queued\r\n"], 64),
            "mock:25",
            Smtp,
        );
        c.set_transcript(Some(t));
        c.send_command("DATA", None).unwrap();
        assert_eq!(c.read_reply().unwrap().code, 354);
        let mut w = c.dot_writer(LoneCr::Refuse).unwrap();
        w.write(b"Subject: x\n\n.\n").unwrap();
        w.write(b"end").unwrap();
        w.finish().unwrap();
        assert!(!c.is_broken());
        assert_eq!(c.read_reply().unwrap().code, 250);
        assert_eq!(
            c.stream().written_str(),
            "DATA\r\nSubject: x\r\n\r\n..\r\nend\r\n.\r\n"
        );
        assert_eq!(
            seen.lock().unwrap().join("\n"),
            "C: DATA\nS: 354 go\nC: .\nS: 250 queued"
        );
        // Data refused halfway: the connection must not carry a command after it.
        let mut c = smtp(b"354 go\r\n", 64);
        c.read_reply().unwrap();
        let mut w = c.dot_writer(LoneCr::Refuse).unwrap();
        assert_eq!(w.write(b"a\rb").unwrap_err().exit_code(), 65);
        drop(w);
        assert!(c.is_broken());
        assert_eq!(c.send_command("RSET", None).unwrap_err().exit_code(), 74);
        assert!(c.stream().written.is_empty());
        // Queued commands go before the data.
        let mut c = smtp(b"", 64);
        c.queue("DATA", None).unwrap();
        c.dot_writer(LoneCr::Keep).unwrap().finish().unwrap();
        assert_eq!(c.stream().written_str(), "DATA\r\n.\r\n");
        assert_eq!(c.stream().writes, 2);
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
        let mut c = Conn::new(MockStream::scripted(&replies, 64), "mock:21", Ftp);
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
        let mut c = Conn::new(
            MockStream::scripted(&[b"", b"-ERR go away\r\n", b"+OK\r\n"], 64),
            "mock:110",
            Pop3,
        );
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
        let mut c = Conn::new(
            MockStream::scripted(&[b"", b"421 bye\r\n"], 64),
            "mock:25",
            Smtp,
        );
        let e = c.noop("NOOP").unwrap_err();
        assert_eq!(e.exit_code(), 75);
        assert_eq!(e.to_string(), "mock:25: NOOP: server said: 421 bye");
        let mut c = Conn::new(
            MockStream::scripted(&[b"", b"250 ok\r\n"], 64),
            "mock:25",
            Smtp,
        );
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
        let (t, _) = collecting();
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
        assert!(c.transcript().is_some());
        assert_eq!(c.reply_timeout(), Some(Duration::from_secs(3)));
        c.send_command("EHLO", Some("me")).unwrap();
        assert_eq!(c.read_reply().unwrap().code, 250);
        // Queued commands were meant for the plaintext connection.
        let mut c = smtp(b"", 1);
        c.queue("EHLO", Some("me")).unwrap();
        assert_eq!(c.start_tls(&tls, "mock").err().unwrap().exit_code(), 70);
        // A broken connection stays closed.
        let mut c = smtp(b"x\r\n", 1);
        c.read_reply().unwrap_err();
        assert_eq!(c.start_tls(&tls, "mock").err().unwrap().exit_code(), 74);
    }

    fn imap(input: &[u8], chunk: usize) -> Conn<MockStream, Imap> {
        Conn::new(MockStream::new(input, chunk), "mock:143", Imap)
    }

    fn read_literal<S: Read + Timed>(lit: &mut Literal<'_, S>, buf: usize) -> Result<Vec<u8>> {
        let mut got = Vec::new();
        let mut b = vec![0u8; buf];
        loop {
            match lit.read(&mut b)? {
                0 => return Ok(got),
                n => got.extend_from_slice(&b[..n]),
            }
        }
    }

    /// A FETCH whose message is a literal, the UID after it, then a second literal on the
    /// same response, then the tagged end.
    const FETCH: &[u8] = b"* 1 FETCH (BODY[] {12}\r\nSubject: x\r\n UID 7 BODY[HEADER] {3}\r\nab\n)\r\n* 2 EXPUNGE\r\na1 OK done\r\n";

    #[test]
    fn imap_literals_at_every_split() {
        for chunk in 1..=FETCH.len() {
            for buf in [1, 5, 4096] {
                let (t, seen) = collecting();
                let mut c = imap(FETCH, chunk);
                c.set_transcript(Some(t));
                let r = c.read_reply().unwrap();
                assert_eq!(r.literal, Some(12));
                let mut lit = c.literal(12).unwrap();
                assert_eq!(lit.remaining(), 12);
                assert_eq!(read_literal(&mut lit, buf).unwrap(), b"Subject: x\r\n");
                assert!(!c.is_broken());
                let rest = c.read_line_raw().unwrap();
                assert_eq!(rest, b" UID 7 BODY[HEADER] {3}");
                assert_eq!(crate::wire::reply::imap_literal(&rest), Some(3));
                let mut lit = c.literal(3).unwrap();
                assert_eq!(read_literal(&mut lit, buf).unwrap(), b"ab\n");
                assert_eq!(c.read_line_raw().unwrap(), b")");
                assert_eq!(c.read_reply().unwrap().text, b"2 EXPUNGE");
                assert_eq!(c.read_reply().unwrap().tag().unwrap(), b"a1");
                assert_eq!(
                    seen.lock().unwrap().join("\n"),
                    "S: * 1 FETCH (BODY[] {12}\nS:  UID 7 BODY[HEADER] {3}\nS: )\nS: * 2 EXPUNGE\nS: a1 OK done"
                );
            }
        }
    }

    #[test]
    fn an_imap_literal_that_lies_is_an_error() {
        // The connection ends 4 octets into a 12-octet literal.
        let wire = b"* 1 FETCH (BODY[] {12}\r\nSubj";
        for chunk in 1..=wire.len() {
            let mut c = imap(wire, chunk);
            c.read_reply().unwrap();
            let mut lit = c.literal(12).unwrap();
            let e = read_literal(&mut lit, 64).unwrap_err();
            assert_eq!(e.exit_code(), 74, "{e}");
            assert!(e.is_transient());
            assert!(e.to_string().contains("received 4 of 12 bytes"), "{e}");
            assert!(c.is_broken());
            assert_eq!(c.read_line_raw().unwrap_err().exit_code(), 74);
            assert_eq!(c.read_reply().unwrap_err().exit_code(), 74);
        }
        // A literal left unread leaves the connection out of step.
        let mut c = imap(FETCH, 64);
        c.read_reply().unwrap();
        let mut lit = c.literal(12).unwrap();
        lit.read(&mut [0u8; 3]).unwrap();
        assert_eq!(lit.remaining(), 9);
        let _ = lit;
        assert!(c.is_broken());
        assert_eq!(c.literal(9).err().unwrap().exit_code(), 74);
        // Skipped: in step again. An empty literal needs no read.
        let mut c = imap(FETCH, 3);
        c.read_reply().unwrap();
        c.literal(12).unwrap().skip().unwrap();
        assert!(!c.is_broken());
        let mut lit = c.literal(0).unwrap();
        assert_eq!(lit.read(&mut [0u8; 4]).unwrap(), 0);
        assert!(!c.is_broken());
        assert_eq!(c.read_line_raw().unwrap(), b" UID 7 BODY[HEADER] {3}");
    }

    #[test]
    fn a_200_mib_literal_streams_through_the_fixed_buffer() {
        // A reader that makes up its bytes: nothing of the literal is ever held whole.
        struct Big {
            head: Vec<u8>,
            pos: usize,
            body_left: u64,
            tail: &'static [u8],
        }
        impl Read for Big {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.pos < self.head.len() {
                    let n = buf.len().min(self.head.len() - self.pos);
                    buf[..n].copy_from_slice(&self.head[self.pos..self.pos + n]);
                    self.pos += n;
                    return Ok(n);
                }
                if self.body_left > 0 {
                    let n = buf.len().min(self.body_left as usize);
                    buf[..n].fill(b'x');
                    self.body_left -= n as u64;
                    return Ok(n);
                }
                let n = buf.len().min(self.tail.len());
                buf[..n].copy_from_slice(&self.tail[..n]);
                self.tail = &self.tail[n..];
                Ok(n)
            }
        }
        impl Timed for Big {
            fn set_read_timeout(&self, _: Option<Duration>) -> io::Result<()> {
                Ok(())
            }
        }
        impl Write for Big {
            fn write(&mut self, b: &[u8]) -> io::Result<usize> {
                Ok(b.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        const SIZE: u64 = 200 << 20;
        let big = Big {
            head: format!("* 1 FETCH (UID 9 BODY[] {{{SIZE}}}\r\n").into_bytes(),
            pos: 0,
            body_left: SIZE,
            tail: b")\r\na OK\r\n",
        };
        let mut c = Conn::new(big, "mock:143", Imap);
        let n = c.read_reply().unwrap().literal.unwrap();
        let mut lit = c.literal(n).unwrap();
        let mut total = 0u64;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match lit.read(&mut buf).unwrap() {
                0 => break,
                k => total += k as u64,
            }
        }
        assert_eq!(total, SIZE);
        assert_eq!(c.read_line_raw().unwrap(), b")");
        assert!(c.read_reply().unwrap().is_ok());
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
        let mut c = Conn::new(MockStream::scripted(&[b"", b"", wire], 1), "mock:143", Imap);
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
        let mut c = Conn::new(
            MockStream::scripted(&[b"", b"* 3 EXISTS\r\n"], 64),
            "mock:143",
            Imap,
        );
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
        let (t, seen) = collecting();
        let mut c = imap(b"+ idling\r\n", 64);
        c.set_transcript(Some(t));
        assert!(c.read_reply().unwrap().is_continuation());
        c.continuation_is_not_secret();
        c.send_command("DONE", None).unwrap();
        assert_eq!(seen.lock().unwrap().join("\n"), "S: + idling\nC: DONE");
    }

    /// A connection over loopback whose data must move at 1,000 bytes/s over 100 ms, and
    /// the server's end of it.
    fn rated_pop3() -> (Conn<crate::net::NetStream, Pop3>, std::net::TcpStream) {
        use crate::net::{MinRate, NetStream, Sock};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let tcp = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (server, _) = l.accept().unwrap();
        let rate = MinRate {
            bytes_per_sec: 1000,
            window: Duration::from_millis(100),
        };
        let sock = Sock::new(tcp, None, Some(rate));
        let mut c = Conn::new(NetStream::Plain(sock), "mock:110", Pop3);
        c.set_reply_timeout(Duration::from_secs(10));
        (c, server)
    }

    #[test]
    fn the_minimum_rate_is_for_the_body_alone() {
        // A reply that takes longer than the window is no bulk data: its deadline bounds it.
        let (mut c, mut server) = rated_pop3();
        server.write_all(b"+OK 2 messages").unwrap();
        std::thread::sleep(Duration::from_millis(250));
        server.write_all(b"\r\n").unwrap();
        assert!(c.read_reply().unwrap().is_ok());
        // A body read in no time, then local work (a slow sync) longer than the window
        // before the next command: nothing was flowing then, so nothing was too slow.
        server.write_all(b"hi\r\n.\r\n").unwrap();
        let mut body = c.dot_body().unwrap();
        let mut buf = [0u8; 64];
        while body.read(&mut buf).unwrap() > 0 {}
        std::thread::sleep(Duration::from_millis(250));
        c.send_command("NOOP", None).unwrap();
        server.write_all(b"+OK\r\n").unwrap();
        assert!(c.read_reply().unwrap().is_ok());
        // A body that drips is given up.
        c.send_command("RETR", Some("1")).unwrap();
        server.write_all(b"+OK\r\n").unwrap();
        assert!(c.read_reply().unwrap().is_ok());
        let mut body = c.dot_body().unwrap();
        let drip = std::thread::spawn(move || {
            for _ in 0..250 {
                std::thread::sleep(Duration::from_millis(20));
                if server.write_all(b"x").is_err() {
                    break;
                }
            }
        });
        let e = loop {
            if let Err(e) = body.read(&mut buf) {
                break e;
            }
        };
        drop(c);
        drip.join().unwrap();
        assert_eq!(e.exit_code(), 75);
        assert!(
            e.to_string().ends_with(
                "the server sent less than 1000 bytes/s for 0.1 s (--speed-limit, --speed-time)"
            ),
            "{e}"
        );
    }
}
