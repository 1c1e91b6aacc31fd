//! A scriptable fake SMTP server for integration tests (std only), on the protocol-neutral
//! core (`fake_server`): EHLO with a chosen list of extensions, MAIL, RCPT (with refusals
//! per address), DATA (the data kept exactly as it came over the wire, and only taken as a
//! message at CRLF `.` CRLF), RSET, NOOP, QUIT, AUTH PLAIN/LOGIN against one login.
//! STARTTLS is refused (454) unless scripted with `reply` (the injection tests script it).
//!
//! Every command line is in the core's transcript; messages and data cut short are kept
//! apart, so a test can show that nothing was delivered.
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::{Mutex, MutexGuard};

use super::fake_server::{self, Command, Ctx, Flow, Protocol, Server, lock};

/// What the server announces after EHLO unless told otherwise.
pub const DEFAULT_EHLO: &[&str] = &["PIPELINING", "8BITMIME", "SIZE 52428800", "SMTPUTF8"];

pub type Builder = fake_server::Builder<Setup>;

/// What only SMTP needs to know before the server starts.
#[derive(Clone, Debug, Default)]
pub struct Setup {
    ehlo: Option<Vec<String>>,
    no_ehlo: bool,
    refuse: HashMap<String, String>,
    refuse_once: HashMap<String, String>,
    refuse_sender: HashMap<String, String>,
    data_replies: VecDeque<FinalReply>,
    login: Option<(String, String)>,
    /// AUTH OAUTHBEARER and XOAUTH2 (announced when any) accept the login's user with these.
    tokens: Vec<String>,
}

/// What the server does once a message's data has ended (its final `.`, or BDAT LAST).
#[derive(Clone, Debug)]
pub enum FinalReply {
    /// Sends this (CRLF included).
    Raw(String),
    /// Keeps the message and says nothing, until the server is dropped.
    Stall,
    /// Keeps the message and closes the connection without a word.
    Close,
}

/// One message the server took: the envelope, and the data as it came over the wire
/// (dot-stuffed, CRLF line ends, without the final `.` line).
#[derive(Clone, Debug)]
pub struct Stored {
    pub mail: String,
    pub rcpts: Vec<String>,
    pub wire: Vec<u8>,
    /// Came in BDAT chunks (RFC 3030): the wire data is the message, unstuffed.
    pub bdat: bool,
}

impl Stored {
    /// The data unstuffed (RFC 5321 4.5.2): what a mailbox would hold.
    pub fn content(&self) -> Vec<u8> {
        if self.bdat {
            return self.wire.clone();
        }
        let mut out = Vec::with_capacity(self.wire.len());
        let mut at_line_start = true;
        let mut i = 0;
        while i < self.wire.len() {
            let b = self.wire[i];
            if at_line_start && b == b'.' {
                i += 1;
                at_line_start = false;
                continue;
            }
            out.push(b);
            at_line_start = b == b'\n';
            i += 1;
        }
        out
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.content()).into_owned()
    }
}

#[derive(Default)]
struct State {
    messages: Vec<Stored>,
    /// Addresses `refuse_once` has refused already.
    refused_once: Vec<String>,
    /// Data that never got its final `.`: the client went away.
    cut_short: Vec<Vec<u8>>,
}

pub struct Smtp {
    setup: Setup,
    state: Mutex<State>,
}

impl Smtp {
    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }
}

#[derive(Default)]
pub struct Session {
    mail: Option<String>,
    rcpts: Vec<String>,
    authenticated: bool,
    /// BDAT data so far.
    chunks: Option<Vec<u8>>,
}

/// A running fake server. Dropping it stops every thread and closes every socket.
pub struct FakeSmtp {
    server: Server<Smtp>,
}

impl FakeSmtp {
    pub fn builder() -> Builder {
        Builder::new(Setup::default(), "220 fake.example ESMTP ready\r\n")
    }

    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// `smtp://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port())
    }

    /// Every command line received, all connections, in order.
    pub fn transcript(&self) -> Vec<String> {
        self.server.wait_finished();
        self.server.transcript()
    }

    pub fn commands(&self, verb: &str) -> Vec<String> {
        self.server.wait_finished();
        self.server.commands(verb)
    }

    pub fn connections(&self) -> usize {
        self.server.connections()
    }

    /// The messages taken (each ended by its `.` line). For after the client exited.
    pub fn messages(&self) -> Vec<Stored> {
        self.server.wait_finished();
        self.server.protocol().state().messages.clone()
    }

    /// Data that was under way when the client went away (never delivered).
    pub fn cut_short(&self) -> Vec<Vec<u8>> {
        self.server.wait_finished();
        self.server.protocol().state().cut_short.clone()
    }
}

impl Builder {
    /// The EHLO keywords to announce (instead of [`DEFAULT_EHLO`]).
    pub fn ehlo(mut self, keywords: &[&str]) -> Self {
        self.proto.ehlo = Some(keywords.iter().map(|s| s.to_string()).collect());
        self
    }

    /// An old server: EHLO is 502, HELO works.
    pub fn no_ehlo(mut self) -> Self {
        self.proto.no_ehlo = true;
        self
    }

    /// RCPT TO:<addr> gets `raw` (CRLF included).
    pub fn refuse(mut self, addr: &str, raw: &str) -> Self {
        self.proto.refuse.insert(addr.to_string(), raw.to_string());
        self
    }

    /// RCPT TO:<addr> gets `raw` the first time only (greylisting).
    pub fn refuse_once(mut self, addr: &str, raw: &str) -> Self {
        self.proto
            .refuse_once
            .insert(addr.to_string(), raw.to_string());
        self
    }

    /// MAIL FROM:<addr> gets `raw` (CRLF included).
    pub fn refuse_sender(mut self, addr: &str, raw: &str) -> Self {
        self.proto
            .refuse_sender
            .insert(addr.to_string(), raw.to_string());
        self
    }

    /// The reply to the next message's final `.` (in order; then 250).
    pub fn data_reply(mut self, raw: &str) -> Self {
        self.proto
            .data_replies
            .push_back(FinalReply::Raw(raw.to_string()));
        self
    }

    /// The next message is kept, and the reply to its end is lost: never sent (`Stall`)
    /// or the connection closed instead (`Close`).
    pub fn data_reply_lost(mut self, how: FinalReply) -> Self {
        self.proto.data_replies.push_back(how);
        self
    }

    /// AUTH PLAIN and LOGIN accept this user and password (and AUTH is announced).
    pub fn login(mut self, user: &str, password: &str) -> Self {
        self.proto.login = Some((user.to_string(), password.to_string()));
        self
    }

    /// AUTH OAUTHBEARER and XOAUTH2 accept `user` with any of `tokens`.
    pub fn bearer(mut self, user: &str, tokens: &[&str]) -> Self {
        self.proto.login = Some((user.to_string(), String::new()));
        self.proto.tokens = tokens.iter().map(|t| t.to_string()).collect();
        self
    }

    pub fn start(self) -> FakeSmtp {
        FakeSmtp {
            server: self.launch(|setup| Smtp {
                setup,
                state: Mutex::new(State::default()),
            }),
        }
    }
}

macro_rules! table {
    ($($($verb:literal)|+ => $run:expr,)*) => {
        &[$(Command { verbs: &[$($verb),+], run: $run },)*]
    };
}

fn done(sent: io::Result<()>) -> io::Result<Flow> {
    sent.map(|()| Flow::Continue)
}

impl Protocol for Smtp {
    type Session = Session;

    const COMMANDS: &'static [Command<Self>] = table! {
        "EHLO" => ehlo,
        "HELO" => |c, _| done(c.send("250 fake.example\r\n")),
        "MAIL" => mail,
        "RCPT" => rcpt,
        "DATA" => data,
        "BDAT" => bdat,
        "RSET" => |c, _| {
            c.session.mail = None;
            c.session.rcpts.clear();
            done(c.send("250 2.0.0 Reset\r\n"))
        },
        "NOOP" => |c, _| done(c.send("250 2.0.0 OK\r\n")),
        "QUIT" => |c, _| {
            c.send("221 2.0.0 Bye\r\n")?;
            Ok(Flow::Close)
        },
        "STARTTLS" => |c, _| done(c.send("454 4.7.0 TLS not available\r\n")),
        "AUTH" => auth,
    };
    const LINE_TOO_LONG: &'static str = "500 5.5.2 Line too long\r\n";
    const UNKNOWN: &'static str = "502 5.5.2 Command not recognized\r\n";
    const TOO_MANY: &'static str = "421 4.7.0 Too many connections\r\n";

    fn session(&self) -> Session {
        Session::default()
    }

    fn greeting_continues(&self, greeting: &str) -> bool {
        !(greeting.starts_with('4') || greeting.starts_with('5'))
    }
}

fn ehlo(c: &mut Ctx<'_, Smtp>, _: &str) -> io::Result<Flow> {
    if c.server.setup.no_ehlo {
        return done(c.send("502 5.5.2 Command not recognized\r\n"));
    }
    let mut kws: Vec<String> = match &c.server.setup.ehlo {
        Some(k) => k.clone(),
        None => DEFAULT_EHLO.iter().map(|s| s.to_string()).collect(),
    };
    if !c.server.setup.tokens.is_empty() {
        kws.push("AUTH OAUTHBEARER XOAUTH2".into());
    } else if c.server.setup.login.is_some() {
        kws.push("AUTH PLAIN LOGIN".into());
    }
    let mut out = String::from(if kws.is_empty() {
        "250 fake.example\r\n"
    } else {
        "250-fake.example\r\n"
    });
    for (i, k) in kws.iter().enumerate() {
        let sep = if i + 1 == kws.len() { ' ' } else { '-' };
        out.push_str(&format!("250{sep}{k}\r\n"));
    }
    done(c.send(&out))
}

/// The address between `<` and `>` of `FROM:<a> PARAMS`.
fn angle(arg: &str) -> String {
    match (arg.find('<'), arg.find('>')) {
        (Some(a), Some(b)) if a < b => arg[a + 1..b].to_string(),
        _ => String::new(),
    }
}

fn mail(c: &mut Ctx<'_, Smtp>, arg: &str) -> io::Result<Flow> {
    if c.session.mail.is_some() {
        return done(c.send("503 5.5.1 Error: nested MAIL command\r\n"));
    }
    if let Some(raw) = c.server.setup.refuse_sender.get(&angle(arg)).cloned() {
        return done(c.send(&raw));
    }
    c.session.mail = Some(arg.to_string());
    done(c.send("250 2.1.0 Ok\r\n"))
}

fn rcpt(c: &mut Ctx<'_, Smtp>, arg: &str) -> io::Result<Flow> {
    if c.session.mail.is_none() {
        return done(c.send("503 5.5.1 Error: need MAIL command\r\n"));
    }
    let addr = angle(arg);
    if let Some(raw) = c.server.setup.refuse.get(&addr).cloned() {
        return done(c.send(&raw));
    }
    if let Some(raw) = c.server.setup.refuse_once.get(&addr).cloned() {
        let first = {
            let mut st = c.server.state();
            let first = !st.refused_once.contains(&addr);
            if first {
                st.refused_once.push(addr.clone());
            }
            first
        };
        if first {
            return done(c.send(&raw));
        }
    }
    c.session.rcpts.push(addr);
    done(c.send("250 2.1.5 Ok\r\n"))
}

fn data(c: &mut Ctx<'_, Smtp>, _: &str) -> io::Result<Flow> {
    if c.session.mail.is_none() || c.session.rcpts.is_empty() {
        return done(c.send("554 5.5.1 Error: no valid recipients\r\n"));
    }
    c.send("354 End data with <CR><LF>.<CR><LF>\r\n")?;
    let mut wire = Vec::new();
    loop {
        let mut partial = Vec::new();
        // A reset connection is data cut short too.
        match c.read_raw_line(&mut partial).unwrap_or(None) {
            // Only CRLF `.` CRLF ends the data (every line before ends with CRLF or it
            // would not be a line here; a bare-LF line is kept, and shows in `wire`).
            Some(line) if line == b".\r\n" && (wire.is_empty() || wire.ends_with(b"\r\n")) => {
                break;
            }
            Some(line) => wire.extend_from_slice(&line),
            None => {
                wire.extend_from_slice(&partial);
                c.server.state().cut_short.push(wire);
                return Ok(Flow::Close);
            }
        }
    }
    let stored = Stored {
        mail: c.session.mail.take().unwrap_or_default(),
        rcpts: std::mem::take(&mut c.session.rcpts),
        wire,
        bdat: false,
    };
    c.server.state().messages.push(stored);
    final_reply(c)
}

/// The reply to the end of the message just kept: scripted ones go to the messages in the
/// order they arrive, then 250.
fn final_reply(c: &mut Ctx<'_, Smtp>) -> io::Result<Flow> {
    let n = c.server.state().messages.len();
    match c.server.setup.data_replies.get(n - 1).cloned() {
        Some(FinalReply::Raw(raw)) => done(c.send(&raw)),
        Some(FinalReply::Stall) => Ok(Flow::Stall),
        Some(FinalReply::Close) => {
            c.close_control();
            Ok(Flow::Close)
        }
        None => done(c.send(&format!("250 2.0.0 Ok: queued as M{n}\r\n"))),
    }
}

/// BDAT n [LAST] (RFC 3030): n octets follow the command at once.
fn bdat(c: &mut Ctx<'_, Smtp>, arg: &str) -> io::Result<Flow> {
    let mut words = arg.split(' ');
    let Some(n) = words.next().and_then(|n| n.parse::<usize>().ok()) else {
        return done(c.send("501 5.5.4 Syntax: BDAT n [LAST]\r\n"));
    };
    let last = words.next().is_some_and(|w| w.eq_ignore_ascii_case("LAST"));
    let Some(data) = c.read_raw_bytes(n).unwrap_or(None) else {
        let got = c.session.chunks.take().unwrap_or_default();
        c.server.state().cut_short.push(got);
        return Ok(Flow::Close);
    };
    if c.session.mail.is_none() || c.session.rcpts.is_empty() {
        return done(c.send("554 5.5.1 Error: no valid recipients\r\n"));
    }
    c.session
        .chunks
        .get_or_insert_with(Vec::new)
        .extend_from_slice(&data);
    if !last {
        return done(c.send(&format!("250 2.0.0 {n} octets received\r\n")));
    }
    let stored = Stored {
        mail: c.session.mail.take().unwrap_or_default(),
        rcpts: std::mem::take(&mut c.session.rcpts),
        wire: c.session.chunks.take().unwrap_or_default(),
        bdat: true,
    };
    c.server.state().messages.push(stored);
    final_reply(c)
}

fn auth(c: &mut Ctx<'_, Smtp>, arg: &str) -> io::Result<Flow> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let Some((user, password)) = c.server.setup.login.clone() else {
        return done(c.send("502 5.5.2 AUTH not available\r\n"));
    };
    let mut words = arg.split(' ');
    let mech = words.next().unwrap_or("").to_ascii_uppercase();
    let initial = words.next().map(str::to_string);
    let next_line = |c: &mut Ctx<'_, Smtp>, prompt: &str| -> io::Result<Option<String>> {
        c.send(&format!("334 {prompt}\r\n"))?;
        let mut partial = Vec::new();
        Ok(c.read_raw_line(&mut partial)?
            .map(|l| String::from_utf8_lossy(&l).trim_end().to_string()))
    };
    let ok = match mech.as_str() {
        "PLAIN" => {
            let resp = match initial {
                Some(r) => r,
                None => match next_line(c, "")? {
                    Some(r) => r,
                    None => return Ok(Flow::Close),
                },
            };
            let decoded = b64.decode(resp.as_bytes()).unwrap_or_default();
            let parts: Vec<&[u8]> = decoded.split(|&b| b == 0).collect();
            parts.len() == 3 && parts[1] == user.as_bytes() && parts[2] == password.as_bytes()
        }
        "LOGIN" => {
            let Some(u) = next_line(c, "VXNlcm5hbWU6")? else {
                return Ok(Flow::Close);
            };
            let Some(p) = next_line(c, "UGFzc3dvcmQ6")? else {
                return Ok(Flow::Close);
            };
            b64.decode(u.as_bytes()).unwrap_or_default() == user.as_bytes()
                && b64.decode(p.as_bytes()).unwrap_or_default() == password.as_bytes()
        }
        "OAUTHBEARER" | "XOAUTH2" if !c.server.setup.tokens.is_empty() => {
            let resp = match initial {
                Some(r) => r,
                None => match next_line(c, "")? {
                    Some(r) => r,
                    None => return Ok(Flow::Close),
                },
            };
            match super::bearer::parse(&mech, &resp) {
                Some((u, t)) if u == user && c.server.setup.tokens.contains(&t) => true,
                _ => {
                    if next_line(c, &super::bearer::error_challenge())?.is_none() {
                        return Ok(Flow::Close);
                    }
                    false
                }
            }
        }
        _ => return done(c.send("504 5.5.4 Unrecognized authentication type\r\n")),
    };
    if ok {
        c.session.authenticated = true;
        done(c.send("235 2.7.0 Authentication successful\r\n"))
    } else {
        done(c.send("535 5.7.8 Authentication credentials invalid\r\n"))
    }
}
