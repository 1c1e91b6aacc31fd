//! posthaste: small, script-safe clients for FTP, SMTP, POP3 and MIME.
//!
//! The library never prints and never exits: it returns [`Error`], whose
//! [`exit_code`](Error::exit_code) follows sysexits.h. Binaries in `src/bin/` stay thin.

pub mod cli;
pub mod conn;
pub mod dot;
pub mod error;
pub mod events;
pub mod ftp;
pub mod login;
pub mod mime;
pub mod net;
pub mod netrc;
pub mod reply;
pub mod stdio;
pub mod transfer;

pub use error::{Error, Result};
