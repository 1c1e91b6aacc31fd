//! ftp-put's command line: the one clap definition behind `--help`, the man page and the
//! completions, and the glue from it to `crate::jobs::ftp_put`.

use super::common::{NetArgs, OutputArgs};
use super::ftp_common::run_job;
use super::report::Reporter;
use super::tool::{self, Tool};
use crate::error::{Error, Kind, Result};
use crate::jobs::ftp_put::{Job, PutOptions, PutSource, put_all};
use crate::net::url::{Scheme, Target};
use clap::{Parser, ValueHint};
use std::path::PathBuf;

/// ftp-put as a [`Tool`].
pub struct FtpPut;

impl Tool for FtpPut {
    const NAME: &'static str = "ftp-put";
    const MAN: &'static str = include_str!("../../man/text/ftp-put.txt");
    const EXIT: &'static [(u8, &'static str)] = &[
        (0, ""),
        (64, ""),
        (
            65,
            "with -c, the remote file is larger than the local one (or standard input is\n\
             shorter than it); with -r, a local name holding CR or LF, or whose remote\n\
             path would be over 4000 bytes",
        ),
        (
            66,
            "a local file does not exist, cannot be read, or is a folder",
        ),
        (68, ""),
        (69, ""),
        (70, ""),
        (
            73,
            "the remote folder does not exist (--create-dirs makes it)",
        ),
        (
            74,
            "local I/O error, a file that changed while being read, or the connection\n\
             broke mid-transfer (the server's size does not match what was sent)",
        ),
        (75, ""),
        (76, ""),
        (
            77,
            "login failed, or the server refused to store or rename the file (550, 553:\n\
             permission denied) or to make the folder of -r, or no password available",
        ),
    ];
    const HINTS: &'static [tool::Hints] = &[
        &[
            (
                "-T",
                "ftp-put takes the files first, then the URL: ftp-put FILE... URL",
            ),
            (
                "--upload-file",
                "ftp-put takes the files first, then the URL: ftp-put FILE... URL",
            ),
            ("-C", "use -c (--continue) to resume"),
            ("--continue-at", "use -c (--continue) to resume"),
            ("--ftp-create-dirs", "use --create-dirs"),
            ("-a", "use --append"),
            (
                "-o",
                "the URL names the remote file: ftp-put FILE ftp://host/dir/NAME",
            ),
            ("--mirror", "use -r (--recursive)"),
        ],
        tool::FTP_HINTS,
    ];
    type Args = Args;
    const SCHEMES: &'static [&'static str] = &["ftp", "ftps"];

    fn run(args: Args, report: &mut Reporter) -> Result<()> {
        super::process::tune_allocator();
        let target = Target::parse(&args.url, &[Scheme::Ftp, Scheme::Ftps])?;
        let jobs = jobs(&args.files, &target)?;
        let ftp = args
            .transfer
            .ftp_options(&args.net, report, std::slice::from_ref(&target))?;
        let opts = PutOptions {
            atomic: args.atomic,
            create_dirs: args.create_dirs,
            resume: args.resume,
            append: args.append,
            remove_source: args.remove_source_files,
            chmod: args.chmod.clone(),
            zero_copy: true,
            recursive: args.recursive,
            follow: args.follow,
            keep_mtime: !args.no_mtime,
            parallel: args.transfer.parallel,
            limit: args.transfer.limit(),
            retry: args.net.conn.retry_policy(),
        };
        run_job(&args.net, report, |login_for, events| {
            put_all(&jobs, &ftp, &opts, login_for, events)
        });
        Ok(())
    }
}

/// Upload files over FTP or FTPS.
#[derive(Parser, Debug, Clone)]
#[command(
    about = "Upload files over FTP or FTPS, checked against the server's size",
    long_about = "Upload files over FTP or FTPS. Each file is streamed with STOR and, once the \
server confirmed it, its size on the server is checked against what was sent (SIZE). With \
--atomic the file goes to .NAME.TAG.part in the same folder (TAG: a hash of the local file's \
identity) and is renamed onto NAME only when \
complete, so a consumer never sees a partial file. -c resumes an interrupted upload. Files \
for one server share one logged-in connection.\n\n\
A URL ending in / is a folder: each FILE keeps its name there. Otherwise the URL names the \
remote file (one FILE only). '-' uploads standard input. URL paths are relative to the login \
folder (ftp://host/dir/file); ftp://host//abs/file is absolute. ftps:// is implicit TLS \
(port 990); ftp:// upgrades with AUTH TLS whenever the server offers it (--tls), and never \
sends a password in cleartext unless --tls none is given.\n\n\
The password comes from the URL, --password-file, an account's password, --password-env, \
--password-cmd, netrc, or a prompt at a terminal, in that order. Without a user name the login is anonymous."
)]
pub struct Args {
    /// Local files to upload ('-' for standard input)
    #[arg(required = true, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub files: Vec<PathBuf>,

    /// ftp:// or ftps:// URL of the remote folder (ending in /) or file
    #[arg(required = true, value_name = "URL", value_hint = ValueHint::Url)]
    pub url: String,

    /// Upload to .NAME.TAG.part in the same folder, then rename it onto NAME (RNFR/RNTO)
    #[arg(long, conflicts_with = "append")]
    pub atomic: bool,

    /// Make the missing folders of the remote path (MKD)
    #[arg(long)]
    pub create_dirs: bool,

    /// Resume an interrupted upload where the remote file ends (SIZE, then REST+STOR or APPE)
    #[arg(short = 'c', long = "continue", conflicts_with = "append")]
    pub resume: bool,

    /// Append to the remote file (APPE) instead of replacing it
    #[arg(long)]
    pub append: bool,

    /// Delete each local file once the server confirmed it and its size matches
    #[arg(long)]
    pub remove_source_files: bool,

    /// Set the remote file's mode (SITE CHMOD MODE, e.g. 644); a warning where unsupported
    #[arg(long, value_name = "MODE", value_parser = parse_mode)]
    pub chmod: Option<String>,

    /// Upload folders with everything in them (symbolic links are skipped)
    #[arg(short = 'r', long)]
    pub recursive: bool,

    /// With -r: follow symbolic links (a folder is still never uploaded twice)
    #[arg(long, requires = "recursive")]
    pub follow: bool,

    /// Do not give the remote files the local modification times (MFMT, MDTM)
    #[arg(long)]
    pub no_mtime: bool,

    #[command(flatten)]
    pub transfer: super::ftp_common::TransferArgs,
    #[command(flatten)]
    pub net: NetArgs<OutputArgs>,
}

/// An octal mode of 3 or 4 digits, as chmod takes it.
fn parse_mode(text: &str) -> std::result::Result<String, String> {
    if (3..=4).contains(&text.len()) && text.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        Ok(text.to_string())
    } else {
        Err(format!("'{text}' is not an octal mode such as 644"))
    }
}

/// Which remote file each FILE becomes: the URL itself, or FILE's name in the URL's folder.
fn jobs(files: &[PathBuf], target: &Target) -> Result<Vec<Job>> {
    let folder = target.path.is_empty() || target.path.ends_with('/');
    if !folder && files.len() > 1 {
        return Err(Error::new(
            Kind::Usage,
            format!(
                "{target}: names one remote file, but {} files were given (end the URL with / for a folder)",
                files.len()
            ),
        ));
    }
    if files.iter().filter(|f| f.as_os_str() == "-").count() > 1 {
        return Err(Error::new(
            Kind::Usage,
            "standard input ('-') can be uploaded once",
        ));
    }
    files
        .iter()
        .map(|f| {
            let source = if f.as_os_str() == "-" {
                PutSource::Stdin
            } else {
                PutSource::File(f.clone())
            };
            let path = if folder {
                let PutSource::File(p) = &source else {
                    return Err(Error::new(
                        Kind::Usage,
                        format!(
                            "{target}: standard input needs a remote file name: end the URL with one, not with /"
                        ),
                    ));
                };
                let name = p
                    .file_name()
                    .and_then(|n| n.to_str())
                    .filter(|n| !n.is_empty())
                    .ok_or_else(|| {
                        Error::new(
                            Kind::Usage,
                            format!("{}: has no file name to use on the server", p.display()),
                        )
                    })?;
                format!("{}{name}", target.path)
            } else {
                target.path.clone()
            };
            Ok(Job {
                source,
                target: target.with_path(path),
            })
        })
        .collect()
}
