//! What to undo when SIGINT, SIGTERM or SIGHUP ends a run (Ctrl-C, `kill`, a closed
//! terminal): a temporary file that must not be left behind (mime-pack's
//! `FILE.XXXXXXXX.part`), a run's temporaries in a folder (a Maildir's `tmp/`, `-O`'s `.part`
//! files), an mbox cut back to what was recorded, its lock file, a delivery command killed
//! before it can take a partial message for a whole one. While a batch is being made durable
//! and recorded (`hold`), a signal waits until that is done, so that what is in a store and
//! what the state file says never part.
//!
//! The library only keeps this list; it arms no signal handler (process-wide state belongs
//! to the program). A program that wants the cleanup calls, from its own handler for those
//! signals, [`defer`] and then [`clean_up`], both async-signal-safe; the tools do
//! (`cli::signals`), then write their last line and end by the signal.
//!
//! Everything here may be called from a handler (POSIX.1-2017 2.4.3): paths are kept as
//! ready-made C strings that the handler passes to unlink(2), in statics.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicI32, AtomicPtr, AtomicU64, AtomicUsize, Ordering};

/// How many [`hold`]s are under way: while any is, a signal is only noted (`PENDING`), and
/// acted on when the last one ends.
static HOLD: AtomicUsize = AtomicUsize::new(0);
static PENDING: AtomicI32 = AtomicI32::new(0);

/// While the returned value lives, SIGINT, SIGTERM and SIGHUP wait (in a program whose
/// handler asks [`defer`]): one that arrives is raised again when the last hold ends. Around what
/// must happen whole or not at all: a batch made durable and recorded, a state file
/// replaced. Holds nest.
pub(crate) fn hold() -> Held {
    HOLD.fetch_add(1, Ordering::SeqCst);
    Held(())
}

/// See [`hold`].
pub(crate) struct Held(());

impl Drop for Held {
    fn drop(&mut self) {
        if HOLD.fetch_sub(1, Ordering::SeqCst) == 1 {
            let sig = PENDING.swap(0, Ordering::SeqCst);
            if sig != 0 {
                // Only a signal the program's handler deferred is pending. SAFETY: raise
                // runs that handler, on this thread, now that nothing holds it.
                unsafe { libc::raise(sig) };
            }
        }
    }
}

/// The temporary file to unlink, or null. One at a time: mime-pack writes one output.
static TEMP: AtomicPtr<libc::c_char> = AtomicPtr::new(std::ptr::null_mut());
/// From now until [`forget`], [`clean_up`] unlinks `path`.
pub(crate) fn remove_on_signal(path: &Path) {
    // A path with a NUL cannot have been created, so there is nothing to register.
    if let Ok(c) = CString::new(path.as_os_str().as_bytes()) {
        // Never freed: a handler running on another thread could still be reading the old
        // one. A few bytes per output file.
        TEMP.store(c.into_raw(), Ordering::SeqCst);
    }
}

/// The temporary file was renamed into place or removed: a signal now just ends the run.
pub(crate) fn forget() {
    TEMP.store(std::ptr::null_mut(), Ordering::SeqCst);
}

/// A file being appended to (an mbox): its descriptor, or -1, and the length to cut it
/// back to when a signal ends the run midway through a message.
static TRUNCATE_FD: AtomicI32 = AtomicI32::new(-1);
static TRUNCATE_LEN: AtomicU64 = AtomicU64::new(0);
/// A lock file to remove when a signal ends the run (an mbox's `FILE.lock`), or null.
static LOCK: AtomicPtr<libc::c_char> = AtomicPtr::new(std::ptr::null_mut());

/// From now until [`forget_truncate`], [`clean_up`] cuts the file open as `fd` back to
/// `len` bytes (a message half appended to an mbox goes).
pub(crate) fn truncate_on_signal(fd: std::os::fd::RawFd, len: u64) {
    TRUNCATE_LEN.store(len, Ordering::SeqCst);
    TRUNCATE_FD.store(fd, Ordering::SeqCst);
}

/// The message is complete (or already cut back): a signal leaves the file as it is.
pub(crate) fn forget_truncate() {
    TRUNCATE_FD.store(-1, Ordering::SeqCst);
}

/// From now until [`keep_lock`], [`clean_up`] removes the lock file `path`.
pub(crate) fn remove_lock_on_signal(path: &Path) {
    if let Ok(c) = CString::new(path.as_os_str().as_bytes()) {
        // Never freed, as in `remove_on_signal`.
        LOCK.store(c.into_raw(), Ordering::SeqCst);
    }
}

/// The lock file was removed: nothing for a signal to remove.
pub(crate) fn keep_lock() {
    LOCK.store(std::ptr::null_mut(), Ordering::SeqCst);
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
pub(crate) struct SweepGuard(usize);

impl Drop for SweepGuard {
    fn drop(&mut self) {
        SWEEPS[self.0].fd.store(-1, Ordering::SeqCst);
    }
}

/// From now until the guard is dropped, [`clean_up`] removes every entry of the
/// folder open as `dir` whose name holds `marker` and ends with `suffix` (this run's
/// temporaries). `dir` must stay open meanwhile. `None` when the marks are too long or
/// every slot is taken (then nothing is swept).
pub(crate) fn sweep_on_signal(
    dir: std::os::fd::RawFd,
    marker: &str,
    suffix: &str,
) -> Option<SweepGuard> {
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

/// From now until [`forget_child`], [`clean_up`] kills the process group `pgid` (a
/// delivery command given part of a message), so that the command never reads the end of
/// its input and takes the part for a whole message.
pub(crate) fn kill_on_signal(pgid: u32) {
    CHILD.store(i32::try_from(pgid).unwrap_or(0), Ordering::SeqCst);
}

/// The command ended, or has its whole message: a signal leaves it alone.
pub(crate) fn forget_child() {
    CHILD.store(0, Ordering::SeqCst);
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

/// For the program's signal handler, first: while a `hold` is under way, notes `sig` and
/// returns true, and the handler should return at once; the signal is raised again (and the
/// handler runs again) when the last hold ends. Async-signal-safe.
pub fn defer(sig: libc::c_int) -> bool {
    if HOLD.load(Ordering::SeqCst) == 0 {
        return false;
    }
    PENDING.store(sig, Ordering::SeqCst);
    if HOLD.load(Ordering::SeqCst) > 0 {
        return true; // acted on when the last hold ends
    }
    // The last hold ended meanwhile: whoever takes the pending signal acts on it.
    PENDING.swap(0, Ordering::SeqCst) == 0
}

/// For the program's signal handler, then: undoes what is registered now (the temporary
/// file, the mbox's partial message and its lock, the swept folders' temporaries, the
/// delivery command). Async-signal-safe: unlink, ftruncate, getdents64, unlinkat and kill
/// on what the statics hold, nothing else.
pub fn clean_up() {
    let path = TEMP.load(Ordering::SeqCst);
    let fd = TRUNCATE_FD.load(Ordering::SeqCst);
    let cut = TRUNCATE_LEN.load(Ordering::SeqCst);
    let lock = LOCK.load(Ordering::SeqCst);
    // SAFETY: `path` and `lock` are null or C strings that are never freed; the rest are
    // plain system calls on numbers.
    unsafe {
        if !path.is_null() {
            libc::unlink(path);
        }
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The library keeps its list and arms nothing: registering, holding and deferring
    /// leave SIGINT, SIGTERM and SIGHUP as the program set them (here, the defaults).
    #[test]
    fn registering_cleanup_arms_no_signal_handler() {
        let _held = hold();
        kill_on_signal(0);
        forget_child();
        keep_lock();
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            // SAFETY: a null new action only reads the current one into a zeroed struct.
            let action = unsafe {
                let mut old: libc::sigaction = std::mem::zeroed();
                assert_eq!(libc::sigaction(sig, std::ptr::null(), &mut old), 0);
                old.sa_sigaction
            };
            assert_eq!(action, libc::SIG_DFL, "signal {sig}");
        }
    }
}
