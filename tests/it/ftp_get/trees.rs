//! Trees (`-r`) and hostile names.

use super::*;

#[test]
fn recursive_mirrors_a_tree_with_mtimes() {
    let ftp = FakeFtp::builder()
        .file_with_mtime("d/a.txt", "alpha", "20210304050607")
        .file("d/sub/b.bin", sample(70_000))
        .file("d/sub/deep/c", "c")
        .dir("d/empty")
        .file("elsewhere", "not in the tree")
        .start();
    let dir = TempDir::new("mirror");
    ftp_get(&["-r", "-O", dir.arg(), &ftp.url("d/")]).ok();
    assert_file(&dir.join("a.txt"), b"alpha");
    assert_file(&dir.join("sub/b.bin"), &sample(70_000));
    assert_file(&dir.join("sub/deep/c"), b"c");
    assert!(dir.join("empty").is_dir());
    assert_eq!(dir.names(), ["a.txt", "empty", "sub"]);
    assert_eq!(
        mtime(&dir.join("a.txt")),
        UNIX_EPOCH + Duration::from_secs(1_614_834_367)
    );
    // One connection for the whole tree.
    assert_eq!(ftp.connections(), 1);
    // --newer: nothing changed, nothing fetched.
    ftp_get(&["-r", "--newer", "-O", dir.arg(), &ftp.url("d/")]).ok();
    assert_eq!(ftp.commands("RETR").len(), 3);
    // A changed local file is fetched again.
    std::fs::write(dir.join("a.txt"), "changed").unwrap();
    ftp_get(&["-r", "--newer", "-O", dir.arg(), &ftp.url("d/")]).ok();
    assert_eq!(ftp.commands("RETR").len(), 4);
    assert_file(&dir.join("a.txt"), b"alpha");
}

/// `-r -O DIR`: DIR is a folder, made when missing (with the folders above it), as wget
/// `-r -P` and lftp's `mirror` make it; without `-r` such a name is refused as wget's `-O`.
#[test]
fn recursive_makes_a_missing_output_folder() {
    let ftp = FakeFtp::builder().file("d/a.txt", "alpha").start();
    let dir = TempDir::new("mirror-new");
    let target = dir.join("new/tree");
    ftp_get(&["-r", "-O", target.to_str().unwrap(), &ftp.url("d")]).ok();
    assert_file(&target.join("a.txt"), b"alpha");
    // A relative name, its first folder made in the current one.
    let o = command(&["-r", "-O", "rel/tree", &ftp.url("d")], &[])
        .current_dir(&*dir)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(o.status.success(), "{o:?}");
    assert_file(&dir.join("rel/tree/a.txt"), b"alpha");
    let other = dir.join("other");
    ftp_get(&["-O", other.to_str().unwrap(), &ftp.url("d/a.txt")]).fails(64);
    assert!(!other.exists());
}

#[test]
fn recursive_refuses_hostile_names_before_touching_the_disk() {
    let body = "type=file;size=1; ../escape\r\n\
type=file;size=1; /etc/abs\r\n\
type=file;size=1; ctrl\x1b]0;x\x07\r\n\
type=file;size=1; back\\slash\r\n\
type=dir; ..\r\n\
type=file;size=2; ok\r\n";
    let ftp = FakeFtp::builder()
        .file("t/ok", "ok")
        .listing("MLSD", body)
        .start();
    let root = TempDir::new("hostile");
    let dir = root.join("dest");
    std::fs::create_dir(&dir).unwrap();
    let o = ftp_get(&["-r", "-O", dir.to_str().unwrap(), &ftp.url("t/")]);
    assert_eq!(o.code, Some(76), "{o:#?}");
    let lines: Vec<&str> = o.stderr.lines().collect();
    assert_eq!(lines.len(), 4, "{o:#?}");
    assert!(
        lines[0].contains("refusing the listed name \"../escape\""),
        "{o:#?}"
    );
    assert!(lines[2].contains("ctrl\\x1b]0;x\\x07"), "{o:#?}");
    assert_file(&dir.join("ok"), b"ok");
    assert_eq!(crate::support::files::names(&dir), ["ok"]);
    assert_eq!(crate::support::files::names(&root), ["dest"]);
    assert_eq!(ftp.commands("RETR"), ["RETR t/ok"]);
    // The same from a Unix LIST.
    let list = "-rw-r--r-- 1 u g 1 Jan 02 2020 ../../escape\r\n\
-rw-r--r-- 1 u g 2 Jan 02 2020 ok\r\n";
    let ftp = FakeFtp::builder()
        .feat(&["EPSV", "SIZE", "MDTM", "REST STREAM"])
        .file("t/ok", "ok")
        .listing("LIST", list)
        .start();
    let o = ftp_get(&["-r", "-O", dir.to_str().unwrap(), &ftp.url("t/")]);
    assert_eq!(o.code, Some(76), "{o:#?}");
    assert!(
        o.stderr
            .contains("\"../../escape\": contains a path separator"),
        "{o:#?}"
    );
    assert_eq!(crate::support::files::names(&root), ["dest"]);
}

#[test]
fn recursive_never_follows_a_local_link_out_of_the_destination() {
    let ftp = FakeFtp::builder()
        .file("t/sub/x", "payload")
        .file("t/top", "top")
        .start();
    let root = TempDir::new("mirror-link");
    let dest = root.join("dest");
    let outside = root.join("outside");
    std::fs::create_dir(&dest).unwrap();
    std::fs::create_dir(&outside).unwrap();
    std::os::unix::fs::symlink(&outside, dest.join("sub")).unwrap();
    let o = ftp_get(&["-r", "-O", dest.to_str().unwrap(), &ftp.url("t/")]);
    let line = o.fails(73);
    assert!(
        line.contains("is a symbolic link; not following it"),
        "{line}"
    );
    assert!(crate::support::files::names(&outside).is_empty());
    assert_file(&dest.join("top"), b"top");
    // A link where a file goes is replaced, never written through.
    std::fs::remove_file(dest.join("sub")).unwrap();
    let victim = outside.join("victim");
    std::fs::write(&victim, "keep").unwrap();
    std::fs::remove_file(dest.join("top")).unwrap();
    std::os::unix::fs::symlink(&victim, dest.join("top")).unwrap();
    ftp_get(&["-r", "-O", dest.to_str().unwrap(), &ftp.url("t/")]).ok();
    assert_file(&victim, b"keep");
    assert_file(&dest.join("top"), b"top");
    assert!(
        !std::fs::symlink_metadata(dest.join("top"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_file(&dest.join("sub/x"), b"payload");
}

/// Runs ftp-get against `ftp`, whose QUIT is held (`Builder::hold`), and reads the tool's
/// peak memory (VmHWM) while it waits for that answer: after the whole walk.
fn ftp_get_peak(ftp: &FakeFtp, args: &[&str]) -> (Out, u64) {
    let start = Instant::now();
    let mut c = command(args, &[]);
    c.stdout(Stdio::null()).stderr(Stdio::piped());
    let child = run::spawn(&mut c);
    ftp.wait_held("QUIT", 1);
    let peak = run::peak_kib(child.id());
    ftp.release("QUIT");
    let out = Out::of("ftp-get", child.wait_with_output(), start.elapsed());
    (out, peak)
}

#[test]
fn recursive_walk_beyond_its_bounds_ends_with_an_error_in_bounded_memory() {
    let dir = TempDir::new("mirror-bounds");
    // Every folder holds 1,600 folders of 245-character names.
    let mut body = String::with_capacity(1600 * 270);
    for i in 0..1600 {
        body.push_str(&format!("type=dir; {i:04}{}\r\n", "x".repeat(241)));
    }
    let ftp = FakeFtp::builder()
        .listing("MLSD", body)
        .hold("QUIT")
        .start();
    let (o, peak) = ftp_get_peak(&ftp, &["-r", "-O", dir.arg(), &ftp.url("wide/")]);
    let e = o.fails(76);
    assert!(
        e.starts_with(&format!("ftp-get: {}: wide/0000x", ftp.url("wide/"))),
        "{e}"
    );
    assert!(
        e.ends_with(": the walk would keep more than 4 MiB of names (folders waiting to be entered, files to fetch): the tree is too wide"),
        "{e}"
    );
    assert_eq!(ftp.commands("MLSD").len(), 11);
    eprintln!("ftp-get -r of the wide tree: peak {peak} KiB");
    assert!(peak < 24 * 1024, "peak memory {peak} KiB");

    // A folder of files whose names alone are more than the walk keeps: nothing fetched.
    let mut body = String::with_capacity(20_000 * 260);
    for i in 0..20_000 {
        body.push_str(&format!("type=file;size=1; {i:05}{}\r\n", "f".repeat(235)));
    }
    let ftp = FakeFtp::builder().listing("MLSD", body).start();
    let e = ftp_get(&["-r", "-O", dir.arg(), &ftp.url("files/")])
        .fails(76)
        .to_string();
    assert!(
        e.starts_with(&format!(
            "ftp-get: {}: files: the walk would keep more than 4 MiB",
            ftp.url("files/")
        )),
        "{e}"
    );
    assert!(ftp.commands("RETR").is_empty());

    // Two folders of 8,000-byte names: no command that long is ever sent.
    let dir = TempDir::new("mirror-bounds-long");
    let long = |c: char| c.to_string().repeat(8000);
    let body = format!("type=dir; {}\r\ntype=dir; {}\r\n", long('a'), long('b'));
    let ftp = FakeFtp::builder().listing("MLSD", body).start();
    let e = ftp_get(&["-r", "-O", dir.arg(), &ftp.url("top/")])
        .fails(76)
        .to_string();
    assert!(
        e.contains(": top: holds a folder whose path would be 8004 bytes long"),
        "{e}"
    );
    assert_eq!(ftp.commands("MLSD"), ["MLSD top"]);
    assert!(dir.names().is_empty(), "{:?}", dir.names());

    // A file whose path no command could carry is refused, as a hostile name is; the
    // others are fetched.
    let dir = TempDir::new("mirror-bounds-file");
    let body = format!(
        "type=file;size=2; ok\r\ntype=file;size=1; {}\r\n",
        "f".repeat(4500)
    );
    let ftp = FakeFtp::builder()
        .file("t/ok", "ok")
        .listing("MLSD", body)
        .start();
    let e = ftp_get(&["-r", "-O", dir.arg(), &ftp.url("t/")])
        .fails(76)
        .to_string();
    assert!(
        e.contains(": t: holds a file whose path would be 4502 bytes long"),
        "{e}"
    );
    assert_file(&dir.join("ok"), b"ok");
    assert_eq!(ftp.commands("RETR"), ["RETR t/ok"]);
    // The same from a wildcard's listing: 76, never a command line refused as usage (64).
    let body = format!(
        "type=file;size=2; ok.csv\r\ntype=file;size=1; {}.csv\r\n",
        "f".repeat(4500)
    );
    let ftp = FakeFtp::builder()
        .file("t/ok.csv", "ok")
        .listing("MLSD", body)
        .start();
    let e = ftp_get(&["-O", dir.arg(), &ftp.url("t/*.csv")])
        .fails(76)
        .to_string();
    assert!(
        e.contains("its path would be longer than the 4000 bytes a remote path may have"),
        "{e}"
    );
    assert_eq!(ftp.commands("RETR"), ["RETR t/ok.csv"]);

    // A loop without unique facts: 64 levels are mirrored, the 65th is said.
    let dir = TempDir::new("mirror-bounds-deep");
    let ftp = FakeFtp::builder()
        .feat(&["EPSV", "SIZE", "MDTM", "REST STREAM"])
        .listing("LIST", "drwxr-xr-x 2 0 0 4096 Jan 02 2020 loop\r\n")
        .start();
    let e = ftp_get(&["-r", "-O", dir.arg(), &ftp.url("top/")])
        .fails(76)
        .to_string();
    assert!(
        e.ends_with(": holds the folder \"loop\", deeper than 64 levels: not entered (a loop on the server?)"),
        "{e}"
    );
    assert_eq!(ftp.commands("LIST").len(), 65);
    assert!(dir.join(format!("loop{}", "/loop".repeat(63))).is_dir());
    assert!(!dir.join(format!("loop{}", "/loop".repeat(64))).exists());
}

#[test]
fn recursive_of_a_missing_folder_is_66_where_the_server_lists_it_as_empty() {
    // vsftpd answers LIST of a missing folder with 150, nothing, 226.
    let ftp = FakeFtp::builder()
        .feat(&["EPSV", "SIZE", "MDTM", "REST STREAM"])
        .dir("empty")
        .listing("LIST", "")
        .start();
    let dir = TempDir::new("mirror-missing");
    let e = ftp_get(&["-r", "-O", dir.arg(), &ftp.url("nonexist/")])
        .fails(66)
        .to_string();
    assert_eq!(
        e,
        format!(
            "ftp-get: {}: no such folder (the listing was empty, and CWD does not find it)",
            ftp.url("nonexist/")
        )
    );
    // An empty folder mirrors to nothing, successfully.
    ftp_get(&["-r", "-O", dir.arg(), &ftp.url("empty/")]).ok();
    assert!(dir.names().is_empty());
    // With MLSD: MLST asks.
    let ftp = FakeFtp::builder().dir("empty").listing("MLSD", "").start();
    let e = ftp_get(&["-r", "-O", dir.arg(), &ftp.url("nonexist/")])
        .fails(66)
        .to_string();
    assert!(
        e.ends_with("(the listing was empty, and MLST does not find it)"),
        "{e}"
    );
    ftp_get(&["-r", "-O", dir.arg(), &ftp.url("empty/")]).ok();
}

#[test]
fn recursive_needs_a_folder_destination() {
    let ftp = FakeFtp::builder().file("t/x", "x").start();
    let e = ftp_get(&["-r", "--stdout", &ftp.url("t/")])
        .fails(64)
        .to_string();
    assert!(e.contains("cannot be used with"), "{e}");
}

#[test]
fn recursive_takes_a_folder_url_without_its_slash_as_that_folder() {
    let ftp = FakeFtp::builder()
        .file("upload/ci1/a.txt", "alpha")
        .file("upload/ci1/sub/b.txt", "beta")
        .file("upload/other.txt", "not in the tree")
        .start();
    let dir = TempDir::new("noslash");
    // As lftp's mirror and wget -r take it: the same as ftp://h/upload/ci1/.
    ftp_get(&["-r", "-O", dir.arg(), &ftp.url("upload/ci1")]).ok();
    assert_file(&dir.join("a.txt"), b"alpha");
    assert_file(&dir.join("sub/b.txt"), b"beta");
    assert_eq!(dir.names(), ["a.txt", "sub"]);
    // A file URL with -r is still that file, and a wildcard its matches.
    let files = TempDir::new("noslash-file");
    ftp_get(&["-r", "-O", files.arg(), &ftp.url("upload/other.txt")]).ok();
    ftp_get(&["-r", "-O", files.arg(), &ftp.url("upload/ci1/*.txt")]).ok();
    assert_eq!(files.names(), ["a.txt", "other.txt"]);
    // A missing name is still 66.
    let out = ftp_get(&["-r", "-O", files.arg(), &ftp.url("upload/gone")]);
    out.fails(66);
}
