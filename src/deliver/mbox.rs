//! mboxrd (the `From ` line format where every line matching `^>*From ` in a message gets one
//! more `>`, so that reading reverses it exactly): the quoting, streamed across any chunk
//! split ([`FromQuoter`]), the envelope line ([`from_line`]), and `--mbox FILE` delivery:
//! the file locked with `fcntl` and a `FILE.lock` dot-lock for the whole run (as procmail and
//! mutt do; a stale dot-lock, whose process is gone or untouched for minutes, is broken as
//! they break them), each message appended, a failure truncating the file back to where the
//! message began, [`Deliver::sync`] fsyncing it. Until a batch is recorded
//! ([`Deliver::keep`]), [`Deliver::undo`], dropping the mbox, and SIGINT, SIGTERM or SIGHUP
//! truncate the file back to what was recorded: a message appended but not recorded would
//! be delivered again by the next run.

use super::{Deliver, MessageInfo, MessageSink};
use crate::error::{Error, Kind, Result};
use crate::util::calendar::DateTime;
use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// The header is searched for `Return-Path:` in this much of its start (and the rest of the
/// chunk that reached it).
const HEADER_LOOKAHEAD: usize = 64 * 1024;
/// How long to wait for another program's lock on the mbox.
const LOCK_WAIT: Duration = Duration::from_secs(10);
/// A dot-lock untouched for this long is stale (its holder was killed, or hung): procmail
/// breaks one after 17 minutes, which would stop a `*/5` cron job three times over.
const STALE_LOCK: Duration = Duration::from_secs(300);
/// How often this run touches its own dot-lock while it holds it, so that it never looks
/// stale however long the run takes.
const LOCK_REFRESH: Duration = if cfg!(test) {
    Duration::from_millis(50)
} else {
    Duration::from_secs(60)
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quote {
    /// At the start of a line.
    LineStart,
    /// Inside a run of `>` at the start of a line (already written).
    Gts,
    /// The first `matched` bytes of `From ` held, at the start of a line or after a run of
    /// `>`.
    From { matched: usize },
    /// Inside a line that needs nothing.
    Mid,
}

/// mboxrd quoting of a message's lines (LF line ends), streamed. A line `>*From ` gets one
/// more `>`; since every `>` of the run is alike, it goes at the end of the run rather than
/// at its start, so the run is written as it comes, whatever its length, and only what could
/// still become `From ` (at most four letters) is held until it is decided.
#[derive(Debug, Clone)]
pub struct FromQuoter {
    state: Quote,
}

impl Default for FromQuoter {
    fn default() -> Self {
        FromQuoter {
            state: Quote::LineStart,
        }
    }
}

const FROM: &[u8] = b"From ";

impl FromQuoter {
    pub fn encode(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let mut i = 0;
        while i < input.len() {
            let b = input[i];
            match self.state {
                Quote::Mid => {
                    // The rest of the line in one copy.
                    match input[i..].iter().position(|&c| c == b'\n') {
                        Some(j) => {
                            out.extend_from_slice(&input[i..=i + j]);
                            i += j + 1;
                            self.state = Quote::LineStart;
                        }
                        None => {
                            out.extend_from_slice(&input[i..]);
                            i = input.len();
                        }
                    }
                    continue;
                }
                Quote::LineStart | Quote::Gts => {
                    if b == b'>' {
                        // The whole run in one copy.
                        let run = input[i..].iter().take_while(|&&c| c == b'>').count();
                        out.extend_from_slice(&input[i..i + run]);
                        i += run;
                        self.state = Quote::Gts;
                        continue;
                    }
                    if b != b'F' {
                        self.state = Quote::Mid;
                        continue; // the Mid arm copies it (a line end included)
                    }
                    self.state = Quote::From { matched: 1 };
                }
                Quote::From { matched } => {
                    if b != FROM[matched] {
                        out.extend_from_slice(&FROM[..matched]);
                        self.state = Quote::Mid;
                        continue; // `b` again, inside the line
                    }
                    if matched + 1 == FROM.len() {
                        out.push(b'>');
                        out.extend_from_slice(FROM);
                        self.state = Quote::Mid;
                    } else {
                        self.state = Quote::From {
                            matched: matched + 1,
                        };
                    }
                }
            }
            i += 1;
        }
    }

    /// The end of the message: what was held is written as it was. Returns whether the
    /// message ended with a line end.
    pub fn finish(&mut self, out: &mut Vec<u8>) -> bool {
        let ended = match self.state {
            Quote::LineStart => true,
            Quote::From { matched } => {
                out.extend_from_slice(&FROM[..matched]);
                false
            }
            Quote::Gts | Quote::Mid => false,
        };
        self.state = Quote::LineStart;
        ended
    }
}

/// `From SENDER DATE` (asctime, UTC) with its LF: the envelope line that starts a message in
/// an mbox. A sender that is empty or holds white space or control characters is
/// `MAILER-DAEMON`, as for bounces.
pub fn from_line(sender: Option<&str>, when: SystemTime) -> String {
    let sender = match sender {
        Some(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic()) => s,
        _ => "MAILER-DAEMON",
    };
    format!("From {sender} {}\n", asctime(when))
}

/// `Wed Dec  2 14:16:53 2026` (UTC).
pub fn asctime(when: SystemTime) -> String {
    let t = DateTime::from_system(when);
    format!(
        "{} {} {:2} {:02}:{:02}:{:02} {}",
        t.weekday(),
        t.month_name(),
        t.day,
        t.hour,
        t.minute,
        t.second,
        t.year
    )
}

/// The address of a `Return-Path:` field in the start of a header (LF line ends), if any.
pub fn return_path(head: &[u8]) -> Option<String> {
    for line in head.split(|&b| b == b'\n') {
        if line.is_empty() {
            break;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        if !line[..colon].eq_ignore_ascii_case(b"Return-Path") {
            continue;
        }
        let value = String::from_utf8_lossy(&line[colon + 1..]);
        let v = value.trim();
        let v = v
            .strip_prefix('<')
            .and_then(|v| v.split('>').next())
            .unwrap_or(v);
        return Some(v.to_string());
    }
    None
}

/// Writes messages as an mboxrd stream: the `From ` line (its sender from `Return-Path:`,
/// looked for in the first 64 KiB of the header), the quoted message, a final line end if
/// it had none, and the empty line that separates messages.
pub struct MboxrdMessage {
    quoter: FromQuoter,
    /// The start of the message, held until the `From ` line can be written.
    head: Option<Vec<u8>>,
    received: SystemTime,
}

impl MboxrdMessage {
    pub fn new(info: &MessageInfo) -> MboxrdMessage {
        MboxrdMessage {
            quoter: FromQuoter::default(),
            head: Some(Vec::new()),
            received: info.received,
        }
    }

    /// Encodes a chunk of the message (LF line ends) into `out`.
    pub fn encode(&mut self, data: &[u8], out: &mut Vec<u8>) {
        if let Some(head) = &mut self.head {
            // Only the new bytes (and the one before them) can complete a blank line.
            let from = head.len().saturating_sub(1);
            head.extend_from_slice(data);
            let done = head.len() >= HEADER_LOOKAHEAD
                || head.starts_with(b"\n")
                || head[from..].windows(2).any(|w| w == b"\n\n");
            if !done {
                return;
            }
            self.release_head(out);
            return;
        }
        self.quoter.encode(data, out);
    }

    fn release_head(&mut self, out: &mut Vec<u8>) {
        if let Some(head) = self.head.take() {
            out.extend_from_slice(
                from_line(return_path(&head).as_deref(), self.received).as_bytes(),
            );
            self.quoter.encode(&head, out);
        }
    }

    /// The end of the message.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        self.release_head(out);
        if !self.quoter.finish(out) {
            out.push(b'\n');
        }
        out.push(b'\n');
    }
}

/// An [`MboxrdMessage`] encoded into a buffer that is handed on (`put`) whenever it holds
/// 64 KiB, and at the end: few writes, and never a whole message in memory.
pub struct MboxrdBuffered {
    enc: MboxrdMessage,
    buf: Vec<u8>,
}

impl MboxrdBuffered {
    pub fn new(info: &MessageInfo) -> MboxrdBuffered {
        MboxrdBuffered {
            enc: MboxrdMessage::new(info),
            buf: Vec::new(),
        }
    }

    /// Encodes `data`, handing on what is buffered once that is 64 KiB.
    pub fn write(&mut self, data: &[u8], put: impl FnOnce(&[u8]) -> Result<()>) -> Result<()> {
        self.enc.encode(data, &mut self.buf);
        if self.buf.len() >= 64 * 1024 {
            return self.put(put);
        }
        Ok(())
    }

    /// Ends the message and hands on the rest.
    pub fn finish(&mut self, put: impl FnOnce(&[u8]) -> Result<()>) -> Result<()> {
        self.enc.finish(&mut self.buf);
        self.put(put)
    }

    fn put(&mut self, put: impl FnOnce(&[u8]) -> Result<()>) -> Result<()> {
        let r = put(&self.buf);
        self.buf.clear();
        r
    }
}

/// `--mbox FILE`: locked for the run, appended to, truncated back on a failure.
pub struct Mbox {
    path: PathBuf,
    file: File,
    /// Held (and kept fresh) for the run; removed when the mbox is dropped.
    _dotlock: DotLock,
    unsynced: bool,
    /// The file, or folders for it, made by this run: their folders are fsynced too.
    entries: super::NewEntries,
    /// The file's length when what it held was last recorded (or when it was opened).
    kept_len: u64,
}

impl Mbox {
    /// Opens (creating, mode 600) and locks `path`: `fcntl` on the file and `path.lock`
    /// beside it, each waited for up to 10 s (then 75: another program holds the mbox). A
    /// stale dot-lock is broken, and `note` is told. A missing folder is made only with
    /// `create_dirs`.
    pub fn open(path: &Path, create_dirs: bool, note: &mut dyn FnMut(&str)) -> Result<Mbox> {
        use std::os::unix::fs::OpenOptionsExt;
        let shown = format!("mbox {}", path.display());
        let mut entries = super::NewEntries::default();
        entries.extend(crate::transfer::make_folders(
            crate::util::durable::parent_of(path),
            create_dirs,
            0o777,
        )?);
        let dotlock = DotLock::take(path, note)?;
        let open = |new: bool| {
            OpenOptions::new()
                .read(true)
                .append(true)
                .create_new(new)
                .mode(0o600)
                .custom_flags(libc::O_CLOEXEC)
                .open(path)
        };
        let file = match open(true) {
            Ok(f) => {
                // A new name in the folder: durable only once the folder is synced.
                entries.add(crate::util::durable::parent_of(path).to_path_buf());
                Ok(f)
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => open(false),
            Err(e) => Err(e),
        }
        .map_err(|e| Error::cant_create(&shown, &e))?;
        let meta = file
            .metadata()
            .map_err(|e| Error::cant_create(&shown, &e))?;
        if !meta.is_file() {
            return Err(Error::new(
                Kind::CantCreate,
                format!("{shown}: not a regular file"),
            ));
        }
        let started = Instant::now();
        loop {
            // SAFETY: a flock struct we own, on a descriptor we own.
            let mut fl: libc::flock = unsafe { std::mem::zeroed() };
            fl.l_type = libc::F_WRLCK as _;
            fl.l_whence = libc::SEEK_SET as _;
            if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETLK, &fl) } == 0 {
                break;
            }
            if started.elapsed() >= LOCK_WAIT {
                return Err(Error::new(
                    Kind::TempFail,
                    format!("{shown}: another program holds a lock on it (fcntl); try again later"),
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        // Its length now that nobody else may write to it: what undo and Ctrl-C cut back to.
        let kept_len = file
            .metadata()
            .map_err(|e| Error::cant_create(&shown, &e))?
            .len();
        crate::interrupt::truncate_on_signal(file.as_raw_fd(), kept_len);
        Ok(Mbox {
            path: path.to_path_buf(),
            file,
            _dotlock: dotlock,
            unsynced: false,
            entries,
            kept_len,
        })
    }
}

/// `FILE.lock`, the dot-lock procmail, mutt and mail(1) take on an mbox: made with O_EXCL,
/// holding this process's number, touched every minute while held (by a thread of its own:
/// a run may wait for much longer without writing, in IDLE, for a slow server, between
/// retries), removed when dropped (and by SIGINT, SIGTERM or SIGHUP).
struct DotLock {
    path: PathBuf,
    /// The thread that touches the lock, and what stops it (dropped, it ends the thread).
    fresh: Option<(std::sync::mpsc::Sender<()>, std::thread::JoinHandle<()>)>,
}

impl DotLock {
    /// Takes `mbox.lock`, waiting up to 10 s for another holder; a stale one (see
    /// [`stale`]) is broken at once, and `note` says so.
    fn take(mbox: &Path, note: &mut dyn FnMut(&str)) -> Result<DotLock> {
        let mut name = mbox.file_name().unwrap_or_default().to_os_string();
        name.push(".lock");
        let path = mbox.with_file_name(name);
        let started = Instant::now();
        loop {
            match super::create_new(&path) {
                Ok(mut file) => {
                    crate::interrupt::remove_lock_on_signal(&path);
                    let _ = writeln!(file, "{}", std::process::id());
                    let mut lock = DotLock { path, fresh: None };
                    lock.fresh = Some(keep_fresh(file).map_err(|e| {
                        Error::new(
                            Kind::TempFail,
                            format!(
                                "mbox {}: cannot start the thread that keeps {} fresh: {}; try again later",
                                mbox.display(),
                                lock.path.display(),
                                crate::error::io_reason(&e)
                            ),
                        )
                    })?);
                    return Ok(lock);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    if let Some((id, why)) = stale(&path, SystemTime::now()) {
                        // Unremovable (another user's lock in a sticky folder), it would
                        // be judged stale again and again: said at once instead.
                        let broken = break_lock(&path, id).map_err(|e| {
                            let e = Error::cant_create(
                                format!(
                                    "mbox {}: the stale lock {} ({why}) cannot be removed",
                                    mbox.display(),
                                    path.display()
                                ),
                                &e,
                            );
                            let m = format!("{}; remove it by hand", e.message());
                            e.with_message(m)
                        })?;
                        if broken {
                            note(&format!(
                                "mbox {}: removed the stale lock {} ({why})",
                                mbox.display(),
                                path.display(),
                            ));
                        }
                        continue;
                    }
                    if started.elapsed() >= LOCK_WAIT {
                        return Err(Error::new(
                            Kind::TempFail,
                            format!(
                                "mbox {}: {} exists: another program is writing to it; try again later",
                                mbox.display(),
                                path.display()
                            ),
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => {
                    return Err(Error::cant_create(
                        format!("mbox lock {}", path.display()),
                        &e,
                    ));
                }
            }
        }
    }
}

/// Starts a thread that touches the lock open as `file` every [`LOCK_REFRESH`], until what
/// it returns to stop it is dropped.
fn keep_fresh(
    file: File,
) -> std::io::Result<(std::sync::mpsc::Sender<()>, std::thread::JoinHandle<()>)> {
    use std::sync::mpsc::RecvTimeoutError;
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("mbox-lock".into())
        .spawn(move || {
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(LOCK_REFRESH) {
                // SAFETY: futimens on a descriptor we own; a null `times` means "now".
                unsafe { libc::futimens(file.as_raw_fd(), std::ptr::null()) };
            }
        })?;
    Ok((stop, thread))
}

impl Drop for DotLock {
    fn drop(&mut self) {
        if let Some((stop, thread)) = self.fresh.take() {
            drop(stop);
            let _ = thread.join();
        }
        let _ = std::fs::remove_file(&self.path);
        crate::interrupt::keep_lock();
    }
}

/// Whether the dot-lock at `lock` is stale, and why: the process whose number it holds is
/// gone (a run that was killed: procmail and posthaste write their number), or it has not
/// been touched for [`STALE_LOCK`] (a holder alive keeps it fresh; procmail and mutt break
/// such a lock too). Returns the lock's identity, so that only the lock judged is broken,
/// and the reason. A lock that is not a regular file is never stale.
fn stale(lock: &Path, now: SystemTime) -> Option<(LockId, String)> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(lock)
        .ok()?;
    let m = f.metadata().ok().filter(|m| m.is_file())?;
    let id = lock_id(&m);
    let mut head = [0u8; 32];
    let n = f.read(&mut head).unwrap_or(0);
    let pid = std::str::from_utf8(&head[..n])
        .ok()
        .and_then(|t| t.trim().parse::<libc::pid_t>().ok())
        .filter(|&p| p > 0);
    if let Some(pid) = pid {
        // SAFETY: kill with signal 0 only asks whether the process exists.
        let gone = unsafe { libc::kill(pid, 0) } != 0
            && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
        if gone {
            return Some((id, format!("process {pid}, which made it, is gone")));
        }
    }
    let age = now.duration_since(m.modified().ok()?).ok()?;
    (age >= STALE_LOCK).then(|| (id, format!("untouched for {} minutes", age.as_secs() / 60)))
}

/// A lock file's identity: device, inode and modification time in nanoseconds (a lock
/// removed and made again often gets the same inode; never the same time too).
type LockId = (u64, u64, i64, i64);

fn lock_id(m: &std::fs::Metadata) -> LockId {
    use std::os::unix::fs::MetadataExt;
    (m.dev(), m.ino(), m.mtime(), m.mtime_nsec())
}

/// Removes the stale lock `lock` if it is still the one judged (`id`): it is renamed aside
/// first, so that a lock another program took meanwhile is never removed (it is put back).
/// Returns whether the stale lock was removed; an error when it cannot be renamed.
fn break_lock(lock: &Path, id: LockId) -> std::io::Result<bool> {
    let mut name = lock.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".stale.{}", super::unique_stem()));
    let aside = lock.with_file_name(name);
    match std::fs::rename(lock, &aside) {
        Ok(()) => {}
        // Gone already: taken or broken by another program.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    }
    let same = std::fs::symlink_metadata(&aside).is_ok_and(|m| lock_id(&m) == id);
    if !same {
        // Another program's fresh lock: back where it was (unless yet another was taken).
        let _ = std::fs::hard_link(&aside, lock);
    }
    let _ = std::fs::remove_file(&aside);
    Ok(same)
}

impl Deliver for Mbox {
    fn begin(&mut self, info: &MessageInfo) -> Result<Box<dyn MessageSink + '_>> {
        let start = self
            .file
            .seek(SeekFrom::End(0))
            .map_err(|e| Error::local_io(format!("mbox {}", self.path.display()), &e))?;
        Ok(Box::new(MboxMessage {
            out: MboxrdBuffered::new(info),
            mbox: self,
            start,
            done: false,
        }))
    }

    fn sync(&mut self) -> Result<()> {
        if std::mem::take(&mut self.unsynced) {
            self.file
                .sync_all()
                .map_err(|e| Error::local_io(format!("mbox {}", self.path.display()), &e))?;
        }
        self.entries.sync()
    }

    fn name(&self) -> String {
        format!("mbox {}", self.path.display())
    }

    fn keep(&mut self) {
        if let Ok(m) = self.file.metadata() {
            self.kept_len = m.len();
            crate::interrupt::truncate_on_signal(self.file.as_raw_fd(), self.kept_len);
        }
    }

    fn undo(&mut self) {
        let _ = self.file.set_len(self.kept_len);
        self.unsynced = false;
    }
}

impl Drop for Mbox {
    fn drop(&mut self) {
        self.undo();
        // Before the descriptor closes: a signal must never truncate another file that
        // reuses its number.
        crate::interrupt::forget_truncate();
    }
}

struct MboxMessage<'a> {
    mbox: &'a mut Mbox,
    out: MboxrdBuffered,
    start: u64,
    done: bool,
}

impl Mbox {
    fn append(&mut self, bytes: &[u8]) -> Result<()> {
        self.file
            .write_all(bytes)
            .map_err(|e| Error::local_io(format!("mbox {}", self.path.display()), &e))
    }
}

impl MboxMessage<'_> {
    fn truncate_back(&mut self) {
        let _ = self.mbox.file.set_len(self.start);
    }
}

impl MessageSink for MboxMessage<'_> {
    fn write(&mut self, data: &[u8]) -> Result<()> {
        let mbox = &mut *self.mbox;
        self.out.write(data, |b| mbox.append(b))
    }

    fn commit(mut self: Box<Self>) -> Result<()> {
        let mbox = &mut *self.mbox;
        self.out.finish(|b| mbox.append(b))?;
        self.done = true;
        self.mbox.unsynced = true;
        Ok(())
    }
}

impl Drop for MboxMessage<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.truncate_back();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::every_split;
    use super::*;

    /// What an encoder makes of `chunks`, given one at a time, then its end.
    fn encoded<E>(
        mut e: E,
        chunks: &[&[u8]],
        encode: fn(&mut E, &[u8], &mut Vec<u8>),
        finish: fn(&mut E, &mut Vec<u8>),
    ) -> Vec<u8> {
        let mut out = Vec::new();
        for c in chunks {
            encode(&mut e, c, &mut out);
        }
        finish(&mut e, &mut out);
        out
    }

    fn quote(chunks: &[&[u8]]) -> Vec<u8> {
        encoded(
            FromQuoter::default(),
            chunks,
            FromQuoter::encode,
            |q, out| {
                q.finish(out);
            },
        )
    }

    #[test]
    fn from_lines_get_one_more_gt_at_every_split() {
        every_split(
            b"From a\n>From b\n>>From c\nFro\nFrom\n From d\nx From e\n>>x\nFrom ",
            b">From a\n>>From b\n>>>From c\nFro\nFrom\n From d\nx From e\n>>x\n>From ",
            &mut |c| quote(c),
        );
        every_split(b">>>", b">>>", &mut |c| quote(c));
        every_split(b"F", b"F", &mut |c| quote(c));
        every_split(b"\n\nFrom x", b"\n\n>From x", &mut |c| quote(c));
    }

    #[test]
    fn a_run_of_gt_of_any_length_is_quoted_and_never_held() {
        let quoted = |n: usize| {
            let mut q = FromQuoter::default();
            let mut out = Vec::new();
            q.encode(&vec![b'>'; n], &mut out);
            // Streamed as it comes: nothing of the run waits for the rest of the line.
            assert_eq!(out.len(), n, "a run of {n}");
            q.encode(b"From x\n", &mut out);
            q.finish(&mut out);
            out
        };
        // Past 64 KiB of `>` as below it: one more `>`, so the line reads back exactly.
        for n in [1, 65_536, 65_537, 200_000] {
            let mut want = vec![b'>'; n + 1];
            want.extend_from_slice(b"From x\n");
            assert!(quoted(n) == want, "a run of {n}");
        }
        // A run that is not followed by `From ` is left as it is.
        let mut q = FromQuoter::default();
        let mut out = Vec::new();
        q.encode(&vec![b'>'; 70_000], &mut out);
        q.encode(b"Fro", &mut out);
        assert_eq!(out.len(), 70_000, "`Fro` is held until it is decided");
        q.encode(b"m!\n", &mut out);
        q.finish(&mut out);
        let mut want = vec![b'>'; 70_000];
        want.extend_from_slice(b"From!\n");
        assert!(out == want);
    }

    #[test]
    fn return_path_is_looked_for_in_the_first_64k_of_the_header() {
        let sender = |filler: usize| {
            let mut m = b"X-Filler: ".to_vec();
            m.extend(std::iter::repeat_n(b'f', filler));
            m.extend_from_slice(b"\nReturn-Path: <s@x>\n\nbody\n");
            let mut e = MboxrdMessage::new(&MessageInfo::new(None, None));
            let mut out = Vec::new();
            for chunk in m.chunks(1000) {
                e.encode(chunk, &mut out);
            }
            e.finish(&mut out);
            assert!(out.ends_with(b"\nbody\n\n"));
            let first = out.split(|&b| b == b'\n').next().unwrap().to_vec();
            String::from_utf8(first).unwrap()
        };
        assert!(sender(60_000).starts_with("From s@x "));
        // (Past it by more than the chunk that reached it.)
        assert!(sender(HEADER_LOOKAHEAD + 1000).starts_with("From MAILER-DAEMON "));
        assert_eq!(HEADER_LOOKAHEAD, 64 * 1024);
        // A header that never ends is not held past the look-ahead: it goes out.
        let mut e = MboxrdMessage::new(&MessageInfo::new(None, None));
        let mut out = Vec::new();
        let mut fed = 0;
        let line = b"X-Filler: ffffffffffffffffffffffffffffffff\n";
        while fed <= HEADER_LOOKAHEAD {
            e.encode(line, &mut out);
            fed += line.len();
        }
        assert!(out.len() > fed, "{} of {fed} bytes out", out.len());
        // No header at all (a blank first line): the body goes out as it comes.
        let mut e = MboxrdMessage::new(&MessageInfo::new(None, None));
        let mut out = Vec::new();
        e.encode(b"\nbody line\n", &mut out);
        assert!(
            out.ends_with(b"\n\nbody line\n"),
            "{}",
            String::from_utf8_lossy(&out)
        );
    }

    #[test]
    fn envelope_lines() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_685_013);
        assert_eq!(asctime(t), "Tue Dec  2 14:16:53 2025");
        assert_eq!(
            from_line(Some("a@b"), t),
            "From a@b Tue Dec  2 14:16:53 2025\n"
        );
        assert_eq!(
            from_line(Some(""), t),
            "From MAILER-DAEMON Tue Dec  2 14:16:53 2025\n"
        );
        assert_eq!(
            from_line(Some("a b"), t),
            "From MAILER-DAEMON Tue Dec  2 14:16:53 2025\n"
        );
        assert_eq!(
            return_path(b"X: y\nreturn-path: <s@x>\n\nReturn-Path: <no>\n").as_deref(),
            Some("s@x")
        );
        assert_eq!(return_path(b"X: y\n\nReturn-Path: <no>\n"), None);
        assert_eq!(return_path(b"Return-Path: <>\n").as_deref(), Some(""));
    }

    fn stream(chunks: &[&[u8]]) -> Vec<u8> {
        let info = MessageInfo {
            size: None,
            id: None,
            received: SystemTime::UNIX_EPOCH,
        };
        let m = MboxrdMessage::new(&info);
        encoded(m, chunks, MboxrdMessage::encode, MboxrdMessage::finish)
    }

    #[test]
    fn a_message_becomes_an_mboxrd_entry_at_every_split() {
        every_split(
            b"Return-Path: <s@x>\nSubject: y\n\nFrom here\nend",
            b"From s@x Thu Jan  1 00:00:00 1970\nReturn-Path: <s@x>\nSubject: y\n\n>From here\nend\n\n",
            &mut |c| stream(c),
        );
        every_split(
            b"Subject: y\n\nbody\n",
            b"From MAILER-DAEMON Thu Jan  1 00:00:00 1970\nSubject: y\n\nbody\n\n",
            &mut |c| stream(c),
        );
    }

    #[test]
    fn what_is_not_kept_is_cut_back() {
        let d = crate::util::test_folder("mbox-undo");
        let path = d.join("inbox");
        std::fs::write(&path, b"From old\n\nold\n\n").unwrap();
        let info = MessageInfo::new(None, None);
        let put = |mb: &mut Mbox, body: &[u8]| {
            let mut m = mb.begin(&info).unwrap();
            m.write(body).unwrap();
            m.commit().unwrap();
        };
        let mut mb = Mbox::open(&path, false, &mut |n| panic!("{n}")).unwrap();
        put(&mut mb, b"Subject: kept\n\n");
        mb.sync().unwrap();
        mb.keep();
        let kept = std::fs::read(&path).unwrap();
        put(&mut mb, b"Subject: synced\n\n");
        mb.sync().unwrap();
        put(&mut mb, b"Subject: committed\n\n");
        mb.undo();
        assert_eq!(std::fs::read(&path).unwrap(), kept);
        put(&mut mb, b"Subject: dropped\n\n");
        drop(mb);
        assert_eq!(std::fs::read(&path).unwrap(), kept);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn only_a_stale_lock_is_broken_and_only_the_one_judged() {
        let d = crate::util::test_folder("stale");
        let lock = d.join("inbox.lock");
        let now = SystemTime::now();
        // A live process's lock (this one's), fresh: not stale; untouched for 5 minutes: stale.
        std::fs::write(&lock, format!("{}\n", std::process::id())).unwrap();
        assert!(stale(&lock, now).is_none());
        assert!(stale(&lock, now + STALE_LOCK - Duration::from_secs(2)).is_none());
        let (id, why) = stale(&lock, now + STALE_LOCK + Duration::from_secs(1)).unwrap();
        assert_eq!(why, "untouched for 5 minutes");
        // Replaced meanwhile by another program's lock: that one stays.
        std::fs::remove_file(&lock).unwrap();
        std::fs::write(&lock, b"other\n").unwrap();
        assert!(!break_lock(&lock, id).unwrap());
        assert_eq!(std::fs::read(&lock).unwrap(), b"other\n");
        assert!(break_lock(&lock, lock_id(&std::fs::metadata(&lock).unwrap())).unwrap());
        assert!(!lock.exists());
        assert_eq!(
            std::fs::read_dir(&d).unwrap().count(),
            0,
            "nothing set aside is left"
        );
        // A link or a FIFO is never judged stale, not even a link to a stale lock (and a
        // FIFO does not hold the look up).
        std::os::unix::fs::symlink("/nonexistent", &lock).unwrap();
        assert!(stale(&lock, now + Duration::from_secs(3600)).is_none());
        std::fs::remove_file(&lock).unwrap();
        let old = d.join("old.lock");
        std::fs::write(&old, b"other\n").unwrap();
        std::os::unix::fs::symlink(&old, &lock).unwrap();
        assert!(stale(&old, now + Duration::from_secs(3600)).is_some());
        assert!(stale(&lock, now + Duration::from_secs(3600)).is_none());
        std::fs::remove_file(&old).unwrap();
        std::fs::remove_file(&lock).unwrap();
        let fifo = std::ffi::CString::new(lock.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        assert!(stale(&lock, now + Duration::from_secs(3600)).is_none());
        std::fs::remove_file(&lock).unwrap();
        // A live holder's lock is not stale, whatever errno held before (here ESRCH).
        let mut gone = std::process::Command::new("true").spawn().unwrap();
        let pid = gone.id() as libc::pid_t;
        gone.wait().unwrap();
        std::fs::write(&lock, format!("{}\n", std::process::id())).unwrap();
        // SAFETY: signal 0 only asks.
        assert_ne!(unsafe { libc::kill(pid, 0) }, 0);
        assert!(stale(&lock, now).is_none());
        std::fs::remove_file(&lock).unwrap();
        // A lock gone before it could be broken (taken or broken by another program): not
        // broken here, and no error.
        assert!(!break_lock(&d.join("gone.lock"), id).unwrap());
        // A lock that cannot be made for another reason than being there: said at once.
        let Err(e) = DotLock::take(&d.join("missing/inbox"), &mut |n| panic!("{n}")) else {
            panic!("a lock in a missing folder");
        };
        assert_eq!(e.exit_code(), 73, "{e}");
        assert!(
            e.to_string()
                .ends_with("inbox.lock: No such file or directory"),
            "{e}"
        );
        // Our own lock is kept fresh while held, whatever the run does meanwhile (waits in
        // IDLE, for a slow server, between retries): nothing is written to the mbox here.
        let held = DotLock::take(&d.join("inbox"), &mut |n| panic!("{n}")).unwrap();
        File::options()
            .write(true)
            .open(&lock)
            .unwrap()
            .set_modified(now - Duration::from_secs(3600))
            .unwrap();
        assert!(stale(&lock, SystemTime::now()).is_some());
        std::thread::sleep(LOCK_REFRESH * 4);
        assert!(stale(&lock, SystemTime::now()).is_none());
        drop(held);
        assert!(!lock.exists());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_stale_lock_that_cannot_be_removed_is_an_error_at_once() {
        let d = crate::util::test_folder("stuck");
        // A lock whose process is gone, under a name so long that no name can be made to set
        // it aside (as a lock another user owns in a sticky /var/mail cannot be renamed).
        let mbox = d.join("m".repeat(240));
        let mut gone = std::process::Command::new("true").spawn().unwrap();
        let pid = gone.id();
        gone.wait().unwrap();
        let lock = d.join(format!("{}.lock", "m".repeat(240)));
        std::fs::write(&lock, format!("{pid}\n")).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let m = mbox.clone();
        std::thread::spawn(move || {
            let r = DotLock::take(&m, &mut |n| panic!("{n}")).map(|_| ());
            let _ = tx.send(r);
        });
        let e = rx
            .recv_timeout(Duration::from_secs(5))
            .expect("an answer at once, not a loop")
            .unwrap_err();
        assert_eq!(e.exit_code(), 73, "{e}");
        assert_eq!(
            e.to_string(),
            format!(
                "mbox {}: the stale lock {} (process {pid}, which made it, is gone) cannot be removed: File name too long; remove it by hand",
                mbox.display(),
                lock.display()
            )
        );
        assert!(lock.exists());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn the_mbox_is_locked_appended_and_truncated_back_on_failure() {
        let d = crate::util::test_folder("mbox");
        let path = d.join("inbox");
        let mut mb = Mbox::open(&path, false, &mut |n| panic!("{n}")).unwrap();
        assert!(d.join("inbox.lock").exists());
        let info = MessageInfo::new(None, None);
        let mut m = mb.begin(&info).unwrap();
        m.write(b"Subject: a\n\nFrom me\n").unwrap();
        m.commit().unwrap();
        let len = std::fs::metadata(&path).unwrap().len();
        // Written in 64 KiB batches: a small start stays in the buffer, a large one streams
        // to the file before the message ends.
        let mut m = mb.begin(&info).unwrap();
        m.write(&vec![b'x'; 10_000]).unwrap();
        m.write(b"\n\n").unwrap();
        m.write(&vec![b'y'; 10_000]).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), len);
        m.write(&vec![b'x'; 200_000]).unwrap();
        assert!(std::fs::metadata(&path).unwrap().len() > len + 150_000);
        m.abort();
        mb.sync().unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), len);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("From MAILER-DAEMON "), "{text}");
        assert!(text.ends_with("Subject: a\n\n>From me\n\n"), "{text}");
        assert_eq!(mb.name(), format!("mbox {}", path.display()));
        drop(mb);
        assert!(!d.join("inbox.lock").exists());
        // Another program's dot lock is waited for, not broken.
        std::fs::write(d.join("inbox.lock"), b"1\n").unwrap();
        let lock = d.join("inbox.lock");
        let holder = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            std::fs::remove_file(lock).unwrap();
        });
        let t = Instant::now();
        let mb = Mbox::open(&path, false, &mut |n| panic!("{n}")).unwrap();
        assert!(t.elapsed() >= Duration::from_millis(300));
        holder.join().unwrap();
        drop(mb);
        // So is another program's fcntl lock (an open file description lock conflicts with
        // the mbox's own fcntl lock even within this process).
        let held = File::options().write(true).open(&path).unwrap();
        // SAFETY: a flock struct we own, on a descriptor we own.
        let mut fl: libc::flock = unsafe { std::mem::zeroed() };
        fl.l_type = libc::F_WRLCK as _;
        fl.l_whence = libc::SEEK_SET as _;
        assert_eq!(
            unsafe { libc::fcntl(held.as_raw_fd(), libc::F_OFD_SETLK, &fl) },
            0
        );
        let holder = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            drop(held);
        });
        let t = Instant::now();
        let mb = Mbox::open(&path, false, &mut |n| panic!("{n}")).unwrap();
        assert!(t.elapsed() >= Duration::from_millis(300));
        holder.join().unwrap();
        drop(mb);
        // A lock that cannot be made for another reason is no reason to wait.
        let t = Instant::now();
        let e = Mbox::open(&d.join("missing/inbox"), false, &mut |n| panic!("{n}"))
            .err()
            .unwrap();
        assert_eq!(e.exit_code(), 73, "{e}");
        assert!(t.elapsed() < Duration::from_secs(5));
        std::fs::remove_dir_all(&d).unwrap();
    }
}
