//! ftp-ls's command line: the one clap definition behind `--help`, the man page and the
//! completions, and the glue from it to `crate::jobs::ftp_ls`.

use super::common::{ConnArgs, NetArgs, OutputArgs};
use super::ftp_common::{before_connecting, ftp_login, ftp_options};
use super::report::{Reporter, Stderr};
use super::tool::{self, Tool};
use crate::error::{Kind, Result, acts_on_terminal, visible};
use crate::ftp::list::{ListEntry, folder_path, join, rfc3339};
use crate::ftp::{Credentials, FtpClient, FtpOptions};
use crate::jobs::ftp_ls::{Item, Walk, list};
use crate::net::url::{Scheme, Target};
use crate::transfer::StreamOut;
use clap::Parser;
use std::io::IsTerminal;
use std::time::SystemTime;

/// ftp-ls as a [`Tool`].
pub struct FtpLs;

impl Tool for FtpLs {
    const NAME: &'static str = "ftp-ls";
    const MAN: &'static str = include_str!("../../man/text/ftp-ls.txt");
    const EXIT: &'static [(u8, &'static str)] = &[
        (0, "the listing was printed (an empty folder is success)"),
        (64, ""),
        (
            66,
            "the remote folder or file does not exist (also a folder the server lists as\n\
             empty, where MLST or CWD does not find it), or a wildcard matched nothing",
        ),
        (68, ""),
        (69, ""),
        (70, ""),
        (
            74,
            "the connection broke mid-listing, or standard output is closed (>&-)",
        ),
        (75, ""),
        (
            76,
            "malformed or unexpected reply (a listing line over 64 KiB), a tree beyond\n\
             the bounds of -R (deeper than 64 levels, more than 4 MiB of folder names\n\
             waiting, a path over 4000 bytes), TLS handshake or certificate failure",
        ),
        (
            77,
            "login failed, permission denied, or no password available",
        ),
    ];
    const HINTS: &'static [tool::Hints] = &[
        &[
            ("--list-only", "names only is the default; -l for details"),
            ("-1", "names, one per line, is the default"),
            ("-a", "ftp-ls shows every entry the server lists"),
        ],
        tool::FTP_HINTS,
    ];
    type Args = Args;
    const SCHEMES: &'static [&'static str] = &["ftp", "ftps"];
    const RELATIVE_PATHS: bool = true;

    fn run(args: Args, report: &mut Reporter) -> Result<()> {
        let target = Target::parse(
            &super::account::resolve(&args.url),
            &[Scheme::Ftp, Scheme::Ftps],
        )?;
        let mut out = Out {
            stream: StreamOut::stdout()?,
            buf: Vec::with_capacity(64 * 1024 + 4096),
        };
        let ftp = ftp_options(
            &args.net,
            report,
            std::slice::from_ref(&target),
            args.active,
            false,
        )?;
        before_connecting(&args.net, report);
        let warn = report.warner();
        let login = ftp_login(&target, &args.net.creds, &warn)?;
        let mut client = connect(&target, &login, &ftp, &args.net.conn, report)?;
        let walk = Walk {
            recursive: args.recursive,
            raw: args.raw,
        };
        let mut printer = Printer {
            args: &args,
            out: &mut out,
            listed_dir: listed_dir(&target.path),
            terminal: std::io::stdout().is_terminal(),
            stderr: report.stderr().clone(),
            tool: report.tool(),
            unparsed: 0,
        };
        let res = list(
            &mut client,
            &target.path,
            walk,
            SystemTime::now(),
            &mut |item| printer.item(item),
        );
        let unparsed = printer.unparsed;
        let flushed = out.flush();
        match res.and(flushed) {
            Ok(()) => {}
            Err(e) if e.kind() == Kind::StdoutClosed => return Ok(()),
            Err(e) => {
                client.quit();
                return Err(e.context(&target));
            }
        }
        client.quit();
        if unparsed > 0 && !args.net.output.verbose {
            report.note(format_args!(
                "{unparsed} listing lines were not understood (-v shows them)"
            ));
        }
        Ok(())
    }
}

/// Connects and logs in, again after a failure `--retries` allows; a listing that broke
/// after lines were printed is not tried again (it would print them twice).
fn connect(
    target: &Target,
    login: &Credentials,
    ftp: &FtpOptions,
    conn: &ConnArgs,
    report: &Reporter,
) -> Result<FtpClient> {
    let mut backoff = conn.retry_policy().start();
    loop {
        match FtpClient::connect(target, login, ftp) {
            Ok(c) => return Ok(c),
            Err(e) => match backoff.next(&e) {
                Some(delay) => {
                    report.note(backoff.message(&e, delay));
                    std::thread::sleep(delay);
                }
                None => return Err(e),
            },
        }
    }
}

/// The folder a listing of `path` lists: with -R, names are shown relative to it.
fn listed_dir(path: &str) -> String {
    let base = folder_path(path).to_string();
    if path.ends_with('/') || path.is_empty() {
        return base;
    }
    match base.rfind('/') {
        Some(0) if crate::ftp::parse::has_glob(&base[1..]) => "/".to_string(),
        Some(i) if crate::ftp::parse::has_glob(&base[i + 1..]) => base[..i].to_string(),
        None if crate::ftp::parse::has_glob(&base) => String::new(),
        _ => base,
    }
}

/// What the listing hands over, as it goes out: entries in the chosen format, raw lines
/// (made visible at a terminal), and lines no format matches (counted; shown with -v).
struct Printer<'a> {
    args: &'a Args,
    out: &'a mut Out,
    listed_dir: String,
    terminal: bool,
    stderr: Stderr,
    tool: &'static str,
    unparsed: u64,
}

impl Printer<'_> {
    fn item(&mut self, item: Item<'_>) -> Result<()> {
        match item {
            Item::Raw(line) if self.terminal => self
                .out
                .line(visible(&String::from_utf8_lossy(line)).as_bytes()),
            Item::Raw(line) => self.out.line(line),
            Item::Unparsed(text) => {
                self.unparsed += 1;
                if self.args.net.output.verbose {
                    self.stderr.line(&format!(
                        "{}: unparsed listing line: {}",
                        self.tool,
                        visible(text)
                    ));
                }
                Ok(())
            }
            Item::Entry { dir, entry } => {
                let text = render(self.args, dir, &self.listed_dir, entry);
                self.out.line(text.as_bytes())
            }
        }
    }
}

/// List folders over FTP or FTPS.
#[derive(Parser, Debug, Clone)]
#[command(
    about = "List folders over FTP or FTPS: names, details or JSON, streamed",
    long_about = "List a folder over FTP or FTPS. MLSD is used when the server offers it \
(FEAT), LIST otherwise, parsed whatever its format (Unix ls -l, Windows/IIS, EPLF). The \
listing streams: a folder of any size is printed in constant memory.\n\n\
A URL ending in / (or with no path) is a folder; a wildcard in the last part of the path \
(ftp://host/dir/*.csv) lists the matching entries; any other path is listed as a folder when \
it is one, else as the one file it names. Default output is the names, one per line; -l adds \
type, size and modification time; --json writes one JSON object per line.\n\n\
URL paths are relative to the login folder; ftp://host//abs/ is absolute. ftps:// is \
implicit TLS; ftp:// upgrades with AUTH TLS whenever offered (--tls).",
    disable_help_flag = true
)]
pub struct Args {
    /// ftp:// or ftps:// URL of the folder (ending in /), a wildcard, or a file
    #[arg(required = true, value_name = "URL")]
    pub url: String,

    /// Long format: type, size, modification time (UTC) and name
    #[arg(short = 'l', long = "long", conflicts_with_all = ["json", "raw"])]
    pub long: bool,

    /// With -l: sizes in KiB, MiB, GiB (as ls -lh); without -l it changes nothing, as in ls
    #[arg(short = 'h', long = "human-readable")]
    pub human: bool,

    /// One JSON object per line: name, path, type, size, modified, target
    #[arg(long, conflicts_with = "raw")]
    pub json: bool,

    /// The server's LIST output, untouched (control characters made visible at a terminal)
    #[arg(long, conflicts_with = "recursive")]
    pub raw: bool,

    /// Enter every folder, depth first (never through a link; 64 levels, 4 MiB of names
    /// waiting at most)
    #[arg(short = 'R', long)]
    pub recursive: bool,

    /// Active mode: the server connects to us (EPRT, falling back to PORT)
    #[arg(long)]
    pub active: bool,

    #[command(flatten)]
    pub net: NetArgs<OutputArgs>,

    /// Print help (-h is --human-readable, as in ls)
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
}

/// Lines go out through a 64 KiB buffer, not one write each.
struct Out {
    stream: StreamOut,
    buf: Vec<u8>,
}

impl Out {
    fn line(&mut self, bytes: &[u8]) -> Result<()> {
        self.buf.extend_from_slice(bytes);
        self.buf.push(b'\n');
        if self.buf.len() >= 64 * 1024 {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        let r = self.stream.write(&self.buf);
        self.buf.clear();
        r
    }
}

/// One entry as the chosen format shows it.
fn render(args: &Args, dir: &str, listed_dir: &str, e: &ListEntry) -> String {
    let path = join(dir, &e.name);
    if args.json {
        // The keys in the documented order; every string through json_string, which
        // escapes what plain output makes visible: nothing in a name can act on a terminal,
        // even after jq -r.
        let mut line = format!(
            "{{\"name\":{},\"path\":{},\"type\":\"{}\",\"size\":{},\"modified\":{}",
            json_string(&e.name),
            json_string(&path),
            e.kind.name(),
            e.size.map_or_else(|| "null".to_string(), |s| s.to_string()),
            e.modified
                .map_or_else(|| "null".to_string(), |t| json_string(&rfc3339(t))),
        );
        if let Some(t) = &e.target {
            line.push_str(&format!(",\"target\":{}", json_string(t)));
        }
        line.push('}');
        return line;
    }
    // With -R, names are shown relative to the folder listed, so that they can be used.
    let shown = if args.recursive {
        let rel = if listed_dir.is_empty() {
            path.as_str()
        } else {
            path.strip_prefix(listed_dir)
                .map(|p| p.strip_prefix('/').unwrap_or(p))
                .unwrap_or(&path)
        };
        visible(rel)
    } else {
        visible(&e.name)
    };
    if !args.long {
        return shown;
    }
    let size = match e.size {
        Some(s) if args.human => humansize::format_size(s, humansize::BINARY),
        Some(s) => s.to_string(),
        None => "-".into(),
    };
    let when = e.modified.map_or_else(
        || "-".repeat(16),
        |t| {
            let s = rfc3339(t);
            format!("{} {}", &s[..10], &s[11..16])
        },
    );
    let link = e
        .target
        .as_ref()
        .map(|t| format!(" -> {}", visible(t)))
        .unwrap_or_default();
    format!("{} {size:>12} {when} {shown}{link}", e.kind.letter())
}

/// `text` as a JSON string (RFC 8259 section 7): quotes and backslashes escaped, and every
/// character [`visible`] would show escaped (C0 and C1 controls, DEL, bidirectional and
/// invisible format controls) as `\uXXXX`, which a JSON reader turns back into the same
/// character. serde_json escapes C0 only, leaving DEL, C1 and U+202E raw on the line.
fn json_string(text: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // Every such character is in the Basic Multilingual Plane: one \u escape each.
            c if acts_on_terminal(c) => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::json_string;

    #[test]
    fn json_strings_escape_what_a_terminal_would_act_on() {
        assert_eq!(json_string("plain Grüße"), "\"plain Grüße\"");
        assert_eq!(json_string("q\"b\\s/"), "\"q\\\"b\\\\s/\"");
        assert_eq!(
            json_string("\n\r\t\x00\x1b\x7f\u{80}\u{9f}\u{a0}"),
            "\"\\n\\r\\t\\u0000\\u001b\\u007f\\u0080\\u009f\u{a0}\""
        );
        assert_eq!(
            json_string("\u{200b}\u{202e}\u{2066}\u{feff}\u{1f600}"),
            "\"\\u200b\\u202e\\u2066\\ufeff\u{1f600}\""
        );
        // What serde_json reads back is the text itself.
        for text in ["a\u{7f}b\u{9b}c\u{85}\u{202e}\"\\", "\u{0}\u{1f}é"] {
            let back: String = serde_json::from_str(&json_string(text)).unwrap();
            assert_eq!(back, text);
        }
    }
}
