//! The message: top-level header fields, the text body (with an optional HTML alternative
//! and its related inline parts) and attachments, written as one stream.
//!
//! Structure (RFC 2046 5.1): `multipart/mixed` when there are attachments, around
//! `multipart/alternative` when there is `--html`, around `multipart/related` when the HTML
//! has inline parts. Without any of these the message is a single text part.

use super::Eol;
use super::base64::encode_stream;
use super::header::{self, fold, param_tokens};
use super::output::Output;
use super::qp::QpEncoder;
use super::scan::{self, Encoding, TextChoice};
use super::source::{Input, SNIFF};
use super::text::SevenBit;
use crate::error::{Error, Kind, Result};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// The top-level header fields, validated and folded as they are added.
#[derive(Debug, Default)]
pub struct HeaderFields {
    lines: Vec<String>,
    date: Option<Vec<String>>,
    message_id: Option<Vec<String>>,
}

impl HeaderFields {
    pub fn new() -> Self {
        HeaderFields::default()
    }

    /// From, To, Cc, Bcc, Reply-To: every value of the flag may hold a comma-separated list.
    /// Nothing is written for an empty list. `single` refuses more than one mailbox.
    pub fn mailboxes(
        &mut self,
        field: &str,
        flag: &str,
        values: &[String],
        smtputf8: bool,
        single: bool,
    ) -> Result<()> {
        let mut list = Vec::new();
        for v in values {
            list.extend(header::parse_mailboxes(flag, v, smtputf8)?);
        }
        if single && list.len() > 1 {
            return Err(Error::new(
                Kind::Usage,
                format!("{flag}: give a single address"),
            ));
        }
        if !list.is_empty() {
            let tokens = header::mailbox_tokens(field, &list);
            self.lines
                .extend(header::fold_checked(flag, field, &tokens)?);
        }
        Ok(())
    }

    /// An unstructured field such as Subject; non-ASCII becomes RFC 2047 encoded-words.
    pub fn unstructured(&mut self, field: &str, flag: &str, value: &str) -> Result<()> {
        header::no_line_breaks(flag, value)?;
        self.lines
            .extend(fold(field, &header::unstructured(field, value)));
        Ok(())
    }

    /// `--header "Name: value"`. Date and Message-ID replace the generated ones; fields that
    /// have their own flag, and the MIME fields mime-pack writes itself, are refused.
    /// Structured fields (Date, Message-ID, In-Reply-To, References, Resent-*, ...) are
    /// printable ASCII folded at whitespace, never encoded-words (RFC 2047 5); any other
    /// field is unstructured text.
    pub fn custom(&mut self, flag: &str, raw: &str) -> Result<()> {
        header::no_line_breaks(flag, raw)?;
        let Some((name, value)) = raw.split_once(':') else {
            return Err(Error::new(
                Kind::Usage,
                format!("{flag}: expected \"Name: value\": {raw:?}"),
            ));
        };
        if !header::is_field_name(name) {
            return Err(Error::new(
                Kind::Usage,
                format!("{flag}: not a valid header field name: {name:?}"),
            ));
        }
        let lower = name.to_ascii_lowercase();
        let own_flag = match lower.as_str() {
            "from" => Some("--from"),
            "to" => Some("--to"),
            "cc" => Some("--cc"),
            "bcc" => Some("--bcc"),
            "reply-to" => Some("--reply-to"),
            "subject" => Some("--subject"),
            _ => None,
        };
        if let Some(own) = own_flag {
            return Err(Error::new(
                Kind::Usage,
                format!("{flag}: use {own} for the {name} field"),
            ));
        }
        if lower == "mime-version" || lower.starts_with("content-") {
            return Err(Error::new(
                Kind::Usage,
                format!("{flag}: mime-pack writes the {name} field itself"),
            ));
        }
        let value = value.trim_matches([' ', '\t']);
        if value.is_empty() && (lower == "date" || lower == "message-id") {
            return Err(Error::new(
                Kind::Usage,
                format!("{flag}: {name} needs a value"),
            ));
        }
        let lines = if header::is_structured(name) {
            header::fold_checked(flag, name, &header::structured(flag, name, value)?)?
        } else {
            fold(name, &header::unstructured(name, value))
        };
        match lower.as_str() {
            "date" => self.date = Some(lines),
            "message-id" => self.message_id = Some(lines),
            _ => self.lines.extend(lines),
        }
        Ok(())
    }

    /// The folded lines: Date first, then the fields in the order given, Message-ID and
    /// MIME-Version last.
    pub fn finish(self) -> Result<Vec<String>> {
        let (unix, offset) = super::date::now();
        let mut out = match self.date {
            Some(d) => d,
            None => vec![format!("Date: {}", super::date::format(unix, offset))],
        };
        out.extend(self.lines);
        match self.message_id {
            Some(m) => out.extend(m),
            None => out.push(format!(
                "Message-ID: {}",
                super::date::message_id(unix, &crate::util::host::host_name())?
            )),
        }
        out.push("MIME-Version: 1.0".into());
        Ok(out)
    }
}

/// A file given to `--attach` or `--inline`: `FILE;type=T;name=N;charset=C;cid=ID`.
/// FILE is any path, UTF-8 or not; the values go into headers and must be UTF-8.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileSpec {
    pub path: PathBuf,
    pub media_type: Option<String>,
    pub name: Option<String>,
    pub charset: Option<String>,
    pub cid: Option<String>,
}

impl FileSpec {
    /// Splits at each `;key=` for the known `keys`, so a `;` elsewhere stays in the path or
    /// the value. Works on bytes: the path part need not be UTF-8.
    pub fn parse(flag: &str, arg: impl AsRef<OsStr>, keys: &[&str]) -> Result<FileSpec> {
        let arg = arg.as_ref();
        header::no_line_breaks(flag, arg)?;
        let bad = |why: String| {
            Error::new(
                Kind::Usage,
                format!("{flag}: {why}: {}", header::elide(&format!("{arg:?}"))),
            )
        };
        let bytes = arg.as_bytes();
        let mut cuts: Vec<(usize, &str)> = Vec::new();
        for i in (0..bytes.len()).filter(|&i| bytes[i] == b';') {
            let after = &bytes[i + 1..];
            if let Some(k) = keys
                .iter()
                .find(|k| after.starts_with(k.as_bytes()) && after[k.len()..].starts_with(b"="))
            {
                cuts.push((i, k));
            }
        }
        let path_end = cuts.first().map_or(bytes.len(), |c| c.0);
        let mut spec = FileSpec {
            path: PathBuf::from(OsStr::from_bytes(&bytes[..path_end])),
            ..FileSpec::default()
        };
        if spec.path.as_os_str().is_empty() {
            return Err(bad("no file name".into()));
        }
        for (n, &(at, key)) in cuts.iter().enumerate() {
            let end = cuts.get(n + 1).map_or(bytes.len(), |c| c.0);
            let value = std::str::from_utf8(&bytes[at + key.len() + 2..end])
                .map_err(|_| bad(format!("{key}= is not UTF-8")))?
                .to_string();
            let slot = match key {
                "type" => &mut spec.media_type,
                "name" => &mut spec.name,
                "charset" => &mut spec.charset,
                _ => &mut spec.cid,
            };
            if slot.replace(value).is_some() {
                return Err(bad(format!("{key}= given twice")));
            }
        }
        if let Some(t) = &spec.media_type {
            if !header::is_media_type(t) {
                return Err(bad(format!(
                    "type={} is not a media type like image/png (at most 127 characters each side)",
                    header::elide(t)
                )));
            }
        }
        if let Some(c) = &spec.charset {
            if !header::is_charset(c) {
                return Err(bad(format!(
                    "charset={} is not a charset name",
                    header::elide(c)
                )));
            }
        }
        if let Some(c) = &spec.cid {
            if !is_cid(c) {
                return Err(bad(format!(
                    "cid={} must be like part1@example.com, at most {} characters",
                    header::elide(c),
                    header::MAX_CID
                )));
            }
        }
        if spec.name.as_deref() == Some("") {
            return Err(bad("name= is empty".into()));
        }
        // An inline part without cid= gets one from its name: it must fit its line too.
        if keys.contains(&"cid") && spec.cid.is_none() {
            if let Some(n) = spec.display_name() {
                if default_cid(&n).len() > header::MAX_CID {
                    return Err(bad(format!(
                        "the name is too long to serve as the Content-ID (at most {} characters): give cid=",
                        header::MAX_CID
                    )));
                }
            }
        }
        Ok(spec)
    }

    /// The file name shown to the recipient: `name=`, else the path's last component, with
    /// each byte that is not part of a UTF-8 character replaced by `_` (as mutt does).
    pub fn display_name(&self) -> Option<String> {
        if let Some(n) = &self.name {
            return Some(n.clone());
        }
        if self.path.as_os_str() == "-" {
            return None;
        }
        self.path
            .file_name()
            .map(|n| utf8_or_underscores(n.as_bytes()))
    }
}

/// `bytes` as text: UTF-8 kept, every other byte `_`.
fn utf8_or_underscores(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        s.push_str(chunk.valid());
        s.extend(std::iter::repeat_n('_', chunk.invalid().len()));
    }
    s
}

/// A Content-ID (RFC 2392) we accept: dot-atom text, optionally `@` and more, short enough
/// for its header line.
fn is_cid(s: &str) -> bool {
    if s.len() > header::MAX_CID {
        return false;
    }
    let ok = |p: &str| {
        !p.is_empty()
            && p.split('.').all(|a| {
                !a.is_empty()
                    && a.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c))
            })
    };
    match s.split_once('@') {
        Some((l, r)) => ok(l) && ok(r),
        None => ok(s),
    }
}

/// The default Content-ID for an inline file: its name, other characters as `_`.
fn default_cid(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let s = s.trim_matches('.').replace("..", "_");
    if s.is_empty() { "part".into() } else { s }
}

/// A text body (`text/plain` from `--body`/stdin, or `text/html`).
pub struct TextPart {
    pub input: Input,
    pub subtype: &'static str,
    pub charset: Option<String>,
    pub choice: Option<TextChoice>,
}

/// An attached or inline file; always base64, so its bytes arrive unchanged.
pub struct FilePart {
    pub input: Input,
    pub name: Option<String>,
    pub media_type: String,
    pub charset: Option<String>,
    pub cid: Option<String>,
}

impl FilePart {
    /// Decides the Content-Type: `type=`, else guessed from the name, else sniffed from the
    /// first 8 KiB (text if it has no NUL and is UTF-8, else application/octet-stream).
    /// A text/* file gets a charset: `charset=`, else from a full scan of a regular file
    /// (us-ascii, utf-8, or none when neither); none for a pipe.
    pub fn new(spec: &FileSpec, mut input: Input) -> Result<FilePart> {
        let name = spec.display_name();
        let guessed = name
            .as_deref()
            .and_then(|n| mime_guess::from_path(n).first_raw())
            .map(str::to_string);
        let media_type = match (&spec.media_type, guessed) {
            (Some(t), _) => t.clone(),
            (None, Some(g)) => g,
            (None, None) => {
                let head = input.peek(SNIFF)?;
                if looks_like_text(&head) {
                    "text/plain".into()
                } else {
                    "application/octet-stream".into()
                }
            }
        };
        let mut charset = spec.charset.clone();
        if charset.is_none()
            && media_type.to_ascii_lowercase().starts_with("text/")
            && input.is_rereadable()
        {
            let (stats, _) = input.scan(&[])?;
            charset = if stats.non_ascii == 0 {
                Some("us-ascii".into())
            } else if stats.utf8 {
                Some("utf-8".into())
            } else {
                None
            };
        }
        Ok(FilePart {
            input,
            name,
            media_type,
            charset,
            cid: None,
        })
    }
}

/// Text if it is not empty, holds no NUL, and is UTF-8 (a sequence cut at the end is fine).
pub fn looks_like_text(head: &[u8]) -> bool {
    if head.is_empty() || head.contains(&0) {
        return false;
    }
    match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none() && head.len() - e.valid_up_to() < 4,
    }
}

enum Node {
    Text,
    Html,
    Inline(usize),
    Attach(usize),
    Multi(&'static str, usize, Vec<Node>),
}

pub struct Message {
    pub headers: Vec<String>,
    pub body: TextPart,
    pub html: Option<TextPart>,
    pub inline: Vec<FilePart>,
    pub attachments: Vec<FilePart>,
    boundaries: Vec<String>,
}

/// How many times boundaries are drawn again before giving up (each draw has ~143 random
/// bits, so a second draw only happens when the content holds the first on purpose).
const DRAWS: usize = 8;

impl Message {
    /// Reads what must be known before the first byte is written: the text bodies are made
    /// re-readable and scanned to choose their encodings; boundaries are drawn until none
    /// occurs in a 7bit body or a part header.
    pub fn prepare(
        headers: Vec<String>,
        mut body: TextPart,
        mut html: Option<TextPart>,
        mut inline: Vec<FilePart>,
        attachments: Vec<FilePart>,
        draw: &mut dyn FnMut() -> Result<String>,
    ) -> Result<Message> {
        for (i, p) in inline.iter_mut().enumerate() {
            if p.cid.is_none() {
                p.cid = Some(default_cid(
                    p.name.as_deref().unwrap_or(&format!("part{}", i + 1)),
                ));
            }
        }
        body.input.make_rereadable()?;
        if let Some(h) = &mut html {
            h.input.make_rereadable()?;
        }
        let mut msg = Message {
            headers,
            body,
            html,
            inline,
            attachments,
            boundaries: Vec::new(),
        };
        for _ in 0..DRAWS {
            let b: Vec<String> = (0..3).map(|_| draw()).collect::<Result<_>>()?;
            if b[0] == b[1] || b[1] == b[2] || b[0] == b[2] {
                continue;
            }
            let mut clash = false;
            for part in std::iter::once(&mut msg.body).chain(msg.html.as_mut()) {
                let (stats, found) = part.input.scan(&b)?;
                let media = format!("text/{}", part.subtype);
                let choice = scan::choose(&stats, &media, part.charset.as_deref());
                if part.subtype == "html" && choice.charset.is_none() {
                    // An HTML alternative sent as application/octet-stream would be no
                    // alternative at all.
                    return Err(Error::new(
                        Kind::Data,
                        format!(
                            "{}: the HTML is not UTF-8: give its charset with --charset",
                            part.input.name()
                        ),
                    ));
                }
                clash |= found && choice.encoding == Encoding::SevenBit;
                part.choice = Some(choice);
            }
            msg.boundaries = b;
            let leaves = [Node::Text, Node::Html]
                .into_iter()
                .chain((0..msg.inline.len()).map(Node::Inline))
                .chain((0..msg.attachments.len()).map(Node::Attach));
            for leaf in leaves {
                for line in msg.part_headers(&leaf) {
                    clash |= msg.boundaries.iter().any(|bd| line.contains(bd.as_str()));
                }
            }
            if !clash {
                return Ok(msg);
            }
        }
        Err(Error::new(
            Kind::Software,
            format!("no boundary found that does not occur in the content after {DRAWS} draws"),
        ))
    }

    fn tree(&self) -> Node {
        let html = if self.inline.is_empty() {
            Node::Html
        } else {
            Node::Multi(
                "related",
                2,
                std::iter::once(Node::Html)
                    .chain((0..self.inline.len()).map(Node::Inline))
                    .collect(),
            )
        };
        let body = if self.html.is_some() {
            Node::Multi("alternative", 1, vec![Node::Text, html])
        } else {
            Node::Text
        };
        if self.attachments.is_empty() {
            body
        } else {
            Node::Multi(
                "mixed",
                0,
                std::iter::once(body)
                    .chain((0..self.attachments.len()).map(Node::Attach))
                    .collect(),
            )
        }
    }

    /// The folded header lines of one part.
    fn part_headers(&self, node: &Node) -> Vec<String> {
        let text = |p: Option<&TextPart>| {
            let Some(choice) = p.and_then(|p| p.choice.as_ref()) else {
                return Vec::new();
            };
            let mut ct = choice.media_type.clone();
            if let Some(c) = &choice.charset {
                ct.push_str(&format!("; charset={}", quote_token(c)));
            }
            vec![
                format!("Content-Type: {ct}"),
                format!("Content-Transfer-Encoding: {}", choice.encoding.name()),
            ]
        };
        match node {
            Node::Text => text(Some(&self.body)),
            Node::Html => text(self.html.as_ref()),
            Node::Inline(i) => file_headers(&self.inline[*i], "inline"),
            Node::Attach(i) => file_headers(&self.attachments[*i], "attachment"),
            Node::Multi(sub, b, kids) => {
                let mut tokens = vec![format!("multipart/{sub};")];
                if *sub == "related" && kids.len() > 1 {
                    tokens.push(" type=\"text/html\";".into());
                }
                tokens.push(format!(" boundary=\"{}\"", self.boundaries[*b]));
                fold("Content-Type", &tokens)
            }
        }
    }

    /// Writes the whole message, ending with a line break. A single-part body that already
    /// ends with one gets no other; one that does not gets a soft line break (`=`) when it is
    /// quoted-printable, so its text arrives unchanged, and a plain line break when it is
    /// 7bit (the one case where a final newline is added to the text).
    pub fn write(&mut self, out: &mut Output, eol: Eol) -> Result<()> {
        for line in &self.headers {
            out.put(line.as_bytes())?;
            out.put(eol.bytes())?;
        }
        let tree = self.tree();
        self.write_node(&tree, out, eol)?;
        let single = !matches!(tree, Node::Multi(..));
        if single && out.at_line_start() {
            return Ok(());
        }
        let qp = self.body.choice.as_ref().map(|c| c.encoding) == Some(Encoding::QuotedPrintable);
        if single && qp {
            out.put(b"=")?;
        }
        out.put(eol.bytes())
    }

    fn write_node(&mut self, node: &Node, out: &mut Output, eol: Eol) -> Result<()> {
        for line in self.part_headers(node) {
            out.put(line.as_bytes())?;
            out.put(eol.bytes())?;
        }
        out.put(eol.bytes())?;
        match node {
            Node::Text => write_text(&mut self.body, out, eol),
            Node::Html => match &mut self.html {
                Some(h) => write_text(h, out, eol),
                None => Ok(()),
            },
            Node::Inline(i) => write_base64(&mut self.inline[*i].input, out, eol),
            Node::Attach(i) => write_base64(&mut self.attachments[*i].input, out, eol),
            Node::Multi(_, b, kids) => {
                let delim = format!("--{}", self.boundaries[*b]);
                for kid in kids {
                    out.put(delim.as_bytes())?;
                    out.put(eol.bytes())?;
                    self.write_node(kid, out, eol)?;
                    out.put(eol.bytes())?;
                }
                out.put(delim.as_bytes())?;
                out.put(b"--")
            }
        }
    }
}

/// A parameter value as a token, or quoted if it is not one.
fn quote_token(v: &str) -> String {
    if header::is_token(v) {
        v.to_string()
    } else {
        format!("\"{}\"", v.replace(['"', '\\'], "_"))
    }
}

fn file_headers(p: &FilePart, disposition: &str) -> Vec<String> {
    let mut ct = vec![format!("{};", p.media_type)];
    if let Some(c) = &p.charset {
        ct.push(format!(" charset={};", quote_token(c)));
    }
    let mut cd = vec![format!("{disposition};")];
    if let Some(n) = &p.name {
        ct.extend(param_tokens("name", n));
        cd.extend(param_tokens("filename", n));
    }
    // The last token of each list must not end with ';'.
    for list in [&mut ct, &mut cd] {
        if let Some(last) = list.last_mut() {
            if last.ends_with(';') {
                last.pop();
            }
        }
    }
    let mut lines = fold("Content-Type", &ct);
    lines.extend(fold("Content-Disposition", &cd));
    lines.push("Content-Transfer-Encoding: base64".into());
    if let Some(cid) = &p.cid {
        lines.push(format!("Content-ID: <{cid}>"));
    }
    lines
}

fn write_base64(input: &mut Input, out: &mut Output, eol: Eol) -> Result<()> {
    let name = input.name().to_string();
    let mut r = input.reader()?;
    encode_stream(&mut r, &name, eol, &mut |b| out.put(b))?;
    Ok(())
}

fn write_text(part: &mut TextPart, out: &mut Output, eol: Eol) -> Result<()> {
    let encoding = part
        .choice
        .as_ref()
        .map_or(Encoding::Base64, |c| c.encoding);
    let name = part.input.name().to_string();
    let changed = || Error::new(Kind::Io, format!("{name}: changed while being read"));
    let mut buf = Vec::new();
    match encoding {
        Encoding::Base64 => write_base64(&mut part.input, out, eol),
        Encoding::QuotedPrintable => {
            let mut qp = QpEncoder::new(eol);
            part.input.each_chunk(&mut |c| {
                buf.clear();
                qp.encode(c, &mut buf);
                out.put(&buf)
            })?;
            buf.clear();
            qp.finish(&mut buf);
            out.put(&buf)
        }
        Encoding::SevenBit => {
            let mut sb = SevenBit::new(eol);
            part.input.each_chunk(&mut |c| {
                buf.clear();
                sb.encode(c, &mut buf).map_err(|_| changed())?;
                out.put(&buf)
            })?;
            sb.finish().map_err(|_| changed())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_specs_split_at_known_keys_only() {
        let k = ["type", "name", "charset"];
        let s = FileSpec::parse("--attach", "a;b.txt;type=text/plain;name=x;y.txt", &k).unwrap();
        assert_eq!(s.path, std::path::Path::new("a;b.txt"));
        assert_eq!(s.media_type.as_deref(), Some("text/plain"));
        assert_eq!(s.name.as_deref(), Some("x;y.txt"));
        for bad in [
            "",
            ";type=a/b",
            "f;type=nope",
            "f;name=",
            "f;type=a/b;type=c/d",
            "f;charset=a b",
            "f\nX: y",
        ] {
            let e = FileSpec::parse("--attach", bad, &k).unwrap_err();
            assert_eq!(e.exit_code(), 64, "{bad}");
            assert!(e.to_string().starts_with("--attach: "));
        }
        // cid= is not a key for --attach: it stays part of the path.
        assert_eq!(
            FileSpec::parse("--attach", "f;cid=x", &k).unwrap().path,
            std::path::Path::new("f;cid=x")
        );
        // The path is bytes; the values are UTF-8.
        let s =
            FileSpec::parse("--attach", OsStr::from_bytes(b"\xff;x;name=n\xc3\xa9"), &k).unwrap();
        assert_eq!(s.path.as_os_str().as_bytes(), b"\xff;x");
        assert_eq!(s.name.as_deref(), Some("n\u{e9}"));
        let e = FileSpec::parse("--attach", OsStr::from_bytes(b"f;type=a/\xff"), &k).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--attach: type= is not UTF-8: \"f;type=a/\\xFF\""
        );
        let unnamed = |b: &[u8]| {
            FileSpec::parse("--attach", OsStr::from_bytes(b), &k)
                .unwrap()
                .display_name()
        };
        assert_eq!(unnamed(b"dir\xfe/\xff\xc3.bin").as_deref(), Some("__.bin"));
        assert_eq!(
            unnamed(b"caf\xc3\xa9.txt").as_deref(),
            Some("caf\u{e9}.txt")
        );
        assert_eq!(unnamed(b"-"), None);
        let i =
            FileSpec::parse("--inline", "logo.png;cid=logo@x", &["type", "name", "cid"]).unwrap();
        assert_eq!(i.cid.as_deref(), Some("logo@x"));
        assert!(FileSpec::parse("--inline", "l;cid=<x>", &["cid"]).is_err());
    }

    #[test]
    fn custom_headers_are_checked() {
        let mut e = HeaderFields::new();
        e.custom("--header", "X-Build: 451").unwrap();
        e.custom("--header", "Date: Thu, 01 Jan 1970 00:00:00 +0000")
            .unwrap();
        for bad in [
            "X-Build 451",
            "X Build: 1",
            ": x",
            "Subject: x",
            "content-type: text/html",
            "MIME-Version: 2",
            "Date:",
            "X: a\r\nBcc: b@c",
        ] {
            let err = e.custom("--header", bad).unwrap_err();
            assert_eq!(err.exit_code(), 64, "{bad}");
            assert!(err.to_string().starts_with("--header: "), "{err}");
        }
        let lines = e.finish().unwrap();
        assert_eq!(lines[0], "Date: Thu, 01 Jan 1970 00:00:00 +0000");
        assert_eq!(lines[1], "X-Build: 451");
        assert!(lines[2].starts_with("Message-ID: <"));
    }

    /// A message with `body` as its text and one attachment named `att_name`, prepared with
    /// boundaries drawn from `draws` in turn; returns what was written and the draws used.
    fn pack(body: &[u8], att_name: &str, draws: &[&str]) -> (Result<String>, usize) {
        let mut next = 0;
        let mut draw = || {
            let b = draws[next.min(draws.len() - 1)].to_string();
            next += 1;
            Ok(b)
        };
        let spec = FileSpec {
            path: "x".into(),
            name: Some(att_name.into()),
            ..FileSpec::default()
        };
        let att = FilePart::new(&spec, Input::memory("x", vec![1, 2, 3])).unwrap();
        let body = TextPart {
            input: Input::memory("body", body.to_vec()),
            subtype: "plain",
            charset: None,
            choice: None,
        };
        let msg = Message::prepare(
            vec!["From: a@b.c".into()],
            body,
            None,
            vec![],
            vec![att],
            &mut draw,
        );
        let mut msg = match msg {
            Ok(m) => m,
            Err(e) => return (Err(e), next),
        };
        let dir = crate::util::test_folder("mime-msg");
        let path = dir.join("m.eml");
        let mut out = Output::file(&path, false).unwrap();
        msg.write(&mut out, Eol::Lf).unwrap();
        out.finish().unwrap();
        let text = String::from_utf8(std::fs::read(&path).unwrap()).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        (Ok(text), next)
    }

    #[test]
    fn boundaries_are_drawn_again_when_a_7bit_body_holds_one() {
        let draws = ["=_A", "=_B", "=_C", "=_D", "=_E", "=_F"];
        // 7bit body containing the first boundary: the first draw is rejected.
        let (out, used) = pack(b"x\n--=_A\n", "f.bin", &draws);
        let out = out.unwrap();
        assert_eq!(used, 6);
        assert!(out.contains("boundary=\"=_D\""), "{out}");
        assert!(out.contains("\n--=_A\n"));
        // The same text in a quoted-printable body is safe by construction: no redraw.
        let (out, used) = pack("caf\u{e9} x\n--=_A\n".as_bytes(), "f.bin", &draws);
        let out = out.unwrap();
        assert_eq!(used, 3);
        assert!(out.contains("Content-Transfer-Encoding: quoted-printable"));
        assert!(out.contains("boundary=\"=_A\""));
        assert!(out.contains("\n--=3D_A\n"), "{out}");
        // A part header holding a boundary (a file name) is a clash too.
        let (out, used) = pack(b"hi\n", "=_B.bin", &draws);
        assert_eq!(used, 6);
        assert!(out.unwrap().contains("boundary=\"=_D\""));
        // Content that holds every draw: give up with an internal error, not a broken message.
        let (out, _) = pack(b"=_A=_B=_C", "f", &["=_A", "=_B", "=_C"]);
        assert_eq!(out.unwrap_err().exit_code(), 70);
    }

    /// Prepares a message whose text body (and, with `attach`, a text attachment) is the file
    /// `dir/name` holding `before`, rewrites that file in place to `after` between the scan and
    /// the send, and writes the message to `dir/m.eml`.
    fn changed_between_scan_and_send(
        dir: &std::path::Path,
        before: &[u8],
        after: &[u8],
        attach: bool,
    ) -> Result<()> {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).unwrap();
        let path = dir.join("text.txt");
        std::fs::write(&path, before).unwrap();
        let path_str = path.to_str().unwrap();
        let (body, attachments) = if attach {
            let spec = FileSpec {
                path: path_str.into(),
                ..FileSpec::default()
            };
            let att = FilePart::new(&spec, Input::open(path_str)?)?;
            (Input::memory("body", b"hi\n".to_vec()), vec![att])
        } else {
            (Input::open(path_str)?, vec![])
        };
        let body = TextPart {
            input: body,
            subtype: "plain",
            charset: None,
            choice: None,
        };
        let mut msg = Message::prepare(
            vec!["From: a@b.c".into()],
            body,
            None,
            vec![],
            attachments,
            &mut super::super::boundary::random,
        )?;
        // The same file, rewritten: the open handle sees the new content.
        std::fs::write(&path, after).unwrap();
        let dest = dir.join("m.eml");
        let mut out = Output::file(&dest, false)?;
        msg.write(&mut out, Eol::Lf)?;
        out.finish()
    }

    /// A 7bit body rewritten, between scan and send, to hold the boundary that was drawn.
    fn changed_to_hold_its_boundary(dir: &std::path::Path) -> Error {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).unwrap();
        let path = dir.join("text.txt");
        let before = format!("x\n--{}\ny\n", "=".repeat(24));
        std::fs::write(&path, &before).unwrap();
        let body = TextPart {
            input: Input::open(path.to_str().unwrap()).unwrap(),
            subtype: "plain",
            charset: None,
            choice: None,
        };
        let draws = ["=_A".repeat(8), "=_B".repeat(8), "=_C".repeat(8)];
        let mut next = 0;
        let mut draw = || {
            next += 1;
            Ok(draws[(next - 1) % 3].clone())
        };
        let att = FilePart::new(
            &FileSpec {
                path: "a".into(),
                name: Some("a.bin".into()),
                ..FileSpec::default()
            },
            Input::memory("a", vec![0]),
        )
        .unwrap();
        let mut msg = Message::prepare(vec![], body, None, vec![], vec![att], &mut draw).unwrap();
        assert_eq!(
            msg.body.choice.as_ref().unwrap().encoding,
            Encoding::SevenBit
        );
        std::fs::write(&path, format!("x\n--{}\ny\n", "=_A".repeat(8))).unwrap();
        let mut out = Output::file(&dir.join("m.eml"), false).unwrap();
        let err = msg.write(&mut out, Eol::Lf).unwrap_err();
        drop(out);
        assert_eq!(
            err.to_string(),
            format!("{}: changed while being read", path.display())
        );
        err
    }

    #[test]
    fn a_text_file_that_changes_between_scan_and_send_is_an_io_error() {
        let dir = std::env::temp_dir().join(format!("mime-changed-{}", std::process::id()));
        let long = [&b"x"[..]; 1200].concat();
        let cases: Vec<(&str, &[u8], Vec<u8>)> = vec![
            ("7bit, shrinks", b"hello\nworld\n", b"hello\n".to_vec()),
            (
                "7bit, grows",
                b"hello\nworld\n",
                b"hello\nworld\nand more\n".to_vec(),
            ),
            (
                "7bit, gains an 8-bit byte",
                b"hello\nworld\n",
                b"hello\nw\xf6rld\n".to_vec(),
            ),
            (
                "7bit, gains a long line",
                b"hello\n",
                [&long[..], b"\n"].concat(),
            ),
            ("7bit, gains a NUL", b"hello\n", b"he\0lo\n".to_vec()),
            (
                "us-ascii QP, gains an 8-bit byte",
                &long,
                [&b"\xe9"[..], &long[1..]].concat(),
            ),
            (
                "utf-8 QP, no longer UTF-8",
                "Grüße aus Köln, the build is green\n".as_bytes(),
                b"Gr\xfc\xdfe aus K\xf6ln, the build is green!!!\n".to_vec(),
            ),
            (
                "utf-8 base64, shrinks",
                "Привет мир\n".as_bytes(),
                "Привет\n".as_bytes().to_vec(),
            ),
            (
                "octet-stream base64, shrinks",
                b"caf\xe9 cr\xe8me\n",
                b"caf\xe9".to_vec(),
            ),
            ("empty, grows", b"", b"surprise\n".to_vec()),
        ];
        // A 7bit body that gains a line holding the boundary drawn after its scan (same
        // length and findings otherwise) would end its part early: the check covers that too.
        let boundary_line = changed_to_hold_its_boundary(&dir);
        assert_eq!(boundary_line.exit_code(), 74, "{boundary_line}");
        for (what, before, after) in &cases {
            for attach in [false, true] {
                let err = changed_between_scan_and_send(&dir, before, after, attach)
                    .expect_err(&format!("{what} (attachment: {attach}) was sent"));
                assert_eq!(err.exit_code(), 74, "{what}: {err}");
                assert_eq!(
                    err.to_string(),
                    format!(
                        "{}: changed while being read",
                        dir.join("text.txt").display()
                    ),
                    "{what}"
                );
                let left: Vec<_> = std::fs::read_dir(&dir)
                    .unwrap()
                    .map(|e| e.unwrap().file_name())
                    .collect();
                assert_eq!(left, ["text.txt"], "{what}: output left behind");
            }
        }
        // A change the scan's findings still describe is no reason to fail: same length, same
        // kind of text.
        changed_between_scan_and_send(&dir, b"hello\n", b"jello\n", false).unwrap();
        let msg = std::fs::read_to_string(dir.join("m.eml")).unwrap();
        assert!(msg.ends_with("\n\njello\n"), "{msg}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn never_panics_on_odd_flag_values() {
        let odd = [
            "",
            ";",
            ";;",
            "-",
            ";name=",
            "x;name=;type=",
            "x;type=a/b;name=ü;charset=",
            "é;name=é",
            ":",
            "::",
            ": x",
            "Date:",
            "X-é: v",
            "X: =?",
            "Message-ID:  ",
            "\u{0}",
            "x;cid=@",
            "x;cid=a@",
            "😀;name=😀😀",
        ];
        for v in odd {
            let _ = FileSpec::parse("--attach", v, &["type", "name", "charset", "cid"]);
            let _ = HeaderFields::new().custom("--header", v);
            let _ = HeaderFields::new().unstructured("Subject", "--subject", v);
            let _ = HeaderFields::new().mailboxes("To", "--to", &[v.to_string()], false, false);
            let _ = looks_like_text(v.as_bytes());
            let _ = default_cid(v);
            let _ = is_cid(v);
        }
    }

    #[test]
    fn sniffing() {
        assert!(looks_like_text(b"hello\n"));
        assert!(looks_like_text("caf\u{e9}".as_bytes()));
        assert!(looks_like_text(&"é".as_bytes()[..1]));
        assert!(!looks_like_text(b"\x89PNG\r\n\x1a\n\0\0"));
        assert!(!looks_like_text(b""));
        assert_eq!(default_cid("my logo (1).png"), "my_logo__1_.png");
    }
}
