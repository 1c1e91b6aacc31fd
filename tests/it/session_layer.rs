//! The session layer, the same in every tool (issue 20): a refused upgrade to TLS is 69
//! whatever the reply and the protocol; a SASL exchange answers at most 10 challenges and
//! cancels with `*` when it gives up, reading the server's reply.

use crate::support::fake_ftp::FakeFtp;
use crate::support::fake_imap::{self, ImapBuilder, imap};
use crate::support::fake_pop::{self, PopBuilder, pop};
use crate::support::fake_server::Protocol;
use crate::support::fake_server::Server;
use crate::support::fake_smtp::FakeSmtp;
use crate::support::files::TempDir;
use crate::support::tool::{Out, tool};

/// Runs `name` with `args`, `PW` holding `secret`, a home of its own, no terminal, and
/// `--max-time` so that a tool that would never end fails instead.
pub(crate) fn run_tool(name: &'static str, args: &[&str], secret: &str, input: &[u8]) -> Out {
    let home = TempDir::new(&format!("session-{name}"));
    let t = tool(name)
        .home(home.join("home"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("PW", secret)
        .args(args)
        .args(["--timeout", "10", "--max-time", "30"]);
    if input.is_empty() {
        t.run()
    } else {
        t.input(input).run()
    }
}

const SMTP_SEND: &str = "smtp-send";
const FTP_GET: &str = "ftp-get";
const POP_FETCH: &str = "pop-fetch";
const IMAP_FETCH: &str = "imap-fetch";

fn pop_fetch(server: &Server<impl Protocol>, more: &[&str], secret: &str) -> Out {
    let out = TempDir::new("session-pop-out");
    let maildir = out.join("Mail");
    let url = format!("pop3://{}@127.0.0.1:{}", fake_pop::USER, server.port());
    let mut args = vec![url.as_str(), "--maildir", maildir.to_str().unwrap()];
    args.extend_from_slice(more);
    run_tool(POP_FETCH, &args, secret, b"")
}

fn imap_fetch(server: &Server<impl Protocol>, more: &[&str]) -> Out {
    let out = TempDir::new("session-imap-out");
    let maildir = out.join("Mail");
    let url = format!("imap://{}@127.0.0.1:{}/", fake_imap::USER, server.port());
    let mut args = vec![url.as_str(), "--maildir", maildir.to_str().unwrap()];
    args.extend_from_slice(&["--password-env", "PW"]);
    args.extend_from_slice(more);
    run_tool(IMAP_FETCH, &args, fake_imap::PASS, b"")
}

// A refused upgrade to TLS: 69 in every protocol, whatever the reply.

#[test]
fn smtp_send_a_454_to_starttls_is_69() {
    let s = FakeSmtp::builder()
        .ehlo(&["PIPELINING", "STARTTLS"])
        .reply(
            "STARTTLS",
            "454 4.7.0 TLS not available due to temporary reason\r\n",
        )
        .start();
    let msg = b"From: a@example.com\n\nhi\n";
    let ran = run_tool(
        SMTP_SEND,
        &["--server", &s.url(), "--tls", "required", "bob@example.org"],
        "",
        msg,
    );
    let line = ran.fails(69);
    assert!(
        line.contains("the server does not offer TLS (STARTTLS: 454 4.7.0 TLS not available"),
        "{line}"
    );
    assert!(line.ends_with("and --tls required is set"), "{line}");
    assert!(s.commands("MAIL").is_empty());
}

#[test]
fn ftp_get_a_431_or_534_to_auth_tls_is_69() {
    for reply in ["431 TLS is resting, try later", "534 policy says no"] {
        let ftp = FakeFtp::builder()
            .file("f", "x")
            .login("u", "pw")
            .reply("AUTH", &format!("{reply}\r\n"))
            .start();
        let url = format!("ftp://u@127.0.0.1:{}/f", ftp.port());
        let ran = run_tool(
            FTP_GET,
            &["--password-env", "PW", "-o", "-", &url],
            "pw",
            b"",
        );
        let line = ran.fails(69);
        assert!(line.contains(&format!("(AUTH TLS: {reply})")), "{line}");
        assert!(ftp.commands("PASS").is_empty());
    }
}

#[test]
fn pop_fetch_an_err_to_stls_is_69() {
    let server = pop(&[])
        .stls()
        .reply("STLS", "-ERR [SYS/TEMP] not now\r\n")
        .start();
    let ran = pop_fetch(&server, &["--password-env", "PW"], fake_pop::PASS);
    let line = ran.fails(69);
    assert!(
        line.contains("(STLS: -ERR [SYS/TEMP] not now); refusing to send the password"),
        "{line}"
    );
    assert!(server.commands("PASS").is_empty());
}

#[test]
fn imap_fetch_a_no_or_bad_to_starttls_is_69() {
    for reply in ["NO [UNAVAILABLE] later", "BAD what?"] {
        let server = imap(&[])
            .starttls()
            .reply("STARTTLS", &format!("$TAG {reply}\r\n"))
            .start();
        let ran = imap_fetch(&server, &[]);
        let line = ran.fails(69);
        assert!(line.contains(&format!("(STARTTLS: {reply});")), "{line}");
        assert!(
            line.contains("refusing to send the password in cleartext"),
            "{line}"
        );
        assert!(server.commands("LOGIN").is_empty());
    }
}

// The SASL exchange: bounded, and always cancelled with `*` when given up.

#[test]
fn pop_fetch_gives_up_an_endless_sasl_exchange() {
    // XOAUTH2 answers any challenge with an empty line: a server that answers that with
    // another "+ " would keep the exchange going for ever.
    let server = pop(&[])
        .reply("CAPA", "+OK\r\nSASL XOAUTH2\r\nUSER\r\n.\r\n")
        .reply("AUTH", "+ \r\n")
        .reply("", "+ \r\n")
        .reply("*", "-ERR cancelled\r\n")
        .start();
    let ran = pop_fetch(
        &server,
        &["--tls", "none", "--oauth2-token-env", "PW"],
        "ya29.token",
    );
    let line = ran.fails(76);
    assert!(
        line.contains("AUTH XOAUTH2: the server sent more than 10 challenges"),
        "{line}"
    );
    let t = server.transcript();
    let after_auth: Vec<&str> = t
        .iter()
        .skip_while(|l| !l.starts_with("AUTH XOAUTH2 "))
        .skip(1)
        .map(String::as_str)
        .collect();
    let mut want = vec![""; 10];
    want.push("*");
    assert_eq!(after_auth, want, "{t:?}");
}

#[test]
fn imap_fetch_cancels_a_challenge_that_is_not_base64() {
    // The client's tags are a1 (CAPABILITY), a2 (AUTHENTICATE): the cancel's answer.
    let server = imap(&[])
        .auth_plain()
        .reply("AUTHENTICATE", "+ !!!\r\n")
        .reply("*", "a2 NO cancelled\r\n")
        .start();
    let ran = imap_fetch(&server, &["--tls", "none"]);
    let line = ran.fails(76);
    assert!(
        line.contains("AUTHENTICATE PLAIN: a challenge that is not base64"),
        "{line}"
    );
    let t = server.transcript();
    let auth = t
        .iter()
        .position(|l| l.contains("AUTHENTICATE PLAIN"))
        .expect("AUTHENTICATE sent");
    assert_eq!(t[auth + 1..], ["*"], "{t:?}");
}

// One Credentials: a secret goes only where it belongs.

#[test]
fn pop_fetch_never_sends_a_token_as_a_password() {
    // A server without CAPA: nothing to choose from, so the method asked for is tried.
    for auth in ["user", "apop", "plain"] {
        let server = pop(&[]).reply("CAPA", "-ERR no CAPA here\r\n").start();
        let ran = pop_fetch(
            &server,
            &["--tls", "none", "--auth", auth, "--oauth2-token-env", "PW"],
            "ya29.token",
        );
        let line = ran.fails(64);
        let named = if auth == "plain" { "PLAIN" } else { auth };
        assert!(
            line.ends_with(&format!(
                "--auth {named} needs a password, but an OAuth2 token was given"
            )),
            "{line}"
        );
        server.settle();
        assert_eq!(server.transcript(), ["CAPA"], "{auth}");
    }
}

#[test]
fn a_user_name_with_a_line_break_is_never_sent() {
    // SASL's base64 would carry it past the engine's refusal of CR, LF and NUL; IMAP's
    // LOGIN would send a literal's announcement and then stop.
    let s = FakeSmtp::builder().login("bob", "pw").start();
    let ran = run_tool(
        SMTP_SEND,
        &[
            "--server",
            &s.url(),
            "--tls",
            "none",
            "--user",
            "bob\nRSET",
            "--password-env",
            "PW",
            "rcpt@example.org",
        ],
        "pw",
        b"From: a@example.com\n\nhi\n",
    );
    let line = ran.fails(64);
    assert!(
        line.ends_with(
            "--user: the user name contains a CR, LF or NUL character, which no protocol can send"
        ),
        "{line}"
    );
    assert!(s.commands("EHLO").is_empty(), "nothing is sent");
    let server = imap(&[]).start();
    let out = TempDir::new("session-imap-user");
    let url = format!("imap://127.0.0.1:{}/", server.port());
    let maildir = out.join("Mail");
    let args = [
        url.as_str(),
        "--user",
        "bob\r",
        "--password-env",
        "PW",
        "--maildir",
        maildir.to_str().unwrap(),
    ];
    let ran = run_tool(IMAP_FETCH, &args, "pw", b"");
    let line = ran.fails(64);
    assert!(
        line.ends_with(
            "--user: the user name contains a CR, LF or NUL character, which no protocol can send"
        ),
        "{line}"
    );
    server.settle();
    assert!(server.transcript().is_empty(), "{:?}", server.transcript());
}
