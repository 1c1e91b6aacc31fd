//! smtp-send's `--aliases FILE`: msmtp's aliases file, which maps a local name (one without
//! `@`, as cron and other local programs write them: `root`) to the addresses its mail goes
//! to. Pure: the caller reads the file (`config::read_text`) and checks each
//! address as it checks any other.
//!
//! ```text
//! # a comment, from # to the end of the line
//! root: ops@example.com, ada@example.com
//! www-data: web@example.com
//! default: admin@example.com    # every local name not listed above
//! ```
//!
//! As msmtp: a name is looked up whatever its case (as sendmail folds it), `default` stands
//! for every name not listed, and the addresses found are not looked up again (one level: an
//! alias to another local name gives that name, which `--maildomain` may then complete).

/// An aliases file, parsed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Aliases {
    /// Each local name (in lower case) with its addresses and the line of each.
    entries: Vec<(String, Vec<Target>)>,
}

/// An address an alias maps to, with the line it is written on (from 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub addr: String,
    pub line: usize,
}

/// Why a line of an aliases file cannot be read: its number (from 1) and what is wrong.
#[derive(Debug, PartialEq, Eq)]
pub struct BadLine {
    pub line: usize,
    pub why: String,
}

impl Aliases {
    /// Parses the text of an aliases file. Pure.
    pub fn parse(text: &str) -> Result<Aliases, BadLine> {
        let mut entries: Vec<(String, Vec<Target>)> = Vec::new();
        // The names seen, for the check of each new one: a scan of `entries` made a 1 MiB
        // file (90,000 names) a minute's work before anything was sent.
        let mut seen = std::collections::HashSet::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let bad = |why: String| BadLine { line, why };
            let content = raw.split_once('#').map_or(raw, |(before, _)| before).trim();
            if content.is_empty() {
                continue;
            }
            let Some((name, addrs)) = content.split_once(':') else {
                return Err(bad(format!(
                    "{content:?} has no ':' (a line is NAME: ADDRESS, ADDRESS...)"
                )));
            };
            let name = name.trim();
            if name.is_empty() || name.contains(|c: char| c == '@' || c.is_whitespace()) {
                return Err(bad(format!(
                    "{name:?} is not a local name (one word without @)"
                )));
            }
            let key = name.to_lowercase();
            if !seen.insert(key.clone()) {
                return Err(bad(format!("{name:?} is given on an earlier line too")));
            }
            let mut targets = Vec::new();
            for addr in addrs.split(',').map(str::trim) {
                if addr.is_empty() {
                    return Err(bad(format!("{name}: an empty address")));
                }
                // sendmail's files and commands: msmtp's aliases are addresses only.
                if addr.starts_with(['|', '/']) || addr.starts_with(":include:") {
                    return Err(bad(format!(
                        "{name}: {addr:?} is not an address (files, commands and :include: \
                         are for a local MTA, not for a relay)"
                    )));
                }
                targets.push(Target {
                    addr: addr.to_string(),
                    line,
                });
            }
            entries.push((key, targets));
        }
        Ok(Aliases { entries })
    }

    /// Every address of every alias, to check them all before anything is sent.
    pub fn targets(&self) -> impl Iterator<Item = &Target> {
        self.entries.iter().flat_map(|(_, t)| t)
    }

    /// The addresses `rcpt` goes to: itself when it has an `@` or no alias (nor `default`)
    /// names it; else its alias's addresses, not looked up again. Pure.
    pub fn expand(&self, rcpt: &str) -> Vec<String> {
        if rcpt.contains('@') {
            return vec![rcpt.to_string()];
        }
        let find = |key: &str| self.entries.iter().find(|(k, _)| k == key);
        match find(&rcpt.to_lowercase()).or_else(|| find("default")) {
            Some((_, targets)) => targets.iter().map(|t| t.addr.clone()).collect(),
            None => vec![rcpt.to_string()],
        }
    }
}

/// `name@domain` for a name without `@` (`--maildomain`); any other address as it is. Pure.
pub fn qualify(addr: &str, domain: Option<&str>) -> String {
    match domain {
        Some(d) if !addr.contains('@') && !addr.is_empty() => format!("{addr}@{d}"),
        _ => addr.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "\
# aliases for cron
root: ops@example.com, ada@example.com  # both get it

Www-Data :web@example.com
postmaster: root
default: admin@example.com
";

    #[test]
    fn a_local_name_is_replaced_by_its_addresses_once() {
        let a = Aliases::parse(FILE).unwrap();
        assert_eq!(a.expand("root"), ["ops@example.com", "ada@example.com"]);
        // Whatever its case, as sendmail folds names.
        assert_eq!(a.expand("ROOT"), ["ops@example.com", "ada@example.com"]);
        assert_eq!(a.expand("www-data"), ["web@example.com"]);
        // One level: postmaster's alias is root, which is not looked up again.
        assert_eq!(a.expand("postmaster"), ["root"]);
        // An address is no local name, even when its local part is listed.
        assert_eq!(a.expand("root@example.org"), ["root@example.org"]);
    }

    #[test]
    fn default_stands_for_every_name_not_listed() {
        let a = Aliases::parse(FILE).unwrap();
        assert_eq!(a.expand("backup"), ["admin@example.com"]);
        let a = Aliases::parse("root: ops@example.com\n").unwrap();
        assert_eq!(a.expand("backup"), ["backup"]);
        assert_eq!(Aliases::parse("").unwrap().expand("root"), ["root"]);
    }

    #[test]
    fn every_address_is_kept_with_its_line() {
        let a = Aliases::parse(FILE).unwrap();
        let lines: Vec<(&str, usize)> = a.targets().map(|t| (t.addr.as_str(), t.line)).collect();
        assert_eq!(
            lines,
            [
                ("ops@example.com", 2),
                ("ada@example.com", 2),
                ("web@example.com", 4),
                ("root", 5),
                ("admin@example.com", 6)
            ]
        );
    }

    #[test]
    fn a_bad_line_is_named_by_its_number() {
        let err = |text: &str| Aliases::parse(text).unwrap_err();
        let e = err("root: a@x\n\nops a@x\n");
        assert_eq!(e.line, 3);
        assert_eq!(
            e.why,
            "\"ops a@x\" has no ':' (a line is NAME: ADDRESS, ADDRESS...)"
        );
        assert_eq!(
            err("a@x: b@y").why,
            "\"a@x\" is not a local name (one word without @)"
        );
        assert_eq!(
            err(": b@y").why,
            "\"\" is not a local name (one word without @)"
        );
        assert_eq!(err("root: a@x,, b@y").why, "root: an empty address");
        assert_eq!(err("root:").why, "root: an empty address");
        let e = err("root: a@x\nRoot: b@y");
        assert_eq!(
            (e.line, e.why.as_str()),
            (2, "\"Root\" is given on an earlier line too")
        );
        for sendmail in [
            "|/usr/bin/procmail",
            "/var/mail/root",
            ":include:/etc/staff",
        ] {
            assert!(
                err(&format!("root: {sendmail}"))
                    .why
                    .contains("is not an address"),
                "{sendmail}"
            );
        }
    }

    #[test]
    fn a_name_given_twice_is_found_among_many() {
        let mut text: String = (0..90_000).map(|i| format!("n{i}: a@x\n")).collect();
        text.push_str("N17: b@y\n");
        let e = Aliases::parse(&text).unwrap_err();
        assert_eq!(
            (e.line, e.why.as_str()),
            (90_001, "\"N17\" is given on an earlier line too")
        );
    }

    #[test]
    fn a_domain_completes_a_bare_name_only() {
        assert_eq!(qualify("root", Some("example.com")), "root@example.com");
        assert_eq!(qualify("a@x.org", Some("example.com")), "a@x.org");
        assert_eq!(qualify("root", None), "root");
        assert_eq!(qualify("", Some("example.com")), "");
    }
}
