//! `--stdout`: messages as one mboxrd stream on standard output, for pipelines. A message cut
//! short by a failure is cut short in the stream too (what was written cannot be taken
//! back). It is a look, not a store ([`Deliver::durable`]): nothing written here is recorded
//! as delivered. [`Deliver::sync`] waits until the reader has taken what was written
//! ([`StreamOut::settle`]): only then may messages be deleted.

use super::mbox::MboxrdBuffered;
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
            out: MboxrdBuffered::new(info),
            stdout: self,
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

    fn durable(&self) -> bool {
        false
    }
}

struct StdoutMessage<'a> {
    stdout: &'a mut Stdout,
    out: MboxrdBuffered,
}

impl MessageSink for StdoutMessage<'_> {
    fn write(&mut self, data: &[u8]) -> Result<()> {
        let stream = &mut self.stdout.out;
        self.out.write(data, |b| stream.write(b))
    }

    fn commit(mut self: Box<Self>) -> Result<()> {
        let stream = &mut self.stdout.out;
        self.out.finish(|b| stream.write(b))?;
        self.stdout.unsynced = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::sync::{Arc, Mutex};

    #[test]
    fn messages_stream_in_64k_batches_as_mboxrd() {
        let d = crate::util::test_folder("stdout");
        let fifo = d.join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let got = Arc::new(Mutex::new(Vec::new()));
        let reader = {
            let (fifo, got) = (fifo.clone(), got.clone());
            std::thread::spawn(move || {
                let mut f = std::fs::File::open(fifo).unwrap();
                let mut buf = [0u8; 8192];
                loop {
                    match f.read(&mut buf).unwrap() {
                        0 => break,
                        n => got.lock().unwrap().extend_from_slice(&buf[..n]),
                    }
                }
            })
        };
        let mut out = Stdout::new(StreamOut::in_place(&fifo).unwrap());
        assert_eq!(out.name(), fifo.display().to_string());
        let info = MessageInfo::new(None, None);
        let mut m = out.begin(&info).unwrap();
        m.write(b"Subject: a\n\nFrom here\n").unwrap();
        std::thread::sleep(Duration::from_millis(100));
        assert!(got.lock().unwrap().is_empty(), "a small start is held");
        m.commit().unwrap();
        let mut m = out.begin(&info).unwrap();
        m.write(b"Subject: b\n\n").unwrap();
        m.write(&vec![b'x'; 200_000]).unwrap();
        let t = std::time::Instant::now();
        while got.lock().unwrap().len() < 150_000 {
            assert!(t.elapsed() < Duration::from_secs(10), "a large one streams");
            std::thread::sleep(Duration::from_millis(10));
        }
        m.commit().unwrap();
        out.sync().unwrap();
        drop(out);
        reader.join().unwrap();
        let got = got.lock().unwrap();
        let text = String::from_utf8_lossy(&got);
        let entries: Vec<&str> = text.split("\nFrom MAILER-DAEMON ").collect();
        assert_eq!(entries.len(), 2, "{:?}", &text[..200]);
        assert!(entries[0].starts_with("From MAILER-DAEMON "));
        assert!(entries[0].ends_with("\nSubject: a\n\n>From here\n"));
        assert!(text.ends_with(&format!("\nSubject: b\n\n{}\n\n", "x".repeat(200_000))));
        std::fs::remove_dir_all(&d).unwrap();
    }
}
