//! Everything a tool says on stderr goes through here: failures (each one line, `tool: ...`),
//! notes and warnings (not with `--quiet`), and the `-v` transcript. One [`Stderr`] knows the
//! progress bar on screen, if any, and prints above it, so that no line tears the bar.
//! Every line has its control characters made visible: text from a server cannot act on
//! the terminal.

use crate::error::{Error, Kind, exit, visible};
use crate::wire::Transcript;
use std::io::Write;
use std::sync::{Arc, Mutex, MutexGuard};

/// Writes one line to stderr, ignoring failure. A standard error whose reader has gone
/// (`2>&1 | grep -m1 ...`) must never stop the job, as `eprintln!` would (it panics on
/// EPIPE, and a panic aborts): what cannot be said is dropped, and the exit status still
/// tells the outcome (docs/CONVENTIONS.md, "Output, messages and progress").
pub fn write_stderr(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{text}");
}

/// Something drawn on stderr that a line must be printed above (a progress bar): it is
/// taken off the screen while `print` runs, then drawn again. A trait, so that a tool that
/// draws no bar (mime-pack) links no progress-bar code at all.
pub trait Drawn: Send {
    fn above(&self, print: &mut dyn FnMut());
}

/// The shared way to stderr: cheap to clone (the transcript hook of every connection holds
/// one), aware of the progress bar being drawn.
#[derive(Clone, Default)]
pub struct Stderr {
    bar: Arc<Mutex<Option<Box<dyn Drawn>>>>,
}

impl Stderr {
    fn bar(&self) -> MutexGuard<'_, Option<Box<dyn Drawn>>> {
        self.bar.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Prints one line (made visible), above the progress bar if one is drawn.
    pub fn line(&self, text: &str) {
        let text = visible(text);
        match &*self.bar() {
            Some(b) => b.above(&mut || write_stderr(&text)),
            None => write_stderr(&text),
        }
    }

    /// The bar now drawn (or none): lines are printed above it from now on.
    pub fn set_bar(&self, bar: Option<Box<dyn Drawn>>) {
        *self.bar() = bar;
    }
}

/// Collects failures when a tool works through several files or recipients: each one is
/// reported on stderr as it happens, and the run ends with the code of the first.
pub struct Reporter {
    tool: &'static str,
    /// `tool: ` or, in a run over several accounts, `tool: account NAME: `.
    prefix: String,
    first: Option<u8>,
    quiet: bool,
    stderr: Stderr,
}

impl Reporter {
    pub fn new(tool: &'static str) -> Self {
        Reporter {
            tool,
            prefix: format!("{tool}: "),
            first: None,
            quiet: false,
            stderr: Stderr::default(),
        }
    }

    /// The account every line is about from now on, in a run over several accounts
    /// (`pop-fetch: account work: ...`); `None` for none.
    pub fn set_account(&mut self, account: Option<String>) {
        self.prefix = match account {
            Some(a) => format!("{}: account {a}: ", self.tool),
            None => format!("{}: ", self.tool),
        };
    }

    /// `--quiet`: errors only from now on.
    pub fn set_quiet(&mut self, quiet: bool) {
        self.quiet = quiet;
    }

    pub fn quiet(&self) -> bool {
        self.quiet
    }

    /// Reports one failure and remembers its exit code if it is the first. A closed
    /// standard output (`| head`) is no failure: the run just ends.
    pub fn fail(&mut self, err: &Error) {
        if err.kind() == Kind::StdoutClosed {
            return;
        }
        let said = super::account::blame(err.message());
        self.stderr.line(&format!("{}{said}", self.prefix));
        self.first.get_or_insert(err.exit_code());
    }

    /// A message that is not a failure (skipped files, fallbacks, warnings), unless `--quiet`.
    pub fn note(&self, msg: impl std::fmt::Display) {
        if !self.quiet {
            let msg = msg.to_string();
            let said = super::account::blame(&msg);
            self.stderr.line(&format!("{}{said}", self.prefix));
        }
    }

    /// A warning: `tool: warning: ...`, unless `--quiet`.
    pub fn warn(&self, msg: impl std::fmt::Display) {
        self.note(format_args!("warning: {msg}"));
    }

    /// The way to stderr this reporter prints through, for transcripts and progress bars.
    pub fn stderr(&self) -> &Stderr {
        &self.stderr
    }

    /// The transcript of `-v` (`verbose`): every `C:`/`S:` line through [`Stderr::line`].
    pub fn transcript(&self, verbose: bool) -> Option<Transcript> {
        let stderr = self.stderr.clone();
        verbose.then(|| Transcript::new(move |line: &str| stderr.line(line)))
    }

    pub fn tool(&self) -> &'static str {
        self.tool
    }

    /// Prints a warning from where the reporter cannot be borrowed (a login callback), the
    /// same way [`Reporter::warn`] does.
    pub fn warner(&self) -> impl Fn(&str) + use<> {
        let (stderr, quiet, prefix) = (self.stderr.clone(), self.quiet(), self.prefix.clone());
        move |w: &str| {
            if !quiet {
                let w = super::account::blame(w);
                stderr.line(&format!("{prefix}warning: {w}"));
            }
        }
    }

    pub fn failed(&self) -> bool {
        self.first.is_some()
    }

    pub fn exit_code(&self) -> u8 {
        self.first.unwrap_or(exit::OK)
    }
}
