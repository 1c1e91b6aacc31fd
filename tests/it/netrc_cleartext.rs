//! A password from netrc, which holds it for the host and perhaps for another service, is
//! never sent without TLS under `--tls auto`, and the refusal never suggests `--tls none`
//! (which would send it to this server in cleartext): pop-fetch, imap-fetch and ftp-get, as
//! smtp-send (hostile review, item 39). A password given for the run still names the way out.

use crate::support::fake_ftp::FakeFtp;
use crate::support::fake_imap::{self, ImapBuilder};
use crate::support::fake_pop::{self, PopBuilder};
use crate::support::files::TempDir;
use crate::support::run;
use std::path::Path;
use std::process::{Command, Stdio};

/// A netrc file (mode 600) with `password` for user `alice` at 127.0.0.1.
fn netrc(dir: &TempDir, password: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join("netrc");
    std::fs::write(
        &p,
        format!("machine 127.0.0.1 login alice password {password}\n"),
    )
    .unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    p
}

fn run_tool(bin: &str, dir: &TempDir, args: &[&str], netrc: &Path) -> (Option<i32>, String) {
    let mut c = Command::new(bin);
    c.env("HOME", dir.arg())
        .env("XDG_STATE_HOME", dir.join("state"))
        .env_remove("NETRC")
        .env("PASS", "given-secret")
        .args(args)
        .arg("--netrc-file")
        .arg(netrc)
        .args(["--timeout", "10"])
        .stdin(Stdio::null());
    let o = run::output(&mut c);
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn a_netrc_password_is_refused_in_cleartext_without_pointing_at_tls_none() {
    let dir = TempDir::new("netrc-cleartext");
    let rc = netrc(&dir, fake_pop::PASS);
    let refusal = format!(
        "refusing to send the password from netrc file {} in cleartext (netrc holds it for the host, perhaps for another service)",
        rc.display()
    );
    let maildir = dir.join("Mail").display().to_string();

    let pop = fake_pop::pop(&[("u1", "Subject: a\r\n\r\nbody\r\n")]).start();
    let url = format!("pop3://alice@127.0.0.1:{}", pop.port());
    let (code, stderr) = run_tool(
        env!("CARGO_BIN_EXE_pop-fetch"),
        &dir,
        &[&url, "--maildir", &maildir],
        &rc,
    );
    assert_eq!(code, Some(69), "{stderr}");
    assert!(stderr.contains(&refusal), "{stderr}");
    assert!(!stderr.contains("--tls none"), "{stderr}");
    assert!(!pop.transcript().iter().any(|l| l.starts_with("PASS")));

    let imap = fake_imap::imap(&["Subject: a\r\n\r\nbody\r\n"]).start();
    let url = format!("imap://alice@127.0.0.1:{}/", imap.port());
    let (code, stderr) = run_tool(
        env!("CARGO_BIN_EXE_imap-fetch"),
        &dir,
        &[&url, "--maildir", &maildir],
        &rc,
    );
    assert_eq!(code, Some(69), "{stderr}");
    assert!(stderr.contains(&refusal), "{stderr}");
    assert!(!stderr.contains("--tls none"), "{stderr}");

    let ftp = FakeFtp::builder()
        .login("alice", "s3cret")
        .file("f.txt", "hello\n")
        .start();
    let url = ftp.url("f.txt").replace("ftp://", "ftp://alice@");
    let out = dir.join("f.txt").display().to_string();
    let (code, stderr) = run_tool(
        env!("CARGO_BIN_EXE_ftp-get"),
        &dir,
        &["-o", &out, &url],
        &rc,
    );
    assert_eq!(code, Some(69), "{stderr}");
    assert!(stderr.contains(&refusal), "{stderr}");
    assert!(!stderr.contains("--tls none"), "{stderr}");
    assert!(!ftp.transcript().iter().any(|l| l.starts_with("PASS")));

    // A password given for this run: the way out is named.
    let (code, stderr) = run_tool(
        env!("CARGO_BIN_EXE_pop-fetch"),
        &dir,
        &[
            &format!("pop3://alice@127.0.0.1:{}", pop.port()),
            "--password-env",
            "PASS",
            "--maildir",
            &maildir,
        ],
        &rc,
    );
    assert_eq!(code, Some(69), "{stderr}");
    assert!(
        stderr.contains("refusing to send the password in cleartext (use --tls none to allow it)"),
        "{stderr}"
    );
}
