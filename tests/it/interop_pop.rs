//! pop-fetch against the loopback Dovecot (scripts/servers/dovecot): POP3 with STLS and
//! POP3S, messages put into the server's Maildir and compared byte for byte with what lands
//! locally (Dovecot keeps LF line ends, as pop-fetch stores them), `--delete`, `--new`
//! across runs, and two runs at once. Each test has a Dovecot user of its own.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::support::files::TempDir;
use crate::support::run;
use crate::support::servers_pop::{Dovecot, dovecot};

/// Message `i` as put into the server: LF line ends, lines a POP3 server must dot-stuff,
/// `From ` lines an mbox must quote, and now and then no final line end.
fn message(i: usize) -> Vec<u8> {
    let mut m = format!(
        "Return-Path: <sender{i}@example.com>\nFrom: sender{i}@example.com\nTo: alice@example.com\nSubject: message {i}\nMessage-ID: <{i}@posthaste.test>\n\nline one\n.\n..double\n.dot\nFrom the start\n>From quoted\n"
    );
    for l in 0..(i % 37) {
        m.push_str(&format!("{l:04} {}\n", "abcdefghij".repeat(l % 9)));
    }
    m.push_str("last line");
    if i % 250 != 7 {
        m.push('\n');
    }
    m.into_bytes()
}

/// What a store holds for message `i`: the same bytes, with a final line end.
fn stored(i: usize) -> Vec<u8> {
    let mut m = message(i);
    if m.last() != Some(&b'\n') {
        m.push(b'\n');
    }
    m
}

fn fill(d: &Dovecot, user: usize, range: std::ops::Range<usize>) {
    for i in range {
        d.put(user, &format!("{i:06}.posthaste.test"), &message(i));
    }
}

fn pop_fetch(d: &Dovecot, url: &str, local: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pop-fetch"));
    c.env("HOME", local.join("home"))
        .env("XDG_STATE_HOME", local.join("state"))
        .env_remove("NETRC")
        .env("POP_PASS", &d.password)
        .args([url, "--password-env", "POP_PASS", "--cacert"])
        .arg(&d.ca_cert)
        .args(["--timeout", "30"])
        .args(args)
        .stdin(Stdio::null());
    c
}

fn run_ok(c: &mut Command) -> Output {
    let o = run::output(c);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// The files of a folder, contents counted (a multiset: order does not matter, duplicates
/// do).
fn contents(dir: &Path) -> BTreeMap<Vec<u8>, usize> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap() {
        *out.entry(std::fs::read(e.unwrap().path()).unwrap())
            .or_insert(0) += 1;
    }
    out
}

fn expected(range: std::ops::Range<usize>) -> BTreeMap<Vec<u8>, usize> {
    let mut out = BTreeMap::new();
    for i in range {
        *out.entry(stored(i)).or_insert(0) += 1;
    }
    out
}

#[test]
fn a_thousand_messages_into_each_store_byte_for_byte() {
    let Some(d) = dovecot() else { return };
    let user = 1;
    d.clear(user);
    fill(&d, user, 0..1000);
    let local = TempDir::new("interop-pop-1000");
    // A Maildir over POP3S.
    let md = local.join("Mail");
    run_ok(&mut pop_fetch(
        &d,
        &d.url("pop3s", user),
        &local,
        &["--maildir", md.to_str().unwrap()],
    ));
    assert_eq!(contents(&md.join("new")), expected(0..1000));
    assert_eq!(std::fs::read_dir(md.join("tmp")).unwrap().count(), 0);
    // NNNN.eml files over POP3 with STLS (--tls required), with a state file of their own.
    let out = local.join("eml");
    let state = local.join("eml.state");
    run_ok(&mut pop_fetch(
        &d,
        &d.url("pop3", user),
        &local,
        &[
            "-O",
            out.to_str().unwrap(),
            "--create-dirs",
            "--tls",
            "required",
            "--state-file",
            state.to_str().unwrap(),
        ],
    ));
    assert_eq!(contents(&out), expected(0..1000));
    assert_eq!(d.count(user), 1000, "--keep is the default");
}

#[test]
fn new_fetches_nothing_on_a_second_run_and_exactly_the_new_ones_later() {
    let Some(d) = dovecot() else { return };
    let user = 2;
    d.clear(user);
    fill(&d, user, 0..20);
    let local = TempDir::new("interop-pop-new");
    let md = local.join("Mail");
    let c = || {
        pop_fetch(
            &d,
            &d.url("pop3s", user),
            &local,
            &["--maildir", md.to_str().unwrap()],
        )
    };
    run_ok(&mut c());
    assert_eq!(contents(&md.join("new")), expected(0..20));
    run_ok(&mut c());
    assert_eq!(
        contents(&md.join("new")),
        expected(0..20),
        "nothing fetched twice"
    );
    // The same mailbox by POP3 with STLS, on its other port: the same state (one per user
    // and host), so nothing again.
    run_ok(&mut pop_fetch(
        &d,
        &d.url("pop3", user),
        &local,
        &["--maildir", md.to_str().unwrap()],
    ));
    assert_eq!(
        contents(&md.join("new")),
        expected(0..20),
        "nothing fetched twice by another port"
    );
    fill(&d, user, 20..25);
    run_ok(&mut c());
    assert_eq!(contents(&md.join("new")), expected(0..25));
}

#[test]
fn delete_empties_the_server_only_once_the_local_copies_exist() {
    let Some(d) = dovecot() else { return };
    let user = 3;
    d.clear(user);
    fill(&d, user, 0..100);
    let local = TempDir::new("interop-pop-delete");
    let md = local.join("Mail");
    run_ok(&mut pop_fetch(
        &d,
        &d.url("pop3", user),
        &local,
        &["--maildir", md.to_str().unwrap(), "--delete"],
    ));
    assert_eq!(contents(&md.join("new")), expected(0..100));
    assert_eq!(d.count(user), 0);
    // A wrong password on the way: 77, nothing touched.
    fill(&d, user, 100..101);
    let mut c = pop_fetch(
        &d,
        &d.url("pop3", user),
        &local,
        &["--maildir", md.to_str().unwrap(), "--delete"],
    );
    c.env("POP_PASS", "not-the-password");
    let o = run::output(&mut c);
    assert_eq!(
        o.status.code(),
        Some(77),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(d.count(user), 1);
}

#[test]
fn two_runs_at_once_never_deliver_a_message_twice() {
    let Some(d) = dovecot() else { return };
    let user = 4;
    d.clear(user);
    fill(&d, user, 0..300);
    let local = TempDir::new("interop-pop-twice");
    let md = local.join("Mail");
    let mut a = pop_fetch(
        &d,
        &d.url("pop3s", user),
        &local,
        &["--maildir", md.to_str().unwrap()],
    );
    let mut b = pop_fetch(
        &d,
        &d.url("pop3s", user),
        &local,
        &["--maildir", md.to_str().unwrap()],
    );
    let (pa, pb) = (
        run::spawn(a.stderr(Stdio::piped())),
        run::spawn(b.stderr(Stdio::piped())),
    );
    let (oa, ob) = (pa.wait_with_output(), pb.wait_with_output());
    for o in [&oa, &ob] {
        let code = o.status.code();
        assert!(code == Some(0) || code == Some(75), "{o:?}");
        if code == Some(75) {
            assert!(
                String::from_utf8_lossy(&o.stderr).contains("another run"),
                "{o:?}"
            );
        }
    }
    // Whatever the interleaving: every message once; a third run adds nothing.
    run_ok(&mut pop_fetch(
        &d,
        &d.url("pop3s", user),
        &local,
        &["--maildir", md.to_str().unwrap()],
    ));
    assert_eq!(contents(&md.join("new")), expected(0..300));
}

#[test]
fn a_thousand_messages_into_an_mbox_an_mda_and_stdout() {
    let Some(d) = dovecot() else { return };
    let user = 5;
    d.clear(user);
    fill(&d, user, 0..1000);
    let local = TempDir::new("interop-pop-1000b");
    let as_counts = |msgs: Vec<Vec<u8>>| {
        let mut out = BTreeMap::new();
        for m in msgs {
            *out.entry(m).or_insert(0) += 1;
        }
        out
    };
    // mbox (--all: the state file already holds them after the first store).
    let mbox = local.join("inbox.mbox");
    run_ok(&mut pop_fetch(
        &d,
        &d.url("pop3s", user),
        &local,
        &["--mbox", mbox.to_str().unwrap()],
    ));
    let data = std::fs::read(&mbox).unwrap();
    assert_eq!(
        as_counts(crate::pop_fetch::mboxrd_messages(&data)),
        expected(0..1000)
    );
    // An MDA writing one file per message.
    let out = local.join("mda");
    std::fs::create_dir_all(&out).unwrap();
    let cmd = format!("cat > \"$(mktemp '{}/XXXXXXXX')\"", out.display());
    run_ok(&mut pop_fetch(
        &d,
        &d.url("pop3", user),
        &local,
        &["--mda", &cmd, "--all"],
    ));
    assert_eq!(contents(&out), expected(0..1000));
    // Standard output.
    let o = run_ok(&mut pop_fetch(
        &d,
        &d.url("pop3s", user),
        &local,
        &["--stdout", "--all"],
    ));
    assert_eq!(
        as_counts(crate::pop_fetch::mboxrd_messages(&o.stdout)),
        expected(0..1000)
    );
}

#[test]
fn every_login_method_dovecot_offers() {
    let Some(d) = dovecot() else { return };
    let user = 6;
    d.clear(user);
    fill(&d, user, 0..3);
    let local = TempDir::new("interop-pop-auth");
    for auth in [
        "auto",
        "scram-sha-256",
        "plain",
        "login",
        "cram-md5",
        "apop",
        "user",
    ] {
        let md = local.join(format!("Mail-{auth}"));
        let mut c = pop_fetch(
            &d,
            &d.url("pop3", user),
            &local,
            &[
                "--maildir",
                md.to_str().unwrap(),
                "--all",
                "--auth",
                auth,
                "-v",
            ],
        );
        let o = run::output(&mut c);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "--auth {auth}: {err}");
        assert_eq!(contents(&md.join("new")), expected(0..3), "--auth {auth}");
        assert!(!err.contains(&d.password), "--auth {auth}: {err}");
        let want = match auth {
            "auto" | "scram-sha-256" => "C: AUTH SCRAM-SHA-256",
            "plain" => "C: AUTH PLAIN ****",
            "login" => "C: AUTH LOGIN",
            "cram-md5" => "C: AUTH CRAM-MD5",
            "apop" => "C: APOP phmail6 ****",
            _ => "C: PASS ****",
        };
        assert!(err.contains(want), "--auth {auth}: {err}");
    }
    // A wrong password with each: 77.
    for auth in ["scram-sha-256", "apop"] {
        let md = local.join("Mail-wrong");
        let mut c = pop_fetch(
            &d,
            &d.url("pop3s", user),
            &local,
            &["--maildir", md.to_str().unwrap(), "--auth", auth],
        );
        c.env("POP_PASS", "wrong");
        let o = run::output(&mut c);
        assert_eq!(
            o.status.code(),
            Some(77),
            "--auth {auth}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}
