//! posthaste's integration tests, in one binary so that they share one build, one set of
//! helpers (`support`) and one run.
//!
//! - `ftp_get`, `mime_pack`: the tools as a user sees them (bytes on disk, the transcript on
//!   the wire, the exit status, the message on stderr; `ftp_get` is a folder of modules, one per
//!   part of its plan);
//! - `ftp_put`, `ftp_ls`: the same for the upload and listing tools, against the fake server;
//! - `fake_server_selftest`: the protocol-neutral core of the fake servers, through a toy
//!   POP3-like protocol and a plain TCP client;
//! - `fake_ftp_selftest`: the fake FTP server checked against curl, so it can be trusted;
//! - `interop_vsftpd`: ftp-get and the FTP client against the loopback vsftpd instances
//!   that `scripts/test-servers` runs;
//! - `interop_ftp_put`: ftp-put, ftp-ls and trees (`-r`, both ways) against them;
//! - `smtp_send`: smtp-send against the fake SMTP server (`support/fake_smtp.rs`);
//! - `interop_smtp`: smtp-send against Postfix smtp-sink and a storing aiosmtpd server
//!   (scripts/servers/smtp);
//! - `pop_fetch`: pop-fetch against the fake POP3 server (`support/fake_pop.rs`);
//! - `interop_pop`: pop-fetch against a private Dovecot (scripts/servers/dovecot);
//! - `imap_fetch`, `interop_imap`: imap-fetch against the fake IMAP server and Dovecot;
//!   `imap_fetch_store`: its stores and state (what is recorded, SIGINT and SIGTERM);
//! - `generated`: man pages and completions are current;
//! - `footprint`: no tool loads libm;
//! - `broken_stderr`: a standard error (or output) whose reader has gone stops no job;
//! - `tls_hints`: implicit TLS to a plaintext port names each protocol's own upgrade;
//! - `farewell`: an unanswered QUIT or LOGOUT does not hold a finished run;
//! - `fault_matrix`: every network tool through each fault (server, network, TLS, local
//!   disk): the exit status, the one line, what is on disk and on the server;
//! - `limits`: `--speed-limit`/`--speed-time` and `--max-time` in every tool;
//! - `netrc_cleartext`: a netrc password is never offered in cleartext with `--tls none`;
//! - `oauth2`: OAuth2 logins with the fake token endpoint (`support/fake_token.rs`): refresh,
//!   rotation, expiry, a revoked consent, the device grant, IDLE's re-login;
//! - `session_layer`: a refused upgrade to TLS is 69 in every protocol, and a SASL exchange
//!   is bounded and cancelled with `*` when given up;
//! - `client_cert`: `--cert`/`--key`, SASL EXTERNAL, `--tls-server-name`, `--tls-min` and
//!   `--tls-max` against the fake servers behind a TLS front; `interop_cert`: the same
//!   against vsftpd with `require_cert` and Dovecot with EXTERNAL (scripts/servers/certauth).
//!
//! `cargo test --release --test it MODULE::` runs one module's tests.

mod support;

/// The man page and completion renderer of `cargo run --example generate`.
#[path = "../../examples/generate/render.rs"]
mod render;

mod accounts;
mod broken_stderr;
mod client_cert;
mod fake_ftp_selftest;
mod fake_server_selftest;
mod farewell;
mod fault_matrix;
mod footprint;
mod ftp_get;
mod ftp_ls;
mod ftp_put;
mod generated;
mod hints;
mod imap_fetch;
mod imap_fetch_store;
mod import;
mod interop_accounts;
mod interop_cert;
mod interop_ftp_put;
mod interop_imap;
mod interop_pop;
mod interop_smtp;
mod interop_vsftpd;
mod limits;
mod mime_pack;
mod netrc_cleartext;
mod oauth2;
mod pin;
mod pop_fetch;
mod progress_lines;
mod proxy;
mod session_layer;
mod smtp_send;
mod tls_hints;
