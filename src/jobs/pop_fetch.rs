//! The fetch loop: which messages to take (new ones by UIDL and size, within `--max-size`
//! and `--limit`), retrieving them in batches (pipelined when the server allows),
//! delivering each into the store, and only once a batch is durable recording it in the
//! state file and marking it for deletion. Whatever fails, the caller drops the connection
//! without QUIT, so the server deletes nothing; what was delivered and synced before the
//! failure stays recorded.
//!
//! A message is recorded with its size (LIST's), `UIDL SIZE`: a server may give a deleted
//! message's UIDL to a new one (RFC 1939 section 7), and a UIDL recorded with another size
//! is such a new message, fetched, never skipped for ever. `--delete` deletes only what this
//! run delivered, and what an earlier `--delete` run delivered but could not delete (its
//! QUIT never came through): those are recorded `UIDL SIZE dele`. The ids deleted at a QUIT
//! that the server confirmed are forgotten ([`quit`]).

use super::batch::{Fetched, Recorded};
use crate::deliver::{Deliver, MessageInfo, WireMessage};
use crate::error::Result;
use crate::events::Events;
use crate::net::stream::Transport;
use crate::pop3::client::Pop3Client;
use crate::uidls::{PopEntry, StateFile};
use crate::wire::DotBody;

/// Messages per batch: each batch ends with one sync of the store and one save of the state.
pub const BATCH: usize = 500;
/// Read buffer for message data.
const BUF: usize = 16 * 1024;

/// What to fetch and what to do on the server afterwards.
#[derive(Debug, Clone, Default)]
pub struct FetchOptions {
    /// Skip messages whose UIDL the state file holds (`--new`, the default); `false` is
    /// `--all`.
    pub new_only: bool,
    /// DELE each message once its delivery is durable (and those an earlier `--delete` run
    /// stored but could not delete).
    pub delete: bool,
    /// Skip messages larger than this (LIST's size).
    pub max_size: Option<u64>,
    /// Fetch at most this many messages.
    pub limit: Option<u64>,
    /// `TOP n 0`: headers only.
    pub headers_only: bool,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub on_server: u64,
    pub fetched: u64,
    /// Bytes as the server sent them.
    pub bytes: u64,
    pub too_big: u64,
    /// Messages left for a later run by `--limit`.
    pub left: u64,
    /// Messages marked for deletion (DELE): deleted when QUIT is confirmed.
    pub deleted: u64,
    /// Their UIDLs, forgotten once QUIT is confirmed ([`quit`]).
    pub marked: Vec<String>,
}

/// The largest wire size allowed for a message LIST says is `size` bytes: dot-stuffing adds
/// at most one byte per line, and servers are not always exact; this only stops a stream
/// that never ends.
pub fn max_wire(size: Option<u64>) -> u64 {
    match size {
        Some(s) => s.saturating_mul(2).saturating_add(1 << 20),
        None => u64::MAX,
    }
}

/// Fetches into `store`. `state` is the account's state file (none for `--all` without one
/// to keep up to date). On success the caller sends QUIT with [`quit`]; on an error it drops
/// the connection.
pub fn fetch<S: Transport>(
    client: &mut Pop3Client<S>,
    store: &mut dyn Deliver,
    mut state: Option<&mut StateFile>,
    opts: &FetchOptions,
    events: &mut dyn Events,
) -> Result<Summary> {
    let mut summary = Summary::default();
    let (count, _) = client.stat()?;
    summary.on_server = u64::from(count);
    if count == 0 {
        // Nothing to fetch; not "forget what was fetched": a server that shows an empty
        // mailbox for a moment must not make the next run fetch everything again.
        return Ok(summary);
    }
    let listing = Listing::read(client, state.is_some() || opts.new_only, events)?;
    // Without UIDLs, nothing can be recorded: the state file is left as it is.
    if !listing.have_uids {
        state = None;
    }
    let (wanted, undeleted) = choose(&listing, state.as_deref_mut(), opts, &mut summary, events)?;
    if let Some(hint) = state
        .as_deref_mut()
        .and_then(|s| s.take_fresh_hint(Some(wanted.len())))
    {
        events.note(&hint);
    }
    // What an earlier --delete run stored but could not delete goes first: its copies are
    // durable. (Nothing else this run did not deliver is ever deleted.)
    if !undeleted.is_empty() {
        delete(
            client,
            &listing,
            &Recorded::earlier(undeleted),
            &mut summary,
        )?;
    }
    let mut run = Run {
        client,
        store,
        state,
        opts,
        events,
        listing: &listing,
        summary: &mut summary,
    };
    run.fetch_all(&wanted)?;
    if let Some(s) = run.state {
        // Forget what is no longer on the server, so the file does not grow forever.
        let mut present: Vec<&str> = listing.uids.iter().map(|(_, u)| u.as_str()).collect();
        present.sort_unstable();
        s.retain(|u| present.binary_search(&u).is_ok());
        s.save()?;
    }
    Ok(summary)
}

/// The mailbox as the server lists it: each message's UIDL and size, by message number.
struct Listing {
    /// Sorted by message number, looked up by binary search: no copies of the UIDLs.
    uids: Vec<(u32, String)>,
    sizes: Vec<(u32, u64)>,
    have_uids: bool,
}

impl Listing {
    /// LIST, and UIDL when `want_uids` (a server without it is named in a note).
    fn read<S: Transport>(
        client: &mut Pop3Client<S>,
        want_uids: bool,
        events: &mut dyn Events,
    ) -> Result<Listing> {
        let uids = if want_uids {
            let u = client.uidl()?;
            if u.is_none() {
                events.note(&format!(
                    "{}: the server has no UIDL: every message is fetched (nothing can be recorded as delivered)",
                    client.peer()
                ));
            }
            u
        } else {
            None
        };
        let have_uids = uids.is_some();
        let mut uids = uids.unwrap_or_default();
        uids.sort_unstable_by_key(|(n, _)| *n);
        let mut sizes = client.list()?;
        sizes.sort_unstable();
        Ok(Listing {
            uids,
            sizes,
            have_uids,
        })
    }

    fn uid_of(&self, n: u32) -> Option<&str> {
        self.uids
            .binary_search_by_key(&n, |(m, _)| *m)
            .ok()
            .map(|i| self.uids[i].1.as_str())
    }

    fn size_of(&self, n: u32) -> Option<u64> {
        self.sizes
            .binary_search_by_key(&n, |(m, _)| *m)
            .ok()
            .map(|i| self.sizes[i].1)
    }
}

/// The messages to fetch, in order, and those an earlier `--delete` run stored but could
/// not delete (not among them); counts what it skips in `summary`.
fn choose(
    listing: &Listing,
    mut state: Option<&mut StateFile>,
    opts: &FetchOptions,
    summary: &mut Summary,
    events: &mut dyn Events,
) -> Result<(Vec<u32>, Vec<u32>)> {
    let mut wanted: Vec<u32> = Vec::new();
    let mut undeleted: Vec<u32> = Vec::new();
    for &(n, size) in &listing.sizes {
        let uid = listing.uid_of(n);
        if let (Some(s), Some(u)) = (state.as_deref_mut(), uid) {
            if let Some(recorded) = s.value(u) {
                let PopEntry {
                    size: rec_size,
                    dele,
                } = PopEntry::parse(recorded);
                match rec_size {
                    Some(r) if r != size => {
                        // The UIDL of a deleted message, given to a new one.
                        events.note(&format!(
                            "message {n} (UIDL {u}): recorded with {r} bytes, now {size}: another message under a UIDL used again: taken as new"
                        ));
                    }
                    _ => {
                        if rec_size.is_none() {
                            // Recorded before sizes were kept: its size from now on.
                            s.insert_with(u, &PopEntry::value(size, dele))?;
                        }
                        if dele && opts.delete {
                            undeleted.push(n);
                        }
                        if opts.new_only {
                            continue;
                        }
                    }
                }
            }
        }
        if let Some(max) = opts.max_size {
            if size > max {
                summary.too_big += 1;
                events.note(&format!(
                    "message {n}{}: {size} bytes, over --max-size {max}: skipped",
                    uid.map(|u| format!(" (UIDL {u})")).unwrap_or_default()
                ));
                continue;
            }
        }
        if opts.limit.is_some_and(|l| wanted.len() as u64 >= l) {
            summary.left += 1;
            continue;
        }
        wanted.push(n);
    }
    undeleted.retain(|n| wanted.binary_search(n).is_err());
    Ok((wanted, undeleted))
}

/// DELE of messages recorded as delivered; counted, and their UIDLs kept for [`quit`].
fn delete<S: Transport>(
    client: &mut Pop3Client<S>,
    listing: &Listing,
    recorded: &Recorded<u32>,
    summary: &mut Summary,
) -> Result<()> {
    client.dele(recorded.ids())?;
    summary.deleted += recorded.len() as u64;
    summary.marked.extend(
        recorded
            .ids()
            .iter()
            .filter_map(|&n| listing.uid_of(n).map(str::to_string)),
    );
    Ok(())
}

/// One run's fetching, batch by batch.
struct Run<'r, S: Transport> {
    client: &'r mut Pop3Client<S>,
    store: &'r mut dyn Deliver,
    state: Option<&'r mut StateFile>,
    opts: &'r FetchOptions,
    events: &'r mut dyn Events,
    listing: &'r Listing,
    summary: &'r mut Summary,
}

impl<S: Transport> Run<'_, S> {
    /// Fetches `wanted` in batches of [`BATCH`], under one progress line.
    fn fetch_all(&mut self, wanted: &[u32]) -> Result<()> {
        if wanted.is_empty() {
            return Ok(());
        }
        // Sizes whose sum passes 64 bits (a hostile server's LIST) give no total.
        let total = wanted
            .iter()
            .filter_map(|&n| self.listing.size_of(n))
            .try_fold(0u64, u64::checked_add);
        self.store.expect(wanted.len() as u64);
        let peer = self.client.peer().to_string();
        self.events.start(
            &format!("{peer}: {}", super::messages(wanted.len())),
            total,
            0,
        );
        let mut buf = vec![0u8; BUF];
        for batch in wanted.chunks(BATCH) {
            self.fetch_batch(batch, &mut buf)?;
        }
        // The bar goes without a line of its own: the run's total says the same, once.
        self.events.discard();
        Ok(())
    }

    /// Retrieves `batch` (pipelined when the server allows), then commits, syncs, records
    /// and deletes it, in that order ([`Fetched`]).
    fn fetch_batch(&mut self, batch: &[u32], buf: &mut [u8]) -> Result<()> {
        let (listing, store, events, summary) = (
            self.listing,
            &mut *self.store,
            &mut *self.events,
            &mut *self.summary,
        );
        let mut fetched = Fetched::default();
        let outcome = self.client.retrieve(
            batch,
            self.opts.headers_only,
            |i| max_wire(listing.size_of(batch[i])),
            |i, body| {
                let n = batch[i];
                let info =
                    MessageInfo::new(listing.size_of(n), listing.uid_of(n).map(str::to_string));
                let msg = deliver_one(&mut *store, &info, body, buf, events)?;
                let bytes = msg.wire_bytes();
                fetched.commit(msg, n)?;
                summary.fetched += 1;
                summary.bytes += bytes;
                Ok(())
            },
        );
        // What was committed is made durable and recorded even when the batch failed (or,
        // when that fails, taken back out of the store).
        let dele = self.opts.delete;
        let recorded = fetched.record(&mut *self.store, self.state.as_deref_mut(), |s, ids| {
            for &n in ids {
                if let (Some(u), Some(size)) = (listing.uid_of(n), listing.size_of(n)) {
                    s.insert_with(u, &PopEntry::value(size, dele))?;
                }
            }
            Ok(())
        });
        outcome?;
        let recorded = recorded?;
        if dele {
            delete(self.client, listing, &recorded, self.summary)?;
        }
        Ok(())
    }
}

/// QUIT, after a [`fetch`] that succeeded: the server deletes what was marked. Once it
/// confirms, the UIDLs it deleted are forgotten (even by a run that only looked), so that a
/// server giving one of them to a new message never has it taken for one delivered. Without
/// a confirmation they stay recorded, marked: the next `--delete` run deletes them.
/// `confirmed` is called once the server confirmed QUIT (what was marked is deleted), before
/// the state is saved.
pub fn quit<S: Transport>(
    client: Pop3Client<S>,
    state: Option<&mut StateFile>,
    summary: &Summary,
    confirmed: impl FnOnce(),
) -> Result<()> {
    client.quit()?;
    confirmed();
    if let Some(s) = state {
        if !summary.marked.is_empty() {
            for u in &summary.marked {
                s.forget(u);
            }
            s.save()?;
        }
    }
    Ok(())
}

/// Streams one message from the server into the store, for [`Fetched::commit`]; aborted
/// (nothing left) on error.
fn deliver_one<'s, S: Transport>(
    store: &'s mut dyn Deliver,
    info: &MessageInfo,
    body: &mut DotBody<'_, S>,
    buf: &mut [u8],
    events: &mut dyn Events,
) -> Result<WireMessage<'s>> {
    let mut msg = WireMessage::begin(store, info)?;
    loop {
        let n = body.read(buf)?;
        if n == 0 {
            break;
        }
        msg.write(&buf[..n])?;
        events.advance(n as u64);
    }
    Ok(msg)
}
