//! A customer's history that grows with time — the interaction timeline (接触记录), the
//! assignment history (归属变更) and the daily flows (turnover, commission, deposits and
//! withdrawals of each trade summary) — kept as one key per fact in the generation's sled tree,
//! not in the customer's resident record.
//!
//! The fold only appends: a new fact is a new *pending* entry here, keyed by customer, kind,
//! log position and a sequence number within the position. A flush writes the pending entries
//! in the same sled batch as the checkpoint (so the tree holds exactly the history up to its
//! checkpoint) and then forgets them. Nothing already written is ever re-encoded, so neither
//! a flush nor the resident model grows with a customer's history; a query reads the tree and
//! the pending entries together, newest first or oldest first, and stops at its limit.
//!
//! Key layout (big-endian, so a customer's entries of one kind are one contiguous range):
//! `[TAG_HISTORY][customer: 16][kind: 1][date: 4][position: 8][seq: 2]`. Timeline and
//! assignment entries are one key each, date zero, in log order. Daily flows are many (one per
//! trade summary) and a sled insert copies the leaf it changes, so they are written as one key
//! per customer per flush: the chunk of that customer's flows the flush writes, keyed by the
//! latest trade date in it and the position of its last flow. A window of days from `from` is
//! then the range scan from `from`'s date: every chunk holding a day at or after `from` has its
//! key there (its latest day is at or after it), and days before `from` in those chunks are
//! passed over.

use std::collections::BTreeMap;

use crm_domain::ids::{CustomerId, OpportunityId, TicketId};
use serde::{Deserialize, Serialize};

use crate::error::ProjectionError;
use crate::model::madd;
use crm_domain::Money;
use time::Date;

use crate::read_models::archive::{AssignmentEntry, TimelineEntry};

/// The tag of history keys in a generation's tree.
pub const TAG_HISTORY: u8 = 0x20;
const KEY_LEN: usize = 1 + 16 + 1 + 4 + 8 + 2;
const POSITION_AT: usize = 22;
const SEQ_AT: usize = 30;
type Key = [u8; KEY_LEN];

/// What kind of history an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum HistoryKind {
    Timeline = 1,
    Assignment = 2,
    DayFlow = 3,
    Ticket = 4,
    Opportunity = 5,
}

/// What one trade summary (or a correction, negated for the figures it replaces) added to a
/// customer's flows of its trade date. Kept on disk, one key per summary, so the windows of
/// the archive (30, 90 and 365 days) are exact days and no resident record grows with them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayFlow {
    pub date: Date,
    pub turnover: Money,
    pub commission: Money,
    pub deposits: Money,
    pub withdrawals: Money,
    /// The summary's log position, and which part of it (0: the figures a correction takes
    /// back, 1: the summary's own): a flow's identity.
    pub position: u64,
    pub part: u8,
}

impl DayFlow {
    pub fn is_zero(&self) -> bool {
        self.turnover == Money::ZERO
            && self.commission == Money::ZERO
            && self.deposits == Money::ZERO
            && self.withdrawals == Money::ZERO
    }
}

/// A customer's flows summed over a range of days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FlowSums {
    pub turnover: Money,
    pub commission: Money,
    pub deposits: Money,
    pub withdrawals: Money,
}

impl FlowSums {
    pub fn add(&mut self, d: &DayFlow) {
        self.turnover = madd(self.turnover, d.turnover);
        self.commission = madd(self.commission, d.commission);
        self.deposits = madd(self.deposits, d.deposits);
        self.withdrawals = madd(self.withdrawals, d.withdrawals);
    }
}

/// One entry of a customer's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum HistoryEntry {
    Timeline(TimelineEntry),
    Assignment(AssignmentEntry),
    DayFlow(DayFlow),
    /// A ticket opened for the customer (the ticket itself is in the service read model).
    Ticket(TicketId),
    /// A lead created for the customer (the opportunity is in the sales read model).
    Opportunity(OpportunityId),
}

impl HistoryEntry {
    fn kind(&self) -> HistoryKind {
        match self {
            HistoryEntry::Timeline(_) => HistoryKind::Timeline,
            HistoryEntry::Assignment(_) => HistoryKind::Assignment,
            HistoryEntry::DayFlow(_) => HistoryKind::DayFlow,
            HistoryEntry::Ticket(_) => HistoryKind::Ticket,
            HistoryEntry::Opportunity(_) => HistoryKind::Opportunity,
        }
    }

    /// The date part of the entry's key: a daily flow's trade date, else none.
    fn date(&self) -> Option<Date> {
        match self {
            HistoryEntry::DayFlow(d) => Some(d.date),
            HistoryEntry::Timeline(_)
            | HistoryEntry::Assignment(_)
            | HistoryEntry::Ticket(_)
            | HistoryEntry::Opportunity(_) => None,
        }
    }

    fn encode(&self) -> Result<Vec<u8>, ProjectionError> {
        Ok(match self {
            HistoryEntry::Timeline(t) => crm_eventstore::codec::encode(t)?,
            HistoryEntry::Assignment(a) => crm_eventstore::codec::encode(a)?,
            HistoryEntry::DayFlow(d) => crm_eventstore::codec::encode(&[*d])?,
            HistoryEntry::Ticket(t) => crm_eventstore::codec::encode(t)?,
            HistoryEntry::Opportunity(o) => crm_eventstore::codec::encode(o)?,
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
            k if k == HistoryKind::Ticket as u8 => {
                Ok(HistoryEntry::Ticket(crm_eventstore::codec::decode(bytes)?))
            }
            k if k == HistoryKind::Opportunity as u8 => Ok(HistoryEntry::Opportunity(
                crm_eventstore::codec::decode(bytes)?,
            )),
            // Daily flows are stored as chunks, read by `day_flows` and `all_entries`.
            k if k == HistoryKind::DayFlow as u8 => Err(ProjectionError::Generation(
                "a chunk of daily flows read as one history entry".into(),
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

/// A customer's history: the generation's tree (a replay has none) and the entries not yet
/// written to it.
#[derive(Debug, Clone, Default)]
pub struct History {
    pending: BTreeMap<Key, HistoryEntry>,
    /// Daily flows not yet written, by customer (one chunk each at the next flush).
    pending_days: BTreeMap<CustomerId, Vec<DayFlow>>,
    pending_days_len: usize,
    keep: Keep,
    tree: Option<sled::Tree>,
}

/// Compared by what is pending and whose history is kept; the tree is where, not what.
impl PartialEq for History {
    fn eq(&self, other: &Self) -> bool {
        self.pending == other.pending
            && self.pending_days == other.pending_days
            && self.keep == other.keep
    }
}

/// A date as four bytes that sort as the dates do.
fn date_bytes(d: Date) -> [u8; 4] {
    ((d.to_julian_day() as u32) ^ 0x8000_0000).to_be_bytes()
}

fn prefix(customer: CustomerId, kind: HistoryKind) -> [u8; 18] {
    let mut p = [0u8; 18];
    p[0] = TAG_HISTORY;
    p[1..17].copy_from_slice(customer.as_uuid().as_bytes());
    p[17] = kind as u8;
    p
}

fn key(
    customer: CustomerId,
    kind: HistoryKind,
    date: Option<Date>,
    position: u64,
    seq: u16,
) -> Key {
    let mut k = [0u8; KEY_LEN];
    k[..18].copy_from_slice(&prefix(customer, kind));
    if let Some(d) = date {
        k[18..POSITION_AT].copy_from_slice(&date_bytes(d));
    }
    k[POSITION_AT..SEQ_AT].copy_from_slice(&position.to_be_bytes());
    k[SEQ_AT..].copy_from_slice(&seq.to_be_bytes());
    k
}

fn position_of(k: &[u8]) -> u64 {
    k.get(POSITION_AT..SEQ_AT)
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
            keep,
            ..History::default()
        }
    }

    /// Everyone's history, written to (and read from) `tree`.
    pub(crate) fn in_tree(tree: sled::Tree) -> History {
        History {
            tree: Some(tree),
            ..History::default()
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
        if let HistoryEntry::DayFlow(d) = entry {
            self.pending_days.entry(customer).or_default().push(d);
            self.pending_days_len += 1;
            return;
        }
        let kind = entry.kind();
        let date = entry.date();
        let seq = self
            .pending
            .range(
                key(customer, kind, date, position, 0)
                    ..=key(customer, kind, date, position, u16::MAX),
            )
            .next_back()
            .map_or(0, |(k, _)| {
                u16::from_be_bytes([k[SEQ_AT], k[SEQ_AT + 1]]).saturating_add(1)
            });
        self.pending
            .insert(key(customer, kind, date, position, seq), entry);
    }

    /// Entries not yet written.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Daily flows not yet written.
    pub fn pending_flows(&self) -> usize {
        self.pending_days_len
    }

    /// Adds every pending entry to `batch`; returns how many bytes that writes. The entries
    /// stay pending (and readable) until [`History::forget_through`] after the batch is written.
    pub(crate) fn write_into(
        &self,
        batch: &mut crate::writes::Writes,
    ) -> Result<u64, ProjectionError> {
        let mut bytes = 0u64;
        for (k, e) in &self.pending {
            let v = e.encode()?;
            bytes += (k.len() + v.len()) as u64;
            batch.insert(k.as_slice(), v);
        }
        for (customer, flows) in &self.pending_days {
            let (Some(latest), Some(last)) = (
                flows.iter().map(|d| d.date).max(),
                flows.iter().map(|d| d.position).max(),
            ) else {
                continue;
            };
            let k = key(*customer, HistoryKind::DayFlow, Some(latest), last, 0);
            let v = crm_eventstore::codec::encode(flows)?;
            bytes += (k.len() + v.len()) as u64;
            batch.insert(k.as_slice(), v);
        }
        Ok(bytes)
    }

    /// Forgets the pending entries at or below `position` once they are in the tree.
    pub(crate) fn forget_through(&mut self, position: u64) {
        self.pending.retain(|k, _| position_of(k) > position);
        let mut left = 0;
        self.pending_days.retain(|_, flows| {
            flows.retain(|d| d.position > position);
            left += flows.len();
            !flows.is_empty()
        });
        self.pending_days_len = left;
    }

    /// A customer's entries of one kind, from the tree (when the model has one) and the pending
    /// entries, in `order`, at most `limit`.
    pub fn entries(
        &self,
        customer: CustomerId,
        kind: HistoryKind,
        order: Order,
        limit: usize,
    ) -> Result<Vec<HistoryEntry>, ProjectionError> {
        if kind == HistoryKind::DayFlow {
            let mut all = self.day_flows(customer, Date::MIN, Date::MAX)?;
            if order == Order::NewestFirst {
                all.reverse();
            }
            return Ok(all
                .into_iter()
                .take(limit)
                .map(HistoryEntry::DayFlow)
                .collect());
        }
        let lo = key(customer, kind, None, 0, 0);
        let hi = key(customer, kind, None, u64::MAX, u16::MAX);
        self.range(lo, hi, order, limit)
    }

    /// The entries with keys in `lo..=hi`, from the tree and the pending entries.
    fn range(
        &self,
        lo: Key,
        hi: Key,
        order: Order,
        limit: usize,
    ) -> Result<Vec<HistoryEntry>, ProjectionError> {
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
        if let Some(tree) = &self.tree {
            let scan = tree.range(lo.as_slice()..=hi.as_slice());
            let mut take = |item: sled::Result<(sled::IVec, sled::IVec)>| {
                let (k, v) = item?;
                if !found.contains_key(k.as_ref()) {
                    let kind = k.get(17).copied().unwrap_or(0);
                    found.insert(k.to_vec(), HistoryEntry::decode(kind, &v)?);
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
        customer: CustomerId,
        limit: usize,
    ) -> Result<Vec<TimelineEntry>, ProjectionError> {
        Ok(self
            .entries(customer, HistoryKind::Timeline, Order::NewestFirst, limit)?
            .into_iter()
            .filter_map(|e| match e {
                HistoryEntry::Timeline(t) => Some(t),
                _ => None,
            })
            .collect())
    }

    /// A customer's assignments, oldest first.
    pub fn assignments(
        &self,
        customer: CustomerId,
    ) -> Result<Vec<AssignmentEntry>, ProjectionError> {
        Ok(self
            .entries(
                customer,
                HistoryKind::Assignment,
                Order::OldestFirst,
                usize::MAX,
            )?
            .into_iter()
            .filter_map(|e| match e {
                HistoryEntry::Assignment(a) => Some(a),
                _ => None,
            })
            .collect())
    }

    /// The tickets opened for a customer, oldest first.
    pub fn tickets(&self, customer: CustomerId) -> Result<Vec<TicketId>, ProjectionError> {
        self.tickets_in(customer, Order::OldestFirst, usize::MAX)
    }

    /// The tickets opened for a customer in `order`, at most `limit`: one range scan.
    pub fn tickets_in(
        &self,
        customer: CustomerId,
        order: Order,
        limit: usize,
    ) -> Result<Vec<TicketId>, ProjectionError> {
        Ok(self
            .entries(customer, HistoryKind::Ticket, order, limit)?
            .into_iter()
            .filter_map(|e| match e {
                HistoryEntry::Ticket(t) => Some(t),
                _ => None,
            })
            .collect())
    }

    /// The leads created for a customer, oldest first.
    pub fn opportunities(
        &self,
        customer: CustomerId,
    ) -> Result<Vec<OpportunityId>, ProjectionError> {
        self.opportunities_in(customer, Order::OldestFirst, usize::MAX)
    }

    /// The leads created for a customer in `order`, at most `limit`: one range scan.
    pub fn opportunities_in(
        &self,
        customer: CustomerId,
        order: Order,
        limit: usize,
    ) -> Result<Vec<OpportunityId>, ProjectionError> {
        Ok(self
            .entries(customer, HistoryKind::Opportunity, order, limit)?
            .into_iter()
            .filter_map(|e| match e {
                HistoryEntry::Opportunity(o) => Some(o),
                _ => None,
            })
            .collect())
    }

    /// A customer's daily flows on the days `from..=to`, by date and then in log order (a day
    /// may have several: one per account summary and correction): one range scan from
    /// `from`'s date, never a resident list.
    pub fn day_flows(
        &self,
        customer: CustomerId,
        from: Date,
        to: Date,
    ) -> Result<Vec<DayFlow>, ProjectionError> {
        if from > to {
            return Ok(Vec::new());
        }
        let within = |d: &DayFlow| d.date >= from && d.date <= to;
        let mut found: BTreeMap<(Date, u64, u8), DayFlow> = BTreeMap::new();
        for d in self.pending_days.get(&customer).into_iter().flatten() {
            if within(d) {
                found.insert((d.date, d.position, d.part), *d);
            }
        }
        if let Some(tree) = &self.tree {
            let kind = HistoryKind::DayFlow;
            let lo = key(customer, kind, Some(from), 0, 0);
            let hi = key(customer, kind, Some(Date::MAX), u64::MAX, u16::MAX);
            for item in tree.range(lo.as_slice()..=hi.as_slice()) {
                let (_, v) = item?;
                let chunk: Vec<DayFlow> = crm_eventstore::codec::decode(&v)?;
                // A flow both in the tree and pending (written, not yet forgotten) is one flow.
                for d in chunk.into_iter().filter(within) {
                    found.entry((d.date, d.position, d.part)).or_insert(d);
                }
            }
        }
        Ok(found.into_values().collect())
    }

    /// A customer's flows summed over the days `from..=to`.
    pub fn flows(
        &self,
        customer: CustomerId,
        from: Date,
        to: Date,
    ) -> Result<FlowSums, ProjectionError> {
        let mut sums = FlowSums::default();
        for d in self.day_flows(customer, from, to)? {
            sums.add(&d);
        }
        Ok(sums)
    }

    /// Every entry, from the tree and the pending ones, in key order (for comparing a live
    /// generation with a rebuilt one).
    pub fn all_entries(&self) -> Result<Vec<(Vec<u8>, HistoryEntry)>, ProjectionError> {
        let mut found: BTreeMap<Vec<u8>, HistoryEntry> = self
            .pending
            .iter()
            .map(|(k, e)| (k.to_vec(), e.clone()))
            .collect();
        // Daily flows as one entry each, keyed by customer, date, position and part: chunks
        // depend on when flushes ran, the flows do not.
        let flow_key = |c: CustomerId, d: &DayFlow| {
            key(
                c,
                HistoryKind::DayFlow,
                Some(d.date),
                d.position,
                u16::from(d.part),
            )
            .to_vec()
        };
        for (c, flows) in &self.pending_days {
            for d in flows {
                found.insert(flow_key(*c, d), HistoryEntry::DayFlow(*d));
            }
        }
        if let Some(tree) = &self.tree {
            for item in tree.scan_prefix([TAG_HISTORY]) {
                let (k, v) = item?;
                let kind = k.get(17).copied().unwrap_or(0);
                if kind == HistoryKind::DayFlow as u8 {
                    let c = k
                        .get(1..17)
                        .and_then(|b| uuid::Uuid::from_slice(b).ok())
                        .map(CustomerId::from_uuid)
                        .ok_or_else(|| {
                            ProjectionError::Generation("a day-flow key without a customer".into())
                        })?;
                    let chunk: Vec<DayFlow> = crm_eventstore::codec::decode(&v)?;
                    for d in chunk {
                        found
                            .entry(flow_key(c, &d))
                            .or_insert(HistoryEntry::DayFlow(d));
                    }
                } else if !found.contains_key(k.as_ref()) {
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
        let mut h = History::in_tree(tree.clone());
        for p in 1..=5 {
            h.push(c, p, entry(p));
            h.push(other, p, entry(p));
        }
        let mut batch = crate::writes::Writes::default();
        h.write_into(&mut batch).unwrap();
        batch.apply_in_order(&tree).unwrap();
        // Written but not yet forgotten: no entry is seen twice.
        assert_eq!(topics(&h.timeline(c, 10).unwrap()), [5, 4, 3, 2, 1]);
        h.forget_through(5);
        assert_eq!(h.pending_len(), 0);
        for p in 6..=8 {
            h.push(c, p, entry(p));
        }
        assert_eq!(topics(&h.timeline(c, 4).unwrap()), [8, 7, 6, 5]);
        assert_eq!(
            topics(&h.timeline(c, 100).unwrap()),
            [8, 7, 6, 5, 4, 3, 2, 1]
        );
        assert_eq!(h.timeline(c, 0).unwrap(), vec![]);
        assert_eq!(h.all_entries().unwrap().len(), 13);
    }

    #[test]
    fn two_entries_of_one_event_keep_their_order_and_a_replay_keeps_only_its_customer() {
        let c = CustomerId::from_uuid(Uuid::from_u128(1));
        let other = CustomerId::from_uuid(Uuid::from_u128(2));
        let mut h = History::keeping(Keep::Only(c));
        h.push(c, 3, entry(1));
        h.push(c, 3, entry(2));
        h.push(other, 3, entry(3));
        let t = h.timeline(c, 10).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].topic, "topic 2");
        assert_eq!(h.timeline(other, 10).unwrap(), vec![]);
        let mut none = History::keeping(Keep::Nothing);
        none.push(c, 1, entry(1));
        assert_eq!(none.pending_len(), 0);
    }

    fn flow(date: Date, turnover: i64, position: u64, part: u8) -> HistoryEntry {
        HistoryEntry::DayFlow(DayFlow {
            date,
            turnover: Money::from_minor(turnover),
            commission: Money::from_minor(turnover / 1000),
            deposits: Money::ZERO,
            withdrawals: Money::ZERO,
            position,
            part,
        })
    }

    #[test]
    fn flows_sum_exactly_the_days_asked_for_across_the_tree_and_the_pending_entries() {
        use time::macros::date;
        let db = sled::Config::new().temporary(true).open().unwrap();
        let tree = db.open_tree("t").unwrap();
        let c = CustomerId::from_uuid(Uuid::from_u128(1));
        let other = CustomerId::from_uuid(Uuid::from_u128(2));
        let mut h = History::in_tree(tree.clone());
        // Recorded out of date order, as concurrent imports do; a timeline entry in between.
        h.push(c, 1, flow(date!(2025 - 12 - 10), 100_000, 1, 1));
        h.push(c, 2, flow(date!(2024 - 12 - 11), 7_000, 2, 1));
        h.push(c, 3, entry(3));
        h.push(other, 4, flow(date!(2025 - 12 - 01), 1_000_000, 4, 1));
        let mut batch = crate::writes::Writes::default();
        h.write_into(&mut batch).unwrap();
        batch.apply_in_order(&tree).unwrap();
        // Written, not yet forgotten: each flow is counted once.
        let on = date!(2025 - 12 - 10);
        assert_eq!(
            h.flows(c, on - time::Duration::days(364), on)
                .unwrap()
                .turnover,
            Money::from_minor(107_000)
        );
        h.forget_through(4);
        assert_eq!((h.pending_len(), h.pending_flows()), (0, 0));
        // A correction later: the previous figures taken back, the new ones added.
        h.push(c, 5, flow(date!(2025 - 12 - 10), -100_000, 5, 0));
        h.push(c, 5, flow(date!(2025 - 12 - 10), 40_000, 5, 1));
        // 365 days back from 2025-12-10 reach 2024-12-11, inclusive.
        let year = h.flows(c, on - time::Duration::days(364), on).unwrap();
        assert_eq!(year.turnover, Money::from_minor(47_000));
        assert_eq!(year.commission, Money::from_minor(47));
        let short = h.flows(c, on - time::Duration::days(363), on).unwrap();
        assert_eq!(short.turnover, Money::from_minor(40_000));
        assert_eq!(
            h.flows(c, on, on - time::Duration::days(1)).unwrap(),
            FlowSums::default()
        );
        assert_eq!(h.timeline(c, 10).unwrap().len(), 1);
        // Each flow once in the whole history, whichever chunk it was written in.
        let flows = h
            .all_entries()
            .unwrap()
            .into_iter()
            .filter(|(_, e)| matches!(e, HistoryEntry::DayFlow(_)))
            .count();
        assert_eq!(flows, 5);
        assert_eq!(
            h.flows(other, date!(2025 - 12 - 01), date!(2025 - 12 - 01))
                .unwrap()
                .turnover,
            Money::from_minor(1_000_000)
        );
    }
}
