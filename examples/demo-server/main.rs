//! A read-only, anonymous FTP server on the loopback interface, serving the files of one
//! folder, for trying the tools without root rights or a real server:
//!
//! ```sh
//! cargo run -q --example demo-server -- /tmp/demo
//! ```
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

fn main() {
    let Some(dir) = std::env::args_os().nth(1) else {
        eprintln!("usage: cargo run --example demo-server -- FOLDER");
        std::process::exit(64);
    };
    let mut server = fake_ftp::FakeFtp::builder();
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
        "demo-server: {count} files on ftp://127.0.0.1:{}/ (anonymous, read-only; Ctrl-C stops it)",
        server.port()
    );
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
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
