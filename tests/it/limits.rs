//! The run's own limits on waiting, whatever the protocol (docs/CONVENTIONS.md, "Waiting
//! and retrying"): a server that trickles a body, a literal, a file or a listing one byte
//! at a time, each byte before the read would time out, is given up once it has moved less
//! than `--speed-limit` bytes a second for `--speed-time`; and `--max-time` ends a run
//! whatever it is waiting for. Before, each read was bounded, never the flow as a whole: a
//! dripping POP3 body held pop-fetch (and the account's lock) for as long as the server
//! liked.

use crate::support::fake_ftp::FakeFtp;
use crate::support::fake_imap::{self, ImapBuilder};
use crate::support::fake_pop::{self, PopBuilder};
use crate::support::fake_smtp::{FakeSmtp, FinalReply};
use crate::support::files::TempDir;
use crate::support::run;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// 2,000 bytes of message that a server dripping a byte every 4 ms takes 8 s to send.
fn big_message() -> String {
    let mut m = String::from("Subject: slow\r\n\r\n");
    while m.len() < 2000 {
        m.push_str("a line of the body that arrives very slowly\r\n");
    }
    m
}

/// The flags that make the test's limit quick to reach: 1 KiB/s over 1 s, where the
/// server moves 250 bytes a second.
const SLOW: [&str; 6] = [
    "--speed-limit",
    "1k",
    "--speed-time",
    "1s",
    "--timeout",
    "10",
];

fn output(cmd: &mut Command) -> (Option<i32>, String) {
    cmd.stdin(Stdio::null());
    let o: Output = run::output(cmd);
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn tool(bin: &str, dir: &TempDir) -> Command {
    let mut c = Command::new(bin);
    c.env("HOME", dir.arg())
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env_remove("NETRC");
    c
}

#[test]
fn pop_fetch_gives_up_a_body_that_trickles_and_keeps_nothing_of_it() {
    let server = fake_pop::pop(&[("u1", &big_message())])
        .drip(Duration::from_millis(4))
        .start();
    let dir = TempDir::new("limits-pop");
    let url = format!("pop3://{}@127.0.0.1:{}", fake_pop::USER, server.port());
    let mut c = tool(env!("CARGO_BIN_EXE_pop-fetch"), &dir);
    c.env("POP_PASS", fake_pop::PASS)
        .args([&url, "--password-env", "POP_PASS", "--tls", "none"])
        .args(SLOW)
        .arg("--maildir")
        .arg(dir.join("Mail"));
    let (code, stderr) = output(&mut c);
    assert_eq!(code, Some(75), "{stderr}");
    assert_eq!(
        stderr,
        format!(
            "pop-fetch: 127.0.0.1:{}: the server sent less than 1024 bytes/s for 1 s (--speed-limit, --speed-time)\n",
            server.port()
        )
    );
    assert_eq!(dir.join("Mail/new").read_dir().unwrap().count(), 0);
    assert_eq!(server.protocol().remaining(), ["u1"]);

    // `--speed-limit 0` turns the floor off: the same slow server is waited for.
    let small = fake_pop::pop(&[("u2", "Subject: s\r\n\r\nshort\r\n")])
        .drip(Duration::from_millis(4))
        .start();
    let url = format!("pop3://{}@127.0.0.1:{}", fake_pop::USER, small.port());
    let mut c = tool(env!("CARGO_BIN_EXE_pop-fetch"), &dir);
    c.env("POP_PASS", fake_pop::PASS)
        .args([&url, "--password-env", "POP_PASS", "--tls", "none"])
        .args([
            "--speed-limit",
            "0",
            "--speed-time",
            "10ms",
            "--timeout",
            "10",
        ])
        .arg("--maildir")
        .arg(dir.join("Mail"));
    let (code, stderr) = output(&mut c);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(dir.join("Mail/new").read_dir().unwrap().count(), 1);
}

#[test]
fn imap_fetch_gives_up_a_literal_that_trickles() {
    let msg = big_message();
    let server = fake_imap::imap(&[msg.as_str()])
        .drip(Duration::from_millis(4))
        .start();
    let dir = TempDir::new("limits-imap");
    let url = format!("imap://{}@127.0.0.1:{}/", fake_imap::USER, server.port());
    let mut c = tool(env!("CARGO_BIN_EXE_imap-fetch"), &dir);
    c.env("IMAP_PASS", fake_imap::PASS)
        .args([&url, "--password-env", "IMAP_PASS", "--tls", "none"])
        .args(SLOW)
        .arg("--maildir")
        .arg(dir.join("Mail"));
    let (code, stderr) = output(&mut c);
    assert_eq!(code, Some(75), "{stderr}");
    assert!(
        stderr.ends_with(
            "the server sent less than 1024 bytes/s for 1 s (--speed-limit, --speed-time)\n"
        ),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert_eq!(dir.join("Mail/new").read_dir().unwrap().count(), 0);
}

#[test]
fn ftp_get_and_ftp_ls_give_up_data_that_trickles() {
    let listing: String = (0..40)
        .map(|i| format!("-rw-r--r-- 1 ftp ftp 5 Jan 01 2024 file-{i:03}.txt\r\n"))
        .collect();
    let server = FakeFtp::builder()
        .file("big.bin", big_message())
        .listing("LIST", listing)
        .no_feat()
        .drip_data(Duration::from_millis(4))
        .start();
    let dir = TempDir::new("limits-ftp");
    let mut c = tool(env!("CARGO_BIN_EXE_ftp-get"), &dir);
    c.args(SLOW)
        .arg("-o")
        .arg(dir.join("big.bin"))
        .arg(server.url("big.bin"));
    let (code, stderr) = output(&mut c);
    assert_eq!(code, Some(75), "{stderr}");
    assert_eq!(
        stderr,
        format!(
            "ftp-get: 127.0.0.1:{}: big.bin: data connection: the server sent less than 1024 bytes/s for 1 s (--speed-limit, --speed-time)\n",
            server.port()
        )
    );
    assert!(!dir.join("big.bin").exists());

    let mut c = tool(env!("CARGO_BIN_EXE_ftp-ls"), &dir);
    c.args(SLOW).arg(server.url(""));
    let (code, stderr) = output(&mut c);
    assert_eq!(code, Some(75), "{stderr}");
    assert!(
        stderr.ends_with(
            "data connection: the server sent less than 1024 bytes/s for 1 s (--speed-limit, --speed-time)\n"
        ),
        "{stderr}"
    );
}

#[test]
fn max_time_ends_a_run_whatever_it_waits_for_and_is_not_retried() {
    let server = FakeFtp::builder()
        .file("f.txt", "hello\n")
        .stall_on("RETR")
        .start();
    let dir = TempDir::new("limits-max-time");
    let mut c = tool(env!("CARGO_BIN_EXE_ftp-get"), &dir);
    c.args(["--max-time", "1", "--retries", "3", "-o"])
        .arg(dir.join("f.txt"))
        .arg(server.url("f.txt"));
    let (code, stderr) = output(&mut c);
    assert_eq!(code, Some(75), "{stderr}");
    assert_eq!(
        stderr,
        format!(
            "ftp-get: 127.0.0.1:{}: gave up: the run took longer than --max-time (1 s)\n",
            server.port()
        )
    );
    assert_eq!(server.connections(), 1, "a run out of time is not retried");

    // smtp-send waiting for the reply to its final dot.
    let s = FakeSmtp::builder().stall_on("DATA").start();
    let (code, stderr) = smtp_send_for_a_second(&dir, &s);
    assert_eq!(code, Some(75), "{stderr}");
    assert!(
        stderr.contains("gave up: the run took longer than --max-time (1 s)"),
        "{stderr}"
    );

    // The end of the message sent, its reply not come when the run's time is up: the
    // message may have been delivered (79), never "try again" (75).
    let s = FakeSmtp::builder()
        .data_reply_lost(FinalReply::Stall)
        .start();
    let (code, stderr) = smtp_send_for_a_second(&dir, &s);
    assert_eq!(code, Some(79), "{stderr}");
    assert_eq!(
        stderr,
        format!(
            "smtp-send: standard input: 127.0.0.1:{}: gave up: the run took longer than --max-time (1 s); the message may have been delivered: sending it again may deliver it twice\n",
            s.port()
        )
    );
}

#[test]
fn max_time_ends_imap_fetch_idle_and_keeps_what_was_recorded() {
    // A long-running --idle service is a run too: --max-time ends its wait for mail, and
    // what it fetched before stays stored and recorded.
    let server = fake_imap::imap(&["Subject: one\r\n\r\nbody\r\n"]).start();
    let dir = TempDir::new("limits-imap-idle");
    let url = format!("imap://{}@127.0.0.1:{}/", fake_imap::USER, server.port());
    let state = dir.join("state.txt");
    let mut c = tool(env!("CARGO_BIN_EXE_imap-fetch"), &dir);
    c.env("IMAP_PASS", fake_imap::PASS)
        .args([&url, "--password-env", "IMAP_PASS", "--tls", "none"])
        .args([
            "--idle",
            "--max-time",
            "2",
            "--retries",
            "3",
            "--state-file",
        ])
        .arg(&state)
        .arg("--maildir")
        .arg(dir.join("Mail"));
    let started = std::time::Instant::now();
    let (code, stderr) = output(&mut c);
    assert_eq!(code, Some(75), "{stderr}");
    assert_eq!(
        stderr,
        format!(
            "imap-fetch: 127.0.0.1:{}: gave up: the run took longer than --max-time (2 s)\n",
            server.port()
        )
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(dir.join("Mail/new").read_dir().unwrap().count(), 1);
    assert!(
        std::fs::read_to_string(&state)
            .unwrap()
            .contains("INBOX.last 1\n")
    );
}

/// smtp-send of a small message to `server` under `--max-time 1`: its exit code and stderr.
fn smtp_send_for_a_second(dir: &TempDir, server: &FakeSmtp) -> (Option<i32>, String) {
    let mut c = tool(env!("CARGO_BIN_EXE_smtp-send"), dir);
    c.args([
        "--server",
        &server.url(),
        "--tls",
        "none",
        "--max-time",
        "1",
    ])
    .args(["--from", "a@example.com", "b@example.org"])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let o = run::output_with_input(&mut c, b"Subject: s\n\nbody\n");
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}
