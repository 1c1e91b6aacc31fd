//! Where the message goes: standard output, or a file written atomically (docs/CONVENTIONS.md,
//! "Files are never left half-written"): a temporary file beside the destination, fsync,
//! rename, fsync of the folder (`util::durable::replace`). An error removes the temporary file.

use crate::error::{Error, Result};
use crate::transfer::{self, Plan};
use crate::util::durable;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Smaller than an encoded chunk, so chunks go straight to the file descriptor.
const BUFFER: usize = 64 * 1024;

/// The temporary file behind `-o FILE`.
struct Atomic {
    tmp: PathBuf,
    dest: PathBuf,
    done: bool,
}

/// An open destination. Write failures map to the right error: a closed standard output ends
/// quietly ([`Kind::StdoutClosed`](crate::error::Kind::StdoutClosed)); a file write failure is exit 74 naming the file.
pub struct Output {
    w: BufWriter<File>,
    file: Option<Atomic>,
    /// A device or FIFO that `-o` names, written in place.
    in_place: Option<PathBuf>,
    /// The last byte written, if any.
    last: Option<u8>,
}

impl Output {
    /// Standard output, through our own buffer (Rust's stdout flushes at every newline).
    pub fn stdout() -> Result<Output> {
        use std::os::fd::AsFd;
        crate::stdio::check_stdout()?;
        let fd = std::io::stdout()
            .as_fd()
            .try_clone_to_owned()
            .map_err(|e| Error::stdout(&e))?;
        Ok(Output {
            w: BufWriter::with_capacity(BUFFER, File::from(fd)),
            file: None,
            in_place: None,
            last: None,
        })
    }

    /// Creates `dest.XXXXXXXX.part` beside `dest`; failure is exit 73 naming `dest`.
    /// What `dest` is decides how it is written (`transfer::plan`): a symbolic link is
    /// followed and its target replaced (the link stays), a device or FIFO is written in
    /// place (never replaced by a regular file), a folder is refused (73).
    /// With `create_dirs`, missing folders on the way are made (curl's `--create-dirs`);
    /// otherwise one is refused (73), naming it.
    pub fn file(dest: &Path, create_dirs: bool) -> Result<Output> {
        let dest = match transfer::plan(dest, true)? {
            Plan::Atomic(p) => p,
            Plan::InPlace(p) => {
                let f = transfer::open_in_place(&p)?;
                return Ok(Output {
                    w: BufWriter::with_capacity(BUFFER, f),
                    file: None,
                    in_place: Some(p),
                    last: None,
                });
            }
        };
        transfer::ensure_folder(durable::parent_of(&dest), create_dirs)?;
        let (f, tmp) = durable::create_beside(&dest, "part", 0o666, || {
            Ok(super::boundary::random()?[12..20].to_string())
        })?;
        crate::interrupt::remove_on_signal(&tmp);
        Ok(Output {
            w: BufWriter::with_capacity(BUFFER, f),
            file: Some(Atomic {
                tmp,
                dest,
                done: false,
            }),
            in_place: None,
            last: None,
        })
    }

    fn err(&self, e: &std::io::Error) -> Error {
        match (&self.file, &self.in_place) {
            (Some(a), _) => Error::local_io(a.dest.display(), e),
            (None, Some(p)) => Error::local_io(p.display(), e),
            (None, None) => Error::stdout(e),
        }
    }

    pub fn put(&mut self, bytes: &[u8]) -> Result<()> {
        self.w.write_all(bytes).map_err(|e| self.err(&e))?;
        if let Some(&b) = bytes.last() {
            self.last = Some(b);
        }
        Ok(())
    }

    /// Whether the output is empty or its last byte ended a line.
    pub fn at_line_start(&self) -> bool {
        self.last.is_none_or(|b| b == b'\n')
    }

    /// Flushes; for a file also fsyncs, renames into place and fsyncs the folder.
    pub fn finish(mut self) -> Result<()> {
        let r = self.w.flush();
        r.map_err(|e| self.err(&e))?;
        let Some(a) = &mut self.file else {
            return Ok(());
        };
        transfer::keep_mode(self.w.get_ref(), &a.dest)?;
        // On failure, dropping `self` removes the temporary (if it was not renamed already).
        durable::replace(self.w.get_ref(), &a.tmp, &a.dest)?;
        a.done = true;
        crate::interrupt::forget();
        Ok(())
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        if let Some(Atomic {
            tmp, done: false, ..
        }) = &self.file
        {
            let _ = std::fs::remove_file(tmp);
            crate::interrupt::forget();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_appears_only_when_finished() {
        let dir = crate::util::test_folder("output");
        let dest = dir.join("m.eml");
        let mut out = Output::file(&dest, false).unwrap();
        out.put(b"abc\n").unwrap();
        assert!(!dest.exists());
        assert!(out.at_line_start());
        out.finish().unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"abc\n");
        // Dropped without finishing: nothing is left behind.
        let mut out = Output::file(&dir.join("n.eml"), false).unwrap();
        out.put(b"x").unwrap();
        assert!(!out.at_line_start());
        drop(out);
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["m.eml"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
