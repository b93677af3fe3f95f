//! The to-do index (issue 12): for each staff member and each branch, the records that can
//! give them a to-do, so [`crate::read_models::todos::todos`] visits those and not the whole
//! book.
//!
//! What is filed where — exactly what the to-do rules test:
//! - under a staff member: the customers (not merged, not closed) they manage (every customer
//!   reminder, and through the customer the bank reminders of their deposits and loans, found
//!   by [`BankCustomer`](crate::read_models::banking::BankCustomer)'s lists), owe a follow-up
//!   or plan to visit; and the open tickets assigned to them;
//! - under a branch (read by its branch manager): the customers (not merged, not closed)
//!   flagged at risk there, and those with a transfer pending to it; and the open loans of
//!   its outlet moved down a class, by the date of the move (the reminder is for a window of
//!   days back from today, so only that range is read);
//! - the rule versions awaiting approval (read by operators).
//!
//! **Derived, in memory, never stored.** It is built in one pass over the resident records
//! when a stored generation is loaded (`generation::load_model`) and kept by the fold: the
//! customers, tickets and loans maps are watched ([`Keyed`](crate::keyed::Keyed) remembers
//! which keys changed), and [`Model::settle`] — called after every batch, before anyone reads
//! the model — files each changed record again from its current state; rule versions are
//! filed again as `rule_versions::apply_rules` changes them. Keeping it out of the stored
//! model means no format change and nothing that could disagree with the records on disk: an
//! index is only ever what the records say now.
//!
//! **Memory** is bounded by the organisation, never by history: one entry per relationship
//! in force (a customer's manager, open follow-up and planned visits, an at-risk flag, a
//! pending transfer; an open ticket's assignee; an open downgraded loan; a proposed rules
//! version), each also recorded against its record so a change can take it out again. About
//! 100 bytes per customer and per open ticket; nothing for closed tickets and loans, merged or
//! closed customers, done visits or past follow-ups.

use std::collections::{BTreeMap, BTreeSet};

use crm_domain::customer::Lifecycle;
use crm_domain::ids::{BranchId, CustomerId, LoanId, StaffId, TicketId};
use rustc_hash::FxHashMap;
use time::Date;

use crate::model::Model;
use crate::read_models::archive::CustomerRecord;
use crate::read_models::banking::LoanRecord;
use crate::read_models::rule_versions::RuleVersionRecord;
use crate::read_models::service::{TicketRecord, TicketStatus};

/// Whom a customer is filed under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Slot {
    Staff(StaffId),
    Branch(BranchId),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct TodoIndex {
    /// Staff member or branch → the customers filed under them.
    customers: FxHashMap<Slot, BTreeSet<CustomerId>>,
    /// Staff member → their open tickets.
    tickets: FxHashMap<StaffId, BTreeSet<TicketId>>,
    /// Branch → its open downgraded loans by the day of the downgrade.
    downgrades: FxHashMap<BranchId, BTreeMap<Date, BTreeSet<LoanId>>>,
    /// Rule versions with the status "proposed".
    proposed: BTreeSet<u32>,
    /// Where each record is filed now (sorted, no repeats), to take it out when it changes.
    customer_slots: FxHashMap<CustomerId, Vec<Slot>>,
    ticket_slot: FxHashMap<TicketId, StaffId>,
    loan_slot: FxHashMap<LoanId, (BranchId, Date)>,
}

/// The slots a customer belongs in: none once merged or closed.
fn customer_slots(c: &CustomerRecord) -> Vec<Slot> {
    if matches!(c.lifecycle, Lifecycle::Merged | Lifecycle::Closed) {
        return Vec::new();
    }
    let mut slots: Vec<Slot> = c
        .manager()
        .into_iter()
        .chain(c.follow_up.map(|f| f.staff))
        .chain(c.planned_visits.iter().map(|v| v.staff))
        .map(Slot::Staff)
        .collect();
    if c.at_risk_flag.is_some() {
        slots.extend(c.branch().map(Slot::Branch));
    }
    if let Some(t) = &c.pending_transfer {
        slots.push(Slot::Branch(t.to.branch));
    }
    slots.sort_unstable();
    slots.dedup();
    slots
}

/// The staff member an open, assigned ticket is filed under.
fn ticket_slot(t: &TicketRecord) -> Option<StaffId> {
    if matches!(t.status, TicketStatus::Resolved | TicketStatus::Closed) {
        return None;
    }
    t.assignee
}

/// The branch and day an open downgraded loan is filed under.
fn loan_slot(l: &LoanRecord) -> Option<(BranchId, Date)> {
    if l.closed.is_some() {
        return None;
    }
    l.downgrade.map(|g| (l.branch, g.on))
}

fn file<K: Eq + std::hash::Hash, V: Ord>(map: &mut FxHashMap<K, BTreeSet<V>>, k: K, v: V) {
    map.entry(k).or_default().insert(v);
}

/// Takes `v` out of `k`'s set, and the set out of the map once empty (so an index kept
/// through any changes equals one built afresh).
fn unfile<K: Eq + std::hash::Hash, V: Ord>(map: &mut FxHashMap<K, BTreeSet<V>>, k: K, v: &V) {
    if let Some(set) = map.get_mut(&k) {
        set.remove(v);
        if set.is_empty() {
            map.remove(&k);
        }
    }
}

impl TodoIndex {
    /// The index of `m`'s records, in one pass over them.
    pub(crate) fn build(m: &Model) -> TodoIndex {
        let mut ix = TodoIndex::default();
        for (id, c) in m.customers.iter() {
            ix.file_customer(*id, Some(c));
        }
        for (id, t) in m.tickets.iter() {
            ix.file_ticket(*id, Some(t));
        }
        for (id, l) in m.loans.iter() {
            ix.file_loan(*id, Some(l));
        }
        for (v, r) in &m.meta.rule_versions {
            ix.file_rule_version(*v, Some(r));
        }
        ix
    }

    /// Files customer `id` as its record (`None`: gone) says now, taking out where it was.
    fn file_customer(&mut self, id: CustomerId, c: Option<&CustomerRecord>) {
        let now = c.map(customer_slots).unwrap_or_default();
        let before = self.customer_slots.remove(&id).unwrap_or_default();
        if before != now {
            for s in before.iter().filter(|s| !now.contains(s)) {
                unfile(&mut self.customers, *s, &id);
            }
            for s in now.iter().filter(|s| !before.contains(s)) {
                file(&mut self.customers, *s, id);
            }
        }
        if !now.is_empty() {
            self.customer_slots.insert(id, now);
        }
    }

    fn file_ticket(&mut self, id: TicketId, t: Option<&TicketRecord>) {
        let now = t.and_then(ticket_slot);
        let before = self.ticket_slot.remove(&id);
        if before != now {
            if let Some(s) = before {
                unfile(&mut self.tickets, s, &id);
            }
            if let Some(s) = now {
                file(&mut self.tickets, s, id);
            }
        }
        if let Some(s) = now {
            self.ticket_slot.insert(id, s);
        }
    }

    fn file_loan(&mut self, id: LoanId, l: Option<&LoanRecord>) {
        let now = l.and_then(loan_slot);
        let before = self.loan_slot.remove(&id);
        if before != now {
            if let Some((branch, on)) = before {
                if let Some(days) = self.downgrades.get_mut(&branch) {
                    if let Some(ids) = days.get_mut(&on) {
                        ids.remove(&id);
                        if ids.is_empty() {
                            days.remove(&on);
                        }
                    }
                    if days.is_empty() {
                        self.downgrades.remove(&branch);
                    }
                }
            }
            if let Some((branch, on)) = now {
                self.downgrades
                    .entry(branch)
                    .or_default()
                    .entry(on)
                    .or_default()
                    .insert(id);
            }
        }
        if let Some(s) = now {
            self.loan_slot.insert(id, s);
        }
    }

    /// Files rules version `v` as its record says now.
    pub(crate) fn file_rule_version(&mut self, v: u32, r: Option<&RuleVersionRecord>) {
        if r.is_some_and(|r| r.status == "proposed") {
            self.proposed.insert(v);
        } else {
            self.proposed.remove(&v);
        }
    }

    /// The customers filed under `staff` and, for a branch manager, under their `branch`:
    /// sorted, each once.
    pub(crate) fn customers_for(
        &self,
        staff: StaffId,
        branch: Option<BranchId>,
    ) -> Vec<CustomerId> {
        let mine = self.customers.get(&Slot::Staff(staff));
        let branch = branch.and_then(|b| self.customers.get(&Slot::Branch(b)));
        let mut out: Vec<CustomerId> = mine
            .into_iter()
            .chain(branch)
            .flat_map(|s| s.iter().copied())
            .collect();
        if branch.is_some() {
            out.sort_unstable();
            out.dedup();
        }
        out
    }

    /// The customers filed under `staff` (managed, followed up or to visit).
    pub(crate) fn customers_of(&self, staff: StaffId) -> impl Iterator<Item = CustomerId> + '_ {
        self.customers
            .get(&Slot::Staff(staff))
            .into_iter()
            .flat_map(|s| s.iter().copied())
    }

    /// The open tickets assigned to `staff`.
    pub(crate) fn tickets_of(&self, staff: StaffId) -> impl Iterator<Item = TicketId> + '_ {
        self.tickets
            .get(&staff)
            .into_iter()
            .flat_map(|s| s.iter().copied())
    }

    /// The open loans of `branch` moved down a class on a day from `from` to `to`.
    pub(crate) fn downgraded(
        &self,
        branch: BranchId,
        from: Date,
        to: Date,
    ) -> impl Iterator<Item = LoanId> + '_ {
        self.downgrades
            .get(&branch)
            .filter(|_| from <= to)
            .into_iter()
            .flat_map(move |days| days.range(from..=to))
            .flat_map(|(_, ids)| ids.iter().copied())
    }

    /// The rule versions awaiting approval.
    pub(crate) fn proposed(&self) -> impl Iterator<Item = u32> + '_ {
        self.proposed.iter().copied()
    }

    /// Entries filed: customers under staff or branches, open tickets, downgraded loans and
    /// proposed versions (what the memory bound counts).
    pub fn len(&self) -> usize {
        self.customers.values().map(BTreeSet::len).sum::<usize>()
            + self.ticket_slot.len()
            + self.loan_slot.len()
            + self.proposed.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Model {
    /// Files again the customers, tickets and loans changed since the last call (part of
    /// [`Model::settle`]): the cost is that of the records the batch changed. The churn
    /// figures (`read_models::churn_figures`) are filed from the same changed customers.
    pub(crate) fn refresh_todo_index(&mut self) {
        if self.churned_days > 0 && !self.churn_figures.kept_for(self.churned_days) {
            // New to this `churned_days` (a generation's first batch, a loaded generation):
            // built whole, after which the changed customers below file as they are.
            self.churn_figures = crate::read_models::churn_figures::ChurnFigures::build(self);
        }
        for id in self.customers.take_touched() {
            let c = self.customers.get(&id);
            self.todo_index.file_customer(id, c);
            self.churn_figures.file(id, c);
        }
        for id in self.tickets.take_touched() {
            self.todo_index.file_ticket(id, self.tickets.get(&id));
        }
        for id in self.loans.take_touched() {
            self.todo_index.file_loan(id, self.loans.get(&id));
        }
    }
}

/// The model's to-do index.
pub fn todo_index(m: &Model) -> &TodoIndex {
    &m.todo_index
}

/// Whether the index the fold kept equals one built afresh from the records (a check for
/// tests and verification: a stale entry, even one no query would show, makes it false).
pub fn todo_index_is_fresh(m: &Model) -> bool {
    m.todo_index == TodoIndex::build(m)
}
