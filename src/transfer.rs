//! Local files that are never left half-written (CONVENTIONS.md): data goes to `NAME.part`
//! beside the destination, which is synced, checked, and only then renamed into place.

use crate::error::{Error, Result};
use std::fs::{self, File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// `dest` + ".part".
pub fn part_path(dest: &Path) -> PathBuf {
    let mut s = dest.as_os_str().to_owned();
    s.push(".part");
    PathBuf::from(s)
}

/// A download in progress.
pub struct PartFile {
    dest: PathBuf,
    part: PathBuf,
    file: File,
    len: u64,
}

impl PartFile {
    /// Opens `dest.part`: appended to from its current end when `resume` is set (the length
    /// is the offset to resume from), else created empty.
    pub fn open(dest: &Path, resume: bool) -> Result<PartFile> {
        let part = part_path(dest);
        let mut o = OpenOptions::new();
        o.write(true).create(true);
        if !resume {
            o.truncate(true);
        }
        let mut file = o
            .open(&part)
            .map_err(|e| Error::cant_create(part.display(), &e))?;
        let len = file
            .seek(SeekFrom::End(0))
            .map_err(|e| Error::local_io(part.display(), &e))?;
        Ok(PartFile {
            dest: dest.to_path_buf(),
            part,
            file,
            len,
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
        &self.part
    }

    pub fn write(&mut self, buf: &[u8]) -> Result<()> {
        self.file
            .write_all(buf)
            .map_err(|e| Error::local_io(self.part.display(), &e))?;
        self.len += buf.len() as u64;
        Ok(())
    }

    /// Empties the file to start over (the server refused to resume).
    pub fn restart(&mut self) -> Result<()> {
        self.file
            .set_len(0)
            .and_then(|_| self.file.seek(SeekFrom::Start(0)).map(|_| ()))
            .map_err(|e| Error::local_io(self.part.display(), &e))?;
        self.len = 0;
        Ok(())
    }

    /// Removes the `.part` file (it held nothing worth keeping).
    pub fn discard(self) {
        drop(self.file);
        let _ = fs::remove_file(&self.part);
    }

    /// Flushes the data to disk (the slow part: run it under the FTP keep-alive).
    pub fn sync(&self) -> Result<()> {
        self.file
            .sync_all()
            .map_err(|e| Error::local_io(self.part.display(), &e))
    }

    /// Sets the modification time and renames `.part` onto the destination (replacing an
    /// older file only now that the new one is complete). With `durable`, also syncs the
    /// folder, so that the rename survives a crash before anything is deleted remotely.
    pub fn publish(self, mtime: Option<SystemTime>, durable: bool) -> Result<()> {
        if let Some(t) = mtime {
            filetime::set_file_handle_times(&self.file, None, Some(t.into()))
                .map_err(|e| Error::local_io(self.part.display(), &e))?;
        }
        drop(self.file);
        fs::rename(&self.part, &self.dest)
            .map_err(|e| Error::cant_create(self.dest.display(), &e))?;
        let dir = match self.dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if durable {
            File::open(&dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| Error::local_io(dir.display(), &e))?;
        }
        Ok(())
    }
}
