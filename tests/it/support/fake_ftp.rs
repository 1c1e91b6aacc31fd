//! A scriptable fake FTP server for integration tests (std only).
//!
//! Modelled on curl's `tests/ftpserver.pl`: a small, correct server (RFC 959, 2389, 2428, 3659)
//! whose replies can be replaced per verb, so tests can cover what real servers will not do on
//! demand: a wrong PASV address, replies split into 1-byte writes, a drop mid-transfer, a stall.
//!
//! Every command line the server receives is kept, in order, across all connections, so a test
//! can state the exact transcript a client produced.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// The folder a session starts in; `Builder::file` paths are relative to it.
pub const HOME: &str = "/home/u";
/// The modification time reported for files and folders without one of their own.
pub const DEFAULT_MDTM: &str = "20200102030405";
/// The longest command line accepted (RFC 959 sets no limit; real servers cap it).
pub const MAX_LINE: usize = 8192;

const POLL: Duration = Duration::from_millis(2);
/// How long a transfer command waits for the client to reach the passive port.
const DATA_ACCEPT_TIMEOUT: Duration = Duration::from_secs(5);
/// A connection waiting this long for input with nothing buffered is taken as idle.
const SETTLE_IDLE: Duration = Duration::from_millis(20);
const SETTLE_MAX: Duration = Duration::from_secs(2);

fn default_feat() -> Vec<String> {
    [
        "EPSV",
        "PASV",
        "SIZE",
        "MDTM",
        "REST STREAM",
        "UTF8",
        "MLST type*;size*;modify*;",
        "TVFS",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// A running fake server. Dropping it stops every thread and closes every socket.
pub struct FakeFtp {
    port: u16,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

/// Describes the server before it starts: files, credentials and scripted misbehaviour.
#[derive(Clone, Debug)]
pub struct Builder {
    files: Vec<(String, Node)>,
    logins: Vec<(String, String)>,
    feat: Option<Vec<String>>,
    greeting: String,
    replies: HashMap<String, Scripted>,
    once: HashMap<String, VecDeque<Scripted>>,
    bytewise: bool,
    pasv_address: Option<Ipv4Addr>,
    drop_data: Option<(usize, Option<String>)>,
    stall_on: HashSet<String>,
    stall_data: bool,
    max_connections: Option<usize>,
    /// Features removed from the default FEAT body by `no_epsv`, `no_size`, ...
    unadvertised: Vec<&'static str>,
    drip: Option<Duration>,
    greeting_forever: Option<(String, Duration)>,
    ignore_rest: bool,
    retr_without_preliminary: bool,
    listings: HashMap<String, Vec<u8>>,
}

#[derive(Clone, Debug)]
struct Scripted {
    raw: String,
    close: bool,
}

#[derive(Clone, Debug)]
enum Node {
    Dir,
    File { data: Vec<u8>, mdtm: String },
}

struct Config {
    drip: Option<Duration>,
    greeting_forever: Option<(String, Duration)>,
    ignore_rest: bool,
    retr_without_preliminary: bool,
    listings: HashMap<String, Vec<u8>>,
    logins: Vec<(String, String)>,
    feat: Option<Vec<String>>,
    greeting: String,
    replies: HashMap<String, Scripted>,
    bytewise: bool,
    pasv_address: Option<Ipv4Addr>,
    drop_data: Option<(usize, Option<String>)>,
    stall_on: HashSet<String>,
    stall_data: bool,
    max_connections: Option<usize>,
}

struct State {
    fs: BTreeMap<String, Node>,
    /// (connection number, command line)
    transcript: Vec<(usize, String)>,
    uploaded: BTreeMap<String, Vec<u8>>,
    deleted: Vec<String>,
    once: HashMap<String, VecDeque<Scripted>>,
    drop_used: bool,
}

#[derive(Default)]
struct Activity {
    /// Set while the thread blocks on the control socket with nothing buffered.
    waiting_since: Option<Instant>,
    stalled: bool,
    finished: bool,
}

struct Shared {
    config: Config,
    state: Mutex<State>,
    stop: AtomicBool,
    /// Clones of every open socket, so `Drop` can shut them down whatever a thread is doing.
    sockets: Mutex<HashMap<u64, TcpStream>>,
    next_socket: AtomicU64,
    connections: AtomicUsize,
    live: AtomicUsize,
    activity: Mutex<HashMap<usize, Activity>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking connection thread must not hide the transcript from the test.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
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
            shared: Arc::clone(self),
        })
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

    /// Waits (briefly) until every connection has consumed what its client sent, so a test that
    /// looks right after the client exited sees the final QUIT too.
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

/// A socket registered with `Shared::sockets`; dropping it unregisters the clone so the
/// socket really closes (a leftover clone would keep the FIN from being sent).
struct Tracked {
    stream: TcpStream,
    id: u64,
    shared: Arc<Shared>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        lock(&self.shared.sockets).remove(&self.id);
    }
}

impl FakeFtp {
    pub fn builder() -> Builder {
        Builder {
            files: Vec::new(),
            logins: Vec::new(),
            feat: None,
            greeting: "220 fake ftp ready\r\n".to_string(),
            replies: HashMap::new(),
            once: HashMap::new(),
            bytewise: false,
            pasv_address: None,
            drop_data: None,
            stall_on: HashSet::new(),
            stall_data: false,
            max_connections: None,
            unadvertised: Vec::new(),
            drip: None,
            greeting_forever: None,
            ignore_rest: false,
            retr_without_preliminary: false,
            listings: HashMap::new(),
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `ftp://127.0.0.1:PORT/path`; per RFC 1738 the path is relative to the login folder.
    pub fn url(&self, path: &str) -> String {
        format!(
            "ftp://127.0.0.1:{}/{}",
            self.port,
            path.trim_start_matches('/')
        )
    }

    /// Every command line received, all connections, in arrival order, without CRLF.
    pub fn transcript(&self) -> Vec<String> {
        self.shared.settle();
        lock(&self.shared.state)
            .transcript
            .iter()
            .map(|(_, l)| l.clone())
            .collect()
    }

    /// The command lines of one control connection (numbered from 0 in accept order).
    pub fn transcript_of(&self, connection: usize) -> Vec<String> {
        self.shared.settle();
        lock(&self.shared.state)
            .transcript
            .iter()
            .filter(|(c, _)| *c == connection)
            .map(|(_, l)| l.clone())
            .collect()
    }

    /// How many control connections were accepted (refused ones included).
    pub fn connections(&self) -> usize {
        self.shared.settle();
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// The transcript lines whose verb is `verb` (case-insensitive).
    pub fn commands(&self, verb: &str) -> Vec<String> {
        self.transcript()
            .into_iter()
            .filter(|l| split_command(l).0.eq_ignore_ascii_case(verb))
            .collect()
    }

    /// The last contents stored by STOR/APPE at `path` (relative to the login folder, or
    /// absolute).
    pub fn uploaded(&self, path: &str) -> Option<Vec<u8>> {
        self.shared.settle();
        lock(&self.shared.state)
            .uploaded
            .get(&resolve(HOME, path))
            .cloned()
    }

    /// The current contents of a virtual file (uploads and renames included).
    pub fn file(&self, path: &str) -> Option<Vec<u8>> {
        self.shared.settle();
        match lock(&self.shared.state).fs.get(&resolve(HOME, path)) {
            Some(Node::File { data, .. }) => Some(data.clone()),
            _ => None,
        }
    }

    /// Paths removed by DELE, relative to the login folder when inside it, else absolute.
    pub fn deleted(&self) -> Vec<String> {
        self.shared.settle();
        lock(&self.shared.state).deleted.clone()
    }
}

impl Drop for FakeFtp {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        for s in lock(&self.shared.sockets).values() {
            let _ = s.shutdown(Shutdown::Both);
        }
        if let Some(h) = self.acceptor.take() {
            let _ = h.join();
        }
        // Connection threads notice within a poll interval; never wait forever.
        let start = Instant::now();
        while self.shared.live.load(Ordering::SeqCst) > 0 && start.elapsed() < SETTLE_MAX {
            for s in lock(&self.shared.sockets).values() {
                let _ = s.shutdown(Shutdown::Both);
            }
            thread::sleep(POLL);
        }
    }
}

impl Builder {
    /// A virtual file; `path` is relative to the login folder (or absolute); parents implied.
    pub fn file(self, path: &str, contents: impl Into<Vec<u8>>) -> Self {
        self.file_with_mtime(path, contents, DEFAULT_MDTM)
    }

    /// A virtual file with its MDTM time, "YYYYMMDDHHMMSS".
    pub fn file_with_mtime(mut self, path: &str, contents: impl Into<Vec<u8>>, mdtm: &str) -> Self {
        assert!(
            mdtm.len() == 14 && mdtm.bytes().all(|b| b.is_ascii_digit()),
            "mdtm must be YYYYMMDDHHMMSS"
        );
        let node = Node::File {
            data: contents.into(),
            mdtm: mdtm.to_string(),
        };
        self.files.push((path.to_string(), node));
        self
    }

    /// A (possibly empty) folder; parents implied.
    pub fn dir(mut self, path: &str) -> Self {
        self.files.push((path.to_string(), Node::Dir));
        self
    }

    /// Accept these credentials. May be called several times. Without it only "anonymous"
    /// (any password) is accepted; with it anonymous is refused.
    pub fn login(mut self, user: &str, pass: &str) -> Self {
        self.logins.push((user.to_string(), pass.to_string()));
        self
    }

    /// The FEAT body, one feature per entry (without the leading space).
    pub fn feat(mut self, lines: &[&str]) -> Self {
        self.feat = Some(lines.iter().map(|s| s.to_string()).collect());
        self
    }

    /// FEAT -> "502 Command not implemented."
    pub fn no_feat(self) -> Self {
        self.reply("FEAT", "502 Command not implemented.\r\n")
    }

    /// The raw greeting, CRLFs included. A greeting starting with 4 or 5 closes the connection.
    pub fn greeting(mut self, reply: &str) -> Self {
        self.greeting = reply.to_string();
        self
    }

    /// Always answer `verb` with `raw` (sent as is) instead of the built-in behaviour, with no
    /// side effects — except that a 230 reply to USER or PASS logs the session in.
    pub fn reply(mut self, verb: &str, raw: &str) -> Self {
        self.replies.insert(
            verb.to_ascii_uppercase(),
            Scripted {
                raw: raw.to_string(),
                close: false,
            },
        );
        self
    }

    /// Like `reply`, then close the control connection (e.g. "421 Timeout.\r\n").
    pub fn reply_then_close(mut self, verb: &str, raw: &str) -> Self {
        self.replies.insert(
            verb.to_ascii_uppercase(),
            Scripted {
                raw: raw.to_string(),
                close: true,
            },
        );
        self
    }

    /// Like `reply`, for the first time `verb` is seen (across connections). Called several
    /// times for one verb, the replies are used in order; afterwards the `reply` override, if
    /// any, or the built-in behaviour applies.
    pub fn reply_once(mut self, verb: &str, raw: &str) -> Self {
        self.once
            .entry(verb.to_ascii_uppercase())
            .or_default()
            .push_back(Scripted {
                raw: raw.to_string(),
                close: false,
            });
        self
    }

    /// Write every control reply one byte per write(), with TCP_NODELAY and 1 ms between bytes.
    pub fn bytewise(mut self) -> Self {
        self.bytewise = true;
        self
    }

    /// Advertise `ip` in PASV replies while listening on 127.0.0.1.
    pub fn pasv_address(mut self, ip: &str) -> Self {
        self.pasv_address = Some(ip.parse().expect("pasv_address: an IPv4 address"));
        self
    }

    /// EPSV -> "500 EPSV not understood" (and EPSV leaves the default FEAT body).
    pub fn no_epsv(mut self) -> Self {
        self.unadvertised.push("EPSV");
        self.reply("EPSV", "500 EPSV not understood\r\n")
    }

    /// EPRT -> "500 EPRT not understood".
    pub fn no_eprt(self) -> Self {
        self.reply("EPRT", "500 EPRT not understood\r\n")
    }

    /// REST -> "502 REST not implemented" (and REST STREAM leaves the default FEAT body).
    pub fn refuse_rest(mut self) -> Self {
        self.unadvertised.push("REST STREAM");
        self.reply("REST", "502 REST not implemented\r\n")
    }

    /// SIZE -> "500 SIZE not understood" (and SIZE leaves the default FEAT body).
    pub fn no_size(mut self) -> Self {
        self.unadvertised.push("SIZE");
        self.reply("SIZE", "500 SIZE not understood\r\n")
    }

    /// The first RETR (across connections) sends only `n` bytes, then closes the data
    /// connection, then sends `final_reply` on the control connection — or, with `None`,
    /// closes the control connection too without a reply.
    pub fn drop_data_after(mut self, n: usize, final_reply: Option<&str>) -> Self {
        self.drop_data = Some((n, final_reply.map(str::to_string)));
        self
    }

    /// Never answer `verb`: keep the socket open and read nothing more, until dropped.
    pub fn stall_on(mut self, verb: &str) -> Self {
        self.stall_on.insert(verb.to_ascii_uppercase());
        self
    }

    /// RETR sends 150, opens the data connection, then sends nothing and never closes it.
    pub fn stall_data(mut self) -> Self {
        self.stall_data = true;
        self
    }

    /// Write every control reply one byte at a time, `every` apart (a server that drips).
    pub fn drip(mut self, every: Duration) -> Self {
        self.drip = Some(every);
        self
    }

    /// Instead of a greeting, send `line` (e.g. "120 ready in 5 minutes\r\n") every
    /// `every`, forever.
    pub fn greeting_forever(mut self, line: &str, every: Duration) -> Self {
        self.greeting_forever = Some((line.to_string(), every));
        self
    }

    /// REST is answered 350, but RETR sends the file from its first byte anyway.
    pub fn ignore_rest(mut self) -> Self {
        self.ignore_rest = true;
        self
    }

    /// RETR sends the file over the data connection but answers "226" with no "150" first.
    pub fn retr_without_preliminary(mut self) -> Self {
        self.retr_without_preliminary = true;
        self
    }

    /// `verb` (NLST, MLSD or LIST) sends exactly `body` as the listing, whatever the folder.
    pub fn listing(mut self, verb: &str, body: impl Into<Vec<u8>>) -> Self {
        self.listings.insert(verb.to_ascii_uppercase(), body.into());
        self
    }

    /// At most `n` simultaneous control connections; more get "421 Too many connections".
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = Some(n);
        self
    }

    pub fn start(self) -> FakeFtp {
        let mut fs = BTreeMap::new();
        add_dirs(&mut fs, HOME);
        for (path, node) in self.files {
            let abs = resolve(HOME, &path);
            add_dirs(&mut fs, parent(&abs));
            match node {
                Node::Dir => add_dirs(&mut fs, &abs),
                file => {
                    fs.insert(abs, file);
                }
            }
        }
        let feat = match self.feat {
            Some(f) => Some(f),
            None => Some(
                default_feat()
                    .into_iter()
                    .filter(|f| !self.unadvertised.contains(&f.as_str()))
                    .collect(),
            ),
        };
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind fake ftp server");
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let port = listener.local_addr().expect("local addr").port();
        let shared = Arc::new(Shared {
            config: Config {
                drip: self.drip,
                greeting_forever: self.greeting_forever,
                ignore_rest: self.ignore_rest,
                retr_without_preliminary: self.retr_without_preliminary,
                listings: self.listings,
                logins: self.logins,
                feat,
                greeting: self.greeting,
                replies: self.replies,
                bytewise: self.bytewise,
                pasv_address: self.pasv_address,
                drop_data: self.drop_data,
                stall_on: self.stall_on,
                stall_data: self.stall_data,
                max_connections: self.max_connections,
            },
            state: Mutex::new(State {
                fs,
                transcript: Vec::new(),
                uploaded: BTreeMap::new(),
                deleted: Vec::new(),
                once: self.once,
                drop_used: false,
            }),
            stop: AtomicBool::new(false),
            sockets: Mutex::new(HashMap::new()),
            next_socket: AtomicU64::new(0),
            connections: AtomicUsize::new(0),
            live: AtomicUsize::new(0),
            activity: Mutex::new(HashMap::new()),
        });
        let sh = Arc::clone(&shared);
        let acceptor = thread::spawn(move || accept_loop(listener, sh));
        FakeFtp {
            port,
            shared,
            acceptor: Some(acceptor),
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    while !shared.stopped() {
        match listener.accept() {
            Ok((stream, _)) => {
                let _ = stream.set_nonblocking(false);
                let conn = shared.connections.fetch_add(1, Ordering::SeqCst);
                // Counted before the thread runs, so neither Drop nor settle() can miss it.
                let live = shared.live.fetch_add(1, Ordering::SeqCst);
                shared.set_activity(conn, |_| {});
                let sh = Arc::clone(&shared);
                let too_many = shared.config.max_connections.is_some_and(|m| live >= m);
                thread::spawn(move || {
                    if let Ok(tracked) = sh.track(stream) {
                        let mut session = Session::new(Arc::clone(&sh), conn, tracked);
                        let _ = session.run(too_many);
                    }
                    // In this order, so after settle() a closed connection no longer counts.
                    sh.live.fetch_sub(1, Ordering::SeqCst);
                    sh.set_activity(conn, |a| a.finished = true);
                });
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => thread::sleep(POLL),
            Err(_) => thread::sleep(POLL),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Paths of the virtual file system: absolute, normalised, no trailing '/'; "/" is the root.

fn resolve(cwd: &str, arg: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    let joined;
    let full = if arg.starts_with('/') {
        arg
    } else {
        joined = format!("{cwd}/{arg}");
        &joined
    };
    for p in full.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

fn parent(abs: &str) -> &str {
    match abs.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &abs[..i],
    }
}

fn base_name(abs: &str) -> &str {
    abs.rsplit('/').next().unwrap_or(abs)
}

fn add_dirs(fs: &mut BTreeMap<String, Node>, abs: &str) {
    let mut p = abs.to_string();
    loop {
        fs.insert(p.clone(), Node::Dir);
        if p == "/" {
            break;
        }
        p = parent(&p).to_string();
    }
}

/// The path as tests name it: relative to the login folder when inside it.
fn display_path(abs: &str) -> String {
    match abs.strip_prefix(HOME).and_then(|r| r.strip_prefix('/')) {
        Some(rel) => rel.to_string(),
        None => abs.to_string(),
    }
}

fn children(fs: &BTreeMap<String, Node>, dir: &str) -> Vec<(String, Node)> {
    let prefix = if dir == "/" {
        "/".to_string()
    } else {
        format!("{dir}/")
    };
    fs.range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .filter(|(k, _)| k.len() > prefix.len() && !k[prefix.len()..].contains('/'))
        .map(|(k, v)| (k[prefix.len()..].to_string(), v.clone()))
        .collect()
}

fn split_command(line: &str) -> (&str, &str) {
    match line.split_once(' ') {
        Some((v, a)) => (v, a),
        None => (line, ""),
    }
}

/// Drops leading "-la"-style options some clients send with LIST/NLST.
fn strip_list_options(arg: &str) -> &str {
    let mut rest = arg.trim();
    while rest.starts_with('-') {
        rest = match rest.split_once(' ') {
            Some((_, r)) => r.trim_start(),
            None => "",
        };
    }
    rest
}

fn ls_line(name: &str, node: &Node) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (mode, links, size, mdtm) = match node {
        Node::Dir => ("drwxr-xr-x", 2, 4096, DEFAULT_MDTM),
        Node::File { data, mdtm } => ("-rw-r--r--", 1, data.len(), mdtm.as_str()),
    };
    let month = mdtm[4..6].parse::<usize>().unwrap_or(1).clamp(1, 12);
    format!(
        "{mode} {links:>4} ftp      ftp      {size:>10} {} {} {:>5} {name}",
        MONTHS[month - 1],
        &mdtm[6..8],
        &mdtm[0..4],
    )
}

fn mlsd_facts(name: &str, node: &Node) -> String {
    match node {
        Node::Dir => format!("type=dir;modify={DEFAULT_MDTM}; {name}"),
        Node::File { data, mdtm } => format!("type=file;size={};modify={mdtm}; {name}", data.len()),
    }
}

fn lf_to_crlf(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 16);
    let mut prev = 0u8;
    for &b in data {
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        prev = b;
    }
    out
}

fn crlf_to_lf(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    for (i, &b) in data.iter().enumerate() {
        if b == b'\r' && data.get(i + 1) == Some(&b'\n') {
            continue;
        }
        out.push(b);
    }
    out
}

/// PORT h1,h2,h3,h4,p1,p2 (RFC 959 4.1.2).
fn parse_port(arg: &str) -> Option<SocketAddr> {
    let n: Vec<u8> = arg
        .trim()
        .split(',')
        .map(|p| p.trim().parse().ok())
        .collect::<Option<_>>()?;
    if n.len() != 6 {
        return None;
    }
    let ip = Ipv4Addr::new(n[0], n[1], n[2], n[3]);
    Some(SocketAddr::new(
        IpAddr::V4(ip),
        u16::from(n[4]) << 8 | u16::from(n[5]),
    ))
}

/// EPRT |proto|addr|port| (RFC 2428 2); the first character is the delimiter.
fn parse_eprt(arg: &str) -> Option<SocketAddr> {
    let arg = arg.trim();
    let delim = arg.chars().next()?;
    let fields: Vec<&str> = arg.split(delim).collect();
    if fields.len() != 5 || !fields[0].is_empty() || !fields[4].is_empty() {
        return None;
    }
    let ip: IpAddr = fields[2].parse().ok()?;
    match (fields[1], ip) {
        ("1", IpAddr::V4(_)) | ("2", IpAddr::V6(_)) => {}
        _ => return None,
    }
    Some(SocketAddr::new(ip, fields[3].parse().ok()?))
}

// ---------------------------------------------------------------------------------------------

enum DataSetup {
    None,
    Passive(TcpListener),
    Active(SocketAddr),
}

enum Flow {
    Continue,
    Close,
    Stall,
}

struct Session {
    shared: Arc<Shared>,
    conn: usize,
    control: Tracked,
    buf: Vec<u8>,
    cwd: String,
    user: Option<String>,
    logged_in: bool,
    ascii: bool,
    rest: u64,
    rename_from: Option<String>,
    data: DataSetup,
}

impl Session {
    fn new(shared: Arc<Shared>, conn: usize, control: Tracked) -> Self {
        Session {
            shared,
            conn,
            control,
            buf: Vec::new(),
            cwd: HOME.to_string(),
            user: None,
            logged_in: false,
            ascii: false,
            rest: 0,
            rename_from: None,
            data: DataSetup::None,
        }
    }

    fn send(&mut self, raw: &str) -> io::Result<()> {
        let s = &mut self.control.stream;
        if let Some(every) = self.shared.config.drip {
            s.set_nodelay(true)?;
            for b in raw.as_bytes() {
                if self.shared.stopped() {
                    return Err(io::Error::other("stopped"));
                }
                thread::sleep(every);
                s.write_all(std::slice::from_ref(b))?;
                s.flush()?;
            }
            return Ok(());
        }
        if self.shared.config.bytewise {
            s.set_nodelay(true)?;
            for b in raw.as_bytes() {
                s.write_all(std::slice::from_ref(b))?;
                s.flush()?;
                thread::sleep(Duration::from_millis(1));
            }
            Ok(())
        } else {
            s.write_all(raw.as_bytes())?;
            s.flush()
        }
    }

    fn reply(&mut self, code: u16, text: &str) -> io::Result<()> {
        self.send(&format!("{code} {text}\r\n"))
    }

    /// Reads one command line without its CRLF; `None` at EOF. A line longer than `MAX_LINE`
    /// is cut to `MAX_LINE` bytes (the rest is read and discarded) and flagged `true`.
    fn read_line(&mut self) -> io::Result<Option<(String, bool)>> {
        let mut too_long = false;
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.buf.drain(..=i).collect();
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
            if self.buf.len() > MAX_LINE {
                // Keep memory bounded: remember only the start of the line.
                self.buf.truncate(MAX_LINE);
                too_long = true;
            }
            let mut chunk = [0u8; 4096];
            let conn = self.conn;
            self.shared
                .set_activity(conn, |a| a.waiting_since = Some(Instant::now()));
            let n = self.control.stream.read(&mut chunk);
            self.shared.set_activity(conn, |a| a.waiting_since = None);
            let n = n?;
            if n == 0 {
                return Ok(None);
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    fn run(&mut self, too_many: bool) -> io::Result<()> {
        if too_many {
            self.send("421 Too many connections\r\n")?;
            return Ok(());
        }
        if let Some((line, every)) = self.shared.config.greeting_forever.clone() {
            self.shared.set_activity(self.conn, |a| a.stalled = true);
            while !self.shared.stopped() {
                self.send(&line)?;
                thread::sleep(every);
            }
            return Ok(());
        }
        let greeting = self.shared.config.greeting.clone();
        self.send(&greeting)?;
        if greeting.starts_with('4') || greeting.starts_with('5') {
            return Ok(());
        }
        loop {
            let Some((line, too_long)) = self.read_line()? else {
                return Ok(());
            };
            lock(&self.shared.state)
                .transcript
                .push((self.conn, line.clone()));
            if too_long {
                self.reply(500, "Command line too long.")?;
                continue;
            }
            let (verb, arg) = split_command(&line);
            let verb = verb.to_ascii_uppercase();
            let arg = arg.to_string();
            match self.dispatch(&verb, &arg)? {
                Flow::Continue => {}
                Flow::Close => return Ok(()),
                Flow::Stall => {
                    self.shared.set_activity(self.conn, |a| a.stalled = true);
                    self.shared.park();
                    return Ok(());
                }
            }
        }
    }

    fn dispatch(&mut self, verb: &str, arg: &str) -> io::Result<Flow> {
        if self.shared.config.stall_on.contains(verb) {
            return Ok(Flow::Stall);
        }
        let once = lock(&self.shared.state)
            .once
            .get_mut(verb)
            .and_then(VecDeque::pop_front);
        let scripted = once.or_else(|| self.shared.config.replies.get(verb).cloned());
        if let Some(s) = scripted {
            if (verb == "USER" || verb == "PASS") && s.raw.starts_with("230") {
                self.logged_in = true;
            }
            self.send(&s.raw)?;
            return Ok(if s.close { Flow::Close } else { Flow::Continue });
        }
        self.builtin(verb, arg)
    }

    fn builtin(&mut self, verb: &str, arg: &str) -> io::Result<Flow> {
        const BEFORE_LOGIN: &[&str] = &[
            "USER", "PASS", "QUIT", "FEAT", "SYST", "NOOP", "AUTH", "PBSZ", "PROT", "OPTS", "HELP",
        ];
        const KNOWN: &[&str] = &[
            "PWD", "XPWD", "CWD", "XCWD", "CDUP", "XCUP", "TYPE", "MODE", "STRU", "SIZE", "MDTM",
            "MLST", "REST", "RETR", "STOR", "APPE", "DELE", "MKD", "XMKD", "RMD", "XRMD", "RNFR",
            "RNTO", "NLST", "LIST", "MLSD", "EPSV", "PASV", "EPRT", "PORT", "ALLO", "ABOR",
        ];
        if !self.logged_in && KNOWN.contains(&verb) && !BEFORE_LOGIN.contains(&verb) {
            self.reply(530, "Please login with USER and PASS.")?;
            return Ok(Flow::Continue);
        }
        match verb {
            "USER" => {
                self.user = Some(arg.to_string());
                self.logged_in = false;
                self.reply(331, "Please specify the password.")?;
            }
            "PASS" => match self.user.clone() {
                None => self.reply(503, "Login with USER first.")?,
                Some(user) => {
                    let logins = &self.shared.config.logins;
                    let ok = if logins.is_empty() {
                        user == "anonymous"
                    } else {
                        logins.iter().any(|(u, p)| *u == user && p == arg)
                    };
                    if ok {
                        self.logged_in = true;
                        self.reply(230, "Login successful.")?;
                    } else {
                        self.user = None;
                        self.reply(530, "Login incorrect.")?;
                    }
                }
            },
            "FEAT" => {
                let mut body = "211-Features:\r\n".to_string();
                for f in self.shared.config.feat.iter().flatten() {
                    body.push_str(&format!(" {f}\r\n"));
                }
                body.push_str("211 End\r\n");
                self.send(&body)?;
            }
            "OPTS" => {
                if arg.trim().eq_ignore_ascii_case("UTF8 ON") {
                    self.reply(200, "Always in UTF8 mode.")?;
                } else {
                    self.reply(501, "Option not understood.")?;
                }
            }
            "SYST" => self.reply(215, "UNIX Type: L8")?,
            "HELP" => self.reply(214, "Help OK.")?,
            "NOOP" => self.reply(200, "NOOP ok.")?,
            "QUIT" => {
                self.reply(221, "Goodbye.")?;
                return Ok(Flow::Close);
            }
            "AUTH" => self.reply(500, "AUTH not understood")?,
            "PBSZ" | "PROT" => self.reply(503, "PBSZ and PROT need AUTH first.")?,
            "PWD" | "XPWD" => {
                let q = self.cwd.replace('"', "\"\"");
                self.send(&format!("257 \"{q}\" is the current directory\r\n"))?;
            }
            "CWD" | "XCWD" => {
                let target = resolve(&self.cwd, arg);
                if matches!(self.node(&target), Some(Node::Dir)) {
                    self.cwd = target;
                    self.reply(250, "Directory successfully changed.")?;
                } else {
                    self.reply(550, "Failed to change directory.")?;
                }
            }
            "CDUP" | "XCUP" => {
                self.cwd = parent(&self.cwd).to_string();
                self.reply(250, "Directory successfully changed.")?;
            }
            "TYPE" => match arg.trim().to_ascii_uppercase().as_str() {
                "A" | "A N" => {
                    self.ascii = true;
                    self.reply(200, "Switching to ASCII mode.")?;
                }
                "I" | "L 8" => {
                    self.ascii = false;
                    self.reply(200, "Switching to Binary mode.")?;
                }
                _ => self.reply(504, "Unrecognised TYPE command.")?,
            },
            "MODE" => self.only(arg, "S", "Mode set to S.")?,
            "STRU" => self.only(arg, "F", "Structure set to F.")?,
            "ALLO" => self.reply(202, "ALLO command ignored.")?,
            "ABOR" => self.reply(225, "No transfer to ABOR.")?,
            "SIZE" => match self.node(&resolve(&self.cwd, arg)) {
                Some(Node::File { data, .. }) => self.reply(213, &data.len().to_string())?,
                _ => self.reply(550, "Could not get file size.")?,
            },
            "MDTM" => match self.node(&resolve(&self.cwd, arg)) {
                Some(Node::File { mdtm, .. }) => self.reply(213, &mdtm)?,
                _ => self.reply(550, "Could not get file modification time.")?,
            },
            "MLST" => {
                let target = resolve(&self.cwd, if arg.is_empty() { "." } else { arg });
                match self.node(&target) {
                    Some(node) => {
                        let facts = mlsd_facts(&target, &node);
                        self.send(&format!("250-Listing {arg}\r\n {facts}\r\n250 End\r\n"))?;
                    }
                    None => self.reply(550, "No such file or directory.")?,
                }
            }
            "REST" => match arg.trim().parse::<u64>() {
                Ok(n) => {
                    self.rest = n;
                    self.reply(350, &format!("Restart position accepted ({n})."))?;
                }
                Err(_) => self.reply(501, "REST needs a number.")?,
            },
            "RETR" => return self.retr(arg),
            "STOR" | "APPE" => return self.store(arg, verb == "APPE"),
            "NLST" | "LIST" | "MLSD" => return self.listing(verb, arg),
            "DELE" => {
                let target = resolve(&self.cwd, arg);
                let mut st = lock(&self.shared.state);
                if matches!(st.fs.get(&target), Some(Node::File { .. })) {
                    st.fs.remove(&target);
                    st.deleted.push(display_path(&target));
                    drop(st);
                    self.reply(250, "Delete operation successful.")?;
                } else {
                    drop(st);
                    self.reply(550, "Delete operation failed.")?;
                }
            }
            "MKD" | "XMKD" => {
                let target = resolve(&self.cwd, arg);
                let mut st = lock(&self.shared.state);
                let ok = !st.fs.contains_key(&target)
                    && matches!(st.fs.get(parent(&target)), Some(Node::Dir));
                if ok {
                    st.fs.insert(target.clone(), Node::Dir);
                }
                drop(st);
                if ok {
                    let q = target.replace('"', "\"\"");
                    self.send(&format!("257 \"{q}\" created\r\n"))?;
                } else {
                    self.reply(550, "Create directory operation failed.")?;
                }
            }
            "RMD" | "XRMD" => {
                let target = resolve(&self.cwd, arg);
                let mut st = lock(&self.shared.state);
                let ok = matches!(st.fs.get(&target), Some(Node::Dir))
                    && target != "/"
                    && children(&st.fs, &target).is_empty();
                if ok {
                    st.fs.remove(&target);
                }
                drop(st);
                if ok {
                    self.reply(250, "Remove directory operation successful.")?;
                } else {
                    self.reply(550, "Remove directory operation failed.")?;
                }
            }
            "RNFR" => {
                let target = resolve(&self.cwd, arg);
                if self.node(&target).is_some() {
                    self.rename_from = Some(target);
                    self.reply(350, "Ready for RNTO.")?;
                } else {
                    self.reply(550, "RNFR command failed.")?;
                }
            }
            "RNTO" => match self.rename_from.take() {
                None => self.reply(503, "RNFR required first.")?,
                Some(from) => {
                    let to = resolve(&self.cwd, arg);
                    if self.rename(&from, &to) {
                        self.reply(250, "Rename successful.")?;
                    } else {
                        self.reply(550, "Rename failed.")?;
                    }
                }
            },
            "EPSV" => {
                let a = arg.trim();
                if a.eq_ignore_ascii_case("ALL") {
                    self.reply(200, "EPSV ALL ok.")?;
                } else if !a.is_empty() && a != "1" {
                    self.reply(522, "Network protocol not supported, use (1)")?;
                } else {
                    let l = TcpListener::bind("127.0.0.1:0")?;
                    let port = l.local_addr()?.port();
                    self.data = DataSetup::Passive(l);
                    self.reply(229, &format!("Entering Extended Passive Mode (|||{port}|)"))?;
                }
            }
            "PASV" => {
                let l = TcpListener::bind("127.0.0.1:0")?;
                let port = l.local_addr()?.port();
                self.data = DataSetup::Passive(l);
                let ip = self
                    .shared
                    .config
                    .pasv_address
                    .unwrap_or(Ipv4Addr::LOCALHOST)
                    .octets();
                self.reply(
                    227,
                    &format!(
                        "Entering Passive Mode ({},{},{},{},{},{})",
                        ip[0],
                        ip[1],
                        ip[2],
                        ip[3],
                        port >> 8,
                        port & 0xff
                    ),
                )?;
            }
            "PORT" => match parse_port(arg) {
                Some(addr) => {
                    self.data = DataSetup::Active(addr);
                    self.reply(200, "PORT command successful.")?;
                }
                None => self.reply(501, "Illegal PORT command.")?,
            },
            "EPRT" => match parse_eprt(arg) {
                Some(addr) => {
                    self.data = DataSetup::Active(addr);
                    self.reply(200, "EPRT command successful.")?;
                }
                None => self.reply(501, "Illegal EPRT command.")?,
            },
            _ => self.reply(500, "Unknown command")?,
        }
        Ok(Flow::Continue)
    }

    fn only(&mut self, arg: &str, value: &str, ok: &str) -> io::Result<()> {
        if arg.trim().eq_ignore_ascii_case(value) {
            self.reply(200, ok)
        } else {
            self.reply(504, "Bad parameter.")
        }
    }

    fn node(&self, abs: &str) -> Option<Node> {
        lock(&self.shared.state).fs.get(abs).cloned()
    }

    fn rename(&self, from: &str, to: &str) -> bool {
        let mut st = lock(&self.shared.state);
        if st.fs.contains_key(to)
            || !matches!(st.fs.get(parent(to)), Some(Node::Dir))
            || to.starts_with(&format!("{from}/"))
        {
            return false;
        }
        let moved: Vec<String> = st
            .fs
            .keys()
            .filter(|k| *k == from || k.starts_with(&format!("{from}/")))
            .cloned()
            .collect();
        for k in moved {
            if let Some(node) = st.fs.remove(&k) {
                st.fs.insert(format!("{to}{}", &k[from.len()..]), node);
            }
        }
        true
    }

    /// Opens the data connection set up by PASV/EPSV/PORT/EPRT (used once).
    fn open_data(&mut self) -> io::Result<Tracked> {
        let setup = std::mem::replace(&mut self.data, DataSetup::None);
        let stream = match setup {
            DataSetup::None => {
                return Err(io::Error::new(io::ErrorKind::NotConnected, "no PASV/PORT"));
            }
            DataSetup::Passive(l) => {
                l.set_nonblocking(true)?;
                let start = Instant::now();
                loop {
                    match l.accept() {
                        Ok((s, _)) => {
                            s.set_nonblocking(false)?;
                            break s;
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            if self.shared.stopped() || start.elapsed() > DATA_ACCEPT_TIMEOUT {
                                return Err(io::Error::new(io::ErrorKind::TimedOut, "accept"));
                            }
                            thread::sleep(POLL);
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
            DataSetup::Active(addr) => {
                let addr = addr
                    .to_socket_addrs()?
                    .next()
                    .ok_or_else(|| io::Error::other("no address"))?;
                TcpStream::connect_timeout(&addr, DATA_ACCEPT_TIMEOUT)?
            }
        };
        self.shared.track(stream)
    }

    /// 150, then the data connection; on failure replies 425 and returns None.
    fn start_transfer(&mut self, what: &str) -> io::Result<Option<Tracked>> {
        if matches!(self.data, DataSetup::None) {
            self.reply(425, "Use PORT or PASV first.")?;
            return Ok(None);
        }
        let mode = if self.ascii { "ASCII" } else { "BINARY" };
        self.reply(
            150,
            &format!("Opening {mode} mode data connection for {what}."),
        )?;
        match self.open_data() {
            Ok(d) => Ok(Some(d)),
            Err(_) => {
                self.reply(425, "Failed to establish connection.")?;
                Ok(None)
            }
        }
    }

    fn retr(&mut self, arg: &str) -> io::Result<Flow> {
        let mut rest = std::mem::take(&mut self.rest);
        if self.shared.config.ignore_rest {
            rest = 0;
        }
        let data = match self.node(&resolve(&self.cwd, arg)) {
            Some(Node::File { data, .. }) => data,
            _ => {
                self.reply(550, "No such file")?;
                return Ok(Flow::Continue);
            }
        };
        let start = (rest as usize).min(data.len());
        let wire = if self.ascii {
            lf_to_crlf(&data[start..])
        } else {
            data[start..].to_vec()
        };
        let drop_after = {
            let mut st = lock(&self.shared.state);
            match &self.shared.config.drop_data {
                Some(d) if !st.drop_used => {
                    st.drop_used = true;
                    Some(d.clone())
                }
                _ => None,
            }
        };
        let what = format!("{arg} ({} bytes)", data.len() - start);
        if self.shared.config.retr_without_preliminary {
            // The data goes out, but the reply skips "150": a client must not read it.
            let mut dc = self.open_data()?;
            let _ = dc.stream.write_all(&wire);
            drop(dc);
            self.reply(226, "Transfer complete.")?;
            return Ok(Flow::Continue);
        }
        let Some(mut dc) = self.start_transfer(&what)? else {
            return Ok(Flow::Continue);
        };
        if self.shared.config.stall_data {
            self.shared.set_activity(self.conn, |a| a.stalled = true);
            self.shared.park();
            return Ok(Flow::Close);
        }
        if let Some((n, final_reply)) = drop_after {
            let _ = dc.stream.write_all(&wire[..n.min(wire.len())]);
            let _ = dc.stream.flush();
            let _ = dc.stream.shutdown(Shutdown::Both);
            drop(dc);
            return match final_reply {
                Some(r) => {
                    self.send(&r)?;
                    Ok(Flow::Continue)
                }
                None => {
                    let _ = self.control.stream.shutdown(Shutdown::Both);
                    Ok(Flow::Close)
                }
            };
        }
        let sent = dc.stream.write_all(&wire).and_then(|()| dc.stream.flush());
        drop(dc);
        match sent {
            Ok(()) => self.reply(226, "Transfer complete.")?,
            Err(_) => self.reply(426, "Connection closed; transfer aborted.")?,
        }
        Ok(Flow::Continue)
    }

    fn store(&mut self, arg: &str, append: bool) -> io::Result<Flow> {
        let rest = std::mem::take(&mut self.rest) as usize;
        let target = resolve(&self.cwd, arg);
        let existing = match self.node(&target) {
            Some(Node::Dir) => {
                self.reply(553, "Could not create file.")?;
                return Ok(Flow::Continue);
            }
            Some(Node::File { data, .. }) => Some(data),
            None => None,
        };
        if !matches!(self.node(parent(&target)), Some(Node::Dir)) {
            self.reply(553, "Could not create file.")?;
            return Ok(Flow::Continue);
        }
        let Some(mut dc) = self.start_transfer(arg)? else {
            return Ok(Flow::Continue);
        };
        let mut received = Vec::new();
        let read = dc.stream.read_to_end(&mut received);
        drop(dc);
        if read.is_err() {
            self.reply(426, "Connection closed; transfer aborted.")?;
            return Ok(Flow::Continue);
        }
        if self.ascii {
            received = crlf_to_lf(&received);
        }
        let mut contents = existing.unwrap_or_default();
        if append {
            contents.extend_from_slice(&received);
        } else if rest > 0 {
            contents.truncate(rest.min(contents.len()));
            contents.extend_from_slice(&received);
        } else {
            contents = received;
        }
        {
            let mut st = lock(&self.shared.state);
            st.fs.insert(
                target.clone(),
                Node::File {
                    data: contents.clone(),
                    mdtm: DEFAULT_MDTM.to_string(),
                },
            );
            st.uploaded.insert(target, contents);
        }
        self.reply(226, "Transfer complete.")?;
        Ok(Flow::Continue)
    }

    fn listing(&mut self, verb: &str, arg: &str) -> io::Result<Flow> {
        if let Some(body) = self.shared.config.listings.get(verb).cloned() {
            let Some(mut dc) = self.start_transfer("directory listing")? else {
                return Ok(Flow::Continue);
            };
            let sent = dc.stream.write_all(&body).and_then(|()| dc.stream.flush());
            drop(dc);
            match sent {
                Ok(()) => self.reply(226, "Directory send OK.")?,
                Err(_) => self.reply(426, "Connection closed; transfer aborted.")?,
            }
            return Ok(Flow::Continue);
        }
        let arg = strip_list_options(arg);
        let target = resolve(&self.cwd, arg);
        let body = match self.node(&target) {
            None => {
                self.reply(550, "No such file or directory.")?;
                return Ok(Flow::Continue);
            }
            Some(Node::File { .. }) if verb == "MLSD" => {
                self.reply(501, "MLSD needs a directory.")?;
                return Ok(Flow::Continue);
            }
            Some(node @ Node::File { .. }) => match verb {
                "NLST" => format!("{arg}\r\n"),
                _ => format!("{}\r\n", ls_line(base_name(&target), &node)),
            },
            Some(Node::Dir) => {
                let entries = children(&lock(&self.shared.state).fs, &target);
                let mut out = String::new();
                if verb == "MLSD" {
                    out.push_str(&format!("type=cdir;modify={DEFAULT_MDTM}; .\r\n"));
                    out.push_str(&format!("type=pdir;modify={DEFAULT_MDTM}; ..\r\n"));
                }
                for (name, node) in entries {
                    let line = match verb {
                        "NLST" => name,
                        "LIST" => ls_line(&name, &node),
                        _ => mlsd_facts(&name, &node),
                    };
                    out.push_str(&line);
                    out.push_str("\r\n");
                }
                out
            }
        };
        let Some(mut dc) = self.start_transfer("directory listing")? else {
            return Ok(Flow::Continue);
        };
        let sent = dc
            .stream
            .write_all(body.as_bytes())
            .and_then(|()| dc.stream.flush());
        drop(dc);
        match sent {
            Ok(()) => self.reply(226, "Directory send OK.")?,
            Err(_) => self.reply(426, "Connection closed; transfer aborted.")?,
        }
        Ok(Flow::Continue)
    }
}
