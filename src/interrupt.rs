//! What happens when SIGINT, SIGTERM or SIGHUP ends a run (Ctrl-C, `kill`, a closed
//! terminal): a temporary file that must not be left behind is removed (mime-pack's
//! `FILE.XXXXXXXX.part`), and a last line can tell the user what was kept (ftp-get's
//! `NAME.part`, which `-c` resumes). For the fetching tools: the run's temporaries in a
//! folder are swept away (a Maildir's `tmp/`, `-O`'s `.part` files), an mbox is cut back to
//! what was recorded, a delivery command is killed before it can take a partial message
//! for a whole one, and a last line says what was stored ([`say_at_end`]). While a batch is
//! being made durable and recorded ([`hold`]), a signal waits until that is done, so that
//! what is in a store and what the state file says never part.
//!
//! The handler may only make async-signal-safe calls (POSIX.1-2017 2.4.3): the path is kept
//! as a ready-made C string that the handler passes to unlink(2); it then restores the
//! default action and raises the signal again, so the process still ends by that signal
//! (exit status 128+N in a shell), as callers expect of an interrupted command.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicPtr, AtomicU64, AtomicUsize, Ordering};

/// How many [`hold`]s are under way: while any is, a signal is only noted (`PENDING`), and
/// acted on when the last one ends.
static HOLD: AtomicUsize = AtomicUsize::new(0);
static PENDING: AtomicI32 = AtomicI32::new(0);

/// While the returned value lives, SIGINT, SIGTERM and SIGHUP wait: one that arrives is
/// acted on (cleanup, last line, the default action) when the last hold ends. Around what
/// must happen whole or not at all: a batch made durable and recorded, a state file
/// replaced. Holds nest.
pub fn hold() -> Held {
    HOLD.fetch_add(1, Ordering::SeqCst);
    Held(())
}

/// See [`hold`].
pub struct Held(());

impl Drop for Held {
    fn drop(&mut self) {
        if HOLD.fetch_sub(1, Ordering::SeqCst) == 1 {
            let sig = PENDING.swap(0, Ordering::SeqCst);
            if sig != 0 {
                // SAFETY: raise runs the handler, on this thread, now that nothing holds it.
                unsafe { libc::raise(sig) };
            }
        }
    }
}

const SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// The handlers are installed once, when first needed.
static INSTALL: Once = Once::new();

/// The temporary file to unlink, or null. One at a time: mime-pack writes one output.
static TEMP: AtomicPtr<libc::c_char> = AtomicPtr::new(std::ptr::null_mut());
/// The line to write on stderr: one fixed buffer, rewritten for every file of a run (a new
/// allocation per file would pile up over thousands of files). A sequence count, odd while
/// the buffer is being written, lets the handler skip a line caught half-written.
struct Message {
    seq: AtomicUsize,
    len: AtomicUsize,
    buf: std::cell::UnsafeCell<[u8; MESSAGE_MAX]>,
}

// SAFETY: the buffer is written only by `say_on_signal` (one writer at a time: it holds
// WRITER) and read by the handler only between two equal, even sequence counts.
unsafe impl Sync for Message {}

const MESSAGE_MAX: usize = 1024;
static MESSAGE: Message = Message {
    seq: AtomicUsize::new(0),
    len: AtomicUsize::new(0),
    buf: std::cell::UnsafeCell::new([0; MESSAGE_MAX]),
};
/// The fetching tools' last line ([`say_at_end`]), apart from the progress display's.
static SUMMARY: Message = Message {
    seq: AtomicUsize::new(0),
    len: AtomicUsize::new(0),
    buf: std::cell::UnsafeCell::new([0; MESSAGE_MAX]),
};
static WRITER: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// From now until [`forget`], one of the signals unlinks `path` before it ends the process.
/// The handlers are installed once; a signal the caller ignores (nohup, a background job)
/// stays ignored.
pub fn remove_on_signal(path: &Path) {
    INSTALL.call_once(install);
    // A path with a NUL cannot have been created, so there is nothing to register.
    if let Ok(c) = CString::new(path.as_os_str().as_bytes()) {
        // Never freed: a handler running on another thread could still be reading the old
        // one. A few bytes per output file.
        TEMP.store(c.into_raw(), Ordering::SeqCst);
    }
}

/// The temporary file was renamed into place or removed: a signal now just ends the run.
pub fn forget() {
    TEMP.store(std::ptr::null_mut(), Ordering::SeqCst);
}

/// A file being appended to (an mbox): its descriptor, or -1, and the length to cut it
/// back to when a signal ends the run midway through a message.
static TRUNCATE_FD: AtomicI32 = AtomicI32::new(-1);
static TRUNCATE_LEN: AtomicU64 = AtomicU64::new(0);
/// A lock file to remove when a signal ends the run (an mbox's `FILE.lock`), or null.
static LOCK: AtomicPtr<libc::c_char> = AtomicPtr::new(std::ptr::null_mut());

/// From now until [`forget_truncate`], one of the signals cuts the file open as `fd` back to
/// `len` bytes (a message half appended to an mbox goes) before it ends the process.
pub fn truncate_on_signal(fd: std::os::fd::RawFd, len: u64) {
    INSTALL.call_once(install);
    TRUNCATE_LEN.store(len, Ordering::SeqCst);
    TRUNCATE_FD.store(fd, Ordering::SeqCst);
}

/// The message is complete (or already cut back): a signal leaves the file as it is.
pub fn forget_truncate() {
    TRUNCATE_FD.store(-1, Ordering::SeqCst);
}

/// From now until [`keep_lock`], one of the signals removes the lock file `path`.
pub fn remove_lock_on_signal(path: &Path) {
    INSTALL.call_once(install);
    if let Ok(c) = CString::new(path.as_os_str().as_bytes()) {
        // Never freed, as in `remove_on_signal`.
        LOCK.store(c.into_raw(), Ordering::SeqCst);
    }
}

/// The lock file was removed: nothing for a signal to remove.
pub fn keep_lock() {
    LOCK.store(std::ptr::null_mut(), Ordering::SeqCst);
}

/// From now until [`say_nothing`], one of the signals writes `line` on stderr before it
/// ends the process.
pub fn say_on_signal(line: &str) {
    INSTALL.call_once(install);
    set_message(&MESSAGE, line);
}

fn set_message(m: &Message, line: &str) {
    let _one_writer = WRITER.lock().unwrap_or_else(|p| p.into_inner());
    let bytes = &line.as_bytes()[..line.len().min(MESSAGE_MAX)];
    m.seq.fetch_add(1, Ordering::SeqCst);
    // SAFETY: the sequence count is odd: the handler does not use the buffer now.
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), m.buf.get().cast::<u8>(), bytes.len()) };
    m.len.store(bytes.len(), Ordering::SeqCst);
    m.seq.fetch_add(1, Ordering::SeqCst);
}

/// Nothing more to say when a signal ends the run.
pub fn say_nothing() {
    MESSAGE.len.store(0, Ordering::SeqCst);
}

/// From now until [`say_nothing_at_end`], one of the signals writes `line` on stderr (after
/// the progress display's line, if any) before it ends the process: what a fetching run
/// had stored, and what it did on the server.
pub fn say_at_end(line: &str) {
    INSTALL.call_once(install);
    set_message(&SUMMARY, line);
}

/// The run's last line is not to be said any more.
pub fn say_nothing_at_end() {
    SUMMARY.len.store(0, Ordering::SeqCst);
}

/// Folders whose entries made by this process are removed when a signal ends it: a
/// descriptor of the folder, and the marks of this process's names in it (a name holding
/// `marker` and ending with `suffix`). A few slots: one per store.
struct Sweep {
    fd: AtomicI32,
    marker: std::cell::UnsafeCell<[u8; SWEEP_MARKER]>,
    marker_len: AtomicUsize,
    suffix: std::cell::UnsafeCell<[u8; SWEEP_SUFFIX]>,
    suffix_len: AtomicUsize,
}

// SAFETY: a slot's buffers are written only while its descriptor is negative (reserved by
// the one writer that swapped it), and read by the handler only when it is not.
unsafe impl Sync for Sweep {}

const SWEEP_MARKER: usize = 32;
const SWEEP_SUFFIX: usize = 320;
const SWEEP_SLOTS: usize = 4;
/// -1: free; -2: being written.
#[allow(clippy::declare_interior_mutable_const)]
const EMPTY_SWEEP: Sweep = Sweep {
    fd: AtomicI32::new(-1),
    marker: std::cell::UnsafeCell::new([0; SWEEP_MARKER]),
    marker_len: AtomicUsize::new(0),
    suffix: std::cell::UnsafeCell::new([0; SWEEP_SUFFIX]),
    suffix_len: AtomicUsize::new(0),
};
static SWEEPS: [Sweep; SWEEP_SLOTS] = [EMPTY_SWEEP; SWEEP_SLOTS];

/// A folder's sweep, registered by [`sweep_on_signal`]; dropping it unregisters it (before
/// the caller closes the descriptor).
pub struct SweepGuard(usize);

impl Drop for SweepGuard {
    fn drop(&mut self) {
        SWEEPS[self.0].fd.store(-1, Ordering::SeqCst);
    }
}

/// From now until the guard is dropped, one of the signals removes every entry of the
/// folder open as `dir` whose name holds `marker` and ends with `suffix` (this run's
/// temporaries). `dir` must stay open meanwhile. `None` when the marks are too long or
/// every slot is taken (then nothing is swept).
pub fn sweep_on_signal(dir: std::os::fd::RawFd, marker: &str, suffix: &str) -> Option<SweepGuard> {
    INSTALL.call_once(install);
    if marker.is_empty() || marker.len() > SWEEP_MARKER || suffix.len() > SWEEP_SUFFIX {
        return None;
    }
    for (i, slot) in SWEEPS.iter().enumerate() {
        if slot
            .fd
            .compare_exchange(-1, -2, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            // SAFETY: the slot is reserved (-2): the handler does not read it, and no other
            // writer can take it.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    marker.as_ptr(),
                    slot.marker.get().cast::<u8>(),
                    marker.len(),
                );
                std::ptr::copy_nonoverlapping(
                    suffix.as_ptr(),
                    slot.suffix.get().cast::<u8>(),
                    suffix.len(),
                );
            }
            slot.marker_len.store(marker.len(), Ordering::SeqCst);
            slot.suffix_len.store(suffix.len(), Ordering::SeqCst);
            slot.fd.store(dir, Ordering::SeqCst);
            return Some(SweepGuard(i));
        }
    }
    None
}

/// The process group of a delivery command under way, or 0.
static CHILD: AtomicI32 = AtomicI32::new(0);

/// From now until [`forget_child`], one of the signals kills the process group `pgid` (a
/// delivery command given part of a message) before it ends this process, so that the
/// command never reads the end of its input and takes the part for a whole message.
pub fn kill_on_signal(pgid: u32) {
    INSTALL.call_once(install);
    CHILD.store(i32::try_from(pgid).unwrap_or(0), Ordering::SeqCst);
}

/// The command ended, or has its whole message: a signal leaves it alone.
pub fn forget_child() {
    CHILD.store(0, Ordering::SeqCst);
}

fn install() {
    for sig in SIGNALS {
        // SAFETY: sigaction with a zeroed struct and a null new action only reads the
        // current action; the handler installed below is async-signal-safe.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(sig, std::ptr::null(), &mut old) != 0
                || old.sa_sigaction != libc::SIG_DFL
            {
                continue;
            }
            let mut new: libc::sigaction = std::mem::zeroed();
            new.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            new.sa_flags = libc::SA_RESTART;
            // The other two wait while one is handled.
            libc::sigemptyset(&mut new.sa_mask);
            for other in SIGNALS {
                libc::sigaddset(&mut new.sa_mask, other);
            }
            libc::sigaction(sig, &new, std::ptr::null_mut());
        }
    }
}

extern "C" fn on_signal(sig: libc::c_int) {
    if HOLD.load(Ordering::SeqCst) > 0 {
        PENDING.store(sig, Ordering::SeqCst);
        if HOLD.load(Ordering::SeqCst) > 0 {
            return; // acted on when the last hold ends
        }
        // The last hold ended meanwhile: whoever takes the pending signal acts on it.
        if PENDING.swap(0, Ordering::SeqCst) == 0 {
            return;
        }
    }
    let path = TEMP.load(Ordering::SeqCst);
    let fd = TRUNCATE_FD.load(Ordering::SeqCst);
    let cut = TRUNCATE_LEN.load(Ordering::SeqCst);
    let lock = LOCK.load(Ordering::SeqCst);
    let seq = MESSAGE.seq.load(Ordering::SeqCst);
    let len = MESSAGE.len.load(Ordering::SeqCst);
    // SAFETY: unlink, write, sigaction and raise are async-signal-safe; `path` is null or a
    // C string that is never freed; the message buffer is static and, with an even
    // sequence count, not being written.
    unsafe {
        if !path.is_null() {
            libc::unlink(path);
        }
        // ftruncate is async-signal-safe too.
        if fd >= 0 {
            libc::ftruncate(fd, cut as libc::off_t);
        }
        if !lock.is_null() {
            libc::unlink(lock);
        }
        for slot in &SWEEPS {
            sweep(slot);
        }
        let child = CHILD.load(Ordering::SeqCst);
        if child > 0 {
            libc::kill(-child, libc::SIGKILL);
        }
        if seq % 2 == 0 && len > 0 {
            libc::write(2, MESSAGE.buf.get().cast(), len);
        }
        let (seq, len) = (
            SUMMARY.seq.load(Ordering::SeqCst),
            SUMMARY.len.load(Ordering::SeqCst),
        );
        if seq % 2 == 0 && len > 0 {
            libc::write(2, SUMMARY.buf.get().cast(), len);
        }
        let mut dfl: libc::sigaction = std::mem::zeroed();
        dfl.sa_sigaction = libc::SIG_DFL;
        libc::sigaction(sig, &dfl, std::ptr::null_mut());
        // Blocked while this handler runs: delivered, with the default action, as it returns.
        libc::raise(sig);
    }
}

/// Removes this process's entries from a swept folder (see [`sweep_on_signal`]). Called
/// from the signal handler: lseek, the getdents64 system call (no libc buffer, unlike
/// readdir) into a buffer on the stack, and unlinkat, nothing else. Entries removed while
/// the folder is read may make the reading skip others, so it reads again until a pass
/// removes nothing (a few passes at most).
unsafe fn sweep(slot: &Sweep) {
    let fd = slot.fd.load(Ordering::SeqCst);
    if fd < 0 {
        return;
    }
    let ml = slot.marker_len.load(Ordering::SeqCst);
    let sl = slot.suffix_len.load(Ordering::SeqCst);
    // SAFETY: the buffers were written before the descriptor was stored, and stay as they
    // are while it is.
    let (marker, suffix) = unsafe {
        (
            std::slice::from_raw_parts(slot.marker.get().cast::<u8>(), ml),
            std::slice::from_raw_parts(slot.suffix.get().cast::<u8>(), sl),
        )
    };
    let mut buf = [0u8; 4096];
    for _ in 0..8 {
        let mut removed = false;
        // SAFETY: a descriptor the registrant keeps open; a buffer of ours.
        unsafe { libc::lseek(fd, 0, libc::SEEK_SET) };
        loop {
            // SAFETY: getdents64 writes at most `buf.len()` bytes of records into `buf`.
            let n = unsafe { libc::syscall(libc::SYS_getdents64, fd, buf.as_mut_ptr(), buf.len()) };
            if n <= 0 {
                break;
            }
            let n = n as usize;
            let mut off = 0;
            // struct linux_dirent64: u64 d_ino, i64 d_off, u16 d_reclen, u8 d_type, name.
            while off + 19 < n {
                let reclen = u16::from_ne_bytes([buf[off + 16], buf[off + 17]]) as usize;
                if reclen == 0 || off + reclen > n {
                    break;
                }
                let name_all = &buf[off + 19..off + reclen];
                let name = &name_all[..name_all.iter().position(|&b| b == 0).unwrap_or(0)];
                if name.ends_with(suffix) && name.windows(marker.len()).any(|w| w == marker) {
                    // SAFETY: the name is NUL-terminated within the record.
                    if unsafe { libc::unlinkat(fd, name_all.as_ptr().cast(), 0) } == 0 {
                        removed = true;
                    }
                }
                off += reclen;
            }
        }
        if !removed {
            break;
        }
    }
}

/// A stop was asked for by SIGINT or SIGTERM ([`stop_on_signal`]).
static STOP: AtomicBool = AtomicBool::new(false);

/// From now on the first SIGINT or SIGTERM does not end the process: it asks a long-running
/// loop (imap-fetch --idle) to stop at its next safe point ([`stop_requested`]), so that what
/// is under way ends cleanly (a batch delivered and recorded, a LOGOUT). A second one ends
/// the process at once, as usual. A signal the caller ignores (nohup) stays ignored.
pub fn stop_on_signal() {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: as in `install`; the handler only stores to an atomic, or restores the
        // default action and raises the signal again, all async-signal-safe.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(sig, std::ptr::null(), &mut old) != 0
                || old.sa_sigaction == libc::SIG_IGN
            {
                continue;
            }
            let mut new: libc::sigaction = std::mem::zeroed();
            new.sa_sigaction = on_stop as extern "C" fn(libc::c_int) as libc::sighandler_t;
            new.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut new.sa_mask);
            libc::sigaction(sig, &new, std::ptr::null_mut());
        }
    }
}

/// Whether SIGINT or SIGTERM asked the run to stop (after [`stop_on_signal`]).
pub fn stop_requested() -> bool {
    STOP.load(Ordering::SeqCst)
}

extern "C" fn on_stop(sig: libc::c_int) {
    if STOP.swap(true, Ordering::SeqCst) {
        // The second one: what a signal does at any other time (temporaries removed, the
        // last line, the default action).
        on_signal(sig);
    }
}
