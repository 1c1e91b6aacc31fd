//! ftp-get's logins and passwords, stalls, globs, and hostile names from a listing.

use super::*;

// 11. Logins and passwords

#[test]
fn login_with_password_env() {
    let ftp = user_server();
    let dir = TempDir::new("passenv");
    as_user(&ftp, SECRET, &["--tls", "none", "-O", dir.arg()]).ok();
    assert_file(&dir.join("f"), b"private data");
    assert_in_order(
        &ftp.transcript(),
        &["USER u", &format!("PASS {SECRET}"), "RETR f"],
    );
}

#[test]
fn login_with_a_password_command() {
    // pass, gpg -d and secret-tool print the secret on a line of its own.
    let ftp = user_server();
    let dir = TempDir::new("passcmd");
    let url = user_url(&ftp);
    let out = ftp_get_env(
        &[
            "--tls",
            "none",
            "--password-cmd",
            "printf '%s\\n' \"$PW\"",
            "-O",
            dir.arg(),
            &url,
        ],
        &[("PW", SECRET)],
    );
    out.ok();
    assert_file(&dir.join("f"), b"private data");
    assert_eq!(ftp.commands("PASS"), [format!("PASS {SECRET}")]);
    // A command that fails is 77, naming it, never what it printed; nothing is sent.
    let ftp = user_server();
    let out = ftp_get(&[
        "--tls",
        "none",
        "--password-cmd",
        "echo half-a-secret; exit 2",
        "-O",
        dir.arg(),
        &user_url(&ftp),
    ]);
    let line = out.fails(77);
    assert_eq!(
        line,
        "ftp-get: --password-cmd echo half-a-secret; exit 2: failed (exit status 2)"
    );
    assert!(ftp.commands("PASS").is_empty());
}

#[test]
fn wrong_password_is_77() {
    let ftp = user_server();
    let dir = TempDir::new("wrongpass");
    let out = as_user(&ftp, "wrong", &["--tls", "none", "-O", dir.arg()]);
    let line = out.fails(77);
    assert!(line.contains("530"), "{line}");
    assert!(!line.contains("wrong"), "the password is not shown: {line}");
    assert!(ftp.commands("RETR").is_empty());
    assert_eq!(dir.names(), Vec::<String>::new());
}

#[test]
fn a_password_too_long_for_a_command_line_is_refused_unshown() {
    // PASS and a 5,000-byte password is over the 4096 bytes a command line may have: refused
    // unsent (64), and the message shows the command as the transcript would.
    let ftp = user_server();
    let dir = TempDir::new("longpass");
    let long = "p4ss".repeat(1250);
    let out = as_user(&ftp, &long, &["--tls", "none", "-O", dir.arg()]);
    let line = out.fails(64);
    assert!(
        line.ends_with("refusing to send a command line of 5005 bytes (at most 4096): PASS ****"),
        "{line}"
    );
    assert!(!line.contains("p4ss"), "the password is not shown: {line}");
    assert!(ftp.commands("PASS").is_empty());
}

#[test]
fn no_password_and_no_terminal_is_77() {
    let ftp = user_server();
    let dir = TempDir::new("nopass");
    let out = ftp_get(&["--tls", "none", "-O", dir.arg(), &user_url(&ftp)]);
    let line = out.fails(77);
    assert!(line.contains("--password-file"), "{line}");
    assert!(ftp.commands("USER").is_empty(), "fails before connecting");
}

#[test]
fn password_file_must_be_private() {
    use std::os::unix::fs::PermissionsExt;
    let ftp = user_server();
    let dir = TempDir::new("passfile");
    let out_dir = dir.join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let pass = dir.join("pass");
    std::fs::write(&pass, format!("{SECRET}\nsecond line ignored\n")).unwrap();
    std::fs::set_permissions(&pass, std::fs::Permissions::from_mode(0o644)).unwrap();
    let args = |url: &str| -> Vec<String> {
        [
            "--tls",
            "none",
            "--password-file",
            pass.to_str().unwrap(),
            "-O",
            out_dir.to_str().unwrap(),
            url,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let url = user_url(&ftp);
    let a = args(&url);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let out = ftp_get(&a);
    let line = out.fails(77);
    assert!(line.contains("chmod 600"), "{line}");
    assert!(ftp.commands("PASS").is_empty());

    std::fs::set_permissions(&pass, std::fs::Permissions::from_mode(0o600)).unwrap();
    ftp_get(&a).ok();
    assert_file(&out_dir.join("f"), b"private data");
}

#[test]
fn netrc_file_and_verbose_never_shows_the_password() {
    let ftp = user_server();
    let dir = TempDir::new("netrc");
    let netrc = dir.join("netrc");
    std::fs::write(
        &netrc,
        format!("machine other.example login x password y\nmachine 127.0.0.1 login u password {SECRET}\n"),
    )
    .unwrap();
    let out_dir = dir.join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let out = ftp_get(&[
        "-v",
        "--tls",
        "none",
        "--netrc-file",
        netrc.to_str().unwrap(),
        "-O",
        out_dir.to_str().unwrap(),
        &ftp.url("f"),
    ]);
    assert_eq!(out.code, Some(0), "{out:#?}");
    assert_file(&out_dir.join("f"), b"private data");
    assert!(out.stderr.contains("C: USER u"), "{}", out.stderr);
    assert!(out.stderr.contains("C: PASS ****"), "{}", out.stderr);
    assert!(out.stderr.contains("S: 230"), "{}", out.stderr);
    assert!(!out.stderr.contains(SECRET), "{}", out.stderr);
    assert_eq!(ftp.commands("PASS"), [format!("PASS {SECRET}")]);
}

// 12. Stalls

#[test]
fn server_stalling_on_retr_times_out() {
    let ftp = FakeFtp::builder()
        .file("f", "data")
        .stall_on("RETR")
        .start();
    let dir = TempDir::new("stallretr");
    let out = ftp_get(&["--timeout", "1", "-O", dir.arg(), &ftp.url("f")]);
    let line = out.fails(75);
    assert!(line.contains("no reply to RETR within 1 s"), "{line}");
    assert!(out.elapsed < Duration::from_secs(8), "{:?}", out.elapsed);
    assert!(!dir.join("f").exists());
}

#[test]
fn stalled_data_connection_times_out() {
    let ftp = FakeFtp::builder()
        .file("f", sample(10_000))
        .stall_data()
        .start();
    let dir = TempDir::new("stalldata");
    let out = ftp_get(&["--timeout", "1", "-O", dir.arg(), &ftp.url("f")]);
    let line = out.fails(75);
    assert!(line.contains("timed out"), "{line}");
    assert!(out.elapsed < Duration::from_secs(8), "{:?}", out.elapsed);
    assert!(!dir.join("f").exists());
}

// 13. Globs

#[test]
fn glob_with_mlsd_fetches_exactly_the_matching_files() {
    let ftp = glob_server(FakeFtp::builder().dir("dir/folder.csv"));
    let dir = TempDir::new("globmlsd");
    ftp_get(&["-O", dir.arg(), &ftp.url("dir/*.csv")]).ok();
    assert_eq!(dir.names(), ["a.csv", "b.csv"]);
    assert_file(&dir.join("a.csv"), b"a");
    assert_file(&dir.join("b.csv"), b"bb");
    assert_eq!(ftp.commands("MLSD"), ["MLSD dir"]);
    assert!(ftp.commands("NLST").is_empty());
    assert_eq!(ftp.commands("RETR"), ["RETR dir/a.csv", "RETR dir/b.csv"]);
}

#[test]
fn glob_without_mlst_uses_nlst() {
    let ftp = glob_server(FakeFtp::builder().feat(&["EPSV", "SIZE", "MDTM", "REST STREAM"]));
    let dir = TempDir::new("globnlst");
    ftp_get(&["-O", dir.arg(), &ftp.url("dir/[ab].csv")]).ok();
    assert_eq!(dir.names(), ["a.csv", "b.csv"]);
    assert_file(&dir.join("b.csv"), b"bb");
    assert_eq!(ftp.commands("NLST"), ["NLST dir"]);
    assert!(ftp.commands("MLSD").is_empty());
}

#[test]
fn glob_matching_nothing_is_66() {
    let ftp = glob_server(FakeFtp::builder());
    let dir = TempDir::new("globnone");
    let out = ftp_get(&["-O", dir.arg(), &ftp.url("dir/*.xml")]);
    let line = out.fails(66);
    assert!(line.contains("no remote file matches"), "{line}");
    assert_eq!(dir.names(), Vec::<String>::new());
    assert!(ftp.commands("RETR").is_empty());
}

// 14. Hostile names from a listing

/// A minimal FTP server whose NLST answer is given verbatim (the fake lists its own tree,
/// which cannot hold such names). Serves RETR/SIZE from `files`, keyed by the argument.
struct HostileServer {
    port: u16,
    transcript: Arc<Mutex<Vec<String>>>,
    thread: Option<JoinHandle<()>>,
}

impl HostileServer {
    fn start(nlst: &[&str], files: &[(&str, &str)]) -> HostileServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let nlst: String = nlst.iter().map(|n| format!("{n}\r\n")).collect();
        let files: Vec<(String, String)> = files
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let transcript = Arc::new(Mutex::new(Vec::new()));
        let t = Arc::clone(&transcript);
        let thread = thread::spawn(move || {
            let Ok((control, _)) = listener.accept() else {
                return;
            };
            control
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let _ = hostile_session(control, &nlst, &files, &t);
        });
        HostileServer {
            port,
            transcript,
            thread: Some(thread),
        }
    }

    fn transcript(&mut self) -> Vec<String> {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.transcript.lock().unwrap().clone()
    }
}

fn hostile_session(
    control: TcpStream,
    nlst: &str,
    files: &[(String, String)],
    transcript: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    let mut w = control.try_clone()?;
    let mut r = BufReader::new(control);
    let mut passive: Option<TcpListener> = None;
    w.write_all(b"220 hostile\r\n")?;
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let line = line.trim_end().to_string();
        transcript.lock().unwrap().push(line.clone());
        let (verb, arg) = line.split_once(' ').unwrap_or((&line, ""));
        let file = files.iter().find(|(k, _)| k == arg).map(|(_, v)| v.clone());
        let mut send_data = |body: &str, w: &mut TcpStream| -> std::io::Result<()> {
            w.write_all(b"150 here it comes\r\n")?;
            let (mut d, _) = passive.take().expect("EPSV first").accept()?;
            d.write_all(body.as_bytes())?;
            drop(d);
            w.write_all(b"226 done\r\n")
        };
        match verb {
            "USER" => w.write_all(b"331 password\r\n")?,
            "PASS" => w.write_all(b"230 in\r\n")?,
            "FEAT" => w.write_all(b"211-Features:\r\n EPSV\r\n SIZE\r\n211 End\r\n")?,
            "TYPE" => w.write_all(b"200 ok\r\n")?,
            "EPSV" => {
                let l = TcpListener::bind("127.0.0.1:0")?;
                let p = l.local_addr()?.port();
                passive = Some(l);
                w.write_all(format!("229 Entering Extended Passive Mode (|||{p}|)\r\n").as_bytes())?
            }
            "NLST" => send_data(nlst, &mut w)?,
            "SIZE" => match file {
                Some(f) => w.write_all(format!("213 {}\r\n", f.len()).as_bytes())?,
                None => w.write_all(b"550 no\r\n")?,
            },
            "RETR" => match file {
                Some(f) => send_data(&f, &mut w)?,
                None => w.write_all(b"550 no\r\n")?,
            },
            "QUIT" => {
                w.write_all(b"221 bye\r\n")?;
                return Ok(());
            }
            _ => w.write_all(b"500 what\r\n")?,
        }
    }
}

#[test]
fn listed_names_that_would_escape_the_folder_are_refused() {
    let files = [
        ("dir/good.csv", "good"),
        ("dir/prefixed.csv", "prefixed"),
        // Whatever the client makes of the hostile names, something is there to fetch.
        ("dir/../evil.csv", "evil"),
        ("dir/evil.csv", "evil"),
        ("../evil.csv", "evil"),
        ("dir/a/../../x.csv", "evil"),
        ("dir/x.csv", "evil"),
        ("a/../../x.csv", "evil"),
    ];
    let mut server = HostileServer::start(
        &[
            "good.csv",
            "dir/prefixed.csv",
            "../evil.csv",
            "a/../../x.csv",
        ],
        &files,
    );
    let top = TempDir::new("escape");
    let out_dir = top.join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let out = ftp_get(&[
        "-O",
        out_dir.to_str().unwrap(),
        &format!("ftp://127.0.0.1:{}/dir/*.csv", server.port),
    ]);
    assert_eq!(out.code, Some(76), "{out:#?}");
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{out:#?}");
    assert!(lines.iter().all(|l| l.starts_with("ftp-get: ")));
    assert!(out.stderr.contains("\"../evil.csv\""), "{out:#?}");
    assert!(out.stderr.contains("\"a/../../x.csv\""), "{out:#?}");
    assert_eq!(top.names(), ["out"], "nothing written beside the folder");
    let mut got: Vec<String> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    got.sort();
    assert_eq!(got, ["good.csv", "prefixed.csv"]);
    assert_file(&out_dir.join("good.csv"), b"good");
    assert_file(&out_dir.join("prefixed.csv"), b"prefixed");
    let retr: Vec<String> = server
        .transcript()
        .into_iter()
        .filter(|l| l.starts_with("RETR"))
        .collect();
    assert_eq!(retr, ["RETR dir/good.csv", "RETR dir/prefixed.csv"]);
}
