//! imap-fetch end to end: the real binary against the fake IMAP server, checked by what a
//! user sees: the messages on disk, the commands on the wire, the exit status, the line on
//! stderr, and what is left on the server.

use std::path::PathBuf;
use std::process::Stdio;

use crate::support::fake_imap::*;
use crate::support::fake_server::Server;
use crate::support::files::TempDir;
use crate::support::run;
use crate::support::tool::{Out, Tool, tool};

/// One test's local side: a HOME without netrc, a state folder, and where mail goes.
struct Local {
    dir: TempDir,
}

impl Local {
    fn new(tag: &str) -> Local {
        Local {
            dir: TempDir::new(&format!("imap-{tag}")),
        }
    }

    fn maildir(&self) -> PathBuf {
        self.dir.join("Mail")
    }

    fn md_arg(&self) -> String {
        self.maildir().to_str().unwrap().to_string()
    }

    fn state(&self) -> PathBuf {
        self.dir.join("state")
    }

    /// The state is per user and host, whatever the server's port.
    fn state_file(&self, _server: &Server<FakeImap>) -> PathBuf {
        self.state()
            .join(format!("posthaste/imap/{USER}@127.0.0.1"))
    }

    /// Runs imap-fetch against `server` with `args` (the URL and the password come first).
    fn run(&self, server: &Server<FakeImap>, args: &[&str]) -> Out {
        self.run_url(&url(server), &["--tls", "none"], args)
    }

    fn run_url(&self, url: &str, tls: &[&str], args: &[&str]) -> Out {
        self.imap_fetch(url)
            .args(["--timeout", "10"])
            .args(tls)
            .args(args)
            .run()
    }

    /// imap-fetch for `url` as this test's user: its HOME and state folder, the password
    /// from `$IMAP_PASS`.
    fn imap_fetch(&self, url: &str) -> Tool {
        tool("imap-fetch")
            .home(self.dir.join("home"))
            .env("XDG_STATE_HOME", self.state())
            .env("IMAP_PASS", PASS)
            .args([url, "--password-env", "IMAP_PASS"])
    }

    fn md(&self) -> Vec<String> {
        crate::pop_fetch::maildir_messages(&self.maildir())
    }
}

fn url(server: &Server<FakeImap>) -> String {
    format!("imap://{USER}@127.0.0.1:{}/", server.port())
}

/// The commands the server got, without their tags.
fn commands(server: &Server<FakeImap>) -> Vec<String> {
    server
        .transcript()
        .into_iter()
        .map(|l| l.split_once(' ').map_or(l.clone(), |(_, r)| r.to_string()))
        .collect()
}

fn commands_of(server: &Server<FakeImap>, verb: &str) -> Vec<String> {
    commands(server)
        .into_iter()
        .filter(|c| c.starts_with(verb))
        .collect()
}

/// Messages as the server has them, and as the store must hold them.
fn messages() -> Vec<&'static str> {
    vec![
        "Subject: one\r\n\r\nhello\r\n.\r\n",
        "Subject: two\r\n\r\nno final newline",
        "Subject: three\r\n\r\na\rb\r\n)\r\n{5}\r\n",
    ]
}

fn stored() -> Vec<String> {
    vec![
        "Subject: one\n\nhello\n.\n".into(),
        "Subject: two\n\nno final newline".into(),
        "Subject: three\n\na\rb\n)\n{5}\n".into(),
    ]
}

#[test]
fn the_total_is_said_in_every_tools_words_when_progress_shows() {
    let server = imap(&messages()).start();
    let l = Local::new("total");
    let md = l.md_arg();
    let o = l.run(&server, &["--progress", "lines", "--maildir", &md]);
    assert_eq!(o.code, Some(0), "{o:?}");
    let last = o.stderr.lines().last().unwrap_or_default();
    let n = messages().len();
    let head = format!("imap-fetch: {n} new messages, ");
    let tail = format!(
        "/s) from 127.0.0.1:{} folder INBOX into Maildir {md}",
        server.port()
    );
    assert!(
        last.starts_with(&head) && last.contains(" B in ") && last.ends_with(&tail),
        "{:?}",
        o.stderr
    );
}

#[test]
fn new_mail_goes_into_a_maildir_once_and_new_arrivals_later() {
    let server = imap(&messages()).start();
    let l = Local::new("maildir");
    let md = l.md_arg();
    l.run(&server, &["--maildir", &md]).ok();
    assert_eq!(l.md(), stored());
    let cmds = commands(&server);
    assert_eq!(
        cmds,
        [
            "CAPABILITY",
            "LOGIN alice \"s3cret pass\"",
            "EXAMINE INBOX",
            "UID SEARCH ALL",
            "UID FETCH 1:3 (UID RFC822.SIZE BODY.PEEK[])",
            "LOGOUT"
        ]
    );
    assert_eq!(server.protocol().uids("INBOX"), [1, 2, 3], "--keep");
    assert_eq!(
        std::fs::read_to_string(l.state_file(&server)).unwrap(),
        "posthaste-state 1\nINBOX.last 3\nINBOX.uidvalidity 1000\n\n"
    );
    // Nothing new: nothing fetched, exit 0.
    l.run(&server, &["--maildir", &md]).ok();
    assert_eq!(commands_of(&server, "UID FETCH").len(), 1);
    assert_eq!(commands_of(&server, "UID SEARCH")[1], "UID SEARCH UID 4:*");
    assert_eq!(l.md().len(), 3);
    // New mail: exactly those.
    server
        .protocol()
        .deliver("INBOX", "Subject: four\r\n\r\n4\r\n");
    server
        .protocol()
        .deliver("INBOX", "Subject: five\r\n\r\n5\r\n");
    l.run(&server, &["--maildir", &md]).ok();
    assert_eq!(
        commands_of(&server, "UID FETCH")[1],
        "UID FETCH 4:5 (UID RFC822.SIZE BODY.PEEK[])"
    );
    assert_eq!(
        l.md()[3..],
        ["Subject: four\n\n4\n", "Subject: five\n\n5\n"]
    );
    // --all fetches everything again.
    l.run(&server, &["--maildir", &md, "--all"]).ok();
    assert_eq!(l.md().len(), 10);
}

#[test]
fn literals_written_a_byte_at_a_time_give_the_same_messages() {
    let server = imap(&messages()).bytewise().uid_after_body().start();
    let l = Local::new("bytewise");
    // A missing folder (and the one above it) is made, as a Maildir is: no --create-dirs.
    let out = l.dir.join("new/out");
    l.run(&server, &["-O", out.to_str().unwrap()]).ok();
    let got: Vec<String> = ["0001.eml", "0002.eml", "0003.eml"]
        .iter()
        .map(|n| std::fs::read_to_string(out.join(n)).unwrap())
        .collect();
    assert_eq!(got, stored());
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 3);
}

#[test]
fn untagged_exists_and_flag_changes_mid_fetch_are_taken_in_stride() {
    let server = imap(&messages()).noise().start();
    let l = Local::new("noise");
    l.run(&server, &["--maildir", &l.md_arg()]).ok();
    assert_eq!(l.md(), stored());
}

#[test]
fn a_connection_dropped_inside_a_literal_records_nothing_of_it() {
    let server = imap(&messages()).drop_in_literal(2).start();
    let l = Local::new("drop");
    let out = l.run(&server, &["--maildir", &l.md_arg()]);
    let line = out.fails(74);
    assert!(line.contains("received"), "{line}");
    // The first message is delivered and recorded; the second is not there at all.
    assert_eq!(l.md(), stored()[..1]);
    assert_eq!(
        std::fs::read_to_string(l.state_file(&server)).unwrap(),
        "posthaste-state 1\nINBOX.last 0\nINBOX.uidvalidity 1000\n\nINBOX:1000:1\n"
    );
    // The next run (against a server that behaves) fetches the other two only, and with
    // --delete deletes the one delivered before too (its copy is durable).
    let good = imap(&messages()).start();
    let url = url(&good);
    let mut args = vec![
        "--maildir".to_string(),
        l.md_arg(),
        "--delete".into(),
        "--state-file".into(),
    ];
    args.push(l.state_file(&server).to_str().unwrap().to_string());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    l.run_url(&url, &["--tls", "none"], &args).ok();
    assert_eq!(
        commands_of(&good, "UID FETCH"),
        ["UID FETCH 2:3 (UID RFC822.SIZE BODY.PEEK[])"]
    );
    assert_eq!(l.md(), stored());
    assert_eq!(
        commands_of(&good, "UID STORE"),
        [
            "UID STORE 1 +FLAGS.SILENT (\\Deleted)",
            "UID STORE 2:3 +FLAGS.SILENT (\\Deleted)"
        ]
    );
    assert!(good.protocol().uids("INBOX").is_empty());
}

#[test]
fn a_tagged_no_or_bad_to_fetch_fails_the_run() {
    let server = imap(&messages())
        .reply("UID FETCH", "$TAG NO [SERVERBUG] Internal error\r\n")
        .start();
    let l = Local::new("no");
    let line = l
        .run(&server, &["--maildir", &l.md_arg()])
        .fails(75)
        .to_string();
    assert!(line.contains("SERVERBUG"), "{line}");
    let server = imap(&messages())
        .reply("UID FETCH", "$TAG BAD Error in IMAP command\r\n")
        .start();
    let l = Local::new("bad");
    l.run(&server, &["--maildir", &l.md_arg()]).fails(76);
    assert!(l.md().is_empty());
}

#[test]
fn delete_without_uidplus_is_refused_before_anything_is_fetched() {
    let server = imap(&messages()).no_uidplus().start();
    let l = Local::new("nouidplus");
    let line = l
        .run(&server, &["--maildir", &l.md_arg(), "--delete"])
        .fails(69)
        .to_string();
    assert!(line.contains("UIDPLUS"), "{line}");
    assert!(commands_of(&server, "UID FETCH").is_empty());
    assert_eq!(server.protocol().uids("INBOX"), [1, 2, 3]);
}

#[test]
fn delete_expunges_exactly_what_was_delivered() {
    let server = imap(&messages()).start();
    // Another client marked a message \Deleted: it must survive our expunge.
    server
        .protocol()
        .deliver("INBOX", "Subject: other\r\n\r\nx\r\n");
    server.protocol().set_flag("INBOX", 4, "\\Deleted");
    let l = Local::new("delete");
    let o = l.run(
        &server,
        &["--maildir", &l.md_arg(), "--delete", "--limit", "3"],
    );
    assert_eq!(o.code, Some(0), "{o:#?}");
    assert_eq!(
        o.stderr,
        "imap-fetch: folder INBOX: 1 more messages wait on the server (--limit)\n"
    );
    assert_eq!(l.md(), stored());
    assert_eq!(server.protocol().uids("INBOX"), [4]);
    let cmds = commands(&server);
    assert!(cmds.contains(&"SELECT INBOX".to_string()), "{cmds:#?}");
    assert!(
        cmds.contains(&"UID STORE 1:3 +FLAGS.SILENT (\\Deleted)".to_string()),
        "{cmds:#?}"
    );
    assert!(cmds.contains(&"UID EXPUNGE 1:3".to_string()), "{cmds:#?}");
    assert!(!cmds.contains(&"EXPUNGE".to_string()));
}

#[test]
fn seen_sets_the_flag_after_delivery_and_unseen_skips_seen_mail() {
    let server = imap(&messages()).start();
    server.protocol().set_flag("INBOX", 2, "\\Seen");
    let l = Local::new("seen");
    l.run(&server, &["--maildir", &l.md_arg(), "--unseen", "--seen"])
        .ok();
    assert_eq!(l.md(), [stored()[0].clone(), stored()[2].clone()]);
    assert_eq!(commands_of(&server, "UID SEARCH"), ["UID SEARCH UNSEEN"]);
    assert!(commands(&server).contains(&"UID STORE 1,3 +FLAGS.SILENT (\\Seen)".to_string()));
    for u in 1..=3 {
        assert_eq!(server.protocol().flags("INBOX", u), ["\\Seen"], "{u}");
    }
}

#[test]
fn starttls_injection_is_refused() {
    let server = imap(&messages())
        .starttls()
        .reply(
            "STARTTLS",
            "$TAG OK Begin TLS\r\n* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] injected\r\n",
        )
        .start();
    let l = Local::new("inject");
    let line = l
        .run_url(&url(&server), &[], &["--maildir", &l.md_arg()])
        .fails(76)
        .to_string();
    assert!(line.contains("before the TLS handshake"), "{line}");
    assert!(!commands(&server).iter().any(|c| c.starts_with("LOGIN")));
}

#[test]
fn no_starttls_means_no_password_in_cleartext() {
    let server = imap(&messages()).start();
    let l = Local::new("cleartext");
    let line = l
        .run_url(&url(&server), &[], &["--maildir", &l.md_arg()])
        .fails(69)
        .to_string();
    assert!(line.contains("--tls none"), "{line}");
    assert!(!commands(&server).iter().any(|c| c.starts_with("LOGIN")));
}

#[test]
fn a_bad_password_is_77_and_never_shown() {
    let server = imap(&messages()).start();
    let l = Local::new("badpass");
    let o = l
        .imap_fetch(&url(&server))
        .env("IMAP_PASS", "wrong horse")
        .args(["--tls", "none", "-v", "--maildir", &l.md_arg()])
        .run();
    assert_eq!(o.code, Some(77));
    let err = &o.stderr;
    assert!(err.contains("AUTHENTICATIONFAILED"), "{err}");
    assert!(err.contains("C: a2 LOGIN alice ****"), "{err}");
    assert!(!err.contains("wrong horse"), "{err}");
}

#[test]
fn authenticate_plain_with_sasl_ir() {
    let server = imap(&messages()).auth_plain().start();
    let l = Local::new("plain");
    l.run(&server, &["--maildir", &l.md_arg()]).ok();
    let cmds = commands(&server);
    assert!(cmds[1].starts_with("AUTHENTICATE PLAIN "), "{cmds:#?}");
    assert_eq!(l.md().len(), 3);
}

#[test]
fn folders_from_the_url_and_flags_and_the_list() {
    let server = imap(&messages())
        .folder("Entw&APw-rfe", 7, &["Subject: draft\r\n\r\nd\r\n"])
        .start();
    let l = Local::new("folders");
    let o = l.run(&server, &["--list-folders"]);
    o.ok();
    assert_eq!(o.text(), "INBOX\nEntwürfe\n");
    let url = format!("imap://{USER}@127.0.0.1:{}/Entw%C3%BCrfe", server.port());
    l.run_url(&url, &["--tls", "none"], &["--maildir", &l.md_arg()])
        .ok();
    assert_eq!(l.md(), ["Subject: draft\n\nd\n"]);
    assert!(commands(&server).contains(&"EXAMINE Entw&APw-rfe".to_string()));
    // Both folders by --folder: the draft is not fetched again (state per folder).
    l.run(
        &server,
        &[
            "--maildir",
            &l.md_arg(),
            "--folder",
            "INBOX",
            "--folder",
            "Entwürfe",
        ],
    )
    .ok();
    assert_eq!(l.md().len(), 4);
    // A folder that does not exist is 66.
    l.run(&server, &["--maildir", &l.md_arg(), "--folder", "Nope"])
        .fails(66);
}

#[test]
fn the_urls_slashes_become_the_servers_delimiter_and_folder_takes_its_own_name() {
    let server = imap(&messages())
        .delimiter('.')
        .folder("Archive.2026", 7, &["Subject: old\r\n\r\nd\r\n"])
        .start();
    let l = Local::new("delimiter");
    let url = format!("imap://{USER}@127.0.0.1:{}/Archive/2026", server.port());
    l.run_url(&url, &["--tls", "none"], &["--maildir", &l.md_arg()])
        .ok();
    assert_eq!(l.md(), ["Subject: old\n\nd\n"]);
    let sent = commands(&server);
    assert!(sent.contains(&"LIST \"\" \"\"".to_string()), "{sent:?}");
    assert!(
        sent.contains(&"EXAMINE Archive.2026".to_string()),
        "{sent:?}"
    );
    // --folder is the server's own name: its `/` is sent as it is (and is missing here).
    let o = l.run(
        &server,
        &["--maildir", &l.md_arg(), "--folder", "Archive/2026"],
    );
    assert!(o.fails(66).contains("Archive/2026"), "{}", o.fails(66));
    // The same folder by its own name: already delivered (one state per folder).
    l.run(
        &server,
        &["--maildir", &l.md_arg(), "--folder", "Archive.2026"],
    )
    .ok();
    assert_eq!(l.md().len(), 1);
    // A path without `/` asks for no delimiter.
    let before = commands_of(&server, "LIST").len();
    l.run(&server, &["--maildir", &l.md_arg()]).ok();
    assert_eq!(commands_of(&server, "LIST").len(), before);
}

#[test]
fn a_bare_no_to_examine_is_66_when_list_shows_no_such_folder_and_69_otherwise() {
    let server = imap(&messages()).bare_no().locked("Private").start();
    let l = Local::new("bare-no");
    let o = l.run(&server, &["--maildir", &l.md_arg(), "--folder", "Nope"]);
    assert_eq!(
        o.fails(66),
        format!(
            "imap-fetch: 127.0.0.1:{}: no folder Nope on the server (LIST shows the folders: --list-folders)",
            server.port()
        )
    );
    assert!(commands(&server).contains(&"LIST \"\" Nope".to_string()));
    // Listed, yet refused: the server's own words, 69.
    let o = l.run(&server, &["--maildir", &l.md_arg(), "--folder", "Private"]);
    assert_eq!(
        o.fails(69),
        format!(
            "imap-fetch: 127.0.0.1:{}: folder Private: server said: NO Permission denied",
            server.port()
        )
    );
    assert!(l.md().is_empty());
}

#[test]
fn a_new_uidvalidity_fetches_the_folder_as_new() {
    let server = imap(&messages()).start();
    let l = Local::new("uidvalidity");
    l.run(&server, &["--maildir", &l.md_arg()]).ok();
    server.protocol().set_uidvalidity("INBOX", 2000);
    let o = l.run(&server, &["--maildir", &l.md_arg()]);
    assert_eq!(o.code, Some(0), "{o:#?}");
    assert!(
        o.stderr.contains("UIDVALIDITY changed from 1000 to 2000"),
        "{o:#?}"
    );
    assert_eq!(l.md().len(), 6);
    // --reset-state: nothing fetched, and --new starts from now.
    server.protocol().set_uidvalidity("INBOX", 3000);
    let o = l.run(&server, &["--maildir", &l.md_arg(), "--reset-state"]);
    assert_eq!(o.code, Some(0), "{o:#?}");
    assert!(o.stderr.contains("(--reset-state)"), "{o:#?}");
    l.run(&server, &["--maildir", &l.md_arg()]).ok();
    assert_eq!(l.md().len(), 6);
}

#[test]
fn idle_fetches_what_arrives_and_a_sigterm_ends_it_cleanly() {
    let server = imap(&messages()).start();
    let l = Local::new("idle");
    let mut c = l
        .imap_fetch(&url(&server))
        .args(["--tls", "none", "--idle", "--maildir", &l.md_arg()])
        .command();
    let child = run::spawn(c.stdout(Stdio::piped()).stderr(Stdio::piped()));
    let wait_for = |what: &str, f: &dyn Fn() -> bool| {
        for _ in 0..2000 {
            if f() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("{what} never happened: {:#?}", server.transcript());
    };
    wait_for("the first IDLE", &|| {
        commands(&server).iter().any(|c| c == "IDLE")
    });
    assert_eq!(l.md().len(), 3);
    server
        .protocol()
        .deliver("INBOX", "Subject: while waiting\r\n\r\nw\r\n");
    wait_for("the second IDLE", &|| {
        commands(&server).iter().filter(|c| *c == "IDLE").count() == 2
    });
    assert_eq!(l.md().last().unwrap(), "Subject: while waiting\n\nw\n");
    let o = child.terminate();
    assert_eq!(o.status.code(), Some(0), "{o:#?}");
    assert_eq!(String::from_utf8_lossy(&o.stderr), "");
    let cmds = commands(&server);
    assert_eq!(
        cmds[cmds.len() - 3..],
        ["IDLE", "DONE", "LOGOUT"],
        "{cmds:#?}"
    );
    assert_eq!(
        commands_of(&server, "UID FETCH"),
        [
            "UID FETCH 1:3 (UID RFC822.SIZE BODY.PEEK[])",
            "UID FETCH 4 (UID RFC822.SIZE BODY.PEEK[])"
        ]
    );
}

#[test]
fn every_store_of_pop_fetch_and_since() {
    let server = imap(&messages()).start();
    let l = Local::new("stores");
    // mboxrd on standard output.
    let o = l.run(&server, &["--stdout", "--all", "--since", "2026-02-01"]);
    assert_eq!(o.code, Some(0), "{o:#?}");
    assert_eq!(o.text().matches("\nFrom ").count() + 1, 3, "{}", o.text());
    assert!(o.text().starts_with("From MAILER-DAEMON "), "{}", o.text());
    assert!(
        o.text().contains("Subject: three\n\na\rb\n)\n{5}\n"),
        "{}",
        o.text()
    );
    assert_eq!(
        commands_of(&server, "UID SEARCH"),
        ["UID SEARCH SINCE 1-Feb-2026"]
    );
    // An mbox file, and an MDA that writes each message to a numbered file.
    let mbox = l.dir.join("mail.mbox");
    l.run(&server, &["--mbox", mbox.to_str().unwrap(), "--all"])
        .ok();
    let text = std::fs::read_to_string(&mbox).unwrap();
    assert!(text.contains("Subject: two\n\nno final newline"), "{text}");
    let out = l.dir.join("mda");
    std::fs::create_dir(&out).unwrap();
    let cmd = format!("cat > {}/$$.eml", out.display());
    l.run(&server, &["--mda", &cmd, "--all"]).ok();
    let mut got: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    got.sort();
    let mut want = stored();
    want.sort();
    assert_eq!(got, want);
    // None at all is a usage error.
    let o = l.run(&server, &[]);
    assert_eq!(o.code, Some(64), "{o:#?}");
}

#[test]
fn a_second_run_for_the_same_account_stops_at_once() {
    // The first run hangs in its fetch (the server never answers), holding the lock.
    let server = imap(&messages()).stall_on("UID FETCH").start();
    let l = Local::new("twice");
    let mut c = l
        .imap_fetch(&url(&server))
        .args(["--tls", "none", "--maildir", &l.md_arg()])
        .command();
    let first = run::spawn(c.stdout(Stdio::null()).stderr(Stdio::null()));
    for _ in 0..2000 {
        if commands(&server).iter().any(|c| c.starts_with("UID FETCH")) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let line = l
        .run(&server, &["--maildir", &l.md_arg()])
        .fails(75)
        .to_string();
    assert!(line.contains("another run"), "{line}");
    assert_eq!(commands_of(&server, "UID FETCH").len(), 1);
    drop(first);
}

#[test]
fn a_cleartext_preauth_greeting_is_refused_unless_tls_none() {
    // A man in the middle answers for the server: `* PREAUTH` and a folder of its own.
    let greeting = "* PREAUTH [CAPABILITY IMAP4rev1] logged in already\r\n";
    let server = imap(&["Subject: phishing\r\n\r\nclick\r\n"])
        .greeting(greeting)
        .start();
    let l = Local::new("preauth");
    for tls in [&[][..], &["--tls", "auto"], &["--tls", "required"]] {
        let o = l.run_url(&url(&server), tls, &["--maildir", &l.md_arg()]);
        let line = o.fails(69);
        assert!(
            line.contains("PREAUTH") && line.contains("--tls none"),
            "{line}"
        );
    }
    // Nothing was asked for, nothing stored, nothing recorded.
    assert!(commands(&server).is_empty(), "{:#?}", commands(&server));
    assert!(l.md().is_empty());
    assert!(!l.state_file(&server).exists());
    // --tls none takes the user at their word.
    l.run(&server, &["--maildir", &l.md_arg()]).ok();
    assert_eq!(l.md(), ["Subject: phishing\n\nclick\n"]);
}

#[test]
fn after_the_highest_uid_there_is_nothing_to_ask_for() {
    // UIDs are 32-bit (RFC 3501 section 2.3.1.1): after 4294967295 nothing can come without
    // a new UIDVALIDITY, and `UID 4294967296:*` is no UID set at all.
    let server = imap(&messages()).start();
    let l = Local::new("top");
    let state = l.dir.join("top.state");
    std::fs::write(
        &state,
        "posthaste-state 1\nINBOX.last 4294967295\nINBOX.uidvalidity 1000\n\n",
    )
    .unwrap();
    let st = state.to_str().unwrap();
    l.run(&server, &["--maildir", &l.md_arg(), "--state-file", st])
        .ok();
    assert_eq!(
        commands(&server),
        [
            "CAPABILITY",
            "LOGIN alice \"s3cret pass\"",
            "EXAMINE INBOX",
            "LOGOUT"
        ]
    );
    assert!(l.md().is_empty());
    assert_eq!(
        std::fs::read_to_string(&state).unwrap(),
        "posthaste-state 1\nINBOX.last 4294967295\nINBOX.uidvalidity 1000\n\n"
    );
    // --unseen and --since narrow nothing further: still no search.
    l.run(
        &server,
        &["--maildir", &l.md_arg(), "--state-file", st, "--unseen"],
    )
    .ok();
    assert!(commands_of(&server, "UID SEARCH").is_empty());
}

#[test]
fn a_huge_literal_nobody_asked_for_is_refused_unread() {
    // The server announces a junk literal of almost 1 TB and then trickles (here: sends
    // nothing). It is refused at once, not drained until the timeout.
    let server = imap(&messages())
        .reply("UID FETCH", "* 1 FETCH (UID 1 X-JUNK {999999999999}\r\nxy")
        .start();
    let l = Local::new("junk");
    let line = l
        .run(&server, &["--maildir", &l.md_arg()])
        .fails(76)
        .to_string();
    assert_eq!(
        line,
        format!(
            "imap-fetch: 127.0.0.1:{}: a literal of 999999999999 octets nobody asked for (more than 64 KiB in one response): not read",
            server.port()
        )
    );
    assert!(l.md().is_empty());
    assert_eq!(
        std::fs::read_to_string(l.state_file(&server)).unwrap(),
        "posthaste-state 1\nINBOX.last 0\nINBOX.uidvalidity 1000\n\n"
    );
}

/// Runs imap-fetch against a server that leaves message 2 out in the way `faults` says:
/// the run stores the others and fails with `line` (`PORT` for the server's port), records
/// what it stored and nothing above the first gap; once the server tells the truth, the
/// next run fetches message 2 and a message that arrived meanwhile.
fn the_message_left_out_is_fetched_next_time(
    tag: &str,
    faults: Faults,
    stored_first: &[usize],
    line: &str,
    state: Option<&str>,
) {
    let server = imap(&messages()).faults(faults).start();
    let l = Local::new(tag);
    let o = l.run(&server, &["--maildir", &l.md_arg()]);
    let want = line.replace("PORT", &server.port().to_string());
    assert_eq!(o.fails(76), want);
    let first: Vec<String> = stored_first.iter().map(|&i| stored()[i].clone()).collect();
    assert_eq!(l.md(), first);
    assert_eq!(
        std::fs::read_to_string(l.state_file(&server))
            .ok()
            .as_deref(),
        state
    );
    // The server mends its ways, and new mail arrives.
    server.protocol().mend();
    server
        .protocol()
        .deliver("INBOX", "Subject: four\r\n\r\n4\r\n");
    l.run(&server, &["--maildir", &l.md_arg()]).ok();
    let mut got = l.md();
    got.sort();
    let mut want: Vec<String> = stored();
    want.push("Subject: four\n\n4\n".into());
    want.sort();
    assert_eq!(got, want);
    assert_eq!(
        std::fs::read_to_string(l.state_file(&server)).unwrap(),
        "posthaste-state 1\nINBOX.last 4\nINBOX.uidvalidity 1000\n\n"
    );
}

#[test]
fn a_message_left_out_of_a_fetch_answered_ok_is_not_recorded() {
    the_message_left_out_is_fetched_next_time(
        "omit",
        Faults {
            omit: Some(2),
            ..Faults::default()
        },
        &[0, 2],
        "imap-fetch: 127.0.0.1:PORT: folder INBOX: UID 2 was asked for and not sent, though the server still lists it: not recorded, the next run asks again",
        Some("posthaste-state 1\nINBOX.last 1\nINBOX.uidvalidity 1000\n\nINBOX:1000:3\n"),
    );
}

#[test]
fn expungeissued_for_a_message_still_there_is_not_recorded() {
    the_message_left_out_is_fetched_next_time(
        "issued",
        Faults {
            expunge_issued: Some(2),
            ..Faults::default()
        },
        &[0, 2],
        "imap-fetch: 127.0.0.1:PORT: folder INBOX: UID 2 was asked for and not sent, though the server still lists it: not recorded, the next run asks again",
        Some("posthaste-state 1\nINBOX.last 1\nINBOX.uidvalidity 1000\n\nINBOX:1000:3\n"),
    );
}

#[test]
fn a_tagged_ok_before_the_messages_records_nothing() {
    the_message_left_out_is_fetched_next_time(
        "okfirst",
        Faults {
            ok_first: true,
            ..Faults::default()
        },
        &[],
        "imap-fetch: 127.0.0.1:PORT: folder INBOX: UIDs 1, 2, 3 were asked for and not sent, though the server still lists them: not recorded, the next run asks again",
        Some("posthaste-state 1\nINBOX.last 0\nINBOX.uidvalidity 1000\n\n"),
    );
}

#[test]
fn a_bogus_uid_in_search_is_refused_and_never_the_mark() {
    the_message_left_out_is_fetched_next_time(
        "bogus",
        Faults {
            search_extra: Some(4_000_000_000),
            ..Faults::default()
        },
        &[],
        "imap-fetch: 127.0.0.1:PORT: UID SEARCH ALL: the answer names UID 4000000000, not below the folder's UIDNEXT 4, with no new messages announced since it was selected",
        None,
    );
}

#[test]
fn a_message_expunged_meanwhile_is_no_loss_and_not_asked_for_again() {
    // Another client expunged message 2 while it was being fetched: NO [EXPUNGEISSUED],
    // and a search says it is gone. Nothing is owed: exit 0, and the mark passes it.
    let server = imap(&messages())
        .faults(Faults {
            vanish: Some(2),
            ..Faults::default()
        })
        .start();
    let l = Local::new("vanish");
    l.run(&server, &["--maildir", &l.md_arg()]).ok();
    assert_eq!(l.md(), [stored()[0].clone(), stored()[2].clone()]);
    let cmds = commands(&server);
    assert_eq!(
        cmds[4..],
        [
            "UID FETCH 1:3 (UID RFC822.SIZE BODY.PEEK[])",
            "NOOP",
            "UID SEARCH UID 2",
            "LOGOUT"
        ]
    );
    assert_eq!(
        std::fs::read_to_string(l.state_file(&server)).unwrap(),
        "posthaste-state 1\nINBOX.last 3\nINBOX.uidvalidity 1000\n\n"
    );
    l.run(&server, &["--maildir", &l.md_arg()]).ok();
    assert_eq!(
        commands_of(&server, "UID SEARCH"),
        ["UID SEARCH ALL", "UID SEARCH UID 2", "UID SEARCH UID 4:*"]
    );
    assert_eq!(commands_of(&server, "UID FETCH").len(), 1);
}

#[test]
fn max_size_skips_and_names_larger_messages_until_the_limit_allows_them() {
    let big = format!("Subject: big\r\n\r\n{}\r\n", "x".repeat(3000));
    let server = imap(&[messages()[0], &big, messages()[2]]).start();
    let l = Local::new("maxsize");
    let note = format!(
        "imap-fetch: 127.0.0.1:{}: folder INBOX: UID 2: {} bytes, over --max-size 2048: skipped\n",
        server.port(),
        big.len()
    );
    for _ in 0..2 {
        let o = l.run(&server, &["--maildir", &l.md_arg(), "--max-size", "2k"]);
        assert_eq!(o.code, Some(0), "{o:#?}");
        assert_eq!(o.stderr, note);
        assert_eq!(l.md(), [stored()[0].clone(), stored()[2].clone()]);
        // Not recorded: the mark stays below it, and what came after is kept by its UID.
        assert_eq!(
            std::fs::read_to_string(l.state_file(&server)).unwrap(),
            "posthaste-state 1\nINBOX.last 1\nINBOX.uidvalidity 1000\n\nINBOX:1000:3\n"
        );
    }
    assert_eq!(
        commands_of(&server, "UID FETCH"),
        [
            "UID FETCH 1:3 (UID RFC822.SIZE)",
            "UID FETCH 1,3 (UID RFC822.SIZE BODY.PEEK[])",
            "UID FETCH 2 (UID RFC822.SIZE)",
        ]
    );
    // Without the limit it comes, and the mark passes it.
    l.run(&server, &["--maildir", &l.md_arg()]).ok();
    assert_eq!(l.md().len(), 3);
    assert!(l.md()[2].starts_with("Subject: big\n\nxxx"));
    assert_eq!(
        std::fs::read_to_string(l.state_file(&server)).unwrap(),
        "posthaste-state 1\nINBOX.last 3\nINBOX.uidvalidity 1000\n\n"
    );
}

#[test]
fn a_message_longer_than_its_size_or_the_limit_is_refused_unread() {
    // RFC822.SIZE says 10 and the literal a terabyte: refused at once, nothing written.
    let server = imap(&messages())
        .reply(
            "UID FETCH",
            "* 1 FETCH (UID 1 RFC822.SIZE 10 BODY[] {999999999999}\r\nSubject: ",
        )
        .start();
    let l = Local::new("longer");
    let line = l
        .run(&server, &["--maildir", &l.md_arg()])
        .fails(76)
        .to_string();
    assert_eq!(
        line,
        format!(
            "imap-fetch: 127.0.0.1:{}: UID FETCH: UID 1: a message of 999999999999 octets, though its RFC822.SIZE is 10: not read",
            server.port()
        )
    );
    assert!(l.md().is_empty());
    assert_eq!(
        std::fs::read_dir(l.maildir().join("tmp")).unwrap().count(),
        0
    );
    // A server that gives the size only after the message: --max-size bounds it anyway.
    let server = imap(&messages())
        .reply_once(
            "UID FETCH",
            "* 1 FETCH (UID 1 RFC822.SIZE 10)\r\n$TAG OK done\r\n",
        )
        .reply("UID FETCH", "* 1 FETCH (BODY[] {999999999999}\r\nSubject: ")
        .start();
    let l = Local::new("longer2");
    let line = l
        .run(&server, &["--maildir", &l.md_arg(), "--max-size", "1M"])
        .fails(76)
        .to_string();
    assert!(
        line.ends_with(
            ": UID FETCH: a message of 999999999999 octets, over --max-size 1048576: not read"
        ),
        "{line}"
    );
    assert!(l.md().is_empty());
}

/// The progress has a total, as pop-fetch's has LIST's: RFC822.SIZE of what will be fetched,
/// asked before the bodies only when progress is shown (here `--progress lines`).
#[test]
fn progress_lines_say_a_percentage_of_the_sizes_asked_first() {
    let body = format!("Subject: big\r\n\r\n{}\r\n", "x".repeat(380));
    let server = imap(&[body.as_str(), "Subject: small\r\n\r\ns\r\n"])
        .drip(std::time::Duration::from_millis(6))
        .start();
    let l = Local::new("progress-pct");
    let o = l.run(
        &server,
        &[
            "--progress",
            "lines",
            "--limit",
            "1",
            "--maildir",
            &l.md_arg(),
        ],
    );
    assert_eq!(o.code, Some(0), "{o:?}");
    assert!(!o.stderr.contains('\x1b') && !o.stderr.contains('\r'));
    let name = format!("127.0.0.1:{} INBOX: 1 message: ", server.port());
    let total = format!(" of {} B (", body.len());
    let between: Vec<&str> = o
        .stderr
        .lines()
        .filter(|l| l.starts_with(&name) && l.contains(&total) && l.contains("%), "))
        .collect();
    assert!(!between.is_empty(), "{}", o.stderr);
    // Only what --limit lets through is asked about and counted.
    assert_eq!(
        commands_of(&server, "UID FETCH"),
        [
            "UID FETCH 1 (UID RFC822.SIZE)",
            "UID FETCH 1 (UID RFC822.SIZE BODY.PEEK[])"
        ]
    );
    // Without a progress display, no question more.
    let server = imap(&messages()).start();
    let l = Local::new("progress-pct-none");
    l.run(&server, &["--maildir", &l.md_arg()]).ok();
    assert_eq!(
        commands_of(&server, "UID FETCH"),
        ["UID FETCH 1:3 (UID RFC822.SIZE BODY.PEEK[])"]
    );
}

/// `--idle --progress lines` says once that it waits, each time a wait starts (not at each
/// re-issue of IDLE), and each fetch's own line; `-q` says nothing.
#[test]
fn idle_says_once_that_it_waits_for_new_mail() {
    for quiet in [false, true] {
        let server = imap(&messages()).start();
        let l = Local::new("idle-lines");
        let mut c = l
            .imap_fetch(&url(&server))
            .args(["--tls", "none", "--idle", "--progress", "lines"])
            .args(["--maildir", &l.md_arg()])
            .args(if quiet { &["-q"][..] } else { &[] })
            .command();
        let child = run::spawn(c.stdout(Stdio::piped()).stderr(Stdio::piped()));
        let idles = |n: usize| {
            for _ in 0..2000 {
                if commands(&server).iter().filter(|c| *c == "IDLE").count() == n {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            panic!("IDLE {n} never came: {:#?}", server.transcript());
        };
        idles(1);
        server
            .protocol()
            .deliver("INBOX", "Subject: while waiting\r\n\r\nw\r\n");
        idles(2);
        let o = child.terminate();
        assert_eq!(o.status.code(), Some(0), "{o:#?}");
        let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
        if quiet {
            assert_eq!(stderr, "");
            continue;
        }
        let port = server.port();
        let lines: Vec<String> = stderr
            .lines()
            .map(|l| match l.rsplit_once(" since ") {
                // The local time of day the wait started: HH:MM.
                Some((what, at)) if at.len() == 5 && at.as_bytes()[2] == b':' => {
                    format!("{what} since HH:MM")
                }
                _ => l.split(" in ").next().unwrap_or(l).to_string(),
            })
            .collect();
        let waiting = format!("127.0.0.1:{port}: waiting for new mail in INBOX (IDLE) since HH:MM");
        assert_eq!(
            lines,
            [
                format!("127.0.0.1:{port} INBOX: 3 messages: 89 B"),
                waiting.clone(),
                format!("127.0.0.1:{port} INBOX: 1 message: 29 B"),
                waiting,
                "imap-fetch: 4 new messages, 118 B".to_string(),
            ],
            "{stderr}"
        );
    }
}

/// A local write that fails mid-run (over quota, through the debug builds' fault hook): one
/// line that ends with what the run leaves; nothing was expunged (the batch never ended),
/// and the rerun fetches only the rest, then deletes all three.
#[test]
fn over_quota_says_what_was_stored_and_a_rerun_fetches_the_rest() {
    if !cfg!(debug_assertions) {
        return; // the hook is compiled into debug builds only
    }
    let server = imap(&messages()).start();
    let l = Local::new("quota");
    let args = ["--maildir", &l.md_arg(), "--delete"];
    let o = l
        .imap_fetch(&url(&server))
        .args(["--tls", "none", "--timeout", "10"])
        .args(args)
        .env("POSTHASTE_TEST_WRITE_FAULT", "2:EDQUOT")
        .run();
    let line = o.fails(74);
    let start = format!("imap-fetch: Maildir {}/tmp/", l.md_arg());
    let end = ": Disk quota exceeded (1 of 3 messages stored, no message was deleted on the server before it was stored; run again when there is space)";
    assert!(line.starts_with(&start) && line.ends_with(end), "{line}");
    assert_eq!(l.md(), stored()[..1]);
    assert!(commands_of(&server, "UID STORE").is_empty());
    assert!(commands_of(&server, "UID EXPUNGE").is_empty());
    assert_eq!(server.protocol().uids("INBOX"), [1, 2, 3]);
    l.run(&server, &args).ok();
    assert_eq!(l.md(), stored());
    assert_eq!(
        commands_of(&server, "UID FETCH").last().unwrap(),
        "UID FETCH 2:3 (UID RFC822.SIZE BODY.PEEK[])"
    );
    assert!(server.protocol().uids("INBOX").is_empty());
}

/// Sizes a hostile server says, whose sum passes 64 bits: no total (and no percentage), not
/// a crash of the run, whose messages are fetched as any others.
#[test]
fn sizes_that_add_up_past_64_bits_give_no_total() {
    let server = imap(&messages())
        .reply_once(
            "UID FETCH",
            "* 1 FETCH (UID 1 RFC822.SIZE 18446744073709551615)\r\n* 2 FETCH (UID 2 RFC822.SIZE 18446744073709551615)\r\n* 3 FETCH (UID 3 RFC822.SIZE 2)\r\n$TAG OK done\r\n",
        )
        .start();
    let l = Local::new("progress-huge-sizes");
    let o = l.run(&server, &["--progress", "lines", "--maildir", &l.md_arg()]);
    assert_eq!(o.code, Some(0), "{o:?}");
    assert_eq!(l.md().len(), 3);
    assert!(!o.stderr.contains('%'), "{}", o.stderr);
    assert_eq!(
        commands_of(&server, "UID FETCH"),
        [
            "UID FETCH 1:3 (UID RFC822.SIZE)",
            "UID FETCH 1:3 (UID RFC822.SIZE BODY.PEEK[])"
        ]
    );
}
