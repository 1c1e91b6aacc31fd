//! The protocol-neutral core of the fake servers (std only): FTP, SMTP, POP3 and IMAP all
//! read a command line and answer with reply lines, so what makes a fake server useful to a
//! test is the same for each of them, and lives here once:
//!
//! - a listener on 127.0.0.1 (and on `[::1]` at the same port, when asked) and a thread per
//!   connection;
//! - every socket tracked, so that dropping the server shuts everything down, whatever a
//!   connection thread is blocked on;
//! - a line reader bounded at [`MAX_LINE`] bytes;
//! - replies written whole, one byte per write (`bytewise`) or dripped slowly (`drip`);
//! - scripted replies per verb: always, once (in order), or then close the connection; a
//!   verb that is never answered (`stall_on`); a verb whose answer waits until the test
//!   says (`hold`, to change something while the client waits); a greeting that never ends;
//! - the transcript: every command line, in arrival order, across connections;
//! - `settle()`, so a test that looks after its client exited sees the last command too.
//!
//! A protocol is a [`Protocol`]: a table of verbs and handlers, the few replies the core
//! needs from it (line too long, unknown command, too many connections) and its
//! per-connection state. See `fake_ftp.rs` for FTP (with its data connections), and
//! `fake_server_selftest.rs` for a toy POP3-like server of three commands.

#![allow(dead_code)]

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::{self, Read, Write};
use std::net::{Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// The longest command line accepted (no protocol here needs more; real servers cap it).
pub const MAX_LINE: usize = 8192;

pub const POLL: Duration = Duration::from_millis(2);
/// A connection waiting this long for input with nothing buffered is taken as idle.
const SETTLE_IDLE: Duration = Duration::from_millis(20);
const SETTLE_MAX: Duration = Duration::from_secs(2);

/// What a handler tells the connection loop to do next.
pub enum Flow {
    /// Read the next command.
    Continue,
    /// Close the connection.
    Close,
    /// Read nothing more and answer nothing, until the server is dropped.
    Stall,
}

/// A line protocol on top of the core.
pub trait Protocol: Sized + Send + Sync + 'static {
    /// What one connection remembers (logged in, current folder, ...).
    type Session: Send;
    /// The command table: verbs in upper case (commands arrive in any case) and their
    /// handlers, which get the rest of the line after the first space.
    const COMMANDS: &'static [Command<Self>];
    /// The raw reply to a command line longer than [`MAX_LINE`].
    const LINE_TOO_LONG: &'static str;
    /// The raw reply to a verb that is not in the table.
    const UNKNOWN: &'static str;
    /// What a connection beyond `max_connections` is told before it is closed.
    const TOO_MANY: &'static str;

    /// A new connection's state.
    fn session(&self) -> Self::Session;

    /// Whether the conversation goes on after this greeting (an FTP server that greets with
    /// a 4xx or 5xx reply closes the connection).
    fn greeting_continues(&self, greeting: &str) -> bool {
        let _ = greeting;
        true
    }

    /// Runs before the table's handler: may answer instead (FTP: 530 before login).
    fn before(&self, c: &mut Ctx<'_, Self>, verb: &str) -> io::Result<Option<Flow>> {
        let _ = (c, verb);
        Ok(None)
    }

    /// Told when a scripted reply answered `verb` instead of the table (FTP: a 230 to USER
    /// or PASS logs the session in).
    fn scripted(&self, session: &mut Self::Session, verb: &str, raw: &str) {
        let _ = (session, verb, raw);
    }

    /// Splits a command line into the verb the table and the scripts know it by, and what
    /// the handler gets ([`split_command`] unless the protocol says otherwise: IMAP's verb
    /// follows a tag, and its handlers need the whole line).
    fn split<'l>(&self, line: &'l str) -> (&'l str, &'l str) {
        split_command(line)
    }

    /// A scripted reply as sent for the command whose handler argument is `arg` (IMAP puts
    /// the command's tag where the script says `$TAG`).
    fn render(&self, raw: &str, arg: &str) -> String {
        let _ = arg;
        raw.to_string()
    }
}

/// One row of a command table.
pub struct Command<P: Protocol> {
    /// The verb and its aliases (`PWD`, `XPWD`), upper case.
    pub verbs: &'static [&'static str],
    pub run: Handler<P>,
}

pub type Handler<P> = fn(&mut Ctx<'_, P>, &str) -> io::Result<Flow>;

/// What a handler works with: the protocol's shared state, the connection's session and
/// the control connection.
pub struct Ctx<'a, P: Protocol> {
    /// The protocol's own shared state (files, mailboxes, ...).
    pub server: &'a P,
    pub session: &'a mut P::Session,
    core: &'a Arc<Core>,
    control: &'a mut Tracked,
    conn: usize,
    /// What was read from the client and not yet used.
    buf: &'a mut Vec<u8>,
}

impl<P: Protocol> Ctx<'_, P> {
    /// This connection's number, from 0 in accept order.
    pub fn connection(&self) -> usize {
        self.conn
    }

    /// Writes `raw` (CRLFs included) as the script says: whole, bytewise or dripped.
    pub fn send(&mut self, raw: &str) -> io::Result<()> {
        send(self.core, self.control, raw)
    }

    /// Writes raw bytes (a message that is not UTF-8), as the script says.
    pub fn send_bytes(&mut self, raw: &[u8]) -> io::Result<()> {
        send_raw(self.core, self.control, raw)
    }

    /// Reads the next line from the client (the rest of a command after a literal, a SASL
    /// response, IMAP's DONE), recorded in the transcript; `None` at EOF.
    pub fn read_line(&mut self) -> io::Result<Option<String>> {
        let got = read_line(self.core, self.conn, self.control, self.buf)?;
        Ok(got.map(|(line, _)| {
            lock(&self.core.transcript).push((self.conn, line.clone()));
            line
        }))
    }

    /// Like [`read_line`](Ctx::read_line), waiting at most `wait`: `Ok(None)` when no whole
    /// line came in time (what came stays for the next read), `Ok(Some(None))` at EOF.
    pub fn poll_line(&mut self, wait: Duration) -> io::Result<Option<Option<String>>> {
        self.control.stream.set_read_timeout(Some(wait))?;
        let got = self.read_line();
        self.control.stream.set_read_timeout(None)?;
        match got {
            Ok(line) => Ok(Some(line)),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Registers another socket (a data connection) so that dropping the server closes it.
    pub fn track(&self, stream: TcpStream) -> io::Result<Tracked> {
        self.core.track(stream)
    }

    /// The address the client reached the server at (127.0.0.1 or ::1).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.control.stream.local_addr()
    }

    /// True once the server is being dropped.
    pub fn stopped(&self) -> bool {
        self.core.stopped()
    }

    /// Marks the connection as stalled (`settle` stops waiting for it) and sleeps until the
    /// server is dropped.
    pub fn stall(&self) {
        self.core.set_activity(self.conn, |a| a.stalled = true);
        self.core.park();
    }

    /// Reads one raw line from the control connection, its line end (LF, or anything up
    /// to LF) included, unbounded: for data that follows a command (SMTP DATA). `None` at
    /// EOF, with what was read before it, if anything, in `partial`.
    pub fn read_raw_line(&mut self, partial: &mut Vec<u8>) -> io::Result<Option<Vec<u8>>> {
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                return Ok(Some(self.buf.drain(..=i).collect()));
            }
            let mut chunk = [0u8; 65536];
            self.core
                .set_activity(self.conn, |a| a.waiting_since = Some(Instant::now()));
            let n = self.control.stream.read(&mut chunk);
            self.core
                .set_activity(self.conn, |a| a.waiting_since = None);
            let n = n?;
            if n == 0 {
                partial.append(self.buf);
                return Ok(None);
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Reads exactly `n` raw bytes from the control connection (SMTP BDAT); `None` at EOF.
    pub fn read_raw_bytes(&mut self, n: usize) -> io::Result<Option<Vec<u8>>> {
        while self.buf.len() < n {
            let mut chunk = [0u8; 65536];
            self.core
                .set_activity(self.conn, |a| a.waiting_since = Some(Instant::now()));
            let got = self.control.stream.read(&mut chunk);
            self.core
                .set_activity(self.conn, |a| a.waiting_since = None);
            let got = got?;
            if got == 0 {
                return Ok(None);
            }
            self.buf.extend_from_slice(&chunk[..got]);
        }
        Ok(Some(self.buf.drain(..n).collect()))
    }

    /// Shuts the control connection down (a server that drops the client without a word).
    pub fn close_control(&mut self) {
        let _ = self.control.stream.shutdown(Shutdown::Both);
    }
}

/// A scripted reply: sent as is, instead of the table's answer.
#[derive(Clone, Debug)]
struct Scripted {
    raw: String,
    close: bool,
}

/// The protocol-neutral part of a fake server's description.
#[derive(Clone, Debug, Default)]
struct Script {
    greeting: Vec<u8>,
    greeting_forever: Option<(String, Duration)>,
    replies: HashMap<String, Scripted>,
    once: HashMap<String, VecDeque<Scripted>>,
    bytewise: bool,
    drip: Option<Duration>,
    delay: Option<Duration>,
    stall_on: HashSet<String>,
    hold: HashSet<String>,
    max_connections: Option<usize>,
    ipv6: bool,
    port: Option<u16>,
}

/// Describes a server before it starts: `S` is the protocol's own settings (files,
/// logins, ...), which the protocol's module reads and extends in an `impl Builder<S>` of
/// its own; the methods here are the same for every protocol.
#[derive(Clone, Debug)]
pub struct Builder<S> {
    pub(crate) proto: S,
    script: Script,
}

impl<S> Builder<S> {
    /// A server with these protocol settings that greets every connection with `greeting`
    /// (CRLFs included).
    pub fn new(proto: S, greeting: &str) -> Self {
        Builder {
            proto,
            script: Script {
                greeting: greeting.as_bytes().to_vec(),
                ..Script::default()
            },
        }
    }

    /// The raw greeting, CRLFs included.
    pub fn greeting(mut self, raw: &str) -> Self {
        self.script.greeting = raw.as_bytes().to_vec();
        self
    }

    /// The raw greeting as bytes (one that is not UTF-8, or holds a NUL).
    pub fn greeting_bytes(mut self, raw: &[u8]) -> Self {
        self.script.greeting = raw.to_vec();
        self
    }

    /// Instead of a greeting, send `line` (e.g. "120 ready in 5 minutes\r\n") every
    /// `every`, forever.
    pub fn greeting_forever(mut self, line: &str, every: Duration) -> Self {
        self.script.greeting_forever = Some((line.to_string(), every));
        self
    }

    /// Always answer `verb` with `raw` (sent as is) instead of the table's handler, with no
    /// side effects beyond the protocol's `scripted` hook.
    pub fn reply(mut self, verb: &str, raw: &str) -> Self {
        self.script
            .replies
            .insert(verb.to_ascii_uppercase(), scripted(raw, false));
        self
    }

    /// Like `reply`, then close the connection (e.g. "421 Timeout.\r\n").
    pub fn reply_then_close(mut self, verb: &str, raw: &str) -> Self {
        self.script
            .replies
            .insert(verb.to_ascii_uppercase(), scripted(raw, true));
        self
    }

    /// Like `reply`, for the first time `verb` is seen (across connections). Called several
    /// times for one verb, the replies are used in order; afterwards the `reply` override, if
    /// any, or the table applies.
    pub fn reply_once(mut self, verb: &str, raw: &str) -> Self {
        self.script
            .once
            .entry(verb.to_ascii_uppercase())
            .or_default()
            .push_back(scripted(raw, false));
        self
    }

    /// Write every reply one byte per write(), with TCP_NODELAY and 1 ms between bytes.
    pub fn bytewise(mut self) -> Self {
        self.script.bytewise = true;
        self
    }

    /// Write every reply one byte at a time, `every` apart (a server that drips).
    pub fn drip(mut self, every: Duration) -> Self {
        self.script.drip = Some(every);
        self
    }

    /// Wait `by` before every reply (a server across a high-latency link; the greeting too).
    pub fn delay(mut self, by: Duration) -> Self {
        self.script.delay = Some(by);
        self
    }

    /// Never answer `verb`: keep the connection open and read nothing more, until dropped.
    pub fn stall_on(mut self, verb: &str) -> Self {
        self.script.stall_on.insert(verb.to_ascii_uppercase());
        self
    }

    /// Hold every `verb` (on any connection) unanswered until the test calls
    /// `release(verb)` (see `held`), then answer it as usual: a test can change the world
    /// (swap a file, read the client's memory) while the client waits for that answer.
    pub fn hold(mut self, verb: &str) -> Self {
        self.script.hold.insert(verb.to_ascii_uppercase());
        self
    }

    /// At most `n` simultaneous connections; more are told the protocol's `TOO_MANY` and
    /// closed.
    pub fn max_connections(mut self, n: usize) -> Self {
        self.script.max_connections = Some(n);
        self
    }

    /// Listen on `[::1]` too, at the same port as on 127.0.0.1.
    pub fn ipv6(mut self) -> Self {
        self.script.ipv6 = true;
        self
    }

    /// Listen on this port instead of a free one the kernel chooses (the demo server's
    /// `--port`); the start panics if it is taken.
    pub fn port(mut self, port: u16) -> Self {
        self.script.port = Some(port);
        self
    }

    /// Starts the server; `make` turns the settings into the protocol's shared state.
    pub fn launch<P: Protocol>(self, make: impl FnOnce(S) -> P) -> Server<P> {
        let listeners = bind(self.script.ipv6, self.script.port);
        let port = listeners[0].local_addr().expect("local addr").port();
        let mut script = self.script;
        let once = std::mem::take(&mut script.once);
        let core = Arc::new(Core {
            script,
            once: Mutex::new(once),
            transcript: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
            sockets: Mutex::new(HashMap::new()),
            next_socket: AtomicU64::new(0),
            connections: AtomicUsize::new(0),
            live: AtomicUsize::new(0),
            activity: Mutex::new(HashMap::new()),
            holds: Mutex::new(HashMap::new()),
        });
        let protocol = Arc::new(make(self.proto));
        let (c, p) = (Arc::clone(&core), Arc::clone(&protocol));
        let acceptor = thread::spawn(move || accept_loop(listeners, c, p));
        Server {
            port,
            core,
            protocol,
            acceptor: Some(acceptor),
        }
    }
}

fn scripted(raw: &str, close: bool) -> Scripted {
    Scripted {
        raw: raw.to_string(),
        close,
    }
}

/// 127.0.0.1 on `port` or a free port, and `[::1]` on the same port when asked (a few tries:
/// the port may be taken on `[::1]` by someone else).
fn bind(ipv6: bool, port: Option<u16>) -> Vec<TcpListener> {
    for _ in 0..20 {
        let v4 = TcpListener::bind(("127.0.0.1", port.unwrap_or(0)))
            .expect("bind a fake server on 127.0.0.1");
        let mut listeners = vec![v4];
        if ipv6 {
            let port = listeners[0].local_addr().expect("local addr").port();
            match TcpListener::bind((Ipv6Addr::LOCALHOST, port)) {
                Ok(v6) => listeners.push(v6),
                Err(e) if e.kind() == io::ErrorKind::AddrInUse => continue,
                Err(e) => panic!("bind a fake server on [::1]: {e}"),
            }
        }
        for l in &listeners {
            l.set_nonblocking(true).expect("nonblocking listener");
        }
        return listeners;
    }
    panic!("no port free on both 127.0.0.1 and [::1] in 20 tries");
}

/// A running fake server. Dropping it stops every thread and closes every socket.
pub struct Server<P: Protocol> {
    port: u16,
    core: Arc<Core>,
    protocol: Arc<P>,
    acceptor: Option<JoinHandle<()>>,
}

impl<P: Protocol> Server<P> {
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The protocol's shared state, for its own accessors (call `settle` first).
    pub fn protocol(&self) -> &P {
        &self.protocol
    }

    /// Waits (briefly) until every connection has consumed what its client sent, so a test
    /// that looks right after the client exited sees the final QUIT too.
    pub fn settle(&self) {
        self.core.settle();
    }

    /// Waits (at most 2 s) until every connection has ended, for a test whose client has
    /// exited: unlike `settle`, a thread that has read its EOF but not yet acted on it
    /// (a loaded machine) is waited for.
    pub fn wait_finished(&self) {
        let start = Instant::now();
        while start.elapsed() < SETTLE_MAX {
            if lock(&self.core.activity)
                .values()
                .all(|a| a.finished || a.stalled)
            {
                return;
            }
            thread::sleep(POLL);
        }
    }

    /// Every command line received, all connections, in arrival order, without CRLF.
    pub fn transcript(&self) -> Vec<String> {
        self.settle();
        lock(&self.core.transcript)
            .iter()
            .map(|(_, l)| l.clone())
            .collect()
    }

    /// The command lines of one connection (numbered from 0 in accept order).
    pub fn transcript_of(&self, connection: usize) -> Vec<String> {
        self.settle();
        lock(&self.core.transcript)
            .iter()
            .filter(|(c, _)| *c == connection)
            .map(|(_, l)| l.clone())
            .collect()
    }

    /// The transcript lines whose verb is `verb` (case-insensitive).
    pub fn commands(&self, verb: &str) -> Vec<String> {
        self.transcript()
            .into_iter()
            .filter(|l| split_command(l).0.eq_ignore_ascii_case(verb))
            .collect()
    }

    /// How many connections were accepted (refused ones included).
    pub fn connections(&self) -> usize {
        self.settle();
        self.core.connections.load(Ordering::SeqCst)
    }

    /// How many `verb` commands `hold` has held (or let through, once released).
    pub fn held(&self, verb: &str) -> usize {
        lock(&self.core.holds)
            .get(&verb.to_ascii_uppercase())
            .map_or(0, |h| h.0)
    }

    /// Waits (at most 30 s, well within the watchdog) until `n` `verb` commands are held;
    /// panics otherwise.
    pub fn wait_held(&self, verb: &str, n: usize) {
        let start = Instant::now();
        while self.held(verb) < n {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "{n} {verb} never arrived: {:?}",
                self.transcript()
            );
            thread::sleep(POLL);
        }
    }

    /// Lets the held `verb` commands be answered, and any that arrive later.
    pub fn release(&self, verb: &str) {
        lock(&self.core.holds)
            .entry(verb.to_ascii_uppercase())
            .or_default()
            .1 = true;
    }
}

impl<P: Protocol> Drop for Server<P> {
    fn drop(&mut self) {
        self.core.stop.store(true, Ordering::SeqCst);
        self.core.shutdown_all();
        if let Some(h) = self.acceptor.take() {
            let _ = h.join();
        }
        // Connection threads notice within a poll interval; never wait forever.
        let start = Instant::now();
        while self.core.live.load(Ordering::SeqCst) > 0 && start.elapsed() < SETTLE_MAX {
            self.core.shutdown_all();
            thread::sleep(POLL);
        }
    }
}

/// Splits a command line at its first space: (verb, the rest).
pub fn split_command(line: &str) -> (&str, &str) {
    match line.split_once(' ') {
        Some((v, a)) => (v, a),
        None => (line, ""),
    }
}

/// Locks, even a mutex a panicking connection thread poisoned: that must not hide the
/// transcript from the test.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

// ---------------------------------------------------------------------------------------------
// The shared, protocol-neutral state.

struct Core {
    script: Script,
    once: Mutex<HashMap<String, VecDeque<Scripted>>>,
    /// (connection number, command line)
    transcript: Mutex<Vec<(usize, String)>>,
    stop: AtomicBool,
    /// Clones of every open socket, so `Drop` can shut them down whatever a thread is doing.
    sockets: Mutex<HashMap<u64, TcpStream>>,
    next_socket: AtomicU64,
    connections: AtomicUsize,
    live: AtomicUsize,
    activity: Mutex<HashMap<usize, Activity>>,
    /// Per held verb: how many arrived, and whether they are released.
    holds: Mutex<HashMap<String, (usize, bool)>>,
}

#[derive(Default)]
struct Activity {
    /// Set while the thread blocks on the control socket with nothing buffered.
    waiting_since: Option<Instant>,
    stalled: bool,
    finished: bool,
}

impl Core {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn track(self: &Arc<Self>, stream: TcpStream) -> io::Result<Tracked> {
        let id = self.next_socket.fetch_add(1, Ordering::SeqCst);
        lock(&self.sockets).insert(id, stream.try_clone()?);
        if self.stopped() {
            let _ = stream.shutdown(Shutdown::Both);
        }
        Ok(Tracked {
            stream,
            id,
            core: Arc::clone(self),
        })
    }

    fn shutdown_all(&self) {
        for s in lock(&self.sockets).values() {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    fn set_activity(&self, conn: usize, f: impl FnOnce(&mut Activity)) {
        f(lock(&self.activity).entry(conn).or_default());
    }

    /// Sleeps until the server is dropped.
    fn park(&self) {
        while !self.stopped() {
            thread::sleep(POLL);
        }
    }

    fn settle(&self) {
        let start = Instant::now();
        while start.elapsed() < SETTLE_MAX {
            let settled = lock(&self.activity).values().all(|a| {
                a.finished
                    || a.stalled
                    || a.waiting_since.is_some_and(|t| t.elapsed() >= SETTLE_IDLE)
            });
            if settled {
                return;
            }
            thread::sleep(POLL);
        }
    }
}

/// A socket registered with the server; dropping it unregisters the clone so the socket
/// really closes (a leftover clone would keep the FIN from being sent).
pub struct Tracked {
    pub stream: TcpStream,
    id: u64,
    core: Arc<Core>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        lock(&self.core.sockets).remove(&self.id);
    }
}

// ---------------------------------------------------------------------------------------------
// Connections.

fn accept_loop<P: Protocol>(listeners: Vec<TcpListener>, core: Arc<Core>, protocol: Arc<P>) {
    while !core.stopped() {
        let mut accepted = false;
        for listener in &listeners {
            let Ok((stream, _)) = listener.accept() else {
                continue;
            };
            accepted = true;
            let _ = stream.set_nonblocking(false);
            let conn = core.connections.fetch_add(1, Ordering::SeqCst);
            // Counted before the thread runs, so neither Drop nor settle() can miss it.
            let live = core.live.fetch_add(1, Ordering::SeqCst);
            core.set_activity(conn, |_| {});
            let too_many = core.script.max_connections.is_some_and(|m| live >= m);
            let (c, p) = (Arc::clone(&core), Arc::clone(&protocol));
            thread::spawn(move || {
                if let Ok(control) = c.track(stream) {
                    let _ = serve(&c, &*p, conn, control, too_many);
                }
                // In this order, so after settle() a closed connection no longer counts.
                c.live.fetch_sub(1, Ordering::SeqCst);
                c.set_activity(conn, |a| a.finished = true);
            });
        }
        if !accepted {
            thread::sleep(POLL);
        }
    }
}

fn send(core: &Core, control: &mut Tracked, raw: &str) -> io::Result<()> {
    send_raw(core, control, raw.as_bytes())
}

fn send_raw(core: &Core, control: &mut Tracked, raw: &[u8]) -> io::Result<()> {
    let s = &mut control.stream;
    if let Some(by) = core.script.delay {
        thread::sleep(by);
    }
    if let Some(every) = core.script.drip {
        s.set_nodelay(true)?;
        for b in raw {
            if core.stopped() {
                return Err(io::Error::other("stopped"));
            }
            thread::sleep(every);
            s.write_all(std::slice::from_ref(b))?;
            s.flush()?;
        }
        return Ok(());
    }
    if core.script.bytewise {
        s.set_nodelay(true)?;
        for b in raw {
            s.write_all(std::slice::from_ref(b))?;
            s.flush()?;
            thread::sleep(Duration::from_millis(1));
        }
        Ok(())
    } else {
        s.write_all(raw)?;
        s.flush()
    }
}

/// Reads one command line without its CRLF (or bare LF); `None` at EOF. A line longer than
/// `MAX_LINE` is cut to `MAX_LINE` bytes (the rest is read and discarded) and flagged `true`.
fn read_line(
    core: &Core,
    conn: usize,
    control: &mut Tracked,
    buf: &mut Vec<u8>,
) -> io::Result<Option<(String, bool)>> {
    let mut too_long = false;
    loop {
        if let Some(i) = buf.iter().position(|&b| b == b'\n') {
            let mut line: Vec<u8> = buf.drain(..=i).collect();
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            if line.len() > MAX_LINE {
                line.truncate(MAX_LINE);
                too_long = true;
            }
            return Ok(Some((
                String::from_utf8_lossy(&line).into_owned(),
                too_long,
            )));
        }
        if buf.len() > MAX_LINE {
            // Keep memory bounded: remember only the start of the line.
            buf.truncate(MAX_LINE);
            too_long = true;
        }
        let mut chunk = [0u8; 4096];
        core.set_activity(conn, |a| a.waiting_since = Some(Instant::now()));
        let n = control.stream.read(&mut chunk);
        core.set_activity(conn, |a| a.waiting_since = None);
        let n = n?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn serve<P: Protocol>(
    core: &Arc<Core>,
    protocol: &P,
    conn: usize,
    mut control: Tracked,
    too_many: bool,
) -> io::Result<()> {
    if too_many {
        return send(core, &mut control, P::TOO_MANY);
    }
    if let Some((line, every)) = core.script.greeting_forever.clone() {
        core.set_activity(conn, |a| a.stalled = true);
        while !core.stopped() {
            send(core, &mut control, &line)?;
            thread::sleep(every);
        }
        return Ok(());
    }
    let greeting = core.script.greeting.clone();
    send_raw(core, &mut control, &greeting)?;
    if !protocol.greeting_continues(&String::from_utf8_lossy(&greeting)) {
        return Ok(());
    }
    let mut session = protocol.session();
    let mut buf = Vec::new();
    loop {
        let Some((line, too_long)) = read_line(core, conn, &mut control, &mut buf)? else {
            return Ok(());
        };
        lock(&core.transcript).push((conn, line.clone()));
        if too_long {
            send(core, &mut control, P::LINE_TOO_LONG)?;
            continue;
        }
        let (verb, arg) = protocol.split(&line);
        let verb = verb.to_ascii_uppercase();
        let mut c = Ctx {
            server: protocol,
            session: &mut session,
            core,
            control: &mut control,
            conn,
            buf: &mut buf,
        };
        match dispatch(&mut c, &verb, arg)? {
            Flow::Continue => {}
            Flow::Close => return Ok(()),
            Flow::Stall => {
                c.stall();
                return Ok(());
            }
        }
    }
}

/// A stall, else a scripted reply (once before always), else the protocol's `before` hook,
/// else the table, else `UNKNOWN`.
fn dispatch<P: Protocol>(c: &mut Ctx<'_, P>, verb: &str, arg: &str) -> io::Result<Flow> {
    if c.core.script.stall_on.contains(verb) {
        return Ok(Flow::Stall);
    }
    if c.core.script.hold.contains(verb) {
        let released = |core: &Core| lock(&core.holds).get(verb).is_some_and(|h| h.1);
        lock(&c.core.holds).entry(verb.to_string()).or_default().0 += 1;
        // Settled while held: the test looks at the transcript meanwhile.
        c.core.set_activity(c.conn, |a| a.stalled = true);
        while !released(c.core) && !c.core.stopped() {
            thread::sleep(POLL);
        }
        c.core.set_activity(c.conn, |a| a.stalled = false);
    }
    let once = lock(&c.core.once)
        .get_mut(verb)
        .and_then(VecDeque::pop_front);
    if let Some(s) = once.or_else(|| c.core.script.replies.get(verb).cloned()) {
        c.server.scripted(c.session, verb, &s.raw);
        let raw = c.server.render(&s.raw, arg);
        c.send(&raw)?;
        return Ok(if s.close { Flow::Close } else { Flow::Continue });
    }
    let server = c.server;
    if let Some(flow) = server.before(c, verb)? {
        return Ok(flow);
    }
    match P::COMMANDS.iter().find(|cmd| cmd.verbs.contains(&verb)) {
        Some(cmd) => (cmd.run)(c, arg),
        None => {
            c.send(P::UNKNOWN)?;
            Ok(Flow::Continue)
        }
    }
}
