//! The KPI's churn (`churn_kpi`) kept as counts the fold moves (issues 12 and 16), so a
//! branch's, a region's or the company's lost customers in a day or a month are a lookup,
//! not a pass over every customer on each request.
//!
//! **What is counted.** A customer is lost in a period `[start, end]` when they were not
//! churned on the day before `start` and are churned on `end` (`churn_kpi::period_churns`),
//! for whoever served them when they were lost (the loss's `by`). For a day that is "not
//! churned the day before, churned that day"; for a month, "not churned at the end of the
//! month before, churned at its end". Either can only happen where a loss begins to cover
//! the date: on the day a loss starts (a dormancy crossing, a closure, a recorded churn), or
//! on the day of registration (nothing is churned before it). So a customer's *onsets* — the
//! days and months in which they count as lost, with the branch and manager they count for —
//! are found by testing those few candidate dates with `churn_kpi`'s own `loss_on`, the
//! function the pass uses: the counts are the pass's by construction, whatever order the
//! facts arrived in.
//!
//! **Kept by the fold, derived, never stored.** Each customer's onsets are filed against
//! their record; [`Model::settle`](crate::model::Model::settle) files every customer changed
//! in the batch again (the customers map is watched, as for the to-do index), taking the old
//! onsets out and putting the new ones in. A loaded generation builds them in one pass. They
//! are kept for one `[churn] churned_days` (a generation folds under one rule set); a query
//! under another value reads nothing here and falls back to the pass.
//! [`churn_figures_are_fresh`] compares them with a fresh build (tests).
//!
//! **Memory** is bounded by the customers and the organisation × periods, not by history: a
//! customer has an onset per loss still kept in their `ChurnTrack` (bounded by
//! `churn_kpi::ENDED_MAX`) and one for their open dormancy's crossing (which may lie in the
//! future: it is counted for the day and month it falls in, as the pass would); counts per
//! (branch, day), and the customers per (branch, month) and (staff member, month): a month's
//! new customers, who are not counted as lost, are taken out by comparing sets.

use std::collections::{BTreeMap, BTreeSet};

use crm_domain::customer::Lifecycle;
use crm_domain::ids::{BranchId, CustomerId, StaffId};
use rustc_hash::{FxHashMap, FxHashSet};
use smallvec::SmallVec;
use time::{Date, Duration};

use crate::model::{business_date, month_index, Model};
use crate::read_models::archive::CustomerRecord;
use crate::read_models::churn_kpi::{
    loss_on, month_days, period_churns, ChurnedCustomer, Loss, PeriodChurn, ENDED_MAX,
};

/// When a customer counts as lost: a day, or a month (by `month_index`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Grain {
    Day(Date),
    Month(u32),
}

/// One period in which a customer counts as lost, and for whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Onset {
    at: Grain,
    branch: BranchId,
    manager: Option<StaffId>,
}

/// Lost customers by branch and day, by branch and month, and by staff member and month.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChurnFigures {
    /// The `[churn] churned_days` these figures are kept for (0: none kept).
    churned_days: u32,
    branch_days: FxHashMap<(BranchId, Date), i64>,
    /// (branch, month) → the customers lost for the branch that month: a set, not a count, so
    /// the month's new customers (left out of the churn) are taken out by comparing two sets,
    /// whichever is smaller, without reading a customer.
    branch_months: FxHashMap<(BranchId, u32), BTreeSet<CustomerId>>,
    /// Month → staff member → the customers lost for them that month.
    staff_months: FxHashMap<u32, BTreeMap<StaffId, BTreeSet<CustomerId>>>,
    /// Each customer's onsets as last filed (only customers with any).
    filed: FxHashMap<CustomerId, Onsets>,
}

/// A customer's onsets: most have one day and one month (their open dormancy's crossing), a
/// few more with losses; kept inline, so filing them allocates nothing.
type Onsets = SmallVec<[Onset; 2]>;

/// A customer's onsets under `churned_days` (see the module's documentation).
fn onsets(c: &CustomerRecord, churned_days: u32) -> Onsets {
    let mut out = Onsets::new();
    if matches!(c.lifecycle, Lifecycle::Prospect | Lifecycle::Merged) {
        return out;
    }
    let registered = business_date(c.registered_at);
    let t = &c.churn_track;
    let crossing = t
        .last
        .map_or(registered, |l| l.max(registered))
        .checked_add(Duration::days(i64::from(churned_days)));
    // The candidate dates: registration, where each kept loss begins, the crossing.
    let mut days: SmallVec<[Date; ENDED_MAX + 3]> = std::iter::once(registered)
        .chain(t.lost.map(|l| l.since))
        .chain(t.ended.iter().map(|l| l.since))
        .chain(crossing)
        .map(|d| d.max(registered))
        .collect();
    days.sort_unstable();
    days.dedup();
    let at = |d: Date| loss_on(c, registered, d, churned_days);
    let onset = |at: Grain, loss: Loss| {
        loss.by.map(|a| Onset {
            at,
            branch: a.branch,
            manager: a.manager,
        })
    };
    for d in &days {
        let before = d.previous_day().and_then(at);
        if let (None, Some(loss)) = (before, at(*d)) {
            out.extend(onset(Grain::Day(*d), loss));
        }
    }
    // The candidate months: those of the candidate dates (sorted, so equal ones are adjacent).
    let mut previous = None;
    for month in days.iter().map(|d| month_index(*d)) {
        if previous == Some(month) {
            continue;
        }
        previous = Some(month);
        let (first, last) = month_days(month, month);
        let before = first.previous_day().and_then(at);
        if let (None, Some(loss)) = (before, at(last)) {
            out.extend(onset(Grain::Month(month), loss));
        }
    }
    out
}

/// Adds `by` to `k`'s count; a count that falls to zero is taken out, so figures kept through
/// any changes equal figures built afresh.
fn bump<K: std::hash::Hash + Eq + Copy>(map: &mut FxHashMap<K, i64>, k: K, by: i64) {
    let n = map.entry(k).or_insert(0);
    *n += by;
    if *n == 0 {
        map.remove(&k);
    }
}

impl ChurnFigures {
    /// The figures of every customer of `m` under `m`'s `churned_days` (none kept for 0).
    pub(crate) fn build(m: &Model) -> ChurnFigures {
        let mut f = ChurnFigures {
            churned_days: m.churned_days,
            ..ChurnFigures::default()
        };
        if f.churned_days > 0 {
            for (id, c) in m.customers.iter() {
                f.file(*id, Some(c));
            }
        }
        f
    }

    /// Files `id` again from its current record (None: gone).
    pub(crate) fn file(&mut self, id: CustomerId, c: Option<&CustomerRecord>) {
        if self.churned_days == 0 {
            return;
        }
        let new = c.map_or_else(Onsets::new, |c| onsets(c, self.churned_days));
        let old = match self.filed.get(&id) {
            Some(old) if *old == new => return,
            Some(_) => self.filed.remove(&id).unwrap_or_default(),
            None if new.is_empty() => return,
            None => Onsets::new(),
        };
        for o in &old {
            self.count(id, o, -1);
        }
        for o in &new {
            self.count(id, o, 1);
        }
        if !new.is_empty() {
            self.filed.insert(id, new);
        }
    }

    fn count(&mut self, id: CustomerId, o: &Onset, by: i64) {
        match o.at {
            Grain::Day(d) => {
                bump(&mut self.branch_days, (o.branch, d), by);
            }
            Grain::Month(month) => {
                let set = self.branch_months.entry((o.branch, month)).or_default();
                if by > 0 {
                    set.insert(id);
                } else {
                    set.remove(&id);
                }
                if set.is_empty() {
                    self.branch_months.remove(&(o.branch, month));
                }
                if let Some(s) = o.manager {
                    let staff = self.staff_months.entry(month).or_default();
                    let set = staff.entry(s).or_default();
                    if by > 0 {
                        set.insert(id);
                    } else {
                        set.remove(&id);
                    }
                    if set.is_empty() {
                        staff.remove(&s);
                    }
                    if staff.is_empty() {
                        self.staff_months.remove(&month);
                    }
                }
            }
        }
    }

    /// Whether these figures answer for `churned_days`.
    pub(crate) fn kept_for(&self, churned_days: u32) -> bool {
        self.churned_days > 0 && self.churned_days == churned_days
    }

    /// The customers `branch` lost on `day`.
    pub(crate) fn branch_day(&self, branch: BranchId, day: Date) -> i64 {
        self.branch_days.get(&(branch, day)).copied().unwrap_or(0)
    }

    /// The customers `branch` lost in `month` (a `month_index`), those in `acquired` left out.
    pub(crate) fn branch_month(
        &self,
        branch: BranchId,
        month: u32,
        acquired: &FxHashSet<CustomerId>,
    ) -> i64 {
        let Some(lost) = self.branch_months.get(&(branch, month)) else {
            return 0;
        };
        let n = if lost.len() <= acquired.len() {
            lost.iter().filter(|c| !acquired.contains(c)).count()
        } else {
            lost.len() - acquired.iter().filter(|c| lost.contains(c)).count()
        };
        i64::try_from(n).unwrap_or(i64::MAX)
    }

    /// Every staff member's lost customers in `month`, each with the loss that counts (as
    /// `churn_kpi::period_churns` lists them, sorted by customer).
    pub(crate) fn staff_month(
        &self,
        m: &Model,
        month: u32,
    ) -> BTreeMap<StaffId, Vec<ChurnedCustomer>> {
        let (_, last) = month_days(month, month);
        let mut out = BTreeMap::new();
        for (staff, customers) in self.staff_months.get(&month).into_iter().flatten() {
            let list: Vec<ChurnedCustomer> = customers
                .iter()
                .filter_map(|id| {
                    let c = m.customers.get(id)?;
                    let loss = loss_on(c, business_date(c.registered_at), last, self.churned_days)?;
                    Some(ChurnedCustomer {
                        customer: *id,
                        cause: loss.cause,
                        since: loss.since,
                    })
                })
                .collect();
            out.insert(*staff, list);
        }
        out
    }
}

/// Whether the figures the fold kept equal ones built afresh from the records (tests).
pub fn churn_figures_are_fresh(m: &Model) -> bool {
    m.churn_figures == ChurnFigures::build(m)
}

/// A period's lost customers by branch, as the dashboards count them: from the kept figures
/// for a day or a whole month, or from one pass over the customers for any other period (or
/// when the figures are kept for other rules).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BranchChurn {
    Kept { start: Date, end: Date },
    Listed(PeriodChurn),
}

impl Default for BranchChurn {
    fn default() -> Self {
        BranchChurn::Listed(PeriodChurn::default())
    }
}

/// The month (`month_index`) `[start, end]` is exactly, if it is one.
fn whole_month(start: Date, end: Date) -> Option<u32> {
    let month = month_index(start);
    (month_days(month, month) == (start, end)).then_some(month)
}

impl BranchChurn {
    /// The customers `branch` lost in the period, those in `acquired` (new in the period, not
    /// counted as lost by the appraisal's definition) left out.
    pub(crate) fn lost(
        &self,
        m: &Model,
        branch: BranchId,
        acquired: &FxHashSet<CustomerId>,
    ) -> i64 {
        match self {
            BranchChurn::Listed(churn) => churn.by_branch.get(&branch).map_or(0, |list| {
                let n = list
                    .iter()
                    .filter(|c| !acquired.contains(&c.customer))
                    .count();
                i64::try_from(n).unwrap_or(i64::MAX)
            }),
            BranchChurn::Kept { start, end } => {
                let f = &m.churn_figures;
                if let Some(month) = whole_month(*start, *end) {
                    return f.branch_month(branch, month, acquired);
                }
                let all = f.branch_day(branch, *start);
                // The customers new that day that are among them (a day's few).
                let new_and_lost = acquired
                    .iter()
                    .filter_map(|id| m.customers.get(id))
                    .filter(|c| !matches!(c.lifecycle, Lifecycle::Prospect | Lifecycle::Merged))
                    .filter(|c| {
                        let registered = business_date(c.registered_at);
                        let at = |d: Date| loss_on(c, registered, d, f.churned_days);
                        start.previous_day().and_then(at).is_none()
                            && at(*end)
                                .and_then(|l| l.by)
                                .is_some_and(|a| a.branch == branch)
                    })
                    .count();
                all - i64::try_from(new_and_lost).unwrap_or(i64::MAX)
            }
        }
    }
}

/// The churn by branch of each `(start, end)` period: a day or a whole month from the kept
/// figures, the others in one pass over the customers (`churn_kpi::period_churns`).
pub(crate) fn branch_churns(
    m: &Model,
    churned_days: u32,
    periods: &[(Date, Date)],
) -> Vec<BranchChurn> {
    let kept = |(start, end): (Date, Date)| {
        m.churn_figures.kept_for(churned_days)
            && (start == end || whole_month(start, end).is_some())
    };
    let others: Vec<(Date, Date)> = periods.iter().copied().filter(|p| !kept(*p)).collect();
    let mut listed = period_churns(m, churned_days, &others).into_iter();
    periods
        .iter()
        .map(|(start, end)| {
            if kept((*start, *end)) {
                BranchChurn::Kept {
                    start: *start,
                    end: *end,
                }
            } else {
                BranchChurn::Listed(listed.next().unwrap_or_default())
            }
        })
        .collect()
}

/// Every staff member's lost customers in the months `from..=to` (`month_index`es): from the
/// kept figures for one month, else one pass over the customers.
pub(crate) fn staff_churn(
    m: &Model,
    churned_days: u32,
    from: u32,
    to: u32,
) -> BTreeMap<StaffId, Vec<ChurnedCustomer>> {
    if from == to && m.churn_figures.kept_for(churned_days) {
        return m.churn_figures.staff_month(m, from);
    }
    let (start, end) = month_days(from, to);
    period_churns(m, churned_days, &[(start, end)])
        .pop()
        .unwrap_or_default()
        .by_staff
}

/// Whether what the kept figures count agrees with one pass over the customers
/// (`churn_kpi::period_churns`) for every branch on every day of `from..=to` and in every
/// month it touches (with no customer new in the period, with every customer new, and with
/// every other one), for every staff member in those months, and whether the figures equal a
/// fresh build. `Err` names the first difference (a check for tests and verification).
pub fn churn_figures_agree(
    m: &Model,
    churned_days: u32,
    from: Date,
    to: Date,
) -> Result<(), String> {
    if !m.churn_figures.kept_for(churned_days) {
        return Err(format!(
            "the figures are kept for churned_days = {}, not {churned_days}",
            m.churn_figures.churned_days
        ));
    }
    if !churn_figures_are_fresh(m) {
        return Err("the kept figures differ from figures built afresh".into());
    }
    let mut periods = Vec::new();
    let mut day = Some(from);
    while let Some(d) = day.filter(|d| *d <= to) {
        periods.push((d, d));
        day = d.next_day();
    }
    for month in month_index(from)..=month_index(to) {
        periods.push(month_days(month, month));
    }
    let scans = period_churns(m, churned_days, &periods);
    let mut branches: Vec<BranchId> = m.branches.iter().map(|(b, _)| *b).collect();
    branches.extend(scans.iter().flat_map(|s| s.by_branch.keys().copied()));
    branches.sort_unstable();
    branches.dedup();
    let ids: Vec<CustomerId> = m.customers.iter().map(|(id, _)| *id).collect();
    let every: FxHashSet<CustomerId> = ids.iter().copied().collect();
    let every_other: FxHashSet<CustomerId> = ids.iter().step_by(2).copied().collect();
    for ((start, end), scan) in periods.iter().zip(scans) {
        let kept = BranchChurn::Kept {
            start: *start,
            end: *end,
        };
        let by_staff = scan.by_staff.clone();
        let listed = BranchChurn::Listed(scan);
        for b in &branches {
            for acquired in [&FxHashSet::default(), &every, &every_other] {
                let (k, l) = (kept.lost(m, *b, acquired), listed.lost(m, *b, acquired));
                if k != l {
                    return Err(format!(
                        "branch {b:?} from {start} to {end} ({} new): kept {k}, a pass {l}",
                        acquired.len()
                    ));
                }
            }
        }
        if let Some(month) = whole_month(*start, *end) {
            let kept = m.churn_figures.staff_month(m, month);
            if kept != by_staff {
                return Err(format!(
                    "staff in month {month}: kept {kept:?}, a pass {by_staff:?}"
                ));
            }
        }
    }
    Ok(())
}
