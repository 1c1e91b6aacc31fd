//! The last command of a session (SMTP and FTP QUIT, IMAP LOGOUT) is sent after all the
//! work is done, and its reply changes nothing: a server that never answers it must not
//! hold the run for the whole reply timeout (`--timeout 600` here). Each run is watched
//! with a limit far below that timeout; before the fix each waited the 600 s out.

use crate::support::fake_ftp::FakeFtp;
use crate::support::fake_imap::{self, ImapBuilder, PASS, USER};
use crate::support::fake_smtp::FakeSmtp;
use crate::support::files::TempDir;
use crate::support::run;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// Far below the 600 s reply timeout, far above the few seconds a farewell may take.
const LIMIT: Duration = Duration::from_secs(40);

fn watched(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    run::spawn_within(cmd, LIMIT).wait_with_output()
}

#[test]
fn smtp_send_does_not_wait_out_an_unanswered_quit() {
    let s = FakeSmtp::builder().stall_on("QUIT").start();
    let mut c = Command::new(env!("CARGO_BIN_EXE_smtp-send"));
    c.args([
        "--server",
        &s.url(),
        "--tls",
        "none",
        "--timeout",
        "600",
        "--from",
        "a@example.com",
        "b@example.org",
    ])
    .env_remove("XDG_CONFIG_HOME")
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = run::spawn_within(&mut c, LIMIT);
    let mut stdin = child.stdin.take().unwrap();
    std::io::Write::write_all(&mut stdin, b"Subject: s\n\nbody\n").unwrap();
    drop(stdin);
    let out = child.wait_with_output();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(s.messages().len(), 1);
}

#[test]
fn imap_fetch_does_not_wait_out_an_unanswered_logout() {
    let server = fake_imap::imap(&["Subject: one\r\n\r\nbody\r\n"])
        .stall_on("LOGOUT")
        .start();
    let dir = TempDir::new("farewell-imap");
    let out = watched(
        Command::new(env!("CARGO_BIN_EXE_imap-fetch"))
            .env("HOME", dir.arg())
            .env("XDG_STATE_HOME", dir.join("state"))
            .env_remove("NETRC")
            .env("IMAP_PASS", PASS)
            .arg(format!("imap://{USER}@127.0.0.1:{}/", server.port()))
            .args(["--password-env", "IMAP_PASS", "--tls", "none"])
            .args(["--timeout", "600", "--maildir"])
            .arg(dir.join("Mail")),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read_dir(dir.join("Mail/new")).unwrap().count(), 1);
}

#[test]
fn ftp_get_does_not_wait_out_an_unanswered_quit() {
    let server = FakeFtp::builder()
        .file("f.txt", "hello\n")
        .stall_on("QUIT")
        .start();
    let dir = TempDir::new("farewell-ftp");
    let out = watched(
        Command::new(env!("CARGO_BIN_EXE_ftp-get"))
            .env("HOME", dir.arg())
            .env_remove("NETRC")
            .args(["--timeout", "600", "-o"])
            .arg(dir.join("f.txt"))
            .arg(server.url("f.txt")),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read(dir.join("f.txt")).unwrap(), b"hello\n");
}
