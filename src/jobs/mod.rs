//! The jobs the tools run, on the protocol clients: ftp-get's downloads ([`ftp_get`]),
//! ftp-put's uploads ([`ftp_put`]), ftp-ls's listings ([`ftp_ls`]) on the walk of a remote
//! tree that ftp-get takes too ([`walk`]), smtp-send's deliveries ([`smtp_send`]), and the
//! fetch loops of pop-fetch ([`pop_fetch`]) and imap-fetch ([`imap_fetch`]) that deliver
//! mail into a local store and never lose a message, in the one order [`batch`] keeps.

pub mod batch;
pub mod ftp_get;
pub mod ftp_ls;
pub mod ftp_put;
pub mod imap_fetch;
pub mod login;
pub mod pop_fetch;
pub mod reconnect;
pub mod retry;
pub mod smtp_send;
pub mod walk;
mod workers;

/// `1 message`, `2 messages`: a fetch's progress line.
fn messages(n: usize) -> String {
    format!("{n} message{}", if n == 1 { "" } else { "s" })
}

use crate::net::url::Target;

/// `items` grouped by server and login (one control connection each), in the order in which
/// servers first appear, each group in the items' own order.
pub fn by_session<T>(items: &[T], target: impl Fn(&T) -> &Target) -> Vec<Vec<&T>> {
    let mut groups: Vec<Vec<&T>> = Vec::new();
    for item in items {
        match groups
            .iter_mut()
            .find(|g| target(g[0]).same_session(target(item)))
        {
            Some(g) => g.push(item),
            None => groups.push(vec![item]),
        }
    }
    groups
}
