//! Pure parsers for IMAP4rev1 (RFC 3501) and IMAP4rev2 (RFC 9051) responses, and the
//! encoders for what the client sends: a tokenizer (atoms, numbers, quoted strings, NIL,
//! parenthesized lists, literals), CAPABILITY, untagged data (EXISTS, EXPUNGE, RECENT,
//! FLAGS, SEARCH, LIST, FETCH), response codes (UIDVALIDITY, UIDNEXT), FETCH data items in
//! any order across literals, modified UTF-7 folder names (RFC 3501 section 5.1.3) both
//! ways, astrings (atom, quoted string or literal) and UID sets.
//!
//! No I/O here: the client feeds lines (and the pieces of a line between literals) in.

use base64::Engine as _;
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, NO_PAD};
use std::fmt;

/// Why a response cannot be understood; the client turns it into a protocol error (76).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bad(pub String);

impl fmt::Display for Bad {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn bad(why: impl Into<String>) -> Bad {
    Bad(why.into())
}

pub type Parsed<T> = Result<T, Bad>;

/// One token of a response line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token<'a> {
    /// An atom or a number, as sent: `UID`, `123`, `\Seen`, `BODY[HEADER.FIELDS (TO)]<0>`,
    /// `NIL` (the caller decides what NIL means where it is allowed).
    Atom(&'a [u8]),
    /// A quoted string, unescaped.
    Quoted(Vec<u8>),
    LParen,
    RParen,
    /// `{n}` (or `{n+}`) at the end of the line: `n` octets follow on the wire.
    Literal(u64),
}

/// The tokens of one line (or of the piece of a line after a literal).
pub struct Tokens<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Tokens<'a> {
    pub fn new(s: &'a [u8]) -> Self {
        Tokens { s, pos: 0 }
    }

    /// The next token; `None` at the end of the line.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Parsed<Option<Token<'a>>> {
        while self.s.get(self.pos) == Some(&b' ') {
            self.pos += 1;
        }
        let Some(&c) = self.s.get(self.pos) else {
            return Ok(None);
        };
        match c {
            b'(' => {
                self.pos += 1;
                Ok(Some(Token::LParen))
            }
            b')' => {
                self.pos += 1;
                Ok(Some(Token::RParen))
            }
            b'"' => {
                let mut out = Vec::new();
                let mut i = self.pos + 1;
                loop {
                    match self.s.get(i) {
                        None => return Err(bad("a quoted string without its closing quote")),
                        Some(b'"') => break,
                        Some(b'\\') => match self.s.get(i + 1) {
                            Some(&e @ (b'"' | b'\\')) => {
                                out.push(e);
                                i += 2;
                            }
                            _ => return Err(bad("a quoted string with a stray backslash")),
                        },
                        Some(&b) => {
                            out.push(b);
                            i += 1;
                        }
                    }
                }
                self.pos = i + 1;
                Ok(Some(Token::Quoted(out)))
            }
            b'{' => {
                let rest = &self.s[self.pos..];
                match crate::imap::reply::imap_literal(rest) {
                    Some(n) if rest.iter().filter(|&&b| b == b'{').count() == 1 => {
                        self.pos = self.s.len();
                        Ok(Some(Token::Literal(n)))
                    }
                    _ => Err(bad("a literal that is not at the end of its line")),
                }
            }
            _ => {
                // An atom; a section in brackets may hold spaces and parentheses
                // (`BODY[HEADER.FIELDS (DATE FROM)]`).
                let start = self.pos;
                let mut depth = 0usize;
                while let Some(&b) = self.s.get(self.pos) {
                    match b {
                        b'[' => depth += 1,
                        b']' if depth > 0 => depth -= 1,
                        b' ' | b'(' | b')' if depth == 0 => break,
                        b'{' | b'"' if depth == 0 => break,
                        _ => {}
                    }
                    if b < b' ' || b == 0x7f {
                        return Err(bad("a control character in an atom"));
                    }
                    self.pos += 1;
                }
                if depth > 0 {
                    return Err(bad("an unclosed [ in an atom"));
                }
                Ok(Some(Token::Atom(&self.s[start..self.pos])))
            }
        }
    }
}

/// A number (RFC 3501 `number`, 32 bits), or why not.
pub fn number(atom: &[u8]) -> Parsed<u32> {
    digits(atom)?
        .parse()
        .map_err(|_| bad("a number larger than 32 bits"))
}

/// A 64-bit number (RFC 9051 `number64`: RFC822.SIZE may pass 4 GiB).
pub fn number64(atom: &[u8]) -> Parsed<u64> {
    digits(atom)?
        .parse()
        .map_err(|_| bad("a number larger than 64 bits"))
}

/// An atom of ASCII digits only (`str::parse` alone would take a `+`).
fn digits(atom: &[u8]) -> Parsed<&str> {
    match std::str::from_utf8(atom) {
        Ok(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => Ok(s),
        _ => Err(bad(format!(
            "not a number: {}",
            crate::wire::printable(&String::from_utf8_lossy(atom))
        ))),
    }
}

/// What a server can do (RFC 3501 section 7.2.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    pub starttls: bool,
    pub logindisabled: bool,
    pub uidplus: bool,
    pub sasl_ir: bool,
    /// LITERAL+ (RFC 7888): `{n+}` literals need no continuation.
    pub literal_plus: bool,
    pub idle: bool,
    pub imap4rev2: bool,
    /// SASL mechanisms offered (`AUTH=PLAIN`), as sent.
    pub auth: Vec<String>,
}

/// Parses a capability list: the text of `* CAPABILITY ...` after the word CAPABILITY, or
/// of a `[CAPABILITY ...]` response code after it. Pure; unknown words are ignored.
pub fn parse_capabilities(list: &[u8]) -> Capabilities {
    let mut c = Capabilities::default();
    for word in list.split(|&b| b == b' ').filter(|w| !w.is_empty()) {
        let w = String::from_utf8_lossy(word).to_ascii_uppercase();
        match w.as_str() {
            "STARTTLS" => c.starttls = true,
            "LOGINDISABLED" => c.logindisabled = true,
            "UIDPLUS" => c.uidplus = true,
            "SASL-IR" => c.sasl_ir = true,
            "LITERAL+" => c.literal_plus = true,
            "IDLE" => c.idle = true,
            "IMAP4REV2" => c.imap4rev2 = true,
            _ => {
                if let Some(m) = w.strip_prefix("AUTH=") {
                    c.auth.push(m.to_string());
                }
            }
        }
    }
    // IMAP4rev2 includes UIDPLUS's UID EXPUNGE, IDLE, SASL-IR and LITERAL-.
    if c.imap4rev2 {
        c.uidplus = true;
        c.idle = true;
        c.sasl_ir = true;
    }
    c
}

/// The capability list inside a response code (`CAPABILITY IMAP4rev1 ...`), if it is one.
pub fn capability_code(code: &[u8]) -> Option<&[u8]> {
    let (word, rest) = split_word(code);
    word.eq_ignore_ascii_case(b"CAPABILITY").then_some(rest)
}

/// The number in a response code such as `UIDVALIDITY 3857529045` or `UIDNEXT 4392`.
pub fn code_number(code: &[u8], name: &str) -> Option<u32> {
    let (word, rest) = split_word(code);
    if !word.eq_ignore_ascii_case(name.as_bytes()) {
        return None;
    }
    number(split_word(rest).0).ok()
}

fn split_word(s: &[u8]) -> (&[u8], &[u8]) {
    match s.iter().position(|&b| b == b' ') {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, &[]),
    }
}

/// Untagged data, from the text of a `* ` line that is not a status response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Data<'a> {
    Exists(u32),
    Expunge(u32),
    Recent(u32),
    /// `* n FETCH (...)`: the text from the opening parenthesis on.
    Fetch(u32, &'a [u8]),
    /// `* SEARCH ...`: the numbers, unparsed ([`parse_search`]).
    Search(&'a [u8]),
    Capability(&'a [u8]),
    /// `* LIST (...) "/" name` (and LSUB): the text after the word.
    List(&'a [u8]),
    /// Anything else a server may send (FLAGS, ESEARCH, STATUS, ENABLED, ...): tolerated.
    Other,
}

/// Classifies untagged data. Pure; a malformed number after `*` is an error.
pub fn parse_data(text: &[u8]) -> Parsed<Data<'_>> {
    let (first, rest) = split_word(text);
    if first.first().is_some_and(u8::is_ascii_digit) {
        let n = number(first)?;
        let (word, rest) = split_word(rest);
        return Ok(match word.to_ascii_uppercase().as_slice() {
            b"EXISTS" => Data::Exists(n),
            b"EXPUNGE" => Data::Expunge(n),
            b"RECENT" => Data::Recent(n),
            b"FETCH" => Data::Fetch(n, rest),
            _ => Data::Other,
        });
    }
    Ok(match first.to_ascii_uppercase().as_slice() {
        b"SEARCH" => Data::Search(rest),
        b"CAPABILITY" => Data::Capability(rest),
        b"LIST" | b"LSUB" => Data::List(rest),
        _ => Data::Other,
    })
}

/// The UIDs (or sequence numbers) of a `* SEARCH` answer; a `(MODSEQ n)` at the end (RFC
/// 7162) is ignored.
pub fn parse_search(text: &[u8]) -> Parsed<Vec<u32>> {
    let mut out = Vec::new();
    for w in text.split(|&b| b == b' ').filter(|w| !w.is_empty()) {
        if w.starts_with(b"(") {
            break;
        }
        out.push(number(w)?);
    }
    Ok(out)
}

/// Checks the UIDs (ascending) of a `UID SEARCH` answer against what the folder can hold:
/// UIDs are non-zero (RFC 3501 section 2.3.1.1), and every message has a UID below UIDNEXT
/// unless it arrived since, so at most `arrived` of them (the messages the server announced
/// with EXISTS since the folder was selected) may be at or above `uidnext`. Pure.
pub fn check_search(uids: &[u32], uidnext: Option<u32>, arrived: u32) -> Parsed<()> {
    if uids.first() == Some(&0) {
        return Err(bad("UID 0, which no message has"));
    }
    if let Some(next) = uidnext {
        let above = uids.len() - uids.partition_point(|&u| u < next);
        if above as u64 > u64::from(arrived) {
            let top = uids.last().copied().unwrap_or(0);
            return Err(bad(format!(
                "UID {top}, not below the folder's UIDNEXT {next}, with {} new message{} announced since it was selected",
                if arrived == 0 {
                    "no".to_string()
                } else {
                    arrived.to_string()
                },
                if arrived == 1 { "" } else { "s" }
            )));
        }
    }
    Ok(())
}

/// One folder of a LIST answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folder {
    /// The name as the server sends it (modified UTF-7 in IMAP4rev1).
    pub raw: Vec<u8>,
    /// `\Noselect` or `\NonExistent`: it holds no messages.
    pub noselect: bool,
    pub delimiter: Option<u8>,
}

/// Parses `(\HasNoChildren) "/" INBOX` (the text after `LIST`). A name sent as a literal is
/// passed as `literal` (the line then ends at its `{n}`).
pub fn parse_list(text: &[u8], literal: Option<Vec<u8>>) -> Parsed<Folder> {
    let mut t = Tokens::new(text);
    if t.next()? != Some(Token::LParen) {
        return Err(bad("a LIST answer without its attribute list"));
    }
    let mut noselect = false;
    loop {
        match t.next()? {
            Some(Token::RParen) => break,
            Some(Token::Atom(a)) => {
                if a.eq_ignore_ascii_case(b"\\Noselect") || a.eq_ignore_ascii_case(b"\\NonExistent")
                {
                    noselect = true;
                }
            }
            _ => return Err(bad("a LIST answer with a malformed attribute list")),
        }
    }
    let delimiter = match t.next()? {
        Some(Token::Quoted(q)) if q.len() == 1 => Some(q[0]),
        Some(Token::Atom(a)) if a.eq_ignore_ascii_case(b"NIL") => None,
        _ => return Err(bad("a LIST answer without its hierarchy delimiter")),
    };
    let raw = match (t.next()?, literal) {
        (Some(Token::Quoted(q)), None) => q,
        (Some(Token::Atom(a)), None) => a.to_vec(),
        (Some(Token::Literal(_)), Some(l)) => l,
        _ => return Err(bad("a LIST answer without a folder name")),
    };
    Ok(Folder {
        raw,
        noselect,
        delimiter,
    })
}

/// Where a FETCH response's parser is, fed piece by piece ([`FetchParser::feed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    /// Before the `(` that opens the items.
    Open,
    /// Waiting for an item's name, or the closing `)`.
    Name,
    /// Waiting for the value of the item just named.
    Value,
    /// Inside a parenthesized value, this deep.
    Nested(usize),
    Done,
}

/// What to do after a piece of a FETCH response has been fed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// The piece ended with a literal of `len` octets: the message body (`BODY[]` or
    /// `RFC822`) when `body`, else a value nobody asked for, to skip. Read it, then feed the
    /// rest of the line.
    Literal { len: u64, body: bool },
    /// The response is complete.
    Done,
}

/// The FETCH data items this client asks for, in whatever order the server sends them
/// (RFC 3501 section 7.4.2): the UID may come after the message's literal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FetchItems {
    pub uid: Option<u32>,
    pub size: Option<u64>,
    /// The message came (as a literal: its octets went to the caller).
    pub body: bool,
    /// `BODY[] NIL`: the server has no text for it.
    pub body_nil: bool,
}

/// An incremental parser of one `* n FETCH (...)` response.
#[derive(Debug)]
pub struct FetchParser {
    at: At,
    name: Vec<u8>,
    pub items: FetchItems,
}

impl Default for FetchParser {
    fn default() -> Self {
        FetchParser::new()
    }
}

impl FetchParser {
    pub fn new() -> Self {
        FetchParser {
            at: At::Open,
            name: Vec::new(),
            items: FetchItems::default(),
        }
    }

    /// Takes the next piece: first the text after `FETCH`, then each piece of the line that
    /// follows a literal. A piece that ends without a literal must complete the response.
    pub fn feed(&mut self, piece: &[u8]) -> Parsed<Next> {
        let mut t = Tokens::new(piece);
        loop {
            let Some(tok) = t.next()? else {
                return Err(bad("a FETCH response cut short"));
            };
            match (self.at, tok) {
                (At::Open, Token::LParen) => self.at = At::Name,
                (At::Name, Token::RParen) => {
                    self.at = At::Done;
                    if t.next()?.is_some() {
                        return Err(bad("text after the end of a FETCH response"));
                    }
                    return Ok(Next::Done);
                }
                (At::Name, Token::Atom(a)) => {
                    self.name = a.to_ascii_uppercase();
                    self.at = At::Value;
                }
                (At::Value, Token::Atom(a)) => {
                    self.atom_value(a)?;
                    self.at = At::Name;
                }
                (At::Value, Token::Quoted(_)) => {
                    if self.is_body() {
                        return Err(bad(
                            "a message sent as a quoted string (posthaste takes messages as literals)",
                        ));
                    }
                    self.at = At::Name;
                }
                (At::Value, Token::LParen) => self.at = At::Nested(1),
                (At::Value, Token::Literal(len)) => {
                    if matches!(self.name.as_slice(), b"UID" | b"RFC822.SIZE") {
                        return Err(bad("a FETCH response with a literal for a number"));
                    }
                    let body = self.is_body();
                    if body {
                        if self.items.body || self.items.body_nil {
                            return Err(bad("a FETCH response with the message twice"));
                        }
                        self.items.body = true;
                    }
                    self.at = At::Name;
                    return Ok(Next::Literal { len, body });
                }
                (At::Nested(d), Token::LParen) => self.at = At::Nested(d + 1),
                (At::Nested(1), Token::RParen) => self.at = At::Name,
                (At::Nested(d), Token::RParen) => self.at = At::Nested(d - 1),
                (At::Nested(_), Token::Literal(len)) => {
                    return Ok(Next::Literal { len, body: false });
                }
                (At::Nested(_), _) => {}
                _ => return Err(bad("a malformed FETCH response")),
            }
        }
    }

    fn is_body(&self) -> bool {
        matches!(self.name.as_slice(), b"BODY[]" | b"RFC822" | b"BINARY[]")
    }

    fn atom_value(&mut self, a: &[u8]) -> Parsed<()> {
        match self.name.as_slice() {
            b"UID" => {
                let uid = number(a)?;
                if uid == 0 || self.items.uid.is_some_and(|u| u != uid) {
                    return Err(bad("a FETCH response with a bad UID"));
                }
                self.items.uid = Some(uid);
            }
            b"RFC822.SIZE" => self.items.size = Some(number64(a)?),
            _ if self.is_body() => {
                if !a.eq_ignore_ascii_case(b"NIL") {
                    return Err(bad("a message that is neither a literal nor NIL"));
                }
                self.items.body_nil = true;
            }
            _ => {}
        }
        Ok(())
    }
}

/// Encodes a folder name in modified UTF-7 (RFC 3501 section 5.1.3): printable ASCII stands
/// for itself (`&` as `&-`), anything else goes as modified base64 of UTF-16 between `&`
/// and `-`. Pure.
pub fn utf7_encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending: Vec<u16> = Vec::new();
    let flush = |pending: &mut Vec<u16>, out: &mut String| {
        if pending.is_empty() {
            return;
        }
        let bytes: Vec<u8> = pending.iter().flat_map(|u| u.to_be_bytes()).collect();
        out.push('&');
        out.push_str(&MUTF7_B64.encode(&bytes));
        out.push('-');
        pending.clear();
    };
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut pending, &mut out);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut buf = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }
    flush(&mut pending, &mut out);
    out
}

/// Decodes a modified UTF-7 folder name; `None` when it is not valid modified UTF-7 (a
/// server may send raw UTF-8 names: the caller then shows them as they are).
#[cfg(feature = "cli")]
pub fn utf7_decode(raw: &[u8]) -> Option<String> {
    let mut out = String::new();
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if b != b'&' {
            if !(0x20..0x7f).contains(&b) {
                return None;
            }
            out.push(b as char);
            i += 1;
            continue;
        }
        let end = i + 1 + raw[i + 1..].iter().position(|&c| c == b'-')?;
        let chunk = &raw[i + 1..end];
        if chunk.is_empty() {
            out.push('&');
        } else {
            let bytes = MUTF7_B64.decode(chunk).ok()?;
            if bytes.len() % 2 != 0 {
                return None;
            }
            let units: Vec<u16> = bytes
                .chunks(2)
                .map(|p| u16::from_be_bytes([p[0], p[1]]))
                .collect();
            let s = String::from_utf16(&units).ok()?;
            // Printable ASCII must stand for itself (RFC 3501 section 5.1.3).
            if s.chars().any(|c| (' '..='~').contains(&c)) {
                return None;
            }
            out.push_str(&s);
        }
        i = end + 1;
    }
    Some(out)
}

/// Modified base64 (RFC 3501 section 5.1.3): `,` for `/`, no padding; leftover bits must
/// be zero.
const MUTF7_B64: GeneralPurpose = GeneralPurpose::new(&alphabet::IMAP_MUTF7, NO_PAD);

/// How a string goes into a command (RFC 3501 section 4.3, `astring`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Astring {
    /// As it is: an atom.
    Atom(String),
    /// In double quotes, `"` and `\` escaped.
    Quoted(String),
    /// As a literal: `{n}` ends the command line, and the octets follow once the server
    /// says `+` (or at once with LITERAL+).
    Literal(String),
}

/// Chooses the form `s` needs: an atom when every character is an ATOM-CHAR, a quoted
/// string for other 7-bit text, a literal for anything with 8-bit characters (a quoted
/// string is 7-bit in IMAP4rev1). Pure. CR, LF and NUL fit none of them: the engine
/// refuses them anyway.
pub fn astring(s: &str) -> Astring {
    let atom_char = |b: u8| {
        b > b' ' && b < 0x7f && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\')
    };
    if !s.is_empty() && s.bytes().all(atom_char) {
        Astring::Atom(s.to_string())
    } else if s.bytes().all(|b| (b' '..0x7f).contains(&b)) {
        Astring::Quoted(format!(
            "\"{}\"",
            s.replace('\\', "\\\\").replace('"', "\\\"")
        ))
    } else {
        Astring::Literal(s.to_string())
    }
}

/// Groups ascending UIDs into sets for `UID FETCH` and `UID STORE`: runs of consecutive UIDs
/// become `a:b`, the rest are joined by commas, each set at most `max_uids` messages and
/// `max_len` characters. Pure.
pub fn uid_sets(uids: &[u32], max_uids: usize, max_len: usize) -> Vec<(String, Vec<u32>)> {
    let mut sets = Vec::new();
    let mut text = String::new();
    let mut members: Vec<u32> = Vec::new();
    let mut i = 0;
    while i < uids.len() {
        // A run of consecutive UIDs, no longer than the batch has room for.
        let room = max_uids - members.len();
        let mut j = i;
        while j + 1 < uids.len() && j + 1 - i < room && uids[j + 1] == uids[j] + 1 {
            j += 1;
        }
        let piece = if j > i {
            format!("{}:{}", uids[i], uids[j])
        } else {
            uids[i].to_string()
        };
        if !text.is_empty() && text.len() + 1 + piece.len() > max_len {
            sets.push((std::mem::take(&mut text), std::mem::take(&mut members)));
            continue;
        }
        if !text.is_empty() {
            text.push(',');
        }
        text.push_str(&piece);
        members.extend_from_slice(&uids[i..=j]);
        i = j + 1;
        if members.len() == max_uids {
            sets.push((std::mem::take(&mut text), std::mem::take(&mut members)));
        }
    }
    if !text.is_empty() {
        sets.push((text, members));
    }
    sets
}

/// An IMAP date (RFC 3501 `date`, for SEARCH SINCE): `YYYY-MM-DD` becomes `1-Feb-2026`.
#[cfg(feature = "cli")]
pub fn search_date(ymd: &str) -> Option<String> {
    let mut parts = ymd.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(y) || !all_digits(m) || !all_digits(d) {
        return None;
    }
    let (y, m, d): (i64, u32, u32) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    let date = crate::util::calendar::DateTime::new(y, m, d, 0, 0, 0).filter(|_| y >= 1900)?;
    Some(format!("{d}-{}-{y}", date.month_name()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(s: &[u8]) -> Parsed<Vec<Token<'_>>> {
        let mut t = Tokens::new(s);
        let mut v = Vec::new();
        while let Some(x) = t.next()? {
            v.push(x);
        }
        Ok(v)
    }

    #[test]
    fn tokens() {
        use Token::*;
        assert_eq!(
            all(br#"(UID 12 FLAGS (\Seen \Answered) NIL "a \"q\" \\ b" BODY[HEADER.FIELDS (TO FROM)]<0> {30}"#)
                .unwrap(),
            vec![
                LParen,
                Atom(b"UID"),
                Atom(b"12"),
                Atom(b"FLAGS"),
                LParen,
                Atom(b"\\Seen"),
                Atom(b"\\Answered"),
                RParen,
                Atom(b"NIL"),
                Quoted(b"a \"q\" \\ b".to_vec()),
                Atom(b"BODY[HEADER.FIELDS (TO FROM)]<0>"),
                Literal(30)
            ]
        );
        assert_eq!(all(b"").unwrap(), vec![]);
        assert_eq!(all(b"\"\"").unwrap(), vec![Quoted(vec![])]);
        assert_eq!(all(b"{5+}").unwrap(), vec![Literal(5)]);
        // A quote or a literal ends an atom, except inside a section's brackets; a stray
        // `]` is part of its atom.
        assert_eq!(
            all(b"a\"b\" BODY[]{5}").unwrap(),
            vec![
                Atom(b"a"),
                Quoted(b"b".to_vec()),
                Atom(b"BODY[]"),
                Literal(5)
            ]
        );
        assert_eq!(
            all(br#"BODY[HEADER.FIELDS ("Subject" {3})] x] y"#).unwrap(),
            vec![
                Atom(br#"BODY[HEADER.FIELDS ("Subject" {3})]"#),
                Atom(b"x]"),
                Atom(b"y")
            ]
        );
        // Each refusal says what is wrong (the client shows it after the server's name).
        for (bad, why) in [
            (&b"\"open"[..], "a quoted string without its closing quote"),
            (b"\"a\\x\"", "a quoted string with a stray backslash"),
            (b"{5} x", "a literal that is not at the end of its line"),
            (b"{x}", "a literal that is not at the end of its line"),
            (b"{3}{5}", "a literal that is not at the end of its line"),
            (b"BODY[HEADER", "an unclosed [ in an atom"),
            (b"a\x01b", "a control character in an atom"),
            (b"a\x7fb", "a control character in an atom"),
            (b"BODY[\x1f]", "a control character in an atom"),
        ] {
            assert_eq!(all(bad).unwrap_err().to_string(), why, "{bad:?}");
        }
    }

    #[test]
    fn numbers() {
        assert_eq!(number(b"0"), Ok(0));
        assert_eq!(number(b"4294967295"), Ok(u32::MAX));
        assert_eq!(number(b"007"), Ok(7));
        for (bad, why) in [
            (&b"4294967296"[..], "a number larger than 32 bits"),
            (b"12345678901", "a number larger than 32 bits"),
            (b"", "not a number: "),
            (b"-1", "not a number: -1"),
            (b"+1", "not a number: +1"),
            (b"1a", "not a number: 1a"),
            (b"1\xff", "not a number: 1\u{fffd}"),
        ] {
            assert_eq!(number(bad).unwrap_err().to_string(), why, "{bad:?}");
        }
        assert_eq!(number64(b"5000000000"), Ok(5_000_000_000));
        assert_eq!(number64(b"18446744073709551615"), Ok(u64::MAX));
        assert_eq!(
            number64(b"18446744073709551616").unwrap_err().to_string(),
            "a number larger than 64 bits"
        );
        for bad in [&b""[..], b"x", b"+5", b" 5"] {
            assert!(number64(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn capabilities() {
        let c = parse_capabilities(
            b"IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH=PLAIN auth=scram-sha-256 LOGINDISABLED",
        );
        assert!(c.starttls && c.logindisabled && c.sasl_ir && c.idle && c.literal_plus);
        assert!(!c.uidplus && !c.imap4rev2);
        assert_eq!(c.auth, ["PLAIN", "SCRAM-SHA-256"]);
        let c = parse_capabilities(b"IMAP4rev1 UIDPLUS");
        assert!(c.uidplus && !c.starttls && c.auth.is_empty());
        let c = parse_capabilities(b"IMAP4rev2");
        assert!(c.uidplus && c.idle && c.sasl_ir);
        assert_eq!(
            capability_code(b"CAPABILITY IMAP4rev1 UIDPLUS"),
            Some(&b"IMAP4rev1 UIDPLUS"[..])
        );
        assert_eq!(capability_code(b"READ-ONLY"), None);
        assert_eq!(
            code_number(b"UIDVALIDITY 3857529045", "UIDVALIDITY"),
            Some(3857529045)
        );
        assert_eq!(code_number(b"uidnext 17", "UIDNEXT"), Some(17));
        assert_eq!(code_number(b"UIDNEXT x", "UIDNEXT"), None);
        assert_eq!(code_number(b"UIDNEXT 3", "UIDVALIDITY"), None);
    }

    #[test]
    fn untagged_data() {
        assert_eq!(parse_data(b"23 EXISTS"), Ok(Data::Exists(23)));
        assert_eq!(parse_data(b"3 expunge"), Ok(Data::Expunge(3)));
        assert_eq!(parse_data(b"0 RECENT"), Ok(Data::Recent(0)));
        assert_eq!(
            parse_data(b"7 FETCH (UID 9)"),
            Ok(Data::Fetch(7, &b"(UID 9)"[..]))
        );
        assert_eq!(parse_data(b"SEARCH 1 2"), Ok(Data::Search(&b"1 2"[..])));
        assert_eq!(parse_data(b"SEARCH"), Ok(Data::Search(&b""[..])));
        assert_eq!(
            parse_data(b"CAPABILITY IMAP4rev1"),
            Ok(Data::Capability(&b"IMAP4rev1"[..]))
        );
        assert_eq!(parse_data(b"FLAGS (\\Answered \\Seen)"), Ok(Data::Other));
        assert_eq!(
            parse_data(b"LIST () \"/\" x"),
            Ok(Data::List(&b"() \"/\" x"[..]))
        );
        assert_eq!(parse_data(b"ENABLED"), Ok(Data::Other));
        assert_eq!(parse_data(b"5 FOO"), Ok(Data::Other));
        assert!(parse_data(b"99999999999 EXISTS").is_err());
        assert_eq!(parse_search(b"2 84 882"), Ok(vec![2, 84, 882]));
        assert_eq!(parse_search(b""), Ok(vec![]));
        assert_eq!(parse_search(b"1 3 (MODSEQ 917162500)"), Ok(vec![1, 3]));
        assert!(parse_search(b"1 x").is_err());
    }

    #[test]
    fn search_answers_are_checked_against_uidnext() {
        assert_eq!(check_search(&[], Some(1), 0), Ok(()));
        assert_eq!(check_search(&[1, 2, 3], Some(4), 0), Ok(()));
        assert_eq!(check_search(&[1, 2, 3], None, 0), Ok(()));
        assert_eq!(
            check_search(&[0, 2], None, 5),
            Err(bad("UID 0, which no message has"))
        );
        // One bogus UID is enough to refuse the answer.
        assert_eq!(
            check_search(&[1, 2, 4000000000], Some(4), 0),
            Err(bad(
                "UID 4000000000, not below the folder's UIDNEXT 4, with no new messages announced since it was selected"
            ))
        );
        assert!(check_search(&[4], Some(4), 0).is_err());
        // Messages announced since may have UIDs at or above it, as many as were announced.
        assert_eq!(check_search(&[3, 4, 9], Some(4), 2), Ok(()));
        assert_eq!(
            check_search(&[3, 4, 9], Some(4), 1),
            Err(bad(
                "UID 9, not below the folder's UIDNEXT 4, with 1 new message announced since it was selected"
            ))
        );
        assert_eq!(check_search(&[u32::MAX], Some(u32::MAX), 1), Ok(()));
    }

    #[test]
    fn list_answers() {
        let f = parse_list(b"(\\HasNoChildren) \"/\" INBOX", None).unwrap();
        assert_eq!(
            (f.raw.as_slice(), f.noselect, f.delimiter),
            (&b"INBOX"[..], false, Some(b'/'))
        );
        let f = parse_list(b"(\\Noselect \\HasChildren) \".\" \"a b\"", None).unwrap();
        assert_eq!(
            (f.raw.as_slice(), f.noselect, f.delimiter),
            (&b"a b"[..], true, Some(b'.'))
        );
        let f = parse_list(b"() NIL {5}", Some(b"x\"y z".to_vec())).unwrap();
        assert_eq!((f.raw.as_slice(), f.delimiter), (&b"x\"y z"[..], None));
        for bad in [
            &b"\\HasNoChildren \"/\" INBOX"[..],
            b"() \"/\"",
            b"() \"//\" x",
            b"(\"x\") \"/\" x",
            b"() \"/\" {5}",
            b"() X INBOX",
        ] {
            assert!(parse_list(bad, None).is_err(), "{bad:?}");
        }
    }

    /// Feeds `pieces` (the text after FETCH, then what follows each literal), checking the
    /// literals announced; returns the items.
    fn fetch(pieces: &[&[u8]], literals: &[(u64, bool)]) -> Parsed<FetchItems> {
        let mut p = FetchParser::new();
        let mut seen = Vec::new();
        for piece in pieces {
            match p.feed(piece)? {
                Next::Literal { len, body } => seen.push((len, body)),
                Next::Done => {
                    assert_eq!(seen, literals);
                    return Ok(p.items);
                }
            }
        }
        Err(bad("unfinished"))
    }

    #[test]
    fn fetch_items_in_any_order() {
        let want = FetchItems {
            uid: Some(40),
            size: Some(12),
            body: true,
            body_nil: false,
        };
        // As asked.
        assert_eq!(
            fetch(
                &[b"(UID 40 RFC822.SIZE 12 BODY[] {12}", b")"],
                &[(12, true)]
            ),
            Ok(want.clone())
        );
        // The UID after the message, and unrequested items around it.
        assert_eq!(
            fetch(
                &[
                    b"(FLAGS (\\Seen (x {3}",
                    b") \\Recent) BODY[] {12}",
                    b" INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" RFC822.SIZE 12 UID 40)"
                ],
                &[(3, false), (12, true)]
            ),
            Ok(want.clone())
        );
        // A header literal before the body, in any case.
        assert_eq!(
            fetch(
                &[
                    b"(body[header] {3}",
                    b" uid 40 body[] {12}",
                    b" rfc822.size 12)"
                ],
                &[(3, false), (12, true)]
            ),
            Ok(want)
        );
        // Unsolicited flag changes: no UID or body.
        assert_eq!(
            fetch(&[b"(FLAGS (\\Deleted))"], &[]),
            Ok(FetchItems::default())
        );
        // An unrequested item with an atom value is passed over.
        assert_eq!(
            fetch(&[b"(UID 5 X-GM-THRID 123 MODSEQ (7))"], &[]),
            Ok(FetchItems {
                uid: Some(5),
                ..FetchItems::default()
            })
        );
        let nil = fetch(&[b"(UID 5 BODY[] NIL)"], &[]).unwrap();
        assert!(nil.body_nil && !nil.body);
        for bad_fetch in [
            &[&b"UID 4)"[..]][..],
            &[b"(UID x)"],
            &[b"(UID 0)"],
            &[b"(UID 4"],
            &[b"(UID 4) x"],
            &[b"(UID 4))"],
            &[b"(BODY[] \"hi\")"],
            &[b"(BODY[] x)"],
            &[b"(BODY[] {1}", b" BODY[] {1}", b")"],
            &[b"(UID 3 UID 4)"],
            &[b"(UID {1}", b")"],
            &[b"(UID"],
        ] {
            assert!(
                fetch(bad_fetch, &[(1, true), (1, true)]).is_err(),
                "{bad_fetch:?}"
            );
        }
    }

    #[test]
    fn modified_utf7() {
        for (name, wire) in [
            ("INBOX", "INBOX"),
            ("Entw\u{fc}rfe", "Entw&APw-rfe"),
            (
                "~peter/mail/\u{53f0}\u{5317}/\u{65e5}\u{672c}\u{8a9e}",
                "~peter/mail/&U,BTFw-/&ZeVnLIqe-",
            ),
            ("A&B", "A&-B"),
            ("&", "&-"),
            ("\u{1f600}", "&2D3eAA-"),
            ("a b", "a b"),
        ] {
            assert_eq!(utf7_encode(name), wire, "{name}");
            assert_eq!(
                utf7_decode(wire.as_bytes()).as_deref(),
                Some(name),
                "{wire}"
            );
        }
        for bad in [
            &b"&Jjo"[..],
            b"&AGE-",
            b"\xc3\xbc",
            b"&U,BTFw",
            b"&U,BTF-",
            b"&2D0-",
            b"a\x01",
            // Leftover bits that are not zero; padding; the standard alphabet's `/`.
            b"&APx-",
            b"&APw=-",
            b"&U/BTFw-",
        ] {
            assert_eq!(utf7_decode(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn astrings() {
        assert_eq!(astring("bob"), Astring::Atom("bob".into()));
        assert_eq!(
            astring("bob@example.com"),
            Astring::Atom("bob@example.com".into())
        );
        assert_eq!(astring(""), Astring::Quoted("\"\"".into()));
        assert_eq!(astring("a b"), Astring::Quoted("\"a b\"".into()));
        assert_eq!(
            astring("a\"b\\c"),
            Astring::Quoted("\"a\\\"b\\\\c\"".into())
        );
        assert_eq!(astring("p(x)*%{"), Astring::Quoted("\"p(x)*%{\"".into()));
        assert_eq!(astring("p\u{e4}ss"), Astring::Literal("p\u{e4}ss".into()));
        assert_eq!(astring("a\tb"), Astring::Literal("a\tb".into()));
        assert_eq!(astring("a\u{7f}b"), Astring::Literal("a\u{7f}b".into()));
        assert_eq!(astring("~!"), Astring::Atom("~!".into()));
    }

    #[test]
    fn uid_set_batches() {
        let sets = uid_sets(&[1, 2, 3, 5, 7, 8, 9, 10], 100, 1000);
        assert_eq!(
            sets,
            vec![("1:3,5,7:10".to_string(), vec![1, 2, 3, 5, 7, 8, 9, 10])]
        );
        let sets = uid_sets(&[1, 2, 3, 5, 7, 8, 9, 10], 3, 1000);
        let texts: Vec<&str> = sets.iter().map(|s| s.0.as_str()).collect();
        assert_eq!(texts, ["1:3", "5,7:8", "9:10"]);
        assert_eq!(sets.iter().map(|s| s.1.len()).sum::<usize>(), 8);
        let sets = uid_sets(&[10, 20, 30, 40], 100, 5);
        let texts: Vec<&str> = sets.iter().map(|s| s.0.as_str()).collect();
        assert_eq!(texts, ["10,20", "30,40"]);
        assert!(uid_sets(&[], 10, 10).is_empty());
        // The length limit at its edge: "10,20" is five characters.
        let texts =
            |sets: Vec<(String, Vec<u32>)>| sets.into_iter().map(|s| s.0).collect::<Vec<_>>();
        assert_eq!(texts(uid_sets(&[10, 20], 100, 5)), ["10,20"]);
        assert_eq!(texts(uid_sets(&[10, 20], 100, 4)), ["10", "20"]);
        // A run longer than a batch, and one that fills what a batch has left.
        assert_eq!(
            texts(uid_sets(&[1, 2, 3, 4, 5], 2, 100)),
            ["1:2", "3:4", "5"]
        );
        assert_eq!(texts(uid_sets(&[1, 3, 4, 5, 6], 3, 100)), ["1,3:4", "5:6"]);
        let many: Vec<u32> = (1..=1000).map(|i| i * 2).collect();
        for (text, members) in uid_sets(&many, 50, 200) {
            assert!(text.len() <= 200 && members.len() <= 50, "{text}");
        }
        assert_eq!(
            uid_sets(&many, 50, 200)
                .iter()
                .flat_map(|s| s.1.clone())
                .collect::<Vec<_>>(),
            many
        );
    }

    #[test]
    fn search_dates() {
        assert_eq!(search_date("2026-02-01").as_deref(), Some("1-Feb-2026"));
        assert_eq!(search_date("2024-02-29").as_deref(), Some("29-Feb-2024"));
        assert_eq!(search_date("2000-02-29").as_deref(), Some("29-Feb-2000"));
        assert_eq!(search_date("1900-01-01").as_deref(), Some("1-Jan-1900"));
        assert_eq!(search_date("2026-12-31").as_deref(), Some("31-Dec-2026"));
        for bad in [
            "2025-02-29",
            "2026-13-01",
            "2026-1-01",
            "26-01-01",
            "2026-01-00",
            "x",
            "2026-01-01-01",
            "1800-01-01",
            "2100-02-29",
            "1900-02-29",
            "2026-04-31",
            "2026-12-32",
            "+026-01-01",
            "2026-+1-01",
            "2026-01-+1",
        ] {
            assert_eq!(search_date(bad), None, "{bad}");
        }
    }
}
