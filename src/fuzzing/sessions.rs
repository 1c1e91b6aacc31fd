//! Whole FTP, SMTP and IMAP sessions against fuzzed server bytes: the clients' state
//! machines, not only their line parsers (the POP3 session is in `wire`).

use super::{Mem, chunk_of};
use crate::ftp::client::{DataFrom, FtpClient, FtpOptions};
use crate::ftp::list;
use crate::imap::client::{FetchEvent, ImapClient};
use crate::net::ConnectOptions;
use crate::net::tls::TlsMode;
use crate::net::url::{Scheme, Target};
use crate::session::{Credentials, SessionOptions};
use crate::smtp::LoneCr;
use crate::smtp::client::{Envelope, SmtpClient, SmtpOptions};
use std::io::{self, Write};
use std::net::{Ipv4Addr, Shutdown, TcpListener, TcpStream};
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

/// An FTP client logged in over `control` (the server's bytes), with the options the
/// selector byte asks for (1: TYPE A; high nibble: bytes a read).
fn ftp_login(sel: u8, control: &[u8]) -> Option<FtpClient<Mem>> {
    let target = target("ftp://fuzz@ftp.example/", Scheme::Ftp);
    let creds = Credentials::password("fuzz", "secret");
    let opts = FtpOptions {
        session: options(),
        active: false,
        ascii: sel & 1 == 1,
    };
    let deadline = Instant::now() + Duration::from_secs(3600);
    let mem = Mem::session(control, chunk_of(sel));
    FtpClient::handshake(mem, &target, &creds, &opts, deadline).ok()
}

/// How far [`ftp_session`] got: 1 logged in, then one more for each command that was
/// answered as a server in good order would, 9 QUIT.
fn ftp_steps(data: &[u8]) -> u32 {
    let Some((&sel, rest)) = data.split_first() else {
        return 0;
    };
    let Some(mut c) = ftp_login(sel, rest) else {
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

/// The separator of [`ftp_data`]'s input: the server's control bytes, then each passive
/// data connection's bytes after one.
pub const DATA: &[u8] = b"\0DATA\0";

/// The most a data connection carries (what loopback buffers hold without a reader).
const MAX_DATA: usize = 32 * 1024;

/// FTP transfers: the control connection as in [`ftp_session`], and its passive data
/// connections, each a loopback socket of this target's own (never the port the fuzzed
/// server names) carrying the next part of the input ([`DATA`] before each). After the
/// login: a download (SIZE, RETR), a resumed one (REST), the names of a folder (MLSD or
/// NLST as FEAT says), a LIST read as ftp-ls reads it, an upload (STOR), QUIT. Checked: a
/// download is never longer than SIZE announced, and every count returned is what went
/// through.
pub fn ftp_data(data: &[u8]) {
    ftp_data_steps(data);
}

/// How far [`ftp_data`] got: 1 logged in, then one more for each transfer that succeeded,
/// 7 QUIT.
fn ftp_data_steps(data: &[u8]) -> u32 {
    let Some((&sel, rest)) = data.split_first() else {
        return 0;
    };
    let mut parts = split(rest, DATA).into_iter();
    let control = parts.next().unwrap_or_default();
    let Ok(from) = data_server(parts.collect()) else {
        return 0;
    };
    let Some(mut c) = ftp_login(sel, control) else {
        return 0;
    };
    c.data_from(from);
    let mut steps = 1;
    // A download, whole, then from byte 5: never more than SIZE announced, and the count
    // returned is what the sink was given.
    let size = c.size("pub/a").ok().flatten();
    for offset in [0, 5] {
        if !c.is_usable() {
            return steps;
        }
        let mut got = 0u64;
        let expected = size.map(|s| s.saturating_sub(offset));
        let mut sink = |b: &[u8]| {
            got += b.len() as u64;
            Ok(())
        };
        if let Ok(Some(n)) = c.retrieve("pub/a", offset, expected, &mut sink) {
            assert_eq!(n, got, "a download's count is not what arrived");
            assert!(expected.is_none_or(|e| n <= e), "more than SIZE announced");
            steps += 1;
        }
    }
    if !c.is_usable() {
        return steps;
    }
    let mut names = 0usize;
    if c.list_files("pub", &mut |_| {
        names += 1;
        Ok(())
    })
    .is_ok()
    {
        steps += 1;
    }
    if !c.is_usable() {
        return steps;
    }
    let now = std::time::UNIX_EPOCH + Duration::from_secs(1_796_212_800);
    let mut lines = 0usize;
    if c.listing("LIST", "pub", &mut |line| {
        let _ = list::parse_list(&String::from_utf8_lossy(line), now);
        lines += 1;
        Ok(())
    })
    .is_ok()
    {
        steps += 1;
    }
    if !c.is_usable() {
        return steps;
    }
    let file = [b'x'; 300];
    let mut at = 0;
    let mut source = |buf: &mut [u8]| {
        let n = buf.len().min(100).min(file.len() - at);
        buf[..n].copy_from_slice(&file[at..at + n]);
        at += n;
        Ok(n)
    };
    if let Ok(n) = c.store("pub/up", &mut source) {
        assert_eq!(n, 300, "an upload's count is not what was sent");
        steps += 1;
    }
    if !c.is_usable() {
        return steps;
    }
    c.quit();
    steps + 1
}

/// `data` cut at each `sep`.
fn split<'a>(data: &'a [u8], sep: &[u8]) -> Vec<&'a [u8]> {
    let mut parts = Vec::new();
    let mut rest = data;
    while let Some(at) = rest.windows(sep.len()).position(|w| w == sep) {
        parts.push(&rest[..at]);
        rest = &rest[at + sep.len()..];
    }
    parts.push(rest);
    parts
}

/// The data connections of [`ftp_data`]: each a loopback connection to a listener of its
/// own, the server's end holding the next part (then its end of writing), an empty one
/// once the parts are spent. The server's ends stay open until the client is dropped, so an
/// upload's bytes have somewhere to go.
fn data_server(parts: Vec<&[u8]>) -> io::Result<DataFrom> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    let addr = listener.local_addr()?;
    let mut parts: std::collections::VecDeque<Vec<u8>> =
        parts.into_iter().map(<[u8]>::to_vec).collect();
    let mut held = Vec::new();
    Ok(Box::new(move || {
        let client = TcpStream::connect(addr)?;
        let (mut server, _) = listener.accept()?;
        let bytes = parts.pop_front().unwrap_or_default();
        server.write_all(&bytes[..bytes.len().min(MAX_DATA)])?;
        server.shutdown(Shutdown::Write)?;
        held.push(server);
        Ok(client)
    }))
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
    use super::{ftp_data_steps, ftp_steps, imap_steps, smtp_steps};
    use std::path::Path;

    /// The hand-made seeds (fuzz/seeds/make.py) go the whole way: the fuzzer starts from
    /// whole sessions, and a change to a client that breaks one is seen here.
    #[test]
    fn the_seeds_are_whole_sessions() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
        let mut seen = 0;
        for (target, steps, whole) in [
            ("ftp_session", ftp_steps as fn(&[u8]) -> u32, 9),
            ("ftp_data", ftp_data_steps, 7),
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
        assert!(seen >= 16, "only {seen} seeds");
    }
}
