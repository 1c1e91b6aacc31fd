//! Client certificates and TLS settings against the fake servers behind a TLS front
//! (`support/tls_front.rs`, certificates from `tests/certs/`): `--cert`/`--key` and SASL
//! EXTERNAL's exact wire form in each mail protocol, `--tls-server-name`, `--tls-min` and
//! `--tls-max`, and every way a key file is refused, none of which shows a byte of the key.

use crate::support::fake_imap::{self, ImapBuilder, imap};
use crate::support::fake_pop::{self, PopBuilder, pop};
use crate::support::fake_smtp::FakeSmtp;
use crate::support::files::TempDir;
use crate::support::tls_front::{Handshake, TlsFront, cert_copy, cert_file};
use crate::support::tool::Out;
use rustls::ProtocolVersion;

const MESSAGE: &str = "From: a@example.com\r\nSubject: hi\r\n\r\nhello\r\n";

/// Runs `name` with `args` (session_layer's way), `PW` holding the fake servers' password.
fn run(name: &'static str, args: &[&str], input: &[u8]) -> Out {
    crate::session_layer::run_tool(name, args, fake_pop::PASS, input)
}

/// pop-fetch of `pop3s://alice@127.0.0.1:PORT` into a fresh Maildir, trusting the test CA.
fn pop_fetch(port: u16, more: &[&str]) -> (Out, TempDir) {
    let out = TempDir::new("cert-pop-out");
    let maildir = out.join("Mail");
    let url = format!("pop3s://{}@127.0.0.1:{port}", fake_pop::USER);
    let ca = cert_file("ca.pem");
    let mut args = vec![
        url.as_str(),
        "--maildir",
        maildir.to_str().unwrap(),
        "--cacert",
        ca.to_str().unwrap(),
    ];
    args.extend_from_slice(more);
    (run("pop-fetch", &args, b""), out)
}

/// [`pop_fetch`] as the client certificate's owner: `--tls-server-name mail.test`, the
/// certificate and its key, then `more`.
fn pop_fetch_with_cert(port: u16, more: &[&str]) -> (Out, TempDir) {
    let keys = TempDir::new("cert-keys");
    let key = client_key(&keys);
    let cert = cert_file("client.pem");
    let mut args = vec![
        "--tls-server-name",
        "mail.test",
        "--cert",
        cert.to_str().unwrap(),
        "--key",
        &key,
    ];
    args.extend_from_slice(more);
    pop_fetch(port, &args)
}

/// The client key, copied owner-only into `dir` (a checkout does not keep its mode).
fn client_key(dir: &TempDir) -> String {
    cert_copy(dir, "client.key", 0o600)
        .to_str()
        .unwrap()
        .to_string()
}

/// Asserts that no line of the PEM files in tests/certs that hold keys reached `stderr`.
fn no_key_material(stderr: &str) {
    for name in ["client.key", "other.key", "client-encrypted.key"] {
        let pem = std::fs::read_to_string(cert_file(name)).unwrap();
        for line in pem.lines().filter(|l| !l.starts_with("-----")) {
            assert!(!stderr.contains(line), "{name} shown: {stderr}");
        }
    }
}

fn handshake(version: ProtocolVersion, certs: Option<usize>) -> Handshake {
    Handshake {
        version: Some(version),
        sni: Some("mail.test".to_string()),
        client_certs: certs,
    }
}

// SASL EXTERNAL, in each protocol.

#[test]
fn pop_fetch_logs_in_with_the_certificate_by_external() {
    let server = pop(&[("u1", MESSAGE)]).external().start();
    let front = TlsFront::new(server.port()).require_client_cert().start();
    let (ran, out) = pop_fetch_with_cert(front.port(), &["-v"]);
    assert_eq!(ran.code, Some(0), "{ran:#?}");
    // No password anywhere: the certificate is the login, its authorization identity
    // empty (the URL's user names the account, not whom to act as).
    assert!(
        ran.stderr.contains("C: AUTH EXTERNAL ****\n"),
        "{}",
        ran.stderr
    );
    no_key_material(&ran.stderr);
    assert_eq!(server.commands("AUTH"), ["AUTH EXTERNAL ="]);
    assert!(server.commands("PASS").is_empty());
    assert_eq!(
        front.handshakes(),
        [handshake(ProtocolVersion::TLSv1_3, Some(1))]
    );
    assert_eq!(crate::support::files::names(&out.join("Mail/new")).len(), 1);
}

#[test]
fn imap_fetch_asks_for_the_user_given_with_the_key_in_the_certificate_file() {
    let server = imap(&["Subject: one\r\n\r\nbody\r\n"]).external().start();
    let front = TlsFront::new(server.port()).require_client_cert().start();
    let keys = TempDir::new("cert-imap-keys");
    let combined = cert_copy(&keys, "client-combined.pem", 0o600);
    let maildir = keys.join("Mail");
    let url = format!("imaps://127.0.0.1:{}/", front.port());
    let ca = cert_file("ca.pem");
    let ran = run(
        "imap-fetch",
        &[
            &url,
            "--user",
            fake_imap::USER,
            "--maildir",
            maildir.to_str().unwrap(),
            "--cacert",
            ca.to_str().unwrap(),
            "--tls-server-name",
            "mail.test",
            "--cert",
            combined.to_str().unwrap(),
        ],
        b"",
    );
    ran.ok();
    let user_b64 = base64_of(fake_imap::USER);
    let auth: Vec<String> = server
        .transcript()
        .into_iter()
        .filter(|l| l.contains("AUTHENTICATE"))
        .collect();
    assert_eq!(auth.len(), 1, "{auth:?}");
    assert!(
        auth[0].ends_with(&format!(" AUTHENTICATE EXTERNAL {user_b64}")),
        "{auth:?}"
    );
    assert_eq!(front.handshakes()[0].client_certs, Some(1));
}

#[test]
fn smtp_send_auth_external_needs_no_user_name() {
    let s = FakeSmtp::builder()
        .ehlo(&["PIPELINING", "AUTH EXTERNAL"])
        .reply("AUTH", "235 2.7.0 Authentication successful\r\n")
        .start();
    let front = TlsFront::new(s.port()).require_client_cert().start();
    let keys = TempDir::new("cert-smtp-keys");
    let key = client_key(&keys);
    let cert = cert_file("client.pem");
    let ca = cert_file("ca.pem");
    // smtp-send --auth external with the client certificate, to the TLS front on `port`.
    let send = |port: u16| {
        let server = format!("smtps://127.0.0.1:{port}");
        let (ca, cert) = (ca.to_str().unwrap(), cert.to_str().unwrap());
        run(
            "smtp-send",
            &[
                "--server",
                &server,
                "--cacert",
                ca,
                "--tls-server-name",
                "mail.test",
                "--cert",
                cert,
                "--key",
                &key,
                "--auth",
                "external",
                "rcpt@example.org",
            ],
            b"From: a@example.com\n\nhi\n",
        )
    };
    send(front.port()).ok();
    assert_eq!(s.commands("AUTH"), ["AUTH EXTERNAL ="]);
    assert_eq!(s.messages().len(), 1);
    // A server that offers no AUTH: the message says what was asked for, with no empty name.
    let bare = FakeSmtp::builder().ehlo(&["PIPELINING"]).start();
    let front = TlsFront::new(bare.port()).start();
    assert_eq!(
        send(front.port()).fails(69),
        format!(
            "smtp-send: 127.0.0.1:{}: the server offers no AUTH, and a login (--auth) was asked for (drop --auth, or check the server URL)",
            front.port()
        )
    );
}

#[test]
fn a_refused_external_login_is_77() {
    let server = pop(&[])
        .external()
        .reply("AUTH", "-ERR [AUTH] certificate not mapped to a user\r\n")
        .start();
    let front = TlsFront::new(server.port()).start();
    let (ran, _) = pop_fetch_with_cert(front.port(), &[]);
    let line = ran.fails(77);
    assert!(
        line.contains("login as alice with EXTERNAL failed"),
        "{line}"
    );
}

#[test]
fn a_password_given_is_used_even_with_a_certificate() {
    // msmtp's and curl's rule: the certificate is EXTERNAL's only when no password is given.
    let server = pop(&[]).external().start();
    let front = TlsFront::new(server.port()).require_client_cert().start();
    let (ran, _) = pop_fetch_with_cert(front.port(), &["--password-env", "PW"]);
    ran.ok();
    assert!(server.commands("AUTH").is_empty());
    assert_eq!(server.commands("PASS").len(), 1);
}

#[test]
fn a_certificate_is_never_dropped_for_plaintext() {
    // --tls auto would go on in plaintext without a password; the certificate, the login,
    // would then never be shown.
    let server = pop(&[]).external().start();
    let keys = TempDir::new("cert-plain-keys");
    let key = client_key(&keys);
    let cert = cert_file("client.pem");
    let out = keys.join("Mail");
    let url = format!("pop3://{}@127.0.0.1:{}", fake_pop::USER, server.port());
    let cert = cert.to_str().unwrap();
    let plain = |more: &[&str]| {
        let mut args = vec![
            url.as_str(),
            "--maildir",
            out.to_str().unwrap(),
            "--cert",
            cert,
        ];
        args.extend_from_slice(more);
        run("pop-fetch", &args, b"")
    };
    let line = plain(&["--key", &key]).fails(69).to_string();
    assert!(
        line.ends_with("the server does not offer TLS (it does not announce STLS), which presenting --cert needs"),
        "{line}"
    );
    assert!(server.commands("AUTH").is_empty());
    let ran = plain(&["--tls", "none"]);
    assert!(
        ran.fails(64)
            .ends_with("--cert needs TLS, and --tls none never uses it")
    );
}

#[test]
fn a_server_that_wants_a_certificate_says_so() {
    let server = pop(&[]).start();
    let front = TlsFront::new(server.port()).require_client_cert().start();
    let (ran, _) = pop_fetch(
        front.port(),
        &["--tls-server-name", "mail.test", "--password-env", "PW"],
    );
    let line = ran.fails(76);
    assert!(
        line.contains("it may want a client certificate (--cert FILE)"),
        "{line}"
    );
    assert!(server.commands("PASS").is_empty());
}

// --tls-server-name.

#[test]
fn the_certificate_is_checked_against_the_name_given() {
    let server = pop(&[]).start();
    let front = TlsFront::new(server.port()).start();
    // Its certificate names mail.test, not the address connected to.
    let (ran, _) = pop_fetch(front.port(), &["--password-env", "PW"]);
    let line = ran.fails(76);
    assert!(
        line.contains("the server's certificate is for mail.test, not 127.0.0.1"),
        "{line}"
    );
    let (ran, _) = pop_fetch(
        front.port(),
        &["--tls-server-name", "other.test", "--password-env", "PW"],
    );
    let line = ran.fails(76);
    assert!(
        line.contains(
            "the server's certificate is for mail.test, not other.test (checked against --tls-server-name other.test)"
        ),
        "{line}"
    );
    let (ran, _) = pop_fetch(
        front.port(),
        &["--tls-server-name", "mail.test", "--password-env", "PW"],
    );
    ran.ok();
    assert_eq!(
        front.handshakes(),
        [handshake(ProtocolVersion::TLSv1_3, None)],
        "only the right name completes a handshake, and it is sent as SNI"
    );
    assert_eq!(server.commands("PASS").len(), 1);
    let (ran, _) = pop_fetch(
        front.port(),
        &["--tls-server-name", "bad name!", "--password-env", "PW"],
    );
    assert!(
        ran.fails(64)
            .ends_with("--tls-server-name bad name!: not a valid TLS server name")
    );
}

// --tls-min, --tls-max.

#[test]
fn tls_versions_are_pinned() {
    let server = pop(&[]).start();
    let named = ["--tls-server-name", "mail.test", "--password-env", "PW"];
    let with = |extra: &[&'static str]| -> Vec<&str> {
        let mut v = named.to_vec();
        v.extend_from_slice(extra);
        v
    };
    let tls12 = TlsFront::new(server.port()).tls12_only().start();
    let (ran, _) = pop_fetch(tls12.port(), &with(&["--tls-min", "1.3"]));
    let line = ran.fails(76);
    assert!(
        line.ends_with("TLS: the server ended the handshake (ProtocolVersion): it speaks none of the TLS versions allowed (--tls-min, --tls-max)"),
        "{line}"
    );
    let (ran, _) = pop_fetch(tls12.port(), &named);
    ran.ok();
    let tls13 = TlsFront::new(server.port()).tls13_only().start();
    let (ran, _) = pop_fetch(tls13.port(), &with(&["--tls-max", "1.2"]));
    let line = ran.fails(76);
    assert!(
        line.contains("it speaks none of the TLS versions allowed"),
        "{line}"
    );
    let both = TlsFront::new(server.port()).start();
    let (ran, _) = pop_fetch(both.port(), &with(&["--tls-max", "1.2"]));
    ran.ok();
    assert_eq!(
        tls12.handshakes(),
        [handshake(ProtocolVersion::TLSv1_2, None)]
    );
    assert!(tls13.handshakes().is_empty());
    assert_eq!(
        both.handshakes(),
        [handshake(ProtocolVersion::TLSv1_2, None)]
    );
    let (ran, _) = pop_fetch(
        both.port(),
        &with(&["--tls-min", "1.3", "--tls-max", "1.2"]),
    );
    assert!(
        ran.fails(64)
            .ends_with("--tls-min 1.3 is above --tls-max 1.2: no version is left")
    );
    let (ran, _) = pop_fetch(both.port(), &with(&["--tls-max", "1.1"]));
    assert_eq!(ran.code, Some(64), "{ran:#?}");
    assert_eq!(both.handshakes().len(), 1);
}

// Key files: each refusal one line that names the file, never a byte of the key.

#[test]
fn bad_key_files_are_refused_in_words() {
    let server = pop(&[]).external().start();
    let front = TlsFront::new(server.port()).require_client_cert().start();
    let dir = TempDir::new("cert-bad-keys");
    let cert = cert_file("client.pem");
    let cert = cert.to_str().unwrap();
    let other = cert_copy(&dir, "other.key", 0o600);
    let open = cert_copy(&dir, "client.key", 0o644);
    let encrypted = cert_copy(&dir, "client-encrypted.key", 0o600);
    let fetch = |more: &[&str]| {
        let mut args = vec!["--tls-server-name", "mail.test", "--cert"];
        args.extend_from_slice(more);
        pop_fetch(front.port(), &args).0
    };
    let cases: Vec<(Vec<&str>, i32, String)> = vec![
        (
            vec![cert, "--key", other.to_str().unwrap()],
            77,
            format!(
                "--key {}: the private key does not belong to the certificate in --cert {cert}",
                other.display()
            ),
        ),
        (
            vec![cert, "--key", open.to_str().unwrap()],
            77,
            format!(
                "--key {0}: holds a private key and is readable by group or others (mode 644); refusing it: chmod 600 {0}",
                open.display()
            ),
        ),
        (
            vec![cert, "--key", encrypted.to_str().unwrap()],
            64,
            format!(
                "--key {}: the private key is encrypted, and there is no way to give its passphrase: decrypt it into a file only you can read (openssl pkey -in KEY -out NEW)",
                encrypted.display()
            ),
        ),
        (
            vec![cert],
            64,
            format!("--cert {cert}: no private key in the file: give it with --key FILE"),
        ),
        (
            vec![cert, "--key", "/nonexistent/client.key"],
            66,
            "--key /nonexistent/client.key: No such file or directory".to_string(),
        ),
        (
            vec![other.to_str().unwrap()],
            64,
            format!("--cert {}: no PEM certificate in the file", other.display()),
        ),
    ];
    for (args, code, want) in cases {
        let ran = fetch(&args);
        let line = ran.fails(code);
        assert!(line.ends_with(&want), "{args:?}: {line}");
        no_key_material(&ran.stderr);
    }
    assert!(front.handshakes().is_empty());
    // clap's own refusal, before anything else.
    let ran = pop_fetch(front.port(), &["--key", other.to_str().unwrap()]).0;
    assert_eq!(ran.code, Some(64), "{ran:#?}");
    assert!(ran.stderr.contains("--cert <FILE>"), "{}", ran.stderr);
    server.settle();
    assert!(server.transcript().is_empty());
}

fn base64_of(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// `--auth external` is the client certificate's login: without `--cert` it could only be
/// refused, and beside an OAuth2 token (a variable's, or the `--oauth2-*` flags') one of
/// the two would be dropped unsaid. Both are 64 in words, before anything is connected.
#[test]
fn auth_external_without_a_certificate_or_with_a_token_is_64() {
    let server = pop(&[]).external().start();
    let out = TempDir::new("cert-external-64");
    let maildir = out.join("Mail");
    let url = format!("pop3://{}@127.0.0.1:{}", fake_pop::USER, server.port());
    let keys = TempDir::new("cert-external-keys");
    let key = client_key(&keys);
    let cert = cert_file("client.pem");
    let with_cert = ["--cert", cert.to_str().unwrap(), "--key", &key];
    let fetch = |more: &[&str]| {
        let mut args = vec![
            url.as_str(),
            "--maildir",
            maildir.to_str().unwrap(),
            "--auth",
            "external",
        ];
        args.extend_from_slice(more);
        run("pop-fetch", &args, b"")
    };
    assert_eq!(
        fetch(&["--tls", "none"]).fails(64),
        "pop-fetch: --auth external logs in with a client certificate: give --cert FILE (and --key FILE)"
    );
    let token = "pop-fetch: --auth external logs in with the client certificate, not with an OAuth2 token: leave out --auth external or the OAuth2 flags";
    let mut env_token = with_cert.to_vec();
    env_token.extend(["--oauth2-token-env", "PW"]);
    assert_eq!(fetch(&env_token).fails(64), token);
    let mut oauth2 = with_cert.to_vec();
    oauth2.extend([
        "--oauth2-token-endpoint",
        "http://127.0.0.1:9/token",
        "--oauth2-client-id",
        "cid",
    ]);
    assert_eq!(fetch(&oauth2).fails(64), token);
    assert!(server.commands("AUTH").is_empty());
    // smtp-send's EXTERNAL without a user name, the same.
    let ran = run(
        "smtp-send",
        &[
            "--server",
            "smtp://127.0.0.1:9",
            "--auth",
            "external",
            "rcpt@example.org",
        ],
        b"From: a@example.com\n\nhi\n",
    );
    assert_eq!(
        ran.fails(64),
        "smtp-send: --auth external logs in with a client certificate: give --cert FILE (and --key FILE)"
    );
}
