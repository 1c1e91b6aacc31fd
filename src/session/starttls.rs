//! One upgrade to TLS on a connection that began in plaintext (SMTP STARTTLS, RFC 3207;
//! POP3 STLS, RFC 2595 section 4; IMAP STARTTLS, RFC 3501 section 6.2.1; FTP AUTH TLS, RFC
//! 4217 section 4), with the `--tls` policy (docs/CONVENTIONS.md, "TLS policy"). Each
//! protocol says how to ask and how to learn its capabilities again ([`StartTls`]); this
//! module owns the policy, its messages and its one exit code.
//!
//! A server that does not offer TLS, or refuses it whatever its reply (`454`, `431`, `-ERR`,
//! `NO`, `BAD`), is refused with 69: a man in the middle sends `454` as easily as it strips
//! the offer, and a wrapper that retries 75 would retry it for ever. Under `--tls auto`
//! plaintext goes on only when no secret follows (FTP's anonymous login, smtp-send without
//! AUTH). Bytes the server sent before the handshake are refused by the engine
//! ([`Conn::start_tls`](crate::wire::Conn::start_tls)). A client certificate (`--cert`)
//! makes TLS required: it can only be presented over TLS.

use crate::error::{Error, Kind, Result};
use crate::net::tls::{TlsContext, TlsMode};
use crate::net::url::Target;
use crate::session::credentials::Credentials;
use crate::session::open::SessionOptions;
use crate::wire::reply::Reply;

/// How one protocol asks for TLS, implemented by its client (or its connection before the
/// client exists).
pub trait StartTls: Sized {
    /// The command, for messages: `STARTTLS`, `STLS`, `AUTH TLS`.
    const COMMAND: &'static str;

    /// Why the server cannot be asked (it does not announce the command), or `None` when it
    /// may be (it does, or the protocol cannot tell: then the command is tried).
    fn not_offered(&self) -> Option<String>;

    /// Sends the command and reads its reply: `Ok(Ok(()))` when the server agreed,
    /// `Ok(Err(reply))` when it refused, the reply as it reads (`454 TLS not available`).
    fn ask(&mut self) -> Result<std::result::Result<(), String>>;

    /// The handshake, then what the protocol learns again over TLS (capabilities from
    /// before it are forgotten: RFC 3207 section 4.2, RFC 2595 section 4, RFC 3501 section
    /// 6.2.1).
    fn upgrade(self, tls: &TlsContext, host: &str) -> Result<Self>;
}

/// The answer to a request for TLS in a protocol of numbered replies: `yes` (SMTP's `220`,
/// FTP's `234`) agrees, any other refuses, said as it reads (`454 TLS not available`).
pub fn agreed(r: &Reply, yes: u16) -> std::result::Result<(), String> {
    if r.code == yes {
        Ok(())
    } else {
        Err(format!("{} {}", r.code, r.text()))
    }
}

/// Upgrades `session` to TLS as `opts.tls_mode` says, unless the scheme is TLS from the
/// first byte already. `secret` is the login that follows, if any: under `--tls auto` a server without
/// TLS is refused when it would get a secret, and the refusal names where the secret came
/// from. Returns the session, upgraded or, when the policy allows it, still in plaintext.
pub fn starttls<P: StartTls>(
    mut session: P,
    target: &Target,
    opts: &SessionOptions,
    secret: Option<&Credentials>,
) -> Result<P> {
    let (mode, tls) = (opts.tls_mode, opts.tls.as_ref());
    if mode == TlsMode::None || target.scheme.implicit_tls() {
        return Ok(session);
    }
    let why = match session.not_offered() {
        Some(why) => why,
        None => match session.ask()? {
            Ok(()) => {
                let tls = tls.ok_or_else(|| {
                    Error::new(Kind::Software, "TLS requested without a TLS configuration")
                })?;
                return session.upgrade(tls, &target.host);
            }
            Err(reply) => format!("{}: {reply}", P::COMMAND),
        },
    };
    let peer = target.authority();
    let secret = secret.filter(|c| c.sends_secret());
    match (mode, secret) {
        (TlsMode::Required, _) => Err(Error::new(
            Kind::Unavailable,
            format!("{peer}: the server does not offer TLS ({why}) and --tls required is set"),
        )),
        // The certificate is who the user is: without TLS it is never shown.
        _ if tls.is_some_and(TlsContext::presents_certificate) => Err(Error::new(
            Kind::Unavailable,
            format!("{peer}: the server does not offer TLS ({why}), which presenting --cert needs"),
        )),
        (_, Some(c)) => Err(Error::new(
            Kind::Unavailable,
            format!(
                "{peer}: the server does not offer TLS ({why}); {}",
                c.cleartext_refusal()
            ),
        )),
        (_, None) => Ok(session),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::url::Scheme;

    /// A protocol whose server answers the upgrade with `reply`.
    struct Fake {
        offered: bool,
        reply: std::result::Result<(), String>,
        asked: bool,
        upgraded: bool,
    }

    impl StartTls for Fake {
        const COMMAND: &'static str = "STARTTLS";
        fn not_offered(&self) -> Option<String> {
            (!self.offered).then(|| "it does not announce STARTTLS".to_string())
        }
        fn ask(&mut self) -> Result<std::result::Result<(), String>> {
            self.asked = true;
            Ok(self.reply.clone())
        }
        fn upgrade(mut self, _: &TlsContext, _: &str) -> Result<Self> {
            self.upgraded = true;
            Ok(self)
        }
    }

    fn run(
        offered: bool,
        reply: std::result::Result<(), &str>,
        mode: TlsMode,
        secret: Option<&Credentials>,
    ) -> Result<Fake> {
        let target = Target::parse("imap://h.example", &[Scheme::Imap]).unwrap();
        let fake = Fake {
            offered,
            reply: reply.map_err(str::to_string),
            asked: false,
            upgraded: false,
        };
        starttls(fake, &target, &SessionOptions::test(mode), secret)
    }

    #[test]
    fn a_refusal_is_69_whatever_the_reply() {
        let pw = Credentials::password("bob", "pw");
        for reply in ["454 4.7.0 TLS not available", "NO later", "BAD what?"] {
            for mode in [TlsMode::Auto, TlsMode::Required] {
                let e = run(true, Err(reply), mode, Some(&pw)).err().unwrap();
                assert_eq!(e.exit_code(), 69, "{reply}: {e}");
                assert!(!e.is_transient(), "{reply}");
                assert!(
                    e.to_string().contains(&format!("(STARTTLS: {reply})")),
                    "{e}"
                );
            }
        }
    }

    #[test]
    fn plaintext_goes_on_only_when_no_secret_follows() {
        let f = run(false, Ok(()), TlsMode::Auto, None).unwrap();
        assert!(!f.asked && !f.upgraded);
        let anon = Credentials::anonymous();
        assert!(run(true, Err("500 no"), TlsMode::Auto, Some(&anon)).is_ok());
        let e = run(false, Ok(()), TlsMode::Required, None).err().unwrap();
        assert_eq!(
            e.to_string(),
            "h.example:143: the server does not offer TLS (it does not announce STARTTLS) and --tls required is set"
        );
        let pw = Credentials::password("bob", "pw");
        let e = run(false, Ok(()), TlsMode::Auto, Some(&pw)).err().unwrap();
        assert!(
            e.to_string().ends_with("(use --tls none to allow it)"),
            "{e}"
        );
        let f = run(true, Ok(()), TlsMode::None, Some(&pw)).unwrap();
        assert!(!f.asked);
        let f = run(true, Ok(()), TlsMode::Auto, Some(&pw)).unwrap();
        assert!(f.asked && f.upgraded);
    }
}
