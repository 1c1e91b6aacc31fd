//! `--output-dir DIR`: one file per message, `0001.eml`, `0002.eml`... numbered on from the
//! highest number already in the folder, so a second run never overwrites the first's.
//! Each is written to a hidden temporary name (`.TIME.MxPpidQn.eml.part`) and fsynced; at
//! [`Deliver::sync`] each is linked to its final name (which fails rather than replace a
//! file that appeared meanwhile: the next number is taken), and the folder fsynced.
//! Until the batch is recorded ([`Deliver::keep`]), [`Deliver::undo`] and dropping take it
//! back; SIGINT, SIGTERM and SIGHUP remove this process's temporaries.

use super::{Deliver, MessageInfo, MessageSink, TempMessage, unique_stem};
use crate::error::{Error, Kind, Result};
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

pub struct OutputDir {
    dir: PathBuf,
    next: u64,
    /// Committed messages, fsynced, still under their temporary names.
    pending: Vec<PathBuf>,
    /// The names the last sync gave messages, until they are kept.
    published: Vec<PathBuf>,
    /// Folders made for it (`--create-dirs`): their folders are fsynced too.
    entries: super::NewEntries,
    /// Unregistered before `_dir_fd` closes (fields drop in this order).
    _sweep: Option<crate::interrupt::SweepGuard>,
    /// The folder, open for the signal handler's sweep of temporaries.
    _dir_fd: File,
}

impl OutputDir {
    /// Opens `dir` (made when missing only with `create`, as `--create-dirs` says).
    pub fn open(dir: &Path, create: bool) -> Result<OutputDir> {
        let mut entries = super::NewEntries::default();
        entries.extend(crate::transfer::make_folders(dir, create, 0o777)?);
        let mut highest = 0;
        let listing = fs::read_dir(dir).map_err(|e| Error::cant_create(dir.display(), &e))?;
        for e in listing.flatten() {
            if let Some(n) = number_of(&e.file_name().to_string_lossy()) {
                highest = highest.max(n);
            }
        }
        let dir_fd = File::open(dir).map_err(|e| Error::cant_create(dir.display(), &e))?;
        let sweep = crate::interrupt::sweep_on_signal(
            std::os::fd::AsRawFd::as_raw_fd(&dir_fd),
            &format!("P{}Q", std::process::id()),
            ".eml.part",
        );
        Ok(OutputDir {
            dir: dir.to_path_buf(),
            next: highest + 1,
            pending: Vec::new(),
            published: Vec::new(),
            entries,
            _sweep: sweep,
            _dir_fd: dir_fd,
        })
    }

    /// Links `tmp` to the next free number and removes it.
    fn publish(&mut self, tmp: &Path) -> Result<PathBuf> {
        // A file that appeared under the next number since (another program, a concurrent
        // run) is never replaced: take the number after it.
        for _ in 0..1000 {
            let dest = self.dir.join(format!("{:04}.eml", self.next));
            self.next += 1;
            match fs::hard_link(tmp, &dest) {
                Ok(()) => {
                    let _ = fs::remove_file(tmp);
                    return Ok(dest);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(Error::cant_create(dest.display(), &e)),
            }
        }
        Err(Error::new(
            Kind::CantCreate,
            format!("{}: no free NNNN.eml name", self.dir.display()),
        ))
    }
}

/// `0042.eml` is 42.
fn number_of(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".eml")?;
    if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

impl Deliver for OutputDir {
    fn begin(&mut self, _info: &MessageInfo) -> Result<Box<dyn MessageSink + '_>> {
        let tmp = TempMessage::create(self.dir.join(format!(".{}.eml.part", unique_stem())), "")?;
        Ok(Box::new(EmlMessage { out: self, tmp }))
    }

    fn sync(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.pending);
        let (published, result) = super::publish_batch(
            pending,
            |tmp| self.publish(tmp),
            |tmp| {
                let _ = fs::remove_file(tmp);
            },
        );
        self.published.extend(published);
        result?;
        crate::util::durable::sync_folder(&self.dir)?;
        self.entries.sync()
    }

    fn name(&self) -> String {
        format!("folder {}", self.dir.display())
    }

    fn keep(&mut self) {
        self.published.clear();
    }

    fn undo(&mut self) {
        for p in self.pending.drain(..).chain(self.published.drain(..)) {
            let _ = fs::remove_file(p);
        }
    }
}

impl Drop for OutputDir {
    fn drop(&mut self) {
        self.undo();
    }
}

struct EmlMessage<'a> {
    out: &'a mut OutputDir,
    tmp: TempMessage,
}

impl MessageSink for EmlMessage<'_> {
    fn write(&mut self, data: &[u8]) -> Result<()> {
        self.tmp.write(data)
    }

    fn commit(self: Box<Self>) -> Result<()> {
        self.tmp.sync()?;
        // Linked to its number, with the rest of the batch, by `sync`.
        let EmlMessage { out, tmp } = *self;
        out.pending.push(tmp.kept().1);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_go_on_from_the_highest_and_never_overwrite() {
        let d = crate::util::test_folder("eml");
        fs::write(d.join("0007.eml"), b"old").unwrap();
        fs::write(d.join("x.eml"), b"other").unwrap();
        let mut out = OutputDir::open(&d, false).unwrap();
        fs::write(d.join("0008.eml"), b"raced").unwrap();
        let info = MessageInfo::new(None, None);
        for body in [&b"one\n"[..], b"two\n"] {
            let mut m = out.begin(&info).unwrap();
            m.write(body).unwrap();
            m.commit().unwrap();
        }
        let m = out.begin(&info).unwrap();
        m.abort();
        out.sync().unwrap();
        assert_eq!(fs::read(d.join("0008.eml")).unwrap(), b"raced");
        assert_eq!(fs::read(d.join("0009.eml")).unwrap(), b"one\n");
        assert_eq!(fs::read(d.join("0010.eml")).unwrap(), b"two\n");
        assert_eq!(fs::read_dir(&d).unwrap().count(), 5);
        assert_eq!(number_of("12.eml"), Some(12));
        assert_eq!(number_of(".eml"), None);
        assert_eq!(number_of("1a.eml"), None);
        // At most 18 digits: the next number always fits.
        assert_eq!(
            number_of("999999999999999999.eml"),
            Some(999_999_999_999_999_999)
        );
        assert_eq!(number_of("1000000000000000000.eml"), None);
        fs::remove_dir_all(&d).unwrap();
        // An empty folder starts at 0001.
        fs::create_dir_all(&d).unwrap();
        let mut out = OutputDir::open(&d, false).unwrap();
        let mut m = out.begin(&info).unwrap();
        m.write(b"first\n").unwrap();
        m.commit().unwrap();
        out.sync().unwrap();
        assert_eq!(fs::read(d.join("0001.eml")).unwrap(), b"first\n");
        assert_eq!(out.name(), format!("folder {}", d.display()));
        fs::remove_dir_all(&d).unwrap();
        let e = OutputDir::open(&d, false).err().unwrap();
        assert_eq!(e.exit_code(), 73);
    }

    /// What was published stays once kept; until then undo, or dropping the store, takes
    /// it back.
    #[test]
    fn only_what_is_kept_stays() {
        let d = crate::util::test_folder("eml-keep");
        let info = MessageInfo::new(None, None);
        let deliver = |out: &mut OutputDir, body: &[u8]| {
            let mut m = out.begin(&info).unwrap();
            m.write(body).unwrap();
            m.commit().unwrap();
            out.sync().unwrap();
        };
        let mut out = OutputDir::open(&d, false).unwrap();
        deliver(&mut out, b"kept\n");
        out.keep();
        deliver(&mut out, b"undone\n");
        out.undo();
        deliver(&mut out, b"dropped\n");
        drop(out);
        let names: Vec<_> = fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["0001.eml"]);
        assert_eq!(fs::read(d.join("0001.eml")).unwrap(), b"kept\n");
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_batch_that_cannot_be_linked_leaves_no_temporary() {
        let d = crate::util::test_folder("eml-fail");
        let mut out = OutputDir::open(&d, false).unwrap();
        let info = MessageInfo::new(None, None);
        for body in [&b"one\n"[..], b"two\n", b"three\n"] {
            let mut m = out.begin(&info).unwrap();
            m.write(body).unwrap();
            m.commit().unwrap();
        }
        // The first one's temporary is gone (removed by hand): it cannot be linked.
        fs::remove_file(&out.pending[0]).unwrap();
        let e = out.sync().unwrap_err();
        assert_eq!(e.exit_code(), 73, "{e}");
        assert!(
            e.to_string()
                .ends_with("0001.eml: No such file or directory"),
            "{e}"
        );
        let left = || -> Vec<_> {
            fs::read_dir(&d)
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect()
        };
        assert!(left().is_empty(), "{:?}", left());
        drop(out);
        assert!(left().is_empty(), "{:?}", left());
        fs::remove_dir_all(&d).unwrap();
    }
}
