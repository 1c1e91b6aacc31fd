//! One pass over a text body that decides its charset and transfer encoding (RFC 2045 2.7,
//! 6.1): a state machine fed chunk by chunk, so a CR/LF pair or a UTF-8 sequence may be
//! split across reads.

/// What the scan found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TextStats {
    pub len: u64,
    /// Bytes >= 0x80.
    pub non_ascii: u64,
    /// A NUL byte (never allowed in 7bit).
    pub nul: bool,
    /// A CR not followed by LF (7bit allows CR only in CRLF).
    pub bare_cr: bool,
    /// The longest line, in bytes, without its line break.
    pub max_line: u64,
    /// The whole input is valid UTF-8.
    pub utf8: bool,
}

/// RFC 5322 2.1.1: a line is at most 998 characters, excluding CRLF.
pub const MAX_7BIT_LINE: u64 = 998;

#[derive(Debug)]
pub struct Scanner {
    stats: TextStats,
    line: u64,
    pending_cr: bool,
    /// An incomplete UTF-8 sequence at the end of the last chunk.
    partial: Vec<u8>,
}

impl Default for Scanner {
    fn default() -> Self {
        Self::new()
    }
}

impl Scanner {
    pub fn new() -> Self {
        Scanner {
            stats: TextStats {
                utf8: true,
                ..TextStats::default()
            },
            line: 0,
            pending_cr: false,
            partial: Vec::new(),
        }
    }

    pub fn feed(&mut self, chunk: &[u8]) {
        let s = &mut self.stats;
        s.len += chunk.len() as u64;
        for &b in chunk {
            if self.pending_cr {
                self.pending_cr = false;
                if b != b'\n' {
                    s.bare_cr = true;
                }
            }
            match b {
                b'\n' => {
                    s.max_line = s.max_line.max(self.line);
                    self.line = 0;
                }
                b'\r' => self.pending_cr = true,
                _ => {
                    self.line += 1;
                    if b == 0 {
                        s.nul = true;
                    } else if b >= 0x80 {
                        s.non_ascii += 1;
                    }
                }
            }
        }
        if self.stats.utf8 {
            self.feed_utf8(chunk);
        }
    }

    fn feed_utf8(&mut self, mut chunk: &[u8]) {
        if !self.partial.is_empty() {
            // Complete the sequence held over from the last chunk, one byte at a time.
            while !chunk.is_empty() {
                self.partial.push(chunk[0]);
                chunk = &chunk[1..];
                match std::str::from_utf8(&self.partial) {
                    Ok(_) => break,
                    Err(e) if e.error_len().is_some() => {
                        self.stats.utf8 = false;
                        return;
                    }
                    Err(_) => {}
                }
            }
            if std::str::from_utf8(&self.partial).is_err() {
                return; // still incomplete, and the chunk is used up
            }
            self.partial.clear();
        }
        if let Err(e) = std::str::from_utf8(chunk) {
            if e.error_len().is_some() {
                self.stats.utf8 = false;
            } else {
                self.partial.extend_from_slice(&chunk[e.valid_up_to()..]);
            }
        }
    }

    pub fn finish(mut self) -> TextStats {
        if self.pending_cr {
            self.stats.bare_cr = true;
        }
        if !self.partial.is_empty() {
            self.stats.utf8 = false;
        }
        self.stats.max_line = self.stats.max_line.max(self.line);
        self.stats
    }
}

/// How a body is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    SevenBit,
    QuotedPrintable,
    Base64,
}

impl Encoding {
    pub fn name(self) -> &'static str {
        match self {
            Encoding::SevenBit => "7bit",
            Encoding::QuotedPrintable => "quoted-printable",
            Encoding::Base64 => "base64",
        }
    }
}

/// The Content-Type and transfer encoding chosen for a text body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextChoice {
    /// `text/plain`, `text/html`, or `application/octet-stream` for text that is not UTF-8
    /// when no charset was given.
    pub media_type: String,
    pub charset: Option<String>,
    pub encoding: Encoding,
}

/// Chooses from the content: 7bit for ASCII with lines of at most 998 bytes and no NUL or
/// bare CR; quoted-printable when at most one byte in six is 8-bit (QP triples those bytes,
/// base64 grows everything by a third, so QP is the smaller below that share) or when only
/// the line length or control bytes rule out 7bit; base64 otherwise.
/// `charset` (from `--charset`) is declared as given; without it, ASCII is `us-ascii`,
/// UTF-8 is `utf-8`, and anything else is sent as application/octet-stream in base64.
pub fn choose(stats: &TextStats, media_type: &str, charset: Option<&str>) -> TextChoice {
    let ascii = stats.non_ascii == 0;
    let charset = match charset {
        Some(c) => Some(c.to_string()),
        None if ascii => Some("us-ascii".to_string()),
        None if stats.utf8 => Some("utf-8".to_string()),
        None => None,
    };
    let Some(charset) = charset else {
        return TextChoice {
            media_type: "application/octet-stream".into(),
            charset: None,
            encoding: Encoding::Base64,
        };
    };
    let encoding = if ascii && !stats.nul && !stats.bare_cr && stats.max_line <= MAX_7BIT_LINE {
        Encoding::SevenBit
    } else if stats.non_ascii.saturating_mul(6) <= stats.len {
        Encoding::QuotedPrintable
    } else {
        Encoding::Base64
    };
    TextChoice {
        media_type: media_type.to_string(),
        charset: Some(charset),
        encoding,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_split(data: &[u8], at: usize) -> TextStats {
        let mut s = Scanner::new();
        s.feed(&data[..at]);
        s.feed(&data[at..]);
        s.finish()
    }

    #[test]
    fn every_split_gives_the_same_stats() {
        let samples: &[&[u8]] = &[
            b"",
            b"plain\r\ntext\n",
            b"caf\xc3\xa9 \xe2\x9c\x94 \xf0\x9f\x98\x80\r",
            b"bad \xc3\x28 utf8",
            b"cut \xe2\x9c",
            b"\0\r\r\n",
        ];
        for &d in samples {
            let whole = scan_split(d, 0);
            for i in 0..=d.len() {
                let mut one = Scanner::new();
                for b in d {
                    one.feed(std::slice::from_ref(b));
                }
                assert_eq!(scan_split(d, i), whole, "{d:?} at {i}");
                assert_eq!(one.finish(), whole);
            }
        }
    }

    #[test]
    fn stats_and_choices() {
        let s = scan_split(b"hello\r\nworld\n", 3);
        assert_eq!(
            (s.max_line, s.bare_cr, s.utf8, s.non_ascii),
            (5, false, true, 0)
        );
        assert_eq!(choose(&s, "text/plain", None).encoding, Encoding::SevenBit);
        let s = scan_split(
            "Grüße aus Köln: the build passed, logs attached.\n".as_bytes(),
            3,
        );
        let c = choose(&s, "text/plain", None);
        assert_eq!(
            (c.charset.as_deref(), c.encoding),
            (Some("utf-8"), Encoding::QuotedPrintable)
        );
        let s = scan_split("Привет мир".as_bytes(), 3);
        assert_eq!(choose(&s, "text/plain", None).encoding, Encoding::Base64);
        let s = scan_split(b"caf\xe9", 1);
        let c = choose(&s, "text/plain", None);
        assert_eq!(
            (c.media_type.as_str(), c.charset),
            ("application/octet-stream", None)
        );
        let c = choose(&s, "text/plain", Some("iso-8859-1"));
        assert_eq!(
            (c.media_type.as_str(), c.encoding),
            ("text/plain", Encoding::Base64)
        );
        let long = vec![b'x'; 999];
        assert_eq!(
            choose(&scan_split(&long, 500), "text/plain", None).encoding,
            Encoding::QuotedPrintable
        );
        assert!(scan_split(b"a\rb", 1).bare_cr);
        assert!(scan_split(b"a\r", 1).bare_cr);
    }
}
