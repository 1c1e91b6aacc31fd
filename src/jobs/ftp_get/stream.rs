//! ftp-get's downloads into a stream: standard output, or a device or FIFO written in place,
//! where what was written cannot be taken back.

use super::{Run, connected};
use crate::error::{Error, Kind, Result};
use crate::ftp::client::FtpClient;
use crate::jobs::reconnect::Reconnecting;
use crate::net::url::Target;
use crate::transfer::StreamOut;
use crate::util::crlf::CrlfToLf;
use std::path::Path;

impl Run<'_> {
    /// Downloads into a stream: standard output (`device` None) or a device or FIFO written
    /// in place. `written` counts what this file already put there: a retry resumes after
    /// it (REST) only where SIZE can check the result, since written bytes cannot be taken
    /// back.
    pub(super) fn fetch_to_stream(
        &mut self,
        target: &Target,
        ascii: bool,
        size: Option<u64>,
        device: Option<&Path>,
        written: &mut u64,
    ) -> Result<()> {
        if let Some(p) = device {
            if self.device.is_none() {
                self.device = Some((StreamOut::in_place(p)?, 0));
            }
        }
        let start = *written;
        if start > 0 && (ascii || size.is_none()) {
            return Err(Error::new(
                Kind::Io,
                format!(
                    "{target}: cannot resume: {start} bytes already went to {}, and without a size from the server (SIZE) a resumed transfer could not be checked",
                    self.stream_out(device.is_some())?.1.name()
                ),
            ));
        }
        let got = match self.stream_into(target, ascii, size, device.is_some(), written) {
            Ok(g) => g,
            Err(e) if e.kind() == Kind::StdoutClosed && self.opts.delete_remote => {
                return Err(Error::new(
                    Kind::Io,
                    format!(
                        "standard output was closed before all of {target} was written; the remote file was not deleted"
                    ),
                ));
            }
            Err(e) => return Err(e),
        };
        if got.is_none() {
            return Err(Error::new(
                Kind::Unavailable,
                format!(
                    "{target}: the server refused to resume (REST) after {start} bytes were already written to {}",
                    self.stream_out(device.is_some())?.1.name()
                ),
            ));
        }
        if let Some(want) = size {
            if *written != want {
                return Err(Error::cut_short(target, *written, want));
            }
        }
        *written = 0;
        if self.opts.delete_remote {
            self.settle_then_delete(target, device.is_some())?;
        }
        Ok(())
    }

    /// The connection slot and the stream a download goes to: the device, or standard output.
    pub(super) fn stream_out(
        &mut self,
        device: bool,
    ) -> Result<(&mut Reconnecting<FtpClient>, &mut StreamOut)> {
        let out = pick_stream(device, &mut self.device, &mut self.stream)?;
        Ok((&mut self.client, out))
    }

    /// RETR from `written` on into the stream, counting what is written.
    fn stream_into(
        &mut self,
        target: &Target,
        ascii: bool,
        size: Option<u64>,
        device: bool,
        written: &mut u64,
    ) -> Result<Option<u64>> {
        let out = pick_stream(device, &mut self.device, &mut self.stream)?;
        let client = connected(&mut self.client, target, &self.login, self.ftp)?;
        let events = &mut *self.events;
        let start = *written;
        events.start(out.name(), size, start);
        let expected = size.map(|s| s.saturating_sub(start));
        let mut delivery = Delivery::new(ascii, |d: &[u8]| {
            out.write(d)?;
            *written += d.len() as u64;
            Ok(())
        });
        let limit = self.opts.limit.as_deref();
        let got = client.retrieve(&target.path, start, expected, &mut |buf: &[u8]| {
            delivery.push(buf)?;
            events.advance(buf.len() as u64);
            if let Some(l) = limit {
                l.take(buf.len() as u64);
            }
            Ok(())
        })?;
        if got.is_some() {
            delivery.finish()?;
            events.finish();
        }
        Ok(got)
    }
}

/// The stream a download goes to: the device written in place, or standard output.
fn pick_stream<'s>(
    device: bool,
    dev: &'s mut Option<(StreamOut, u64)>,
    stdout: &'s mut Option<&mut StreamOut>,
) -> Result<&'s mut StreamOut> {
    match (device, dev.as_mut(), stdout.as_deref_mut()) {
        (true, Some((d, _)), _) => Ok(d),
        (false, _, Some(s)) => Ok(s),
        _ => Err(Error::new(Kind::Software, "no stream to write to")),
    }
}

/// Hands downloaded bytes to `write`, converting CRLF to LF first in ASCII mode (TYPE A data
/// comes with CRLF line ends, RFC 959 3.1.1.1; the local form is LF).
pub(super) struct Delivery<W> {
    lines: Option<CrlfToLf>,
    converted: Vec<u8>,
    write: W,
}

impl<W: FnMut(&[u8]) -> Result<()>> Delivery<W> {
    pub(super) fn new(ascii: bool, write: W) -> Self {
        Delivery {
            lines: ascii.then(CrlfToLf::default),
            converted: Vec::new(),
            write,
        }
    }

    pub(super) fn push(&mut self, buf: &[u8]) -> Result<()> {
        match &mut self.lines {
            Some(l) => {
                self.converted.clear();
                l.convert(buf, &mut self.converted);
                (self.write)(&self.converted)
            }
            None => (self.write)(buf),
        }
    }

    /// At the end of the data: what the conversion still held back (a lone final CR).
    pub(super) fn finish(&mut self) -> Result<()> {
        match &mut self.lines {
            Some(l) => {
                self.converted.clear();
                l.finish(&mut self.converted);
                (self.write)(&self.converted)
            }
            None => Ok(()),
        }
    }
}
