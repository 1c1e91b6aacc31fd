//! `--import-msmtprc`, `--import-mpoprc` and `--import-mbsyncrc`: another tool's config file
//! read and printed as the `[accounts.NAME]` tables of ours (docs/CONVENTIONS.md, "Config
//! file and accounts"), for the user to append (`>> config.toml`): the tool itself writes no
//! file, so nothing is overwritten.
//!
//! Each format has a pure parser from text to a small model, and a conversion from the model
//! to [`Import`]: the tables, and what could not be carried over (a comment in the table and
//! one warning per line of the input). The output is built whole before a byte of it is
//! printed, so malformed input (65) or a missing file (66) prints nothing on stdout.

pub mod mbsync;
pub mod mpop;
pub mod msmtp;

use super::report::Reporter;
use crate::error::{Error, Kind, Result, io_reason, visible};
use std::path::Path;

/// Which file is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Msmtp,
    Mpop,
    Mbsync,
}

impl Format {
    /// The tool whose file it is, as comments and warnings name it.
    pub fn anchor(self) -> &'static str {
        match self {
            Format::Msmtp => "msmtp",
            Format::Mpop => "mpop",
            Format::Mbsync => "mbsync",
        }
    }
}

/// A line of the input the grammar does not allow (65).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bad {
    /// From 1.
    pub line: usize,
    pub why: String,
}

pub(crate) fn bad(line: usize, why: impl Into<String>) -> Bad {
    Bad {
        line,
        why: why.into(),
    }
}

/// A value of the output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Val {
    Str(String),
    Bool(bool),
}

/// A line of an output table.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    Key(&'static str, Val),
    Comment(String),
}

/// One `[accounts.NAME]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub name: String,
    entries: Vec<Entry>,
    /// `[accounts.NAME.TOOL]`: values only the importing tool takes (pop-fetch's `auth =
    /// "user"`), which the account layer would refuse in `[accounts.NAME]` for the other
    /// tools that have the key.
    tool: Option<(&'static str, Vec<Entry>)>,
}

impl Table {
    /// The value of `key`, if set (for tests and checks).
    pub fn get(&self, key: &str) -> Option<&Val> {
        find(&self.entries, key)
    }

    /// The value of `key` in `[accounts.NAME.TOOL]`, if set.
    pub fn get_for(&self, key: &str) -> Option<&Val> {
        self.tool.as_ref().and_then(|(_, e)| find(e, key))
    }
}

fn find<'e>(entries: &'e [Entry], key: &str) -> Option<&'e Val> {
    entries.iter().find_map(|e| match e {
        Entry::Key(k, v) if *k == key => Some(v),
        _ => None,
    })
}

/// What an import prints, and the warnings it says on stderr.
#[derive(Debug, Default)]
pub struct Import {
    /// The default account (`account default : NAME`, mbsync has none).
    pub default: Option<String>,
    pub tables: Vec<Table>,
    /// Comments before the tables: what is carried into none of them.
    notes: Vec<String>,
    /// One line each, naming the input's line, never a secret.
    pub warnings: Vec<String>,
    /// The (line, key) pairs already warned about: a key inherited by several accounts is
    /// one warning, though a comment in each table.
    warned: Vec<(usize, String)>,
}

/// Builds one table of an [`Import`]: what is carried over, and what is not.
pub struct Builder<'a> {
    anchor: &'static str,
    import: &'a mut Import,
    table: Table,
}

impl<'a> Builder<'a> {
    pub fn new(format: Format, import: &'a mut Import, name: &str) -> Self {
        Builder {
            anchor: format.anchor(),
            import,
            table: Table {
                name: name.to_string(),
                entries: Vec::new(),
                tool: None,
            },
        }
    }

    /// `key = "value"`, replacing an earlier value of the key.
    pub fn set(&mut self, key: &'static str, value: impl Into<String>) {
        self.put(key, Val::Str(value.into()));
    }

    /// `key = "value"` in `[accounts.NAME.TOOL]`: for `tool` alone.
    pub fn set_for(&mut self, tool: &'static str, key: &'static str, value: &str) {
        let (_, entries) = self.table.tool.get_or_insert((tool, Vec::new()));
        entries.retain(|e| !matches!(e, Entry::Key(k, _) if *k == key));
        entries.push(Entry::Key(key, Val::Str(value.to_string())));
        self.table
            .entries
            .retain(|e| !matches!(e, Entry::Key(k, _) if *k == key));
    }

    /// `key = true|false`.
    pub fn flag(&mut self, key: &'static str, value: bool) {
        self.put(key, Val::Bool(value));
    }

    fn put(&mut self, key: &'static str, value: Val) {
        let entries = &mut self.table.entries;
        entries.retain(|e| !matches!(e, Entry::Key(k, _) if *k == key));
        entries.push(Entry::Key(key, value));
    }

    /// A literal password: carried over, with the warning that the file must then be
    /// readable by its owner alone (the account layer refuses it otherwise). The secret
    /// itself is never in a warning.
    pub fn password(&mut self, line: usize, key: &str, value: &str) {
        self.set("password", value);
        self.warn(
            line,
            key,
            format!(
                "account {}: {} is carried over as password = \"...\": the config file must be readable by you alone (chmod 600)",
                visible(&self.table.name),
                visible(key)
            ),
        );
    }

    /// `# ANCHOR: KEY VALUE: not carried over (why)` in the table, and one warning for the
    /// input's `line` (naming the key, not the value).
    pub fn skip(&mut self, line: usize, key: &str, value: &str, why: &str) {
        // A key we do not know may still hold a secret (a misspelt `passwrod`): its value
        // is left out, as the file it goes to may be one others can read.
        let lower = key.to_ascii_lowercase();
        let secret = ["pass", "secret", "token"]
            .iter()
            .any(|w| lower.contains(w));
        let shown = if value.is_empty() {
            key.to_string()
        } else if secret {
            format!("{key} (its value left out)")
        } else {
            format!("{key} {value}")
        };
        self.table.entries.push(Entry::Comment(format!(
            "{}: {}: not carried over ({why})",
            self.anchor,
            visible(&shown)
        )));
        self.warn(
            line,
            key,
            format!(
                "account {}: {}: not carried over ({why})",
                visible(&self.table.name),
                visible(key)
            ),
        );
    }

    /// A comment in the table that is no warning (what the account stands for).
    pub fn note(&mut self, text: &str) {
        self.table.entries.push(Entry::Comment(visible(text)));
    }

    /// One warning per line of the input and key.
    pub fn warn(&mut self, line: usize, key: &str, msg: String) {
        let seen = (line, key.to_string());
        if !self.import.warned.contains(&seen) {
            self.import.warned.push(seen);
            self.import.warnings.push(format!("line {line}: {msg}"));
        }
    }

    /// Ends the table: it joins the import.
    pub fn done(self) {
        self.import.tables.push(self.table);
    }
}

impl Import {
    /// `# ANCHOR: WHAT: not carried over (why)` before the tables, and a warning naming the
    /// input's `line`: for what is no account's (an mbsync Group, a Channel that pushes).
    pub fn skip(&mut self, format: Format, line: usize, what: &str, why: &str) {
        self.notes.push(format!(
            "{}: {}: not carried over ({why})",
            format.anchor(),
            visible(what)
        ));
        self.warnings.push(format!(
            "line {line}: {}: not carried over ({why})",
            visible(what)
        ));
    }

    /// The text to append to the config file: a header naming the source, then each table.
    /// `default` is a comment: appended after another table, a top-level key would belong
    /// to that table (TOML has no way back to the top), so the user moves it to the top.
    pub fn render(&self, source: &str, flag: &str) -> String {
        let mut out = format!("# Imported by {flag} {}\n", visible(source));
        if let Some(d) = &self.default {
            out.push_str(&format!(
                "# The default account: put this line at the top of the file, before any table:\n# default = {}\n",
                visible(&basic_string(d))
            ));
        }
        for n in &self.notes {
            out.push_str(&format!("# {n}\n"));
        }
        for t in &self.tables {
            out.push_str(&format!("\n[accounts.{}]\n", key(&t.name)));
            entries(&mut out, &t.entries);
            if let Some((tool, own)) = &t.tool {
                out.push_str(&format!("\n[accounts.{}.{tool}]\n", key(&t.name)));
                entries(&mut out, own);
            }
        }
        out
    }
}

/// A table's lines.
fn entries(out: &mut String, entries: &[Entry]) {
    for e in entries {
        match e {
            Entry::Key(k, Val::Str(s)) => out.push_str(&format!("{k} = {}\n", basic_string(s))),
            Entry::Key(k, Val::Bool(b)) => out.push_str(&format!("{k} = {b}\n")),
            Entry::Comment(c) => out.push_str(&format!("# {c}\n")),
        }
    }
}

/// `s` as a TOML basic string: `"` and `\` escaped, and every control character (which TOML
/// does not allow raw) as `\uXXXX`. Pure.
pub fn basic_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A table name's part: bare when TOML allows it (`work`), quoted otherwise (`"work.com"`).
pub fn key(name: &str) -> String {
    let bare = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if bare {
        name.to_string()
    } else {
        basic_string(name)
    }
}

/// Reads the file `--import-*` names: 66 when it cannot be read, 65 when it is larger than
/// our own config file may be or not UTF-8 (naming the line).
fn read(path: &Path) -> Result<String> {
    use crate::cli::config::{MAX_SIZE, Unread, read_text};
    let shown = path.display();
    let unreadable =
        |e: std::io::Error| Error::new(Kind::NoInput, format!("{shown}: {}", io_reason(&e)));
    let file = std::fs::File::open(path).map_err(unreadable)?;
    read_text(file).map_err(|why| match why {
        Unread::Io(e) => unreadable(e),
        Unread::TooLarge => Error::new(
            Kind::Data,
            format!("{shown}: larger than {} MiB; refusing it", MAX_SIZE >> 20),
        ),
        Unread::NotUtf8 { line } => {
            Error::new(Kind::Data, format!("{shown}, line {line}: not UTF-8 text"))
        }
    })
}

/// The lines of `text`, numbered from 1, without their CR LF or LF; a NUL is no text any of
/// these tools reads (65).
pub(crate) fn lines(text: &str) -> std::result::Result<Vec<(usize, &str)>, Bad> {
    let mut out = Vec::new();
    for (i, l) in text.split('\n').enumerate() {
        let l = l.strip_suffix('\r').unwrap_or(l);
        if l.contains('\0') {
            return Err(bad(i + 1, "a NUL byte"));
        }
        out.push((i + 1, l));
    }
    Ok(out)
}

/// Runs `TOOL --import-*rc FILE`: the tables on stdout, the warnings on stderr (not with
/// -q), the output printed only once whole.
pub fn run(format: Format, path: &Path, report: &Reporter) -> Result<()> {
    let text = read(path)?;
    let import = match format {
        Format::Msmtp => msmtp::parse(&text).and_then(|rc| msmtp::convert(&rc)),
        Format::Mpop => msmtp::parse(&text).and_then(|rc| mpop::convert(&rc)),
        Format::Mbsync => mbsync::parse(&text).and_then(|rc| mbsync::convert(&rc)),
    }
    .map_err(|b| {
        Error::new(
            Kind::Data,
            format!("{}, line {}: {}", path.display(), b.line, visible(&b.why)),
        )
    })?;
    let flag = match format {
        Format::Msmtp => "smtp-send --import-msmtprc",
        Format::Mpop => "pop-fetch --import-mpoprc",
        Format::Mbsync => "imap-fetch --import-mbsyncrc",
    };
    let out = import.render(&path.display().to_string(), flag);
    for w in &import.warnings {
        report.warn(format_args!("{}, {w}", path.display()));
    }
    if import.tables.is_empty() && import.default.is_none() {
        report.warn(format_args!("{}: no account to import", path.display()));
    }
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| Error::new(Kind::Io, format!("standard output: {}", io_reason(&e))))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A string value, as the tests of each format expect one.
    pub(crate) fn s(v: &str) -> Val {
        Val::Str(v.to_string())
    }

    #[test]
    fn basic_strings_escape_quotes_backslashes_and_controls() {
        assert_eq!(basic_string(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(basic_string("a\tb\u{1}\u{7f}"), r#""a\tb\u0001\u007F""#);
        let doc = format!("k = {}\n", basic_string("x\"\\\u{1b}[2J\r\ny"));
        let t = crate::cli::config::parse(&doc).expect("valid TOML");
        assert!(
            matches!(t["k"].get_ref(), crate::cli::config::Value::String(s) if s == "x\"\\\u{1b}[2J\r\ny")
        );
    }

    #[test]
    fn table_names_are_quoted_unless_bare() {
        assert_eq!(key("work"), "work");
        assert_eq!(key("work.com"), "\"work.com\"");
        assert_eq!(key("a b\"]"), "\"a b\\\"]\"");
        assert_eq!(key(""), "\"\"");
    }

    #[test]
    fn a_key_that_may_hold_a_secret_is_skipped_without_its_value() {
        let mut import = Import::default();
        let mut b = Builder::new(Format::Msmtp, &mut import, "a\u{1b}[2J");
        b.skip(3, "passwrod", "hunter2", "why");
        b.skip(4, "ntlmdomain", "CORP", "why");
        b.done();
        let text = import.render("rc", "x");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("# msmtp: passwrod (its value left out): not carried over (why)"));
        assert!(text.contains("# msmtp: ntlmdomain CORP: not carried over (why)"));
        assert_eq!(
            import.warnings[0],
            "line 3: account a\\x1b[2J: passwrod: not carried over (why)"
        );
    }

    #[test]
    fn lines_drop_crlf_and_refuse_nul() {
        assert_eq!(
            lines("a\r\nb\n").unwrap(),
            vec![(1, "a"), (2, "b"), (3, "")]
        );
        assert_eq!(lines("a\nb\0").unwrap_err(), bad(2, "a NUL byte"));
    }
}
