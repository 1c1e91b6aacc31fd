//! What a transfer tells its caller as it goes, whatever the protocol: the library never
//! prints; the command line turns these into progress bars, notes and error lines
//! (`cli::progress`).

use crate::error::Error;
use std::time::Duration;

/// What the caller is told as the run goes; the library never prints.
pub trait Events {
    /// Something worth saying that is not a failure (a skip, a fallback, a retry).
    fn note(&mut self, msg: &str);
    /// A transfer starts: `total` bytes if known, of which `offset` are already done (a resume).
    fn start(&mut self, name: &str, total: Option<u64>, offset: u64);
    /// Until the current transfer finishes or fails, `path` holds its incomplete data (a
    /// `NAME.part` that `-c` resumes): worth telling a user who interrupts the run.
    fn partial(&mut self, path: &std::path::Path) {
        let _ = path;
    }
    /// Until the current upload finishes or fails, `url` on the server holds its incomplete
    /// data (ftp-put's `.NAME.TAG.part`, or `NAME` itself); `resumable`: `-c` resumes it.
    fn partial_remote(&mut self, url: &str, resumable: bool) {
        let _ = (url, resumable);
    }
    /// What a signal that ended the run now would leave, in words for the user: smtp-send's
    /// message not sent, or sent and not yet answered (it may have been delivered); `None`
    /// once nothing is at stake.
    fn at_stake(&mut self, what: Option<&str>) {
        let _ = what;
    }
    /// `n` more bytes moved.
    fn advance(&mut self, n: u64);
    /// The current transfer completed.
    fn finish(&mut self);
    /// A transfer on another thread (`--parallel`) completed: `name` moved `moved` bytes in
    /// `took`, what its own [`finish`](Events::finish) would have said.
    fn finished(&mut self, name: &str, moved: u64, took: Duration) {
        let _ = (name, moved, took);
    }
    /// A file was left as it was (up to date, `--no-clobber`, already complete): counted
    /// in the run's total; `msg`, when there is one, says why.
    fn skip(&mut self, msg: Option<&str>) {
        if let Some(m) = msg {
            self.note(m);
        }
    }
    /// A file or message (or a whole server's worth of them) failed; ends any transfer in
    /// progress.
    fn fail(&mut self, err: &Error);
    /// What the display says about the run as a whole ("8 connections: 120 files"),
    /// when several transfers share it.
    fn status(&mut self, msg: &str) {
        let _ = msg;
    }
    /// The display started for a run in which nothing was transferred goes, without a
    /// summary.
    fn discard(&mut self) {}
    /// The run waits for what `what` names (imap-fetch `--idle`: `HOST:PORT: waiting for
    /// new mail in INBOX (IDLE)`), until the next [`start`](Events::start), a failure or
    /// [`discard`](Events::discard).
    fn wait(&mut self, what: &str) {
        let _ = what;
    }
}
