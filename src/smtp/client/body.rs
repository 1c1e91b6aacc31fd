//! Where a message's data goes once the envelope is accepted: DATA's dot-stuffed stream
//! ([`DataWriter`]) or BDAT chunks (RFC 3030, [`BdatWriter`]), both a [`BodySink`].

#[cfg(doc)]
use super::SmtpClient;
use crate::error::{Error, Kind, Result};
use crate::net::stream::Transport;
use crate::smtp::reply::Smtp;
use crate::wire::reply::Reply;
use crate::wire::{Conn, DataWriter};
use std::fmt;
use std::io::Write;

/// Where a message's data goes: DATA's dot-stuffed stream, or BDAT chunks.
pub trait BodySink {
    /// Sends `data` (line ends canonicalised to CRLF on the way).
    fn write(&mut self, data: &[u8]) -> Result<()>;
}

impl<S: Write> BodySink for DataWriter<'_, S> {
    fn write(&mut self, data: &[u8]) -> Result<()> {
        DataWriter::write(self, data)
    }
}

/// How much canonical data one BDAT chunk carries (at most; the last may be less).
pub const BDAT_CHUNK: usize = 256 * 1024;

/// The message as BDAT chunks (RFC 3030): line ends made CRLF (a lone CR kept: the caller
/// refuses it unless allowed), no dot-stuffing; each chunk's reply read before the next
/// is sent. Its last chunk goes with LAST.
pub struct BdatWriter<'c, S: Transport> {
    conn: &'c mut Conn<S, Smtp>,
    out: Vec<u8>,
    /// The last byte taken was a CR whose LF may come in the next write.
    pending_cr: bool,
    /// The data so far does not end with a line break: one is added at the end, as DATA
    /// does (RFC 5322 2.1: lines end in CRLF).
    line_open: bool,
}

impl<'c, S: Transport> BdatWriter<'c, S> {
    pub(super) fn new(conn: &'c mut Conn<S, Smtp>) -> Self {
        BdatWriter {
            conn,
            out: Vec::with_capacity(BDAT_CHUNK + 2 * 64 * 1024),
            pending_cr: false,
            line_open: false,
        }
    }

    fn chunk(&mut self) -> Result<Reply> {
        let arg = self.out.len().to_string();
        self.conn
            .send_command_with_data("BDAT", Some(&arg), &self.out)?;
        self.out.clear();
        self.conn.read_reply()
    }

    /// Sends the last chunk with LAST; its reply is the message's final reply, read by
    /// [`SmtpClient::final_reply`].
    pub(super) fn send_last(mut self) -> Result<()> {
        if self.pending_cr {
            self.out.push(b'\r');
            self.pending_cr = false;
        }
        if self.line_open {
            self.out.extend_from_slice(b"\r\n");
        }
        let arg = format!("{} LAST", self.out.len());
        self.conn
            .send_command_with_data("BDAT", Some(&arg), &self.out)
    }
}

impl<S: Transport> BodySink for BdatWriter<'_, S> {
    fn write(&mut self, data: &[u8]) -> Result<()> {
        for &b in data {
            if self.pending_cr {
                self.pending_cr = false;
                self.out.push(b'\r');
                if b == b'\n' {
                    self.out.push(b'\n');
                    continue;
                }
            }
            match b {
                b'\r' => self.pending_cr = true,
                b'\n' => self.out.extend_from_slice(b"\r\n"),
                _ => self.out.push(b),
            }
        }
        if let Some(&b) = data.last() {
            self.line_open = b != b'\n';
        }
        if self.out.len() >= BDAT_CHUNK {
            let r = self.chunk()?;
            if r.class() != 2 {
                return Err(message_refused(&r, format!("{}: BDAT", self.conn.peer())));
            }
        }
        Ok(())
    }
}

/// The error of a reply that refuses the message (to DATA, a BDAT chunk or the end of the
/// data): a 5xx that is not about the login is the message's fault (65, as
/// docs/CONVENTIONS.md says), not the service's (69).
pub(super) fn message_refused(r: &Reply, context: impl fmt::Display) -> Error {
    let e = r.error(context);
    if r.class() == 5 && e.kind() == Kind::Unavailable {
        e.with_kind(Kind::Data)
    } else {
        e
    }
}
