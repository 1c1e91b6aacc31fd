//! A `.netrc` reader following curl's format and matching rules: `machine`, `default`,
//! `login`, `password`, `account` and `macdef` tokens; double-quoted tokens with `\"`, `\\`,
//! `\n`, `\r`, `\t` escapes; the first `machine` entry for the host (and, when a user name is
//! already known, with that login: an entry without one gives no password to a login
//! named elsewhere) wins; `default` applies when no machine matched.

/// What a netrc entry supplies.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Machine {
    pub login: Option<String>,
    pub password: Option<String>,
}

/// Splits the file into tokens, skipping `macdef` bodies (up to the next empty line).
fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    let mut in_macdef = false;
    let mut line_start = true;
    while let Some(&c) = chars.peek() {
        if in_macdef {
            // A macro body ends at an empty line.
            chars.next();
            if c == '\n' {
                if line_start {
                    in_macdef = false;
                }
                line_start = true;
            } else {
                line_start = false;
            }
            continue;
        }
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        if c == '#' {
            // Comments: '#' where a token would start, to the end of the line (as curl).
            for c in chars.by_ref() {
                if c == '\n' {
                    break;
                }
            }
            continue;
        }
        let mut tok = String::new();
        if c == '"' {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => match chars.next() {
                        Some('n') => tok.push('\n'),
                        Some('r') => tok.push('\r'),
                        Some('t') => tok.push('\t'),
                        Some(o) => tok.push(o),
                        None => break,
                    },
                    o => tok.push(o),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                tok.push(c);
                chars.next();
            }
        }
        let was_macdef = out.last().is_some_and(|t: &String| t == "macdef");
        out.push(tok);
        if was_macdef {
            // Skip the rest of the macdef line, then the body.
            for c in chars.by_ref() {
                if c == '\n' {
                    break;
                }
            }
            in_macdef = true;
            line_start = true;
        }
    }
    out
}

/// Finds the credentials for `host`, and for `user` when the user name is already known.
pub fn lookup(text: &str, host: &str, user: Option<&str>) -> Option<Machine> {
    let toks = tokens(text);
    let mut i = 0;
    let mut default: Option<Machine> = None;
    while i < toks.len() {
        let (is_default, matches) = match toks[i].as_str() {
            "machine" => {
                let name = toks.get(i + 1)?;
                i += 2;
                (false, name.eq_ignore_ascii_case(host))
            }
            "default" => {
                i += 1;
                (true, true)
            }
            _ => {
                i += 1;
                continue;
            }
        };
        let mut entry = Machine::default();
        while i < toks.len() && toks[i] != "machine" && toks[i] != "default" {
            let value = toks.get(i + 1).cloned();
            match toks[i].as_str() {
                "login" => entry.login = value,
                "password" => entry.password = value,
                "account" | "macdef" => {}
                _ => {
                    i += 1;
                    continue;
                }
            }
            i += 2;
        }
        if !matches {
            continue;
        }
        let login_ok = match (user, &entry.login) {
            (Some(u), Some(l)) => u == l,
            (Some(_), None) => false,
            (None, _) => true,
        };
        if !login_ok {
            continue;
        }
        if is_default {
            default.get_or_insert(entry);
        } else {
            return Some(entry);
        }
    }
    default
}

#[cfg(test)]
mod tests {
    use super::*;

    const RC: &str = "# comment\n\
        machine ftp.example.com login alice password \"s3 cr\\\"et\"\n\
        machine ftp.example.com\n  login bob\n  password bobpw\n\
        macdef init\ncd /pub\nbin\n\n\
        machine other login carol password cpw account x\n\
        default login anonymous password me@example.com\n";

    #[test]
    fn first_machine_wins_without_user() {
        let e = lookup(RC, "FTP.example.com", None).unwrap();
        assert_eq!(e.login.as_deref(), Some("alice"));
        assert_eq!(e.password.as_deref(), Some("s3 cr\"et"));
    }

    #[test]
    fn user_selects_the_entry() {
        let e = lookup(RC, "ftp.example.com", Some("bob")).unwrap();
        assert_eq!(e.password.as_deref(), Some("bobpw"));
        let e = lookup(RC, "other", Some("carol")).unwrap();
        assert_eq!(e.password.as_deref(), Some("cpw"));
    }

    #[test]
    fn default_applies_when_nothing_else_does() {
        let e = lookup(RC, "elsewhere", None).unwrap();
        assert_eq!(e.login.as_deref(), Some("anonymous"));
        // A user that matches neither the host's entries nor default's login: nothing.
        assert_eq!(lookup(RC, "ftp.example.com", Some("zed")), None);
        assert_eq!(lookup("", "h", None), None);
    }

    #[test]
    fn an_entry_without_a_login_gives_no_password_to_a_named_one() {
        let rc =
            "machine h password anyone\nmachine h login bob password bobs\ndefault password d\n";
        assert_eq!(
            lookup(rc, "h", Some("bob")).unwrap().password.as_deref(),
            Some("bobs")
        );
        assert_eq!(lookup(rc, "h", Some("carol")), None);
        assert_eq!(lookup(rc, "other", Some("carol")), None);
        // Without a user name, the first entry for the host still wins, as curl has it.
        assert_eq!(
            lookup(rc, "h", None).unwrap().password.as_deref(),
            Some("anyone")
        );
    }

    #[test]
    fn macdef_bodies_are_skipped() {
        let rc = "machine a login u password p\nmacdef x\nmachine evil password bad\n\nmachine b login v password q\n";
        assert_eq!(lookup(rc, "evil", None), None);
        assert_eq!(
            lookup(rc, "b", None).unwrap().password.as_deref(),
            Some("q")
        );
    }

    #[test]
    fn a_macdef_body_that_looks_like_entries_is_skipped() {
        // Indented body lines, a body that is empty (the macdef line then an empty line),
        // and what follows a macdef's name on its line: none of it is an entry.
        let rc = "macdef a machine evil1 password bad\n  machine evil2 password bad\n\n\
                  macdef b\n\nmachine h login u password p\n";
        assert_eq!(lookup(rc, "evil1", None), None);
        assert_eq!(lookup(rc, "evil2", None), None);
        assert_eq!(
            lookup(rc, "h", None).unwrap().password.as_deref(),
            Some("p")
        );
    }

    #[test]
    fn a_comment_runs_to_the_end_of_its_line() {
        let rc = "# machine evil password bad\nmachine h # login x\n login u password p\n";
        assert_eq!(lookup(rc, "evil", None), None);
        let e = lookup(rc, "h", None).unwrap();
        assert_eq!(e.login.as_deref(), Some("u"));
        assert_eq!(e.password.as_deref(), Some("p"));
    }

    #[test]
    fn account_and_macdef_values_are_not_keywords() {
        // The value after `account` (or a macro's name) is a value, whatever its text.
        for rc in [
            "machine h login u password p account machine\n",
            "machine h login u account password password p\n",
            "machine h login u password p macdef default\n\n",
        ] {
            let e = lookup(rc, "h", None).unwrap_or_else(|| panic!("{rc:?}"));
            assert_eq!(e.login.as_deref(), Some("u"), "{rc:?}");
            assert_eq!(e.password.as_deref(), Some("p"), "{rc:?}");
        }
    }

    #[test]
    fn truncated_files_do_not_panic() {
        for rc in [
            "machine",
            "machine h login",
            "machine h password",
            "\"unterminated",
            "default",
        ] {
            let _ = lookup(rc, "h", None);
        }
    }
}
