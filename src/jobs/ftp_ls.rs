//! ftp-ls's job: a listing of a folder, of the entries a glob in the last part of a path
//! matches, or of one file, streamed entry by entry as the lines arrive; with `-R` the
//! folders found are entered too, on the bounded walk of [`super::walk`].

use super::walk::{RemoteFolder, Tree, check_folder, place};
use crate::error::{Error, Kind, Result};
use crate::ftp::FtpClient;
use crate::ftp::list::{EntryType, Line, ListEntry, folder_path, parse_list, parse_mlsd};
use crate::ftp::parse::{glob_match, has_glob};
use std::time::SystemTime;

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

/// Lists `path` on `client`: a folder (empty or ending in '/'), the entries of its parent that
/// match a glob in its last part, or a single file or folder. MLSD when the server offers it,
/// else LIST, parsed. Entries stream to `each` as their lines arrive; with `walk.recursive`
/// the folders found are entered, depth first, within the bounds of a [`Tree`]. An empty
/// listing of the folder asked for is checked (MLST, or CWD): a missing folder is 66, where
/// a server such as vsftpd answers LIST with an empty listing.
pub fn list(
    client: &mut FtpClient,
    path: &str,
    walk: Walk,
    now: SystemTime,
    each: &mut dyn FnMut(Item<'_>) -> Result<()>,
) -> Result<()> {
    let (dir, pattern) = match start(client, path, walk)? {
        Start::RemoteFolder { dir, pattern } => (dir, pattern),
        Start::File { dir } => {
            // One file: its own entry.
            let entry = single(client, path, now)?;
            return each(Item::Entry {
                dir: &dir,
                entry: &entry,
            });
        }
    };
    let mut lister = Lister {
        mlsd: client.features().mlsd && !walk.raw,
        walk,
        now,
        pattern: pattern.as_deref(),
        matched: 0,
        tree: Tree::new(&dir),
    };
    while let Some(folder) = lister.tree.next_folder() {
        lister.folder(client, &folder, each)?;
        lister.tree.done(folder);
    }
    match pattern {
        Some(p) if lister.matched == 0 => Err(Error::new(
            Kind::NoInput,
            format!("{path}: nothing matches {p}"),
        )),
        _ => Ok(()),
    }
}

/// Where a listing starts.
enum Start {
    /// A folder, all of it or the entries `pattern` matches.
    RemoteFolder {
        dir: String,
        pattern: Option<String>,
    },
    /// One file, in the folder `dir`.
    File { dir: String },
}

/// What `path` names: a folder, a glob in a folder's last part, or one file (asked of the
/// server, unless `--raw` lists it as it is).
fn start(client: &mut FtpClient, path: &str, walk: Walk) -> Result<Start> {
    if path.is_empty() || path.ends_with('/') {
        return Ok(Start::RemoteFolder {
            dir: folder_path(path).to_string(),
            pattern: None,
        });
    }
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
    Ok(if has_glob(last) {
        Start::RemoteFolder {
            dir: d.to_string(),
            pattern: Some(last.to_string()),
        }
    } else if walk.raw || client.folder_exists(path)? == Some(true) {
        Start::RemoteFolder {
            dir: path.to_string(),
            pattern: None,
        }
    } else {
        Start::File { dir: d.to_string() }
    })
}

/// A listing under way, folder by folder.
struct Lister<'p> {
    mlsd: bool,
    walk: Walk,
    now: SystemTime,
    /// The glob the top folder's entries must match.
    pattern: Option<&'p str>,
    /// Entries it matched.
    matched: usize,
    tree: Tree,
}

impl Lister<'_> {
    /// Lists `folder`, handing each entry (or raw line) to `each` and keeping its
    /// subfolders for the walk. An empty top folder is checked to be there.
    fn folder(
        &mut self,
        client: &mut FtpClient,
        folder: &RemoteFolder,
        each: &mut dyn FnMut(Item<'_>) -> Result<()>,
    ) -> Result<()> {
        let top = folder.depth == 0;
        let mut failure: Option<Error> = None;
        let mut entries = 0u64;
        let verb = if self.mlsd { "MLSD" } else { "LIST" };
        client.listing(verb, &folder.path, &mut |line: &[u8]| {
            if self.walk.raw {
                entries += 1;
                return each(Item::Raw(line));
            }
            let text = String::from_utf8_lossy(line);
            let entry = match self.parse(&text) {
                Line::Entry(e) => e,
                Line::Skip => return Ok(()),
                Line::Unparsed => return each(Item::Unparsed(&text)),
            };
            entries += 1;
            if top && !self.matches(&entry) {
                return Ok(());
            }
            if failure.is_none() {
                // The rest of this listing is still shown; then the walk ends.
                failure = self.enter(folder, &entry).err();
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
            check_folder(client, &folder.path).map_err(|e| match self.pattern {
                Some(_) => e.context(place(&folder.path)),
                None => e,
            })?;
        }
        Ok(())
    }

    fn parse(&self, text: &str) -> Line {
        if self.mlsd {
            parse_mlsd(text)
        } else {
            parse_list(text, self.now)
        }
    }

    /// Whether an entry of the top folder is wanted (the glob, counted).
    fn matches(&mut self, entry: &ListEntry) -> bool {
        match self.pattern {
            Some(p) if !glob_match(p, &entry.name) => false,
            Some(_) => {
                self.matched += 1;
                true
            }
            None => true,
        }
    }

    /// With `-R`, keeps a subfolder of `folder` to be entered.
    fn enter(&mut self, folder: &RemoteFolder, entry: &ListEntry) -> Result<()> {
        if self.walk.recursive && entry.kind == EntryType::Dir && !entry.name.contains('/') {
            self.tree
                .found(folder, &entry.name, entry.unique.as_deref())?;
        }
        Ok(())
    }
}

/// The entry of one file: MLST when offered, else SIZE and MDTM; a missing file is 66.
fn single(client: &mut FtpClient, path: &str, _now: SystemTime) -> Result<ListEntry> {
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
