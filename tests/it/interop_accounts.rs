//! Accounts against the real loopback servers: each tool's cron line is the tool and an
//! account (docs/CONVENTIONS.md, "Config file and accounts"), with the account's TLS trust
//! (`cacert`), its secret from each kind of source, and smtp-send's account picked by the
//! sender. Dovecot users 16 (pop-fetch) and 17 (imap-fetch) are this file's.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::files::TempDir;
use crate::support::run;
use crate::support::servers::servers;
use crate::support::servers_pop::dovecot;
use crate::support::servers_smtp::smtp_servers;

const POP_USER: usize = 16;
const IMAP_USER: usize = 17;

/// A HOME whose config file (mode 600, folders 700) is `config`.
fn home(tag: &str, config: &str) -> TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new(&format!("iacct-{tag}"));
    let folder = dir.join(".config/posthaste");
    std::fs::create_dir_all(&folder).unwrap();
    for f in [dir.join(".config"), folder.clone()] {
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let file = folder.join("config.toml");
    std::fs::write(&file, config).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    dir
}

fn tool(bin: &str, home: &Path) -> Command {
    let mut c = Command::new(bin);
    c.env("HOME", home)
        .env("XDG_STATE_HOME", home.join("state"))
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("NETRC");
    c
}

fn succeeded(o: &std::process::Output) {
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn names(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

#[test]
fn pop_and_imap_fetch_run_from_their_accounts() {
    let Some(d) = dovecot() else { return };
    d.clear(POP_USER);
    d.clear(IMAP_USER);
    d.put(
        POP_USER,
        "1700000000.pa.posthaste.test",
        b"Subject: pop\n\npop\n",
    );
    d.put(
        IMAP_USER,
        "1700000000.ia.posthaste.test",
        b"Subject: imap\n\nimap\n",
    );
    let config = format!(
        "[accounts.pop]\nserver = \"pop3s://{host}:{pop3s}\"\nuser = \"{pu}\"\npassword = \"{pw}\"\ncacert = \"{ca}\"\nmaildir = \"~/Mail/pop\"\n\n[accounts.imap]\nserver = \"imap://{host}:{imap}\"\nuser = \"{iu}\"\npassword_cmd = \"printf '%s\\\\n' \\\"$PH_IMAP_PW\\\"\"\ntls = \"required\"\ncacert = \"{ca}\"\nmaildir = \"~/Mail/imap\"\n",
        host = d.host,
        pop3s = d.pop3s_port,
        imap = d.imap_port,
        pu = d.user(POP_USER),
        iu = d.user(IMAP_USER),
        pw = d.password,
        ca = d.ca_cert.display(),
    );
    let h = home("fetch", &config);
    let o =
        run::output(tool(env!("CARGO_BIN_EXE_pop-fetch"), &h.join("")).args(["-a", "pop", "-q"]));
    succeeded(&o);
    let got = names(&h.join("Mail/pop/new"));
    assert_eq!(got.len(), 1);
    assert_eq!(std::fs::read(&got[0]).unwrap(), b"Subject: pop\n\npop\n");
    let o = run::output(
        tool(env!("CARGO_BIN_EXE_imap-fetch"), &h.join(""))
            .args(["-a", "imap", "-q"])
            .env("PH_IMAP_PW", &d.password),
    );
    succeeded(&o);
    let got = names(&h.join("Mail/imap/new"));
    assert_eq!(got.len(), 1);
    assert_eq!(std::fs::read(&got[0]).unwrap(), b"Subject: imap\n\nimap\n");
    // Both accounts in one run: nothing new for either, exit 0.
    let o = run::output(
        tool(env!("CARGO_BIN_EXE_pop-fetch"), &h.join("")).args(["--all-accounts", "-q"]),
    );
    succeeded(&o);
}

#[test]
fn smtp_send_picks_the_account_by_sender_and_ftp_get_by_name() {
    let Some(s) = smtp_servers() else { return };
    let Some(f) = servers() else { return };
    let rcpt = format!("acct-{}@example.test", std::process::id());
    let config = format!(
        "[accounts.cron]\nserver = \"smtp://localhost:{sp}\"\nuser = \"{su}\"\npassword_env = \"PH_SMTP_PW\"\nfrom = \"*@cron.example.test\"\ntls = \"required\"\ncacert = \"{sca}\"\n\n[accounts.files]\nserver = \"ftp://localhost:{fp}/\"\nuser = \"{fu}\"\npassword_cmd = \"printf %s \\\"$PH_FTP_PW\\\"\"\ntls = \"required\"\ncacert = \"{fca}\"\noutput_dir = \"~/got\"\ncreate_dirs = true\n",
        sp = s.store_port,
        su = s.user,
        sca = s.ca_cert.display(),
        fp = f.ftps_port,
        fu = f.user,
        fca = f.ca_cert.display(),
    );
    let h = home("send", &config);
    let msg = format!("From: Cron <cron@cron.example.test>\nTo: {rcpt}\nSubject: nightly\n\nok\n");
    let o = run::output_with_input(
        tool(env!("CARGO_BIN_EXE_smtp-send"), &h.join(""))
            .arg("-t")
            .env("PH_SMTP_PW", &s.password),
        msg.as_bytes(),
    );
    succeeded(&o);
    let (_, envelope) = s.stored_for(&rcpt).expect("the message was stored");
    assert!(envelope.contains("cron@cron.example.test"), "{envelope}");
    let o = run::output(
        tool(env!("CARGO_BIN_EXE_ftp-get"), &h.join(""))
            .args(["-a", "files", "-q", "hello.txt"])
            .env("PH_FTP_PW", &f.password),
    );
    succeeded(&o);
    assert!(h.join("got/hello.txt").is_file());
}
