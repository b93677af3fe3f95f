//! The store handle: open, append, read.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};

use crate::backend::{check_read_limit, validate_append};
use crate::error::{Result, StoreError};
use crate::index::Index;
use crate::lock::DataDirLock;
use crate::log::Log;
use crate::recovery::{recover, RecoveryReport};
use crate::segment::{DirectoryStorage, SegmentStorage};
use crate::subscription::Subscription;
use crate::turn::{InTurn, Turn};
use crate::types::{
    AllStart, AppendResult, Direction, ExpectedRevision, Filter, NewEvent, Position, RecordedEvent,
    StreamName, StreamStart, READ_LIMIT_MAX,
};
use crate::upcast::Upcaster;
use crate::writer::{Append, Durability, Request, Shared, Writer};

/// sled's page cache unless configured.
pub const CACHE_BYTES_DEFAULT: u64 = 256 * 1024 * 1024;
/// The smallest page cache sled takes (it panics below it).
pub const CACHE_BYTES_MIN: u64 = 256;

/// How a store is opened.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub durability: Durability,
    /// A segment is sealed and a new one started once it would grow past this.
    pub segment_size_max_bytes: u64,
    /// Appends waiting for the writer; senders wait (back-pressure) beyond this.
    pub queue_capacity: usize,
    /// Most events the writer gathers into one write and one fdatasync.
    pub batch_events_max: usize,
    /// Index entries of the newest records are kept in memory and moved into sled in tables of
    /// this many records (about 200 bytes each). Larger tables cost memory and, after a crash,
    /// re-indexing time at open (up to four tables); they save sled inserts, since a stream's
    /// records in one table share one key.
    pub index_table_records: usize,
    /// Bytes the log leaves free on its file system for the index beside it: the log takes
    /// no new space (it reserves space ahead in steps of up to 8 MiB) that would leave less,
    /// and refuses appends as [`StoreError::StorageFull`] instead. sled 0.34 fails every
    /// call after a failed write of its own until it is reopened, so the index must not be
    /// the one to find the disk full. Checked where the file system reports free space; 0
    /// turns the check off.
    pub space_reserved_bytes: u64,
    /// sled's page cache, in bytes: the index's and the read models' pages read from disk are
    /// kept here (a customer's history, the flows of a window, posting lists), the rest is
    /// read again when asked for. Any size gives the same answers, only slower when small.
    /// At least [`CACHE_BYTES_MIN`]; the default is 256 MiB.
    pub cache_bytes: u64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            durability: Durability::Fsync,
            segment_size_max_bytes: 256 * 1024 * 1024,
            queue_capacity: 4096,
            batch_events_max: 8192,
            index_table_records: 65_536,
            space_reserved_bytes: 64 * 1024 * 1024,
            cache_bytes: CACHE_BYTES_DEFAULT,
        }
    }
}

/// An open event store. Cheap to clone; all clones share one writer.
#[derive(Debug, Clone)]
pub struct EventStore {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub log: Arc<Log>,
    pub index: Index,
    pub committed: Arc<watch::Sender<u64>>,
    sender: mpsc::Sender<Request>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    syncer: Mutex<Option<(Arc<AtomicBool>, std::thread::JoinHandle<()>)>>,
    poisoned: Arc<AtomicBool>,
    /// Why the store stopped taking writes.
    shared: Arc<Shared>,
    pub closed: AtomicBool,
    /// Set by [`EventStore::follow_only`]: the store copies another log and refuses appends.
    pub follower: AtomicBool,
    upcaster: Option<Arc<dyn Upcaster>>,
    report: RecoveryReport,
    /// Where the index (sled) lives.
    index_path: std::path::PathBuf,
    /// The data directory's lock (for a store opened by [`EventStore::open`]). Last, so that
    /// it is released only after everything above is closed.
    _lock: Option<DataDirLock>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStore")
            .field("committed", &*self.committed.borrow())
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Closing the channel stops the writer after it drains; joining it releases sled's
        // lock and the segment files before a reopen of the same directory.
        let (closed, _) = mpsc::channel(1);
        drop(std::mem::replace(&mut self.sender, closed));
        self.stop_background();
    }
}

impl Inner {
    fn stop_background(&self) {
        if let Some(handle) = self.writer.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = handle.join();
        }
        if let Some((stop, handle)) = self.syncer.lock().unwrap_or_else(|e| e.into_inner()).take() {
            stop.store(true, Ordering::SeqCst);
            handle.thread().unpark();
            let _ = handle.join();
        }
    }
}

/// Paths of the two parts of a data directory.
pub fn log_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("log")
}
pub fn index_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("index")
}

impl EventStore {
    /// Opens (or creates) the store in `data_dir`: segments in `log/`, sled in `index/`.
    /// Blocking: recovery reads the tail of the log and may re-index it.
    ///
    /// One store at a time per data directory: the first locks `LOCK` in it until the store
    /// (its last clone) is dropped; another open, in this process or another, fails with
    /// [`StoreError::DataDirLocked`] naming the holder's process id.
    pub fn open(data_dir: impl AsRef<Path>, config: StoreConfig) -> Result<EventStore> {
        let data_dir = data_dir.as_ref();
        // Before anything in the directory is read, deleted, rebuilt or written.
        let lock = DataDirLock::acquire(data_dir)?;
        crate::compact::finish_interrupted(data_dir)?;
        let storage = DirectoryStorage::open(log_dir(data_dir)).map_err(StoreError::io(
            format!("log directory under {}", data_dir.display()),
        ))?;
        let store = EventStore::open_locked(
            Arc::new(storage),
            &index_dir(data_dir),
            config,
            None,
            Some(lock),
        )?;
        // A copy of a log of record stays one across restarts, whoever opens it.
        if crate::follow::follows(data_dir)?.is_some() {
            store.follow_only();
        }
        Ok(store)
    }

    /// Opens the store in `data_dir` to read it (`verify`, `export`), changing nothing in its
    /// log directory: recovery runs its checks but never truncates a torn tail, writes a
    /// quarantine file, a segment header or the durable mark, or creates a segment; what a
    /// writable open would repair is in [`EventStore::recovery_report`] (`read_only`,
    /// `torn_tail`, `not_repaired`), and the log is read as ending where that open would cut
    /// it. No writer starts: appends fail with [`StoreError::Closed`].
    ///
    /// Not changed either way: the lock file (`LOCK`, holding this process id, as with any
    /// open). Not read only: the index in `index/` (sled cannot open a database read only;
    /// opening it may write its own files, and records not yet indexed are indexed, as on any
    /// open). A data directory without a log is an error, not created.
    pub fn open_read_only(data_dir: impl AsRef<Path>) -> Result<EventStore> {
        let data_dir = data_dir.as_ref();
        let log = log_dir(data_dir);
        if !log.is_dir() {
            return Err(StoreError::io(format!(
                "opening {} read only",
                data_dir.display()
            ))(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{} holds no log directory", data_dir.display()),
            )));
        }
        let lock = DataDirLock::acquire(data_dir)?;
        // Not a change to what the directory holds: the index a crashed compaction left.
        crate::compact::finish_interrupted(data_dir)?;
        let storage = DirectoryStorage::open(&log).map_err(StoreError::io(format!(
            "log directory under {}",
            data_dir.display()
        )))?;
        let storage: Arc<dyn SegmentStorage> = Arc::new(storage);
        let (index, discarded, legacy_durable) =
            Index::open(&index_dir(data_dir), CACHE_BYTES_DEFAULT)?;
        let mut recovered = recover(storage.as_ref(), &index, legacy_durable, true)?;
        recovered.report.index_rebuilt |= discarded;
        let log = Arc::new(Log::new(recovered.segments));
        index.attach_log(log.clone());
        let committed = Arc::new(watch::channel(recovered.report.last_position).0);
        let shared = Arc::new(Shared::starting_at(Position(
            recovered.report.last_position,
        )));
        // No writer: the receiver is dropped, and the store is closed from the start.
        let (sender, _) = mpsc::channel(1);
        Ok(EventStore {
            inner: Arc::new(Inner {
                log,
                index,
                committed,
                sender,
                writer: Mutex::new(None),
                syncer: Mutex::new(None),
                poisoned: Arc::new(AtomicBool::new(false)),
                shared,
                closed: AtomicBool::new(true),
                follower: AtomicBool::new(false),
                upcaster: None,
                report: recovered.report,
                index_path: index_dir(data_dir),
                _lock: Some(lock),
            }),
        })
    }

    /// Opens with explicit segment storage (tests put a fault-injecting file system here) and
    /// an upcaster applied to every event read. No data-directory lock is taken: the caller
    /// owns the storage and keeps to one store on it.
    pub fn open_with(
        storage: Arc<dyn SegmentStorage>,
        index_path: &Path,
        config: StoreConfig,
        upcaster: Option<Arc<dyn Upcaster>>,
    ) -> Result<EventStore> {
        EventStore::open_locked(storage, index_path, config, upcaster, None)
    }

    fn open_locked(
        storage: Arc<dyn SegmentStorage>,
        index_path: &Path,
        config: StoreConfig,
        upcaster: Option<Arc<dyn Upcaster>>,
        lock: Option<DataDirLock>,
    ) -> Result<EventStore> {
        if config.cache_bytes < CACHE_BYTES_MIN {
            return Err(StoreError::InvalidConfig(format!(
                "cache_bytes is {}: the index's page cache needs at least {CACHE_BYTES_MIN} \
                 bytes (the default is 256 MiB)",
                config.cache_bytes
            )));
        }
        let (index, discarded, legacy_durable) = Index::open(index_path, config.cache_bytes)?;
        let mut recovered = recover(storage.as_ref(), &index, legacy_durable, false)?;
        recovered.report.index_rebuilt |= discarded;
        if let Some(torn) = &recovered.report.torn_tail {
            tracing::warn!(?torn, "recovered the log after an interrupted write");
        }
        let log = Arc::new(Log::new(recovered.segments));
        index.attach_log(log.clone());
        let committed = Arc::new(watch::channel(recovered.report.last_position).0);
        let poisoned = Arc::new(AtomicBool::new(false));
        let shared = Arc::new(Shared::starting_at(Position(
            recovered.report.last_position,
        )));
        let (sender, receiver) = mpsc::channel(config.queue_capacity.max(1));
        let writer = Writer {
            log: log.clone(),
            index: index.clone(),
            storage: storage.clone(),
            tail: recovered.tail,
            segment_size_max: config.segment_size_max_bytes.max(4096),
            durability: config.durability,
            batch_events_max: config.batch_events_max.max(1),
            index_table_records: config.index_table_records.max(1),
            committed: committed.clone(),
            poisoned: poisoned.clone(),
            shared: shared.clone(),
            heads: Default::default(),
            spare: None,
            space_reserved: config.space_reserved_bytes,
        };
        let writer = std::thread::Builder::new()
            .name("crm-log-writer".into())
            .spawn(move || writer.run(receiver))
            .map_err(StoreError::io("starting the writer thread"))?;
        let syncer = match config.durability {
            Durability::Fsync => None,
            Durability::Batched { interval } => Some(spawn_syncer(
                log.clone(),
                shared.clone(),
                storage,
                poisoned.clone(),
                interval,
            )?),
        };
        Ok(EventStore {
            inner: Arc::new(Inner {
                log,
                index,
                committed,
                sender,
                writer: Mutex::new(Some(writer)),
                syncer: Mutex::new(syncer),
                poisoned,
                shared,
                closed: AtomicBool::new(false),
                follower: AtomicBool::new(false),
                upcaster,
                report: recovered.report,
                index_path: index_path.to_path_buf(),
                _lock: lock,
            }),
        })
    }

    /// What opening found and repaired.
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.inner.report
    }

    /// Appends `events` to `stream` if it is at `expected`; all or nothing. Returns once the
    /// events are durable (see [`Durability`]) and readable.
    pub async fn append(
        &self,
        stream: &StreamName,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult> {
        validate_append(stream, &events)?;
        if self.inner.closed.load(Ordering::SeqCst) {
            return Err(StoreError::Closed);
        }
        if self.inner.follower.load(Ordering::SeqCst) {
            return Err(StoreError::Follower {
                stream: stream.to_string(),
            });
        }
        let precheck = self
            .inner
            .index
            .precheck(stream.as_str(), events.iter().map(|e| e.event_id))?;
        let turn = InTurn::current();
        if let Some(turn) = &turn {
            turn.wait().await;
        }
        let (reply, answer) = oneshot::channel();
        let request = Request::Append(Append {
            stream: stream.clone(),
            expected,
            events,
            preserved: None,
            recorded_at_ns: turn
                .as_ref()
                .and_then(InTurn::recorded_at)
                .map(|t| t.unix_timestamp_nanos()),
            precheck,
            reply,
        });
        self.inner
            .sender
            .send(request)
            .await
            .map_err(|_| StoreError::Closed)?;
        if let Some(turn) = &turn {
            turn.handed_over();
        }
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Runs `f` (a command) in `turn`: its appends reach the log in the turn's order (see
    /// [`Turn`]). Call [`Turn::finish`] when the command is done.
    pub async fn in_turn<F: std::future::Future>(turn: Turn, f: F) -> F::Output {
        turn.scope(f).await
    }

    /// The last committed position; 0 when the log is empty.
    pub fn head(&self) -> Position {
        Position(*self.inner.committed.borrow())
    }

    /// Notified whenever the head moves.
    pub fn watch_head(&self) -> watch::Receiver<u64> {
        self.inner.committed.subscribe()
    }

    /// True once the store was closed (or was opened read-only).
    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::SeqCst)
    }

    /// True once a failed write or sync stopped the writer (reopen to recover).
    pub fn is_poisoned(&self) -> bool {
        self.inner.poisoned.load(Ordering::SeqCst)
    }

    /// The revision of the stream's last event, if it has any.
    pub fn stream_revision(&self, stream: &StreamName) -> Result<Option<u64>> {
        // The index may already hold batches whose fdatasync is still running (at most a few
        // batches' worth); only what is committed counts.
        let head = self.head();
        let mut limit = 8;
        loop {
            let last = self.inner.index.stream_entries(
                stream.as_str(),
                u64::MAX,
                Direction::Backwards,
                limit,
            )?;
            if let Some(&(revision, _, _)) = last.iter().find(|(_, p, _)| *p <= head) {
                return Ok(Some(revision));
            }
            if last.len() < limit || limit >= READ_LIMIT_MAX {
                return Ok(None);
            }
            limit = (limit * 16).min(READ_LIMIT_MAX);
        }
    }

    fn check_limit(limit: usize) -> Result<()> {
        check_read_limit(limit)
    }

    pub(crate) fn upcast(&self, event: RecordedEvent) -> Result<RecordedEvent> {
        match &self.inner.upcaster {
            None => Ok(event),
            Some(u) => {
                let (position, event_type, schema_version) = (
                    event.position,
                    event.event_type.clone(),
                    event.schema_version,
                );
                u.upcast(event).map_err(|reason| StoreError::Upcast {
                    position,
                    event_type,
                    schema_version,
                    reason,
                })
            }
        }
    }

    /// Reads one stream from `start` in `direction`, at most `limit` events.
    pub fn read_stream(
        &self,
        stream: &StreamName,
        start: StreamStart,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>> {
        Self::check_limit(limit)?;
        let revision = match (start, direction) {
            (StreamStart::Start, _) => 0,
            (StreamStart::Revision(r), _) => r,
            (StreamStart::End, Direction::Backwards) => u64::MAX,
            (StreamStart::End, Direction::Forwards) => return Ok(Vec::new()),
        };
        let head = self.head();
        let entries =
            self.inner
                .index
                .stream_entries(stream.as_str(), revision, direction, limit)?;
        let mut out = Vec::with_capacity(entries.len());
        for (_, position, loc) in entries {
            if position > head {
                continue;
            }
            out.push(self.upcast(self.inner.log.read_at(position, loc)?)?);
        }
        Ok(out)
    }

    /// Reads `$all` from `start` in `direction`, at most `limit` events.
    pub fn read_all(
        &self,
        start: AllStart,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>> {
        Self::check_limit(limit)?;
        let head = self.head();
        let mut out = Vec::with_capacity(limit.min(4096));
        match direction {
            Direction::Forwards => {
                let from = match start {
                    AllStart::Start => Position::FIRST,
                    AllStart::Position(p) => p.max(Position::FIRST),
                    AllStart::End => return Ok(out),
                };
                self.scan_forwards(from, head, limit, |e| {
                    out.push(e);
                    Ok(())
                })?;
            }
            Direction::Backwards => {
                let top = match start {
                    AllStart::Start => return Ok(out),
                    AllStart::End => head,
                    AllStart::Position(p) => p.min(head),
                };
                if top.0 == 0 || limit == 0 {
                    return Ok(out);
                }
                // Read the window forwards (one sequential read), hand it out backwards.
                let bottom = Position(top.0.saturating_sub(limit as u64 - 1).max(1));
                self.scan_forwards(bottom, top, limit, |e| {
                    out.push(e);
                    Ok(())
                })?;
                out.reverse();
            }
        }
        Ok(out)
    }

    /// Calls `f` for each event from `from` to `to` (inclusive, both committed) in order, at
    /// most `limit`. The fast path for catch-up and rebuilds: one sequential read.
    pub(crate) fn scan_forwards(
        &self,
        from: Position,
        to: Position,
        limit: usize,
        mut f: impl FnMut(RecordedEvent) -> Result<()>,
    ) -> Result<()> {
        self.scan_raw(from, to, limit, |e| f(self.upcast(e)?))
    }

    /// Like `scan_forwards`, but events exactly as stored (no upcasting): for export.
    pub(crate) fn scan_raw(
        &self,
        from: Position,
        to: Position,
        limit: usize,
        f: impl FnMut(RecordedEvent) -> Result<()>,
    ) -> Result<()> {
        if from > to || limit == 0 {
            return Ok(());
        }
        let (run_first, loc) = self.locate(from)?;
        let count = (to.0 - from.0 + 1).min(limit as u64);
        let skip = from.0 - run_first.0;
        self.inner
            .log
            .read_sequential(run_first, loc, skip, count, f)
    }

    pub(crate) async fn send(&self, request: Request) -> Result<()> {
        self.inner
            .sender
            .send(request)
            .await
            .map_err(|_| StoreError::Closed)
    }

    fn locate(&self, position: Position) -> Result<(Position, crate::index::Locator)> {
        self.inner
            .index
            .locate(position)?
            .ok_or_else(|| StoreError::Corrupt {
                position,
                reason: "committed but missing from the position index".into(),
            })
    }

    /// Reads the event at one position.
    pub fn read_position(&self, position: Position) -> Result<RecordedEvent> {
        if position.0 == 0 || position > self.head() {
            return Err(StoreError::InvalidRead(format!(
                "position {position} is not committed (head is {})",
                self.head()
            )));
        }
        let mut found = None;
        self.scan_forwards(position, position, 1, |e| {
            found = Some(e);
            Ok(())
        })?;
        found.ok_or_else(|| StoreError::Corrupt {
            position,
            reason: "not found in the log".into(),
        })
    }

    /// The committed event with this id, if any (commands use it to recognise a retry).
    pub fn find_event(&self, event_id: uuid::Uuid) -> Result<Option<RecordedEvent>> {
        match self.inner.index.event_position(event_id)? {
            Some(position) if position <= self.head() => self.read_position(position).map(Some),
            _ => Ok(None),
        }
    }

    /// Reads events matching `filter` from `start` in `direction`, at most `limit`. Category
    /// and event-type filters use their indexes, so sparse matches cost no full scan.
    pub fn read_filtered(
        &self,
        filter: &Filter,
        start: AllStart,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>> {
        let (kind, name) = match filter {
            Filter::All => return self.read_all(start, direction, limit),
            Filter::Category(c) => (b'c', c.as_str()),
            Filter::EventType(t) => (b't', t.as_str()),
        };
        Self::check_limit(limit)?;
        let head = self.head();
        let from = match (start, direction) {
            (AllStart::Start, Direction::Forwards) => Position::FIRST,
            (AllStart::Start, Direction::Backwards) => return Ok(Vec::new()),
            (AllStart::End, Direction::Forwards) => return Ok(Vec::new()),
            (AllStart::End, Direction::Backwards) => head,
            (AllStart::Position(p), _) => p,
        };
        let entries = self
            .inner
            .index
            .secondary_entries(kind, name, from, head, direction, limit)?;
        entries
            .into_iter()
            .map(|(position, loc)| self.upcast(self.inner.log.read_at(position, loc)?))
            .collect()
    }

    /// A catch-up subscription: every event matching `filter` after `after` (exclusive; use
    /// `Position(0)` for everything), first from disk, then live, with no gap or duplicate.
    pub fn subscribe(&self, after: Position, filter: Filter) -> Subscription {
        Subscription::new(self.clone(), after, filter)
    }

    /// Stops accepting appends, waits for those in flight, and makes everything durable. A
    /// store that stopped taking writes (see [`EventStore::is_poisoned`]) closes with
    /// [`StoreError::Poisoned`]: what it was asked to write is not all on disk.
    pub async fn close(&self) -> Result<()> {
        if self.inner.closed.swap(true, Ordering::SeqCst) {
            return self.poison_error().map_or(Ok(()), Err);
        }
        let (reply, answer) = oneshot::channel();
        let result = match self.inner.sender.send(Request::Shutdown { reply }).await {
            Ok(()) => answer.await.unwrap_or(Ok(())),
            Err(_) => Ok(()),
        };
        // Wake subscribers so they notice the store is closed.
        self.inner.committed.send_modify(|_| {});
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || inner.stop_background())
            .await
            .map_err(|e| StoreError::Index(format!("joining the writer: {e}")))?;
        // Also when the writer was gone before the close, or the background syncer failed
        // after the writer's last sync.
        match (result, self.poison_error()) {
            (Ok(()), Some(poisoned)) => Err(poisoned),
            (result, _) => result,
        }
    }

    fn poison_error(&self) -> Option<StoreError> {
        self.is_poisoned()
            .then(|| StoreError::Poisoned(self.inner.shared.poison_reason().unwrap_or_default()))
    }

    /// The sled database, for layers above that keep their own trees (projections) beside the
    /// log's indexes.
    pub fn sled(&self) -> &sled::Db {
        self.inner.index.db()
    }

    /// Where the index's sled database lives (layers above keep files beside it).
    pub fn index_path(&self) -> &Path {
        &self.inner.index_path
    }
}

/// The background fdatasync of batched durability. A failure stops the store as a failed
/// fdatasync in the writer does (see `Shared::log_failed`), and the syncer with it: a later
/// fdatasync that "succeeds" proves nothing about the pages the failed one lost.
fn spawn_syncer(
    log: Arc<Log>,
    shared: Arc<Shared>,
    storage: Arc<dyn SegmentStorage>,
    poisoned: Arc<AtomicBool>,
    interval: Duration,
) -> Result<(Arc<AtomicBool>, std::thread::JoinHandle<()>)> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let handle = std::thread::Builder::new()
        .name("crm-log-syncer".into())
        .spawn(move || {
            while !flag.load(Ordering::SeqCst) {
                std::thread::park_timeout(interval);
                // Read before the segment count: the record was written either to the
                // segment synced below or to one the writer sealed, and so synced, before
                // starting a newer one.
                let written = shared.written();
                let last = log.segment_count().saturating_sub(1);
                if let Some(file) = log.segment(last) {
                    match file.sync_data() {
                        Ok(()) => shared.mark_durable(written),
                        Err(e) => {
                            // The same error as a failed fdatasync in the writer.
                            let e = StoreError::io(format!("segment {last} sync"))(e);
                            shared.log_failed(storage.as_ref(), &poisoned, e.to_string());
                            return;
                        }
                    }
                }
            }
        })
        .map_err(StoreError::io("starting the sync thread"))?;
    Ok((stop, handle))
}
