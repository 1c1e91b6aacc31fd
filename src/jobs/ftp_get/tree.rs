//! ftp-get's `-r`: a remote tree mirrored into the destination folder, one folder at a time,
//! on the bounded walk of [`crate::jobs::walk`].

use super::{Destination, Names, Run, Stop};
use crate::error::{Error, Kind, Result};
use crate::events::Events;
use crate::ftp::list::{EntryType, ListEntry, folder_path};
use crate::ftp::parse::safe_local_name;
use crate::jobs::walk::{self, RemoteFolder, Tree, fits};
use crate::net::url::Target;
use crate::wire::printable;
use std::time::SystemTime;

impl Run<'_> {
    /// `-r`: mirrors the tree under the folder `target` into the destination folder, one
    /// remote folder at a time, depth first: its listing is read (the names of its files
    /// kept, its subfolders handed to a [`Tree`], all within the walk's bounds in bytes,
    /// depth and path length), its files downloaded, then its subfolders entered. Every
    /// remote name is checked before it touches the disk, and no local folder on the way may
    /// be a link. A tree that does not fit the bounds ends the walk with an error (76).
    pub(super) fn mirror(&mut self, target: &Target, stream_written: &mut u64) -> Stop {
        if !matches!(self.opts.destination, Destination::Dir(_)) {
            self.events.fail(&Error::new(
                Kind::Usage,
                format!("{target}: -r mirrors into a folder: use -O DIR, not -o or --stdout"),
            ));
            return Stop::Next;
        }
        self.tree_base = Some(target.path.clone());
        let mut tree = Tree::new(folder_path(&target.path));
        let stop = 'walk: loop {
            let Some(folder) = tree.next_folder() else {
                break Stop::Next;
            };
            let dir = match folder.path.as_str() {
                "" => String::new(),
                "/" => "/".to_string(),
                p => format!("{p}/"),
            };
            let dir_target = target.with_path(dir.clone());
            if let Err(e) = self.local_folder(&dir_target) {
                self.events.fail(&e);
                continue;
            }
            let listing = self.with_retries(|run| run.list_folder(&dir_target, &folder, &mut tree));
            let files = match listing {
                Ok(Listing::Files(f)) => f,
                Ok(Listing::Beyond(e)) => {
                    // The walk cannot go on within its bounds: it ends here.
                    self.events.fail(&e.context(target));
                    break Stop::Next;
                }
                Err(e) => {
                    self.events.fail(&e);
                    if self.login_failed(&e) {
                        break Stop::Server;
                    }
                    continue;
                }
            };
            for name in files.iter() {
                let t = target.with_path(format!("{dir}{name}"));
                match self.fetch_one(&t, stream_written) {
                    Stop::Next => {}
                    stop => break 'walk stop,
                }
            }
            tree.release(files.len(), files.text_len());
            tree.done(folder);
        };
        self.tree_base = None;
        stop
    }

    /// The listing of one folder of a tree (`folder`, as `dir`): the names of its files, each
    /// charged to `tree`, and its subfolders handed to `tree`. Hostile names are refused
    /// (76) and reported; links and special files are skipped with a note. A folder beyond
    /// the walk's bounds is [`Listing::Beyond`]; an empty listing of the folder the walk
    /// starts at is checked (a missing folder is 66).
    fn list_folder(
        &mut self,
        dir: &Target,
        folder: &RemoteFolder,
        tree: &mut Tree,
    ) -> Result<Listing> {
        // A retry reads the listing again from its start.
        tree.restart();
        let mut read = FolderRead {
            dir,
            folder,
            tree,
            files: Names::default(),
            beyond: None,
            refused: Capped::default(),
            skipped: Capped::default(),
            unparsed: 0,
            entries: 0,
        };
        let client = self.client(dir)?;
        let listed = walk::entries(client, &folder.path, SystemTime::now(), &mut |item| {
            read.entry(item);
            Ok(())
        });
        if let Err(e) = listed {
            read.tree.release(read.files.len(), read.files.text_len());
            read.tree.restart();
            return Err(e);
        }
        read.refused.fail(self.events, |more| {
            format!("{dir}: refused {more} more listed names")
        });
        read.skipped.note(self.events, |more| {
            format!("{dir}: {more} more links or special files skipped")
        });
        if read.unparsed > 0 {
            self.events.note(&format!(
                "{dir}: {} listing lines were not understood, skipped",
                read.unparsed
            ));
        }
        if let Some(e) = read.beyond {
            return Ok(Listing::Beyond(e));
        }
        if folder.depth == 0 && read.entries == 0 {
            let client = self.client(dir)?;
            walk::check_folder(client, &folder.path).map_err(|e| e.context(dir))?;
        }
        Ok(Listing::Files(read.files))
    }

    /// Makes the local folder for the remote folder `dir` of the tree: each component
    /// below the destination is created when missing, and must be a real folder, never a
    /// link (which could lead out of the destination).
    fn local_folder(&mut self, dir: &Target) -> Result<()> {
        let (Destination::Dir(root), Some(base)) = (&self.opts.destination, &self.tree_base) else {
            return Ok(());
        };
        let rel = dir.path.strip_prefix(base.as_str()).unwrap_or("");
        let mut at = root.clone();
        for part in rel.split('/').filter(|p| !p.is_empty()) {
            safe_local_name(part).map_err(|why| {
                Error::new(
                    Kind::Protocol,
                    format!(
                        "{dir}: refusing the remote name \"{}\": {why}",
                        printable(part)
                    ),
                )
            })?;
            at.push(part);
            match std::fs::symlink_metadata(&at) {
                Ok(m) if m.file_type().is_dir() => {}
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(Error::new(
                        Kind::CantCreate,
                        format!(
                            "{}: is a symbolic link; not following it out of the destination",
                            at.display()
                        ),
                    ));
                }
                Ok(_) => {
                    return Err(Error::new(
                        Kind::CantCreate,
                        format!("{}: exists and is not a folder", at.display()),
                    ));
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    std::fs::create_dir(&at).map_err(|e| Error::cant_create(at.display(), &e))?;
                }
                Err(e) => return Err(Error::cant_create(at.display(), &e)),
            }
        }
        Ok(())
    }
}

/// What the listing of one folder of a tree gave.
enum Listing {
    /// The names of its files (its subfolders went to the tree).
    Files(Names),
    /// The folder is beyond the walk's bounds: the walk ends with this error.
    Beyond(Error),
}

/// One folder's listing as it is read.
struct FolderRead<'a> {
    dir: &'a Target,
    folder: &'a RemoteFolder,
    tree: &'a mut Tree,
    files: Names,
    /// The walk cannot go on within its bounds: the rest of the listing is read (the
    /// connection stays in step), not kept.
    beyond: Option<Error>,
    refused: Capped,
    skipped: Capped,
    unparsed: u64,
    entries: u64,
}

impl FolderRead<'_> {
    /// Takes one entry (`None`: a line no format matches).
    fn entry(&mut self, item: Option<&ListEntry>) {
        let Some(e) = item else {
            self.unparsed += 1;
            return;
        };
        self.entries += 1;
        if self.beyond.is_some() {
            return;
        }
        let dir = self.dir;
        if let Err(why) = safe_local_name(&e.name) {
            self.refused.push(|| {
                format!(
                    "{dir}: refusing the listed name \"{}\": {why}",
                    printable(&e.name)
                )
            });
            return;
        }
        let kept = match e.kind {
            EntryType::Dir => self
                .tree
                .found(self.folder, &e.name, e.unique.as_deref())
                .map(|_| ()),
            EntryType::File => {
                if let Err(too_long) = fits(self.folder, &e.name, "file") {
                    // No command could name it: refused, as a hostile name is.
                    self.refused.push(|| too_long.context(dir).to_string());
                    return;
                }
                let files = &mut self.files;
                self.tree
                    .charge(self.folder, e.name.len())
                    .map(|()| files.push(&e.name))
            }
            EntryType::Link | EntryType::Other => {
                self.skipped.push(|| {
                    format!(
                        "{}: a link or special file, skipped",
                        dir.with_path(format!("{}{}", dir.path, e.name))
                    )
                });
                Ok(())
            }
        };
        if let Err(e) = kept {
            self.beyond = Some(e);
        }
    }
}

/// Messages about a listing: the first ten said each, the rest counted.
#[derive(Default)]
struct Capped {
    said: Vec<String>,
    more: u64,
}

impl Capped {
    fn push(&mut self, msg: impl FnOnce() -> String) {
        if self.said.len() < 10 {
            self.said.push(msg());
        } else {
            self.more += 1;
        }
    }

    /// Each a failure (76), then `more` for the rest.
    fn fail(self, events: &mut dyn Events, more: impl FnOnce(u64) -> String) {
        for msg in self.said {
            events.fail(&Error::new(Kind::Protocol, msg));
        }
        if self.more > 0 {
            events.fail(&Error::new(Kind::Protocol, more(self.more)));
        }
    }

    /// Each a note, then `more` for the rest.
    fn note(self, events: &mut dyn Events, more: impl FnOnce(u64) -> String) {
        for msg in self.said {
            events.note(&msg);
        }
        if self.more > 0 {
            events.note(&more(self.more));
        }
    }
}
