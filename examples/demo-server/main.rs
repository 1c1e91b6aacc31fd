//! A read-only, anonymous FTP server on the loopback interface, serving the files of one
//! folder, for trying the tools without root rights or a real server:
//!
//! ```sh
//! cargo run -q --example demo-server -- /tmp/demo
//! cargo run -q --example demo-server -- --port 2100 /tmp/demo
//! ```
//!
//! Without `--port` it listens on a free port the kernel chooses, and prints it.
//!
//! It is the test suite's fake FTP server (tests/it/support), which keeps everything in
//! memory: meant for small folders and for trying things out, never for serving anything.

#[allow(unused_imports)]
#[path = "../../tests/it/support/fake_ftp.rs"]
mod fake_ftp;
#[allow(unused_imports)]
#[path = "../../tests/it/support/fake_server.rs"]
mod fake_server;

use std::path::Path;

const USAGE: &str = "usage: cargo run --example demo-server -- [--port PORT] FOLDER";

fn main() {
    let (dir, port) = match parse_args(std::env::args_os().skip(1)) {
        Ok(given) => given,
        Err(e) => {
            eprintln!("demo-server: {e}\n{USAGE}");
            std::process::exit(64);
        }
    };
    let mut server = fake_ftp::FakeFtp::builder();
    if let Some(port) = port {
        // Said in one line rather than by the fake server's panic.
        if let Err(e) = std::net::TcpListener::bind(("127.0.0.1", port)) {
            eprintln!("demo-server: 127.0.0.1:{port}: {e}");
            std::process::exit(69);
        }
        server = server.port(port);
    }
    // DEMO_DELAY_MS=20: every reply waits that long, as across a high-latency link
    // (scripts/bench-put measures --parallel with it).
    if let Some(ms) = std::env::var("DEMO_DELAY_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        server = server.delay(std::time::Duration::from_millis(ms));
    }
    let mut count = 0;
    if let Err(e) = add_folder(Path::new(&dir), "", &mut server, &mut count) {
        eprintln!("demo-server: {}: {e}", Path::new(&dir).display());
        std::process::exit(66);
    }
    let server = server.start();
    println!(
        "demo-server: {count} file{} on ftp://127.0.0.1:{}/ (anonymous, read-only; Ctrl-C stops it)",
        if count == 1 { "" } else { "s" },
        server.port()
    );
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}

/// FOLDER and `--port PORT` (or `--port=PORT`), in any order.
fn parse_args(
    args: impl Iterator<Item = std::ffi::OsString>,
) -> Result<(std::ffi::OsString, Option<u16>), String> {
    let (mut dir, mut port) = (None, None);
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        let text = arg.to_string_lossy();
        let value = if text == "--port" {
            Some(args.next().ok_or("--port needs a value")?)
        } else {
            text.strip_prefix("--port=").map(Into::into)
        };
        if let Some(value) = value {
            let value = value.to_string_lossy();
            port = Some(match value.parse::<u16>() {
                Ok(p) if p > 0 => p,
                _ => return Err(format!("--port {value}: give a port from 1 to 65535")),
            });
        } else if text.starts_with('-') && text.len() > 1 {
            return Err(format!("unknown option '{text}'"));
        } else if dir.replace(arg).is_some() {
            return Err("give one FOLDER".into());
        }
    }
    Ok((dir.ok_or("no FOLDER given")?, port))
}

/// Adds the regular files under `dir` (at most 1000, of at most 64 MiB in all).
fn add_folder(
    dir: &Path,
    prefix: &str,
    server: &mut fake_ftp::Builder,
    count: &mut usize,
) -> std::io::Result<()> {
    let mut total = 0u64;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = format!("{prefix}{name}");
        let kind = entry.file_type()?;
        if kind.is_dir() {
            add_folder(&entry.path(), &format!("{path}/"), server, count)?;
        } else if kind.is_file() && *count < 1000 && total < 64 << 20 {
            let data = std::fs::read(entry.path())?;
            total += data.len() as u64;
            *server = std::mem::replace(server, fake_ftp::FakeFtp::builder()).file(&path, data);
            *count += 1;
        }
    }
    Ok(())
}
