//! smtp-send's command line: the one clap definition behind `--help`, the man page and the
//! completions, the config file, and the glue from them to the job
//! (`crate::jobs::smtp_send`): where the message comes from, who it goes to, and what is
//! said on stderr.

use super::aliases::{Aliases, qualify};
use super::common::{NetArgs, Progress};
use super::credentials;
use super::oauth2::{OAuth2Args, Service};
use super::progress::CliEvents;
use super::report::Reporter;
use super::tool::{self, Tool, usage};
use crate::error::{Error, Kind, Result};
use crate::jobs::login::Login;
use crate::jobs::smtp_send::{
    self, Outgoing, ReadyMessage, Record, Relay, SendOptions, Server, read_some,
};
use crate::mime::date;
use crate::mime::header::{Mailbox, mailbox_tokens};
use crate::mime::source::Input;
use crate::net::url::{Scheme, Target};
use crate::session::Method;
use crate::session::sasl::Mechanism;
use crate::smtp::client::{FINAL_REPLY_TIMEOUT, SmtpOptions};
use crate::smtp::message::{Additions, BodyCheck, Header, MAX_HEADER, read_header, refusal_error};
use clap::{Parser, ValueHint};
use std::fs::File;
use std::io::{IsTerminal, Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::time::Duration;

/// The hint for msmtp's `--serverinfo` (`-S`).
const SERVERINFO: &str =
    "there is no --serverinfo: -v shows the server's greeting and EHLO reply as it sends";

/// smtp-send as a [`Tool`].
pub struct SmtpSend;

impl Tool for SmtpSend {
    const NAME: &'static str = "smtp-send";
    const MAN: &'static str = include_str!("../../man/text/smtp-send.txt");
    const EXIT: &'static [(u8, &'static str)] = &[
        (
            0,
            "the message was accepted by the server for every recipient",
        ),
        (
            64,
            "bad flags or arguments; no envelope sender (-f, or a From header); no\n\
             recipient; a malformed --aliases file",
        ),
        (
            65,
            "the message cannot be sent as it is (a lone CR, a line over 998\n\
             octets, an 8-bit byte for a server without 8BITMIME, a header section\n\
             over 1 MiB, a malformed To/Cc/Bcc with -t), or the server refused it\n\
             after its data (5xx); nothing was delivered; the file --import-msmtprc\n\
             reads is malformed",
        ),
        (
            66,
            "a --file or the --aliases file does not exist or cannot be read;\n\
             standard input is closed",
        ),
        (
            67,
            "a recipient was refused permanently (5xx), even if another was refused\n\
             for now (4xx); without --partial nothing was delivered, with --partial\n\
             the others got the message",
        ),
        (68, ""),
        (
            69,
            "the server refused permanently (greeting, MAIL FROM), or TLS was\n\
             required or needed and not offered",
        ),
        (70, ""),
        (
            74,
            "a local read error, or the connection broke before the end of the\n\
             message was sent: nothing was delivered; or the --log file could not\n\
             be written (after the message went)",
        ),
        (
            75,
            "try again later: a 4xx reply (to MAIL, a RCPT, DATA or the message), a\n\
             timeout, a refused connection; nothing was delivered",
        ),
        (
            76,
            "a malformed or unexpected reply, bytes injected before the TLS\n\
             handshake, a TLS handshake or certificate failure",
        ),
        (
            77,
            "the login failed (535), the server wants one (530), or no password could\n\
             be had; the config file, or its folder, may be written by others",
        ),
        (
            79,
            "the message may have reached some recipients: --partial sent it to the\n\
             others while some were refused for now (4xx; stderr lists who got it),\n\
             or the server's reply to its end never came (waited for 10 minutes, or\n\
             --timeout): sending it again as it is may deliver it twice",
        ),
    ];
    const HINTS: &'static [tool::Hints] = &[
        &[
            ("--mail-from", "use -f ADDR (--from)"),
            ("--mail-rcpt", "give recipients as arguments"),
            ("--host", "use --server smtp://HOST[:PORT]"),
            ("--port", "use --server smtp://HOST:PORT"),
            ("--url", "use --server smtp://HOST[:PORT]"),
            (
                "--upload-file",
                "the message is read from standard input or --file",
            ),
            (
                "--tls-starttls",
                "smtp:// uses STARTTLS; smtps:// is implicit TLS",
            ),
            ("--read-recipients", "use -t"),
            // Mail users mean mail's -s, not curl's --silent.
            ("-s", "use --subject TEXT"),
            // msmtp's --serverinfo.
            ("-S", SERVERINFO),
            ("--serverinfo", SERVERINFO),
            ("--logfile", "use --log FILE"),
            ("-X", "use --log FILE"),
            ("--domain", "use --helo NAME"),
        ],
        tool::MAIL_HINTS,
    ];
    type Args = Args;
    const SCHEMES: &'static [&'static str] = &["smtp", "smtps"];

    const SENDER_PICKS_ACCOUNT: bool = true;

    /// Runs smtp-send: every message in turn over one connection, each reported on its own.
    /// When the sender picks the account ([`super::account::sender_picks`]), each message
    /// is read before its server is known, and one for another account than the message
    /// before it gets that account's connection.
    fn run(args: Args, report: &mut Reporter) -> Result<()> {
        if let Some(file) = &args.import_msmtprc {
            return super::import::run(super::import::Format::Msmtp, file, report);
        }
        if args.oauth2.authorize {
            return authorize(&args, report);
        }
        let sources = sources(&args)?;
        let by_sender = super::account::sender_picks() && args.subject.is_none();
        let mut out = if by_sender {
            None
        } else {
            Some(Outbox::new(args.clone(), None, report)?)
        };
        for src in &sources {
            let mut rec = Record::default();
            let sent = match out.as_mut().filter(|_| !by_sender) {
                Some(o) => send_one(o, src, report, &mut rec),
                None => send_by_sender(&args, &mut out, src, report, &mut rec),
            };
            let code = match sent {
                Ok(()) => rec.refused.unwrap_or(0),
                Err(e) => {
                    report.fail(&e);
                    if rec.reply.is_none() {
                        rec.reply = Some(e.message().to_string());
                    }
                    e.exit_code()
                }
            };
            if let Some(o) = out.as_mut() {
                if let Err(e) = o.log.message(&o.plan, &rec, code) {
                    report.fail(&e);
                }
            }
        }
        if let Some(o) = out {
            o.session.quit();
        }
        Ok(())
    }
}

/// Where smtp-send reads messages from: standard input, or each `--file` (`-` once).
fn sources(args: &Args) -> Result<Vec<MessageFrom>> {
    let sources: Vec<MessageFrom> = if args.files.is_empty() {
        vec![MessageFrom::Stdin]
    } else {
        args.files
            .iter()
            .map(|f| {
                if f.as_os_str() == "-" {
                    MessageFrom::Stdin
                } else {
                    MessageFrom::File(f.clone())
                }
            })
            .collect()
    };
    if sources
        .iter()
        .filter(|s| matches!(s, MessageFrom::Stdin))
        .count()
        > 1
    {
        return Err(usage("--file -: standard input can be read once only"));
    }
    Ok(sources)
}

/// One account's way out: its flags, its server, its log and its connection.
struct Outbox {
    args: Args,
    plan: Server,
    /// `--aliases`, read and checked before connecting.
    aliases: Option<Aliases>,
    log: Log,
    session: Relay,
    /// The account, when the sender picked it.
    account: Option<String>,
}

impl Outbox {
    fn new(args: Args, account: Option<String>, report: &Reporter) -> Result<Outbox> {
        let plan = plan(&args, report)?;
        let aliases = load_aliases(&args)?;
        let log = Log::open(&args)?;
        args.net.tls.warn_insecure(report);
        Ok(Outbox {
            args,
            plan,
            aliases,
            log,
            session: Relay::default(),
            account,
        })
    }
}

/// Sends a message whose From header picks the account (msmtp's `--read-envelope-from`):
/// the message is read, the account whose `from` matches its sender (else the default)
/// fills in the command line, and a connection to that account's server is made unless
/// the message before went there too.
fn send_by_sender(
    base: &Args,
    out: &mut Option<Outbox>,
    src: &MessageFrom,
    report: &mut Reporter,
    rec: &mut Record,
) -> Result<()> {
    let msg = open_message(src, base.allow_bare_cr)?;
    let sender = envelope_sender(base, &msg, false)?;
    let (args, account) = match super::account::for_sender(&sender)? {
        Some(run) => {
            let name = run.account.as_ref().map(|a| a.name.clone());
            (Some((run.argv, run.account, run.origins)), name)
        }
        None => (None, None),
    };
    let o = match out.take() {
        Some(o) if o.account == account => out.insert(o),
        old => {
            if let Some(old) = old {
                old.session.quit();
            }
            let args = match args {
                Some((argv, selected, origins)) => {
                    let args = super::tool::reparse::<SmtpSend>(argv)?;
                    super::account::select(selected);
                    super::account::set_origins(origins);
                    args
                }
                None => base.clone(),
            };
            out.insert(Outbox::new(args, account, report)?)
        }
    };
    send_opened(o, msg, report, rec)
}

/// Send a message over SMTP, safely: streamed, line endings canonicalised, every line
/// starting with a dot stuffed, recipients checked one by one.
#[derive(Parser, Debug, Clone)]
#[command(
    about = "Send a mail message over SMTP, safe for cron and pipelines",
    long_about = "Send a mail message, read from standard input or --file, over SMTP. The \
message streams through in constant memory; its header section is read first, Date, \
Message-ID and From are added when missing, and Bcc is never sent. Line endings become \
CRLF on the wire, a lone CR is refused, and every line starting with a dot is stuffed, so no \
input can end the data early.\n\n\
Recipients are the arguments, plus To, Cc and Bcc with -t. The envelope sender is -f, else \
the From header. smtp:// upgrades with STARTTLS whenever the server offers it (--tls); \
smtps:// is TLS from the first byte. PIPELINING, SIZE, 8BITMIME and SMTPUTF8 are used when \
offered.\n\n\
A refused recipient fails the whole message (exit 67) unless --partial; a 4xx reply is exit \
75, so that cron and queue wrappers try again: 75 always means that nothing was delivered. \
When the message may have reached some recipients (--partial with a recipient refused for \
now, or no reply to the end of the message) the exit status is 79, never 75. The sendmail \
flags -f, -F, -i, -oi, -oem, -B 8BITMIME and -bm are accepted, so that smtp-send can stand \
in for sendmail."
)]
pub struct Args {
    /// Recipients' addresses (with -t, added to those of the message); a name without @
    /// (cron's root) goes as it is, which relays refuse, unless --aliases or --maildomain
    /// make it an address
    #[arg(value_name = "RECIPIENT")]
    pub recipients: Vec<String>,

    /// The server: smtp://HOST (STARTTLS; smtp://HOST:587 for submission) or smtps://HOST (port
    /// 465); a bare HOST or HOST:PORT is smtp://
    #[arg(long, value_name = "URL", value_hint = ValueHint::Url)]
    pub server: Option<String>,

    /// Also send to the addresses in To, Cc and Bcc (Resent-To, -Cc, -Bcc when present)
    #[arg(short = 't')]
    pub read_recipients: bool,

    /// Envelope sender, and the From header when the message has none ('<>' or '': the null
    /// sender of bounces and vacation replies) [default: the From header's address]
    #[arg(
        short = 'f',
        long = "from",
        value_name = "ADDR",
        visible_short_alias = 'r'
    )]
    pub from: Option<String>,

    /// The display name for the From header that --from adds
    #[arg(short = 'F', long = "full-name", value_name = "NAME")]
    pub full_name: Option<String>,

    /// Read the message from FILE instead of standard input; repeat to send several over one
    /// connection
    #[arg(long = "file", value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub files: Vec<PathBuf>,

    /// The name to give in EHLO [default: the local host name]
    #[arg(long, value_name = "NAME")]
    pub helo: Option<String>,

    /// Make the message from plain text on standard input (or --file), with this Subject
    /// (RFC 2047-encoded when not ASCII), From, To (--to), Date, Message-ID and a text/plain
    /// UTF-8 body
    #[arg(long, value_name = "TEXT", requires = "to")]
    pub subject: Option<String>,

    /// With --subject: a recipient, in To (repeat, or separate with commas)
    #[arg(long, value_name = "ADDR", requires = "subject")]
    pub to: Vec<String>,

    /// With --subject: send the text quoted-printable (mime-pack's encoding), so that lines
    /// longer than SMTP's 998 octets, lone CRs and NULs arrive as they are [default: when the
    /// text holds one, as mime-pack chooses]
    #[arg(long, requires = "subject")]
    pub quoted_printable: bool,

    /// Ask for delivery status notifications (DSN, when the server offers it): NEVER, or
    /// SUCCESS, FAILURE and DELAY separated by commas (sendmail's -N)
    #[arg(long, short = 'N', value_name = "WHEN", value_parser = parse_notify)]
    pub notify: Option<String>,

    /// What a DSN returns of the message: FULL or HDRS (sendmail's -R)
    #[arg(long, short = 'R', value_name = "WHAT", value_parser = ["FULL", "HDRS"], ignore_case = true)]
    pub ret: Option<String>,

    /// An envelope identifier for DSNs (printable ASCII)
    #[arg(long, value_name = "ID", value_parser = parse_envid)]
    pub envid: Option<String>,

    /// Append one line per message to FILE: time, server, sender, recipients, size, the
    /// final reply and the exit status
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub log: Option<PathBuf>,

    /// Log that line to syslog (facility mail) too
    #[arg(long)]
    pub syslog: bool,

    /// Send a lone CR (one not followed by LF) as it is instead of refusing the message
    #[arg(long)]
    pub allow_bare_cr: bool,

    /// Send the message with DATA even when the server offers CHUNKING (BDAT)
    #[arg(long)]
    pub no_chunking: bool,

    /// Replace each recipient without @ (cron's root) by its addresses in FILE, msmtp's
    /// aliases file: lines NAME: ADDRESS, ADDRESS..., # comments, default: for every name
    /// not listed; one level, and headers are left as they are
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub aliases: Option<PathBuf>,

    /// Complete a recipient still without @ after --aliases, and a sender without @, as
    /// NAME@DOMAIN; with no -f and no From header the sender is LOGIN@DOMAIN (msmtp's
    /// auto_from)
    #[arg(long, value_name = "DOMAIN")]
    pub maildomain: Option<String>,

    /// When some recipients are refused, send to the others (and exit 67, or 79 when they
    /// were refused only for now; stderr says who got it)
    #[arg(long)]
    pub partial: bool,

    /// sendmail's -i: a line with a single dot does not end the message (it never does here)
    #[arg(short = 'i')]
    pub ignore_dots: bool,

    /// sendmail's options: -oi (as -i), -oem, -oep, -oeq, -oew (errors are always reported on
    /// stderr with the exit status)
    #[arg(short = 'o', value_name = "OPTION", value_parser = parse_sendmail_option)]
    pub sendmail_options: Vec<String>,

    /// sendmail's body type: 7BIT or 8BITMIME (8BITMIME is declared whenever the server
    /// offers it)
    #[arg(short = 'B', value_name = "TYPE", value_parser = ["7BIT", "8BITMIME"], ignore_case = true)]
    pub body_type: Option<String>,

    /// sendmail's mode: only -bm (deliver a message) is supported
    #[arg(short = 'b', value_name = "MODE", value_parser = ["m"])]
    pub mode: Option<String>,

    /// Log in with this SASL mechanism (SCRAM-SHA-256, PLAIN, LOGIN, CRAM-MD5, XOAUTH2,
    /// OAUTHBEARER, EXTERNAL) [default: the best the server offers]
    #[arg(long, value_name = "MECH", value_parser = parse_mechanism)]
    pub auth: Option<Mechanism>,

    /// Log in with the OAuth2 access token in the environment variable VAR (OAUTHBEARER or
    /// XOAUTH2; needs --user)
    #[arg(long, value_name = "VAR", value_hint = ValueHint::Other)]
    pub oauth2_token_env: Option<String>,

    #[command(flatten)]
    pub oauth2: OAuth2Args,

    /// Print msmtp's config file FILE (~/.msmtprc) as accounts of posthaste's config file on
    /// standard output (append them: >> ~/.config/posthaste/config.toml), and exit
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub import_msmtprc: Option<PathBuf>,

    #[command(flatten)]
    pub net: NetArgs<SmtpOutputArgs>,
}

/// How chatty smtp-send is on stderr: it draws no progress bar.
#[derive(clap::Args, Debug, Clone)]
pub struct SmtpOutputArgs {
    /// Errors only: no notes, no list of the recipients accepted
    // -q and -v may be repeated, and the last one given wins (curl, msmtp): an alias
    // or an account's setting is changed by adding one.
    #[arg(short, long, overrides_with_all = ["quiet", "verbose"])]
    pub quiet: bool,
    /// Show the SMTP transcript on stderr (C:/S: lines), and each recipient accepted
    #[arg(short, long, overrides_with_all = ["verbose", "quiet"])]
    pub verbose: bool,
}

/// `--notify`: NEVER alone, or SUCCESS, FAILURE, DELAY (RFC 3461 4.1), any case.
fn parse_notify(v: &str) -> std::result::Result<String, String> {
    let words: Vec<String> = v
        .split(',')
        .map(|w| w.trim().to_ascii_uppercase())
        .collect();
    let ok = if words == ["NEVER"] {
        true
    } else {
        !words.is_empty()
            && words
                .iter()
                .all(|w| matches!(w.as_str(), "SUCCESS" | "FAILURE" | "DELAY"))
    };
    if ok {
        Ok(words.join(","))
    } else {
        Err("must be NEVER, or SUCCESS, FAILURE and DELAY separated by commas".into())
    }
}

/// `--envid`: printable ASCII, at most 100 characters (RFC 3461 4.4).
fn parse_envid(v: &str) -> std::result::Result<String, String> {
    if !v.is_empty() && v.len() <= 100 && v.bytes().all(|b| (32..=126).contains(&b)) {
        Ok(v.to_string())
    } else {
        Err("must be 1 to 100 printable ASCII characters".into())
    }
}

fn parse_mechanism(v: &str) -> std::result::Result<Mechanism, String> {
    Mechanism::parse(v).ok_or_else(|| format!("must be one of {}", Mechanism::all_names()))
}

/// sendmail's `-o` options we accept: `i`, and the error modes `e?`.
fn parse_sendmail_option(v: &str) -> std::result::Result<String, String> {
    match v {
        "i" | "em" | "ep" | "eq" | "ew" | "ee" => Ok(v.to_string()),
        _ => Err("only -oi and -oe[mpqwe] are accepted".into()),
    }
}

/// Where a message comes from.
#[derive(Debug, Clone)]
enum MessageFrom {
    Stdin,
    File(PathBuf),
}

impl MessageFrom {
    fn name(&self) -> String {
        match self {
            MessageFrom::Stdin => "standard input".into(),
            MessageFrom::File(p) => p.display().to_string(),
        }
    }
}

/// Opens a message: its header read, and a file's body scanned (a lone CR refused, its
/// size and 8-bit bytes known) before anything is sent.
fn open_message(src: &MessageFrom, allow_bare_cr: bool) -> Result<ReadyMessage> {
    let what = src.name();
    match src {
        MessageFrom::Stdin => {
            if crate::stdio::closed_at_start(0) {
                return Err(Error::new(
                    Kind::NoInput,
                    "standard input is closed: give the message on it or with --file",
                ));
            }
            let mut input: Box<dyn Read> = Box::new(std::io::stdin());
            let (header, rest) = read_header(&mut input, MAX_HEADER, &what)?;
            Ok(ReadyMessage {
                what,
                header,
                rest,
                reader: input,
                file_body_at: None,
                scanned: None,
                qp: false,
            })
        }
        MessageFrom::File(path) => {
            let mut file = File::open(path).map_err(|e| Error::no_input(&what, &e))?;
            let (header, rest) = read_header(&mut file, MAX_HEADER, &what)?;
            let body_at = header.bytes as u64;
            // One pass over the body before anything is sent: a lone CR is refused
            // before connecting, and SIZE and BODY are known.
            let mut check = BodyCheck::new(header.lines + 1, allow_bare_cr, false);
            let fail = |(r, line)| refusal_error(&what, r, line);
            check.check(&rest).map_err(fail)?;
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = read_some(&mut file, &mut buf, &what)?;
                if n == 0 {
                    break;
                }
                check.check(&buf[..n]).map_err(fail)?;
            }
            check.finish().map_err(fail)?;
            file.seek(SeekFrom::Start(body_at))
                .map_err(|e| Error::local_io(&what, &e))?;
            Ok(ReadyMessage {
                what,
                header,
                rest: Vec::new(),
                reader: Box::new(file),
                file_body_at: Some((path.clone(), body_at)),
                scanned: Some((check.canonical, check.first_eight_bit)),
                qp: false,
            })
        }
    }
}

/// An address as it goes between `<` and `>`: no white space outside quotes, no angle
/// brackets, no control characters (64 on the command line, 65 from the message).
fn check_address(addr: &str, kind: Kind, what: &str) -> Result<()> {
    let mut quoted = false;
    let mut escaped = false;
    for c in addr.chars() {
        if escaped {
            escaped = false;
            continue;
        }
        let bad = match c {
            '\\' if quoted => {
                escaped = true;
                false
            }
            '"' => {
                quoted = !quoted;
                false
            }
            c if c.is_control() => true,
            ' ' | '\t' => !quoted,
            '<' | '>' => true,
            _ => false,
        };
        if bad {
            return Err(Error::new(
                kind,
                format!(
                    "{what}: {:?} is not an address (white space, <, > and control characters are not allowed)",
                    addr
                ),
            ));
        }
    }
    if addr.is_empty() || quoted {
        return Err(Error::new(
            kind,
            format!("{what}: {addr:?} is not an address"),
        ));
    }
    Ok(())
}

/// `-f '<>'` or `-f ''`: the null reverse-path (RFC 5321 4.5.5) of bounces, vacation
/// replies and other messages that must never be answered: `MAIL FROM:<>`.
fn is_null_sender(from: &str) -> bool {
    from.is_empty() || from == "<>"
}

/// What tells two recipients apart: the local part as it is (RFC 5321 2.4: it is
/// case-sensitive, `A@y` and `a@y` may be two mailboxes) and the domain in lower case
/// (domains are not). The domain follows the last `@`: a quoted local part may hold one.
fn mailbox_key(addr: &str) -> String {
    match addr.rsplit_once('@') {
        Some((local, domain)) => format!("{local}@{}", domain.to_lowercase()),
        None => addr.to_string(),
    }
}

/// `--aliases FILE`, read (at most [`super::config::MAX_SIZE`]) and every address in it
/// checked: unreadable is 66, malformed 64 (as the config file), naming the file and line.
fn load_aliases(args: &Args) -> Result<Option<Aliases>> {
    use super::config::{MAX_SIZE, Unread, read_text};
    let Some(path) = &args.aliases else {
        return Ok(None);
    };
    let name = format!("--aliases {}", path.display());
    let file = File::open(path).map_err(|e| Error::no_input(&name, &e))?;
    let text = read_text(file).map_err(|why| match why {
        Unread::Io(e) => Error::no_input(&name, &e),
        Unread::TooLarge => usage(format!(
            "{name}: larger than {} MiB; refusing it",
            MAX_SIZE >> 20
        )),
        Unread::NotUtf8 { line } => usage(format!("{name}, line {line}: not UTF-8 text")),
    })?;
    let aliases = Aliases::parse(&text)
        .map_err(|bad| usage(format!("{name}, line {}: {}", bad.line, bad.why)))?;
    for t in aliases.targets() {
        check_address(&t.addr, Kind::Usage, &format!("{name}, line {}", t.line))?;
    }
    Ok(Some(aliases))
}

/// Whether `d` is a domain `--maildomain` may put after `@`, in RCPT TO and in the From
/// field it makes: dot-separated labels of letters (an IDN's too), digits, `-` and `_` (an
/// internal host's name, as msmtp's maildomain may be), or an
/// address literal (`[192.0.2.1]`). What else an address's domain part allows (a quoted
/// string, a comment, a `,` that makes From two mailboxes) is no mail domain. Pure.
fn is_domain(d: &str) -> bool {
    if let Some(literal) = d.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        return !literal.is_empty()
            && literal
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ':'));
    }
    !d.is_empty()
        && d.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && label
                    .chars()
                    .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_'))
        })
}

/// The login name, as msmtp finds it for auto_from: `USER`, else `LOGNAME`, else the
/// password database's name for the real user id; with where it was found, for a message.
fn login_name() -> Option<(String, &'static str)> {
    let from_env = ["USER", "LOGNAME"].iter().find_map(|v| {
        let name = std::env::var(v).ok().filter(|n| !n.is_empty())?;
        Some((name, *v))
    });
    if from_env.is_some() {
        return from_env;
    }
    // SAFETY: getpwuid's result is checked for NULL and its name copied out at once, before
    // any other call could reuse the static buffer (smtp-send reads it on one thread).
    unsafe {
        let pw = libc::getpwuid(libc::getuid());
        if pw.is_null() || (*pw).pw_name.is_null() {
            return None;
        }
        std::ffi::CStr::from_ptr((*pw).pw_name)
            .to_str()
            .ok()
            .filter(|n| !n.is_empty())
            .map(|n| (n.to_string(), "the password database"))
    }
}

/// The server and how to reach it, from the flags, checked before anything is read or sent.
fn plan(args: &Args, report: &Reporter) -> Result<Server> {
    let server = args.server.as_deref().ok_or_else(|| {
        usage("no server: give --server smtp://HOST[:PORT] (or smtps://HOST[:PORT])")
    })?;
    let target = server_target(server)?;
    let auth = login(args, &target, report)?;
    if let Some(f) = args.from.as_deref().filter(|f| !is_null_sender(f)) {
        check_address(f, Kind::Usage, "--from")?;
    }
    if let Some(n) = &args.full_name {
        crate::mime::header::no_line_breaks("--full-name", n)?;
    }
    for r in &args.recipients {
        check_address(r, Kind::Usage, "recipient")?;
    }
    if let Some(d) = &args.maildomain {
        if !is_domain(d) {
            return Err(usage(format!("--maildomain {d:?}: not a domain")));
        }
    }
    let helo = match (&args.helo, target.path.as_str()) {
        (Some(h), _) => h.clone(),
        // curl takes the URL's path as the EHLO name.
        (None, p) if !p.is_empty() => p.to_string(),
        (None, _) => crate::util::host::host_name(),
    };
    if helo.is_empty() || helo.contains(|c: char| c.is_whitespace() || c.is_control()) {
        return Err(usage(format!("--helo {helo:?}: not a host name")));
    }
    let implicit = target.scheme == Scheme::Smtps;
    Ok(Server {
        opts: SmtpOptions {
            session: args
                .net
                .session(implicit, args.net.output.verbose, report)?,
            helo,
            final_reply_timeout: final_reply_timeout(args.net.conn.timeout),
        },
        target,
        auth: auth.map(std::cell::RefCell::new),
        retry: args.net.conn.retry_policy(),
    })
}

/// `--server` (or an account's `server`) as a target. A bare `HOST[:PORT]` is
/// `smtp://HOST[:PORT]`, as msmtp's `host` is a name and not a URL.
fn server_target(server: &str) -> Result<Target> {
    Target::parse(&server_url(server), &[Scheme::Smtp, Scheme::Smtps])
}

/// `server` with `smtp://` in front when it names no scheme. Pure.
fn server_url(server: &str) -> std::borrow::Cow<'_, str> {
    if server.contains("://") {
        server.into()
    } else {
        format!("smtp://{server}").into()
    }
}

/// How long the reply to the end of a message is waited for: RFC 5321 4.5.3.2.6's 10
/// minutes, or `--timeout` when given (the user's bound on every wait).
fn final_reply_timeout(timeout: Option<Duration>) -> Duration {
    timeout.unwrap_or(FINAL_REPLY_TIMEOUT)
}

/// The login, if one is asked for: a user name from --user, the URL or --netrc-file, with its
/// password (docs/CONVENTIONS.md, "Credentials") or an OAuth2 token.
fn login(args: &Args, target: &Target, report: &Reporter) -> Result<Option<Box<dyn Login>>> {
    let user = credentials::user_name(target, &args.net.creds)?;
    let Some(user) = user else {
        if args.auth == Some(Mechanism::External) {
            // The certificate says who logs in: no user name is needed.
            credentials::external_checked(
                args.oauth2_token_env.is_some() || args.oauth2.wanted(),
                args.net.tls.cert.is_some(),
            )?;
            return Ok(Some(Box::new(credentials::external("", &args.net.creds))));
        }
        if args.oauth2_token_env.is_some() || args.auth.is_some() || args.oauth2.wanted() {
            return Err(usage(
                "--auth, --oauth2-token-env and OAuth2 need a user name: give --user NAME",
            ));
        }
        return Ok(None);
    };
    let method = args.auth.map_or(Method::Auto, Method::Sasl);
    let token_env = args.oauth2_token_env.as_deref();
    let warn = report.warner();
    let login = args.oauth2.login(
        Service::Smtp,
        target,
        (&user, method),
        token_env,
        &args.net,
        &warn,
    )?;
    Ok(Some(login))
}

/// `--authorize`: signs the `--user` in with OAuth2 at a terminal, and ends the run.
fn authorize(args: &Args, report: &Reporter) -> Result<()> {
    let server = args.server.as_deref().unwrap_or("smtp://-");
    let target = server_target(server)?;
    let user = credentials::user_name(&target, &args.net.creds)?
        .ok_or_else(|| usage("--authorize needs a user name: give --user NAME"))?;
    args.oauth2.sign_in(Service::Smtp, &user, &args.net, report)
}

/// Whether the user wants to hear about successes: at a terminal or with -v.
fn chatty(args: &Args) -> bool {
    !args.net.output.quiet && (args.net.output.verbose || std::io::stderr().is_terminal())
}

/// Reads one message, makes its envelope and header, and sends it ([`smtp_send::send`]).
fn send_one(
    o: &mut Outbox,
    src: &MessageFrom,
    report: &mut Reporter,
    rec: &mut Record,
) -> Result<()> {
    let msg = match &o.args.subject {
        Some(subject) => plain_text(src, &o.args, subject)?,
        None => open_message(src, o.args.allow_bare_cr)?,
    };
    send_opened(o, msg, report, rec)
}

/// Sends a message already opened: its envelope made from the flags and its header.
fn send_opened(
    o: &mut Outbox,
    mut msg: ReadyMessage,
    report: &mut Reporter,
    rec: &mut Record,
) -> Result<()> {
    let args = &o.args;
    let null_sender = args.from.as_deref().is_some_and(is_null_sender);
    let from = envelope_sender(args, &msg, null_sender)?;
    rec.from = if null_sender {
        "<>".into()
    } else {
        from.clone()
    };
    let rcpts = recipients(args, &msg, o.aliases.as_ref())?;
    rec.rcpts = rcpts.clone();
    let from_field = Some(from.as_str()).filter(|_| !null_sender);
    let header = msg.header.rewrite(&additions(args, from_field)?);
    let mut out = Outgoing {
        msg: &mut msg,
        header,
        from,
        rcpts,
    };
    let opts = send_options(args);
    let mut events = CliEvents::new(report, Progress::None);
    smtp_send::send(&o.plan, &opts, &mut out, &mut o.session, &mut events, rec)
}

/// The flags that say how each message is sent.
fn send_options(args: &Args) -> SendOptions {
    SendOptions {
        partial: args.partial,
        allow_bare_cr: args.allow_bare_cr,
        chunking: !args.no_chunking,
        body_type: args.body_type.clone(),
        notify: args.notify.clone(),
        ret: args.ret.clone(),
        envid: args.envid.clone(),
        chatty: chatty(args),
    }
}

/// The envelope sender: -f (empty for the null sender, whose message must have a From
/// header of its own), else the message's From header, else with --maildomain the login
/// name at that domain (msmtp's auto_from). A bare name is completed with --maildomain.
fn envelope_sender(args: &Args, msg: &ReadyMessage, null_sender: bool) -> Result<String> {
    let what = &msg.what;
    let from = match &args.from {
        Some(_) if null_sender => {
            if !msg.header.has("From") {
                return Err(Error::new(
                    Kind::Data,
                    format!(
                        "{what}: the message has no From header, and -f '<>' (the null sender) cannot make one: add a From header to the message"
                    ),
                ));
            }
            String::new()
        }
        Some(f) => f.clone(),
        None => match (msg.header.sender()?, &args.maildomain) {
            (Some(f), _) => f,
            (None, Some(_)) => {
                let (name, source) = login_name().ok_or_else(|| {
                    usage(format!(
                        "{what}: no envelope sender, and no login name for --maildomain to complete (USER, LOGNAME and the password database give none): give -f ADDR (--from)"
                    ))
                })?;
                // Not the message's fault (65): the environment's, as a missing one is 64.
                let said =
                    format!("{what}: the login name ({source}, for --maildomain to complete)");
                check_address(&name, Kind::Usage, &said)
                    .map_err(|e| usage(format!("{}: give -f ADDR (--from)", e.message())))?;
                name
            }
            (None, None) => {
                return Err(usage(format!(
                    "{what}: no envelope sender: give -f ADDR (--from), a From header in the message, or --maildomain DOMAIN (the login name at DOMAIN)"
                )));
            }
        },
    };
    if null_sender {
        return Ok(from);
    }
    check_address(&from, Kind::Data, &format!("{what}: the From header"))?;
    Ok(qualify(&from, args.maildomain.as_deref()))
}

/// The recipients: the arguments, then To, Cc and Bcc with -t (or --subject's --to), each
/// name without `@` replaced by its --aliases and completed with --maildomain, each
/// mailbox once.
fn recipients(args: &Args, msg: &ReadyMessage, aliases: Option<&Aliases>) -> Result<Vec<String>> {
    let what = &msg.what;
    let mut rcpts: Vec<String> = args.recipients.clone();
    // --subject's --to addresses are in the To field it made.
    if args.read_recipients || args.subject.is_some() {
        for r in msg.header.recipients().map_err(|e| e.context(what))? {
            check_address(&r, Kind::Data, &format!("{what}: -t"))?;
            rcpts.push(r);
        }
    }
    if let Some(aliases) = aliases {
        rcpts = rcpts.iter().flat_map(|r| aliases.expand(r)).collect();
    }
    let domain = args.maildomain.as_deref();
    let mut rcpts: Vec<String> = rcpts.iter().map(|r| qualify(r, domain)).collect();
    let mut seen = std::collections::HashSet::new();
    rcpts.retain(|r| seen.insert(mailbox_key(r)));
    if rcpts.is_empty() {
        return Err(usage(if args.read_recipients {
            format!("{what}: no recipients: none on the command line, none in To, Cc or Bcc")
        } else {
            format!("{what}: no recipients: give them as arguments, or -t to read To, Cc and Bcc")
        }));
    }
    Ok(rcpts)
}

/// The fields added to the header when it lacks them: Date, Message-ID, and From from the
/// envelope sender (-f, or the login name at --maildomain) and -F.
fn additions(args: &Args, from: Option<&str>) -> Result<Additions> {
    let (unix, offset) = date::now();
    Ok(Additions {
        from: from.map(|f| {
            // Folded as mime-pack folds it: a long -F name stays within 998-octet lines.
            let tokens = mailbox_tokens(
                "From",
                &[Mailbox {
                    name: args.full_name.clone().filter(|n| !n.is_empty()),
                    addr: f.to_string(),
                }],
            );
            let folded = crate::mime::header::fold("From", &tokens).join("\r\n");
            folded
                .strip_prefix("From:")
                .unwrap_or(&folded)
                .trim_start()
                .to_string()
        }),
        date: date::format(unix, offset),
        message_id: date::message_id(unix, &crate::util::host::host_name())?,
    })
}

/// `--subject`: the input is the text of the message; the header is made here. Its lines
/// are numbered from the first line of the input.
fn plain_text(src: &MessageFrom, args: &Args, subject: &str) -> Result<ReadyMessage> {
    use crate::mime::header::{fold, no_line_breaks, parse_mailboxes, unstructured};
    use crate::smtp::message::Field;
    no_line_breaks("--subject", subject)?;
    let from = args.from.as_deref().ok_or_else(|| {
        usage("--subject makes the From header: give --from ADDR (or from in the config file)")
    })?;
    if is_null_sender(from) {
        return Err(usage(
            "--subject makes the From header from --from, and the null sender (<>) is no address for it: give --from ADDR",
        ));
    }
    let mut to = Vec::new();
    for t in &args.to {
        to.extend(parse_mailboxes("--to", t, true)?);
    }
    let what = src.name();
    let mut input = match src {
        MessageFrom::Stdin if crate::stdio::closed_at_start(0) => {
            return Err(Error::new(
                Kind::NoInput,
                "standard input is closed: give the text on it or with --file",
            ));
        }
        MessageFrom::Stdin => Input::pipe(&what, Box::new(std::io::stdin())),
        MessageFrom::File(path) => Input::open(path)?,
    };
    // mime-pack's choice: a text 8bit cannot carry (a line over 998 octets, a NUL, a lone
    // CR; RFC 2045 2.8) goes quoted-printable and arrives as it was written. A pipe is read
    // whole first, held in memory or spooled as mime-pack does.
    let qp = args.quoted_printable || {
        input.make_rereadable()?;
        !input.scan(&[])?.0.fits_unencoded()
    };
    let mut fields = Vec::new();
    let mut add = |name: &str, lines: Vec<String>| {
        // fold() starts each later line with its folding white space.
        let mut raw = lines.join("\r\n");
        raw.push_str("\r\n");
        fields.push(Field {
            name: name.to_string(),
            raw: raw.into_bytes(),
        });
    };
    let from_box = Mailbox {
        name: args.full_name.clone().filter(|n| !n.is_empty()),
        // The address the envelope has: --maildomain completes a bare --from.
        addr: qualify(from, args.maildomain.as_deref()),
    };
    add("From", fold("From", &mailbox_tokens("From", &[from_box])));
    add("To", fold("To", &mailbox_tokens("To", &to)));
    add(
        "Subject",
        fold("Subject", &unstructured("Subject", subject)),
    );
    add("MIME-Version", vec!["MIME-Version: 1.0".into()]);
    add(
        "Content-Type",
        vec!["Content-Type: text/plain; charset=utf-8".into()],
    );
    add(
        "Content-Transfer-Encoding",
        vec![if qp {
            "Content-Transfer-Encoding: quoted-printable".into()
        } else {
            "Content-Transfer-Encoding: 8bit".into()
        }],
    );
    let header = Header {
        fields,
        lines: 0,
        bytes: 0,
        eight_bit: false,
    };
    let file_body_at = match src {
        MessageFrom::File(path) => Some((path.clone(), 0)),
        MessageFrom::Stdin => None,
    };
    Ok(ReadyMessage {
        what,
        header,
        rest: Vec::new(),
        reader: input.into_reader()?,
        file_body_at,
        scanned: None,
        qp,
    })
}

/// `--log FILE` and `--syslog`: one line per message, as msmtp writes them.
struct Log {
    file: Option<(PathBuf, File)>,
    syslog: bool,
}

impl Log {
    fn open(args: &Args) -> Result<Log> {
        let file = match &args.log {
            Some(p) => {
                use std::os::unix::fs::OpenOptionsExt;
                let f = std::fs::OpenOptions::new()
                    .append(true)
                    .create(true)
                    .mode(0o600)
                    .open(p)
                    .map_err(|e| Error::cant_create(format!("--log {}", p.display()), &e))?;
                Some((p.clone(), f))
            }
            None => None,
        };
        if args.syslog {
            // SAFETY: the identity is a static NUL-terminated string, kept for the process.
            unsafe { libc::openlog(c"smtp-send".as_ptr(), libc::LOG_PID, libc::LOG_MAIL) };
        }
        Ok(Log {
            file,
            syslog: args.syslog,
        })
    }

    fn message(&mut self, plan: &Server, rec: &Record, code: u8) -> Result<()> {
        if self.file.is_none() && !self.syslog {
            return Ok(());
        }
        let user = plan.auth.as_ref().map(|a| a.borrow().user().to_string());
        let line = log_line(&plan.target.authority(), user.as_deref(), rec, code);
        if self.syslog {
            let level = if code == 0 {
                libc::LOG_INFO
            } else {
                libc::LOG_ERR
            };
            let c = std::ffi::CString::new(line.replace('\0', " ")).unwrap_or_default();
            // SAFETY: a "%s" format with one NUL-terminated string argument.
            unsafe { libc::syslog(level, c"%s".as_ptr(), c.as_ptr()) };
        }
        if let Some((path, f)) = &mut self.file {
            use std::io::Write;
            let (unix, offset) = date::now();
            f.write_all(format!("{} {line}\n", date::format(unix, offset)).as_bytes())
                .map_err(|e| Error::local_io(format!("--log {}", path.display()), &e))?;
        }
        Ok(())
    }
}

/// One log line (without the time): msmtp's fields, values made visible. Pure.
fn log_line(authority: &str, user: Option<&str>, rec: &Record, code: u8) -> String {
    let status = rec
        .reply
        .as_deref()
        .and_then(|r| r.split(' ').next())
        .filter(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or("-");
    let line = format!(
        "host={} tls={} auth={} user={} from={} recipients={} mailsize={} smtpstatus={} smtpmsg='{}' exitcode={}",
        authority,
        if rec.tls { "on" } else { "off" },
        if user.is_some() { "on" } else { "off" },
        user.unwrap_or("-"),
        if rec.from.is_empty() { "-" } else { &rec.from },
        if rec.rcpts.is_empty() {
            "-".to_string()
        } else {
            rec.rcpts.join(",")
        },
        rec.size,
        status,
        rec.reply.as_deref().unwrap_or("").replace('\'', "\""),
        exit_name(code),
    );
    crate::error::visible(&line)
}

fn exit_name(code: u8) -> String {
    crate::error::EXIT_STATUS
        .iter()
        .find(|s| s.code == code)
        .map_or(code.to_string(), |s| format!("EX_{}", s.name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_final_reply_is_waited_for_ten_minutes_unless_timeout_says() {
        assert_eq!(final_reply_timeout(None), Duration::from_secs(600));
        let t = Some(Duration::from_millis(300));
        assert_eq!(final_reply_timeout(t), Duration::from_millis(300));
        let t = Some(Duration::from_secs(3600));
        assert_eq!(final_reply_timeout(t), Duration::from_secs(3600));
    }

    #[test]
    fn a_server_without_a_scheme_is_smtp() {
        for (given, host, port) in [
            ("localhost", "localhost", 25),
            ("127.0.0.1:2525", "127.0.0.1", 2525),
            ("[::1]:25", "::1", 25),
            ("[::1]", "::1", 25),
            ("mx.example:587", "mx.example", 587),
        ] {
            let t = server_target(given).unwrap();
            assert_eq!(
                (t.scheme, t.host.as_str(), t.port),
                (Scheme::Smtp, host, port)
            );
        }
        let t = server_target("smtps://mx.example").unwrap();
        assert_eq!((t.scheme, t.port), (Scheme::Smtps, 465));
        // A scheme that is there stays, and one that is wrong is still refused.
        assert!(server_target("pop3://mx.example").is_err());
        assert_eq!(server_url("smtp://h:26"), "smtp://h:26");
    }

    #[test]
    fn only_the_domain_of_a_recipient_is_folded() {
        assert_eq!(mailbox_key("Ada@Example.ORG"), "Ada@example.org");
        assert_ne!(mailbox_key("A@y.org"), mailbox_key("a@y.org"));
        assert_eq!(mailbox_key("\"a@B\"@Y.org"), "\"a@B\"@y.org");
        assert_eq!(mailbox_key("postmaster"), "postmaster");
    }

    #[test]
    fn log_lines_read_like_msmtps() {
        let mut rec = Record {
            from: "a@x".into(),
            rcpts: vec!["b@y".into(), "c@z".into()],
            size: 1234,
            tls: true,
            reply: Some("250 2.0.0 Ok: queued as 'A1'\x1b[2J".into()),
            refused: None,
            refusals: Vec::new(),
        };
        assert_eq!(
            log_line("mx.example:587", Some("ci"), &rec, 0),
            "host=mx.example:587 tls=on auth=on user=ci from=a@x recipients=b@y,c@z mailsize=1234 smtpstatus=250 smtpmsg='250 2.0.0 Ok: queued as \"A1\"\\x1b[2J' exitcode=EX_OK"
        );
        rec.reply = Some("mx.example:587: timed out".into());
        rec.tls = false;
        assert!(log_line("mx.example:587", None, &rec, 75).ends_with(
            "tls=off auth=off user=- from=a@x recipients=b@y,c@z mailsize=1234 smtpstatus=- smtpmsg='mx.example:587: timed out' exitcode=EX_TEMPFAIL"
        ), "{}", log_line("mx.example:587", None, &rec, 75));
    }
}
