//! Bank dashboards and the outlet ranking on the API (issue 17 item 5): `bankDashboard` (an
//! outlet's, a region's — a county cooperative's — or the company's deposits, loans by class,
//! NPL ratio, fee income, bank customers, deposits and loans by product and the served
//! customers' contribution for a day or a month) and `outletRanking` (the
//! outlets of the company or a region ranked by one measure, with their rank change against
//! the previous period).
//!
//! Scoping is the read policy's (`crm_domain::read_policy`): an outlet's dashboard for whoever
//! reads the branch's figures (`may_read_branch`), a region's for its own staff and company
//! readers (`may_read_region`), the company's for company readers; a ranking by its scope
//! (`may_read_ranking`). Out of scope is `FORBIDDEN`, as for `branchDashboard`.

use async_graphql::{Context, Enum, Object, OneofObject, SimpleObject, ID};
use crm_domain::auth::{Actor, Right, Scope};
use crm_domain::ids::{BranchId, RegionId};
use crm_domain::read_policy::{self, Ranking};
use crm_projections::model::Model;
use crm_projections::views::{
    self, BankDashboard, BankFigures, BankScope, OutletLine, OutletMeasure as Measure, OutletRank,
    LOAN_CLASSES_ALL,
};

use super::caller;
use super::customer_list::page_size;
use super::customers::{label, money, Amount};
use super::performance::{branch_period_or_latest, branch_period_text, BranchPeriodInput};
use super::readside::{
    centi, forbidden, int, org_tree, parse_uuid, reach, read_models, uuid_id, Reflects,
};
use super::require_history;
use super::scalars::{global_id, DateTime, Long};
use crate::error::{gql, ApiError};

/// Whose bank dashboard: exactly one of the company, a region (county) or an outlet.
#[derive(OneofObject, Debug)]
pub enum BankScopeInput {
    Company(bool),
    RegionId(ID),
    OutletId(ID),
}

impl BankScopeInput {
    fn parse(&self) -> Result<BankScope, ApiError> {
        Ok(match self {
            BankScopeInput::Company(_) => BankScope::Company,
            BankScopeInput::RegionId(id) => {
                BankScope::Region(RegionId::from(parse_uuid("scope.regionId", id)?))
            }
            BankScopeInput::OutletId(id) => {
                BankScope::Outlet(BranchId::from(parse_uuid("scope.outletId", id)?))
            }
        })
    }
}

/// Which outlets a ranking ranks: the company's or a region's (county's).
#[derive(OneofObject, Debug)]
pub enum OutletRankingScopeInput {
    Company(bool),
    RegionId(ID),
}

/// What outlets are ranked by.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crm_projections::views::OutletMeasure")]
pub enum OutletMeasure {
    /// Deposits at the period's end, most first.
    Deposits,
    /// Deposits at the period's end less those at the previous period's end, most first.
    DepositGrowth,
    /// Loans at the period's end, most first.
    Loans,
    /// NPL ratio at the period's end, lowest first; outlets without loans after all others.
    NplRatio,
    /// Fee income over the period, most first.
    FeeIncome,
    /// Customers with an open deposit account or loan at the period's end, most first.
    BankCustomers,
    /// The period's contribution (客户贡献度) of the customers the outlet serves, most first.
    Contribution,
}

/// Bank figures of an outlet, or of a scope's outlets summed.
#[derive(SimpleObject, Debug)]
pub struct BankFiguresView {
    /// The latest day up to the period's end with deposit balances (null: none yet).
    pub deposits_on: Option<String>,
    pub demand_deposits: String,
    pub time_deposits: String,
    pub deposits: String,
    /// Deposits at the end of the day before the period.
    pub deposits_at_start: String,
    /// `deposits` − `depositsAtStart`.
    pub deposit_growth: String,
    /// The latest day up to the period's end with loan balances.
    pub loans_on: Option<String>,
    pub loan_balance: String,
    /// Balance per classification, `PASS` … `LOSS`.
    pub loans_by_classification: Vec<Amount>,
    /// 不良贷款: substandard, doubtful and loss.
    pub non_performing: String,
    /// Non-performing over all loans, percent; 0 when there are no loans.
    pub npl_ratio_percent: f64,
    /// Fee income (中间业务收入) over the period.
    pub fee_income: String,
    pub new_deposit_accounts: i32,
    pub new_loans: i32,
    pub disbursed: String,
    /// Customers with an open deposit account or loan at the period's end (one banking at two
    /// outlets counts at each).
    pub bank_customers: i32,
    /// Customers whose first account or loan at the outlet opened in the period.
    pub new_bank_customers: i32,
    /// Customers whose last open account or loan at the outlet closed in the period.
    pub lost_bank_customers: i32,
    /// Loans moved down a classification (五级分类) in the period.
    pub loan_downgrades: i32,
    /// Deposit balances at the period's end (the day of `depositsOn`) per product code (产品代码,
    /// as the core system sends it), by product.
    pub deposits_by_product: Vec<Amount>,
    /// Loan balances at the period's end (the day of `loansOn`) per product code, by product.
    pub loans_by_product: Vec<Amount>,
    /// 客户贡献度: the period's contribution (`[bank_contribution]`, one month or part of one;
    /// a period not over yet to the latest business date) of the customers the outlet serves
    /// (assigned to it, wherever their accounts are), summed; null when the rules have no
    /// `[bank_contribution]`. A pass over the bank customers, made only when selected.
    pub contribution: Option<String>,
}

fn by_product(m: &std::collections::BTreeMap<String, crm_domain::Money>) -> Vec<Amount> {
    m.iter()
        .map(|(k, v)| Amount {
            key: k.clone(),
            amount: money(*v),
        })
        .collect()
}

impl From<&BankFigures> for BankFiguresView {
    fn from(f: &BankFigures) -> Self {
        BankFiguresView {
            deposits_on: f.deposits_on.map(|d| d.to_string()),
            demand_deposits: money(f.deposits_by_kind[0]),
            time_deposits: money(f.deposits_by_kind[1]),
            deposits: money(f.deposits),
            deposits_at_start: money(f.deposits_at_start),
            deposit_growth: money(f.deposit_growth),
            loans_on: f.loans_on.map(|d| d.to_string()),
            loan_balance: money(f.loans),
            loans_by_classification: LOAN_CLASSES_ALL
                .iter()
                .zip(f.loans_by_class)
                .map(|(c, v)| Amount {
                    key: label(*c),
                    amount: money(v),
                })
                .collect(),
            non_performing: money(f.non_performing),
            npl_ratio_percent: centi(f.npl_ratio_bp),
            fee_income: money(f.fee_income),
            new_deposit_accounts: int(f.new_deposit_accounts),
            new_loans: int(f.new_loans),
            disbursed: money(f.disbursed),
            bank_customers: int(f.bank_customers),
            new_bank_customers: int(f.new_bank_customers),
            lost_bank_customers: int(f.lost_bank_customers),
            loan_downgrades: int(f.loan_downgrades),
            deposits_by_product: by_product(&f.deposits_by_product),
            loans_by_product: by_product(&f.loans_by_product),
            contribution: f.contribution.map(money),
        }
    }
}

/// One outlet's line.
#[derive(SimpleObject, Debug)]
pub struct OutletFiguresView {
    pub outlet_id: ID,
    pub name: String,
    pub region_id: Option<ID>,
    pub figures: BankFiguresView,
}

impl From<&OutletLine> for OutletFiguresView {
    fn from(l: &OutletLine) -> Self {
        OutletFiguresView {
            outlet_id: uuid_id(l.outlet),
            name: l.name.clone(),
            region_id: l.region.map(uuid_id),
            figures: BankFiguresView::from(&l.figures),
        }
    }
}

/// 网点 / 县联社 / 全辖 bank dashboard for a day or a month.
#[derive(SimpleObject, Debug)]
pub struct BankDashboardView {
    pub id: ID,
    /// `COMPANY`, `REGION` or `OUTLET`.
    pub scope: String,
    pub region_id: Option<ID>,
    pub outlet_id: Option<ID>,
    /// The region's or outlet's name; empty for the company.
    pub name: String,
    pub period: String,
    /// The scope's figures: the sum of its outlets'.
    pub figures: BankFiguresView,
    /// The scope's outlets with figures by the period's end, by name.
    pub outlets: Vec<OutletFiguresView>,
    pub reflects: Option<Reflects>,
}

impl BankDashboardView {
    fn of(d: &BankDashboard, reflects: Option<Reflects>) -> Self {
        let (scope, region_id, outlet_id, key) = match d.scope {
            BankScope::Company => ("COMPANY", None, None, "company".to_string()),
            BankScope::Region(r) => ("REGION", Some(uuid_id(r)), None, format!("region-{r}")),
            BankScope::Outlet(b) => ("OUTLET", None, Some(uuid_id(b)), format!("outlet-{b}")),
        };
        let period = branch_period_text(d.period);
        BankDashboardView {
            id: global_id("BankDashboard", format!("{key}@{period}")),
            scope: scope.to_string(),
            region_id,
            outlet_id,
            name: d.name.clone(),
            period,
            figures: BankFiguresView::from(&d.figures),
            outlets: d.outlets.iter().map(OutletFiguresView::from).collect(),
            reflects,
        }
    }
}

/// One outlet in the ranking.
#[derive(SimpleObject, Debug)]
pub struct OutletRankView {
    pub outlet_id: ID,
    pub name: String,
    pub region_id: Option<ID>,
    /// 1 for the best; equal figures share a rank and the next rank skips (1, 2, 2, 4).
    pub rank: i32,
    /// The rank in the previous period (the day or month before); null when the outlet had no
    /// figures by then.
    pub previous_rank: Option<i32>,
    /// `previousRank − rank`: positive for a move up; null without a previous rank.
    pub rank_change: Option<i32>,
    /// The measure's figure: money for deposits, growth, loans, fee income and contribution
    /// (empty when the rules have no `[bank_contribution]`), a percent for the NPL ratio, a
    /// count for bank customers.
    pub value: String,
    pub figures: BankFiguresView,
}

fn value(measure: Measure, f: &BankFigures) -> String {
    match measure {
        Measure::Deposits => money(f.deposits),
        Measure::DepositGrowth => money(f.deposit_growth),
        Measure::Loans => money(f.loans),
        Measure::NplRatio => format!("{:.2}", centi(f.npl_ratio_bp)),
        Measure::FeeIncome => money(f.fee_income),
        Measure::BankCustomers => f.bank_customers.to_string(),
        Measure::Contribution => f.contribution.map(money).unwrap_or_default(),
    }
}

fn rank_view(measure: Measure, r: &OutletRank) -> OutletRankView {
    OutletRankView {
        outlet_id: uuid_id(r.line.outlet),
        name: r.line.name.clone(),
        region_id: r.line.region.map(uuid_id),
        rank: int(r.rank),
        previous_rank: r.previous_rank.map(int),
        rank_change: r.rank_change.map(int),
        value: value(measure, &r.line.figures),
        figures: BankFiguresView::from(&r.line.figures),
    }
}

/// Whether the caller may read a bank dashboard of `scope` (`read_policy`).
fn may_read_scope(actor: &Actor, m: &Model, scope: BankScope) -> bool {
    match scope {
        BankScope::Company => read_policy::is_company_reader(actor),
        BankScope::Region(r) => read_policy::may_read_region(actor, r),
        BankScope::Outlet(b) => read_policy::may_read_branch(actor, b, &org_tree(actor, m)),
    }
}

/// The ranking's scope: the one asked, or the caller's own (the company for company readers,
/// their region for staff scoped to one).
fn ranking_scope(
    actor: &Actor,
    asked: Option<&OutletRankingScopeInput>,
) -> Result<BankScope, ApiError> {
    Ok(match asked {
        Some(OutletRankingScopeInput::Company(_)) => BankScope::Company,
        Some(OutletRankingScopeInput::RegionId(id)) => {
            BankScope::Region(RegionId::from(parse_uuid("scope.regionId", id)?))
        }
        None => match actor.scope {
            Scope::Region { region } => BankScope::Region(region),
            _ => BankScope::Company,
        },
    })
}

#[derive(Default, Debug)]
pub struct BankDashboardQuery;

#[Object]
impl BankDashboardQuery {
    /// The bank dashboard of an outlet, a region (county) or the company for a day or a month
    /// (default: the latest month); with `asOf` (auditors), as the log knew it at that instant.
    /// Null for an outlet or region the read side does not know.
    async fn bank_dashboard(
        &self,
        ctx: &Context<'_>,
        scope: BankScopeInput,
        period: Option<BranchPeriodInput>,
        as_of: Option<DateTime>,
        at_position: Option<Long>,
    ) -> async_graphql::Result<Option<BankDashboardView>> {
        async {
            let actor = *caller(ctx)?;
            let scope = scope.parse()?;
            let as_of = DateTime::checked_opt(as_of, "asOf")?;
            reach(ctx, at_position).await?;
            let models = read_models(ctx)?;
            if let Some(instant) = as_of {
                require_history(&actor)?;
                let period = models.read(|m, _| branch_period_or_latest(period.as_ref(), m))?;
                let found = super::replay_as_of(ctx, move |p, cancel| {
                    p.bank_dashboard_as_of(scope, period, instant, cancel)
                })
                .await?;
                return Ok(found.as_ref().map(|d| BankDashboardView::of(d, None)));
            }
            let reflects = Reflects::of(models);
            let look = ctx.look_ahead();
            let contribution = look.field("figures").field("contribution").exists()
                || look
                    .field("outlets")
                    .field("figures")
                    .field("contribution")
                    .exists();
            models.read(|m, rules| {
                if !may_read_scope(&actor, m, scope) {
                    return Err(forbidden(Right::ReadCustomer));
                }
                let period = branch_period_or_latest(period.as_ref(), m)?;
                let rules = contribution.then_some(rules);
                Ok(views::bank_dashboard(m, rules, scope, period)
                    .map(|d| BankDashboardView::of(&d, Some(reflects))))
            })
        }
        .await
        .map_err(gql)
    }

    /// The outlets of the company or a region (default: the caller's own) ranked by `by` for
    /// a day or a month (default: the latest month), best first, at most `first`, each with
    /// its rank change against the previous day or month.
    async fn outlet_ranking(
        &self,
        ctx: &Context<'_>,
        by: OutletMeasure,
        scope: Option<OutletRankingScopeInput>,
        period: Option<BranchPeriodInput>,
        first: Option<i32>,
        at_position: Option<Long>,
    ) -> async_graphql::Result<Vec<OutletRankView>> {
        async {
            let actor = *caller(ctx)?;
            let scope = ranking_scope(&actor, scope.as_ref())?;
            let first = page_size(ctx, "first", first)?.unwrap_or(usize::MAX);
            let measure = Measure::from(by);
            let contribution = measure == Measure::Contribution
                || ctx
                    .look_ahead()
                    .field("figures")
                    .field("contribution")
                    .exists();
            reach(ctx, at_position).await?;
            read_models(ctx)?.read(|m, rules| {
                let ranking = match scope {
                    BankScope::Region(r) => Ranking::Region(r),
                    _ => Ranking::Company,
                };
                if !read_policy::may_read_ranking(&actor, ranking, &org_tree(&actor, m)) {
                    return Err(forbidden(Right::ReadCustomer));
                }
                let period = branch_period_or_latest(period.as_ref(), m)?;
                let rules = contribution.then_some(rules);
                Ok(views::outlet_ranking(m, rules, scope, measure, period)
                    .iter()
                    .take(first)
                    .map(|r| rank_view(measure, r))
                    .collect())
            })
        }
        .await
        .map_err(gql)
    }
}
