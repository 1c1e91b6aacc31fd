//! A scheme with TLS from the first byte pointed at a plaintext port: every tool says the
//! server did not answer with TLS and names its own protocol's plaintext scheme and upgrade
//! (smtp-send, pop-fetch and imap-fetch used to give FTP's hint, "ftp:// upgrades with AUTH
//! TLS").

use crate::support::files::TempDir;
use crate::support::run;
use std::io::Write;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::thread;

/// A plaintext server on a loopback port: it greets every connection with `greeting` and
/// closes it once the client goes.
fn plaintext_server(greeting: &'static str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            thread::spawn(move || {
                let _ = conn.write_all(greeting.as_bytes());
                let _ = std::io::copy(&mut conn, &mut std::io::sink());
            });
        }
    });
    port
}

fn run_tool(bin: &str, args: &[String], dir: &TempDir) -> (Option<i32>, String) {
    let mut c = Command::new(bin);
    c.env("HOME", dir.arg())
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env_remove("NETRC")
        .env("PASS", "secret")
        .args(args)
        .args(["--timeout", "10"])
        .stdin(Stdio::null());
    let o = run::output(&mut c);
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn implicit_tls_to_a_plain_port_names_the_protocols_own_upgrade() {
    let dir = TempDir::new("tls-hints");
    let cases: [(&str, &str, Vec<String>, &str); 4] = [
        (
            env!("CARGO_BIN_EXE_ftp-get"),
            "220 FTP ready\r\n",
            vec!["-o".into(), dir.join("f").display().to_string()],
            "ftp-get: 127.0.0.1:PORT: TLS: the server did not answer with TLS (is this a plain FTP port? ftp:// upgrades with AUTH TLS)",
        ),
        (
            env!("CARGO_BIN_EXE_smtp-send"),
            "220 SMTP ready\r\n",
            vec![
                "--from".into(),
                "a@example.com".into(),
                "b@example.org".into(),
            ],
            "smtp-send: 127.0.0.1:PORT: TLS: the server did not answer with TLS (is this a plain SMTP port, such as 25 or 587? smtp:// upgrades with STARTTLS)",
        ),
        (
            env!("CARGO_BIN_EXE_pop-fetch"),
            "+OK POP3 ready\r\n",
            vec![
                "--password-env".into(),
                "PASS".into(),
                "--maildir".into(),
                dir.join("Mail").display().to_string(),
            ],
            "pop-fetch: 127.0.0.1:PORT: TLS: the server did not answer with TLS (is this a plain POP3 port? pop3:// upgrades with STLS)",
        ),
        (
            env!("CARGO_BIN_EXE_imap-fetch"),
            "* OK IMAP ready\r\n",
            vec![
                "--password-env".into(),
                "PASS".into(),
                "--maildir".into(),
                dir.join("Mail").display().to_string(),
            ],
            "imap-fetch: 127.0.0.1:PORT: TLS: the server did not answer with TLS (is this a plain IMAP port? imap:// upgrades with STARTTLS)",
        ),
    ];
    for (bin, greeting, extra, want) in cases {
        let port = plaintext_server(greeting);
        let scheme = match greeting {
            "220 FTP ready\r\n" => format!("ftps://127.0.0.1:{port}/f"),
            "220 SMTP ready\r\n" => format!("smtps://127.0.0.1:{port}"),
            "+OK POP3 ready\r\n" => format!("pop3s://u@127.0.0.1:{port}"),
            _ => format!("imaps://u@127.0.0.1:{port}/"),
        };
        let mut args = Vec::new();
        if bin.ends_with("smtp-send") {
            args.push("--server".to_string());
        }
        args.push(scheme);
        args.extend(extra);
        let (code, stderr) = run_tool(bin, &args, &dir);
        assert_eq!(code, Some(76), "{bin}: {stderr}");
        assert_eq!(
            stderr.trim_end(),
            want.replace("PORT", &port.to_string()),
            "{bin}"
        );
    }
}
