//! One error type for the whole toolkit, and its mapping to sysexits.h exit codes
//! (docs/CONVENTIONS.md, "Exit status"). The library never prints and never exits: it returns
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
    /// Not in sysexits.h: the message may have reached some of its recipients (smtp-send).
    pub const PARTIAL: u8 = 79;
}

/// One row of the exit-status table (docs/CONVENTIONS.md, "Exit status"): the one source for
/// [`Kind::exit_code`], every man page's EXIT STATUS section and `--help`.
#[derive(Debug, Clone, Copy)]
pub struct ExitStatus {
    pub code: u8,
    /// The sysexits.h name.
    pub name: &'static str,
    /// When a tool ends with it, in general; a tool may say more for itself.
    pub meaning: &'static str,
}

/// The exit statuses of every tool, in order.
pub const EXIT_STATUS: &[ExitStatus] = &[
    ExitStatus {
        code: exit::OK,
        name: "OK",
        meaning: "everything asked for was done",
    },
    ExitStatus {
        code: exit::USAGE,
        name: "USAGE",
        meaning: "bad flags or arguments",
    },
    ExitStatus {
        code: exit::DATAERR,
        name: "DATAERR",
        meaning: "the input message is malformed, or the server rejected the message",
    },
    ExitStatus {
        code: exit::NOINPUT,
        name: "NOINPUT",
        meaning: "a local input file, or the remote file to fetch, does not exist or cannot be read",
    },
    ExitStatus {
        code: exit::NOUSER,
        name: "NOUSER",
        meaning: "a recipient was permanently rejected",
    },
    ExitStatus {
        code: exit::NOHOST,
        name: "NOHOST",
        meaning: "the host name does not resolve",
    },
    ExitStatus {
        code: exit::UNAVAILABLE,
        name: "UNAVAILABLE",
        meaning: "the service refused permanently, or TLS was required but not offered",
    },
    ExitStatus {
        code: exit::SOFTWARE,
        name: "SOFTWARE",
        meaning: "an internal error (a bug)",
    },
    ExitStatus {
        code: exit::CANTCREAT,
        name: "CANTCREAT",
        meaning: "a local output file or folder cannot be created",
    },
    ExitStatus {
        code: exit::IOERR,
        name: "IOERR",
        meaning: "a local read or write error, or the connection broke mid-transfer",
    },
    ExitStatus {
        code: exit::TEMPFAIL,
        name: "TEMPFAIL",
        meaning: "try again later: a 4xx reply, a timeout, a refused connection",
    },
    ExitStatus {
        code: exit::PROTOCOL,
        name: "PROTOCOL",
        meaning: "the server's reply was malformed or unexpected; TLS handshake or certificate failure",
    },
    ExitStatus {
        code: exit::NOPERM,
        name: "NOPERM",
        meaning: "login failed, or permission denied on the server",
    },
    ExitStatus {
        code: exit::PARTIAL,
        name: "PARTIAL",
        meaning: "the message may have reached some or all of its recipients: sending it again may deliver it twice",
    },
];

/// What kind of failure an [`Error`] is: decides the exit status, and with
/// [`Error::is_transient`] whether a retry may help. Policy is decided from kinds, never from
/// exit numbers or message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// Bad flags or arguments (64).
    Usage,
    /// The input message is malformed, or the server rejected the message after DATA (65).
    Data,
    /// A local input file, or the remote file to fetch, does not exist or cannot be read (66).
    NoInput,
    /// A recipient was permanently rejected (67).
    NoUser,
    /// The host name does not resolve (68).
    NoHost,
    /// The service refused permanently, or TLS was required but not offered (69).
    Unavailable,
    /// An internal error: a bug (70).
    Software,
    /// A local output file or folder cannot be created (73).
    CantCreate,
    /// A local read/write error, or the connection broke mid-transfer (74).
    Io,
    /// Try again later: connection refused, a 4xx reply (75).
    TempFail,
    /// The connect or a wait for the server took longer than `--timeout` (75).
    Timeout,
    /// A limit the user set on the whole run was reached: `--max-time`, or data that flowed
    /// slower than `--speed-limit` for `--speed-time` (75). Named as such, never reworded
    /// as a reply that did not come.
    RunLimit,
    /// The server's reply was malformed or unexpected (76).
    Protocol,
    /// TLS handshake or certificate failure (76).
    Tls,
    /// Login failed, or permission denied on the server (77).
    Auth,
    /// Our standard output was closed by its reader (`| head`): the tool stops quietly (0).
    StdoutClosed,
    /// The message went to some recipients and not to others, or may have gone (its final
    /// reply was lost): sending it again may deliver it twice, so it is not "try again" (79).
    Partial,
}

impl Kind {
    /// The sysexits.h status a tool ends with when an error of this kind is its first failure.
    pub fn exit_code(self) -> u8 {
        use exit::*;
        match self {
            Kind::Usage => USAGE,
            Kind::Data => DATAERR,
            Kind::NoInput => NOINPUT,
            Kind::NoUser => NOUSER,
            Kind::NoHost => NOHOST,
            Kind::Unavailable => UNAVAILABLE,
            Kind::Software => SOFTWARE,
            Kind::CantCreate => CANTCREAT,
            Kind::Io => IOERR,
            Kind::TempFail | Kind::Timeout | Kind::RunLimit => TEMPFAIL,
            Kind::Protocol | Kind::Tls => PROTOCOL,
            Kind::Auth => NOPERM,
            Kind::StdoutClosed => OK,
            Kind::Partial => PARTIAL,
        }
    }

    /// The kind of a final server reply, by its code (FTP, SMTP; RFC 959 4.2, RFC 5321 4.2.1):
    /// 4xx transient, 530/532/535 a failed login, other 5xx permanent, anything else
    /// unexpected.
    pub fn of_reply(code: u16) -> Kind {
        match code {
            400..=499 => Kind::TempFail,
            530 | 532 | 535 => Kind::Auth,
            500..=599 => Kind::Unavailable,
            _ => Kind::Protocol,
        }
    }
}

/// Every failure the library can report: its [`Kind`], a complete, human-readable message of
/// the form `<what failed>: <why>` that names the file, host or header at fault, the
/// `io::Error` behind it when there is one, and whether trying again may help.
#[derive(Debug)]
pub struct Error {
    kind: Kind,
    message: String,
    /// The code of the server reply this error reports, if it reports one.
    reply_code: Option<u16>,
    transient: bool,
    source: Option<io::Error>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error of `kind`; transient when the kind is (a timeout, a 4xx-class failure).
    pub fn new(kind: Kind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            reply_code: None,
            transient: matches!(kind, Kind::TempFail | Kind::Timeout),
            source: None,
        }
    }

    /// A server reply that ends an operation, classified by its code ([`Kind::of_reply`]).
    pub fn reply(context: impl fmt::Display, code: u16, text: &str) -> Error {
        let mut e = Error::new(
            Kind::of_reply(code),
            format!("{context}: server said: {code} {text}"),
        );
        e.reply_code = Some(code);
        e
    }

    /// Standard output's reader went away (`| head`): ends a run quietly.
    pub fn stdout_closed() -> Error {
        Error::new(Kind::StdoutClosed, "standard output was closed")
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The code of the server reply behind this error, if any.
    pub fn reply_code(&self) -> Option<u16> {
        self.reply_code
    }

    /// The message, without the tool's name.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The exit status a tool ends with when this error is the first failure of its run.
    pub fn exit_code(&self) -> u8 {
        self.kind.exit_code()
    }

    /// Whether trying again may help (`--retries`): a timeout, a 4xx reply, a connection
    /// that broke. A full disk or a refused login would fail the same way again.
    pub fn is_transient(&self) -> bool {
        self.transient
    }

    /// The same error, marked as worth (or not worth) a retry.
    pub fn transient(mut self, transient: bool) -> Error {
        self.transient = transient;
        self
    }

    /// The same error with another kind (a 550 to RETR is a missing file, say), keeping its
    /// message, source and reply code.
    pub fn with_kind(mut self, kind: Kind) -> Error {
        self.kind = kind;
        self
    }

    /// The same error with another message (naming the command that got no answer, say).
    pub fn with_message(mut self, message: impl Into<String>) -> Error {
        self.message = message.into();
        self
    }

    pub(crate) fn with_source(mut self, source: io::Error) -> Error {
        self.source = Some(source);
        self
    }

    /// The `io::Error` behind this error, if there is one.
    pub fn io_source(&self) -> Option<&io::Error> {
        self.source.as_ref()
    }

    /// Prefixes the message with more context (`"ftp://host/x: "` + message), keeping the rest.
    pub fn context(mut self, what: impl fmt::Display) -> Error {
        self.message = format!("{what}: {}", self.message);
        self
    }

    /// A connection that broke for a reason of our own making (74, transient).
    pub fn connection_lost(message: impl Into<String>) -> Error {
        Error::new(Kind::Io, message).transient(true)
    }

    /// A transfer ended before all its bytes arrived: a broken connection (74, transient).
    pub fn cut_short(what: impl fmt::Display, got: u64, want: u64) -> Error {
        Error::connection_lost(format!(
            "{what}: connection lost: received {got} of {want} bytes (transfer cut short)"
        ))
    }

    /// A local file could not be read (66).
    pub fn no_input(path: impl fmt::Display, err: &io::Error) -> Error {
        Error::new(Kind::NoInput, format!("{path}: {}", io_reason(err))).with_source(copy(err))
    }

    /// A local file or folder could not be created (73).
    pub fn cant_create(path: impl fmt::Display, err: &io::Error) -> Error {
        Error::new(Kind::CantCreate, format!("{path}: {}", io_reason(err))).with_source(copy(err))
    }

    /// Writing to standard output failed: a closed pipe ends the run quietly, anything else
    /// is a local I/O error.
    pub fn stdout(err: &io::Error) -> Error {
        if err.kind() == io::ErrorKind::BrokenPipe {
            Error::stdout_closed().with_source(copy(err))
        } else {
            Error::local_io("standard output", err)
        }
    }

    /// A local read or write failed (74).
    pub fn local_io(path: impl fmt::Display, err: &io::Error) -> Error {
        Error::new(Kind::Io, format!("{path}: {}", io_reason(err))).with_source(copy(err))
    }
}

/// An `io::Error` to keep as a source: the same kind and OS error, message kept.
fn copy(err: &io::Error) -> io::Error {
    match err.raw_os_error() {
        Some(n) => io::Error::from_raw_os_error(n),
        None => io::Error::new(err.kind(), err.to_string()),
    }
}

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
        if !acts_on_terminal(c) {
            out.push(c);
        } else if u < 0x100 {
            let _ = write!(out, "\\x{u:02x}");
        } else {
            let _ = write!(out, "\\u{{{u:04x}}}");
        }
    }
    out
}

/// Whether [`visible`] shows `c` escaped: a C0 or C1 control character, DEL, or a Unicode
/// bidirectional or invisible format control (all in the Basic Multilingual Plane).
pub fn acts_on_terminal(c: char) -> bool {
    c.is_control()
        || matches!(c as u32, 0x200b..=0x200f | 0x2028..=0x202e | 0x2060..=0x2069 | 0xfeff)
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
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_ref().map(|e| e as _)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_codes_map_to_sysexits() {
        let r = |code| Error::reply("x", code, "t");
        assert_eq!(r(421).exit_code(), 75);
        assert!(r(421).is_transient());
        assert_eq!(r(530).exit_code(), 77);
        assert_eq!(r(535).exit_code(), 77);
        assert_eq!(r(550).exit_code(), 69);
        assert!(!r(550).is_transient());
        assert_eq!(r(150).exit_code(), 76);
        assert_eq!(r(550).reply_code(), Some(550));
        assert_eq!(r(550).to_string(), "x: server said: 550 t");
    }

    #[test]
    fn the_table_and_the_kinds_agree() {
        for k in [
            Kind::Usage,
            Kind::Data,
            Kind::NoInput,
            Kind::NoUser,
            Kind::NoHost,
            Kind::Unavailable,
            Kind::Software,
            Kind::CantCreate,
            Kind::Io,
            Kind::TempFail,
            Kind::Timeout,
            Kind::Protocol,
            Kind::Tls,
            Kind::Auth,
            Kind::StdoutClosed,
            Kind::Partial,
        ] {
            assert!(EXIT_STATUS.iter().any(|s| s.code == k.exit_code()), "{k:?}");
        }
        let codes: Vec<u8> = EXIT_STATUS.iter().map(|s| s.code).collect();
        assert_eq!(
            codes,
            [0, 64, 65, 66, 67, 68, 69, 70, 73, 74, 75, 76, 77, 79]
        );
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
        let e = Error::new(Kind::NoInput, "x: gone").context("ftp://h/x");
        assert_eq!(e.exit_code(), 66);
        assert_eq!(e.to_string(), "ftp://h/x: x: gone");
    }
}
