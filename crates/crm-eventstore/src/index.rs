//! The sled indexes over the log. Everything here can be rebuilt from the segments, so sled
//! is never the only copy of anything and its beta on-disk format is never a risk to data.
//!
//! One tree, keys prefixed by kind, so that one `sled::Batch` updates every index of a group
//! commit atomically together with the checkpoint that says how far indexing got:
//!
//! | key                                   | value                                          |
//! |---------------------------------------|------------------------------------------------|
//! | `p` first position                    | run: locator of its first record, record count |
//! | `s` stream `\0` first revision        | the stream's next records: posting list        |
//! | `c` category `\0` first position      | posting list                                   |
//! | `t` event type `\0` first position    | posting list                                   |
//! | `m` `checkpoint`                      | position, locator of the last indexed record   |
//!
//! (The durable mark, once `m` `durable` here, is a file beside the segments: see `mark`.)
//!
//! sled costs 10–20 µs of CPU per random insert (it copies the leaf it changes), which at one
//! key per event would cap durable appends far below the log's rate on two cores. So no key is
//! per event: event ids, which must be found by a random key, live in sorted runs of their own
//! (`ids.rs`) beside sled, in the index directory. Positions are stored as runs of
//! consecutive records in one segment; streams, categories and event types as posting lists,
//! one key per flushed table each (a stream's records in a run of consecutive positions have
//! consecutive revisions, so its list needs only the first). A stream's head is the end of the
//! last list of its `s` range, not a key of its own. Integers in keys are big-endian so that
//! sled's byte order is numeric order.
//!
//! A posting list is (position, locator) pairs delta-encoded (`postings`): every event is in
//! three lists, which in fixed width were most of the index (docs/PERFORMANCE.md, "Index
//! size").

use std::path::Path;
use std::sync::{Arc, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};

use uuid::Uuid;

use crate::backend::content_digest_of_recorded;
use crate::error::{Result, StoreError};
use crate::ids::{IdEntry, IdRuns};
use crate::log::Log;
use crate::postings::{encode_postings, postings};
use crate::recent::{Recent, RecentRecord, Table};
use crate::types::{category_of, Direction, Position};

const INDEX_FORMAT: &[u8] = b"crm-index-v6";
/// The event-id runs' directory, inside sled's, so that removing the index removes them too.
pub(crate) const ID_RUNS_DIR: &str = "event-ids";
/// Records per position run and per posting list: bounds the frames a random read skips and
/// the size of one sled value.
pub(crate) const RUN_LEN_MAX: usize = 256;
const KEY_CHECKPOINT: &[u8] = b"mcheckpoint";
/// Where versions before the durable-mark file kept the mark (see `mark`): read once when
/// there is no file, then removed.
const KEY_LEGACY_DURABLE: &[u8] = b"mdurable";
const KEY_FORMAT: &[u8] = b"mformat";

/// Where a record's frame starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Locator {
    pub segment: u32,
    pub offset: u64,
}

impl Locator {
    fn encode(self) -> [u8; 12] {
        let mut out = [0u8; 12];
        out[..4].copy_from_slice(&self.segment.to_be_bytes());
        out[4..].copy_from_slice(&self.offset.to_be_bytes());
        out
    }

    fn decode(bytes: &[u8]) -> Result<Locator> {
        if bytes.len() != 12 {
            return Err(StoreError::Index(format!(
                "locator of {} bytes",
                bytes.len()
            )));
        }
        Ok(Locator {
            segment: be_u32(&bytes[..4]),
            offset: be_u64(&bytes[4..]),
        })
    }
}

/// What the index said of an append's stream and event ids before it reached the writer.
///
/// The lookups that may touch sled (microseconds each) are made here, on the caller's
/// thread, so that the single writer, which every append passes through, only consults
/// memory: what was stored after `dropped` was read is still in memory unless a table has
/// been dropped since, and then the writer looks again itself.
#[derive(Debug, Clone, Default)]
pub(crate) struct Precheck {
    pub dropped: u64,
    pub head: Option<u64>,
    /// Per event of the append, in order.
    pub stored: Vec<Option<StoredId>>,
}

/// What memory alone can say, given a precheck.
pub(crate) enum Since<T> {
    /// Found in memory.
    Held(T),
    /// Not in memory, and nothing left memory since the precheck: its answer stands.
    Unchanged,
    /// A table left memory since the precheck: look again.
    Unknown,
}

/// What the event-id index knows of a stored event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredId {
    pub position: Position,
    pub revision: u64,
    pub digest: [u8; 32],
}

/// One record's index entries, as the writer and recovery produce them.
#[derive(Debug)]
pub struct IndexEntry<'a> {
    pub position: Position,
    pub locator: Locator,
    pub stream: &'a str,
    pub category: &'a str,
    pub revision: u64,
    pub event_id: Uuid,
    pub event_type: &'a str,
}

/// sled plus the newest entries still in memory (see `recent`); every read merges both.
#[derive(Debug, Clone)]
pub struct Index {
    db: sled::Db,
    tree: sled::Tree,
    ids: Arc<IdRuns>,
    recent: Arc<RwLock<Recent>>,
    /// The log, once it is open: an id found in a run is completed from its record.
    log: Arc<OnceLock<Arc<Log>>>,
}

fn be_u32(b: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[..4]);
    u32::from_be_bytes(a)
}

fn be_u64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_be_bytes(a)
}

fn keyed(prefix: u8, name: &str, number: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(name.len() + 10);
    k.push(prefix);
    k.extend_from_slice(name.as_bytes());
    k.push(0);
    k.extend_from_slice(&number.to_be_bytes());
    k
}

fn position_key(position: Position) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = b'p';
    k[1..].copy_from_slice(&position.0.to_be_bytes());
    k
}

impl Index {
    /// Opens the index. sled 0.34 can fail to recover its own files after a crash ("read
    /// corrupted data"); since everything in it is rebuilt from the log, a corrupt index is
    /// thrown away and rebuilt rather than stopping the store. The flag says whether that
    /// happened; the position is a durable mark a previous version left in sled, read before
    /// anything here clears the index.
    pub fn open(path: &Path, cache_bytes: u64) -> Result<(Index, bool, Option<Position>)> {
        let config = || {
            sled::Config::new()
                .path(path)
                .cache_capacity(cache_bytes)
                .mode(sled::Mode::HighThroughput)
        };
        // sled would create its directory too; made here so that the entry naming it is synced.
        let created = || {
            crate::dir::create_dir_durable(path)
                .map_err(StoreError::io(format!("creating {}", path.display())))
        };
        created()?;
        let (db, discarded) = match open_waiting_for_lock(config) {
            Ok(db) => (db, false),
            Err(sled::Error::Corruption { .. }) => {
                tracing::warn!(path = %path.display(), "the sled index is corrupt; rebuilding it from the log");
                std::fs::remove_dir_all(path)
                    .map_err(StoreError::io(format!("removing {}", path.display())))?;
                created()?;
                (config().open()?, true)
            }
            Err(sled::Error::Io(e)) if is_lock_error(&e) => {
                return Err(StoreError::Index(format!(
                    "the index at {} is locked by another process (is a server running on this \
                     data directory?)",
                    path.display()
                )));
            }
            Err(e) => return Err(e.into()),
        };
        let tree = db.open_tree("log-index")?;
        let ids = Arc::new(IdRuns::open(&path.join(ID_RUNS_DIR))?);
        let index = Index {
            db,
            tree,
            ids,
            recent: Default::default(),
            log: Default::default(),
        };
        let legacy_durable = index.legacy_durable_mark()?;
        match index.tree.get(KEY_FORMAT)? {
            Some(f) if f.as_ref() == INDEX_FORMAT => {}
            Some(_) => {
                tracing::warn!("index format changed; rebuilding the index from the log");
                index.clear()?;
            }
            None => {
                index.clear()?;
            }
        }
        let checkpoint = index.checkpoint()?.map(|(position, _)| position);
        if !index.ids.reconcile(checkpoint)? {
            tracing::warn!(
                "the event-id runs do not match the index checkpoint; rebuilding the index"
            );
            index.clear()?;
        }
        Ok((index, discarded, legacy_durable))
    }

    /// Empties the index; recovery then re-indexes the whole log.
    pub fn clear(&self) -> Result<()> {
        self.write_recent().clear();
        self.ids.clear()?;
        self.tree.clear()?;
        self.tree.insert(KEY_FORMAT, INDEX_FORMAT)?;
        Ok(())
    }

    pub fn db(&self) -> &sled::Db {
        &self.db
    }

    pub fn checkpoint(&self) -> Result<Option<(Position, Locator)>> {
        match self.tree.get(KEY_CHECKPOINT)? {
            None => Ok(None),
            Some(v) if v.len() == 20 => {
                Ok(Some((Position(be_u64(&v[..8])), Locator::decode(&v[8..])?)))
            }
            Some(v) => Err(StoreError::Index(format!(
                "checkpoint of {} bytes",
                v.len()
            ))),
        }
    }

    fn legacy_durable_mark(&self) -> Result<Option<Position>> {
        match self.tree.get(KEY_LEGACY_DURABLE)? {
            None => Ok(None),
            Some(v) if v.len() == 8 => Ok(Some(Position(be_u64(&v)))),
            Some(v) => Err(StoreError::Index(format!(
                "durable mark of {} bytes",
                v.len()
            ))),
        }
    }

    /// Removes the mark a previous version kept in sled, once the mark file holds it.
    pub(crate) fn remove_legacy_durable_mark(&self) -> Result<()> {
        self.tree.remove(KEY_LEGACY_DURABLE)?;
        Ok(())
    }

    /// The revision of the stream's last event: the last key of its `s` range.
    fn sled_head(&self, stream: &str) -> Result<Option<u64>> {
        let from = keyed(b's', stream, 0);
        let to = keyed(b's', stream, u64::MAX);
        match self.tree.range(from..=to).next_back() {
            None => Ok(None),
            Some(item) => {
                let (first, list) = stream_list(stream, item)?;
                Ok(Some(first + list.len() as u64 - 1))
            }
        }
    }

    /// The run of records that holds `position`: the run's first position and its locator.
    /// The record itself is `position - first` frames further on.
    fn sled_locate(&self, position: Position) -> Result<Option<(Position, Locator)>> {
        let Some(item) = self.tree.range(..=position_key(position)).next_back() else {
            return Ok(None);
        };
        let (k, v) = item?;
        if k.len() != 9 || k[0] != b'p' || v.len() != 16 {
            return Ok(None);
        }
        let first = Position(be_u64(&k[1..]));
        let count = u64::from(be_u32(&v[12..16]));
        if position.0 >= first.0 + count {
            return Ok(None);
        }
        Ok(Some((first, Locator::decode(&v[..12])?)))
    }

    fn sled_stream_entries(
        &self,
        stream: &str,
        revision: u64,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<(u64, Position, Locator)>> {
        let mut out = Vec::new();
        if limit == 0 {
            return Ok(out);
        }
        let lowest = keyed(b's', stream, 0);
        let highest = keyed(b's', stream, u64::MAX);
        let at_or_before = keyed(b's', stream, revision);
        match direction {
            Direction::Forwards => {
                // The list that may hold `revision` starts at or before it.
                let start = match self.tree.range(lowest.clone()..=at_or_before).next_back() {
                    Some(item) => item?.0.to_vec(),
                    None => lowest,
                };
                for item in self.tree.range(start..=highest) {
                    let (first, list) = stream_list(stream, item)?;
                    for (rev, (p, loc)) in (first..).zip(list) {
                        if rev >= revision {
                            out.push((rev, p, loc));
                            if out.len() == limit {
                                return Ok(out);
                            }
                        }
                    }
                }
            }
            Direction::Backwards => {
                for item in self.tree.range(lowest..=at_or_before).rev() {
                    let (first, list) = stream_list(stream, item)?;
                    for (i, (p, loc)) in list.into_iter().enumerate().rev() {
                        let rev = first + i as u64;
                        if rev <= revision {
                            out.push((rev, p, loc));
                            if out.len() == limit {
                                return Ok(out);
                            }
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    fn sled_secondary_entries(
        &self,
        kind: u8,
        name: &str,
        position: Position,
        last: Position,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<(Position, Locator)>> {
        let mut out = Vec::new();
        let lowest = keyed(kind, name, 0);
        let highest = keyed(kind, name, last.0);
        match direction {
            Direction::Forwards => {
                if position > last || limit == 0 {
                    return Ok(out);
                }
                // The posting list that may hold `position` starts at or before it.
                let start = match self
                    .tree
                    .range(lowest.clone()..=keyed(kind, name, position.0))
                    .next_back()
                {
                    Some(item) => item?.0.to_vec(),
                    None => lowest,
                };
                for item in self.tree.range(start..=highest) {
                    let (_, v) = item?;
                    for (p, loc) in postings(&v)? {
                        if p >= position && p <= last {
                            out.push((p, loc));
                            if out.len() == limit {
                                return Ok(out);
                            }
                        }
                    }
                }
            }
            Direction::Backwards => {
                let top = position.min(last);
                if limit == 0 {
                    return Ok(out);
                }
                for item in self.tree.range(lowest..=keyed(kind, name, top.0)).rev() {
                    let (_, v) = item?;
                    for (p, loc) in postings(&v)?.into_iter().rev() {
                        if p <= top {
                            out.push((p, loc));
                            if out.len() == limit {
                                return Ok(out);
                            }
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    /// Applies durable records' entries and moves the checkpoint to the last of them, in one
    /// atomic sled batch. For recovery, when nothing else uses sled.
    pub fn apply_durable(&self, batch: IndexBatch) -> Result<()> {
        let writes = self.write_id_run(batch)?;
        let mut sled_batch = sled::Batch::default();
        for (k, v) in writes {
            sled_batch.insert(k, v);
        }
        self.tree.apply_batch(sled_batch)?;
        Ok(())
    }

    /// The same, one insert at a time, the checkpoint last. A sled batch holds a lock that
    /// every other sled call of the process waits for (readers, the read models' flushes);
    /// single inserts do not. It is as safe: sled recovers a prefix of its log (it refuses to
    /// recover a later log segment whose predecessor was lost), so a recovered checkpoint
    /// implies every insert made before it.
    fn apply_in_order(&self, batch: IndexBatch) -> Result<()> {
        for (k, v) in self.write_id_run(batch)? {
            self.tree.insert(k, v)?;
        }
        Ok(())
    }

    /// Writes the batch's event ids as a run, durable before the checkpoint that counts them
    /// can be; returns the sled writes left to do.
    fn write_id_run(&self, batch: IndexBatch) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let (writes, ids) = batch.into_writes()?;
        if let Some((first, last, entries)) = ids {
            // A flush retried after a full disk may find its run added already.
            if self.ids.last().is_none_or(|added| added < last) {
                self.ids.add(first, last, entries)?;
            }
        }
        Ok(writes)
    }

    fn read_recent(&self) -> RwLockReadGuard<'_, Recent> {
        // Nothing under this lock can panic half-way through an update.
        self.recent.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_recent(&self) -> RwLockWriteGuard<'_, Recent> {
        self.recent.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a durable batch's records (the writer's only index work before it answers).
    pub(crate) fn add_recent(&self, records: Vec<RecentRecord>) {
        let mut recent = self.write_recent();
        for r in records {
            recent.push(r);
        }
    }

    /// Records in the table the writer adds to.
    pub(crate) fn recent_len(&self) -> usize {
        self.read_recent().active_len()
    }

    /// Starts a new table and returns the full one, for the flusher.
    /// Sizes the (empty) active table; the writer calls this before its first append.
    pub(crate) fn reserve_recent(&self, records: usize) {
        self.write_recent().reserve(records);
    }

    pub(crate) fn freeze_recent(&self, next_capacity: usize) -> Option<Arc<Table>> {
        // Allocated before the lock is taken.
        let next = Table::with_capacity(next_capacity);
        self.write_recent().freeze(next)
    }

    /// Puts a frozen table into sled, then forgets it. One batch for the whole table, so that
    /// a stream's records in it share one list.
    pub(crate) fn flush_table(&self, table: &Arc<Table>) -> Result<()> {
        let mut batch = IndexBatch::default();
        for r in table.records() {
            batch.add(&IndexEntry {
                position: r.position,
                locator: r.locator,
                stream: &r.stream,
                category: category_of(&r.stream),
                revision: r.revision,
                event_id: r.event_id,
                event_type: &r.event_type,
            });
        }
        self.apply_in_order(batch)?;
        self.write_recent().flushed(table);
        Ok(())
    }

    /// The revision of the stream's last event.
    pub fn head(&self, stream: &str) -> Result<Option<u64>> {
        if let Some(head) = self.read_recent().head(stream) {
            return Ok(Some(head));
        }
        // Not held in memory: sled has all of the stream (a table being flushed is still
        // held, so it was searched above).
        self.sled_head(stream)
    }

    /// The lookups an append needs, made before it is queued for the writer.
    pub(crate) fn precheck(
        &self,
        stream: &str,
        ids: impl Iterator<Item = Uuid>,
    ) -> Result<Precheck> {
        // Read first: anything stored from here on is caught by the writer's own lookups.
        let dropped = self.read_recent().dropped();
        let stored = ids.map(|id| self.event(id)).collect::<Result<_>>()?;
        Ok(Precheck {
            dropped,
            head: self.head(stream)?,
            stored,
        })
    }

    /// The event id in memory, or whether a precheck made at `dropped` still answers for it.
    pub(crate) fn event_since(&self, id: Uuid, dropped: u64) -> Since<StoredId> {
        let recent = self.read_recent();
        match recent.event(id) {
            Some(found) => Since::Held(found),
            None if recent.dropped() == dropped => Since::Unchanged,
            None => Since::Unknown,
        }
    }

    /// The stream's head in memory, or whether a precheck made at `dropped` still answers.
    pub(crate) fn head_since(&self, stream: &str, dropped: u64) -> Since<u64> {
        let recent = self.read_recent();
        match recent.head(stream) {
            Some(head) => Since::Held(head),
            None if recent.dropped() == dropped => Since::Unchanged,
            None => Since::Unknown,
        }
    }

    /// Gives the index the log, which completes what a run says of an id.
    pub(crate) fn attach_log(&self, log: Arc<Log>) {
        let _ = self.log.set(log);
    }

    /// Where the event with this id is, if stored.
    pub fn event_position(&self, id: Uuid) -> Result<Option<Position>> {
        if let Some(found) = self.read_recent().event(id) {
            return Ok(Some(found.position));
        }
        // A table leaves memory only after its run is in place, so an id missed above (its
        // table gone since) is found here.
        self.ids.get(id)
    }

    /// The event with this id, if stored, with its revision and content digest (from memory,
    /// or from the record a run points to: that costs a read, and happens only for a retry).
    pub fn event(&self, id: Uuid) -> Result<Option<StoredId>> {
        if let Some(found) = self.read_recent().event(id) {
            return Ok(Some(found));
        }
        match self.ids.get(id)? {
            None => Ok(None),
            Some(position) => self.stored_at(id, position).map(Some),
        }
    }

    fn stored_at(&self, id: Uuid, position: Position) -> Result<StoredId> {
        let damaged = |what: String| {
            StoreError::Index(format!(
                "the event-id index puts {id} at position {position}, {what}; remove the index \
                 directory to rebuild it from the log"
            ))
        };
        let log = self
            .log
            .get()
            .ok_or_else(|| damaged("but the log is not open yet".into()))?;
        let (first, loc) = self
            .locate(position)?
            .ok_or_else(|| damaged("which no index entry locates".into()))?;
        let mut found = None;
        log.read_sequential(first, loc, position.0 - first.0, 1, |e| {
            found = Some(e);
            Ok(())
        })?;
        let record = found.ok_or_else(|| damaged("which the log does not hold".into()))?;
        if record.event_id != id {
            return Err(damaged(format!("which holds {}", record.event_id)));
        }
        Ok(StoredId {
            position,
            revision: record.revision,
            digest: content_digest_of_recorded(&record)?,
        })
    }

    /// Merges event-id runs if a tier is full; `false` when none was due (or `stop` was set).
    pub(crate) fn merge_id_runs(&self, stop: &std::sync::atomic::AtomicBool) -> Result<bool> {
        // sled writes behind; a crash could otherwise leave the merged run reaching past the
        // checkpoint sled recovers, and the whole index would be rebuilt.
        self.ids.merge_one(stop, || self.flush())
    }

    /// The run of records that holds `position`: the run's first position and its locator.
    /// The record itself is `position - first` frames further on.
    pub fn locate(&self, position: Position) -> Result<Option<(Position, Locator)>> {
        {
            let recent = self.read_recent();
            if recent.sled_below().is_some_and(|below| position >= below) {
                return Ok(recent.locate(position).map(|loc| (position, loc)));
            }
        }
        self.sled_locate(position)
    }

    /// Positions and locators of a stream's events from `revision`, in `direction`.
    pub fn stream_entries(
        &self,
        stream: &str,
        revision: u64,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<(u64, Position, Locator)>> {
        // Memory first, then sled: a table flushed in between is then in sled, and its
        // entries there are at or above `below`, so they are dropped as already seen.
        let (slice, below) = {
            let recent = self.read_recent();
            (
                recent.stream(stream, revision, direction, limit),
                recent.sled_below(),
            )
        };
        let older = |e: &(u64, Position, Locator)| below.is_none_or(|b| e.1 < b);
        match direction {
            Direction::Forwards => {
                if slice.lowest_revision.is_some_and(|low| low <= revision) {
                    return Ok(slice.entries);
                }
                let mut out: Vec<_> = self
                    .sled_stream_entries(stream, revision, direction, limit)?
                    .into_iter()
                    .take_while(older)
                    .collect();
                out.extend(slice.entries);
                out.truncate(limit);
                Ok(out)
            }
            Direction::Backwards => {
                let mut out = slice.entries;
                let from = match slice.lowest_revision {
                    Some(0) => return Ok(out),
                    Some(low) => revision.min(low - 1),
                    None => revision,
                };
                if out.len() < limit {
                    let rest = limit - out.len();
                    out.extend(
                        self.sled_stream_entries(stream, from, direction, limit)?
                            .into_iter()
                            .filter(older)
                            .take(rest),
                    );
                }
                Ok(out)
            }
        }
    }

    /// Positions and locators of events in a category (`kind` b'c') or of an event type
    /// (`kind` b't'), from `position`, in `direction`, not past `last`.
    pub fn secondary_entries(
        &self,
        kind: u8,
        name: &str,
        position: Position,
        last: Position,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<(Position, Locator)>> {
        let (held, below) = {
            let recent = self.read_recent();
            let below = recent.sled_below();
            let held = match (below, direction) {
                (None, _) => Vec::new(),
                (Some(b), Direction::Forwards) => {
                    recent.postings(kind, name, position.max(b), last, direction, limit)
                }
                (Some(b), Direction::Backwards) => {
                    recent.postings(kind, name, b, position.min(last), direction, limit)
                }
            };
            (held, below)
        };
        let Some(below) = below else {
            return self.sled_secondary_entries(kind, name, position, last, direction, limit);
        };
        let sled_last = Position(below.0.saturating_sub(1)).min(last);
        match direction {
            Direction::Forwards => {
                let mut out = if position <= sled_last {
                    self.sled_secondary_entries(kind, name, position, sled_last, direction, limit)?
                } else {
                    Vec::new()
                };
                out.extend(held);
                out.truncate(limit);
                Ok(out)
            }
            Direction::Backwards => {
                let mut out = held;
                if out.len() < limit && below.0 > 1 {
                    let rest = limit - out.len();
                    out.extend(self.sled_secondary_entries(
                        kind, name, position, sled_last, direction, rest,
                    )?);
                }
                Ok(out)
            }
        }
    }

    /// Whether any record past `position` is indexed: entries of a batch that was applied
    /// while its fdatasync ran and then lost to a power cut.
    pub fn has_records_after(&self, position: Position) -> Result<bool> {
        if self.ids.last().is_some_and(|last| last > position) {
            return Ok(true);
        }
        if self.sled_locate(position.next())?.is_some() {
            return Ok(true);
        }
        Ok(self
            .tree
            .range(position_key(position.next())..=position_key(Position(u64::MAX)))
            .next()
            .is_some())
    }

    pub fn flush(&self) -> Result<()> {
        self.db.flush()?;
        Ok(())
    }
}

/// sled releases its file lock from background threads shortly after the last handle is
/// dropped, so a reopen in the same process may briefly find it still held. Wait a bounded
/// time; another process holding it is still reported.
fn open_waiting_for_lock(config: impl Fn() -> sled::Config) -> sled::Result<sled::Db> {
    const LOCK_RETRIES_MAX: u32 = 300;
    let mut tries = 0;
    loop {
        match config().open() {
            Err(sled::Error::Io(e)) if is_lock_error(&e) && tries < LOCK_RETRIES_MAX => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            other => return other,
        }
    }
}

/// sled reports a held lock as a plain I/O error with this text.
fn is_lock_error(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::WouldBlock || e.to_string().contains("could not acquire lock")
}

/// One `s` entry: the revision of its first record and the records' positions and locators.
fn stream_list(
    stream: &str,
    item: sled::Result<(sled::IVec, sled::IVec)>,
) -> Result<(u64, Vec<(Position, Locator)>)> {
    let (k, v) = item?;
    let list = postings(&v)?;
    if k.len() < 8 || list.is_empty() {
        return Err(StoreError::Index(format!(
            "stream entry of '{stream}' is malformed"
        )));
    }
    Ok((be_u64(&k[k.len() - 8..]), list))
}

/// A posting list being gathered.
type Postings = Vec<(Position, Locator)>;

/// Index writes gathered for one atomic apply.
#[derive(Debug, Default)]
pub struct IndexBatch {
    /// Key-value pairs in the order they must reach sled.
    writes: Vec<(Vec<u8>, Vec<u8>)>,
    len: usize,
    /// The position run being built: first position, its locator, count.
    run: Option<(Position, Locator, u32)>,
    /// Posting lists by category and by event type. Keyed by name and looked up by `&str`, so
    /// that a record allocates nothing here unless its name is new to the batch.
    categories: std::collections::HashMap<Box<str>, Postings>,
    types: std::collections::HashMap<Box<str>, Postings>,
    /// Per stream: the first revision of its list, and the list.
    streams: std::collections::HashMap<Box<str>, (u64, Postings)>,
    /// Full stream lists by key, encoded when the batch is written.
    full_streams: Vec<(Vec<u8>, Postings)>,
    ids: Vec<IdEntry>,
    first: Option<Position>,
    last: Option<(Position, Locator)>,
}

impl IndexBatch {
    pub fn add(&mut self, e: &IndexEntry<'_>) {
        let entry = (e.position, e.locator);

        let (first, list) = match self.streams.get_mut(e.stream) {
            Some(held) => held,
            None => self
                .streams
                .entry(e.stream.into())
                .or_insert_with(|| (e.revision, Vec::new())),
        };
        let held = list.len() as u64;
        if held > 0 && (*first + held != e.revision || held as usize >= RUN_LEN_MAX) {
            // Full (or, which the callers never do, not the next revision): start a new list.
            let key = keyed(b's', e.stream, *first);
            self.full_streams.push((key, std::mem::take(list)));
            *first = e.revision;
        }
        list.push(entry);

        self.ids.push(IdEntry {
            id: e.event_id,
            position: e.position,
        });
        self.first.get_or_insert(e.position);

        self.run = match self.run {
            Some((first, at, n))
                if first.0 + u64::from(n) == e.position.0
                    && at.segment == e.locator.segment
                    && (n as usize) < RUN_LEN_MAX =>
            {
                Some((first, at, n + 1))
            }
            other => {
                self.flush_run(other);
                Some((e.position, e.locator, 1))
            }
        };
        for (lists, name) in [
            (&mut self.categories, e.category),
            (&mut self.types, e.event_type),
        ] {
            let list = match lists.get_mut(name) {
                Some(list) => list,
                None => lists.entry(name.into()).or_default(),
            };
            list.push(entry);
        }
        self.last = Some((e.position, e.locator));
        self.len += 1;
    }

    fn flush_run(&mut self, run: Option<(Position, Locator, u32)>) {
        if let Some((first, loc, n)) = run {
            let mut v = [0u8; 16];
            v[..12].copy_from_slice(&loc.encode());
            v[12..].copy_from_slice(&n.to_be_bytes());
            self.writes.push((position_key(first).to_vec(), v.to_vec()));
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// The sled writes in order (the checkpoint last), and the event ids with the positions
    /// they cover.
    #[allow(clippy::type_complexity)]
    fn into_writes(
        mut self,
    ) -> Result<(
        Vec<(Vec<u8>, Vec<u8>)>,
        Option<(Position, Position, Vec<IdEntry>)>,
    )> {
        let run = self.run.take();
        self.flush_run(run);
        for (key, list) in std::mem::take(&mut self.full_streams) {
            self.writes.push((key, encode_postings(&list)?));
        }
        for (stream, (first, list)) in std::mem::take(&mut self.streams) {
            self.writes
                .push((keyed(b's', &stream, first), encode_postings(&list)?));
        }
        for (kind, lists) in [
            (b'c', std::mem::take(&mut self.categories)),
            (b't', std::mem::take(&mut self.types)),
        ] {
            for (name, list) in lists {
                for chunk in list.chunks(RUN_LEN_MAX) {
                    // Keyed by the first position in the chunk (`chunks` yields none empty).
                    let first = chunk.first().map_or(0, |(p, _)| p.0);
                    self.writes
                        .push((keyed(kind, &name, first), encode_postings(chunk)?));
                }
            }
        }
        if let Some((position, loc)) = self.last {
            let mut cp = [0u8; 20];
            cp[..8].copy_from_slice(&position.0.to_be_bytes());
            cp[8..].copy_from_slice(&loc.encode());
            self.writes.push((KEY_CHECKPOINT.to_vec(), cp.to_vec()));
        }
        let ids = match (self.first, self.last) {
            (Some(first), Some((last, _))) => Some((first, last, self.ids)),
            _ => None,
        };
        Ok((self.writes, ids))
    }
}
