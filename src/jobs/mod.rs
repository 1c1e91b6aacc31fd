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
pub mod pop_fetch;
pub mod smtp_send;
pub mod walk;
mod workers;

/// `1 message`, `2 messages`: a fetch's progress line.
fn messages(n: usize) -> String {
    format!("{n} message{}", if n == 1 { "" } else { "s" })
}
