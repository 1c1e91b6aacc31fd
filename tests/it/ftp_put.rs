//! ftp-put end to end: the real binary against the scriptable fake server, checked by what a
//! user sees: the bytes on the server, the commands on the wire, the exit status and the
//! one-line message on stderr.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::support::assert_in_order;
use crate::support::fake_ftp::*;
use crate::support::files::{TempDir, sample};
use crate::support::run;
use crate::support::tool::{Out, tool};

/// ftp-put with `args` and `--timeout 5`.
pub fn command(args: &[&str]) -> Command {
    tool("ftp-put").args(args).timeout(5).command()
}

pub fn ftp_put(args: &[&str]) -> Out {
    tool("ftp-put").args(args).timeout(5).run()
}

/// What a run the test spawned itself showed.
fn out(o: std::process::Output) -> Out {
    Out::of("ftp-put", o, std::time::Duration::ZERO)
}

fn ftp_put_stdin(args: &[&str], input: &[u8]) -> Out {
    tool("ftp-put").args(args).timeout(5).input(input).run()
}

/// A local file `name` in `dir` holding `data`; its path as an argument.
fn local(dir: &TempDir, name: &str, data: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn a_file_into_a_folder_keeps_its_name_and_is_checked_by_size() {
    let ftp = FakeFtp::builder().dir("up").start();
    let dir = TempDir::new("put-plain");
    let body = sample(700_000);
    let f = local(&dir, "data.bin", &body);
    ftp_put(&[&f, &ftp.url("up/")]).ok();
    assert_eq!(ftp.file("up/data.bin").as_deref(), Some(&body[..]));
    assert_in_order(
        &ftp.transcript(),
        &[
            "USER anonymous",
            "TYPE I",
            "EPSV",
            "STOR up/data.bin",
            "SIZE up/data.bin",
            "QUIT",
        ],
    );
    assert!(dir.join("data.bin").exists(), "the source stays");
}

#[test]
fn a_url_names_the_remote_file_and_several_files_share_one_connection() {
    let ftp = FakeFtp::builder().dir("up").start();
    let dir = TempDir::new("put-names");
    let a = local(&dir, "a.txt", b"alpha\n");
    let b = local(&dir, "b.txt", b"beta\n");
    ftp_put(&[&a, &ftp.url("up/renamed.txt")]).ok();
    assert_eq!(ftp.file("up/renamed.txt").as_deref(), Some(&b"alpha\n"[..]));
    ftp_put(&[&a, &b, &ftp.url("up/")]).ok();
    assert_eq!(ftp.file("up/a.txt").as_deref(), Some(&b"alpha\n"[..]));
    assert_eq!(ftp.file("up/b.txt").as_deref(), Some(&b"beta\n"[..]));
    assert_eq!(ftp.connections(), 2);
    // Several files need a folder URL.
    let e = ftp_put(&[&a, &b, &ftp.url("up/x")]).fails(64).to_string();
    assert!(e.contains("end the URL with / for a folder"), "{e}");
}

#[test]
fn standard_input_is_streamed_to_the_named_file() {
    let ftp = FakeFtp::builder().start();
    let body = sample(300_000);
    ftp_put_stdin(&["-", &ftp.url("from-stdin.bin")], &body).ok();
    assert_eq!(ftp.file("from-stdin.bin").as_deref(), Some(&body[..]));
    // A folder URL has no name for it.
    let e = ftp_put_stdin(&["-", &ftp.url("")], b"x")
        .fails(64)
        .to_string();
    assert!(e.contains("standard input needs a remote file name"), "{e}");
}

/// The temporary the first STOR went to, checked to be `DIR/.NAME.TAG.part` with a TAG of
/// 12 hex digits.
fn temporary(ftp: &FakeFtp) -> String {
    let stor = ftp.commands("STOR");
    let path = stor[0].strip_prefix("STOR ").unwrap().to_string();
    let name = path.rsplit('/').next().unwrap();
    let tag = name
        .strip_suffix(".part")
        .and_then(|n| n.rsplit_once('.'))
        .map(|(_, t)| t)
        .unwrap_or("");
    assert!(
        name.starts_with('.') && tag.len() == 12 && tag.bytes().all(|b| b.is_ascii_hexdigit()),
        "{path}"
    );
    path
}

#[test]
fn atomic_uploads_to_a_hidden_part_then_renames_over_the_old_file() {
    let ftp = FakeFtp::builder().file("pub/f.csv", "old\n").start();
    let dir = TempDir::new("put-atomic");
    let f = local(&dir, "f.csv", b"new contents\n");
    ftp_put(&["--atomic", &f, &ftp.url("pub/")]).ok();
    assert_eq!(
        ftp.file("pub/f.csv").as_deref(),
        Some(&b"new contents\n"[..])
    );
    let temp = temporary(&ftp);
    assert_in_order(
        &ftp.transcript(),
        &[
            &format!("STOR {temp}"),
            &format!("SIZE {temp}"),
            &format!("RNFR {temp}"),
            "RNTO pub/f.csv",
        ],
    );
    assert_eq!(ftp.names("pub"), ["f.csv"]);
    assert!(
        ftp.deleted().is_empty(),
        "the old file is never deleted first"
    );
}

#[test]
fn a_failed_rename_removes_the_temporary_and_keeps_the_old_file() {
    let ftp = FakeFtp::builder()
        .file("pub/f.csv", "old\n")
        .reply("RNTO", "550 Rename failed: permission denied.\r\n")
        .start();
    let dir = TempDir::new("put-atomic-fail");
    let f = local(&dir, "f.csv", b"new\n");
    let e = ftp_put(&[
        "--atomic",
        "--remove-source-files",
        &f,
        &ftp.url("pub/f.csv"),
    ])
    .fails(77)
    .to_string();
    assert!(e.contains("RNTO: 550 Rename failed"), "{e}");
    let temp = temporary(&ftp);
    assert!(
        e.contains(&format!("the temporary {temp} was removed")),
        "{e}"
    );
    assert_eq!(ftp.file("pub/f.csv").as_deref(), Some(&b"old\n"[..]));
    assert_eq!(ftp.names("pub"), ["f.csv"]);
    assert_eq!(ftp.deleted(), [temp]);
    assert!(
        dir.join("f.csv").exists(),
        "the source is kept after a failure"
    );
}

#[test]
fn create_dirs_makes_each_missing_folder_once() {
    let ftp = FakeFtp::builder().start();
    let dir = TempDir::new("put-mkd");
    let a = local(&dir, "a", b"1");
    let b = local(&dir, "b", b"2");
    // Without --create-dirs the server refuses (553), and the missing folder is named.
    let e = ftp_put(&[&a, &ftp.url("x/y/")]).fails(73).to_string();
    assert_eq!(
        e,
        format!(
            "ftp-put: {}: the remote folder x/y does not exist (--create-dirs makes it)",
            ftp.url("x/y/a")
        )
    );
    // A refusal in a folder that exists is still a permission problem (77).
    let ftp2 = FakeFtp::builder()
        .dir("ro")
        .reply("STOR", "553 Could not create file.\r\n")
        .start();
    let e = ftp_put(&[&a, &ftp2.url("ro/")]).fails(77).to_string();
    assert!(e.contains("cannot store: 553"), "{e}");
    ftp_put(&["--create-dirs", &a, &b, &ftp.url("x/y/")]).ok();
    assert_eq!(ftp.file("x/y/a").as_deref(), Some(&b"1"[..]));
    assert_eq!(ftp.file("x/y/b").as_deref(), Some(&b"2"[..]));
    assert_eq!(ftp.commands("MKD"), ["MKD x", "MKD x/y"]);
}

#[test]
fn continue_resumes_with_rest_and_stor_or_appe() {
    let body = sample(200_000);
    let dir = TempDir::new("put-resume");
    let f = local(&dir, "big", &body);
    let ftp = FakeFtp::builder()
        .file("big", body[..50_000].to_vec())
        .start();
    ftp_put(&["-c", &f, &ftp.url("big")]).ok();
    assert_eq!(ftp.file("big").as_deref(), Some(&body[..]));
    assert_in_order(
        &ftp.transcript(),
        &["SIZE big", "REST 50000", "STOR big", "SIZE big"],
    );
    // Without REST STREAM in FEAT: APPE.
    let ftp = FakeFtp::builder()
        .feat(&["EPSV", "SIZE", "MDTM", "UTF8"])
        .file("big", body[..1234].to_vec())
        .start();
    ftp_put(&["-c", &f, &ftp.url("big")]).ok();
    assert_eq!(ftp.file("big").as_deref(), Some(&body[..]));
    assert_in_order(&ftp.transcript(), &["SIZE big", "APPE big", "SIZE big"]);
    // Complete already: nothing sent.
    let ftp = FakeFtp::builder().file("big", body.clone()).start();
    let o = ftp_put(&["-c", &f, &ftp.url("big")]);
    assert_eq!(o.code, Some(0), "{o:#?}");
    assert!(o.stderr.contains("already complete"), "{o:#?}");
    assert!(ftp.commands("STOR").is_empty());
    // Larger on the server: nothing is overwritten.
    let mut longer = body.clone();
    longer.extend_from_slice(b"more");
    let ftp = FakeFtp::builder().file("big", longer.clone()).start();
    let e = ftp_put(&["-c", &f, &ftp.url("big")]).fails(65).to_string();
    assert!(e.contains("larger than the local one"), "{e}");
    assert_eq!(ftp.file("big"), Some(longer));
}

#[test]
fn continue_from_standard_input_skips_what_the_server_has() {
    let body = sample(100_000);
    let ftp = FakeFtp::builder()
        .file("s", body[..40_000].to_vec())
        .start();
    ftp_put_stdin(&["-c", "-", &ftp.url("s")], &body).ok();
    assert_eq!(ftp.file("s").as_deref(), Some(&body[..]));
}

#[test]
fn append_adds_to_the_remote_file() {
    let ftp = FakeFtp::builder().file("log", "one\n").start();
    let dir = TempDir::new("put-append");
    let f = local(&dir, "log", b"two\n");
    ftp_put(&["--append", &f, &ftp.url("log")]).ok();
    assert_eq!(ftp.file("log").as_deref(), Some(&b"one\ntwo\n"[..]));
    assert_in_order(&ftp.transcript(), &["SIZE log", "APPE log", "SIZE log"]);
}

#[test]
fn remove_source_files_only_after_a_checked_upload() {
    let ftp = FakeFtp::builder().dir("in").start();
    let dir = TempDir::new("put-remove");
    let f = local(&dir, "done.xml", b"<x/>");
    ftp_put(&["--remove-source-files", &f, &ftp.url("in/")]).ok();
    assert_eq!(ftp.file("in/done.xml").as_deref(), Some(&b"<x/>"[..]));
    assert!(!dir.join("done.xml").exists());
    // A size that does not match what was sent: a broken transfer (74), the file stays.
    let ftp = FakeFtp::builder()
        .dir("in")
        .reply("SIZE", "213 3\r\n")
        .start();
    let f = local(&dir, "kept.xml", b"<x/>");
    let e = ftp_put(&["--remove-source-files", &f, &ftp.url("in/")])
        .fails(74)
        .to_string();
    assert!(
        e.contains("the server has 3 bytes where 4 were sent"),
        "{e}"
    );
    assert!(dir.join("kept.xml").exists());
}

#[test]
fn refusals_and_missing_files_have_their_exit_codes_and_the_run_goes_on() {
    let ftp = FakeFtp::builder()
        .dir("in")
        .reply("STOR", "553 Could not create file.\r\n")
        .start();
    let dir = TempDir::new("put-refused");
    let f = local(&dir, "f", b"x");
    let e = ftp_put(&[&f, &ftp.url("in/")]).fails(77).to_string();
    assert!(
        e.contains("cannot store: 553 Could not create file."),
        "{e}"
    );
    // A missing local file is 66; the next file is still uploaded.
    let ftp = FakeFtp::builder().dir("in").start();
    let missing = dir.join("missing");
    let o = ftp_put(&[missing.to_str().unwrap(), &f, &ftp.url("in/")]);
    let line = o.fails(66);
    assert!(line.contains("missing"), "{line}");
    assert_eq!(ftp.file("in/f").as_deref(), Some(&b"x"[..]));
    // A folder is not a file.
    let e = ftp_put(&[dir.arg(), &ftp.url("in/")]).fails(66).to_string();
    assert!(e.contains("is a folder"), "{e}");
}

#[test]
fn a_transient_failure_is_retried_and_resumed() {
    let body = sample(100_000);
    let dir = TempDir::new("put-retry");
    let f = local(&dir, "r", &body);
    let ftp = FakeFtp::builder()
        .reply_once("STOR", "451 Local error in processing.\r\n")
        .start();
    let o = ftp_put(&["--retries", "2", &f, &ftp.url("r")]);
    assert_eq!(o.code, Some(0), "{o:#?}");
    assert!(
        o.stderr.contains("retrying in 1 s (retry 1 of 2)"),
        "{o:#?}"
    );
    assert_eq!(ftp.file("r").as_deref(), Some(&body[..]));
}

#[test]
fn chmod_is_sent_and_an_unsupported_one_is_a_warning() {
    let dir = TempDir::new("put-chmod");
    let f = local(&dir, "s.sh", b"#!/bin/sh\n");
    let ftp = FakeFtp::builder()
        .reply("SITE", "200 SITE CHMOD command ok.\r\n")
        .start();
    ftp_put(&["--chmod", "755", &f, &ftp.url("s.sh")]).ok();
    assert_eq!(ftp.commands("SITE"), ["SITE CHMOD 755 s.sh"]);
    let ftp = FakeFtp::builder().start();
    let o = ftp_put(&["--chmod", "755", &f, &ftp.url("s.sh")]);
    assert_eq!(o.code, Some(0), "{o:#?}");
    assert!(o.stderr.contains("SITE CHMOD"), "{o:#?}");
    assert_eq!(ftp.file("s.sh").as_deref(), Some(&b"#!/bin/sh\n"[..]));
    let e = ftp_put(&["--chmod", "9x", &f, &ftp.url("s.sh")])
        .fails(64)
        .to_string();
    assert!(e.contains("not an octal mode"), "{e}");
}

#[test]
fn a_file_name_with_a_line_break_never_reaches_the_wire() {
    let ftp = FakeFtp::builder().start();
    let dir = TempDir::new("put-crlf");
    let f = local(&dir, "a\r\nDELE x", b"x");
    let o = ftp_put(&[&f, &ftp.url("")]);
    assert_eq!(o.code, Some(64), "{o:#?}");
    assert!(ftp.commands("DELE").is_empty());
}

#[test]
fn recursive_uploads_a_tree_with_mtimes_and_skips_links() {
    let ftp = FakeFtp::builder().dir("www").start();
    let root = TempDir::new("put-tree");
    let site = root.join("site");
    std::fs::create_dir_all(site.join("sub/deep")).unwrap();
    std::fs::create_dir_all(site.join("empty")).unwrap();
    std::fs::write(site.join("index.html"), "<html>").unwrap();
    std::fs::write(site.join("sub/b.bin"), sample(50_000)).unwrap();
    std::fs::write(site.join("sub/deep/c"), "c").unwrap();
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_614_834_367);
    std::fs::File::options()
        .write(true)
        .open(site.join("index.html"))
        .unwrap()
        .set_modified(t)
        .unwrap();
    let outside = root.join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("secret"), "s").unwrap();
    std::os::unix::fs::symlink(&outside, site.join("link")).unwrap();
    std::os::unix::fs::symlink("..", site.join("sub/up")).unwrap();
    let o = ftp_put(&["-r", site.to_str().unwrap(), &ftp.url("www/")]);
    assert_eq!(o.code, Some(0), "{o:#?}");
    assert!(
        o.stderr.contains("link: a symbolic link, skipped"),
        "{o:#?}"
    );
    assert_eq!(
        ftp.file("www/site/index.html").as_deref(),
        Some(&b"<html>"[..])
    );
    assert_eq!(ftp.file("www/site/sub/b.bin"), Some(sample(50_000)));
    assert_eq!(ftp.file("www/site/sub/deep/c").as_deref(), Some(&b"c"[..]));
    assert_eq!(ftp.file("www/site/link/secret"), None);
    assert!(
        ftp.commands("MKD")
            .contains(&"MKD www/site/empty".to_string())
    );
    assert!(
        ftp.commands("MFMT")
            .contains(&"MFMT 20210304050607 www/site/index.html".to_string()),
        "{:?}",
        ftp.commands("MFMT")
    );
    // --follow: the link's target goes up too, and the loop (sub/up -> ..) is entered once.
    let ftp = FakeFtp::builder().dir("www").start();
    let o = ftp_put(&[
        "-r",
        "--follow",
        site.to_str().unwrap(),
        &ftp.url("www/mirror"),
    ]);
    assert_eq!(o.code, Some(0), "{o:#?}");
    assert!(o.stderr.contains("already uploaded in this run"), "{o:#?}");
    assert_eq!(
        ftp.file("www/mirror/link/secret").as_deref(),
        Some(&b"s"[..])
    );
    assert_eq!(
        ftp.file("www/mirror/sub/deep/c").as_deref(),
        Some(&b"c"[..])
    );
    // Without -r a folder is refused, with a hint.
    let e = ftp_put(&[site.to_str().unwrap(), &ftp.url("www/")])
        .fails(66)
        .to_string();
    assert!(e.contains("is a folder (-r uploads it)"), "{e}");
}

#[test]
fn parallel_uploads_files_and_trees() {
    let ftp = FakeFtp::builder()
        .dir("in")
        .delay(std::time::Duration::from_millis(5))
        .start();
    let dir = TempDir::new("put-parallel");
    let mut args: Vec<String> = vec!["--parallel".into(), "4".into()];
    for i in 0..20 {
        args.push(local(&dir, &format!("f{i:02}"), &sample(500 + i * 1009)));
    }
    args.push(ftp.url("in/"));
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    ftp_put(&a).ok();
    for i in 0..20 {
        assert_eq!(
            ftp.file(&format!("in/f{i:02}")),
            Some(sample(500 + i * 1009))
        );
    }
    let n = ftp.connections();
    assert!((2..=4).contains(&n), "{n} connections");
    // A tree, rate-limited over all connections.
    let root = TempDir::new("put-parallel-tree");
    let t = root.join("t");
    std::fs::create_dir_all(t.join("a/b")).unwrap();
    for i in 0..10 {
        std::fs::write(t.join("a/b").join(format!("x{i}")), sample(i * 100)).unwrap();
    }
    ftp_put(&[
        "-r",
        "--parallel",
        "3",
        "--limit-rate",
        "10M",
        t.to_str().unwrap(),
        &ftp.url("in/"),
    ])
    .ok();
    for i in 0..10 {
        assert_eq!(ftp.file(&format!("in/t/a/b/x{i}")), Some(sample(i * 100)));
    }
}

#[test]
fn a_retry_never_takes_someone_elses_file_for_a_partial_upload() {
    // The server has an older file of the same length; the first STOR is refused (451)
    // before any data: the retry must send the whole file, not call it complete.
    let dir = TempDir::new("put-retry-same-size");
    let f = local(&dir, "cfg", b"new-version");
    let ftp = FakeFtp::builder()
        .file("cfg", "old-version")
        .reply_once("STOR", "451 Try again.\r\n")
        .start();
    let o = ftp_put(&["--retries", "1", &f, &ftp.url("cfg")]);
    assert_eq!(o.code, Some(0), "{o:#?}");
    assert_eq!(ftp.file("cfg").as_deref(), Some(&b"new-version"[..]));
    assert_eq!(ftp.commands("STOR").len(), 2);
    assert!(ftp.commands("REST").is_empty());
    // --append is not retried once data went: it could not tell what was already added.
    let ftp = FakeFtp::builder()
        .file("log", "one\n")
        .reply("SIZE", "213 1\r\n")
        .start();
    let f = local(&dir, "log", b"two\n");
    let o = ftp_put(&["--retries", "2", "--append", &f, &ftp.url("log")]);
    assert_eq!(o.code, Some(74), "{o:#?}");
    assert_eq!(ftp.commands("APPE").len(), 1);
}

/// A shared outbox of `n` files (`f0`...), and a private file outside it that a local
/// attacker would like published.
fn outbox(tag: &str, n: usize) -> (TempDir, PathBuf, PathBuf) {
    let root = TempDir::new(tag);
    let outbox = root.join("outbox");
    std::fs::create_dir(&outbox).unwrap();
    for i in 0..n {
        std::fs::write(outbox.join(format!("f{i}")), format!("file {i}\n")).unwrap();
    }
    let secret = root.join("id_rsa");
    std::fs::write(&secret, "SECRET KEY\n").unwrap();
    std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    (root, outbox, secret)
}

/// Replaces every entry of `outbox` but `keep` by a symbolic link to `secret`, and one of
/// them, if `fifo`, by a FIFO (which must not hang the walk).
fn swap_in_links(outbox: &std::path::Path, keep: &[String], secret: &std::path::Path, fifo: bool) {
    let mut fifo = fifo;
    for e in std::fs::read_dir(outbox).unwrap() {
        let path = e.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if keep.contains(&name) {
            continue;
        }
        std::fs::remove_file(&path).unwrap();
        if std::mem::take(&mut fifo) {
            crate::support::files::mkfifo(&path);
        } else {
            std::os::unix::fs::symlink(secret, &path).unwrap();
        }
    }
}

/// What the server holds under `up/outbox`: every file's contents.
fn uploaded_tree(ftp: &FakeFtp, n: usize) -> Vec<(usize, Vec<u8>)> {
    (0..n)
        .filter_map(|i| ftp.file(&format!("up/outbox/f{i}")).map(|d| (i, d)))
        .collect()
}

#[test]
fn recursive_never_follows_a_link_swapped_in_during_the_walk() {
    // The first STOR waits until the test has replaced every other entry of the outbox by
    // a link to a private file (and one by a FIFO): each is opened without following
    // links, checked on its descriptor, and skipped.
    let (_root, outbox, secret) = outbox("put-swap", 4);
    let ftp = FakeFtp::builder().dir("up").hold("STOR").start();
    let mut c = command(&["-r", outbox.to_str().unwrap(), &ftp.url("up/")]);
    c.stdout(Stdio::null()).stderr(Stdio::piped());
    let child = run::spawn(&mut c);
    ftp.wait_held("STOR", 1);
    let first = ftp.commands("STOR")[0]
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    swap_in_links(&outbox, std::slice::from_ref(&first), &secret, true);
    ftp.release("STOR");
    let o = out(child.wait_with_output());
    assert_eq!(o.code, Some(0), "{o:#?}");
    // The first file went up whole (it was open before the swap); nothing else did.
    let i: usize = first[1..].parse().unwrap();
    assert_eq!(
        uploaded_tree(&ftp, 4),
        [(i, format!("file {i}\n").into_bytes())]
    );
    assert_eq!(ftp.commands("STOR").len(), 1);
    let lines: Vec<&str> = o.stderr.lines().collect();
    assert_eq!(lines.len(), 3, "{o:#?}");
    assert_eq!(
        lines
            .iter()
            .filter(
                |l| l.ends_with(": a symbolic link, skipped (--follow uploads what it points to)")
            )
            .count(),
        2,
        "{o:#?}"
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.ends_with(": not a regular file, skipped"))
            .count(),
        1,
        "{o:#?}"
    );
}

#[test]
fn parallel_recursive_never_follows_a_link_swapped_in_during_the_walk() {
    // Both connections wait in STOR while the test swaps every entry for a link to a
    // private file: what the walk had opened goes up as it was, nothing else.
    let (_root, outbox, secret) = outbox("put-swap-parallel", 6);
    let ftp = FakeFtp::builder().dir("up").hold("STOR").start();
    let mut c = command(&[
        "-r",
        "--parallel",
        "2",
        outbox.to_str().unwrap(),
        &ftp.url("up/"),
    ]);
    c.stdout(Stdio::null()).stderr(Stdio::piped());
    let child = run::spawn(&mut c);
    ftp.wait_held("STOR", 2);
    swap_in_links(&outbox, &[], &secret, false);
    ftp.release("STOR");
    let o = out(child.wait_with_output());
    assert_eq!(o.code, Some(0), "{o:#?}");
    let up = uploaded_tree(&ftp, 6);
    assert!(up.len() >= 2, "{up:?}");
    for (i, data) in &up {
        assert_eq!(data, format!("file {i}\n").as_bytes(), "f{i}");
    }
    assert_eq!(
        o.stderr.lines().count(),
        6 - up.len(),
        "one note per skipped link: {o:#?}"
    );
}

#[test]
fn recursive_a_name_with_a_line_break_is_a_data_error_and_the_rest_goes_up() {
    let (_root, outbox, _secret) = outbox("put-crlf-tree", 2);
    std::fs::write(outbox.join("evil\r\nDELE f0"), "x").unwrap();
    let ftp = FakeFtp::builder().dir("up").start();
    let o = ftp_put(&["-r", outbox.to_str().unwrap(), &ftp.url("up/")]);
    let line = o.fails(65);
    assert!(
        line.ends_with("/outbox/evil\\x0d\\x0aDELE f0: the name holds a line break (CR or LF), which no FTP command can carry; not uploaded"),
        "{line}"
    );
    assert_eq!(uploaded_tree(&ftp, 2).len(), 2);
    assert!(ftp.commands("DELE").is_empty());
}

#[test]
fn recursive_a_name_too_long_for_a_remote_path_is_a_data_error_and_the_rest_goes_up() {
    // Under a remote folder of 3,900 bytes, a local name of 200 makes a path over the 4000
    // bytes a command can carry with its verb: as a name with a line break, bad input (65),
    // naming the local file, and never a command line refused as usage (64).
    let (_root, outbox, _secret) = outbox("put-long-tree", 2);
    let long = "L".repeat(200);
    std::fs::write(outbox.join(&long), "x").unwrap();
    let deep = "d".repeat(3900);
    let ftp = FakeFtp::builder().dir(&deep).start();
    let o = ftp_put(&[
        "-r",
        outbox.to_str().unwrap(),
        &ftp.url(&format!("{deep}/")),
    ]);
    let line = o.fails(65);
    assert!(
        line.ends_with(&format!(
            "/outbox/{long}: its remote path would be 4108 bytes long; remote paths are limited to 4000 bytes: not uploaded"
        )),
        "{line}"
    );
    assert_eq!(o.stderr.lines().count(), 1, "{o:#?}");
    for i in 0..2 {
        assert_eq!(
            ftp.file(&format!("{deep}/outbox/f{i}")),
            Some(format!("file {i}\n").into_bytes())
        );
    }
    assert_eq!(ftp.commands("STOR").len(), 2);
}

#[test]
fn recursive_remove_source_files_keeps_a_file_replaced_after_its_upload() {
    // SIZE (the check after STOR) waits while the test puts another file at the name of
    // the one uploaded: that one was never sent, and stays.
    let (_root, outbox, _secret) = outbox("put-remove-swap", 1);
    let ftp = FakeFtp::builder().dir("up").hold("SIZE").start();
    let mut c = command(&[
        "-r",
        "--remove-source-files",
        outbox.to_str().unwrap(),
        &ftp.url("up/"),
    ]);
    c.stdout(Stdio::null()).stderr(Stdio::piped());
    let child = run::spawn(&mut c);
    ftp.wait_held("SIZE", 1);
    let f0 = outbox.join("f0");
    std::fs::remove_file(&f0).unwrap();
    std::fs::write(&f0, "a newer file, never uploaded\n").unwrap();
    ftp.release("SIZE");
    let o = out(child.wait_with_output());
    assert_eq!(o.code, Some(0), "{o:#?}");
    assert_eq!(ftp.file("up/outbox/f0").as_deref(), Some(&b"file 0\n"[..]));
    assert_eq!(
        std::fs::read(&f0).unwrap(),
        b"a newer file, never uploaded\n"
    );
    assert!(
        o.stderr.ends_with(
            "/outbox/f0: kept: no longer the file that was uploaded (replaced meanwhile)\n"
        ),
        "{o:#?}"
    );
    // Unchanged, it is removed.
    let ftp = FakeFtp::builder().dir("up").start();
    ftp_put(&[
        "-r",
        "--remove-source-files",
        outbox.to_str().unwrap(),
        &ftp.url("up/"),
    ])
    .ok();
    assert!(!f0.exists());
}

/// A local tree `dist` of three files and a subfolder.
fn dist(tag: &str) -> (TempDir, PathBuf) {
    let root = TempDir::new(tag);
    let dist = root.join("dist");
    std::fs::create_dir_all(dist.join("sub")).unwrap();
    for name in ["a", "b", "sub/c"] {
        std::fs::write(dist.join(name), name).unwrap();
    }
    (root, dist)
}

#[test]
fn recursive_into_a_missing_folder_is_one_line_naming_it_and_a_stop() {
    let (_root, dist) = dist("put-missing-folder");
    let dist = dist.to_str().unwrap();
    for feat in [None, Some(&["EPSV", "SIZE", "MDTM", "UTF8"][..])] {
        for parallel in ["1", "2"] {
            let mut b = FakeFtp::builder().dir("upload");
            if let Some(f) = feat {
                b = b.feat(f);
            }
            let ftp = b.start();
            let o = ftp_put(&["-r", "--parallel", parallel, dist, &ftp.url("upload/ci1/")]);
            assert_eq!(
                o.fails(73),
                format!(
                    "ftp-put: {}: the remote folder upload/ci1 does not exist (--create-dirs makes it)",
                    ftp.url("upload/ci1/dist")
                ),
                "{feat:?} {parallel}"
            );
            assert!(ftp.commands("STOR").is_empty());
            assert_eq!(ftp.commands("MKD"), ["MKD upload/ci1/dist"]);
            // --create-dirs makes it.
            ftp_put(&["-r", "--create-dirs", dist, &ftp.url("upload/ci1/")]).ok();
            assert_eq!(
                ftp.file("upload/ci1/dist/sub/c").as_deref(),
                Some(&b"sub/c"[..])
            );
            // Made already: the refused MKD is checked, and the files go.
            ftp_put(&["-r", "--parallel", parallel, dist, &ftp.url("upload/ci1/")]).ok();
        }
    }
    // The folder is there but the server will not make it: 77, one line, a stop.
    let ftp = FakeFtp::builder()
        .dir("upload")
        .reply("MKD", "550 Permission denied.\r\n")
        .start();
    let o = ftp_put(&["-r", dist, &ftp.url("upload/")]);
    assert_eq!(
        o.fails(77),
        format!(
            "ftp-put: {}: cannot make the remote folder: MKD: 550 Permission denied.",
            ftp.url("upload/dist")
        )
    );
    assert!(ftp.commands("STOR").is_empty());
}

#[test]
fn atomic_never_touches_someone_elses_part_file() {
    // Another uploader's .f.csv.part, half written: --atomic neither overwrites it nor
    // renames it into place.
    let ftp = FakeFtp::builder()
        .file("pub/f.csv", "old\n")
        .file("pub/.f.csv.part", "someone else's upload, half")
        .start();
    let dir = TempDir::new("put-atomic-theirs");
    let f = local(&dir, "f.csv", b"new contents\n");
    ftp_put(&["--atomic", &f, &ftp.url("pub/")]).ok();
    assert_eq!(
        ftp.file("pub/f.csv").as_deref(),
        Some(&b"new contents\n"[..])
    );
    assert_eq!(
        ftp.file("pub/.f.csv.part").as_deref(),
        Some(&b"someone else's upload, half"[..])
    );
    // Ours went through a name of its own, which does not stay.
    assert!(temporary(&ftp).starts_with("pub/.f.csv."));
    assert_eq!(ftp.names("pub"), [".f.csv.part", "f.csv"]);
}

#[test]
fn atomic_standard_input_cut_short_leaves_no_temporary_behind() {
    // A stream's temporary has a random TAG: no later run could take it for its own, so it
    // would stay on the server for ever. It is removed, and the message says so.
    let ftp = FakeFtp::builder().drop_upload_after(80_000).start();
    let o = ftp_put_stdin(&["--atomic", "-", &ftp.url("s")], &sample(200_000));
    assert_eq!(o.code, Some(74), "{o:#?}");
    let temp = temporary(&ftp);
    assert!(
        o.stderr
            .ends_with(&format!("; the temporary {temp} was removed\n")),
        "{o:#?}"
    );
    assert_eq!(o.stderr.lines().count(), 1, "{o:#?}");
    assert_eq!(ftp.deleted(), [temp]);
    assert!(ftp.names("").is_empty(), "{:?}", ftp.names(""));
}

#[test]
fn continue_atomic_resumes_only_its_own_part_file() {
    let body = sample(200_000);
    let dir = TempDir::new("put-atomic-resume");
    let f = local(&dir, "big", &body);
    // Someone else's .big.part: never resumed, never published.
    let theirs = vec![b'X'; 50_000];
    let ftp = FakeFtp::builder().file(".big.part", theirs.clone()).start();
    let o = ftp_put(&["-c", "--atomic", &f, &ftp.url("big")]);
    assert_eq!(o.code, Some(0), "{o:#?}");
    assert!(
        ftp.file("big") == Some(body.clone()),
        "big is not the local file"
    );
    assert!(
        ftp.file(".big.part") == Some(theirs.clone()),
        "their .big.part changed"
    );
    assert!(ftp.commands("REST").is_empty());

    // Our own upload, cut short, is resumed where it stopped.
    let ftp = FakeFtp::builder()
        .file(".big.part", theirs.clone())
        .drop_upload_after(80_000)
        .start();
    let o = ftp_put(&["--atomic", &f, &ftp.url("big")]);
    assert_eq!(o.code, Some(74), "{o:#?}");
    let temp = temporary(&ftp);
    assert!(temp.starts_with(".big."));
    assert!(
        ftp.file(&temp).as_deref() == Some(&body[..80_000]),
        "not the first 80000 bytes"
    );
    let o = ftp_put(&["-c", "--atomic", &f, &ftp.url("big")]);
    assert_eq!(o.code, Some(0), "{o:#?}");
    assert_in_order(
        &ftp.transcript(),
        &[
            &format!("SIZE {temp}"),
            "REST 80000",
            &format!("STOR {temp}"),
            &format!("RNFR {temp}"),
            "RNTO big",
        ],
    );
    assert!(
        ftp.file("big") == Some(body.clone()),
        "big is not the local file"
    );
    assert_eq!(ftp.names(""), [".big.part", "big"]);

    // The local file changed since (another time): the part is not its own any more.
    let ftp = FakeFtp::builder().drop_upload_after(80_000).start();
    let o = ftp_put(&["--atomic", &f, &ftp.url("big")]);
    assert_eq!(o.code, Some(74), "{o:#?}");
    std::fs::File::options()
        .write(true)
        .open(&f)
        .unwrap()
        .set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000))
        .unwrap();
    let o = ftp_put(&["-c", "--atomic", &f, &ftp.url("big")]);
    assert_eq!(o.code, Some(0), "{o:#?}");
    assert!(ftp.commands("REST").is_empty());
    let stors = ftp.commands("STOR");
    assert_ne!(stors[0], stors[1]);
    assert!(
        ftp.file("big") == Some(body.clone()),
        "big is not the local file"
    );

    // Standard input has no identity: never resumed from a temporary, whoever's.
    let ftp = FakeFtp::builder().file(".s.part", theirs.clone()).start();
    let o = ftp_put_stdin(&["-c", "--atomic", "-", &ftp.url("s")], &body);
    assert_eq!(o.code, Some(0), "{o:#?}");
    assert_eq!(
        o.stderr,
        format!(
            "ftp-put: {}: a stream has no identity to find its own temporary by: uploading it whole\n",
            ftp.url("s")
        )
    );
    assert!(
        ftp.file("s") == Some(body.clone()),
        "s is not standard input"
    );
    assert!(ftp.commands("SIZE").iter().all(|c| !c.contains(".s.part")));
    assert_eq!(ftp.names(""), [".s.part", "s"]);
}

#[test]
fn parallel_goes_on_with_the_connections_the_server_accepts() {
    // A server that takes one connection at a time: the three others are told 421, and
    // their files go over the one that logged in; said once, and exit 0.
    let ftp = FakeFtp::builder().dir("in").max_connections(1).start();
    let dir = TempDir::new("put-parallel-421");
    let mut args: Vec<String> = vec!["--parallel".into(), "4".into()];
    for i in 0..8 {
        args.push(local(&dir, &format!("f{i}"), &sample(1000 + i * 100)));
    }
    args.push(ftp.url("in/"));
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = ftp_put(&a);
    assert_eq!(o.code, Some(0), "{o:#?}");
    for i in 0..8 {
        assert!(
            ftp.file(&format!("in/f{i}")) == Some(sample(1000 + i * 100)),
            "in/f{i}"
        );
    }
    assert_eq!(ftp.commands("STOR").len(), 8);
    assert_eq!(
        o.stderr,
        format!(
            "ftp-put: 127.0.0.1:{}: greeting: server said: 421 Too many connections; going on with the connections the server accepted\n",
            ftp.port()
        )
    );
}

#[test]
fn recursive_never_enters_a_folder_swapped_for_a_link_during_the_walk() {
    // Two folders, each with a file f; the first STOR waits while the test replaces the
    // other folder by a link to a private folder that has an f of its own.
    let root = TempDir::new("put-swap-folder");
    let outbox = root.join("outbox");
    for d in ["d1", "d2"] {
        std::fs::create_dir_all(outbox.join(d)).unwrap();
        std::fs::write(outbox.join(d).join("f"), format!("{d}/f\n")).unwrap();
    }
    let private = root.join("private");
    std::fs::create_dir(&private).unwrap();
    std::fs::write(private.join("f"), "SECRET\n").unwrap();
    let ftp = FakeFtp::builder().dir("up").hold("STOR").start();
    let mut c = command(&["-r", outbox.to_str().unwrap(), &ftp.url("up/")]);
    c.stdout(Stdio::null()).stderr(Stdio::piped());
    let child = run::spawn(&mut c);
    ftp.wait_held("STOR", 1);
    let stor = ftp.commands("STOR")[0].clone();
    let first = if stor.contains("/d1/") { "d1" } else { "d2" };
    let other = if first == "d1" { "d2" } else { "d1" };
    std::fs::remove_dir_all(outbox.join(other)).unwrap();
    std::os::unix::fs::symlink(&private, outbox.join(other)).unwrap();
    ftp.release("STOR");
    let o = out(child.wait_with_output());
    assert_eq!(o.code, Some(0), "{o:#?}");
    assert_eq!(
        ftp.file(&format!("up/outbox/{first}/f")).as_deref(),
        Some(format!("{first}/f\n").as_bytes())
    );
    assert_eq!(ftp.file(&format!("up/outbox/{other}/f")), None);
    assert_eq!(ftp.commands("STOR").len(), 1);
    assert!(
        o.stderr.ends_with(&format!(
            "/outbox/{other}: a symbolic link, skipped (--follow uploads what it points to)\n"
        )),
        "{o:#?}"
    );
}

#[test]
fn options_go_anywhere_as_in_curl_and_the_other_tools() {
    let ftp = FakeFtp::builder().dir("up").start();
    let dir = TempDir::new("put-anywhere");
    let a = local(&dir, "a.txt", b"alpha");
    let b = local(&dir, "b.txt", b"beta");
    // An option after the first file used to give that file the URL's place.
    ftp_put(&[&a, "--tls", "none", &b, "-q", &ftp.url("up/")]).ok();
    assert_eq!(ftp.file("up/a.txt").as_deref(), Some(&b"alpha"[..]));
    assert_eq!(ftp.file("up/b.txt").as_deref(), Some(&b"beta"[..]));
    // Standard input too, with an option between it and the URL.
    ftp_put_stdin(&["-", "--tls", "none", &ftp.url("up/in.txt")], b"stdin").ok();
    assert_eq!(ftp.file("up/in.txt").as_deref(), Some(&b"stdin"[..]));
    // After `--`, a file named like an option is a file.
    let odd = local(&dir, "-q", b"odd");
    let o = command(&["--timeout", "5", "--", "-q", &ftp.url("up/")])
        .current_dir(&*dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    out(o).ok();
    assert_eq!(ftp.file("up/-q").as_deref(), Some(&b"odd"[..]), "{odd}");
}

/// ftp-put of `args` interrupted by SIGINT once the server has the upload's STOR, and its
/// standard error.
fn interrupted(ftp: &FakeFtp, args: &[&str]) -> String {
    let child = run::default_signals(
        command(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped()),
    )
    .spawn()
    .expect("spawn ftp-put");
    let start = std::time::Instant::now();
    while ftp.commands("STOR").is_empty() && start.elapsed() < std::time::Duration::from_secs(5) {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(!ftp.commands("STOR").is_empty(), "the upload started");
    std::thread::sleep(std::time::Duration::from_millis(100));
    let out = run::interrupt(child);
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn ctrl_c_says_what_is_left_on_the_server_and_how_to_resume() {
    let dir = TempDir::new("put-ctrlc");
    // More than the socket buffers hold, so that the upload is still going.
    let f = local(&dir, "big.bin", &sample(8 << 20));
    let ftp = FakeFtp::builder().dir("up").stall_data().start();
    let stderr = interrupted(&ftp, &["--atomic", &f, &ftp.url("up/")]);
    let stor = ftp.commands("STOR");
    let temp = stor[0].strip_prefix("STOR ").unwrap();
    assert!(
        temp.starts_with("up/.big.bin.") && temp.ends_with(".part"),
        "{temp}"
    );
    assert_eq!(
        stderr,
        format!(
            "ftp-put: interrupted: {} left incomplete on the server; run the same command with -c to resume it\n",
            ftp.url(temp)
        )
    );
    // Without --atomic the file itself is incomplete; a stream's --atomic temporary (its
    // name is random) cannot be resumed.
    let ftp = FakeFtp::builder().dir("up").stall_data().start();
    let stderr = interrupted(&ftp, &[&f, &ftp.url("up/")]);
    assert!(
        stderr.ends_with(&format!(
            "interrupted: {} left incomplete on the server; run the same command with -c to resume it\n",
            ftp.url("up/big.bin")
        )),
        "{stderr}"
    );
    let ftp = FakeFtp::builder().dir("up").stall_data().start();
    let fifo = dir.join("fifo");
    crate::support::files::mkfifo(&fifo);
    let writer = std::thread::spawn({
        let fifo = fifo.clone();
        move || {
            use std::io::Write;
            let mut w = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
            let _ = w.write_all(&sample(8 << 20));
        }
    });
    let stderr = interrupted(
        &ftp,
        &["--atomic", fifo.to_str().unwrap(), &ftp.url("up/s.bin")],
    );
    let stor = ftp.commands("STOR");
    let temp = stor[0].strip_prefix("STOR ").unwrap();
    assert!(
        stderr.ends_with(&format!(
            "interrupted: {} left incomplete on the server; it cannot be resumed: run the same command to send it again\n",
            ftp.url(temp)
        )),
        "{stderr}"
    );
    let _ = writer.join();
}
