//! Accounts (docs/CONVENTIONS.md, "Config file and accounts"): one config file, tables
//! `[accounts.NAME]` whose keys are the long flag names, used by every network tool with
//! `--account NAME`; flags win; a bad key or value is 64 naming the file, line and key; a file
//! that holds a secret must be the owner's alone.

use std::path::{Path, PathBuf};

use crate::pop_fetch::maildir_messages;
use crate::support::fake_ftp::*;
use crate::support::fake_pop::{PASS, PopBuilder, USER, pop};
use crate::support::fake_smtp::FakeSmtp;
use crate::support::files::TempDir;
use crate::support::tool::{Out, Tool, tool};

/// A test's HOME with `~/.config/posthaste/config.toml` (mode 600, folders 700).
pub(crate) struct Home {
    dir: TempDir,
}

impl Home {
    pub(crate) fn new(tag: &str, config: &str) -> Home {
        let h = Home {
            dir: TempDir::new(&format!("acct-{tag}")),
        };
        h.write(config, 0o600);
        h
    }

    pub(crate) fn config(&self) -> PathBuf {
        self.dir.join(".config/posthaste/config.toml")
    }

    pub(crate) fn write(&self, config: &str, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        let folder = self.dir.join(".config/posthaste");
        std::fs::create_dir_all(&folder).unwrap();
        for f in [self.dir.join(".config"), folder] {
            std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        std::fs::write(self.config(), config).unwrap();
        std::fs::set_permissions(self.config(), std::fs::Permissions::from_mode(mode)).unwrap();
    }

    pub(crate) fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    /// `name` run as this HOME's user (its config file found the default way).
    pub(crate) fn tool(&self, name: &'static str) -> Tool {
        tool(name)
            .home(self.dir.join(""))
            .env("XDG_STATE_HOME", self.dir.join("state"))
            .timeout(10)
    }
}

fn md(dir: &Path) -> Vec<String> {
    maildir_messages(dir)
}

fn pop_account(name: &str, port: u16, extra: &str) -> String {
    format!(
        "[accounts.{name}]\nserver = \"pop3://127.0.0.1:{port}\"\nuser = \"{USER}\"\npassword = \"{PASS}\"\ntls = \"none\"\nmaildir = \"~/Mail/{name}\"\n{extra}\n"
    )
}

/// `pop-fetch --account work` and nothing else: the server, user, password, TLS policy and
/// store all come from the account; `~/` is the home folder.
#[test]
fn a_cron_line_is_the_tool_and_its_account() {
    let server = pop(&[("u1", "Subject: one\r\n\r\n1\r\n")]).start();
    let home = Home::new("cron", &pop_account("work", server.port(), "timeout = 5"));
    home.tool("pop-fetch")
        .args(["--account", "work"])
        .run()
        .ok();
    assert_eq!(md(&home.path("Mail/work")), ["Subject: one\n\n1\n"]);
    assert_eq!(server.commands("USER"), [format!("USER {USER}")]);
    assert_eq!(server.commands("PASS"), [format!("PASS {PASS}")]);
    // -a is --account; the default account needs neither.
    let home2 = Home::new(
        "default",
        &format!("default = \"w\"\n{}", pop_account("w", server.port(), "")),
    );
    home2.tool("pop-fetch").args(["--all"]).run().ok();
    assert_eq!(md(&home2.path("Mail/w")).len(), 1);
}

/// What the command line gives wins over the account, key by key, and a secret source on
/// the command line replaces the account's (its literal password is never sent).
#[test]
fn flags_win_over_the_account() {
    let server = pop(&[("u1", "Subject: one\r\n\r\n1\r\n")]).start();
    let home = Home::new(
        "flags",
        &pop_account("work", server.port(), "").replace(PASS, "not-this-one"),
    );
    let elsewhere = home.path("Elsewhere");
    home.tool("pop-fetch")
        .args(["-a", "work", "--password-env", "P", "--maildir"])
        .arg_path(&elsewhere)
        .env("P", PASS)
        .run()
        .ok();
    assert_eq!(md(&elsewhere).len(), 1);
    assert!(!home.path("Mail/work").exists());
    assert_eq!(server.commands("PASS"), [format!("PASS {PASS}")]);
    // The account's store conflicts with --stdout given: the flag wins, no clash.
    let out = home
        .tool("pop-fetch")
        .args(["-a", "work", "--password-env", "P", "--stdout", "--all"])
        .env("P", PASS)
        .run();
    out.ok();
    assert!(
        out.text().ends_with("\nSubject: one\n\n1\n\n"),
        "{}",
        out.text()
    );
    // A URL on the command line with a user of its own: the account's user is left out.
    let url = format!("pop3://bob@127.0.0.1:{}", server.port());
    let out = home
        .tool("pop-fetch")
        .args(["-a", "work", &url, "--password-env", "P"])
        .env("P", "x")
        .run();
    out.fails(77);
    assert_eq!(server.commands("USER").last().unwrap(), "USER bob");
}

/// A bad value names the file, the line and the key, not a flag never typed; so does an
/// unknown key, with the key to use for one from msmtp.
#[test]
fn a_bad_key_or_value_is_64_naming_file_line_and_key() {
    let cases = [
        (
            "[accounts.a]\nserver = \"smtp://127.0.0.1:1\"\n\ntls = \"sometimes\"\n",
            "line 4: [accounts.a] tls: \"sometimes\" is not one of auto, required, none",
        ),
        (
            "[accounts.a]\nhost = \"mx.example\"\n",
            "line 2: [accounts.a] host: unknown key: use server = \"SCHEME://HOST:PORT\"",
        ),
        (
            "[accounts.a]\ntimeout = \"soon\"\n",
            "line 2: [accounts.a] timeout: \"soon\": must be a number of seconds",
        ),
        (
            "[accounts.a]\nsyslog = \"yes\"\n",
            "line 2: [accounts.a] syslog: must be true or false, not a string",
        ),
        (
            "[pop-fetch]\nhelo = \"x\"\n",
            "line 2: [pop-fetch] helo: unknown key (keys are the tools' long flag names, with _ for -)",
        ),
        (
            "default = \"b\"\n[accounts.a]\nuser = \"u\"\n",
            "line 1: default = \"b\": there is no [accounts.b]",
        ),
        ("[accounts.a]\nuser = \n", "line 2, column 8: "),
    ];
    for (text, want) in cases {
        let home = Home::new("badkey", text);
        let out = home.tool("smtp-send").args(["-a", "a", "x@y"]).run();
        let line = out.fails(64);
        let prefix = format!("smtp-send: config file {}, {want}", home.config().display());
        assert!(line.starts_with(&prefix), "{line}\nwanted: {prefix}");
    }
    // An account the file does not have; no file at all.
    let home = Home::new("noacct", "[accounts.a]\nuser = \"u\"\n");
    let line = home
        .tool("smtp-send")
        .args(["-a", "b", "x@y"])
        .run()
        .fails(64)
        .to_string();
    assert_eq!(
        line,
        format!(
            "smtp-send: --account b: config file {} has no [accounts.b]",
            home.config().display()
        )
    );
    let out = tool("smtp-send").args(["-a", "b", "x@y"]).run();
    assert!(
        out.fails(64)
            .contains("--account b: there is no config file"),
        "{out:?}"
    );
}

/// A file that holds a password must be readable by its owner alone: refused (77) when group
/// or others may read it, without the password in the message; without a secret it may be.
#[test]
fn a_secret_in_a_file_others_can_read_is_refused() {
    let server = pop(&[("u1", "Subject: one\r\n\r\n1\r\n")]).start();
    let home = Home::new("secret", "");
    home.write(&pop_account("work", server.port(), ""), 0o644);
    let out = home.tool("pop-fetch").args(["-a", "work"]).run();
    let line = out.fails(77);
    assert_eq!(
        line,
        format!(
            "pop-fetch: config file {}, line 4: [accounts.work] password: the file holds a secret but others may read it (mode 644); refusing it: chmod go-rwx {}",
            home.config().display(),
            home.config().display()
        )
    );
    assert!(!line.contains(PASS));
    assert_eq!(server.connections(), 0);
    // The same account with its password in the environment: fine at 644.
    home.write(
        &pop_account("work", server.port(), "password_env = \"P\"")
            .replace(&format!("password = \"{PASS}\"\n"), ""),
        0o644,
    );
    home.tool("pop-fetch")
        .args(["-a", "work"])
        .env("P", PASS)
        .run()
        .ok();
    assert_eq!(md(&home.path("Mail/work")).len(), 1);
}

/// `--all-accounts`: every account with a pop3 server, one after the other, each with its
/// own state; one that fails does not stop the others, its lines name it, and the exit
/// status is its.
#[test]
fn all_accounts_fetches_each_and_one_failure_stops_none() {
    let a = pop(&[("a1", "Subject: a\r\n\r\na\r\n")]).start();
    let c = pop(&[("c1", "Subject: c\r\n\r\nc\r\n")]).start();
    let down = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let down_port = down.local_addr().unwrap().port();
    drop(down);
    let text = format!(
        "{}{}{}[accounts.mail]\nserver = \"smtp://127.0.0.1:25\"\n",
        pop_account("a", a.port(), ""),
        pop_account("b", down_port, ""),
        pop_account("c", c.port(), "")
    );
    let home = Home::new("all", &text);
    let out = home.tool("pop-fetch").args(["--all-accounts"]).run();
    let line = out.fails(75);
    assert_eq!(
        line,
        format!("pop-fetch: account b: 127.0.0.1:{down_port}: cannot connect: Connection refused")
    );
    assert_eq!(md(&home.path("Mail/a")), ["Subject: a\n\na\n"]);
    assert_eq!(md(&home.path("Mail/c")), ["Subject: c\n\nc\n"]);
    // Several --account: the same, in the order given.
    let out = home
        .tool("pop-fetch")
        .args(["-a", "c", "-a", "a", "--all"])
        .run();
    out.ok();
    assert_eq!(md(&home.path("Mail/c")).len(), 2);
    // A tool that takes one account says so.
    let out = home
        .tool("smtp-send")
        .args(["-a", "a", "-a", "c", "x@y"])
        .run();
    assert_eq!(
        out.fails(64),
        "smtp-send: --account: smtp-send uses one account a run (--account a and --account c given)"
    );
}

/// One account for several tools: its own keys for all, a table per tool over them; a
/// server for another protocol is said in words, with the table to put the right one in.
#[test]
fn one_account_serves_several_tools() {
    let smtp = FakeSmtp::builder().start();
    let text = format!(
        "[accounts.me]\nserver = \"pop3s://127.0.0.1:1\"\nfrom = \"me@example.com\"\ntls = \"none\"\n\n[accounts.me.smtp-send]\nserver = \"{}\"\nhelo = \"acct.test\"\n",
        smtp.url()
    );
    let home = Home::new("shared", &text);
    home.tool("smtp-send")
        .args(["-a", "me", "you@example.org"])
        .input(b"Subject: hi\n\nhi\n")
        .run()
        .ok();
    assert_eq!(smtp.commands("EHLO"), ["EHLO acct.test"]);
    assert_eq!(
        smtp.commands("MAIL")[0],
        "MAIL FROM:<me@example.com> BODY=8BITMIME"
    );
    // Without its own table, the account's pop3s:// server is not one for smtp-send.
    home.write(
        &text.replace(
            "[accounts.me.smtp-send]\nserver",
            "[accounts.me.smtp-send]\nserverx",
        ),
        0o600,
    );
    let home2 = Home::new(
        "shared2",
        "[accounts.me]\nserver = \"pop3s://127.0.0.1:1\"\n",
    );
    let out = home2.tool("smtp-send").args(["-a", "me", "x@y"]).run();
    assert_eq!(
        out.fails(64),
        format!(
            "smtp-send: config file {}, line 2: [accounts.me] server: pop3s://127.0.0.1:1 is not a server for smtp-send (smtp:// or smtps://): give it one in [accounts.me.smtp-send]",
            home2.config().display()
        )
    );
}

/// FTP accounts: ftp-get takes a path given instead of a URL relative to the account's
/// server; ftp-put's account holds the files and the target folder, so that the cron line
/// is `ftp-put -a deploy`.
#[test]
fn ftp_accounts_take_paths_and_files() {
    let ftp = FakeFtp::builder()
        .file("out/report 1.csv", "a,b\n")
        .dir("in")
        .start();
    let home = Home::new("ftp", "");
    let local = home.path("dist.tar");
    std::fs::write(&local, b"payload").unwrap();
    home.write(
        &format!(
            "[accounts.partner]\nserver = \"{}\"\noutput_dir = \"~/got\"\ncreate_dirs = true\n\n[accounts.deploy]\nserver = \"{}\"\nfiles = [\"{}\"]\natomic = true\n",
            ftp.url("out/"),
            ftp.url("in/"),
            local.display()
        ),
        0o600,
    );
    home.tool("ftp-get")
        .args(["-a", "partner", "report 1.csv", "-q"])
        .run()
        .ok();
    assert_eq!(
        std::fs::read(home.path("got/report 1.csv")).unwrap(),
        b"a,b\n"
    );
    home.tool("ftp-ls").args(["-a", "partner"]).run().ok();
    home.tool("ftp-put").args(["-a", "deploy", "-q"]).run().ok();
    assert_eq!(ftp.file("in/dist.tar").as_deref(), Some(&b"payload"[..]));
    assert!(
        ftp.commands("RNTO")
            .iter()
            .any(|c| c.ends_with("in/dist.tar")),
        "{:?}",
        ftp.commands("RNTO")
    );
}

trait ArgPath {
    fn arg_path(self, p: &Path) -> Self;
}

impl ArgPath for Tool {
    fn arg_path(self, p: &Path) -> Tool {
        self.args([p])
    }
}

#[allow(dead_code)]
fn unused(_: Out) {}

/// smtp-send without --account: the envelope sender picks the account whose `from` matches
/// (msmtp's --read-envelope-from), `-f` first, else each message's From header, else the
/// default account; `*` in a `from` matches any run of characters.
#[test]
fn the_sender_picks_smtp_sends_account() {
    let work = FakeSmtp::builder().start();
    let home_srv = FakeSmtp::builder().start();
    let fallback = FakeSmtp::builder().start();
    let text = format!(
        "default = \"other\"\n\n[accounts.work]\nserver = \"{}\"\nfrom = \"me@work.example\"\ntls = \"none\"\nhelo = \"work.test\"\n\n[accounts.home]\nserver = \"{}\"\nfrom = \"*@home.example\"\ntls = \"none\"\n\n[accounts.other]\nserver = \"{}\"\ntls = \"none\"\n",
        work.url(),
        home_srv.url(),
        fallback.url()
    );
    let home = Home::new("sender", &text);
    let send = |args: &[&str], input: &[u8]| home.tool("smtp-send").args(args).input(input).run();
    send(
        &["-t"],
        b"From: Me <ME@work.example>\nTo: a@x.example\n\nhi\n",
    )
    .ok();
    assert_eq!(work.commands("EHLO"), ["EHLO work.test"]);
    send(&["-t"], b"From: kid@home.example\nTo: a@x.example\n\nhi\n").ok();
    assert_eq!(home_srv.commands("MAIL").len(), 1);
    send(
        &["-f", "me@work.example", "a@x.example"],
        b"Subject: x\n\nhi\n",
    )
    .ok();
    assert_eq!(work.commands("MAIL").len(), 2);
    send(
        &["-t"],
        b"From: stranger@else.example\nTo: a@x.example\n\nhi\n",
    )
    .ok();
    assert_eq!(fallback.commands("MAIL").len(), 1);
    // Two files, two senders: each message to its own account's server.
    let m1 = home.path("m1.eml");
    let m2 = home.path("m2.eml");
    std::fs::write(&m1, "From: me@work.example\nTo: a@x.example\n\n1\n").unwrap();
    std::fs::write(&m2, "From: b@home.example\nTo: a@x.example\n\n2\n").unwrap();
    home.tool("smtp-send")
        .args(["-t", "--file"])
        .args([&m1])
        .args(["--file"])
        .args([&m2])
        .run()
        .ok();
    assert_eq!(work.commands("MAIL").len(), 3);
    assert_eq!(home_srv.commands("MAIL").len(), 2);
    // --account names it whatever the sender.
    send(
        &["-t", "-a", "home"],
        b"From: me@work.example\nTo: a@x.example\n\nhi\n",
    )
    .ok();
    assert_eq!(home_srv.commands("MAIL").len(), 3);
}

/// Several accounts cannot share one state file: each keeps its own, so `--state-file`
/// with several accounts is 64 before anything is fetched.
#[test]
fn several_accounts_refuse_one_state_file() {
    let a = pop(&[("a1", "Subject: a\r\n\r\na\r\n")]).start();
    let text = format!(
        "{}{}",
        pop_account("a", a.port(), ""),
        pop_account("b", a.port(), "")
    );
    let home = Home::new("statefile", &text);
    let state = home.path("one.state");
    let out = home
        .tool("pop-fetch")
        .args(["--all-accounts", "--state-file"])
        .args([&state])
        .run();
    assert_eq!(
        out.fails(64),
        "pop-fetch: --state-file: accounts a and b would share one state file; give each its own (state_file in [accounts.NAME])"
    );
    assert_eq!(a.commands("USER").len(), 0);
}

/// imap-fetch --idle never ends: with several accounts the others would never run, so it
/// is refused (64) before connecting.
#[test]
fn idle_takes_one_account() {
    let text = "[accounts.a]\nserver = \"imap://127.0.0.1:1\"\n[accounts.b]\nserver = \"imap://127.0.0.1:2\"\n";
    let home = Home::new("idle", text);
    let out = home
        .tool("imap-fetch")
        .args(["--all-accounts", "--idle", "--stdout"])
        .run();
    assert_eq!(
        out.fails(64),
        "imap-fetch: --idle waits for ever on one account: it cannot be used with several (run one imap-fetch --idle per account)"
    );
}

/// The keys of the other flags of issue 21 work from an account too: `proxy` (and
/// `--proxy ""` on the command line going direct), `tls_min`.
#[test]
fn an_accounts_proxy_is_used_and_a_flag_overrides_it() {
    let server = pop(&[("u1", "Subject: one\r\n\r\n1\r\n")]).start();
    let down = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let down_port = down.local_addr().unwrap().port();
    drop(down);
    let home = Home::new(
        "proxy",
        &pop_account(
            "work",
            server.port(),
            &format!("proxy = \"socks5h://127.0.0.1:{down_port}\"\ntls_min = \"1.3\""),
        ),
    );
    let out = home.tool("pop-fetch").args(["-a", "work"]).run();
    let line = out.fails(75);
    assert!(
        line.starts_with(&format!("pop-fetch: SOCKS5 proxy 127.0.0.1:{down_port}: ")),
        "{line}"
    );
    assert_eq!(server.connections(), 0);
    home.tool("pop-fetch")
        .args(["-a", "work", "--proxy", ""])
        .run()
        .ok();
    assert_eq!(md(&home.path("Mail/work")).len(), 1);
}

/// An account's positional values are values, never flags: ftp-put's `files` entry
/// `--remove-source-files` is a file of that name (the user's other file is not deleted),
/// and a `server` starting with `-` is a bad URL, not `--delete`.
#[test]
fn an_accounts_files_and_server_never_become_flags() {
    let ftp = FakeFtp::builder().dir("in").start();
    let home = Home::new("dashfiles", "");
    std::fs::write(home.path("dist.tar"), b"payload").unwrap();
    std::fs::write(home.path("--remove-source-files"), b"odd name").unwrap();
    home.write(
        &format!(
            "[accounts.deploy]\nserver = \"{}\"\nfiles = [\"dist.tar\", \"--remove-source-files\"]\n",
            ftp.url("in/"),
        ),
        0o600,
    );
    let mut cmd = home.tool("ftp-put").args(["-a", "deploy", "-q"]).command();
    cmd.current_dir(home.path(""));
    Out::of(
        "ftp-put",
        crate::support::run::output(&mut cmd),
        Default::default(),
    )
    .ok();
    assert_eq!(ftp.file("in/dist.tar").as_deref(), Some(&b"payload"[..]));
    assert_eq!(
        ftp.file("in/--remove-source-files").as_deref(),
        Some(&b"odd name"[..])
    );
    assert!(home.path("dist.tar").exists());
    // pop-fetch's server "--delete": the URL argument, which is not one.
    let pop = pop(&[("u1", "Subject: one\r\n\r\n1\r\n")]).start();
    home.write(
        &pop_account("work", pop.port(), "")
            .replace(&format!("pop3://127.0.0.1:{}", pop.port()), "--delete"),
        0o600,
    );
    let out = home.tool("pop-fetch").args(["-a", "work"]).run();
    let line = out.fails(64);
    assert!(line.contains("--delete"), "{line}");
    assert!(!line.contains("required"), "{line}");
}

/// A config file is read up to 1 MiB: a larger one (or `--config /dev/zero`) is refused
/// in one line, never read whole into memory.
#[test]
fn a_config_file_larger_than_a_mib_is_refused() {
    let home = Home::new("huge", "");
    let mut text = "[accounts.a]\nuser = \"u\"\n".to_string();
    while text.len() <= 1 << 20 {
        text.push_str("# a comment line, over and over, to make the file large\n");
    }
    home.write(&text, 0o600);
    let out = home.tool("pop-fetch").args(["-a", "a", "--stdout"]).run();
    assert_eq!(
        out.fails(64),
        format!(
            "pop-fetch: config file {}: larger than 1 MiB; refusing it",
            home.config().display()
        )
    );
    // Bytes that are not UTF-8: 64 naming the line, as any malformed TOML.
    let config = home.config();
    std::fs::write(&config, b"[accounts.a]\nuser = \"\xff\"\n").unwrap();
    let out = home.tool("pop-fetch").args(["-a", "a", "--stdout"]).run();
    assert_eq!(
        out.fails(64),
        format!(
            "pop-fetch: config file {}, line 2: not UTF-8 text (TOML is UTF-8)",
            config.display()
        )
    );
}

/// A literal password belongs to an account: in a tool's own table (`[pop-fetch]`) it
/// would go to every account's server, and without an account it was dropped unsaid (and
/// never checked against a file others can read). It is 64, naming the line, not the
/// password.
#[test]
fn a_password_in_a_tools_table_is_refused() {
    let server = pop(&[("u1", "Subject: one\r\n\r\n1\r\n")]).start();
    let home = Home::new("toolpass", "");
    home.write(&format!("[pop-fetch]\npassword = \"{PASS}\"\n"), 0o644);
    let url = format!("pop3://{USER}@127.0.0.1:{}", server.port());
    let out = home
        .tool("pop-fetch")
        .args([url.as_str(), "--stdout"])
        .run();
    assert_eq!(
        out.fails(64),
        format!(
            "pop-fetch: config file {}, line 2: [pop-fetch] password: a literal password belongs to an account ([accounts.NAME]), not to a tool's table",
            home.config().display()
        )
    );
    assert_eq!(server.connections(), 0);
}

/// An account's login is its user's: a command line naming another user (a URL's `bob@`,
/// `--user bob`) leaves the account's password and password sources out, so they never go
/// to a server as another user's; the account's own user named again keeps them.
#[test]
fn another_user_on_the_command_line_gets_none_of_the_accounts_secrets() {
    let server = pop(&[("u1", "Subject: one\r\n\r\n1\r\n")]).start();
    let home = Home::new("otheruser", &pop_account("work", server.port(), ""));
    let url = format!("pop3://bob@127.0.0.1:{}", server.port());
    let out = home.tool("pop-fetch").args(["-a", "work", &url]).run();
    assert_eq!(
        out.fails(77),
        "pop-fetch: no password for bob@127.0.0.1: give --password-file FILE, --password-env VAR, --password-cmd CMD or a netrc entry (no terminal to ask at)"
    );
    let out = home
        .tool("pop-fetch")
        .args(["-a", "work", "--user", "bob"])
        .run();
    out.fails(77);
    assert!(server.commands("PASS").is_empty());
    // The account's own user, in the URL: its password goes with it.
    let url = format!("pop3://{USER}@127.0.0.1:{}", server.port());
    home.tool("pop-fetch").args(["-a", "work", &url]).run().ok();
    assert_eq!(server.commands("PASS"), [format!("PASS {PASS}")]);
}

/// `--help`, `--version` and `--generate` answer whatever the config file holds, as git
/// and ssh answer `--help` beside a broken config.
#[test]
fn help_version_and_generate_work_beside_a_broken_config_file() {
    let home = Home::new("brokenhelp", "this is [ not toml\n");
    for args in [&["--help"][..], &["--version"], &["--generate", "man"]] {
        // (--generate takes no other flag: no --timeout.)
        let out = tool("pop-fetch").home(home.path("")).args(args).run();
        out.ok();
        assert!(!out.stdout.is_empty(), "{args:?}");
    }
    home.tool("pop-fetch").args(["-a", "x"]).run().fails(64);
}

/// The same account named twice (`-a work -a work`, an alias in a script adding its own) is
/// fetched once: not a second login that finds nothing, nor its errors said twice.
#[test]
fn an_account_named_twice_is_fetched_once() {
    let server = pop(&[("u1", "Subject: one\r\n\r\n1\r\n")]).start();
    let home = Home::new("twice", &pop_account("work", server.port(), ""));
    home.tool("pop-fetch")
        .args(["-a", "work", "-a", "work"])
        .run()
        .ok();
    assert_eq!(md(&home.path("Mail/work")).len(), 1);
    assert_eq!(server.commands("USER").len(), 1);
}

/// An account's `from` that is a pattern (`*@home.example`) picks the account; it is never
/// the envelope sender itself: the message's own From is (MAIL FROM:<kid@home.example>),
/// also with `--account home` named, and a message without From under that account is 64
/// naming it.
#[test]
fn a_from_pattern_is_never_the_envelope_sender() {
    let srv = FakeSmtp::builder().start();
    let text = format!(
        "[accounts.home]\nserver = \"{}\"\nfrom = \"*@home.example\"\ntls = \"none\"\n",
        srv.url()
    );
    let home = Home::new("pattern", &text);
    let send = |args: &[&str], input: &[u8]| home.tool("smtp-send").args(args).input(input).run();
    send(
        &["-t"],
        b"From: Kid <kid@home.example>\nTo: a@x.example\n\nhi\n",
    )
    .ok();
    send(
        &["-t", "-a", "home"],
        b"From: kid@home.example\nTo: a@x.example\n\nhi\n",
    )
    .ok();
    assert_eq!(
        srv.commands("MAIL"),
        [
            "MAIL FROM:<kid@home.example> BODY=8BITMIME",
            "MAIL FROM:<kid@home.example> BODY=8BITMIME"
        ]
    );
    let out = send(&["-a", "home", "a@x.example"], b"Subject: x\n\nhi\n");
    assert_eq!(
        out.fails(64),
        "smtp-send: standard input: no envelope sender: give -f ADDR (--from), a From header in the message, or --maildomain DOMAIN (the login name at DOMAIN)"
    );
}

/// imap-fetch's cron line too: `imap-fetch -a work`, with a password command and a folder
/// from the account.
#[test]
fn imap_fetch_takes_its_account() {
    use crate::support::fake_imap::{ImapBuilder, PASS as IPASS, USER as IUSER, imap};
    let server = imap(&["Subject: a\r\n\r\na\r\n"])
        .folder("Archive", 7, &["Subject: old\r\n\r\nold\r\n"])
        .start();
    let home = Home::new(
        "imap",
        &format!(
            "[accounts.work]\nserver = \"imap://127.0.0.1:{}\"\nuser = \"{IUSER}\"\npassword_cmd = \"printf '%s\\\\n' '{IPASS}'\"\ntls = \"none\"\nmaildir = \"~/Mail/imap\"\nfolder = \"Archive\"\n",
            server.port()
        ),
    );
    home.tool("imap-fetch").args(["-a", "work"]).run().ok();
    assert_eq!(md(&home.path("Mail/imap")), ["Subject: old\n\nold\n"]);
    let logins: Vec<String> = server
        .transcript()
        .into_iter()
        .filter(|l| l.contains(" LOGIN "))
        .collect();
    assert_eq!(logins.len(), 1, "{logins:?}");
    assert!(
        logins[0].ends_with(&format!("LOGIN {IUSER} \"{IPASS}\"")),
        "{logins:?}"
    );
}

/// Without a URL or an account, the fetch tools say both ways to name the server.
#[test]
fn no_server_names_the_url_and_the_account() {
    let out = tool("pop-fetch").args(["--stdout"]).run();
    assert_eq!(
        out.fails(64),
        "pop-fetch: no server: give its URL (pop3s://USER@HOST) or --account NAME"
    );
    let out = tool("imap-fetch").args(["--stdout"]).run();
    assert_eq!(
        out.fails(64),
        "imap-fetch: no server: give its URL (imaps://USER@HOST/FOLDER) or --account NAME"
    );
}

/// A failure caused by a value from the config file names the file, line and key, never a
/// flag the user did not type; the same value typed is named as the flag; a hint to use
/// another value keeps naming the flag.
#[test]
fn a_failure_from_a_config_value_names_the_key_not_a_flag() {
    let server = pop(&[("u1", "Subject: one\r\n\r\n1\r\n")]).start();
    let config =
        pop_account("work", server.port(), "").replace("tls = \"none\"", "tls = \"required\"");
    let home = Home::new("blame", &config);
    let shown = home.config().display().to_string();
    let out = home.tool("pop-fetch").args(["-a", "work"]).run();
    let line = out.fails(69);
    assert!(
        line.ends_with(&format!(
            "and tls = \"required\" (config file {shown}, line 5, [accounts.work]) is set"
        )),
        "{line}"
    );
    assert!(!line.contains("--tls"), "{line}");
    let out = home
        .tool("pop-fetch")
        .args(["-a", "work", "--tls", "required"])
        .run();
    assert!(
        out.fails(69).ends_with("and --tls required is set"),
        "{}",
        out.text()
    );
    // A bad certificate file from the config: its key and line, the path as written
    // (`~/` made the home folder).
    std::fs::write(home.path("ca.pem"), "not PEM\n").unwrap();
    home.write(&format!("{config}cacert = \"~/ca.pem\"\n"), 0o600);
    let out = home.tool("pop-fetch").args(["-a", "work"]).run();
    assert_eq!(
        out.fails(64),
        format!(
            "pop-fetch: cacert = \"{}\" (config file {shown}, line 8, [accounts.work]): no PEM certificate in the file",
            home.path("ca.pem").display()
        )
    );
    // tls = "auto" from the file: the hint still names the flag to use.
    home.write(&config.replace("\"required\"", "\"auto\""), 0o600);
    let out = home.tool("pop-fetch").args(["-a", "work"]).run();
    assert!(out.fails(69).contains("--tls none"), "{}", out.text());
}
