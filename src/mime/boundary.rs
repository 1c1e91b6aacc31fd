//! Multipart boundaries (RFC 2046 5.1.1): random, and checked against what is written.
//!
//! Every boundary starts with `=_`. Base64 output has neither `=` followed by `_` nor `_` at
//! all, and quoted-printable output only has `=` before two hex digits or a line break
//! (see [`super::qp`]), so no encoded body can contain a boundary: that is safe by
//! construction. 7bit bodies and part headers can contain anything, so they are searched
//! with [`Finder`], and the boundaries drawn again on a hit.

use crate::error::{Error, Kind, Result};

pub const PREFIX: &str = "=_posthaste_";
const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// A fresh boundary: the prefix and 24 random alphanumerics (~143 bits), 36 characters.
pub fn random() -> Result<String> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::new(Kind::Software, format!("cannot get random bytes: {e}")))?;
    let mut s = String::from(PREFIX);
    // 256 = 4 * 62 + 8: the slight bias toward the first letters does not matter here.
    s.extend(bytes.iter().map(|&b| ALPHABET[(b % 62) as usize] as char));
    Ok(s)
}

/// Searches a stream, fed in chunks, for any of several strings; matches across chunks.
#[derive(Debug)]
pub struct Finder {
    needles: Vec<Vec<u8>>,
    /// The last bytes of the stream so far, enough to finish any match that a chunk cuts.
    tail: Vec<u8>,
    found: bool,
}

impl Finder {
    pub fn new(needles: &[String]) -> Self {
        Finder {
            needles: needles.iter().map(|n| n.as_bytes().to_vec()).collect(),
            tail: Vec::new(),
            found: false,
        }
    }

    pub fn feed(&mut self, chunk: &[u8]) {
        if self.found || self.needles.is_empty() {
            return;
        }
        let keep = self
            .needles
            .iter()
            .map(Vec::len)
            .max()
            .unwrap_or(1)
            .saturating_sub(1);
        // The seam: the old tail plus the start of this chunk.
        let mut seam = std::mem::take(&mut self.tail);
        seam.extend_from_slice(&chunk[..chunk.len().min(keep)]);
        if self.contains(&seam) || self.contains(chunk) {
            self.found = true;
            return;
        }
        if chunk.len() >= keep {
            self.tail = chunk[chunk.len() - keep..].to_vec();
        } else {
            let start = seam.len().saturating_sub(keep);
            self.tail = seam[start..].to_vec();
        }
    }

    fn contains(&self, hay: &[u8]) -> bool {
        self.needles.iter().any(|n| contains(hay, n))
    }

    pub fn found(&self) -> bool {
        self.found
    }
}

/// Whether `needle` occurs in `hay`: a quick search for its first byte, then a comparison.
fn contains(hay: &[u8], needle: &[u8]) -> bool {
    let Some(&first) = needle.first() else {
        return false;
    };
    let mut from = 0;
    while hay.len() - from >= needle.len() {
        match hay[from..=hay.len() - needle.len()]
            .iter()
            .position(|&b| b == first)
        {
            Some(p) if hay[from + p..].starts_with(needle) => return true,
            Some(p) => from += p + 1,
            None => return false,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_are_valid_and_differ() {
        let a = random().unwrap();
        let b = random().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert!(a.starts_with("=_"));
        // RFC 2046 bchars, no space.
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"'()+_,-./:=?".contains(&c))
        );
    }

    #[test]
    fn finds_a_needle_across_every_split() {
        let needles = vec!["=_abc".to_string(), "zz".to_string()];
        let hay = b"xxxx--=_abcyy";
        for i in 0..=hay.len() {
            for j in i..=hay.len() {
                let mut f = Finder::new(&needles);
                f.feed(&hay[..i]);
                f.feed(&hay[i..j]);
                f.feed(&hay[j..]);
                assert!(f.found(), "split {i},{j}");
            }
        }
        let mut f = Finder::new(&needles);
        for b in b"=_ab z=_abz" {
            f.feed(std::slice::from_ref(b));
        }
        assert!(!f.found());
    }
}
