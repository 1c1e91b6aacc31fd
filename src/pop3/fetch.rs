//! The fetch loop: which messages to take (new ones by UIDL, within `--max-size` and
//! `--limit`), retrieving them in batches (pipelined when the server allows), delivering
//! each into the store, and only once a batch is durable recording it in the state file and
//! marking it for deletion. Whatever fails, the caller drops the connection without QUIT, so
//! the server deletes nothing; what was delivered and synced before the failure stays
//! recorded.

use super::client::Pop3Client;
use crate::conn::DotBody;
use crate::deliver::state::StateFile;
use crate::deliver::{Deliver, MessageInfo, WireMessage};
use crate::error::Result;
use crate::events::Events;
use crate::net::stream::Transport;

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
    /// DELE each message once its delivery is durable (and, with a state file, those
    /// delivered by earlier runs).
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
    pub deleted: u64,
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
/// to keep up to date). On success the caller sends QUIT; on an error it drops the
/// connection.
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
    let mut old: Vec<u32> = Vec::new();
    for &(n, size) in &sizes {
        let uid = uid_of(n);
        if opts.new_only {
            if let (Some(s), Some(u)) = (state.as_deref(), uid) {
                if s.contains(u) {
                    old.push(n);
                    continue;
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

    // Messages delivered by earlier runs go first with --delete: their copies are durable.
    if opts.delete && !old.is_empty() {
        client.dele(&old)?;
        summary.deleted += old.len() as u64;
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
        // What was committed is made durable and recorded even when the batch failed.
        let synced = store.sync();
        if synced.is_ok() {
            if let Some(s) = state.as_deref_mut() {
                for &n in &delivered {
                    if let Some(u) = uid_of(n) {
                        s.insert(u);
                    }
                }
                s.save()?;
            }
        }
        outcome?;
        synced?;
        if opts.delete {
            client.dele(&delivered)?;
            summary.deleted += delivered.len() as u64;
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
