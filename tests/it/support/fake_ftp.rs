//! A scriptable fake FTP server for integration tests (std only).
//!
//! Modelled on curl's `tests/ftpserver.pl`: a small, correct server (RFC 959, 2389, 2428, 3659)
//! whose replies can be replaced per verb, so tests can cover what real servers will not do on
//! demand: a wrong PASV address, replies split into 1-byte writes, a drop mid-transfer, a stall.
//!
//! FTP is a command table and its data connections on top of `fake_server`, which does the
//! listening, the scripted replies, the stalls and the transcript: every command line the
//! server receives is kept, in order, across all connections, so a test can state the exact
//! transcript a client produced.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

pub use super::fake_server::MAX_LINE;
use super::fake_server::{self, Command, Ctx, Flow, POLL, Protocol, Server, Tracked, lock};

/// The folder a session starts in; `Builder::file` paths are relative to it.
pub const HOME: &str = "/home/u";
/// The modification time reported for files and folders without one of their own.
pub const DEFAULT_MDTM: &str = "20200102030405";

/// How long a transfer command waits for the client to reach the passive port.
const DATA_ACCEPT_TIMEOUT: Duration = Duration::from_secs(5);

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

/// Describes the server before it starts: files, credentials and scripted misbehaviour. The
/// protocol-neutral part (`greeting`, `reply`, `reply_once`, `reply_then_close`, `bytewise`,
/// `drip`, `stall_on`, `hold`, `greeting_forever`, `max_connections`, `ipv6`) is
/// `fake_server`'s.
pub type Builder = fake_server::Builder<Setup>;

/// A running fake server. Dropping it stops every thread and closes every socket.
pub struct FakeFtp {
    server: Server<Ftp>,
}

/// What only FTP needs to know before the server starts.
#[derive(Clone, Debug, Default)]
pub struct Setup {
    files: Vec<(String, Node)>,
    logins: Vec<(String, String)>,
    feat: Option<Vec<String>>,
    pasv_address: Option<Ipv4Addr>,
    drop_data: Option<(usize, Option<String>)>,
    drop_upload: Option<usize>,
    stall_data: bool,
    /// Features removed from the default FEAT body by `no_epsv`, `no_size`, ...
    unadvertised: Vec<&'static str>,
    ignore_rest: bool,
    retr_without_preliminary: bool,
    listings: std::collections::HashMap<String, Vec<u8>>,
    drip_data: Option<Duration>,
}

#[derive(Clone, Debug)]
enum Node {
    Dir,
    File { data: Vec<u8>, mdtm: String },
}

/// The FTP server's shared state: its settings and its virtual file system.
pub struct Ftp {
    logins: Vec<(String, String)>,
    feat: Vec<String>,
    pasv_address: Option<Ipv4Addr>,
    drop_data: Option<(usize, Option<String>)>,
    drop_upload: Option<usize>,
    stall_data: bool,
    ignore_rest: bool,
    retr_without_preliminary: bool,
    listings: std::collections::HashMap<String, Vec<u8>>,
    drip_data: Option<Duration>,
    state: Mutex<State>,
}

struct State {
    fs: BTreeMap<String, Node>,
    uploaded: BTreeMap<String, Vec<u8>>,
    deleted: Vec<String>,
    drop_used: bool,
    drop_upload_used: bool,
}

impl Ftp {
    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }
}

impl FakeFtp {
    pub fn builder() -> Builder {
        Builder::new(Setup::default(), "220 fake ftp ready\r\n")
    }

    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// `ftp://127.0.0.1:PORT/path`; per RFC 1738 the path is relative to the login folder.
    pub fn url(&self, path: &str) -> String {
        format!(
            "ftp://127.0.0.1:{}/{}",
            self.port(),
            path.trim_start_matches('/')
        )
    }

    /// Every command line received, all connections, in arrival order, without CRLF.
    pub fn transcript(&self) -> Vec<String> {
        self.server.transcript()
    }

    /// The command lines of one control connection (numbered from 0 in accept order).
    pub fn transcript_of(&self, connection: usize) -> Vec<String> {
        self.server.transcript_of(connection)
    }

    /// How many control connections were accepted (refused ones included).
    pub fn connections(&self) -> usize {
        self.server.connections()
    }

    /// The transcript lines whose verb is `verb` (case-insensitive).
    pub fn commands(&self, verb: &str) -> Vec<String> {
        self.server.commands(verb)
    }

    /// The last contents stored by STOR/APPE at `path` (relative to the login folder, or
    /// absolute).
    pub fn uploaded(&self, path: &str) -> Option<Vec<u8>> {
        self.server.settle();
        self.server
            .protocol()
            .state()
            .uploaded
            .get(&resolve(HOME, path))
            .cloned()
    }

    /// The current contents of a virtual file (uploads and renames included).
    pub fn file(&self, path: &str) -> Option<Vec<u8>> {
        self.server.settle();
        match self.server.protocol().state().fs.get(&resolve(HOME, path)) {
            Some(Node::File { data, .. }) => Some(data.clone()),
            _ => None,
        }
    }

    /// How many `verb` commands `Builder::hold` has held.
    pub fn held(&self, verb: &str) -> usize {
        self.server.held(verb)
    }

    /// Waits until `n` `verb` commands are held (`Builder::hold`).
    pub fn wait_held(&self, verb: &str, n: usize) {
        self.server.wait_held(verb, n)
    }

    /// Lets the held commands be answered.
    pub fn release(&self, verb: &str) {
        self.server.release(verb)
    }

    /// The names in a virtual folder (relative to the login folder, or absolute), sorted.
    pub fn names(&self, dir: &str) -> Vec<String> {
        self.server.settle();
        children(&self.server.protocol().state().fs, &resolve(HOME, dir))
            .into_iter()
            .map(|(name, _)| name)
            .collect()
    }

    /// Paths removed by DELE, relative to the login folder when inside it, else absolute.
    pub fn deleted(&self) -> Vec<String> {
        self.server.settle();
        self.server.protocol().state().deleted.clone()
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
        self.proto.files.push((path.to_string(), node));
        self
    }

    /// A (possibly empty) folder; parents implied.
    pub fn dir(mut self, path: &str) -> Self {
        self.proto.files.push((path.to_string(), Node::Dir));
        self
    }

    /// Accept these credentials. May be called several times. Without it only "anonymous"
    /// (any password) is accepted; with it anonymous is refused.
    pub fn login(mut self, user: &str, pass: &str) -> Self {
        self.proto.logins.push((user.to_string(), pass.to_string()));
        self
    }

    /// The FEAT body, one feature per entry (without the leading space).
    pub fn feat(mut self, lines: &[&str]) -> Self {
        self.proto.feat = Some(lines.iter().map(|s| s.to_string()).collect());
        self
    }

    /// FEAT -> "502 Command not implemented."
    pub fn no_feat(self) -> Self {
        self.reply("FEAT", "502 Command not implemented.\r\n")
    }

    /// Advertise `ip` in PASV replies while listening on 127.0.0.1.
    pub fn pasv_address(mut self, ip: &str) -> Self {
        self.proto.pasv_address = Some(ip.parse().expect("pasv_address: an IPv4 address"));
        self
    }

    /// EPSV -> "500 EPSV not understood" (and EPSV leaves the default FEAT body).
    pub fn no_epsv(mut self) -> Self {
        self.proto.unadvertised.push("EPSV");
        self.reply("EPSV", "500 EPSV not understood\r\n")
    }

    /// EPRT -> "500 EPRT not understood".
    pub fn no_eprt(self) -> Self {
        self.reply("EPRT", "500 EPRT not understood\r\n")
    }

    /// REST -> "502 REST not implemented" (and REST STREAM leaves the default FEAT body).
    pub fn refuse_rest(mut self) -> Self {
        self.proto.unadvertised.push("REST STREAM");
        self.reply("REST", "502 REST not implemented\r\n")
    }

    /// SIZE -> "500 SIZE not understood" (and SIZE leaves the default FEAT body).
    pub fn no_size(mut self) -> Self {
        self.proto.unadvertised.push("SIZE");
        self.reply("SIZE", "500 SIZE not understood\r\n")
    }

    /// The first RETR (across connections) sends only `n` bytes, then closes the data
    /// connection, then sends `final_reply` on the control connection — or, with `None`,
    /// closes the control connection too without a reply.
    pub fn drop_data_after(mut self, n: usize, final_reply: Option<&str>) -> Self {
        self.proto.drop_data = Some((n, final_reply.map(str::to_string)));
        self
    }

    /// The first STOR or APPE (across connections) keeps only the first `n` bytes it
    /// receives (as a server does with an upload cut short), closes the data connection,
    /// and answers 426.
    pub fn drop_upload_after(mut self, n: usize) -> Self {
        self.proto.drop_upload = Some(n);
        self
    }

    /// RETR sends 150, opens the data connection, then sends nothing and never closes it;
    /// STOR reads nothing.
    pub fn stall_data(mut self) -> Self {
        self.proto.stall_data = true;
        self
    }

    /// Files and listings go out over the data connection one byte every `every` (a server
    /// that trickles data just fast enough never to time out).
    pub fn drip_data(mut self, every: Duration) -> Self {
        self.proto.drip_data = Some(every);
        self
    }

    /// REST is answered 350, but RETR sends the file from its first byte anyway.
    pub fn ignore_rest(mut self) -> Self {
        self.proto.ignore_rest = true;
        self
    }

    /// RETR sends the file over the data connection but answers "226" with no "150" first.
    pub fn retr_without_preliminary(mut self) -> Self {
        self.proto.retr_without_preliminary = true;
        self
    }

    /// `verb` (NLST, MLSD or LIST) sends exactly `body` as the listing, whatever the folder.
    pub fn listing(mut self, verb: &str, body: impl Into<Vec<u8>>) -> Self {
        self.proto
            .listings
            .insert(verb.to_ascii_uppercase(), body.into());
        self
    }

    pub fn start(self) -> FakeFtp {
        FakeFtp {
            server: self.launch(Ftp::new),
        }
    }
}

impl Ftp {
    fn new(setup: Setup) -> Ftp {
        let mut fs = BTreeMap::new();
        add_dirs(&mut fs, HOME);
        for (path, node) in setup.files {
            let abs = resolve(HOME, &path);
            add_dirs(&mut fs, parent(&abs));
            match node {
                Node::Dir => add_dirs(&mut fs, &abs),
                file => {
                    fs.insert(abs, file);
                }
            }
        }
        let feat = match setup.feat {
            Some(f) => f,
            None => default_feat()
                .into_iter()
                .filter(|f| !setup.unadvertised.contains(&f.as_str()))
                .collect(),
        };
        Ftp {
            logins: setup.logins,
            feat,
            pasv_address: setup.pasv_address,
            drop_data: setup.drop_data,
            drop_upload: setup.drop_upload,
            stall_data: setup.stall_data,
            ignore_rest: setup.ignore_rest,
            retr_without_preliminary: setup.retr_without_preliminary,
            listings: setup.listings,
            drip_data: setup.drip_data,
            state: Mutex::new(State {
                fs,
                uploaded: BTreeMap::new(),
                deleted: Vec::new(),
                drop_used: false,
                drop_upload_used: false,
            }),
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
// The protocol: a session per control connection and the command table.

enum DataSetup {
    None,
    Passive(TcpListener),
    Active(SocketAddr),
}

pub struct Session {
    cwd: String,
    user: Option<String>,
    logged_in: bool,
    ascii: bool,
    rest: u64,
    rename_from: Option<String>,
    data: DataSetup,
}

/// What may be sent before USER and PASS succeeded; the rest of the table gets 530.
const BEFORE_LOGIN: &[&str] = &[
    "USER", "PASS", "QUIT", "FEAT", "SYST", "NOOP", "AUTH", "PBSZ", "PROT", "OPTS", "HELP",
];

macro_rules! table {
    ($($($verb:literal)|+ => $run:expr,)*) => {
        &[$(Command { verbs: &[$($verb),+], run: $run },)*]
    };
}

impl Protocol for Ftp {
    type Session = Session;

    const COMMANDS: &'static [Command<Self>] = table! {
        "USER" => user,
        "PASS" => pass,
        "FEAT" => feat,
        "OPTS" => opts,
        "SYST" => |c, _| done(c.reply(215, "UNIX Type: L8")),
        "HELP" => |c, _| done(c.reply(214, "Help OK.")),
        "NOOP" => |c, _| done(c.reply(200, "NOOP ok.")),
        "QUIT" => quit,
        "AUTH" => |c, _| done(c.reply(500, "AUTH not understood")),
        "PBSZ" | "PROT" => |c, _| done(c.reply(503, "PBSZ and PROT need AUTH first.")),
        "PWD" | "XPWD" => pwd,
        "CWD" | "XCWD" => cwd,
        "CDUP" | "XCUP" => cdup,
        "TYPE" => type_,
        "MODE" => |c, arg| done(c.only(arg, "S", "Mode set to S.")),
        "STRU" => |c, arg| done(c.only(arg, "F", "Structure set to F.")),
        "ALLO" => |c, _| done(c.reply(202, "ALLO command ignored.")),
        "ABOR" => |c, _| done(c.reply(225, "No transfer to ABOR.")),
        "SIZE" => size,
        "MDTM" => mdtm,
        "MFMT" => mfmt,
        "MLST" => mlst,
        "REST" => rest,
        "RETR" => retr,
        "STOR" => |c, arg| store(c, arg, false),
        "APPE" => |c, arg| store(c, arg, true),
        "NLST" => |c, arg| listing(c, "NLST", arg),
        "LIST" => |c, arg| listing(c, "LIST", arg),
        "MLSD" => |c, arg| listing(c, "MLSD", arg),
        "DELE" => dele,
        "MKD" | "XMKD" => mkd,
        "RMD" | "XRMD" => rmd,
        "RNFR" => rnfr,
        "RNTO" => rnto,
        "EPSV" => epsv,
        "PASV" => pasv,
        "PORT" => |c, arg| active(c, "PORT", parse_port(arg)),
        "EPRT" => |c, arg| active(c, "EPRT", parse_eprt(arg)),
    };
    const LINE_TOO_LONG: &'static str = "500 Command line too long.\r\n";
    const UNKNOWN: &'static str = "500 Unknown command\r\n";
    const TOO_MANY: &'static str = "421 Too many connections\r\n";

    fn session(&self) -> Session {
        Session {
            cwd: HOME.to_string(),
            user: None,
            logged_in: false,
            ascii: false,
            rest: 0,
            rename_from: None,
            data: DataSetup::None,
        }
    }

    /// A server that greets with 4xx or 5xx closes the connection.
    fn greeting_continues(&self, greeting: &str) -> bool {
        !(greeting.starts_with('4') || greeting.starts_with('5'))
    }

    fn before(&self, c: &mut Ctx<'_, Self>, verb: &str) -> io::Result<Option<Flow>> {
        if c.session.logged_in || BEFORE_LOGIN.contains(&verb) {
            return Ok(None);
        }
        if !Self::COMMANDS.iter().any(|cmd| cmd.verbs.contains(&verb)) {
            return Ok(None);
        }
        c.reply(530, "Please login with USER and PASS.")?;
        Ok(Some(Flow::Continue))
    }

    /// A scripted 230 to USER or PASS logs the session in.
    fn scripted(&self, session: &mut Session, verb: &str, raw: &str) {
        if (verb == "USER" || verb == "PASS") && raw.starts_with("230") {
            session.logged_in = true;
        }
    }
}

/// A handler's result when the command was answered and the session goes on.
fn done(sent: io::Result<()>) -> io::Result<Flow> {
    sent.map(|()| Flow::Continue)
}

impl Ctx<'_, Ftp> {
    fn reply(&mut self, code: u16, text: &str) -> io::Result<()> {
        self.send(&format!("{code} {text}\r\n"))
    }

    fn only(&mut self, arg: &str, value: &str, ok: &str) -> io::Result<()> {
        if arg.trim().eq_ignore_ascii_case(value) {
            self.reply(200, ok)
        } else {
            self.reply(504, "Bad parameter.")
        }
    }

    /// `arg` resolved against the current folder.
    fn path(&self, arg: &str) -> String {
        resolve(&self.session.cwd, arg)
    }

    fn node(&self, abs: &str) -> Option<Node> {
        self.server.state().fs.get(abs).cloned()
    }

    fn rename(&self, from: &str, to: &str) -> bool {
        let mut st = self.server.state();
        // As rename(2) does: a file replaces a file; nothing replaces a folder.
        let replaces_file = matches!(st.fs.get(from), Some(Node::File { .. }))
            && matches!(st.fs.get(to), Some(Node::File { .. }));
        if (st.fs.contains_key(to) && !replaces_file)
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
        let setup = std::mem::replace(&mut self.session.data, DataSetup::None);
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
                            if self.stopped() || start.elapsed() > DATA_ACCEPT_TIMEOUT {
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
        self.track(stream)
    }

    /// 150, then the data connection; on failure replies 425 and returns None.
    fn start_transfer(&mut self, what: &str) -> io::Result<Option<Tracked>> {
        if matches!(self.session.data, DataSetup::None) {
            self.reply(425, "Use PORT or PASV first.")?;
            return Ok(None);
        }
        let mode = if self.session.ascii {
            "ASCII"
        } else {
            "BINARY"
        };
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

    /// Sends `body` over a fresh data connection, then 226 (or 426 if it broke).
    fn send_listing(&mut self, body: &[u8]) -> io::Result<Flow> {
        let Some(mut dc) = self.start_transfer("directory listing")? else {
            return Ok(Flow::Continue);
        };
        let sent = write_data(&mut dc.stream, body, self.server.drip_data);
        drop(dc);
        match sent {
            Ok(()) => self.reply(226, "Directory send OK.")?,
            Err(_) => self.reply(426, "Connection closed; transfer aborted.")?,
        }
        Ok(Flow::Continue)
    }
}

type C<'a, 'b> = &'a mut Ctx<'b, Ftp>;

/// Writes `data` to a data connection: whole, or one byte every `drip`.
fn write_data(stream: &mut impl Write, data: &[u8], drip: Option<Duration>) -> io::Result<()> {
    match drip {
        None => stream.write_all(data),
        Some(every) => data.iter().try_for_each(|b| {
            thread::sleep(every);
            stream.write_all(std::slice::from_ref(b))?;
            stream.flush()
        }),
    }
    .and_then(|()| stream.flush())
}

fn user(c: C, arg: &str) -> io::Result<Flow> {
    c.session.user = Some(arg.to_string());
    c.session.logged_in = false;
    done(c.reply(331, "Please specify the password."))
}

fn pass(c: C, arg: &str) -> io::Result<Flow> {
    let Some(user) = c.session.user.clone() else {
        return done(c.reply(503, "Login with USER first."));
    };
    let logins = &c.server.logins;
    let ok = if logins.is_empty() {
        user == "anonymous"
    } else {
        logins.iter().any(|(u, p)| *u == user && p == arg)
    };
    if ok {
        c.session.logged_in = true;
        done(c.reply(230, "Login successful."))
    } else {
        c.session.user = None;
        done(c.reply(530, "Login incorrect."))
    }
}

fn feat(c: C, _: &str) -> io::Result<Flow> {
    let mut body = "211-Features:\r\n".to_string();
    for f in &c.server.feat {
        body.push_str(&format!(" {f}\r\n"));
    }
    body.push_str("211 End\r\n");
    done(c.send(&body))
}

fn opts(c: C, arg: &str) -> io::Result<Flow> {
    if arg.trim().eq_ignore_ascii_case("UTF8 ON") {
        done(c.reply(200, "Always in UTF8 mode."))
    } else {
        done(c.reply(501, "Option not understood."))
    }
}

fn quit(c: C, _: &str) -> io::Result<Flow> {
    c.reply(221, "Goodbye.")?;
    Ok(Flow::Close)
}

fn pwd(c: C, _: &str) -> io::Result<Flow> {
    let q = c.session.cwd.replace('"', "\"\"");
    done(c.send(&format!("257 \"{q}\" is the current directory\r\n")))
}

fn cwd(c: C, arg: &str) -> io::Result<Flow> {
    let target = c.path(arg);
    if matches!(c.node(&target), Some(Node::Dir)) {
        c.session.cwd = target;
        done(c.reply(250, "Directory successfully changed."))
    } else {
        done(c.reply(550, "Failed to change directory."))
    }
}

fn cdup(c: C, _: &str) -> io::Result<Flow> {
    c.session.cwd = parent(&c.session.cwd).to_string();
    done(c.reply(250, "Directory successfully changed."))
}

fn type_(c: C, arg: &str) -> io::Result<Flow> {
    match arg.trim().to_ascii_uppercase().as_str() {
        "A" | "A N" => {
            c.session.ascii = true;
            done(c.reply(200, "Switching to ASCII mode."))
        }
        "I" | "L 8" => {
            c.session.ascii = false;
            done(c.reply(200, "Switching to Binary mode."))
        }
        _ => done(c.reply(504, "Unrecognised TYPE command.")),
    }
}

fn size(c: C, arg: &str) -> io::Result<Flow> {
    match c.node(&c.path(arg)) {
        Some(Node::File { data, .. }) => done(c.reply(213, &data.len().to_string())),
        _ => done(c.reply(550, "Could not get file size.")),
    }
}

fn mdtm(c: C, arg: &str) -> io::Result<Flow> {
    match c.node(&c.path(arg)) {
        Some(Node::File { mdtm, .. }) => done(c.reply(213, &mdtm)),
        _ => done(c.reply(550, "Could not get file modification time.")),
    }
}

/// MFMT YYYYMMDDHHMMSS path: sets a file's modification time.
fn mfmt(c: C, arg: &str) -> io::Result<Flow> {
    let Some((stamp, path)) = arg.split_once(' ') else {
        return done(c.reply(501, "MFMT needs a time and a path."));
    };
    if stamp.len() != 14 || !stamp.bytes().all(|b| b.is_ascii_digit()) {
        return done(c.reply(501, "Bad time."));
    }
    let target = c.path(path);
    let set = match c.server.state().fs.get_mut(&target) {
        Some(Node::File { mdtm, .. }) => {
            *mdtm = stamp.to_string();
            true
        }
        _ => false,
    };
    if set {
        done(c.reply(213, &format!("Modify={stamp}; {path}")))
    } else {
        done(c.reply(550, "No such file."))
    }
}

fn mlst(c: C, arg: &str) -> io::Result<Flow> {
    let target = c.path(if arg.is_empty() { "." } else { arg });
    match c.node(&target) {
        Some(node) => {
            let facts = mlsd_facts(&target, &node);
            done(c.send(&format!("250-Listing {arg}\r\n {facts}\r\n250 End\r\n")))
        }
        None => done(c.reply(550, "No such file or directory.")),
    }
}

fn rest(c: C, arg: &str) -> io::Result<Flow> {
    match arg.trim().parse::<u64>() {
        Ok(n) => {
            c.session.rest = n;
            done(c.reply(350, &format!("Restart position accepted ({n}).")))
        }
        Err(_) => done(c.reply(501, "REST needs a number.")),
    }
}

fn dele(c: C, arg: &str) -> io::Result<Flow> {
    let target = c.path(arg);
    let removed = {
        let mut st = c.server.state();
        let is_file = matches!(st.fs.get(&target), Some(Node::File { .. }));
        if is_file {
            st.fs.remove(&target);
            st.deleted.push(display_path(&target));
        }
        is_file
    };
    if removed {
        done(c.reply(250, "Delete operation successful."))
    } else {
        done(c.reply(550, "Delete operation failed."))
    }
}

fn mkd(c: C, arg: &str) -> io::Result<Flow> {
    let target = c.path(arg);
    let ok = {
        let mut st = c.server.state();
        let ok =
            !st.fs.contains_key(&target) && matches!(st.fs.get(parent(&target)), Some(Node::Dir));
        if ok {
            st.fs.insert(target.clone(), Node::Dir);
        }
        ok
    };
    if ok {
        let q = target.replace('"', "\"\"");
        done(c.send(&format!("257 \"{q}\" created\r\n")))
    } else {
        done(c.reply(550, "Create directory operation failed."))
    }
}

fn rmd(c: C, arg: &str) -> io::Result<Flow> {
    let target = c.path(arg);
    let ok = {
        let mut st = c.server.state();
        let ok = matches!(st.fs.get(&target), Some(Node::Dir))
            && target != "/"
            && children(&st.fs, &target).is_empty();
        if ok {
            st.fs.remove(&target);
        }
        ok
    };
    if ok {
        done(c.reply(250, "Remove directory operation successful."))
    } else {
        done(c.reply(550, "Remove directory operation failed."))
    }
}

fn rnfr(c: C, arg: &str) -> io::Result<Flow> {
    let target = c.path(arg);
    if c.node(&target).is_some() {
        c.session.rename_from = Some(target);
        done(c.reply(350, "Ready for RNTO."))
    } else {
        done(c.reply(550, "RNFR command failed."))
    }
}

fn rnto(c: C, arg: &str) -> io::Result<Flow> {
    let Some(from) = c.session.rename_from.take() else {
        return done(c.reply(503, "RNFR required first."));
    };
    let to = c.path(arg);
    if c.rename(&from, &to) {
        done(c.reply(250, "Rename successful."))
    } else {
        done(c.reply(550, "Rename failed."))
    }
}

/// EPSV listens at the address the client reached the control connection at (127.0.0.1,
/// or ::1 for a server started with `ipv6()`).
fn epsv(c: C, arg: &str) -> io::Result<Flow> {
    let a = arg.trim();
    if a.eq_ignore_ascii_case("ALL") {
        return done(c.reply(200, "EPSV ALL ok."));
    }
    let ip = c.local_addr()?.ip();
    let protocol = if ip.is_ipv4() { "1" } else { "2" };
    if !a.is_empty() && a != protocol {
        return done(c.reply(
            522,
            &format!("Network protocol not supported, use ({protocol})"),
        ));
    }
    let l = TcpListener::bind((ip, 0))?;
    let port = l.local_addr()?.port();
    c.session.data = DataSetup::Passive(l);
    done(c.reply(229, &format!("Entering Extended Passive Mode (|||{port}|)")))
}

fn pasv(c: C, _: &str) -> io::Result<Flow> {
    let l = TcpListener::bind("127.0.0.1:0")?;
    let port = l.local_addr()?.port();
    c.session.data = DataSetup::Passive(l);
    let ip = c
        .server
        .pasv_address
        .unwrap_or(Ipv4Addr::LOCALHOST)
        .octets();
    done(c.reply(
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
    ))
}

/// PORT and EPRT: the server will connect to `addr` for the next transfer.
fn active(c: C, verb: &str, addr: Option<SocketAddr>) -> io::Result<Flow> {
    match addr {
        Some(addr) => {
            c.session.data = DataSetup::Active(addr);
            done(c.reply(200, &format!("{verb} command successful.")))
        }
        None => done(c.reply(501, &format!("Illegal {verb} command."))),
    }
}

fn retr(c: C, arg: &str) -> io::Result<Flow> {
    let mut rest = std::mem::take(&mut c.session.rest);
    if c.server.ignore_rest {
        rest = 0;
    }
    let data = match c.node(&c.path(arg)) {
        Some(Node::File { data, .. }) => data,
        _ => return done(c.reply(550, "No such file")),
    };
    let start = (rest as usize).min(data.len());
    let wire = if c.session.ascii {
        lf_to_crlf(&data[start..])
    } else {
        data[start..].to_vec()
    };
    let drop_after = {
        let mut st = c.server.state();
        match &c.server.drop_data {
            Some(d) if !st.drop_used => {
                st.drop_used = true;
                Some(d.clone())
            }
            _ => None,
        }
    };
    let what = format!("{arg} ({} bytes)", data.len() - start);
    if c.server.retr_without_preliminary {
        // The data goes out, but the reply skips "150": a client must not read it.
        let mut dc = c.open_data()?;
        let _ = dc.stream.write_all(&wire);
        drop(dc);
        return done(c.reply(226, "Transfer complete."));
    }
    let Some(mut dc) = c.start_transfer(&what)? else {
        return Ok(Flow::Continue);
    };
    if c.server.stall_data {
        c.stall();
        return Ok(Flow::Close);
    }
    if let Some((n, final_reply)) = drop_after {
        let _ = dc.stream.write_all(&wire[..n.min(wire.len())]);
        let _ = dc.stream.flush();
        let _ = dc.stream.shutdown(Shutdown::Both);
        drop(dc);
        return match final_reply {
            Some(r) => done(c.send(&r)),
            None => {
                c.close_control();
                Ok(Flow::Close)
            }
        };
    }
    let sent = write_data(&mut dc.stream, &wire, c.server.drip_data);
    drop(dc);
    match sent {
        Ok(()) => done(c.reply(226, "Transfer complete.")),
        Err(_) => done(c.reply(426, "Connection closed; transfer aborted.")),
    }
}

fn store(c: C, arg: &str, append: bool) -> io::Result<Flow> {
    let rest = std::mem::take(&mut c.session.rest) as usize;
    let target = c.path(arg);
    let existing = match c.node(&target) {
        Some(Node::Dir) => return done(c.reply(553, "Could not create file.")),
        Some(Node::File { data, .. }) => Some(data),
        None => None,
    };
    if !matches!(c.node(parent(&target)), Some(Node::Dir)) {
        return done(c.reply(553, "Could not create file."));
    }
    let Some(mut dc) = c.start_transfer(arg)? else {
        return Ok(Flow::Continue);
    };
    if c.server.stall_data {
        c.stall();
        return Ok(Flow::Close);
    }
    let cut = match c.server.drop_upload {
        Some(n) if !std::mem::replace(&mut c.server.state().drop_upload_used, true) => Some(n),
        _ => None,
    };
    let mut received = Vec::new();
    let read = match cut {
        Some(n) => (&mut dc.stream)
            .take(n as u64)
            .read_to_end(&mut received)
            .map(|_| ()),
        None => dc.stream.read_to_end(&mut received).map(|_| ()),
    };
    drop(dc);
    if read.is_err() {
        return done(c.reply(426, "Connection closed; transfer aborted."));
    }
    if c.session.ascii {
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
        let mut st = c.server.state();
        st.fs.insert(
            target.clone(),
            Node::File {
                data: contents.clone(),
                mdtm: DEFAULT_MDTM.to_string(),
            },
        );
        st.uploaded.insert(target, contents);
    }
    if cut.is_some() {
        return done(c.reply(426, "Connection closed; transfer aborted."));
    }
    done(c.reply(226, "Transfer complete."))
}

fn listing(c: C, verb: &str, arg: &str) -> io::Result<Flow> {
    if let Some(body) = c.server.listings.get(verb).cloned() {
        return c.send_listing(&body);
    }
    let arg = strip_list_options(arg);
    let target = c.path(arg);
    let body = match c.node(&target) {
        None => return done(c.reply(550, "No such file or directory.")),
        Some(Node::File { .. }) if verb == "MLSD" => {
            return done(c.reply(501, "MLSD needs a directory."));
        }
        Some(node @ Node::File { .. }) => match verb {
            "NLST" => format!("{arg}\r\n"),
            _ => format!("{}\r\n", ls_line(base_name(&target), &node)),
        },
        Some(Node::Dir) => {
            let entries = children(&c.server.state().fs, &target);
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
    c.send_listing(body.as_bytes())
}
