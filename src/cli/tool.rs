//! The one shape every tool has, and the one list of tools.
//!
//! A tool is a [`Tool`]: its name, its clap definition, the prose of its man page (a text
//! file in `man/text/`), the exit statuses it uses, and a `run` that reports failures as it
//! goes. [`main`] is every binary's `main`; [`TOOLS`] feeds `--help`, the man pages and the
//! shell completions, so adding a tool is adding it here.

use super::report::Reporter;
use crate::error::{EXIT_STATUS, Error, Kind, exit};
use crate::net::url::redact_text;
use clap::{CommandFactory, Parser};
use std::process::ExitCode;

/// What a tool is to the command line.
pub trait Tool {
    /// The binary's name.
    const NAME: &'static str;
    /// The text of the man page's sections after OPTIONS (`man/text/NAME.txt`): each starts
    /// with a line `.SH TITLE`. Its EXAMPLES section is also the end of `--help`.
    const MAN: &'static str;
    /// The exit statuses the tool can end with, and what each means for it ("" for the
    /// general meaning in [`EXIT_STATUS`]).
    const EXIT: &'static [(u8, &'static str)];
    /// Its clap definition: the one source for `--help`, the man page and the completions.
    type Args: Parser;
    /// Runs the tool. Failures on the way go to `report` as they happen; an error returned
    /// is reported last. The exit status is the first failure's.
    fn run(args: Self::Args, report: &mut Reporter) -> Result<(), Error>;
}

/// A tool as the registry lists it.
pub struct Entry {
    pub name: &'static str,
    pub command: fn() -> clap::Command,
    pub man: &'static str,
    pub exit: &'static [(u8, &'static str)],
}

const fn entry<T: Tool>() -> Entry {
    Entry {
        name: T::NAME,
        command: <T::Args as CommandFactory>::command,
        man: T::MAN,
        exit: T::EXIT,
    }
}

/// Every tool of the toolkit.
pub const TOOLS: &[Entry] = &[
    entry::<super::ftp_get::FtpGet>(),
    entry::<super::mime_pack::MimePack>(),
];

/// Every tool's clap definition.
pub fn commands() -> Vec<clap::Command> {
    TOOLS.iter().map(|t| (t.command)()).collect()
}

/// The `main` of every binary: parse arguments (usage errors exit 64, not clap's 2), run,
/// print each failure as one line `tool: message`, and exit with the first failure's code.
pub fn main<T: Tool>() -> ExitCode {
    let args = match parse_args::<T::Args>(T::NAME) {
        Ok(a) => a,
        Err(code) => return code,
    };
    let mut report = Reporter::new(T::NAME);
    if let Err(e) = T::run(args, &mut report) {
        report.fail(&e);
    }
    ExitCode::from(report.exit_code())
}

/// Parses `A` from the command line; `--help`/`--version` exit 0, bad usage exits 64.
fn parse_args<A: Parser>(tool: &str) -> Result<A, ExitCode> {
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
                // clap's own rendering names the flag at fault and suggests --help. Never
                // echo a password that was part of a URL argument.
                let rendered = redact_text(&e.render().to_string());
                let msg = rendered.trim_end().trim_start_matches("error: ");
                eprintln!("{tool}: {}", crate::error::visible(msg));
            }
            Err(ExitCode::from(code))
        }
    }
}

/// The sections of a man text: (title, body), in order.
pub fn sections(man: &'static str) -> Vec<(&'static str, &'static str)> {
    let mut out = Vec::new();
    let mut rest = man;
    while let Some(i) = rest.find(".SH ") {
        let after = &rest[i + 4..];
        let (title, body_start) = match after.find('\n') {
            Some(n) => (&after[..n], &after[n + 1..]),
            None => (after, ""),
        };
        let body_end = body_start
            .find("\n.SH ")
            .map_or(body_start.len(), |j| j + 1);
        out.push((title.trim(), body_start[..body_end].trim_end_matches('\n')));
        rest = &body_start[body_end..];
    }
    out
}

/// One section of a man text by title ("" when the tool has none).
pub fn section(man: &'static str, title: &str) -> &'static str {
    sections(man)
        .into_iter()
        .find(|(t, _)| *t == title)
        .map_or("", |(_, b)| b)
}

/// The EXIT STATUS text of a tool: each status it uses, with its meaning for the tool or
/// the general one, from the one table in `error.rs`.
pub fn exit_status_text(exit: &[(u8, &str)]) -> String {
    let mut out = String::new();
    for (code, meaning) in exit {
        let general = EXIT_STATUS
            .iter()
            .find(|s| s.code == *code)
            .map_or("", |s| s.meaning);
        let meaning = if meaning.is_empty() { general } else { meaning };
        let mut lines = meaning.lines();
        out.push_str(&format!("  {code:<3} {}\n", lines.next().unwrap_or("")));
        for l in lines {
            out.push_str(&format!("      {l}\n"));
        }
    }
    out.trim_end().to_string()
}

/// What `--help` ends with: the tool's examples.
pub fn after_help(man: &'static str) -> String {
    format!("Examples:\n{}", section(man, "EXAMPLES"))
}

/// What `--help` (the long form) ends with: the examples and the exit statuses.
pub fn after_long_help(man: &'static str, exit: &[(u8, &str)]) -> String {
    format!(
        "{}\n\nExit status (sysexits.h):\n{}",
        after_help(man),
        exit_status_text(exit)
    )
}

/// The man page's sections after OPTIONS: the tool's text, with EXIT STATUS generated.
pub fn man_sections(entry: &Entry) -> Vec<(&'static str, String)> {
    let mut out: Vec<(&'static str, String)> = sections(entry.man)
        .into_iter()
        .map(|(t, b)| (t, b.to_string()))
        .collect();
    let exit = exit_status_text(entry.exit);
    match out.iter().position(|(t, _)| *t == "EXIT STATUS") {
        Some(i) => {
            // The text may add a closing remark after the generated list.
            let extra = std::mem::take(&mut out[i].1);
            out[i].1 = if extra.is_empty() {
                exit
            } else {
                format!("{exit}\n{extra}")
            };
        }
        None => out.push(("EXIT STATUS", exit)),
    }
    out
}

/// A usage error for a flag value (64).
pub fn usage(msg: impl Into<String>) -> Error {
    Error::new(Kind::Usage, msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn man_texts_split_into_sections() {
        let s = sections(".SH ONE\nfirst\n  indented\n\n.SH TWO\nsecond\n");
        assert_eq!(s, [("ONE", "first\n  indented"), ("TWO", "second")]);
        assert_eq!(section(".SH A\nx\n", "B"), "");
    }

    #[test]
    fn every_tool_uses_only_statuses_of_the_table() {
        for t in TOOLS {
            for (code, _) in t.exit {
                assert!(
                    EXIT_STATUS.iter().any(|s| s.code == *code),
                    "{}: {code}",
                    t.name
                );
            }
            assert!(!section(t.man, "EXAMPLES").is_empty(), "{}", t.name);
            assert_eq!((t.command)().get_name(), t.name);
        }
    }

    #[test]
    fn exit_text_uses_the_general_meaning_unless_told() {
        let t = exit_status_text(&[(64, ""), (66, "the remote file does not exist\nor x")]);
        assert_eq!(
            t,
            "  64  bad flags or arguments\n  66  the remote file does not exist\n      or x"
        );
    }
}
