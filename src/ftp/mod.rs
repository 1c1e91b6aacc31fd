//! FTP and FTPS (RFC 959, RFC 4217): the client ([`FtpClient`]) and the listing parsers
//! ([`list`]) that make sense of what [`FtpClient::listing`] hands back.

pub mod client;
pub mod list;
pub(crate) mod parse;
pub(crate) mod reply;

pub use crate::session::Credentials;
pub use crate::wire::reply::Reply;
pub use client::{FtpClient, FtpOptions};
pub use parse::Features;
