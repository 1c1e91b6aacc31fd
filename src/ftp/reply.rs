//! FTP's replies (RFC 959 section 4.2), the [`Ftp`] dialect of the shared engine: numeric,
//! the coded [`Reply`] SMTP has too. A multi-line reply starts `123-` and ends at a line
//! starting `123 ` (or `123` alone); the lines between may be anything. `PASS` and `ACCT`
//! carry secrets (RFC 959 section 4.1.1); `AUTH` (RFC 2228) only names a mechanism.

use crate::wire::reply::{
    Dialect, Malformed, Reply, Step, coded_line, parse_reply_line, step_after,
};
use crate::wire::transcript::hide_by_verb;

/// FTP's numeric replies (RFC 959 section 4.2).
#[derive(Debug, Clone, Copy, Default)]
pub struct Ftp;

impl Dialect for Ftp {
    type Reply = Reply;

    fn line(&self, reply: &mut Option<Reply>, line: &[u8]) -> Result<Step, Malformed> {
        let Some(r) = reply else {
            let (code, sep, text) = coded_line(line)?;
            *reply = Some(Reply::first_line(code, text));
            return Ok(step_after(sep));
        };
        match parse_reply_line(line) {
            // Continuation lines may carry the code too (`211-SIZE`); RFC 959 allows any text.
            Some((c, sep, text)) if c == r.code => {
                r.lines.push(text.to_vec());
                Ok(step_after(sep))
            }
            _ => {
                r.lines.push(line.to_vec());
                Ok(Step::More)
            }
        }
    }

    fn hide_secrets(&self, command: &str) -> Option<String> {
        hide_by_verb(command, &[("PASS", 1), ("ACCT", 1)])
    }

    fn unsolicited(&self, data: &[u8]) -> bool {
        !data.starts_with(b"421")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::reply::tests::parse;

    #[test]
    fn ftp_multi_line_lines_in_between_may_be_anything() {
        let (r, n) = parse(
            &Ftp,
            &[
                b"211-Features:",
                b" EPSV",
                b"211-SIZE",
                b"212 not the end",
                b"212-nor this",
                b"211 End",
                b"x",
            ],
        )
        .unwrap()
        .unwrap();
        assert_eq!(n, 6);
        assert_eq!(r.code, 211);
        assert_eq!(
            r.lines,
            [
                &b"Features:"[..],
                b" EPSV",
                b"SIZE",
                b"212 not the end",
                b"212-nor this",
                b"End"
            ]
        );
        // The last line may be the code alone.
        let (r, n) = parse(&Ftp, &[b"230-a", b"230"]).unwrap().unwrap();
        assert_eq!((r.code, n), (230, 2));
        // A single line ends at once, with or without text.
        assert_eq!(parse(&Ftp, &[b"200"]).unwrap().unwrap().1, 1);
        assert_eq!(parse(&Ftp, &[b"200 ok"]).unwrap().unwrap().1, 1);
        // Unfinished.
        assert!(parse(&Ftp, &[b"211-a", b"211-b"]).is_none());
        assert!(parse(&Ftp, &[b"hello"]).unwrap().is_err());
    }
}
