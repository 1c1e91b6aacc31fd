//! Where fetched mail goes, for the fetching tools (pop-fetch, imap-fetch): the one set of
//! store flags and the [`Deliver`] they name, from [`crate::deliver`].

use crate::deliver::Deliver;
use crate::deliver::maildir::Maildir;
use crate::deliver::mbox::Mbox;
use crate::deliver::mda::Mda;
use crate::deliver::output_dir::OutputDir;
use crate::deliver::stdout::Stdout;
use crate::error::{Error, Kind, Result};
use crate::transfer::StreamOut;
use clap::{Args, ValueHint};
use std::path::PathBuf;

/// One of `--maildir`, `--mbox`, `--output-dir`, `--mda`, `--stdout`.
#[derive(Args, Debug, Clone, Default)]
#[group(id = "store", multiple = false)]
pub struct StoreArgs {
    /// Deliver into the Maildir DIR (made when missing, with cur/, new/ and tmp/)
    #[arg(long, value_name = "DIR", value_hint = ValueHint::DirPath)]
    pub maildir: Option<PathBuf>,

    /// Append to the mbox FILE (mboxrd; locked with fcntl and FILE.lock; made when missing)
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub mbox: Option<PathBuf>,

    /// Write each message to DIR/NNNN.eml, numbered on from the highest there
    #[arg(short = 'O', long = "output-dir", value_name = "DIR", value_hint = ValueHint::DirPath)]
    pub output_dir: Option<PathBuf>,

    /// Pipe each message to sh -c COMMAND (procmail, maildrop...); delivered only on exit 0
    #[arg(long, value_name = "COMMAND", value_hint = ValueHint::CommandString)]
    pub mda: Option<String>,

    /// Write the messages to standard output as an mboxrd stream (a look: nothing is
    /// recorded as delivered)
    #[arg(long)]
    pub stdout: bool,
}

/// The store flags and `--create-dirs`: where a fetching run delivers.
#[derive(Args, Debug, Clone)]
#[group(skip)]
pub struct DeliverArgs {
    #[command(flatten)]
    pub store: StoreArgs,

    /// Accepted as before, and no longer needed: every store is made when missing, with
    /// the folders above it, as a Maildir always was (one rule for the four)
    #[arg(long, hide = true)]
    pub create_dirs: bool,
}

impl StoreArgs {
    /// Whether one of the flags was given.
    pub fn given(&self) -> bool {
        self.maildir.is_some()
            || self.mbox.is_some()
            || self.output_dir.is_some()
            || self.mda.is_some()
            || self.stdout
    }

    /// Opens the store the flags name, making what is missing (a Maildir with cur/, new/
    /// and tmp/, an `--output-dir` folder, an mbox file, and the folders above each, as
    /// mpop and fetchmail users expect of a cron line's first run); `note` is told what is
    /// worth saying (a stale lock broken). None given is a usage error (64).
    pub fn open(&self, note: &mut dyn FnMut(&str)) -> Result<Box<dyn Deliver>> {
        Ok(if let Some(dir) = &self.maildir {
            Box::new(Maildir::open(dir)?)
        } else if let Some(dir) = &self.output_dir {
            Box::new(OutputDir::open(dir, true)?)
        } else if let Some(file) = &self.mbox {
            Box::new(Mbox::open(file, true, note)?)
        } else if let Some(cmd) = &self.mda {
            Box::new(Mda::new(cmd))
        } else if self.stdout {
            Box::new(Stdout::new(StreamOut::stdout()?))
        } else {
            return Err(Error::new(
                Kind::Usage,
                "give one of --maildir, --mbox, --output-dir, --mda or --stdout",
            ));
        })
    }
}

/// The store of a fetching run, counting what it kept, with the line SIGINT, SIGTERM or
/// SIGHUP print as the run ends ([`super::signals::say_at_end`]): what was stored (and
/// recorded), and what was done on the server. The store itself takes back what was not
/// recorded. The same words end the failure line of a run whose local write failed
/// ([`Tracked::explain`]).
pub struct Tracked {
    inner: Box<dyn Deliver>,
    tool: &'static str,
    /// Clears the line first when a progress bar may be on it.
    clear: &'static str,
    /// Whether what is kept is recorded (not for a look).
    records: bool,
    /// Committed since the last keep.
    since_keep: std::cell::Cell<u64>,
    /// Messages stored before the current fetch, and those it means to fetch
    /// ([`Deliver::expect`]): the "of N" of a failure's line.
    wanted: u64,
    /// A write, commit or sync of the store failed.
    failed: std::cell::Cell<bool>,
    stored: u64,
    server: String,
}

impl Tracked {
    /// `server` says what was done on the server so far ("nothing was deleted on the
    /// server"); `bars`: a progress bar may be on the line.
    pub fn new(
        inner: Box<dyn Deliver>,
        tool: &'static str,
        bars: bool,
        records: bool,
        server: &str,
    ) -> Tracked {
        let t = Tracked {
            inner,
            tool,
            clear: if bars { "\r\x1b[2K" } else { "" },
            records,
            since_keep: std::cell::Cell::new(0),
            wanted: 0,
            failed: std::cell::Cell::new(false),
            stored: 0,
            server: server.to_string(),
        };
        t.say();
        t
    }

    /// What was done on the server, from now on.
    pub fn set_server(&mut self, server: &str) {
        self.server = server.to_string();
        self.say();
    }

    /// `err`, the run's failure, ended with what the run leaves when a local write failed
    /// (the store's, or the state file's on a full disk, a quota or a read-only file
    /// system): how many messages are stored, what was done on the server and, when space
    /// ran out, that a later run fetches the rest (the state file records what is stored).
    /// Still one line: `...: No space left on device (2 of 5 messages stored, nothing was
    /// deleted on the server; run again when there is space)`.
    pub fn explain(&self, err: Error) -> Error {
        let errno = err.io_source().and_then(std::io::Error::raw_os_error);
        let space = matches!(errno, Some(libc::ENOSPC | libc::EDQUOT));
        let local = self.failed.get() || space || errno == Some(libc::EROFS);
        if !local || err.kind() == Kind::StdoutClosed {
            return err;
        }
        let verb = if self.inner.durable() {
            "stored"
        } else {
            "written"
        };
        let plural = |n: u64| if n == 1 { "" } else { "s" };
        let stored = match (self.stored, self.wanted) {
            (0, 0) => format!("no message {verb}"),
            (n, 0) => format!("{n} message{} {verb}", plural(n)),
            (n, w) => format!("{n} of {w} message{} {verb}", plural(w)),
        };
        let message = format!(
            "{} ({stored}, {}{})",
            err.message(),
            self.server,
            if space {
                "; run again when there is space"
            } else {
                ""
            }
        );
        err.with_message(message)
    }

    fn say(&self) {
        let name = crate::error::visible(&self.inner.name());
        let verb = if self.inner.durable() {
            "stored in"
        } else {
            "written to"
        };
        let what = match self.stored {
            0 => format!("nothing {verb} {name}"),
            n => format!(
                "{n} message{} {verb} {name}{}",
                if n == 1 { "" } else { "s" },
                if self.records { " and recorded" } else { "" }
            ),
        };
        super::signals::say_at_end(&format!(
            "{}{}: interrupted: {what}; {}\n",
            self.clear, self.tool, self.server
        ));
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        super::signals::say_nothing_at_end();
    }
}

impl Deliver for Tracked {
    fn begin(
        &mut self,
        info: &crate::deliver::MessageInfo,
    ) -> Result<Box<dyn crate::deliver::MessageSink + '_>> {
        let (count, failed) = (&self.since_keep, &self.failed);
        let sink = self.inner.begin(info).inspect_err(|_| failed.set(true))?;
        Ok(Box::new(Counted {
            sink,
            count,
            failed,
        }))
    }

    fn sync(&mut self) -> Result<()> {
        self.inner.sync().inspect_err(|_| self.failed.set(true))
    }

    fn expect(&mut self, n: u64) {
        self.wanted = self.stored + self.since_keep.get() + n;
        self.inner.expect(n);
    }

    fn name(&self) -> String {
        self.inner.name()
    }

    fn durable(&self) -> bool {
        self.inner.durable()
    }

    fn keep(&mut self) {
        self.inner.keep();
        self.stored += self.since_keep.take();
        self.say();
    }

    fn undo(&mut self) {
        self.inner.undo();
        self.since_keep.set(0);
    }
}

/// A message on its way into a [`Tracked`] store: counted when committed.
struct Counted<'a> {
    sink: Box<dyn crate::deliver::MessageSink + 'a>,
    count: &'a std::cell::Cell<u64>,
    failed: &'a std::cell::Cell<bool>,
}

impl crate::deliver::MessageSink for Counted<'_> {
    fn write(&mut self, data: &[u8]) -> Result<()> {
        self.sink.write(data).inspect_err(|_| self.failed.set(true))
    }

    fn commit(self: Box<Self>) -> Result<()> {
        let Counted {
            sink,
            count,
            failed,
        } = *self;
        sink.commit().inspect_err(|_| failed.set(true))?;
        count.set(count.get() + 1);
        Ok(())
    }

    fn abort(self: Box<Self>) {
        self.sink.abort();
    }
}
