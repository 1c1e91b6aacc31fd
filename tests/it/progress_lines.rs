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

/// The lines of a `--progress lines` run that say a file or the total: everything but
/// notes (`tool: ...`).
fn said(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| !l.starts_with("ftp-get: ") && !l.starts_with("ftp-put: "))
        .collect()
}

/// `name` with `--progress lines` and `args`.
fn with_lines(name: &'static str, args: &[&str]) -> crate::support::tool::Out {
    tool(name)
        .args(["--progress", "lines"])
        .args(args)
        .timeout(20)
        .run()
}

/// `4 files, 390.62 KiB in ` ... `/s)` then `rest` (`, 1 skipped`).
fn assert_total(line: &str, head: &str, rest: &str) {
    assert!(
        line.starts_with(head) && line.contains(" in ") && line.ends_with(&format!("/s){rest}")),
        "{line:?} is not {head}... in ... /s){rest}"
    );
}

#[test]
fn several_files_end_with_a_total_in_the_same_words_sequential_or_parallel() {
    let ftp = FakeFtp::builder()
        .file("t/a", "x".repeat(100))
        .file("t/b", "y".repeat(200))
        .file("t/sub/c", "z".repeat(300))
        .start();
    for parallel in ["1", "3"] {
        let dir = TempDir::new("progress-total");
        let url = ftp.url("t/");
        let o = with_lines(
            "ftp-get",
            &["--parallel", parallel, "-r", "-O", dir.arg(), &url],
        );
        assert_eq!(o.code, Some(0), "{o:?}");
        let lines = said(&o.stderr);
        // A line per file (in the order they finished), then the total.
        let mut files: Vec<&str> = lines[..lines.len() - 1].to_vec();
        files.sort_unstable();
        let at = |name: &str, size: &str| format!("{}: {size} in ", dir.join(name).display());
        let want = [at("a", "100 B"), at("b", "200 B"), at("sub/c", "300 B")];
        assert_eq!(files.len(), 3, "--parallel {parallel}: {lines:?}");
        for (line, want) in files.iter().zip(&want) {
            assert!(line.starts_with(want), "--parallel {parallel}: {lines:?}");
        }
        assert_total(lines[lines.len() - 1], "3 files, 600 B in ", "");
    }
    // ftp-put of a tree, sequential and parallel: the same look.
    let tree = TempDir::new("progress-total-put");
    std::fs::create_dir(tree.join("sub")).unwrap();
    std::fs::write(tree.join("a"), "a".repeat(1000)).unwrap();
    std::fs::write(tree.join("sub/b"), "b".repeat(24)).unwrap();
    let to = FakeFtp::builder().dir("up").start();
    for parallel in ["1", "2"] {
        let url = to.url("up/");
        let o = with_lines("ftp-put", &["--parallel", parallel, "-r", tree.arg(), &url]);
        assert_eq!(o.code, Some(0), "{o:?}");
        let lines = said(&o.stderr);
        assert_eq!(lines.len(), 3, "--parallel {parallel}: {lines:?}");
        assert_total(lines[2], "2 files, 1 KiB in ", "");
    }
    // One file: its line is the total.
    let dir = TempDir::new("progress-one");
    let o = with_lines("ftp-get", &["-O", dir.arg(), &ftp.url("t/a")]);
    assert_eq!(o.code, Some(0), "{o:?}");
    assert_eq!(said(&o.stderr).len(), 1, "{:?}", o.stderr);
}

#[test]
fn the_total_counts_what_was_skipped_and_what_failed() {
    let ftp = FakeFtp::builder()
        .file("a", "x".repeat(10))
        .file("b", "y".repeat(20))
        .start();
    let dir = TempDir::new("progress-skipped");
    std::fs::write(dir.join("a"), "old").unwrap();
    let urls = [ftp.url("a"), ftp.url("b"), ftp.url("missing")];
    let o = with_lines(
        "ftp-get",
        &[
            "--no-clobber",
            "-O",
            dir.arg(),
            &urls[0],
            &urls[1],
            &urls[2],
        ],
    );
    assert_eq!(o.code, Some(66), "{o:?}");
    let lines = said(&o.stderr);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_total(lines[1], "1 file, 20 B in ", ", 1 skipped, 1 failed");
    assert_eq!(std::fs::read(dir.join("a")).unwrap(), b"old");
    // -q: errors only, no total.
    let o = with_lines(
        "ftp-get",
        &["-q", "--no-clobber", "-O", dir.arg(), &urls[0], &urls[1]],
    );
    assert_eq!((o.code, o.stderr.as_str()), (Some(0), ""));
}

trait Url {
    fn arg_url(self, url: &str) -> Self;
}

impl Url for crate::support::tool::Tool {
    fn arg_url(self, url: &str) -> Self {
        self.args([url])
    }
}
