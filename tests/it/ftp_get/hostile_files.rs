//! What a hostile review found on the local side: planted links, special files, a name near
//! the limit, and secrets that must never reach stderr.

use super::*;

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
        let f = dir.join("f");
        as_user(
            &ftp,
            &pw,
            &["-q", "--tls", "none", "-o", f.to_str().unwrap()],
        )
        .ok();
        assert_file(&dir.join("f"), b"private data");
    }
    // A CR inside the password cannot be sent: refused, and the password never shown.
    let evil = format!("{SECRET}\rsecond-half");
    let g = dir.join("g");
    let out = as_user(
        &ftp,
        &evil,
        &["-q", "--tls", "none", "-o", g.to_str().unwrap()],
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
