//! Queries over a [`Model`]: pure functions that return plain data for the API — the customer
//! archive (360), customer lists and segments, staff performance and leaderboards, branch
//! dashboards and rankings, campaign, channel and service-quality views, to-do lists, and the
//! lookups the command layer needs (identity, a customer's branch/manager, the org tree).
//!
//! Anything that depends on "now" (windows, dormancy, reminders) takes the evaluation instant
//! as a parameter; `None` means the log's own latest business date, never the wall clock.

use std::collections::BTreeMap;

use crm_domain::auth::{OrgTree, Role, Scope};
use crm_domain::campaign::Response;
use crm_domain::customer::{CustomerKind, Lifecycle};
use crm_domain::ids::{BranchId, CampaignId, CustomerId, RegionId, StaffId, TeamId, TicketId};
use crm_domain::ticket::TicketKind;
use crm_domain::values::Channel;
use crm_domain::Money;
use serde::{Deserialize, Serialize};
use time::{Date, Duration, Month, OffsetDateTime};

use crate::derive::{
    self, ChurnExplain, ChurnRisk, ContributionExplain, RiskExplain, RiskPreference, Tier,
};
use crate::model::{
    business_date, madd, month_index, mscale, CustomerRecord, Flows, Model, OpportunityRecord,
    TicketRecord, TicketStatus, Totals, ASSET_CLASSES, BUSINESS_OFFSET, MARKETS,
};
use crate::rules::RuleBook;

/// "Today" for the read models: the given date, else the log's latest business date.
pub fn today(m: &Model, as_of: Option<Date>) -> Date {
    as_of.or(m.meta.log_date).unwrap_or(Date::MIN)
}

fn sum_days(
    c: &CustomerRecord,
    on: Date,
    days: i64,
    f: impl Fn(&crate::model::DayFigures) -> Money,
) -> Money {
    let from = on - Duration::days(days - 1);
    c.days
        .iter()
        .filter(|d| d.date >= from && d.date <= on)
        .fold(Money::ZERO, |a, d| madd(a, f(d)))
}

// ---------------------------------------------------------------- customer 360

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowFigures {
    pub turnover_30d: Money,
    pub turnover_90d: Money,
    /// Trailing twelve calendar months including the current one (近12个月).
    pub turnover_365d: Money,
    pub commission_30d: Money,
    pub commission_90d: Money,
    pub commission_365d: Money,
}

/// The customer archive (客户档案 / 360度视图).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer360 {
    pub as_of: Date,
    pub rules_version: u32,
    pub record: CustomerRecord,
    pub branch_name: Option<String>,
    pub manager_name: Option<String>,
    pub windows: WindowFigures,
    pub contribution_score_centi: i64,
    pub tier: Tier,
    pub risk_preference: RiskPreference,
    pub churn: ChurnExplain,
    pub suitability_valid: bool,
    pub tickets: Vec<TicketRecord>,
    pub opportunities: Vec<OpportunityRecord>,
    pub campaigns: Vec<(CampaignId, String, Response)>,
}

pub fn customer_360(
    m: &Model,
    rules: &RuleBook,
    id: CustomerId,
    as_of: Option<Date>,
) -> Option<Customer360> {
    let c = m.customers.get(&id)?;
    let on = today(m, as_of);
    let i = derive::inputs(c, on);
    let windows = WindowFigures {
        turnover_30d: sum_days(c, on, 30, |d| d.turnover),
        turnover_90d: sum_days(c, on, 90, |d| d.turnover),
        turnover_365d: i.turnover,
        commission_30d: sum_days(c, on, 30, |d| d.commission),
        commission_90d: sum_days(c, on, 90, |d| d.commission),
        commission_365d: i.commission,
    };
    Some(Customer360 {
        as_of: on,
        rules_version: rules.version,
        branch_name: c
            .branch()
            .and_then(|b| m.meta.branches.get(&b))
            .map(|b| b.name.clone()),
        manager_name: c
            .manager()
            .and_then(|s| m.staff.get(&s))
            .map(|s| s.name.clone()),
        windows,
        contribution_score_centi: c.derived.score_centi,
        tier: c.derived.tier,
        risk_preference: c.derived.risk_preference,
        churn: derive::churn(c, rules, on),
        suitability_valid: c.suitability.is_some_and(|s| s.is_valid_on(on)),
        tickets: c
            .tickets
            .iter()
            .filter_map(|t| m.tickets.get(t).cloned())
            .collect(),
        opportunities: c
            .opportunities
            .iter()
            .filter_map(|o| m.opportunities.get(o).cloned())
            .collect(),
        campaigns: c
            .campaigns
            .iter()
            .map(|(id, r)| {
                let name = m
                    .meta
                    .campaigns
                    .get(id)
                    .map(|x| x.name.clone())
                    .unwrap_or_default();
                (*id, name, *r)
            })
            .collect(),
        record: c.clone(),
    })
}

// ---------------------------------------------------------------- lists and segments

/// Which customers a list or segment holds. Every field narrows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentFilter {
    pub branch: Option<BranchId>,
    pub region: Option<RegionId>,
    pub manager: Option<StaffId>,
    pub team: Option<TeamId>,
    pub tier: Option<Tier>,
    pub risk_preference: Option<RiskPreference>,
    pub churn_risk: Option<ChurnRisk>,
    pub lifecycle: Option<Lifecycle>,
    pub kind: Option<CustomerKind>,
    pub key_customer: Option<bool>,
    pub min_assets: Option<Money>,
    /// Part of the name, or the start of the id.
    pub text: Option<String>,
    /// The date churn risk is evaluated at; `None` = the log's latest business date.
    pub as_of: Option<Date>,
}

/// One customer in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerRow {
    pub id: CustomerId,
    pub name: String,
    pub kind: CustomerKind,
    pub lifecycle: Lifecycle,
    pub branch: Option<BranchId>,
    pub manager: Option<StaffId>,
    pub team: Option<TeamId>,
    pub assets: Money,
    pub contribution_score_centi: i64,
    pub tier: Tier,
    pub risk_preference: RiskPreference,
    pub churn_risk: ChurnRisk,
    pub churn_reason: String,
    pub position: u64,
}

/// A page of a list: items after the cursor, the cursor of the last item when more follow,
/// and the total that match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<CustomerId>,
    pub total: usize,
}

fn row(rules: &RuleBook, c: &CustomerRecord, on: Date) -> CustomerRow {
    let churn = derive::churn(c, rules, on);
    CustomerRow {
        id: c.id,
        name: c.profile.name.as_str().to_string(),
        kind: c.kind,
        lifecycle: c.lifecycle,
        branch: c.branch(),
        manager: c.manager(),
        team: c.assignment.and_then(|a| a.team),
        assets: c.assets,
        contribution_score_centi: c.derived.score_centi,
        tier: c.derived.tier,
        risk_preference: c.derived.risk_preference,
        churn_risk: churn.risk,
        churn_reason: churn.reason,
        position: c.position,
    }
}

fn matches(m: &Model, rules: &RuleBook, f: &SegmentFilter, c: &CustomerRecord, on: Date) -> bool {
    let a = c.assignment;
    f.branch.is_none_or(|b| a.is_some_and(|a| a.branch == b))
        && f.region.is_none_or(|r| {
            a.and_then(|a| m.meta.branches.get(&a.branch))
                .is_some_and(|b| b.region == r)
        })
        && f.manager
            .is_none_or(|s| a.is_some_and(|a| a.manager == Some(s)))
        && f.team.is_none_or(|t| a.is_some_and(|a| a.team == Some(t)))
        && f.tier.is_none_or(|t| c.derived.tier == t)
        && f.risk_preference
            .is_none_or(|r| c.derived.risk_preference == r)
        && f.lifecycle.is_none_or(|l| c.lifecycle == l)
        && f.kind.is_none_or(|k| c.kind == k)
        && f.key_customer.is_none_or(|k| c.key_customer == k)
        && f.min_assets.is_none_or(|x| c.assets >= x)
        && f.text
            .as_deref()
            .is_none_or(|t| c.profile.name.as_str().contains(t) || c.id.to_string().starts_with(t))
        && f.churn_risk
            .is_none_or(|r| derive::churn(c, rules, on).risk == r)
}

/// Customers matching `filter` and `visible` (the caller's scope), in id order, after
/// `cursor`, at most `limit`.
pub fn customers(
    m: &Model,
    rules: &RuleBook,
    filter: &SegmentFilter,
    visible: impl Fn(&CustomerRecord) -> bool,
    cursor: Option<CustomerId>,
    limit: usize,
) -> Page<CustomerRow> {
    let on = today(m, filter.as_of);
    let mut hits: Vec<&CustomerRecord> = m
        .customers
        .values()
        .filter(|c| c.lifecycle != Lifecycle::Merged || filter.lifecycle == Some(Lifecycle::Merged))
        .filter(|c| visible(c) && matches(m, rules, filter, c, on))
        .collect();
    hits.sort_unstable_by_key(|c| c.id);
    let total = hits.len();
    let start = cursor.map_or(0, |cur| hits.partition_point(|c| c.id <= cur));
    let page: Vec<CustomerRow> = hits
        .iter()
        .skip(start)
        .take(limit)
        .map(|c| row(rules, c, on))
        .collect();
    let next_cursor = if start + page.len() < total {
        page.last().map(|r| r.id)
    } else {
        None
    };
    Page {
        items: page,
        next_cursor,
        total,
    }
}

/// One customer's list row, churn evaluated at `as_of` (default the log's latest date).
pub fn customer_row(
    m: &Model,
    rules: &RuleBook,
    id: CustomerId,
    as_of: Option<Date>,
) -> Option<CustomerRow> {
    m.customers.get(&id).map(|c| row(rules, c, today(m, as_of)))
}

/// Counts of a segment by tier, risk preference and churn risk.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SegmentCounts {
    pub as_of: Option<Date>,
    pub customers: usize,
    pub by_tier: BTreeMap<Tier, usize>,
    pub by_risk_preference: BTreeMap<RiskPreference, usize>,
    pub by_churn_risk: BTreeMap<ChurnRisk, usize>,
    pub assets: Money,
}

pub fn segments(m: &Model, rules: &RuleBook, filter: &SegmentFilter) -> SegmentCounts {
    let on = today(m, filter.as_of);
    let mut s = SegmentCounts {
        as_of: Some(on),
        ..SegmentCounts::default()
    };
    for c in m.customers.values() {
        if c.lifecycle == Lifecycle::Merged || !matches(m, rules, filter, c, on) {
            continue;
        }
        s.customers += 1;
        *s.by_tier.entry(c.derived.tier).or_default() += 1;
        *s.by_risk_preference
            .entry(c.derived.risk_preference)
            .or_default() += 1;
        *s.by_churn_risk
            .entry(derive::churn(c, rules, on).risk)
            .or_default() += 1;
        s.assets = madd(s.assets, c.assets);
    }
    s
}

// ---------------------------------------------------------------- performance

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

fn bp(n: i64, d: i64) -> i64 {
    if d <= 0 {
        0
    } else {
        i64::try_from(i128::from(n) * 10_000 / i128::from(d)).unwrap_or(i64::MAX)
    }
}

/// The four KPI values of a raw record: new, churn, upgrade rates (bp) and commission per
/// customer served (money minor units).
fn kpi_values(flows: &Flows, served: i64) -> [i64; 4] {
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
fn kpi(values: [i64; 4], best: [i64; 4], rules: &RuleBook) -> KpiExplain {
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
fn served(t: &Totals) -> i64 {
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

// ---------------------------------------------------------------- branch dashboard

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BranchPeriod {
    Day(Date),
    Month { year: i32, month: u8 },
}

impl BranchPeriod {
    fn range(self) -> (Date, Date) {
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
}

const LIFECYCLES_ALL: [Lifecycle; 6] = [
    Lifecycle::Prospect,
    Lifecycle::Active,
    Lifecycle::Dormant,
    Lifecycle::Churned,
    Lifecycle::Closed,
    Lifecycle::Merged,
];
const CHANNELS_ALL: [Channel; 10] = [
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

fn branch_figures(m: &Model, branch: BranchId, period: BranchPeriod) -> Option<(Totals, Flows)> {
    let rec = m.branches.get(&branch)?;
    let (from, to) = period.range();
    let mut flows = Flows::default();
    let mut totals = None;
    for d in rec.days.iter().copied().filter(|d| *d <= to) {
        if let Some(bd) = m.branch_days.get(&(branch, d)) {
            if d >= from {
                flows.add_flows(&bd.flows);
            }
            totals = Some(&bd.totals);
        }
    }
    Some((totals.cloned().unwrap_or_default(), flows))
}

fn market_turnover(m: &Model, period: BranchPeriod) -> Option<Money> {
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

/// One branch in the ranking (by KPI composite with the rules' weights, then assets).
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
    pub kpi: KpiExplain,
}

pub fn branch_ranking(m: &Model, rules: &RuleBook, period: BranchPeriod) -> Vec<BranchRank> {
    let market = market_turnover(m, period);
    let mut branches: Vec<(BranchId, Totals, Flows)> = m
        .branches
        .iter()
        .filter_map(|(b, _)| branch_figures(m, *b, period).map(|(t, f)| (*b, t, f)))
        .collect();
    branches.sort_unstable_by_key(|x| x.0);
    let values: Vec<[i64; 4]> = branches
        .iter()
        .map(|(_, t, f)| kpi_values(f, served(t)))
        .collect();
    let mut best = [0i64; 4];
    for v in &values {
        for k in 0..4 {
            best[k] = best[k].max(v[k]);
        }
    }
    let mut out: Vec<BranchRank> = branches
        .into_iter()
        .zip(values)
        .map(|((b, t, f), v)| BranchRank {
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
            kpi: kpi(v, best, rules),
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
    let (totals, flows) = branch_figures(m, branch, period)?;
    let ranking = branch_ranking(m, rules, period);
    let rank = ranking
        .iter()
        .find(|r| r.branch == branch)
        .map_or(0, |r| r.rank);
    let (_, to) = period.range();
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
        flows,
        totals,
    })
}

// ---------------------------------------------------------------- campaigns, channels, service

/// 营销活动效果.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignEffect {
    pub campaign: CampaignId,
    pub name: String,
    pub branch: Option<BranchId>,
    pub status: String,
    pub budget: Money,
    pub targeted: usize,
    pub responded: usize,
    pub converted: usize,
    pub response_rate_bp: i64,
    pub conversion_rate_bp: i64,
    pub assets_attracted: Money,
}

pub fn campaign_effectiveness(m: &Model) -> Vec<CampaignEffect> {
    m.meta
        .campaigns
        .values()
        .map(|c| {
            let targeted = c.responses.len();
            let responded = c
                .responses
                .values()
                .filter(|r| **r != Response::Contacted)
                .count();
            let converted = c
                .responses
                .values()
                .filter(|r| **r == Response::Converted)
                .count();
            let t = i64::try_from(targeted).unwrap_or(i64::MAX);
            CampaignEffect {
                campaign: c.id,
                name: c.name.clone(),
                branch: c.branch,
                status: c.status.clone(),
                budget: c.budget,
                targeted,
                responded,
                converted,
                response_rate_bp: bp(i64::try_from(responded).unwrap_or(0), t),
                conversion_rate_bp: bp(i64::try_from(converted).unwrap_or(0), t),
                assets_attracted: c.assets_attracted,
            }
        })
        .collect()
}

/// 渠道效果.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelEffect {
    pub channel: Channel,
    pub contacts: i64,
    pub reached: i64,
    pub interested: i64,
    pub leads: i64,
    pub won: i64,
    pub won_amount: Money,
    pub tickets: i64,
    /// Won opportunities per lead from this channel, basis points.
    pub conversion_bp: i64,
}

pub fn channel_effectiveness(m: &Model) -> Vec<ChannelEffect> {
    CHANNELS_ALL
        .iter()
        .map(|ch| {
            let s = m.meta.channels[*ch as usize];
            ChannelEffect {
                channel: *ch,
                contacts: s.contacts,
                reached: s.reached,
                interested: s.interested,
                leads: s.leads,
                won: s.won,
                won_amount: s.won_amount,
                tickets: s.tickets,
                conversion_bp: bp(s.won, s.leads),
            }
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketKindStats {
    pub kind: TicketKind,
    pub opened: i64,
    pub open_now: i64,
    pub resolved: i64,
    /// Resolved late, or still open past the deadline at the evaluation instant.
    pub sla_breaches: i64,
    pub mean_resolution_minutes: Option<i64>,
    /// Mean satisfaction × 100 (1.00–5.00).
    pub satisfaction_centi: Option<i64>,
    pub satisfaction_responses: i64,
}

/// 服务质量.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceQuality {
    pub branch: Option<BranchId>,
    pub at: OffsetDateTime,
    pub by_kind: Vec<TicketKindStats>,
    pub sla_breaches: i64,
    pub open_now: i64,
}

pub fn service_quality(m: &Model, branch: Option<BranchId>, at: OffsetDateTime) -> ServiceQuality {
    let kinds = [
        TicketKind::Complaint,
        TicketKind::Suggestion,
        TicketKind::Inquiry,
        TicketKind::Request,
    ];
    let mut by_kind = Vec::new();
    let (mut breaches, mut open) = (0, 0);
    for kind in kinds {
        let mut s = TicketKindStats {
            kind,
            opened: 0,
            open_now: 0,
            resolved: 0,
            sla_breaches: 0,
            mean_resolution_minutes: None,
            satisfaction_centi: None,
            satisfaction_responses: 0,
        };
        let (mut minutes, mut sat) = (0i64, 0i64);
        for t in m.tickets.values() {
            if t.kind != kind || branch.is_some_and(|b| t.branch != Some(b)) {
                continue;
            }
            s.opened += 1;
            match t.resolved_at {
                Some(r) => {
                    s.resolved += 1;
                    minutes += (r - t.opened_at).whole_minutes();
                    if t.within_sla == Some(false) {
                        s.sla_breaches += 1;
                    }
                }
                None => {
                    s.open_now += 1;
                    if at > t.sla_deadline {
                        s.sla_breaches += 1;
                    }
                }
            }
            if let Some(x) = t.satisfaction {
                s.satisfaction_responses += 1;
                sat += i64::from(x);
            }
        }
        if s.resolved > 0 {
            s.mean_resolution_minutes = Some(minutes / s.resolved);
        }
        if s.satisfaction_responses > 0 {
            s.satisfaction_centi = Some(sat * 100 / s.satisfaction_responses);
        }
        breaches += s.sla_breaches;
        open += s.open_now;
        by_kind.push(s);
    }
    ServiceQuality {
        branch,
        at,
        by_kind,
        sla_breaches: breaches,
        open_now: open,
    }
}

// ---------------------------------------------------------------- to-dos

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TodoKind {
    FollowUpDue,
    VisitDue,
    SlaBreached,
    SlaAboutToBreach,
    TicketAssigned,
    Birthday,
    LargeOutflow,
    SuitabilityExpiring,
    TransferApproval,
    RuleSetApproval,
}

/// 待办事宜: one reminder or open workflow step for a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Todo {
    pub kind: TodoKind,
    pub customer: Option<CustomerId>,
    pub ticket: Option<TicketId>,
    pub due: Date,
    pub text: String,
    /// The event the reminder comes from.
    pub position: u64,
}

fn next_birthday(birthday: Date, from: Date) -> Option<Date> {
    for year in [from.year(), from.year() + 1] {
        let d = Date::from_calendar_date(year, birthday.month(), birthday.day())
            // 29 February outside leap years: the first of March.
            .or_else(|_| Date::from_calendar_date(year, Month::March, 1))
            .ok()?;
        if d >= from {
            return Some(d);
        }
    }
    None
}

/// The to-do list of `staff` at instant `now`, due items first.
pub fn todos(m: &Model, rules: &RuleBook, staff: StaffId, now: OffsetDateTime) -> Vec<Todo> {
    let r = &rules.reminders;
    let today = now.to_offset(BUSINESS_OFFSET).date();
    let mut out = Vec::new();
    let me = m.staff.get(&staff);
    let my_role = me.and_then(|s| s.role);
    let my_branch = me.and_then(|s| s.branch());
    for c in m.customers.values() {
        if matches!(c.lifecycle, Lifecycle::Merged | Lifecycle::Closed) {
            continue;
        }
        let mine = c.manager() == Some(staff);
        if let Some(f) = c.follow_up {
            if (f.staff == staff || mine)
                && f.due <= today + Duration::days(i64::from(r.follow_up_days_ahead))
            {
                out.push(Todo {
                    kind: TodoKind::FollowUpDue,
                    customer: Some(c.id),
                    ticket: None,
                    due: f.due,
                    text: format!("follow up with {}", c.profile.name.as_str()),
                    position: f.position,
                });
            }
        }
        for v in c.planned_visits.iter().filter(|v| v.staff == staff) {
            let due = business_date(v.planned_for);
            if due <= today + Duration::days(1) {
                out.push(Todo {
                    kind: TodoKind::VisitDue,
                    customer: Some(c.id),
                    ticket: None,
                    due,
                    text: format!("visit {}", c.profile.name.as_str()),
                    position: v.position,
                });
            }
        }
        if mine {
            if let Some(b) = c.profile.birthday {
                if let Some(next) = next_birthday(b, today) {
                    if next <= today + Duration::days(i64::from(r.birthday_days_ahead)) {
                        out.push(Todo {
                            kind: TodoKind::Birthday,
                            customer: Some(c.id),
                            ticket: None,
                            due: next,
                            text: format!("birthday of {}", c.profile.name.as_str()),
                            position: c.registered_position,
                        });
                    }
                }
            }
            if let Some(s) = c.suitability {
                let warn_from = s.expires_on - Duration::days(i64::from(r.suitability_expiry_days));
                if today >= warn_from {
                    out.push(Todo {
                        kind: TodoKind::SuitabilityExpiring,
                        customer: Some(c.id),
                        ticket: None,
                        due: s.expires_on,
                        text: format!(
                            "suitability assessment of {} {} on {}: reassess before selling",
                            c.profile.name.as_str(),
                            if today >= s.expires_on {
                                "expired"
                            } else {
                                "expires"
                            },
                            s.expires_on
                        ),
                        position: c.suitability_position,
                    });
                }
            }
            // A large outflow on the latest day with figures up to today.
            if let Some(d) = c.days.iter().rev().find(|d| d.date <= today) {
                let net_out = madd(d.withdrawals, mscale(d.deposits, -1));
                let base = madd(d.assets, net_out);
                let pct_hit = base > Money::ZERO
                    && i128::from(net_out.minor()) * 100
                        >= i128::from(base.minor()) * i128::from(r.large_outflow_pct);
                if net_out > Money::ZERO
                    && (net_out >= r.large_outflow || pct_hit)
                    && (today - d.date).whole_days() <= 7
                {
                    out.push(Todo {
                        kind: TodoKind::LargeOutflow,
                        customer: Some(c.id),
                        ticket: None,
                        due: d.date,
                        text: format!(
                            "{} withdrew a net {} CNY on {}",
                            c.profile.name.as_str(),
                            net_out,
                            d.date
                        ),
                        position: d.position,
                    });
                }
            }
        }
        if let Some(t) = &c.pending_transfer {
            if my_role == Some(Role::BranchManager) && my_branch == Some(t.to.branch) {
                out.push(Todo {
                    kind: TodoKind::TransferApproval,
                    customer: Some(c.id),
                    ticket: None,
                    due: business_date(t.at),
                    text: format!(
                        "approve or reject the transfer of {}",
                        c.profile.name.as_str()
                    ),
                    position: t.position,
                });
            }
        }
    }
    for t in m.tickets.values() {
        if t.assignee != Some(staff)
            || matches!(t.status, TicketStatus::Resolved | TicketStatus::Closed)
        {
            continue;
        }
        let warn = t.sla_deadline - Duration::hours(i64::from(r.sla_warning_hours));
        let (kind, text) = if now > t.sla_deadline {
            (
                TodoKind::SlaBreached,
                format!("ticket '{}' is past its SLA", t.subject),
            )
        } else if now >= warn {
            (
                TodoKind::SlaAboutToBreach,
                format!("ticket '{}' is about to breach its SLA", t.subject),
            )
        } else {
            (TodoKind::TicketAssigned, format!("ticket '{}'", t.subject))
        };
        out.push(Todo {
            kind,
            customer: t.customer,
            ticket: Some(t.id),
            due: business_date(t.sla_deadline),
            text,
            position: t.position,
        });
    }
    if my_role == Some(Role::Operator) {
        for v in m.meta.rule_versions.values() {
            if v.status == "proposed" && v.proposed_by != staff {
                out.push(Todo {
                    kind: TodoKind::RuleSetApproval,
                    customer: None,
                    ticket: None,
                    due: today,
                    text: format!("approve or reject rules version {}", v.version),
                    position: v.proposed_position,
                });
            }
        }
    }
    out.sort_by(|a, b| {
        a.due
            .cmp(&b.due)
            .then(a.kind.cmp(&b.kind))
            .then(a.position.cmp(&b.position))
            .then(a.customer.cmp(&b.customer))
    });
    out
}

// ---------------------------------------------------------------- lookups

/// Who serves a customer, for authorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerOrg {
    pub customer: CustomerId,
    pub branch: Option<BranchId>,
    pub region: Option<RegionId>,
    pub manager: Option<StaffId>,
    pub team: Option<TeamId>,
    pub merged_into: Option<CustomerId>,
}

pub fn customer_org(m: &Model, id: CustomerId) -> Option<CustomerOrg> {
    let c = m.customers.get(&id)?;
    Some(CustomerOrg {
        customer: id,
        branch: c.branch(),
        region: c
            .branch()
            .and_then(|b| m.meta.branches.get(&b))
            .map(|b| b.region),
        manager: c.manager(),
        team: c.assignment.and_then(|a| a.team),
        merged_into: c.merged_into,
    })
}

/// Identity resolution: the (surviving) customer holding an ID document, by its identity key
/// (`IdDocument::identity_key`).
pub fn customer_by_document(m: &Model, identity_key: &str) -> Option<CustomerId> {
    let mut hits: Vec<&CustomerRecord> = m
        .customers
        .values()
        .filter(|c| c.profile.document.identity_key() == identity_key)
        .collect();
    hits.sort_unstable_by_key(|c| (c.lifecycle == Lifecycle::Merged, c.id));
    hits.first().map(|c| c.id)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffNode {
    pub id: StaffId,
    pub name: String,
    pub role: Option<Role>,
    pub scope: Option<Scope>,
    pub branch: Option<BranchId>,
    pub team: Option<TeamId>,
    pub left: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BranchNode {
    pub id: BranchId,
    pub name: String,
    pub region: RegionId,
    pub closed: bool,
}

/// The organisation: regions, branches, teams and staff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgView {
    pub regions: Vec<(RegionId, String)>,
    pub branches: Vec<BranchNode>,
    pub teams: Vec<(TeamId, BranchId, String)>,
    pub staff: Vec<StaffNode>,
}

impl OrgView {
    /// The org tree as `crm_domain::auth` needs it.
    pub fn auth_tree(&self) -> OrgTree {
        OrgTree {
            branch_regions: self.branches.iter().map(|b| (b.id, b.region)).collect(),
        }
    }
}

pub fn org(m: &Model) -> OrgView {
    let mut staff: Vec<StaffNode> = m
        .staff
        .values()
        .filter(|s| s.role.is_some())
        .map(|s| StaffNode {
            id: s.id,
            name: s.name.clone(),
            role: s.role,
            scope: s.scope,
            branch: s.branch(),
            team: s.team(),
            left: s.left,
        })
        .collect();
    staff.sort_unstable_by_key(|s| s.id);
    OrgView {
        regions: m
            .meta
            .regions
            .iter()
            .map(|(id, r)| (*id, r.name.clone()))
            .collect(),
        branches: m
            .meta
            .branches
            .iter()
            .map(|(id, b)| BranchNode {
                id: *id,
                name: b.name.clone(),
                region: b.region,
                closed: b.closed,
            })
            .collect(),
        teams: m
            .meta
            .teams
            .iter()
            .filter(|(_, t)| !t.dissolved)
            .map(|(id, t)| (*id, t.branch, t.name.clone()))
            .collect(),
        staff,
    }
}

// ---------------------------------------------------------------- explain

/// What to explain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExplainSubject {
    /// Contribution score and tier of a customer, at a date (`None`: the date the fold
    /// evaluated them, the customer's latest trade date).
    Contribution {
        customer: CustomerId,
        on: Option<Date>,
    },
    RiskPreference {
        customer: CustomerId,
        on: Option<Date>,
    },
    ChurnRisk {
        customer: CustomerId,
        as_of: Option<Date>,
    },
    Kpi {
        staff: StaffId,
        period: Period,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Explanation {
    Contribution(ContributionExplain),
    RiskPreference(RiskExplain),
    ChurnRisk(ChurnExplain),
    Kpi(Box<StaffPerformance>),
}

pub fn explain(m: &Model, rules: &RuleBook, subject: ExplainSubject) -> Option<Explanation> {
    Some(match subject {
        ExplainSubject::Contribution { customer, on } => {
            let c = m.customers.get(&customer)?;
            Explanation::Contribution(derive::contribution(
                c,
                rules,
                on.unwrap_or_else(|| c.evaluation_date()),
            ))
        }
        ExplainSubject::RiskPreference { customer, on } => {
            let c = m.customers.get(&customer)?;
            Explanation::RiskPreference(derive::risk(
                c,
                rules,
                on.unwrap_or_else(|| c.evaluation_date()),
            ))
        }
        ExplainSubject::ChurnRisk { customer, as_of } => {
            let c = m.customers.get(&customer)?;
            Explanation::ChurnRisk(derive::churn(c, rules, today(m, as_of)))
        }
        ExplainSubject::Kpi { staff, period } => {
            Explanation::Kpi(Box::new(staff_performance(m, rules, staff, period)?))
        }
    })
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
    fn birthdays_roll_over_the_year_and_29_february_falls_on_1_march() {
        assert_eq!(
            next_birthday(date!(1990 - 12 - 30), date!(2025 - 12 - 28)),
            Some(date!(2025 - 12 - 30))
        );
        assert_eq!(
            next_birthday(date!(1990 - 01 - 02), date!(2025 - 12 - 28)),
            Some(date!(2026 - 01 - 02))
        );
        assert_eq!(
            next_birthday(date!(1992 - 02 - 29), date!(2025 - 02 - 20)),
            Some(date!(2025 - 03 - 01))
        );
        assert_eq!(
            next_birthday(date!(1992 - 02 - 29), date!(2024 - 02 - 20)),
            Some(date!(2024 - 02 - 29))
        );
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

// ---------------------------------------------------------------- ordered, two-way paging

/// The order of a customer list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum CustomerOrder {
    #[default]
    Id,
    /// Largest assets first.
    AssetsDesc,
    /// Highest contribution score first.
    ScoreDesc,
    Name,
}

/// Where a row sits in an ordering: its sort key, then its id (ids break ties, so every row
/// has exactly one place).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SortKey {
    Number(i64),
    Text(String),
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CustomerCursor {
    pub key: SortKey,
    pub id: CustomerId,
}

impl CustomerOrder {
    pub fn cursor(self, c: &CustomerRecord) -> CustomerCursor {
        let key = match self {
            CustomerOrder::Id => SortKey::Number(0),
            // Negated so that ascending cursor order is descending value order.
            CustomerOrder::AssetsDesc => SortKey::Number(c.assets.minor().saturating_neg()),
            CustomerOrder::ScoreDesc => SortKey::Number(c.derived.score_centi.saturating_neg()),
            CustomerOrder::Name => SortKey::Text(c.profile.name.as_str().to_string()),
        };
        CustomerCursor { key, id: c.id }
    }
}

/// A Relay window: rows after `after` and before `before`, then the first `first` or the
/// last `last` of those.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Window {
    pub after: Option<CustomerCursor>,
    pub before: Option<CustomerCursor>,
    pub first: Option<usize>,
    pub last: Option<usize>,
}

/// A window of a list with what lies on either side of it, counted exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slice {
    pub rows: Vec<(CustomerCursor, CustomerRow)>,
    pub has_previous: bool,
    pub has_next: bool,
    pub total: usize,
}

/// Customers matching `filter` and `visible`, in `order`, cut to `window`.
pub fn customer_slice(
    m: &Model,
    rules: &RuleBook,
    filter: &SegmentFilter,
    visible: impl Fn(&CustomerRecord) -> bool,
    order: CustomerOrder,
    window: &Window,
) -> Slice {
    let hits = customer_hits(m, rules, filter, visible, order);
    slice_of(m, rules, &hits, window, filter.as_of)
}

/// Every customer matching `filter` and `visible`, in `order`: what a list pages through.
/// Callers may keep it while the model does not change, and cut windows from it with
/// [`slice_of`].
pub fn customer_hits(
    m: &Model,
    rules: &RuleBook,
    filter: &SegmentFilter,
    visible: impl Fn(&CustomerRecord) -> bool,
    order: CustomerOrder,
) -> Vec<(CustomerCursor, CustomerId)> {
    let on = today(m, filter.as_of);
    let mut hits: Vec<(CustomerCursor, CustomerId)> = m
        .customers
        .values()
        .filter(|c| c.lifecycle != Lifecycle::Merged || filter.lifecycle == Some(Lifecycle::Merged))
        .filter(|c| visible(c) && matches(m, rules, filter, c, on))
        .map(|c| (order.cursor(c), c.id))
        .collect();
    hits.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    hits
}

/// A window of `hits` (from [`customer_hits`] on the same model) with its rows.
pub fn slice_of(
    m: &Model,
    rules: &RuleBook,
    hits: &[(CustomerCursor, CustomerId)],
    window: &Window,
    as_of: Option<Date>,
) -> Slice {
    let on = today(m, as_of);
    let total = hits.len();
    let mut start = window
        .after
        .as_ref()
        .map_or(0, |a| hits.partition_point(|(k, _)| k <= a));
    let mut end = window
        .before
        .as_ref()
        .map_or(total, |b| hits.partition_point(|(k, _)| k < b))
        .max(start);
    if let Some(n) = window.first {
        end = end.min(start.saturating_add(n));
    }
    if let Some(n) = window.last {
        start = start.max(end.saturating_sub(n));
    }
    Slice {
        rows: hits[start..end]
            .iter()
            .filter_map(|(k, id)| m.customers.get(id).map(|c| (k.clone(), row(rules, c, on))))
            .collect(),
        has_previous: start > 0,
        has_next: end < total,
        total,
    }
}
