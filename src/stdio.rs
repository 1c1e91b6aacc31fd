//! The state of the standard descriptors (0, 1, 2) as the process found them.
//!
//! Rust's runtime opens `/dev/null` on any of them that is closed before `main` runs, so a
//! tool started with `>&-` would write its output into `/dev/null` and report success. The
//! state is recorded by [`record_closed_descriptors`], which a program calls from a
//! constructor that the C runtime runs before `main`, while the descriptor table is still
//! the one the parent handed over. The library registers no constructor: the tools do.

use std::sync::atomic::{AtomicU8, Ordering};

/// Bit `fd` is set when descriptor `fd` (0, 1 or 2) was closed at start.
static CLOSED_AT_START: AtomicU8 = AtomicU8::new(0);

/// Records which of the standard descriptors are closed now. Only meaningful before `main`
/// (afterwards the runtime has put `/dev/null` on them): a program calls it from a
/// constructor, as the tools do (`cli::process`). A program that does not reads them all
/// as open at start.
pub extern "C" fn record_closed_descriptors() {
    let mut closed = 0u8;
    for fd in 0..3 {
        // SAFETY: F_GETFD only queries the descriptor table; it fails with EBADF for a
        // descriptor that is not open.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1 {
            closed |= 1 << fd;
        }
    }
    CLOSED_AT_START.store(closed, Ordering::Relaxed);
}

/// Whether standard descriptor `fd` (0, 1 or 2) was closed when the process started, before
/// the runtime put `/dev/null` there. False when the program recorded nothing.
pub fn closed_at_start(fd: u8) -> bool {
    fd < 3 && CLOSED_AT_START.load(Ordering::Relaxed) & (1 << fd) != 0
}

/// Checks that standard output can take data before a tool produces any: closed before the
/// program started (`tool >&-`: what is there now is the `/dev/null` the runtime put in its
/// place), or open for reading only, no reader can ever get it, and writing would lose the
/// data and report success. Either is an I/O error (74), unlike a reader that went away
/// (`| head`), which ends a run quietly.
pub fn check_stdout() -> crate::Result<()> {
    // SAFETY: F_GETFL only queries descriptor 1.
    let flags = unsafe { libc::fcntl(1, libc::F_GETFL) };
    if closed_at_start(1) || flags < 0 {
        return Err(crate::Error::new(
            crate::error::Kind::Io,
            "standard output: not open (it was closed when the program started)",
        ));
    }
    if flags & libc::O_ACCMODE == libc::O_RDONLY {
        return Err(crate::Error::new(
            crate::error::Kind::Io,
            "standard output: not open for writing",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_test_runner_started_with_its_descriptors_open() {
        // cargo runs tests with 0, 1 and 2 open; were the constructor not linked in, this
        // would still pass, so the integration test `a_stdout_that_was_never_open_is_an_io_error`
        // is the one that proves it runs.
        for fd in 0..3 {
            assert!(!super::closed_at_start(fd));
        }
        assert!(!super::closed_at_start(7));
    }
}
