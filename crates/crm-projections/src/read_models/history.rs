//! A customer's history that grows with time — the interaction timeline (接触记录) and the
//! assignment history (归属变更) — kept as one key per fact in the generation's sled tree, not
//! in the customer's resident record.
//!
//! The fold only appends: a new fact is a new *pending* entry here, keyed by customer, kind,
//! log position and a sequence number within the position. A flush writes the pending entries
//! in the same sled batch as the checkpoint (so the tree holds exactly the history up to its
//! checkpoint) and then forgets them. Nothing already written is ever re-encoded, so neither
//! a flush nor the resident model grows with a customer's history; a query reads the tree and
//! the pending entries together, newest first or oldest first, and stops at its limit.
//!
//! Key layout (big-endian, so a customer's entries of one kind are one contiguous range in log
//! order): `[TAG_HISTORY][customer: 16][kind: 1][position: 8][seq: 2]`.

use std::collections::BTreeMap;

use crm_domain::ids::CustomerId;
use serde::{Deserialize, Serialize};

use crate::error::ProjectionError;
use crate::read_models::archive::{AssignmentEntry, TimelineEntry};

/// The tag of history keys in a generation's tree.
pub const TAG_HISTORY: u8 = 0x20;
const KEY_LEN: usize = 1 + 16 + 1 + 8 + 2;
type Key = [u8; KEY_LEN];

/// What kind of history an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum HistoryKind {
    Timeline = 1,
    Assignment = 2,
}

/// One entry of a customer's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum HistoryEntry {
    Timeline(TimelineEntry),
    Assignment(AssignmentEntry),
}

impl HistoryEntry {
    fn kind(&self) -> HistoryKind {
        match self {
            HistoryEntry::Timeline(_) => HistoryKind::Timeline,
            HistoryEntry::Assignment(_) => HistoryKind::Assignment,
        }
    }

    fn encode(&self) -> Result<Vec<u8>, ProjectionError> {
        Ok(match self {
            HistoryEntry::Timeline(t) => crm_eventstore::codec::encode(t)?,
            HistoryEntry::Assignment(a) => crm_eventstore::codec::encode(a)?,
        })
    }

    fn decode(kind: u8, bytes: &[u8]) -> Result<HistoryEntry, ProjectionError> {
        match kind {
            k if k == HistoryKind::Timeline as u8 => Ok(HistoryEntry::Timeline(
                crm_eventstore::codec::decode(bytes)?,
            )),
            k if k == HistoryKind::Assignment as u8 => Ok(HistoryEntry::Assignment(
                crm_eventstore::codec::decode(bytes)?,
            )),
            other => Err(ProjectionError::Generation(format!(
                "stored history entry of unknown kind {other}"
            ))),
        }
    }
}

/// Whose history a model keeps: a live generation keeps everyone's; a replay for one
/// customer's archive keeps only theirs, and a replay for a dashboard none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Keep {
    #[default]
    All,
    Only(CustomerId),
    Nothing,
}

/// The history not yet written to the tree.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    pending: BTreeMap<Key, HistoryEntry>,
    keep: Keep,
}

fn prefix(customer: CustomerId, kind: HistoryKind) -> [u8; 18] {
    let mut p = [0u8; 18];
    p[0] = TAG_HISTORY;
    p[1..17].copy_from_slice(customer.as_uuid().as_bytes());
    p[17] = kind as u8;
    p
}

fn key(customer: CustomerId, kind: HistoryKind, position: u64, seq: u16) -> Key {
    let mut k = [0u8; KEY_LEN];
    k[..18].copy_from_slice(&prefix(customer, kind));
    k[18..26].copy_from_slice(&position.to_be_bytes());
    k[26..].copy_from_slice(&seq.to_be_bytes());
    k
}

fn position_of(k: &[u8]) -> u64 {
    k.get(18..26)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map_or(0, u64::from_be_bytes)
}

/// In which order a query wants a customer's entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    OldestFirst,
    NewestFirst,
}

impl History {
    pub fn keeping(keep: Keep) -> History {
        History {
            pending: BTreeMap::new(),
            keep,
        }
    }

    fn keeps(&self, customer: CustomerId) -> bool {
        match self.keep {
            Keep::All => true,
            Keep::Only(c) => c == customer,
            Keep::Nothing => false,
        }
    }

    /// Appends one entry recorded at `position`.
    pub(crate) fn push(&mut self, customer: CustomerId, position: u64, entry: HistoryEntry) {
        if !self.keeps(customer) {
            return;
        }
        let kind = entry.kind();
        let seq = self
            .pending
            .range(key(customer, kind, position, 0)..=key(customer, kind, position, u16::MAX))
            .next_back()
            .map_or(0, |(k, _)| {
                u16::from_be_bytes([k[26], k[27]]).saturating_add(1)
            });
        self.pending
            .insert(key(customer, kind, position, seq), entry);
    }

    /// Entries not yet written.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Adds every pending entry to `batch`; returns how many bytes that writes. The entries
    /// stay pending (and readable) until [`History::forget_through`] after the batch is written.
    pub(crate) fn write_into(&self, batch: &mut sled::Batch) -> Result<u64, ProjectionError> {
        let mut bytes = 0u64;
        for (k, e) in &self.pending {
            let v = e.encode()?;
            bytes += (k.len() + v.len()) as u64;
            batch.insert(k.as_slice(), v);
        }
        Ok(bytes)
    }

    /// Forgets the pending entries at or below `position` once they are in the tree.
    pub(crate) fn forget_through(&mut self, position: u64) {
        self.pending.retain(|k, _| position_of(k) > position);
    }

    /// A customer's entries of one kind, from the tree (when the model has one) and the pending
    /// entries, in `order`, at most `limit`.
    pub fn entries(
        &self,
        tree: Option<&sled::Tree>,
        customer: CustomerId,
        kind: HistoryKind,
        order: Order,
        limit: usize,
    ) -> Result<Vec<HistoryEntry>, ProjectionError> {
        let p = prefix(customer, kind);
        let lo = key(customer, kind, 0, 0);
        let hi = key(customer, kind, u64::MAX, u16::MAX);
        // The newest (or oldest) `limit` of each source, merged by key; an entry in both (written
        // by a flush not yet forgotten) is the same entry.
        let mut found: BTreeMap<Vec<u8>, HistoryEntry> = BTreeMap::new();
        let pending = self.pending.range(lo..=hi);
        let take_pending: Vec<_> = match order {
            Order::OldestFirst => pending.take(limit).collect(),
            Order::NewestFirst => pending.rev().take(limit).collect(),
        };
        for (k, e) in take_pending {
            found.insert(k.to_vec(), e.clone());
        }
        if let Some(tree) = tree {
            let scan = tree.scan_prefix(p);
            let mut take = |item: sled::Result<(sled::IVec, sled::IVec)>| {
                let (k, v) = item?;
                if !found.contains_key(k.as_ref()) {
                    found.insert(k.to_vec(), HistoryEntry::decode(kind as u8, &v)?);
                }
                Ok::<_, ProjectionError>(())
            };
            match order {
                Order::OldestFirst => {
                    for item in scan.take(limit) {
                        take(item)?;
                    }
                }
                Order::NewestFirst => {
                    for item in scan.rev().take(limit) {
                        take(item)?;
                    }
                }
            }
        }
        let all = found.into_values();
        Ok(match order {
            Order::OldestFirst => all.take(limit).collect(),
            Order::NewestFirst => all.rev().take(limit).collect(),
        })
    }

    /// A customer's interaction timeline, newest first, at most `limit` entries.
    pub fn timeline(
        &self,
        tree: Option<&sled::Tree>,
        customer: CustomerId,
        limit: usize,
    ) -> Result<Vec<TimelineEntry>, ProjectionError> {
        Ok(self
            .entries(
                tree,
                customer,
                HistoryKind::Timeline,
                Order::NewestFirst,
                limit,
            )?
            .into_iter()
            .filter_map(|e| match e {
                HistoryEntry::Timeline(t) => Some(t),
                HistoryEntry::Assignment(_) => None,
            })
            .collect())
    }

    /// A customer's assignments, oldest first.
    pub fn assignments(
        &self,
        tree: Option<&sled::Tree>,
        customer: CustomerId,
    ) -> Result<Vec<AssignmentEntry>, ProjectionError> {
        Ok(self
            .entries(
                tree,
                customer,
                HistoryKind::Assignment,
                Order::OldestFirst,
                usize::MAX,
            )?
            .into_iter()
            .filter_map(|e| match e {
                HistoryEntry::Assignment(a) => Some(a),
                HistoryEntry::Timeline(_) => None,
            })
            .collect())
    }

    /// Every entry, from the tree and the pending ones, in key order (for comparing a live
    /// generation with a rebuilt one).
    pub fn all_entries(
        &self,
        tree: Option<&sled::Tree>,
    ) -> Result<Vec<(Vec<u8>, HistoryEntry)>, ProjectionError> {
        let mut found: BTreeMap<Vec<u8>, HistoryEntry> = self
            .pending
            .iter()
            .map(|(k, e)| (k.to_vec(), e.clone()))
            .collect();
        if let Some(tree) = tree {
            for item in tree.scan_prefix([TAG_HISTORY]) {
                let (k, v) = item?;
                if !found.contains_key(k.as_ref()) {
                    let kind = k.get(17).copied().unwrap_or(0);
                    found.insert(k.to_vec(), HistoryEntry::decode(kind, &v)?);
                }
            }
        }
        Ok(found.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crm_domain::ids::{InteractionId, StaffId};
    use crm_domain::values::Channel;
    use time::OffsetDateTime;
    use uuid::Uuid;

    fn entry(p: u64) -> HistoryEntry {
        HistoryEntry::Timeline(TimelineEntry {
            interaction_id: Some(InteractionId::from_uuid(Uuid::from_u128(u128::from(p)))),
            kind: "contact".into(),
            channel: Channel::Phone,
            staff: StaffId::from_uuid(Uuid::from_u128(7)),
            topic: format!("topic {p}"),
            outcome: None,
            at: OffsetDateTime::UNIX_EPOCH,
            position: p,
        })
    }

    fn topics(t: &[TimelineEntry]) -> Vec<u64> {
        t.iter().map(|e| e.position).collect()
    }

    #[test]
    fn reads_merge_the_tree_and_the_pending_entries_in_order_and_stop_at_the_limit() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let tree = db.open_tree("t").unwrap();
        let c = CustomerId::from_uuid(Uuid::from_u128(1));
        let other = CustomerId::from_uuid(Uuid::from_u128(2));
        let mut h = History::default();
        for p in 1..=5 {
            h.push(c, p, entry(p));
            h.push(other, p, entry(p));
        }
        let mut batch = sled::Batch::default();
        h.write_into(&mut batch).unwrap();
        tree.apply_batch(batch).unwrap();
        // Written but not yet forgotten: no entry is seen twice.
        assert_eq!(
            topics(&h.timeline(Some(&tree), c, 10).unwrap()),
            [5, 4, 3, 2, 1]
        );
        h.forget_through(5);
        assert_eq!(h.pending_len(), 0);
        for p in 6..=8 {
            h.push(c, p, entry(p));
        }
        assert_eq!(
            topics(&h.timeline(Some(&tree), c, 4).unwrap()),
            [8, 7, 6, 5]
        );
        assert_eq!(
            topics(&h.timeline(Some(&tree), c, 100).unwrap()),
            [8, 7, 6, 5, 4, 3, 2, 1]
        );
        assert_eq!(h.timeline(Some(&tree), c, 0).unwrap(), vec![]);
        assert_eq!(h.all_entries(Some(&tree)).unwrap().len(), 13);
    }

    #[test]
    fn two_entries_of_one_event_keep_their_order_and_a_replay_keeps_only_its_customer() {
        let c = CustomerId::from_uuid(Uuid::from_u128(1));
        let other = CustomerId::from_uuid(Uuid::from_u128(2));
        let mut h = History::keeping(Keep::Only(c));
        h.push(c, 3, entry(1));
        h.push(c, 3, entry(2));
        h.push(other, 3, entry(3));
        let t = h.timeline(None, c, 10).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].topic, "topic 2");
        assert_eq!(h.timeline(None, other, 10).unwrap(), vec![]);
        let mut none = History::keeping(Keep::Nothing);
        none.push(c, 1, entry(1));
        assert_eq!(none.pending_len(), 0);
    }
}
