//! Customer-manager and broker performance (业绩), leaderboards, branch dashboards (营业部看板)
//! and the branch ranking, live or — for auditors — as of a past instant.
//!
//! Scoping: a customer manager or broker sees their own performance and their branch's
//! leaderboard; managers see the branches they cover; company-wide rankings are for
//! company-scoped readers.

use async_graphql::{Context, Enum, InputObject, Object, OneofObject, SimpleObject, ID};
use crm_domain::auth::{Actor, Right};
use crm_domain::ids::{BranchId, RegionId, StaffId, TeamId};
use crm_domain::read_policy::{self, Ranking};
use crm_projections::model::{Model, MARKETS, SECURITY_TYPES, TRADE_CHANNELS};
use crm_projections::views::{
    self, BranchDashboard, BranchPeriod, BranchRank, ChurnedCustomer, LeaderboardScope, LossCause,
    Period, StaffPerformance, TeamResult,
};

use super::banking::OutletBankingView;
use super::caller;
use super::customer_list::page_size;
use super::customers::{amounts, label, money, Amount, Count, ASSET_CLASS_NAMES};
use super::explain::KpiExplanation;
use super::readside::{
    centi, date_arg, forbidden, int, may_read_branch, org_tree, parse_uuid, reach, read_models,
    require_company_reader, uuid_id, Reflects,
};
use super::require_history;
use super::scalars::{global_id, DateTime, Long};
use crate::error::{gql, ApiError};

const SECURITY_TYPE_NAMES: [&str; SECURITY_TYPES] = [
    "STOCK",
    "FUND",
    "BOND",
    "REPO",
    "MARGIN",
    "OPTION",
    "WEALTH_PRODUCT",
    "OTHER",
];
const TRADE_CHANNEL_NAMES: [&str; TRADE_CHANNELS] = [
    "COUNTER",
    "PHONE",
    "INTERNET",
    "MOBILE",
    "SELF_SERVICE",
    "API",
];
const MARKET_NAMES: [&str; MARKETS] = [
    "SHANGHAI",
    "SHENZHEN",
    "BEIJING",
    "HONG_KONG_CONNECT",
    "OVER_THE_COUNTER",
];

pub(crate) fn month_arg(field: &str, s: &str) -> Result<(i32, u8), ApiError> {
    let bad = || ApiError::validation(field, format!("'{s}' is not a month (YYYY-MM)"));
    let (y, m) = s.trim().split_once('-').ok_or_else(bad)?;
    let year: i32 = y.parse().map_err(|_| bad())?;
    let month: u8 = m.parse().map_err(|_| bad())?;
    if !(1..=12).contains(&month) {
        return Err(bad());
    }
    if !super::scalars::YEARS.contains(&year) {
        return Err(ApiError::validation(
            field,
            format!(
                "'{s}' is out of range: the year must be {} to {}",
                super::scalars::YEARS.start(),
                super::scalars::YEARS.end()
            ),
        ));
    }
    Ok((year, month))
}

/// A reporting period (考核期): one month, or January to that month.
#[derive(InputObject, Debug)]
pub struct PeriodInput {
    /// YYYY-MM.
    pub month: String,
    /// January to `month` of its year (年初至今) instead of the month alone.
    #[graphql(default)]
    pub year_to_date: bool,
}

impl PeriodInput {
    pub(crate) fn parse(&self) -> Result<Period, ApiError> {
        let (year, month) = month_arg("period.month", &self.month)?;
        Ok(if self.year_to_date {
            Period::YearToDate { year, month }
        } else {
            Period::Month { year, month }
        })
    }
}

/// The month of the log's latest business date: the default period.
fn latest_month(m: &Model) -> (i32, u8) {
    let d = views::today(m, None);
    (d.year(), u8::from(d.month()))
}

pub(crate) fn period_or_latest(p: Option<&PeriodInput>, m: &Model) -> Result<Period, ApiError> {
    match p {
        Some(p) => p.parse(),
        None => {
            let (year, month) = latest_month(m);
            Ok(Period::Month { year, month })
        }
    }
}

pub(crate) fn branch_period_or_latest(
    p: Option<&BranchPeriodInput>,
    m: &Model,
) -> Result<BranchPeriod, ApiError> {
    match p {
        Some(p) => p.parse(),
        None => {
            let (year, month) = latest_month(m);
            Ok(BranchPeriod::Month { year, month })
        }
    }
}

pub(crate) fn period_text(p: Period) -> String {
    match p {
        Period::Month { year, month } => format!("{year:04}-{month:02}"),
        Period::YearToDate { year, month } => format!("{year:04}-01..{year:04}-{month:02}"),
        Period::Quarter { year, quarter } => format!("{year:04}-Q{quarter}"),
    }
}

/// A day or a month of a branch's figures: exactly one of the two.
#[derive(OneofObject, Debug)]
pub enum BranchPeriodInput {
    /// YYYY-MM-DD.
    Day(String),
    /// YYYY-MM.
    Month(String),
}

impl BranchPeriodInput {
    pub(crate) fn parse(&self) -> Result<BranchPeriod, ApiError> {
        match self {
            BranchPeriodInput::Day(d) => Ok(BranchPeriod::Day(date_arg("period.day", d)?)),
            BranchPeriodInput::Month(m) => {
                let (year, month) = month_arg("period.month", m)?;
                Ok(BranchPeriod::Month { year, month })
            }
        }
    }
}

pub(crate) fn branch_period_text(p: BranchPeriod) -> String {
    match p {
        BranchPeriod::Day(d) => d.to_string(),
        BranchPeriod::Month { year, month } => format!("{year:04}-{month:02}"),
    }
}

/// Whose leaderboard: exactly one of company, region, branch or team.
#[derive(OneofObject, Debug)]
pub enum LeaderboardScopeInput {
    Company(bool),
    RegionId(ID),
    BranchId(ID),
    TeamId(ID),
}

/// Where the figures of one month came from.
#[derive(SimpleObject, Debug)]
pub struct FigureSource {
    pub month: String,
    pub first_position: Long,
    pub last_position: Long,
}

/// Why a customer counts as churned in the KPI (schema/rules.md `[kpi]`).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum ChurnCause {
    /// No trade, reaching contact or account activity for `[churn] churned_days`.
    Dormant,
    /// The account was closed (销户) while the customer was served.
    Closed,
    /// Management recorded the churn.
    Recorded,
}

impl From<LossCause> for ChurnCause {
    fn from(c: LossCause) -> Self {
        match c {
            LossCause::Dormant => ChurnCause::Dormant,
            LossCause::Closed => ChurnCause::Closed,
            LossCause::Recorded => ChurnCause::Recorded,
        }
    }
}

/// A customer counted in a period's churn, and why.
#[derive(SimpleObject, Debug)]
pub struct ChurnedCustomerView {
    pub customer_id: ID,
    pub cause: ChurnCause,
    /// The day the loss began: dormant since, closed on, recorded on (ISO date).
    pub since: String,
    /// The cause in words: "dormant since 2024-06-09", "closed on …", "recorded on …".
    pub explanation: String,
}

impl From<&ChurnedCustomer> for ChurnedCustomerView {
    fn from(c: &ChurnedCustomer) -> Self {
        let what = match c.cause {
            LossCause::Dormant => "dormant since",
            LossCause::Closed => "closed on",
            LossCause::Recorded => "recorded on",
        };
        ChurnedCustomerView {
            customer_id: uuid_id(c.customer),
            cause: c.cause.into(),
            since: c.since.to_string(),
            explanation: format!("{what} {}", c.since),
        }
    }
}

/// A rate in percent (basis points / 100).
fn percent(bp: i64) -> f64 {
    bp as f64 / 100.0
}

/// A customer manager's or broker's performance in a period.
#[derive(SimpleObject, Debug)]
pub struct StaffPerformanceView {
    pub id: ID,
    pub staff_id: ID,
    pub name: String,
    pub role: Option<String>,
    pub branch_id: Option<ID>,
    pub team_id: Option<ID>,
    pub period: String,
    pub customers_served: i32,
    /// Customers served at the start of the period: what the rates are of.
    pub customers_at_start: i32,
    /// Customers who became active in the period while served by this person (activations;
    /// prospects and reassignments do not count).
    pub new_customers: i32,
    /// Customers lost in the period (schema/rules.md `[kpi]`): not churned at the end of the
    /// day before the period and churned at its last day — a closure, a churn recorded by
    /// management, or no trade, reaching contact or account activity for `[churn]
    /// churned_days` — once each, for whoever served them when they were lost.
    pub churned: i32,
    /// Each customer counted in `churned`, with the cause and its day.
    pub churned_customers: Vec<ChurnedCustomerView>,
    /// Churned ÷ customers at the start, percent; null without customers at the start.
    pub churn_rate_percent: Option<f64>,
    /// Retention = 100 − the churn rate, percent; null without customers at the start.
    pub retention_percent: Option<f64>,
    /// Distinct customers whose tier at the period's end is above their tier at its start
    /// (customers new in the period excluded).
    pub upgraded: i32,
    /// Distinct customers whose tier at the period's end is below their tier at its start.
    pub downgraded: i32,
    /// Assets under management at the end of the period.
    pub assets: String,
    pub net_inflow: String,
    pub commission: String,
    pub turnover: String,
    pub contacts: i32,
    pub won_amount: String,
    pub average_contribution: f64,
    /// KPI composite under the weights of this person's post (`kpi.weights`), with its terms.
    pub kpi_composite: f64,
    pub kpi: KpiExplanation,
    pub rank_in_branch: i32,
    pub rank_in_company: i32,
    pub sources: Vec<FigureSource>,
    /// For a team lead, the figure of each team they lead (团队考核), beside their own; empty
    /// for everyone else.
    pub teams: Vec<TeamResultView>,
    /// Bank measures of their book (deposit growth, loan quality, new and lost bank customers,
    /// contribution) on `staffPerformance`, when the book has bank business; null otherwise and
    /// in leaderboards.
    pub bank: Option<super::bank_value::StaffBankMeasuresView>,
}

/// Where the figures of one team member's month came from.
#[derive(SimpleObject, Debug)]
pub struct TeamFigureSource {
    pub staff_id: ID,
    pub month: String,
    pub first_position: Long,
    pub last_position: Long,
}

/// A team's appraisal in a period: the four measures over the union of its members' books,
/// scored with the team lead's weights against every team of the company.
#[derive(SimpleObject, Debug)]
pub struct TeamResultView {
    pub team_id: ID,
    pub name: String,
    pub lead_id: Option<ID>,
    /// The staff whose books make the team's: its members now, and its lead.
    pub member_ids: Vec<ID>,
    pub customers_at_start: i32,
    pub customers_served: i32,
    pub new_customers: i32,
    /// Distinct customers lost over the team's books (as `StaffPerformance.churned`).
    pub churned: i32,
    pub churned_customers: Vec<ChurnedCustomerView>,
    /// Churned ÷ customers at the start, percent; null without customers at the start.
    pub churn_rate_percent: Option<f64>,
    /// Retention = 100 − the churn rate, percent; null without customers at the start.
    pub retention_percent: Option<f64>,
    pub upgraded: i32,
    pub downgraded: i32,
    pub commission: String,
    pub kpi_composite: f64,
    pub kpi: KpiExplanation,
    /// Rank among the company's teams.
    pub rank: i32,
    pub sources: Vec<TeamFigureSource>,
}

impl From<&TeamResult> for TeamResultView {
    fn from(t: &TeamResult) -> Self {
        TeamResultView {
            team_id: uuid_id(t.team),
            name: t.name.clone(),
            lead_id: t.lead.map(uuid_id),
            member_ids: t.members.iter().copied().map(uuid_id).collect(),
            customers_at_start: int(t.customers_at_start),
            customers_served: int(t.customers_served),
            new_customers: int(t.new_customers),
            churned: int(t.churned),
            churned_customers: t.churned_customers.iter().map(Into::into).collect(),
            churn_rate_percent: t.retention_bp.map(|r| percent(10_000 - r)),
            retention_percent: t.retention_bp.map(percent),
            upgraded: int(t.upgraded),
            downgraded: int(t.downgraded),
            commission: money(t.commission),
            kpi_composite: centi(t.kpi.composite_centi),
            kpi: KpiExplanation::from(&t.kpi),
            rank: int(t.rank),
            sources: t
                .sources
                .iter()
                .map(|(s, m, f, l)| TeamFigureSource {
                    staff_id: uuid_id(*s),
                    month: month_name(*m),
                    first_position: Long(*f),
                    last_position: Long(*l),
                })
                .collect(),
        }
    }
}

fn month_name(index: u32) -> String {
    format!("{:04}-{:02}", index / 12, index % 12 + 1)
}

impl From<&StaffPerformance> for StaffPerformanceView {
    fn from(p: &StaffPerformance) -> Self {
        StaffPerformanceView {
            id: global_id(
                "StaffPerformance",
                format!("{}@{}", p.staff, period_text(p.period)),
            ),
            staff_id: uuid_id(p.staff),
            name: p.name.clone(),
            role: p.role.map(label),
            branch_id: p.branch.map(uuid_id),
            team_id: p.team.map(uuid_id),
            period: period_text(p.period),
            customers_served: int(p.customers_served),
            customers_at_start: int(p.customers_at_start),
            new_customers: int(p.new_customers),
            churned: int(p.churned),
            churned_customers: p.churned_customers.iter().map(Into::into).collect(),
            churn_rate_percent: p.retention_bp.map(|r| percent(10_000 - r)),
            retention_percent: p.retention_bp.map(percent),
            upgraded: int(p.upgraded),
            downgraded: int(p.downgraded),
            assets: money(p.assets),
            net_inflow: money(p.net_inflow),
            commission: money(p.commission),
            turnover: money(p.turnover),
            contacts: int(p.contacts),
            won_amount: money(p.won_amount),
            average_contribution: centi(p.average_contribution_centi),
            kpi_composite: centi(p.kpi.composite_centi),
            kpi: KpiExplanation::from(&p.kpi),
            rank_in_branch: int(p.rank_in_branch),
            rank_in_company: int(p.rank_in_company),
            sources: p
                .sources
                .iter()
                .map(|(m, f, l)| FigureSource {
                    month: month_name(*m),
                    first_position: Long(*f),
                    last_position: Long(*l),
                })
                .collect(),
            teams: p.teams.iter().map(TeamResultView::from).collect(),
            bank: p.bank.as_ref().map(Into::into),
        }
    }
}

/// 营业部看板 for a day or a month.
#[derive(SimpleObject, Debug)]
pub struct BranchDashboardView {
    pub id: ID,
    pub branch_id: ID,
    pub name: String,
    pub region_id: Option<ID>,
    pub period: String,
    pub customers: i32,
    pub customers_by_tier: Vec<Count>,
    pub customers_by_status: Vec<Count>,
    pub customers_by_category: Vec<Count>,
    pub customers_by_source_channel: Vec<Count>,
    pub customers_by_region: Vec<Count>,
    pub assets: String,
    pub assets_by_class: Vec<Amount>,
    pub net_inflow: String,
    pub deposits: String,
    pub withdrawals: String,
    pub turnover: String,
    pub turnover_by_security_type: Vec<Amount>,
    pub turnover_by_trade_channel: Vec<Amount>,
    pub turnover_by_market: Vec<Amount>,
    pub commission: String,
    pub new_customers: i32,
    pub churned: i32,
    pub upgraded: i32,
    pub downgraded: i32,
    pub contacts: i32,
    /// Share of customers whose holdings are in profit, percent.
    pub in_profit_percent: f64,
    /// Branch turnover over market turnover, basis points, where market totals exist.
    pub market_share_bp: Option<i32>,
    pub rank_among_branches: i32,
    pub branches_ranked: i32,
    pub top_managers: Vec<StaffPerformanceView>,
    /// The outlet's bank business (deposits, loans, NPL ratio, fee income) in the period.
    pub banking: OutletBankingView,
    pub reflects: Option<Reflects>,
}

pub(crate) fn counts<K: std::fmt::Debug>(items: impl IntoIterator<Item = (K, i64)>) -> Vec<Count> {
    items
        .into_iter()
        .map(|(k, n)| Count {
            key: label(k),
            count: int(n),
        })
        .collect()
}

impl BranchDashboardView {
    pub(crate) fn of(d: &BranchDashboard, reflects: Option<Reflects>) -> Self {
        let f = &d.flows;
        BranchDashboardView {
            id: global_id(
                "BranchDashboard",
                format!("{}@{}", d.branch, branch_period_text(d.period)),
            ),
            branch_id: uuid_id(d.branch),
            name: d.name.clone(),
            region_id: d.region.map(uuid_id),
            period: branch_period_text(d.period),
            customers: int(d.totals.customers),
            customers_by_tier: counts(d.customers_by_tier.iter().map(|(k, v)| (*k, *v))),
            customers_by_status: counts(d.customers_by_lifecycle.iter().copied()),
            customers_by_category: counts(d.customers_by_kind.iter().copied()),
            customers_by_source_channel: counts(d.customers_by_source_channel.iter().copied()),
            customers_by_region: d
                .customers_by_region
                .iter()
                .map(|(r, n)| Count {
                    key: r.to_string(),
                    count: int(*n),
                })
                .collect(),
            assets: money(d.assets),
            assets_by_class: amounts(&ASSET_CLASS_NAMES, &d.assets_by_class),
            net_inflow: money(d.net_inflow),
            deposits: money(f.deposits),
            withdrawals: money(f.withdrawals),
            turnover: money(f.turnover),
            turnover_by_security_type: amounts(&SECURITY_TYPE_NAMES, &f.turnover_by_security_type),
            turnover_by_trade_channel: amounts(&TRADE_CHANNEL_NAMES, &f.turnover_by_trade_channel),
            turnover_by_market: amounts(&MARKET_NAMES, &f.turnover_by_market),
            commission: money(f.commission),
            new_customers: int(f.new_customers),
            churned: int(f.churned),
            upgraded: int(f.upgraded),
            downgraded: int(f.downgraded),
            contacts: int(f.contacts),
            in_profit_percent: d.in_profit_bp as f64 / 100.0,
            market_share_bp: d.market_share_bp.map(int),
            rank_among_branches: int(d.rank_among_branches),
            branches_ranked: int(d.branches_ranked),
            top_managers: d
                .top_managers
                .iter()
                .map(StaffPerformanceView::from)
                .collect(),
            banking: OutletBankingView::from(&d.banking),
            reflects,
        }
    }
}

/// One branch in the ranking.
#[derive(SimpleObject, Debug)]
pub struct BranchRankView {
    pub branch_id: ID,
    pub name: String,
    pub rank: i32,
    pub customers: i32,
    pub assets: String,
    pub net_inflow: String,
    pub commission: String,
    pub market_share_bp: Option<i32>,
    /// 客户满意度: mean satisfaction (1.00–5.00) of the branch's tickets whose SLA deadline
    /// falls in the period, as scored on closing (回访); null when none was scored.
    pub satisfaction: Option<f64>,
    pub satisfaction_responses: i32,
    pub kpi_composite: f64,
    pub kpi: KpiExplanation,
    /// The rank in the previous period of the same kind (the day before, the month before);
    /// null when the branch had no figures by then.
    pub previous_rank: Option<i32>,
    /// `previousRank − rank`: positive for a move up (排名变化).
    pub rank_change: Option<i32>,
}

impl From<&BranchRank> for BranchRankView {
    fn from(r: &BranchRank) -> Self {
        BranchRankView {
            branch_id: uuid_id(r.branch),
            name: r.name.clone(),
            rank: int(r.rank),
            customers: int(r.customers),
            assets: money(r.assets),
            net_inflow: money(r.net_inflow),
            commission: money(r.commission),
            market_share_bp: r.market_share_bp.map(int),
            satisfaction: r.satisfaction_centi.map(centi),
            satisfaction_responses: int(r.satisfaction_responses),
            kpi_composite: centi(r.kpi.composite_centi),
            kpi: KpiExplanation::from(&r.kpi),
            previous_rank: r.previous_rank.map(int),
            rank_change: r.rank_change.map(int),
        }
    }
}

/// A branch of the organisation.
#[derive(SimpleObject, Debug)]
#[graphql(complex)]
pub struct BranchView {
    pub id: ID,
    pub branch_id: ID,
    pub name: String,
    pub region_id: ID,
    pub closed: bool,
}

#[async_graphql::ComplexObject]
impl BranchView {
    /// The branch's dashboard for a day or a month (default: the latest month).
    async fn dashboard(
        &self,
        ctx: &Context<'_>,
        period: Option<BranchPeriodInput>,
    ) -> async_graphql::Result<Option<BranchDashboardView>> {
        async {
            let actor = *caller(ctx)?;
            let branch = BranchId::from(parse_uuid("branchId", &self.branch_id)?);
            dashboard(ctx, &actor, branch, period.as_ref())
        }
        .await
        .map_err(gql)
    }
}

fn dashboard(
    ctx: &Context<'_>,
    actor: &Actor,
    branch: BranchId,
    period: Option<&BranchPeriodInput>,
) -> Result<Option<BranchDashboardView>, ApiError> {
    let models = read_models(ctx)?;
    let reflects = Reflects::of(models);
    models.read(|m, r| {
        if !may_read_branch(actor, branch, &org_tree(actor, m)) {
            return Err(forbidden(Right::ReadCustomer));
        }
        let period = branch_period_or_latest(period, m)?;
        Ok(models
            .branch_dashboard(m, r, branch, period)
            .map(|d| BranchDashboardView::of(&d, Some(reflects))))
    })
}

/// Whether the caller may see a staff member's performance: their own, or anyone covering
/// the staff member's branch (`read_policy::may_read_staff_performance`).
fn may_read_staff(actor: &Actor, m: &Model, staff: StaffId) -> bool {
    let branch = views::staff(m, staff).and_then(|s| s.branch());
    read_policy::may_read_staff_performance(actor, staff, branch, &org_tree(actor, m))
}

/// Whether the caller may read a leaderboard (`read_policy::may_read_ranking`).
fn may_read_leaderboard(actor: &Actor, m: &Model, scope: LeaderboardScope) -> bool {
    let ranking = match scope {
        LeaderboardScope::Company => Ranking::Company,
        LeaderboardScope::Region(r) => Ranking::Region(r),
        LeaderboardScope::Branch(b) => Ranking::Branch(b),
        LeaderboardScope::Team(team) => Ranking::Team {
            team,
            branch: views::team(m, team).map(|x| x.branch),
        },
    };
    read_policy::may_read_ranking(actor, ranking, &org_tree(actor, m))
}

#[derive(Default, Debug)]
pub struct PerformanceQuery;

#[Object]
impl PerformanceQuery {
    /// A customer manager's or broker's performance in `period` (default: the latest
    /// month); with `asOf` (auditors), as the log knew it at that instant.
    async fn staff_performance(
        &self,
        ctx: &Context<'_>,
        staff_id: ID,
        period: Option<PeriodInput>,
        as_of: Option<DateTime>,
        at_position: Option<Long>,
    ) -> async_graphql::Result<Option<StaffPerformanceView>> {
        async {
            let actor = *caller(ctx)?;
            let staff = StaffId::from(parse_uuid("staffId", &staff_id)?);
            let as_of = DateTime::checked_opt(as_of, "asOf")?;
            reach(ctx, at_position).await?;
            let models = read_models(ctx)?;
            let period = models.read(|m, _| period_or_latest(period.as_ref(), m))?;
            if let Some(instant) = as_of {
                require_history(&actor)?;
                let found = super::replay_as_of(ctx, move |p, cancel| {
                    p.staff_performance_as_of(staff, period, instant, cancel)
                })
                .await?;
                return Ok(found.as_ref().map(StaffPerformanceView::from));
            }
            models.read(|m, r| {
                if !may_read_staff(&actor, m, staff) {
                    return Err(forbidden(Right::ReadCustomer));
                }
                Ok(views::staff_performance(m, r, staff, period)
                    .as_ref()
                    .map(StaffPerformanceView::from))
            })
        }
        .await
        .map_err(gql)
    }

    /// Customer managers and brokers ranked by KPI composite, best first, at most `first`;
    /// `period` defaults to the latest month.
    async fn leaderboard(
        &self,
        ctx: &Context<'_>,
        scope: LeaderboardScopeInput,
        period: Option<PeriodInput>,
        first: Option<i32>,
        at_position: Option<Long>,
    ) -> async_graphql::Result<Vec<StaffPerformanceView>> {
        async {
            let actor = *caller(ctx)?;
            let scope = match &scope {
                LeaderboardScopeInput::Company(_) => LeaderboardScope::Company,
                LeaderboardScopeInput::RegionId(id) => {
                    LeaderboardScope::Region(RegionId::from(parse_uuid("scope.regionId", id)?))
                }
                LeaderboardScopeInput::BranchId(id) => {
                    LeaderboardScope::Branch(BranchId::from(parse_uuid("scope.branchId", id)?))
                }
                LeaderboardScopeInput::TeamId(id) => {
                    LeaderboardScope::Team(TeamId::from(parse_uuid("scope.teamId", id)?))
                }
            };
            let first = page_size(ctx, "first", first)?.unwrap_or(20);
            reach(ctx, at_position).await?;
            read_models(ctx)?.read(|m, r| {
                if !may_read_leaderboard(&actor, m, scope) {
                    return Err(forbidden(Right::ReadCustomer));
                }
                let period = period_or_latest(period.as_ref(), m)?;
                Ok(views::leaderboard(m, r, scope, period)
                    .iter()
                    .take(first)
                    .map(StaffPerformanceView::from)
                    .collect())
            })
        }
        .await
        .map_err(gql)
    }

    /// A branch's dashboard for a day or a month (default: the latest month); with `asOf`
    /// (auditors), as the log knew it at that instant.
    async fn branch_dashboard(
        &self,
        ctx: &Context<'_>,
        branch_id: ID,
        period: Option<BranchPeriodInput>,
        as_of: Option<DateTime>,
        at_position: Option<Long>,
    ) -> async_graphql::Result<Option<BranchDashboardView>> {
        async {
            let actor = *caller(ctx)?;
            let branch = BranchId::from(parse_uuid("branchId", &branch_id)?);
            let as_of = DateTime::checked_opt(as_of, "asOf")?;
            reach(ctx, at_position).await?;
            let models = read_models(ctx)?;
            if let Some(instant) = as_of {
                require_history(&actor)?;
                let period = models.read(|m, _| branch_period_or_latest(period.as_ref(), m))?;
                let found = super::replay_as_of(ctx, move |p, cancel| {
                    p.branch_dashboard_as_of(branch, period, instant, cancel)
                })
                .await?;
                return Ok(found.as_ref().map(|d| BranchDashboardView::of(d, None)));
            }
            dashboard(ctx, &actor, branch, period.as_ref())
        }
        .await
        .map_err(gql)
    }

    /// Every branch ranked by KPI composite, then assets (default: the latest month).
    async fn branch_ranking(
        &self,
        ctx: &Context<'_>,
        period: Option<BranchPeriodInput>,
        at_position: Option<Long>,
    ) -> async_graphql::Result<Vec<BranchRankView>> {
        async {
            let actor = *caller(ctx)?;
            require_company_reader(&actor)?;
            reach(ctx, at_position).await?;
            read_models(ctx)?.read(|m, r| {
                let period = branch_period_or_latest(period.as_ref(), m)?;
                Ok(views::branch_ranking(m, r, period)
                    .iter()
                    .map(BranchRankView::from)
                    .collect())
            })
        }
        .await
        .map_err(gql)
    }

    /// The branches the caller may read.
    async fn branches(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<BranchView>> {
        async {
            let actor = *caller(ctx)?;
            Ok(read_models(ctx)?.read(|m, _| {
                let org = org_tree(&actor, m);
                views::branches(m)
                    .filter(|(id, _)| read_policy::may_list_branch(&actor, *id, &org))
                    .map(|(id, b)| BranchView {
                        id: global_id("Branch", id),
                        branch_id: uuid_id(id),
                        name: b.name.clone(),
                        region_id: uuid_id(b.region),
                        closed: b.closed,
                    })
                    .collect()
            }))
        }
        .await
        .map_err(gql)
    }
}
