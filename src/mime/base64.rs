//! Streaming base64 (RFC 2045 6.8) at 76 columns: the input is read in chunks whose size is
//! a multiple of 57 bytes, so every chunk encodes to whole lines and no state crosses chunks.

use super::{CHUNK, Eol};
use crate::error::{Error, Kind, Result};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use std::io::Read;

/// Input bytes per output line: 57 bytes encode to exactly 76 characters.
pub const LINE_BYTES: usize = 57;
/// Characters per full output line.
pub const LINE_CHARS: usize = 76;

/// Encodes `input` into `out` as lines separated by `eol`, without a line break after the
/// last line. `first` says whether this is the first chunk of the part (no break before it).
/// Every chunk but the last must be a multiple of [`LINE_BYTES`] long.
pub fn encode_lines(input: &[u8], eol: Eol, first: bool, out: &mut Vec<u8>) -> Result<()> {
    let eol = eol.bytes();
    let lines = input.len().div_ceil(LINE_BYTES);
    let start = out.len();
    out.resize(start + lines * (LINE_CHARS + eol.len()), 0);
    let mut pos = start;
    for (i, line) in input.chunks(LINE_BYTES).enumerate() {
        if !first || i > 0 {
            out[pos..pos + eol.len()].copy_from_slice(eol);
            pos += eol.len();
        }
        pos += STANDARD
            .encode_slice(line, &mut out[pos..])
            .map_err(|e| Error::new(Kind::Software, format!("base64 encoder: {e}")))?;
    }
    out.truncate(pos);
    Ok(())
}

/// Reads until `buf` is full or the input ends; returns how many bytes were read.
pub fn read_full(src: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match src.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Streams `src` (named `name` in errors) through the encoder into `sink`, chunk by chunk.
pub fn encode_stream(
    src: &mut dyn Read,
    name: &str,
    eol: Eol,
    sink: &mut dyn FnMut(&[u8]) -> Result<()>,
) -> Result<u64> {
    let mut input = vec![0u8; CHUNK];
    let mut out = Vec::with_capacity(CHUNK / LINE_BYTES * (LINE_CHARS + 2));
    let mut first = true;
    let mut total = 0u64;
    loop {
        let n = read_full(src, &mut input).map_err(|e| Error::local_io(name, &e))?;
        if n == 0 {
            break;
        }
        total += n as u64;
        out.clear();
        encode_lines(&input[..n], eol, first, &mut out)?;
        first = false;
        sink(&out)?;
        if n < input.len() {
            break;
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out at most `step` bytes per call, like a pipe.
    struct Trickle<'a>(&'a [u8], usize);
    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.0.len().min(self.1).min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn reference(data: &[u8], eol: &str) -> Vec<u8> {
        let all = STANDARD.encode(data);
        let lines: Vec<&str> = all
            .as_bytes()
            .chunks(76)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        lines.join(eol).into_bytes()
    }

    #[test]
    fn matches_the_reference_for_every_length_around_chunk_edges() {
        let data: Vec<u8> = (0..CHUNK * 2 + 200)
            .map(|i| (i * 7 + i / 3) as u8)
            .collect();
        for len in [
            0,
            1,
            2,
            3,
            56,
            57,
            58,
            114,
            CHUNK - 1,
            CHUNK,
            CHUNK + 1,
            CHUNK * 2 + 200,
        ] {
            for step in [1, 1000, usize::MAX] {
                for (eol, s) in [(Eol::Lf, "\n"), (Eol::CrLf, "\r\n")] {
                    let mut got = Vec::new();
                    let n = encode_stream(&mut Trickle(&data[..len], step), "x", eol, &mut |b| {
                        got.extend_from_slice(b);
                        Ok(())
                    })
                    .unwrap();
                    assert_eq!(n, len as u64);
                    assert_eq!(got, reference(&data[..len], s), "len {len} step {step}");
                }
            }
        }
    }

    #[test]
    fn lines_are_76_columns_and_never_start_with_a_dash() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 131 % 251) as u8).collect();
        let mut out = Vec::new();
        encode_lines(&data, Eol::Lf, true, &mut out).unwrap();
        for line in out.split(|&b| b == b'\n') {
            assert!(line.len() <= 76);
            assert!(!line.starts_with(b"-"));
            assert!(!line.contains(&b'_'));
        }
    }
}
