//! The walk of a remote tree that ftp-ls (`-R`) and ftp-get (`-r`) take: depth first, one
//! folder listed at a time ([`entries`]), within bounds that keep memory constant whatever
//! the server sends ([`Tree`]: depth, bytes of names kept, path length), never around a loop
//! the MLSD `unique` facts show. The listing lines themselves are parsed by
//! [`crate::ftp::list`].

use crate::error::{Error, Kind, Result};
use crate::ftp::FtpClient;
use crate::ftp::list::{Line, ListEntry, join, parse_list, parse_mlsd, shown};
use std::time::SystemTime;

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
pub struct RemoteFolder {
    /// Its path ("" for the login folder; no trailing '/' but in "/", the root).
    pub path: String,
    /// 0 for the folder the walk starts at.
    pub depth: usize,
    /// Its MLSD `unique` fact, hashed, when its listing line had one.
    unique: Option<u64>,
}

/// The folders a depth-first walk has yet to enter, bounded in bytes ([`MAX_WALK_BYTES`]),
/// depth ([`MAX_DEPTH`]) and path length ([`MAX_PATH`](crate::ftp::client::MAX_PATH)). It keeps
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
    pub fn next_folder(&mut self) -> Option<RemoteFolder> {
        // Subfolders found in a folder that was not ended with `done` are dropped.
        self.restart();
        if let Some(path) = self.root.take() {
            return Some(RemoteFolder {
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
                return Some(RemoteFolder {
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
        folder: &RemoteFolder,
        name: &str,
        unique: Option<&str>,
    ) -> Result<bool> {
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
    pub fn done(&mut self, folder: RemoteFolder) {
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
    pub fn charge(&mut self, folder: &RemoteFolder, bytes: usize) -> Result<()> {
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
/// [`MAX_PATH`](crate::ftp::client::MAX_PATH): an error naming it (76) when it is not.
pub fn fits(folder: &RemoteFolder, name: &str, what: &str) -> Result<()> {
    let path_len = match folder.path.as_str() {
        "" => name.len(),
        p if p.ends_with('/') => p.len() + name.len(),
        p => p.len() + 1 + name.len(),
    };
    if path_len > crate::ftp::client::MAX_PATH {
        return Err(beyond(format!(
            "{}: holds a {what} whose path would be {path_len} bytes long (\"{}\"); remote paths are limited to {} bytes",
            place(&folder.path),
            shown(name),
            crate::ftp::client::MAX_PATH
        )));
    }
    Ok(())
}

/// A walk that cannot go on within its bounds (76).
fn beyond(message: String) -> Error {
    Error::new(Kind::Protocol, message)
}

/// A folder as a message names it.
pub(crate) fn place(path: &str) -> String {
    if path.is_empty() {
        "the login folder".to_string()
    } else {
        shown(path)
    }
}

/// Lists one folder, `dir`, as entries (MLSD when the server offers it, else LIST, parsed),
/// each handed to `each` as its line arrives; `None` for a line no format matches.
pub fn entries(
    client: &mut FtpClient,
    dir: &str,
    now: SystemTime,
    each: &mut dyn FnMut(Option<&ListEntry>) -> Result<()>,
) -> Result<()> {
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
pub fn check_folder(client: &mut FtpClient, dir: &str) -> Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
