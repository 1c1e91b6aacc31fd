//! A connection that is made when first needed and made again after it broke: one control
//! connection per server for a whole run (ftp-get's URLs, ftp-put's files, pop-fetch's
//! messages), and a fresh one for the retry after a failure left it in an unknown state.

use crate::error::Result;
use crate::ftp::FtpClient;
use crate::net::stream::Transport;

/// What [`Reconnecting`] needs of a protocol client.
pub trait Connection {
    /// Whether the connection can still be used after the last error.
    fn is_usable(&self) -> bool;
    /// Ends the session politely (QUIT, LOGOUT); errors are irrelevant by then.
    fn close(self);
}

impl<S: Transport> Connection for FtpClient<S> {
    fn is_usable(&self) -> bool {
        FtpClient::is_usable(self)
    }

    fn close(self) {
        self.quit();
    }
}

/// A connection slot: empty, or holding a logged-in client.
pub struct Reconnecting<C: Connection> {
    slot: Option<C>,
}

impl<C: Connection> Default for Reconnecting<C> {
    fn default() -> Self {
        Reconnecting { slot: None }
    }
}

impl<C: Connection> Reconnecting<C> {
    pub fn new() -> Self {
        Self::default()
    }

    /// The connection, made with `connect` when there is none or the last one broke.
    pub fn get(&mut self, connect: impl FnOnce() -> Result<C>) -> Result<&mut C> {
        self.drop_broken();
        match &mut self.slot {
            Some(c) => Ok(c),
            slot => Ok(slot.insert(connect()?)),
        }
    }

    /// Whether a connection is held (usable or not).
    pub fn is_connected(&self) -> bool {
        self.slot.is_some()
    }

    /// Forgets a connection that broke (it is not closed politely: its state is unknown).
    pub fn drop_broken(&mut self) {
        if self.slot.as_ref().is_some_and(|c| !c.is_usable()) {
            self.slot = None;
        }
    }

    /// Closes the connection, if any.
    pub fn close(&mut self) {
        if let Some(c) = self.slot.take() {
            c.close();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Error, Kind};
    use std::cell::Cell;

    struct Fake<'a> {
        usable: bool,
        closed: &'a Cell<u32>,
    }

    impl Connection for Fake<'_> {
        fn is_usable(&self) -> bool {
            self.usable
        }
        fn close(self) {
            self.closed.set(self.closed.get() + 1);
        }
    }

    #[test]
    fn connects_once_and_again_only_after_a_break() {
        let closed = Cell::new(0);
        let made = Cell::new(0);
        let connect = || {
            made.set(made.get() + 1);
            Ok(Fake {
                usable: true,
                closed: &closed,
            })
        };
        let mut r = Reconnecting::new();
        assert!(!r.is_connected());
        r.get(connect).unwrap();
        r.get(connect).unwrap().usable = false;
        assert_eq!(made.get(), 1);
        r.get(connect).unwrap();
        assert_eq!(made.get(), 2, "a broken connection is made again");
        assert_eq!(closed.get(), 0, "a broken one is not closed politely");
        r.close();
        assert_eq!(closed.get(), 1);
        assert!(!r.is_connected());
        let e = r
            .get(|| Err::<Fake, _>(Error::new(Kind::TempFail, "refused")))
            .err()
            .unwrap();
        assert_eq!(e.exit_code(), 75);
        assert!(!r.is_connected());
    }
}
