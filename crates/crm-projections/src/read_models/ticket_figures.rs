//! Ticket figures without scanning every ticket (issue 12): what `service_quality` (服务质量,
//! all time, by kind, for a branch or the company) and the ticket SLA of service compliance
//! (tickets due in a period: met, breached, pending) read, kept as sums the fold moves.
//!
//! **Kept by the fold, derived, never stored.** [`crate::read_models::service::apply_ticket`]
//! takes a ticket's contribution out before it changes the record and puts the new one in
//! after ([`TicketFigures::file`]), so every figure is what a pass over the tickets would
//! count now; a stored generation's figures are built in one pass when it is loaded
//! (`generation::load_model`), like the to-do index. [`ticket_figures_are_fresh`] compares
//! them with a fresh build (tests). Every count that falls to zero is taken out, so figures
//! kept through any changes equal figures built afresh.
//!
//! **Memory** is bounded by the organisation and by the open tickets, not by history: sums
//! per (branch, kind); per branch and per assignee, counts per deadline date (a day's tickets
//! are one entry however many); and the deadlines of open tickets (an open ticket's deadline
//! is what "open past its deadline at an instant" needs).

use std::collections::BTreeMap;

use crm_domain::ids::{BranchId, StaffId};
use crm_domain::ticket::TicketKind;
use rustc_hash::FxHashMap;
use time::{Date, OffsetDateTime};

use crate::model::{business_date, Model};
use crate::read_models::service::TicketRecord;

/// All-time sums of one (branch, kind)'s tickets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct KindSums {
    pub(crate) opened: i64,
    pub(crate) resolved: i64,
    /// Resolved after the SLA deadline.
    pub(crate) resolved_late: i64,
    pub(crate) resolution_minutes: i64,
    pub(crate) satisfaction_responses: i64,
    pub(crate) satisfaction_sum: i64,
}

impl KindSums {
    fn add(&mut self, o: &KindSums, sign: i64) {
        self.opened += sign * o.opened;
        self.resolved += sign * o.resolved;
        self.resolved_late += sign * o.resolved_late;
        self.resolution_minutes += sign * o.resolution_minutes;
        self.satisfaction_responses += sign * o.satisfaction_responses;
        self.satisfaction_sum += sign * o.satisfaction_sum;
    }

    fn is_zero(&self) -> bool {
        *self == KindSums::default()
    }
}

/// One deadline date's tickets of a branch or an assignee.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SlaDay {
    /// Resolved within the SLA.
    pub(crate) met: i64,
    /// Resolved after it.
    pub(crate) late: i64,
    /// Not resolved (yet): breached or pending depending on the date asked about.
    pub(crate) open: i64,
    /// The satisfaction scores (1–5) the day's tickets were closed with, and how many.
    pub(crate) satisfaction_sum: i64,
    pub(crate) satisfaction_responses: i64,
}

impl SlaDay {
    fn is_zero(&self) -> bool {
        *self == SlaDay::default()
    }
}

/// Whose tickets: a branch's (every ticket opened there) or an assignee's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum SlaSlot {
    Branch(BranchId),
    Staff(StaffId),
}

/// What one ticket adds to the figures: small and `Copy`, taken before and after a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Contribution {
    branch: Option<BranchId>,
    assignee: Option<StaffId>,
    kind: TicketKind,
    sums: KindSums,
    /// The SLA deadline and whether the ticket is open, met or late.
    deadline: OffsetDateTime,
    day: SlaDay,
}

impl Contribution {
    pub(crate) fn of(t: &TicketRecord) -> Contribution {
        let mut sums = KindSums {
            opened: 1,
            ..KindSums::default()
        };
        let mut day = SlaDay::default();
        match t.resolved_at {
            Some(r) => {
                sums.resolved = 1;
                sums.resolution_minutes = (r - t.opened_at).whole_minutes();
                if t.within_sla == Some(false) {
                    sums.resolved_late = 1;
                }
                if t.within_sla == Some(true) {
                    day.met = 1;
                } else {
                    day.late = 1;
                }
            }
            None => day.open = 1,
        }
        if let Some(x) = t.satisfaction {
            sums.satisfaction_responses = 1;
            sums.satisfaction_sum = i64::from(x);
            day.satisfaction_responses = 1;
            day.satisfaction_sum = i64::from(x);
        }
        Contribution {
            branch: t.branch,
            assignee: t.assignee,
            kind: t.kind,
            sums,
            deadline: t.sla_deadline,
            day,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct TicketFigures {
    /// (branch, kind) → all-time sums (`None`: tickets of no branch).
    sums: FxHashMap<(Option<BranchId>, TicketKind), KindSums>,
    /// (branch, kind) → the SLA deadlines of its open tickets, with how many share each.
    open: FxHashMap<(Option<BranchId>, TicketKind), BTreeMap<OffsetDateTime, i64>>,
    /// Branch or assignee → tickets by the business date of their SLA deadline.
    sla: FxHashMap<SlaSlot, BTreeMap<Date, SlaDay>>,
}

impl TicketFigures {
    /// The figures of `m`'s tickets, in one pass over them.
    pub(crate) fn build(m: &Model) -> TicketFigures {
        let mut f = TicketFigures::default();
        for (_, t) in m.tickets.iter() {
            f.file(&Contribution::of(t), 1);
        }
        f
    }

    /// Adds (`sign` 1) or takes out (`sign` -1) one ticket's contribution.
    pub(crate) fn file(&mut self, c: &Contribution, sign: i64) {
        let key = (c.branch, c.kind);
        let sums = self.sums.entry(key).or_default();
        sums.add(&c.sums, sign);
        if sums.is_zero() {
            self.sums.remove(&key);
        }
        if c.day.open != 0 {
            let open = self.open.entry(key).or_default();
            let n = open.entry(c.deadline).or_default();
            *n += sign;
            if *n == 0 {
                open.remove(&c.deadline);
            }
            if open.is_empty() {
                self.open.remove(&key);
            }
        }
        let date = business_date(c.deadline);
        let slots = c
            .branch
            .map(SlaSlot::Branch)
            .into_iter()
            .chain(c.assignee.map(SlaSlot::Staff));
        for slot in slots {
            let days = self.sla.entry(slot).or_default();
            let d = days.entry(date).or_default();
            d.met += sign * c.day.met;
            d.late += sign * c.day.late;
            d.open += sign * c.day.open;
            d.satisfaction_sum += sign * c.day.satisfaction_sum;
            d.satisfaction_responses += sign * c.day.satisfaction_responses;
            if d.is_zero() {
                days.remove(&date);
            }
            if days.is_empty() {
                self.sla.remove(&slot);
            }
        }
    }

    /// The all-time sums of `kind`'s tickets of `branch` (every branch, and tickets of none,
    /// with `None`), and how many of them are open with their deadline before `at`.
    pub(crate) fn kind(
        &self,
        branch: Option<BranchId>,
        kind: TicketKind,
        at: OffsetDateTime,
    ) -> (KindSums, i64) {
        let mut sums = KindSums::default();
        let mut open_late = 0;
        let wanted = |b: &Option<BranchId>| branch.is_none() || *b == branch;
        for ((b, k), s) in &self.sums {
            if *k == kind && wanted(b) {
                sums.add(s, 1);
            }
        }
        for ((b, k), deadlines) in &self.open {
            if *k == kind && wanted(b) {
                open_late += deadlines.range(..at).map(|(_, n)| n).sum::<i64>();
            }
        }
        (sums, open_late)
    }

    /// The tickets of `slot` whose deadline's business date falls from `from` to `to`.
    pub(crate) fn due(
        &self,
        slot: SlaSlot,
        from: Date,
        to: Date,
    ) -> impl Iterator<Item = (Date, SlaDay)> + '_ {
        self.sla
            .get(&slot)
            .filter(|_| from <= to)
            .into_iter()
            .flat_map(move |days| days.range(from..=to))
            .map(|(d, s)| (*d, *s))
    }

    /// The satisfaction scores of `slot`'s tickets whose deadline falls from `from` to `to`:
    /// their sum and how many.
    pub(crate) fn satisfaction(&self, slot: SlaSlot, from: Date, to: Date) -> (i64, i64) {
        self.due(slot, from, to).fold((0, 0), |(sum, n), (_, d)| {
            (sum + d.satisfaction_sum, n + d.satisfaction_responses)
        })
    }

    /// Entries kept (what the memory bound counts).
    pub fn len(&self) -> usize {
        self.sums.len()
            + self.open.values().map(BTreeMap::len).sum::<usize>()
            + self.sla.values().map(BTreeMap::len).sum::<usize>()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Whether the figures the fold kept equal figures built afresh from the tickets (a check for
/// tests: a stale count, even one no query would show, makes it false).
pub fn ticket_figures_are_fresh(m: &Model) -> bool {
    m.ticket_figures == TicketFigures::build(m)
}
