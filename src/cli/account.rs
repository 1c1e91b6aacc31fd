//! The account a run uses: `--account NAME` (or the config file's default) picks a table
//! `[accounts.NAME]` of the config file (src/cli/config.rs), whose keys are the tools' long
//! flag names and fill in what the command line left out (docs/CONVENTIONS.md, "Config file
//! and accounts"). What cannot travel as a flag stays here, in the process: the literal
//! secrets an owner-only file may hold (`password`, and `client_secret` and `refresh_token`
//! of `[accounts.NAME.oauth2]`). `oauth2.KEY` keys otherwise become `--oauth2-KEY` flags.
//!
//! A run that fetches several accounts (pop-fetch and imap-fetch's `--all-accounts`) selects
//! each in turn before running it.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

/// The account a run uses, and the secrets its table holds literally.
#[derive(Clone, Default)]
pub struct Selected {
    /// The account's name, `NAME` of `[accounts.NAME]`: what per-account state (the OAuth2
    /// token cache) is keyed by.
    pub name: String,
    /// The config file it comes from.
    pub config: PathBuf,
    /// `password = "..."`.
    pub password: Option<String>,
    /// `[accounts.NAME.oauth2]`'s `client_secret = "..."`.
    pub oauth2_client_secret: Option<String>,
    /// `[accounts.NAME.oauth2]`'s `refresh_token = "..."`: a refresh token given once, used
    /// while the token cache holds none.
    pub oauth2_refresh_token: Option<String>,
    /// The account's server URL, when the command line gives paths where a URL goes
    /// (`ftp-get -a work reports/today.csv`): they are taken relative to it.
    pub base_url: Option<String>,
}

impl std::fmt::Debug for Selected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = |s: &Option<String>| s.as_ref().map(|_| "<hidden>");
        f.debug_struct("Selected")
            .field("name", &self.name)
            .field("config", &self.config)
            .field("password", &shown(&self.password))
            .field("oauth2_client_secret", &shown(&self.oauth2_client_secret))
            .field("oauth2_refresh_token", &shown(&self.oauth2_refresh_token))
            .field("base_url", &self.base_url)
            .finish()
    }
}

/// `url` as the tool should read it: a path (no `scheme://`) given where a URL goes is taken
/// relative to the account's server URL (`ftp-get -a work reports/today.csv`; `/abs/file`
/// is absolute on the server, as `ftp://host//abs/file` is). Its `%`, `#`, `?` and spaces
/// are the file name's own, not URL syntax.
pub fn resolve(url: &str) -> String {
    use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
    const PATH: &AsciiSet = &CONTROLS.add(b' ').add(b'%').add(b'#').add(b'?');
    match selected().and_then(|a| a.base_url.clone()) {
        Some(base) if !url.contains("://") => {
            let sep = if base.ends_with('/') { "" } else { "/" };
            format!("{base}{sep}{}", utf8_percent_encode(url, PATH))
        }
        _ => url.to_string(),
    }
}

static SELECTED: RwLock<Option<Arc<Selected>>> = RwLock::new(None);

/// The account the current run uses, if one was named or is the default.
pub fn selected() -> Option<Arc<Selected>> {
    SELECTED.read().ok().and_then(|s| s.clone())
}

/// Makes `account` the one the next run uses (`None`: no account).
pub(crate) fn select(account: Option<Selected>) {
    if let Ok(mut s) = SELECTED.write() {
        *s = account.map(Arc::new);
    }
}

// ---------------------------------------------------------------- from the file to the flags

use super::config::{Config, Spanned, Table, Value};
use crate::error::{Error, Kind, Result};
use clap::{Arg, ArgAction, ArgMatches, Command, ValueHint};
use std::collections::BTreeSet;
use std::ffi::{OsStr, OsString};

/// What the account layer needs to know of a tool besides its clap definition.
#[derive(Debug, Clone, Copy)]
pub struct ToolInfo {
    /// The binary's name, which is also the name of its own tables.
    pub name: &'static str,
    /// The URL schemes of its server (`server` of an account that has none of them is not
    /// for this tool).
    pub schemes: &'static [&'static str],
    /// Whether one run may fetch several accounts (`--all-accounts`, several `--account`).
    pub several: bool,
    /// Whether a path given instead of a URL (`ftp-get -a work reports/today.csv`) is taken
    /// relative to the account's server URL.
    pub relative_paths: bool,
    /// Whether the envelope sender picks the account when none is named (smtp-send, as
    /// msmtp's `--read-envelope-from`): `-f ADDR`, else each message's From header
    /// ([`sender_picks`], [`for_sender`]).
    pub by_sender: bool,
    /// Flags that keep a run on one account for ever (imap-fetch's `idle`): refused with
    /// several accounts.
    pub alone: &'static [&'static str],
}

/// One run of a tool: the command line with what the config file fills in, and the
/// account it uses.
#[derive(Debug)]
pub struct Run {
    pub argv: Vec<OsString>,
    pub account: Option<Selected>,
    /// The flags the config file set, for messages that name them ([`blame`]).
    pub origins: Vec<Origin>,
}

impl Run {
    /// A run of the command line as it is: nothing from a config file.
    pub fn plain(argv: Vec<OsString>) -> Run {
        Run {
            argv,
            account: None,
            origins: Vec::new(),
        }
    }
}

/// A flag the config file set. A message that names it (`--cacert /x/ca.pem: no PEM
/// certificate in the file`) names the file, line and key instead: the user typed no flag.
#[derive(Debug, Clone, PartialEq)]
pub struct Origin {
    /// `--cacert /x/ca.pem`, as messages name the flag and its value.
    flag: String,
    /// `cacert = "/x/ca.pem" (config file F, line 4, [accounts.work])`.
    said: String,
}

static ORIGINS: RwLock<Vec<Origin>> = RwLock::new(Vec::new());

/// The flags the config file set for the run that starts now.
pub(crate) fn set_origins(origins: Vec<Origin>) {
    if let Ok(mut o) = ORIGINS.write() {
        *o = origins;
    }
}

/// `text` with each flag the config file set (with the value it set: `--tls required`, never
/// a hint's `--tls none`) said as the file's key, line and table.
pub fn blame(text: &str) -> std::borrow::Cow<'_, str> {
    let Ok(origins) = ORIGINS.read() else {
        return text.into();
    };
    let mut out = std::borrow::Cow::Borrowed(text);
    for o in origins.iter() {
        out = replace_flag(&out, &o.flag, &o.said)
            .map(std::borrow::Cow::Owned)
            .unwrap_or(out);
    }
    out
}

/// `text` with every whole occurrence of `flag` (not followed by more of a name or a value:
/// `--tls` is not in `--tls-min`, `--cacert /a` not in `--cacert /ab`) replaced, if any.
fn replace_flag(text: &str, flag: &str, with: &str) -> Option<String> {
    let ends = |rest: &str| {
        !rest
            .chars()
            .next()
            .is_some_and(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '/' | '.'))
    };
    let mut out = String::new();
    let mut rest = text;
    let mut found = false;
    while let Some(i) = rest.find(flag) {
        let after = &rest[i + flag.len()..];
        out.push_str(&rest[..i]);
        if ends(after) {
            out.push_str(with);
            found = true;
        } else {
            out.push_str(flag);
        }
        rest = after;
    }
    out.push_str(rest);
    found.then_some(out)
}

/// Flags that say where the configuration is, or are no setting at all (`--authorize` is an
/// action, run at a terminal): never config keys.
const NOT_KEYS: &[&str] = &[
    "config",
    "account",
    "all_accounts",
    "help",
    "version",
    "generate",
    "authorize",
    "import_msmtprc",
    "import_mpoprc",
    "import_mbsyncrc",
];

/// The flags that print another tool's config file as accounts (src/cli/import/).
const IMPORTS: &[&str] = &["import_msmtprc", "import_mpoprc", "import_mbsyncrc"];

/// The keys that say how to log in: a table that gives one of them gives the login, and the
/// others of less specific tables (or the account, when the command line gives one) are
/// left out, so that an account's `password_cmd` is never beaten by a `password_file` of
/// `[pop-fetch]`.
const SECRET_KEYS: &[&str] = &[
    "password",
    "password_file",
    "password_env",
    "password_cmd",
    "oauth2_token_env",
    "oauth2",
];

/// The literal secrets of `[accounts.NAME.oauth2]`, kept in the process (never flags).
const OAUTH2_SECRETS: &[&str] = &["client_secret", "refresh_token"];

/// Keys other tools' files use, and what to write instead.
const KEY_HINTS: &[(&str, &str)] = &[
    ("host", "use server = \"SCHEME://HOST:PORT\""),
    ("port", "use server = \"SCHEME://HOST:PORT\""),
    ("url", "use server = \"SCHEME://HOST:PORT\""),
    ("passwordeval", "use password_cmd"),
    ("password_eval", "use password_cmd"),
    ("pass", "use password, password_file or password_cmd"),
    ("tls_trust_file", "use cacert"),
    ("tls_fingerprint", "use pin = \"sha256:HEX\""),
    (
        "tls_starttls",
        "use tls = \"required\" (smtp:// uses STARTTLS, smtps:// is TLS from the start)",
    ),
    ("logfile", "use log"),
    ("account", "accounts are tables: [accounts.NAME]"),
    ("ssl", "use tls"),
    ("starttls", "use tls"),
];

/// The runs a command line asks for, once the config file has filled in what it left out:
/// one with the command line as it is when there is no file, no account and no table for
/// the tool; one per account with `--all-accounts` or several `--account`. A command line
/// clap cannot read even with nothing required is handed on as it is, for clap to say what
/// is wrong with it.
pub fn runs(tool: &ToolInfo, command: fn() -> Command, argv: Vec<OsString>) -> Result<Vec<Run>> {
    if !names_accounts(&argv) && !default_file_exists() {
        // The common case of a tool without a config file costs a look at the command line
        // and one stat, not a second parse (it doubled the instructions a run starts with).
        return Ok(vec![Run::plain(argv)]);
    }
    let cmd = &command();
    let relaxed = relax(cmd.clone());
    // `--generate` (as `--help` and `--version`, which clap answers above) needs no config
    // file, and works beside a broken one.
    // Nor does an import (`--import-msmtprc`), which reads another tool's file.
    let m = match relaxed.try_get_matches_from(&argv) {
        Ok(m)
            if m.value_source("generate") != Some(clap::parser::ValueSource::CommandLine)
                && !IMPORTS
                    .iter()
                    .any(|id| m.try_get_raw(id).ok().flatten().is_some()) =>
        {
            m
        }
        _ => {
            return Ok(vec![Run::plain(argv)]);
        }
    };
    let raw = |id: &str| -> Vec<OsString> {
        m.try_get_raw(id)
            .ok()
            .flatten()
            .map(|v| v.map(OsStr::to_os_string).collect())
            .unwrap_or_default()
    };
    let config_flag = raw("config").pop().map(std::path::PathBuf::from);
    // Each account once, in the order first named (`-a work -a work` is one run).
    let mut named: Vec<String> = Vec::new();
    for a in raw("account") {
        let a = a.to_string_lossy().into_owned();
        if !named.contains(&a) {
            named.push(a);
        }
    }
    let all = m.try_get_one::<bool>("all_accounts").ok().flatten() == Some(&true);
    let cfg = match super::config::load(config_flag.as_deref())? {
        Some(c) => c,
        None if named.is_empty() && !all => {
            return Ok(vec![Run::plain(argv)]);
        }
        None => {
            let looked = super::config::default_path()
                .map(|p| format!(" (looked for {})", p.display()))
                .unwrap_or_default();
            return Err(usage(format!(
                "{}: there is no config file to read accounts from{looked}; give --config FILE",
                if all {
                    "--all-accounts".to_string()
                } else {
                    format!("--account {}", named[0])
                }
            )));
        }
    };
    let file = File::check(&cfg)?;
    let given = Given::read(cmd, &m, tool);
    if named.len() > 1 && !tool.several {
        return Err(usage(format!(
            "--account: {} uses one account a run (--account {} and --account {} given)",
            tool.name, named[0], named[1]
        )));
    }
    let names: Vec<Option<String>> = if all {
        let names = file.accounts_for(tool);
        if names.is_empty() {
            return Err(usage(format!(
                "--all-accounts: no account in config file {} has a {} server",
                cfg.path.display(),
                schemes(tool)
            )));
        }
        names.into_iter().map(Some).collect()
    } else if !named.is_empty() {
        for n in &named {
            if !file.accounts.contains_key(n) {
                return Err(usage(format!(
                    "--account {n}: config file {} has no [accounts.{n}]",
                    cfg.path.display()
                )));
            }
        }
        named.into_iter().map(Some).collect()
    } else if tool.by_sender && file.has_senders(tool) {
        match raw("from").pop() {
            Some(f) => vec![
                file.by_sender(tool, &f.to_string_lossy())
                    .or(file.default.clone()),
            ],
            None => {
                // The message's From header decides; until it is read, the default.
                if let Ok(mut s) = SENDER.lock() {
                    *s = Some(Pending {
                        tool: *tool,
                        cmd: cmd.clone(),
                        argv: argv.clone(),
                        given: given.clone(),
                        cfg: cfg.clone(),
                    });
                }
                vec![file.default.clone()]
            }
        }
    } else {
        vec![file.default.clone()]
    };
    let runs = names
        .into_iter()
        .map(|name| file.run(tool, cmd, &argv, &given, name.as_deref()))
        .collect::<Result<Vec<Run>>>()?;
    if runs.len() > 1 {
        one_state_each(&runs)?;
        if let Some(flag) = tool
            .alone
            .iter()
            .find(|f| runs.iter().any(|r| has_flag(&r.argv, f)))
        {
            return Err(usage(format!(
                "--{flag} waits for ever on one account: it cannot be used with several (run one {} --{flag} per account)",
                tool.name
            )));
        }
    }
    Ok(runs)
}

/// Whether `argv` holds the flag `--long` (before any `--`).
fn has_flag(argv: &[OsString], long: &str) -> bool {
    let want = format!("--{long}");
    argv.iter()
        .skip(1)
        .take_while(|a| *a != "--")
        .any(|a| *a == *want)
}

/// Refuses runs of several accounts that would share a state file (`--state-file` given
/// once for all): each account keeps its own state, under its own lock.
fn one_state_each(runs: &[Run]) -> Result<()> {
    let mut seen: Vec<(&OsStr, &str)> = Vec::new();
    for run in runs {
        let name = run.account.as_ref().map_or("", |a| a.name.as_str());
        for file in state_files(&run.argv) {
            if let Some((_, other)) = seen.iter().find(|(f, _)| *f == file) {
                return Err(usage(format!(
                    "--state-file: accounts {other} and {name} would share one state file; give each its own (state_file in [accounts.NAME])"
                )));
            }
            seen.push((file, name));
        }
    }
    Ok(())
}

/// The values of `--state-file` in a command line (`--state-file=F` or `--state-file F`).
fn state_files(argv: &[OsString]) -> Vec<&OsStr> {
    use std::os::unix::ffi::OsStrExt;
    let mut out = Vec::new();
    let mut it = argv.iter().skip(1);
    while let Some(a) = it.next() {
        let b = a.as_bytes();
        if b == b"--" {
            break;
        } else if b == b"--state-file" {
            out.extend(it.next().map(OsString::as_os_str));
        } else if let Some(v) = b.strip_prefix(b"--state-file=") {
            out.push(OsStr::from_bytes(v));
        }
    }
    out
}

/// Whether the command line may name a config file or an account (`--config`,
/// `--account`, `--all-accounts`, or a short flag cluster with an `a`, as `-a` or `-qa`):
/// erring on the side of yes, which only costs the full reading.
fn names_accounts(argv: &[OsString]) -> bool {
    argv.iter()
        .skip(1)
        .take_while(|a| *a != "--")
        .filter_map(|a| a.to_str())
        .any(|a| match a.strip_prefix("--") {
            Some(long) => ["config", "account", "all-accounts"]
                .iter()
                .any(|f| long == *f || long.starts_with(&format!("{f}="))),
            None => a.starts_with('-') && a.contains('a'),
        })
}

/// Whether the default config file is there (anything at its path: a folder there is for
/// the full reading to refuse).
fn default_file_exists() -> bool {
    super::config::default_path().is_some_and(|p| std::fs::symlink_metadata(p).is_ok())
}

/// What [`for_sender`] needs to pick an account once a message's sender is known.
struct Pending {
    tool: ToolInfo,
    cmd: Command,
    argv: Vec<OsString>,
    given: Given,
    cfg: Config,
}

static SENDER: std::sync::Mutex<Option<Pending>> = std::sync::Mutex::new(None);

/// Whether each message's sender picks the account (smtp-send with no `--account` and no
/// `-f`, and accounts with `from` in the config file).
pub fn sender_picks() -> bool {
    SENDER.lock().is_ok_and(|s| s.is_some())
}

/// The run for a message whose envelope sender is `sender`: the command line with what the
/// first account (in the file's order) whose `from` matches fills in, else the default
/// account's. `None` when [`sender_picks`] is not so.
pub fn for_sender(sender: &str) -> Result<Option<Run>> {
    let guard = SENDER
        .lock()
        .map_err(|_| usage("account: poisoned".into()))?;
    let Some(p) = guard.as_ref() else {
        return Ok(None);
    };
    let file = File::check(&p.cfg)?;
    let name = file.by_sender(&p.tool, sender).or(file.default.clone());
    file.run(&p.tool, &p.cmd, &p.argv, &p.given, name.as_deref())
        .map(Some)
}

/// Whether `pattern` (an account's `from`: an address, or with `*` for any run of
/// characters, `*@example.com`) matches `addr`, ignoring case. Pure.
fn sender_matches(pattern: &str, addr: &str) -> bool {
    let (p, a) = (pattern.to_ascii_lowercase(), addr.to_ascii_lowercase());
    let mut parts = p.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = a.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// The schemes of a tool's server, for messages: `pop3:// or pop3s://`.
fn schemes(tool: &ToolInfo) -> String {
    tool.schemes
        .iter()
        .map(|s| format!("{s}://"))
        .collect::<Vec<_>>()
        .join(" or ")
}

fn usage(msg: String) -> Error {
    Error::new(Kind::Usage, msg)
}

/// `cmd` with nothing required, so that a command line that leaves the URL to an account
/// can be read before the account is known.
fn relax(mut cmd: Command) -> Command {
    // A URL after a list (ftp-put's FILE... URL) may not be optional unless it must follow
    // `--`: then every value goes to the list, which Given::read tells apart.
    let first = cmd.get_positionals().next().map(|a| a.get_id().clone());
    cmd = cmd.mut_args(|a| {
        let after_list = a.is_positional() && Some(a.get_id()) != first.as_ref() && is_url(&a);
        let a = a.required(false);
        if after_list { a.last(true) } else { a }
    });
    let groups: Vec<clap::Id> = cmd.get_groups().map(|g| g.get_id().clone()).collect();
    for g in groups {
        cmd = cmd.mut_group(g, |g| g.required(false));
    }
    cmd
}

/// What the command line gives itself.
#[derive(Clone)]
struct Given {
    /// The ids of the flags and positional arguments on it.
    ids: BTreeSet<String>,
    /// Whether it names the server (a URL, or `--server`).
    server: bool,
    /// Whether it names a user (`--user`, or a URL's `user@`).
    user: bool,
    /// The user it names, when it names one.
    user_name: Option<String>,
    /// Whether it gives paths where a URL goes (`ftp-get -a work reports/today.csv`): the
    /// tool takes them relative to the account's server ([`ToolInfo::relative_paths`]).
    paths: bool,
}

/// Whether a URL names a user (`scheme://user@host`).
fn url_has_user(url: &str) -> bool {
    url_user(url).is_some()
}

/// The user a URL names (`scheme://user:pass@host`: `user`, percent-decoded). Pure.
fn url_user(url: &str) -> Option<String> {
    let (_, rest) = url.split_once("://")?;
    let authority = rest.split('/').next().unwrap_or("");
    let (info, _) = authority.rsplit_once('@')?;
    let user = info.split(':').next().unwrap_or("");
    Some(
        percent_encoding::percent_decode_str(user)
            .decode_utf8_lossy()
            .into_owned(),
    )
}

impl Given {
    fn read(cmd: &Command, m: &ArgMatches, tool: &ToolInfo) -> Given {
        let mut g = Given {
            ids: BTreeSet::new(),
            server: false,
            user: false,
            user_name: None,
            paths: false,
        };
        for arg in cmd.get_arguments() {
            let id = arg.get_id().as_str();
            if m.value_source(id) != Some(clap::parser::ValueSource::CommandLine) {
                continue;
            }
            let values: Vec<String> = m
                .try_get_raw(id)
                .ok()
                .flatten()
                .map(|v| v.map(|s| s.to_string_lossy().into_owned()).collect())
                .unwrap_or_default();
            if !arg.is_positional() {
                g.ids.insert(id.to_string());
                if id == "server" {
                    g.server = true;
                    g.user |= values.iter().any(|v| url_has_user(v));
                    g.user_name = g.user_name.or(values.iter().find_map(|v| url_user(v)));
                } else if id == "user" {
                    g.user_name = values.first().cloned();
                }
                continue;
            }
            let (urls, plain): (Vec<&String>, Vec<&String>) =
                values.iter().partition(|v| v.contains("://"));
            g.server |= !urls.is_empty();
            g.user |= urls.iter().any(|v| url_has_user(v));
            g.user_name = g.user_name.or(urls.iter().find_map(|v| url_user(v)));
            if plain.is_empty() {
                continue;
            }
            if !is_url(arg) {
                g.ids.insert(id.to_string());
            } else if tool.relative_paths {
                g.paths = true;
            } else if let Some(files) = cmd.get_positionals().find(|a| !is_url(a)) {
                // ftp-put's files, which clap gave the URL's place while it was optional.
                g.ids.insert(files.get_id().to_string());
            }
        }
        g.user |= g.ids.contains("user");
        g
    }
}

/// Whether `arg` is a tool's URL argument (the positional an account's `server` fills).
fn is_url(arg: &Arg) -> bool {
    arg.is_positional()
        && (arg.get_value_hint() == ValueHint::Url
            || arg
                .get_value_names()
                .is_some_and(|n| n.iter().any(|n| n.as_str() == "URL")))
}

/// A config file checked whole: every table, key and value known, so that a typo is
/// found whichever tool reads the file first.
struct File<'c> {
    cfg: &'c Config,
    default: Option<String>,
    /// The tables of the tools, `[ftp-get]`, ...
    tools: BTreeMap<String, &'c Table>,
    accounts: BTreeMap<String, Account<'c>>,
}

struct Account<'c> {
    keys: &'c Table,
    tools: BTreeMap<String, &'c Table>,
    oauth2: Option<&'c Table>,
}

use std::collections::BTreeMap;

/// The network tools' commands (mime-pack reads no config file).
fn network_tools() -> Vec<Command> {
    super::tool::TOOLS
        .iter()
        .filter(|t| t.name != "mime-pack")
        .map(|t| (t.command)())
        .collect()
}

/// The checks a config file goes through when it is loaded (its keys, accounts, values and
/// secrets), for the fuzz targets (src/fuzzing/).
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn check_config(cfg: &Config) -> Result<()> {
    File::check(cfg).map(|_| ())
}

impl<'c> File<'c> {
    fn check(cfg: &'c Config) -> Result<File<'c>> {
        let tools = network_tools();
        let mut file = File {
            cfg,
            default: None,
            tools: BTreeMap::new(),
            accounts: BTreeMap::new(),
        };
        for (key, value) in &cfg.root {
            let at = cfg.at(&value.span());
            let tool = tools.iter().find(|c| c.get_name() == key.as_str());
            match (key.as_str(), value.get_ref(), tool) {
                ("default", Value::String(name), _) => file.default = Some(name.clone()),
                ("default", v, _) => {
                    return Err(usage(format!(
                        "{at}: default must be an account's name (a string), not {}",
                        v.kind()
                    )));
                }
                ("accounts", Value::Table(accounts), _) => {
                    for (name, table) in accounts {
                        let at = cfg.at(&table.span());
                        let Value::Table(t) = table.get_ref() else {
                            return Err(usage(format!(
                                "{at}: accounts.{name} must be a table ([accounts.{name}])"
                            )));
                        };
                        file.accounts
                            .insert(name.clone(), Account::check(cfg, name, t, &tools)?);
                    }
                }
                (name, Value::Table(t), Some(cmd)) => {
                    // It would go to every account's server, and to none without one.
                    if let Some(p) = t.get("password") {
                        return Err(usage(format!(
                            "{}: [{name}] password: a literal password belongs to an account ([accounts.NAME]), not to a tool's table",
                            cfg.at(&p.span())
                        )));
                    }
                    check_keys(cfg, &format!("[{name}]"), t, &[cmd])?;
                    file.tools.insert(name.to_string(), t);
                }
                ("mime-pack", _, _) => {
                    return Err(usage(format!(
                        "{at}: [mime-pack]: mime-pack reads no config file"
                    )));
                }
                (other, _, _) => {
                    let tools: Vec<&str> = tools.iter().map(|c| c.get_name()).collect();
                    return Err(usage(format!(
                        "{at}: unknown key {other}: the file holds default, [accounts.NAME] and the tables [{}]",
                        tools.join("], [")
                    )));
                }
            }
        }
        if let Some(d) = &file.default {
            if !file.accounts.contains_key(d) {
                let span = cfg.root["default"].span();
                return Err(usage(format!(
                    "{}: default = \"{d}\": there is no [accounts.{d}]",
                    cfg.at(&span)
                )));
            }
        }
        file.check_secrets()?;
        Ok(file)
    }

    /// A file that holds a secret must be readable by its owner alone (docs/CONVENTIONS.md,
    /// "Config file and accounts").
    fn check_secrets(&self) -> Result<()> {
        let Some(mode) = self.cfg.readable_by_others else {
            return Ok(());
        };
        for (name, a) in &self.accounts {
            let tables = std::iter::once(a.keys).chain(a.tools.values().copied());
            let mut secret = tables
                .filter_map(|t| t.get("password").map(|v| ("password", v.span())))
                .collect::<Vec<_>>();
            if let Some(o) = a.oauth2 {
                secret.extend(
                    OAUTH2_SECRETS
                        .iter()
                        .filter_map(|k| o.get(*k).map(|v| (*k, v.span()))),
                );
            }
            if let Some((key, span)) = secret.first() {
                let path = self.cfg.path.display();
                return Err(Error::new(
                    Kind::Auth,
                    format!(
                        "{}: [accounts.{name}] {key}: the file holds a secret but others may read it (mode {mode:o}); refusing it: chmod go-rwx {path}",
                        self.cfg.at(span)
                    ),
                ));
            }
        }
        Ok(())
    }

    /// An account's key for `tool`: its `[accounts.NAME.TOOL]` table's, else its own.
    fn key_for<'a>(a: &'a Account<'c>, tool: &ToolInfo, key: &str) -> Option<&'a Spanned<Value>> {
        a.tools
            .get(tool.name)
            .and_then(|t| t.get(key))
            .or_else(|| a.keys.get(key))
    }

    /// Whether some account has a `from` for `tool`.
    fn has_senders(&self, tool: &ToolInfo) -> bool {
        self.accounts
            .values()
            .any(|a| Self::key_for(a, tool, "from").is_some())
    }

    /// The first account, in the file's order, whose `from` matches `sender`.
    fn by_sender(&self, tool: &ToolInfo, sender: &str) -> Option<String> {
        let mut found: Vec<(usize, &String)> = self
            .accounts
            .iter()
            .filter_map(|(name, a)| {
                match Self::key_for(a, tool, "from").map(|v| (v.span(), v.get_ref())) {
                    Some((span, Value::String(f))) if sender_matches(f, sender) => {
                        Some((span.start, name))
                    }
                    _ => None,
                }
            })
            .collect();
        found.sort();
        found.first().map(|(_, n)| (*n).clone())
    }

    /// The accounts whose server (for `tool`) has one of its schemes, for `--all-accounts`.
    fn accounts_for(&self, tool: &ToolInfo) -> Vec<String> {
        self.accounts
            .iter()
            .filter(|(_, a)| {
                let server = a
                    .tools
                    .get(tool.name)
                    .and_then(|t| t.get("server"))
                    .or_else(|| a.keys.get("server"));
                matches!(server.map(|s| s.get_ref()), Some(Value::String(s)) if has_scheme(s, tool))
            })
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// One run: `argv` with what account `name` (and the tool's table) fills in.
    fn run(
        &self,
        tool: &ToolInfo,
        cmd: &Command,
        argv: &[OsString],
        given: &Given,
        name: Option<&str>,
    ) -> Result<Run> {
        let account = name.map(|n| (n, &self.accounts[n]));
        // Most specific first: [accounts.NAME.TOOL], [accounts.NAME], [TOOL].
        let mut layers: Vec<(String, &Table)> = Vec::new();
        if let Some((n, a)) = account {
            if let Some(t) = a.tools.get(tool.name) {
                layers.push((format!("[accounts.{n}.{}]", tool.name), t));
            }
            layers.push((format!("[accounts.{n}]"), a.keys));
        }
        if let Some(t) = self.tools.get(tool.name) {
            layers.push((format!("[{}]", tool.name), t));
        }
        let mut taken: BTreeSet<String> = given.ids.clone();
        // A login is its user's: another user named on the command line gets none of the
        // tables' secrets (they would go to the server as that user's).
        let their_user = layers
            .iter()
            .find_map(|(_, t)| match t.get("user")?.get_ref() {
                Value::String(u) => Some(u.as_str()),
                _ => None,
            });
        let other_user = matches!(
            (given.user_name.as_deref(), their_user),
            (Some(g), Some(u)) if g != u
        );
        let secret_given = other_user || SECRET_KEYS.iter().any(|k| given.ids.contains(*k));
        let mut secrets_from: Option<usize> = secret_given.then_some(usize::MAX);
        let mut flags: Vec<OsString> = Vec::new();
        let mut origins: Vec<Origin> = Vec::new();
        // Keeps where a flag's values came from (a switch, valueless, is never named with
        // a value in a message).
        let mut noted = |set: Vec<OsString>, key: &str, at: &str, table: &str| {
            for f in &set {
                let f = f.to_string_lossy();
                if let Some((long, value)) = f.split_once('=') {
                    let said = format!("{key} = {value:?} ({at}, {table})");
                    // As messages name it: as it is, or quoted (`--maildomain "a b"`).
                    for flag in [format!("{long} {value}"), format!("{long} {value:?}")] {
                        origins.push(Origin {
                            flag,
                            said: said.clone(),
                        });
                    }
                }
            }
            set
        };
        let mut positionals: Vec<(usize, Vec<OsString>)> = Vec::new();
        let mut server: Option<String> = None;
        let mut selected = account.map(|(n, _)| Selected {
            name: n.to_string(),
            config: self.cfg.path.clone(),
            ..Selected::default()
        });
        for (depth, (table_name, table)) in layers.iter().enumerate() {
            for (key, value) in table.iter() {
                let span = value.span();
                let at = || format!("{}: {table_name} {key}", self.cfg.at(&span));
                if SECRET_KEYS.contains(&key.as_str()) {
                    match secrets_from {
                        Some(d) if d != depth => continue,
                        _ => secrets_from = Some(depth),
                    }
                }
                match key.as_str() {
                    "password" => {
                        if let (Some(sel), Value::String(p)) = (selected.as_mut(), value.get_ref())
                        {
                            sel.password = Some(p.clone());
                        }
                        continue;
                    }
                    "oauth2" => {
                        let Value::Table(o) = value.get_ref() else {
                            continue;
                        };
                        for (k, v) in o {
                            let at =
                                || format!("{}: {table_name} oauth2.{k}", self.cfg.at(&v.span()));
                            match (k.as_str(), v.get_ref(), selected.as_mut()) {
                                ("client_secret", Value::String(s), Some(sel)) => {
                                    sel.oauth2_client_secret = Some(s.clone())
                                }
                                ("refresh_token", Value::String(s), Some(sel)) => {
                                    sel.oauth2_refresh_token = Some(s.clone())
                                }
                                _ => {
                                    let long = format!("oauth2-{}", k.replace('_', "-"));
                                    if let Some(arg) = long_arg(cmd, &long) {
                                        let set = to_flag(arg, v.get_ref(), &at)?;
                                        let key = format!("oauth2.{k}");
                                        let place = self.cfg.at(&v.span());
                                        flags.extend(noted(set, &key, &place, table_name));
                                    }
                                }
                            }
                        }
                        continue;
                    }
                    _ => {}
                }
                if key == "server" && long_arg(cmd, "server").is_none()
                    || is_positional_key(cmd, key)
                {
                    let Some(arg) = positional_for(cmd, key) else {
                        continue;
                    };
                    if is_url(arg) {
                        if given.server || server.is_some() {
                            continue;
                        }
                        let Value::String(url) = value.get_ref() else {
                            return Err(usage(format!(
                                "{}: must be a URL (a string), not {}",
                                at(),
                                value.get_ref().kind()
                            )));
                        };
                        check_scheme(tool, name, url, &at)?;
                        server = Some(url.clone());
                    } else {
                        // Beside a URL on the command line, the account's files would
                        // have to go before it, among the user's own arguments: they are
                        // left out, as when the command line gives files itself.
                        let url_positional = long_arg(cmd, "server").is_none();
                        let id = arg.get_id().to_string();
                        if url_positional && given.server || !taken.insert(id) {
                            continue;
                        }
                        let index = arg.get_index().unwrap_or(usize::MAX);
                        positionals.push((index, values(arg, value.get_ref(), &at)?));
                    }
                    continue;
                }
                // A `from` with `*` picks the account by the sender; it is no address to
                // send as (the message's own From is).
                if tool.by_sender
                    && key == "from"
                    && matches!(value.get_ref(), Value::String(f) if f.contains('*'))
                {
                    continue;
                }
                let Some(arg) = long_arg(cmd, &key.replace('_', "-")) else {
                    continue; // another tool's key (checked when the file was read)
                };
                let id = arg.get_id().as_str();
                if key == "server" && (given.server || taken.contains(id)) {
                    continue;
                }
                if let ("server", Value::String(url)) = (key.as_str(), value.get_ref()) {
                    check_scheme(tool, name, url, &at)?;
                }
                if key == "user" && given.user {
                    continue;
                }
                if taken.contains(id) || conflicts(cmd, arg, &taken) {
                    continue;
                }
                taken.insert(id.to_string());
                let set = to_flag(arg, value.get_ref(), &at)?;
                flags.extend(noted(set, key, &self.cfg.at(&span), table_name));
            }
        }
        // The account's positional values (ftp-put's files) after the user's arguments,
        // which then hold none, and its server last, unless the command line names one or
        // gives paths for the tool to take relative to it.
        positionals.sort_by_key(|(i, _)| *i);
        let mut out: Vec<OsString> = Vec::with_capacity(argv.len() + flags.len() + 2);
        out.extend(argv.first().cloned());
        out.extend(flags);
        out.extend(argv.iter().skip(1).cloned());
        let mut tail: Vec<OsString> = positionals.into_iter().flat_map(|(_, v)| v).collect();
        if let Some(url) = &server {
            if given.paths {
                if let Some(sel) = selected.as_mut() {
                    sel.base_url = Some(url.clone());
                }
            } else {
                tail.push(OsString::from(url));
            }
        }
        // After `--`, so that a value starting with `-` (a file `--remove-source-files`, a
        // server `--delete`) is the value it was written as, never a flag.
        if !tail.is_empty() && !argv.iter().skip(1).any(|a| a == "--") {
            out.push("--".into());
        }
        out.extend(tail);
        Ok(Run {
            argv: out,
            account: selected,
            origins,
        })
    }
}

impl<'c> Account<'c> {
    /// Checks `[accounts.NAME]`: its keys are those of any network tool (an account may be
    /// shared: pop-fetch's `maildir` beside smtp-send's `from`), its tables a tool's own
    /// (checked against that tool) or `oauth2`.
    fn check(cfg: &'c Config, name: &str, t: &'c Table, tools: &[Command]) -> Result<Account<'c>> {
        let mut own = Table::new();
        let mut a = Account {
            keys: t,
            tools: BTreeMap::new(),
            oauth2: None,
        };
        for (key, value) in t {
            let tool = tools.iter().find(|c| c.get_name() == key.as_str());
            match (key.as_str(), value.get_ref(), tool) {
                ("oauth2", Value::Table(o), _) => {
                    check_oauth2(cfg, &format!("[accounts.{name}.oauth2]"), o, tools)?;
                    a.oauth2 = Some(o);
                }
                (tool, Value::Table(sub), Some(cmd)) => {
                    check_keys(cfg, &format!("[accounts.{name}.{tool}]"), sub, &[cmd])?;
                    a.tools.insert(tool.to_string(), sub);
                }
                _ => {
                    own.insert(key.clone(), value.clone());
                }
            }
        }
        let all: Vec<&Command> = tools.iter().collect();
        check_keys(cfg, &format!("[accounts.{name}]"), &own, &all)?;
        Ok(a)
    }
}

/// Checks the keys of a table against the flags of `tools` (any of them): each must be a
/// long flag's name (or `server`, `password`, a positional's name), its value one the flag
/// takes. A key no tool has is 64, naming the file, line and key, with a hint for another
/// tool's name for it.
fn check_keys(cfg: &Config, table: &str, t: &Table, tools: &[&Command]) -> Result<()> {
    for (key, value) in t {
        let span = value.span();
        let at = || format!("{}: {table} {key}", cfg.at(&span));
        if key == "password" {
            if !matches!(value.get_ref(), Value::String(_)) {
                return Err(usage(format!("{}: must be a string", at())));
            }
            check_secret_text(value.get_ref(), &at)?;
            continue;
        }
        if key == "oauth2" {
            return Err(usage(format!(
                "{}: OAuth2 settings go in the account's own table [accounts.NAME.oauth2]",
                at()
            )));
        }
        let mut found = false;
        for cmd in tools {
            let arg = if key == "server" && long_arg(cmd, "server").is_none() {
                cmd.get_positionals().find(|a| is_url(a))
            } else if let Some(p) = cmd
                .get_positionals()
                .find(|a| a.get_id() == key.as_str() && !is_url(a))
            {
                Some(p)
            } else if NOT_KEYS.contains(&key.as_str()) {
                None
            } else {
                long_arg(cmd, &key.replace('_', "-"))
            };
            let Some(arg) = arg else { continue };
            found = true;
            if arg.is_positional() && is_url(arg) {
                if !matches!(value.get_ref(), Value::String(_)) {
                    return Err(usage(format!(
                        "{}: must be a URL (a string), not {}",
                        at(),
                        value.get_ref().kind()
                    )));
                }
            } else {
                to_flag(arg, value.get_ref(), &at)?;
            }
        }
        if !found {
            return Err(unknown_key(&at(), key));
        }
    }
    Ok(())
}

/// Checks `[accounts.NAME.oauth2]`: `client_secret` and `refresh_token` are literal
/// secrets; every other key `K` is a tool's `--oauth2-K` flag.
fn check_oauth2(cfg: &Config, table: &str, t: &Table, tools: &[Command]) -> Result<()> {
    for (key, value) in t {
        let span = value.span();
        let at = || format!("{}: {table} {key}", cfg.at(&span));
        if OAUTH2_SECRETS.contains(&key.as_str()) {
            if !matches!(value.get_ref(), Value::String(_)) {
                return Err(usage(format!("{}: must be a string", at())));
            }
            check_secret_text(value.get_ref(), &at)?;
            continue;
        }
        let long = format!("oauth2-{}", key.replace('_', "-"));
        let mut found = false;
        for cmd in tools {
            if let Some(arg) = long_arg(cmd, &long) {
                found = true;
                to_flag(arg, value.get_ref(), &at)?;
            }
        }
        if !found {
            return Err(usage(format!("{}: unknown OAuth2 setting", at())));
        }
    }
    Ok(())
}

/// A literal secret may hold no CR, LF or NUL (docs/CONVENTIONS.md, "Credentials"): it is
/// 64, and the message never quotes it.
fn check_secret_text(value: &Value, at: &dyn Fn() -> String) -> Result<()> {
    if let Value::String(s) = value {
        if s.is_empty() {
            return Err(Error::new(Kind::Auth, format!("{}: is empty", at())));
        }
        if s.contains(['\r', '\n', '\0']) {
            return Err(usage(format!(
                "{}: holds a line break or NUL, which no login can carry (not shown)",
                at()
            )));
        }
    }
    Ok(())
}

fn unknown_key(at: &str, key: &str) -> Error {
    match KEY_HINTS.iter().find(|(k, _)| *k == key) {
        Some((_, hint)) => usage(format!("{at}: unknown key: {hint}")),
        None => usage(format!(
            "{at}: unknown key (keys are the tools' long flag names, with _ for -)"
        )),
    }
}

/// `cmd`'s flag `--long`.
fn long_arg<'a>(cmd: &'a Command, long: &str) -> Option<&'a Arg> {
    cmd.get_arguments().find(|a| a.get_long() == Some(long))
}

/// Whether `key` names one of `cmd`'s positional arguments other than its URL (ftp-put's
/// `files`, smtp-send's `recipients`).
fn is_positional_key(cmd: &Command, key: &str) -> bool {
    cmd.get_positionals()
        .any(|a| a.get_id().as_str() == key && !is_url(a))
}

/// The positional argument `key` fills: `server` the URL, else the one of that name.
fn positional_for<'a>(cmd: &'a Command, key: &str) -> Option<&'a Arg> {
    if key == "server" {
        cmd.get_positionals().find(|a| is_url(a))
    } else {
        cmd.get_positionals().find(|a| a.get_id().as_str() == key)
    }
}

/// Whether `url` has one of `tool`'s schemes.
fn has_scheme(url: &str, tool: &ToolInfo) -> bool {
    url.split_once("://")
        .is_some_and(|(s, _)| tool.schemes.iter().any(|t| t.eq_ignore_ascii_case(s)))
}

/// A server URL with another tool's scheme is 64, naming the table to give this tool its own
/// in; one without a scheme is left to the tool, which says what its URL must be.
fn check_scheme(
    tool: &ToolInfo,
    account: Option<&str>,
    url: &str,
    at: &dyn Fn() -> String,
) -> Result<()> {
    if url.contains("://") && !has_scheme(url, tool) {
        return Err(not_for_tool(tool, account, url, &at()));
    }
    Ok(())
}

fn not_for_tool(tool: &ToolInfo, account: Option<&str>, url: &str, at: &str) -> Error {
    let table = match account {
        Some(n) => format!("[accounts.{n}.{}]", tool.name),
        None => format!("[{}]", tool.name),
    };
    usage(format!(
        "{at}: {} is not a server for {} ({}): give it one in {table}",
        crate::net::url::redact_text(url),
        tool.name,
        schemes(tool)
    ))
}

/// Whether some flag already taken conflicts with `arg`, either way round.
fn conflicts(cmd: &Command, arg: &Arg, taken: &BTreeSet<String>) -> bool {
    let against = cmd.get_arg_conflicts_with(arg);
    if against.iter().any(|a| taken.contains(a.get_id().as_str())) {
        return true;
    }
    // A group of which one only may be given (pop-fetch's store: --maildir, --stdout...).
    let exclusive = cmd.get_groups().any(|g| {
        let members: Vec<&clap::Id> = g.get_args().collect();
        !g.clone().is_multiple()
            && members.contains(&arg.get_id())
            && members.iter().any(|m| taken.contains(m.as_str()))
    });
    if exclusive {
        return true;
    }
    cmd.get_arguments()
        .filter(|t| taken.contains(t.get_id().as_str()))
        .any(|t| {
            cmd.get_arg_conflicts_with(t)
                .iter()
                .any(|c| c.get_id() == arg.get_id())
        })
}

/// What a config value means as a flag on the command line: `--long=VALUE` once or for
/// each value of a list, `--long` for `true`. The value is checked here as clap would check
/// it on the command line, and a bad one is 64 naming the file, line and key rather than a
/// flag never typed; a path's leading `~/` is the home folder, as msmtp reads it.
fn to_flag(arg: &Arg, value: &Value, at: &dyn Fn() -> String) -> Result<Vec<OsString>> {
    let long = arg.get_long().unwrap_or_else(|| arg.get_id().as_str());
    let bad = |why: String| usage(format!("{}: {why}", at()));
    match arg.get_action() {
        ArgAction::SetTrue | ArgAction::SetFalse => match value {
            Value::Boolean(b) => {
                let on = *b == matches!(arg.get_action(), ArgAction::SetTrue);
                Ok(if on {
                    vec![format!("--{long}").into()]
                } else {
                    vec![]
                })
            }
            other => Err(bad(format!("must be true or false, not {}", other.kind()))),
        },
        ArgAction::Count => match value {
            Value::Integer(n) if (0..=10).contains(n) => {
                Ok((0..*n).map(|_| format!("--{long}").into()).collect())
            }
            _ => Err(bad("must be a number from 0 to 10".into())),
        },
        _ => {
            let texts = values(arg, value, at)?;
            for t in &texts {
                validate(arg, t).map_err(&bad)?;
            }
            Ok(texts
                .into_iter()
                .map(|t| {
                    if arg.is_positional() {
                        t
                    } else {
                        let mut f = OsString::from(format!("--{long}="));
                        f.push(t);
                        f
                    }
                })
                .collect())
        }
    }
}

/// The text of a value, one per item of a list where the flag may be repeated.
fn values(arg: &Arg, value: &Value, at: &dyn Fn() -> String) -> Result<Vec<OsString>> {
    let many = matches!(arg.get_action(), ArgAction::Append);
    let path = matches!(
        arg.get_value_hint(),
        ValueHint::FilePath | ValueHint::DirPath | ValueHint::AnyPath | ValueHint::ExecutablePath
    );
    let one = |v: &Value| -> Result<OsString> {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Integer(n) => n.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Boolean(b) => b.to_string(),
            other => {
                return Err(usage(format!(
                    "{}: must be a value, not {}",
                    at(),
                    other.kind()
                )));
            }
        };
        Ok(match (path, text.as_str()) {
            // A file whose name starts with `-` given as a positional value, written as on
            // a command line (`./-x`), since clap takes `-x` after another file for a flag
            // even after `--`; `-` alone is standard input, as typed.
            (true, t) if arg.is_positional() && t.starts_with('-') && t != "-" => {
                format!("./{t}").into()
            }
            (true, t) => home(t),
            (false, _) => text.into(),
        })
    };
    match value {
        Value::Array(items) if many => items.iter().map(|i| one(i.get_ref())).collect(),
        Value::Array(_) => Err(usage(format!("{}: takes one value, not a list", at()))),
        v => Ok(vec![one(v)?]),
    }
}

/// A path's leading `~` or `~/` made the home folder.
fn home(text: &str) -> OsString {
    let home = std::env::var_os("HOME").filter(|h| !h.is_empty());
    match (text, home) {
        ("~", Some(h)) => h,
        (t, Some(h)) if t.starts_with("~/") => {
            let mut p = std::path::PathBuf::from(h);
            p.push(&t[2..]);
            p.into_os_string()
        }
        (t, _) => t.into(),
    }
}

/// Checks `text` as clap checks the flag's value on the command line, and says what is
/// wrong in words that name no flag (the value came from a file).
fn validate(arg: &Arg, text: &OsStr) -> std::result::Result<(), String> {
    if arg.is_positional() {
        return Ok(());
    }
    let lone = arg
        .clone()
        .required(false)
        .conflicts_with(clap::builder::Resettable::<clap::Id>::Reset)
        .requires(clap::builder::Resettable::<clap::Id>::Reset)
        .overrides_with(clap::builder::Resettable::<clap::Id>::Reset)
        .group(clap::builder::Resettable::<clap::Id>::Reset)
        .required_unless_present(clap::builder::Resettable::<clap::Id>::Reset);
    let long = lone.get_long().unwrap_or("x").to_string();
    let cmd = Command::new("config").no_binary_name(true).arg(lone);
    let mut flag = OsString::from(format!("--{long}="));
    flag.push(text);
    match cmd.try_get_matches_from([flag]) {
        Ok(_) => Ok(()),
        Err(e) => Err(reason(&e, text)),
    }
}

/// A clap error about a value, as words about the value alone.
fn reason(e: &clap::Error, text: &OsStr) -> String {
    use clap::error::{ContextKind, ContextValue};
    let shown = crate::error::visible(&text.to_string_lossy());
    if let Some(ContextValue::Strings(valid)) = e.get(ContextKind::ValidValue) {
        return format!("\"{shown}\" is not one of {}", valid.join(", "));
    }
    if let Some(source) = std::error::Error::source(e) {
        return format!("\"{shown}\": {source}");
    }
    let rendered = e.render().to_string();
    let first = rendered
        .lines()
        .next()
        .unwrap_or("")
        .trim_start_matches("error: ");
    format!("\"{shown}\": {first}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn a_flag_is_replaced_only_where_it_is_whole() {
        let r = |t| replace_flag(t, "--tls required", "TLS");
        assert_eq!(
            r("and --tls required is set").as_deref(),
            Some("and TLS is set")
        );
        assert_eq!(
            r("--tls required: x; --tls required").as_deref(),
            Some("TLS: x; TLS")
        );
        assert_eq!(r("--tls required-ish"), None);
        assert_eq!(r("use --tls none"), None);
        let r = |t| replace_flag(t, "--cacert /a", "C");
        assert_eq!(r("--cacert /ab: no"), None);
        assert_eq!(r("--cacert /a.pem: no"), None);
        assert_eq!(r("--cacert /a: no").as_deref(), Some("C: no"));
    }

    #[test]
    fn a_command_line_naming_accounts_is_told_apart_cheaply() {
        assert!(names_accounts(&os(&["t", "--config", "f"])));
        assert!(names_accounts(&os(&["t", "--config=f"])));
        assert!(names_accounts(&os(&["t", "-a", "w"])));
        assert!(names_accounts(&os(&["t", "-qawork"])));
        assert!(names_accounts(&os(&["t", "--account=w"])));
        assert!(names_accounts(&os(&["t", "--all-accounts"])));
        assert!(!names_accounts(&os(&[
            "t",
            "--all",
            "--accounts-x",
            "pop3://a@h"
        ])));
        assert!(!names_accounts(&os(&["t", "-q", "--", "-a"])));
        assert!(!names_accounts(&os(&["t", "--configure"])));
    }

    #[test]
    fn a_from_pattern_matches_whole_addresses_ignoring_case() {
        assert!(sender_matches("me@work.example", "ME@Work.Example"));
        assert!(!sender_matches("me@work.example", "me@work.example.org"));
        assert!(!sender_matches("me@work.example", "ame@work.example"));
        assert!(sender_matches("*@home.example", "kid@home.example"));
        assert!(!sender_matches("*@home.example", "kid@home.example.evil"));
        assert!(!sender_matches("*@home.example", "kid@xhome.example.org"));
        assert!(sender_matches("*@*.example", "a@b.example"));
        assert!(sender_matches("a*b*c", "abc"));
        assert!(!sender_matches("a*bc*c", "abc"));
        assert!(sender_matches("*", "anything"));
        assert!(!sender_matches("", "a"));
    }

    #[test]
    fn state_files_are_found_in_both_spellings_and_not_after_dashdash() {
        let argv = os(&[
            "t",
            "--state-file=a",
            "-q",
            "--state-file",
            "b",
            "--",
            "--state-file=c",
        ]);
        assert_eq!(state_files(&argv), [OsStr::new("a"), OsStr::new("b")]);
        assert!(state_files(&os(&["t", "--state-files=x"])).is_empty());
    }

    #[test]
    fn a_url_names_a_user_only_in_its_authority() {
        assert!(url_has_user("pop3s://me@host"));
        assert!(url_has_user("imap://me%40x@host:993/INBOX"));
        assert!(!url_has_user("ftp://host/dir/a@b"));
        assert!(!url_has_user("host@x"));
        assert_eq!(url_user("imap://me%40x:pw@host").as_deref(), Some("me@x"));
        assert_eq!(url_user("pop3://bob@h/a@b").as_deref(), Some("bob"));
    }

    #[test]
    fn a_path_starting_with_a_tilde_is_in_the_home_folder() {
        let h = std::env::var_os("HOME").unwrap();
        let mut want = std::path::PathBuf::from(&h);
        want.push("Mail/x");
        assert_eq!(home("~/Mail/x"), want.into_os_string());
        assert_eq!(home("~"), h);
        assert_eq!(home("~bob/x"), OsString::from("~bob/x"));
        assert_eq!(home("/abs/~/x"), OsString::from("/abs/~/x"));
    }

    /// A config value is checked as clap checks the flag, and said without naming a flag.
    #[test]
    fn values_are_checked_as_the_flag_would_be() {
        let cmd = super::super::tool::commands()
            .into_iter()
            .find(|c| c.get_name() == "pop-fetch")
            .unwrap();
        let at = || "here".to_string();
        let flag = |key: &str, v: Value| to_flag(long_arg(&cmd, key).unwrap(), &v, &at);
        assert_eq!(
            flag("timeout", Value::Integer(5)).unwrap(),
            os(&["--timeout=5"])
        );
        assert_eq!(
            flag("delete", Value::Boolean(true)).unwrap(),
            os(&["--delete"])
        );
        assert!(flag("delete", Value::Boolean(false)).unwrap().is_empty());
        let e = flag("tls", Value::String("maybe".into())).unwrap_err();
        assert_eq!(
            e.message(),
            "here: \"maybe\" is not one of auto, required, none"
        );
        let e = flag("tls", Value::Array(vec![])).unwrap_err();
        assert_eq!(e.message(), "here: takes one value, not a list");
        let e = flag("retries", Value::Integer(500)).unwrap_err();
        assert_eq!(
            e.message(),
            "here: \"500\": must be a whole number from 0 to 100"
        );
    }
}
