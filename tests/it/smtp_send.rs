//! smtp-send against the fake SMTP server: what a user sees (the exit status, the stderr
//! lines) and what the server got (the commands, the data byte for byte, and whether a
//! message was delivered at all).

use crate::support::fake_smtp::{FakeSmtp, FinalReply, Stored};
use crate::support::files::TempDir;
use crate::support::run;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_smtp-send");

fn cmd(server: &FakeSmtp, args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args([
        "--server",
        &server.url(),
        "--tls",
        "none",
        "--helo",
        "client.test",
    ]);
    c.args(args);
    c.env_remove("XDG_CONFIG_HOME");
    c
}

fn send(server: &FakeSmtp, args: &[&str], input: &[u8]) -> Output {
    run::output_with_input(&mut cmd(server, args), input)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

const MSG: &[u8] = b"From: Ada <ada@example.com>\nTo: Bob <bob@example.org>\nCc: undisclosed-recipients:;\nBcc: eve@example.net\nSubject: hello\n\nHi Bob,\n.\nbye\n";

/// A config folder only its owner may write, whatever the umask of whoever runs the tests
/// (a config file in a folder others can write is refused).
fn private_dir(dir: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).unwrap();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).unwrap();
}

/// Writes a file only its owner may write (mode 600), whatever the umask.
fn write_private(path: &std::path::Path, contents: impl AsRef<[u8]>) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, contents).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

fn only(s: &FakeSmtp) -> Stored {
    let m = s.messages();
    assert_eq!(m.len(), 1, "{m:#?}");
    m.into_iter().next().unwrap()
}

#[test]
fn sends_with_t_adding_date_and_message_id_and_dropping_bcc() {
    let s = FakeSmtp::builder().start();
    let o = send(&s, &["-t"], MSG);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(stderr(&o), "", "success is silent away from a terminal");
    assert_eq!(
        s.transcript(),
        [
            "EHLO client.test",
            "MAIL FROM:<ada@example.com> BODY=8BITMIME",
            "RCPT TO:<bob@example.org>",
            "RCPT TO:<eve@example.net>",
            "DATA",
            "QUIT"
        ]
    );
    let m = only(&s);
    assert_eq!(m.rcpts, ["bob@example.org", "eve@example.net"]);
    let text = m.text();
    assert!(!text.contains("eve@"), "Bcc was sent: {text}");
    assert!(
        !m.wire.windows(2).any(|w| w[1] == b'\n' && w[0] != b'\r'),
        "a bare LF on the wire"
    );
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("From: Ada <ada@example.com>\r\nTo: Bob <bob@example.org>\r\nCc: undisclosed-recipients:;\r\nSubject: hello\r\nDate: "), "{head}");
    assert!(head.contains("\r\nMessage-ID: <"), "{head}");
    assert_eq!(body, "Hi Bob,\r\n.\r\nbye\r\n");
    // On the wire the lone dot was doubled.
    assert!(m.wire.ends_with(b"Hi Bob,\r\n..\r\nbye\r\n"));
}

#[test]
fn verbose_lists_recipients_and_shows_the_transcript() {
    let s = FakeSmtp::builder().start();
    let o = send(&s, &["-v", "bob@example.org"], MSG);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("C: MAIL FROM:<ada@example.com> BODY=8BITMIME"),
        "{e}"
    );
    assert!(
        e.contains("smtp-send: bob@example.org: accepted (250 2.1.5 Ok)"),
        "{e}"
    );
    assert!(
        e.contains(
            "smtp-send: standard input: sent to 1 of 1 recipients: 250 2.0.0 Ok: queued as M1"
        ),
        "{e}"
    );
    // Without -t, the Bcc of the message is not a recipient, and still not sent.
    let m = only(&s);
    assert_eq!(m.rcpts, ["bob@example.org"]);
    assert!(!m.text().contains("Bcc"));
}

/// The dot-stuffing and line-ending cases: what goes on the wire for each body. The
/// longest line SMTP allows (998 octets; the doubled dot is not counted, RFC 5321
/// 4.5.3.1.6) goes whole.
#[test]
fn dots_and_line_endings_on_the_wire() {
    let long: Vec<u8> = std::iter::repeat_n(b'x', 997).collect();
    let mut long_body = b".".to_vec();
    long_body.extend_from_slice(&long);
    long_body.extend_from_slice(b"\n.\n");
    let mut long_wire = b"..".to_vec();
    long_wire.extend_from_slice(&long);
    long_wire.extend_from_slice(b"\r\n..\r\n");
    let cases: Vec<(&[u8], Vec<u8>)> = vec![
        (b".\n", b"..\r\n".to_vec()),
        (b"..\n", b"...\r\n".to_vec()),
        (b"a\n.\nb", b"a\r\n..\r\nb\r\n".to_vec()),
        (
            b"a\r\n.\r\nMAIL FROM:<x@y>\r\n",
            b"a\r\n..\r\nMAIL FROM:<x@y>\r\n".to_vec(),
        ),
        (b"\n.\n\n.\n", b"\r\n..\r\n\r\n..\r\n".to_vec()),
        (b".", b"..\r\n".to_vec()),
        (b"", b"".to_vec()),
        (&long_body, long_wire),
    ];
    for (body, wire) in cases {
        let s = FakeSmtp::builder().start();
        let mut input = b"From: a@x\nTo: b@y\nDate: now\nMessage-ID: <1@x>\n\n".to_vec();
        input.extend_from_slice(body);
        let o = send(&s, &["-t"], &input);
        assert_eq!(code(&o), 0, "{body:?}: {}", stderr(&o));
        let m = only(&s);
        let mut want = b"From: a@x\r\nTo: b@y\r\nDate: now\r\nMessage-ID: <1@x>\r\n\r\n".to_vec();
        want.extend_from_slice(&wire);
        assert!(
            m.wire == want,
            "{:?}\n{:?}",
            String::from_utf8_lossy(&m.wire[..m.wire.len().min(200)]),
            String::from_utf8_lossy(&want[..want.len().min(200)])
        );
    }
}

#[test]
fn a_lone_cr_is_refused_naming_the_line_and_nothing_is_delivered() {
    let s = FakeSmtp::builder().start();
    let o = send(
        &s,
        &["-t"],
        b"From: a@x\nTo: b@y\n\nline 4\n\r.\r\nline 6\n",
    );
    assert_eq!(code(&o), 65, "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("smtp-send: standard input: line 5: a lone CR"),
        "{e}"
    );
    assert!(e.contains("nothing was delivered"), "{e}");
    assert!(s.messages().is_empty());
    // The data was cut off, never ended.
    assert_eq!(s.cut_short().len(), 1);
    // With --allow-bare-cr it goes, and the dot after the CR is still doubled.
    let s = FakeSmtp::builder().start();
    let o = send(
        &s,
        &["-t", "--allow-bare-cr"],
        b"From: a@x\nTo: b@y\nDate: d\nMessage-ID: <m>\n\n\r.\r\n",
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        only(&s).wire.ends_with(b"\r\n\r\r..\r\n") || only(&s).wire.ends_with(b"\r\n\r..\r\n"),
        "{:?}",
        String::from_utf8_lossy(&only(&s).wire)
    );
    // In a --file, it is found before connecting.
    let s = FakeSmtp::builder().start();
    let dir = TempDir::new("smtp-send");
    let f = dir.join("m.eml");
    std::fs::write(&f, b"From: a@x\nTo: b@y\n\nok\nbad\rline\n").unwrap();
    let o = run::output(&mut cmd(&s, &["-t", "--file", f.to_str().unwrap()]));
    assert_eq!(code(&o), 65);
    assert!(
        stderr(&o).contains("m.eml: line 5: a lone CR"),
        "{}",
        stderr(&o)
    );
    assert_eq!(s.connections(), 0);
    // In the header: always refused.
    let s = FakeSmtp::builder().start();
    let o = send(
        &s,
        &["-t", "--allow-bare-cr"],
        b"From: a@x\nTo: b@y\rBcc: c@z\n\nx\n",
    );
    assert_eq!(code(&o), 65);
    assert!(
        stderr(&o).contains("line 2 (in the header)"),
        "{}",
        stderr(&o)
    );
    assert_eq!(s.connections(), 0);
}

#[test]
fn eight_bit_without_8bitmime() {
    // Standard input: found mid-stream; the connection is dropped before the final dot.
    let s = FakeSmtp::builder().ehlo(&["PIPELINING"]).start();
    let o = send(
        &s,
        &["-t"],
        "From: a@x\nTo: b@y\n\nplain\nnaïve\n".as_bytes(),
    );
    assert_eq!(code(&o), 65, "{}", stderr(&o));
    assert!(
        stderr(&o).contains(
            "standard input: line 5: an 8-bit byte, and the server does not offer 8BITMIME"
        ),
        "{}",
        stderr(&o)
    );
    assert!(s.messages().is_empty());
    assert_eq!(
        s.commands("MAIL"),
        ["MAIL FROM:<a@x>"],
        "no BODY= without 8BITMIME"
    );
    // A --file: refused before MAIL.
    let s = FakeSmtp::builder().ehlo(&["PIPELINING"]).start();
    let dir = TempDir::new("smtp-send");
    let f = dir.join("m.eml");
    std::fs::write(&f, "From: a@x\nTo: b@y\n\nnaïve\n").unwrap();
    let o = run::output(&mut cmd(&s, &["-t", "--file", f.to_str().unwrap()]));
    assert_eq!(code(&o), 65);
    assert!(s.commands("MAIL").is_empty());
    // A 7-bit --file to an 8BITMIME server: no BODY=, and SIZE is exact.
    let s = FakeSmtp::builder().start();
    std::fs::write(
        &f,
        "From: a@x\nTo: b@y\nDate: d\nMessage-ID: <m>\n\nplain\n",
    )
    .unwrap();
    let o = run::output(&mut cmd(&s, &["-t", "--file", f.to_str().unwrap()]));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let m = only(&s);
    assert_eq!(m.mail, format!("FROM:<a@x> SIZE={}", m.content().len()));
}

#[test]
fn reply_classes_give_their_exit_status() {
    let cases: &[(&str, &str, &str, i32)] = &[
        (
            "MAIL",
            "451 4.3.0 try later\r\n",
            "MAIL FROM:<ada@example.com>: server said: 451 4.3.0 try later",
            75,
        ),
        (
            "MAIL",
            "553 5.7.1 sender refused\r\n",
            "server said: 553 5.7.1 sender refused",
            69,
        ),
        ("MAIL", "530 5.7.0 Authentication required\r\n", "530", 77),
        ("DATA", "451 4.3.0 later\r\n", "DATA: server said: 451", 75),
        ("DATA", "554 5.5.1 no\r\n", "DATA: server said: 554", 65),
        (
            "EHLO",
            "421 4.3.2 shutting down\r\n",
            "EHLO: server said: 421",
            75,
        ),
        ("EHLO", "250-ok\r\n251 what\r\n", "malformed reply", 76),
    ];
    for (verb, raw, said, want) in cases {
        let s = FakeSmtp::builder().reply(verb, raw).start();
        let o = send(&s, &["bob@example.org"], MSG);
        assert_eq!(code(&o), *want, "{verb} {raw:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(said), "{verb} {raw:?}: {}", stderr(&o));
        assert!(s.messages().is_empty());
    }
    // The final reply.
    for (raw, want) in [("452 4.3.1 full\r\n", 75), ("554 5.7.1 spam\r\n", 65)] {
        let s = FakeSmtp::builder().data_reply(raw).start();
        let o = send(&s, &["bob@example.org"], MSG);
        assert_eq!(code(&o), want, "{raw:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("the message was refused: server said:"),
            "{}",
            stderr(&o)
        );
    }
    // Greetings.
    for (greeting, want) in [("554 5.3.2 go away\r\n", 69), ("421 4.3.2 busy\r\n", 75)] {
        let s = FakeSmtp::builder().greeting(greeting).start();
        let o = send(&s, &["bob@example.org"], MSG);
        assert_eq!(code(&o), want, "{greeting:?}: {}", stderr(&o));
    }
}

#[test]
fn a_refused_recipient_mid_pipeline_stops_the_message() {
    let s = FakeSmtp::builder()
        .refuse(
            "carol@example.net",
            "550 5.1.1 <carol@example.net>: no such user\r\n",
        )
        .start();
    let o = send(
        &s,
        &["bob@example.org", "carol@example.net", "dan@example.com"],
        MSG,
    );
    assert_eq!(code(&o), 67, "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("smtp-send: 127.0.0.1:"), "{e}");
    assert!(
        e.contains(
            "RCPT TO:<carol@example.net>: server said: 550 5.1.1 <carol@example.net>: no such user"
        ),
        "{e}"
    );
    assert!(
        e.contains(
            "standard input: not sent to anyone (--partial sends to the recipients accepted)"
        ),
        "{e}"
    );
    assert_eq!(e.lines().filter(|l| l.contains("550")).count(), 1, "{e}");
    // All in one group, DATA included; then the connection was dropped without a dot.
    assert_eq!(
        s.transcript(),
        [
            "EHLO client.test",
            "MAIL FROM:<ada@example.com> BODY=8BITMIME",
            "RCPT TO:<bob@example.org>",
            "RCPT TO:<carol@example.net>",
            "RCPT TO:<dan@example.com>",
            "DATA",
        ]
    );
    assert!(s.messages().is_empty());
    assert_eq!(s.cut_short(), [Vec::<u8>::new()]);
    // A 4xx: 75.
    let s = FakeSmtp::builder()
        .refuse("carol@example.net", "450 4.2.1 busy\r\n")
        .start();
    let o = send(&s, &["carol@example.net"], MSG);
    assert_eq!(code(&o), 75, "{}", stderr(&o));
    assert!(s.messages().is_empty());
}

#[test]
fn partial_sends_to_the_others_and_still_exits_67() {
    let s = FakeSmtp::builder()
        .refuse("carol@example.net", "550 5.1.1 no such user\r\n")
        .start();
    let o = send(
        &s,
        &["--partial", "bob@example.org", "carol@example.net"],
        MSG,
    );
    assert_eq!(code(&o), 67, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("RCPT TO:<carol@example.net>: server said: 550"),
        "{}",
        stderr(&o)
    );
    assert_eq!(only(&s).rcpts, ["bob@example.org"]);
}

#[test]
fn without_pipelining_commands_go_one_by_one() {
    let s = FakeSmtp::builder()
        .ehlo(&["8BITMIME"])
        .refuse("carol@example.net", "550 5.1.1 no such user\r\n")
        .start();
    let o = send(&s, &["bob@example.org", "carol@example.net"], MSG);
    assert_eq!(code(&o), 67);
    assert_eq!(
        s.transcript(),
        [
            "EHLO client.test",
            "MAIL FROM:<ada@example.com> BODY=8BITMIME",
            "RCPT TO:<bob@example.org>",
            "RCPT TO:<carol@example.net>",
            "RSET",
            "QUIT"
        ]
    );
    // An old server: HELO.
    let s = FakeSmtp::builder().no_ehlo().start();
    let o = send(&s, &["bob@example.org"], "From: a@x\n\nnaïve\n".as_bytes());
    assert_eq!(code(&o), 65, "no 8BITMIME after HELO: {}", stderr(&o));
    let o = send(&s, &["bob@example.org"], b"From: a@x\n\nplain\n");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(s.transcript().contains(&"HELO client.test".to_string()));
}

#[test]
fn bytes_injected_before_the_tls_handshake_are_refused() {
    let s = FakeSmtp::builder()
        .ehlo(&["PIPELINING", "STARTTLS"])
        .reply(
            "STARTTLS",
            "220 2.0.0 Ready\r\n250-injected\r\n250 AUTH PLAIN\r\n",
        )
        .start();
    let mut c = Command::new(BIN);
    c.args(["--server", &s.url(), "bob@example.org"]);
    let o = run::output_with_input(&mut c, MSG);
    assert_eq!(code(&o), 76, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("the server sent data before the TLS handshake"),
        "{}",
        stderr(&o)
    );
    assert_eq!(s.transcript().last().unwrap(), "STARTTLS");
    assert!(s.messages().is_empty());
    // --tls required and no STARTTLS: 69, nothing sent.
    let s = FakeSmtp::builder().start();
    let mut c = Command::new(BIN);
    c.args(["--server", &s.url(), "--tls", "required", "bob@example.org"]);
    let o = run::output_with_input(&mut c, MSG);
    assert_eq!(code(&o), 69, "{}", stderr(&o));
    assert!(s.commands("MAIL").is_empty());
    // --tls auto without a password: plaintext is fine.
    let mut c = Command::new(BIN);
    c.args(["--server", &s.url(), "bob@example.org"]);
    let o = run::output_with_input(&mut c, MSG);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

#[test]
fn header_injection_through_flags_is_refused() {
    let s = FakeSmtp::builder().start();
    for args in [
        &["-f", "a@x\r\nRCPT TO:<evil@x>", "b@y"][..],
        &["-f", "a@x", "-F", "Ada\nBcc: evil@x", "b@y"],
        &["b@y\r\nDATA"],
        &["--helo", "x\r\nMAIL FROM:<e@x>", "b@y"],
        &["b@y>"],
        &["<b@y>"],
        &["a b@y"],
    ] {
        let o = send(&s, args, MSG);
        assert_eq!(code(&o), 64, "{args:?}: {}", stderr(&o));
        assert!(
            !stderr(&o).contains('\n') || stderr(&o).lines().count() == 1,
            "{}",
            stderr(&o)
        );
    }
    assert_eq!(s.connections(), 0);
    // From the message itself: a recipient header that smuggles a command is no address.
    let o = send(&s, &["-t"], b"From: a@x\nTo: <b@y> DATA\n\nx\n");
    assert_eq!(code(&o), 65, "{}", stderr(&o));
    assert!(stderr(&o).contains("the To header"), "{}", stderr(&o));
    assert_eq!(s.connections(), 0);
}

#[test]
fn t_reads_address_lists() {
    let s = FakeSmtp::builder().start();
    let o = send(
        &s,
        &["-t", "ops@example.com"],
        b"From: \"Ada, the first\" <ada@example.com>\nTo: Team: bob@example.org, \"Carol Q\" <carol@example.net>;,\n  \"odd name\"@example.com (comment)\nCc: =?UTF-8?B?w4lsb2RpZQ==?= <elodie@example.fr>,\n\t<@relay.example:dan@example.com>\nResent-Date: x\nBcc: ops@example.com\n\nhi\n",
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        s.commands("RCPT"),
        [
            "RCPT TO:<ops@example.com>",
            "RCPT TO:<bob@example.org>",
            "RCPT TO:<carol@example.net>",
            "RCPT TO:<\"odd name\"@example.com>",
            "RCPT TO:<elodie@example.fr>",
            "RCPT TO:<dan@example.com>",
        ]
    );
    // Resent-* take over.
    let s = FakeSmtp::builder().start();
    let o = send(
        &s,
        &["-t"],
        b"From: a@x\nTo: old@x\nResent-From: r@x\nResent-To: new@y\n\nhi\n",
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(s.commands("RCPT"), ["RCPT TO:<new@y>"]);
}

#[test]
fn no_sender_or_no_recipient_is_a_usage_error() {
    let s = FakeSmtp::builder().start();
    let o = send(&s, &["b@y"], b"Subject: x\n\nhi\n");
    assert_eq!(code(&o), 64);
    assert!(
        stderr(&o).contains("no envelope sender: give -f ADDR (--from), a From header"),
        "{}",
        stderr(&o)
    );
    let o = send(&s, &[], b"From: a@x\nTo: b@y\n\nhi\n");
    assert_eq!(code(&o), 64);
    assert!(
        stderr(&o).contains("no recipients: give them as arguments, or -t"),
        "{}",
        stderr(&o)
    );
    let o = send(
        &s,
        &["-t"],
        b"From: a@x\nTo: undisclosed-recipients:;\n\nhi\n",
    );
    assert_eq!(code(&o), 64);
    assert_eq!(s.connections(), 0);
    // -f and -F make the From header when there is none.
    let o = send(
        &s,
        &[
            "-f",
            "cron@example.com",
            "-F",
            "Cron Daemon",
            "-oi",
            "-oem",
            "-B",
            "8BITMIME",
            "-bm",
            "-i",
            "b@y",
        ],
        b"Subject: x\n\nhi\n",
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        only(&s)
            .text()
            .contains("\r\nFrom: Cron Daemon <cron@example.com>\r\n"),
        "{}",
        only(&s).text()
    );
    let o = send(&s, &["-bp"], b"");
    assert_eq!(code(&o), 64);
}

#[test]
fn several_files_share_one_connection() {
    let s = FakeSmtp::builder()
        .refuse("nobody@example.org", "550 5.1.1 no\r\n")
        .start();
    let dir = TempDir::new("smtp-send");
    let a = dir.join("a.eml");
    let b = dir.join("b.eml");
    let c = dir.join("c.eml");
    std::fs::write(&a, b"From: a@x\nTo: one@example.org\n\nfirst\n").unwrap();
    std::fs::write(&b, b"From: a@x\nTo: nobody@example.org\n\nsecond\n").unwrap();
    std::fs::write(&c, b"From: a@x\nTo: two@example.org\n\nthird\n").unwrap();
    let missing = dir.join("missing.eml");
    let args: Vec<&str> = vec![
        "-t",
        "--file",
        a.to_str().unwrap(),
        "--file",
        b.to_str().unwrap(),
        "--file",
        missing.to_str().unwrap(),
        "--file",
        c.to_str().unwrap(),
    ];
    let o = run::output(&mut cmd(&s, &args));
    assert_eq!(code(&o), 67, "the first failure's status: {}", stderr(&o));
    assert!(stderr(&o).contains("missing.eml: "), "{}", stderr(&o));
    let m = s.messages();
    assert_eq!(m.len(), 2);
    assert!(m[0].text().ends_with("first\r\n") && m[1].text().ends_with("third\r\n"));
    // The server refused DATA (no valid recipient): the connection stays, RSET between.
    assert_eq!(s.connections(), 1);
    assert_eq!(s.commands("EHLO").len(), 1);
    assert!(s.commands("RSET").len() >= 2);
}

#[test]
fn retries_when_nothing_can_have_been_delivered() {
    let s = FakeSmtp::builder()
        .reply_once("MAIL", "451 4.3.0 try later\r\n")
        .start();
    let o = send(&s, &["--retries", "1", "bob@example.org"], MSG);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("451 4.3.0 try later; retrying in 1 s (retry 1 of 1)"),
        "{}",
        stderr(&o)
    );
    assert_eq!(only(&s).rcpts, ["bob@example.org"]);
    // After the final dot: never again.
    let s = FakeSmtp::builder()
        .data_reply("451 4.3.0 later\r\n")
        .start();
    let o = send(&s, &["--retries", "2", "bob@example.org"], MSG);
    assert_eq!(code(&o), 75, "{}", stderr(&o));
    assert_eq!(s.messages().len(), 1);
}

#[test]
fn a_password_command_logs_in_and_leaves_the_message_on_stdin_alone() {
    // The command would swallow the message if it could read standard input.
    let s = FakeSmtp::builder().login("bob", "hunter2").start();
    let o = send(
        &s,
        &[
            "--user",
            "bob",
            "--password-cmd",
            "cat; echo hunter2",
            "b@y",
        ],
        MSG,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(s.commands("AUTH"), ["AUTH PLAIN AGJvYgBodW50ZXIy"]);
    assert!(
        s.messages()[0].text().contains("Hi Bob,"),
        "{:?}",
        s.messages()[0].text()
    );
    // From the config file, as msmtp's passwordeval.
    let s = FakeSmtp::builder().login("bob", "hunter2").start();
    let home = TempDir::new("smtp-send-pwcmd");
    private_dir(&home.join("posthaste"));
    write_private(
        &home.join("posthaste/config.toml"),
        format!(
            "[smtp-send]\nserver = \"{}\"\nuser = \"bob\"\npassword_cmd = \"echo hunter2\"\ntls = \"none\"\n",
            s.url()
        ),
    );
    let mut c = Command::new(BIN);
    c.args(["b@y"]).env("XDG_CONFIG_HOME", home.arg());
    let o = run::output_with_input(&mut c, MSG);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(s.commands("AUTH"), ["AUTH PLAIN AGJvYgBodW50ZXIy"]);
}

#[test]
fn auth_logs_in_and_hides_the_password() {
    let s = FakeSmtp::builder().login("bob", "hunter2").start();
    let mut c = cmd(
        &s,
        &["-v", "--user", "bob", "--password-env", "PH_TEST_PW", "b@y"],
    );
    c.env("PH_TEST_PW", "hunter2\n");
    let o = run::output_with_input(&mut c, MSG);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("C: AUTH PLAIN ****"), "{e}");
    assert!(
        !e.contains("hunter2") && !e.contains("AGJvYgBodW50ZXIy"),
        "{e}"
    );
    assert_eq!(s.commands("AUTH"), ["AUTH PLAIN AGJvYgBodW50ZXIy"]);
    assert_eq!(s.messages().len(), 1);
    // LOGIN, forced; a wrong password is 77, and nothing is sent.
    let s = FakeSmtp::builder().login("bob", "hunter2").start();
    let mut c = cmd(
        &s,
        &[
            "--auth",
            "login",
            "--user",
            "bob",
            "--password-env",
            "PH_TEST_PW",
            "b@y",
        ],
    );
    c.env("PH_TEST_PW", "wrong");
    let o = run::output_with_input(&mut c, MSG);
    assert_eq!(code(&o), 77, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("login as bob with LOGIN failed: server said: 535"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("wrong"));
    assert!(s.commands("MAIL").is_empty());
    // No password to be had (no terminal): 77 before connecting.
    let s = FakeSmtp::builder().login("bob", "hunter2").start();
    let o = send(&s, &["--user", "bob", "--no-netrc", "b@y"], MSG);
    assert_eq!(code(&o), 77, "{}", stderr(&o));
    assert_eq!(s.connections(), 0);
    // --tls auto and no STARTTLS: the password is not sent in cleartext.
    let mut c = Command::new(BIN);
    c.args([
        "--server",
        &s.url(),
        "--user",
        "bob",
        "--password-env",
        "PH_TEST_PW",
        "b@y",
    ]);
    c.env("PH_TEST_PW", "hunter2");
    let o = run::output_with_input(&mut c, MSG);
    assert_eq!(code(&o), 69, "{}", stderr(&o));
    assert!(
        stderr(&o)
            .contains("refusing to send the password in cleartext (use --tls none to allow it)"),
        "{}",
        stderr(&o)
    );
    assert!(s.commands("AUTH").is_empty());
}

#[test]
fn subject_makes_a_message_from_plain_text() {
    let s = FakeSmtp::builder().start();
    let o = send(
        &s,
        &[
            "--subject",
            "Disk ✔ almost full",
            "--from",
            "cron@example.com",
            "-F",
            "Cron",
            "--to",
            "Ops <ops@example.com>, b@example.org",
            "--to",
            "c@example.net",
        ],
        "Disk at 97%\n.\nnaïve\n".as_bytes(),
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let m = only(&s);
    assert_eq!(
        m.rcpts,
        ["ops@example.com", "b@example.org", "c@example.net"]
    );
    let text = m.text();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("From: Cron <cron@example.com>\r\nTo: Ops <ops@example.com>, b@example.org, c@example.net\r\nSubject: =?UTF-8?B?"), "{head}");
    for f in [
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
        "Date: ",
        "Message-ID: <",
    ] {
        assert!(head.contains(f), "{f}: {head}");
    }
    assert_eq!(body, "Disk at 97%\r\n.\r\nnaïve\r\n");
    let parsed = mail_parser::MessageParser::default()
        .parse(text.as_bytes())
        .unwrap();
    assert_eq!(parsed.subject(), Some("Disk ✔ almost full"));
    // A line break in the subject is header injection: 64, nothing sent.
    let s = FakeSmtp::builder().start();
    let o = send(
        &s,
        &[
            "--subject",
            "x\r\nBcc: evil@x",
            "--from",
            "a@x",
            "--to",
            "b@y",
        ],
        b"hi\n",
    );
    assert_eq!(code(&o), 64, "{}", stderr(&o));
    let o = send(&s, &["--subject", "x", "--to", "b@y"], b"hi\n");
    assert_eq!(code(&o), 64, "no --from: {}", stderr(&o));
    assert_eq!(s.connections(), 0);
}

#[test]
fn the_config_file_gives_defaults_that_flags_override() {
    let s = FakeSmtp::builder().start();
    let home = TempDir::new("smtp-send-config");
    private_dir(&home.join("posthaste"));
    let log = home.join("sent.log");
    write_private(
        &home.join("posthaste/config.toml"),
        format!(
            "[smtp-send]\nserver = \"{}\"\nfrom = \"cron@example.com\"\ntls = \"none\"\nhelo = \"cfg.test\"\nlog = \"{}\"\n",
            s.url(),
            log.display()
        ),
    );
    // Bare `smtp-send -t`, as cron calls it.
    let mut c = Command::new(BIN);
    c.args(["-t"]).env("XDG_CONFIG_HOME", home.arg());
    let o = run::output_with_input(&mut c, b"To: ops@example.org\nSubject: x\n\nhi\n");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(s.commands("EHLO"), ["EHLO cfg.test"]);
    assert_eq!(
        s.commands("MAIL"),
        ["MAIL FROM:<cron@example.com> BODY=8BITMIME"]
    );
    assert!(only(&s).text().contains("\r\nFrom: cron@example.com\r\n"));
    let logged = std::fs::read_to_string(&log).unwrap();
    assert_eq!(logged.lines().count(), 1, "{logged}");
    assert!(logged.contains(&format!(
        " host=127.0.0.1:{} tls=off auth=off user=- from=cron@example.com recipients=ops@example.org mailsize={} smtpstatus=250 smtpmsg='250 2.0.0 Ok: queued as M1' exitcode=EX_OK",
        s.port(),
        only(&s).content().len()
    )), "{logged}");
    // Flags win.
    let mut c = Command::new(BIN);
    c.args(["-t", "-f", "other@example.com", "--helo", "flag.test"])
        .env("XDG_CONFIG_HOME", home.arg());
    let o = run::output_with_input(&mut c, b"To: ops@example.org\nSubject: x\n\nhi\n");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(s.commands("EHLO").last().unwrap(), "EHLO flag.test");
    assert!(
        std::fs::read_to_string(&log)
            .unwrap()
            .lines()
            .nth(1)
            .unwrap()
            .contains("from=other@example.com")
    );
    // A refusal is logged with its status.
    let s2 = FakeSmtp::builder()
        .refuse("ops@example.org", "550 5.1.1 no\r\n")
        .start();
    let mut c = Command::new(BIN);
    c.args(["-t", "--server", &s2.url()])
        .env("XDG_CONFIG_HOME", home.arg());
    let o = run::output_with_input(&mut c, b"To: ops@example.org\n\nhi\n");
    assert_eq!(code(&o), 67, "{}", stderr(&o));
    let last = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .to_string();
    assert!(
        last.contains("exitcode=EX_NOUSER") && last.contains("smtpstatus=550"),
        "{last}"
    );
    // A typo: 64, naming the file and the key; --config that is missing: 66.
    write_private(
        &home.join("posthaste/config.toml"),
        "[smtp-send]\nsevrer = \"x\"\n",
    );
    let mut c = Command::new(BIN);
    c.args(["-t"]).env("XDG_CONFIG_HOME", home.arg());
    let o = run::output_with_input(&mut c, b"To: a@b\n\nhi\n");
    assert_eq!(code(&o), 64, "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        format!(
            "smtp-send: config file {}, line 2: [smtp-send] sevrer: unknown key (keys are the tools' long flag names, with _ for -)\n",
            home.join("posthaste/config.toml").display()
        )
    );
    let o = run::output_with_input(
        Command::new(BIN).args(["--config", "/nonexistent/c.toml", "-t"]),
        b"",
    );
    assert_eq!(code(&o), 66, "{}", stderr(&o));
}

#[test]
fn dsn_options_go_only_to_a_server_that_offers_dsn() {
    let s = FakeSmtp::builder().ehlo(&["PIPELINING", "DSN"]).start();
    let o = send(
        &s,
        &[
            "--notify",
            "failure,delay",
            "-R",
            "hdrs",
            "--envid",
            "job 42+1",
            "b@y",
        ],
        b"From: a@x\n\nhi\n",
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        s.commands("MAIL"),
        ["MAIL FROM:<a@x> RET=HDRS ENVID=job+2042+2B1"]
    );
    assert_eq!(s.commands("RCPT"), ["RCPT TO:<b@y> NOTIFY=FAILURE,DELAY"]);
    let s = FakeSmtp::builder().ehlo(&["PIPELINING"]).start();
    let o = send(&s, &["-N", "never", "b@y"], b"From: a@x\n\nhi\n");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("does not offer DSN: --notify, --ret and --envid are not sent"),
        "{}",
        stderr(&o)
    );
    assert_eq!(s.commands("RCPT"), ["RCPT TO:<b@y>"]);
    for bad in [
        &["--notify", "never,success"][..],
        &["--notify", "sometimes"],
        &["--envid", "é"],
    ] {
        let o = send(&s, bad, b"From: a@x\n\nhi\n");
        assert_eq!(code(&o), 64, "{bad:?}");
    }
}

#[test]
fn chunking_sends_bdat_without_dot_stuffing() {
    let s = FakeSmtp::builder()
        .ehlo(&["PIPELINING", "8BITMIME", "CHUNKING"])
        .start();
    let input = b"From: a@x\nTo: b@y\nDate: d\nMessage-ID: <m>\n\n.\n..\r\nline\nQUIT\n.";
    let o = send(&s, &["-t"], input);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let m = only(&s);
    assert!(m.bdat);
    let want = b"From: a@x\r\nTo: b@y\r\nDate: d\r\nMessage-ID: <m>\r\n\r\n.\r\n..\r\nline\r\nQUIT\r\n.\r\n";
    assert_eq!(
        String::from_utf8_lossy(&m.wire),
        String::from_utf8_lossy(want)
    );
    assert_eq!(
        s.transcript(),
        [
            "EHLO client.test",
            "MAIL FROM:<a@x> BODY=8BITMIME",
            "RCPT TO:<b@y>",
            &format!("BDAT {} LAST", want.len()),
            "QUIT"
        ]
    );
    // A big message goes in several chunks, each answered before the next.
    let s = FakeSmtp::builder()
        .ehlo(&["PIPELINING", "CHUNKING"])
        .start();
    let mut big = b"From: a@x\nTo: b@y\nDate: d\nMessage-ID: <m>\n\n".to_vec();
    for i in 0..40_000 {
        big.extend_from_slice(format!("line {i} of a message that is long enough\n").as_bytes());
    }
    let o = send(&s, &["-t"], &big);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let bdats = s.commands("BDAT");
    assert!(bdats.len() >= 7, "{bdats:?}");
    assert!(bdats.last().unwrap().ends_with(" LAST"));
    let mut canonical = Vec::new();
    for &b in &big {
        if b == b'\n' {
            canonical.push(b'\r');
        }
        canonical.push(b);
    }
    assert!(only(&s).wire == canonical);
    // --no-chunking: DATA.
    let s = FakeSmtp::builder()
        .ehlo(&["PIPELINING", "CHUNKING"])
        .start();
    let o = send(&s, &["-t", "--no-chunking"], input);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(!only(&s).bdat);
    // A lone CR mid-stream: no BDAT LAST, nothing delivered.
    let s = FakeSmtp::builder()
        .ehlo(&["PIPELINING", "CHUNKING"])
        .start();
    let mut bad = big.clone();
    bad.extend_from_slice(b"a lone\rCR\n");
    let o = send(&s, &["-t"], &bad);
    assert_eq!(code(&o), 65, "{}", stderr(&o));
    assert!(s.messages().is_empty());
    assert!(!s.commands("BDAT").iter().any(|c| c.ends_with("LAST")));
    // A refused recipient: no BDAT at all.
    let s = FakeSmtp::builder()
        .ehlo(&["PIPELINING", "CHUNKING"])
        .refuse("b@y", "550 5.1.1 no\r\n")
        .start();
    let o = send(&s, &["-t"], input);
    assert_eq!(code(&o), 67, "{}", stderr(&o));
    assert!(s.commands("BDAT").is_empty());
}

#[test]
fn a_link_named_sendmail_takes_crons_command_line() {
    let s = FakeSmtp::builder().start();
    let home = TempDir::new("smtp-send-sendmail");
    private_dir(&home.join("posthaste"));
    write_private(
        &home.join("posthaste/config.toml"),
        format!(
            "[smtp-send]\nserver = \"{}\"\nfrom = \"cron@example.com\"\ntls = \"none\"\n",
            s.url()
        ),
    );
    let link = home.join("sendmail");
    std::os::unix::fs::symlink(BIN, &link).unwrap();
    // What Debian's cron runs for MAILTO=root.
    let mut c = Command::new(&link);
    c.args(["-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root"])
        .env("XDG_CONFIG_HOME", home.arg());
    let o = run::output_with_input(
        &mut c,
        b"From: root (Cron Daemon)\nTo: root\nSubject: Cron <root@host> backup\nMIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n\nbackup done\n",
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(stderr(&o), "");
    assert_eq!(
        s.commands("MAIL"),
        ["MAIL FROM:<cron@example.com> BODY=8BITMIME"]
    );
    assert_eq!(s.commands("RCPT"), ["RCPT TO:<root>"]);
}

#[test]
fn greylisted_recipients_are_tried_again_with_retries() {
    let s = FakeSmtp::builder()
        .refuse_once(
            "b@y",
            "450 4.2.0 <b@y>: Recipient address rejected: Greylisted\r\n",
        )
        .start();
    let o = send(&s, &["--retries", "1", "b@y", "c@z"], MSG);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("Greylisted; retrying in 1 s (retry 1 of 1)"),
        "{}",
        stderr(&o)
    );
    assert_eq!(only(&s).rcpts, ["b@y", "c@z"]);
    // Without --retries: 75, each refusal on its own line, nothing sent.
    let s = FakeSmtp::builder()
        .refuse_once("b@y", "450 4.2.0 Greylisted\r\n")
        .refuse_once("c@z", "450 4.2.0 Greylisted\r\n")
        .start();
    let o = send(&s, &["b@y", "c@z"], MSG);
    assert_eq!(code(&o), 75, "{}", stderr(&o));
    assert_eq!(
        stderr(&o)
            .matches("server said: 450 4.2.0 Greylisted")
            .count(),
        2,
        "{}",
        stderr(&o)
    );
    assert!(s.messages().is_empty());
    // A permanent refusal among them: no retry, and it is the status (67, not 75).
    let s = FakeSmtp::builder()
        .refuse_once("b@y", "450 4.2.0 Greylisted\r\n")
        .refuse("c@z", "550 5.1.1 no such user\r\n")
        .start();
    let o = send(&s, &["--retries", "3", "b@y", "c@z"], MSG);
    assert_eq!(code(&o), 67, "{}", stderr(&o));
    assert!(!stderr(&o).contains("trying again"), "{}", stderr(&o));
    assert_eq!(s.connections(), 1);
}

/// A 451 then a 550: one recipient can never get the message, so trying again cannot
/// help: 67, whatever the order of the refusals. Both are reported, the permanent one
/// first, and the log line says 550.
#[test]
fn a_permanent_refusal_wins_over_a_transient_one() {
    for partial in [false, true] {
        let s = FakeSmtp::builder()
            .refuse("b@y", "451 4.3.0 try later\r\n")
            .refuse("c@z", "550 5.1.1 no such user\r\n")
            .start();
        let dir = TempDir::new("smtp-send-mixed");
        let log = dir.join("log");
        let mut args = vec!["--log", log.to_str().unwrap(), "b@y", "c@z"];
        if partial {
            args.insert(0, "--partial");
        }
        let o = send(&s, &args, MSG);
        assert_eq!(code(&o), 67, "{}", stderr(&o));
        let e = stderr(&o);
        let lines: Vec<&str> = e.lines().collect();
        assert!(lines[0].contains("RCPT TO:<c@z>: server said: 550"), "{e}");
        assert!(lines[1].contains("RCPT TO:<b@y>: server said: 451"), "{e}");
        assert!(s.messages().is_empty());
        let logged = std::fs::read_to_string(&log).unwrap();
        assert!(
            logged.contains("smtpstatus=550") && logged.contains("exitcode=EX_NOUSER"),
            "{logged}"
        );
    }
}

#[test]
fn a_silent_server_times_out_and_a_closed_stdin_is_66() {
    let s = FakeSmtp::builder().stall_on("DATA").start();
    let o = send(&s, &["--timeout", "300ms", "b@y"], MSG);
    assert_eq!(code(&o), 75, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no reply to DATA within 0.3 s"),
        "{}",
        stderr(&o)
    );
    drop(s);
    let s = FakeSmtp::builder().start();
    let o = run::output(Command::new("sh").args([
        "-c",
        "exec \"$0\" --server \"$1\" --tls none b@y <&-",
        BIN,
        &s.url(),
    ]));
    assert_eq!(code(&o), 66, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("standard input is closed"),
        "{}",
        stderr(&o)
    );
    assert_eq!(s.connections(), 0);
}

/// RFC 5321 2.4: the local part is case-sensitive, the domain is not. An address given
/// twice (the domain in another case) gets one RCPT; two local parts that differ in case
/// are two mailboxes.
#[test]
fn recipients_are_the_same_only_when_their_local_parts_are() {
    let s = FakeSmtp::builder().start();
    let o = send(
        &s,
        &["-t", "A@y.org", "a@y.org", "a@Y.ORG"],
        b"From: a@x\nTo: \"Q R\"@y.org, A@Y.org\nCc: \"q r\"@y.org\n\nhi\n",
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        s.commands("RCPT"),
        [
            "RCPT TO:<A@y.org>",
            "RCPT TO:<a@y.org>",
            "RCPT TO:<\"Q R\"@y.org>",
            "RCPT TO:<\"q r\"@y.org>",
        ]
    );
}

/// The null reverse-path (RFC 5321 4.5.5) of bounces and vacation replies: `-f '<>'` and
/// `-f ''` send `MAIL FROM:<>`, keep the message's own From, and never make a From of it.
#[test]
fn the_null_sender_is_mail_from_empty() {
    for null in ["<>", ""] {
        let s = FakeSmtp::builder().start();
        let o = send(&s, &["-f", null, "-oi", "b@y"], MSG);
        assert_eq!(code(&o), 0, "-f {null:?}: {}", stderr(&o));
        assert_eq!(s.commands("MAIL"), ["MAIL FROM:<> BODY=8BITMIME"]);
        let text = only(&s).text();
        assert!(
            text.starts_with("From: Ada <ada@example.com>\r\n"),
            "{text}"
        );
        assert_eq!(text.matches("From:").count(), 1, "{text}");
        // A message without From: nothing could make one, refused before connecting.
        let s = FakeSmtp::builder().start();
        let o = send(&s, &["-f", null, "b@y"], b"Subject: x\n\nhi\n");
        assert_eq!(code(&o), 65, "{}", stderr(&o));
        assert_eq!(
            stderr(&o),
            "smtp-send: standard input: the message has no From header, and -f '<>' (the null sender) cannot make one: add a From header to the message\n"
        );
        // --subject makes the From header from --from: the null sender cannot be it.
        let o = send(&s, &["-f", null, "--subject", "x", "--to", "b@y"], b"hi\n");
        assert_eq!(code(&o), 64, "{}", stderr(&o));
        assert!(stderr(&o).contains("null sender"), "{}", stderr(&o));
        assert_eq!(s.connections(), 0);
    }
}

/// --partial with a recipient refused only for now: the others got the message, so 75
/// ("try again") would make a retrying wrapper send it to them twice. Exit 79, with who
/// got it and who did not on stderr, even with -q.
#[test]
fn partial_delivery_with_a_recipient_refused_for_now_is_79() {
    let s = FakeSmtp::builder()
        .refuse("carol@example.net", "450 4.2.1 mailbox busy\r\n")
        .start();
    let o = send(
        &s,
        &[
            "-q",
            "--partial",
            "bob@example.org",
            "carol@example.net",
            "dan@example.com",
        ],
        MSG,
    );
    assert_eq!(code(&o), 79, "{}", stderr(&o));
    let e = stderr(&o);
    let lines: Vec<&str> = e.lines().collect();
    assert_eq!(
        lines[0],
        "smtp-send: standard input: --partial: delivered to bob@example.org, dan@example.com; not to carol@example.net: sending it again to every recipient would deliver it twice",
        "{e}"
    );
    assert!(
        lines[1].ends_with("RCPT TO:<carol@example.net>: server said: 450 4.2.1 mailbox busy"),
        "{e}"
    );
    assert_eq!(lines.len(), 2, "{e}");
    assert_eq!(only(&s).rcpts, ["bob@example.org", "dan@example.com"]);
    // A permanent refusal among them: 67, and the same list.
    let s = FakeSmtp::builder()
        .refuse("carol@example.net", "450 4.2.1 mailbox busy\r\n")
        .refuse("dan@example.com", "550 5.1.1 no such user\r\n")
        .start();
    let o = send(
        &s,
        &[
            "--partial",
            "bob@example.org",
            "carol@example.net",
            "dan@example.com",
        ],
        MSG,
    );
    assert_eq!(code(&o), 67, "{}", stderr(&o));
    assert!(
        stderr(&o).starts_with("smtp-send: standard input: --partial: delivered to bob@example.org; not to carol@example.net, dan@example.com: "),
        "{}",
        stderr(&o)
    );
    assert_eq!(only(&s).rcpts, ["bob@example.org"]);
}

/// RFC 5321 4.5.3.2.6 and 6.1: once the final dot is sent, the server may have taken the
/// message; a reply that never comes (a stall, or the connection closed) does not mean
/// nothing was delivered. Exit 79 saying so, never 75 ("try again"); the wait is bounded
/// by --timeout when given.
#[test]
fn a_lost_reply_to_the_final_dot_may_mean_delivered() {
    for chunking in [false, true] {
        for how in [FinalReply::Stall, FinalReply::Close] {
            let mut b = FakeSmtp::builder().data_reply_lost(how.clone());
            if chunking {
                b = b.ehlo(&["PIPELINING", "8BITMIME", "CHUNKING"]);
            }
            let s = b.start();
            let o = send(&s, &["--timeout", "300ms", "b@y"], MSG);
            let e = stderr(&o);
            assert_eq!(code(&o), 79, "{how:?} chunking {chunking}: {e}");
            assert_eq!(e.lines().count(), 1, "{e}");
            assert!(
                e.contains(
                    ": the message may have been delivered: sending it again may deliver it twice"
                ),
                "{e}"
            );
            match how {
                FinalReply::Stall => assert!(
                    e.contains("no reply within 0.3 s after the end of the message data"),
                    "{e}"
                ),
                _ => assert!(
                    e.contains("connection lost after the end of the message data"),
                    "{e}"
                ),
            }
            // The server has it.
            assert_eq!(s.messages().len(), 1);
        }
    }
}

/// With several --file, an error once a message's end was sent (79: it may have been
/// delivered) names that message, so that the right one is not sent again.
#[test]
fn a_lost_final_reply_names_the_message() {
    let s = FakeSmtp::builder()
        .data_reply("250 2.0.0 Ok\r\n")
        .data_reply_lost(FinalReply::Close)
        .start();
    let dir = TempDir::new("smtp-send-lost");
    let a = dir.join("a.eml");
    let b = dir.join("b.eml");
    std::fs::write(&a, b"From: a@x\nTo: one@example.org\n\nfirst\n").unwrap();
    std::fs::write(&b, b"From: a@x\nTo: two@example.org\n\nsecond\n").unwrap();
    let args = [
        "-t",
        "--file",
        a.to_str().unwrap(),
        "--file",
        b.to_str().unwrap(),
    ];
    let o = run::output(&mut cmd(&s, &args));
    assert_eq!(code(&o), 79, "{}", stderr(&o));
    let e = stderr(&o);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(
        e.starts_with(&format!("smtp-send: {}: ", b.display()))
            && e.contains("connection lost after the end of the message data"),
        "{e}"
    );
    assert_eq!(s.messages().len(), 2);
}

/// 74 is "nothing was delivered" only for a read or the connection: a --log that cannot
/// be written is 74 too, after the message went, and --help says so.
#[test]
fn a_log_that_cannot_be_written_is_74_after_sending() {
    let s = FakeSmtp::builder().start();
    let o = send(&s, &["--log", "/dev/full", "b@y"], MSG);
    assert_eq!(code(&o), 74, "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "smtp-send: --log /dev/full: No space left on device\n"
    );
    assert_eq!(s.messages().len(), 1);
    let help = run::output(Command::new(BIN).arg("--help"));
    assert!(
        String::from_utf8_lossy(&help.stdout).contains("the --log file could not"),
        "{}",
        String::from_utf8_lossy(&help.stdout)
    );
}

/// A server whose refusal repeats what it was sent (the AUTH line, or the password
/// itself): the secret is never shown, neither on stderr nor in the -v transcript.
#[test]
fn a_refusal_that_echoes_the_secret_does_not_show_it() {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode("\0bob\0wrong pw");
    for (echo, shown) in [
        (
            format!("535 5.7.8 Error: authentication failed: AUTH PLAIN {b64}\r\n"),
            "535 5.7.8 Error: authentication failed: AUTH PLAIN ****",
        ),
        (
            "535-5.7.8 bad password 'wrong pw'\r\n535 5.7.8 for bob\r\n".to_string(),
            "535 5.7.8 bad password '****' 5.7.8 for bob",
        ),
    ] {
        let s = FakeSmtp::builder()
            .login("bob", "hunter2")
            .reply("AUTH", &echo)
            .start();
        let mut c = cmd(
            &s,
            &["-v", "--user", "bob", "--password-env", "PH_TEST_PW", "b@y"],
        );
        c.env("PH_TEST_PW", "wrong pw");
        let o = run::output_with_input(&mut c, MSG);
        assert_eq!(code(&o), 77, "{}", stderr(&o));
        let e = stderr(&o);
        assert!(!e.contains(&b64) && !e.contains("wrong pw"), "{e}");
        assert!(e.contains(&format!("server said: {shown}")), "{e}");
        assert!(e.contains("S: 535"), "{e}");
        assert_eq!(s.commands("AUTH"), [format!("AUTH PLAIN {b64}")]);
    }
}

/// RFC 5321 4.5.3.1.6: a line is at most 998 octets before its CRLF; servers cut or refuse
/// longer ones. Refused (65), naming the line, before the final dot (nothing delivered);
/// found before connecting in a --file; in the header too.
#[test]
fn lines_over_998_octets_are_refused_naming_the_line() {
    let long = |n: usize| "x".repeat(n);
    // 998 octets pass, with LF or CRLF.
    let s = FakeSmtp::builder().start();
    let body = format!(
        "From: a@x\nTo: b@y\n\n{}\n{}\r\nend\n",
        long(998),
        long(998)
    );
    let o = send(&s, &["-t"], body.as_bytes());
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(only(&s).text().contains(&format!("\r\n{}\r\n", long(998))));
    // 999: refused mid-stream, the data never ended.
    let s = FakeSmtp::builder().start();
    let body = format!("From: a@x\nTo: b@y\n\nfirst\n{}\nlast\n", long(999));
    let o = send(&s, &["-t"], body.as_bytes());
    assert_eq!(code(&o), 65, "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "smtp-send: standard input: line 5: longer than 998 octets, the most SMTP allows (RFC 5321 4.5.3.1.6; servers cut or refuse such lines): encode the message (mime-pack does, quoted-printable) or, with --subject, give --quoted-printable; nothing was delivered\n"
    );
    assert!(s.messages().is_empty());
    assert_eq!(s.cut_short().len(), 1);
    // The last line, without a line end, counts too.
    let s = FakeSmtp::builder().start();
    let body = format!("From: a@x\nTo: b@y\n\n{}", long(1200));
    let o = send(&s, &["-t"], body.as_bytes());
    assert_eq!(code(&o), 65, "{}", stderr(&o));
    assert!(s.messages().is_empty());
    // A --file: found before connecting.
    let s = FakeSmtp::builder().start();
    let dir = TempDir::new("smtp-send-long");
    let f = dir.join("m.eml");
    std::fs::write(&f, format!("From: a@x\nTo: b@y\n\nok\n{}\n", long(5000))).unwrap();
    let o = run::output(&mut cmd(&s, &["-t", "--file", f.to_str().unwrap()]));
    assert_eq!(code(&o), 65, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("m.eml: line 5: longer than 998 octets"),
        "{}",
        stderr(&o)
    );
    assert_eq!(s.connections(), 0);
    // A header line.
    let o = send(
        &s,
        &["-t"],
        format!("From: a@x\nTo: b@y\nX-Long: {}\n\nhi\n", long(991)).as_bytes(),
    );
    assert_eq!(code(&o), 65, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("standard input: line 3 (in the header): longer than 998 octets"),
        "{}",
        stderr(&o)
    );
    assert_eq!(s.connections(), 0);
    // A long display name given with -F is folded into header lines that fit.
    let s = FakeSmtp::builder().start();
    let name = "Ünïcödé ".repeat(150);
    let o = send(
        &s,
        &["-f", "a@x", "-F", name.trim(), "b@y"],
        b"Subject: x\n\nhi\n",
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = only(&s).text();
    assert!(text.split("\r\n").all(|l| l.len() <= 998), "{text}");
    let parsed = mail_parser::MessageParser::default()
        .parse(text.as_bytes())
        .unwrap();
    assert_eq!(
        parsed.from().unwrap().first().unwrap().name(),
        Some(name.trim())
    );
}

/// --subject --quoted-printable sends the text in mime-pack's encoding: lines of any
/// length (and lone CRs, NULs) arrive unchanged, in lines of at most 76 characters; without
/// it, a text that needs it gets it.
#[test]
fn quoted_printable_sends_long_lines_whole() {
    let mut text = "short line\n".to_string();
    text.push_str(&"0123456789 naïve ".repeat(400));
    text.push_str("\n.\nlast line without a break");
    let args = ["--subject", "long", "--from", "a@x", "--to", "b@y"];
    // With --quoted-printable, or without it, as --subject chooses it the way mime-pack
    // does: for a line over 998 octets, a lone CR or a NUL, from a pipe (in memory, or
    // spooled past 256 KiB) or a file; text that 8bit carries goes as it is.
    let big = format!("{}\n{text}", "z".repeat(300 * 1024));
    let dir = TempDir::new("smtp-send-auto-qp");
    let file = dir.join("text");
    std::fs::write(&file, &text).unwrap();
    let file_args = ["--file", file.to_str().unwrap()];
    for (input, extra) in [
        (text.clone(), &["--quoted-printable"][..]),
        (text.clone(), &[]),
        ("a lone\rCR\n".to_string(), &[]),
        ("a \0 NUL\n".to_string(), &[]),
        (big, &[]),
        (String::new(), &file_args[..]),
    ] {
        let s = FakeSmtp::builder().start();
        let o = send(&s, &[&args[..], extra].concat(), input.as_bytes());
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        let m = only(&s);
        assert!(m.wire.split(|&b| b == b'\n').all(|l| l.len() <= 78));
        let stored = m.text();
        assert!(
            stored.contains("\r\nContent-Transfer-Encoding: quoted-printable\r\n"),
            "{stored}"
        );
        let parsed = mail_parser::MessageParser::default()
            .parse(stored.as_bytes())
            .unwrap();
        // The text as sent, its line breaks CRLF (MIME's hard line breaks).
        let want = if input.is_empty() { &text } else { &input };
        assert!(parsed.body_text(0).unwrap() == want.replace('\n', "\r\n"));
    }
    let s = FakeSmtp::builder().start();
    let o = send(&s, &args, "x".repeat(998).as_bytes());
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        only(&s)
            .text()
            .contains("\r\nContent-Transfer-Encoding: 8bit\r\n")
    );
    // Only with --subject.
    let o = send(&s, &["--quoted-printable", "b@y"], MSG);
    assert_eq!(code(&o), 64, "{}", stderr(&o));
}

/// Whoever can write the config file (or replace it in its folder) decides the server the
/// password goes to: such a file is refused, as ssh refuses its config, naming the file
/// and the fix, before anything is read or sent.
#[test]
fn a_config_file_others_can_write_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let s = FakeSmtp::builder().start();
    let home = TempDir::new("smtp-send-cfgmode");
    let dir = home.join("posthaste");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let cfg = dir.join("config.toml");
    std::fs::write(
        &cfg,
        format!("[smtp-send]\nserver = \"{}\"\ntls = \"none\"\n", s.url()),
    )
    .unwrap();
    let run_it = || {
        let mut c = Command::new(BIN);
        c.args(["-f", "a@x", "b@y"])
            .env("XDG_CONFIG_HOME", home.arg());
        run::output_with_input(&mut c, b"Subject: x\n\nhi\n")
    };
    let path = cfg.display().to_string();
    for mode in [0o664, 0o646, 0o666] {
        std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(mode)).unwrap();
        let o = run_it();
        assert_eq!(code(&o), 77, "{mode:o}: {}", stderr(&o));
        assert_eq!(
            stderr(&o),
            format!(
                "smtp-send: config file {path}: writable by group or others (mode {mode:o}), so they could send your password to a server of their own; refusing it: chmod go-w {path}\n"
            )
        );
    }
    // Its folder.
    std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let o = run_it();
    assert_eq!(code(&o), 77, "{}", stderr(&o));
    let d = dir.display().to_string();
    assert_eq!(
        stderr(&o),
        format!(
            "smtp-send: config file {path}: its folder {d} is writable by group or others (mode 777), so they could replace it; refusing it: chmod go-w {d}\n"
        )
    );
    // A file someone else owns (the tests run as root: a file of nobody's).
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    if unsafe { libc::geteuid() } == 0 {
        std::os::unix::fs::chown(&cfg, Some(65534), None).unwrap();
        let o = run_it();
        assert_eq!(code(&o), 77, "{}", stderr(&o));
        assert!(
            stderr(&o).contains(&format!(
                "config file {path}: owned by uid 65534, not by you (uid 0) or root"
            )),
            "{}",
            stderr(&o)
        );
        std::os::unix::fs::chown(&cfg, Some(0), None).unwrap();
    }
    assert_eq!(s.connections(), 0);
    // Mode 644 in a 755 folder: used.
    let o = run_it();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(s.messages().len(), 1);
    // A folder with the sticky bit, as /tmp: nobody else may replace the file there.
    let tmp = home.join("sticky");
    std::fs::create_dir(&tmp).unwrap();
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let cfg = tmp.join("c.toml");
    write_private(&cfg, format!("[smtp-send]\nserver = \"{}\"\n", s.url()));
    let o = run::output_with_input(
        Command::new(BIN).args([
            "--config",
            cfg.to_str().unwrap(),
            "--tls",
            "none",
            "-f",
            "a@x",
            "b@y",
        ]),
        b"Subject: x\n\nhi\n",
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // --config /dev/null: no defaults at all.
    let o = run::output_with_input(
        Command::new(BIN).args([
            "--config",
            "/dev/null",
            "--server",
            &s.url(),
            "--tls",
            "none",
            "-f",
            "a@x",
            "b@y",
        ]),
        b"Subject: x\n\nhi\n",
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(s.messages().len(), 3);
}

/// A netrc entry for the host (written for FTP, say) is not a login for the mail relay:
/// netrc names the user only when asked (--netrc-file, as curl's -n), and gives the
/// password of a login the user named. A netrc password is never sent in cleartext on the
/// strength of a hint: the refusal does not suggest --tls none.
#[test]
fn a_netrc_entry_for_the_host_is_used_only_as_curl_uses_it() {
    let home = TempDir::new("smtp-send-netrc");
    let netrc = home.join(".netrc");
    write_private(
        &netrc,
        "machine 127.0.0.1 login ftpuser password ftp-secret\n",
    );
    // No user named: no login at all, the message goes unauthenticated (as before the
    // netrc entry existed), and the FTP password never leaves.
    let s = FakeSmtp::builder().start();
    let mut c = Command::new(BIN);
    c.args(["--server", &s.url(), "-v", "b@y"])
        .env("HOME", home.arg())
        .env_remove("NETRC")
        .env_remove("XDG_CONFIG_HOME");
    let o = run::output_with_input(&mut c, MSG);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(s.commands("AUTH").is_empty());
    assert!(!stderr(&o).contains("ftpuser"), "{}", stderr(&o));
    // The login named, over a server without STARTTLS: refused, and --tls none is not
    // what the message offers.
    let s = FakeSmtp::builder().login("ftpuser", "ftp-secret").start();
    let mut c = Command::new(BIN);
    c.args(["--server", &s.url(), "--user", "ftpuser", "b@y"])
        .env("HOME", home.arg())
        .env_remove("NETRC")
        .env_remove("XDG_CONFIG_HOME");
    let o = run::output_with_input(&mut c, MSG);
    assert_eq!(code(&o), 69, "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!(
            "refusing to send the password from netrc file {} in cleartext",
            netrc.display()
        )),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("--tls none"), "{}", stderr(&o));
    assert!(s.commands("AUTH").is_empty());
    // --netrc-file asks netrc for the login too, as curl's -n.
    let mut c = cmd(&s, &["--netrc-file", netrc.to_str().unwrap(), "b@y"]);
    c.env("HOME", home.arg());
    let o = run::output_with_input(&mut c, MSG);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(s.commands("AUTH").len(), 1);
}

#[test]
fn a_server_without_a_scheme_is_smtp() {
    // msmtp's `host` is a name: `--server HOST:PORT` and an account's `server = "HOST"` are
    // smtp://, on the command line and in the config file alike.
    let s = FakeSmtp::builder().start();
    let bare = format!("127.0.0.1:{}", s.port());
    let mut c = Command::new(BIN);
    c.args(["--server", &bare, "--tls", "none", "--helo", "c.test"])
        .args(["-f", "a@example.com", "b@example.org"])
        .env_remove("XDG_CONFIG_HOME");
    let o = run::output_with_input(&mut c, b"Subject: x\n\nhi\n");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(s.commands("RCPT"), ["RCPT TO:<b@example.org>"]);
    let s = FakeSmtp::builder().start();
    let home = TempDir::new("smtp-send-bare-server");
    private_dir(&home.join("posthaste"));
    write_private(
        &home.join("posthaste/config.toml"),
        format!(
            "[accounts.a]\nserver = \"127.0.0.1:{}\"\ntls = \"none\"\nfrom = \"a@example.com\"\n",
            s.port()
        ),
    );
    let mut c = Command::new(BIN);
    c.args(["-a", "a", "b@example.org"])
        .env("XDG_CONFIG_HOME", home.arg());
    let o = run::output_with_input(&mut c, b"Subject: x\n\nhi\n");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(s.messages().len(), 1);
}

/// -v may be repeated, and -q and -v override each other, the last one winning.
#[test]
fn the_last_of_q_and_v_wins_and_v_repeats() {
    for (flags, transcript) in [
        (&["-vv"][..], true),
        (&["-q", "-v"], true),
        (&["-v", "-q"], false),
    ] {
        let s = FakeSmtp::builder().start();
        let o = send(&s, &[flags, &["bob@example.org"]].concat(), MSG);
        assert_eq!(code(&o), 0, "{flags:?}: {}", stderr(&o));
        assert_eq!(
            stderr(&o).contains("C: MAIL FROM:"),
            transcript,
            "{flags:?}"
        );
        if !transcript {
            assert_eq!(stderr(&o), "", "{flags:?}");
        }
    }
}

/// What Debian's cron sends for MAILTO=root: the From header is a bare name too.
const CRON_MSG: &[u8] =
    b"From: root (Cron Daemon)\nTo: root\nSubject: Cron <root@host> backup\n\nbackup done\n";

/// smtp-send through a link named sendmail, run as cron runs it, with `config` as its
/// config file (`{url}` is the fake server's).
fn cron(s: &FakeSmtp, home: &TempDir, config: &str, env: &[(&str, &str)], input: &[u8]) -> Output {
    private_dir(&home.join("posthaste"));
    write_private(
        &home.join("posthaste/config.toml"),
        config.replace("{url}", &s.url()),
    );
    let link = home.join("sendmail");
    std::os::unix::fs::symlink(BIN, &link).unwrap();
    let mut c = Command::new(&link);
    c.args(["-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root"])
        .env("XDG_CONFIG_HOME", home.arg())
        .envs(env.iter().copied());
    run::output_with_input(&mut c, input)
}

/// A fresh folder with `text` as its aliases file.
fn aliases_file(tag: &str, text: &str) -> (TempDir, std::path::PathBuf) {
    let home = TempDir::new(tag);
    let path = home.join("aliases");
    std::fs::write(&path, text).unwrap();
    (home, path)
}

#[test]
fn crons_root_goes_where_the_accounts_aliases_file_says() {
    let s = FakeSmtp::builder().start();
    let (home, aliases) = aliases_file(
        "smtp-send-aliases-account",
        "# cron's mail\nroot: ops@example.com, ada@example.com\n",
    );
    let config = format!(
        "default = \"cron\"\n[accounts.cron]\nserver = \"{{url}}\"\ntls = \"none\"\nfrom = \"cron@example.com\"\naliases = \"{}\"\n",
        aliases.display()
    );
    let o = cron(&s, &home, &config, &[], CRON_MSG);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        s.commands("RCPT"),
        ["RCPT TO:<ops@example.com>", "RCPT TO:<ada@example.com>"]
    );
    // The header is left as it is.
    assert!(only(&s).text().contains("\r\nTo: root\r\n"));
}

#[test]
fn default_in_the_aliases_file_takes_every_name_not_listed() {
    let s = FakeSmtp::builder().start();
    let (_home, aliases) = aliases_file(
        "smtp-send-aliases-default",
        "www-data: web@example.com\ndefault: admin@example.com\n",
    );
    let o = send(
        &s,
        &[
            "-f",
            "cron@example.com",
            "--aliases",
            aliases.to_str().unwrap(),
            "root",
            "WWW-Data",
            "bob@example.org",
            "backup",
        ],
        CRON_MSG,
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // Two names on admin@example.com: sent to it once.
    assert_eq!(
        s.commands("RCPT"),
        [
            "RCPT TO:<admin@example.com>",
            "RCPT TO:<web@example.com>",
            "RCPT TO:<bob@example.org>"
        ]
    );
}

#[test]
fn maildomain_completes_crons_bare_names_and_leaves_the_header() {
    let s = FakeSmtp::builder().start();
    let home = TempDir::new("smtp-send-maildomain");
    let config =
        "[smtp-send]\nserver = \"{url}\"\ntls = \"none\"\nmaildomain = \"host.example.com\"\n";
    let o = cron(&s, &home, config, &[], CRON_MSG);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        s.commands("MAIL"),
        ["MAIL FROM:<root@host.example.com> BODY=8BITMIME"]
    );
    assert_eq!(s.commands("RCPT"), ["RCPT TO:<root@host.example.com>"]);
    let text = only(&s).text();
    assert!(
        text.starts_with("From: root (Cron Daemon)\r\nTo: root\r\n"),
        "{text}"
    );
}

#[test]
fn aliases_then_maildomain_one_level_as_msmtp() {
    let s = FakeSmtp::builder().start();
    let (_home, aliases) = aliases_file(
        "smtp-send-aliases-maildomain",
        "root: ops@example.com\npostmaster: root\n",
    );
    let o = send(
        &s,
        &[
            "-f",
            "cron",
            "--aliases",
            aliases.to_str().unwrap(),
            "--maildomain",
            "example.org",
            "root",
            "postmaster",
            "www-data",
        ],
        b"Subject: x\n\nx\n",
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // postmaster's alias, root, is not looked up again: --maildomain completes it.
    assert_eq!(
        s.commands("MAIL"),
        ["MAIL FROM:<cron@example.org> BODY=8BITMIME"]
    );
    assert_eq!(
        s.commands("RCPT"),
        [
            "RCPT TO:<ops@example.com>",
            "RCPT TO:<root@example.org>",
            "RCPT TO:<www-data@example.org>"
        ]
    );
    // The From header -f adds is the address sent.
    assert!(only(&s).text().contains("From: cron@example.org\r\n"));
}

#[test]
fn with_maildomain_and_no_sender_the_login_name_sends_as_msmtps_auto_from() {
    let s = FakeSmtp::builder().start();
    let home = TempDir::new("smtp-send-auto-from");
    let config =
        "[smtp-send]\nserver = \"{url}\"\ntls = \"none\"\nmaildomain = \"host.example.com\"\n";
    let o = cron(
        &s,
        &home,
        config,
        &[("USER", "backup"), ("LOGNAME", "other")],
        b"Subject: done\n\nbackup done\n",
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        s.commands("MAIL"),
        ["MAIL FROM:<backup@host.example.com> BODY=8BITMIME"]
    );
    assert!(
        only(&s)
            .text()
            .contains("From: CronDaemon <backup@host.example.com>\r\n")
    );
    // Without --maildomain, no sender is still an error that says what gives one.
    let o = send(&s, &["root"], b"Subject: done\n\nbackup done\n");
    assert_eq!(code(&o), 64);
    assert_eq!(
        stderr(&o),
        "smtp-send: standard input: no envelope sender: give -f ADDR (--from), a From header in the message, or --maildomain DOMAIN (the login name at DOMAIN)\n"
    );
}

#[test]
fn a_message_with_no_sender_goes_with_the_default_accounts_maildomain() {
    let s = FakeSmtp::builder().start();
    let home = TempDir::new("smtp-send-auto-from-account");
    // An account with from: the sender picks the account, the default until the message
    // is read, and its maildomain makes the sender of a message with none.
    let config = "default = \"cron\"\n[accounts.cron]\nserver = \"{url}\"\ntls = \"none\"\nmaildomain = \"host.example.com\"\n[accounts.work]\nserver = \"{url}\"\ntls = \"none\"\nfrom = \"me@work.example\"\n";
    let o = cron(
        &s,
        &home,
        config,
        &[("USER", "backup")],
        b"Subject: done\n\nbackup done\n",
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        s.commands("MAIL"),
        ["MAIL FROM:<backup@host.example.com> BODY=8BITMIME"]
    );
    assert_eq!(s.commands("RCPT"), ["RCPT TO:<root@host.example.com>"]);
}

#[test]
fn subjects_from_header_is_the_address_maildomain_makes() {
    let s = FakeSmtp::builder().start();
    let o = send(
        &s,
        &[
            "--subject",
            "disk",
            "--from",
            "cron",
            "--to",
            "ops@example.com",
            "--maildomain",
            "host.example.com",
        ],
        b"full\n",
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        s.commands("MAIL"),
        ["MAIL FROM:<cron@host.example.com> BODY=8BITMIME"]
    );
    assert!(
        only(&s)
            .text()
            .starts_with("From: cron@host.example.com\r\n")
    );
}

#[test]
fn a_bad_aliases_file_is_one_line_naming_it_and_nothing_is_sent() {
    let s = FakeSmtp::builder().start();
    let home = TempDir::new("smtp-send-aliases-bad");
    let path = home.join("aliases");
    let run = |contents: Option<&str>| {
        if let Some(c) = contents {
            std::fs::write(&path, c).unwrap();
        }
        send(
            &s,
            &["-f", "a@x", "--aliases", path.to_str().unwrap(), "root"],
            CRON_MSG,
        )
    };
    let p = path.display();
    for (contents, status, said) in [
        (None, 66, "No such file or directory".to_string()),
        (
            Some("# ok\nroot ops@example.com\n"),
            64,
            "line 2: \"root ops@example.com\" has no ':' (a line is NAME: ADDRESS, ADDRESS...)"
                .into(),
        ),
        (
            Some("root: ops@example.com,\n  ada lovelace@example.com\n"),
            64,
            "line 1: root: an empty address".into(),
        ),
        (
            Some("root: ops@example.com, ada <ada@example.com>\n"),
            64,
            "line 1: \"ada <ada@example.com>\" is not an address (white space, <, > and control characters are not allowed)".into(),
        ),
    ] {
        let o = run(contents);
        assert_eq!(code(&o), status, "{}", stderr(&o));
        let sep = if status == 66 { ":" } else { "," };
        assert_eq!(stderr(&o), format!("smtp-send: --aliases {p}{sep} {said}\n"));
    }
    // Read as the config file is: at most 1 MiB, UTF-8.
    std::fs::write(&path, b"root: a@x\n# caf\xe9\n").unwrap();
    let o = run(None);
    assert_eq!(
        (code(&o), stderr(&o)),
        (
            64,
            format!("smtp-send: --aliases {p}, line 2: not UTF-8 text\n")
        )
    );
    std::fs::write(&path, vec![b'#'; (1 << 20) + 1]).unwrap();
    let o = run(None);
    assert_eq!(
        (code(&o), stderr(&o)),
        (
            64,
            format!("smtp-send: --aliases {p}: larger than 1 MiB; refusing it\n")
        )
    );
    let o = send(&s, &["-f", "a@x", "--maildomain", "a b", "root"], CRON_MSG);
    assert_eq!(code(&o), 64, "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "smtp-send: --maildomain \"a b\": not a domain\n"
    );
    assert_eq!(s.connections(), 0);
}

#[test]
fn a_relay_refusing_a_bare_name_gets_a_hint_at_aliases_and_maildomain() {
    let s = FakeSmtp::builder()
        .refuse(
            "root",
            "550 5.5.2 <root>: Recipient address rejected: need fully-qualified address\r\n",
        )
        .start();
    let o = send(&s, &["-f", "cron@example.com", "root"], CRON_MSG);
    assert_eq!(code(&o), 67, "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains(&format!(
            "smtp-send: 127.0.0.1:{}: RCPT TO:<root>: server said: 550 5.5.2 <root>: Recipient address rejected: need fully-qualified address; root has no domain: --aliases FILE maps it to addresses, --maildomain DOMAIN makes it root@DOMAIN\n",
            s.port()
        )),
        "{e}"
    );
    // A sender refused for the same reason.
    let s = FakeSmtp::builder()
        .refuse_sender(
            "root",
            "553 5.5.2 <root>: Sender address rejected: need fully-qualified address\r\n",
        )
        .start();
    let o = send(&s, &["ops@example.com"], CRON_MSG);
    assert_eq!(code(&o), 69, "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        format!(
            "smtp-send: 127.0.0.1:{}: MAIL FROM:<root>: server said: 553 5.5.2 <root>: Sender address rejected: need fully-qualified address; root has no domain: --aliases FILE maps it to addresses, --maildomain DOMAIN makes it root@DOMAIN\n",
            s.port()
        )
    );
}

#[test]
fn a_login_name_that_is_no_address_is_named_as_the_login_name_not_a_from_header() {
    let s = FakeSmtp::builder().start();
    let home = TempDir::new("smtp-send-auto-from-bad-login");
    let config =
        "[smtp-send]\nserver = \"{url}\"\ntls = \"none\"\nmaildomain = \"host.example.com\"\n";
    // The message has no From header: the sender would be the login name, which is not one.
    let o = cron(
        &s,
        &home,
        config,
        &[("USER", "back up")],
        b"Subject: done\n\nbackup done\n",
    );
    assert_eq!(code(&o), 64, "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "smtp-send: standard input: the login name (USER, for --maildomain to complete): \"back up\" is not an address (white space, <, > and control characters are not allowed): give -f ADDR (--from)\n"
    );
    assert!(s.commands("MAIL").is_empty());
}

#[test]
fn a_bad_maildomain_or_helo_in_the_config_file_is_named_by_its_key_not_a_flag() {
    let s = FakeSmtp::builder().start();
    for (key, said) in [("maildomain", "not a domain"), ("helo", "not a host name")] {
        let home = TempDir::new("smtp-send-config-maildomain");
        let config = format!(
            "[smtp-send]\nserver = \"{{url}}\"\ntls = \"none\"\n{key} = \"host example\"\n"
        );
        let o = cron(&s, &home, &config, &[("USER", "backup")], CRON_MSG);
        assert_eq!(code(&o), 64, "{}", stderr(&o));
        let file = home.join("posthaste/config.toml");
        assert_eq!(
            stderr(&o),
            format!(
                "smtp-send: {key} = \"host example\" (config file {}, line 4, [smtp-send]): {said}\n",
                file.display()
            )
        );
    }
    assert!(s.commands("MAIL").is_empty());
}

#[test]
fn a_maildomain_that_is_no_domain_is_refused_before_anything_is_sent() {
    let s = FakeSmtp::builder().start();
    // Each would pass as an address's domain part and reach RCPT TO and the From field: a
    // second mailbox in From (`,`), a quoted space, a comment.
    for d in [
        "example.com,ops",
        "\"a b\"",
        "example.com(x)",
        ".example.com",
    ] {
        let o = send(
            &s,
            &["-f", "cron", "--maildomain", d, "root"],
            b"Subject: disk\n\nfull\n",
        );
        assert_eq!(code(&o), 64, "{d}: {}", stderr(&o));
        assert_eq!(
            stderr(&o),
            format!("smtp-send: --maildomain {d:?}: not a domain\n")
        );
    }
    // A host name (an internal one with `_` too), an IDN and an address literal are domains.
    for d in [
        "host.example.com",
        "mail_hub.lan",
        "bücher.example",
        "[192.0.2.1]",
    ] {
        let o = send(
            &s,
            &["-f", "cron", "--maildomain", d, "root"],
            b"Subject: disk\n\nfull\n",
        );
        assert_eq!(code(&o), 0, "{d}: {}", stderr(&o));
    }
    assert_eq!(
        s.commands("RCPT"),
        [
            "RCPT TO:<root@host.example.com>",
            "RCPT TO:<root@mail_hub.lan>",
            "RCPT TO:<root@bücher.example>",
            "RCPT TO:<root@[192.0.2.1]>"
        ]
    );
}
