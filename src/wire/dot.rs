//! Dot-stuffing, byte-level and streaming: [`DotWriter`] for what the client sends (SMTP
//! DATA, RFC 5321 section 4.5.2) and [`DotReader`] for what a server sends (POP3 multi-line
//! responses, RFC 1939 section 3). Each keeps an explicit state enum and a fixed buffer, so a
//! message of any size, with lines of any length, streams in constant memory, and any split
//! of the input gives the same output.
//!
//! The writer is strict about what could end the data early on a lenient server (the SMTP
//! smuggling class of bugs): every line ending it sends is CRLF, and a `.` at the start of
//! any line is doubled whatever ended the line before it, so `\n.\n` or `\r.\r\n` in the
//! input can never become the end of the data.
//!
//! The reader ends exactly at CRLF `.` CRLF: a `.` line after a bare LF is data. A connection
//! closed before that is an error, never an end.

use crate::error::{Error, Kind, Result};
use crate::wire::limits::MAX_LINE;
use std::io::{BufRead, ErrorKind, Write};

/// What `DotWriter` does with a lone CR (one not followed by LF).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LoneCr {
    /// Refuse the data (65, naming the line): servers disagree on whether a lone CR ends a
    /// line, so it cannot be sent safely as it is.
    #[default]
    Refuse,
    /// Send it as it is. A `.` right after it is still doubled, so that no server, however
    /// it reads the CR, can see the end of the data there.
    Keep,
}

/// Where the writer found a lone CR: the 1-based line and the 0-based byte offset of the CR
/// in the data as given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoneCrAt {
    pub line: u64,
    pub offset: u64,
}

impl LoneCrAt {
    /// The error a refused lone CR is (65); the caller adds which file.
    pub fn error(self) -> Error {
        Error::new(
            Kind::Data,
            format!(
                "line {}: a lone CR (a carriage return not followed by a line feed) at byte {}; \
                 mail servers disagree on whether it ends a line, so it is not sent",
                self.line, self.offset
            ),
        )
    }
}

/// Where the encoder is in the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stuff {
    /// At the start of a line (and of the data): a `.` here is doubled.
    LineStart,
    /// Inside a line.
    Mid,
    /// After a CR: a line end if LF follows, else a lone CR.
    Cr,
    /// After a lone CR that was kept: a `.` here is doubled too, but the line has not ended.
    AfterLoneCr,
}

/// The dot-stuffing encoder: pure and byte-level; [`DotWriter`] streams through it.
#[derive(Debug, Clone)]
pub struct Stuffer {
    state: Stuff,
    lone_cr: LoneCr,
    /// The line being encoded, from 1.
    line: u64,
    /// Bytes of input taken before the current call.
    offset: u64,
    /// Where the pending CR is.
    cr_at: u64,
}

impl Stuffer {
    pub fn new(lone_cr: LoneCr) -> Self {
        Stuffer {
            state: Stuff::LineStart,
            lone_cr,
            line: 1,
            offset: 0,
            cr_at: 0,
        }
    }

    /// Appends the encoding of `input` to `out`: at most two bytes out per byte in, plus one
    /// for a CR held from the previous call.
    pub fn encode(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), LoneCrAt> {
        let mut i = 0;
        while i < input.len() {
            if self.state == Stuff::Mid {
                // Most bytes are inside a line: copy them up to the next CR or LF at once.
                let rest = &input[i..];
                let n = rest
                    .iter()
                    .position(|&b| b == b'\r' || b == b'\n')
                    .unwrap_or(rest.len());
                out.extend_from_slice(&rest[..n]);
                i += n;
                if i == input.len() {
                    break;
                }
            }
            if self.step(input[i], self.offset + i as u64, out)? {
                i += 1;
            }
        }
        self.offset += input.len() as u64;
        Ok(())
    }

    /// Takes one byte; `false` when the byte must be taken again (after a kept lone CR).
    fn step(&mut self, b: u8, at: u64, out: &mut Vec<u8>) -> Result<bool, LoneCrAt> {
        match (self.state, b) {
            (Stuff::Cr, b'\n') => self.line_end(out),
            (Stuff::Cr, _) => {
                self.lone_cr(out)?;
                return Ok(false);
            }
            (_, b'\r') => {
                self.cr_at = at;
                self.state = Stuff::Cr;
            }
            (_, b'\n') => self.line_end(out),
            (Stuff::LineStart | Stuff::AfterLoneCr, b'.') => {
                out.extend_from_slice(b"..");
                self.state = Stuff::Mid;
            }
            _ => {
                out.push(b);
                self.state = Stuff::Mid;
            }
        }
        Ok(true)
    }

    fn line_end(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"\r\n");
        self.line += 1;
        self.state = Stuff::LineStart;
    }

    fn lone_cr(&mut self, out: &mut Vec<u8>) -> Result<(), LoneCrAt> {
        match self.lone_cr {
            LoneCr::Refuse => Err(LoneCrAt {
                line: self.line,
                offset: self.cr_at,
            }),
            LoneCr::Keep => {
                out.push(b'\r');
                self.state = Stuff::AfterLoneCr;
                Ok(())
            }
        }
    }

    /// Appends the end of the data: CRLF if the data did not end with a line break, then the
    /// closing `.` line.
    pub fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), LoneCrAt> {
        if self.state == Stuff::Cr {
            self.lone_cr(out)?;
        }
        if self.state != Stuff::LineStart {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b".\r\n");
        self.state = Stuff::LineStart;
        Ok(())
    }
}

/// How much encoded output [`DotWriter`] gathers before writing it.
const OUT_BUF: usize = 16 * 1024;
/// How much input it encodes at a time.
const IN_CHUNK: usize = 8 * 1024;

/// Sends data dot-stuffed, with CRLF line ends, through a fixed buffer; [`finish`] sends the
/// closing `.` line. `what` names the connection in network errors.
///
/// [`finish`]: DotWriter::finish
pub struct DotWriter<W: Write> {
    inner: W,
    what: String,
    stuffer: Stuffer,
    out: Vec<u8>,
}

impl<W: Write> DotWriter<W> {
    pub fn new(inner: W, what: impl Into<String>, lone_cr: LoneCr) -> Self {
        DotWriter {
            inner,
            what: what.into(),
            stuffer: Stuffer::new(lone_cr),
            out: Vec::with_capacity(OUT_BUF + 2 * IN_CHUNK + 1),
        }
    }

    /// Encodes `data` and sends whatever fills the buffer. A refused lone CR is 65; a write
    /// that fails is a broken connection (74) or a timeout (75).
    pub fn write(&mut self, data: &[u8]) -> Result<()> {
        for chunk in data.chunks(IN_CHUNK) {
            self.stuffer
                .encode(chunk, &mut self.out)
                .map_err(LoneCrAt::error)?;
            if self.out.len() >= OUT_BUF {
                self.send()?;
            }
        }
        Ok(())
    }

    fn send(&mut self) -> Result<()> {
        self.inner
            .write_all(&self.out)
            .map_err(|e| Error::network(&self.what, e))?;
        self.out.clear();
        Ok(())
    }

    /// Ends the data (CRLF if needed, then `.` CRLF), sends everything and flushes.
    pub fn finish(mut self) -> Result<W> {
        self.stuffer
            .finish(&mut self.out)
            .map_err(LoneCrAt::error)?;
        self.send()?;
        self.inner
            .flush()
            .map_err(|e| Error::network(&self.what, e))?;
        Ok(self.inner)
    }
}

/// Where the decoder is in the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unstuff {
    /// At the start of a line: after CRLF, or at the start of the data.
    LineStart,
    /// After a `.` at the start of a line.
    Dot,
    /// After `.` CR at the start of a line: the end if LF follows.
    DotCr,
    /// Inside a line.
    Mid,
    /// After a CR inside a line.
    Cr,
    /// After CRLF `.` CRLF.
    Done,
}

/// What one call of [`Unstuffer::decode`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decoded {
    /// Input bytes taken: never any after the terminator.
    pub consumed: usize,
    /// Output bytes written.
    pub written: usize,
    /// The last byte written ends a line (its CRLF); only when asked to stop there.
    pub line_end: bool,
}

/// The dot-unstuffing decoder (RFC 1939 section 3): a line starting with `.` loses it; a
/// line that is only `.` ends the data. Pure and byte-level; lines end only at CRLF.
#[derive(Debug, Clone)]
pub struct Unstuffer {
    state: Unstuff,
}

impl Default for Unstuffer {
    fn default() -> Self {
        Unstuffer::new()
    }
}

impl Unstuffer {
    pub fn new() -> Self {
        Unstuffer {
            state: Unstuff::LineStart,
        }
    }

    /// Whether the terminating `.` line has been read.
    pub fn is_done(&self) -> bool {
        self.state == Unstuff::Done
    }

    /// Decodes from `input` into `out` until the input is used up, `out` is full, the data
    /// ends, or (with `stop_at_line_end`) a line has ended. Output never exceeds input
    /// plus one byte (a CR held back after `.`).
    pub fn decode(&mut self, input: &[u8], out: &mut [u8], stop_at_line_end: bool) -> Decoded {
        let (mut i, mut w) = (0, 0);
        while w < out.len() && self.state != Unstuff::Done {
            let Some(&b) = input.get(i) else { break };
            match self.state {
                Unstuff::LineStart if b == b'.' => {
                    i += 1;
                    self.state = Unstuff::Dot;
                }
                // Taken again as the first byte inside the line.
                Unstuff::LineStart => self.state = Unstuff::Mid,
                Unstuff::Dot if b == b'\r' => {
                    i += 1;
                    self.state = Unstuff::DotCr;
                }
                // "If octets other than CRLF follow, the first octet of the line is stripped."
                Unstuff::Dot => self.state = Unstuff::Mid,
                Unstuff::DotCr if b == b'\n' => {
                    i += 1;
                    self.state = Unstuff::Done;
                }
                // `.` CR and something else: the dot goes, the CR is data.
                Unstuff::DotCr => {
                    out[w] = b'\r';
                    w += 1;
                    self.state = Unstuff::Cr;
                }
                Unstuff::Mid => {
                    // Copy up to the next CR at once: only a CR can start a line end.
                    let span = &input[i..input.len().min(i + out.len() - w)];
                    match span.iter().position(|&c| c == b'\r') {
                        Some(p) => {
                            out[w..w + p + 1].copy_from_slice(&span[..p + 1]);
                            i += p + 1;
                            w += p + 1;
                            self.state = Unstuff::Cr;
                        }
                        None => {
                            out[w..w + span.len()].copy_from_slice(span);
                            i += span.len();
                            w += span.len();
                        }
                    }
                }
                Unstuff::Cr => {
                    out[w] = b;
                    i += 1;
                    w += 1;
                    self.state = match b {
                        b'\n' => Unstuff::LineStart,
                        b'\r' => Unstuff::Cr,
                        _ => Unstuff::Mid,
                    };
                    if b == b'\n' && stop_at_line_end {
                        return Decoded {
                            consumed: i,
                            written: w,
                            line_end: true,
                        };
                    }
                }
                Unstuff::Done => unreachable!("the loop stops at the end"),
            }
        }
        Decoded {
            consumed: i,
            written: w,
            line_end: false,
        }
    }
}

/// Reads dot-stuffed data from a buffered source up to and including its terminating
/// `.` line, and not one byte further: what follows belongs to the next reply (pipelining).
/// `what` names the connection in errors.
///
/// Two ways to read, not to be mixed:
/// - [`read`](DotReader::read) streams the data (unstuffed, line ends as sent) into the
///   caller's buffer: for message bodies. Lines may be of any length: nothing here holds a
///   line, so a long one costs no memory, and a message that other clients fetch is not
///   refused for one over-long line. What bounds a hostile, endless stream is the total:
///   [`limit`](DotReader::limit) it (POP3's LIST gives each message's size).
/// - [`next_line`](DotReader::next_line) returns one line at a time: for listings (CAPA,
///   LIST, UIDL). A line is held in memory, so it may be at most [`MAX_LINE`] bytes long;
///   longer is a protocol error (76).
pub struct DotReader<B> {
    src: B,
    what: String,
    unstuffer: Unstuffer,
    /// Wire bytes taken so far.
    taken: u64,
    limit: Option<u64>,
    line: Vec<u8>,
}

impl<B: BufRead> DotReader<B> {
    pub fn new(src: B, what: impl Into<String>) -> Self {
        DotReader {
            src,
            what: what.into(),
            unstuffer: Unstuffer::new(),
            taken: 0,
            limit: None,
            line: Vec::new(),
        }
    }

    /// Refuses (76) data of more than `max` bytes on the wire before its end.
    pub fn limit(mut self, max: u64) -> Self {
        self.limit = Some(max);
        self
    }

    /// Whether the terminating `.` line has been read.
    pub fn is_done(&self) -> bool {
        self.unstuffer.is_done()
    }

    /// Bytes taken from the source so far, terminator included.
    pub fn wire_bytes(&self) -> u64 {
        self.taken
    }

    /// The source, with what follows the terminator (the tests look at it).
    #[cfg(test)]
    pub fn into_inner(self) -> B {
        self.src
    }

    /// Reads unstuffed data into `out`; `Ok(0)` once the data has ended (or when `out` is
    /// empty). Bytes after the terminator stay in the source.
    pub fn read(&mut self, out: &mut [u8]) -> Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        while !self.unstuffer.is_done() {
            let avail = fill(&mut self.src, &self.what)?;
            let d = self.unstuffer.decode(avail, out, false);
            self.src.consume(d.consumed);
            self.count(d.consumed)?;
            if d.written > 0 {
                return Ok(d.written);
            }
        }
        Ok(0)
    }

    /// The next line without its CRLF, unstuffed; `None` once the data has ended.
    pub fn next_line(&mut self) -> Result<Option<&[u8]>> {
        self.line.clear();
        loop {
            if self.unstuffer.is_done() {
                return Ok(None);
            }
            let avail = fill(&mut self.src, &self.what)?;
            // Room for the longest line allowed and its CRLF, never more.
            let room = MAX_LINE + 2 - self.line.len();
            if room == 0 {
                return Err(Error::new(
                    Kind::Protocol,
                    format!(
                        "{}: the server sent a line longer than {} KiB",
                        self.what,
                        MAX_LINE / 1024
                    ),
                ));
            }
            let start = self.line.len();
            self.line.resize(start + room.min(avail.len()), 0);
            let d = self.unstuffer.decode(avail, &mut self.line[start..], true);
            self.line.truncate(start + d.written);
            self.src.consume(d.consumed);
            self.count(d.consumed)?;
            if d.line_end {
                self.line.truncate(self.line.len() - 2);
                return Ok(Some(&self.line));
            }
        }
    }

    fn count(&mut self, n: usize) -> Result<()> {
        self.taken += n as u64;
        match self.limit {
            Some(max) if self.taken > max => Err(Error::new(
                Kind::Protocol,
                format!(
                    "{}: the server sent more than {max} bytes without ending the data",
                    self.what
                ),
            )),
            _ => Ok(()),
        }
    }
}

/// The next bytes of dot-terminated data from `src`, retrying an interrupted read: a read
/// error is a network error, and the end of the stream before the data ended is a broken
/// connection (74), never an end. `what` names the connection.
fn fill<'b, B: BufRead>(src: &'b mut B, what: &str) -> Result<&'b [u8]> {
    loop {
        match src.fill_buf() {
            Ok([]) => {
                return Err(Error::connection_lost(format!(
                    "{what}: connection lost: the server closed the connection before the end of the data (CRLF.CRLF)"
                )));
            }
            Ok(_) => break,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::network(what, e)),
        }
    }
    // The bytes just filled, handed out again without a read (a borrow checker limit
    // forbids returning them from inside the loop).
    src.fill_buf().map_err(|e| Error::network(what, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::tests::{read_to_end, read_to_error};
    use std::io;

    /// Every way to cut `n` bytes into one, two or three pieces, as cut points.
    fn splits(n: usize) -> Vec<Vec<usize>> {
        let mut all = vec![vec![]];
        for i in 0..=n {
            all.push(vec![i]);
            for j in i..=n {
                all.push(vec![i, j]);
            }
        }
        all
    }

    fn pieces<'a>(input: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
        let mut out = Vec::new();
        let mut from = 0;
        for &c in cuts {
            out.push(&input[from..c]);
            from = c;
        }
        out.push(&input[from..]);
        out
    }

    fn stuff(parts: &[&[u8]], lone_cr: LoneCr) -> Result<Vec<u8>, LoneCrAt> {
        let mut s = Stuffer::new(lone_cr);
        let mut out = Vec::new();
        for p in parts {
            s.encode(p, &mut out)?;
        }
        s.finish(&mut out)?;
        Ok(out)
    }

    /// (input, output with lone CRs refused, output with lone CRs kept)
    type StuffCase = (
        &'static [u8],
        Result<&'static [u8], LoneCrAt>,
        &'static [u8],
    );

    const fn at(line: u64, offset: u64) -> LoneCrAt {
        LoneCrAt { line, offset }
    }

    const STUFF_CASES: &[StuffCase] = &[
        (b"", Ok(b".\r\n"), b".\r\n"),
        (b"a", Ok(b"a\r\n.\r\n"), b"a\r\n.\r\n"),
        (b"a\n", Ok(b"a\r\n.\r\n"), b"a\r\n.\r\n"),
        (b"a\r\n", Ok(b"a\r\n.\r\n"), b"a\r\n.\r\n"),
        (b"\n", Ok(b"\r\n.\r\n"), b"\r\n.\r\n"),
        (b".", Ok(b"..\r\n.\r\n"), b"..\r\n.\r\n"),
        (b".\r\n", Ok(b"..\r\n.\r\n"), b"..\r\n.\r\n"),
        (b"..\n", Ok(b"...\r\n.\r\n"), b"...\r\n.\r\n"),
        (
            b"a.b\n.c\n",
            Ok(b"a.b\r\n..c\r\n.\r\n"),
            b"a.b\r\n..c\r\n.\r\n",
        ),
        (b"\n.\n", Ok(b"\r\n..\r\n.\r\n"), b"\r\n..\r\n.\r\n"),
        (
            b"x\n.\r\ny",
            Ok(b"x\r\n..\r\ny\r\n.\r\n"),
            b"x\r\n..\r\ny\r\n.\r\n",
        ),
        (
            b"x\r\n.\ny\r\n",
            Ok(b"x\r\n..\r\ny\r\n.\r\n"),
            b"x\r\n..\r\ny\r\n.\r\n",
        ),
        (b"\r\n\r\n", Ok(b"\r\n\r\n.\r\n"), b"\r\n\r\n.\r\n"),
        (b"\r.\r\n", Err(at(1, 0)), b"\r..\r\n.\r\n"),
        (b"a\r.\r\n", Err(at(1, 1)), b"a\r..\r\n.\r\n"),
        (b"a\rb", Err(at(1, 1)), b"a\rb\r\n.\r\n"),
        (b"a\n\nb\rc\n", Err(at(3, 4)), b"a\r\n\r\nb\rc\r\n.\r\n"),
        (b"a\r", Err(at(1, 1)), b"a\r\r\n.\r\n"),
        (b"\r", Err(at(1, 0)), b"\r\r\n.\r\n"),
        (b"a\r\r\n", Err(at(1, 1)), b"a\r\r\n.\r\n"),
        (b"a\n\r\r.\n", Err(at(2, 2)), b"a\r\n\r\r..\r\n.\r\n"),
        (b"\r\r\n.", Err(at(1, 0)), b"\r\r\n..\r\n.\r\n"),
        (
            b"\x00\xff.\n",
            Ok(b"\x00\xff.\r\n.\r\n"),
            b"\x00\xff.\r\n.\r\n",
        ),
    ];

    #[test]
    fn stuffing_at_every_split() {
        for &(input, refused, kept) in STUFF_CASES {
            for cuts in splits(input.len()) {
                let parts = pieces(input, &cuts);
                assert_eq!(
                    stuff(&parts, LoneCr::Refuse).as_deref().map_err(|e| *e),
                    refused,
                    "{input:?} cut at {cuts:?}"
                );
                assert_eq!(
                    stuff(&parts, LoneCr::Keep).unwrap(),
                    kept,
                    "{input:?} cut at {cuts:?} (lone CR kept)"
                );
            }
            // One byte at a time.
            let bytes: Vec<&[u8]> = input.chunks(1).collect();
            assert_eq!(stuff(&bytes, LoneCr::Keep).unwrap(), kept, "{input:?}");
        }
    }

    /// How a lenient server might split the data into lines: at CRLF, a lone CR or a lone LF.
    fn lenient_lines(data: &[u8]) -> Vec<&[u8]> {
        let mut lines = Vec::new();
        let mut from = 0;
        let mut i = 0;
        while i < data.len() {
            match data[i] {
                b'\r' if data.get(i + 1) == Some(&b'\n') => {
                    lines.push(&data[from..i]);
                    i += 2;
                    from = i;
                }
                b'\r' | b'\n' => {
                    lines.push(&data[from..i]);
                    i += 1;
                    from = i;
                }
                _ => i += 1,
            }
        }
        lines.push(&data[from..]);
        lines
    }

    #[test]
    fn no_input_ends_the_data_early_on_any_server() {
        // Every string of up to 6 bytes over the alphabet that makes the trouble.
        let alphabet = [b'.', b'\r', b'\n', b'a'];
        let mut inputs: Vec<Vec<u8>> = vec![vec![]];
        for _ in 0..6 {
            let mut next = Vec::new();
            for s in inputs
                .iter()
                .filter(|s| s.len() == inputs.last().unwrap().len())
            {
                for &c in &alphabet {
                    let mut t = s.clone();
                    t.push(c);
                    next.push(t);
                }
            }
            inputs.extend(next);
        }
        for input in &inputs {
            for lone_cr in [LoneCr::Refuse, LoneCr::Keep] {
                let Ok(out) = stuff(&[input], lone_cr) else {
                    assert!(lone_cr == LoneCr::Refuse && input.contains(&b'\r'));
                    continue;
                };
                assert!(out.ends_with(b"\r\n.\r\n") || out == b".\r\n", "{input:?}");
                let lines = lenient_lines(&out);
                // The closing "." and the empty rest after its CRLF.
                let (body, last) = lines.split_at(lines.len() - 2);
                assert_eq!(last, [&b"."[..], b""]);
                assert!(
                    body.iter().all(|l| *l != b"."),
                    "{input:?} -> {out:?} has an early end"
                );
                // Every line end sent is CRLF, with lone CRs refused.
                if lone_cr == LoneCr::Refuse {
                    let crs = out.iter().filter(|&&b| b == b'\r').count();
                    let lfs = out.iter().filter(|&&b| b == b'\n').count();
                    assert_eq!(crs, lfs, "{input:?}");
                    assert!(!out.windows(2).any(|w| w[0] != b'\r' && w[1] == b'\n'));
                }
            }
        }
        assert_eq!(inputs.len(), 5461);
    }

    #[test]
    fn lone_cr_errors_name_the_line() {
        let e = stuff(&[b"one\ntwo\rx"], LoneCr::Refuse)
            .unwrap_err()
            .error();
        assert_eq!(e.exit_code(), 65);
        assert!(!e.is_transient());
        assert!(e.to_string().starts_with("line 2: a lone CR"), "{e}");
        assert!(e.to_string().contains("at byte 7"), "{e}");
    }

    /// A writer that fails after `ok` bytes, recording writes and flushes.
    #[derive(Debug)]
    struct Sink {
        got: Vec<u8>,
        writes: usize,
        flushed: bool,
        fail_after: Option<usize>,
    }

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self
                .fail_after
                .is_some_and(|n| self.got.len() + buf.len() > n)
            {
                return Err(io::Error::from(io::ErrorKind::ConnectionReset));
            }
            self.writes += 1;
            self.got.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            self.flushed = true;
            Ok(())
        }
    }

    fn sink() -> Sink {
        Sink {
            got: Vec::new(),
            writes: 0,
            flushed: false,
            fail_after: None,
        }
    }

    #[test]
    fn dot_writer_streams_through_a_fixed_buffer() {
        for &(input, _, kept) in STUFF_CASES {
            let mut w = DotWriter::new(sink(), "mock:25", LoneCr::Keep);
            for b in input.chunks(1) {
                w.write(b).unwrap();
            }
            let s = w.finish().unwrap();
            assert_eq!(s.got, kept);
            assert!(s.flushed);
            // Small data goes in one write.
            assert_eq!(s.writes, 1);
        }
        // 1 MiB of dots and line feeds: written in pieces near the buffer size, never whole.
        let big: Vec<u8> = b".\n".iter().copied().cycle().take(1 << 20).collect();
        let mut w = DotWriter::new(sink(), "mock:25", LoneCr::Refuse);
        w.write(&big).unwrap();
        assert!(w.out.capacity() <= OUT_BUF + 2 * IN_CHUNK + 1);
        let s = w.finish().unwrap();
        assert_eq!(s.got.len(), (1 << 20) / 2 * 4 + 3);
        // Each 8 KiB of input is 16 KiB here, sent at once; then the closing line.
        assert_eq!(s.writes, 129);
        assert!(s.got.starts_with(b"..\r\n..\r\n"));
        // Small pieces are gathered into writes of 16 KiB or more.
        let text: Vec<u8> = b"abcdefghi\n"
            .iter()
            .copied()
            .cycle()
            .take(1 << 20)
            .collect();
        let mut w = DotWriter::new(sink(), "mock:25", LoneCr::Refuse);
        for piece in text.chunks(100) {
            w.write(piece).unwrap();
        }
        let s = w.finish().unwrap();
        // 104857 lines of 10 bytes gain a CR; "abcdef" is left, then CRLF and ".\r\n".
        assert_eq!(s.got.len(), (1 << 20) / 10 * 11 + 6 + 2 + 3);
        assert!(s.writes <= (s.got.len() >> 14) + 1, "{}", s.writes);
    }

    #[test]
    fn dot_writer_errors() {
        let mut w = DotWriter::new(sink(), "mock:25", LoneCr::Refuse);
        let e = w.write(b"a\rb").unwrap_err();
        assert_eq!(e.exit_code(), 65);
        // A lone CR at the very end is only known at the end.
        let mut w = DotWriter::new(sink(), "mock:25", LoneCr::Refuse);
        w.write(b"a\r").unwrap();
        assert_eq!(w.finish().unwrap_err().exit_code(), 65);
        // A broken connection: 74, transient, named.
        let mut w = DotWriter::new(
            Sink {
                fail_after: Some(10),
                ..sink()
            },
            "mock:25",
            LoneCr::Refuse,
        );
        w.write(b"0123456789abc").unwrap();
        let e = w.finish().unwrap_err();
        assert_eq!(e.exit_code(), 74);
        assert!(e.is_transient());
        assert!(e.to_string().starts_with("mock:25: connection lost"), "{e}");
    }

    /// A source that hands out its input in the given pieces, like reads from a socket.
    struct Pieces {
        parts: Vec<Vec<u8>>,
        idx: usize,
        pos: usize,
    }

    impl Pieces {
        fn new(parts: &[&[u8]]) -> Self {
            Pieces {
                parts: parts.iter().map(|p| p.to_vec()).collect(),
                idx: 0,
                pos: 0,
            }
        }
        fn rest(&self) -> Vec<u8> {
            let mut r = self.parts[self.idx.min(self.parts.len())..].concat();
            r.drain(..self.pos.min(r.len()));
            r
        }
    }

    impl io::Read for Pieces {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            unreachable!("read through BufRead only")
        }
    }

    impl BufRead for Pieces {
        fn fill_buf(&mut self) -> io::Result<&[u8]> {
            while self.idx < self.parts.len() && self.pos == self.parts[self.idx].len() {
                self.idx += 1;
                self.pos = 0;
            }
            match self.parts.get(self.idx) {
                Some(p) => Ok(&p[self.pos..]),
                None => Ok(&[]),
            }
        }
        fn consume(&mut self, n: usize) {
            self.pos += n;
        }
    }

    /// (wire bytes, data, what is left for the next reply); `None`: cut off (74).
    type UnstuffCase = (&'static [u8], Option<&'static [u8]>, &'static [u8]);

    const UNSTUFF_CASES: &[UnstuffCase] = &[
        (b".\r\n", Some(b""), b""),
        (b".\r\n+OK next\r\n", Some(b""), b"+OK next\r\n"),
        (b"a\r\n.\r\n", Some(b"a\r\n"), b""),
        (b"a\r\n.\r\n.\r\n", Some(b"a\r\n"), b".\r\n"),
        (b"..\r\n.\r\n", Some(b".\r\n"), b""),
        (b"...\r\n.\r\nX", Some(b"..\r\n"), b"X"),
        (b".a\r\n.\r\n", Some(b"a\r\n"), b""),
        (b"a\r\n..b\r\n.\r\n", Some(b"a\r\n.b\r\n"), b""),
        // A bare LF does not end a line: the "." after it is data, not the end.
        (b"a\n.\r\nb\r\n.\r\n", Some(b"a\n.\r\nb\r\n"), b""),
        (b"\n.\n\r\n.\r\n", Some(b"\n.\n\r\n"), b""),
        // A "." line ended by a bare LF: the dot goes (RFC 1939), it is not the end.
        (b".\n\r\n.\r\n", Some(b"\n\r\n"), b""),
        (b".\rx\r\n.\r\n", Some(b"\rx\r\n"), b""),
        (b".\r\r\n.\r\n", Some(b"\r\r\n"), b""),
        (b"\r.\r\n.\r\n", Some(b"\r.\r\n"), b""),
        (b"a\rb\r\r\n.\r\n", Some(b"a\rb\r\r\n"), b""),
        (b"\r\n\r\n.\r\n", Some(b"\r\n\r\n"), b""),
        (b"\x00\xff\r\n.\r\n\xfe", Some(b"\x00\xff\r\n"), b"\xfe"),
        // Cut off: never an end.
        (b"", None, b""),
        (b"a\r\n", None, b""),
        (b"a\r\n.", None, b""),
        (b"a\r\n.\r", None, b""),
        (b"a\r\n.\n", None, b""),
        (b"a\r\n..\r\n", None, b""),
        (b"a\n.\r\n", None, b""),
    ];

    #[test]
    fn unstuffing_at_every_split_and_output_size() {
        for &(wire, data, left) in UNSTUFF_CASES {
            for cuts in splits(wire.len()) {
                for out_size in [1, 2, 3, 4096] {
                    let mut r = DotReader::new(Pieces::new(&pieces(wire, &cuts)), "mock:110");
                    let mut got = Vec::new();
                    let mut buf = vec![0u8; out_size];
                    let outcome = loop {
                        match r.read(&mut buf) {
                            Ok(0) => break Ok(()),
                            Ok(n) => got.extend_from_slice(&buf[..n]),
                            Err(e) => break Err(e),
                        }
                    };
                    let ctx = format!("{wire:?} cut at {cuts:?}, reading {out_size}");
                    match data {
                        Some(d) => {
                            outcome.unwrap();
                            assert_eq!(got, d, "{ctx}");
                            assert!(r.is_done());
                            assert_eq!(r.read(&mut buf).unwrap(), 0, "{ctx}");
                            assert_eq!(r.wire_bytes() as usize, wire.len() - left.len());
                            assert_eq!(r.into_inner().rest(), left, "{ctx}");
                        }
                        None => {
                            let e = outcome.unwrap_err();
                            assert_eq!(e.exit_code(), 74, "{ctx}: {e}");
                            assert!(e.is_transient());
                            assert!(e.to_string().contains("before the end of the data"));
                            assert!(!r.is_done());
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn lines_at_every_split() {
        let wire = b"+x\r\n1 120\r\n..2 a\rb\r\n\r\n.\r\n+OK";
        let want: [&[u8]; 4] = [b"+x", b"1 120", b".2 a\rb", b""];
        for cuts in splits(wire.len()) {
            let mut r = DotReader::new(Pieces::new(&pieces(wire, &cuts)), "mock:110");
            let mut got = Vec::new();
            while let Some(l) = r.next_line().unwrap() {
                got.push(l.to_vec());
            }
            assert_eq!(got, want, "cut at {cuts:?}");
            assert!(r.next_line().unwrap().is_none());
            assert_eq!(r.into_inner().rest(), b"+OK");
        }
        // An empty listing.
        let mut r = DotReader::new(&b".\r\n"[..], "h");
        assert!(r.next_line().unwrap().is_none());
        // Cut off.
        let mut r = DotReader::new(&b"1 2\r\n3"[..], "h");
        assert_eq!(r.next_line().unwrap().unwrap(), b"1 2");
        assert_eq!(r.next_line().unwrap_err().exit_code(), 74);
    }

    #[test]
    fn listing_lines_are_bounded_bodies_are_not() {
        let mut exact = vec![b'x'; MAX_LINE];
        exact.extend_from_slice(b"\r\n.\r\n");
        let mut r = DotReader::new(&exact[..], "h");
        assert_eq!(r.next_line().unwrap().unwrap().len(), MAX_LINE);
        assert!(r.next_line().unwrap().is_none());

        let mut long = vec![b'x'; MAX_LINE + 1];
        long.extend_from_slice(b"\r\n.\r\n");
        let mut r = DotReader::new(&long[..], "h");
        let e = r.next_line().unwrap_err();
        assert_eq!(e.exit_code(), 76);
        assert!(e.to_string().contains("longer than 8 KiB"), "{e}");
        assert!(r.line.capacity() <= MAX_LINE + 3);

        // A 3 MiB line streams through a 4 KiB buffer: nothing holds it.
        let mut huge = vec![b'y'; 3 << 20];
        huge.extend_from_slice(b"\r\n.\r\n");
        let mut r = DotReader::new(&huge[..], "h");
        let mut buf = [0u8; 4096];
        let mut total = 0;
        loop {
            match r.read(&mut buf).unwrap() {
                0 => break,
                n => total += n,
            }
        }
        assert_eq!(total, (3 << 20) + 2);
        assert_eq!(r.line.capacity(), 0);
    }

    #[test]
    fn a_limit_bounds_the_whole_data() {
        let wire = b"abc\r\n.\r\n";
        let mut buf = [0u8; 64];
        let mut r = DotReader::new(&wire[..], "h").limit(wire.len() as u64);
        assert_eq!(r.read(&mut buf).unwrap(), 5);
        assert_eq!(r.read(&mut buf).unwrap(), 0);
        let mut r = DotReader::new(&wire[..], "h").limit(wire.len() as u64 - 1);
        let e = read_to_error(|b| r.read(b), 64);
        assert_eq!(e.exit_code(), 76);
        assert!(e.to_string().contains("more than 7 bytes"), "{e}");
        assert_eq!(r.read(&mut [][..]).unwrap(), 0);
    }

    /// A source that is interrupted before every piece it hands out.
    struct Interrupting {
        inner: Pieces,
        ready: bool,
    }

    impl io::Read for Interrupting {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            unreachable!("read through BufRead only")
        }
    }

    impl BufRead for Interrupting {
        fn fill_buf(&mut self) -> io::Result<&[u8]> {
            if !self.ready {
                self.ready = true;
                return Err(io::ErrorKind::Interrupted.into());
            }
            self.inner.fill_buf()
        }
        fn consume(&mut self, n: usize) {
            self.ready = false;
            self.inner.consume(n);
        }
    }

    #[test]
    fn interrupted_reads_are_retried() {
        let wire: &[u8] = b"a\r\n..b\r\n.\r\n";
        let interrupting = || Interrupting {
            inner: Pieces::new(&wire.chunks(2).collect::<Vec<_>>()),
            ready: false,
        };
        let mut r = DotReader::new(interrupting(), "h");
        assert_eq!(read_to_end(|b| r.read(b), 3).unwrap(), b"a\r\n.b\r\n");
        let mut r = DotReader::new(interrupting(), "h");
        assert_eq!(r.next_line().unwrap().unwrap(), b"a");
        assert_eq!(r.next_line().unwrap().unwrap(), b".b");
        assert!(r.next_line().unwrap().is_none());
    }

    #[test]
    fn source_errors_are_network_errors() {
        struct Failing(io::ErrorKind);
        impl io::Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(self.0.into())
            }
        }
        impl BufRead for Failing {
            fn fill_buf(&mut self) -> io::Result<&[u8]> {
                Err(self.0.into())
            }
            fn consume(&mut self, _: usize) {}
        }
        let mut buf = [0u8; 8];
        let e = DotReader::new(Failing(io::ErrorKind::TimedOut), "h")
            .read(&mut buf)
            .unwrap_err();
        assert_eq!(e.exit_code(), 75);
        let e = DotReader::new(Failing(io::ErrorKind::ConnectionReset), "h")
            .next_line()
            .unwrap_err();
        assert_eq!(e.exit_code(), 74);
    }

    #[test]
    fn what_is_stuffed_unstuffs_to_itself() {
        // Inputs without lone CRs, over the troublesome alphabet, in every combination.
        let tokens: [&[u8]; 4] = [b".", b"a", b"\r\n", b"\n"];
        let mut inputs: Vec<Vec<u8>> = vec![vec![]];
        let mut frontier = inputs.clone();
        for _ in 0..5 {
            let mut next = Vec::new();
            for s in &frontier {
                for t in tokens {
                    let mut v = s.clone();
                    v.extend_from_slice(t);
                    next.push(v);
                }
            }
            inputs.extend(next.iter().cloned());
            frontier = next;
        }
        for input in inputs {
            let wire = stuff(&[&input], LoneCr::Refuse).unwrap();
            let mut r = DotReader::new(&wire[..], "h");
            let got = read_to_end(|b| r.read(b), 7).unwrap();
            // What the writer sends: CRLF line ends, a final line break.
            let mut want = Vec::new();
            for (i, &b) in input.iter().enumerate() {
                if b == b'\n' && (i == 0 || input[i - 1] != b'\r') {
                    want.push(b'\r');
                }
                want.push(b);
            }
            if !want.is_empty() && !want.ends_with(b"\r\n") {
                want.extend_from_slice(b"\r\n");
            }
            assert_eq!(got, want, "{input:?}");
        }
    }
}
