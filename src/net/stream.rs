//! The byte stream under every protocol client: a TCP socket, or TLS over one.
//! Protocol clients are generic over [`Transport`], so unit tests can run them against an
//! in-memory stream and the real tools against sockets, with the same code.

use super::tls::TlsContext;
use crate::error::{Error, Kind, Result};
use rustls::{ClientConnection, StreamOwned};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// A stream whose reads can be bounded in time: the engine shortens the read timeout as a
/// reply's deadline nears, so that a server dripping one byte at a time cannot stretch a
/// reply past `--timeout`.
pub trait Timed {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
}

impl Timed for TcpStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, timeout)
    }
}

impl Timed for NetStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.tcp().set_read_timeout(timeout)
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
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl NetStream {
    pub fn tcp(&self) -> &TcpStream {
        match self {
            NetStream::Plain(s) => s,
            NetStream::Tls(s) => s.get_ref(),
        }
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
