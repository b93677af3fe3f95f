//! The writer's two background threads, off the path of every append: the flusher, which
//! moves full in-memory index tables into sled and stores the durable mark, and the merger of
//! event-id runs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::index::Index;
use crate::recent::Table;
use crate::segment::SegmentStorage;
use crate::writer::{lock, FlushWork, Shared, DURABLE_MARK_EVERY};

/// Moves full in-memory index tables into sled, off the path of every append.
pub(crate) struct Flusher {
    pub(crate) index: Index,
    /// Where the durable mark is stored.
    pub(crate) storage: Arc<dyn SegmentStorage>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) poisoned: Arc<AtomicBool>,
    /// Tells the merger that a run was added; dropped when the flusher ends, which ends it.
    pub(crate) merger: Option<std::sync::mpsc::Sender<()>>,
}

impl Flusher {
    /// Tables are written in order. One that cannot be written for want of space (our
    /// event-id run) is kept, with those after it, and tried again every
    /// `DURABLE_MARK_EVERY`; meanwhile the writer refuses appends as storage full (see
    /// `Shared::index_full`), and reads still find the records in memory. Any other failure,
    /// sled's own ENOSPC included (sled 0.34 fails every write after it until reopened), stops
    /// the store; a reopen re-indexes from the log what sled lost, keeping the rest.
    pub(crate) fn run(self, queue: std::sync::mpsc::Receiver<FlushWork>) {
        let mut failed = false;
        let mut waiting: std::collections::VecDeque<Arc<Table>> = Default::default();
        loop {
            let work = match queue.recv_timeout(DURABLE_MARK_EVERY) {
                Ok(work) => Some(work),
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => None,
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return,
            };
            if !failed {
                self.shared.store_mark(self.storage.as_ref());
            }
            match work {
                Some(FlushWork::Table(table)) if !failed => waiting.push_back(table),
                None | Some(FlushWork::Table(_)) => {}
                Some(FlushWork::Shutdown { reply, synced }) => {
                    if !failed {
                        self.flush_waiting(&mut waiting);
                        // The last durable mark, or the sync-failed mark if storing it failed
                        // so far.
                        self.shared.store_mark(self.storage.as_ref());
                    }
                    if !waiting.is_empty() {
                        // The log holds them, synced: the next open indexes them.
                        tracing::warn!(
                            tables = waiting.len(),
                            "closing with index tables unwritten for want of space"
                        );
                    }
                    let result = synced.and(self.index.flush());
                    if let Some(reply) = reply {
                        let _ = reply.send(result);
                    } else if let Err(e) = result {
                        tracing::error!(error = %e, "closing the log failed");
                    }
                    return;
                }
            }
            if !failed {
                failed = !self.flush_waiting(&mut waiting);
            }
        }
    }

    /// Writes the waiting tables, oldest first, until one fails. False when that failure
    /// stopped the store.
    fn flush_waiting(&self, waiting: &mut std::collections::VecDeque<Arc<Table>>) -> bool {
        while let Some(table) = waiting.front() {
            match self.index.flush_table(table) {
                Ok(()) => {
                    waiting.pop_front();
                    if let Some(merger) = &self.merger {
                        let _ = merger.send(());
                    }
                }
                Err(e) if e.is_storage_full() => {
                    if !self.shared.index_full.swap(true, Ordering::SeqCst) {
                        tracing::error!(
                            error = %e,
                            "indexing stopped for want of space; appends are refused until \
                             space is freed"
                        );
                    }
                    return true;
                }
                Err(e) => {
                    // The records stay readable from memory and on disk; a reopen re-indexes
                    // them. Writes stop, so that memory stays bounded.
                    let reason = format!("indexing failed: {e}");
                    tracing::error!(error = %reason, "the store no longer accepts writes");
                    lock(&self.shared.poison_reason).get_or_insert(reason);
                    self.poisoned.store(true, Ordering::SeqCst);
                    waiting.clear();
                    return false;
                }
            }
        }
        if self.shared.index_full.swap(false, Ordering::SeqCst) {
            tracing::info!("space returned: the index caught up, appends are taken again");
        }
        true
    }
}

/// Merges event-id runs in the background, so that a lookup stays a few dozen Bloom probes
/// however long the log grows. A merge is sequential reading and writing, off every append's
/// path; `stop` abandons one in progress at close (the next open finds the inputs intact).
pub(crate) fn spawn_merger(
    index: Index,
    stop: Arc<AtomicBool>,
) -> Option<(std::sync::mpsc::Sender<()>, std::thread::JoinHandle<()>)> {
    let (wake, wakes) = std::sync::mpsc::channel::<()>();
    let merger = move || loop {
        loop {
            match index.merge_id_runs(&stop) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    // Lookups still work over the unmerged runs, only slower.
                    tracing::error!(error = %e, "merging event-id runs failed");
                    break;
                }
            }
        }
        // Also after a timeout: runs left by a rebuild on open are merged without a flush.
        match wakes.recv_timeout(Duration::from_secs(1)) {
            Ok(()) | Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return,
        }
        if stop.load(Ordering::SeqCst) {
            return;
        }
    };
    match std::thread::Builder::new()
        .name("crm-id-merger".into())
        .spawn(merger)
    {
        Ok(handle) => Some((wake, handle)),
        Err(e) => {
            tracing::error!(error = %e, "starting the event-id merger failed; runs stay unmerged");
            None
        }
    }
}
