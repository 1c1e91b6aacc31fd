//! pop-fetch end to end: the real binary against the fake POP3 server, checked by what a
//! user sees: the messages on disk, the commands on the wire, the exit status, the line on
//! stderr, and what is left on the server.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::support::fake_pop::*;
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
            dir: TempDir::new(&format!("pop-{tag}")),
        }
    }

    fn maildir(&self) -> PathBuf {
        self.dir.join("Mail")
    }

    fn state(&self) -> PathBuf {
        self.dir.join("state")
    }

    /// Runs pop-fetch against `server` with `args` (the URL and the password come first).
    fn run(&self, server: &Server<FakePop>, args: &[&str]) -> Out {
        self.run_url(&url(server), args)
    }

    fn run_url(&self, url: &str, args: &[&str]) -> Out {
        self.pop_fetch(url)
            .args(["--tls", "none", "--timeout", "10"])
            .args(args)
            .run()
    }

    /// pop-fetch for `url` as this test's user: its HOME and state folder, the password
    /// from `$POP_PASS`.
    fn pop_fetch(&self, url: &str) -> Tool {
        tool("pop-fetch")
            .home(self.dir.join("home"))
            .env("XDG_STATE_HOME", self.state())
            .env("POP_PASS", PASS)
            .args([url, "--password-env", "POP_PASS"])
    }

    fn md(&self) -> Vec<String> {
        maildir_messages(&self.maildir())
    }
}

fn url(server: &Server<FakePop>) -> String {
    format!("pop3://{USER}@127.0.0.1:{}", server.port())
}

/// The messages in a Maildir's new/, in delivery order (by name: time, then counter).
pub fn maildir_messages(root: &Path) -> Vec<String> {
    let new = root.join("new");
    let mut names: Vec<PathBuf> = match std::fs::read_dir(&new) {
        Ok(d) => d.map(|e| e.unwrap().path()).collect(),
        Err(_) => return Vec::new(),
    };
    names.sort_by_key(|p| {
        // secs.M<usec>P<pid>Q<n>.host: in delivery order by time, then counter.
        let n = p.file_name().unwrap().to_string_lossy().into_owned();
        let num = |s: Option<&str>| s.and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
        let secs = num(n.split('.').next());
        let usec = num(n.split(".M").nth(1).and_then(|r| r.split('P').next()));
        let q = num(n.split('Q').nth(1).and_then(|r| r.split('.').next()));
        (secs, usec, q)
    });
    assert!(
        std::fs::read_dir(root.join("tmp"))
            .unwrap()
            .next()
            .is_none(),
        "nothing left in tmp/"
    );
    names
        .iter()
        .map(|p| String::from_utf8(std::fs::read(p).unwrap()).unwrap())
        .collect()
}

/// The multi-line edge cases: a line that is a lone `.`, lines starting with `.` and `..`,
/// a lone CR, and a message without a final line end.
fn edge_messages() -> Vec<(&'static str, &'static str)> {
    vec![
        ("uid-1", "Subject: one\r\n\r\nhello\r\n.\r\n..x\r\n.y\r\n"),
        ("uid-2", "Subject: two\r\n\r\nno final newline"),
        ("uid-3", "Subject: three\r\n\r\na\rb\r\n\r\n"),
    ]
}

/// The state file after `edge_messages()[i]` for each `i` were stored: `UIDL SIZE`, with
/// `mark` (" dele" for a --delete run's).
fn recorded(which: &[usize], mark: &str) -> String {
    let msgs = edge_messages();
    let mut s = String::from("posthaste-state 2\n\n");
    for &i in which {
        s.push_str(&format!("{} {}{mark}\n", msgs[i].0, msgs[i].1.len()));
    }
    s
}

/// What the store holds for each: LF line ends, unstuffed, a lone CR kept.
fn edge_stored() -> Vec<String> {
    vec![
        "Subject: one\n\nhello\n.\n..x\n.y\n".into(),
        "Subject: two\n\nno final newline\n".into(),
        "Subject: three\n\na\rb\n\n".into(),
    ]
}

#[test]
fn new_mail_goes_into_a_maildir_once_and_new_arrivals_later() {
    let server = pop(&edge_messages()).start();
    let l = Local::new("maildir");
    let md = l.maildir();
    l.run(&server, &["--maildir", md.to_str().unwrap()]).ok();
    assert_eq!(l.md(), edge_stored());
    assert_eq!(
        server.protocol().remaining().len(),
        3,
        "--keep is the default"
    );
    assert_eq!(server.commands("RETR"), ["RETR 1", "RETR 2", "RETR 3"]);
    assert_eq!(server.commands("QUIT").len(), 1);
    assert!(server.commands("DELE").is_empty());
    // One state per user and host, whatever the port; each UIDL with its size.
    let state = l.state().join(format!("posthaste/pop/{USER}@127.0.0.1"));
    assert_eq!(
        std::fs::read_to_string(&state).unwrap(),
        recorded(&[0, 1, 2], "")
    );
    // Nothing new: nothing fetched, exit 0.
    l.run(&server, &["--maildir", md.to_str().unwrap()]).ok();
    assert_eq!(server.commands("RETR").len(), 3);
    assert_eq!(l.md().len(), 3);
    // New mail: exactly that one.
    server
        .protocol()
        .deliver("uid-4", "Subject: four\r\n\r\n4\r\n");
    l.run(&server, &["--maildir", md.to_str().unwrap()]).ok();
    assert_eq!(server.commands("RETR").len(), 4);
    assert_eq!(server.commands("RETR")[3], "RETR 4");
    assert_eq!(l.md().last().unwrap(), "Subject: four\n\n4\n");
    // --all fetches everything again.
    l.run(&server, &["--maildir", md.to_str().unwrap(), "--all"])
        .ok();
    assert_eq!(l.md().len(), 8);
}

#[test]
fn the_total_is_said_in_every_tools_words_when_progress_shows() {
    let server = pop(&edge_messages()).start();
    let l = Local::new("total");
    let md = l.maildir();
    let o = l.run(
        &server,
        &["--progress", "lines", "--maildir", md.to_str().unwrap()],
    );
    assert_eq!(o.code, Some(0), "{o:?}");
    let last = o.stderr.lines().last().unwrap_or_default();
    let head = "pop-fetch: 3 new messages, ";
    let tail = format!(
        "/s) from 127.0.0.1:{} into Maildir {}",
        server.port(),
        md.display()
    );
    assert!(
        last.starts_with(head) && last.contains(" B in ") && last.ends_with(&tail),
        "{:?}",
        o.stderr
    );
    // Once: the mailbox's bar leaves no line of its own saying the same.
    assert_eq!(o.stderr.lines().count(), 1, "{:?}", o.stderr);
}

#[test]
fn replies_written_a_byte_at_a_time_give_the_same_messages() {
    let server = pop(&edge_messages()).bytewise().start();
    let l = Local::new("bytewise");
    // A missing folder (and the one above it) is made, as a Maildir is: no --create-dirs.
    let out = l.dir.join("new/out");
    l.run(&server, &["-O", out.to_str().unwrap()]).ok();
    let got: Vec<String> = ["0001.eml", "0002.eml", "0003.eml"]
        .iter()
        .map(|n| std::fs::read_to_string(out.join(n)).unwrap())
        .collect();
    assert_eq!(got, edge_stored());
    assert_eq!(
        std::fs::read_dir(&out).unwrap().count(),
        3,
        "no temporary file left"
    );
}

#[test]
fn delete_removes_messages_only_after_they_are_stored_and_at_quit() {
    let server = pop(&edge_messages()).start();
    let l = Local::new("delete");
    let md = l.maildir();
    l.run(&server, &["--maildir", md.to_str().unwrap(), "--delete"])
        .ok();
    assert_eq!(l.md(), edge_stored());
    assert!(server.protocol().remaining().is_empty());
    let t = server.transcript();
    let last_retr = t.iter().rposition(|c| c.starts_with("RETR")).unwrap();
    let first_dele = t.iter().position(|c| c.starts_with("DELE")).unwrap();
    assert!(first_dele > last_retr, "{t:#?}");
    assert_eq!(t.last().unwrap(), "QUIT");
}

#[test]
fn a_connection_dropped_mid_message_records_and_deletes_nothing_of_it() {
    let server = pop(&edge_messages()).drop_on_retr(2).start();
    let l = Local::new("dropped");
    let md = l.maildir();
    let state = l.dir.join("account.state");
    let args = [
        "--maildir",
        md.to_str().unwrap(),
        "--delete",
        "--state-file",
        state.to_str().unwrap(),
    ];
    let line = l.run(&server, &args).fails(74).to_string();
    assert!(line.contains("connection"), "{line}");
    // Message 1 was stored and recorded; 2 (cut short) is nowhere; nothing was deleted and
    // no QUIT was sent, so the server deletes nothing.
    assert_eq!(l.md(), edge_stored()[..1]);
    assert_eq!(
        std::fs::read_to_string(&state).unwrap(),
        recorded(&[0], " dele")
    );
    assert!(server.commands("QUIT").is_empty());
    assert_eq!(server.protocol().remaining().len(), 3);
    // The next run (the server behaving) goes on after message 1, and deletes all three.
    let server = pop(&edge_messages()).start();
    l.run(&server, &args).ok();
    assert_eq!(l.md(), edge_stored());
    assert_eq!(server.commands("RETR"), ["RETR 2", "RETR 3"]);
    assert!(server.protocol().remaining().is_empty());
}

#[test]
fn without_uidl_everything_is_fetched_with_a_note() {
    let server = pop(&edge_messages()).no_uidl().start();
    let l = Local::new("nouidl");
    let md = l.maildir();
    for round in 1..=2 {
        let o = l.run(&server, &["--maildir", md.to_str().unwrap()]);
        assert_eq!(o.code, Some(0), "{o:#?}");
        assert!(o.stderr.contains("has no UIDL"), "{o:#?}");
        assert_eq!(l.md().len(), 3 * round);
    }
}

/// RFC 1939 section 7: a unique-id is 1 to 70 characters from 0x21 to 0x7E. One of 70 is
/// fetched and recorded; one of 71 is a protocol error (76) naming the rule, before
/// anything is fetched.
#[test]
fn a_uidl_longer_than_rfc_1939_allows_is_refused() {
    let (ok, long) = ("u".repeat(70), "u".repeat(71));
    let server = pop(&[(&ok, "Subject: a\r\n\r\nbody\r\n")]).start();
    let l = Local::new("uidl70");
    let md = l.maildir();
    let o = l.run(&server, &["--maildir", md.to_str().unwrap()]);
    assert_eq!(o.code, Some(0), "{o:#?}");
    assert_eq!(l.md().len(), 1);
    let server = pop(&[(&long, "Subject: a\r\n\r\nbody\r\n")]).start();
    let l = Local::new("uidl71");
    let md = l.maildir();
    let o = l.run(&server, &["--maildir", md.to_str().unwrap()]);
    assert_eq!(o.code, Some(76), "{o:#?}");
    assert!(
        o.stderr.ends_with(&format!(
            ": malformed UIDL line: \"1 {long}\" (a unique-id is 1 to 70 printable characters, RFC 1939 section 7; this one has 71)\n"
        )),
        "{o:#?}"
    );
    assert!(!md.exists() || l.md().is_empty());
}

#[test]
fn retr_is_pipelined_when_announced_and_lock_step_otherwise() {
    for pipelining in [true, false] {
        let b = pop(&edge_messages());
        let server = if pipelining {
            b.start()
        } else {
            b.no_pipelining().start()
        };
        let l = Local::new("pipelining");
        let md = l.maildir();
        let o = l.run(&server, &["--maildir", md.to_str().unwrap(), "-v"]);
        assert_eq!(o.code, Some(0), "{o:#?}");
        assert_eq!(l.md(), edge_stored());
        let lines: Vec<&str> = o
            .stderr
            .lines()
            .filter(|l| l.starts_with("C: RETR") || l.starts_with("S: +OK") && l.contains("octets"))
            .collect();
        let want: &[&str] = if pipelining {
            &[
                "C: RETR 1",
                "C: RETR 2",
                "C: RETR 3",
                "S: +OK",
                "S: +OK",
                "S: +OK",
            ]
        } else {
            &[
                "C: RETR 1",
                "S: +OK",
                "C: RETR 2",
                "S: +OK",
                "C: RETR 3",
                "S: +OK",
            ]
        };
        let got: Vec<&str> = lines
            .iter()
            .map(|l| if l.starts_with("S:") { "S: +OK" } else { l })
            .collect();
        assert_eq!(got, want, "{o:#?}");
    }
}

#[test]
fn bytes_injected_before_the_tls_handshake_are_refused() {
    let server = pop(&edge_messages())
        .stls()
        .reply("STLS", "+OK begin TLS\r\n+OK injected\r\n")
        .start();
    let l = Local::new("stls");
    let md = l.maildir();
    let o = l
        .pop_fetch(&url(&server))
        .args(["--timeout", "10", "--maildir", md.to_str().unwrap()])
        .run();
    assert_eq!(o.code, Some(76), "{o:?}");
    let err = &o.stderr;
    assert!(err.contains("before the TLS handshake"), "{err}");
    assert!(server.commands("USER").is_empty() && server.commands("PASS").is_empty());
}

#[test]
fn no_stls_means_no_password_in_cleartext_unless_tls_none() {
    let server = pop(&edge_messages()).start();
    let l = Local::new("nostls");
    let md = l.maildir();
    let o = l
        .pop_fetch(&url(&server))
        .args(["--timeout", "10", "--maildir", md.to_str().unwrap()])
        .run();
    assert_eq!(o.code, Some(69), "{o:?}");
    assert!(o.stderr.contains("--tls none"));
    assert!(server.commands("PASS").is_empty());
}

#[test]
fn a_wrong_password_is_77_and_never_shown() {
    let server = pop(&edge_messages()).start();
    let l = Local::new("badpass");
    let md = l.maildir();
    let o = l
        .pop_fetch(&url(&server))
        .env("POP_PASS", "wrong-horse")
        .args(["--tls", "none", "--timeout", "10", "-v"])
        .args(["--maildir", md.to_str().unwrap()])
        .run();
    assert_eq!(o.code, Some(77), "{o:?}");
    let err = &o.stderr;
    assert!(err.contains("login as alice failed"), "{err}");
    assert!(!err.contains("wrong-horse"), "{err}");
    assert!(err.contains("C: PASS ****"), "{err}");
    assert!(l.md().is_empty());
}

#[test]
fn a_second_run_for_the_same_account_stops_with_75_and_fetches_nothing() {
    let server = pop(&edge_messages()).start();
    let l = Local::new("locked");
    let md = l.maildir();
    let state = l.dir.join("account.state");
    let lock = std::fs::File::create(l.dir.join("account.state.lock")).unwrap();
    // SAFETY: flock on a descriptor this test owns.
    assert_eq!(
        unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&lock), libc::LOCK_EX) },
        0
    );
    let args = [
        "--maildir",
        md.to_str().unwrap(),
        "--state-file",
        state.to_str().unwrap(),
    ];
    let line = l.run(&server, &args).fails(75).to_string();
    assert!(line.contains("another run"), "{line}");
    assert_eq!(
        server.connections(),
        0,
        "nothing fetched, not even a connection"
    );
    drop(lock);
    l.run(&server, &args).ok();
    assert_eq!(l.md().len(), 3);
}

#[test]
fn max_size_limit_and_headers_only() {
    let big = format!("Subject: big\r\n\r\n{}\r\n", "x".repeat(5000));
    let msgs = [
        ("a", "Subject: a\r\n\r\nbody a\r\n"),
        ("b", big.as_str()),
        ("c", "Subject: c\r\n\r\nbody c\r\n"),
        ("d", "Subject: d\r\n\r\nbody d\r\n"),
    ];
    let server = pop(&msgs).start();
    let l = Local::new("limits");
    let md = l.maildir();
    let o = l.run(
        &server,
        &[
            "--maildir",
            md.to_str().unwrap(),
            "--max-size",
            "1k",
            "--limit",
            "2",
        ],
    );
    assert_eq!(o.code, Some(0), "{o:#?}");
    assert!(o.stderr.contains("over --max-size 1024: skipped"), "{o:#?}");
    assert!(o.stderr.contains("1 more messages wait"), "{o:#?}");
    assert_eq!(server.commands("RETR"), ["RETR 1", "RETR 3"]);
    // Headers only, for the one left.
    let o = l.run(
        &server,
        &[
            "--maildir",
            md.to_str().unwrap(),
            "--max-size",
            "1k",
            "--headers-only",
        ],
    );
    assert_eq!(o.code, Some(0), "{o:#?}");
    assert_eq!(server.commands("TOP"), ["TOP 4 0"]);
    assert_eq!(l.md().last().unwrap(), "Subject: d\n\n");
    let o = l.run(
        &server,
        &[
            "--maildir",
            md.to_str().unwrap(),
            "--headers-only",
            "--delete",
        ],
    );
    assert_eq!(o.code, Some(64), "{o:#?}");
}

/// The messages of an mboxrd stream: entries split at `From ` lines, the envelope line
/// dropped, one `>` taken off `>From ` lines, the separating empty line dropped.
pub fn mboxrd_messages(data: &[u8]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    for line in data.split_inclusive(|&b| b == b'\n') {
        if line.starts_with(b"From ") {
            out.push(Vec::new());
            continue;
        }
        let cur = out.last_mut().expect("an mbox starts with a From line");
        let gts = line.iter().take_while(|&&b| b == b'>').count();
        if gts > 0 && line[gts..].starts_with(b"From ") {
            cur.extend_from_slice(&line[1..]);
        } else {
            cur.extend_from_slice(line);
        }
    }
    for m in &mut out {
        assert_eq!(m.pop(), Some(b'\n'), "each entry ends with an empty line");
    }
    out
}

#[test]
fn mbox_gets_from_lines_quoting_and_a_lock() {
    let msgs = [
        (
            "m1",
            "Return-Path: <bob@example.com>\r\nSubject: a\r\n\r\nFrom the start\r\n>From quoted\r\n.\r\n",
        ),
        ("m2", "Subject: b\r\n\r\nno newline"),
    ];
    let server = pop(&msgs).start();
    let l = Local::new("mbox");
    let mbox = l.dir.join("inbox.mbox");
    l.run(&server, &["--mbox", mbox.to_str().unwrap()]).ok();
    let text = std::fs::read_to_string(&mbox).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("From bob@example.com "), "{text}");
    assert!(
        text.contains("\nSubject: a\n\n>From the start\n>>From quoted\n.\n\nFrom MAILER-DAEMON "),
        "{text}"
    );
    assert!(text.ends_with("\nSubject: b\n\nno newline\n\n"), "{text}");
    assert_eq!(
        mboxrd_messages(text.as_bytes()),
        [
            b"Return-Path: <bob@example.com>\nSubject: a\n\nFrom the start\n>From quoted\n.\n"
                .to_vec(),
            b"Subject: b\n\nno newline\n".to_vec()
        ]
    );
    assert!(
        !l.dir.join("inbox.mbox.lock").exists(),
        "the dot-lock goes at the end"
    );
    // Another program's dot-lock: the run waits, then gives up with 75, fetching nothing.
    std::fs::write(l.dir.join("inbox.mbox.lock"), "1").unwrap();
    server.protocol().deliver("m3", "Subject: c\r\n\r\nc\r\n");
    let line = l
        .run(&server, &["--mbox", mbox.to_str().unwrap()])
        .fails(75)
        .to_string();
    assert!(line.contains("inbox.mbox.lock exists"), "{line}");
    assert_eq!(std::fs::read_to_string(&mbox).unwrap(), text);
}

#[test]
fn mda_delivers_only_on_exit_0_and_a_failure_keeps_the_rest() {
    let server = pop(&edge_messages()).start();
    let l = Local::new("mda");
    let out = l.dir.join("mda-out");
    std::fs::create_dir_all(&out).unwrap();
    // The second message makes the MDA fail: the first stays recorded, nothing is deleted.
    let cmd = format!(
        "f=$(mktemp '{}/XXXXXX'); cat > \"$f\"; if grep -q two \"$f\"; then rm \"$f\"; exit 3; fi",
        out.display()
    );
    let line = l
        .run(&server, &["--mda", &cmd, "--delete"])
        .fails(73)
        .to_string();
    assert!(line.contains("exited with status 3"), "{line}");
    assert_eq!(server.protocol().remaining().len(), 3);
    assert!(server.commands("QUIT").is_empty());
    let got: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert_eq!(got, edge_stored()[..1]);
    // A working MDA next time: messages 2 and 3 only, then all deleted.
    let cmd = format!("cat > \"$(mktemp '{}/XXXXXX')\"", out.display());
    l.run(&server, &["--mda", &cmd, "--delete"]).ok();
    // The first run had all three RETRs in flight (PIPELINING) when message 2 failed.
    assert_eq!(
        server.commands("RETR"),
        ["RETR 1", "RETR 2", "RETR 3", "RETR 2", "RETR 3"]
    );
    assert!(server.protocol().remaining().is_empty());
    let mut got: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    got.sort();
    let mut want = edge_stored();
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn stdout_is_an_mboxrd_stream() {
    let server = pop(&edge_messages()).start();
    let l = Local::new("stdout");
    let o = l
        .pop_fetch(&url(&server))
        .args(["--tls", "none", "--stdout"])
        .run();
    assert_eq!(o.code, Some(0), "{o:?}");
    let got: Vec<String> = mboxrd_messages(&o.stdout)
        .into_iter()
        .map(|m| String::from_utf8(m).unwrap())
        .collect();
    assert_eq!(got, edge_stored());
}

#[test]
fn exactly_one_store_is_required() {
    let server = pop(&edge_messages()).start();
    let l = Local::new("nostore");
    let o = l.run(&server, &[]);
    assert_eq!(o.code, Some(64), "{o:?}");
    let o = l.run(&server, &["--stdout", "--maildir", "x"]);
    assert_eq!(o.code, Some(64), "{o:?}");
    assert_eq!(server.connections(), 0);
}

/// pop-fetch started with stdout and stderr piped, for a test that signals it.
fn spawn_pop_fetch(l: &Local, server: &Server<FakePop>, args: &[&str]) -> run::Watched {
    let mut c = l
        .pop_fetch(&url(server))
        .args(["--tls", "none", "--timeout", "60"])
        .args(args)
        .command();
    run::spawn(c.stdout(Stdio::piped()).stderr(Stdio::piped()))
}

/// Waits (within the watchdog) until `ready` says so.
fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !ready() {
        assert!(std::time::Instant::now() < deadline, "never: {what}");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// Sends `sig` to the child and returns its output; it must have died of that signal.
fn signal(child: run::Watched, sig: libc::c_int) -> (String, Vec<u8>) {
    // SAFETY: a signal to the child this test started.
    unsafe { libc::kill(child.id() as libc::pid_t, sig) };
    let o = child.wait_with_output();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&o.status),
        Some(sig),
        "{o:?}"
    );
    (String::from_utf8_lossy(&o.stderr).into_owned(), o.stdout)
}

fn big_message() -> String {
    format!(
        "Subject: big\r\n\r\n{}",
        "0123456789abcdef\r\n".repeat(20_000)
    )
}

/// SIGTERM in the middle of a batch: the mbox is cut back to what the state file records,
/// not just to where the message under way began, so nothing is delivered twice by the
/// next run; the dot-lock goes, and the last line says what was stored.
#[test]
fn sigterm_midway_through_a_batch_cuts_the_mbox_back_to_what_was_recorded() {
    let big = big_message();
    let msgs = [("s1", "Subject: one\r\n\r\n1\r\n"), ("s2", big.as_str())];
    let server = pop(&msgs).stall_in_retr(2).start();
    let l = Local::new("sigterm");
    let mbox = l.dir.join("inbox");
    std::fs::write(
        &mbox,
        "From old Thu Jan  1 00:00:00 1970\nSubject: old\n\nold\n\n",
    )
    .unwrap();
    let before = std::fs::read_to_string(&mbox).unwrap();
    let child = spawn_pop_fetch(&l, &server, &["--mbox", mbox.to_str().unwrap()]);
    // Half of message 2 is in the file (well past message 1, which is not recorded yet).
    wait_for("message 2 half written", || {
        std::fs::metadata(&mbox).unwrap().len() > before.len() as u64 + 64 * 1024
    });
    let (err, _) = signal(child, libc::SIGTERM);
    assert_eq!(std::fs::read_to_string(&mbox).unwrap(), before);
    assert!(!l.dir.join("inbox.lock").exists(), "the dot-lock goes too");
    assert!(server.commands("QUIT").is_empty());
    assert_eq!(
        err,
        format!(
            "pop-fetch: interrupted: nothing stored in mbox {}; nothing was deleted on the server\n",
            mbox.display()
        )
    );
    // The next run delivers both, once.
    let server = pop(&[
        ("s1", "Subject: one\r\n\r\n1\r\n"),
        ("s2", "Subject: two\r\n\r\n2\r\n"),
    ])
    .start();
    l.run(&server, &["--mbox", mbox.to_str().unwrap()]).ok();
    assert_eq!(
        mboxrd_messages(&std::fs::read(&mbox).unwrap()),
        [
            b"Subject: old\n\nold\n".to_vec(),
            b"Subject: one\n\n1\n".to_vec(),
            b"Subject: two\n\n2\n".to_vec()
        ]
    );
}

/// Ctrl-C in the middle of a Maildir batch: this run's files in tmp/ (the message under
/// way and those committed but not yet synced) are removed; what earlier batches stored
/// stays, recorded; the last line says so, and that nothing was deleted on the server.
#[test]
fn ctrl_c_midway_through_a_maildir_batch_leaves_nothing_in_tmp() {
    let big = big_message();
    let mut msgs: Vec<(String, String)> = (0..501)
        .map(|i| (format!("u{i}"), format!("Subject: {i}\r\n\r\n{i}\r\n")))
        .collect();
    msgs.push(("u501".into(), "Subject: 501\r\n\r\n501\r\n".into()));
    msgs.push(("big".into(), big.clone()));
    let refs: Vec<(&str, &str)> = msgs.iter().map(|(u, m)| (u.as_str(), m.as_str())).collect();
    // Batch 1: messages 1-500; batch 2: 501, 502 and the big one, which stalls half way.
    let server = pop(&refs).stall_in_retr(503).start();
    let l = Local::new("ctrlc");
    let md = l.maildir();
    // Something of someone else's in tmp/ stays.
    std::fs::create_dir_all(md.join("tmp")).unwrap();
    std::fs::write(md.join("tmp/1.M1P1Q1.otherhost"), b"not ours").unwrap();
    let state = l.dir.join("account.state");
    let child = spawn_pop_fetch(
        &l,
        &server,
        &[
            "--maildir",
            md.to_str().unwrap(),
            "--delete",
            "--state-file",
            state.to_str().unwrap(),
        ],
    );
    let tmp_bytes = || -> u64 {
        // (A file may be renamed away between the listing and its stat.)
        std::fs::read_dir(md.join("tmp"))
            .unwrap()
            .filter_map(|e| e.ok()?.metadata().ok())
            .map(|m| m.len())
            .sum()
    };
    wait_for("the big message half written in tmp/", || {
        tmp_bytes() > 100_000
    });
    let (err, _) = signal(child, libc::SIGINT);
    assert_eq!(
        err,
        format!(
            "pop-fetch: interrupted: 500 messages stored in Maildir {} and recorded; nothing was deleted on the server\n",
            md.display()
        )
    );
    let names: Vec<_> = std::fs::read_dir(md.join("tmp"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["1.M1P1Q1.otherhost"]);
    std::fs::remove_file(md.join("tmp/1.M1P1Q1.otherhost")).unwrap();
    assert_eq!(l.md().len(), 500);
    assert_eq!(
        std::fs::read_to_string(&state).unwrap().lines().count(),
        502
    );
    assert!(server.commands("QUIT").is_empty());
    assert_eq!(server.protocol().remaining().len(), 503);
}

/// SIGTERM while -O writes a message: its temporary is removed; a delivery command under
/// way is killed before it can take part of a message for a whole one.
#[test]
fn sigterm_leaves_no_temporary_in_an_output_folder_and_kills_the_mda() {
    let big = big_message();
    let msgs = [("s1", "Subject: one\r\n\r\n1\r\n"), ("s2", big.as_str())];
    let server = pop(&msgs).stall_in_retr(2).start();
    let l = Local::new("sigterm-o");
    let out = l.dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let child = spawn_pop_fetch(&l, &server, &["-O", out.to_str().unwrap()]);
    let part_bytes = || -> u64 {
        std::fs::read_dir(&out)
            .unwrap()
            .filter_map(|e| e.ok()?.metadata().ok())
            .map(|m| m.len())
            .sum()
    };
    wait_for("the big message half written", || part_bytes() > 100_000);
    let (err, _) = signal(child, libc::SIGTERM);
    assert!(
        err.starts_with("pop-fetch: interrupted: nothing stored in folder "),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0, "nothing left");
    // An MDA that would deliver whatever it read once its input ends.
    let server = pop(&[("s2", big.as_str())]).stall_in_retr(1).start();
    let got = l.dir.join("mda-got");
    let cmd = format!(
        "cat > '{}.tmp' && mv '{}.tmp' '{}'",
        got.display(),
        got.display(),
        got.display()
    );
    let child = spawn_pop_fetch(&l, &server, &["--mda", &cmd, "--all"]);
    wait_for("the MDA has part of the message", || {
        std::fs::metadata(format!("{}.tmp", got.display())).is_ok_and(|m| m.len() > 100_000)
    });
    let (err, _) = signal(child, libc::SIGTERM);
    assert!(err.contains("interrupted:"), "{err}");
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(
        !got.exists(),
        "the MDA took part of a message for a whole one"
    );
}

/// Without a store there is nothing to fetch into: a usage error before any connection
/// (and before any password prompt); two stores are refused the same way.
#[test]
fn a_store_is_required_and_only_one() {
    let server = pop(&edge_messages()).start();
    let l = Local::new("nostore");
    let line = l.run(&server, &[]).fails(64).to_string();
    assert!(
        line.contains("--maildir, --mbox, --output-dir, --mda or --stdout"),
        "{line}"
    );
    let md = l.maildir();
    let out = l.run(
        &server,
        &["--maildir", md.to_str().unwrap(), "--mbox", "x.mbox"],
    );
    assert_eq!(out.code, Some(64), "{out:#?}");
    assert!(out.stderr.contains("cannot be used with"), "{out:#?}");
    server.settle();
    assert!(server.transcript().is_empty(), "no connection expected");
    assert!(!md.exists());
    assert!(!l.state().exists(), "no state file locked or made");
}

/// A FIFO (or a link) where the state file should be is refused at once, naming it: never
/// a run that hangs on opening it, holding the account's lock.
#[test]
fn a_fifo_or_a_link_at_the_state_file_is_refused_at_once() {
    let server = pop(&edge_messages()).start();
    let l = Local::new("statefifo");
    let md = l.maildir();
    let state = l.dir.join("account.state");
    let c = std::ffi::CString::new(state.to_str().unwrap()).unwrap();
    // SAFETY: a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let args = [
        "--maildir",
        md.to_str().unwrap(),
        "--state-file",
        state.to_str().unwrap(),
    ];
    let line = l.run(&server, &args).fails(66).to_string();
    assert_eq!(
        line,
        format!(
            "pop-fetch: state file {}: not a regular file (a FIFO); refusing to use it",
            state.display()
        )
    );
    std::fs::remove_file(&state).unwrap();
    std::fs::write(l.dir.join("elsewhere"), "posthaste-state 1\n\n").unwrap();
    std::os::unix::fs::symlink(l.dir.join("elsewhere"), &state).unwrap();
    let line = l.run(&server, &args).fails(66).to_string();
    assert_eq!(
        line,
        format!(
            "pop-fetch: state file {}: a symbolic link; refusing to follow it (give the file's own path)",
            state.display()
        )
    );
    assert_eq!(server.connections(), 0);
    assert!(l.md().is_empty());
}

/// An empty mailbox (`STAT 0 0`, from a server having a bad moment or a hostile one) means
/// nothing to fetch, never "forget what was fetched": the next run does not download
/// everything again.
#[test]
fn an_empty_mailbox_leaves_the_state_as_it_was() {
    let l = Local::new("stat0");
    let md = l.maildir();
    let state = l.dir.join("account.state");
    let args = [
        "--maildir",
        md.to_str().unwrap(),
        "--state-file",
        state.to_str().unwrap(),
    ];
    let server = pop(&edge_messages()).start();
    l.run(&server, &args).ok();
    let recorded = std::fs::read_to_string(&state).unwrap();
    let empty = pop(&[]).start();
    l.run(&empty, &args).ok();
    assert_eq!(empty.commands("STAT").len(), 1);
    assert_eq!(std::fs::read_to_string(&state).unwrap(), recorded);
    l.run(&server, &args).ok();
    assert_eq!(server.commands("RETR").len(), 3, "nothing fetched again");
    assert_eq!(l.md(), edge_stored());
}

/// A dot-lock left by a run that was killed (its process is gone) or untouched for
/// minutes is broken, as procmail and mutt break them, and the run says so; a live one is
/// waited for (see `mbox_gets_from_lines_quoting_and_a_lock`).
#[test]
fn a_stale_mbox_lock_is_broken_and_said() {
    let server = pop(&[("m1", "Subject: a\r\n\r\na\r\n")]).start();
    let l = Local::new("stalelock");
    let mbox = l.dir.join("inbox.mbox");
    let lock = l.dir.join("inbox.mbox.lock");
    // A process that has ended: its number is in the lock.
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let pid = gone.id();
    gone.wait().unwrap();
    std::fs::write(&lock, format!("{pid}\n")).unwrap();
    let o = l.run(&server, &["--mbox", mbox.to_str().unwrap()]);
    assert_eq!(o.code, Some(0), "{o:#?}");
    assert_eq!(
        o.stderr,
        format!(
            "pop-fetch: mbox {}: removed the stale lock {} (process {pid}, which made it, is gone)\n",
            mbox.display(),
            lock.display()
        )
    );
    assert!(!lock.exists());
    assert_eq!(
        mboxrd_messages(&std::fs::read(&mbox).unwrap()),
        [b"Subject: a\n\na\n".to_vec()]
    );
    // A lock without a process number (other programs write none), untouched for 10 minutes.
    std::fs::write(&lock, "").unwrap();
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(600);
    std::fs::File::options()
        .write(true)
        .open(&lock)
        .unwrap()
        .set_modified(old)
        .unwrap();
    server.protocol().deliver("m2", "Subject: b\r\n\r\nb\r\n");
    let o = l.run(&server, &["--mbox", mbox.to_str().unwrap()]);
    assert_eq!(o.code, Some(0), "{o:#?}");
    assert_eq!(
        o.stderr,
        format!(
            "pop-fetch: mbox {}: removed the stale lock {} (untouched for 10 minutes)\n",
            mbox.display(),
            lock.display()
        )
    );
    assert_eq!(mboxrd_messages(&std::fs::read(&mbox).unwrap()).len(), 2);
    assert!(!lock.exists());
}

/// `--stdout --delete | head`: the reader left before it took everything, so the run did
/// not do what was asked: 74, as ftp-get's `--delete-remote -o - | head`, and nothing is
/// deleted on the server. Without --delete, a reader that stops early is no failure.
#[test]
fn stdout_closed_early_with_delete_is_74_and_deletes_nothing() {
    let body = format!(
        "Subject: big\r\n\r\n{}",
        "0123456789abcdef\r\n".repeat(12_000)
    );
    let msgs = [
        ("b1", body.as_str()),
        ("b2", body.as_str()),
        ("b3", body.as_str()),
    ];
    for delete in [true, false] {
        let server = pop(&msgs).start();
        let l = Local::new("stdouthead");
        let mut c = l
            .pop_fetch(&url(&server))
            .args(["--tls", "none", "--stdout"])
            .args(if delete { &["--delete"][..] } else { &[] })
            .command();
        let mut child = run::spawn(c.stdout(Stdio::piped()).stderr(Stdio::piped()));
        let mut head = [0u8; 100];
        std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut head).unwrap();
        assert!(head.starts_with(b"From MAILER-DAEMON "));
        drop(child.stdout.take());
        let o = child.wait_with_output();
        let err = String::from_utf8_lossy(&o.stderr);
        if delete {
            assert_eq!(o.status.code(), Some(74), "{err}");
            assert_eq!(
                err,
                "pop-fetch: standard output was closed before all messages were written: nothing was deleted on the server\n"
            );
        } else {
            assert_eq!(o.status.code(), Some(0), "{err}");
            assert_eq!(err, "");
        }
        assert_eq!(server.protocol().remaining().len(), 3);
        assert!(server.commands("QUIT").is_empty());
    }
}

/// The recipes of docs/GUIDE.md in order: a look with `--stdout` (`| grep -c '^From '`, or `| head`)
/// records nothing, so the cron run into a Maildir still gets every message, and a
/// `--delete` run deletes only what it stored itself.
#[test]
fn a_look_with_stdout_records_nothing() {
    let server = pop(&edge_messages()).start();
    let l = Local::new("peek");
    let md = l.maildir();
    let state = l.state().join(format!("posthaste/pop/{USER}@127.0.0.1"));
    for look in [&["--all", "--stdout"][..], &["--stdout"]] {
        let o = l
            .pop_fetch(&url(&server))
            .args(["--tls", "none"])
            .args(look)
            .run();
        assert_eq!(o.code, Some(0), "{o:?}");
        assert_eq!(mboxrd_messages(&o.stdout).len(), 3, "{look:?}");
        assert!(!state.exists(), "nothing recorded by {look:?}");
    }
    l.run(&server, &["--maildir", md.to_str().unwrap(), "--delete"])
        .ok();
    assert_eq!(l.md(), edge_stored(), "the cron run gets every message");
    assert!(server.protocol().remaining().is_empty());
    assert_eq!(server.commands("RETR").len(), 9);
}

/// `--headers-only` stores headers, not messages: a later `--delete` run fetches the
/// messages whole before it deletes them, never deletes what it never stored.
#[test]
fn headers_only_then_delete_fetches_the_messages_before_deleting_them() {
    let server = pop(&edge_messages()).start();
    let l = Local::new("headers");
    let md = l.maildir();
    l.run(
        &server,
        &["--maildir", md.to_str().unwrap(), "--headers-only"],
    )
    .ok();
    assert_eq!(server.commands("TOP").len(), 3);
    assert_eq!(l.md().len(), 3);
    l.run(&server, &["--maildir", md.to_str().unwrap(), "--delete"])
        .ok();
    assert_eq!(server.commands("RETR"), ["RETR 1", "RETR 2", "RETR 3"]);
    assert_eq!(l.md()[3..], edge_stored());
    assert!(server.protocol().remaining().is_empty());
    // Deleted after the RETRs, in the second session only.
    let t = server.transcript();
    assert!(
        t.iter().rposition(|c| c.starts_with("RETR"))
            < t.iter().position(|c| c.starts_with("DELE")),
        "{t:#?}"
    );
}

/// A server may give a deleted message's UIDL to a new message (RFC 1939 section 7): the
/// UIDLs deleted at a confirmed QUIT are forgotten, and a UIDL recorded with another size is
/// another message, so the new one is fetched, never deleted unread or skipped for ever.
#[test]
fn a_uidl_used_again_is_a_new_message() {
    let server = pop(&edge_messages()).start();
    let l = Local::new("reuse");
    let md = l.maildir();
    let state = l.dir.join("account.state");
    let args = |extra: &'static str| {
        vec![
            "--maildir".to_string(),
            md.to_str().unwrap().to_string(),
            "--state-file".to_string(),
            state.to_str().unwrap().to_string(),
            extra.to_string(),
        ]
    };
    let run = |extra| {
        let a = args(extra);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        l.run(&server, &a)
    };
    run("--delete").ok();
    assert!(server.protocol().remaining().is_empty());
    assert_eq!(
        std::fs::read_to_string(&state).unwrap(),
        "posthaste-state 1\n\n",
        "deleted at a confirmed QUIT: forgotten"
    );
    // uid-1 again, for a new message: fetched, then deleted.
    server
        .protocol()
        .deliver("uid-1", "Subject: new one\r\n\r\nnew\r\n");
    run("--delete").ok();
    assert_eq!(server.commands("RETR").len(), 4);
    assert_eq!(l.md().last().unwrap(), "Subject: new one\n\nnew\n");
    assert!(server.protocol().remaining().is_empty());
    // With --keep, another client deletes uid-2 and the server gives its UIDL to a new
    // message before the next run: recorded with another size, so fetched, with a note.
    server
        .protocol()
        .deliver("uid-2", "Subject: two\r\n\r\nfirst\r\n");
    run("--keep").ok();
    server.protocol().remove("uid-2");
    server
        .protocol()
        .deliver("uid-2", "Subject: two\r\n\r\nthe second, longer\r\n");
    let o = run("--keep");
    assert_eq!(o.code, Some(0), "{o:#?}");
    assert_eq!(
        o.stderr,
        "pop-fetch: message 1 (UIDL uid-2): recorded with 23 bytes, now 36: another message under a UIDL used again: taken as new\n"
    );
    assert_eq!(
        l.md().last().unwrap(),
        "Subject: two\n\nthe second, longer\n"
    );
    // Unchanged, it is not fetched again.
    run("--keep").ok();
    assert_eq!(server.commands("RETR").len(), 6);
}

/// `--delete` deletes what this run stored, and what an earlier `--delete` run stored but
/// could not delete (its QUIT failed); never what `--keep` runs fetched.
#[test]
fn delete_deletes_only_what_a_delete_run_stored() {
    let server = pop(&edge_messages())
        // The first run's QUIT is answered as usual (it deletes nothing); the second's fails.
        .reply_once("QUIT", "+OK bye\r\n")
        .reply_once("QUIT", "-ERR some deleted messages not removed\r\n")
        .start();
    let l = Local::new("deleteown");
    let md = l.maildir();
    let state = l.dir.join("account.state");
    let base = [
        "--maildir",
        md.to_str().unwrap(),
        "--state-file",
        state.to_str().unwrap(),
    ];
    let with = |extra: &[&'static str]| -> Vec<&str> {
        let mut v = base.to_vec();
        v.extend_from_slice(extra);
        v
    };
    // Message 1 with --keep; then 2 and 3 with --delete, whose QUIT fails.
    let o = l.run(&server, &with(&["--limit", "1"]));
    assert_eq!(o.code, Some(0), "{o:#?}");
    let line = l.run(&server, &with(&["--delete"])).fails(69).to_string();
    assert!(line.contains("QUIT"), "{line}");
    assert_eq!(server.protocol().remaining().len(), 3);
    assert_eq!(
        std::fs::read_to_string(&state).unwrap(),
        format!(
            "posthaste-state 2\n\nuid-1 {}\nuid-2 {} dele\nuid-3 {} dele\n",
            edge_messages()[0].1.len(),
            edge_messages()[1].1.len(),
            edge_messages()[2].1.len()
        )
    );
    // A --keep run leaves them; the next --delete run deletes 2 and 3 without fetching them
    // again, and leaves 1, which no --delete run stored.
    l.run(&server, &with(&[])).ok();
    assert_eq!(server.protocol().remaining().len(), 3);
    l.run(&server, &with(&["--delete"])).ok();
    assert_eq!(server.commands("RETR"), ["RETR 1", "RETR 2", "RETR 3"]);
    assert_eq!(server.protocol().remaining(), ["uid-1"]);
    assert_eq!(l.md(), edge_stored());
    assert_eq!(
        std::fs::read_to_string(&state).unwrap(),
        format!(
            "posthaste-state 2\n\nuid-1 {}\n",
            edge_messages()[0].1.len()
        )
    );
}

/// The state is kept per user and host, whatever the port (as mpop keeps it): the same
/// mailbox by pop3s:// and then pop3:// is not fetched twice. By another host name it is a
/// new account, and the run says so before it fetches. A state an earlier version kept per
/// port is carried over, once.
#[test]
fn the_state_is_per_user_and_host_whatever_the_port() {
    let l = Local::new("perhost");
    let md = l.maildir();
    let dir = l.state().join("posthaste/pop");
    let a = pop(&edge_messages()).start();
    // What an earlier version left: a state per port, for a's port.
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join(format!("{USER}@127.0.0.1:{}", a.port())),
        "posthaste-state 1\n\nuid-1\nuid-2\n",
    )
    .unwrap();
    let o = l.run(&a, &["--maildir", md.to_str().unwrap()]);
    assert_eq!(o.code, Some(0), "{o:#?}");
    let state = dir.join(format!("{USER}@127.0.0.1"));
    assert_eq!(
        o.stderr,
        format!(
            "pop-fetch: state carried over from {} to {} (one state per user and host now, whatever the port)\n",
            dir.join(format!("{USER}@127.0.0.1:{}", a.port())).display(),
            state.display()
        )
    );
    assert_eq!(a.commands("RETR"), ["RETR 3"]);
    assert_eq!(
        std::fs::read_to_string(&state).unwrap(),
        recorded(&[0, 1, 2], "")
    );
    // The same mailbox on another port: nothing new.
    let b = pop(&edge_messages()).start();
    l.run(&b, &["--maildir", md.to_str().unwrap()]).ok();
    assert!(b.commands("RETR").is_empty());
    // By another name: fetched whole (another account, for all pop-fetch can tell), with a
    // note first.
    let o = l.run_url(
        &format!("pop3://{USER}@localhost:{}", b.port()),
        &["--maildir", md.to_str().unwrap(), "-4"],
    );
    assert_eq!(o.code, Some(0), "{o:#?}");
    assert_eq!(
        o.stderr,
        format!(
            "pop-fetch: no state for {USER}@localhost yet: 3 messages will be fetched (there is one for {USER}@127.0.0.1, perhaps the same mailbox under another name: --state-file {} would share it)\n",
            state.display()
        )
    );
    assert_eq!(b.commands("RETR").len(), 3);
}

/// Runs pop-fetch under `strace -f` with `-e trace=SYSCALLS` and paths shown (`-y`), and
/// returns its exit code and the trace; `None` where strace cannot run (then the caller
/// has nothing to check).
fn strace(
    l: &Local,
    server: &Server<FakePop>,
    syscalls: &str,
    args: &[&str],
) -> Option<(Option<i32>, String)> {
    let trace = l.dir.join("strace.out");
    let mut c = Command::new("strace");
    c.args(["-f", "-y", "-s", "64", "-e"])
        .arg(format!("trace={syscalls}"))
        .arg("-o")
        .arg(&trace)
        .arg(env!("CARGO_BIN_EXE_pop-fetch"))
        .env("HOME", l.dir.join("home"))
        .env("XDG_STATE_HOME", l.state())
        .env("POP_PASS", PASS)
        .args([&url(server), "--password-env", "POP_PASS", "--tls", "none"])
        .args(args);
    let o = match c.stdin(Stdio::null()).output() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("strace cannot run ({e}): nothing to check");
            return None;
        }
    };
    let text = std::fs::read_to_string(&trace).ok()?;
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    Some((o.status.code(), text))
}

/// A Maildir batch is made durable by fsyncing its own files and new/, never by syncfs(2),
/// which would flush every other program's dirty data on the file system too (seconds on a
/// busy one, for one message): each file is fsynced before it is renamed into new/, and
/// new/ after the renames, before anything is recorded or deleted.
#[test]
fn a_maildir_batch_fsyncs_its_files_never_the_whole_file_system() {
    let server = pop(&edge_messages()).start();
    let l = Local::new("fsync");
    let md = l.maildir();
    let state = l.dir.join("account.state");
    let Some((code, trace)) = strace(
        &l,
        &server,
        "syncfs,sync,fsync,fdatasync,rename,renameat,renameat2,sendto,write",
        &[
            "--maildir",
            md.to_str().unwrap(),
            "--delete",
            "--state-file",
            state.to_str().unwrap(),
        ],
    ) else {
        return;
    };
    assert_eq!(code, Some(0), "{trace}");
    assert_eq!(l.md(), edge_stored());
    let lines: Vec<&str> = trace.lines().collect();
    assert!(
        !trace.contains("syncfs(") && !trace.contains(" sync("),
        "{trace}"
    );
    let at = |pat: &dyn Fn(&str) -> bool, what: &str| -> usize {
        lines
            .iter()
            .position(|l| pat(l))
            .unwrap_or_else(|| panic!("no {what} in\n{trace}"))
    };
    let tmp = format!("{}/tmp/", md.display());
    let new = format!("{}/new", md.display());
    let fsyncs: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].contains("fsync(") && lines[i].contains(&tmp))
        .collect();
    assert_eq!(fsyncs.len(), 3, "one fsync per message file:\n{trace}");
    let first_rename = at(&|l| l.contains("rename") && l.contains(&tmp), "rename");
    assert!(fsyncs.iter().all(|&i| i < first_rename), "{trace}");
    let new_fsync = at(
        &|l| l.contains("fsync(") && l.contains(&format!("<{new}>")),
        "fsync of new/",
    );
    let last_rename = (0..lines.len())
        .rev()
        .find(|&i| lines[i].contains("rename") && lines[i].contains(&tmp))
        .unwrap();
    assert!(new_fsync > last_rename, "{trace}");
    let first_dele = at(&|l| l.contains("DELE "), "DELE");
    assert!(new_fsync < first_dele, "{trace}");
}

/// A store this run made (an mbox file, its folder with --create-dirs, a Maildir) exists
/// for good only once the folders holding their names are fsynced too: that happens
/// before anything is deleted, whatever folder the state file is in.
#[test]
fn a_new_store_s_folders_are_fsynced_before_dele() {
    let server = pop(&edge_messages()).start();
    let l = Local::new("newstore");
    let state = l.dir.join("elsewhere/account.state");
    let mbox = l.dir.join("new/box/inbox");
    let md = l.dir.join("made/Mail");
    for store in [
        vec!["--mbox", mbox.to_str().unwrap(), "--create-dirs"],
        vec!["--maildir", md.to_str().unwrap()],
    ] {
        let mut args = store.clone();
        args.extend(["--delete", "--all", "--state-file", state.to_str().unwrap()]);
        let Some((code, trace)) = strace(&l, &server, "fsync,fdatasync,sendto,write", &args) else {
            return;
        };
        assert_eq!(code, Some(0), "{trace}");
        let dele = trace
            .lines()
            .position(|l| l.contains("DELE "))
            .unwrap_or_else(|| panic!("no DELE in\n{trace}"));
        let synced = |dir: &Path| {
            trace
                .lines()
                .take(dele)
                .any(|l| l.contains("fsync(") && l.contains(&format!("<{}>", dir.display())))
        };
        let dirs: Vec<PathBuf> = if store[0] == "--mbox" {
            // The file's entry, and those of the two folders made for it.
            vec![
                l.dir.join("new/box"),
                l.dir.join("new"),
                l.dir.to_path_buf(),
            ]
        } else {
            // cur/, new/ and tmp/ in the Maildir, the Maildir and its folder above.
            vec![md.clone(), l.dir.join("made"), l.dir.to_path_buf()]
        };
        for d in dirs {
            assert!(
                synced(&d),
                "{} not fsynced before DELE:\n{trace}",
                d.display()
            );
        }
        server
            .protocol()
            .deliver("uid-x", "Subject: x\r\n\r\nx\r\n");
    }
}

/// -v may be repeated, and -q and -v override each other, the last one winning (as in
/// curl): `-vv` and `-q -v` show the transcript, `-v -q` shows only the error.
#[test]
fn the_last_of_q_and_v_wins_and_v_repeats() {
    let server = pop(&edge_messages()).start();
    let l = Local::new("qv");
    let md = l.maildir();
    for (flags, transcript) in [
        (&["-vv"][..], true),
        (&["-v", "--verbose"], true),
        (&["-q", "-v"], true),
        (&["-v", "-q"], false),
        (&["-q", "-q"], false),
    ] {
        let o = l
            .pop_fetch(&url(&server))
            .env("POP_PASS", "wrong-horse")
            .args(["--tls", "none", "--timeout", "10"])
            .args(["--maildir", md.to_str().unwrap()])
            .args(flags)
            .run();
        assert_eq!(o.code, Some(77), "{flags:?}: {o:?}");
        assert_eq!(
            o.stderr.contains("C: PASS ****"),
            transcript,
            "{flags:?}: {o:?}"
        );
        assert!(
            o.stderr.contains("login as alice failed"),
            "{flags:?}: {o:?}"
        );
    }
}

/// A local write that fails mid-run (a full disk, through the debug builds' fault hook): one
/// line that ends with what the run leaves, true of each path; the rerun, once there is
/// space, fetches only the rest.
#[test]
fn a_full_disk_says_what_was_stored_and_deleted_and_a_rerun_fetches_the_rest() {
    if !cfg!(debug_assertions) {
        return; // the hook is compiled into debug builds only
    }
    let server = pop(&edge_messages()).start();
    let l = Local::new("full-disk");
    let md = l.maildir();
    let args = ["--maildir", md.to_str().unwrap(), "--delete"];
    let o = l
        .pop_fetch(&url(&server))
        .args(["--tls", "none", "--timeout", "10"])
        .args(args)
        .env("POSTHASTE_TEST_WRITE_FAULT", "3:ENOSPC")
        .run();
    let line = o.fails(74);
    let start = format!("pop-fetch: Maildir {}/tmp/", md.display());
    let end = ": No space left on device (2 of 3 messages stored, nothing was deleted on the server; run again when there is space)";
    assert!(line.starts_with(&start) && line.ends_with(end), "{line}");
    assert_eq!(l.md(), edge_stored()[..2]);
    // No DELE, no QUIT: the server deletes nothing.
    assert_eq!(server.protocol().remaining().len(), 3);
    assert!(server.commands("DELE").is_empty() && server.commands("QUIT").is_empty());
    l.run(&server, &args).ok();
    assert_eq!(l.md(), edge_stored());
    assert_eq!(
        server
            .transcript_of(1)
            .iter()
            .filter(|c| c.starts_with("RETR"))
            .collect::<Vec<_>>(),
        ["RETR 3"]
    );
    assert!(server.protocol().remaining().is_empty());
    // Another store, another error: EROFS (a read-only file system) is no matter of space.
    server
        .protocol()
        .deliver("uid-4", "Subject: four\r\n\r\n4\r\n");
    let o = l
        .pop_fetch(&url(&server))
        .args(["--tls", "none", "--timeout", "10"])
        .args(["-O", l.dir.join("eml").to_str().unwrap()])
        .env("POSTHASTE_TEST_WRITE_FAULT", "1:EROFS")
        .run();
    let line = o.fails(74);
    assert!(
        line.ends_with(
            ": Read-only file system (0 of 1 message stored, nothing was deleted on the server)"
        ),
        "{line}"
    );
}

/// LIST sizes a hostile server says, whose sum passes 64 bits: the run fetches the messages
/// as any others (the sum overflowed: a panic in a debug build, a false total in a release
/// build).
#[test]
fn list_sizes_that_add_up_past_64_bits_are_no_crash() {
    let server = pop(&edge_messages())
        .reply_once(
            "LIST",
            "+OK 3 messages\r\n1 18446744073709551615\r\n2 18446744073709551615\r\n3 2\r\n.\r\n",
        )
        .start();
    let l = Local::new("list-huge-sizes");
    let md = l.maildir();
    let o = l.run(
        &server,
        &["--progress", "lines", "--maildir", md.to_str().unwrap()],
    );
    assert_eq!(o.code, Some(0), "{o:?}");
    assert_eq!(l.md(), edge_stored());
    assert!(!o.stderr.contains('%'), "{}", o.stderr);
}
