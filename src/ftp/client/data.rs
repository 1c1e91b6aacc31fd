//! The data connections of an [`FtpClient`] (RFC 959 section 3.2, RFC 2428): passive
//! (EPSV, falling back to PASV) or active (EPRT, falling back to PORT), opened before the
//! transfer command and completed after its 1xx reply (accepted from the server alone in
//! active mode, wrapped in TLS resuming the control connection's session under PROT P),
//! and the reply that ends a transfer.

use super::FtpClient;
use crate::error::{Error, Kind, Result, io_reason};
use crate::ftp::parse;
use crate::net;
use crate::net::stream::{NetStream, Transport};
use crate::wire::printable;
use crate::wire::reply::Reply;
use std::io;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// A data connection between the PASV/PORT step and the transfer command's 1xx reply.
pub(super) enum PendingData {
    Connected(TcpStream),
    /// Active mode: waiting for the server (expected from this address) to connect.
    Listening(TcpListener, IpAddr),
}

/// How the refusal of a transfer command is said: the reply codes that blame the file or
/// folder, the error they are, and the words before the reply; any other refusal is the
/// reply's own error.
pub(super) struct Refused {
    pub codes: &'static [u16],
    pub kind: Kind,
    pub says: &'static str,
}

/// What a transfer command started.
pub(super) enum Started {
    /// The data connection, ready (its TLS handshake done under PROT P).
    Data(NetStream),
    /// The server answered 2xx at once: no transfer, and the data connection is unused.
    NoData(Reply),
}

impl Started {
    /// The data connection of a transfer that needs one: a 2xx at once is a protocol error,
    /// the server answering `verb` `when` (without sending the file, before any data was
    /// sent).
    pub(super) fn into_data(self, what: &str, verb: &str, when: &str) -> Result<NetStream> {
        match self {
            Started::Data(d) => Ok(d),
            Started::NoData(r) => Err(Error::new(
                Kind::Protocol,
                format!(
                    "{what}: the server answered {verb} with {} {} {when}",
                    r.code,
                    r.text()
                ),
            )),
        }
    }
}

impl<S: Transport> FtpClient<S> {
    /// Prepares a data connection before the transfer command: passive (EPSV, falling back
    /// to PASV) connects now; active (EPRT, falling back to PORT) listens now.
    pub(super) fn open_data(&mut self) -> Result<PendingData> {
        let peer = self
            .conn
            .stream()
            .peer_addr()
            .map_err(|e| Error::network(self.peer(), e))?;
        if self.opts.active {
            self.open_active(peer)
        } else {
            self.open_passive(peer)
        }
    }

    /// `peer` is the control connection's: through a proxy, the proxy's own address.
    fn open_passive(&mut self, peer: SocketAddr) -> Result<PendingData> {
        let mut port = None;
        if !self.no_extended {
            let r = self.command("EPSV", None)?;
            if r.code == 229 {
                port = Some(parse::parse_epsv(&r.text_lossy()).ok_or_else(|| {
                    Error::new(
                        Kind::Protocol,
                        format!(
                            "{}: malformed EPSV reply: \"{}\"",
                            self.peer(),
                            printable(&r.text_lossy())
                        ),
                    )
                })?);
            } else if r.class() == 4 {
                return Err(r.error(format!("{}: EPSV", self.peer())));
            } else {
                self.no_extended = true;
            }
        }
        let port = match port {
            Some(p) => p,
            None => {
                // (Through a proxy, the proxy reaches the server by its name, whatever it is.)
                if peer.is_ipv6() && self.proxy.is_none() {
                    return Err(Error::new(
                        Kind::Unavailable,
                        format!(
                            "{}: the server refused EPSV, and PASV cannot reach an IPv6 server",
                            self.peer()
                        ),
                    ));
                }
                let r = self.command("PASV", None)?;
                if r.code != 227 {
                    return Err(r.error(format!("{}: PASV", self.peer())));
                }
                // The address in the reply is ignored: a server behind NAT often gets it
                // wrong, and a hostile one could aim us at a third party (CVE-2020-8284).
                let (_claimed, port) = parse::parse_pasv(&r.text_lossy()).ok_or_else(|| {
                    Error::new(
                        Kind::Protocol,
                        format!(
                            "{}: malformed PASV reply: \"{}\"",
                            self.peer(),
                            printable(&r.text_lossy())
                        ),
                    )
                })?;
                port
            }
        };
        #[cfg(any(feature = "fuzzing", test))]
        if let Some(from) = &mut self.data_from {
            let tcp = from();
            return tcp
                .map(PendingData::Connected)
                .map_err(|e| Error::network(self.peer(), e));
        }
        if let Some(proxy) = &self.proxy {
            // Through the control connection's proxy, to the control connection's host (as
            // curl does): the proxy's address is not the server's.
            let connect = &self.opts.session.connect;
            let deadline = Instant::now() + connect.connect_timeout;
            return match net::proxy::connect(proxy, &self.host, port, connect, deadline) {
                Ok(tcp) => Ok(PendingData::Connected(tcp)),
                Err(e) => {
                    self.broken = true;
                    Err(e.context(format!("{}: data connection", self.peer())))
                }
            };
        }
        let addr = SocketAddr::new(peer.ip(), port);
        let tcp = net::connect_addr(&addr, &self.opts.session.connect).map_err(|e| {
            self.broken = true;
            if matches!(
                e.kind(),
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
            ) {
                Error::new(
                    Kind::Timeout,
                    format!("{}: data connection to port {port} timed out", self.peer()),
                )
            } else {
                Error::new(
                    Kind::TempFail,
                    format!(
                        "{}: cannot open the data connection to port {port}: {}",
                        self.peer(),
                        io_reason(&e)
                    ),
                )
            }
        })?;
        Ok(PendingData::Connected(tcp))
    }

    fn open_active(&mut self, peer: SocketAddr) -> Result<PendingData> {
        let local = self
            .conn
            .stream()
            .local_addr()
            .map_err(|e| Error::network(self.peer(), e))?;
        let listener = TcpListener::bind(SocketAddr::new(local.ip(), 0)).map_err(|e| {
            Error::new(
                Kind::Io,
                format!("active mode: cannot listen: {}", io_reason(&e)),
            )
        })?;
        let port = listener
            .local_addr()
            .map_err(|e| Error::new(Kind::Io, format!("active mode: {}", io_reason(&e))))?
            .port();
        let mut done = false;
        if !self.no_extended {
            let proto = if local.is_ipv4() { 1 } else { 2 };
            let r = self.command("EPRT", Some(&format!("|{proto}|{}|{port}|", local.ip())))?;
            if r.class() == 2 {
                done = true;
            } else if r.class() == 4 {
                return Err(r.error(format!("{}: EPRT", self.peer())));
            } else {
                self.no_extended = true;
            }
        }
        if !done {
            let IpAddr::V4(v4) = local.ip() else {
                return Err(Error::new(
                    Kind::Unavailable,
                    format!(
                        "{}: the server refused EPRT, and PORT cannot name an IPv6 address",
                        self.peer()
                    ),
                ));
            };
            let o = v4.octets();
            let arg = format!(
                "{},{},{},{},{},{}",
                o[0],
                o[1],
                o[2],
                o[3],
                port >> 8,
                port & 0xff
            );
            self.expect_ok("PORT", Some(&arg))?;
        }
        Ok(PendingData::Listening(listener, peer.ip()))
    }

    /// Sends the transfer command, waits for 125/150, then completes the data connection
    /// (accepts it in active mode; TLS handshake, resuming the control session, under PROT P).
    /// A 2xx reply instead of a 1xx means no transfer took place: nothing is ever read from
    /// the data connection then (under PROT P it would be read without TLS). A refusal is
    /// said of `what` (the server and the path) as `refused` says.
    pub(super) fn start_transfer(
        &mut self,
        (verb, arg): (&str, Option<&str>),
        pending: PendingData,
        what: &str,
        refused: Refused,
    ) -> Result<Started> {
        let r = self.command(verb, arg)?;
        if r.class() == 2 {
            drop(pending);
            return Ok(Started::NoData(r));
        }
        if r.class() != 1 {
            return Err(if refused.codes.contains(&r.code) {
                let (code, text) = (r.code, r.text());
                Error::new(
                    refused.kind,
                    format!("{what}: {}{code} {text}", refused.says),
                )
            } else {
                r.error(format!("{what}: {verb}"))
            });
        }
        let tcp = match pending {
            PendingData::Connected(t) => t,
            PendingData::Listening(listener, expect) => self.accept_data(listener, expect)?,
        };
        // A data connection is bulk data from its first byte: the minimum rate applies.
        let tcp = self.opts.session.connect.sock(tcp);
        tcp.watch_rate(true);
        if self.protected {
            let tls =
                self.opts.session.tls.clone().ok_or_else(|| {
                    Error::new(Kind::Software, "PROT P without a TLS configuration")
                })?;
            let deadline = Instant::now() + self.opts.session.connect.connect_timeout;
            match tls.handshake(tcp, &self.host, Some(deadline)) {
                Ok(s) => Ok(Started::Data(NetStream::Tls(Box::new(s)))),
                Err(e) => {
                    self.broken = true;
                    Err(e.context("data connection"))
                }
            }
        } else {
            Ok(Started::Data(NetStream::Plain(tcp)))
        }
    }

    fn accept_data(&mut self, listener: TcpListener, expect: IpAddr) -> Result<TcpStream> {
        let deadline = Instant::now() + self.opts.session.connect.connect_timeout;
        listener
            .set_nonblocking(true)
            .map_err(|e| Error::new(Kind::Io, format!("active mode: {}", io_reason(&e))))?;
        loop {
            match listener.accept() {
                Ok((s, from)) => {
                    // Only the server may connect: anyone else could feed us a file.
                    if from.ip() != expect {
                        drop(s);
                        continue;
                    }
                    s.set_nonblocking(false)
                        .and_then(|_| net::configure(&s, &self.opts.session.connect))
                        .map_err(|e| Error::network(self.peer(), e))?;
                    return Ok(s);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if Instant::now() >= deadline {
                        self.broken = true;
                        return Err(Error::new(
                            Kind::Timeout,
                            format!(
                                "{}: the server did not open the active-mode data connection",
                                self.peer()
                            ),
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(e) => return Err(Error::network(self.peer(), e)),
            }
        }
    }

    /// The end of a transfer whose data connection is closed: after a failure (`outcome`)
    /// the control connection is not used again (the server may still answer 426); else the
    /// server's reply says whether the transfer completed.
    pub(super) fn end_transfer<T>(&mut self, outcome: Result<T>, what: &str) -> Result<T> {
        match outcome {
            Ok(v) => {
                self.finish_transfer(what)?;
                Ok(v)
            }
            Err(e) => {
                self.broken = true;
                Err(e)
            }
        }
    }

    /// Reads the reply that ends a transfer: 226/250 is success; 425/426/451 and the like
    /// mean the transfer did not complete, which is never a silent short file.
    fn finish_transfer(&mut self, what: &str) -> Result<()> {
        let r = self.reply_to("the end of the transfer")?;
        match r.class() {
            2 => Ok(()),
            4 => Err(Error::connection_lost(format!(
                "{what}: connection lost: the transfer was aborted by the server: {} {}",
                r.code,
                r.text()
            ))),
            _ => Err(r.error(what)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{logged_in, wire};
    use crate::error::Result;

    #[test]
    fn malformed_passive_replies_are_protocol_errors() {
        let mut sink = |_: &[u8]| -> Result<()> { Ok(()) };
        for epsv in [
            &b"229 Entering Extended Passive Mode (|||x|)\r\n"[..],
            b"229 Entering Extended Passive Mode\r\n",
            b"229 (|||0|)\r\n",
            b"229 (|||70000|)\r\n",
        ] {
            let mut c = logged_in(&[b"200 binary\r\n", epsv]);
            let e = c.retrieve("f", 0, None, &mut sink).unwrap_err();
            assert_eq!(e.exit_code(), 76, "{epsv:?}: {e}");
            assert!(e.to_string().contains("malformed EPSV reply"), "{e}");
            // Nothing was fetched.
            assert!(wire(&c).ends_with("TYPE I\r\nEPSV\r\n"));
        }
        // EPSV refused, PASV garbled: still no connection anywhere.
        let mut c = logged_in(&[b"200 binary\r\n", b"500 no EPSV\r\n", b"227 no address\r\n"]);
        let e = c.retrieve("f", 0, None, &mut sink).unwrap_err();
        assert_eq!(e.exit_code(), 76);
        assert!(e.to_string().contains("malformed PASV reply"), "{e}");
        // EPSV "not now": 75.
        let mut c = logged_in(&[b"200 ascii\r\n", b"425 later\r\n"]);
        let e = c.list_files("", &mut |_| Ok(())).unwrap_err();
        assert_eq!(e.exit_code(), 75);
    }
}
