//! The jobs the tools run, on the protocol clients: ftp-get's downloads ([`ftp_get`]),
//! ftp-put's uploads ([`ftp_put`]), and the fetch loops of pop-fetch ([`pop_fetch`]) and
//! imap-fetch ([`imap_fetch`]) that deliver mail into a local store and never lose a message.

pub mod ftp_get;
pub mod ftp_put;
pub mod imap_fetch;
pub mod pop_fetch;
