//! Inputs: files and standard input, opened (and so checked) before anything is written.
//!
//! A regular file is read twice when its content decides its headers: once to scan, once to
//! send. Standard input and pipes cannot be re-read: a text body from them is held in memory
//! when it ends within [`LOOKAHEAD`] bytes, and only a longer one is spooled to an unlinked
//! temporary file, so memory stays bounded either way. Once scanned, every later read is
//! checked against the scan ([`Recheck`]): a file changed in between fails with exit 74
//! instead of being sent under headers that no longer describe it.

use super::base64::read_full;
use super::scan::{Recheck, Scanner, TextStats};
use super::{CHUNK, boundary::Finder};
use crate::error::{Error, Kind as ErrorKind, Result};
use std::fs::File;
use std::io::{Cursor, Read, Seek, SeekFrom, Write};

/// A text body from a pipe up to this size is kept in memory; a longer one is spooled.
pub const LOOKAHEAD: usize = 256 * 1024;
/// How much of an attachment is looked at to tell text from binary.
pub const SNIFF: usize = 8 * 1024;

pub const STDIN_NAME: &str = "standard input";

enum Kind {
    /// A regular file: can be read again from the start.
    Seekable(File),
    /// All of a short body from a pipe.
    Memory(Vec<u8>),
    /// A pipe (standard input, a FIFO, a device): the bytes already read, then the rest.
    /// `None` once it has been handed out.
    Pipe(Vec<u8>, Option<Box<dyn Read>>),
}

/// An opened input, named as the user named it (for messages).
pub struct Input {
    name: String,
    kind: Kind,
    /// What the last full scan found, and the needles it searched for but did not find;
    /// later reads must find the same.
    scanned: Option<(TextStats, Vec<String>)>,
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Input({})", self.name)
    }
}

impl Input {
    /// Opens `path` (`-` is standard input). Missing, unreadable and directory inputs fail
    /// here with exit 66, naming the file (a name that is not UTF-8 is shown with U+FFFD).
    pub fn open(path: impl AsRef<std::path::Path>) -> Result<Input> {
        let path = path.as_ref();
        if path.as_os_str() == "-" {
            return Ok(Input::pipe(STDIN_NAME, Box::new(std::io::stdin())));
        }
        let shown = path.display().to_string();
        let file = File::open(path).map_err(|e| Error::no_input(&shown, &e))?;
        let meta = file.metadata().map_err(|e| Error::no_input(&shown, &e))?;
        if meta.is_dir() {
            return Err(Error::new(
                ErrorKind::NoInput,
                format!("{shown}: is a directory"),
            ));
        }
        let kind = if meta.is_file() {
            Kind::Seekable(file)
        } else {
            Kind::Pipe(Vec::new(), Some(Box::new(file)))
        };
        Ok(Input {
            name: shown,
            kind,
            scanned: None,
        })
    }

    /// An input that can only be read once.
    pub fn pipe(name: &str, r: Box<dyn Read>) -> Input {
        Input {
            name: name.to_string(),
            kind: Kind::Pipe(Vec::new(), Some(r)),
            scanned: None,
        }
    }

    /// An input held in memory (tests, short bodies).
    pub fn memory(name: &str, data: Vec<u8>) -> Input {
        Input {
            name: name.to_string(),
            kind: Kind::Memory(data),
            scanned: None,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    fn read_err(&self, e: &std::io::Error) -> Error {
        Error::local_io(&self.name, e)
    }

    /// Makes the input readable more than once: a pipe is read up to `LOOKAHEAD` bytes into
    /// memory and, only if it goes on, spooled whole to an unlinked temporary file.
    pub fn make_rereadable(&mut self) -> Result<()> {
        let Kind::Pipe(prefix, rest) = &mut self.kind else {
            return Ok(());
        };
        let Some(mut rest) = rest.take() else {
            return Err(Error::new(
                ErrorKind::Software,
                format!("{}: read twice", self.name),
            ));
        };
        let mut buf = std::mem::take(prefix);
        let have = buf.len();
        buf.resize(LOOKAHEAD.max(have), 0);
        let n =
            read_full(&mut *rest, &mut buf[have..]).map_err(|e| Error::local_io(&self.name, &e))?;
        buf.truncate(have + n);
        if buf.len() < LOOKAHEAD {
            self.kind = Kind::Memory(buf);
            return Ok(());
        }
        let (mut file, path) = temp_file()?;
        let spool_err =
            |e: &std::io::Error| Error::local_io(format!("spool file {}", path.display()), e);
        file.write_all(&buf).map_err(|e| spool_err(&e))?;
        drop(buf);
        let mut chunk = vec![0u8; CHUNK];
        loop {
            let n =
                read_full(&mut *rest, &mut chunk).map_err(|e| Error::local_io(&self.name, &e))?;
            if n == 0 {
                break;
            }
            file.write_all(&chunk[..n]).map_err(|e| spool_err(&e))?;
        }
        self.kind = Kind::Seekable(file);
        Ok(())
    }

    /// Up to `n` bytes from the start, without consuming them.
    pub fn peek(&mut self, n: usize) -> Result<Vec<u8>> {
        let name = self.name.clone();
        let io = |e: std::io::Error| Error::local_io(&name, &e);
        match &mut self.kind {
            Kind::Seekable(f) => {
                let mut buf = vec![0u8; n];
                f.seek(SeekFrom::Start(0)).map_err(io)?;
                let got = read_full(f, &mut buf).map_err(io)?;
                f.seek(SeekFrom::Start(0)).map_err(io)?;
                buf.truncate(got);
                Ok(buf)
            }
            Kind::Memory(d) => Ok(d[..d.len().min(n)].to_vec()),
            Kind::Pipe(prefix, rest) => {
                if prefix.len() < n {
                    if let Some(r) = rest {
                        let have = prefix.len();
                        prefix.resize(n, 0);
                        let got = read_full(&mut **r, &mut prefix[have..]).map_err(io)?;
                        prefix.truncate(have + got);
                    }
                }
                Ok(prefix[..prefix.len().min(n)].to_vec())
            }
        }
    }

    pub fn is_rereadable(&self) -> bool {
        !matches!(self.kind, Kind::Pipe(..))
    }

    /// Scans the whole input (it must be re-readable, or this consumes it) for its text
    /// statistics and for any of `needles`. From then on, reading it again must find the
    /// same statistics.
    pub fn scan(&mut self, needles: &[String]) -> Result<(TextStats, bool)> {
        let mut scanner = Scanner::new();
        let mut finder = Finder::new(needles);
        self.each_chunk(&mut |c| {
            scanner.feed(c);
            finder.feed(c);
            Ok(())
        })?;
        let stats = scanner.finish();
        let absent = if finder.found() {
            Vec::new()
        } else {
            needles.to_vec()
        };
        self.scanned = Some((stats.clone(), absent));
        Ok((stats, finder.found()))
    }

    /// Reads the input from the start in chunks of [`CHUNK`] bytes (a multiple of 57).
    pub fn each_chunk(&mut self, f: &mut dyn FnMut(&[u8]) -> Result<()>) -> Result<u64> {
        let mut r = self.reader()?;
        let mut buf = vec![0u8; CHUNK];
        let mut total = 0u64;
        loop {
            let n = match read_full(&mut r, &mut buf) {
                Ok(n) => n,
                Err(e) => {
                    drop(r);
                    return Err(self.read_err(&e));
                }
            };
            if n == 0 {
                return Ok(total);
            }
            total += n as u64;
            f(&buf[..n])?;
            if n < buf.len() {
                return Ok(total);
            }
        }
    }

    /// A reader from the start of the input (a pipe only once). After a scan, it fails with
    /// "changed while being read" as soon as the input stops matching the scan.
    pub fn reader(&mut self) -> Result<Box<dyn Read + '_>> {
        let r: Box<dyn Read + '_> = match &mut self.kind {
            Kind::Seekable(f) => {
                f.seek(SeekFrom::Start(0))
                    .map_err(|e| Error::local_io(&self.name, &e))?;
                Box::new(f)
            }
            Kind::Memory(d) => Box::new(Cursor::new(&d[..])),
            Kind::Pipe(prefix, rest) => match rest.take() {
                Some(r) => Box::new(Cursor::new(std::mem::take(prefix)).chain(r)),
                None => {
                    return Err(Error::new(
                        ErrorKind::Software,
                        format!("{}: read twice", self.name),
                    ));
                }
            },
        };
        Ok(rechecked(&self.scanned, r))
    }

    /// The input from its start as a reader of its own, for its last read; checked against
    /// the scan as [`Input::reader`] is.
    pub fn into_reader(self) -> Result<Box<dyn Read>> {
        let r: Box<dyn Read> = match self.kind {
            Kind::Seekable(mut f) => {
                f.seek(SeekFrom::Start(0))
                    .map_err(|e| Error::local_io(&self.name, &e))?;
                Box::new(f)
            }
            Kind::Memory(d) => Box::new(Cursor::new(d)),
            Kind::Pipe(prefix, Some(r)) => Box::new(Cursor::new(prefix).chain(r)),
            Kind::Pipe(_, None) => {
                return Err(Error::new(
                    ErrorKind::Software,
                    format!("{}: read twice", self.name),
                ));
            }
        };
        Ok(rechecked(&self.scanned, r))
    }
}

/// `r`, checked against the scan when there was one.
fn rechecked<'a>(
    scanned: &Option<(TextStats, Vec<String>)>,
    r: Box<dyn Read + 'a>,
) -> Box<dyn Read + 'a> {
    match scanned {
        Some((stats, absent)) => Box::new(Rechecked {
            inner: r,
            check: Recheck::new(stats.clone(), absent),
        }),
        None => r,
    }
}

/// A reader that checks what it reads against an earlier scan, before handing it on.
struct Rechecked<'a> {
    inner: Box<dyn Read + 'a>,
    check: Recheck,
}

impl Read for Rechecked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let verdict = if n == 0 {
            self.check.finish()
        } else {
            self.check.feed(&buf[..n])
        };
        // The message names the input, as every read error does.
        verdict.map_err(|_| std::io::Error::other("changed while being read"))?;
        Ok(n)
    }
}

/// A new temporary file, created exclusively (mode 0600) and unlinked at once, so that it
/// vanishes however the run ends.
fn temp_file() -> Result<(File, std::path::PathBuf)> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = std::env::temp_dir();
    let mut last = None;
    for _ in 0..8 {
        let path = dir.join(format!(
            ".mime-pack-{}",
            &super::boundary::random()?[12..28]
        ));
        match std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(f) => {
                let _ = std::fs::remove_file(&path);
                return Ok((f, path));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => {
                return Err(Error::cant_create(
                    format!("spool file {}", path.display()),
                    &e,
                ));
            }
        }
    }
    let e = last.unwrap_or_else(|| std::io::Error::other("no free name"));
    Err(Error::cant_create(
        format!("spool file in {}", dir.display()),
        &e,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_pipes_stay_in_memory_long_ones_are_spooled() {
        for len in [0, 10, LOOKAHEAD - 1, LOOKAHEAD, LOOKAHEAD * 3 + 7] {
            let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let mut input = Input::pipe("p", Box::new(Cursor::new(data.clone())));
            assert_eq!(input.peek(5).unwrap(), data[..len.min(5)]);
            input.make_rereadable().unwrap();
            assert!(input.is_rereadable());
            for _ in 0..2 {
                let mut back = Vec::new();
                input.reader().unwrap().read_to_end(&mut back).unwrap();
                assert_eq!(back, data, "len {len}");
            }
            assert_eq!(matches!(input.kind, Kind::Memory(_)), len < LOOKAHEAD);
        }
    }

    #[test]
    fn missing_and_directory_inputs_are_noinput() {
        let e = Input::open("/nonexistent/x.pdf").unwrap_err();
        assert_eq!(e.exit_code(), 66);
        assert_eq!(
            e.to_string(),
            "/nonexistent/x.pdf: No such file or directory"
        );
        assert_eq!(
            Input::open("/").unwrap_err().to_string(),
            "/: is a directory"
        );
    }
}
