//! The fetch loop of one folder: which messages to take (UIDs above the folder's mark not
//! delivered yet, `--since`, `--unseen`, `--max-size`, `--limit`), streaming each into the
//! store, and only once a batch is durable (the store synced) recording it in the state
//! file and sending its flags (`--seen`) or deletions (`--delete`: `\Deleted`, then
//! `UID EXPUNGE` of exactly those UIDs) back to the server.
//!
//! State, per folder, in the account's state file, keyed by the folder's UIDVALIDITY
//! ([`ImapFolder`]): the mark (every wanted message up to that UID was delivered) and the
//! UIDs of messages above it that were delivered (a batch cut short, or a message before
//! them still owed). Only what arrived moves the mark (`Ledger`): a
//! message asked for and not sent is asked about at the end (gone, or still owed and
//! reported), never taken as delivered because the server said OK.

use super::batch::{Fetched, Recorded};
use crate::deliver::{Deliver, MessageInfo, WireMessage};
use crate::error::{Error, Kind, Result};
use crate::events::Events;
use crate::imap::client::{FetchEvent, IDLE_REISSUE, IdleEnd, ImapClient, SelectedFolder};
use crate::net::stream::Transport;
use crate::uidls::{ImapFolder, StateFile};
use crate::wire::printable;
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

/// Read buffer for message data.
const BUF: usize = 16 * 1024;

/// What to fetch and what to do on the server afterwards.
#[derive(Debug, Clone, Default)]
pub struct FetchOptions {
    /// Only UIDs above the last one delivered (`--new`, the default); `false` is `--all`.
    pub new_only: bool,
    /// Set `\Seen` on each message once its delivery is durable.
    pub seen: bool,
    /// `\Deleted` and `UID EXPUNGE` each message once its delivery is durable.
    pub delete: bool,
    /// `SEARCH SINCE` this date (RFC 3501 `date`, `1-Feb-2026`).
    pub since: Option<String>,
    /// `SEARCH UNSEEN`.
    pub unseen: bool,
    /// Fetch at most this many messages per folder.
    pub limit: Option<u64>,
    /// `--max-size`: skip (and name) messages larger than this, by their RFC822.SIZE, and
    /// read no message literal longer.
    pub max_size: Option<u64>,
    /// Fetch nothing: record the folder as delivered up to now (`--new` then starts here).
    pub reset_state: bool,
    /// Ask the RFC822.SIZE of the messages to fetch before their bodies, for a progress
    /// display's total (as pop-fetch has LIST's): one more command, so only when shown.
    pub sizes: bool,
}

/// What a run did in one folder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub fetched: u64,
    /// Bytes as the server sent them.
    pub bytes: u64,
    /// Messages left for a later run by `--limit`.
    pub left: u64,
    /// Messages skipped by `--max-size` (not recorded: asked about again next run).
    pub too_big: u64,
    pub deleted: u64,
    /// The folder's message count when it was selected: what the search covered.
    pub exists: u32,
    /// Messages asked for and not sent though the server still lists them (each reported
    /// as a failure, 76): the next run asks for them again.
    pub missing: u64,
    /// `--idle` stopped waiting because the login is near its expiry (an OAuth2 token): the
    /// caller logs out and goes on in a new session, logged in afresh.
    pub relogin: bool,
}

impl Summary {
    /// Adds what a later fetch of the same folder did; its counts of the folder (`exists`,
    /// `left`, `too_big`) are the newer ones.
    pub fn absorb(&mut self, s: Summary) {
        self.fetched += s.fetched;
        self.bytes += s.bytes;
        self.deleted += s.deleted;
        self.left = s.left;
        self.too_big = s.too_big;
        self.missing += s.missing;
        self.exists = s.exists;
        self.relogin = s.relogin;
    }
}

/// Fetches `folder` into `store`. The caller logs out on success and drops the connection
/// on error; what was delivered and synced before an error stays recorded.
pub fn fetch_folder<S: Transport>(
    client: &mut ImapClient<S>,
    folder: &str,
    store: &mut dyn Deliver,
    state: Option<&mut StateFile>,
    opts: &FetchOptions,
    events: &mut dyn Events,
) -> Result<Summary> {
    let mailbox = open_folder(client, folder, opts)?;
    let mut run = FolderRun {
        client,
        folder,
        store,
        state,
        opts,
        events,
        schema: ImapFolder::new(folder, mailbox.uidvalidity),
        summary: Summary {
            exists: mailbox.exists,
            ..Summary::default()
        },
    };
    let (last, partial) = run.read_state()?;
    if opts.reset_state {
        run.reset(mailbox.uidnext)?;
        return Ok(run.summary);
    }
    if opts.new_only && last == u32::MAX {
        // UIDs are 32-bit (RFC 3501 section 2.3.1.1): nothing can come after this one
        // without a new UIDVALIDITY, and `UID 4294967296:*` is no UID set.
        run.save()?;
        return Ok(run.summary);
    }
    let found = run.client.uid_search(&criteria(opts, last))?;
    let mut ledger = Ledger::new(last, &found, &partial);
    // Of the messages earlier runs delivered above the mark, those still there: their flags
    // or deletion may not have gone out (a batch cut short), so they go now.
    let mut earlier: Vec<u32> = partial
        .iter()
        .copied()
        .filter(|u| found.binary_search(u).is_ok())
        .collect();
    earlier.sort_unstable();
    let (uids, total) = run.choose(found, last, &partial)?;
    run.save()?;
    // Messages a batch cut short delivered last time are durable: their flags and
    // deletions go first (they are not fetched again).
    run.settle_on_server(&Recorded::earlier(earlier))?;
    let missing = run.receive(&uids, total, &mut ledger)?;
    if !missing.is_empty() {
        run.ask_about(missing, &mut ledger)?;
    }
    Ok(run.summary)
}

/// SELECT (EXAMINE when nothing is to change), after checking the server can do what the
/// options ask.
fn open_folder<S: Transport>(
    client: &mut ImapClient<S>,
    folder: &str,
    opts: &FetchOptions,
) -> Result<SelectedFolder> {
    if opts.delete && !client.capabilities().uidplus {
        return Err(no_uidplus(client.peer()));
    }
    let read_only = !(opts.seen || opts.delete);
    let mailbox = client.select(folder, read_only)?;
    if !read_only && mailbox.read_only {
        return Err(Error::new(
            Kind::Auth,
            format!(
                "{}: folder {} is read-only for this user: --seen and --delete cannot change it",
                client.peer(),
                printable(folder)
            ),
        ));
    }
    Ok(mailbox)
}

/// The search for the messages to consider: above the mark for `--new`, `--unseen`,
/// `--since`.
fn criteria(opts: &FetchOptions, last: u32) -> String {
    let mut criteria = Vec::new();
    if opts.new_only && last > 0 {
        criteria.push(format!("UID {}:*", u64::from(last) + 1));
    }
    if opts.unseen {
        criteria.push("UNSEEN".to_string());
    }
    if let Some(d) = &opts.since {
        criteria.push(format!("SINCE {d}"));
    }
    if criteria.is_empty() {
        criteria.push("ALL".to_string());
    }
    criteria.join(" ")
}

/// The flags a message gets once it is recorded (`--seen`, `--delete`).
fn flags(opts: &FetchOptions) -> Option<&'static str> {
    match (opts.seen, opts.delete) {
        (true, true) => Some("\\Seen \\Deleted"),
        (true, false) => Some("\\Seen"),
        (false, true) => Some("\\Deleted"),
        (false, false) => None,
    }
}

/// One folder's fetch.
struct FolderRun<'r, S: Transport> {
    client: &'r mut ImapClient<S>,
    folder: &'r str,
    store: &'r mut dyn Deliver,
    state: Option<&'r mut StateFile>,
    opts: &'r FetchOptions,
    events: &'r mut dyn Events,
    schema: ImapFolder,
    summary: Summary,
}

impl<S: Transport> FolderRun<'_, S> {
    /// The folder's mark and the UIDs delivered above it, from the state (none when the
    /// UIDVALIDITY changed, which is noted); the state then holds the folder's UIDVALIDITY.
    fn read_state(&mut self) -> Result<(u32, HashSet<u32>)> {
        let (mut last, mut partial) = (0, HashSet::new());
        let Some(st) = self.state.as_deref_mut() else {
            return Ok((last, partial));
        };
        if self.schema.same_validity(st) {
            last = self.schema.last(st);
            self.schema.forget_stale(st);
            partial = self.schema.delivered_above(st);
        } else if let Some(old) = self.schema.recorded_validity(st) {
            self.events.note(&format!(
                "{}: folder {}: UIDVALIDITY changed from {old} to {}: the UIDs recorded mean nothing any more; {}",
                self.client.peer(),
                printable(self.folder),
                self.schema.uidvalidity(),
                if self.opts.reset_state {
                    "recording it as delivered up to now (--reset-state)"
                } else {
                    "the folder is fetched as new"
                }
            ));
            self.schema.forget_all(st);
        }
        self.schema.set(st, last)?;
        Ok((last, partial))
    }

    /// `--reset-state`: records the folder as delivered up to now, fetching nothing.
    fn reset(&mut self, uidnext: Option<u32>) -> Result<()> {
        // Every message there now has a UID below UIDNEXT (RFC 3501 section 2.3.1.1); a
        // server that does not say it is asked for the UIDs.
        let top = match uidnext {
            Some(next) => next.saturating_sub(1),
            None => self.client.uid_search("ALL")?.last().copied().unwrap_or(0),
        };
        if let Some(st) = self.state.as_deref_mut() {
            self.schema.set_last(st, top)?;
            self.schema.forget_all(st);
            st.save()?;
        }
        Ok(())
    }

    fn save(&mut self) -> Result<()> {
        match self.state.as_deref_mut() {
            Some(st) => st.save(),
            None => Ok(()),
        }
    }

    /// Of the UIDs `found`, those to fetch: not delivered yet (`--new`), within
    /// `--max-size` (the others named) and `--limit`; and their total size, when asked
    /// ([`FetchOptions::sizes`]) or known from `--max-size`.
    fn choose(
        &mut self,
        found: Vec<u32>,
        last: u32,
        partial: &HashSet<u32>,
    ) -> Result<(Vec<u32>, Option<u64>)> {
        let new_only = self.opts.new_only;
        let mut uids: Vec<u32> = found
            .into_iter()
            // `UID n:*` always matches the highest UID, even below n (RFC 3501 section 6.4.8).
            .filter(|u| !new_only || (*u > last && !partial.contains(u)))
            .collect();
        let mut sizes = None;
        if let (Some(max), false) = (self.opts.max_size, uids.is_empty()) {
            // Sizes first, as pop-fetch has LIST's: a message over the limit is never asked
            // for. It is not recorded either, so a later run with a larger limit fetches it.
            let all = self.client.uid_sizes(&uids)?;
            let (big, fit): (Vec<_>, Vec<_>) = all.into_iter().partition(|&(_, n)| n > max);
            for &(u, n) in &big {
                self.summary.too_big += 1;
                self.events.note(&format!(
                    "{}: folder {}: UID {u}: {n} bytes, over --max-size {max}: skipped",
                    self.client.peer(),
                    printable(self.folder)
                ));
            }
            uids.retain(|u| big.binary_search_by_key(u, |&(b, _)| b).is_err());
            sizes = Some(fit);
        }
        self.client.set_max_size(self.opts.max_size);
        if let Some(l) = self.opts.limit {
            let l = usize::try_from(l).unwrap_or(usize::MAX);
            if uids.len() > l {
                self.summary.left = (uids.len() - l) as u64;
                uids.truncate(l);
            }
        }
        if sizes.is_none() && self.opts.sizes && !uids.is_empty() {
            sizes = Some(self.client.uid_sizes(&uids)?);
        }
        // Only what will be fetched counts (sizes are sorted by UID, as `uids` are). Sizes
        // whose sum passes 64 bits (a hostile server's) give no total.
        let total = sizes.and_then(|s| {
            s.iter()
                .filter(|(u, _)| uids.binary_search(u).is_ok())
                .try_fold(0u64, |sum, &(_, n)| sum.checked_add(n))
        });
        Ok((uids, total))
    }

    /// Queues the flags (`--seen`) and deletion (`--delete`) of messages recorded as
    /// delivered.
    fn settle_on_server(&mut self, recorded: &Recorded<u32>) -> Result<()> {
        let Some(f) = flags(self.opts) else {
            return Ok(());
        };
        if recorded.is_empty() {
            return Ok(());
        }
        self.client.queue_store(recorded.ids(), f)?;
        if self.opts.delete {
            self.client.queue_expunge(recorded.ids())?;
            self.summary.deleted += recorded.len() as u64;
        }
        Ok(())
    }

    /// Fetches `uids` (`total` bytes, when known), under one progress line, batch by batch
    /// as the client sends them; returns those asked for and not in the answer. After a failure what was committed
    /// is made durable and recorded by its id: the next run skips it, and sends its flags
    /// or deletion, which this batch never did.
    fn receive(
        &mut self,
        uids: &[u32],
        total: Option<u64>,
        ledger: &mut Ledger,
    ) -> Result<Vec<u32>> {
        self.client.start_fetch(uids);
        self.store.expect(uids.len() as u64);
        // One progress line for the folder, not one per message.
        if !uids.is_empty() {
            self.events.start(
                &format!(
                    "{} {}: {}",
                    self.client.peer(),
                    printable(self.folder),
                    super::messages(uids.len())
                ),
                total,
                0,
            );
        }
        let mut fetched = Fetched::default();
        let mut missing = Vec::new();
        if let Err(e) = self.receive_batches(&mut fetched, &mut missing, ledger) {
            if !fetched.is_empty() {
                let schema = &self.schema;
                // The run's failure is what it reports, whether or not this succeeds.
                let _ = fetched.record(&mut *self.store, self.state.as_deref_mut(), |st, ids| {
                    ids.iter().for_each(|&u| ledger.delivered(u));
                    ledger.record(st, schema, ids, false)
                });
            }
            return Err(e);
        }
        if !uids.is_empty() {
            self.events.finish();
        }
        Ok(missing)
    }

    /// The messages as they come, each committed into the store; each batch the server
    /// ends is synced, recorded, then flagged or deleted ([`Fetched`]).
    fn receive_batches(
        &mut self,
        fetched: &mut Fetched<u32>,
        missing: &mut Vec<u32>,
        ledger: &mut Ledger,
    ) -> Result<()> {
        let mut buf = vec![0u8; BUF];
        loop {
            match self.client.next_event()? {
                FetchEvent::Message { size } => {
                    let info = MessageInfo::new(Some(size), None);
                    let mut msg = WireMessage::begin(&mut *self.store, &info)?;
                    let events = &mut *self.events;
                    let uid = self.client.read_message(&mut buf, |d| {
                        msg.write(d)?;
                        events.advance(d.len() as u64);
                        Ok(())
                    })?;
                    fetched.commit(msg, uid)?;
                    self.summary.fetched += 1;
                    self.summary.bytes += size;
                }
                FetchEvent::Batch {
                    missing: mut left_out,
                    ..
                } => {
                    let schema = &self.schema;
                    let recorded = std::mem::take(fetched).record(
                        &mut *self.store,
                        self.state.as_deref_mut(),
                        |st, ids| {
                            ids.iter().for_each(|&u| ledger.delivered(u));
                            ledger.record(st, schema, ids, true)
                        },
                    )?;
                    missing.append(&mut left_out);
                    self.settle_on_server(&recorded)?;
                }
                FetchEvent::Done => return Ok(()),
            }
        }
    }

    /// The messages asked for and not sent: gone meanwhile (another client expunged them)
    /// is no loss; still there is a message owed: not recorded, so the next run asks for it
    /// again, and reported.
    fn ask_about(&mut self, mut missing: Vec<u32>, ledger: &mut Ledger) -> Result<()> {
        missing.sort_unstable();
        let present = self.client.uids_present(&missing)?;
        for &u in &missing {
            if present.binary_search(&u).is_err() {
                ledger.gone(u);
            }
        }
        if let Some(st) = self.state.as_deref_mut() {
            ledger.record(st, &self.schema, &[], true)?;
            st.save()?;
        }
        if !present.is_empty() {
            self.summary.missing = present.len() as u64;
            self.events
                .fail(&not_sent(self.client.peer(), self.folder, &present));
        }
        Ok(())
    }
}

/// Messages a FETCH left out though the folder still holds them.
fn not_sent(peer: &str, folder: &str, uids: &[u32]) -> Error {
    const SHOWN: usize = 10;
    let mut list: Vec<String> = uids.iter().take(SHOWN).map(u32::to_string).collect();
    if uids.len() > SHOWN {
        list.push(format!("... ({} in all)", uids.len()));
    }
    let (noun, verb, pronoun) = if uids.len() == 1 {
        ("UID", "was", "it")
    } else {
        ("UIDs", "were", "them")
    };
    Error::new(
        Kind::Protocol,
        format!(
            "{peer}: folder {}: {noun} {} {verb} asked for and not sent, though the server still lists {pronoun}: not recorded, the next run asks again",
            printable(folder),
            list.join(", ")
        ),
    )
}

/// Which of the UIDs a search found above the folder's recorded mark this run has settled
/// (delivered now or by an earlier run, or gone), so that the mark moves only over
/// messages that reached the store: a server's OK, a UID in a search answer or a UID
/// asked for is no evidence that a message arrived. The mark rises to the highest
/// delivered UID below the first one not settled; what was delivered above that is
/// recorded by its id (`FOLDER:UIDVALIDITY:UID`) and not fetched again.
#[derive(Debug)]
struct Ledger {
    last: u32,
    open: BTreeMap<u32, Fate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// Not delivered yet: found by the search and not fetched (`--limit`), or asked for and
    /// not received.
    Owed,
    Delivered,
    /// Asked for, not received, and no longer in the folder.
    Gone,
}

impl Ledger {
    /// The UIDs `found` above `last`, those in `earlier` (ids a past run recorded) settled.
    fn new(last: u32, found: &[u32], earlier: &HashSet<u32>) -> Ledger {
        let open = found
            .iter()
            .filter(|&&u| u > last)
            .map(|&u| {
                let fate = if earlier.contains(&u) {
                    Fate::Delivered
                } else {
                    Fate::Owed
                };
                (u, fate)
            })
            .collect();
        Ledger { last, open }
    }

    /// `uid` is durable in the store.
    fn delivered(&mut self, uid: u32) {
        if let Some(f) = self.open.get_mut(&uid) {
            *f = Fate::Delivered;
        }
    }

    /// `uid` was asked for and is no longer in the folder.
    fn gone(&mut self, uid: u32) {
        if let Some(f) = self.open.get_mut(&uid) {
            if *f == Fate::Owed {
                *f = Fate::Gone;
            }
        }
    }

    /// Moves the mark over the settled UIDs at the bottom; returns it.
    fn settle(&mut self) -> u32 {
        while let Some(entry) = self.open.first_entry() {
            match *entry.get() {
                Fate::Owed => break,
                Fate::Delivered => self.last = *entry.key(),
                Fate::Gone => {}
            }
            entry.remove();
        }
        self.last
    }

    /// Writes the mark into the state (moved up first when `settle`: not for messages whose
    /// flags never went out, which the next run must see by their ids), with the ids of
    /// `fresh` (UIDs just delivered) that stay above it; drops the ids it passed. The caller
    /// saves the state.
    fn record(
        &mut self,
        st: &mut StateFile,
        folder: &ImapFolder,
        fresh: &[u32],
        settle: bool,
    ) -> Result<()> {
        let last = if settle { self.settle() } else { self.last };
        folder.set_last(st, last)?;
        folder.forget_up_to(st, last);
        for &u in fresh {
            if self.open.get(&u) == Some(&Fate::Delivered) {
                folder.insert(st, u);
            }
        }
        Ok(())
    }
}

/// `--idle`: fetches `folder`, then waits with IDLE (re-issued every [`IDLE_REISSUE`]) and
/// fetches what arrives, until `until.stop` says so; then returns (the caller logs out).
/// When `until.renew_in` says the login is to be renewed sooner (an OAuth2 token, which a server may
/// hold the session to), IDLE is re-issued by then, and there it returns with
/// [`Summary::relogin`] set instead, for the caller to log in again.
pub fn fetch_and_idle<S: Transport>(
    client: &mut ImapClient<S>,
    folder: &str,
    store: &mut dyn Deliver,
    mut state: Option<&mut StateFile>,
    opts: &FetchOptions,
    events: &mut dyn Events,
    until: &IdleUntil<'_>,
) -> Result<Summary> {
    let IdleUntil { stop, renew_in } = *until;
    let mut total = fetch_folder(client, folder, store, state.as_deref_mut(), opts, events)?;
    let waiting = format!(
        "{}: waiting for new mail in {} (IDLE)",
        client.peer(),
        printable(folder)
    );
    // Said when a wait starts, not at each re-issue of IDLE.
    let mut said = false;
    while !stop() {
        if !said {
            events.wait(&waiting);
            said = true;
        }
        // Mail announced while the last fetch ran makes IDLE end at once: nothing waits.
        let wait = renew_in().map_or(IDLE_REISSUE, |left| left.min(IDLE_REISSUE));
        match client.idle(total.exists, wait, stop)? {
            IdleEnd::NewMail => {
                let s = fetch_folder(client, folder, store, state.as_deref_mut(), opts, events)?;
                total.absorb(s);
                said = false;
            }
            IdleEnd::Reissue if renew_in().is_some_and(|left| left < RENEW_SOON) => {
                total.relogin = true;
                break;
            }
            IdleEnd::Reissue => {}
            IdleEnd::Stop => break,
        }
    }
    // The wait's display goes, without a summary.
    events.discard();
    Ok(total)
}

/// When [`fetch_and_idle`] stops waiting.
#[derive(Clone, Copy)]
pub struct IdleUntil<'a> {
    /// The caller asks to stop (a signal).
    pub stop: &'a dyn Fn() -> bool,
    /// How long the login may still serve ([`super::login::Login::renew_in`]).
    pub renew_in: &'a dyn Fn() -> Option<Duration>,
}

/// A login with less than this left is renewed at IDLE's re-issue rather than waited out.
const RENEW_SOON: Duration = Duration::from_secs(1);

/// `--delete` needs UID EXPUNGE (RFC 4315): a plain EXPUNGE would also remove messages
/// another client marked `\Deleted`.
pub fn no_uidplus(peer: &str) -> Error {
    Error::new(
        Kind::Unavailable,
        format!(
            "{peer}: the server has no UIDPLUS: --delete would need a plain EXPUNGE, which also removes other clients' deleted mail; refusing (fetch without --delete)"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mark_moves_only_over_what_was_delivered() {
        // Found above 5: 6..=10; 8 was delivered by an earlier run; 4 is below the mark.
        let earlier: HashSet<u32> = [8].into();
        let mut l = Ledger::new(5, &[4, 6, 7, 8, 9, 10], &earlier);
        assert_eq!(l.settle(), 5);
        // Asked for and received: the mark moves; a gap stops it.
        l.delivered(6);
        l.delivered(9);
        assert_eq!(l.settle(), 6);
        // What is gone lets it pass, but never becomes the mark itself.
        l.gone(7);
        assert_eq!(l.settle(), 9);
        l.gone(10);
        assert_eq!(l.settle(), 9);
        assert!(l.open.is_empty());
        // Gone does not undo delivered; UIDs not found are nobody's business.
        let mut l = Ledger::new(0, &[1, 2], &HashSet::new());
        l.delivered(2);
        l.gone(2);
        l.delivered(3);
        l.gone(3);
        assert_eq!(l.settle(), 0);
        l.delivered(1);
        assert_eq!(l.settle(), 2);
        // Only what was found counts: a UID delivered that no search named moves nothing.
        let mut l = Ledger::new(0, &[u32::MAX], &HashSet::new());
        l.delivered(7);
        assert_eq!(l.settle(), 0);
        l.delivered(u32::MAX);
        assert_eq!(l.settle(), u32::MAX);
    }
}
