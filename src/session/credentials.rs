//! Who logs in, for every protocol: FTP's USER/PASS, SMTP AUTH, POP3 and IMAP logins. Where
//! the name and the secret come from (URL, files, variables, netrc, a prompt) is the command
//! line's business (`cli::credentials`); the clients only take [`Credentials`].

use crate::error::{Error, Kind, Result};
use crate::session::sasl::Mechanism;
use std::fmt;
use std::path::{Path, PathBuf};

/// A user name, its secret, how to log in with it, and where the secret came from.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Credentials {
    pub user: String,
    pub secret: Secret,
    /// `--auth`: how to log in (the best the server offers unless forced).
    pub method: Method,
    pub origin: Origin,
}

/// What proves who the user is. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub enum Secret {
    Password(String),
    /// An OAuth2 access token (`--oauth2-token-env`, or the token cache of `--oauth2-*`),
    /// for OAUTHBEARER or XOAUTH2.
    Token(String),
    /// Nothing to send: the server knows who the user is from outside the exchange (the
    /// TLS client certificate, `--cert`), by SASL EXTERNAL (RFC 4422 appendix A). Holds the
    /// authorization identity to ask for, empty for the one the certificate names.
    External(String),
}

/// How to log in (`--auth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Method {
    /// The best the server offers: a SASL mechanism (SCRAM-SHA-256 first), else the
    /// protocol's own login (FTP's and POP3's USER and PASS, IMAP's LOGIN).
    #[default]
    Auto,
    /// POP3's USER and PASS (RFC 1939 section 7), which are not SASL.
    User,
    /// POP3's APOP with the greeting's timestamp (RFC 1939 section 7).
    Apop,
    /// This SASL mechanism (SMTP AUTH, POP3 AUTH, IMAP AUTHENTICATE).
    Sasl(Mechanism),
}

/// Where the secret came from: it decides what `--tls auto` does without TLS, and what a
/// refusal suggests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Given for this run (the URL, a file, a variable, a prompt).
    Given,
    /// The netrc file that holds it for the host, perhaps for another service: no refusal
    /// suggests `--tls none` for it.
    Netrc(PathBuf),
    /// FTP's anonymous login (RFC 1635): the "password" is an e-mail address, not a secret,
    /// and `--tls auto` may send it in cleartext.
    Anonymous,
}

impl Credentials {
    /// A login with a password given for this run.
    pub fn password(user: impl Into<String>, password: impl Into<String>) -> Credentials {
        Credentials {
            user: user.into(),
            secret: Secret::Password(password.into()),
            method: Method::Auto,
            origin: Origin::Given,
        }
    }

    /// A login with an OAuth2 access token (OAUTHBEARER, XOAUTH2).
    pub fn token(user: impl Into<String>, token: impl Into<String>) -> Credentials {
        Credentials {
            secret: Secret::Token(token.into()),
            ..Credentials::password(user, "")
        }
    }

    /// A login by SASL EXTERNAL (the client certificate) as `user` (the name the account
    /// goes by here: its state file, messages; may be empty), asking for the authorization
    /// identity `authzid` (empty: the certificate's own).
    pub fn external(user: impl Into<String>, authzid: impl Into<String>) -> Credentials {
        Credentials {
            secret: Secret::External(authzid.into()),
            method: Method::Sasl(Mechanism::External),
            ..Credentials::password(user, "")
        }
    }

    /// FTP's anonymous login (RFC 1635): user `anonymous`, an e-mail address as password.
    pub fn anonymous() -> Credentials {
        Credentials {
            origin: Origin::Anonymous,
            ..Credentials::password("anonymous", "anonymous@")
        }
    }

    /// The same login, its password taken from the netrc file `file` (if any).
    pub fn from_netrc(self, file: Option<PathBuf>) -> Credentials {
        match file {
            Some(file) => Credentials {
                origin: Origin::Netrc(file),
                ..self
            },
            None => self,
        }
    }

    /// The same login, made with `method`.
    pub fn with_method(self, method: Method) -> Credentials {
        Credentials { method, ..self }
    }

    /// The password or the token, as it goes to the server (nothing for EXTERNAL).
    pub fn secret(&self) -> &str {
        match &self.secret {
            Secret::Password(s) | Secret::Token(s) => s,
            Secret::External(_) => "",
        }
    }

    /// The user name the SASL exchange carries: the authorization identity for EXTERNAL,
    /// else the user's.
    pub fn sasl_user(&self) -> &str {
        match &self.secret {
            Secret::External(authzid) => authzid,
            Secret::Password(_) | Secret::Token(_) => &self.user,
        }
    }

    /// Whether the login sends a secret, which `--tls auto` never sends in cleartext: not an
    /// anonymous login, nor EXTERNAL.
    pub fn sends_secret(&self) -> bool {
        !self.is_anonymous() && !matches!(self.secret, Secret::External(_))
    }

    /// The secret is an OAuth2 access token.
    pub fn is_token(&self) -> bool {
        matches!(self.secret, Secret::Token(_))
    }

    /// An anonymous login, whose "password" is no secret.
    pub fn is_anonymous(&self) -> bool {
        self.origin == Origin::Anonymous
    }

    /// `--auth`, once the login is checked: a user name and a secret every protocol can
    /// send ([`sendable`]), and a method that suits the secret ([`suits`]). What a protocol
    /// logs in with; refused (64) before anything is sent.
    pub fn login_method(&self) -> Result<Method> {
        for (text, what) in [(self.user.as_str(), "user name"), (self.secret(), "secret")] {
            if !sendable(text) {
                return Err(unsendable("the login", what));
            }
        }
        suits(self.method, self.is_token())?;
        let external = self.method == Method::Sasl(Mechanism::External);
        if external != matches!(self.secret, Secret::External(_)) {
            return Err(Error::new(
                Kind::Usage,
                "--auth EXTERNAL logs in with the client certificate (--cert), never with a password or token",
            ));
        }
        Ok(self.method)
    }

    /// The SASL mechanism `--auth` forced, for a protocol whose only logins are SASL and
    /// its own (SMTP, IMAP): POP3's USER and APOP are refused (64).
    pub fn forced_mechanism(&self) -> Result<Option<Mechanism>> {
        match self.login_method()? {
            Method::Auto => Ok(None),
            Method::Sasl(m) => Ok(Some(m)),
            Method::User | Method::Apop => Err(Error::new(
                Kind::Usage,
                "--auth user and --auth apop are POP3's logins",
            )),
        }
    }

    /// The end of the message that refuses to send this secret without TLS under
    /// `--tls auto` (docs/CONVENTIONS.md, "TLS policy"): `--tls none` is the way out for a
    /// password given for this run, never for one netrc holds for the host (item 39 of the
    /// hostile review: an FTP password sent to a mail server in cleartext).
    pub fn cleartext_refusal(&self) -> String {
        match &self.origin {
            Origin::Netrc(file) => cleartext_refusal(Some(file)),
            Origin::Given | Origin::Anonymous => cleartext_refusal(None),
        }
    }
}

/// Whether `text` (a user name, a password, a token) can go to a server at all: CR, LF or
/// NUL would end or split the command that carries it, and SASL's base64 would carry them
/// past the engine's own refusal.
pub fn sendable(text: &str) -> bool {
    !text.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0)
}

/// The refusal (64) of a `what` (`user name`, `password`...) from `source` that is not
/// [`sendable`]: it names where it came from, never the text itself.
pub fn unsendable(source: impl fmt::Display, what: &str) -> Error {
    Error::new(
        Kind::Usage,
        format!(
            "{source}: the {what} contains a CR, LF or NUL character, which no protocol can send"
        ),
    )
}

/// Whether `method` can log in with the secret at hand, an OAuth2 token (`token`) or a
/// password: a token goes by OAUTHBEARER or XOAUTH2 alone (never as a password to USER/PASS,
/// APOP or another mechanism), and they take nothing else. Refused (64) before anything is
/// sent.
pub fn suits(method: Method, token: bool) -> Result<()> {
    let named = match method {
        Method::Auto => return Ok(()),
        Method::User => "user".to_string(),
        Method::Apop => "apop".to_string(),
        Method::Sasl(m) => m.name().to_string(),
    };
    let takes_token = matches!(method, Method::Sasl(m) if m.takes_token());
    match (takes_token, token) {
        (true, false) => Err(Error::new(
            Kind::Usage,
            format!(
                "--auth {named} needs an OAuth2 token (--oauth2-provider, --oauth2-token-endpoint or --oauth2-token-env)"
            ),
        )),
        (false, true) => Err(Error::new(
            Kind::Usage,
            format!("--auth {named} needs a password, but an OAuth2 token was given"),
        )),
        _ => Ok(()),
    }
}

/// [`Credentials::cleartext_refusal`] for a password from the netrc file `netrc`, or given
/// for this run (`None`).
fn cleartext_refusal(netrc: Option<&Path>) -> String {
    match netrc {
        Some(file) => format!(
            "refusing to send the password from netrc file {} in cleartext (netrc holds it for the host, perhaps for another service)",
            file.display()
        ),
        None => {
            "refusing to send the password in cleartext (use --tls none to allow it)".to_string()
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never let a password reach a log through {:?}.
        match self {
            Secret::Password(_) => f.write_str("Password(****)"),
            Secret::Token(_) => f.write_str("Token(****)"),
            Secret::External(authzid) => write!(f, "External({authzid:?})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let shown = format!("{:?}", Credentials::password("bob", "hunter2"));
        assert!(shown.contains("bob") && shown.contains("****"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
        let shown = format!("{:?}", Credentials::token("bob", "ya29.tok"));
        assert!(!shown.contains("ya29"), "{shown}");
    }

    #[test]
    fn an_external_login_is_the_certificate_and_sends_no_secret() {
        let c = Credentials::external("bob", "alice");
        assert_eq!(c.login_method().unwrap(), Method::Sasl(Mechanism::External));
        assert_eq!(c.secret(), "");
        assert_eq!(c.sasl_user(), "alice");
        assert!(!c.sends_secret() && !c.is_token() && !c.is_anonymous());
        // Without an authorization identity: the certificate's own.
        assert_eq!(Credentials::external("bob", "").sasl_user(), "");
        // A password login is never EXTERNAL, whatever --auth says.
        let pw = Credentials::password("bob", "pw").with_method(Method::Sasl(Mechanism::External));
        assert_eq!(pw.login_method().unwrap_err().exit_code(), 64);
    }

    #[test]
    fn the_refusal_names_netrc_and_never_suggests_tls_none_for_it() {
        let c = Credentials::password("bob", "pw");
        assert!(c.cleartext_refusal().contains("--tls none"));
        let c = c.from_netrc(Some(PathBuf::from("/home/bob/.netrc")));
        let refusal = c.cleartext_refusal();
        assert!(refusal.contains("netrc file /home/bob/.netrc"), "{refusal}");
        assert!(!refusal.contains("--tls none"), "{refusal}");
    }

    #[test]
    fn a_token_logs_in_by_xoauth2_alone() {
        let token = Credentials::token("bob", "ya29.tok");
        assert_eq!(token.login_method().unwrap(), Method::Auto);
        let xoauth2 = Method::Sasl(Mechanism::XOAuth2);
        let t = token.clone().with_method(xoauth2);
        assert_eq!(t.login_method().unwrap(), xoauth2);
        for (method, named) in [
            (Method::User, "user"),
            (Method::Apop, "apop"),
            (Method::Sasl(Mechanism::Plain), "PLAIN"),
        ] {
            let e = token
                .clone()
                .with_method(method)
                .login_method()
                .unwrap_err();
            assert_eq!(e.exit_code(), 64);
            assert_eq!(
                e.to_string(),
                format!("--auth {named} needs a password, but an OAuth2 token was given")
            );
        }
        let pw = Credentials::password("bob", "pw").with_method(xoauth2);
        assert_eq!(pw.login_method().unwrap_err().exit_code(), 64);
        assert_eq!(pw.forced_mechanism().unwrap_err().exit_code(), 64);
    }

    #[test]
    fn a_login_no_protocol_can_send_is_refused() {
        for c in [
            Credentials::password("bob\r\nRSET", "pw"),
            Credentials::password("bob", "pw\0"),
            Credentials::token("bob", "ya29\n"),
        ] {
            let e = c.login_method().unwrap_err();
            assert_eq!(e.exit_code(), 64);
            assert!(e.to_string().starts_with("the login: the "), "{e}");
            assert!(!e.to_string().contains("pw") && !e.to_string().contains("RSET"));
        }
    }

    #[test]
    fn pop3_logins_are_refused_elsewhere() {
        let c = Credentials::password("bob", "pw");
        assert_eq!(c.forced_mechanism().unwrap(), None);
        let c = c.with_method(Method::Sasl(Mechanism::Plain));
        assert_eq!(c.forced_mechanism().unwrap(), Some(Mechanism::Plain));
        let c = c.with_method(Method::Apop);
        assert_eq!(c.forced_mechanism().unwrap_err().exit_code(), 64);
    }
}
