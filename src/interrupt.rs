//! What happens when SIGINT, SIGTERM or SIGHUP ends a run (Ctrl-C, `kill`, a closed
//! terminal): a temporary file that must not be left behind is removed (mime-pack's
//! `FILE.XXXXXXXX.part`), and a last line can tell the user what was kept (ftp-get's
//! `NAME.part`, which `-c` resumes).
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
    let _one_writer = WRITER.lock().unwrap_or_else(|p| p.into_inner());
    let bytes = &line.as_bytes()[..line.len().min(MESSAGE_MAX)];
    MESSAGE.seq.fetch_add(1, Ordering::SeqCst);
    // SAFETY: the sequence count is odd: the handler does not use the buffer now.
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), MESSAGE.buf.get().cast::<u8>(), bytes.len())
    };
    MESSAGE.len.store(bytes.len(), Ordering::SeqCst);
    MESSAGE.seq.fetch_add(1, Ordering::SeqCst);
}

/// Nothing more to say when a signal ends the run.
pub fn say_nothing() {
    MESSAGE.len.store(0, Ordering::SeqCst);
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
        if seq % 2 == 0 && len > 0 {
            libc::write(2, MESSAGE.buf.get().cast(), len);
        }
        let mut dfl: libc::sigaction = std::mem::zeroed();
        dfl.sa_sigaction = libc::SIG_DFL;
        libc::sigaction(sig, &dfl, std::ptr::null_mut());
        // Blocked while this handler runs: delivered, with the default action, as it returns.
        libc::raise(sig);
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
        // SAFETY: sigaction and raise are async-signal-safe.
        unsafe {
            let mut dfl: libc::sigaction = std::mem::zeroed();
            dfl.sa_sigaction = libc::SIG_DFL;
            libc::sigaction(sig, &dfl, std::ptr::null_mut());
            libc::raise(sig);
        }
    }
}
