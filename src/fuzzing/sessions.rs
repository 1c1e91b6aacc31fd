//! Whole FTP, SMTP and IMAP sessions against fuzzed server bytes: the clients' state
//! machines, not only their line parsers (the POP3 session is in `wire`).

use super::{Mem, chunk_of};
use crate::ftp::client::{FtpClient, FtpOptions};
use crate::imap::client::{FetchEvent, ImapClient};
use crate::net::ConnectOptions;
use crate::net::tls::TlsMode;
use crate::net::url::{Scheme, Target};
use crate::session::{Credentials, SessionOptions};
use crate::smtp::LoneCr;
use crate::smtp::client::{Envelope, SmtpClient, SmtpOptions};
use std::time::{Duration, Instant};

fn options() -> SessionOptions {
    SessionOptions {
        connect: ConnectOptions::default(),
        tls_mode: TlsMode::None,
        tls: None,
        transcript: None,
    }
}

fn target(url: &str, scheme: Scheme) -> Target {
    match Target::parse(url, &[scheme]) {
        Ok(t) => t,
        Err(e) => unreachable!("a constant URL: {e}"),
    }
}

/// An FTP control connection: greeting (past 120 lines), USER, PASS (ACCT), FEAT, then
/// what ftp-get, ftp-put and ftp-ls ask beside the transfers: SIZE, MDTM, MLST, CWD probes,
/// MKD, RNFR/RNTO, DELE, MFMT or MDTM with a time, NOOP, QUIT. No transfer: a data
/// connection is a real socket, which a fuzzer must not open (the port would be the fuzzed
/// server's choice).
pub fn ftp_session(data: &[u8]) {
    ftp_steps(data);
}

/// How far [`ftp_session`] got: 1 logged in, then one more for each command that was
/// answered as a server in good order would, 9 QUIT.
fn ftp_steps(data: &[u8]) -> u32 {
    let Some((&sel, rest)) = data.split_first() else {
        return 0;
    };
    let target = target("ftp://fuzz@ftp.example/", Scheme::Ftp);
    let creds = Credentials::password("fuzz", "secret");
    let opts = FtpOptions {
        session: options(),
        active: false,
        ascii: sel & 1 == 1,
    };
    let deadline = Instant::now() + Duration::from_secs(3600);
    let mem = Mem::session(rest, chunk_of(sel));
    let Ok(mut c) = FtpClient::handshake(mem, &target, &creds, &opts, deadline) else {
        return 0;
    };
    let mut steps = 1;
    // Each answer, good or bad, is one the client must take in stride or refuse cleanly;
    // a step counts when the command went through.
    let mut step = |ok: bool| steps += u32::from(ok);
    step(c.size("pub/a file.txt").is_ok_and(|s| s.is_some()));
    step(c.mdtm("pub/a file.txt").is_ok_and(|t| t.is_some()));
    step(c.mlst("pub").is_ok_and(|m| m.is_some()));
    step(c.probe_folder("pub/new").is_ok());
    step(c.make_dir("pub/new").is_ok());
    step(c.rename("pub/.a.part", "pub/a").is_ok());
    step(c.delete("pub/old").is_ok());
    let when = std::time::UNIX_EPOCH + Duration::from_secs(1_796_212_800);
    if sel & 2 != 0 {
        let _ = c.set_mtime("pub/a", when);
    }
    if !c.is_usable() {
        return steps;
    }
    let _ = c.noop();
    c.quit();
    steps + 1
}

/// An SMTP session: greeting, EHLO (HELO when refused), AUTH when the selector byte asks,
/// two messages (pipelined, BDAT or DATA as the server's EHLO and the selector say, a
/// partial delivery or not), RSET between them when one failed, QUIT.
pub fn smtp_session(data: &[u8]) {
    smtp_steps(data);
}

/// How far [`smtp_session`] got: 1 greeted, 2 logged in, 3 and 4 each message sent, 5 QUIT
/// (the seeds' test checks that they go the whole way).
fn smtp_steps(data: &[u8]) -> u32 {
    let Some((&sel, rest)) = data.split_first() else {
        return 0;
    };
    let target = target("smtp://fuzz@smtp.example", Scheme::Smtp);
    let creds = Credentials::password("fuzz", "secret");
    let login = (sel & 1 == 1).then_some(&creds);
    let opts = SmtpOptions {
        session: options(),
        helo: "client.example".into(),
        final_reply_timeout: Duration::from_secs(600),
    };
    let deadline = Instant::now() + Duration::from_secs(3600);
    let mem = Mem::session(rest, chunk_of(sel));
    let Ok(mut c) = SmtpClient::handshake(mem, &target, &opts, deadline, login) else {
        return 0;
    };
    if login.is_some() && c.authenticate(&creds).is_err() {
        return 1;
    }
    let mut steps = 2;
    let env = Envelope {
        from: "ada@example.org".into(),
        rcpts: vec!["bob@example.org".into(), "eve@example.org".into()],
        mail_params: Vec::new(),
        rcpt_params: Vec::new(),
        partial: sel & 2 != 0,
        lone_cr: LoneCr::Refuse,
        chunking: sel & 4 != 0,
    };
    for _ in 0..2 {
        let sent = c.send(&env, &mut |_| {}, |body| {
            body.write(b"Subject: fuzz\r\n\r\n.a line with a dot\r\nand the end\r\n")
        });
        if let Ok(d) = &sent {
            // Delivered means to a recipient the envelope named.
            assert!(!d.accepted.is_empty(), "delivered to no one");
            assert!(d.accepted.iter().all(|a| env.rcpts.contains(a)));
            steps += 1;
        }
        if sent.is_err() && (!c.is_usable() || c.rset().is_err()) {
            return steps;
        }
    }
    c.quit();
    steps + 1
}

/// An IMAP session: greeting, CAPABILITY, LOGIN or AUTHENTICATE, LIST, SELECT (EXAMINE when
/// the selector byte says), UID SEARCH, the sizes when asked, the pipelined fetch of what
/// the search found with STORE and UID EXPUNGE queued when asked, IDLE when asked, LOGOUT.
pub fn imap_session(data: &[u8]) {
    imap_steps(data);
}

/// How far [`imap_session`] got: 1 logged in, 2 listed, 3 selected, 4 searched, 5 fetched
/// every message, 6 idled (or not asked to), 7 LOGOUT.
fn imap_steps(data: &[u8]) -> u32 {
    let Some((&sel, rest)) = data.split_first() else {
        return 0;
    };
    let target = target("imap://fuzz@imap.example", Scheme::Imap);
    let creds = Credentials::password("fuzz", "secret");
    let deadline = Instant::now() + Duration::from_secs(3600);
    let mem = Mem::session(rest, chunk_of(sel));
    let Ok(mut c) = ImapClient::handshake(mem, &target, &creds, &options(), deadline) else {
        return 0;
    };
    match c.list() {
        Ok(_) => {}
        Err(_) if c.is_usable() => {}
        Err(_) => return 1,
    }
    let read_only = sel & 1 == 1;
    if c.select("INBOX", read_only).is_err() {
        return 2;
    }
    let Ok(mut uids) = c.uid_search("ALL") else {
        return 3;
    };
    uids.sort_unstable();
    uids.dedup();
    uids.truncate(16);
    if sel & 2 != 0 {
        let Ok(sizes) = c.uid_sizes(&uids) else {
            return 4;
        };
        assert!(
            sizes.iter().all(|(u, _)| uids.contains(u)),
            "a size of a UID not asked"
        );
    }
    c.set_max_size(Some(1 << 16));
    c.start_fetch(&uids);
    if sel & 4 != 0 && !read_only {
        let _ = c.queue_store(&uids, "\\Seen");
        let _ = c.queue_expunge(&uids);
    }
    let mut buf = [0u8; 512];
    let mut got = Vec::new();
    loop {
        match c.next_event() {
            Ok(FetchEvent::Message { .. }) => match c.read_message(&mut buf, |_| Ok(())) {
                Ok(uid) => got.push(uid),
                Err(_) => return 4,
            },
            Ok(FetchEvent::Batch {
                uids: batch,
                missing,
            }) => {
                // What came and what is missing are both of the batch asked for.
                assert!(batch.iter().all(|u| uids.contains(u)));
                assert!(missing.iter().all(|u| batch.contains(u)));
            }
            Ok(FetchEvent::Done) => break,
            Err(_) => return 4,
        }
    }
    // Only messages asked for are handed over, each once.
    assert!(
        got.iter().all(|u| uids.contains(u)),
        "a message not asked for"
    );
    let mut once = got.clone();
    once.sort_unstable();
    once.dedup();
    assert_eq!(once.len(), got.len(), "a message handed over twice");
    if sel & 8 != 0 && c.idle(0, Duration::from_secs(1), &|| false).is_err() {
        return 5;
    }
    c.logout();
    7
}

#[cfg(test)]
mod tests {
    use super::super::wire::pop3_steps;
    use super::{ftp_steps, imap_steps, smtp_steps};
    use std::path::Path;

    /// The hand-made seeds (fuzz/seeds/make.py) go the whole way: the fuzzer starts from
    /// whole sessions, and a change to a client that breaks one is seen here.
    #[test]
    fn the_seeds_are_whole_sessions() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
        let mut seen = 0;
        for (target, steps, whole) in [
            ("ftp_session", ftp_steps as fn(&[u8]) -> u32, 9),
            ("smtp_session", smtp_steps, 5),
            ("imap_session", imap_steps, 7),
            ("pop3_session", pop3_steps, 7),
        ] {
            for e in std::fs::read_dir(dir.join(target)).unwrap() {
                let path = e.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                if name.starts_with("seed-") && !name.starts_with("seed-short-") {
                    let got = steps(&std::fs::read(&path).unwrap());
                    assert_eq!(got, whole, "{target}/{name} ends at step {got}");
                    seen += 1;
                }
            }
        }
        assert!(seen >= 14, "only {seen} seeds");
    }
}
