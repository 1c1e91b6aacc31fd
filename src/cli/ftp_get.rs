//! ftp-get's command line: the one clap definition behind `--help`, the man page and the
//! completions, and the glue from it to [`crate::ftp::get`].

use super::common::{ConnArgs, CredArgs, OutputArgs, TlsArgs};
use super::credentials;
use super::progress::CliEvents;
use super::run::Reporter;
use crate::conn::Transcript;
use crate::error::{Error, Kind, Result};
use crate::ftp::client::FtpOptions;
use crate::ftp::get::{Destination, GetOptions, get_all};
use crate::login::Login;
use crate::net::tls::{TlsContext, TlsMode};
use crate::net::url::{Scheme, Target};
use crate::transfer::StreamOut;
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

const EXAMPLES: &str = "\
Examples:
  ftp-get ftp://ftp.example.com/pub/file.tar.gz
  ftp-get -O incoming/ 'ftp://user@files.example.com/outbox/*.csv' --password-env FTP_PASS
  ftp-get -c --retries 5 ftps://user@host/big.iso --password-file ~/.ftp-pass
  ftp-get -o - ftp://host/data.json | jq .
  ftp-get --delete-remote -O /srv/pickup 'ftp://user@host/out/*.xml' --netrc-file ~/.netrc
  ftp-get --cacert ca.pem ftp://user@localhost/file     (explicit FTPS, private CA)";

const EXIT_CODES: &str = "\
Exit status (sysexits.h):
  0   everything asked for was done
  64  bad flags or arguments
  66  the remote file does not exist (or a glob matched nothing)
  68  the host name does not resolve
  69  the server refused permanently, or TLS was required but not offered
  70  internal error (a bug)
  73  a local file or folder cannot be created, or two URLs would write one file
  74  local I/O error, the connection broke mid-transfer, or standard output is
      closed (>&-); with --delete-remote, also a reader that went away early
  75  try again later: 4xx reply, timeout, connection refused
  76  malformed or unexpected reply (more data than SIZE said, a transfer reply with
      no transfer), TLS handshake or certificate failure
  77  login failed, permission denied, or no password available
With several files, each failure is reported and the exit status is the first one's.";

/// ftp-get's man page sections after OPTIONS.
pub fn man_sections() -> Vec<(&'static str, String)> {
    vec![
        (
            "EXAMPLES",
            EXAMPLES.trim_start_matches("Examples:\n").to_string(),
        ),
        (
            "FILES AND RESUMING",
            "\
Each file is written to NAME.part beside its destination. When the transfer ends, the
number of bytes received is checked against the size the server reported (SIZE) and
the server's closing reply; only then is NAME.part renamed to NAME, replacing an
older NAME. (A name too long to take the .part suffix gets a shorter temporary name
ending in .part.) An interrupted run leaves NAME.part: run again with -c to resume it
with REST. With -c and no NAME.part, a shorter existing NAME is appended to in place,
as curl -C - does, so that a failed run never takes a file away from its name. If the
server refuses REST, ftp-get says so and downloads the whole file. ASCII transfers
(--ascii, ;type=a) are never resumed: REST counts the server's bytes, not the local
ones.

--retries N reconnects after transient failures (exit 75, or a connection broken
mid-transfer), waiting 1, 2, 4... s (at most 60 s) between tries. A retry resumes
only where the result can be checked: in binary mode, from a server that reports the
size. Otherwise it starts the file again from its first byte. A server that sends
more than its SIZE reply announced (as one that ignores REST does) is a protocol
error (76), never a longer file; what it sent is not kept. With -o - nothing is
written to disk; a retry resumes after the bytes already written only where SIZE can
check the result, and fails otherwise.

The modification time is set from MDTM unless --no-mtime (a date that does not exist,
such as 31 February, is ignored). With --delete-remote, the file is synced to disk
(fsync, and the folder too) before DELE is sent; NOOPs keep the control connection
alive while a large file is synced. With -o - and --delete-remote, the remote file is
deleted only once the reader of standard output has read everything (a pipe drained;
a regular file synced): a reader that goes away early (| head) is exit 74, and
nothing is deleted.

Two remote files never land on one local name in a run: the second is refused
(exit 73) before it is downloaded or deleted. The same URL given twice is fetched once.

Remote names that could escape the destination folder (empty, '.', '..', containing
'/' or '\\', or control characters) are refused (exit 76). A wildcard keeps at most
100000 matching names (exit 76 beyond that: narrow the pattern); the listing itself
streams, whatever its size."
                .to_string(),
        ),
        (
            "LINKS AND SPECIAL FILES",
            "\
Files are opened so that a planted link cannot redirect them: NAME.part is created
afresh (O_EXCL, O_NOFOLLOW) after removing whatever had its name, and is resumed only
if it is a regular file with no other hard link (exit 73 otherwise).
A name chosen by the server (-O DIR) never follows a symbolic link: a link at NAME is
replaced by the download. A file the user names with -o follows a link to what it
points to, as curl and cp do: the target is replaced atomically, the link stays.
A -o destination that exists and is not a regular file (a device such as /dev/null,
a FIFO) is written in place, never replaced; no .part is used. A folder is refused
(exit 73) before anything is downloaded."
                .to_string(),
        ),
        (
            "TLS",
            "\
ftps:// uses TLS from the first byte (implicit FTPS, port 990). ftp:// sends AUTH TLS:
  --tls auto      (default) use TLS when the server offers it; without it, go on
                  only for an anonymous login: a password is never sent in cleartext
                  unless --tls none is given (exit 69 otherwise)
  --tls required  fail (exit 69) when the server does not offer TLS
  --tls none      never use TLS
Under TLS the data connections are protected too (PBSZ 0, PROT P) and resume the
control connection's TLS session, as vsftpd requires by default (require_ssl_reuse).
Certificates and host names are always verified against the system's trust store and
--cacert FILE. A self-signed server certificate (even with basicConstraints CA:TRUE,
as openssl req -x509 makes them) is accepted when it is itself in --cacert.
--pin sha256:HEX trusts exactly one certificate. --insecure turns verification off
and says so on stderr."
                .to_string(),
        ),
        (
            "CREDENTIALS",
            "\
The user name comes from --user, the URL, or the netrc entry for the host; with none,
the login is anonymous (password anonymous@). The password, first found wins:
  1. the URL (ftp://user:pass@host/...; works, but warns: it shows in ps)
  2. --password-file FILE (first line; refused if group or others can read it)
  3. --password-env VAR
  4. netrc: --netrc-file FILE, else $NETRC, else ~/.netrc (curl's format and rules)
  5. a prompt, when a terminal is attached
  6. otherwise: exit 77
One line ending (LF, CRLF or CR) at the end of a password file's first line or of the
variable's value is not part of the password. A password that still contains CR, LF
or NUL is refused (exit 64): no protocol can send it. A netrc file that group or
others can read is used, with a warning (chmod 600 it).
Passwords never appear in -v transcripts or error messages (PASS ****), nor does a
password in a URL that is refused as malformed."
                .to_string(),
        ),
        (
            "EXIT STATUS",
            EXIT_CODES
                .trim_start_matches("Exit status (sysexits.h):\n")
                .to_string(),
        ),
        (
            "ENVIRONMENT",
            "\
NETRC   the netrc file to read instead of ~/.netrc
HOME    where ~/.netrc is looked for"
                .to_string(),
        ),
        (
            "SEE ALSO",
            "curl(1), ncftpget(1), lftp(1), netrc(5)".to_string(),
        ),
    ]
}

/// Download files over FTP or FTPS, safely: each file is written to NAME.part, its size
/// checked, and renamed into place only when complete.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "ftp-get",
    version,
    about = "Download files over FTP or FTPS, never leaving a half-written file",
    long_about = "Download files over FTP or FTPS. Each file is written to NAME.part beside its \
destination, checked against the size the server reports, and renamed into place only when \
complete; -c resumes an interrupted download. URLs on one server share one logged-in \
connection. A wildcard in the last part of a URL (ftp://host/dir/*.csv) is matched against \
the server's listing.\n\n\
URL paths are relative to the login folder (ftp://host/dir/file); ftp://host//abs/file is \
absolute. ftps:// is implicit TLS (port 990); ftp:// upgrades with AUTH TLS whenever the \
server offers it (--tls), and never sends a password in cleartext unless --tls none is given.\n\n\
The password comes from the URL, --password-file, --password-env, netrc, or a prompt at a \
terminal, in that order. Without a user name the login is anonymous.",
    after_help = EXAMPLES,
    after_long_help = format!("{EXAMPLES}\n\n{EXIT_CODES}"),
)]
pub struct Args {
    /// ftp:// or ftps:// URLs of the files to download
    #[arg(required = true, value_name = "URL")]
    pub urls: Vec<String>,

    /// Write to FILE (one URL only); '-' writes to standard output
    #[arg(
        short = 'o',
        long = "output",
        value_name = "FILE",
        conflicts_with = "output_dir"
    )]
    pub output: Option<PathBuf>,

    /// Write into DIR under the remote names (created when missing) [default: .]
    #[arg(short = 'O', long = "output-dir", value_name = "DIR")]
    pub output_dir: Option<PathBuf>,

    /// Write the files' contents to standard output (same as -o -)
    #[arg(long, conflicts_with_all = ["output", "output_dir"])]
    pub stdout: bool,

    /// Resume NAME.part (or a shorter existing NAME) where it ends, with REST
    #[arg(short = 'c', long = "continue")]
    pub resume: bool,

    /// Skip files that already exist locally
    #[arg(long)]
    pub no_clobber: bool,

    /// Do not set the local modification time from the server's (MDTM)
    #[arg(long)]
    pub no_mtime: bool,

    /// Delete each remote file once it is completely and durably stored locally
    #[arg(long)]
    pub delete_remote: bool,

    /// Active mode: the server connects to us (EPRT, falling back to PORT)
    #[arg(long)]
    pub active: bool,

    /// ASCII transfers (TYPE A): line endings converted; no size check
    #[arg(long)]
    pub ascii: bool,

    #[command(flatten)]
    pub creds: CredArgs,
    #[command(flatten)]
    pub tls: TlsArgs,
    #[command(flatten)]
    pub conn: ConnArgs,
    #[command(flatten)]
    pub output_args: OutputArgs,
}

/// Runs ftp-get with parsed arguments.
pub fn run(args: Args) -> ExitCode {
    let mut reporter = Reporter::new("ftp-get");
    let prepared = match prepare(&args) {
        Ok(p) => p,
        Err(e) => {
            reporter.fail(&e);
            return ExitCode::from(reporter.exit_code());
        }
    };
    let (targets, ftp, opts) = prepared;
    let mut stdout = None;
    if matches!(opts.destination, Destination::Stream) {
        match StreamOut::stdout() {
            Ok(s) => stdout = Some(s),
            Err(e) => {
                reporter.fail(&e);
                return ExitCode::from(reporter.exit_code());
            }
        }
    }
    if args.tls.insecure {
        reporter.note(
            args.output_args.quiet,
            "warning: --insecure: server certificates are not verified",
        );
    }
    let quiet = args.output_args.quiet;
    let mut events = CliEvents::new(reporter, quiet);
    let mut login_for = |t: &Target| ftp_login("ftp-get", t, &args.creds, quiet);
    get_all(
        &targets,
        &ftp,
        &opts,
        stdout.as_mut(),
        &mut login_for,
        &mut events,
    );
    ExitCode::from(events.reporter.exit_code())
}

fn prepare(args: &Args) -> Result<(Vec<Target>, FtpOptions, GetOptions)> {
    let targets = args
        .urls
        .iter()
        .map(|u| Target::parse(u, &[Scheme::Ftp, Scheme::Ftps]))
        .collect::<Result<Vec<_>>>()?;
    let to_stdout = args.stdout || args.output.as_deref() == Some(std::path::Path::new("-"));
    let destination = if to_stdout {
        Destination::Stream
    } else if let Some(f) = &args.output {
        if targets.len() > 1 {
            return Err(Error::new(
                Kind::Usage,
                "-o FILE takes one URL; use -O DIR for several",
            ));
        }
        Destination::File(f.clone())
    } else {
        Destination::Dir(
            args.output_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from(".")),
        )
    };
    let ftp = ftp_options(
        &args.tls,
        &args.conn,
        &args.output_args,
        &targets,
        args.active,
        args.ascii,
    )?;
    let opts = GetOptions {
        destination,
        resume: args.resume,
        no_clobber: args.no_clobber,
        keep_mtime: !args.no_mtime,
        delete_remote: args.delete_remote,
        retries: args.conn.retries,
        retry_delay: Duration::from_secs(1),
        keepalive: Duration::from_secs(30),
    };
    Ok((targets, ftp, opts))
}

/// The FTP connection settings shared by the FTP tools.
pub fn ftp_options(
    tls: &TlsArgs,
    conn: &ConnArgs,
    out: &OutputArgs,
    targets: &[Target],
    active: bool,
    ascii: bool,
) -> Result<FtpOptions> {
    let tls_opts = tls.options();
    let needs_tls =
        tls_opts.mode != TlsMode::None || targets.iter().any(|t| t.scheme == Scheme::Ftps);
    let tls_ctx = if needs_tls {
        Some(TlsContext::new(&tls_opts)?)
    } else {
        None
    };
    let transcript = out
        .verbose
        .then(|| Transcript::new(|l: &str| eprintln!("{l}")));
    Ok(FtpOptions {
        connect: conn.options()?,
        tls_mode: tls_opts.mode,
        tls: tls_ctx,
        active,
        ascii,
        transcript,
    })
}

/// The login for an FTP server: a named user needs a password; no user is anonymous.
pub fn ftp_login(
    tool: &str,
    target: &Target,
    creds: &super::common::CredArgs,
    quiet: bool,
) -> Result<Login> {
    let Some(user) = credentials::user_name(target, creds)? else {
        return Ok(Login::anonymous());
    };
    let anonymous = user == "anonymous" || user == "ftp";
    if anonymous && target.password.is_none() {
        return Ok(Login {
            user,
            ..Login::anonymous()
        });
    }
    let c = credentials::password_warn(target, &user, creds, &mut |w| {
        if !quiet {
            eprintln!("{tool}: {}", crate::error::visible(w));
        }
    })?;
    if c.from_url && !quiet && !anonymous {
        eprintln!(
            "{tool}: warning: a password in the URL is visible to other users in the process list; prefer --password-file or --password-env"
        );
    }
    Ok(Login {
        user: c.user,
        password: c.password,
        anonymous,
    })
}
