//! SMTP's replies (RFC 5321 section 4.2), the [`Smtp`] dialect of the shared engine: the
//! coded [`Reply`] FTP has too, but checked on every line: each carries the same code, with
//! `-` on all lines but the last. `AUTH` with an initial response (RFC 4954 section 4)
//! carries a secret.

use crate::wire::reply::{Dialect, Malformed, Reply, Step, coded_line, step_after};
use crate::wire::transcript::hide_by_verb;

/// SMTP's numeric replies (RFC 5321 section 4.2): checked on every line.
#[derive(Debug, Clone, Copy, Default)]
pub struct Smtp;

impl Dialect for Smtp {
    type Reply = Reply;

    fn line(&self, reply: &mut Option<Reply>, line: &[u8]) -> Result<Step, Malformed> {
        let (code, sep, text) = coded_line(line)?;
        // Reply-code = %x32-35 %x30-35 %x30-39: SMTP has no 1yz replies.
        if !(200..600).contains(&code) {
            return Err(Malformed(format!("reply code {code} is not an SMTP code")));
        }
        match reply {
            None => *reply = Some(Reply::first_line(code, text)),
            Some(r) if r.code == code => r.lines.push(text.to_vec()),
            Some(r) => {
                return Err(Malformed(format!(
                    "a line with code {code} inside a multi-line {} reply",
                    r.code
                )));
            }
        }
        Ok(step_after(sep))
    }

    fn hide_secrets(&self, command: &str) -> Option<String> {
        hide_by_verb(command, &[("AUTH", 2)])
    }

    fn unsolicited(&self, data: &[u8]) -> bool {
        !data.starts_with(b"421")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::reply::Response;
    use crate::wire::reply::tests::parse;
    use crate::wire::tests::smtp;

    #[test]
    fn smtp_checks_the_code_on_every_line() {
        let (r, n) = parse(
            &Smtp,
            &[
                b"250-mail.example.com",
                b"250-PIPELINING",
                b"250-234 text",
                b"250 SIZE 10",
            ],
        )
        .unwrap()
        .unwrap();
        assert_eq!((r.code, n), (250, 4));
        assert_eq!(
            r.lines,
            [
                &b"mail.example.com"[..],
                b"PIPELINING",
                b"234 text",
                b"SIZE 10"
            ]
        );
        assert_eq!(parse(&Smtp, &[b"250-a", b"250"]).unwrap().unwrap().1, 2);
        assert_eq!(parse(&Smtp, &[b"250-", b"250 "]).unwrap().unwrap().1, 2);
        let e = parse(&Smtp, &[b"250-a", b"251 b"]).unwrap().unwrap_err();
        assert!(e.contains("code 251 inside a multi-line 250"), "{e}");
        let e = parse(&Smtp, &[b"250-a", b"251-b", b"250 c"])
            .unwrap()
            .unwrap_err();
        assert!(e.contains("251"), "{e}");
        for bad_continuation in [&b" EPSV"[..], b"PIPELINING", b"", b"25 x", b"250x"] {
            assert!(
                parse(&Smtp, &[b"250-a", bad_continuation])
                    .unwrap()
                    .is_err(),
                "{bad_continuation:?}"
            );
        }
        for bad_code in [&b"120 wait"[..], b"600 x", b"199 x", b"999 x"] {
            assert!(parse(&Smtp, &[bad_code]).unwrap().is_err(), "{bad_code:?}");
        }
        for good_code in [&b"200 x"[..], b"599 x", b"421 bye"] {
            assert!(parse(&Smtp, &[good_code]).unwrap().is_ok(), "{good_code:?}");
        }
    }

    #[test]
    fn smtp_replies_in_every_chunking() {
        let input =
            b"220 mx ESMTP\r\n250-mx\r\n250-PIPELINING\r\n250 8BITMIME\r\n334 VXNlcm5hbWU6\r\n";
        for chunk in 1..=input.len() {
            let mut c = smtp(input, chunk);
            assert_eq!(c.read_reply().unwrap().code, 220);
            let r = c.read_reply().unwrap();
            assert_eq!(r.line_texts(), ["mx", "PIPELINING", "8BITMIME"]);
            assert!(c.read_reply().unwrap().is_continuation());
        }
        let bad_cases: [&[u8]; 4] = [
            b"250-mx\r\n251 PIPELINING\r\n",
            b"250-mx\r\nPIPELINING\r\n",
            b"250-mx\r\n 250 x\r\n",
            b"150 go\r\n",
        ];
        for bad in bad_cases {
            for chunk in [1, 2, 64] {
                let mut c = smtp(bad, chunk);
                let e = c.read_reply().unwrap_err();
                assert_eq!(e.exit_code(), 76, "{e}");
                assert!(c.is_broken());
            }
        }
        let e = smtp(b"250-mx\r\n251 x\r\n", 64).read_reply().unwrap_err();
        assert!(
            e.to_string()
                .ends_with("(a line with code 251 inside a multi-line 250 reply): \"251 x\""),
            "{e}"
        );
    }
}
