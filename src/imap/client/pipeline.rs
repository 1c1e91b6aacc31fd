//! The fetch of an [`ImapClient`]: `UID FETCH set (UID RFC822.SIZE BODY.PEEK[])` in batches
//! of [`BATCH`], [`IN_FLIGHT`] commands at a time, with the `UID STORE` and `UID EXPUNGE`
//! of messages already stored riding among them; and `UID FETCH set (UID RFC822.SIZE)`,
//! which reads the same responses for the sizes alone.
//!
//! Messages are pulled, not pushed: [`ImapClient::next_event`] says a message begins, and
//! [`ImapClient::read_message`] streams its octets to the caller's closure (straight from
//! the connection's buffer, whatever the size) and then reads the rest of its FETCH
//! response, which may name the UID only after the message. What is in flight and still
//! owed is a [`Pipeline`], which the client holds between those calls.

use super::{ImapClient, MAX_SET, MAX_UNASKED, MAX_UNTAGGED};
use crate::error::{Error, Kind, Result};
use crate::imap::parse::{self, Data, FetchItems, FetchParser, Next, parse_data};
use crate::imap::reply::{ImapKind, ImapReply, ImapStatus};
use crate::net::stream::Transport;
use std::collections::{HashSet, VecDeque};

/// Messages per `UID FETCH` command.
pub const BATCH: usize = 100;
/// `UID FETCH` commands in flight at once: enough that the server never waits for us.
pub const IN_FLIGHT: usize = 4;

/// What [`ImapClient::next_event`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchEvent {
    /// A message of `size` octets begins: read it with [`ImapClient::read_message`].
    Message { size: u64 },
    /// A `UID FETCH` command for `uids` ended well (OK, or `NO [EXPUNGEISSUED]`); `missing`
    /// are those of them whose message did not come. A server's OK is no evidence that a
    /// message arrived: the caller records only what it received.
    Batch { uids: Vec<u32>, missing: Vec<u32> },
    /// Every batch is done.
    Done,
}

/// What a command in flight was.
#[derive(Debug)]
enum Pending {
    Fetch(Vec<u32>),
    /// UID STORE or UID EXPUNGE, queued among the fetches: only its tagged OK matters.
    Update(String),
}

/// The message announced and not yet read: its response's parser, its length, and what is
/// left of the response's [`MAX_UNASKED`].
struct Announced {
    parser: FetchParser,
    len: u64,
    budget: u64,
}

/// The state of the fetch under way: the commands still to send and those in flight, the
/// UIDs whose message has not come, and the message announced. Its methods only keep the
/// books; the client sends and reads.
#[derive(Default)]
pub(super) struct Pipeline {
    /// The `UID FETCH` sets not sent yet, with their members.
    batches: VecDeque<(String, Vec<u32>)>,
    /// The commands sent, oldest first, with their tags.
    in_flight: VecDeque<(String, Pending)>,
    /// UID STORE and UID EXPUNGE commands waiting for room in the pipeline.
    updates: VecDeque<String>,
    /// The UIDs asked for whose message has not come.
    wanted: HashSet<u32>,
    /// `--max-size`: no message literal longer than this is read.
    max_size: Option<u64>,
    current: Option<Announced>,
}

impl Pipeline {
    /// A fetch of `uids` (ascending) begins, in batches of [`BATCH`].
    fn start(&mut self, uids: &[u32]) {
        self.batches = parse::uid_sets(uids, BATCH, MAX_SET).into();
        self.wanted = uids.iter().copied().collect();
    }

    /// Queues `command(set)` (a UID STORE or UID EXPUNGE) for each set of `uids`, to go when
    /// there is room.
    fn queue(&mut self, uids: &[u32], command: impl Fn(&str) -> String) {
        for (set, _) in parse::uid_sets(uids, usize::MAX, MAX_SET) {
            self.updates.push_back(command(&set));
        }
    }

    /// The command to send next while there is room: updates first (their messages are
    /// durable already), then fetches keep [`IN_FLIGHT`] in flight.
    fn next_command(&self) -> Option<String> {
        if let Some(command) = self.updates.front() {
            return Some(command.clone());
        }
        let (set, _) = self.batches.front()?;
        (self.in_flight.len() < IN_FLIGHT)
            .then(|| format!("UID FETCH {set} (UID RFC822.SIZE BODY.PEEK[])"))
    }

    /// The command [`next_command`](Pipeline::next_command) named went as `tag`.
    fn sent(&mut self, tag: String) {
        let pending = match self.updates.pop_front() {
            Some(command) => Pending::Update(command),
            None => match self.batches.pop_front() {
                Some((_, members)) => Pending::Fetch(members),
                None => return,
            },
        };
        self.in_flight.push_back((tag, pending));
    }

    /// The tag whose response ends the oldest command in flight.
    fn oldest_tag(&self) -> Option<&str> {
        self.in_flight.front().map(|(tag, _)| tag.as_str())
    }

    /// Those of `uids` whose message did not come: no longer wanted, since a message of
    /// a batch that comes after its end is no answer to anything.
    fn missing(&mut self, uids: &[u32]) -> Vec<u32> {
        uids.iter()
            .copied()
            .filter(|u| self.wanted.remove(u))
            .collect()
    }
}

impl<S: Transport> ImapClient<S> {
    /// Starts fetching `uids` (ascending): `UID FETCH set (UID RFC822.SIZE BODY.PEEK[])` in
    /// batches of [`BATCH`], [`IN_FLIGHT`] commands at a time. Then call
    /// [`next_event`](ImapClient::next_event) until it says [`FetchEvent::Done`].
    pub fn start_fetch(&mut self, uids: &[u32]) {
        self.fetch.start(uids);
    }

    /// `--max-size`: a message literal longer than `max` is refused unread (76), whatever
    /// the server said of its size before.
    pub fn set_max_size(&mut self, max: Option<u64>) {
        self.fetch.max_size = max;
    }

    /// The RFC822.SIZE of each of `uids` (ascending) that the folder holds:
    /// `UID FETCH set (UID RFC822.SIZE)`, one command per set of at most 900 characters.
    /// A UID the server leaves out is not in the answer.
    pub fn uid_sizes(&mut self, uids: &[u32]) -> Result<Vec<(u32, u64)>> {
        let mut sizes = Vec::new();
        for (set, members) in parse::uid_sets(uids, usize::MAX, MAX_SET) {
            let what = format!("UID FETCH {set} (UID RFC822.SIZE)");
            let tag = self.send(&what)?;
            let r = self.finish(&tag, &what, |c, r| {
                let Some(items) = fetch_items(r) else {
                    return Ok(false);
                };
                let mut parser = FetchParser::new();
                let mut budget = MAX_UNASKED;
                c.finish_items(&mut parser, items, &mut budget)?;
                if let (Some(uid), Some(size)) = (parser.items.uid, parser.items.size) {
                    if members.binary_search(&uid).is_ok() {
                        sizes.push((uid, size));
                    }
                }
                Ok(true)
            })?;
            self.expect_ok(r, &what)?;
        }
        sizes.sort_unstable();
        sizes.dedup_by_key(|(u, _)| *u);
        Ok(sizes)
    }

    /// Queues `UID STORE set +FLAGS.SILENT (flags)` among the fetches (the folder must be
    /// selected read-write); its tagged OK is checked by [`next_event`](ImapClient::next_event).
    pub fn queue_store(&mut self, uids: &[u32], flags: &str) -> Result<()> {
        self.fetch.queue(uids, |set| {
            format!("UID STORE {set} +FLAGS.SILENT ({flags})")
        });
        Ok(())
    }

    /// Queues `UID EXPUNGE set` (RFC 4315): only these messages go, never another client's
    /// deleted mail.
    pub fn queue_expunge(&mut self, uids: &[u32]) -> Result<()> {
        if !self.caps.uidplus {
            return Err(Error::new(
                Kind::Unavailable,
                format!("{}: the server has no UIDPLUS (UID EXPUNGE)", self.peer()),
            ));
        }
        self.fetch.queue(uids, |set| format!("UID EXPUNGE {set}"));
        Ok(())
    }

    /// The next thing that happened in the fetch: a message to read, a batch done, or the
    /// end. Untagged EXISTS, EXPUNGE, FLAGS and unsolicited FETCH responses (flag changes)
    /// are taken in stride.
    pub fn next_event(&mut self) -> Result<FetchEvent> {
        if self.fetch.current.is_some() {
            return Err(Error::new(
                Kind::Software,
                "next_event before the message was read",
            ));
        }
        for _ in 0..MAX_UNTAGGED {
            self.fill_pipeline()?;
            let Some(tag) = self.fetch.oldest_tag().map(str::to_string) else {
                return Ok(FetchEvent::Done);
            };
            let r = self.read("UID FETCH")?;
            let event = match &r.kind {
                ImapKind::Tagged(t) if t.as_slice() == tag.as_bytes() => self.command_ended(r)?,
                ImapKind::Tagged(_) | ImapKind::Continuation => {
                    return Err(self.unexpected("UID FETCH", &r));
                }
                ImapKind::Untagged => self.untagged_in_fetch(&r)?,
            };
            if let Some(event) = event {
                return Ok(event);
            }
        }
        Err(Error::new(
            Kind::Protocol,
            format!(
                "{}: UID FETCH: more than {MAX_UNTAGGED} responses",
                self.peer()
            ),
        ))
    }

    /// Sends what the pipeline has room for, as one write with the next read.
    fn fill_pipeline(&mut self) -> Result<()> {
        while let Some(command) = self.fetch.next_command() {
            let tag = format!("a{}", self.tag + 1);
            if !self.conn.fits_window(&tag, Some(&command)) {
                break;
            }
            self.tag += 1;
            self.conn.queue(&tag, Some(&command))?;
            self.fetch.sent(tag);
        }
        Ok(())
    }

    /// The tagged response `r` that ends the oldest command in flight: a fetch's batch is
    /// over, said with what did not come; an update needs its OK.
    fn command_ended(&mut self, r: ImapReply) -> Result<Option<FetchEvent>> {
        let (_, pending) = self
            .fetch
            .in_flight
            .pop_front()
            .expect("a command in flight");
        match pending {
            Pending::Fetch(uids) => {
                match r.status {
                    Some(ImapStatus::Ok) => {}
                    // Dovecot: some messages went away meanwhile; the others came.
                    Some(ImapStatus::No)
                        if r.resp_code()
                            .is_some_and(|c| c.eq_ignore_ascii_case(b"EXPUNGEISSUED")) => {}
                    _ => {
                        return Err(crate::wire::reply::Response::error(
                            &r,
                            &format!("{}: UID FETCH", self.peer()),
                        ));
                    }
                }
                let missing = self.fetch.missing(&uids);
                Ok(Some(FetchEvent::Batch { uids, missing }))
            }
            Pending::Update(command) => {
                self.expect_ok(r, &command)?;
                Ok(None)
            }
        }
    }

    /// An untagged response during the fetch: noted as any is; a FETCH that carries a
    /// message announces it, its literal not read yet.
    fn untagged_in_fetch(&mut self, r: &ImapReply) -> Result<Option<FetchEvent>> {
        self.note_untagged(r)?;
        let Some(mut piece) = fetch_items(r) else {
            self.skip_literals(r.literal)?;
            return Ok(None);
        };
        let mut parser = FetchParser::new();
        let mut budget = MAX_UNASKED;
        loop {
            match parser.feed(&piece).map_err(|why| self.malformed(&why))? {
                Next::Literal { len, body: true } => {
                    self.check_size(&parser.items, len, true)?;
                    let current = Announced {
                        parser,
                        len,
                        budget,
                    };
                    self.fetch.current = Some(current);
                    return Ok(Some(FetchEvent::Message { size: len }));
                }
                Next::Literal { len, body: false } => {
                    piece = self.skip_unasked(len, &mut budget)?;
                }
                // A FETCH without the message: a flag change, or BODY[] NIL (Dovecot's
                // answer for a message whose file went away). Either way nothing came:
                // the UID stays wanted, and its batch reports it missing.
                Next::Done => return Ok(None),
            }
        }
    }

    /// Feeds `piece` and the rest of a FETCH response to `parser`, each literal in it read
    /// and dropped as one nobody asked for, charged to `budget`.
    fn finish_items(
        &mut self,
        parser: &mut FetchParser,
        mut piece: Vec<u8>,
        budget: &mut u64,
    ) -> Result<()> {
        while let Next::Literal { len, .. } =
            parser.feed(&piece).map_err(|why| self.malformed(&why))?
        {
            piece = self.skip_unasked(len, budget)?;
        }
        Ok(())
    }

    /// A message literal of `len` octets against `--max-size` and the RFC822.SIZE the
    /// server gave (when it came first); `ahead`: the literal is not read yet, and a refusal
    /// leaves it so (the connection is then out of step). More than the size is refused,
    /// as more data than announced is anywhere (docs/CONVENTIONS.md, "Files are never left
    /// half-written"); less is taken: Exchange may give its stored size, an estimate.
    fn check_size(&mut self, items: &FetchItems, len: u64, ahead: bool) -> Result<()> {
        let uid = items.uid.map(|u| format!("UID {u}: ")).unwrap_or_default();
        let why = match (self.fetch.max_size, items.size) {
            (Some(max), _) if ahead && len > max => format!("over --max-size {max}"),
            (_, Some(size)) if len > size => format!("though its RFC822.SIZE is {size}"),
            _ => return Ok(()),
        };
        if ahead {
            // Begun and never read: the engine counts the connection as out of step.
            let _ = self.conn.literal(len)?;
        }
        Err(Error::new(
            Kind::Protocol,
            format!(
                "{}: UID FETCH: {uid}a message of {len} octets, {why}{}",
                self.peer(),
                if ahead { ": not read" } else { "" }
            ),
        ))
    }

    fn malformed(&self, why: &parse::Bad) -> Error {
        Error::new(
            Kind::Protocol,
            format!(
                "{}: malformed FETCH response from the server ({why})",
                self.peer()
            ),
        )
    }

    /// Streams the message [`next_event`](ImapClient::next_event) announced to `out`, in
    /// chunks of at most `buf`'s size, then reads the rest of its FETCH response: returns its
    /// UID. An error from `out` or the connection leaves the connection unusable.
    pub fn read_message(
        &mut self,
        buf: &mut [u8],
        mut out: impl FnMut(&[u8]) -> Result<()>,
    ) -> Result<u32> {
        let Some(Announced {
            mut parser,
            len,
            mut budget,
        }) = self.fetch.current.take()
        else {
            return Err(Error::new(Kind::Software, "read_message without a message"));
        };
        let mut lit = self.conn.literal(len)?;
        loop {
            match lit.read(buf)? {
                0 => break,
                n => out(&buf[..n])?,
            }
        }
        let piece = self.conn.read_line_raw()?;
        // A second message in one response was refused by the parser; another literal is a
        // value nobody asked for.
        self.finish_items(&mut parser, piece, &mut budget)?;
        let uid = parser.items.uid.ok_or_else(|| {
            Error::new(
                Kind::Protocol,
                format!("{}: UID FETCH: a message without its UID", self.peer()),
            )
        })?;
        // An RFC822.SIZE that came after the message.
        self.check_size(&parser.items, len, false)?;
        if !self.fetch.wanted.remove(&uid) {
            return Err(Error::new(
                Kind::Protocol,
                format!(
                    "{}: UID FETCH: a message with UID {uid}, which was not asked for (or came twice)",
                    self.peer()
                ),
            ));
        }
        Ok(uid)
    }
}

/// The items of an untagged FETCH response, as far as its line goes.
fn fetch_items(r: &ImapReply) -> Option<Vec<u8>> {
    if r.status.is_some() {
        return None;
    }
    match parse_data(&r.text) {
        Ok(Data::Fetch(_, items)) => Some(items.to_vec()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{drain, drain_missing, preauth, preauth_with};
    use super::*;

    #[test]
    fn fetches_are_pipelined_in_batches() {
        let uids: Vec<u32> = (1..=250).map(|i| i * 2).collect();
        let mut wire = Vec::new();
        for (i, u) in uids.iter().enumerate() {
            wire.extend_from_slice(
                format!(
                    "* {} FETCH (UID {u} BODY[] {{3}}\r\nm{:02}) \r\n",
                    i + 1,
                    u % 100
                )
                .as_bytes(),
            );
            if (i + 1) % BATCH == 0 || i + 1 == uids.len() {
                wire.extend_from_slice(format!("a{} OK\r\n", (i / BATCH) + 1).as_bytes());
            }
        }
        // The responses only come once all three commands went, in one write.
        let parts: Vec<&[u8]> = vec![b"", b"", &wire];
        let mut c = preauth(&parts, 4096);
        c.start_fetch(&uids);
        let (msgs, batches) = drain(&mut c).unwrap();
        assert_eq!(msgs.len(), 250);
        assert_eq!(batches.len(), 3);
        assert_eq!(batches[2].len(), 50);
        let written = c.conn.stream().written_str();
        assert_eq!(written.lines().count(), 3);
        assert!(written.starts_with("a1 UID FETCH 2,4,6,"), "{written}");
        assert_eq!(c.conn.stream().writes, 1);
    }

    #[test]
    fn fetch_failures() {
        // A tagged NO ends the run (except EXPUNGEISSUED); BAD is a protocol error.
        for (tagged, code) in [
            (&b"a1 NO [SERVERBUG] oops\r\n"[..], 75),
            (b"a1 BAD what\r\n", 76),
            (b"a1 NO x\r\n", 69),
        ] {
            let mut wire = b"* 1 FETCH (UID 5 BODY[] {1}\r\nx)\r\n".to_vec();
            wire.extend_from_slice(tagged);
            let mut c = preauth(&[&wire], 64);
            c.start_fetch(&[5]);
            let e = drain(&mut c).unwrap_err();
            assert_eq!(e.exit_code(), code, "{e}");
        }
        let mut c = preauth(&[b"* 1 EXPUNGE\r\na1 NO [EXPUNGEISSUED] gone\r\n"], 64);
        c.start_fetch(&[5]);
        let ((msgs, batches), missing) = drain_missing(&mut c).unwrap();
        assert!(msgs.is_empty() && batches == [vec![5]]);
        assert_eq!(missing, [5]);
        // A literal that lies: the connection ends inside it.
        let mut c = preauth(&[b"* 1 FETCH (UID 5 BODY[] {100}\r\nshort"], 1);
        c.start_fetch(&[5]);
        let e = drain(&mut c).unwrap_err();
        assert_eq!(e.exit_code(), 74, "{e}");
        assert!(!c.is_usable());
        // A message nobody asked for, or twice.
        let mut c = preauth(&[b"* 1 FETCH (UID 6 BODY[] {1}\r\nx)\r\na1 OK\r\n"], 64);
        c.start_fetch(&[5]);
        assert_eq!(drain(&mut c).unwrap_err().exit_code(), 76);
        let mut c = preauth(&[b"* 1 FETCH (UID 5 BODY[] {1}\r\nx)\r\n* 1 FETCH (UID 5 BODY[] {1}\r\nx)\r\na1 OK\r\n"], 64);
        c.start_fetch(&[5]);
        assert_eq!(drain(&mut c).unwrap_err().exit_code(), 76);
        // No UID at all.
        let mut c = preauth(&[b"* 1 FETCH (BODY[] {1}\r\nx)\r\na1 OK\r\n"], 64);
        c.start_fetch(&[5]);
        assert_eq!(drain(&mut c).unwrap_err().exit_code(), 76);
        // BYE then EOF: the reason is named.
        let mut c = preauth(&[b"* BYE shutting down\r\n"], 64);
        c.start_fetch(&[5]);
        let e = drain(&mut c).unwrap_err();
        assert_eq!(e.exit_code(), 75, "{e}");
        assert!(e.to_string().contains("BYE shutting down"), "{e}");
    }

    #[test]
    fn what_a_batch_left_out_is_said_and_asked_about() {
        // An OK without UID 6's message: the batch says so.
        let mut c = preauth(&[b"* 1 FETCH (UID 5 BODY[] {1}\r\nx)\r\na1 OK\r\n"], 64);
        c.start_fetch(&[5, 6]);
        let ((msgs, batches), missing) = drain_missing(&mut c).unwrap();
        assert_eq!((msgs.len(), batches), (1, vec![vec![5, 6]]));
        assert_eq!(missing, [6]);
        // BODY[] NIL is no message either.
        let mut c = preauth(
            &[b"* 1 FETCH (UID 5 BODY[] NIL)\r\n* 2 FETCH (UID 6 BODY[] {1}\r\nx)\r\na1 OK\r\n"],
            64,
        );
        c.start_fetch(&[5, 6]);
        let ((msgs, _), missing) = drain_missing(&mut c).unwrap();
        assert_eq!((msgs, missing), (vec![(6, b"x".to_vec())], vec![5]));
        // The OK before the messages: all are missing, and what comes after is no answer to
        // anything (read and dropped by the NOOP that asks what is still there).
        let parts: Vec<&[u8]> = vec![
            b"a1 OK done\r\n* 1 FETCH (UID 5 BODY[] {1}\r\nx)\r\n",
            b"a2 OK\r\n",
            b"* SEARCH 5\r\na3 OK\r\n",
        ];
        let mut c = preauth(&parts, 64);
        c.start_fetch(&[5]);
        let ((msgs, _), missing) = drain_missing(&mut c).unwrap();
        assert!(msgs.is_empty());
        assert_eq!(missing, [5]);
        assert_eq!(c.uids_present(&missing).unwrap(), [5]);
        assert_eq!(
            c.conn.stream().written_str(),
            "a1 UID FETCH 5 (UID RFC822.SIZE BODY.PEEK[])\r\na2 NOOP\r\na3 UID SEARCH UID 5\r\n"
        );
        // Of several, those the search names are there; a UID it adds is not asked about.
        let parts: Vec<&[u8]> = vec![b"* 3 EXPUNGE\r\na1 OK\r\n", b"* SEARCH 2 3 9\r\na2 OK\r\n"];
        let mut c = preauth(&parts, 64);
        c.count = 20;
        assert_eq!(c.uids_present(&[2, 4, 9]).unwrap(), [2, 9]);
        assert_eq!(
            c.conn.stream().written_str(),
            "a1 NOOP\r\na2 UID SEARCH UID 2,4,9\r\n"
        );
    }

    #[test]
    fn a_message_longer_than_its_size_is_refused() {
        // RFC822.SIZE first (as Dovecot sends it): refused before a byte is read.
        let mut c = preauth(
            &[b"* 1 FETCH (UID 5 RFC822.SIZE 10 BODY[] {999999999999}\r\n"],
            64,
        );
        c.start_fetch(&[5]);
        let e = drain(&mut c).unwrap_err();
        assert_eq!(e.exit_code(), 76);
        assert_eq!(
            e.to_string(),
            "h:143: UID FETCH: UID 5: a message of 999999999999 octets, though its RFC822.SIZE is 10: not read"
        );
        assert!(!c.is_usable());
        // RFC822.SIZE after it: refused once it is read, before it is stored.
        let mut c = preauth(
            &[b"* 1 FETCH (BODY[] {11}\r\nhello world UID 5 RFC822.SIZE 10)\r\na1 OK\r\n"],
            64,
        );
        c.start_fetch(&[5]);
        let e = drain(&mut c).unwrap_err();
        assert_eq!(
            e.to_string(),
            "h:143: UID FETCH: UID 5: a message of 11 octets, though its RFC822.SIZE is 10"
        );
        // Shorter than its size is taken: Exchange may give a size that is only an estimate.
        let mut c = preauth(
            &[b"* 1 FETCH (UID 5 RFC822.SIZE 20 BODY[] {5}\r\nhello)\r\n* 2 FETCH (BODY[] {3}\r\nabc UID 6 RFC822.SIZE 3)\r\na1 OK\r\n"],
            64,
        );
        c.start_fetch(&[5, 6]);
        let (msgs, _) = drain(&mut c).unwrap();
        assert_eq!(msgs, [(5, b"hello".to_vec()), (6, b"abc".to_vec())]);
        // --max-size bounds every message, whatever the order of its items.
        let mut c = preauth(&[b"* 1 FETCH (BODY[] {2049}\r\n"], 64);
        c.set_max_size(Some(2048));
        c.start_fetch(&[5]);
        let e = drain(&mut c).unwrap_err();
        assert_eq!(
            e.to_string(),
            "h:143: UID FETCH: a message of 2049 octets, over --max-size 2048: not read"
        );
        let mut c = preauth(&[b"* 1 FETCH (UID 5 BODY[] {3}\r\nabc)\r\na1 OK\r\n"], 64);
        c.set_max_size(Some(3));
        c.start_fetch(&[5]);
        assert_eq!(drain(&mut c).unwrap().0, [(5, b"abc".to_vec())]);
    }

    #[test]
    fn sizes_are_asked_for_apart() {
        let parts: Vec<&[u8]> = vec![
            b"* 1 FETCH (UID 5 RFC822.SIZE 120)\r\n* 2 FETCH (FLAGS (\\Seen))\r\n* 3 FETCH (RFC822.SIZE 7 UID 9 X {3}\r\nabc)\r\n* 4 FETCH (UID 12 RFC822.SIZE 1)\r\na1 OK\r\n",
        ];
        let mut c = preauth(&parts, 3);
        assert_eq!(c.uid_sizes(&[5, 8, 9]).unwrap(), [(5, 120), (9, 7)]);
        assert_eq!(
            c.conn.stream().written_str(),
            "a1 UID FETCH 5,8:9 (UID RFC822.SIZE)\r\n"
        );
        let mut c = preauth(&[b"a1 NO [SERVERBUG] x\r\n"], 64);
        assert_eq!(c.uid_sizes(&[5]).unwrap_err().exit_code(), 75);
        assert!(preauth(&[], 64).uid_sizes(&[]).unwrap().is_empty());
    }

    #[test]
    fn stores_and_expunges_ride_the_pipeline() {
        let parts: Vec<&[u8]> = vec![
            b"* 1 FETCH (UID 5 BODY[] {1}\r\nx)\r\na1 OK\r\n",
            b"a2 OK\r\n",
            b"a3 OK\r\n",
        ];
        let mut c = preauth(&parts, 64);
        c.start_fetch(&[5]);
        let mut buf = [0u8; 16];
        assert_eq!(c.next_event().unwrap(), FetchEvent::Message { size: 1 });
        assert_eq!(c.read_message(&mut buf, |_| Ok(())).unwrap(), 5);
        assert_eq!(
            c.next_event().unwrap(),
            FetchEvent::Batch {
                uids: vec![5],
                missing: vec![]
            }
        );
        c.queue_store(&[5], "\\Seen \\Deleted").unwrap();
        c.queue_expunge(&[5]).unwrap();
        assert_eq!(c.next_event().unwrap(), FetchEvent::Done);
        assert_eq!(
            c.conn.stream().written_str(),
            "a1 UID FETCH 5 (UID RFC822.SIZE BODY.PEEK[])\r\na2 UID STORE 5 +FLAGS.SILENT (\\Seen \\Deleted)\r\na3 UID EXPUNGE 5\r\n"
        );
        // Without UIDPLUS, no UID EXPUNGE.
        let mut c = preauth_with("IMAP4rev1", &[], 64);
        assert_eq!(c.queue_expunge(&[1]).unwrap_err().exit_code(), 69);
    }
}
