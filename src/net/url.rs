//! Target URLs (docs/CONVENTIONS.md, "Targets are URLs"): scheme, user, password, host (IPv6
//! literals in brackets), port with the scheme's default, and the percent-decoded path.
//! An FTP path is relative to the login folder (curl's rule); `//abs/path` is absolute.

use crate::error::{Error, Kind, Result};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Ftp,
    Ftps,
    Smtp,
    Smtps,
    Pop3,
    Pop3s,
    Imap,
    Imaps,
}

impl Scheme {
    /// Every scheme the tools speak.
    pub const ALL: [Scheme; 8] = [
        Scheme::Ftp,
        Scheme::Ftps,
        Scheme::Smtp,
        Scheme::Smtps,
        Scheme::Pop3,
        Scheme::Pop3s,
        Scheme::Imap,
        Scheme::Imaps,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scheme::Ftp => "ftp",
            Scheme::Ftps => "ftps",
            Scheme::Smtp => "smtp",
            Scheme::Smtps => "smtps",
            Scheme::Pop3 => "pop3",
            Scheme::Pop3s => "pop3s",
            Scheme::Imap => "imap",
            Scheme::Imaps => "imaps",
        }
    }

    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Ftp => 21,
            Scheme::Ftps => 990,
            Scheme::Smtp => 25,
            Scheme::Smtps => 465,
            Scheme::Pop3 => 110,
            Scheme::Pop3s => 995,
            Scheme::Imap => 143,
            Scheme::Imaps => 993,
        }
    }

    /// TLS from the first byte (as opposed to an upgrade after connecting).
    pub fn implicit_tls(self) -> bool {
        matches!(
            self,
            Scheme::Ftps | Scheme::Smtps | Scheme::Pop3s | Scheme::Imaps
        )
    }

    /// For a scheme with TLS from the first byte, the hint for a server that answered in
    /// plaintext: which scheme reaches that port instead, and how it upgrades.
    pub fn plaintext_hint(self) -> Option<&'static str> {
        Some(match self {
            Scheme::Ftps => "is this a plain FTP port? ftp:// upgrades with AUTH TLS",
            Scheme::Smtps => {
                "is this a plain SMTP port, such as 25 or 587? smtp:// upgrades with STARTTLS"
            }
            Scheme::Pop3s => "is this a plain POP3 port? pop3:// upgrades with STLS",
            Scheme::Imaps => "is this a plain IMAP port? imap:// upgrades with STARTTLS",
            Scheme::Ftp | Scheme::Smtp | Scheme::Pop3 | Scheme::Imap => return None,
        })
    }

    fn parse(s: &str) -> Option<Scheme> {
        Some(match s {
            "ftp" => Scheme::Ftp,
            "ftps" => Scheme::Ftps,
            "smtp" => Scheme::Smtp,
            "smtps" => Scheme::Smtps,
            "pop3" => Scheme::Pop3,
            "pop3s" => Scheme::Pop3s,
            "imap" => Scheme::Imap,
            "imaps" => Scheme::Imaps,
            _ => return None,
        })
    }
}

/// A parsed target URL. `Display` shows it without the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Target {
    pub scheme: Scheme,
    /// Host name or IP address, without brackets.
    pub host: String,
    pub port: u16,
    pub user: Option<String>,
    pub password: Option<String>,
    /// Decoded path. For FTP: relative to the login folder unless it starts with `/`.
    pub path: String,
    /// curl's `;type=a` suffix on FTP URLs: ASCII transfer.
    pub ascii: bool,
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never let a password reach a log through {:?}.
        write!(f, "Target({self})")
    }
}

impl Target {
    /// Parses `url`, accepting only the schemes in `allowed`.
    pub fn parse(url: &str, allowed: &[Scheme]) -> Result<Target> {
        let bad = |why: &str| Error::new(Kind::Usage, format!("{}: {why}", redact(url)));
        let names: Vec<&str> = allowed.iter().map(|s| s.name()).collect();
        let (scheme_str, after_scheme) = url.split_once("://").ok_or_else(|| {
            bad(&format!(
                "not a URL (expected {}://...)",
                names.join("://, ")
            ))
        })?;
        let scheme = Scheme::parse(&scheme_str.to_ascii_lowercase())
            .filter(|s| allowed.contains(s))
            .ok_or_else(|| bad(&format!("unsupported scheme (use {})", names.join(", "))))?;
        if url.chars().any(|c| c.is_control()) {
            return Err(bad("control characters are not allowed in a URL"));
        }
        check_host(after_scheme).map_err(|why| bad(&why))?;
        let parsed = url::Url::parse(url).map_err(|e| match e {
            url::ParseError::IdnaError => bad("a host name must be ASCII: give an internationalised name in its xn-- form (as `idn2` prints it)"),
            e => bad(&e.to_string()),
        })?;
        if let Some(url::Host::Domain(d)) = parsed.host() {
            check_labels(d).map_err(|why| bad(&why))?;
        }
        let host = match parsed.host() {
            Some(url::Host::Domain(d)) if !d.is_empty() => decode(d, "host", url)?,
            Some(url::Host::Ipv4(a)) => a.to_string(),
            Some(url::Host::Ipv6(a)) => a.to_string(),
            _ => return Err(bad("no host name")),
        };
        let port = parsed.port().unwrap_or(scheme.default_port());
        let user = match parsed.username() {
            "" => None,
            u => Some(decode(u, "user name", url)?),
        };
        let password = match parsed.password() {
            None => None,
            Some(p) => Some(decode(p, "password", url)?),
        };
        let mut raw_path = parsed.path().to_string();
        let mut ascii = false;
        if matches!(scheme, Scheme::Ftp | Scheme::Ftps) {
            // curl's ";type=A|I|D" suffix.
            if let Some(i) = raw_path.rfind(";type=") {
                match &raw_path[i + 6..] {
                    "a" | "A" => ascii = true,
                    "i" | "I" | "d" | "D" => {}
                    _ => return Err(bad("unknown ;type= (use a or i)")),
                }
                raw_path.truncate(i);
            }
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(bad(
                "'?' and '#' must be percent-encoded in a path (%3F, %23)",
            ));
        }
        // The URL path starts with the '/' that separates it from the authority; what follows
        // is relative to the login folder. "//abs" or "/%2Fabs" is absolute.
        let rest = raw_path.strip_prefix('/').unwrap_or(&raw_path);
        let path = decode(rest, "path", url)?;
        Ok(Target {
            scheme,
            host,
            port,
            user,
            password,
            path,
            ascii,
        })
    }

    /// `host:port` for messages, IPv6 in brackets.
    pub fn authority(&self) -> String {
        super::display_host_port(&self.host, self.port)
    }

    /// The same server and login: transfers to it can share one control connection.
    pub fn same_session(&self, other: &Target) -> bool {
        self.scheme == other.scheme
            && self.host == other.host
            && self.port == other.port
            && self.user == other.user
            && self.password == other.password
    }

    /// This target with another path (same server and login).
    pub fn with_path(&self, path: String) -> Target {
        Target {
            path,
            ..self.clone()
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.scheme.name())?;
        if let Some(u) = &self.user {
            // (An `@` stays: the last one ends the user, and `ada@example.org@host` reads
            // better escaped nowhere.)
            write!(f, "{}@", encode_for_display(u, &['/', '\\', ':']))?;
        }
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        write!(f, "{host}")?;
        if self.port != self.scheme.default_port() {
            write!(f, ":{}", self.port)?;
        }
        // An FTP path's `;` is escaped: `;type=` in it would read as the suffix; and its
        // `\`, which the url crate reads as `/` under ftp:// (found by fuzzing).
        let also: &[char] = match self.scheme {
            Scheme::Ftp | Scheme::Ftps => &[';', '\\'],
            _ => &[],
        };
        write!(f, "/{}", encode_for_display(&self.path, also))
    }
}

/// Checks the host of a URL, from the text after its scheme's `:`, read as the url crate
/// reads it: tabs and line breaks dropped, past the slashes (and backslashes, for its special
/// schemes) and the last `@`, up to the path, query or fragment, its percent-escapes decoded.
/// The error is the reason, for a message.
///
/// - A non-ASCII host is refused before the url crate sees it: its IDNA code, with the
///   ASCII-only adapter this crate pins, asserts (in a debug build) that it is never handed an
///   upper-case ASCII letter beside a non-ASCII one, which `ftp://Bücher.example/` or
///   `https://B%C3%BCcher.example/` would do.
/// - An `xn--` label that decodes to an invisible character (a control, a bidirectional
///   mark or override, a zero-width character) is refused: such a name is made to look like
///   another one, and the ASCII-only adapter cannot judge it (idna asserts that it never sees
///   U+200F; found by fuzzing, fuzz/regressions/netrc_url/).
pub(crate) fn check_host(after_scheme: &str) -> std::result::Result<(), String> {
    let text: String = after_scheme
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    let rest = text.trim_start_matches(['/', '\\']);
    let authority = rest.split(['/', '\\', '?', '#']).next().unwrap_or(rest);
    let host = authority.rsplit('@').next().unwrap_or(authority);
    let host = percent_encoding::percent_decode_str(host).collect::<Vec<u8>>();
    if !host.is_ascii() {
        return Err(
            "a host name must be ASCII: give an internationalised name in its xn-- form (as `idn2` prints it)"
                .into(),
        );
    }
    let host = String::from_utf8_lossy(&host).to_ascii_lowercase();
    // Without the port (`host:21`, and the empty one of `host:`) and what the url crate
    // trims (spaces and controls at the end of a URL); an IPv6 literal has no labels.
    let host = host.split(':').next().unwrap_or_default();
    check_labels(host.trim_end_matches(|c: char| c <= ' '))
}

/// Refuses an `xn--` label of `host` that decodes to an invisible character. Called on
/// the text before the url crate parses it (its IDNA code asserts on U+200F) and on the
/// host it parsed, which is what is connected to: the first is a best effort at reading
/// a URL as the url crate would, the second is the check.
pub(crate) fn check_labels(host: &str) -> std::result::Result<(), String> {
    for label in host.split('.') {
        let Some(encoded) = label
            .get(..4)
            .filter(|p| p.eq_ignore_ascii_case("xn--"))
            .map(|_| &label[4..])
        else {
            continue;
        };
        // Punycode that does not decode is the url crate's to refuse.
        let Some(decoded) = idna::punycode::decode_to_string(encoded) else {
            continue;
        };
        if let Some(c) = decoded.chars().find(|&c| invisible(c)) {
            return Err(format!(
                "host label {} decodes to an invisible character (U+{:04X}), as a look-alike name would",
                crate::wire::transcript::printable(label),
                c as u32
            ));
        }
    }
    Ok(())
}

/// Controls, bidirectional marks, embeddings, overrides and isolates, and zero-width
/// characters: what makes one host name look like another.
fn invisible(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}' | '\u{E0000}'..='\u{E007F}')
}

/// Percent-escapes what would make a shown URL ambiguous or unprintable, and the characters
/// of `also` (in a user name, what would end it: `/`, `\\`, `:`).
fn encode_for_display(s: &str, also: &[char]) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            c if c.is_control() || matches!(c, ' ' | '%' | '?' | '#') || also.contains(&c) => {
                let mut b = [0u8; 4];
                for byte in c.encode_utf8(&mut b).bytes() {
                    out.push_str(&format!("%{byte:02X}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// Decodes %XX escapes; every `%` must start one, and the result must be UTF-8 and free of
/// CR, LF and NUL, which could otherwise inject protocol commands.
fn decode(s: &str, what: &str, url: &str) -> Result<String> {
    let bad = |why: &str| Error::new(Kind::Usage, format!("{}: {what}: {why}", redact(url)));
    let b = s.as_bytes();
    let well_formed = b.iter().enumerate().all(|(i, &c)| {
        c != b'%'
            || b.get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
    });
    if !well_formed {
        return Err(bad("bad percent-escape"));
    }
    let out: Vec<u8> = percent_encoding::percent_decode(b).collect();
    if out.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0) {
        return Err(bad("CR, LF and NUL are not allowed"));
    }
    String::from_utf8(out).map_err(|_| bad("not valid UTF-8 after decoding"))
}

/// The URL as given, with any password replaced, for error messages. Everything between
/// `scheme://user:` and the last `@` counts as the password, so that one containing `/`,
/// `?` or `#` (which end the authority when parsed) is hidden whole.
pub fn redact(url: &str) -> String {
    let Some(i) = url.find("://") else {
        return url.to_string();
    };
    let (scheme, rest) = (&url[..i], &url[i + 3..]);
    let Some(at) = rest.rfind('@') else {
        return url.to_string();
    };
    match rest[..at].find(':') {
        Some(colon) => format!("{scheme}://{}:****@{}", &rest[..colon], &rest[at + 1..]),
        None => url.to_string(),
    }
}

/// Redacts every URL in a free text (a command-line parser's message quoting an argument):
/// each `scheme://...` up to the next white space or quote goes through [`redact`].
pub fn redact_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        // The URL starts at the scheme: the letters right before "://".
        // (Past the character found, whatever its length: it may be any character.)
        let start = rest[..i]
            .char_indices()
            .rfind(|&(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
            .map_or(0, |(j, c)| j + c.len_utf8());
        let end = rest[i..]
            .find(|c: char| c.is_whitespace() || matches!(c, '\'' | '"' | '`'))
            .map_or(rest.len(), |j| i + j);
        out.push_str(&rest[..start]);
        out.push_str(&redact(&rest[start..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const FTP: &[Scheme] = &[Scheme::Ftp, Scheme::Ftps];

    #[test]
    fn ftp_url_with_everything() {
        let t = Target::parse("ftp://us%40er:p%3Ass@example.com:2121/dir/a%20b.txt", FTP).unwrap();
        assert_eq!(t.scheme, Scheme::Ftp);
        assert_eq!(t.host, "example.com");
        assert_eq!(t.port, 2121);
        assert_eq!(t.user.as_deref(), Some("us@er"));
        assert_eq!(t.password.as_deref(), Some("p:ss"));
        assert_eq!(t.path, "dir/a b.txt");
        assert_eq!(t.to_string(), "ftp://us@er@example.com:2121/dir/a%20b.txt");
        // A user name holding what would end it is shown escaped, so that the URL shown
        // names the same user and host (found by fuzzing: `u%2Fx@h` was shown `u/x@h`).
        for (url, shown) in [
            ("pop3://u%2Fx@h.example", "pop3://u%2Fx@h.example/"),
            ("pop3://u%3Ax@h.example", "pop3://u%3Ax@h.example/"),
            ("pop3://u%5Cx@h.example", "pop3://u%5Cx@h.example/"),
            (
                "ftp://h.example/a;type=b;type=a",
                "ftp://h.example/a%3Btype=b",
            ),
            // A backslash in an FTP file name: `\` in an ftp:// URL reads as `/`.
            ("ftp://h.example/a%5Cb", "ftp://h.example/a%5Cb"),
            ("pop3://h.example/a%5Cb", "pop3://h.example/a\\b"),
        ] {
            let all = [Scheme::Pop3, Scheme::Ftp];
            let t = Target::parse(url, &all).unwrap();
            assert_eq!(t.to_string(), shown);
            let again = Target::parse(shown, &all).unwrap();
            assert_eq!(
                Target {
                    ascii: t.ascii,
                    ..again
                },
                t
            );
        }
    }

    #[test]
    fn default_ports_and_ipv6() {
        let t = Target::parse("ftps://[::1]/x", FTP).unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 990));
        assert_eq!(t.authority(), "[::1]:990");
        let t = Target::parse("ftp://[::1]:2121/", FTP).unwrap();
        assert_eq!((t.port, t.path.as_str()), (2121, ""));
        let t = Target::parse("ftp://127.0.0.1/f", FTP).unwrap();
        assert_eq!(t.port, 21);
    }

    #[test]
    fn absolute_paths_curl_style() {
        assert_eq!(Target::parse("ftp://h//etc/x", FTP).unwrap().path, "/etc/x");
        assert_eq!(
            Target::parse("ftp://h/%2Fetc/x", FTP).unwrap().path,
            "/etc/x"
        );
        assert_eq!(Target::parse("ftp://h/etc/x", FTP).unwrap().path, "etc/x");
    }

    #[test]
    fn type_suffix() {
        let t = Target::parse("ftp://h/a.txt;type=a", FTP).unwrap();
        assert!(t.ascii);
        assert_eq!(t.path, "a.txt");
        for binary in ["i", "I", "d", "D"] {
            let t = Target::parse(&format!("ftp://h/a.bin;type={binary}"), FTP).unwrap();
            assert!(!t.ascii && t.path == "a.bin", "{binary}");
        }
        assert!(Target::parse("ftp://h/a.txt;type=x", FTP).is_err());
    }

    /// One control connection serves targets of the same scheme, host, port, user and
    /// password, whatever their paths.
    #[test]
    fn a_session_is_shared_only_by_the_same_login() {
        let t = |url: &str| Target::parse(url, FTP).unwrap();
        let a = t("ftp://u:p@h:21/a");
        assert!(a.same_session(&t("ftp://u:p@h/b")));
        assert_eq!(a.with_path("b".into()), t("ftp://u:p@h/b"));
        for other in [
            "ftps://u:p@h:21/a",
            "ftp://u:p@g:21/a",
            "ftp://u:p@h:2121/a",
            "ftp://v:p@h:21/a",
            "ftp://u:q@h:21/a",
        ] {
            assert!(!a.same_session(&t(other)), "{other}");
        }
    }

    /// Every scheme by its name, with its port and, for those with TLS from the first
    /// byte, the hint given when a plain server answers.
    #[test]
    fn every_scheme_parses_by_its_name() {
        for scheme in Scheme::ALL {
            let t = Target::parse(&format!("{}://h/", scheme.name()), &Scheme::ALL).unwrap();
            assert_eq!((t.scheme, t.port), (scheme, scheme.default_port()));
            let hint = scheme.plaintext_hint();
            assert_eq!(hint.is_some(), scheme.implicit_tls(), "{scheme:?}");
            if let Some(hint) = hint {
                let plain = scheme.name().trim_end_matches('s');
                assert!(hint.contains(&format!(" {plain}:// upgrades")), "{hint}");
            }
        }
        // Shown without its password, even by {:?}.
        let t = Target::parse("pop3s://u:secret@h/", &Scheme::ALL).unwrap();
        assert_eq!(format!("{t:?}"), "Target(pop3s://u@h/)");
        // No host name at all.
        for url in ["smtp:///", "imap://", "ftp://u@:21/"] {
            assert!(Target::parse(url, &Scheme::ALL).is_err(), "{url}");
        }
    }

    #[test]
    fn refuses_injection_and_bad_input() {
        for bad in [
            "ftp://h/a%0d%0aDELE%20x",
            "ftp://h/a%00",
            "ftp://u%0a@h/",
            "ftp://h/%ff",
            "ftp://h/%zz",
            "http://h/x",
            "h/x",
            "ftp://",
            "ftp://h/a?b",
        ] {
            let e = Target::parse(bad, FTP).unwrap_err();
            assert_eq!(e.exit_code(), 64, "{bad}: {e}");
        }
    }

    #[test]
    fn host_names_are_ascii() {
        let e = Target::parse("ftp://bücher.example/x", FTP).unwrap_err();
        assert_eq!(e.exit_code(), 64);
        assert!(e.to_string().contains("xn-- form"), "{e}");
        let t = Target::parse("ftp://xn--bcher-kva.example/x", FTP).unwrap();
        assert_eq!(t.host, "xn--bcher-kva.example");
        // Upper-case letters beside a non-ASCII one: the same refusal, not a panic in the
        // url crate's IDNA adapter (found by fuzzing, in a debug build).
        for url in [
            "ftp://Bücher.example/x",
            "ftp://u:p@EXAMPLE\u{fffd}/x",
            "ftp://Bücher\\@x/y",
            "ftp://B%C3%BCcher.example/",
        ] {
            let e = Target::parse(url, FTP).unwrap_err();
            assert!(e.to_string().contains("xn-- form"), "{e}");
        }
    }

    #[test]
    fn xn_labels_that_decode_to_invisible_characters_are_refused() {
        // A right-to-left mark, an override, a zero-width joiner, a C1 control: each hidden in an
        // xn-- label (idna asserts it never sees U+200F, with the ASCII-only adapter).
        for hidden in ['\u{200F}', '\u{202E}', '\u{200D}', '\u{85}'] {
            let label = idna::punycode::encode_str(&format!("ab{hidden}cd")).unwrap();
            for url in [
                format!("ftp://xn--{label}.example/x"),
                format!("ftp://u@XN--{}/x", label.to_uppercase()),
                format!("ftps:///xn--{label}/x"),
                format!("ftp://xn--{label}:21/x"),
                // An empty port is no port, a space at the end no part of the host (found
                // by fuzzing).
                format!("ftp:///xn--{label}://"),
                format!("ftp:///xn--{label} "),
            ] {
                let e = Target::parse(&url, &[Scheme::Ftp, Scheme::Ftps]).unwrap_err();
                assert_eq!(e.exit_code(), 64, "{url}: {e}");
                let hex = format!("U+{:04X}", hidden as u32);
                assert!(e.to_string().contains(&hex), "{url}: {e}");
            }
        }
        // A real name in its xn-- form still parses.
        let t = Target::parse("ftp://xn--bcher-kva.xn--p1ai/x", FTP).unwrap();
        assert_eq!(t.host, "xn--bcher-kva.xn--p1ai");
    }

    #[test]
    fn errors_never_show_the_password() {
        let e = Target::parse("ftp://u:secret@h/%zz", FTP).unwrap_err();
        assert!(!e.to_string().contains("secret"), "{e}");
        // A '/', '?' or '#' in the password ends the authority when the URL is parsed: the
        // message must still hide all of it.
        for url in [
            "ftp://bob:Sup3r/Secret@host/",
            "ftp://bob:Sup3r?Secret@host/",
            "ftp://bob:Sup3r#Secret@host/",
            "ftp://bob:Sup3r/Se@cret@host/x",
        ] {
            let e = Target::parse(url, FTP).unwrap_err();
            let shown = e.to_string();
            assert!(
                !shown.contains("Secret") && !shown.contains("Sup3r"),
                "{shown}"
            );
            assert!(!shown.contains("cret"), "{shown}");
        }
        assert_eq!(
            redact_text("unexpected argument 'ftp://bob:pw/x@h/f' found; see ftps://a:b@c"),
            "unexpected argument 'ftp://bob:****@h/f' found; see ftps://a:****@c"
        );
        assert_eq!(redact_text("no url here"), "no url here");
        // A character of several bytes right before the scheme (found by fuzzing: the
        // scheme's start was cut inside it).
        assert_eq!(
            redact_text("é\u{fffd}ftp://u:pw@h/ and ©smtp://x"),
            "é\u{fffd}ftp://u:****@h/ and ©smtp://x"
        );
        let t = Target::parse("ftp://u:secret@h/x", FTP).unwrap();
        assert!(!format!("{t} {t:?}").contains("secret"));
    }
}
