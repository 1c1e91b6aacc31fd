//! Checks the fake FTP server against an independent client, the `curl` command line, so the
//! fake can be trusted when it is used to test `ftp-get`. A few checks talk raw TCP where curl
//! cannot show the wire.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::support::assert_in_order;
use crate::support::fake_ftp::*;
use crate::support::files::{TempDir, sample};
use crate::support::run;

fn curl(args: &[&str]) -> Output {
    run::output(
        Command::new("curl")
            .args(["-sS", "--max-time", "5"])
            .args(args),
    )
}

fn ok(out: &Output) -> &[u8] {
    assert!(
        out.status.success(),
        "curl failed: {:?}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    &out.stdout
}

/// `name` in a fresh folder that lives as long as the returned guard.
fn temp_path(name: &str) -> (TempDir, PathBuf) {
    let dir = TempDir::new("fake_ftp_selftest");
    let path = dir.join(name);
    (dir, path)
}

#[test]
fn download_is_byte_exact_and_transcript_shows_curls_commands() {
    let body = sample(100_000);
    let ftp = FakeFtp::builder().file("dir/a.bin", body.clone()).start();
    let out = curl(&[&ftp.url("dir/a.bin")]);
    assert_eq!(ok(&out), &body[..]);
    let t = ftp.transcript();
    assert_in_order(
        &t,
        &[
            "USER anonymous",
            "PASS ftp@example.com",
            "PWD",
            "CWD dir",
            "EPSV",
            "TYPE I",
            "SIZE a.bin",
            "RETR a.bin",
            "QUIT",
        ],
    );
    assert!(t.iter().all(|l| !l.ends_with('\r') && !l.ends_with('\n')));
    assert_eq!(ftp.commands("retr"), vec!["RETR a.bin"]);
    assert_eq!(ftp.connections(), 1);
}

#[test]
fn missing_file_is_550_and_curl_fails() {
    let ftp = FakeFtp::builder().file("a.txt", "x").start();
    let out = curl(&[&ftp.url("nope.txt")]);
    assert_eq!(out.status.code(), Some(78), "curl: remote file not found");
    let out = curl(&[&ftp.url("nodir/a.txt")]);
    assert_eq!(
        out.status.code(),
        Some(9),
        "curl: access denied to remote dir"
    );
}

#[test]
fn nlst_lists_names_and_missing_dir_fails() {
    let ftp = FakeFtp::builder()
        .file("dir/b.csv", "b")
        .file("dir/a.csv", "a")
        .file("dir/sub/deep.txt", "d")
        .dir("dir/empty")
        .file("other.txt", "o")
        .start();
    let out = curl(&["-l", &ftp.url("dir/")]);
    // curl lists in TYPE A and turns the wire's CRLF into LF (raw_data_connection checks CRLF).
    assert_eq!(
        String::from_utf8_lossy(ok(&out)),
        "a.csv\nb.csv\nempty\nsub\n"
    );
    assert_in_order(&ftp.transcript(), &["CWD dir", "TYPE A", "NLST"]);
    assert_eq!(ftp.commands("NLST"), vec!["NLST"]);
    let out = curl(&["-l", &ftp.url("dir/empty/")]);
    assert_eq!(ok(&out), b"");
    let out = curl(&["-l", &ftp.url("")]);
    assert_eq!(String::from_utf8_lossy(ok(&out)), "dir\nother.txt\n");
    let out = curl(&["-l", &ftp.url("missing/")]);
    assert!(!out.status.success());
}

#[test]
fn list_and_mlsd_bodies() {
    let ftp = FakeFtp::builder()
        .file_with_mtime("d/a.csv", "12345", "20211224183000")
        .dir("d/sub")
        .start();
    let out = curl(&[&ftp.url("d/")]);
    let list = String::from_utf8(ok(&out).to_vec()).unwrap();
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 2, "{list:?}");
    assert!(lines[0].starts_with("-rw-r--r--"), "{list:?}");
    assert!(lines[0].ends_with(" 5 Dec 24  2021 a.csv"), "{list:?}");
    assert!(lines[1].starts_with("drwxr-xr-x") && lines[1].ends_with(" sub"));
    assert_eq!(ftp.commands("LIST"), vec!["LIST"]);

    let out = curl(&["-X", "MLSD", &ftp.url("d/")]);
    assert_eq!(
        String::from_utf8_lossy(ok(&out)),
        "type=cdir;modify=20200102030405; .\n\
         type=pdir;modify=20200102030405; ..\n\
         type=file;size=5;modify=20211224183000; a.csv\n\
         type=dir;modify=20200102030405; sub\n"
    );
}

#[test]
fn pasv_when_epsv_disabled() {
    let body = sample(5000);
    let ftp = FakeFtp::builder().file("a.bin", body.clone()).start();
    let out = curl(&["--disable-epsv", &ftp.url("a.bin")]);
    assert_eq!(ok(&out), &body[..]);
    assert_eq!(ftp.commands("PASV"), vec!["PASV"]);
    assert!(ftp.commands("EPSV").is_empty());
}

#[test]
fn no_epsv_makes_curl_fall_back_to_pasv() {
    let ftp = FakeFtp::builder().file("a.txt", "hello").no_epsv().start();
    let out = curl(&[&ftp.url("a.txt")]);
    assert_eq!(ok(&out), b"hello");
    assert_in_order(&ftp.transcript(), &["EPSV", "PASV", "RETR a.txt"]);
}

#[test]
fn wrong_pasv_address_is_advertised_but_the_port_is_real() {
    // 127.0.0.2 is loopback too, but nothing listens there, so using it fails fast.
    let ftp = FakeFtp::builder()
        .file("a.txt", "hello")
        .pasv_address("127.0.0.2")
        .start();
    // curl >= 7.74 ignores the PASV address by default (--ftp-skip-pasv-ip).
    let out = curl(&["-v", "--disable-epsv", &ftp.url("a.txt")]);
    assert_eq!(ok(&out), b"hello");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("227 Entering Passive Mode (127,0,0,2,"),
        "{stderr}"
    );
    // Told to trust the address, curl cannot connect.
    let out = curl(&[
        "--disable-epsv",
        "--no-ftp-skip-pasv-ip",
        "--connect-timeout",
        "2",
        &ftp.url("a.txt"),
    ]);
    assert!(!out.status.success(), "{out:?}");
}

#[test]
fn active_mode_with_eprt_and_port() {
    let body = sample(70_000);
    let ftp = FakeFtp::builder().file("a.bin", body.clone()).start();
    let out = curl(&["-P", "127.0.0.1", &ftp.url("a.bin")]);
    assert_eq!(ok(&out), &body[..]);
    let eprt = ftp.commands("EPRT");
    assert_eq!(eprt.len(), 1);
    assert!(eprt[0].starts_with("EPRT |1|127.0.0.1|"), "{eprt:?}");

    let out = curl(&["-P", "127.0.0.1", "--disable-eprt", &ftp.url("a.bin")]);
    assert_eq!(ok(&out), &body[..]);
    let port = ftp.commands("PORT");
    assert_eq!(port.len(), 1);
    assert!(port[0].starts_with("PORT 127,0,0,1,"), "{port:?}");
}

#[test]
fn no_eprt_makes_curl_fall_back_to_port() {
    let ftp = FakeFtp::builder().file("a.txt", "hi").no_eprt().start();
    let out = curl(&["-P", "127.0.0.1", &ftp.url("a.txt")]);
    assert_eq!(ok(&out), b"hi");
    assert_in_order(&ftp.transcript(), &["RETR a.txt"]);
    assert_eq!(ftp.commands("EPRT").len(), 1);
    assert_eq!(ftp.commands("PORT").len(), 1);
}

#[test]
fn upload_with_stor_and_appe() {
    let ftp = FakeFtp::builder()
        .dir("up")
        .file("up/log.txt", "one\n")
        .start();
    let (_dir, local) = temp_path("new.bin");
    let body = sample(30_000);
    std::fs::write(&local, &body).unwrap();
    let out = curl(&["-T", local.to_str().unwrap(), &ftp.url("up/new.bin")]);
    ok(&out);
    assert_eq!(ftp.uploaded("up/new.bin").as_deref(), Some(&body[..]));
    assert_eq!(
        ftp.uploaded("/home/u/up/new.bin").as_deref(),
        Some(&body[..])
    );
    assert_eq!(ftp.commands("STOR"), vec!["STOR new.bin"]);
    // The upload is now part of the file system.
    let out = curl(&[&ftp.url("up/new.bin")]);
    assert_eq!(ok(&out), &body[..]);

    std::fs::write(&local, "two\n").unwrap();
    let out = curl(&[
        "--append",
        "-T",
        local.to_str().unwrap(),
        &ftp.url("up/log.txt"),
    ]);
    ok(&out);
    assert_eq!(ftp.commands("APPE"), vec!["APPE log.txt"]);
    assert_eq!(
        ftp.uploaded("up/log.txt").as_deref(),
        Some(&b"one\ntwo\n"[..])
    );
    assert_eq!(ftp.uploaded("up/missing.txt"), None);
}

#[test]
fn resume_sends_rest_and_completes_the_file() {
    let body = sample(50_000);
    let ftp = FakeFtp::builder().file("a.bin", body.clone()).start();
    let (_dir, local) = temp_path("a.bin");
    std::fs::write(&local, &body[..12_345]).unwrap();
    let out = curl(&["-C", "-", "-o", local.to_str().unwrap(), &ftp.url("a.bin")]);
    ok(&out);
    assert_eq!(std::fs::read(&local).unwrap(), body);
    assert_eq!(ftp.commands("REST"), vec!["REST 12345"]);
    assert_in_order(&ftp.transcript(), &["REST 12345", "RETR a.bin"]);
}

#[test]
fn refuse_rest_makes_resume_fail() {
    let ftp = FakeFtp::builder()
        .file("a.bin", sample(1000))
        .refuse_rest()
        .start();
    let (_dir, local) = temp_path("a.bin");
    std::fs::write(&local, &sample(1000)[..10]).unwrap();
    let out = curl(&["-C", "-", "-o", local.to_str().unwrap(), &ftp.url("a.bin")]);
    assert_eq!(out.status.code(), Some(31), "curl: FTP couldn't use REST");
    assert_eq!(ftp.commands("REST"), vec!["REST 10"]);
    assert!(ftp.commands("RETR").is_empty());
}

#[test]
fn drop_data_with_426_then_a_retry_gets_everything() {
    let body = sample(10_000);
    let ftp = FakeFtp::builder()
        .file("a.bin", body.clone())
        .drop_data_after(1000, Some("426 Connection lost\r\n"))
        .start();
    let out = curl(&[&ftp.url("a.bin")]);
    assert!(!out.status.success(), "{out:?}");
    assert_eq!(out.stdout, &body[..1000]);
    // Only the first RETR is cut short.
    let out = curl(&[&ftp.url("a.bin")]);
    assert_eq!(ok(&out), &body[..]);
    assert_eq!(ftp.commands("RETR").len(), 2);
    assert_eq!(ftp.connections(), 2);
}

#[test]
fn drop_data_with_a_lying_226_is_caught_by_size() {
    let body = sample(10_000);
    let ftp = FakeFtp::builder()
        .file("a.bin", body.clone())
        .drop_data_after(10, Some("226 Transfer complete (lying)\r\n"))
        .start();
    let out = curl(&[&ftp.url("a.bin")]);
    assert_eq!(out.status.code(), Some(18), "curl: partial file; {out:?}");
    assert_eq!(out.stdout, &body[..10]);
}

#[test]
fn drop_data_and_control_without_reply() {
    let body = sample(10_000);
    let ftp = FakeFtp::builder()
        .file("a.bin", body.clone())
        .drop_data_after(0, None)
        .start();
    let out = curl(&[&ftp.url("a.bin")]);
    assert!(!out.status.success(), "{out:?}");
    assert!(out.stdout.is_empty());
    assert!(ftp.commands("QUIT").is_empty());
}

#[test]
fn bytewise_replies_and_multiline_greeting_still_work() {
    let ftp = FakeFtp::builder()
        .file("a.txt", "hello")
        .greeting("220-welcome\r\n220-to the\r\n220 fake\r\n")
        .bytewise()
        .start();
    let start = Instant::now();
    let out = curl(&[&ftp.url("a.txt")]);
    assert_eq!(ok(&out), b"hello");
    assert!(start.elapsed() < Duration::from_secs(4));
    assert_in_order(&ftp.transcript(), &["USER anonymous", "RETR a.txt", "QUIT"]);
}

#[test]
fn bytewise_really_splits_replies() {
    let greeting = "220-a greeting long enough to span many reads\r\n220 ok\r\n";
    let ftp = FakeFtp::builder().greeting(greeting).bytewise().start();
    let mut s = TcpStream::connect(("127.0.0.1", ftp.port())).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let (mut got, mut reads) = (Vec::new(), 0);
    while got.len() < greeting.len() {
        let mut buf = [0u8; 256];
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "closed early after {got:?}");
        got.extend_from_slice(&buf[..n]);
        reads += 1;
    }
    assert_eq!(got, greeting.as_bytes());
    // 1 ms between bytes: a scheduling hiccup may merge a few, never most of them.
    assert!(reads > greeting.len() / 4, "only {reads} reads");
}

#[test]
fn reply_then_close_drops_the_connection() {
    let ftp = FakeFtp::builder()
        .file("a.txt", "hello")
        .reply_then_close("PASS", "421 Timeout.\r\n")
        .start();
    let out = curl(&[&ftp.url("a.txt")]);
    assert!(!out.status.success(), "{out:?}");
    assert_eq!(
        ftp.transcript_of(0),
        vec!["USER anonymous", "PASS ftp@example.com"]
    );
    assert!(ftp.transcript_of(1).is_empty());
}

#[test]
fn login_with_credentials() {
    let ftp = FakeFtp::builder()
        .file("a.txt", "secret")
        .login("alice", "s3cret")
        .start();
    let out = curl(&["-u", "alice:s3cret", &ftp.url("a.txt")]);
    assert_eq!(ok(&out), b"secret");
    assert_in_order(&ftp.transcript(), &["USER alice", "PASS s3cret"]);
    let out = curl(&["-u", "alice:wrong", &ftp.url("a.txt")]);
    assert_eq!(out.status.code(), Some(67), "curl: login denied");
    let out = curl(&[&ftp.url("a.txt")]);
    assert_eq!(out.status.code(), Some(67), "anonymous is refused");
}

#[test]
fn reply_once_then_builtin() {
    let ftp = FakeFtp::builder()
        .file("a.txt", "hello")
        .reply_once("PASS", "530 Not now\r\n")
        .start();
    let out = curl(&[&ftp.url("a.txt")]);
    assert_eq!(out.status.code(), Some(67));
    let out = curl(&[&ftp.url("a.txt")]);
    assert_eq!(ok(&out), b"hello");
    assert_eq!(ftp.commands("PASS").len(), 2);
}

#[test]
fn reply_override_with_multiline_reply() {
    let ftp = FakeFtp::builder()
        .file("a.txt", "hello")
        .reply("PASS", "230-line one\r\n230-line two\r\n230 in\r\n")
        .start();
    let out = curl(&[&ftp.url("a.txt")]);
    assert_eq!(ok(&out), b"hello");
}

#[test]
fn stall_on_makes_curl_time_out_and_drop_does_not_hang() {
    let ftp = FakeFtp::builder()
        .file("a.txt", "hello")
        .stall_on("SIZE")
        .start();
    let start = Instant::now();
    let out = run::output(Command::new("curl").args(["-sS", "--max-time", "1", &ftp.url("a.txt")]));
    assert_eq!(out.status.code(), Some(28), "curl: timeout; {out:?}");
    assert!(ftp.commands("RETR").is_empty());
    assert_eq!(ftp.commands("SIZE"), vec!["SIZE a.txt"]);
    drop(ftp);
    assert!(start.elapsed() < Duration::from_secs(4));
}

#[test]
fn stall_data_makes_curl_time_out() {
    let ftp = FakeFtp::builder()
        .file("a.txt", "hello")
        .stall_data()
        .start();
    let start = Instant::now();
    let out = run::output(Command::new("curl").args(["-sS", "--max-time", "1", &ftp.url("a.txt")]));
    assert_eq!(out.status.code(), Some(28), "curl: timeout; {out:?}");
    assert!(out.stdout.is_empty());
    drop(ftp);
    assert!(start.elapsed() < Duration::from_secs(4));
}

#[test]
fn dele_and_quote_commands() {
    let ftp = FakeFtp::builder()
        .file("dir/a.txt", "a")
        .file("dir/b.txt", "b")
        .start();
    let out = curl(&[
        "-Q",
        "-DELE a.txt",
        "-Q",
        "-MKD new",
        "-Q",
        "-RNFR b.txt",
        "-Q",
        "-RNTO new/c.txt",
        &ftp.url("dir/"),
    ]);
    ok(&out);
    assert_eq!(ftp.deleted(), vec!["dir/a.txt"]);
    assert_eq!(ftp.file("dir/new/c.txt").as_deref(), Some(&b"b"[..]));
    assert_eq!(ftp.file("dir/b.txt"), None);
    let out = curl(&["-Q", "-DELE nope.txt", &ftp.url("dir/")]);
    assert_eq!(out.status.code(), Some(21), "curl: quote error");
}

#[test]
fn ascii_type_is_requested_by_curl_b() {
    let ftp = FakeFtp::builder().file("t.txt", "a\nb\r\nc\n").start();
    let out = curl(&["-B", &ftp.url("t.txt")]);
    let body = ok(&out);
    assert_in_order(&ftp.transcript(), &["TYPE A", "RETR t.txt"]);
    // curl turns CRLF back into LF, so this cannot see the wire; raw_data_connection_* does.
    assert_eq!(String::from_utf8_lossy(body), "a\nb\nc\n");
}

// --- raw TCP: what curl cannot show ---------------------------------------------------------

struct Raw {
    r: BufReader<TcpStream>,
    w: TcpStream,
}

impl Raw {
    fn connect(ftp: &FakeFtp) -> Raw {
        let s = TcpStream::connect(("127.0.0.1", ftp.port())).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        Raw {
            r: BufReader::new(s.try_clone().unwrap()),
            w: s,
        }
    }
    fn line(&mut self) -> String {
        let mut l = String::new();
        self.r.read_line(&mut l).unwrap();
        l
    }
    fn cmd(&mut self, c: &str) -> String {
        self.w.write_all(format!("{c}\r\n").as_bytes()).unwrap();
        self.line()
    }
}

#[test]
fn raw_feat_and_builtin_replies() {
    let ftp = FakeFtp::builder().file("a.txt", "abc").no_size().start();
    let mut c = Raw::connect(&ftp);
    assert_eq!(c.line(), "220 fake ftp ready\r\n");
    assert_eq!(c.cmd("PWD"), "530 Please login with USER and PASS.\r\n");
    assert_eq!(c.cmd("FEAT"), "211-Features:\r\n");
    let mut feat = Vec::new();
    loop {
        let l = c.line();
        if l == "211 End\r\n" {
            break;
        }
        feat.push(l);
    }
    // no_size() also stops advertising SIZE.
    assert_eq!(
        feat,
        [
            " EPSV\r\n",
            " PASV\r\n",
            " MDTM\r\n",
            " REST STREAM\r\n",
            " UTF8\r\n",
            " MLST type*;size*;modify*;\r\n",
            " TVFS\r\n"
        ]
    );
    assert_eq!(c.cmd("AUTH TLS"), "500 AUTH not understood\r\n");
    assert_eq!(c.cmd("user anonymous").get(..4), Some("331 "));
    assert_eq!(c.cmd("PASS x").get(..4), Some("230 "));
    assert_eq!(c.cmd("OPTS UTF8 ON").get(..4), Some("200 "));
    assert_eq!(c.cmd("SYST"), "215 UNIX Type: L8\r\n");
    assert_eq!(c.cmd("PWD"), "257 \"/home/u\" is the current directory\r\n");
    assert_eq!(c.cmd("SIZE a.txt"), "500 SIZE not understood\r\n");
    assert_eq!(c.cmd("MDTM a.txt"), "213 20200102030405\r\n");
    assert_eq!(c.cmd("MDTM nope").get(..4), Some("550 "));
    assert_eq!(
        c.cmd("CWD /home"),
        "250 Directory successfully changed.\r\n"
    );
    assert_eq!(c.cmd("CWD u/missing").get(..4), Some("550 "));
    assert_eq!(c.cmd("CDUP").get(..4), Some("250 "));
    assert_eq!(c.cmd("PWD"), "257 \"/\" is the current directory\r\n");
    assert_eq!(c.cmd("REST 5"), "350 Restart position accepted (5).\r\n");
    assert_eq!(c.cmd("RETR nope"), "550 No such file\r\n");
    assert_eq!(
        c.cmd("RETR home/u/a.txt"),
        "425 Use PORT or PASV first.\r\n"
    );
    assert!(
        c.cmd("PASV")
            .starts_with("227 Entering Passive Mode (127,0,0,1,")
    );
    assert!(
        c.cmd("EPSV")
            .starts_with("229 Entering Extended Passive Mode (|||")
    );
    assert_eq!(c.cmd("PBSZ 0").get(..4), Some("503 "));
    assert_eq!(c.cmd("XYZZY"), "500 Unknown command\r\n");
    assert_eq!(c.cmd("QUIT"), "221 Goodbye.\r\n");
    assert_eq!(c.line(), "", "closed after QUIT");
    assert_eq!(ftp.transcript()[0], "PWD");
    assert_eq!(ftp.commands("user"), vec!["user anonymous"]);
}

#[test]
fn raw_max_connections_and_long_lines() {
    let ftp = FakeFtp::builder().max_connections(1).start();
    let mut a = Raw::connect(&ftp);
    assert_eq!(a.line(), "220 fake ftp ready\r\n");
    let mut b = Raw::connect(&ftp);
    assert_eq!(b.line(), "421 Too many connections\r\n");
    assert_eq!(b.line(), "");
    let long = "NOOP ".to_string() + &"x".repeat(MAX_LINE + 10);
    assert_eq!(a.cmd(&long), "500 Command line too long.\r\n");
    assert_eq!(a.cmd("NOOP"), "200 NOOP ok.\r\n");
    assert_eq!(a.cmd("QUIT"), "221 Goodbye.\r\n");
    assert_eq!(a.line(), "");
    assert_eq!(ftp.connections(), 2);
    let t = ftp.transcript();
    assert_eq!(t.len(), 3);
    assert_eq!(t[0].len(), MAX_LINE, "a long line is kept cut short");
    // The first connection is gone, so a new one is served.
    let mut c = Raw::connect(&ftp);
    assert_eq!(c.line(), "220 fake ftp ready\r\n");
}

/// Opens the passive data connection announced in a 229 reply.
fn epsv_connect(reply: &str) -> TcpStream {
    let port: u16 = reply
        .split("|||")
        .nth(1)
        .and_then(|r| r.split('|').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("bad 229: {reply:?}"));
    TcpStream::connect(("127.0.0.1", port)).unwrap()
}

fn read_all(mut s: TcpStream) -> Vec<u8> {
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut v = Vec::new();
    s.read_to_end(&mut v).unwrap();
    v
}

#[test]
fn raw_data_connection_line_ends_and_rest() {
    let ftp = FakeFtp::builder()
        .file("d/t.txt", "a\nb\r\nc\n")
        .file("d/u.txt", "")
        .start();
    let mut c = Raw::connect(&ftp);
    c.line();
    c.cmd("USER anonymous");
    c.cmd("PASS x");
    c.cmd("CWD d");

    let data = epsv_connect(&c.cmd("EPSV"));
    assert_eq!(c.cmd("NLST").get(..4), Some("150 "));
    assert_eq!(read_all(data), b"t.txt\r\nu.txt\r\n");
    assert_eq!(c.line(), "226 Directory send OK.\r\n");

    assert_eq!(c.cmd("TYPE A"), "200 Switching to ASCII mode.\r\n");
    let data = epsv_connect(&c.cmd("EPSV"));
    assert_eq!(c.cmd("RETR t.txt").get(..4), Some("150 "));
    assert_eq!(read_all(data), b"a\r\nb\r\nc\r\n");
    assert_eq!(c.line(), "226 Transfer complete.\r\n");

    assert_eq!(c.cmd("TYPE I").get(..4), Some("200 "));
    c.cmd("REST 2");
    let data = epsv_connect(&c.cmd("EPSV"));
    assert_eq!(c.cmd("RETR t.txt").get(..4), Some("150 "));
    assert_eq!(read_all(data), b"b\r\nc\n");
    assert_eq!(c.line(), "226 Transfer complete.\r\n");

    let data = epsv_connect(&c.cmd("EPSV"));
    assert_eq!(c.cmd("MLSD t.txt").get(..4), Some("501 "));
    drop(data);
    assert_eq!(c.cmd("NLST nope").get(..4), Some("550 "));
    assert_eq!(c.cmd("MLST t.txt"), "250-Listing t.txt\r\n");
    assert_eq!(
        c.line(),
        " type=file;size=7;modify=20200102030405; /home/u/d/t.txt\r\n"
    );
    assert_eq!(c.line(), "250 End\r\n");
}
