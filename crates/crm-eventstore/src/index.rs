//! The sled indexes over the log. Everything here can be rebuilt from the segments, so sled
//! is never the only copy of anything and its beta on-disk format is never a risk to data.
//!
//! One tree, keys prefixed by kind, so that one `sled::Batch` updates every index of a group
//! commit atomically together with the checkpoint that says how far indexing got:
//!
//! | key                                   | value                                          |
//! |---------------------------------------|------------------------------------------------|
//! | `p` first position                    | run: locator of its first record, record count |
//! | `s` stream `\0` revision              | position, locator                              |
//! | `e` event id                          | position, revision, content digest             |
//! | `c` category `\0` first position      | posting list: (position, locator)…             |
//! | `t` event type `\0` first position    | posting list: (position, locator)…             |
//! | `m` `checkpoint`                      | position, locator of the last indexed record   |
//!
//! sled costs a few microseconds per insert, which at one key per event per index would cap
//! durable appends near 35k/s on two cores. So only what must be found by a random key gets a
//! key per event (a stream's revisions, event ids); positions are stored as runs of consecutive
//! records in one segment, and categories and event types as posting lists, one key per group
//! commit each. A stream's head is the last key of its `s` range, not a key of its own.
//! Integers are big-endian so that sled's byte order is numeric order.

use std::path::Path;

use uuid::Uuid;

use crate::error::{Result, StoreError};
use crate::types::{Direction, Position};

const INDEX_FORMAT: &[u8] = b"crm-index-v2";
/// Records per position run and per posting list: bounds the frames a random read skips and
/// the size of one sled value.
const RUN_LEN_MAX: usize = 256;
const POSTING_LEN: usize = 20;
const KEY_CHECKPOINT: &[u8] = b"mcheckpoint";
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
    pub digest: [u8; 32],
}

#[derive(Debug, Clone)]
pub struct Index {
    db: sled::Db,
    tree: sled::Tree,
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
    /// happened.
    pub fn open(path: &Path) -> Result<(Index, bool)> {
        let config = || {
            sled::Config::new()
                .path(path)
                .cache_capacity(256 * 1024 * 1024)
                .mode(sled::Mode::HighThroughput)
        };
        let (db, discarded) = match open_waiting_for_lock(config) {
            Ok(db) => (db, false),
            Err(sled::Error::Corruption { .. }) => {
                tracing::warn!(path = %path.display(), "the sled index is corrupt; rebuilding it from the log");
                std::fs::remove_dir_all(path)
                    .map_err(StoreError::io(format!("removing {}", path.display())))?;
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
        let index = Index { db, tree };
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
        Ok((index, discarded))
    }

    /// Empties the index; recovery then re-indexes the whole log.
    pub fn clear(&self) -> Result<()> {
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

    /// The revision of the stream's last event: the last key of its `s` range.
    pub fn head(&self, stream: &str) -> Result<Option<u64>> {
        let from = keyed(b's', stream, 0);
        let to = keyed(b's', stream, u64::MAX);
        match self.tree.range(from..=to).next_back() {
            None => Ok(None),
            Some(item) => {
                let (k, _) = item?;
                Ok(Some(be_u64(&k[k.len() - 8..])))
            }
        }
    }

    pub fn event(&self, id: Uuid) -> Result<Option<StoredId>> {
        let mut k = [0u8; 17];
        k[0] = b'e';
        k[1..].copy_from_slice(id.as_bytes());
        match self.tree.get(k)? {
            None => Ok(None),
            Some(v) if v.len() == 48 => {
                let mut digest = [0u8; 32];
                digest.copy_from_slice(&v[16..48]);
                Ok(Some(StoredId {
                    position: Position(be_u64(&v[..8])),
                    revision: be_u64(&v[8..16]),
                    digest,
                }))
            }
            Some(v) => Err(StoreError::Index(format!(
                "event {id} entry has {} bytes",
                v.len()
            ))),
        }
    }

    /// The run of records that holds `position`: the run's first position and its locator.
    /// The record itself is `position - first` frames further on.
    pub fn locate(&self, position: Position) -> Result<Option<(Position, Locator)>> {
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

    /// Positions and locators of a stream's events from `revision`, in `direction`.
    pub fn stream_entries(
        &self,
        stream: &str,
        revision: u64,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<(u64, Position, Locator)>> {
        let decode =
            |item: sled::Result<(sled::IVec, sled::IVec)>| -> Result<(u64, Position, Locator)> {
                let (k, v) = item?;
                if v.len() != 20 || k.len() < 8 {
                    return Err(StoreError::Index(format!(
                        "stream entry of '{stream}' is malformed"
                    )));
                }
                Ok((
                    be_u64(&k[k.len() - 8..]),
                    Position(be_u64(&v[..8])),
                    Locator::decode(&v[8..])?,
                ))
            };
        let from = keyed(b's', stream, revision);
        match direction {
            Direction::Forwards => {
                let to = keyed(b's', stream, u64::MAX);
                self.tree.range(from..=to).take(limit).map(decode).collect()
            }
            Direction::Backwards => {
                let to = keyed(b's', stream, 0);
                self.tree
                    .range(to..=from)
                    .rev()
                    .take(limit)
                    .map(decode)
                    .collect()
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

    pub fn apply(&self, batch: IndexBatch) -> Result<()> {
        self.tree.apply_batch(batch.into_sled())?;
        Ok(())
    }

    /// Records that everything up to `position` (at `loc`) is durable and indexed.
    pub fn set_checkpoint(&self, position: Position, loc: Locator) -> Result<()> {
        let mut cp = [0u8; 20];
        cp[..8].copy_from_slice(&position.0.to_be_bytes());
        cp[8..].copy_from_slice(&loc.encode());
        self.tree.insert(KEY_CHECKPOINT, &cp[..])?;
        Ok(())
    }

    /// Whether any record past `position` is indexed: entries of a batch that was applied
    /// while its fdatasync ran and then lost to a power cut.
    pub fn has_records_after(&self, position: Position) -> Result<bool> {
        if self.locate(position.next())?.is_some() {
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

fn postings(v: &[u8]) -> Result<Vec<(Position, Locator)>> {
    if v.len() % POSTING_LEN != 0 {
        return Err(StoreError::Index(format!(
            "posting list of {} bytes",
            v.len()
        )));
    }
    v.chunks_exact(POSTING_LEN)
        .map(|c| Ok((Position(be_u64(&c[..8])), Locator::decode(&c[8..])?)))
        .collect()
}

/// Index writes gathered for one atomic apply.
#[derive(Debug, Default)]
pub struct IndexBatch {
    batch: sled::Batch,
    len: usize,
    /// The position run being built: first position, its locator, count.
    run: Option<(Position, Locator, u32)>,
    /// Posting lists by key prefix (kind, name, `\0`).
    postings: std::collections::BTreeMap<Vec<u8>, Vec<u8>>,
    last: Option<(Position, Locator)>,
}

impl IndexBatch {
    pub fn add(&mut self, e: &IndexEntry<'_>) {
        let loc = e.locator.encode();

        let mut v = [0u8; 20];
        v[..8].copy_from_slice(&e.position.0.to_be_bytes());
        v[8..].copy_from_slice(&loc);
        self.batch.insert(keyed(b's', e.stream, e.revision), &v[..]);

        let mut ek = [0u8; 17];
        ek[0] = b'e';
        ek[1..].copy_from_slice(e.event_id.as_bytes());
        let mut ev = [0u8; 48];
        ev[..8].copy_from_slice(&e.position.0.to_be_bytes());
        ev[8..16].copy_from_slice(&e.revision.to_be_bytes());
        ev[16..].copy_from_slice(&e.digest);
        self.batch.insert(&ek, &ev[..]);

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
        for (kind, name) in [(b'c', e.category), (b't', e.event_type)] {
            let mut prefix = Vec::with_capacity(name.len() + 2);
            prefix.push(kind);
            prefix.extend_from_slice(name.as_bytes());
            prefix.push(0);
            let list = self.postings.entry(prefix).or_default();
            list.extend_from_slice(&e.position.0.to_be_bytes());
            list.extend_from_slice(&loc);
        }
        self.last = Some((e.position, e.locator));
        self.len += 1;
    }

    fn flush_run(&mut self, run: Option<(Position, Locator, u32)>) {
        if let Some((first, loc, n)) = run {
            let mut v = [0u8; 16];
            v[..12].copy_from_slice(&loc.encode());
            v[12..].copy_from_slice(&n.to_be_bytes());
            self.batch.insert(&position_key(first), &v[..]);
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// The last record added: what the checkpoint becomes once the batch is durable.
    pub fn last(&self) -> Option<(Position, Locator)> {
        self.last
    }

    fn into_sled(mut self) -> sled::Batch {
        let run = self.run.take();
        self.flush_run(run);
        for (prefix, list) in std::mem::take(&mut self.postings) {
            for chunk in list.chunks(POSTING_LEN * RUN_LEN_MAX) {
                let mut key = prefix.clone();
                key.extend_from_slice(&chunk[..8]); // the first position in the chunk
                self.batch.insert(key, chunk);
            }
        }
        self.batch
    }
}
