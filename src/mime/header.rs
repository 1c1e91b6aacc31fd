//! Header fields: validation against injection, RFC 2047 encoded-words, RFC 2231 parameters,
//! mailbox lists, and folding at 78 columns (RFC 5322 2.1.1, 2.2.3). All pure.
//!
//! A header is built as tokens: the first is the start of the field body, every later one
//! begins with the whitespace that separates it from the one before. Folding puts a line
//! break before that whitespace, so unfolding (removing the line breaks) gives the value back.

use crate::error::{Error, Kind, Result};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// Folded lines stay within this many characters where the tokens allow.
pub const FOLD_AT: usize = 78;
/// RFC 5322 2.1.1: no line may be longer than 998 characters, CRLF excluded.
pub const MAX_LINE: usize = 998;
/// The longest Content-ID that fits its line, `Content-ID: <ID>`.
pub const MAX_CID: usize = MAX_LINE - "Content-ID: <>".len();
/// The longest charset name that fits its line, `Content-Type: text/plain; charset=CS`.
pub const MAX_CHARSET: usize = MAX_LINE - "Content-Type: text/plain; charset=".len();
/// RFC 2047 2: an encoded-word is at most 75 characters.
pub const MAX_ENCODED_WORD: usize = 75;
const EW_OVERHEAD: usize = "=?UTF-8?B??=".len();

/// Refuses a flag value holding CR or LF (or NUL): it would end the header and start another.
/// File names are checked too, as bytes: they may not be UTF-8.
pub fn no_line_breaks(flag: &str, value: impl AsRef<std::ffi::OsStr>) -> Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let value = value.as_ref();
    if value.as_bytes().iter().any(|b| b"\r\n\0".contains(b)) {
        return Err(Error::new(
            Kind::Usage,
            format!(
                "{flag}: a line break is not allowed in this value (header injection?): {}",
                elide(&format!("{value:?}"))
            ),
        ));
    }
    Ok(())
}

/// RFC 5322 3.6.8: field-name = 1*ftext, printable ASCII except `:`. Longer than 76 could
/// not share a line with its value.
pub fn is_field_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 76
        && name.bytes().all(|b| (33..=126).contains(&b) && b != b':')
}

/// Folds `tokens` into lines (without line endings) of `Name: value`.
pub fn fold(name: &str, tokens: &[String]) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = format!("{name}:");
    let mut bare = true; // nothing after the colon yet
    for (i, tok) in tokens.iter().enumerate() {
        if i == 0 {
            if !tok.is_empty() {
                line.push(' ');
                line.push_str(tok);
                bare = false;
            }
            continue;
        }
        if !bare && line.len() + tok.len() > FOLD_AT {
            lines.push(std::mem::take(&mut line));
        }
        line.push_str(tok);
        bare = false;
    }
    lines.push(line);
    lines
}

/// Folds like [`fold`], and refuses (64, naming `flag`) a field that would still have a line
/// longer than [`MAX_LINE`]: one of its words cannot be broken.
pub fn fold_checked(flag: &str, name: &str, tokens: &[String]) -> Result<Vec<String>> {
    let lines = fold(name, tokens);
    if let Some(long) = lines.iter().find(|l| l.len() > MAX_LINE) {
        return Err(Error::new(
            Kind::Usage,
            format!(
                "{flag}: too long to fold into header lines of at most {MAX_LINE} characters (RFC 5322 2.1.1): {:?}",
                elide(long.trim_start())
            ),
        ));
    }
    Ok(lines)
}

/// A long value shortened for an error message: its start and its end around `…`.
pub fn elide(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= 80 {
        return s.to_string();
    }
    let head: String = chars[..50].iter().collect();
    let tail: String = chars[chars.len() - 20..].iter().collect();
    format!("{head}…{tail}")
}

/// RFC 2047 B encoded-words for `text`, each at most 75 characters and holding whole UTF-8
/// characters; the first fits in `first_room` columns when it can, the rest in 77 (after
/// the folding space). Later words begin with a space.
pub fn encoded_words(text: &str, first_room: usize) -> Vec<String> {
    let mut words = Vec::new();
    let mut rest = text;
    let mut room = first_room.clamp(EW_OVERHEAD + 4, MAX_ENCODED_WORD);
    loop {
        // base64 of n bytes is 4 * ceil(n / 3) characters.
        let max_bytes = (room - EW_OVERHEAD) / 4 * 3;
        let mut cut = 0;
        for (i, c) in rest.char_indices() {
            if i + c.len_utf8() > max_bytes {
                break;
            }
            cut = i + c.len_utf8();
        }
        if cut == 0 {
            // A character longer than the room cannot happen (4 bytes <= 6), but never loop.
            cut = rest.chars().next().map_or(rest.len(), char::len_utf8);
        }
        let (head, tail) = rest.split_at(cut);
        let sep = if words.is_empty() { "" } else { " " };
        words.push(format!("{sep}=?UTF-8?B?{}?=", STANDARD.encode(head)));
        rest = tail;
        room = MAX_ENCODED_WORD;
        if rest.is_empty() {
            return words;
        }
    }
}

/// Tokens for an unstructured value (Subject, `--header`). Printable ASCII that folds within
/// the limits is kept as is; anything else (non-ASCII, control characters, a word too long to
/// fold, text that would read as an encoded-word) becomes encoded-words.
pub fn unstructured(name: &str, value: &str) -> Vec<String> {
    let value = value.trim_matches([' ', '\t']);
    let plain = value
        .bytes()
        .all(|b| b == b' ' || b == b'\t' || (33..=126).contains(&b))
        && !value.contains("=?")
        && value.split([' ', '\t']).all(|w| w.len() < FOLD_AT - 1);
    if !plain {
        return encoded_words(value, FOLD_AT.saturating_sub(name.len() + 2));
    }
    // Split before each run of whitespace, keeping the whitespace with the word after it.
    let mut tokens = Vec::new();
    let mut start = 0;
    let b = value.as_bytes();
    for i in 1..b.len() {
        let ws = |x: u8| x == b' ' || x == b'\t';
        if ws(b[i]) && !ws(b[i - 1]) {
            tokens.push(value[start..i].to_string());
            start = i;
        }
    }
    tokens.push(value[start..].to_string());
    tokens
}

/// Structured fields (RFC 5322 3.6) that `--header` may set. RFC 2047 5 allows encoded-words
/// only in unstructured text, comments and phrases; in these fields a reader would not decode
/// one (a Message-ID or Date would be garbage, an address would vanish inside it). Their values
/// are printable ASCII, folded only where they already have whitespace.
const STRUCTURED: &[&str] = &[
    "date",
    "resent-date",
    "sender",
    "resent-from",
    "resent-sender",
    "resent-to",
    "resent-cc",
    "resent-bcc",
    "return-path",
    "received",
    "message-id",
    "in-reply-to",
    "references",
    "resent-message-id",
];
/// The structured fields that hold msg-ids (RFC 5322 3.6.4), which may also be folded between
/// two ids written without space (`<a@x><b@y>`): CFWS is allowed there.
const MSG_ID_FIELDS: &[&str] = &[
    "message-id",
    "in-reply-to",
    "references",
    "resent-message-id",
];

/// Whether `name` is a field that [`structured`] must build.
pub fn is_structured(name: &str) -> bool {
    STRUCTURED.contains(&name.to_ascii_lowercase().as_str())
}

/// Tokens for a structured field's value: printable ASCII only (anything else is refused, 64,
/// naming `flag`, as it would need an encoded-word), split before each run of whitespace and,
/// in msg-id fields, between `>` and `<`. Nothing is encoded.
pub fn structured(flag: &str, name: &str, value: &str) -> Result<Vec<String>> {
    let value = value.trim_matches([' ', '\t']);
    if let Some(c) = value
        .chars()
        .find(|&c| c != ' ' && c != '\t' && !c.is_ascii_graphic())
    {
        return Err(Error::new(
            Kind::Usage,
            format!(
                "{flag}: {name} is a structured field, where RFC 2047 allows no encoded-words: only printable ASCII, not {c:?}"
            ),
        ));
    }
    let msg_ids = MSG_ID_FIELDS.contains(&name.to_ascii_lowercase().as_str());
    let ws = |c: char| c == ' ' || c == '\t';
    let mut tokens = vec![String::new()];
    let mut prev: Option<char> = None;
    for c in value.chars() {
        if let Some(p) = prev {
            if ws(c) && !ws(p) {
                tokens.push(String::new());
            } else if msg_ids && p == '>' && c == '<' {
                // The folding whitespace the ids did not have.
                tokens.push(" ".into());
            }
        }
        if let Some(t) = tokens.last_mut() {
            t.push(c);
        }
        prev = Some(c);
    }
    Ok(tokens)
}

/// One mailbox (RFC 5322 3.4): an optional display name and an addr-spec./// One mailbox (RFC 5322 3.4): an optional display name and an addr-spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mailbox {
    pub name: Option<String>,
    pub addr: String,
}

/// Parses a flag value holding one or more mailboxes separated by commas:
/// `ada@example.com`, `Ada Lovelace <ada@example.com>`, `"Lovelace, Ada" <ada@example.com>`.
/// Non-ASCII is allowed in display names; in addresses only with `smtputf8`.
pub fn parse_mailboxes(flag: &str, value: &str, smtputf8: bool) -> Result<Vec<Mailbox>> {
    no_line_breaks(flag, value)?;
    let bad = |why: &str| Error::new(Kind::Usage, format!("{flag}: {why}: {value:?}"));
    let mut items = Vec::new();
    let (mut quoted, mut angle, mut escaped, mut start) = (false, false, false, 0);
    for (i, c) in value.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted => escaped = true,
            '"' if !angle => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ',' if !quoted && !angle => {
                items.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if quoted || angle {
        return Err(bad("unbalanced quote or angle bracket"));
    }
    items.push(&value[start..]);
    let mut out = Vec::new();
    for item in items {
        let item = item.trim();
        if item.is_empty() {
            return Err(bad("empty address"));
        }
        let (name, addr) = match item.strip_suffix('>').and_then(|s| s.rsplit_once('<')) {
            Some((name, addr)) => (
                Some(unquote(name.trim()).ok_or_else(|| bad("bad display name"))?),
                addr.trim(),
            ),
            None => (None, item),
        };
        check_addr_spec(addr, smtputf8)
            .map_err(|why| Error::new(Kind::Usage, format!("{flag}: {why}: {addr:?}")))?;
        out.push(Mailbox {
            name: name.filter(|n| !n.is_empty()),
            addr: addr.to_string(),
        });
    }
    Ok(out)
}

/// A display name as typed, or without its quotes and backslash escapes if quoted.
fn unquote(name: &str) -> Option<String> {
    let Some(inner) = name.strip_prefix('"') else {
        return if name.contains(['"', '<', '>']) {
            None
        } else {
            Some(name.to_string())
        };
    };
    let inner = inner.strip_suffix('"')?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?),
            '"' => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c)
}

/// RFC 5322 3.4.1 addr-spec with a dot-atom or quoted local part, and a dot-atom or literal
/// domain (RFC 6531 allows UTF-8 in both with SMTPUTF8).
fn check_addr_spec(addr: &str, smtputf8: bool) -> Result<(), String> {
    if !addr.is_ascii() && !smtputf8 {
        return Err("a non-ASCII address needs --smtputf8".into());
    }
    let (local, domain) = addr.rsplit_once('@').ok_or("not an address (no @)")?;
    let atom_ok = |s: &str| {
        !s.is_empty()
            && s.split('.')
                .all(|a| !a.is_empty() && a.chars().all(|c| is_atext(c) || !c.is_ascii()))
    };
    let local_ok = if let Some(q) = local.strip_prefix('"').and_then(|l| l.strip_suffix('"')) {
        q.chars()
            .all(|c| c == ' ' || (c.is_ascii_graphic() && c != '"' && c != '\\') || !c.is_ascii())
    } else {
        atom_ok(local)
    };
    if !local_ok {
        return Err("bad local part in address".into());
    }
    let domain_ok = if let Some(lit) = domain.strip_prefix('[').and_then(|d| d.strip_suffix(']')) {
        !lit.is_empty()
            && lit
                .chars()
                .all(|c| c.is_ascii_graphic() && !"[]\\".contains(c))
    } else {
        atom_ok(domain)
            && domain
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || !c.is_ascii())
    };
    if !domain_ok {
        return Err("bad domain in address".into());
    }
    Ok(())
}

/// Tokens for a list of mailboxes, separated by commas; folds between words.
pub fn mailbox_tokens(name: &str, list: &[Mailbox]) -> Vec<String> {
    let mut tokens: Vec<String> = Vec::new();
    for (i, mb) in list.iter().enumerate() {
        let sep = if i == 0 { "" } else { " " };
        let mut words: Vec<String> = Vec::new();
        if let Some(display) = &mb.name {
            let room = if i == 0 {
                FOLD_AT.saturating_sub(name.len() + 2)
            } else {
                FOLD_AT - 1
            };
            words.extend(phrase(display, room));
            words.push(format!(" <{}>", mb.addr));
        } else {
            words.push(mb.addr.clone());
        }
        if let Some(first) = words.first_mut() {
            first.insert_str(0, sep);
        }
        if i + 1 < list.len() {
            if let Some(last) = words.last_mut() {
                last.push(',');
            }
        }
        tokens.extend(words);
    }
    tokens
}

/// A display name (RFC 5322 3.2.5 phrase): atoms as they are, other ASCII as a quoted string,
/// non-ASCII or control characters as encoded-words (RFC 2047 5(3)).
fn phrase(name: &str, room: usize) -> Vec<String> {
    let words: Vec<&str> = name.split(' ').collect();
    // Atoms are kept as they are only when each can be folded onto a line of its own.
    if words
        .iter()
        .all(|w| !w.is_empty() && w.len() < FOLD_AT - 1 && w.chars().all(is_atext))
    {
        return words
            .iter()
            .enumerate()
            .map(|(i, w)| {
                if i == 0 {
                    w.to_string()
                } else {
                    format!(" {w}")
                }
            })
            .collect();
    }
    if name.chars().all(|c| c == ' ' || c.is_ascii_graphic())
        && !name.contains("=?")
        && name.len() < 70
    {
        return vec![format!(
            "\"{}\"",
            name.replace('\\', "\\\\").replace('"', "\\\"")
        )];
    }
    encoded_words(name, room)
}

/// RFC 2045 5.1 token characters (for media types and charsets).
pub fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| (33..=126).contains(&b) && !b"()<>@,;:\\\"/[]?=".contains(&b))
}

/// `type/subtype`, each a token of at most 127 characters (RFC 6838 4.2).
pub fn is_media_type(s: &str) -> bool {
    let name = |n: &str| is_token(n) && n.len() <= 127;
    matches!(s.split_once('/'), Some((t, st)) if name(t) && name(st))
}

/// A charset name: a token short enough for the Content-Type line it goes into.
pub fn is_charset(s: &str) -> bool {
    is_token(s) && s.len() <= MAX_CHARSET
}

/// RFC 2231 attribute-char: token characters except `*`, `'`, `%`.
fn is_attr_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b)
}

/// Tokens (each starting with a space) for a parameter such as `filename`: a quoted string
/// when the value is printable ASCII and fits a line; otherwise RFC 2231 `attr*=UTF-8''...`
/// (split into `attr*0*`, `attr*1*`... continuations to keep lines within 78) followed by a
/// plain `attr="..."` fallback with non-ASCII characters replaced by `_`, for readers that
/// ignore RFC 2231. Every token but the last ends with `;`.
pub fn param_tokens(attr: &str, value: &str) -> Vec<String> {
    let quoted = |v: &str| {
        format!(
            " {attr}=\"{}\"",
            v.replace('\\', "\\\\").replace('"', "\\\"")
        )
    };
    let printable = value.chars().all(|c| c == ' ' || c.is_ascii_graphic());
    if printable && quoted(value).len() < FOLD_AT {
        return vec![quoted(value)];
    }
    let mut pct = String::new();
    let mut pieces: Vec<String> = Vec::new();
    let limit = FOLD_AT - 1 - format!(" {attr}*00*=;").len();
    // Split between characters, never inside one, so that each piece decodes on its own.
    for c in value.chars() {
        let mut utf8 = [0u8; 4];
        let enc: String = c
            .encode_utf8(&mut utf8)
            .bytes()
            .map(|b| {
                if is_attr_char(b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        let room = if pieces.is_empty() {
            limit - "UTF-8''".len()
        } else {
            limit
        };
        if pct.len() + enc.len() > room {
            pieces.push(std::mem::take(&mut pct));
        }
        pct.push_str(&enc);
    }
    pieces.push(pct);
    let mut tokens: Vec<String> = if pieces.len() == 1 {
        vec![format!(" {attr}*=UTF-8''{}", pieces[0])]
    } else {
        pieces
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let charset = if i == 0 { "UTF-8''" } else { "" };
                format!(" {attr}*{i}*={charset}{p}")
            })
            .collect()
    };
    tokens.push(quoted(&ascii_fallback(value, FOLD_AT - 6 - attr.len())));
    let n = tokens.len();
    for t in &mut tokens[..n - 1] {
        t.push(';');
    }
    tokens
}

/// A printable-ASCII stand-in for a file name: other characters become `_`, and a name too
/// long for one line is shortened, keeping its extension.
pub fn ascii_fallback(name: &str, max: usize) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c == ' ' || (c.is_ascii_graphic() && c != '"' && c != '\\') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.len() <= max {
        return s;
    }
    // The extension: from the first dot that leaves at most 10 characters (".tar.gz").
    let ext = s
        .match_indices('.')
        .map(|(i, _)| &s[i..])
        .find(|e| e.len() > 1 && e.len() <= 10)
        .unwrap_or("");
    format!("{}{ext}", &s[..max.saturating_sub(ext.len())])
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn decode_words(tokens: &[String]) -> String {
        tokens
            .iter()
            .map(|t| {
                let w = t.trim_start();
                assert!(w.len() <= MAX_ENCODED_WORD, "{w}");
                let inner = w
                    .strip_prefix("=?UTF-8?B?")
                    .unwrap()
                    .strip_suffix("?=")
                    .unwrap();
                String::from_utf8(STANDARD.decode(inner).unwrap()).unwrap()
            })
            .collect()
    }

    #[test]
    fn encoded_words_hold_whole_characters_and_fit() {
        let text = "Build #451 ✔ — Grüße aus Köln, 日本語のテキスト, emoji 😀😀😀 ".repeat(3);
        for room in [0, 10, 30, 69, 75, 200] {
            let words = encoded_words(&text, room);
            assert_eq!(decode_words(&words), text);
        }
        let lines = fold("Subject", &unstructured("Subject", &text));
        for l in &lines {
            assert!(l.len() <= FOLD_AT, "{l}");
        }
    }

    #[test]
    fn ascii_subjects_fold_at_whitespace_and_unfold_exactly() {
        let s = "word ".repeat(40) + "end\tof  it";
        let lines = fold("Subject", &unstructured("Subject", &s));
        assert!(lines.len() > 2);
        assert!(lines.iter().all(|l| l.len() <= FOLD_AT));
        assert_eq!(lines.concat(), format!("Subject: {s}"));
        // Looks like an encoded word: must be encoded itself.
        assert!(unstructured("Subject", "=?x?q?y?=")[0].starts_with("=?UTF-8?B?"));
        assert_eq!(
            fold("Subject", &unstructured("Subject", "")),
            vec!["Subject:"]
        );
    }

    #[test]
    fn mailboxes_parse_and_render() {
        let l = parse_mailboxes(
            "--to",
            "a@x.org, \"Lovelace, Ada\" <ada@x.org>,Zoë Ünal <z@x.org>",
            false,
        )
        .unwrap();
        assert_eq!(l.len(), 3);
        assert_eq!(l[1].name.as_deref(), Some("Lovelace, Ada"));
        let t = mailbox_tokens("To", &l);
        let line = fold("To", &t).join("");
        assert!(
            line.starts_with("To: a@x.org, \"Lovelace, Ada\" <ada@x.org>, =?UTF-8?B?"),
            "{line}"
        );
        assert!(line.ends_with(" <z@x.org>"));
        let plain = mailbox_tokens(
            "From",
            &parse_mailboxes("--from", "CI Bot <ci@x.org>", false).unwrap(),
        );
        assert_eq!(fold("From", &plain), vec!["From: CI Bot <ci@x.org>"]);
    }

    #[test]
    fn long_display_names_fold_and_unbreakable_words_are_refused() {
        let long_atom = "A".repeat(5000);
        let list = parse_mailboxes("--to", &format!("{long_atom} <a@x.org>"), false).unwrap();
        let lines = fold_checked("--to", "To", &mailbox_tokens("To", &list)).unwrap();
        assert!(lines.iter().all(|l| l.len() <= FOLD_AT), "{lines:?}");
        assert!(lines[0].starts_with("To: =?UTF-8?B?"));
        // A short atom stays readable.
        let list = parse_mailboxes("--to", "Ada <a@x.org>", false).unwrap();
        assert_eq!(mailbox_tokens("To", &list), ["Ada", " <a@x.org>"]);
        // An address is one word: it fits in 998 characters or is refused.
        let fits = format!("{}@x.org", "l".repeat(MAX_LINE - "To: @x.org".len()));
        let list = parse_mailboxes("--to", &fits, false).unwrap();
        let lines = fold_checked("--to", "To", &mailbox_tokens("To", &list)).unwrap();
        assert_eq!(lines[0].len(), MAX_LINE);
        let over = format!("l{fits}");
        let list = parse_mailboxes("--to", &over, false).unwrap();
        let e = fold_checked("--to", "To", &mailbox_tokens("To", &list)).unwrap_err();
        assert_eq!(e.exit_code(), 64);
        assert!(e.to_string().starts_with("--to: too long to fold"), "{e}");
        assert!(e.to_string().len() < 200, "{e}");
    }

    #[test]
    fn structured_fields_fold_at_whitespace_only() {
        let t = structured("--header", "References", " <a@x>  <b@y>\t<c@z><d@w> ").unwrap();
        assert_eq!(t, ["<a@x>", "  <b@y>", "\t<c@z>", " <d@w>"]);
        let t = structured("--header", "Date", "Thu, 01 Jan 2026 00:00:00 +0000").unwrap();
        assert_eq!(t.concat(), "Thu, 01 Jan 2026 00:00:00 +0000");
        // Outside msg-id fields `><` is not a place to fold.
        assert_eq!(
            structured("--header", "Received", "a><b").unwrap(),
            ["a><b"]
        );
        for bad in ["<zoë@x>", "<a@x>\u{1}", "<a@x>\u{7f}"] {
            let e = structured("--header", "In-Reply-To", bad).unwrap_err();
            assert_eq!(e.exit_code(), 64);
            assert!(
                e.to_string()
                    .starts_with("--header: In-Reply-To is a structured field")
            );
        }
        assert!(is_structured("message-ID") && is_structured("Resent-To"));
        assert!(!is_structured("Subject") && !is_structured("X-Message-ID"));
    }

    #[test]
    fn bad_addresses_are_usage_errors_naming_the_flag() {
        for bad in [
            "",
            "nobody",
            "a@",
            "@b",
            "a b@c",
            "x@y,",
            "<a@b",
            "a@b\nBcc: c@d",
            "\"x <a@b>",
            "zoë@x.org",
        ] {
            let e = parse_mailboxes("--cc", bad, false).unwrap_err();
            assert_eq!(e.exit_code(), 64, "{bad}");
            assert!(e.to_string().starts_with("--cc: "), "{e}");
        }
        assert!(parse_mailboxes("--cc", "zoë@bücher.de", true).is_ok());
    }

    #[test]
    fn field_names_and_tokens() {
        assert!(is_field_name("X-Build-Id"));
        for bad in ["", "X Y", "X:Y", "Ü", "X\n"] {
            assert!(!is_field_name(bad), "{bad}");
        }
        assert!(is_media_type("image/png") && !is_media_type("image") && !is_media_type("a/b;c"));
        assert!(is_media_type(&format!("a/{}", "b".repeat(127))));
        assert!(!is_media_type(&format!("a/{}", "b".repeat(128))));
        assert!(is_charset(&"c".repeat(MAX_CHARSET)) && !is_charset(&"c".repeat(MAX_CHARSET + 1)));
        let line = format!(
            "Content-Type: text/plain; charset={}",
            "c".repeat(MAX_CHARSET)
        );
        assert_eq!(line.len(), MAX_LINE);
    }

    #[test]
    fn parameters_use_rfc2231_for_non_ascii_and_long_names() {
        assert_eq!(
            param_tokens("filename", "a \"b\".txt"),
            vec![r#" filename="a \"b\".txt""#]
        );
        let t = param_tokens("filename", "résumé.pdf");
        assert_eq!(
            t,
            vec![
                " filename*=UTF-8''r%C3%A9sum%C3%A9.pdf;",
                " filename=\"r_sum_.pdf\""
            ]
        );
        let long = "ü".repeat(80) + ".tar.gz";
        let t = param_tokens("filename", &long);
        assert!(t.len() > 3);
        assert!(t[0].starts_with(" filename*0*=UTF-8''%C3%BC"));
        assert!(t[1].starts_with(" filename*1*=%C3%BC"));
        let lines = fold(
            "Content-Disposition",
            &[vec!["attachment;".to_string()], t].concat(),
        );
        assert!(lines.iter().all(|l| l.len() <= FOLD_AT), "{lines:?}");
        let joined: String = lines.iter().map(|l| l.trim()).collect();
        assert!(joined.ends_with("_.tar.gz\""), "{joined}");
    }

    #[test]
    fn never_panics_on_odd_values() {
        let odd = [
            "",
            " ",
            "\t",
            "\u{1}",
            "=?",
            "\"",
            "<>",
            "@",
            "@@",
            ",,",
            "\\",
            "😀",
            "a\u{301}",
            &"x".repeat(2000),
        ];
        for v in odd {
            let _ = parse_mailboxes("--to", v, false);
            let _ = parse_mailboxes("--to", v, true);
            let _ = fold("X", &unstructured("X", v));
            let _ = param_tokens("name", v);
            let _ = ascii_fallback(v, 10);
            let _ = encoded_words(v, 0);
            let _ = no_line_breaks("--x", v);
            let _ = is_field_name(v);
        }
    }
}
