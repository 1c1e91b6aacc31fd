//! `smtp-send --import-msmtprc`, `pop-fetch --import-mpoprc` and `imap-fetch
//! --import-mbsyncrc`: another tool's config file printed as accounts of ours. Each output is
//! written to a config file and used with `--account NAME` against the fake servers: what
//! was imported logs in and delivers.

use crate::accounts::Home;
use crate::pop_fetch::maildir_messages;
use crate::support::fake_imap::{self, ImapBuilder, imap};
use crate::support::fake_pop::{self, PopBuilder, pop};
use crate::support::fake_smtp::FakeSmtp;
use crate::support::tool::Out;

/// `home`'s file `name` holding `text`, for the import to read.
fn rc(home: &Home, name: &str, text: &str) -> String {
    let p = home.path(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

/// `tool FLAG FILE` with FILE (in `home`) holding `text`: the file's path, and the run.
fn import(home: &Home, tool: &'static str, flag: &str, text: &str) -> (String, Out) {
    let file = rc(home, flag.trim_start_matches("--import-"), text);
    let out = home.tool(tool).args([flag, &file]).run();
    (file, out)
}

/// An import's output, checked: exit 0, these warnings on stderr, TOML on stdout.
fn imported(out: &Out, warnings: &[String]) -> String {
    assert_eq!(out.code, Some(0), "{out:#?}");
    let got: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(got, warnings, "{out:#?}");
    out.text().to_string()
}

#[test]
fn an_msmtprc_account_logs_in_and_sends() {
    let smtp = FakeSmtp::builder().login("me", "pw s3cret").start();
    let home = Home::new("imp-msmtp", "");
    let (file, out) = import(
        &home,
        "smtp-send",
        "--import-msmtprc",
        &format!(
            "# msmtp\ndefaults\ntls off\nauth plain\n\naccount base\nhost 127.0.0.1\nport {}\ndomain import.test\n\naccount work : base\nuser me\npasswordeval \"printf '%s' 'pw s3cret'\"\nfrom me@example.com\ntls_crl_file /etc/crl.pem\n\naccount default : work\n",
            smtp.port()
        ),
    );
    let text = imported(
        &out,
        &[format!(
            "smtp-send: warning: {file}, line 15: account work: tls_crl_file: not carried over (smtp-send's TLS has no such setting)"
        )],
    );
    assert!(text.contains("\n# default = \"work\"\n"), "{text}");
    assert!(
        text.contains("\n# msmtp: tls_crl_file /etc/crl.pem: not carried over (smtp-send's TLS has no such setting)\n"),
        "{text}"
    );
    // -q: the same output, nothing on stderr.
    let quiet = home
        .tool("smtp-send")
        .args(["-q", "--import-msmtprc", &file])
        .run();
    assert_eq!(imported(&quiet, &[]), text);

    home.write(&text, 0o600);
    home.tool("smtp-send")
        .args(["-a", "work", "you@example.org"])
        .input(b"Subject: hi\n\nhi\n")
        .run()
        .ok();
    assert_eq!(smtp.commands("EHLO"), ["EHLO import.test"]);
    assert_eq!(smtp.commands("AUTH")[0].split(' ').nth(1), Some("PLAIN"));
    assert_eq!(
        smtp.commands("MAIL")[0],
        "MAIL FROM:<me@example.com> BODY=8BITMIME"
    );
    assert_eq!(smtp.messages().len(), 1);
}

#[test]
fn an_mpoprc_account_with_a_literal_password_fetches() {
    let server = pop(&[("u1", "Subject: one\r\n\r\n1\r\n")]).start();
    let home = Home::new("imp-mpop", "");
    let (file, out) = import(
        &home,
        "pop-fetch",
        "--import-mpoprc",
        &format!(
            "account work\r\nhost 127.0.0.1\r\nport {}\r\ntls off\r\nuser {}\r\npassword \"{}\"\r\ndelivery maildir ~/Mail/work\r\nkeep off\r\nuidls_file ~/.mpop_uidls\r\nauth user\r\n",
            server.port(),
            fake_pop::USER,
            fake_pop::PASS
        ),
    );
    let text = imported(
        &out,
        &[
            format!(
                "pop-fetch: warning: {file}, line 6: account work: password is carried over as password = \"...\": the config file must be readable by you alone (chmod 600)"
            ),
            format!(
                "pop-fetch: warning: {file}, line 9: account work: uidls_file: not carried over (pop-fetch keeps its own state file, in its own format; its first run fetches again what mpop left on the server)"
            ),
        ],
    );
    assert!(text.contains(&format!("\npassword = \"{}\"\n", fake_pop::PASS)));
    // USER/PASS is pop-fetch's alone: in its own table, which the other tools leave alone.
    assert!(
        text.ends_with("\n[accounts.work.pop-fetch]\nauth = \"user\"\n"),
        "{text}"
    );
    assert!(!out.stderr.contains(fake_pop::PASS));
    home.write(&text, 0o600);
    home.tool("pop-fetch").args(["-a", "work"]).run().ok();
    assert_eq!(
        maildir_messages(&home.path("Mail/work")),
        ["Subject: one\n\n1\n"]
    );
    assert_eq!(server.commands("DELE"), ["DELE 1"]);
    assert_eq!(
        server.commands("PASS"),
        [format!("PASS {}", fake_pop::PASS)]
    );
}

#[test]
fn an_mbsync_channel_is_an_account_that_fetches_its_folder() {
    let server = imap(&["Subject: in\r\n\r\ninbox\r\n"])
        .folder("Archive", 7, &["Subject: old\r\n\r\narchived\r\n"])
        .start();
    let home = Home::new("imp-mbsync", "");
    let (file, out) = import(
        &home,
        "imap-fetch",
        "--import-mbsyncrc",
        &format!(
            "IMAPAccount work\nHost 127.0.0.1\nPort {}\nSSLType None\nUser {}\nPass \"{}\"\n\nIMAPStore work-remote\nAccount work\n\nMaildirStore work-local\nPath ~/Mail/work/\nInbox ~/Mail/work/INBOX\n\nChannel archive\nFar :work-remote:Archive\nNear :work-local:\nSync Pull\n\nChannel all\nFar :work-remote:\nNear :work-local:\nPatterns *\n",
            server.port(),
            fake_imap::USER,
            fake_imap::PASS
        ),
    );
    let warning =
        |line: u32, what: &str| format!("imap-fetch: warning: {file}, line {line}: account {what}");
    let text = imported(
        &out,
        &[
            warning(
                6,
                "archive: Pass is carried over as password = \"...\": the config file must be readable by you alone (chmod 600)",
            ),
            warning(
                23,
                "all: Patterns: not carried over (imap-fetch fetches one folder: make an account per folder, with folder = \"NAME\")",
            ),
            warning(
                20,
                "all: Sync: not carried over (imap-fetch fetches one way, server to Maildir: nothing is pushed, no flag is synced)",
            ),
        ],
    );
    assert!(!out.stderr.contains(fake_imap::PASS));
    home.write(&text, 0o600);
    home.tool("imap-fetch").args(["-a", "archive"]).run().ok();
    assert_eq!(
        maildir_messages(&home.path("Mail/work/Archive")),
        ["Subject: old\n\narchived\n"]
    );
    home.tool("imap-fetch").args(["-a", "all"]).run().ok();
    assert_eq!(
        maildir_messages(&home.path("Mail/work/INBOX")),
        ["Subject: in\n\ninbox\n"]
    );
}

/// Malformed input is 65 naming the file and line, a missing file 66: nothing on stdout.
#[test]
fn malformed_or_missing_files_print_nothing() {
    let home = Home::new("imp-bad", "");
    let cases: &[(&str, &str, &[u8], i32, &str)] = &[
        (
            "smtp-send",
            "--import-msmtprc",
            b"account a\nhost h\naccount b : nope\n",
            65,
            "line 3: account b: no account \"nope\" above to inherit from (an account inherits from those defined before it)",
        ),
        (
            "pop-fetch",
            "--import-mpoprc",
            b"account a\nuser \"open\n",
            65,
            "line 2: a quote is not closed",
        ),
        // msmtp's files are text.
        (
            "smtp-send",
            "--import-msmtprc",
            b"account a\nhost h\nuser j\xe9r\xf4me\n",
            65,
            "line 3: not UTF-8 text",
        ),
        (
            "imap-fetch",
            "--import-mbsyncrc",
            b"IMAPAccount a\nPass x\0y\n",
            65,
            "line 2: a NUL byte",
        ),
    ];
    for (tool, flag, text, code, why) in cases {
        let file = home.path(flag).display().to_string();
        std::fs::write(&file, text).unwrap();
        let out = home.tool(tool).args([flag, &file.as_str()]).run();
        assert_eq!(out.fails(*code), format!("{tool}: {file}, {why}"));
        assert!(out.stdout.is_empty());
    }
    // Larger than any real file (--import-msmtprc /dev/zero must not fill memory), or none.
    let missing = home.path("no-such-rc").display().to_string();
    for (path, code, why) in [
        ("/dev/zero", 65, "larger than 1 MiB; refusing it"),
        (missing.as_str(), 66, "No such file or directory"),
    ] {
        let out = home
            .tool("smtp-send")
            .args(["--import-msmtprc", path])
            .run();
        assert_eq!(out.fails(code), format!("smtp-send: {path}: {why}"));
        assert!(out.stdout.is_empty());
    }
}

/// An import reads no config file of ours (the one being written may be broken), and an
/// account cannot ask for one.
#[test]
fn an_import_reads_no_config_file_and_is_no_key() {
    let home = Home::new("imp-noconf", "this is not TOML");
    let file = rc(&home, "msmtprc", "account a\nhost h\n");
    let out = home
        .tool("smtp-send")
        .args(["--import-msmtprc", &file])
        .run();
    assert!(
        imported(&out, &[]).contains("\n[accounts.a]\nserver = \"smtp://h\"\ntls = \"none\"\n")
    );
    home.write(
        &format!("[accounts.a]\nserver = \"smtp://h\"\nimport_msmtprc = \"{file}\"\n"),
        0o600,
    );
    let out = home.tool("smtp-send").args(["-a", "a", "x@y"]).run();
    assert!(
        out.fails(64)
            .contains("line 3: [accounts.a] import_msmtprc"),
        "{out:#?}"
    );
}
