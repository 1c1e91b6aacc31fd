//! imap-fetch's stores and state, end to end against the fake IMAP server: what is recorded
//! (a look with `--stdout` records nothing), how the state is keyed and carried over, a
//! reader of `--stdout` that leaves early, a batch the store refused, and what SIGINT,
//! SIGTERM and SIGHUP leave behind.
//! The UID logic itself is `imap_fetch`'s.

use std::process::{Command, Stdio};

use crate::support::fake_imap::*;
use crate::support::fake_server::Server;
use crate::support::files::TempDir;
use crate::support::run;

fn url(server: &Server<FakeImap>) -> String {
    format!("imap://{USER}@127.0.0.1:{}/", server.port())
}

/// imap-fetch against `server` with a HOME and state folder in `dir`, and `args`.
fn imap_fetch(dir: &TempDir, server: &Server<FakeImap>, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_imap-fetch"));
    c.env("HOME", dir.join("home"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .env_remove("NETRC")
        .env("IMAP_PASS", PASS)
        .args([
            &url(server),
            "--password-env",
            "IMAP_PASS",
            "--timeout",
            "10",
        ])
        .args(["--tls", "none"])
        .args(args)
        .stdin(Stdio::null());
    c
}

fn big_messages() -> Vec<String> {
    let body = format!(
        "Subject: big\r\n\r\n{}",
        "0123456789abcdef\r\n".repeat(12_000)
    );
    vec![body.clone(), body.clone(), body]
}

/// `--stdout --delete | head`: 74, as pop-fetch and ftp-get have it; only what the reader
/// took in full was deleted (here: nothing, the first batch never ended).
#[test]
fn stdout_closed_early_with_delete_is_74() {
    let msgs = big_messages();
    let msgs: Vec<&str> = msgs.iter().map(String::as_str).collect();
    let server = imap(&msgs).start();
    let dir = TempDir::new("imap-stdouthead");
    let mut c = imap_fetch(&dir, &server, &["--stdout", "--delete"]);
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = run::spawn(&mut c);
    let mut head = [0u8; 100];
    std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut head).unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(74), "{err}");
    assert_eq!(
        err,
        "imap-fetch: standard output was closed before all messages were written: only the messages it took were deleted on the server\n"
    );
    assert_eq!(server.protocol().uids("INBOX"), [1, 2, 3]);
}

fn run_ok(c: &mut Command) -> std::process::Output {
    let o = run::output(c);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// A look with `--stdout` records nothing: the cron run into a Maildir afterwards gets every
/// message, not "0 new".
#[test]
fn a_look_with_stdout_records_nothing() {
    let server = imap(&["Subject: one\r\n\r\n1\r\n", "Subject: two\r\n\r\n2\r\n"]).start();
    let dir = TempDir::new("imap-peek");
    let o = run_ok(&mut imap_fetch(&dir, &server, &["--stdout"]));
    assert_eq!(crate::pop_fetch::mboxrd_messages(&o.stdout).len(), 2);
    assert!(
        !dir.join("state/posthaste/imap")
            .join(format!("{USER}@127.0.0.1"))
            .exists()
    );
    let md = dir.join("Mail");
    run_ok(&mut imap_fetch(
        &dir,
        &server,
        &["--maildir", md.to_str().unwrap()],
    ));
    assert_eq!(
        crate::pop_fetch::maildir_messages(&md),
        ["Subject: one\n\n1\n", "Subject: two\n\n2\n"]
    );
}

/// One state per user and host, whatever the port: the same account on another port is not
/// fetched again.
#[test]
fn the_state_is_per_user_and_host_whatever_the_port() {
    let msgs = ["Subject: one\r\n\r\n1\r\n"];
    let (a, b) = (imap(&msgs).start(), imap(&msgs).start());
    let dir = TempDir::new("imap-perhost");
    let md = dir.join("Mail");
    run_ok(&mut imap_fetch(
        &dir,
        &a,
        &["--maildir", md.to_str().unwrap()],
    ));
    let o = run_ok(&mut imap_fetch(
        &dir,
        &b,
        &["--maildir", md.to_str().unwrap()],
    ));
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(crate::pop_fetch::maildir_messages(&md).len(), 1);
}

/// Ctrl-C in the middle of a batch into a Maildir: this run's files in tmp/ are removed,
/// the batches recorded before stay, and the last line says what was stored and that
/// nothing was changed on the server.
#[test]
fn ctrl_c_midway_leaves_nothing_in_tmp_and_says_what_was_stored() {
    let mut msgs: Vec<String> = (1..=100)
        .map(|i| format!("Subject: {i}\r\n\r\n{i}\r\n"))
        .collect();
    msgs.push(big_messages().remove(0));
    let refs: Vec<&str> = msgs.iter().map(String::as_str).collect();
    // UID FETCH batches of 100: the first is stored; the big one, in the second, stalls.
    let server = imap(&refs).stall_in_literal(101).start();
    let dir = TempDir::new("imap-ctrlc");
    let md = dir.join("Mail");
    let mut c = imap_fetch(&dir, &server, &["--maildir", md.to_str().unwrap()]);
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = run::spawn(&mut c);
    let tmp_bytes = || -> u64 {
        std::fs::read_dir(md.join("tmp"))
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok()?.metadata().ok())
            .map(|m| m.len())
            .sum()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while tmp_bytes() < 100_000 {
        assert!(std::time::Instant::now() < deadline, "never half way");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // SAFETY: a signal to the child this test started.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let o = child.wait_with_output();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&o.status),
        Some(libc::SIGINT)
    );
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        format!(
            "imap-fetch: interrupted: 100 messages stored in Maildir {} and recorded; nothing was changed on the server\n",
            md.display()
        )
    );
    assert_eq!(std::fs::read_dir(md.join("tmp")).unwrap().count(), 0);
    assert_eq!(crate::pop_fetch::maildir_messages(&md).len(), 100);
}

#[test]
fn ctrl_c_midway_through_stdout_says_what_the_reader_took() {
    let mut msgs: Vec<String> = (1..=100)
        .map(|i| format!("Subject: {i}\r\n\r\n{i}\r\n"))
        .collect();
    msgs.push(big_messages().remove(0));
    let refs: Vec<&str> = msgs.iter().map(String::as_str).collect();
    // The first batch goes to the reader and is deleted; the big one, in the second, stalls.
    let server = imap(&refs).stall_in_literal(101).start();
    let dir = TempDir::new("imap-ctrlc-stdout");
    let mut c = imap_fetch(&dir, &server, &["--stdout", "--delete"]);
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = run::spawn(&mut c);
    let mut out = child.stdout.take().unwrap();
    let mut taken = Vec::new();
    let mut buf = [0u8; 4096];
    // Until the big message of the second batch is under way: the first one was taken by
    // the reader and recorded before it began.
    while !String::from_utf8_lossy(&taken).contains("Subject: big\n") {
        let n = std::io::Read::read(&mut out, &mut buf).unwrap();
        assert!(n > 0, "stdout ended early");
        taken.extend_from_slice(&buf[..n]);
    }
    // SAFETY: a signal to the child this test started.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let _ = std::io::copy(&mut out, &mut std::io::sink());
    let o = child.wait_with_output();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&o.status),
        Some(libc::SIGINT)
    );
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "imap-fetch: interrupted: 100 messages written to standard output; no message was deleted on the server before it was taken by the reader\n"
    );
}

/// `c` as it is, or, for root, through setpriv without the capabilities that pass over file
/// permissions (as mime-pack's drop-box test runs), so that a folder's mode holds.
fn within_permissions(c: &Command) -> Command {
    let mut out = if unsafe { libc::geteuid() } == 0 {
        let mut s = Command::new("setpriv");
        s.args(["--bounding-set=-dac_override,-dac_read_search", "--"])
            .arg(c.get_program());
        s
    } else {
        Command::new(c.get_program())
    };
    out.args(c.get_args()).stdin(Stdio::null());
    for (k, v) in c.get_envs() {
        match v {
            Some(v) => out.env(k, v),
            None => out.env_remove(k),
        };
    }
    out
}

/// A batch the Maildir could not take (its messages cannot be renamed into new/) is taken
/// back and not recorded: the next run fetches those messages, and its --delete deletes
/// them only once they are stored. (imap-fetch once recorded such a batch by its UIDs after
/// the failure, so that the next run skipped the messages and its --delete deleted them on
/// the server, never stored.)
#[test]
fn a_batch_the_maildir_refused_is_not_recorded_and_never_deleted_unstored() {
    use std::os::unix::fs::PermissionsExt;
    let server = imap(&["Subject: one\r\n\r\n1\r\n", "Subject: two\r\n\r\n2\r\n"]).start();
    let dir = TempDir::new("imap-md-refused");
    let md = dir.join("Mail");
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(md.join(sub)).unwrap();
    }
    let mode = |m: u32| {
        std::fs::set_permissions(md.join("new"), std::fs::Permissions::from_mode(m)).unwrap()
    };
    mode(0o500);
    let refused = run::output(&mut within_permissions(&imap_fetch(
        &dir,
        &server,
        &["--maildir", md.to_str().unwrap()],
    )));
    mode(0o700);
    let err = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(74), "{err}");
    assert!(
        err.starts_with(&format!("imap-fetch: Maildir {}/new/", md.display()))
            && err.ends_with(
                ": Permission denied (0 of 2 messages stored, nothing was changed on the server)\n"
            ),
        "{err}"
    );
    assert_eq!(crate::pop_fetch::maildir_messages(&md).len(), 0);
    run_ok(&mut imap_fetch(
        &dir,
        &server,
        &["--maildir", md.to_str().unwrap(), "--delete"],
    ));
    assert_eq!(
        crate::pop_fetch::maildir_messages(&md),
        ["Subject: one\n\n1\n", "Subject: two\n\n2\n"]
    );
    assert_eq!(server.protocol().uids("INBOX"), Vec::<u32>::new());
}
