//! Staff performance and the KPI: each staff member's book and monthly flows, the
//! composite under the rules' weights, and leaderboards.

use std::collections::BTreeMap;

use crm_domain::auth::{Role, Scope};
use crm_domain::customer::Lifecycle;
use crm_domain::ids::{BranchId, RegionId, StaffId, TeamId};
use crm_domain::Money;
use serde::{Deserialize, Serialize};
use time::Date;

use crate::model::{month_index, Flows, Model, Totals};
use crate::rules::RuleBook;

/// A staff member's figures of one month: flows and their book at its end.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StaffMonth {
    pub flows: Flows,
    /// The book at the end of the month.
    pub book: Totals,
    /// What the month's facts changed in the book: `book` is the previous month's plus this.
    #[serde(default)]
    pub change: Totals,
    /// The range of log positions that changed this month (for explanations).
    pub first_position: u64,
    pub last_position: u64,
}

/// A staff member: who, where, and their book (客户经理的客户).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffRecord {
    pub id: StaffId,
    pub name: String,
    pub role: Option<Role>,
    pub scope: Option<Scope>,
    pub left: bool,
    pub book: Totals,
    /// Sorted month indexes with figures.
    pub months: Vec<u32>,
}

impl StaffRecord {
    pub(crate) fn new(id: StaffId) -> StaffRecord {
        StaffRecord {
            id,
            name: String::new(),
            role: None,
            scope: None,
            left: false,
            book: Totals::default(),
            months: Vec::new(),
        }
    }

    pub fn branch(&self) -> Option<BranchId> {
        match self.scope {
            Some(Scope::Branch { branch }) | Some(Scope::Book { branch, .. }) => Some(branch),
            _ => None,
        }
    }

    pub fn team(&self) -> Option<TeamId> {
        match self.scope {
            Some(Scope::Book { team, .. }) => team,
            _ => None,
        }
    }
}

/// A reporting period (考核期).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Period {
    Month {
        year: i32,
        month: u8,
    },
    /// January to `month` of `year` (年初至今).
    YearToDate {
        year: i32,
        month: u8,
    },
}

impl Period {
    /// The period holding a date.
    pub fn month_of(d: Date) -> Period {
        Period::Month {
            year: d.year(),
            month: u8::from(d.month()),
        }
    }

    fn months(self) -> (u32, u32) {
        let idx = |y: i32, mo: u8| {
            u32::try_from(y.max(0)).unwrap_or(0) * 12 + u32::from(mo.clamp(1, 12)) - 1
        };
        match self {
            Period::Month { year, month } => (idx(year, month), idx(year, month)),
            Period::YearToDate { year, month } => (idx(year, 1), idx(year, month)),
        }
    }
}

/// One KPI term: the rate, the best in the comparison group, the weight and the points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KpiTerm {
    pub name: String,
    /// Basis points for rates; 1/10000 CNY for profitability.
    pub value: i64,
    /// The normaliser: the group's best (for churn, the group's worst).
    pub group_best: i64,
    pub weight: u32,
    pub points_centi: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KpiExplain {
    pub rules_version: u32,
    pub rules_hash: String,
    pub terms: Vec<KpiTerm>,
    pub composite_centi: i64,
}

/// A customer manager's or broker's performance in a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffPerformance {
    pub staff: StaffId,
    pub name: String,
    pub role: Option<Role>,
    pub branch: Option<BranchId>,
    pub team: Option<TeamId>,
    pub period: Period,
    pub customers_served: i64,
    pub new_customers: i64,
    pub churned: i64,
    pub upgraded: i64,
    pub downgraded: i64,
    pub assets: Money,
    pub net_inflow: Money,
    pub commission: Money,
    pub turnover: Money,
    pub contacts: i64,
    pub won_amount: Money,
    pub average_contribution_centi: i64,
    pub kpi: KpiExplain,
    pub rank_in_branch: usize,
    pub rank_in_company: usize,
    /// Where the figures came from: (month index, first and last log position that changed
    /// the month's figures) for each month of the period with figures.
    pub sources: Vec<(u32, u64, u64)>,
}

struct Raw {
    staff: StaffId,
    flows: Flows,
    book: Totals,
    sources: Vec<(u32, u64, u64)>,
}

fn staff_raw(m: &Model, staff: StaffId, period: Period) -> Option<Raw> {
    let rec = m.staff.get(&staff)?;
    let (from, to) = period.months();
    let mut flows = Flows::default();
    let mut book = None;
    let mut sources = Vec::new();
    for month in rec.months.iter().copied().filter(|mo| *mo <= to) {
        if let Some(sm) = m.staff_months.get(&(staff, month)) {
            if month >= from {
                flows.add_flows(&sm.flows);
                sources.push((month, sm.first_position, sm.last_position));
            }
            book = Some(&sm.book);
        }
    }
    Some(Raw {
        staff,
        flows,
        book: book.cloned().unwrap_or_default(),
        sources,
    })
}

pub(crate) fn bp(n: i64, d: i64) -> i64 {
    if d <= 0 {
        0
    } else {
        i64::try_from(i128::from(n) * 10_000 / i128::from(d)).unwrap_or(i64::MAX)
    }
}

/// The four KPI values of a raw record: new, churn, upgrade rates (bp) and commission per
/// customer served (money minor units).
pub(crate) fn kpi_values(flows: &Flows, served: i64) -> [i64; 4] {
    let base = served.max(1);
    [
        bp(flows.new_customers, base),
        bp(flows.churned, base),
        bp(flows.upgraded, base),
        flows.commission.minor() / base,
    ]
}

/// Normalises each value to the group's best and weights it. Churn counts the other way:
/// the group's worst churn scores 0 and no churn scores the full weight.
pub(crate) fn kpi(values: [i64; 4], best: [i64; 4], rules: &RuleBook) -> KpiExplain {
    let w = &rules.kpi;
    let weights = [
        w.new_customer_rate,
        w.churn_rate,
        w.upgrade_rate,
        w.average_profitability,
    ];
    let names = [
        "new_customer_rate",
        "churn_rate",
        "upgrade_rate",
        "average_profitability",
    ];
    let mut terms = Vec::new();
    for k in 0..4 {
        let (v, b, wt) = (values[k].max(0), best[k].max(0), weights[k]);
        let share = if k == 1 {
            if b == 0 {
                10_000
            } else {
                10_000 - bp(v, b).min(10_000)
            }
        } else {
            bp(v, b).min(10_000)
        };
        terms.push(KpiTerm {
            name: names[k].into(),
            value: values[k],
            group_best: best[k],
            weight: wt,
            points_centi: i64::from(wt) * share / 100,
        });
    }
    KpiExplain {
        rules_version: rules.version,
        rules_hash: rules.hash.clone(),
        composite_centi: terms.iter().map(|t| t.points_centi).sum(),
        terms,
    }
}

/// Customers served: the book without churned and closed customers (they stay in the
/// status counts, but a churned book must not flatter the rates).
pub(crate) fn served(t: &Totals) -> i64 {
    t.customers
        - t.by_lifecycle[Lifecycle::Churned as usize]
        - t.by_lifecycle[Lifecycle::Closed as usize]
}

fn is_book_role(r: Option<Role>) -> bool {
    matches!(r, Some(Role::CustomerManager) | Some(Role::Broker))
}

/// Everyone with a book in the company, evaluated and ranked for `period`.
pub fn company_performance(m: &Model, rules: &RuleBook, period: Period) -> Vec<StaffPerformance> {
    let mut raws: Vec<Raw> = m
        .staff
        .values()
        .filter(|s| is_book_role(s.role) || !s.months.is_empty())
        .filter_map(|s| staff_raw(m, s.id, period))
        .collect();
    raws.sort_unstable_by_key(|r| r.staff);
    let values: Vec<[i64; 4]> = raws
        .iter()
        .map(|r| kpi_values(&r.flows, served(&r.book)))
        .collect();
    let mut best = [0i64; 4];
    for v in &values {
        for k in 0..4 {
            best[k] = best[k].max(v[k]);
        }
    }
    let mut out: Vec<StaffPerformance> = raws
        .iter()
        .zip(values)
        .map(|(r, v)| {
            let s = m.staff.get(&r.staff);
            StaffPerformance {
                staff: r.staff,
                name: s.map(|s| s.name.clone()).unwrap_or_default(),
                role: s.and_then(|s| s.role),
                branch: s.and_then(|s| s.branch()),
                team: s.and_then(|s| s.team()),
                period,
                customers_served: served(&r.book),
                new_customers: r.flows.new_customers,
                churned: r.flows.churned,
                upgraded: r.flows.upgraded,
                downgraded: r.flows.downgraded,
                assets: r.book.assets,
                net_inflow: r.flows.net_inflow(),
                commission: r.flows.commission,
                turnover: r.flows.turnover,
                contacts: r.flows.contacts,
                won_amount: r.flows.won_amount,
                average_contribution_centi: r.book.score_sum_centi / r.book.customers.max(1),
                kpi: kpi(v, best, rules),
                rank_in_branch: 0,
                rank_in_company: 0,
                sources: r.sources.clone(),
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.kpi
            .composite_centi
            .cmp(&a.kpi.composite_centi)
            .then(a.staff.cmp(&b.staff))
    });
    let mut per_branch: BTreeMap<Option<BranchId>, usize> = BTreeMap::new();
    for (i, p) in out.iter_mut().enumerate() {
        p.rank_in_company = i + 1;
        let n = per_branch.entry(p.branch).or_default();
        *n += 1;
        p.rank_in_branch = *n;
    }
    out
}

pub fn staff_performance(
    m: &Model,
    rules: &RuleBook,
    staff: StaffId,
    period: Period,
) -> Option<StaffPerformance> {
    company_performance(m, rules, period)
        .into_iter()
        .find(|p| p.staff == staff)
}

/// Whose leaderboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LeaderboardScope {
    Company,
    Region(RegionId),
    Branch(BranchId),
    Team(TeamId),
}

pub fn leaderboard(
    m: &Model,
    rules: &RuleBook,
    scope: LeaderboardScope,
    period: Period,
) -> Vec<StaffPerformance> {
    company_performance(m, rules, period)
        .into_iter()
        .filter(|p| match scope {
            LeaderboardScope::Company => true,
            LeaderboardScope::Region(r) => p
                .branch
                .and_then(|b| m.meta.branches.get(&b))
                .is_some_and(|b| b.region == r),
            LeaderboardScope::Branch(b) => p.branch == Some(b),
            LeaderboardScope::Team(t) => p.team == Some(t),
        })
        .collect()
}

/// The month index of a period's end, for callers that page by month.
pub fn period_end_month(p: Period) -> u32 {
    p.months().1
}

/// The month index of a date (re-exported for callers building periods).
pub fn month_of(d: Date) -> u32 {
    month_index(d)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::read_models::dashboards::BranchPeriod;
    use time::macros::date;

    #[test]
    fn kpi_terms_are_normalised_to_the_group_and_churn_counts_the_other_way() {
        let rules = RuleBook::default_rules().unwrap();
        // Half the best new-customer rate, the worst churn, the best upgrade rate, no
        // commission.
        let k = kpi([500, 200, 300, 0], [1000, 200, 300, 40], &rules);
        let points: Vec<i64> = k.terms.iter().map(|t| t.points_centi).collect();
        assert_eq!(points, vec![1000, 0, 3000, 0]);
        assert_eq!(k.composite_centi, 4000);
        // No churn anywhere: everyone earns the churn weight.
        let k = kpi([0, 0, 0, 0], [0, 0, 0, 0], &rules);
        assert_eq!(k.composite_centi, 3000);
    }

    #[test]
    fn periods_cover_their_months() {
        assert_eq!(
            Period::Month {
                year: 2024,
                month: 3
            }
            .months(),
            (24290, 24290)
        );
        let (a, b) = Period::YearToDate {
            year: 2024,
            month: 3,
        }
        .months();
        assert_eq!((b - a), 2);
        assert_eq!(
            BranchPeriod::Month {
                year: 2024,
                month: 2
            }
            .range(),
            (date!(2024 - 02 - 01), date!(2024 - 02 - 29))
        );
    }
}
