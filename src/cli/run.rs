//! The `main` of every binary: parse arguments (usage errors exit 64, not clap's 2), run,
//! print each failure as one line `tool: message`, and exit with the first failure's code.

use crate::error::{Error, Kind, exit, visible};
use crate::net::url::redact_text;
use clap::Parser;
use std::process::ExitCode;

/// Collects failures when a tool works through several files or recipients: each one is
/// reported on stderr as it happens, and the run ends with the code of the first.
pub struct Reporter {
    tool: &'static str,
    first: Option<u8>,
}

impl Reporter {
    pub fn new(tool: &'static str) -> Self {
        Reporter { tool, first: None }
    }

    /// Reports one failure and remembers its exit code if it is the first.
    pub fn fail(&mut self, err: &Error) {
        if err.kind() == Kind::StdoutClosed {
            return;
        }
        eprintln!("{}: {}", self.tool, visible(&err.to_string()));
        self.first.get_or_insert(err.exit_code());
    }

    /// A message that is not a failure (skipped files, fallbacks), unless `--quiet`.
    pub fn note(&self, quiet: bool, msg: impl std::fmt::Display) {
        if !quiet {
            eprintln!("{}: {}", self.tool, visible(&msg.to_string()));
        }
    }

    pub fn tool(&self) -> &'static str {
        self.tool
    }

    pub fn failed(&self) -> bool {
        self.first.is_some()
    }

    pub fn exit_code(&self) -> u8 {
        self.first.unwrap_or(exit::OK)
    }
}

/// Parses `A` from the command line; `--help`/`--version` exit 0, bad usage exits 64.
pub fn parse_args<A: Parser>(tool: &str) -> Result<A, ExitCode> {
    match A::try_parse() {
        Ok(a) => Ok(a),
        Err(e) => {
            use clap::error::ErrorKind;
            let code = match e.kind() {
                ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => exit::OK,
                _ => exit::USAGE,
            };
            if code == exit::OK {
                let _ = e.print();
            } else {
                // clap's own rendering names the flag at fault and suggests --help.
                // Never echo a password that was part of a URL argument.
                let rendered = redact_text(&e.render().to_string());
                let msg = rendered.trim_end().trim_start_matches("error: ");
                eprintln!("{tool}: {msg}");
            }
            Err(ExitCode::from(code))
        }
    }
}

/// Runs a tool body and turns its outcome into the process exit status.
pub fn finish(mut reporter: Reporter, result: Result<(), Error>) -> ExitCode {
    if let Err(e) = result {
        reporter.fail(&e);
    }
    ExitCode::from(reporter.exit_code())
}
