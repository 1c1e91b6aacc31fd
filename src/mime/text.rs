//! The 7bit writer: copies a body that the scan found to be 7bit-safe, turning its line
//! breaks (LF or CRLF) into the output's line ending. It checks again what it copies, so a
//! file that changed after the scan cannot produce a part that breaks its own encoding.

use super::Eol;
use super::scan::{Changed, MAX_7BIT_LINE};

#[derive(Debug)]
pub struct SevenBit {
    eol: Eol,
    pending_cr: bool,
    line: u64,
}

impl SevenBit {
    pub fn new(eol: Eol) -> Self {
        SevenBit {
            eol,
            pending_cr: false,
            line: 0,
        }
    }

    pub fn encode(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), Changed> {
        for &b in input {
            if self.pending_cr {
                self.pending_cr = false;
                if b != b'\n' {
                    return Err(Changed);
                }
            }
            match b {
                b'\r' => self.pending_cr = true,
                b'\n' => {
                    out.extend_from_slice(self.eol.bytes());
                    self.line = 0;
                }
                0 | 0x80..=0xff => return Err(Changed),
                _ => {
                    self.line += 1;
                    if self.line > MAX_7BIT_LINE {
                        return Err(Changed);
                    }
                    out.push(b);
                }
            }
        }
        Ok(())
    }

    pub fn finish(&mut self) -> Result<(), Changed> {
        if self.pending_cr {
            Err(Changed)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_line_breaks_across_every_split() {
        let input = b"a\r\nb\nc\r\n";
        for i in 0..=input.len() {
            let mut w = SevenBit::new(Eol::CrLf);
            let mut out = Vec::new();
            w.encode(&input[..i], &mut out).unwrap();
            w.encode(&input[i..], &mut out).unwrap();
            w.finish().unwrap();
            assert_eq!(out, b"a\r\nb\r\nc\r\n");
        }
        let mut out = Vec::new();
        SevenBit::new(Eol::Lf).encode(input, &mut out).unwrap();
        assert_eq!(out, b"a\nb\nc\n");
    }

    #[test]
    fn refuses_what_7bit_cannot_carry() {
        for bad in [&b"a\rb"[..], b"\xc3\xa9", b"\0"] {
            assert_eq!(
                SevenBit::new(Eol::Lf).encode(bad, &mut Vec::new()),
                Err(Changed)
            );
        }
        let mut w = SevenBit::new(Eol::Lf);
        w.encode(b"x\r", &mut Vec::new()).unwrap();
        assert_eq!(w.finish(), Err(Changed));
        assert!(
            SevenBit::new(Eol::Lf)
                .encode(&[b'x'; 999], &mut Vec::new())
                .is_err()
        );
    }
}
