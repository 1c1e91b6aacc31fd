//! `--progress lines`: plain lines for a log (CI), never a cursor code.

use std::time::Duration;

use crate::support::fake_ftp::*;
use crate::support::files::TempDir;
use crate::support::tool::tool;

#[test]
fn lines_say_the_progress_in_plain_text_for_a_log() {
    let data = "x".repeat(40);
    let ftp = FakeFtp::builder()
        .file("f.txt", data.as_str())
        .drip_data(Duration::from_millis(60))
        .start();
    let dir = TempDir::new("progress-lines");
    let out = dir.join("f.txt");
    let o = tool("ftp-get")
        .args(["--progress", "lines", "-o"])
        .args([&out])
        .arg_url(&ftp.url("f.txt"))
        .timeout(20)
        .run();
    assert_eq!(o.code, Some(0), "{o:?}");
    assert!(
        !o.stderr.contains('\x1b') && !o.stderr.contains('\r'),
        "{:?}",
        o.stderr
    );
    let lines: Vec<&str> = o.stderr.lines().collect();
    let name = format!("{}: ", out.display());
    let last = lines.last().expect("a line at the end");
    assert!(
        last.starts_with(&format!("{name}40 B in ")) && last.ends_with("/s)"),
        "{lines:?}"
    );
    // A 2.4 s download is said at least once on the way, as a tenth of the file.
    let between: Vec<&&str> = lines[..lines.len() - 1]
        .iter()
        .filter(|l| l.starts_with(&name) && l.contains(" of 40 B (") && l.contains("%), "))
        .collect();
    assert!(!between.is_empty(), "{lines:?}");
    assert_eq!(std::fs::read(&out).unwrap(), data.as_bytes());
    // -q says nothing.
    let o = tool("ftp-get")
        .args(["--progress", "lines", "-q", "-o"])
        .args([&dir.join("g.txt")])
        .arg_url(&ftp.url("f.txt"))
        .timeout(20)
        .run();
    o.ok();
}

trait Url {
    fn arg_url(self, url: &str) -> Self;
}

impl Url for crate::support::tool::Tool {
    fn arg_url(self, url: &str) -> Self {
        self.args([url])
    }
}
