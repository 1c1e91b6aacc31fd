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
use std::collections::{HashMap, HashSet};

/// Messages per batch: each batch ends with one sync of the store and one save of the state.
pub const BATCH: usize = 500;
/// Read buffer for message data.
const BUF: usize = 64 * 1024;

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
        if let Some(s) = state.as_deref_mut() {
            s.retain(|_| false);
            s.save()?;
        }
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
    let uid_of: HashMap<u32, String> = uids.iter().flatten().cloned().collect();
    // Without UIDLs, nothing can be recorded: the state file is left as it is.
    if uids.is_none() {
        state = None;
    }
    let sizes: HashMap<u32, u64> = client.list()?.into_iter().collect();
    let mut numbers: Vec<u32> = sizes.keys().copied().collect();
    numbers.sort_unstable();

    let mut wanted: Vec<u32> = Vec::new();
    let mut old: Vec<u32> = Vec::new();
    for &n in &numbers {
        let uid = uid_of.get(&n);
        if opts.new_only {
            if let (Some(s), Some(u)) = (state.as_deref(), uid) {
                if s.contains(u) {
                    old.push(n);
                    continue;
                }
            }
        }
        let size = sizes.get(&n).copied();
        if let (Some(max), Some(sz)) = (opts.max_size, size) {
            if sz > max {
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

    let mut buf = vec![0u8; BUF];
    for batch in wanted.chunks(BATCH) {
        let mut delivered: Vec<u32> = Vec::with_capacity(batch.len());
        let outcome = client.retrieve(
            batch,
            opts.headers_only,
            |i| max_wire(sizes.get(&batch[i]).copied()),
            |i, body| {
                let n = batch[i];
                let size = sizes.get(&n).copied();
                events.start(&format!("message {n}"), size, 0);
                let info = MessageInfo::new(size, uid_of.get(&n).cloned());
                let bytes = deliver_one(&mut *store, &info, body, &mut buf, events)?;
                events.finish();
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
                for n in &delivered {
                    if let Some(u) = uid_of.get(n) {
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
    if let (Some(s), Some(list)) = (state, &uids) {
        // Forget what is no longer on the server, so the file does not grow forever.
        let present: HashSet<&str> = list.iter().map(|(_, u)| u.as_str()).collect();
        s.retain(|u| present.contains(u));
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
