//! CRLF to LF, for data that arrives in network line endings and is stored in local ones.

/// Converts CRLF to LF, streaming (a POP3 or IMAP message into a local store, FTP `TYPE A`
/// data into a local file): a CR is held until the next byte shows whether it ends
/// a line, so a CRLF split between two chunks is converted too. A lone CR is kept.
#[derive(Debug, Default, Clone)]
pub struct CrlfToLf {
    pending_cr: bool,
}

impl CrlfToLf {
    /// Converts `input`, appending to `out`.
    pub fn convert(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let mut rest = input;
        if self.pending_cr && !rest.is_empty() {
            self.pending_cr = false;
            if rest[0] != b'\n' {
                out.push(b'\r');
            }
        }
        while let Some(i) = rest.iter().position(|&b| b == b'\r') {
            out.extend_from_slice(&rest[..i]);
            match rest.get(i + 1) {
                Some(b'\n') => {
                    out.push(b'\n');
                    rest = &rest[i + 2..];
                }
                Some(_) => {
                    out.push(b'\r');
                    rest = &rest[i + 1..];
                }
                None => {
                    self.pending_cr = true;
                    rest = &[];
                }
            }
        }
        out.extend_from_slice(rest);
    }

    /// The end of the data: a CR held back was a lone one.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if std::mem::take(&mut self.pending_cr) {
            out.push(b'\r');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_becomes_lf_at_every_split_and_lone_crs_stay() {
        let cases: [(&[u8], &[u8]); 6] = [
            (b"a\r\nb\rc\r\r\n\r\n\n.\r", b"a\nb\rc\r\n\n\n.\r"),
            (b"a\r\nb\rc\r\r\n\n\r\nend\r", b"a\nb\rc\r\n\n\nend\r"),
            (b"\r\r\r\n", b"\r\r\n"),
            (b"\r\n\r\n", b"\n\n"),
            (b"", b""),
            (b"no newline", b"no newline"),
        ];
        for (input, want) in cases {
            // Every way of cutting it in three pieces (some empty).
            for i in 0..=input.len() {
                for j in i..=input.len() {
                    let mut c = CrlfToLf::default();
                    let mut got = Vec::new();
                    for piece in [&input[..i], &input[i..j], &input[j..]] {
                        c.convert(piece, &mut got);
                    }
                    c.finish(&mut got);
                    assert_eq!(got, want, "{input:?} cut at {i} and {j}");
                }
            }
        }
    }
}
