//! The protocols' pure parsers: FTP (PASV/EPSV, FEAT, MDTM, PWD, NLST, LIST in every
//! dialect, MLSD, globs), SMTP (`-t` headers, address lists, the body check), POP3 (status
//! lines, CAPA, APOP, STAT, listings), IMAP (tokens, untagged data, SEARCH, LIST, FETCH,
//! capabilities), modified UTF-7.

use super::lines;
use crate::ftp::list::{self, Line};
use crate::ftp::parse as ftp_parse;
use crate::imap::parse::{self as imap_parse, FetchParser, Next, Tokens};
use crate::pop3::client::{apop_timestamp, parse_capa, parse_stat, scan_pair, valid_unique_id};
use crate::pop3::reply::parse_pop3_line;
use crate::smtp::address::parse_address_list;
use crate::smtp::message::{Additions, BodyCheck, Scanned, read_header, scan_header};
use std::time::{Duration, UNIX_EPOCH};

/// Every FTP parser on every line of the input (and the lines as one FEAT reply).
pub fn ftp(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    // 2026-12-02 12:00:00 UTC, as the unit tests have it: the year of a `Mon DD HH:MM` line.
    let now = UNIX_EPOCH + Duration::from_secs(1_796_212_800);
    let year_10000 = UNIX_EPOCH + Duration::from_secs(253_402_300_800);
    let all: Vec<String> = text.lines().map(str::to_string).collect();
    let _ = ftp_parse::parse_features(&all);
    for line in &all {
        let line = line.as_str();
        if let Some((ip, port)) = ftp_parse::parse_pasv(line) {
            let _ = (ip, port);
        }
        if let Some(port) = ftp_parse::parse_epsv(line) {
            assert_ne!(port, 0);
        }
        if let Some(t) = ftp_parse::parse_time_val(line).filter(|&t| t < year_10000) {
            // Whole seconds survive the round trip (a time-val has four digits of year:
            // 9999-12-31 23:59:60, a leap second, is already the year 10000).
            let secs = t.duration_since(UNIX_EPOCH).map(|d| d.as_secs());
            let back = ftp_parse::parse_time_val(&ftp_parse::format_time_val(t));
            let back = back.and_then(|b| b.duration_since(UNIX_EPOCH).ok().map(|d| d.as_secs()));
            assert_eq!(secs.ok(), back, "{line:?}");
        }
        if let Some(name) = ftp_parse::parse_pwd(line) {
            assert!(!name.is_empty());
        }
        let n = ftp_parse::nlst_name(line);
        assert!(line.ends_with(n));
        if let Ok(name) = ftp_parse::safe_local_name(n) {
            assert!(!name.contains('/') && name != "." && name != "..");
        }
        let (pattern, name) = line.split_once(' ').unwrap_or((line, line));
        let _ = ftp_parse::glob_match(pattern, name);
        if !ftp_parse::has_glob(pattern) && !pattern.starts_with('.') {
            assert!(ftp_parse::glob_match(pattern, pattern) || pattern.contains(['\\']));
        }
        for parsed in [list::parse_list(line, now), list::parse_mlsd(line)] {
            if let Line::Entry(e) = parsed {
                assert!(!e.name.is_empty(), "{line:?}");
                if let Some(t) = e.modified {
                    let _ = list::rfc3339(t);
                }
            }
        }
        let shown = list::shown(line);
        assert!(!shown.chars().any(|c| c.is_control()), "{shown:?}");
        let _ = list::join(list::folder_path(line), n);
    }
}

/// `smtp-send -t`: the header read whole and at every buffer size, rewritten and read again;
/// its address fields; the body check fed at a split.
pub fn smtp(data: &[u8]) {
    for line in lines(data) {
        let value = String::from_utf8_lossy(line);
        if let Ok(addrs) = parse_address_list(&value) {
            for a in addrs {
                assert!(!a.is_empty() && !a.contains(['\r', '\n']), "{a:?}");
            }
        }
    }
    let whole = scan_header(data, true);
    if let Ok(Scanned::Done(h)) = &whole {
        assert!(h.bytes <= data.len());
        // Cut anywhere before its end, the header is incomplete or the same.
        for cut in (0..h.bytes).step_by(h.bytes / 16 + 1) {
            match scan_header(&data[..cut], false) {
                Ok(Scanned::More) | Err(_) => {}
                Ok(Scanned::Done(early)) => assert_eq!(&early, h, "cut at {cut}"),
            }
        }
        let _ = h.recipients();
        let _ = h.sender();
        let add = Additions {
            from: Some("Fuzz <fuzz@example.org>".into()),
            date: "Mon, 7 Dec 2026 21:00:00 +0000".into(),
            message_id: "<fuzz@example.org>".into(),
        };
        let rewritten = h.rewrite(&add);
        match scan_header(&rewritten, true) {
            Ok(Scanned::Done(again)) => {
                for name in ["From", "Date", "Message-ID"] {
                    assert!(again.has(name), "no {name} after the rewrite");
                }
                assert!(again.get("Bcc").is_none(), "Bcc kept");
            }
            other => panic!("the rewritten header does not scan: {other:?}"),
        }
    }
    let mut input = data;
    if let Ok((h, rest)) = read_header(&mut input, 1 << 16, "fuzz") {
        assert!(rest.len() + h.bytes <= data.len());
    }
    let at = data.first().map_or(0, |&b| usize::from(b)).min(data.len());
    for (lone_cr, eight) in [(false, false), (true, true)] {
        let mut check = BodyCheck::new(1, lone_cr, eight);
        let _ = check
            .check(&data[..at])
            .and_then(|()| check.check(&data[at..]))
            .and_then(|()| check.finish());
    }
}

/// POP3 status lines, CAPA, the APOP timestamp, STAT and the listings' lines.
pub fn pop3(data: &[u8]) {
    let all: Vec<&[u8]> = lines(data).collect();
    let capa = parse_capa(all.iter().copied());
    assert!(capa.sasl.iter().all(|m| *m == m.to_ascii_uppercase()));
    for line in all {
        if let Ok(r) = parse_pop3_line(line) {
            let _ = (r.text(), r.resp_code());
        }
        if let Some(ts) = apop_timestamp(line) {
            assert!(ts.starts_with('<') && ts.ends_with('>') && ts.contains('@'));
        }
        let _ = parse_stat(line);
        if let Some((n, word)) = scan_pair(line) {
            assert!(n > 0);
            let _ = valid_unique_id(word.as_bytes());
        }
    }
}

/// IMAP: each line's tokens, its untagged data and what is parsed from it; the whole input
/// as one FETCH response with its literals.
pub fn imap(data: &[u8]) {
    for line in lines(data) {
        let mut t = Tokens::new(line);
        for _ in 0..=line.len() {
            match t.next() {
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
        let text = line.strip_prefix(b"* ").unwrap_or(line);
        if let Ok(d) = imap_parse::parse_data(text) {
            let _ = format!("{d:?}");
        }
        if let Ok(mut uids) = imap_parse::parse_search(text) {
            uids.sort_unstable();
            uids.dedup();
            let _ = imap_parse::check_search(&uids, uids.first().copied(), 1);
            uid_sets(&uids);
        }
        let literal = line.ends_with(b"}").then(|| b"lit".to_vec());
        if let Ok(f) = imap_parse::parse_list(text, literal) {
            let _ = f.noselect;
        }
        let caps = imap_parse::parse_capabilities(text);
        if caps.imap4rev2 {
            assert!(caps.uidplus && caps.idle && caps.sasl_ir);
        }
        if let Some(list) = imap_parse::capability_code(text) {
            let _ = imap_parse::parse_capabilities(list);
        }
        let _ = imap_parse::code_number(text, "UIDVALIDITY");
        if let Some(d) = imap_parse::search_date(&String::from_utf8_lossy(line)) {
            assert!(d.len() <= 11, "{d:?}");
        }
        let _ = imap_parse::astring(&String::from_utf8_lossy(line));
    }
    fetch(data);
}

/// UID sets hold the UIDs in order, each within its bounds.
fn uid_sets(uids: &[u32]) {
    for (max_uids, max_len) in [(1, 20), (3, 12), (1000, 60)] {
        let sets = imap_parse::uid_sets(uids, max_uids, max_len);
        let members: Vec<u32> = sets.iter().flat_map(|(_, m)| m.iter().copied()).collect();
        assert_eq!(members, uids);
        for (text, m) in &sets {
            assert!(m.len() <= max_uids && !m.is_empty());
            assert!(text.len() <= max_len || !text.contains(','), "{text}");
        }
    }
}

/// One FETCH response fed as the client feeds it: the line, then the literal's octets
/// skipped, then the rest of the line, and so on.
fn fetch(data: &[u8]) {
    let mut p = FetchParser::new();
    let mut rest = data;
    for _ in 0..1000 {
        let end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .unwrap_or(rest.len());
        let piece = &rest[..end];
        rest = rest.get(end + 2..).unwrap_or(&[]);
        match p.feed(piece) {
            Ok(Next::Literal { len, .. }) => {
                let skip = usize::try_from(len).unwrap_or(usize::MAX).min(rest.len());
                rest = &rest[skip..];
            }
            Ok(Next::Done) | Err(_) => return,
        }
    }
}

/// Modified UTF-7: any text encodes to what decodes back to it; any name that decodes,
/// encoded again, decodes to the same text.
pub fn utf7(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let encoded = imap_parse::utf7_encode(&text);
    assert!(
        encoded.bytes().all(|b| (0x20..0x7f).contains(&b)),
        "{encoded:?}"
    );
    assert_eq!(
        imap_parse::utf7_decode(encoded.as_bytes()).as_deref(),
        Some(&*text),
        "{encoded:?}"
    );
    if let Some(decoded) = imap_parse::utf7_decode(data) {
        let again = imap_parse::utf7_encode(&decoded);
        assert_eq!(
            imap_parse::utf7_decode(again.as_bytes()).as_deref(),
            Some(&*decoded)
        );
    }
}
