//! posthaste's integration tests, in one binary so that they share one build, one set of
//! helpers (`support`) and one run.
//!
//! - `ftp_get`, `mime_pack`: the tools as a user sees them (bytes on disk, the transcript on
//!   the wire, the exit status, the message on stderr);
//! - `fake_server_selftest`: the protocol-neutral core of the fake servers, through a toy
//!   POP3-like protocol and a plain TCP client;
//! - `fake_ftp_selftest`: the fake FTP server checked against curl, so it can be trusted;
//! - `interop_vsftpd`: ftp-get and the FTP client against the loopback vsftpd instances
//!   that `scripts/test-servers` runs;
//! - `generated`: man pages and completions are current.
//!
//! `cargo test --release --test it MODULE::` runs one module's tests.

mod support;

/// The man page and completion renderer of `cargo run --example generate`.
#[path = "../../examples/generate/render.rs"]
mod render;

mod fake_ftp_selftest;
mod fake_server_selftest;
mod ftp_get;
mod generated;
mod imap_fetch;
mod interop_imap;
mod interop_pop;
mod interop_vsftpd;
mod mime_pack;
mod pop_fetch;
