//! mime-pack as a user sees it: the bytes it writes, parsed back by independent parsers
//! (the mail-parser crate, and Python's `email` package), its exit status and its stderr.

use crate::support::files::{TempDir, mkfifo, names, noise, sha256};
use crate::support::run;
use mail_parser::{MessageParser, MimeHeaders};
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_mime-pack");

/// Runs mime-pack in `dir` with `args`, feeding `stdin`.
fn run(dir: &Path, args: &[&str], stdin: &[u8]) -> Output {
    run::output_with_input(Command::new(BIN).args(args).current_dir(dir), stdin)
}

fn ok(out: &Output) -> &[u8] {
    assert!(
        out.status.success(),
        "exit {:?}, stderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    &out.stdout
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const FROM: [&str; 2] = ["--from", "Zoë Ünal <zoe@example.com>"];
const TO: [&str; 2] = ["--to", "team@example.com"];

/// Every header line (up to the first blank line) fits in 78 columns and ends as `eol` says.
fn check_header_lines(msg: &[u8]) {
    let text = String::from_utf8_lossy(msg);
    for line in text
        .split('\n')
        .take_while(|l| !l.trim_end_matches('\r').is_empty())
    {
        assert!(
            line.trim_end_matches('\r').len() <= 78,
            "long header line {line:?}"
        );
    }
}

/// The files every round trip attaches: (file name on disk, contents).
fn sample_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let files = vec![
        ("random.bin".to_string(), noise(300_001, 7)),
        ("empty.dat".to_string(), Vec::new()),
        (
            "build.log".to_string(),
            "build ok ✔\r\nline two\n".as_bytes().to_vec(),
        ),
        ("Rechnung März – 2026.pdf".to_string(), noise(5000, 9)),
        (
            "noext".to_string(),
            b"\x00\x01binary with no extension".to_vec(),
        ),
    ];
    for (name, data) in &files {
        std::fs::write(dir.join(name), data).unwrap();
    }
    files
}

#[test]
fn round_trip_through_mail_parser() {
    let dir = TempDir::new("round_trip");
    let files = sample_files(&dir);
    let body = "Nightly build attached.\nGrüße aus Köln — all mostly ASCII here.\n";
    let mut args = vec![
        FROM[0],
        FROM[1],
        TO[0],
        TO[1],
        "--cc",
        "\"Lovelace, Ada\" <ada@example.com>",
        "--subject",
        "Build #451 ✔ — nächtlicher Bau mit einem sehr langen Betreff, der gefaltet werden muss",
    ];
    for (name, _) in &files {
        args.extend(["-a", name]);
    }
    for crlf in [false, true] {
        let mut args = args.clone();
        if crlf {
            args.push("--crlf");
        }
        let out = run(&dir, &args, body.as_bytes());
        let msg = ok(&out);
        check_header_lines(msg);
        if crlf {
            for (i, &b) in msg.iter().enumerate() {
                if b == b'\n' {
                    assert_eq!(msg[i - 1], b'\r', "bare LF at {i}");
                }
            }
        } else {
            assert!(!msg.contains(&b'\r'), "CR in LF output");
        }
        let parsed = MessageParser::default()
            .parse(msg)
            .expect("mail-parser parses it");
        assert_eq!(
            parsed.subject(),
            Some(
                "Build #451 ✔ — nächtlicher Bau mit einem sehr langen Betreff, der gefaltet werden muss"
            )
        );
        let from = parsed.from().unwrap().first().unwrap();
        assert_eq!(from.name(), Some("Zoë Ünal"));
        assert_eq!(from.address(), Some("zoe@example.com"));
        let cc = parsed.cc().unwrap().first().unwrap();
        assert_eq!(
            (cc.name(), cc.address()),
            (Some("Lovelace, Ada"), Some("ada@example.com"))
        );
        let text = parsed.body_text(0).unwrap().replace("\r\n", "\n");
        assert_eq!(text, body);
        let got: Vec<(String, String)> = parsed
            .attachments()
            .map(|p| {
                (
                    p.attachment_name().unwrap_or("").to_string(),
                    sha256(p.contents()),
                )
            })
            .collect();
        let want: Vec<(String, String)> =
            files.iter().map(|(n, d)| (n.clone(), sha256(d))).collect();
        assert_eq!(got, want);
        assert!(parsed.message_id().unwrap().contains('@'));
        assert!(parsed.date().is_some());
    }
}

#[test]
fn python_email_package_reads_the_same_parts() {
    let python = Path::new("/usr/bin/python3");
    assert!(
        python.exists(),
        "/usr/bin/python3 is missing: the interop test needs Debian's python3 (apt-get install python3)"
    );
    let dir = TempDir::new("python");
    let files = sample_files(&dir);
    std::fs::write(
        dir.join("page.html"),
        "<p>Grüße <img src=\"cid:logo.png\"></p>\n",
    )
    .unwrap();
    std::fs::write(dir.join("logo.png"), noise(2000, 3)).unwrap();
    let body = "Привет, это тело письма.\nSecond line.\n";
    for crlf in [false, true] {
        let mut args = vec![
            FROM[0],
            FROM[1],
            TO[0],
            TO[1],
            "--subject",
            "Grüße ✔ Build",
            "--html",
            "page.html",
            "--inline",
            "logo.png",
            "-o",
            "out.eml",
        ];
        for (name, _) in &files {
            args.extend(["-a", name]);
        }
        if crlf {
            args.push("--crlf");
        }
        ok(&run(&dir, &args, body.as_bytes()));
        let py = run::output(
            Command::new(python)
                .arg(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/tests/mime_interop.py"
                ))
                .arg(dir.join("out.eml")),
        );
        assert!(
            py.status.success(),
            "python: {}",
            String::from_utf8_lossy(&py.stderr)
        );
        let report = String::from_utf8(py.stdout).unwrap();
        let lines: Vec<Vec<&str>> = report.lines().map(|l| l.split('\t').collect()).collect();
        assert_eq!(lines[0], ["header", "Grüße ✔ Build", "Zoë Ünal", "0"]);
        let parts: Vec<(&str, &str, &str, &str)> = lines[1..]
            .iter()
            .map(|l| {
                assert_eq!(l[0], "part", "{report}");
                assert_eq!(l[5], "0", "defects in {l:?}");
                (l[1], l[2], l[3], l[4])
            })
            .collect();
        let html = "<p>Grüße <img src=\"cid:logo.png\"></p>\n";
        let mut want = vec![
            ("text/plain", "-", "-", sha256(body.as_bytes())),
            ("text/html", "-", "-", sha256(html.as_bytes())),
            (
                "image/png",
                "logo.png",
                "<logo.png>",
                sha256(&noise(2000, 3)),
            ),
        ];
        let types = [
            "application/octet-stream",
            "application/octet-stream",
            "text/plain",
            "application/pdf",
            "application/octet-stream",
        ];
        for ((name, data), t) in files.iter().zip(types) {
            want.push((t, name, "-", sha256(data)));
        }
        let got: Vec<(String, String, String, String)> = parts
            .iter()
            .map(|p| (p.0.into(), p.1.into(), p.2.into(), p.3.into()))
            .collect();
        let want: Vec<(String, String, String, String)> = want
            .into_iter()
            .map(|p| (p.0.into(), p.1.into(), p.2.into(), p.3))
            .collect();
        assert_eq!(got, want, "{report}");
    }
}

#[test]
fn html_with_inline_parts_is_alternative_around_related() {
    let dir = TempDir::new("html");
    std::fs::write(dir.join("page.html"), "<img src=\"cid:logo\">").unwrap();
    std::fs::write(dir.join("logo.png"), b"\x89PNG").unwrap();
    let out = run(
        &dir,
        &[
            FROM[0],
            FROM[1],
            "--html",
            "page.html",
            "--inline",
            "logo.png;cid=logo",
            "-a",
            "logo.png",
        ],
        b"plain\n",
    );
    let msg = String::from_utf8(ok(&out).to_vec()).unwrap();
    let mixed = msg.find("Content-Type: multipart/mixed;").unwrap();
    let alt = msg.find("Content-Type: multipart/alternative;").unwrap();
    let rel = msg
        .find("Content-Type: multipart/related; type=\"text/html\";")
        .unwrap();
    assert!(mixed < alt && alt < rel, "{msg}");
    assert!(msg.contains("Content-ID: <logo>\n"));
    assert!(msg.contains("Content-Disposition: inline; filename=\"logo.png\"\n"));
    let parsed = MessageParser::default().parse(msg.as_bytes()).unwrap();
    assert_eq!(parsed.body_html(0).unwrap(), "<img src=\"cid:logo\">");
    assert_eq!(parsed.body_text(0).unwrap(), "plain\n");
    // An HTML file that is not UTF-8 needs --charset: 65, nothing written.
    std::fs::write(dir.join("latin1.html"), b"<p>caf\xe9</p>").unwrap();
    let out = run(
        &dir,
        &[FROM[0], FROM[1], "--html", "latin1.html"],
        b"plain\n",
    );
    assert_eq!(out.status.code(), Some(65));
    assert!(out.stdout.is_empty());
    assert_eq!(
        stderr(&out),
        "mime-pack: latin1.html: the HTML is not UTF-8: give its charset with --charset\n"
    );
    let out = run(
        &dir,
        &[
            FROM[0],
            FROM[1],
            "--html",
            "latin1.html",
            "--charset",
            "iso-8859-1",
        ],
        b"plain\n",
    );
    assert!(
        String::from_utf8_lossy(ok(&out)).contains("Content-Type: text/html; charset=iso-8859-1\n")
    );
    // --inline without --html is a usage error.
    let out = run(&dir, &[FROM[0], FROM[1], "--inline", "logo.png"], b"");
    assert_eq!(out.status.code(), Some(64), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
}

/// (body bytes, extra flags) -> expected Content-Type and Content-Transfer-Encoding.
#[test]
fn charset_and_encoding_follow_the_content() {
    let dir = TempDir::new("encodings");
    let long_line = "x".repeat(1200) + "\n";
    let cases: Vec<(Vec<u8>, Vec<&str>, &str, &str)> = vec![
        (
            b"plain ascii\n".to_vec(),
            vec![],
            "text/plain; charset=us-ascii",
            "7bit",
        ),
        (
            b"no newline at the end".to_vec(),
            vec![],
            "text/plain; charset=us-ascii",
            "7bit",
        ),
        (
            b"QP keeps the missing newline missing \xc3\xa9".to_vec(),
            vec![],
            "text/plain; charset=utf-8",
            "quoted-printable",
        ),
        (
            "Grüße aus Köln, the build is green.\n".as_bytes().to_vec(),
            vec![],
            "text/plain; charset=utf-8",
            "quoted-printable",
        ),
        (
            "Привет мир, всё хорошо\n".as_bytes().to_vec(),
            vec![],
            "text/plain; charset=utf-8",
            "base64",
        ),
        (
            long_line.clone().into_bytes(),
            vec![],
            "text/plain; charset=us-ascii",
            "quoted-printable",
        ),
        (
            b"bare\rcarriage return".to_vec(),
            vec![],
            "text/plain; charset=us-ascii",
            "quoted-printable",
        ),
        (
            b"caf\xe9 cr\xe8me\n".to_vec(),
            vec![],
            "application/octet-stream",
            "base64",
        ),
        (
            b"caf\xe9 au lait, plus some more ASCII text here\n".to_vec(),
            vec!["--charset", "iso-8859-1"],
            "text/plain; charset=iso-8859-1",
            "quoted-printable",
        ),
    ];
    for (body, extra, ctype, cte) in cases {
        let mut args = vec![FROM[0], FROM[1]];
        args.extend(extra);
        let out = run(&dir, &args, &body);
        let msg = ok(&out);
        let text = String::from_utf8_lossy(msg);
        assert!(
            text.contains(&format!("\nContent-Type: {ctype}\n")),
            "{ctype}: {text}"
        );
        assert!(
            text.contains(&format!("\nContent-Transfer-Encoding: {cte}\n")),
            "{cte}: {text}"
        );
        let parsed = MessageParser::default().parse(msg).unwrap();
        let part = parsed.part(0).unwrap();
        let decoded = part.contents();
        if ctype.contains("utf-8") || ctype.contains("us-ascii") {
            let mut want = String::from_utf8_lossy(&body).replace("\r\n", "\n");
            // A message ends with a line break: a 7bit body without one gains it.
            if cte == "7bit" && !want.ends_with('\n') {
                want.push('\n');
            }
            let got = String::from_utf8_lossy(decoded).replace("\r\n", "\n");
            assert_eq!(got, want);
        } else if ctype.starts_with("application/") {
            assert_eq!(decoded, &body[..]);
        }
    }
}

#[test]
fn a_body_holding_boundary_like_lines_still_parses() {
    let dir = TempDir::new("boundary_body");
    std::fs::write(dir.join("a.bin"), noise(1000, 1)).unwrap();
    let body = "before\n--=_posthaste_AAAAAAAAAAAAAAAAAAAAAAAA\n--=_posthaste_AAAAAAAAAAAAAAAAAAAAAAAA--\n--\nafter\n";
    let out = run(&dir, &[FROM[0], FROM[1], "-a", "a.bin"], body.as_bytes());
    let msg = ok(&out);
    let parsed = MessageParser::default().parse(msg).unwrap();
    assert_eq!(parsed.body_text(0).unwrap(), body);
    assert_eq!(parsed.attachment(0).unwrap().contents(), noise(1000, 1));
    assert_eq!(parsed.attachment_count(), 1);
}

#[test]
fn empty_body_and_empty_attachment() {
    let dir = TempDir::new("empty");
    std::fs::write(dir.join("empty.txt"), b"").unwrap();
    let out = run(&dir, &[FROM[0], FROM[1], TO[0], TO[1]], b"");
    let msg = ok(&out);
    let parsed = MessageParser::default().parse(msg).unwrap();
    assert_eq!(parsed.body_text(0).as_deref().unwrap_or(""), "");
    assert!(String::from_utf8_lossy(msg).ends_with("Content-Transfer-Encoding: 7bit\n\n"));
    let out = run(
        &dir,
        &[FROM[0], FROM[1], "--body", "/dev/null", "-a", "empty.txt"],
        b"ignored",
    );
    let parsed = MessageParser::default().parse(ok(&out)).unwrap();
    let att = parsed.attachment(0).unwrap();
    assert_eq!(att.attachment_name(), Some("empty.txt"));
    assert!(att.contents().is_empty());
}

#[test]
fn a_100_mib_attachment_round_trips() {
    let dir = TempDir::new("big");
    let data = noise(100 << 20, 42);
    std::fs::write(dir.join("big.bin"), &data).unwrap();
    let want = sha256(&data);
    drop(data);
    ok(&run(
        &dir,
        &[
            FROM[0],
            FROM[1],
            "--body",
            "/dev/null",
            "-a",
            "big.bin",
            "-o",
            "big.eml",
        ],
        b"",
    ));
    let msg = std::fs::read(dir.join("big.eml")).unwrap();
    let parsed = MessageParser::default().parse(&msg).unwrap();
    let att = parsed.attachment(0).unwrap();
    assert_eq!(att.contents().len(), 100 << 20);
    assert_eq!(sha256(att.contents()), want);
}

#[test]
fn a_long_body_on_stdin_is_spooled_and_round_trips() {
    let dir = TempDir::new("long_stdin");
    // 1 MiB of mostly-ASCII text with long lines, past the in-memory look-ahead.
    let mut body = String::new();
    while body.len() < (1 << 20) {
        body.push_str(&"Grüße, long line without a break ".repeat(40));
        body.push('\n');
    }
    let out = run(&dir, &[FROM[0], FROM[1]], body.as_bytes());
    let msg = ok(&out);
    assert!(String::from_utf8_lossy(&msg[..2000]).contains("quoted-printable"));
    let parsed = MessageParser::default().parse(msg).unwrap();
    let text = parsed.body_text(0).unwrap();
    assert_eq!(text.len(), body.len());
    assert!(text == body, "the body changed on the way");
}

#[test]
fn header_injection_through_every_flag_is_refused() {
    let dir = TempDir::new("injection");
    std::fs::write(dir.join("f.txt"), b"x").unwrap();
    let evil = "x\r\nBcc: victim@example.com";
    let addr = "a@example.com\nBcc: victim@example.com";
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["--from".into(), addr.into()], "--from"),
        (vec!["--to".into(), addr.into()], "--to"),
        (vec!["--cc".into(), addr.into()], "--cc"),
        (vec!["--bcc".into(), addr.into()], "--bcc"),
        (vec!["--reply-to".into(), addr.into()], "--reply-to"),
        (
            vec![
                "--to".into(),
                format!("Evil\r\nBcc: v@x.org <a@example.com>"),
            ],
            "--to",
        ),
        (vec!["--subject".into(), evil.into()], "--subject"),
        (vec!["-s".into(), "x\nBcc: v@x.org".into()], "--subject"),
        (
            vec!["--header".into(), format!("X-Test: {evil}")],
            "--header",
        ),
        (
            vec!["--header".into(), "X-Test\nBcc: v@x.org: y".into()],
            "--header",
        ),
        (vec!["--header".into(), "Bad Name: y".into()], "--header"),
        (vec!["--header".into(), "Bcc: v@x.org".into()], "--header"),
        (
            vec!["--header".into(), "Content-Type: text/html".into()],
            "--header",
        ),
        (vec!["--header".into(), "no colon".into()], "--header"),
        (vec!["-a".into(), format!("f.txt;name={evil}")], "--attach"),
        (
            vec!["-a".into(), "f.txt;type=text/plain\nX-Evil: 1".into()],
            "--attach",
        ),
        (
            vec!["-a".into(), "f.txt;type=text/plain; charset=x".into()],
            "--attach",
        ),
        (
            vec![
                "--html".into(),
                "f.txt".into(),
                "--inline".into(),
                format!("f.txt;cid={evil}"),
            ],
            "--inline",
        ),
        (
            vec!["--charset".into(), "utf-8\nX-Evil: 1".into()],
            "--charset",
        ),
        (vec!["--body".into(), "f.txt\nX-Evil: 1".into()], "--body"),
        (vec!["--html".into(), "f.txt\nX-Evil: 1".into()], "--html"),
    ];
    for (extra, flag) in cases {
        let mut args: Vec<String> = if extra[0] == "--from" {
            vec![]
        } else {
            vec![FROM[0].into(), FROM[1].into()]
        };
        args.extend(extra.iter().cloned());
        if !args.contains(&"--body".to_string()) {
            args.extend(["--body".into(), "f.txt".into()]);
        }
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run(&dir, &argv, b"");
        assert_eq!(out.status.code(), Some(64), "{extra:?}: {}", stderr(&out));
        assert!(out.stdout.is_empty(), "{extra:?} wrote output");
        let err = stderr(&out);
        assert!(
            err.starts_with(&format!("mime-pack: {flag}: ")),
            "{extra:?}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

#[test]
fn non_ascii_addresses_need_smtputf8() {
    let dir = TempDir::new("smtputf8");
    let args = [
        FROM[0],
        FROM[1],
        "--to",
        "Jürgen <jürgen@bücher.de>",
        "--body",
        "/dev/null",
    ];
    let out = run(&dir, &args, b"");
    assert_eq!(out.status.code(), Some(64));
    assert_eq!(
        stderr(&out),
        "mime-pack: --to: a non-ASCII address needs --smtputf8: \"jürgen@bücher.de\"\n"
    );
    let mut with = args.to_vec();
    with.push("--smtputf8");
    let out = run(&dir, &with, b"");
    let parsed = MessageParser::default().parse(ok(&out)).unwrap();
    let to = parsed.to().unwrap().first().unwrap();
    assert_eq!(
        (to.name(), to.address()),
        (Some("Jürgen"), Some("jürgen@bücher.de"))
    );
}

#[test]
fn a_missing_attachment_fails_before_anything_is_written() {
    let dir = TempDir::new("missing");
    std::fs::write(dir.join("here.txt"), b"x").unwrap();
    let args = [FROM[0], FROM[1], "-a", "here.txt", "-a", "gone.pdf"];
    let out = run(&dir, &args, b"body");
    assert_eq!(out.status.code(), Some(66));
    assert!(out.stdout.is_empty());
    assert_eq!(
        stderr(&out),
        "mime-pack: gone.pdf: No such file or directory\n"
    );
    // With -o nothing is created either, and the body on stdin is not needed.
    let mut with_o = args.to_vec();
    with_o.extend(["-o", "out.eml"]);
    let out = run(&dir, &with_o, b"");
    assert_eq!(out.status.code(), Some(66));
    assert!(!dir.join("out.eml").exists());
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        1,
        "stray files left"
    );
    // A directory is no attachment; a missing body file or html is the same failure.
    for (flag, what) in [("-a", "."), ("--body", "nobody.txt"), ("--html", "no.html")] {
        let out = run(&dir, &[FROM[0], FROM[1], flag, what], b"");
        assert_eq!(out.status.code(), Some(66), "{flag} {what}");
        assert!(out.stdout.is_empty());
        assert!(stderr(&out).starts_with(&format!("mime-pack: {what}: ")));
    }
}

#[test]
fn output_file_is_written_atomically() {
    let dir = TempDir::new("output");
    ok(&run(&dir, &[FROM[0], FROM[1], "-o", "msg.eml"], b"hello\n"));
    let msg = std::fs::read(dir.join("msg.eml")).unwrap();
    assert!(msg.ends_with(b"\n\nhello\n"));
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["msg.eml"], "no temporary file left behind");
    // Overwriting replaces the file.
    ok(&run(
        &dir,
        &[FROM[0], FROM[1], "-o", "msg.eml"],
        b"second\n",
    ));
    assert!(
        std::fs::read(dir.join("msg.eml"))
            .unwrap()
            .ends_with(b"\n\nsecond\n")
    );
    // A folder that does not exist: 73, naming the folder; --create-dirs makes it.
    let out = run(&dir, &[FROM[0], FROM[1], "-o", "no/such/dir/m.eml"], b"x");
    assert_eq!(out.status.code(), Some(73));
    assert_eq!(
        stderr(&out),
        "mime-pack: no/such/dir: no such folder (--create-dirs creates it)\n"
    );
    ok(&run(
        &dir,
        &[FROM[0], FROM[1], "--create-dirs", "-o", "no/such/dir/m.eml"],
        b"x",
    ));
    assert!(dir.join("no/such/dir/m.eml").is_file());
    // -o - is standard output.
    let out = run(&dir, &[FROM[0], FROM[1], "-o", "-"], b"x\n");
    assert!(ok(&out).ends_with(b"\n\nx\n"));
}

/// `-o` into a folder the tool may write but not read (a drop box, mode 0300): the file is
/// renamed into place, but the folder cannot be opened to sync the rename, so the file may
/// not survive a crash. That is 74, naming the file and the folder, not a silent success.
/// (Root reads any folder: as root the tool runs without that capability, through setpriv.)
#[test]
fn a_folder_that_cannot_be_synced_after_dash_o_is_74() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("output-nosync");
    let drop_box = dir.join("drop");
    std::fs::create_dir(&drop_box).unwrap();
    std::fs::set_permissions(&drop_box, std::fs::Permissions::from_mode(0o300)).unwrap();
    let args = [FROM[0], FROM[1], "-o", "drop/m.eml"];
    let mut cmd = if unsafe { libc::geteuid() } == 0 {
        let mut c = Command::new("setpriv");
        c.args(["--bounding-set=-dac_override,-dac_read_search", "--", BIN]);
        c
    } else {
        Command::new(BIN)
    };
    let out = run::output_with_input(cmd.args(args).current_dir(&dir), b"hello\n");
    std::fs::set_permissions(&drop_box, std::fs::Permissions::from_mode(0o700)).unwrap();
    assert_eq!(out.status.code(), Some(74), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "mime-pack: drop/m.eml: written, but its folder drop could not be synced (Permission denied): it may not survive a crash\n"
    );
    assert!(
        std::fs::read(drop_box.join("m.eml"))
            .unwrap()
            .ends_with(b"\n\nhello\n")
    );
    assert_eq!(names(&drop_box), ["m.eml"], "no temporary file left behind");
}

#[test]
fn a_closed_stdout_ends_quietly_with_status_0() {
    let dir = TempDir::new("closed_stdout");
    std::fs::write(dir.join("big.bin"), noise(8 << 20, 5)).unwrap();
    let mut child = run::spawn(
        Command::new(BIN)
            .args([FROM[0], FROM[1], "--body", "/dev/null", "-a", "big.bin"])
            .current_dir(&dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    let mut stdout = child.stdout.take().unwrap();
    let mut head = [0u8; 100];
    stdout.read_exact(&mut head).unwrap();
    drop(stdout); // like `| head -c 100`
    let out = child.wait_with_output();
    assert!(head.starts_with(b"Date: "));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stderr(&out), "");
}

#[test]
fn usage_errors_exit_64_and_help_exits_0() {
    let dir = TempDir::new("usage");
    let out = run(&dir, &["--to", "a@example.com"], b"");
    assert_eq!(out.status.code(), Some(64));
    assert!(stderr(&out).starts_with("mime-pack: "));
    let out = run(&dir, &[FROM[0], FROM[1], "--no-such-flag"], b"");
    assert_eq!(out.status.code(), Some(64));
    assert_eq!(
        stderr(&out),
        "mime-pack: unknown option '--no-such-flag' (see --help)\n"
    );
    // A recipient or a file where smtp-send and mail(1) take them is no unknown option.
    for arg in ["ops@example.com", "report.pdf", "-"] {
        let out = run(&dir, &["-s", "subj", FROM[0], FROM[1], arg], b"");
        assert_eq!(out.status.code(), Some(64), "{arg}");
        assert_eq!(
            stderr(&out),
            format!(
                "mime-pack: unexpected argument '{arg}': mime-pack takes no arguments: recipients go in --to ADDR, files in -a FILE\n"
            )
        );
    }
    let out = run(&dir, &["--help"], b"");
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("smtp-send -t"));
    // Standard input can feed one input only.
    let out = run(&dir, &[FROM[0], FROM[1], "-a", "-"], b"");
    assert_eq!(out.status.code(), Some(64));
    assert_eq!(
        stderr(&out),
        "mime-pack: --attach: standard input is already used by --body (give --body FILE)\n"
    );
}

#[test]
fn an_attachment_can_come_from_standard_input() {
    let dir = TempDir::new("stdin_attach");
    std::fs::write(dir.join("b.txt"), b"see attached\n").unwrap();
    let data = noise(200_000, 11);
    let out = run(
        &dir,
        &[
            FROM[0],
            FROM[1],
            "--body",
            "b.txt",
            "--attach=-;name=dump.tar",
        ],
        &data,
    );
    let parsed = MessageParser::default().parse(ok(&out)).unwrap();
    let att = parsed.attachment(0).unwrap();
    assert_eq!(att.attachment_name(), Some("dump.tar"));
    assert_eq!(att.content_type().map(|c| c.ctype()), Some("application"));
    assert_eq!(sha256(att.contents()), sha256(&data));
}

#[test]
fn custom_headers_date_and_message_id() {
    let dir = TempDir::new("custom");
    let out = run(
        &dir,
        &[
            FROM[0],
            FROM[1],
            "--header",
            "X-Build: 451",
            "--header",
            "Date: Thu, 01 Jan 2026 00:00:00 +0000",
            "--header",
            "Message-ID: <fixed@example.com>",
            "--header",
            "X-Note: Grüße",
            "--reply-to",
            "ops@example.com",
            "--bcc",
            "hidden@example.com",
            "--body",
            "/dev/null",
        ],
        b"",
    );
    let msg = String::from_utf8(ok(&out).to_vec()).unwrap();
    assert!(
        msg.starts_with("Date: Thu, 01 Jan 2026 00:00:00 +0000\n"),
        "{msg}"
    );
    assert_eq!(msg.matches("Date: ").count(), 1);
    assert_eq!(msg.matches("Message-ID: ").count(), 1);
    let parsed = MessageParser::default().parse(msg.as_bytes()).unwrap();
    assert_eq!(parsed.message_id(), Some("fixed@example.com"));
    assert_eq!(parsed.header_raw("X-Build").map(str::trim), Some("451"));
    assert_eq!(
        parsed.header_raw("X-Note").map(str::trim),
        Some("=?UTF-8?B?R3LDvMOfZQ==?=")
    );
    assert_eq!(
        parsed.bcc().unwrap().first().unwrap().address(),
        Some("hidden@example.com")
    );
    assert_eq!(
        parsed.reply_to().unwrap().first().unwrap().address(),
        Some("ops@example.com")
    );
}

#[test]
fn generated_man_page_and_completions_are_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut seen = 0;
    for (path, contents) in crate::render::render_all() {
        if !path.to_string_lossy().contains("mime-pack") {
            continue;
        }
        seen += 1;
        let on_disk = std::fs::read(root.join(&path)).unwrap_or_default();
        assert!(
            on_disk == contents,
            "{} is stale: run `cargo run --example generate`",
            path.display()
        );
    }
    assert_eq!(seen, 6);
}

/// Runs `sh -c 'exec mime-pack "$@" REDIRECTS'` in `dir`: how a user closes or reopens
/// standard output before the program starts (`>&-`, `1</dev/null`).
fn run_redirected(dir: &Path, redirects: &str, args: &[&str]) -> Output {
    run::output(
        Command::new("/bin/sh")
            .arg("-c")
            .arg(format!("exec \"$0\" \"$@\" {redirects}"))
            .arg(BIN)
            .args(args)
            .current_dir(dir),
    )
}

#[test]
fn a_stdout_that_was_never_open_is_an_io_error() {
    let dir = TempDir::new("stdout_never_open");
    std::fs::write(dir.join("note.txt"), b"hello\n").unwrap();
    let args = [FROM[0], FROM[1], "--body", "note.txt"];
    // Closed before start (the runtime puts /dev/null there; the data would be lost), or
    // open for reading only: nothing can reach a reader, so it is 74, not a quiet 0.
    for redirects in [">&-", "1</dev/null"] {
        let out = run_redirected(&dir, redirects, &args);
        assert_eq!(out.status.code(), Some(74), "{redirects}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.starts_with("mime-pack: standard output: "),
            "{redirects}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    // A full disk is a write error too.
    let out = run_redirected(&dir, ">/dev/full", &args);
    assert_eq!(out.status.code(), Some(74));
    assert_eq!(
        stderr(&out),
        "mime-pack: standard output: No space left on device\n"
    );
    // Writing into /dev/null on purpose is fine, however it was opened.
    for redirects in [">/dev/null", "1<>/dev/null"] {
        let out = run_redirected(&dir, redirects, &args);
        assert_eq!(out.status.code(), Some(0), "{redirects}: {}", stderr(&out));
        assert_eq!(stderr(&out), "");
    }
    // With -o FILE a closed standard output does not matter.
    let out = run_redirected(
        &dir,
        ">&-",
        &[FROM[0], FROM[1], "--body", "note.txt", "-o", "m.eml"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        std::fs::read(dir.join("m.eml"))
            .unwrap()
            .ends_with(b"\n\nhello\n")
    );
}

#[test]
fn an_html_file_that_changes_after_its_scan_fails_with_74() {
    let dir = TempDir::new("changed_html");
    // A text body far larger than the pipe and the output buffer: mime-pack blocks writing
    // it until the test reads, and it has scanned the HTML before it writes anything.
    let mut body = String::new();
    while body.len() < 1 << 20 {
        body.push_str("a plain 7bit line of the text body\n");
    }
    std::fs::write(dir.join("body.txt"), &body).unwrap();
    let html = "<p>the HTML alternative, in plain ASCII</p>\n".repeat(20);
    let changes: [(&str, Vec<u8>); 2] = [
        ("shrinks", html.as_bytes()[..100].to_vec()),
        (
            "grows an 8-bit byte",
            format!("{html}<p>caf\u{e9}</p>\n").into_bytes(),
        ),
    ];
    for (what, after) in changes {
        std::fs::write(dir.join("page.html"), &html).unwrap();
        let mut child = run::spawn(
            Command::new(BIN)
                .args([
                    FROM[0],
                    FROM[1],
                    "--body",
                    "body.txt",
                    "--html",
                    "page.html",
                ])
                .current_dir(&dir)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped()),
        );
        let mut stdout = child.stdout.take().unwrap();
        let mut first = [0u8; 1];
        stdout.read_exact(&mut first).unwrap();
        std::fs::write(dir.join("page.html"), &after).unwrap();
        let mut rest = Vec::new();
        stdout.read_to_end(&mut rest).unwrap();
        let out = child.wait_with_output();
        assert_eq!(out.status.code(), Some(74), "{what}: {}", stderr(&out));
        assert_eq!(
            stderr(&out),
            "mime-pack: page.html: changed while being read\n",
            "{what}"
        );
        // What was sent of the HTML part is a prefix of the file as it was scanned, and the
        // message is left without its closing boundary.
        let text = String::from_utf8_lossy(&rest);
        assert!(!text.contains("caf"), "{what}: the changed bytes were sent");
        assert!(
            !text.trim_end().ends_with("--"),
            "{what}: the message looks complete"
        );
    }
}

/// Starts `mime-pack ... -o out.eml` (through `sh -c` with `prelude` before the exec) with an
/// attachment read from a pipe that the test keeps open, feeds it 1 MiB and waits until the
/// temporary file holds data. Returns the child and the pipe.
fn packing_from_an_open_pipe(
    dir: &Path,
    prelude: &str,
) -> (run::Watched, std::process::ChildStdin) {
    let mut child = run::spawn(
        Command::new("/bin/sh")
            .arg("-c")
            .arg(format!("{prelude} exec \"$0\" \"$@\""))
            .arg(BIN)
            .args([
                FROM[0],
                FROM[1],
                "--body",
                "note.txt",
                "--attach=-;name=x",
                "-o",
                "out.eml",
            ])
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped()),
    );
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&noise(1 << 20, 3)).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let part = std::fs::read_dir(dir).unwrap().find_map(|e| {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            (name.starts_with("out.eml.") && name.ends_with(".part"))
                .then(|| e.metadata().unwrap().len())
        });
        if part.is_some_and(|len| len > 0) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no .part file appeared: {:?}",
            names(dir)
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    (child, stdin)
}

#[test]
fn a_signal_during_dash_o_removes_the_temporary_file() {
    use std::os::unix::process::ExitStatusExt;
    let dir = TempDir::new("signal");
    std::fs::write(dir.join("note.txt"), b"see attached\n").unwrap();
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        let (mut child, stdin) = packing_from_an_open_pipe(&dir, "");
        // SAFETY: kill(2) on the child we started and have not yet waited for.
        assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, sig) }, 0);
        let status = child.wait();
        drop(stdin);
        assert_eq!(status.signal(), Some(sig), "{status:?}");
        assert_eq!(names(&dir), ["note.txt"], "signal {sig} left files behind");
    }
    // A signal the caller ignores (nohup, a background job) stays ignored: the run finishes.
    let (mut child, stdin) = packing_from_an_open_pipe(&dir, "trap '' HUP;");
    // SAFETY: as above.
    assert_eq!(
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGHUP) },
        0
    );
    std::thread::sleep(std::time::Duration::from_millis(200));
    drop(stdin);
    let status = child.wait();
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert_eq!(names(&dir), ["note.txt", "out.eml"]);
}

#[test]
fn another_name_for_standard_input_counts_as_standard_input() {
    let dir = TempDir::new("stdin_aliases");
    std::fs::write(dir.join("note.txt"), b"see attached\n").unwrap();
    std::fs::write(dir.join("page.html"), b"<p>hi</p>\n").unwrap();
    std::os::unix::fs::symlink("/dev/stdin", dir.join("link")).unwrap();
    // The body comes from standard input (the default): no other input may read it.
    for alias in ["/dev/stdin", "/dev/fd/0", "/proc/self/fd/0", "link"] {
        let cases: [(Vec<&str>, &str); 3] = [
            (vec!["-a", alias], "--attach"),
            (vec!["--html", alias], "--html"),
            (vec!["--html", "page.html", "--inline", alias], "--inline"),
        ];
        for (extra, flag) in cases {
            let mut args = vec![FROM[0], FROM[1]];
            args.extend(&extra);
            let out = run(&dir, &args, b"the body\n");
            assert_eq!(out.status.code(), Some(64), "{extra:?}: {}", stderr(&out));
            assert!(out.stdout.is_empty());
            assert_eq!(
                stderr(&out),
                format!(
                    "mime-pack: {flag}: {alias} is standard input, which is already used by --body (give --body FILE)\n"
                ),
                "{extra:?}"
            );
        }
    }
    // The body named by another name for standard input, and `-a -` as well.
    let out = run(
        &dir,
        &[FROM[0], FROM[1], "--body", "/dev/stdin", "-a", "-"],
        b"x",
    );
    assert_eq!(out.status.code(), Some(64));
    assert_eq!(
        stderr(&out),
        "mime-pack: --attach: standard input is already used by --body (give --body FILE)\n"
    );
    // Two attachments from standard input, the body from a file: no --body hint.
    let out = run(
        &dir,
        &[
            FROM[0],
            FROM[1],
            "--body",
            "note.txt",
            "--attach=-",
            "-a",
            "/dev/fd/0",
        ],
        b"x",
    );
    assert_eq!(out.status.code(), Some(64));
    assert_eq!(
        stderr(&out),
        "mime-pack: --attach: /dev/fd/0 is standard input, which is already used by --attach\n"
    );
    // One reader of standard input, by any name, is fine.
    let out = run(
        &dir,
        &[FROM[0], FROM[1], "--body", "/dev/stdin"],
        b"by name\n",
    );
    assert!(ok(&out).ends_with(b"\n\nby name\n"));
    let out = run(
        &dir,
        &[
            FROM[0],
            FROM[1],
            "--body",
            "note.txt",
            "-a",
            "/dev/stdin;name=d.bin",
        ],
        b"data",
    );
    let parsed = MessageParser::default().parse(ok(&out)).unwrap();
    assert_eq!(parsed.attachment(0).unwrap().contents(), b"data");
    // A regular file on standard input can be opened again by name: each reader gets its own.
    let child = run::output_with_stdin(
        Command::new(BIN)
            .args([FROM[0], FROM[1], "-a", "/dev/stdin;name=copy.txt"])
            .current_dir(&dir),
        std::fs::File::open(dir.join("note.txt")).unwrap(),
    );
    let parsed = MessageParser::default().parse(ok(&child)).unwrap();
    assert_eq!(parsed.body_text(0).unwrap(), "see attached\n");
    assert_eq!(parsed.attachment(0).unwrap().contents(), b"see attached\n");
}

/// Every line of the message, header and body, is at most 998 bytes without its line break
/// (RFC 5322 2.1.1).
fn check_line_limit(msg: &[u8]) {
    for (i, line) in msg.split(|&b| b == b'\n').enumerate() {
        let len = line.strip_suffix(b"\r").unwrap_or(line).len();
        assert!(
            len <= 998,
            "line {i} has {len} bytes: {:?}",
            String::from_utf8_lossy(&line[..80])
        );
    }
}

#[test]
fn long_names_and_values_fold_or_are_refused() {
    let dir = TempDir::new("long_values");
    std::fs::write(dir.join("f.bin"), b"\x00\x01").unwrap();
    std::fs::write(dir.join("p.html"), b"<p>x</p>").unwrap();
    let atom = "A".repeat(5000);
    let words = "Ada Lovelace ".repeat(400).trim_end().to_string();
    let quoted = "Lovelace, Ada; ".repeat(330).trim_end().to_string();
    let umlauts = "Zoë Ünal ".repeat(500).trim_end().to_string();
    let local900 = "l".repeat(900);
    let many: Vec<String> = (0..300).map(|i| format!("user{i}@example.com")).collect();
    let to = [
        format!("{atom} <atom@example.com>"),
        format!("{words} <words@example.com>"),
        format!("\"{quoted}\" <quoted@example.com>"),
        format!("{umlauts} <umlauts@example.com>"),
        format!("{local900}@example.com"),
        many.join(", "),
    ];
    let long_name = format!("{}.pdf", "Rechnung März ".repeat(300));
    let attach = format!("f.bin;name={long_name}");
    let mut args = vec![
        "--from".to_string(),
        format!("{atom} <from@example.com>"),
        "--subject".into(),
        "x".repeat(5000),
        "--header".into(),
        format!("X-Long: {}", "y".repeat(5000)),
        "--body".into(),
        "/dev/null".into(),
        "-a".into(),
        attach,
    ];
    for t in &to {
        args.extend(["--to".to_string(), t.clone()]);
    }
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&dir, &argv, b"");
    let msg = ok(&out);
    check_line_limit(msg);
    let parsed = MessageParser::default().parse(msg).unwrap();
    assert_eq!(
        parsed.from().unwrap().first().unwrap().name(),
        Some(atom.as_str())
    );
    let got: Vec<(Option<&str>, Option<&str>)> = parsed
        .to()
        .unwrap()
        .iter()
        .map(|a| (a.name(), a.address()))
        .collect();
    assert_eq!(got[0], (Some(atom.as_str()), Some("atom@example.com")));
    assert_eq!(got[1], (Some(words.as_str()), Some("words@example.com")));
    assert_eq!(got[2], (Some(quoted.as_str()), Some("quoted@example.com")));
    assert_eq!(
        got[3],
        (Some(umlauts.as_str()), Some("umlauts@example.com"))
    );
    assert_eq!(got[4].1, Some(format!("{local900}@example.com").as_str()));
    assert_eq!(got.len(), 5 + many.len());
    assert_eq!(
        parsed.attachment(0).unwrap().attachment_name(),
        Some(long_name.as_str())
    );

    // What cannot be folded (a single address, Content-ID, media type or charset that would
    // not fit a line) is refused, naming the flag, before anything is written.
    let long_local = format!("{}@example.com", "l".repeat(5000));
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["--to".into(), long_local.clone()], "--to"),
        (vec!["--cc".into(), format!("Ada <{long_local}>")], "--cc"),
        (
            vec!["--reply-to".into(), format!("a@example.com, {long_local}")],
            "--reply-to",
        ),
        (
            vec!["--to".into(), format!("b@{}.example.com", "d".repeat(1000))],
            "--to",
        ),
        (
            vec![
                "--html".into(),
                "p.html".into(),
                "--inline".into(),
                format!("f.bin;cid={}", "c".repeat(990)),
            ],
            "--inline",
        ),
        (
            vec![
                "--html".into(),
                "p.html".into(),
                "--inline".into(),
                format!("f.bin;name={}.png", "n".repeat(990)),
            ],
            "--inline",
        ),
        (
            vec![
                "-a".into(),
                format!("f.bin;type=application/{}", "t".repeat(5000)),
            ],
            "--attach",
        ),
        (
            vec!["-a".into(), format!("f.bin;charset={}", "c".repeat(5000))],
            "--attach",
        ),
        (vec!["--charset".into(), "c".repeat(5000)], "--charset"),
    ];
    for (extra, flag) in cases {
        let mut args: Vec<String> = vec![
            FROM[0].into(),
            FROM[1].into(),
            "--body".into(),
            "/dev/null".into(),
        ];
        args.extend(extra.iter().cloned());
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run(&dir, &argv, b"");
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(64), "{flag}: {err}");
        assert!(out.stdout.is_empty());
        assert!(err.starts_with(&format!("mime-pack: {flag}: ")), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.len() < 300, "the message quotes the whole value: {err}");
    }
}

/// The header section of a message, unfolded: (name, value) per field.
fn unfolded_fields(msg: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(msg);
    let head = text.split("\n\n").next().unwrap();
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in head.split('\n') {
        if line.starts_with([' ', '\t']) {
            fields.last_mut().unwrap().1.push_str(line);
        } else {
            let (n, v) = line.split_once(':').unwrap();
            fields.push((n.to_string(), v.to_string()));
        }
    }
    fields
}

#[test]
fn message_id_fields_fold_at_whitespace_and_are_never_encoded() {
    let dir = TempDir::new("msg_ids");
    let ids: Vec<String> = (0..30)
        .map(|i| format!("{i:02}.{}@mail.example.com", "r".repeat(50 + i)))
        .collect();
    let references = ids
        .iter()
        .map(|i| format!("<{i}>"))
        .collect::<Vec<_>>()
        .join(" ");
    let long_id = format!("{}@example.com", "m".repeat(500));
    let reply_id = format!("{}@example.com", "p".repeat(100));
    let args = [
        FROM[0].to_string(),
        FROM[1].to_string(),
        "--body".into(),
        "/dev/null".into(),
        "--header".into(),
        format!("Message-ID: <{long_id}>"),
        "--header".into(),
        format!("In-Reply-To: <{reply_id}>"),
        "--header".into(),
        format!("References: {references}"),
        "--header".into(),
        format!("Resent-Message-ID: <{reply_id}>"),
        "--header".into(),
        "Date: Thu, 01 Jan 2026 00:00:00 +0000".into(),
    ];
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&dir, &argv, b"");
    let msg = ok(&out);
    check_line_limit(msg);
    let text = String::from_utf8_lossy(msg);
    // Folded only at the whitespace between ids: unfolding gives the value back exactly.
    let fields = unfolded_fields(msg);
    let field = |n: &str| {
        fields
            .iter()
            .find(|f| f.0 == n)
            .map(|f| f.1.trim().to_string())
    };
    for name in [
        "Message-ID",
        "In-Reply-To",
        "References",
        "Resent-Message-ID",
    ] {
        let value = field(name).unwrap();
        assert!(!value.contains("=?"), "encoded-word in {name}: {value}");
    }
    assert_eq!(field("References").as_deref(), Some(references.as_str()));
    assert_eq!(field("Message-ID"), Some(format!("<{long_id}>")));
    assert!(
        text.lines().filter(|l| l.starts_with(" <")).count() >= 20,
        "{text}"
    );
    let references_lines = text
        .lines()
        .skip_while(|l| !l.starts_with("References:"))
        .skip(1)
        .take_while(|l| l.starts_with(' '));
    for l in references_lines {
        assert!(
            l.starts_with(" <") && l.ends_with('>'),
            "folded inside an id: {l:?}"
        );
    }
    let parsed = MessageParser::default().parse(msg).unwrap();
    assert_eq!(parsed.message_id(), Some(long_id.as_str()));
    assert_eq!(parsed.in_reply_to().as_text(), Some(reply_id.as_str()));
    let got: Vec<&str> = parsed
        .references()
        .as_text_list()
        .unwrap()
        .iter()
        .map(|c| c.as_ref())
        .collect();
    assert_eq!(got, ids);

    // Ids written without space between them are folded between them all the same.
    let run_refs = |value: &str| {
        let h = format!("References: {value}");
        run(
            &dir,
            &[FROM[0], FROM[1], "--body", "/dev/null", "--header", &h],
            b"",
        )
    };
    let glued = ids.iter().map(|i| format!("<{i}>")).collect::<String>();
    let out = run_refs(&glued);
    let msg = ok(&out);
    check_line_limit(msg);
    let parsed = MessageParser::default().parse(msg).unwrap();
    let got: Vec<&str> = parsed
        .references()
        .as_text_list()
        .unwrap()
        .iter()
        .map(|c| c.as_ref())
        .collect();
    assert_eq!(got, ids);

    // Non-ASCII, or one id longer than a line: refused, naming --header.
    let too_long = format!("<{}@example.com>", "x".repeat(1000));
    for (h, why) in [
        (
            "References: <a@example.com> <zoë@example.com>".to_string(),
            "non-ASCII",
        ),
        (
            "In-Reply-To: <caf\u{e9}@example.com>".to_string(),
            "non-ASCII",
        ),
        ("Message-ID: <ü@example.com>".to_string(), "non-ASCII"),
        (
            "Resent-Message-ID: <ü@example.com>".to_string(),
            "non-ASCII",
        ),
        ("Date: Donnerstag, 1. Jänner 2026".to_string(), "non-ASCII"),
        (
            format!("References: <a@example.com> {too_long}"),
            "too long",
        ),
        (format!("Message-ID: {too_long}"), "too long"),
    ] {
        let out = run(
            &dir,
            &[FROM[0], FROM[1], "--body", "/dev/null", "--header", &h],
            b"",
        );
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(64), "{why}: {h}: {err}");
        assert!(out.stdout.is_empty());
        assert!(err.starts_with("mime-pack: --header: "), "{err}");
        assert_eq!(err.lines().count(), 1);
    }
}

/// Like [`run`], with arguments that need not be UTF-8.
fn run_os(dir: &Path, args: &[&std::ffi::OsStr], stdin: &[u8]) -> Output {
    run::output_with_input(Command::new(BIN).args(args).current_dir(dir), stdin)
}

#[test]
fn file_names_that_are_not_utf8_can_be_attached() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let dir = TempDir::new("non_utf8_names");
    let os = |b: &'static [u8]| OsStr::from_bytes(b);
    std::fs::write(dir.join(os(b"\xff.bin")), b"\x00binary\xff").unwrap();
    std::fs::write(dir.join(os(b"caf\xe9.txt")), b"latin-1 named body\n").unwrap();
    std::fs::write(dir.join(os(b"\xfe.html")), b"<img src=\"cid:logo\">\n").unwrap();
    std::fs::write(dir.join(os(b"\xfd\xfc.png")), b"\x89PNG").unwrap();
    let from = [os(b"--from"), os(b"a@example.com")];

    // name= gives the name; the path is only a path.
    let mut args = from.to_vec();
    args.extend([
        os(b"--body"),
        os(b"caf\xe9.txt"),
        os(b"-a"),
        os(b"\xff.bin;name=x.bin"),
    ]);
    let out = run_os(&dir, &args, b"");
    let parsed = MessageParser::default().parse(ok(&out)).unwrap();
    assert_eq!(parsed.body_text(0).unwrap(), "latin-1 named body\n");
    let att = parsed.attachment(0).unwrap();
    assert_eq!(att.attachment_name(), Some("x.bin"));
    assert_eq!(att.contents(), b"\x00binary\xff");

    // Without name=, each byte that is not UTF-8 becomes `_`, as mutt does.
    let mut args = from.to_vec();
    args.extend([
        os(b"--body"),
        os(b"/dev/null"),
        os(b"-a"),
        os(b"\xff.bin"),
        os(b"--html"),
        os(b"\xfe.html"),
        os(b"--inline"),
        os(b"\xfd\xfc.png"),
    ]);
    let out = run_os(&dir, &args, b"");
    let msg = ok(&out);
    let text = String::from_utf8_lossy(msg);
    assert!(text.contains("Content-ID: <__.png>"), "{text}");
    let parsed = MessageParser::default().parse(msg).unwrap();
    assert_eq!(parsed.body_html(0).unwrap(), "<img src=\"cid:logo\">\n");
    let names: Vec<&str> = parsed
        .attachments()
        .map(|p| p.attachment_name().unwrap_or(""))
        .collect();
    assert_eq!(names, ["__.png", "_.bin"]);

    // The values after ;name=, ;type=... go into headers: they must be UTF-8.
    let mut args = from.to_vec();
    args.extend([
        os(b"--body"),
        os(b"/dev/null"),
        os(b"-a"),
        os(b"\xff.bin;name=\xff.bin"),
    ]);
    let out = run_os(&dir, &args, b"");
    assert_eq!(out.status.code(), Some(64));
    assert_eq!(
        stderr(&out),
        "mime-pack: --attach: name= is not UTF-8: \"\\xFF.bin;name=\\xFF.bin\"\n"
    );
    // A missing file is named as closely as the terminal can show it.
    let mut args = from.to_vec();
    args.extend([
        os(b"--body"),
        os(b"/dev/null"),
        os(b"-a"),
        os(b"gone\xff.bin"),
    ]);
    let out = run_os(&dir, &args, b"");
    assert_eq!(out.status.code(), Some(66));
    assert_eq!(
        stderr(&out),
        "mime-pack: gone\u{fffd}.bin: No such file or directory\n"
    );
}

#[test]
fn output_onto_a_link_a_fifo_or_a_folder() {
    use std::os::unix::fs::{FileTypeExt, symlink};
    let dir = TempDir::new("output_special");
    let run_to = |out: &str| {
        run(
            &dir,
            &[FROM[0], FROM[1], TO[0], TO[1], "-o", out],
            b"hello\n",
        )
    };
    // A link the user names is followed: its target is replaced, the link stays.
    std::fs::write(dir.join("real.eml"), b"old").unwrap();
    symlink("real.eml", dir.join("link.eml")).unwrap();
    ok(&run_to("link.eml"));
    assert!(
        std::fs::symlink_metadata(dir.join("link.eml"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(
        std::fs::read(dir.join("real.eml"))
            .unwrap()
            .ends_with(b"\n\nhello\n")
    );
    // A FIFO is written into, never replaced by a regular file.
    let fifo = dir.join("pipe");
    mkfifo(&fifo);
    let (tx, rx) = std::sync::mpsc::channel();
    {
        let fifo = fifo.clone();
        std::thread::spawn(move || tx.send(std::fs::read(fifo).unwrap()));
    }
    ok(&run_to("pipe"));
    // Were the FIFO replaced, its reader would wait forever: fail instead of hanging.
    let read = rx
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("the FIFO's reader got nothing");
    assert!(read.ends_with(b"\n\nhello\n"));
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo()
    );
    // A folder is refused before anything is written.
    std::fs::create_dir(dir.join("folder")).unwrap();
    let out = run_to("folder");
    assert_eq!(out.status.code(), Some(73), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        format!("mime-pack: {}: is a folder\n", "folder")
    );
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["folder", "link.eml", "pipe", "real.eml"]);
}

#[test]
fn mail_users_short_flags_and_email_from_the_environment() {
    let dir = TempDir::new("shortflags");
    let with_env = |email: Option<&str>, args: &[&str]| {
        let mut cmd = Command::new(BIN);
        cmd.args(args).current_dir(&*dir).env_remove("EMAIL");
        if let Some(e) = email {
            cmd.env("EMAIL", e);
        }
        run::output_with_input(&mut cmd, b"hi\n")
    };
    let out = with_env(
        None,
        &[
            "-r",
            "ada@example.com",
            "--to",
            "b@example.com",
            "-c",
            "c@example.com",
            "-b",
            "d@example.com",
        ],
    );
    let msg = MessageParser::default().parse(ok(&out)).unwrap();
    assert_eq!(
        msg.from().unwrap().first().unwrap().address(),
        Some("ada@example.com")
    );
    assert_eq!(
        msg.cc().unwrap().first().unwrap().address(),
        Some("c@example.com")
    );
    assert_eq!(
        msg.bcc().unwrap().first().unwrap().address(),
        Some("d@example.com")
    );
    // $EMAIL is the author when --from is not given, as with mutt and mail(1).
    let out = with_env(
        Some("Env Author <env@example.com>"),
        &["--to", "b@example.com"],
    );
    let msg = MessageParser::default().parse(ok(&out)).unwrap();
    assert_eq!(
        msg.from().unwrap().first().unwrap().address(),
        Some("env@example.com")
    );
    // Neither: a usage error that says both ways.
    let out = with_env(None, &["--to", "b@example.com"]);
    assert_eq!(out.status.code(), Some(64));
    assert_eq!(
        stderr(&out),
        "mime-pack: --from ADDR is needed (or $EMAIL set to the author's address)\n"
    );
    // A mutt habit gets a pointer.
    let out = with_env(None, &["-i", "x.txt"]);
    assert_eq!(out.status.code(), Some(64));
    assert!(stderr(&out).contains("--body FILE"), "{}", stderr(&out));
}
