//! The one order both fetch loops keep, batch by batch, so that a message is never lost:
//! **commit** each message into the store, **sync** the store, **record** the batch in the
//! state file (saved), and only then **delete** (or flag) it on the server (isync's "store,
//! sync, record, then delete"; docs/CONVENTIONS.md, "Files are never left half-written").
//!
//! [`Fetched`] is a batch on its way: messages go in through [`Fetched::commit`], and
//! [`Fetched::record`] is the only way out, doing the sync, the record and the save in that
//! order. What it returns, [`Recorded`], is the only thing that names messages to delete: a
//! fetch loop cannot delete a message whose record is not durable yet.

use crate::deliver::{Batch, Deliver, WireMessage};
use crate::error::Result;
use crate::uidls::StateFile;

/// Messages committed into a store in this batch: not durable yet, not recorded, never to be
/// deleted on the server as they are.
#[derive(Debug)]
pub struct Fetched<T> {
    ids: Vec<T>,
}

impl<T> Default for Fetched<T> {
    fn default() -> Self {
        Fetched { ids: Vec::new() }
    }
}

impl<T> Fetched<T> {
    /// Commits `msg` (complete) into its store, as the message the server knows as `id`.
    pub fn commit(&mut self, msg: WireMessage<'_>, id: T) -> Result<()> {
        msg.commit()?;
        self.ids.push(id);
        Ok(())
    }

    /// Whether nothing was committed.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Makes the batch durable in `store`, records it in `state` (`record`, given the batch's
    /// ids, then the state saved) and keeps it in the store; returns it as recorded. Signals
    /// wait meanwhile; when a step fails, what the batch put in the store is taken back and
    /// the error returned (see [`Batch`]), and nothing may be deleted.
    pub fn record(
        self,
        store: &mut dyn Deliver,
        state: Option<&mut StateFile>,
        record: impl FnOnce(&mut StateFile, &[T]) -> Result<()>,
    ) -> Result<Recorded<T>> {
        let batch = Batch::sync(store)?;
        if let Some(st) = state {
            record(&mut *st, &self.ids)?;
            st.save()?;
        }
        batch.keep();
        Ok(Recorded(self.ids))
    }
}

/// Messages durable in the store and recorded as delivered: the only ones a fetch deletes or
/// flags on the server.
#[derive(Debug)]
#[must_use]
pub struct Recorded<T>(Vec<T>);

impl<T> Recorded<T> {
    /// Messages an earlier run stored and recorded, and could not delete.
    pub fn earlier(ids: Vec<T>) -> Recorded<T> {
        Recorded(ids)
    }

    pub fn ids(&self) -> &[T] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deliver::{MessageInfo, MessageSink};
    use crate::error::{Error, Kind};
    use std::cell::RefCell;
    use std::rc::Rc;

    /// A store that writes down what happens to it, and fails its sync when told to.
    struct Log {
        steps: Rc<RefCell<Vec<&'static str>>>,
        fail_sync: bool,
    }

    struct Sink(Rc<RefCell<Vec<&'static str>>>);

    impl MessageSink for Sink {
        fn write(&mut self, _: &[u8]) -> Result<()> {
            Ok(())
        }
        fn commit(self: Box<Self>) -> Result<()> {
            self.0.borrow_mut().push("commit");
            Ok(())
        }
    }

    impl Deliver for Log {
        fn begin(&mut self, _: &MessageInfo) -> Result<Box<dyn MessageSink + '_>> {
            Ok(Box::new(Sink(self.steps.clone())))
        }
        fn sync(&mut self) -> Result<()> {
            self.steps.borrow_mut().push("sync");
            match self.fail_sync {
                true => Err(Error::new(Kind::Io, "disk gone")),
                false => Ok(()),
            }
        }
        fn name(&self) -> String {
            "log".into()
        }
        fn keep(&mut self) {
            self.steps.borrow_mut().push("keep");
        }
        fn undo(&mut self) {
            self.steps.borrow_mut().push("undo");
        }
    }

    impl Log {
        fn new(fail_sync: bool) -> Log {
            Log {
                steps: Rc::new(RefCell::new(Vec::new())),
                fail_sync,
            }
        }
    }

    fn fetch_two(store: &mut Log) -> Fetched<u32> {
        let mut batch = Fetched::default();
        for id in [1, 2] {
            let msg = WireMessage::begin(store, &MessageInfo::new(None, None)).unwrap();
            batch.commit(msg, id).unwrap();
        }
        batch
    }

    /// A state file in a folder of its own, and that folder.
    fn state() -> (StateFile, std::path::PathBuf) {
        let dir = crate::util::test_folder("batch");
        (StateFile::open(&dir.join("state")).unwrap(), dir)
    }

    #[test]
    fn a_batch_is_synced_then_recorded_then_kept() {
        let mut store = Log::new(false);
        let steps = store.steps.clone();
        let (mut state, dir) = state();
        let batch = fetch_two(&mut store);
        let recorded = batch
            .record(&mut store, Some(&mut state), |st, ids| {
                steps.borrow_mut().push("record");
                st.insert(&format!("batch-{}-{}", ids[0], ids[1]));
                Ok(())
            })
            .unwrap();
        assert_eq!(recorded.ids(), [1, 2]);
        assert_eq!(
            *steps.borrow(),
            ["commit", "commit", "sync", "record", "keep"]
        );
        // Saved before it was kept.
        let saved = std::fs::read_to_string(dir.join("state")).unwrap();
        assert!(saved.ends_with("\nbatch-1-2\n"), "{saved}");
        drop(state);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_failed_step_takes_the_batch_back_and_yields_nothing_to_delete() {
        let mut store = Log::new(true);
        let steps = store.steps.clone();
        let batch = fetch_two(&mut store);
        let err = batch.record(&mut store, None, |_, _| Ok(())).unwrap_err();
        assert_eq!(err.to_string(), "disk gone");
        assert_eq!(*steps.borrow(), ["commit", "commit", "sync", "undo"]);
        // The record fails: the synced batch is taken back, never kept.
        steps.borrow_mut().clear();
        store.fail_sync = false;
        let (mut state, dir) = state();
        let batch = fetch_two(&mut store);
        let err = batch
            .record(&mut store, Some(&mut state), |_, ids| {
                assert_eq!(ids, [1, 2]);
                Err(Error::new(Kind::Io, "state full"))
            })
            .unwrap_err();
        assert_eq!(err.to_string(), "state full");
        assert_eq!(*steps.borrow(), ["commit", "commit", "sync", "undo"]);
        drop(state);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
