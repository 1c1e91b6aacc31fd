//! smtp-send's library half: the SMTP client ([`client`]), the message as read and
//! rewritten on its way ([`message`]), and the RFC 5322 address lists `-t` reads
//! ([`address`]). Nothing here prints or exits.

pub mod address;
pub mod client;
pub mod message;
pub mod reply;
