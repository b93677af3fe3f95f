//! `orgDashboard`: a region's or the head office's dashboard (区域看板、总部看板) for a day or a
//! month — its branches' figures summed, the branches ranked, and a monthly series of the main
//! figures (每月趋势) — read from the read models in one read (`read_models::org_dashboards`).
//! The company's is read by company readers, a region's also by those scoped to it
//! (`read_policy::may_read_region`). A branch is a scope too, of one branch, so the branch
//! dashboard has the same monthly series: read by exactly those who read that branch's
//! dashboard (`read_policy::may_read_branch`).

use async_graphql::{ComplexObject, Context, Object, OneofObject, SimpleObject, ID};
use crm_domain::auth::{Actor, Right};
use crm_domain::ids::{BranchId, RegionId};
use crm_domain::read_policy;
use crm_projections::model::{Flows, Model, Totals};
use crm_projections::views::{
    self, BranchPeriod, OrgDashboard, OrgFigures, OrgScope, SERIES_MONTHS_MAX,
};

use super::caller;
use super::customers::{amounts, money, Amount, Count, ASSET_CLASS_NAMES};
use super::performance::{
    branch_period_or_latest, branch_period_text, counts, BranchPeriodInput, BranchRankView,
};
use super::readside::{
    forbidden, int, may_read_branch, org_tree, parse_uuid, reach, read_models, uuid_id, ReadModels,
    Reflects,
};
use super::scalars::{global_id, Long};
use crate::error::{gql, ApiError};

/// Whose dashboard: the company's, a region's, or one branch's (its figures are the branch
/// dashboard's; what it adds is the monthly `series`).
#[derive(OneofObject, Debug)]
pub enum OrgScopeInput {
    Company(bool),
    RegionId(ID),
    BranchId(ID),
}

impl OrgScopeInput {
    pub(crate) fn parse(&self) -> Result<OrgScope, ApiError> {
        Ok(match self {
            OrgScopeInput::Company(_) => OrgScope::Company,
            OrgScopeInput::RegionId(id) => {
                OrgScope::Region(RegionId::from(parse_uuid("scope.regionId", id)?))
            }
            OrgScopeInput::BranchId(id) => {
                OrgScope::Branch(BranchId::from(parse_uuid("scope.branchId", id)?))
            }
        })
    }
}

/// Whether the caller reads the scope's figures: the policy's answer for the company, the
/// region, or the branch (the branch dashboard's own rule, so the two never disagree).
fn may_read(actor: &Actor, m: &Model, scope: OrgScope) -> bool {
    match scope {
        OrgScope::Company => read_policy::is_company_reader(actor),
        OrgScope::Region(r) => read_policy::may_read_region(actor, r),
        OrgScope::Branch(b) => may_read_branch(actor, b, &org_tree(actor, m)),
    }
}

/// The main figures of one period (a point of the series, or the dashboard's own).
#[derive(SimpleObject, Debug)]
pub struct OrgFiguresView {
    /// `YYYY-MM` or `YYYY-MM-DD`.
    pub period: String,
    /// Branches with figures by the period's end.
    pub branches: i32,
    pub customers: i32,
    pub assets: String,
    pub net_inflow: String,
    pub deposits: String,
    pub withdrawals: String,
    pub turnover: String,
    pub commission: String,
    pub new_customers: i32,
    /// Lost customers, by the appraisal's definition (dormancy, closure, management's record).
    pub churned: i32,
    pub upgraded: i32,
    pub downgraded: i32,
    pub contacts: i32,
    /// The scope's turnover over the market's, basis points, where market totals exist.
    pub market_share_bp: Option<i32>,
}

impl OrgFiguresView {
    fn of(period: BranchPeriod, f: &OrgFigures) -> Self {
        let (t, fl): (&Totals, &Flows) = (&f.totals, &f.flows);
        OrgFiguresView {
            period: branch_period_text(period),
            branches: int(f.branches),
            customers: int(t.customers),
            assets: money(t.assets),
            net_inflow: money(fl.net_inflow()),
            deposits: money(fl.deposits),
            withdrawals: money(fl.withdrawals),
            turnover: money(fl.turnover),
            commission: money(fl.commission),
            new_customers: int(fl.new_customers),
            churned: int(fl.churned),
            upgraded: int(fl.upgraded),
            downgraded: int(fl.downgraded),
            contacts: int(fl.contacts),
            market_share_bp: f.market_share_bp.map(int),
        }
    }
}

/// 区域看板 / 总部看板 for a day or a month.
#[derive(SimpleObject, Debug)]
#[graphql(complex)]
pub struct OrgDashboardView {
    pub id: ID,
    /// COMPANY, REGION or BRANCH.
    pub scope: String,
    pub region_id: Option<ID>,
    pub branch_id: Option<ID>,
    /// The region's or the branch's name; empty for the company.
    pub name: String,
    pub figures: OrgFiguresView,
    pub customers_by_tier: Vec<Count>,
    pub customers_by_status: Vec<Count>,
    pub customers_by_category: Vec<Count>,
    pub assets_by_class: Vec<Amount>,
    /// The scope's branches as the company ranks them, best first, with rank changes.
    pub ranking: Vec<BranchRankView>,
    pub reflects: Reflects,
    #[graphql(skip)]
    org_scope: OrgScope,
    #[graphql(skip)]
    period: BranchPeriod,
}

impl OrgDashboardView {
    pub(crate) fn of(d: &OrgDashboard, reflects: Reflects) -> Self {
        let (scope, period) = (d.scope, d.period);
        let t = &d.figures.totals;
        let key = match scope {
            OrgScope::Company => "company".to_string(),
            OrgScope::Region(r) => r.to_string(),
            OrgScope::Branch(b) => format!("branch:{b}"),
        };
        OrgDashboardView {
            id: global_id(
                "OrgDashboard",
                format!("{key}@{}", branch_period_text(period)),
            ),
            scope: match scope {
                OrgScope::Company => "COMPANY",
                OrgScope::Region(_) => "REGION",
                OrgScope::Branch(_) => "BRANCH",
            }
            .into(),
            region_id: match scope {
                OrgScope::Company | OrgScope::Branch(_) => None,
                OrgScope::Region(r) => Some(uuid_id(r)),
            },
            branch_id: match scope {
                OrgScope::Company | OrgScope::Region(_) => None,
                OrgScope::Branch(b) => Some(uuid_id(b)),
            },
            name: d.name.clone(),
            figures: OrgFiguresView::of(period, &d.figures),
            customers_by_tier: counts(
                crm_projections::Tier::ALL
                    .iter()
                    .map(|x| (*x, t.by_tier[*x as usize])),
            ),
            customers_by_status: counts(views::lifecycle_counts(t)),
            customers_by_category: counts(views::kind_counts(t)),
            assets_by_class: amounts(&ASSET_CLASS_NAMES, &t.holdings),
            ranking: d.ranking.iter().map(BranchRankView::from).collect(),
            reflects,
            org_scope: scope,
            period,
        }
    }
}

/// The dashboard of `scope` for `period` as the read models hold it now, refused unless the
/// caller reads the scope (the query's rule, and the live subscription's at every change).
pub(crate) fn org_dashboard_of(
    models: &ReadModels,
    actor: &Actor,
    scope: OrgScope,
    period: BranchPeriod,
) -> Result<Option<OrgDashboard>, ApiError> {
    models.read(|m, rules| {
        if !may_read(actor, m, scope) {
            return Err(forbidden(Right::ReadCustomer));
        }
        Ok(views::org_dashboard(m, rules, scope, period))
    })
}

#[ComplexObject]
impl OrgDashboardView {
    /// The main figures of each of the `months` months (1 to 36, default 12) up to and
    /// including the dashboard's own (its day's month), oldest first (每月趋势).
    async fn series(
        &self,
        ctx: &Context<'_>,
        months: Option<i32>,
    ) -> async_graphql::Result<Vec<OrgFiguresView>> {
        async {
            let months = months.unwrap_or(12);
            let months = u8::try_from(months)
                .ok()
                .filter(|n| (1..=SERIES_MONTHS_MAX).contains(n))
                .ok_or_else(|| {
                    ApiError::validation("months", format!("must be 1 to {SERIES_MONTHS_MAX}"))
                })?;
            let last = match self.period {
                BranchPeriod::Day(d) => (d.year(), u8::from(d.month())),
                BranchPeriod::Month { year, month } => (year, month),
            };
            let scope = self.org_scope;
            Ok(read_models(ctx)?.read(|m, rules| {
                views::org_series(m, rules, scope, last, months)
                    .iter()
                    .map(|(p, f)| OrgFiguresView::of(*p, f))
                    .collect()
            }))
        }
        .await
        .map_err(gql)
    }
}

/// A region of the organisation (分公司 / county cooperative).
#[derive(SimpleObject, Debug)]
pub struct RegionView {
    pub region_id: ID,
    pub name: String,
    pub closed: bool,
}

#[derive(Default, Debug)]
pub struct OrgDashboardQuery;

#[Object]
impl OrgDashboardQuery {
    /// The regions whose figures the caller reads (company readers: every region; a region's
    /// staff: their own), by name: what `orgDashboard(scope: { regionId })` takes.
    async fn regions(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<RegionView>> {
        async {
            let actor = *caller(ctx)?;
            let mut out: Vec<RegionView> = read_models(ctx)?.read(|m, _| {
                views::regions(m)
                    .filter(|(id, _)| read_policy::may_read_region(&actor, *id))
                    .map(|(id, r)| RegionView {
                        region_id: uuid_id(id),
                        name: r.name.clone(),
                        closed: r.closed,
                    })
                    .collect()
            });
            out.sort_by(|a, b| a.name.cmp(&b.name));
            Ok::<_, ApiError>(out)
        }
        .await
        .map_err(gql)
    }

    /// A region's or the company's dashboard for a day or a month (default: the latest
    /// month): its branches' figures summed, its branches ranked, and `series` of the months
    /// before. Company readers; a region's also those scoped to it; a branch's whoever reads
    /// its `branchDashboard`. Null for a region or branch the read side does not know.
    async fn org_dashboard(
        &self,
        ctx: &Context<'_>,
        scope: OrgScopeInput,
        period: Option<BranchPeriodInput>,
        at_position: Option<Long>,
    ) -> async_graphql::Result<Option<OrgDashboardView>> {
        async {
            let actor = *caller(ctx)?;
            let scope = scope.parse()?;
            reach(ctx, at_position).await?;
            let models = read_models(ctx)?;
            let reflects = Reflects::of(models);
            models.read(|m, rules| {
                if !may_read(&actor, m, scope) {
                    return Err(forbidden(Right::ReadCustomer));
                }
                let period = branch_period_or_latest(period.as_ref(), m)?;
                let Some(d) = views::org_dashboard(m, rules, scope, period) else {
                    return Ok(None);
                };
                Ok(Some(OrgDashboardView::of(&d, reflects)))
            })
        }
        .await
        .map_err(gql)
    }
}
