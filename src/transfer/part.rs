//! ftp-get's downloads in progress: the `NAME.part` beside the destination, where a resumed
//! download continues ([`Resume`]), and how the finished file takes its name. Only the tools
//! download (the `cli` feature).

use super::{keep_mode, refused};
use crate::error::{Error, Result};
use crate::util::durable;
use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The longest file name most file systems take (NAME_MAX).
pub(super) const NAME_MAX: usize = 255;

/// The temporary name beside `dest`: `NAME.part`, or, when that would be longer than a file
/// name may be, the name cut to 200 bytes plus a digest of the whole name
/// (`NAME[..200].<16 hex>.part`), so that it is still the same for every run (`-c`).
pub fn part_path(dest: &Path) -> PathBuf {
    let name = dest.file_name().map(|n| n.as_bytes()).unwrap_or(b"");
    let mut part: Vec<u8> = if name.len() + 5 <= NAME_MAX {
        name.to_vec()
    } else {
        let mut cut = 200;
        // Cut between UTF-8 characters, so that the name stays readable.
        while cut > 0 && (name[cut] & 0xc0) == 0x80 {
            cut -= 1;
        }
        let hex = crate::util::digest::hex(&crate::util::digest::sha256(name)[..8]);
        let mut v = name[..cut].to_vec();
        v.push(b'.');
        v.extend_from_slice(hex.as_bytes());
        v
    };
    part.extend_from_slice(b".part");
    dest.with_file_name(OsString::from_vec(part))
}

/// Whether a file we are about to write into is one we may use: a regular file with no
/// other name (a hard link planted to a file elsewhere would be written through).
fn check_regular(file: &File, path: &Path) -> Result<()> {
    let m = file
        .metadata()
        .map_err(|e| Error::cant_create(path.display(), &e))?;
    if !m.is_file() {
        return Err(refused(
            path,
            "exists and is not a regular file; refusing to write into it",
        ));
    }
    if m.nlink() > 1 {
        return Err(refused(
            path,
            "has other hard links; refusing to write into it",
        ));
    }
    Ok(())
}

/// Opens an existing file for appending without following a link; `Ok(None)` when there is
/// nothing at `path`. O_NONBLOCK keeps a FIFO planted there from blocking the open; the file
/// is checked to be regular before it is used.
fn open_existing(path: &Path) -> Result<Option<File>> {
    let opened = OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path);
    let file = match opened {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(refused(path, "is a symbolic link; refusing to follow it"));
        }
        Err(e) if e.raw_os_error() == Some(libc::ENXIO) => {
            return Err(refused(
                path,
                "exists and is not a regular file; refusing to write into it",
            ));
        }
        Err(e) => return Err(Error::cant_create(path.display(), &e)),
    };
    check_regular(&file, path)?;
    clear_nonblocking(&file, path)?;
    Ok(Some(file))
}

fn clear_nonblocking(file: &File, path: &Path) -> Result<()> {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor we own, with integer arguments only.
    let ok = unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        flags >= 0 && libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) == 0
    };
    if ok {
        Ok(())
    } else {
        Err(Error::cant_create(
            path.display(),
            &io::Error::last_os_error(),
        ))
    }
}

/// Creates `path` afresh: whatever has the name (a stale `.part`, a planted link) is
/// removed first, and the new file is created exclusively, so a link planted in between
/// makes the open fail instead of being followed.
fn create_fresh(path: &Path) -> Result<File> {
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::cant_create(path.display(), &e)),
    }
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o666)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| Error::cant_create(path.display(), &e))
}

/// Where a resumed download continues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// Start from nothing, in a fresh `.part`.
    Fresh,
    /// Append to the `.part` an earlier run left.
    Part,
    /// Append to the shorter destination itself, which stays under its name throughout, as
    /// with curl's `-C -` (no `.part` of it: a failed run never takes a file from its name).
    Dest,
}

/// Decides where a download of `dest` (a [`Plan::Atomic`] path) resumes. `size` is the
/// remote size, when known: a local file longer than it is no prefix of it.
pub fn resume_from(dest: &Path, size: Option<u64>) -> Resume {
    if fs::symlink_metadata(part_path(dest)).is_ok() {
        return Resume::Part;
    }
    match fs::symlink_metadata(dest) {
        Ok(m) if m.is_file() && m.nlink() == 1 && size.is_none_or(|s| m.len() <= s) => Resume::Dest,
        _ => Resume::Fresh,
    }
}

/// A download in progress.
pub struct PartFile {
    dest: PathBuf,
    /// The file being written: `NAME.part`, or `dest` itself for [`Resume::Dest`].
    path: PathBuf,
    file: File,
    len: u64,
    /// The length when this run opened the file.
    opened_at: u64,
}

impl PartFile {
    /// Opens the file a download of `dest` writes to, as `resume` says: the length is the
    /// offset to resume from.
    pub fn open(dest: &Path, resume: Resume) -> Result<PartFile> {
        let (path, existing) = match resume {
            Resume::Fresh => (part_path(dest), None),
            Resume::Part => {
                let part = part_path(dest);
                let f = open_existing(&part)?;
                (part, f)
            }
            Resume::Dest => {
                let f = open_existing(dest)?;
                match f {
                    Some(f) => (dest.to_path_buf(), Some(f)),
                    None => (part_path(dest), None),
                }
            }
        };
        let mut file = match existing {
            Some(f) => f,
            None => create_fresh(&path)?,
        };
        let len = file
            .seek(SeekFrom::End(0))
            .map_err(|e| Error::local_io(path.display(), &e))?;
        Ok(PartFile {
            dest: dest.to_path_buf(),
            path,
            file,
            len,
            opened_at: len,
        })
    }

    /// Bytes in the file so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the data written goes after what was there when the file was opened (it was
    /// not started over).
    pub fn resumed(&self) -> bool {
        self.opened_at > 0
    }

    /// Whether the destination itself is being appended to (no `.part`).
    pub fn in_place(&self) -> bool {
        self.path == self.dest
    }

    pub fn write(&mut self, buf: &[u8]) -> Result<()> {
        self.file
            .write_all(buf)
            .map_err(|e| Error::local_io(self.path.display(), &e))?;
        self.len += buf.len() as u64;
        Ok(())
    }

    /// Starts over in a fresh `.part` (the server refused to resume, or what was there cannot
    /// be trusted). A destination that was being appended to is left as it was when this run
    /// opened it, under its name.
    pub fn restart(&mut self) -> Result<()> {
        if self.in_place() {
            self.file
                .set_len(self.opened_at)
                .map_err(|e| Error::local_io(self.path.display(), &e))?;
            self.path = part_path(&self.dest);
            self.file = create_fresh(&self.path)?;
        } else {
            self.file
                .set_len(0)
                .and_then(|_| self.file.seek(SeekFrom::Start(0)).map(|_| ()))
                .map_err(|e| Error::local_io(self.path.display(), &e))?;
        }
        self.len = 0;
        self.opened_at = 0;
        Ok(())
    }

    /// Removes the `.part` file (it held nothing worth keeping). A destination appended to
    /// in place is never removed.
    pub fn discard(self) {
        drop(self.file);
        if self.path != self.dest {
            let _ = fs::remove_file(&self.path);
        }
    }

    /// Flushes the data to disk (the slow part: run it under the FTP keep-alive).
    pub fn sync(&self) -> Result<()> {
        self.file
            .sync_all()
            .map_err(|e| Error::local_io(self.path.display(), &e))
    }

    /// Sets the modification time and renames `.part` onto the destination (replacing an
    /// older file, or a link, only now that the new one is complete). With `durable`, also
    /// syncs the folder, so that the rename survives a crash before anything is deleted
    /// remotely.
    pub fn publish(self, mtime: Option<SystemTime>, durable: bool) -> Result<()> {
        if let Some(t) = mtime {
            self.file
                .set_modified(t)
                .map_err(|e| Error::local_io(self.path.display(), &e))?;
        }
        if self.path != self.dest {
            keep_mode(&self.file, &self.dest)?;
        }
        drop(self.file);
        match (self.path != self.dest, durable) {
            (true, true) => durable::rename_durably(&self.path, &self.dest),
            (true, false) => durable::rename(&self.path, &self.dest),
            // Appended to in place: nothing was renamed; the folder is synced all the same,
            // as after a rename.
            (false, true) => durable::sync_folder(durable::parent_of(&self.dest)),
            (false, false) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_existing_says_what_is_at_the_name() {
        let dir = crate::util::test_folder("part-existing");
        // Nothing there: nothing to resume, no error.
        assert!(open_existing(&dir.join("none")).unwrap().is_none());
        // A regular file: opened for appending, blocking again (O_NONBLOCK was only for
        // the open of a planted FIFO).
        fs::write(dir.join("f"), b"x").unwrap();
        let f = open_existing(&dir.join("f")).unwrap().unwrap();
        use std::os::fd::AsRawFd;
        // SAFETY: F_GETFL on a descriptor we own.
        let flags = unsafe { libc::fcntl(f.as_raw_fd(), libc::F_GETFL) };
        assert_eq!(flags & libc::O_NONBLOCK, 0, "still non-blocking");
        // A link, and a FIFO with no reader: refused, each for what it is.
        std::os::unix::fs::symlink(dir.join("f"), dir.join("link")).unwrap();
        let e = open_existing(&dir.join("link")).unwrap_err();
        assert!(
            e.to_string()
                .ends_with("is a symbolic link; refusing to follow it"),
            "{e}"
        );
        let fifo = dir.join("fifo");
        let c = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
        // SAFETY: mkfifo with a C string we own.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = open_existing(&fifo).unwrap_err();
        assert!(
            e.to_string()
                .ends_with("is not a regular file; refusing to write into it"),
            "{e}"
        );
        // Any other failure is said as the system says it.
        fs::create_dir(dir.join("d")).unwrap();
        let e = open_existing(&dir.join("d")).unwrap_err();
        assert!(e.to_string().contains("Is a directory"), "{e}");
    }

    #[test]
    fn a_part_file_knows_its_length_and_whether_it_resumed() {
        let dir = crate::util::test_folder("part-file");
        let dest = dir.join("f.bin");
        let mut p = PartFile::open(&dest, Resume::Fresh).unwrap();
        assert!(p.is_empty() && !p.resumed() && !p.in_place());
        p.write(b"abc").unwrap();
        assert!(!p.is_empty() && !p.resumed());
        assert_eq!(p.len(), 3);
        drop(p);
        // The .part an earlier run left: resumed, from its length.
        let mut p = PartFile::open(&dest, Resume::Part).unwrap();
        assert!(p.resumed() && !p.is_empty());
        assert_eq!(p.len(), 3);
        // Started over: neither.
        p.restart().unwrap();
        assert!(p.is_empty() && !p.resumed());
        drop(p);
        // An empty .part resumes nothing.
        let p = PartFile::open(&dest, Resume::Part).unwrap();
        assert!(p.is_empty() && !p.resumed());
        drop(p);
        // Published over a file that was there: it keeps that file's mode.
        use std::os::unix::fs::PermissionsExt;
        fs::write(&dest, b"old").unwrap();
        fs::set_permissions(&dest, fs::Permissions::from_mode(0o640)).unwrap();
        let mut p = PartFile::open(&dest, Resume::Fresh).unwrap();
        p.write(b"new").unwrap();
        p.publish(None, false).unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"new");
        let mode = fs::metadata(&dest).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o640);
    }

    #[test]
    fn create_fresh_says_why_the_old_file_could_not_go() {
        let dir = crate::util::test_folder("part-fresh");
        // A folder where the .part goes: it cannot be removed, and that is the error.
        fs::create_dir(dir.join("f.part")).unwrap();
        let e = create_fresh(&dir.join("f.part")).unwrap_err();
        assert!(e.to_string().contains("Is a directory"), "{e}");
        // Nothing there, or a stale file: a fresh, empty one.
        for _ in 0..2 {
            let mut f = create_fresh(&dir.join("g.part")).unwrap();
            assert_eq!(f.seek(SeekFrom::End(0)).unwrap(), 0);
            f.write_all(b"stale").unwrap();
        }
    }
}
