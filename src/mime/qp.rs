//! Quoted-printable encoder (RFC 2045 6.7) for text bodies, as an explicit state machine so
//! that input may arrive split anywhere (a CR in one chunk, its LF in the next).
//!
//! Line breaks in the input (LF or CRLF) become hard line breaks in the output's line ending;
//! a bare CR is data and is written `=0D`. Space and tab are literal unless they end a line
//! (rule 3), `=` and every byte outside 33..=126 are escaped, and output lines are at most
//! 76 characters including the `=` of a soft break.
//!
//! Output never contains `=_`: `=` only starts `=XX` with two upper-case hex digits or ends a
//! line as a soft break. Boundaries begin with `=_`, so they cannot occur in encoded text.

use super::Eol;

/// Longest run of characters before a soft break; the `=` makes it 76.
const MAX_TEXT: usize = 75;
const HEX: &[u8; 16] = b"0123456789ABCDEF";

#[derive(Debug)]
pub struct QpEncoder {
    eol: Eol,
    /// Characters on the current output line.
    col: usize,
    /// A space or tab not yet written: it must be escaped if a line break or the end follows.
    pending_ws: Option<u8>,
    /// A CR not yet written: a line break if LF follows, else data (`=0D`).
    pending_cr: bool,
}

impl QpEncoder {
    pub fn new(eol: Eol) -> Self {
        QpEncoder {
            eol,
            col: 0,
            pending_ws: None,
            pending_cr: false,
        }
    }

    /// Encodes `input`, appending to `out`. May hold back one space/tab and one CR.
    pub fn encode(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let mut i = 0;
        while i < input.len() {
            // Fast path: a run of literal characters with nothing held back is copied in
            // slices, breaking softly where the line is full (what `token` would do).
            if !self.pending_cr && self.pending_ws.is_none() {
                let run = input[i..]
                    .iter()
                    .take_while(|&&b| matches!(b, 33..=60 | 62..=126))
                    .count();
                let mut rest = &input[i..i + run];
                while !rest.is_empty() {
                    if self.col >= MAX_TEXT {
                        out.push(b'=');
                        out.extend_from_slice(self.eol.bytes());
                        self.col = 0;
                    }
                    let n = (MAX_TEXT - self.col).min(rest.len());
                    out.extend_from_slice(&rest[..n]);
                    self.col += n;
                    rest = &rest[n..];
                }
                i += run;
                if i == input.len() {
                    break;
                }
            }
            let b = input[i];
            i += 1;
            if self.pending_cr {
                self.pending_cr = false;
                if b == b'\n' {
                    self.flush_ws(true, out);
                    self.hard_break(out);
                    continue;
                }
                self.flush_ws(false, out);
                self.escaped(b'\r', out);
            }
            match b {
                b'\r' => self.pending_cr = true,
                b'\n' => {
                    self.flush_ws(true, out);
                    self.hard_break(out);
                }
                b' ' | b'\t' => {
                    self.flush_ws(false, out);
                    self.pending_ws = Some(b);
                }
                33..=60 | 62..=126 => {
                    self.flush_ws(false, out);
                    self.token(&[b], out);
                }
                _ => {
                    self.flush_ws(false, out);
                    self.escaped(b, out);
                }
            }
        }
    }

    /// Writes what was held back; the end of input ends the last line (no break is added).
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if self.pending_cr {
            self.pending_cr = false;
            self.flush_ws(false, out);
            self.escaped(b'\r', out);
        }
        self.flush_ws(true, out);
    }

    fn flush_ws(&mut self, at_line_end: bool, out: &mut Vec<u8>) {
        if let Some(ws) = self.pending_ws.take() {
            if at_line_end {
                self.escaped(ws, out);
            } else {
                self.token(&[ws], out);
            }
        }
    }

    fn escaped(&mut self, b: u8, out: &mut Vec<u8>) {
        self.token(&[b'=', HEX[(b >> 4) as usize], HEX[(b & 15) as usize]], out);
    }

    fn token(&mut self, tok: &[u8], out: &mut Vec<u8>) {
        if self.col + tok.len() > MAX_TEXT {
            out.push(b'=');
            out.extend_from_slice(self.eol.bytes());
            self.col = 0;
        }
        out.extend_from_slice(tok);
        self.col += tok.len();
    }

    fn hard_break(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.eol.bytes());
        self.col = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode_split(input: &[u8], splits: &[usize], eol: Eol) -> Vec<u8> {
        let mut enc = QpEncoder::new(eol);
        let mut out = Vec::new();
        let mut last = 0;
        for &s in splits {
            enc.encode(&input[last..s], &mut out);
            last = s;
        }
        enc.encode(&input[last..], &mut out);
        enc.finish(&mut out);
        out
    }

    /// An independent decoder: hard breaks become `\n`, soft breaks vanish.
    fn decode(enc: &[u8]) -> Vec<u8> {
        let text = std::str::from_utf8(enc).expect("QP output is ASCII");
        let mut out = Vec::new();
        let lines: Vec<&str> = text.split('\n').collect();
        for (i, line) in lines.iter().enumerate() {
            let line = line.strip_suffix('\r').unwrap_or(line);
            let (body, soft) = match line.strip_suffix('=') {
                Some(b) => (b, true),
                None => (line, false),
            };
            let b = body.as_bytes();
            let mut j = 0;
            while j < b.len() {
                if b[j] == b'=' {
                    out.push(u8::from_str_radix(&body[j + 1..j + 3], 16).unwrap());
                    j += 3;
                } else {
                    out.push(b[j]);
                    j += 1;
                }
            }
            if !soft && i + 1 < lines.len() {
                out.push(b'\n');
            }
        }
        out
    }

    fn check_shape(enc: &[u8]) {
        for line in enc.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            assert!(
                line.len() <= 76,
                "long line {:?}",
                String::from_utf8_lossy(line)
            );
            assert!(!line.ends_with(b" ") && !line.ends_with(b"\t"));
            assert!(line.iter().all(|&b| b == b'\t' || (32..127).contains(&b)));
        }
        assert!(!enc.windows(2).any(|w| w == b"=_"));
    }

    const SAMPLES: &[&[u8]] = &[
        b"",
        b"hello",
        b"a \nb\t\r\nc \r",
        b"caf\xc3\xa9 = 3 \xe2\x9c\x94\n",
        b"trailing space   ",
        b"\r\r\n\r x\r",
        b"=_=_ --=_boundary\n",
        b"a line that is very long and goes on and on past the seventy-six column limit of QP, with = signs and caf\xc3\xa9",
    ];

    #[test]
    fn every_split_gives_the_same_output() {
        for &s in SAMPLES {
            let whole = encode_split(s, &[], Eol::Lf);
            for i in 0..=s.len() {
                for j in i..=s.len() {
                    assert_eq!(
                        encode_split(s, &[i, j], Eol::Lf),
                        whole,
                        "{s:?} split {i},{j}"
                    );
                }
            }
        }
    }

    #[test]
    fn round_trips_with_line_breaks_normalised() {
        for &s in SAMPLES {
            for eol in [Eol::Lf, Eol::CrLf] {
                let enc = encode_split(s, &[], eol);
                check_shape(&enc);
                let expect: Vec<u8> = String::from_utf8_lossy(s)
                    .replace("\r\n", "\n")
                    .into_bytes();
                let expect = if std::str::from_utf8(s).is_ok() {
                    expect
                } else {
                    continue;
                };
                assert_eq!(decode(&enc), expect, "{s:?}");
            }
        }
    }

    /// A second, whole-input encoder written from RFC 2045 6.7 line by line, to hold the
    /// streaming one (and its fast path) to.
    fn reference(input: &[u8], eol: Eol) -> Vec<u8> {
        let pieces: Vec<&[u8]> = input.split(|&b| b == b'\n').collect();
        let mut out = Vec::new();
        for (n, piece) in pieces.iter().enumerate() {
            let line = match piece.strip_suffix(b"\r") {
                Some(l) if n + 1 < pieces.len() => l,
                _ => piece,
            };
            if n > 0 {
                out.extend_from_slice(eol.bytes());
            }
            let mut col = 0;
            for (k, &b) in line.iter().enumerate() {
                let literal = matches!(b, 33..=60 | 62..=126)
                    || (matches!(b, b' ' | b'\t') && k + 1 < line.len());
                let tok = if literal {
                    vec![b]
                } else {
                    format!("={b:02X}").into_bytes()
                };
                if col + tok.len() > 75 {
                    out.push(b'=');
                    out.extend_from_slice(eol.bytes());
                    col = 0;
                }
                col += tok.len();
                out.extend_from_slice(&tok);
            }
        }
        out
    }

    /// `len` bytes from the xorshift generator `seed`: each one of the `favoured` (the
    /// interesting bytes) or, one time in eight, any byte.
    fn noise(seed: &mut u64, len: usize, favoured: [u8; 7]) -> Vec<u8> {
        (0..len)
            .map(|_| {
                *seed ^= *seed << 13;
                *seed ^= *seed >> 7;
                *seed ^= *seed << 17;
                let any = (*seed >> 8) as u8;
                *favoured.get((*seed % 8) as usize).unwrap_or(&any)
            })
            .collect()
    }

    #[test]
    fn agrees_with_the_reference_encoder() {
        let mut all: Vec<Vec<u8>> = SAMPLES.iter().map(|s| s.to_vec()).collect();
        let mut seed = 0x9E3779B97F4A7C15u64;
        for _ in 0..200 {
            let len = (seed % 400) as usize;
            all.push(noise(&mut seed, len, *b" \r\n=xyz"));
        }
        for s in &all {
            for eol in [Eol::Lf, Eol::CrLf] {
                assert_eq!(encode_split(s, &[], eol), reference(s, eol), "{s:?}");
                let mut one = QpEncoder::new(eol);
                let mut out = Vec::new();
                for b in s {
                    one.encode(std::slice::from_ref(b), &mut out);
                }
                one.finish(&mut out);
                assert_eq!(out, reference(s, eol));
            }
        }
    }

    #[test]
    fn known_encodings() {
        assert_eq!(encode_split(b"a b \n", &[], Eol::Lf), b"a b=20\n");
        assert_eq!(encode_split(b"x=1\r", &[], Eol::Lf), b"x=3D1=0D");
        assert_eq!(encode_split(b"\xff\t", &[], Eol::CrLf), b"=FF=09");
        let long = vec![b'a'; 80];
        assert_eq!(
            encode_split(&long, &[], Eol::Lf),
            [&[b'a'; 75][..], b"=\naaaaa"].concat()
        );
    }

    #[test]
    fn never_panics_and_keeps_its_shape_on_arbitrary_bytes() {
        let mut seed = 0x2545F4914F6CDD1Du64;
        for _ in 0..300 {
            let len = (seed % 300) as usize;
            let data = noise(&mut seed, len, *b" \t\r\n=_a");
            let enc = encode_split(&data, &[len / 3, len / 2], Eol::CrLf);
            check_shape(&enc);
            assert_eq!(enc, encode_split(&data, &[], Eol::CrLf));
        }
    }
}
