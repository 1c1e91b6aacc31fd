//! What a hostile review found on the server's side: slow replies, unverifiable resumes,
//! replies without a transfer, one local name for two files, standard output, the rest of the
//! exit-status table.

use super::*;

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
    let out = as_user(&ftp, SECRET, &["-o", "-"]);
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
