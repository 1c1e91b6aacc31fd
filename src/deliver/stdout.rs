//! `--stdout`: messages as one mboxrd stream on standard output, for pipelines. A message cut
//! short by a failure is cut short in the stream too (what was written cannot be taken
//! back), and is never recorded as delivered. [`Deliver::sync`] waits until the reader has
//! taken what was written ([`StreamOut::settle`]): only then may messages be deleted.

use super::mbox::MboxrdMessage;
use super::{Deliver, MessageInfo, MessageSink};
use crate::error::Result;
use crate::transfer::StreamOut;
use std::time::Duration;

/// How long the reader of a pipe may take to drain it before a deletion.
const SETTLE: Duration = Duration::from_secs(60);

pub struct Stdout {
    out: StreamOut,
    unsynced: bool,
}

impl Stdout {
    pub fn new(out: StreamOut) -> Stdout {
        Stdout {
            out,
            unsynced: false,
        }
    }
}

impl Deliver for Stdout {
    fn begin(&mut self, info: &MessageInfo) -> Result<Box<dyn MessageSink + '_>> {
        Ok(Box::new(StdoutMessage {
            enc: MboxrdMessage::new(info),
            stdout: self,
            buf: Vec::new(),
        }))
    }

    fn sync(&mut self) -> Result<()> {
        if std::mem::take(&mut self.unsynced) {
            self.out.settle(SETTLE)?;
        }
        Ok(())
    }

    fn name(&self) -> String {
        self.out.name().to_string()
    }
}

struct StdoutMessage<'a> {
    stdout: &'a mut Stdout,
    enc: MboxrdMessage,
    buf: Vec<u8>,
}

impl StdoutMessage<'_> {
    fn put(&mut self) -> Result<()> {
        let r = self.stdout.out.write(&self.buf);
        self.buf.clear();
        r
    }
}

impl MessageSink for StdoutMessage<'_> {
    fn write(&mut self, data: &[u8]) -> Result<()> {
        self.enc.encode(data, &mut self.buf);
        if self.buf.len() >= 64 * 1024 {
            self.put()?;
        }
        Ok(())
    }

    fn commit(mut self: Box<Self>) -> Result<()> {
        self.enc.finish(&mut self.buf);
        self.put()?;
        self.stdout.unsynced = true;
        Ok(())
    }
}
