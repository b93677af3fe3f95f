//! Index entries of the newest records, held in memory until the flusher moves them into sled.
//!
//! Writing a group commit's keys into sled before answering it cost about 57 µs of CPU per
//! group plus a hand-off to an indexing thread and back for every append; on two cores that,
//! not the log, capped durable appends. So the writer adds each durable batch to the newest
//! in-memory table here (a few hash inserts), answers, and when the table is full hands it to
//! the flusher thread, which writes it to sled with the checkpoint of its last record written
//! last, and only then drops it from memory.
//!
//! Reads merge the two: every position below the oldest table still here is in sled; every
//! position from there on is answered from the tables (sled may already hold some of them,
//! from a table being flushed; those are ignored, so nothing is seen twice). A crash loses
//! only these tables, and recovery re-indexes the log past sled's checkpoint, which never
//! names a record that was not flushed.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use uuid::Uuid;

use crate::index::{Locator, StoredId};
use crate::types::{Direction, Position};

/// One durable record's index entries.
#[derive(Debug, Clone)]
pub(crate) struct RecentRecord {
    pub position: Position,
    pub locator: Locator,
    pub stream: Arc<str>,
    pub revision: u64,
    pub event_id: Uuid,
    pub event_type: Arc<str>,
    pub digest: [u8; 32],
}

/// Records of consecutive positions, looked up by every key the index has.
#[derive(Debug, Default)]
pub(crate) struct Table {
    records: Vec<RecentRecord>,
    ids: HashMap<Uuid, u32>,
    /// Per stream, indexes into `records` in revision order.
    streams: HashMap<Arc<str>, Vec<u32>>,
    categories: HashMap<Box<str>, Vec<u32>>,
    types: HashMap<Arc<str>, Vec<u32>>,
}

impl Table {
    /// A table that takes `records` without growing: growing a full-sized table's maps would
    /// rehash them on the writer's thread, under the lock every lookup takes.
    pub fn with_capacity(records: usize) -> Table {
        Table {
            records: Vec::with_capacity(records),
            ids: HashMap::with_capacity(records),
            ..Table::default()
        }
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn records(&self) -> &[RecentRecord] {
        &self.records
    }

    fn first(&self) -> Option<Position> {
        self.records.first().map(|r| r.position)
    }

    /// Adds the next record. The writer is the only caller and adds every position in order.
    fn push(&mut self, record: RecentRecord) {
        debug_assert!(self
            .records
            .last()
            .is_none_or(|l| l.position.next() == record.position));
        let i = self.records.len() as u32;
        self.ids.insert(record.event_id, i);
        push_posting(&mut self.streams, &record.stream, i);
        let category = crate::types::category_of(&record.stream);
        match self.categories.get_mut(category) {
            Some(list) => list.push(i),
            None => {
                self.categories.insert(category.into(), vec![i]);
            }
        }
        push_posting(&mut self.types, &record.event_type, i);
        self.records.push(record);
    }

    fn record(&self, position: Position) -> Option<&RecentRecord> {
        let first = self.first()?;
        let i = position.0.checked_sub(first.0)?;
        self.records.get(usize::try_from(i).ok()?)
    }

    fn postings(&self, kind: u8, name: &str) -> &[u32] {
        let list = match kind {
            b'c' => self.categories.get(name),
            _ => self.types.get(name),
        };
        list.map_or(&[], |l| l.as_slice())
    }
}

fn push_posting(map: &mut HashMap<Arc<str>, Vec<u32>>, key: &Arc<str>, i: u32) {
    match map.get_mut(key.as_ref()) {
        Some(list) => list.push(i),
        None => {
            map.insert(key.clone(), vec![i]);
        }
    }
}

/// The tables not yet in sled: the ones handed to the flusher (oldest first) and the one the
/// writer adds to.
#[derive(Debug, Default)]
pub(crate) struct Recent {
    frozen: VecDeque<Arc<Table>>,
    active: Table,
    /// Tables dropped so far. While it stands still, nothing stored since it was read can be
    /// anywhere but here (see `Precheck`).
    dropped: u64,
}

/// A stream's entries found here, and the lowest revision of the stream held here (sled holds
/// only revisions below it).
pub(crate) struct StreamSlice {
    pub entries: Vec<(u64, Position, Locator)>,
    pub lowest_revision: Option<u64>,
}

impl Recent {
    fn tables(&self) -> impl DoubleEndedIterator<Item = &Table> {
        self.frozen
            .iter()
            .map(|t| t.as_ref())
            .chain(std::iter::once(&self.active))
    }

    /// Every position from this one on is answered here, none below it; `None` when nothing
    /// is held (everything is in sled).
    pub fn sled_below(&self) -> Option<Position> {
        self.tables().find_map(Table::first)
    }

    pub fn push(&mut self, record: RecentRecord) {
        self.active.push(record);
    }

    pub fn active_len(&self) -> usize {
        self.active.len()
    }

    /// Sizes an empty active table for `records` (see `Table::with_capacity`).
    pub fn reserve(&mut self, records: usize) {
        if self.active.len() == 0 {
            self.active = Table::with_capacity(records);
        }
    }

    /// Hands the active table over for flushing; `next` becomes the active one.
    pub fn freeze(&mut self, next: Table) -> Option<Arc<Table>> {
        if self.active.len() == 0 {
            return None;
        }
        let table = Arc::new(std::mem::replace(&mut self.active, next));
        self.frozen.push_back(table.clone());
        Some(table)
    }

    /// Drops a table the flusher has put into sled.
    pub fn flushed(&mut self, table: &Arc<Table>) {
        if self.frozen.front().is_some_and(|t| Arc::ptr_eq(t, table)) {
            self.frozen.pop_front();
            self.dropped += 1;
        }
    }

    pub fn clear(&mut self) {
        let dropped = self.dropped + 1;
        *self = Recent {
            dropped,
            ..Recent::default()
        };
    }

    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    pub fn locate(&self, position: Position) -> Option<Locator> {
        self.tables()
            .find_map(|t| t.record(position))
            .map(|r| r.locator)
    }

    pub fn event(&self, id: Uuid) -> Option<StoredId> {
        self.tables().rev().find_map(|t| {
            let r = &t.records[*t.ids.get(&id)? as usize];
            Some(StoredId {
                position: r.position,
                revision: r.revision,
                digest: r.digest,
            })
        })
    }

    pub fn head(&self, stream: &str) -> Option<u64> {
        self.tables().rev().find_map(|t| {
            let last = *t.streams.get(stream)?.last()?;
            Some(t.records[last as usize].revision)
        })
    }

    /// The stream's entries from `revision` in `direction`, at most `limit`.
    pub fn stream(
        &self,
        stream: &str,
        revision: u64,
        direction: Direction,
        limit: usize,
    ) -> StreamSlice {
        let entry = |t: &Table, i: u32| {
            let r = &t.records[i as usize];
            (r.revision, r.position, r.locator)
        };
        let revision_of = |t: &Table, i: u32| t.records[i as usize].revision;
        let mut entries = Vec::new();
        let mut lowest_revision = None;
        for t in self.tables() {
            if let Some(&i) = t.streams.get(stream).and_then(|l| l.first()) {
                lowest_revision = Some(revision_of(t, i));
                break;
            }
        }
        match direction {
            Direction::Forwards => {
                for t in self.tables() {
                    let Some(list) = t.streams.get(stream) else {
                        continue;
                    };
                    let from = list.partition_point(|&i| revision_of(t, i) < revision);
                    for &i in &list[from..] {
                        if entries.len() == limit {
                            return StreamSlice {
                                entries,
                                lowest_revision,
                            };
                        }
                        entries.push(entry(t, i));
                    }
                }
            }
            Direction::Backwards => {
                for t in self.tables().rev() {
                    let Some(list) = t.streams.get(stream) else {
                        continue;
                    };
                    let to = list.partition_point(|&i| revision_of(t, i) <= revision);
                    for &i in list[..to].iter().rev() {
                        if entries.len() == limit {
                            return StreamSlice {
                                entries,
                                lowest_revision,
                            };
                        }
                        entries.push(entry(t, i));
                    }
                }
            }
        }
        StreamSlice {
            entries,
            lowest_revision,
        }
    }

    /// Category (`kind` b'c') or event-type (b't') entries between `low` and `high`
    /// (inclusive) in `direction`, at most `limit`.
    pub fn postings(
        &self,
        kind: u8,
        name: &str,
        low: Position,
        high: Position,
        direction: Direction,
        limit: usize,
    ) -> Vec<(Position, Locator)> {
        let mut out = Vec::new();
        let at = |t: &Table, i: u32| {
            let r = &t.records[i as usize];
            (r.position, r.locator)
        };
        match direction {
            Direction::Forwards => {
                for t in self.tables() {
                    let list = t.postings(kind, name);
                    let from = list.partition_point(|&i| at(t, i).0 < low);
                    for &i in &list[from..] {
                        let e = at(t, i);
                        if e.0 > high || out.len() == limit {
                            return out;
                        }
                        out.push(e);
                    }
                }
            }
            Direction::Backwards => {
                for t in self.tables().rev() {
                    let list = t.postings(kind, name);
                    let to = list.partition_point(|&i| at(t, i).0 <= high);
                    for &i in list[..to].iter().rev() {
                        let e = at(t, i);
                        if e.0 < low || out.len() == limit {
                            return out;
                        }
                        out.push(e);
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(position: u64, stream: &str, revision: u64, event_type: &str) -> RecentRecord {
        RecentRecord {
            position: Position(position),
            locator: Locator {
                segment: 0,
                offset: position * 100,
            },
            stream: stream.into(),
            revision,
            event_id: Uuid::from_u128(u128::from(position)),
            event_type: event_type.into(),
            digest: [position as u8; 32],
        }
    }

    /// Positions 10..=15 over two tables: a frozen one (10..=12) and the active one.
    fn recent() -> Recent {
        let mut r = Recent::default();
        r.push(record(10, "customer-1", 4, "A"));
        r.push(record(11, "account-1", 0, "B"));
        r.push(record(12, "customer-1", 5, "B"));
        r.freeze(Table::default());
        r.push(record(13, "customer-2", 0, "A"));
        r.push(record(14, "customer-1", 6, "A"));
        r.push(record(15, "account-1", 1, "B"));
        r
    }

    #[test]
    fn lookups_span_frozen_and_active_tables() {
        let r = recent();
        assert_eq!(r.sled_below(), Some(Position(10)));
        assert_eq!(r.head("customer-1"), Some(6));
        assert_eq!(r.head("customer-9"), None);
        assert_eq!(r.locate(Position(12)).map(|l| l.offset), Some(1200));
        assert_eq!(r.locate(Position(16)), None);
        assert_eq!(r.locate(Position(9)), None);
        let id = r.event(Uuid::from_u128(14)).expect("held");
        assert_eq!((id.position, id.revision), (Position(14), 6));
        assert!(r.event(Uuid::from_u128(3)).is_none());
    }

    #[test]
    fn stream_slices_respect_revision_direction_and_limit() {
        let r = recent();
        let revs = |s: StreamSlice| s.entries.iter().map(|e| e.0).collect::<Vec<_>>();
        assert_eq!(
            revs(r.stream("customer-1", 5, Direction::Forwards, 10)),
            [5, 6]
        );
        assert_eq!(
            revs(r.stream("customer-1", 0, Direction::Forwards, 2)),
            [4, 5]
        );
        assert_eq!(
            revs(r.stream("customer-1", 5, Direction::Backwards, 10)),
            [5, 4]
        );
        assert_eq!(
            revs(r.stream("customer-1", u64::MAX, Direction::Backwards, 1)),
            [6]
        );
        assert_eq!(
            r.stream("customer-1", 0, Direction::Forwards, 0)
                .lowest_revision,
            Some(4)
        );
        assert_eq!(
            r.stream("customer-3", 0, Direction::Forwards, 9)
                .lowest_revision,
            None
        );
    }

    #[test]
    fn postings_by_category_and_type() {
        let r = recent();
        let positions = |v: Vec<(Position, Locator)>| v.iter().map(|e| e.0 .0).collect::<Vec<_>>();
        let all = (Position(0), Position(u64::MAX));
        assert_eq!(
            positions(r.postings(b'c', "customer", all.0, all.1, Direction::Forwards, 9)),
            [10, 12, 13, 14]
        );
        assert_eq!(
            positions(r.postings(
                b'c',
                "customer",
                Position(11),
                Position(13),
                Direction::Forwards,
                9
            )),
            [12, 13]
        );
        assert_eq!(
            positions(r.postings(b't', "B", all.0, Position(14), Direction::Backwards, 2)),
            [12, 11]
        );
        assert_eq!(
            positions(r.postings(b't', "A", Position(11), all.1, Direction::Backwards, 9)),
            [14, 13]
        );
    }

    #[test]
    fn a_flushed_table_leaves_and_moves_the_sled_boundary() {
        let mut r = recent();
        let frozen = r.frozen.front().cloned().expect("one frozen");
        r.flushed(&frozen);
        assert_eq!(r.sled_below(), Some(Position(13)));
        assert_eq!(r.locate(Position(12)), None);
        let active = r.freeze(Table::default()).expect("active has records");
        r.flushed(&active);
        assert_eq!(r.sled_below(), None);
        assert!(r.freeze(Table::default()).is_none());
    }
}
