//! As curl, wget and lftp users meet ftp-get.

use super::*;

#[test]
fn output_dir_takes_a_folder_never_a_url_and_creates_it_only_when_asked() {
    let ftp = FakeFtp::builder()
        .file("a.txt", "a")
        .file("b.csv", "b")
        .start();
    let dir = TempDir::new("outdir");
    // curl's -O takes no value: the first URL would be taken as a folder.
    let url = ftp.url("a.txt");
    let out = ftp_get(&["-O", &url, &ftp.url("b.csv")]);
    assert_eq!(
        out.fails(64),
        format!(
            "ftp-get: -O {url}: -O takes a folder (curl's -O is the default here: give the URL alone)"
        )
    );
    // wget's -O is a file: a name with an extension, a missing name in an existing folder,
    // or an existing file, is said to be one.
    let missing = dir.join("out.txt");
    let m = missing.to_str().unwrap();
    let wget = "-O takes a folder; for a file name use -o FILE (wget's -O)";
    let out = ftp_get(&["-O", m, &ftp.url("a.txt")]);
    assert_eq!(
        out.fails(64),
        format!("ftp-get: -O {m}: {wget}; --create-dirs makes the folder")
    );
    let bare = dir.join("out");
    let b = bare.to_str().unwrap();
    let out = ftp_get(&["-O", b, &ftp.url("a.txt")]);
    assert_eq!(
        out.fails(64),
        format!("ftp-get: -O {b}: {wget}; --create-dirs makes the folder")
    );
    let file = dir.join("file");
    std::fs::write(&file, "mine").unwrap();
    let f = file.to_str().unwrap();
    assert_eq!(
        ftp_get(&["-O", f, &ftp.url("a.txt")]).fails(64),
        format!("ftp-get: -O {f}: {wget}")
    );
    assert_file(&file, b"mine");
    std::fs::remove_file(&file).unwrap();
    // A folder whose parent is missing too is named as missing.
    let deep = dir.join("x/y");
    let out = ftp_get(&["-O", deep.to_str().unwrap(), &ftp.url("a.txt")]);
    let line = out.fails(73);
    assert!(
        line.contains("x/y: no such folder (--create-dirs creates it)"),
        "{line}"
    );
    assert!(dir.names().is_empty(), "nothing created");
    assert_eq!(ftp.connections(), 0, "refused before connecting");
    ftp_get(&[
        "--create-dirs",
        "-O",
        missing.to_str().unwrap(),
        &ftp.url("a.txt"),
    ])
    .ok();
    assert_file(&missing.join("a.txt"), b"a");
    // -o a/b/c names the missing folder, not c.part.
    let deep = dir.join("x/y/z.txt");
    let out = ftp_get(&["-o", deep.to_str().unwrap(), &ftp.url("a.txt")]);
    let line = out.fails(73);
    assert!(
        line.ends_with("x/y: no such folder (--create-dirs creates it)"),
        "{line}"
    );
    ftp_get(&[
        "--create-dirs",
        "-o",
        deep.to_str().unwrap(),
        &ftp.url("a.txt"),
    ])
    .ok();
    assert_file(&deep, b"a");
}

#[test]
fn flags_from_curl_and_wget_point_to_ours() {
    for (args, hint) in [
        (vec!["-k"], "--insecure"),
        (vec!["-C", "-"], "-c (--continue)"),
        (vec!["-u", "bob:secret"], "--user NAME"),
        (vec!["-s"], "-q (--quiet)"),
        (vec!["-n"], "netrc is read by default"),
        (vec!["-P", "dl"], "--output-dir DIR"),
        (vec!["-N"], "--no-clobber"),
        (vec!["--mirror"], "-r (--recursive)"),
        (vec!["--retry", "3"], "--retries N"),
        (vec!["-m", "60"], "use --max-time DURATION"),
    ] {
        let mut a = args.clone();
        a.push("ftp://127.0.0.1:1/f");
        let out = ftp_get(&a);
        let line = out.fails(64);
        assert!(line.contains("unknown option"), "{args:?}: {line}");
        assert!(line.contains(hint), "{args:?}: {line}");
        assert!(
            !line.contains("secret") && !line.contains("-- --"),
            "{args:?}: {line}"
        );
    }
    let out = ftp_get(&["--frobnicate", "ftp://127.0.0.1:1/f"]);
    assert_eq!(
        out.fails(64),
        "ftp-get: unknown option '--frobnicate' (see --help)"
    );
}

#[test]
fn durations_take_units_and_nonsense_says_what_is_allowed() {
    let ftp = FakeFtp::builder().file("f", "data").start();
    let dir = TempDir::new("units");
    for t in ["5s", "2m", "1500ms", "3"] {
        ftp_get(&[
            "-q",
            "--timeout",
            t,
            "-O",
            dir.arg(),
            "--no-clobber",
            &ftp.url("f"),
        ])
        .ok();
    }
    assert_file(&dir.join("f"), b"data");
    for (flag, value) in [
        ("--timeout", "1e-10"),
        ("--timeout", "5x"),
        ("--retries", "-1"),
        ("--retries", "1000"),
    ] {
        let out = ftp_get(&[flag, value, "ftp://127.0.0.1:1/f"]);
        let line = out.fails(64);
        assert!(
            line.contains("from 1ms to 30 days") || line.contains("from 0 to 100"),
            "{flag} {value}: {line}"
        );
    }
}

#[test]
fn a_folder_url_without_its_slash_gets_the_folder_hint() {
    let ftp = FakeFtp::builder().file("dir/a.txt", "a").start();
    let dir = TempDir::new("folderurl");
    for url in [ftp.url("dir"), ftp.url("dir/")] {
        let out = ftp_get(&["-O", dir.arg(), &url]);
        let line = out.fails(64);
        let want = format!("use '{}' for the files in it", ftp.url("dir/*"));
        assert!(line.contains(&want), "{url}: {line}");
    }
    // The probe left the session where it was: a relative path still works after it.
    ftp_get(&["-O", dir.arg(), &ftp.url("dir"), &ftp.url("dir/a.txt")]).fails(64);
    assert_file(&dir.join("a.txt"), b"a");
}

#[test]
fn ctrl_c_says_what_was_kept_and_how_to_resume() {
    let ftp = FakeFtp::builder()
        .file("big.bin", sample(100_000))
        .stall_data()
        .start();
    let dir = TempDir::new("ctrlc");
    let child = crate::support::run::default_signals(
        command(&["-O", dir.arg(), &ftp.url("big.bin")], &[])
            .stdout(Stdio::null())
            .stderr(Stdio::piped()),
    )
    .spawn()
    .expect("spawn ftp-get");
    let part = dir.join("big.bin.part");
    let start = Instant::now();
    while !part.exists() && start.elapsed() < Duration::from_secs(5) {
        thread::sleep(Duration::from_millis(10));
    }
    assert!(part.exists(), "the download started");
    thread::sleep(Duration::from_millis(100));
    let out = crate::support::run::interrupt(child);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "ftp-get: interrupted: {} kept; run the same command with -c to resume it",
            part.display()
        )),
        "{stderr}"
    );
    assert!(part.exists(), "the .part is kept");
}

#[test]
fn overwriting_a_file_keeps_its_mode() {
    use std::os::unix::fs::PermissionsExt;
    let ftp = FakeFtp::builder().file("secret.txt", "new").start();
    let dir = TempDir::new("mode");
    let dest = dir.join("secret.txt");
    std::fs::write(&dest, "old").unwrap();
    std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o600)).unwrap();
    ftp_get(&["-O", dir.arg(), &ftp.url("secret.txt")]).ok();
    assert_file(&dest, b"new");
    let mode = std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{mode:o}");
}

#[test]
fn no_netrc_and_proxy_variables() {
    let ftp = FakeFtp::builder()
        .file("f", "private")
        .login("u", SECRET)
        .start();
    let dir = TempDir::new("nonetrc");
    let netrc = dir.join("netrc");
    std::fs::write(
        &netrc,
        format!("machine 127.0.0.1 login u password {SECRET}\n"),
    )
    .unwrap();
    std::fs::set_permissions(&netrc, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let url = format!("ftp://u@127.0.0.1:{}/f", ftp.port());
    let out = ftp_get_env(
        &["--tls", "none", "--no-netrc", "-o", "-", &url],
        &[("NETRC", netrc.to_str().unwrap())],
    );
    assert!(out.fails(77).contains("no password"), "{out:#?}");
    // ftp_proxy is used, as curl uses it: here a proxy that is down, named as such.
    let down = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy = format!("socks5h://127.0.0.1:{}", down.local_addr().unwrap().port());
    drop(down);
    let env = [("NETRC", netrc.to_str().unwrap()), ("ftp_proxy", &proxy)];
    let out = ftp_get_env(&["--tls", "none", "-o", "-", &url], &env);
    let line = out.fails(75);
    assert!(
        line.starts_with(&format!(
            "ftp-get: SOCKS5 proxy {}: cannot connect: ",
            &proxy["socks5h://".len()..]
        )),
        "{line}"
    );
    // NO_PROXY (or --proxy "") turns it off for the host.
    let mut env = env.to_vec();
    env.push(("NO_PROXY", "127.0.0.1"));
    let out = ftp_get_env(&["--tls", "none", "-o", "-", &url], &env);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_eq!(out.stdout, b"private");
    assert_eq!(out.stderr, "");
    let out = ftp_get_env(
        &["--tls", "none", "--proxy", "", "-o", "-", &url],
        &env[..2],
    );
    assert_eq!(
        (out.code, out.stdout.as_slice()),
        (Some(0), &b"private"[..])
    );
}

#[test]
fn help_fits_eighty_columns_without_splitting_words() {
    let out = run::output(
        Command::new(env!("CARGO_BIN_EXE_ftp-get"))
            .arg("--help")
            .env("COLUMNS", "80"),
    );
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for line in help.lines() {
        assert!(line.chars().count() <= 80, "{line:?}");
    }
    for word in ["listing.", "--password-file", "sha256:HEX", "standard"] {
        assert!(
            help.split_whitespace().any(|w| w.contains(word)),
            "{word} split?"
        );
    }
}

#[test]
fn man_page_and_completions_come_with_the_binary() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (what, file) in [
        ("man", "man/ftp-get.1"),
        ("bash", "completions/ftp-get.bash"),
        ("zsh", "completions/_ftp-get"),
        ("fish", "completions/ftp-get.fish"),
    ] {
        let out =
            run::output(Command::new(env!("CARGO_BIN_EXE_ftp-get")).args(["--generate", what]));
        assert!(out.status.success(), "{what}");
        assert_eq!(
            out.stdout,
            std::fs::read(root.join(file)).unwrap(),
            "{what}"
        );
    }
    // Completions offer folders for --output-dir, files for --password-file, nothing for
    // --user or --timeout.
    let zsh = std::fs::read_to_string(root.join("completions/_ftp-get")).unwrap();
    let line = |flag: &str| {
        zsh.lines()
            .find(|l| l.contains(&format!("'--{flag}=")))
            .unwrap_or_else(|| panic!("--{flag} in {zsh}"))
            .to_string()
    };
    assert!(
        line("output-dir").contains("_files -/"),
        "{}",
        line("output-dir")
    );
    assert!(
        line("password-file").contains("_files"),
        "{}",
        line("password-file")
    );
    assert!(!line("user").contains("_files"), "{}", line("user"));
    assert!(!line("timeout").contains("_files"), "{}", line("timeout"));
}

#[test]
fn a_part_from_an_earlier_run_is_replaced_without_c_and_said() {
    let ftp = FakeFtp::builder().file("big.bin", sample(5_000)).start();
    let dir = TempDir::new("oldpart");
    let part = dir.join("big.bin.part");
    std::fs::write(&part, &sample(5_000)[..1_234]).unwrap();
    // As curl does (wget writes big.bin.1 instead), but not silently.
    let out = ftp_get(&["-O", dir.arg(), &ftp.url("big.bin")]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_eq!(
        out.stderr,
        format!(
            "ftp-get: {} (1234 bytes) from an earlier run is replaced; -c resumes it\n",
            part.display()
        )
    );
    assert_file(&dir.join("big.bin"), &sample(5_000));
    assert!(!part.exists());
    // With -c it is resumed, and nothing is said; an empty one is not worth a word.
    std::fs::write(&part, &sample(5_000)[..1_234]).unwrap();
    let out = ftp_get(&["-c", "-O", dir.arg(), &ftp.url("big.bin")]);
    assert_eq!((out.code, out.stderr.as_str()), (Some(0), ""), "{out:#?}");
    assert_eq!(ftp.commands("REST"), ["REST 1234"]);
    std::fs::write(&part, "").unwrap();
    let out = ftp_get(&["-O", dir.arg(), &ftp.url("big.bin")]);
    assert_eq!((out.code, out.stderr.as_str()), (Some(0), ""), "{out:#?}");
}
