//! Who logs in, for every protocol: FTP's USER/PASS, SMTP AUTH, POP3 and IMAP logins. Where
//! the name and password come from (URL, files, variables, netrc, a prompt) is the command
//! line's business (`cli::credentials`); the clients only take a [`Login`].

use std::fmt;
use std::path::{Path, PathBuf};

/// A user name and its password.
#[derive(Clone, PartialEq, Eq)]
pub struct Login {
    pub user: String,
    pub password: String,
    /// An anonymous login's "password" is an e-mail address, not a secret: `--tls auto` may
    /// send it in cleartext.
    pub anonymous: bool,
    /// The netrc file the password came from, if it did: netrc holds it for the host,
    /// perhaps for another service, so no refusal suggests `--tls none` for it.
    pub netrc: Option<PathBuf>,
}

impl Login {
    /// A login with a secret password.
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> Login {
        Login {
            user: user.into(),
            password: password.into(),
            anonymous: false,
            netrc: None,
        }
    }

    /// The same login, its password taken from the netrc file `file` (if any).
    pub fn from_netrc(self, file: Option<PathBuf>) -> Login {
        Login {
            netrc: file,
            ..self
        }
    }

    /// The end of the message that refuses to send this password without TLS under
    /// `--tls auto` (docs/CONVENTIONS.md, "TLS policy"): `--tls none` is the way out for a
    /// password given for this run, never for one netrc holds for the host (item 39 of the
    /// hostile review: an FTP password sent to a mail server in cleartext).
    pub fn cleartext_refusal(&self) -> String {
        cleartext_refusal(self.netrc.as_deref())
    }

    /// FTP's anonymous login (RFC 1635): user `anonymous`, an e-mail address as password.
    pub fn anonymous() -> Login {
        Login {
            user: "anonymous".into(),
            password: "anonymous@".into(),
            anonymous: true,
            netrc: None,
        }
    }
}

/// [`Login::cleartext_refusal`] for a password from the netrc file `netrc`, or given for
/// this run (`None`).
pub fn cleartext_refusal(netrc: Option<&Path>) -> String {
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

impl fmt::Debug for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never let a password reach a log through {:?}.
        write!(f, "Login({}, ****)", self.user)
    }
}
