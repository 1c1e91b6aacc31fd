//! ftp-get's command line: the one clap definition behind `--help`, the man page and the
//! completions, and the glue from it to `crate::jobs::ftp_get`.

use super::common::{NetArgs, OutputArgs};
use super::ftp_common::run_job;
pub use super::ftp_common::{ftp_login, ftp_options};
use super::report::Reporter;
use super::tool::{self, Tool};
use crate::error::{Error, Kind, Result};
use crate::ftp::client::FtpOptions;
use crate::jobs::ftp_get::{Destination, GetOptions, get_all};
use crate::net::url::{Scheme, Target};
use crate::transfer::StreamOut;
use clap::{Parser, ValueHint};
use std::path::PathBuf;
use std::time::Duration;

/// ftp-get as a [`Tool`].
pub struct FtpGet;

impl Tool for FtpGet {
    const NAME: &'static str = "ftp-get";
    const MAN: &'static str = include_str!("../../man/text/ftp-get.txt");
    const EXIT: &'static [(u8, &'static str)] = &[
        (0, ""),
        (64, ""),
        (
            66,
            "the remote file or folder (-r) does not exist (or a wildcard matched nothing)",
        ),
        (68, ""),
        (69, ""),
        (70, ""),
        (
            73,
            "a local file or folder cannot be created, or two URLs would write one file",
        ),
        (
            74,
            "local I/O error, the connection broke mid-transfer, or standard output is\n\
             closed (>&-); with --delete-remote, also a reader that went away early",
        ),
        (75, ""),
        (
            76,
            "malformed or unexpected reply (more data than SIZE said, a transfer reply with\n\
             no transfer), a tree beyond the bounds of -r (deeper than 64 levels, more\n\
             than 4 MiB of names kept, a path over 4000 bytes), TLS handshake or\n\
             certificate failure",
        ),
        (
            77,
            "login failed, permission denied, or no password available",
        ),
    ];
    const HINTS: &'static [tool::Hints] = &[
        &[
            ("-C", "use -c (--continue) to resume"),
            ("--continue-at", "use -c (--continue) to resume"),
            (
                "-P",
                "use --output-dir DIR for a folder, or a port in the URL (ftp://host:PORT/)",
            ),
            ("--directory-prefix", "use --output-dir DIR"),
            (
                "-N",
                "use --newer to skip files whose size and time match, or --no-clobber",
            ),
            (
                "--timestamping",
                "use --newer to skip files whose size and time match, or --no-clobber",
            ),
            ("--mirror", "use -r (--recursive) with a URL ending in /"),
            (
                "--upload-file",
                "ftp-get downloads; uploading is ftp-put's job",
            ),
            ("-l", "ftp-get downloads; listing folders is ftp-ls's job"),
            (
                "--list-only",
                "ftp-get downloads; listing folders is ftp-ls's job",
            ),
            ("--passive-ftp", "passive mode is the default"),
        ],
        tool::FTP_HINTS,
    ];
    type Args = Args;
    const SCHEMES: &'static [&'static str] = &["ftp", "ftps"];
    const RELATIVE_PATHS: bool = true;

    /// Runs ftp-get with parsed arguments: everything is checked before anything is fetched.
    fn run(args: Args, report: &mut Reporter) -> Result<()> {
        super::process::tune_allocator();
        let (targets, ftp, opts) = prepare(&args, report)?;
        let mut stdout = match opts.destination {
            Destination::Stream => Some(StreamOut::stdout()?),
            _ => None,
        };
        run_job(&args.net, report, |login_for, events| {
            get_all(&targets, &ftp, &opts, stdout.as_mut(), login_for, events)
        });
        Ok(())
    }
}

/// Download files over FTP or FTPS, safely: each file is written to NAME.part, its size
/// checked, and renamed into place only when complete.
#[derive(Parser, Debug, Clone)]
#[command(
    about = "Download files over FTP or FTPS, never leaving a half-written file",
    long_about = "Download files over FTP or FTPS. Each file is written to NAME.part beside its \
destination, checked against the size the server reports, and renamed into place only when \
complete; -c resumes an interrupted download. URLs on one server share one logged-in \
connection. A wildcard in the last part of a URL (ftp://host/dir/*.csv) is matched against \
the server's listing.\n\n\
URL paths are relative to the login folder (ftp://host/dir/file); ftp://host//abs/file is \
absolute. ftps:// is implicit TLS (port 990); ftp:// upgrades with AUTH TLS whenever the \
server offers it (--tls), and never sends a password in cleartext unless --tls none is given.\n\n\
The password comes from the URL, --password-file, an account's password, --password-env, \
--password-cmd, netrc, or a prompt at a terminal, in that order. Without a user name the login is anonymous."
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
        value_hint = ValueHint::FilePath,
        conflicts_with = "output_dir"
    )]
    pub output: Option<PathBuf>,

    /// Write into the folder DIR under the remote names [default: .]
    #[arg(short = 'O', long = "output-dir", value_name = "DIR", value_hint = ValueHint::DirPath)]
    pub output_dir: Option<PathBuf>,

    /// Make the folders that --output-dir or -o name when they are missing
    #[arg(long)]
    pub create_dirs: bool,

    /// Write the files' contents to standard output (same as -o -)
    #[arg(long, conflicts_with_all = ["output", "output_dir"])]
    pub stdout: bool,

    /// Resume NAME.part (or a shorter existing NAME) where it ends, with REST
    #[arg(short = 'c', long = "continue")]
    pub resume: bool,

    /// Skip files that already exist locally
    #[arg(long)]
    pub no_clobber: bool,

    /// Mirror the tree under a URL naming a folder (with or without its /) into the output
    /// folder (remote names are checked; links are not followed)
    #[arg(short = 'r', long, conflicts_with_all = ["output", "stdout"])]
    pub recursive: bool,

    /// Skip files whose local copy has the remote size and modification time (SIZE, MDTM)
    #[arg(long)]
    pub newer: bool,

    /// Do not set the local modification time from the server's (MDTM)
    #[arg(long)]
    pub no_mtime: bool,

    /// Delete each remote file once it is completely and durably stored locally
    #[arg(long)]
    pub delete_remote: bool,

    #[command(flatten)]
    pub transfer: super::ftp_common::TransferArgs,
    #[command(flatten)]
    pub net: NetArgs<OutputArgs>,
}

/// `-O VALUE` as curl and wget users write it: curl's `-O` takes no value (the URL was
/// taken as the folder), wget's names the output file. A value that is no existing folder
/// but looks like a file (an extension, or a missing name in an existing folder) is such a
/// habit, unless `--create-dirs` asks for the folder; a missing path is left to the
/// destination's own check (73).
fn output_dir_habit(dir: &std::path::Path, create_dirs: bool) -> Result<()> {
    let shown = dir.to_string_lossy();
    if shown.contains("://") {
        return Err(Error::new(
            Kind::Usage,
            format!(
                "-O {}: -O takes a folder (curl's -O is the default here: give the URL alone)",
                crate::net::url::redact(&shown)
            ),
        ));
    }
    if create_dirs || dir.is_dir() {
        return Ok(());
    }
    let parent_exists = match dir.parent() {
        Some(p) if p.as_os_str().is_empty() => true,
        Some(p) => p.is_dir(),
        None => false,
    };
    let exists = dir.exists();
    if exists || dir.extension().is_some() || parent_exists {
        let make = if exists {
            ""
        } else {
            "; --create-dirs makes the folder"
        };
        return Err(Error::new(
            Kind::Usage,
            format!(
                "-O {}: -O takes a folder; for a file name use -o FILE (wget's -O){make}",
                crate::error::visible(&shown)
            ),
        ));
    }
    Ok(())
}

fn prepare(args: &Args, report: &Reporter) -> Result<(Vec<Target>, FtpOptions, GetOptions)> {
    let targets = args
        .urls
        .iter()
        .map(|u| Target::parse(&super::account::resolve(u), &[Scheme::Ftp, Scheme::Ftps]))
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
        if let Some(dir) = &args.output_dir {
            output_dir_habit(dir, args.create_dirs || args.recursive)?;
        }
        Destination::Dir(
            args.output_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from(".")),
        )
    };
    let ftp = args.transfer.ftp_options(&args.net, report, &targets)?;
    let opts = GetOptions {
        destination,
        resume: args.resume,
        // A tree's -O folder is made when missing (wget -r -P, lftp's mirror): -r says it
        // is a folder, never a file.
        create_dirs: args.create_dirs || args.recursive && args.output_dir.is_some(),
        no_clobber: args.no_clobber,
        keep_mtime: !args.no_mtime,
        delete_remote: args.delete_remote,
        retry: args.net.conn.retry_policy(),
        keepalive: Duration::from_secs(30),
        recursive: args.recursive,
        newer: args.newer,
        parallel: args.transfer.parallel,
        limit: args.transfer.limit(),
    };
    if args.transfer.parallel > 1 && matches!(opts.destination, Destination::Stream) {
        return Err(Error::new(
            Kind::Usage,
            "--parallel writes files: it cannot be used with -o - or --stdout",
        ));
    }
    Ok((targets, ftp, opts))
}
