//! mime-pack: composes a MIME message from flags, a body and files, and writes it to
//! standard output (for `smtp-send -t`) or atomically to a file.

use super::generated::GenerateArgs;
use super::report::Reporter;
use super::tool::{self, Tool};
use crate::error::{Error, Kind, Result};
use crate::mime::message::{FilePart, FileSpec, HeaderFields, Message, TextPart};
use crate::mime::output::Output;
use crate::mime::source::Input;
use crate::mime::{Eol, boundary, header};
use clap::{Parser, ValueHint};
use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::Path;

/// mime-pack as a [`Tool`].
pub struct MimePack;

impl Tool for MimePack {
    const NAME: &'static str = "mime-pack";
    const MAN: &'static str = include_str!("../../man/text/mime-pack.txt");
    const EXIT: &'static [(u8, &'static str)] = &[
        (
            0,
            "the message was written (also when a reader of standard output stops early,\n\
             as | head does)",
        ),
        (64, "bad flags or header values"),
        (
            65,
            "the --html file is not UTF-8 and no --charset was given",
        ),
        (
            66,
            "a body or attachment is missing or unreadable (all are checked before\n\
             anything is written)",
        ),
        (70, ""),
        (73, "the -o file cannot be created"),
        (
            74,
            "a read or write error (also: a text file changed between its scan and its\n\
             sending, or standard output closed or read-only from the start, as with >&-)",
        ),
    ];
    const HINTS: &'static [tool::Hints] = &[&[
        ("-i", "use --body FILE for the text"),
        ("--include", "use --body FILE for the text"),
        (
            "-e",
            "mime-pack takes no command: its flags make the message",
        ),
    ]];
    const NO_ARGUMENTS: Option<&'static str> =
        Some("mime-pack takes no arguments: recipients go in --to ADDR, files in -a FILE");
    type Args = Args;

    fn run(args: Args, _report: &mut Reporter) -> Result<()> {
        run(args)
    }
}

// The field docs are clap's --help text, where FILE[;type=T] is not a link.
#[allow(rustdoc::broken_intra_doc_links)]
#[derive(Parser, Debug)]
#[command(
    about = "Build a MIME message with a body and attachments, streaming, for smtp-send -t",
    long_about = "Build a MIME message (RFC 5322, 2045-2049, 2047, 2183, 2231) from flags, a text \
body and files, and write it to standard output: the composer half of `mime-pack ... | \
smtp-send -t` (or `| msmtp -t`, `| sendmail -t`). It needs no network. Every body streams \
through fixed-size buffers: a 2 GiB attachment is packed in about 3 MiB of memory.\n\n\
Every flag is checked first (64), then every input opened (66), then the text bodies are \
scanned, and only then is the output created. -o FILE is written atomically."
)]
pub struct Args {
    /// Author address: "Name <addr@example.com>" or addr@example.com [default: $EMAIL]
    #[arg(short = 'r', long, value_name = "ADDR", value_hint = ValueHint::EmailAddress)]
    pub from: Option<String>,
    /// Recipient (repeatable; a value may hold a comma-separated list)
    #[arg(long, value_name = "ADDR", value_hint = ValueHint::EmailAddress)]
    pub to: Vec<String>,
    /// Carbon-copy recipient (repeatable)
    #[arg(short = 'c', long, value_name = "ADDR", value_hint = ValueHint::EmailAddress)]
    pub cc: Vec<String>,
    /// Blind-copy recipient (repeatable); kept in the output for smtp-send -t, which strips it
    #[arg(short = 'b', long, value_name = "ADDR", value_hint = ValueHint::EmailAddress)]
    pub bcc: Vec<String>,
    /// Reply-To address (repeatable)
    #[arg(long, value_name = "ADDR")]
    pub reply_to: Vec<String>,
    /// Subject; non-ASCII is sent as RFC 2047 encoded-words
    #[arg(short, long, value_name = "TEXT")]
    pub subject: Option<String>,
    /// Extra header field "Name: value" (repeatable); Date and Message-ID replace the generated ones
    #[arg(long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// The plain-text body; "-" (the default) is standard input
    #[arg(long, value_name = "FILE")]
    pub body: Option<OsString>,
    /// Adds an HTML alternative to the text body (multipart/alternative)
    #[arg(long, value_name = "FILE")]
    pub html: Option<OsString>,
    /// A file the HTML refers to as cid:ID (repeatable): FILE[;cid=ID][;type=T][;name=N].
    /// ID defaults to the file name
    #[arg(long, value_name = "FILE", requires = "html")]
    pub inline: Vec<OsString>,
    /// Attach a file (repeatable): FILE[;type=T][;name=N][;charset=C]
    ///
    /// Without name=, the recipient sees the file's own name, each byte of it that is not
    /// UTF-8 replaced by _
    #[arg(short = 'a', long = "attach", value_name = "FILE")]
    pub attach: Vec<OsString>,
    /// Declare the text bodies in this charset instead of detecting it (bytes are sent unchanged)
    #[arg(long, value_name = "CHARSET")]
    pub charset: Option<String>,
    /// Allow non-ASCII addresses (RFC 6531); the server must offer SMTPUTF8
    #[arg(long)]
    pub smtputf8: bool,
    /// Write the message to FILE (atomically; a device or FIFO is written in place) instead of
    /// standard output
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<String>,
    /// End lines with CRLF (canonical form) instead of LF
    #[arg(long)]
    pub crlf: bool,
    /// Make the folders of the -o FILE path when they are missing
    #[arg(long)]
    pub create_dirs: bool,
    #[command(flatten)]
    pub generate: GenerateArgs,
}

/// Runs mime-pack in four phases: every flag is checked (64), then every input opened (66),
/// then the text bodies are read and scanned, and only then is the output created and
/// written.
pub fn run(args: Args) -> Result<()> {
    let env = envelope(&args)?;
    let (inline, attach) = file_specs(&args)?;
    let body_path = Path::new(args.body.as_deref().unwrap_or("-".as_ref()));
    one_reader_of_stdin(&args, body_path, &inline, &attach)?;
    // Open everything before reading anything: a missing file fails with nothing written.
    let body_in = Input::open(body_path)?;
    let html_in = args.html.as_deref().map(Input::open).transpose()?;
    let inline_in: Vec<Input> = inline
        .iter()
        .map(|s| Input::open(&s.path))
        .collect::<Result<_>>()?;
    let attach_in: Vec<Input> = attach
        .iter()
        .map(|s| Input::open(&s.path))
        .collect::<Result<_>>()?;

    let headers = env.finish()?;
    let text = |input, subtype| TextPart {
        input,
        subtype,
        charset: args.charset.clone(),
        choice: None,
    };
    let mut inline_parts = Vec::new();
    for (spec, input) in inline.iter().zip(inline_in) {
        let mut p = FilePart::new(spec, input)?;
        p.cid = spec.cid.clone();
        inline_parts.push(p);
    }
    let attach_parts = attach
        .iter()
        .zip(attach_in)
        .map(|(spec, input)| FilePart::new(spec, input))
        .collect::<Result<Vec<_>>>()?;
    let mut msg = Message::prepare(
        headers,
        text(body_in, "plain"),
        html_in.map(|h| text(h, "html")),
        inline_parts,
        attach_parts,
        &mut boundary::random,
    )?;

    let eol = if args.crlf { Eol::CrLf } else { Eol::Lf };
    let mut out = match args.output.as_deref() {
        None | Some("-") => Output::stdout()?,
        Some(path) => Output::file(std::path::Path::new(path), args.create_dirs)?,
    };
    msg.write(&mut out, eol)?;
    out.finish()
}

/// Phase 1a: the header fields from the flags, each checked (64).
fn envelope(args: &Args) -> Result<HeaderFields> {
    let mut env = HeaderFields::new();
    // As mutt and mail(1) do, the author defaults to $EMAIL.
    let from = match (&args.from, std::env::var("EMAIL")) {
        (Some(f), _) => f.clone(),
        (None, Ok(e)) if !e.trim().is_empty() => e,
        _ => {
            return Err(Error::new(
                Kind::Usage,
                "--from ADDR is needed (or $EMAIL set to the author's address)",
            ));
        }
    };
    env.mailboxes(
        "From",
        "--from",
        std::slice::from_ref(&from),
        args.smtputf8,
        true,
    )?;
    env.mailboxes(
        "Reply-To",
        "--reply-to",
        &args.reply_to,
        args.smtputf8,
        false,
    )?;
    env.mailboxes("To", "--to", &args.to, args.smtputf8, false)?;
    env.mailboxes("Cc", "--cc", &args.cc, args.smtputf8, false)?;
    env.mailboxes("Bcc", "--bcc", &args.bcc, args.smtputf8, false)?;
    if let Some(s) = &args.subject {
        env.unstructured("Subject", "--subject", s)?;
    }
    for h in &args.headers {
        env.custom("--header", h)?;
    }
    Ok(env)
}

/// Phase 1b: the other flag values, and the `-a`/`--inline` specifications (64).
fn file_specs(args: &Args) -> Result<(Vec<FileSpec>, Vec<FileSpec>)> {
    if let Some(c) = &args.charset {
        header::no_line_breaks("--charset", c)?;
        if !header::is_charset(c) {
            return Err(Error::new(
                Kind::Usage,
                format!(
                    "--charset: not a charset name (a token of at most {} characters): {:?}",
                    header::MAX_CHARSET,
                    header::elide(c)
                ),
            ));
        }
    }
    for (flag, v) in [("--body", &args.body), ("--html", &args.html)] {
        if let Some(v) = v {
            header::no_line_breaks(flag, v)?;
        }
    }
    if let Some(v) = &args.output {
        header::no_line_breaks("--output", v)?;
    }
    let inline: Vec<FileSpec> = args
        .inline
        .iter()
        .map(|a| FileSpec::parse("--inline", a, &["type", "name", "cid"]))
        .collect::<Result<_>>()?;
    let attach: Vec<FileSpec> = args
        .attach
        .iter()
        .map(|a| FileSpec::parse("--attach", a, &["type", "name", "charset"]))
        .collect::<Result<_>>()?;
    Ok((inline, attach))
}

/// Phase 1c: standard input can feed one input only, whatever name it is given; and a body
/// from a terminal would wait for typing: refused (64).
fn one_reader_of_stdin(
    args: &Args,
    body_path: &Path,
    inline: &[FileSpec],
    attach: &[FileSpec],
) -> Result<()> {
    let is_dash = |p: &Path| p.as_os_str() == "-";
    let inputs = std::iter::once(("--body", body_path))
        .chain(args.html.as_deref().map(|h| ("--html", Path::new(h))))
        .chain(inline.iter().map(|s| ("--inline", s.path.as_path())))
        .chain(attach.iter().map(|s| ("--attach", s.path.as_path())));
    let mut stdin_users = inputs.filter(|(_, path)| is_dash(path) || is_standard_input(path));
    if let (Some((first, _)), Some((flag, path))) = (stdin_users.next(), stdin_users.next()) {
        let hint = if first == "--body" {
            " (give --body FILE)"
        } else {
            ""
        };
        let what = if is_dash(path) {
            "standard input is already used by".to_string()
        } else {
            format!(
                "{} is standard input, which is already used by",
                path.display()
            )
        };
        return Err(Error::new(
            Kind::Usage,
            format!("{flag}: {what} {first}{hint}"),
        ));
    }
    if args.body.is_none() && std::io::stdin().is_terminal() {
        return Err(Error::new(
            Kind::Usage,
            "the body is read from standard input, which is a terminal: pipe it in, or give --body FILE (--body /dev/null for none)",
        ));
    }
    Ok(())
}

/// Whether `path` reaches the same pipe, FIFO, socket or device as standard input, as
/// `/dev/stdin`, `/dev/fd/0` and `/proc/self/fd/0` do (same device and inode). Two readers
/// of one pipe would each get part of it. A regular file on standard input does not count:
/// opening it again by name gives a reader of its own.
pub fn is_standard_input(path: impl AsRef<std::path::Path>) -> bool {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let Ok(fd) = std::io::stdin().as_fd().try_clone_to_owned() else {
        return false;
    };
    let Ok(stdin) = std::fs::File::from(fd).metadata() else {
        return false;
    };
    !stdin.is_file()
        && std::fs::metadata(path).is_ok_and(|m| m.dev() == stdin.dev() && m.ino() == stdin.ino())
}
