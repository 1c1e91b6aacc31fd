//! imap-fetch against the loopback Dovecot (scripts/servers/dovecot): its IMAP with
//! STARTTLS and IMAPS, users phmail7..phmail9 (pop-fetch's tests use the others). What is
//! checked is what a user sees: the local Maildir byte for byte against the files put into
//! the server's Maildir, and what is left on the server.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::support::files::TempDir;
use crate::support::run;
use crate::support::servers_imap::{Dovecot, dovecot};

/// The Maildir layout posthaste writes: LF line ends; Dovecot keeps the files as given.
fn message(i: usize, size: usize) -> Vec<u8> {
    let mut m = format!(
        "From: sender{i}@example.com\nTo: phmail@example.com\nSubject: message {i}\nMessage-ID: <{i}@interop.example>\n\n"
    )
    .into_bytes();
    let mut n = 0;
    while m.len() < size {
        m.extend_from_slice(format!("line {n} of message {i}: the quick brown fox\n").as_bytes());
        n += 1;
    }
    m
}

fn fetch(d: &Dovecot, user: u32, local: &TempDir, url: &str, args: &[&str]) -> Output {
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

fn ok(o: &Output) {
    assert_eq!(o.status.code(), Some(0), "{o:#?}");
    assert_eq!(String::from_utf8_lossy(&o.stderr), "", "{o:#?}");
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
fn a_thousand_messages_byte_for_byte_then_only_new_ones() {
    let Some(d) = dovecot() else { return };
    let user = 9;
    d.reset(user);
    let mut put: Vec<Vec<u8>> = (0..1000)
        .map(|i| message(i, 200 + (i * 37) % 6000))
        .collect();
    for (i, m) in put.iter().enumerate() {
        d.put(user, &format!("1700000000.M{i}P1.interop"), m);
    }
    put.sort();
    let local = TempDir::new("imap-interop-1000");
    let md = local.join("Mail");
    let url = format!("imap://{}:{}/", d.host, d.imap_port);
    // imap:// with STARTTLS (the default --tls auto), trusting the test CA.
    ok(&fetch(
        &d,
        user,
        &local,
        &url,
        &["--maildir", md.to_str().unwrap()],
    ));
    assert_eq!(local_messages(&md), put);
    // Nothing new: nothing fetched.
    ok(&fetch(
        &d,
        user,
        &local,
        &url,
        &["--maildir", md.to_str().unwrap()],
    ));
    assert_eq!(local_messages(&md).len(), 1000);
    // Five arrive: exactly those five, over IMAPS this time.
    let mut more: Vec<Vec<u8>> = (1000..1005).map(|i| message(i, 3000)).collect();
    for (i, m) in more.iter().enumerate() {
        d.put(user, &format!("1800000000.M{i}P1.interop"), m);
    }
    let urls = format!("imaps://{}:{}/INBOX", d.host, d.imaps_port);
    ok(&fetch(
        &d,
        user,
        &local,
        &urls,
        &["--maildir", md.to_str().unwrap()],
    ));
    let mut all = put.clone();
    all.append(&mut more);
    all.sort();
    assert_eq!(local_messages(&md), all);
    // The server still has everything (--keep), and EXAMINE left it untouched.
    assert_eq!(d.messages(user), all);
}

#[test]
fn delete_expunges_only_what_was_delivered() {
    let Some(d) = dovecot() else { return };
    let user = 8;
    d.reset(user);
    let put: Vec<Vec<u8>> = (0..10).map(|i| message(i, 1000)).collect();
    for (i, m) in put.iter().enumerate() {
        d.put(user, &format!("1700000000.M{i:02}P1.interop"), m);
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
    let left = d.messages(user);
    assert_eq!(left.len(), 4);
    for m in &got {
        assert!(!left.contains(m));
    }
    let mut union = got;
    union.extend(left);
    union.sort();
    let mut want = put;
    want.sort();
    assert_eq!(union, want);
}

#[test]
fn seen_flags_and_folders() {
    let Some(d) = dovecot() else { return };
    let user = 7;
    d.reset(user);
    for i in 0..3 {
        d.put(
            user,
            &format!("1700000000.M{i}P1.interop"),
            &message(i, 500),
        );
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
