//! Staff performance and the KPI: each staff member's book and monthly flows, the
//! composite under the rules' weights, and leaderboards.

use std::collections::{BTreeMap, BTreeSet};

use crm_domain::auth::{Role, Scope};
use crm_domain::customer::Lifecycle;
use crm_domain::ids::{BranchId, CustomerId, RegionId, StaffId, TeamId};
use crm_domain::Money;
use serde::{Deserialize, Serialize};
use time::Date;

use crate::derive::Tier;
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
    /// Customers whose tier moved this month while this staff member served them, sorted by
    /// customer: one entry each (the tier before the month's first move and after its last),
    /// however often they crossed a threshold.
    pub tier_moves: Vec<TierMove>,
    /// Customers counted as new (新增) for this staff member this month, sorted.
    pub acquired: Vec<CustomerId>,
    /// The range of log positions that changed this month (for explanations).
    pub first_position: u64,
    pub last_position: u64,
}

/// A customer's tier move within a month: from the tier before its first move to the tier
/// after its last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierMove {
    pub customer: CustomerId,
    pub from: Tier,
    pub to: Tier,
}

impl StaffMonth {
    /// Records that `customer`'s tier moved from `from` to `to`.
    pub(crate) fn tier_move(&mut self, customer: CustomerId, from: Tier, to: Tier) {
        match self
            .tier_moves
            .binary_search_by_key(&customer, |m| m.customer)
        {
            Ok(i) => self.tier_moves[i].to = to,
            Err(i) => self.tier_moves.insert(i, TierMove { customer, from, to }),
        }
    }
}

/// A staff member: who, where, and their book (客户经理的客户).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffRecord {
    pub id: StaffId,
    pub name: String,
    pub role: Option<Role>,
    pub scope: Option<Scope>,
    pub left: bool,
    /// Tokens issued before this instant were revoked.
    pub tokens_valid_from: Option<time::OffsetDateTime>,
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
            tokens_valid_from: None,
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
    /// A calendar quarter (1–4).
    Quarter {
        year: i32,
        quarter: u8,
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
            Period::Quarter { year, quarter } => {
                let q = quarter.clamp(1, 4);
                (idx(year, q * 3 - 2), idx(year, q * 3))
            }
        }
    }
}

/// One KPI term: the count and the rate, the best of each in the comparison group, the weight
/// and the points. New customers, churn and upgrades blend a count share and a rate share
/// (`[kpi] count_share_pct`); average profitability is a per-customer figure alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KpiTerm {
    pub name: String,
    /// Basis points of `base` for rates (0 when `base` is 0: no rate, the count alone
    /// scores); money minor units per customer for profitability.
    pub value: i64,
    /// The rate normaliser: the group's best (for churn, the group's worst).
    pub group_best: i64,
    /// Customers counted (new, churned, upgraded); None for profitability.
    pub count: Option<i64>,
    /// The count normaliser: the group's best (for churn, the group's worst).
    pub group_best_count: Option<i64>,
    /// What the rate is of: customers served at the start of the period.
    pub base: Option<i64>,
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
    /// Customers served at the start of the period: what the rates are of.
    pub customers_at_start: i64,
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
    /// The period's flows; `upgraded` and `downgraded` count distinct customers.
    flows: Flows,
    book: Totals,
    book_at_start: Totals,
    sources: Vec<(u32, u64, u64)>,
}

fn staff_raw(m: &Model, staff: StaffId, period: Period) -> Option<Raw> {
    let rec = m.staff.get(&staff)?;
    let (from, to) = period.months();
    let mut flows = Flows::default();
    let mut book = None;
    let mut book_at_start = None;
    let mut sources = Vec::new();
    // Per customer: the tier before the period's first move and after its last.
    let mut moves: BTreeMap<CustomerId, (Tier, Tier)> = BTreeMap::new();
    let mut acquired: BTreeSet<CustomerId> = BTreeSet::new();
    for month in rec.months.iter().copied().filter(|mo| *mo <= to) {
        if let Some(sm) = m.staff_months.get(&(staff, month)) {
            if month >= from {
                flows.add_flows(&sm.flows);
                sources.push((month, sm.first_position, sm.last_position));
                for mv in &sm.tier_moves {
                    moves
                        .entry(mv.customer)
                        .and_modify(|e| e.1 = mv.to)
                        .or_insert((mv.from, mv.to));
                }
                acquired.extend(sm.acquired.iter().copied());
            } else {
                book_at_start = Some(&sm.book);
            }
            book = Some(&sm.book);
        }
    }
    // Upgrades are customers, not threshold crossings: a customer whose tier at the period's
    // end is above their tier at its start, customers new in the period excluded (their first
    // scoring is their acquisition, not an upgrade).
    let net = moves
        .iter()
        .filter(|(c, _)| !acquired.contains(*c))
        .map(|(_, (from, to))| to.cmp(from));
    let (mut up, mut down) = (0, 0);
    for o in net {
        match o {
            std::cmp::Ordering::Greater => up += 1,
            std::cmp::Ordering::Less => down += 1,
            std::cmp::Ordering::Equal => {}
        }
    }
    flows.upgraded = up;
    flows.downgraded = down;
    Some(Raw {
        staff,
        flows,
        book: book.cloned().unwrap_or_default(),
        book_at_start: book_at_start.cloned().unwrap_or_default(),
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

/// What a record's KPI is computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct KpiInput {
    /// New, churned and upgraded customers in the period.
    pub counts: [i64; 3],
    /// Customers served at the period's start: what the rates are of (0: no rates).
    pub base: i64,
    /// Average profitability: commission per customer served (money minor units).
    pub profitability: i64,
}

impl KpiInput {
    pub(crate) fn of(flows: &Flows, base: i64, served_now: i64) -> KpiInput {
        KpiInput {
            counts: [flows.new_customers, flows.churned, flows.upgraded],
            base: base.max(0),
            profitability: flows.commission.minor() / served_now.max(1),
        }
    }

    /// The rates in basis points of the base (0 without a base).
    fn rates(&self) -> [i64; 3] {
        self.counts.map(|c| bp(c, self.base))
    }
}

/// The comparison group's normalisers: the best count and rate of each term (for churn, the
/// worst), and the best profitability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct KpiGroup {
    counts: [i64; 3],
    rates: [i64; 3],
    profitability: i64,
}

impl KpiGroup {
    pub(crate) fn of<'a>(inputs: impl IntoIterator<Item = &'a KpiInput>) -> KpiGroup {
        let mut g = KpiGroup::default();
        for i in inputs {
            for (best, count) in g.counts.iter_mut().zip(i.counts) {
                *best = (*best).max(count);
            }
            for (best, rate) in g.rates.iter_mut().zip(i.rates()) {
                *best = (*best).max(rate);
            }
            g.profitability = g.profitability.max(i.profitability);
        }
        g
    }
}

/// The share (basis points of the weight) a value earns against its normaliser; churn counts
/// the other way: the group's worst scores 0 and none scores the full weight.
fn share(value: i64, normaliser: i64, fewer_is_better: bool) -> i64 {
    let (v, n) = (value.max(0), normaliser.max(0));
    if fewer_is_better {
        if n == 0 {
            10_000
        } else {
            10_000 - bp(v, n).min(10_000)
        }
    } else {
        bp(v, n).min(10_000)
    }
}

/// Scores one record against its group under the rules' weights. New customers, churn and
/// upgrades each blend the count's share (`count_share_pct`) with the rate's share, so a
/// small book's rate does not beat a large book's numbers; without customers at the period's
/// start there is no rate and the count alone scores.
pub(crate) fn kpi(input: &KpiInput, group: &KpiGroup, rules: &RuleBook) -> KpiExplain {
    let w = &rules.kpi;
    let count_pct = i64::from(w.count_share_pct.min(100));
    let weights = [w.new_customer_rate, w.churn_rate, w.upgrade_rate];
    let names = ["new_customer_rate", "churn_rate", "upgrade_rate"];
    let rates = input.rates();
    let mut terms = Vec::new();
    for k in 0..3 {
        let churn = k == 1;
        let by_count = share(input.counts[k], group.counts[k], churn);
        let earned = if input.base > 0 {
            let by_rate = share(rates[k], group.rates[k], churn);
            (by_count * count_pct + by_rate * (100 - count_pct)) / 100
        } else {
            by_count
        };
        terms.push(KpiTerm {
            name: names[k].into(),
            value: rates[k],
            group_best: group.rates[k],
            count: Some(input.counts[k]),
            group_best_count: Some(group.counts[k]),
            base: Some(input.base),
            weight: weights[k],
            points_centi: i64::from(weights[k]) * earned / 100,
        });
    }
    let wt = w.average_profitability;
    terms.push(KpiTerm {
        name: "average_profitability".into(),
        value: input.profitability,
        group_best: group.profitability,
        count: None,
        group_best_count: None,
        base: None,
        weight: wt,
        points_centi: i64::from(wt) * share(input.profitability, group.profitability, false) / 100,
    });
    KpiExplain {
        rules_version: rules.version,
        rules_hash: rules.hash.clone(),
        composite_centi: terms.iter().map(|t| t.points_centi).sum(),
        terms,
    }
}

/// Customers served: the active and dormant customers of a book. Prospects are not customers
/// yet, and churned or closed ones are lost (they stay in the status counts, but must not
/// flatter the rates).
pub(crate) fn served(t: &Totals) -> i64 {
    t.by_lifecycle[Lifecycle::Active as usize] + t.by_lifecycle[Lifecycle::Dormant as usize]
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
    let inputs: Vec<KpiInput> = raws
        .iter()
        .map(|r| KpiInput::of(&r.flows, served(&r.book_at_start), served(&r.book)))
        .collect();
    let group = KpiGroup::of(&inputs);
    let mut out: Vec<StaffPerformance> = raws
        .iter()
        .zip(inputs)
        .map(|(r, input)| {
            let s = m.staff.get(&r.staff);
            StaffPerformance {
                staff: r.staff,
                name: s.map(|s| s.name.clone()).unwrap_or_default(),
                role: s.and_then(|s| s.role),
                branch: s.and_then(|s| s.branch()),
                team: s.and_then(|s| s.team()),
                period,
                customers_served: served(&r.book),
                customers_at_start: input.base,
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
                kpi: kpi(&input, &group, rules),
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
    fn kpi_terms_blend_count_and_rate_and_churn_counts_the_other_way() {
        let rules = RuleBook::default_rules().unwrap();
        // A 500-customer book with 100 new against a 3-customer book with 1 new: the count
        // share (100% against 1%) and the rate share (20% of the best 33.33%: 60%, against
        // 100%) blend half and half.
        let big = KpiInput {
            counts: [100, 0, 0],
            base: 500,
            profitability: 0,
        };
        let small = KpiInput {
            counts: [1, 0, 0],
            base: 3,
            profitability: 0,
        };
        let group = KpiGroup::of([&big, &small]);
        let (b, s) = (kpi(&big, &group, &rules), kpi(&small, &group, &rules));
        // 20 × (100% + 60%) / 2 = 16.00 points; 20 × (1% + 100%) / 2 = 10.10 points.
        assert_eq!(b.terms[0].points_centi, 1600);
        assert_eq!(s.terms[0].points_centi, 1010);
        assert!(b.composite_centi > s.composite_centi);
        // No churn anywhere: everyone earns the churn weight (30 points).
        assert_eq!(b.terms[1].points_centi, 3000);
        // The worst churn scores nothing; without a book at the start the count alone scores.
        let churner = KpiInput {
            counts: [0, 4, 0],
            base: 0,
            profitability: 0,
        };
        let group = KpiGroup::of([&big, &churner]);
        assert_eq!(kpi(&churner, &group, &rules).terms[1].points_centi, 0);
        assert_eq!(kpi(&churner, &group, &rules).terms[1].base, Some(0));
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
