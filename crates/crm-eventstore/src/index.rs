//! The sled indexes over the log. Everything here can be rebuilt from the segments, so sled
//! is never the only copy of anything and its beta on-disk format is never a risk to data.
//!
//! One tree, keys prefixed by kind, so that one `sled::Batch` updates every index of a group
//! commit atomically together with the checkpoint that says how far indexing got:
//!
//! | key                                   | value                                  |
//! |---------------------------------------|----------------------------------------|
//! | `p` position                          | locator                                |
//! | `s` stream `\0` revision              | position, locator                      |
//! | `h` stream                            | revision of the stream's last event    |
//! | `e` event id                          | position, revision, content digest     |
//! | `c` category `\0` position            | locator                                |
//! | `t` event type `\0` position          | locator                                |
//! | `m` `checkpoint`                      | position, locator of the last indexed  |
//!
//! Integers are big-endian so that sled's byte order is numeric order.

use std::path::Path;

use uuid::Uuid;

use crate::error::{Result, StoreError};
use crate::types::{Direction, Position};

const INDEX_FORMAT: &[u8] = b"crm-index-v1";
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
    pub fn open(path: &Path) -> Result<Index> {
        let db = sled::Config::new()
            .path(path)
            .cache_capacity(256 * 1024 * 1024)
            .mode(sled::Mode::HighThroughput)
            .open()?;
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
        Ok(index)
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

    pub fn head(&self, stream: &str) -> Result<Option<u64>> {
        let mut k = Vec::with_capacity(stream.len() + 1);
        k.push(b'h');
        k.extend_from_slice(stream.as_bytes());
        match self.tree.get(k)? {
            None => Ok(None),
            Some(v) if v.len() == 8 => Ok(Some(be_u64(&v))),
            Some(v) => Err(StoreError::Index(format!(
                "head of '{stream}' has {} bytes",
                v.len()
            ))),
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

    pub fn locate(&self, position: Position) -> Result<Option<Locator>> {
        match self.tree.get(position_key(position))? {
            None => Ok(None),
            Some(v) => Locator::decode(&v).map(Some),
        }
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
        let decode = |item: sled::Result<(sled::IVec, sled::IVec)>| -> Result<(Position, Locator)> {
            let (k, v) = item?;
            if k.len() < 8 {
                return Err(StoreError::Index(format!(
                    "index entry for '{name}' is malformed"
                )));
            }
            Ok((Position(be_u64(&k[k.len() - 8..])), Locator::decode(&v)?))
        };
        match direction {
            Direction::Forwards => {
                if position > last {
                    return Ok(Vec::new());
                }
                let range = keyed(kind, name, position.0)..=keyed(kind, name, last.0);
                self.tree.range(range).take(limit).map(decode).collect()
            }
            Direction::Backwards => {
                let top = position.min(last);
                let range = keyed(kind, name, 0)..=keyed(kind, name, top.0);
                self.tree
                    .range(range)
                    .rev()
                    .take(limit)
                    .map(decode)
                    .collect()
            }
        }
    }

    /// Counts the position entries (for verify).
    pub fn position_entry_count(&self) -> usize {
        self.tree.scan_prefix(b"p").count()
    }

    pub fn apply(&self, batch: IndexBatch) -> Result<()> {
        self.tree.apply_batch(batch.batch)?;
        Ok(())
    }

    pub fn flush(&self) -> Result<()> {
        self.db.flush()?;
        Ok(())
    }
}

/// Index writes gathered for one atomic apply.
#[derive(Debug, Default)]
pub struct IndexBatch {
    batch: sled::Batch,
    len: usize,
}

impl IndexBatch {
    pub fn add(&mut self, e: &IndexEntry<'_>) {
        let loc = e.locator.encode();
        self.batch.insert(&position_key(e.position), &loc);

        let mut v = [0u8; 20];
        v[..8].copy_from_slice(&e.position.0.to_be_bytes());
        v[8..].copy_from_slice(&loc);
        self.batch.insert(keyed(b's', e.stream, e.revision), &v);

        let mut h = Vec::with_capacity(e.stream.len() + 1);
        h.push(b'h');
        h.extend_from_slice(e.stream.as_bytes());
        self.batch.insert(h, &e.revision.to_be_bytes());

        let mut ek = [0u8; 17];
        ek[0] = b'e';
        ek[1..].copy_from_slice(e.event_id.as_bytes());
        let mut ev = [0u8; 48];
        ev[..8].copy_from_slice(&e.position.0.to_be_bytes());
        ev[8..16].copy_from_slice(&e.revision.to_be_bytes());
        ev[16..].copy_from_slice(&e.digest);
        self.batch.insert(&ek, &ev[..]);

        self.batch
            .insert(keyed(b'c', e.category, e.position.0), &loc);
        self.batch
            .insert(keyed(b't', e.event_type, e.position.0), &loc);

        let mut cp = [0u8; 20];
        cp[..8].copy_from_slice(&e.position.0.to_be_bytes());
        cp[8..].copy_from_slice(&loc);
        self.batch.insert(KEY_CHECKPOINT, &cp);
        self.len += 1;
    }

    pub fn len(&self) -> usize {
        self.len
    }
}
