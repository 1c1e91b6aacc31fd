//! A fake IMAP4rev1 server (RFC 3501) on the neutral core (`fake_server`): folders of
//! messages with UIDs and flags; CAPABILITY, LOGIN (atoms, quoted strings and literals),
//! AUTHENTICATE PLAIN (with SASL-IR or a continuation), STARTTLS that answers OK and then
//! whatever the test scripts (no TLS here: it tests what a client does with bytes injected
//! before the handshake), SELECT/EXAMINE, LIST, UID SEARCH (ALL, UID n:*, UNSEEN),
//! UID FETCH, UID STORE, UID EXPUNGE (with UIDPLUS), EXPUNGE, NOOP, LOGOUT.
//! Misbehaviour: the UID after the message, untagged EXISTS and EXPUNGE in the middle of a
//! FETCH, a connection dropped (or stalled) inside a message's literal, and [`Faults`] a test
//! can mend between runs (a message left out of a FETCH answered OK or NO [EXPUNGEISSUED],
//! the tagged OK before the messages, a bogus UID in SEARCH); the core's `bytewise`,
//! `reply`, `reply_once`, `stall_on` apply too, with `$TAG` in a scripted reply standing for
//! the command's tag.
#![allow(dead_code)]

use std::io;
use std::sync::Mutex;

use super::fake_server::{self, Command, Ctx, Flow, Protocol, Server, lock};

pub const USER: &str = "alice";
pub const PASS: &str = "s3cret pass";

/// One message: its UID, text as sent (CRLF line ends), flags.
#[derive(Clone, Debug)]
pub struct Message {
    pub uid: u32,
    pub text: String,
    pub flags: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Folder {
    pub name: String,
    pub uidvalidity: u32,
    pub uidnext: u32,
    pub messages: Vec<Message>,
}

/// What the server holds and how it behaves.
#[derive(Clone, Debug)]
pub struct Setup {
    pub folders: Vec<Folder>,
    pub starttls: bool,
    /// UIDPLUS, announced (as Dovecot does) only after the login.
    pub uidplus: bool,
    /// AUTH=PLAIN and SASL-IR.
    pub auth_plain: bool,
    /// AUTH=EXTERNAL and SASL-IR: AUTHENTICATE EXTERNAL logs in whoever asks (the TLS
    /// front checked the certificate).
    pub external: bool,
    /// AUTH=OAUTHBEARER, AUTH=XOAUTH2 and SASL-IR (when any) accept USER with these tokens.
    pub tokens: Vec<String>,
    pub logindisabled: bool,
    /// FETCH responses name the UID after the message.
    pub uid_after_body: bool,
    /// `* N EXISTS` and `* 1 EXPUNGE`-like noise between FETCH responses.
    pub noise: bool,
    /// The FETCH of this UID sends half its literal, then closes the connection.
    pub drop_in_literal: Option<u32>,
    /// The FETCH of this UID sends half its literal, then never another byte.
    pub stall_in_literal: Option<u32>,
    /// The hierarchy delimiter LIST reports (`/` by default, Dovecot's default is `.`).
    pub delimiter: char,
    /// SELECT/EXAMINE of a missing folder answers a bare NO, without `[NONEXISTENT]`
    /// (Dovecot).
    pub bare_no: bool,
    /// Folders LIST shows that SELECT/EXAMINE refuses with a bare NO (no right to read).
    pub locked: Vec<String>,
    pub faults: Faults,
}

/// Lies a server can tell about what it sent, until [`FakeImap::mend`].
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// UID FETCH leaves this message out and answers OK.
    pub omit: Option<u32>,
    /// UID FETCH leaves this message out and answers NO [EXPUNGEISSUED], though the
    /// message is still there.
    pub expunge_issued: Option<u32>,
    /// UID FETCH answers NO [EXPUNGEISSUED] without this message, which is expunged then
    /// (another client at work).
    pub vanish: Option<u32>,
    /// UID FETCH sends its tagged OK first, then the messages.
    pub ok_first: bool,
    /// UID SEARCH adds this UID to every answer.
    pub search_extra: Option<u32>,
}

pub type Builder = fake_server::Builder<Setup>;

/// A server with an INBOX of these messages (CRLF text), UIDs 1, 2, 3..., UIDVALIDITY 1000.
pub fn imap(messages: &[&str]) -> Builder {
    let messages: Vec<Message> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| Message {
            uid: i as u32 + 1,
            text: m.to_string(),
            flags: Vec::new(),
        })
        .collect();
    Builder::new(
        Setup {
            folders: vec![Folder {
                name: "INBOX".into(),
                uidvalidity: 1000,
                uidnext: messages.len() as u32 + 1,
                messages,
            }],
            starttls: false,
            uidplus: true,
            auth_plain: false,
            external: false,
            tokens: Vec::new(),
            logindisabled: false,
            uid_after_body: false,
            noise: false,
            drop_in_literal: None,
            faults: Faults::default(),
            stall_in_literal: None,
            delimiter: '/',
            bare_no: false,
            locked: Vec::new(),
        },
        "* OK fake IMAP4rev1 ready\r\n",
    )
}

pub trait ImapBuilder {
    fn folder(self, name: &str, uidvalidity: u32, messages: &[&str]) -> Self;
    fn starttls(self) -> Self;
    fn no_uidplus(self) -> Self;
    fn auth_plain(self) -> Self;
    fn external(self) -> Self;
    fn bearer(self, tokens: &[&str]) -> Self;
    fn uid_after_body(self) -> Self;
    fn noise(self) -> Self;
    fn drop_in_literal(self, uid: u32) -> Self;
    fn faults(self, faults: Faults) -> Self;
    fn stall_in_literal(self, uid: u32) -> Self;
    fn delimiter(self, d: char) -> Self;
    fn bare_no(self) -> Self;
    fn locked(self, name: &str) -> Self;
    fn start(self) -> Server<FakeImap>;
}

impl ImapBuilder for Builder {
    fn folder(mut self, name: &str, uidvalidity: u32, messages: &[&str]) -> Self {
        let messages: Vec<Message> = messages
            .iter()
            .enumerate()
            .map(|(i, m)| Message {
                uid: i as u32 + 1,
                text: m.to_string(),
                flags: Vec::new(),
            })
            .collect();
        self.proto.folders.push(Folder {
            name: name.into(),
            uidvalidity,
            uidnext: messages.len() as u32 + 1,
            messages,
        });
        self
    }
    fn starttls(mut self) -> Self {
        self.proto.starttls = true;
        self
    }
    fn no_uidplus(mut self) -> Self {
        self.proto.uidplus = false;
        self
    }
    fn external(mut self) -> Self {
        self.proto.external = true;
        self
    }
    fn auth_plain(mut self) -> Self {
        self.proto.auth_plain = true;
        self
    }
    fn bearer(mut self, tokens: &[&str]) -> Self {
        self.proto.tokens = tokens.iter().map(|t| t.to_string()).collect();
        self
    }
    fn uid_after_body(mut self) -> Self {
        self.proto.uid_after_body = true;
        self
    }
    fn noise(mut self) -> Self {
        self.proto.noise = true;
        self
    }
    fn stall_in_literal(mut self, uid: u32) -> Self {
        self.proto.stall_in_literal = Some(uid);
        self
    }
    fn drop_in_literal(mut self, uid: u32) -> Self {
        self.proto.drop_in_literal = Some(uid);
        self
    }
    fn faults(mut self, faults: Faults) -> Self {
        self.proto.faults = faults;
        self
    }
    fn delimiter(mut self, d: char) -> Self {
        self.proto.delimiter = d;
        self
    }
    fn bare_no(mut self) -> Self {
        self.proto.bare_no = true;
        self
    }
    fn locked(mut self, name: &str) -> Self {
        self.proto.locked.push(name.into());
        self
    }
    fn start(self) -> Server<FakeImap> {
        self.launch(|s| FakeImap {
            folders: Mutex::new(s.folders.clone()),
            faults: Mutex::new(s.faults.clone()),
            setup: s,
        })
    }
}

/// The running server's state.
pub struct FakeImap {
    setup: Setup,
    folders: Mutex<Vec<Folder>>,
    faults: Mutex<Faults>,
}

impl FakeImap {
    /// From now on the server tells the truth.
    pub fn mend(&self) {
        *lock(&self.faults) = Faults::default();
    }

    /// The UIDs left in `folder`.
    pub fn uids(&self, folder: &str) -> Vec<u32> {
        lock(&self.folders)
            .iter()
            .find(|f| f.name == folder)
            .map(|f| f.messages.iter().map(|m| m.uid).collect())
            .unwrap_or_default()
    }

    /// The flags of `uid` in `folder`.
    pub fn flags(&self, folder: &str, uid: u32) -> Vec<String> {
        lock(&self.folders)
            .iter()
            .find(|f| f.name == folder)
            .and_then(|f| f.messages.iter().find(|m| m.uid == uid))
            .map(|m| m.flags.clone())
            .unwrap_or_default()
    }

    /// New mail arrives in `folder`; returns its UID.
    pub fn deliver(&self, folder: &str, text: &str) -> u32 {
        let mut folders = lock(&self.folders);
        let f = folders.iter_mut().find(|f| f.name == folder).unwrap();
        let uid = f.uidnext;
        f.uidnext += 1;
        f.messages.push(Message {
            uid,
            text: text.to_string(),
            flags: Vec::new(),
        });
        uid
    }

    /// Marks `uid` with `flag` (another client at work).
    pub fn set_flag(&self, folder: &str, uid: u32, flag: &str) {
        let mut folders = lock(&self.folders);
        let f = folders.iter_mut().find(|f| f.name == folder).unwrap();
        if let Some(m) = f.messages.iter_mut().find(|m| m.uid == uid) {
            m.flags.push(flag.to_string());
        }
    }

    /// The folder is renumbered: a new UIDVALIDITY.
    pub fn set_uidvalidity(&self, folder: &str, v: u32) {
        let mut folders = lock(&self.folders);
        folders
            .iter_mut()
            .find(|f| f.name == folder)
            .unwrap()
            .uidvalidity = v;
    }

    fn capabilities(&self, authed: bool) -> String {
        let mut c = "IMAP4rev1 LITERAL+ IDLE".to_string();
        if !authed {
            if self.setup.starttls {
                c.push_str(" STARTTLS");
            }
            if self.setup.auth_plain {
                c.push_str(" SASL-IR AUTH=PLAIN");
            }
            if self.setup.external {
                c.push_str(" SASL-IR AUTH=EXTERNAL");
            }
            if !self.setup.tokens.is_empty() {
                c.push_str(" AUTH=OAUTHBEARER AUTH=XOAUTH2");
                if !self.setup.auth_plain {
                    c.push_str(" SASL-IR");
                }
            }
            if self.setup.logindisabled {
                c.push_str(" LOGINDISABLED");
            }
        } else if self.setup.uidplus {
            c.push_str(" UIDPLUS");
        }
        c
    }
}

#[derive(Default)]
pub struct Session {
    authed: bool,
    selected: Option<String>,
    read_only: bool,
}

/// The tag and the arguments after the command word(s).
fn parts(line: &str) -> (&str, &str) {
    let (tag, rest) = line.split_once(' ').unwrap_or((line, ""));
    let mut rest = rest.split_once(' ').map_or("", |(_, r)| r);
    if line
        .split(' ')
        .nth(1)
        .is_some_and(|w| w.eq_ignore_ascii_case("UID"))
    {
        rest = rest.split_once(' ').map_or("", |(_, r)| r);
    }
    (tag, rest)
}

/// Reads an astring from `s` (atom, quoted string, or literal `{n}` at the end: then the
/// octets come on the following line after a `+`); returns it and the rest.
fn astring(c: &mut Ctx<'_, FakeImap>, s: &str) -> io::Result<Option<(String, String)>> {
    let s = s.trim_start();
    if let Some(q) = s.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = q.char_indices();
        while let Some((i, ch)) = chars.next() {
            match ch {
                '\\' => out.push(chars.next().map(|x| x.1).unwrap_or('\\')),
                '"' => return Ok(Some((out, q[i + 1..].to_string()))),
                _ => out.push(ch),
            }
        }
        return Ok(None);
    }
    if s.starts_with('{') && s.ends_with('}') {
        let inner = &s[1..s.len() - 1];
        let (n, plus) = match inner.strip_suffix('+') {
            Some(n) => (n, true),
            None => (inner, false),
        };
        let Ok(n) = n.parse::<usize>() else {
            return Ok(None);
        };
        if !plus {
            c.send("+ go ahead\r\n")?;
        }
        let Some(line) = c.read_line()? else {
            return Ok(None);
        };
        if line.len() < n || !line.is_char_boundary(n) {
            return Ok(None);
        }
        return Ok(Some((line[..n].to_string(), line[n..].to_string())));
    }
    let end = s.find(' ').unwrap_or(s.len());
    Ok(Some((s[..end].to_string(), s[end..].to_string())))
}

/// The UIDs of `set` (`1:3,5,7:*`) among `uids` (ascending).
fn in_set(set: &str, uids: &[u32]) -> Vec<u32> {
    let max = uids.last().copied().unwrap_or(0);
    let num = |t: &str| {
        if t == "*" {
            Some(max)
        } else {
            t.parse::<u32>().ok()
        }
    };
    let mut out = Vec::new();
    for part in set.split(',') {
        let (a, b) = match part.split_once(':') {
            Some((a, b)) => (num(a), num(b)),
            None => (num(part), num(part)),
        };
        let (Some(a), Some(b)) = (a, b) else { continue };
        let (lo, hi) = (a.min(b), a.max(b));
        out.extend(uids.iter().copied().filter(|u| (lo..=hi).contains(u)));
    }
    out.sort_unstable();
    out.dedup();
    out
}

fn with_folder<T>(c: &Ctx<'_, FakeImap>, f: impl FnOnce(&mut Folder) -> T) -> Option<T> {
    let name = c.session.selected.clone()?;
    let mut folders = lock(&c.server.folders);
    folders.iter_mut().find(|x| x.name == name).map(f)
}

fn capability(c: &mut Ctx<'_, FakeImap>, line: &str) -> io::Result<Flow> {
    let (tag, _) = parts(line);
    let caps = c.server.capabilities(c.session.authed);
    c.send(&format!("* CAPABILITY {caps}\r\n{tag} OK done\r\n"))?;
    Ok(Flow::Continue)
}

fn starttls(c: &mut Ctx<'_, FakeImap>, line: &str) -> io::Result<Flow> {
    let (tag, _) = parts(line);
    if !c.server.setup.starttls {
        c.send(&format!("{tag} BAD no STARTTLS here\r\n"))?;
        return Ok(Flow::Continue);
    }
    // No TLS in this fake: a client that goes on is talking to itself.
    c.send(&format!("{tag} OK Begin TLS negotiation now\r\n"))?;
    Ok(Flow::Close)
}

fn login(c: &mut Ctx<'_, FakeImap>, line: &str) -> io::Result<Flow> {
    let (tag, args) = parts(line);
    let tag = tag.to_string();
    let Some((user, rest)) = astring(c, args)? else {
        c.send(&format!("{tag} BAD syntax\r\n"))?;
        return Ok(Flow::Continue);
    };
    let Some((pass, _)) = astring(c, &rest)? else {
        c.send(&format!("{tag} BAD syntax\r\n"))?;
        return Ok(Flow::Continue);
    };
    if user == USER && pass == PASS {
        c.session.authed = true;
        let caps = c.server.capabilities(true);
        c.send(&format!("{tag} OK [CAPABILITY {caps}] Logged in\r\n"))?;
    } else {
        c.send(&format!(
            "{tag} NO [AUTHENTICATIONFAILED] Authentication failed.\r\n"
        ))?;
    }
    Ok(Flow::Continue)
}

fn authenticate(c: &mut Ctx<'_, FakeImap>, line: &str) -> io::Result<Flow> {
    use base64::Engine as _;
    let (tag, args) = parts(line);
    let tag = tag.to_string();
    let (mech, ir) = args.split_once(' ').unwrap_or((args, ""));
    if mech.eq_ignore_ascii_case("EXTERNAL") && c.server.setup.external {
        if ir.is_empty() {
            c.send("+ \r\n")?;
            if c.read_line()?.is_none() {
                return Ok(Flow::Close);
            }
        }
        c.session.authed = true;
        let caps = c.server.capabilities(true);
        c.send(&format!("{tag} OK [CAPABILITY {caps}] Logged in\r\n"))?;
        return Ok(Flow::Continue);
    }
    let token_mech =
        mech.eq_ignore_ascii_case("OAUTHBEARER") || mech.eq_ignore_ascii_case("XOAUTH2");
    if token_mech && !c.server.setup.tokens.is_empty() {
        let (mech, ir) = (mech.to_string(), ir.to_string());
        return authenticate_bearer(c, &tag, &mech, &ir);
    }
    if !mech.eq_ignore_ascii_case("PLAIN") || !c.server.setup.auth_plain {
        c.send(&format!("{tag} NO unsupported mechanism\r\n"))?;
        return Ok(Flow::Continue);
    }
    let response = if ir.is_empty() {
        c.send("+ \r\n")?;
        match c.read_line()? {
            Some(l) => l,
            None => return Ok(Flow::Close),
        }
    } else {
        ir.to_string()
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(response.trim())
        .unwrap_or_default();
    let want = format!("\0{USER}\0{PASS}");
    if decoded == want.as_bytes() {
        c.session.authed = true;
        let caps = c.server.capabilities(true);
        c.send(&format!("{tag} OK [CAPABILITY {caps}] Logged in\r\n"))?;
    } else {
        c.send(&format!(
            "{tag} NO [AUTHENTICATIONFAILED] Authentication failed.\r\n"
        ))?;
    }
    Ok(Flow::Continue)
}

/// AUTHENTICATE OAUTHBEARER or XOAUTH2: a token of `tokens` for USER logs in; another gets
/// the error challenge, whose answer is read, then NO.
fn authenticate_bearer(
    c: &mut Ctx<'_, FakeImap>,
    tag: &str,
    mech: &str,
    ir: &str,
) -> io::Result<Flow> {
    let tokens = c.server.setup.tokens.clone();
    match super::bearer::exchange(c, mech, ir, USER, &tokens)? {
        Some(true) => {
            c.session.authed = true;
            let caps = c.server.capabilities(true);
            c.send(&format!("{tag} OK [CAPABILITY {caps}] Logged in\r\n"))?;
        }
        Some(false) => c.send(&format!(
            "{tag} NO [AUTHENTICATIONFAILED] Invalid token\r\n"
        ))?,
        None => return Ok(Flow::Close),
    }
    Ok(Flow::Continue)
}

fn select(c: &mut Ctx<'_, FakeImap>, line: &str) -> io::Result<Flow> {
    let (tag, args) = parts(line);
    let tag = tag.to_string();
    let read_only = line
        .split(' ')
        .nth(1)
        .is_some_and(|w| w.eq_ignore_ascii_case("EXAMINE"));
    let Some((name, _)) = astring(c, args)? else {
        c.send(&format!("{tag} BAD syntax\r\n"))?;
        return Ok(Flow::Continue);
    };
    let name = if name.eq_ignore_ascii_case("INBOX") {
        "INBOX".to_string()
    } else {
        name
    };
    let found = lock(&c.server.folders)
        .iter()
        .find(|f| f.name == name)
        .map(|f| (f.messages.len(), f.uidvalidity, f.uidnext));
    if c.server.setup.locked.contains(&name) {
        c.session.selected = None;
        c.send(&format!("{tag} NO Permission denied\r\n"))?;
        return Ok(Flow::Continue);
    }
    let Some((exists, validity, next)) = found else {
        c.session.selected = None;
        let code = if c.server.setup.bare_no {
            ""
        } else {
            "[NONEXISTENT] "
        };
        c.send(&format!("{tag} NO {code}Mailbox doesn't exist: {name}\r\n"))?;
        return Ok(Flow::Continue);
    };
    c.session.selected = Some(name);
    c.session.read_only = read_only;
    c.send(&format!(
        "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n* {exists} EXISTS\r\n* 0 RECENT\r\n\
         * OK [UIDVALIDITY {validity}] UIDs valid\r\n* OK [UIDNEXT {next}] Predicted next UID\r\n\
         {tag} OK [{}] done\r\n",
        if read_only { "READ-ONLY" } else { "READ-WRITE" }
    ))?;
    Ok(Flow::Continue)
}

/// `LIST "" *` lists every folder (and the locked ones), `LIST "" ""` the delimiter
/// (RFC 3501 section 6.3.8), `LIST "" NAME` that folder if it exists.
fn list(c: &mut Ctx<'_, FakeImap>, line: &str) -> io::Result<Flow> {
    let (tag, args) = parts(line);
    let tag = tag.to_string();
    let pattern = match astring(c, args)? {
        Some((_, rest)) => astring(c, &rest)?.map(|(p, _)| p),
        None => None,
    };
    let Some(pattern) = pattern else {
        c.send(&format!("{tag} BAD syntax\r\n"))?;
        return Ok(Flow::Continue);
    };
    let d = c.server.setup.delimiter;
    let mut out = String::new();
    if pattern.is_empty() {
        out.push_str(&format!("* LIST (\\Noselect) \"{d}\" \"\"\r\n"));
    }
    let names = lock(&c.server.folders)
        .iter()
        .map(|f| f.name.clone())
        .chain(c.server.setup.locked.iter().cloned())
        .collect::<Vec<_>>();
    for name in names {
        if pattern == "*" || pattern == name {
            out.push_str(&format!("* LIST (\\HasNoChildren) \"{d}\" \"{name}\"\r\n"));
        }
    }
    out.push_str(&format!("{tag} OK List completed\r\n"));
    c.send(&out)?;
    Ok(Flow::Continue)
}

fn uid(c: &mut Ctx<'_, FakeImap>, line: &str) -> io::Result<Flow> {
    let (tag, args) = parts(line);
    let tag = tag.to_string();
    let sub = line.split(' ').nth(2).unwrap_or("").to_ascii_uppercase();
    if c.session.selected.is_none() {
        c.send(&format!("{tag} BAD no folder selected\r\n"))?;
        return Ok(Flow::Continue);
    }
    match sub.as_str() {
        "SEARCH" => {
            let found = with_folder(c, |f| {
                let uids: Vec<u32> = f.messages.iter().map(|m| m.uid).collect();
                let mut keep = uids.clone();
                let words: Vec<&str> = args.split(' ').collect();
                let mut i = 0;
                while i < words.len() {
                    match words[i].to_ascii_uppercase().as_str() {
                        "UID" => {
                            let set = in_set(words.get(i + 1).unwrap_or(&""), &uids);
                            keep.retain(|u| set.contains(u));
                            i += 1;
                        }
                        "UNSEEN" => keep.retain(|u| {
                            !f.messages
                                .iter()
                                .any(|m| m.uid == *u && m.flags.iter().any(|x| x == "\\Seen"))
                        }),
                        "SINCE" => i += 1,
                        _ => {}
                    }
                    i += 1;
                }
                keep
            })
            .unwrap_or_default();
            let mut found = found;
            if let Some(extra) = lock(&c.server.faults).search_extra {
                found.push(extra);
            }
            let list: Vec<String> = found.iter().map(u32::to_string).collect();
            let sep = if list.is_empty() { "" } else { " " };
            c.send(&format!(
                "* SEARCH{sep}{}\r\n{tag} OK Search completed\r\n",
                list.join(" ")
            ))?;
        }
        "FETCH" => {
            let set = args.split(' ').next().unwrap_or("");
            let msgs = with_folder(c, |f| {
                let uids: Vec<u32> = f.messages.iter().map(|m| m.uid).collect();
                let want = in_set(set, &uids);
                f.messages
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| want.contains(&m.uid))
                    .map(|(i, m)| (i + 1, m.clone()))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
            let setup = &c.server.setup;
            let (after, noise, drop) = (setup.uid_after_body, setup.noise, setup.drop_in_literal);
            let faults = lock(&c.server.faults).clone();
            let left_out =
                |uid: u32| [faults.omit, faults.expunge_issued, faults.vanish].contains(&Some(uid));
            let issued = msgs
                .iter()
                .any(|(_, m)| [faults.expunge_issued, faults.vanish].contains(&Some(m.uid)));
            if let Some(gone) = faults.vanish {
                with_folder(c, |f| f.messages.retain(|m| m.uid != gone));
            }
            let tagged = if issued {
                format!(
                    "{tag} NO [EXPUNGEISSUED] Some of the requested messages no longer exist\r\n"
                )
            } else {
                format!("{tag} OK Fetch completed\r\n")
            };
            if faults.ok_first {
                c.send(&tagged)?;
            }
            for (seq, m) in msgs {
                if left_out(m.uid) {
                    continue;
                }
                let n = m.text.len();
                if noise {
                    c.send(&format!(
                        "* {} EXISTS\r\n* {seq} FETCH (FLAGS (\\Recent))\r\n",
                        seq + 10
                    ))?;
                }
                if Some(m.uid) == drop {
                    c.send(&format!("* {seq} FETCH (UID {} BODY[] {{{n}}}\r\n", m.uid))?;
                    c.send(&m.text[..n / 2])?;
                    c.close_control();
                    return Ok(Flow::Close);
                }
                if Some(m.uid) == setup.stall_in_literal {
                    c.send(&format!("* {seq} FETCH (UID {} BODY[] {{{n}}}\r\n", m.uid))?;
                    c.send(&m.text[..n / 2])?;
                    return Ok(Flow::Stall);
                }
                let head = if after {
                    format!("* {seq} FETCH (RFC822.SIZE {n} BODY[] {{{n}}}\r\n")
                } else {
                    format!(
                        "* {seq} FETCH (UID {} RFC822.SIZE {n} BODY[] {{{n}}}\r\n",
                        m.uid
                    )
                };
                let tail = if after {
                    format!(" UID {})\r\n", m.uid)
                } else {
                    ")\r\n".to_string()
                };
                c.send(&format!("{head}{}{tail}", m.text))?;
                if noise {
                    c.send("* 1 RECENT\r\n")?;
                }
            }
            if !faults.ok_first {
                c.send(&tagged)?;
            }
        }
        "STORE" => {
            if c.session.read_only {
                c.send(&format!("{tag} NO Mailbox is read-only\r\n"))?;
                return Ok(Flow::Continue);
            }
            let mut words = args.splitn(3, ' ');
            let set = words.next().unwrap_or("").to_string();
            let _item = words.next();
            let flags: Vec<String> = words
                .next()
                .unwrap_or("")
                .trim_matches(|ch| ch == '(' || ch == ')')
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            with_folder(c, |f| {
                let uids: Vec<u32> = f.messages.iter().map(|m| m.uid).collect();
                let want = in_set(&set, &uids);
                for m in f.messages.iter_mut().filter(|m| want.contains(&m.uid)) {
                    for fl in &flags {
                        if !m.flags.contains(fl) {
                            m.flags.push(fl.clone());
                        }
                    }
                }
            });
            c.send(&format!("{tag} OK Store completed\r\n"))?;
        }
        "EXPUNGE" if c.server.setup.uidplus => {
            let set = args.split(' ').next().unwrap_or("").to_string();
            let gone = with_folder(c, |f| {
                let uids: Vec<u32> = f.messages.iter().map(|m| m.uid).collect();
                let want = in_set(&set, &uids);
                let mut gone = Vec::new();
                let mut seq = 1;
                f.messages.retain(|m| {
                    let del = want.contains(&m.uid) && m.flags.iter().any(|x| x == "\\Deleted");
                    if del {
                        gone.push(seq);
                    } else {
                        seq += 1;
                    }
                    !del
                });
                gone
            })
            .unwrap_or_default();
            let mut out: String = gone.iter().map(|s| format!("* {s} EXPUNGE\r\n")).collect();
            out.push_str(&format!("{tag} OK Expunge completed\r\n"));
            c.send(&out)?;
        }
        _ => c.send(&format!("{tag} BAD unknown UID command\r\n"))?,
    }
    Ok(Flow::Continue)
}

fn expunge(c: &mut Ctx<'_, FakeImap>, line: &str) -> io::Result<Flow> {
    let (tag, _) = parts(line);
    let tag = tag.to_string();
    with_folder(c, |f| {
        f.messages
            .retain(|m| !m.flags.iter().any(|x| x == "\\Deleted"))
    });
    c.send(&format!("{tag} OK Expunge completed\r\n"))?;
    Ok(Flow::Continue)
}

fn noop(c: &mut Ctx<'_, FakeImap>, line: &str) -> io::Result<Flow> {
    let (tag, _) = parts(line);
    c.send(&format!("{tag} OK NOOP completed\r\n"))?;
    Ok(Flow::Continue)
}

/// IDLE (RFC 2177): `+ idling`, then `* N EXISTS` whenever the folder grows, until DONE.
fn idle(c: &mut Ctx<'_, FakeImap>, line: &str) -> io::Result<Flow> {
    let (tag, _) = parts(line);
    let tag = tag.to_string();
    let count = |c: &Ctx<'_, FakeImap>| with_folder(c, |f| f.messages.len()).unwrap_or(0);
    let mut announced = count(c);
    c.send("+ idling\r\n")?;
    loop {
        if c.stopped() {
            return Ok(Flow::Close);
        }
        let now = count(c);
        if now != announced {
            announced = now;
            c.send(&format!("* {now} EXISTS\r\n"))?;
        }
        match c.poll_line(std::time::Duration::from_millis(10))? {
            Some(Some(l)) if l.eq_ignore_ascii_case("DONE") => {
                c.send(&format!("{tag} OK Idle completed\r\n"))?;
                return Ok(Flow::Continue);
            }
            Some(Some(_)) => {
                c.send(&format!("{tag} BAD expected DONE\r\n"))?;
                return Ok(Flow::Continue);
            }
            Some(None) => return Ok(Flow::Close),
            None => {}
        }
    }
}

fn logout(c: &mut Ctx<'_, FakeImap>, line: &str) -> io::Result<Flow> {
    let (tag, _) = parts(line);
    c.send(&format!(
        "* BYE Logging out\r\n{tag} OK Logout completed\r\n"
    ))?;
    Ok(Flow::Close)
}

impl Protocol for FakeImap {
    type Session = Session;
    const COMMANDS: &'static [Command<Self>] = &[
        Command {
            verbs: &["CAPABILITY"],
            run: capability,
        },
        Command {
            verbs: &["STARTTLS"],
            run: starttls,
        },
        Command {
            verbs: &["LOGIN"],
            run: login,
        },
        Command {
            verbs: &["AUTHENTICATE"],
            run: authenticate,
        },
        Command {
            verbs: &["SELECT", "EXAMINE"],
            run: select,
        },
        Command {
            verbs: &["LIST"],
            run: list,
        },
        Command {
            verbs: &["UID SEARCH", "UID FETCH", "UID STORE", "UID EXPUNGE"],
            run: uid,
        },
        Command {
            verbs: &["EXPUNGE"],
            run: expunge,
        },
        Command {
            verbs: &["NOOP"],
            run: noop,
        },
        Command {
            verbs: &["IDLE"],
            run: idle,
        },
        Command {
            verbs: &["LOGOUT"],
            run: logout,
        },
    ];
    const LINE_TOO_LONG: &'static str = "* BAD line too long\r\n";
    const UNKNOWN: &'static str = "* BAD unknown command\r\n";
    const TOO_MANY: &'static str = "* BYE too many connections\r\n";

    fn session(&self) -> Session {
        Session::default()
    }

    /// The verb is the word after the tag (`UID FETCH` for UID commands); the handler gets
    /// the whole line, tag included.
    fn split<'l>(&self, line: &'l str) -> (&'l str, &'l str) {
        let Some((_, rest)) = line.split_once(' ') else {
            return (line, line);
        };
        let first = rest.split(' ').next().unwrap_or(rest);
        let verb = match rest.splitn(3, ' ').collect::<Vec<_>>()[..] {
            [u, w, ..] if u.eq_ignore_ascii_case("UID") => &rest[..u.len() + 1 + w.len()],
            _ => first,
        };
        (verb, line)
    }

    fn render(&self, raw: &str, arg: &str) -> String {
        let tag = arg.split(' ').next().unwrap_or("*");
        raw.replace("$TAG", tag)
    }
}
