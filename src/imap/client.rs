//! The IMAP client (RFC 3501, RFC 9051): greeting, CAPABILITY, STARTTLS (RFC 3501 section
//! 6.2.1) or implicit TLS, AUTHENTICATE (with SASL-IR, RFC 4959) or LOGIN, EXAMINE/SELECT,
//! UID SEARCH, pipelined `UID FETCH` batches streamed message by message, `UID STORE`,
//! `UID EXPUNGE` (RFC 4315), IDLE (RFC 2177), LOGOUT.
//!
//! Here the session and the simple commands, each run to its tagged end; the fetch, whose
//! commands stay in flight between calls, is in `client/pipeline.rs`, and IDLE, which
//! waits on the server, in `client/idle.rs`.

mod idle;
mod pipeline;

pub use idle::{IDLE_REISSUE, IdleEnd};
pub use pipeline::{BATCH, FetchEvent, IN_FLIGHT};

use super::parse::{self, Astring, Capabilities, Data, Folder, parse_capabilities, parse_data};
use crate::error::{Error, Kind, Result};
use crate::imap::reply::{Imap, ImapKind, ImapReply, ImapStatus, imap_literal};
use crate::net::stream::{NetStream, Transport};
use crate::net::tls::{TlsContext, TlsMode};
use crate::net::url::Target;
use crate::session::Credentials;
use crate::session::SessionOptions;
use crate::session::authenticate::{self, Sasl, Step};
use crate::session::open;
use crate::session::sasl::{self, Mechanism};
use crate::session::starttls::{self, StartTls};
use crate::wire::{Conn, printable};
use pipeline::Pipeline;
use std::time::Instant;

/// The longest UID set put in one command.
const MAX_SET: usize = 900;
/// Untagged responses tolerated while one command runs, beyond those it asked for: a bound
/// on a server that never ends a command.
const MAX_UNTAGGED: usize = 1_000_000;
/// The most octets of untagged (and continuation) response lines between two tagged ones,
/// with the literals they carry other than messages (folder names in a LIST answer, and
/// those nobody asked for, [`MAX_UNASKED`] in one response): a bound on a server that
/// floods a command with data. The largest a command asks for is
/// a SEARCH answer (one line, at most 1 MiB); what a server adds unasked (EXPUNGE and FETCH
/// FLAGS for other clients' changes, `* OK Still here` during IDLE) is tens of bytes a
/// message, so even a mass change to a folder of a million messages stays well below it.
const MAX_UNTAGGED_BYTES: u64 = 64 << 20;
/// The longest folder name taken as a literal in a LIST answer.
const MAX_NAME_LITERAL: u64 = 64 * 1024;
/// The most octets one response may carry in literals nobody asked for (a folder name in a
/// STATUS answer, an item a server adds to a FETCH), the lines between them included: far
/// more than any such item needs. A literal beyond it is refused unread, never drained
/// (`X-JUNK {999999999999}` would hold the account's lock for as long as the server likes).
const MAX_UNASKED: u64 = 64 * 1024;

/// A selected folder (RFC 3501 section 6.3.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SelectedFolder {
    pub uidvalidity: u32,
    pub uidnext: Option<u32>,
    pub exists: u32,
    pub read_only: bool,
}

/// A logged-in IMAP connection.
pub struct ImapClient<S: Transport = NetStream> {
    conn: Conn<S, Imap>,
    caps: Capabilities,
    tag: u32,
    /// The server said BYE: it is closing the connection.
    bye: Option<String>,
    selected: Option<SelectedFolder>,
    /// The selected folder's message count as the untagged responses tell it (EXISTS sets
    /// it, EXPUNGE takes one off), and how many messages they announced since the SELECT:
    /// a SEARCH may name that many UIDs at or above the UIDNEXT the SELECT gave.
    count: u32,
    arrived: u32,
    /// Octets of untagged lines (and of the literals in them other than messages) since
    /// the last tagged response, and their bound ([`MAX_UNTAGGED_BYTES`]; smaller in tests).
    untagged_bytes: u64,
    untagged_budget: u64,
    /// The fetch under way.
    fetch: Pipeline,
}

impl ImapClient<NetStream> {
    /// Connects (TLS from the first byte for imaps://), upgrades with STARTTLS as the policy
    /// says, and logs in.
    pub fn connect(target: &Target, creds: &Credentials, opts: &SessionOptions) -> Result<Self> {
        let (stream, deadline) = open::connect(target, opts)?;
        ImapClient::handshake(stream, target, creds, opts, deadline)
    }
}

impl<S: Transport> ImapClient<S> {
    /// Everything after the TCP connect (and the TLS handshake of imaps://): the greeting,
    /// CAPABILITY, STARTTLS, the login, CAPABILITY again (Dovecot shows UIDPLUS only then).
    pub fn handshake(
        stream: S,
        target: &Target,
        creds: &Credentials,
        opts: &SessionOptions,
        deadline: Instant,
    ) -> Result<Self> {
        let (conn, greeting) = open::start(stream, target, Imap, opts, deadline, |_| false)?;
        let mut client = ImapClient::over(conn, 0);
        if greeting.kind != ImapKind::Untagged || greeting.literal.is_some() {
            return Err(client.unexpected("greeting", &greeting));
        }
        let preauth = match greeting.status {
            Some(ImapStatus::Ok) => false,
            Some(ImapStatus::PreAuth) => true,
            Some(ImapStatus::Bye) => {
                return Err(Error::new(
                    Kind::TempFail,
                    format!(
                        "{}: the server refused the connection: BYE {}",
                        client.peer(),
                        greeting.text()
                    ),
                ));
            }
            _ => return Err(client.unexpected("greeting", &greeting)),
        };
        match greeting.resp_code().and_then(parse::capability_code) {
            Some(list) => client.caps = parse_capabilities(list),
            None => client.capability()?,
        }
        if preauth {
            // Already logged in: STARTTLS is not allowed any more (RFC 3501 section 6.2.1).
            // In cleartext anyone on the path can say PREAUTH and serve a folder of its own
            // (the STARTTLS-stripping class: Poddebniak et al., USENIX Security 2021), so
            // only --tls none, which asked for no protection, takes it.
            if !target.scheme.implicit_tls() && !client.is_tls() && opts.tls_mode != TlsMode::None {
                return Err(Error::new(
                    Kind::Unavailable,
                    format!(
                        "{}: the server says we are logged in already (PREAUTH) on a connection without TLS, which anyone on the path could have said; refusing (use --tls none to allow it)",
                        client.peer()
                    ),
                ));
            }
        } else {
            client = starttls::starttls(client, target, opts, Some(creds))?;
        }
        open::end_phase(&mut client.conn, opts);
        if !preauth {
            client.login(creds)?;
        }
        Ok(client)
    }

    /// A session on `conn` that knows nothing yet (no capabilities, no folder), its next
    /// tag after `tag`: a new connection, or one just upgraded to TLS (RFC 3501 section
    /// 6.2.1: what was learnt before is forgotten).
    fn over(conn: Conn<S, Imap>, tag: u32) -> Self {
        ImapClient {
            conn,
            caps: Capabilities::default(),
            tag,
            bye: None,
            selected: None,
            count: 0,
            arrived: 0,
            untagged_bytes: 0,
            untagged_budget: MAX_UNTAGGED_BYTES,
            fetch: Pipeline::default(),
        }
    }

    pub fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    pub fn is_tls(&self) -> bool {
        self.conn.stream().is_tls()
    }

    pub fn peer(&self) -> &str {
        self.conn.peer()
    }

    /// The folder selected last.
    pub fn selected(&self) -> Option<&SelectedFolder> {
        self.selected.as_ref()
    }

    /// Whether the connection can still take commands.
    pub fn is_usable(&self) -> bool {
        !self.conn.is_broken() && self.bye.is_none()
    }

    fn next_tag(&mut self) -> String {
        self.tag += 1;
        format!("a{}", self.tag)
    }

    fn unexpected(&self, what: &str, r: &ImapReply) -> Error {
        Error::new(
            Kind::Protocol,
            format!(
                "{}: {what}: unexpected response from the server: {}",
                self.peer(),
                describe(r)
            ),
        )
    }

    /// Sends `TAG command` and returns the tag.
    fn send(&mut self, command: &str) -> Result<String> {
        let tag = self.next_tag();
        self.conn.send_command(&tag, Some(command))?;
        Ok(tag)
    }

    /// Reads one response line; a timeout names what got no answer.
    fn read(&mut self, what: &str) -> Result<ImapReply> {
        let r = self.read_line(what)?;
        if let ImapKind::Tagged(_) = r.kind {
            self.untagged_bytes = 0;
        } else {
            // The line as it came: the text, and what the parser took off it.
            self.untagged_bytes += r.text.len() as u64 + 16;
            if self.untagged_bytes > self.untagged_budget {
                return Err(Error::new(
                    Kind::Protocol,
                    format!(
                        "{}: {what}: more than {} of untagged responses before the command's end",
                        self.peer(),
                        match self.untagged_budget {
                            b if b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
                            b => format!("{b} octets"),
                        }
                    ),
                ));
            }
        }
        Ok(r)
    }

    fn read_line(&mut self, what: &str) -> Result<ImapReply> {
        let idle = self.conn.reply_timeout();
        let bye = self.bye.clone();
        self.conn.read_reply().map_err(|e| match e {
            e if e.kind() == Kind::Timeout => e.with_message(format!(
                "{}: no reply to {what} within {} s",
                self.conn.peer(),
                idle.map_or(0.0, |d| d.as_secs_f64())
            )),
            e => match bye {
                // The server said why it closed.
                Some(text) if e.kind() == Kind::Io => Error::new(
                    Kind::TempFail,
                    format!(
                        "{}: {what}: the server closed the connection: BYE {text}",
                        self.conn.peer()
                    ),
                ),
                _ => e,
            },
        })
    }

    /// Reads and drops the literals (and the rest of the line after each) of an untagged
    /// response nobody wants, within [`MAX_UNASKED`].
    fn skip_literals(&mut self, mut literal: Option<u64>) -> Result<()> {
        let mut budget = MAX_UNASKED;
        while let Some(n) = literal {
            let rest = self.skip_unasked(n, &mut budget)?;
            literal = imap_literal(&rest);
        }
        Ok(())
    }

    /// Reads and drops a literal of `len` octets nobody asked for and the rest of its line
    /// (returned), charged to `budget`, what is left of its response's [`MAX_UNASKED`]. A
    /// literal beyond it is refused unread.
    fn skip_unasked(&mut self, len: u64, budget: &mut u64) -> Result<Vec<u8>> {
        if len > *budget {
            // Begun and never read: the engine counts the connection as out of step.
            let _ = self.conn.literal(len)?;
            return Err(Error::new(
                Kind::Protocol,
                format!(
                    "{}: a literal of {len} octets nobody asked for (more than {} KiB in one response): not read",
                    self.peer(),
                    MAX_UNASKED / 1024
                ),
            ));
        }
        *budget -= len;
        self.conn.literal(len)?.skip()?;
        let rest = self.conn.read_line_raw()?;
        *budget = budget.saturating_sub(rest.len() as u64);
        // Also part of the untagged responses (MAX_UNTAGGED_BYTES, checked at the next
        // line): else a million responses of 64 KiB each would be drained.
        self.untagged_bytes += len + rest.len() as u64;
        Ok(rest)
    }

    /// What any untagged response tells us, whatever command is running: capabilities,
    /// BYE, the selected folder's size. Returns the response's data for the caller.
    fn note_untagged(&mut self, r: &ImapReply) -> Result<()> {
        match r.status {
            Some(ImapStatus::Bye) => self.bye = Some(r.text()),
            Some(_) => {
                if let (Some(code), Some(m)) = (r.resp_code(), self.selected.as_mut()) {
                    if let Some(v) = parse::code_number(code, "UIDVALIDITY") {
                        m.uidvalidity = v;
                    } else if let Some(v) = parse::code_number(code, "UIDNEXT") {
                        m.uidnext = Some(v);
                    }
                }
                if let Some(list) = r.resp_code().and_then(parse::capability_code) {
                    self.caps = parse_capabilities(list);
                }
            }
            None => match parse_data(&r.text) {
                Ok(Data::Capability(list)) => self.caps = parse_capabilities(list),
                Ok(Data::Exists(n)) => {
                    if let Some(m) = self.selected.as_mut() {
                        m.exists = n;
                    }
                    self.arrived = self.arrived.saturating_add(n.saturating_sub(self.count));
                    self.count = n;
                }
                Ok(Data::Expunge(_)) => self.count = self.count.saturating_sub(1),
                Ok(_) => {}
                Err(why) => {
                    return Err(Error::new(
                        Kind::Protocol,
                        format!(
                            "{}: malformed response from the server ({why}): {}",
                            self.peer(),
                            describe(r)
                        ),
                    ));
                }
            },
        }
        Ok(())
    }

    /// Reads responses until the tagged one for `tag`, handing each untagged one to
    /// `on_data`, which returns whether it read the response's literals itself (else they
    /// are skipped).
    fn finish(
        &mut self,
        tag: &str,
        what: &str,
        mut on_data: impl FnMut(&mut Self, &ImapReply) -> Result<bool>,
    ) -> Result<ImapReply> {
        for _ in 0..MAX_UNTAGGED {
            let r = self.read(what)?;
            match &r.kind {
                ImapKind::Tagged(t) if t.as_slice() == tag.as_bytes() => return Ok(r),
                ImapKind::Tagged(_) | ImapKind::Continuation => {
                    return Err(self.unexpected(what, &r));
                }
                ImapKind::Untagged => {
                    self.note_untagged(&r)?;
                    if !on_data(self, &r)? {
                        self.skip_literals(r.literal)?;
                    }
                }
            }
        }
        Err(Error::new(
            Kind::Protocol,
            format!(
                "{}: {what}: more than {MAX_UNTAGGED} untagged responses",
                self.peer()
            ),
        ))
    }

    /// Runs a command to its tagged end, refusing anything but OK.
    fn simple(&mut self, command: &str, what: &str) -> Result<ImapReply> {
        let tag = self.send(command)?;
        let r = self.finish(&tag, what, |_, _| Ok(false))?;
        self.expect_ok(r, what)
    }

    fn expect_ok(&self, r: ImapReply, what: &str) -> Result<ImapReply> {
        if r.status == Some(ImapStatus::Ok) {
            Ok(r)
        } else {
            Err(crate::wire::reply::Response::error(
                &r,
                &format!("{}: {what}", self.peer()),
            ))
        }
    }

    /// CAPABILITY (RFC 3501 section 6.1.1).
    fn capability(&mut self) -> Result<()> {
        self.simple("CAPABILITY", "CAPABILITY")?;
        Ok(())
    }

    /// Logs in: AUTHENTICATE with the best mechanism offered (or the one forced), else
    /// LOGIN unless the server disabled it; then CAPABILITY again unless the tagged OK
    /// carried it (Dovecot announces UIDPLUS only after the login).
    fn login(&mut self, creds: &Credentials) -> Result<()> {
        let offered: Vec<&str> = self.caps.auth.iter().map(String::as_str).collect();
        let forced = creds.forced_mechanism()?;
        let mech = match sasl::choose(&offered, forced, creds.is_token()) {
            Ok(m) => Some(m),
            // Nothing usable offered: LOGIN is the fallback for a password.
            Err(e) if forced.is_none() && !creds.is_token() && e.kind() == Kind::Unavailable => {
                None
            }
            Err(e) => return Err(e.context(self.peer().to_string())),
        };
        let ok = match mech {
            Some(m) => {
                let mut sasl = Authenticate {
                    client: self,
                    tag: String::new(),
                };
                authenticate::authenticate(&mut sasl, m, creds)?
            }
            None if self.caps.logindisabled => {
                return Err(Error::new(
                    Kind::Unavailable,
                    format!(
                        "{}: the server disabled LOGIN (LOGINDISABLED) and offers no mechanism posthaste speaks (it offers: {})",
                        self.peer(),
                        if offered.is_empty() {
                            "none".to_string()
                        } else {
                            printable(&offered.join(" "))
                        }
                    ),
                ));
            }
            None => self.login_command(creds)?,
        };
        match ok.resp_code().and_then(parse::capability_code) {
            Some(list) => self.caps = parse_capabilities(list),
            None => self.capability()?,
        }
        Ok(())
    }

    /// The error of a refused login: a plain NO is 77 whatever its code, unless the code
    /// says to try later (75).
    fn login_failed(&self, r: &ImapReply, context: &str) -> Error {
        let e = crate::wire::reply::Response::error(r, &context);
        match e.kind() {
            Kind::Unavailable | Kind::Protocol if r.status == Some(ImapStatus::No) => {
                e.with_kind(Kind::Auth)
            }
            _ => e,
        }
    }

    /// LOGIN (RFC 3501 section 6.2.3): user name and password as atoms, quoted strings or
    /// literals, whichever each needs; the password never appears in the transcript.
    fn login_command(&mut self, login: &Credentials) -> Result<ImapReply> {
        let tag = self.next_tag();
        let user = parse::astring(&login.user);
        let pass = parse::astring(login.secret());
        let failed = format!("{}: login as {}", self.peer(), login.user);
        // The line so far; a literal ends it, and what follows goes after the server's "+".
        let mut line = format!("{tag} LOGIN");
        let mut pieces: Vec<(String, bool)> = Vec::new(); // (text, secret)
        let mut secret_line = false;
        for (arg, secret) in [(user, false), (pass, true)] {
            match arg {
                Astring::Atom(a) | Astring::Quoted(a) => {
                    line.push(' ');
                    line.push_str(&a);
                    secret_line |= secret;
                }
                Astring::Literal(l) => {
                    line.push_str(&format!(" {{{}}}", l.len()));
                    pieces.push((std::mem::take(&mut line), secret_line));
                    secret_line = secret;
                    line = l;
                }
            }
        }
        pieces.push((line, secret_line));
        let last = pieces.len() - 1;
        for (i, (text, secret)) in pieces.into_iter().enumerate() {
            if i == 0 {
                // `TAG LOGIN user ****` is redacted by the engine.
                let (t, rest) = text.split_once(' ').unwrap_or((&text, ""));
                self.conn.send_command(t, Some(rest))?;
            } else if secret {
                self.conn.send_secret_line(&text)?;
            } else {
                self.conn.send_command(&text, None)?;
            }
            if i < last {
                // A synchronizing literal: wait for the server's go-ahead.
                loop {
                    let r = self.read("LOGIN")?;
                    match r.kind {
                        ImapKind::Continuation => break,
                        ImapKind::Untagged => {
                            self.note_untagged(&r)?;
                            self.skip_literals(r.literal)?;
                        }
                        ImapKind::Tagged(_) => return Err(self.login_failed(&r, &failed)),
                    }
                }
            }
        }
        let r = self.finish(&tag, "LOGIN", |_, _| Ok(false))?;
        if r.status != Some(ImapStatus::Ok) {
            return Err(self.login_failed(&r, &failed));
        }
        Ok(r)
    }

    /// EXAMINE (read-only) or SELECT `folder` (a name in UTF-8, sent in modified UTF-7).
    pub fn select(&mut self, folder: &str, read_only: bool) -> Result<SelectedFolder> {
        let verb = if read_only { "EXAMINE" } else { "SELECT" };
        let name = quote(&parse::utf7_encode(folder));
        self.selected = Some(SelectedFolder::default());
        let what = format!("{verb} {}", printable(folder));
        let tag = self.send(&format!("{verb} {name}"))?;
        let r = self.finish(&tag, &what, |_, _| Ok(false))?;
        let mut m = self.selected.take().unwrap_or_default();
        if r.status != Some(ImapStatus::Ok) {
            let e = crate::wire::reply::Response::error(
                &r,
                &format!("{}: folder {}", self.peer(), printable(folder)),
            );
            return Err(self.missing(&r, folder).unwrap_or(e));
        }
        if m.uidvalidity == 0 {
            return Err(Error::new(
                Kind::Protocol,
                format!(
                    "{}: {what}: the server sent no UIDVALIDITY: UIDs cannot be relied on",
                    self.peer()
                ),
            ));
        }
        m.read_only = r
            .resp_code()
            .is_some_and(|c| c.eq_ignore_ascii_case(b"READ-ONLY"));
        self.count = m.exists;
        self.arrived = 0;
        self.selected = Some(m.clone());
        Ok(m)
    }

    /// A `NO` to SELECT/EXAMINE without `[NONEXISTENT]` (RFC 5530; Dovecot sends none) is
    /// a missing folder when LIST does not show its name: then 66, not the 69 of any other
    /// refusal. A LIST that fails itself leaves the server's own words.
    fn missing(&mut self, r: &ImapReply, folder: &str) -> Option<Error> {
        if r.status != Some(ImapStatus::No) || r.resp_code().is_some() {
            return None;
        }
        let wire = parse::utf7_encode(folder);
        let listed = self.list_matching(&quote(&wire)).ok()?;
        let inbox = wire.eq_ignore_ascii_case("INBOX");
        let found = listed
            .iter()
            .any(|f| f.raw == wire.as_bytes() || (inbox && f.raw.eq_ignore_ascii_case(b"INBOX")));
        (!found).then(|| {
            Error::new(
                Kind::NoInput,
                format!(
                    "{}: no folder {} on the server (LIST shows the folders: --list-folders)",
                    self.peer(),
                    printable(folder)
                ),
            )
        })
    }

    /// The folder a URL's path names (RFC 5092): its `/` separates levels, so it becomes
    /// the hierarchy delimiter `LIST "" ""` reports (RFC 3501 section 6.3.8) when that is
    /// another (Dovecot's default `.`). A flat namespace (no delimiter) keeps the name.
    pub fn url_folder(&mut self, path: &str) -> Result<String> {
        if !path.contains('/') {
            return Ok(path.to_string());
        }
        let root = self.list_matching("\"\"")?;
        match root.first().and_then(|f| f.delimiter) {
            Some(d) if d != b'/' && d.is_ascii() => {
                Ok(path.replace('/', &char::from(d).to_string()))
            }
            _ => Ok(path.to_string()),
        }
    }

    /// `UID SEARCH criteria`: the matching UIDs, ascending. An answer that names a UID no
    /// message of the folder can have (`parse::check_search`: 0, or at or above UIDNEXT
    /// for a message never announced) is a protocol error, never a UID to fetch or record.
    pub fn uid_search(&mut self, criteria: &str) -> Result<Vec<u32>> {
        let what = format!("UID SEARCH {criteria}");
        let tag = self.send(&what)?;
        let mut uids = Vec::new();
        let mut bad = None;
        let r = self.finish(&tag, &what, |_, r| {
            if r.status.is_none() {
                if let Ok(Data::Search(list)) = parse_data(&r.text) {
                    match parse::parse_search(list) {
                        Ok(mut u) => uids.append(&mut u),
                        Err(why) => bad = Some(why),
                    }
                }
            }
            Ok(false)
        })?;
        if let Some(why) = bad {
            return Err(Error::new(
                Kind::Protocol,
                format!("{}: {what}: malformed SEARCH answer ({why})", self.peer()),
            ));
        }
        self.expect_ok(r, &what)?;
        uids.sort_unstable();
        uids.dedup();
        let uidnext = self.selected.as_ref().and_then(|m| m.uidnext);
        parse::check_search(&uids, uidnext, self.arrived).map_err(|why| {
            Error::new(
                Kind::Protocol,
                format!("{}: {what}: the answer names {why}", self.peer()),
            )
        })?;
        Ok(uids)
    }

    /// Which of `uids` (ascending) the selected folder still holds: a NOOP first lets the
    /// server report what other sessions expunged (RFC 3501 section 6.1.2), then
    /// `UID SEARCH UID set`. What a FETCH left out is either gone or still owed.
    pub fn uids_present(&mut self, uids: &[u32]) -> Result<Vec<u32>> {
        self.simple("NOOP", "NOOP")?;
        let mut present = Vec::new();
        for (set, members) in parse::uid_sets(uids, usize::MAX, MAX_SET) {
            let found = self.uid_search(&format!("UID {set}"))?;
            present.extend(
                found
                    .into_iter()
                    .filter(|u| members.binary_search(u).is_ok()),
            );
        }
        Ok(present)
    }

    /// `LIST "" *`: every folder, names decoded from modified UTF-7 where they are.
    pub fn list(&mut self) -> Result<Vec<Folder>> {
        self.list_matching("*")
    }

    /// `LIST "" PATTERN`, the pattern as it goes on the wire (an atom or quoted string).
    fn list_matching(&mut self, pattern: &str) -> Result<Vec<Folder>> {
        let tag = self.send(&format!("LIST \"\" {pattern}"))?;
        let mut folders = Vec::new();
        let r = self.finish(&tag, "LIST", |c, r| {
            if r.status.is_some() {
                return Ok(false);
            }
            let Ok(Data::List(text)) = parse_data(&r.text) else {
                return Ok(false);
            };
            let literal = match r.literal {
                Some(n) if n <= MAX_NAME_LITERAL => {
                    let mut name = Vec::with_capacity(n as usize);
                    let mut lit = c.conn.literal(n)?;
                    let mut buf = [0u8; 4096];
                    loop {
                        match lit.read(&mut buf)? {
                            0 => break,
                            k => name.extend_from_slice(&buf[..k]),
                        }
                    }
                    let rest = c.conn.read_line_raw()?;
                    if !rest.is_empty() {
                        return Err(Error::new(
                            Kind::Protocol,
                            format!("{}: LIST: text after a folder name", c.peer()),
                        ));
                    }
                    // Held until the end: part of the untagged responses' bound.
                    c.untagged_bytes += n;
                    Some(name)
                }
                Some(_) => {
                    return Err(Error::new(
                        Kind::Protocol,
                        format!("{}: LIST: a folder name longer than 64 KiB", c.peer()),
                    ));
                }
                None => None,
            };
            let taken = literal.is_some();
            let f = parse::parse_list(text, literal).map_err(|why| {
                Error::new(
                    Kind::Protocol,
                    format!(
                        "{}: LIST: malformed answer ({why}): {}",
                        c.peer(),
                        describe(r)
                    ),
                )
            })?;
            folders.push(f);
            Ok(taken)
        })?;
        self.expect_ok(r, "LIST")?;
        Ok(folders)
    }

    /// LOGOUT (RFC 3501 section 6.1.3), then closes the connection; errors are ignored: what
    /// mattered is done.
    pub fn logout(mut self) {
        self.conn.say_farewell();
        if self.is_usable() {
            let _ = self.simple("LOGOUT", "LOGOUT");
        }
        self.conn.stream_mut().close();
    }
}

/// STARTTLS (RFC 3501 section 6.2.1), when CAPABILITY lists it; CAPABILITY again over TLS.
impl<S: Transport> StartTls for ImapClient<S> {
    const COMMAND: &'static str = "STARTTLS";

    fn not_offered(&self) -> Option<String> {
        (!self.caps.starttls).then(|| "it does not announce STARTTLS".to_string())
    }

    fn ask(&mut self) -> Result<std::result::Result<(), String>> {
        let tag = self.send("STARTTLS")?;
        let r = self.finish(&tag, "STARTTLS", |_, _| Ok(false))?;
        Ok(match r.status {
            Some(ImapStatus::Ok) => Ok(()),
            Some(ImapStatus::No) => Err(format!("NO {}", r.text())),
            _ => Err(format!("BAD {}", r.text())),
        })
    }

    fn upgrade(self, tls: &TlsContext, host: &str) -> Result<Self> {
        let ImapClient { conn, tag, .. } = self;
        let mut upgraded = ImapClient::over(conn.start_tls(tls, host)?, tag);
        upgraded.capability()?;
        Ok(upgraded)
    }
}

/// AUTHENTICATE (RFC 3501 section 6.2.2) on a client, its tag once sent: `+ ` challenges,
/// the tagged reply at the end, untagged data between them noted as ever. The initial
/// response goes on the command line only with SASL-IR (RFC 4959).
struct Authenticate<'c, S: Transport> {
    client: &'c mut ImapClient<S>,
    tag: String,
}

impl<S: Transport> Sasl for Authenticate<'_, S> {
    type Stream = S;
    type Dialect = Imap;
    const COMMAND: &'static str = "AUTHENTICATE";

    fn conn_mut(&mut self) -> &mut Conn<S, Imap> {
        &mut self.client.conn
    }

    fn initial_response_limit(&self) -> Option<usize> {
        // No limit of its own: the engine's bound on a command line applies.
        self.client.caps.sasl_ir.then_some(usize::MAX)
    }

    fn start(&mut self, mech: Mechanism, initial: Option<&str>) -> Result<()> {
        self.tag = self.client.send(&match initial {
            Some(ir) => format!("AUTHENTICATE {} {ir}", mech.name()),
            None => format!("AUTHENTICATE {}", mech.name()),
        })?;
        Ok(())
    }

    fn step(&mut self, what: &str) -> Result<Step<ImapReply>> {
        for _ in 0..MAX_UNTAGGED {
            let r = self.client.read(what)?;
            match &r.kind {
                ImapKind::Continuation => return Ok(Step::Challenge(r.text.clone())),
                ImapKind::Untagged => {
                    self.client.note_untagged(&r)?;
                    self.client.skip_literals(r.literal)?;
                }
                ImapKind::Tagged(t) if t.as_slice() == self.tag.as_bytes() => {
                    return Ok(if r.status == Some(ImapStatus::Ok) {
                        Step::Success(r)
                    } else {
                        Step::Failure(r)
                    });
                }
                ImapKind::Tagged(_) => return Err(self.client.unexpected(what, &r)),
            }
        }
        Err(Error::new(
            Kind::Protocol,
            format!(
                "{}: {what}: more than {MAX_UNTAGGED} untagged responses",
                self.client.peer()
            ),
        ))
    }

    fn refused(&self, r: &ImapReply, context: &str) -> Error {
        self.client.login_failed(r, context)
    }
}

fn describe(r: &ImapReply) -> String {
    let head = match &r.kind {
        ImapKind::Untagged => "*".to_string(),
        ImapKind::Continuation => "+".to_string(),
        ImapKind::Tagged(t) => printable(&String::from_utf8_lossy(t)),
    };
    let status = match r.status {
        Some(ImapStatus::Ok) => " OK",
        Some(ImapStatus::No) => " NO",
        Some(ImapStatus::Bad) => " BAD",
        Some(ImapStatus::PreAuth) => " PREAUTH",
        Some(ImapStatus::Bye) => " BYE",
        None => "",
    };
    format!("\"{head}{status} {}\"", printable(&r.text()))
}

/// A folder name (already modified UTF-7, so ASCII) as an atom or a quoted string.
fn quote(name: &str) -> String {
    match parse::astring(name) {
        Astring::Atom(a) | Astring::Quoted(a) | Astring::Literal(a) => a,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net;
    use crate::net::url::Scheme;
    use crate::wire::tests::{MockStream, collecting};
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD as B64;
    use std::time::Duration;

    pub(super) fn target(url: &str) -> Target {
        Target::parse(url, &[Scheme::Imap, Scheme::Imaps]).unwrap()
    }

    pub(super) fn connect(
        parts: &[&[u8]],
        chunk: usize,
        url: &str,
        login: &Credentials,
        o: &SessionOptions,
    ) -> Result<ImapClient<MockStream>> {
        ImapClient::handshake(
            MockStream::scripted(parts, chunk),
            &target(url),
            login,
            o,
            Instant::now() + Duration::from_secs(5),
        )
    }

    /// The handshake at `imap://h/` on `parts`, read `chunk` bytes at a time, as `login`.
    fn handshake(
        parts: &[&[u8]],
        chunk: usize,
        login: &Credentials,
        o: &SessionOptions,
    ) -> Result<ImapClient<MockStream>> {
        connect(parts, chunk, "imap://h/", login, o)
    }

    /// How a handshake on `parts` as `creds` at `imap://h/` under `mode` fails.
    fn refused(parts: &[&[u8]], creds: &Credentials, mode: TlsMode) -> Error {
        handshake(parts, 64, creds, &SessionOptions::test(mode))
            .err()
            .unwrap()
    }

    const GREETING: &[u8] =
        b"* OK [CAPABILITY IMAP4rev1 SASL-IR STARTTLS AUTH=PLAIN LOGINDISABLED] ready\r\n";

    /// Reads every message of the fetch: (uid, bytes) in order, and the batches.
    pub(super) type Drained = (Vec<(u32, Vec<u8>)>, Vec<Vec<u32>>);

    pub(super) fn drain(c: &mut ImapClient<MockStream>) -> Result<Drained> {
        let (drained, missing) = drain_missing(c)?;
        assert!(missing.is_empty(), "{missing:?}");
        Ok(drained)
    }

    /// [`drain`], and the UIDs the batches said did not come.
    pub(super) fn drain_missing(c: &mut ImapClient<MockStream>) -> Result<(Drained, Vec<u32>)> {
        let mut msgs = Vec::new();
        let mut batches = Vec::new();
        let mut missing = Vec::new();
        let mut buf = [0u8; 7];
        loop {
            match c.next_event()? {
                FetchEvent::Message { size } => {
                    let mut got = Vec::new();
                    let uid = c.read_message(&mut buf, |d| {
                        got.extend_from_slice(d);
                        Ok(())
                    })?;
                    assert_eq!(got.len() as u64, size);
                    msgs.push((uid, got));
                }
                FetchEvent::Batch {
                    uids,
                    missing: mut m,
                } => {
                    batches.push(uids);
                    missing.append(&mut m);
                }
                FetchEvent::Done => return Ok(((msgs, batches), missing)),
            }
        }
    }

    #[test]
    fn starttls_authenticate_examine_search_fetch_at_every_chunking() {
        let fetch: &[u8] = b"* 1 FETCH (UID 7 RFC822.SIZE 12 BODY[] {12}\r\nSubject: a\r\n)\r\n\
* 3 EXISTS\r\n\
* 2 FETCH (BODY[] {6}\r\nhi\r\n\r\n UID 9 FLAGS (\\Recent))\r\n\
* 2 FETCH (FLAGS (\\Seen))\r\n\
a6 OK done\r\n";
        let parts: Vec<&[u8]> = vec![
            GREETING,
            b"a1 OK begin TLS\r\n",
            b"* CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN AUTH=SCRAM-SHA-1\r\na2 OK\r\n",
            b"a3 OK [CAPABILITY IMAP4rev1 UIDPLUS IDLE] logged in\r\n",
            b"* 2 EXISTS\r\n* OK [UIDVALIDITY 42] x\r\n* OK [UIDNEXT 10] y\r\na4 OK [READ-ONLY] done\r\n",
            b"* SEARCH 9 7\r\na5 OK\r\n",
            fetch,
        ];
        for chunk in [1, 2, 3, 7, 64, 4096] {
            let (t, seen) = collecting();
            let mut o = SessionOptions::test(TlsMode::Auto);
            o.transcript = Some(t);
            let mut c = connect(
                &parts,
                chunk,
                "imap://bob@mail.example/",
                &Credentials::password("bob", "hunter2"),
                &o,
            )
            .unwrap();
            assert!(c.is_tls());
            assert!(c.capabilities().uidplus && c.capabilities().idle);
            let m = c.select("INBOX", true).unwrap();
            assert_eq!(
                m,
                SelectedFolder {
                    uidvalidity: 42,
                    uidnext: Some(10),
                    exists: 2,
                    read_only: true
                }
            );
            let uids = c.uid_search("ALL").unwrap();
            assert_eq!(uids, [7, 9]);
            c.start_fetch(&uids);
            let (msgs, batches) = drain(&mut c).unwrap();
            assert_eq!(
                msgs,
                [(7, b"Subject: a\r\n".to_vec()), (9, b"hi\r\n\r\n".to_vec())]
            );
            assert_eq!(batches, [vec![7, 9]]);
            let wire = c.conn.stream().written_str();
            assert!(
                wire.contains("a3 AUTHENTICATE PLAIN AGJvYgBodW50ZXIy\r\n"),
                "{wire}"
            );
            assert!(wire.ends_with("a4 EXAMINE INBOX\r\na5 UID SEARCH ALL\r\na6 UID FETCH 7,9 (UID RFC822.SIZE BODY.PEEK[])\r\n"), "{wire}");
            let seen = seen.lock().unwrap().join("\n");
            assert!(seen.contains("C: a3 AUTHENTICATE PLAIN ****"), "{seen}");
            assert!(
                !seen.contains("AGJvYgBodW50ZXIy") && !seen.contains("Subject: a"),
                "{seen}"
            );
        }
    }

    #[test]
    fn a_refusal_that_repeats_the_password_does_not_show_it() {
        let parts: Vec<&[u8]> = vec![
            GREETING,
            b"a1 OK begin TLS\r\n",
            b"* CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN\r\na2 OK\r\n",
            b"a3 NO [AUTHENTICATIONFAILED] wrong password hunter2\r\n",
        ];
        let (t, seen) = collecting();
        let mut o = SessionOptions::test(TlsMode::Auto);
        o.transcript = Some(t);
        let e = connect(
            &parts,
            64,
            "imap://bob@mail.example/",
            &Credentials::password("bob", "hunter2"),
            &o,
        )
        .err()
        .unwrap();
        assert_eq!(e.exit_code(), 77, "{e}");
        assert!(!e.to_string().contains("hunter2"), "{e}");
        assert!(e.to_string().contains("wrong password ****"), "{e}");
        let seen = seen.lock().unwrap().join("\n");
        assert!(!seen.contains("hunter2"), "{seen}");
    }

    #[test]
    fn no_starttls_means_no_password_in_cleartext() {
        let parts: Vec<&[u8]> = vec![b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi\r\n"];
        let login = Credentials::password("bob", "pw");
        let e = refused(&parts, &login, TlsMode::Auto);
        assert_eq!(e.exit_code(), 69);
        assert!(e.to_string().contains("--tls none"), "{e}");
        let e = refused(&parts, &login, TlsMode::Required);
        assert!(e.to_string().contains("--tls required"), "{e}");
        // STARTTLS refused.
        let parts: Vec<&[u8]> = vec![
            b"* OK [CAPABILITY IMAP4rev1 STARTTLS] hi\r\n",
            b"a1 NO not now\r\n",
        ];
        let e = refused(&parts, &login, TlsMode::Auto);
        assert_eq!(e.exit_code(), 69, "{e}");
    }

    #[test]
    fn bytes_before_the_handshake_are_refused() {
        let parts: Vec<&[u8]> = vec![
            b"* OK [CAPABILITY IMAP4rev1 STARTTLS] hi\r\n",
            b"a1 OK go\r\n* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] injected\r\n",
        ];
        let e = refused(&parts, &Credentials::password("u", "p"), TlsMode::Auto);
        assert_eq!(e.exit_code(), 76);
        assert!(e.to_string().contains("before the TLS handshake"), "{e}");
    }

    #[test]
    fn login_with_quoted_strings_and_literals_hides_the_password() {
        // `--tls none`, no AUTH= offered: LOGIN.
        let (t, seen) = collecting();
        let mut o = SessionOptions::test(TlsMode::None);
        o.transcript = Some(t);
        let parts: Vec<&[u8]> = vec![
            b"* OK [CAPABILITY IMAP4rev1] hi\r\n",
            b"+ go on\r\n",
            b"a1 OK [CAPABILITY IMAP4rev1 UIDPLUS] in\r\n",
        ];
        let c = handshake(
            &parts,
            1,
            &Credentials::password("bob smith", "p\u{e4}ss"),
            &o,
        )
        .unwrap();
        assert!(c.capabilities().uidplus);
        assert_eq!(
            c.conn.stream().written_str(),
            "a1 LOGIN \"bob smith\" {5}\r\np\u{e4}ss\r\n"
        );
        assert_eq!(
            seen.lock().unwrap().join("\n"),
            "S: * OK [CAPABILITY IMAP4rev1] hi\nC: a1 LOGIN \"bob smith\" ****\nS: + go on\nC: ****\nS: a1 OK [CAPABILITY IMAP4rev1 UIDPLUS] in"
        );
        // Both as literals.
        let parts: Vec<&[u8]> = vec![
            b"* OK [CAPABILITY IMAP4rev1] hi\r\n",
            b"+ \r\n",
            b"+ \r\n",
            b"a1 OK in\r\n",
            b"* CAPABILITY IMAP4rev1\r\na2 OK\r\n",
        ];
        let c = handshake(
            &parts,
            3,
            &Credentials::password("j\u{f6}rg", "\u{e9}t\u{e9}"),
            &SessionOptions::test(TlsMode::None),
        )
        .unwrap();
        assert_eq!(
            c.conn.stream().written_str(),
            "a1 LOGIN {5}\r\nj\u{f6}rg {5}\r\n\u{e9}t\u{e9}\r\na2 CAPABILITY\r\n"
        );
        // A refused login is 77.
        let parts: Vec<&[u8]> = vec![
            b"* OK [CAPABILITY IMAP4rev1] hi\r\n",
            b"a1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n",
        ];
        let e = refused(&parts, &Credentials::password("bob", "bad"), TlsMode::None);
        assert_eq!(e.exit_code(), 77);
        assert!(!e.to_string().contains("bad"), "{e}");
        let parts: Vec<&[u8]> = vec![b"* OK [CAPABILITY IMAP4rev1] hi\r\n", b"a1 NO no\r\n"];
        let e = refused(&parts, &Credentials::password("bob", "bad"), TlsMode::None);
        assert_eq!(e.exit_code(), 77);
        // LOGINDISABLED and nothing else: refused before anything is sent.
        let parts: Vec<&[u8]> =
            vec![b"* OK [CAPABILITY IMAP4rev1 LOGINDISABLED AUTH=GSSAPI] hi\r\n"];
        let e = refused(&parts, &Credentials::password("bob", "pw"), TlsMode::None);
        assert_eq!(e.exit_code(), 69);
        assert!(e.to_string().contains("LOGINDISABLED"), "{e}");
    }

    #[test]
    fn xoauth2_with_sasl_ir_and_its_error_detail() {
        let o = SessionOptions::test(TlsMode::None);
        let ok: Vec<&[u8]> = vec![
            b"* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=XOAUTH2 AUTH=PLAIN] hi\r\n",
            b"a1 OK [CAPABILITY IMAP4rev1] in\r\n",
        ];
        let c = handshake(
            &ok,
            5,
            &Credentials::token("bob@example.com", "ya29.tok"),
            &o,
        )
        .unwrap();
        let wire = c.conn.stream().written_str();
        let ir = B64.encode("user=bob@example.com\x01auth=Bearer ya29.tok\x01\x01");
        assert_eq!(wire, format!("a1 AUTHENTICATE XOAUTH2 {ir}\r\n"));
        // A refused token: the server's JSON comes as a challenge, answered empty, then NO.
        let json = B64.encode(r#"{"status":"401","schemes":"bearer"}"#);
        let challenge = format!("+ {json}\r\n");
        let refused: Vec<&[u8]> = vec![
            b"* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=XOAUTH2] hi\r\n",
            challenge.as_bytes(),
            b"a1 NO [AUTHENTICATIONFAILED] Invalid credentials\r\n",
        ];
        let e = handshake(&refused, 64, &Credentials::token("bob", "expired"), &o)
            .err()
            .unwrap();
        assert_eq!(e.exit_code(), 77);
        assert!(
            e.to_string().contains(
                "(the access token is expired, revoked or not for this user (status 401))"
            ),
            "{e}"
        );
        // A token and no XOAUTH2 offered: 69, nothing sent.
        let none: Vec<&[u8]> = vec![b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi\r\n"];
        let e = handshake(&none, 64, &Credentials::token("bob", "t"), &o)
            .err()
            .unwrap();
        assert_eq!(e.exit_code(), 69, "{e}");
    }

    #[test]
    fn a_challenge_that_is_not_base64_is_cancelled() {
        let parts: Vec<&[u8]> = vec![
            b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi\r\n",
            b"+ !!!\r\n",
            b"a1 NO cancelled\r\n",
        ];
        let (t, seen) = collecting();
        let mut o = SessionOptions::test(TlsMode::None);
        o.transcript = Some(t);
        let creds = Credentials::password("bob", "pw");
        let e = handshake(&parts, 3, &creds, &o).err().unwrap();
        assert_eq!(e.exit_code(), 76);
        assert!(
            e.to_string().contains("a challenge that is not base64"),
            "{e}"
        );
        // Cancelled with "*" (RFC 3501 section 6.2.2), and the server's answer read.
        let shown = seen.lock().unwrap().join("\n");
        assert!(
            shown.ends_with("C: a1 AUTHENTICATE PLAIN\nS: + !!!\nC: *\nS: a1 NO cancelled"),
            "{shown}"
        );
    }

    #[test]
    fn greetings() {
        let login = Credentials::password("u", "p");
        let e = refused(&[b"* BYE too busy\r\n"], &login, TlsMode::Auto);
        assert_eq!(e.exit_code(), 75);
        assert!(e.to_string().contains("BYE too busy"), "{e}");
        let e = refused(&[b"a1 OK hi\r\n"], &login, TlsMode::Auto);
        assert_eq!(e.exit_code(), 76);
        // PREAUTH: no login, no STARTTLS; without TLS only under --tls none.
        let preauth: &[&[u8]] = &[b"* PREAUTH [CAPABILITY IMAP4rev1] hi\r\n"];
        let c = handshake(preauth, 64, &login, &SessionOptions::test(TlsMode::None)).unwrap();
        assert!(c.conn.stream().written.is_empty());
        for mode in [TlsMode::Auto, TlsMode::Required] {
            let e = refused(preauth, &login, mode);
            assert_eq!(e.exit_code(), 69);
            assert_eq!(
                e.to_string(),
                "h:143: the server says we are logged in already (PREAUTH) on a connection without TLS, which anyone on the path could have said; refusing (use --tls none to allow it)"
            );
        }
        // Over imaps:// the greeting came through TLS.
        let c = connect(
            preauth,
            64,
            "imaps://h/",
            &login,
            &SessionOptions::test(TlsMode::Auto),
        )
        .unwrap();
        assert!(c.conn.stream().written.is_empty());
    }

    /// A client the server greeted with PREAUTH and UIDPLUS; `rest` answers what follows.
    pub(super) fn preauth(rest: &[&[u8]], chunk: usize) -> ImapClient<MockStream> {
        preauth_with("IMAP4rev1 UIDPLUS", rest, chunk)
    }

    /// [`preauth`] with the capabilities `caps`.
    pub(super) fn preauth_with(caps: &str, rest: &[&[u8]], chunk: usize) -> ImapClient<MockStream> {
        let greeting = format!("* PREAUTH [CAPABILITY {caps}] hi\r\n");
        let mut parts: Vec<&[u8]> = vec![greeting.as_bytes()];
        parts.extend_from_slice(rest);
        handshake(
            &parts,
            chunk,
            &Credentials::password("u", "p"),
            &SessionOptions::test(TlsMode::None),
        )
        .unwrap()
    }

    #[test]
    fn a_search_answer_above_uidnext_is_refused() {
        let select: &[u8] =
            b"* 3 EXISTS\r\n* OK [UIDVALIDITY 9] x\r\n* OK [UIDNEXT 4] y\r\na1 OK [READ-ONLY] x\r\n";
        let mut c = preauth(&[select, b"* SEARCH 1 2 4000000000\r\na2 OK\r\n"], 64);
        c.select("INBOX", true).unwrap();
        let e = c.uid_search("ALL").unwrap_err();
        assert_eq!(e.exit_code(), 76);
        assert_eq!(
            e.to_string(),
            "h:143: UID SEARCH ALL: the answer names UID 4000000000, not below the folder's UIDNEXT 4, with no new messages announced since it was selected"
        );
        // Mail announced since the SELECT may have UIDs from UIDNEXT on; as many as came.
        let search: &[u8] = b"* 4 EXISTS\r\n* SEARCH 1 2 3 4\r\na2 OK\r\n";
        let mut c = preauth(&[select, search], 64);
        c.select("INBOX", true).unwrap();
        assert_eq!(c.uid_search("ALL").unwrap(), [1, 2, 3, 4]);
        // An expunge and an arrival: the count is back to 3, and one message is new.
        let search: &[u8] = b"* 2 EXPUNGE\r\n* 3 EXISTS\r\n* SEARCH 1 3 7\r\na2 OK\r\n";
        let mut c = preauth(&[select, search], 64);
        c.select("INBOX", true).unwrap();
        assert_eq!(c.uid_search("ALL").unwrap(), [1, 3, 7]);
        let search: &[u8] = b"* 2 EXPUNGE\r\n* 3 EXISTS\r\n* SEARCH 1 5 7\r\na2 OK\r\n";
        let mut c = preauth(&[select, search], 64);
        c.select("INBOX", true).unwrap();
        assert_eq!(c.uid_search("ALL").unwrap_err().exit_code(), 76);
        // UID 0 is no message's.
        let mut c = preauth(&[b"* SEARCH 0 1\r\na1 OK\r\n"], 64);
        assert_eq!(c.uid_search("ALL").unwrap_err().exit_code(), 76);
    }

    #[test]
    fn untagged_responses_are_bounded_between_tagged_ones() {
        // Each `* OK 1234567` counts 23 octets (7 of text, 16 for the rest of the line); two
        // of them and the answers fit in a budget of 100 for each command...
        let two: &[u8] = b"* OK 1234567\r\n* OK 1234567\r\n";
        let select = [two, b"* OK [UIDVALIDITY 9] x\r\na1 OK\r\n"].concat();
        let search = [two, b"* SEARCH 1\r\na2 OK\r\n"].concat();
        let mut c = preauth(&[&select, &search], 64);
        c.untagged_budget = 100;
        c.select("INBOX", true).unwrap();
        // ... as the count starts again after each tagged response.
        assert_eq!(c.uid_search("ALL").unwrap(), [1]);
        // Five are too many: a protocol error, not a wait for the end.
        let five = [two, two, b"* OK 1234567\r\n"].concat();
        let mut c = preauth(&[&five], 64);
        c.untagged_budget = 100;
        let e = c.select("INBOX", true).unwrap_err();
        assert_eq!(e.exit_code(), 76);
        assert_eq!(
            e.to_string(),
            "h:143: EXAMINE INBOX: more than 100 octets of untagged responses before the command's end"
        );
        // During a fetch too.
        let mut c = preauth(&[&five], 64);
        c.untagged_budget = 100;
        c.start_fetch(&[5]);
        assert_eq!(drain(&mut c).unwrap_err().exit_code(), 76);
        // The literals nobody asked for count with their lines: each of these responses is
        // far below the 64 KiB one may carry, and their lines alone (22 octets each) fit in
        // a budget of 150, but not with what their literals hold.
        let junk = [&b"* OK x {40}\r\n"[..], &[b'j'; 40], b"\r\n"].concat();
        let select = [
            &junk[..],
            &junk,
            &junk,
            b"* OK [UIDVALIDITY 9] x\r\na1 OK\r\n",
        ]
        .concat();
        let mut c = preauth(&[&select], 64);
        c.untagged_budget = 150;
        let e = c.select("INBOX", true).unwrap_err();
        assert_eq!(
            e.to_string(),
            "h:143: EXAMINE INBOX: more than 150 octets of untagged responses before the command's end"
        );
    }

    #[test]
    fn literals_nobody_asked_for_are_bounded() {
        // A literal the client did not ask for is refused before it is read, not drained.
        let refused = |e: &Error, len: &str| {
            assert_eq!(e.exit_code(), 76, "{e}");
            assert!(
                e.to_string().contains(&format!(
                    "a literal of {len} octets nobody asked for (more than 64 KiB in one response): not read"
                )),
                "{e}"
            );
        };
        // Inside a FETCH response, before the message or after it.
        let mut c = preauth(&[b"* 1 FETCH (UID 5 X-JUNK {999999999999}\r\n"], 64);
        c.start_fetch(&[5]);
        let e = drain(&mut c).unwrap_err();
        refused(&e, "999999999999");
        assert!(!c.is_usable());
        let mut c = preauth(
            &[b"* 1 FETCH (UID 5 BODY[] {1}\r\nx X-JUNK {65537}\r\n"],
            64,
        );
        c.start_fetch(&[5]);
        refused(&drain(&mut c).unwrap_err(), "65537");
        // In any other untagged response (here while SELECT runs).
        let mut c = preauth(&[b"* OK [ALERT] {999999999999}\r\n"], 64);
        refused(&c.select("INBOX", true).unwrap_err(), "999999999999");
        // Small ones add up: the bound is for the response, lines between them included.
        let mut wire = b"* 1 FETCH (UID 5 X {40000}\r\n".to_vec();
        wire.extend_from_slice(&[b'j'; 40000]);
        wire.extend_from_slice(b" Y {26000}\r\n");
        let mut c = preauth(&[&wire], 4096);
        c.start_fetch(&[5]);
        refused(&drain(&mut c).unwrap_err(), "26000");
        // Up to the bound they are read and dropped, wherever they are.
        let mut wire = b"* 1 FETCH (UID 5 X {65000}\r\n".to_vec();
        wire.extend_from_slice(&[b'j'; 65000]);
        wire.extend_from_slice(b" Y {100}\r\n");
        wire.extend_from_slice(&[b'k'; 100]);
        wire.extend_from_slice(b" BODY[] {1}\r\nx Z {200}\r\n");
        wire.extend_from_slice(&[b'z'; 200]);
        wire.extend_from_slice(b")\r\n* 2 FETCH (FLAGS (\\Seen) X {65000}\r\n");
        wire.extend_from_slice(&[b'j'; 65000]);
        wire.extend_from_slice(b")\r\na1 OK\r\n");
        let mut c = preauth(&[&wire], 4096);
        c.start_fetch(&[5]);
        let (msgs, _) = drain(&mut c).unwrap();
        assert_eq!(msgs, [(5, b"x".to_vec())]);
    }

    #[test]
    fn logout_is_waited_for_briefly_however_the_server_chatters() {
        // The answer to LOGOUT is several responses (BYE, then the tagged OK): a server that
        // keeps sending untagged ones, each in time, must not hold the run either.
        use std::io::{BufRead, BufReader, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let tcp = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (server, _) = l.accept().unwrap();
        let chatter = std::thread::spawn(move || {
            let mut w = server.try_clone().unwrap();
            w.write_all(b"* PREAUTH [CAPABILITY IMAP4rev1] hi\r\n")
                .unwrap();
            let mut line = String::new();
            BufReader::new(server).read_line(&mut line).unwrap();
            // Half a second apart, never the tagged OK, for 20 s or until the client goes.
            for _ in 0..40 {
                if w.write_all(b"* OK still here\r\n").is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(500));
            }
            line
        });
        let c = ImapClient::handshake(
            NetStream::Plain(net::Sock::new(tcp, None, None)),
            &target("imap://h/"),
            &Credentials::password("u", "p"),
            &SessionOptions::test(TlsMode::None),
            Instant::now() + Duration::from_secs(5),
        )
        .unwrap();
        let started = Instant::now();
        c.logout();
        let took = started.elapsed();
        assert!(took < Duration::from_secs(5), "LOGOUT took {took:?}");
        assert_eq!(chatter.join().unwrap(), "a1 LOGOUT\r\n");
    }

    #[test]
    fn list_decodes_names() {
        let mut c = preauth(
            &[b"* LIST (\\HasNoChildren) \"/\" INBOX\r\n* LIST (\\Noselect) \"/\" \"Entw&APw-rfe\"\r\n* LIST () \"/\" {5}\r\na b c\r\na1 OK\r\n"],
            1,
        );
        let f = c.list().unwrap();
        let names: Vec<&[u8]> = f.iter().map(|f| f.raw.as_slice()).collect();
        assert_eq!(names, [&b"INBOX"[..], b"Entw&APw-rfe", b"a b c"]);
        assert!(f[1].noselect);
        // Names given as literals are held: they count against the untagged responses'
        // bound with their lines (a million names of 64 KiB would be 64 GB of memory). These
        // lines alone (25 octets each) fit in 150 octets, not with their names.
        let name = [&b"* LIST () \"/\" {40}\r\n"[..], &[b'n'; 40], b"\r\n"].concat();
        let answer = [
            &name[..],
            &name,
            &name,
            b"* LIST () \"/\" INBOX\r\na1 OK\r\n",
        ]
        .concat();
        let mut c = preauth(&[&answer], 64);
        c.untagged_budget = 150;
        assert_eq!(
            c.list().unwrap_err().to_string(),
            "h:143: LIST: more than 150 octets of untagged responses before the command's end"
        );
    }
}
