//! The file transfers of an [`FtpClient`]: RETR (resumed with REST) into the caller's sink,
//! and STOR, APPE or REST then STOR from the caller's source, each streamed through one
//! buffer of [`DATA_BUF`] over its own data connection.

use super::FtpClient;
use super::data::Refused;
use crate::error::{Error, Kind, Result};
use crate::net::stream::{NetStream, Transport};
use std::io::{self, Read};

/// Transfer buffer: large enough that per-read overhead vanishes, small enough for < 4 MiB RSS.
pub const DATA_BUF: usize = 256 * 1024;

/// How [`FtpClient::upload`] writes the remote file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upload {
    /// STOR: create or replace.
    Replace,
    /// APPE: add to the end.
    Append,
    /// REST offset, then STOR: overwrite from `offset` on (resume).
    Resume(u64),
}

impl<S: Transport> FtpClient<S> {
    /// Downloads `path` from byte `offset` (REST), passing each chunk to `sink`.
    /// `expected` is how many bytes should arrive (the size from SIZE less `offset`), when
    /// known: more than that is a protocol error (76), never a longer file.
    /// Returns the number of bytes received. `Ok(None)` means the server refused REST: the
    /// caller decides whether to start over.
    pub fn retrieve(
        &mut self,
        path: &str,
        offset: u64,
        expected: Option<u64>,
        sink: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<Option<u64>> {
        self.set_type(self.opts.ascii)?;
        let pending = self.open_data()?;
        if offset > 0 {
            let r = self.command("REST", Some(&offset.to_string()))?;
            if r.code != 350 {
                if r.code == 421 {
                    return Err(r.error(format!("{}: REST", self.peer())));
                }
                return Ok(None);
            }
        }
        let what = format!("{}: {path}", self.peer());
        let missing = Refused {
            codes: &[550, 553],
            kind: Kind::NoInput,
            says: "",
        };
        let started = self.start_transfer(("RETR", Some(path)), pending, &what, missing)?;
        let mut data = started.into_data(&what, "RETR", "without sending the file")?;
        let outcome = receive(&mut data, &what, offset, expected, sink);
        drop(data);
        // After a failure the server may still answer 426; either way this connection is
        // not reused.
        Ok(Some(self.end_transfer(outcome, &what)?))
    }

    /// Uploads to `path` (STOR), pulling chunks from `source` until it returns 0.
    /// Returns the number of bytes sent once the server confirmed the transfer.
    pub fn store(
        &mut self,
        path: &str,
        source: &mut dyn FnMut(&mut [u8]) -> Result<usize>,
    ) -> Result<u64> {
        self.upload(path, Upload::Replace, source)
    }

    /// Uploads to `path`: STOR (replacing), APPE (appending), or REST `offset` then STOR
    /// (resuming), pulling chunks from `source` until it returns 0. Returns the number of
    /// bytes sent once the server confirmed the transfer (226). A refused REST is an error
    /// before anything was sent.
    pub fn upload(
        &mut self,
        path: &str,
        how: Upload,
        source: &mut dyn FnMut(&mut [u8]) -> Result<usize>,
    ) -> Result<u64> {
        self.upload_with(path, how, &mut |data: &mut NetStream, buf: &mut [u8]| {
            let n = source(buf)?;
            if n > 0 {
                std::io::Write::write_all(data, &buf[..n])
                    .map_err(|e| Error::network("data connection", e))?;
            }
            Ok(n as u64)
        })
    }

    /// [`upload`](Self::upload) with a pump that moves one chunk into the data connection
    /// itself (and returns its size, 0 at the end): how a plain upload from a file uses
    /// sendfile(2) while a TLS one goes through the buffer.
    pub fn upload_with(
        &mut self,
        path: &str,
        how: Upload,
        pump: &mut dyn FnMut(&mut NetStream, &mut [u8]) -> Result<u64>,
    ) -> Result<u64> {
        self.set_type(self.opts.ascii)?;
        let pending = self.open_data()?;
        if let Upload::Resume(offset) = how {
            self.rest_to_resume(path, offset)?;
        }
        let verb = match how {
            Upload::Append => "APPE",
            _ => "STOR",
        };
        let what = format!("{}: {path}", self.peer());
        let denied = Refused {
            codes: &[550, 553, 532],
            kind: Kind::Auth,
            says: "cannot store: ",
        };
        let started = self.start_transfer((verb, Some(path)), pending, &what, denied)?;
        let mut data = started.into_data(&what, verb, "before any data was sent")?;
        let outcome = send(&mut data, &what, pump);
        if outcome.is_ok() {
            // close_notify, then read to EOF: a TLS 1.3 server's session tickets must be
            // read, or the server sees a reset (vsftpd then answers 426) and the next data
            // connection has no ticket to resume.
            data.finish_and_drain();
        }
        // After a failure, closing without close_notify tells the server the upload is
        // incomplete.
        drop(data);
        self.end_transfer(outcome, &what)
    }

    /// REST `offset` before a STOR that resumes `path`: a refusal is the error, 75 for a
    /// 4xx, else 69 (the server cannot resume).
    fn rest_to_resume(&mut self, path: &str, offset: u64) -> Result<()> {
        let r = self.command("REST", Some(&offset.to_string()))?;
        if r.code == 350 {
            return Ok(());
        }
        Err(if r.class() == 4 {
            r.error(format!("{}: REST", self.peer()))
        } else {
            Error::new(
                Kind::Unavailable,
                format!(
                    "{}: {path}: the server refused to resume (REST {offset}): {} {}",
                    self.peer(),
                    r.code,
                    r.text()
                ),
            )
        })
    }
}

/// Reads the file from `data` into `sink` to its end: more than `expected` (the size SIZE
/// gave, less the `offset` resumed from) is refused. The number of bytes received.
fn receive(
    data: &mut NetStream,
    what: &str,
    offset: u64,
    expected: Option<u64>,
    sink: &mut dyn FnMut(&[u8]) -> Result<()>,
) -> Result<u64> {
    let mut buf = vec![0u8; DATA_BUF];
    let mut received: u64 = 0;
    loop {
        match data.read(&mut buf) {
            Ok(0) => return Ok(received),
            Ok(n) => {
                if let Some(want) = expected.filter(|&w| received + n as u64 > w) {
                    return Err(Error::new(
                        Kind::Protocol,
                        format!(
                            "{what}: the server sent more than the {} bytes its SIZE reply announced",
                            want + offset
                        ),
                    ));
                }
                received += n as u64;
                sink(&buf[..n])?;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // A TLS data connection closed without close_notify: the control connection's
            // reply (and the size check) decide whether it was complete.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof && data.is_tls() => {
                return Ok(received);
            }
            Err(e) => return Err(Error::network(format!("{what}: data connection"), e)),
        }
    }
}

/// Moves the file into `data` with `pump` to its end: the number of bytes sent. A broken
/// connection is said with the file's name.
fn send(
    data: &mut NetStream,
    what: &str,
    pump: &mut dyn FnMut(&mut NetStream, &mut [u8]) -> Result<u64>,
) -> Result<u64> {
    let mut buf = vec![0u8; DATA_BUF];
    let mut sent: u64 = 0;
    loop {
        match pump(data, &mut buf) {
            Ok(0) => return Ok(sent),
            Ok(n) => sent += n,
            Err(e) if e.kind() == Kind::Io && e.is_transient() => return Err(e.context(what)),
            Err(e) => return Err(e),
        }
    }
}
