//! ftp-get end to end: the real binary against the scriptable fake server, checked by what a
//! user sees: the bytes on disk, the commands on the wire, the exit status and the one-line
//! message on stderr.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::support::assert_in_order;
use crate::support::fake_ftp::*;
use crate::support::files::{TempDir, assert_file, mkfifo, part, sample, sha256};
use crate::support::run;

// ---------------------------------------------------------------------------------------------
// Helpers

/// What one run of ftp-get showed.
#[derive(Debug)]
struct Out {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
    elapsed: Duration,
}

impl Out {
    /// Asserts success with nothing on stderr.
    fn ok(&self) -> &Self {
        assert_eq!(self.code, Some(0), "{self:#?}");
        assert_eq!(self.stderr, "", "{self:#?}");
        self
    }

    /// Asserts the exit status and that stderr is exactly one `ftp-get: ...` line; returns it.
    fn fails(&self, code: i32) -> &str {
        assert_eq!(self.code, Some(code), "{self:#?}");
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line on stderr expected: {self:#?}");
        assert!(lines[0].starts_with("ftp-get: "), "{self:#?}");
        lines[0]
    }
}

/// A HOME with no .netrc: not the one of whoever runs the tests.
fn no_home() -> PathBuf {
    std::env::temp_dir().join("posthaste-ftp_get-no-home")
}

fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ftp-get"));
    // No ~/.netrc or $NETRC of whoever runs the tests, and no terminal to prompt at.
    c.env("HOME", no_home())
        .env_remove("NETRC")
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null());
    if !args.contains(&"--timeout") {
        // Bounds every wait, so a hang shows up as a failure instead of a stuck suite.
        c.args(["--timeout", "5"]);
    }
    c
}

/// Runs ftp-get (under the watchdog of `support::run`) and records what it showed.
fn ftp_get_env(args: &[&str], env: &[(&str, &str)]) -> Out {
    let start = Instant::now();
    let output = run::output(&mut command(args, env));
    Out {
        code: output.status.code(),
        stdout: output.stdout,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        elapsed: start.elapsed(),
    }
}

fn ftp_get(args: &[&str]) -> Out {
    ftp_get_env(args, &[])
}

fn position(lines: &[String], line: &str) -> usize {
    lines
        .iter()
        .position(|l| l == line)
        .unwrap_or_else(|| panic!("{line:?} not in {lines:#?}"))
}

fn mtime(path: &Path) -> SystemTime {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .expect("mtime")
}

// ---------------------------------------------------------------------------------------------
// 1. A plain download

#[test]
fn anonymous_download_is_byte_exact_with_mtime_from_mdtm() {
    let body = sample(300_000);
    let ftp = FakeFtp::builder()
        .file_with_mtime("f", body.clone(), "20211224183000")
        .start();
    let dir = TempDir::new("plain");
    ftp_get(&["-O", dir.arg(), &ftp.url("f")]).ok();
    assert_file(&dir.join("f"), &body);
    assert_eq!(dir.names(), ["f"], "no .part left behind");
    let t = ftp.transcript();
    assert_in_order(
        &t,
        &[
            "USER anonymous",
            "TYPE I",
            "SIZE f",
            "MDTM f",
            "RETR f",
            "QUIT",
        ],
    );
    // 2021-12-24 18:30:00 UTC.
    assert_eq!(
        mtime(&dir.join("f")),
        UNIX_EPOCH + Duration::from_secs(1_640_370_600)
    );
}

#[test]
fn no_mtime_leaves_the_download_time() {
    let ftp = FakeFtp::builder()
        .file_with_mtime("f", "hello", "20211224183000")
        .start();
    let dir = TempDir::new("nomtime");
    let before = SystemTime::now() - Duration::from_secs(5);
    ftp_get(&["--no-mtime", "-O", dir.arg(), &ftp.url("f")]).ok();
    assert_file(&dir.join("f"), b"hello");
    let t = mtime(&dir.join("f"));
    assert!(t >= before, "{t:?} is not about now");
    assert!(ftp.commands("MDTM").is_empty());
}

// 2. One control connection per server

#[test]
fn several_urls_on_one_server_share_one_connection() {
    let (a, b, c) = (sample(1000), sample(70_000), b"third".to_vec());
    let ftp = FakeFtp::builder()
        .file("a.bin", a.clone())
        .file("sub/b.bin", b.clone())
        .file("c.txt", c.clone())
        .start();
    let dir = TempDir::new("share");
    ftp_get(&[
        "-O",
        dir.arg(),
        &ftp.url("a.bin"),
        &ftp.url("sub/b.bin"),
        &ftp.url("c.txt"),
    ])
    .ok();
    assert_file(&dir.join("a.bin"), &a);
    assert_file(&dir.join("b.bin"), &b);
    assert_file(&dir.join("c.txt"), &c);
    assert_eq!(ftp.connections(), 1);
    assert_eq!(ftp.commands("USER").len(), 1);
    assert_eq!(ftp.commands("RETR").len(), 3);
    assert_eq!(ftp.commands("QUIT").len(), 1);
}

// 3. and 4. Replies in odd shapes

#[test]
fn replies_split_into_single_bytes() {
    let body = sample(20_000);
    let ftp = FakeFtp::builder()
        .file("f", body.clone())
        .greeting("220-Hello\r\n220-there\r\n220 ready\r\n")
        .bytewise()
        .start();
    let dir = TempDir::new("bytewise");
    ftp_get(&["-O", dir.arg(), &ftp.url("f")]).ok();
    assert_file(&dir.join("f"), &body);
    assert_in_order(&ftp.transcript(), &["SIZE f", "RETR f", "QUIT"]);
}

#[test]
fn multiline_greeting_and_odd_feat_lines() {
    let ftp = FakeFtp::builder()
        .file("f", "data")
        .greeting(
            "220-Welcome to a chatty server\r\n\
             a continuation line without a code\r\n\
             220-\r\n\
             220 ready\r\n",
        )
        .feat(&[
            "size",
            "X-VENDOR a;b;;c",
            "",
            "220 not an end line",
            "Rest Stream",
            "EPSV",
        ])
        .start();
    let dir = TempDir::new("odd");
    ftp_get(&["-O", dir.arg(), &ftp.url("f")]).ok();
    assert_file(&dir.join("f"), b"data");
    // "size" counts (feature names are case-insensitive, RFC 2389); MDTM was not listed.
    assert_eq!(ftp.commands("SIZE"), ["SIZE f"]);
    assert!(ftp.commands("MDTM").is_empty());
}

#[test]
fn no_feat_still_downloads() {
    let ftp = FakeFtp::builder().file("f", sample(5000)).no_feat().start();
    let dir = TempDir::new("nofeat");
    ftp_get(&["-O", dir.arg(), &ftp.url("f")]).ok();
    assert_file(&dir.join("f"), &sample(5000));
    assert_in_order(&ftp.transcript(), &["FEAT", "SIZE f", "RETR f", "QUIT"]);
}

// 5. Malformed replies

#[test]
fn malformed_size_reply_is_a_protocol_error() {
    let ftp = FakeFtp::builder()
        .file("f", "data")
        .reply("SIZE", "hello\r\n")
        .start();
    let dir = TempDir::new("malformed");
    let out = ftp_get(&["-O", dir.arg(), &ftp.url("f")]);
    let line = out.fails(76);
    assert!(
        line.contains(&format!("127.0.0.1:{}", ftp.port())),
        "{line}"
    );
    assert!(line.contains("\"hello\""), "{line}");
    assert!(ftp.commands("RETR").is_empty());
    assert_eq!(dir.names(), Vec::<String>::new());
}

#[test]
fn garbage_greeting_is_a_protocol_error() {
    let ftp = FakeFtp::builder()
        .file("f", "data")
        .greeting("garbage\r\n")
        .start();
    let dir = TempDir::new("garbage");
    let out = ftp_get(&["-O", dir.arg(), &ftp.url("f")]);
    let line = out.fails(76);
    assert!(
        line.contains(&format!("127.0.0.1:{}", ftp.port())),
        "{line}"
    );
    assert!(line.contains("\"garbage\""), "{line}");
    assert!(ftp.commands("USER").is_empty());
}

// 6. and 7. Data connections

#[test]
fn wrong_pasv_address_is_ignored() {
    let body = sample(50_000);
    let ftp = FakeFtp::builder()
        .file("f", body.clone())
        .no_epsv()
        .pasv_address("10.255.255.1")
        .start();
    let dir = TempDir::new("pasvaddr");
    ftp_get(&["--timeout", "3", "-O", dir.arg(), &ftp.url("f")]).ok();
    assert_file(&dir.join("f"), &body);
    assert_in_order(&ftp.transcript(), &["EPSV", "PASV", "RETR f"]);
}

#[test]
fn refused_epsv_falls_back_to_pasv_once_for_all() {
    let ftp = FakeFtp::builder()
        .file("a", "aaa")
        .file("b", "bbb")
        .no_epsv()
        .start();
    let dir = TempDir::new("pasv");
    ftp_get(&["-O", dir.arg(), &ftp.url("a"), &ftp.url("b")]).ok();
    assert_file(&dir.join("a"), b"aaa");
    assert_file(&dir.join("b"), b"bbb");
    assert_eq!(ftp.commands("EPSV").len(), 1, "EPSV is not asked again");
    assert_eq!(ftp.commands("PASV").len(), 2);
    assert_in_order(
        &ftp.transcript(),
        &["EPSV", "PASV", "RETR a", "PASV", "RETR b"],
    );
}

#[test]
fn active_mode_uses_eprt() {
    let body = sample(100_000);
    let ftp = FakeFtp::builder().file("f", body.clone()).start();
    let dir = TempDir::new("eprt");
    ftp_get(&["--active", "-O", dir.arg(), &ftp.url("f")]).ok();
    assert_file(&dir.join("f"), &body);
    let eprt = ftp.commands("EPRT");
    assert_eq!(eprt.len(), 1, "{eprt:?}");
    assert!(eprt[0].starts_with("EPRT |1|127.0.0.1|"), "{eprt:?}");
    assert!(ftp.commands("EPSV").is_empty() && ftp.commands("PASV").is_empty());
    assert!(position(&ftp.transcript(), "RETR f") > position(&ftp.transcript(), &eprt[0]));
}

#[test]
fn active_mode_falls_back_to_port() {
    let body = sample(100_000);
    let ftp = FakeFtp::builder().file("f", body.clone()).no_eprt().start();
    let dir = TempDir::new("port");
    ftp_get(&["--active", "-O", dir.arg(), &ftp.url("f")]).ok();
    assert_file(&dir.join("f"), &body);
    let port = ftp.commands("PORT");
    assert_eq!(port.len(), 1, "{port:?}");
    assert!(port[0].starts_with("PORT 127,0,0,1,"), "{port:?}");
    let t = ftp.transcript();
    assert!(position(&t, &ftp.commands("EPRT")[0]) < position(&t, &port[0]));
    assert!(position(&t, &port[0]) < position(&t, "RETR f"));
}

// 8. Broken transfers

#[test]
fn data_dropped_with_426_keeps_the_part() {
    let body = sample(100_000);
    let ftp = FakeFtp::builder()
        .file("f", body.clone())
        .drop_data_after(30_000, Some("426 Connection closed; transfer aborted.\r\n"))
        .start();
    let dir = TempDir::new("drop426");
    let out = ftp_get(&["-O", dir.arg(), &ftp.url("f")]);
    let line = out.fails(74);
    assert!(line.contains("426"), "{line}");
    assert!(
        !dir.join("f").exists(),
        "no final file for a broken transfer"
    );
    assert_file(&part(&dir.join("f")), &body[..30_000]);
}

#[test]
fn data_dropped_with_a_lying_226_is_caught_by_the_size_check() {
    let body = sample(100_000);
    let ftp = FakeFtp::builder()
        .file("f", body.clone())
        .drop_data_after(30_000, Some("226 Transfer complete.\r\n"))
        .start();
    let dir = TempDir::new("lying226");
    let out = ftp_get(&["-O", dir.arg(), &ftp.url("f")]);
    let line = out.fails(74);
    assert!(line.contains("received 30000 of 100000 bytes"), "{line}");
    assert!(!dir.join("f").exists());
    assert_file(&part(&dir.join("f")), &body[..30_000]);
}

#[test]
fn retries_resume_where_the_first_attempt_stopped() {
    let body = sample(100_000);
    let ftp = FakeFtp::builder()
        .file("f", body.clone())
        .drop_data_after(30_000, Some("426 Connection closed; transfer aborted.\r\n"))
        .start();
    let dir = TempDir::new("retry");
    let out = ftp_get(&["--retries", "2", "-O", dir.arg(), &ftp.url("f")]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert!(out.stderr.contains("retry 1 of 2"), "{out:#?}");
    assert_file(&dir.join("f"), &body);
    assert_eq!(dir.names(), ["f"]);
    assert_eq!(ftp.commands("REST"), ["REST 30000"]);
    assert_eq!(ftp.commands("RETR").len(), 2);
}

#[test]
fn retries_reconnect_when_the_control_connection_dropped_too() {
    let body = sample(100_000);
    let ftp = FakeFtp::builder()
        .file("f", body.clone())
        .drop_data_after(40_000, None)
        .start();
    let dir = TempDir::new("retryreconnect");
    let out = ftp_get(&["--retries", "1", "-O", dir.arg(), &ftp.url("f")]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_file(&dir.join("f"), &body);
    assert_eq!(ftp.connections(), 2);
    assert_eq!(ftp.commands("REST"), ["REST 40000"]);
}

// 9. --continue

#[test]
fn continue_resumes_an_existing_part() {
    let body = sample(100_000);
    let ftp = FakeFtp::builder().file("f", body.clone()).start();
    let dir = TempDir::new("continue");
    std::fs::write(part(&dir.join("f")), &body[..12_345]).unwrap();
    ftp_get(&["-c", "-O", dir.arg(), &ftp.url("f")]).ok();
    assert_file(&dir.join("f"), &body);
    assert_eq!(dir.names(), ["f"]);
    assert_eq!(ftp.commands("REST"), ["REST 12345"]);
}

#[test]
fn continue_without_rest_downloads_the_whole_file() {
    let body = sample(100_000);
    let ftp = FakeFtp::builder()
        .file("f", body.clone())
        .refuse_rest()
        .start();
    let dir = TempDir::new("norest");
    // A wrong prefix: had it been kept, the file would be wrong.
    std::fs::write(part(&dir.join("f")), vec![0u8; 12_345]).unwrap();
    let out = ftp_get(&["-c", "-O", dir.arg(), &ftp.url("f")]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:#?}");
    assert!(
        out.stderr.starts_with("ftp-get: ") && out.stderr.contains("downloading the whole file"),
        "{out:#?}"
    );
    assert_file(&dir.join("f"), &body);
    assert_eq!(dir.names(), ["f"]);
    assert_eq!(ftp.commands("REST"), ["REST 12345"]);
}

#[test]
fn continue_resumes_a_shorter_complete_name() {
    let body = sample(100_000);
    let ftp = FakeFtp::builder().file("f", body.clone()).start();
    let dir = TempDir::new("continuename");
    std::fs::write(dir.join("f"), &body[..777]).unwrap();
    ftp_get(&["-c", "-O", dir.arg(), &ftp.url("f")]).ok();
    assert_file(&dir.join("f"), &body);
    assert_eq!(dir.names(), ["f"]);
    assert_eq!(ftp.commands("REST"), ["REST 777"]);
}

#[test]
fn without_continue_an_existing_part_is_replaced() {
    let body = sample(10_000);
    let ftp = FakeFtp::builder().file("f", body.clone()).start();
    let dir = TempDir::new("nocontinue");
    std::fs::write(part(&dir.join("f")), vec![0u8; 500]).unwrap();
    ftp_get(&["-O", dir.arg(), &ftp.url("f")]).ok();
    assert_file(&dir.join("f"), &body);
    assert!(ftp.commands("REST").is_empty());
}

// 10. Missing files, --no-clobber

#[test]
fn missing_remote_file_is_66_and_named() {
    let ftp = FakeFtp::builder().file("f", "x").start();
    let dir = TempDir::new("missing");
    let out = ftp_get(&["-O", dir.arg(), &ftp.url("nope.txt")]);
    let line = out.fails(66);
    assert!(line.contains("nope.txt"), "{line}");
    assert_eq!(
        dir.names(),
        Vec::<String>::new(),
        "no .part for a missing file"
    );
}

#[test]
fn one_missing_file_does_not_stop_the_others() {
    let ftp = FakeFtp::builder().file("a", "aaa").file("b", "bbb").start();
    let dir = TempDir::new("missingmid");
    let out = ftp_get(&[
        "-O",
        dir.arg(),
        &ftp.url("a"),
        &ftp.url("nope"),
        &ftp.url("b"),
    ]);
    let line = out.fails(66);
    assert!(line.contains("nope"), "{line}");
    assert_eq!(dir.names(), ["a", "b"]);
}

#[test]
fn no_clobber_skips_an_existing_file() {
    let ftp = FakeFtp::builder().file("f", "new contents").start();
    let dir = TempDir::new("noclobber");
    std::fs::write(dir.join("f"), "old").unwrap();
    let out = ftp_get(&["--no-clobber", "-O", dir.arg(), &ftp.url("f")]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert!(out.stderr.contains("skipped"), "{out:#?}");
    assert_file(&dir.join("f"), b"old");
    assert!(ftp.commands("RETR").is_empty());
    // Without it, the file is replaced.
    ftp_get(&["-O", dir.arg(), &ftp.url("f")]).ok();
    assert_file(&dir.join("f"), b"new contents");
}

// 11. Logins and passwords

const SECRET: &str = "s3cr3t-Pw!";

fn user_server() -> FakeFtp {
    FakeFtp::builder()
        .file("f", "private data")
        .login("u", SECRET)
        .start()
}

fn user_url(ftp: &FakeFtp) -> String {
    format!("ftp://u@127.0.0.1:{}/f", ftp.port())
}

#[test]
fn login_with_password_env() {
    let ftp = user_server();
    let dir = TempDir::new("passenv");
    let out = ftp_get_env(
        &[
            "--tls",
            "none",
            "--password-env",
            "FTP_TEST_PASS",
            "-O",
            dir.arg(),
            &user_url(&ftp),
        ],
        &[("FTP_TEST_PASS", SECRET)],
    );
    out.ok();
    assert_file(&dir.join("f"), b"private data");
    assert_in_order(
        &ftp.transcript(),
        &["USER u", &format!("PASS {SECRET}"), "RETR f"],
    );
}

#[test]
fn wrong_password_is_77() {
    let ftp = user_server();
    let dir = TempDir::new("wrongpass");
    let out = ftp_get_env(
        &[
            "--tls",
            "none",
            "--password-env",
            "FTP_TEST_PASS",
            "-O",
            dir.arg(),
            &user_url(&ftp),
        ],
        &[("FTP_TEST_PASS", "wrong")],
    );
    let line = out.fails(77);
    assert!(line.contains("530"), "{line}");
    assert!(!line.contains("wrong"), "the password is not shown: {line}");
    assert!(ftp.commands("RETR").is_empty());
    assert_eq!(dir.names(), Vec::<String>::new());
}

#[test]
fn a_password_too_long_for_a_command_line_is_refused_unshown() {
    // PASS and a 5,000-byte password is over the 4096 bytes a command line may have: refused
    // unsent (64), and the message shows the command as the transcript would.
    let ftp = user_server();
    let dir = TempDir::new("longpass");
    let long = "p4ss".repeat(1250);
    let out = ftp_get_env(
        &[
            "--tls",
            "none",
            "--password-env",
            "FTP_TEST_PASS",
            "-O",
            dir.arg(),
            &user_url(&ftp),
        ],
        &[("FTP_TEST_PASS", &long)],
    );
    let line = out.fails(64);
    assert!(
        line.ends_with("refusing to send a command line of 5005 bytes (at most 4096): PASS ****"),
        "{line}"
    );
    assert!(!line.contains("p4ss"), "the password is not shown: {line}");
    assert!(ftp.commands("PASS").is_empty());
}

#[test]
fn no_password_and_no_terminal_is_77() {
    let ftp = user_server();
    let dir = TempDir::new("nopass");
    let out = ftp_get(&["--tls", "none", "-O", dir.arg(), &user_url(&ftp)]);
    let line = out.fails(77);
    assert!(line.contains("--password-file"), "{line}");
    assert!(ftp.commands("USER").is_empty(), "fails before connecting");
}

#[test]
fn password_file_must_be_private() {
    use std::os::unix::fs::PermissionsExt;
    let ftp = user_server();
    let dir = TempDir::new("passfile");
    let out_dir = dir.join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let pass = dir.join("pass");
    std::fs::write(&pass, format!("{SECRET}\nsecond line ignored\n")).unwrap();
    std::fs::set_permissions(&pass, std::fs::Permissions::from_mode(0o644)).unwrap();
    let args = |url: &str| -> Vec<String> {
        [
            "--tls",
            "none",
            "--password-file",
            pass.to_str().unwrap(),
            "-O",
            out_dir.to_str().unwrap(),
            url,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let url = user_url(&ftp);
    let a = args(&url);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let out = ftp_get(&a);
    let line = out.fails(77);
    assert!(line.contains("chmod 600"), "{line}");
    assert!(ftp.commands("PASS").is_empty());

    std::fs::set_permissions(&pass, std::fs::Permissions::from_mode(0o600)).unwrap();
    ftp_get(&a).ok();
    assert_file(&out_dir.join("f"), b"private data");
}

#[test]
fn netrc_file_and_verbose_never_shows_the_password() {
    let ftp = user_server();
    let dir = TempDir::new("netrc");
    let netrc = dir.join("netrc");
    std::fs::write(
        &netrc,
        format!("machine other.example login x password y\nmachine 127.0.0.1 login u password {SECRET}\n"),
    )
    .unwrap();
    let out_dir = dir.join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let out = ftp_get(&[
        "-v",
        "--tls",
        "none",
        "--netrc-file",
        netrc.to_str().unwrap(),
        "-O",
        out_dir.to_str().unwrap(),
        &ftp.url("f"),
    ]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_file(&out_dir.join("f"), b"private data");
    assert!(out.stderr.contains("C: USER u"), "{}", out.stderr);
    assert!(out.stderr.contains("C: PASS ****"), "{}", out.stderr);
    assert!(out.stderr.contains("S: 230"), "{}", out.stderr);
    assert!(!out.stderr.contains(SECRET), "{}", out.stderr);
    assert_eq!(ftp.commands("PASS"), [format!("PASS {SECRET}")]);
}

// 12. Stalls

#[test]
fn server_stalling_on_retr_times_out() {
    let ftp = FakeFtp::builder()
        .file("f", "data")
        .stall_on("RETR")
        .start();
    let dir = TempDir::new("stallretr");
    let out = ftp_get(&["--timeout", "1", "-O", dir.arg(), &ftp.url("f")]);
    let line = out.fails(75);
    assert!(line.contains("no reply to RETR within 1 s"), "{line}");
    assert!(out.elapsed < Duration::from_secs(8), "{:?}", out.elapsed);
    assert!(!dir.join("f").exists());
}

#[test]
fn stalled_data_connection_times_out() {
    let ftp = FakeFtp::builder()
        .file("f", sample(10_000))
        .stall_data()
        .start();
    let dir = TempDir::new("stalldata");
    let out = ftp_get(&["--timeout", "1", "-O", dir.arg(), &ftp.url("f")]);
    let line = out.fails(75);
    assert!(line.contains("timed out"), "{line}");
    assert!(out.elapsed < Duration::from_secs(8), "{:?}", out.elapsed);
    assert!(!dir.join("f").exists());
}

// 13. Globs

fn glob_server(b: Builder) -> FakeFtp {
    b.file("dir/a.csv", "a")
        .file("dir/b.csv", "bb")
        .file("dir/c.txt", "c")
        .file("dir/.hidden.csv", "h")
        .file("dir/sub/deep.csv", "d")
        .file("top.csv", "t")
        .start()
}

#[test]
fn glob_with_mlsd_fetches_exactly_the_matching_files() {
    let ftp = glob_server(FakeFtp::builder().dir("dir/folder.csv"));
    let dir = TempDir::new("globmlsd");
    ftp_get(&["-O", dir.arg(), &ftp.url("dir/*.csv")]).ok();
    assert_eq!(dir.names(), ["a.csv", "b.csv"]);
    assert_file(&dir.join("a.csv"), b"a");
    assert_file(&dir.join("b.csv"), b"bb");
    assert_eq!(ftp.commands("MLSD"), ["MLSD dir"]);
    assert!(ftp.commands("NLST").is_empty());
    assert_eq!(ftp.commands("RETR"), ["RETR dir/a.csv", "RETR dir/b.csv"]);
}

#[test]
fn glob_without_mlst_uses_nlst() {
    let ftp = glob_server(FakeFtp::builder().feat(&["EPSV", "SIZE", "MDTM", "REST STREAM"]));
    let dir = TempDir::new("globnlst");
    ftp_get(&["-O", dir.arg(), &ftp.url("dir/[ab].csv")]).ok();
    assert_eq!(dir.names(), ["a.csv", "b.csv"]);
    assert_file(&dir.join("b.csv"), b"bb");
    assert_eq!(ftp.commands("NLST"), ["NLST dir"]);
    assert!(ftp.commands("MLSD").is_empty());
}

#[test]
fn glob_matching_nothing_is_66() {
    let ftp = glob_server(FakeFtp::builder());
    let dir = TempDir::new("globnone");
    let out = ftp_get(&["-O", dir.arg(), &ftp.url("dir/*.xml")]);
    let line = out.fails(66);
    assert!(line.contains("no remote file matches"), "{line}");
    assert_eq!(dir.names(), Vec::<String>::new());
    assert!(ftp.commands("RETR").is_empty());
}

// 14. Hostile names from a listing

/// A minimal FTP server whose NLST answer is given verbatim (the fake lists its own tree,
/// which cannot hold such names). Serves RETR/SIZE from `files`, keyed by the argument.
struct HostileServer {
    port: u16,
    transcript: Arc<Mutex<Vec<String>>>,
    thread: Option<JoinHandle<()>>,
}

impl HostileServer {
    fn start(nlst: &[&str], files: &[(&str, &str)]) -> HostileServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let nlst: String = nlst.iter().map(|n| format!("{n}\r\n")).collect();
        let files: Vec<(String, String)> = files
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let transcript = Arc::new(Mutex::new(Vec::new()));
        let t = Arc::clone(&transcript);
        let thread = thread::spawn(move || {
            let Ok((control, _)) = listener.accept() else {
                return;
            };
            control
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let _ = hostile_session(control, &nlst, &files, &t);
        });
        HostileServer {
            port,
            transcript,
            thread: Some(thread),
        }
    }

    fn transcript(&mut self) -> Vec<String> {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.transcript.lock().unwrap().clone()
    }
}

fn hostile_session(
    control: TcpStream,
    nlst: &str,
    files: &[(String, String)],
    transcript: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    let mut w = control.try_clone()?;
    let mut r = BufReader::new(control);
    let mut passive: Option<TcpListener> = None;
    w.write_all(b"220 hostile\r\n")?;
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let line = line.trim_end().to_string();
        transcript.lock().unwrap().push(line.clone());
        let (verb, arg) = line.split_once(' ').unwrap_or((&line, ""));
        let file = files.iter().find(|(k, _)| k == arg).map(|(_, v)| v.clone());
        let mut send_data = |body: &str, w: &mut TcpStream| -> std::io::Result<()> {
            w.write_all(b"150 here it comes\r\n")?;
            let (mut d, _) = passive.take().expect("EPSV first").accept()?;
            d.write_all(body.as_bytes())?;
            drop(d);
            w.write_all(b"226 done\r\n")
        };
        match verb {
            "USER" => w.write_all(b"331 password\r\n")?,
            "PASS" => w.write_all(b"230 in\r\n")?,
            "FEAT" => w.write_all(b"211-Features:\r\n EPSV\r\n SIZE\r\n211 End\r\n")?,
            "TYPE" => w.write_all(b"200 ok\r\n")?,
            "EPSV" => {
                let l = TcpListener::bind("127.0.0.1:0")?;
                let p = l.local_addr()?.port();
                passive = Some(l);
                w.write_all(format!("229 Entering Extended Passive Mode (|||{p}|)\r\n").as_bytes())?
            }
            "NLST" => send_data(nlst, &mut w)?,
            "SIZE" => match file {
                Some(f) => w.write_all(format!("213 {}\r\n", f.len()).as_bytes())?,
                None => w.write_all(b"550 no\r\n")?,
            },
            "RETR" => match file {
                Some(f) => send_data(&f, &mut w)?,
                None => w.write_all(b"550 no\r\n")?,
            },
            "QUIT" => {
                w.write_all(b"221 bye\r\n")?;
                return Ok(());
            }
            _ => w.write_all(b"500 what\r\n")?,
        }
    }
}

#[test]
fn listed_names_that_would_escape_the_folder_are_refused() {
    let files = [
        ("dir/good.csv", "good"),
        ("dir/prefixed.csv", "prefixed"),
        // Whatever the client makes of the hostile names, something is there to fetch.
        ("dir/../evil.csv", "evil"),
        ("dir/evil.csv", "evil"),
        ("../evil.csv", "evil"),
        ("dir/a/../../x.csv", "evil"),
        ("dir/x.csv", "evil"),
        ("a/../../x.csv", "evil"),
    ];
    let mut server = HostileServer::start(
        &[
            "good.csv",
            "dir/prefixed.csv",
            "../evil.csv",
            "a/../../x.csv",
        ],
        &files,
    );
    let top = TempDir::new("escape");
    let out_dir = top.join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let out = ftp_get(&[
        "-O",
        out_dir.to_str().unwrap(),
        &format!("ftp://127.0.0.1:{}/dir/*.csv", server.port),
    ]);
    assert_eq!(out.code, Some(76), "{out:#?}");
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{out:#?}");
    assert!(lines.iter().all(|l| l.starts_with("ftp-get: ")));
    assert!(out.stderr.contains("\"../evil.csv\""), "{out:#?}");
    assert!(out.stderr.contains("\"a/../../x.csv\""), "{out:#?}");
    assert_eq!(top.names(), ["out"], "nothing written beside the folder");
    let mut got: Vec<String> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    got.sort();
    assert_eq!(got, ["good.csv", "prefixed.csv"]);
    assert_file(&out_dir.join("good.csv"), b"good");
    assert_file(&out_dir.join("prefixed.csv"), b"prefixed");
    let retr: Vec<String> = server
        .transcript()
        .into_iter()
        .filter(|l| l.starts_with("RETR"))
        .collect();
    assert_eq!(retr, ["RETR dir/good.csv", "RETR dir/prefixed.csv"]);
}

// 15. Standard output

#[test]
fn output_dash_streams_to_stdout() {
    let body = sample(200_000);
    let ftp = FakeFtp::builder().file("f", body.clone()).start();
    let dir = TempDir::new("stdout");
    let out = ftp_get(&["-o", "-", &ftp.url("f")]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_eq!(out.stderr, "");
    assert_eq!(sha256(&out.stdout), sha256(&body));
    assert_eq!(dir.names(), Vec::<String>::new());
}

#[test]
fn closed_stdout_ends_quietly_with_status_0() {
    let body = sample(8 << 20);
    let ftp = FakeFtp::builder().file("f", body.clone()).start();
    let mut child = run::spawn(
        command(&["-o", "-", &ftp.url("f")], &[])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    let mut stdout = child.stdout.take().unwrap();
    let mut head = [0u8; 10];
    stdout.read_exact(&mut head).unwrap();
    assert_eq!(head, body[..10]);
    drop(stdout); // `| head -c 10`
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait();
    assert_eq!(status.code(), Some(0), "stderr: {stderr}");
    assert_eq!(stderr, "");
}

// 16. --delete-remote

#[test]
fn delete_remote_after_the_file_is_complete() {
    let body = sample(50_000);
    let ftp = FakeFtp::builder()
        .file("f", body.clone())
        .file("keep", "k")
        .start();
    let dir = TempDir::new("delete");
    ftp_get(&["--delete-remote", "-O", dir.arg(), &ftp.url("f")]).ok();
    assert_file(&dir.join("f"), &body);
    let t = ftp.transcript();
    assert!(position(&t, "RETR f") < position(&t, "DELE f"), "{t:#?}");
    assert_eq!(ftp.deleted(), ["f"]);
    assert_eq!(ftp.file("f"), None);
}

#[test]
fn delete_remote_is_not_sent_for_a_failed_download() {
    let body = sample(50_000);
    let ftp = FakeFtp::builder()
        .file("f", body.clone())
        .drop_data_after(1000, Some("226 Transfer complete.\r\n"))
        .start();
    let dir = TempDir::new("nodelete");
    let out = ftp_get(&["--delete-remote", "-O", dir.arg(), &ftp.url("f")]);
    out.fails(74);
    assert!(ftp.commands("DELE").is_empty());
    assert!(ftp.deleted().is_empty());
    assert!(!dir.join("f").exists());
}

// 17. Usage errors

#[test]
fn usage_errors_exit_64() {
    let ftp = FakeFtp::builder().file("a", "a").file("b", "b").start();
    let dir = TempDir::new("usage");
    let file = dir.join("one");
    let cases: Vec<Vec<String>> = vec![
        vec![],
        vec!["http://x/y".into()],
        vec![
            "-o".into(),
            file.to_str().unwrap().into(),
            ftp.url("a"),
            ftp.url("b"),
        ],
        vec!["-O".into(), dir.arg().into(), ftp.url("a%0d%0aDELE%20b")],
        vec!["--no-such-flag".into(), ftp.url("a")],
    ];
    for args in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = ftp_get(&args);
        assert_eq!(out.code, Some(64), "{args:?}: {out:#?}");
        assert!(out.stderr.starts_with("ftp-get: "), "{args:?}: {out:#?}");
    }
    assert_eq!(ftp.connections(), 0, "usage errors never connect");
    assert_eq!(dir.names(), Vec::<String>::new());
}

#[test]
fn help_exits_0() {
    let out = ftp_get(&["--help"]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Usage"), "{text}");
    assert!(text.contains("--password-file"), "{text}");
}

// 18. Overlong replies, dropped connections

#[test]
fn overlong_reply_line_is_76() {
    let ftp = FakeFtp::builder()
        .file("f", "data")
        .reply("SIZE", &format!("213 {}\r\n", "9".repeat(9000)))
        .start();
    let dir = TempDir::new("overlong");
    let out = ftp_get(&["-O", dir.arg(), &ftp.url("f")]);
    let line = out.fails(76);
    assert!(line.contains("longer than 8 KiB"), "{line}");
    assert!(
        line.contains(&format!("127.0.0.1:{}", ftp.port())),
        "{line}"
    );
}

#[test]
fn connection_closed_after_the_greeting_is_75() {
    let ftp = FakeFtp::builder()
        .file("f", "data")
        .reply_then_close("USER", "421 bye\r\n")
        .start();
    let dir = TempDir::new("421");
    let out = ftp_get(&["-O", dir.arg(), &ftp.url("f")]);
    let line = out.fails(75);
    assert!(line.contains("421"), "{line}");
    assert_eq!(dir.names(), Vec::<String>::new());
}

#[test]
fn connection_refused_is_75() {
    // A port that was free a moment ago.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = TempDir::new("refused");
    let out = ftp_get(&["-O", dir.arg(), &format!("ftp://127.0.0.1:{port}/f")]);
    let line = out.fails(75);
    assert!(line.contains(&format!("127.0.0.1:{port}")), "{line}");
}

// 19. TLS policy against a server without TLS

#[test]
fn tls_auto_never_sends_a_password_in_cleartext() {
    let ftp = user_server();
    let dir = TempDir::new("tlsauto");
    let out = ftp_get_env(
        &[
            "--password-env",
            "FTP_TEST_PASS",
            "-O",
            dir.arg(),
            &user_url(&ftp),
        ],
        &[("FTP_TEST_PASS", SECRET)],
    );
    let line = out.fails(69);
    assert!(line.contains("--tls none"), "{line}");
    assert!(!line.contains(SECRET), "{line}");
    assert_eq!(ftp.commands("AUTH"), ["AUTH TLS"]);
    assert!(ftp.commands("PASS").is_empty());
    assert!(ftp.commands("USER").is_empty());
    assert_eq!(dir.names(), Vec::<String>::new());
}

#[test]
fn tls_required_fails_even_anonymously() {
    let ftp = FakeFtp::builder().file("f", "data").start();
    let dir = TempDir::new("tlsrequired");
    let out = ftp_get(&["--tls", "required", "-O", dir.arg(), &ftp.url("f")]);
    let line = out.fails(69);
    assert!(line.contains("--tls required"), "{line}");
    assert!(ftp.commands("USER").is_empty());
    assert_eq!(dir.names(), Vec::<String>::new());
}

#[test]
fn tls_auto_anonymous_goes_on_in_plaintext() {
    let ftp = FakeFtp::builder().file("f", "data").start();
    let dir = TempDir::new("tlsanon");
    ftp_get(&["-O", dir.arg(), &ftp.url("f")]).ok();
    assert_file(&dir.join("f"), b"data");
    assert_in_order(&ftp.transcript(), &["AUTH TLS", "USER anonymous", "RETR f"]);
}

#[test]
fn tls_none_sends_no_auth() {
    let ftp = FakeFtp::builder().file("f", "data").start();
    let dir = TempDir::new("tlsnone");
    ftp_get(&["--tls", "none", "-O", dir.arg(), &ftp.url("f")]).ok();
    assert_file(&dir.join("f"), b"data");
    assert!(ftp.commands("AUTH").is_empty());
}

#[test]
fn bytes_sent_before_the_tls_handshake_are_refused() {
    // A man in the middle answers AUTH TLS and appends a reply of its own: read after the
    // upgrade, it would pass for the server's (the response-injection attack).
    let ftp = FakeFtp::builder()
        .file("f", "data")
        .reply("AUTH", "234 go ahead\r\n230 injected login\r\n")
        .start();
    let dir = TempDir::new("inject");
    let out = ftp_get(&["-O", dir.arg(), &ftp.url("f")]);
    let line = out.fails(76);
    assert!(line.contains("before the TLS handshake"), "{line}");
    assert!(ftp.commands("USER").is_empty(), "{:?}", ftp.transcript());
    assert!(dir.names().is_empty());
}

#[test]
fn progress_and_a_summary_line_only_at_a_terminal() {
    // `script` runs ftp-get with a pseudo-terminal as its stderr, as a person at a terminal
    // would have it. Without a terminal (every other test) stderr stays empty on success.
    let ftp = FakeFtp::builder().file("f.bin", sample(300_000)).start();
    let dir = TempDir::new("tty");
    let cmd = format!(
        "{} --timeout 5 -O {} {}",
        env!("CARGO_BIN_EXE_ftp-get"),
        dir.arg(),
        ftp.url("f.bin")
    );
    let out = run::output(
        Command::new("script")
            .args(["-qec", &cmd, "/dev/null"])
            .env("HOME", no_home()),
    );
    assert!(out.status.success(), "{out:?}");
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(
        screen.contains("f.bin: 292.97 KiB in "),
        "summary line expected at a terminal: {screen:?}"
    );
    assert_file(&dir.join("f.bin"), &sample(300_000));
    // -q: nothing at all, even at a terminal.
    let quiet =
        run::output(Command::new("script").args(["-qec", &format!("{cmd} -q"), "/dev/null"]));
    assert!(quiet.status.success());
    assert_eq!(String::from_utf8_lossy(&quiet.stdout).trim(), "");
}

#[test]
fn address_families_restrict_what_is_tried() {
    let ftp = FakeFtp::builder().file("f", "data").start();
    let dir = TempDir::new("family");
    // The fake listens on 127.0.0.1 only.
    let v4 = ftp.url("f");
    ftp_get(&["-4", "-O", dir.arg(), &v4]).ok();
    assert_file(&dir.join("f"), b"data");
    let out = ftp_get(&["-6", "-O", dir.arg(), &v4]);
    let line = out.fails(68);
    assert!(
        line.contains("127.0.0.1") && line.contains("IPv6"),
        "{line}"
    );
}

// More of what users do

#[test]
fn empty_file_downloads_as_empty() {
    let ftp = FakeFtp::builder().file("empty", "").start();
    let dir = TempDir::new("empty");
    ftp_get(&["-O", dir.arg(), &ftp.url("empty")]).ok();
    assert_file(&dir.join("empty"), b"");
    assert_eq!(dir.names(), ["empty"]);
}

#[test]
fn ascii_mode_converts_crlf_to_local_line_ends() {
    let ftp = FakeFtp::builder()
        .file("t.txt", "one\ntwo\n\nthree")
        .start();
    let dir = TempDir::new("ascii");
    ftp_get(&["--ascii", "-O", dir.arg(), &ftp.url("t.txt")]).ok();
    assert_eq!(ftp.commands("TYPE"), ["TYPE A"]);
    assert_file(&dir.join("t.txt"), b"one\ntwo\n\nthree");
    let out = ftp_get(&["--ascii", "-o", "-", &ftp.url("t.txt")]);
    out.ok();
    assert_eq!(out.stdout, b"one\ntwo\n\nthree");
}

#[test]
fn type_a_in_the_url_is_an_ascii_transfer_of_that_file() {
    let ftp = FakeFtp::builder()
        .file("t.txt", "one\ntwo\n")
        .file("b.bin", "x\ny\n")
        .start();
    let dir = TempDir::new("typea");
    ftp_get(&["-O", dir.arg(), &ftp.url("t.txt;type=a"), &ftp.url("b.bin")]).ok();
    assert_file(&dir.join("t.txt"), b"one\ntwo\n");
    assert_file(&dir.join("b.bin"), b"x\ny\n");
    assert_in_order(
        &ftp.transcript(),
        &["TYPE A", "RETR t.txt", "TYPE I", "RETR b.bin"],
    );
}

#[test]
fn output_file_and_a_glob_matching_several_is_64() {
    let ftp = glob_server(FakeFtp::builder());
    let dir = TempDir::new("oglob");
    let out = ftp_get(&["-o", dir.join("x").to_str().unwrap(), &ftp.url("dir/*.csv")]);
    let line = out.fails(64);
    assert!(line.contains("-O DIR"), "{line}");
    assert!(ftp.commands("RETR").is_empty());
    assert_eq!(dir.names(), Vec::<String>::new());
}

#[test]
fn output_file_names_the_destination() {
    let body = sample(10_000);
    let ftp = FakeFtp::builder()
        .file("dir/remote.bin", body.clone())
        .start();
    let dir = TempDir::new("ofile");
    ftp_get(&[
        "-o",
        dir.join("local.bin").to_str().unwrap(),
        &ftp.url("dir/remote.bin"),
    ])
    .ok();
    assert_eq!(dir.names(), ["local.bin"]);
    assert_file(&dir.join("local.bin"), &body);
}

#[test]
fn stdout_concatenates_several_files() {
    let ftp = FakeFtp::builder()
        .file("a", "first\n")
        .file("b", "second\n")
        .start();
    let out = ftp_get(&["--stdout", &ftp.url("a"), &ftp.url("b")]);
    out.ok();
    assert_eq!(out.stdout, b"first\nsecond\n");
}

// ---------------------------------------------------------------------------------------------
// What a hostile review found: planted links, special files, secrets on stderr, slow servers,
// unverifiable resumes, replies without a transfer, one local name for two files.

use std::os::unix::fs::{FileTypeExt, symlink};

#[test]
fn a_planted_part_link_is_replaced_never_followed() {
    let body = sample(40_000);
    let ftp = FakeFtp::builder().file("file.bin", body.clone()).start();
    let dir = TempDir::new("plantpart");
    let shared = dir.join("shared");
    std::fs::create_dir(&shared).unwrap();
    let victim = dir.join("victim");
    std::fs::write(&victim, b"precious").unwrap();
    symlink(&victim, shared.join("file.bin.part")).unwrap();
    ftp_get(&["-O", shared.to_str().unwrap(), &ftp.url("file.bin")]).ok();
    assert_file(&victim, b"precious");
    assert_file(&shared.join("file.bin"), &body);
    assert!(!shared.join("file.bin.part").exists());
}

#[test]
fn continue_never_appends_through_a_planted_link() {
    let body = sample(40_000);
    let ftp = FakeFtp::builder().file("file.bin", body.clone()).start();
    let dir = TempDir::new("plantname");
    let shared = dir.join("shared");
    std::fs::create_dir(&shared).unwrap();
    let victim = dir.join("victim");
    std::fs::write(&victim, b"precious").unwrap();
    symlink(&victim, shared.join("file.bin")).unwrap();
    ftp_get(&["-c", "-O", shared.to_str().unwrap(), &ftp.url("file.bin")]).ok();
    assert_file(&victim, b"precious");
    let meta = std::fs::symlink_metadata(shared.join("file.bin")).unwrap();
    assert!(meta.is_file(), "the link is replaced by the download");
    assert_file(&shared.join("file.bin"), &body);
    assert!(ftp.commands("REST").is_empty(), "{:?}", ftp.transcript());
}

#[test]
fn resuming_refuses_a_part_that_is_a_link() {
    let ftp = FakeFtp::builder().file("f", sample(5000)).start();
    let dir = TempDir::new("partlink");
    let victim = dir.join("victim");
    std::fs::write(&victim, b"precious").unwrap();
    symlink(&victim, dir.join("f.part")).unwrap();
    let out = ftp_get(&["-c", "-o", dir.join("f").to_str().unwrap(), &ftp.url("f")]);
    let line = out.fails(73);
    assert!(
        line.contains("f.part") && line.contains("symbolic link"),
        "{line}"
    );
    assert_file(&victim, b"precious");
    assert!(!dir.join("f").exists());
}

#[test]
fn output_onto_a_fifo_writes_into_it_in_place() {
    let body = sample(300_000);
    let ftp = FakeFtp::builder().file("f", body.clone()).start();
    let dir = TempDir::new("fifo");
    let fifo = dir.join("pipe");
    mkfifo(&fifo);
    let (tx, rx) = std::sync::mpsc::channel();
    {
        let fifo = fifo.clone();
        thread::spawn(move || tx.send(std::fs::read(fifo).unwrap()));
    }
    ftp_get(&["-o", fifo.to_str().unwrap(), &ftp.url("f")]).ok();
    // Were the FIFO replaced, its reader would wait forever: fail instead of hanging.
    let read = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the FIFO's reader got nothing");
    assert_eq!(sha256(&read), sha256(&body));
    let meta = std::fs::symlink_metadata(&fifo).unwrap();
    assert!(meta.file_type().is_fifo(), "still a FIFO");
    assert_eq!(dir.names(), ["pipe"], "no .part beside it");
}

#[test]
fn output_onto_a_device_node_keeps_the_node() {
    // A node of our own, never the system's /dev/null. Making one needs root, as in CI.
    if unsafe { libc::geteuid() } != 0 {
        panic!("this test makes a device node: run the suite as root (scripts/test, CI)");
    }
    let ftp = FakeFtp::builder().file("f", sample(70_000)).start();
    let dir = TempDir::new("device");
    let node = dir.join("mynull");
    {
        use std::os::unix::ffi::OsStrExt;
        let c = std::ffi::CString::new(node.as_os_str().as_bytes()).unwrap();
        let dev = libc::makedev(1, 3);
        assert_eq!(
            unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o666, dev) },
            0
        );
    }
    ftp_get(&["-o", node.to_str().unwrap(), &ftp.url("f")]).ok();
    let meta = std::fs::symlink_metadata(&node).unwrap();
    assert!(meta.file_type().is_char_device(), "still the device node");
    assert_eq!(dir.names(), ["mynull"]);
}

#[test]
fn output_onto_a_link_the_user_named_writes_its_target() {
    let body = sample(10_000);
    let ftp = FakeFtp::builder().file("f", body.clone()).start();
    let dir = TempDir::new("namedlink");
    std::fs::write(dir.join("real.bin"), b"old").unwrap();
    symlink("real.bin", dir.join("link.bin")).unwrap();
    ftp_get(&["-o", dir.join("link.bin").to_str().unwrap(), &ftp.url("f")]).ok();
    assert!(
        std::fs::symlink_metadata(dir.join("link.bin"))
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link stays a link"
    );
    assert_file(&dir.join("real.bin"), &body);
    assert_eq!(dir.names(), ["link.bin", "real.bin"]);
}

#[test]
fn output_onto_a_folder_fails_before_connecting() {
    let ftp = FakeFtp::builder().file("f", sample(1000)).start();
    let dir = TempDir::new("ontodir");
    let out = ftp_get(&["-o", dir.arg(), &ftp.url("f")]);
    let line = out.fails(73);
    assert!(line.contains("is a folder"), "{line}");
    assert_eq!(ftp.connections(), 0, "nothing downloaded first");
}

#[test]
fn a_name_near_the_file_name_limit_downloads() {
    let name = format!("{}.csv", "n".repeat(250)); // 254 bytes: no room for ".part"
    let body = sample(3000);
    let ftp = FakeFtp::builder().file(&name, body.clone()).start();
    let dir = TempDir::new("longname");
    ftp_get(&["-O", dir.arg(), &ftp.url(&name)]).ok();
    assert_file(&dir.join(&name), &body);
    assert_eq!(dir.names(), [name]);
}

#[test]
fn continue_never_takes_a_file_from_its_name() {
    let ftp = FakeFtp::builder().start();
    let dir = TempDir::new("keepname");
    let dest = dir.join("data.csv");
    std::fs::write(&dest, b"complete local copy").unwrap();
    let out = ftp_get(&["-c", "-o", dest.to_str().unwrap(), &ftp.url("data.csv")]);
    out.fails(66);
    assert_file(&dest, b"complete local copy");
    assert_eq!(dir.names(), ["data.csv"]);
}

// Secrets never reach stderr.

#[test]
fn a_password_with_a_stray_cr_is_never_printed() {
    let ftp = user_server();
    let dir = TempDir::new("crpass");
    // A trailing line end is stripped (CRLF, LF or CR): that is how files and CI secrets
    // often arrive.
    for pw in [
        format!("{SECRET}\r"),
        format!("{SECRET}\r\n"),
        format!("{SECRET}\n"),
    ] {
        let out = ftp_get_env(
            &[
                "-q",
                "--tls",
                "none",
                "--password-env",
                "PW",
                "-o",
                dir.join("f").to_str().unwrap(),
                &user_url(&ftp),
            ],
            &[("PW", &pw)],
        );
        out.ok();
        assert_file(&dir.join("f"), b"private data");
    }
    // A CR inside the password cannot be sent: refused, and the password never shown.
    let evil = format!("{SECRET}\rsecond-half");
    let out = ftp_get_env(
        &[
            "-q",
            "--tls",
            "none",
            "--password-env",
            "PW",
            "-o",
            dir.join("g").to_str().unwrap(),
            &user_url(&ftp),
        ],
        &[("PW", &evil)],
    );
    let line = out.fails(64);
    assert!(line.contains("--password-env PW"), "{line}");
    assert!(
        !out.stderr.contains(SECRET) && !out.stderr.contains("second-half"),
        "{line}"
    );
    assert!(ftp.commands("PASS").len() == 3, "{:?}", ftp.transcript());
}

#[test]
fn a_netrc_password_with_an_escaped_cr_is_refused_unshown() {
    let ftp = user_server();
    let dir = TempDir::new("netrccr");
    let netrc = dir.join("netrc");
    std::fs::write(
        &netrc,
        format!("machine 127.0.0.1 login u password \"{SECRET}\\r\"\n"),
    )
    .unwrap();
    std::fs::set_permissions(&netrc, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let out = ftp_get(&[
        "--tls",
        "none",
        "--netrc-file",
        netrc.to_str().unwrap(),
        "-o",
        dir.join("f").to_str().unwrap(),
        &ftp.url("f"),
    ]);
    let line = out.fails(64);
    assert!(line.contains("netrc file"), "{line}");
    assert!(!out.stderr.contains(SECRET), "{line}");
    assert!(ftp.commands("PASS").is_empty());
}

#[test]
fn a_readable_netrc_is_used_with_a_warning() {
    let ftp = user_server();
    let dir = TempDir::new("netrcmode");
    let netrc = dir.join("netrc");
    std::fs::write(
        &netrc,
        format!("machine 127.0.0.1 login u password {SECRET}\n"),
    )
    .unwrap();
    std::fs::set_permissions(&netrc, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let args = |q: bool| {
        let mut a = vec!["--tls", "none", "--netrc-file", netrc.to_str().unwrap()];
        if q {
            a.push("-q");
        }
        a
    };
    let mut a = args(false);
    let dest = dir.join("f");
    let url = ftp.url("f");
    a.extend(["-o", dest.to_str().unwrap(), &url]);
    let out = ftp_get(&a);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:#?}");
    assert!(
        out.stderr.contains("readable by group or others"),
        "{out:#?}"
    );
    assert_file(&dest, b"private data");
    let mut a = args(true);
    a.extend(["-o", dest.to_str().unwrap(), &url]);
    ftp_get(&a).ok();
}

#[test]
fn a_url_password_never_shows_in_usage_errors() {
    for args in [
        vec!["ftp://bob:Sup3r/Secret@127.0.0.1/f"],
        vec!["ftp://bob:Sup3r#Secret@127.0.0.1/f"],
        vec!["--tls", "ftp://bob:Sup3rSecret@127.0.0.1/f"],
        vec![
            "-o",
            "x",
            "ftp://bob:Sup3rSecret@h/a",
            "ftp://bob:Sup3rSecret@h/b",
        ],
    ] {
        let out = ftp_get(&args);
        assert_eq!(out.code, Some(64), "{args:?}: {out:#?}");
        assert!(!out.stderr.contains("Secret"), "{args:?}: {}", out.stderr);
        assert!(!out.stderr.contains("Sup3r"), "{args:?}: {}", out.stderr);
    }
}

#[test]
fn server_text_cannot_drive_the_terminal() {
    let ftp = FakeFtp::builder()
        .file("f", "x")
        .reply("RETR", "550 \x1b]0;pwned\x07\x1b[2J\rftp-get: all good\r\n")
        .start();
    let dir = TempDir::new("escapes");
    let out = ftp_get(&["-O", dir.arg(), &ftp.url("f")]);
    let line = out.fails(66);
    assert!(
        !out.stderr.contains('\x1b') && !out.stderr.contains('\x07'),
        "{line:?}"
    );
    assert!(line.contains("\\x1b]0;pwned\\x07\\x1b[2J"), "{line}");
}

// Timeouts bound whole replies.

#[test]
fn a_dripping_greeting_is_cut_off_at_the_timeout() {
    let ftp = FakeFtp::builder()
        .greeting("220 a greeting that takes its time to arrive\r\n")
        .drip(Duration::from_millis(300))
        .start();
    let dir = TempDir::new("drip");
    let out = ftp_get(&["--timeout", "1", "-O", dir.arg(), &ftp.url("f")]);
    let line = out.fails(75);
    assert!(line.contains("greeting"), "{line}");
    assert!(out.elapsed < Duration::from_secs(5), "{:?}", out.elapsed);
}

#[test]
fn endless_service_ready_lines_are_cut_off_at_the_timeout() {
    let ftp = FakeFtp::builder()
        .greeting_forever("120 ready in 5 minutes\r\n", Duration::from_millis(100))
        .start();
    let dir = TempDir::new("ready120");
    let out = ftp_get(&["--timeout", "1", "-O", dir.arg(), &ftp.url("f")]);
    out.fails(75);
    assert!(out.elapsed < Duration::from_secs(5), "{:?}", out.elapsed);
}

#[test]
fn a_dripping_reply_after_login_is_bounded_too() {
    let ftp = FakeFtp::builder()
        .file("f", "x")
        .greeting("220 hi\r\n")
        .drip(Duration::from_millis(150))
        .start();
    let dir = TempDir::new("dripall");
    // Every reply drips: the greeting (8 bytes) fits in 2 s; "331 Please specify the
    // password." (35 bytes, 5 s) does not.
    let out = ftp_get(&[
        "--timeout",
        "2",
        "--tls",
        "none",
        "-O",
        dir.arg(),
        &ftp.url("f"),
    ]);
    let line = out.fails(75);
    assert!(line.contains("no reply to USER within 2 s"), "{line}");
    assert!(out.elapsed < Duration::from_secs(8), "{:?}", out.elapsed);
}

// Retries never turn an unverifiable result into exit 0.

#[test]
fn a_retry_without_size_starts_over_instead_of_resuming() {
    let body = sample(100_000);
    let ftp = FakeFtp::builder()
        .file("f", body.clone())
        .no_size()
        .ignore_rest()
        .drop_data_after(30_000, Some("426 connection lost\r\n"))
        .start();
    let dir = TempDir::new("retrynosize");
    let out = ftp_get(&["--retries", "2", "-O", dir.arg(), &ftp.url("f")]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_file(&dir.join("f"), &body);
    assert!(ftp.commands("REST").is_empty(), "{:?}", ftp.transcript());
}

#[test]
fn a_server_that_ignores_rest_is_caught_not_appended() {
    let body = sample(100_000);
    let ftp = FakeFtp::builder()
        .file("f", body.clone())
        .ignore_rest()
        .drop_data_after(30_000, Some("426 connection lost\r\n"))
        .start();
    let dir = TempDir::new("ignorerest");
    let out = ftp_get(&["--retries", "2", "-O", dir.arg(), &ftp.url("f")]);
    assert_eq!(out.code, Some(76), "{out:#?}");
    assert!(
        out.stderr.contains("more than the 100000 bytes"),
        "{out:#?}"
    );
    // Nothing of the wrongly placed bytes is kept: at most the first attempt's good prefix.
    assert!(!dir.join("f").exists());
    if let Ok(kept) = std::fs::read(dir.join("f.part")) {
        assert_eq!(
            kept,
            body[..kept.len()],
            "the .part is a prefix of the file"
        );
    }
    assert_eq!(ftp.commands("REST"), ["REST 30000"]);
}

#[test]
fn more_data_than_size_announced_is_a_protocol_error_not_retried() {
    let ftp = FakeFtp::builder()
        .file("f", sample(5000))
        .reply("SIZE", "213 1000\r\n")
        .start();
    let dir = TempDir::new("toolong");
    let out = ftp_get(&["--retries", "3", "-O", dir.arg(), &ftp.url("f")]);
    let line = out.fails(76);
    assert!(line.contains("more than the 1000 bytes"), "{line}");
    assert_eq!(ftp.commands("RETR").len(), 1, "not retried");
    assert!(dir.names().is_empty(), "{:?}", dir.names());
}

#[test]
fn ascii_transfers_are_never_resumed() {
    let ftp = FakeFtp::builder()
        .file("t.txt", "one\ntwo\nthree\n")
        .start();
    let dir = TempDir::new("asciic");
    std::fs::write(dir.join("t.txt.part"), b"one\n").unwrap();
    let out = ftp_get(&["-c", "--ascii", "-O", dir.arg(), &ftp.url("t.txt")]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert!(out.stderr.contains("cannot be resumed"), "{out:#?}");
    assert_file(&dir.join("t.txt"), b"one\ntwo\nthree\n");
    assert!(ftp.commands("REST").is_empty(), "{:?}", ftp.transcript());
}

// A reply that skips the transfer.

#[test]
fn retr_answered_2xx_without_1xx_is_never_read() {
    let ftp = FakeFtp::builder()
        .file("f", "data no TLS ever protected")
        .retr_without_preliminary()
        .start();
    let dir = TempDir::new("no150");
    let out = ftp_get(&["--retries", "2", "-O", dir.arg(), &ftp.url("f")]);
    let line = out.fails(76);
    assert!(line.contains("without sending the file"), "{line}");
    assert!(dir.names().is_empty(), "{:?}", dir.names());
    assert!(out.elapsed < Duration::from_secs(4), "{:?}", out.elapsed);
}

#[test]
fn a_listing_answered_2xx_without_1xx_is_empty() {
    let ftp = FakeFtp::builder()
        .file("d/a.csv", "a")
        .reply("MLSD", "226 nothing to send\r\n")
        .start();
    let dir = TempDir::new("nolisting");
    let out = ftp_get(&["-O", dir.arg(), &ftp.url("d/*.csv")]);
    let line = out.fails(66);
    assert!(line.contains("no remote file matches"), "{line}");
    assert!(out.elapsed < Duration::from_secs(4), "{:?}", out.elapsed);
}

#[test]
fn a_huge_listing_is_bounded() {
    let mut body = Vec::new();
    for i in 0..100_001 {
        body.extend_from_slice(format!("type=file;size=1; f{i}.csv\r\n").as_bytes());
    }
    let ftp = FakeFtp::builder().dir("d").listing("MLSD", body).start();
    let dir = TempDir::new("hugelisting");
    let out = ftp_get(&["-O", dir.arg(), &ftp.url("d/*.csv")]);
    let line = out.fails(76);
    assert!(line.contains("more than 100000 files"), "{line}");
    assert!(ftp.commands("RETR").is_empty());
    let mut long = b"type=file;size=1; ".to_vec();
    long.extend(std::iter::repeat_n(b'x', 9000));
    long.extend_from_slice(b".csv\r\n");
    let ftp = FakeFtp::builder().dir("d").listing("MLSD", long).start();
    let out = ftp_get(&["-O", dir.arg(), &ftp.url("d/*.csv")]);
    let line = out.fails(76);
    assert!(line.contains("listing line longer than 8 KiB"), "{line}");
}

// One local name, one source.

#[test]
fn two_sources_never_land_on_one_local_name() {
    let (a, b) = (b"from a".to_vec(), b"from b".to_vec());
    let ftp = FakeFtp::builder()
        .file("a/data.csv", a.clone())
        .file("b/data.csv", b.clone())
        .start();
    let dir = TempDir::new("collide");
    let out = ftp_get(&[
        "--delete-remote",
        "-O",
        dir.arg(),
        &ftp.url("a/data.csv"),
        &ftp.url("b/data.csv"),
    ]);
    let line = out.fails(73);
    assert!(
        line.contains("already written from another remote file"),
        "{line}"
    );
    assert_file(&dir.join("data.csv"), &a);
    assert_eq!(ftp.deleted(), ["a/data.csv"], "b's file is kept");
    assert_eq!(ftp.file("b/data.csv"), Some(b));
    // The same URL twice is fetched once.
    let ftp = FakeFtp::builder().file("a/data.csv", a.clone()).start();
    let dir = TempDir::new("twice");
    let out = ftp_get(&[
        "-O",
        dir.arg(),
        &ftp.url("a/data.csv"),
        &ftp.url("a/data.csv"),
    ]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_eq!(ftp.commands("RETR").len(), 1);
}

// Standard output.

#[test]
fn a_closed_stdout_is_an_error_before_anything_is_fetched() {
    let ftp = FakeFtp::builder().file("f", sample(1000)).start();
    // Run through sh to start ftp-get with descriptor 1 closed (`>&-`).
    let script = format!(
        "exec \"$FTP_GET\" --timeout 5 --delete-remote -o - {} >&-",
        ftp.url("f")
    );
    let o = run::output(
        Command::new("sh")
            .args(["-c", &script])
            .env("FTP_GET", env!("CARGO_BIN_EXE_ftp-get"))
            .env("HOME", no_home()),
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(74), "{stderr}");
    assert!(stderr.contains("standard output: not open"), "{stderr}");
    assert!(ftp.deleted().is_empty());
    assert!(ftp.commands("RETR").is_empty());
}

#[test]
fn delete_remote_waits_for_the_reader_and_keeps_what_it_did_not_read() {
    // Small enough to fit in the pipe: every write succeeds, yet `head -c 10` reads only 10.
    let body = sample(20_000);
    let ftp = FakeFtp::builder().file("f", body.clone()).start();
    let mut child = run::spawn(
        command(&["--delete-remote", "-o", "-", &ftp.url("f")], &[])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    let mut stdout = child.stdout.take().unwrap();
    let mut head = [0u8; 10];
    stdout.read_exact(&mut head).unwrap();
    thread::sleep(Duration::from_millis(300));
    drop(stdout);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait();
    assert_eq!(status.code(), Some(74), "{stderr}");
    assert!(stderr.contains("not deleted"), "{stderr}");
    assert!(ftp.deleted().is_empty());
    // A reader that takes everything: deleted.
    let out = ftp_get(&["--delete-remote", "-o", "-", &ftp.url("f")]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_eq!(sha256(&out.stdout), sha256(&body));
    assert_eq!(ftp.deleted(), ["f"]);
}

// The rest of the table.

#[test]
fn a_4xx_to_auth_tls_is_a_refusal_of_tls() {
    let ftp = FakeFtp::builder()
        .file("f", "x")
        .login("u", SECRET)
        .reply("AUTH", "431 TLS is resting, try later\r\n")
        .start();
    let out = ftp_get_env(
        &["--password-env", "PW", "-o", "-", &user_url(&ftp)],
        &[("PW", SECRET)],
    );
    // 69, not 75: a man in the middle sends 431 as easily as it strips the offer.
    let line = out.fails(69);
    assert!(line.contains("431"), "{line}");
    assert!(ftp.commands("PASS").is_empty());
}

#[test]
fn nonsense_timeouts_are_usage_errors() {
    for t in ["1e-10", "0", "-1", "nan", "inf"] {
        let out = ftp_get(&["--timeout", t, "ftp://127.0.0.1:1/f"]);
        assert_eq!(out.code, Some(64), "--timeout {t}: {out:#?}");
    }
}

#[test]
fn an_impossible_mdtm_date_is_ignored() {
    let ftp = FakeFtp::builder()
        .file_with_mtime("f", "x", "20210231120000")
        .start();
    let dir = TempDir::new("feb31");
    let before = SystemTime::now() - Duration::from_secs(5);
    ftp_get(&["-O", dir.arg(), &ftp.url("f")]).ok();
    assert!(mtime(&dir.join("f")) >= before, "31 February is no date");
}

// ---------------------------------------------------------------------------------------------
// As curl, wget and lftp users meet ftp-get.

#[test]
fn output_dir_takes_a_folder_never_a_url_and_creates_it_only_when_asked() {
    let ftp = FakeFtp::builder()
        .file("a.txt", "a")
        .file("b.csv", "b")
        .start();
    let dir = TempDir::new("outdir");
    // curl's -O takes no value: the first URL would be taken as a folder.
    let out = ftp_get(&["-O", &ftp.url("a.txt"), &ftp.url("b.csv")]);
    let line = out.fails(64);
    assert!(line.contains("takes a folder, not a URL"), "{line}");
    // wget's -O is a file: a missing folder is refused, naming it and the flag.
    let missing = dir.join("out.txt");
    let out = ftp_get(&["-O", missing.to_str().unwrap(), &ftp.url("a.txt")]);
    let line = out.fails(73);
    assert!(
        line.contains("out.txt: no such folder (--create-dirs creates it)"),
        "{line}"
    );
    assert!(dir.names().is_empty(), "nothing created");
    assert_eq!(ftp.connections(), 0, "refused before connecting");
    ftp_get(&[
        "--create-dirs",
        "-O",
        missing.to_str().unwrap(),
        &ftp.url("a.txt"),
    ])
    .ok();
    assert_file(&missing.join("a.txt"), b"a");
    // -o a/b/c names the missing folder, not c.part.
    let deep = dir.join("x/y/z.txt");
    let out = ftp_get(&["-o", deep.to_str().unwrap(), &ftp.url("a.txt")]);
    let line = out.fails(73);
    assert!(
        line.ends_with("x/y: no such folder (--create-dirs creates it)"),
        "{line}"
    );
    ftp_get(&[
        "--create-dirs",
        "-o",
        deep.to_str().unwrap(),
        &ftp.url("a.txt"),
    ])
    .ok();
    assert_file(&deep, b"a");
}

#[test]
fn flags_from_curl_and_wget_point_to_ours() {
    for (args, hint) in [
        (vec!["-k"], "--insecure"),
        (vec!["-C", "-"], "-c (--continue)"),
        (vec!["-u", "bob:secret"], "--user NAME"),
        (vec!["-s"], "-q (--quiet)"),
        (vec!["-n"], "netrc is read by default"),
        (vec!["-P", "dl"], "--output-dir DIR"),
        (vec!["-N"], "--no-clobber"),
        (vec!["--mirror"], "-r (--recursive)"),
        (vec!["--retry", "3"], "--retries N"),
        (vec!["-m", "60"], "use --max-time DURATION"),
    ] {
        let mut a = args.clone();
        a.push("ftp://127.0.0.1:1/f");
        let out = ftp_get(&a);
        let line = out.fails(64);
        assert!(line.contains("unknown option"), "{args:?}: {line}");
        assert!(line.contains(hint), "{args:?}: {line}");
        assert!(
            !line.contains("secret") && !line.contains("-- --"),
            "{args:?}: {line}"
        );
    }
    let out = ftp_get(&["--frobnicate", "ftp://127.0.0.1:1/f"]);
    assert_eq!(
        out.fails(64),
        "ftp-get: unknown option '--frobnicate' (see --help)"
    );
}

#[test]
fn durations_take_units_and_nonsense_says_what_is_allowed() {
    let ftp = FakeFtp::builder().file("f", "data").start();
    let dir = TempDir::new("units");
    for t in ["5s", "2m", "1500ms", "3"] {
        ftp_get(&[
            "-q",
            "--timeout",
            t,
            "-O",
            dir.arg(),
            "--no-clobber",
            &ftp.url("f"),
        ])
        .ok();
    }
    assert_file(&dir.join("f"), b"data");
    for (flag, value) in [
        ("--timeout", "1e-10"),
        ("--timeout", "5x"),
        ("--retries", "-1"),
        ("--retries", "1000"),
    ] {
        let out = ftp_get(&[flag, value, "ftp://127.0.0.1:1/f"]);
        let line = out.fails(64);
        assert!(
            line.contains("from 1ms to 30 days") || line.contains("from 0 to 100"),
            "{flag} {value}: {line}"
        );
    }
}

#[test]
fn a_folder_url_without_its_slash_gets_the_folder_hint() {
    let ftp = FakeFtp::builder().file("dir/a.txt", "a").start();
    let dir = TempDir::new("folderurl");
    for url in [ftp.url("dir"), ftp.url("dir/")] {
        let out = ftp_get(&["-O", dir.arg(), &url]);
        let line = out.fails(64);
        let want = format!("use '{}' for the files in it", ftp.url("dir/*"));
        assert!(line.contains(&want), "{url}: {line}");
    }
    // The probe left the session where it was: a relative path still works after it.
    ftp_get(&["-O", dir.arg(), &ftp.url("dir"), &ftp.url("dir/a.txt")]).fails(64);
    assert_file(&dir.join("a.txt"), b"a");
}

#[test]
fn ctrl_c_says_what_was_kept_and_how_to_resume() {
    let ftp = FakeFtp::builder()
        .file("big.bin", sample(100_000))
        .stall_data()
        .start();
    let dir = TempDir::new("ctrlc");
    let child = crate::support::run::default_signals(
        command(&["-O", dir.arg(), &ftp.url("big.bin")], &[])
            .stdout(Stdio::null())
            .stderr(Stdio::piped()),
    )
    .spawn()
    .expect("spawn ftp-get");
    let part = dir.join("big.bin.part");
    let start = Instant::now();
    while !part.exists() && start.elapsed() < Duration::from_secs(5) {
        thread::sleep(Duration::from_millis(10));
    }
    assert!(part.exists(), "the download started");
    thread::sleep(Duration::from_millis(100));
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGINT),
        "ends by the signal"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "ftp-get: interrupted: {} kept; run the same command with -c to resume it",
            part.display()
        )),
        "{stderr}"
    );
    assert!(part.exists(), "the .part is kept");
}

#[test]
fn overwriting_a_file_keeps_its_mode() {
    use std::os::unix::fs::PermissionsExt;
    let ftp = FakeFtp::builder().file("secret.txt", "new").start();
    let dir = TempDir::new("mode");
    let dest = dir.join("secret.txt");
    std::fs::write(&dest, "old").unwrap();
    std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o600)).unwrap();
    ftp_get(&["-O", dir.arg(), &ftp.url("secret.txt")]).ok();
    assert_file(&dest, b"new");
    let mode = std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{mode:o}");
}

#[test]
fn no_netrc_and_proxy_variables() {
    let ftp = FakeFtp::builder()
        .file("f", "private")
        .login("u", SECRET)
        .start();
    let dir = TempDir::new("nonetrc");
    let netrc = dir.join("netrc");
    std::fs::write(
        &netrc,
        format!("machine 127.0.0.1 login u password {SECRET}\n"),
    )
    .unwrap();
    std::fs::set_permissions(&netrc, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let url = format!("ftp://u@127.0.0.1:{}/f", ftp.port());
    let out = ftp_get_env(
        &["--tls", "none", "--no-netrc", "-o", "-", &url],
        &[("NETRC", netrc.to_str().unwrap())],
    );
    assert!(out.fails(77).contains("no password"), "{out:#?}");
    let out = ftp_get_env(
        &["--tls", "none", "-o", "-", &url],
        &[
            ("NETRC", netrc.to_str().unwrap()),
            ("ftp_proxy", "http://proxy:3128"),
        ],
    );
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_eq!(out.stdout, b"private");
    assert_eq!(
        out.stderr,
        "ftp-get: ftp_proxy is set but not used: ftp-get connects directly (it has no proxy support)\n"
    );
}

#[test]
fn help_fits_eighty_columns_without_splitting_words() {
    let out = run::output(
        Command::new(env!("CARGO_BIN_EXE_ftp-get"))
            .arg("--help")
            .env("COLUMNS", "80"),
    );
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for line in help.lines() {
        assert!(line.chars().count() <= 80, "{line:?}");
    }
    for word in ["listing.", "--password-file", "sha256:HEX", "standard"] {
        assert!(
            help.split_whitespace().any(|w| w.contains(word)),
            "{word} split?"
        );
    }
}

#[test]
fn man_page_and_completions_come_with_the_binary() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (what, file) in [
        ("man", "man/ftp-get.1"),
        ("bash", "completions/ftp-get.bash"),
        ("zsh", "completions/_ftp-get"),
        ("fish", "completions/ftp-get.fish"),
    ] {
        let out =
            run::output(Command::new(env!("CARGO_BIN_EXE_ftp-get")).args(["--generate", what]));
        assert!(out.status.success(), "{what}");
        assert_eq!(
            out.stdout,
            std::fs::read(root.join(file)).unwrap(),
            "{what}"
        );
    }
    // Completions offer folders for --output-dir, files for --password-file, nothing for
    // --user or --timeout.
    let zsh = std::fs::read_to_string(root.join("completions/_ftp-get")).unwrap();
    let line = |flag: &str| {
        zsh.lines()
            .find(|l| l.contains(&format!("'--{flag}=")))
            .unwrap_or_else(|| panic!("--{flag} in {zsh}"))
            .to_string()
    };
    assert!(
        line("output-dir").contains("_files -/"),
        "{}",
        line("output-dir")
    );
    assert!(
        line("password-file").contains("_files"),
        "{}",
        line("password-file")
    );
    assert!(!line("user").contains("_files"), "{}", line("user"));
    assert!(!line("timeout").contains("_files"), "{}", line("timeout"));
}

// ---------------------------------------------------------------------------------------------
// Trees (-r) and hostile names

#[test]
fn recursive_mirrors_a_tree_with_mtimes() {
    let ftp = FakeFtp::builder()
        .file_with_mtime("d/a.txt", "alpha", "20210304050607")
        .file("d/sub/b.bin", sample(70_000))
        .file("d/sub/deep/c", "c")
        .dir("d/empty")
        .file("elsewhere", "not in the tree")
        .start();
    let dir = TempDir::new("mirror");
    ftp_get(&["-r", "-O", dir.arg(), &ftp.url("d/")]).ok();
    assert_file(&dir.join("a.txt"), b"alpha");
    assert_file(&dir.join("sub/b.bin"), &sample(70_000));
    assert_file(&dir.join("sub/deep/c"), b"c");
    assert!(dir.join("empty").is_dir());
    assert_eq!(dir.names(), ["a.txt", "empty", "sub"]);
    assert_eq!(
        mtime(&dir.join("a.txt")),
        UNIX_EPOCH + Duration::from_secs(1_614_834_367)
    );
    // One connection for the whole tree.
    assert_eq!(ftp.connections(), 1);
    // --newer: nothing changed, nothing fetched.
    ftp_get(&["-r", "--newer", "-O", dir.arg(), &ftp.url("d/")]).ok();
    assert_eq!(ftp.commands("RETR").len(), 3);
    // A changed local file is fetched again.
    std::fs::write(dir.join("a.txt"), "changed").unwrap();
    ftp_get(&["-r", "--newer", "-O", dir.arg(), &ftp.url("d/")]).ok();
    assert_eq!(ftp.commands("RETR").len(), 4);
    assert_file(&dir.join("a.txt"), b"alpha");
}

#[test]
fn recursive_refuses_hostile_names_before_touching_the_disk() {
    let body = "type=file;size=1; ../escape\r\n\
type=file;size=1; /etc/abs\r\n\
type=file;size=1; ctrl\x1b]0;x\x07\r\n\
type=file;size=1; back\\slash\r\n\
type=dir; ..\r\n\
type=file;size=2; ok\r\n";
    let ftp = FakeFtp::builder()
        .file("t/ok", "ok")
        .listing("MLSD", body)
        .start();
    let root = TempDir::new("hostile");
    let dir = root.join("dest");
    std::fs::create_dir(&dir).unwrap();
    let o = ftp_get(&["-r", "-O", dir.to_str().unwrap(), &ftp.url("t/")]);
    assert_eq!(o.code, Some(76), "{o:#?}");
    let lines: Vec<&str> = o.stderr.lines().collect();
    assert_eq!(lines.len(), 4, "{o:#?}");
    assert!(
        lines[0].contains("refusing the listed name \"../escape\""),
        "{o:#?}"
    );
    assert!(lines[2].contains("ctrl\\x1b]0;x\\x07"), "{o:#?}");
    assert_file(&dir.join("ok"), b"ok");
    assert_eq!(crate::support::files::names(&dir), ["ok"]);
    assert_eq!(crate::support::files::names(&root), ["dest"]);
    assert_eq!(ftp.commands("RETR"), ["RETR t/ok"]);
    // The same from a Unix LIST.
    let list = "-rw-r--r-- 1 u g 1 Jan 02 2020 ../../escape\r\n\
-rw-r--r-- 1 u g 2 Jan 02 2020 ok\r\n";
    let ftp = FakeFtp::builder()
        .feat(&["EPSV", "SIZE", "MDTM", "REST STREAM"])
        .file("t/ok", "ok")
        .listing("LIST", list)
        .start();
    let o = ftp_get(&["-r", "-O", dir.to_str().unwrap(), &ftp.url("t/")]);
    assert_eq!(o.code, Some(76), "{o:#?}");
    assert!(
        o.stderr
            .contains("\"../../escape\": contains a path separator"),
        "{o:#?}"
    );
    assert_eq!(crate::support::files::names(&root), ["dest"]);
}

#[test]
fn recursive_never_follows_a_local_link_out_of_the_destination() {
    let ftp = FakeFtp::builder()
        .file("t/sub/x", "payload")
        .file("t/top", "top")
        .start();
    let root = TempDir::new("mirror-link");
    let dest = root.join("dest");
    let outside = root.join("outside");
    std::fs::create_dir(&dest).unwrap();
    std::fs::create_dir(&outside).unwrap();
    std::os::unix::fs::symlink(&outside, dest.join("sub")).unwrap();
    let o = ftp_get(&["-r", "-O", dest.to_str().unwrap(), &ftp.url("t/")]);
    let line = o.fails(73);
    assert!(
        line.contains("is a symbolic link; not following it"),
        "{line}"
    );
    assert!(crate::support::files::names(&outside).is_empty());
    assert_file(&dest.join("top"), b"top");
    // A link where a file goes is replaced, never written through.
    std::fs::remove_file(dest.join("sub")).unwrap();
    let victim = outside.join("victim");
    std::fs::write(&victim, "keep").unwrap();
    std::fs::remove_file(dest.join("top")).unwrap();
    std::os::unix::fs::symlink(&victim, dest.join("top")).unwrap();
    ftp_get(&["-r", "-O", dest.to_str().unwrap(), &ftp.url("t/")]).ok();
    assert_file(&victim, b"keep");
    assert_file(&dest.join("top"), b"top");
    assert!(
        !std::fs::symlink_metadata(dest.join("top"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_file(&dest.join("sub/x"), b"payload");
}

/// Runs ftp-get against `ftp`, whose QUIT is held (`Builder::hold`), and reads the tool's
/// peak memory (VmHWM) while it waits for that answer: after the whole walk.
fn ftp_get_peak(ftp: &FakeFtp, args: &[&str]) -> (Out, u64) {
    let start = Instant::now();
    let mut c = command(args, &[]);
    c.stdout(Stdio::null()).stderr(Stdio::piped());
    let child = run::spawn(&mut c);
    ftp.wait_held("QUIT", 1);
    let peak = run::peak_kib(child.id());
    ftp.release("QUIT");
    let o = child.wait_with_output();
    let out = Out {
        code: o.status.code(),
        stdout: Vec::new(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        elapsed: start.elapsed(),
    };
    (out, peak)
}

#[test]
fn recursive_walk_beyond_its_bounds_ends_with_an_error_in_bounded_memory() {
    let dir = TempDir::new("mirror-bounds");
    // Every folder holds 1,600 folders of 245-character names.
    let mut body = String::with_capacity(1600 * 270);
    for i in 0..1600 {
        body.push_str(&format!("type=dir; {i:04}{}\r\n", "x".repeat(241)));
    }
    let ftp = FakeFtp::builder()
        .listing("MLSD", body)
        .hold("QUIT")
        .start();
    let (o, peak) = ftp_get_peak(&ftp, &["-r", "-O", dir.arg(), &ftp.url("wide/")]);
    let e = o.fails(76);
    assert!(
        e.starts_with(&format!("ftp-get: {}: wide/0000x", ftp.url("wide/"))),
        "{e}"
    );
    assert!(
        e.ends_with(": the walk would keep more than 4 MiB of names (folders waiting to be entered, files to fetch): the tree is too wide"),
        "{e}"
    );
    assert_eq!(ftp.commands("MLSD").len(), 11);
    eprintln!("ftp-get -r of the wide tree: peak {peak} KiB");
    assert!(peak < 24 * 1024, "peak memory {peak} KiB");

    // A folder of files whose names alone are more than the walk keeps: nothing fetched.
    let mut body = String::with_capacity(20_000 * 260);
    for i in 0..20_000 {
        body.push_str(&format!("type=file;size=1; {i:05}{}\r\n", "f".repeat(235)));
    }
    let ftp = FakeFtp::builder().listing("MLSD", body).start();
    let e = ftp_get(&["-r", "-O", dir.arg(), &ftp.url("files/")])
        .fails(76)
        .to_string();
    assert!(
        e.starts_with(&format!(
            "ftp-get: {}: files: the walk would keep more than 4 MiB",
            ftp.url("files/")
        )),
        "{e}"
    );
    assert!(ftp.commands("RETR").is_empty());

    // Two folders of 8,000-byte names: no command that long is ever sent.
    let dir = TempDir::new("mirror-bounds-long");
    let long = |c: char| c.to_string().repeat(8000);
    let body = format!("type=dir; {}\r\ntype=dir; {}\r\n", long('a'), long('b'));
    let ftp = FakeFtp::builder().listing("MLSD", body).start();
    let e = ftp_get(&["-r", "-O", dir.arg(), &ftp.url("top/")])
        .fails(76)
        .to_string();
    assert!(
        e.contains(": top: holds a folder whose path would be 8004 bytes long"),
        "{e}"
    );
    assert_eq!(ftp.commands("MLSD"), ["MLSD top"]);
    assert!(dir.names().is_empty(), "{:?}", dir.names());

    // A file whose path no command could carry is refused, as a hostile name is; the
    // others are fetched.
    let dir = TempDir::new("mirror-bounds-file");
    let body = format!(
        "type=file;size=2; ok\r\ntype=file;size=1; {}\r\n",
        "f".repeat(4500)
    );
    let ftp = FakeFtp::builder()
        .file("t/ok", "ok")
        .listing("MLSD", body)
        .start();
    let e = ftp_get(&["-r", "-O", dir.arg(), &ftp.url("t/")])
        .fails(76)
        .to_string();
    assert!(
        e.contains(": t: holds a file whose path would be 4502 bytes long"),
        "{e}"
    );
    assert_file(&dir.join("ok"), b"ok");
    assert_eq!(ftp.commands("RETR"), ["RETR t/ok"]);
    // The same from a wildcard's listing: 76, never a command line refused as usage (64).
    let body = format!(
        "type=file;size=2; ok.csv\r\ntype=file;size=1; {}.csv\r\n",
        "f".repeat(4500)
    );
    let ftp = FakeFtp::builder()
        .file("t/ok.csv", "ok")
        .listing("MLSD", body)
        .start();
    let e = ftp_get(&["-O", dir.arg(), &ftp.url("t/*.csv")])
        .fails(76)
        .to_string();
    assert!(
        e.contains("its path would be longer than the 4000 bytes a remote path may have"),
        "{e}"
    );
    assert_eq!(ftp.commands("RETR"), ["RETR t/ok.csv"]);

    // A loop without unique facts: 64 levels are mirrored, the 65th is said.
    let dir = TempDir::new("mirror-bounds-deep");
    let ftp = FakeFtp::builder()
        .feat(&["EPSV", "SIZE", "MDTM", "REST STREAM"])
        .listing("LIST", "drwxr-xr-x 2 0 0 4096 Jan 02 2020 loop\r\n")
        .start();
    let e = ftp_get(&["-r", "-O", dir.arg(), &ftp.url("top/")])
        .fails(76)
        .to_string();
    assert!(
        e.ends_with(": holds the folder \"loop\", deeper than 64 levels: not entered (a loop on the server?)"),
        "{e}"
    );
    assert_eq!(ftp.commands("LIST").len(), 65);
    assert!(dir.join(format!("loop{}", "/loop".repeat(63))).is_dir());
    assert!(!dir.join(format!("loop{}", "/loop".repeat(64))).exists());
}

#[test]
fn recursive_of_a_missing_folder_is_66_where_the_server_lists_it_as_empty() {
    // vsftpd answers LIST of a missing folder with 150, nothing, 226.
    let ftp = FakeFtp::builder()
        .feat(&["EPSV", "SIZE", "MDTM", "REST STREAM"])
        .dir("empty")
        .listing("LIST", "")
        .start();
    let dir = TempDir::new("mirror-missing");
    let e = ftp_get(&["-r", "-O", dir.arg(), &ftp.url("nonexist/")])
        .fails(66)
        .to_string();
    assert_eq!(
        e,
        format!(
            "ftp-get: {}: no such folder (the listing was empty, and CWD does not find it)",
            ftp.url("nonexist/")
        )
    );
    // An empty folder mirrors to nothing, successfully.
    ftp_get(&["-r", "-O", dir.arg(), &ftp.url("empty/")]).ok();
    assert!(dir.names().is_empty());
    // With MLSD: MLST asks.
    let ftp = FakeFtp::builder().dir("empty").listing("MLSD", "").start();
    let e = ftp_get(&["-r", "-O", dir.arg(), &ftp.url("nonexist/")])
        .fails(66)
        .to_string();
    assert!(
        e.ends_with("(the listing was empty, and MLST does not find it)"),
        "{e}"
    );
    ftp_get(&["-r", "-O", dir.arg(), &ftp.url("empty/")]).ok();
}

#[test]
fn recursive_needs_a_folder_destination() {
    let ftp = FakeFtp::builder().file("t/x", "x").start();
    let e = ftp_get(&["-r", "--stdout", &ftp.url("t/")])
        .fails(64)
        .to_string();
    assert!(e.contains("cannot be used with"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// --parallel and --limit-rate

#[test]
fn parallel_downloads_share_the_queue_over_several_connections() {
    let mut b = FakeFtp::builder().delay(Duration::from_millis(5));
    for i in 0..30 {
        b = b.file(&format!("p/f{i:02}"), sample(1000 + i * 997));
    }
    let ftp = b.file("p/sub/deep", "d").start();
    let dir = TempDir::new("parallel-get");
    ftp_get(&["--parallel", "4", "-O", dir.arg(), &ftp.url("p/f*")]).ok();
    for i in 0..30 {
        assert_file(&dir.join(format!("f{i:02}")), &sample(1000 + i * 997));
    }
    assert_eq!(dir.names().len(), 30, "no .part left");
    // Four workers (each connects when it first gets a file) and one that listed.
    let n = ftp.connections();
    assert!((3..=5).contains(&n), "{n} connections");
    assert_eq!(ftp.commands("RETR").len(), 30);
    // A tree, with a rate limit over all connections.
    let tree = TempDir::new("parallel-tree");
    ftp_get(&[
        "-r",
        "--parallel",
        "3",
        "--limit-rate",
        "20M",
        "-O",
        tree.arg(),
        &ftp.url("p/"),
    ])
    .ok();
    assert_file(&tree.join("sub/deep"), b"d");
    assert_file(&tree.join("f29"), &sample(1000 + 29 * 997));
}

#[test]
fn parallel_goes_on_with_the_connections_the_server_accepts() {
    // A server that takes one connection at a time (plain URLs need no listing
    // connection): the others are told 421, and their files go over the one that logged
    // in; said once, and exit 0.
    let mut b = FakeFtp::builder().max_connections(1);
    for i in 0..8 {
        b = b.file(&format!("p/f{i}"), sample(1000 + i * 100));
    }
    let ftp = b.start();
    let dir = TempDir::new("parallel-get-421");
    let urls: Vec<String> = (0..8).map(|i| ftp.url(&format!("p/f{i}"))).collect();
    let mut args = vec!["--parallel", "4", "-O", dir.arg()];
    args.extend(urls.iter().map(String::as_str));
    let o = ftp_get(&args);
    assert_eq!(o.code, Some(0), "{o:#?}");
    for i in 0..8 {
        assert_file(&dir.join(format!("f{i}")), &sample(1000 + i * 100));
    }
    assert_eq!(ftp.commands("RETR").len(), 8);
    assert_eq!(
        o.stderr,
        format!(
            "ftp-get: 127.0.0.1:{}: greeting: server said: 421 Too many connections; going on with the connections the server accepted\n",
            ftp.port()
        )
    );
}

#[test]
fn parallel_failures_are_reported_once_each() {
    let ftp = FakeFtp::builder()
        .login("u", "right")
        .file("a", "a")
        .file("b", "b")
        .file("c", "c")
        .start();
    let dir = TempDir::new("parallel-fail");
    let url = |p: &str| ftp.url(p).replace("ftp://", "ftp://u:wrong@");
    let o = ftp_get(&[
        "--tls",
        "none",
        "--parallel",
        "3",
        "-O",
        dir.arg(),
        &url("a"),
        &url("b"),
        &url("c"),
    ]);
    let line = o
        .stderr
        .lines()
        .filter(|l| !l.contains("warning"))
        .collect::<Vec<_>>();
    assert_eq!(o.code, Some(77), "{o:#?}");
    assert_eq!(line.len(), 1, "{o:#?}");
    assert!(line[0].contains("login as u failed"), "{o:#?}");
    // A missing file among good ones: that one fails (66), the rest arrive.
    let ftp = FakeFtp::builder().file("a", "a").file("c", "c").start();
    let o = ftp_get(&[
        "--parallel",
        "2",
        "-O",
        dir.arg(),
        &ftp.url("a"),
        &ftp.url("b"),
        &ftp.url("c"),
    ]);
    assert!(o.fails(66).contains("b"));
    assert_file(&dir.join("a"), b"a");
    assert_file(&dir.join("c"), b"c");
    // Usage errors.
    assert!(
        ftp_get(&["--parallel", "0", &ftp.url("a")])
            .fails(64)
            .contains("from 1 to 64")
    );
    assert!(
        ftp_get(&["--parallel", "2", "--stdout", &ftp.url("a")])
            .fails(64)
            .contains("--parallel")
    );
    assert!(
        ftp_get(&["--limit-rate", "fast", &ftp.url("a")])
            .fails(64)
            .contains("not a rate")
    );
}
