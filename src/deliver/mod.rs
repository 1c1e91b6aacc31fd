//! Local delivery of fetched mail, shared by pop-fetch and imap-fetch: where a message goes
//! (a Maildir, an mbox, a folder of `.eml` files, a command, standard output) and the file
//! that remembers what was delivered (`crate::uidls`).
//!
//! A store is a [`Deliver`]: [`Deliver::begin`] opens one message as a [`MessageSink`], which
//! takes the message in chunks of any size (constant memory, whatever the message's size) and
//! ends with [`MessageSink::commit`] or [`MessageSink::abort`] (nothing left behind).
//! [`Deliver::sync`] then makes every committed message durable: only after it may a message
//! be recorded as delivered or deleted on the server (docs/CONVENTIONS.md, "Files are never
//! left half-written"). Committing many messages and syncing once per batch is what lets a
//! Maildir take thousands of small messages without one folder fsync each.
//!
//! A store and the state file never part: a [`Batch`] is synced, recorded and kept
//! ([`Deliver::keep`]), with signals held meanwhile (the fetch loops' order is
//! `crate::jobs::batch`); if any step fails, what the batch put in the store is taken back
//! ([`Deliver::undo`]), as it is when the store is dropped unkept, and as SIGINT, SIGTERM or SIGHUP take it back ([`crate::interrupt`]): a
//! Maildir's temporaries swept from `tmp/`, an mbox cut back to what was recorded. So a
//! message is in a store and recorded, or in neither, and then still on the server.
//!
//! Messages arrive from POP3 and IMAP servers with CRLF line ends; stores keep LF line ends
//! (as mpop, fetchmail, getmail and Dovecot's own Maildirs do): [`WireMessage`] converts on
//! the way in with `util::crlf::CrlfToLf`, streaming, and keeps a lone CR as it is.

pub mod maildir;
pub mod mbox;
pub mod mda;
pub mod output_dir;
pub mod stdout;

use crate::error::Result;
use crate::util::crlf::CrlfToLf;
use std::path::PathBuf;
use std::time::SystemTime;

/// What is known about a message before its first byte is stored.
#[derive(Debug, Clone)]
pub struct MessageInfo {
    /// The size the server announced (POP3 LIST, IMAP RFC822.SIZE), in the server's CRLF
    /// bytes, if known.
    pub size: Option<u64>,
    /// The server's id for it (a POP3 UIDL, an IMAP UID), for messages.
    pub id: Option<String>,
    /// When it was fetched (the mbox `From ` line's date).
    pub received: SystemTime,
}

impl MessageInfo {
    pub fn new(size: Option<u64>, id: Option<String>) -> MessageInfo {
        MessageInfo {
            size,
            id,
            received: SystemTime::now(),
        }
    }
}

/// A local store of messages.
pub trait Deliver {
    /// Starts one message.
    fn begin(&mut self, info: &MessageInfo) -> Result<Box<dyn MessageSink + '_>>;
    /// Makes every message committed so far durable (fsync of a folder or a file; a pipe
    /// drained). Until it returns, a committed message may still be lost by a crash.
    fn sync(&mut self) -> Result<()>;
    /// Names the store in messages (`Maildir ~/Mail/inbox`).
    fn name(&self) -> String;
    /// Whether a message synced here is stored for good (a file, an MDA that took it), so
    /// that it may be recorded as delivered, skipped by later runs and deleted on the
    /// server. Standard output is a look: what a pipe's reader does with it is unknown.
    fn durable(&self) -> bool {
        true
    }
    /// What the last [`sync`](Deliver::sync) made durable was recorded (or there is
    /// nothing to record it in): it stays, whatever happens next.
    fn keep(&mut self) {}
    /// The run means to deliver `n` more messages (those it chose to fetch), for a store
    /// that says what a run did; nothing else depends on it.
    fn expect(&mut self, n: u64) {
        let _ = n;
    }
    /// Takes back what was committed or synced since the last [`keep`](Deliver::keep):
    /// it was not recorded. (Dropping a store does the same; an MDA's deliveries and a
    /// stream's bytes cannot be taken back.)
    fn undo(&mut self) {}
}

/// A batch made durable ([`Batch::sync`]) and not yet recorded: SIGINT, SIGTERM and SIGHUP
/// wait while it lives (`crate::interrupt::hold`), so that a signal finds the batch in
/// the store and recorded, or in neither. [`Batch::keep`] once it is recorded; dropped
/// otherwise (the record failed), it takes the batch back out of the store
/// ([`Deliver::undo`]). A look (standard output) holds nothing: its sync may wait a minute
/// for a pipe's reader, and it records nothing.
pub struct Batch<'a> {
    store: &'a mut dyn Deliver,
    kept: bool,
    _held: Option<crate::interrupt::Held>,
}

impl<'a> Batch<'a> {
    /// Syncs what `store` took since the last batch; a sync that fails takes it back.
    pub fn sync(store: &'a mut dyn Deliver) -> Result<Batch<'a>> {
        let held = store.durable().then(crate::interrupt::hold);
        let batch = Batch {
            store,
            kept: false,
            _held: held,
        };
        batch.store.sync()?;
        Ok(batch)
    }

    /// The batch is recorded: it stays in the store.
    pub fn keep(mut self) {
        self.store.keep();
        self.kept = true;
    }
}

impl Drop for Batch<'_> {
    fn drop(&mut self) {
        if !self.kept {
            self.store.undo();
        }
    }
}

/// One message on its way into a store, in LF line ends (see [`WireMessage`] for CRLF).
pub trait MessageSink {
    /// Appends a chunk of the message.
    fn write(&mut self, data: &[u8]) -> Result<()>;
    /// The message is complete: it becomes part of the store (durable after
    /// [`Deliver::sync`]; an MDA that exits 0 has taken it for good already).
    fn commit(self: Box<Self>) -> Result<()>;
    /// The message will not be completed: nothing of it stays in the store. Every sink does
    /// this when it is dropped uncommitted (an error's `?` does it), so calling it only
    /// makes the intent visible.
    fn abort(self: Box<Self>) {}
}

/// A message as the server sends it (CRLF line ends, already dot-unstuffed), going into a
/// store in LF line ends.
pub struct WireMessage<'a> {
    sink: Option<Box<dyn MessageSink + 'a>>,
    conv: CrlfToLf,
    buf: Vec<u8>,
    /// Bytes taken from the server (CRLF).
    wire: u64,
}

impl<'a> WireMessage<'a> {
    pub fn begin(store: &'a mut dyn Deliver, info: &MessageInfo) -> Result<WireMessage<'a>> {
        Ok(WireMessage {
            sink: Some(store.begin(info)?),
            conv: CrlfToLf::default(),
            buf: Vec::new(),
            wire: 0,
        })
    }

    pub fn write(&mut self, data: &[u8]) -> Result<()> {
        self.wire += data.len() as u64;
        self.buf.clear();
        self.conv.convert(data, &mut self.buf);
        match &mut self.sink {
            Some(s) => s.write(&self.buf),
            None => Ok(()),
        }
    }

    /// Bytes received so far, as the server sent them.
    pub fn wire_bytes(&self) -> u64 {
        self.wire
    }

    pub fn commit(mut self) -> Result<()> {
        self.buf.clear();
        self.conv.finish(&mut self.buf);
        let mut sink = self.sink.take().expect("a message is committed once");
        if !self.buf.is_empty() {
            if let Err(e) = sink.write(&self.buf) {
                sink.abort();
                return Err(e);
            }
        }
        sink.commit()
    }

    /// Abandons the message: nothing of it stays in the store (dropping it does the same).
    pub fn abort(self) {}
}

impl Drop for WireMessage<'_> {
    fn drop(&mut self) {
        if let Some(s) = self.sink.take() {
            s.abort();
        }
    }
}

/// The unique part of a file name for this process: `secs.M<micros>P<pid>Q<n>`, as the
/// Maildir specification and Dovecot make them.
pub(crate) fn unique_stem() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(
        "{}.M{}P{}Q{}",
        now.as_secs(),
        now.subsec_micros(),
        std::process::id(),
        n
    )
}

/// Folders that got a new entry in this run (a file or folder made in them), whose own
/// fsync must come before anything in them counts as durable: a message fsynced into a
/// folder that a crash then loses is lost too. Synced once, by the store's first sync.
#[derive(Debug, Default)]
pub(crate) struct NewEntries(Vec<PathBuf>);

impl NewEntries {
    /// `dir` got a new entry.
    pub(crate) fn add(&mut self, dir: PathBuf) {
        if !self.0.contains(&dir) {
            self.0.push(dir);
        }
    }

    pub(crate) fn extend(&mut self, dirs: Vec<PathBuf>) {
        for d in dirs {
            self.add(d);
        }
    }

    /// Fsyncs each of them (once: they are forgotten when it succeeds).
    pub(crate) fn sync(&mut self) -> Result<()> {
        for dir in &self.0 {
            crate::util::durable::sync_folder(dir)?;
        }
        self.0.clear();
        Ok(())
    }
}

/// Creates `path` afresh for writing, readable by its owner only: `create_new` is O_EXCL,
/// which never opens an existing file and never follows a link, not even a dangling one
/// (and std opens every file O_CLOEXEC).
pub(crate) fn create_new(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

/// Publishes a store's batch in order (`publish` gives each its final name and returns
/// it); after a failure the rest of the batch is not published but discarded (`discard`,
/// which removes a temporary), with the one that failed: nothing of a batch that did not
/// sync is recorded. Returns what was published, and the first failure.
pub(crate) fn publish_batch<T, P>(
    batch: Vec<T>,
    mut publish: impl FnMut(&T) -> Result<P>,
    discard: impl Fn(T),
) -> (Vec<P>, Result<()>) {
    let mut published = Vec::new();
    let mut result = Ok(());
    for item in batch {
        if result.is_ok() {
            match publish(&item) {
                Ok(p) => {
                    published.push(p);
                    continue;
                }
                Err(e) => result = Err(e),
            }
        }
        discard(item);
    }
    (published, result)
}

/// A message being written to a store's temporary file (a Maildir's `tmp/`, `-O`'s
/// `.part`): removed when dropped, unless [`kept`](TempMessage::kept) for the store to
/// publish. Errors name the file, after the store's `label` (`"Maildir "`).
pub(crate) struct TempMessage {
    path: PathBuf,
    label: &'static str,
    file: Option<std::fs::File>,
    len: u64,
}

impl TempMessage {
    /// Creates `path` afresh ([`create_new`]); failure is 73.
    pub(crate) fn create(path: PathBuf, label: &'static str) -> Result<TempMessage> {
        let file = create_new(&path)
            .map_err(|e| crate::Error::cant_create(format!("{label}{}", path.display()), &e))?;
        Ok(TempMessage {
            path,
            label,
            file: Some(file),
            len: 0,
        })
    }

    fn file(&self) -> &std::fs::File {
        // Only `kept` takes it, and that consumes `self`.
        self.file.as_ref().expect("open until kept")
    }

    fn error(&self, e: &std::io::Error) -> crate::Error {
        crate::Error::local_io(format!("{}{}", self.label, self.path.display()), e)
    }

    pub(crate) fn write(&mut self, data: &[u8]) -> Result<()> {
        use std::io::Write;
        #[cfg(debug_assertions)]
        if self.len == 0 {
            if let Some(e) = test_fault::first_write() {
                return Err(self.error(&e));
            }
        }
        let r = self.file().write_all(data);
        r.map_err(|e| self.error(&e))?;
        self.len += data.len() as u64;
        Ok(())
    }

    /// Bytes written.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Fsyncs the file (74 on failure; dropping then removes it).
    pub(crate) fn sync(&self) -> Result<()> {
        self.file().sync_all().map_err(|e| self.error(&e))
    }

    /// The file and its path, no longer removed when this is dropped.
    pub(crate) fn kept(mut self) -> (std::fs::File, PathBuf) {
        let file = self.file.take().expect("kept once");
        (file, std::mem::take(&mut self.path))
    }
}

/// Test-only, and only in debug builds (release builds have none of it): the environment
/// variable `POSTHASTE_TEST_WRITE_FAULT=N:ERRNO` (`ENOSPC`, `EDQUOT`, `EROFS`) makes the
/// first write of the Nth message of the process into a Maildir or `--output-dir` fail with
/// that error, as a full disk would, for the tests of what a run then says and leaves
/// (tests/it), which must not depend on filling or mounting a file system.
#[cfg(debug_assertions)]
mod test_fault {
    use std::sync::atomic::{AtomicU64, Ordering};

    static MESSAGES: AtomicU64 = AtomicU64::new(0);

    /// The error the first write of this message fails with, if the variable says so.
    pub(super) fn first_write() -> Option<std::io::Error> {
        let n = MESSAGES.fetch_add(1, Ordering::Relaxed) + 1;
        let spec = std::env::var("POSTHASTE_TEST_WRITE_FAULT").ok()?;
        let (at, name) = spec.split_once(':')?;
        let errno = match name {
            "ENOSPC" => libc::ENOSPC,
            "EDQUOT" => libc::EDQUOT,
            "EROFS" => libc::EROFS,
            _ => return None,
        };
        (at.parse::<u64>().ok()? == n).then(|| std::io::Error::from_raw_os_error(errno))
    }
}

impl Drop for TempMessage {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    /// Feeds `input` to `f` split at every pair of points (three chunks), and checks the
    /// result is `want` each time.
    pub fn every_split(input: &[u8], want: &[u8], f: &mut dyn FnMut(&[&[u8]]) -> Vec<u8>) {
        for i in 0..=input.len() {
            for j in i..=input.len() {
                let got = f(&[&input[..i], &input[i..j], &input[j..]]);
                assert_eq!(
                    String::from_utf8_lossy(&got),
                    String::from_utf8_lossy(want),
                    "split at {i}, {j}"
                );
            }
        }
    }

    /// A store that writes down what happens to its messages.
    #[derive(Default)]
    struct Log {
        events: Rc<RefCell<Vec<String>>>,
        fail_at: Option<&'static [u8]>,
    }

    struct LogMessage {
        events: Rc<RefCell<Vec<String>>>,
        fail_at: Option<&'static [u8]>,
    }

    impl Deliver for Log {
        fn begin(&mut self, _: &MessageInfo) -> Result<Box<dyn MessageSink + '_>> {
            Ok(Box::new(LogMessage {
                events: self.events.clone(),
                fail_at: self.fail_at,
            }))
        }
        fn sync(&mut self) -> Result<()> {
            Ok(())
        }
        fn name(&self) -> String {
            "log".into()
        }
    }

    impl MessageSink for LogMessage {
        fn write(&mut self, data: &[u8]) -> Result<()> {
            if Some(data) == self.fail_at {
                return Err(crate::Error::new(crate::error::Kind::CantCreate, "full"));
            }
            let w = format!("write {}", String::from_utf8_lossy(data));
            self.events.borrow_mut().push(w);
            Ok(())
        }
        fn commit(self: Box<Self>) -> Result<()> {
            self.events.borrow_mut().push("commit".into());
            Ok(())
        }
        fn abort(self: Box<Self>) {
            self.events.borrow_mut().push("abort".into());
        }
    }

    #[test]
    fn wire_messages_convert_count_and_end_once() {
        let mut store = Log::default();
        let events = store.events.clone();
        let mut m = WireMessage::begin(&mut store, &MessageInfo::new(None, None)).unwrap();
        m.write(b"a\r\nb\r").unwrap();
        m.write(b"\nc\r").unwrap();
        assert_eq!(m.wire_bytes(), 8);
        m.commit().unwrap();
        // The CR held back at the end was a lone one: it is written before the commit.
        assert_eq!(
            *events.borrow(),
            ["write a\nb", "write \nc", "write \r", "commit"]
        );
        // Abandoned, by abort or by drop: aborted once, never committed.
        events.borrow_mut().clear();
        let mut m = WireMessage::begin(&mut store, &MessageInfo::new(None, None)).unwrap();
        m.write(b"x\r\n").unwrap();
        m.abort();
        let m = WireMessage::begin(&mut store, &MessageInfo::new(None, None)).unwrap();
        drop(m);
        assert_eq!(*events.borrow(), ["write x\n", "abort", "abort"]);
        // The last CR cannot be written: the message is aborted and the error returned.
        events.borrow_mut().clear();
        store.fail_at = Some(b"\r");
        let mut m = WireMessage::begin(&mut store, &MessageInfo::new(None, None)).unwrap();
        m.write(b"y\r").unwrap();
        assert_eq!(m.commit().unwrap_err().to_string(), "full");
        assert_eq!(*events.borrow(), ["write y", "abort"]);
    }

    /// Each folder is kept once, and synced once: a folder that cannot be synced is an
    /// error naming it, and one synced is forgotten.
    #[test]
    fn new_entries_are_synced_once() {
        let top = crate::util::test_folder("new-entries");
        let (a, b) = (top.join("a"), top.join("b"));
        std::fs::create_dir(&a).unwrap();
        let mut n = NewEntries::default();
        n.add(a.clone());
        n.extend(vec![a.clone(), b.clone()]);
        assert_eq!(n.0, [a.clone(), b.clone()]);
        n.add(b.clone());
        assert_eq!(n.0.len(), 2);
        // b does not exist: its sync fails, and both stay to be synced.
        let e = n.sync().unwrap_err();
        assert!(e.to_string().contains("b: cannot sync the folder"), "{e}");
        assert_eq!(n.0.len(), 2);
        std::fs::create_dir(&b).unwrap();
        n.sync().unwrap();
        assert!(n.0.is_empty());
        // Once synced, a folder gone since is no error.
        std::fs::remove_dir(&b).unwrap();
        n.add(a);
        n.sync().unwrap();
    }
}
