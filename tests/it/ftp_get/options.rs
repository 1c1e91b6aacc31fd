//! ftp-get's standard output, `--delete-remote`, usage errors, overlong replies and dropped
//! connections, the TLS policy against a server without TLS, and more of what users do.

use super::*;

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
    let out = as_user(&ftp, SECRET, &["-O", dir.arg()]);
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
