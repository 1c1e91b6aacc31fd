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

impl StoreArgs {
    /// Whether one of the flags was given.
    pub fn given(&self) -> bool {
        self.maildir.is_some()
            || self.mbox.is_some()
            || self.output_dir.is_some()
            || self.mda.is_some()
            || self.stdout
    }

    /// Opens the store the flags name; `create_dirs` makes a missing folder for
    /// `--output-dir` or `--mbox`; `note` is told what is worth saying (a stale lock
    /// broken). None given is a usage error (64).
    pub fn open(&self, create_dirs: bool, note: &mut dyn FnMut(&str)) -> Result<Box<dyn Deliver>> {
        Ok(if let Some(dir) = &self.maildir {
            Box::new(Maildir::open(dir)?)
        } else if let Some(dir) = &self.output_dir {
            Box::new(OutputDir::open(dir, create_dirs)?)
        } else if let Some(file) = &self.mbox {
            Box::new(Mbox::open(file, create_dirs, note)?)
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
