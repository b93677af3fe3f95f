//! The single writer: gathers concurrent appends into one write and one fdatasync.
//!
//! It runs on its own OS thread because every step is blocking file IO. Positions are
//! assigned here and only here, which is what makes them gap-free. An append is answered only
//! after (1) its frames are written, (2) `fdatasync` returned (in `Durability::Fsync`), (3) its
//! index entries are in the in-memory table every read consults (`recent`), and (4) the
//! committed position moved, so a caller that reads after its append returns always sees its
//! own events. A flusher thread moves full tables into sled, off the append path.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot, watch};
use uuid::Uuid;

use crate::backend::{check_stored, content_digest};
use crate::codec;
use crate::error::{Result, StoreError};
use crate::flusher::{spawn_merger, Flusher};
use crate::index::{Index, Precheck, Since};
use crate::log::Log;
use crate::mark::Mark;
use crate::recent::{RecentRecord, Table};
use crate::segment::{encode_frame, RecordBody, SegmentFile, SegmentStorage};
use crate::types::{
    AppendResult, CurrentRevision, ExpectedRevision, NewEvent, Position, StreamName,
};

mod tail;

pub(crate) use tail::{create_segment, write_header};

/// How an append becomes durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Acknowledge only after fdatasync. The default, and the only mode for live business data.
    Fsync,
    /// Acknowledge after the write; a background thread fdatasyncs every `interval`. A power
    /// loss may drop what was acknowledged during the last `interval` (never a process crash:
    /// the kernel still holds those pages), and so may a failed background fdatasync, which
    /// stops the store as a failed fdatasync of an append does. For bulk loads that can be
    /// re-run.
    Batched { interval: Duration },
}

pub(crate) enum Request {
    Append(Append),
    Shutdown { reply: oneshot::Sender<Result<()>> },
}

/// Where the tail of the log is; owned by the writer once the store is open.
#[derive(Debug)]
pub(crate) struct Tail {
    pub segment: u32,
    pub file: Arc<dyn SegmentFile>,
    /// Byte offset just past the last committed frame of `segment`.
    pub end: u64,
    /// The segment file's length: zeros reserved past `end` (see `SegmentFile::allocate`).
    pub allocated: u64,
    pub next_position: Position,
    pub last_hash: [u8; 32],
    /// Recorded-at of the last record: the next is never earlier, so that the log's order is
    /// also the order of recorded-at (as-of reads stop at the first record past their instant).
    pub last_recorded_at_ns: i128,
}

pub(crate) struct Writer {
    pub log: Arc<Log>,
    pub index: Index,
    pub storage: Arc<dyn SegmentStorage>,
    pub tail: Tail,
    pub segment_size_max: u64,
    pub durability: Durability,
    pub batch_events_max: usize,
    pub index_table_records: usize,
    pub committed: Arc<watch::Sender<u64>>,
    pub poisoned: Arc<AtomicBool>,
    pub shared: Arc<Shared>,
    /// Heads of recently written streams. The writer is the only appender, so what it cached
    /// stays true; bounded, and simply emptied when full.
    pub heads: HashMap<String, u64>,
    /// A segment file created by a roll-over whose header could not be written (the disk was
    /// full): the next roll-over to that number uses it, since it cannot be created twice.
    pub spare: Option<(u32, Arc<dyn SegmentFile>)>,
    /// Bytes left free for the index (`StoreConfig::space_reserved_bytes`).
    pub space_reserved: u64,
}

/// Why writing a batch stopped.
struct WriteFailure {
    /// The staged appends, from the first, that are whole and synced in sealed segments:
    /// they stay in the log. The rest are not in it.
    durable: usize,
    /// Their index entries.
    records: Vec<RecentRecord>,
    /// [`StoreError::StorageFull`] when the writer undid the rest and goes on; anything else
    /// stops the store.
    error: StoreError,
}

/// Streams whose heads the writer keeps in memory.
const HEAD_CACHE_MAX: usize = 65_536;

/// One record staged in the batch buffer.
struct StagedRecord {
    position: Position,
    revision: u64,
    event_id: Uuid,
    digest: [u8; 32],
    frame_start: usize,
    frame_len: usize,
    /// The chain hash and recorded-at after this record: where the log stands if a write
    /// stops after it.
    hash: [u8; 32],
    recorded_at_ns: i128,
}

struct StagedAppend {
    stream: StreamName,
    event_types: Vec<String>,
    records: Vec<StagedRecord>,
}

enum Outcome {
    Staged(usize), // index into the batch's staged appends
    Done(Result<AppendResult>),
}

type Reply = oneshot::Sender<Result<AppendResult>>;
pub(crate) struct Append {
    pub stream: StreamName,
    pub expected: ExpectedRevision,
    pub events: Vec<NewEvent>,
    /// For `import_log`: the position, recorded-at and hash each event had in the log it
    /// was exported from. The writer reproduces them exactly or refuses.
    pub preserved: Option<Vec<Preserved>>,
    /// Recorded-at asked for by a turn (`crate::turn`); the clock otherwise.
    pub recorded_at_ns: Option<i128>,
    pub precheck: Precheck,
    pub reply: Reply,
}

/// What an imported record must come out as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Preserved {
    pub position: Position,
    pub recorded_at_ns: i128,
    pub hash: [u8; 32],
}
/// Where an event id was stored: position, stream revision, content digest.
type IdEntry = (Position, u64, [u8; 32]);

/// What a written batch leaves to do once it is durable: its index entries, the last
/// position to commit, and the answers.
struct Written {
    records: Vec<RecentRecord>,
    last_position: Option<Position>,
    replies: Vec<(Reply, Result<AppendResult>)>,
}

/// Work for the flusher thread, in order.
pub(crate) enum FlushWork {
    Table(Arc<Table>),
    Shutdown {
        reply: Option<oneshot::Sender<Result<()>>>,
        synced: Result<()>,
    },
}

/// State the writer, the flusher and the background syncer share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) poison_reason: Mutex<Option<String>>,
    /// The last position written to a segment file (perhaps not yet synced).
    written: AtomicU64,
    /// The last position known to be synced; the flusher stores it as the durable mark (see
    /// `mark`). It no longer moves once a sync of the log failed.
    durable: AtomicU64,
    /// The last position known on disk when a write or sync of the log failed. Under its
    /// lock `durable` moves, so that it never moves past the position a sync-failed mark
    /// names. Held only briefly: the writer takes it for every group commit.
    sync_failed_after: Mutex<Option<Position>>,
    /// The mark file as last stored. Held while the file is written, so that mark writes are
    /// serialized and each writes what was wanted once it held the lock: a plain mark never
    /// replaces a sync-failed one.
    stored_mark: Mutex<Option<Mark>>,
    /// The flusher holds index tables it could not write for want of space (see `Flusher`):
    /// until it wrote them, the writer refuses appends as storage full.
    pub(crate) index_full: AtomicBool,
}

impl Shared {
    /// Everything up to `last` is already on disk (recovery synced it).
    pub(crate) fn starting_at(last: Position) -> Shared {
        Shared {
            poison_reason: Mutex::new(None),
            written: AtomicU64::new(last.0),
            durable: AtomicU64::new(last.0),
            sync_failed_after: Mutex::new(None),
            stored_mark: Mutex::new(None),
            index_full: AtomicBool::new(false),
        }
    }

    /// Why the store stopped taking writes, if it did.
    pub(crate) fn poison_reason(&self) -> Option<String> {
        lock(&self.poison_reason).clone()
    }

    /// Stops the store after a failed write or sync of the log, and stores a sync-failed mark
    /// (see `mark`): what was written after the last position known on disk is cut off at the
    /// next open, however much of it the page cache still shows. `poisoned` is the flag every
    /// append checks.
    pub(crate) fn log_failed(
        &self,
        storage: &dyn SegmentStorage,
        poisoned: &AtomicBool,
        reason: String,
    ) {
        tracing::error!(error = %reason, "log write failed; the store no longer accepts writes");
        lock(&self.poison_reason).get_or_insert(reason);
        poisoned.store(true, Ordering::SeqCst);
        {
            let mut after = lock(&self.sync_failed_after);
            let durable = self.durable();
            after.get_or_insert(durable);
        }
        self.store_mark(storage);
    }

    /// Stores the durable mark when it moved, or the sync-failed mark when a sync failed and
    /// it is not stored yet. A failure here costs only precision (recovery then treats more of
    /// the newest records as a possible torn tail) or, for a sync-failed mark, is logged: it
    /// is tried again on the flusher's next round.
    pub(crate) fn store_mark(&self, storage: &dyn SegmentStorage) {
        let mut stored = lock(&self.stored_mark);
        let sync_failed_after = *lock(&self.sync_failed_after);
        let wanted = match sync_failed_after {
            Some(position) => Mark {
                position,
                sync_failed: true,
            },
            None => Mark::durable(self.durable()),
        };
        let stale = match *stored {
            None => wanted.sync_failed || wanted.position > Position(0),
            Some(stored) => {
                wanted.sync_failed != stored.sync_failed || wanted.position > stored.position
            }
        };
        if !stale {
            return;
        }
        match crate::mark::write(storage, wanted) {
            Ok(()) => *stored = Some(wanted),
            Err(e) if wanted.sync_failed => {
                tracing::error!(error = %e, "storing the sync-failed mark failed")
            }
            Err(e) => tracing::warn!(error = %e, "storing the durable mark failed"),
        }
    }

    pub(crate) fn written(&self) -> Position {
        Position(self.written.load(Ordering::SeqCst))
    }

    pub(crate) fn mark_durable(&self, last: Position) {
        let sync_failed_after = lock(&self.sync_failed_after);
        // After a failed sync, a "successful" one proves nothing (see `mark`).
        if sync_failed_after.is_none() {
            self.durable.fetch_max(last.0, Ordering::SeqCst);
        }
    }

    fn durable(&self) -> Position {
        Position(self.durable.load(Ordering::SeqCst))
    }
}

/// How often the flusher stores the durable mark: the window in which damage to the newest
/// records is taken for a torn tail after a crash.
pub(crate) const DURABLE_MARK_EVERY: Duration = Duration::from_millis(100);

/// Full tables waiting for the flusher; beyond this the writer waits, which bounds memory
/// when sled cannot keep up.
const FLUSH_QUEUE_MAX: usize = 2;

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Nothing under these locks can panic half-way through an update.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Writer {
    pub fn run(mut self, mut requests: mpsc::Receiver<Request>) {
        let (to_flusher, flush_queue) = std::sync::mpsc::sync_channel(FLUSH_QUEUE_MAX);
        let stop_merging = Arc::new(AtomicBool::new(false));
        let (wake_merger, merger) = match spawn_merger(self.index.clone(), stop_merging.clone()) {
            Some((wake, handle)) => (Some(wake), Some(handle)),
            None => (None, None),
        };
        let flusher = Flusher {
            index: self.index.clone(),
            storage: self.storage.clone(),
            shared: self.shared.clone(),
            poisoned: self.poisoned.clone(),
            merger: wake_merger,
        };
        let flusher = match std::thread::Builder::new()
            .name("crm-index-flusher".into())
            .spawn(move || flusher.run(flush_queue))
        {
            Ok(handle) => handle,
            Err(e) => {
                self.poison(format!("starting the index flusher thread: {e}"));
                // Answer every request with the poison until the store is dropped.
                while let Some(r) = requests.blocking_recv() {
                    match r {
                        Request::Append(Append { reply, .. }) => {
                            let _ = reply.send(Err(StoreError::Poisoned(e.to_string())));
                        }
                        Request::Shutdown { reply } => {
                            let _ = reply.send(Err(StoreError::Poisoned(e.to_string())));
                            return;
                        }
                    }
                }
                return;
            }
        };
        self.index.reserve_recent(self.index_table_records);
        let mut batch: Vec<Request> = Vec::new();
        let mut shutdown = None;
        while let Some(first) = next_request(&mut requests) {
            batch.push(first);
            let mut events = 0;
            while events < self.batch_events_max {
                match requests.try_recv() {
                    Ok(r) => {
                        if let Request::Append(a) = &r {
                            events += a.events.len();
                        }
                        batch.push(r);
                    }
                    Err(_) => break,
                }
            }
            let appends: Vec<_> = batch
                .drain(..)
                .filter_map(|r| match r {
                    Request::Append(append) => Some(append),
                    Request::Shutdown { reply } => {
                        shutdown = Some(reply);
                        None
                    }
                })
                .collect();
            let written = self.commit_batch(appends);
            self.publish(written);
            if self.index.recent_len() >= self.index_table_records {
                if let Some(table) = self.index.freeze_recent(self.index_table_records) {
                    if to_flusher.send(FlushWork::Table(table)).is_err() {
                        tracing::error!("the index flusher thread is gone; stopping the writer");
                        break;
                    }
                }
            }
            if shutdown.is_some() {
                break;
            }
        }
        let synced = self.sync_tail();
        if synced.is_ok() && !self.poisoned.load(Ordering::SeqCst) {
            if let Some(table) = self.index.freeze_recent(0) {
                let _ = to_flusher.send(FlushWork::Table(table));
            }
        }
        let _ = to_flusher.send(FlushWork::Shutdown {
            reply: shutdown,
            synced,
        });
        drop(to_flusher);
        stop_merging.store(true, Ordering::SeqCst);
        let _ = flusher.join();
        if let Some(merger) = merger {
            let _ = merger.join();
        }
    }

    /// Makes a written batch durable, indexes it, moves the committed head and answers. (The
    /// answer to a retry of stored events needs no sync of its own: the writer synced the batch
    /// that stored them before it read this one.)
    fn publish(&mut self, written: Written) {
        let Written {
            records,
            last_position,
            replies,
        } = written;
        let synced = match (last_position, self.durability) {
            (Some(_), Durability::Fsync) => {
                let segment = self.tail.segment;
                self.tail
                    .file
                    .sync_data()
                    .map_err(StoreError::io_lazy(|| format!("segment {segment} sync")))
            }
            _ => Ok(()),
        };
        match synced {
            Ok(()) => {
                self.index.add_recent(records);
                if let Some(p) = last_position {
                    if self.durability == Durability::Fsync {
                        self.shared.mark_durable(p);
                    }
                    self.committed.send_replace(p.0);
                }
                for (reply, result) in replies {
                    let _ = reply.send(result);
                }
            }
            Err(e) => {
                let reason = e.to_string();
                self.log_failed(reason.clone());
                for (reply, result) in replies {
                    let _ = reply.send(result.and(Err(StoreError::Poisoned(reason.clone()))));
                }
            }
        }
    }

    /// Makes everything written durable before the writer goes away, and leaves the tail
    /// segment as long as what it holds (a crash leaves the reserved zeros, which the next
    /// open reads as the end of the log).
    /// A store that stopped taking writes closes with the reason it stopped.
    fn sync_tail(&mut self) -> Result<()> {
        if self.poisoned.load(Ordering::SeqCst) {
            return Err(StoreError::Poisoned(
                self.shared.poison_reason().unwrap_or_default(),
            ));
        }
        let synced = self.trim_and_sync_tail();
        if let Err(e) = &synced {
            self.log_failed(e.to_string());
        }
        synced
    }

    fn trim_and_sync_tail(&mut self) -> Result<()> {
        if self.tail.allocated > self.tail.end {
            self.tail
                .file
                .set_len(self.tail.end)
                .map_err(StoreError::io("trimming the tail segment at close"))?;
            self.tail.allocated = self.tail.end;
        }
        self.tail
            .file
            .sync_data()
            .map_err(StoreError::io("segment sync at close"))?;
        self.shared.mark_durable(self.shared.written());
        Ok(())
    }

    /// Stops the store for a reason that is not a failure of the log itself.
    fn poison(&self, reason: String) {
        tracing::error!(error = %reason, "the store no longer accepts writes");
        lock(&self.shared.poison_reason).get_or_insert(reason);
        self.poisoned.store(true, Ordering::SeqCst);
    }

    /// Stops the store after a failed write or sync of the log (see `Shared::log_failed`).
    fn log_failed(&self, reason: String) {
        self.shared
            .log_failed(self.storage.as_ref(), &self.poisoned, reason);
    }

    /// Stages and writes a batch (without syncing it); returns its index entries and the
    /// answers to publish once it is durable.
    fn commit_batch(&mut self, appends: Vec<Append>) -> Written {
        let mut work_replies = Vec::with_capacity(appends.len());
        if self.poisoned.load(Ordering::SeqCst) {
            let reason = self.shared.poison_reason().unwrap_or_default();
            for Append { reply, .. } in appends {
                work_replies.push((reply, Err(StoreError::Poisoned(reason.clone()))));
            }
            return Written {
                records: Vec::new(),
                last_position: None,
                replies: work_replies,
            };
        }
        if self.shared.index_full.load(Ordering::SeqCst) {
            // The records already taken are not indexed yet; more would pile up in memory.
            for Append { reply, .. } in appends {
                work_replies.push((reply, Err(index_full())));
            }
            return Written {
                records: Vec::new(),
                last_position: None,
                replies: work_replies,
            };
        }
        let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
        let mut staged: Vec<StagedAppend> = Vec::new();
        let mut outcomes: Vec<(Outcome, Reply)> = Vec::new();
        let mut heads: HashMap<String, u64> = HashMap::new();
        let mut ids: HashMap<Uuid, IdEntry> = HashMap::new();
        let mut next = self.tail.next_position;
        let mut hash = self.tail.last_hash;
        let mut recorded = self.tail.last_recorded_at_ns;
        let mut written_records = Vec::new();
        for a in appends {
            let Append {
                stream,
                expected,
                events,
                preserved,
                recorded_at_ns,
                precheck,
                reply,
            } = a;
            let outcome = match self.stage(
                &stream,
                expected,
                &events,
                (preserved.as_deref(), recorded_at_ns),
                &precheck,
                &mut buf,
                &mut heads,
                &mut ids,
                (&mut next, &mut hash, &mut recorded),
            ) {
                Ok(Ok(records)) => {
                    staged.push(StagedAppend {
                        stream,
                        event_types: events.into_iter().map(|e| e.event_type).collect(),
                        records,
                    });
                    Outcome::Staged(staged.len() - 1)
                }
                Ok(Err(already)) => Outcome::Done(Ok(already)),
                Err(e) => Outcome::Done(Err(e)),
            };
            outcomes.push((outcome, reply));
        }
        let failure = if staged.is_empty() {
            None
        } else {
            match self.write(&buf, &staged) {
                Ok(records) => {
                    written_records = records;
                    None
                }
                Err(failure) => Some(failure),
            }
        };
        // The staged appends that are in the log: all of them, or those a full disk left.
        let kept = match &failure {
            None => staged.len(),
            Some(WriteFailure {
                durable,
                error: StoreError::StorageFull { .. },
                ..
            }) => *durable,
            Some(WriteFailure { error, .. }) => {
                self.log_failed(error.to_string());
                0
            }
        };
        let mut last_position = None;
        let poisoned = matches!(&failure, Some(f) if !f.error.is_storage_full());
        if !poisoned {
            if kept < staged.len() {
                // Where the log stands after the last append kept; the rest were cut off, and
                // so is what staging them assumed.
                (next, hash, recorded) =
                    match staged[..kept].iter().rev().find_map(|s| s.records.last()) {
                        Some(r) => (r.position.next(), r.hash, r.recorded_at_ns),
                        None => (
                            self.tail.next_position,
                            self.tail.last_hash,
                            self.tail.last_recorded_at_ns,
                        ),
                    };
                heads.clear();
                for s in &staged[..kept] {
                    if let Some(r) = s.records.last() {
                        heads.insert(s.stream.to_string(), r.revision);
                    }
                }
            }
            if next != self.tail.next_position {
                last_position = Some(Position(next.0 - 1));
                self.shared.written.store(next.0 - 1, Ordering::SeqCst);
            }
            self.tail.next_position = next;
            self.tail.last_hash = hash;
            self.tail.last_recorded_at_ns = recorded;
            // Forgetting is safe: the index answers for every head the cache drops.
            if self.heads.len() + heads.len() > HEAD_CACHE_MAX {
                self.heads.clear();
            }
            self.heads.extend(heads);
        }
        // Once an append was cut off, every later answer of the batch may rest on it (a
        // revision, an id it stored): they are all refused as not done.
        let mut cut = false;
        for (outcome, reply) in outcomes {
            let result = match (outcome, &failure) {
                (Outcome::Staged(i), _) if i < kept => {
                    let s = &staged[i];
                    // A staged append has at least one record: empty appends are answered
                    // before staging.
                    let first = s.records.first().map(|r| r.position).unwrap_or_default();
                    let last = s.records.last().map(|r| (r.position, r.revision));
                    let (last_position, stream_revision) = last.unwrap_or_default();
                    Ok(AppendResult {
                        first_position: first,
                        last_position,
                        stream_revision,
                        already_stored: false,
                    })
                }
                (Outcome::Staged(_), failure) => match failure {
                    Some(f) if !poisoned => {
                        cut = true;
                        Err(copy_storage_full(&f.error))
                    }
                    Some(f) => Err(StoreError::Poisoned(f.error.to_string())),
                    // Without a failure every staged append is kept.
                    None => Err(StoreError::Poisoned(String::new())),
                },
                (Outcome::Done(_), Some(f)) if cut => Err(copy_storage_full(&f.error)),
                (Outcome::Done(r), _) => r,
            };
            work_replies.push((reply, result));
        }
        if let Some(f) = failure {
            written_records = f.records;
        }
        Written {
            records: if poisoned {
                Vec::new()
            } else {
                written_records
            },
            last_position,
            replies: work_replies,
        }
    }

    /// Checks one append against the store and the batch so far and encodes its frames into
    /// `buf`. `Ok(Err(result))` means every event was already stored: nothing to write.
    #[allow(clippy::too_many_arguments)]
    fn stage(
        &self,
        stream: &StreamName,
        expected: ExpectedRevision,
        events: &[NewEvent],
        (preserved, requested_recorded_at): (Option<&[Preserved]>, Option<i128>),
        precheck: &Precheck,
        buf: &mut Vec<u8>,
        heads: &mut HashMap<String, u64>,
        ids: &mut HashMap<Uuid, IdEntry>,
        (next, hash, recorded): (&mut Position, &mut [u8; 32], &mut i128),
    ) -> Result<std::result::Result<Vec<StagedRecord>, AppendResult>> {
        let mut digests = Vec::with_capacity(events.len());
        let mut found_all = Vec::with_capacity(events.len());
        for (i, e) in events.iter().enumerate() {
            let digest = content_digest(stream, e)?;
            let found = match ids.get(&e.event_id) {
                Some(&found) => Some(found),
                None => match self.index.event_since(e.event_id, precheck.dropped) {
                    Since::Held(s) => Some(s),
                    Since::Unchanged => precheck.stored.get(i).copied().flatten(),
                    Since::Unknown => self.index.event(e.event_id)?,
                }
                .map(|s| (s.position, s.revision, s.digest)),
            };
            found_all.push(found);
            digests.push(digest);
        }
        if let Some(result) = check_stored(stream, events, &digests, &found_all)? {
            return Ok(Err(result));
        }

        let head = match heads
            .get(stream.as_str())
            .or_else(|| self.heads.get(stream.as_str()))
        {
            Some(&h) => Some(h),
            None => match self.index.head_since(stream.as_str(), precheck.dropped) {
                Since::Held(h) => Some(h),
                Since::Unchanged => precheck.head,
                Since::Unknown => self.index.head(stream.as_str())?,
            },
        };
        let current = CurrentRevision::from_head(head);
        if !current.satisfies(expected) {
            return Err(StoreError::WrongExpectedRevision {
                stream: stream.to_string(),
                expected,
                actual: current,
            });
        }

        let now = OffsetDateTime::now_utc().unix_timestamp_nanos();
        // Never later than the clock, never earlier than the record before.
        let recorded_at_ns = requested_recorded_at
            .map_or(now, |r| r.min(now))
            .max(*recorded);
        let mut position = *next;
        let mut chain = *hash;
        let mut last_recorded = *recorded;
        let rollback = buf.len();
        let mut records = Vec::with_capacity(events.len());
        let mut body = Vec::with_capacity(256);
        let revisions = head.map_or(0, |h| h + 1)..;
        for (i, (revision, (e, digest))) in revisions.zip(events.iter().zip(digests)).enumerate() {
            let m = &e.metadata;
            let kept = preserved.and_then(|p| p.get(i));
            if let Some(kept) = kept {
                if kept.position != position {
                    buf.truncate(rollback);
                    return Err(StoreError::ImportMismatch {
                        position: kept.position,
                        reason: format!("it would be written at position {position}"),
                    });
                }
            }
            // An import reproduces what the exported log recorded, as it was.
            let recorded_at_ns = kept.map_or(recorded_at_ns, |k| k.recorded_at_ns);
            last_recorded = recorded_at_ns;
            let record = RecordBody {
                position: position.0,
                revision,
                event_id: e.event_id,
                stream: stream.as_str().into(),
                event_type: e.event_type.as_str().into(),
                schema_version: e.schema_version,
                actor: m.actor.as_str().into(),
                occurred_at_ns: m.occurred_at.unix_timestamp_nanos(),
                recorded_at_ns,
                correlation_id: m.correlation_id,
                causation_id: m.causation_id,
                command_id: m.command_id,
                payload: e.payload.as_slice().into(),
            };
            body.clear();
            if let Err(err) = codec::encode_into(&record, &mut body) {
                buf.truncate(rollback);
                return Err(err.into());
            }
            let frame_start = buf.len();
            // Every record but the append's last says that more follow (see `segment`).
            let continues = i + 1 < events.len();
            chain = encode_frame(&chain, &body, continues, buf);
            if let Some(kept) = kept {
                if kept.hash != chain {
                    buf.truncate(rollback);
                    return Err(StoreError::ImportMismatch {
                        position,
                        reason: "its hash does not follow from the records before it and its \
                                 content: the export was altered or is incomplete"
                            .into(),
                    });
                }
            }
            records.push(StagedRecord {
                position,
                revision,
                event_id: e.event_id,
                digest,
                frame_start,
                frame_len: buf.len() - frame_start,
                hash: chain,
                recorded_at_ns,
            });
            position = position.next();
        }
        for r in &records {
            ids.insert(r.event_id, (r.position, r.revision, r.digest));
        }
        if let Some(last) = records.last() {
            heads.insert(stream.to_string(), last.revision);
        }
        *next = position;
        *hash = chain;
        *recorded = last_recorded;
        Ok(Ok(records))
    }
}

/// How long the writer polls for the next append before it sleeps. A caller that got its
/// answer usually sends its next append within tens of microseconds; catching it awake saves
/// the futex sleep and wake-up (about 50 µs here), which is a quarter of a single caller's
/// round trip. Under load the queue is never empty and this never spins.
const SPIN_BEFORE_SLEEP: std::time::Duration = std::time::Duration::from_micros(50);

fn next_request(requests: &mut mpsc::Receiver<Request>) -> Option<Request> {
    let started = std::time::Instant::now();
    loop {
        match requests.try_recv() {
            Ok(r) => return Some(r),
            Err(mpsc::error::TryRecvError::Disconnected) => return None,
            Err(mpsc::error::TryRecvError::Empty) => {
                if started.elapsed() >= SPIN_BEFORE_SLEEP {
                    return requests.blocking_recv();
                }
                std::hint::spin_loop();
            }
        }
    }
}

/// The refusal while the index cannot be written for want of space.
fn index_full() -> StoreError {
    StoreError::StorageFull {
        context: "the index (records already taken wait to be indexed)".into(),
        source: std::io::Error::new(
            std::io::ErrorKind::StorageFull,
            "no space left to write the index",
        ),
    }
}

/// The same [`StoreError::StorageFull`] for each append it refuses.
fn copy_storage_full(e: &StoreError) -> StoreError {
    match e {
        StoreError::StorageFull { context, source } => StoreError::StorageFull {
            context: context.clone(),
            source: match source.raw_os_error() {
                Some(code) => std::io::Error::from_raw_os_error(code),
                None => std::io::Error::new(source.kind(), source.to_string()),
            },
        },
        other => StoreError::Poisoned(other.to_string()),
    }
}
