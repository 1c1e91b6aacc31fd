//! The engine: reply framing in every dialect, dot-terminated bodies and literals read from
//! the connection's buffer, the dot codecs, and a whole POP3 session.

use super::{Mem, chunk_of};
use crate::ftp::reply::Ftp;
use crate::imap::reply::Imap;
use crate::net::ConnectOptions;
use crate::net::tls::TlsMode;
use crate::net::url::{Scheme, Target};
use crate::pop3::client::Pop3Client;
use crate::pop3::reply::Pop3;
use crate::session::{Credentials, SessionOptions};
use crate::smtp::client::parse_ehlo;
use crate::smtp::reply::Smtp;
use crate::wire::Conn;
use crate::wire::dot::{LoneCr, Stuffer, Unstuffer};
use crate::wire::limits::MAX_REPLY_LINES;
use crate::wire::reply::{Dialect, Response};
use std::time::{Duration, Instant};

/// Replies read off a connection until it fails: the first byte picks the dialect (or a
/// POP3 body, an IMAP literal) and how many bytes each read delivers, the rest is what
/// the server sent.
pub fn wire(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let mem = Mem::new(rest, chunk_of(sel));
    match sel & 0x0f {
        0 | 1 => {
            let mut c = Conn::new(mem, "fuzz", Ftp);
            replies(&mut c, |r| {
                assert!(r.line_texts().len() <= MAX_REPLY_LINES);
                // Any three digits but a leading 0 (a 7xx is no success, and an error).
                assert!((100..=999).contains(&r.code), "reply code {}", r.code);
            });
        }
        2 | 3 => {
            let mut c = Conn::new(mem, "fuzz", Smtp);
            replies(&mut c, |r| {
                assert!(r.line_texts().len() <= MAX_REPLY_LINES);
                let e = parse_ehlo(r);
                assert!(e.auth.iter().all(|m| *m == m.to_ascii_uppercase()));
            });
        }
        4 | 5 => {
            let mut c = Conn::new(mem, "fuzz", Pop3);
            replies(&mut c, |r| {
                let _ = (r.text(), r.resp_code());
            });
        }
        6 | 7 => {
            let mut c = Conn::new(mem, "fuzz", Imap);
            replies(&mut c, |r| {
                let _ = (r.text(), r.resp_code());
            });
        }
        8..=11 => dot_bodies(Conn::new(mem, "fuzz", Pop3), sel & 1 == 0, rest.len()),
        _ => literals(Conn::new(mem, "fuzz", Imap)),
    }
}

fn replies<D: Dialect>(c: &mut Conn<Mem, D>, check: impl Fn(&D::Reply)) {
    for _ in 0..1000 {
        match c.read_reply() {
            Ok(r) => check(&r),
            Err(_) => {
                assert!(c.is_broken());
                return;
            }
        }
    }
}

/// `+OK` replies each followed by a dot-terminated body, read as a stream (`stream`) or
/// line by line: never more data out than bytes in, and never past the terminator.
fn dot_bodies(mut c: Conn<Mem, Pop3>, stream: bool, input: usize) {
    let mut total = 0u64;
    for _ in 0..100 {
        let Ok(r) = c.read_reply() else { return };
        if !r.is_ok() {
            continue;
        }
        let Ok(body) = c.dot_body() else { return };
        let mut body = body.limit(1 << 16);
        let mut out = 0u64;
        if stream {
            let mut buf = [0u8; 37];
            loop {
                match body.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => out += n as u64,
                    Err(_) => return,
                }
            }
        } else {
            loop {
                match body.next_line() {
                    Ok(Some(line)) => out += line.len() as u64,
                    Ok(None) => break,
                    Err(_) => return,
                }
            }
        }
        let wire = body.wire_bytes();
        assert!(out <= wire, "{out} bytes out of {wire} on the wire");
        total += wire;
        assert!(total <= input as u64);
    }
}

/// `* n FETCH (BODY[] {len}` lines with their literals: a literal gives exactly its
/// length, or fails.
fn literals(mut c: Conn<Mem, Imap>) {
    for _ in 0..100 {
        let Ok(line) = c.read_line_raw() else { return };
        let len = line
            .strip_suffix(b"}")
            .and_then(|l| l.iter().rposition(|&b| b == b'{').map(|i| &l[i + 1..]))
            .and_then(|n| std::str::from_utf8(n).ok())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
            .min(1 << 16);
        let Ok(mut lit) = c.literal(len) else { return };
        let mut got = 0u64;
        let mut buf = [0u8; 29];
        loop {
            match lit.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => got += n as u64,
                Err(_) => return,
            }
        }
        assert_eq!(got, len);
    }
}

/// Dot stuffing then unstuffing gives the data back (its line ends as CRLF, a final one
/// added), split at every place the input allows (all of them for short inputs); a lone CR
/// is refused where it is, or (when kept) never ends the data early.
pub fn dot(data: &[u8]) {
    let expected = crlf_lines(data);
    let first_lone_cr =
        (0..data.len()).find(|&i| data[i] == b'\r' && data.get(i + 1) != Some(&b'\n'));
    let splits: Vec<usize> = if data.len() <= 64 {
        (0..=data.len()).collect()
    } else {
        let step = data.len() / 61 + 1;
        (0..=data.len()).step_by(step).collect()
    };
    let mut whole: Option<Vec<u8>> = None;
    for &at in &splits {
        for lone_cr in [LoneCr::Refuse, LoneCr::Keep] {
            let mut s = Stuffer::new(lone_cr);
            let mut wire = Vec::new();
            let r = s
                .encode(&data[..at], &mut wire)
                .and_then(|()| s.encode(&data[at..], &mut wire))
                .and_then(|()| s.finish(&mut wire));
            match (lone_cr, first_lone_cr, r) {
                (LoneCr::Refuse, Some(i), Err(e)) => assert_eq!(e.offset, i as u64),
                (LoneCr::Refuse, Some(i), Ok(())) => panic!("lone CR at {i} not refused"),
                (LoneCr::Refuse, None, Err(e)) => panic!("no lone CR, refused at {}", e.offset),
                (_, _, Err(e)) => panic!("kept lone CR refused at {}", e.offset),
                (LoneCr::Refuse, None, Ok(())) => {
                    assert_eq!(unstuff_at(&wire, at), (expected.clone(), wire.len()));
                    match &whole {
                        Some(w) => assert_eq!(w, &wire, "the encoding depends on the split"),
                        None => whole = Some(wire),
                    }
                }
                (LoneCr::Keep, _, Ok(())) => {
                    // The data ends at its terminator, not before.
                    let (_, used) = unstuff_at(&wire, at);
                    assert_eq!(used, wire.len(), "the data ended early");
                }
            }
        }
    }
}

/// `data` with every line end (LF, CRLF) as CRLF and a CRLF at the end if it had none.
fn crlf_lines(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 2);
    for (i, &b) in data.iter().enumerate() {
        if b == b'\n' && (i == 0 || data[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(b);
    }
    if !out.is_empty() && !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Unstuffs `wire` fed in two pieces split at `at` (and through a small output buffer):
/// the data and how many bytes were taken before the terminator ended it.
fn unstuff_at(wire: &[u8], at: usize) -> (Vec<u8>, usize) {
    let mut u = Unstuffer::new();
    let mut out = Vec::new();
    let mut used = 0;
    let at = at.min(wire.len());
    for piece in [&wire[..at], &wire[at..]] {
        let mut i = 0;
        while i < piece.len() && !u.is_done() {
            let mut buf = [0u8; 7];
            let d = u.decode(&piece[i..], &mut buf, false);
            assert!(d.written <= d.consumed + 1);
            out.extend_from_slice(&buf[..d.written]);
            i += d.consumed;
            if d.consumed == 0 && d.written == 0 {
                break;
            }
        }
        used += i;
    }
    assert!(u.is_done(), "no terminator found");
    (out, used)
}

/// A POP3 session against fuzzed server bytes: greeting, CAPA, login, STAT, LIST, UIDL,
/// RETR of what LIST gave (pipelined when CAPA says so), DELE, QUIT.
pub fn pop3_session(data: &[u8]) {
    pop3_steps(data);
}

/// How far [`pop3_session`] got: 1 logged in, 2 STAT, 3 LIST, 4 UIDL, 5 every message
/// read, 6 DELE, 7 QUIT (the seeds' test, in `sessions`, checks that they go the whole way).
pub(super) fn pop3_steps(data: &[u8]) -> u32 {
    let Some((&sel, rest)) = data.split_first() else {
        return 0;
    };
    let Ok(target) = Target::parse("pop3://fuzz@pop.example", &[Scheme::Pop3]) else {
        unreachable!("a constant URL");
    };
    let creds = Credentials::password("fuzz", "secret");
    let opts = SessionOptions {
        connect: ConnectOptions::default(),
        tls_mode: TlsMode::None,
        tls: None,
        transcript: None,
    };
    let deadline = Instant::now() + Duration::from_secs(3600);
    let mem = Mem::session(rest, chunk_of(sel));
    let Ok(mut c) = Pop3Client::handshake(mem, &target, &creds, &opts, deadline) else {
        return 0;
    };
    let Ok(_) = c.stat() else { return 1 };
    let Ok(list) = c.list() else { return 2 };
    if c.uidl().is_err() {
        return 3;
    }
    let msgs: Vec<u32> = list.iter().map(|&(n, _)| n).take(16).collect();
    let got = c.retrieve(
        &msgs,
        sel & 1 == 1,
        |_| 1 << 16,
        |_, body| {
            let mut buf = [0u8; 512];
            while body.read(&mut buf)? > 0 {}
            Ok(())
        },
    );
    if got.is_err() {
        return 4;
    }
    if c.dele(&msgs).is_err() {
        return 5;
    }
    match c.quit() {
        Ok(()) => 7,
        Err(_) => 6,
    }
}
