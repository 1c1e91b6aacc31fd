//! FTP and FTPS: the protocol client, its pure parsers, and the download logic of ftp-get.

pub mod client;
pub mod get;
pub mod parse;

pub use crate::login::Login;
pub use client::{FtpClient, FtpOptions};
