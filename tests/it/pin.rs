//! `--pin` in both its forms against a fake IMAP server behind a TLS front
//! (`support/tls_front.rs`, certificates from `tests/certs/`): a certificate's SHA-256
//! fingerprint (`sha256:HEX`), which a renewal breaks, and curl's `sha256//BASE64` of its
//! public key, which a renewal that keeps the key keeps. Checked by the exit status, the
//! message on stderr and the messages stored.

use crate::support::fake_imap::{self, ImapBuilder, imap};
use crate::support::files::TempDir;
use crate::support::tls_front::TlsFront;
use crate::support::tool::Out;

/// The SHA-256 of server.key's SubjectPublicKeyInfo, as curl takes it (`openssl x509
/// -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary |
/// base64`): server.pem and server-renewed.pem carry that key.
const KEY_PIN: &str = "sha256//6+/qftSCwKtz+tDD6mS/qBBtkR+r1A1ts4VtrF6Hj5E=";
/// server.pem's own fingerprint.
const CERT_PIN: &str = "sha256:364d7e05f8f137d0738eedcadf4511847a54896d49dbca47567ac265449b3470";
/// server-renewed.pem's.
const RENEWED_PIN: &str = "sha256:e5105333091a3a7e2df6e855a16ecf15c9a91fef403a01cf7ff9bec79d2659a0";
/// The base64 of 32 zero bytes: no key's.
const OTHER_KEY: &str = "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

/// imap-fetch through a front presenting `tests/certs/CERT`, with `--pin PIN` (none when
/// empty): the run and how many messages were stored.
fn fetch(cert: &'static str, pin: &str) -> (Out, usize) {
    let server = imap(&["Subject: one\r\n\r\nbody\r\n"]).start();
    let front = TlsFront::new(server.port()).cert(cert).start();
    let dir = TempDir::new("pin");
    let maildir = dir.join("Mail");
    let url = format!("imaps://{}@127.0.0.1:{}/", fake_imap::USER, front.port());
    let mut args = vec![
        url.as_str(),
        "--password-env",
        "PW",
        "--maildir",
        maildir.to_str().unwrap(),
    ];
    if !pin.is_empty() {
        args.extend(["--pin", pin]);
    }
    let ran = crate::session_layer::run_tool("imap-fetch", &args, fake_imap::PASS, b"");
    let new = maildir.join("new");
    let stored = if new.exists() {
        crate::support::files::names(&new).len()
    } else {
        0
    };
    (ran, stored)
}

/// [`fetch`] refused by the certificate check (76), nothing stored: its message.
/// The one line of a refused fetch, its port (the front's, chosen by the kernel) shown as
/// `PORT`.
fn refused(cert: &'static str, pin: &str) -> String {
    let (ran, stored) = fetch(cert, pin);
    assert_eq!(stored, 0);
    let line = ran.fails(76);
    let (head, rest) = line.split_once("127.0.0.1:").expect("names 127.0.0.1");
    let port_len = rest.bytes().take_while(u8::is_ascii_digit).count();
    assert!(port_len > 0, "names the port: {line}");
    format!("{head}127.0.0.1:PORT{}", &rest[port_len..])
}

#[test]
fn a_public_key_pin_survives_a_renewal_that_keeps_the_key() {
    for cert in ["server.pem", "server-renewed.pem"] {
        let (ran, stored) = fetch(cert, KEY_PIN);
        ran.ok();
        assert_eq!(stored, 1, "{cert}");
    }
    // Several, separated by `;` (curl's form): one matching is enough.
    let (ran, stored) = fetch("server-renewed.pem", &format!("{OTHER_KEY};{KEY_PIN}"));
    ran.ok();
    assert_eq!(stored, 1);
}

#[test]
fn a_certificate_pin_breaks_at_the_renewal_and_an_untrusted_one_is_told_both_pins() {
    let (ran, stored) = fetch("server.pem", CERT_PIN);
    ran.ok();
    assert_eq!(stored, 1);
    assert_eq!(
        refused("server-renewed.pem", CERT_PIN),
        format!(
            "imap-fetch: 127.0.0.1:PORT: TLS: the server certificate's fingerprint {RENEWED_PIN} does not match --pin"
        )
    );
    // Neither pinned nor signed by a known CA: both ways to pin it (lftp's hint, curl's form).
    let err = refused("server.pem", "");
    assert!(
        err.ends_with(&format!(
            "; to trust exactly this certificate: --pin {CERT_PIN}, or its public key, kept across renewals: --pin {KEY_PIN} (or give its CA with --cacert FILE)"
        )),
        "{err}"
    );
}

#[test]
fn a_wrong_public_key_is_refused_and_a_malformed_pin_is_a_usage_error() {
    assert_eq!(
        refused("server.pem", OTHER_KEY),
        format!(
            "imap-fetch: 127.0.0.1:PORT: TLS: the server certificate's public key {KEY_PIN} does not match --pin"
        )
    );
    for bad in ["sha256//AAAA", "sha256//zz!", &format!("{KEY_PIN};")] {
        let (ran, _) = fetch("server.pem", bad);
        assert_eq!(
            ran.fails(64),
            format!(
                "imap-fetch: --pin {bad}: expected sha256// followed by the base64 of a public key's SHA-256, several separated by ;"
            ),
        );
    }
}

#[test]
fn curls_pinnedpubkey_points_at_the_key_form_of_pin() {
    let ran = crate::support::tool::tool("imap-fetch")
        .args([
            "imaps://127.0.0.1:9/",
            "--pinnedpubkey",
            KEY_PIN,
            "--stdout",
        ])
        .run();
    assert_eq!(
        ran.fails(64),
        "imap-fetch: unknown option '--pinnedpubkey': use --pin sha256//BASE64 (the public key's SHA-256, several separated by ;) (see --help)"
    );
}
