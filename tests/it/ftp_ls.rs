//! ftp-ls end to end against the fake server: MLSD and every LIST format (real samples from
//! Unix, IIS/DOS and EPLF servers), the three output formats, -R with loop protection,
//! globs, hostile names, unparseable lines, a 100,000-entry folder.

use std::process::{Command, Stdio};

use crate::support::assert_in_order;
use crate::support::fake_ftp::*;
use crate::support::run;
use crate::support::tool::{Out, tool};

fn ftp_ls(args: &[&str]) -> Out {
    tool("ftp-ls").args(args).timeout(5).run()
}

/// FEAT without MLST: LIST it is.
const NO_MLST: &[&str] = &["EPSV", "PASV", "SIZE", "MDTM", "REST STREAM", "UTF8"];

fn tree() -> Builder {
    FakeFtp::builder()
        .file_with_mtime("d/a.csv", "12345", "20240305170800")
        .file("d/b.txt", "xy")
        .file("d/sub/c.csv", "c")
        .file("d/sub/deeper/e", "")
        .dir("d/empty")
}

fn json(line: &str) -> serde_json::Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"))
}

#[test]
fn mlsd_names_long_and_json() {
    let ftp = tree().start();
    let names = ftp_ls(&[&ftp.url("d/")]).ok().lines().join(",");
    assert_eq!(names, "a.csv,b.txt,empty,sub");
    assert!(ftp.commands("MLSD").contains(&"MLSD d".to_string()));
    assert!(ftp.commands("LIST").is_empty());
    let long = ftp_ls(&["-l", &ftp.url("d/")]).ok().lines().join("\n");
    assert!(
        long.contains("-            5 2024-03-05 17:08 a.csv"),
        "{long}"
    );
    assert!(
        long.contains("d            - 2020-01-02 03:04 sub"),
        "{long}"
    );
    let out = ftp_ls(&["--json", &ftp.url("d/")]);
    let lines = out.ok().lines();
    let a = json(lines[0]);
    assert_eq!(a["name"], "a.csv");
    assert_eq!(a["path"], "d/a.csv");
    assert_eq!(a["type"], "file");
    assert_eq!(a["size"], 5);
    assert_eq!(a["modified"], "2024-03-05T17:08:00Z");
    assert!(a.get("target").is_none());
    assert_eq!(json(lines[3])["type"], "dir");
    // The login folder.
    assert_eq!(ftp_ls(&[&ftp.url("")]).ok().lines(), ["d"]);
}

#[test]
fn list_is_parsed_when_there_is_no_mlsd() {
    let ftp = tree().feat(NO_MLST).start();
    let names = ftp_ls(&[&ftp.url("d/")]).ok().lines().join(",");
    assert_eq!(names, "a.csv,b.txt,empty,sub");
    assert!(ftp.commands("MLSD").is_empty());
    let out = ftp_ls(&["--json", &ftp.url("d/")]);
    let a = json(out.ok().lines()[0]);
    assert_eq!(a["size"], 5);
    assert_eq!(a["modified"], "2024-03-05T00:00:00Z", "a year, no time");
}

/// Real LIST samples: vsftpd/ProFTPD (with group, times and years, links, spaces), a
/// server without the group column, IIS (DOS) and EPLF (publicfile).
const UNIX: &str = "total 24\r\n\
drwxr-xr-x    2 1000     1000         4096 Mar 05  2024 docs\r\n\
-rw-r--r--    1 1000     1000     10485760 Jan 02  2020 big file.iso\r\n\
lrwxrwxrwx    1 0        0              11 Feb 10  2021 latest -> release-1.2\r\n\
-rw-r--r--   1 owner        512 Jan  5  2021 no group.txt\r\n";
const DOS: &str = "01-02-20  03:04PM       <DIR>          Program Files\r\n\
12-31-1999  12:00AM           1,048,576 y2k.log\r\n";
const EPLF: &str = "+i8388621.29609,m824255902,/,\tdev\r\n\
+i8388621.44468,m839956783,r,s10376,\tRFCEPLF\r\n";

#[test]
fn unix_dos_and_eplf_listings() {
    let ftp = FakeFtp::builder()
        .feat(NO_MLST)
        .listing("LIST", UNIX)
        .start();
    let out = ftp_ls(&["--json", &ftp.url("x/")]);
    let v: Vec<serde_json::Value> = out.ok().lines().into_iter().map(json).collect();
    assert_eq!(v.len(), 4);
    assert_eq!(v[0]["type"], "dir");
    assert_eq!(v[1]["name"], "big file.iso");
    assert_eq!(v[1]["size"], 10_485_760);
    assert_eq!(v[1]["modified"], "2020-01-02T00:00:00Z");
    assert_eq!(v[2]["type"], "link");
    assert_eq!(v[2]["name"], "latest");
    assert_eq!(v[2]["target"], "release-1.2");
    assert_eq!(v[3]["name"], "no group.txt");
    let long = ftp_ls(&["-lh", &ftp.url("x/")]).ok().lines().join("\n");
    assert!(
        long.contains("10 MiB 2020-01-02 00:00 big file.iso"),
        "{long}"
    );
    assert!(
        long.contains("l         11 B 2021-02-10 00:00 latest -> release-1.2"),
        "{long}"
    );

    let ftp = FakeFtp::builder()
        .feat(NO_MLST)
        .listing("LIST", DOS)
        .start();
    let out = ftp_ls(&["--json", &ftp.url("x/")]);
    let v: Vec<serde_json::Value> = out.ok().lines().into_iter().map(json).collect();
    assert_eq!(v[0]["name"], "Program Files");
    assert_eq!(v[0]["type"], "dir");
    assert_eq!(v[0]["modified"], "2020-01-02T15:04:00Z");
    assert_eq!(v[1]["size"], 1_048_576);

    let ftp = FakeFtp::builder()
        .feat(NO_MLST)
        .listing("LIST", EPLF)
        .start();
    let out = ftp_ls(&["--json", &ftp.url("x/")]);
    let v: Vec<serde_json::Value> = out.ok().lines().into_iter().map(json).collect();
    assert_eq!(v[0]["name"], "dev");
    assert_eq!(v[0]["type"], "dir");
    assert_eq!(v[1]["name"], "RFCEPLF");
    assert_eq!(v[1]["size"], 10376);
    assert_eq!(v[1]["modified"], "1996-08-13T17:19:43Z");
}

#[test]
fn mlsd_links_and_raw_output() {
    let ftp = FakeFtp::builder()
        .listing(
            "MLSD",
            "type=cdir; .\r\ntype=OS.unix=slink:/srv/data;modify=20200102030405; data\r\n",
        )
        .listing(
            "LIST",
            "lrwxrwxrwx 1 0 0 9 Jan 02 2020 data -> /srv/data\r\n",
        )
        .start();
    let v = json(ftp_ls(&["--json", &ftp.url("x/")]).ok().lines()[0]);
    assert_eq!(v["type"], "link");
    assert_eq!(v["target"], "/srv/data");
    // --raw: LIST's lines as they came.
    assert_eq!(
        ftp_ls(&["--raw", &ftp.url("x/")]).ok().lines(),
        ["lrwxrwxrwx 1 0 0 9 Jan 02 2020 data -> /srv/data"]
    );
}

#[test]
fn unparseable_lines_are_reported_with_verbose_and_never_fatal() {
    let body = "garbage line\r\n-rw-r--r-- 1 u g 3 Jan 02 2020 ok.txt\r\n\x1b[31mred\r\n";
    let ftp = FakeFtp::builder()
        .feat(NO_MLST)
        .listing("LIST", body)
        .start();
    let out = ftp_ls(&[&ftp.url("x/")]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_eq!(out.text(), "ok.txt\n");
    assert_eq!(
        out.stderr,
        "ftp-ls: 2 listing lines were not understood (-v shows them)\n"
    );
    let out = ftp_ls(&["-v", &ftp.url("x/")]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert!(
        out.stderr
            .contains("ftp-ls: unparsed listing line: garbage line\n"),
        "{out:#?}"
    );
    assert!(
        out.stderr
            .contains("ftp-ls: unparsed listing line: \\x1b[31mred\n"),
        "{out:#?}"
    );
}

#[test]
fn hostile_names_cannot_reach_the_terminal() {
    let body = "type=file;size=1; evil\x1b]0;pwned\x07name\r\n";
    let ftp = FakeFtp::builder().listing("MLSD", body).start();
    assert_eq!(
        ftp_ls(&[&ftp.url("x/")]).ok().lines(),
        ["evil\\x1b]0;pwned\\x07name"]
    );
    let out = ftp_ls(&["--json", &ftp.url("x/")]);
    assert!(
        out.text().contains("evil\\u001b]0;pwned\\u0007name"),
        "{out:#?}"
    );
    assert_eq!(
        json(out.ok().lines()[0])["name"],
        "evil\x1b]0;pwned\x07name"
    );
}

#[test]
fn json_escapes_every_character_plain_output_makes_visible() {
    // DEL, a C1 control (CSI, which some terminals act on), NEL, and the bidi override
    // that shows "txt.exe" as "exe.txt": raw in JSON, they reach a terminal through jq -r
    // or less as they would through ls.
    let name = "a\u{7f}b\u{9b}31mc\u{85}d\u{202e}txt.exe\u{2066}e\u{feff}";
    let body = format!("type=file;size=1; {name}\r\ntype=OS.unix=slink:t\u{9b}x; l\r\n");
    let ftp = FakeFtp::builder().listing("MLSD", body).start();
    let plain = ftp_ls(&[&ftp.url("x/")]);
    assert_eq!(
        plain.ok().lines()[0],
        "a\\x7fb\\x9b31mc\\x85d\\u{202e}txt.exe\\u{2066}e\\u{feff}"
    );
    let out = ftp_ls(&["--json", &ftp.url("x/")]);
    let lines = out.ok().lines();
    assert_eq!(
        lines[0],
        "{\"name\":\"a\\u007fb\\u009b31mc\\u0085d\\u202etxt.exe\\u2066e\\ufeff\",\
         \"path\":\"x/a\\u007fb\\u009b31mc\\u0085d\\u202etxt.exe\\u2066e\\ufeff\",\
         \"type\":\"file\",\"size\":1,\"modified\":null}"
    );
    assert!(lines[1].ends_with(",\"target\":\"t\\u009bx\"}"), "{out:#?}");
    // Only ASCII on the line, and a JSON reader gets the name back exactly.
    assert!(out.stdout.is_ascii(), "{out:#?}");
    assert_eq!(json(lines[0])["name"], name);
    assert_eq!(json(lines[1])["target"], "t\u{9b}x");
}

#[test]
fn recursive_listing_walks_the_tree_in_order() {
    let ftp = tree().start();
    assert_eq!(
        ftp_ls(&["-R", &ftp.url("d/")]).ok().lines(),
        [
            "a.csv",
            "b.txt",
            "empty",
            "sub",
            "sub/c.csv",
            "sub/deeper",
            "sub/deeper/e"
        ]
    );
    let out = ftp_ls(&["-R", "--json", &ftp.url("d/")]);
    let last = json(out.ok().lines()[6]);
    assert_eq!(last["path"], "d/sub/deeper/e");
    // The same with LIST.
    let ftp = tree().feat(NO_MLST).start();
    assert_eq!(ftp_ls(&["-R", &ftp.url("d/")]).ok().lines().len(), 7);
}

#[test]
fn recursion_never_enters_a_folder_twice() {
    // Every folder lists "loop", the same folder (its unique fact says so).
    let ftp = FakeFtp::builder()
        .listing(
            "MLSD",
            "type=dir;unique=801U1; loop\r\ntype=file;size=1; f\r\n",
        )
        .start();
    let out = ftp_ls(&["-R", &ftp.url("top/")]);
    assert_eq!(out.ok().lines(), ["loop", "f", "loop/loop", "loop/f"]);
    assert_eq!(ftp.commands("MLSD").len(), 2);
}

#[test]
fn a_tree_deeper_than_64_levels_ends_the_walk_with_an_error() {
    // Without a unique fact, the depth limit ends a loop: 65 folders are listed (the top
    // and 64 levels below it), and the 65th level is said, not silently left out.
    let ftp = FakeFtp::builder()
        .feat(NO_MLST)
        .listing("LIST", "drwxr-xr-x 2 0 0 4096 Jan 02 2020 loop\r\n")
        .start();
    let out = ftp_ls(&["-R", &ftp.url("top/")]);
    let e = out.fails(76).to_string();
    // The deepest folder's path, 323 bytes, is shown by its start and end.
    let deepest = format!("top{}", "/loop".repeat(64));
    let deepest = format!("{}...{} (323 bytes)", &deepest[..100], &deepest[263..]);
    assert_eq!(
        e,
        format!(
            "ftp-ls: {}: {deepest}: holds the folder \"loop\", deeper than 64 levels: not entered (a loop on the server?)",
            ftp.url("top/")
        )
    );
    assert_eq!(out.lines().len(), 65);
    assert_eq!(ftp.commands("LIST").len(), 65);
}

/// Runs ftp-ls against `ftp`, whose QUIT is held (`Builder::hold`), and reads the tool's
/// peak memory (VmHWM) while it waits for that answer: after the whole walk.
fn ftp_ls_peak(ftp: &FakeFtp, args: &[&str]) -> (Out, u64) {
    let mut c = tool("ftp-ls").args(args).timeout(30).command();
    c.stdout(Stdio::null()).stderr(Stdio::piped());
    let child = run::spawn(&mut c);
    ftp.wait_held("QUIT", 1);
    let peak = run::peak_kib(child.id());
    ftp.release("QUIT");
    let out = Out::of(
        "ftp-ls",
        child.wait_with_output(),
        std::time::Duration::ZERO,
    );
    (out, peak)
}

#[test]
fn a_tree_wider_than_the_walk_can_hold_ends_in_bounded_memory() {
    // Every folder holds 1,600 folders of 245-character names: each level down keeps
    // 1,600 more names waiting. The walk ends once they would take more than 4 MiB (76),
    // in a few MiB, where it took 1.1 GB before.
    let mut body = String::with_capacity(1600 * 270);
    for i in 0..1600 {
        body.push_str(&format!("type=dir; {i:04}{}\r\n", "x".repeat(241)));
    }
    let ftp = FakeFtp::builder()
        .listing("MLSD", body)
        .hold("QUIT")
        .start();
    let (out, peak) = ftp_ls_peak(&ftp, &["-R", &ftp.url("wide/")]);
    let e = out.fails(76).to_string();
    assert!(
        e.contains("the walk would keep more than 4 MiB of names (folders waiting to be entered, files to fetch): the tree is too wide"),
        "{e}"
    );
    // 4 MiB hold 1,600 names of 261 bytes ten times over: the tenth level's listing is
    // the last.
    assert_eq!(ftp.commands("MLSD").len(), 11);
    eprintln!("ftp-ls -R of the wide tree: peak {peak} KiB");
    assert!(peak < 24 * 1024, "peak memory {peak} KiB");
}

#[test]
fn a_name_too_long_for_a_command_line_ends_the_walk_before_it_is_sent() {
    // Two folders of 8,000-byte names in every folder: a walk could only go on by
    // sending ever longer commands (and keeping ever longer paths).
    let long = |c: char| c.to_string().repeat(8000);
    let body = format!("type=dir; {}\r\ntype=dir; {}\r\n", long('a'), long('b'));
    let ftp = FakeFtp::builder().listing("MLSD", body).start();
    let out = ftp_ls(&["-R", &ftp.url("top/")]);
    let e = out.fails(76).to_string();
    assert!(
        e.starts_with(&format!(
            "ftp-ls: {}: top: holds a folder whose path would be 8004 bytes long (\"{}...{} (8000 bytes)\"); remote paths are limited to 4000 bytes",
            ftp.url("top/"),
            "a".repeat(100),
            "a".repeat(60)
        )),
        "{e}"
    );
    // The top folder was shown whole; nothing longer than MLSD top was sent.
    assert_eq!(out.lines().len(), 2);
    assert_eq!(ftp.commands("MLSD"), ["MLSD top"]);
    // A path of the URL's own that no command line could carry is refused unsent (64).
    let ftp = FakeFtp::builder().start();
    let deep = format!("{}/", "d".repeat(5000));
    let e = ftp_ls(&[&ftp.url(&deep)]).fails(64).to_string();
    assert!(
        e.contains("refusing to send a command line of 5005 bytes (at most 4096): MLSD ddd"),
        "{e}"
    );
    assert!(ftp.transcript().iter().all(|l| l.len() <= 4096));
}

#[test]
fn a_missing_folder_is_66_where_the_server_lists_it_as_empty() {
    // vsftpd answers LIST of a missing folder with 150, nothing, 226.
    let ftp = tree().feat(NO_MLST).listing("LIST", "").start();
    for args in [&["x"][..], &["-R", "x"], &["--raw", "x"]] {
        let mut a: Vec<String> = args[..args.len() - 1]
            .iter()
            .map(|s| s.to_string())
            .collect();
        a.push(ftp.url("nonexist/"));
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let e = ftp_ls(&a).fails(66).to_string();
        assert_eq!(
            e,
            format!(
                "ftp-ls: {}: no such folder (the listing was empty, and CWD does not find it)",
                ftp.url("nonexist/")
            ),
            "{a:?}"
        );
    }
    // An empty folder is success, with nothing printed; so is the login folder.
    assert!(ftp_ls(&[&ftp.url("d/empty/")]).ok().lines().is_empty());
    assert!(
        ftp_ls(&["-R", &ftp.url("d/empty/")])
            .ok()
            .lines()
            .is_empty()
    );
    assert!(ftp_ls(&[&ftp.url("")]).ok().lines().is_empty());
    assert_in_order(
        &ftp.transcript(),
        &["LIST d/empty", "PWD", "CWD d/empty", "CWD /home/u"],
    );
    // With MLSD, MLST asks (here the server lists a missing folder as empty, too).
    let ftp = tree().listing("MLSD", "").start();
    let e = ftp_ls(&[&ftp.url("nonexist/")]).fails(66).to_string();
    assert!(
        e.ends_with("no such folder (the listing was empty, and MLST does not find it)"),
        "{e}"
    );
    assert!(ftp_ls(&[&ftp.url("d/empty/")]).ok().lines().is_empty());
    // A wildcard in a missing folder names the folder.
    let e = ftp_ls(&[&ftp.url("nonexist/*.csv")]).fails(66).to_string();
    assert!(
        e.ends_with(
            "*.csv: nonexist: no such folder (the listing was empty, and MLST does not find it)"
        ),
        "{e}"
    );
}

#[test]
fn globs_single_files_and_missing_folders() {
    let ftp = tree().start();
    assert_eq!(ftp_ls(&[&ftp.url("d/*.csv")]).ok().lines(), ["a.csv"]);
    let e = ftp_ls(&[&ftp.url("d/*.zip")]).fails(66).to_string();
    assert!(e.contains("nothing matches *.zip"), "{e}");
    assert_eq!(
        ftp_ls(&["-l", &ftp.url("d/b.txt")]).ok().lines(),
        ["-            2 2020-01-02 03:04 b.txt"]
    );
    assert_eq!(
        ftp_ls(&[&ftp.url("d/sub")]).ok().lines(),
        ["c.csv", "deeper"]
    );
    let e = ftp_ls(&[&ftp.url("nope/")]).fails(66).to_string();
    assert!(e.contains("no such folder"), "{e}");
    let e = ftp_ls(&[&ftp.url("d/nope")]).fails(66).to_string();
    assert!(e.contains("no such file or folder"), "{e}");
    // Without MLST: a CWD tells a folder from a file.
    let ftp = tree().feat(NO_MLST).start();
    assert_eq!(
        ftp_ls(&[&ftp.url("d/sub")]).ok().lines(),
        ["c.csv", "deeper"]
    );
    assert_eq!(ftp_ls(&[&ftp.url("d/b.txt")]).ok().lines(), ["b.txt"]);
}

#[test]
fn a_folder_of_100000_entries_streams() {
    let mut body = String::with_capacity(6_000_000);
    for i in 0..100_000 {
        body.push_str(&format!("type=file;size={i}; file-{i:06}\r\n"));
    }
    let ftp = FakeFtp::builder().listing("MLSD", body).start();
    let out = ftp_ls(&[&ftp.url("big/")]);
    let lines = out.ok().lines();
    assert_eq!(lines.len(), 100_000);
    assert_eq!(lines[99_999], "file-099999");
}

#[test]
fn a_reader_that_leaves_early_is_fine() {
    let mut body = String::new();
    for i in 0..50_000 {
        body.push_str(&format!("type=file;size=1; f{i}\r\n"));
    }
    let ftp = FakeFtp::builder().listing("MLSD", body).start();
    let url = ftp.url("x/");
    let o = run::output(Command::new("sh").args([
        "-c",
        &format!(
            "{} --timeout 5 '{url}' | head -n 1; echo \"status ${{PIPESTATUS:-}}\"",
            env!("CARGO_BIN_EXE_ftp-ls")
        ),
    ]));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.starts_with("f0\n"), "{stdout}");
    assert_eq!(String::from_utf8_lossy(&o.stderr), "");
}

#[test]
fn human_readable_without_long_changes_nothing_as_in_ls() {
    let ftp = tree().start();
    let plain = ftp_ls(&[&ftp.url("d/")]).ok().lines().join(",");
    assert_eq!(
        ftp_ls(&["-h", &ftp.url("d/")]).ok().lines().join(","),
        plain
    );
    let json = ftp_ls(&["--json", &ftp.url("d/")]).ok().lines().join("\n");
    let with_h = ftp_ls(&["-h", "--json", &ftp.url("d/")])
        .ok()
        .lines()
        .join("\n");
    assert_eq!(with_h, json);
    let long = ftp_ls(&["-lh", &ftp.url("d/")]).ok().lines().join("\n");
    assert!(long.contains("5 B 2024-03-05 17:08 a.csv"), "{long}");
}
