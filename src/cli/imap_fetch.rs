//! imap-fetch's command line: the one clap definition behind `--help`, the man page and the
//! completions, and the glue from it to [`crate::imap`] and [`crate::deliver`] (the same
//! delivery module and state files as pop-fetch).

use super::common::{NetArgs, OutputArgs};
use super::credentials;
use super::fetch;
use super::oauth2::{OAuth2Args, Service};
use super::progress::CliEvents;
use super::report::Reporter;
use super::store::{DeliverArgs, Tracked};
use super::tool::{self, Tool};
use crate::deliver::Deliver;
use crate::error::{Error, Kind, Result};
use crate::imap::client::ImapClient;
use crate::imap::parse;
use crate::jobs::imap_fetch::{
    FetchOptions, IdleUntil, Summary, fetch_and_idle, fetch_folder, no_uidplus,
};
use crate::jobs::login::{Login, connect_with};
use crate::net::url::{Scheme, Target};
use crate::session::SessionOptions;
use crate::session::sasl::Mechanism;
use crate::session::{Credentials, Method};
use crate::uidls::StateFile;
use crate::wire::printable;
use clap::{Parser, ValueHint};
use std::io::Write;
use std::path::PathBuf;

/// imap-fetch as a [`Tool`].
pub struct ImapFetch;

impl Tool for ImapFetch {
    const NAME: &'static str = "imap-fetch";
    const MAN: &'static str = include_str!("../../man/text/imap-fetch.txt");
    const EXIT: &'static [(u8, &'static str)] = &[
        (0, "done, including when there was no new mail"),
        (64, ""),
        (
            65,
            "the state file is not one imap-fetch wrote, or the file --import-mbsyncrc\n\
             reads is malformed",
        ),
        (66, "a folder does not exist on the server"),
        (68, ""),
        (
            69,
            "the server refused a command, would have needed a cleartext password, greeted\n\
             with PREAUTH without TLS (unless --tls none), or has no UIDPLUS for --delete",
        ),
        (70, ""),
        (
            73,
            "a message could not be stored (a folder or file cannot be created); the\n\
             messages delivered before it stay recorded",
        ),
        (
            74,
            "local I/O error while storing a message, the connection broke mid-message, or\n\
             the reader of --stdout left early with --delete or --seen",
        ),
        (
            75,
            "try again later: a timeout, a refused connection, a server that is closing, or\n\
             another run for the same account still going",
        ),
        (
            76,
            "the server's answers were malformed or unexpected: a message asked for and not\n\
             sent though the server still lists it (the next run asks again), a message\n\
             longer than its RFC822.SIZE or --max-size, a UID SEARCH answer naming a UID at\n\
             or above UIDNEXT, more than 64 KiB of literals nobody asked for in one response",
        ),
        (77, "login failed, or no password available"),
    ];
    const HINTS: &'static [tool::Hints] = &[
        &[
            ("--idfile", "use --state-file FILE"),
            ("-r", "use --folder NAME"),
            ("--folder-list", "use --list-folders"),
        ],
        tool::FETCH_HINTS,
        tool::MAIL_HINTS,
    ];
    type Args = Args;
    const SCHEMES: &'static [&'static str] = &["imap", "imaps"];
    const SEVERAL_ACCOUNTS: bool = true;
    const ONE_ACCOUNT_FLAGS: &'static [&'static str] = &["idle"];

    fn run(args: Args, report: &mut Reporter) -> Result<()> {
        if let Some(file) = &args.import_mbsyncrc {
            return super::import::run(super::import::Format::Mbsync, file, report);
        }
        // Not required by clap: an account may give it (src/cli/account.rs), and
        // --import-* and --generate need none.
        let url = args.url.as_deref().ok_or_else(|| {
            Error::new(
                Kind::Usage,
                "no server: give its URL (imaps://USER@HOST/FOLDER) or --account NAME",
            )
        })?;
        let target = Target::parse(url, &[Scheme::Imap, Scheme::Imaps])?;
        if args.oauth2.authorize {
            let user = credentials::mail_user(&target, &args.net.creds, "imaps")?;
            return args.oauth2.sign_in(Service::Imap, &user, &args.net, report);
        }
        args.net.tls.warn_insecure(report);
        let folders = folders(&args, &target)?;
        if !args.list_folders && !args.deliver.store.given() {
            return Err(Error::new(
                Kind::Usage,
                "give one of --maildir, --mbox, --output-dir, --mda or --stdout (or --list-folders)",
            ));
        }
        let warn = report.warner();
        let mut login = imap_login(&target, &args, &warn)?;
        let opts = args
            .net
            .session(url.starts_with("imaps:"), args.net.output.verbose, report)?;
        if args.list_folders {
            return list_folders(&target, &login.credentials()?, &opts);
        }
        let mut state = fetch::open_state(
            args.state_file.as_deref(),
            "imap",
            login.user(),
            &target,
            report,
        )?;
        let mut store = open_store(&args, &mut state, report)?;
        if !args.reset_state {
            if let Some(hint) = state.take_fresh_hint(None) {
                report.note(hint);
            }
        }
        if args.idle {
            super::signals::stop_on_signal();
        }
        let mut account = Account {
            target: &target,
            login: &mut *login,
            opts: &opts,
            fetch_opts: fetch_options(&args),
            idle: args.idle,
            url_path: args.folders.is_empty(),
        };
        let mut events = CliEvents::new(report, args.net.output.progress);
        let mut totals: Vec<(&String, Summary, std::time::Duration)> = Vec::new();
        for folder in &folders {
            let started = std::time::Instant::now();
            let waited = events.waited();
            let summary = fetch::with_retries(
                &args.net.conn.retry_policy(),
                &mut events,
                unfinished(&args),
                |events| {
                    account
                        .session(folder, &mut store, &mut state, events)
                        .map_err(|e| store.explain(e))
                },
            );
            let Some(s) = summary else {
                return Ok(());
            };
            // The rate counts the time spent fetching, not the time --idle waited.
            let idle = events.waited().saturating_sub(waited);
            totals.push((folder, s, started.elapsed().saturating_sub(idle)));
        }
        drop(events);
        for (folder, s, took) in &totals {
            fetch::Done {
                prefix: format!("folder {}: ", printable(folder)),
                from: format!("{} folder {}", target.authority(), printable(folder)),
                store: &store,
                fetched: s.fetched,
                bytes: s.bytes,
                took: *took,
                deleted: s.deleted,
                left: s.left,
                progress: args.net.output.progress,
            }
            .say(report, !args.reset_state);
        }
        Ok(())
    }
}

/// Fetch mail from an IMAP server into a Maildir or a folder, never losing a message.
#[derive(Parser, Debug, Clone)]
#[command(
    about = "Fetch mail over IMAP into local storage, never losing a message",
    long_about = "Fetch mail from an IMAP folder (the URL's path, INBOX by default, or --folder) \
into a Maildir (--maildir), an mbox (--mbox), a folder of NNNN.eml files (--output-dir), a \
delivery command (--mda) or standard output (--stdout). Only new messages \
are fetched (--new: UIDs above the last one delivered, recorded per folder and UIDVALIDITY in \
a state file per account); --all fetches everything. The folder is opened read-only (EXAMINE) \
unless --seen or --delete needs to change it; flags and deletions go back to the server only \
once the local copies are durable (fsynced), and --delete expunges exactly the messages \
delivered (UID EXPUNGE).\n\n\
imaps:// is implicit TLS (port 993); imap:// upgrades with STARTTLS, and never sends a \
password in cleartext unless --tls none is given. Messages are fetched in pipelined batches \
of UID FETCH commands and streamed to disk, whatever their size.\n\n\
The password comes from the URL, --password-file, an account's password, --password-env, \
--password-cmd, netrc, or a prompt at a terminal, in that order; OAuth2 (--oauth2-provider, --oauth2-token-endpoint, --authorize) or \
--oauth2-token-env logs in with a token instead."
)]
pub struct Args {
    /// imap:// or imaps:// URL of the account, with a folder as its path
    /// (imaps://user@host:port/FOLDER; the port and the folder may be left out)
    #[arg(value_name = "URL")]
    pub url: Option<String>,

    #[command(flatten)]
    pub deliver: DeliverArgs,

    /// Fetch from the folder NAME as the server names it, its own hierarchy delimiter
    /// included (repeatable; instead of the URL's path, whose `/` are levels; UTF-8 names
    /// are sent in modified UTF-7)
    #[arg(long = "folder", value_name = "NAME", value_hint = ValueHint::Other)]
    pub folders: Vec<String>,

    /// Print the server's folders, one a line, and exit
    #[arg(long, conflicts_with_all = ["store", "delete", "seen", "reset_state"])]
    pub list_folders: bool,

    /// Fetch only messages above the last UID delivered (the default)
    #[arg(long, overrides_with = "all")]
    pub new: bool,

    /// Fetch every message (matching --since and --unseen), delivered before or not
    #[arg(long, overrides_with = "new")]
    pub all: bool,

    /// Fetch every account of the config file whose server is for this tool, one after the
    /// other, each with its own state and lock (one failing does not stop the others; the
    /// exit status is the first failure's)
    #[arg(long, conflicts_with = "account")]
    pub all_accounts: bool,

    /// Fetch only messages that arrived on or after DATE (YYYY-MM-DD; SEARCH SINCE)
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub since: Option<String>,

    /// Fetch only messages without the \Seen flag (SEARCH UNSEEN)
    #[arg(long)]
    pub unseen: bool,

    /// Set \Seen on each message once its local copy is durable (opens the folder
    /// read-write)
    #[arg(long)]
    pub seen: bool,

    /// Leave the messages on the server (the default)
    #[arg(long, overrides_with = "delete")]
    pub keep: bool,

    /// Delete each message on the server once its local copy is durable (\Deleted, then
    /// UID EXPUNGE of exactly those messages; needs UIDPLUS)
    #[arg(long, overrides_with = "keep")]
    pub delete: bool,

    /// Fetch at most N messages per folder this run (the others wait for the next)
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,

    /// Skip (and report) messages larger than BYTES (a number, or with k, M or G)
    #[arg(long, value_name = "BYTES", value_parser = super::common::parse_size)]
    pub max_size: Option<u64>,

    /// Keep what was delivered in FILE
    /// (default: $XDG_STATE_HOME/posthaste/imap/USER@HOST, whatever the port)
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub state_file: Option<PathBuf>,

    /// Fetch nothing: record each folder as delivered up to its newest message, so that
    /// --new fetches only what arrives from now on
    #[arg(long, conflicts_with_all = ["all", "delete", "seen"])]
    pub reset_state: bool,

    /// After fetching, wait for new mail with IDLE and fetch it as it arrives, until SIGINT
    /// or SIGTERM (then a clean LOGOUT); one folder only
    #[arg(long, conflicts_with_all = ["all", "reset_state", "list_folders"])]
    pub idle: bool,

    /// Use this SASL mechanism (SCRAM-SHA-256, PLAIN, LOGIN, CRAM-MD5, XOAUTH2, OAUTHBEARER,
    /// EXTERNAL) instead of the best one offered
    #[arg(long, value_name = "MECH", value_parser = parse_mechanism)]
    pub auth: Option<Mechanism>,

    /// Log in with the OAuth2 access token in the environment variable VAR (SASL
    /// OAUTHBEARER or XOAUTH2)
    #[arg(long, value_name = "VAR", value_hint = ValueHint::Other, conflicts_with_all = ["password_file", "password_env", "password_cmd"])]
    pub oauth2_token_env: Option<String>,

    #[command(flatten)]
    pub oauth2: OAuth2Args,

    /// Print mbsync's config file FILE (~/.mbsyncrc) as accounts of posthaste's config file on
    /// standard output, one per Channel (append them: >> ~/.config/posthaste/config.toml),
    /// and exit
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub import_mbsyncrc: Option<PathBuf>,

    #[command(flatten)]
    pub net: NetArgs<OutputArgs>,
}

/// `--since`: YYYY-MM-DD, as SEARCH SINCE takes it (`1-Feb-2026`).
pub fn parse_date(text: &str) -> std::result::Result<String, String> {
    parse::search_date(text.trim()).ok_or_else(|| "must be a date as YYYY-MM-DD".into())
}

/// `--auth`: a mechanism posthaste speaks.
pub fn parse_mechanism(text: &str) -> std::result::Result<Mechanism, String> {
    Mechanism::parse(text.trim())
        .ok_or_else(|| format!("must be one of {}", Mechanism::all_names()))
}

/// The folders to fetch: `--folder`s, else the URL's path, else INBOX; `--idle` watches
/// one.
fn folders(args: &Args, target: &Target) -> Result<Vec<String>> {
    let mut folders = args.folders.clone();
    if folders.is_empty() {
        let path = target.path.trim_end_matches('/');
        folders.push(if path.is_empty() {
            "INBOX".to_string()
        } else {
            path.to_string()
        });
    }
    if args.idle && folders.len() > 1 {
        return Err(Error::new(
            Kind::Usage,
            "--idle watches one folder: give one --folder (or the URL's path)",
        ));
    }
    Ok(folders)
}

/// `--list-folders`: the server's folders on standard output, one a line.
fn list_folders(target: &Target, login: &Credentials, opts: &SessionOptions) -> Result<()> {
    let mut client = ImapClient::connect(target, login, opts)?;
    let list = client.list()?;
    client.logout();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for f in list {
        let name = parse::utf7_decode(&f.raw)
            .unwrap_or_else(|| String::from_utf8_lossy(&f.raw).into_owned());
        let line = format!(
            "{}{}\n",
            printable(&name),
            if f.noselect {
                "  (no messages: \\Noselect)"
            } else {
                ""
            }
        );
        out.write_all(line.as_bytes())
            .map_err(|e| Error::stdout(&e))?;
    }
    out.flush().map_err(|e| Error::stdout(&e))
}

fn fetch_options(args: &Args) -> FetchOptions {
    FetchOptions {
        new_only: !args.all,
        seen: args.seen,
        delete: args.delete,
        since: args.since.clone(),
        unseen: args.unseen,
        limit: args.limit,
        max_size: args.max_size,
        reset_state: args.reset_state,
        sizes: super::progress::shown(args.net.output.quiet, args.net.output.progress),
    }
}

/// The store, with what a signal's line says was done on the server: flags and deletions
/// go back only for messages already stored and recorded (or, from --stdout, taken by its
/// reader).
fn open_store(args: &Args, state: &mut StateFile, report: &Reporter) -> Result<Tracked> {
    let store = fetch::Store {
        args: &args.deliver,
        output: &args.net.output,
        tool: ImapFetch::NAME,
    };
    // A stream whose reader may do anything with it is a look: the next run into a store
    // still fetches those messages. (--reset-state fetches nothing: it only records.)
    let look = |durable: bool| !durable && !args.reset_state;
    store.open(state, report, look, |look| {
        let done = if look {
            "taken by the reader"
        } else {
            "stored"
        };
        match (args.delete, args.seen) {
            (false, false) => "nothing was changed on the server".to_string(),
            // Whether any was: the line cannot know (an expunge may be under way).
            (true, _) => format!("no message was deleted on the server before it was {done}"),
            (false, true) => {
                format!("no message was marked \\Seen on the server before it was {done}")
            }
        }
    })
}

/// The reader of --stdout left early: with --delete or --seen, what was asked was not done
/// (ftp-get's and pop-fetch's rule). Only the batches the reader took in full were flagged
/// or expunged.
fn unfinished(args: &Args) -> Option<&'static str> {
    match (args.delete, args.seen) {
        (true, _) => Some("only the messages it took were deleted on the server"),
        (false, true) => Some("only the messages it took were marked \\Seen"),
        (false, false) => None,
    }
}

/// The account and what to do in each folder.
struct Account<'a> {
    target: &'a Target,
    login: &'a mut dyn Login,
    opts: &'a SessionOptions,
    fetch_opts: FetchOptions,
    idle: bool,
    /// The folder is the URL's path: its `/` are levels, written as the server's delimiter.
    url_path: bool,
}

impl Account<'_> {
    /// One connection for one folder: log in, fetch, LOGOUT. A failure drops the
    /// connection; flags and deletions were only ever sent for messages already durable,
    /// and a retry is safe: what was delivered is recorded. `--idle` goes on in a new
    /// session, logged in afresh, when the login nears its expiry (an OAuth2 token).
    fn session(
        &mut self,
        folder: &str,
        store: &mut dyn Deliver,
        state: &mut StateFile,
        events: &mut CliEvents<'_>,
    ) -> Result<Summary> {
        let fetch_opts = &self.fetch_opts;
        let mut total: Option<Summary> = None;
        loop {
            let (target, opts) = (self.target, self.opts);
            let mut client = connect_with(self.login, |c| ImapClient::connect(target, c, opts))?;
            if fetch_opts.delete && !client.capabilities().uidplus {
                client.logout();
                return Err(no_uidplus(&self.target.authority()));
            }
            let named;
            let folder = if self.url_path {
                named = client.url_folder(folder)?;
                &named
            } else {
                folder
            };
            let s = if self.idle {
                let login = &*self.login;
                let until = IdleUntil {
                    stop: &super::signals::stop_requested,
                    renew_in: &|| login.renew_in(),
                };
                fetch_and_idle(
                    &mut client,
                    folder,
                    store,
                    Some(state),
                    fetch_opts,
                    events,
                    &until,
                )?
            } else {
                fetch_folder(&mut client, folder, store, Some(state), fetch_opts, events)?
            };
            client.logout();
            let relogin = s.relogin;
            match &mut total {
                Some(t) => t.absorb(s),
                None => total = Some(s),
            }
            if !relogin || super::signals::stop_requested() {
                return Ok(total.unwrap_or_default());
            }
        }
    }
}

/// The login of each connection: a user name is needed; the secret is a password or an
/// OAuth2 token (`--oauth2-*`, `--oauth2-token-env`).
fn imap_login(target: &Target, args: &Args, warn: &dyn Fn(&str)) -> Result<Box<dyn Login>> {
    let user = credentials::mail_user(target, &args.net.creds, "imaps")?;
    let token = args.oauth2_token_env.as_deref();
    let method = args.auth.map_or(Method::Auto, Method::Sasl);
    args.oauth2.login(
        Service::Imap,
        target,
        (&user, method),
        token,
        &args.net,
        warn,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_mechanisms() {
        assert_eq!(parse_date("2026-02-01").unwrap(), "1-Feb-2026");
        assert!(parse_date("1 Feb 2026").is_err());
        assert_eq!(parse_mechanism("plain").unwrap(), Mechanism::Plain);
        assert!(parse_mechanism("GSSAPI").is_err());
    }
}
