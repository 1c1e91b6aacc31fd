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
}

impl Login for Credentials {
    fn user(&self) -> &str {
        &self.user
    }

    fn credentials(&mut self) -> Result<Credentials> {
        Ok(self.clone())
    }
}
