//! The fetch loop of one folder: which messages to take (UIDs above the folder's mark not
//! delivered yet, `--since`, `--unseen`, `--max-size`, `--limit`), streaming each into the
//! store, and only once a batch is durable (the store synced) recording it in the state
//! file and sending its flags (`--seen`) or deletions (`--delete`: `\Deleted`, then
//! `UID EXPUNGE` of exactly those UIDs) back to the server.
//!
//! State, per folder, in the account's state file ([`crate::uidls`]), keyed by the
//! folder's UIDVALIDITY (RFC 3501 section 2.3.1.1): the fields `FOLDER.uidvalidity` and
//! `FOLDER.last` (the mark: every wanted message up to that UID was delivered), and the ids
//! `FOLDER:UIDVALIDITY:UID` of messages above it that were delivered (a batch cut short, or
//! a message before them still owed). Only what arrived moves the mark (`Ledger`): a
//! message asked for and not sent is asked about at the end (gone, or still owed and
//! reported), never taken as delivered because the server said OK.

use crate::deliver::{Deliver, MessageInfo, WireMessage};
use crate::error::{Error, Kind, Result};
use crate::events::Events;
use crate::imap::client::{FetchEvent, IDLE_REISSUE, IdleEnd, ImapClient};
use crate::imap::parse;
use crate::net::stream::Transport;
use crate::uidls::StateFile;
use std::collections::{BTreeMap, HashSet};

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
}

/// The key of a folder in the state file: its modified UTF-7 name, percent-encoded where it
/// is not printable ASCII (or holds `%`, `.` or `:`, which separate the key's parts), or a
/// hash of it when that is long.
pub fn folder_key(folder: &str) -> String {
    let wire = parse::utf7_encode(folder);
    let mut out = String::new();
    for b in wire.bytes() {
        if (0x21..0x7f).contains(&b) && !matches!(b, b'%' | b'.' | b':') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out.len() > 120 {
        let d = crate::util::digest::sha256(wire.as_bytes());
        out = format!(
            "sha256-{}",
            d.iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
    }
    out
}

/// Fetches `folder` into `store`. The caller logs out on success and drops the connection
/// on error; what was delivered and synced before an error stays recorded.
pub fn fetch_folder<S: Transport>(
    client: &mut ImapClient<S>,
    folder: &str,
    store: &mut dyn Deliver,
    mut state: Option<&mut StateFile>,
    opts: &FetchOptions,
    events: &mut dyn Events,
) -> Result<Summary> {
    let mut summary = Summary::default();
    if opts.delete && !client.capabilities().uidplus {
        return Err(no_uidplus(client.peer()));
    }
    let read_only = !(opts.seen || opts.delete);
    let mailbox = client.select(folder, read_only)?;
    summary.exists = mailbox.exists;
    if !read_only && mailbox.read_only {
        return Err(Error::new(
            Kind::Auth,
            format!(
                "{}: folder {} is read-only for this user: --seen and --delete cannot change it",
                client.peer(),
                crate::wire::printable(folder)
            ),
        ));
    }
    let key = folder_key(folder);
    let validity = mailbox.uidvalidity.to_string();
    let (f_validity, f_last) = (format!("{key}.uidvalidity"), format!("{key}.last"));
    let id_prefix = format!("{key}:{validity}:");
    let mut last: u32 = 0;
    let mut partial: HashSet<u32> = HashSet::new();
    if let Some(st) = state.as_deref_mut() {
        match st.field(&f_validity) {
            Some(v) if v == validity => {
                last = st.field(&f_last).and_then(|l| l.parse().ok()).unwrap_or(0);
                let folder_ids = format!("{key}:");
                st.retain(|id| {
                    // Ids of this folder under another UIDVALIDITY are stale.
                    !id.starts_with(&folder_ids) || id.starts_with(&id_prefix)
                });
                // The partial ids, read back through `retain` (it keeps them all).
                st.retain(|id| {
                    if let Some(u) = id.strip_prefix(&id_prefix).and_then(|u| u.parse().ok()) {
                        partial.insert(u);
                    }
                    true
                });
            }
            Some(old) => {
                events.note(&format!(
                    "{}: folder {}: UIDVALIDITY changed from {old} to {validity}: the UIDs recorded mean nothing any more; {}",
                    client.peer(),
                    crate::wire::printable(folder),
                    if opts.reset_state {
                        "recording it as delivered up to now (--reset-state)"
                    } else {
                        "the folder is fetched as new"
                    }
                ));
                let folder_ids = format!("{key}:");
                st.retain(|id| !id.starts_with(&folder_ids));
            }
            None => {}
        }
        st.set_field(&f_validity, &validity)?;
        st.set_field(&f_last, &last.to_string())?;
    }
    if opts.reset_state {
        // Every message there now has a UID below UIDNEXT (RFC 3501 section 2.3.1.1); a
        // server that does not say it is asked for the UIDs.
        let top = match mailbox.uidnext {
            Some(next) => next.saturating_sub(1),
            None => client.uid_search("ALL")?.last().copied().unwrap_or(0),
        };
        if let Some(st) = state.as_deref_mut() {
            st.set_field(&f_last, &top.to_string())?;
            let folder_ids = format!("{key}:");
            st.retain(|id| !id.starts_with(&folder_ids));
            st.save()?;
        }
        return Ok(summary);
    }
    if opts.new_only && last == u32::MAX {
        // UIDs are 32-bit (RFC 3501 section 2.3.1.1): nothing can come after this one
        // without a new UIDVALIDITY, and `UID 4294967296:*` is no UID set.
        if let Some(st) = state.as_deref_mut() {
            st.save()?;
        }
        return Ok(summary);
    }
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
    let found = client.uid_search(&criteria.join(" "))?;
    let mut ledger = Ledger::new(last, &found, &partial);
    // Of the messages earlier runs delivered above the mark, those still there: their flags
    // or deletion may not have gone out (a batch cut short), so they go now.
    let mut earlier: Vec<u32> = partial
        .iter()
        .copied()
        .filter(|u| found.binary_search(u).is_ok())
        .collect();
    earlier.sort_unstable();
    let mut uids: Vec<u32> = found
        .into_iter()
        // `UID n:*` always matches the highest UID, even below n (RFC 3501 section 6.4.8).
        .filter(|u| !opts.new_only || (*u > last && !partial.contains(u)))
        .collect();
    if let (Some(max), false) = (opts.max_size, uids.is_empty()) {
        // Sizes first, as pop-fetch has LIST's: a message over the limit is never asked
        // for. It is not recorded either, so a later run with a larger limit fetches it.
        let sizes = client.uid_sizes(&uids)?;
        let big: Vec<(u32, u64)> = sizes.into_iter().filter(|&(_, n)| n > max).collect();
        for &(u, n) in &big {
            summary.too_big += 1;
            events.note(&format!(
                "{}: folder {}: UID {u}: {n} bytes, over --max-size {max}: skipped",
                client.peer(),
                crate::wire::printable(folder)
            ));
        }
        uids.retain(|u| big.binary_search_by_key(u, |&(b, _)| b).is_err());
    }
    client.set_max_size(opts.max_size);
    if let Some(l) = opts.limit {
        let l = usize::try_from(l).unwrap_or(usize::MAX);
        if uids.len() > l {
            summary.left = (uids.len() - l) as u64;
            uids.truncate(l);
        }
    }
    if let Some(st) = state.as_deref_mut() {
        st.save()?;
    }
    let flags = match (opts.seen, opts.delete) {
        (true, true) => Some("\\Seen \\Deleted"),
        (true, false) => Some("\\Seen"),
        (false, true) => Some("\\Deleted"),
        (false, false) => None,
    };
    let mut expunging = 0u64;
    // Messages a batch cut short delivered last time are durable: their flags and
    // deletions go first (they are not fetched again).
    if let (Some(f), false) = (flags, earlier.is_empty()) {
        client.queue_store(&earlier, f)?;
        if opts.delete {
            client.queue_expunge(&earlier)?;
            expunging += earlier.len() as u64;
        }
    }
    client.start_fetch(&uids);
    // One progress line for the folder, not one per message (sizes come with each message).
    if !uids.is_empty() {
        events.start(
            &format!(
                "{} {}: {} message{}",
                client.peer(),
                crate::wire::printable(folder),
                uids.len(),
                if uids.len() == 1 { "" } else { "s" }
            ),
            None,
            0,
        );
    }
    let mut buf = vec![0u8; BUF];
    // Received and committed in this batch, not yet synced: recorded once they are durable.
    let mut delivered: Vec<u32> = Vec::new();
    // Asked for, and not in the answer.
    let mut missing: Vec<u32> = Vec::new();
    let outcome = (|| -> Result<()> {
        loop {
            match client.next_event()? {
                FetchEvent::Message { size } => {
                    let mut msg = WireMessage::begin(store, &MessageInfo::new(Some(size), None))?;
                    let uid = client.read_message(&mut buf, |d| {
                        msg.write(d)?;
                        events.advance(d.len() as u64);
                        Ok(())
                    })?;
                    msg.commit()?;
                    summary.fetched += 1;
                    summary.bytes += size;
                    delivered.push(uid);
                }
                FetchEvent::Batch {
                    missing: mut left_out,
                    ..
                } => {
                    // Signals wait until the batch is recorded; unrecorded, it is taken back.
                    let batch_made = crate::deliver::Batch::sync(&mut *store)?;
                    for &u in &delivered {
                        ledger.delivered(u);
                    }
                    missing.append(&mut left_out);
                    if let Some(st) = state.as_deref_mut() {
                        ledger.record(st, &f_last, &id_prefix, &delivered, true)?;
                    }
                    batch_made.keep();
                    if let Some(f) = flags {
                        client.queue_store(&delivered, f)?;
                    }
                    if opts.delete {
                        client.queue_expunge(&delivered)?;
                        expunging += delivered.len() as u64;
                    }
                    delivered.clear();
                }
                FetchEvent::Done => return Ok(()),
            }
        }
    })();
    if let Err(e) = outcome {
        // What was committed is made durable and recorded by its id: the next run skips
        // it, and sends its flags or deletion, which this batch never did.
        let batch_made = (!delivered.is_empty())
            .then(|| crate::deliver::Batch::sync(&mut *store).ok())
            .flatten();
        if let Some(batch_made) = batch_made {
            if let Some(st) = state {
                for &u in &delivered {
                    ledger.delivered(u);
                }
                ledger.record(st, &f_last, &id_prefix, &delivered, false)?;
            }
            batch_made.keep();
        }
        return Err(e);
    }
    if !uids.is_empty() {
        events.finish();
    }
    if !missing.is_empty() {
        // Gone meanwhile (another client expunged it) is no loss; still there is a message
        // owed: not recorded, so the next run asks for it again.
        missing.sort_unstable();
        let present = client.uids_present(&missing)?;
        for &u in &missing {
            if present.binary_search(&u).is_err() {
                ledger.gone(u);
            }
        }
        if let Some(st) = state {
            ledger.record(st, &f_last, &id_prefix, &[], true)?;
        }
        if !present.is_empty() {
            summary.missing = present.len() as u64;
            events.fail(&not_sent(client.peer(), folder, &present));
        }
    }
    summary.deleted = expunging;
    Ok(summary)
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
            crate::wire::printable(folder),
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
    /// `fresh` (UIDs just delivered) that stay above it; drops the ids it passed, and saves
    /// the state.
    fn record(
        &mut self,
        st: &mut StateFile,
        f_last: &str,
        id_prefix: &str,
        fresh: &[u32],
        settle: bool,
    ) -> Result<()> {
        let last = if settle { self.settle() } else { self.last };
        st.set_field(f_last, &last.to_string())?;
        st.retain(|id| {
            id.strip_prefix(id_prefix)
                .and_then(|u| u.parse::<u32>().ok())
                .is_none_or(|u| u > last)
        });
        for &u in fresh {
            if self.open.get(&u) == Some(&Fate::Delivered) {
                st.insert(&format!("{id_prefix}{u}"));
            }
        }
        st.save()
    }
}

/// `--idle`: fetches `folder`, then waits with IDLE (re-issued every [`IDLE_REISSUE`]) and
/// fetches what arrives, until `stop` says so; then returns (the caller logs out).
pub fn fetch_and_idle<S: Transport>(
    client: &mut ImapClient<S>,
    folder: &str,
    store: &mut dyn Deliver,
    mut state: Option<&mut StateFile>,
    opts: &FetchOptions,
    events: &mut dyn Events,
    stop: &dyn Fn() -> bool,
) -> Result<Summary> {
    let mut total = fetch_folder(client, folder, store, state.as_deref_mut(), opts, events)?;
    while !stop() {
        // Mail announced while the last fetch ran makes IDLE end at once: nothing waits.
        match client.idle(total.exists, IDLE_REISSUE, stop)? {
            IdleEnd::NewMail => {
                let s = fetch_folder(client, folder, store, state.as_deref_mut(), opts, events)?;
                total.fetched += s.fetched;
                total.bytes += s.bytes;
                total.deleted += s.deleted;
                total.left = s.left;
                total.too_big = s.too_big;
                total.missing += s.missing;
                total.exists = s.exists;
            }
            IdleEnd::Reissue => {}
            IdleEnd::Stop => break,
        }
    }
    Ok(total)
}

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

    #[test]
    fn folder_keys_are_plain_ascii() {
        assert_eq!(folder_key("INBOX"), "INBOX");
        assert_eq!(folder_key("Entw\u{fc}rfe"), "Entw&APw-rfe");
        assert_eq!(folder_key("a b.c:d%"), "a%20b%2Ec%3Ad%25");
        let long = folder_key(&"x".repeat(300));
        assert!(long.starts_with("sha256-") && long.len() == 71, "{long}");
        for k in [folder_key("a b"), long] {
            assert!(crate::uidls::valid_id(
                format!("{k}.uidvalidity").as_bytes()
            ));
        }
    }
}
