//! This machine's host name, as Message-IDs (RFC 5322 3.6.4) and Maildir file names use it.

/// The host name reduced to characters allowed in a dot-atom (letters, digits, `-`, `.`);
/// `localhost` if there is none, or nothing usable is left.
pub fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for `len` bytes; gethostname NUL-terminates within it or
    // truncates, and we stop at the first NUL or the end.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len() - 1) };
    let raw = if rc == 0 {
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        &buf[..end]
    } else {
        &[][..]
    };
    dot_atom(raw)
}

/// The dot-atom characters of `raw`, or `localhost`. Pure.
fn dot_atom(raw: &[u8]) -> String {
    let host: String = raw
        .iter()
        .filter(|b| b.is_ascii_alphanumeric() || b"-.".contains(b))
        .map(|&b| b as char)
        .collect();
    let host = host.trim_matches('.');
    if host.is_empty() || host.contains("..") {
        "localhost".to_string()
    } else {
        host.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_are_dot_atoms() {
        let h = host_name();
        assert!(!h.is_empty() && !h.contains(' '));
        assert_eq!(dot_atom(b"mail.example.org"), "mail.example.org");
        assert_eq!(dot_atom(b"my host_1."), "myhost1");
        assert_eq!(dot_atom(b""), "localhost");
        assert_eq!(dot_atom(b"a..b"), "localhost");
        assert_eq!(dot_atom(b"..."), "localhost");
    }
}
