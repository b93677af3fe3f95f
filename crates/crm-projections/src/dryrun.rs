//! What a rule change does, before it is switched in: the difference between two models of
//! the same log position folded under different rules — tier moves per branch and per
//! customer manager, the customers whose tier changes, broker ranking moves, churn-flag and
//! risk-preference changes. Pure; the engine supplies the two models.

use std::collections::BTreeMap;

use crm_domain::customer::Lifecycle;
use crm_domain::ids::{BranchId, CustomerId, StaffId};
use serde::{Deserialize, Serialize};
use time::Date;

use crate::derive::{self, ChurnRisk, RiskPreference, Tier};
use crate::model::Model;
use crate::rules::RuleBook;
use crate::views::{self, Period};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierMove {
    pub from: Tier,
    pub to: Tier,
    pub count: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupTierMoves<K> {
    pub group: Option<K>,
    pub moves: Vec<TierMove>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerTierChange {
    pub customer: CustomerId,
    pub name: String,
    pub branch: Option<BranchId>,
    pub manager: Option<StaffId>,
    pub from: Tier,
    pub to: Tier,
    pub score_from_centi: i64,
    pub score_to_centi: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RankMove {
    pub staff: StaffId,
    pub name: String,
    pub rank_from: usize,
    pub rank_to: usize,
    pub composite_from_centi: i64,
    pub composite_to_centi: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChurnChange {
    pub customer: CustomerId,
    pub from: ChurnRisk,
    pub to: ChurnRisk,
    pub reason: String,
}

/// The report of a dry run (or of the difference between two generations).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DryRunReport {
    pub from_rules_version: u32,
    pub from_rules_hash: String,
    pub to_rules_version: u32,
    pub to_rules_hash: String,
    /// The log position both models had applied.
    pub position: u64,
    /// The business date churn and rankings were evaluated at (the log's latest).
    pub as_of: Option<Date>,
    pub customers_compared: usize,
    pub tier_moves: Vec<TierMove>,
    pub tier_moves_by_branch: Vec<GroupTierMoves<BranchId>>,
    pub tier_moves_by_manager: Vec<GroupTierMoves<StaffId>>,
    pub customers_changing_tier: usize,
    /// The first of them, in id order.
    pub tier_changes: Vec<CustomerTierChange>,
    /// Company ranking for the month of `as_of`.
    pub ranking_moves: Vec<RankMove>,
    pub churn_flag_changes: usize,
    pub churn_moves: Vec<(ChurnRisk, ChurnRisk, usize)>,
    pub churn_changes: Vec<ChurnChange>,
    pub risk_preference_moves: Vec<(RiskPreference, RiskPreference, usize)>,
}

fn moves(m: &BTreeMap<(Tier, Tier), usize>) -> Vec<TierMove> {
    m.iter()
        .map(|((from, to), count)| TierMove {
            from: *from,
            to: *to,
            count: *count,
        })
        .collect()
}

/// Compares `old` (under `old_rules`) with `new` (under `new_rules`); lists at most `limit`
/// customers per list.
pub fn diff(
    old: &Model,
    old_rules: &RuleBook,
    position: u64,
    new: &Model,
    new_rules: &RuleBook,
    limit: usize,
) -> DryRunReport {
    let as_of = new.meta.log_date.or(old.meta.log_date);
    let on = as_of.unwrap_or(Date::MIN);
    let mut ids: Vec<CustomerId> = new
        .customers
        .iter()
        .filter(|(_, c)| c.lifecycle != Lifecycle::Merged)
        .map(|(id, _)| *id)
        .collect();
    ids.sort_unstable();
    let mut all: BTreeMap<(Tier, Tier), usize> = BTreeMap::new();
    let mut by_branch: BTreeMap<Option<BranchId>, BTreeMap<(Tier, Tier), usize>> = BTreeMap::new();
    let mut by_manager: BTreeMap<Option<StaffId>, BTreeMap<(Tier, Tier), usize>> = BTreeMap::new();
    let mut tier_changes = Vec::new();
    let mut changing = 0;
    let mut churn_moves: BTreeMap<(ChurnRisk, ChurnRisk), usize> = BTreeMap::new();
    let mut churn_changes = Vec::new();
    let mut churn_changing = 0;
    let mut risk_moves: BTreeMap<(RiskPreference, RiskPreference), usize> = BTreeMap::new();
    for id in &ids {
        let (Some(n), Some(o)) = (new.customers.get(id), old.customers.get(id)) else {
            continue;
        };
        let (from, to) = (o.derived.tier, n.derived.tier);
        if from != to {
            changing += 1;
            *all.entry((from, to)).or_default() += 1;
            *by_branch
                .entry(n.branch())
                .or_default()
                .entry((from, to))
                .or_default() += 1;
            *by_manager
                .entry(n.manager())
                .or_default()
                .entry((from, to))
                .or_default() += 1;
            if tier_changes.len() < limit {
                tier_changes.push(CustomerTierChange {
                    customer: *id,
                    name: n.profile.name.as_str().to_string(),
                    branch: n.branch(),
                    manager: n.manager(),
                    from,
                    to,
                    score_from_centi: o.derived.score_centi,
                    score_to_centi: n.derived.score_centi,
                });
            }
        }
        let cf = derive::churn_in(old, o, old_rules, on);
        let ct = derive::churn_in(new, n, new_rules, on);
        if cf.risk != ct.risk {
            churn_changing += 1;
            *churn_moves.entry((cf.risk, ct.risk)).or_default() += 1;
            if churn_changes.len() < limit {
                churn_changes.push(ChurnChange {
                    customer: *id,
                    from: cf.risk,
                    to: ct.risk,
                    reason: ct.reason,
                });
            }
        }
        let (rf, rt) = (o.derived.risk_preference, n.derived.risk_preference);
        if rf != rt {
            *risk_moves.entry((rf, rt)).or_default() += 1;
        }
    }
    let period = Period::month_of(on);
    let before: BTreeMap<StaffId, (usize, i64)> =
        views::company_performance(old, old_rules, period)
            .into_iter()
            .map(|p| (p.staff, (p.rank_in_company, p.kpi.composite_centi)))
            .collect();
    let mut ranking_moves = Vec::new();
    let mut after = views::company_performance(new, new_rules, period);
    after.sort_unstable_by_key(|p| p.staff);
    for p in after {
        if let Some((rank, composite)) = before.get(&p.staff) {
            if *rank != p.rank_in_company {
                ranking_moves.push(RankMove {
                    staff: p.staff,
                    name: p.name.clone(),
                    rank_from: *rank,
                    rank_to: p.rank_in_company,
                    composite_from_centi: *composite,
                    composite_to_centi: p.kpi.composite_centi,
                });
            }
        }
    }
    DryRunReport {
        from_rules_version: old_rules.version,
        from_rules_hash: old_rules.hash.clone(),
        to_rules_version: new_rules.version,
        to_rules_hash: new_rules.hash.clone(),
        position,
        as_of,
        customers_compared: ids.len(),
        tier_moves: moves(&all),
        tier_moves_by_branch: by_branch
            .iter()
            .map(|(g, m)| GroupTierMoves {
                group: *g,
                moves: moves(m),
            })
            .collect(),
        tier_moves_by_manager: by_manager
            .iter()
            .map(|(g, m)| GroupTierMoves {
                group: *g,
                moves: moves(m),
            })
            .collect(),
        customers_changing_tier: changing,
        tier_changes,
        ranking_moves,
        churn_flag_changes: churn_changing,
        churn_moves: churn_moves
            .into_iter()
            .map(|((a, b), n)| (a, b, n))
            .collect(),
        churn_changes,
        risk_preference_moves: risk_moves
            .into_iter()
            .map(|((a, b), n)| (a, b, n))
            .collect(),
    }
}
