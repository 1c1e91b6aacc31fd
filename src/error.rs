//! One error type for the whole toolkit, and its mapping to sysexits.h exit codes
//! (CONVENTIONS.md, "Exit status"). The library never prints and never exits: it returns
//! these, and each binary prints `tool: <message>` and exits with [`Error::exit_code`].

use std::fmt;
use std::io;

/// sysexits.h codes, as msmtp and mpop use them.
pub mod exit {
    pub const OK: u8 = 0;
    pub const USAGE: u8 = 64;
    pub const DATAERR: u8 = 65;
    pub const NOINPUT: u8 = 66;
    pub const NOUSER: u8 = 67;
    pub const NOHOST: u8 = 68;
    pub const UNAVAILABLE: u8 = 69;
    pub const SOFTWARE: u8 = 70;
    pub const CANTCREAT: u8 = 73;
    pub const IOERR: u8 = 74;
    pub const TEMPFAIL: u8 = 75;
    pub const PROTOCOL: u8 = 76;
    pub const NOPERM: u8 = 77;
}

/// Every failure the library can report. Each variant carries a complete, human-readable
/// message of the form `<what failed>: <why>` that names the file, host or header at fault.
#[derive(Debug)]
pub enum Error {
    /// Bad flags or arguments (64).
    Usage(String),
    /// The input message is malformed, or the server rejected the message after DATA (65).
    Data(String),
    /// A local input file, or the remote file to fetch, does not exist or cannot be read (66).
    NoInput(String),
    /// A recipient was permanently rejected (67).
    NoUser(String),
    /// The host name does not resolve (68).
    NoHost(String),
    /// The service refused permanently, or TLS was required but not offered (69).
    Unavailable(String),
    /// An internal error: a bug (70).
    Software(String),
    /// A local output file or folder cannot be created (73).
    CantCreate(String),
    /// A local read/write error, or the connection broke mid-transfer (74).
    Io(String),
    /// Try again later: connection refused, a 4xx reply without a more specific meaning (75).
    TempFail(String),
    /// The connect or a wait for the server took longer than `--timeout` (75).
    Timeout(String),
    /// The server's reply was malformed or unexpected (76).
    Protocol(String),
    /// TLS handshake or certificate failure (76).
    Tls(String),
    /// Login failed, or permission denied on the server (77).
    Auth(String),
    /// A server reply that ends an operation, classified by its code:
    /// 4xx is transient (75), 530/532 is a failed login (77), other 5xx is permanent (69),
    /// and anything else was unexpected (76).
    Reply {
        context: String,
        code: u16,
        text: String,
    },
    /// Our standard output was closed by the reader (`| head`): the tool stops quietly, 0.
    StdoutClosed,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The exit status a tool ends with when this error is the first failure of its run.
    pub fn exit_code(&self) -> u8 {
        use exit::*;
        match self {
            Error::Usage(_) => USAGE,
            Error::Data(_) => DATAERR,
            Error::NoInput(_) => NOINPUT,
            Error::NoUser(_) => NOUSER,
            Error::NoHost(_) => NOHOST,
            Error::Unavailable(_) => UNAVAILABLE,
            Error::Software(_) => SOFTWARE,
            Error::CantCreate(_) => CANTCREAT,
            Error::Io(_) => IOERR,
            Error::TempFail(_) | Error::Timeout(_) => TEMPFAIL,
            Error::Protocol(_) | Error::Tls(_) => PROTOCOL,
            Error::Auth(_) => NOPERM,
            Error::StdoutClosed => OK,
            Error::Reply { code, .. } => match code {
                400..=499 => TEMPFAIL,
                530 | 532 => NOPERM,
                500..=599 => UNAVAILABLE,
                _ => PROTOCOL,
            },
        }
    }

    /// Transient failures (exit 75 class, and a connection cut mid-transfer) are worth a
    /// retry with `--retries`; everything else would fail the same way again.
    pub fn is_transient(&self) -> bool {
        matches!(self, Error::Io(_) if self.is_network()) || self.exit_code() == exit::TEMPFAIL
    }

    fn is_network(&self) -> bool {
        matches!(self, Error::Io(m) if m.contains(NET_MARK))
    }

    /// Prefixes the message with more context (`"ftp://host/x: "` + message), keeping the kind.
    pub fn context(self, what: impl fmt::Display) -> Error {
        let what = what.to_string();
        let wrap = |m: String| format!("{what}: {m}");
        match self {
            Error::Usage(m) => Error::Usage(wrap(m)),
            Error::Data(m) => Error::Data(wrap(m)),
            Error::NoInput(m) => Error::NoInput(wrap(m)),
            Error::NoUser(m) => Error::NoUser(wrap(m)),
            Error::NoHost(m) => Error::NoHost(wrap(m)),
            Error::Unavailable(m) => Error::Unavailable(wrap(m)),
            Error::Software(m) => Error::Software(wrap(m)),
            Error::CantCreate(m) => Error::CantCreate(wrap(m)),
            Error::Io(m) => Error::Io(wrap(m)),
            Error::TempFail(m) => Error::TempFail(wrap(m)),
            Error::Timeout(m) => Error::Timeout(wrap(m)),
            Error::Protocol(m) => Error::Protocol(wrap(m)),
            Error::Tls(m) => Error::Tls(wrap(m)),
            Error::Auth(m) => Error::Auth(wrap(m)),
            Error::Reply {
                context,
                code,
                text,
            } => Error::Reply {
                context: wrap(context),
                code,
                text,
            },
            Error::StdoutClosed => Error::StdoutClosed,
        }
    }

    /// An I/O error on a network connection: a timeout is a TEMPFAIL (75), anything else
    /// means the connection broke (74).
    pub fn network(what: impl fmt::Display, err: io::Error) -> Error {
        match err.kind() {
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
                Error::Timeout(format!("{what}: timed out waiting for the server"))
            }
            io::ErrorKind::UnexpectedEof => Error::Io(format!(
                "{what}: {NET_MARK}: the server closed the connection"
            )),
            _ => Error::Io(format!("{what}: {NET_MARK}: {}", io_reason(&err))),
        }
    }

    /// A transfer ended before all its bytes arrived: a broken connection (74, transient).
    pub fn cut_short(what: impl fmt::Display, got: u64, want: u64) -> Error {
        Error::Io(format!(
            "{what}: {NET_MARK}: received {got} of {want} bytes (transfer cut short)"
        ))
    }

    /// A local file could not be read (66).
    pub fn no_input(path: impl fmt::Display, err: &io::Error) -> Error {
        Error::NoInput(format!("{path}: {}", io_reason(err)))
    }

    /// A local file or folder could not be created (73).
    pub fn cant_create(path: impl fmt::Display, err: &io::Error) -> Error {
        Error::CantCreate(format!("{path}: {}", io_reason(err)))
    }

    /// Writing to standard output failed: a closed pipe ends the run quietly, anything else
    /// is a local I/O error.
    pub fn stdout(err: &io::Error) -> Error {
        if err.kind() == io::ErrorKind::BrokenPipe {
            Error::StdoutClosed
        } else {
            Error::local_io("standard output", err)
        }
    }

    /// A local read or write failed (74).
    pub fn local_io(path: impl fmt::Display, err: &io::Error) -> Error {
        Error::Io(format!("{path}: {}", io_reason(err)))
    }
}

/// Marks I/O messages that came from the network, so that [`Error::is_transient`] can tell a
/// broken connection (worth a retry) from a full disk (not).
const NET_MARK: &str = "connection lost";

/// `text` with every character that could act on a terminal made visible: C0 and C1 control
/// characters and DEL as `\xNN`, Unicode bidirectional and invisible format controls as
/// `\u{NNNN}`. Text from a server (a reply, a file name) and anything else printed on stderr
/// goes through this, so a hostile reply cannot clear the screen, retitle the terminal, or
/// draw a fake line of its own.
pub fn visible(text: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let u = c as u32;
        if c.is_control() {
            if u < 0x100 {
                let _ = write!(out, "\\x{u:02x}");
            } else {
                let _ = write!(out, "\\u{{{u:04x}}}");
            }
        } else if matches!(u, 0x200b..=0x200f | 0x2028..=0x202e | 0x2060..=0x2069 | 0xfeff) {
            let _ = write!(out, "\\u{{{u:04x}}}");
        } else {
            out.push(c);
        }
    }
    out
}

/// The reason part of an io::Error, without Rust's "(os error N)" suffix.
pub fn io_reason(err: &io::Error) -> String {
    let s = err.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(m)
            | Error::Data(m)
            | Error::NoInput(m)
            | Error::NoUser(m)
            | Error::NoHost(m)
            | Error::Unavailable(m)
            | Error::Software(m)
            | Error::CantCreate(m)
            | Error::Io(m)
            | Error::TempFail(m)
            | Error::Timeout(m)
            | Error::Protocol(m)
            | Error::Tls(m)
            | Error::Auth(m) => f.write_str(m),
            Error::Reply {
                context,
                code,
                text,
            } => write!(f, "{context}: server said: {code} {text}"),
            Error::StdoutClosed => f.write_str("standard output was closed"),
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_codes_map_to_sysexits() {
        let r = |code| Error::Reply {
            context: "x".into(),
            code,
            text: "t".into(),
        };
        assert_eq!(r(421).exit_code(), 75);
        assert_eq!(r(530).exit_code(), 77);
        assert_eq!(r(550).exit_code(), 69);
        assert_eq!(r(150).exit_code(), 76);
    }

    #[test]
    fn network_errors_are_transient_local_ones_are_not() {
        let e = Error::network("host", io::Error::from(io::ErrorKind::ConnectionReset));
        assert_eq!(e.exit_code(), 74);
        assert!(e.is_transient());
        let e = Error::local_io("file", &io::Error::from(io::ErrorKind::StorageFull));
        assert_eq!(e.exit_code(), 74);
        assert!(!e.is_transient());
        let e = Error::network("host", io::Error::from(io::ErrorKind::TimedOut));
        assert_eq!(e.exit_code(), 75);
        assert!(e.is_transient());
    }

    #[test]
    fn visible_escapes_what_a_terminal_would_act_on() {
        assert_eq!(
            visible("550 \x1b[2J\x1b]0;pwned\x07ok"),
            "550 \\x1b[2J\\x1b]0;pwned\\x07ok"
        );
        assert_eq!(
            visible("a\rb\nc\0\x7f\u{9b}"),
            "a\\x0db\\x0ac\\x00\\x7f\\x9b"
        );
        assert_eq!(visible("evil\u{202e}txt.exe"), "evil\\u{202e}txt.exe");
        assert_eq!(visible("Grüße, ok 226"), "Grüße, ok 226");
    }

    #[test]
    fn context_keeps_the_kind() {
        let e = Error::NoInput("x: gone".into()).context("ftp://h/x");
        assert_eq!(e.exit_code(), 66);
        assert_eq!(e.to_string(), "ftp://h/x: x: gone");
    }
}
