//! ftp-get and the FTP client against a real vsftpd on loopback (started by
//! scripts/test-servers): plain FTP, explicit FTPS with require_ssl_reuse=YES over TLS 1.3
//! and 1.2, implicit FTPS, a self-signed CA:TRUE certificate, active and passive, resume,
//! and a 256 MiB file checked by hash.

use crate::support::files::{TempDir, sha256_file};
use crate::support::run;
use crate::support::servers::{Servers, servers};
use posthaste::ftp::{Credentials, FtpClient, FtpOptions};
use posthaste::net::ConnectOptions;
use posthaste::net::tls::{TlsContext, TlsMode, TlsOptions};
use posthaste::net::url::{Scheme, Target};
use posthaste::session::SessionOptions;
use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_ftp-get");

fn tempdir(name: &str) -> TempDir {
    TempDir::new(&format!("interop-{name}"))
}

/// Runs ftp-get with the test user's password in `$PH_TEST_PASSWORD`.
fn ftp_get(args: &[&str]) -> Output {
    let password = servers().map(|s| s.password).unwrap_or_default();
    run::output(
        Command::new(BIN)
            .args(args)
            .env("PH_TEST_PASSWORD", password)
            .env("HOME", "/nonexistent"),
    )
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn ca(s: &Servers) -> String {
    s.ca_cert.display().to_string()
}

/// Downloads hello.txt with the given extra flags and checks the bytes.
fn hello_via(url: &str, extra: &[&str], tag: &str) {
    let dir = tempdir(tag);
    let out = dir.join("hello.txt");
    let mut args = vec![
        url,
        "-o",
        out.to_str().unwrap(),
        "--password-env",
        "PH_TEST_PASSWORD",
    ];
    args.extend_from_slice(extra);
    let o = ftp_get(&args);
    assert!(o.status.success(), "{tag}: {:?} {}", o.status, stderr(&o));
    assert_eq!(std::fs::read(&out).unwrap(), b"hello, world\n", "{tag}");
    assert!(!dir.join("hello.txt.part").exists());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn plain_ftp_with_password_needs_tls_none() {
    let Some(s) = servers() else { return };
    let url = s.url_no_password("ftp", s.plain_port, "hello.txt");
    // The server offers no TLS: --tls auto refuses to send the password in cleartext.
    let dir = tempdir("plain-refuse");
    let o = ftp_get(&[
        &url,
        "-O",
        dir.to_str().unwrap(),
        "--password-env",
        "PH_TEST_PASSWORD",
    ]);
    assert_eq!(o.status.code(), Some(69), "{}", stderr(&o));
    assert!(stderr(&o).contains("--tls none"), "{}", stderr(&o));
    assert!(!dir.join("hello.txt").exists());
    hello_via(&url, &["--tls", "none"], "plain");
    hello_via(&url, &["--tls", "none", "--active"], "plain-active");
    // --tls required fails even anonymously.
    let o = ftp_get(&[
        &s.anon_url("ftp", s.plain_port, "pub/readme.txt"),
        "--tls",
        "required",
        "-o",
        "-",
    ]);
    assert_eq!(o.status.code(), Some(69), "{}", stderr(&o));
}

#[test]
fn plain_ftp_anonymous_goes_on_without_tls() {
    let Some(s) = servers() else { return };
    let o = ftp_get(&[
        &s.anon_url("ftp", s.plain_port, "pub/readme.txt"),
        "-o",
        "-",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let want = std::fs::read(s.anon_root.join("pub/readme.txt")).unwrap();
    assert_eq!(o.stdout, want);
}

#[test]
fn explicit_ftps_tls13_passive_and_active() {
    let Some(s) = servers() else { return };
    let url = s.url_no_password("ftp", s.ftps_port, "hello.txt");
    hello_via(&url, &["--cacert", &ca(&s)], "ftps13");
    hello_via(&url, &["--cacert", &ca(&s), "--active"], "ftps13-active");
    hello_via(
        &url,
        &["--cacert", &ca(&s), "--tls", "required"],
        "ftps13-req",
    );
}

#[test]
fn explicit_ftps_tls12() {
    let Some(s) = servers() else { return };
    let url = s.url_no_password("ftp", s.ftps12_port, "hello.txt");
    hello_via(&url, &["--cacert", &ca(&s)], "ftps12");
    hello_via(&url, &["--cacert", &ca(&s), "--active"], "ftps12-active");
}

#[test]
fn implicit_ftps() {
    let Some(s) = servers() else { return };
    let url = s.url_no_password("ftps", s.ftps_implicit_port, "hello.txt");
    hello_via(&url, &["--cacert", &ca(&s)], "implicit");
}

#[test]
fn untrusted_certificate_is_refused_with_a_hint() {
    let Some(s) = servers() else { return };
    let dir = tempdir("untrusted");
    let url = s.url_no_password("ftp", s.ftps_port, "hello.txt");
    let o = ftp_get(&[
        &url,
        "-O",
        dir.to_str().unwrap(),
        "--password-env",
        "PH_TEST_PASSWORD",
    ]);
    assert_eq!(o.status.code(), Some(76), "{}", stderr(&o));
    assert!(stderr(&o).contains("--cacert"), "{}", stderr(&o));
    assert!(
        std::fs::read_dir(&dir).unwrap().next().is_none(),
        "nothing written"
    );
}

#[test]
fn self_signed_ca_true_certificate_with_cacert_or_pin() {
    let Some(s) = servers() else { return };
    let url = s.url_no_password("ftp", s.ftps_selfsigned_port, "hello.txt");
    // webpki alone refuses it (CaUsedAsEndEntity); --cacert with that very certificate works.
    hello_via(
        &url,
        &["--cacert", s.selfsigned_cert.to_str().unwrap()],
        "selfsigned",
    );
    let pin = format!("sha256:{}", s.selfsigned_sha256);
    hello_via(&url, &["--pin", &pin], "pinned");
    // --insecure works without either, and says so.
    let dir = tempdir("insecure");
    let o = ftp_get(&[
        &url,
        "-O",
        dir.to_str().unwrap(),
        "--password-env",
        "PH_TEST_PASSWORD",
        "--insecure",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("not verified"), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(dir.join("hello.txt")).unwrap(),
        b"hello, world\n"
    );
    // A wrong pin fails.
    let wrong = format!("sha256:{}", "00".repeat(32));
    let dir = tempdir("wrongpin");
    let o = ftp_get(&[
        &url,
        "-O",
        dir.to_str().unwrap(),
        "--password-env",
        "PH_TEST_PASSWORD",
        "--pin",
        &wrong,
    ]);
    assert_eq!(o.status.code(), Some(76), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("does not match --pin"),
        "{}",
        stderr(&o)
    );
    // The right certificate for the wrong name fails: 127.0.0.2 is not in its names.
    let other = url.replace("127.0.0.1", "127.0.0.2");
    if other != url {
        let o = ftp_get(&[
            &other,
            "-O",
            dir.to_str().unwrap(),
            "--password-env",
            "PH_TEST_PASSWORD",
            "--cacert",
            s.selfsigned_cert.to_str().unwrap(),
        ]);
        assert_ne!(o.status.code(), Some(0), "{}", stderr(&o));
    }
}

#[test]
fn big_file_over_ftps_by_hash() {
    let Some(s) = servers() else { return };
    let dir = tempdir("big");
    let url = s.url_no_password("ftp", s.ftps_port, "big.bin");
    let o = ftp_get(&[
        &url,
        "-O",
        dir.to_str().unwrap(),
        "--password-env",
        "PH_TEST_PASSWORD",
        "--cacert",
        &ca(&s),
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(o.stderr.is_empty(), "-q prints nothing: {}", stderr(&o));
    assert_eq!(sha256_file(&dir.join("big.bin")), s.big_sha256);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn big_file_over_plain_ftp_by_hash() {
    let Some(s) = servers() else { return };
    let dir = tempdir("bigplain");
    let url = s.url_no_password("ftp", s.plain_port, "big.bin");
    let o = ftp_get(&[
        &url,
        "-O",
        dir.to_str().unwrap(),
        "--password-env",
        "PH_TEST_PASSWORD",
        "--tls",
        "none",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(sha256_file(&dir.join("big.bin")), s.big_sha256);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn resume_a_part_file_over_ftps() {
    let Some(s) = servers() else { return };
    let dir = tempdir("resume");
    // The first 100 MiB of big.bin, as an interrupted run would have left them.
    let src = std::fs::read(s.home.join("big.bin")).unwrap();
    std::fs::write(dir.join("big.bin.part"), &src[..100 << 20]).unwrap();
    let url = s.url_no_password("ftp", s.ftps_port, "big.bin");
    let o = ftp_get(&[
        &url,
        "-c",
        "-v",
        "-O",
        dir.to_str().unwrap(),
        "--password-env",
        "PH_TEST_PASSWORD",
        "--cacert",
        &ca(&s),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("C: REST {}", 100 << 20)),
        "{}",
        stderr(&o)
    );
    assert_eq!(sha256_file(&dir.join("big.bin")), s.big_sha256);
    assert!(!dir.join("big.bin.part").exists());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn globs_names_with_spaces_and_unicode() {
    let Some(s) = servers() else { return };
    let dir = tempdir("glob");
    let d = dir.to_str().unwrap();
    let glob = s.url_no_password("ftp", s.ftps_port, "data/*.csv");
    let spaces = s.url_no_password("ftp", s.ftps_port, "sub%20dir/name%20with%20spaces.txt");
    let unicode = s.url_no_password("ftp", s.ftps_port, "data/%C3%BCn%C3%AFcode.txt");
    let o = ftp_get(&[
        &glob,
        &spaces,
        &unicode,
        "-O",
        d,
        "--password-env",
        "PH_TEST_PASSWORD",
        "--cacert",
        &ca(&s),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["a.csv", "b.csv", "name with spaces.txt", "ünïcode.txt"]
    );
    for n in &names {
        let remote = if n.ends_with(".csv") || n.starts_with('ü') {
            s.home.join("data").join(n)
        } else {
            s.home.join("sub dir").join(n)
        };
        assert_eq!(
            std::fs::read(dir.join(n)).unwrap(),
            std::fs::read(remote).unwrap(),
            "{n}"
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn missing_file_and_bad_login() {
    let Some(s) = servers() else { return };
    let dir = tempdir("missing");
    let d = dir.to_str().unwrap();
    let url = s.url_no_password("ftp", s.ftps_port, "no-such-file.txt");
    let o = ftp_get(&[
        &url,
        "-O",
        d,
        "--password-env",
        "PH_TEST_PASSWORD",
        "--cacert",
        &ca(&s),
    ]);
    assert_eq!(o.status.code(), Some(66), "{}", stderr(&o));
    assert!(stderr(&o).contains("no-such-file.txt"), "{}", stderr(&o));
    assert!(!dir.join("no-such-file.txt.part").exists());
    let bad = format!(
        "ftp://{}:wrong@{}:{}/hello.txt",
        s.user, s.host, s.ftps_port
    );
    let o = ftp_get(&[&bad, "-O", d, "--cacert", &ca(&s), "-q"]);
    assert_eq!(o.status.code(), Some(77), "{}", stderr(&o));
    assert!(
        !stderr(&o).contains("wrong"),
        "the password never shows: {}",
        stderr(&o)
    );
}

fn client_for(s: &Servers, port: u16) -> FtpClient {
    let target = Target::parse(&s.url("ftp", port, ""), &[Scheme::Ftp]).unwrap();
    let tls = TlsContext::new(&TlsOptions {
        mode: TlsMode::Required,
        cacert: Some(s.ca_cert.clone()),
        ..Default::default()
    })
    .unwrap();
    let opts = FtpOptions {
        session: SessionOptions {
            connect: ConnectOptions::default(),
            tls_mode: TlsMode::Required,
            tls: Some(tls),
            transcript: None,
        },
        active: false,
        ascii: false,
    };
    let login = Credentials::password(s.user.clone(), s.password.clone());
    let client = FtpClient::connect(&target, &login, &opts).unwrap();
    assert!(client.is_tls());
    client
}

/// 30 uploads and downloads mixed on one control connection: every data connection must
/// resume the control connection's TLS session (vsftpd's require_ssl_reuse=YES), and TLS 1.3
/// tickets, which are single-use and arrive after the handshake, must keep coming.
fn mixed_transfers(port: u16, tag: &str) {
    let Some(s) = servers() else { return };
    let mut c = client_for(&s, port);
    for i in 0..30 {
        let name = s.upload_name(&format!("{tag}-{i}"));
        let body: Vec<u8> = (0..(1000 + i * 7919)).map(|k| (k * 31 + i) as u8).collect();
        let mut pos = 0;
        let sent = c
            .store(&name, &mut |buf: &mut [u8]| {
                let n = buf.len().min(body.len() - pos);
                buf[..n].copy_from_slice(&body[pos..pos + n]);
                pos += n;
                Ok(n)
            })
            .unwrap_or_else(|e| panic!("{tag}: upload {i}: {e}"));
        assert_eq!(sent, body.len() as u64);
        let mut got = Vec::new();
        c.retrieve(&name, 0, Some(body.len() as u64), &mut |b: &[u8]| {
            got.extend_from_slice(b);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{tag}: download {i}: {e}"));
        assert_eq!(got, body, "{tag}: round trip {i}");
        c.delete(&name).unwrap();
    }
    c.quit();
}

#[test]
fn thirty_mixed_transfers_on_one_connection_tls13() {
    mixed_transfers(servers().map_or(0, |s| s.ftps_port), "tls13");
}

#[test]
fn thirty_mixed_transfers_on_one_connection_tls12() {
    mixed_transfers(servers().map_or(0, |s| s.ftps12_port), "tls12");
}

#[test]
fn delete_remote_after_the_file_is_safe() {
    let Some(s) = servers() else { return };
    let mut c = client_for(&s, s.ftps_port);
    let name = s.upload_name("pickup");
    let mut once = Some(b"pick me up\n".to_vec());
    c.store(&name, &mut |buf: &mut [u8]| match once.take() {
        Some(b) => {
            buf[..b.len()].copy_from_slice(&b);
            Ok(b.len())
        }
        None => Ok(0),
    })
    .unwrap();
    c.quit();
    assert!(s.home.join(&name).exists());
    let dir = tempdir("pickup");
    let url = s.url_no_password("ftp", s.ftps_port, &name);
    let o = ftp_get(&[
        &url,
        "--delete-remote",
        "-O",
        dir.to_str().unwrap(),
        "--password-env",
        "PH_TEST_PASSWORD",
        "--cacert",
        &ca(&s),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let local = dir.join(Path::new(&name).file_name().unwrap());
    assert_eq!(std::fs::read(local).unwrap(), b"pick me up\n");
    assert!(!s.home.join(&name).exists(), "the remote file was deleted");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn tls_failures_are_said_in_words_with_the_pin_that_would_trust() {
    let Some(s) = servers() else { return };
    let dir = tempdir("tlswords");
    let d = dir.to_str().unwrap();
    // A CA-signed server whose CA we were not given.
    let url = s.url_no_password("ftp", s.ftps_port, "hello.txt");
    let o = ftp_get(&[&url, "-O", d, "--password-env", "PH_TEST_PASSWORD"]);
    assert_eq!(o.status.code(), Some(76), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("not signed by an authority we trust"), "{e}");
    assert!(e.contains("--pin sha256:") && !e.contains("Other("), "{e}");
    assert_eq!(e.lines().count(), 1, "{e}");
    // The self-signed (CA:TRUE) server without --cacert: said so, with its exact pin.
    let url = s.url_no_password("ftp", s.ftps_selfsigned_port, "hello.txt");
    let o = ftp_get(&[&url, "-O", d, "--password-env", "PH_TEST_PASSWORD"]);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(76), "{e}");
    assert!(e.contains("is self-signed"), "{e}");
    assert!(
        e.contains(&format!("--pin sha256:{}", s.selfsigned_sha256)),
        "the flag to copy: {e}"
    );
    // That very flag works.
    let pin = format!("sha256:{}", s.selfsigned_sha256);
    hello_via(&url, &["--pin", &pin], "pinfromhint");
    // ftps:// to a plain FTP port: the server did not answer with TLS.
    let url = s.url_no_password("ftps", s.plain_port, "hello.txt");
    let o = ftp_get(&[&url, "-O", d, "--password-env", "PH_TEST_PASSWORD"]);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(76), "{e}");
    assert!(e.contains("did not answer with TLS"), "{e}");
    assert!(!e.contains("InvalidContentType"), "{e}");
}

#[test]
fn a_wildcard_in_a_missing_folder_is_66() {
    let Some(s) = servers() else { return };
    let dir = tempdir("wildmissing");
    let url = s.url_no_password("ftp", s.ftps_port, "no-such-folder/*.csv");
    let o = ftp_get(&[
        &url,
        "-O",
        dir.to_str().unwrap(),
        "--password-env",
        "PH_TEST_PASSWORD",
        "--cacert",
        &ca(&s),
    ]);
    assert_eq!(o.status.code(), Some(66), "{}", stderr(&o));
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
}
