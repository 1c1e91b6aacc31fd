//! smtp-send's library half: the SMTP client ([`client`]), the message as read and
//! rewritten on its way (`message`), and the RFC 5322 address lists `-t` reads
//! (`address`). Nothing here prints or exits.

#[cfg(feature = "cli")]
pub(crate) mod address;
pub mod client;
#[cfg(feature = "cli")]
pub(crate) mod message;
pub(crate) mod reply;

pub use crate::wire::dot::LoneCr;
pub use crate::wire::reply::Reply;
