//! Pure parsers for FTP replies and listings, each tested with its malformed cases:
//! PASV (RFC 959) and EPSV (RFC 2428) addresses, FEAT (RFC 2389), MDTM times and MLSD
//! facts (RFC 3659), NLST names, and client-side glob matching.

use crate::util::calendar::DateTime;
use std::time::SystemTime;

/// The port of a `227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)` reply, and the address the
/// server claims (which we ignore: data goes to the control connection's peer, CVE-2020-8284).
pub fn parse_pasv(text: &str) -> Option<([u8; 4], u16)> {
    // Find the first run of six comma-separated numbers; servers differ on the parentheses.
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() && (i == 0 || !bytes[i - 1].is_ascii_digit()) {
            if let Some(nums) = six_numbers(&text[i..]) {
                let ip = [nums[0], nums[1], nums[2], nums[3]];
                let port = u16::from(nums[4]) << 8 | u16::from(nums[5]);
                return (port != 0).then_some((ip, port));
            }
        }
        i += 1;
    }
    None
}

fn six_numbers(s: &str) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    let mut parts = s.split(',');
    for (k, slot) in out.iter_mut().enumerate() {
        let p = parts.next()?.trim();
        let digits: &str = if k == 5 {
            let end = p.find(|c: char| !c.is_ascii_digit()).unwrap_or(p.len());
            &p[..end]
        } else {
            p
        };
        if digits.is_empty() || digits.len() > 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *slot = digits.parse().ok()?;
    }
    Some(out)
}

/// The port of a `229 Entering Extended Passive Mode (|||port|)` reply (any delimiter
/// character in 33..=126, used four times as RFC 2428 section 3 says).
pub fn parse_epsv(text: &str) -> Option<u16> {
    let open = text.find('(')?;
    let inner = &text[open + 1..];
    let close = inner.find(')')?;
    let inner = &inner[..close];
    let d = inner.chars().next()?;
    if !(33..=126).contains(&(d as u32)) || d.is_ascii_digit() {
        return None;
    }
    let parts: Vec<&str> = inner.split(d).collect();
    // "|||6446|" splits into ["", "", "", "6446", ""].
    if parts.len() != 5 || !parts[0].is_empty() || !parts[1].is_empty() || !parts[2].is_empty() {
        return None;
    }
    if !parts[4].is_empty() || parts[3].is_empty() || !parts[3].bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    parts[3].parse().ok().filter(|&p| p != 0)
}

/// What the server said it supports in its FEAT reply (RFC 2389).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Features {
    /// FEAT itself worked: absence of a feature then means it is missing.
    pub listed: bool,
    pub utf8: bool,
    pub epsv: bool,
    pub size: bool,
    pub mdtm: bool,
    pub rest_stream: bool,
    pub mlsd: bool,
    pub auth_tls: bool,
}

/// Parses the lines of a 211 FEAT reply (the first and last lines are not features).
pub fn parse_features(lines: &[String]) -> Features {
    let mut f = Features {
        listed: true,
        ..Default::default()
    };
    let n = lines.len();
    for line in lines.iter().take(n.saturating_sub(1)).skip(1) {
        let mut words = line.split_whitespace();
        let name = words.next().unwrap_or("").to_ascii_uppercase();
        let arg = words.next().unwrap_or("").to_ascii_uppercase();
        match name.as_str() {
            "UTF8" => f.utf8 = true,
            "EPSV" => f.epsv = true,
            "SIZE" => f.size = true,
            "MDTM" => f.mdtm = true,
            "REST" if arg == "STREAM" => f.rest_stream = true,
            "MLST" => f.mlsd = true,
            "AUTH" if arg.split(';').any(|a| a == "TLS" || a == "SSL") => f.auth_tls = true,
            _ => {}
        }
    }
    f
}

/// An RFC 3659 time-val, `YYYYMMDDHHMMSS`, in UTC (whole seconds).
pub fn format_time_val(t: SystemTime) -> String {
    let t = DateTime::from_system(t);
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

/// Parses an RFC 3659 time-val, `YYYYMMDDHHMMSS[.sss]`, always UTC.
pub fn parse_time_val(s: &str) -> Option<SystemTime> {
    let s = s.trim();
    let (main, frac) = match s.split_once('.') {
        Some((m, f)) => (m, Some(f)),
        None => (s, None),
    };
    if main.len() != 14 || !main.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let num = |a: usize, b: usize| main[a..b].parse::<u32>().ok();
    let t = DateTime::new(
        i64::from(num(0, 4)?),
        num(4, 6)?,
        num(6, 8)?,
        num(8, 10)?,
        num(10, 12)?,
        num(12, 14)?,
    )?;
    let nanos = match frac {
        Some(f) if !f.is_empty() && f.len() <= 9 && f.bytes().all(|b| b.is_ascii_digit()) => {
            f.parse::<u32>().ok()? * 10u32.pow(9 - f.len() as u32)
        }
        Some(_) => return None,
        None => 0,
    };
    t.to_system(nanos)
}

/// The folder in a PWD reply, `257 "/a ""quoted"" name" is the current directory`
/// (RFC 959 appendix II: a quote in the name is doubled). `None` without a quoted name.
pub fn parse_pwd(text: &str) -> Option<String> {
    let rest = &text[text.find('"')? + 1..];
    let mut name = String::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '"' {
            if chars.peek() == Some(&'"') {
                chars.next();
                name.push('"');
            } else {
                return (!name.is_empty()).then_some(name);
            }
        } else {
            name.push(c);
        }
    }
    None
}

/// The last component of an NLST line: some servers answer `NLST dir` with `dir/name`.
/// A line with a ".." component is no such prefix: it is kept whole, to be refused rather
/// than silently fetched under another name.
pub fn nlst_name(line: &str) -> &str {
    if line.split('/').any(|c| c == "..") {
        return line;
    }
    line.rsplit('/').next().unwrap_or(line)
}

/// Whether a path component holds glob characters.
#[cfg(feature = "cli")]
pub fn has_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Shell-style matching of one name: `*`, `?`, `[abc]`, `[a-z]`, `[!x]`. A leading '.' is
/// only matched by a pattern that starts with '.', as in the shell.
#[cfg(feature = "cli")]
pub fn glob_match(pattern: &str, name: &str) -> bool {
    if name.starts_with('.') && !pattern.starts_with('.') {
        return false;
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    glob_at(&p, &n)
}

#[cfg(feature = "cli")]
fn glob_at(p: &[char], n: &[char]) -> bool {
    // Iterative with one backtrack point for '*': linear in practice, no recursion blow-up.
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, ni));
                    pi += 1;
                    continue;
                }
                '?' => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                '[' => {
                    if let Some((matched, len)) = class_match(&p[pi..], n[ni]) {
                        if matched {
                            pi += len;
                            ni += 1;
                            continue;
                        }
                    } else if n[ni] == '[' {
                        pi += 1;
                        ni += 1;
                        continue;
                    }
                }
                c if c == n[ni] => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, sn)) => {
                pi = sp + 1;
                ni = sn + 1;
                star = Some((sp, sn + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Matches `c` against the bracket expression at the start of `p`; returns whether it
/// matched and the expression's length, or `None` if `p` holds no closed expression.
#[cfg(feature = "cli")]
fn class_match(p: &[char], c: char) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(p.get(i), Some('!') | Some('^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < p.len() {
        if p[i] == ']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
            if p[i] <= c && c <= p[i + 2] {
                matched = true;
            }
            i += 3;
        } else {
            if p[i] == c {
                matched = true;
            }
            i += 1;
        }
    }
    None
}

/// A remote name is safe to create locally when it cannot escape the destination folder:
/// not empty, not `.` or `..`, no `/` or `\`, no control characters.
#[cfg(feature = "cli")]
pub fn safe_local_name(name: &str) -> Result<&str, &'static str> {
    if name.is_empty() || name == "." || name == ".." {
        return Err("not a usable file name");
    }
    if name.contains(['/', '\\']) {
        return Err("contains a path separator");
    }
    if name.chars().any(|c| c.is_control()) {
        return Err("contains control characters");
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn time_vals_round_trip() {
        for s in [
            "19700101000000",
            "20200229235959",
            "20261202120000",
            "99991231235959",
        ] {
            assert_eq!(format_time_val(parse_time_val(s).unwrap()), s);
        }
    }

    #[test]
    fn pasv_forms() {
        assert_eq!(
            parse_pasv("Entering Passive Mode (127,0,0,1,195,80)."),
            Some(([127, 0, 0, 1], 50000))
        );
        assert_eq!(parse_pasv("=10,1,2,3,4,5"), Some(([10, 1, 2, 3], 1029)));
        assert_eq!(
            parse_pasv("Entering Passive Mode 1,2,3,4,0,21"),
            Some(([1, 2, 3, 4], 21))
        );
        for bad in [
            "",
            "(1,2,3,4,5)",
            "(1,2,3,4,5,x)",
            "(256,0,0,1,1,1)",
            "(1,2,3,4,0,0)",
            "(1,2,3,4,1000,1)",
        ] {
            assert_eq!(parse_pasv(bad), None, "{bad}");
        }
    }

    #[test]
    fn epsv_forms() {
        assert_eq!(
            parse_epsv("Entering Extended Passive Mode (|||6446|)"),
            Some(6446)
        );
        assert_eq!(parse_epsv("ok (!!!21!)"), Some(21));
        for bad in [
            "",
            "(|||)",
            "(||6446|)",
            "(|||6446)",
            "(|||x|)",
            "(|||0|)",
            "(|||70000|)",
            "(1113331)",
            "(|1|::1|5|)",
        ] {
            assert_eq!(parse_epsv(bad), None, "{bad}");
        }
    }

    #[test]
    fn features() {
        let lines: Vec<String> = [
            "Extensions supported:",
            " EPSV",
            " MDTM",
            " REST STREAM",
            " SIZE",
            " UTF8",
            " MLST type*;size*;",
            " AUTH TLS",
            "End",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let f = parse_features(&lines);
        assert!(
            f.listed
                && f.epsv
                && f.mdtm
                && f.rest_stream
                && f.size
                && f.utf8
                && f.mlsd
                && f.auth_tls
        );
        let f = parse_features(&["x".into(), " REST".into(), "End".into()]);
        assert!(!f.rest_stream && !f.size);
    }

    #[test]
    fn pwd_replies() {
        assert_eq!(
            parse_pwd("\"/home/u\" is the current directory").as_deref(),
            Some("/home/u")
        );
        assert_eq!(
            parse_pwd("\"/a \"\"q\"\" b\" created").as_deref(),
            Some("/a \"q\" b")
        );
        for bad in ["no quotes", "\"unterminated", "\"\" empty"] {
            assert_eq!(parse_pwd(bad), None, "{bad}");
        }
    }

    #[test]
    fn time_vals() {
        let t = parse_time_val("20200102030405").unwrap();
        assert_eq!(
            t.duration_since(UNIX_EPOCH).unwrap().as_secs(),
            1_577_934_245
        );
        assert!(parse_time_val("20200229120000").is_some(), "a leap day");
        assert!(parse_time_val("20000229120000").is_some(), "400 years");
        assert!(parse_time_val("20211231235960").is_some(), "a leap second");
        let t = parse_time_val("19700101000000.5").unwrap();
        assert_eq!(t.duration_since(UNIX_EPOCH).unwrap().as_millis(), 500);
        for bad in [
            "",
            "2020010203040",
            "20201302030405",
            "2020010203040x",
            "20200102030405.",
            "19690101000000",
            "20210231120000",
            "20210229120000",
            "21000229120000",
            "20210431120000",
            "20210100120000",
        ] {
            assert_eq!(parse_time_val(bad), None, "{bad}");
        }
    }

    #[test]
    fn globs() {
        assert!(glob_match("*.csv", "a.csv"));
        assert!(!glob_match("*.csv", "a.csv.gz"));
        assert!(glob_match("a?c", "abc"));
        assert!(glob_match("[ab]*", "b1"));
        assert!(!glob_match("[!ab]*", "b1"));
        assert!(glob_match("[a-c]x", "bx"));
        assert!(!glob_match("*", ".hidden"));
        assert!(glob_match(".*", ".hidden"));
        assert!(glob_match("*a*a*a*", "aXaYa"));
        assert!(glob_match("[", "["));
        assert!(glob_match("ü*", "ünïcode.txt"));
        assert!(!glob_match(&"*a".repeat(20), &"a".repeat(19)));
    }

    #[test]
    fn local_names() {
        assert!(safe_local_name("a.txt").is_ok());
        for bad in ["", ".", "..", "a/b", "..\\x", "a\nb", "x\u{7f}"] {
            assert!(safe_local_name(bad).is_err(), "{bad:?}");
        }
        assert_eq!(nlst_name("dir/a.csv"), "a.csv");
        assert_eq!(nlst_name("../evil.csv"), "../evil.csv");
        assert_eq!(nlst_name("a/../../x.csv"), "a/../../x.csv");
    }
}
