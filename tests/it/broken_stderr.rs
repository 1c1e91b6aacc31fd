//! A standard error (or output, for `--help`) whose reader has gone: the write fails with
//! EPIPE, and the job must go on and end with its own status, never with a panic (SIGABRT,
//! 134). `smtp-send -v ... 2>&1 | grep -m1 '^S: 220'` was killed before DATA this way, and
//! the message was never sent.

use crate::support::fake_ftp::FakeFtp;
use crate::support::fake_smtp::FakeSmtp;
use crate::support::files::TempDir;
use crate::support::run;
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Command, Stdio};

/// The write end of a pipe whose read end is already closed: every write to it fails.
fn reader_gone() -> Stdio {
    let mut fds = [0; 2];
    // SAFETY: pipe(2) fills both descriptors; the read end is closed at once and the write
    // end handed to the child as an owned descriptor.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    unsafe { libc::close(fds[0]) };
    Stdio::from(unsafe { OwnedFd::from_raw_fd(fds[1]) })
}

/// Runs `cmd` with stdin from /dev/null, stdout captured and stderr into [`reader_gone`];
/// returns the exit code (`None` when a signal ended it) and stdout.
fn run_without_stderr(cmd: &mut Command) -> (Option<i32>, Vec<u8>) {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(reader_gone());
    let out = run::spawn(cmd).wait_with_output();
    (out.status.code(), out.stdout)
}

#[test]
fn smtp_send_verbose_delivers_when_stderr_is_gone() {
    let s = FakeSmtp::builder().start();
    let msg = b"From: a@example.com\nTo: b@example.org\nSubject: s\n\nbody\n";
    let mut c = Command::new(env!("CARGO_BIN_EXE_smtp-send"));
    c.args([
        "--server",
        &s.url(),
        "--tls",
        "none",
        "-v",
        "-t",
        "--helo",
        "client.test",
    ])
    .env_remove("XDG_CONFIG_HOME")
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(reader_gone());
    let mut child = run::spawn(&mut c);
    let mut stdin = child.stdin.take().unwrap();
    std::io::Write::write_all(&mut stdin, msg).unwrap();
    drop(stdin);
    let out = child.wait_with_output();
    assert_eq!(out.status.code(), Some(0), "{:?}", out.status);
    let stored = s.messages();
    assert_eq!(stored.len(), 1, "the message was not delivered");
    assert_eq!(stored[0].rcpts, ["b@example.org"]);
}

#[test]
fn ftp_get_verbose_downloads_and_a_failure_keeps_its_status_when_stderr_is_gone() {
    let server = FakeFtp::builder().file("f.txt", "hello\n").start();
    let dir = TempDir::new("broken-stderr");
    let out = dir.join("f.txt");
    let (code, _) = run_without_stderr(
        Command::new(env!("CARGO_BIN_EXE_ftp-get"))
            .env("HOME", dir.arg())
            .env_remove("NETRC")
            .args(["-v", "-o"])
            .arg(&out)
            .arg(server.url("f.txt")),
    );
    assert_eq!(code, Some(0));
    assert_eq!(std::fs::read(&out).unwrap(), b"hello\n");
    // A failure whose line cannot be printed still ends with its own status.
    let (code, _) = run_without_stderr(
        Command::new(env!("CARGO_BIN_EXE_ftp-get"))
            .env("HOME", dir.arg())
            .env_remove("NETRC")
            .args(["-o"])
            .arg(dir.join("g.txt"))
            .arg(server.url("missing.txt")),
    );
    assert_eq!(code, Some(66));
}

#[test]
fn usage_errors_and_help_survive_closed_pipes() {
    for bin in [
        env!("CARGO_BIN_EXE_ftp-get"),
        env!("CARGO_BIN_EXE_smtp-send"),
        env!("CARGO_BIN_EXE_mime-pack"),
    ] {
        let (code, _) = run_without_stderr(Command::new(bin).arg("--no-such-flag"));
        assert_eq!(code, Some(64), "{bin}");
        // `--help | head -0`: standard output's reader has gone.
        let mut c = Command::new(bin);
        c.arg("--help")
            .stdin(Stdio::null())
            .stdout(reader_gone())
            .stderr(Stdio::piped());
        let out = run::spawn(&mut c).wait_with_output();
        assert_eq!(out.status.code(), Some(0), "{bin}: {:?}", out.status);
    }
}
