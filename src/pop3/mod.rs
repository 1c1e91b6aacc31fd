//! POP3 (RFC 1939) with CAPA and PIPELINING (RFC 2449), STLS (RFC 2595) and SASL (RFC 5034):
//! the client ([`client`]) and the fetch loop that delivers mail into a local store and never
//! loses a message (`crate::jobs::pop_fetch`).

pub mod client;
pub(crate) mod reply;

pub use crate::wire::DotBody;
