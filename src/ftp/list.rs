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

impl ListEntry {
    /// `name`, with nothing known of it yet: the facts of its line fill it in.
    fn named(name: &str) -> ListEntry {
        ListEntry {
            name: name.to_string(),
            kind: EntryType::Other,
            size: None,
            modified: None,
            target: None,
            unique: None,
        }
    }
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
    let mut e = ListEntry::named(name);
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
    let mut e = ListEntry::named(name);
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
                    // Past what a SystemTime holds is no time (adding would panic).
                    .and_then(|s| UNIX_EPOCH.checked_add(Duration::from_secs(s)))
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
    // Bytes, not characters: a non-ASCII byte there is no permission letter (and no place
    // to cut a string).
    let mode = perms.as_bytes().get(1..10)?;
    if !mode.iter().all(|b| b"rwxsStTl-".contains(b)) {
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

    /// A hostile server's line with a non-ASCII character among the permission letters
    /// (found by fuzzing: cutting the string there panicked).
    #[test]
    fn unix_permissions_with_a_multibyte_character() {
        for line in [
            "-rw-r--r\u{fffd}-   1 0 0 4096 Dec  2 10:00 readme.txt",
            "-\u{e9}\u{e9}\u{e9}\u{e9}\u{e9} 1 0 0 1 Dec  2 10:00 x",
            "d\u{fffd}",
        ] {
            assert_eq!(parse_list(line, now()), Line::Unparsed, "{line:?}");
        }
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
        // A time past what a SystemTime holds (found by fuzzing: the addition panicked).
        let e = entry(parse_list("+m18446744073709551615,r,\tfar", now()));
        assert_eq!((e.name.as_str(), e.modified), ("far", None));
        let e = entry(parse_list("+m9223372036854775807,r,\tfar", now()));
        let _ = e.modified.map(rfc3339);
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
