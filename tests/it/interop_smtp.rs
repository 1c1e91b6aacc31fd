//! smtp-send against real servers on loopback (scripts/servers/smtp): Postfix smtp-sink
//! (pipelining, 8BITMIME, many recipients) and a storing aiosmtpd server with STARTTLS,
//! implicit TLS and AUTH, where the stored copy is compared byte for byte with what was
//! sent (after canonical CRLF), and `mime-pack ... | smtp-send -t` is parsed back part by
//! part.

use crate::support::files::TempDir;
use crate::support::run;
use crate::support::servers_smtp::{SmtpServers, smtp_servers};
use mail_parser::{MessageParser, MimeHeaders};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_smtp-send");
const MIME_PACK: &str = env!("CARGO_BIN_EXE_mime-pack");

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A recipient no other test uses, to find this test's stored message.
fn unique(tag: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{tag}-{}-{}@example.test",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// smtp-send to the storing server: STARTTLS, AUTH with the test user.
fn to_store(s: &SmtpServers, implicit: bool, args: &[&str]) -> Command {
    let url = if implicit {
        format!("smtps://localhost:{}", s.store_tls_port)
    } else {
        format!("smtp://localhost:{}", s.store_port)
    };
    let mut c = Command::new(BIN);
    c.args(["--server", &url, "--cacert"])
        .arg(&s.ca_cert)
        .args([
            "--user",
            &s.user,
            "--password-env",
            "PH_TEST_PW",
            "--no-netrc",
        ])
        .args(args)
        .env("PH_TEST_PW", &s.password);
    c
}

/// `data` with every line ending CRLF (and a final one added), as it is sent.
fn canonical(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 16);
    for (i, &b) in data.iter().enumerate() {
        if b == b'\n' && (i == 0 || data[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(b);
    }
    if !out.ends_with(b"\r\n") && !out.is_empty() {
        out.extend_from_slice(b"\r\n");
    }
    out
}

#[test]
fn the_stored_copy_is_what_was_sent_byte_for_byte() {
    let Some(s) = smtp_servers() else { return };
    let rcpt = unique("bytes");
    let mut msg = format!(
        "From: Ada <ada@example.test>\nTo: {rcpt}\nSubject: dots, 8-bit and long lines\nDate: Thu, 01 Jan 2026 00:00:00 +0000\nMessage-ID: <bytes@example.test>\n\n"
    )
    .into_bytes();
    msg.extend_from_slice(".\n..\n.x\r\nnaïve café\n\n.\n\r\n".as_bytes());
    msg.extend(std::iter::repeat_n(b'y', 990));
    msg.extend_from_slice(b"\nQUIT\n.\nend without a line break");
    let o = run::output_with_input(&mut to_store(&s, false, &["-t"]), &msg);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (stored, envelope) = s.stored_for(&rcpt).expect("stored");
    assert!(
        stored == canonical(&msg),
        "{}",
        String::from_utf8_lossy(&stored)
    );
    assert!(
        envelope.contains("\"mail_from\": \"ada@example.test\""),
        "{envelope}"
    );
    assert!(envelope.contains("BODY=8BITMIME"), "{envelope}");
    assert!(
        envelope.contains("\"auth\": true") && envelope.contains("\"tls\": true"),
        "{envelope}"
    );
}

#[test]
fn implicit_tls_auth_login_and_size_with_a_file() {
    let Some(s) = smtp_servers() else { return };
    let rcpt = unique("smtps");
    let dir = TempDir::new("interop-smtp");
    let f = dir.join("m.eml");
    let msg = format!(
        "From: a@example.test\nTo: {rcpt}\nBcc: hidden@example.test\nSubject: x\n\nplain 7-bit body\n"
    );
    std::fs::write(&f, &msg).unwrap();
    let o = run::output(&mut to_store(
        &s,
        true,
        &["--auth", "LOGIN", "-t", "--file", f.to_str().unwrap()],
    ));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (stored, envelope) = s.stored_for(&rcpt).expect("stored");
    let text = String::from_utf8_lossy(&stored);
    assert!(!text.contains("Bcc") && !text.contains("hidden@"), "{text}");
    assert!(
        text.contains("\r\nDate: ") && text.contains("\r\nMessage-ID: <"),
        "{text}"
    );
    assert!(
        envelope.contains("\"hidden@example.test\""),
        "Bcc is a recipient: {envelope}"
    );
    assert!(
        envelope.contains(&format!("SIZE={}", stored.len())),
        "SIZE is the stored size, {}: {envelope}",
        stored.len()
    );
    assert!(
        !envelope.contains("BODY="),
        "a 7-bit file declares no BODY: {envelope}"
    );
}

#[test]
fn refusals_from_the_storing_server() {
    let Some(s) = smtp_servers() else { return };
    // A wrong password: 77.
    let mut c = to_store(&s, false, &["-f", "a@example.test", "b@example.test"]);
    c.env("PH_TEST_PW", "wrong");
    let o = run::output_with_input(&mut c, b"Subject: x\n\nx\n");
    assert_eq!(o.status.code(), Some(77), "{}", stderr(&o));
    assert!(stderr(&o).contains("535"), "{}", stderr(&o));
    // No login: the server wants one (530) before MAIL: 77.
    let o = run::output_with_input(
        Command::new(BIN)
            .args([
                "--server",
                &format!("smtp://localhost:{}", s.store_port),
                "--cacert",
            ])
            .arg(&s.ca_cert)
            .args(["--no-netrc", "-f", "a@example.test", "b@example.test"]),
        b"Subject: x\n\nx\n",
    );
    assert_eq!(o.status.code(), Some(77), "{}", stderr(&o));
    // A certificate nobody vouches for: 76.
    let o = run::output_with_input(
        Command::new(BIN)
            .args([
                "--server",
                &format!("smtps://localhost:{}", s.store_tls_port),
            ])
            .args(["--no-netrc", "-f", "a@example.test", "b@example.test"])
            .env("SSL_CERT_FILE", "/nonexistent"),
        b"Subject: x\n\nx\n",
    );
    assert_eq!(o.status.code(), Some(76), "{}", stderr(&o));
}

#[test]
fn a_non_ascii_address_goes_with_smtputf8() {
    let Some(s) = smtp_servers() else { return };
    let rcpt = format!("élodie-{}", unique("utf8"));
    let o = run::output_with_input(
        &mut to_store(&s, false, &["-f", "ada@example.test", &rcpt]),
        b"Subject: x\n\nx\n",
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (_, envelope) = s.stored_for(&rcpt.replace('é', "\\u00e9")).expect("stored");
    assert!(envelope.contains("SMTPUTF8"), "{envelope}");
}

#[test]
fn the_sink_takes_a_pipelined_message_to_many_recipients() {
    let Some(s) = smtp_servers() else { return };
    let rcpts: Vec<String> = (0..300).map(|i| format!("r{i}@example.test")).collect();
    let mut c = Command::new(BIN);
    c.args([
        "--server",
        &format!("smtp://127.0.0.1:{}", s.sink_port),
        "--no-netrc",
        "-v",
        "-f",
        "a@example.test",
    ])
    .args(&rcpts);
    let mut body = b"Subject: many\n\n".to_vec();
    for i in 0..20_000 {
        body.extend_from_slice(format!("line {i}: naïve\n.\n").as_bytes());
    }
    let o = run::output_with_input(&mut c, &body);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let e = stderr(&o);
    assert_eq!(
        e.matches(": accepted (250").count(),
        300,
        "{}",
        &e[..e.len().min(2000)]
    );
    assert!(
        e.contains("C: MAIL FROM:<a@example.test> BODY=8BITMIME"),
        "no BODY=8BITMIME"
    );
    // Pipelined: commands went out before their replies came back.
    let first_reply = e.find("S: 250 2.1.0").unwrap();
    let a_later_rcpt = e.find("C: RCPT TO:<r50@example.test>").unwrap();
    assert!(a_later_rcpt < first_reply, "not pipelined");
}

#[test]
fn mime_pack_into_smtp_send_round_trips_part_by_part() {
    let Some(s) = smtp_servers() else { return };
    let rcpt = unique("e2e");
    let dir = TempDir::new("interop-smtp-e2e");
    let bin: Vec<u8> = (0..300_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::write(dir.join("data.bin"), &bin).unwrap();
    let text = "Dots:\n.\n..\nand ümlauts\n".repeat(50);
    std::fs::write(dir.join("notes.txt"), &text).unwrap();
    // mime-pack's output into smtp-send's input, through a file to keep the test simple.
    let packed = run::output_with_input(
        Command::new(MIME_PACK)
            .args([
                "--from",
                "Ada <ada@example.test>",
                "--to",
                &rcpt,
                "--bcc",
                "hidden@example.test",
            ])
            .args(["--subject", "Build ✔ report", "-a"])
            .arg(dir.join("data.bin"))
            .arg("-a")
            .arg(dir.join("notes.txt")),
        b"The body.\n.\nEnd.\n",
    );
    assert_eq!(packed.status.code(), Some(0), "{}", stderr(&packed));
    let o = run::output_with_input(&mut to_store(&s, false, &["-t"]), &packed.stdout);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (stored, envelope) = s.stored_for(&rcpt).expect("stored");
    assert!(envelope.contains("\"hidden@example.test\""), "{envelope}");
    // What was stored is mime-pack's message, canonical CRLF, without its Bcc.
    let without_bcc: Vec<u8> = {
        let t = String::from_utf8(packed.stdout.clone()).unwrap();
        t.lines()
            .filter(|l| !l.starts_with("Bcc: "))
            .flat_map(|l| format!("{l}\r\n").into_bytes())
            .collect()
    };
    assert!(stored == without_bcc, "stored copy differs");
    let parsed = MessageParser::default().parse(&stored).expect("parses");
    assert_eq!(parsed.subject(), Some("Build ✔ report"));
    assert_eq!(
        parsed.body_text(0).unwrap().replace("\r\n", "\n"),
        "The body.\n.\nEnd.\n"
    );
    assert_eq!(parsed.attachment_count(), 2);
    let a = parsed.attachment(0).unwrap();
    assert_eq!(a.attachment_name(), Some("data.bin"));
    assert!(a.contents() == bin.as_slice(), "data.bin differs");
    let b = parsed.attachment(1).unwrap();
    assert_eq!(b.attachment_name(), Some("notes.txt"));
    assert_eq!(
        String::from_utf8_lossy(b.contents()).replace("\r\n", "\n"),
        text
    );
}
