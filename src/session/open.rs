//! Opening a session, for any protocol (curl's pingpong.c): the connect phase's one
//! deadline, implicit TLS as the URL's scheme says, the engine set up with its timeouts and
//! transcript, the greeting; and the one way a wait that ran out is said.

use crate::error::{Error, Kind, Result};
use crate::net::stream::{NetStream, Transport};
use crate::net::tls::{TlsContext, TlsMode};
use crate::net::url::Target;
use crate::net::{self, ConnectOptions};
use crate::wire::reply::{Dialect, Response};
use crate::wire::{Conn, Transcript};
use std::time::{Duration, Instant};

/// How to open a session, whatever the protocol: what the POP3 and IMAP clients take,
/// and the FTP and SMTP options carry beside their own.
#[derive(Clone)]
pub struct SessionOptions {
    pub connect: ConnectOptions,
    /// `--tls`.
    pub tls_mode: TlsMode,
    /// Needed for a scheme with TLS from the first byte (ftps://, smtps://, pop3s://,
    /// imaps://) and for `--tls auto|required`.
    pub tls: Option<TlsContext>,
    /// `--verbose`: shared by every connection of the run.
    pub transcript: Option<Transcript>,
}

#[cfg(test)]
impl SessionOptions {
    /// A unit test's: the default timeouts, `mode`, a TLS context for an upgrade, no
    /// transcript.
    pub fn test(mode: TlsMode) -> SessionOptions {
        let tls = TlsContext::new(&Default::default()).expect("the default TLS context");
        SessionOptions {
            connect: ConnectOptions::default(),
            tls_mode: mode,
            tls: Some(tls),
            transcript: None,
        }
    }
}

/// Connects to `target` and, for a scheme with TLS from the first byte, makes the TLS
/// handshake. The connect phase as a whole (TCP, TLS, the greeting, an upgrade) has one
/// deadline, returned, so that a server that drips its greeting is cut off at `--timeout`.
pub fn connect(target: &Target, opts: &SessionOptions) -> Result<(NetStream, Instant)> {
    let deadline = Instant::now() + opts.connect.connect_timeout;
    let stream = net::open(target, &opts.connect, opts.tls.as_ref(), deadline)?;
    Ok((stream, deadline))
}

/// The engine on `stream` (any transport: a socket, TLS, a test's script), its replies
/// bounded by `deadline` until the caller ends the connect phase ([`end_phase`]), and
/// each by the shorter of the two timeouts, so that a wait that runs out says the bound
/// that ended it; then the server's greeting, read past the replies `more` says announce
/// another (FTP's `120 ready in N minutes`). A wait that runs out is "no greeting from the
/// server within N s". The greeting is returned as it came: what it must say is the
/// protocol's business.
pub fn start<S: Transport, D: Dialect>(
    stream: S,
    target: &Target,
    dialect: D,
    opts: &SessionOptions,
    deadline: Instant,
    more: impl Fn(&D::Reply) -> bool,
) -> Result<(Conn<S, D>, D::Reply)> {
    let mut conn = Conn::new(stream, target.authority(), dialect);
    let within = opts.connect.connect_timeout;
    conn.set_reply_timeout(opts.connect.idle_timeout.min(within));
    conn.set_phase_deadline(Some(deadline));
    conn.set_transcript(opts.transcript.clone());
    loop {
        let r = conn
            .read_reply()
            .map_err(|e| no_greeting(e, conn.peer(), within))?;
        if !more(&r) {
            return Ok((conn, r));
        }
    }
}

/// Ends the connect phase (greeting, upgrade to TLS): from here on each reply is bounded
/// by the idle timeout alone.
pub fn end_phase<S, D>(conn: &mut Conn<S, D>, opts: &SessionOptions) {
    conn.set_phase_deadline(None);
    conn.set_reply_timeout(opts.connect.idle_timeout);
}

/// A timeout while waiting for the greeting, said as such: "HOST:PORT: no greeting from the
/// server within N s" (any other error as it is).
fn no_greeting(e: Error, peer: &str, within: Duration) -> Error {
    if e.kind() == Kind::Timeout {
        e.with_message(format!(
            "{peer}: no greeting from the server within {} s",
            within.as_secs_f64()
        ))
    } else {
        e
    }
}

/// Reads the reply to `verb`; a wait that runs out says which command got no answer.
pub fn reply_to<S: Transport, D: Dialect>(conn: &mut Conn<S, D>, verb: &str) -> Result<D::Reply> {
    conn.read_reply().map_err(|e| no_reply(e, conn, verb))
}

/// A timeout while waiting for the reply to `verb`, said the one way every protocol says
/// it: "HOST:PORT: no reply to VERB within N s" (any other error as it is).
pub fn no_reply<S, D>(e: Error, conn: &Conn<S, D>, verb: &str) -> Error {
    if e.kind() != Kind::Timeout {
        return e;
    }
    let within = conn.reply_timeout().map_or(0.0, |d| d.as_secs_f64());
    e.with_message(format!(
        "{}: no reply to {verb} within {within} s",
        conn.peer()
    ))
}

/// Sends `verb` (with `arg`) and reads its reply, a timeout named as [`reply_to`] names it.
pub fn command<S: Transport, D: Dialect>(
    conn: &mut Conn<S, D>,
    verb: &str,
    arg: Option<&str>,
) -> Result<D::Reply> {
    conn.send_command(verb, arg)?;
    reply_to(conn, verb)
}

/// [`command`], refusing anything but a reply that says OK (the reply's own error, in the
/// context `HOST:PORT: VERB`).
pub fn expect_ok<S: Transport, D: Dialect>(
    conn: &mut Conn<S, D>,
    verb: &str,
    arg: Option<&str>,
) -> Result<D::Reply> {
    let r = command(conn, verb, arg)?;
    if r.is_ok() {
        Ok(r)
    } else {
        Err(r.error(&format_args!("{}: {verb}", conn.peer())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::url::Scheme;
    use crate::smtp::reply::Smtp;
    use crate::wire::tests::MockStream;

    #[test]
    fn a_wait_that_runs_out_names_the_bound_that_ended_it() {
        // The defaults: 30 s for the connect phase, 120 s for a reply after it.
        let opts = SessionOptions {
            connect: ConnectOptions::default(),
            tls_mode: TlsMode::None,
            tls: None,
            transcript: None,
        };
        let target = Target::parse("smtp://mx.example", &[Scheme::Smtp]).unwrap();
        // The greeting, then nothing: the answer to each command never comes.
        let stream = MockStream::scripted(&[b"220 hi\r\n", b"", b"", b""], 1);
        let deadline = Instant::now() + opts.connect.connect_timeout;
        let (mut conn, _) = start(stream, &target, Smtp, &opts, deadline, |_| false).unwrap();
        let e = command(&mut conn, "EHLO", Some("me")).unwrap_err();
        assert_eq!(e.exit_code(), 75);
        // Within the connect phase, its 30 s ended the wait, not the 120 s of a reply.
        assert_eq!(e.to_string(), "mx.example:25: no reply to EHLO within 30 s");
        let stream = MockStream::scripted(&[b"220 hi\r\n", b"", b"", b""], 1);
        let (mut conn, _) = start(stream, &target, Smtp, &opts, deadline, |_| false).unwrap();
        end_phase(&mut conn, &opts);
        let e = command(&mut conn, "NOOP", None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "mx.example:25: no reply to NOOP within 120 s"
        );
    }
}
