//! The FTP client (RFC 959, with RFC 2228/4217 FTPS, RFC 2389 FEAT, RFC 2428 EPSV/EPRT and
//! RFC 3659 SIZE/MDTM/REST/MLSD). Synchronous: one control connection, one data connection
//! per transfer, streamed through a fixed buffer.
//!
//! Here the session (greeting, AUTH TLS, login, PBSZ/PROT, FEAT) and the commands of the
//! control connection alone; the data connections are in `client/data.rs`, and what
//! travels over them in `client/transfer.rs` (files) and `client/listing.rs`.

mod data;
mod listing;
mod transfer;

pub use transfer::{DATA_BUF, Upload};

use super::parse::{self, Features};
use crate::error::{Error, Kind, Result};
use crate::ftp::reply::Ftp;
use crate::net::proxy::Proxy;
use crate::net::stream::{NetStream, Transport};
use crate::net::tls::TlsContext;
use crate::net::url::Target;
use crate::session::Credentials;
use crate::session::SessionOptions;
use crate::session::open;
use crate::session::starttls::{self, StartTls};
use crate::wire::reply::Reply;
use crate::wire::{Conn, printable};
use std::time::{Duration, Instant, SystemTime};

/// The longest command line sent, CRLF not counted: vsftpd's own limit
/// (VSFTP_MAX_COMMAND_LINE), and no server need take more. A longer one is refused before it
/// is sent (64), naming it.
pub const MAX_COMMAND: usize = 4096;
/// The longest remote path a walk builds (ftp-ls -R, ftp-get -r): with any verb before it,
/// MFMT's time or SITE CHMOD's mode included, its command line stays within [`MAX_COMMAND`].
pub const MAX_PATH: usize = 4000;

/// How to connect and transfer.
#[derive(Clone)]
pub struct FtpOptions {
    pub session: SessionOptions,
    /// Active mode (EPRT/PORT): the server connects to us.
    pub active: bool,
    /// TYPE A instead of TYPE I.
    pub ascii: bool,
}

/// A logged-in FTP control connection.
pub struct FtpClient<S: Transport = NetStream> {
    conn: Conn<S, Ftp>,
    host: String,
    opts: FtpOptions,
    features: Features,
    /// The data connection is TLS-protected (PROT P).
    protected: bool,
    /// EPSV/EPRT were refused once: go straight to PASV/PORT afterwards.
    no_extended: bool,
    /// A transfer failed in a way that leaves the control connection's state unknown.
    broken: bool,
    current_type: Option<char>,
    /// How this server takes a modification time: unknown yet, MFMT, MDTM with a time,
    /// or not at all.
    set_time: SetTime,
    /// The proxy the control connection went through, which the data connections take too.
    proxy: Option<Proxy>,
    /// The fuzz targets' data connections (`crate::fuzzing`): a loopback socket of their
    /// own instead of the port the fuzzed server names. Never in a program.
    #[cfg(any(feature = "fuzzing", test))]
    data_from: Option<DataFrom>,
}

/// Where [`FtpClient::data_from`] takes each passive data connection from.
#[cfg(any(feature = "fuzzing", test))]
pub(crate) type DataFrom = Box<dyn FnMut() -> std::io::Result<std::net::TcpStream> + Send>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetTime {
    Unknown,
    Mfmt,
    Mdtm,
    Unsupported,
}

impl FtpClient<NetStream> {
    /// Connects, upgrades to TLS as the policy says, logs in, reads FEAT, sets UTF-8 and the
    /// transfer type.
    pub fn connect(target: &Target, creds: &Credentials, opts: &FtpOptions) -> Result<Self> {
        // This control connection and its data connections share a TLS session cache of
        // their own: a data connection must resume this connection's session, never that of
        // another connection to the same server (--parallel).
        let mut own = opts.clone();
        own.session.tls = opts.session.tls.as_ref().map(TlsContext::with_own_sessions);
        if opts.active && opts.session.connect.proxy_for(target)?.is_some() {
            // The server would have to connect back to us, past the proxy.
            return Err(Error::new(
                Kind::Usage,
                format!(
                    "{target}: --active cannot work through a proxy (the server cannot connect \
                     back through it): leave out --active, or --noproxy the host"
                ),
            ));
        }
        let (stream, deadline) = open::connect(target, &own.session)?;
        FtpClient::handshake(stream, target, creds, &own, deadline)
    }
}

impl<S: Transport> FtpClient<S> {
    /// Everything after the TCP connect (and, for ftps://, the TLS handshake), on any
    /// transport: the greeting (past `120` "ready in N minutes" lines), AUTH TLS as the
    /// policy says, the login, PBSZ/PROT under TLS, FEAT. `deadline` ends the connect phase
    /// (greeting and AUTH TLS).
    pub fn handshake(
        stream: S,
        target: &Target,
        creds: &Credentials,
        opts: &FtpOptions,
        deadline: Instant,
    ) -> Result<Self> {
        let more = |r: &Reply| r.class() == 1;
        let (mut conn, greeting) = open::start(stream, target, Ftp, &opts.session, deadline, more)?;
        if greeting.class() != 2 {
            return Err(greeting.error(format!("{}: greeting", conn.peer())));
        }
        conn.set_max_command(MAX_COMMAND);
        let client = FtpClient {
            conn,
            host: target.host.clone(),
            opts: opts.clone(),
            features: Features::default(),
            protected: target.scheme.implicit_tls(),
            no_extended: false,
            broken: false,
            current_type: None,
            set_time: SetTime::Unknown,
            proxy: opts.session.connect.proxy_for(target)?.cloned(),
            #[cfg(any(feature = "fuzzing", test))]
            data_from: None,
        };
        let mut client = starttls::starttls(client, target, &opts.session, Some(creds))?;
        open::end_phase(&mut client.conn, &opts.session);
        client.login(creds)?;
        if client.conn.stream().is_tls() {
            client.protect_data()?;
        }
        client.feat()?;
        Ok(client)
    }

    /// PBSZ 0 and PROT P (RFC 4217 section 9): data connections under TLS too.
    fn protect_data(&mut self) -> Result<()> {
        self.expect_ok("PBSZ", Some("0"))?;
        let r = self.command("PROT", Some("P"))?;
        if r.class() != 2 {
            return Err(Error::new(
                Kind::Unavailable,
                format!(
                    "{}: the server refused to protect data connections (PROT P): {} {}",
                    self.conn.peer(),
                    r.code,
                    r.text()
                ),
            ));
        }
        self.protected = true;
        Ok(())
    }

    /// Passive data connections from `from` instead of the server's port (the fuzz
    /// targets: a fuzzed server must not choose a port to dial).
    #[cfg(any(feature = "fuzzing", test))]
    pub(crate) fn data_from(&mut self, from: DataFrom) {
        self.data_from = Some(from);
    }

    pub fn features(&self) -> &Features {
        &self.features
    }

    pub fn is_tls(&self) -> bool {
        self.conn.stream().is_tls()
    }

    /// Whether this connection can still be used after an error.
    pub fn is_usable(&self) -> bool {
        !self.broken && !self.conn.is_broken()
    }

    /// TYPE A or I for the following SIZE and RETR (a URL's `;type=a` asks for one file).
    pub fn set_ascii(&mut self, ascii: bool) {
        self.opts.ascii = ascii;
    }

    fn peer(&self) -> String {
        self.conn.peer().to_string()
    }

    /// Sends a command and reads its reply; 1xx replies are not expected here. A command
    /// line longer than [`MAX_COMMAND`] is refused unsent by the engine (64).
    fn command(&mut self, verb: &str, arg: Option<&str>) -> Result<Reply> {
        self.conn.send_command(verb, arg).inspect_err(|e| {
            // A line refused unsent (CR, LF, NUL, its length) leaves the connection in step.
            if e.kind() != Kind::Usage {
                self.broken = true;
            }
        })?;
        self.reply_to(verb)
    }

    /// Reads the reply to `verb`; a timeout names the command that got no answer.
    fn reply_to(&mut self, verb: &str) -> Result<Reply> {
        open::reply_to(&mut self.conn, verb).inspect_err(|_| self.broken = true)
    }

    fn expect_ok(&mut self, verb: &str, arg: Option<&str>) -> Result<Reply> {
        let r = self.command(verb, arg)?;
        if r.class() == 2 {
            Ok(r)
        } else {
            Err(r.error(format!("{}: {verb}", self.peer())))
        }
    }

    fn login(&mut self, login: &Credentials) -> Result<()> {
        let failed = |this: &Self, r: &Reply| {
            let msg = format!(
                "{}: login as {} failed: {} {}",
                this.peer(),
                login.user,
                r.code,
                r.text()
            );
            if r.class() == 4 {
                Error::new(Kind::TempFail, msg)
            } else {
                Error::new(Kind::Auth, msg)
            }
        };
        let r = self.command("USER", Some(&login.user))?;
        let r = match r.code {
            230 => return Ok(()),
            331 => self.command("PASS", Some(login.secret()))?,
            _ => return Err(failed(self, &r)),
        };
        match r.code {
            230 | 202 => Ok(()),
            332 => Err(Error::new(
                Kind::Auth,
                format!(
                    "{}: the server wants an account (ACCT), which is not supported",
                    self.peer()
                ),
            )),
            _ => Err(failed(self, &r)),
        }
    }

    fn feat(&mut self) -> Result<()> {
        let r = self.command("FEAT", None)?;
        if r.code == 211 {
            self.features = parse::parse_features(&r.line_texts());
        }
        if self.features.utf8 {
            // Some servers need this before they send or accept UTF-8 names (RFC 2640).
            let _ = self.command("OPTS", Some("UTF8 ON"))?;
        }
        Ok(())
    }

    fn set_type(&mut self, ascii: bool) -> Result<()> {
        let t = if ascii { 'A' } else { 'I' };
        if self.current_type != Some(t) {
            self.expect_ok("TYPE", Some(&t.to_string()))?;
            self.current_type = Some(t);
        }
        Ok(())
    }

    /// The size of a remote file (SIZE), or `None` when the server cannot tell.
    pub fn size(&mut self, path: &str) -> Result<Option<u64>> {
        if self.features.listed && !self.features.size {
            return Ok(None);
        }
        // SIZE is defined for the current TYPE; vsftpd refuses it in ASCII mode.
        self.set_type(self.opts.ascii)?;
        let r = self.command("SIZE", Some(path))?;
        if r.code == 421 {
            return Err(r.error(format!("{}: SIZE", self.peer())));
        }
        Ok((r.code == 213)
            .then(|| r.text_lossy().trim().parse().ok())
            .flatten())
    }

    /// The modification time of a remote file (MDTM), or `None` when the server cannot tell.
    pub fn mdtm(&mut self, path: &str) -> Result<Option<SystemTime>> {
        if self.features.listed && !self.features.mdtm {
            return Ok(None);
        }
        let r = self.command("MDTM", Some(path))?;
        if r.code == 421 {
            return Err(r.error(format!("{}: MDTM", self.peer())));
        }
        Ok((r.code == 213)
            .then(|| parse::parse_time_val(&r.text_lossy()))
            .flatten())
    }

    /// The facts of one file or folder (MLST, RFC 3659 section 7): the line
    /// `facts; name` of the 250 reply. `Ok(None)`: the server refused (no such file).
    pub fn mlst(&mut self, path: &str) -> Result<Option<String>> {
        let r = self.command("MLST", (!path.is_empty()).then_some(path))?;
        if r.class() == 4 {
            return Err(r.error(format!("{}: MLST", self.peer())));
        }
        if r.code != 250 {
            return Ok(None);
        }
        // The entry is the reply's second line, which starts with one space.
        Ok(r.line_texts()
            .iter()
            .skip(1)
            .find_map(|l| l.strip_prefix(' ').map(str::to_string)))
    }

    /// Whether `path` is a folder, for the hint after a failed RETR: CWD into it and back
    /// (PWD first, to know where back is). `false` when the server cannot tell.
    pub fn is_folder(&mut self, path: &str) -> Result<bool> {
        Ok(self.probe_folder(path)? == Some(true))
    }

    /// Whether `path` is a folder: CWD into it and back (PWD first, to know where back
    /// is). `None` when the server cannot tell (no usable PWD reply, or "not now", a 4xx,
    /// to CWD).
    pub fn probe_folder(&mut self, path: &str) -> Result<Option<bool>> {
        let r = self.command("PWD", None)?;
        let Some(home) = (r.code == 257)
            .then(|| parse::parse_pwd(&r.text_lossy()))
            .flatten()
        else {
            return Ok(None);
        };
        let r = self.command("CWD", Some(path))?;
        match r.class() {
            2 => {}
            4 => return Ok(None),
            _ => return Ok(Some(false)),
        }
        let back = self.command("CWD", Some(&home))?;
        if back.class() != 2 {
            // Lost in another folder: every relative path would be wrong from now on.
            self.broken = true;
        }
        Ok(Some(true))
    }

    /// Deletes a remote file (DELE).
    pub fn delete(&mut self, path: &str) -> Result<()> {
        let r = self.command("DELE", Some(path))?;
        if r.class() == 2 {
            Ok(())
        } else if r.code == 550 || r.code == 553 || r.code == 450 {
            Err(Error::new(
                Kind::Auth,
                format!(
                    "{}: {path}: cannot delete: {} {}",
                    self.peer(),
                    r.code,
                    r.text()
                ),
            ))
        } else {
            Err(r.error(format!("{}: DELE {path}", self.peer())))
        }
    }

    /// Renames a remote file (RNFR, then RNTO). A refusal of either is the error; 550 and
    /// 553 are permission problems (77).
    pub fn rename(&mut self, from: &str, to: &str) -> Result<()> {
        let refused = |this: &Self, verb: &str, r: &Reply| {
            let msg = format!(
                "{}: cannot rename {from} to {to}: {verb}: {} {}",
                this.peer(),
                r.code,
                r.text()
            );
            match r.code {
                550 | 553 | 450 | 532 => Error::new(Kind::Auth, msg),
                _ => Error::reply(format!("{}: {verb} {from}", this.peer()), r.code, &r.text())
                    .with_message(msg),
            }
        };
        let r = self.command("RNFR", Some(from))?;
        if r.code != 350 {
            return Err(refused(self, "RNFR", &r));
        }
        let r = self.command("RNTO", Some(to))?;
        if r.class() != 2 {
            return Err(refused(self, "RNTO", &r));
        }
        Ok(())
    }

    /// Makes a remote folder (MKD). `Ok(Some(reply))`: the server refused, saying `reply`
    /// (the folder may exist already, or its parent may not: [`folder_exists`] tells).
    ///
    /// [`folder_exists`]: FtpClient::folder_exists
    pub fn make_dir(&mut self, path: &str) -> Result<Option<String>> {
        let r = self.command("MKD", Some(path))?;
        if r.code == 421 {
            return Err(r.error(format!("{}: MKD", self.peer())));
        }
        Ok((r.class() != 2).then(|| format!("{} {}", r.code, printable(&r.text_lossy()))))
    }

    /// Whether `path` is a folder: MLST's type where the server offers MLST, else a CWD
    /// there and back ([`probe_folder`](FtpClient::probe_folder)). `None` when the server
    /// cannot tell. The login folder ("") is one.
    pub fn folder_exists(&mut self, path: &str) -> Result<Option<bool>> {
        use super::list::{EntryType, Line, parse_mlsd};
        if path.is_empty() {
            return Ok(Some(true));
        }
        if !self.features.mlsd {
            return self.probe_folder(path);
        }
        Ok(Some(match self.mlst(path)? {
            Some(line) => matches!(parse_mlsd(&line), Line::Entry(e) if e.kind == EntryType::Dir),
            None => false,
        }))
    }

    /// SITE `arg` (SITE CHMOD 644 path). `Ok(Err(reply))`: the server refused, with its
    /// reply text, for a warning.
    pub fn site(&mut self, arg: &str) -> Result<std::result::Result<(), String>> {
        let r = self.command("SITE", Some(arg))?;
        if r.code == 421 {
            return Err(r.error(format!("{}: SITE", self.peer())));
        }
        if r.class() == 2 {
            Ok(Ok(()))
        } else {
            Ok(Err(format!("{} {}", r.code, printable(&r.text_lossy()))))
        }
    }

    /// Sets a remote file's modification time: MFMT (draft-somers-ftp-mfxx), else the
    /// `MDTM time path` form vsftpd and others take. Which one works is learnt once per
    /// connection. `Ok(false)`: the server can do neither.
    pub fn set_mtime(&mut self, path: &str, t: SystemTime) -> Result<bool> {
        let stamp = parse::format_time_val(t);
        let arg = format!("{stamp} {path}");
        for (how, verb) in [(SetTime::Mfmt, "MFMT"), (SetTime::Mdtm, "MDTM")] {
            if self.set_time != SetTime::Unknown && self.set_time != how {
                continue;
            }
            let r = self.command(verb, Some(&arg))?;
            if r.code == 421 {
                return Err(r.error(format!("{}: {verb}", self.peer())));
            }
            if r.class() == 2 {
                self.set_time = how;
                return Ok(true);
            }
            if self.set_time == how {
                // It worked before: this file is the problem, not the command.
                return Ok(false);
            }
        }
        self.set_time = SetTime::Unsupported;
        Ok(false)
    }

    /// NOOP: keeps the control connection alive (NATs and servers drop idle ones).
    pub fn noop(&mut self) -> Result<()> {
        self.expect_ok("NOOP", None).map(|_| ())
    }

    /// Runs slow local work (fsync of a large file) on another thread while sending NOOP
    /// on the control connection every `interval`, so the server does not drop us as idle
    /// (`Conn::keepalive_during`). A NOOP that fails makes the connection unusable.
    pub fn keepalive_during<T: Send>(
        &mut self,
        interval: Duration,
        work: impl FnOnce() -> T + Send,
    ) -> T {
        self.conn.keepalive_during(interval, "NOOP", work)
    }

    /// Ends the session politely (QUIT); errors are irrelevant by then.
    pub fn quit(mut self) {
        self.conn.say_farewell();
        if !self.broken && self.conn.send_command("QUIT", None).is_ok() {
            let _ = self.conn.read_reply();
        }
        self.conn.stream_mut().close();
    }
}

/// AUTH TLS (RFC 4217 section 4), tried whatever FEAT would say (it comes only after).
impl<S: Transport> StartTls for FtpClient<S> {
    const COMMAND: &'static str = "AUTH TLS";

    fn not_offered(&self) -> Option<String> {
        None
    }

    fn ask(&mut self) -> Result<std::result::Result<(), String>> {
        self.conn.send_command("AUTH", Some("TLS"))?;
        Ok(starttls::agreed(&self.reply_to("AUTH TLS")?, 234))
    }

    fn upgrade(self, tls: &TlsContext, host: &str) -> Result<Self> {
        Ok(FtpClient {
            conn: self.conn.start_tls(tls, host)?,
            ..self
        })
    }
}

#[cfg(test)]
mod tests {
    //! FtpClient's control logic over an in-memory transport ([`MockStream`]): each script
    //! part is the server's answer to one command, the first its greeting.

    use super::*;
    use crate::net::tls::TlsMode;
    use crate::net::url::Scheme;
    use crate::wire::tests::{MockStream, collecting};

    const FEAT: &[u8] = b"211-Features:\r\n EPSV\r\n SIZE\r\n MDTM\r\n MLST type*;size*;\r\n UTF8\r\n REST STREAM\r\n211 End\r\n";

    fn options(mode: TlsMode) -> FtpOptions {
        FtpOptions {
            session: SessionOptions::test(mode),
            active: false,
            ascii: false,
        }
    }

    fn bob() -> Credentials {
        Credentials::password("bob", "hunter2")
    }

    /// Runs the handshake for `url` on `stream`; the outcome and the commands sent, as the
    /// transcript shows them.
    fn handshake_on(
        stream: MockStream,
        url: &str,
        login: &Credentials,
        mode: TlsMode,
    ) -> (Result<FtpClient<MockStream>>, Vec<String>) {
        let target = Target::parse(url, &[Scheme::Ftp, Scheme::Ftps]).unwrap();
        let (t, seen) = collecting();
        let mut opts = options(mode);
        opts.session.transcript = Some(t);
        let deadline = Instant::now() + Duration::from_secs(30);
        let r = FtpClient::handshake(stream, &target, login, &opts, deadline);
        let sent = seen
            .lock()
            .unwrap()
            .iter()
            .filter_map(|l| l.strip_prefix("C: ").map(str::to_string))
            .collect();
        (r, sent)
    }

    fn handshake(
        script: &[&[u8]],
        login: &Credentials,
        mode: TlsMode,
    ) -> (Result<FtpClient<MockStream>>, Vec<String>) {
        handshake_on(
            MockStream::scripted(script, 1),
            "ftp://h.example/f",
            login,
            mode,
        )
    }

    /// [`handshake`] logging in anonymously, in plaintext.
    fn anonymous(script: &[&[u8]]) -> (Result<FtpClient<MockStream>>, Vec<String>) {
        handshake(script, &Credentials::anonymous(), TlsMode::None)
    }

    /// A client logged in anonymously in plaintext, with FEAT listing SIZE, MDTM, EPSV;
    /// `more` answers the commands that follow.
    pub(super) fn logged_in(more: &[&[u8]]) -> FtpClient<MockStream> {
        let mut script: Vec<&[u8]> = vec![b"220 hi\r\n", b"230 ok\r\n", FEAT, b"200 ok\r\n"];
        script.extend_from_slice(more);
        let (r, _) = anonymous(&script);
        r.unwrap()
    }

    pub(super) fn wire(c: &FtpClient<MockStream>) -> String {
        c.conn.stream().written_str()
    }

    #[test]
    fn login_flows() {
        // 230 at once: no password needed.
        let (r, sent) = anonymous(&[b"220 hi\r\n", b"230 welcome\r\n", b"500 no FEAT\r\n"]);
        let c = r.unwrap();
        assert_eq!(sent, ["USER anonymous", "FEAT"]);
        assert!(!c.features().listed);
        assert!(c.is_usable() && !c.is_tls());
        // 331, then the password (never shown), then FEAT and UTF-8.
        let (r, sent) = handshake(
            &[
                b"220 hi\r\n",
                b"331 pass?\r\n",
                b"230 ok\r\n",
                FEAT,
                b"200 ok\r\n",
            ],
            &bob(),
            TlsMode::None,
        );
        let c = r.unwrap();
        assert_eq!(sent, ["USER bob", "PASS ****", "FEAT", "OPTS UTF8 ON"]);
        assert!(wire(&c).contains("PASS hunter2\r\n"));
        let f = c.features();
        assert!(f.listed && f.epsv && f.size && f.mdtm && f.mlsd && f.utf8 && f.rest_stream);
        assert!(!f.auth_tls);
        // 202: the password was superfluous, fine.
        let (r, _) = handshake(
            &[
                b"220 hi\r\n",
                b"331 pass?\r\n",
                b"202 ok\r\n",
                b"502 no\r\n",
            ],
            &bob(),
            TlsMode::None,
        );
        r.unwrap();
    }

    #[test]
    fn login_failures() {
        let fail = |script: &[&[u8]]| {
            let (r, sent) = handshake(script, &bob(), TlsMode::None);
            (r.err().unwrap(), sent)
        };
        let (e, _) = fail(&[
            b"220 hi\r\n",
            b"331 pass?\r\n",
            b"530 Credentials incorrect.\r\n",
        ]);
        assert_eq!(e.exit_code(), 77);
        assert_eq!(
            e.to_string(),
            "h.example:21: login as bob failed: 530 Credentials incorrect."
        );
        assert!(!e.to_string().contains("hunter2"));
        let (e, sent) = fail(&[b"220 hi\r\n", b"530 no such user\r\n"]);
        assert_eq!(e.exit_code(), 77);
        assert_eq!(sent, ["USER bob"]);
        let (e, _) = fail(&[b"220 hi\r\n", b"331 pass?\r\n", b"332 need account\r\n"]);
        assert_eq!(e.exit_code(), 77);
        assert!(e.to_string().contains("wants an account (ACCT)"), "{e}");
        // 4xx: try again later.
        let (e, _) = fail(&[b"220 hi\r\n", b"421 too many users\r\n"]);
        assert_eq!(e.exit_code(), 75);
        assert!(e.is_transient());
        let (e, _) = fail(&[b"220 hi\r\n", b"331 pass?\r\n", b"421 closing\r\n"]);
        assert_eq!(e.exit_code(), 75);
        // An unexpected reply to USER.
        let (e, _) = fail(&[b"220 hi\r\n", b"200 what?\r\n"]);
        assert_eq!(e.exit_code(), 77);
    }

    #[test]
    fn greetings() {
        // 120 "ready in a while" lines, then 220.
        let (r, sent) = anonymous(&[
            b"120 ready in 1 minute\r\n120-still\r\n busy\r\n120 waiting\r\n220 ready\r\n",
            b"230 ok\r\n",
            b"500 no\r\n",
        ]);
        r.unwrap();
        assert_eq!(sent, ["USER anonymous", "FEAT"]);
        for (greeting, code) in [
            (&b"421 too busy\r\n"[..], 75),
            (b"554 go away\r\n", 69),
            (b"hello there\r\n", 76),
            (b"220-cut", 74),
        ] {
            let (r, sent) = handshake(&[greeting], &bob(), TlsMode::Auto);
            let e = r.err().unwrap();
            assert_eq!(e.exit_code(), code, "{greeting:?}: {e}");
            assert!(sent.is_empty());
        }
        // Nothing at all: the connect phase's deadline names the wait.
        let (r, _) = handshake(&[b"", b"220 too late\r\n"], &bob(), TlsMode::Auto);
        let e = r.err().unwrap();
        assert_eq!(e.exit_code(), 75);
        assert_eq!(
            e.to_string(),
            "h.example:21: no greeting from the server within 30 s"
        );
    }

    #[test]
    fn auth_tls_upgrades_and_protects_data() {
        let (r, sent) = handshake(
            &[
                b"220 hi\r\n",
                b"234 go ahead\r\n",
                b"331 pass?\r\n",
                b"230 ok\r\n",
                b"200 PBSZ=0\r\n",
                b"200 PROT now Private\r\n",
                b"500 no FEAT\r\n",
            ],
            &bob(),
            TlsMode::Auto,
        );
        let c = r.unwrap();
        assert!(c.is_tls() && c.protected);
        assert_eq!(
            sent,
            [
                "AUTH TLS",
                "USER bob",
                "PASS ****",
                "PBSZ 0",
                "PROT P",
                "FEAT"
            ]
        );
        // PROT P refused: the data would go in cleartext.
        let (r, _) = handshake(
            &[
                b"220 hi\r\n",
                b"234 go ahead\r\n",
                b"230 ok\r\n",
                b"200 PBSZ=0\r\n",
                b"536 not supported\r\n",
            ],
            &bob(),
            TlsMode::Required,
        );
        let e = r.err().unwrap();
        assert_eq!(e.exit_code(), 69);
        assert!(e.to_string().contains("PROT P"), "{e}");
        // Bytes that came with 234 are refused, before anything else is sent. (Bytes not
        // read yet would go to the TLS handshake, and fail it.)
        let (r, sent) = handshake_on(
            MockStream::scripted(
                &[b"220 hi\r\n", b"234 go ahead\r\n230 fake login\r\n"],
                1000,
            ),
            "ftp://h.example/f",
            &bob(),
            TlsMode::Auto,
        );
        assert_eq!(r.err().unwrap().exit_code(), 76);
        assert_eq!(sent, ["AUTH TLS"]);
    }

    #[test]
    fn tls_policy_when_the_server_refuses_auth_tls() {
        let no_tls: &[&[u8]] = &[b"220 hi\r\n", b"500 AUTH not understood\r\n"];
        // A password is never sent in cleartext under --tls auto.
        let (r, sent) = handshake(no_tls, &bob(), TlsMode::Auto);
        let e = r.err().unwrap();
        assert_eq!(e.exit_code(), 69);
        assert!(!e.is_transient());
        assert!(e.to_string().contains("use --tls none to allow it"), "{e}");
        assert!(
            e.to_string().contains("AUTH TLS: 500 AUTH not understood"),
            "{e}"
        );
        assert_eq!(sent, ["AUTH TLS"]);
        // --tls required: not even anonymously.
        let (r, sent) = handshake(no_tls, &Credentials::anonymous(), TlsMode::Required);
        let e = r.err().unwrap();
        assert_eq!(e.exit_code(), 69);
        assert!(e.to_string().contains("--tls required"), "{e}");
        assert_eq!(sent, ["AUTH TLS"]);
        // Anonymous under --tls auto goes on in plaintext.
        let mut script = no_tls.to_vec();
        script.extend_from_slice(&[b"230 ok\r\n", b"500 no\r\n"]);
        let (r, sent) = handshake(&script, &Credentials::anonymous(), TlsMode::Auto);
        assert!(!r.unwrap().is_tls());
        assert_eq!(sent, ["AUTH TLS", "USER anonymous", "FEAT"]);
        // A 4xx is a refusal too (69, never 75): a man in the middle sends 431 as easily as
        // 500, and a wrapper that retries 75 would retry for ever.
        for mode in [TlsMode::Auto, TlsMode::Required] {
            for refusal in [&b"431 try later\r\n"[..], b"534 policy\r\n"] {
                let (r, _) = handshake(&[b"220 hi\r\n", refusal], &bob(), mode);
                let e = r.err().unwrap();
                assert_eq!(e.exit_code(), 69, "{mode:?} {refusal:?}");
                assert!(!e.is_transient());
            }
        }
        // --tls none: AUTH TLS is never sent.
        let (r, sent) = handshake(
            &[
                b"220 hi\r\n",
                b"331 pass?\r\n",
                b"230 ok\r\n",
                b"500 no\r\n",
            ],
            &bob(),
            TlsMode::None,
        );
        r.unwrap();
        assert_eq!(sent, ["USER bob", "PASS ****", "FEAT"]);
    }

    #[test]
    fn implicit_tls_skips_auth_tls() {
        let mut stream = MockStream::scripted(
            &[
                b"220 hi\r\n",
                b"331 pass?\r\n",
                b"230 ok\r\n",
                b"200 ok\r\n",
                b"200 ok\r\n",
                b"500 no\r\n",
            ],
            3,
        );
        stream.tls = true;
        let (r, sent) = handshake_on(stream, "ftps://h.example/f", &bob(), TlsMode::Auto);
        let c = r.unwrap();
        assert!(c.protected);
        assert_eq!(sent, ["USER bob", "PASS ****", "PBSZ 0", "PROT P", "FEAT"]);
    }

    #[test]
    fn size_replies() {
        let mut c = logged_in(&[
            b"200 Switching to Binary mode.\r\n",
            b"213 1234\r\n",
            b"550 no such file\r\n",
            b"213 12ab\r\n",
            b"213  77 \r\n",
            b"421 bye\r\n",
        ]);
        assert_eq!(c.size("a").unwrap(), Some(1234));
        assert_eq!(c.size("b").unwrap(), None);
        assert_eq!(c.size("c").unwrap(), None);
        assert_eq!(c.size("d").unwrap(), Some(77));
        let e = c.size("e").unwrap_err();
        assert_eq!(e.exit_code(), 75);
        assert!(wire(&c).ends_with("TYPE I\r\nSIZE a\r\nSIZE b\r\nSIZE c\r\nSIZE d\r\nSIZE e\r\n"));
        // FEAT said no SIZE: not asked.
        let (r, _) = anonymous(&[
            b"220 hi\r\n",
            b"230 ok\r\n",
            b"211-x\r\n MDTM\r\n211 End\r\n",
        ]);
        let mut c = r.unwrap();
        assert_eq!(c.size("a").unwrap(), None);
        assert!(wire(&c).ends_with("FEAT\r\n"));
    }

    #[test]
    fn mdtm_replies() {
        let mut c = logged_in(&[
            b"213 20200102030405\r\n",
            b"213 20200102030405.123\r\n",
            b"213 2020\r\n",
            b"213 20200231000000\r\n",
            b"550 no\r\n",
            b"421 bye\r\n",
        ]);
        let t = c.mdtm("a").unwrap().unwrap();
        assert_eq!(
            t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs(),
            1_577_934_245
        );
        assert!(c.mdtm("b").unwrap().is_some());
        assert_eq!(c.mdtm("c").unwrap(), None);
        assert_eq!(c.mdtm("d").unwrap(), None);
        assert_eq!(c.mdtm("e").unwrap(), None);
        assert_eq!(c.mdtm("f").unwrap_err().exit_code(), 75);
    }

    #[test]
    fn a_failed_keepalive_makes_the_client_unusable() {
        let mut c = logged_in(&[b"200 ok\r\n", b"421 idle too long\r\n"]);
        let v = c.keepalive_during(Duration::from_millis(15), || {
            std::thread::sleep(Duration::from_millis(50));
            1
        });
        assert_eq!(v, 1);
        assert!(!c.is_usable());
        assert!(wire(&c).ends_with("NOOP\r\nNOOP\r\n"));
        // Refused from then on, without writing.
        assert_eq!(c.delete("f").unwrap_err().exit_code(), 74);
        assert!(wire(&c).ends_with("NOOP\r\nNOOP\r\n"));
    }
}
