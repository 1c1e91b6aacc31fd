//! ftp-get's downloads: a plain one, one control connection per server, replies in odd
//! shapes and malformed ones, data connections, broken transfers, `--continue`, missing files.

use super::*;

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
    let out = ftp_get(&["-O", dir.arg(), &ftp.url("f")]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert!(
        out.stderr
            .contains("(500 bytes) from an earlier run is replaced"),
        "{out:#?}"
    );
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

#[test]
fn a_full_disk_behind_standard_output_says_no_part_file_and_no_dash_c() {
    let server = FakeFtp::builder().file("f", sample(200_000)).start();
    let full = std::fs::File::options()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = command(&["-o", "-", &server.url("f")], &[])
        .stdin(Stdio::null())
        .stdout(full)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(74), "{err}");
    // -c cannot resume standard output, and no .part file was written.
    assert_eq!(err, "ftp-get: standard output: No space left on device\n");
}
