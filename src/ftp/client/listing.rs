//! The listings of an [`FtpClient`]: LIST, NLST or MLSD over a data connection, streamed
//! line by line through one fixed buffer, each line bounded in length and the whole in size.

use super::FtpClient;
use super::data::{Refused, Started};
use crate::error::{Error, Kind, Result};
use crate::ftp::{list, parse};
use crate::net::stream::{NetStream, Transport};
use std::io::{self, Read};

/// A listing larger than this is refused: it streams, but a hostile server must not keep
/// us reading forever.
const MAX_LISTING: u64 = 1 << 30;

impl<S: Transport> FtpClient<S> {
    /// Lists the files in `dir` ("" for the login folder): MLSD when offered (files only),
    /// else NLST. The listing streams: each name is handed to `each` as its line arrives,
    /// so a folder of any size costs one line of memory here. A line longer than
    /// 8 KiB (the engine's line limit) or a listing over 1 GiB is a protocol error.
    /// A 2xx reply with no data connection is an empty listing.
    pub fn list_files(
        &mut self,
        dir: &str,
        each: &mut dyn FnMut(String) -> Result<()>,
    ) -> Result<()> {
        let (verb, mlsd) = if self.features.mlsd {
            ("MLSD", true)
        } else {
            ("NLST", false)
        };
        self.listing(verb, dir, &mut |line: &[u8]| {
            let line = String::from_utf8_lossy(line);
            let name = if mlsd {
                match list::parse_mlsd(&line) {
                    list::Line::Entry(e) if e.kind == list::EntryType::File => e.name,
                    _ => return Ok(()),
                }
            } else {
                parse::nlst_name(&line).to_string()
            };
            each(name)
        })
    }

    /// Streams the listing `verb` (LIST, NLST, MLSD) of `dir` ("" for the login folder):
    /// each non-empty line, without its line end, is handed to `each` as it arrives, so a
    /// folder of any size costs one line of memory here. A line longer than
    /// 8 KiB (the engine's line limit) or a listing over 1 GiB is a protocol error.
    /// A 2xx reply with no data connection is an empty listing; 550 (and 450 to LIST or
    /// NLST) is a missing folder (66).
    pub fn listing(
        &mut self,
        verb: &str,
        dir: &str,
        each: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        let mlsd = verb == "MLSD";
        self.set_type(false)?;
        let pending = self.open_data()?;
        let arg = (!dir.is_empty()).then_some(dir);
        let what = format!(
            "{}: {}",
            self.peer(),
            if dir.is_empty() { "." } else { dir }
        );
        let missing = Refused {
            // To LIST and NLST, 450 says so too ("450 No files found").
            codes: if mlsd { &[550] } else { &[550, 450] },
            kind: Kind::NoInput,
            says: "no such folder: ",
        };
        let Started::Data(data) = self.start_transfer((verb, arg), pending, &what, missing)? else {
            return Ok(());
        };
        let mut lines = ListingLines::new(data);
        let outcome: Result<()> = loop {
            match lines.next_line() {
                Ok(None) => break Ok(()),
                Ok(Some(line)) => {
                    if let Err(e) = each(line) {
                        break Err(e);
                    }
                }
                Err(ListingError::Io(e)) => {
                    break Err(Error::network(format!("{what}: data connection"), e));
                }
                Err(ListingError::LineTooLong) => {
                    break Err(Error::new(
                        Kind::Protocol,
                        format!(
                            "{what}: a listing line longer than {} KiB",
                            crate::wire::limits::MAX_LINE / 1024
                        ),
                    ));
                }
                Err(ListingError::TooLarge) => {
                    break Err(Error::new(
                        Kind::Protocol,
                        format!("{what}: listing larger than {} GiB", MAX_LISTING >> 30),
                    ));
                }
            }
        };
        drop(lines);
        self.end_transfer(outcome, &what)
    }
}

/// Why a listing could not be read line by line.
enum ListingError {
    Io(io::Error),
    LineTooLong,
    TooLarge,
}

/// Splits a listing's data connection into lines (LF or CRLF), bounded in length, through
/// one fixed buffer.
struct ListingLines {
    data: NetStream,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    total: u64,
    eof: bool,
}

impl ListingLines {
    fn new(data: NetStream) -> Self {
        ListingLines {
            data,
            buf: vec![0u8; 2 * crate::wire::limits::MAX_LINE + 2].into_boxed_slice(),
            start: 0,
            end: 0,
            total: 0,
            eof: false,
        }
    }

    /// The next non-empty line without its line end; `None` at the end of the listing.
    fn next_line(&mut self) -> std::result::Result<Option<&[u8]>, ListingError> {
        loop {
            if let Some(i) = self.buf[self.start..self.end]
                .iter()
                .position(|&b| b == b'\n')
            {
                let (s, e) = (self.start, self.start + i);
                self.start = e + 1;
                let line = &self.buf[s..e];
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                if line.len() > crate::wire::limits::MAX_LINE {
                    return Err(ListingError::LineTooLong);
                }
                if line.is_empty() {
                    continue;
                }
                // Re-borrow: the line lives in the buffer until the next call.
                let (s, len) = (s, line.len());
                return Ok(Some(&self.buf[s..s + len]));
            }
            if self.eof {
                // A last line without a line end.
                if self.start < self.end {
                    let (s, e) = (self.start, self.end);
                    self.start = self.end;
                    let line = &self.buf[s..e];
                    let line = line.strip_suffix(b"\r").unwrap_or(line);
                    let len = line.len();
                    if len == 0 {
                        return Ok(None);
                    }
                    return Ok(Some(&self.buf[s..s + len]));
                }
                return Ok(None);
            }
            if self.end - self.start > crate::wire::limits::MAX_LINE + 1 {
                return Err(ListingError::LineTooLong);
            }
            // Move what is left of a line to the front, then read more behind it.
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            match self.data.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => {
                    self.end += n;
                    self.total += n as u64;
                    if self.total > MAX_LISTING {
                        return Err(ListingError::TooLarge);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => self.eof = true,
                Err(e) => return Err(ListingError::Io(e)),
            }
        }
    }
}
