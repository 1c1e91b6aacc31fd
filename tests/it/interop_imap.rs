//! imap-fetch against the loopback Dovecot (scripts/servers/dovecot): its IMAP with
//! STARTTLS and IMAPS, users phmail0, phmail7..phmail9 and phmail15 (pop-fetch's tests use 1 to 6;
//! scripts/bench-imap uses 5). What is
//! checked is what a user sees: the local Maildir byte for byte against the files put into
//! the server's Maildir, and what is left on the server.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::support::files::TempDir;
use crate::support::run;
use crate::support::servers_pop::{Dovecot, dovecot};

/// Tests that share user phmail7 take turns.
static USER7: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The Maildir layout posthaste writes: LF line ends; Dovecot keeps the files as given.
fn message(i: usize, size: usize) -> Vec<u8> {
    let mut m = format!(
        "From: sender{i}@example.com\nTo: phmail@example.com\nSubject: message {i}\nMessage-ID: <{i}@interop.example>\n\n"
    )
    .into_bytes();
    if i % 10 == 0 {
        // Lines an mbox must quote.
        m.extend_from_slice(b"From the start of a line\n>From quoted already\n");
    }
    let mut n = 0;
    while m.len() < size {
        m.extend_from_slice(format!("line {n} of message {i}: the quick brown fox\n").as_bytes());
        n += 1;
    }
    m
}

fn fetch(d: &Dovecot, user: usize, local: &TempDir, url: &str, args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_imap-fetch"));
    c.env("HOME", local.join("home"))
        .env("XDG_STATE_HOME", local.join("state"))
        .env_remove("NETRC")
        .env("IMAP_PASS", &d.password)
        .args([
            url,
            "--user",
            &d.user(user),
            "--password-env",
            "IMAP_PASS",
            "--cacert",
            d.ca_cert.to_str().unwrap(),
            "--timeout",
            "60",
        ])
        .args(args)
        .stdin(Stdio::null());
    run::output(&mut c)
}

/// [`fetch`] of `url` into `local`'s Maildir, which must succeed quietly: that Maildir.
fn into_maildir(d: &Dovecot, user: usize, local: &TempDir, url: &str) -> PathBuf {
    let md = local.join("Mail");
    ok(&fetch(
        d,
        user,
        local,
        url,
        &["--maildir", md.to_str().unwrap()],
    ));
    md
}

fn ok(o: &Output) {
    assert_eq!(o.status.code(), Some(0), "{o:#?}");
    assert_eq!(String::from_utf8_lossy(&o.stderr), "", "{o:#?}");
}

/// The messages the server still has for user `n` (new/ and cur/), sorted.
fn server_messages(d: &Dovecot, n: usize) -> Vec<Vec<u8>> {
    let md = d.maildir(n);
    let mut out: Vec<Vec<u8>> = ["new", "cur"]
        .iter()
        .flat_map(|s| std::fs::read_dir(md.join(s)).into_iter().flatten())
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    out.sort();
    out
}

/// A Maildir name no earlier run used: Dovecot keeps the UIDs of names it has seen in its
/// dovecot-uidlist, and a name used again would be taken for the old message.
fn unique(stem: u64, i: usize) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    format!(
        "{stem}.M{i:04}P{}Q{}N{}.interop",
        std::process::id(),
        now.as_secs(),
        now.subsec_nanos()
    )
}

/// Two sorted lists of messages are the same; a difference is shown briefly.
fn same(got: &[Vec<u8>], want: &[Vec<u8>]) {
    let brief = |m: &[u8]| String::from_utf8_lossy(&m[..m.len().min(120)]).into_owned();
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            g == w,
            "message {i} differs:\n got {}\nwant {}",
            brief(g),
            brief(w)
        );
    }
    assert_eq!(got.len(), want.len(), "how many messages");
}

fn local_messages(md: &Path) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = std::fs::read_dir(md.join("new"))
        .into_iter()
        .flatten()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    out.sort();
    assert!(
        std::fs::read_dir(md.join("tmp")).unwrap().next().is_none(),
        "nothing left in tmp/"
    );
    out
}

#[test]
fn a_thousand_messages_byte_for_byte_into_each_store_then_only_new_ones() {
    let Some(d) = dovecot() else { return };
    let user = 9;
    d.clear(user);
    let mut put: Vec<Vec<u8>> = (0..1000)
        .map(|i| message(i, 200 + (i * 37) % 6000))
        .collect();
    for (i, m) in put.iter().enumerate() {
        d.put(user, &unique(1700000000, i), m);
    }
    put.sort();
    let local = TempDir::new("imap-interop-1000");
    let md = local.join("Mail");
    let url = format!("imap://{}:{}/", d.host, d.imap_port);
    // imap:// with STARTTLS (the default --tls auto), trusting the test CA.
    into_maildir(&d, user, &local, &url);
    same(&local_messages(&md), &put);
    // Nothing new: nothing fetched.
    into_maildir(&d, user, &local, &url);
    assert_eq!(local_messages(&md).len(), 1000);
    // Five arrive: exactly those five.
    let mut more: Vec<Vec<u8>> = (1000..1005).map(|i| message(i, 3000)).collect();
    for (i, m) in more.iter().enumerate() {
        d.put(user, &unique(1800000000, i), m);
    }
    into_maildir(&d, user, &local, &url);
    let mut all = put.clone();
    all.append(&mut more);
    all.sort();
    same(&local_messages(&md), &all);
    // The server still has everything (--keep), and EXAMINE left it untouched.
    same(&server_messages(&d, user), &all);
    // Every other store, with --all: NNNN.eml files, an mbox, an MDA.
    let dir = local.join("eml");
    ok(&fetch(
        &d,
        user,
        &local,
        &url,
        &["--all", "-O", dir.to_str().unwrap(), "--create-dirs"],
    ));
    let mut eml: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    eml.sort();
    same(&eml, &all);
    let mbox = local.join("inbox.mbox");
    ok(&fetch(
        &d,
        user,
        &local,
        &url,
        &["--all", "--mbox", mbox.to_str().unwrap()],
    ));
    let mut boxed = crate::pop_fetch::mboxrd_messages(&std::fs::read(&mbox).unwrap());
    boxed.sort();
    same(&boxed, &all);
    let mda = local.join("mda");
    std::fs::create_dir(&mda).unwrap();
    let cmd = format!("cat > {}/$$", mda.display());
    ok(&fetch(&d, user, &local, &url, &["--all", "--mda", &cmd]));
    let mut piped: Vec<Vec<u8>> = std::fs::read_dir(&mda)
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    piped.sort();
    same(&piped, &all);
}

#[test]
fn delete_expunges_only_what_was_delivered() {
    let Some(d) = dovecot() else { return };
    let user = 8;
    d.clear(user);
    let put: Vec<Vec<u8>> = (0..10).map(|i| message(i, 1000)).collect();
    for (i, m) in put.iter().enumerate() {
        d.put(user, &unique(1700000000, i), m);
    }
    let local = TempDir::new("imap-interop-delete");
    let md = local.join("Mail");
    let url = format!("imap://{}:{}/", d.host, d.imap_port);
    // Six delivered and deleted; the other four stay, untouched by our EXPUNGE.
    let o = fetch(
        &d,
        user,
        &local,
        &url,
        &[
            "--maildir",
            md.to_str().unwrap(),
            "--delete",
            "--limit",
            "6",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{o:#?}");
    let got = local_messages(&md);
    assert_eq!(got.len(), 6);
    let left = server_messages(&d, user);
    assert_eq!(left.len(), 4);
    for m in &got {
        assert!(!left.contains(m));
    }
    let mut union = got;
    union.extend(left);
    union.sort();
    let mut want = put;
    want.sort();
    same(&union, &want);
}

#[test]
fn seen_flags_and_folders() {
    let Some(d) = dovecot() else { return };
    let _one_at_a_time = USER7.lock().unwrap_or_else(|p| p.into_inner());
    let user = 7;
    d.clear(user);
    for i in 0..3 {
        d.put(user, &unique(1700000000, i), &message(i, 500));
    }
    let local = TempDir::new("imap-interop-seen");
    let md = local.join("Mail");
    let url = format!("imaps://{}:{}/", d.host, d.imaps_port);
    ok(&fetch(
        &d,
        user,
        &local,
        &url,
        &["--maildir", md.to_str().unwrap(), "--seen"],
    ));
    assert_eq!(local_messages(&md).len(), 3);
    // Dovecot keeps \Seen as ",S" in the file name's info (in cur/).
    let cur: Vec<String> = std::fs::read_dir(d.maildir(user).join("cur"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(cur.len(), 3, "{cur:?}");
    assert!(
        cur.iter().all(|n| n.contains(":2,") && n.ends_with('S')),
        "{cur:?}"
    );
    // --unseen now finds nothing, with --all too.
    let local2 = TempDir::new("imap-interop-unseen");
    let md2 = local2.join("Mail");
    ok(&fetch(
        &d,
        user,
        &local2,
        &url,
        &["--maildir", md2.to_str().unwrap(), "--unseen", "--all"],
    ));
    assert!(local_messages(&md2).is_empty());
    // The folder list.
    let o = fetch(&d, user, &local, &url, &["--list-folders"]);
    ok(&o);
    assert!(
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .any(|l| l == "INBOX"),
        "{o:#?}"
    );
}

#[test]
fn idle_picks_up_a_message_delivered_while_it_waits() {
    let Some(d) = dovecot() else { return };
    let user = 0;
    d.clear(user);
    d.put(user, &unique(1700000000, 0), &message(0, 500));
    let local = TempDir::new("imap-interop-idle");
    let md = local.join("Mail");
    let url = format!("imaps://{}:{}/", d.host, d.imaps_port);
    let mut c = Command::new(env!("CARGO_BIN_EXE_imap-fetch"));
    c.env("HOME", local.join("home"))
        .env("XDG_STATE_HOME", local.join("state"))
        .env_remove("NETRC")
        .env("IMAP_PASS", &d.password)
        .args([
            &url,
            "--user",
            &d.user(user),
            "--password-env",
            "IMAP_PASS",
            "--cacert",
            d.ca_cert.to_str().unwrap(),
            "--idle",
            "--maildir",
            md.to_str().unwrap(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = run::spawn(&mut c);
    let count = || {
        std::fs::read_dir(md.join("new"))
            .map(|d| d.count())
            .unwrap_or(0)
    };
    let wait_for = |n: usize| {
        // Dovecot notices new files at once with inotify, else within 30 s.
        for _ in 0..6000 {
            if count() == n {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("{n} messages never arrived");
    };
    wait_for(1);
    // Give the client time to enter IDLE; a message put before it does is fetched all the
    // same (the next search sees it), so no timing can make this test fail.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let late = message(1, 700);
    d.put(user, &unique(1700000001, 1), &late);
    wait_for(2);
    assert!(local_messages(&md).contains(&late));
    let o = child.terminate();
    assert_eq!(o.status.code(), Some(0), "{o:#?}");
    assert_eq!(String::from_utf8_lossy(&o.stderr), "");
}

/// A Maildir++ folder `.NAME` of user `n` holding `message`, owned as Dovecot's own; what
/// an earlier run left there goes, Dovecot's index of it too.
fn make_folder(d: &Dovecot, n: usize, name: &str, message: &[u8]) {
    let folder = d.maildir(n).join(format!(".{name}"));
    let _ = std::fs::remove_dir_all(&folder);
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(folder.join(sub)).unwrap();
    }
    let file = folder.join("new").join(unique(1700000000, 42));
    std::fs::write(&file, message).unwrap();
    let owner = std::fs::metadata(d.maildir(n)).unwrap();
    use std::os::unix::fs::MetadataExt;
    for p in [
        folder.clone(),
        folder.join("cur"),
        folder.join("new"),
        folder.join("tmp"),
        file,
    ] {
        let _ = std::os::unix::fs::chown(&p, Some(owner.uid()), Some(owner.gid()));
    }
}

/// Dovecot's default layout separates levels with `.` and answers EXAMINE of a missing
/// folder with a bare NO: the URL's `/` are levels, and a missing folder is 66.
#[test]
fn a_subfolder_by_the_urls_slashes_and_a_missing_folder_is_66() {
    let Some(d) = dovecot() else { return };
    let user = 15;
    d.clear(user);
    let old = message(2026, 600);
    make_folder(&d, user, "Archive.2026", &old);
    let local = TempDir::new("imap-interop-subfolder");
    let url = format!("imaps://{}:{}/Archive/2026", d.host, d.imaps_port);
    let md = into_maildir(&d, user, &local, &url);
    same(&local_messages(&md), std::slice::from_ref(&old));
    let url = format!("imaps://{}:{}/", d.host, d.imaps_port);
    let o = fetch(
        &d,
        user,
        &local,
        &url,
        &["--maildir", md.to_str().unwrap(), "--folder", "Nope"],
    );
    assert_eq!(o.status.code(), Some(66), "{o:#?}");
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        format!(
            "imap-fetch: {}:{}: no folder Nope on the server (LIST shows the folders: --list-folders)\n",
            d.host, d.imaps_port
        )
    );
}

#[test]
fn every_login_mechanism_and_a_folder_in_modified_utf7() {
    let Some(d) = dovecot() else { return };
    let _one_at_a_time = USER7.lock().unwrap_or_else(|p| p.into_inner());
    let user = 7;
    d.clear(user);
    // A Maildir++ folder "Entwürfe", as Dovecot names it on disk (modified UTF-7).
    let draft = message(42, 800);
    make_folder(&d, user, "Entw&APw-rfe", &draft);
    let url = format!("imap://{}:{}/", d.host, d.imap_port);
    let local = TempDir::new("imap-interop-auth");
    let o = fetch(&d, user, &local, &url, &["--list-folders"]);
    ok(&o);
    assert!(
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .any(|l| l == "Entwürfe"),
        "{o:#?}"
    );
    // The best offered (SCRAM-SHA-256, the server's signature checked), then each forced.
    for (i, auth) in [
        None,
        Some("plain"),
        Some("login"),
        Some("cram-md5"),
        Some("scram-sha-256"),
    ]
    .into_iter()
    .enumerate()
    {
        let local = TempDir::new(&format!("imap-interop-auth-{i}"));
        let md = local.join("Mail");
        let mut args = vec![
            "--maildir",
            md.to_str().unwrap(),
            "--folder",
            "Entwürfe",
            "-v",
        ];
        if let Some(a) = auth {
            args.extend(["--auth", a]);
        }
        let o = fetch(&d, user, &local, &url, &args);
        assert_eq!(o.status.code(), Some(0), "{auth:?}: {o:#?}");
        let err = String::from_utf8_lossy(&o.stderr);
        let mech = auth.unwrap_or("scram-sha-256").to_ascii_uppercase();
        assert!(
            err.contains(&format!("AUTHENTICATE {mech}")),
            "{auth:?}: {err}"
        );
        assert!(
            !err.contains(&d.password),
            "{auth:?}: the password shown: {err}"
        );
        assert!(
            err.contains("EXAMINE \"Entw&APw-rfe\"") || err.contains("EXAMINE Entw&APw-rfe"),
            "{err}"
        );
        same(&local_messages(&md), std::slice::from_ref(&draft));
    }
}

#[test]
fn max_size_skips_by_dovecots_sizes_and_a_later_run_fetches_what_it_skipped() {
    let Some(d) = dovecot() else { return };
    let _one_at_a_time = USER7.lock().unwrap_or_else(|p| p.into_inner());
    let user = 7;
    d.clear(user);
    let put: Vec<Vec<u8>> = [1000, 9000, 1200]
        .iter()
        .enumerate()
        .map(|(i, &n)| message(i, n))
        .collect();
    for (i, m) in put.iter().enumerate() {
        d.put(user, &unique(1700000000, i), m);
    }
    let local = TempDir::new("imap-interop-maxsize");
    let md = local.join("Mail");
    let url = format!("imap://{}:{}/", d.host, d.imap_port);
    let args = ["--maildir", md.to_str().unwrap(), "--max-size", "4k"];
    let o = fetch(&d, user, &local, &url, &args);
    assert_eq!(o.status.code(), Some(0), "{o:#?}");
    // Dovecot's RFC822.SIZE counts CRLF line ends: more than the 9,000 bytes on its disk.
    let err = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].contains(": folder INBOX: UID ")
            && lines[0].ends_with(" bytes, over --max-size 4096: skipped"),
        "{err}"
    );
    let mut small = vec![put[0].clone(), put[2].clone()];
    small.sort();
    same(&local_messages(&md), &small);
    // The same limit again: named again, nothing fetched twice.
    let o = fetch(&d, user, &local, &url, &args);
    assert_eq!(o.status.code(), Some(0), "{o:#?}");
    assert_eq!(String::from_utf8_lossy(&o.stderr).lines().count(), 1);
    assert_eq!(local_messages(&md).len(), 2);
    // Without it: the big one, and only it.
    ok(&fetch(&d, user, &local, &url, &args[..2]));
    let mut all = put.clone();
    all.sort();
    same(&local_messages(&md), &all);
}
