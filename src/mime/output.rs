//! Where the message goes: standard output, or a file written atomically (CONVENTIONS.md,
//! "Files are never left half-written"): a temporary file beside the destination, fsync,
//! rename, fsync of the folder. An error removes the temporary file.

use crate::error::{Error, Result};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Smaller than an encoded chunk, so chunks go straight to the file descriptor.
const BUFFER: usize = 64 * 1024;

/// An open destination. Write failures map to the right error: a closed standard output ends
/// quietly ([`Error::StdoutClosed`]); a file write failure is exit 74 naming the file.
pub enum Output {
    Stdout(BufWriter<File>),
    File {
        w: BufWriter<File>,
        tmp: PathBuf,
        dest: PathBuf,
        done: bool,
    },
}

impl Output {
    /// Standard output, written unbuffered-by-line (Rust's stdout flushes at every newline).
    pub fn stdout() -> Result<Output> {
        use std::os::fd::AsFd;
        let fd = std::io::stdout()
            .as_fd()
            .try_clone_to_owned()
            .map_err(|e| Error::stdout(&e))?;
        Ok(Output::Stdout(BufWriter::with_capacity(
            BUFFER,
            File::from(fd),
        )))
    }

    /// Creates `dest.XXXXXXXX.part` beside `dest`; failure is exit 73 naming `dest`.
    pub fn file(dest: &Path) -> Result<Output> {
        use std::os::unix::fs::OpenOptionsExt;
        let name = dest
            .file_name()
            .ok_or_else(|| Error::CantCreate(format!("{}: not a file name", dest.display())))?;
        let mut last = None;
        for _ in 0..8 {
            let tag = &super::boundary::random()?[12..20];
            let mut tmp_name = name.to_os_string();
            tmp_name.push(format!(".{tag}.part"));
            let tmp = dest.with_file_name(tmp_name);
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o666)
                .open(&tmp)
            {
                Ok(f) => {
                    return Ok(Output::File {
                        w: BufWriter::with_capacity(BUFFER, f),
                        tmp,
                        dest: dest.to_path_buf(),
                        done: false,
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(Error::cant_create(dest.display(), &e)),
            }
        }
        let e = last.unwrap_or_else(|| std::io::Error::other("no free temporary name"));
        Err(Error::cant_create(dest.display(), &e))
    }

    fn err(&self, e: &std::io::Error) -> Error {
        match self {
            Output::Stdout(_) => Error::stdout(e),
            Output::File { dest, .. } => Error::local_io(dest.display(), e),
        }
    }

    pub fn put(&mut self, bytes: &[u8]) -> Result<()> {
        let r = match self {
            Output::Stdout(w) => w.write_all(bytes),
            Output::File { w, .. } => w.write_all(bytes),
        };
        r.map_err(|e| self.err(&e))
    }

    /// Flushes; for a file also fsyncs, renames into place and fsyncs the folder.
    pub fn finish(mut self) -> Result<()> {
        let r = match &mut self {
            Output::Stdout(w) => w.flush(),
            Output::File { w, .. } => w.flush().and_then(|_| w.get_ref().sync_all()),
        };
        r.map_err(|e| self.err(&e))?;
        if let Output::File {
            tmp, dest, done, ..
        } = &mut self
        {
            std::fs::rename(&*tmp, &*dest).map_err(|e| Error::cant_create(dest.display(), &e))?;
            *done = true;
            let dir = match dest.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            };
            // Durability of the rename; a folder that cannot be opened is no failure of ours.
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        if let Output::File {
            tmp, done: false, ..
        } = self
        {
            let _ = std::fs::remove_file(tmp);
        }
    }
}
