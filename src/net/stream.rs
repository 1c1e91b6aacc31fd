//! The byte stream under every protocol client: a TCP socket, or TLS over one.
//! Protocol clients are generic over [`Transport`], so unit tests can run them against an
//! in-memory stream and the real tools against sockets, with the same code.

use super::tls::TlsContext;
use crate::error::{Error, Kind, Result, io_reason};
use rustls::{ClientConnection, StreamOwned};
use std::cell::Cell;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// A stream whose reads can be bounded in time: the engine shortens the read timeout as a
/// reply's deadline nears, so that a server dripping one byte at a time cannot stretch a
/// reply past `--timeout`.
pub trait Timed {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;

    /// Bulk data (a POP3 body, an IMAP literal) starts (`true`) or is over (`false`): while
    /// it flows, the connection's [`MinRate`], if any, applies. Nothing by default.
    fn watch_rate(&self, _on: bool) {}
}

impl Timed for TcpStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, timeout)
    }
}

impl Timed for NetStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.sock().set_read_timeout(timeout)
    }

    fn watch_rate(&self, on: bool) {
        self.sock().watch_rate(on);
    }
}

/// `--max-time`: when the whole run must be over, whatever it is doing on the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxTime {
    pub end: Instant,
    /// As given, for messages.
    pub total: Duration,
}

impl MaxTime {
    /// A run that must be over `total` from now.
    pub fn from_now(total: Duration) -> MaxTime {
        MaxTime {
            end: Instant::now() + total,
            total,
        }
    }

    /// What is left of it; zero once it has passed.
    pub fn left(&self) -> Duration {
        self.end.saturating_duration_since(Instant::now())
    }
}

/// `--speed-limit` and `--speed-time` (curl's names): data that flows must average at
/// least `bytes_per_sec` over every `window` of time spent waiting on the connection,
/// counted from its first byte. The idle timeout bounds a server that sends nothing; this
/// bounds one that sends a byte just before each read would time out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinRate {
    pub bytes_per_sec: u64,
    pub window: Duration,
}

/// Why a wait on a connection was cut short by a limit of the run rather than by the
/// server: the payload of the `io::Error` (kind `TimedOut`) a [`Sock`] returns, which
/// [`Error::network`] turns into its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitReached {
    MaxTime(Duration),
    TooSlow(MinRate),
}

impl LimitReached {
    pub fn into_io(self) -> io::Error {
        io::Error::new(io::ErrorKind::TimedOut, self)
    }

    /// The limit behind `e`, if a limit ended it.
    pub fn of(e: &io::Error) -> Option<LimitReached> {
        e.get_ref()?.downcast_ref::<LimitReached>().copied()
    }
}

impl fmt::Display for LimitReached {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimitReached::MaxTime(total) => write!(
                f,
                "gave up: the run took longer than --max-time ({} s)",
                total.as_secs_f64()
            ),
            LimitReached::TooSlow(r) => write!(
                f,
                "the server sent less than {} bytes/s for {} s (--speed-limit, --speed-time)",
                r.bytes_per_sec,
                r.window.as_secs_f64()
            ),
        }
    }
}

impl std::error::Error for LimitReached {}

/// Where one flow of data stands against its [`MinRate`]: the window starts at the
/// first byte (a pause before the data starts is the idle timeout's business), and its
/// time is the time spent waiting on the connection. Time the client spends elsewhere (a
/// reader of standard output that pauses, a producer of an upload that thinks) is not the
/// server's.
#[derive(Debug, Clone, Copy, Default)]
struct RateWindow {
    started: bool,
    waited: Duration,
    bytes: u64,
}

impl RateWindow {
    /// Counts `n` bytes that moved after a read or write that waited `waited`: an error
    /// once the waits add up to a whole window with less than its share moved; otherwise
    /// a new window starts.
    fn count(
        &mut self,
        n: usize,
        waited: Duration,
        rate: MinRate,
    ) -> std::result::Result<(), LimitReached> {
        if n == 0 {
            return Ok(());
        }
        if self.started {
            self.waited += waited;
        }
        self.started = true;
        self.bytes = self.bytes.saturating_add(n as u64);
        if self.waited >= rate.window {
            if (self.bytes as f64) < rate.bytes_per_sec as f64 * self.waited.as_secs_f64() {
                return Err(LimitReached::TooSlow(rate));
            }
            *self = RateWindow {
                started: true,
                ..RateWindow::default()
            };
        }
        Ok(())
    }
}

/// A TCP socket that keeps the run's limits: every read and write ends by `--max-time`
/// (the socket's timeout is cut to what is left of it), and while data is watched
/// ([`watch_rate`](Sock::watch_rate): an FTP data connection from its start, a body on a
/// control connection) it must keep to the [`MinRate`]. Without limits it is the bare
/// socket, with the timeouts set on it.
pub struct Sock {
    tcp: TcpStream,
    max_time: Option<MaxTime>,
    min_rate: Option<MinRate>,
    /// The read timeout last asked for (the idle timeout, or what is left of a reply's
    /// deadline); under `--max-time` the socket gets the smaller of it and what is left.
    read_timeout: Cell<Option<Duration>>,
    write_timeout: Option<Duration>,
    /// `Some` while data is watched.
    window: Cell<Option<RateWindow>>,
    /// While data is watched, when the read or write under way began.
    began: Cell<Option<Instant>>,
}

impl Sock {
    /// Takes `tcp` with the timeouts already set on it (the idle timeout, see
    /// [`super::configure`]).
    pub fn new(tcp: TcpStream, max_time: Option<MaxTime>, min_rate: Option<MinRate>) -> Sock {
        let read_timeout = tcp.read_timeout().ok().flatten();
        let write_timeout = tcp.write_timeout().ok().flatten();
        Sock {
            tcp,
            max_time,
            min_rate,
            read_timeout: Cell::new(read_timeout),
            write_timeout,
            window: Cell::new(None),
            began: Cell::new(None),
        }
    }

    pub fn tcp(&self) -> &TcpStream {
        &self.tcp
    }

    /// The read timeout last asked for.
    pub fn read_timeout(&self) -> Option<Duration> {
        self.read_timeout.get()
    }

    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.read_timeout.set(timeout);
        if self.max_time.is_none() {
            self.tcp.set_read_timeout(timeout)?;
        }
        Ok(())
    }

    /// Starts watching the data that flows from now on against the [`MinRate`] (a window
    /// already running goes on), or stops.
    pub fn watch_rate(&self, on: bool) {
        match (on, self.window.get()) {
            (true, None) => self.window.set(Some(RateWindow::default())),
            (true, Some(_)) => {}
            (false, _) => self.window.set(None),
        }
    }

    /// Before a read or a write: notes when it began, while data is watched; cuts the
    /// socket's timeout (`asked`) to what is left of `--max-time`, or fails once it has
    /// passed.
    fn before(
        &self,
        asked: Option<Duration>,
        set: fn(&TcpStream, Option<Duration>) -> io::Result<()>,
    ) -> io::Result<()> {
        if self.min_rate.is_some() && self.window.get().is_some() {
            self.began.set(Some(Instant::now()));
        }
        let Some(max) = self.max_time else {
            return Ok(());
        };
        let left = max.left();
        if left.is_zero() {
            return Err(LimitReached::MaxTime(max.total).into_io());
        }
        set(&self.tcp, Some(asked.map_or(left, |a| a.min(left))))
    }

    /// After a read or a write: counts what moved, and how long it waited, against the
    /// rate, and names `--max-time` as the reason when it was what cut the wait short.
    pub fn after(&self, moved: io::Result<usize>) -> io::Result<usize> {
        let waited = self.began.take().map_or(Duration::ZERO, |t| t.elapsed());
        match moved {
            Ok(n) => {
                if let (Some(rate), Some(mut w)) = (self.min_rate, self.window.get()) {
                    w.count(n, waited, rate).map_err(LimitReached::into_io)?;
                    self.window.set(Some(w));
                }
                Ok(n)
            }
            Err(e) => match self.max_time {
                Some(max)
                    if max.left().is_zero()
                        && matches!(
                            e.kind(),
                            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                        ) =>
                {
                    Err(LimitReached::MaxTime(max.total).into_io())
                }
                _ => Err(e),
            },
        }
    }

    /// Before a write that bypasses [`Write`] (sendfile(2) on [`tcp`](Sock::tcp)); pass its
    /// outcome to [`after`](Sock::after).
    pub fn before_write(&self) -> io::Result<()> {
        self.before(self.write_timeout, TcpStream::set_write_timeout)
    }
}

impl Read for Sock {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.before(self.read_timeout.get(), TcpStream::set_read_timeout)?;
        let n = self.tcp.read(buf);
        self.after(n)
    }
}

impl Write for Sock {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.before_write()?;
        let n = self.tcp.write(buf);
        self.after(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tcp.flush()
    }
}

/// What a protocol client needs from its connection besides bytes.
pub trait Transport: Read + Write + Timed + Sized {
    /// The server's address (FTP opens data connections to it, whatever PASV says).
    fn peer_addr(&self) -> io::Result<SocketAddr>;
    /// Our end's address (FTP active mode listens on it).
    fn local_addr(&self) -> io::Result<SocketAddr>;
    /// Upgrades the connection to TLS in place (AUTH TLS, STARTTLS, STLS); the handshake
    /// must be over by `deadline`, if given.
    fn start_tls(
        self,
        tls: &TlsContext,
        server_name: &str,
        deadline: Option<Instant>,
    ) -> Result<Self>;
    /// Whether TLS protects this connection.
    fn is_tls(&self) -> bool;
    /// Ends the connection cleanly: TLS close_notify, then a TCP shutdown of our side.
    fn close(&mut self);
}

/// A plain or TLS-wrapped TCP connection.
pub enum NetStream {
    Plain(Sock),
    Tls(Box<StreamOwned<ClientConnection, Sock>>),
}

impl NetStream {
    pub fn sock(&self) -> &Sock {
        match self {
            NetStream::Plain(s) => s,
            NetStream::Tls(s) => s.get_ref(),
        }
    }

    pub fn tcp(&self) -> &TcpStream {
        self.sock().tcp()
    }

    /// Sends TLS close_notify (if TLS) and reads until the peer closes, so that TLS 1.3
    /// session tickets sent after the handshake are consumed (the next FTPS data connection
    /// needs one, and vsftpd resets a connection closed with unread tickets: it then answers
    /// 426). Errors are ignored: the transfer's outcome is decided by the server's reply.
    pub fn finish_and_drain(&mut self) {
        if let NetStream::Tls(s) = self {
            s.conn.send_close_notify();
            let _ = s.flush();
            let _ = s.conn.complete_io(&mut s.sock);
        }
        let _ = self.tcp().shutdown(Shutdown::Write);
        let mut buf = [0u8; 4096];
        // Bounded by the read timeout set on the socket.
        for _ in 0..1024 {
            match self.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    }
}

impl Read for NetStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            NetStream::Plain(s) => s.read(buf),
            NetStream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for NetStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            NetStream::Plain(s) => s.write(buf),
            NetStream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            NetStream::Plain(s) => s.flush(),
            NetStream::Tls(s) => s.flush(),
        }
    }
}

impl Transport for NetStream {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.tcp().peer_addr()
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.tcp().local_addr()
    }

    fn start_tls(
        self,
        tls: &TlsContext,
        server_name: &str,
        deadline: Option<Instant>,
    ) -> Result<Self> {
        match self {
            NetStream::Plain(tcp) => Ok(NetStream::Tls(Box::new(tls.handshake(
                tcp,
                server_name,
                deadline,
            )?))),
            NetStream::Tls(_) => Err(Error::new(
                Kind::Protocol,
                format!("{server_name}: TLS is already active on this connection"),
            )),
        }
    }

    fn is_tls(&self) -> bool {
        matches!(self, NetStream::Tls(_))
    }

    fn close(&mut self) {
        if let NetStream::Tls(s) = self {
            s.conn.send_close_notify();
            let _ = s.flush();
        }
        let _ = self.tcp().shutdown(Shutdown::Both);
    }
}

/// How the network's I/O errors become the crate's: here, beside the limits they name.
impl Error {
    /// An I/O error on a network connection: a timeout is a TEMPFAIL (75), anything else
    /// means the connection broke (74); both are transient. A wait a limit of the run cut
    /// short ([`LimitReached`]) is [`Kind::RunLimit`]
    /// (75), transient only when the data was too slow.
    pub fn network(what: impl fmt::Display, err: io::Error) -> Error {
        if let Some(limit) = LimitReached::of(&err) {
            // A limit of the run, not the server, ended the wait: 75 either way, but only a
            // transfer that was too slow may go better on another try; the run's time is up.
            let transient = matches!(limit, LimitReached::TooSlow(_));
            return Error::new(Kind::RunLimit, format!("{what}: {limit}"))
                .transient(transient)
                .with_source(err);
        }
        if let Some(refused) = super::tls::alert_after_handshake(&what, &err) {
            return refused.with_source(err);
        }
        let e = match err.kind() {
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => Error::new(
                Kind::Timeout,
                format!("{what}: timed out waiting for the server"),
            ),
            io::ErrorKind::UnexpectedEof => Error::new(
                Kind::Io,
                format!("{what}: connection lost: the server closed the connection"),
            ),
            _ => Error::new(
                Kind::Io,
                format!("{what}: connection lost: {}", io_reason(&err)),
            ),
        };
        e.transient(true).with_source(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_time_counts_down_from_now() {
        let m = MaxTime::from_now(Duration::from_secs(60));
        assert!(m.left() > Duration::from_secs(59) && m.left() <= Duration::from_secs(60));
        let past = MaxTime {
            end: Instant::now(),
            total: Duration::from_secs(1),
        };
        assert_eq!(past.left(), Duration::ZERO);
    }

    /// A Sock remembers the read timeout asked for and, without --max-time, sets it; an
    /// error is --max-time's only when the time is up and the read timed out.
    #[test]
    fn a_sock_keeps_its_timeouts_and_names_its_limits() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let tcp = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let t = Some(Duration::from_millis(1500));
        tcp.set_read_timeout(t).unwrap();
        let s = Sock::new(tcp.try_clone().unwrap(), None, None);
        assert_eq!(s.read_timeout(), t);
        let t = Some(Duration::from_millis(2500));
        s.set_read_timeout(t).unwrap();
        assert_eq!((s.read_timeout(), s.tcp().read_timeout().unwrap()), (t, t));
        let kind = |r: io::Result<usize>| {
            let e = r.unwrap_err();
            (e.kind(), LimitReached::of(&e).is_some())
        };
        let later = Sock::new(
            tcp.try_clone().unwrap(),
            Some(MaxTime::from_now(Duration::from_secs(60))),
            None,
        );
        let reset = || Err(io::Error::from(io::ErrorKind::ConnectionReset));
        let timed_out = || Err(io::Error::from(io::ErrorKind::TimedOut));
        assert_eq!(
            kind(later.after(reset())),
            (io::ErrorKind::ConnectionReset, false)
        );
        assert_eq!(
            kind(later.after(timed_out())),
            (io::ErrorKind::TimedOut, false)
        );
        let up = MaxTime {
            end: Instant::now(),
            total: Duration::from_secs(1),
        };
        let over = Sock::new(tcp, Some(up), None);
        assert_eq!(
            kind(over.after(reset())),
            (io::ErrorKind::ConnectionReset, false)
        );
        assert_eq!(
            kind(over.after(timed_out())),
            (io::ErrorKind::TimedOut, true)
        );
    }

    /// A plain NetStream writes what it is given, says it is not TLS, and closes both ways;
    /// a server that closed is said as such.
    #[test]
    fn a_plain_stream_writes_and_closes() {
        use std::io::Read;
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let tcp = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (mut peer, _) = l.accept().unwrap();
        let mut s = NetStream::Plain(Sock::new(tcp, None, None));
        assert!(!s.is_tls());
        s.write_all(b"hello").unwrap();
        s.flush().unwrap();
        s.close();
        let mut got = Vec::new();
        peer.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"hello");
        let e = Error::network("h:21", io::Error::from(io::ErrorKind::UnexpectedEof));
        assert_eq!(
            e.to_string(),
            "h:21: connection lost: the server closed the connection"
        );
    }

    /// The engine's read timeouts reach the socket, plain or through NetStream.
    #[test]
    fn read_timeouts_reach_the_socket() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let tcp = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let t = Some(Duration::from_millis(1500));
        Timed::set_read_timeout(&tcp, t).unwrap();
        assert_eq!(tcp.read_timeout().unwrap(), t);
        let s = NetStream::Plain(Sock::new(tcp, None, None));
        let t = Some(Duration::from_millis(2500));
        Timed::set_read_timeout(&s, t).unwrap();
        assert_eq!(s.tcp().read_timeout().unwrap(), t);
    }

    const RATE: MinRate = MinRate {
        bytes_per_sec: 100,
        window: Duration::from_secs(10),
    };

    #[test]
    fn a_window_starts_at_the_first_byte_and_needs_its_share() {
        // Each count is a read (or write) that waited that many seconds.
        let s = Duration::from_secs;
        let mut w = RateWindow::default();
        // Nothing moved: no window yet, however long the wait.
        assert_eq!(w.count(0, s(100), RATE), Ok(()));
        assert!(!w.started);
        // 999 bytes by the end of a 10 s window is less than 100 a second.
        assert_eq!(w.count(1, s(100), RATE), Ok(()));
        assert_eq!(w.count(900, s(5), RATE), Ok(()));
        assert_eq!(w.count(98, s(5), RATE), Err(LimitReached::TooSlow(RATE)));
        // 1,000 bytes is enough, and a new window starts.
        let mut w = RateWindow::default();
        assert_eq!(w.count(500, s(0), RATE), Ok(()));
        assert_eq!(w.count(500, s(10), RATE), Ok(()));
        assert_eq!((w.waited, w.bytes, w.started), (s(0), 0, true));
        // Within a window, nothing is judged.
        assert_eq!(w.count(1, s(9), RATE), Ok(()));
        // A window judged late (a read that waited) needs the share of the time it took.
        assert_eq!(w.count(1500, s(6), RATE), Ok(()));
        let mut w = RateWindow::default();
        assert_eq!(w.count(1, s(0), RATE), Ok(()));
        assert_eq!(w.count(1400, s(15), RATE), Err(LimitReached::TooSlow(RATE)));
    }

    #[test]
    fn time_the_client_spends_elsewhere_is_not_the_servers() {
        // A reader of --stdout that pauses (`| less`), a producer of ftp-put's standard
        // input that thinks (`pg_dump | gzip`): the client does not read or write for longer
        // than the window, and the server, which was never waited for, is not too slow.
        let rate = MinRate {
            bytes_per_sec: 200,
            window: Duration::from_millis(100),
        };
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let tcp = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (mut peer, _) = l.accept().unwrap();
        peer.write_all(&[b'x'; 400]).unwrap();
        let mut s = Sock::new(tcp, None, Some(rate));
        s.watch_rate(true);
        let mut buf = [0u8; 100];
        s.read_exact(&mut buf).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        s.read_exact(&mut buf).unwrap();
        s.write_all(b"0123456789").unwrap();
        std::thread::sleep(Duration::from_millis(300));
        s.write_all(b"0123456789").unwrap();
        // A server that is waited for and drips is still too slow.
        s.read_exact(&mut buf).unwrap();
        s.read_exact(&mut buf).unwrap();
        let drip = std::thread::spawn(move || {
            for _ in 0..250 {
                std::thread::sleep(Duration::from_millis(20));
                if peer.write_all(b"x").is_err() {
                    break;
                }
            }
        });
        let e = loop {
            match s.read(&mut buf) {
                Ok(0) => panic!("the drip was never too slow"),
                Ok(_) => {}
                Err(e) => break e,
            }
        };
        assert_eq!(LimitReached::of(&e), Some(LimitReached::TooSlow(rate)));
        drop(s);
        drip.join().unwrap();
    }

    #[test]
    fn limits_are_named_in_words() {
        assert_eq!(
            LimitReached::MaxTime(Duration::from_millis(1500)).to_string(),
            "gave up: the run took longer than --max-time (1.5 s)"
        );
        assert_eq!(
            LimitReached::TooSlow(RATE).to_string(),
            "the server sent less than 100 bytes/s for 10 s (--speed-limit, --speed-time)"
        );
        let e = LimitReached::MaxTime(Duration::from_secs(2)).into_io();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert_eq!(
            LimitReached::of(&e),
            Some(LimitReached::MaxTime(Duration::from_secs(2)))
        );
        assert_eq!(
            LimitReached::of(&io::Error::from(io::ErrorKind::TimedOut)),
            None
        );
        let err = Error::network("h:1", e);
        assert_eq!(err.exit_code(), 75);
        assert!(!err.is_transient(), "the run's time is up: no retry");
        let slow = Error::network("h:1", LimitReached::TooSlow(RATE).into_io());
        assert!(
            slow.is_transient(),
            "a slow transfer may go better next time"
        );
    }

    #[test]
    fn a_socket_past_its_max_time_neither_reads_nor_writes() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let tcp = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (_peer, _) = l.accept().unwrap();
        let max = MaxTime {
            end: Instant::now(),
            total: Duration::from_secs(3),
        };
        let mut s = Sock::new(tcp, Some(max), None);
        let limit = |e: io::Error| LimitReached::of(&e);
        assert_eq!(
            limit(s.read(&mut [0u8; 4]).unwrap_err()),
            Some(LimitReached::MaxTime(Duration::from_secs(3)))
        );
        assert_eq!(
            limit(s.write(b"x").unwrap_err()),
            Some(LimitReached::MaxTime(Duration::from_secs(3)))
        );
        // A silent peer: the read waits only what is left of the run, then names the limit.
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let tcp = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (_peer, _) = l.accept().unwrap();
        let s = Sock::new(
            tcp,
            Some(MaxTime::from_now(Duration::from_millis(50))),
            None,
        );
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let mut s = s;
        assert_eq!(
            limit(s.read(&mut [0u8; 4]).unwrap_err()),
            Some(LimitReached::MaxTime(Duration::from_millis(50)))
        );
    }
}
