//! Folder listings as entries: MLSD/MLST facts (RFC 3659 section 7) and the LIST formats
//! servers actually send: Unix `ls -l` (with or without the group column, a year or a time,
//! symbolic links `a -> b`, names with spaces, `--time-style=long-iso`), Windows/IIS
//! (DOS) and EPLF. Pure functions: a line in, an entry (or `None`) out.

use super::parse::parse_time_val;
use crate::util::calendar::DateTime;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryType {
    File,
    Dir,
    Link,
    /// A device, a socket, a FIFO, or a type the server named that we do not know.
    Other,
}

impl EntryType {
    /// The name in `--json` output.
    pub fn name(self) -> &'static str {
        match self {
            EntryType::File => "file",
            EntryType::Dir => "dir",
            EntryType::Link => "link",
            EntryType::Other => "other",
        }
    }

    /// The one letter of `-l` output, as `ls -l` has it.
    pub fn letter(self) -> char {
        match self {
            EntryType::File => '-',
            EntryType::Dir => 'd',
            EntryType::Link => 'l',
            EntryType::Other => '?',
        }
    }
}

/// One entry of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListEntry {
    pub name: String,
    pub kind: EntryType,
    pub size: Option<u64>,
    pub modified: Option<SystemTime>,
    /// Where a symbolic link points, when the server says.
    pub target: Option<String>,
    /// MLSD's `unique` fact: the same value is the same folder, whatever its path.
    pub unique: Option<String>,
}

/// What one line of a listing is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    Entry(ListEntry),
    /// Not an entry, and nothing wrong either: `total 12`, MLSD's `cdir`/`pdir` (the folder
    /// itself and its parent), `.` and `..`.
    Skip,
    /// A line no known format matches.
    Unparsed,
}

/// An MLSD line (or the entry line of an MLST reply): `fact=value;...; name`. Links are
/// `type=OS.unix=slink:TARGET` (ProFTPD) or `type=OS.unix=symlink`.
pub fn parse_mlsd(line: &str) -> Line {
    let Some((facts, name)) = line.split_once(' ') else {
        return Line::Unparsed;
    };
    if name.is_empty() {
        return Line::Unparsed;
    }
    let mut e = ListEntry {
        name: name.to_string(),
        kind: EntryType::Other,
        size: None,
        modified: None,
        target: None,
        unique: None,
    };
    for fact in facts.split(';').filter(|f| !f.is_empty()) {
        let Some((k, v)) = fact.split_once('=') else {
            return Line::Unparsed;
        };
        match k.to_ascii_lowercase().as_str() {
            "type" => {
                let lower = v.to_ascii_lowercase();
                e.kind = match lower.as_str() {
                    "file" => EntryType::File,
                    "dir" => EntryType::Dir,
                    "cdir" | "pdir" => return Line::Skip,
                    "os.unix=symlink" => EntryType::Link,
                    _ if lower.starts_with("os.unix=slink") => {
                        e.target = v
                            .split_once(':')
                            .map(|(_, t)| t.to_string())
                            .filter(|t| !t.is_empty());
                        EntryType::Link
                    }
                    _ => EntryType::Other,
                };
            }
            "size" | "sizd" => e.size = v.parse().ok(),
            "modify" => e.modified = parse_time_val(v),
            "unique" => e.unique = Some(v.to_string()),
            _ => {}
        }
    }
    if e.name == "." || e.name == ".." {
        return Line::Skip;
    }
    Line::Entry(e)
}

/// A LIST line in any format we know, given the time now (a Unix date without a year is
/// within the last year).
pub fn parse_list(line: &str, now: SystemTime) -> Line {
    let trimmed = line.trim_end_matches(['\r', '\n']);
    if trimmed.trim().is_empty() {
        return Line::Skip;
    }
    if trimmed.starts_with('+') {
        return parse_eplf(trimmed);
    }
    let first = trimmed.as_bytes()[0];
    if first.is_ascii_digit() {
        return parse_dos(trimmed);
    }
    if trimmed.starts_with("total ") || trimmed == "total" {
        return Line::Skip;
    }
    match parse_unix(trimmed, now) {
        Some(e) if e.name == "." || e.name == ".." => Line::Skip,
        Some(e) => Line::Entry(e),
        None => Line::Unparsed,
    }
}

/// EPLF (<https://cr.yp.to/ftp/list/eplf.html>): `+facts,facts,\tname`.
fn parse_eplf(line: &str) -> Line {
    let Some((facts, name)) = line[1..].split_once('\t') else {
        return Line::Unparsed;
    };
    if name.is_empty() {
        return Line::Unparsed;
    }
    let mut e = ListEntry {
        name: name.to_string(),
        kind: EntryType::Other,
        size: None,
        modified: None,
        target: None,
        unique: None,
    };
    for fact in facts.split(',') {
        let mut chars = fact.chars();
        match chars.next() {
            Some('/') => e.kind = EntryType::Dir,
            Some('r') if e.kind != EntryType::Dir => e.kind = EntryType::File,
            Some('s') => e.size = chars.as_str().parse().ok(),
            Some('m') => {
                e.modified = chars
                    .as_str()
                    .parse::<u64>()
                    .ok()
                    .map(|s| UNIX_EPOCH + Duration::from_secs(s))
            }
            _ => {}
        }
    }
    Line::Entry(e)
}

/// Windows/IIS: `01-02-20  03:04PM       <DIR>          name` or
/// `01-02-2020  15:04   1234 name`.
fn parse_dos(line: &str) -> Line {
    let mut rest = line;
    let mut next = || -> Option<&str> {
        let t = rest.trim_start();
        let end = t.find(' ').unwrap_or(t.len());
        let (tok, after) = t.split_at(end);
        rest = after;
        (!tok.is_empty()).then_some(tok)
    };
    let (Some(date), Some(time), Some(size)) = (next(), next(), next()) else {
        return Line::Unparsed;
    };
    // The name is everything after the blanks that follow the size (it may hold spaces).
    let name = rest.strip_prefix(' ').unwrap_or(rest).trim_start();
    if name.is_empty() {
        return Line::Unparsed;
    }
    let d: Vec<&str> = date.split(['-', '/']).collect();
    if d.len() != 3 {
        return Line::Unparsed;
    }
    let (Ok(mo), Ok(day), Ok(mut year)) = (
        d[0].parse::<u32>(),
        d[1].parse::<u32>(),
        d[2].parse::<i64>(),
    ) else {
        return Line::Unparsed;
    };
    if d[2].len() == 2 {
        year += if year < 70 { 2000 } else { 1900 };
    }
    let upper = time.to_ascii_uppercase();
    let (hm, pm) = if let Some(t) = upper.strip_suffix("PM") {
        (t.to_string(), Some(true))
    } else if let Some(t) = upper.strip_suffix("AM") {
        (t.to_string(), Some(false))
    } else {
        (upper.clone(), None)
    };
    let Some((h, m)) = hm.split_once(':') else {
        return Line::Unparsed;
    };
    let (Ok(mut h), Ok(m)) = (h.parse::<u32>(), m.parse::<u32>()) else {
        return Line::Unparsed;
    };
    match pm {
        Some(true) if h < 12 => h += 12,
        Some(false) if h == 12 => h = 0,
        _ => {}
    }
    let modified = civil(year, mo, day, h, m);
    if modified.is_none() {
        return Line::Unparsed;
    }
    let (kind, size) = if size.eq_ignore_ascii_case("<DIR>") {
        (EntryType::Dir, None)
    } else if let Ok(n) = size.replace(',', "").parse::<u64>() {
        (EntryType::File, Some(n))
    } else {
        return Line::Unparsed;
    };
    if name == "." || name == ".." {
        return Line::Skip;
    }
    Line::Entry(ListEntry {
        name: name.to_string(),
        kind,
        size,
        modified,
        target: None,
        unique: None,
    })
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

/// Unix `ls -l`: `perms links owner [group] size Mon DD HH:MM|YYYY name`, or with
/// `YYYY-MM-DD HH:MM` dates. The date is found by its shape, so the columns before it may
/// be two to seven; the name is everything after the date's last field and one space.
fn parse_unix(line: &str, now: SystemTime) -> Option<ListEntry> {
    let perms = line.split(' ').next()?;
    let kind = match perms.as_bytes().first()? {
        b'-' => EntryType::File,
        b'd' => EntryType::Dir,
        b'l' => EntryType::Link,
        b'b' | b'c' | b'p' | b's' | b'D' => EntryType::Other,
        _ => return None,
    };
    if perms.len() < 10 || !perms[1..10].bytes().all(|b| b"rwxsStTl-".contains(&b)) {
        return None;
    }
    // The first columns, each with its byte offset: the date starts at column 2 to
    // MAX_DATE_COLUMN (perms, links, owner, [group], size, ACL counts...), and the name is
    // everything after it, taken from the line itself.
    const MAX_DATE_COLUMN: usize = 7;
    let toks: Vec<(usize, &str)> = line
        .split(' ')
        .filter(|t| !t.is_empty())
        .take(MAX_DATE_COLUMN + 3)
        .map(|t| (t.as_ptr() as usize - line.as_ptr() as usize, t))
        .collect();
    let tok = |k: usize| toks.get(k).map_or("", |t| t.1);
    let end = |k: usize| toks[k].0 + toks[k].1.len();
    for k in 2..=MAX_DATE_COLUMN.min(toks.len().saturating_sub(2)) {
        let (modified, last) = if let Some(t) = month_day_time(tok(k), tok(k + 1), tok(k + 2), now)
        {
            (t, k + 2)
        } else if let Some(t) = iso_date_time(tok(k), tok(k + 1)) {
            (t, k + 1)
        } else {
            continue;
        };
        // A device shows "major, minor" where a file shows its size.
        if matches!(perms.as_bytes()[0], b'b' | b'c') {
            return finish_unix(line, end(last), kind, None, Some(modified));
        }
        let Ok(size) = tok(k - 1).replace(',', "").parse::<u64>() else {
            continue;
        };
        return finish_unix(line, end(last), kind, Some(size), Some(modified));
    }
    None
}

fn finish_unix(
    line: &str,
    date_end: usize,
    kind: EntryType,
    size: Option<u64>,
    modified: Option<SystemTime>,
) -> Option<ListEntry> {
    let rest = &line[date_end..];
    let name = rest.strip_prefix(' ')?;
    if name.is_empty() {
        return None;
    }
    let (name, target) = match kind {
        EntryType::Link => match name.split_once(" -> ") {
            Some((n, t)) => (n, Some(t.to_string())),
            None => (name, None),
        },
        _ => (name, None),
    };
    Some(ListEntry {
        name: name.to_string(),
        kind,
        size,
        modified,
        target,
        unique: None,
    })
}

/// `Jan 02 03:04` (within the last year) or `Jan 02 2020`.
fn month_day_time(mon: &str, day: &str, t: &str, now: SystemTime) -> Option<SystemTime> {
    let m = MONTHS.iter().position(|x| x.eq_ignore_ascii_case(mon))? as u32 + 1;
    let d: u32 = day.parse().ok()?;
    if let Some((h, mi)) = t.split_once(':') {
        let (h, mi): (u32, u32) = (h.parse().ok()?, mi.parse().ok()?);
        let year = year_of(now);
        let this = civil(year, m, d, h, mi)?;
        // Without a year, ls means the last twelve months: a date more than a day ahead
        // is last year's.
        if this > now + Duration::from_secs(86_400) {
            civil(year - 1, m, d, h, mi)
        } else {
            Some(this)
        }
    } else if t.len() == 4 {
        civil(t.parse().ok()?, m, d, 0, 0)
    } else {
        None
    }
}

/// `2020-01-02 03:04` (ls --time-style=long-iso).
fn iso_date_time(date: &str, t: &str) -> Option<SystemTime> {
    let p: Vec<&str> = date.split('-').collect();
    if p.len() != 3 || p[0].len() != 4 {
        return None;
    }
    let (h, mi) = t.split_once(':')?;
    let mi = mi.get(..2)?;
    civil(
        p[0].parse().ok()?,
        p[1].parse().ok()?,
        p[2].parse().ok()?,
        h.parse().ok()?,
        mi.parse().ok()?,
    )
}

/// The year (UTC) of `t`.
fn year_of(t: SystemTime) -> i64 {
    DateTime::from_system(t).year
}

/// A UTC time from its parts, if that date exists (and is from 1970 to 9999).
fn civil(y: i64, mo: u32, d: u32, h: u32, mi: u32) -> Option<SystemTime> {
    if !(1970..=9999).contains(&y) {
        return None;
    }
    DateTime::new(y, mo, d, h, mi, 0)?.to_system(0)
}

/// RFC 3339 in UTC (`2020-01-02T03:04:05Z`), for `--json`.
pub fn rfc3339(t: SystemTime) -> String {
    let t = DateTime::from_system(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

/// How [`list`] walks.
#[derive(Debug, Clone, Copy, Default)]
pub struct Walk {
    /// Enter every folder found, depth first, within the bounds of a [`Tree`] (never
    /// through a link, never around a loop the `unique` facts show).
    pub recursive: bool,
    /// Hand over LIST's lines untouched instead of entries.
    pub raw: bool,
}

/// What [`list`] hands its caller.
pub enum Item<'a> {
    /// An entry of the folder `dir` ("" for the login folder; no trailing '/').
    Entry { dir: &'a str, entry: &'a ListEntry },
    /// A line of LIST output, untouched (`--raw`).
    Raw(&'a [u8]),
    /// A line no known format matches, as text (for `--verbose`).
    Unparsed(&'a str),
}

/// Folders deeper than this are not entered: a server that shows a link to a parent as a
/// folder (with no `unique` fact to tell) cannot send a walk around forever. A folder this
/// deep that holds another ends the walk with an error.
pub const MAX_DEPTH: usize = 64;
/// The names a walk keeps (the folders waiting to be entered, and ftp-get's files of the
/// folder being fetched) take at most this many bytes, each counted with
/// [`NAME_OVERHEAD`] for its bookkeeping: memory stays bounded whatever the names and the
/// shape of the tree. A tree that needs more ends the walk with an error.
pub const MAX_WALK_BYTES: usize = 4 << 20;
/// What a kept name costs besides its text.
pub const NAME_OVERHEAD: usize = 16;

/// A folder a walk enters.
#[derive(Debug)]
pub struct Folder {
    /// Its path ("" for the login folder; no trailing '/' but in "/", the root).
    pub path: String,
    /// 0 for the folder the walk starts at.
    pub depth: usize,
    /// Its MLSD `unique` fact, hashed, when its listing line had one.
    unique: Option<u64>,
}

/// The folders a depth-first walk has yet to enter, bounded in bytes ([`MAX_WALK_BYTES`]),
/// depth ([`MAX_DEPTH`]) and path length ([`MAX_PATH`](super::client::MAX_PATH)). It keeps
/// one frame per level: a folder's path and the names of its subfolders not yet entered,
/// packed in one string. Nothing is kept of a folder once its subfolders are done, so what
/// grows with the size of the tree is bounded by its width along one path from the top.
///
/// A folder whose `unique` fact is that of a folder above it (a link to a parent, shown as a
/// folder) is a loop: it is not entered. Only the folders above are compared: that is
/// what a loop needs, and it costs 8 bytes a level, never a set of everything seen.
pub struct Tree {
    /// The folders being walked, the top one's subfolders last.
    frames: Vec<Frame>,
    /// The subfolders found so far in the listing of the folder being read.
    building: Frame,
    /// Bytes charged against [`MAX_WALK_BYTES`].
    used: usize,
    /// The folder the walk starts at, until [`next_folder`](Tree::next_folder) hands it out.
    root: Option<String>,
    /// For hashing `unique` facts (keyed per run: a server cannot aim for a collision).
    hasher: std::collections::hash_map::RandomState,
}

#[derive(Default)]
struct Frame {
    path: String,
    depth: usize,
    unique: Option<u64>,
    /// The subfolders' names, one after another; `ends[i]` is where name `i` ends.
    names: String,
    ends: Vec<u32>,
    uniques: Vec<Option<u64>>,
    /// The next subfolder to enter.
    next: usize,
    /// What this frame was charged.
    cost: usize,
}

impl Tree {
    /// A walk that starts at the folder `root`.
    pub fn new(root: &str) -> Tree {
        Tree {
            frames: Vec::new(),
            building: Frame::default(),
            used: 0,
            root: Some(root.to_string()),
            hasher: Default::default(),
        }
    }

    /// The next folder to list: the root first, then depth first, each folder's subfolders
    /// in the order they were found. After listing it, the caller reports its subfolders
    /// with [`found`](Tree::found) and ends it with [`done`](Tree::done).
    pub fn next_folder(&mut self) -> Option<Folder> {
        // Subfolders found in a folder that was not ended with `done` are dropped.
        self.restart();
        if let Some(path) = self.root.take() {
            return Some(Folder {
                path,
                depth: 0,
                unique: None,
            });
        }
        loop {
            let top = self.frames.last_mut()?;
            if top.next < top.ends.len() {
                let i = top.next;
                top.next += 1;
                let start = if i == 0 { 0 } else { top.ends[i - 1] as usize };
                let name = &top.names[start..top.ends[i] as usize];
                return Some(Folder {
                    path: join(&top.path, name),
                    depth: top.depth + 1,
                    unique: top.uniques[i],
                });
            }
            let done = self.frames.pop()?;
            self.used = self.used.saturating_sub(done.cost);
        }
    }

    /// A subfolder `name` of `folder` (the folder being listed), with its `unique` fact if
    /// the listing gave one: kept to be entered after `folder`'s listing. `Ok(false)`: not
    /// kept, it is a folder above (a loop). An error when entering it would take the walk
    /// beyond its bounds: the walk should end there.
    pub fn found(
        &mut self,
        folder: &Folder,
        name: &str,
        unique: Option<&str>,
    ) -> crate::error::Result<bool> {
        use std::hash::BuildHasher;
        let unique = unique.map(|u| self.hasher.hash_one(u));
        if unique.is_some()
            && (unique == folder.unique || self.frames.iter().any(|f| f.unique == unique))
        {
            return Ok(false);
        }
        if folder.depth >= MAX_DEPTH {
            return Err(beyond(format!(
                "{}: holds the folder \"{}\", deeper than {MAX_DEPTH} levels: not entered (a loop on the server?)",
                place(&folder.path),
                shown(name)
            )));
        }
        fits(folder, name, "folder")?;
        self.charge(folder, name.len())?;
        let b = &mut self.building;
        if b.ends.is_empty() {
            b.path = folder.path.clone();
            b.depth = folder.depth;
            b.unique = folder.unique;
        }
        b.names.push_str(name);
        // The text is at most MAX_WALK_BYTES, far below u32::MAX.
        b.ends.push(b.names.len() as u32);
        b.uniques.push(unique);
        b.cost += name.len() + NAME_OVERHEAD;
        Ok(true)
    }

    /// Ends the listing of `folder` (which is used up): its subfolders are entered next, in
    /// the order found.
    pub fn done(&mut self, folder: Folder) {
        drop(folder);
        let b = std::mem::take(&mut self.building);
        if !b.ends.is_empty() {
            self.frames.push(b);
        }
    }

    /// Forgets the subfolders found so far in the listing being read (it is read again,
    /// after a retry).
    pub fn restart(&mut self) {
        let b = std::mem::take(&mut self.building);
        self.used = self.used.saturating_sub(b.cost);
    }

    /// Charges `bytes` of names the caller keeps itself while it works in `folder` (ftp-get:
    /// the files of the folder, until they are fetched), with [`NAME_OVERHEAD`]: an error
    /// when the walk would hold more than [`MAX_WALK_BYTES`].
    pub fn charge(&mut self, folder: &Folder, bytes: usize) -> crate::error::Result<()> {
        let cost = bytes + NAME_OVERHEAD;
        if self.used + cost > MAX_WALK_BYTES {
            return Err(beyond(format!(
                "{}: the walk would keep more than {} MiB of names (folders waiting to be entered, files to fetch): the tree is too wide",
                place(&folder.path),
                MAX_WALK_BYTES >> 20
            )));
        }
        self.used += cost;
        Ok(())
    }

    /// Gives back what [`charge`](Tree::charge) took for `names` names of `bytes` in all.
    pub fn release(&mut self, names: usize, bytes: usize) {
        self.used = self
            .used
            .saturating_sub(bytes + names.saturating_mul(NAME_OVERHEAD));
    }
}

/// Whether the path of `name` (a "folder" or a "file", `what`) in `folder` is within
/// [`MAX_PATH`](super::client::MAX_PATH): an error naming it (76) when it is not.
pub fn fits(folder: &Folder, name: &str, what: &str) -> crate::error::Result<()> {
    let path_len = match folder.path.as_str() {
        "" => name.len(),
        p if p.ends_with('/') => p.len() + name.len(),
        p => p.len() + 1 + name.len(),
    };
    if path_len > super::client::MAX_PATH {
        return Err(beyond(format!(
            "{}: holds a {what} whose path would be {path_len} bytes long (\"{}\"); remote paths are limited to {} bytes",
            place(&folder.path),
            shown(name),
            super::client::MAX_PATH
        )));
    }
    Ok(())
}

/// A walk that cannot go on within its bounds (76).
fn beyond(message: String) -> crate::error::Error {
    crate::error::Error::new(crate::error::Kind::Protocol, message)
}

/// A folder as a message names it.
fn place(path: &str) -> String {
    if path.is_empty() {
        "the login folder".to_string()
    } else {
        shown(path)
    }
}

/// `name` inside the folder `dir` ("" for the login folder, "/" for the root).
pub fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// The folder a path ending in '/' names: without its trailing '/'s, but "/" (the root)
/// stays itself.
pub fn folder_path(path: &str) -> &str {
    let t = path.trim_end_matches('/');
    if t.is_empty() && path.starts_with('/') {
        "/"
    } else {
        t
    }
}

/// A path or name for a message: control characters made visible, and, past 200
/// characters, its start and end around "...", so that one line says which.
pub fn shown(text: &str) -> String {
    let chars = text.chars().count();
    if chars <= 200 {
        return crate::error::visible(text);
    }
    let head: String = text.chars().take(100).collect();
    let tail: String = text.chars().skip(chars - 60).collect();
    format!(
        "{}...{} ({} bytes)",
        crate::error::visible(&head),
        crate::error::visible(&tail),
        text.len()
    )
}

/// Lists `path` on `client`: a folder (empty or ending in '/'), the entries of its parent that
/// match a glob in its last part, or a single file or folder. MLSD when the server offers it,
/// else LIST, parsed. Entries stream to `each` as their lines arrive; with `walk.recursive`
/// the folders found are entered, depth first, within the bounds of a [`Tree`]. An empty
/// listing of the folder asked for is checked (MLST, or CWD): a missing folder is 66, where
/// a server such as vsftpd answers LIST with an empty listing.
pub fn list(
    client: &mut super::FtpClient,
    path: &str,
    walk: Walk,
    now: SystemTime,
    each: &mut dyn FnMut(Item<'_>) -> crate::error::Result<()>,
) -> crate::error::Result<()> {
    use super::parse::{glob_match, has_glob};
    use crate::error::{Error, Kind};
    let (dir, pattern) = if path.is_empty() || path.ends_with('/') {
        (folder_path(path).to_string(), None)
    } else {
        let (d, last) = match path.rfind('/') {
            Some(0) => ("/", &path[1..]),
            Some(i) => (&path[..i], &path[i + 1..]),
            None => ("", path),
        };
        if has_glob(d) {
            return Err(Error::new(
                Kind::Usage,
                format!("{path}: wildcards are only supported in the last part of the path"),
            ));
        }
        if has_glob(last) {
            (d.to_string(), Some(last.to_string()))
        } else if walk.raw || client.folder_exists(path)? == Some(true) {
            (path.to_string(), None)
        } else {
            // One file: its own entry.
            let entry = single(client, path, now)?;
            return each(Item::Entry {
                dir: d,
                entry: &entry,
            });
        }
    };
    let mlsd = client.features().mlsd && !walk.raw;
    let verb = if mlsd { "MLSD" } else { "LIST" };
    let mut tree = Tree::new(&dir);
    let mut matched = 0usize;
    while let Some(folder) = tree.next_folder() {
        let top = folder.depth == 0;
        let mut failure: Option<Error> = None;
        let mut entries = 0u64;
        client.listing(verb, &folder.path, &mut |line: &[u8]| {
            if walk.raw {
                entries += 1;
                return each(Item::Raw(line));
            }
            let text = String::from_utf8_lossy(line);
            let parsed = if mlsd {
                parse_mlsd(&text)
            } else {
                parse_list(&text, now)
            };
            let entry = match parsed {
                Line::Entry(e) => e,
                Line::Skip => return Ok(()),
                Line::Unparsed => return each(Item::Unparsed(&text)),
            };
            entries += 1;
            if top {
                if let Some(p) = &pattern {
                    if !glob_match(p, &entry.name) {
                        return Ok(());
                    }
                    matched += 1;
                }
            }
            if walk.recursive
                && failure.is_none()
                && entry.kind == EntryType::Dir
                && !entry.name.contains('/')
            {
                if let Err(e) = tree.found(&folder, &entry.name, entry.unique.as_deref()) {
                    // The rest of this listing is still shown; then the walk ends.
                    failure = Some(e);
                }
            }
            each(Item::Entry {
                dir: &folder.path,
                entry: &entry,
            })
        })?;
        if let Some(e) = failure {
            return Err(e);
        }
        if top && entries == 0 {
            check_folder(client, &folder.path).map_err(|e| match &pattern {
                Some(_) => e.context(place(&folder.path)),
                None => e,
            })?;
        }
        tree.done(folder);
    }
    if let Some(p) = pattern {
        if matched == 0 {
            return Err(Error::new(
                Kind::NoInput,
                format!("{path}: nothing matches {p}"),
            ));
        }
    }
    Ok(())
}

/// Lists one folder, `dir`, as entries (MLSD when the server offers it, else LIST, parsed),
/// each handed to `each` as its line arrives; `None` for a line no format matches.
pub fn entries(
    client: &mut super::FtpClient,
    dir: &str,
    now: SystemTime,
    each: &mut dyn FnMut(Option<&ListEntry>) -> crate::error::Result<()>,
) -> crate::error::Result<()> {
    let mlsd = client.features().mlsd;
    let verb = if mlsd { "MLSD" } else { "LIST" };
    client.listing(verb, dir, &mut |line: &[u8]| {
        let text = String::from_utf8_lossy(line);
        let parsed = if mlsd {
            parse_mlsd(&text)
        } else {
            parse_list(&text, now)
        };
        match parsed {
            Line::Entry(e) => each(Some(&e)),
            Line::Skip => Ok(()),
            Line::Unparsed => each(None),
        }
    })
}

/// After an empty listing of `dir`: whether it is there at all (MLST, or a CWD there and
/// back). A missing folder is 66, with a message the caller prefixes with the folder's
/// URL; so many servers answer LIST for a missing folder with an
/// empty listing (vsftpd among them) that the listing alone cannot tell. The login folder,
/// and a server that cannot say, count as there.
pub fn check_folder(client: &mut super::FtpClient, dir: &str) -> crate::error::Result<()> {
    use crate::error::{Error, Kind};
    if dir.is_empty() {
        return Ok(());
    }
    let how = if client.features().mlsd {
        "MLST"
    } else {
        "CWD"
    };
    if client.folder_exists(dir)? == Some(false) {
        return Err(Error::new(
            Kind::NoInput,
            format!("no such folder (the listing was empty, and {how} does not find it)"),
        ));
    }
    Ok(())
}

/// The entry of one file: MLST when offered, else SIZE and MDTM; a missing file is 66.
fn single(
    client: &mut super::FtpClient,
    path: &str,
    _now: SystemTime,
) -> crate::error::Result<ListEntry> {
    use crate::error::{Error, Kind};
    let name = path.rsplit('/').next().unwrap_or(path).to_string();
    let missing = || Error::new(Kind::NoInput, format!("{path}: no such file or folder"));
    if client.features().mlsd {
        let line = client.mlst(path)?.ok_or_else(missing)?;
        return match parse_mlsd(&line) {
            Line::Entry(mut e) => {
                e.name = name;
                Ok(e)
            }
            _ => Err(missing()),
        };
    }
    let size = client.size(path)?.ok_or_else(missing)?;
    Ok(ListEntry {
        name,
        kind: EntryType::File,
        size: Some(size),
        modified: client.mdtm(path)?,
        target: None,
        unique: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-02 12:00:00 UTC.
    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_796_212_800)
    }

    fn entry(l: Line) -> ListEntry {
        match l {
            Line::Entry(e) => e,
            other => panic!("not an entry: {other:?}"),
        }
    }

    fn at(s: &str) -> Option<SystemTime> {
        parse_time_val(s)
    }

    #[test]
    fn rfc3339_and_year() {
        assert_eq!(rfc3339(now()), "2026-12-02T12:00:00Z");
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(year_of(now()), 2026);
        assert_eq!(
            rfc3339(at("20200229235959").unwrap()),
            "2020-02-29T23:59:59Z"
        );
    }

    #[test]
    fn unix_with_group_time_and_year() {
        // vsftpd.
        let e = entry(parse_list(
            "-rw-r--r--    1 1000     1000           13 Dec 01 09:30 hello.txt",
            now(),
        ));
        assert_eq!(e.name, "hello.txt");
        assert_eq!(e.kind, EntryType::File);
        assert_eq!(e.size, Some(13));
        assert_eq!(e.modified, at("20261201093000"));
        // A time more than a day ahead is last year's.
        let e = entry(parse_list(
            "drwxr-xr-x    2 0        0            4096 Dec 25 10:00 old dir",
            now(),
        ));
        assert_eq!(e.kind, EntryType::Dir);
        assert_eq!(e.name, "old dir");
        assert_eq!(e.modified, at("20251225100000"));
        // A year.
        let e = entry(parse_list(
            "-rw-r--r--   1 ftp      ftp      1234567890 Feb 29  2020 leap.iso",
            now(),
        ));
        assert_eq!(e.size, Some(1_234_567_890));
        assert_eq!(e.modified, at("20200229000000"));
        assert_eq!(e.name, "leap.iso");
    }

    #[test]
    fn unix_without_group_with_spaces_links_and_odd_columns() {
        // No group column (some embedded servers, ls -o).
        let e = entry(parse_list(
            "-rw-r--r--   1 owner     512 Jan  5  2021 a  b  c.txt",
            now(),
        ));
        assert_eq!(e.name, "a  b  c.txt");
        assert_eq!(e.size, Some(512));
        // A name that looks like a date.
        let e = entry(parse_list(
            "-rw-r--r--   1 u g 7 Mar  3 04:05 Jan 02 2020",
            now(),
        ));
        assert_eq!(e.name, "Jan 02 2020");
        assert_eq!(e.size, Some(7));
        // Links.
        let e = entry(parse_list(
            "lrwxrwxrwx    1 0        0              11 Nov 30 08:00 latest -> release-1.2",
            now(),
        ));
        assert_eq!(e.kind, EntryType::Link);
        assert_eq!(e.name, "latest");
        assert_eq!(e.target.as_deref(), Some("release-1.2"));
        // ACL marker, long-iso dates, a leading-space name.
        let e = entry(parse_list(
            "-rw-r--r--+ 1 u g 10 2024-03-05 17:08 iso name",
            now(),
        ));
        assert_eq!(e.name, "iso name");
        assert_eq!(e.modified, at("20240305170800"));
        let e = entry(parse_list("-rw-r--r-- 1 u g 10 Jan 02 2020  spaced", now()));
        assert_eq!(e.name, " spaced");
        // A device: "major, minor" instead of a size.
        let e = entry(parse_list(
            "crw-rw-rw-   1 root root 1,   3 Jan 02 2020 null",
            now(),
        ));
        assert_eq!(e.kind, EntryType::Other);
        assert_eq!(e.name, "null");
        assert_eq!(e.size, None);
    }

    #[test]
    fn unix_dates_at_their_edges() {
        // Without a year: up to a day ahead (a server's clock) is this year, later is last year's.
        let year = |line: &str| rfc3339(entry(parse_list(line, now())).modified.unwrap());
        assert_eq!(
            year("-rw-r--r-- 1 u g 1 Dec 02 18:00 a"),
            "2026-12-02T18:00:00Z"
        );
        assert_eq!(
            year("-rw-r--r-- 1 u g 1 Dec 03 12:00 a"),
            "2026-12-03T12:00:00Z"
        );
        assert_eq!(
            year("-rw-r--r-- 1 u g 1 Dec 03 12:01 a"),
            "2025-12-03T12:01:00Z"
        );
        for (t, y) in [
            ("20261231235959", 2026),
            ("20270101000000", 2027),
            ("20240229120000", 2024),
            ("20000301000000", 2000),
            ("19700101000000", 1970),
        ] {
            assert_eq!(year_of(at(t).unwrap()), y, "{t}");
        }
        // Long-iso dates need a four-digit year and three parts.
        for line in [
            "-rw-r--r-- 1 u g 10 02020-01-02 03:04 a",
            "-rw-r--r-- 1 u g 10 2020-01 03:04 a",
            "-rw-r--r-- 1 u g 10 2020-01-02-03 03:04 a",
        ] {
            assert_eq!(parse_list(line, now()), Line::Unparsed, "{line}");
        }
    }

    #[test]
    fn unix_columns_before_the_date() {
        // Two to seven columns before the date; the one before it is the size.
        let e = entry(parse_list("-rw-r--r-- 5 Jan 02 2020 two", now()));
        assert_eq!((e.name.as_str(), e.size), ("two", Some(5)));
        let e = entry(parse_list(
            "-rw-r--r-- 1 a b c d 6 Jan 02 2020 seven",
            now(),
        ));
        assert_eq!((e.name.as_str(), e.size), ("seven", Some(6)));
        for line in [
            "-rw-r--r-- 1 a b c d e 6 Jan 02 2020 eight",
            // Not a size before the date.
            "-rw-r--r-- 1 u g x Jan 02 2020 name",
            // No name after the date.
            "-rw-r--r-- 1 u g 5 Jan 02 2020",
            "-rw-r--r-- 1 u g 5 Jan 02 2020 ",
            "-rw-r--r-- 1 u g 5 2020-01-02 03:04",
        ] {
            assert_eq!(parse_list(line, now()), Line::Unparsed, "{line:?}");
        }
        // A device's "major, minor" is not a size; a pipe's size is.
        let e = entry(parse_list(
            "brw-rw---- 1 root disk 8, 1 Jan 02 2020 sda1",
            now(),
        ));
        assert_eq!((e.name.as_str(), e.size), ("sda1", None));
        let e = entry(parse_list("prw-r--r-- 1 u g 0 Jan 02 2020 fifo", now()));
        assert_eq!((e.kind, e.size), (EntryType::Other, Some(0)));
    }

    #[test]
    fn dos_listings() {
        let e = entry(parse_list(
            "01-02-20  03:04PM       <DIR>          Program Files",
            now(),
        ));
        assert_eq!(e.kind, EntryType::Dir);
        assert_eq!(e.name, "Program Files");
        assert_eq!(e.modified, at("20200102150400"));
        let e = entry(parse_list(
            "12-31-1999  12:00AM           1,048,576 y2k.log",
            now(),
        ));
        assert_eq!(e.kind, EntryType::File);
        assert_eq!(e.size, Some(1_048_576));
        assert_eq!(e.modified, at("19991231000000"));
        let e = entry(parse_list("06-15-21  12:30PM  42 noon.txt", now()));
        assert_eq!(e.modified, at("20210615123000"));
        assert_eq!(parse_list("13-45-21  12:30PM  42 x", now()), Line::Unparsed);
        // Two-digit years: 70-99 are 19xx, 00-69 are 20xx; a morning hour stays itself.
        let e = entry(parse_list("01-02-70  09:15AM  1 a", now()));
        assert_eq!(e.modified, at("19700102091500"));
        let e = entry(parse_list("01-02-69  11:59PM  1 b", now()));
        assert_eq!(e.modified, at("20690102235900"));
        let e = entry(parse_list("01-02-2020  17:05  1 c", now()));
        assert_eq!(e.modified, at("20200102170500"));
        assert_eq!(parse_list("01-02-20  03:04PM  <DIR> ..", now()), Line::Skip);
    }

    #[test]
    fn eplf_listings() {
        let e = entry(parse_list("+i8388621.29609,m824255902,/,\tdev", now()));
        assert_eq!(e.kind, EntryType::Dir);
        assert_eq!(e.name, "dev");
        assert_eq!(
            e.modified,
            Some(UNIX_EPOCH + Duration::from_secs(824_255_902))
        );
        let e = entry(parse_list(
            "+i8388621.44468,m839956783,r,s10376,\tRFCEPLF",
            now(),
        ));
        assert_eq!(e.kind, EntryType::File);
        assert_eq!(e.size, Some(10376));
        assert_eq!(parse_list("+no tab here", now()), Line::Unparsed);
        // A folder that is also retrievable stays a folder, in either order.
        for line in ["+/,r,\tboth", "+r,/,\tboth"] {
            assert_eq!(
                entry(parse_list(line, now())).kind,
                EntryType::Dir,
                "{line}"
            );
        }
        assert_eq!(entry(parse_list("+i1,\tx", now())).kind, EntryType::Other);
        assert_eq!(parse_list("+r,\t", now()), Line::Unparsed);
    }

    #[test]
    fn dot_folders_are_skipped_in_any_format() {
        for name in [".", ".."] {
            let unix = format!("drwxr-xr-x 2 u g 4096 Jan  2  2020 {name}");
            assert_eq!(parse_list(&unix, now()), Line::Skip, "{unix}");
        }
        assert_eq!(
            entry(parse_list("drwxr-xr-x 2 u g 4096 Jan  2  2020 .x", now())).name,
            ".x"
        );
    }

    #[test]
    fn type_names_and_letters() {
        let all = [
            EntryType::File,
            EntryType::Dir,
            EntryType::Link,
            EntryType::Other,
        ];
        let names: Vec<_> = all.iter().map(|t| t.name()).collect();
        let letters: String = all.iter().map(|t| t.letter()).collect();
        assert_eq!(names, ["file", "dir", "link", "other"]);
        assert_eq!(letters, "-dl?");
    }

    #[test]
    fn mlsd_lines() {
        let e = entry(parse_mlsd(
            "type=file;size=1024;modify=20200102030405;UNIX.mode=0644; a file; with semicolons",
        ));
        assert_eq!(e.name, "a file; with semicolons");
        assert_eq!(e.size, Some(1024));
        assert_eq!(e.modified, at("20200102030405"));
        let e = entry(parse_mlsd(
            "type=OS.unix=slink:/srv/target;modify=20200102030405; l",
        ));
        assert_eq!(e.kind, EntryType::Link);
        assert_eq!(e.target.as_deref(), Some("/srv/target"));
        assert_eq!(entry(parse_mlsd("Type=DIR; d")).kind, EntryType::Dir);
        assert_eq!(parse_mlsd("type=cdir; ."), Line::Skip);
        assert_eq!(parse_mlsd("type=pdir; .."), Line::Skip);
        // Named by their paths, as RFC 3659 allows: still the folder and its parent.
        assert_eq!(parse_mlsd("type=cdir;perm=el; /pub/x"), Line::Skip);
        assert_eq!(parse_mlsd("Type=PDir; /pub"), Line::Skip);
        assert_eq!(parse_mlsd("nospace"), Line::Unparsed);
        assert_eq!(parse_mlsd("type=file;bad; x"), Line::Unparsed);
        assert_eq!(parse_mlsd("typefile; x"), Line::Unparsed);
        assert_eq!(parse_mlsd("type=file; "), Line::Unparsed);
        let e = entry(parse_mlsd("type=file;sizd=12;Unique=801g4;perm=r; a b.csv"));
        assert_eq!(
            (e.name.as_str(), e.kind, e.size, e.unique.as_deref()),
            ("a b.csv", EntryType::File, Some(12), Some("801g4"))
        );
        // Without a type, or one we do not know: other.
        assert_eq!(entry(parse_mlsd("size=3; x")).kind, EntryType::Other);
        assert_eq!(
            entry(parse_mlsd("type=OS.unix=blk; x")).kind,
            EntryType::Other
        );
        // A link without its target, or with an empty one.
        for line in [
            "type=OS.unix=symlink; l",
            "type=OS.unix=slink:; l",
            "type=OS.unix=slink; l",
        ] {
            let e = entry(parse_mlsd(line));
            assert_eq!((e.kind, e.target), (EntryType::Link, None), "{line}");
        }
        // `.` and `..` are skipped whatever their type says.
        assert_eq!(parse_mlsd("type=dir; ."), Line::Skip);
        assert_eq!(parse_mlsd("type=dir; .."), Line::Skip);
        assert_eq!(entry(parse_mlsd("type=dir; ...")).name, "...");
    }

    /// Walks a tree given as (folder, its subfolders), the way `list` does.
    fn walk(tree: &[(&str, &[&str])], root: &str) -> (Vec<String>, Option<String>) {
        let mut t = Tree::new(root);
        let mut order = Vec::new();
        while let Some(folder) = t.next_folder() {
            order.push(folder.path.clone());
            let subs = tree
                .iter()
                .find(|(p, _)| *p == folder.path)
                .map_or(&[][..], |(_, s)| s);
            for name in subs {
                if let Err(e) = t.found(&folder, name, None) {
                    return (order, Some(e.to_string()));
                }
            }
            t.done(folder);
        }
        (order, None)
    }

    #[test]
    fn trees_are_walked_depth_first_in_the_order_listed() {
        let tree: &[(&str, &[&str])] = &[
            ("", &["a", "b"]),
            ("a", &["x", "y"]),
            ("a/x", &["deep"]),
            ("b", &["z"]),
        ];
        let (order, e) = walk(tree, "");
        assert_eq!(order, ["", "a", "a/x", "a/x/deep", "a/y", "b", "b/z"]);
        assert_eq!(e, None);
        // From the root, and from a folder of its own.
        assert_eq!(walk(&[("/", &["srv"])], "/").0, ["/", "/srv"]);
        assert_eq!(walk(&[("pub/d", &["e"])], "pub/d").0, ["pub/d", "pub/d/e"]);
    }

    #[test]
    fn a_loop_by_unique_fact_is_not_entered_and_only_ancestors_count() {
        let mut t = Tree::new("top");
        let top = t.next_folder().unwrap();
        assert!(t.found(&top, "a", Some("A")).unwrap());
        assert!(t.found(&top, "b", Some("B")).unwrap());
        t.done(top);
        let a = t.next_folder().unwrap();
        assert_eq!((a.path.as_str(), a.depth), ("top/a", 1));
        // a itself, shown again inside a: a loop.
        assert!(!t.found(&a, "self", Some("A")).unwrap());
        // b is a sibling, not above: entered (it is another path to it, not a loop).
        assert!(t.found(&a, "to-b", Some("B")).unwrap());
        assert!(t.found(&a, "c", Some("C")).unwrap());
        t.done(a);
        assert_eq!(t.next_folder().unwrap().path, "top/a/to-b");
        let c = t.next_folder().unwrap();
        assert_eq!(c.path, "top/a/c");
        assert!(!t.found(&c, "up", Some("A")).unwrap());
        assert!(t.found(&c, "fresh", None).unwrap());
    }

    #[test]
    fn a_walk_beyond_its_bounds_is_an_error_naming_the_folder() {
        // 64 levels are entered; a folder at the 64th holding another is the end.
        let mut t = Tree::new("");
        let mut depth = 0;
        while let Some(folder) = t.next_folder() {
            depth = folder.depth;
            if let Err(e) = t.found(&folder, "d", None) {
                assert_eq!(e.exit_code(), 76);
                assert!(e.to_string().ends_with(
                    ": holds the folder \"d\", deeper than 64 levels: not entered (a loop on the server?)"
                ), "{e}");
                break;
            }
            t.done(folder);
        }
        assert_eq!(depth, MAX_DEPTH);
        // A path longer than MAX_PATH.
        let mut t = Tree::new("");
        let f = t.next_folder().unwrap();
        assert!(
            t.found(&f, &"n".repeat(crate::ftp::client::MAX_PATH), None)
                .unwrap()
        );
        let e = t.found(&f, &"n".repeat(crate::ftp::client::MAX_PATH + 1), None);
        let e = e.unwrap_err().to_string();
        assert!(
            e.starts_with("the login folder: holds a folder whose path would be 4001 bytes long"),
            "{e}"
        );
        // The bytes kept: names and their overhead, given back as frames are left.
        let mut t = Tree::new("r");
        let f = t.next_folder().unwrap();
        let name = "x".repeat(1000);
        let fit = MAX_WALK_BYTES / (1000 + NAME_OVERHEAD);
        for _ in 0..fit {
            assert!(t.found(&f, &name, None).unwrap());
        }
        let e = t.found(&f, &name, None).unwrap_err().to_string();
        assert!(
            e.starts_with("r: the walk would keep more than 4 MiB of names"),
            "{e}"
        );
        t.restart();
        assert_eq!(t.used, 0);
        t.charge(&f, 10).unwrap();
        t.release(1, 10);
        assert_eq!(t.used, 0);
        assert!(t.found(&f, "a", None).unwrap());
        t.done(f);
        let a = t.next_folder().unwrap();
        assert_eq!(t.used, 1 + NAME_OVERHEAD);
        t.done(a);
        assert!(t.next_folder().is_none());
        assert_eq!(t.used, 0);
    }

    #[test]
    fn paths_and_their_display() {
        assert_eq!(join("", "a"), "a");
        assert_eq!(join("/", "a"), "/a");
        assert_eq!(join("d/e", "a"), "d/e/a");
        assert_eq!(folder_path("d/"), "d");
        assert_eq!(folder_path("d//"), "d");
        assert_eq!(folder_path(""), "");
        assert_eq!(folder_path("/"), "/");
        assert_eq!(folder_path("//"), "/");
        assert_eq!(shown("a\x1bb"), "a\\x1bb");
        let long = format!("{}{}", "a".repeat(150), "z".repeat(100));
        assert_eq!(
            shown(&long),
            format!("{}...{} (250 bytes)", "a".repeat(100), "z".repeat(60))
        );
    }

    #[test]
    fn anything_else_is_unparsed_never_a_panic() {
        for line in [
            "garbage",
            "-",
            "drwx",
            "-rw-r--r-- 1 u g 10 Jan",
            "-rw-r--r-- 1 u g x Jan 02 2020",
            "-rw-r--r-- 1 u g 10 Jan 02 2020",
            "0",
            "01-02-20",
            "+",
            "\u{1b}[31m",
            "-rw-r--r-- 1 u g 10 Feb 30 2020 x",
            "-rwxrwxrwx 1 u g 10 Jan 99 10:00 x",
        ] {
            assert_eq!(parse_list(line, now()), Line::Unparsed, "{line:?}");
        }
        assert_eq!(parse_list("total 42", now()), Line::Skip);
        assert_eq!(parse_list("   ", now()), Line::Skip);
        // Every prefix of real lines: no panic.
        for line in [
            "lrwxrwxrwx    1 0        0              11 Nov 30 08:00 latest -> release-1.2",
            "01-02-20  03:04PM       <DIR>          Program Files",
            "+i8388621.44468,m839956783,r,s10376,\tRFCEPLF",
            "-rw-r--r--   1 owner     512 Jan  5  2021 ünï cödé",
        ] {
            for (i, _) in line.char_indices() {
                let _ = parse_list(&line[..i], now());
                let _ = parse_mlsd(&line[..i]);
            }
        }
    }
}
