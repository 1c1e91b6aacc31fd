//! What pop-fetch and imap-fetch share on the command line beyond their store flags
//! ([`super::store`]): the state file and the store a run opens, the tries of a
//! connection, and what a run says at its end.

use super::common::{OutputArgs, Progress};
use super::progress::CliEvents;
use super::report::Reporter;
use super::store::{DeliverArgs, Tracked};
use crate::deliver::Deliver;
use crate::error::{Error, Kind, Result};
use crate::events::Events;
use crate::jobs::retry::RetryPolicy;
use crate::net::url::Target;
use crate::uidls::{self, StateFile};
use std::path::Path;
use std::time::Duration;

/// The state file of the run, locked for the whole run before anything is fetched: `file`
/// (`--state-file`), else the account's under `proto` (`pop`, `imap`).
pub fn open_state(
    file: Option<&Path>,
    proto: &str,
    user: &str,
    target: &Target,
    report: &Reporter,
) -> Result<StateFile> {
    let state = match file {
        Some(p) => StateFile::open(p)?,
        None => uidls::account(proto, user, &target.host, target.port)?,
    };
    if let Some(n) = state.carried_over() {
        report.note(n);
    }
    Ok(state)
}

/// The store a run delivers into, as the run sees it.
pub struct Store<'a> {
    pub args: &'a DeliverArgs,
    pub output: &'a OutputArgs,
    pub tool: &'static str,
}

impl Store<'_> {
    /// Opens the store. `look` says, from whether the store keeps what it takes, whether
    /// the run is a look (the state then records nothing: [`StateFile::peek`]); `server`,
    /// from that, what a signal's line says was done on the server.
    pub fn open(
        &self,
        state: &mut StateFile,
        report: &Reporter,
        look: impl FnOnce(bool) -> bool,
        server: impl FnOnce(bool) -> String,
    ) -> Result<Tracked> {
        let store = self.args.store.open(&mut |n| report.note(n))?;
        let look = look(store.durable());
        if look {
            state.peek();
        }
        let bars = super::progress::wanted(self.output.quiet, self.output.progress);
        Ok(Tracked::new(store, self.tool, bars, !look, &server(look)))
    }
}

/// Runs `attempt` (one connection) until it succeeds, and again after a failure `retry`
/// allows, unless a signal asked the run to stop. `None`: it failed, and the failure was
/// reported through `events` (after the progress display's line). A closed standard output
/// is no failure of its own, unless `unfinished` says what it left undone on the server.
pub fn with_retries<T>(
    retry: &RetryPolicy,
    events: &mut CliEvents<'_>,
    unfinished: Option<&str>,
    mut attempt: impl FnMut(&mut CliEvents<'_>) -> Result<T>,
) -> Option<T> {
    let mut backoff = retry.start();
    loop {
        let e = match attempt(events) {
            Ok(t) => return Some(t),
            Err(e) => e,
        };
        // The reader of --stdout left early: what was asked of the server was not done
        // (ftp-get's rule for --delete-remote -o -).
        let e = match unfinished {
            Some(what) if e.kind() == Kind::StdoutClosed => Error::new(
                Kind::Io,
                format!("standard output was closed before all messages were written: {what}"),
            ),
            _ => e,
        };
        let stopping = super::signals::stop_requested();
        match backoff.next(&e).filter(|_| !stopping) {
            Some(delay) => {
                events.note(&backoff.message(&e, delay));
                std::thread::sleep(delay);
            }
            None => {
                events.fail(&e);
                return None;
            }
        }
    }
}

/// What a run did from one place (a POP3 mailbox, an IMAP folder).
pub struct Done<'a> {
    /// `folder NAME: ` before the `--limit` note, or nothing.
    pub prefix: String,
    /// Where from: `HOST:PORT`, or `HOST:PORT folder NAME`.
    pub from: String,
    pub store: &'a dyn Deliver,
    pub fetched: u64,
    /// The bytes of the messages fetched, and how long that took.
    pub bytes: u64,
    pub took: Duration,
    pub deleted: u64,
    pub left: u64,
    /// `--progress`: the total is said when the progress display is on, as ftp-get's.
    pub progress: Progress,
}

impl Done<'_> {
    /// Says how many messages `--limit` left for the next run and, when the progress
    /// display is on (and `fetching`), the total in every tool's words, from where into what:
    /// `3 new messages, 12.5 KiB in 0.4 s (31.2 KiB/s) from HOST:PORT into Maildir DIR`.
    pub fn say(&self, report: &Reporter, fetching: bool) {
        if self.left > 0 {
            report.note(format_args!(
                "{}{} more messages wait on the server (--limit)",
                self.prefix, self.left
            ));
        }
        if fetching && super::progress::shown(report.quiet(), self.progress) {
            report.note(format_args!(
                "{} from {} into {}{}",
                super::progress::total("new message", self.fetched, self.bytes, self.took),
                self.from,
                self.store.name(),
                if self.deleted > 0 {
                    format!("; {} deleted on the server", self.deleted)
                } else {
                    String::new()
                }
            ));
        }
    }
}
