//! Who logs in, for every protocol: FTP's USER/PASS, SMTP AUTH, POP3 and IMAP logins. Where
//! the name and password come from (URL, files, variables, netrc, a prompt) is the command
//! line's business (`cli::credentials`); the clients only take a [`Login`].

use std::fmt;

/// A user name and its password.
#[derive(Clone, PartialEq, Eq)]
pub struct Login {
    pub user: String,
    pub password: String,
    /// An anonymous login's "password" is an e-mail address, not a secret: `--tls auto` may
    /// send it in cleartext.
    pub anonymous: bool,
}

impl Login {
    /// A login with a secret password.
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> Login {
        Login {
            user: user.into(),
            password: password.into(),
            anonymous: false,
        }
    }

    /// FTP's anonymous login (RFC 1635): user `anonymous`, an e-mail address as password.
    pub fn anonymous() -> Login {
        Login {
            user: "anonymous".into(),
            password: "anonymous@".into(),
            anonymous: true,
        }
    }
}

impl fmt::Debug for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never let a password reach a log through {:?}.
        write!(f, "Login({}, ****)", self.user)
    }
}
