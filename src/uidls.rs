//! What a fetching tool remembers between runs, per account: the messages it delivered (POP3
//! UIDLs, each with what else is known of it) and named fields (an IMAP folder's UIDVALIDITY
//! and highest UID).
//!
//! The file lives at `$XDG_STATE_HOME/posthaste/PROTO/<user>@<host>` (else
//! `~/.local/state/...`), one per user and host whatever the port, as mpop keeps its UIDLs: a
//! mailbox reached by POP3S and then by POP3 with STLS is one mailbox, not two to fetch
//! whole. (Earlier versions kept one file per port, `<user>@<host>:<port>`: the first run
//! carries them over.) It is replaced atomically (a temporary file, fsync, rename, fsync of
//! the folder), and is locked for the whole run (`flock` on `FILE.lock`), so that two runs
//! from cron never fetch the same mail twice: the second run finds the lock taken and stops
//! at once with exit 75 (try again later) rather than pile up behind a slow first one.
//!
//! A run that only looks ([`StateFile::peek`]: `--stdout`, `--headers-only`) stored nothing
//! durably, so it records nothing: what it fetched counts for the run itself, and the file
//! keeps what real stores received. Only messages deleted on the server are forgotten for
//! good ([`StateFile::forget`]).
//!
//! Format (text, one item a line): the line `posthaste-state 1` or `posthaste-state 2`, then
//! `KEY VALUE` fields, an empty line, then one id a line; in version 2 an id may be followed
//! by a space and a value (what else is known of the message: for POP3 its size). A file
//! without values is written as version 1, as earlier versions wrote it. Ids are printable
//! ASCII without spaces (RFC 1939 section 7: a UIDL is 1 to 70 characters from 0x21 to
//! 0x7E); values printable ASCII.
//!
//! What the two fetchers keep in it: [`PopEntry`] (a POP3 UIDL's value) and [`ImapFolder`]
//! (an IMAP folder's fields and ids).

use crate::error::{Error, Kind, Result};
use crate::util::durable;
use std::collections::{BTreeMap, HashSet};
use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

const MAGIC_1: &str = "posthaste-state 1";
const MAGIC_2: &str = "posthaste-state 2";

/// Fields, and ids with their values ("" for none), sorted: the file is written in this
/// order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Content {
    fields: BTreeMap<String, String>,
    ids: BTreeMap<String, String>,
}

/// An account's state, locked while this value lives.
pub struct StateFile {
    path: PathBuf,
    _lock: File,
    /// What this run sees.
    now: Content,
    dirty: bool,
    /// A look ([`peek`](StateFile::peek)): what the file keeps, apart from `now`, and
    /// whether it changed.
    kept: Option<(Content, bool)>,
    /// No file was there, and nothing was carried over.
    fresh: bool,
    /// Said once by the CLI: a state carried over from the files of earlier versions.
    carried: Option<String>,
    /// For a fresh state: the account, and where another name of it may have a state.
    hint: Option<(String, String)>,
}

/// The default state of an account, `$XDG_STATE_HOME/posthaste/<proto>/<user>@<host>`
/// (`~/.local/state` when `XDG_STATE_HOME` is unset or not absolute), opened and locked.
/// The user name and the host (in lower case) are percent-encoded where they could leave
/// the folder or hide in a listing. When it does not exist yet, the files earlier versions
/// kept per port (`<user>@<host>:<port>`) are carried over into it (their ids united; the
/// fields of this `port`'s file first) and removed, and [`StateFile::carried_over`] says
/// so; when there are none but the same user has a state under another host name,
/// [`StateFile::take_fresh_hint`] says that.
pub fn account(proto: &str, user: &str, host: &str, port: u16) -> Result<StateFile> {
    let home = state_home(std::env::var_os("XDG_STATE_HOME"), std::env::var_os("HOME"))?;
    account_in(&home.join("posthaste").join(proto), user, host, port)
}

/// [`account`] in the folder `base` (`.../posthaste/<proto>`).
fn account_in(base: &Path, user: &str, host: &str, port: u16) -> Result<StateFile> {
    let (user_part, host_part) = (encode(user), encode(&host.to_ascii_lowercase()));
    let mut state = StateFile::open(&base.join(format!("{user_part}@{host_part}")))?;
    if state.fresh {
        state.carry_over(base, &user_part, &host_part, port)?;
    }
    if state.fresh {
        state.hint = other_name(base, &user_part, &host_part).map(|other| {
            (
                format!("{user}@{host}"),
                format!(
                    "there is one for {}, perhaps the same mailbox under another name: --state-file {} would share it",
                    crate::wire::printable(&other.0),
                    other.1.display()
                ),
            )
        });
    }
    Ok(state)
}

/// The files earlier versions kept for this user and host, one per port: `port`'s first.
fn per_port_files(base: &Path, user_part: &str, host_part: &str, port: u16) -> Vec<PathBuf> {
    let prefix = format!("{user_part}@");
    let mut found: Vec<(bool, PathBuf)> = Vec::new();
    for e in fs::read_dir(base).into_iter().flatten().flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some((host, p)) = name
            .strip_prefix(&prefix)
            .and_then(|rest| rest.rsplit_once(':'))
        else {
            continue;
        };
        if host.eq_ignore_ascii_case(host_part)
            && !p.is_empty()
            && p.bytes().all(|b| b.is_ascii_digit())
        {
            found.push((p != port.to_string(), e.path()));
        }
    }
    found.sort();
    found.into_iter().map(|(_, p)| p).collect()
}

/// Another host name under which the same user has a state (its name and path), if any.
/// A host never holds `@`: `bob@example.org@HOST` is the state of another user.
fn other_name(base: &Path, user_part: &str, host_part: &str) -> Option<(String, PathBuf)> {
    let prefix = format!("{user_part}@");
    let mut others: Vec<(String, PathBuf)> = fs::read_dir(base)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let host = name.strip_prefix(&prefix)?;
            let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
            let temporary = name.ends_with(".lock") || name.ends_with(".tmp");
            let other_host = !host.contains('@') && !host.eq_ignore_ascii_case(host_part);
            (!temporary && other_host).then(|| (name.clone(), e.path()))
        })
        .collect();
    others.sort();
    others.into_iter().next()
}

/// `$XDG_STATE_HOME` when it is an absolute path, else `$HOME/.local/state` (also the OAuth2
/// token cache's home, `cli::oauth2::cache`).
pub(crate) fn state_home(xdg: Option<OsString>, home: Option<OsString>) -> Result<PathBuf> {
    match xdg.map(PathBuf::from) {
        Some(p) if p.is_absolute() => Ok(p),
        _ => match home.filter(|h| !h.is_empty()) {
            Some(h) => Ok(Path::new(&h).join(".local/state")),
            None => Err(Error::new(
                Kind::CantCreate,
                "neither XDG_STATE_HOME nor HOME is set: give --state-file FILE",
            )),
        },
    }
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    for (i, b) in s.bytes().enumerate() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'+' | b'@' | b':' | b'[' | b']')
            || (b == b'.' && i > 0);
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Whether `id` can be stored: 1 to 200 printable ASCII characters, no space.
pub fn valid_id(id: &[u8]) -> bool {
    (1..=200).contains(&id.len()) && id.iter().all(|b| (0x21..=0x7e).contains(b))
}

/// Whether `value` can be stored with an id: up to 200 printable ASCII characters, spaces
/// allowed inside.
pub fn valid_value(value: &str) -> bool {
    value.len() <= 200
        && value.bytes().all(|b| (0x20..=0x7e).contains(&b))
        && !value.starts_with(' ')
        && !value.ends_with(' ')
}

/// Parses a state file's text. Pure.
pub(crate) fn parse(text: &str, shown: &str) -> Result<Content> {
    let bad = |why: &str| {
        Error::new(
            Kind::Data,
            format!("{shown}: {why}; not a posthaste state file? (move it away to start afresh)"),
        )
    };
    // Every line is written with its LF: a last line without one was cut short (a copy
    // or a disk that stopped), and what is left of it would be taken for another id.
    if !text.is_empty() && !text.ends_with('\n') {
        return Err(bad("its last line is cut short"));
    }
    let mut lines = text.lines();
    let values = match lines.next() {
        Some(MAGIC_1) => false,
        Some(MAGIC_2) => true,
        _ => return Err(bad(&format!("the first line is not \"{MAGIC_1}\""))),
    };
    let mut c = Content::default();
    for line in lines.by_ref() {
        if line.is_empty() {
            break;
        }
        let (k, v) = line
            .split_once(' ')
            .ok_or_else(|| bad("a field without a value"))?;
        c.fields.insert(k.to_string(), v.to_string());
    }
    for line in lines {
        let (id, value) = match line.split_once(' ') {
            Some((id, v)) if values => (id, v),
            _ => (line, ""),
        };
        if !valid_id(id.as_bytes()) || !valid_value(value) {
            return Err(bad("an id that is not printable ASCII"));
        }
        c.ids.insert(id.to_string(), value.to_string());
    }
    Ok(c)
}

impl StateFile {
    /// Opens and locks the state at `path`, making its folder (mode 700) when missing. A
    /// lock held by another run is 75; a file that is not ours is 65, never overwritten.
    pub fn open(path: &Path) -> Result<StateFile> {
        let shown = format!("state file {}", path.display());
        if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            use std::os::unix::fs::DirBuilderExt;
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| Error::cant_create(&shown, &e))?;
        }
        let lock = take_lock(path, &shown)?;
        let text = read_regular(path, &shown)?;
        Ok(StateFile {
            path: path.to_path_buf(),
            _lock: lock,
            fresh: text.is_none(),
            now: match text {
                Some(t) => parse(&t, &shown)?,
                None => Content::default(),
            },
            dirty: false,
            kept: None,
            carried: None,
            hint: None,
        })
    }

    /// Carries the files earlier versions kept per port over into this fresh state: saved
    /// here first, then removed (each taken from under its own lock).
    fn carry_over(
        &mut self,
        base: &Path,
        user_part: &str,
        host_part: &str,
        port: u16,
    ) -> Result<()> {
        let olds = per_port_files(base, user_part, host_part, port);
        if olds.is_empty() {
            return Ok(());
        }
        let mut locks = Vec::new();
        for old in &olds {
            let shown = format!("state file {}", old.display());
            locks.push(take_lock(old, &shown)?);
            if let Some(text) = read_regular(old, &shown)? {
                let c = parse(&text, &shown)?;
                for (k, v) in c.fields {
                    self.now.fields.entry(k).or_insert(v);
                }
                for (id, v) in c.ids {
                    let e = self.now.ids.entry(id).or_default();
                    if e.is_empty() {
                        *e = v;
                    }
                }
            }
        }
        self.dirty = true;
        self.save()?;
        for old in &olds {
            let _ = fs::remove_file(old);
            let _ = fs::remove_file(lock_path(old));
        }
        self.fresh = false;
        let names: Vec<String> = olds.iter().map(|p| p.display().to_string()).collect();
        self.carried = Some(format!(
            "state carried over from {} to {} (one state per user and host now, whatever the port)",
            names.join(" and "),
            self.path.display()
        ));
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What to tell the user once: a state carried over from the files of an earlier
    /// version.
    pub fn carried_over(&self) -> Option<&str> {
        self.carried.as_deref()
    }

    /// Once, for a state that did not exist and is about to receive `count` messages (the
    /// number, when known), while the same user has a state under another host name: `no
    /// state for USER@HOST yet: N messages will be fetched (there is one for ...)`.
    pub fn take_fresh_hint(&mut self, count: Option<usize>) -> Option<String> {
        if count == Some(0) {
            return None;
        }
        let (account, other) = self.hint.take()?;
        Some(match count {
            Some(n) => format!(
                "no state for {account} yet: {n} message{} will be fetched ({other})",
                if n == 1 { "" } else { "s" }
            ),
            None => format!("no state for {account} yet: every message will be fetched ({other})"),
        })
    }

    /// From now on this run only looks (`--stdout`, `--headers-only`): what it records
    /// counts for the run itself (a message it fetched is not fetched again in the same
    /// run), but the file keeps what it held, less what [`forget`](StateFile::forget) drops.
    pub fn peek(&mut self) {
        if self.kept.is_none() {
            self.kept = Some((self.now.clone(), false));
        }
    }

    pub fn contains(&self, id: &str) -> bool {
        self.now.ids.contains_key(id)
    }

    /// The value recorded with `id` ("" for none), if `id` is recorded.
    pub fn value(&self, id: &str) -> Option<&str> {
        self.now.ids.get(id).map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.now.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.now.ids.is_empty()
    }

    /// Records `id` as delivered (saved by [`save`](StateFile::save)), keeping its value.
    pub fn insert(&mut self, id: &str) {
        debug_assert!(valid_id(id.as_bytes()));
        if !self.now.ids.contains_key(id) {
            self.now.ids.insert(id.to_string(), String::new());
            self.dirty = true;
        }
    }

    /// Records `id` with `value` (see [`valid_value`]; refused as a bug otherwise).
    pub fn insert_with(&mut self, id: &str, value: &str) -> Result<()> {
        if !valid_id(id.as_bytes()) || !valid_value(value) {
            return Err(Error::new(
                Kind::Software,
                format!("state id {id:?} {value:?}: not printable ASCII"),
            ));
        }
        self.dirty |= set(&mut self.now.ids, id, value);
        Ok(())
    }

    /// Forgets every id `keep` refuses (messages no longer on the server), so the file does
    /// not grow forever.
    pub fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        let before = self.now.ids.len();
        self.now.ids.retain(|id, _| keep(id));
        if self.now.ids.len() != before {
            self.dirty = true;
        }
    }

    /// Forgets `id` for good, even in a look's state: a message deleted on the server,
    /// whose id the server may give to another message (RFC 1939 section 7 allows it).
    pub fn forget(&mut self, id: &str) {
        if self.now.ids.remove(id).is_some() {
            self.dirty = true;
        }
        if let Some((kept, changed)) = &mut self.kept {
            if kept.ids.remove(id).is_some() {
                *changed = true;
            }
        }
    }

    /// Forgets every id and field (a new IMAP UIDVALIDITY).
    pub fn clear(&mut self) {
        self.now = Content::default();
        self.dirty = true;
    }

    pub fn field(&self, key: &str) -> Option<&str> {
        self.now.fields.get(key).map(String::as_str)
    }

    /// Sets a field; `key` and `value` must be printable ASCII without spaces (refused as a
    /// bug otherwise).
    pub fn set_field(&mut self, key: &str, value: &str) -> Result<()> {
        if !valid_id(key.as_bytes()) || !valid_id(value.as_bytes()) {
            return Err(Error::new(
                Kind::Software,
                format!("state field {key:?}: not printable ASCII without spaces"),
            ));
        }
        self.dirty |= set(&mut self.now.fields, key, value);
        Ok(())
    }

    /// Writes the state if it changed (a look's: only what [`forget`](StateFile::forget)
    /// dropped): a temporary file beside it, fsync, rename over the old one, fsync of the
    /// folder. A crash leaves the old state or the new one, never a mix.
    pub fn save(&mut self) -> Result<()> {
        // A signal meanwhile waits: no temporary file is left beside the state.
        let _held = crate::interrupt::hold();
        match &mut self.kept {
            Some((kept, changed)) if *changed => {
                write_atomically(&self.path, kept)?;
                *changed = false;
            }
            Some(_) => {}
            None if self.dirty => {
                write_atomically(&self.path, &self.now)?;
                self.dirty = false;
            }
            None => {}
        }
        Ok(())
    }
}

/// Sets `map[key]` to `value`; whether that changed it.
fn set(map: &mut BTreeMap<String, String>, key: &str, value: &str) -> bool {
    if map.get(key).map(String::as_str) == Some(value) {
        return false;
    }
    map.insert(key.to_string(), value.to_string());
    true
}

/// Opens and takes the lock of the state at `path` (`path.lock`), without waiting: another
/// run holding it is 75.
fn take_lock(path: &Path, shown: &str) -> Result<File> {
    let lock_path = lock_path(path);
    let lock = open_lock(&lock_path)?;
    // SAFETY: flock on a descriptor we own.
    if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::WouldBlock {
            return Err(Error::new(
                Kind::TempFail,
                format!(
                    "{shown}: another run for this account holds {}; not fetching now (try again later)",
                    lock_path.display()
                ),
            ));
        }
        return Err(Error::local_io(lock_path.display(), &e));
    }
    Ok(lock)
}

/// Opens (creating it, mode 600) the lock file `lock_path`, without following a link, and
/// refuses anything that is not a regular file (73). The caller takes the `flock`.
pub(crate) fn open_lock(lock_path: &Path) -> Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    // O_NONBLOCK: a FIFO planted there cannot hold the open up.
    let lock = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(lock_path)
        .map_err(|e| Error::cant_create(lock_path.display(), &e))?;
    if let Some(what) = not_regular(&lock) {
        return Err(Error::new(
            Kind::CantCreate,
            format!(
                "{}: not a regular file ({what}); refusing to use it",
                lock_path.display()
            ),
        ));
    }
    Ok(lock)
}

/// Replaces the file at `path` with `c` (`util::durable`: a temporary file beside it, fsync,
/// rename, fsync of the folder). Streamed through a small buffer: never held whole in memory.
fn write_atomically(path: &Path, c: &Content) -> Result<()> {
    let named = |e: Error| {
        let m = format!("state file {}", e.message());
        e.with_message(m)
    };
    let (f, tmp) = durable::create_beside(path, "tmp", 0o600, || Ok(crate::deliver::unique_stem()))
        .map_err(named)?;
    let written = write_content(f, c).map_err(|e| Error::local_io(path.display(), &e));
    let replaced = written.and_then(|f| durable::replace(&f, &tmp, path));
    if replaced.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    replaced.map_err(named)
}

/// Writes the state file's text to `f`, which it returns.
fn write_content(f: File, c: &Content) -> io::Result<File> {
    let values = c.ids.values().any(|v| !v.is_empty());
    let mut w = io::BufWriter::with_capacity(8192, f);
    writeln!(w, "{}", if values { MAGIC_2 } else { MAGIC_1 })?;
    for (k, v) in &c.fields {
        writeln!(w, "{k} {v}")?;
    }
    writeln!(w)?;
    for (id, v) in &c.ids {
        w.write_all(id.as_bytes())?;
        if !v.is_empty() {
            w.write_all(b" ")?;
            w.write_all(v.as_bytes())?;
        }
        w.write_all(b"\n")?;
    }
    w.into_inner().map_err(|e| e.into_error())
}

/// The text of the state file at `path`, `None` when there is none. Only a regular file is
/// read, and never through a link: a FIFO would hold the run up (with the account locked)
/// and a link would be replaced by the first save anyway. O_NONBLOCK keeps a FIFO's open
/// from waiting for a writer; the descriptor is checked before it is read.
fn read_regular(path: &Path, shown: &str) -> Result<Option<String>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = match fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(Error::new(
                Kind::NoInput,
                format!(
                    "{shown}: a symbolic link; refusing to follow it (give the file's own path)"
                ),
            ));
        }
        Err(e) => return Err(Error::no_input(shown, &e)),
    };
    if let Some(what) = not_regular(&file) {
        return Err(Error::new(
            Kind::NoInput,
            format!("{shown}: not a regular file ({what}); refusing to use it"),
        ));
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(|e| Error::no_input(shown, &e))?;
    // Not text: not ours, as a text that does not parse is (65, with the same advice).
    String::from_utf8(bytes).map(Some).map_err(|_| {
        Error::new(
            Kind::Data,
            format!("{shown}: not UTF-8 text; not a posthaste state file? (move it away to start afresh)"),
        )
    })
}

/// What an open file is when it is not a regular file (`a FIFO`, `a folder`...).
fn not_regular(file: &File) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    let t = match file.metadata() {
        Ok(m) => m.file_type(),
        Err(_) => return Some("cannot be examined"),
    };
    if t.is_file() {
        None
    } else if t.is_dir() {
        Some("a folder")
    } else if t.is_fifo() {
        Some("a FIFO")
    } else if t.is_socket() {
        Some("a socket")
    } else if t.is_char_device() || t.is_block_device() {
        Some("a device")
    } else {
        Some("not a file")
    }
}

fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    path.with_file_name(name)
}

/// How pop-fetch records a message: the id is its UIDL, the value its size (LIST's), then
/// ` dele` when a `--delete` run stored it (deleted by the next `--delete` run if this one
/// cannot): `UIDL SIZE [dele]`. A server may give a deleted message's UIDL to a new one (RFC
/// 1939 section 7): a UIDL recorded with another size is such a new message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PopEntry {
    /// None in a state from before sizes were kept.
    pub size: Option<u64>,
    /// Stored by a `--delete` run: delete it when it is still on the server.
    pub dele: bool,
}

impl PopEntry {
    /// Reads a recorded value. Pure.
    pub fn parse(value: &str) -> PopEntry {
        let mut w = value.split(' ');
        let size = w.next().and_then(|s| s.parse().ok());
        PopEntry {
            size,
            dele: w.next() == Some("dele"),
        }
    }

    /// The value recording a message of `size` bytes. Pure.
    pub fn value(size: u64, dele: bool) -> String {
        if dele {
            format!("{size} dele")
        } else {
            size.to_string()
        }
    }
}

/// How imap-fetch records a folder, keyed by its UIDVALIDITY (RFC 3501 section 2.3.1.1): the
/// fields `KEY.uidvalidity` and `KEY.last` (the mark: every wanted message up to that UID
/// was delivered), and the ids `KEY:UIDVALIDITY:UID` of messages above it that were
/// delivered (a batch cut short, or a message before them still owed). `KEY` is
/// [`folder_key`].
#[derive(Debug, Clone)]
pub struct ImapFolder {
    /// `KEY:`, which every id of the folder starts with.
    folder_ids: String,
    /// `KEY:UIDVALIDITY:`, which the ids under the current UIDVALIDITY start with.
    id_prefix: String,
    f_validity: String,
    f_last: String,
    validity: String,
}

impl ImapFolder {
    /// The folder `name` (as the user gives it) as it is now, with its UIDVALIDITY.
    pub fn new(name: &str, uidvalidity: u32) -> ImapFolder {
        let key = folder_key(name);
        ImapFolder {
            folder_ids: format!("{key}:"),
            id_prefix: format!("{key}:{uidvalidity}:"),
            f_validity: format!("{key}.uidvalidity"),
            f_last: format!("{key}.last"),
            validity: uidvalidity.to_string(),
        }
    }

    /// The folder's UIDVALIDITY now.
    pub fn uidvalidity(&self) -> &str {
        &self.validity
    }

    /// The UIDVALIDITY recorded for the folder, if any.
    pub fn recorded_validity<'s>(&self, st: &'s StateFile) -> Option<&'s str> {
        st.field(&self.f_validity)
    }

    /// Whether the recorded UIDVALIDITY is the folder's now: only then do its UIDs count.
    pub fn same_validity(&self, st: &StateFile) -> bool {
        self.recorded_validity(st) == Some(self.validity.as_str())
    }

    /// The recorded mark (0 when none).
    pub fn last(&self, st: &StateFile) -> u32 {
        st.field(&self.f_last)
            .and_then(|l| l.parse().ok())
            .unwrap_or(0)
    }

    /// Records the folder's UIDVALIDITY, and `last` as its mark.
    pub fn set(&self, st: &mut StateFile, last: u32) -> Result<()> {
        st.set_field(&self.f_validity, &self.validity)?;
        self.set_last(st, last)
    }

    /// Records `last` as the mark.
    pub fn set_last(&self, st: &mut StateFile, last: u32) -> Result<()> {
        st.set_field(&self.f_last, &last.to_string())
    }

    /// The UIDs recorded above the mark, under this UIDVALIDITY.
    pub fn delivered_above(&self, st: &mut StateFile) -> HashSet<u32> {
        let mut uids = HashSet::new();
        // Read through `retain`, which keeps them all.
        st.retain(|id| {
            if let Some(u) = self.uid_of(id) {
                uids.insert(u);
            }
            true
        });
        uids
    }

    /// Forgets the ids recorded under another UIDVALIDITY: their UIDs mean nothing now.
    pub fn forget_stale(&self, st: &mut StateFile) {
        st.retain(|id| !id.starts_with(&self.folder_ids) || id.starts_with(&self.id_prefix));
    }

    /// Forgets every id of the folder.
    pub fn forget_all(&self, st: &mut StateFile) {
        st.retain(|id| !id.starts_with(&self.folder_ids));
    }

    /// Forgets the ids at or below `last` (the mark covers them).
    pub fn forget_up_to(&self, st: &mut StateFile, last: u32) {
        st.retain(|id| self.uid_of(id).is_none_or(|u| u > last));
    }

    /// Records `uid` as delivered above the mark.
    pub fn insert(&self, st: &mut StateFile, uid: u32) {
        st.insert(&format!("{}{uid}", self.id_prefix));
    }

    /// The UID of an id of this folder under this UIDVALIDITY. Pure.
    fn uid_of(&self, id: &str) -> Option<u32> {
        id.strip_prefix(&self.id_prefix)?.parse().ok()
    }
}

/// The key of an IMAP folder in the state file: its modified UTF-7 name, percent-encoded
/// where it is not printable ASCII (or holds `%`, `.` or `:`, which separate the key's
/// parts), or a hash of it when that is long. Pure.
pub fn folder_key(folder: &str) -> String {
    let wire = crate::imap::parse::utf7_encode(folder);
    let mut out = String::new();
    for b in wire.bytes() {
        if (0x21..0x7f).contains(&b) && !matches!(b, b'%' | b'.' | b':') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out.len() > 120 {
        let d = crate::util::digest::sha256(wire.as_bytes());
        out = format!(
            "sha256-{}",
            d.iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
    }
    out
}

#[cfg(test)]
mod schema_tests {
    use super::*;

    #[test]
    fn pop_entries_read_as_earlier_versions_wrote_them() {
        let e = |size, dele| PopEntry { size, dele };
        assert_eq!(PopEntry::parse("1234"), e(Some(1234), false));
        assert_eq!(PopEntry::parse("1234 dele"), e(Some(1234), true));
        // Recorded before sizes were kept.
        assert_eq!(PopEntry::parse(""), e(None, false));
        assert_eq!(PopEntry::value(1234, false), "1234");
        assert_eq!(PopEntry::value(1234, true), "1234 dele");
    }

    /// A state file whose last line lost its LF was cut short: refused, never read as an
    /// id one byte shorter; an empty one is a fresh start.
    #[test]
    fn a_state_file_cut_short_is_refused() {
        let whole = format!("{MAGIC_2}\nuid1 1234\n");
        assert!(parse(&whole, "S").is_ok());
        let e = parse(whole.trim_end(), "S").unwrap_err();
        assert!(
            e.to_string().contains("S: its last line is cut short"),
            "{e}"
        );
        assert!(parse("", "S").is_err_and(|e| !e.to_string().contains("cut short")));
    }

    #[test]
    fn folder_keys_are_plain_ascii() {
        assert_eq!(folder_key("INBOX"), "INBOX");
        assert_eq!(folder_key("Entw\u{fc}rfe"), "Entw&APw-rfe");
        assert_eq!(folder_key("a b.c:d%"), "a%20b%2Ec%3Ad%25");
        // 120 bytes is kept as it is; one more is hashed.
        assert_eq!(folder_key(&"x".repeat(120)), "x".repeat(120));
        assert!(folder_key(&"x".repeat(121)).starts_with("sha256-"));
        let long = folder_key(&"x".repeat(300));
        assert!(long.starts_with("sha256-") && long.len() == 71, "{long}");
        for k in [folder_key("a b"), long] {
            assert!(valid_id(format!("{k}.uidvalidity").as_bytes()));
        }
    }

    #[test]
    fn an_imap_state_file_from_earlier_versions_reads_and_writes_as_before() {
        let d = crate::util::test_folder("imap");
        let path = d.join("imap/bob@mail.example");
        let old = "posthaste-state 1\n\
                   INBOX.last 7\nINBOX.uidvalidity 42\nSent.last 3\nSent.uidvalidity 9\n\n\
                   INBOX:41:5\nINBOX:42:10\nINBOX:42:12\nSent:9:8\n";
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, old).unwrap();
        let mut st = StateFile::open(&path).unwrap();
        let inbox = ImapFolder::new("INBOX", 42);
        assert_eq!(inbox.recorded_validity(&st), Some("42"));
        assert!(inbox.same_validity(&st));
        assert_eq!(inbox.last(&st), 7);
        assert_eq!(inbox.delivered_above(&mut st), HashSet::from([10, 12]));
        // An id under an older UIDVALIDITY is stale; another folder's ids stay.
        inbox.forget_stale(&mut st);
        inbox.forget_up_to(&mut st, 10);
        inbox.set(&mut st, 10).unwrap();
        inbox.insert(&mut st, 13);
        st.save().unwrap();
        drop(st);
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "posthaste-state 1\n\
             INBOX.last 10\nINBOX.uidvalidity 42\nSent.last 3\nSent.uidvalidity 9\n\n\
             INBOX:42:12\nINBOX:42:13\nSent:9:8\n"
        );
        // A new UIDVALIDITY: nothing recorded counts, and all the folder's ids go.
        let mut st = StateFile::open(&path).unwrap();
        let sent = ImapFolder::new("Sent", 10);
        assert_eq!(sent.uidvalidity(), "10");
        assert!(!sent.same_validity(&st) && sent.recorded_validity(&st) == Some("9"));
        sent.forget_all(&mut st);
        assert_eq!(sent.delivered_above(&mut st), HashSet::new());
        assert!(st.contains("INBOX:42:12") && !st.contains("Sent:9:8"));
        drop(st);
        fs::remove_dir_all(d).unwrap();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Opens the state again after a drop. A child that another test forks meanwhile
    /// holds a copy of the lock's descriptor until it execs (O_CLOEXEC closes it only
    /// then), so the lock may stay taken a moment longer: wait for it.
    fn reopen(path: &Path) -> StateFile {
        for _ in 0..500 {
            match StateFile::open(path) {
                Err(e) if e.exit_code() == 75 => {
                    std::thread::sleep(std::time::Duration::from_millis(10))
                }
                r => return r.unwrap(),
            }
        }
        panic!("{}: still locked after 5 s", path.display())
    }

    fn temp() -> PathBuf {
        crate::util::test_folder("state")
    }

    /// Only a regular file is read as a state, never through a link, and a FIFO does not
    /// hold the run up; none at all is no state yet.
    #[test]
    fn a_state_is_read_from_a_regular_file_only() {
        let d = temp();
        assert!(read_regular(&d.join("none"), "S").unwrap().is_none());
        fs::write(d.join("real"), "text\n").unwrap();
        assert_eq!(
            read_regular(&d.join("real"), "S").unwrap().unwrap(),
            "text\n"
        );
        std::os::unix::fs::symlink(d.join("real"), d.join("link")).unwrap();
        let e = read_regular(&d.join("link"), "S").unwrap_err().to_string();
        assert!(
            e.contains("S: a symbolic link; refusing to follow it"),
            "{e}"
        );
        let fifo = std::ffi::CString::new(d.join("fifo").as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        for (name, what) in [("fifo", "a FIFO"), (".", "a folder")] {
            let e = read_regular(&d.join(name), "S").unwrap_err().to_string();
            assert!(
                e.contains(&format!("S: not a regular file ({what})")),
                "{e}"
            );
        }
        // (Read, never written.)
        let e = read_regular(Path::new("/dev/null"), "S")
            .unwrap_err()
            .to_string();
        assert!(e.contains("S: not a regular file (a device)"), "{e}");
        // Unreadable for another reason (below a file): the reason, not a link.
        let e = read_regular(&d.join("real/x"), "S")
            .unwrap_err()
            .to_string();
        assert!(e.contains("Not a directory"), "{e}");
    }

    /// A save writes what changed, and only then: a field alone, an id with a value alone,
    /// nothing for a run that changed nothing or only looked.
    #[test]
    fn a_save_writes_only_what_changed() {
        let d = temp();
        let path = d.join("only-changes");
        let mut s = StateFile::open(&path).unwrap();
        s.save().unwrap();
        assert!(!path.exists(), "a run that recorded nothing wrote a state");
        s.set_field("uidvalidity", "7").unwrap();
        s.save().unwrap();
        drop(s);
        let mut s = reopen(&path);
        assert_eq!(s.field("uidvalidity"), Some("7"));
        s.insert_with("uid1", "1234 dele").unwrap();
        s.save().unwrap();
        drop(s);
        let mut s = reopen(&path);
        assert!(s.contains("uid1"));
        // Unchanged, or changed by a look: the file is not written again.
        let ino = || std::os::unix::fs::MetadataExt::ino(&fs::metadata(&path).unwrap());
        let before = ino();
        s.save().unwrap();
        s.peek();
        s.insert("uid2");
        s.save().unwrap();
        assert_eq!(ino(), before, "the state was rewritten");
        // Refused as a bug: an id or a value that is not printable ASCII.
        assert!(s.insert_with("a b", "1").is_err());
        assert!(s.insert_with("uid3", "1\n2").is_err());
        assert!(s.set_field("k", "a b").is_err());
    }

    #[test]
    fn ids_and_fields_survive_a_save_and_a_second_run_is_locked_out() {
        let d = temp();
        let path = d.join("pop/alice@mail.example:995");
        let mut s = StateFile::open(&path).unwrap();
        assert!(s.is_empty());
        s.insert("00000001abc");
        s.insert("x@y!");
        s.set_field("uidvalidity", "1234").unwrap();
        s.save().unwrap();
        let e = StateFile::open(&path).err().unwrap();
        assert_eq!(e.exit_code(), 75, "{e}");
        assert!(e.to_string().contains("another run"), "{e}");
        drop(s);
        let mut s = reopen(&path);
        assert!(s.contains("00000001abc") && s.contains("x@y!") && s.len() == 2);
        assert!(!s.contains("00000002abc") && !s.is_empty());
        assert_eq!(s.field("uidvalidity"), Some("1234"));
        s.retain(|id| id != "x@y!");
        s.save().unwrap();
        drop(s);
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "posthaste-state 1\nuidvalidity 1234\n\n00000001abc\n"
        );
        assert!(s_set_field_refuses_spaces());
        // A new UIDVALIDITY forgets everything.
        let mut s = reopen(&path);
        s.clear();
        assert!(s.is_empty() && s.field("uidvalidity").is_none());
        s.save().unwrap();
        drop(s);
        assert_eq!(fs::read_to_string(&path).unwrap(), "posthaste-state 1\n\n");
        // A state file that cannot be read is an error, never an empty state.
        fs::remove_file(&path).unwrap();
        fs::create_dir(&path).unwrap();
        assert_eq!(StateFile::open(&path).err().unwrap().exit_code(), 66);
        fs::remove_dir(&path).unwrap();
        fs::write(&path, "something else\n").unwrap();
        assert_eq!(StateFile::open(&path).err().unwrap().exit_code(), 65);
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_planted_link_at_the_lock_is_never_followed() {
        let d = temp();
        fs::write(d.join("victim"), b"keep me\n").unwrap();
        std::os::unix::fs::symlink(d.join("victim"), d.join("s.lock")).unwrap();
        let e = StateFile::open(&d.join("s")).err().unwrap();
        assert_eq!(e.exit_code(), 73, "{e}");
        assert!(
            e.to_string()
                .starts_with(&format!("{}", d.join("s.lock").display())),
            "{e}"
        );
        assert_eq!(fs::read(d.join("victim")).unwrap(), b"keep me\n");
        // Nor is a FIFO waited on, at the lock (73) or at the state file (66): opening the
        // state file `name` with a FIFO at `fifo` fails with `code`, naming the FIFO.
        let refused = |name: &str, fifo: &str, code: u8| {
            let c = std::ffi::CString::new(d.join(fifo).to_str().unwrap()).unwrap();
            // SAFETY: a NUL-terminated path.
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
            let e = StateFile::open(&d.join(name)).err().unwrap();
            assert_eq!(e.exit_code(), code, "{e}");
            let why = format!("{fifo}: not a regular file (a FIFO); refusing to use it");
            assert!(e.to_string().ends_with(&why), "{e}");
        };
        refused("f", "f.lock", 73);
        refused("g", "g", 66);
        fs::remove_dir_all(&d).unwrap();
    }

    fn s_set_field_refuses_spaces() -> bool {
        let d = temp();
        let mut s = StateFile::open(&d.join("s")).unwrap();
        let ok = s.set_field("k", "a b").is_err();
        fs::remove_dir_all(&d).unwrap();
        ok
    }

    #[test]
    fn account_names_encode_what_could_escape_and_ignore_the_port() {
        let d = temp();
        let s = account_in(&d, "a/../b", "Mail.Example", 110).unwrap();
        assert_eq!(s.path(), d.join("a%2F..%2Fb@mail.example"));
        drop(s);
        // Another port, another case: the same state (and lock).
        let s = account_in(&d, "a/../b", "mail.example", 995).unwrap();
        assert_eq!(s.path(), d.join("a%2F..%2Fb@mail.example"));
        assert!(
            account_in(&d, "a/../b", "MAIL.example", 143).is_err(),
            "locked"
        );
        drop(s);
        assert_eq!(encode(".hidden"), "%2Ehidden");
        let os = |s: &str| Some(OsString::from(s));
        assert_eq!(state_home(os("/st"), os("/h")).unwrap(), Path::new("/st"));
        // A relative XDG_STATE_HOME is ignored, as the XDG specification asks.
        assert_eq!(
            state_home(os("st"), os("/h")).unwrap(),
            Path::new("/h/.local/state")
        );
        assert_eq!(
            state_home(None, os("/h")).unwrap(),
            Path::new("/h/.local/state")
        );
        let e = state_home(os("st"), os("")).unwrap_err();
        assert_eq!(e.exit_code(), 73);
        assert!(e.to_string().contains("--state-file"), "{e}");
        assert!(valid_id(b"abc") && !valid_id(b"a b") && !valid_id(b""));
        assert!(valid_value("") && valid_value("12 dele") && !valid_value(" 1"));
        assert!(!valid_value("1\t2") && !valid_value("1 "));
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn the_per_port_files_of_earlier_versions_are_carried_over_once() {
        let d = temp();
        fs::write(
            d.join("bob@mail.example:995"),
            "posthaste-state 1\nINBOX.last 7\n\nu1\nu2\n",
        )
        .unwrap();
        fs::write(
            d.join("bob@MAIL.example:110"),
            "posthaste-state 1\nINBOX.last 3\nother 1\n\nu2\nu3\n",
        )
        .unwrap();
        fs::write(d.join("bob@MAIL.example:110.lock"), "").unwrap();
        fs::write(d.join("bob@other.example:110"), "posthaste-state 1\n\nx\n").unwrap();
        fs::write(d.join("bobby@mail.example:110"), "posthaste-state 1\n\ny\n").unwrap();
        let s = account_in(&d, "bob", "mail.example", 995).unwrap();
        // The ids of both; the fields of this port's first.
        assert_eq!(
            fs::read_to_string(d.join("bob@mail.example")).unwrap(),
            "posthaste-state 1\nINBOX.last 7\nother 1\n\nu1\nu2\nu3\n"
        );
        assert_eq!(
            s.carried_over().unwrap(),
            format!(
                "state carried over from {} and {} to {} (one state per user and host now, whatever the port)",
                d.join("bob@mail.example:995").display(),
                d.join("bob@MAIL.example:110").display(),
                d.join("bob@mail.example").display()
            )
        );
        drop(s);
        let mut names: Vec<String> = fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "bob@mail.example",
                "bob@mail.example.lock",
                "bob@other.example:110",
                "bobby@mail.example:110"
            ]
        );
        // Once: the next run just opens it.
        let mut s = account_in(&d, "bob", "mail.example", 110).unwrap();
        assert!(s.carried_over().is_none() && s.take_fresh_hint(Some(3)).is_none());
        assert!(s.contains("u3"));
        drop(s);
        // A new host name for the same user: a hint, once, when something will be fetched.
        let mut s = account_in(&d, "bob", "localhost", 110).unwrap();
        assert!(s.carried_over().is_none());
        assert_eq!(s.take_fresh_hint(Some(0)), None);
        assert_eq!(
            s.take_fresh_hint(Some(20)).unwrap(),
            format!(
                "no state for bob@localhost yet: 20 messages will be fetched (there is one for bob@mail.example, perhaps the same mailbox under another name: --state-file {} would share it)",
                d.join("bob@mail.example").display()
            )
        );
        assert_eq!(s.take_fresh_hint(Some(20)), None);
        drop(s);
        // Another user whose name starts with this one's and an @ (a login that is an
        // address) is no other name of this account; bob@other.example is.
        fs::write(
            d.join("bob@example.org@mail.example"),
            "posthaste-state 1\n\n",
        )
        .unwrap();
        fs::remove_file(d.join("bob@mail.example")).unwrap();
        let mut s = account_in(&d, "bob", "localhost", 110).unwrap();
        let hint = s.take_fresh_hint(Some(20)).unwrap();
        assert!(
            hint.contains("(there is one for bob@other.example:110, "),
            "{hint}"
        );
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_look_records_for_itself_and_forgets_for_good() {
        let d = temp();
        let path = d.join("s");
        let mut s = StateFile::open(&path).unwrap();
        s.insert_with("a", "10").unwrap();
        s.insert("b");
        s.save().unwrap();
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "posthaste-state 2\n\na 10\nb\n"
        );
        drop(s);
        let mut s = reopen(&path);
        assert_eq!((s.value("a"), s.value("b")), (Some("10"), Some("")));
        s.peek();
        s.insert_with("c", "30").unwrap();
        s.set_field("f", "1").unwrap();
        s.retain(|id| id != "b");
        s.save().unwrap();
        // Seen by this run, never written.
        assert!(s.contains("c") && !s.contains("b") && s.field("f") == Some("1"));
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "posthaste-state 2\n\na 10\nb\n"
        );
        // A message deleted on the server is forgotten for good, even by a look.
        s.forget("a");
        s.save().unwrap();
        assert!(!s.contains("a"));
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "posthaste-state 1\n\nb\n"
        );
        drop(s);
        // Values need version 2; a version 1 line with a space is not a state file.
        fs::write(&path, "posthaste-state 1\n\na 10\n").unwrap();
        assert_eq!(StateFile::open(&path).err().unwrap().exit_code(), 65);
        fs::write(&path, "posthaste-state 2\n\na 10\tx\n").unwrap();
        assert_eq!(StateFile::open(&path).err().unwrap().exit_code(), 65);
        fs::remove_dir_all(&d).unwrap();
    }
}
