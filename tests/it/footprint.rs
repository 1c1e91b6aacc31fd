//! What a running tool has in memory besides its own work: the shared libraries loaded.
//!
//! Most of a tool's resident memory is the code of the program and of the libraries it
//! loads (docs/GUIDE.md, ftp-get's "Speed and memory"). libm is not one of them: the only C maths function the tools
//! call is defined in the program (src/cli/libm.rs). A dependency that starts calling
//! another one (`f64::ln`, `f64::sin`, ...) brings libm back, 0.3 MiB more in every run;
//! this test names the tool that did.

use crate::support::files::TempDir;
use crate::support::run;
use std::net::TcpListener;
use std::process::{Command, Stdio};

/// Every network tool, connecting to `url` (a silent loopback listener).
fn network_tools(url: &str, dir: &TempDir) -> Vec<(&'static str, Command)> {
    let tool = |name: &'static str, bin: &str, args: &[&str]| {
        let mut c = Command::new(bin);
        c.args(args)
            .current_dir(dir)
            .env("PW", "secret")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        (name, c)
    };
    let maildir = dir.join("Maildir");
    let maildir = maildir.to_str().unwrap();
    let state = dir.join("state");
    let state = state.to_str().unwrap();
    let upload = dir.join("upload");
    std::fs::write(&upload, b"x").unwrap();
    let upload = upload.to_str().unwrap();
    vec![
        tool(
            "ftp-get",
            env!("CARGO_BIN_EXE_ftp-get"),
            &[&format!("ftp://{url}/f")],
        ),
        tool(
            "ftp-put",
            env!("CARGO_BIN_EXE_ftp-put"),
            &[upload, &format!("ftp://{url}/")],
        ),
        tool(
            "ftp-ls",
            env!("CARGO_BIN_EXE_ftp-ls"),
            &[&format!("ftp://{url}/")],
        ),
        tool(
            "smtp-send",
            env!("CARGO_BIN_EXE_smtp-send"),
            &[
                "--server",
                &format!("smtp://{url}"),
                "--tls",
                "none",
                "--from",
                "a@example.com",
                "b@example.com",
            ],
        ),
        tool(
            "pop-fetch",
            env!("CARGO_BIN_EXE_pop-fetch"),
            &mail(&format!("pop3://u@{url}"), maildir, state),
        ),
        tool(
            "imap-fetch",
            env!("CARGO_BIN_EXE_imap-fetch"),
            &mail(&format!("imap://u@{url}/"), maildir, state),
        ),
    ]
}

/// The flags pop-fetch and imap-fetch share, after their URL.
fn mail<'a>(url: &'a str, maildir: &'a str, state: &'a str) -> [&'a str; 9] {
    [
        url,
        "--tls",
        "none",
        "--password-env",
        "PW",
        "--maildir",
        maildir,
        "--state-file",
        state,
    ]
}

/// The file names of the shared libraries mapped by process `pid`.
fn libraries(pid: u32) -> Vec<String> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps"))
        .unwrap_or_else(|e| panic!("/proc/{pid}/maps: {e}"));
    let mut libs: Vec<String> = maps
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .filter_map(|p| p.rsplit('/').next())
        .filter(|n| n.contains(".so"))
        .map(str::to_string)
        .collect();
    libs.sort();
    libs.dedup();
    libs
}

#[test]
fn no_tool_loads_libm() {
    // One silent listener: the tools run one after the other, each killed once looked at.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("127.0.0.1:{}", listener.local_addr().unwrap().port());
    let dir = TempDir::new("footprint");
    for (name, mut cmd) in network_tools(&url, &dir) {
        // Stdin is a pipe: smtp-send reads its message from it (written and closed here);
        // the others never read it.
        let mut child = run::spawn(cmd.stdin(Stdio::piped()));
        if name == "smtp-send" {
            use std::io::Write;
            let mut stdin = child.stdin.take().unwrap();
            stdin.write_all(b"Subject: x\n\nbody\n").unwrap();
        }
        // Connected: the program is past its start, every library it needs is mapped.
        let (_conn, _) = listener
            .accept()
            .unwrap_or_else(|e| panic!("{name} never connected: {e}"));
        let libs = libraries(child.id());
        assert!(
            libs.iter().any(|l| l.starts_with("libc.so")),
            "{name}: libc not among {libs:?} (is this the tool's map?)"
        );
        assert!(
            !libs.iter().any(|l| l.starts_with("libm.so")),
            "{name} loads libm: {libs:?}"
        );
    }
}
