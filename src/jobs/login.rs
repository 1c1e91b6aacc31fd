//! Where each connection's login comes from. A run may connect many times (a retry after a
//! drop, `--retries`, imap-fetch's `--idle` for days, smtp-send's reconnect between
//! messages), and a secret may not outlive it: an OAuth2 access token expires within the
//! hour. So the jobs ask a [`Login`] for credentials at every connection, never once per
//! run; a password simply gives itself again. (FTP's per-URL `LoginFor` is the same seam
//! keyed by target.)

use crate::error::Result;
use crate::session::Credentials;
use std::time::Duration;

/// The credentials of each new connection.
pub trait Login {
    /// Who logs in, the same for every connection (what state files are keyed by).
    fn user(&self) -> &str;

    /// The credentials for a connection about to be made: for an OAuth2 account, a token
    /// valid for a while yet (refreshed first when it is near its expiry).
    fn credentials(&mut self) -> Result<Credentials>;

    /// How long the credentials given last may still serve before they are to be renewed
    /// (an OAuth2 token: its expiry less a margin); `None` for ever. A session that lasts
    /// (IDLE) logs in again with fresh ones by then, before the server ends it.
    fn renew_in(&self) -> Option<Duration> {
        None
    }

    /// The server refused the credentials given last: a source that keeps them (an OAuth2
    /// token cache) forgets them, so that the next connection, or the next run, gets fresh
    /// ones instead of the same refusal until they expire.
    fn refused(&mut self) {}
}

/// `login`'s credentials, used by `connect` (which logs in): a refused login (77) is told
/// to `login` ([`Login::refused`]) before the error is returned.
pub fn connect_with<C>(
    login: &mut dyn Login,
    connect: impl FnOnce(&Credentials) -> Result<C>,
) -> Result<C> {
    let creds = login.credentials()?;
    connect(&creds).inspect_err(|e| {
        if e.kind() == crate::error::Kind::Auth {
            login.refused();
        }
    })
}

impl Login for Credentials {
    fn user(&self) -> &str {
        &self.user
    }

    fn credentials(&mut self) -> Result<Credentials> {
        Ok(self.clone())
    }
}
