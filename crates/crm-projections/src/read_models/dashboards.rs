//! Branch dashboards and ranking: each branch's stock figures and daily flows, market
//! totals for market share, and the ranking of branches.

use std::collections::BTreeMap;

use crm_domain::customer::{CustomerKind, Lifecycle};
use crm_domain::ids::{BranchId, CustomerId, RegionId};
use crm_domain::values::Channel;
use crm_domain::{market, Money};
use rustc_hash::FxHashSet;
use serde::{Deserialize, Serialize};
use time::{Date, Month};

use crate::derive::Tier;
use crate::model::{madd, Flows, Model, Totals, ASSET_CLASSES, MARKETS};
use crate::read_models::banking::{outlet_banking, OutletBanking};
use crate::read_models::churn_figures::{branch_churns, BranchChurn};
use crate::read_models::performance::{
    bp, kpi, leaderboard, net_moves, note_acquired, note_tier_move, served, KpiExplain, KpiGroup,
    KpiInput, LeaderboardScope, NetMove, Period, StaffPerformance, TierMove,
};
use crate::rules::{KpiRole, RuleBook};

/// A branch's figures of one business day: the flows of that day and the stock at its end.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BranchDay {
    pub flows: Flows,
    /// The stock at the end of the day.
    pub totals: Totals,
    /// What the day's facts changed in the stock: `totals` is the previous day's plus this.
    #[serde(default)]
    pub change: Totals,
    /// Customers of the branch whose tier moved this day, sorted by customer: one entry each
    /// (the tier before the day's first move and after its last), so a period's upgrades are
    /// customers, not threshold crossings, as in a staff member's month.
    #[serde(default)]
    pub tier_moves: Vec<TierMove>,
    /// Customers counted as new (新增) for the branch this day, sorted: their first scoring
    /// in the period is their acquisition, not an upgrade.
    #[serde(default)]
    pub acquired: Vec<CustomerId>,
    /// The range of log positions that changed this day (for explanations).
    pub first_position: u64,
    pub last_position: u64,
}

impl BranchDay {
    /// Records that `customer`'s tier moved from `from` to `to` this day.
    pub(crate) fn tier_move(&mut self, customer: CustomerId, from: Tier, to: Tier) {
        note_tier_move(&mut self.tier_moves, customer, from, to);
    }

    /// Records that `customer` was acquired this day.
    pub(crate) fn acquired(&mut self, customer: CustomerId) {
        note_acquired(&mut self.acquired, customer);
    }
}

/// A branch's running totals and the days it has figures for.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BranchRecord {
    pub totals: Totals,
    /// Sorted.
    pub days: Vec<Date>,
}

pub(crate) fn apply_market(m: &mut Model, e: &market::Event) {
    let (trade_date, mkt, totals) = match e {
        market::Event::MarketTotalsRecorded {
            trade_date,
            market,
            totals,
            ..
        }
        | market::Event::MarketTotalsCorrected {
            trade_date,
            market,
            totals,
            ..
        } => (trade_date, market, totals),
    };
    let day = m
        .meta
        .market_totals
        .entry(*trade_date)
        .or_insert([Money::ZERO; MARKETS]);
    day[(*mkt as usize).min(MARKETS - 1)] = totals.turnover;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BranchPeriod {
    Day(Date),
    Month { year: i32, month: u8 },
}

impl BranchPeriod {
    /// The period before this one, of the same kind: the day before, the month before.
    pub fn previous(self) -> BranchPeriod {
        match self {
            BranchPeriod::Day(d) => BranchPeriod::Day(d.previous_day().unwrap_or(d)),
            BranchPeriod::Month { year, month } if month <= 1 => BranchPeriod::Month {
                year: year.saturating_sub(1),
                month: 12,
            },
            BranchPeriod::Month { year, month } => BranchPeriod::Month {
                year,
                month: month - 1,
            },
        }
    }

    pub(crate) fn range(self) -> (Date, Date) {
        match self {
            BranchPeriod::Day(d) => (d, d),
            BranchPeriod::Month { year, month } => {
                let mo = Month::try_from(month.clamp(1, 12)).unwrap_or(Month::January);
                let first = Date::from_calendar_date(year, mo, 1).unwrap_or(Date::MIN);
                let last = Date::from_calendar_date(year, mo, mo.length(year)).unwrap_or(first);
                (first, last)
            }
        }
    }
}

/// 营业部看板.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BranchDashboard {
    pub branch: BranchId,
    pub name: String,
    pub region: Option<RegionId>,
    pub period: BranchPeriod,
    /// Stock figures at the end of the period.
    pub totals: Totals,
    pub customers_by_tier: BTreeMap<Tier, i64>,
    pub customers_by_lifecycle: Vec<(Lifecycle, i64)>,
    pub customers_by_kind: Vec<(CustomerKind, i64)>,
    pub customers_by_source_channel: Vec<(Channel, i64)>,
    pub customers_by_region: BTreeMap<RegionId, i64>,
    pub assets: Money,
    pub assets_by_class: [Money; ASSET_CLASSES],
    /// Flow figures summed over the period.
    pub flows: Flows,
    pub net_inflow: Money,
    /// Share of customers whose holdings are in profit, basis points.
    pub in_profit_bp: i64,
    /// Branch turnover over market turnover, basis points (万分之), when market totals exist
    /// for the period.
    pub market_share_bp: Option<i64>,
    pub rank_among_branches: usize,
    pub branches_ranked: usize,
    pub top_managers: Vec<StaffPerformance>,
    /// The outlet's bank business over the period (issue 17).
    pub banking: OutletBanking,
}

pub(crate) const LIFECYCLES_ALL: [Lifecycle; 6] = [
    Lifecycle::Prospect,
    Lifecycle::Active,
    Lifecycle::Dormant,
    Lifecycle::Churned,
    Lifecycle::Closed,
    Lifecycle::Merged,
];

pub(crate) const CHANNELS_ALL: [Channel; 10] = [
    Channel::Counter,
    Channel::Phone,
    Channel::CallCentre,
    Channel::App,
    Channel::Internet,
    Channel::Email,
    Channel::WeChat,
    Channel::BankCounter,
    Channel::SelfService,
    Channel::Visit,
];

/// The churn (`churn_kpi`) of each period: a branch's are the customers lost while it served
/// them, counted by the fold (`churn_figures`) for days and months.
pub(crate) fn churns_of(m: &Model, rules: &RuleBook, periods: &[BranchPeriod]) -> Vec<BranchChurn> {
    let ranges: Vec<(Date, Date)> = periods.iter().map(|p| p.range()).collect();
    branch_churns(m, rules.churn.churned_days, &ranges)
}

/// A branch's stock before the period starts, at its end, and the period's flows, with
/// `upgraded` and `downgraded` counting distinct customers whose tier at the period's end is
/// above (below) their tier at its start, customers new in the period excluded: the staff
/// appraisal's definition, so a branch's upgrades are the sum of what its people are credited.
pub(crate) fn branch_figures_from(
    m: &Model,
    branch: BranchId,
    period: BranchPeriod,
    churn: &BranchChurn,
) -> Option<(Totals, Totals, Flows)> {
    let rec = m.branches.get(&branch)?;
    let (from, to) = period.range();
    let mut flows = Flows::default();
    let mut start = None;
    let mut totals = None;
    let mut moves: BTreeMap<CustomerId, NetMove> = BTreeMap::new();
    // A hash set: in a branch's first month every customer is new (an import, the demo).
    let mut acquired: FxHashSet<CustomerId> = FxHashSet::default();
    for d in rec.days.iter().copied().filter(|d| *d <= to) {
        if let Some(bd) = m.branch_days.get(&(branch, d)) {
            if d >= from {
                flows.add_flows(&bd.flows);
                let index = u32::try_from(d.to_julian_day()).unwrap_or(0);
                for mv in &bd.tier_moves {
                    NetMove::extend(&mut moves, mv, index);
                }
                acquired.extend(bd.acquired.iter().copied());
            } else {
                start = Some(&bd.totals);
            }
            totals = Some(&bd.totals);
        }
    }
    (flows.upgraded, flows.downgraded) = net_moves(&moves, |c| acquired.contains(c));
    // Churn is the stock comparison of `churn_kpi` (customers new in the period excluded), as
    // for the branch's people.
    flows.churned = churn.lost(m, branch, &acquired);
    Some((
        start.cloned().unwrap_or_default(),
        totals.cloned().unwrap_or_default(),
        flows,
    ))
}

pub(crate) fn market_turnover(m: &Model, period: BranchPeriod) -> Option<Money> {
    let (from, to) = period.range();
    let mut total = Money::ZERO;
    let mut any = false;
    for (_, v) in m.meta.market_totals.range(from..=to) {
        any = true;
        for x in v.iter().take(MARKETS) {
            total = madd(total, *x);
        }
    }
    (any && total > Money::ZERO).then_some(total)
}

/// One branch in the ranking (by KPI composite with the branch weights, `[kpi.branch]` or the
/// company's, then assets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BranchRank {
    pub branch: BranchId,
    pub name: String,
    pub rank: usize,
    pub customers: i64,
    pub assets: Money,
    pub net_inflow: Money,
    pub commission: Money,
    pub market_share_bp: Option<i64>,
    /// 客户满意度: mean satisfaction × 100 (1.00–5.00) of the branch's tickets whose SLA
    /// deadline falls in the period, as their customers scored them on closing; None when
    /// none was scored.
    pub satisfaction_centi: Option<i64>,
    pub satisfaction_responses: i64,
    pub kpi: KpiExplain,
    /// The branch's rank in the previous period of the same kind ([`BranchPeriod::previous`]);
    /// None when it had no figures by that period's end.
    pub previous_rank: Option<usize>,
    /// `previous_rank − rank`: positive for a move up (东吴: 排名变化).
    pub rank_change: Option<i64>,
}

/// The ranking of branches in `period`, each with its rank and rank change against the
/// previous period of the same kind (the day before, the month before).
pub fn branch_ranking(m: &Model, rules: &RuleBook, period: BranchPeriod) -> Vec<BranchRank> {
    let churns = churns_of(m, rules, &[period, period.previous()]);
    let none = BranchChurn::default();
    let now = churns.first().unwrap_or(&none);
    let before = churns.get(1).unwrap_or(&none);
    branch_ranking_with(m, rules, period, now, before)
}

/// [`branch_ranking`] with the period's churn and the previous period's already computed.
pub(crate) fn branch_ranking_with(
    m: &Model,
    rules: &RuleBook,
    period: BranchPeriod,
    churn: &BranchChurn,
    churn_before: &BranchChurn,
) -> Vec<BranchRank> {
    let previous = period.previous();
    let (_, previous_end) = previous.range();
    let had_figures = |b: &BranchId| {
        m.branches
            .get(b)
            .and_then(|rec| rec.days.first())
            .is_some_and(|first| *first <= previous_end)
    };
    let before: BTreeMap<BranchId, usize> = rank_branches(m, rules, previous, churn_before)
        .into_iter()
        .filter(|r| had_figures(&r.branch))
        .map(|r| (r.branch, r.rank))
        .collect();
    let mut out = rank_branches(m, rules, period, churn);
    for r in &mut out {
        r.previous_rank = before.get(&r.branch).copied();
        r.rank_change = r.previous_rank.map(|p| {
            i64::try_from(p)
                .unwrap_or(i64::MAX)
                .saturating_sub(i64::try_from(r.rank).unwrap_or(i64::MAX))
        });
    }
    out
}

/// The ranking of branches in `period` alone (no rank change).
fn rank_branches(
    m: &Model,
    rules: &RuleBook,
    period: BranchPeriod,
    churn: &BranchChurn,
) -> Vec<BranchRank> {
    let market = market_turnover(m, period);
    let mut branches: Vec<(BranchId, Totals, Flows)> = Vec::new();
    let mut inputs: Vec<KpiInput> = Vec::new();
    let mut ids: Vec<BranchId> = m.branches.iter().map(|(b, _)| *b).collect();
    ids.sort_unstable();
    for b in ids {
        if let Some((start, end, flows)) = branch_figures_from(m, b, period, churn) {
            inputs.push(KpiInput::of(&flows, served(&start), served(&end)));
            branches.push((b, end, flows));
        }
    }
    let group = KpiGroup::of(&inputs);
    let (from, to) = period.range();
    let satisfaction = |b: BranchId| {
        m.ticket_figures.satisfaction(
            crate::read_models::ticket_figures::SlaSlot::Branch(b),
            from,
            to,
        )
    };
    let mut out: Vec<BranchRank> = branches
        .into_iter()
        .zip(inputs)
        .map(|((b, t, f), input)| {
            let (satisfaction_sum, satisfaction_responses) = satisfaction(b);
            BranchRank {
                branch: b,
                name: m
                    .meta
                    .branches
                    .get(&b)
                    .map(|x| x.name.clone())
                    .unwrap_or_default(),
                rank: 0,
                customers: t.customers,
                assets: t.assets,
                net_inflow: f.net_inflow(),
                commission: f.commission,
                market_share_bp: market.map(|mk| bp(f.turnover.minor(), mk.minor())),
                satisfaction_centi: (satisfaction_responses > 0)
                    .then(|| satisfaction_sum * 100 / satisfaction_responses),
                satisfaction_responses,
                kpi: kpi(&input, &group, rules, Some(KpiRole::Branch)),
                previous_rank: None,
                rank_change: None,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.kpi
            .composite_centi
            .cmp(&a.kpi.composite_centi)
            .then(b.assets.cmp(&a.assets))
            .then(a.branch.cmp(&b.branch))
    });
    for (i, r) in out.iter_mut().enumerate() {
        r.rank = i + 1;
    }
    out
}

pub fn branch_dashboard(
    m: &Model,
    rules: &RuleBook,
    branch: BranchId,
    period: BranchPeriod,
) -> Option<BranchDashboard> {
    let churns = churns_of(m, rules, &[period]);
    let none = BranchChurn::default();
    let churn = churns.first().unwrap_or(&none);
    let (_, totals, flows) = branch_figures_from(m, branch, period, churn)?;
    let ranking = rank_branches(m, rules, period, churn);
    let rank = ranking
        .iter()
        .find(|r| r.branch == branch)
        .map_or(0, |r| r.rank);
    let (from, to) = period.range();
    let month = Period::month_of(to);
    let top_managers: Vec<StaffPerformance> =
        leaderboard(m, rules, LeaderboardScope::Branch(branch), month)
            .into_iter()
            .take(5)
            .collect();
    let info = m.meta.branches.get(&branch);
    Some(BranchDashboard {
        branch,
        name: info.map(|b| b.name.clone()).unwrap_or_default(),
        region: info.map(|b| b.region),
        period,
        customers_by_tier: Tier::ALL
            .iter()
            .map(|t| (*t, totals.by_tier[*t as usize]))
            .collect(),
        customers_by_lifecycle: LIFECYCLES_ALL
            .iter()
            .map(|l| (*l, totals.by_lifecycle[*l as usize]))
            .collect(),
        customers_by_kind: [CustomerKind::Individual, CustomerKind::Institutional]
            .iter()
            .map(|k| (*k, totals.by_kind[*k as usize]))
            .collect(),
        customers_by_source_channel: CHANNELS_ALL
            .iter()
            .map(|c| (*c, totals.by_channel[*c as usize]))
            .collect(),
        customers_by_region: totals
            .by_region
            .iter()
            .filter(|(_, n)| **n != 0)
            .map(|(r, n)| (*r, *n))
            .collect(),
        assets: totals.assets,
        assets_by_class: totals.holdings,
        net_inflow: flows.net_inflow(),
        in_profit_bp: bp(totals.in_profit, totals.customers),
        market_share_bp: market_turnover(m, period)
            .map(|mk| bp(flows.turnover.minor(), mk.minor())),
        rank_among_branches: rank,
        branches_ranked: ranking.len(),
        top_managers,
        banking: outlet_banking(m, branch, from, to),
        flows,
        totals,
    })
}
