//! One message over an [`SmtpClient`] (RFC 5321 section 3.3), in its phases: the envelope
//! (MAIL and every RCPT, with DATA in the same write under PIPELINING, RFC 2920), the
//! verdict on its replies, the data (DATA's dot-stuffed stream, or BDAT chunks under
//! CHUNKING, RFC 3030), and the final reply.

use super::SmtpClient;
use super::body::{BdatWriter, BodySink, message_refused};
use crate::error::{Error, Kind, Result};
use crate::net::stream::Transport;
use crate::wire::DataWriter;
use crate::wire::dot::LoneCr;
use crate::wire::reply::Reply;
use std::collections::VecDeque;

/// One transaction's envelope. Parameters are passed as given (`SIZE=123`,
/// `BODY=8BITMIME`, `SMTPUTF8`, `RET=HDRS`, `NOTIFY=NEVER`...): the caller decides them from
/// [`SmtpClient::extensions`].
#[derive(Debug, Clone, Default)]
pub struct Envelope {
    /// The reverse-path, without brackets (empty for `<>`).
    pub from: String,
    pub rcpts: Vec<String>,
    pub mail_params: Vec<String>,
    pub rcpt_params: Vec<String>,
    /// Send to the recipients accepted even when some were refused.
    pub partial: bool,
    /// What to do with a lone CR in the data.
    pub lone_cr: LoneCr,
    /// Use BDAT when the server offers CHUNKING.
    pub chunking: bool,
}

/// A recipient and the server's answer to its RCPT.
#[derive(Debug, Clone)]
pub struct RcptReply {
    pub addr: String,
    pub reply: Reply,
}

impl RcptReply {
    pub fn accepted(&self) -> bool {
        self.reply.class() == 2
    }
}

/// What a delivered message got.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub accepted: Vec<String>,
    /// Refused recipients (only with `partial`).
    pub refused: Vec<RcptReply>,
    /// The reply to the end of the data.
    pub reply: Reply,
}

/// The error a recipient's refusal is: 5xx is 67 (no such user), 4xx 75.
pub fn refusal(peer: &str, r: &RcptReply) -> Error {
    let e = r.reply.error(format!("{peer}: RCPT TO:<{}>", r.addr));
    if r.reply.class() == 5 && e.kind() != Kind::Auth {
        e.with_kind(Kind::NoUser)
    } else {
        e
    }
}

/// The refusal that speaks for all of them: the first permanent one (5xx) when there is
/// one, since trying again cannot help a recipient refused for good; else the first.
pub fn first_refusal(rcpts: &[RcptReply]) -> Option<&RcptReply> {
    let refused = || rcpts.iter().filter(|r| !r.accepted());
    refused()
        .find(|r| r.reply.class() == 5)
        .or_else(|| refused().next())
}

/// The server's answers to a transaction's commands, as they arrive.
#[derive(Default)]
struct Answers {
    mail: Option<Reply>,
    rcpts: Vec<RcptReply>,
    /// The answer to a DATA sent with the envelope (PIPELINING).
    data: Option<Reply>,
}

/// Which reply a pipelined command is owed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owed {
    Mail,
    Rcpt(usize),
    Data,
}

impl<S: Transport> SmtpClient<S> {
    /// Sends one message: MAIL, every RCPT and DATA (in one write with PIPELINING, RFC
    /// 2920), each recipient's answer told to `on_rcpt` as it arrives, then the data that
    /// `body` writes, then the closing `.` and its reply.
    ///
    /// A refused recipient ends the transaction before any data is sent (its error: 67 for
    /// 5xx, 75 for 4xx; the first 5xx when some are 4xx and some 5xx, [`first_refusal`]),
    /// unless `env.partial`, which delivers to those accepted. No recipient accepted is the
    /// same error. When the server already said 354 to a pipelined DATA and the message
    /// must not go, or `body` fails, the connection is dropped without the final `.`, so
    /// nothing is delivered. MAIL refused is the reply's error (75, 69, 77); the final
    /// reply: 4xx 75, 5xx 65, none at all 79 (the message may have been delivered).
    pub fn send(
        &mut self,
        env: &Envelope,
        on_rcpt: &mut dyn FnMut(&RcptReply),
        body: impl FnOnce(&mut dyn BodySink) -> Result<()>,
    ) -> Result<Delivered> {
        // CHUNKING (RFC 3030): BDAT instead of DATA, unless told otherwise.
        let chunking = self.ext.chunking && env.chunking;
        let peer = self.conn.peer().to_string();
        let answers = if self.ext.pipelining {
            self.pipelined_envelope(env, !chunking, on_rcpt)?
        } else {
            self.envelope(env, on_rcpt)?
        };
        let Answers { mail, rcpts, data } = answers;
        let mail = mail.ok_or_else(|| Error::new(Kind::Software, "no reply to MAIL"))?;
        let go_on = verdict(&peer, env, &mail, &rcpts);
        if go_on.is_ok() && chunking {
            let w = BdatWriter::new(&mut self.conn);
            // Without a whole BDAT LAST nothing is delivered (RFC 3030 2).
            let written = write_body(w, body, BdatWriter::send_last);
            self.body_sent(written)?;
            return self.delivered(&peer, rcpts);
        }
        self.start_data(&peer, go_on, data)?;
        let w = self.conn.dot_writer(env.lone_cr)?;
        let written = write_body(w, body, DataWriter::finish);
        self.body_sent(written)?;
        self.delivered(&peer, rcpts)
    }

    /// MAIL, every RCPT and (`with_data`) DATA in one write (RFC 2920), in groups of
    /// about 4 KiB when there are many; then their replies, each recipient's told to
    /// `on_rcpt`.
    fn pipelined_envelope(
        &mut self,
        env: &Envelope,
        with_data: bool,
        on_rcpt: &mut dyn FnMut(&RcptReply),
    ) -> Result<Answers> {
        let mut answers = Answers::default();
        let mut owed: VecDeque<Owed> = VecDeque::new();
        for (verb, arg, what) in commands(env) {
            // A full window: send the group, read all its replies, start the next
            // group (groups of about 4 KiB, not a trickle of single commands).
            if !self.conn.fits_window(verb, Some(&arg)) {
                while let Some(next) = owed.pop_front() {
                    self.take_reply(next, env, &mut answers, on_rcpt)?;
                }
            }
            self.conn
                .queue(verb, Some(&arg))
                .inspect_err(|_| self.broken = true)?;
            owed.push_back(what);
        }
        // DATA goes in the same group (RFC 2920 3.1): it is the last command, and a 354
        // we must not follow is answered by dropping the connection. BDAT waits.
        if with_data {
            while !self.conn.fits_window("DATA", None) {
                let Some(next) = owed.pop_front() else { break };
                self.take_reply(next, env, &mut answers, on_rcpt)?;
            }
            self.conn.queue("DATA", None)?;
            owed.push_back(Owed::Data);
        }
        self.conn.flush().inspect_err(|_| self.broken = true)?;
        while let Some(next) = owed.pop_front() {
            self.take_reply(next, env, &mut answers, on_rcpt)?;
        }
        Ok(answers)
    }

    /// MAIL, then (once it is accepted) each RCPT in turn, each recipient's reply told to
    /// `on_rcpt`: the server without PIPELINING.
    fn envelope(&mut self, env: &Envelope, on_rcpt: &mut dyn FnMut(&RcptReply)) -> Result<Answers> {
        let mut answers = Answers::default();
        for (verb, arg, what) in commands(env) {
            let mail_accepted = answers.mail.as_ref().is_some_and(|m| m.class() == 2);
            if what != Owed::Mail && !mail_accepted {
                break;
            }
            self.conn.send_command(verb, Some(&arg))?;
            self.take_reply(what, env, &mut answers, on_rcpt)?;
        }
        Ok(answers)
    }

    fn take_reply(
        &mut self,
        what: Owed,
        env: &Envelope,
        answers: &mut Answers,
        on_rcpt: &mut dyn FnMut(&RcptReply),
    ) -> Result<()> {
        match what {
            Owed::Mail => answers.mail = Some(self.reply_to("MAIL FROM")?),
            Owed::Rcpt(i) => {
                let reply = self.reply_to("RCPT TO")?;
                let r = RcptReply {
                    addr: env.rcpts[i].clone(),
                    reply,
                };
                // After a refused MAIL the server refuses every RCPT too (503): those
                // are not the recipients' fault, and not told.
                if answers.mail.as_ref().is_some_and(|m| m.class() == 2) {
                    on_rcpt(&r);
                }
                answers.rcpts.push(r);
            }
            Owed::Data => answers.data = Some(self.reply_to("DATA")?),
        }
        Ok(())
    }

    /// DATA and its 354, once the envelope is accepted (`go_on`): sent now unless it went
    /// with the envelope (`data`, its reply). A transaction that does not go on ends here:
    /// RSET, or the connection dropped when the server already said 354 to a pipelined DATA
    /// (nothing is delivered without the final `.`).
    fn start_data(&mut self, peer: &str, go_on: Result<()>, mut data: Option<Reply>) -> Result<()> {
        // Not pipelined: DATA only now that we know it should go.
        if go_on.is_ok() && data.is_none() {
            self.conn.send_command("DATA", None)?;
            data = Some(self.reply_to("DATA")?);
        }
        let got_354 = data.as_ref().is_some_and(|r| r.code == 354);
        if let Err(e) = go_on {
            if got_354 {
                self.abandon();
            } else {
                let _ = self.rset();
            }
            return Err(e);
        }
        let data = data.ok_or_else(|| Error::new(Kind::Software, "no reply to DATA"))?;
        if data.code != 354 {
            let _ = self.rset();
            return Err(message_refused(&data, format!("{peer}: DATA")));
        }
        Ok(())
    }

    /// What writing the message did to the session: a failing body drops the connection
    /// before the data's end, so nothing is delivered; an end that did not go whole leaves
    /// it unusable.
    fn body_sent(&mut self, written: std::result::Result<(), Unsent>) -> Result<()> {
        match written {
            Ok(()) => Ok(()),
            Err(Unsent::Body(e)) => {
                self.abandon();
                Err(e)
            }
            Err(Unsent::End(e)) => {
                self.broken = true;
                Err(e)
            }
        }
    }

    /// The final reply, and what the message got: 4xx 75, 5xx 65.
    fn delivered(&mut self, peer: &str, rcpts: Vec<RcptReply>) -> Result<Delivered> {
        let r = self.final_reply()?;
        if r.class() != 2 {
            return Err(message_refused(
                &r,
                format!("{peer}: the message was refused"),
            ));
        }
        let (accepted, refused): (Vec<RcptReply>, Vec<RcptReply>) =
            rcpts.into_iter().partition(RcptReply::accepted);
        Ok(Delivered {
            accepted: accepted.into_iter().map(|r| r.addr).collect(),
            refused,
            reply: r,
        })
    }

    /// Reads the reply to the end of a message's data (the final `.`, or BDAT LAST), waiting
    /// [`SmtpOptions::final_reply_timeout`](super::SmtpOptions::final_reply_timeout) for it. Once that end is sent the server may have
    /// taken the message (RFC 5321 4.1.1.4): a reply that never comes, or a connection that
    /// closes instead, is [`Kind::Partial`] (79) saying so, never "try again" (75), which
    /// would have a wrapper send it twice. A malformed reply keeps its status (76) and says
    /// the same.
    fn final_reply(&mut self) -> Result<Reply> {
        let normal = self.conn.reply_timeout();
        self.conn.set_reply_timeout(self.final_reply_timeout);
        let r = self.conn.read_reply();
        if let Some(t) = normal {
            self.conn.set_reply_timeout(t);
        }
        let peer = self.conn.peer().to_string();
        let maybe = "the message may have been delivered: sending it again may deliver it twice";
        r.map_err(|e| {
            self.broken = true;
            match e.kind() {
                Kind::Timeout => Error::new(
                    Kind::Partial,
                    format!(
                        "{peer}: no reply within {} s after the end of the message data: {maybe}",
                        self.final_reply_timeout.as_secs_f64()
                    ),
                ),
                Kind::Io => Error::new(
                    Kind::Partial,
                    format!(
                        "{peer}: connection lost after the end of the message data, before the server's reply: {maybe}"
                    ),
                ),
                // --max-time ended the wait: as unknown an outcome as a reply that never came.
                Kind::RunLimit => Error::new(Kind::Partial, format!("{}; {maybe}", e.message())),
                _ => {
                    let m = format!("{}; {maybe}", e.message());
                    e.with_message(m)
                }
            }
        })
    }
}

/// The envelope's commands in order, each with the reply it is owed: MAIL, then an RCPT for
/// each recipient.
fn commands(env: &Envelope) -> impl Iterator<Item = (&'static str, String, Owed)> + '_ {
    let mail = with_params(format!("FROM:<{}>", env.from), &env.mail_params);
    let rcpts = env.rcpts.iter().enumerate().map(|(i, r)| {
        let arg = with_params(format!("TO:<{r}>"), &env.rcpt_params);
        ("RCPT", arg, Owed::Rcpt(i))
    });
    std::iter::once(("MAIL", mail, Owed::Mail)).chain(rcpts)
}

fn with_params(mut arg: String, params: &[String]) -> String {
    for p in params {
        arg.push(' ');
        arg.push_str(p);
    }
    arg
}

/// Whether the transaction goes on to the data: MAIL accepted, and every recipient (with
/// `partial`, one at least). Else the error that says why.
fn verdict(peer: &str, env: &Envelope, mail: &Reply, rcpts: &[RcptReply]) -> Result<()> {
    if mail.class() != 2 {
        Err(mail.error(format!("{peer}: MAIL FROM:<{}>", env.from)))
    } else if let Some(first) = first_refusal(rcpts) {
        if env.partial && rcpts.iter().any(RcptReply::accepted) {
            Ok(())
        } else {
            Err(refusal(peer, first))
        }
    } else if rcpts.is_empty() {
        Err(Error::new(Kind::Usage, "no recipients"))
    } else {
        Ok(())
    }
}

/// Why a message's data did not go whole.
enum Unsent {
    /// The caller's body failed: the data was cut short.
    Body(Error),
    /// Its end (the final `.`, BDAT LAST) did not go.
    End(Error),
}

/// Writes the message with `body` into `w`, then ends it with `end`.
fn write_body<W: BodySink>(
    mut w: W,
    body: impl FnOnce(&mut dyn BodySink) -> Result<()>,
    end: impl FnOnce(W) -> Result<()>,
) -> std::result::Result<(), Unsent> {
    body(&mut w).map_err(Unsent::Body)?;
    end(w).map_err(Unsent::End)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{EHLO_PIPE, client, envelope, written};
    use super::*;
    use std::time::Duration;

    /// The error of sending an empty message to `to` that the server refuses.
    fn refused(
        c: &mut SmtpClient<crate::wire::tests::MockStream>,
        to: &[&str],
        partial: bool,
    ) -> Error {
        let env = envelope(to, partial);
        c.send(&env, &mut |_| {}, |_| Ok(())).unwrap_err()
    }

    #[test]
    fn pipelined_send_in_one_write() {
        // With PIPELINING the script's parts come in one go after the group's last line.
        let mut c = client(
            &[
                b"",
                b"",
                b"250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n",
                b"",
                b"250 queued as 1\r\n",
                b"221 bye\r\n",
            ],
            EHLO_PIPE,
        );
        let writes_before = c.conn.stream().writes;
        let mut told = Vec::new();
        let d = c
            .send(
                &envelope(&["b@x", "c@y"], false),
                &mut |r| told.push((r.addr.clone(), r.reply.code)),
                |w| w.write(b"Subject: x\n\n.\nhi\n"),
            )
            .unwrap();
        assert_eq!(d.accepted, ["b@x", "c@y"]);
        assert_eq!(d.reply.code, 250);
        assert_eq!(told, [("b@x".into(), 250), ("c@y".into(), 250)]);
        let w = written(&c);
        assert!(w.ends_with(
            "MAIL FROM:<ada@example.com> BODY=8BITMIME\r\nRCPT TO:<b@x>\r\nRCPT TO:<c@y>\r\nDATA\r\nSubject: x\r\n\r\n..\r\nhi\r\n.\r\n"
        ), "{w}");
        // One write for the group, then the data.
        assert_eq!(c.conn.stream().writes - writes_before, 2);
        c.quit();
    }

    #[test]
    fn a_refused_recipient_stops_the_message() {
        // Pipelined: the 354 came already; the connection is dropped without the dot.
        let mut c = client(
            &[
                b"",
                b"",
                b"250 ok\r\n550 no such user\r\n250 ok\r\n354 go\r\n",
            ],
            EHLO_PIPE,
        );
        let mut told = Vec::new();
        let mut body_called = false;
        let e = c
            .send(
                &envelope(&["b@x", "c@y"], false),
                &mut |r| told.push(r.reply.code),
                |_| {
                    body_called = true;
                    Ok(())
                },
            )
            .unwrap_err();
        assert_eq!(e.exit_code(), 67);
        assert!(
            e.message()
                .contains("RCPT TO:<b@x>: server said: 550 no such user"),
            "{e}"
        );
        assert_eq!(told, [550, 250]);
        assert!(!body_called);
        assert!(written(&c).ends_with("DATA\r\n"));
        assert!(c.conn.stream().closed && !c.is_usable());
        // 4xx: 75.
        let mut c = client(
            &[
                b"",
                b"",
                b"250 ok\r\n450 mailbox busy\r\n554 no valid recipients\r\n",
                b"250 reset\r\n",
            ],
            EHLO_PIPE,
        );
        let e = refused(&mut c, &["b@x"], false);
        assert_eq!(e.exit_code(), 75);
        // No 354: the session is kept, RSET sent.
        assert!(c.is_usable());
        assert!(written(&c).ends_with("DATA\r\nRSET\r\n"));
    }

    #[test]
    fn a_permanent_refusal_speaks_for_the_message() {
        // 451 then 550: 67, naming the 550, whichever comes first.
        for (first, second, named) in [
            (&b"451 later"[..], &b"550 unknown"[..], "c@y"),
            (b"550 unknown", b"451 later", "b@x"),
        ] {
            let replies = [&b"250 ok\r\n"[..], first, b"\r\n", second, b"\r\n"].concat();
            let mut c = client(
                &[
                    b"",
                    b"",
                    &replies,
                    b"554 no valid recipients\r\n",
                    b"250 ok\r\n",
                ],
                EHLO_PIPE,
            );
            let e = refused(&mut c, &["b@x", "c@y"], true);
            assert_eq!(e.exit_code(), 67, "{e}");
            assert!(e.message().contains(&format!("RCPT TO:<{named}>")), "{e}");
        }
    }

    #[test]
    fn partial_delivers_to_those_accepted() {
        let mut c = client(
            &[
                b"",
                b"",
                b"250 ok\r\n550 unknown\r\n250 ok\r\n354 go\r\n",
                b"",
                b"250 queued\r\n",
            ],
            EHLO_PIPE,
        );
        let d = c
            .send(&envelope(&["b@x", "c@y"], true), &mut |_| {}, |w| {
                w.write(b"hi\n")
            })
            .unwrap();
        assert_eq!(d.accepted, ["c@y"]);
        assert_eq!(d.refused.len(), 1);
        assert_eq!(d.refused[0].addr, "b@x");
        // Nobody accepted: the first refusal, even with partial.
        let mut c = client(
            &[
                b"",
                b"",
                b"250 ok\r\n550 unknown\r\n554 no recipients\r\n",
                b"250 ok\r\n",
            ],
            EHLO_PIPE,
        );
        let e = refused(&mut c, &["b@x"], true);
        assert_eq!(e.exit_code(), 67);
    }

    #[test]
    fn lock_step_without_pipelining() {
        let mut c = client(
            &[
                b"250 ok\r\n",
                b"250 ok\r\n",
                b"354 go\r\n",
                b"",
                b"250 ok\r\n",
            ],
            b"250 mx.example\r\n",
        );
        c.send(&envelope(&["b@x"], false), &mut |_| {}, |w| w.write(b"x"))
            .unwrap();
        assert!(written(&c).ends_with(
            "MAIL FROM:<ada@example.com> BODY=8BITMIME\r\nRCPT TO:<b@x>\r\nDATA\r\nx\r\n.\r\n"
        ));
        // A refused recipient: RSET, never DATA.
        let mut c = client(
            &[b"250 ok\r\n", b"550 no\r\n", b"250 reset\r\n"],
            b"250 mx.example\r\n",
        );
        let e = refused(&mut c, &["b@x"], false);
        assert_eq!(e.exit_code(), 67);
        assert!(!written(&c).contains("DATA"));
        assert!(written(&c).ends_with("RSET\r\n"));
        // MAIL refused: no RCPT at all.
        let mut c = client(&[b"553 bad sender\r\n", b"250 ok\r\n"], b"250 mx\r\n");
        let e = refused(&mut c, &["b@x"], false);
        assert_eq!(e.exit_code(), 69);
        assert!(!written(&c).contains("RCPT"));
    }

    #[test]
    fn a_lost_final_reply_may_mean_delivered() {
        // No reply in time: waited for as long as RFC 5321 4.5.3.2.6 asks, then 79.
        let mut c = client(
            &[
                b"250 ok\r\n",
                b"250 ok\r\n",
                b"354 go\r\n",
                b"",
                b"",
                b"250 late\r\n",
            ],
            b"250 mx\r\n",
        );
        let e = c
            .send(&envelope(&["b@x"], false), &mut |_| {}, |w| w.write(b"x\n"))
            .unwrap_err();
        assert_eq!(e.exit_code(), 79, "{e}");
        assert_eq!(
            e.message(),
            "mx.example:25: no reply within 600 s after the end of the message data: the message may have been delivered: sending it again may deliver it twice"
        );
        assert!(!c.is_usable());
        // The last wait was the long one; the usual bound is back for what may follow.
        let waits = c.conn.stream().read_timeouts.lock().unwrap().clone();
        let last = waits.last().copied().flatten().unwrap();
        assert!(last > Duration::from_secs(590), "{waits:?}");
        assert!(
            waits[..waits.len() - 1]
                .iter()
                .all(|w| w.unwrap() <= Duration::from_secs(120))
        );
        assert_eq!(c.conn.reply_timeout(), Some(Duration::from_secs(120)));
        // The connection closed instead, after DATA's dot or BDAT LAST: 79 too.
        for chunking in [false, true] {
            let mut env = envelope(&["b@x"], false);
            env.chunking = chunking;
            let (ehlo, script): (&[u8], &[&[u8]]) = if chunking {
                (
                    b"250-mx\r\n250 CHUNKING\r\n",
                    &[b"250 ok\r\n", b"250 ok\r\n"],
                )
            } else {
                (
                    b"250 mx\r\n",
                    &[b"250 ok\r\n", b"250 ok\r\n", b"354 go\r\n"],
                )
            };
            let mut c = client(script, ehlo);
            let e = c.send(&env, &mut |_| {}, |w| w.write(b"x\n")).unwrap_err();
            assert_eq!(e.exit_code(), 79, "{e}");
            assert!(
                e.message()
                    .contains("connection lost after the end of the message data")
            );
            let sent = written(&c);
            assert!(
                sent.ends_with(if chunking {
                    "BDAT 3 LAST\r\nx\r\n"
                } else {
                    "x\r\n.\r\n"
                }),
                "{sent}"
            );
        }
    }

    #[test]
    fn final_replies_and_a_failing_body() {
        for (last, code) in [(&b"452 full\r\n"[..], 75), (b"554 spam\r\n", 65)] {
            let mut c = client(
                &[b"250 ok\r\n", b"250 ok\r\n", b"354 go\r\n", b"", last],
                b"250 mx\r\n",
            );
            let e = c
                .send(&envelope(&["b@x"], false), &mut |_| {}, |w| w.write(b"x"))
                .unwrap_err();
            assert_eq!(e.exit_code(), code, "{last:?}");
        }
        // The body fails midway: no dot, the connection is dropped.
        let mut c = client(
            &[b"250 ok\r\n", b"250 ok\r\n", b"354 go\r\n"],
            b"250 mx\r\n",
        );
        let e = c
            .send(&envelope(&["b@x"], false), &mut |_| {}, |w| {
                w.write(b"partial\n")?;
                Err(Error::new(Kind::Data, "line 2: bad"))
            })
            .unwrap_err();
        assert_eq!(e.exit_code(), 65);
        assert!(!written(&c).contains("\r\n.\r\n"), "{}", written(&c));
        assert!(c.conn.stream().closed);
    }
}
