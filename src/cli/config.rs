//! posthaste's config file, `$XDG_CONFIG_HOME/posthaste/config.toml` (else
//! `~/.config/posthaste/config.toml`), or the file `--config` names (docs/CONVENTIONS.md,
//! "Config file and accounts"). This module reads it: TOML, every value kept with the place it
//! was written, so that a bad one is named by file, line and key; the file refused when others
//! could change it, or read it while it holds a secret. What the tables mean (accounts, the
//! tables of each tool, how they fill in flags) is src/cli/account.rs.
//!
//! ```toml
//! default = "work"                       # the account used when none is named
//!
//! [smtp-send]                            # defaults for smtp-send, whatever the account
//! helo = "laptop.example.com"
//!
//! [accounts.work]                        # --account work: keys are long flag names
//! server = "imaps://mail.example.com"
//! user = "me@example.com"
//! password_cmd = "pass show mail/work"   # or password_file, password_env, password = "..."
//! maildir = "~/Mail/work"
//!
//! [accounts.work.smtp-send]              # for smtp-send only, over [accounts.work]
//! server = "smtp://mail.example.com:587"
//! ```

use crate::error::{Error, Kind, Result, io_reason};
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// A value and where in the file it was written (byte offsets).
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned<T> {
    span: Range<usize>,
    value: T,
}

impl<T> Spanned<T> {
    pub fn get_ref(&self) -> &T {
        &self.value
    }

    pub fn span(&self) -> Range<usize> {
        self.span.clone()
    }
}

/// A table: each key with its value and where the value was written.
pub type Table = BTreeMap<String, Spanned<Value>>;

/// A TOML value, its tables and arrays keeping where each of their values was written.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    String(String),
    Integer(i64),
    Float(f64),
    Boolean(bool),
    Array(Vec<Spanned<Value>>),
    Table(Table),
    /// A TOML date or time, which no flag takes.
    Datetime,
}

impl Value {
    /// What kind of value it is, for messages ("a table").
    pub fn kind(&self) -> &'static str {
        match self {
            Value::String(_) => "a string",
            Value::Integer(_) => "a number",
            Value::Float(_) => "a number",
            Value::Boolean(_) => "true or false",
            Value::Array(_) => "a list",
            Value::Table(_) => "a table",
            Value::Datetime => "a date",
        }
    }
}

/// toml_edit's tree as [`Value`]s; `at` is where a table without a span of its own (the
/// `accounts` of `[accounts.work]`) was named.
fn from_item(item: &toml_edit::Item, at: Range<usize>) -> Option<Spanned<Value>> {
    use toml_edit::Item;
    let span = item.span().unwrap_or(at);
    let value = match item {
        Item::None => return None,
        Item::Value(v) => return Some(from_value(v, span)),
        Item::Table(t) => Value::Table(from_table(t.iter().map(|(k, v)| (k, t.key(k), v)), &span)),
        Item::ArrayOfTables(a) => Value::Array(
            a.iter()
                .map(|t| {
                    let span = t.span().unwrap_or_else(|| span.clone());
                    Spanned {
                        value: Value::Table(from_table(
                            t.iter().map(|(k, v)| (k, t.key(k), v)),
                            &span,
                        )),
                        span,
                    }
                })
                .collect(),
        ),
    };
    Some(Spanned { span, value })
}

fn from_table<'a>(
    entries: impl Iterator<Item = (&'a str, Option<&'a toml_edit::Key>, &'a toml_edit::Item)>,
    span: &Range<usize>,
) -> Table {
    entries
        .filter_map(|(k, key, v)| {
            let at = key.and_then(|k| k.span()).unwrap_or_else(|| span.clone());
            from_item(v, at).map(|v| (k.to_string(), v))
        })
        .collect()
}

fn from_value(v: &toml_edit::Value, at: Range<usize>) -> Spanned<Value> {
    use toml_edit::Value as V;
    let span = v.span().unwrap_or(at);
    let value = match v {
        V::String(s) => Value::String(s.value().clone()),
        V::Integer(n) => Value::Integer(*n.value()),
        V::Float(f) => Value::Float(*f.value()),
        V::Boolean(b) => Value::Boolean(*b.value()),
        V::Datetime(_) => Value::Datetime,
        V::Array(a) => Value::Array(a.iter().map(|i| from_value(i, span.clone())).collect()),
        V::InlineTable(t) => Value::Table(
            t.iter()
                .map(|(k, item)| {
                    let at = t
                        .key(k)
                        .and_then(|k| k.span())
                        .unwrap_or_else(|| span.clone());
                    (k.to_string(), from_value(item, at))
                })
                .collect(),
        ),
    };
    Spanned { span, value }
}

/// A config file read and parsed.
#[derive(Debug, Clone)]
pub struct Config {
    pub path: PathBuf,
    text: String,
    pub root: Table,
    /// Whether others may read the file (its mode has group or other bits): then it must
    /// hold no secret.
    pub readable_by_others: Option<u32>,
}

impl Config {
    /// The line (from 1) where `span` starts.
    pub fn line(&self, span: &std::ops::Range<usize>) -> usize {
        line_of(&self.text, span.start)
    }

    /// `config file PATH, line N` for a value written at `span`.
    pub fn at(&self, span: &std::ops::Range<usize>) -> String {
        format!(
            "config file {}, line {}",
            self.path.display(),
            self.line(span)
        )
    }
}

/// The line (from 1) holding byte `offset` of `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The default config file's path, if a home or XDG folder is known.
pub fn default_path() -> Option<PathBuf> {
    let xdg = std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty());
    let base = match xdg {
        Some(x) => PathBuf::from(x),
        None => PathBuf::from(std::env::var_os("HOME").filter(|v| !v.is_empty())?).join(".config"),
    };
    Some(base.join("posthaste").join("config.toml"))
}

/// The largest config file read: far beyond any real one (accounts are a few lines each).
/// The files `--import-*` reads are held to it too.
pub(crate) const MAX_SIZE: u64 = 1 << 20;

/// Why [`read_text`] gave up.
pub(crate) enum Unread {
    Io(std::io::Error),
    /// More than [`MAX_SIZE`] bytes.
    TooLarge,
    /// Not UTF-8 from this line (from 1) on.
    NotUtf8 {
        line: usize,
    },
}

/// Reads a small text file to its end, at most [`MAX_SIZE`] bytes (`--config /dev/zero` or
/// a runaway file must not fill memory), as UTF-8. Each caller says what went wrong in its
/// own words and exit status.
pub(crate) fn read_text(file: impl std::io::Read) -> std::result::Result<String, Unread> {
    use std::io::Read;
    let mut bytes = Vec::new();
    file.take(MAX_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(Unread::Io)?;
    if bytes.len() as u64 > MAX_SIZE {
        return Err(Unread::TooLarge);
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        Unread::NotUtf8 {
            line: e.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count() + 1,
        }
    })
}

/// Reads `path` (`--config`: must exist, 66 otherwise) or the default file (optional:
/// `None` when there is none). Malformed TOML is 64 naming the file, line and column; a
/// file others could change is 77.
pub fn load(path: Option<&Path>) -> Result<Option<Config>> {
    let (path, required) = match path {
        Some(p) => (p.to_path_buf(), true),
        None => match default_path() {
            Some(p) => (p, false),
            None => return Ok(None),
        },
    };
    let unreadable = |e: &std::io::Error| {
        Error::new(
            Kind::NoInput,
            format!("config file {}: {}", path.display(), io_reason(e)),
        )
    };
    let mut file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(unreadable(&e)),
    };
    let readable_by_others = check_private(&path, &file)?;
    let text = read_text(&mut file).map_err(|why| match why {
        Unread::Io(e) => unreadable(&e),
        Unread::TooLarge => Error::new(
            Kind::Usage,
            format!(
                "config file {}: larger than {} MiB; refusing it",
                path.display(),
                MAX_SIZE >> 20
            ),
        ),
        Unread::NotUtf8 { line } => Error::new(
            Kind::Usage,
            format!(
                "config file {}, line {line}: not UTF-8 text (TOML is UTF-8)",
                path.display()
            ),
        ),
    })?;
    let root = parse(&text)
        .map_err(|why| Error::new(Kind::Usage, format!("config file {}{why}", path.display())))?;
    Ok(Some(Config {
        path,
        text,
        root,
        readable_by_others,
    }))
}

/// A config file from its text, as [`load`] makes it after reading `path` (for the fuzz
/// targets, src/fuzzing/: the parse and the account checks without a file).
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn from_text(
    path: &Path,
    text: &str,
    readable_by_others: Option<u32>,
) -> std::result::Result<Config, String> {
    Ok(Config {
        path: path.to_path_buf(),
        text: text.to_string(),
        root: parse(text)?,
        readable_by_others,
    })
}

/// Parses a config file's text into its top table; an error is `, line N, column C: what`
/// (one line: toml's own message quotes the line and points at it underneath). Pure.
pub fn parse(text: &str) -> std::result::Result<Table, String> {
    match toml_edit::ImDocument::parse(text) {
        Ok(doc) => {
            let root = doc.as_table();
            Ok(from_table(
                root.iter().map(|(k, v)| (k, root.key(k), v)),
                &(0..0),
            ))
        }
        Err(e) => {
            let place = match e.span() {
                Some(span) => {
                    let start = span.start.min(text.len());
                    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
                    let column = text[line_start..start].chars().count() + 1;
                    format!(", line {}, column {column}", line_of(text, start))
                }
                None => String::new(),
            };
            // toml_edit's message may span lines (a list of what was expected).
            let why = e.message().split_whitespace().collect::<Vec<_>>().join(" ");
            Err(format!("{place}: {why}"))
        }
    }
}

/// Refuses a config file that someone else could change (docs/CONVENTIONS.md, "Config
/// file"): it says where the password goes, so whoever can write it, or replace it in its
/// folder, could send the password to a server of their own. As ssh refuses its config:
/// the file (checked on the descriptor read from) and its folder, and the folder of what a
/// link points to, must belong to the user or root and not be writable by group or others;
/// a folder with the sticky bit (/tmp) is fine, since nobody else may replace a file there.
/// A character device (`--config /dev/null`) holds nothing to fear. Returns the file's mode
/// when group or others may read it, which the caller refuses if the file holds a secret.
fn check_private(path: &Path, file: &std::fs::File) -> Result<Option<u32>> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let shown = path.display();
    let refuse = |why: String| Error::new(Kind::Auth, format!("config file {shown}: {why}"));
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    let owner_ok = |uid: u32| uid == me || uid == 0;
    let meta = file.metadata().map_err(|e| refuse(io_reason(&e)))?;
    let readable = (!meta.file_type().is_char_device() && meta.mode() & 0o044 != 0)
        .then_some(meta.mode() & 0o7777);
    if !meta.file_type().is_char_device() {
        if !owner_ok(meta.uid()) {
            return Err(refuse(format!(
                "owned by uid {}, not by you (uid {me}) or root, so its owner could send your password to a server of their own; refusing it",
                meta.uid()
            )));
        }
        if meta.mode() & 0o022 != 0 {
            return Err(refuse(format!(
                "writable by group or others (mode {:o}), so they could send your password to a server of their own; refusing it: chmod go-w {shown}",
                meta.mode() & 0o7777
            )));
        }
    }
    let mut folders = vec![folder_of(path)];
    if let Ok(real) = std::fs::canonicalize(path) {
        let f = folder_of(&real);
        if f != folders[0] {
            folders.push(f);
        }
    }
    for dir in folders {
        let d = dir.display();
        let meta =
            std::fs::metadata(&dir).map_err(|e| refuse(format!("{d}: {}", io_reason(&e))))?;
        let sticky = meta.mode() & 0o1000 != 0;
        if !owner_ok(meta.uid()) {
            return Err(refuse(format!(
                "its folder {d} is owned by uid {}, not by you (uid {me}) or root, so its owner could replace it; refusing it",
                meta.uid()
            )));
        }
        if meta.mode() & 0o022 != 0 && !sticky {
            return Err(refuse(format!(
                "its folder {d} is writable by group or others (mode {:o}), so they could replace it; refusing it: chmod go-w {d}",
                meta.mode() & 0o7777
            )));
        }
    }
    Ok(readable)
}

/// The folder holding `path` (`.` for a bare file name).
fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(t: &Table, key: &str) -> Option<String> {
        match &t.get(key)?.get_ref() {
            Value::String(s) => Some(s.clone()),
            _ => None,
        }
    }

    #[test]
    fn values_keep_where_they_were_written() {
        let text = "default = \"a\"\n\n[accounts.a]\nserver = \"smtp://mx.example:587\"\ntimeout = 5\nsyslog = true\nto = [\"x\", \"y\"]\n";
        let root = parse(text).unwrap();
        assert_eq!(string(&root, "default").as_deref(), Some("a"));
        let Value::Table(accounts) = root["accounts"].get_ref() else {
            panic!()
        };
        let Value::Table(a) = accounts["a"].get_ref() else {
            panic!()
        };
        assert_eq!(
            string(a, "server").as_deref(),
            Some("smtp://mx.example:587")
        );
        assert_eq!(a["timeout"].get_ref(), &Value::Integer(5));
        assert_eq!(a["syslog"].get_ref(), &Value::Boolean(true));
        assert_eq!(line_of(text, a["timeout"].span().start), 5);
        let Value::Array(to) = a["to"].get_ref() else {
            panic!()
        };
        assert_eq!(line_of(text, to[1].span().start), 7);
        assert_eq!(to[1].get_ref(), &Value::String("y".into()));
        let root = parse("when = 1979-05-27\n").unwrap();
        assert_eq!(root["when"].get_ref(), &Value::Datetime);
    }

    #[test]
    fn a_toml_error_is_one_line_with_its_place() {
        let e = parse("[smtp-send]\nserver = \n").unwrap_err();
        assert!(e.starts_with(", line 2, column 10: "), "{e}");
        assert!(!e.contains('\n'), "{e}");
        let e = parse("a = 1\na = 2\n").unwrap_err();
        assert!(e.starts_with(", line 2"), "{e}");
    }

    /// A config file reached through a link: the folder the link is in and the folder of
    /// the file it points to must both be the user's own (whoever may write the second
    /// could replace the file behind the link).
    #[test]
    fn the_folder_behind_a_link_is_checked_too() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path, m: u32| {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap()
        };
        let base = crate::util::test_folder("cfg-link");
        let (safe, open) = (base.join("safe"), base.join("open"));
        std::fs::create_dir_all(&safe).unwrap();
        std::fs::create_dir_all(&open).unwrap();
        mode(&base, 0o700);
        mode(&safe, 0o700);
        mode(&open, 0o777);
        let real = open.join("config.toml");
        std::fs::write(&real, "[smtp-send]\nhelo = \"x\"\n").unwrap();
        mode(&real, 0o600);
        let link = safe.join("config.toml");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let e = load(Some(&link)).unwrap_err();
        assert_eq!(e.exit_code(), 77, "{e}");
        assert!(
            e.message().starts_with(&format!(
                "config file {}: its folder {} is writable by group or others (mode 777)",
                link.display(),
                open.display()
            )),
            "{e}"
        );
        // The same file behind the link, its folder made private: read.
        mode(&open, 0o700);
        let c = load(Some(&link)).unwrap().unwrap();
        assert_eq!(c.readable_by_others, None);
        let Value::Table(t) = c.root["smtp-send"].get_ref() else {
            panic!()
        };
        assert_eq!(string(t, "helo").as_deref(), Some("x"));
        mode(&real, 0o644);
        assert_eq!(
            load(Some(&link)).unwrap().unwrap().readable_by_others,
            Some(0o644)
        );
        let _ = std::fs::remove_dir_all(&base);
    }
}
