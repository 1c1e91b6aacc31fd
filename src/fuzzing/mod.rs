//! Entry points for the fuzz targets in `fuzz/` (docs/DEVELOPMENT.md, "Fuzzing"): not an
//! API. Each `pub fn NAME(data: &[u8])` runs the library's own parsers (never a copy of
//! them) on `data` and asserts what can be checked: round trips, bounds, invariants. A
//! panic here is a finding. Built with the `fuzzing` feature (for `cargo fuzz`) and in
//! tests, where [`tests`] replays every committed corpus file and regression through
//! [`targets`] on stable.

mod files;
mod protocols;
mod sessions;
mod wire;

pub use files::{config, mbox, mime, netrc_url, oauth2, proxy};
pub use protocols::{ftp, imap, pop3, smtp, utf7};
pub use sessions::{ftp_data, ftp_session, imap_session, smtp_session};
pub use wire::{dot, pop3_session, wire};

use crate::error::{Error, Kind, Result};
use crate::net::stream::{Timed, Transport};
use crate::net::tls::TlsContext;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

/// A target's entry point.
pub type Run = fn(&[u8]);

/// Every target by its name in `fuzz/fuzz_targets/` (and `fuzz/corpus/`).
pub fn targets() -> Vec<(&'static str, Run)> {
    let mut t: Vec<(&'static str, Run)> = vec![
        ("config", config),
        ("dot", dot),
        ("ftp", ftp),
        ("ftp_data", ftp_data),
        ("ftp_session", ftp_session),
        ("imap", imap),
        ("imap_session", imap_session),
        ("mbox", mbox),
        ("mime", mime),
        ("netrc_url", netrc_url),
        ("oauth2", oauth2),
        ("pop3", pop3),
        ("pop3_session", pop3_session),
        ("proxy", proxy),
        ("smtp", smtp),
        ("smtp_session", smtp_session),
        ("utf7", utf7),
        ("wire", wire),
    ];
    t.sort_by_key(|(name, _)| *name);
    t
}

/// The input's lines, without their LF and a CR before it.
fn lines(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    data.split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
}

/// A server's side of a connection in memory: `input` delivered `chunk` bytes at most per
/// read, then EOF; whatever the client writes is counted and dropped.
struct Mem {
    input: Vec<u8>,
    pos: usize,
    chunk: usize,
    /// A read ends at a line's end (LF): the server of a whole session, which answers a
    /// command only once it is sent. Without it the engine sees the next reply in its
    /// buffer before its command goes out, and refuses it as a reply to no command.
    by_line: bool,
    written: usize,
}

impl Mem {
    fn new(input: &[u8], chunk: usize) -> Mem {
        Mem {
            input: input.to_vec(),
            pos: 0,
            chunk: chunk.max(1),
            by_line: false,
            written: 0,
        }
    }

    /// A server that answers each command when it comes ([`Mem::by_line`]).
    fn session(input: &[u8], chunk: usize) -> Mem {
        Mem {
            by_line: true,
            ..Mem::new(input, chunk)
        }
    }
}

impl Read for Mem {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut n = buf.len().min(self.chunk).min(self.input.len() - self.pos);
        if self.by_line {
            if let Some(lf) = self.input[self.pos..self.pos + n]
                .iter()
                .position(|&b| b == b'\n')
            {
                n = lf + 1;
            }
        }
        buf[..n].copy_from_slice(&self.input[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl Write for Mem {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.written += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Timed for Mem {
    fn set_read_timeout(&self, _timeout: Option<Duration>) -> io::Result<()> {
        Ok(())
    }
}

impl Transport for Mem {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        Ok(SocketAddr::from((Ipv4Addr::LOCALHOST, 110)))
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(SocketAddr::from((Ipv4Addr::LOCALHOST, 40000)))
    }

    fn start_tls(
        self,
        _tls: &TlsContext,
        _server_name: &str,
        _deadline: Option<Instant>,
    ) -> Result<Self> {
        Err(Error::new(Kind::Tls, "no TLS in memory"))
    }

    fn is_tls(&self) -> bool {
        false
    }

    fn close(&mut self) {}
}

/// The chunk size a selector byte asks for: 1 to 15 bytes a read, or all at once.
fn chunk_of(sel: u8) -> usize {
    match sel >> 4 {
        15 => usize::MAX,
        n => usize::from(n) + 1,
    }
}

#[cfg(test)]
mod tests {
    use super::targets;
    use std::path::{Path, PathBuf};

    fn fuzz_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
    }

    /// The files in `fuzz/KIND/TARGET/`, sorted; none when the folder is missing.
    fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
        let Ok(dir) = std::fs::read_dir(fuzz_dir().join(kind).join(target)) else {
            return Vec::new();
        };
        let mut files: Vec<PathBuf> = dir
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        files
    }

    /// Every committed corpus file and every regression (a crash the fuzzer found, kept
    /// after its fix) runs through its target's function, as `cargo fuzz run` would.
    #[test]
    fn corpora_and_regressions_replay() {
        let mut failed = Vec::new();
        for (name, run) in targets() {
            let mut files = inputs("corpus", name);
            assert!(
                !files.is_empty(),
                "fuzz/corpus/{name}/ holds no seed: commit the corpus"
            );
            files.extend(inputs("regressions", name));
            for f in files {
                let data = std::fs::read(&f).unwrap();
                if std::panic::catch_unwind(|| run(&data)).is_err() {
                    failed.push(f.display().to_string());
                }
            }
        }
        assert!(failed.is_empty(), "these fail their target: {failed:#?}");
    }

    /// Every target has its entry here and its file in fuzz/fuzz_targets/, and every
    /// corpus or regression folder belongs to a target.
    #[test]
    fn every_target_is_listed() {
        let listed: Vec<&str> = targets().iter().map(|(n, _)| *n).collect();
        let mut sources: Vec<String> = std::fs::read_dir(fuzz_dir().join("fuzz_targets"))
            .unwrap()
            .map(|e| {
                let p = e.unwrap().path();
                p.file_stem().unwrap().to_string_lossy().into_owned()
            })
            .collect();
        sources.sort();
        assert_eq!(sources, listed, "fuzz/fuzz_targets/ and targets() differ");
        for kind in ["corpus", "regressions"] {
            let Ok(dir) = std::fs::read_dir(fuzz_dir().join(kind)) else {
                continue;
            };
            for e in dir {
                let name = e.unwrap().file_name().to_string_lossy().into_owned();
                assert!(
                    sources.contains(&name),
                    "fuzz/{kind}/{name}/ belongs to no target"
                );
            }
        }
    }
}
