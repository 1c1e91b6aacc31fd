//! What is read from files, users and non-mail servers: the mboxrd codec, the MIME
//! encoders (checked by mail-parser as the decoder), proxies (URLs, `no_proxy`, the SOCKS5
//! and HTTP CONNECT replies), netrc and URLs, the config file with its account checks and
//! the files it imports, aliases, the state file, OAuth2's JSON.

use super::{Mem, lines};
use crate::deliver::MessageInfo;
use crate::deliver::mbox::{FromQuoter, MboxrdMessage, from_line, return_path};
use crate::mime::Eol;
use crate::mime::base64::{LINE_BYTES, encode_lines};
use crate::mime::header::{fold, param_tokens, unstructured};
use crate::mime::qp::QpEncoder;
use crate::net::proxy::{self, Dest, NoProxy, Proxies, Proxy};
use crate::net::url::Scheme;
use std::time::{Duration, UNIX_EPOCH};

/// mboxrd quoting at a split of the input, undone (one `>` off each `>*From ` line), gives
/// the input back; a whole message has one `From ` line, its first.
pub fn mbox(data: &[u8]) {
    let at = data.first().map_or(0, |&b| usize::from(b)).min(data.len());
    let mut q = FromQuoter::default();
    let mut out = Vec::new();
    q.encode(&data[..at], &mut out);
    q.encode(&data[at..], &mut out);
    let ended = q.finish(&mut out);
    assert_eq!(ended, data.is_empty() || data.ends_with(b"\n"));
    assert_eq!(unquote(&out), data);
    for line in out.split(|&b| b == b'\n') {
        assert!(!line.starts_with(b"From "), "an unquoted From line");
    }

    let info = MessageInfo {
        size: None,
        id: None,
        received: UNIX_EPOCH + Duration::from_secs(1_796_212_800),
    };
    let mut m = MboxrdMessage::new(&info);
    let mut entry = Vec::new();
    m.encode(&data[..at], &mut entry);
    m.encode(&data[at..], &mut entry);
    m.finish(&mut entry);
    assert!(entry.starts_with(b"From ") && entry.ends_with(b"\n\n"));
    let from_lines = entry
        .split(|&b| b == b'\n')
        .filter(|l| l.starts_with(b"From "))
        .count();
    assert_eq!(from_lines, 1, "{}", String::from_utf8_lossy(&entry));
    if let Some(sender) = return_path(data) {
        let line = from_line(Some(&sender), info.received);
        assert!(
            line.ends_with('\n') && line.matches('\n').count() == 1,
            "{line:?}"
        );
        assert_eq!(line.split_whitespace().count(), 7, "{line:?}");
    }
}

/// mboxrd's reading: a line `>+From ` loses one `>`.
fn unquote(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for (i, line) in text.split(|&b| b == b'\n').enumerate() {
        if i > 0 {
            out.push(b'\n');
        }
        let gts = line.iter().take_while(|&&b| b == b'>').count();
        if gts > 0 && line[gts..].starts_with(b"From ") {
            out.extend_from_slice(&line[1..]);
        } else {
            out.extend_from_slice(line);
        }
    }
    out
}

/// The MIME encoders through mail-parser: base64 and quoted-printable bodies decode to the
/// input, the first line as a Subject and as a file name decode to itself.
pub fn mime(data: &[u8]) {
    let text: String = String::from_utf8_lossy(lines(data).next().unwrap_or_default())
        .chars()
        .take(300)
        .collect();
    let mut b64 = Vec::new();
    for (i, chunk) in data.chunks(LINE_BYTES * 3).enumerate() {
        if encode_lines(chunk, Eol::CrLf, i == 0, &mut b64).is_err() {
            panic!("base64 refused its input");
        }
    }
    let at = data.first().map_or(0, |&b| usize::from(b)).min(data.len());
    let mut q = QpEncoder::new(Eol::CrLf);
    let mut qp = Vec::new();
    q.encode(&data[..at], &mut qp);
    q.encode(&data[at..], &mut qp);
    q.finish(&mut qp);
    for line in qp.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        assert!(line.len() <= 76, "a QP line of {} characters", line.len());
        assert!(
            line.iter()
                .all(|&b| b == b' ' || b == b'\t' || (33..=126).contains(&b))
        );
    }
    let subject = fold("Subject", &unstructured("Subject", &text)).join("\r\n");
    let name = param_tokens("filename", &text).join("\r\n");
    let mut msg = Vec::new();
    msg.extend_from_slice(b"From: fuzz@example.org\r\nMIME-Version: 1.0\r\n");
    msg.extend_from_slice(subject.as_bytes());
    msg.extend_from_slice(
        b"\r\nContent-Type: multipart/mixed; boundary=\"=_fuzz\"\r\n\r\n--=_fuzz\r\n\
          Content-Type: application/octet-stream\r\nContent-Disposition: attachment;",
    );
    msg.extend_from_slice(name.as_bytes());
    msg.extend_from_slice(b"\r\nContent-Transfer-Encoding: base64\r\n\r\n");
    msg.extend_from_slice(&b64);
    msg.extend_from_slice(
        b"\r\n--=_fuzz\r\nContent-Type: application/octet-stream\r\n\
          Content-Transfer-Encoding: quoted-printable\r\n\r\n",
    );
    msg.extend_from_slice(&qp);
    msg.extend_from_slice(b"\r\n--=_fuzz--\r\n");
    let Some(parsed) = mail_parser::MessageParser::default().parse(&msg[..]) else {
        panic!("mail-parser cannot read the message");
    };
    let parts: Vec<&[u8]> = parsed.parts.iter().skip(1).map(|p| p.contents()).collect();
    assert_eq!(parts.len(), 2, "{}", String::from_utf8_lossy(&msg));
    assert_eq!(parts[0], data, "base64");
    assert_eq!(parts[1], crlf_lines(data), "quoted-printable");
    // Compared word by word: mail-parser makes one space of the white space it unfolds.
    let words = |s: &str| {
        s.split([' ', '\t'])
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let plain = text.trim_matches([' ', '\t']);
    if !plain.is_empty() && !plain.chars().any(char::is_control) {
        let got = parsed.subject().map(words);
        assert_eq!(got.as_deref(), Some(&*words(plain)), "{subject}");
    }
}

/// Line ends (LF, CRLF) as CRLF, as quoted-printable's hard breaks carry them.
fn crlf_lines(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    for (i, &b) in data.iter().enumerate() {
        if b == b'\n' && (i == 0 || data[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

/// Proxy settings from the first lines (a URL, a `no_proxy` list, a host) and a proxy's
/// replies, the rest of the input, to SOCKS5 and HTTP CONNECT.
pub fn proxy(data: &[u8]) {
    let mut it = data.splitn(4, |&b| b == b'\n');
    let (url, noproxy, host) = (
        String::from_utf8_lossy(it.next().unwrap_or_default()),
        String::from_utf8_lossy(it.next().unwrap_or_default()),
        String::from_utf8_lossy(it.next().unwrap_or_default()),
    );
    let reply = it.next().unwrap_or_default();
    let np = NoProxy::parse(&noproxy);
    let _ = np.matches(&host);
    if let Ok(p) = Proxy::parse(&url, "--proxy") {
        let shown = p.to_string();
        assert!(!shown.contains('\n'), "{shown:?}");
    }
    let env = |name: &str| (name == "all_proxy").then(|| url.to_string());
    if let Ok(all) = Proxies::new(None, Some(&noproxy), env) {
        let _ = all.route(Scheme::Imaps, &host);
        let _ = all.route_https(&host);
    }
    for text in [
        "socks5h://user:pw@proxy.example",
        "socks5://proxy.example",
        "http://proxy.example:3128",
    ] {
        let Ok(p) = Proxy::parse(text, "--proxy") else {
            unreachable!("a constant URL");
        };
        let dest = Dest::Name("mail.example.org", 993);
        let mut s = Mem::new(reply, 7);
        let _ = match text.starts_with("socks") {
            true => proxy::socks5_connect(&mut s, &p, dest).is_ok(),
            false => proxy::http_connect(&mut s, &p, dest).is_ok(),
        };
        let mut s = Mem::new(reply, usize::MAX);
        let ip = Dest::Ip(std::net::Ipv4Addr::LOCALHOST.into(), 21);
        let _ = proxy::socks5_connect(&mut s, &p, ip).is_ok();
    }
}

pub use cli::{config, netrc_url, oauth2};

mod cli {
    use crate::cli::account::check_config;
    use crate::cli::aliases::{Aliases, qualify};
    use crate::cli::config::{from_text, parse};
    use crate::cli::import::{mbsync, mpop, msmtp};
    use crate::cli::oauth2::cache::Tokens;
    use crate::cli::oauth2::device::DeviceCode;
    use crate::cli::oauth2::endpoint::{Answer, decode};
    use crate::cli::oauth2::expires_at;
    use crate::net::url::{Scheme, Target, redact, redact_text};
    use std::path::Path;

    /// The config file (parsed and checked as an account file, readable by others and not),
    /// the files `--import` reads (their output must be a config file), aliases, the state
    /// file. The first byte picks which.
    pub fn config(data: &[u8]) {
        let Some((&sel, rest)) = data.split_first() else {
            return;
        };
        let text = String::from_utf8_lossy(rest);
        match sel % 4 {
            0 => {
                for others in [None, Some(0o644)] {
                    if let Ok(cfg) = from_text(Path::new("/fuzz/config.toml"), &text, others) {
                        let _ = check_config(&cfg);
                    }
                }
            }
            1 => {
                if let Ok(rc) = msmtp::parse(&text) {
                    if let Ok(i) = msmtp::convert(&rc) {
                        imported(&i.render("/fuzz/msmtprc", "--import-msmtp"));
                    }
                    if let Ok(i) = mpop::convert(&rc) {
                        imported(&i.render("/fuzz/mpoprc", "--import-mpop"));
                    }
                }
            }
            2 => {
                if let Ok(rc) = mbsync::parse(&text) {
                    if let Ok(i) = mbsync::convert(&rc) {
                        imported(&i.render("/fuzz/mbsyncrc", "--import-mbsync"));
                    }
                }
            }
            _ => {
                if let Ok(a) = Aliases::parse(&text) {
                    for t in a.targets() {
                        assert!(!t.addr.is_empty());
                    }
                    for name in ["root", "postmaster", "default", "x@y"] {
                        for addr in a.expand(name) {
                            let _ = qualify(&addr, Some("example.org"));
                        }
                    }
                }
                let _ = crate::uidls::parse(&text, "state file");
            }
        }
    }

    /// What an import writes is a config file: TOML that parses.
    fn imported(text: &str) {
        if let Err(why) = parse(text) {
            panic!("an import that is no TOML ({why}):\n{text}");
        }
    }

    /// netrc lookups for the input's first line as host and user, URLs in every scheme (a
    /// parsed URL shown again parses to the same target), redaction.
    pub fn netrc_url(data: &[u8]) {
        let text = String::from_utf8_lossy(data);
        let first = text.lines().next().unwrap_or_default();
        let (host, user) = first.split_once(' ').unwrap_or((first, ""));
        let _ = crate::netrc::lookup(&text, host, None);
        let _ = crate::netrc::lookup(&text, host, Some(user));
        let all = Scheme::ALL;
        for line in text.lines() {
            if let Ok(t) = Target::parse(line, &all) {
                let shown = t.to_string();
                // No password field is shown: the user part has no `:` (a user's own is
                // escaped).
                let authority = shown.split('/').nth(2).unwrap_or_default();
                let user = authority.rsplit_once('@').map_or("", |(u, _)| u);
                assert!(!user.contains(':'), "{shown:?} shows a password");
                // A host is shown as it was decoded (`u%20n` as `u n`, which fails later as
                // a name that does not resolve): only a plain one parses back.
                let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':');
                if t.password.is_none() && t.host.chars().all(plain) {
                    // (`;type=a` is not shown.)
                    match Target::parse(&shown, &all) {
                        Ok(again) => assert_eq!(
                            Target {
                                ascii: t.ascii,
                                ..again
                            },
                            t,
                            "{line:?} shown as {shown:?}"
                        ),
                        Err(e) => panic!("{line:?} shown as {shown:?}, which fails: {e}"),
                    }
                }
                let _ = (t.authority(), t.same_session(&t));
            }
            let _ = redact(line);
            let _ = redact_text(line);
        }
    }

    /// OAuth2: an endpoint's answer for each status, a device code's and a token's JSON,
    /// the token cache.
    pub fn oauth2(data: &[u8]) {
        for status in [200, 400, 401, 500] {
            if let Ok(Answer::Granted(m)) = decode("token endpoint", status, data, &["s3cret"]) {
                let _ = DeviceCode::from_json("device endpoint", &m);
                let at = expires_at(1_796_212_800, &m);
                assert!(at >= 1_796_212_800);
            }
        }
        let _ = serde_json::from_slice::<Tokens>(data);
    }
}
