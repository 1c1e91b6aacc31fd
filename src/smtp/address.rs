//! RFC 5322 address lists (section 3.4) as `-t` reads them from To, Cc, Bcc and their
//! `Resent-` forms: the addr-specs only, whatever surrounds them. Pure.
//!
//! Handles display names (atoms, quoted strings, encoded-words), angle addresses with an
//! obsolete source route (`<@relay:ada@example.com>`, RFC 5322 4.4), groups, empty ones
//! included (`undisclosed-recipients:;`), quoted local parts (`"a b"@example.com`),
//! comments, nested and escaped (`ada@example.com (Ada (the first))`), domain literals and
//! folded lines (the CRLF or LF before white space is white space).

use std::fmt;

/// Why an address list cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadAddress(pub String);

impl fmt::Display for BadAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A lexical token of an address list.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A run of atext (RFC 5322 3.2.3), non-ASCII allowed (RFC 6532).
    Atom(String),
    /// A quoted string, with its quotes and escapes as written.
    Quoted(String),
    /// A domain literal, with its brackets.
    Literal(String),
    /// One of `< > , : ; @ .`
    Special(char),
    /// White space (or a folded line) between tokens; comments count as white space too.
    Space,
}

fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || !c.is_ascii()
}

fn tokens(value: &str) -> Result<Vec<Token>, BadAddress> {
    let mut out = Vec::new();
    let mut chars = value.chars().peekable();
    let space = |out: &mut Vec<Token>| {
        if !matches!(out.last(), Some(Token::Space) | None) {
            out.push(Token::Space);
        }
    };
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\r' | '\n' => space(&mut out),
            '(' => {
                let mut depth = 1;
                while depth > 0 {
                    match chars.next() {
                        Some('\\') => {
                            chars.next();
                        }
                        Some('(') => depth += 1,
                        Some(')') => depth -= 1,
                        Some(_) => {}
                        None => return Err(BadAddress("a comment is not closed".into())),
                    }
                }
                space(&mut out);
            }
            '"' => {
                let mut q = String::from('"');
                loop {
                    match chars.next() {
                        Some('\\') => {
                            q.push('\\');
                            match chars.next() {
                                Some(e) => q.push(e),
                                None => {
                                    return Err(BadAddress("a quoted string is not closed".into()));
                                }
                            }
                        }
                        Some('"') => break,
                        // A folded line inside a quoted string unfolds to its white space.
                        Some('\r' | '\n') => {}
                        Some(c) => q.push(c),
                        None => return Err(BadAddress("a quoted string is not closed".into())),
                    }
                }
                q.push('"');
                out.push(Token::Quoted(q));
            }
            '[' => {
                let mut l = String::from('[');
                loop {
                    match chars.next() {
                        Some(']') => break,
                        Some('[' | '\\') | None => {
                            return Err(BadAddress("a domain literal is not closed".into()));
                        }
                        Some(' ' | '\t' | '\r' | '\n') => {}
                        Some(c) => l.push(c),
                    }
                }
                l.push(']');
                out.push(Token::Literal(l));
            }
            '<' | '>' | ',' | ':' | ';' | '@' | '.' => out.push(Token::Special(c)),
            c if is_atext(c) => {
                let mut a = String::from(c);
                while let Some(&n) = chars.peek() {
                    if !is_atext(n) {
                        break;
                    }
                    a.push(n);
                    chars.next();
                }
                out.push(Token::Atom(a));
            }
            c => {
                return Err(BadAddress(format!(
                    "unexpected character {:?} in an address list",
                    c
                )));
            }
        }
    }
    Ok(out)
}

/// An addr-spec from its tokens (white space and comments around dots and `@` are
/// obsolete syntax, and dropped): `local@domain`, or a bare local part (`root`, as cron
/// writes it), which is passed on for the server to judge.
fn addr_spec(toks: &[Token]) -> Result<String, BadAddress> {
    let mut out = String::new();
    let mut prev_word = false;
    let mut ats = 0;
    for t in toks {
        match t {
            Token::Space => continue,
            Token::Atom(s) | Token::Quoted(s) | Token::Literal(s) => {
                if prev_word {
                    return Err(BadAddress(format!(
                        "{:?} is not an address (a display name without <address>?)",
                        words(toks)
                    )));
                }
                out.push_str(s);
                prev_word = true;
            }
            Token::Special(c @ ('.' | '@')) => {
                if *c == '@' {
                    ats += 1;
                }
                out.push(*c);
                prev_word = false;
            }
            Token::Special(c) => {
                return Err(BadAddress(format!("unexpected {c:?} in an address")));
            }
        }
    }
    let bad = |why: &str| Err(BadAddress(format!("{why}: {out:?}")));
    if ats > 1 {
        return bad("more than one @ in an address");
    }
    if let Some((local, domain)) = out.rsplit_once('@') {
        if local.is_empty() || domain.is_empty() {
            return bad("an address needs a local part and a domain");
        }
    }
    if out.starts_with('.') || out.ends_with('.') || out.contains("..") || out.contains(".@") {
        return bad("misplaced dot in an address");
    }
    Ok(out)
}

fn words(toks: &[Token]) -> String {
    let mut s = String::new();
    for t in toks {
        match t {
            Token::Atom(w) | Token::Quoted(w) | Token::Literal(w) => s.push_str(w),
            Token::Special(c) => s.push(*c),
            Token::Space => s.push(' '),
        }
    }
    s.trim().to_string()
}

/// The addresses of an RFC 5322 address list (a To, Cc or Bcc field's value, folded lines
/// and all), in order: each mailbox's addr-spec, the members of groups. An empty list, or
/// only empty groups, is no address and no error.
pub fn parse_address_list(value: &str) -> Result<Vec<String>, BadAddress> {
    let toks = tokens(value)?;
    let mut out = Vec::new();
    let mut in_group = false;
    // Tokens of the current mailbox (or group name) since the last `,`, `:` or `;`.
    let mut item: Vec<Token> = Vec::new();
    let mut angle: Option<String> = None;
    let mut i = 0;
    let finish = |item: &mut Vec<Token>,
                  angle: &mut Option<String>,
                  out: &mut Vec<String>|
     -> Result<(), BadAddress> {
        match angle.take() {
            Some(a) => {
                if item.iter().any(|t| *t != Token::Space) {
                    return Err(BadAddress(format!("text after <{a}>: {:?}", words(item))));
                }
                out.push(a);
            }
            None => {
                if item.iter().any(|t| *t != Token::Space) {
                    out.push(addr_spec(item)?);
                }
            }
        }
        item.clear();
        Ok(())
    };
    while i < toks.len() {
        match &toks[i] {
            Token::Special('<') => {
                if angle.is_some() {
                    return Err(BadAddress("two <addresses> in one mailbox".into()));
                }
                // The display name (anything) goes; the address is up to `>`.
                let close = toks[i..]
                    .iter()
                    .position(|t| *t == Token::Special('>'))
                    .ok_or_else(|| BadAddress("a < is not closed by >".into()))?;
                let inner = &toks[i + 1..i + close];
                // Obsolete route: `@a,@b:` before the address.
                let inner = match inner.iter().rposition(|t| *t == Token::Special(':')) {
                    Some(p) if inner.first().is_some_and(|t| *t == Token::Special('@')) => {
                        &inner[p + 1..]
                    }
                    _ => inner,
                };
                let a = addr_spec(inner)?;
                if a.is_empty() {
                    // `<>` is the null reverse-path, never a recipient.
                    return Err(BadAddress("an empty <> in an address list".into()));
                }
                if item.iter().any(|t| {
                    !matches!(
                        t,
                        Token::Atom(_) | Token::Quoted(_) | Token::Space | Token::Special('.')
                    )
                }) {
                    return Err(BadAddress(format!(
                        "{:?} is not a display name",
                        words(&item)
                    )));
                }
                angle = Some(a);
                item.clear();
                i += close + 1;
                continue;
            }
            Token::Special('>') => return Err(BadAddress("a > without its <".into())),
            Token::Special(':') if angle.is_none() && !in_group => {
                // What came before was the group's display name.
                item.clear();
                in_group = true;
            }
            Token::Special(',') => finish(&mut item, &mut angle, &mut out)?,
            Token::Special(';') if in_group => {
                finish(&mut item, &mut angle, &mut out)?;
                in_group = false;
            }
            t => item.push(t.clone()),
        }
        i += 1;
    }
    if in_group {
        return Err(BadAddress("a group is not closed by ;".into()));
    }
    finish(&mut item, &mut angle, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(v: &str) -> Vec<String> {
        parse_address_list(v).unwrap_or_else(|e| panic!("{v:?}: {e}"))
    }

    #[test]
    fn plain_and_named_mailboxes() {
        assert_eq!(ok("ada@example.com"), ["ada@example.com"]);
        assert_eq!(
            ok("Ada Lovelace <ada@example.com>, bob@example.org"),
            ["ada@example.com", "bob@example.org"]
        );
        assert_eq!(
            ok("\"Lovelace, Ada\" <ada@example.com>,\"B <b@x>\" <bob@example.org>"),
            ["ada@example.com", "bob@example.org"]
        );
        assert_eq!(
            ok("=?UTF-8?B?w4lsb2RpZQ==?= <elodie@example.fr>"),
            ["elodie@example.fr"]
        );
        assert_eq!(ok("Élodie <élodie@exemple.fr>"), ["élodie@exemple.fr"]);
        assert_eq!(ok("<ada@example.com>"), ["ada@example.com"]);
        // cron's `To: root`: a local name, passed on.
        assert_eq!(ok("root"), ["root"]);
        assert_eq!(ok("root (Cron Daemon)"), ["root"]);
    }

    #[test]
    fn groups_empty_or_not() {
        assert!(ok("undisclosed-recipients:;").is_empty());
        assert!(ok("undisclosed-recipients: ;").is_empty());
        assert!(ok("").is_empty());
        assert!(ok("  ").is_empty());
        assert_eq!(
            ok("Team: ada@example.com, Bob <bob@example.org>;, carol@example.net"),
            ["ada@example.com", "bob@example.org", "carol@example.net"]
        );
        assert_eq!(ok("a@x, Friends:;, b@y"), ["a@x", "b@y"]);
        assert!(parse_address_list("Team: a@x").is_err());
    }

    #[test]
    fn quoted_local_parts_comments_literals() {
        assert_eq!(ok("\"a b\"@example.com"), ["\"a b\"@example.com"]);
        assert_eq!(ok("\"a\\\"b\"@example.com"), ["\"a\\\"b\"@example.com"]);
        assert_eq!(
            ok("ada@example.com (Ada (the first), \\) really)"),
            ["ada@example.com"]
        );
        assert_eq!(ok("(lead) ada @ example . com"), ["ada@example.com"]);
        assert_eq!(ok("x <ops@[192.0.2.1]>"), ["ops@[192.0.2.1]"]);
        assert_eq!(ok("<@relay.example:ada@example.com>"), ["ada@example.com"]);
        assert_eq!(
            ok("<@a.example,@b.example:ada@example.com>"),
            ["ada@example.com"]
        );
    }

    #[test]
    fn folded_lines_unfold() {
        assert_eq!(
            ok("Ada Lovelace\r\n <ada@example.com>,\r\n\tbob@example.org,\n carol@example.net"),
            ["ada@example.com", "bob@example.org", "carol@example.net"]
        );
        assert_eq!(ok("\"Love\r\n lace\" <ada@x>"), ["ada@x"]);
    }

    #[test]
    fn malformed_lists_are_refused() {
        for bad in [
            "Ada Lovelace",
            "ada@x <b@y>",
            "<ada@x",
            "ada@x>",
            "\"open",
            "(open",
            "a@b@c",
            "@x",
            "a@",
            "a..b@x",
            ".a@x",
            "<>",
            "<a@x> <b@y>",
            "a@x \"junk\"",
            "a@[x",
            // Only a route starting with @ is cut off before the colon.
            "<a:b@x>",
            // Semicolons end groups only; a group inside a group is not one.
            "a@x; b@y",
            "G: a@x, H: b@y;",
            "<a@x>:;",
            "<a@x>junk",
        ] {
            assert!(parse_address_list(bad).is_err(), "{bad:?} was accepted");
        }
        // Empty items between commas are tolerated (RFC 5322 4.4 obs-addr-list).
        assert_eq!(ok("a@x,,b@y,"), ["a@x", "b@y"]);
        assert_eq!(ok("<a@x> , b@y"), ["a@x", "b@y"]);
        // The messages name what is wrong, white space as written once.
        let err = |v: &str| parse_address_list(v).unwrap_err().to_string();
        assert_eq!(
            err("  Ada   Lovelace "),
            "\"Ada Lovelace\" is not an address (a display name without <address>?)"
        );
        assert_eq!(err("<a@x> (c) junk"), "text after <a@x>: \"junk\"");
        assert_eq!(
            err("\u{7}"),
            "unexpected character '\\u{7}' in an address list"
        );
        assert_eq!(err("]"), "unexpected character ']' in an address list");
    }
}
