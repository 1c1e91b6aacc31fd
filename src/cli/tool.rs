//! The one shape every tool has, and the one list of tools.
//!
//! A tool is a [`Tool`]: its name, its clap definition, the prose of its man page (a text
//! file in `man/text/`), the exit statuses it uses, and a `run` that reports failures as it
//! goes. [`main`] is every binary's `main`; [`TOOLS`] feeds `--help`, the man pages and the
//! shell completions, so adding a tool is adding it here.

use super::account;
use super::generated::{self, Generate};
use super::report::{Reporter, write_stderr};
use crate::error::{EXIT_STATUS, Error, Kind, exit};
use crate::net::url::redact_text;
use clap::{CommandFactory, FromArgMatches, Parser};
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
    /// Flags users bring from curl, wget, lftp or mutt that mean something else here or
    /// nothing at all, and what to say instead ("use --insecure"): the tool's own, then
    /// those of its family ([`FTP_HINTS`], [`MAIL_HINTS`], [`FETCH_HINTS`]), the first match
    /// winning; [`COMMON_HINTS`] hold for every tool.
    const HINTS: &'static [Hints] = &[];
    /// What to say of an argument that is no flag, for a tool that takes none (its flags say
    /// everything): where such a value goes instead.
    const NO_ARGUMENTS: Option<&'static str> = None;
    /// Its clap definition: the one source for `--help`, the man page and the completions.
    /// It leaves out the name, the version and the end of `--help`, which [`Tool::command`]
    /// adds.
    type Args: Parser;
    /// The URL schemes of its server; none for a tool that reads no config file (mime-pack).
    const SCHEMES: &'static [&'static str] = &[];
    /// Whether one run may fetch several accounts (`--all-accounts`, `--account` repeated).
    const SEVERAL_ACCOUNTS: bool = false;
    /// Whether a path given where a URL goes is taken relative to the account's server.
    const RELATIVE_PATHS: bool = false;
    /// Whether the envelope sender picks the account when none is named (smtp-send).
    const SENDER_PICKS_ACCOUNT: bool = false;
    /// Flags that keep a run on one account for ever (imap-fetch's `idle`).
    const ONE_ACCOUNT_FLAGS: &'static [&'static str] = &[];
    /// Runs the tool. Failures on the way go to `report` as they happen; an error returned
    /// is reported last. The exit status is the first failure's.
    fn run(args: Self::Args, report: &mut Reporter) -> Result<(), Error>;

    /// The clap command: [`Tool::Args`] named [`Tool::NAME`], with the package's version,
    /// and `--help` ending with the examples (and, in its long form, the exit statuses).
    fn command() -> clap::Command {
        Self::Args::command()
            .name(Self::NAME)
            .version(env!("CARGO_PKG_VERSION"))
            .after_help(after_help(Self::MAN))
            .after_long_help(after_long_help(Self::MAN, Self::EXIT))
    }
}

/// A tool as the registry lists it.
pub struct ToolEntry {
    pub name: &'static str,
    pub command: fn() -> clap::Command,
    pub man: &'static str,
    pub exit: &'static [(u8, &'static str)],
}

const fn entry<T: Tool>() -> ToolEntry {
    ToolEntry {
        name: T::NAME,
        command: T::command,
        man: T::MAN,
        exit: T::EXIT,
    }
}

/// Every tool of the toolkit.
pub const TOOLS: &[ToolEntry] = &[
    entry::<super::ftp_get::FtpGet>(),
    entry::<super::mime_pack::MimePack>(),
    entry::<super::smtp_send::SmtpSend>(),
    entry::<super::ftp_put::FtpPut>(),
    entry::<super::ftp_ls::FtpLs>(),
    entry::<super::pop_fetch::PopFetch>(),
    entry::<super::imap_fetch::ImapFetch>(),
];

/// Every tool's clap definition.
pub fn commands() -> Vec<clap::Command> {
    TOOLS.iter().map(|t| (t.command)()).collect()
}

/// The `main` of every binary: parse arguments (usage errors exit 64, not clap's 2), run,
/// print each failure as one line `tool: message`, and exit with the first failure's code.
/// `--generate WHAT` prints the tool's man page or a completion instead.
pub fn main<T: Tool>() -> ExitCode {
    super::signals::arm();
    let mut report = Reporter::new(T::NAME);
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let runs = if T::SCHEMES.is_empty() {
        vec![account::Run::plain(argv)]
    } else {
        let info = account::ToolInfo {
            name: T::NAME,
            schemes: T::SCHEMES,
            several: T::SEVERAL_ACCOUNTS,
            relative_paths: T::RELATIVE_PATHS,
            by_sender: T::SENDER_PICKS_ACCOUNT,
            alone: T::ONE_ACCOUNT_FLAGS,
        };
        match account::runs(&info, T::command, argv) {
            Ok(runs) => runs,
            Err(e) => {
                report.fail(&e);
                return ExitCode::from(report.exit_code());
            }
        }
    };
    // Several accounts: each is said in every line about it, one failing does not stop
    // the others, and the exit status is the first failure's.
    let several = runs.len() > 1;
    for run in runs {
        let name = run.account.as_ref().map(|a| a.name.clone());
        report.set_account(name.filter(|_| several));
        // Before the parse: its failure is this run's, blamed on this run's config values.
        account::set_origins(run.origins);
        let (args, quiet) = match parse_args::<T>(run.argv) {
            Ok(Parsed::Run { args, quiet }) => (args, quiet),
            Ok(Parsed::Generate(what)) => return generate(T::NAME, what),
            Err(Stop::Done(code)) => return code,
            Err(Stop::Usage(line)) => {
                report.fail(&Error::new(Kind::Usage, line));
                continue;
            }
        };
        account::select(run.account);
        report.set_quiet(quiet);
        if let Err(e) = T::run(args, &mut report) {
            report.fail(&e);
        }
    }
    ExitCode::from(report.exit_code())
}

/// `T`'s arguments from `argv`, once more: for a run whose account is known only once a
/// message is read (smtp-send's sender picks it). Bad usage is 64 in the one line
/// [`main`] would say.
pub fn reparse<T: Tool>(argv: Vec<std::ffi::OsString>) -> Result<T::Args, Error> {
    let cmd = T::command();
    let argv = super::argv::options_first(&cmd, argv);
    cmd.try_get_matches_from(argv)
        .and_then(|m| T::Args::from_arg_matches(&m))
        .map_err(|e| Error::new(Kind::Usage, usage_line::<T>(&e)))
}

/// Why parsing ends the run before it starts.
enum Stop {
    /// `--help` or `--version` was answered: exit with this.
    Done(ExitCode),
    /// Bad usage, said in this one line (exit 64).
    Usage(String),
}

/// What the command line asks for.
enum Parsed<A> {
    /// Run with `args`; `quiet`: `-q`, which every network tool has (docs/CONVENTIONS.md,
    /// "Output and progress"), and the reporter keeps from the start.
    Run {
        args: A,
        quiet: bool,
    },
    Generate(Generate),
}

/// Flags from other tools and what to say instead of each.
pub type Hints = &'static [(&'static str, &'static str)];

/// Flags of curl and lftp that a user may bring to ftp-get, ftp-put and ftp-ls.
pub const FTP_HINTS: Hints = &[
    ("--ftp-pasv", "passive mode is the default"),
    ("--ftp-port", "use --active"),
];

/// Flags of msmtp and mpop that a user may bring to smtp-send, pop-fetch and imap-fetch.
pub const MAIL_HINTS: Hints = &[
    ("--tls-trust-file", "use --cacert FILE"),
    ("--tls-fingerprint", "use --pin sha256:HEX"),
    ("-C", "use --config FILE"),
    ("--passwordeval", "use --password-cmd CMD"),
];

/// Flags of fetchmail and mpop that a user may bring to pop-fetch and imap-fetch.
pub const FETCH_HINTS: Hints = &[
    ("-k", "use --keep (the default) or --delete"),
    ("--keep-old", "--keep is the default"),
    ("--fetchall", "use --all"),
    ("--flush", "use --delete"),
    ("--nokeep", "use --delete"),
    ("-F", "use --delete"),
    ("-K", "use --delete"),
    ("--only-new", "--new is the default"),
    // fetchmail's -l (--limit) is a size; our --limit counts messages.
    ("-l", "use --max-size BYTES"),
    ("--fetchlimit", "use --limit N"),
    ("--sizelimit", "use --max-size BYTES"),
    ("--skipsize", "use --max-size BYTES"),
    // fetchmail's -m is its MDA, not curl's --max-time.
    ("-m", "use --mda COMMAND"),
    ("--sslcertfile", "use --cacert FILE"),
];

/// Flags of curl, wget and lftp that a user may bring to any tool, and ours instead.
pub const COMMON_HINTS: Hints = &[
    ("-k", "use --insecure"),
    ("-s", "use -q (--quiet)"),
    ("--silent", "use -q (--quiet)"),
    ("-S", "use -q (--quiet): errors are always shown"),
    ("--show-error", "use -q (--quiet): errors are always shown"),
    (
        "-n",
        "netrc is read by default for the password of the user you name; --netrc-file FILE lets it name the user too",
    ),
    (
        "--netrc",
        "netrc is read by default for the password of the user you name; --netrc-file FILE lets it name the user too",
    ),
    (
        "-u",
        "use --user NAME, with the password from --password-file, --password-env or netrc",
    ),
    (
        "--ssl",
        "--tls auto (the default) uses TLS whenever offered",
    ),
    ("--ssl-reqd", "use --tls required"),
    (
        "--ftp-ssl",
        "--tls auto (the default) uses TLS whenever offered",
    ),
    ("--connect-timeout", "use --timeout DURATION (e.g. 30s)"),
    ("-m", "use --max-time DURATION (e.g. 10m)"),
    ("-T", "use --timeout DURATION (e.g. 30s)"),
    ("--retry", "use --retries N"),
    ("-t", "use --retries N"),
    ("--tries", "use --retries N"),
    (
        "--pinnedpubkey",
        "use --pin sha256//BASE64 (the public key's SHA-256, several separated by ;)",
    ),
    (
        "--limit-rate",
        "only ftp-get and ftp-put limit their rate (--limit-rate)",
    ),
    ("-#", "use --progress bar"),
    ("--progress-bar", "use --progress bar"),
    ("--no-check-certificate", "use --insecure"),
];

/// Parses `T`'s arguments from the command line; `--help`/`--version` exit 0, bad usage
/// exits 64 with one line that names the flag at fault (and, for a flag from curl or wget,
/// ours).
fn parse_args<T: Tool>(argv: Vec<std::ffi::OsString>) -> Result<Parsed<T::Args>, Stop> {
    let cmd = T::command();
    let argv = super::argv::options_first(&cmd, argv);
    let parsed = cmd.try_get_matches_from(argv).and_then(|m| {
        if let Some(what) = m.get_one::<Generate>("generate") {
            return Ok(Parsed::Generate(*what));
        }
        let quiet = m.try_get_one::<bool>("quiet").ok().flatten() == Some(&true);
        T::Args::from_arg_matches(&m).map(|args| Parsed::Run { args, quiet })
    });
    let e = match parsed {
        Ok(p) => return Ok(p),
        Err(e) => e,
    };
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let width = terminal_width().unwrap_or(80).clamp(40, 120);
            // `--help | head -3` must not panic on the closed pipe either.
            use std::io::Write;
            let _ = std::io::stdout().write_all(wrap(&e.render().to_string(), width).as_bytes());
            Err(Stop::Done(ExitCode::SUCCESS))
        }
        ErrorKind::DisplayVersion => {
            let _ = e.print();
            Err(Stop::Done(ExitCode::SUCCESS))
        }
        _ => Err(Stop::Usage(usage_line::<T>(&e))),
    }
}

/// clap's error as one line: its message and any list of values, without the usage lines
/// (`--help` has them), a password in a URL redacted, control characters made visible. A
/// flag from another tool gets a pointer to ours instead of clap's tip, and an argument
/// given to a tool that takes none ([`Tool::NO_ARGUMENTS`]) what to do with it.
fn usage_line<T: Tool>(e: &clap::Error) -> String {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if e.kind() == ErrorKind::UnknownArgument {
        if let Some(ContextValue::String(arg)) = e.get(ContextKind::InvalidArg) {
            if let Some(instead) = T::NO_ARGUMENTS.filter(|_| arg == "-" || !arg.starts_with('-')) {
                return crate::error::visible(&redact_text(&format!(
                    "unexpected argument '{arg}': {instead}"
                )));
            }
            let flag = arg.split('=').next().unwrap_or(arg);
            if let Some((_, ours)) = T::HINTS
                .iter()
                .flat_map(|h| h.iter())
                .chain(COMMON_HINTS)
                .find(|(theirs, _)| *theirs == flag)
            {
                return crate::error::visible(&redact_text(&format!(
                    "unknown option '{arg}': {ours} (see --help)"
                )));
            }
            return crate::error::visible(&redact_text(&format!(
                "unknown option '{arg}' (see --help)"
            )));
        }
    }
    let rendered = redact_text(&e.render().to_string());
    let mut parts: Vec<&str> = Vec::new();
    for line in rendered.lines() {
        let line = line.trim();
        if line.is_empty()
            || line.starts_with("Usage:")
            || line.starts_with("For more information")
            || line.starts_with("tip:")
        {
            continue;
        }
        parts.push(line.trim_start_matches("error: "));
    }
    crate::error::visible(&format!("{} (see --help)", parts.join(" ")))
}

/// The width of the terminal on standard output, if it is one.
fn terminal_width() -> Option<usize> {
    // SAFETY: TIOCGWINSZ fills one winsize struct we own.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(1, libc::TIOCGWINSZ, &mut ws) } == 0;
    if ok && ws.ws_col > 0 {
        return Some(usize::from(ws.ws_col));
    }
    std::env::var("COLUMNS").ok()?.parse().ok()
}

/// Wraps help text at `width` columns between words, never inside one. A line that is too
/// long continues under its own text: for an option, under its description.
pub fn wrap(text: &str, width: usize) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 16);
    let mut examples = false;
    for line in text.lines() {
        // The examples are command lines to copy: never broken (the terminal folds them
        // for the eye, and a copy stays one line).
        if !line.starts_with(' ') {
            examples = line == "Examples:";
        }
        if examples || line.chars().count() <= width {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let head = hanging_indent(line);
        let indent = line[..head].chars().count();
        out.push_str(&line[..head]);
        let mut col = indent;
        let mut first = true;
        for word in line[head..].split(' ').filter(|w| !w.is_empty()) {
            let len = word.chars().count();
            if !first && col + 1 + len > width {
                out.push('\n');
                out.push_str(&" ".repeat(indent));
                col = indent;
            } else if !first {
                out.push(' ');
                col += 1;
            }
            out.push_str(word);
            col += len;
            first = false;
        }
        out.push('\n');
    }
    out
}

/// The byte offset where the text of a help line starts: after the gap of two or more
/// spaces that follows an option's name, or else after the line's own indentation.
fn hanging_indent(line: &str) -> usize {
    let lead = line.len() - line.trim_start().len();
    let rest = &line[lead..];
    if let Some(i) = rest.find("  ") {
        let after = &rest[i..];
        let start = lead + i + (after.len() - after.trim_start().len());
        if line[..start].chars().count() < 60 {
            return start;
        }
    }
    lead
}

/// Prints the tool's built-in man page or completion (`--generate`).
fn generate(tool: &str, what: Generate) -> ExitCode {
    use std::io::Write;
    let Some(text) = generated::text(tool, what) else {
        write_stderr(&format!(
            "{tool}: --generate: nothing built in for {what:?}"
        ));
        return ExitCode::from(exit::SOFTWARE);
    };
    let mut out = std::io::stdout().lock();
    match out.write_all(text).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            write_stderr(&format!(
                "{tool}: standard output: {}",
                crate::error::io_reason(&e)
            ));
            ExitCode::from(exit::IOERR)
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
        // One line each: `--help` wraps it under its text ([`wrap`]), the man page fills it.
        let meaning = meaning.split_whitespace().collect::<Vec<_>>().join(" ");
        out.push_str(&format!("  {code:<3} {meaning}\n"));
    }
    out.trim_end().to_string()
}

/// What `--help` ends with: the tool's examples.
fn after_help(man: &'static str) -> String {
    format!("Examples:\n{}", section(man, "EXAMPLES"))
}

/// What `--help` (the long form) ends with: the examples and the exit statuses.
fn after_long_help(man: &'static str, exit: &[(u8, &str)]) -> String {
    format!(
        "{}\n\nExit status (sysexits.h):\n{}",
        after_help(man),
        exit_status_text(exit)
    )
}

/// The man page's sections after OPTIONS: the tool's text, with EXIT STATUS generated.
pub fn man_sections(entry: &ToolEntry) -> Vec<(&'static str, String)> {
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

    /// The one line a flag from another tool gets, from `T`'s hints.
    fn hint<T: Tool>(flag: &str) -> String {
        let e = T::command()
            .try_get_matches_from([T::NAME, flag, "x"])
            .unwrap_err();
        usage_line::<T>(&e)
    }

    #[test]
    fn a_flag_from_another_tool_gets_the_hint_of_the_tool_then_its_family() {
        use crate::cli::{ftp_ls, imap_fetch, pop_fetch, smtp_send};
        type Hint = fn(&str) -> String;
        let cases: [(Hint, &str, &str); 7] = [
            // The family's tables, shared.
            (
                hint::<pop_fetch::PopFetch>,
                "--sizelimit",
                "use --max-size BYTES",
            ),
            (
                hint::<imap_fetch::ImapFetch>,
                "--tls-trust-file",
                "use --cacert FILE",
            ),
            (
                hint::<smtp_send::SmtpSend>,
                "--tls-fingerprint",
                "use --pin sha256:HEX",
            ),
            (hint::<ftp_ls::FtpLs>, "--ftp-port", "use --active"),
            // The tool's own, then the family's, before the hints every tool has: -k is
            // fetchmail's keep to the fetchers, curl's insecure elsewhere.
            (
                hint::<pop_fetch::PopFetch>,
                "--limit-rate",
                "pop-fetch does not limit its rate",
            ),
            (
                hint::<imap_fetch::ImapFetch>,
                "-k",
                "use --keep (the default) or --delete",
            ),
            (hint::<ftp_ls::FtpLs>, "-k", "use --insecure"),
        ];
        for (hint, flag, ours) in cases {
            assert_eq!(
                hint(flag),
                format!("unknown option '{flag}': {ours} (see --help)")
            );
        }
    }

    #[test]
    fn main_finds_the_quiet_flag_of_every_tool_that_has_one() {
        for t in TOOLS {
            let cmd = (t.command)();
            let quiet = cmd.get_arguments().find(|a| a.get_id() == "quiet");
            if t.name == "mime-pack" {
                assert!(quiet.is_none());
                continue;
            }
            let quiet = quiet.unwrap_or_else(|| panic!("{}: no quiet", t.name));
            assert_eq!(quiet.get_short(), Some('q'), "{}", t.name);
            let m = cmd
                .clone()
                .ignore_errors(true)
                .get_matches_from([t.name, "-q"]);
            assert_eq!(m.try_get_one::<bool>("quiet").ok().flatten(), Some(&true));
        }
    }

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
    fn help_wraps_between_words_under_the_description() {
        let line = "  -o, --output <FILE>  Write to FILE (one URL only); '-' writes to standard output and more words";
        let got = wrap(line, 50);
        for l in got.lines() {
            assert!(l.chars().count() <= 50, "{l:?}");
        }
        assert_eq!(
            got,
            "  -o, --output <FILE>  Write to FILE (one URL\n                       only); '-' writes to\n                       standard output and more\n                       words\n"
        );
        let words: Vec<&str> = got.split_whitespace().collect();
        let want: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(words, want, "no word split or lost");
        assert_eq!(wrap("short\n\nlines", 80), "short\n\nlines\n");
        let prose = "Download files over FTP or FTPS. Each file is written to NAME.part beside its destination";
        for l in wrap(prose, 30).lines() {
            assert!(l.chars().count() <= 30, "{l:?}");
        }
    }

    #[test]
    fn exit_text_uses_the_general_meaning_unless_told() {
        let t = exit_status_text(&[(64, ""), (66, "the remote file does not exist\nor x")]);
        assert_eq!(
            t,
            "  64  bad flags or arguments\n  66  the remote file does not exist or x"
        );
        // Wrapped under its text, with no word left alone on a line.
        let long = exit_status_text(&[(
            74,
            "local I/O error while storing a message, the connection broke mid-message,\nor the reader left",
        )]);
        assert_eq!(
            wrap(&long, 60),
            "  74  local I/O error while storing a message, the\n      connection broke mid-message, or the reader left\n"
        );
    }

    /// The examples of `--help` are command lines to copy: never broken, whatever the width.
    #[test]
    fn help_never_breaks_an_example() {
        let help = "Options:\n  -q  quiet\n\nExamples:\n  ftp-get -O incoming/ 'ftp://user@files.example.com/outbox/*.csv' --password-env FTP_PASS\n\nExit status (sysexits.h):\n  64  bad flags or arguments given on the command line, said in one line\n";
        let got = wrap(help, 40);
        assert!(got.contains("\n  ftp-get -O incoming/ 'ftp://user@files.example.com/outbox/*.csv' --password-env FTP_PASS\n"), "{got}");
        assert!(
            got.contains("\n  64  bad flags or arguments given on\n      the command line"),
            "{got}"
        );
    }
}
