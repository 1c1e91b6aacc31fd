//! Client certificates and TLS settings against real servers on loopback: vsftpd with
//! `require_cert=YES` (the certificate on the control and every data connection, the
//! session resumed as `require_ssl_reuse=YES` wants) and Dovecot taking SASL EXTERNAL only
//! (`scripts/servers/certauth`); `--tls-server-name`, `--tls-min` and `--tls-max` against
//! the harness's vsftpd instances (`scripts/test-servers`).

use crate::support::files::TempDir;
use crate::support::servers::servers;
use crate::support::servers_cert::{CertServers, cert_servers};
use crate::support::tool::{Out, tool};
use std::path::Path;

/// Runs `name` with `args`, a home of its own, `PW` holding `password`.
fn run(name: &'static str, args: &[String], password: &str) -> Out {
    let home = TempDir::new(&format!("icert-{name}"));
    tool(name)
        .home(home.join("home"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("PW", password)
        .args(args)
        .args(["--timeout", "20", "--max-time", "60"])
        .run()
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// A mail tool's arguments: `url` into the Maildir `maildir`, trusting the test CA, then
/// `more`.
fn mail_args(s: &CertServers, url: &str, maildir: &Path, more: &[&str]) -> Vec<String> {
    let mut args = strings(&[
        url,
        "--maildir",
        maildir.to_str().unwrap(),
        "--cacert",
        s.ca_cert.to_str().unwrap(),
    ]);
    args.extend(strings(more));
    args
}

/// ftp-get of hello.txt from the FTPS server that requires a certificate, with `more`.
fn ftp_hello(s: &CertServers, more: &[String]) -> (Out, TempDir) {
    let url = format!("ftp://{}@{}:{}/hello.txt", s.ftp_user, s.host, s.ftps_port);
    get_hello(&url, &s.ca_cert, &s.ftp_password, more)
}

/// ftp-get of `url` (hello.txt) into a fresh folder, trusting `ca`, the password in `PW`,
/// with `more`.
fn get_hello(url: &str, ca: &Path, password: &str, more: &[String]) -> (Out, TempDir) {
    let dir = TempDir::new("icert-ftp");
    let out = dir.join("hello.txt");
    let mut args = strings(&[
        url,
        "-o",
        out.to_str().unwrap(),
        "--password-env",
        "PW",
        "--cacert",
        ca.to_str().unwrap(),
    ]);
    args.extend_from_slice(more);
    (run("ftp-get", &args, password), dir)
}

#[test]
fn ftp_get_presents_the_certificate_on_control_and_data_connections() {
    let Some(s) = cert_servers() else { return };
    // Passive and active: each data connection is a TLS session of its own that vsftpd
    // makes present the certificate and resume the control connection's session.
    for mode in [&[][..], &["--active".to_string()][..]] {
        let mut more = s.cert_args();
        more.extend_from_slice(mode);
        let (ran, dir) = ftp_hello(&s, &more);
        ran.ok();
        assert_eq!(
            std::fs::read(dir.join("hello.txt")).unwrap(),
            b"hello, world\n"
        );
    }
    let (ran, dir) = ftp_hello(&s, &[]);
    let line = ran.fails(76);
    assert!(
        line.contains("it may want a client certificate (--cert FILE)"),
        "{line}"
    );
    assert!(!dir.join("hello.txt").exists());
    let unsigned = strings(&[
        "--cert",
        s.unsigned_cert.to_str().unwrap(),
        "--key",
        s.unsigned_key.to_str().unwrap(),
    ]);
    let (ran, _) = ftp_hello(&s, &unsigned);
    let line = ran.fails(76);
    assert!(
        line.contains("it refused our client certificate (--cert)"),
        "{line}"
    );
}

#[test]
fn pop_fetch_logs_in_to_dovecot_by_external() {
    let Some(s) = cert_servers() else { return };
    let (_dir, maildir) = waiting(&s, "pop-external");
    let url = format!("pop3s://{}@{}:{}", s.user, s.host, s.pop3s_port);
    let mut args = mail_args(&s, &url, &maildir, &["-v"]);
    args.extend(s.cert_args());
    let ran = run("pop-fetch", &args, "");
    assert_eq!(ran.code, Some(0), "{ran:#?}");
    assert!(
        ran.stderr.contains("C: AUTH EXTERNAL ****\n"),
        "{}",
        ran.stderr
    );
    assert!(ran.stderr.contains("S: +OK Logged in."), "{}", ran.stderr);
    let got = fetched(&maildir);
    assert!(got.contains("Subject: pop-external"), "{got}");
}

#[test]
fn imap_fetch_logs_in_by_external_after_starttls_and_with_the_name_given() {
    let Some(s) = cert_servers() else { return };
    let (_dir, maildir) = waiting(&s, "imap-external");
    // STARTTLS, the certificate checked against `localhost` instead of the address, and
    // --user as the authorization identity (Dovecot takes its own name).
    let url = format!("imap://{}:{}/", s.host, s.imap_port);
    let more = ["--user", &s.user, "--tls-server-name", "localhost"];
    let mut args = mail_args(&s, &url, &maildir, &more);
    args.extend(s.cert_args());
    run("imap-fetch", &args, "").ok();
    let got = fetched(&maildir);
    assert!(got.contains("Subject: imap-external"), "{got}");
    // A certificate no one signed: Dovecot completes the handshake and refuses the login.
    let imaps = format!("imaps://{}@{}:{}/", s.user, s.host, s.imaps_port);
    let unsigned = [
        "--cert",
        s.unsigned_cert.to_str().unwrap(),
        "--key",
        s.unsigned_key.to_str().unwrap(),
    ];
    let args = mail_args(&s, &imaps, &maildir, &unsigned);
    let ran = run("imap-fetch", &args, "");
    let line = ran.fails(77);
    assert!(
        line.contains("login as phcert with EXTERNAL failed: server said: NO [ALERT] Client didn't present valid SSL certificate"),
        "{line}"
    );
}

/// Puts a message with the Subject `subject` in the user's mailbox; returns a fresh folder
/// and the Maildir in it to fetch into.
fn waiting(s: &CertServers, subject: &str) -> (TempDir, std::path::PathBuf) {
    let body = format!("From: a@example.com\nSubject: {subject}\n\nhello\n");
    s.put(&format!("{subject}.eml"), body.as_bytes());
    let dir = TempDir::new("icert-mail");
    let maildir = dir.join("Mail");
    (dir, maildir)
}

/// Every message in the Maildir `dir`, one after the other.
fn fetched(dir: &Path) -> String {
    let mut all = String::new();
    for sub in ["new", "cur"] {
        for e in std::fs::read_dir(dir.join(sub))
            .into_iter()
            .flatten()
            .flatten()
        {
            all.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
        }
    }
    all
}

// --tls-server-name and versions against the harness's vsftpd instances.

#[test]
fn ftps_data_connections_use_the_name_given_and_resume() {
    let Some(s) = servers() else { return };
    let get = |port: u16, more: &[&str]| {
        let url = s.url_no_password("ftp", port, "hello.txt");
        let (ran, dir) = get_hello(&url, &s.ca_cert, &s.password, &strings(more));
        (ran, std::fs::read(dir.join("hello.txt")).ok())
    };
    // vsftpd refuses a data connection that does not resume the control connection's
    // session: rustls resumes by the name, so the data connections must use the same one.
    for more in [
        &["--tls-server-name", "localhost"][..],
        &["--active", "--tls-server-name", "localhost"],
    ] {
        let (ran, got) = get(s.ftps_port, more);
        ran.ok();
        assert_eq!(got.as_deref(), Some(&b"hello, world\n"[..]), "{more:?}");
    }
    let (ran, got) = get(s.ftps_port, &["--tls-server-name", "wrong.example"]);
    let line = ran.fails(76);
    assert!(
        line.contains("(checked against --tls-server-name wrong.example)"),
        "{line}"
    );
    assert_eq!(got, None);
    // ftps12 speaks TLS 1.2 only.
    let (ran, _) = get(s.ftps12_port, &["--tls-min", "1.3"]);
    ran.fails(76);
    let (ran, got) = get(s.ftps12_port, &["--tls-max", "1.2"]);
    ran.ok();
    assert!(got.is_some());
    let (ran, got) = get(s.ftps_port, &["--tls-max", "1.2"]);
    ran.ok();
    assert!(got.is_some());
}
