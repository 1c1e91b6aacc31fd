//! The engine's bounds, in one leaf module that the connection ([`crate::wire::Conn`]), the
//! reply grammars ([`crate::wire::reply`]) and dot-stuffing ([`crate::wire::dot`]) all read
//! without reading each other: every read from the network is bounded in line length, lines
//! per reply and time, and what is written ahead of the replies is bounded too.

use std::time::Duration;

/// A reply line longer than this is a protocol error, never unbounded memory.
pub const MAX_LINE: usize = 8 * 1024;
/// A multi-line reply of more lines than this is a protocol error.
pub const MAX_REPLY_LINES: usize = 1000;
/// How many bytes of commands may be in flight (sent or queued, their replies not read yet)
/// before the client must stop and read. RFC 2920 section 3.1: a client that cannot write
/// and read at once must keep each group of commands within the TCP window, "usually, but
/// not always, 4K octets", or it may deadlock: the server, blocked writing replies nobody
/// reads, stops reading commands, and our write blocks too. Replies are rarely longer than
/// the commands they answer, so 4 KiB of commands cannot fill the windows either way.
pub const PIPELINE_WINDOW: usize = 4096;
/// The connection's one read buffer, shared by replies, dot-terminated data and literals.
pub(crate) const READ_BUF: usize = 16 * 1024;
/// How long a client waits for the reply to its last command (SMTP and FTP QUIT, IMAP
/// LOGOUT) once its work is done: that reply changes nothing, so a server that never sends
/// it must not hold the run for the whole reply timeout.
pub const FAREWELL_WAIT: Duration = Duration::from_secs(2);
