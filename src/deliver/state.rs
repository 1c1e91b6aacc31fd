//! What a fetching tool remembers between runs, per account: the ids of the messages it
//! delivered (POP3 UIDLs) and named fields (an IMAP folder's UIDVALIDITY and highest UID).
//!
//! The file lives at `$XDG_STATE_HOME/posthaste/PROTO/<user>@<host>:<port>` (else
//! `~/.local/state/...`), is replaced atomically (a temporary file, fsync, rename, fsync of
//! the folder), and is locked for the whole run (`flock` on `FILE.lock`), so that two runs
//! from cron never fetch the same mail twice: the second run finds the lock taken and stops
//! at once with exit 75 (try again later) rather than pile up behind a slow first one.
//!
//! Format (text, one item a line): the line `posthaste-state 1`, then `KEY VALUE` fields,
//! an empty line, then one id a line. Ids and values are printable ASCII without spaces
//! (RFC 1939 section 7: a UIDL is 1 to 70 characters from 0x21 to 0x7E).

use super::create_new;
use crate::error::{Error, Kind, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

const MAGIC: &str = "posthaste-state 1";

/// An account's state, locked while this value lives.
pub struct StateFile {
    path: PathBuf,
    _lock: File,
    fields: BTreeMap<String, String>,
    /// Sorted: the file is written in this order.
    ids: BTreeSet<String>,
    dirty: bool,
}

/// The default state file of an account: `$XDG_STATE_HOME/posthaste/<proto>/<user>@<host>:<port>`
/// (`~/.local/state` when `XDG_STATE_HOME` is unset or not absolute). The user name is
/// percent-encoded where it could leave the folder or hide in a listing.
pub fn default_path(proto: &str, user: &str, host: &str, port: u16) -> Result<PathBuf> {
    let base = state_home(std::env::var_os("XDG_STATE_HOME"), std::env::var_os("HOME"))?;
    Ok(base
        .join("posthaste")
        .join(proto)
        .join(format!("{}@{}:{port}", encode(user), encode(host))))
}

/// `$XDG_STATE_HOME` when it is an absolute path, else `$HOME/.local/state`.
fn state_home(xdg: Option<OsString>, home: Option<OsString>) -> Result<PathBuf> {
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
        let lock_path = lock_path(path);
        let lock = {
            use std::os::unix::fs::OpenOptionsExt;
            // O_NONBLOCK: a FIFO planted there cannot hold the open up.
            let lock = fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
                .open(&lock_path)
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
            lock
        };
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
        let mut state = StateFile {
            path: path.to_path_buf(),
            _lock: lock,
            fields: BTreeMap::new(),
            ids: BTreeSet::new(),
            dirty: false,
        };
        if let Some(text) = read_regular(path, &shown)? {
            state.parse(&text, &shown)?;
        }
        Ok(state)
    }

    fn parse(&mut self, text: &str, shown: &str) -> Result<()> {
        let bad = |why: &str| {
            Error::new(
                Kind::Data,
                format!(
                    "{shown}: {why}; not a posthaste state file? (move it away to start afresh)"
                ),
            )
        };
        let mut lines = text.lines();
        if lines.next() != Some(MAGIC) {
            return Err(bad(&format!("the first line is not \"{MAGIC}\"")));
        }
        for line in lines.by_ref() {
            if line.is_empty() {
                break;
            }
            let (k, v) = line
                .split_once(' ')
                .ok_or_else(|| bad("a field without a value"))?;
            self.fields.insert(k.to_string(), v.to_string());
        }
        for line in lines {
            if !valid_id(line.as_bytes()) {
                return Err(bad("an id that is not printable ASCII"));
            }
            self.ids.insert(line.to_string());
        }
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn contains(&self, id: &str) -> bool {
        self.ids.contains(id)
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Records `id` as delivered (saved by [`save`](StateFile::save)).
    pub fn insert(&mut self, id: &str) {
        debug_assert!(valid_id(id.as_bytes()));
        if !self.ids.contains(id) {
            self.ids.insert(id.to_string());
            self.dirty = true;
        }
    }

    /// Forgets every id `keep` refuses (messages no longer on the server), so the file does
    /// not grow forever.
    pub fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        let before = self.ids.len();
        self.ids.retain(|id| keep(id));
        if self.ids.len() != before {
            self.dirty = true;
        }
    }

    /// Forgets every id and field (a new IMAP UIDVALIDITY).
    pub fn clear(&mut self) {
        self.ids.clear();
        self.fields.clear();
        self.dirty = true;
    }

    pub fn field(&self, key: &str) -> Option<&str> {
        self.fields.get(key).map(String::as_str)
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
        if self.fields.get(key).map(String::as_str) != Some(value) {
            self.fields.insert(key.to_string(), value.to_string());
            self.dirty = true;
        }
        Ok(())
    }

    /// Writes the state if it changed: a temporary file beside it, fsync, rename over the
    /// old one, fsync of the folder. A crash leaves the old state or the new one, never a mix.
    pub fn save(&mut self) -> Result<()> {
        if !self.dirty {
            return Ok(());
        }
        let shown = format!("state file {}", self.path.display());
        let tmp = {
            let mut name = self.path.file_name().unwrap_or_default().to_os_string();
            name.push(format!(".{}.tmp", super::unique_stem()));
            self.path.with_file_name(name)
        };
        // Streamed through a small buffer: the file is never held whole in memory.
        let written = create_new(&tmp)
            .and_then(|f| {
                let mut w = io::BufWriter::with_capacity(8192, f);
                writeln!(w, "{MAGIC}")?;
                for (k, v) in &self.fields {
                    writeln!(w, "{k} {v}")?;
                }
                writeln!(w)?;
                for id in &self.ids {
                    w.write_all(id.as_bytes())?;
                    w.write_all(b"\n")?;
                }
                w.into_inner().map_err(|e| e.into_error())?.sync_all()
            })
            .and_then(|()| fs::rename(&tmp, &self.path));
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(Error::local_io(&shown, &e));
        }
        crate::transfer::sync_parent(&self.path)?;
        self.dirty = false;
        Ok(())
    }
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
    let mut text = String::new();
    file.read_to_string(&mut text)
        .map_err(|e| Error::no_input(shown, &e))?;
    Ok(Some(text))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn temp() -> PathBuf {
        let d = std::env::temp_dir().join(format!("ph-state-{}", super::super::unique_stem()));
        fs::create_dir_all(&d).unwrap();
        d
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
        let mut s = StateFile::open(&path).unwrap();
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
        let mut s = StateFile::open(&path).unwrap();
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
        // Nor is a FIFO waited on, at the lock or at the state file.
        let fifo = |p: &Path| {
            let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
            // SAFETY: a NUL-terminated path.
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        };
        fifo(&d.join("f.lock"));
        let e = StateFile::open(&d.join("f")).err().unwrap();
        assert_eq!(e.exit_code(), 73, "{e}");
        assert!(
            e.to_string()
                .ends_with("f.lock: not a regular file (a FIFO); refusing to use it"),
            "{e}"
        );
        fifo(&d.join("g"));
        let e = StateFile::open(&d.join("g")).err().unwrap();
        assert_eq!(e.exit_code(), 66, "{e}");
        assert!(
            e.to_string()
                .ends_with("g: not a regular file (a FIFO); refusing to use it"),
            "{e}"
        );
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
    fn default_paths_encode_what_could_escape() {
        // SAFETY: tests in this module do not read these variables concurrently.
        let p = default_path("pop", "a/../b", "mail.example", 110).unwrap();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(name, "a%2F..%2Fb@mail.example:110");
        assert!(p.parent().unwrap().ends_with("posthaste/pop"));
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
    }
}
