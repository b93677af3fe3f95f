//! Region and head-office dashboards (区域看板、总部看板) for a day or a month, and their
//! monthly series: the branch dashboard's figures summed over the branches of a region or of
//! the company, from the same branch days (`dashboards::branch_figures_from`), so a region's
//! figure is always the sum of its branches' as their dashboards show them. A branch is a
//! scope too, of one branch: its figures are its own dashboard's by construction, which gives
//! the branch dashboard its monthly series without a second way of counting.
//!
//! What is summed: stock at the period's end (customers by tier, lifecycle, kind and source
//! channel, assets by class) and the period's flows (deposits, withdrawals, turnover,
//! commission, new and lost customers — lost by the appraisal's definition, `churn_kpi` —
//! upgrades and downgrades, contacts). Market share is the scope's turnover over the market's.
//! A customer moved between two branches of the scope within the period can count as an
//! upgrade in both; the figures are the branches' sums and say so.
//!
//! **Cost.** One figure set reads, per branch of the scope, its branch days up to the
//! period's end, and its churn from the counts the fold keeps per branch and day or month
//! (`churn_figures`). Bounded by the organisation × periods: nothing more is kept for it.

use crm_domain::customer::{CustomerKind, Lifecycle};
use crm_domain::ids::{BranchId, RegionId};

use crate::model::{Flows, Model, Totals};
use crate::read_models::churn_figures::BranchChurn;
use crate::read_models::dashboards::{
    branch_figures_from, branch_ranking_with, churns_of, market_turnover, BranchPeriod, BranchRank,
    LIFECYCLES_ALL,
};
use crate::read_models::performance::bp;
use crate::rules::RuleBook;

/// Series of more months are refused (a request reads every branch day per month).
pub const SERIES_MONTHS_MAX: u8 = 36;

/// Which part of the organisation a dashboard sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrgScope {
    Company,
    Region(RegionId),
    /// One branch: its dashboard's figures, for its monthly series.
    Branch(BranchId),
}

/// One period's figures of a scope.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrgFigures {
    /// Branches with figures by the period's end.
    pub branches: usize,
    /// Stock at the period's end, summed.
    pub totals: Totals,
    /// The period's flows, summed.
    pub flows: Flows,
    /// The scope's turnover over the market's, basis points, when market totals exist.
    pub market_share_bp: Option<i64>,
}

/// A region's or the company's dashboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgDashboard {
    pub scope: OrgScope,
    /// The region's or the branch's name, or empty for the company.
    pub name: String,
    pub period: BranchPeriod,
    pub figures: OrgFigures,
    /// The scope's branches as the company ranks them, best first, with rank changes.
    pub ranking: Vec<BranchRank>,
}

/// The branches of `scope` (closed ones too: their past figures count), in id order.
fn branches_of(m: &Model, scope: OrgScope) -> Vec<BranchId> {
    m.meta
        .branches
        .iter()
        .filter(|(id, b)| match scope {
            OrgScope::Company => true,
            OrgScope::Region(r) => b.region == r,
            OrgScope::Branch(one) => **id == one,
        })
        .map(|(id, _)| *id)
        .collect()
}

/// Whether the scope exists: the company always, a region or a branch the read side knows.
pub fn org_scope_known(m: &Model, scope: OrgScope) -> bool {
    match scope {
        OrgScope::Company => true,
        OrgScope::Region(r) => m.meta.regions.contains_key(&r),
        OrgScope::Branch(b) => m.meta.branches.contains_key(&b),
    }
}

/// The figures of `scope` in `period`, its churn already read (`churns_of`).
fn figures_with(
    m: &Model,
    scope: OrgScope,
    period: BranchPeriod,
    churn: &BranchChurn,
) -> OrgFigures {
    let mut out = OrgFigures::default();
    for b in branches_of(m, scope) {
        if let Some((_, end, flows)) = branch_figures_from(m, b, period, churn) {
            out.branches += 1;
            out.totals.add_totals(&end);
            out.flows.add_flows(&flows);
        }
    }
    out.market_share_bp =
        market_turnover(m, period).map(|market| bp(out.flows.turnover.minor(), market.minor()));
    out
}

/// The dashboard of `scope` for `period`; None for a region or branch the read side does not
/// know.
pub fn org_dashboard(
    m: &Model,
    rules: &RuleBook,
    scope: OrgScope,
    period: BranchPeriod,
) -> Option<OrgDashboard> {
    if !org_scope_known(m, scope) {
        return None;
    }
    let name = match scope {
        OrgScope::Company => String::new(),
        OrgScope::Region(r) => m
            .meta
            .regions
            .get(&r)
            .map(|x| x.name.clone())
            .unwrap_or_default(),
        OrgScope::Branch(b) => m
            .meta
            .branches
            .get(&b)
            .map(|x| x.name.clone())
            .unwrap_or_default(),
    };
    let ours = branches_of(m, scope);
    // The period's churn and the previous period's, as the fold counts them.
    let churns = churns_of(m, rules, &[period, period.previous()]);
    let none = BranchChurn::default();
    let (now, before) = (
        churns.first().unwrap_or(&none),
        churns.get(1).unwrap_or(&none),
    );
    let ranking = branch_ranking_with(m, rules, period, now, before)
        .into_iter()
        .filter(|r| ours.binary_search(&r.branch).is_ok())
        .collect();
    Some(OrgDashboard {
        scope,
        name,
        period,
        figures: figures_with(m, scope, period, now),
        ranking,
    })
}

/// The stock's customers by lifecycle, in the branch dashboard's order.
pub fn lifecycle_counts(t: &Totals) -> Vec<(Lifecycle, i64)> {
    LIFECYCLES_ALL
        .iter()
        .map(|l| (*l, t.by_lifecycle[*l as usize]))
        .collect()
}

/// The stock's customers by kind.
pub fn kind_counts(t: &Totals) -> Vec<(CustomerKind, i64)> {
    [CustomerKind::Individual, CustomerKind::Institutional]
        .iter()
        .map(|k| (*k, t.by_kind[*k as usize]))
        .collect()
}

/// The month `back` months before `(year, month)`.
fn months_back(year: i32, month: u8, back: u8) -> (i32, u8) {
    let index = year * 12 + i32::from(month) - 1 - i32::from(back);
    (
        index.div_euclid(12),
        u8::try_from(index.rem_euclid(12) + 1).unwrap_or(1),
    )
}

/// The figures of `scope` for the `months` months up to and including `(year, month)`,
/// oldest first (每月趋势). `months` is at most [`SERIES_MONTHS_MAX`] (the caller checks).
pub fn org_series(
    m: &Model,
    rules: &RuleBook,
    scope: OrgScope,
    (year, month): (i32, u8),
    months: u8,
) -> Vec<(BranchPeriod, OrgFigures)> {
    let periods: Vec<BranchPeriod> = (0..months.min(SERIES_MONTHS_MAX))
        .rev()
        .map(|back| {
            let (year, month) = months_back(year, month, back);
            BranchPeriod::Month { year, month }
        })
        .collect();
    // Every month's churn, as the fold counts it.
    let churns = churns_of(m, rules, &periods);
    periods
        .into_iter()
        .zip(&churns)
        .map(|(period, churn)| (period, figures_with(m, scope, period, churn)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_count_back_across_years() {
        assert_eq!(months_back(2024, 3, 0), (2024, 3));
        assert_eq!(months_back(2024, 3, 2), (2024, 1));
        assert_eq!(months_back(2024, 3, 3), (2023, 12));
        assert_eq!(months_back(2024, 1, 25), (2021, 12));
    }
}
