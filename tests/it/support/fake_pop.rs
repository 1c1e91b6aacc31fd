//! A fake POP3 server (RFC 1939, CAPA and PIPELINING from RFC 2449) on the neutral core
//! (`fake_server`): a mailbox of messages with UIDLs, USER/PASS, STAT, LIST, UIDL, RETR, TOP,
//! DELE (applied only at QUIT, as RFC 1939 section 6 says), NOOP, RSET, QUIT, and STLS that
//! answers `+OK` and then whatever the test scripts (no TLS here: it tests what a client
//! does with bytes injected before the handshake). Misbehaviour: no UIDL, no PIPELINING, a
//! connection dropped in the middle of one RETR; the core's `bytewise`, `reply`,
//! `reply_once`, `stall_on` apply too.
#![allow(dead_code)]

use std::io;
use std::sync::Mutex;

use super::fake_server::{self, Command, Ctx, Flow, Protocol, Server, lock};

pub const USER: &str = "alice";
pub const PASS: &str = "s3cret";

/// What the server holds and how it behaves.
#[derive(Clone, Debug)]
pub struct Mailbox {
    /// (UIDL, message as sent: CRLF line ends, not dot-stuffed).
    pub messages: Vec<(String, String)>,
    pub uidl: bool,
    pub pipelining: bool,
    pub stls: bool,
    /// CAPA lists `SASL EXTERNAL`, and `AUTH EXTERNAL` logs in whoever asks (the TLS front
    /// checked the certificate).
    pub external: bool,
    /// RETR of this message number sends half of it, then closes the connection.
    pub drop_on_retr: Option<usize>,
    /// RETR of this message number sends half of it, then never another byte.
    pub stall_in_retr: Option<usize>,
    /// AUTH OAUTHBEARER and XOAUTH2 (announced when any) accept USER with these tokens.
    pub tokens: Vec<String>,
}

pub type Builder = fake_server::Builder<Mailbox>;

/// A server with these messages (bodies in CRLF), UIDL, PIPELINING, no STLS.
pub fn pop(messages: &[(&str, &str)]) -> Builder {
    Builder::new(
        Mailbox {
            messages: messages
                .iter()
                .map(|(u, m)| (u.to_string(), m.to_string()))
                .collect(),
            uidl: true,
            pipelining: true,
            stls: false,
            external: false,
            drop_on_retr: None,
            stall_in_retr: None,
            tokens: Vec::new(),
        },
        "+OK fake POP3 ready <1896.697170952@fake.example>\r\n",
    )
}

pub trait PopBuilder {
    fn no_uidl(self) -> Self;
    fn no_pipelining(self) -> Self;
    fn stls(self) -> Self;
    fn external(self) -> Self;
    fn drop_on_retr(self, n: usize) -> Self;
    fn stall_in_retr(self, n: usize) -> Self;
    fn bearer(self, tokens: &[&str]) -> Self;
    fn start(self) -> Server<FakePop>;
}

impl PopBuilder for Builder {
    fn no_uidl(mut self) -> Self {
        self.proto.uidl = false;
        self
    }
    fn no_pipelining(mut self) -> Self {
        self.proto.pipelining = false;
        self
    }
    fn stls(mut self) -> Self {
        self.proto.stls = true;
        self
    }
    fn external(mut self) -> Self {
        self.proto.external = true;
        self
    }
    fn drop_on_retr(mut self, n: usize) -> Self {
        self.proto.drop_on_retr = Some(n);
        self
    }
    fn bearer(mut self, tokens: &[&str]) -> Self {
        self.proto.tokens = tokens.iter().map(|t| t.to_string()).collect();
        self
    }
    fn stall_in_retr(mut self, n: usize) -> Self {
        self.proto.stall_in_retr = Some(n);
        self
    }
    fn start(self) -> Server<FakePop> {
        self.launch(|m| FakePop {
            store: Mutex::new(m.messages.iter().map(|x| Some(x.clone())).collect()),
            setup: m,
        })
    }
}

/// The running server's state.
pub struct FakePop {
    setup: Mailbox,
    /// The maildrop; `None` where a message was deleted by an earlier session's QUIT.
    store: Mutex<Vec<Option<(String, String)>>>,
}

impl FakePop {
    /// The UIDLs of the messages still on the server.
    pub fn remaining(&self) -> Vec<String> {
        lock(&self.store)
            .iter()
            .flatten()
            .map(|(u, _)| u.clone())
            .collect()
    }

    /// Adds a message (new mail arriving).
    pub fn deliver(&self, uid: &str, body: &str) {
        lock(&self.store).push(Some((uid.to_string(), body.to_string())));
    }

    /// Removes the message with this UIDL (another client deleted it).
    pub fn remove(&self, uid: &str) {
        for m in lock(&self.store).iter_mut() {
            if m.as_ref().is_some_and(|(u, _)| u == uid) {
                *m = None;
            }
        }
    }
}

#[derive(Default)]
pub struct Session {
    user: Option<String>,
    authed: bool,
    /// The maildrop as this session sees it (numbered from 1), taken at login.
    view: Vec<(usize, String, String)>,
    deleted: Vec<bool>,
}

/// The message dot-stuffed, ending with CRLF, and the `.` line.
pub fn stuffed(body: &str) -> String {
    let mut out = String::new();
    for line in body.split_inclusive('\n') {
        if line.starts_with('.') {
            out.push('.');
        }
        out.push_str(line);
    }
    if !out.is_empty() && !out.ends_with("\r\n") {
        out.push_str("\r\n");
    }
    out.push_str(".\r\n");
    out
}

fn arg_msg<'a>(c: &'a Ctx<'_, FakePop>, arg: &str) -> Option<(usize, &'a (usize, String, String))> {
    let n: usize = arg.split(' ').next()?.parse().ok()?;
    let m = c.session.view.get(n.checked_sub(1)?)?;
    (!c.session.deleted[n - 1]).then_some((n, m))
}

/// The session logged in: the maildrop as it is now.
fn log_in(c: &mut Ctx<'_, FakePop>) -> io::Result<()> {
    c.session.authed = true;
    let store = lock(&c.server.store);
    c.session.view = store
        .iter()
        .enumerate()
        .filter_map(|(i, m)| m.clone().map(|(u, b)| (i, u, b)))
        .collect();
    c.session.deleted = vec![false; c.session.view.len()];
    drop(store);
    c.send("+OK logged in\r\n")
}

/// AUTH EXTERNAL (RFC 5034), with the initial response or after an empty `+ `; AUTH
/// OAUTHBEARER or XOAUTH2: a token of `tokens` for USER logs in; another gets the error
/// challenge, whose answer is read, then `-ERR`.
fn auth(c: &mut Ctx<'_, FakePop>, arg: &str) -> io::Result<Flow> {
    let (mech, ir) = arg.split_once(' ').unwrap_or((arg, ""));
    if c.server.setup.external && mech.eq_ignore_ascii_case("EXTERNAL") {
        if ir.is_empty() {
            c.send("+ \r\n")?;
            if c.read_line()?.is_none() {
                return Ok(Flow::Close);
            }
        }
        log_in(c)?;
        return Ok(Flow::Continue);
    }
    if c.server.setup.tokens.is_empty() {
        c.send("-ERR unsupported mechanism\r\n")?;
        return Ok(Flow::Continue);
    }
    let tokens = c.server.setup.tokens.clone();
    match super::bearer::exchange(c, mech, ir, USER, &tokens)? {
        Some(true) => log_in(c)?,
        Some(false) => c.send("-ERR [AUTH] invalid token\r\n")?,
        None => return Ok(Flow::Close),
    }
    Ok(Flow::Continue)
}

fn need_auth(c: &mut Ctx<'_, FakePop>) -> io::Result<bool> {
    if !c.session.authed {
        c.send("-ERR not logged in\r\n")?;
    }
    Ok(c.session.authed)
}

impl Protocol for FakePop {
    type Session = Session;
    const COMMANDS: &'static [Command<Self>] = &[
        Command {
            verbs: &["CAPA"],
            run: |c, _| {
                let mut caps = String::from("+OK capabilities\r\nTOP\r\nUSER\r\nRESP-CODES\r\n");
                if c.server.setup.uidl {
                    caps.push_str("UIDL\r\n");
                }
                if c.server.setup.pipelining {
                    caps.push_str("PIPELINING\r\n");
                }
                if c.server.setup.stls && !c.session.authed {
                    caps.push_str("STLS\r\n");
                }
                if c.server.setup.external {
                    caps.push_str("SASL EXTERNAL\r\n");
                }
                if !c.server.setup.tokens.is_empty() {
                    caps.push_str("SASL OAUTHBEARER XOAUTH2\r\n");
                }
                caps.push_str(".\r\n");
                c.send(&caps)?;
                Ok(Flow::Continue)
            },
        },
        Command {
            verbs: &["STLS"],
            run: |c, _| {
                c.send("+OK begin TLS\r\n")?;
                Ok(Flow::Continue)
            },
        },
        Command {
            verbs: &["AUTH"],
            run: auth,
        },
        Command {
            verbs: &["USER"],
            run: |c, arg| {
                c.session.user = Some(arg.to_string());
                c.send("+OK\r\n")?;
                Ok(Flow::Continue)
            },
        },
        Command {
            verbs: &["PASS"],
            run: |c, arg| {
                if c.session.user.as_deref() == Some(USER) && arg == PASS {
                    log_in(c)?;
                } else {
                    c.send("-ERR [AUTH] invalid user name or password\r\n")?;
                }
                Ok(Flow::Continue)
            },
        },
        Command {
            verbs: &["AUTH"],
            run: auth,
        },
        Command {
            verbs: &["STAT"],
            run: |c, _| {
                if need_auth(c)? {
                    let (n, size) = c
                        .session
                        .view
                        .iter()
                        .zip(&c.session.deleted)
                        .filter(|(_, d)| !**d)
                        .fold((0, 0), |(n, s), (m, _)| (n + 1, s + m.2.len()));
                    c.send(&format!("+OK {n} {size}\r\n"))?;
                }
                Ok(Flow::Continue)
            },
        },
        Command {
            verbs: &["LIST"],
            run: |c, _| {
                if need_auth(c)? {
                    let mut out = String::from("+OK\r\n");
                    for (i, m) in c.session.view.iter().enumerate() {
                        if !c.session.deleted[i] {
                            out.push_str(&format!("{} {}\r\n", i + 1, m.2.len()));
                        }
                    }
                    out.push_str(".\r\n");
                    c.send(&out)?;
                }
                Ok(Flow::Continue)
            },
        },
        Command {
            verbs: &["UIDL"],
            run: |c, _| {
                if !c.server.setup.uidl {
                    c.send("-ERR unknown command\r\n")?;
                } else if need_auth(c)? {
                    let mut out = String::from("+OK\r\n");
                    for (i, m) in c.session.view.iter().enumerate() {
                        if !c.session.deleted[i] {
                            out.push_str(&format!("{} {}\r\n", i + 1, m.1));
                        }
                    }
                    out.push_str(".\r\n");
                    c.send(&out)?;
                }
                Ok(Flow::Continue)
            },
        },
        Command {
            verbs: &["RETR"],
            run: |c, arg| {
                if !need_auth(c)? {
                    return Ok(Flow::Continue);
                }
                let Some((n, m)) = arg_msg(c, arg) else {
                    c.send("-ERR no such message\r\n")?;
                    return Ok(Flow::Continue);
                };
                let body = stuffed(&m.2);
                if c.server.setup.stall_in_retr == Some(n) {
                    let half = body.len() / 2;
                    let cut = (0..=half)
                        .rev()
                        .find(|&i| body.is_char_boundary(i))
                        .unwrap_or(0);
                    c.send(&format!("+OK {} octets\r\n{}", m.2.len(), &body[..cut]))?;
                    c.stall();
                    return Ok(Flow::Stall);
                }
                if c.server.setup.drop_on_retr == Some(n) {
                    let half = body.len() / 2;
                    let cut = (0..=half)
                        .rev()
                        .find(|&i| body.is_char_boundary(i))
                        .unwrap_or(0);
                    c.send(&format!("+OK {} octets\r\n{}", m.2.len(), &body[..cut]))?;
                    return Ok(Flow::Close);
                }
                c.send(&format!("+OK {} octets\r\n{body}", m.2.len()))?;
                Ok(Flow::Continue)
            },
        },
        Command {
            verbs: &["TOP"],
            run: |c, arg| {
                if !need_auth(c)? {
                    return Ok(Flow::Continue);
                }
                let Some((_, m)) = arg_msg(c, arg) else {
                    c.send("-ERR no such message\r\n")?;
                    return Ok(Flow::Continue);
                };
                let head = match m.2.find("\r\n\r\n") {
                    Some(i) => &m.2[..i + 4],
                    None => &m.2[..],
                };
                c.send(&format!("+OK\r\n{}", stuffed(head)))?;
                Ok(Flow::Continue)
            },
        },
        Command {
            verbs: &["DELE"],
            run: |c, arg| {
                if !need_auth(c)? {
                    return Ok(Flow::Continue);
                }
                match arg_msg(c, arg) {
                    Some((n, _)) => {
                        c.session.deleted[n - 1] = true;
                        c.send("+OK marked\r\n")?;
                    }
                    None => c.send("-ERR no such message\r\n")?,
                }
                Ok(Flow::Continue)
            },
        },
        Command {
            verbs: &["NOOP"],
            run: |c, _| {
                c.send("+OK\r\n")?;
                Ok(Flow::Continue)
            },
        },
        Command {
            verbs: &["RSET"],
            run: |c, _| {
                c.session.deleted.iter_mut().for_each(|d| *d = false);
                c.send("+OK\r\n")?;
                Ok(Flow::Continue)
            },
        },
        Command {
            verbs: &["QUIT"],
            run: |c, _| {
                if c.session.authed {
                    let mut store = lock(&c.server.store);
                    for (i, m) in c.session.view.iter().enumerate() {
                        if c.session.deleted[i] {
                            store[m.0] = None;
                        }
                    }
                }
                c.send("+OK bye\r\n")?;
                Ok(Flow::Close)
            },
        },
    ];
    const LINE_TOO_LONG: &'static str = "-ERR line too long\r\n";
    const UNKNOWN: &'static str = "-ERR unknown command\r\n";
    const TOO_MANY: &'static str = "-ERR [IN-USE] too many connections\r\n";

    fn session(&self) -> Session {
        Session::default()
    }
}
