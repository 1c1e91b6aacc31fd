//! What several binaries share: common clap arguments, credentials, progress, the
//! generated man pages and completions, and the `main` wrapper that maps errors to exit codes.
//! (The library proper, outside `cli`, never prints; this module is where printing happens.)

pub mod account;
pub mod aliases;
pub mod argv;
pub mod common;
pub mod config;
pub mod credentials;
pub mod fetch;
pub mod ftp_common;
pub mod ftp_get;
pub mod ftp_ls;
pub mod ftp_put;
pub mod generated;
pub mod imap_fetch;
pub mod import;
pub mod libm;
pub mod mime_pack;
pub mod oauth2;
pub mod pop_fetch;
pub mod process;
pub mod progress;
pub mod report;
pub mod signals;
pub mod smtp_send;
pub mod store;
pub mod tool;

pub use tool::{TOOLS, commands};
