//! pop-fetch's command line: the one clap definition behind `--help`, the man page and the
//! completions, and the glue from it to [`crate::pop3`] and [`crate::deliver`].

use super::common::{NetArgs, OutputArgs};
use super::credentials;
use super::fetch;
use super::oauth2::{OAuth2Args, Service};
use super::progress::CliEvents;
use super::report::Reporter;
use super::store::{DeliverArgs, Tracked};
use super::tool::{self, Tool};
use crate::error::{Error, Kind, Result};
use crate::jobs::login::{Login, connect_with};
use crate::jobs::pop_fetch::{FetchOptions, Summary, fetch, quit};
use crate::net::url::{Scheme, Target};
use crate::pop3::client::Pop3Client;
use crate::session::Method;
use crate::session::SessionOptions;
use crate::session::sasl::Mechanism;
use crate::uidls::StateFile;
use clap::{Parser, ValueHint};
use std::path::PathBuf;

/// pop-fetch as a [`Tool`].
pub struct PopFetch;

impl Tool for PopFetch {
    const NAME: &'static str = "pop-fetch";
    const MAN: &'static str = include_str!("../../man/text/pop-fetch.txt");
    const EXIT: &'static [(u8, &'static str)] = &[
        (0, "done, including when there was no new mail"),
        (64, ""),
        (
            65,
            "the state file is not one pop-fetch wrote, or the file --import-mpoprc\n\
             reads is malformed",
        ),
        (
            66,
            "a file it reads (--password-file, --netrc-file, --config, --import-mpoprc)\n\
             does not exist or cannot be read",
        ),
        (68, ""),
        (
            69,
            "the server refused a command, or would have needed a cleartext password",
        ),
        (70, ""),
        (
            73,
            "a message could not be stored (a folder or file cannot be created, the MDA\n\
             failed); the messages delivered before it stay recorded",
        ),
        (
            74,
            "local I/O error while storing a message, the connection broke mid-message, or\n\
             the reader of --stdout left early with --delete",
        ),
        (
            75,
            "try again later: a timeout, a refused connection, a mailbox in use, or another\n\
             run for the same account still going",
        ),
        (76, ""),
        (77, "login failed, or no password available"),
    ];
    const HINTS: &'static [tool::Hints] = &[
        &[
            ("--uidls-file", "use --state-file FILE"),
            ("--limit-rate", "pop-fetch does not limit its rate"),
        ],
        tool::FETCH_HINTS,
        tool::MAIL_HINTS,
    ];
    type Args = Args;
    const SCHEMES: &'static [&'static str] = &["pop3", "pop3s"];
    const SEVERAL_ACCOUNTS: bool = true;

    fn run(args: Args, report: &mut Reporter) -> Result<()> {
        if let Some(file) = &args.import_mpoprc {
            return super::import::run(super::import::Format::Mpop, file, report);
        }
        if !args.deliver.store.given() {
            return Err(Error::new(
                Kind::Usage,
                "give one of --maildir, --mbox, --output-dir, --mda or --stdout",
            ));
        }
        // Not required by clap: an account may give it (src/cli/account.rs), and
        // --import-* and --generate need none.
        let url = args.url.as_deref().ok_or_else(|| {
            Error::new(
                Kind::Usage,
                "no server: give its URL (pop3s://USER@HOST) or --account NAME",
            )
        })?;
        let target = Target::parse(url, &[Scheme::Pop3, Scheme::Pop3s])?;
        if args.oauth2.authorize {
            let user = credentials::mail_user(&target, &args.net.creds, "pop3s")?;
            return args.oauth2.sign_in(Service::Pop, &user, &args.net, report);
        }
        if !target.path.is_empty() && target.path != "/" {
            return Err(Error::new(
                Kind::Usage,
                format!("{target}: a POP3 URL has no path (one mailbox per account)"),
            ));
        }
        args.net.tls.warn_insecure(report);
        let warn = report.warner();
        let mut login = pop_login(&target, &args, &warn)?;
        let opts = args
            .net
            .session(url.starts_with("pop3s:"), args.net.output.verbose, report)?;
        let fetch_opts = FetchOptions {
            new_only: !args.all,
            delete: args.delete,
            max_size: args.max_size,
            limit: args.limit,
            headers_only: args.headers_only,
        };
        let mut state = fetch::open_state(
            args.state_file.as_deref(),
            "pop",
            login.user(),
            &target,
            report,
        )?;
        // Headers, or a stream whose reader may do anything with it, are a look: the next run
        // into a store still fetches those messages, and no run deletes them unstored. Until
        // QUIT, nothing is deleted on the server (RFC 1939 section 6), whatever happens.
        let store_args = fetch::Store {
            args: &args.deliver,
            output: &args.net.output,
            tool: PopFetch::NAME,
        };
        let mut store = store_args.open(
            &mut state,
            report,
            |durable| args.headers_only || !durable,
            |_| "nothing was deleted on the server".to_string(),
        )?;
        let mut events = CliEvents::new(report, args.net.output.progress);
        // The connection is dropped without QUIT, so the server deletes nothing.
        let unfinished = args.delete.then_some("nothing was deleted on the server");
        let started = std::time::Instant::now();
        let summary = fetch::with_retries(
            &args.net.conn.retry_policy(),
            &mut events,
            unfinished,
            |events| {
                session(
                    &target,
                    &mut *login,
                    &opts,
                    &mut store,
                    &mut state,
                    &fetch_opts,
                    events,
                )
                .map_err(|e| store.explain(e))
            },
        );
        drop(events);
        let Some(s) = summary else {
            return Ok(());
        };
        fetch::Done {
            prefix: String::new(),
            from: target.authority(),
            store: &store,
            fetched: s.fetched,
            bytes: s.bytes,
            took: started.elapsed(),
            deleted: s.deleted,
            left: s.left,
            progress: args.net.output.progress,
        }
        .say(report, true);
        Ok(())
    }
}

/// Fetch mail from a POP3 server into a Maildir or a folder, never losing a message.
#[derive(Parser, Debug, Clone)]
#[command(
    about = "Fetch mail over POP3 into local storage, never losing a message",
    long_about = "Fetch mail from a POP3 server into a Maildir (--maildir), an mbox (--mbox), a \
folder of NNNN.eml files (--output-dir), a delivery command (--mda) or standard output \
(--stdout). Only new messages are fetched (--new, by the UIDLs recorded \
in a state file per account); --all fetches everything. Messages are left on the server \
(--keep) unless --delete is given, and then deleted only once their local copies are \
durable (fsynced). Anything that fails before the end leaves the server's mailbox as it was.\n\n\
pop3s:// is implicit TLS (port 995); pop3:// upgrades with STLS, and never sends a password \
in cleartext unless --tls none is given. With PIPELINING the server gets a window of RETR \
commands at once.\n\n\
The password comes from the URL, --password-file, an account's password, --password-env, \
--password-cmd, netrc, or a prompt at a terminal, in that order; OAuth2 (--oauth2-provider, --oauth2-token-endpoint, --authorize) \
or --oauth2-token-env logs in with a token instead."
)]
pub struct Args {
    /// pop3:// or pop3s:// URL of the mailbox: pop3s://USER@HOST, or with :PORT
    #[arg(value_name = "URL")]
    pub url: Option<String>,

    #[command(flatten)]
    pub deliver: DeliverArgs,

    /// Leave the messages on the server (the default)
    #[arg(long, overrides_with = "delete")]
    pub keep: bool,

    /// Delete each message on the server once its local copy is durable (and those an
    /// earlier --delete run stored but could not delete)
    #[arg(long, overrides_with = "keep")]
    pub delete: bool,

    /// Fetch only messages not delivered before, by their UIDL (the default)
    #[arg(long, overrides_with = "all")]
    pub new: bool,

    /// Fetch every message, delivered before or not
    #[arg(long, overrides_with = "new")]
    pub all: bool,

    /// Fetch every account of the config file whose server is for this tool, one after the
    /// other, each with its own state and lock (one failing does not stop the others; the
    /// exit status is the first failure's)
    #[arg(long, conflicts_with = "account")]
    pub all_accounts: bool,

    /// Keep the UIDLs of delivered messages in FILE (default:
    /// $XDG_STATE_HOME/posthaste/pop/USER@HOST, whatever the port)
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub state_file: Option<PathBuf>,

    /// Skip (and report) messages larger than BYTES (a number, or with k, M or G)
    #[arg(long, value_name = "BYTES", value_parser = super::common::parse_size)]
    pub max_size: Option<u64>,

    /// Fetch at most N messages this run (the others wait for the next)
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,

    /// Fetch only the headers of each message (TOP n 0), a look: nothing is recorded;
    /// refuses --delete
    #[arg(long, conflicts_with = "delete")]
    pub headers_only: bool,

    /// How to log in: auto (the best the server offers), user (USER/PASS), apop, or a SASL
    /// mechanism: scram-sha-256, plain, login, cram-md5, xoauth2, oauthbearer, external (the
    /// --cert client certificate)
    #[arg(long, value_name = "METHOD", default_value = "auto", value_parser = auth_parser())]
    pub auth: Method,

    /// Log in with the OAuth2 access token in the environment variable VAR (SASL
    /// OAUTHBEARER or XOAUTH2)
    #[arg(long, value_name = "VAR", value_hint = ValueHint::Other)]
    pub oauth2_token_env: Option<String>,

    #[command(flatten)]
    pub oauth2: OAuth2Args,

    /// Print mpop's config file FILE (~/.mpoprc) as accounts of posthaste's config file on
    /// standard output (append them: >> ~/.config/posthaste/config.toml), and exit
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub import_mpoprc: Option<PathBuf>,

    #[command(flatten)]
    pub net: NetArgs<OutputArgs>,
}

/// `--auth`: the methods, for completions too.
fn auth_parser() -> impl clap::builder::TypedValueParser<Value = Method> {
    use clap::builder::{PossibleValuesParser, TypedValueParser};
    PossibleValuesParser::new([
        "auto",
        "user",
        "apop",
        "scram-sha-256",
        "plain",
        "login",
        "cram-md5",
        "xoauth2",
        "external",
        "oauthbearer",
    ])
    .map(|s| match s.as_str() {
        "auto" => Method::Auto,
        "user" => Method::User,
        "apop" => Method::Apop,
        m => Method::Sasl(Mechanism::parse(m).expect("a listed mechanism")),
    })
}

/// One connection: log in, fetch, QUIT. Any failure drops the connection without QUIT, so
/// the server deletes nothing. A retry is safe: what was delivered is recorded (or, without
/// UIDL, fetched again, never lost).
fn session(
    target: &Target,
    login: &mut dyn Login,
    opts: &SessionOptions,
    store: &mut Tracked,
    state: &mut StateFile,
    fetch_opts: &FetchOptions,
    events: &mut CliEvents<'_>,
) -> Result<Summary> {
    let mut client = connect_with(login, |c| Pop3Client::connect(target, c, opts))?;
    let summary = fetch(&mut client, store, Some(&mut *state), fetch_opts, events)?;
    if summary.deleted > 0 {
        store.set_server(&format!(
            "the {} message{} marked for deletion may or may not have been deleted (QUIT was under way)",
            summary.deleted,
            if summary.deleted == 1 { "" } else { "s" }
        ));
    }
    let deleted = summary.deleted;
    quit(client, Some(state), &summary, || {
        if deleted > 0 {
            // Said if the state cannot be saved now (a full disk): they are gone.
            store.set_server(&format!(
                "the {deleted} message{} marked for deletion {} deleted on the server",
                if deleted == 1 { "" } else { "s" },
                if deleted == 1 { "was" } else { "were" }
            ));
        }
    })?;
    Ok(summary)
}

/// The login of each connection: a user name is needed (POP3 has no anonymous login), and a
/// password, or an OAuth2 token (`--oauth2-*`, `--oauth2-token-env`).
fn pop_login(target: &Target, args: &Args, warn: &dyn Fn(&str)) -> Result<Box<dyn Login>> {
    let user = credentials::mail_user(target, &args.net.creds, "pop3s")?;
    let token = args.oauth2_token_env.as_deref();
    args.oauth2.login(
        Service::Pop,
        target,
        (&user, args.auth),
        token,
        &args.net,
        warn,
    )
}
