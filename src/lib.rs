//! posthaste: small, script-safe clients for FTP, SMTP, POP3, IMAP and MIME, and the
//! command-line tools built on them (`ftp-get`, `ftp-put`, `ftp-ls`, `smtp-send`, `pop-fetch`,
//! `imap-fetch`, `mime-pack`: the default `cli` feature). With `default-features = false` the
//! crate is the library alone, without clap, indicatif or rpassword.
//!
//! The library never prints, never exits and arms no signal handler: it returns [`Error`],
//! whose [`Kind`] says what went wrong and whose [`exit_code`](Error::exit_code) follows
//! sysexits.h, and it shows the protocol conversation only to a [`Transcript`] you hand it.
//!
//! - The clients, each connected, upgraded to TLS and logged in by one call:
//!   [`ftp::FtpClient`], [`smtp::client::SmtpClient`], [`pop3::client::Pop3Client`],
//!   [`imap::client::ImapClient`]. Who logs in is a [`session::Credentials`] (a password or
//!   an OAuth2 token, and how to log in); where and how to connect is a
//!   [`net::url::Target`] and [`session::SessionOptions`] ([`net::ConnectOptions`], the
//!   `--tls` policy with a [`net::tls::TlsContext`], a transcript).
//! - The mail stores that fetched mail goes into, never half-written: [`deliver`] (Maildir,
//!   mbox, a folder of files, a command, standard output).
//! - A streaming MIME composer: [`mime`].
//! - For a program's own signal handler: [`interrupt::clean_up`] takes back what a store
//!   was writing; [`stdio`] tells a closed standard descriptor from `/dev/null`.
//!
//! # Example: a download
//!
//! Connect, log in (TLS whenever the server offers it; here it does not, and an anonymous
//! login may go on in plaintext), and stream a file into memory (a file or a pipe works the
//! same way: the data arrives in chunks of a fixed buffer):
//!
//! ```
//! use posthaste::ftp::{FtpClient, FtpOptions};
//! use posthaste::session::{Credentials, SessionOptions};
//! use posthaste::net::ConnectOptions;
//! use posthaste::net::tls::{TlsContext, TlsMode, TlsOptions};
//! use posthaste::net::url::{Scheme, Target};
//!
//! # fn main() -> Result<(), posthaste::Error> {
//! # let port = tiny_server::start();
//! # let url = format!("ftp://127.0.0.1:{port}/pub/hello.txt");
//! let target = Target::parse(&url, &[Scheme::Ftp, Scheme::Ftps])?;
//! let opts = FtpOptions {
//!     session: SessionOptions {
//!         connect: ConnectOptions::default(),
//!         tls_mode: TlsMode::Auto,
//!         tls: Some(TlsContext::new(&TlsOptions::default())?),
//!         transcript: None,
//!     },
//!     active: false,
//!     ascii: false,
//! };
//! let mut client = FtpClient::connect(&target, &Credentials::anonymous(), &opts)?;
//! let size = client.size(&target.path)?;
//! let mut body = Vec::new();
//! client.retrieve(&target.path, 0, size, &mut |chunk: &[u8]| {
//!     body.extend_from_slice(chunk);
//!     Ok(())
//! })?;
//! client.quit();
//! assert_eq!(body, b"hello, world\n");
//! # Ok(())
//! # }
//! #
//! # mod tiny_server {
//! #     use std::io::{BufRead, BufReader, Write};
//! #     use std::net::TcpListener;
//! #     /// Just enough of an FTP server for the example, on a free loopback port.
//! #     pub fn start() -> u16 {
//! #         let l = TcpListener::bind("127.0.0.1:0").unwrap();
//! #         let port = l.local_addr().unwrap().port();
//! #         std::thread::spawn(move || {
//! #             let (c, _) = l.accept().unwrap();
//! #             let mut w = c.try_clone().unwrap();
//! #             let mut r = BufReader::new(c);
//! #             let mut data = None;
//! #             w.write_all(b"220 ready\r\n").unwrap();
//! #             let mut line = String::new();
//! #             while r.read_line(&mut line).unwrap() > 0 {
//! #                 let reply: String = match line.split_whitespace().next().unwrap_or("") {
//! #                     "USER" => "331 password".into(),
//! #                     "PASS" => "230 in".into(),
//! #                     "TYPE" => "200 ok".into(),
//! #                     "SIZE" => "213 13".into(),
//! #                     "EPSV" => {
//! #                         let d = TcpListener::bind("127.0.0.1:0").unwrap();
//! #                         let p = d.local_addr().unwrap().port();
//! #                         data = Some(d);
//! #                         format!("229 Entering Extended Passive Mode (|||{p}|)")
//! #                     }
//! #                     "RETR" => {
//! #                         w.write_all(b"150 here\r\n").unwrap();
//! #                         let (mut d, _) = data.take().unwrap().accept().unwrap();
//! #                         d.write_all(b"hello, world\n").unwrap();
//! #                         "226 done".into()
//! #                     }
//! #                     "QUIT" => "221 bye".into(),
//! #                     _ => "500 not here".into(),
//! #                 };
//! #                 w.write_all(format!("{reply}\r\n").as_bytes()).unwrap();
//! #                 line.clear();
//! #             }
//! #         });
//! #         port
//! #     }
//! # }
//! ```

#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod cli;
pub mod deliver;
pub mod error;
#[cfg(feature = "cli")]
pub(crate) mod events;
pub mod ftp;
/// The parsers' entry points for the fuzz targets in `fuzz/` (the `fuzzing` feature), and
/// the replay of their corpora in the tests: not an API.
#[cfg(any(feature = "fuzzing", all(test, feature = "cli")))]
#[doc(hidden)]
pub mod fuzzing;
pub mod imap;
pub mod interrupt;
#[cfg(feature = "cli")]
pub(crate) mod jobs;
pub mod mime;
pub mod net;
#[cfg(feature = "cli")]
pub(crate) mod netrc;
#[cfg(feature = "cli")]
pub(crate) mod parallel;
pub mod pop3;
pub mod session;
pub mod smtp;
pub mod stdio;
pub(crate) mod transfer;
#[cfg(feature = "cli")]
pub(crate) mod uidls;
pub(crate) mod util;
pub(crate) mod wire;

pub use error::{Error, Kind, Result};
pub use transfer::StreamOut;
pub use wire::Transcript;
