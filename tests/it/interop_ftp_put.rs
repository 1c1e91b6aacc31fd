//! ftp-put against the loopback vsftpd instances (scripts/test-servers): plain FTP and
//! explicit FTPS (require_ssl_reuse=YES), into the test user's writable `upload/` folder,
//! checked on the server's disk.

use crate::support::files::{TempDir, sample, sha256, sha256_file};
use crate::support::run;
use crate::support::servers::{Servers, servers};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_ftp-put");

/// Runs ftp-put with the test user's password in `$PH_TEST_PASSWORD`.
fn ftp_put(s: &Servers, args: &[&str]) -> Output {
    run::output(
        Command::new(BIN)
            .args(args)
            .args(["--password-env", "PH_TEST_PASSWORD", "--timeout", "30"])
            .env("PH_TEST_PASSWORD", &s.password)
            .env("HOME", "/nonexistent"),
    )
}

fn ok(o: &Output, what: &str) {
    assert!(
        o.status.success(),
        "{what}: {:?} {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The two ways in: plain FTP (`--tls none`) and explicit FTPS with the test CA.
fn flavours(s: &Servers) -> Vec<(&'static str, u16, Vec<String>)> {
    vec![
        ("plain", s.plain_port, vec!["--tls".into(), "none".into()]),
        (
            "ftps",
            s.ftps_port,
            vec![
                "--tls".into(),
                "required".into(),
                "--cacert".into(),
                s.ca_cert.display().to_string(),
            ],
        ),
    ]
}

fn args<'a>(extra: &'a [String], rest: &[&'a str]) -> Vec<&'a str> {
    let mut v: Vec<&str> = extra.iter().map(String::as_str).collect();
    v.extend_from_slice(rest);
    v
}

#[test]
fn put_atomic_put_and_stdin_over_plain_and_ftps() {
    let Some(s) = servers() else { return };
    let dir = TempDir::new("interop-put");
    let body = sample(3 << 20);
    let local = dir.join("payload.bin");
    std::fs::write(&local, &body).unwrap();
    let local = local.to_str().unwrap();
    for (tag, port, extra) in flavours(&s) {
        // A plain STOR.
        let name = s.upload_name(&format!("put-{tag}"));
        let o = ftp_put(
            &s,
            &args(&extra, &[local, &s.url_no_password("ftp", port, &name)]),
        );
        ok(&o, tag);
        assert_eq!(sha256_file(&s.home.join(&name)), sha256(&body), "{tag}");
        // --atomic replaces it through .NAME.TAG.part, which does not stay.
        let other = sample(10_000);
        let small = dir.join("small");
        std::fs::write(&small, &other).unwrap();
        let o = ftp_put(
            &s,
            &args(
                &extra,
                &[
                    "--atomic",
                    small.to_str().unwrap(),
                    &s.url_no_password("ftp", port, &name),
                ],
            ),
        );
        ok(&o, tag);
        assert_eq!(std::fs::read(s.home.join(&name)).unwrap(), other, "{tag}");
        let (folder, base) = name.rsplit_once('/').unwrap();
        let left: Vec<String> = std::fs::read_dir(s.home.join(folder))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(&format!(".{base}.")))
            .collect();
        assert!(left.is_empty(), "{tag}: {left:?}");
        // Standard input.
        let name = s.upload_name(&format!("stdin-{tag}"));
        let mut c = Command::new(BIN);
        c.args(args(&extra, &["-", &s.url_no_password("ftp", port, &name)]))
            .args(["--password-env", "PH_TEST_PASSWORD", "--timeout", "30"])
            .env("PH_TEST_PASSWORD", &s.password)
            .env("HOME", "/nonexistent");
        let o = run::output_with_input(&mut c, &body[..123_457]);
        ok(&o, tag);
        assert_eq!(std::fs::read(s.home.join(&name)).unwrap(), &body[..123_457]);
    }
}

#[test]
fn create_dirs_resume_and_chmod_over_plain_and_ftps() {
    let Some(s) = servers() else { return };
    let dir = TempDir::new("interop-put-resume");
    let body = sample(2 << 20);
    let full = dir.join("full.bin");
    std::fs::write(&full, &body).unwrap();
    let half = dir.join("half.bin");
    std::fs::write(&half, &body[..777_777]).unwrap();
    for (tag, port, extra) in flavours(&s) {
        let base = s.upload_name(&format!("tree-{tag}"));
        let name = format!("{base}/a/b/full.bin");
        let url = s.url_no_password("ftp", port, &name);
        // The first part, as an interrupted upload would leave it, in new folders.
        let o = ftp_put(
            &s,
            &args(&extra, &["--create-dirs", half.to_str().unwrap(), &url]),
        );
        ok(&o, tag);
        assert_eq!(
            std::fs::metadata(s.home.join(&name)).unwrap().len(),
            777_777
        );
        // -c sends the rest (REST + STOR), and --chmod sets the mode.
        let o = ftp_put(
            &s,
            &args(
                &extra,
                &["-c", "--chmod", "600", full.to_str().unwrap(), &url],
            ),
        );
        ok(&o, tag);
        assert_eq!(sha256_file(&s.home.join(&name)), sha256(&body), "{tag}");
        let mode = std::fs::metadata(s.home.join(&name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{tag}");
        // --remove-source-files after a checked upload.
        let gone = dir.join(format!("gone-{tag}"));
        std::fs::write(&gone, b"bye\n").unwrap();
        let url = s.url_no_password("ftp", port, &format!("{base}/"));
        let o = ftp_put(
            &s,
            &args(
                &extra,
                &["--remove-source-files", gone.to_str().unwrap(), &url],
            ),
        );
        ok(&o, tag);
        assert!(!gone.exists(), "{tag}");
        assert_eq!(
            std::fs::read(s.home.join(&base).join(format!("gone-{tag}"))).unwrap(),
            b"bye\n"
        );
    }
}

#[test]
fn atomic_uploads_a_file_whose_name_is_near_the_longest_a_name_may_be() {
    // A 240-byte name: .NAME.TAG.part whole would be 259 bytes, which vsftpd's file system
    // refuses (553); the temporary's name is cut to fit, and the file arrives under its own.
    let Some(s) = servers() else { return };
    let dir = TempDir::new("interop-put-long-name");
    let name = "n".repeat(240);
    let local = dir.join(&name);
    std::fs::write(&local, sample(5_000)).unwrap();
    for (tag, port, extra) in flavours(&s) {
        let folder = s.upload_name(&format!("long-{tag}"));
        let url = s.url_no_password("ftp", port, &format!("{folder}/"));
        let o = ftp_put(
            &s,
            &args(
                &extra,
                &["--atomic", "--create-dirs", local.to_str().unwrap(), &url],
            ),
        );
        ok(&o, tag);
        let names: Vec<String> = std::fs::read_dir(s.home.join(&folder))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, std::slice::from_ref(&name), "{tag}");
        assert_eq!(
            std::fs::read(s.home.join(&folder).join(&name)).unwrap(),
            sample(5_000),
            "{tag}"
        );
    }
}

#[test]
fn a_refused_store_is_a_permission_error() {
    let Some(s) = servers() else { return };
    let dir = TempDir::new("interop-put-refused");
    let f = dir.join("f");
    std::fs::write(&f, b"x").unwrap();
    // The anonymous login may not write (vsftpd: 550 Permission denied).
    let o = run::output(
        Command::new(BIN)
            .args([
                f.to_str().unwrap(),
                &s.anon_url("ftp", s.plain_port, "pub/f"),
            ])
            .env("HOME", "/nonexistent"),
    );
    assert_eq!(
        o.status.code(),
        Some(77),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn a_tree_into_a_missing_folder_is_one_line_naming_it() {
    let Some(s) = servers() else { return };
    let work = TempDir::new("interop-put-missing");
    let dist = work.join("dist");
    std::fs::create_dir_all(dist.join("sub")).unwrap();
    for name in ["a", "b", "sub/c"] {
        std::fs::write(dist.join(name), name).unwrap();
    }
    for (tag, port, extra) in flavours(&s) {
        let missing = s.upload_name(&format!("ci-{tag}"));
        let url = s.url_no_password("ftp", port, &format!("{missing}/"));
        let o = ftp_put(&s, &args(&extra, &["-r", dist.to_str().unwrap(), &url]));
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(73), "{tag}: {err}");
        assert_eq!(err.lines().count(), 1, "{tag}: {err}");
        assert!(
            err.ends_with(&format!(
                "/{missing}/dist: the remote folder {missing} does not exist (--create-dirs makes it)\n"
            )),
            "{tag}: {err}"
        );
        assert!(!s.home.join(&missing).exists(), "{tag}");
        // A single file, too.
        let o = ftp_put(&s, &args(&extra, &[dist.join("a").to_str().unwrap(), &url]));
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(73), "{tag}: {err}");
        assert!(err.contains("--create-dirs makes it"), "{tag}: {err}");
    }
}

// ---------------------------------------------------------------------------------------------
// ftp-ls against vsftpd (which has no MLSD: LIST, parsed)

const LS: &str = env!("CARGO_BIN_EXE_ftp-ls");

fn ftp_ls(s: &Servers, extra: &[String], rest: &[&str]) -> (Vec<String>, Output) {
    let o = run::output(
        Command::new(LS)
            .args(args(extra, rest))
            .args(["--password-env", "PH_TEST_PASSWORD", "--timeout", "30"])
            .env("PH_TEST_PASSWORD", &s.password)
            .env("HOME", "/nonexistent"),
    );
    ok(&o, &format!("ftp-ls {rest:?}"));
    assert_eq!(String::from_utf8_lossy(&o.stderr), "", "{rest:?}");
    let lines = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    (lines, o)
}

#[test]
fn ls_in_every_format_over_plain_and_ftps() {
    let Some(s) = servers() else { return };
    for (tag, port, extra) in flavours(&s) {
        let url = |p: &str| s.url_no_password("ftp", port, p);
        let (names, _) = ftp_ls(&s, &extra, &[&url("data/")]);
        assert_eq!(names, ["a.csv", "b.csv", "c.txt", "ünïcode.txt"], "{tag}");
        let (names, _) = ftp_ls(&s, &extra, &[&url("sub%20dir/")]);
        assert_eq!(names, ["name with spaces.txt"], "{tag}");
        let (names, _) = ftp_ls(&s, &extra, &[&url("data/*.csv")]);
        assert_eq!(names, ["a.csv", "b.csv"], "{tag}");
        // -l and --json agree with the files on disk.
        let (long, _) = ftp_ls(&s, &extra, &["-l", &url("data/")]);
        assert!(long[0].starts_with("-           44 "), "{tag}: {long:?}");
        assert!(long[0].ends_with(" a.csv"), "{tag}: {long:?}");
        let (json, _) = ftp_ls(&s, &extra, &["--json", &url("")]);
        let entries: Vec<serde_json::Value> = json
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let hello = entries.iter().find(|e| e["name"] == "hello.txt").unwrap();
        assert_eq!(hello["type"], "file", "{tag}");
        assert_eq!(hello["size"], 13, "{tag}");
        assert_eq!(hello["path"], "hello.txt", "{tag}");
        let data = entries.iter().find(|e| e["name"] == "data").unwrap();
        assert_eq!(data["type"], "dir", "{tag}");
        // --raw: vsftpd's own lines.
        let (raw, _) = ftp_ls(&s, &extra, &["--raw", &url("data/")]);
        assert_eq!(raw.len(), 4, "{tag}");
        assert!(raw[0].starts_with("-rw-r--r--"), "{tag}: {raw:?}");
        // -R reaches into the folders.
        let (all, _) = ftp_ls(&s, &extra, &["-R", &url("")]);
        assert!(
            all.contains(&"sub dir/name with spaces.txt".to_string()),
            "{tag}"
        );
        assert!(all.contains(&"data/ünïcode.txt".to_string()), "{tag}");
        // A single file.
        let (one, _) = ftp_ls(&s, &extra, &["-l", &url("hello.txt")]);
        assert_eq!(one.len(), 1, "{tag}");
        assert!(one[0].starts_with("-           13 ") && one[0].ends_with(" hello.txt"));
    }
}

#[test]
fn a_missing_folder_is_66_and_an_empty_one_is_empty() {
    let Some(s) = servers() else { return };
    // vsftpd answers LIST of a missing folder with 150, nothing, 226: only a probe tells.
    let empty = s.upload_name("empty");
    std::fs::create_dir(s.home.join(&empty)).unwrap();
    let work = TempDir::new("interop-missing");
    for (tag, port, extra) in flavours(&s) {
        let url = |p: &str| s.url_no_password("ftp", port, p);
        let run = |bin: &str, rest: &[&str]| {
            run::output(
                Command::new(bin)
                    .args(args(&extra, rest))
                    .args(["--password-env", "PH_TEST_PASSWORD", "--timeout", "30"])
                    .env("PH_TEST_PASSWORD", &s.password)
                    .env("HOME", "/nonexistent"),
            )
        };
        let get = env!("CARGO_BIN_EXE_ftp-get");
        for (bin, rest) in [
            (LS, vec![url("no-such-folder/")]),
            (LS, vec!["-R".into(), url("no-such-folder/")]),
            (
                get,
                vec![
                    "-r".into(),
                    "-O".into(),
                    work.arg().into(),
                    url("no-such-folder/"),
                ],
            ),
        ] {
            let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
            let o = run(bin, &rest);
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(66), "{tag} {rest:?}: {err}");
            assert_eq!(err.lines().count(), 1, "{tag} {rest:?}: {err}");
            assert!(
                err.contains("no-such-folder/: no such folder (the listing was empty, and CWD does not find it)"),
                "{tag} {rest:?}: {err}"
            );
        }
        let (names, _) = ftp_ls(&s, &extra, &[&url(&format!("{empty}/"))]);
        assert!(names.is_empty(), "{tag}: {names:?}");
        let o = run(get, &["-r", "-O", work.arg(), &url(&format!("{empty}/"))]);
        ok(&o, &format!("{tag}: ftp-get -r of an empty folder"));
        assert!(work.names().is_empty(), "{tag}");
    }
}

// ---------------------------------------------------------------------------------------------
// Trees: ftp-put -r, then ftp-get -r, of 500 files in nested folders

/// 500 files of varied sizes in 5 x 4 nested folders, with distinct modification times.
fn make_tree(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for a in 0..5 {
        for b in 0..4 {
            let dir = root.join(format!("top{a}")).join(format!("mid {b}"));
            std::fs::create_dir_all(&dir).unwrap();
            for c in 0..25 {
                let n = a * 100 + b * 25 + c;
                let p = dir.join(format!("file-{n:03}.dat"));
                let data = crate::support::files::noise(n * 37 % 9000, n as u64);
                std::fs::write(&p, &data).unwrap();
                let t = std::time::UNIX_EPOCH
                    + std::time::Duration::from_secs(1_600_000_000 + n as u64 * 3_661);
                std::fs::File::options()
                    .write(true)
                    .open(&p)
                    .unwrap()
                    .set_modified(t)
                    .unwrap();
                files.push(p.strip_prefix(root).unwrap().to_path_buf());
            }
        }
    }
    files
}

fn same_file(a: &std::path::Path, b: &std::path::Path, what: &str) {
    assert_eq!(
        std::fs::read(a).unwrap(),
        std::fs::read(b).unwrap(),
        "{what}: {}",
        b.display()
    );
    let t = |p: &std::path::Path| {
        std::fs::metadata(p)
            .unwrap()
            .modified()
            .unwrap()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    assert_eq!(t(a), t(b), "{what}: mtime of {}", b.display());
}

#[test]
fn recursive_put_then_get_of_500_files_over_plain_and_ftps() {
    let Some(s) = servers() else { return };
    let work = TempDir::new("interop-tree");
    let tree = work.join("tree");
    let files = make_tree(&tree);
    assert_eq!(files.len(), 500);
    for (tag, port, extra) in flavours(&s) {
        let remote = s.upload_name(&format!("tree500-{tag}"));
        let url = s.url_no_password("ftp", port, &format!("{remote}/"));
        let o = ftp_put(
            &s,
            &args(
                &extra,
                &["-r", "--create-dirs", tree.to_str().unwrap(), &url],
            ),
        );
        ok(&o, &format!("put -r {tag}"));
        let on_server = s.home.join(&remote).join("tree");
        for f in &files {
            same_file(&tree.join(f), &on_server.join(f), tag);
        }
        // And back.
        let back = work.join(format!("back-{tag}"));
        std::fs::create_dir(&back).unwrap();
        let get_url = s.url_no_password("ftp", port, &format!("{remote}/tree/"));
        let o = run::output(
            Command::new(env!("CARGO_BIN_EXE_ftp-get"))
                .args(args(
                    &extra,
                    &["-r", "-O", back.to_str().unwrap(), &get_url],
                ))
                .args(["--password-env", "PH_TEST_PASSWORD", "--timeout", "30"])
                .env("PH_TEST_PASSWORD", &s.password)
                .env("HOME", "/nonexistent"),
        );
        ok(&o, &format!("get -r {tag}"));
        for f in &files {
            same_file(&tree.join(f), &back.join(f), tag);
        }
        let count = walk_count(&back);
        assert_eq!(count, 500, "{tag}: nothing more, nothing less");
        // --newer: a second run fetches nothing.
        let o = run::output(
            Command::new(env!("CARGO_BIN_EXE_ftp-get"))
                .args(args(
                    &extra,
                    &[
                        "-r",
                        "--newer",
                        "-v",
                        "-O",
                        back.to_str().unwrap(),
                        &get_url,
                    ],
                ))
                .args(["--password-env", "PH_TEST_PASSWORD", "--timeout", "30"])
                .env("PH_TEST_PASSWORD", &s.password)
                .env("HOME", "/nonexistent"),
        );
        ok(&o, &format!("get -r --newer {tag}"));
        let transcript = String::from_utf8_lossy(&o.stderr);
        assert!(transcript.contains("C: MDTM "), "{tag}: {transcript}");
        assert!(
            !transcript.contains("C: RETR"),
            "{tag}: --newer fetched again"
        );
    }
}

fn walk_count(dir: &std::path::Path) -> usize {
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            n += walk_count(&e.path());
        } else {
            n += 1;
        }
    }
    n
}

#[test]
fn parallel_and_rate_limited_trees_over_ftps() {
    let Some(s) = servers() else { return };
    let work = TempDir::new("interop-parallel");
    let tree = work.join("tree");
    let files = make_tree(&tree);
    let (_, port, extra) = flavours(&s).remove(1);
    let remote = s.upload_name("parallel");
    let url = s.url_no_password("ftp", port, &format!("{remote}/"));
    let o = ftp_put(
        &s,
        &args(
            &extra,
            &[
                "-r",
                "--parallel",
                "4",
                "--limit-rate",
                "100M",
                "--create-dirs",
                tree.to_str().unwrap(),
                &url,
            ],
        ),
    );
    ok(&o, "put -r --parallel 4 over FTPS");
    let back = work.join("back");
    std::fs::create_dir(&back).unwrap();
    let get_url = s.url_no_password("ftp", port, &format!("{remote}/tree/"));
    let o = run::output(
        Command::new(env!("CARGO_BIN_EXE_ftp-get"))
            .args(args(
                &extra,
                &[
                    "-r",
                    "--parallel",
                    "4",
                    "-O",
                    back.to_str().unwrap(),
                    &get_url,
                ],
            ))
            .args(["--password-env", "PH_TEST_PASSWORD", "--timeout", "30"])
            .env("PH_TEST_PASSWORD", &s.password)
            .env("HOME", "/nonexistent"),
    );
    ok(&o, "get -r --parallel 4 over FTPS");
    for f in &files {
        same_file(&tree.join(f), &back.join(f), "parallel ftps");
    }
    assert_eq!(walk_count(&back), 500);
}
