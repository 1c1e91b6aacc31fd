//! The tools' handlers for SIGINT, SIGTERM and SIGHUP (Ctrl-C, `kill`, a closed terminal),
//! armed by every tool's `main` ([`arm`]): the library's cleanup runs
//! ([`crate::interrupt::clean_up`], after [`crate::interrupt::defer`]), then a last line
//! can tell the user what was kept (ftp-get's `NAME.part`, which `-c` resumes:
//! [`say_on_signal`]) and, for the fetching tools, what was stored ([`say_at_end`]). The
//! handler then restores the default action and raises the signal again, so the process
//! still ends by that signal (exit status 128+N in a shell), as callers expect of an
//! interrupted command. A signal the caller ignores (nohup, a background job) stays ignored.
//!
//! The handler may only make async-signal-safe calls (POSIX.1-2017 2.4.3): the lines are
//! kept in fixed buffers that it passes to write(2).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

const SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// A line to write on stderr: one fixed buffer, rewritten for every file of a run (a new
/// allocation per file would pile up over thousands of files). A sequence count, odd while
/// the buffer is being written, lets the handler skip a line caught half-written.
struct StderrLine {
    seq: AtomicUsize,
    len: AtomicUsize,
    buf: std::cell::UnsafeCell<[u8; MESSAGE_MAX]>,
}

// SAFETY: the buffer is written only by `set_message` (one writer at a time: it holds
// WRITER) and read by the handler only between two equal, even sequence counts.
unsafe impl Sync for StderrLine {}

const MESSAGE_MAX: usize = 1024;
static MESSAGE: StderrLine = StderrLine {
    seq: AtomicUsize::new(0),
    len: AtomicUsize::new(0),
    buf: std::cell::UnsafeCell::new([0; MESSAGE_MAX]),
};
/// The fetching tools' last line ([`say_at_end`]), apart from the progress display's.
static SUMMARY: StderrLine = StderrLine {
    seq: AtomicUsize::new(0),
    len: AtomicUsize::new(0),
    buf: std::cell::UnsafeCell::new([0; MESSAGE_MAX]),
};
static WRITER: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// From now until [`say_nothing`], one of the signals writes `line` on stderr before it
/// ends the process.
pub fn say_on_signal(line: &str) {
    set_message(&MESSAGE, line);
}

/// Nothing more to say when a signal ends the run.
pub fn say_nothing() {
    MESSAGE.len.store(0, Ordering::SeqCst);
}

/// From now until [`say_nothing_at_end`], one of the signals writes `line` on stderr (after
/// the progress display's line, if any) before it ends the process: what a fetching run
/// had stored, and what it did on the server.
pub fn say_at_end(line: &str) {
    set_message(&SUMMARY, line);
}

/// The run's last line is not to be said any more.
pub fn say_nothing_at_end() {
    SUMMARY.len.store(0, Ordering::SeqCst);
}

fn set_message(m: &StderrLine, line: &str) {
    let _one_writer = WRITER.lock().unwrap_or_else(|p| p.into_inner());
    let bytes = &line.as_bytes()[..line.len().min(MESSAGE_MAX)];
    m.seq.fetch_add(1, Ordering::SeqCst);
    // SAFETY: the sequence count is odd: the handler does not use the buffer now.
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), m.buf.get().cast::<u8>(), bytes.len()) };
    m.len.store(bytes.len(), Ordering::SeqCst);
    m.seq.fetch_add(1, Ordering::SeqCst);
}

/// Writes `m` on stderr if it is whole. Async-signal-safe.
fn write_message(m: &StderrLine) {
    let (seq, len) = (m.seq.load(Ordering::SeqCst), m.len.load(Ordering::SeqCst));
    if seq % 2 == 0 && len > 0 {
        // SAFETY: the buffer is static and, with an even sequence count, not being written.
        unsafe { libc::write(2, m.buf.get().cast(), len) };
    }
}

/// Installs the handler for SIGINT, SIGTERM and SIGHUP, where their action is the default
/// one (an ignored signal stays ignored). Once, first thing in a tool's `main`.
pub fn arm() {
    for sig in SIGNALS {
        // The other two wait while one is handled.
        set_handler(sig, on_signal, &SIGNALS, |old| old != libc::SIG_DFL);
    }
}

/// Makes `handler` the action of `sig`, with `mask` blocked while it runs, unless `keep`
/// says to keep the current action.
fn set_handler(
    sig: libc::c_int,
    handler: extern "C" fn(libc::c_int),
    mask: &[libc::c_int],
    keep: impl Fn(libc::sighandler_t) -> bool,
) {
    // SAFETY: sigaction with a zeroed struct and a null new action only reads the current
    // action; the handlers given here are async-signal-safe.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(sig, std::ptr::null(), &mut old) != 0 || keep(old.sa_sigaction) {
            return;
        }
        let mut new: libc::sigaction = std::mem::zeroed();
        new.sa_sigaction = handler as libc::sighandler_t;
        new.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut new.sa_mask);
        for other in mask {
            libc::sigaddset(&mut new.sa_mask, *other);
        }
        libc::sigaction(sig, &new, std::ptr::null_mut());
    }
}

extern "C" fn on_signal(sig: libc::c_int) {
    if crate::interrupt::defer(sig) {
        return;
    }
    crate::interrupt::clean_up();
    write_message(&MESSAGE);
    write_message(&SUMMARY);
    // SAFETY: sigaction and raise are async-signal-safe.
    unsafe {
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
        // The handler only stores to an atomic, or does what `on_signal` does.
        set_handler(sig, on_stop, &[], |old| old == libc::SIG_IGN);
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
