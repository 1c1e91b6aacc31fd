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

use crate::deliver::{Deliver, MessageInfo, WireMessage, sync_and_record};
use crate::error::Result;
use crate::events::Events;
use crate::net::stream::Transport;
use crate::pop3::client::Pop3Client;
use crate::uidls::StateFile;
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

/// How a message is recorded: its size, and `dele` when a `--delete` run stored it (it is
/// deleted by the next `--delete` run if this one cannot).
fn entry(size: u64, delete: bool) -> String {
    if delete {
        format!("{size} dele")
    } else {
        size.to_string()
    }
}

/// A recorded entry: the size (none in a state from before sizes were kept) and whether it
/// awaits deletion. Pure.
fn parse_entry(value: &str) -> (Option<u64>, bool) {
    let mut w = value.split(' ');
    let size = w.next().and_then(|s| s.parse().ok());
    (size, w.next() == Some("dele"))
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
    let uids = if state.is_some() || opts.new_only {
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
    // Without UIDLs, nothing can be recorded: the state file is left as it is.
    let have_uids = uids.is_some();
    if !have_uids {
        state = None;
    }
    // Sorted by message number, looked up by binary search: no copies of the UIDLs.
    let mut uid_list = uids.unwrap_or_default();
    uid_list.sort_unstable_by_key(|(n, _)| *n);
    let uid_of = |n: u32| -> Option<&str> {
        uid_list
            .binary_search_by_key(&n, |(m, _)| *m)
            .ok()
            .map(|i| uid_list[i].1.as_str())
    };
    let mut sizes = client.list()?;
    sizes.sort_unstable();
    let size_of = |n: u32| -> Option<u64> {
        sizes
            .binary_search_by_key(&n, |(m, _)| *m)
            .ok()
            .map(|i| sizes[i].1)
    };

    let mut wanted: Vec<u32> = Vec::new();
    // Stored by an earlier --delete run that could not delete them.
    let mut undeleted: Vec<u32> = Vec::new();
    for &(n, size) in &sizes {
        let uid = uid_of(n);
        if let (Some(s), Some(u)) = (state.as_deref_mut(), uid) {
            if let Some(recorded) = s.value(u) {
                let (rec_size, dele) = parse_entry(recorded);
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
                            s.insert_with(u, &entry(size, dele))?;
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
                let sz = size;
                summary.too_big += 1;
                events.note(&format!(
                    "message {n}{}: {sz} bytes, over --max-size {max}: skipped",
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
    if let Some(hint) = state
        .as_deref_mut()
        .and_then(|s| s.take_fresh_hint(Some(wanted.len())))
    {
        events.note(&hint);
    }

    // What an earlier --delete run stored but could not delete goes first: its copies are
    // durable. (Nothing else this run did not deliver is ever deleted.)
    let undeleted: Vec<u32> = undeleted
        .into_iter()
        .filter(|n| wanted.binary_search(n).is_err())
        .collect();
    if !undeleted.is_empty() {
        client.dele(&undeleted)?;
        summary.deleted += undeleted.len() as u64;
        summary.marked.extend(
            undeleted
                .iter()
                .filter_map(|&n| uid_of(n).map(str::to_string)),
        );
    }

    // One progress line for the run, not one per message.
    if !wanted.is_empty() {
        let total: u64 = wanted.iter().filter_map(|&n| size_of(n)).sum();
        events.start(
            &format!(
                "{}: {} message{}",
                client.peer(),
                wanted.len(),
                if wanted.len() == 1 { "" } else { "s" }
            ),
            Some(total),
            0,
        );
    }
    let mut buf = vec![0u8; BUF];
    for batch in wanted.chunks(BATCH) {
        let mut delivered: Vec<u32> = Vec::with_capacity(batch.len());
        let outcome = client.retrieve(
            batch,
            opts.headers_only,
            |i| max_wire(size_of(batch[i])),
            |i, body| {
                let n = batch[i];
                let size = size_of(n);
                let info = MessageInfo::new(size, uid_of(n).map(str::to_string));
                let bytes = deliver_one(&mut *store, &info, body, &mut buf, events)?;
                summary.fetched += 1;
                summary.bytes += bytes;
                delivered.push(n);
                Ok(())
            },
        );
        // What was committed is made durable and recorded even when the batch failed (or,
        // when that fails, taken back out of the store).
        let recorded = sync_and_record(&mut *store, state.as_deref_mut(), |s| {
            for &n in &delivered {
                if let (Some(u), Some(size)) = (uid_of(n), size_of(n)) {
                    s.insert_with(u, &entry(size, opts.delete))?;
                }
            }
            Ok(())
        });
        outcome?;
        recorded?;
        if opts.delete {
            client.dele(&delivered)?;
            summary.deleted += delivered.len() as u64;
            summary.marked.extend(
                delivered
                    .iter()
                    .filter_map(|&n| uid_of(n).map(str::to_string)),
            );
        }
    }
    if !wanted.is_empty() {
        events.finish();
    }
    if let (Some(s), true) = (state, have_uids) {
        // Forget what is no longer on the server, so the file does not grow forever.
        let mut present: Vec<&str> = uid_list.iter().map(|(_, u)| u.as_str()).collect();
        present.sort_unstable();
        s.retain(|u| present.binary_search(&u).is_ok());
        s.save()?;
    }
    Ok(summary)
}

/// QUIT, after a [`fetch`] that succeeded: the server deletes what was marked. Once it
/// confirms, the UIDLs it deleted are forgotten (even by a run that only looked), so that a
/// server giving one of them to a new message never has it taken for one delivered. Without
/// a confirmation they stay recorded, marked: the next `--delete` run deletes them.
pub fn quit<S: Transport>(
    client: Pop3Client<S>,
    state: Option<&mut StateFile>,
    summary: &Summary,
) -> Result<()> {
    client.quit()?;
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

/// Streams one message from the server into the store; aborted (nothing left) on error.
fn deliver_one<S: Transport>(
    store: &mut dyn Deliver,
    info: &MessageInfo,
    body: &mut DotBody<'_, S>,
    buf: &mut [u8],
    events: &mut dyn Events,
) -> Result<u64> {
    let mut msg = WireMessage::begin(store, info)?;
    loop {
        let n = body.read(buf)?;
        if n == 0 {
            break;
        }
        msg.write(&buf[..n])?;
        events.advance(n as u64);
    }
    let bytes = msg.wire_bytes();
    msg.commit()?;
    Ok(bytes)
}
