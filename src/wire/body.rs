//! What streams through a connection beside its replies, in constant memory, from the one
//! read buffer the replies use: dot-terminated data from the server ([`DotBody`], POP3's
//! RETR and listings), an IMAP literal's octets ([`Literal`]), and dot-stuffed data to the
//! server ([`DataWriter`], SMTP DATA). Each counts the connection out of step until it has
//! been read or sent to its end, so nothing half-done is taken for the next reply or command.

use crate::error::{Error, Result};
use crate::net::stream::Timed;
use crate::wire::dot::{DotReader, DotWriter, LoneCr};
use crate::wire::reply::Dialect;
use crate::wire::transcript::Transcript;
use crate::wire::{Conn, Inbox};
use std::io::{self, BufRead, Read, Write};
use std::time::Duration;

impl<S: Write + Timed, D: Dialect> Conn<S, D> {
    /// Starts dot-stuffed data (SMTP DATA, after its 354): anything queued is sent first.
    /// Until [`DataWriter::finish`] has sent the closing `.` line, the connection counts as
    /// out of step, so data cut short (a local read error, say) can never be followed by a
    /// command the server would take as part of the message.
    pub fn dot_writer(&mut self, lone_cr: LoneCr) -> Result<DataWriter<'_, S>> {
        self.flush()?;
        if self.broken {
            return Err(self.out_of_step());
        }
        self.broken = true;
        let Conn {
            stream,
            peer,
            broken,
            transcript,
            ..
        } = self;
        Ok(DataWriter {
            dot: DotWriter::new(stream, peer.clone(), lone_cr),
            broken,
            transcript: transcript.clone(),
        })
    }
}

/// Dot-stuffed data going to the server ([`Conn::dot_writer`]).
pub struct DataWriter<'c, S: Write> {
    dot: DotWriter<&'c mut S>,
    broken: &'c mut bool,
    transcript: Option<Transcript>,
}

impl<S: Write> DataWriter<'_, S> {
    /// Sends `data`, dot-stuffed with CRLF line ends; a lone CR is 65 unless kept.
    pub fn write(&mut self, data: &[u8]) -> Result<()> {
        self.dot.write(data)
    }

    /// Sends the closing `.` line; the connection is in step again.
    pub fn finish(self) -> Result<()> {
        self.dot.finish()?;
        if let Some(t) = &self.transcript {
            t.client(".");
        }
        *self.broken = false;
        Ok(())
    }
}

impl<S: Read + Write + Timed, D: Dialect> Conn<S, D> {
    /// The `n` octets of an IMAP literal (RFC 3501 section 4.3) that the reply (or line) just
    /// read announced, streamed from the same buffer as replies through a [`Literal`]; each
    /// read is bounded by the reply timeout, never the literal as a whole, which may be a
    /// 200 MiB message. Until it has been read to its end the connection counts as out of
    /// step. Not shown in the transcript (a message is not a protocol line); the rest of the
    /// response line follows ([`read_line_raw`](Conn::read_line_raw)).
    pub fn literal(&mut self, n: u64) -> Result<Literal<'_, S>> {
        if self.broken {
            return Err(self.out_of_step());
        }
        self.broken = n > 0;
        self.stream.watch_rate(true);
        let Conn {
            stream,
            inbox,
            peer,
            reply_timeout,
            broken,
            ..
        } = self;
        Ok(Literal {
            source: ConnReader {
                stream,
                inbox,
                timeout: *reply_timeout,
            },
            left: n,
            len: n,
            broken,
            peer,
        })
    }

    /// The rest of a response line after a literal (`)` or ` UID 7)`, or more data ending
    /// in another literal), without its CRLF: bounded in length by the dialect's
    /// [`max_line`](Dialect::max_line) and in time by the reply timeout, and shown in the
    /// transcript. Any failure leaves the connection out of step.
    pub fn read_line_raw(&mut self) -> Result<Vec<u8>> {
        if self.broken {
            return Err(self.out_of_step());
        }
        self.stream.watch_rate(false);
        let deadline = self.deadline();
        match self.read_line_by(deadline, self.dialect.max_line()) {
            Ok(line) => {
                if let Some(t) = &self.transcript {
                    t.server(&line);
                }
                Ok(line)
            }
            Err(e) => {
                self.broken = true;
                Err(e)
            }
        }
    }

    /// The dot-terminated data that follows a reply (a POP3 `+OK` to RETR, TOP, LIST, UIDL,
    /// CAPA), read from the same buffer as replies: whatever follows its `.` line stays for
    /// the next reply. Until it has been read to its end the connection counts as out of
    /// step. See [`DotReader`] for the two ways to read it and their bounds.
    pub fn dot_body(&mut self) -> Result<DotBody<'_, S>> {
        if self.broken {
            return Err(self.out_of_step());
        }
        self.broken = true;
        // Bulk data: the minimum rate applies until the next reply.
        self.stream.watch_rate(true);
        let Conn {
            stream,
            inbox,
            transcript,
            peer,
            reply_timeout,
            broken,
            ..
        } = self;
        let source = ConnReader {
            stream,
            inbox,
            timeout: *reply_timeout,
        };
        Ok(DotBody {
            dot: DotReader::new(source, peer.clone()),
            broken,
            transcript: transcript.clone(),
        })
    }
}

/// The connection's buffer and stream as a [`BufRead`], for [`DotReader`]: each read is
/// bounded by the reply timeout.
pub struct ConnReader<'c, S> {
    stream: &'c mut S,
    inbox: &'c mut Inbox,
    timeout: Option<Duration>,
}

impl<S: Read + Timed> Read for ConnReader<'_, S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(buf.len());
        buf[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<S: Read + Timed> BufRead for ConnReader<'_, S> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.inbox.start == self.inbox.end {
            if let Some(t) = self.timeout {
                self.stream.set_read_timeout(Some(t))?;
            }
            let n = self.stream.read(&mut self.inbox.buf)?;
            self.inbox.start = 0;
            self.inbox.end = n;
        }
        Ok(&self.inbox.buf[self.inbox.start..self.inbox.end])
    }

    fn consume(&mut self, n: usize) {
        self.inbox.start = (self.inbox.start + n).min(self.inbox.end);
    }
}

/// Dot-terminated data coming from the server (`Conn::dot_body`).
pub struct DotBody<'c, S> {
    dot: DotReader<ConnReader<'c, S>>,
    broken: &'c mut bool,
    transcript: Option<Transcript>,
}

impl<S: Read + Timed> DotBody<'_, S> {
    /// Refuses (76) data of more than `max` bytes on the wire.
    pub fn limit(mut self, max: u64) -> Self {
        self.dot = self.dot.limit(max);
        self
    }

    /// Streams the data, unstuffed, into `out`; `Ok(0)` at its end. Not shown in the
    /// transcript (a message is not a protocol line).
    pub fn read(&mut self, out: &mut [u8]) -> Result<usize> {
        let n = self.dot.read(out)?;
        if self.dot.is_done() {
            *self.broken = false;
        }
        Ok(n)
    }

    /// The next line of a listing, unstuffed, without its CRLF; `None` at the end. Shown in
    /// the transcript.
    pub fn next_line(&mut self) -> Result<Option<&[u8]>> {
        match self.dot.next_line()? {
            Some(line) => {
                if let Some(t) = &self.transcript {
                    t.server(line);
                }
                Ok(Some(line))
            }
            None => {
                if let Some(t) = &self.transcript {
                    t.server(b".");
                }
                *self.broken = false;
                Ok(None)
            }
        }
    }

    /// Bytes taken from the connection so far, the closing `.` line included.
    pub fn wire_bytes(&self) -> u64 {
        self.dot.wire_bytes()
    }
}

/// An IMAP literal coming from the server ([`Conn::literal`]): exactly its `n` octets.
pub struct Literal<'c, S> {
    source: ConnReader<'c, S>,
    left: u64,
    len: u64,
    broken: &'c mut bool,
    peer: &'c str,
}

impl<S: Read + Timed> Literal<'_, S> {
    /// Streams the literal into `out`; `Ok(0)` once all its octets are read. A connection
    /// that ends first is a broken connection (74), never a short message.
    pub fn read(&mut self, out: &mut [u8]) -> Result<usize> {
        if self.left == 0 || out.is_empty() {
            return Ok(0);
        }
        let avail = loop {
            match self.source.fill_buf() {
                Ok(a) => break a,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::network(self.peer, e)),
            }
        };
        if avail.is_empty() {
            return Err(Error::cut_short(
                format!("{}: literal", self.peer),
                self.len - self.left,
                self.len,
            ));
        }
        let n = avail
            .len()
            .min(out.len())
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        out[..n].copy_from_slice(&avail[..n]);
        self.source.consume(n);
        self.left -= n as u64;
        if self.left == 0 {
            *self.broken = false;
        }
        Ok(n)
    }

    /// Reads and drops what is left (a literal nobody wants: an unsolicited header field).
    pub fn skip(&mut self) -> Result<()> {
        let mut buf = [0u8; 4096];
        while self.read(&mut buf)? > 0 {}
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imap::reply::Imap;
    use crate::pop3::reply::Pop3;
    use crate::smtp::reply::Smtp;
    use crate::wire::reply::Response;
    use crate::wire::tests::{
        MockStream, imap, pop3, read_to_end, read_to_error, recording, scripted, smtp,
    };

    #[test]
    fn the_buffer_reads_as_a_stream_too() {
        let mut stream = MockStream::new(b"abcdef", 4);
        let mut inbox = Inbox {
            buf: vec![0u8; 8].into_boxed_slice(),
            start: 0,
            end: 0,
        };
        let mut src = ConnReader {
            stream: &mut stream,
            inbox: &mut inbox,
            timeout: Some(Duration::from_secs(1)),
        };
        let mut buf = [0u8; 3];
        assert_eq!(src.read(&mut buf).unwrap(), 3);
        assert_eq!(&buf, b"abc");
        assert_eq!(src.read(&mut buf).unwrap(), 1);
        assert_eq!(&buf[..1], b"d");
        assert_eq!(src.fill_buf().unwrap(), b"ef");
        src.consume(5);
        assert_eq!(src.read(&mut buf).unwrap(), 0);
    }

    /// A POP3 session: `+OK` to RETR, the message (dot-stuffed), then the next reply.
    const RETR: &[u8] = b"+OK 38 octets\r\nSubject: x\r\n\r\n..dot\r\nline\n.\r\n.\r\n+OK bye\r\n";

    #[test]
    fn dot_bodies_share_the_reply_buffer() {
        for chunk in 1..=RETR.len() {
            let (mut c, seen) = recording(pop3(RETR, chunk));
            assert!(c.read_reply().unwrap().is_ok());
            let mut body = c.dot_body().unwrap();
            let got = read_to_end(|b| body.read(b), 5).unwrap();
            assert_eq!(body.wire_bytes(), 32);
            assert_eq!(got, b"Subject: x\r\n\r\n.dot\r\nline\n.\r\n");
            assert!(!c.is_broken());
            assert_eq!(c.read_reply().unwrap().text, b"bye");
            // The message is not in the transcript.
            assert_eq!(
                seen.lock().unwrap().join("\n"),
                "S: +OK 38 octets\nS: +OK bye"
            );
        }
    }

    #[test]
    fn listings_are_read_line_by_line() {
        let input = b"+OK\r\n1 abc\r\n..2 def\r\n.\r\n+OK next\r\n";
        for chunk in 1..=input.len() {
            let (mut c, seen) = recording(pop3(input, chunk));
            c.read_reply().unwrap();
            let mut body = c.dot_body().unwrap();
            assert_eq!(body.next_line().unwrap().unwrap(), b"1 abc");
            assert_eq!(body.next_line().unwrap().unwrap(), b".2 def");
            assert!(body.next_line().unwrap().is_none());
            assert_eq!(c.read_reply().unwrap().text, b"next");
            assert_eq!(
                seen.lock().unwrap().join("\n"),
                "S: +OK\nS: 1 abc\nS: .2 def\nS: .\nS: +OK next"
            );
        }
    }

    #[test]
    fn pipelined_bodies_follow_each_other() {
        let wire = b"+OK\r\na\r\n.\r\n+OK\r\nb\r\n.\r\n";
        let mut c = scripted(&[b"", b"", wire], 2, Pop3);
        c.queue("RETR", Some("1")).unwrap();
        c.queue("RETR", Some("2")).unwrap();
        for want in [b"a\r\n", b"b\r\n"] {
            assert!(c.read_reply().unwrap().is_ok());
            let mut body = c.dot_body().unwrap();
            assert_eq!(read_to_end(|b| body.read(b), 64).unwrap(), want);
        }
        assert_eq!(c.replies_owed(), 0);
    }

    #[test]
    fn a_body_not_read_to_its_end_breaks_the_connection() {
        let mut c = pop3(RETR, 1000);
        c.read_reply().unwrap();
        let mut body = c.dot_body().unwrap();
        let mut buf = [0u8; 4];
        body.read(&mut buf).unwrap();
        drop(body);
        assert!(c.is_broken());
        assert_eq!(c.read_reply().unwrap_err().exit_code(), 74);
        assert_eq!(c.dot_body().err().unwrap().exit_code(), 74);
        // Cut off before CRLF.CRLF: an error, never an end.
        let mut c = pop3(b"+OK\r\nabc\r\n", 3);
        c.read_reply().unwrap();
        let mut body = c.dot_body().unwrap();
        let e = read_to_error(|b| body.read(b), 4);
        assert_eq!(e.exit_code(), 74);
        assert!(e.is_transient());
        assert!(c.is_broken());
        // Over its limit.
        let mut c = pop3(RETR, 1000);
        c.read_reply().unwrap();
        let mut body = c.dot_body().unwrap().limit(10);
        let e = read_to_error(|b| body.read(b), 4);
        assert_eq!(e.exit_code(), 76);
    }

    #[test]
    fn dot_writer_sends_through_the_connection() {
        let (mut c, seen) = recording(scripted(&[b"", b"354 go\r\n", b"250 queued\r\n"], 64, Smtp));
        c.send_command("DATA", None).unwrap();
        assert_eq!(c.read_reply().unwrap().code, 354);
        let mut w = c.dot_writer(LoneCr::Refuse).unwrap();
        w.write(b"Subject: x\n\n.\n").unwrap();
        w.write(b"end").unwrap();
        w.finish().unwrap();
        assert!(!c.is_broken());
        assert_eq!(c.read_reply().unwrap().code, 250);
        assert_eq!(
            c.stream().written_str(),
            "DATA\r\nSubject: x\r\n\r\n..\r\nend\r\n.\r\n"
        );
        assert_eq!(
            seen.lock().unwrap().join("\n"),
            "C: DATA\nS: 354 go\nC: .\nS: 250 queued"
        );
        // Data refused halfway: the connection must not carry a command after it.
        let mut c = smtp(b"354 go\r\n", 64);
        c.read_reply().unwrap();
        let mut w = c.dot_writer(LoneCr::Refuse).unwrap();
        assert_eq!(w.write(b"a\rb").unwrap_err().exit_code(), 65);
        drop(w);
        assert!(c.is_broken());
        assert_eq!(c.send_command("RSET", None).unwrap_err().exit_code(), 74);
        assert!(c.stream().written.is_empty());
        // Queued commands go before the data.
        let mut c = smtp(b"", 64);
        c.queue("DATA", None).unwrap();
        c.dot_writer(LoneCr::Keep).unwrap().finish().unwrap();
        assert_eq!(c.stream().written_str(), "DATA\r\n.\r\n");
        assert_eq!(c.stream().writes, 2);
    }

    /// A FETCH whose message is a literal, the UID after it, then a second literal on the
    /// same response, then the tagged end.
    const FETCH: &[u8] = b"* 1 FETCH (BODY[] {12}\r\nSubject: x\r\n UID 7 BODY[HEADER] {3}\r\nab\n)\r\n* 2 EXPUNGE\r\na1 OK done\r\n";

    #[test]
    fn imap_literals_at_every_split() {
        for chunk in 1..=FETCH.len() {
            for buf in [1, 5, 4096] {
                let (mut c, seen) = recording(imap(FETCH, chunk));
                let r = c.read_reply().unwrap();
                assert_eq!(r.literal, Some(12));
                let mut lit = c.literal(12).unwrap();
                assert_eq!(lit.left, 12);
                assert_eq!(
                    read_to_end(|b| lit.read(b), buf).unwrap(),
                    b"Subject: x\r\n"
                );
                assert!(!c.is_broken());
                let rest = c.read_line_raw().unwrap();
                assert_eq!(rest, b" UID 7 BODY[HEADER] {3}");
                assert_eq!(crate::imap::reply::imap_literal(&rest), Some(3));
                let mut lit = c.literal(3).unwrap();
                assert_eq!(read_to_end(|b| lit.read(b), buf).unwrap(), b"ab\n");
                assert_eq!(c.read_line_raw().unwrap(), b")");
                assert_eq!(c.read_reply().unwrap().text, b"2 EXPUNGE");
                assert_eq!(c.read_reply().unwrap().tag().unwrap(), b"a1");
                assert_eq!(
                    seen.lock().unwrap().join("\n"),
                    "S: * 1 FETCH (BODY[] {12}\nS:  UID 7 BODY[HEADER] {3}\nS: )\nS: * 2 EXPUNGE\nS: a1 OK done"
                );
            }
        }
    }

    #[test]
    fn an_imap_literal_that_lies_is_an_error() {
        // The connection ends 4 octets into a 12-octet literal.
        let wire = b"* 1 FETCH (BODY[] {12}\r\nSubj";
        for chunk in 1..=wire.len() {
            let mut c = imap(wire, chunk);
            c.read_reply().unwrap();
            let mut lit = c.literal(12).unwrap();
            let e = read_to_end(|b| lit.read(b), 64).unwrap_err();
            assert_eq!(e.exit_code(), 74, "{e}");
            assert!(e.is_transient());
            assert!(e.to_string().contains("received 4 of 12 bytes"), "{e}");
            assert!(c.is_broken());
            assert_eq!(c.read_line_raw().unwrap_err().exit_code(), 74);
            assert_eq!(c.read_reply().unwrap_err().exit_code(), 74);
        }
        // A literal left unread leaves the connection out of step.
        let mut c = imap(FETCH, 64);
        c.read_reply().unwrap();
        let mut lit = c.literal(12).unwrap();
        lit.read(&mut [0u8; 3]).unwrap();
        assert_eq!(lit.left, 9);
        let _ = lit;
        assert!(c.is_broken());
        assert_eq!(c.literal(9).err().unwrap().exit_code(), 74);
        // Skipped: in step again. An empty literal needs no read.
        let mut c = imap(FETCH, 3);
        c.read_reply().unwrap();
        c.literal(12).unwrap().skip().unwrap();
        assert!(!c.is_broken());
        let mut lit = c.literal(0).unwrap();
        assert_eq!(lit.read(&mut [0u8; 4]).unwrap(), 0);
        assert!(!c.is_broken());
        assert_eq!(c.read_line_raw().unwrap(), b" UID 7 BODY[HEADER] {3}");
    }

    #[test]
    fn a_literal_reads_through_interruptions_and_never_past_its_end() {
        // The literal is the last of the input: reading on after it is an end, not a wait
        // for more (nor a connection cut short).
        let wire = b"* 1 FETCH (BODY[] {5}\r\nhello";
        for chunk in [1, 2, 64] {
            let mut c = imap(wire, chunk);
            c.read_reply().unwrap();
            // A signal interrupts the reads: tried again.
            c.stream_mut().interrupts = 3;
            let mut lit = c.literal(5).unwrap();
            assert_eq!(read_to_end(|b| lit.read(b), 2).unwrap(), b"hello");
            assert_eq!(lit.read(&mut [0u8; 8]).unwrap(), 0);
            assert_eq!(lit.read(&mut [0u8; 8]).unwrap(), 0);
            assert!(!c.is_broken());
        }
        // Another read error (here the script's timeout: the rest waits for a command
        // never sent) ends it at once, never tried again.
        let mut c = scripted(&[b"* 1 FETCH (BODY[] {5}\r\nhel", b"lo"], 64, Imap);
        c.read_reply().unwrap();
        let mut lit = c.literal(5).unwrap();
        let mut b = [0u8; 8];
        assert_eq!(lit.read(&mut b).unwrap(), 3);
        let e = lit.read(&mut b).unwrap_err();
        assert_eq!(e.exit_code(), 75, "{e}");
    }

    #[test]
    fn a_200_mib_literal_streams_through_the_fixed_buffer() {
        // A reader that makes up its bytes: nothing of the literal is ever held whole.
        struct Big {
            head: Vec<u8>,
            pos: usize,
            body_left: u64,
            tail: &'static [u8],
        }
        impl Read for Big {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.pos < self.head.len() {
                    let n = buf.len().min(self.head.len() - self.pos);
                    buf[..n].copy_from_slice(&self.head[self.pos..self.pos + n]);
                    self.pos += n;
                    return Ok(n);
                }
                if self.body_left > 0 {
                    let n = buf.len().min(self.body_left as usize);
                    buf[..n].fill(b'x');
                    self.body_left -= n as u64;
                    return Ok(n);
                }
                let n = buf.len().min(self.tail.len());
                buf[..n].copy_from_slice(&self.tail[..n]);
                self.tail = &self.tail[n..];
                Ok(n)
            }
        }
        impl Timed for Big {
            fn set_read_timeout(&self, _: Option<Duration>) -> io::Result<()> {
                Ok(())
            }
        }
        impl Write for Big {
            fn write(&mut self, b: &[u8]) -> io::Result<usize> {
                Ok(b.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        const SIZE: u64 = 200 << 20;
        let big = Big {
            head: format!("* 1 FETCH (UID 9 BODY[] {{{SIZE}}}\r\n").into_bytes(),
            pos: 0,
            body_left: SIZE,
            tail: b")\r\na OK\r\n",
        };
        let mut c = Conn::new(big, "mock:143", Imap);
        let n = c.read_reply().unwrap().literal.unwrap();
        let mut lit = c.literal(n).unwrap();
        let mut total = 0u64;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match lit.read(&mut buf).unwrap() {
                0 => break,
                k => total += k as u64,
            }
        }
        assert_eq!(total, SIZE);
        assert_eq!(c.read_line_raw().unwrap(), b")");
        assert!(c.read_reply().unwrap().is_ok());
    }

    /// A connection over loopback whose data must move at 1,000 bytes/s over 100 ms, and
    /// the server's end of it.
    fn rated_pop3() -> (Conn<crate::net::NetStream, Pop3>, std::net::TcpStream) {
        use crate::net::{MinRate, NetStream, Sock};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let tcp = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (server, _) = l.accept().unwrap();
        let rate = MinRate {
            bytes_per_sec: 1000,
            window: Duration::from_millis(100),
        };
        let sock = Sock::new(tcp, None, Some(rate));
        let mut c = Conn::new(NetStream::Plain(sock), "mock:110", Pop3);
        c.set_reply_timeout(Duration::from_secs(10));
        (c, server)
    }

    #[test]
    fn the_minimum_rate_is_for_the_body_alone() {
        // A reply that takes longer than the window is no bulk data: its deadline bounds it.
        let (mut c, mut server) = rated_pop3();
        server.write_all(b"+OK 2 messages").unwrap();
        std::thread::sleep(Duration::from_millis(250));
        server.write_all(b"\r\n").unwrap();
        assert!(c.read_reply().unwrap().is_ok());
        // A body read in no time, then local work (a slow sync) longer than the window
        // before the next command: nothing was flowing then, so nothing was too slow.
        server.write_all(b"hi\r\n.\r\n").unwrap();
        let mut body = c.dot_body().unwrap();
        let mut buf = [0u8; 64];
        while body.read(&mut buf).unwrap() > 0 {}
        std::thread::sleep(Duration::from_millis(250));
        c.send_command("NOOP", None).unwrap();
        server.write_all(b"+OK\r\n").unwrap();
        assert!(c.read_reply().unwrap().is_ok());
        // A body that drips is given up.
        c.send_command("RETR", Some("1")).unwrap();
        server.write_all(b"+OK\r\n").unwrap();
        assert!(c.read_reply().unwrap().is_ok());
        let mut body = c.dot_body().unwrap();
        let drip = std::thread::spawn(move || {
            for _ in 0..250 {
                std::thread::sleep(Duration::from_millis(20));
                if server.write_all(b"x").is_err() {
                    break;
                }
            }
        });
        let e = read_to_error(|b| body.read(b), 64);
        drop(c);
        drip.join().unwrap();
        assert_eq!(e.exit_code(), 75);
        assert!(
            e.to_string().ends_with(
                "the server sent less than 1000 bytes/s for 0.1 s (--speed-limit, --speed-time)"
            ),
            "{e}"
        );
    }
}
