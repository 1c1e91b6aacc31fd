//! The fake-server core is protocol-neutral: a toy POP3-like server, three commands in a
//! table and nothing else, gets the transcript, bytewise and dripped replies, stalls,
//! scripted replies, bounded lines, a connection limit and an IPv6 listener from it. The
//! checks talk plain TCP, so they see exactly what a client would.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::support::fake_server::{Builder, Command, Ctx, Flow, MAX_LINE, Protocol, Server};

/// A mail drop of a few messages, served by USER, STAT and QUIT.
struct Toy {
    messages: Vec<Vec<u8>>,
    /// Every user name a USER command set, in order.
    users: Mutex<Vec<String>>,
}

#[derive(Default)]
struct ToySession {
    user: Option<String>,
}

impl Protocol for Toy {
    type Session = ToySession;
    const COMMANDS: &'static [Command<Self>] = &[
        Command {
            verbs: &["USER"],
            run: user,
        },
        Command {
            verbs: &["STAT"],
            run: stat,
        },
        Command {
            verbs: &["QUIT"],
            run: |c, _| {
                c.send("+OK bye\r\n")?;
                Ok(Flow::Close)
            },
        },
    ];
    const LINE_TOO_LONG: &'static str = "-ERR line too long\r\n";
    const UNKNOWN: &'static str = "-ERR unknown command\r\n";
    const TOO_MANY: &'static str = "-ERR too many connections\r\n";

    fn session(&self) -> ToySession {
        ToySession::default()
    }
}

fn user(c: &mut Ctx<'_, Toy>, arg: &str) -> io::Result<Flow> {
    c.session.user = Some(arg.to_string());
    c.server.users.lock().unwrap().push(arg.to_string());
    c.send(&format!("+OK hello {arg}\r\n"))?;
    Ok(Flow::Continue)
}

fn stat(c: &mut Ctx<'_, Toy>, _: &str) -> io::Result<Flow> {
    if c.session.user.is_none() {
        c.send("-ERR who are you?\r\n")?;
    } else {
        let size: usize = c.server.messages.iter().map(Vec::len).sum();
        c.send(&format!("+OK {} {size}\r\n", c.server.messages.len()))?;
    }
    Ok(Flow::Continue)
}

fn toy() -> Builder<Vec<Vec<u8>>> {
    Builder::new(
        vec![b"Subject: a\r\n\r\nhi\r\n".to_vec(), b"x".repeat(1000)],
        "+OK toy ready\r\n",
    )
}

fn start(b: Builder<Vec<Vec<u8>>>) -> Server<Toy> {
    b.launch(|messages| Toy {
        messages,
        users: Mutex::new(Vec::new()),
    })
}

/// A line client over plain TCP.
struct Client {
    r: BufReader<TcpStream>,
    w: TcpStream,
}

impl Client {
    fn connect(server: &Server<Toy>) -> Client {
        Client::to(SocketAddr::new(
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            server.port(),
        ))
    }

    fn to(addr: SocketAddr) -> Client {
        let s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        Client {
            r: BufReader::new(s.try_clone().unwrap()),
            w: s,
        }
    }

    /// One reply line with its CRLF; "" at EOF.
    fn line(&mut self) -> String {
        let mut l = String::new();
        self.r.read_line(&mut l).unwrap();
        l
    }

    fn cmd(&mut self, c: &str) -> String {
        self.w.write_all(format!("{c}\r\n").as_bytes()).unwrap();
        self.line()
    }
}

#[test]
fn the_table_answers_and_the_transcript_spans_connections() {
    let server = start(toy());
    let mut a = Client::connect(&server);
    assert_eq!(a.line(), "+OK toy ready\r\n");
    assert_eq!(a.cmd("STAT"), "-ERR who are you?\r\n");
    assert_eq!(a.cmd("user ann"), "+OK hello ann\r\n", "verbs in any case");
    assert_eq!(a.cmd("STAT"), "+OK 2 1018\r\n");
    assert_eq!(a.cmd("RETR 1"), "-ERR unknown command\r\n");
    let mut b = Client::connect(&server);
    assert_eq!(b.line(), "+OK toy ready\r\n");
    assert_eq!(b.cmd("STAT"), "-ERR who are you?\r\n", "one session each");
    assert_eq!(b.cmd("QUIT"), "+OK bye\r\n");
    assert_eq!(b.line(), "", "closed after QUIT");
    // Bare LF ends a line too; the transcript has neither CR nor LF.
    a.w.write_all(b"QUIT\n").unwrap();
    assert_eq!(a.line(), "+OK bye\r\n");
    assert_eq!(
        server.transcript(),
        ["STAT", "user ann", "STAT", "RETR 1", "STAT", "QUIT", "QUIT"]
    );
    assert_eq!(
        server.transcript_of(0),
        ["STAT", "user ann", "STAT", "RETR 1", "QUIT"]
    );
    assert_eq!(server.transcript_of(1), ["STAT", "QUIT"]);
    assert_eq!(server.commands("User"), ["user ann"]);
    assert_eq!(server.connections(), 2);
    assert_eq!(*server.protocol().users.lock().unwrap(), ["ann"]);
}

#[test]
fn the_transcript_waits_for_what_the_client_sent_last() {
    let server = start(toy());
    let mut c = Client::connect(&server);
    c.line();
    // No reply is read: the test asks right after writing, as after a client exits.
    c.w.write_all(b"USER ann\r\nSTAT\r\nQUIT\r\n").unwrap();
    assert_eq!(server.transcript(), ["USER ann", "STAT", "QUIT"]);
}

#[test]
fn bytewise_and_drip_split_every_reply_into_single_bytes() {
    let server = start(toy().bytewise());
    let mut s = TcpStream::connect(("127.0.0.1", server.port())).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"USER a-name-long-enough-to-span-many-reads\r\n")
        .unwrap();
    let want = "+OK toy ready\r\n+OK hello a-name-long-enough-to-span-many-reads\r\n";
    let (mut got, mut reads) = (Vec::new(), 0);
    while got.len() < want.len() {
        let mut buf = [0u8; 256];
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "closed early after {got:?}");
        got.extend_from_slice(&buf[..n]);
        reads += 1;
    }
    assert_eq!(String::from_utf8_lossy(&got), want);
    // 1 ms between bytes: a scheduling hiccup may merge a few, never most of them.
    assert!(reads > want.len() / 4, "only {reads} reads");

    let server = start(toy().drip(Duration::from_millis(20)));
    let start = Instant::now();
    let mut c = Client::connect(&server);
    assert_eq!(c.line(), "+OK toy ready\r\n");
    assert!(
        start.elapsed() >= Duration::from_millis(15 * 20),
        "15 bytes, 20 ms apart: {:?}",
        start.elapsed()
    );
}

#[test]
fn a_stalled_verb_is_never_answered_and_drop_does_not_hang() {
    let server = start(toy().stall_on("stat"));
    let mut c = Client::connect(&server);
    c.line();
    assert_eq!(c.cmd("USER ann"), "+OK hello ann\r\n");
    c.w.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    c.w.write_all(b"STAT\r\nQUIT\r\n").unwrap();
    let mut l = String::new();
    let err =
        c.r.read_line(&mut l)
            .expect_err("no reply to a stalled verb");
    assert!(
        matches!(
            err.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ),
        "{err}"
    );
    // A stalled connection does not hold up the transcript; QUIT was never read.
    let start = Instant::now();
    assert_eq!(server.transcript(), ["USER ann", "STAT"]);
    assert!(start.elapsed() < Duration::from_secs(1));
    drop(server);
    assert!(start.elapsed() < Duration::from_secs(3));
    c.w.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(
        c.line(),
        "",
        "the connection is closed when the server is dropped"
    );
}

#[test]
fn scripted_replies_once_in_order_then_always_then_the_table() {
    let server = start(
        toy()
            .reply_once("STAT", "-ERR [IN-USE] locked\r\n")
            .reply_once("STAT", "-ERR [SYS/TEMP] try later\r\n")
            .reply("USER", "+OK anyone will do\r\n")
            .reply_then_close("QUIT", "-ERR going away\r\n"),
    );
    let mut a = Client::connect(&server);
    a.line();
    assert_eq!(a.cmd("STAT"), "-ERR [IN-USE] locked\r\n");
    let mut b = Client::connect(&server);
    b.line();
    assert_eq!(
        b.cmd("STAT"),
        "-ERR [SYS/TEMP] try later\r\n",
        "once, across connections"
    );
    assert_eq!(a.cmd("STAT"), "-ERR who are you?\r\n", "then the table");
    // A scripted reply replaces the handler: no user is set.
    assert_eq!(a.cmd("USER ann"), "+OK anyone will do\r\n");
    assert_eq!(a.cmd("STAT"), "-ERR who are you?\r\n");
    assert_eq!(a.cmd("USER bob"), "+OK anyone will do\r\n", "always");
    assert!(server.protocol().users.lock().unwrap().is_empty());
    assert_eq!(a.cmd("QUIT"), "-ERR going away\r\n");
    assert_eq!(a.line(), "", "closed after the reply");
    assert_eq!(
        b.cmd("STAT"),
        "-ERR who are you?\r\n",
        "the other one goes on"
    );
}

#[test]
fn long_lines_are_cut_at_max_line_and_too_many_connections_are_refused() {
    let server = start(toy().max_connections(1));
    let mut a = Client::connect(&server);
    assert_eq!(a.line(), "+OK toy ready\r\n");
    let mut b = Client::connect(&server);
    assert_eq!(b.line(), "-ERR too many connections\r\n");
    assert_eq!(b.line(), "");
    let long = format!("USER {}", "x".repeat(MAX_LINE + 10));
    assert_eq!(a.cmd(&long), "-ERR line too long\r\n");
    assert_eq!(a.cmd("USER ann"), "+OK hello ann\r\n");
    let t = server.transcript();
    assert_eq!(t.len(), 2);
    assert_eq!(t[0].len(), MAX_LINE, "a long line is kept cut short");
    assert_eq!(server.connections(), 2);
}

#[test]
fn ipv6_listens_at_the_same_port() {
    if let Err(e) = std::net::TcpListener::bind((Ipv6Addr::LOCALHOST, 0)) {
        eprintln!("skipped: no IPv6 loopback on this machine ({e})");
        return;
    }
    let server = start(toy().ipv6());
    let mut v6 = Client::to(SocketAddr::new(
        IpAddr::V6(Ipv6Addr::LOCALHOST),
        server.port(),
    ));
    assert_eq!(v6.line(), "+OK toy ready\r\n");
    assert_eq!(v6.cmd("USER six"), "+OK hello six\r\n");
    let mut v4 = Client::connect(&server);
    assert_eq!(v4.line(), "+OK toy ready\r\n");
    assert_eq!(v4.cmd("USER four"), "+OK hello four\r\n");
    assert_eq!(server.transcript(), ["USER six", "USER four"]);
    // Without ipv6(), only 127.0.0.1.
    let v4_only = start(toy());
    assert!(
        TcpStream::connect((Ipv6Addr::LOCALHOST, v4_only.port())).is_err(),
        "nothing listens on [::1]"
    );
}
