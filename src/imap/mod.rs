//! IMAP (RFC 3501 IMAP4rev1, RFC 9051 IMAP4rev2): pure response parsers and the client that
//! imap-fetch uses to log in, select a folder, search it and stream its messages out.

pub mod client;
pub(crate) mod parse;
pub(crate) mod reply;

pub use parse::{Capabilities, Folder};
