//! One SASL exchange (RFC 4422 section 3) for every protocol (curl's curl_sasl.c): SMTP AUTH
//! (RFC 4954), POP3 AUTH (RFC 5034), IMAP AUTHENTICATE (RFC 3501 section 6.2.2, RFC 4959).
//! Each protocol supplies a small table, [`Sasl`]: how to start, what a challenge and a
//! final reply look like, how long an initial response may be, and which refusals are a
//! failed login (77) and which "try later" (75). This module owns the rest, the same for all:
//!
//! - the initial response goes with the command when it fits, else as the answer to the
//!   server's first (empty) challenge;
//! - challenges are base64-decoded and responses encoded here, responses sent as secrets,
//!   and the password hidden in whatever the server repeats ([`Conn::hide`]);
//! - at most [`MAX_CHALLENGES`] challenges: a server that answers with `+ ` for ever ends;
//! - giving up (a challenge that is not base64, one the mechanism refuses, too many) always
//!   cancels with `*` and reads the server's reply before failing (RFC 4422 section 3.5);
//! - what the server said inside the exchange (XOAUTH2's and OAUTHBEARER's JSON error,
//!   [`Exchange::detail`], in words) is added to the error of the refusal.
//!
//! [`Conn::hide`]: crate::wire::Conn::hide

use crate::error::{Error, Kind, Result};
use crate::net::stream::Transport;
use crate::session::credentials::Credentials;
use crate::session::sasl::{Exchange, Mechanism};
use crate::wire::Conn;
use crate::wire::reply::Dialect;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

/// The most challenges one exchange answers: no mechanism posthaste speaks takes more than
/// three (SCRAM: server-first, server-final, and an empty one some servers add).
pub const MAX_CHALLENGES: usize = 10;

/// What the server said next in an exchange.
pub enum Step<R> {
    /// A challenge, its text as sent (base64).
    Challenge(Vec<u8>),
    /// The final reply: logged in.
    Success(R),
    /// The final reply: refused.
    Failure(R),
}

/// How one protocol carries a SASL exchange, on its connection.
pub trait Sasl {
    type Stream: Transport;
    type Dialect: Dialect;
    /// The command that starts it: `AUTH`, `AUTHENTICATE`.
    const COMMAND: &'static str;

    /// The connection the exchange is on.
    fn conn_mut(&mut self) -> &mut Conn<Self::Stream, Self::Dialect>;

    /// The longest command line (CRLF not counted) that may carry an initial response, or
    /// `None` when none may (IMAP without SASL-IR).
    fn initial_response_limit(&self) -> Option<usize>;

    /// Sends `COMMAND MECH`, with the initial response (base64, `=` when empty) if given.
    fn start(&mut self, mech: Mechanism, initial: Option<&str>) -> Result<()> {
        let arg = match initial {
            Some(ir) => format!("{} {ir}", mech.name()),
            None => mech.name().to_string(),
        };
        self.conn_mut().send_command(Self::COMMAND, Some(&arg))
    }

    /// Reads what the server says next; `what` names the exchange in a timeout's message.
    fn step(&mut self, what: &str) -> Result<Step<Reply<Self>>>;

    /// The error a refusal of the login is, `context` leading its message: 77, or 75 when
    /// the reply says to try later.
    fn refused(&self, reply: &Reply<Self>, context: &str) -> Error;
}

/// The reply that ends an exchange (IMAP's tagged OK may carry capabilities).
pub type Reply<P> = <<P as Sasl>::Dialect as Dialect>::Reply;

/// Logs in as `creds` with `mech` over `p`, returning the reply that said yes. SCRAM
/// succeeds only when the server proved it knows the password.
pub fn authenticate<P: Sasl>(p: &mut P, mech: Mechanism, creds: &Credentials) -> Result<Reply<P>> {
    let what = format!("{} {mech}", P::COMMAND);
    let peer = p.conn_mut().peer().to_string();
    let mut ex = Exchange::new(mech, creds.sasl_user(), creds.secret()).at(&peer);
    let mut pending = None;
    let initial = match p.initial_response_limit() {
        Some(limit) => ex.initial_response().map(|ir| (ir, limit)),
        None => None,
    };
    match initial {
        Some((ir, limit)) if what.len() + 1 + encode_initial(&ir).len() <= limit => {
            p.start(mech, Some(&encode_initial(&ir)))?
        }
        Some((ir, _)) => {
            pending = Some(B64.encode(ir));
            p.start(mech, None)?;
        }
        None => p.start(mech, None)?,
    }
    // A refusal may repeat the password itself, not only the payload that carried it.
    p.conn_mut().hide(creds.secret());
    let mut challenges = 0;
    loop {
        let challenge = match p.step(&what)? {
            Step::Success(r) => {
                ex.finish(None)
                    .map_err(|e| e.context(p.conn_mut().peer()))?;
                return Ok(r);
            }
            Step::Failure(r) => {
                let detail = ex.detail().map(|d| format!(" ({d})")).unwrap_or_default();
                let who = match creds.user.as_str() {
                    "" => String::new(),
                    user => format!(" as {user}"),
                };
                let context = format!(
                    "{}: login{who} with {mech} failed{detail}",
                    p.conn_mut().peer()
                );
                return Err(p.refused(&r, &context));
            }
            Step::Challenge(text) => text,
        };
        challenges += 1;
        let answer = if challenges > MAX_CHALLENGES {
            Err(Error::new(
                Kind::Protocol,
                format!("{what}: the server sent more than {MAX_CHALLENGES} challenges"),
            ))
        } else if let Some(ir) = pending.take() {
            Ok(ir)
        } else {
            decode(&challenge, &what).and_then(|c| ex.respond(&c).map(|r| B64.encode(r)))
        };
        match answer {
            Ok(line) => p.conn_mut().send_secret_line(&line)?,
            Err(e) => return Err(cancel(p, &what, e)),
        }
    }
}

/// Cancels the exchange with `*` (shown as it is: a cancel is no secret) and reads the
/// server's answer to it, then fails with `e` (in the peer's context). What the cancel
/// meets (a broken connection, another challenge) does not change the error.
fn cancel<P: Sasl>(p: &mut P, what: &str, e: Error) -> Error {
    if p.conn_mut().cancel_sasl().is_ok() {
        let _ = p.step(what);
    }
    e.context(p.conn_mut().peer())
}

/// An initial response as it goes on the command line. (An empty response to a challenge
/// is an empty line.)
fn encode_initial(response: &[u8]) -> String {
    if response.is_empty() {
        // RFC 4954 section 4, RFC 5034 section 4, RFC 4959: an empty initial response.
        "=".to_string()
    } else {
        B64.encode(response)
    }
}

fn decode(text: &[u8], what: &str) -> Result<Vec<u8>> {
    B64.decode(text.trim_ascii()).map_err(|_| {
        Error::new(
            Kind::Protocol,
            format!("{what}: a challenge that is not base64"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::smtp::reply::Smtp;
    use crate::wire::reply::Reply as SmtpReply;
    use crate::wire::tests::MockStream;

    /// A protocol whose server says `script`, one step for each line read; what the client
    /// sends is on its connection's stream.
    struct Fake {
        conn: Conn<MockStream, Smtp>,
        script: std::collections::VecDeque<Step<SmtpReply>>,
        limit: Option<usize>,
    }

    impl Sasl for Fake {
        type Stream = MockStream;
        type Dialect = Smtp;
        const COMMAND: &'static str = "AUTH";
        fn conn_mut(&mut self) -> &mut Conn<MockStream, Smtp> {
            &mut self.conn
        }
        fn initial_response_limit(&self) -> Option<usize> {
            self.limit
        }
        fn step(&mut self, _: &str) -> Result<Step<SmtpReply>> {
            self.script
                .pop_front()
                .ok_or_else(|| Error::connection_lost("EOF"))
        }
        fn refused(&self, reply: &SmtpReply, context: &str) -> Error {
            reply.error(context).with_kind(Kind::Auth)
        }
    }

    fn reply(code: u16, text: &str) -> SmtpReply {
        SmtpReply {
            code,
            lines: vec![text.as_bytes().to_vec()],
        }
    }

    /// The outcome and the lines sent when bob logs in with `mech` and the server says
    /// `script`, on a line of 500 octets (room for any initial response these tests send).
    fn run(script: Vec<Step<SmtpReply>>, mech: Mechanism) -> (Result<SmtpReply>, Vec<String>) {
        run_limited(script, mech, Some(500))
    }

    /// [`run`] on a line of `limit` octets (`None`: no initial response).
    fn run_limited(
        script: Vec<Step<SmtpReply>>,
        mech: Mechanism,
        limit: Option<usize>,
    ) -> (Result<SmtpReply>, Vec<String>) {
        exchange(&Credentials::password("bob", "pw"), script, mech, limit)
    }

    /// [`run`] as `creds`.
    fn run_as(
        creds: &Credentials,
        script: Vec<Step<SmtpReply>>,
        mech: Mechanism,
    ) -> (Result<SmtpReply>, Vec<String>) {
        exchange(creds, script, mech, Some(500))
    }

    fn exchange(
        creds: &Credentials,
        script: Vec<Step<SmtpReply>>,
        mech: Mechanism,
        limit: Option<usize>,
    ) -> (Result<SmtpReply>, Vec<String>) {
        let mut fake = Fake {
            conn: Conn::new(MockStream::new(b"", 1), "h.example:25", Smtp),
            script: script.into(),
            limit,
        };
        let r = authenticate(&mut fake, mech, creds);
        let written = fake.conn.stream().written_str();
        let sent = written
            .split_terminator("\r\n")
            .map(str::to_string)
            .collect();
        (r, sent)
    }

    fn challenge(text: &str) -> Step<SmtpReply> {
        Step::Challenge(text.as_bytes().to_vec())
    }

    #[test]
    fn the_initial_response_goes_with_the_command_when_it_fits() {
        let (r, sent) = run(vec![Step::Success(reply(235, "ok"))], Mechanism::Plain);
        assert_eq!(r.unwrap().code, 235);
        assert_eq!(sent, ["AUTH PLAIN AGJvYgBwdw=="]);
        // Too long for the line: the answer to the first, empty, challenge.
        let (r, sent) = run_limited(
            vec![challenge(""), Step::Success(reply(235, "ok"))],
            Mechanism::Plain,
            Some(20),
        );
        r.unwrap();
        assert_eq!(sent, ["AUTH PLAIN", "AGJvYgBwdw=="]);
        // At the limit exactly: the line `AUTH PLAIN AGJvYgBwdw==` is 23 octets.
        for (limit, inline) in [(23, true), (22, false)] {
            let mut script = vec![Step::Success(reply(235, "ok"))];
            if !inline {
                script.insert(0, challenge(""));
            }
            let (r, sent) = run_limited(script, Mechanism::Plain, Some(limit));
            r.unwrap();
            assert_eq!(sent.len() == 1, inline, "limit {limit}: {sent:?}");
            assert!(
                sent.iter().all(|l| l.len() <= limit),
                "limit {limit}: {sent:?}"
            );
        }
        // None allowed (IMAP without SASL-IR): the same.
        let (r, sent) = run_limited(
            vec![challenge(""), Step::Success(reply(235, "ok"))],
            Mechanism::Plain,
            None,
        );
        r.unwrap();
        assert_eq!(sent, ["AUTH PLAIN", "AGJvYgBwdw=="]);
    }

    #[test]
    fn endless_challenges_are_cancelled() {
        let mut script: Vec<_> = (0..50).map(|_| challenge("")).collect();
        script.push(Step::Failure(reply(501, "cancelled")));
        let (r, sent) = run(script, Mechanism::XOAuth2);
        let e = r.unwrap_err();
        assert_eq!(e.exit_code(), 76);
        assert_eq!(
            e.to_string(),
            "h.example:25: AUTH XOAUTH2: the server sent more than 10 challenges"
        );
        assert_eq!(sent.len(), 1 + MAX_CHALLENGES + 1);
        assert_eq!(sent.last().unwrap(), "*");
    }

    #[test]
    fn a_challenge_that_is_not_base64_is_cancelled() {
        let (r, sent) = run(
            vec![challenge("!!!"), Step::Failure(reply(501, "cancelled"))],
            Mechanism::Login,
        );
        let e = r.unwrap_err();
        assert_eq!(e.exit_code(), 76);
        assert!(e.to_string().contains("not base64"), "{e}");
        assert_eq!(sent, ["AUTH LOGIN", "*"]);
        // One the mechanism cannot answer: cancelled too.
        let (r, sent) = run(
            vec![
                challenge("VXNlcm5hbWU6"),
                challenge("UGFzc3dvcmQ6"),
                challenge("V2hhdD8="),
                Step::Failure(reply(501, "cancelled")),
            ],
            Mechanism::Login,
        );
        assert_eq!(r.unwrap_err().exit_code(), 76);
        assert_eq!(sent, ["AUTH LOGIN", "Ym9i", "cHc=", "*"]);
    }

    #[test]
    fn a_refusal_carries_what_the_server_said_inside_the_exchange() {
        let (r, sent) = run(
            vec![
                challenge("eyJzdGF0dXMiOiI0MDEifQ=="),
                Step::Failure(reply(535, "no")),
            ],
            Mechanism::XOAuth2,
        );
        let e = r.unwrap_err();
        assert_eq!(e.exit_code(), 77);
        assert_eq!(
            e.to_string(),
            "h.example:25: login as bob with XOAUTH2 failed (the access token is expired, revoked or not for this user (status 401)): server said: 535 no"
        );
        assert_eq!(
            sent[1], "",
            "XOAUTH2's error is answered with an empty line"
        );
    }

    #[test]
    fn what_the_server_says_inside_the_exchange_never_shows_the_secret() {
        // XOAUTH2's error, repeating the token: the detail hides it.
        let token = Credentials::token("bob", "ya29.secret");
        let json = B64.encode(r#"{"error":"bad","token":"ya29.secret"}"#);
        let (r, _) = run_as(
            &token,
            vec![challenge(&json), Step::Failure(reply(535, "no"))],
            Mechanism::XOAuth2,
        );
        let e = r.unwrap_err().to_string();
        assert!(
            e.contains(r#"(the server says: {"error":"bad","token":"****"})"#),
            "{e}"
        );
        // A challenge the mechanism cannot answer, quoted in the error: the same.
        let pw = Credentials::password("bob", "hunter2");
        let (r, sent) = run_as(
            &pw,
            vec![
                challenge("VXNlcm5hbWU6"),
                challenge("UGFzc3dvcmQ6"),
                challenge(&B64.encode("was it hunter2?")),
                Step::Failure(reply(501, "cancelled")),
            ],
            Mechanism::Login,
        );
        let e = r.unwrap_err();
        assert_eq!(e.exit_code(), 76);
        assert!(
            e.to_string()
                .ends_with("unexpected challenge from the server: was it ****?"),
            "{e}"
        );
        assert_eq!(sent.last().unwrap(), "*");
        // A challenge of a megabyte is quoted in 200 characters.
        let (r, _) = run_limited(
            vec![
                challenge("e30="),
                challenge(&B64.encode(vec![b'x'; 1 << 20])),
                Step::Failure(reply(501, "cancelled")),
            ],
            Mechanism::Plain,
            None,
        );
        let e = r.unwrap_err().to_string();
        assert!(e.len() < 400 && e.ends_with("xxx..."), "{e}");
    }
}
