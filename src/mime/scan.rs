//! One pass over a text body that decides its charset and transfer encoding (RFC 2045 2.7,
//! 6.1): a state machine fed chunk by chunk, so a CR/LF pair or a UTF-8 sequence may be
//! split across reads.

use super::boundary::Finder;

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

impl TextStats {
    /// Whether the text can go as it is, without a transfer encoding (7bit when ASCII, 8bit
    /// otherwise, RFC 2045 2.7 and 2.8): no line over 998 octets, no NUL, no CR outside CRLF.
    pub fn fits_unencoded(&self) -> bool {
        !self.nul && !self.bare_cr && self.max_line <= MAX_7BIT_LINE
    }
}

#[derive(Clone, Debug)]
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

/// The content no longer matches what its scan found: it was changed while being read.
#[derive(Debug, PartialEq, Eq)]
pub struct Changed;

/// The send pass's check that an input is still what its scan found, so that the headers
/// chosen from the scan (charset, transfer encoding, boundaries) describe what is sent. Fed
/// each chunk before it is written: every finding only grows as input arrives (length, 8-bit
/// bytes, longest line) or only turns on (NUL, bare CR, not UTF-8, a boundary), so input past
/// the scanned length or beyond any finding is refused before it goes out, and the end must
/// match exactly.
#[derive(Debug)]
pub struct Recheck {
    want: TextStats,
    scanner: Scanner,
    /// The boundaries the scan searched for and did not find.
    absent: Finder,
}

impl Recheck {
    pub fn new(want: TextStats, absent: &[String]) -> Self {
        Recheck {
            want,
            scanner: Scanner::new(),
            absent: Finder::new(absent),
        }
    }

    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), Changed> {
        self.scanner.feed(chunk);
        self.absent.feed(chunk);
        if self.absent.found() {
            return Err(Changed);
        }
        let (s, w) = (&self.scanner.stats, &self.want);
        let fits = s.len <= w.len
            && s.non_ascii <= w.non_ascii
            && s.max_line.max(self.scanner.line) <= w.max_line
            && (w.nul || !s.nul)
            && (w.bare_cr || !s.bare_cr)
            && (s.utf8 || !w.utf8);
        if fits { Ok(()) } else { Err(Changed) }
    }

    /// At the end of the input: it must have been exactly what the scan found.
    pub fn finish(&self) -> Result<(), Changed> {
        if self.scanner.clone().finish() == self.want {
            Ok(())
        } else {
            Err(Changed)
        }
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
    let encoding = if ascii && stats.fits_unencoded() {
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

    fn recheck(want: &[u8], got: &[u8], at: usize) -> Result<(), Changed> {
        let mut r = Recheck::new(scan_split(want, 0), &[]);
        r.feed(&got[..at])?;
        r.feed(&got[at..])?;
        r.finish()
    }

    #[test]
    fn recheck_accepts_the_same_findings_and_refuses_any_other() {
        let base: &[u8] = "plain line\r\ncaf\u{e9} \u{2714}\nlast".as_bytes();
        let same_findings: &[u8] = "plain lime\r\ncaf\u{e8} \u{2716}\nlast".as_bytes();
        let changed: &[&[u8]] = &[
            &base[..base.len() - 1],                             // shorter
            &[base, b"!"].concat(),                              // longer
            &[&base[..5], b"\xff", &base[6..]].concat(),         // an 8-bit byte more, not UTF-8
            &[&base[..5], b"\0", &base[6..]].concat(),           // a NUL
            &[&base[..5], b"\r", &base[6..]].concat(),           // a bare CR
            &[&base[..10], b"xx", &base[12..]].concat(),         // a longer line
            &[&base[..13], b"af\xe9\xe9", &base[17..]].concat(), // not UTF-8
        ];
        for at in 0..=base.len() {
            assert_eq!(recheck(base, base, at), Ok(()), "at {at}");
            assert_eq!(recheck(base, same_findings, at), Ok(()), "at {at}");
        }
        for (i, c) in changed.iter().enumerate() {
            for at in 0..=c.len() {
                assert_eq!(recheck(base, c, at), Err(Changed), "case {i} at {at}");
            }
        }
        // Input past the scanned length is refused by feed, before it could be written.
        let mut r = Recheck::new(scan_split(b"abc", 0), &[]);
        assert_eq!(r.feed(b"abcd"), Err(Changed));
        let mut r = Recheck::new(scan_split(b"ab\nc", 0), &[]);
        assert_eq!(r.feed(b"abc"), Err(Changed)); // a line longer than any the scan saw
        // A boundary the scan did not find, now there with the same findings otherwise.
        let b = ["=_B".to_string()];
        let mut r = Recheck::new(scan_split(b"x\n--=_A\n", 0), &b);
        r.feed(b"x\n--=").unwrap();
        assert_eq!(r.feed(b"_B\n"), Err(Changed));
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
